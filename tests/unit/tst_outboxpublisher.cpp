#include "mosquittobroker.h"
#include "mqttclient.h"
#include "outboxpublisher.h"
#include "reader.h"
#include "storage.h"
#include "telemetryformat.h"

#include <QtCore/QDir>
#include <QtCore/QElapsedTimer>
#include <QtCore/QFile>
#include <QtCore/QHash>
#include <QtCore/QJsonArray>
#include <QtCore/QJsonDocument>
#include <QtCore/QJsonObject>
#include <QtCore/QSet>
#include <QtCore/QTemporaryDir>
#include <QtCore/QTimer>
#include <QtTest/QSignalSpy>
#include <QtTest/QTest>

#include <algorithm>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include <csignal>
#include <sys/types.h>

using namespace Qt::StringLiterals;
using mqtt::ClientOptions;
using mqtt::MeterDevice;
using mqtt::Mode;
using mqtt::MqttClient;
using mqtt::OutboxPublisher;
using mqtt::PublisherOptions;
using mqtt::PublisherState;
using polling::Quality;
using polling::Reading;
using polling::ReadingsBatch;
using storage::OutboxRow;
using storage::Storage;
using storage::StorageOptions;
using testsupport::BrokerConfig;
using testsupport::MosquittoBroker;

namespace {

// Generous bounds for things that take milliseconds: only a hang reaches them.
constexpr int kWaitMs = 15'000;
constexpr qint64 kBaseTs = 1'800'000'000'000;

// `count` readings k0..k<n-1> with the values first, first + 1, …
ReadingsBatch batch(const QString &meterId, qint64 ts, int count, double first)
{
    ReadingsBatch b;
    b.meterId = meterId;
    b.timestampMs = ts;
    for (int i = 0; i < count; ++i) {
        Reading r;
        r.key = u"k"_s + QString::number(i);
        r.obis = dlms::Obis(1, 0, 1, 8, quint8(i), 255);
        r.value = first + i;
        r.unit = u"V"_s;
        r.quality = Quality::Good;
        b.readings.push_back(std::move(r));
    }
    return b;
}

struct Received {
    QByteArray topic;
    QByteArray payload;
    qint64 elapsedMs = 0;
};

// A subscriber on the test broker. Subscribes on every connection (a persistent session keeps
// its subscriptions anyway) and sends itself a probe after the SUBSCRIBEs: once the probe
// comes back the subscriptions are active.
class Subscriber {
public:
    Subscriber(
        quint16 port, QList<QByteArray> filters, const QString &clientId = {}, bool cleanSession = true)
        : m_filters(std::move(filters)), m_probeTopic("test/probe/" + QByteArray::number(quintptr(this), 16))
    {
        ClientOptions o;
        o.host = u"127.0.0.1"_s;
        o.port = port;
        o.clientId = clientId;
        o.cleanSession = cleanSession;
        o.reconnectMinMs = 50;
        o.reconnectMaxMs = 200;
        o.connectTimeoutMs = 5000;
        m_clock.start();
        m_client = std::make_unique<MqttClient>(o);
        QObject::connect(m_client.get(), &MqttClient::connected, m_client.get(), [this] {
            for (const QByteArray &filter : std::as_const(m_filters))
                m_client->subscribe(filter, 1);
            m_client->subscribe(m_probeTopic, 1);
            m_client->publish(m_probeTopic, "probe", 1);
        });
        QObject::connect(m_client.get(), &MqttClient::messageReceived, m_client.get(),
            [this](const QByteArray &topic, const QByteArray &payload) {
                if (topic == m_probeTopic)
                    ++m_probes;
                else
                    m_received.push_back({topic, payload, m_clock.elapsed()});
            });
        m_client->connectToHost();
    }

    bool waitReady(int probes = 1)
    {
        return QTest::qWaitFor([&] { return m_probes >= probes; }, kWaitMs);
    }
    const std::vector<Received> &received() const { return m_received; }
    QElapsedTimer &clock() { return m_clock; }
    MqttClient &client() { return *m_client; }

private:
    QList<QByteArray> m_filters;
    QByteArray m_probeTopic;
    QElapsedTimer m_clock;
    int m_probes = 0;
    std::vector<Received> m_received;
    std::unique_ptr<MqttClient> m_client; // last: destroyed first, before what its lambdas use
};

StorageOptions storageOptions(const QString &path, int commitIntervalMs)
{
    StorageOptions o;
    o.path = path;
    o.commitIntervalMs = commitIntervalMs;
    o.retentionIntervalMs = 3'600'000;
    o.retryInitialMs = 20;
    o.retryMaxMs = 100;
    return o;
}

PublisherOptions publisherOptions(const QString &path, quint16 port, Mode mode)
{
    PublisherOptions o;
    o.databasePath = path;
    o.format.mode = mode;
    o.client.host = u"127.0.0.1"_s;
    o.client.port = port;
    o.client.reconnectMinMs = 50;
    o.client.reconnectMaxMs = 200;
    o.client.connectTimeoutMs = 5000;
    o.maxMessagesPerSecond = 0;
    o.statusIntervalMs = 50;
    return o;
}

// Everything a test needs around one database file: the writer, the publisher, what it emitted.
class Rig {
public:
    Rig() : m_path(m_dir.filePath(u"bridge.db"_s)) { }
    ~Rig()
    {
        stopPublisher();
        if (m_storage)
            m_storage->stop();
    }
    Q_DISABLE_COPY_MOVE(Rig)

    // commitIntervalMs: 20 makes acks deletes quickly; an hour keeps them queued until flush().
    bool startStorage(int commitIntervalMs = 20)
    {
        m_storage = std::make_unique<Storage>(storageOptions(m_path, commitIntervalMs));
        const auto started = m_storage->start();
        if (!started)
            qWarning("storage: %s", qPrintable(started.error().message));
        return started.ok();
    }
    void stopStorage()
    {
        m_storage->stop();
        m_storage.reset();
    }

    bool startPublisher(PublisherOptions options, const std::vector<MeterDevice> &meters = {})
    {
        m_publisher = std::make_unique<OutboxPublisher>(std::move(options), m_storage.get());
        QObject::connect(
            m_storage.get(), &Storage::committed, m_publisher.get(), &OutboxPublisher::onCommitted);
        QObject::connect(m_publisher.get(), &OutboxPublisher::acknowledged, m_publisher.get(),
            [this](const monitor::MqttAck &ack) { acks.push_back(ack); });
        QObject::connect(m_publisher.get(), &OutboxPublisher::publishFailed, m_publisher.get(),
            [this](const QString &meterId) { failed.append(meterId); });
        QObject::connect(m_publisher.get(), &OutboxPublisher::stateChanged, m_publisher.get(),
            [this](PublisherState state, const QString &message) {
                states.push_back({state, message});
            });
        QObject::connect(m_publisher.get(), &OutboxPublisher::outboxStatusChanged, m_publisher.get(),
            [this](const monitor::OutboxStatus &status) { outboxStatuses.push_back(status); });
        for (const MeterDevice &meter : meters)
            m_publisher->setMeter(meter);
        const auto started = m_publisher->start();
        if (!started)
            qWarning("publisher: %s", qPrintable(started.error().message));
        return started.ok();
    }
    void stopPublisher()
    {
        if (m_publisher)
            m_publisher->stop();
        m_publisher.reset();
    }

