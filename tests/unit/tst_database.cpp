#include "database.h"
#include "storage.h"

#include <QtCore/QDateTime>
#include <QtCore/QDir>
#include <QtCore/QFile>
#include <QtCore/QFileInfo>
#include <QtCore/QSet>
#include <QtCore/QTemporaryDir>
#include <QtSql/QSqlError>
#include <QtSql/QSqlQuery>
#include <QtTest/QTest>

using namespace Qt::StringLiterals;
using storage::OpenMode;
using storage::OpenOptions;

namespace {

// 2025-10-31 22:05:00 UTC.
constexpr qint64 kSeedTimeMs = 1'761'948'300'000;

const QStringList kSeedColumns {u"id"_s, u"meter_id"_s, u"timestamp"_s, u"dlms_requests_sent"_s,
    u"dlms_responses_recv"_s, u"dlms_bytes_sent"_s, u"dlms_bytes_recv"_s, u"dlms_avg_payload_size"_s,
    u"mqtt_messages_sent"_s, u"mqtt_bytes_sent"_s, u"bandwidth_tx_bps"_s, u"bandwidth_rx_bps"_s,
    u"packets_tx_ps"_s, u"packets_rx_ps"_s};

// Runs statements on a plain QSQLITE connection (no WAL, no migration): builds the old or
// foreign files the tests open. Empty string on success, else the failing statement's error.
QString runRaw(const QString &path, const QStringList &statements)
{
    static int counter = 0;
    const QString name = u"tst-raw-"_s + QString::number(++counter);
    QString error;
    {
        QSqlDatabase db = QSqlDatabase::addDatabase(u"QSQLITE"_s, name);
        db.setDatabaseName(path);
        if (!db.open()) {
            error = db.lastError().text();
        } else {
            QSqlQuery query(db);
            for (const QString &sql : statements) {
                if (!query.exec(sql)) {
                    error = sql + u": "_s + query.lastError().text();
                    break;
                }
            }
        }
    }
    QSqlDatabase::removeDatabase(name);
    return error;
}

QByteArray readAll(const QString &path)
{
    QFile file(path);
    return file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray();
}

QStringList columnsOf(QSqlDatabase &db, const QString &table)
{
    QStringList columns;
    QSqlQuery query(db);
    query.setForwardOnly(true);
    query.exec(u"PRAGMA table_info("_s + table + u')');
    while (query.next())
        columns.append(query.value(1).toString());
    return columns;
}

QVariant scalar(QSqlDatabase &db, const QString &sql)
{
    QSqlQuery query(db);
    query.setForwardOnly(true);
    if (!query.exec(sql) || !query.next())
        return {};
    return query.value(0);
}

// The Python bridge's file as SQLAlchemy creates it: its own meters table, a foreign key, and
// DATETIME stored as text with microseconds.
QStringList sqlalchemyBridge(bool withMetersTable)
{
    QStringList statements;
    if (withMetersTable) {
        statements << u"CREATE TABLE meters (id INTEGER NOT NULL, name VARCHAR(100), ip_address VARCHAR(50),"
                      " port INTEGER, PRIMARY KEY (id))"_s
                   << u"INSERT INTO meters VALUES (1, 'medidor_dlms_principal', '192.168.1.127', 3333)"_s;
    }
    statements
        << u"CREATE TABLE network_metrics (\n\tid INTEGER NOT NULL, \n\tmeter_id INTEGER, \n\ttimestamp "
           "DATETIME, \n\tdlms_requests_sent INTEGER, \n\tdlms_responses_recv INTEGER, \n\tdlms_bytes_sent "
           "INTEGER, \n\tdlms_bytes_recv INTEGER, \n\tdlms_avg_payload_size FLOAT, \n\tmqtt_messages_sent "
           "INTEGER, \n\tmqtt_bytes_sent INTEGER, \n\tbandwidth_tx_bps FLOAT, \n\tbandwidth_rx_bps FLOAT, "
           "\n\tpackets_tx_ps FLOAT, \n\tpackets_rx_ps FLOAT, \n\tPRIMARY KEY (id)"_s
            + (withMetersTable ? u", \n\tFOREIGN KEY(meter_id) REFERENCES meters (id)"_s : QString())
            + u"\n)"_s;
    return statements;
}

QStringList seedRows()
{
    return {
        u"INSERT INTO network_metrics VALUES (1, 1, '2025-10-31 22:05:00.123456', 120, 118, 2400, 9100, 48.5,"
        " 60, 18000, 1520.25, 4100.5, 2.25, 2.5)"_s,
        u"INSERT INTO network_metrics VALUES (2, 1, '2025-10-31 22:06:00.000000', 121, 121, 2420, 9200, 48.0,"
        " 61, 18300, 1530.0, 4200.0, 2.0, 2.0)"_s,
        u"INSERT INTO network_metrics VALUES (7, 2, '2025-10-31 22:07:00', NULL, NULL, NULL, NULL, NULL,"
        " NULL, NULL, NULL, NULL, NULL, NULL)"_s,
    };
}

} // namespace

