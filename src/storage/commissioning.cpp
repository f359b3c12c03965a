#include "commissioning.h"

#include "csvexport.h"

#include <QtCore/QCoreApplication>
#include <QtCore/QDateTime>
#include <QtCore/QFileDevice>
#include <QtCore/QHash>
#include <QtCore/QIODevice>
#include <QtCore/QSet>

#include <cmath>

using namespace Qt::StringLiterals;

namespace commissioning {

namespace {

// Rows are gathered into chunks of this size before they reach the device: few write calls.
constexpr qsizetype ChunkBytes = 64 * 1024;

struct CheckTitle {
    QLatin1StringView id;
    const char *title;
};

// Check titles for people; lupdate finds them through QT_TRANSLATE_NOOP.
constexpr CheckTitle CheckTitles[] {
    {checks::Tcp, QT_TRANSLATE_NOOP("commissioning", "TCP connection")},
    {checks::Association, QT_TRANSLATE_NOOP("commissioning", "Association")},
    {checks::Identity, QT_TRANSLATE_NOOP("commissioning", "Identity")},
    {checks::Clock, QT_TRANSLATE_NOOP("commissioning", "Clock")},
    {checks::ClockSync, QT_TRANSLATE_NOOP("commissioning", "Clock synchronisation")},
    {checks::Objects, QT_TRANSLATE_NOOP("commissioning", "Object list")},
    {checks::Mqtt, QT_TRANSLATE_NOOP("commissioning", "MQTT round trip")},
    {checks::TrafficBytes, QT_TRANSLATE_NOOP("commissioning", "Traffic per poll")},
    {checks::TrafficRtt, QT_TRANSLATE_NOOP("commissioning", "Round-trip time")},
};

// How good a status is for "compare with the previous run": a check that did not run proves
// nothing, so running it at all (even failing) is progress and skipping it again is a loss.
int goodness(CheckStatus status)
{
    switch (status) {
    case CheckStatus::Skipped:
        return 0;
    case CheckStatus::Fail:
        return 1;
    case CheckStatus::Warn:
        return 2;
    case CheckStatus::Pass:
        return 3;
    }
    return 0;
}

// Severity for worse(): Fail > Warn > Pass > Skipped.
int severity(CheckStatus status)
{
    switch (status) {
    case CheckStatus::Skipped:
        return 0;
    case CheckStatus::Pass:
        return 1;
    case CheckStatus::Warn:
        return 2;
    case CheckStatus::Fail:
        return 3;
    }
    return 0;
}

CheckComparison::Change changeOf(const CheckResult &previous, const CheckResult &current)
{
    const int before = goodness(previous.status);
    const int after = goodness(current.status);
    if (after > before)
        return CheckComparison::Change::Better;
    if (after < before)
        return CheckComparison::Change::Worse;
    return previous.measured == current.measured ? CheckComparison::Change::Same
                                                 : CheckComparison::Change::Changed;
}

// Zero means "not known" throughout the sessions: it stays an empty field, not 1970.
QByteArray isoUtc(qint64 ms)
{
    if (ms == 0)
        return {};
    return QDateTime::fromMSecsSinceEpoch(ms, Qt::UTC).toString(Qt::ISODateWithMs).toLatin1();
}

void appendValue(QByteArray &out, const std::optional<double> &value)
{
    // QByteArray::number ignores the locale: always '.', 15 digits keep a scaled reading as
    // the meter meant it ("230.1", not "230.09999999999999").
    if (value && std::isfinite(*value))
        out += QByteArray::number(*value, 'g', 15);
}

QString deviceName(const QIODevice &out)
{
    if (const auto *file = qobject_cast<const QFileDevice *>(&out); file && !file->fileName().isEmpty())
        return file->fileName();
    return u"CSV output"_s;
}

dlms::Error writeError(const QIODevice &out, const QString &reason)
{
    return {dlms::ErrorCode::IoError, u"%1: write failed: %2"_s.arg(deviceName(out), reason)};
}

} // namespace

QString checkStatusName(CheckStatus status)
{
    switch (status) {
    case CheckStatus::Pass:
        return u"pass"_s;
    case CheckStatus::Warn:
        return u"warn"_s;
    case CheckStatus::Fail:
        return u"fail"_s;
    case CheckStatus::Skipped:
        return u"skipped"_s;
    }
    return u"skipped"_s;
}

std::optional<CheckStatus> checkStatusFromName(QStringView name)
{
    for (const CheckStatus status :
        {CheckStatus::Pass, CheckStatus::Warn, CheckStatus::Fail, CheckStatus::Skipped}) {
        if (name == checkStatusName(status))
            return status;
    }
    return std::nullopt;
}

QString checkStatusText(CheckStatus status)
{
    switch (status) {
    case CheckStatus::Pass:
        return QCoreApplication::translate("commissioning", "Pass");
    case CheckStatus::Warn:
        return QCoreApplication::translate("commissioning", "Warning");
    case CheckStatus::Fail:
        return QCoreApplication::translate("commissioning", "Fail");
    case CheckStatus::Skipped:
        return QCoreApplication::translate("commissioning", "Skipped");
    }
    return {};
}

CheckStatus worse(CheckStatus a, CheckStatus b)
{
    return severity(b) > severity(a) ? b : a;
}

QString checkTitle(QStringView checkId)
{
    if (checkId.startsWith(checks::RegisterPrefix))
        return QCoreApplication::translate("commissioning", "Register %1")
            .arg(checkId.mid(checks::RegisterPrefix.size()));
    for (const CheckTitle &entry : CheckTitles) {
        if (checkId == entry.id)
            return QCoreApplication::translate("commissioning", entry.title);
    }
    // A check of a newer program read from an old file: its id is still better than nothing.
    return checkId.toString();
}

CheckStatus MeterReport::overall() const
{
    CheckStatus result = CheckStatus::Skipped;
    for (const CheckResult &check : checks)
        result = worse(result, check.status);
    return result;
}

const CheckResult *MeterReport::find(QStringView checkId) const
{
    for (const CheckResult &check : checks) {
        if (check.check == checkId)
            return &check;
    }
    return nullptr;
}

const CheckResult *MeterReport::find(QLatin1StringView checkId) const
{
    for (const CheckResult &check : checks) {
        if (check.check == checkId)
            return &check;
    }
    return nullptr;
}

QString sessionStateName(SessionState state)
{
    switch (state) {
    case SessionState::Running:
        return u"running"_s;
    case SessionState::Finished:
        return u"finished"_s;
    case SessionState::Cancelled:
        return u"cancelled"_s;
    }
    return u"running"_s;
}

std::optional<SessionState> sessionStateFromName(QStringView name)
{
    for (const SessionState state :
        {SessionState::Running, SessionState::Finished, SessionState::Cancelled}) {
        if (name == sessionStateName(state))
            return state;
    }
    return std::nullopt;
}

const MeterReport *Session::findMeter(QStringView meterId) const
{
    for (const MeterReport &meter : meters) {
        if (meter.meterId == meterId)
            return &meter;
    }
    return nullptr;
}

void Session::updateCounts()
{
    info.meters = static_cast<int>(meters.size());
    info.passed = 0;
    info.warned = 0;
    info.failed = 0;
    for (const MeterReport &meter : meters) {
        switch (meter.overall()) {
        case CheckStatus::Pass:
            ++info.passed;
            break;
        case CheckStatus::Warn:
            ++info.warned;
            break;
        case CheckStatus::Fail:
            ++info.failed;
            break;
        case CheckStatus::Skipped:
            break;
        }
    }
}

QString changeName(CheckComparison::Change change)
{
    switch (change) {
    case CheckComparison::Change::Same:
        return u"same"_s;
    case CheckComparison::Change::Changed:
        return u"changed"_s;
    case CheckComparison::Change::Better:
        return u"better"_s;
    case CheckComparison::Change::Worse:
        return u"worse"_s;
    case CheckComparison::Change::Added:
        return u"added"_s;
    case CheckComparison::Change::Removed:
        return u"removed"_s;
    }
    return u"same"_s;
}

std::vector<CheckComparison> compareSessions(const Session &previous, const Session &current)
{
    std::vector<CheckComparison> result;
    // (meter, check) of the previous run → its result; a site has some hundreds of meters, so
    // the lookups stay linear in the size of both sessions.
    QHash<QString, QHash<QString, const CheckResult *>> before;
    for (const MeterReport &meter : previous.meters) {
        auto &checksOfMeter = before[meter.meterId];
        for (const CheckResult &check : meter.checks)
            checksOfMeter.insert(check.check, &check);
    }
    QHash<QString, QSet<QString>> seen;
    for (const MeterReport &meter : current.meters) {
        const auto meterBefore = before.constFind(meter.meterId);
        auto &seenOfMeter = seen[meter.meterId];
        for (const CheckResult &check : meter.checks) {
            CheckComparison row;
            row.meterId = meter.meterId;
            row.meterName = meter.meterName;
            row.check = check.check;
            row.current = check;
            const CheckResult *old = nullptr;
            if (meterBefore != before.constEnd())
                old = meterBefore->value(check.check, nullptr);
            if (old) {
                row.previous = *old;
                row.change = changeOf(*old, check);
            } else {
                row.change = CheckComparison::Change::Added;
            }
            seenOfMeter.insert(check.check);
            result.push_back(std::move(row));
        }
    }
    for (const MeterReport &meter : previous.meters) {
        const auto seenOfMeter = seen.constFind(meter.meterId);
        for (const CheckResult &check : meter.checks) {
            if (seenOfMeter != seen.constEnd() && seenOfMeter->contains(check.check))
                continue;
            CheckComparison row;
            row.meterId = meter.meterId;
            // The name the meter has now, when it is still in the current run.
            const MeterReport *now = current.findMeter(meter.meterId);
            row.meterName = now ? now->meterName : meter.meterName;
            row.check = check.check;
            row.previous = check;
            row.change = CheckComparison::Change::Removed;
            result.push_back(std::move(row));
        }
    }
    return result;
}

QByteArray commissioningCsvHeader()
{
    return "session_id,site,technician,started_utc,meter_id,meter_name,endpoint,serial_number,"
           "logical_device_name,firmware,check,status,value,unit,measured,explanation,checked_utc";
}

dlms::Result<qint64> writeCommissioningCsv(const Session &session, QIODevice &out)
{
    if (!out.isOpen() || !out.isWritable())
        return writeError(out, u"the device is not open for writing"_s);

    QByteArray chunk;
    chunk.reserve(ChunkBytes + 4096);
    auto flushChunk = [&]() -> bool {
        if (chunk.isEmpty())
            return true;
        if (out.write(chunk) != chunk.size())
            return false;
        chunk.resize(0);
        return true;
    };

    chunk += commissioningCsvHeader();
    chunk += "\r\n";
    // The session's columns are the same on every row: built once.
    QByteArray sessionPart = QByteArray::number(session.info.id);
    sessionPart += ',';
    sessionPart += storage::csvField(session.info.site);
    sessionPart += ',';
    sessionPart += storage::csvField(session.info.technician);
    sessionPart += ',';
    sessionPart += isoUtc(session.info.startedMs);
    sessionPart += ',';

    qint64 rows = 0;
    for (const MeterReport &meter : session.meters) {
        QByteArray meterPart = sessionPart;
        for (const QString *text : {&meter.meterId, &meter.meterName, &meter.endpoint, &meter.serialNumber,
                 &meter.logicalDeviceName, &meter.firmwareVersion}) {
            meterPart += storage::csvField(*text);
            meterPart += ',';
        }
        for (const CheckResult &check : meter.checks) {
            chunk += meterPart;
            chunk += storage::csvField(check.check);
            chunk += ',';
            chunk += checkStatusName(check.status).toLatin1();
            chunk += ',';
            appendValue(chunk, check.value);
            chunk += ',';
            chunk += storage::csvField(check.unit);
            chunk += ',';
            chunk += storage::csvField(check.measured);
            chunk += ',';
            chunk += storage::csvField(check.explanation);
            chunk += ',';
            chunk += isoUtc(check.timestampMs);
            chunk += "\r\n";
            ++rows;
            if (chunk.size() >= ChunkBytes && !flushChunk())
                return writeError(out, out.errorString());
        }
    }
    if (!flushChunk())
        return writeError(out, out.errorString());
    // A file device buffers: its write errors (a full disk) show when it is flushed.
    if (auto *file = qobject_cast<QFileDevice *>(&out); file && !file->flush())
        return writeError(out, file->errorString());
    return rows;
}

} // namespace commissioning