    // Writes and commits; true once every row is in the outbox.
    bool write(const std::vector<ReadingsBatch> &batches)
    {
        const quint64 before = m_storage->status().outboxRowsWritten;
        for (const ReadingsBatch &b : batches)
            m_storage->writeReadings(b);
        m_storage->flush();
        return QTest::qWaitFor(
            [&] { return m_storage->status().outboxRowsWritten == before + batches.size(); }, kWaitMs);
    }

    std::vector<OutboxRow> outboxRows()
    {
        auto reader = storage::Reader::open(m_path);
        if (!reader)
            return {};
        auto rows = reader->outboxRows(0, 1'000'000, qint64(1) << 40);
        return rows ? std::move(rows.value()) : std::vector<OutboxRow> {};
    }
    qint64 outboxLevelRows()
    {
        auto reader = storage::Reader::open(m_path);
        if (!reader)
            return -1;
        auto level = reader->outboxLevel();
        return level ? level->rows : -1;
    }
    // The writer's own figure, once acknowledged rows are committed as deletes.
    bool waitOutboxRows(qint64 rows)
    {
        return QTest::qWaitFor(
            [&] {
                m_storage->flush();
                return m_storage->status().outbox.rows == rows;
            },
            kWaitMs);
    }
    // For failure messages: where the publisher and the writer stand.
    QByteArray describe()
    {
        const auto s = m_publisher ? m_publisher->status() : mqtt::PublisherStatus {};
        const auto w = m_storage->status();
        return u"publisher %1 (%2): %3 messages / %4 rows acknowledged, %5 resent, %6 failures, %7 "
               u"reconnects; "
               "outbox %8 rows, %9 written, %10 acknowledged"_s
                   .arg(mqtt::publisherStateName(s.state), s.message)
                   .arg(s.messagesAcknowledged)
                   .arg(s.rowsAcknowledged)
                   .arg(s.rowsResent)
                   .arg(s.publishFailures)
                   .arg(s.reconnects)
                   .arg(w.outbox.rows)
                   .arg(w.outboxRowsWritten)
                   .arg(w.outboxAcknowledgedRows)
                   .toUtf8();
    }
    bool sawState(PublisherState state) const
    {
        return std::any_of(states.begin(), states.end(), [state](const auto &s) { return s.first == state; });
    }

    const QString &path() const { return m_path; }
    Storage &storage() { return *m_storage; }
    OutboxPublisher &publisher() { return *m_publisher; }

    std::vector<monitor::MqttAck> acks;
    QStringList failed;
    std::vector<std::pair<PublisherState, QString>> states;
    std::vector<monitor::OutboxStatus> outboxStatuses;

private:
    QTemporaryDir m_dir;
    QString m_path;
    std::unique_ptr<Storage> m_storage;
    std::unique_ptr<OutboxPublisher> m_publisher;
};

// What the gateway must send for rows all waiting at the start, in order: every meter's connect
// (in order of first appearance), one attributes batch for those with attributes, then the
// telemetry. Holds while the meters fit one batch (the first takes at most 16).
std::vector<std::pair<QByteArray, QByteArray>> expectedGateway(const mqtt::FormatOptions &format,
    const std::vector<OutboxRow> &rows, const std::vector<MeterDevice> &meters)
{
    QHash<QString, MeterDevice> byId;
    for (const MeterDevice &m : meters)
        byId.insert(m.id, m);
    const mqtt::NameLookup names = [&byId](const QString &id) { return byId.value(id).name; };
    std::vector<std::pair<QByteArray, QByteArray>> out;
    QSet<QString> seen;
    std::vector<mqtt::DeviceAttributes> attributes;
    for (const OutboxRow &row : rows) {
        if (seen.contains(row.meterId))
            continue;
        seen.insert(row.meterId);
        const MeterDevice &m = byId[row.meterId];
        out.emplace_back(
            QByteArray("v1/gateway/connect"), mqtt::gatewayConnectPayload(m.name, format.deviceType));
        if (!m.attributes.isEmpty())
            attributes.push_back({m.id, m.name, m.attributes});
    }
    if (!attributes.empty()) {
        const auto batch = mqtt::gatewayAttributesBatch(format, attributes);
        [&] { QCOMPARE(batch.devicesConsumed, qsizetype(attributes.size())); }();
        out.emplace_back(batch.message.topic, batch.message.payload);
    }
    std::size_t pos = 0;
    while (pos < rows.size()) {
        const auto built = mqtt::buildTelemetry(format, std::span(rows).subspan(pos), names);
        out.emplace_back(built.message.topic, built.message.payload);
        pos += std::size_t(built.rowsConsumed);
    }
    return out;
}

// (device name, ts) of every row in gateway telemetry payloads; counts how often each came.
void collectGatewayPoints(const std::vector<Received> &received, QHash<QString, int> &points)
{
    for (const Received &r : received) {
        if (r.topic != "v1/gateway/telemetry")
            continue;
        const QJsonObject object = QJsonDocument::fromJson(r.payload).object();
        for (auto it = object.begin(); it != object.end(); ++it) {
            for (const QJsonValue &row : it.value().toArray())
                points[it.key() + u'@' + QString::number(row.toObject().value(u"ts"_s).toInteger())] += 1;
        }
    }
}

bool checkShares(const std::vector<monitor::MqttAck> &acks)
{
    for (const monitor::MqttAck &ack : acks) {
        quint64 payload = 0;
        quint64 packet = 0;
        for (const monitor::MqttShare &share : ack.shares) {
            payload += share.payloadBytes;
            packet += share.packetBytes;
        }
        if (ack.shares.empty() || payload != ack.payloadBytes || packet != ack.packetBytes)
            return false;
    }
    return true;
}

} // namespace

class tst_OutboxPublisher : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();

    void gatewayPublishesAndAccounts();
    void gatewayBatchesAnnouncementsAndInterleaves();
    void plainAndDeviceByteForByte_data();
    void plainAndDeviceByteForByte();
    void deviceMeterDownOthersPublish();
    void brokerKilledMidStream();
    void applicationRestartDrains();
    void wrongCredentialsFail_data();
    void wrongCredentialsFail();
    void rateCapSpreadsMessages();
    void outboxStatusReported();
    void refusedMessagesStayInOutbox();
    void brokerRefusedMessagesFreeTheirSlot();
    void invalidOptionsRefused_data();
    void invalidOptionsRefused();
};

void tst_OutboxPublisher::initTestCase()
{
    qRegisterMetaType<mqtt::PublisherState>();
    qRegisterMetaType<monitor::MqttAck>();
    qRegisterMetaType<monitor::OutboxStatus>();
    QVERIFY(QFile::exists(u"/usr/sbin/mosquitto"_s));
}