class tst_Database : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void freshFileHasCurrentSchema();
    void migratesOldDatabase_data();
    void migratesOldDatabase();
    void failedMigrationRollsBack();
    void foreignFileRefused_data();
    void foreignFileRefused();
    void emptyFileAdopted();
    void pythonFileWithOtherTablesAdopted();
    void migratedTimestamps_data();
    void migratedTimestamps();
    void migratedSecondsSurviveRetention();
    void newerSchemaRefused();
    void notSqliteRefused();
    void missingDirectoryRefused();
    void emptyPathRefused();
    void readOnly_data();
    void readOnly();
    void connectionNamesUniqueAndRemoved();
    void fullOrReadOnlyErrorsRecognised();

private:
    QTemporaryDir m_dir;
};

void tst_Database::initTestCase()
{
    QVERIFY(m_dir.isValid());
    QVERIFY(QSqlDatabase::isDriverAvailable(u"QSQLITE"_s));
}

void tst_Database::freshFileHasCurrentSchema()
{
    const QString path = m_dir.filePath(u"fresh.db"_s);
    const QString name = storage::makeConnectionName(u"test");
    {
        auto opened = storage::openDatabase(path, name);
        QVERIFY2(opened.ok(), qPrintable(opened ? QString() : opened.error().message));
        QSqlDatabase db = opened.value();
        QCOMPARE(storage::schemaVersion(db), storage::SchemaVersion);
        QCOMPARE(storage::SchemaVersion, 4);
        QCOMPARE(scalar(db, u"PRAGMA journal_mode"_s).toString(), u"wal"_s);

        const QStringList metrics = columnsOf(db, u"network_metrics"_s);
        for (const QString &column : kSeedColumns)
            QVERIFY2(metrics.contains(column), qPrintable(column));
        for (const QString &column : {u"period_s"_s, u"dlms_frames_sent"_s, u"dlms_frames_recv"_s,
                 u"dlms_timeouts"_s, u"dlms_protocol_errors"_s, u"dlms_reconnects"_s, u"polls_attempted"_s,
                 u"polls_completed"_s, u"polls_failed"_s, u"values_read"_s, u"rtt_avg_ms"_s, u"rtt_p95_ms"_s,
                 u"rtt_max_ms"_s, u"rtt_samples"_s, u"mqtt_packet_bytes_sent"_s, u"mqtt_publish_failures"_s,
                 u"outbox_backlog"_s, u"bandwidth_tx_peak_bps"_s, u"bandwidth_rx_peak_bps"_s,
                 u"if_rx_errors"_s, u"if_tx_errors"_s, u"if_rx_drops"_s, u"if_tx_drops"_s})
            QVERIFY2(metrics.contains(column), qPrintable(column));
        QCOMPARE(metrics.size(), 37);

        QCOMPARE(columnsOf(db, u"meters"_s),
            QStringList({u"id"_s, u"name"_s, u"host"_s, u"port"_s, u"transport"_s, u"first_seen_ms"_s,
                u"updated_ms"_s, u"removed_ms"_s}));
        QCOMPARE(columnsOf(db, u"readings"_s),
            QStringList(
                {u"id"_s, u"meter_id"_s, u"ts"_s, u"key"_s, u"obis"_s, u"value"_s, u"unit"_s, u"quality"_s}));
        QCOMPARE(columnsOf(db, u"events"_s),
            QStringList({u"id"_s, u"ts"_s, u"meter_id"_s, u"kind"_s, u"state"_s, u"message"_s}));
        QCOMPARE(columnsOf(db, u"outbox"_s),
            QStringList({u"id"_s, u"meter_id"_s, u"ts"_s, u"payload"_s, u"created_ms"_s, u"attempts"_s,
                u"value_count"_s}));
        QCOMPARE(columnsOf(db, u"commissioning_sessions"_s),
            QStringList({u"id"_s, u"site"_s, u"technician"_s, u"notes"_s, u"started_ms"_s, u"finished_ms"_s,
                u"state"_s, u"config_file"_s, u"previous_id"_s}));
        QCOMPARE(columnsOf(db, u"commissioning_meters"_s),
            QStringList({u"session_id"_s, u"position"_s, u"meter_id"_s, u"meter_name"_s, u"endpoint"_s,
                u"serial_number"_s, u"logical_device_name"_s, u"firmware"_s}));
        QCOMPARE(columnsOf(db, u"commissioning_checks"_s),
            QStringList({u"id"_s, u"session_id"_s, u"meter_id"_s, u"position"_s, u"check_id"_s, u"status"_s,
                u"value"_s, u"unit"_s, u"measured"_s, u"explanation"_s, u"ts"_s}));
        QCOMPARE(scalar(db, u"PRAGMA foreign_keys"_s).toInt(), 1);

        QSet<QString> indexes;
        QSqlQuery query(db);
        query.setForwardOnly(true);
        QVERIFY(query.exec(
            u"SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%'"_s));
        while (query.next())
            indexes.insert(query.value(0).toString());
        QCOMPARE(indexes,
            QSet<QString>({u"network_metrics_meter_ts"_s, u"network_metrics_ts"_s, u"readings_meter_ts"_s,
                u"readings_ts"_s, u"events_ts"_s, u"commissioning_checks_session_meter"_s}));
    }
    storage::closeDatabase(name);
    QVERIFY(!QSqlDatabase::contains(name));

    // Opening again is a no-op migration: same version, nothing rebuilt.
    const QString again = storage::makeConnectionName(u"test");
    {
        auto opened = storage::openDatabase(path, again);
        QVERIFY(opened.ok());
        QCOMPARE(storage::schemaVersion(opened.value()), storage::SchemaVersion);
    }
    storage::closeDatabase(again);
}

