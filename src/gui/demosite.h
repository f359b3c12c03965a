#pragma once

#include <bridgeconfig.h>
#include <error.h>

#include <QtCore/QObject>

#include <memory>

class QThread;
namespace sim {
class Simulator;
}

// `dlmsbridge --demo`: the embedded default. A handful of simulated meters in-process (in a
// thread of their own) on loopback ephemeral ports, one of them flaky (it answers late now and
// then, so it times out, backs off and reconnects); a local mosquitto on a free loopback port
// when /usr/sbin/mosquitto (or `mosquitto` on PATH) is installed, else MQTT points at a closed
// port and shows unreachable while the outbox grows; one meter associates with HLS-GMAC and
// ciphers every APDU (authenticated and encrypted) with the simulator's example keys; the demo database in
// the user's data directory (~/.local/share/dlmsbridge/demo.db). config() is the bridge configuration for all
// of it. Everything stops with the object.
class DemoSite final : public QObject {
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(DemoSite)

public:
    struct Options {
        int meters = 5;
        QString databasePath; // empty = ~/.local/share/dlmsbridge/demo.db
        QString mosquittoPath; // empty = look for it; "-" = never start a broker
        int pollIntervalMs = 2000;
        // The flaky meter (the third): healthy this long, then answering after the poll timeout
        // this long, and again.
        int flakyHealthyMs = 40'000;
        int flakyLateMs = 20'000;
    };

    // The flaky meter's id in config().
    static QString flakyMeterId();
    // The id of the meter that uses HLS-GMAC and auth-enc ciphering in config().
    static QString securedMeterId();

    explicit DemoSite(QObject *parent = nullptr);
    explicit DemoSite(Options options, QObject *parent = nullptr);
    ~DemoSite() override;

    // Starts the simulator and the broker (without waiting for it to listen: the bridge's MQTT
    // client retries). Errors say what could not start; a missing broker binary is not an
    // error (brokerRunning() false).
    dlms::Result<void> start();
    void stop();

    app::BridgeConfig config() const;
    bool brokerRunning() const;
    quint16 brokerPort() const;
    QList<quint16> meterPorts() const;

private:
    struct Private;
    std::unique_ptr<Private> d;
};