void tst_OutboxPublisher::gatewayPublishesAndAccounts()
{
    MosquittoBroker broker;
    QVERIFY2(broker.start(), qPrintable(broker.errorString()));
    Subscriber subscriber(broker.port(), {QByteArray("v1/gateway/#")});
    QVERIFY(subscriber.waitReady());

    Rig rig;
    QVERIFY(rig.startStorage());
    const std::vector<MeterDevice> meters {
        {u"m1"_s, u"Meter One"_s, {}, {},
            QJsonObject {{u"serialNumber"_s, u"SN-1"_s}, {u"firmware"_s, u"1.2"_s}}},
        {u"m2"_s, u"Meter \"Two\""_s, {}, {}, QJsonObject {{u"address"_s, u"10.0.0.2:4059"_s}}},
        {u"m3"_s, u"Zähler drei"_s, {}, {}, {}},
    };
    constexpr int kBatches = 6;
    constexpr int kValues = 5;
    std::vector<ReadingsBatch> batches;
    for (int b = 0; b < kBatches; ++b) {
        for (int m = 0; m < 3; ++m)
            batches.push_back(batch(meters[std::size_t(m)].id, kBaseTs + b * 1000, kValues, m * 100 + b));
    }
    QVERIFY(rig.write(batches));
    const std::vector<OutboxRow> rows = rig.outboxRows();
    QCOMPARE(rows.size(), batches.size());

    PublisherOptions options = publisherOptions(rig.path(), broker.port(), Mode::Gateway);
    options.format.maxPayloadBytes = 400; // several messages, several meters in some
    const auto expected = expectedGateway(options.format, rows, meters);
    QVERIFY(expected.size() > 6);
    QVERIFY(rig.startPublisher(options, meters));

    QTRY_COMPARE_WITH_TIMEOUT(subscriber.received().size(), expected.size(), kWaitMs);
    for (std::size_t i = 0; i < expected.size(); ++i) {
        QCOMPARE(subscriber.received()[i].topic, expected[i].first);
        QCOMPARE(subscriber.received()[i].payload, expected[i].second);
    }
    QVERIFY(subscriber.received()[0].payload == R"({"device":"Meter One","type":"DLMS meter"})");
    // The two meters with attributes share one message, after all three connects.
    QCOMPARE(subscriber.received()[3].topic, QByteArray("v1/gateway/attributes"));
    const QByteArray batchPayload = "{\"Meter One\":{\"firmware\":\"1.2\",\"serialNumber\":\"SN-1\"},"
                                    "\"Meter \\\"Two\\\"\":{\"address\":\"10.0.0.2:4059\"}}";
    QCOMPARE(subscriber.received()[3].payload, batchPayload);
    QCOMPARE(subscriber.received()[4].topic, QByteArray("v1/gateway/telemetry"));

    QTRY_COMPARE_WITH_TIMEOUT(rig.acks.size(), expected.size(), kWaitMs);
    QVERIFY2(rig.waitOutboxRows(0), rig.describe().constData());
    QCOMPARE(rig.outboxLevelRows(), 0);
    QCOMPARE(rig.storage().status().outboxAcknowledgedRows, quint64(rows.size()));

    quint64 receivedPayload = 0;
    quint64 receivedPackets = 0;
    for (const Received &r : subscriber.received()) {
        receivedPayload += quint64(r.payload.size());
        receivedPackets += MqttClient::publishPacketSize(
            r.topic.size(), r.payload.size(), 1, mqtt::ProtocolVersion::V311);
    }
    quint64 ackPayload = 0;
    quint64 ackPackets = 0;
    QHash<QString, quint64> values;
    for (const monitor::MqttAck &ack : rig.acks) {
        ackPayload += ack.payloadBytes;
        ackPackets += ack.packetBytes;
        for (const monitor::MqttShare &share : ack.shares)
            values[share.meterId] += share.values;
    }
    QCOMPARE(ackPayload, receivedPayload);
    QCOMPARE(ackPackets, receivedPackets);
    QVERIFY(checkShares(rig.acks));
    for (const MeterDevice &m : meters)
        QCOMPARE(values.value(m.id), quint64(kBatches * kValues));

    const mqtt::PublisherStatus status = rig.publisher().status();
    QCOMPARE(status.state, PublisherState::Publishing);
    QCOMPARE(status.messagesAcknowledged, quint64(expected.size()));
    QCOMPARE(status.rowsAcknowledged, quint64(rows.size()));
    QCOMPARE(status.publishFailures, quint64(0));
    QCOMPARE(status.rowsResent, quint64(0));
    QVERIFY(rig.failed.isEmpty());

    // A removed meter is disconnected from the gateway, and that message is counted too.
    rig.publisher().removeMeter(u"m3"_s);
    QTRY_COMPARE_WITH_TIMEOUT(subscriber.received().size(), expected.size() + 1, kWaitMs);
    QCOMPARE(subscriber.received().back().topic, QByteArray("v1/gateway/disconnect"));
    QCOMPARE(subscriber.received().back().payload, QByteArray(R"({"device":"Zähler drei"})"));
    QTRY_COMPARE_WITH_TIMEOUT(rig.acks.size(), expected.size() + 1, kWaitMs);
    QCOMPARE(rig.acks.back().shares.size(), std::size_t(1));
    QCOMPARE(rig.acks.back().shares[0].meterId, u"m3"_s);
    QCOMPARE(rig.acks.back().shares[0].values, quint32(0));

    // Attributes changed while connected go out at once.
    MeterDevice changed = meters[0];
    changed.attributes.insert(u"firmware"_s, u"1.3"_s);
    rig.publisher().setMeter(changed);
    QTRY_COMPARE_WITH_TIMEOUT(subscriber.received().size(), expected.size() + 2, kWaitMs);
    QCOMPARE(subscriber.received().back().topic, QByteArray("v1/gateway/attributes"));
    QCOMPARE(subscriber.received().back().payload,
        mqtt::gatewayAttributesPayload(changed.name, changed.attributes));
}

