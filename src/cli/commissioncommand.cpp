#include "commissioncommand.h"

#include "connectionoptions.h"
#include "secretscrubber.h"
#include <processlimits.h>

#include <bridgeconfig.h>
#include <commissioning.h>
#include <commissioningreport.h>
#include <commissioningrun.h>
#include <commissioningstore.h>
#include <displayformat.h>
#include <invocationcounterstore.h>

#include <QtCore/QCommandLineParser>
#include <QtCore/QCoreApplication>
#include <QtCore/QDateTime>
#include <QtCore/QFileInfo>
#include <QtCore/QLoggingCategory>
#include <QtCore/QMutex>
#include <QtCore/QSaveFile>
#include <QtCore/QSet>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <memory>
#include <optional>
#include <pwd.h>
#include <unistd.h>
#include <vector>

using namespace Qt::StringLiterals;

namespace {

constexpr int StatusWidth = 7; // "skipped"
constexpr int MinTitleWidth = 20;
constexpr int MinMeasuredWidth = 12;
// A long measured text (an identity) pushes its own explanation out rather than every line's.
constexpr int MaxMeasuredWidth = 32;
constexpr int MinSerialWidth = 12;

void printError(const QString &message)
{
    printLine(stderr, u"dlmsctl: "_s + message);
}

QString padded(const QString &text, qsizetype width)
{
    return text.leftJustified(width, u' ');
}

// The last line of defence: the engine keeps secrets out of its results and messages; this
// replaces any that still shows up in what the command prints, stores or exports.
SecretScrubber &scrubber()
{
    static SecretScrubber instance;
    return instance;
}

commissioning::MeterReport scrubbed(commissioning::MeterReport report)
{
    const SecretScrubber &scrub = scrubber();
    report.meterName = scrub(report.meterName);
    report.logicalDeviceName = scrub(report.logicalDeviceName);
    report.serialNumber = scrub(report.serialNumber);
    report.firmwareVersion = scrub(report.firmwareVersion);
    for (commissioning::CheckResult &check : report.checks) {
        check.measured = scrub(check.measured);
        check.explanation = scrub(check.explanation);
    }
    return report;
}

QtMessageHandler previousHandler = nullptr;
QMutex handlerMutex;

void scrubbingHandler(QtMsgType type, const QMessageLogContext &context, const QString &message)
{
    const QMutexLocker lock(&handlerMutex);
    const QString text = scrubber()(message);
    if (previousHandler)
        previousHandler(type, context, text);
    else
        printLine(stderr, text);
}

// The engine's messages on stderr for as long as the command runs, secrets replaced.
class LogScrubbing {
public:
    LogScrubbing()
    {
        // QT_LOGGING_RULES is applied after these rules, so it can turn debug on again.
        QLoggingCategory::setFilterRules(u"*.debug=false"_s);
        previousHandler = qInstallMessageHandler(scrubbingHandler);
    }
    ~LogScrubbing() { qInstallMessageHandler(previousHandler); }
    Q_DISABLE_COPY_MOVE(LogScrubbing)
};

bool colourOutput()
{
    if (!::isatty(STDOUT_FILENO) || qEnvironmentVariableIsSet("NO_COLOR"))
        return false;
    return qEnvironmentVariable("TERM") != u"dumb"_s;
}

QString statusWord(commissioning::CheckStatus status, bool upper, bool colour)
{
    QString word = commissioning::checkStatusName(status);
    if (upper)
        word = word.toUpper();
    if (!colour)
        return word;
    const char *code = "";
    switch (status) {
    case commissioning::CheckStatus::Pass:
        code = "32";
        break;
    case commissioning::CheckStatus::Warn:
        code = "33";
        break;
    case commissioning::CheckStatus::Fail:
        code = "1;31";
        break;
    case commissioning::CheckStatus::Skipped:
        code = "2";
        break;
    }
    return u"\x1b[%1m%2\x1b[0m"_s.arg(QLatin1StringView(code), word);
}

// A status word padded to the column, with the padding outside any colour codes.
QString statusCell(commissioning::CheckStatus status, bool upper, bool colour, int width)
{
    const qsizetype plain = commissioning::checkStatusName(status).size();
    return statusWord(status, upper, colour) + QString(std::max<qsizetype>(0, width - plain), u' ');
}

QString textOrNoData(const QString &text)
{
    return text.isEmpty() ? monitor::noData() : terminalSafe(text);
}

// The column widths of the meter header lines, from what is known before the run.
struct HeaderWidths {
    qsizetype id = 0;
    qsizetype endpoint = 0;
};

QStringList meterBlock(const commissioning::MeterReport &report, const HeaderWidths &widths, bool colour)
{
    QStringList lines;
    const QString serial = textOrNoData(report.serialNumber);
    lines << u"%1  %2  %3  %4"_s.arg(padded(terminalSafe(report.meterId), widths.id),
        padded(terminalSafe(report.endpoint), widths.endpoint),
        padded(serial, std::max<qsizetype>(MinSerialWidth, serial.size())),
        statusWord(report.overall(), true, colour));
    qsizetype titleWidth = MinTitleWidth;
    qsizetype measuredWidth = MinMeasuredWidth;
    for (const commissioning::CheckResult &check : report.checks) {
        titleWidth = std::max(titleWidth, commissioning::checkTitle(check.check).size());
        measuredWidth = std::max(measuredWidth, textOrNoData(check.measured).size());
    }
    measuredWidth = std::min<qsizetype>(measuredWidth, MaxMeasuredWidth);
    for (const commissioning::CheckResult &check : report.checks) {
        QString line = u"  "_s + statusCell(check.status, false, colour, StatusWidth) + u"  "_s
            + padded(terminalSafe(commissioning::checkTitle(check.check)), titleWidth) + u"  "_s
            + padded(textOrNoData(check.measured), measuredWidth);
        if (!check.explanation.isEmpty())
            line += u"  "_s + terminalSafe(check.explanation);
        lines << line.trimmed().prepend(u"  "_s);
    }
    return lines;
}

QString plural(qsizetype n, const QString &one, const QString &many)
{
    return QString::number(n) + u' ' + (n == 1 ? one : many);
}

QString summaryLine(const commissioning::Session &session, int total, bool cancelled)
{
    int skipped = 0;
    for (const commissioning::MeterReport &meter : session.meters) {
        if (meter.overall() == commissioning::CheckStatus::Skipped)
            ++skipped;
    }
    QString line = u"Summary: %1 of %2 checked: %3 pass, %4 warn, %5 fail"_s.arg(
        QString::number(session.meters.size()), plural(total, u"meter"_s, u"meters"_s),
        QString::number(session.info.passed), QString::number(session.info.warned),
        QString::number(session.info.failed));
    if (skipped > 0)
        line += u", %1 skipped"_s.arg(skipped);
    if (cancelled)
        line += u" (cancelled)"_s;
    return line;
}

QString localTime(qint64 utcMs)
{
    const QDateTime local = QDateTime::fromMSecsSinceEpoch(utcMs);
    return local.toOffsetFromUtc(local.offsetFromUtc()).toString(Qt::ISODate);
}

// What changed against the previous session: one line per (meter, check) whose status
// changed, appeared or went away; a count of those that only measured another value (every
// timing does, so listing them would bury the rest).
QStringList comparisonLines(const commissioning::Session &previous, const commissioning::Session &current)
{
    using Change = commissioning::CheckComparison::Change;
    QStringList lines {u"Compared with session %1 of %2 (%3):"_s.arg(QString::number(previous.info.id),
        localTime(previous.info.startedMs), terminalSafe(previous.info.site))};
    const std::vector<commissioning::CheckComparison> rows
        = commissioning::compareSessions(previous, current);
    qsizetype meterWidth = 0;
    qsizetype titleWidth = 0;
    int valuesChanged = 0;
    std::vector<const commissioning::CheckComparison *> changed;
    for (const commissioning::CheckComparison &row : rows) {
        // A run of some meters is not a site that lost the others.
        if (row.change == Change::Same || !current.findMeter(row.meterId))
            continue;
        if (row.change == Change::Changed) {
            ++valuesChanged;
            continue;
        }
        changed.push_back(&row);
        meterWidth = std::max(meterWidth, terminalSafe(row.meterId).size());
        titleWidth = std::max(titleWidth, commissioning::checkTitle(row.check).size());
    }
    auto statusOf = [](const std::optional<commissioning::CheckResult> &result) {
        return result ? commissioning::checkStatusName(result->status) : monitor::noData();
    };
    for (const commissioning::CheckComparison *row : changed) {
        QString measured;
        if (row->previous && row->current)
            measured
                = textOrNoData(row->previous->measured) + u" → "_s + textOrNoData(row->current->measured);
        else
            measured = textOrNoData(row->current ? row->current->measured : row->previous->measured);
        lines << u"  %1  %2  %3  %4 → %5  %6"_s.arg(padded(terminalSafe(row->meterId), meterWidth),
            padded(commissioning::checkTitle(row->check), titleWidth),
            padded(commissioning::changeName(row->change), 7), statusOf(row->previous),
            statusOf(row->current), measured);
    }
    if (changed.empty())
        lines << u"  no status changed"_s;
    if (valuesChanged > 0)
        lines << u"  %1 kept their status with another measured value"_s.arg(
            plural(valuesChanged, u"check"_s, u"checks"_s));
    return lines;
}

dlms::Result<qint64> writeCsv(const commissioning::Session &session, const QString &path)
{
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly)) {
        return dlms::makeError(
            dlms::ErrorCode::IoError, u"cannot write the CSV report %1: %2"_s.arg(path, file.errorString()));
    }
    const auto rows = commissioning::writeCommissioningCsv(session, file);
    if (!rows) {
        file.cancelWriting();
        return dlms::makeError(dlms::ErrorCode::IoError,
            u"cannot write the CSV report %1: %2"_s.arg(path, rows.error().message));
    }
    if (!file.commit()) {
        return dlms::makeError(
            dlms::ErrorCode::IoError, u"cannot write the CSV report %1: %2"_s.arg(path, file.errorString()));
    }
    return *rows;
}

