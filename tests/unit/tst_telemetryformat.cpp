#include <telemetryformat.h>

#include <QtCore/QJsonArray>
#include <QtCore/QJsonDocument>
#include <QtCore/QJsonObject>
#include <QtCore/QRandomGenerator>
#include <QtTest/QTest>

#include <limits>
#include <numeric>

using namespace Qt::StringLiterals;
using mqtt::BuiltMessage;
using mqtt::FormatOptions;
using mqtt::Mode;
using storage::OutboxRow;

Q_DECLARE_METATYPE(mqtt::Mode)

namespace {

// A row as Storage writes it: {"ts":<ms>,"values":{"v0":…,…}} with `values` numbers.
OutboxRow row(qint64 id, const QString &meterId, qint64 ts, quint32 values = 1)
{
    OutboxRow r;
    r.id = id;
    r.meterId = meterId;
    r.timestampMs = ts;
    r.valueCount = values;
    r.createdMs = ts + 5;
    QByteArray payload = "{\"ts\":" + QByteArray::number(ts) + ",\"values\":{";
    for (quint32 i = 0; i < values; ++i) {
        if (i > 0)
            payload += ',';
        payload += "\"v" + QByteArray::number(i) + "\":" + QByteArray::number(double(id) + i * 0.5);
    }
    payload += "}}";
    r.payload = payload;
    return r;
}

// Three meters whose names need escaping or are not ASCII, and the rows of a few polls.
const QHash<QString, QString> &meterNames()
{
    static const QHash<QString, QString> names {
        {u"m1"_s, u"Meter \"A\""_s}, {u"m2"_s, u"back\\slash"_s}, {u"m3"_s, u"Zähler Süd"_s}};
    return names;
}

mqtt::NameLookup lookup()
{
    return [](const QString &id) { return meterNames().value(id); };
}

std::vector<OutboxRow> mixedRows()
{
    return {row(1, u"m1"_s, 1000, 2), row(2, u"m2"_s, 1000, 1), row(3, u"m1"_s, 2000, 3),
        row(4, u"m3"_s, 2000, 1), row(5, u"m2"_s, 3000, 2)};
}

FormatOptions options(Mode mode, qsizetype maxPayloadBytes = 64 * 1024)
{
    FormatOptions o;
    o.mode = mode;
    o.maxPayloadBytes = maxPayloadBytes;
    return o;
}

QByteArray joined(const std::vector<OutboxRow> &rows, std::initializer_list<size_t> indexes)
{
    QByteArray out;
    for (const size_t i : indexes) {
        if (!out.isEmpty())
            out += ',';
        out += rows[i].payload;
    }
    return out;
}

quint64 partsTotal(const mqtt::Message &message)
{
    quint64 total = 0;
    for (const mqtt::MessagePart &part : message.parts)
        total += part.payloadBytes;
    return total;
}

// What a gateway payload parses to: meter name → its rows' ts in order; empty on a parse error.
QList<std::pair<QString, QList<qint64>>> gatewayStructure(const QByteArray &payload)
{
    QJsonParseError error;
    const QJsonDocument document = QJsonDocument::fromJson(payload, &error);
    if (error.error != QJsonParseError::NoError || !document.isObject()) {
        qWarning("gateway payload does not parse: %s", qPrintable(error.errorString()));
        return {};
    }
    QList<std::pair<QString, QList<qint64>>> structure;
    const QJsonObject object = document.object();
    for (auto it = object.begin(); it != object.end(); ++it) {
        QList<qint64> stamps;
        for (const QJsonValue &value : it.value().toArray()) {
            const QJsonObject entry = value.toObject();
            if (!entry.value(u"values"_s).isObject())
                return {};
            stamps.append(entry.value(u"ts"_s).toInteger());
        }
        structure.append({it.key(), stamps});
    }
    // QJsonObject sorts its keys: compare as sorted.
    std::sort(structure.begin(), structure.end());
    return structure;
}

} // namespace

class tst_TelemetryFormat : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void modeNames();
    void jsonString_data();
    void jsonString();
    void controlPayloads();
    void plainTopic_data();
    void plainTopic();
    void splitProportionally_data();
    void splitProportionally();
    void splitProportionallyProperties();
    void gatewayBytes();
    void gatewayPartsAndShares();
    void deviceBytesStopAtMeterChange();
    void plainOneRowPerMessage();
    void batchingAtTheLimit_data();
    void batchingAtTheLimit();
    void oversizedRowGoesAlone_data();
    void oversizedRowGoesAlone();
    void emptyInput();
    void gatewayDrainParsesEveryMessage();
    void gatewayAttributesBatchBytes();
    void gatewayAttributesBatchAtTheLimit_data();
    void gatewayAttributesBatchAtTheLimit();
};