void tst_OutboxPublisher::gatewayBatchesAnnouncementsAndInterleaves()
{
    MosquittoBroker broker;
    QVERIFY2(broker.start(), qPrintable(broker.errorString()));
    Subscriber subscriber(broker.port(), {QByteArray("v1/gateway/#")});
    QVERIFY(subscriber.waitReady());

    Rig rig;
    QVERIFY(rig.startStorage());
    constexpr int kMeters = 300;
    constexpr int kValues = 2;
    std::vector<MeterDevice> meters;
    std::vector<ReadingsBatch> batches;
    for (int i = 0; i < kMeters; ++i) {
        const QString number = u"%1"_s.arg(i, 3, 10, QLatin1Char('0'));
        meters.push_back({QString(u"m"_s + number), QString(u"Meter "_s + number), {}, {},
            QJsonObject {{u"serialNumber"_s, QString(u"SN-"_s + number)}}});
        batches.push_back(batch(meters.back().id, kBaseTs, kValues, i));
    }
    QVERIFY(rig.write(batches));

    PublisherOptions options = publisherOptions(rig.path(), broker.port(), Mode::Gateway);
    // Each meter's entry "Meter 001":{"serialNumber":"SN-001"} is 37 bytes, 38 with its comma:
    // exactly 27 fit in 2 + 27 × 38 - 1 = 1027 bytes.
    options.format.maxPayloadBytes = 1027;
    options.maxMessagesPerSecond = 400;
    // One message at a time: the order of acknowledgements is the order of sending.
    options.maxInflightMessages = 1;
    QVERIFY(rig.startPublisher(options, meters));

    QHash<QString, int> points;
    QTRY_VERIFY_WITH_TIMEOUT(
        [&] {
            points.clear();
            collectGatewayPoints(subscriber.received(), points);
            return points.size() == kMeters;
        }(),
        kWaitMs);
    QVERIFY2(rig.waitOutboxRows(0), rig.describe().constData());
    QTRY_COMPARE_WITH_TIMEOUT(rig.acks.size(), subscriber.received().size(), kWaitMs);

    // Where each meter was connected, given attributes and first sent telemetry (message index).
    QHash<QString, int> connectAt;
    QHash<QString, int> attributesAt;
    QHash<QString, int> telemetryAt;
    std::vector<int> batchSizes;
    int lastConnect = -1;
    int firstTelemetry = -1;
    for (int i = 0; i < int(subscriber.received().size()); ++i) {
        const Received &r = subscriber.received()[std::size_t(i)];
        const QJsonObject object = QJsonDocument::fromJson(r.payload).object();
        if (r.topic == "v1/gateway/connect") {
            const QString name = object.value(u"device"_s).toString();
            QVERIFY2(!connectAt.contains(name), qPrintable(name));
            connectAt.insert(name, i);
            lastConnect = i;
        } else if (r.topic == "v1/gateway/attributes") {
            QVERIFY2(r.payload.size() <= options.format.maxPayloadBytes, r.payload.constData());
            batchSizes.push_back(int(object.size()));
            for (auto it = object.begin(); it != object.end(); ++it) {
                QVERIFY2(!attributesAt.contains(it.key()), qPrintable(it.key()));
                attributesAt.insert(it.key(), i);
                QCOMPARE(
                    it.value().toObject().value(u"serialNumber"_s).toString(), u"SN-"_s + it.key().mid(6));
            }
        } else {
            QCOMPARE(r.topic, QByteArray("v1/gateway/telemetry"));
            if (firstTelemetry < 0)
                firstTelemetry = i;
            for (auto it = object.begin(); it != object.end(); ++it) {
                if (!telemetryAt.contains(it.key()))
                    telemetryAt.insert(it.key(), i);
            }
        }
    }
    QCOMPARE(connectAt.size(), kMeters);
    QCOMPARE(attributesAt.size(), kMeters);
    QCOMPARE(telemetryAt.size(), kMeters);
    for (const MeterDevice &m : meters) {
        QVERIFY2(connectAt.value(m.name) < attributesAt.value(m.name), qPrintable(m.name));
        QVERIFY2(attributesAt.value(m.name) < telemetryAt.value(m.name), qPrintable(m.name));
    }
    // The first batches ramp up (16, then as many as are announced), the rest split at the
    // payload limit: 16 + 16 + 9 × 27, and the last takes the 25 left.
    QCOMPARE(batchSizes.size(), std::size_t(12));
    QCOMPARE(batchSizes[0], 16);
    QCOMPARE(batchSizes[1], 16);
    for (std::size_t b = 2; b + 1 < batchSizes.size(); ++b)
        QCOMPARE(batchSizes[b], 27);
    QCOMPARE(batchSizes.back(), kMeters - 32 - 9 * 27);

    // Telemetry of the announced meters went out while the others were still being connected,
    // and (one message at a time) was acknowledged before the last connect was sent.
    QVERIFY2(firstTelemetry < lastConnect, qPrintable(u"%1 / %2"_s.arg(firstTelemetry).arg(lastConnect)));
    std::size_t firstTelemetryAck = rig.acks.size();
    std::size_t lastConnectAck = 0;
    for (std::size_t i = 0; i < rig.acks.size(); ++i) {
        const monitor::MqttAck &ack = rig.acks[i];
        const bool telemetry = std::any_of(
            ack.shares.begin(), ack.shares.end(), [](const monitor::MqttShare &s) { return s.values > 0; });
        if (telemetry && firstTelemetryAck == rig.acks.size())
            firstTelemetryAck = i;
        if (ack.shares.size() == 1 && ack.shares[0].values == 0
            && ack.payloadBytes
                == quint64(mqtt::gatewayConnectPayload(meters[0].name, u"DLMS meter"_s).size()))
            lastConnectAck = i;
    }
    QVERIFY2(firstTelemetryAck < lastConnectAck,
        qPrintable(u"%1 / %2"_s.arg(firstTelemetryAck).arg(lastConnectAck)));

    // Accounting: every message's shares sum to it; a batch is shared by its meters, telemetry
    // values counted once per meter.
    QVERIFY(checkShares(rig.acks));
    QHash<QString, quint64> values;
    QHash<QString, int> messages;
    quint64 ackPayload = 0;
    for (const monitor::MqttAck &ack : rig.acks) {
        ackPayload += ack.payloadBytes;
        for (const monitor::MqttShare &share : ack.shares) {
            values[share.meterId] += share.values;
            messages[share.meterId] += 1;
        }
    }
    quint64 receivedPayload = 0;
    for (const Received &r : subscriber.received())
        receivedPayload += quint64(r.payload.size());
    QCOMPARE(ackPayload, receivedPayload);
    for (const MeterDevice &m : meters) {
        QCOMPARE(values.value(m.id), quint64(kValues));
        QVERIFY(messages.value(m.id) >= 3); // connect, batch, telemetry
    }
    const mqtt::PublisherStatus status = rig.publisher().status();
    QCOMPARE(status.rowsAcknowledged, quint64(kMeters));
    QCOMPARE(status.messagesAcknowledged, quint64(subscriber.received().size()));
    QCOMPARE(status.publishFailures, quint64(0));
}

void tst_OutboxPublisher::plainAndDeviceByteForByte_data()
{
    QTest::addColumn<int>("mode");
    QTest::newRow("plain-topic-template") << int(Mode::Plain);
    QTest::newRow("device-per-meter-tokens") << int(Mode::Device);
}

