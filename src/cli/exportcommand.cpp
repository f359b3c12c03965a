#include "exportcommand.h"

#include "connectionoptions.h"

#include <csvexport.h>
#include <reader.h>

#include <QtCore/QCommandLineParser>
#include <QtCore/QDateTime>
#include <QtCore/QElapsedTimer>
#include <QtCore/QFile>
#include <QtCore/QFileInfo>
#include <QtCore/QRegularExpression>
#include <QtCore/QTextStream>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <unistd.h>

using namespace Qt::StringLiterals;

namespace {

// A time option: epoch ms (digits only), an ISO-8601 date (midnight UTC) or an ISO-8601
// date-time with 'Z' or an offset. A date-time without one is refused rather than guessed:
// local time or UTC would both surprise someone.
dlms::Result<qint64> timeOption(const QString &name, const QString &value)
{
    const QString text = value.trimmed();
    static const QRegularExpression digits(u"^\\d{1,18}$"_s);
    static const QRegularExpression date(u"^\\d{4}-\\d\\d-\\d\\d$"_s);
    static const QRegularExpression dateTime(
        u"^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d(:\\d\\d(\\.\\d{1,9})?)?(Z|[+-]\\d\\d:\\d\\d)?$"_s);
    auto bad = [&](const QString &why) { return usageError(u"--%1: '%2' %3"_s.arg(name, value, why)); };
    qint64 ms = 0;
    if (digits.match(text).hasMatch()) {
        ms = text.toLongLong();
    } else if (date.match(text).hasMatch()) {
        const QDate day = QDate::fromString(text, Qt::ISODate);
        if (!day.isValid())
            return bad(u"is not a valid date"_s);
        ms = QDateTime(day, QTime(0, 0), Qt::UTC).toMSecsSinceEpoch();
    } else if (const auto match = dateTime.match(text); match.hasMatch()) {
        if (match.captured(3).isEmpty())
            return bad(u"has no UTC offset (add 'Z' for UTC, or e.g. '+01:00')"_s);
        const QDateTime parsed = QDateTime::fromString(text, Qt::ISODateWithMs);
        if (!parsed.isValid())
            return bad(u"is not a valid date-time"_s);
        ms = parsed.toMSecsSinceEpoch();
    } else {
        return bad(u"is not a time (ISO-8601 such as 2026-11-24 or 2026-11-24T10:00:00Z, or epoch ms)"_s);
    }
    if (ms < 0)
        return bad(u"is before 1970"_s);
    return ms;
}

} // namespace