void tst_Database::migratesOldDatabase_data()
{
    QTest::addColumn<QStringList>("schema");
    QTest::addColumn<int>("startVersion");
    QTest::addColumn<bool>("foreignMeters");

    QTest::newRow("python-bridge-sqlalchemy-v0") << sqlalchemyBridge(false) << 0 << false;
    QTest::newRow("python-bridge-seed-ddl-v0") << storage::migrationStatements(1) << 0 << false;
    QTest::newRow("version-1") << storage::migrationStatements(1) << 1 << false;
    QTest::newRow("python-bridge-with-own-meters-table") << sqlalchemyBridge(true) << 0 << true;
}

void tst_Database::migratesOldDatabase()
{
    QFETCH(QStringList, schema);
    QFETCH(int, startVersion);
    QFETCH(bool, foreignMeters);

    const QString path = m_dir.filePath(QString::fromLatin1(QTest::currentDataTag()) + u".db"_s);
    QStringList statements = schema + seedRows();
    statements << u"PRAGMA user_version = "_s + QString::number(startVersion);
    QCOMPARE(runRaw(path, statements), QString());

    const QString name = storage::makeConnectionName(u"test");
    {
        auto opened = storage::openDatabase(path, name);
        QVERIFY2(opened.ok(), qPrintable(opened ? QString() : opened.error().message));
        QSqlDatabase db = opened.value();
        QCOMPARE(storage::schemaVersion(db), storage::SchemaVersion);

        QSqlQuery query(db);
        query.setForwardOnly(true);
        QVERIFY(query.exec(u"SELECT id, meter_id, typeof(meter_id), timestamp, typeof(timestamp), period_s,"
                           " dlms_requests_sent, dlms_responses_recv, dlms_bytes_sent, dlms_bytes_recv,"
                           " dlms_avg_payload_size, mqtt_messages_sent, mqtt_bytes_sent, bandwidth_tx_bps,"
                           " bandwidth_rx_bps, packets_tx_ps, packets_rx_ps, dlms_timeouts, rtt_max_ms"
                           " FROM network_metrics ORDER BY id"_s));
        QVERIFY(query.next());
        QCOMPARE(query.value(0).toLongLong(), 1);
        QCOMPARE(query.value(1).toString(), u"1"_s);
        QCOMPARE(query.value(2).toString(), u"text"_s);
        QCOMPARE(query.value(3).toLongLong(), kSeedTimeMs + 123);
        QCOMPARE(query.value(4).toString(), u"integer"_s);
        QCOMPARE(query.value(5).toDouble(), 60.0);
        QCOMPARE(query.value(6).toLongLong(), 120);
        QCOMPARE(query.value(7).toLongLong(), 118);
        QCOMPARE(query.value(8).toLongLong(), 2400);
        QCOMPARE(query.value(9).toLongLong(), 9100);
        QCOMPARE(query.value(10).toDouble(), 48.5);
        QCOMPARE(query.value(11).toLongLong(), 60);
        QCOMPARE(query.value(12).toLongLong(), 18000);
        QCOMPARE(query.value(13).toDouble(), 1520.25);
        QCOMPARE(query.value(14).toDouble(), 4100.5);
        QCOMPARE(query.value(15).toDouble(), 2.25);
        QCOMPARE(query.value(16).toDouble(), 2.5);
        QCOMPARE(query.value(17).toLongLong(), 0);
        QCOMPARE(query.value(18).toDouble(), 0.0);

        QVERIFY(query.next());
        QCOMPARE(query.value(0).toLongLong(), 2);
        QCOMPARE(query.value(1).toString(), u"1"_s);
        QCOMPARE(query.value(3).toLongLong(), kSeedTimeMs + 60'000);
        QCOMPARE(query.value(6).toLongLong(), 121);
        QCOMPARE(query.value(16).toDouble(), 2.0);

        // NULLs of the old table become 0 (the new columns are NOT NULL).
        QVERIFY(query.next());
        QCOMPARE(query.value(0).toLongLong(), 7);
        QCOMPARE(query.value(1).toString(), u"2"_s);
        QCOMPARE(query.value(3).toLongLong(), kSeedTimeMs + 120'000);
        QCOMPARE(query.value(6).toLongLong(), 0);
        QCOMPARE(query.value(10).toDouble(), 0.0);
        QVERIFY(!query.next());
        query.finish();

        QCOMPARE(columnsOf(db, u"meters"_s).size(), 8);
        QCOMPARE(scalar(db, u"SELECT count(*) FROM readings"_s).toLongLong(), 0);
        if (foreignMeters) {
            // The Python bridge's own meters table is kept aside, its rows intact, and its names
            // copied into ours under the text ids its network_metrics rows now carry.
            QCOMPARE(scalar(db, u"SELECT name FROM meters_v1 WHERE id = 1"_s).toString(),
                u"medidor_dlms_principal"_s);
            QCOMPARE(scalar(db, u"SELECT count(*) FROM meters"_s).toLongLong(), 1);
            QCOMPARE(scalar(db, u"SELECT name FROM meters WHERE id = '1'"_s).toString(),
                u"medidor_dlms_principal"_s);
        } else {
            QCOMPARE(scalar(db, u"SELECT count(*) FROM meters"_s).toLongLong(), 0);
        }
    }
    storage::closeDatabase(name);
}

void tst_Database::failedMigrationRollsBack()
{
    // A leftover table with the migration's temporary name makes step 2 fail half way.
    const QString path = m_dir.filePath(u"half.db"_s);
    QStringList statements = storage::migrationStatements(1) + seedRows();
    statements << u"CREATE TABLE network_metrics_v2 (x)"_s << u"PRAGMA user_version = 1"_s;
    QCOMPARE(runRaw(path, statements), QString());

    const QString name = storage::makeConnectionName(u"test");
    auto opened = storage::openDatabase(path, name);
    QVERIFY(!opened.ok());
    QCOMPARE(opened.error().code, dlms::ErrorCode::IoError);
    QVERIFY2(opened.error().message.contains(path), qPrintable(opened.error().message));
    QVERIFY2(opened.error().message.contains(u"version 2"_s), qPrintable(opened.error().message));
    QVERIFY(!QSqlDatabase::contains(name));

    // Still version 1 with the old table and its rows; none of version 2's tables.
    const QString check = u"tst-check-half"_s;
    {
        QSqlDatabase db = QSqlDatabase::addDatabase(u"QSQLITE"_s, check);
        db.setDatabaseName(path);
        QVERIFY(db.open());
        QCOMPARE(storage::schemaVersion(db), 1);
        QCOMPARE(scalar(db, u"SELECT count(*) FROM network_metrics"_s).toLongLong(), 3);
        QCOMPARE(scalar(db, u"SELECT typeof(timestamp) FROM network_metrics WHERE id = 1"_s).toString(),
            u"text"_s);
        QCOMPARE(scalar(db, u"SELECT count(*) FROM sqlite_master WHERE name = 'readings'"_s).toLongLong(), 0);
    }
    QSqlDatabase::removeDatabase(check);
}

void tst_Database::foreignFileRefused_data()
{
    QTest::addColumn<QStringList>("schema");
    QTest::addColumn<QString>("tables");

    QTest::newRow("unrelated-readings-table")
        << QStringList {u"CREATE TABLE readings (sensor TEXT, celsius REAL)"_s,
               u"INSERT INTO readings VALUES ('attic', 21.5)"_s}
        << u"readings"_s;
    QTest::newRow("network-metrics-without-seed-columns")
        << QStringList {u"CREATE TABLE network_metrics (id INTEGER PRIMARY KEY, meter_id TEXT, value REAL)"_s}
        << u"network_metrics"_s;
}

void tst_Database::foreignFileRefused()
{
    QFETCH(QStringList, schema);
    QFETCH(QString, tables);

    const QString path = m_dir.filePath(QString::fromLatin1(QTest::currentDataTag()) + u".db"_s);
    QCOMPARE(runRaw(path, schema), QString());
    const QByteArray before = readAll(path);
    QVERIFY(!before.isEmpty());

    const QString name = storage::makeConnectionName(u"test");
    auto opened = storage::openDatabase(path, name);
    QVERIFY(!opened.ok());
    QCOMPARE(opened.error().code, dlms::ErrorCode::InvalidArgument);
    QCOMPARE(opened.error().message,
        path + u": not a DLMS Bridge or Python bridge database (tables: "_s + tables + u')');
    QVERIFY(!QSqlDatabase::contains(name));
    // Untouched: same bytes, no WAL switch, still version 0.
    QCOMPARE(readAll(path), before);
    QVERIFY(!QFileInfo::exists(path + u"-wal"_s));
}

void tst_Database::emptyFileAdopted()
{
    const QString path = m_dir.filePath(u"empty.db"_s);
    {
        QFile file(path);
        QVERIFY(file.open(QIODevice::WriteOnly));
    }
    QCOMPARE(QFileInfo(path).size(), 0);
    const QString name = storage::makeConnectionName(u"test");
    {
        auto opened = storage::openDatabase(path, name);
        QVERIFY2(opened.ok(), qPrintable(opened ? QString() : opened.error().message));
        QSqlDatabase db = opened.value();
        QCOMPARE(storage::schemaVersion(db), storage::SchemaVersion);
        QCOMPARE(columnsOf(db, u"network_metrics"_s).size(), 37);
    }
    storage::closeDatabase(name);
}

void tst_Database::pythonFileWithOtherTablesAdopted()
{
    const QString path = m_dir.filePath(u"python-with-users.db"_s);
    QCOMPARE(runRaw(path,
                 storage::migrationStatements(1)
                     << u"CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT)"_s
                     << u"INSERT INTO users VALUES (1, 'tech@example.org')"_s
                     << u"INSERT INTO network_metrics (meter_id, timestamp, dlms_requests_sent)"
                        " VALUES (1, '2025-10-31 22:05:00', 278)"_s),
        QString());
    const QString name = storage::makeConnectionName(u"test");
    {
        auto opened = storage::openDatabase(path, name);
        QVERIFY2(opened.ok(), qPrintable(opened ? QString() : opened.error().message));
        QSqlDatabase db = opened.value();
        QCOMPARE(storage::schemaVersion(db), storage::SchemaVersion);
        QCOMPARE(scalar(db, u"SELECT email FROM users WHERE id = 1"_s).toString(), u"tech@example.org"_s);
        QCOMPARE(
            scalar(db, u"SELECT dlms_requests_sent FROM network_metrics WHERE meter_id = '1'"_s).toLongLong(),
            278);
    }
    storage::closeDatabase(name);
}

void tst_Database::migratedTimestamps_data()
{
    QTest::addColumn<QString>("timestamp"); // an SQL literal
    QTest::addColumn<qint64>("expectedMs"); // -1: the migration time

    QTest::newRow("real-seconds") << u"1761948300.5"_s << kSeedTimeMs + 500;
    QTest::newRow("integer-seconds") << u"1761948300"_s << kSeedTimeMs;
    QTest::newRow("integer-ms") << u"1761948300123"_s << kSeedTimeMs + 123;
    QTest::newRow("real-ms") << u"1761948300123.0"_s << kSeedTimeMs + 123;
    QTest::newRow("iso-text") << u"'2025-10-31T22:05:00'"_s << kSeedTimeMs;
    QTest::newRow("unparseable-text") << u"'yesterday'"_s << qint64(-1);
}

void tst_Database::migratedTimestamps()
{
    QFETCH(QString, timestamp);
    QFETCH(qint64, expectedMs);

    const QString path = m_dir.filePath(u"ts-"_s + QString::fromLatin1(QTest::currentDataTag()) + u".db"_s);
    QCOMPARE(
        runRaw(path,
            sqlalchemyBridge(false)
                << u"INSERT INTO network_metrics (id, meter_id, timestamp, dlms_requests_sent) VALUES (1, 3, "_s
                    + timestamp + u", 5)"_s),
        QString());
    const qint64 before = QDateTime::currentMSecsSinceEpoch();
    const QString name = storage::makeConnectionName(u"test");
    {
        auto opened = storage::openDatabase(path, name);
        QVERIFY2(opened.ok(), qPrintable(opened ? QString() : opened.error().message));
        const qint64 after = QDateTime::currentMSecsSinceEpoch();
        QSqlDatabase db = opened.value();
        // The row is kept either way.
        QCOMPARE(
            scalar(db, u"SELECT dlms_requests_sent FROM network_metrics WHERE id = 1"_s).toLongLong(), 5);
        const qint64 migrated
            = scalar(db, u"SELECT timestamp FROM network_metrics WHERE id = 1"_s).toLongLong();
        if (expectedMs >= 0) {
            QCOMPARE(migrated, expectedMs);
        } else {
            // julianday('now') has ms resolution; allow its rounding.
            QVERIFY2(migrated >= before - 1 && migrated <= after + 1, qPrintable(QString::number(migrated)));
        }
    }
    storage::closeDatabase(name);
}

void tst_Database::migratedSecondsSurviveRetention()
{
    // REAL seconds read as ms would be January 1970 and fall to retention at once.
    const QString path = m_dir.filePath(u"retention.db"_s);
    QCOMPARE(
        runRaw(path,
            sqlalchemyBridge(false)
                << u"INSERT INTO network_metrics (id, meter_id, timestamp) VALUES (1, 1, 1761948300.25)"_s
                << u"INSERT INTO network_metrics (id, meter_id, timestamp) VALUES (2, 1, 1500000000.0)"_s),
        QString());

    storage::StorageOptions options;
    options.path = path;
    options.metricsRetentionDays = 400;
    options.retentionIntervalMs = 3'600'000;
    options.clock = [] { return kSeedTimeMs + 86'400'000; };
    {
        storage::Storage storage(options);
        const auto started = storage.start();
        QVERIFY2(started.ok(), qPrintable(started ? QString() : started.error().message));
        storage.runRetention();
        // The 2017 row goes (proving retention ran); the 2025 row stays.
        QTRY_COMPARE(storage.status().retentionDeletedRows, quint64(1));
        QVERIFY(storage.stop());
    }
    const QString name = storage::makeConnectionName(u"test");
    {
        auto opened = storage::openDatabase(path, name);
        QVERIFY(opened.ok());
        QSqlDatabase db = opened.value();
        QCOMPARE(scalar(db, u"SELECT count(*) FROM network_metrics"_s).toLongLong(), 1);
        QCOMPARE(scalar(db, u"SELECT timestamp FROM network_metrics WHERE id = 1"_s).toLongLong(),
            kSeedTimeMs + 250);
    }
    storage::closeDatabase(name);
}

void tst_Database::newerSchemaRefused()
{
    const QString path = m_dir.filePath(u"newer.db"_s);
    QCOMPARE(runRaw(path,
                 {u"CREATE TABLE future (x)"_s, u"INSERT INTO future VALUES (42)"_s,
                     u"PRAGMA user_version = 99"_s}),
        QString());
    const QByteArray before = readAll(path);
    QVERIFY(!before.isEmpty());

    const QString name = storage::makeConnectionName(u"test");
    auto opened = storage::openDatabase(path, name);
    QVERIFY(!opened.ok());
    QCOMPARE(opened.error().code, dlms::ErrorCode::InvalidArgument);
    const QString &message = opened.error().message;
    QVERIFY2(message.contains(path) && message.contains(u"99"_s) && message.contains(u"newer"_s),
        qPrintable(message));
    QVERIFY(!QSqlDatabase::contains(name));
    // Not even switched to WAL: a newer program's file is left exactly as it was.
    QCOMPARE(readAll(path), before);
    QVERIFY(!QFileInfo::exists(path + u"-wal"_s));
}

void tst_Database::notSqliteRefused()
{
    const QString path = m_dir.filePath(u"garbage.db"_s);
    QByteArray garbage;
    for (int i = 0; i < 4096; ++i)
        garbage.append(char((i * 131 + 7) & 0xff));
    {
        QFile file(path);
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.write(garbage);
    }
    for (OpenMode mode : {OpenMode::ReadWrite, OpenMode::ReadOnly}) {
        const QString name = storage::makeConnectionName(u"test");
        OpenOptions options;
        options.mode = mode;
        auto opened = storage::openDatabase(path, name, options);
        QVERIFY(!opened.ok());
        QCOMPARE(opened.error().code, dlms::ErrorCode::IoError);
        QVERIFY2(opened.error().message.contains(path), qPrintable(opened.error().message));
        QVERIFY2(
            opened.error().message.contains(u"not an SQLite database"_s), qPrintable(opened.error().message));
        QVERIFY(!QSqlDatabase::contains(name));
        QCOMPARE(readAll(path), garbage);
    }
}

void tst_Database::missingDirectoryRefused()
{
    const QString path = m_dir.filePath(u"no/such/dir/bridge.db"_s);
    const QString name = storage::makeConnectionName(u"test");
    auto opened = storage::openDatabase(path, name);
    QVERIFY(!opened.ok());
    QCOMPARE(opened.error().code, dlms::ErrorCode::IoError);
    QVERIFY2(opened.error().message.contains(path), qPrintable(opened.error().message));
    QVERIFY(!QSqlDatabase::contains(name));
    QVERIFY(!QFileInfo::exists(m_dir.filePath(u"no"_s)));
}

void tst_Database::emptyPathRefused()
{
    const QString name = storage::makeConnectionName(u"test");
    auto opened = storage::openDatabase(QString(), name);
    QVERIFY(!opened.ok());
    QCOMPARE(opened.error().code, dlms::ErrorCode::InvalidArgument);
    QVERIFY(!QSqlDatabase::contains(name));
}

void tst_Database::readOnly_data()
{
    QTest::addColumn<int>("fileVersion"); // -1: no file
    QTest::addColumn<bool>("opens");

    QTest::newRow("missing-file") << -1 << false;
    QTest::newRow("version-0-python-bridge") << 0 << false;
    QTest::newRow("version-1") << 1 << false;
    QTest::newRow("version-2") << 2 << false;
    QTest::newRow("version-3") << 3 << false;
    QTest::newRow("current-version") << storage::SchemaVersion << true;
}

void tst_Database::readOnly()
{
    QFETCH(int, fileVersion);
    QFETCH(bool, opens);

    const QString path = m_dir.filePath(u"ro-"_s + QString::fromLatin1(QTest::currentDataTag()) + u".db"_s);
    if (fileVersion == storage::SchemaVersion) {
        const QString name = storage::makeConnectionName(u"test");
        QVERIFY(storage::openDatabase(path, name).ok());
        storage::closeDatabase(name);
    } else if (fileVersion >= 0) {
        QStringList statements = storage::migrationStatements(1) + seedRows();
        for (int step = 2; step <= fileVersion; ++step)
            statements += storage::migrationStatements(step);
        statements << u"PRAGMA user_version = "_s + QString::number(fileVersion);
        QCOMPARE(runRaw(path, statements), QString());
    }
    const QByteArray before = readAll(path);

    OpenOptions options;
    options.mode = OpenMode::ReadOnly;
    const QString name = storage::makeConnectionName(u"test");
    {
        auto opened = storage::openDatabase(path, name, options);
        QCOMPARE(opened.ok(), opens);
        if (!opens) {
            QCOMPARE(opened.error().code, dlms::ErrorCode::IoError);
            QVERIFY2(opened.error().message.contains(path), qPrintable(opened.error().message));
            QVERIFY(!QSqlDatabase::contains(name));
            // Read-only never creates, migrates or converts.
            QCOMPARE(QFileInfo::exists(path), fileVersion >= 0);
            QCOMPARE(readAll(path), before);
            return;
        }
        QSqlDatabase db = opened.value();
        QSqlQuery query(db);
        QVERIFY(query.exec(u"SELECT count(*) FROM readings"_s));
        query.finish();
        QVERIFY(!query.exec(u"INSERT INTO events (ts, kind) VALUES (1, 'x')"_s));
    }
    storage::closeDatabase(name);
    QVERIFY(!QSqlDatabase::contains(name));
}

void tst_Database::connectionNamesUniqueAndRemoved()
{
    QSet<QString> names;
    for (int i = 0; i < 100; ++i)
        names.insert(storage::makeConnectionName(u"reader"));
    QCOMPARE(names.size(), 100);
    for (const QString &name : std::as_const(names))
        QVERIFY2(name.startsWith(u"dlmsbridge-reader-"_s), qPrintable(name));

    const QString path = m_dir.filePath(u"names.db"_s);
    const QString writer = storage::makeConnectionName(u"writer");
    const QString reader = storage::makeConnectionName(u"reader");
    QVERIFY(writer != reader);
    {
        auto rw = storage::openDatabase(path, writer);
        QVERIFY(rw.ok());
        OpenOptions options;
        options.mode = OpenMode::ReadOnly;
        auto ro = storage::openDatabase(path, reader, options);
        QVERIFY(ro.ok());
        QVERIFY(QSqlDatabase::contains(writer));
        QVERIFY(QSqlDatabase::contains(reader));
    }
    storage::closeDatabase(reader);
    QVERIFY(!QSqlDatabase::contains(reader));
    QVERIFY(QSqlDatabase::contains(writer));
    storage::closeDatabase(writer);
    QVERIFY(!QSqlDatabase::contains(writer));
}

void tst_Database::fullOrReadOnlyErrorsRecognised()
{
    const QString path = m_dir.filePath(u"errors.db"_s);
    const QString name = storage::makeConnectionName(u"test");
    {
        auto opened = storage::openDatabase(path, name);
        QVERIFY(opened.ok());
        QSqlDatabase db = opened.value();

        // A constraint violation is the data's fault, not the disk's.
        QSqlQuery bad(db);
        QVERIFY(!bad.exec(u"INSERT INTO events (ts, kind) VALUES (NULL, 'x')"_s));
        QVERIFY(!storage::isStorageFullOrReadOnly(bad));
        QCOMPARE(storage::classifySqliteError(bad.lastError()), storage::SqliteFailure::Data);
        QCOMPARE(storage::classifySqliteError(QSqlError()), storage::SqliteFailure::None);
        QSqlQuery wrongSql(db);
        QVERIFY(!wrongSql.exec(u"SELECT * FROM no_such_table"_s));
        QCOMPARE(storage::classifySqliteError(wrongSql.lastError()), storage::SqliteFailure::Other);
        QVERIFY(!storage::isStorageFullOrReadOnly(wrongSql));
        QVERIFY2(storage::queryError(bad, u"events.insert").startsWith(u"events.insert: "_s),
            qPrintable(storage::queryError(bad, u"events.insert")));
        QCOMPARE(bad.lastError().nativeErrorCode().toInt() & 0xff, 19); // SQLITE_CONSTRAINT
        QVERIFY2(storage::queryError(bad, u"events.insert").contains(u"NOT NULL"_s),
            qPrintable(storage::queryError(bad, u"events.insert")));

        // The size cap fails like a full disk.
        QSqlQuery query(db);
        const qint64 pages = scalar(db, u"PRAGMA page_count"_s).toLongLong();
        QVERIFY(query.exec(u"PRAGMA max_page_count = "_s + QString::number(pages + 2)));
        QVERIFY(
            query.prepare(u"INSERT INTO outbox (meter_id, ts, payload, created_ms) VALUES ('m', 1, ?, 1)"_s));
        query.bindValue(0, QByteArray(64 * 1024, 'x'));
        QVERIFY(!query.exec());
        QVERIFY(storage::isStorageFullOrReadOnly(query));
        QCOMPARE(storage::classifySqliteError(query.lastError()), storage::SqliteFailure::Full);
        QCOMPARE(query.lastError().nativeErrorCode().toInt() & 0xff, 13); // SQLITE_FULL
        QVERIFY2(storage::queryError(query, u"outbox.insert").contains(u"full"_s),
            qPrintable(storage::queryError(query, u"outbox.insert")));
    }
    storage::closeDatabase(name);
}

QTEST_GUILESS_MAIN(tst_Database)
#include "tst_database.moc"
