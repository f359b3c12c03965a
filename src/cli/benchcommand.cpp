#include "benchcommand.h"

#include "connectionoptions.h"
#include <processlimits.h>

#include <metermodel.h>
#include <pollscheduler.h>

#include <QtCore/QCommandLineParser>
#include <QtCore/QCoreApplication>
#include <QtCore/QDateTime>
#include <QtCore/QElapsedTimer>
#include <QtCore/QHash>
#include <QtCore/QJsonDocument>
#include <QtCore/QJsonObject>
#include <QtCore/QProcess>
#include <QtCore/QRegularExpression>
#include <QtCore/QTextStream>
#include <QtCore/QTimer>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <memory>
#include <sys/prctl.h>
#include <sys/resource.h>

using namespace Qt::StringLiterals;

std::vector<polling::PollItem> benchPollItems(int count)
{
    const sim::MeterModel model {sim::MeterSettings {}};
    std::vector<polling::PollItem> items;
    for (const sim::MeterModel::ObjectInfo &object : model.objects()) {
        if (int(items.size()) == count)
            break;
        if (object.classId != quint16(dlms::InterfaceClass::Register))
            continue;
        items.push_back(
            polling::PollItem {polling::defaultTelemetryKey(object.obis), object.obis, object.classId, 2});
    }
    if (int(items.size()) < count)
        items.clear();
    return items;
}

int benchPollItemsAvailable()
{
    const sim::MeterModel model {sim::MeterSettings {}};
    return int(std::count_if(model.objects().begin(), model.objects().end(),
        [](const auto &object) { return object.classId == quint16(dlms::InterfaceClass::Register); }));
}

quint32 samplePercentile(std::vector<quint32> &samples, double q)
{
    if (samples.empty())
        return 0;
    const auto n = samples.size();
    const auto rank = size_t(std::ceil(std::clamp(q, 0.0, 1.0) * double(n)));
    const size_t index = std::clamp<size_t>(rank, 1, n) - 1;
    std::nth_element(samples.begin(), samples.begin() + qsizetype(index), samples.end());
    return samples[index];
}

namespace {

constexpr int kTrafficIntervalMs = 250; // fine enough to cut the window within a quarter second
constexpr int kReadyTimeoutMs = 60'000;
constexpr int kChildExitTimeoutMs = 10'000;

struct BenchOptions {
    int meters = 100;
    int intervalMs = 1000;
    int registers = 10;
    int seconds = 10;
    dlms::Transport transport = dlms::Transport::Wrapper;
    int workers = 0;
    int timeoutMs = 5000;
    int warmupS = 30;
    bool snapshot = true; // read the registers from the instantaneous profile
};

dlms::Result<BenchOptions> benchOptions(const QCommandLineParser &parser)
{
    BenchOptions o;
    struct Bound {
        const char16_t *name;
        int *field;
        qint64 min;
        qint64 max;
    };
    const Bound bounds[] = {
        {u"meters", &o.meters, 1, 5000},
        {u"interval-ms", &o.intervalMs, 10, 3'600'000},
        {u"registers", &o.registers, 1, 1000},
        {u"seconds", &o.seconds, 1, 86400},
        {u"workers", &o.workers, 0, 1024},
        {u"timeout-ms", &o.timeoutMs, 1, 3'600'000},
        {u"warmup-s", &o.warmupS, 0, 3600},
    };
    for (const Bound &bound : bounds) {
        const QString name = QString::fromUtf16(bound.name);
        const auto value = integerOption(name, parser.value(name), bound.min, bound.max);
        if (!value)
            return value.error();
        *bound.field = int(*value);
    }
    const int available = benchPollItemsAvailable();
    if (o.registers > available)
        return usageError(
            u"--registers must be from 1 to %1: a simulated meter has %1 registers (got %2)"_s.arg(available)
                .arg(o.registers));
    const QString transport = parser.value(u"transport"_s);
    if (const auto parsed = dlms::transportFromName(transport))
        o.transport = *parsed;
    else
        return usageError(u"--transport must be wrapper or hdlc (got '%1')"_s.arg(transport));
    const QString read = parser.value(u"read"_s);
    if (read != u"snapshot" && read != u"list")
        return usageError(u"--read must be snapshot or list (got '%1')"_s.arg(read));
    o.snapshot = read == u"snapshot";
    return o;
}

struct CpuTime {
    double userS = 0;
    double sysS = 0;
    double peakRssMb = 0;
};

CpuTime cpuTimeNow()
{
    rusage usage {};
    ::getrusage(RUSAGE_SELF, &usage);
    auto seconds = [](const timeval &t) { return double(t.tv_sec) + double(t.tv_usec) / 1e6; };
    return {seconds(usage.ru_utime), seconds(usage.ru_stime), double(usage.ru_maxrss) / 1024.0};
}

double rounded(double value, int decimals = 3)
{
    const double scale = std::pow(10.0, decimals);
    return std::round(value * scale) / scale;
}

double ms(quint64 us)
{
    return rounded(double(us) / 1000.0);
}

// One `bench poll` run, driven by the event loop through its phases: start the simulator child,
// warm up (every meter associated and polled once), measure, drain the last traffic of the
// window, stop the engine, stop the child, print.
class PollBench {
public:
    explicit PollBench(BenchOptions options) : m_options(options), m_err(stderr) { }

