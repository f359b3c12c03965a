#include "storagelogcapture.h"
#include <database.h>
#include <reader.h>
#include <storage.h>

#include <QtCore/QJsonDocument>
#include <QtCore/QJsonObject>
#include <QtCore/QLocale>
#include <QtCore/QMutex>
#include <QtCore/QTemporaryDir>
#include <QtSql/QSqlError>
#include <QtSql/QSqlQuery>
#include <QtTest/QSignalSpy>
#include <QtTest/QTest>

#include <atomic>
#include <cmath>
#include <limits>
#include <memory>
#include <thread>

using namespace Qt::StringLiterals;
using polling::Quality;
using polling::Reading;
using polling::ReadingsBatch;
using storage::OutboxLevel;
using storage::OutboxRow;
using storage::Reader;
using storage::Storage;
using storage::StorageOptions;
using storage::StorageState;

namespace storage {
// QCOMPARE prints levels on failure.
inline char *toString(const OutboxLevel &level)
{
    return qstrdup(QByteArray("{rows " + QByteArray::number(level.rows) + ", bytes "
        + QByteArray::number(level.bytes) + ", oldest " + QByteArray::number(level.oldestCreatedMs) + '}')
                       .constData());
}
} // namespace storage

namespace {

constexpr int kWaitMs = 15000; // only a hang reaches it
constexpr qint64 kNow = 1'800'000'000'000;
constexpr qint64 kHourMs = 3'600'000;

using testsupport::captureMessages;
using testsupport::logCapture;
using testsupport::warningsContaining;

Reading reading(const QString &key, QVariant value, Quality quality = Quality::Good)
{
    Reading r;
    r.key = key;
    r.obis = dlms::Obis(1, 0, 32, 7, 0, 255);
    r.value = std::move(value);
    r.quality = quality;
    if (quality == Quality::Failed)
        r.value = QVariant();
    return r;
}

// `count` readings k0…k<n-1> with values first, first + 1, …: the same count gives the same
// payload size for timestamps of the same width.
ReadingsBatch batch(const QString &meterId, qint64 ts, int count = 10, double first = 0)
{
    ReadingsBatch b;
    b.meterId = meterId;
    b.timestampMs = ts;
    for (int i = 0; i < count; ++i)
        b.readings.push_back(reading(u"k"_s + QString::number(i), first + i));
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

// Runs statements on a plain connection (no migration): old files are built this way.
QString runRaw(const QString &path, const QStringList &statements)
{
    const QString name = storage::makeConnectionName(u"raw");
    QString error;
    {
        QSqlDatabase db = QSqlDatabase::addDatabase(u"QSQLITE"_s, name);
        db.setDatabaseName(path);
        if (!db.open())
            error = db.lastError().text();
        for (const QString &sql : statements) {
            QSqlQuery query(db);
            if (error.isEmpty() && !query.exec(sql))
                error = sql + u": "_s + query.lastError().text();
        }
        db.close();
    }
    QSqlDatabase::removeDatabase(name);
    return error;
}

template<typename T> const char *why(const dlms::Result<T> &result)
{
    static QByteArray text;
    text = result ? QByteArray() : result.error().message.toUtf8();
    return text.constData();
}

// The level by query, or a level no outbox can have when the query fails.
OutboxLevel levelOf(Reader &reader)
{
    const auto level = reader.outboxLevel();
    if (!level)
        return {-1, -1, -1};
    return *level;
}

QVariant scalar(Reader &reader, const QString &sql)
{
    QSqlQuery query(reader.database());
    query.setForwardOnly(true);
    if (!query.exec(sql) || !query.next()) {
        qWarning("query failed: %s: %s", qPrintable(sql), qPrintable(query.lastError().text()));
        return {};
    }
    return query.value(0);
}

QStringList outboxEvents(Reader &reader)
{
    QStringList messages;
    QSqlQuery query(reader.database());
    query.setForwardOnly(true);
    if (!query.exec(u"SELECT message FROM events WHERE kind = 'outbox' AND meter_id IS NULL ORDER BY id"_s))
        return {u"query failed"_s};
    while (query.next())
        messages.append(query.value(0).toString());
    return messages;
}

std::vector<qint64> outboxIds(Reader &reader)
{
    const auto rows = reader.outboxRows(0, 1'000'000, std::numeric_limits<qint64>::max());
    std::vector<qint64> ids;
    if (rows) {
        for (const OutboxRow &row : *rows)
            ids.push_back(row.id);
    }
    return ids;
}

std::vector<qint64> idRange(qint64 first, qint64 last)
{
    std::vector<qint64> ids;
    for (qint64 id = first; id <= last; ++id)
        ids.push_back(id);
    return ids;
}

// The message an episode of the size bound writes and logs (numbers grouped by thousands).
QString sizeMessage(qint64 capBytes, int rows)
{
    const QLocale english(QLocale::English);
    return u"outbox over %1 bytes: %2 oldest %3 dropped unpublished; %4 readings stay in the database"_s.arg(
        english.toString(capBytes), english.toString(rows), rows == 1 ? u"batch"_s : u"batches"_s,
        rows == 1 ? u"its"_s : u"their"_s);
}

} // namespace

class tst_OutboxStore : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void cleanupTestCase();
    void init();