QString helpText()
{
    return u"Commission the meters of a configuration file: check each one end to end, print the\n"
           "results meter by meter as they finish, store the session in the configuration's database\n"
           "and export it as CSV and/or PDF.\n\n"
           "Checks, in order: tcp, association, identity, clock [, clock-sync with --sync-clock],\n"
           "register:<key> for each configured item (plausibility ranges of the \"commissioning\"\n"
           "section, defaults for voltage, frequency and power factor), objects (object list against\n"
           "the configured items), mqtt (the broker acknowledges a message for the meter; skipped\n"
           "when MQTT is off), traffic-bytes and traffic-rtt (a short polling baseline).\n\n"
           "Output: per meter 'ID  HOST:PORT  SERIAL  OVERALL', then one line per check:\n"
           "status, check, measured value, explanation. Then a summary line and where the session\n"
           "and the reports were written. SIGINT or SIGTERM cancels the run: what was checked is\n"
           "kept (session state 'cancelled') and reported.\n\n"
           "Security: --auth, --security, --system-title, --ek, --ak, --dedicated-key and\n"
           "--general-ciphering, when given, override those settings of every checked meter (the\n"
           "configuration file is not changed); --invocation-counter and --counter-dir apply to the\n"
           "invocation counters of the meters that use HLS-GMAC or ciphering.\n\n"
           "Exit codes: 0 no check failed; 1 at least one check failed, or the run was cancelled;\n"
           "2 usage or configuration error; 3 the session or a report could not be written."_s;
}