void tst_OutboxPublisher::plainAndDeviceByteForByte()
{
    QFETCH(int, mode);
    const Mode publishMode = Mode(mode);

    MosquittoBroker broker; // anonymous allowed: the log shows each connection's username
    QVERIFY2(broker.start(), qPrintable(broker.errorString()));
    Subscriber subscriber(broker.port(), {QByteArray("meters/#"), QByteArray("v1/devices/me/#")});
    QVERIFY(subscriber.waitReady());

    Rig rig;
    QVERIFY(rig.startStorage());
    std::vector<MeterDevice> meters {
        {u"m1"_s, u"Meter/One"_s, {}, u"token-m1-AbC"_s, QJsonObject {{u"serialNumber"_s, u"SN-1"_s}}},
        {u"m2"_s, u"Meter+Two"_s, {}, u"token-m2-DeF"_s, {}},
        {u"m/3"_s, u"Meter#3"_s, {}, {}, {}}, // Device mode: no token yet
    };
    constexpr int kBatches = 4;
    std::vector<ReadingsBatch> batches;
    // Each meter's batches together, so in Device mode each meter's rows make one message.
    for (std::size_t m = 0; m < meters.size(); ++m) {
        for (int b = 0; b < kBatches; ++b)
            batches.push_back(batch(meters[m].id, kBaseTs + b * 1000, 3, double(m * 100 + b)));
    }
    QVERIFY(rig.write(batches));
    const std::vector<OutboxRow> rows = rig.outboxRows();
    QCOMPARE(rows.size(), batches.size());

    PublisherOptions options = publisherOptions(rig.path(), broker.port(), publishMode);
    options.format.topicTemplate = u"meters/{name}/telemetry"_s;
    QHash<QString, QString> names;
    for (const MeterDevice &m : meters)
        names.insert(m.id, m.name);
    const mqtt::NameLookup lookup = [&names](const QString &id) { return names.value(id); };

    if (publishMode == Mode::Plain) {
        QVERIFY(rig.startPublisher(options, meters));
        QTRY_COMPARE_WITH_TIMEOUT(subscriber.received().size(), rows.size(), kWaitMs);
        for (std::size_t i = 0; i < rows.size(); ++i) {
            const QByteArray topic = mqtt::plainTopic(
                options.format.topicTemplate, rows[i].meterId, names.value(rows[i].meterId));
            QCOMPARE(subscriber.received()[i].topic, topic);
            QCOMPARE(subscriber.received()[i].payload, rows[i].payload);
        }
        QCOMPARE(subscriber.received()[0].topic, QByteArray("meters/Meter_One/telemetry"));
        QVERIFY2(rig.waitOutboxRows(0), rig.describe().constData());
        QCOMPARE(rig.outboxLevelRows(), 0);
        QTRY_COMPARE_WITH_TIMEOUT(rig.acks.size(), rows.size(), kWaitMs);
        QVERIFY(checkShares(rig.acks));
        return;
    }

    // Device: each meter's rows form one message on its own connection.
    auto expectedFor = [&](const QString &meterId) {
        std::vector<OutboxRow> own;
        for (const OutboxRow &row : rows) {
            if (row.meterId == meterId)
                own.push_back(row);
        }
        const auto built = mqtt::buildTelemetry(options.format, own, lookup);
        [&] { QCOMPARE(built.rowsConsumed, qsizetype(own.size())); }();
        return built.message.payload;
    };
    QVERIFY(rig.startPublisher(options, meters));
    QTRY_COMPARE_WITH_TIMEOUT(rig.publisher().status().rowsSkipped, quint64(kBatches), kWaitMs);
    QTRY_COMPARE_WITH_TIMEOUT(
        subscriber.received().size(), std::size_t(3), kWaitMs); // 2 telemetry + attributes
    QMultiHash<QByteArray, QByteArray> got;
    int attributesAt = -1;
    int m1TelemetryAt = -1;
    for (int i = 0; i < int(subscriber.received().size()); ++i) {
        const Received &r = subscriber.received()[std::size_t(i)];
        got.insert(r.topic, r.payload);
        if (r.topic == "v1/devices/me/attributes")
            attributesAt = i;
        if (r.payload == expectedFor(u"m1"_s))
            m1TelemetryAt = i;
    }
    QCOMPARE(got.values("v1/devices/me/attributes"),
        QList<QByteArray> {mqtt::deviceAttributesPayload(meters[0].attributes)});
    QVERIFY(got.contains("v1/devices/me/telemetry", expectedFor(u"m1"_s)));
    QVERIFY(got.contains("v1/devices/me/telemetry", expectedFor(u"m2"_s)));
    QVERIFY(attributesAt >= 0 && attributesAt < m1TelemetryAt);
    QVERIFY(broker.log().contains(u"u'token-m1-AbC'"_s));
    QVERIFY(broker.log().contains(u"u'token-m2-DeF'"_s));
    QVERIFY(broker.log().contains(u"as dlmsbridge-m1 "_s));
    // The tokenless meter's rows wait in the outbox…
    QVERIFY(rig.waitOutboxRows(kBatches));
    QCOMPARE(rig.outboxLevelRows(), qint64(kBatches));

    // … until it gets a token: its connection picks them up.
    meters[2].accessToken = u"token-m3-GhI"_s;
    rig.publisher().setMeter(meters[2]);
    QTRY_COMPARE_WITH_TIMEOUT(subscriber.received().size(), std::size_t(4), kWaitMs);
    QCOMPARE(subscriber.received().back().payload, expectedFor(u"m/3"_s));
    QVERIFY(broker.log().contains(u"u'token-m3-GhI'"_s));
    QVERIFY(broker.log().contains(u"as dlmsbridge-m_3 "_s));
    QVERIFY2(rig.waitOutboxRows(0), rig.describe().constData());
    QCOMPARE(rig.outboxLevelRows(), 0);
    QTRY_COMPARE_WITH_TIMEOUT(rig.acks.size(), std::size_t(4), kWaitMs);
    QVERIFY(checkShares(rig.acks));
    QCOMPARE(rig.publisher().status().rowsAcknowledged, quint64(rows.size()));
    QCOMPARE(rig.publisher().status().rowsSkipped, quint64(kBatches));

    // Removing a meter closes its connection.
    rig.publisher().removeMeter(u"m1"_s);
    QTRY_VERIFY_WITH_TIMEOUT(broker.log().contains(u"Client dlmsbridge-m1 disconnected"_s), kWaitMs);
    QCOMPARE(rig.publisher().status().state, PublisherState::Publishing);
}

void tst_OutboxPublisher::deviceMeterDownOthersPublish()
{
    // The broker takes client ids with one prefix only: meter "zz" (client id dlmsbridge-zz) is
    // refused while the "ok" meters publish.
    BrokerConfig strict;
    strict.extraConfig = u"clientid_prefixes dlmsbridge-ok"_s;
    MosquittoBroker broker(strict);
    QVERIFY2(broker.start(), qPrintable(broker.errorString()));
    const quint16 port = broker.port();
    Subscriber subscriber(port, {QByteArray("v1/devices/me/telemetry")}, u"dlmsbridge-ok-subscriber"_s);
    QVERIFY(subscriber.waitReady());

    Rig rig;
    QVERIFY(rig.startStorage(3'600'000)); // acknowledged rows stay in the file until flush()
    const std::vector<MeterDevice> meters {{u"ok-a"_s, u"A"_s, {}, u"token-a-1111"_s, {}},
        {u"zz"_s, u"Z"_s, {}, u"token-z-3333"_s, {}}, {u"ok-b"_s, u"B"_s, {}, u"token-b-2222"_s, {}}};
    constexpr int kBatches = 4;
    std::vector<ReadingsBatch> batches;
    for (std::size_t m = 0; m < meters.size(); ++m) {
        for (int b = 0; b < kBatches; ++b)
            batches.push_back(batch(meters[m].id, kBaseTs + b * 1000, 2, double(m * 100 + b)));
    }
    QVERIFY(rig.write(batches));
    const std::vector<OutboxRow> rows = rig.outboxRows();
    PublisherOptions options = publisherOptions(rig.path(), port, Mode::Device);
    const mqtt::NameLookup names = [](const QString &id) { return id; };
    QHash<QString, QByteArray> expected; // each meter's rows make one message
    for (const MeterDevice &m : meters) {
        std::vector<OutboxRow> own;
        std::copy_if(rows.begin(), rows.end(), std::back_inserter(own),
            [&m](const OutboxRow &row) { return row.meterId == m.id; });
        expected.insert(m.id, mqtt::buildTelemetry(options.format, own, names).message.payload);
    }
    QVERIFY(rig.startPublisher(options, meters));

    // Two meters publish; the refused one's rows wait in the outbox.
    QTRY_COMPARE_WITH_TIMEOUT(subscriber.received().size(), std::size_t(2), kWaitMs);
    QTRY_COMPARE_WITH_TIMEOUT(rig.publisher().status().rowsAcknowledged, quint64(2 * kBatches), kWaitMs);
    // Not deleted yet: the re-read after the refused meter connects meets them again.
    QCOMPARE(rig.outboxLevelRows(), qint64(rows.size()));
    QCOMPARE((QSet<QByteArray> {subscriber.received()[0].payload, subscriber.received()[1].payload}),
        (QSet<QByteArray> {expected.value(u"ok-a"_s), expected.value(u"ok-b"_s)}));
    QCOMPARE(rig.publisher().status().state, PublisherState::Publishing);

    // Lift the restriction (mosquitto rereads its config on SIGHUP): the refused meter's next
    // attempt succeeds and its waiting rows go out; the others' rows are not sent again.
    QFile configFile(QDir(broker.directory()).filePath(u"mosquitto.conf"_s));
    QVERIFY(configFile.open(QIODevice::ReadOnly));
    QByteArray configText = configFile.readAll();
    configFile.close();
    QVERIFY(configText.contains("clientid_prefixes dlmsbridge-ok\n"));
    configText.replace("clientid_prefixes dlmsbridge-ok\n", "");
    QVERIFY(configFile.open(QIODevice::WriteOnly | QIODevice::Truncate));
    QCOMPARE(configFile.write(configText), configText.size());
    configFile.close();
    QCOMPARE(::kill(pid_t(broker.pid()), SIGHUP), 0);
    QTRY_COMPARE_WITH_TIMEOUT(subscriber.received().size(), std::size_t(3), kWaitMs);
    QCOMPARE(subscriber.received().back().payload, expected.value(u"zz"_s));
    QVERIFY2(rig.waitOutboxRows(0), rig.describe().constData());
    QCOMPARE(rig.outboxLevelRows(), 0);
    QTRY_COMPARE_WITH_TIMEOUT(rig.acks.size(), std::size_t(3), kWaitMs);
    const mqtt::PublisherStatus status = rig.publisher().status();
    QCOMPARE(status.rowsAcknowledged, quint64(rows.size()));
    QCOMPARE(status.rowsResent, quint64(0));
    QCOMPARE(status.publishFailures, quint64(0));
    QCOMPARE(status.reconnects, quint64(0)); // the others stayed connected throughout
    QCOMPARE(subscriber.received().size(), std::size_t(3));
    QCOMPARE(rig.storage().status().outboxAcknowledgedRows, quint64(rows.size()));
}

