#pragma once

#include "commissioning.h"

#include <error.h>

#include <QtCore/QString>

#include <memory>
#include <vector>

// Commissioning sessions in the bridge's SQLite file (schema version 4, see database.h):
//   commissioning_sessions(id INTEGER PK, site, technician, notes, started_ms, finished_ms,
//       state ('running' | 'finished' | 'cancelled'), config_file, previous_id (NULL = none))
//   commissioning_meters(session_id → sessions ON DELETE CASCADE, position, meter_id,
//       meter_name, endpoint, serial_number, logical_device_name, firmware;
//       PK (session_id, meter_id))
//   commissioning_checks(id INTEGER PK, session_id → sessions ON DELETE CASCADE, meter_id,
//       position, check_id, status, value REAL (NULL = none), unit, measured, explanation,
//       ts); index (session_id, meter_id)
// Sessions are small (a site is some hundreds of meters × 15 checks) and written a meter at a
// time as the run goes, so a crash mid-run keeps what was checked. The store runs on the
// thread that opened it, on a connection of its own (WAL: it writes beside the bridge's writer
// thread; the busy timeout covers their overlap).
namespace commissioning {

class Store {
public:
    // Opens (and creates / migrates) the database file on a new connection in this thread.
    // IoError naming the file when it cannot.
    static dlms::Result<std::unique_ptr<Store>> open(const QString &databasePath);
    ~Store(); // closes the connection (call from the thread that opened it)
    Store(const Store &) = delete;
    Store &operator=(const Store &) = delete;

    const QString &path() const { return m_path; }

    // A new session in state Running (info.id, counts and finishedMs ignored); returns its id.
    dlms::Result<qint64> createSession(const SessionInfo &info);
    // Site, technician and notes of a stored session (the rest is the run's).
    dlms::Result<void> updateSessionText(
        qint64 sessionId, const QString &site, const QString &technician, const QString &notes);
    // One meter's report in one transaction; replaces what the session had for this meter
    // (a clock sync after the run rewrites the meter's checks). Its position is kept on
    // replace, else it goes last.
    dlms::Result<void> saveMeter(qint64 sessionId, const MeterReport &report);
    // Ends a session: state and finishedMs.
    dlms::Result<void> finishSession(qint64 sessionId, SessionState state, qint64 finishedMs);
    // Sessions newest first (by started_ms, then id), with their counts; at most `limit`.
    dlms::Result<std::vector<SessionInfo>> sessions(int limit = 500);
    // One session with every meter and check, counts filled. NotFound-like InvalidArgument
    // ("no commissioning session 12") when absent.
    dlms::Result<Session> session(qint64 sessionId);
    // The run to compare a session with: its previousId when set, else the latest session
    // started before it with the same site (and, for an empty site, the latest before it).
    // 0 when there is none.
    dlms::Result<qint64> previousSessionOf(qint64 sessionId);
    dlms::Result<void> deleteSession(qint64 sessionId);

private:
    explicit Store(QString path, QString connectionName);
    QString m_path;
    QString m_connectionName;
};

} // namespace commissioning
