#pragma once

#include <error.h>

#include <QtCore/QByteArray>
#include <QtCore/QMetaType>
#include <QtCore/QString>

#include <optional>
#include <vector>

class QIODevice;

// What a commissioning run found, as stored, compared and exported. The engine that produces
// it is app::CommissioningRun; the PDF is report::writeCommissioningPdf. Texts (measured,
// explanation) are written in the language in force when the run happened and are kept as
// they were: a report of an old session says what the technician saw.
namespace commissioning {

enum class CheckStatus : quint8 {
    Pass,
    Warn,
    Fail,
    Skipped, // not run: an earlier step failed, or the check does not apply (MQTT off)
};
QString checkStatusName(CheckStatus status); // "pass", "warn", "fail", "skipped" (stored, CSV)
std::optional<CheckStatus> checkStatusFromName(QStringView name);
QString checkStatusText(CheckStatus status); // translated, for people ("Pass", "Aviso", …)
// The worse of two: Fail > Warn > Pass > Skipped.
CheckStatus worse(CheckStatus a, CheckStatus b);

// Check ids, in the order a run makes them. A register check is "register:<telemetry key>".
namespace checks {
inline constexpr QLatin1StringView Tcp {"tcp"}; // TCP connect time
inline constexpr QLatin1StringView Association {"association"}; // AARQ/AARE: result, diagnostic
inline constexpr QLatin1StringView Identity {"identity"}; // logical device name, serial, firmware
inline constexpr QLatin1StringView Clock {"clock"}; // drift against the laptop's UTC, DST flag
inline constexpr QLatin1StringView ClockSync {"clock-sync"}; // the SET of the clock, when made
inline constexpr QLatin1StringView RegisterPrefix {"register:"};
inline constexpr QLatin1StringView Objects {"objects"}; // object list vs the configured items
inline constexpr QLatin1StringView Mqtt {"mqtt"}; // broker acknowledged a message for the meter
inline constexpr QLatin1StringView TrafficBytes {"traffic-bytes"}; // DLMS bytes per poll
inline constexpr QLatin1StringView TrafficRtt {"traffic-rtt"}; // request round trip, average
} // namespace checks
// "TCP connection", "Association", …, "Register voltage_l1": translated, for people.
QString checkTitle(QStringView checkId);

struct CheckResult {
    QString check; // one of `checks`, or "register:<key>"
    CheckStatus status = CheckStatus::Skipped;
    std::optional<double> value; // the measured figure when there is one (ms, s, V, bytes)
    QString unit; // of `value`: "ms", "s", "B", or the register's unit text ("V", "Hz")
    QString measured; // what was measured, for people: "12 ms", "231.4 V", "+600.0 s, DST off"
    QString explanation; // one line: why this status ("clock 600 s ahead: more than 60 s")
    qint64 timestampMs = 0; // UTC ms when the check ended
    bool operator==(const CheckResult &) const = default;
};

// One meter's part of a session.
struct MeterReport {
    QString meterId;
    QString meterName;
    QString endpoint; // "host:port"
    QString logicalDeviceName; // as read in the identity check; empty when not read
    QString serialNumber;
    QString firmwareVersion;
    std::vector<CheckResult> checks; // in the order they ran
    bool operator==(const MeterReport &) const = default;

    CheckStatus overall() const; // the worst check; Skipped when there is none
    const CheckResult *find(QStringView checkId) const; // nullptr when absent
    const CheckResult *find(QLatin1StringView checkId) const; // for the `checks` constants
};

enum class SessionState : quint8 { Running, Finished, Cancelled };
QString sessionStateName(SessionState state); // "running", "finished", "cancelled"
std::optional<SessionState> sessionStateFromName(QStringView name);

struct SessionInfo {
    qint64 id = 0; // 0 until stored
    QString site;
    QString technician;
    QString notes;
    qint64 startedMs = 0; // UTC ms
    qint64 finishedMs = 0; // 0 while running
    SessionState state = SessionState::Running;
    QString configFile; // the configuration the run used (for "re-run")
    qint64 previousId = 0; // the session this one re-ran; 0 for a first run
    // Counts over the session's meters by their overall status (filled by the store's list).
    int meters = 0;
    int passed = 0;
    int warned = 0;
    int failed = 0;
    bool operator==(const SessionInfo &) const = default;
};

struct Session {
    SessionInfo info;
    std::vector<MeterReport> meters; // in run order
    bool operator==(const Session &) const = default;

    const MeterReport *findMeter(QStringView meterId) const;
    // info.meters/passed/warned/failed from `meters`.
    void updateCounts();
};

// One (meter, check) pair of two sessions, for "compare with the previous run".
struct CheckComparison {
    enum class Change : quint8 {
        Same, // same status, same measured text
        Changed, // same status, another measured value
        Better, // the status improved (fail → warn/pass, warn → pass)
        Worse, // the status got worse
        Added, // only in the current session
        Removed, // only in the previous session
    };
    QString meterId;
    QString meterName;
    QString check;
    std::optional<CheckResult> previous;
    std::optional<CheckResult> current;
    Change change = Change::Same;
};
QString changeName(CheckComparison::Change change); // "same", "changed", "better", …
// Every (meter, check) of either session: the current session's order first, then what only
// the previous one had. Skipped counts as a status (skipped → pass is Better).
std::vector<CheckComparison> compareSessions(const Session &previous, const Session &current);

// The CSV report: a header line, then one row per meter per check, in session order:
// session_id,site,technician,started_utc,meter_id,meter_name,endpoint,serial_number,
// logical_device_name,firmware,check,status,value,unit,measured,explanation,checked_utc
// RFC 4180 (storage::csvField), UTF-8, CRLF line ends, times ISO 8601 UTC with milliseconds,
// value with up to 15 significant digits (empty when none), status as checkStatusName().
// Returns the number of data rows written; IoError naming the device's file when a write
// fails. No secret is ever part of a Session, so none can reach the file.
dlms::Result<qint64> writeCommissioningCsv(const Session &session, QIODevice &out);
QByteArray commissioningCsvHeader();

} // namespace commissioning

Q_DECLARE_METATYPE(commissioning::CheckResult)
Q_DECLARE_METATYPE(commissioning::MeterReport)
