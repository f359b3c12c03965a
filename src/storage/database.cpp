#include "database.h"

#include <QtCore/QAtomicInteger>
#include <QtCore/QFileInfo>
#include <QtCore/QLoggingCategory>
#include <QtCore/QStringList>
#include <QtSql/QSqlError>
#include <QtSql/QSqlQuery>

using namespace Qt::StringLiterals;

namespace storage {

namespace {

Q_LOGGING_CATEGORY(lcDatabase, "dlmsbridge.storage")

// SQLite's primary result codes that mean "the disk will not take it" rather than "the SQL is
// wrong": full, read-only, I/O error, cannot open, locked out for too long.
constexpr int SqliteBusy = 5;
constexpr int SqliteLocked = 6;
constexpr int SqliteReadOnly = 8;
constexpr int SqliteIoErr = 10;
constexpr int SqliteFull = 13;
constexpr int SqliteCantOpen = 14;
constexpr int SqliteTooBig = 18;
constexpr int SqliteConstraint = 19;
constexpr int SqliteMismatch = 20;
constexpr int SqliteRange = 25;

const QStringList &seedMetricsColumns()
{
    static const QStringList columns {u"id"_s, u"meter_id"_s, u"timestamp"_s, u"dlms_requests_sent"_s,
        u"dlms_responses_recv"_s, u"dlms_bytes_sent"_s, u"dlms_bytes_recv"_s, u"dlms_avg_payload_size"_s,
        u"mqtt_messages_sent"_s, u"mqtt_bytes_sent"_s, u"bandwidth_tx_bps"_s, u"bandwidth_rx_bps"_s,
        u"packets_tx_ps"_s, u"packets_rx_ps"_s};
    return columns;
}

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
        " rtt_samples INTEGER NOT NULL DEFAULT 0,"
        " mqtt_packet_bytes_sent INTEGER NOT NULL DEFAULT 0,"
        " mqtt_publish_failures INTEGER NOT NULL DEFAULT 0,"
        " outbox_backlog INTEGER NOT NULL DEFAULT 0,"
        " bandwidth_tx_peak_bps REAL NOT NULL DEFAULT 0,"
        " bandwidth_rx_peak_bps REAL NOT NULL DEFAULT 0,"
        " if_rx_errors INTEGER NOT NULL DEFAULT 0,"
        " if_tx_errors INTEGER NOT NULL DEFAULT 0,"
        " if_rx_drops INTEGER NOT NULL DEFAULT 0,"
        " if_tx_drops INTEGER NOT NULL DEFAULT 0)"_s,
        // The Python bridge's rows: its naive DATETIME text read as UTC, numbers below 1e11 as
        // seconds (1e11 ms is 1973, 1e11 s the year 5138), larger ones as ms, unparseable text as the
        // migration time (counted and logged), its integer meter ids as text, missing values as 0 — every row
        // kept.
        u"INSERT INTO network_metrics_v2 (id, meter_id, timestamp, period_s, dlms_requests_sent,"
        " dlms_responses_recv, dlms_bytes_sent, dlms_bytes_recv, dlms_avg_payload_size,"
        " mqtt_messages_sent, mqtt_bytes_sent, bandwidth_tx_bps, bandwidth_rx_bps, packets_tx_ps,"
        " packets_rx_ps)"
        " SELECT id, coalesce(CAST(meter_id AS TEXT), '*'),"
        " CASE"
        "  WHEN typeof(timestamp) IN ('integer', 'real') AND abs(timestamp) < 100000000000"
        "   THEN CAST(round(timestamp * 1000.0) AS INTEGER)"
        "  WHEN typeof(timestamp) IN ('integer', 'real') THEN CAST(round(timestamp) AS INTEGER)"
        "  ELSE coalesce(CAST(round((julianday(timestamp) - 2440587.5) * 86400000.0) AS INTEGER),"
        "   CAST(round((julianday('now') - 2440587.5) * 86400000.0) AS INTEGER))"
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

// Version 3: each outbox row says how many values its payload carries (MQTT accounting). Rows
// of a version-2 file get theirs counted from the payload; one that is not the expected JSON
// object keeps 0 rather than failing the migration.
const QStringList &migrationV3()
{
    static const QStringList statements {
        u"ALTER TABLE outbox ADD COLUMN value_count INTEGER NOT NULL DEFAULT 0"_s,
        u"UPDATE outbox SET value_count = (SELECT count(*) FROM json_each(CAST(payload AS TEXT), '$.values'))"
        " WHERE json_valid(CAST(payload AS TEXT))"
        " AND json_type(CAST(payload AS TEXT), '$.values') = 'object'"_s,
    };
    return statements;
}

// Version 4: commissioning sessions, their meters and checks (commissioningstore.h). A session
// deleted takes its meters and checks with it; a re-run whose previous run is deleted forgets
// the link instead of pointing at an id that a later session might get.
const QStringList &migrationV4()
{
    static const QStringList statements {
        u"CREATE TABLE commissioning_sessions ("
        "id INTEGER PRIMARY KEY AUTOINCREMENT, site TEXT NOT NULL DEFAULT '',"
        " technician TEXT NOT NULL DEFAULT '', notes TEXT NOT NULL DEFAULT '',"
        " started_ms INTEGER NOT NULL DEFAULT 0, finished_ms INTEGER NOT NULL DEFAULT 0,"
        " state TEXT NOT NULL DEFAULT 'running', config_file TEXT NOT NULL DEFAULT '',"
        " previous_id INTEGER REFERENCES commissioning_sessions (id) ON DELETE SET NULL)"_s,
        u"CREATE TABLE commissioning_meters ("
        "session_id INTEGER NOT NULL REFERENCES commissioning_sessions (id) ON DELETE CASCADE,"
        " position INTEGER NOT NULL, meter_id TEXT NOT NULL, meter_name TEXT NOT NULL DEFAULT '',"
        " endpoint TEXT NOT NULL DEFAULT '', serial_number TEXT NOT NULL DEFAULT '',"
        " logical_device_name TEXT NOT NULL DEFAULT '', firmware TEXT NOT NULL DEFAULT '',"
        " PRIMARY KEY (session_id, meter_id))"_s,
        u"CREATE TABLE commissioning_checks ("
        "id INTEGER PRIMARY KEY,"
        " session_id INTEGER NOT NULL REFERENCES commissioning_sessions (id) ON DELETE CASCADE,"
        " meter_id TEXT NOT NULL, position INTEGER NOT NULL, check_id TEXT NOT NULL,"
        " status TEXT NOT NULL, value REAL, unit TEXT NOT NULL DEFAULT '',"
        " measured TEXT NOT NULL DEFAULT '', explanation TEXT NOT NULL DEFAULT '',"
        " ts INTEGER NOT NULL DEFAULT 0)"_s,
        u"CREATE INDEX commissioning_checks_session_meter ON commissioning_checks (session_id, meter_id)"_s,
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

QStringList stringColumn(QSqlDatabase &db, const QString &sql, bool *ok)
{
    QStringList values;
    QSqlQuery query(db);
    query.setForwardOnly(true);
    *ok = query.exec(sql);
    while (*ok && query.next())
        values.append(query.value(0).toString());
    return values;
}

QStringList columnsOf(QSqlDatabase &db, const QString &table, bool *ok)
{
    QStringList columns;
    QSqlQuery query(db);
    query.setForwardOnly(true);
    // PRAGMA takes no bound parameters; table names come from sqlite_master or our own list.
    *ok = query.exec(u"PRAGMA table_info(\""_s + table + u"\")"_s);
    while (*ok && query.next())
        columns.append(query.value(1).toString().toLower());
    return columns;
}

// A version-0 file is adopted only when empty or when it is the Python bridge's: a
// network_metrics table with the seed's columns says so (its other tables — meters, users, … —
// are kept; ours that clash are renamed by the migration). Migrating some other program's
// database would rewrite it.
dlms::Result<void> checkAdoptable(QSqlDatabase &db)
{
    bool ok = false;
    const QStringList tables = stringColumn(db,
        u"SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
        " ORDER BY name"_s,
        &ok);
    if (!ok)
        return ioError(u"%1: cannot list the tables"_s.arg(db.databaseName()));
    if (tables.isEmpty())
        return {};
    bool python = tables.contains(u"network_metrics"_s);
    if (python) {
        const QStringList columns = columnsOf(db, u"network_metrics"_s, &ok);
        for (const QString &column : seedMetricsColumns())
            python = python && columns.contains(column);
    }
    if (python)
        return {};
    return dlms::Error {dlms::ErrorCode::InvalidArgument,
        u"%1: not a DLMS Bridge or Python bridge database (tables: %2)"_s.arg(
            db.databaseName(), tables.join(u", "_s))};
}

// Rows whose text timestamp SQLite cannot parse get the migration time; say how many.
void logUnparseableTimestamps(QSqlDatabase &db)
{
    QSqlQuery query(db);
    query.setForwardOnly(true);
    if (!query.exec(u"SELECT count(*) FROM network_metrics WHERE typeof(timestamp) NOT IN ('integer', 'real')"
                    " AND julianday(timestamp) IS NULL"_s)
        || !query.next())
        return;
    const qint64 rows = query.value(0).toLongLong();
    if (rows > 0)
        qCWarning(lcDatabase,
            "%s: %lld network_metrics rows have an unreadable timestamp: given the migration time",
            qUtf8Printable(db.databaseName()), static_cast<long long>(rows));
}

// The Python bridge's meter names (meters_v1, integer ids) into our meters table, so the stats
// of its old rows show them.
dlms::Result<void> copyPythonMeterNames(QSqlDatabase &db, QStringView what)
{
    bool ok = false;
    const QStringList tables = stringColumn(
        db, u"SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'meters_v1'"_s, &ok);
    if (!ok || tables.isEmpty())
        return {};
    const QStringList columns = columnsOf(db, u"meters_v1"_s, &ok);
    if (!ok || !columns.contains(u"id"_s) || !columns.contains(u"name"_s))
        return {};
    return exec(db,
        u"INSERT OR IGNORE INTO meters (id, name) SELECT CAST(id AS TEXT), coalesce(name, '') FROM meters_v1"
        " WHERE id IS NOT NULL"_s,
        what);
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

SqliteFailure classifySqliteError(const QSqlError &error)
{
    if (!error.isValid())
        return SqliteFailure::None;
    switch (primaryCode(error)) {
    case SqliteBusy:
    case SqliteLocked:
        return SqliteFailure::Locked;
    case SqliteFull:
        return SqliteFailure::Full;
    case SqliteReadOnly:
    case SqliteIoErr:
    case SqliteCantOpen:
        return SqliteFailure::ReadOnly;
    case SqliteTooBig:
    case SqliteConstraint:
    case SqliteMismatch:
    case SqliteRange:
        return SqliteFailure::Data;
    default:
        return SqliteFailure::Other;
    }
}

QString sqliteFailureHint(SqliteFailure failure)
{
    switch (failure) {
    case SqliteFailure::None:
        return {};
    case SqliteFailure::Locked:
        return u"the database is locked by another process"_s;
    case SqliteFailure::Full:
        return u"disk full or size limit reached"_s;
    case SqliteFailure::ReadOnly:
        return u"the database is read-only or unreadable (I/O error)"_s;
    case SqliteFailure::Data:
        return u"the database refuses the data"_s;
    case SqliteFailure::Other:
        break;
    }
    return u"write failed"_s;
}

bool isStorageFullOrReadOnly(const QSqlQuery &query)
{
    const SqliteFailure failure = classifySqliteError(query.lastError());
    return failure == SqliteFailure::Locked || failure == SqliteFailure::Full
        || failure == SqliteFailure::ReadOnly;
}

QStringList migrationStatements(int toVersion)
{
    switch (toVersion) {
    case 1:
        return migrationV1();
    case 2:
        return migrationV2();
    case 3:
        return migrationV3();
    case 4:
        return migrationV4();
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
        return ioError(
            u"%1: cannot read the schema version (not an SQLite database?)"_s.arg(db.databaseName()));
    if (current > SchemaVersion)
        return newerSchemaError(db.databaseName(), current);
    if (current == 0) {
        if (auto adoptable = checkAdoptable(db); !adoptable)
            return adoptable;
    }
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
        if (version == 2)
            logUnparseableTimestamps(db);
        for (const QString &sql : migrationStatements(version)) {
            if (auto done = exec(db, sql, step); !done) {
                db.rollback();
                return ioError(db.databaseName() + u": "_s + done.error().message);
            }
        }
        if (version == 2) {
            if (auto done = copyPythonMeterNames(db, step); !done) {
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

dlms::Result<QSqlDatabase> openDatabase(
    const QString &path, const QString &connectionName, const OpenOptions &options)
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
            return fail(ioError(
                u"%1: schema version %2, expected %3 (open it once with the bridge to migrate)"_s.arg(path)
                    .arg(version)
                    .arg(SchemaVersion)));
        }
        QSqlQuery query(db);
        query.exec(u"PRAGMA query_only = ON"_s);
        return db;
    }

    // A foreign file is refused before the WAL switch touches its header.
    if (version == 0) {
        if (auto adoptable = checkAdoptable(db); !adoptable) {
            db = {};
            return fail(adoptable.error());
        }
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