void addCommissionOptions(QCommandLineParser &parser)
{
    parser.addOptions({
        {u"config"_s, u"Configuration file (required)."_s, u"FILE"_s},
        {u"meter"_s, u"Check only this meter (by id; repeatable). Default: every meter."_s, u"ID"_s},
        {u"csv"_s, u"Write the CSV report (one row per meter per check) to FILE."_s, u"FILE"_s},
        {u"pdf"_s, u"Write the PDF report to FILE."_s, u"FILE"_s},
        {u"sync-clock"_s,
            u"Set a meter's clock to this computer's UTC when it is off by more than the clock "
            "warning threshold (needs write access: LLS), then check it again."_s},
        {u"site"_s, u"Site name (default: the configuration file's base name)."_s, u"S"_s},
        {u"technician"_s, u"Technician's name (default: $USER)."_s, u"T"_s},
        {u"notes"_s, u"Notes for the session and the report."_s, u"N"_s},
        {u"database"_s,
            u"Store the session in this SQLite file (default: the configuration's storage.path)."_s,
            u"PATH"_s},
        {u"no-store"_s, u"Do not store the session."_s},
        {u"compare"_s,
            u"Print what changed against the previous session of the same site (and add it to the PDF)."_s},
        {u"quiet"_s, u"Print only the summary (and where the session and reports went)."_s},
        {u"auth"_s,
            u"Override the authentication of the checked meters: none, low (their configured password) or "
            "hls-gmac."_s,
            u"mode"_s},
    });
    addSecurityOptions(parser);
}