    int run()
    {
        if (!onTerminationSignal(&m_context, [this] { interrupted(); })) {
            m_err << "dlmsctl: cannot install the signal handlers: " << qt_error_string(errno) << '\n';
            return 2;
        }
        // Our sockets only: the simulator child raises its own limit.
        const quint64 wanted = quint64(m_options.meters) + 64;
        if (const quint64 limit = raiseOpenFileLimit(wanted); limit < wanted) {
            m_err << "dlmsctl: --meters " << m_options.meters << " needs " << wanted
                  << " open files, but the hard limit is " << limit << " (see ulimit -Hn)\n";
            return 2;
        }
        // From inside the event loop, so an early failure's quit() is not lost.
        QTimer::singleShot(0, &m_context, [this] { startSimulator(); });
        QCoreApplication::exec();
        return m_exitCode;
    }

private:
    enum class Phase : quint8 { StartingSimulator, WarmingUp, Measuring, Draining, Stopping };

    void startSimulator()
    {
        m_child.setProgram(QCoreApplication::applicationFilePath());
        m_child.setArguments({u"simulate"_s, u"--meters"_s, QString::number(m_options.meters), u"--port"_s,
            u"0"_s, u"--transport"_s, dlms::transportName(m_options.transport)});
        // The simulator's own complaints reach the user as they are.
        m_child.setProcessChannelMode(QProcess::ForwardedErrorChannel);
        // Should this process die without cleaning up, the simulator goes with it.
        m_child.setChildProcessModifier([] { ::prctl(PR_SET_PDEATHSIG, SIGTERM); });
        QObject::connect(
            &m_child, &QProcess::readyReadStandardOutput, &m_context, [this] { readSimulator(); });
        QObject::connect(
            &m_child, &QProcess::errorOccurred, &m_context, [this](QProcess::ProcessError error) {
                if (error == QProcess::FailedToStart)
                    fail(3,
                        u"cannot start the simulator (%1): %2"_s.arg(
                            m_child.program(), m_child.errorString()));
            });
        QObject::connect(&m_child, &QProcess::finished, &m_context,
            [this](int code, QProcess::ExitStatus status) { simulatorEnded(code, status); });
        QTimer::singleShot(kReadyTimeoutMs, &m_context, [this] {
            if (m_phase == Phase::StartingSimulator)
                fail(3, u"the simulator did not become ready within %1 s"_s.arg(kReadyTimeoutMs / 1000));
        });
        m_child.start(QIODevice::ReadOnly);
    }

    void readSimulator()
    {
        static const QRegularExpression meterLine(u"^meter (\\d+)\\s{2,}127\\.0\\.0\\.1:(\\d+)\\s"_s);
        while (m_child.canReadLine()) {
            const QString line = QString::fromUtf8(m_child.readLine()).trimmed();
            if (m_phase != Phase::StartingSimulator)
                continue;
            if (line == u"ready") {
                simulatorReady();
                return;
            }
            const auto match = meterLine.match(line);
            const int number = match.hasMatch() ? match.captured(1).toInt() : 0;
            if (number >= 1 && number <= m_options.meters)
                m_ports[size_t(number - 1)] = quint16(match.captured(2).toUInt());
        }
    }

    void simulatorReady()
    {
        if (std::count(m_ports.begin(), m_ports.end(), quint16(0)) > 0) {
            fail(3,
                u"the simulator said ready without listing a port for each of its %1 meters"_s.arg(
                    m_options.meters));
            return;
        }
        startPolling();
    }

