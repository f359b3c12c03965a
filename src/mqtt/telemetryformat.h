#pragma once

#include <storagetypes.h>

#include <QtCore/QByteArray>
#include <QtCore/QJsonObject>
#include <QtCore/QString>

#include <functional>
#include <optional>
#include <span>
#include <vector>

// What goes on the wire for each publishing mode. Pure functions over outbox rows, whose
// payloads are already the compact {"ts":…,"values":{…}} of one readings batch: they are
// concatenated, never re-serialised.

namespace mqtt {

enum class Mode : quint8 {
    Gateway, // ThingsBoard Gateway API: one connection (the gateway's token) for every meter
    Device, // ThingsBoard Device API: one connection per meter, with the meter's own token
    Plain, // any broker: a topic per meter from a template
};
QString modeName(Mode mode); // "gateway", "device", "plain"
std::optional<Mode> modeFromName(QStringView name);

inline constexpr QLatin1StringView GatewayConnectTopic {"v1/gateway/connect"};
inline constexpr QLatin1StringView GatewayDisconnectTopic {"v1/gateway/disconnect"};
inline constexpr QLatin1StringView GatewayTelemetryTopic {"v1/gateway/telemetry"};
inline constexpr QLatin1StringView GatewayAttributesTopic {"v1/gateway/attributes"};
inline constexpr QLatin1StringView DeviceTelemetryTopic {"v1/devices/me/telemetry"};
inline constexpr QLatin1StringView DeviceAttributesTopic {"v1/devices/me/attributes"};

struct FormatOptions {
    Mode mode = Mode::Gateway;
    // Plain mode: {id} is the meter id, {name} its name (the id when it has none). Each
    // placeholder's value has '/', '+', '#' and NUL replaced by '_' so a name never adds a
    // topic level or a wildcard.
    QString topicTemplate = QStringLiteral("meters/{name}/telemetry");
    // Gateway and Device: several rows per message up to this payload size (a single row
    // larger than this still goes, alone). Plain: one row per message.
    qsizetype maxPayloadBytes = 64 * 1024;
    QString deviceType = QStringLiteral("DLMS meter"); // gateway connect "type" (device profile)
};

// One meter's part of a built message, for accounting (monitor::MqttShare) and for deleting
// the right outbox rows on PUBACK.
struct MessagePart {
    QString meterId;
    quint64 payloadBytes = 0; // this meter's share; the parts of a message sum to its payload
    quint32 values = 0;
    std::vector<qint64> rowIds; // outbox ids carried (empty for connect/attributes/disconnect)
    qint64 rowBytes = 0; // the rows' payload bytes (the outbox level drops by this on PUBACK)
};

struct Message {
    QByteArray topic;
    QByteArray payload;
    std::vector<MessagePart> parts;
};

// A JSON string literal (quotes included) of text: for keys and names spliced into payloads.
QByteArray jsonString(QStringView text);

// {"device":"<name>","type":"<type>"}
QByteArray gatewayConnectPayload(QStringView deviceName, QStringView deviceType);
// {"device":"<name>"}
QByteArray gatewayDisconnectPayload(QStringView deviceName);
// Gateway: {"<name>":{<attributes>}}; Device: {<attributes>}. Compact, keys in QJsonObject
// order (sorted).
QByteArray gatewayAttributesPayload(QStringView deviceName, const QJsonObject &attributes);
QByteArray deviceAttributesPayload(const QJsonObject &attributes);

// One device's attributes for a gateway batch.
struct DeviceAttributes {
    QString meterId;
    QString deviceName;
    QJsonObject attributes;
};

// Gateway attributes of several devices in one v1/gateway/attributes message:
// {"<name>":{<attributes>},"<name2>":{…}}, devices in the given order, as many as fit in
// maxPayloadBytes (a first device larger than that still goes, alone). A single device's
// payload equals gatewayAttributesPayload(). Parts as in buildTelemetry's gateway messages:
// each device's "name":{…} and the comma after it, the braces split in proportion; no rows.
struct BuiltAttributes {
    Message message;
    qsizetype devicesConsumed = 0;
};
BuiltAttributes gatewayAttributesBatch(
    const FormatOptions &options, std::span<const DeviceAttributes> devices);

// The plain-mode topic of a meter.
QByteArray plainTopic(QStringView topicTemplate, QStringView meterId, QStringView meterName);

// Splits total into parts proportional to weights, summing to total exactly (largest
// remainder; ties to the earlier part). All-zero weights split evenly.
std::vector<quint64> splitProportionally(quint64 total, std::span<const quint64> weights);

// Builds telemetry messages from rows in outbox order, consuming a prefix of rows.
// names: the device name of a meter id (the id itself when absent). Returns the message and
// how many rows it consumed (≥ 1 when rows is not empty).
//  Gateway: {"<name>":[<row>,<row>],"<name2>":[<row>]} — meters in order of first appearance,
//           each meter's rows in outbox order, up to maxPayloadBytes.
//  Device:  [<row>,<row>] — consecutive rows of the same meter only, up to maxPayloadBytes;
//           topic v1/devices/me/telemetry (the meter's own connection).
//  Plain:   <row> — one row, on plainTopic(...).
// A gateway message's payload is split between its meters: each meter's "name":[…] bytes,
// the braces and commas around them split in proportion.
struct BuiltMessage {
    Message message;
    qsizetype rowsConsumed = 0;
};
using NameLookup = std::function<QString(const QString &meterId)>;
BuiltMessage buildTelemetry(
    const FormatOptions &options, std::span<const storage::OutboxRow> rows, const NameLookup &names);

} // namespace mqtt
