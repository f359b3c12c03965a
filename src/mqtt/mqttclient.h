#pragma once

#include <QtCore/QByteArray>
#include <QtCore/QMetaType>
#include <QtCore/QObject>
#include <QtCore/QString>

#include <memory>

namespace mqtt {

enum class ProtocolVersion : quint8 { V311, V5 };

struct TlsOptions {
    bool enabled = false;
    QString caFile; // PEM; required when enabled
    QString certFile; // client certificate (PEM), optional; needs keyFile
    QString keyFile;
    // Off only for a lab broker with a self-made certificate: then neither the chain nor the
    // host name is checked. On by default, as it must be.
    bool verifyPeer = true;
};

struct ClientOptions {
    QString host = QStringLiteral("127.0.0.1");
    quint16 port = 1883;
    QString clientId; // empty: "dlmsbridge-" + random
    ProtocolVersion version = ProtocolVersion::V311;
    // A ThingsBoard access token is the username, with no password. Both are secrets: never
    // logged, never in an error message.
    QString username;
    QString password;
    TlsOptions tls;
    int keepAliveS = 30;
    bool cleanSession = true;
    // After a lost or failed connection: retry after reconnectMinMs, doubling to reconnectMaxMs.
    bool autoReconnect = true;
    int reconnectMinMs = 1000;
    int reconnectMaxMs = 30'000;
    // Name resolution + TCP + TLS + CONNACK must finish within this, or the attempt fails
    // (Timeout) and the backoff starts.
    int connectTimeoutMs = 10'000;
    // QoS 1 messages handed to libmosquitto and not yet acknowledged (MQTT 5: the broker's
    // receive maximum may lower it).
    int maxInflight = 1000;
};

enum class ClientState : quint8 { Disconnected, Connecting, Connected };
QString clientStateName(ClientState state); // "disconnected", "connecting", "connected"

enum class ClientErrorCode : quint8 {
    InvalidOptions, // empty host, unreadable TLS file, … (not retried)
    HostNotFound,
    ConnectionRefused, // TCP refused or reset while connecting
    Timeout, // connectTimeoutMs passed, or keepalive lost
    NotAuthorized, // CONNACK: bad username/password or not authorised
    ProtocolRejected, // CONNACK: other refusals (version, client id, …)
    TlsFailed, // handshake or certificate verification
    ConnectionLost, // was connected, the link dropped
    PublishFailed, // libmosquitto refused a message (too large, bad topic, …)
};
QString clientErrorCodeName(ClientErrorCode code); // "not-authorized", …

struct ClientError {
    ClientErrorCode code = ClientErrorCode::ConnectionLost;
    QString message; // one line for a technician: what failed and where (host:port), no secret
};

// A QObject over libmosquitto, driven by the Qt event loop of the thread it lives in:
// mosquitto_socket() + QSocketNotifier (read; write only while libmosquitto wants to write) +
// mosquitto_loop_read/write/misc; never mosquitto_loop_start. Name resolution and the blocking
// part of connecting run off this thread, so the thread keeps serving its other objects; every
// connection attempt gets a fresh libmosquitto handle, so nothing from a lost connection is
// resent behind the caller's back.
//
// Delivery contract: publish() returns a message id; messageAcknowledged(id) follows when the
// broker acknowledged it (QoS 1: PUBACK; QoS 0: when written). A message not acknowledged when
// the connection is lost is abandoned: after disconnected() its id will never be acknowledged,
// and the caller republishes (the outbox does). publish() while not Connected returns -1.
// A QoS 1 message an MQTT 5 broker refuses in its PUBACK (reason code >= 128) gets
// messageFailed(id) instead, followed by errorOccurred(PublishFailed); the link stays up.
class MqttClient final : public QObject {
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(MqttClient)

public:
    explicit MqttClient(ClientOptions options, QObject *parent = nullptr);
    ~MqttClient() override; // disconnects without waiting; never blocks on a resolver for long

    const ClientOptions &options() const { return m_options; }
    // Takes effect at the next connectToHost().
    void setOptions(ClientOptions options);
    ClientState state() const { return m_state; }

    // Starts connecting (Connecting → connected() or errorOccurred() then, with autoReconnect,
    // another attempt after the backoff). No-op when connecting or connected.
    void connectToHost();
    // Sends DISCONNECT, stops reconnecting; disconnected() follows (at once when not connected).
    void disconnectFromHost();

    // Returns the message id (> 0), or -1 when not connected or the message was refused
    // (errorOccurred(PublishFailed) then tells why).
    int publish(const QByteArray &topic, const QByteArray &payload, int qos = 1, bool retain = false);
    // Subscriptions are not remembered across connections: subscribe again on connected().
    // Returns the message id or -1.
    int subscribe(const QByteArray &topicFilter, int qos = 1);

    int inflightCount() const; // published, not yet acknowledged
    quint64 reconnects() const { return m_reconnects; } // connections established after the first

    // The exact size of the PUBLISH packet that carries this message: fixed header (1 byte +
    // remaining length), topic (2 + bytes), packet id for QoS > 0, MQTT 5 properties length
    // (no properties: 1 byte), payload.
    static quint64 publishPacketSize(
        qsizetype topicBytes, qsizetype payloadBytes, int qos, ProtocolVersion version);

    // What connectToHost() refuses at once and for good (InvalidOptions, no retry): an empty
    // host, port 0, a keepalive out of range, a password without a username in 3.1.1, TLS
    // without a CA file, a certificate without its key (or the reverse), an unreadable TLS file.
    // Lets a caller check options before it gives up working ones. Empty when acceptable.
    static QString findOptionsProblem(const ClientOptions &options);

Q_SIGNALS:
    void stateChanged(mqtt::ClientState state);
    void connected();
    void disconnected();
    void messageAcknowledged(int messageId);
    // Emitted instead of messageAcknowledged when the broker refuses the message (MQTT 5 PUBACK
    // reason code >= 128): the id is settled, the caller keeps the message. errorOccurred
    // (PublishFailed) follows with the same reason.
    void messageFailed(int messageId, const mqtt::ClientError &error);
    void messageReceived(const QByteArray &topic, const QByteArray &payload);
    void errorOccurred(const mqtt::ClientError &error);

private:
    // Implementation-defined members (mqttclient.cpp).
    struct Private;
    std::unique_ptr<Private> d;
    ClientOptions m_options;
    ClientState m_state = ClientState::Disconnected;
    quint64 m_reconnects = 0;
};

} // namespace mqtt

Q_DECLARE_METATYPE(mqtt::ClientState)
Q_DECLARE_METATYPE(mqtt::ClientError)
