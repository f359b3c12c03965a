#include "database.h"
#include "storage.h"
#include "storagelogcapture.h"

#include <QtCore/QFile>
#include <QtCore/QFileInfo>
#include <QtCore/QJsonDocument>
#include <QtCore/QJsonObject>
#include <QtCore/QMutex>
#include <QtCore/QRandomGenerator>
#include <QtCore/QScopeGuard>
#include <QtCore/QTemporaryDir>
#include <QtSql/QSqlError>
#include <QtSql/QSqlQuery>
#include <QtSql/QSqlRecord>
#include <QtTest/QSignalSpy>
#include <QtTest/QTest>

#include <atomic>
#include <cmath>
#include <limits>
#include <memory>

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace Qt::StringLiterals;
using polling::Quality;
using polling::Reading;
using polling::ReadingsBatch;
using storage::Storage;
using storage::StorageOptions;
using storage::StorageState;

Q_DECLARE_METATYPE(dlms::ErrorCode)

namespace {

// Generous bounds for things that take milliseconds: only a hang reaches them.
constexpr int kWaitMs = 15000;
constexpr qint64 kNow = 1'800'000'000'000; // the injected clock: 2027-01-15
constexpr qint64 kDayMs = 86'400'000;

using testsupport::captureMessages;
using testsupport::logCapture;
using testsupport::warningsContaining;

Reading reading(const QString &key, QVariant value, Quality quality = Quality::Good, const QString &unit = {})
{
    Reading r;
    r.key = key;
    r.obis = dlms::Obis(1, 0, 32, 7, 0, 255);
    r.value = std::move(value);
    r.unit = unit;
    r.quality = quality;
    if (quality == Quality::Failed) {
        r.value = QVariant();
        r.error = u"object-undefined"_s;
    }
    return r;
}

// `count` readings k0..k<n-1> with distinct OBIS codes and the values first, first + 1, …
ReadingsBatch batch(const QString &meterId, qint64 ts, int count = 10, double first = 0)
{
    ReadingsBatch b;
    b.meterId = meterId;
    b.timestampMs = ts;
    for (int i = 0; i < count; ++i) {
        Reading r = reading(u"k"_s + QString::number(i), first + i, Quality::Good, u"V"_s);
        r.obis = dlms::Obis(1, 0, 1, 8, quint8(i), 255);
        b.readings.push_back(std::move(r));
    }
    return b;
}

StorageOptions options(const QString &path)
{
    StorageOptions o;
    o.path = path;
    o.commitIntervalMs = 3'600'000; // commits come from flush(), full transactions or stop()
    o.retentionIntervalMs = 3'600'000;
    o.retryInitialMs = 20;
    o.retryMaxMs = 100;
    o.clock = [] { return kNow; };
    return o;
}

// A connection of the test's own (the writer's is in its thread).
class TestDb {
public:
    explicit TestDb(const QString &path, storage::OpenMode mode = storage::OpenMode::ReadOnly)
        : m_name(storage::makeConnectionName(u"test"))
    {
        storage::OpenOptions o;
        o.mode = mode;
        auto opened = storage::openDatabase(path, m_name, o);
        if (opened)
            m_db = opened.value();
        else
            m_error = opened.error().message;
    }
    ~TestDb()
    {
        m_db = QSqlDatabase();
        storage::closeDatabase(m_name);
    }
    Q_DISABLE_COPY_MOVE(TestDb)

    bool isOpen() const { return m_db.isOpen(); }
    const QString &error() const { return m_error; }
    QSqlDatabase &db() { return m_db; }

