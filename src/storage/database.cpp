#include "database.h"

#include <QtCore/QAtomicInteger>
#include <QtCore/QFileInfo>
#include <QtCore/QStringList>
#include <QtSql/QSqlError>
#include <QtSql/QSqlQuery>

using namespace Qt::StringLiterals;

namespace storage {

namespace {

// SQLite's primary result codes that mean "the disk will not take it" rather than "the SQL is
// wrong": full, read-only, I/O error, cannot open, locked out for too long.
constexpr int SqliteBusy = 5;
constexpr int SqliteReadOnly = 8;
constexpr int SqliteIoErr = 10;
constexpr int SqliteFull = 13;
constexpr int SqliteCantOpen = 14;

const QStringList &migrationV1()
{
    // The Python bridge's table, as its design document declares it.
    static const QStringList statements {
        u"CREATE TABLE IF NOT EXISTS network_metrics ("
        "id INTEGER PRIMARY KEY, meter_id INTEGER, timestamp DATETIME,"
        " dlms_requests_sent INTEGER, dlms_responses_recv INTEGER,"
        " dlms_bytes_sent INTEGER, dlms_bytes_recv INTEGER, dlms_avg_payload_size FLOAT,"
        " mqtt_messages_sent INTEGER, mqtt_bytes_sent INTEGER,"
        " bandwidth_tx_bps FLOAT, bandwidth_rx_bps FLOAT, packets_tx_ps FLOAT, packets_rx_ps FLOAT)"_s,
    };
    return statements;
}

const QStringList &migrationV2()
{
    static const QStringList statements {
        u"CREATE TABLE network_metrics_v2 ("
        "id INTEGER PRIMARY KEY,"
        " meter_id TEXT NOT NULL,"
        " timestamp INTEGER NOT NULL,"
        " period_s REAL NOT NULL DEFAULT 60,"
        " dlms_requests_sent INTEGER NOT NULL DEFAULT 0,"
        " dlms_responses_recv INTEGER NOT NULL DEFAULT 0,"
        " dlms_bytes_sent INTEGER NOT NULL DEFAULT 0,"
        " dlms_bytes_recv INTEGER NOT NULL DEFAULT 0,"
        " dlms_avg_payload_size REAL NOT NULL DEFAULT 0,"
        " mqtt_messages_sent INTEGER NOT NULL DEFAULT 0,"
        " mqtt_bytes_sent INTEGER NOT NULL DEFAULT 0,"
        " bandwidth_tx_bps REAL NOT NULL DEFAULT 0,"
        " bandwidth_rx_bps REAL NOT NULL DEFAULT 0,"
        " packets_tx_ps REAL NOT NULL DEFAULT 0,"
        " packets_rx_ps REAL NOT NULL DEFAULT 0,"
        " dlms_frames_sent INTEGER NOT NULL DEFAULT 0,"
        " dlms_frames_recv INTEGER NOT NULL DEFAULT 0,"
        " dlms_timeouts INTEGER NOT NULL DEFAULT 0,"
        " dlms_protocol_errors INTEGER NOT NULL DEFAULT 0,"
        " dlms_reconnects INTEGER NOT NULL DEFAULT 0,"
        " polls_attempted INTEGER NOT NULL DEFAULT 0,"
        " polls_completed INTEGER NOT NULL DEFAULT 0,"
        " polls_failed INTEGER NOT NULL DEFAULT 0,"
        " values_read INTEGER NOT NULL DEFAULT 0,"
        " rtt_avg_ms REAL NOT NULL DEFAULT 0,"
        " rtt_p95_ms REAL NOT NULL DEFAULT 0,"
        " rtt_max_ms REAL NOT NULL DEFAULT 0,"
        " mqtt_packet_bytes_sent INTEGER NOT NULL DEFAULT 0,"
        " mqtt_publish_failures INTEGER NOT NULL DEFAULT 0,"
        " outbox_backlog INTEGER NOT NULL DEFAULT 0,"
        " bandwidth_tx_peak_bps REAL NOT NULL DEFAULT 0,"
        " bandwidth_rx_peak_bps REAL NOT NULL DEFAULT 0,"
        " if_rx_errors INTEGER NOT NULL DEFAULT 0,"
        " if_tx_errors INTEGER NOT NULL DEFAULT 0,"
        " if_rx_drops INTEGER NOT NULL DEFAULT 0,"
        " if_tx_drops INTEGER NOT NULL DEFAULT 0)"_s,
        // The Python bridge's rows: its naive DATETIME text read as UTC, its integer meter ids
        // as text, missing values as 0 — every row kept.
        u"INSERT INTO network_metrics_v2 (id, meter_id, timestamp, period_s, dlms_requests_sent,"
        " dlms_responses_recv, dlms_bytes_sent, dlms_bytes_recv, dlms_avg_payload_size,"
        " mqtt_messages_sent, mqtt_bytes_sent, bandwidth_tx_bps, bandwidth_rx_bps, packets_tx_ps,"
        " packets_rx_ps)"
        " SELECT id, coalesce(CAST(meter_id AS TEXT), '*'),"
        " CASE typeof(timestamp)"
        "  WHEN 'integer' THEN timestamp"
        "  WHEN 'real' THEN CAST(timestamp AS INTEGER)"
        "  ELSE coalesce(CAST(round((julianday(timestamp) - 2440587.5) * 86400000.0) AS INTEGER), 0)"
        " END, 60,"
        " coalesce(dlms_requests_sent, 0), coalesce(dlms_responses_recv, 0),"
        " coalesce(dlms_bytes_sent, 0), coalesce(dlms_bytes_recv, 0),"
        " coalesce(dlms_avg_payload_size, 0), coalesce(mqtt_messages_sent, 0),"
        " coalesce(mqtt_bytes_sent, 0), coalesce(bandwidth_tx_bps, 0),"
        " coalesce(bandwidth_rx_bps, 0), coalesce(packets_tx_ps, 0), coalesce(packets_rx_ps, 0)"
        " FROM network_metrics"_s,
        u"DROP TABLE network_metrics"_s,
        u"ALTER TABLE network_metrics_v2 RENAME TO network_metrics"_s,
        u"CREATE INDEX network_metrics_meter_ts ON network_metrics (meter_id, timestamp)"_s,
        u"CREATE INDEX network_metrics_ts ON network_metrics (timestamp)"_s,
        u"CREATE TABLE meters ("
        "id TEXT PRIMARY KEY, name TEXT NOT NULL DEFAULT '', host TEXT NOT NULL DEFAULT '',"
        " port INTEGER NOT NULL DEFAULT 0, transport TEXT NOT NULL DEFAULT '',"
        " first_seen_ms INTEGER NOT NULL DEFAULT 0, updated_ms INTEGER NOT NULL DEFAULT 0,"
        " removed_ms INTEGER)"_s,
        u"CREATE TABLE readings ("
        "id INTEGER PRIMARY KEY, meter_id TEXT NOT NULL, ts INTEGER NOT NULL, key TEXT NOT NULL,"
        " obis TEXT NOT NULL, value, unit TEXT NOT NULL DEFAULT '',"
        " quality TEXT NOT NULL DEFAULT 'good')"_s,
        u"CREATE INDEX readings_meter_ts ON readings (meter_id, ts)"_s,
        u"CREATE INDEX readings_ts ON readings (ts)"_s,
        u"CREATE TABLE events ("
        "id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, meter_id TEXT, kind TEXT NOT NULL,"
        " state TEXT NOT NULL DEFAULT '', message TEXT NOT NULL DEFAULT '')"_s,
        u"CREATE INDEX events_ts ON events (ts)"_s,
        u"CREATE TABLE outbox ("
        "id INTEGER PRIMARY KEY, meter_id TEXT NOT NULL, ts INTEGER NOT NULL,"
        " payload BLOB NOT NULL, created_ms INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0)"_s,
    };
    return statements;
}

dlms::Error ioError(const QString &message)
{
    return {dlms::ErrorCode::IoError, message};
}

int primaryCode(const QSqlError &error)
{
    bool ok = false;
    const int code = error.nativeErrorCode().toInt(&ok);
    return ok ? (code & 0xff) : -1;
}

dlms::Result<void> exec(QSqlDatabase &db, const QString &sql, QStringView what)
{
    QSqlQuery query(db);
    if (!query.exec(sql))
        return ioError(queryError(query, what));
    return {};
}

dlms::Error newerSchemaError(const QString &path, int version)
{
    return {dlms::ErrorCode::InvalidArgument,
        u"%1: schema version %2 is newer than this program's (%3); use a newer DLMS Bridge"_s.arg(path)
            .arg(version)
            .arg(SchemaVersion)};
}

// The Python bridge's file may hold its own tables under the names version 2 creates (its
// meters, with integer ids): they are kept aside as <name>_v1 instead of failing the migration.
dlms::Result<void> setAsidePythonTables(QSqlDatabase &db, QStringView what)
{
    for (const QString &table : {u"meters"_s, u"readings"_s, u"events"_s, u"outbox"_s}) {
        bool exists = false;
        {
            QSqlQuery query(db);
            query.setForwardOnly(true);
            if (!query.exec(
                    u"SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '"_s + table + u'\'')
                || !query.next())
                return ioError(queryError(query, what));
            exists = query.value(0).toInt() > 0;
        }
        if (!exists)
            continue;
        const QString rename = u"ALTER TABLE "_s + table + u" RENAME TO "_s + table + u"_v1"_s;
        if (auto done = exec(db, rename, what); !done)
            return done;
    }
    return {};
}

} // namespace

QString makeConnectionName(QStringView purpose)
{
    static QAtomicInteger<quint64> counter;
    return u"dlmsbridge-"_s + purpose + u'-' + QString::number(counter.fetchAndAddRelaxed(1) + 1);
}

QString queryError(const QSqlQuery &query, QStringView what)
{
    const QSqlError error = query.lastError();
    QString text = what.toString() + u": "_s + error.text().trimmed();
    if (!error.nativeErrorCode().isEmpty())
        text += u" (sqlite "_s + error.nativeErrorCode() + u')';
    return text;
}

bool isStorageFullOrReadOnly(const QSqlQuery &query)
{
    switch (primaryCode(query.lastError())) {
    case SqliteBusy:
    case SqliteReadOnly:
    case SqliteIoErr:
    case SqliteFull:
    case SqliteCantOpen:
        return true;
    default:
        return false;
    }
}

QStringList migrationStatements(int toVersion)
{
    switch (toVersion) {
    case 1:
        return migrationV1();
    case 2:
        return migrationV2();
    default:
        return {};
    }
}

int schemaVersion(QSqlDatabase &db)
{
    QSqlQuery query(db);
    if (!query.exec(u"PRAGMA user_version"_s) || !query.next())
        return -1;
    return query.value(0).toInt();
}

dlms::Result<void> migrate(QSqlDatabase &db)
{
    const int current = schemaVersion(db);
    if (current < 0)
        return ioError(u"%1: cannot read the schema version (not an SQLite database?)"_s.arg(db.databaseName()));
    if (current > SchemaVersion)
        return newerSchemaError(db.databaseName(), current);
    for (int version = current + 1; version <= SchemaVersion; ++version) {
        if (!db.transaction())
            return ioError(u"%1: cannot begin migration to version %2: %3"_s.arg(db.databaseName())
                               .arg(version)
                               .arg(db.lastError().text()));
        const QString step = u"migration to version "_s + QString::number(version);
        if (version == 2) {
            if (auto done = setAsidePythonTables(db, step); !done) {
                db.rollback();
                return ioError(db.databaseName() + u": "_s + done.error().message);
            }
        }
        for (const QString &sql : migrationStatements(version)) {
            if (auto done = exec(db, sql, step); !done) {
                db.rollback();
                return ioError(db.databaseName() + u": "_s + done.error().message);
            }
        }
        // PRAGMA takes no bound parameters; the version is our own integer.
        if (auto done = exec(db, u"PRAGMA user_version = "_s + QString::number(version), step); !done) {
            db.rollback();
            return ioError(db.databaseName() + u": "_s + done.error().message);
        }
        if (!db.commit()) {
            const QString reason = db.lastError().text();
            db.rollback();
            return ioError(u"%1: %2: commit failed: %3"_s.arg(db.databaseName(), step, reason));
        }
    }
    return {};
}

dlms::Result<QSqlDatabase> openDatabase(const QString &path, const QString &connectionName, const OpenOptions &options)
{
    if (path.isEmpty())
        return dlms::Error {dlms::ErrorCode::InvalidArgument, u"no database path given"_s};
    const bool readOnly = options.mode == OpenMode::ReadOnly;
    if (readOnly && !QFileInfo::exists(path))
        return ioError(u"%1: no such database"_s.arg(path));
    if (!QSqlDatabase::isDriverAvailable(u"QSQLITE"_s))
        return ioError(u"the Qt SQLite driver is not installed (Debian: libqt6sql6-sqlite)"_s);

    auto fail = [&](dlms::Error error) -> dlms::Result<QSqlDatabase> {
        closeDatabase(connectionName);
        return error;
    };
    {
        QSqlDatabase db = QSqlDatabase::addDatabase(u"QSQLITE"_s, connectionName);
        db.setDatabaseName(path);
        QString connectOptions = u"QSQLITE_BUSY_TIMEOUT="_s + QString::number(options.busyTimeoutMs);
        if (readOnly)
            connectOptions += u";QSQLITE_OPEN_READONLY"_s;
        db.setConnectOptions(connectOptions);
        if (!db.open()) {
            const QString reason = db.lastError().text();
            db = {};
            return fail(ioError(u"%1: cannot open: %2"_s.arg(path, reason)));
        }
    }
    QSqlDatabase db = QSqlDatabase::database(connectionName, false);
    // Reading the schema is the first real access: a file that is not SQLite fails here.
    const int version = schemaVersion(db);
    if (version < 0) {
        db = {};
        return fail(ioError(u"%1: not an SQLite database, or unreadable"_s.arg(path)));
    }
    // Checked before anything is written (WAL switch included): a newer program's file stays as is.
    if (version > SchemaVersion) {
        db = {};
        return fail(newerSchemaError(path, version));
    }
    if (readOnly) {
        if (version != SchemaVersion) {
            db = {};
            return fail(ioError(u"%1: schema version %2, expected %3 (open it once with the bridge to migrate)"_s.arg(path)
                            .arg(version)
                            .arg(SchemaVersion)));
        }
        QSqlQuery query(db);
        query.exec(u"PRAGMA query_only = ON"_s);
        return db;
    }

    QSqlQuery query(db);
    if (!query.exec(u"PRAGMA journal_mode = WAL"_s) || !query.next()) {
        const QString message = queryError(query, u"journal_mode"_s);
        query = QSqlQuery();
        db = {};
        return fail(ioError(path + u": "_s + message));
    }
    if (query.value(0).toString().compare(u"wal"_s, Qt::CaseInsensitive) != 0) {
        const QString mode = query.value(0).toString();
        query = QSqlQuery();
        db = {};
        return fail(ioError(u"%1: cannot switch to WAL (journal mode stays %2)"_s.arg(path, mode)));
    }
    query.exec(u"PRAGMA synchronous = NORMAL"_s);
    query.exec(u"PRAGMA foreign_keys = ON"_s);
    if (options.maxPageCount > 0)
        query.exec(u"PRAGMA max_page_count = "_s + QString::number(options.maxPageCount));
    query = QSqlQuery();
    if (auto migrated = migrate(db); !migrated) {
        db = {};
        return fail(migrated.error());
    }
    return db;
}

void closeDatabase(const QString &connectionName)
{
    {
        QSqlDatabase db = QSqlDatabase::database(connectionName, false);
        if (db.isValid())
            db.close();
    }
    QSqlDatabase::removeDatabase(connectionName);
}

} // namespace storage
