#pragma once

#include <error.h>

#include <QtCore/QString>
#include <QtSql/QSqlDatabase>

class QSqlError;
class QSqlQuery;

// SQLite through QSqlDatabase. Every thread that touches the database opens its own
// connection (QSqlDatabase connections are per thread): the writer thread one read-write
// connection, each reader (GUI, exports, HTTP) its own read-only one. WAL lets them read while
// the writer commits.
//
// Schema (version 4; `PRAGMA user_version`), times are UTC ms since the epoch:
//   meters(id TEXT PK, name, host, port, transport, first_seen_ms, updated_ms, removed_ms)
//   readings(id INTEGER PK, meter_id, ts, key, obis, value, unit, quality)
//       value: REAL for numbers, TEXT otherwise, NULL when failed; quality 'good' | 'failed' |
//       'unscaled'; index (meter_id, ts), index (ts).
//   network_metrics(id INTEGER PK, meter_id TEXT ('*' = system row), timestamp INTEGER (period
//       start, UTC ms), period_s, the seed's columns dlms_requests_sent … packets_rx_ps, then
//       ours: dlms_frames_sent, dlms_frames_recv, dlms_timeouts, dlms_protocol_errors,
//       dlms_reconnects, polls_attempted, polls_completed, polls_failed, values_read,
//       rtt_avg_ms, rtt_p95_ms, rtt_max_ms, rtt_samples, mqtt_packet_bytes_sent, mqtt_publish_failures,
//       outbox_backlog, bandwidth_tx_peak_bps, bandwidth_rx_peak_bps, if_rx_errors,
//       if_tx_errors, if_rx_drops, if_tx_drops); index (meter_id, timestamp), index (timestamp).
//   events(id INTEGER PK, ts, meter_id (NULL for the bridge itself), kind ('state' | 'error' |
//       'storage' | …), state, message); index (ts).
//   outbox(id INTEGER PK, meter_id, ts, payload BLOB (compact JSON {"ts":…,"values":{…}}),
//       created_ms, attempts, value_count (values in payload)). Ids are the outbox order: the
//       first row is the oldest waiting one (its created_ms is the outbox's age; the bounds
//       drop from there). The writer gives ids itself, past the highest it has seen, so an
//       emptied outbox does not start again at 1 while the Storage lives.
//   commissioning_sessions, commissioning_meters, commissioning_checks: see
//       commissioningstore.h (meters and checks deleted with their session).
//
// Migrations: version 1 is the Python bridge's `network_metrics` table as its design document
// gives it (INTEGER meter_id, DATETIME timestamp, the seed's 14 columns). A database of the
// Python bridge is at version 0 with that table present: version 1 then keeps it. Version 2
// rebuilds network_metrics with our columns (the old rows copied, timestamps converted to UTC
// ms, meter ids to text) and creates the other tables. Version 3 adds outbox.value_count
// (counted from the payloads of rows already there). Version 4 adds the commissioning tables.
// Each step runs in one transaction.
namespace storage {

inline constexpr int SchemaVersion = 4;

enum class OpenMode : quint8 {
    ReadWrite, // creates the file when missing, migrates to SchemaVersion
    ReadOnly, // the file must exist and be at SchemaVersion (an older one: run the bridge first)
};

struct OpenOptions {
    OpenMode mode = OpenMode::ReadWrite;
    int busyTimeoutMs = 5000;
    // PRAGMA max_page_count for the writer: caps the file size (pages of 4 KiB). Writing past
    // it fails like a full disk. 0 = SQLite's default (no practical cap).
    qint64 maxPageCount = 0;
};

// A unique QSqlDatabase connection name ("dlmsbridge-<purpose>-<n>").
QString makeConnectionName(QStringView purpose);

// Opens `path` on a new connection named `connectionName` in the calling thread: WAL (read-
// write), synchronous=NORMAL, foreign_keys, busy timeout, then migrates (read-write) or checks
// the version (read-only). On failure the connection is removed and the error says which file
// and why (IoError; InvalidArgument for a schema newer than this program).
dlms::Result<QSqlDatabase> openDatabase(
    const QString &path, const QString &connectionName, const OpenOptions &options = {});
// Closes and removes the connection (call from the thread that opened it).
void closeDatabase(const QString &connectionName);

int schemaVersion(QSqlDatabase &db); // -1 when it cannot be read
// Brings `db` to SchemaVersion, one transaction per step.
dlms::Result<void> migrate(QSqlDatabase &db);
// The statements of one migration step (1..SchemaVersion); tests build old databases with them.
QStringList migrationStatements(int toVersion);

// "table.operation: <driver text> (<native code>)" from a failed query, for errors and logs.
QString queryError(const QSqlQuery &query, QStringView what);

// What a failed statement's SQLite error means for the writer; the one classification every
// part of the storage library uses.
enum class SqliteFailure : quint8 {
    None, // no error
    Locked, // busy / locked by another connection: retry later on the same connection
    Full, // disk full or the size cap (max_page_count) reached: retry later, same connection
    ReadOnly, // read-only file, I/O error, cannot open: retry later on a fresh connection
    Data, // this statement's data is refused (constraint, type, too big, range): never retry it
    Other, // anything else (SQL or schema error): retry later on a fresh connection
};
SqliteFailure classifySqliteError(const QSqlError &error);
// A short human reason for a failure kind ("disk full or size limit reached", …).
QString sqliteFailureHint(SqliteFailure failure);
// True when the last error of the query means the storage will not take writes now (locked,
// full, read-only, I/O): the writer then keeps what it has in memory and retries.
bool isStorageFullOrReadOnly(const QSqlQuery &query);

} // namespace storage