void tst_TelemetryFormat::modeNames()
{
    for (const Mode mode : {Mode::Gateway, Mode::Device, Mode::Plain})
        QVERIFY(mqtt::modeFromName(mqtt::modeName(mode)) == mode);
    QCOMPARE(mqtt::modeName(Mode::Gateway), u"gateway"_s);
    QCOMPARE(mqtt::modeName(Mode::Device), u"device"_s);
    QCOMPARE(mqtt::modeName(Mode::Plain), u"plain"_s);
    QVERIFY(!mqtt::modeFromName(u"Gateway"));
    QVERIFY(!mqtt::modeFromName(u""));
    QVERIFY(!mqtt::modeFromName(u"thingsboard"));
}

void tst_TelemetryFormat::jsonString_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<QByteArray>("expected");
    QTest::addColumn<QString>("parsed"); // what a JSON parser reads back

    QTest::newRow("plain-ascii") << u"meter-1"_s << QByteArray(R"("meter-1")") << u"meter-1"_s;
    QTest::newRow("empty") << QString() << QByteArray(R"("")") << QString();
    QTest::newRow("quotes") << u"say \"hi\""_s << QByteArray(R"("say \"hi\"")") << u"say \"hi\""_s;
    QTest::newRow("backslash") << u"C:\\meters\\"_s << QByteArray(R"("C:\\meters\\")") << u"C:\\meters\\"_s;
    QTest::newRow("slash-unescaped") << u"a/b"_s << QByteArray(R"("a/b")") << u"a/b"_s;
    QTest::newRow("newline-tab") << u"a\nb\tc"_s << QByteArray(R"("a\nb\tc")") << u"a\nb\tc"_s;
    QTest::newRow("control-characters")
        << QString(QString(QChar(0x01)) + QChar(0x1f) + QChar(0)) << QByteArray(R"("\u0001\u001f\u0000")")
        << QString(QString(QChar(0x01)) + QChar(0x1f) + QChar(0));
    QTest::newRow("escape-character-hex")
        << QString(QChar(0x1b)) << QByteArray(R"("\u001b")") << QString(QChar(0x1b));
    QTest::newRow("delete-character-verbatim")
        << QString(QChar(0x7f)) << QByteArray("\"\x7f\"") << QString(QChar(0x7f));
    QTest::newRow("non-ascii-utf8") << u"Zähler €"_s << QByteArray("\"Z\xc3\xa4hler \xe2\x82\xac\"")
                                    << u"Zähler €"_s;
    QTest::newRow("surrogate-pair") << u"\U0001F600"_s << QByteArray("\"\xf0\x9f\x98\x80\"")
                                    << u"\U0001F600"_s;
    QTest::newRow("lone-high-surrogate") << QString(u"a"_s + QChar(0xd83d) + u"b"_s)
                                         << QByteArray("\"a\xef\xbf\xbd"
                                                       "b\"")
                                         << u"a\uFFFDb"_s;
    QTest::newRow("lone-low-surrogate-at-end")
        << QString(u"x"_s + QChar(0xde00)) << QByteArray("\"x\xef\xbf\xbd\"") << u"x\uFFFD"_s;
    QTest::newRow("swapped-surrogates") << QString(QString(QChar(0xde00)) + QChar(0xd83d))
                                        << QByteArray("\"\xef\xbf\xbd\xef\xbf\xbd\"") << u"\uFFFD\uFFFD"_s;
}

void tst_TelemetryFormat::jsonString()
{
    QFETCH(QString, text);
    QFETCH(QByteArray, expected);
    QFETCH(QString, parsed);

    const QByteArray json = mqtt::jsonString(text);
    QCOMPARE(json, expected);
    QJsonParseError error;
    const QJsonDocument document = QJsonDocument::fromJson('[' + json + ']', &error);
    QCOMPARE(error.error, QJsonParseError::NoError);
    QCOMPARE(document.array().at(0).toString(), parsed);
    QVERIFY(QString::fromUtf8(json).isValidUtf16());
}

