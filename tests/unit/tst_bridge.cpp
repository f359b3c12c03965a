#include "bridge.h"
#include "mosquittobroker.h"
#include "mqttclient.h"
#include "reader.h"
#include "simulator.h"

#include <pollscheduler.h>
#include <storage.h>
#include <trafficmonitor.h>

#include <QtCore/QDateTime>
#include <QtCore/QDir>
#include <QtCore/QFile>
#include <QtCore/QFileInfo>
#include <QtCore/QHash>
#include <QtCore/QJsonArray>
#include <QtCore/QJsonDocument>
#include <QtCore/QJsonObject>
#include <QtCore/QMutex>
#include <QtCore/QScopeGuard>
#include <QtCore/QSet>
#include <QtCore/QTemporaryDir>
#include <QtNetwork/QNetworkAccessManager>
#include <QtNetwork/QNetworkReply>
#include <QtNetwork/QNetworkRequest>
#include <QtNetwork/QTcpServer>
#include <QtSql/QSqlQuery>
#include <QtTest/QSignalSpy>
#include <QtTest/QTest>

#include <limits>
#include <memory>
#include <utility>
#include <vector>

using namespace Qt::StringLiterals;
using app::Bridge;
using app::BridgeConfig;
using app::BridgeState;
using app::ConfigChanges;
using polling::MeterConfig;
using polling::MeterState;
using testsupport::MosquittoBroker;

namespace {

// Generous bounds for things that take milliseconds: only a hang reaches them.
constexpr int kWaitMs = 15'000;
constexpr qint64 kForever = std::numeric_limits<qint64>::max();

// Every message logged while a test runs, from any thread.
struct Captured {
    QMutex mutex;
    QStringList lines;
    QtMessageHandler previous = nullptr;
};

Captured &captured()
{
    static Captured capture;
    return capture;
}

void captureMessage(QtMsgType type, const QMessageLogContext &context, const QString &message)
{
    Captured &capture = captured();
    {
        QMutexLocker lock(&capture.mutex);
        capture.lines.append(
            QString::fromLatin1(context.category ? context.category : "default") + u": "_s + message);
    }
    // The bridge's routine lines would drown the test output; warnings still show.
    if (type != QtInfoMsg && type != QtDebugMsg && capture.previous)
        capture.previous(type, context, message);
}

QStringList capturedLines()
{
    QMutexLocker lock(&captured().mutex);
    return captured().lines;
}

bool logged(QStringView text)
{
    const QStringList lines = capturedLines();
    return std::any_of(lines.begin(), lines.end(), [&](const QString &line) { return line.contains(text); });
}

// Interface counters that grow by a fixed amount per read: rates without /proc.
class FakeInterfaces final : public monitor::InterfaceCounterSource {
public:
    dlms::Result<std::vector<monitor::InterfaceCounters>> read() override
    {
        ++m_reads;
        monitor::InterfaceCounters eth;
        eth.name = u"eth0"_s;
        eth.rxBytes = m_reads * 10'000;
        eth.txBytes = m_reads * 5'000;
        eth.rxPackets = m_reads * 10;
        eth.txPackets = m_reads * 5;
        return std::vector<monitor::InterfaceCounters> {eth};
    }
    QString description() const override { return u"fake"_s; }

private:
    quint64 m_reads = 0;
};

polling::PollItem item(const QString &key, const dlms::Obis &obis, quint16 classId = 3)
{
    polling::PollItem i;
    i.key = key;
    i.obis = obis;
    i.classId = classId;
    return i;
}

std::vector<polling::PollItem> standardItems()
{
    return {item(u"voltage_l1"_s, dlms::Obis(1, 0, 32, 7, 0, 255)),
        item(u"energy_import"_s, dlms::Obis(1, 0, 1, 8, 0, 255)),
        item(u"frequency"_s, dlms::Obis(1, 0, 14, 7, 0, 255))};
}

QString meterId(int i)
{
    return u"m%1"_s.arg(i);
}

QString meterName(int i)
{
    return u"Feeder "_s + meterId(i);
}

// Timeouts of seconds, so a stalled test process (ASan, a loaded machine) never looks like a
// meter failure; short backoff and breaker so faults show quickly.
MeterConfig meterConfig(int i, quint16 port, int intervalMs = 100)
{
    MeterConfig c;
    c.id = meterId(i);
    c.name = meterName(i);
    c.host = u"127.0.0.1"_s;
    c.port = port;
    c.pollIntervalMs = intervalMs;
    c.items = standardItems();
    c.connectTimeoutMs = 5000;
    c.requestTimeoutMs = 5000;
    c.retries = 0;
    c.backoff = {100, 250, 2.0, 0.1};
    c.breaker = {2, 1000};
    return c;
}

Bridge::Options bridgeOptions()
{
    Bridge::Options options;
    options.interfaceSource = [] { return std::make_unique<FakeInterfaces>(); };
    options.stopTimeoutMs = 1000;
    return options;
}

// A subscriber on the test broker. After its SUBSCRIBEs it sends itself a probe: once the
// probe is back the subscriptions are active.
class Subscriber {
public:
    Subscriber(quint16 port, QList<QByteArray> filters)
        : m_filters(std::move(filters)), m_probeTopic("test/probe/" + QByteArray::number(quintptr(this), 16))
    {
        mqtt::ClientOptions o;
        o.host = u"127.0.0.1"_s;
        o.port = port;
        o.reconnectMinMs = 50;
        o.reconnectMaxMs = 200;
        m_client = std::make_unique<mqtt::MqttClient>(o);
        QObject::connect(m_client.get(), &mqtt::MqttClient::connected, m_client.get(), [this] {
            for (const QByteArray &filter : std::as_const(m_filters))
                m_client->subscribe(filter, 1);
            m_client->subscribe(m_probeTopic, 1);
            m_client->publish(m_probeTopic, "probe", 1);
        });
        QObject::connect(m_client.get(), &mqtt::MqttClient::messageReceived, m_client.get(),
            [this](const QByteArray &topic, const QByteArray &payload) {
                if (topic == m_probeTopic)
                    ++m_probes;
                else
                    m_messages.push_back({topic, payload});
            });
        m_client->connectToHost();
    }

    bool waitReady()
    {
        return QTest::qWaitFor([&] { return m_probes > 0; }, kWaitMs);
    }

    // Gateway telemetry: every (device name, ts) pair published.
    QSet<std::pair<QString, qint64>> gatewayPairs() const
    {
        QSet<std::pair<QString, qint64>> pairs;
        for (const auto &[topic, payload] : m_messages) {
            if (topic != "v1/gateway/telemetry")
                continue;
            const QJsonObject object = QJsonDocument::fromJson(payload).object();
            for (auto it = object.begin(); it != object.end(); ++it) {
                for (const QJsonValue &row : it.value().toArray())
                    pairs.insert({it.key(), row.toObject().value(u"ts"_s).toInteger()});
            }
        }
        return pairs;
    }
    QStringList connectedDevices() const { return devicesOn("v1/gateway/connect"); }
    // The "device" of every message on a gateway control topic (connect, disconnect).
    QStringList devicesOn(const QByteArray &controlTopic) const
    {
        QStringList names;
        for (const auto &[topic, payload] : m_messages) {
            if (topic == controlTopic)
                names << QJsonDocument::fromJson(payload).object().value(u"device"_s).toString();
        }
        return names;
    }
    // Gateway messages (telemetry, attributes, connect, disconnect): how many carried each device.
    QHash<QString, quint64> gatewayMessagesPerDevice() const
    {
        QHash<QString, quint64> counts;
        for (const auto &[topic, payload] : m_messages) {
            if (!topic.startsWith("v1/gateway/"))
                continue;
            const QJsonObject object = QJsonDocument::fromJson(payload).object();
            if (topic == "v1/gateway/connect" || topic == "v1/gateway/disconnect") {
                ++counts[object.value(u"device"_s).toString()];
                continue;
            }
            for (auto it = object.begin(); it != object.end(); ++it)
                ++counts[it.key()];
        }
        return counts;
    }
    int gatewayMessages() const
    {
        return int(std::count_if(m_messages.begin(), m_messages.end(),
            [](const std::pair<QByteArray, QByteArray> &m) { return m.first.startsWith("v1/gateway/"); }));
    }
    int count(const QByteArray &topic) const
    {
        return int(std::count_if(m_messages.begin(), m_messages.end(),
            [&](const std::pair<QByteArray, QByteArray> &m) { return m.first == topic; }));
    }
    QByteArray last(const QByteArray &topic) const
    {
        for (auto it = m_messages.rbegin(); it != m_messages.rend(); ++it)
            if (it->first == topic)
                return it->second;
        return {};
    }

private:
    QList<QByteArray> m_filters;
    QByteArray m_probeTopic;
    int m_probes = 0;
    std::vector<std::pair<QByteArray, QByteArray>> m_messages;
    std::unique_ptr<mqtt::MqttClient> m_client; // last: destroyed first, before what its lambdas use
};

// Simulated meters, a database in a temporary directory and a configuration pointing at them.
class Rig {
public:
    explicit Rig(
        quint16 brokerPort, int meters = 3, int simMeters = 3, const sim::MeterSettings &settings = {})
    {
        sim::SimulatorConfig simConfig;
        simConfig.basePort = 0;
        simConfig.meters = simMeters;
        simConfig.meter = settings;
        simConfig.meter.profileRows = 10;
        simulator = std::make_unique<sim::Simulator>(simConfig);
        simulatorStarted = simulator->start().ok();

        config.site.workers = 2;
        for (int i = 0; i < meters && simulatorStarted; ++i)
            config.site.meters.push_back(meterConfig(i, simulator->port(i)));
        config.mqtt.enabled = true;
        config.mqtt.format.mode = mqtt::Mode::Gateway;
        config.mqtt.client.host = u"127.0.0.1"_s;
        config.mqtt.client.port = brokerPort;
        config.mqtt.client.reconnectMinMs = 50;
        config.mqtt.client.reconnectMaxMs = 200;
        config.mqtt.maxMessagesPerSecond = 0;
        config.storage.path = dir.filePath(u"bridge.db"_s);
        config.http.enabled = false;
        config.http.port = 0;
        config.monitor.interfaceName = u"eth0"_s;
        config.monitor.rollupSeconds = 1;
    }

