#include "telemetryformat.h"

#include <QtCore/QHash>
#include <QtCore/QJsonArray>
#include <QtCore/QJsonDocument>
#include <QtCore/QJsonValue>

#include <algorithm>
#include <numeric>

using namespace Qt::StringLiterals;

namespace mqtt {

namespace {

// Unsigned 128-bit arithmetic keeps total × weight exact for any 64-bit inputs.
__extension__ using Wide = unsigned __int128;

// JSON text must be valid Unicode: a lone surrogate has no UTF-8 form, and Qt's writer would
// emit it as a \uD8xx escape that strict parsers reject.
QString withoutLoneSurrogates(QStringView text)
{
    QString out;
    out.reserve(text.size());
    const qsizetype size = text.size();
    for (qsizetype i = 0; i < size; ++i) {
        const QChar c = text[i];
        if (c.isHighSurrogate() && i + 1 < size && text[i + 1].isLowSurrogate()) {
            out.append(c);
            out.append(text[++i]);
        } else if (c.isSurrogate()) {
            out.append(QChar(QChar::ReplacementCharacter));
        } else {
            out.append(c);
        }
    }
    return out;
}

QByteArray compact(const QJsonObject &object)
{
    return QJsonDocument(object).toJson(QJsonDocument::Compact);
}

// Replaces what would add a topic level or a wildcard (and NUL, which MQTT forbids).
QString topicSafe(QStringView value)
{
    QString out = value.toString();
    for (QChar &c : out) {
        if (c == u'/' || c == u'+' || c == u'#' || c == QChar(0))
            c = u'_';
    }
    return out;
}

// Looks each meter's name up once per message; the id stands in for a missing or empty name.
class Names {
public:
    explicit Names(const NameLookup &lookup) : m_lookup(lookup) { }
    QString of(const QString &meterId)
    {
        const auto it = m_names.constFind(meterId);
        if (it != m_names.cend())
            return *it;
        QString name = m_lookup ? m_lookup(meterId) : QString();
        if (name.isEmpty())
            name = meterId;
        m_names.insert(meterId, name);
        return name;
    }

private:
    const NameLookup &m_lookup;
    QHash<QString, QString> m_names;
};

MessagePart partOf(const storage::OutboxRow &row)
{
    MessagePart part;
    part.meterId = row.meterId;
    return part;
}

void addRow(MessagePart &part, const storage::OutboxRow &row)
{
    part.values += row.valueCount;
    part.rowIds.push_back(row.id);
    part.rowBytes += row.payload.size();
}

// Gateway: {"<name>":[<row>,<row>],"<name2>":[<row>]}. A meter's own bytes are its key, the
// colon, its brackets, its rows and the commas between them, plus the comma that follows its
// entry (every meter but the last): so each separator belongs to exactly one meter, and only
// the outer braces are left to split in proportion. Entries are per meter id: device names are
// the publisher's to keep unique (two ids of one name would repeat a key).
BuiltMessage buildGateway(
    const FormatOptions &options, std::span<const storage::OutboxRow> rows, const NameLookup &lookup)
{
    struct Group {
        MessagePart part;
        QByteArray key; // the name as a JSON string
        std::vector<const storage::OutboxRow *> rows;
        qsizetype bytes = 0; // key, ':', '[', rows and commas between them, ']'
    };
    Names names(lookup);
    std::vector<Group> groups;
    QHash<QString, size_t> groupOf;
    qsizetype size = 2; // the braces
    qsizetype consumed = 0;
    for (const storage::OutboxRow &row : rows) {
        const auto it = groupOf.constFind(row.meterId);
        qsizetype added = 0;
        QByteArray key;
        if (it == groupOf.cend()) {
            key = jsonString(names.of(row.meterId));
            added = (groups.empty() ? 0 : 1) + key.size() + 3 + row.payload.size();
        } else {
            added = 1 + row.payload.size();
        }
        if (consumed > 0 && size + added > options.maxPayloadBytes)
            break;
        size += added;
        ++consumed;
        if (it == groupOf.cend()) {
            groupOf.insert(row.meterId, groups.size());
            Group &group = groups.emplace_back();
            group.part = partOf(row);
            group.key = std::move(key);
            group.bytes = group.key.size() + 3 + row.payload.size();
            group.rows.push_back(&row);
            addRow(group.part, row);
        } else {
            Group &group = groups[*it];
            group.bytes += 1 + row.payload.size();
            group.rows.push_back(&row);
            addRow(group.part, row);
        }
    }

    BuiltMessage built;
    built.rowsConsumed = consumed;
    Message &message = built.message;
    message.topic = QByteArray(GatewayTelemetryTopic.data(), GatewayTelemetryTopic.size());
    QByteArray &payload = message.payload;
    payload.reserve(size);
    payload.append('{');
    std::vector<quint64> weights;
    weights.reserve(groups.size());
    for (size_t g = 0; g < groups.size(); ++g) {
        const Group &group = groups[g];
        const bool last = g + 1 == groups.size();
        payload.append(group.key);
        payload.append(":[", 2);
        for (size_t r = 0; r < group.rows.size(); ++r) {
            if (r > 0)
                payload.append(',');
            payload.append(group.rows[r]->payload);
        }
        payload.append(']');
        if (!last)
            payload.append(',');
        weights.push_back(quint64(group.bytes + (last ? 0 : 1)));
    }
    payload.append('}');
    Q_ASSERT(payload.size() == size);

    const std::vector<quint64> braces = splitProportionally(2, weights);
    message.parts.reserve(groups.size());
    for (size_t g = 0; g < groups.size(); ++g) {
        MessagePart &part = message.parts.emplace_back(std::move(groups[g].part));
        part.payloadBytes = weights[g] + braces[g];
    }
    return built;
}

// Device: [<row>,<row>] of one meter; the whole payload is that meter's.
BuiltMessage buildDevice(const FormatOptions &options, std::span<const storage::OutboxRow> rows)
{
    const QString &meterId = rows.front().meterId;
    qsizetype size = 2; // the brackets
    qsizetype consumed = 0;
    for (const storage::OutboxRow &row : rows) {
        if (row.meterId != meterId)
            break;
        const qsizetype added = (consumed > 0 ? 1 : 0) + row.payload.size();
        if (consumed > 0 && size + added > options.maxPayloadBytes)
            break;
        size += added;
        ++consumed;
    }

    BuiltMessage built;
    built.rowsConsumed = consumed;
    Message &message = built.message;
    message.topic = QByteArray(DeviceTelemetryTopic.data(), DeviceTelemetryTopic.size());
    message.payload.reserve(size);
    message.payload.append('[');
    MessagePart part = partOf(rows.front());
    for (qsizetype i = 0; i < consumed; ++i) {
        const storage::OutboxRow &row = rows[size_t(i)];
        if (i > 0)
            message.payload.append(',');
        message.payload.append(row.payload);
        addRow(part, row);
    }
    message.payload.append(']');
    part.payloadBytes = quint64(message.payload.size());
    message.parts.push_back(std::move(part));
    return built;
}

BuiltMessage buildPlain(
    const FormatOptions &options, std::span<const storage::OutboxRow> rows, const NameLookup &lookup)
{
    const storage::OutboxRow &row = rows.front();
    Names names(lookup);
    BuiltMessage built;
    built.rowsConsumed = 1;
    Message &message = built.message;
    message.topic = plainTopic(options.topicTemplate, row.meterId, names.of(row.meterId));
    message.payload = row.payload;
    MessagePart part = partOf(row);
    addRow(part, row);
    part.payloadBytes = quint64(message.payload.size());
    message.parts.push_back(std::move(part));
    return built;
}

} // namespace

QString modeName(Mode mode)
{
    switch (mode) {
    case Mode::Gateway:
        return u"gateway"_s;
    case Mode::Device:
        return u"device"_s;
    case Mode::Plain:
        return u"plain"_s;
    }
    return u"unknown"_s;
}

std::optional<Mode> modeFromName(QStringView name)
{
    for (const Mode mode : {Mode::Gateway, Mode::Device, Mode::Plain}) {
        if (name == modeName(mode))
            return mode;
    }
    return std::nullopt;
}

QByteArray jsonString(QStringView text)
{
    // Qt writes a lone string only inside an array: ["…"] without its brackets is the literal.
    const QByteArray array
        = QJsonDocument(QJsonArray {QJsonValue(withoutLoneSurrogates(text))}).toJson(QJsonDocument::Compact);
    return array.sliced(1, array.size() - 2);
}

QByteArray gatewayConnectPayload(QStringView deviceName, QStringView deviceType)
{
    return compact(QJsonObject {
        {u"device"_s, withoutLoneSurrogates(deviceName)}, {u"type"_s, withoutLoneSurrogates(deviceType)}});
}

QByteArray gatewayDisconnectPayload(QStringView deviceName)
{
    return compact(QJsonObject {{u"device"_s, withoutLoneSurrogates(deviceName)}});
}

QByteArray gatewayAttributesPayload(QStringView deviceName, const QJsonObject &attributes)
{
    return compact(QJsonObject {{withoutLoneSurrogates(deviceName), attributes}});
}

QByteArray deviceAttributesPayload(const QJsonObject &attributes)
{
    return compact(attributes);
}

QByteArray plainTopic(QStringView topicTemplate, QStringView meterId, QStringView meterName)
{
    static constexpr QStringView idToken = u"{id}";
    static constexpr QStringView nameToken = u"{name}";
    const QString id = topicSafe(meterId);
    const QString name = meterName.isEmpty() ? id : topicSafe(meterName);
    // One pass over the template: a placeholder inside a substituted value stays as it is.
    QString topic;
    topic.reserve(topicTemplate.size() + name.size());
    qsizetype i = 0;
    while (i < topicTemplate.size()) {
        const QStringView rest = topicTemplate.sliced(i);
        if (rest.startsWith(idToken)) {
            topic += id;
            i += idToken.size();
        } else if (rest.startsWith(nameToken)) {
            topic += name;
            i += nameToken.size();
        } else {
            topic += topicTemplate[i];
            ++i;
        }
    }
    return topic.toUtf8();
}

std::vector<quint64> splitProportionally(quint64 total, std::span<const quint64> weights)
{
    const size_t count = weights.size();
    std::vector<quint64> parts(count, 0);
    if (count == 0 || total == 0)
        return parts;
    Wide sum = 0;
    for (const quint64 weight : weights)
        sum += weight;
    const bool even = sum == 0;
    if (even)
        sum = count;

    std::vector<Wide> remainders(count);
    quint64 assigned = 0;
    for (size_t i = 0; i < count; ++i) {
        const Wide share = Wide(total) * (even ? 1 : weights[i]);
        parts[i] = quint64(share / sum);
        remainders[i] = share % sum;
        assigned += parts[i];
    }
    // Fewer than `count` units are left; the largest remainders take one each, earlier first.
    std::vector<size_t> order(count);
    std::iota(order.begin(), order.end(), size_t(0));
    std::stable_sort(
        order.begin(), order.end(), [&](size_t a, size_t b) { return remainders[a] > remainders[b]; });
    for (quint64 left = total - assigned, k = 0; left > 0; --left, ++k)
        ++parts[order[size_t(k)]];
    return parts;
}

BuiltAttributes gatewayAttributesBatch(
    const FormatOptions &options, std::span<const DeviceAttributes> devices)
{
    BuiltAttributes built;
    if (devices.empty())
        return built;
    // Each entry is "name":{…}; the comma after it (all but the last) is that device's too.
    std::vector<QByteArray> entries;
    qsizetype size = 2; // the braces
    for (const DeviceAttributes &device : devices) {
        QByteArray entry = jsonString(device.deviceName);
        entry.append(':');
        entry.append(compact(device.attributes));
        const qsizetype added = (entries.empty() ? 0 : 1) + entry.size();
        if (!entries.empty() && size + added > options.maxPayloadBytes)
            break;
        size += added;
        entries.push_back(std::move(entry));
    }
    built.devicesConsumed = qsizetype(entries.size());

    Message &message = built.message;
    message.topic = QByteArray(GatewayAttributesTopic.data(), GatewayAttributesTopic.size());
    message.payload.reserve(size);
    message.payload.append('{');
    std::vector<quint64> weights;
    weights.reserve(entries.size());
    for (size_t i = 0; i < entries.size(); ++i) {
        const bool last = i + 1 == entries.size();
        message.payload.append(entries[i]);
        if (!last)
            message.payload.append(',');
        weights.push_back(quint64(entries[i].size() + (last ? 0 : 1)));
    }
    message.payload.append('}');
    Q_ASSERT(message.payload.size() == size);

    const std::vector<quint64> braces = splitProportionally(2, weights);
    message.parts.reserve(entries.size());
    for (size_t i = 0; i < entries.size(); ++i) {
        MessagePart &part = message.parts.emplace_back();
        part.meterId = devices[i].meterId;
        part.payloadBytes = weights[i] + braces[i];
    }
    return built;
}

BuiltMessage buildTelemetry(
    const FormatOptions &options, std::span<const storage::OutboxRow> rows, const NameLookup &names)
{
    if (rows.empty())
        return {};
    switch (options.mode) {
    case Mode::Gateway:
        return buildGateway(options, rows, names);
    case Mode::Device:
        return buildDevice(options, rows);
    case Mode::Plain:
        break;
    }
    return buildPlain(options, rows, names);
}

} // namespace mqtt