void tst_OutboxPublisher::brokerKilledMidStream()
{
    BrokerConfig config;
    config.persistence = true;
    MosquittoBroker broker(config);
    QVERIFY2(broker.start(), qPrintable(broker.errorString()));
    Subscriber subscriber(broker.port(),
        {QByteArray("v1/gateway/telemetry"), QByteArray("v1/gateway/connect")}, u"tst-outbox-kill-sub"_s,
        false);
    QVERIFY(subscriber.waitReady());

    Rig rig;
    QVERIFY(rig.startStorage());
    const std::vector<MeterDevice> meters {
        {u"m1"_s, u"M1"_s, {}, {}, {}}, {u"m2"_s, u"M2"_s, {}, {}, {}}, {u"m3"_s, u"M3"_s, {}, {}, {}}};
    PublisherOptions options = publisherOptions(rig.path(), broker.port(), Mode::Gateway);
    options.format.maxPayloadBytes = 300;
    options.maxInflightMessages = 16;
    QVERIFY(rig.startPublisher(options, meters));

    constexpr int kTotal = 450;
    int written = 0;
    QTimer writer;
    writer.setInterval(5);
    QObject::connect(&writer, &QTimer::timeout, &writer, [&] {
        const int meter = written % 3;
        rig.storage().writeReadings(
            batch(meters[std::size_t(meter)].id, kBaseTs + (written / 3) * 1000, 4, written));
        if (++written == kTotal)
            writer.stop();
    });
    writer.start();

    QTRY_VERIFY_WITH_TIMEOUT(written >= 150 && rig.acks.size() >= 20, kWaitMs);
    broker.kill();
    const int atKill = written;
    QTRY_VERIFY_WITH_TIMEOUT(written >= atKill + 100, kWaitMs); // the outbox grows meanwhile
    QTRY_VERIFY_WITH_TIMEOUT(
        rig.sawState(PublisherState::Connecting) || rig.sawState(PublisherState::Failing), kWaitMs);
    QVERIFY2(broker.restart(), qPrintable(broker.errorString()));
    QTRY_COMPARE_WITH_TIMEOUT(written, kTotal, kWaitMs);
    rig.storage().flush();
    QTRY_COMPARE_WITH_TIMEOUT(rig.storage().status().outboxRowsWritten, quint64(kTotal), kWaitMs);
    QVERIFY2(rig.waitOutboxRows(0), rig.describe().constData());

    QHash<QString, int> points;
    QTRY_VERIFY_WITH_TIMEOUT(
        [&] {
            points.clear();
            collectGatewayPoints(subscriber.received(), points);
            return points.size() == kTotal;
        }(),
        kWaitMs);
    for (int i = 0; i < kTotal; ++i) {
        const QString key
            = meters[std::size_t(i % 3)].name + u'@' + QString::number(kBaseTs + (i / 3) * 1000);
        QVERIFY2(points.value(key) >= 1, qPrintable(key));
    }
    int duplicates = 0;
    for (const int count : std::as_const(points))
        duplicates += count - 1;

    const mqtt::PublisherStatus status = rig.publisher().status();
    qInfo("broker killed with %d batches written: %d duplicate points at the subscriber, %llu messages "
          "abandoned, %llu rows resent, %llu reconnects",
        atKill, duplicates, status.publishFailures, status.rowsResent, status.reconnects);
    QVERIFY(status.reconnects >= 1);
    // Every meter had rows waiting after the restart: announced again on the new connection.
    QHash<QByteArray, int> connects;
    for (const Received &r : subscriber.received()) {
        if (r.topic == "v1/gateway/connect")
            ++connects[r.payload];
    }
    for (const MeterDevice &m : meters)
        QVERIFY(connects.value(mqtt::gatewayConnectPayload(m.name, u"DLMS meter"_s)) >= 2);
    QCOMPARE(status.rowsAcknowledged, quint64(kTotal)); // each row acknowledged once, never twice
    QCOMPARE(rig.storage().status().outboxAcknowledgedRows, quint64(kTotal));
    QVERIFY(status.rowsResent == 0 || status.publishFailures > 0); // only abandoned rows are resent
    QVERIFY(quint64(rig.failed.size()) >= status.publishFailures); // once per meter per message
    QCOMPARE(status.state, PublisherState::Publishing);
}

void tst_OutboxPublisher::applicationRestartDrains()
{
    const quint16 port = testsupport::detail::freeLoopbackPort();
    QVERIFY(port != 0);
    Rig rig;
    QVERIFY(rig.startStorage());
    PublisherOptions options = publisherOptions(rig.path(), port, Mode::Gateway);
    options.format.maxPayloadBytes = 2000;
    const std::vector<MeterDevice> meters {{u"m1"_s, u"M1"_s, {}, {}, {}}, {u"m2"_s, u"M2"_s, {}, {}, {}}};
    QVERIFY(rig.startPublisher(options, meters));
    constexpr int kTotal = 300;
    std::vector<ReadingsBatch> batches;
    for (int i = 0; i < kTotal; ++i)
        batches.push_back(batch(meters[std::size_t(i % 2)].id, kBaseTs + (i / 2) * 1000, 6, i));
    QVERIFY(rig.write(batches)); // nobody listens on the port: nothing leaves
    QTRY_VERIFY_WITH_TIMEOUT(rig.sawState(PublisherState::Failing), kWaitMs);
    QCOMPARE(rig.publisher().status().messagesAcknowledged, quint64(0));
    rig.stopPublisher();
    rig.stopStorage();

    MosquittoBroker broker;
    QVERIFY2(broker.start(port), qPrintable(broker.errorString()));
    Subscriber subscriber(broker.port(), {QByteArray("v1/gateway/telemetry")});
    QVERIFY(subscriber.waitReady());
    QVERIFY(rig.startStorage());
    QTRY_COMPARE_WITH_TIMEOUT(
        rig.storage().status().outbox.rows, qint64(kTotal), kWaitMs); // counted from the file
    QVERIFY(rig.startPublisher(options, meters));

    QVERIFY2(rig.waitOutboxRows(0), rig.describe().constData());
    QCOMPARE(rig.outboxLevelRows(), 0);
    QHash<QString, int> points;
    QTRY_VERIFY_WITH_TIMEOUT(
        [&] {
            points.clear();
            collectGatewayPoints(subscriber.received(), points);
            return points.size() == kTotal;
        }(),
        kWaitMs);
    for (int i = 0; i < kTotal; ++i) {
        const QString key
            = meters[std::size_t(i % 2)].name + u'@' + QString::number(kBaseTs + (i / 2) * 1000);
        QCOMPARE(points.value(key), 1); // exactly once: nothing was ever sent before
    }
    QCOMPARE(rig.publisher().status().rowsAcknowledged, quint64(kTotal));
}