    QString path() const { return config.storage.path; }

    QTemporaryDir dir;
    std::unique_ptr<sim::Simulator> simulator;
    bool simulatorStarted = false;
    BridgeConfig config;
};

// QVERIFY2 evaluates its message even when the check passes.
template<typename T> QString why(const dlms::Result<T> &result)
{
    return result.ok() ? QString() : result.error().message;
}

quint64 batchesOf(const Bridge &bridge, const QString &id)
{
    const auto status = bridge.meter(id);
    return status ? status->batches : 0;
}

bool failingState(MeterState state)
{
    return state == MeterState::BackingOff || state == MeterState::CircuitOpen;
}

QSet<std::pair<QString, qint64>> storedPairs(const QString &path)
{
    QSet<std::pair<QString, qint64>> pairs;
    auto reader = storage::Reader::open(path);
    if (!reader)
        return pairs;
    auto cursor = reader->readings({}, 0, kForever);
    if (!cursor)
        return pairs;
    storage::StoredReading row;
    while (cursor->next(row))
        pairs.insert({row.meterId, row.timestampMs});
    return pairs;
}

qint64 outboxRows(const QString &path)
{
    auto reader = storage::Reader::open(path);
    if (!reader)
        return -1;
    const auto level = reader->outboxLevel();
    return level ? level->rows : -1;
}

// meters table: id → removed_ms (0 while not removed).
QHash<QString, qint64> meterRows(const QString &path)
{
    QHash<QString, qint64> rows;
    auto reader = storage::Reader::open(path);
    if (!reader)
        return rows;
    QSqlQuery query(reader->database());
    if (!query.exec(u"SELECT id, COALESCE(removed_ms, 0) FROM meters"_s))
        return rows;
    while (query.next())
        rows.insert(query.value(0).toString(), query.value(1).toLongLong());
    return rows;
}

QStringList eventTexts(const QString &path)
{
    QStringList texts;
    auto reader = storage::Reader::open(path);
    if (!reader)
        return texts;
    QSqlQuery query(reader->database());
    if (!query.exec(u"SELECT COALESCE(meter_id, ''), kind, state, message FROM events"_s))
        return texts;
    while (query.next()) {
        texts << u"%1 %2 %3 %4"_s.arg(query.value(0).toString(), query.value(1).toString(),
            query.value(2).toString(), query.value(3).toString());
    }
    return texts;
}

std::vector<storage::OutboxRow> outboxContent(const QString &path)
{
    auto reader = storage::Reader::open(path);
    if (!reader)
        return {};
    auto rows = reader->outboxRows(0, 100'000, kForever);
    return rows ? *rows : std::vector<storage::OutboxRow> {};
}

quint64 totalBatches(const Bridge &bridge)
{
    quint64 batches = 0;
    for (const app::MeterStatus &status : bridge.meters())
        batches += status.batches;
    return batches;
}

// A loopback port nothing listens on: a broker that is down.
quint16 deadPort()
{
    QTcpServer server;
    if (!server.listen(QHostAddress::LocalHost, 0))
        return 0;
    const quint16 port = server.serverPort();
    server.close();
    return port;
}

QStringList ids(const QList<app::MeterStatus> &meters)
{
    QStringList list;
    for (const app::MeterStatus &m : meters)
        list << m.id;
    return list;
}

} // namespace

class TestBridge : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void init();
    void cleanupTestCase();

    void startStoresAndPublishes();
    void finalRollupHasEverything();
    void metersChangeWhileRunning();
    void reloadReportsChanges_data();
    void reloadReportsChanges();
    void reloadWhileStopped();
    void mqttReloadMovesTopic();
    void brokerDownThenUp();
    void startFailures_data();
    void startFailures();
    void httpPortInUse();
    void faultyMeter_data();
    void faultyMeter();
    void noSecretsInLogs();
    void defaultDatabaseDirectory();
    void abortDropsWithoutWaiting_data();
    void abortDropsWithoutWaiting();
    void reloadWhileStopping();
    void mqttReloadFails_data();
    void mqttReloadFails();
    void outboxFollowsMqttEnabled_data();
    void outboxFollowsMqttEnabled();
    void stopLeavesWhatCannotBePublished();
    void stopIncompleteOnFullDisk();
    void reloadDisconnectsRemovedMeters();

private:
    MosquittoBroker m_broker;
};

void TestBridge::initTestCase()
{
    captured().previous = qInstallMessageHandler(captureMessage);
    QVERIFY2(m_broker.start(), qPrintable(m_broker.errorString()));
}

void TestBridge::init()
{
    QMutexLocker lock(&captured().mutex);
    captured().lines.clear();
}

void TestBridge::cleanupTestCase()
{
    qInstallMessageHandler(captured().previous);
}

