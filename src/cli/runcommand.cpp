#include "runcommand.h"

#include "connectionoptions.h"
#include "secretscrubber.h"
#include <processlimits.h>

#include <bridge.h>
#include <bridgeconfig.h>
#include <meterconfig.h>
#include <telemetryformat.h>

#include <QtCore/QCommandLineParser>
#include <QtCore/QCoreApplication>
#include <QtCore/QDateTime>
#include <QtCore/QFileInfo>
#include <QtCore/QLoggingCategory>
#include <QtCore/QMutex>
#include <QtCore/QTimer>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <limits>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

using namespace Qt::StringLiterals;

namespace {

Q_LOGGING_CATEGORY(lcRun, "dlmsbridge.app")

// QTimer counts in int milliseconds: --seconds beyond this would overflow it.
constexpr qint64 MaxRunSeconds = std::numeric_limits<int>::max() / 1000;
constexpr qint64 DefaultStopTimeoutS = 3;
constexpr qint64 MaxStopTimeoutS = 600;
// Beyond --stop-timeout, what a clean stop may still take: the publisher's drain of the last
// rows and the writer's final transaction. Past it the stop is aborted.
constexpr int StopGuardExtraMs = 22'000;

// The Qt message handler for the run: one line per message on stderr, a secret of the
// configuration replaced by "***" wherever it shows up (the engine's parts already keep them
// out; this is the last line of defence for the whole process).
class LogSink {
public:
    static LogSink &instance()
    {
        static LogSink sink;
        return sink;
    }

    void setJournal(bool journal)
    {
        const QMutexLocker lock(&m_mutex);
        m_journal = journal;
    }

    // Secrets accumulate: after a reload the old ones may still be in flight somewhere.
    void addSecrets(const QStringList &secrets)
    {
        const QMutexLocker lock(&m_mutex);
        m_scrubber.add(secrets);
    }

    void write(QtMsgType type, const QMessageLogContext &context, const QString &message)
    {
        QString category = context.category ? QString::fromUtf8(context.category) : u"default"_s;
        if (category.startsWith(u"dlmsbridge."_s))
            category = category.mid(11);
        const QMutexLocker lock(&m_mutex);
        // One line per message, and nothing that drives a terminal.
        const QString text = terminalSafe(m_scrubber(message), true);
        QString line;
        if (m_journal) {
            line = u"<%1>%2: %3"_s.arg(QString::number(priority(type)), category, text);
        } else {
            line = u"%1 %2 %3: %4"_s.arg(
                QDateTime::currentDateTimeUtc().toString(Qt::ISODateWithMs), levelName(type), category, text);
        }
        printLine(stderr, line);
    }

private:
    static QString levelName(QtMsgType type)
    {
        switch (type) {
        case QtDebugMsg:
            return u"debug"_s;
        case QtInfoMsg:
            return u"info"_s;
        case QtWarningMsg:
            return u"warning"_s;
        case QtCriticalMsg:
        case QtFatalMsg:
            return u"critical"_s;
        }
        return u"info"_s;
    }

    // sd-daemon(3) prefixes.
    static int priority(QtMsgType type)
    {
        switch (type) {
        case QtDebugMsg:
            return 7;
        case QtInfoMsg:
            return 6;
        case QtWarningMsg:
            return 4;
        case QtCriticalMsg:
        case QtFatalMsg:
            return 3;
        }
        return 6;
    }