    QVariant scalar(const QString &sql)
    {
        QSqlQuery query(m_db);
        query.setForwardOnly(true);
        if (!query.exec(sql) || !query.next()) {
            qWarning("query failed: %s: %s", qPrintable(sql), qPrintable(query.lastError().text()));
            return {};
        }
        return query.value(0);
    }
    qint64 count(const QString &table, const QString &where = {})
    {
        return scalar(
            u"SELECT count(*) FROM "_s + table + (where.isEmpty() ? QString() : u" WHERE "_s + where))
            .toLongLong();
    }
    QList<QVariantList> rows(const QString &sql)
    {
        QList<QVariantList> result;
        QSqlQuery query(m_db);
        query.setForwardOnly(true);
        if (!query.exec(sql)) {
            qWarning("query failed: %s: %s", qPrintable(sql), qPrintable(query.lastError().text()));
            return result;
        }
        while (query.next()) {
            QVariantList row;
            for (int i = 0; i < query.record().count(); ++i)
                row.append(query.value(i));
            result.append(row);
        }
        return result;
    }

private:
    QString m_name;
    QString m_error;
    QSqlDatabase m_db;
};

QString createDatabase(const QString &path)
{
    const QString name = storage::makeConnectionName(u"create");
    QString error;
    {
        auto opened = storage::openDatabase(path, name);
        if (!opened)
            error = opened.error().message;
    }
    storage::closeDatabase(name);
    return error;
}

// The immutable flag: unlike chmod it stops root too, and already-open descriptors (ext4).
QString setImmutable(const QString &path, bool on)
{
    const int fd = ::open(QFile::encodeName(path).constData(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return u"open: "_s + QString::fromLocal8Bit(strerror(errno));
    int flags = 0;
    QString error;
    if (::ioctl(fd, FS_IOC_GETFLAGS, &flags) != 0) {
        error = u"FS_IOC_GETFLAGS: "_s + QString::fromLocal8Bit(strerror(errno));
    } else {
        flags = on ? (flags | FS_IMMUTABLE_FL) : (flags & ~FS_IMMUTABLE_FL);
        if (::ioctl(fd, FS_IOC_SETFLAGS, &flags) != 0)
            error = u"FS_IOC_SETFLAGS: "_s + QString::fromLocal8Bit(strerror(errno));
    }
    ::close(fd);
    return error;
}

QStringList databaseFiles(const QString &path)
{
    QStringList files {path};
    for (const QString &suffix : {u"-wal"_s, u"-shm"_s}) {
        if (QFileInfo::exists(path + suffix))
            files.append(path + suffix);
    }
    return files;
}

QJsonObject parseJson(const QByteArray &json)
{
    QJsonParseError error;
    const QJsonDocument document = QJsonDocument::fromJson(json, &error);
    if (error.error != QJsonParseError::NoError)
        qWarning("JSON does not parse: %s in %s", qPrintable(error.errorString()), json.constData());
    return document.object();
}

} // namespace

class tst_Storage : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void cleanupTestCase();
    void init();

    void stateNames();
    void outboxPayload_data();
    void outboxPayload();
    void outboxPayloadNumbersMatchQString();
    void readingsAndOutboxInOneTransaction();
    void rollupRowsKeepEveryColumn();
    void eventsWritten();
    void meterUpsertKeepsFirstSeen();
    void flushCommitsOneTransaction();
    void fullTransactionCommitsAtOnce();
    void orderPreservedAcrossKinds();
    void stopFlushesEverything();
    void writesBeforeStartAreKept();
    void startErrors_data();
    void startErrors();
    void fullDiskKeepsEverything();
    void queueBoundDropsOldestReadings();
    void queueBoundDropsOldestEventsAndRollups();
    void stopWhileFailingCountsDropped();
    void readOnlyFileRecovers();
    void refusedItemDroppedOthersWritten();
    void retentionDeletesOldRowsInChunks();
    void retentionZeroDaysKeepsEverything();

private:
    QString freshPath();

    std::unique_ptr<QTemporaryDir> m_dir;
    int m_files = 0;
};

void tst_Storage::initTestCase()
{
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
    logCapture().previous = qInstallMessageHandler(captureMessages);
}

void tst_Storage::cleanupTestCase()
{
    qInstallMessageHandler(logCapture().previous);
}

void tst_Storage::init()
{
    QMutexLocker lock(&logCapture().mutex);
    logCapture().warnings.clear();
}

QString tst_Storage::freshPath()
{
    return m_dir->filePath(u"storage-"_s + QString::number(++m_files) + u".db"_s);
}

void tst_Storage::stateNames()
{
    QCOMPARE(storage::storageStateName(StorageState::Stopped), u"stopped"_s);
    QCOMPARE(storage::storageStateName(StorageState::Ok), u"ok"_s);
    QCOMPARE(storage::storageStateName(StorageState::Failing), u"failing"_s);
}

void tst_Storage::outboxPayload_data()
{
    QTest::addColumn<ReadingsBatch>("input");
    QTest::addColumn<QByteArray>("expected");

    auto make = [](std::vector<Reading> readings) {
        ReadingsBatch b;
        b.meterId = u"m1"_s;
        b.timestampMs = 1'761'948'300'123;
        b.readings = std::move(readings);
        return b;
    };
    QTest::newRow("numbers-15-significant-digits")
        << make({reading(u"v"_s, 230.1), reading(u"sum"_s, 0.1 + 0.2), reading(u"third"_s, 1.0 / 3),
               reading(u"big"_s, 1e21), reading(u"neg"_s, -0.5), reading(u"e"_s, 12345678.9),
               reading(u"tiny"_s, 1e-7), reading(u"zero"_s, 0.0)})
        << QByteArray(R"({"ts":1761948300123,"values":{"v":230.1,"sum":0.3,"third":0.333333333333333,)"
                      R"("big":1e+21,"neg":-0.5,"e":12345678.9,"tiny":1e-07,"zero":0}})");
    QTest::newRow("integers-exact")
        << make({reading(u"i"_s, qint64(9'007'199'254'740'993)),
               reading(u"u"_s, quint64(18'446'744'073'709'551'615u)), reading(u"n"_s, -42)})
        << QByteArray(
               R"({"ts":1761948300123,"values":{"i":9007199254740993,"u":18446744073709551615,"n":-42}})");
    QTest::newRow("text-escaped-utf8")
        << make({reading(u"s"_s, u"a\"b\\c\nd\te\u0001"_s), reading(u"uni"_s, u"Ω€\U0001F600"_s),
               reading(u"key \"q\""_s, u"x"_s)})
        << QByteArray("{\"ts\":1761948300123,\"values\":{\"s\":\"a\\\"b\\\\c\\nd\\te\\u0001\","
                      "\"uni\":\"\xce\xa9\xe2\x82\xac\xf0\x9f\x98\x80\",\"key \\\"q\\\"\":\"x\"}}");
    QTest::newRow("unscaled-included-failed-left-out")
        << make({reading(u"a"_s, 1.5), reading(u"gone"_s, {}, Quality::Failed),
               reading(u"raw"_s, 42.0, Quality::Unscaled)})
        << QByteArray(R"({"ts":1761948300123,"values":{"a":1.5,"raw":42}})");
    QTest::newRow("failed-first") << make({reading(u"gone"_s, {}, Quality::Failed), reading(u"a"_s, 2.0)})
                                  << QByteArray(R"({"ts":1761948300123,"values":{"a":2}})");
    QTest::newRow("non-finite-left-out") << make({reading(u"nan"_s, std::nan("")), reading(u"a"_s, 3.0),
        reading(u"inf"_s, std::numeric_limits<double>::infinity())})
                                         << QByteArray(R"({"ts":1761948300123,"values":{"a":3}})");
    QTest::newRow("bool") << make({reading(u"on"_s, true)})
                          << QByteArray(R"({"ts":1761948300123,"values":{"on":true}})");
    QTest::newRow("all-failed-empty")
        << make({reading(u"x"_s, {}, Quality::Failed), reading(u"y"_s, {}, Quality::Failed)}) << QByteArray();
    QTest::newRow("no-readings-empty") << make({}) << QByteArray();
    QTest::newRow("null-value-empty") << make({reading(u"x"_s, QVariant())}) << QByteArray();
}

void tst_Storage::outboxPayload()
{
    QFETCH(ReadingsBatch, input);
    QFETCH(QByteArray, expected);

    const QByteArray payload = storage::outboxPayload(input);
    QCOMPARE(payload, expected);
    if (expected.isEmpty())
        return;
    // Valid JSON whose strings decode back to the readings' text.
    const QJsonObject object = parseJson(payload);
    QCOMPARE(object.value(u"ts"_s).toInteger(), input.timestampMs);
    const QJsonObject values = object.value(u"values"_s).toObject();
    for (const Reading &r : input.readings) {
        if (r.value.typeId() == QMetaType::QString)
            QCOMPARE(values.value(r.key).toString(), r.value.toString());
    }
}

void tst_Storage::outboxPayloadNumbersMatchQString()
{
    QRandomGenerator random(20251031);
    for (int i = 0; i < 2000; ++i) {
        const double magnitude = std::pow(10.0, random.bounded(-12, 22));
        const double value = (random.generateDouble() - 0.5) * magnitude;
        ReadingsBatch b;
        b.timestampMs = 1;
        b.readings.push_back(reading(u"v"_s, value));
        const QByteArray expected
            = "{\"ts\":1,\"values\":{\"v\":" + QString::number(value, 'g', 15).toLatin1() + "}}";
        QCOMPARE(storage::outboxPayload(b), expected);
    }
}

void tst_Storage::readingsAndOutboxInOneTransaction()
{
    const QString path = freshPath();
    Storage storage(options(path));
    QSignalSpy committed(&storage, &Storage::committed);
    QVERIFY(storage.start().ok());

    ReadingsBatch first;
    first.meterId = u"m1"_s;
    first.timestampMs = kNow - 5000;
    first.readings = {reading(u"voltage"_s, 230.1, Quality::Good, u"V"_s),
        reading(u"energy"_s, 12345678.9, Quality::Good, u"Wh"_s), reading(u"status"_s, u"OK"_s),
        reading(u"missing"_s, {}, Quality::Failed, u"A"_s), reading(u"raw"_s, 42.0, Quality::Unscaled)};
    first.readings[1].obis = dlms::Obis(1, 0, 1, 8, 0, 255);
    ReadingsBatch allFailed;
    allFailed.meterId = u"m2"_s;
    allFailed.timestampMs = kNow - 4000;
    allFailed.readings = {reading(u"a"_s, {}, Quality::Failed), reading(u"b"_s, {}, Quality::Failed)};
    ReadingsBatch last = batch(u"m1"_s, kNow - 3000, 1, 0.1 + 0.2);

    storage.writeReadings(first);
    storage.writeReadings(allFailed);
    storage.writeReadings(last);
    storage.flush();
    QTRY_COMPARE_WITH_TIMEOUT(storage.status().readingsWritten, 8u, kWaitMs);

    const storage::StorageStatus status = storage.status();
    QCOMPARE(status.transactions, 1u);
    QCOMPARE(status.batchesWritten, 3u);
    QCOMPARE(status.outboxRowsWritten, 2u); // the all-failed batch has nothing to publish
    QCOMPARE(status.queuedReadings, 0);
    QCOMPARE(status.state, StorageState::Ok);
    QCOMPARE(status.lastCommitMs, kNow);
    QTRY_COMPARE_WITH_TIMEOUT(committed.size(), 1, kWaitMs);

    TestDb db(path);
    QVERIFY2(db.isOpen(), qPrintable(db.error()));
    QCOMPARE(committed.at(0).at(0).toLongLong(), 8);
    QCOMPARE(committed.at(0).at(1).toLongLong(), db.scalar(u"SELECT max(id) FROM outbox"_s).toLongLong());

    const QList<QVariantList> rows = db.rows(
        u"SELECT meter_id, ts, key, obis, value, typeof(value), unit, quality FROM readings ORDER BY id"_s);
    QCOMPARE(rows.size(), 8);
    QCOMPARE(rows[0],
        QVariantList(
            {u"m1"_s, kNow - 5000, u"voltage"_s, u"1.0.32.7.0.255"_s, 230.1, u"real"_s, u"V"_s, u"good"_s}));
    QCOMPARE(rows[1][3], QVariant(u"1.0.1.8.0.255"_s));
    QCOMPARE(rows[1][4].toDouble(), 12345678.9);
    QCOMPARE(rows[2][4], QVariant(u"OK"_s));
    QCOMPARE(rows[2][5], QVariant(u"text"_s));
    QCOMPARE(rows[2][6], QVariant(u""_s)); // no unit: '' rather than NULL
    QCOMPARE(rows[3][5], QVariant(u"null"_s));
    QCOMPARE(rows[3][6], QVariant(u"A"_s));
    QCOMPARE(rows[3][7], QVariant(u"failed"_s));
    QCOMPARE(rows[4][5], QVariant(u"real"_s));
    QCOMPARE(rows[4][7], QVariant(u"unscaled"_s));
    QCOMPARE(rows[5][0], QVariant(u"m2"_s));
    QCOMPARE(rows[5][7], QVariant(u"failed"_s));
    QCOMPARE(rows[7][1].toLongLong(), kNow - 3000);

    const QList<QVariantList> outbox = db.rows(
        u"SELECT meter_id, ts, payload, typeof(payload), created_ms, attempts FROM outbox ORDER BY id"_s);
    QCOMPARE(outbox.size(), 2);
    QCOMPARE(outbox[0][0], QVariant(u"m1"_s));
    QCOMPARE(outbox[0][1].toLongLong(), kNow - 5000);
    QCOMPARE(outbox[0][3], QVariant(u"blob"_s));
    QCOMPARE(outbox[0][4].toLongLong(), kNow);
    QCOMPARE(outbox[0][5].toLongLong(), 0);
    const QJsonObject payload = parseJson(outbox[0][2].toByteArray());
    QCOMPARE(payload.value(u"ts"_s).toInteger(), kNow - 5000);
    const QJsonObject values = payload.value(u"values"_s).toObject();
    QCOMPARE(values.keys(), QStringList({u"energy"_s, u"raw"_s, u"status"_s, u"voltage"_s}));
    QCOMPARE(values.value(u"voltage"_s).toDouble(), 230.1);
    QCOMPARE(values.value(u"energy"_s).toDouble(), 12345678.9);
    QCOMPARE(values.value(u"status"_s).toString(), u"OK"_s);
    QCOMPARE(values.value(u"raw"_s).toDouble(), 42.0);
    QCOMPARE(outbox[1][2].toByteArray(), QByteArray(R"({"ts":1799999997000,"values":{"k0":0.3}})"));

    QVERIFY(storage.stop());
}

void tst_Storage::rollupRowsKeepEveryColumn()
{
    const QString path = freshPath();
    Storage storage(options(path));
    QVERIFY(storage.start().ok());

    monitor::MetricsRow row;
    row.meterId = u"m1"_s;
    row.timestampMs = kNow - 60'000;
    row.periodS = 59.5;
    row.dlmsRequestsSent = 1;
    row.dlmsResponsesRecv = 2;
    row.dlmsBytesSent = 3;
    row.dlmsBytesRecv = quint64(1) << 40;
    row.dlmsAvgPayloadSize = 5.5;
    row.mqttMessagesSent = 6;
    row.mqttBytesSent = 7;
    row.bandwidthTxBps = 8.25;
    row.bandwidthRxBps = 9.75;
    row.packetsTxPs = 10.5;
    row.packetsRxPs = 11.5;
    row.dlmsFramesSent = 12;
    row.dlmsFramesRecv = 13;
    row.dlmsTimeouts = 14;
    row.dlmsProtocolErrors = 15;
    row.dlmsReconnects = 16;
    row.pollsAttempted = 17;
    row.pollsCompleted = 18;
    row.pollsFailed = 19;
    row.valuesRead = 20;
    row.rttAvgMs = 21.5;
    row.rttP95Ms = 22.5;
    row.rttMaxMs = 23.5;
    row.rttSamples = 235;
    row.mqttPacketBytesSent = 24;
    row.mqttPublishFailures = 25;
    row.outboxBacklog = 26;
    row.bandwidthTxPeakBps = 27.5;
    row.bandwidthRxPeakBps = 28.5;
    row.ifRxErrors = 29;
    row.ifTxErrors = 30;
    row.ifRxDrops = 31;
    row.ifTxDrops = std::numeric_limits<quint64>::max(); // beyond SQLite's integers: clamped
    monitor::MetricsRow system;
    system.meterId = monitor::SystemMeterId;
    system.timestampMs = kNow - 60'000;
    system.periodS = 60;
    system.dlmsBytesSent = 99;

    monitor::MinuteRollup rollup;
    rollup.periodStartMs = kNow - 60'000;
    rollup.periodEndMs = kNow;
    rollup.rows = {row, system};
    storage.writeRollup(rollup);
    storage.flush();
    QTRY_COMPARE_WITH_TIMEOUT(storage.status().metricsRowsWritten, 2u, kWaitMs);

    TestDb db(path);
    QVERIFY(db.isOpen());
    QSqlQuery query(db.db());
    query.setForwardOnly(true);
    QVERIFY(query.exec(u"SELECT * FROM network_metrics ORDER BY id"_s));
    QVERIFY(query.next());
    const QSqlRecord record = query.record();
    const QList<std::pair<QString, QVariant>> expected {{u"meter_id"_s, u"m1"_s},
        {u"timestamp"_s, kNow - 60'000}, {u"period_s"_s, 59.5}, {u"dlms_requests_sent"_s, 1},
        {u"dlms_responses_recv"_s, 2}, {u"dlms_bytes_sent"_s, 3}, {u"dlms_bytes_recv"_s, qint64(1) << 40},
        {u"dlms_avg_payload_size"_s, 5.5}, {u"mqtt_messages_sent"_s, 6}, {u"mqtt_bytes_sent"_s, 7},
        {u"bandwidth_tx_bps"_s, 8.25}, {u"bandwidth_rx_bps"_s, 9.75}, {u"packets_tx_ps"_s, 10.5},
        {u"packets_rx_ps"_s, 11.5}, {u"dlms_frames_sent"_s, 12}, {u"dlms_frames_recv"_s, 13},
        {u"dlms_timeouts"_s, 14}, {u"dlms_protocol_errors"_s, 15}, {u"dlms_reconnects"_s, 16},
        {u"polls_attempted"_s, 17}, {u"polls_completed"_s, 18}, {u"polls_failed"_s, 19},
        {u"values_read"_s, 20}, {u"rtt_avg_ms"_s, 21.5}, {u"rtt_p95_ms"_s, 22.5}, {u"rtt_max_ms"_s, 23.5},
        {u"rtt_samples"_s, 235}, {u"mqtt_packet_bytes_sent"_s, 24}, {u"mqtt_publish_failures"_s, 25},
        {u"outbox_backlog"_s, 26}, {u"bandwidth_tx_peak_bps"_s, 27.5}, {u"bandwidth_rx_peak_bps"_s, 28.5},
        {u"if_rx_errors"_s, 29}, {u"if_tx_errors"_s, 30}, {u"if_rx_drops"_s, 31},
        {u"if_tx_drops"_s, std::numeric_limits<qint64>::max()}};
    QCOMPARE(record.count(), int(expected.size()) + 1); // + id
    for (const auto &[column, value] : expected) {
        const int index = record.indexOf(column);
        QVERIFY2(index >= 0, qPrintable(column));
        if (value.typeId() == QMetaType::Double)
            QVERIFY2(query.value(index).toDouble() == value.toDouble(), qPrintable(column));
        else if (value.typeId() == QMetaType::QString)
            QCOMPARE(query.value(index).toString(), value.toString());
        else
            QVERIFY2(query.value(index).toLongLong() == value.toLongLong(), qPrintable(column));
    }
    QVERIFY(query.next());
    QCOMPARE(query.value(record.indexOf(u"meter_id"_s)).toString(), u"*"_s);
    QCOMPARE(query.value(record.indexOf(u"dlms_bytes_sent"_s)).toLongLong(), 99);
    QCOMPARE(query.value(record.indexOf(u"rtt_p95_ms"_s)).toDouble(), 0.0);
    QVERIFY(!query.next());
    query.finish();
    QCOMPARE(storage.status().transactions, 1u);
}

void tst_Storage::eventsWritten()
{
    const QString path = freshPath();
    Storage storage(options(path));
    QVERIFY(storage.start().ok());

    storage.writeEvent({kNow - 10, u"m1"_s, u"state"_s, u"connecting"_s, u"tcp connect"_s});
    storage.writeEvent({kNow - 5, QString(), u"storage"_s, QString(), u"disk full"_s});
    storage.writeEvent({0, u"m2"_s, u"error"_s, QString(), QString()}); // no time: the clock's
    storage.flush();
    QTRY_COMPARE_WITH_TIMEOUT(storage.status().eventsWritten, 3u, kWaitMs);

    TestDb db(path);
    const QList<QVariantList> rows = db.rows(u"SELECT ts, meter_id, meter_id IS NULL, kind, state, message"
                                             " FROM events ORDER BY id"_s);
    QCOMPARE(rows.size(), 3);
    QCOMPARE(rows[0], QVariantList({kNow - 10, u"m1"_s, 0, u"state"_s, u"connecting"_s, u"tcp connect"_s}));
    QCOMPARE(rows[1][2].toInt(), 1); // the bridge itself: NULL
    QCOMPARE(rows[1][3], QVariant(u"storage"_s));
    QCOMPARE(rows[1][4], QVariant(u""_s));
    QCOMPARE(rows[1][5], QVariant(u"disk full"_s));
    QCOMPARE(rows[2][0].toLongLong(), kNow);
    QCOMPARE(rows[2][1], QVariant(u"m2"_s));
    QCOMPARE(rows[2][5], QVariant(u""_s));
}

void tst_Storage::meterUpsertKeepsFirstSeen()
{
    const QString path = freshPath();
    auto clock = std::make_shared<std::atomic<qint64>>(kNow);
    StorageOptions o = options(path);
    o.clock = [clock] { return clock->load(); };
    Storage storage(o);
    QVERIFY(storage.start().ok());

    storage.upsertMeter({u"m1"_s, u"Meter one"_s, u"127.0.0.1"_s, 4059, u"wrapper"_s});
    storage.flush();
    QTRY_COMPARE_WITH_TIMEOUT(storage.status().transactions, 1u, kWaitMs);
    clock->store(kNow + 1000);
    storage.upsertMeter({u"m1"_s, u"Renamed"_s, u"::1"_s, 4060, u"hdlc"_s});
    storage.upsertMeter({u"m2"_s, u"Two"_s, u"127.0.0.1"_s, 4061, u"wrapper"_s});
    storage.flush();
    QTRY_COMPARE_WITH_TIMEOUT(storage.status().transactions, 2u, kWaitMs);

    {
        TestDb db(path);
        const QList<QVariantList> rows
            = db.rows(u"SELECT id, name, host, port, transport, first_seen_ms, updated_ms, removed_ms IS NULL"
                      " FROM meters ORDER BY id"_s);
        QCOMPARE(rows.size(), 2);
        QCOMPARE(
            rows[0], QVariantList({u"m1"_s, u"Renamed"_s, u"::1"_s, 4060, u"hdlc"_s, kNow, kNow + 1000, 1}));
        QCOMPARE(rows[1],
            QVariantList(
                {u"m2"_s, u"Two"_s, u"127.0.0.1"_s, 4061, u"wrapper"_s, kNow + 1000, kNow + 1000, 1}));
    }

    clock->store(kNow + 2000);
    storage.markMeterRemoved(u"m2"_s);
    storage.markMeterRemoved(u"unknown"_s); // no row: nothing happens
    storage.flush();
    QTRY_COMPARE_WITH_TIMEOUT(storage.status().transactions, 3u, kWaitMs);
    TestDb db(path);
    QCOMPARE(db.rows(u"SELECT removed_ms, updated_ms, first_seen_ms, name FROM meters WHERE id = 'm2'"_s),
        QList<QVariantList>({{kNow + 2000, kNow + 2000, kNow + 1000, u"Two"_s}}));
    QCOMPARE(db.count(u"meters"_s), 2);
    QCOMPARE(db.count(u"meters"_s, u"removed_ms IS NULL"_s), 1);
}

void tst_Storage::flushCommitsOneTransaction()
{
    const QString path = freshPath();
    StorageOptions o = options(path);
    o.maxTransactionRows = 1'000'000;
    Storage storage(o);
    QSignalSpy committed(&storage, &Storage::committed);
    QVERIFY(storage.start().ok());

    for (int i = 0; i < 200; ++i)
        storage.writeReadings(batch(u"m"_s + QString::number(i % 7), kNow + i));
    QCOMPARE(storage.status().queuedReadings, 2000);
    storage.flush();
    QTRY_COMPARE_WITH_TIMEOUT(storage.status().readingsWritten, 2000u, kWaitMs);
    QCOMPARE(storage.status().transactions, 1u);
    QCOMPARE(storage.status().outboxRowsWritten, 200u);
    QTRY_COMPARE_WITH_TIMEOUT(committed.size(), 1, kWaitMs);
    QCOMPARE(committed.at(0).at(0).toLongLong(), 2000);
    QCOMPARE(committed.at(0).at(1).toLongLong(), 200); // the 200th outbox row
}

void tst_Storage::fullTransactionCommitsAtOnce()
{
    // No commit tick and no flush: only a full transaction's worth wakes the writer.
    const QString path = freshPath();
    StorageOptions o = options(path);
    o.maxTransactionRows = 500;
    Storage storage(o);
    QSignalSpy committed(&storage, &Storage::committed);
    QVERIFY(storage.start().ok());

    for (int i = 0; i < 200; ++i)
        storage.writeReadings(batch(u"m1"_s, kNow + i));
    QTRY_COMPARE_WITH_TIMEOUT(storage.status().readingsWritten, 2000u, kWaitMs);
    QCOMPARE(storage.status().transactions, 4u);
    QTRY_COMPARE_WITH_TIMEOUT(committed.size(), 4, kWaitMs);
    for (int i = 0; i < 4; ++i) {
        QCOMPARE(committed.at(i).at(0).toLongLong(), 500);
        QCOMPARE(committed.at(i).at(1).toLongLong(), 50 * (i + 1));
    }

    // Less than a transaction's worth waits for the tick (here: for flush()).
    storage.writeReadings(batch(u"m1"_s, kNow + 1000));
    QCOMPARE(storage.status().queuedReadings, 10);
    storage.flush();
    QTRY_COMPARE_WITH_TIMEOUT(storage.status().readingsWritten, 2010u, kWaitMs);
    QCOMPARE(storage.status().transactions, 5u);
}

void tst_Storage::orderPreservedAcrossKinds()
{
    const QString path = freshPath();
    StorageOptions o = options(path);
    o.maxTransactionRows = 15; // several transactions, order kept across them
    Storage storage(o);
    QVERIFY(storage.start().ok());

    // Timestamps run backwards, so row order can only come from call order.
    for (int i = 0; i < 30; ++i) {
        storage.writeReadings(batch(u"m"_s + QString::number(i % 3), kNow - i * 1000, 3, i * 10));
        storage.writeEvent({kNow - i, QString(), u"test"_s, QString(), QString::number(i)});
        switch (i) {
        case 3:
            storage.upsertMeter({u"A"_s, u"first"_s, u"127.0.0.1"_s, 1, u"wrapper"_s});
            break;
        case 4:
            storage.markMeterRemoved(u"A"_s);
            break;
        case 5:
            storage.upsertMeter({u"A"_s, u"second"_s, u"127.0.0.1"_s, 1, u"wrapper"_s});
            storage.upsertMeter({u"B"_s, u"b"_s, u"127.0.0.1"_s, 2, u"wrapper"_s});
            break;
        case 6:
            storage.markMeterRemoved(u"B"_s);
            break;
        default:
            break;
        }
    }
    storage.flush();
    QTRY_COMPARE_WITH_TIMEOUT(storage.status().readingsWritten, 90u, kWaitMs);
    QTRY_COMPARE_WITH_TIMEOUT(storage.status().eventsWritten, 30u, kWaitMs);
    QVERIFY(storage.status().transactions > 1);
    QVERIFY(storage.stop());

    TestDb db(path);
    const QList<QVariantList> readings = db.rows(u"SELECT ts, value FROM readings ORDER BY id"_s);
    QCOMPARE(readings.size(), 90);
    for (int i = 0; i < 90; ++i) {
        QCOMPARE(readings[i][0].toLongLong(), kNow - (i / 3) * 1000);
        QCOMPARE(readings[i][1].toDouble(), double((i / 3) * 10 + i % 3));
    }
    const QList<QVariantList> events = db.rows(u"SELECT message FROM events ORDER BY id"_s);
    QCOMPARE(events.size(), 30);
    for (int i = 0; i < 30; ++i)
        QCOMPARE(events[i][0].toString(), QString::number(i));
    const QList<QVariantList> outbox = db.rows(u"SELECT ts FROM outbox ORDER BY id"_s);
    QCOMPARE(outbox.size(), 30);
    for (int i = 0; i < 30; ++i)
        QCOMPARE(outbox[i][0].toLongLong(), kNow - i * 1000);
    // upsert, remove, upsert: A is back; upsert, remove: B stays removed.
    QCOMPARE(db.rows(u"SELECT id, name, removed_ms IS NULL FROM meters ORDER BY id"_s),
        QList<QVariantList>({{u"A"_s, u"second"_s, 1}, {u"B"_s, u"b"_s, 0}}));
}

void tst_Storage::stopFlushesEverything()
{
    const QString path = freshPath();
    Storage storage(options(path));
    QSignalSpy states(&storage, &Storage::stateChanged);
    QSignalSpy committed(&storage, &Storage::committed);
    QVERIFY(storage.start().ok());
    QVERIFY(storage.isRunning());
    QCOMPARE(storage.status().state, StorageState::Ok);

    for (int i = 0; i < 50; ++i)
        storage.writeReadings(batch(u"m1"_s, kNow + i));
    storage.writeEvent({kNow, QString(), u"storage"_s, QString(), u"bye"_s});
    monitor::MinuteRollup rollup;
    rollup.rows.resize(3);
    for (auto &row : rollup.rows)
        row.meterId = u"m1"_s;
    storage.writeRollup(rollup);
    QCOMPARE(storage.status().readingsWritten, 0u); // no tick, no flush: all still queued

    QVERIFY(storage.stop());
    QVERIFY(!storage.isRunning());
    const storage::StorageStatus status = storage.status();
    QCOMPARE(status.state, StorageState::Stopped);
    QCOMPARE(status.readingsWritten, 500u);
    QCOMPARE(status.eventsWritten, 1u);
    QCOMPARE(status.metricsRowsWritten, 3u);
    QCOMPARE(status.queuedReadings, 0);
    QCOMPARE(status.droppedReadings, 0u);
    // The final commit is reported before "stopped".
    QCOMPARE(committed.size(), 1);
    QCOMPARE(committed.at(0).at(0).toLongLong(), 500);
    QCOMPARE(states.size(), 2);
    QCOMPARE(states.at(0).at(0).value<StorageState>(), StorageState::Ok);
    QCOMPARE(states.at(1).at(0).value<StorageState>(), StorageState::Stopped);
    QVERIFY(storage.stop()); // idempotent
    // The writer's and the start check's connections are gone.
    const QStringList connections = QSqlDatabase::connectionNames();
    for (const QString &name : connections)
        QVERIFY2(!name.startsWith(u"dlmsbridge-writer"_s) && !name.startsWith(u"dlmsbridge-check"_s),
            qPrintable(name));

    TestDb db(path);
    QCOMPARE(db.count(u"readings"_s), 500);
    QCOMPARE(db.count(u"outbox"_s), 50);
    QCOMPARE(db.count(u"events"_s), 1);
    QCOMPARE(db.count(u"network_metrics"_s), 3);
}

void tst_Storage::writesBeforeStartAreKept()
{
    const QString path = freshPath();
    Storage storage(options(path));
    storage.upsertMeter({u"m1"_s, u"one"_s, u"127.0.0.1"_s, 1, u"wrapper"_s});
    storage.writeReadings(batch(u"m1"_s, kNow));
    QCOMPARE(storage.status().queuedReadings, 10);
    QCOMPARE(storage.status().state, StorageState::Stopped);
    QVERIFY(storage.start().ok());
    storage.flush();
    QTRY_COMPARE_WITH_TIMEOUT(storage.status().readingsWritten, 10u, kWaitMs);
    QVERIFY(storage.stop());
    TestDb db(path);
    QCOMPARE(db.count(u"meters"_s), 1);
    QCOMPARE(db.count(u"readings"_s), 10);
}

void tst_Storage::startErrors_data()
{
    QTest::addColumn<QString>("kind");
    QTest::addColumn<dlms::ErrorCode>("code");

    QTest::newRow("missing-directory") << u"dir"_s << dlms::ErrorCode::IoError;
    QTest::newRow("not-sqlite") << u"garbage"_s << dlms::ErrorCode::IoError;
    QTest::newRow("newer-schema") << u"newer"_s << dlms::ErrorCode::InvalidArgument;
    QTest::newRow("no-path") << u"empty"_s << dlms::ErrorCode::InvalidArgument;
}

void tst_Storage::startErrors()
{
    QFETCH(QString, kind);
    QFETCH(dlms::ErrorCode, code);

    QString path = freshPath();
    if (kind == u"dir"_s) {
        path = m_dir->filePath(u"missing/dir/bridge.db"_s);
    } else if (kind == u"garbage"_s) {
        QFile file(path);
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.write(QByteArray(8192, '\x5a'));
    } else if (kind == u"newer"_s) {
        QCOMPARE(createDatabase(path), QString());
        TestDb db(path, storage::OpenMode::ReadWrite);
        QSqlQuery query(db.db());
        QVERIFY(query.exec(u"PRAGMA user_version = "_s + QString::number(storage::SchemaVersion + 1)));
    } else {
        path.clear();
    }
    Storage storage(options(path));
    QSignalSpy states(&storage, &Storage::stateChanged);
    const auto started = storage.start();
    QVERIFY(!started.ok());
    QCOMPARE(started.error().code, code);
    if (!path.isEmpty())
        QVERIFY2(started.error().message.contains(path), qPrintable(started.error().message));
    QVERIFY(!storage.isRunning());
    QCOMPARE(storage.status().state, StorageState::Stopped);
    QCOMPARE(states.size(), 0);
    QVERIFY(storage.stop());
}

void tst_Storage::fullDiskKeepsEverything()
{
    const QString path = freshPath();
    QCOMPARE(createDatabase(path), QString());
    qint64 pages = 0;
    {
        TestDb db(path);
        pages = db.scalar(u"PRAGMA page_count"_s).toLongLong();
    }
    QVERIFY(pages > 0);

    StorageOptions o = options(path);
    o.maxPageCount = pages + 4; // 16 KiB of room
    o.maxTransactionRows = 200;
    o.commitIntervalMs = 5;
    Storage storage(o);
    QSignalSpy states(&storage, &Storage::stateChanged);
    QVERIFY(storage.start().ok());

    constexpr int kBatches = 300;
    for (int i = 0; i < kBatches; ++i)
        storage.writeReadings(batch(u"m"_s + QString::number(i % 5), kNow + i, 10, i));
    QTRY_VERIFY_WITH_TIMEOUT(storage.status().state == StorageState::Failing, kWaitMs);
    // Retries keep failing; the reason is logged once, not per retry.
    QTRY_VERIFY_WITH_TIMEOUT(storage.status().writeErrors >= 3, kWaitMs);

    storage::StorageStatus status = storage.status();
    QVERIFY2(status.message.contains(u"full"_s), qPrintable(status.message));
    QVERIFY2(status.message.contains(path), qPrintable(status.message));
    QVERIFY(status.queuedReadings > 0);
    QCOMPARE(qint64(status.readingsWritten) + status.queuedReadings, kBatches * 10);
    QCOMPARE(status.droppedReadings, 0u);
    QCOMPARE(warningsContaining(u"full"), 1);
    QTRY_VERIFY_WITH_TIMEOUT(!states.isEmpty(), kWaitMs);
    const auto failing = std::find_if(states.cbegin(), states.cend(), [](const QList<QVariant> &args) {
        return args.at(0).value<StorageState>() == StorageState::Failing;
    });
    QVERIFY(failing != states.cend());
    QVERIFY(failing->at(1).toString().contains(u"full"_s));

    {
        // What is in the file is whole batches: readings and their outbox row together.
        TestDb db(path);
        QVERIFY(db.isOpen());
        const qint64 written = db.count(u"readings"_s);
        QVERIFY(written < kBatches * 10);
        QCOMPARE(written % 10, 0);
        QCOMPARE(db.count(u"outbox"_s), written / 10);
        QCOMPARE(db.count(u"outbox"_s,
                     u"(SELECT count(*) FROM readings r WHERE r.meter_id = outbox.meter_id"
                     " AND r.ts = outbox.ts) = 10"_s),
            written / 10);
    }

    // Polling goes on while the disk is full.
    for (int i = kBatches; i < kBatches + 20; ++i)
        storage.writeReadings(batch(u"m"_s + QString::number(i % 5), kNow + i, 10, i));
    QCOMPARE(
        qint64(storage.status().readingsWritten) + storage.status().queuedReadings, (kBatches + 20) * 10);

    storage.setMaxPageCount(0);
    QTRY_COMPARE_WITH_TIMEOUT(storage.status().state, StorageState::Ok, kWaitMs);
    storage.flush();
    QTRY_COMPARE_WITH_TIMEOUT(storage.status().readingsWritten, quint64(kBatches + 20) * 10, kWaitMs);
    status = storage.status();
    QCOMPARE(status.queuedReadings, 0);
    QCOMPARE(status.droppedReadings, 0u);
    QVERIFY(status.message.isEmpty());
    QTRY_COMPARE_WITH_TIMEOUT(states.last().at(0).value<StorageState>(), StorageState::Ok, kWaitMs);
    QVERIFY(storage.stop());

    TestDb db(path);
    QCOMPARE(db.count(u"readings"_s), (kBatches + 20) * 10);
    QCOMPARE(
        db.scalar(u"SELECT count(*) FROM (SELECT DISTINCT meter_id, ts, key FROM readings)"_s).toLongLong(),
        (kBatches + 20) * 10);
    QCOMPARE(db.scalar(u"SELECT count(DISTINCT ts) FROM readings"_s).toLongLong(), kBatches + 20);
    QCOMPARE(db.count(u"outbox"_s), kBatches + 20);
}

void tst_Storage::queueBoundDropsOldestReadings()
{
    const QString path = freshPath();
    QCOMPARE(createDatabase(path), QString());
    qint64 pages = 0;
    {
        TestDb db(path);
        pages = db.scalar(u"PRAGMA page_count"_s).toLongLong();
    }
    StorageOptions o = options(path);
    o.maxPageCount = pages + 4;
    o.maxQueuedReadings = 50;
    o.retryInitialMs = 3'600'000; // no retry unless the test asks
    o.retryMaxMs = 3'600'000;
    Storage storage(o);
    QVERIFY(storage.start().ok());

    // Fill the file batch by batch until a write fails.
    int next = 0;
    while (storage.status().state != StorageState::Failing) {
        QVERIFY(next < 1000);
        const storage::StorageStatus before = storage.status();
        storage.writeReadings(batch(u"m1"_s, kNow + next, 10, next));
        ++next;
        storage.flush();
        QTRY_VERIFY_WITH_TIMEOUT(storage.status().transactions + storage.status().writeErrors
                > before.transactions + before.writeErrors,
            kWaitMs);
    }
    const storage::StorageStatus failing = storage.status();
    QCOMPARE(failing.queuedReadings, 10);
    QCOMPARE(failing.readingsWritten, quint64(next - 1) * 10);

    // Meters, events and rollups have their own bounds (far above these few): all kept.
    storage.upsertMeter({u"m1"_s, u"one"_s, u"127.0.0.1"_s, 1, u"wrapper"_s});
    storage.writeEvent({kNow, QString(), u"storage"_s, QString(), u"kept"_s});
    monitor::MinuteRollup rollup;
    rollup.rows.resize(2);
    rollup.rows[0].meterId = u"m1"_s;
    rollup.rows[1].meterId = monitor::SystemMeterId;
    storage.writeRollup(rollup);
    const int firstQueued = next - 1;
    for (int i = 0; i < 20; ++i, ++next)
        storage.writeReadings(batch(u"m1"_s, kNow + next, 10, next));
    // 10 + 200 readings queued against a bound of 50: the 16 oldest batches go.
    storage::StorageStatus status = storage.status();
    QCOMPARE(status.queuedReadings, 50);
    QCOMPARE(status.droppedReadings, 160u);
    QCOMPARE(status.state, StorageState::Failing);
    QCOMPARE(warningsContaining(u"dropping the oldest readings"), 1);

    storage.setMaxPageCount(0);
    QTRY_COMPARE_WITH_TIMEOUT(storage.status().state, StorageState::Ok, kWaitMs);
    storage.flush();
    QTRY_COMPARE_WITH_TIMEOUT(storage.status().queuedReadings, 0, kWaitMs);
    status = storage.status();
    QCOMPARE(status.droppedReadings, 160u);
    QCOMPARE(status.readingsWritten, quint64(firstQueued) * 10 + 50);
    QVERIFY(storage.stop());

    TestDb db(path);
    QCOMPARE(db.count(u"readings"_s), firstQueued * 10 + 50);
    // The survivors are the newest five batches.
    QCOMPARE(db.scalar(u"SELECT min(ts) FROM readings WHERE ts >= "_s + QString::number(kNow + firstQueued))
                 .toLongLong(),
        kNow + next - 5);
    QCOMPARE(db.count(u"events"_s), 1);
    QCOMPARE(db.count(u"network_metrics"_s), 2);
    QCOMPARE(db.count(u"meters"_s), 1);
}

void tst_Storage::queueBoundDropsOldestEventsAndRollups()
{
    const QString path = freshPath();
    QCOMPARE(createDatabase(path), QString());
    qint64 pages = 0;
    {
        TestDb db(path);
        pages = db.scalar(u"PRAGMA page_count"_s).toLongLong();
    }
    StorageOptions o = options(path);
    o.maxPageCount = pages + 4;
    o.maxQueuedEvents = 3;
    o.maxQueuedMetricsRows = 4;
    o.retryInitialMs = 3'600'000; // no retry unless the test asks
    o.retryMaxMs = 3'600'000;
    Storage storage(o);
    QVERIFY(storage.start().ok());

    // Fill the file until a write fails (the full-disk setup).
    int next = 0;
    while (storage.status().state != StorageState::Failing) {
        QVERIFY(next < 1000);
        const storage::StorageStatus before = storage.status();
        storage.writeReadings(batch(u"m1"_s, kNow + next, 10, next));
        ++next;
        storage.flush();
        QTRY_VERIFY_WITH_TIMEOUT(storage.status().transactions + storage.status().writeErrors
                > before.transactions + before.writeErrors,
            kWaitMs);
    }
    const quint64 eventsBefore = storage.status().eventsWritten;

    // Five events against a bound of 3; three rollups of 2 rows against a bound of 4 rows.
    for (int i = 1; i <= 5; ++i)
        storage.writeEvent({kNow + i, QString(), u"storage"_s, QString(), u"e"_s + QString::number(i)});
    for (int minute = 1; minute <= 3; ++minute) {
        monitor::MinuteRollup rollup;
        rollup.periodStartMs = kNow + minute * 60'000;
        rollup.rows.resize(2);
        rollup.rows[0].meterId = u"m1"_s;
        rollup.rows[1].meterId = monitor::SystemMeterId;
        for (monitor::MetricsRow &row : rollup.rows)
            row.timestampMs = rollup.periodStartMs;
        storage.writeRollup(rollup);
    }
    storage::StorageStatus status = storage.status();
    QCOMPARE(status.state, StorageState::Failing);
    QCOMPARE(status.droppedEvents, 2u);
    QCOMPARE(status.droppedMetricsRows, 2u);
    QCOMPARE(status.droppedReadings, 0u); // the queued batch is under its own bound
    QCOMPARE(warningsContaining(u"dropping the oldest events"), 1);
    QCOMPARE(warningsContaining(u"dropping the oldest network_metrics rows"), 1);

    storage.setMaxPageCount(0);
    QTRY_COMPARE_WITH_TIMEOUT(storage.status().state, StorageState::Ok, kWaitMs);
    storage.flush();
    QTRY_COMPARE_WITH_TIMEOUT(storage.status().metricsRowsWritten, 4u, kWaitMs);
    QTRY_COMPARE_WITH_TIMEOUT(storage.status().eventsWritten, eventsBefore + 3, kWaitMs);
    status = storage.status();
    QCOMPARE(status.droppedEvents, 2u);
    QCOMPARE(status.droppedMetricsRows, 2u);
    QVERIFY(storage.stop());

    // The newest survive: events e3…e5, the rollups of minutes 2 and 3.
    TestDb db(path);
    QCOMPARE(db.count(u"events"_s, u"message LIKE 'e_'"_s), 3);
    QCOMPARE(db.scalar(u"SELECT min(message) FROM events WHERE message LIKE 'e_'"_s).toString(), u"e3"_s);
    QCOMPARE(db.count(u"network_metrics"_s), 4);
    QCOMPARE(db.scalar(u"SELECT min(timestamp) FROM network_metrics"_s).toLongLong(), kNow + 2 * 60'000);
}

void tst_Storage::stopWhileFailingCountsDropped()
{
    const QString path = freshPath();
    QCOMPARE(createDatabase(path), QString());
    qint64 pages = 0;
    {
        TestDb db(path);
        pages = db.scalar(u"PRAGMA page_count"_s).toLongLong();
    }
    StorageOptions o = options(path);
    o.maxPageCount = pages + 4;
    o.maxTransactionRows = 100;
    Storage storage(o);
    QVERIFY(storage.start().ok());
    for (int i = 0; i < 100; ++i)
        storage.writeReadings(batch(u"m1"_s, kNow + i));
    storage.writeEvent({kNow, QString(), u"storage"_s, QString(), u"queued"_s});
    storage.flush();
    QTRY_COMPARE_WITH_TIMEOUT(storage.status().state, StorageState::Failing, kWaitMs);
    const quint64 written = storage.status().readingsWritten;
    QVERIFY(written < 1000);

    QVERIFY(!storage.stop(2000));
    const storage::StorageStatus status = storage.status();
    QCOMPARE(status.state, StorageState::Stopped);
    QCOMPARE(status.queuedReadings, 0);
    QCOMPARE(status.readingsWritten, written);
    QCOMPARE(status.droppedReadings, 1000 - written);
    QCOMPARE(warningsContaining(u"unwritten"), 1);

    TestDb db(path);
    QCOMPARE(quint64(db.count(u"readings"_s)), written);
}

void tst_Storage::readOnlyFileRecovers()
{
    const QString path = freshPath();
    const bool root = ::geteuid() == 0;
    StorageOptions o = options(path);
    o.commitIntervalMs = 5;
    auto storage = std::make_unique<Storage>(o);
    QVERIFY(storage->start().ok());
    for (int i = 0; i < 10; ++i)
        storage->writeReadings(batch(u"m1"_s, kNow + i));
    QTRY_COMPARE_WITH_TIMEOUT(storage->status().readingsWritten, 100u, kWaitMs);

    // A reader keeps the -wal and -shm files in place across a restart.
    auto reader = std::make_unique<TestDb>(path);
    QVERIFY(reader->isOpen());
    const QStringList files = databaseFiles(path);
    QCOMPARE(files.size(), 3);
    QStringList locked;
    auto unlock = qScopeGuard([&] {
        for (const QString &file : std::as_const(locked)) {
            if (root)
                setImmutable(file, false);
            else
                QFile::setPermissions(file, QFile::ReadOwner | QFile::WriteOwner);
        }
    });
    if (root) {
        // As root chmod stops nothing; the immutable flag stops even open descriptors (ext4).
        for (const QString &file : files) {
            const QString error = setImmutable(file, true);
            if (!error.isEmpty())
                QSKIP(qPrintable(u"cannot set the immutable flag on "_s + file + u": "_s + error));
            locked.append(file);
        }
    } else {
        // chmod does not reach the writer's open descriptors: restart it on the read-only files.
        QVERIFY(storage->stop());
        for (const QString &file : files) {
            QVERIFY(QFile::setPermissions(file, QFile::ReadOwner | QFile::ReadGroup | QFile::ReadOther));
            locked.append(file);
        }
        storage = std::make_unique<Storage>(o);
        QVERIFY(storage->start().ok());
    }

    const quint64 before = storage->status().readingsWritten;
    for (int i = 10; i < 20; ++i)
        storage->writeReadings(batch(u"m1"_s, kNow + i));
    QTRY_VERIFY_WITH_TIMEOUT(storage->status().state == StorageState::Failing
            && storage->status().message.contains(u"read-only"_s),
        kWaitMs);
    QVERIFY2(storage->status().message.contains(path), qPrintable(storage->status().message));
    QCOMPARE(storage->status().readingsWritten, before);
    QVERIFY(storage->status().queuedReadings > 0);
    QVERIFY(warningsContaining(u"read-only") >= 1);

    unlock.dismiss();
    for (const QString &file : std::as_const(locked)) {
        if (root)
            QCOMPARE(setImmutable(file, false), QString());
        else
            QVERIFY(QFile::setPermissions(file, QFile::ReadOwner | QFile::WriteOwner));
    }
    QTRY_COMPARE_WITH_TIMEOUT(storage->status().state, StorageState::Ok, kWaitMs);
    QTRY_COMPARE_WITH_TIMEOUT(storage->status().queuedReadings, 0, kWaitMs);
    QCOMPARE(storage->status().droppedReadings, 0u);
    QVERIFY(storage->stop());
    reader.reset();

    TestDb db(path);
    QCOMPARE(db.count(u"readings"_s), 200);
    QCOMPARE(db.scalar(u"SELECT count(DISTINCT ts) FROM readings"_s).toLongLong(), 20);
    QCOMPARE(db.count(u"outbox"_s), 20);
}

void tst_Storage::refusedItemDroppedOthersWritten()
{
    // A trigger stands in for data the database refuses (a constraint): retrying cannot help.
    const QString path = freshPath();
    QCOMPARE(createDatabase(path), QString());
    {
        TestDb db(path, storage::OpenMode::ReadWrite);
        QSqlQuery query(db.db());
        QVERIFY(query.exec(u"CREATE TRIGGER refuse_event BEFORE INSERT ON events WHEN NEW.kind = 'poison'"
                           " BEGIN SELECT RAISE(ABORT, 'refused by test'); END"_s));
        QVERIFY(query.exec(u"CREATE TRIGGER refuse_reading BEFORE INSERT ON readings WHEN NEW.key = 'poison'"
                           " BEGIN SELECT RAISE(ABORT, 'refused by test'); END"_s));
    }
    Storage storage(options(path));
    QVERIFY(storage.start().ok());
    storage.writeReadings(batch(u"m1"_s, kNow));
    storage.writeEvent({kNow, QString(), u"poison"_s, QString(), QString()});
    ReadingsBatch poisoned = batch(u"m1"_s, kNow + 1, 4);
    poisoned.readings[2].key = u"poison"_s;
    storage.writeReadings(poisoned);
    storage.writeEvent({kNow, QString(), u"fine"_s, QString(), QString()});
    storage.writeReadings(batch(u"m1"_s, kNow + 2));
    storage.flush();
    QTRY_COMPARE_WITH_TIMEOUT(storage.status().readingsWritten, 20u, kWaitMs);
    QTRY_COMPARE_WITH_TIMEOUT(storage.status().queuedReadings, 0, kWaitMs);
    const storage::StorageStatus status = storage.status();
    QCOMPARE(status.state, StorageState::Ok);
    QCOMPARE(status.eventsWritten, 1u);
    QCOMPARE(status.droppedReadings, 4u);
    QCOMPARE(status.writeErrors, 2u);
    QCOMPARE(warningsContaining(u"refused by test"), 2);
    QVERIFY(storage.stop());

    TestDb db(path);
    QCOMPARE(db.count(u"readings"_s), 20);
    QCOMPARE(db.count(u"outbox"_s), 2);
    QCOMPARE(db.rows(u"SELECT kind FROM events"_s), QList<QVariantList>({{u"fine"_s}}));
}

void tst_Storage::retentionDeletesOldRowsInChunks()
{
    const QString path = freshPath();
    StorageOptions o = options(path);
    o.readingsRetentionDays = 90;
    o.metricsRetentionDays = 400;
    o.eventsRetentionDays = 30;
    o.retentionChunkRows = 7;
    Storage storage(o);
    QVERIFY(storage.start().ok());

    const qint64 readingsCutoff = kNow - 90 * kDayMs;
    for (int i = 0; i < 5; ++i)
        storage.writeReadings(batch(u"m1"_s, readingsCutoff - 1000 + i)); // 50 old
    storage.writeReadings(batch(u"m1"_s, readingsCutoff)); // exactly at the cut-off: kept
    for (int i = 0; i < 2; ++i)
        storage.writeReadings(batch(u"m2"_s, kNow - kDayMs + i));
    monitor::MinuteRollup old;
    old.rows.resize(23);
    for (auto &row : old.rows) {
        row.meterId = u"m1"_s;
        row.timestampMs = kNow - 401 * kDayMs;
    }
    monitor::MinuteRollup recent;
    recent.rows.resize(2);
    for (auto &row : recent.rows) {
        row.meterId = u"m1"_s;
        row.timestampMs = kNow - 399 * kDayMs;
    }
    storage.writeRollup(old);
    storage.writeRollup(recent);
    for (int i = 0; i < 9; ++i)
        storage.writeEvent({kNow - 31 * kDayMs, QString(), u"state"_s, QString(), u"old"_s});
    for (int i = 0; i < 4; ++i)
        storage.writeEvent({kNow - 29 * kDayMs, QString(), u"state"_s, QString(), u"new"_s});
    storage.flush();
    QTRY_COMPARE_WITH_TIMEOUT(storage.status().eventsWritten, 13u, kWaitMs);
    QCOMPARE(storage.status().readingsWritten, 80u);

    storage.runRetention();
    QTRY_COMPARE_WITH_TIMEOUT(storage.status().retentionDeletedRows, 50u + 23u + 9u, kWaitMs);
    QVERIFY(storage.stop());
    QCOMPARE(storage.status().retentionDeletedRows, 82u);

    TestDb db(path);
    QCOMPARE(db.count(u"readings"_s), 30);
    QCOMPARE(db.scalar(u"SELECT min(ts) FROM readings"_s).toLongLong(), readingsCutoff);
    QCOMPARE(db.count(u"network_metrics"_s), 2);
    QCOMPARE(db.count(u"events"_s), 4);
    QCOMPARE(db.count(u"events"_s, u"message = 'old'"_s), 0);
    QCOMPARE(db.count(u"outbox"_s), 8); // the MQTT side bounds the outbox, not retention
}

void tst_Storage::retentionZeroDaysKeepsEverything()
{
    const QString path = freshPath();
    StorageOptions o = options(path);
    o.readingsRetentionDays = 0;
    o.metricsRetentionDays = 0;
    o.eventsRetentionDays = 0;
    Storage storage(o);
    QVERIFY(storage.start().ok());
    storage.writeReadings(batch(u"m1"_s, 1000)); // 1970
    storage.writeEvent({1000, QString(), u"state"_s, QString(), QString()});
    storage.flush();
    QTRY_COMPARE_WITH_TIMEOUT(storage.status().eventsWritten, 1u, kWaitMs);

    storage.runRetention();
    // The writer handles requests in order: once this event is in, retention has run.
    storage.writeEvent({1000, QString(), u"marker"_s, QString(), QString()});
    storage.flush();
    QTRY_COMPARE_WITH_TIMEOUT(storage.status().eventsWritten, 2u, kWaitMs);
    QCOMPARE(storage.status().retentionDeletedRows, 0u);
    QVERIFY(storage.stop());
    TestDb db(path);
    QCOMPARE(db.count(u"readings"_s), 10);
    QCOMPARE(db.count(u"events"_s), 2);
}

QTEST_GUILESS_MAIN(tst_Storage)
#include "tst_storage.moc"
