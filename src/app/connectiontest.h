#pragma once

#include <error.h>
#include <meterconfig.h>

#include <QtCore/QObject>

#include <memory>

namespace app {

// What "Test connection" found out about one meter.
struct ConnectionTestResult {
    bool ok = false;
    // How far it got: "connect", "associate", "identity" (the step that failed, or "identity"
    // when all passed).
    QString stage;
    QString error; // empty when ok; the connection's error text otherwise (no secret in it)
    qint64 connectMs = -1; // TCP connect, -1 when not reached
    qint64 associateMs = -1; // AARQ → AARE
    qint64 identityMs = -1; // the identity reads
    QString logicalDeviceName; // 0.0.42.0.0.255, empty when the meter has none
    QString serialNumber; // 0.0.96.1.0.255
    QString firmwareVersion; // 1.0.0.2.0.255
    quint16 negotiatedPdu = 0; // the server's max receive PDU from the AARE
    quint64 bytesSent = 0;
    quint64 bytesReceived = 0;
    QString summary() const; // one line, translated: "Associated in 12 ms — LDN …, serial …"
};

// One connection test of one meter, independent of the polling engine (its own TCP
// connection and association, released at the end): connect, associate with the meter's
// authentication, read the identity objects, release. Every wait bounded by the meter's
// timeouts. Never blocks; emits finished() exactly once per start(). Deleting it mid-test drops
// the connection without a signal.
class ConnectionTest final : public QObject {
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(ConnectionTest)

public:
    explicit ConnectionTest(polling::MeterConfig meter, QObject *parent = nullptr);
    ~ConnectionTest() override;

    void start();
    bool isRunning() const;
    const polling::MeterConfig &meter() const { return m_meter; }

Q_SIGNALS:
    void finished(const app::ConnectionTestResult &result);

private:
    struct Private;
    std::unique_ptr<Private> d;
    polling::MeterConfig m_meter;
};

} // namespace app

Q_DECLARE_METATYPE(app::ConnectionTestResult)