int runExportCommand(const QStringList &arguments)
{
    QTextStream err(stderr);
    QCommandLineParser parser;
    parser.setApplicationDescription(
        u"Export readings or network metrics from the bridge's database as CSV (RFC 4180: CRLF line\n"
        "ends, a header row, ISO-8601 UTC timestamps with milliseconds).\n"
        "readings: timestamp,meter_id,key,obis,value,unit,quality (scaled values, their unit apart).\n"
        "network: timestamp,meter_id,period_s, then every network_metrics column (the seed's names).\n"
        "Cells a spreadsheet would run as a formula (starting with =, +, -, @, tab or CR) get a\n"
        "leading ' — plain numbers such as -12.5 stay numbers. Rows stream from the database, so any\n"
        "size works; progress goes to stderr. With --out, the CSV is written to FILE.part and renamed\n"
        "to FILE only once complete.\n"
        "T: an ISO-8601 date (midnight UTC), a date-time with Z or an offset, or epoch milliseconds.\n\n"
        "Exit codes: 0 exported; 2 usage error; 3 the database cannot be read (missing, not SQLite,\n"
        "an older schema) or the output cannot be written."_s);
    parser.addHelpOption();
    parser.addOptions({
        {u"db"_s, u"The bridge's SQLite database (required)."_s, u"FILE"_s},
        {u"what"_s, u"readings or network (required)."_s, u"KIND"_s},
        {u"meter"_s, u"Only this meter ('*' = the system rows of network). Default: every meter."_s, u"ID"_s},
        {u"from"_s, u"Rows at or after T."_s, u"T"_s},
        {u"to"_s, u"Rows before T."_s, u"T"_s},
        {u"out"_s, u"Write to FILE instead of stdout ('-' = stdout)."_s, u"FILE"_s},
    });
    if (const auto done = parseVerbArguments(parser, arguments, u"export"_s, false))
        return *done;

    auto usage = [&](const QString &message) {
        err << "dlmsctl export: " << message << '\n';
        return 2;
    };
    const QString dbPath = parser.value(u"db"_s);
    if (dbPath.isEmpty())
        return usage(u"--db is required"_s);
    storage::ExportOptions options;
    const QString what = parser.value(u"what"_s);
    if (what == u"readings")
        options.kind = storage::ExportKind::Readings;
    else if (what == u"network")
        options.kind = storage::ExportKind::Network;
    else if (what.isEmpty())
        return usage(u"--what is required (readings or network)"_s);
    else
        return usage(u"--what must be readings or network (got '%1')"_s.arg(what));
    options.meterId = parser.value(u"meter"_s);
    if (parser.isSet(u"from"_s)) {
        const auto from = timeOption(u"from"_s, parser.value(u"from"_s));
        if (!from)
            return usage(from.error().message);
        options.fromMs = *from;
    }
    if (parser.isSet(u"to"_s)) {
        const auto to = timeOption(u"to"_s, parser.value(u"to"_s));
        if (!to)
            return usage(to.error().message);
        if (*to <= options.fromMs)
            return usage(u"--to must be after --from"_s);
        options.toMs = *to;
    }
    QString outPath = parser.value(u"out"_s);
    const bool toStdout = outPath.isEmpty() || outPath == u"-";
    if (!toStdout && QFileInfo(outPath).absoluteFilePath() == QFileInfo(dbPath).absoluteFilePath())
        return usage(u"--out must not be the database itself"_s);

    auto reader = storage::Reader::open(dbPath);
    if (!reader) {
        err << "dlmsctl export: " << reader.error().message << '\n';
        return 3;
    }

    // A file is written under a temporary name and renamed once complete, so a failed or
    // interrupted export never leaves a half file that looks like a whole one.
    const QString partPath = outPath + u".part"_s;
    QFile out;
    bool opened = false;
    if (toStdout) {
        outPath = u"stdout"_s;
        opened = out.open(STDOUT_FILENO, QIODevice::WriteOnly, QFileDevice::DontCloseHandle);
    } else {
        out.setFileName(partPath);
        opened = out.open(QIODevice::WriteOnly | QIODevice::Truncate);
    }
    if (!opened) {
        err << "dlmsctl export: " << (toStdout ? outPath : partPath)
            << ": cannot open for writing: " << out.errorString() << '\n';
        return 3;
    }

    QElapsedTimer sinceProgress;
    sinceProgress.start();
    const auto exported = storage::exportCsv(*reader, options, out, [&](qint64 rows) {
        if (sinceProgress.elapsed() < 1000)
            return;
        sinceProgress.restart();
        err << "exported " << rows << " rows\n";
        err.flush();
    });
    // A buffered file reports a full disk when flushed: look before and after closing (close()
    // clears an earlier error when its own flush has nothing left to write).
    QString writeError = out.error() != QFileDevice::NoError ? out.errorString() : QString();
    out.close();
    if (writeError.isEmpty() && out.error() != QFileDevice::NoError)
        writeError = out.errorString();
    if (!exported || !writeError.isEmpty()) {
        if (!toStdout)
            QFile::remove(partPath);
        if (!writeError.isEmpty())
            err << "dlmsctl export: " << outPath << ": write failed: " << writeError << '\n';
        else
            err << "dlmsctl export: " << exported.error().message << '\n';
        return 3;
    }
    if (!toStdout) {
        // rename(2) replaces an existing FILE atomically; QFile::rename would refuse to.
        if (::rename(QFile::encodeName(partPath).constData(), QFile::encodeName(outPath).constData()) != 0) {
            const QString reason = QString::fromLocal8Bit(std::strerror(errno));
            QFile::remove(partPath);
            err << "dlmsctl export: " << outPath << ": cannot rename " << partPath << ": " << reason << '\n';
            return 3;
        }
    }
    err << "exported " << *exported << " rows to " << outPath << '\n';
    return 0;
}