    QMutex m_mutex;
    bool m_journal = false;
    SecretScrubber m_scrubber;
};

void logMessage(QtMsgType type, const QMessageLogContext &context, const QString &message)
{
    LogSink::instance().write(type, context, message);
}

// Under systemd stderr is a stream to the journal: JOURNAL_STREAM names its device and inode.
// A process started from a shell inside a systemd-started terminal inherits the variable with
// another stderr, so the descriptor is compared, as sd-daemon(3) recommends.
bool stderrIsJournal()
{
    const QByteArray stream = qgetenv("JOURNAL_STREAM");
    const qsizetype colon = stream.indexOf(':');
    if (colon <= 0)
        return false;
    bool deviceOk = false;
    bool inodeOk = false;
    const qulonglong device = stream.left(colon).toULongLong(&deviceOk);
    const qulonglong inode = stream.mid(colon + 1).toULongLong(&inodeOk);
    struct stat info = {};
    if (!deviceOk || !inodeOk || ::fstat(STDERR_FILENO, &info) != 0)
        return false;
    return qulonglong(info.st_dev) == device && qulonglong(info.st_ino) == inode;
}

// The run's message handler and filter for as long as it lives; the previous handler after.
class LogSession {
public:
    LogSession()
    {
        LogSink::instance().setJournal(stderrIsJournal());
        // QT_LOGGING_RULES is applied after these rules, so it can turn debug on again.
        QLoggingCategory::setFilterRules(u"*.debug=false"_s);
        m_previous = qInstallMessageHandler(logMessage);
    }
    ~LogSession() { qInstallMessageHandler(m_previous); }
    Q_DISABLE_COPY_MOVE(LogSession)

private:
    QtMessageHandler m_previous = nullptr;
};

QString countText(qsizetype n, const QString &one, const QString &many)
{
    return QString::number(n) + u' ' + (n == 1 ? one : many);
}

// "3 meters, mqtt gateway 127.0.0.1:1883, http 127.0.0.1:8000, database /path".
QString configSummary(const app::BridgeConfig &config)
{
    QStringList parts {countText(qsizetype(config.site.meters.size()), u"meter"_s, u"meters"_s)};
    if (config.mqtt.enabled) {
        QString mqtt = u"mqtt "_s + mqtt::modeName(config.mqtt.format.mode) + u' '
            + polling::formatEndpoint(config.mqtt.client.host, config.mqtt.client.port);
        if (config.mqtt.client.tls.enabled)
            mqtt += u" (tls)"_s;
        parts << mqtt;
    } else {
        parts << u"mqtt off"_s;
    }
    parts << (config.http.enabled
            ? u"http "_s + polling::formatEndpoint(config.http.address, config.http.port)
            : u"http off"_s);
    parts << u"database "_s + config.storage.path;
    return parts.join(u", "_s);
}

// One socket per meter, plus the threads' and Qt's own descriptors. Short of that, meters
// beyond the limit would fail to connect one by one, looking like dead meters.
std::optional<QString> openFileShortage(const QString &configPath, qsizetype meters)
{
    const quint64 wanted = quint64(meters) + 64;
    if (const quint64 limit = raiseOpenFileLimit(wanted); limit > 0 && limit < wanted) {
        return u"%1: %2 need %3 open files, but the limit is %4 (see ulimit -Hn, or LimitNOFILE=)"_s.arg(
            configPath, countText(meters, u"meter"_s, u"meters"_s), QString::number(wanted),
            QString::number(limit));
    }
    return std::nullopt;
}

QString helpText()
{
    return u"Run the bridge without a window: poll the meters of a configuration file, store their\n"
           "readings and network metrics in SQLite, publish them over MQTT and serve the HTTP API, until\n"
           "SIGTERM or SIGINT (or --seconds). This is what dlmsbridge.service runs.\n\n"
           "The configuration (JSON; see packaging/dlmsbridge.example.json and the README) defaults to\n"
           "%1. --check validates it, prints one summary line and exits.\n\n"
           "Signals:\n"
           "  SIGTERM, SIGINT  clean shutdown: associations released, the current rollup period written,\n"
           "                   the outbox left consistent (unacknowledged rows are sent next time).\n"
           "                   Releasing the associations waits at most --stop-timeout seconds. A\n"
           "                   second signal while stopping aborts the stop: associations dropped\n"
           "                   without release, the current rollup and the database still written.\n"
           "  SIGHUP           reload the same file and apply only what changed (meters added, removed\n"
           "                   or edited; MQTT, HTTP or the monitored interface restarted when theirs\n"
           "                   changed). A broken file is logged and the configuration in force kept;\n"
           "                   storage.path, monitor.rollup_s and polling.workers need a restart.\n\n"
           "Log: one line per state change or error on stderr, never a secret:\n"
           "  2026-11-24T10:00:00.123Z info app: meter m3: backing-off: timeout after 3000 ms\n"
           "(UTC time, level debug|info|warning|critical, category, message). Under systemd (stderr is\n"
           "the journal stream) the line is '<6>app: …' with the syslog priority instead of the time and\n"
           "level. Debug lines are off unless QT_LOGGING_RULES turns them on\n"
           "(e.g. QT_LOGGING_RULES='dlmsbridge.*.debug=true').\n\n"
           "Exit codes: 0 stopped cleanly; 2 usage or configuration error (missing or invalid file, too\n"
           "low an open file limit); 3 the bridge cannot start (database, HTTP port, MQTT settings); 4\n"
           "the bridge did not stop cleanly (readings the database could not take were dropped, or the\n"
           "associations were dropped without release: a hung stop, or a second signal while\n"
           "releasing; unpublished rows stay in the outbox)."_s.arg(app::defaultConfigPath());
}

} // namespace