    void simulatorEnded(int code, QProcess::ExitStatus status)
    {
        const QString how
            = status == QProcess::NormalExit ? u"exited with code %1"_s.arg(code) : u"crashed"_s;
        if (m_phase == Phase::StartingSimulator) {
            fail(3, u"the simulator %1 before it was ready"_s.arg(how));
        } else if (m_phase == Phase::Stopping) {
            printResult();
        } else {
            // The meters now fail; the numbers will show it.
            m_err << "dlmsctl: warning: the simulator " << how << " during the benchmark\n";
            m_err.flush();
        }
    }

    void startPolling()
    {
        m_phase = Phase::WarmingUp;
        polling::PollScheduler::Options options;
        options.workers = m_options.workers;
        options.trafficIntervalMs = kTrafficIntervalMs;
        m_scheduler = std::make_unique<polling::PollScheduler>(options);

        const std::vector<polling::PollItem> items = benchPollItems(m_options.registers);
        m_delivered.assign(size_t(m_options.meters), false);
        m_index.reserve(m_options.meters);
        for (int i = 0; i < m_options.meters; ++i) {
            polling::MeterConfig meter;
            meter.id = u"m%1"_s.arg(i + 1);
            meter.name = meter.id;
            meter.host = u"127.0.0.1"_s;
            meter.port = m_ports[size_t(i)];
            meter.transport = m_options.transport;
            meter.pollIntervalMs = m_options.intervalMs;
            meter.connectTimeoutMs = m_options.timeoutMs;
            meter.requestTimeoutMs = m_options.timeoutMs;
            meter.associationMode = polling::AssociationMode::KeepOpen;
            meter.items = items;
            if (m_options.snapshot)
                meter.snapshotProfile = sim::InstantaneousProfileObis;
            if (const auto added = m_scheduler->addMeter(meter); !added) {
                fail(2, added.error().message);
                return;
            }
            m_index.insert(meter.id, i);
        }
        m_workerEndMs.assign(size_t(m_scheduler->workerCount()), 0);
        m_workerSpan.assign(size_t(m_scheduler->workerCount()), {0, 0});

        QObject::connect(m_scheduler.get(), &polling::PollScheduler::readingsReady, &m_context,
            [this](const polling::ReadingsBatch &batch) { batchArrived(batch); });
        QObject::connect(m_scheduler.get(), &polling::PollScheduler::trafficReady, &m_context,
            [this](const polling::TrafficDelta &delta) { trafficArrived(delta); });
        QObject::connect(
            m_scheduler.get(), &polling::PollScheduler::stopped, &m_context, [this] { stopSimulator(); },
            Qt::QueuedConnection);

        m_sinceStart.start();
        m_scheduler->start();
        QTimer::singleShot(std::chrono::seconds(m_options.warmupS), &m_context, [this] {
            if (m_phase == Phase::WarmingUp)
                startWindow();
        });
    }

    void batchArrived(const polling::ReadingsBatch &batch)
    {
        if (m_phase != Phase::WarmingUp)
            return;
        const int index = m_index.value(batch.meterId, -1);
        if (index < 0 || m_delivered[size_t(index)])
            return;
        m_delivered[size_t(index)] = true;
        if (++m_deliveredCount == m_options.meters)
            startWindow();
    }

    void startWindow()
    {
        m_phase = Phase::Measuring;
        m_warmupS = double(m_sinceStart.elapsed()) / 1000.0;
        if (m_deliveredCount < m_options.meters) {
            m_err << "dlmsctl: warning: warm-up ended after " << rounded(m_warmupS, 1) << " s with "
                  << m_deliveredCount << " of " << m_options.meters << " meters polled\n";
            m_err.flush();
        }
        m_windowStartMs = QDateTime::currentMSecsSinceEpoch();
        m_window.start();
        m_cpuStart = cpuTimeNow();
        QTimer::singleShot(std::chrono::seconds(m_options.seconds), &m_context, [this] {
            if (m_phase == Phase::Measuring)
                endWindow();
        });
    }