void tst_OutboxPublisher::wrongCredentialsFail_data()
{
    QTest::addColumn<QString>("username");
    QTest::addColumn<QString>("password");
    QTest::newRow("wrong-password") << u"gateway"_s << u"Wrong-Pass-4711"_s;
    QTest::newRow("unknown-user") << u"intruder-user"_s << u"Secret-Pass-0815"_s;
    QTest::newRow("no-credentials") << QString() << QString();
}

void tst_OutboxPublisher::wrongCredentialsFail()
{
    QFETCH(QString, username);
    QFETCH(QString, password);
    BrokerConfig config;
    config.users = {{u"gateway"_s, u"Secret-Pass-0815"_s}};
    MosquittoBroker broker(config);
    QVERIFY2(broker.start(), qPrintable(broker.errorString()));

    Rig rig;
    QVERIFY(rig.startStorage());
    std::vector<ReadingsBatch> batches;
    for (int i = 0; i < 5; ++i)
        batches.push_back(batch(u"m1"_s, kBaseTs + i * 1000, 3, i));
    QVERIFY(rig.write(batches));
    PublisherOptions options = publisherOptions(rig.path(), broker.port(), Mode::Gateway);
    options.client.username = username;
    options.client.password = password;
    QVERIFY(rig.startPublisher(options));

    QTRY_VERIFY_WITH_TIMEOUT(rig.sawState(PublisherState::Failing), kWaitMs);
    QString message;
    for (const auto &[state, text] : rig.states) {
        QVERIFY(!text.contains(u"Secret-Pass"_s));
        QVERIFY(!text.contains(u"Wrong-Pass"_s));
        if (state == PublisherState::Failing)
            message = text;
    }
    QVERIFY2(message.contains(u"authori"_s, Qt::CaseInsensitive), qPrintable(message));
    QVERIFY2(message.contains(u"127.0.0.1:"_s + QString::number(broker.port())), qPrintable(message));
    QCOMPARE(rig.publisher().status().state, PublisherState::Failing);
    QCOMPARE(rig.publisher().status().message, message);
    QCOMPARE(rig.publisher().status().messagesAcknowledged, quint64(0));
    QVERIFY(rig.acks.empty());
    rig.storage().flush();
    QCOMPARE(rig.outboxLevelRows(), qint64(batches.size()));
    QCOMPARE(rig.storage().status().outboxAcknowledgedRows, quint64(0));
}

void tst_OutboxPublisher::rateCapSpreadsMessages()
{
    MosquittoBroker broker;
    QVERIFY2(broker.start(), qPrintable(broker.errorString()));
    Subscriber subscriber(broker.port(), {QByteArray("meters/#")});
    QVERIFY(subscriber.waitReady());

    Rig rig;
    QVERIFY(rig.startStorage());
    constexpr int kMessages = 40;
    constexpr double kRate = 20;
    std::vector<ReadingsBatch> batches;
    for (int i = 0; i < kMessages; ++i)
        batches.push_back(batch(u"m1"_s, kBaseTs + i * 1000, 2, i));
    QVERIFY(rig.write(batches));
    PublisherOptions options = publisherOptions(rig.path(), broker.port(), Mode::Plain);
    options.maxMessagesPerSecond = kRate;

    QElapsedTimer clock;
    clock.start();
    const qint64 offset = subscriber.clock().elapsed(); // subscriber times → times since start()
    QVERIFY(rig.startPublisher(options));
    QTRY_COMPARE_WITH_TIMEOUT(subscriber.received().size(), std::size_t(kMessages), kWaitMs);
    const qint64 elapsed = clock.elapsed();
    QVERIFY2(elapsed >= 1500, qPrintable(QString::number(elapsed)));
    // Whatever the load, by time t no more than a second's burst plus rate × t can have gone out.
    for (std::size_t i = 0; i < subscriber.received().size(); ++i) {
        const double t = double(subscriber.received()[i].elapsedMs - offset) / 1000.0;
        QVERIFY2(double(i + 1) <= kRate + kRate * t, qPrintable(u"message %1 at %2 s"_s.arg(i + 1).arg(t)));
    }
    QTRY_COMPARE_WITH_TIMEOUT(rig.acks.size(), std::size_t(kMessages), kWaitMs);
    QVERIFY2(rig.waitOutboxRows(0), rig.describe().constData());
}

void tst_OutboxPublisher::outboxStatusReported()
{
    const quint16 port = testsupport::detail::freeLoopbackPort();
    QVERIFY(port != 0);
    Rig rig;
    QVERIFY(rig.startStorage());
    PublisherOptions options = publisherOptions(rig.path(), port, Mode::Plain);
    options.maxMessagesPerSecond = 40; // a drain of a second or two, with an ETA along the way
    QVERIFY(rig.startPublisher(options));
    constexpr int kRows = 60;
    std::vector<ReadingsBatch> batches;
    for (int i = 0; i < kRows; ++i)
        batches.push_back(batch(u"m1"_s, kBaseTs + i * 1000, 2, i));
    QVERIFY(rig.write(batches));

    QTRY_VERIFY_WITH_TIMEOUT(
        !rig.outboxStatuses.empty() && rig.outboxStatuses.back().messages == kRows, kWaitMs);
    QCOMPARE(rig.outboxStatuses.back().etaMs, qint64(-1)); // no broker: unknown
    QVERIFY(rig.outboxStatuses.back().bytes > 0);
    QVERIFY(rig.outboxStatuses.back().oldestMs > 0);
    QCOMPARE(rig.publisher().status().outbox, rig.outboxStatuses.back());

    MosquittoBroker broker;
    QVERIFY2(broker.start(port), qPrintable(broker.errorString()));
    QTRY_VERIFY_WITH_TIMEOUT(rig.outboxStatuses.back().messages == 0, kWaitMs);
    QCOMPARE(rig.outboxStatuses.back().etaMs, qint64(0));
    QCOMPARE(rig.outboxStatuses.back().bytes, qint64(0));
    QCOMPARE(rig.outboxStatuses.back().oldestMs, qint64(0));

    bool sawEta = false;
    for (std::size_t i = 0; i < rig.outboxStatuses.size(); ++i) {
        const monitor::OutboxStatus &s = rig.outboxStatuses[i];
        if (i > 0)
            QVERIFY(!(s == rig.outboxStatuses[i - 1])); // emitted only on a change
        if (s.messages > 0 && s.etaMs > 0) {
            sawEta = true;
            // One row per message: the cap bounds the rate, so the ETA is never below rows / cap.
            QVERIFY2(double(s.etaMs) >= double(s.messages) / options.maxMessagesPerSecond * 1000.0 - 1,
                qPrintable(u"%1 rows, eta %2 ms"_s.arg(s.messages).arg(s.etaMs)));
        }
    }
    QVERIFY(sawEta);
}