void TestBridge::startStoresAndPublishes()
{
    Rig rig(m_broker.port());
    QVERIFY(rig.simulatorStarted);
    Subscriber subscriber(m_broker.port(), {"v1/gateway/#"});
    QVERIFY(subscriber.waitReady());

    Bridge bridge(bridgeOptions());
    QSignalSpy states(&bridge, &Bridge::stateChanged);
    const auto started = bridge.start(rig.config);
    QVERIFY2(started.ok(), qPrintable(why(started)));
    QCOMPARE(bridge.state(), BridgeState::Running);
    QCOMPARE(states.size(), 1);
    QVERIFY(bridge.scheduler() && bridge.monitor() && bridge.storage());
    QCOMPARE(bridge.httpPort(), quint16(0));
    QVERIFY(logged(
        u"bridge: running: 3 meters, mqtt gateway 127.0.0.1:%1, http off, database %2"_s.arg(m_broker.port())
            .arg(rig.path())));

    for (int i = 0; i < 3; ++i)
        QTRY_VERIFY_WITH_TIMEOUT(batchesOf(bridge, meterId(i)) >= 3, kWaitMs);
    // Readings are in the database while running, and published.
    QTRY_VERIFY_WITH_TIMEOUT(storedPairs(rig.path()).size() >= 3, kWaitMs);
    QTRY_VERIFY_WITH_TIMEOUT(subscriber.gatewayPairs().size() >= 3, kWaitMs);
    QTRY_COMPARE_WITH_TIMEOUT(bridge.health().mqtt.state, mqtt::PublisherState::Publishing, kWaitMs);
    const app::BridgeHealth health = bridge.health();
    QCOMPARE(health.meters, 3);
    QCOMPARE(health.metersFailing, 0);
    QVERIFY2(health.problems.isEmpty(), qPrintable(health.problems.join(u"; "_s)));

    QSignalSpy stopped(&bridge, &Bridge::stopped);
    QVERIFY(!bridge.lastStopComplete()); // no stop yet
    QVERIFY(bridge.stopAndWait());
    QCOMPARE(stopped.size(), 1);
    QCOMPARE(bridge.state(), BridgeState::Stopped);
    QVERIFY(bridge.lastStopComplete());
    QVERIFY(!bridge.scheduler() && !bridge.monitor() && !bridge.storage());
    QVERIFY(logged(u"bridge: stopping"_s));
    QVERIFY(logged(u"bridge: stopped ("_s));

    // Everything stored was published (the stop drains the outbox while the broker is there).
    QCOMPARE(outboxRows(rig.path()), qint64(0));
    const QSet<std::pair<QString, qint64>> stored = storedPairs(rig.path());
    quint64 batches = 0;
    for (const app::MeterStatus &status : bridge.meters()) {
        batches += status.batches;
        QCOMPARE(status.state, MeterState::Disconnected);
    }
    QCOMPARE(quint64(stored.size()), batches);
    QHash<QString, QString> idOfName;
    for (int i = 0; i < 3; ++i)
        idOfName.insert(meterName(i), meterId(i));
    auto published = [&] {
        QSet<std::pair<QString, qint64>> pairs;
        for (const auto &[name, ts] : subscriber.gatewayPairs())
            pairs.insert({idOfName.value(name, name), ts});
        return pairs;
    };
    QTRY_COMPARE_WITH_TIMEOUT(published(), stored, kWaitMs);

    auto reader = storage::Reader::open(rig.path());
    QVERIFY(reader);
    for (const QString &id : {meterId(0), meterId(1), meterId(2), QString(monitor::SystemMeterId)}) {
        const auto rows = reader->metrics(id, 0, kForever);
        QVERIFY(rows);
        QVERIFY2(!rows->empty(), qPrintable(id));
    }
    const auto meterIds = reader->meterIds();
    QVERIFY(meterIds);
    QCOMPARE(*meterIds, (QStringList {meterId(0), meterId(1), meterId(2)}));

    // It starts again on the same database.
    QVERIFY(bridge.start(rig.config).ok());
    QTRY_VERIFY_WITH_TIMEOUT(batchesOf(bridge, meterId(0)) >= 1, kWaitMs);
    QVERIFY(bridge.stopAndWait());
    QCOMPARE(outboxRows(rig.path()), qint64(0));
}

void TestBridge::finalRollupHasEverything()
{
    Rig rig(m_broker.port());
    QVERIFY(rig.simulatorStarted);
    // One period for the whole run: every network_metrics row comes from the flush on stop.
    rig.config.monitor.rollupSeconds = 3600;
    // Publishing lags polling: the drain on stop has messages to send, acknowledged after
    // polling stopped.
    rig.config.mqtt.maxMessagesPerSecond = 10;
    Bridge::Options options = bridgeOptions();
    // A clock a year ahead: the monitor, the storage and the meter states use it.
    constexpr qint64 kYearMs = 365LL * 24 * 3600 * 1000;
    options.clock = [] { return QDateTime::currentMSecsSinceEpoch() + kYearMs; };
    Subscriber subscriber(m_broker.port(), {"v1/gateway/#"});
    QVERIFY(subscriber.waitReady());
    Bridge bridge(options);
    QVERIFY(bridge.start(rig.config).ok());
    for (int i = 0; i < 3; ++i)
        QTRY_VERIFY_WITH_TIMEOUT(batchesOf(bridge, meterId(i)) >= 3, kWaitMs);
    QTRY_VERIFY_WITH_TIMEOUT(subscriber.count("v1/gateway/telemetry") > 0, kWaitMs);
    QVERIFY(bridge.meter(meterId(0))->stateSinceMs > QDateTime::currentMSecsSinceEpoch() + kYearMs / 2);
    QVERIFY(bridge.stopAndWait());
    // The drain published everything: every message was acknowledged before the publisher went.
    QCOMPARE(outboxRows(rig.path()), qint64(0));

    // The flush came after the scheduler's last traffic deltas: every completed poll is counted.
    auto reader = storage::Reader::open(rig.path());
    QVERIFY(reader);
    quint64 completed = 0;
    for (const app::MeterStatus &status : bridge.meters()) {
        const auto rows = reader->metrics(status.id, 0, kForever);
        QVERIFY(rows);
        QCOMPARE(rows->size(), size_t(1));
        QCOMPARE(rows->front().pollsCompleted, status.batches);
        QVERIFY(rows->front().timestampMs > QDateTime::currentMSecsSinceEpoch() + kYearMs / 2);
        completed += status.batches;
    }
    const auto system = reader->metrics(QString(monitor::SystemMeterId), 0, kForever);
    QVERIFY(system);
    QCOMPARE(system->size(), size_t(1));
    QCOMPARE(system->front().pollsCompleted, completed);
    QVERIFY(system->front().bandwidthRxBps > 0); // the fake interface's counters

    // The flush came after the drain's last acknowledgements: the messages the subscriber got
    // are the ones counted, per meter and in total.
    QTRY_COMPARE_WITH_TIMEOUT(
        quint64(subscriber.gatewayMessages()), system->front().mqttMessagesSent, kWaitMs);
    QVERIFY(subscriber.count("v1/gateway/telemetry") > 0);
    const QHash<QString, quint64> carried = subscriber.gatewayMessagesPerDevice();
    for (int i = 0; i < 3; ++i) {
        const auto rows = reader->metrics(meterId(i), 0, kForever);
        QVERIFY(rows && rows->size() == 1);
        QCOMPARE(rows->front().mqttMessagesSent, carried.value(meterName(i)));
    }
}