    // Deltas are taken whole: from the first that starts in the window to the one that covers
    // its end, so counters and samples describe the same polls.
    void trafficArrived(const polling::TrafficDelta &delta)
    {
        if (m_phase != Phase::Measuring && m_phase != Phase::Draining)
            return;
        const bool known = delta.worker >= 0 && size_t(delta.worker) < m_workerEndMs.size();
        if (known)
            m_workerEndMs[size_t(delta.worker)]
                = std::max(m_workerEndMs[size_t(delta.worker)], delta.periodEndMs);
        const bool inWindow = delta.periodStartMs >= m_windowStartMs
            && (m_phase == Phase::Measuring || delta.periodStartMs < m_windowEndMs);
        if (inWindow) {
            m_total += delta.total();
            m_rttUs.insert(m_rttUs.end(), delta.rttUs.begin(), delta.rttUs.end());
            m_latencyUs.insert(m_latencyUs.end(), delta.pollLatencyUs.begin(), delta.pollLatencyUs.end());
            if (known) {
                auto &[first, last] = m_workerSpan[size_t(delta.worker)];
                first = first == 0 ? delta.periodStartMs : std::min(first, delta.periodStartMs);
                last = std::max(last, delta.periodEndMs);
            }
        }
        if (m_phase == Phase::Draining)
            drainIfComplete();
    }

    void endWindow()
    {
        m_phase = Phase::Draining;
        m_windowEndMs = QDateTime::currentMSecsSinceEpoch();
        m_windowS = double(m_window.elapsed()) / 1000.0;
        m_cpuEnd = cpuTimeNow();
        // A worker that had nothing to report may send no delta: do not wait for it forever.
        QTimer::singleShot(kTrafficIntervalMs * 4 + 1000, &m_context, [this] {
            if (m_phase == Phase::Draining)
                stopPolling();
        });
        drainIfComplete();
    }

    void drainIfComplete()
    {
        if (std::all_of(m_workerEndMs.begin(), m_workerEndMs.end(),
                [this](qint64 end) { return end >= m_windowEndMs; }))
            stopPolling();
    }

    void stopPolling()
    {
        m_phase = Phase::Stopping;
        m_printResult = true;
        m_scheduler->stop();
        QTimer::singleShot(
            m_scheduler->options().stopTimeoutMs + 5000, &m_context, [this] { stopSimulator(); });
    }

    void stopSimulator()
    {
        m_phase = Phase::Stopping;
        if (m_child.state() == QProcess::NotRunning) {
            printResult();
            return;
        }
        if (m_stoppingChild)
            return;
        m_stoppingChild = true;
        if (m_child.state() == QProcess::Starting) {
            m_child.kill();
        } else {
            m_child.terminate();
        }
        QTimer::singleShot(kChildExitTimeoutMs, &m_context, [this] {
            if (m_child.state() != QProcess::NotRunning) {
                m_err << "dlmsctl: warning: the simulator ignored SIGTERM; killed\n";
                m_child.kill();
            }
        });
    }

    // Ends the run with `code` after cleaning up whatever was started.
    void fail(int code, const QString &message)
    {
        if (m_phase == Phase::Stopping)
            return;
        m_err << "dlmsctl: " << message << '\n';
        m_err.flush();
        m_exitCode = code;
        m_printResult = false;
        if (m_scheduler && m_scheduler->isRunning()) {
            m_phase = Phase::Stopping;
            m_scheduler->stop();
            QTimer::singleShot(
                m_scheduler->options().stopTimeoutMs + 5000, &m_context, [this] { stopSimulator(); });
        } else {
            stopSimulator();
        }
    }

    void interrupted()
    {
        switch (m_phase) {
        case Phase::StartingSimulator:
        case Phase::WarmingUp:
            fail(5, u"interrupted before the measurement began"_s);
            break;
        case Phase::Measuring:
            // The window ends early; what was measured is still printed.
            endWindow();
            break;
        case Phase::Draining:
        case Phase::Stopping:
            m_err << "dlmsctl: interrupted again; not waiting any longer\n";
            m_child.kill();
            m_exitCode = 5;
            QCoreApplication::quit();
            break;
        }
    }

    void printResult()
    {
        if (m_printed)
            return;
        m_printed = true;
        if (m_printResult)
            print();
        QCoreApplication::quit();
    }

