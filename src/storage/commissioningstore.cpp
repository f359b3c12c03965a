#include "commissioningstore.h"

#include "database.h"

#include <QtCore/QHash>
#include <QtCore/QVariant>
#include <QtSql/QSqlDatabase>
#include <QtSql/QSqlError>
#include <QtSql/QSqlQuery>

using namespace Qt::StringLiterals;

namespace commissioning {

namespace {

// A query that failed: the file, what was being done, SQLite's text and, when the disk or the
// file refuses writes, the reason in plain words.
dlms::Error failure(const QString &path, const QSqlQuery &query, QStringView what)
{
    QString message = path + u": "_s + storage::queryError(query, what);
    const storage::SqliteFailure kind = storage::classifySqliteError(query.lastError());
    if (kind == storage::SqliteFailure::Full || kind == storage::SqliteFailure::ReadOnly
        || kind == storage::SqliteFailure::Locked)
        message += u" ("_s + storage::sqliteFailureHint(kind) + u')';
    return {dlms::ErrorCode::IoError, message};
}

dlms::Error notFound(qint64 sessionId)
{
    return {dlms::ErrorCode::InvalidArgument, u"no commissioning session %1"_s.arg(sessionId)};
}

// A null QString binds as SQL NULL, which the NOT NULL text columns refuse: "" instead.
QVariant text(const QString &value)
{
    return value.isNull() ? QVariant(QString(QLatin1StringView(""))) : QVariant(value);
}

QVariant nullableId(qint64 id)
{
    return id > 0 ? QVariant(id) : QVariant(QMetaType::fromType<qint64>());
}

// The severity rank of a stored status (fail 3, warn 2, pass 1, else 0), so SQL can take a
// meter's worst check with max() as MeterReport::overall() does.
constexpr QLatin1StringView RankSql {"CASE status WHEN 'fail' THEN 3 WHEN 'warn' THEN 2 WHEN 'pass' THEN 1"
                                     " ELSE 0 END"};

constexpr QLatin1StringView SessionColumns {
    "s.id, s.site, s.technician, s.notes, s.started_ms, s.finished_ms,"
    " s.state, s.config_file, coalesce(s.previous_id, 0)"};

SessionInfo sessionFromRow(const QSqlQuery &query)
{
    SessionInfo info;
    info.id = query.value(0).toLongLong();
    info.site = query.value(1).toString();
    info.technician = query.value(2).toString();
    info.notes = query.value(3).toString();
    info.startedMs = query.value(4).toLongLong();
    info.finishedMs = query.value(5).toLongLong();
    info.state = sessionStateFromName(query.value(6).toString()).value_or(SessionState::Finished);
    info.configFile = query.value(7).toString();
    info.previousId = query.value(8).toLongLong();
    return info;
}

// Rolls back on every early return unless committed.
class Transaction {
public:
    explicit Transaction(QSqlDatabase &db) : m_db(db), m_open(db.transaction()) { }
    ~Transaction()
    {
        if (m_open)
            m_db.rollback();
    }
    Transaction(const Transaction &) = delete;
    Transaction &operator=(const Transaction &) = delete;