int runRunCommand(const QStringList &arguments)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(helpText());
    parser.addHelpOption();
    parser.addOptions({
        {u"config"_s, u"Configuration file (default: %1)."_s.arg(app::defaultConfigPath()), u"FILE"_s},
        {u"check"_s, u"Validate the configuration, print a summary line and exit (0 valid, 2 not)."_s},
        {u"seconds"_s,
            u"Stop after N seconds, at most %1 (default 0: run until SIGTERM/SIGINT)."_s.arg(MaxRunSeconds),
            u"N"_s, u"0"_s},
        {u"stop-timeout"_s,
            u"On SIGTERM/SIGINT, wait at most N seconds (1 to %1, default %2) for the meters to release "
            "their associations."_s.arg(MaxStopTimeoutS)
                .arg(DefaultStopTimeoutS),
            u"N"_s, QString::number(DefaultStopTimeoutS)},
    });
    if (const auto done = parseVerbArguments(parser, arguments, u"run"_s, false))
        return *done;
    const QString configPath
        = parser.isSet(u"config"_s) ? parser.value(u"config"_s) : app::defaultConfigPath();
    if (configPath.isEmpty()) {
        printLine(stderr, u"dlmsctl: --config needs a file name"_s);
        return 2;
    }
    const auto seconds = integerOption(u"seconds"_s, parser.value(u"seconds"_s), 0, MaxRunSeconds);
    if (!seconds) {
        printLine(stderr, u"dlmsctl: "_s + seconds.error().message);
        return 2;
    }
    const auto stopTimeout
        = integerOption(u"stop-timeout"_s, parser.value(u"stop-timeout"_s), 1, MaxStopTimeoutS);
    if (!stopTimeout) {
        printLine(stderr, u"dlmsctl: "_s + stopTimeout.error().message);
        return 2;
    }
    if (!QFileInfo::exists(configPath)) {
        printLine(stderr,
            u"dlmsctl: cannot read %1: No such file or directory (create one: see "
            "packaging/dlmsbridge.example.json)"_s.arg(configPath));
        return 2;
    }

    if (parser.isSet(u"check"_s)) {
        QStringList warnings;
        const auto config = app::loadBridgeConfig(configPath, &warnings);
        for (const QString &warning : std::as_const(warnings))
            printLine(stderr, u"dlmsctl: warning: "_s + warning);
        if (!config) {
            printLine(stderr, u"dlmsctl: "_s + config.error().message);
            return 2;
        }
        printLine(stdout, u"%1: ok: %2"_s.arg(configPath, configSummary(*config)));
        return 0;
    }

    const LogSession logging;
    // The handlers first: systemd may send SIGHUP as soon as the process runs, and its default
    // action would end it. A signal before exec() waits in the pipe.
    app::Bridge::Options options;
    options.stopTimeoutMs = int(*stopTimeout * 1000);
    app::Bridge bridge(options);
    // Declared after the bridge: the signal notifiers and timers go first.
    QObject context;
    bool stopping = false;
    bool interrupted = false; // a second signal aborted the stop
    bool guardFired = false; // the stop hung and was aborted
    const int guardMs = options.stopTimeoutMs + StopGuardExtraMs;
    // The writer's last trouble: what a stop that dropped readings reports.
    QString storageProblem;
    QObject::connect(&bridge, &app::Bridge::storageStateChanged, &context,
        [&](storage::StorageState state, const QString &message) {
            if (state == storage::StorageState::Failing)
                storageProblem = message;
            else if (state == storage::StorageState::Ok)
                storageProblem.clear();
        });

    // abort() drops the associations without release but still writes the current rollup and
    // drains the writer, so the database and the outbox stay consistent.
    auto stop = [&] {
        if (stopping) {
            if (bridge.state() == app::BridgeState::Stopped)
                return; // stopped already; the quit is on its way
            qCWarning(lcRun, "run: interrupted again, not waiting for the meters: aborting the stop");
            interrupted = true;
            bridge.abort();
            QCoreApplication::quit();
            return;
        }
        stopping = true;
        if (bridge.state() == app::BridgeState::Stopped) {
            QCoreApplication::quit();
            return;
        }
        bridge.stop();
        QTimer::singleShot(guardMs, &context, [&] {
            if (bridge.state() == app::BridgeState::Stopped)
                return;
            qCWarning(lcRun, "run: the bridge did not stop within %d s: aborting the stop", guardMs / 1000);
            guardFired = true;
            bridge.abort();
            QCoreApplication::quit();
        });
    };
    auto reload = [&] {
        if (stopping || bridge.state() != app::BridgeState::Running)
            return;
        qCInfo(lcRun).noquote() << u"run: reloading "_s + QFileInfo(configPath).absoluteFilePath();
        QStringList reloadWarnings;
        const auto next = app::loadBridgeConfig(configPath, &reloadWarnings);
        if (next)
            LogSink::instance().addSecrets(configSecrets(*next));
        for (const QString &warning : std::as_const(reloadWarnings))
            qCWarning(lcRun).noquote() << warning;
        auto failed = [](const QString &why) {
            qCWarning(lcRun).noquote()
                << u"run: reload failed: %1; keeping the configuration in force"_s.arg(why);
        };
        if (!next) {
            failed(next.error().message);
            return;
        }
        if (const auto shortage = openFileShortage(configPath, qsizetype(next->site.meters.size()))) {
            failed(*shortage);
            return;
        }
        const auto changes = bridge.applyConfig(*next);
        if (!changes) {
            failed(changes.error().message);
            return;
        }
        // The bridge logs the summary ("bridge: reloaded: …"); what it cannot apply is ours to say.
        if (!changes->needsRestart.isEmpty())
            qCWarning(lcRun).noquote()
                << u"run: needs a restart to apply: "_s + changes->needsRestart.join(u", "_s);
    };
    if (!onTerminationSignal(&context, stop) || !onHangupSignal(&context, reload)) {
        printLine(stderr, u"dlmsctl: cannot install the signal handlers: "_s + qt_error_string(errno));
        return 2;
    }
    // Queued: stopped() is emitted from inside the bridge's own slots.
    QObject::connect(
        &bridge, &app::Bridge::stopped, &context, [] { QCoreApplication::quit(); }, Qt::QueuedConnection);

    QStringList warnings;
    const auto config = app::loadBridgeConfig(configPath, &warnings);
    if (config)
        LogSink::instance().addSecrets(configSecrets(*config));
    for (const QString &warning : std::as_const(warnings))
        qCWarning(lcRun).noquote() << warning;
    if (!config) {
        printLine(stderr, u"dlmsctl: "_s + config.error().message);
        return 2;
    }
    if (const auto shortage = openFileShortage(configPath, qsizetype(config->site.meters.size()))) {
        printLine(stderr, u"dlmsctl: "_s + *shortage);
        return 2;
    }
    qCInfo(lcRun).noquote() << u"run: configuration "_s + QFileInfo(configPath).absoluteFilePath();
    if (const auto started = bridge.start(*config); !started) {
        printLine(stderr, u"dlmsctl: "_s + started.error().message);
        return 3;
    }
    // The end of --seconds is no second signal: a stop already under way goes on.
    if (*seconds > 0) {
        QTimer::singleShot(std::chrono::seconds(*seconds), &context, [&] {
            if (!stopping)
                stop();
        });
    }
    QCoreApplication::exec();
    if (bridge.state() != app::BridgeState::Stopped)
        bridge.abort();
    if (!guardFired && bridge.lastStopComplete())
        return 0;
    QStringList why;
    if (guardFired)
        why << u"it did not stop within %1 s (associations dropped without release)"_s.arg(guardMs / 1000);
    else if (interrupted)
        why << u"a second signal aborted the stop (associations dropped without release)"_s;
    if (!storageProblem.isEmpty())
        why << u"the database was failing (%1): readings left unwritten were dropped"_s.arg(storageProblem);
    if (why.isEmpty())
        why << u"polling did not stop in time or readings were dropped (see the log above)"_s;
    printLine(stderr, u"dlmsctl: the bridge did not stop cleanly: "_s + why.join(u"; "_s));
    return 4;
}