    void print()
    {
        const polling::TrafficCounters &t = m_total;
        const quint64 onTime = t.pollsCompleted >= t.pollsLate ? t.pollsCompleted - t.pollsLate : 0;
        const double wall = std::max(m_windowS, 1e-3);
        const double userS = m_cpuEnd.userS - m_cpuStart.userS;
        const double sysS = m_cpuEnd.sysS - m_cpuStart.sysS;
        double spanS = 0;
        for (const auto &[first, last] : m_workerSpan)
            spanS = std::max(spanS, double(last - first) / 1000.0);

        const quint64 latencyMax
            = m_latencyUs.empty() ? 0 : *std::max_element(m_latencyUs.begin(), m_latencyUs.end());
        const quint64 rttMax = std::max<quint64>(
            t.rttMaxUs, m_rttUs.empty() ? 0 : *std::max_element(m_rttUs.begin(), m_rttUs.end()));
        const quint64 bytes = t.bytesSent + t.bytesReceived;
        // Polls that came due just before the window may complete inside it: the ratio is over
        // every poll the window saw end or come due, so it never exceeds 1.
        const quint64 ratioBase
            = std::max(t.pollsAttempted, t.pollsCompleted + t.pollsFailed + t.pollsSkipped);

        QJsonObject result {
            {u"meters"_s, m_options.meters},
            {u"interval_ms"_s, m_options.intervalMs},
            {u"registers"_s, m_options.registers},
            {u"seconds"_s, m_options.seconds},
            {u"transport"_s, dlms::transportName(m_options.transport)},
            {u"read"_s, m_options.snapshot ? u"snapshot"_s : u"list"_s},
            {u"workers"_s, m_scheduler ? m_scheduler->workerCount() : m_options.workers},
            {u"warmup_s"_s, rounded(m_warmupS, 2)},
            {u"window_s"_s, rounded(spanS, 2)},
            {u"polls"_s,
                QJsonObject {{u"attempted"_s, qint64(t.pollsAttempted)},
                    {u"completed"_s, qint64(t.pollsCompleted)}, {u"on_time"_s, qint64(onTime)},
                    {u"late"_s, qint64(t.pollsLate)}, {u"failed"_s, qint64(t.pollsFailed)},
                    {u"skipped"_s, qint64(t.pollsSkipped)},
                    {u"on_time_ratio"_s, ratioBase ? rounded(double(onTime) / double(ratioBase), 5) : 0.0}}},
            {u"latency_ms"_s,
                QJsonObject {{u"p50"_s, ms(samplePercentile(m_latencyUs, 0.50))},
                    {u"p95"_s, ms(samplePercentile(m_latencyUs, 0.95))},
                    {u"p99"_s, ms(samplePercentile(m_latencyUs, 0.99))}, {u"max"_s, ms(latencyMax)},
                    {u"samples"_s, qint64(m_latencyUs.size())}}},
            {u"rtt_ms"_s,
                QJsonObject {
                    {u"avg"_s, t.rttCount ? rounded(double(t.rttSumUs) / double(t.rttCount) / 1000.0) : 0.0},
                    {u"p95"_s, ms(samplePercentile(m_rttUs, 0.95))}, {u"max"_s, ms(rttMax)}}},
            {u"cpu"_s,
                QJsonObject {{u"user_s"_s, rounded(userS)}, {u"sys_s"_s, rounded(sysS)},
                    {u"cores"_s, rounded((userS + sysS) / wall)}}},
            {u"peak_rss_mb"_s, rounded(m_cpuEnd.peakRssMb, 1)},
            {u"dlms"_s,
                QJsonObject {{u"bytes_sent"_s, qint64(t.bytesSent)},
                    {u"bytes_received"_s, qint64(t.bytesReceived)}, {u"requests"_s, qint64(t.requestsSent)},
                    {u"responses"_s, qint64(t.responsesReceived)}, {u"values"_s, qint64(t.valuesRead)},
                    {u"bytes_per_value"_s,
                        t.valuesRead ? rounded(double(bytes) / double(t.valuesRead), 2) : 0.0}}},
            {u"errors"_s,
                QJsonObject {{u"timeouts"_s, qint64(t.timeouts)},
                    {u"protocol_errors"_s, qint64(t.protocolErrors)},
                    {u"reconnects"_s, qint64(t.reconnects)}}},
        };
        QTextStream(stdout) << QJsonDocument(result).toJson(QJsonDocument::Indented);
        if (t.pollsCompleted == 0) {
            m_err << "dlmsctl: no poll completed during the measurement\n";
            m_exitCode = 5;
        }
    }

    BenchOptions m_options;
    QTextStream m_err;
    QProcess m_child;
    std::unique_ptr<polling::PollScheduler> m_scheduler;
    Phase m_phase = Phase::StartingSimulator;
    int m_exitCode = 0;
    bool m_printResult = false;
    bool m_printed = false;
    bool m_stoppingChild = false;

    std::vector<quint16> m_ports = std::vector<quint16>(size_t(m_options.meters), 0);
    QHash<QString, int> m_index;
    std::vector<bool> m_delivered;
    int m_deliveredCount = 0;
    QElapsedTimer m_sinceStart;
    double m_warmupS = 0;