// $USER, else the account's name (cron, sudo -i and some containers leave USER unset).
QString defaultTechnician()
{
    QString name = qEnvironmentVariable("USER");
    if (name.isEmpty()) {
        if (const passwd *account = ::getpwuid(::geteuid()); account && account->pw_name)
            name = QString::fromLocal8Bit(account->pw_name);
    }
    return name;
}

struct Invocation {
    app::BridgeConfig config;
    std::vector<polling::MeterConfig> meters;
    QString configPath;
    QString site;
    QString technician;
    QString notes;
    QString databasePath; // empty: --no-store
    QString csvPath;
    QString pdfPath;
    bool syncClock = false;
    bool compare = false;
    bool quiet = false;
    // Opened before the run with the --invocation-counter floor; the run's connections get the
    // same objects (polling::sharedInvocationCounter keeps one per file while they are held).
    std::vector<std::shared_ptr<dlms::InvocationCounter>> counters;
};

// --auth and the security options over the checked meters (the run takes its meters from the
// configuration, so both see them).
dlms::Result<void> applySecurityOverrides(const QCommandLineParser &parser, Invocation &in)
{
    const auto overrides = securityOverrides(parser);
    if (!overrides)
        return overrides.error();
    auto counters = overrides->applyTo(in.meters);
    if (!counters)
        return counters.error();
    in.counters = std::move(*counters);
    for (polling::MeterConfig &configured : in.config.site.meters) {
        for (const polling::MeterConfig &meter : in.meters) {
            if (configured.id == meter.id)
                configured = meter;
        }
    }
    return {};
}

// The options checked and the configuration loaded; an error is a usage error (exit 2).
dlms::Result<Invocation> invocation(const QCommandLineParser &parser)
{
    Invocation in;
    in.configPath = parser.value(u"config"_s);
    if (in.configPath.isEmpty())
        return usageError(u"commission needs --config FILE"_s);
    if (parser.isSet(u"no-store"_s) && parser.isSet(u"database"_s))
        return usageError(u"--database and --no-store exclude each other"_s);
    if (parser.isSet(u"no-store"_s) && parser.isSet(u"compare"_s))
        return usageError(u"--compare needs the stored sessions: not with --no-store"_s);
    for (const QString &name : {u"csv"_s, u"pdf"_s, u"database"_s}) {
        if (parser.isSet(name) && parser.value(name).isEmpty())
            return usageError(u"--%1 needs a file name"_s.arg(name));
    }
    if (!QFileInfo::exists(in.configPath))
        return usageError(u"cannot read %1: No such file or directory"_s.arg(in.configPath));

    QStringList warnings;
    auto config = app::loadBridgeConfig(in.configPath, &warnings);
    for (const QString &warning : std::as_const(warnings))
        printError(u"warning: "_s + warning);
    if (!config)
        return usageError(config.error().message);
    in.config = std::move(*config);

    const QStringList wanted = parser.values(u"meter"_s);
    for (const QString &id : wanted) {
        if (!in.config.findMeter(id))
            return usageError(u"%1: no meter with id '%2'"_s.arg(in.configPath, id));
    }
    // Configuration order: the report lists a site as its file does.
    for (const polling::MeterConfig &meter : in.config.site.meters) {
        if (wanted.isEmpty() || wanted.contains(meter.id))
            in.meters.push_back(meter);
    }
    if (in.meters.empty())
        return usageError(u"%1: no meters to check"_s.arg(in.configPath));
    if (auto applied = applySecurityOverrides(parser, in); !applied)
        return applied.error();

    in.site = parser.isSet(u"site"_s) ? parser.value(u"site"_s) : QFileInfo(in.configPath).completeBaseName();
    in.technician = parser.isSet(u"technician"_s) ? parser.value(u"technician"_s) : defaultTechnician();
    in.notes = parser.value(u"notes"_s);
    if (!parser.isSet(u"no-store"_s)) {
        in.databasePath = parser.isSet(u"database"_s)
            ? QFileInfo(parser.value(u"database"_s)).absoluteFilePath()
            : in.config.storage.path;
    }
    in.csvPath = parser.value(u"csv"_s);
    in.pdfPath = parser.value(u"pdf"_s);
    in.syncClock = parser.isSet(u"sync-clock"_s);
    in.compare = parser.isSet(u"compare"_s);
    in.quiet = parser.isSet(u"quiet"_s);
    return in;
}

} // namespace