    bool isOpen() const { return m_open; }
    bool commit()
    {
        m_open = !m_db.commit();
        return !m_open;
    }

private:
    QSqlDatabase &m_db;
    bool m_open;
};

} // namespace

dlms::Result<std::unique_ptr<Store>> Store::open(const QString &databasePath)
{
    const QString connectionName = storage::makeConnectionName(u"commissioning");
    auto opened = storage::openDatabase(databasePath, connectionName);
    if (!opened)
        return dlms::Error {opened.error().code,
            opened.error().message.contains(databasePath) ? opened.error().message
                                                          : databasePath + u": "_s + opened.error().message};
    return std::unique_ptr<Store>(new Store(databasePath, connectionName));
}

Store::Store(QString path, QString connectionName)
    : m_path(std::move(path)), m_connectionName(std::move(connectionName))
{
}

Store::~Store()
{
    storage::closeDatabase(m_connectionName);
}

dlms::Result<qint64> Store::createSession(const SessionInfo &info)
{
    QSqlDatabase db = QSqlDatabase::database(m_connectionName, false);
    QSqlQuery query(db);
    if (info.previousId > 0) {
        query.prepare(u"SELECT 1 FROM commissioning_sessions WHERE id = ?"_s);
        query.addBindValue(info.previousId);
        if (!query.exec())
            return failure(m_path, query, u"commissioning_sessions.select");
        if (!query.next())
            return dlms::Error {dlms::ErrorCode::InvalidArgument,
                u"no commissioning session %1 to re-run"_s.arg(info.previousId)};
    }
    query.prepare(u"INSERT INTO commissioning_sessions"
                  " (site, technician, notes, started_ms, finished_ms, state, config_file, previous_id)"
                  " VALUES (?, ?, ?, ?, 0, ?, ?, ?)"_s);
    query.addBindValue(text(info.site));
    query.addBindValue(text(info.technician));
    query.addBindValue(text(info.notes));
    query.addBindValue(info.startedMs);
    query.addBindValue(sessionStateName(SessionState::Running));
    query.addBindValue(text(info.configFile));
    query.addBindValue(nullableId(info.previousId));
    if (!query.exec())
        return failure(m_path, query, u"commissioning_sessions.insert");
    return query.lastInsertId().toLongLong();
}

dlms::Result<void> Store::updateSessionText(
    qint64 sessionId, const QString &site, const QString &technician, const QString &notes)
{
    QSqlDatabase db = QSqlDatabase::database(m_connectionName, false);
    QSqlQuery query(db);
    query.prepare(u"UPDATE commissioning_sessions SET site = ?, technician = ?, notes = ? WHERE id = ?"_s);
    query.addBindValue(text(site));
    query.addBindValue(text(technician));
    query.addBindValue(text(notes));
    query.addBindValue(sessionId);
    if (!query.exec())
        return failure(m_path, query, u"commissioning_sessions.update");
    if (query.numRowsAffected() == 0)
        return notFound(sessionId);
    return {};
}

dlms::Result<void> Store::saveMeter(qint64 sessionId, const MeterReport &report)
{
    QSqlDatabase db = QSqlDatabase::database(m_connectionName, false);
    Transaction transaction(db);
    if (!transaction.isOpen())
        return dlms::Error {dlms::ErrorCode::IoError,
            u"%1: saving meter %2: cannot begin a transaction: %3"_s.arg(
                m_path, report.meterId, db.lastError().text())};
    const QString what = u"commissioning.save meter "_s + report.meterId;
    QSqlQuery query(db);
    query.prepare(u"SELECT 1 FROM commissioning_sessions WHERE id = ?"_s);
    query.addBindValue(sessionId);
    if (!query.exec())
        return failure(m_path, query, what);
    if (!query.next())
        return notFound(sessionId);

    query.prepare(u"DELETE FROM commissioning_checks WHERE session_id = ? AND meter_id = ?"_s);
    query.addBindValue(sessionId);
    query.addBindValue(text(report.meterId));
    if (!query.exec())
        return failure(m_path, query, what);

    // A meter saved again (its checks re-run) keeps its place in the session.
    query.prepare(u"INSERT INTO commissioning_meters (session_id, position, meter_id, meter_name, endpoint,"
                  " serial_number, logical_device_name, firmware)"
                  " VALUES (?, (SELECT coalesce(max(position), -1) + 1 FROM commissioning_meters"
                  " WHERE session_id = ?), ?, ?, ?, ?, ?, ?)"
                  " ON CONFLICT (session_id, meter_id) DO UPDATE SET meter_name = excluded.meter_name,"
                  " endpoint = excluded.endpoint, serial_number = excluded.serial_number,"
                  " logical_device_name = excluded.logical_device_name, firmware = excluded.firmware"_s);
    query.addBindValue(sessionId);
    query.addBindValue(sessionId);
    query.addBindValue(text(report.meterId));
    query.addBindValue(text(report.meterName));
    query.addBindValue(text(report.endpoint));
    query.addBindValue(text(report.serialNumber));
    query.addBindValue(text(report.logicalDeviceName));
    query.addBindValue(text(report.firmwareVersion));
    if (!query.exec())
        return failure(m_path, query, what);

    query.prepare(u"INSERT INTO commissioning_checks (session_id, meter_id, position, check_id, status,"
                  " value, unit, measured, explanation, ts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"_s);
    int position = 0;
    for (const CheckResult &check : report.checks) {
        query.addBindValue(sessionId);
        query.addBindValue(text(report.meterId));
        query.addBindValue(position++);
        query.addBindValue(text(check.check));
        query.addBindValue(checkStatusName(check.status));
        query.addBindValue(check.value ? QVariant(*check.value) : QVariant(QMetaType::fromType<double>()));
        query.addBindValue(text(check.unit));
        query.addBindValue(text(check.measured));
        query.addBindValue(text(check.explanation));
        query.addBindValue(check.timestampMs);
        if (!query.exec())
            return failure(m_path, query, what);
    }
    if (!transaction.commit())
        return dlms::Error {dlms::ErrorCode::IoError,
            u"%1: saving meter %2: commit failed: %3"_s.arg(m_path, report.meterId, db.lastError().text())};
    return {};
}

dlms::Result<void> Store::finishSession(qint64 sessionId, SessionState state, qint64 finishedMs)
{
    QSqlDatabase db = QSqlDatabase::database(m_connectionName, false);
    QSqlQuery query(db);
    query.prepare(u"UPDATE commissioning_sessions SET state = ?, finished_ms = ? WHERE id = ?"_s);
    query.addBindValue(sessionStateName(state));
    query.addBindValue(finishedMs);
    query.addBindValue(sessionId);
    if (!query.exec())
        return failure(m_path, query, u"commissioning_sessions.finish");
    if (query.numRowsAffected() == 0)
        return notFound(sessionId);
    return {};
}

dlms::Result<std::vector<SessionInfo>> Store::sessions(int limit)
{
    QSqlDatabase db = QSqlDatabase::database(m_connectionName, false);
    QSqlQuery query(db);
    query.setForwardOnly(true);
    // One statement: the listed sessions, each meter's worst check, then the counts per session.
    query.prepare(u"WITH listed AS (SELECT id FROM commissioning_sessions"
                  "  ORDER BY started_ms DESC, id DESC LIMIT :limit),"
                  " worst AS (SELECT session_id, meter_id, max("_s
        + RankSql
        + u") AS worst_rank"
          "  FROM commissioning_checks WHERE session_id IN (SELECT id FROM listed)"
          "  GROUP BY session_id, meter_id),"
          " counts AS (SELECT m.session_id, count(*) AS meters, sum(w.worst_rank = 1) AS passed,"
          "  sum(w.worst_rank = 2) AS warned, sum(w.worst_rank = 3) AS failed FROM commissioning_meters m"
          "  LEFT JOIN worst w ON w.session_id = m.session_id AND w.meter_id = m.meter_id"
          "  WHERE m.session_id IN (SELECT id FROM listed) GROUP BY m.session_id)"
          " SELECT "_s
        + SessionColumns
        + u", coalesce(c.meters, 0), coalesce(c.passed, 0), coalesce(c.warned, 0), coalesce(c.failed, 0)"
          " FROM commissioning_sessions s JOIN listed l ON l.id = s.id"
          " LEFT JOIN counts c ON c.session_id = s.id ORDER BY s.started_ms DESC, s.id DESC"_s);
    query.bindValue(u":limit"_s, qMax(limit, 0));
    if (!query.exec())
        return failure(m_path, query, u"commissioning_sessions.list");
    std::vector<SessionInfo> result;
    while (query.next()) {
        SessionInfo info = sessionFromRow(query);
        info.meters = query.value(9).toInt();
        info.passed = query.value(10).toInt();
        info.warned = query.value(11).toInt();
        info.failed = query.value(12).toInt();
        result.push_back(std::move(info));
    }
    if (query.lastError().isValid())
        return failure(m_path, query, u"commissioning_sessions.list");
    return result;
}

dlms::Result<Session> Store::session(qint64 sessionId)
{
    QSqlDatabase db = QSqlDatabase::database(m_connectionName, false);
    // One read transaction: the session, its meters and checks are one consistent picture even
    // while the run writes the next meter on another connection.
    Transaction transaction(db);
    Session session;
    QSqlQuery query(db);
    query.setForwardOnly(true);
    query.prepare(u"SELECT "_s + SessionColumns + u" FROM commissioning_sessions s WHERE s.id = ?"_s);
    query.addBindValue(sessionId);
    if (!query.exec())
        return failure(m_path, query, u"commissioning_sessions.select");
    if (!query.next())
        return notFound(sessionId);
    session.info = sessionFromRow(query);

    query.prepare(u"SELECT meter_id, meter_name, endpoint, serial_number, logical_device_name, firmware"
                  " FROM commissioning_meters WHERE session_id = ? ORDER BY position, meter_id"_s);
    query.addBindValue(sessionId);
    if (!query.exec())
        return failure(m_path, query, u"commissioning_meters.select");
    QHash<QString, std::size_t> indexOf;
    while (query.next()) {
        MeterReport meter;
        meter.meterId = query.value(0).toString();
        meter.meterName = query.value(1).toString();
        meter.endpoint = query.value(2).toString();
        meter.serialNumber = query.value(3).toString();
        meter.logicalDeviceName = query.value(4).toString();
        meter.firmwareVersion = query.value(5).toString();
        indexOf.insert(meter.meterId, session.meters.size());
        session.meters.push_back(std::move(meter));
    }
    if (query.lastError().isValid())
        return failure(m_path, query, u"commissioning_meters.select");

    query.prepare(u"SELECT meter_id, check_id, status, value, unit, measured, explanation, ts"
                  " FROM commissioning_checks WHERE session_id = ? ORDER BY meter_id, position"_s);
    query.addBindValue(sessionId);
    if (!query.exec())
        return failure(m_path, query, u"commissioning_checks.select");
    while (query.next()) {
        const auto index = indexOf.constFind(query.value(0).toString());
        if (index == indexOf.constEnd())
            continue; // cannot happen through saveMeter: checks come with their meter row
        CheckResult check;
        check.check = query.value(1).toString();
        // A status of a newer program reads as "not run" rather than failing the session.
        check.status = checkStatusFromName(query.value(2).toString()).value_or(CheckStatus::Skipped);
        const QVariant value = query.value(3);
        if (!value.isNull())
            check.value = value.toDouble();
        check.unit = query.value(4).toString();
        check.measured = query.value(5).toString();
        check.explanation = query.value(6).toString();
        check.timestampMs = query.value(7).toLongLong();
        session.meters[*index].checks.push_back(std::move(check));
    }
    if (query.lastError().isValid())
        return failure(m_path, query, u"commissioning_checks.select");
    session.updateCounts();
    return session;
}

dlms::Result<qint64> Store::previousSessionOf(qint64 sessionId)
{
    QSqlDatabase db = QSqlDatabase::database(m_connectionName, false);
    QSqlQuery query(db);
    query.setForwardOnly(true);
    query.prepare(
        u"SELECT site, started_ms, coalesce(previous_id, 0) FROM commissioning_sessions WHERE id = ?"_s);
    query.addBindValue(sessionId);
    if (!query.exec())
        return failure(m_path, query, u"commissioning_sessions.select");
    if (!query.next())
        return notFound(sessionId);
    const QString site = query.value(0).toString();
    const qint64 startedMs = query.value(1).toLongLong();
    const qint64 previousId = query.value(2).toLongLong();
    if (previousId > 0)
        return previousId;

    // "Before" in the list's order: started earlier, or at the same ms with a smaller id.
    const bool anySite = site.isEmpty();
    query.prepare(u"SELECT id FROM commissioning_sessions"
                  " WHERE (started_ms < :started OR (started_ms = :sameStarted AND id < :id))"_s
        + (anySite ? u""_s : u" AND site = :site"_s) + u" ORDER BY started_ms DESC, id DESC LIMIT 1"_s);
    query.bindValue(u":started"_s, startedMs);
    query.bindValue(u":sameStarted"_s, startedMs);
    query.bindValue(u":id"_s, sessionId);
    if (!anySite)
        query.bindValue(u":site"_s, site);
    if (!query.exec())
        return failure(m_path, query, u"commissioning_sessions.previous");
    if (!query.next())
        return qint64 {0};
    return query.value(0).toLongLong();
}

dlms::Result<void> Store::deleteSession(qint64 sessionId)
{
    QSqlDatabase db = QSqlDatabase::database(m_connectionName, false);
    QSqlQuery query(db);
    // Meters and checks go with it (ON DELETE CASCADE; the connection has foreign_keys on).
    query.prepare(u"DELETE FROM commissioning_sessions WHERE id = ?"_s);
    query.addBindValue(sessionId);
    if (!query.exec())
        return failure(m_path, query, u"commissioning_sessions.delete");
    if (query.numRowsAffected() == 0)
        return notFound(sessionId);
    return {};
}

} // namespace commissioning