    qint64 m_windowStartMs = 0;
    qint64 m_windowEndMs = 0;
    QElapsedTimer m_window;
    double m_windowS = 0;
    CpuTime m_cpuStart;
    CpuTime m_cpuEnd;
    polling::TrafficCounters m_total;
    std::vector<quint32> m_rttUs;
    std::vector<quint32> m_latencyUs;
    std::vector<qint64> m_workerEndMs;
    std::vector<std::pair<qint64, qint64>> m_workerSpan; // first start, last end of the window's deltas
    // Owns the connections, timers and the signal notifier; declared last so it goes first and
    // nothing calls back into a half-destroyed bench.
    QObject m_context;
};

void printBenchUsage(QTextStream &to)
{
    to << uR"(Usage: dlmsctl bench <benchmark> [options]

Benchmarks:
  poll   Poll simulated meters (a child 'dlmsctl simulate') and print one JSON object of
         throughput, latency, CPU, memory and DLMS bytes.

Run 'dlmsctl bench <benchmark> --help' for its options.
)"_s;
}

int runBenchPoll(const QStringList &arguments)
{
    QTextStream out(stdout);
    QTextStream err(stderr);
    QCommandLineParser parser;
    parser.setApplicationDescription(
        u"Start 'dlmsctl simulate' with N meters on loopback ports in a child process, poll them all\n"
        "(the first R registers each, every I ms, associations kept open), and print one JSON object:\n"
        "polls attempted / completed / on time / late / failed / skipped, poll latency p50 / p95 / p99,\n"
        "round-trip times, this process's CPU (user + sys) and peak RSS, DLMS bytes and bytes per\n"
        "register value. Measurement starts once every meter delivered a poll (or --warmup-s passed)\n"
        "and lasts --seconds; SIGINT ends it early.\n\n"
        "Exit codes: 0 measured; 2 usage error (or too few open files allowed); 3 the simulator did\n"
        "not start; 5 no poll completed, or interrupted before the measurement."_s);
    parser.addHelpOption();
    parser.addOptions({
        {u"meters"_s, u"Simulated meters, 1..5000 (default 100)."_s, u"N"_s, u"100"_s},
        {u"interval-ms"_s, u"Poll interval of every meter (default 1000)."_s, u"I"_s, u"1000"_s},
        {u"registers"_s,
            u"Registers read per poll (default 10; a simulated meter has %1)."_s.arg(
                benchPollItemsAvailable()),
            u"R"_s, u"10"_s},
        {u"seconds"_s, u"Length of the measurement (default 10)."_s, u"S"_s, u"10"_s},
        {u"transport"_s, u"Framing: wrapper (default) or hdlc."_s, u"name"_s, u"wrapper"_s},
        {u"read"_s,
            u"How the registers are read: snapshot (default; one GET of the meter's instantaneous\n"
            "profile 1.0.94.91.0.255, scaler_units once per association) or list (GET-with-list)."_s,
            u"method"_s, u"snapshot"_s},
        {u"workers"_s, u"Polling worker threads (default 0 = one per core)."_s, u"W"_s, u"0"_s},
        {u"timeout-ms"_s, u"Connect and request timeout (default 5000)."_s, u"T"_s, u"5000"_s},
        {u"warmup-s"_s, u"Longest warm-up before measuring anyway (default 30)."_s, u"W"_s, u"30"_s},
    });
    if (const auto done = parseVerbArguments(parser, arguments, u"bench poll"_s, false))
        return *done;
    const auto options = benchOptions(parser);
    if (!options) {
        err << "dlmsctl: " << options.error().message << '\n';
        return 2;
    }
    err.flush();
    PollBench bench(*options);
    return bench.run();
}

} // namespace

int runBenchCommand(const QStringList &arguments)
{
    QTextStream out(stdout);
    QTextStream err(stderr);
    const QString benchmark = arguments.value(1);
    if (benchmark == u"--help" || benchmark == u"-h") {
        printBenchUsage(out);
        return 0;
    }
    if (benchmark == u"poll") {
        QStringList rest = arguments.mid(1);
        rest.first() = arguments.first() + u" poll"_s;
        return runBenchPoll(rest);
    }
    if (benchmark.isEmpty())
        err << "dlmsctl: bench needs a benchmark name\n";
    else
        err << "dlmsctl: unknown benchmark '" << benchmark << "'\n";
    printBenchUsage(err);
    return 2;
}