void TestBridge::metersChangeWhileRunning()
{
    Rig rig(m_broker.port(), 2);
    QVERIFY(rig.simulatorStarted);
    Subscriber subscriber(m_broker.port(), {"v1/gateway/#"});
    QVERIFY(subscriber.waitReady());
    Bridge bridge(bridgeOptions());
    QVERIFY(bridge.start(rig.config).ok());
    QTRY_VERIFY_WITH_TIMEOUT(
        batchesOf(bridge, meterId(0)) >= 1 && batchesOf(bridge, meterId(1)) >= 1, kWaitMs);

    // Add m2, fewer items on m0, a new name for m1.
    BridgeConfig next = bridge.config();
    next.site.meters.push_back(meterConfig(2, rig.simulator->port(2)));
    next.site.meters[0].items = {item(u"voltage_l1"_s, dlms::Obis(1, 0, 32, 7, 0, 255))};
    next.site.meters[1].name = u"Renamed m1"_s;
    QSignalSpy readings(&bridge, &Bridge::readingsReady);
    const auto applied = bridge.applyConfig(next);
    QVERIFY2(applied.ok(), qPrintable(why(applied)));
    QCOMPARE(applied->metersAdded, QStringList {meterId(2)});
    QCOMPARE(applied->metersUpdated, (QStringList {meterId(0), meterId(1)}));
    QCOMPARE(applied->metersRemoved, QStringList {});
    QVERIFY(!applied->mqttRestarted);
    QVERIFY(applied->needsRestart.isEmpty());
    QCOMPARE(applied->summary(), u"meters +1 -0 ~2"_s);

    QTRY_VERIFY_WITH_TIMEOUT(batchesOf(bridge, meterId(2)) >= 1, kWaitMs);
    QCOMPARE(bridge.meter(meterId(1))->name, u"Renamed m1"_s);
    QTRY_VERIFY_WITH_TIMEOUT(subscriber.connectedDevices().contains(u"Renamed m1"_s), kWaitMs);
    QTRY_VERIFY_WITH_TIMEOUT(
        [&] {
            for (const auto &pair : subscriber.gatewayPairs())
                if (pair.first == u"Renamed m1"_s)
                    return true;
            return false;
        }(),
        kWaitMs);
    auto oneItemBatch = [&] {
        for (const QList<QVariant> &args : std::as_const(readings)) {
            const auto batch = args.at(0).value<polling::ReadingsBatch>();
            if (batch.meterId == meterId(0) && batch.readings.size() == 1)
                return true;
        }
        return false;
    };
    QTRY_VERIFY_WITH_TIMEOUT(oneItemBatch(), kWaitMs);
    QTRY_COMPARE_WITH_TIMEOUT(meterRows(rig.path()).size(), qsizetype(3), kWaitMs);

    // Remove m1: its readings stop, its row is marked removed.
    next = bridge.config();
    next.site.meters.erase(next.site.meters.begin() + 1);
    const auto removed = bridge.applyConfig(next);
    QVERIFY(removed.ok());
    QCOMPARE(removed->metersRemoved, QStringList {meterId(1)});
    QVERIFY(removed->metersAdded.isEmpty() && removed->metersUpdated.isEmpty());
    QVERIFY(!bridge.meter(meterId(1)));
    QCOMPARE(ids(bridge.meters()), (QStringList {meterId(0), meterId(2)}));
    readings.clear();
    const quint64 m0 = batchesOf(bridge, meterId(0));
    const quint64 m2 = batchesOf(bridge, meterId(2));
    QTRY_VERIFY_WITH_TIMEOUT(
        batchesOf(bridge, meterId(0)) >= m0 + 2 && batchesOf(bridge, meterId(2)) >= m2 + 2, kWaitMs);
    for (const QList<QVariant> &args : std::as_const(readings))
        QVERIFY(args.at(0).value<polling::ReadingsBatch>().meterId != meterId(1));
    QTRY_VERIFY_WITH_TIMEOUT(meterRows(rig.path()).value(meterId(1)) > 0, kWaitMs);
    QCOMPARE(meterRows(rig.path()).value(meterId(0)), qint64(0));

    // The same through the meter methods.
    MeterConfig again = meterConfig(1, rig.simulator->port(1));
    QVERIFY(bridge.addMeter(again).ok());
    QVERIFY(!bridge.addMeter(again).ok());
    QTRY_VERIFY_WITH_TIMEOUT(batchesOf(bridge, meterId(1)) >= 1, kWaitMs);
    QTRY_COMPARE_WITH_TIMEOUT(meterRows(rig.path()).value(meterId(1)), qint64(0), kWaitMs);
    again.pollIntervalMs = 300;
    QVERIFY(bridge.updateMeter(again).ok());
    QCOMPARE(bridge.config().findMeter(meterId(1))->pollIntervalMs, 300);
    MeterConfig unknown = meterConfig(7, rig.simulator->port(0));
    QVERIFY(!bridge.updateMeter(unknown).ok());
    MeterConfig invalid = again;
    invalid.pollIntervalMs = 0;
    QVERIFY(!bridge.updateMeter(invalid).ok());
    QVERIFY(bridge.setPaused(meterId(1), true));
    QVERIFY(bridge.meter(meterId(1))->paused);
    QTRY_COMPARE_WITH_TIMEOUT(bridge.meter(meterId(1))->state, MeterState::Paused, kWaitMs);
    QVERIFY(bridge.removeMeter(meterId(1)));
    QVERIFY(!bridge.removeMeter(u"nope"_s));
    QCOMPARE(ids(bridge.meters()), (QStringList {meterId(0), meterId(2)}));
    QVERIFY(bridge.stopAndWait());
}

void TestBridge::reloadReportsChanges_data()
{
    QTest::addColumn<QString>("change");
    QTest::addColumn<QString>("summary");
    QTest::addColumn<QStringList>("needsRestart");

    QTest::newRow("nothing") << u"nothing"_s << u"no changes"_s << QStringList {};
    QTest::newRow("storage-path") << u"storage-path"_s << u"needs a restart: storage.path"_s
                                  << QStringList {u"storage.path"_s};
    QTest::newRow("retention") << u"retention"_s << u"needs a restart: storage.readings_retention_days"_s
                               << QStringList {u"storage.readings_retention_days"_s};
    QTest::newRow("rollup") << u"rollup"_s << u"needs a restart: monitor.rollup_s"_s
                            << QStringList {u"monitor.rollup_s"_s};
    QTest::newRow("workers") << u"workers"_s << u"needs a restart: polling.workers"_s
                             << QStringList {u"polling.workers"_s};
    QTest::newRow("interface") << u"interface"_s << u"sampler restarted"_s << QStringList {};
    QTest::newRow("mqtt-disabled") << u"mqtt-disabled"_s << u"mqtt restarted"_s << QStringList {};
    QTest::newRow("mqtt-keepalive") << u"mqtt-keepalive"_s << u"mqtt restarted"_s << QStringList {};
    QTest::newRow("meter-token") << u"meter-token"_s << u"meters +0 -0 ~1"_s << QStringList {};
    QTest::newRow("http-enabled") << u"http-enabled"_s << u"http restarted"_s << QStringList {};
}

void TestBridge::reloadReportsChanges()
{
    QFETCH(QString, change);
    QFETCH(QString, summary);
    QFETCH(QStringList, needsRestart);

    Rig rig(m_broker.port(), 2);
    QVERIFY(rig.simulatorStarted);
    Bridge::Options options = bridgeOptions();
    options.workers = -1; // the configuration's
    Bridge bridge(options);
    QVERIFY(bridge.start(rig.config).ok());
    QSignalSpy samplerErrors(&bridge, &Bridge::samplerError);

    BridgeConfig next = rig.config;
    if (change == u"storage-path")
        next.storage.path = rig.dir.filePath(u"other.db"_s);
    else if (change == u"retention")
        next.storage.readingsRetentionDays = 7;
    else if (change == u"rollup")
        next.monitor.rollupSeconds = 5;
    else if (change == u"workers")
        next.site.workers = 3;
    else if (change == u"interface")
        next.monitor.interfaceName = u"eth9"_s;
    else if (change == u"mqtt-disabled")
        next.mqtt.enabled = false;
    else if (change == u"mqtt-keepalive")
        next.mqtt.client.keepAliveS = 10;
    else if (change == u"meter-token")
        next.publishing.insert(meterId(1), app::MeterPublishing {u"token"_s, {}, {}});
    else if (change == u"http-enabled")
        next.http.enabled = true;

    const auto applied = bridge.applyConfig(next);
    QVERIFY2(applied.ok(), qPrintable(why(applied)));
    QCOMPARE(applied->summary(), summary);
    QCOMPARE(applied->isEmpty(), change == u"nothing");
    QCOMPARE(applied->needsRestart, needsRestart);
    QCOMPARE(applied->workersChanged, change == u"workers");
    QCOMPARE(applied->samplerRestarted, change == u"interface");
    QCOMPARE(applied->mqttRestarted, change.startsWith(u"mqtt"));
    QCOMPARE(applied->httpRestarted, change == u"http-enabled");
    QVERIFY(logged(QString(u"bridge: reloaded: "_s + summary)));

    // Settings that need a restart keep the value in force; the rest is the new one.
    QCOMPARE(bridge.config().storage, rig.config.storage);
    QCOMPARE(bridge.config().monitor.rollupSeconds, rig.config.monitor.rollupSeconds);
    QCOMPARE(bridge.config().site.workers, rig.config.site.workers);
    QCOMPARE(bridge.config().mqtt == next.mqtt, true);
    QCOMPARE(bridge.config().monitor.interfaceName, next.monitor.interfaceName);
    QCOMPARE(bridge.config().publishing, next.publishing);
    QCOMPARE(bridge.health().mqttEnabled, next.mqtt.enabled);
    QCOMPARE(bridge.httpPort() != 0, change == u"http-enabled");
    if (change == u"interface") {
        // The fake source has eth0 only: the new sampler reports the missing interface once.
        QTRY_COMPARE_WITH_TIMEOUT(samplerErrors.size(), 1, kWaitMs);
        QVERIFY(samplerErrors.at(0).at(0).toString().contains(u"eth9"_s));
    }
    if (change.startsWith(u"mqtt"))
        QCOMPARE(bridge.health().mqtt.state == mqtt::PublisherState::Stopped, change == u"mqtt-disabled");

    // Still polling and storing after the reload.
    const quint64 before = batchesOf(bridge, meterId(0));
    QTRY_VERIFY_WITH_TIMEOUT(batchesOf(bridge, meterId(0)) > before, kWaitMs);
    QVERIFY(bridge.stopAndWait());
}