void tst_TelemetryFormat::controlPayloads()
{
    QCOMPARE(mqtt::gatewayConnectPayload(u"Meter \"A\"", u"DLMS meter"),
        QByteArray(R"({"device":"Meter \"A\"","type":"DLMS meter"})"));
    QCOMPARE(mqtt::gatewayConnectPayload(u"Zähler", u"profile\\x"),
        QByteArray("{\"device\":\"Z\xc3\xa4hler\",\"type\":\"profile\\\\x\"}"));
    QCOMPARE(mqtt::gatewayDisconnectPayload(u"back\\slash"), QByteArray(R"({"device":"back\\slash"})"));

    const QJsonObject attributes {{u"serialNumber"_s, u"SN-42"_s}, {u"firmware"_s, u"1.2.3"_s},
        {u"address"_s, u"127.0.0.1:4059"_s}, {u"port"_s, 4059}};
    // QJsonObject order: keys sorted.
    const QByteArray inner
        = R"({"address":"127.0.0.1:4059","firmware":"1.2.3","port":4059,"serialNumber":"SN-42"})";
    QCOMPARE(mqtt::deviceAttributesPayload(attributes), inner);
    QCOMPARE(mqtt::gatewayAttributesPayload(u"Meter \"A\"", attributes),
        QByteArray(R"({"Meter \"A\"":)" + inner + '}'));
    QCOMPARE(mqtt::deviceAttributesPayload({}), QByteArray("{}"));
}

void tst_TelemetryFormat::plainTopic_data()
{
    QTest::addColumn<QString>("topicTemplate");
    QTest::addColumn<QString>("id");
    QTest::addColumn<QString>("name");
    QTest::addColumn<QByteArray>("expected");

    const QString fallback = u"meters/{name}/telemetry"_s;
    QTest::newRow("name") << fallback << u"m1"_s << u"Main"_s << QByteArray("meters/Main/telemetry");
    QTest::newRow("empty-name-uses-id")
        << fallback << u"m1"_s << QString() << QByteArray("meters/m1/telemetry");
    QTest::newRow("slash-in-name") << fallback << u"m1"_s << u"site/a"_s
                                   << QByteArray("meters/site_a/telemetry");
    QTest::newRow("wildcards-in-name")
        << fallback << u"m1"_s << u"a+b#c"_s << QByteArray("meters/a_b_c/telemetry");
    QTest::newRow("nul-in-name") << fallback << u"m1"_s << QString(u"a"_s + QChar(0) + u"b"_s)
                                 << QByteArray("meters/a_b/telemetry");
    QTest::newRow("id-and-name") << u"site/{id}/{name}/t"_s << u"m/1"_s << u"N#1"_s
                                 << QByteArray("site/m_1/N_1/t");
    QTest::newRow("placeholder-in-value-kept")
        << u"x/{name}"_s << u"m1"_s << u"{id}"_s << QByteArray("x/{id}");
    QTest::newRow("repeated-placeholder") << u"{id}/{id}"_s << u"m1"_s << QString() << QByteArray("m1/m1");
    QTest::newRow("non-ascii-utf8") << fallback << u"m1"_s << u"Zähler"_s
                                    << QByteArray("meters/Z\xc3\xa4hler/telemetry");
    QTest::newRow("unknown-braces-verbatim")
        << u"{x}/{name"_s << u"m1"_s << u"n"_s << QByteArray("{x}/{name");
}

void tst_TelemetryFormat::plainTopic()
{
    QFETCH(QString, topicTemplate);
    QFETCH(QString, id);
    QFETCH(QString, name);
    QFETCH(QByteArray, expected);
    QCOMPARE(mqtt::plainTopic(topicTemplate, id, name), expected);
}

void tst_TelemetryFormat::splitProportionally_data()
{
    QTest::addColumn<quint64>("total");
    QTest::addColumn<std::vector<quint64>>("weights");
    QTest::addColumn<std::vector<quint64>>("expected");

    constexpr quint64 max = std::numeric_limits<quint64>::max();
    QTest::newRow("exact") << quint64(60) << std::vector<quint64> {1, 2, 3}
                           << std::vector<quint64> {10, 20, 30};
    QTest::newRow("largest-remainder")
        << quint64(100) << std::vector<quint64> {1, 2, 3} << std::vector<quint64> {17, 33, 50};
    QTest::newRow("tie-to-earlier") << quint64(1) << std::vector<quint64> {5, 5}
                                    << std::vector<quint64> {1, 0};
    QTest::newRow("tie-to-earlier-of-three")
        << quint64(2) << std::vector<quint64> {7, 7, 7} << std::vector<quint64> {1, 1, 0};
    QTest::newRow("braces-two-meters")
        << quint64(2) << std::vector<quint64> {100, 40} << std::vector<quint64> {1, 1};
    QTest::newRow("braces-dominant-meter")
        << quint64(2) << std::vector<quint64> {300, 40} << std::vector<quint64> {2, 0};
    QTest::newRow("all-zero-weights-even")
        << quint64(5) << std::vector<quint64> {0, 0, 0} << std::vector<quint64> {2, 2, 1};
    QTest::newRow("some-zero-weights")
        << quint64(10) << std::vector<quint64> {0, 1, 0} << std::vector<quint64> {0, 10, 0};
    QTest::newRow("zero-total") << quint64(0) << std::vector<quint64> {1, 2} << std::vector<quint64> {0, 0};
    QTest::newRow("no-weights") << quint64(9) << std::vector<quint64> {} << std::vector<quint64> {};
    QTest::newRow("single") << quint64(12345) << std::vector<quint64> {1} << std::vector<quint64> {12345};
    QTest::newRow("huge-total-and-weights")
        << max << std::vector<quint64> {max, max} << std::vector<quint64> {max / 2 + 1, max / 2};
    QTest::newRow("huge-total-small-weights")
        << max << std::vector<quint64> {1, 1, 1} << std::vector<quint64> {max / 3, max / 3, max / 3};
    QTest::newRow("huge-weights-small-total")
        << quint64(3) << std::vector<quint64> {max, max - 1, 1} << std::vector<quint64> {2, 1, 0};
}

void tst_TelemetryFormat::splitProportionally()
{
    QFETCH(quint64, total);
    QFETCH(std::vector<quint64>, weights);
    QFETCH(std::vector<quint64>, expected);
    const std::vector<quint64> parts = mqtt::splitProportionally(total, weights);
    QCOMPARE(parts, expected);
}

void tst_TelemetryFormat::splitProportionallyProperties()
{
    QRandomGenerator random(20261124);
    for (int round = 0; round < 2000; ++round) {
        const int count = random.bounded(1, 12);
        std::vector<quint64> weights(static_cast<size_t>(count));
        for (quint64 &weight : weights)
            weight = random.bounded(4) == 0 ? 0 : random.generate64() >> random.bounded(64);
        const quint64 total = random.generate64() >> random.bounded(64);
        const std::vector<quint64> parts = mqtt::splitProportionally(total, weights);
        QCOMPARE(parts.size(), weights.size());
        __extension__ using Wide = unsigned __int128;
        Wide sum = 0;
        Wide weightSum = 0;
        for (size_t i = 0; i < parts.size(); ++i) {
            sum += parts[i];
            weightSum += weights[i];
        }
        QVERIFY2(sum == total, qPrintable(u"round %1"_s.arg(round)));
        // Each part is its exact quota rounded down or up.
        for (size_t i = 0; i < parts.size(); ++i) {
            const Wide share = Wide(total) * (weightSum == 0 ? 1 : weights[i]);
            const Wide divisor = weightSum == 0 ? Wide(count) : weightSum;
            const Wide floor = share / divisor;
            QVERIFY2(
                Wide(parts[i]) == floor || Wide(parts[i]) == floor + 1, qPrintable(u"round %1"_s.arg(round)));
            if (weightSum != 0 && weights[i] == 0)
                QCOMPARE(parts[i], quint64(0));
        }
    }
}

void tst_TelemetryFormat::gatewayBytes()
{
    const std::vector<OutboxRow> rows = mixedRows();
    const BuiltMessage built = mqtt::buildTelemetry(options(Mode::Gateway), rows, lookup());
    QCOMPARE(built.rowsConsumed, 5);
    QCOMPARE(built.message.topic, QByteArray("v1/gateway/telemetry"));
    const QByteArray expected = R"({"Meter \"A\"":[)" + joined(rows, {0, 2}) + R"(],"back\\slash":[)"
        + joined(rows, {1, 4})
        + "],\"Z\xc3\xa4hler S\xc3\xbc"
          "d\":["
        + joined(rows, {3}) + "]}";
    QCOMPARE(built.message.payload, expected);
    // Spelled out once, so the row helper cannot hide a mistake.
    QVERIFY(built.message.payload.startsWith(
        R"({"Meter \"A\"":[{"ts":1000,"values":{"v0":1,"v1":1.5}},{"ts":2000,"values":{"v0":3,"v1":3.5,"v2":4}}],)"));
    QCOMPARE(gatewayStructure(built.message.payload),
        (QList<std::pair<QString, QList<qint64>>> {
            {u"Meter \"A\""_s, {1000, 2000}}, {u"Zähler Süd"_s, {2000}}, {u"back\\slash"_s, {1000, 3000}}}));

    // No lookup: the ids are the names.
    const BuiltMessage byId = mqtt::buildTelemetry(options(Mode::Gateway), rows, {});
    QCOMPARE(byId.message.payload,
        QByteArray(R"({"m1":[)" + joined(rows, {0, 2}) + R"(],"m2":[)" + joined(rows, {1, 4}) + R"(],"m3":[)"
            + joined(rows, {3}) + "]}"));
    // An empty name counts as none.
    const BuiltMessage emptyName = mqtt::buildTelemetry(
        options(Mode::Gateway), std::span(rows).first(1), [](const QString &) { return QString(); });
    QCOMPARE(emptyName.message.payload, QByteArray(R"({"m1":[)" + rows[0].payload + "]}"));
}

void tst_TelemetryFormat::gatewayPartsAndShares()
{
    const std::vector<OutboxRow> rows = mixedRows();
    const BuiltMessage built = mqtt::buildTelemetry(options(Mode::Gateway), rows, lookup());
    const mqtt::Message &message = built.message;
    QCOMPARE(message.parts.size(), 3u);
    QCOMPARE(partsTotal(message), quint64(message.payload.size()));

    // Own bytes: "name":[rows] plus the comma after the entry (all but the last meter).
    const QByteArray k1 = mqtt::jsonString(u"Meter \"A\"");
    const QByteArray k2 = mqtt::jsonString(u"back\\slash");
    const QByteArray k3 = mqtt::jsonString(u"Zähler Süd");
    const std::vector<quint64> own {quint64(k1.size() + 3 + joined(rows, {0, 2}).size() + 1),
        quint64(k2.size() + 3 + joined(rows, {1, 4}).size() + 1),
        quint64(k3.size() + 3 + joined(rows, {3}).size())};
    const std::vector<quint64> braces = mqtt::splitProportionally(2, own);
    const QStringList ids {u"m1"_s, u"m2"_s, u"m3"_s};
    const std::vector<std::vector<qint64>> rowIds {{1, 3}, {2, 5}, {4}};
    const std::vector<quint32> values {5, 3, 1};
    for (size_t i = 0; i < 3; ++i) {
        const mqtt::MessagePart &part = message.parts[i];
        QCOMPARE(part.meterId, ids[qsizetype(i)]);
        QCOMPARE(part.payloadBytes, own[i] + braces[i]);
        QCOMPARE(part.rowIds, rowIds[i]);
        QCOMPARE(part.values, values[i]);
        qint64 rowBytes = 0;
        for (const qint64 id : rowIds[i])
            rowBytes += rows[size_t(id - 1)].payload.size();
        QCOMPARE(part.rowBytes, rowBytes);
    }
    // The meter with most bytes takes a brace; the two largest take one each here.
    QCOMPARE(std::accumulate(braces.begin(), braces.end(), quint64(0)), 2u);

    // One meter: the whole payload is its.
    const BuiltMessage single
        = mqtt::buildTelemetry(options(Mode::Gateway), std::span(rows).first(1), lookup());
    QCOMPARE(single.message.parts.size(), 1u);
    QCOMPARE(single.message.parts[0].payloadBytes, quint64(single.message.payload.size()));
    QCOMPARE(single.message.parts[0].payloadBytes, quint64(k1.size() + 3 + rows[0].payload.size() + 2));
}

void tst_TelemetryFormat::deviceBytesStopAtMeterChange()
{
    const std::vector<OutboxRow> rows {row(10, u"m1"_s, 1000, 2), row(11, u"m1"_s, 2000, 1),
        row(12, u"m1"_s, 3000, 4), row(13, u"m2"_s, 3000, 1), row(14, u"m1"_s, 4000, 1)};
    const BuiltMessage first = mqtt::buildTelemetry(options(Mode::Device), rows, lookup());
    QCOMPARE(first.rowsConsumed, 3);
    QCOMPARE(first.message.topic, QByteArray("v1/devices/me/telemetry"));
    QCOMPARE(first.message.payload, QByteArray('[' + joined(rows, {0, 1, 2}) + ']'));
    QVERIFY(first.message.payload.startsWith(R"([{"ts":1000,"values":{"v0":10,"v1":10.5}},{"ts":2000,)"));
    QCOMPARE(first.message.parts.size(), 1u);
    const mqtt::MessagePart &part = first.message.parts[0];
    QCOMPARE(part.meterId, u"m1"_s);
    QCOMPARE(part.payloadBytes, quint64(first.message.payload.size()));
    QCOMPARE(part.values, 7u);
    QCOMPARE(part.rowIds, (std::vector<qint64> {10, 11, 12}));
    QCOMPARE(part.rowBytes, qint64(rows[0].payload.size() + rows[1].payload.size() + rows[2].payload.size()));
    QCOMPARE(QJsonDocument::fromJson(first.message.payload).array().size(), 3);

    const BuiltMessage second
        = mqtt::buildTelemetry(options(Mode::Device), std::span(rows).subspan(3), lookup());
    QCOMPARE(second.rowsConsumed, 1);
    QCOMPARE(second.message.payload, QByteArray('[' + rows[3].payload + ']'));
    QCOMPARE(second.message.parts[0].meterId, u"m2"_s);
}

void tst_TelemetryFormat::plainOneRowPerMessage()
{
    const std::vector<OutboxRow> rows = mixedRows();
    FormatOptions o = options(Mode::Plain);
    o.topicTemplate = u"site/{name}/{id}"_s;
    const BuiltMessage built = mqtt::buildTelemetry(
        o, rows, [](const QString &id) { return id == u"m1" ? u"a/b+c#"_s : QString(); });
    QCOMPARE(built.rowsConsumed, 1);
    QCOMPARE(built.message.topic, QByteArray("site/a_b_c_/m1"));
    QCOMPARE(built.message.payload, rows[0].payload);
    QCOMPARE(built.message.payload, QByteArray(R"({"ts":1000,"values":{"v0":1,"v1":1.5}})"));
    QCOMPARE(built.message.parts.size(), 1u);
    QCOMPARE(built.message.parts[0].payloadBytes, quint64(rows[0].payload.size()));
    QCOMPARE(built.message.parts[0].rowIds, std::vector<qint64> {1});
    QCOMPARE(built.message.parts[0].rowBytes, qint64(rows[0].payload.size()));
    QCOMPARE(built.message.parts[0].values, 2u);

    const BuiltMessage next = mqtt::buildTelemetry(o, std::span(rows).subspan(1), {});
    QCOMPARE(next.message.topic, QByteArray("site/m2/m2"));
    QCOMPARE(next.rowsConsumed, 1);
}

void tst_TelemetryFormat::batchingAtTheLimit_data()
{
    QTest::addColumn<Mode>("mode");
    QTest::addColumn<int>("slack"); // bytes added to the exact size of the first three rows' message
    QTest::addColumn<int>("consumed");

    QTest::newRow("gateway-exactly-at-limit") << Mode::Gateway << 0 << 3;
    QTest::newRow("gateway-one-byte-short") << Mode::Gateway << -1 << 2;
    QTest::newRow("gateway-one-byte-spare") << Mode::Gateway << 1 << 3;
    QTest::newRow("device-exactly-at-limit") << Mode::Device << 0 << 3;
    QTest::newRow("device-one-byte-short") << Mode::Device << -1 << 2;
}

void tst_TelemetryFormat::batchingAtTheLimit()
{
    QFETCH(Mode, mode);
    QFETCH(int, slack);
    QFETCH(int, consumed);

    // Device mode batches one meter: give every row the same meter there.
    std::vector<OutboxRow> rows = mixedRows();
    if (mode == Mode::Device) {
        for (OutboxRow &r : rows)
            r.meterId = u"m1"_s;
    }
    const BuiltMessage three = mqtt::buildTelemetry(options(mode), std::span(rows).first(3), lookup());
    QCOMPARE(three.rowsConsumed, 3);
    const qsizetype exact = three.message.payload.size();

    const BuiltMessage built = mqtt::buildTelemetry(options(mode, exact + slack), rows, lookup());
    QCOMPARE(built.rowsConsumed, consumed);
    QVERIFY(built.message.payload.size() <= exact + slack);
    QCOMPARE(partsTotal(built.message), quint64(built.message.payload.size()));
    if (consumed == 3)
        QCOMPARE(built.message.payload, three.message.payload);
    const QJsonDocument document = QJsonDocument::fromJson(built.message.payload);
    QVERIFY(mode == Mode::Gateway ? document.isObject() : document.isArray());

    // The rest goes in the next message, nothing lost or repeated.
    const BuiltMessage rest
        = mqtt::buildTelemetry(options(mode, 1 << 20), std::span(rows).subspan(size_t(consumed)), lookup());
    QCOMPARE(built.rowsConsumed + rest.rowsConsumed, qsizetype(rows.size()));
}

void tst_TelemetryFormat::oversizedRowGoesAlone_data()
{
    QTest::addColumn<Mode>("mode");
    QTest::newRow("gateway") << Mode::Gateway;
    QTest::newRow("device") << Mode::Device;
}

void tst_TelemetryFormat::oversizedRowGoesAlone()
{
    QFETCH(Mode, mode);
    std::vector<OutboxRow> rows {row(1, u"m1"_s, 1000, 200), row(2, u"m1"_s, 2000, 1)};
    QVERIFY(rows[0].payload.size() > 1000);
    const BuiltMessage built = mqtt::buildTelemetry(options(mode, 100), rows, lookup());
    QCOMPARE(built.rowsConsumed, 1);
    QVERIFY(built.message.payload.size() > 100);
    QVERIFY(built.message.payload.contains(rows[0].payload));
    QCOMPARE(built.message.parts.size(), 1u);
    QCOMPARE(built.message.parts[0].rowIds, std::vector<qint64> {1});
    QCOMPARE(built.message.parts[0].values, 200u);
    QCOMPARE(partsTotal(built.message), quint64(built.message.payload.size()));

    // A zero limit still moves one row at a time.
    const BuiltMessage zero = mqtt::buildTelemetry(options(mode, 0), std::span(rows).subspan(1), lookup());
    QCOMPARE(zero.rowsConsumed, 1);
}

void tst_TelemetryFormat::emptyInput()
{
    for (const Mode mode : {Mode::Gateway, Mode::Device, Mode::Plain}) {
        const BuiltMessage built = mqtt::buildTelemetry(options(mode), {}, lookup());
        QCOMPARE(built.rowsConsumed, 0);
        QVERIFY(built.message.payload.isEmpty());
        QVERIFY(built.message.parts.empty());
    }
}

void tst_TelemetryFormat::gatewayAttributesBatchBytes()
{
    const std::vector<mqtt::DeviceAttributes> devices {
        {u"m1"_s, u"Meter \"A\""_s, QJsonObject {{u"serialNumber"_s, u"SN-1"_s}, {u"firmware"_s, u"1.2"_s}}},
        {u"m2"_s, u"back\\slash"_s, QJsonObject {{u"address"_s, u"127.0.0.1:4059"_s}}},
        {u"m3"_s, u"Zähler Süd"_s, QJsonObject {{u"phases"_s, 3}, {u"ct"_s, true}}},
    };
    const mqtt::BuiltAttributes built = mqtt::gatewayAttributesBatch(options(Mode::Gateway), devices);
    QCOMPARE(built.devicesConsumed, 3);
    QCOMPARE(built.message.topic, QByteArray("v1/gateway/attributes"));
    // Spelled out: names escaped, each device's attributes compact with sorted keys.
    const QByteArray e1 = R"("Meter \"A\"":{"firmware":"1.2","serialNumber":"SN-1"})";
    const QByteArray e2 = R"("back\\slash":{"address":"127.0.0.1:4059"})";
    const QByteArray e3 = "\"Z\xc3\xa4hler S\xc3\xbc"
                          "d\":{\"ct\":true,\"phases\":3}";
    QCOMPARE(built.message.payload, QByteArray('{' + e1 + ',' + e2 + ',' + e3 + '}'));
    const QJsonObject parsed = QJsonDocument::fromJson(built.message.payload).object();
    QCOMPARE(parsed.size(), 3);
    QCOMPARE(parsed.value(u"Meter \"A\""_s).toObject(), devices[0].attributes);

    // Shares: each entry and its comma, the braces split in proportion; no rows, no values.
    const std::vector<quint64> own {quint64(e1.size() + 1), quint64(e2.size() + 1), quint64(e3.size())};
    const std::vector<quint64> braces = mqtt::splitProportionally(2, own);
    QCOMPARE(built.message.parts.size(), 3u);
    for (size_t i = 0; i < 3; ++i) {
        const mqtt::MessagePart &part = built.message.parts[i];
        QCOMPARE(part.meterId, devices[i].meterId);
        QCOMPARE(part.payloadBytes, own[i] + braces[i]);
        QVERIFY(part.rowIds.empty());
        QCOMPARE(part.values, 0u);
        QCOMPARE(part.rowBytes, 0);
    }
    QCOMPARE(partsTotal(built.message), quint64(built.message.payload.size()));

    // One device: the same bytes as the single-device payload, all of them its own.
    for (const mqtt::DeviceAttributes &device : devices) {
        const mqtt::BuiltAttributes single
            = mqtt::gatewayAttributesBatch(options(Mode::Gateway), std::span(&device, 1));
        QCOMPARE(
            single.message.payload, mqtt::gatewayAttributesPayload(device.deviceName, device.attributes));
        QCOMPARE(single.message.parts.size(), 1u);
        QCOMPARE(single.message.parts[0].payloadBytes, quint64(single.message.payload.size()));
    }
    // A lone surrogate in a name is replaced as everywhere else.
    const mqtt::DeviceAttributes lone {u"m4"_s, QString(u"a"_s + QChar(0xd800)), QJsonObject {{u"k"_s, 1}}};
    const mqtt::BuiltAttributes replaced
        = mqtt::gatewayAttributesBatch(options(Mode::Gateway), std::span(&lone, 1));
    QCOMPARE(replaced.message.payload, QByteArray("{\"a\xef\xbf\xbd\":{\"k\":1}}"));
    QCOMPARE(replaced.message.payload, mqtt::gatewayAttributesPayload(lone.deviceName, lone.attributes));

    const mqtt::BuiltAttributes none = mqtt::gatewayAttributesBatch(options(Mode::Gateway), {});
    QCOMPARE(none.devicesConsumed, 0);
    QVERIFY(none.message.payload.isEmpty());
    QVERIFY(none.message.parts.empty());
}

void tst_TelemetryFormat::gatewayAttributesBatchAtTheLimit_data()
{
    QTest::addColumn<int>("slack"); // bytes added to the exact size of the first three devices' message
    QTest::addColumn<int>("consumed");
    QTest::newRow("exactly-at-limit") << 0 << 3;
    QTest::newRow("one-byte-short") << -1 << 2;
    QTest::newRow("one-byte-spare") << 1 << 3;
    QTest::newRow("first-larger-than-limit-alone") << -10'000 << 1;
}

void tst_TelemetryFormat::gatewayAttributesBatchAtTheLimit()
{
    QFETCH(int, slack);
    QFETCH(int, consumed);
    std::vector<mqtt::DeviceAttributes> devices;
    for (int i = 0; i < 5; ++i) {
        devices.push_back({u"m"_s + QString::number(i), u"Meter \"%1\""_s.arg(i),
            QJsonObject {{u"serialNumber"_s, u"SN-%1"_s.arg(i)}, {u"index"_s, i}}});
    }
    const mqtt::BuiltAttributes three
        = mqtt::gatewayAttributesBatch(options(Mode::Gateway), std::span(devices).first(3));
    QCOMPARE(three.devicesConsumed, 3);
    const qsizetype exact = three.message.payload.size();

    const mqtt::BuiltAttributes built = mqtt::gatewayAttributesBatch(
        options(Mode::Gateway, std::max<qsizetype>(0, exact + slack)), devices);
    QCOMPARE(built.devicesConsumed, consumed);
    if (consumed > 1)
        QVERIFY(built.message.payload.size() <= exact + slack);
    if (consumed == 3)
        QCOMPARE(built.message.payload, three.message.payload);
    QCOMPARE(qsizetype(built.message.parts.size()), qsizetype(consumed));
    QCOMPARE(partsTotal(built.message), quint64(built.message.payload.size()));
    QCOMPARE(QJsonDocument::fromJson(built.message.payload).object().size(), consumed);

    // The rest in the next messages: every device once, in order.
    std::span<const mqtt::DeviceAttributes> rest = std::span(devices).subspan(size_t(consumed));
    qsizetype total = consumed;
    while (!rest.empty()) {
        const mqtt::BuiltAttributes next = mqtt::gatewayAttributesBatch(
            options(Mode::Gateway, std::max<qsizetype>(0, exact + slack)), rest);
        QVERIFY(next.devicesConsumed >= 1);
        QCOMPARE(next.message.parts.front().meterId, rest.front().meterId);
        total += next.devicesConsumed;
        rest = rest.subspan(size_t(next.devicesConsumed));
    }
    QCOMPARE(total, qsizetype(devices.size()));
}

void tst_TelemetryFormat::gatewayDrainParsesEveryMessage()
{
    // Many meters with awkward names, drained in messages of at most 700 bytes: every message
    // parses, carries its rows once, in order, and its parts add up.
    std::vector<OutboxRow> rows;
    QHash<QString, QString> names;
    for (int i = 0; i < 300; ++i) {
        const QString id = u"m"_s + QString::number(i % 7);
        rows.push_back(row(i + 1, id, 1000 + i, quint32(1 + i % 4)));
    }
    for (int m = 0; m < 7; ++m)
        names.insert(u"m"_s + QString::number(m), u"Meter \"%1\" \\ Zähler\n"_s.arg(m));
    const mqtt::NameLookup byName = [&names](const QString &id) { return names.value(id); };

    std::span<const OutboxRow> rest(rows);
    std::vector<qint64> seen;
    quint64 values = 0;
    int messages = 0;
    while (!rest.empty()) {
        const BuiltMessage built = mqtt::buildTelemetry(options(Mode::Gateway, 700), rest, byName);
        QVERIFY(built.rowsConsumed >= 1);
        QVERIFY(built.message.payload.size() <= 700);
        QCOMPARE(partsTotal(built.message), quint64(built.message.payload.size()));
        const auto structure = gatewayStructure(built.message.payload);
        QCOMPARE(qsizetype(structure.size()), qsizetype(built.message.parts.size()));
        qsizetype stamps = 0;
        for (const auto &entry : structure) {
            stamps += entry.second.size();
            QVERIFY(std::is_sorted(entry.second.begin(), entry.second.end()));
        }
        QCOMPARE(stamps, built.rowsConsumed);
        for (const mqtt::MessagePart &part : built.message.parts) {
            QVERIFY(part.payloadBytes > quint64(part.rowBytes));
            seen.insert(seen.end(), part.rowIds.begin(), part.rowIds.end());
            values += part.values;
        }
        rest = rest.subspan(size_t(built.rowsConsumed));
        ++messages;
    }
    QVERIFY(messages > 10);
    std::sort(seen.begin(), seen.end());
    std::vector<qint64> all(rows.size());
    std::iota(all.begin(), all.end(), qint64(1));
    QCOMPARE(seen, all);
    quint64 expectedValues = 0;
    for (const OutboxRow &r : rows)
        expectedValues += r.valueCount;
    QCOMPARE(values, expectedValues);
}

QTEST_GUILESS_MAIN(tst_TelemetryFormat)
#include "tst_telemetryformat.moc"