bool commissionNeedsGui(const QStringList &arguments)
{
    QCommandLineParser parser;
    parser.addHelpOption();
    addCommissionOptions(parser);
    return parser.parse(arguments) && !parser.isSet(u"help"_s) && parser.isSet(u"pdf"_s);
}

int runCommissionCommand(const QStringList &arguments)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(helpText());
    parser.addHelpOption();
    addCommissionOptions(parser);
    if (const auto done = parseVerbArguments(parser, arguments, u"commission"_s, false))
        return *done;
    auto parsed = invocation(parser);
    if (!parsed) {
        printError(parsed.error().message);
        return 2;
    }
    Invocation &in = *parsed;
    scrubber().add(configSecrets(in.config));
    const LogScrubbing logging;
    const SecretScrubber &scrub = scrubber();
    if (!in.pdfPath.isEmpty() && !QCoreApplication::instance()->inherits("QGuiApplication")) {
        printError(u"--pdf needs a GUI application object (run from dlmsctl)"_s);
        return 2;
    }
    raiseOpenFileLimit(quint64(std::min<qsizetype>(qsizetype(in.meters.size()), 64)) + 64);

    commissioning::Session session;
    session.info.site = in.site;
    session.info.technician = in.technician;
    session.info.notes = in.notes;
    session.info.configFile = QFileInfo(in.configPath).absoluteFilePath();
    session.info.startedMs = QDateTime::currentMSecsSinceEpoch();
    session.info.state = commissioning::SessionState::Running;

    std::unique_ptr<commissioning::Store> store;
    QStringList writeProblems;
    if (!in.databasePath.isEmpty()) {
        auto opened = commissioning::Store::open(in.databasePath);
        if (!opened) {
            printError(opened.error().message + u" (--no-store runs without storing)"_s);
            return 3;
        }
        store = std::move(*opened);
        const auto id = store->createSession(session.info);
        if (!id) {
            printError(u"cannot store the session in %1: %2"_s.arg(in.databasePath, id.error().message));
            return 3;
        }
        session.info.id = *id;
    }

    // The ids in configuration order (commissioningOptions keeps the order it is given), and
    // only the selected meters' publishing: the run carries no other meter's token.
    QStringList meterIds;
    for (const polling::MeterConfig &meter : in.meters)
        meterIds << meter.id;
    app::CommissioningOptions options = app::commissioningOptions(in.config, meterIds);
    options.syncClock = in.syncClock;
    app::CommissioningRun run(std::move(options));

    HeaderWidths widths;
    for (const polling::MeterConfig &meter : in.meters) {
        widths.id = std::max(widths.id, meter.id.size());
        widths.endpoint = std::max(widths.endpoint, meter.endpoint().size());
    }
    const bool colour = colourOutput();
    QSet<QString> reported;
    bool storeFailed = false;
    // Printed and stored as each meter finishes, so a crash or a signal keeps what was checked.
    auto record = [&](const commissioning::MeterReport &raw) {
        if (reported.contains(raw.meterId))
            return;
        reported.insert(raw.meterId);
        const commissioning::MeterReport report = scrubbed(raw);
        if (!in.quiet) {
            for (const QString &line : meterBlock(report, widths, colour))
                printLine(stdout, line);
        }
        if (store && !storeFailed) {
            if (const auto saved = store->saveMeter(session.info.id, report); !saved) {
                storeFailed = true;
                writeProblems << u"cannot store the session in %1: %2"_s.arg(
                    in.databasePath, saved.error().message);
                printError(writeProblems.constLast());
            }
        }
    };

    QObject context;
    bool cancelled = false;
    bool cancelling = false;
    QObject::connect(&run, &app::CommissioningRun::meterFinished, &context, record);
    QObject::connect(
        &run, &app::CommissioningRun::finished, &context,
        [&](bool wasCancelled) {
            cancelled = cancelled || wasCancelled;
            QCoreApplication::quit();
        },
        Qt::QueuedConnection);
    const bool handlers = onTerminationSignal(&context, [&] {
        cancelled = true;
        if (cancelling) {
            // A second signal: the cancel did not end the run; stop waiting for it.
            QCoreApplication::quit();
            return;
        }
        cancelling = true;
        printError(u"interrupted: cancelling the run"_s);
        run.cancel();
    });
    if (!handlers) {
        printError(u"cannot install the signal handlers: "_s + qt_error_string(errno));
        return 2;
    }

    run.start();
    QCoreApplication::exec();
    if (run.isRunning()) {
        cancelled = true;
        run.cancel();
    }

    // Meters the cancel cut short may only be in reports(); their order is the run's.
    for (const commissioning::MeterReport &report : run.reports())
        record(report);
    for (const commissioning::MeterReport &report : run.reports())
        session.meters.push_back(scrubbed(report));
    session.info.finishedMs = QDateTime::currentMSecsSinceEpoch();
    session.info.state
        = cancelled ? commissioning::SessionState::Cancelled : commissioning::SessionState::Finished;
    session.updateCounts();

    if (store && !storeFailed) {
        if (const auto finished
            = store->finishSession(session.info.id, session.info.state, session.info.finishedMs);
            !finished) {
            storeFailed = true;
            writeProblems << u"cannot store the session in %1: %2"_s.arg(
                in.databasePath, finished.error().message);
            printError(writeProblems.constLast());
        }
    }

    std::optional<commissioning::Session> previous;
    QStringList comparison;
    if (in.compare && store) {
        const auto previousId = store->previousSessionOf(session.info.id);
        if (!previousId) {
            printError(u"cannot read the previous session: "_s + previousId.error().message);
        } else if (*previousId == 0) {
            comparison << u"Compared with: no previous session of site %1"_s.arg(terminalSafe(in.site));
        } else if (auto loaded = store->session(*previousId); !loaded) {
            printError(u"cannot read the previous session: "_s + loaded.error().message);
        } else {
            previous = std::move(*loaded);
            comparison = comparisonLines(*previous, session);
        }
    }

    QStringList written;
    if (!in.csvPath.isEmpty()) {
        if (const auto rows = writeCsv(session, in.csvPath); rows) {
            written << u"CSV report written to %1 (%2)"_s.arg(in.csvPath, plural(*rows, u"row"_s, u"rows"_s));
        } else {
            writeProblems << rows.error().message;
        }
    }
    if (!in.pdfPath.isEmpty()) {
        report::PdfOptions pdf;
        pdf.previous = previous;
        if (const auto done = report::writeCommissioningPdf(session, in.pdfPath, pdf); done)
            written << u"PDF report written to %1"_s.arg(in.pdfPath);
        else
            writeProblems << u"cannot write the PDF report %1: %2"_s.arg(in.pdfPath, done.error().message);
    }

    if (!in.quiet) {
        for (const QString &line : std::as_const(comparison))
            printLine(stdout, scrub(line));
    }
    printLine(stdout, summaryLine(session, run.metersTotal(), cancelled));
    if (store && !storeFailed)
        printLine(
            stdout, u"Session %1 stored in %2"_s.arg(QString::number(session.info.id), in.databasePath));
    for (const QString &line : std::as_const(written))
        printLine(stdout, line);
    for (const QString &problem : std::as_const(writeProblems)) {
        if (!problem.startsWith(u"cannot store"_s))
            printError(problem);
    }

    if (!writeProblems.isEmpty())
        return 3;
    return cancelled || session.info.failed > 0 ? 1 : 0;
}
