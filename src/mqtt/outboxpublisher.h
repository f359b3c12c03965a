#pragma once

#include "mqttclient.h"
#include "telemetryformat.h"

#include <error.h>

#include <monitortypes.h>

#include <QtCore/QHash>
#include <QtCore/QJsonObject>
#include <QtCore/QObject>

#include <functional>
#include <memory>

namespace storage {
class Storage;
}

namespace mqtt {

struct PublisherOptions {
    QString databasePath; // the file Storage writes; read through a Reader of our own
    FormatOptions format;
    // The broker. Gateway and Plain: used as is (Gateway: username = the gateway's access
    // token). Device: one connection per meter, username = that meter's token (MeterDevice).
    ClientOptions client;
    // Publishing rate cap in messages per second (all messages: telemetry, connect, attributes),
    // so a drain after an outage does not trip ThingsBoard's rate limits. 0 = no cap.
    double maxMessagesPerSecond = 100;
    int maxInflightMessages = 256; // published, waiting for PUBACK
    qint64 maxInflightBytes = 8LL * 1024 * 1024;
    int fetchRows = 2000; // outbox rows read per query
    int statusIntervalMs = 1000; // outboxStatusChanged at most this often
    std::function<qint64()> clock; // UTC ms; empty = system clock
};

// A meter as the platform knows it.
struct MeterDevice {
    QString id;
    QString name; // the ThingsBoard device name; empty = the id
    QString deviceType; // gateway connect "type"; empty = FormatOptions::deviceType
    QString accessToken; // Device mode only: the meter's own token (a secret)
    QJsonObject attributes; // serialNumber, firmware, address, … published once per connection
};

enum class PublisherState : quint8 {
    Stopped,
    Connecting, // no connection yet (or every connection down): the outbox grows
    Publishing, // connected (Device mode: at least one meter's connection)
    Failing, // the last attempt failed (bad credentials, TLS, refused): retrying with backoff
};
QString publisherStateName(PublisherState state);

struct PublisherStatus {
    PublisherState state = PublisherState::Stopped;
    QString message; // the last error, one line, no secret
    quint64 messagesAcknowledged = 0;
    quint64 rowsAcknowledged = 0; // outbox rows acknowledged (deleted)
    quint64 rowsResent = 0; // rows published again after a lost connection (at-least-once)
    quint64 publishFailures = 0; // messages lost with a connection, refused by the library or the broker
    quint64 reconnects = 0;
    quint64 rowsSkipped = 0; // Device mode: rows of a meter without a token (left in the outbox)
    monitor::OutboxStatus outbox;
};

// Publishes the outbox: reads rows in id order through its own read-only connection, builds
// messages (telemetryformat.h), publishes them at QoS 1 within the in-flight window and the
// rate cap, and on each PUBACK deletes the rows it carried (Storage::acknowledgeOutbox) and
// emits acknowledged() with the message's per-meter shares. A lost connection abandons what
// was in flight: those rows are read and sent again once connected (at-least-once; payloads
// carry "ts", so a duplicate overwrites the same point). After a restart the outbox is read
// from its first row.
//
// Lives in one thread (the MQTT thread): construct it there (its timers are members, so it
// cannot be moved with moveToThread); start() and the slots are called there (queued from
// elsewhere). Gateway mode: the first message of a meter in each connection is preceded by its
// v1/gateway/connect and its attributes; removeMeter() sends v1/gateway/disconnect.
class OutboxPublisher final : public QObject {
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(OutboxPublisher)

public:
    // storage: the writer whose outbox this is (acknowledgeOutbox, status().outbox); it must
    // outlive the publisher (stop the publisher first).
    OutboxPublisher(PublisherOptions options, storage::Storage *storage, QObject *parent = nullptr);
    ~OutboxPublisher() override;

    const PublisherOptions &options() const { return m_options; }

    // Opens the reader and connects. Fails (with the reason) when the database cannot be read
    // or the options are invalid (Device mode needs no client username, Plain a template, …).
    dlms::Result<void> start();
    // Disconnects; rows in flight stay in the outbox for next time.
    void stop();

    void setMeter(const mqtt::MeterDevice &meter);
    void removeMeter(const QString &meterId);

    PublisherStatus status() const; // thread-safe snapshot

public Q_SLOTS:
    // Storage::committed: rows up to lastOutboxId exist now.
    void onCommitted(qint64 readings, qint64 lastOutboxId);

Q_SIGNALS:
    void stateChanged(mqtt::PublisherState state, const QString &message);
    void acknowledged(const monitor::MqttAck &ack); // → TrafficMonitor::addMqttAck
    void publishFailed(const QString &meterId); // → TrafficMonitor::addPublishFailure
    void outboxStatusChanged(const monitor::OutboxStatus &status); // → setOutboxStatus

private:
    // Implementation-defined members (outboxpublisher.cpp).
    struct Private;
    std::unique_ptr<Private> d;
    PublisherOptions m_options;
};

} // namespace mqtt

Q_DECLARE_METATYPE(mqtt::PublisherState)