void tst_OutboxPublisher::refusedMessagesStayInOutbox()
{
    MosquittoBroker broker;
    QVERIFY2(broker.start(), qPrintable(broker.errorString()));
    Rig rig;
    QVERIFY(rig.startStorage());
    std::vector<ReadingsBatch> batches;
    for (int i = 0; i < 3; ++i)
        batches.push_back(batch(u"m1"_s, kBaseTs + i * 1000, 2, i));
    QVERIFY(rig.write(batches));
    PublisherOptions options = publisherOptions(rig.path(), broker.port(), Mode::Plain);
    // An MQTT topic holds at most 65,535 bytes: libmosquitto refuses every message.
    options.format.topicTemplate = QString(70'000, u'x') + u"/{id}"_s;
    QVERIFY(rig.startPublisher(options));

    QTRY_COMPARE_WITH_TIMEOUT(rig.publisher().status().publishFailures, quint64(batches.size()), kWaitMs);
    QCOMPARE(rig.failed, (QStringList {u"m1"_s, u"m1"_s, u"m1"_s}));
    QCOMPARE(rig.publisher().status().state, PublisherState::Publishing);
    QVERIFY(rig.acks.empty());
    rig.storage().flush();
    QCOMPARE(rig.outboxLevelRows(), qint64(batches.size()));
    QCOMPARE(rig.storage().status().outboxAcknowledgedRows, quint64(0));
    // A new row is refused in turn; the earlier ones wait for the next connection.
    QVERIFY(rig.write({batch(u"m1"_s, kBaseTs + 10'000, 2, 10)}));
    QTRY_COMPARE_WITH_TIMEOUT(rig.publisher().status().publishFailures, quint64(batches.size() + 1), kWaitMs);
    QCOMPARE(rig.failed.size(), qsizetype(batches.size() + 1));
    QCOMPARE(rig.outboxLevelRows(), qint64(batches.size() + 1));
}

void tst_OutboxPublisher::brokerRefusedMessagesFreeTheirSlot()
{
    // MQTT 5: the broker's ACL denies meter "denied"'s topic, so each of its messages comes back
    // in a PUBACK with "not authorized". With a window of one message, meter "ok"'s messages
    // behind them flow only if every refusal frees its slot.
    QTemporaryDir aclDir;
    QVERIFY(aclDir.isValid());
    const QString acl = aclDir.filePath(u"acl"_s);
    QString error;
    QVERIFY2(testsupport::detail::writeFile(
                 acl, "topic readwrite meters/ok/#\ntopic readwrite test/probe/#\n", &error),
        qPrintable(error));
    BrokerConfig config;
    config.extraConfig = u"acl_file %1"_s.arg(acl);
    MosquittoBroker broker(config);
    QVERIFY2(broker.start(), qPrintable(broker.errorString()));
    Subscriber subscriber(broker.port(), {QByteArray("meters/#")});
    QVERIFY(subscriber.waitReady());

    Rig rig;
    QVERIFY(rig.startStorage());
    constexpr int kRows = 3;
    std::vector<ReadingsBatch> batches;
    for (int i = 0; i < kRows; ++i)
        batches.push_back(batch(u"denied"_s, kBaseTs + i * 1000, 2, i));
    for (int i = 0; i < kRows; ++i)
        batches.push_back(batch(u"ok"_s, kBaseTs + i * 1000, 2, 10 + i));
    QVERIFY(rig.write(batches));
    PublisherOptions options = publisherOptions(rig.path(), broker.port(), Mode::Plain);
    options.client.version = mqtt::ProtocolVersion::V5;
    options.format.topicTemplate = u"meters/{id}"_s;
    options.maxInflightMessages = 1;
    QVERIFY(rig.startPublisher(options));

    QTRY_COMPARE_WITH_TIMEOUT(subscriber.received().size(), std::size_t(kRows), kWaitMs);
    for (const Received &r : subscriber.received())
        QCOMPARE(r.topic, QByteArray("meters/ok"));
    QTRY_COMPARE_WITH_TIMEOUT(rig.publisher().status().rowsAcknowledged, quint64(kRows), kWaitMs);
    QVERIFY2(rig.waitOutboxRows(kRows), rig.describe().constData());
    for (const OutboxRow &row : rig.outboxRows())
        QCOMPARE(row.meterId, u"denied"_s); // the refused rows wait in the outbox
    mqtt::PublisherStatus status = rig.publisher().status();
    QCOMPARE(status.publishFailures, quint64(kRows));
    QCOMPARE(rig.failed, (QStringList {u"denied"_s, u"denied"_s, u"denied"_s}));
    QCOMPARE(status.state, PublisherState::Publishing); // a refusal does not cost the link
    QCOMPARE(status.reconnects, quint64(0));

    // The broker comes back allowing the topic: the next connection sends the refused rows.
    broker.kill();
    QVERIFY2(testsupport::detail::writeFile(
                 acl, "topic readwrite meters/#\ntopic readwrite test/probe/#\n", &error),
        qPrintable(error));
    QVERIFY2(broker.restart(), qPrintable(broker.errorString()));
    QVERIFY2(rig.waitOutboxRows(0), rig.describe().constData());
    status = rig.publisher().status();
    QCOMPARE(status.rowsAcknowledged, quint64(2 * kRows)); // the allowed ones were not sent again
    QCOMPARE(status.publishFailures, quint64(kRows));
    QVERIFY(status.reconnects >= 1);
    QCOMPARE(rig.storage().status().outboxAcknowledgedRows, quint64(2 * kRows));
}

void tst_OutboxPublisher::invalidOptionsRefused_data()
{
    QTest::addColumn<int>("mode");
    QTest::addColumn<QString>("host");
    QTest::addColumn<QString>("username");
    QTest::addColumn<QString>("topicTemplate");
    QTest::addColumn<double>("rate");
    QTest::newRow("gateway-no-host") << int(Mode::Gateway) << QString() << QString() << u"x/{id}"_s << 0.0;
    QTest::newRow("device-with-username")
        << int(Mode::Device) << u"127.0.0.1"_s << u"gateway-token"_s << u"x/{id}"_s << 0.0;
    QTest::newRow("plain-template-without-placeholder")
        << int(Mode::Plain) << u"127.0.0.1"_s << QString() << u"meters/all"_s << 0.0;
    QTest::newRow("negative-rate") << int(Mode::Gateway) << u"127.0.0.1"_s << QString() << u"x/{id}"_s
                                   << -1.0;
}

void tst_OutboxPublisher::invalidOptionsRefused()
{
    QFETCH(int, mode);
    QFETCH(QString, host);
    QFETCH(QString, username);
    QFETCH(QString, topicTemplate);
    QFETCH(double, rate);
    Rig rig;
    QVERIFY(rig.startStorage());
    PublisherOptions options = publisherOptions(rig.path(), 1883, Mode(mode));
    options.client.host = host;
    options.client.username = username;
    options.format.topicTemplate = topicTemplate;
    options.maxMessagesPerSecond = rate;
    OutboxPublisher publisher(options, &rig.storage());
    QSignalSpy states(&publisher, &OutboxPublisher::stateChanged);
    const auto started = publisher.start();
    QVERIFY(!started.ok());
    QVERIFY(!started.error().message.isEmpty());
    QVERIFY(!started.error().message.contains(u"gateway-token"_s));
    QCOMPARE(publisher.status().state, PublisherState::Stopped);
    QCOMPARE(states.count(), 0);
}

QTEST_GUILESS_MAIN(tst_OutboxPublisher)
#include "tst_outboxpublisher.moc"