void TestBridge::reloadWhileStopped()
{
    Rig rig(m_broker.port(), 2);
    QVERIFY(rig.simulatorStarted);
    Bridge bridge(bridgeOptions());
    QVERIFY(bridge.applyConfig(rig.config).ok());
    QCOMPARE(ids(bridge.meters()), (QStringList {meterId(0), meterId(1)}));

    BridgeConfig next = rig.config;
    next.site.meters.erase(next.site.meters.begin());
    next.storage.path = rig.dir.filePath(u"other.db"_s);
    const auto applied = bridge.applyConfig(next);
    QVERIFY(applied.ok());
    QCOMPARE(applied->metersRemoved, QStringList {meterId(0)});
    // Nothing runs: nothing needs a restart, the configuration is replaced as a whole.
    QVERIFY(applied->needsRestart.isEmpty());
    QCOMPARE(bridge.config().storage.path, next.storage.path);
    QCOMPARE(bridge.state(), BridgeState::Stopped);
    QCOMPARE(bridge.meter(meterId(1))->state, MeterState::Disconnected);
    QVERIFY(bridge.addMeter(meterConfig(2, rig.simulator->port(2))).ok());
    QCOMPARE(ids(bridge.meters()), (QStringList {meterId(1), meterId(2)}));
    QVERIFY(!bridge.setPaused(meterId(1), true));
    QVERIFY(bridge.health().problems.contains(u"bridge: stopped"_s));

    // The meters edited before start are the ones polled.
    QVERIFY(bridge.start(bridge.config()).ok());
    QTRY_VERIFY_WITH_TIMEOUT(batchesOf(bridge, meterId(2)) >= 1, kWaitMs);
    QVERIFY(bridge.stopAndWait());
}

void TestBridge::mqttReloadMovesTopic()
{
    Rig rig(m_broker.port(), 2);
    QVERIFY(rig.simulatorStarted);
    Subscriber subscriber(m_broker.port(), {"v1/gateway/#", "plain/#"});
    QVERIFY(subscriber.waitReady());
    Bridge bridge(bridgeOptions());
    QVERIFY(bridge.start(rig.config).ok());
    QTRY_VERIFY_WITH_TIMEOUT(subscriber.count("v1/gateway/telemetry") > 0, kWaitMs);

    BridgeConfig next = bridge.config();
    next.mqtt.format.mode = mqtt::Mode::Plain;
    next.mqtt.format.topicTemplate = u"plain/{id}/telemetry"_s;
    const auto applied = bridge.applyConfig(next);
    QVERIFY2(applied.ok(), qPrintable(why(applied)));
    QVERIFY(applied->mqttRestarted);
    QCOMPARE(applied->summary(), u"mqtt restarted"_s);
    QTRY_VERIFY_WITH_TIMEOUT(subscriber.count("plain/m0/telemetry") > 0, kWaitMs);
    QTRY_VERIFY_WITH_TIMEOUT(subscriber.count("plain/m1/telemetry") > 0, kWaitMs);
    const QJsonObject row = QJsonDocument::fromJson(subscriber.last("plain/m0/telemetry")).object();
    QVERIFY(row.value(u"ts"_s).toInteger() > 0);
    QVERIFY(row.value(u"values"_s).toObject().contains(u"voltage_l1"_s));

    // The same configuration again changes nothing.
    const auto again = bridge.applyConfig(bridge.config());
    QVERIFY(again.ok());
    QVERIFY(again->isEmpty());
    QCOMPARE(again->summary(), u"no changes"_s);
    QVERIFY(bridge.stopAndWait());
    QCOMPARE(outboxRows(rig.path()), qint64(0));
}

void TestBridge::brokerDownThenUp()
{
    MosquittoBroker broker;
    QVERIFY2(broker.start(), qPrintable(broker.errorString()));
    broker.stop();

    Rig rig(broker.port());
    QVERIFY(rig.simulatorStarted);
    Bridge bridge(bridgeOptions());
    QVERIFY(bridge.start(rig.config).ok());
    // Readings are stored, the outbox grows and health says why.
    QTRY_VERIFY_WITH_TIMEOUT(bridge.storage()->status().outbox.rows >= 6, kWaitMs);
    QVERIFY(bridge.storage()->status().readingsWritten > 0);
    auto mqttProblem = [&] {
        const QStringList problems = bridge.health().problems;
        return std::any_of(
            problems.begin(), problems.end(), [](const QString &p) { return p.startsWith(u"mqtt: "_s); });
    };
    QTRY_VERIFY_WITH_TIMEOUT(mqttProblem(), kWaitMs);
    QCOMPARE(bridge.health().mqtt.state, mqtt::PublisherState::Failing);

    QVERIFY2(broker.restart(), qPrintable(broker.errorString()));
    QTRY_COMPARE_WITH_TIMEOUT(bridge.health().mqtt.state, mqtt::PublisherState::Publishing, kWaitMs);
    QVERIFY(!mqttProblem());
    // No new rows while paused: the backlog drains to nothing, every row acknowledged (a row
    // leaves the outbox on its PUBACK, or dropped by the bounds: none here).
    for (int i = 0; i < 3; ++i)
        QVERIFY(bridge.setPaused(meterId(i), true));
    QTRY_COMPARE_WITH_TIMEOUT(bridge.storage()->status().outbox.rows, qint64(0), kWaitMs);
    QCOMPARE(bridge.storage()->status().outboxDroppedRows, quint64(0));
    QVERIFY(bridge.health().mqtt.rowsAcknowledged >= quint64(storedPairs(rig.path()).size()));
    QVERIFY(bridge.health().problems.isEmpty());
    QVERIFY(bridge.stopAndWait());
}

void TestBridge::startFailures_data()
{
    QTest::addColumn<QString>("fault");
    QTest::addColumn<QString>("prefix");

    QTest::newRow("storage-unwritable") << u"storage"_s << u"storage: "_s;
    QTest::newRow("meter-invalid") << u"meter"_s << u"meters[1] (id m1): "_s;
    QTest::newRow("meter-duplicate") << u"duplicate"_s << u"meters[1] (id m0): "_s;
    QTest::newRow("mqtt-invalid") << u"mqtt"_s << u"mqtt: "_s;
}

void TestBridge::startFailures()
{
    QFETCH(QString, fault);
    QFETCH(QString, prefix);

    Rig rig(m_broker.port(), 2);
    QVERIFY(rig.simulatorStarted);
    BridgeConfig broken = rig.config;
    if (fault == u"storage")
        broken.storage.path = u"/proc/dlmsbridge-no-such-dir/bridge.db"_s;
    else if (fault == u"meter")
        broken.site.meters[1].pollIntervalMs = 0;
    else if (fault == u"duplicate")
        broken.site.meters[1].id = meterId(0);
    else if (fault == u"mqtt")
        broken.mqtt.format = {mqtt::Mode::Plain, u"one/topic"_s, 65536, u"DLMS meter"_s};

    Bridge bridge(bridgeOptions());
    QSignalSpy states(&bridge, &Bridge::stateChanged);
    const auto started = bridge.start(broken);
    QVERIFY(!started.ok());
    QVERIFY2(started.error().message.startsWith(prefix), qPrintable(why(started)));
    QVERIFY(logged(u"bridge: cannot start: "_s));
    QCOMPARE(bridge.state(), BridgeState::Stopped);
    QCOMPARE(states.size(), 0);
    QVERIFY(!bridge.scheduler() && !bridge.monitor() && !bridge.storage());
    QCOMPARE(rig.simulator->connectionCount(), 0);
    QVERIFY(bridge.stopAndWait());

    // The good configuration starts on the same bridge.
    QVERIFY(bridge.start(rig.config).ok());
    QTRY_VERIFY_WITH_TIMEOUT(batchesOf(bridge, meterId(0)) >= 1, kWaitMs);
    QVERIFY(bridge.stopAndWait());
}

void TestBridge::httpPortInUse()
{
    QTcpServer squatter;
    QVERIFY(squatter.listen(QHostAddress::LocalHost, 0));
    Rig rig(m_broker.port(), 2);
    QVERIFY(rig.simulatorStarted);
    rig.config.http.enabled = true;
    rig.config.http.port = squatter.serverPort();

    Bridge bridge(bridgeOptions());
    const auto started = bridge.start(rig.config);
    QVERIFY(!started.ok());
    QVERIFY2(started.error().message.startsWith(u"http: "_s), qPrintable(why(started)));
    QCOMPARE(bridge.state(), BridgeState::Stopped);
    QVERIFY(!bridge.scheduler() && !bridge.monitor() && !bridge.storage());
    QCOMPARE(bridge.httpPort(), quint16(0));
    QCOMPARE(rig.simulator->connectionCount(), 0);

    // A free port: it runs.
    rig.config.http.port = 0;
    QVERIFY(bridge.start(rig.config).ok());
    QVERIFY(bridge.httpPort() != 0);
    QVERIFY(bridge.httpPort() != squatter.serverPort());

    // A reload onto the busy port fails and keeps the API where it was.
    const quint16 port = bridge.httpPort();
    BridgeConfig next = bridge.config();
    next.http.port = squatter.serverPort();
    const auto applied = bridge.applyConfig(next);
    QVERIFY(!applied.ok());
    QVERIFY2(applied.error().message.startsWith(u"http: "_s), qPrintable(why(applied)));
    QCOMPARE(bridge.httpPort(), port);
    QCOMPARE(bridge.config().http.port, quint16(0));
    QVERIFY(bridge.stopAndWait());
    QCOMPARE(bridge.httpPort(), quint16(0));
}