    void valueCountWritten();
    void acknowledgeKeepsLevelExact();
    void acknowledgeUnknownOrRepeatedIdChangesNothing();
    void acknowledgeFromAnotherThread();
    void idsNeverReusedAfterEmptied();
    void levelCountedAtRestart();
    void sizeBoundDropsOldest_data();
    void sizeBoundDropsOldest();
    void sizeBoundOverCapAtStart();
    void sizeBoundUnboundedWhenZero();
    void ageBoundDropsOld();
    void migratesVersion2KeepingOutbox();
    void outboxRows_data();
    void outboxRows();
    void outboxRowsSeesNewRows();
    void acknowledgementsWaitWhileDiskFull();

private:
    QString freshPath();

    std::unique_ptr<QTemporaryDir> m_dir;
    int m_files = 0;
};

void tst_OutboxStore::initTestCase()
{
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
    logCapture().previous = qInstallMessageHandler(captureMessages);
}

void tst_OutboxStore::cleanupTestCase()
{
    qInstallMessageHandler(logCapture().previous);
}

void tst_OutboxStore::init()
{
    QMutexLocker lock(&logCapture().mutex);
    logCapture().warnings.clear();
}

QString tst_OutboxStore::freshPath()
{
    return m_dir->filePath(u"outbox-"_s + QString::number(++m_files) + u".db"_s);
}

void tst_OutboxStore::valueCountWritten()
{
    const QString path = freshPath();
    Storage storage(options(path));
    QVERIFY(storage.start().ok());

    // Failed readings, null values and numbers JSON cannot carry are not published: not counted.
    ReadingsBatch mixed = batch(u"m1"_s, kNow, 3);
    mixed.readings.push_back(reading(u"failed"_s, {}, Quality::Failed));
    mixed.readings.push_back(reading(u"nan"_s, std::nan("")));
    mixed.readings.push_back(reading(u"text"_s, u"OK"_s));
    mixed.readings.push_back(reading(u"null"_s, QVariant()));
    mixed.readings.push_back(reading(u"raw"_s, 7, Quality::Unscaled));
    storage.writeReadings(mixed);
    storage.writeReadings(batch(u"m2"_s, kNow + 1, 1));
    ReadingsBatch nothing = batch(u"m3"_s, kNow + 2, 0);
    nothing.readings.push_back(reading(u"failed"_s, {}, Quality::Failed));
    storage.writeReadings(nothing); // no outbox row at all
    storage.flush();
    QTRY_COMPARE_WITH_TIMEOUT(storage.status().batchesWritten, 3u, kWaitMs);

    auto reader = Reader::open(path);
    QVERIFY2(reader, why(reader));
    const auto rows = reader->outboxRows(0, 100, 1 << 20);
    QVERIFY2(rows, why(rows));
    QCOMPARE(rows->size(), 2u);
    QCOMPARE(rows->at(0).valueCount, 5u);
    QCOMPARE(rows->at(1).valueCount, 1u);
    for (const OutboxRow &row : *rows) {
        const QJsonObject values
            = QJsonDocument::fromJson(row.payload).object().value(u"values"_s).toObject();
        QCOMPARE(quint32(values.size()), row.valueCount);
    }
    QCOMPARE(rows->at(0).payload, storage::outboxPayload(mixed));
    QCOMPARE(rows->at(0).meterId, u"m1"_s);
    QCOMPARE(rows->at(0).timestampMs, kNow);
    QCOMPARE(rows->at(0).createdMs, kNow);
    QCOMPARE(scalar(*reader, u"SELECT sum(value_count) FROM outbox"_s).toLongLong(), 6);
    QCOMPARE(storage.status().outbox, levelOf(*reader));
    QVERIFY(storage.stop());
}