void TestBridge::faultyMeter_data()
{
    QTest::addColumn<sim::FaultConfig>("faults");

    sim::FaultConfig reject;
    reject.rejectAssociation = true;
    QTest::newRow("reject-association") << reject;
    sim::FaultConfig silent;
    silent.silent = true;
    QTest::newRow("silent") << silent;
}

void TestBridge::faultyMeter()
{
    QFETCH(sim::FaultConfig, faults);

    Rig rig(m_broker.port());
    QVERIFY(rig.simulatorStarted);
    rig.simulator->setFaults(1, faults);
    rig.config.site.meters[1].connectTimeoutMs = 400;
    rig.config.site.meters[1].requestTimeoutMs = 250;
    Bridge bridge(bridgeOptions());
    QVERIFY(bridge.start(rig.config).ok());

    QTRY_VERIFY_WITH_TIMEOUT(failingState(bridge.meter(meterId(1))->state), kWaitMs);
    QVERIFY(!bridge.meter(meterId(1))->reason.isEmpty());
    QVERIFY(bridge.meter(meterId(1))->stateSinceMs > 0);
    QTRY_VERIFY_WITH_TIMEOUT(
        batchesOf(bridge, meterId(0)) >= 2 && batchesOf(bridge, meterId(2)) >= 2, kWaitMs);
    QCOMPARE(batchesOf(bridge, meterId(1)), quint64(0));
    QTRY_VERIFY_WITH_TIMEOUT(
        [&] {
            const app::BridgeHealth health = bridge.health();
            return health.metersFailing == 1 && health.meters == 3
                && health.problems.contains(u"1 of 3 meters failing: m1"_s);
        }(),
        kWaitMs);
    QVERIFY(logged(u"meter m1: "_s));
    QVERIFY(bridge.stopAndWait());

    // The trouble is in the events table.
    const QStringList events = eventTexts(rig.path());
    QVERIFY(std::any_of(events.begin(), events.end(), [](const QString &e) {
        return e.startsWith(u"m1 state backing-off"_s) || e.startsWith(u"m1 state circuit-open"_s);
    }));
    QVERIFY(std::none_of(events.begin(), events.end(), [](const QString &e) {
        return e.startsWith(u"m0 state backing-off"_s) || e.startsWith(u"m2 state backing-off"_s);
    }));
}

void TestBridge::noSecretsInLogs()
{
    const QByteArray meterSecret = QByteArrayLiteral("Zx9LlsSecretPw");
    const QByteArray wrongSecret = QByteArrayLiteral("Qw8WrongSecretPw");
    sim::MeterSettings settings;
    settings.password = meterSecret;
    Rig rig(m_broker.port(), 3, 3, settings);
    QVERIFY(rig.simulatorStarted);
    rig.config.site.meters[0].authentication = dlms::Authentication::Low;
    rig.config.site.meters[0].password = meterSecret;
    rig.config.site.meters[1].authentication = dlms::Authentication::Low;
    rig.config.site.meters[1].password = wrongSecret;
    rig.config.mqtt.client.username = u"TbGatewaySecretToken"_s;
    rig.config.http.enabled = true;
    rig.config.http.token = QByteArrayLiteral("HttpApiSecretToken");

    Bridge bridge(bridgeOptions());
    const auto started = bridge.start(rig.config);
    QVERIFY2(started.ok(), qPrintable(why(started)));
    QTRY_VERIFY_WITH_TIMEOUT(batchesOf(bridge, meterId(0)) >= 1, kWaitMs);
    QTRY_VERIFY_WITH_TIMEOUT(failingState(bridge.meter(meterId(1))->state), kWaitMs);
    QTRY_COMPARE_WITH_TIMEOUT(bridge.health().mqtt.state, mqtt::PublisherState::Publishing, kWaitMs);

    BridgeConfig next = bridge.config();
    next.mqtt.client.username = u"TbGatewaySecretToken2"_s;
    next.site.meters[2].authentication = dlms::Authentication::Low;
    next.site.meters[2].password = meterSecret;
    const auto applied = bridge.applyConfig(next);
    QVERIFY(applied.ok());
    QVERIFY(applied->mqttRestarted);
    QTRY_VERIFY_WITH_TIMEOUT(logged(u"mqtt: publishing"_s), kWaitMs);
    // The API answers with the token, and its answers carry no secret either.
    QNetworkAccessManager network;
    QNetworkRequest request(QUrl(u"http://127.0.0.1:%1/meters"_s.arg(bridge.httpPort())));
    request.setRawHeader("Authorization", "Bearer HttpApiSecretToken");
    std::unique_ptr<QNetworkReply> reply(network.get(request));
    QTRY_VERIFY_WITH_TIMEOUT(reply->isFinished(), kWaitMs);
    QCOMPARE(reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt(), 200);
    const QString body = QString::fromUtf8(reply->readAll());
    QVERIFY(body.contains(meterId(1)));
    const QString reason = bridge.meter(meterId(1))->reason;
    const QStringList problems = bridge.health().problems;
    QVERIFY(bridge.stopAndWait());

    QStringList texts = capturedLines();
    QVERIFY(logged(u"bridge: running"_s));
    QVERIFY(logged(u"meter m1: "_s));
    QVERIFY(logged(u"bridge: reloaded"_s));
    texts << reason << problems << eventTexts(rig.path()) << body;
    for (const QString &secret : {QString::fromLatin1(meterSecret), QString::fromLatin1(wrongSecret),
             u"TbGatewaySecretToken"_s, u"HttpApiSecretToken"_s}) {
        for (const QString &text : std::as_const(texts))
            QVERIFY2(!text.contains(secret), qPrintable(text));
    }
}

void TestBridge::defaultDatabaseDirectory()
{
    QTemporaryDir xdg; // empty: the dlmsbridge directory under it does not exist yet
    QVERIFY(xdg.isValid());
    const QByteArray previous = qgetenv("XDG_DATA_HOME");
    const bool hadPrevious = qEnvironmentVariableIsSet("XDG_DATA_HOME");
    qputenv("XDG_DATA_HOME", QFile::encodeName(xdg.path()));
    const auto restore = qScopeGuard([&] {
        if (hadPrevious)
            qputenv("XDG_DATA_HOME", previous);
        else
            qunsetenv("XDG_DATA_HOME");
    });
    // A configuration without storage.path.
    const auto parsed = app::parseBridgeConfig(
        QJsonObject {{u"http"_s, QJsonObject {{u"enabled"_s, false}}}}, u"site.json"_s, xdg.path());
    QVERIFY2(parsed.ok(), qPrintable(why(parsed)));
    const QString path = parsed->storage.path;
    QCOMPARE(path, app::defaultDatabasePath());
    QVERIFY2(path.startsWith(xdg.path() + u'/'), qPrintable(path));
    const QString directory = QFileInfo(path).absolutePath();
    QVERIFY(!QFileInfo::exists(directory));

    Rig rig(m_broker.port(), 1, 1);
    QVERIFY(rig.simulatorStarted);
    rig.config.storage = parsed->storage;
    rig.config.mqtt.enabled = false;
    Bridge bridge(bridgeOptions());
    const auto started = bridge.start(rig.config);
    QVERIFY2(started.ok(), qPrintable(why(started)));
    QVERIFY(QFileInfo(directory).isDir());
    const QFileDevice::Permissions permissions = QFileInfo(directory).permissions();
    const QFileDevice::Permissions owner
        = QFileDevice::ReadOwner | QFileDevice::WriteOwner | QFileDevice::ExeOwner;
    QCOMPARE(permissions & owner, owner);
    QCOMPARE(permissions
            & (QFileDevice::ReadGroup | QFileDevice::WriteGroup | QFileDevice::ExeGroup
                | QFileDevice::ReadOther | QFileDevice::WriteOther | QFileDevice::ExeOther),
        QFileDevice::Permissions());
    QTRY_VERIFY_WITH_TIMEOUT(batchesOf(bridge, meterId(0)) >= 1, kWaitMs);
    QVERIFY(bridge.stopAndWait());
    QCOMPARE(quint64(storedPairs(path).size()), batchesOf(bridge, meterId(0)));
}

void TestBridge::abortDropsWithoutWaiting_data()
{
    QTest::addColumn<QString>("when");

    QTest::newRow("running") << u"running"_s;
    QTest::newRow("stopping") << u"stopping"_s;
    QTest::newRow("destructor") << u"destructor"_s;
}

void TestBridge::abortDropsWithoutWaiting()
{
    QFETCH(QString, when);

    Rig rig(deadPort(), 2, 2); // MQTT down: every row stays in the outbox
    QVERIFY(rig.simulatorStarted);
    Bridge::Options options = bridgeOptions();
    options.stopTimeoutMs = 120'000; // a release would wait for the silent meters that long
    auto bridge = std::make_unique<Bridge>(options);
    QVERIFY(bridge->start(rig.config).ok());
    QTRY_VERIFY_WITH_TIMEOUT(
        batchesOf(*bridge, meterId(0)) >= 2 && batchesOf(*bridge, meterId(1)) >= 2, kWaitMs);
    sim::FaultConfig silent;
    silent.silent = true;
    rig.simulator->setFaults(0, silent);
    rig.simulator->setFaults(1, silent);
    QSignalSpy stopped(bridge.get(), &Bridge::stopped);

    quint64 batches = 0;
    if (when == u"destructor") {
        bridge->stop();
        batches = totalBatches(*bridge);
        bridge.reset();
        QVERIFY(logged(u"bridge: aborting the stop"_s));
        // A batch may still have come between the count and the destruction.
        QVERIFY(quint64(storedPairs(rig.path()).size()) >= batches);
    } else {
        if (when == u"stopping") {
            bridge->stop();
            QCOMPARE(bridge->state(), BridgeState::Stopping);
            QCoreApplication::processEvents();
        }
        bridge->abort();
        QCOMPARE(bridge->state(), BridgeState::Stopped);
        QCOMPARE(stopped.size(), 1);
        QVERIFY(!bridge->scheduler() && !bridge->monitor() && !bridge->storage());
        // A stop cut short did not complete; from Running nothing made was lost.
        QCOMPARE(bridge->lastStopComplete(), when == u"running");
        bridge->abort(); // no-op now
        QCoreApplication::processEvents();
        QCOMPARE(stopped.size(), 1);
        batches = totalBatches(*bridge);
        QCOMPARE(quint64(storedPairs(rig.path()).size()), batches);
    }
    QVERIFY(batches >= 4);
    QCOMPARE(outboxRows(rig.path()), qint64(storedPairs(rig.path()).size()));
    QVERIFY(logged(u"bridge: stopped ("_s));
}

void TestBridge::reloadWhileStopping()
{
    Rig rig(m_broker.port(), 2, 3);
    QVERIFY(rig.simulatorStarted);
    Bridge bridge(bridgeOptions());
    QVERIFY(bridge.start(rig.config).ok());
    QTRY_VERIFY_WITH_TIMEOUT(batchesOf(bridge, meterId(0)) >= 1, kWaitMs);

    QSignalSpy stopped(&bridge, &Bridge::stopped);
    QSignalSpy opened(rig.simulator.get(), &sim::Simulator::connectionOpened);
    bridge.stop();
    QCOMPARE(bridge.state(), BridgeState::Stopping);
    BridgeConfig next = bridge.config();
    next.site.meters.push_back(meterConfig(2, rig.simulator->port(2)));
    next.http.enabled = true;
    const auto applied = bridge.applyConfig(next);
    QVERIFY(!applied.ok());
    QCOMPARE(applied.error().message, u"bridge: stopping; apply the configuration after it stopped"_s);
    // No part started: no HTTP API, no new meter.
    QCOMPARE(bridge.httpPort(), quint16(0));
    QCOMPARE(ids(bridge.meters()), (QStringList {meterId(0), meterId(1)}));
    QVERIFY(!bridge.config().http.enabled);
    QVERIFY(stopped.wait(kWaitMs));
    QCOMPARE(bridge.state(), BridgeState::Stopped);
    for (const QList<QVariant> &args : std::as_const(opened))
        QVERIFY(args.at(0).toInt() != 2);
}

void TestBridge::mqttReloadFails_data()
{
    QTest::addColumn<QString>("fault");
    QTest::addColumn<QString>("message");
    QTest::addColumn<bool>("mqttOn");

    // Caught before the running publisher is retired: it never stops.
    QTest::newRow("tls-ca-deleted") << u"tls"_s
                                    << u"mqtt: cannot read TLS file %1; kept the previous MQTT settings; "
                                       "meters and http applied"_s
                                    << true;
    // The new publisher refuses to start: the previous settings start again.
    QTest::newRow("template-invalid")
        << u"template"_s
        << u"mqtt: MQTT publisher: the topic template needs {id} or {name}; kept the previous MQTT "
           "settings; meters and http applied"_s
        << true;
    // Neither starts (the database cannot be opened for reading): MQTT off, and said so.
    QTest::newRow("both-fail") << u"database"_s << u": MQTT is off; meters and http applied"_s << false;
}

void TestBridge::mqttReloadFails()
{
    QFETCH(QString, fault);
    QFETCH(QString, message);
    QFETCH(bool, mqttOn);

    Rig rig(m_broker.port(), 2, 3);
    QVERIFY(rig.simulatorStarted);
    Bridge bridge(bridgeOptions());
    QVERIFY(bridge.start(rig.config).ok());
    QTRY_COMPARE_WITH_TIMEOUT(bridge.health().mqtt.state, mqtt::PublisherState::Publishing, kWaitMs);

    // Valid when parsed; broken by the time it is applied.
    BridgeConfig next = bridge.config();
    next.site.meters.push_back(meterConfig(2, rig.simulator->port(2)));
    next.http.enabled = true;
    const QString moved = rig.path() + u".moved"_s;
    if (fault == u"tls") {
        const QString ca = rig.dir.filePath(u"ca.pem"_s);
        QFile file(ca);
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.close();
        next.mqtt.client.tls.enabled = true;
        next.mqtt.client.tls.caFile = ca;
        QVERIFY(QFile::remove(ca));
        message = message.arg(ca);
    } else if (fault == u"template") {
        next.mqtt.format = {mqtt::Mode::Plain, u"one/topic"_s, 65536, u"DLMS meter"_s};
    } else {
        next.mqtt.client.keepAliveS = 10;
        // The writer keeps its open file; a new reader finds none.
        QVERIFY(QFile::rename(rig.path(), moved));
    }
    const auto applied = bridge.applyConfig(next);
    if (fault == u"database")
        QVERIFY(QFile::rename(moved, rig.path()));
    QVERIFY(!applied.ok());
    QVERIFY2(applied.error().message.startsWith(u"mqtt: "_s), qPrintable(why(applied)));
    QVERIFY2(applied.error().message.endsWith(message), qPrintable(why(applied)));
    QVERIFY(logged(QString(u"bridge: reload failed: "_s + applied.error().message)));

    // The rest applied.
    QVERIFY(bridge.httpPort() != 0);
    QVERIFY(bridge.config().http.enabled);
    QTRY_VERIFY_WITH_TIMEOUT(batchesOf(bridge, meterId(2)) >= 1, kWaitMs);
    // MQTT as the configuration in force says.
    QCOMPARE(bridge.config().mqtt.enabled, mqttOn);
    QCOMPARE(bridge.health().mqttEnabled, mqttOn);
    const QStringList problems = bridge.health().problems;
    const bool offProblem = std::any_of(
        problems.begin(), problems.end(), [](const QString &p) { return p.startsWith(u"mqtt: off: "_s); });
    QCOMPARE(offProblem, !mqttOn);
    if (mqttOn) {
        app::MqttSettings previous = rig.config.mqtt;
        QVERIFY(bridge.config().mqtt == previous);
        QTRY_COMPARE_WITH_TIMEOUT(bridge.health().mqtt.state, mqtt::PublisherState::Publishing, kWaitMs);
        QTRY_VERIFY_WITH_TIMEOUT(bridge.health().mqtt.rowsAcknowledged > 0, kWaitMs);
    } else {
        QVERIFY(!bridge.config().mqtt.enabled);
        QCOMPARE(bridge.health().mqtt.state, mqtt::PublisherState::Stopped);
        // A later reload with settings that work turns it on again.
        const auto again = bridge.applyConfig(rig.config);
        QVERIFY2(again.ok(), qPrintable(why(again)));
        QVERIFY(again->mqttRestarted);
        QVERIFY(bridge.config().mqtt.enabled);
        QTRY_COMPARE_WITH_TIMEOUT(bridge.health().mqtt.state, mqtt::PublisherState::Publishing, kWaitMs);
        const QStringList after = bridge.health().problems;
        QVERIFY(std::none_of(
            after.begin(), after.end(), [](const QString &p) { return p.startsWith(u"mqtt: "_s); }));
    }
    QVERIFY(bridge.stopAndWait());
}