void tst_OutboxStore::acknowledgeKeepsLevelExact()
{
    const QString path = freshPath();
    auto clock = std::make_shared<std::atomic<qint64>>(kNow);
    StorageOptions o = options(path);
    o.clock = [clock] { return clock->load(); };
    Storage storage(o);
    QVERIFY(storage.start().ok());
    auto reader = Reader::open(path);
    QVERIFY2(reader, why(reader));
    QCOMPARE(storage.status().outbox, OutboxLevel());
    QCOMPARE(levelOf(*reader), OutboxLevel());

    // Rows created a second apart, of different sizes.
    for (int i = 0; i < 8; ++i) {
        clock->store(kNow + i * 1000);
        storage.writeReadings(batch(u"m"_s + QString::number(i % 3), kNow + i, 1 + i));
        storage.flush();
        QTRY_COMPARE_WITH_TIMEOUT(storage.status().outboxRowsWritten, quint64(i + 1), kWaitMs);
    }
    OutboxLevel level = levelOf(*reader);
    QCOMPARE(level.rows, 8);
    QCOMPARE(level.oldestCreatedMs, kNow);
    QCOMPARE(storage.status().outbox, level);

    struct Step {
        std::vector<qint64> ids;
        qint64 oldest; // created_ms of the first row left
    };
    const std::vector<Step> steps {
        {{3, 5}, kNow}, // from the middle: the oldest stays
        {{1}, kNow + 1000}, // the first row: the next one is the oldest now
        {{2, 4, 6}, kNow + 6000}, {{7, 8}, 0}, // empty
    };
    quint64 acknowledged = 0;
    for (const Step &step : steps) {
        storage.acknowledgeOutbox(step.ids);
        storage.flush();
        acknowledged += step.ids.size();
        QTRY_COMPARE_WITH_TIMEOUT(storage.status().outboxAcknowledgedRows, acknowledged, kWaitMs);
        level = levelOf(*reader);
        QCOMPARE(storage.status().outbox, level);
        QCOMPARE(level.oldestCreatedMs, step.oldest);
    }
    QCOMPARE(level, OutboxLevel());
    QCOMPARE(storage.status().outboxDroppedRows, 0u);
    // The readings stay: acknowledging only empties the outbox.
    QCOMPARE(scalar(*reader, u"SELECT count(*) FROM readings"_s).toLongLong(), 36);

    // A row written after the outbox emptied is the oldest again.
    clock->store(kNow + 50'000);
    storage.writeReadings(batch(u"m1"_s, kNow + 50, 2));
    storage.flush();
    QTRY_COMPARE_WITH_TIMEOUT(storage.status().outbox.rows, 1, kWaitMs);
    QCOMPARE(storage.status().outbox, levelOf(*reader));
    QCOMPARE(storage.status().outbox.oldestCreatedMs, kNow + 50'000);
    QVERIFY(storage.stop());
}

void tst_OutboxStore::acknowledgeUnknownOrRepeatedIdChangesNothing()
{
    const QString path = freshPath();
    Storage storage(options(path));
    QVERIFY(storage.start().ok());
    for (int i = 0; i < 5; ++i)
        storage.writeReadings(batch(u"m1"_s, kNow + i));
    storage.flush();
    QTRY_COMPARE_WITH_TIMEOUT(storage.status().outbox.rows, 5, kWaitMs);
    auto reader = Reader::open(path);
    QVERIFY2(reader, why(reader));

    // Twice in one call, then again later, plus ids that never existed: each row counts once.
    storage.acknowledgeOutbox({2, 2, 999, -1, 0});
    storage.flush();
    QTRY_COMPARE_WITH_TIMEOUT(storage.status().outboxAcknowledgedRows, 1u, kWaitMs);
    storage.acknowledgeOutbox({2});
    storage.acknowledgeOutbox({});
    storage.acknowledgeOutbox({4});
    storage.flush();
    QTRY_COMPARE_WITH_TIMEOUT(storage.status().outboxAcknowledgedRows, 2u, kWaitMs);
    QCOMPARE(storage.status().outbox, levelOf(*reader));
    QCOMPARE(storage.status().outbox.rows, 3);
    QCOMPARE(outboxIds(*reader), (std::vector<qint64> {1, 3, 5}));

    // Unknown ids alone: a transaction that changes nothing.
    const quint64 transactions = storage.status().transactions;
    storage.acknowledgeOutbox({2, 4, 12345});
    storage.flush();
    QTRY_COMPARE_WITH_TIMEOUT(storage.status().transactions, transactions + 1, kWaitMs);
    QCOMPARE(storage.status().outboxAcknowledgedRows, 2u);
    QCOMPARE(storage.status().outbox, levelOf(*reader));
    QVERIFY(storage.stop());
}

void tst_OutboxStore::acknowledgeFromAnotherThread()
{
    const QString path = freshPath();
    StorageOptions o = options(path);
    o.commitIntervalMs = 2; // the writer commits often while the other thread acknowledges
    Storage storage(o);
    QVERIFY(storage.start().ok());
    constexpr int kFirst = 200;
    for (int i = 0; i < kFirst; ++i)
        storage.writeReadings(batch(u"m"_s + QString::number(i % 4), kNow + i, 3));
    storage.flush();
    QTRY_COMPARE_WITH_TIMEOUT(storage.status().outbox.rows, kFirst, kWaitMs);

    std::thread mqtt([&storage] {
        for (qint64 id = 1; id <= kFirst; id += 2)
            storage.acknowledgeOutbox({id, id + 1});
    });
    for (int i = 0; i < 100; ++i)
        storage.writeReadings(batch(u"m1"_s, kNow + kFirst + i, 3));
    mqtt.join();
    storage.flush();
    QTRY_COMPARE_WITH_TIMEOUT(storage.status().outboxAcknowledgedRows, quint64(kFirst), kWaitMs);
    QTRY_COMPARE_WITH_TIMEOUT(storage.status().outboxRowsWritten, quint64(kFirst + 100), kWaitMs);

    auto reader = Reader::open(path);
    QVERIFY2(reader, why(reader));
    QCOMPARE(storage.status().outbox, levelOf(*reader));
    QCOMPARE(storage.status().outbox.rows, 100);
    QCOMPARE(outboxIds(*reader), idRange(kFirst + 1, kFirst + 100));
    QVERIFY(storage.stop());
}

void tst_OutboxStore::idsNeverReusedAfterEmptied()
{
    const QString path = freshPath();
    Storage storage(options(path));
    QSignalSpy committed(&storage, &Storage::committed);
    QVERIFY(storage.start().ok());
    for (int i = 0; i < 5; ++i)
        storage.writeReadings(batch(u"m1"_s, kNow + i));
    storage.flush();
    QTRY_COMPARE_WITH_TIMEOUT(storage.status().outbox.rows, 5, kWaitMs);
    storage.acknowledgeOutbox(idRange(1, 5));
    storage.flush();
    QTRY_COMPARE_WITH_TIMEOUT(storage.status().outboxAcknowledgedRows, 5u, kWaitMs);
    QCOMPARE(storage.status().outbox, OutboxLevel());

    // Emptied, the outbox goes on from 6 (SQLite alone would give 1 again), and a late
    // acknowledgement of an old id cannot delete a new row.
    storage.writeReadings(batch(u"m1"_s, kNow + 10));
    storage.acknowledgeOutbox({1});
    storage.flush();
    QTRY_COMPARE_WITH_TIMEOUT(storage.status().outbox.rows, 1, kWaitMs);
    QTRY_VERIFY_WITH_TIMEOUT(!committed.isEmpty() && committed.last().at(1).toLongLong() == 6, kWaitMs);
    QCOMPARE(storage.status().outboxAcknowledgedRows, 5u);

    // A stop and start of the same Storage goes on from there too.
    storage.acknowledgeOutbox({6});
    QVERIFY(storage.stop());
    QCOMPARE(storage.status().outbox, OutboxLevel());
    QVERIFY(storage.start().ok());
    storage.writeReadings(batch(u"m1"_s, kNow + 20));
    storage.flush();
    QTRY_COMPARE_WITH_TIMEOUT(storage.status().outbox.rows, 1, kWaitMs);
    auto reader = Reader::open(path);
    QVERIFY2(reader, why(reader));
    QCOMPARE(outboxIds(*reader), std::vector<qint64> {7});
    QVERIFY(storage.stop());
}

void tst_OutboxStore::levelCountedAtRestart()
{
    const QString path = freshPath();
    auto clock = std::make_shared<std::atomic<qint64>>(kNow - kHourMs);
    StorageOptions o = options(path);
    o.clock = [clock] { return clock->load(); };
    {
        Storage storage(o);
        QVERIFY(storage.start().ok());
        // created_ms is the commit's time: the first ten an hour before the rest.
        for (int i = 0; i < 30; ++i) {
            if (i == 10) {
                storage.flush();
                QTRY_COMPARE_WITH_TIMEOUT(storage.status().outbox.rows, 10, kWaitMs);
                clock->store(kNow);
            }
            storage.writeReadings(batch(u"m"_s + QString::number(i % 3), kNow + i, 1 + i % 5));
        }
        storage.flush();
        QTRY_COMPARE_WITH_TIMEOUT(storage.status().outbox.rows, 30, kWaitMs);
        storage.acknowledgeOutbox(idRange(1, 4));
        QVERIFY(storage.stop()); // the last transaction carries the acknowledgements
        QCOMPARE(storage.status().outboxAcknowledgedRows, 4u);
    }

    auto reader = Reader::open(path);
    QVERIFY2(reader, why(reader));
    const OutboxLevel level = levelOf(*reader);
    QCOMPARE(level.rows, 26);
    QCOMPARE(level.oldestCreatedMs, kNow - kHourMs);
    QVERIFY(level.bytes > 0);

    Storage again(o);
    QCOMPARE(again.status().outbox, OutboxLevel());
    QVERIFY(again.start().ok());
    QTRY_COMPARE_WITH_TIMEOUT(again.status().outbox, level, kWaitMs);
    QCOMPARE(again.status().outboxAcknowledgedRows, 0u);

    // From there on it is kept by the writer like before.
    again.acknowledgeOutbox(idRange(5, 10));
    again.writeReadings(batch(u"m9"_s, kNow + 100, 4));
    again.flush();
    QTRY_COMPARE_WITH_TIMEOUT(again.status().outboxAcknowledgedRows, 6u, kWaitMs);
    QCOMPARE(again.status().outbox, levelOf(*reader));
    QCOMPARE(again.status().outbox.rows, 21);
    QCOMPARE(again.status().outbox.oldestCreatedMs, kNow);
    QVERIFY(again.stop());
}

void tst_OutboxStore::sizeBoundDropsOldest_data()
{
    QTest::addColumn<int>("chunkRows");
    QTest::newRow("one-chunk") << 2000;
    QTest::newRow("one-row-chunks") << 1; // the pass takes several steps, one event
}

void tst_OutboxStore::sizeBoundDropsOldest()
{
    QFETCH(int, chunkRows);
    const qint64 rowBytes = storage::outboxPayload(batch(u"m1"_s, kNow)).size();
    const QString path = freshPath();
    StorageOptions o = options(path);
    o.maxOutboxBytes = 10 * rowBytes + rowBytes / 2; // ten rows fit, eleven do not
    QVERIFY(o.maxOutboxBytes % 1024 != 0); // the message gives it in bytes
    o.retentionChunkRows = chunkRows;
    Storage storage(o);
    QVERIFY(storage.start().ok());
    auto reader = Reader::open(path);
    QVERIFY2(reader, why(reader));
    const qint64 cap = o.maxOutboxBytes;

    // Eleven rows in one transaction: over the cap, trimmed to 95 % of it (nine rows).
    for (int i = 0; i < 11; ++i)
        storage.writeReadings(batch(u"m1"_s, kNow + i));
    storage.flush();
    QTRY_COMPARE_WITH_TIMEOUT(storage.status().outboxDroppedRows, 2u, kWaitMs);
    QCOMPARE(storage.status().outbox, levelOf(*reader));
    QCOMPARE(storage.status().outbox.rows, 9);
    QVERIFY(storage.status().outbox.bytes <= o.maxOutboxBytes - o.maxOutboxBytes / 20);
    QCOMPARE(outboxIds(*reader), idRange(3, 11));
    QCOMPARE(outboxEvents(*reader), QStringList {sizeMessage(cap, 2)});
    QTRY_COMPARE_WITH_TIMEOUT(warningsContaining(sizeMessage(cap, 2)), 1, kWaitMs);
    QCOMPARE(storage.status().outboxAcknowledgedRows, 0u);

    // Back under the cap: the next row fits and nothing is dropped.
    storage.writeReadings(batch(u"m1"_s, kNow + 11));
    storage.flush();
    QTRY_COMPARE_WITH_TIMEOUT(storage.status().outbox.rows, 10, kWaitMs);
    // Over again: a new episode, its own event.
    storage.writeReadings(batch(u"m1"_s, kNow + 12));
    storage.flush();
    QTRY_COMPARE_WITH_TIMEOUT(storage.status().outboxDroppedRows, 4u, kWaitMs);
    QCOMPARE(storage.status().outbox, levelOf(*reader));
    QCOMPARE(outboxIds(*reader), idRange(5, 13));
    QCOMPARE(outboxEvents(*reader), QStringList({sizeMessage(cap, 2), sizeMessage(cap, 2)}));
    QTRY_COMPARE_WITH_TIMEOUT(warningsContaining(u"dropped unpublished"), 2, kWaitMs);

    // An acknowledgement of a dropped row counts nothing; of a live one, one row.
    storage.acknowledgeOutbox({1, 2, 5});
    storage.flush();
    QTRY_COMPARE_WITH_TIMEOUT(storage.status().outboxAcknowledgedRows, 1u, kWaitMs);
    QCOMPARE(storage.status().outbox, levelOf(*reader));
    QCOMPARE(storage.status().outboxDroppedRows, 4u);

    // The readings themselves are never dropped.
    QCOMPARE(scalar(*reader, u"SELECT count(*) FROM readings"_s).toLongLong(), 13 * 10);
    QCOMPARE(storage.status().readingsWritten, 130u);
    QVERIFY(storage.stop());
}

void tst_OutboxStore::sizeBoundOverCapAtStart()
{
    // A file left over the cap (a smaller cap configured since): trimmed once the writer opens it.
    const QString path = freshPath();
    const qint64 rowBytes = storage::outboxPayload(batch(u"m1"_s, kNow)).size();
    {
        Storage storage(options(path));
        QVERIFY(storage.start().ok());
        for (int i = 0; i < 40; ++i)
            storage.writeReadings(batch(u"m1"_s, kNow + i));
        QVERIFY(storage.stop());
    }
    StorageOptions o = options(path);
    o.maxOutboxBytes = 20 * rowBytes;
    QVERIFY(o.maxOutboxBytes % 1024 != 0);
    o.retentionChunkRows = 7;
    Storage storage(o);
    QVERIFY(storage.start().ok());
    QTRY_COMPARE_WITH_TIMEOUT(storage.status().outboxDroppedRows, 21u, kWaitMs); // 19 rows ≤ 95 %
    auto reader = Reader::open(path);
    QVERIFY2(reader, why(reader));
    QCOMPARE(storage.status().outbox, levelOf(*reader));
    QCOMPARE(outboxIds(*reader), idRange(22, 40));
    QCOMPARE(outboxEvents(*reader), QStringList {sizeMessage(20 * rowBytes, 21)});
    QCOMPARE(scalar(*reader, u"SELECT count(*) FROM readings"_s).toLongLong(), 400);
    QVERIFY(storage.stop());
}

void tst_OutboxStore::sizeBoundUnboundedWhenZero()
{
    const QString path = freshPath();
    StorageOptions o = options(path);
    o.maxOutboxBytes = 0;
    o.maxOutboxAgeHours = 0;
    Storage storage(o);
    QVERIFY(storage.start().ok());
    for (int i = 0; i < 200; ++i)
        storage.writeReadings(batch(u"m1"_s, kNow + i));
    storage.flush();
    QTRY_COMPARE_WITH_TIMEOUT(storage.status().outbox.rows, 200, kWaitMs);
    storage.runRetention();
    // Requests run in order: once this event is in, retention has run.
    storage.writeEvent({kNow, QString(), u"marker"_s, QString(), QString()});
    storage.flush();
    QTRY_COMPARE_WITH_TIMEOUT(storage.status().eventsWritten, 1u, kWaitMs);
    QCOMPARE(storage.status().outboxDroppedRows, 0u);
    QCOMPARE(storage.status().outbox.rows, 200);
    QVERIFY(storage.stop());
}

void tst_OutboxStore::ageBoundDropsOld()
{
    const QString path = freshPath();
    auto clock = std::make_shared<std::atomic<qint64>>(kNow);
    StorageOptions o = options(path);
    o.clock = [clock] { return clock->load(); };
    o.maxOutboxAgeHours = 2;
    // Only the outbox in the retention pass, so it runs to its end at once.
    o.readingsRetentionDays = 0;
    o.metricsRetentionDays = 0;
    o.eventsRetentionDays = 0;
    o.retentionChunkRows = 2;
    Storage storage(o);
    QVERIFY(storage.start().ok());
    auto reader = Reader::open(path);
    QVERIFY2(reader, why(reader));

    auto writeAt = [&](qint64 createdMs, int batches) {
        clock->store(createdMs);
        const quint64 before = storage.status().outboxRowsWritten;
        for (int i = 0; i < batches; ++i)
            storage.writeReadings(batch(u"m1"_s, createdMs + i));
        storage.flush();
        QTRY_COMPARE_WITH_TIMEOUT(storage.status().outboxRowsWritten, before + quint64(batches), kWaitMs);
    };
    // Runs retention at `atMs` until `dropped` rows were dropped in all. A pass that drops nothing
    // ends before the marker event queued behind it is written; one that drops ends with the
    // count reached (its chunks take turns with queued writes).
    int markers = 0;
    auto retentionAt = [&](qint64 atMs, quint64 dropped) {
        clock->store(atMs);
        storage.runRetention();
        storage.writeEvent({atMs, QString(), u"marker"_s, QString(), QString()});
        storage.flush();
        ++markers;
        QTRY_COMPARE_WITH_TIMEOUT(
            scalar(*reader, u"SELECT count(*) FROM events WHERE kind = 'marker'"_s).toInt(), markers,
            kWaitMs);
        QTRY_COMPARE_WITH_TIMEOUT(storage.status().outboxDroppedRows, dropped, kWaitMs);
    };
    const QString message = u"outbox rows older than 2 hours: %1 oldest batches dropped unpublished;"
                            " their readings stay in the database"_s;

    writeAt(kNow, 5); // ids 1-5
    writeAt(kNow + kHourMs, 3); // ids 6-8
    retentionAt(kNow + 2 * kHourMs, 0); // nothing older than the bound yet (exactly 2 h is kept)
    QCOMPARE(outboxIds(*reader), idRange(1, 8));

    retentionAt(kNow + 2 * kHourMs + 1, 5);
    QCOMPARE(outboxIds(*reader), idRange(6, 8));
    QCOMPARE(storage.status().outbox, levelOf(*reader));
    QCOMPARE(storage.status().outbox.oldestCreatedMs, kNow + kHourMs);
    QCOMPARE(outboxEvents(*reader), QStringList {message.arg(5)});
    QTRY_COMPARE_WITH_TIMEOUT(warningsContaining(message.arg(5)), 1, kWaitMs);

    // The episode goes on while passes find rows too old: no second event.
    writeAt(kNow + 3 * kHourMs, 2); // ids 9-10
    retentionAt(kNow + 3 * kHourMs + 1, 8);
    QCOMPARE(outboxIds(*reader), idRange(9, 10));
    QCOMPARE(outboxEvents(*reader).size(), 1);
    // A pass with nothing too old ends it; the next drop starts another, with its own event.
    retentionAt(kNow + 4 * kHourMs, 8);
    retentionAt(kNow + 5 * kHourMs + 1, 10);
    QCOMPARE(outboxEvents(*reader), QStringList({message.arg(5), message.arg(2)}));
    QTRY_COMPARE_WITH_TIMEOUT(warningsContaining(u"dropped unpublished"), 2, kWaitMs);
    QCOMPARE(storage.status().outbox, OutboxLevel());
    QCOMPARE(levelOf(*reader), OutboxLevel());

    // The readings stay.
    QCOMPARE(scalar(*reader, u"SELECT count(*) FROM readings"_s).toLongLong(), 100);
    QVERIFY(storage.stop());
}

void tst_OutboxStore::migratesVersion2KeepingOutbox()
{
    const QString path = freshPath();
    QStringList statements = storage::migrationStatements(1) + storage::migrationStatements(2);
    statements
        << u"INSERT INTO outbox (meter_id, ts, payload, created_ms) VALUES"
           " ('m1', 1000, CAST('{\"ts\":1000,\"values\":{\"a\":1,\"b\":\"x\",\"c\":2.5}}' AS BLOB), 5000),"
           " ('m2', 2000, CAST('not json' AS BLOB), 6000),"
           " ('m1', 3000, CAST('{\"ts\":3000,\"values\":7}' AS BLOB), 7000)"_s
        << u"INSERT INTO readings (meter_id, ts, key, obis, value) VALUES ('m1', 1000, 'a', '1.0.1.8.0.255', 1)"_s
        << u"PRAGMA user_version = 2"_s;
    QCOMPARE(runRaw(path, statements), QString());

    // Read-only readers refuse the old version until the bridge migrated it.
    {
        const auto early = Reader::open(path);
        QVERIFY(!early);
        QVERIFY2(early.error().message.contains(u"schema version 2"_s), qPrintable(early.error().message));
    }

    Storage storage(options(path));
    QVERIFY(storage.start().ok());
    auto reader = Reader::open(path);
    QVERIFY2(reader, why(reader));
    QSqlDatabase db = reader->database();
    QCOMPARE(storage::schemaVersion(db), storage::SchemaVersion);
    QTRY_COMPARE_WITH_TIMEOUT(storage.status().outbox.rows, 3, kWaitMs);
    QCOMPARE(storage.status().outbox, levelOf(*reader));
    QCOMPARE(storage.status().outbox.oldestCreatedMs, 5000);

    const auto rows = reader->outboxRows(0, 10, 1 << 20);
    QVERIFY2(rows, why(rows));
    QCOMPARE(rows->size(), 3u);
    QCOMPARE(rows->at(0).payload, QByteArray(R"({"ts":1000,"values":{"a":1,"b":"x","c":2.5}})"));
    QCOMPARE(rows->at(0).valueCount, 3u); // counted from the payload by the migration
    QCOMPARE(rows->at(1).valueCount, 0u); // not JSON: kept, counted as none
    QCOMPARE(rows->at(2).valueCount, 0u); // "values" not an object
    QCOMPARE(rows->at(1).meterId, u"m2"_s);
    QCOMPARE(rows->at(2).createdMs, 7000);
    QCOMPARE(scalar(*reader, u"SELECT count(*) FROM readings"_s).toLongLong(), 1);

    // New rows continue the ids; acknowledgements work on the old ones.
    storage.writeReadings(batch(u"m3"_s, kNow, 2));
    storage.acknowledgeOutbox({1});
    storage.flush();
    QTRY_COMPARE_WITH_TIMEOUT(storage.status().outboxAcknowledgedRows, 1u, kWaitMs);
    QCOMPARE(outboxIds(*reader), (std::vector<qint64> {2, 3, 4}));
    QCOMPARE(storage.status().outbox, levelOf(*reader));
    QVERIFY(storage.stop());
}

void tst_OutboxStore::outboxRows_data()
{
    QTest::addColumn<qint64>("afterId");
    QTest::addColumn<int>("limit");
    QTest::addColumn<qint64>("maxBytes");
    QTest::addColumn<std::vector<qint64>>("expected");

    // Rows 1…5 carry 1…5 values: each a different size.
    std::vector<qint64> size {0};
    for (int i = 1; i <= 5; ++i)
        size.push_back(storage::outboxPayload(batch(u"m1"_s, kNow + i, i)).size());
    constexpr qint64 all = std::numeric_limits<qint64>::max();
    QTest::newRow("everything") << qint64(0) << 100 << all << std::vector<qint64> {1, 2, 3, 4, 5};
    QTest::newRow("limit") << qint64(0) << 2 << all << std::vector<qint64> {1, 2};
    QTest::newRow("after-id") << qint64(3) << 100 << all << std::vector<qint64> {4, 5};
    QTest::newRow("after-id-and-limit") << qint64(1) << 3 << all << std::vector<qint64> {2, 3, 4};
    QTest::newRow("after-unknown-id") << qint64(-7) << 1 << all << std::vector<qint64> {1};
    QTest::newRow("bytes-exact-fit") << qint64(0) << 100 << size[1] + size[2] << std::vector<qint64> {1, 2};
    QTest::newRow("bytes-one-short") << qint64(0) << 100 << size[1] + size[2] - 1 << std::vector<qint64> {1};
    QTest::newRow("bytes-from-after-id")
        << qint64(2) << 100 << size[3] + size[4] + size[5] << std::vector<qint64> {3, 4, 5};
    QTest::newRow("first-row-larger-than-max") << qint64(3) << 100 << qint64(1) << std::vector<qint64> {4};
    QTest::newRow("zero-bytes-still-one") << qint64(0) << 100 << qint64(0) << std::vector<qint64> {1};
    QTest::newRow("limit-wins-over-bytes") << qint64(0) << 1 << all << std::vector<qint64> {1};
    QTest::newRow("after-last") << qint64(5) << 100 << all << std::vector<qint64> {};
    QTest::newRow("zero-limit") << qint64(0) << 0 << all << std::vector<qint64> {};
    QTest::newRow("negative-limit") << qint64(0) << -1 << all << std::vector<qint64> {};
}

void tst_OutboxStore::outboxRows()
{
    QFETCH(qint64, afterId);
    QFETCH(int, limit);
    QFETCH(qint64, maxBytes);
    QFETCH(std::vector<qint64>, expected);

    const QString path = freshPath();
    {
        Storage storage(options(path));
        QVERIFY(storage.start().ok());
        for (int i = 1; i <= 5; ++i)
            storage.writeReadings(batch(u"m"_s + QString::number(i % 2), kNow + i, i));
        QVERIFY(storage.stop());
    }
    auto reader = Reader::open(path);
    QVERIFY2(reader, why(reader));
    // The prepared query is reused: the same call twice gives the same rows.
    for (int round = 0; round < 2; ++round) {
        const auto rows = reader->outboxRows(afterId, limit, maxBytes);
        QVERIFY2(rows, why(rows));
        std::vector<qint64> ids;
        for (const OutboxRow &row : *rows) {
            ids.push_back(row.id);
            QCOMPARE(row.valueCount, quint32(row.id));
            QCOMPARE(row.timestampMs, kNow + row.id);
            QCOMPARE(row.meterId, u"m"_s + QString::number(row.id % 2));
            QCOMPARE(row.payload, storage::outboxPayload(batch(row.meterId, kNow + row.id, int(row.id))));
            QCOMPARE(row.createdMs, kNow);
        }
        QCOMPARE(ids, expected);
    }
}

void tst_OutboxStore::outboxRowsSeesNewRows()
{
    const QString path = freshPath();
    Storage storage(options(path));
    QVERIFY(storage.start().ok());
    auto opened = Reader::open(path);
    QVERIFY2(opened, why(opened));
    Reader reader = std::move(*opened); // a moved reader keeps its prepared query working
    auto first = reader.outboxRows(0, 10, 1 << 20);
    QVERIFY2(first, why(first));
    QVERIFY(first->empty());

    QSignalSpy committed(&storage, &Storage::committed);
    for (int round = 0; round < 3; ++round) {
        for (int i = 0; i < 4; ++i)
            storage.writeReadings(batch(u"m1"_s, kNow + round * 10 + i, 2));
        storage.flush();
        QTRY_COMPARE_WITH_TIMEOUT(committed.size(), round + 1, kWaitMs);
        const qint64 lastId = committed.last().at(1).toLongLong();
        QCOMPARE(lastId, (round + 1) * 4);
        // Each call sees what was committed before it: no read transaction is left open.
        const auto rows = reader.outboxRows(round * 4, 100, 1 << 20);
        QVERIFY2(rows, why(rows));
        QCOMPARE(rows->size(), 4u);
        QCOMPARE(rows->back().id, lastId);
    }
    // The writer can checkpoint the whole WAL: no reader holds a snapshot between calls.
    QCOMPARE(storage.status().outbox, levelOf(reader));
    QVERIFY(storage.stop());
}

void tst_OutboxStore::acknowledgementsWaitWhileDiskFull()
{
    const QString path = freshPath();
    QCOMPARE(createDatabase(path), QString());
    Storage storage(options(path));
    QVERIFY(storage.start().ok());
    for (int i = 0; i < 10; ++i)
        storage.writeReadings(batch(u"m1"_s, kNow + i));
    storage.flush();
    QTRY_COMPARE_WITH_TIMEOUT(storage.status().outbox.rows, 10, kWaitMs);
    auto reader = Reader::open(path);
    QVERIFY2(reader, why(reader));
    const OutboxLevel before = levelOf(*reader);

    // The file may not grow: a transaction of many readings fails like a full disk.
    const qint64 pages = scalar(*reader, u"PRAGMA page_count"_s).toLongLong();
    QVERIFY(pages > 0);
    storage.setMaxPageCount(pages);
    for (int i = 10; i < 400; ++i)
        storage.writeReadings(batch(u"m1"_s, kNow + i, 10, i));
    storage.flush();
    QTRY_COMPARE_WITH_TIMEOUT(storage.status().state, StorageState::Failing, kWaitMs);

    // The acknowledgements ride with the failing transactions: rolled back, kept queued.
    const quint64 errors = storage.status().writeErrors;
    storage.acknowledgeOutbox({1, 2, 3});
    QTRY_VERIFY_WITH_TIMEOUT(storage.status().writeErrors >= errors + 2, kWaitMs);
    QCOMPARE(storage.status().state, StorageState::Failing);
    QCOMPARE(storage.status().outboxAcknowledgedRows, 0u);
    QCOMPARE(levelOf(*reader), before);
    QCOMPARE(storage.status().outbox, before);
    QCOMPARE(outboxIds(*reader), idRange(1, 10));

    storage.setMaxPageCount(0);
    QTRY_COMPARE_WITH_TIMEOUT(storage.status().state, StorageState::Ok, kWaitMs);
    storage.flush();
    QTRY_COMPARE_WITH_TIMEOUT(storage.status().queuedReadings, 0, kWaitMs);
    QTRY_COMPARE_WITH_TIMEOUT(storage.status().outboxAcknowledgedRows, 3u, kWaitMs);
    QCOMPARE(storage.status().outbox, levelOf(*reader));
    QCOMPARE(storage.status().outbox.rows, 397);
    QCOMPARE(outboxIds(*reader), idRange(4, 400));
    QCOMPARE(storage.status().droppedReadings, 0u);
    QVERIFY(storage.stop());
}

QTEST_GUILESS_MAIN(tst_OutboxStore)
#include "tst_outboxstore.moc"