void TestBridge::outboxFollowsMqttEnabled_data()
{
    QTest::addColumn<bool>("enable");

    QTest::newRow("enable") << true;
    QTest::newRow("disable") << false;
}

void TestBridge::outboxFollowsMqttEnabled()
{
    QFETCH(bool, enable);

    // The broker is down: rows stay in the outbox, so its growth is what the writer adds.
    Rig rig(deadPort(), 2, 2);
    QVERIFY(rig.simulatorStarted);
    rig.config.mqtt.enabled = !enable;
    for (MeterConfig &meter : rig.config.site.meters)
        meter.pollIntervalMs = 100;
    Bridge bridge(bridgeOptions());
    QVERIFY(bridge.start(rig.config).ok());
    storage::Storage *storage = bridge.storage();
    QTRY_VERIFY_WITH_TIMEOUT(storage->status().batchesWritten >= 2, kWaitMs);
    QCOMPARE(storage->status().outboxRowsWritten > 0, !enable);

    BridgeConfig next = bridge.config();
    next.mqtt.enabled = enable;
    const auto applied = bridge.applyConfig(next);
    QVERIFY2(applied.ok(), qPrintable(why(applied)));
    QVERIFY(applied->mqttRestarted);
    // A transaction under way when it changed may still follow the old setting: count from the
    // next ones.
    quint64 batches = storage->status().batchesWritten;
    QTRY_VERIFY_WITH_TIMEOUT(storage->status().batchesWritten >= batches + 2, kWaitMs);
    const quint64 rows = storage->status().outboxRowsWritten;
    const qint64 level = storage->status().outbox.rows;
    batches = storage->status().batchesWritten;
    QTRY_VERIFY_WITH_TIMEOUT(storage->status().batchesWritten >= batches + 4, kWaitMs);
    if (enable) {
        QVERIFY(storage->status().outboxRowsWritten >= rows + 4);
    } else {
        // Nothing added, and the rows already there stay.
        QCOMPARE(storage->status().outboxRowsWritten, rows);
        QCOMPARE(storage->status().outbox.rows, level);
        QVERIFY(level > 0);
    }
    QVERIFY(bridge.stopAndWait());
}

void TestBridge::stopLeavesWhatCannotBePublished()
{
    // Device mode: m0 has its token, m1 none; m1's rows can never be sent by this publisher.
    Rig rig(m_broker.port(), 2, 2);
    QVERIFY(rig.simulatorStarted);
    rig.config.mqtt.format.mode = mqtt::Mode::Device;
    rig.config.publishing.insert(meterId(0), app::MeterPublishing {u"m0-device-token"_s, {}, {}});
    for (MeterConfig &meter : rig.config.site.meters)
        meter.pollIntervalMs = 100;
    Bridge bridge(bridgeOptions());
    QVERIFY(bridge.start(rig.config).ok());
    QTRY_VERIFY_WITH_TIMEOUT(bridge.health().mqtt.rowsAcknowledged >= 2, kWaitMs);
    QTRY_VERIFY_WITH_TIMEOUT(bridge.health().mqtt.rowsSkipped >= 2, kWaitMs);

    QVERIFY(bridge.stopAndWait());
    QVERIFY(bridge.lastStopComplete());
    // The drain ended once nothing moved, not at its 3 s cap.
    QVERIFY(logged(u"outbox rows wait for the next start: nothing more can be published now"_s));
    QVERIFY(!logged(u"the drain was cut"_s));
    const std::vector<storage::OutboxRow> left = outboxContent(rig.path());
    QVERIFY(!left.empty());
    for (const storage::OutboxRow &row : left)
        QCOMPARE(row.meterId, meterId(1));
    qint64 m1Stored = 0;
    for (const auto &[id, ts] : storedPairs(rig.path()))
        m1Stored += id == meterId(1) ? 1 : 0;
    QCOMPARE(qint64(left.size()), m1Stored);
}

void TestBridge::stopIncompleteOnFullDisk()
{
    Rig rig(deadPort(), 3, 3);
    QVERIFY(rig.simulatorStarted);
    for (MeterConfig &meter : rig.config.site.meters)
        meter.pollIntervalMs = 50; // fills the last page sooner
    Bridge bridge(bridgeOptions());
    QVERIFY(bridge.start(rig.config).ok());
    QTRY_VERIFY_WITH_TIMEOUT(bridge.storage()->status().batchesWritten >= 3, kWaitMs);
    qint64 pages = 0;
    {
        auto reader = storage::Reader::open(rig.path());
        QVERIFY(reader);
        QSqlQuery query(reader->database());
        QVERIFY(query.exec(u"PRAGMA page_count"_s) && query.next());
        pages = query.value(0).toLongLong();
    }
    QVERIFY(pages > 0);
    // The file may not grow any more: a full disk.
    bridge.storage()->setMaxPageCount(pages);
    QTRY_COMPARE_WITH_TIMEOUT(bridge.storage()->status().state, storage::StorageState::Failing, kWaitMs);

    QVERIFY(bridge.stopAndWait());
    QVERIFY(!bridge.lastStopComplete());
    QVERIFY(logged(u"storage: not everything could be written"_s));
}

void TestBridge::reloadDisconnectsRemovedMeters()
{
    Rig rig(m_broker.port(), 2, 2);
    QVERIFY(rig.simulatorStarted);
    Subscriber subscriber(m_broker.port(), {"v1/gateway/#"});
    QVERIFY(subscriber.waitReady());
    Bridge bridge(bridgeOptions());
    QVERIFY(bridge.start(rig.config).ok());
    QTRY_VERIFY_WITH_TIMEOUT(subscriber.connectedDevices().contains(meterName(1)), kWaitMs);
    // No m1 row left to publish: a new publisher has no reason to announce it.
    QVERIFY(bridge.setPaused(meterId(1), true));
    QTRY_VERIFY_WITH_TIMEOUT(
        [&] {
            const auto rows = outboxContent(rig.path());
            return std::none_of(rows.begin(), rows.end(),
                [](const storage::OutboxRow &row) { return row.meterId == meterId(1); });
        }(),
        kWaitMs);
    const qsizetype m1Connects = subscriber.connectedDevices().count(meterName(1));
    const qsizetype m0Connects = subscriber.connectedDevices().count(meterName(0));

    // m1 removed and the MQTT settings changed in one reload.
    BridgeConfig next = bridge.config();
    next.site.meters.pop_back();
    next.mqtt.client.keepAliveS = 10;
    const auto applied = bridge.applyConfig(next);
    QVERIFY2(applied.ok(), qPrintable(why(applied)));
    QVERIFY(applied->mqttRestarted);
    QCOMPARE(applied->metersRemoved, QStringList {meterId(1)});
    QTRY_COMPARE_WITH_TIMEOUT(
        subscriber.devicesOn("v1/gateway/disconnect"), QStringList {meterName(1)}, kWaitMs);
    // The new publisher announces m0 again, never m1.
    QTRY_VERIFY_WITH_TIMEOUT(subscriber.connectedDevices().count(meterName(0)) > m0Connects, kWaitMs);
    const int telemetry = subscriber.count("v1/gateway/telemetry");
    QTRY_VERIFY_WITH_TIMEOUT(subscriber.count("v1/gateway/telemetry") > telemetry + 1, kWaitMs);
    QCOMPARE(subscriber.connectedDevices().count(meterName(1)), m1Connects);
    QVERIFY(bridge.stopAndWait());
}

QTEST_GUILESS_MAIN(TestBridge)
#include "tst_bridge.moc"
