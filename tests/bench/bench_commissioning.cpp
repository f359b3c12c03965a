// What commissioning costs, end to end, for N simulated meters (200 by default):
//  (a) an app::CommissioningRun over the meters of one sim::Simulator (wrapper, port 0, eight
//      configured registers each) that answers in a thread of its own, MQTT off, once per
//      --parallel value: wall time, meters per second, per-meter duration (meterStarted →
//      meterFinished), the traffic-bytes and traffic-rtt values, and the CPU time of the thread
//      the run lives in (and of the simulator's thread) per meter;
//  (b) commissioning::Store in a temporary directory: the session and its N meters written,
//      read back, listed;
//  (c) the CSV of that session into memory;
//  (d) the PDF of that session and of a synthetic session of --synthetic meters (1,000 by
//      default: the run's reports copied under new ids): time, pages, bytes.
// Prints one JSON object. Runs on the offscreen platform unless QT_QPA_PLATFORM says otherwise.
//
//   bench_commissioning [--meters 200] [--parallel 8,32] [--synthetic 1000]
#include <commissioning.h>
#include <commissioningreport.h>
#include <commissioningrun.h>
#include <commissioningstore.h>
#include <simulator.h>

#include <QtCore/QBuffer>
#include <QtCore/QCommandLineParser>
#include <QtCore/QDateTime>
#include <QtCore/QElapsedTimer>
#include <QtCore/QEventLoop>
#include <QtCore/QFileInfo>
#include <QtCore/QHash>
#include <QtCore/QJsonArray>
#include <QtCore/QJsonDocument>
#include <QtCore/QJsonObject>
#include <QtCore/QProcess>
#include <QtCore/QTemporaryDir>
#include <QtCore/QThread>
#include <QtCore/QTimer>
#include <QtGui/QGuiApplication>

#include <time.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <numeric>
#include <vector>

using namespace Qt::StringLiterals;

namespace {

double round3(double v)
{
    return std::round(v * 1000) / 1000;
}

double msSince(const QElapsedTimer &timer)
{
    return double(timer.nsecsElapsed()) / 1e6;
}

// The calling thread's own CPU time: with the simulator busy on other cores, the wall clock of
// a run says little about what the engine itself costs.
double threadCpuMs()
{
    timespec ts {};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return double(ts.tv_sec) * 1e3 + double(ts.tv_nsec) / 1e6;
}

double mean(const std::vector<double> &values)
{
    return values.empty() ? 0.0 : std::accumulate(values.begin(), values.end(), 0.0) / double(values.size());
}

double percentile(std::vector<double> values, double q)
{
    if (values.empty())
        return 0.0;
    std::sort(values.begin(), values.end());
    const auto rank = std::size_t(std::max(1.0, std::ceil(q * double(values.size()))));
    return values[std::min(values.size(), rank) - 1];
}

[[noreturn]] void fail(const QString &what)
{
    std::fprintf(stderr, "bench_commissioning: %s\n", qPrintable(what));
    std::exit(1);
}

// The meters, answering in a thread of their own as the demo site's do, so the run's thread
// measures the engine and not the meters.
class SimulatorThread {
public:
    explicit SimulatorThread(int meters)
    {
        sim::SimulatorConfig config;
        config.basePort = 0;
        config.meters = meters;
        config.transport = dlms::Transport::Wrapper;
        m_simulator = new sim::Simulator(config);
        if (auto started = m_simulator->start(); !started)
            fail(u"simulator: "_s + started.error().message);
        for (int i = 0; i < m_simulator->meterCount(); ++i)
            m_ports.push_back(m_simulator->port(i));
        m_thread.setObjectName(u"bench-meters"_s);
        m_simulator->moveToThread(&m_thread);
        m_thread.start();
    }

    ~SimulatorThread()
    {
        // Its sockets belong to the thread: close and delete them there, then end it.
        sim::Simulator *simulator = m_simulator;
        QMetaObject::invokeMethod(
            simulator,
            [simulator] {
                simulator->stop();
                delete simulator;
            },
            Qt::BlockingQueuedConnection);
        m_thread.quit();
        m_thread.wait();
    }

    SimulatorThread(const SimulatorThread &) = delete;
    SimulatorThread &operator=(const SimulatorThread &) = delete;

    const std::vector<quint16> &ports() const { return m_ports; }

    double cpuMs()
    {
        double ms = 0;
        QMetaObject::invokeMethod(
            m_simulator, [&ms] { ms = threadCpuMs(); }, Qt::BlockingQueuedConnection);
        return ms;
    }

private:
    QThread m_thread;
    sim::Simulator *m_simulator = nullptr;
    std::vector<quint16> m_ports;
};

app::CommissioningOptions makeOptions(const std::vector<quint16> &ports)
{
    // Voltages, a current, power, frequency, power factor and energy: the registers a technician
    // checks, three of them against the built-in plausibility ranges.
    const std::vector<dlms::Obis> codes {dlms::Obis(1, 0, 32, 7, 0, 255), dlms::Obis(1, 0, 52, 7, 0, 255),
        dlms::Obis(1, 0, 72, 7, 0, 255), dlms::Obis(1, 0, 31, 7, 0, 255), dlms::Obis(1, 0, 1, 7, 0, 255),
        dlms::Obis(1, 0, 14, 7, 0, 255), dlms::Obis(1, 0, 13, 7, 0, 255), dlms::Obis(1, 0, 1, 8, 0, 255)};
    std::vector<polling::PollItem> items;
    for (const dlms::Obis &code : codes)
        items.push_back(polling::defaultPollItem(code));

    app::BridgeConfig config;
    for (std::size_t i = 0; i < ports.size(); ++i) {
        polling::MeterConfig meter;
        meter.id = u"meter-%1"_s.arg(i + 1, 4, 10, QLatin1Char('0'));
        meter.name = u"Meter %1"_s.arg(i + 1);
        meter.host = u"127.0.0.1"_s;
        meter.port = ports[i];
        meter.transport = dlms::Transport::Wrapper;
        meter.items = items;
        config.site.meters.push_back(std::move(meter));
    }
    config.mqtt.enabled = false;
    return app::commissioningOptions(config);
}

struct RunResult {
    QJsonObject figures;
    std::vector<commissioning::MeterReport> reports;
    qint64 startedMs = 0;
    qint64 finishedMs = 0;
};

RunResult runOnce(app::CommissioningOptions options, int parallel, SimulatorThread &meters)
{
    options.settings.parallelMeters = parallel;
    const int total = int(options.meters.size());
    app::CommissioningRun run(std::move(options));

    QElapsedTimer clock;
    QHash<QString, qint64> startedNs;
    std::vector<double> meterMs;
    meterMs.reserve(std::size_t(total));
    QObject::connect(&run, &app::CommissioningRun::meterStarted,
        [&](const QString &meterId) { startedNs.insert(meterId, clock.nsecsElapsed()); });
    QObject::connect(
        &run, &app::CommissioningRun::meterFinished, [&](const commissioning::MeterReport &report) {
            if (const auto it = startedNs.constFind(report.meterId); it != startedNs.constEnd())
                meterMs.push_back(double(clock.nsecsElapsed() - *it) / 1e6);
        });
    QEventLoop loop;
    bool done = false;
    bool cancelled = false;
    QObject::connect(&run, &app::CommissioningRun::finished, &loop, [&](bool wasCancelled) {
        done = true;
        cancelled = wasCancelled;
        loop.quit();
    });
    // A hung run would otherwise hang the bench: ten minutes is far beyond any sane figure.
    QTimer::singleShot(600'000, &run, [&run] { run.cancel(); });

    RunResult result;
    result.startedMs = QDateTime::currentMSecsSinceEpoch();
    const double simCpuBefore = meters.cpuMs();
    const double cpuBefore = threadCpuMs();
    clock.start();
    run.start();
    if (!done)
        loop.exec();
    const double wallMs = msSince(clock);
    const double cpuMs = threadCpuMs() - cpuBefore;
    const double simCpuMs = meters.cpuMs() - simCpuBefore;
    result.finishedMs = QDateTime::currentMSecsSinceEpoch();
    result.reports = run.reports();

    std::vector<double> bytes;
    std::vector<double> rtt;
    int passed = 0;
    int warned = 0;
    int failed = 0;
    int checks = 0;
    for (const commissioning::MeterReport &report : result.reports) {
        checks += int(report.checks.size());
        if (const auto *c = report.find(commissioning::checks::TrafficBytes); c && c->value)
            bytes.push_back(*c->value);
        if (const auto *c = report.find(commissioning::checks::TrafficRtt); c && c->value)
            rtt.push_back(*c->value);
        switch (report.overall()) {
        case commissioning::CheckStatus::Pass:
            ++passed;
            break;
        case commissioning::CheckStatus::Warn:
            ++warned;
            break;
        case commissioning::CheckStatus::Fail:
            ++failed;
            break;
        case commissioning::CheckStatus::Skipped:
            break;
        }
    }
    const double reported = std::max(1.0, double(result.reports.size()));
    result.figures = {
        {u"parallel"_s, parallel},
        {u"cancelled"_s, cancelled},
        {u"meters_reported"_s, qint64(result.reports.size())},
        {u"overall_pass"_s, passed},
        {u"overall_warn"_s, warned},
        {u"overall_fail"_s, failed},
        {u"checks_per_meter"_s, round3(double(checks) / reported)},
        {u"wall_ms"_s, round3(wallMs)},
        {u"meters_per_s"_s, round3(double(result.reports.size()) / (wallMs / 1000.0))},
        {u"meter_ms_mean"_s, round3(mean(meterMs))},
        {u"meter_ms_p95"_s, round3(percentile(meterMs, 0.95))},
        {u"meter_ms_max"_s, round3(percentile(meterMs, 1.0))},
        {u"traffic_bytes_per_poll_mean"_s, round3(mean(bytes))},
        {u"traffic_rtt_ms_mean"_s, round3(mean(rtt))},
        {u"engine_thread_cpu_ms"_s, round3(cpuMs)},
        {u"engine_thread_cpu_ms_per_meter"_s, round3(cpuMs / reported)},
        {u"simulator_thread_cpu_ms_per_meter"_s, round3(simCpuMs / reported)},
    };
    return result;
}

QJsonObject storeFigures(const QString &databasePath, const RunResult &run, commissioning::Session &stored)
{
    QElapsedTimer timer;
    timer.start();
    auto opened = commissioning::Store::open(databasePath);
    if (!opened)
        fail(u"store: "_s + opened.error().message);
    const double openMs = msSince(timer);
    std::unique_ptr<commissioning::Store> store = std::move(opened).value();

    commissioning::SessionInfo info;
    info.site = u"Bench substation"_s;
    info.technician = u"A. Técnico"_s;
    info.notes = u"Commissioning benchmark over simulated meters."_s;
    info.startedMs = run.startedMs;
    info.configFile = u"bench.json"_s;

    timer.start();
    auto created = store->createSession(info);
    if (!created)
        fail(u"createSession: "_s + created.error().message);
    for (const commissioning::MeterReport &report : run.reports) {
        if (auto saved = store->saveMeter(*created, report); !saved)
            fail(u"saveMeter: "_s + saved.error().message);
    }
    if (auto finished = store->finishSession(*created, commissioning::SessionState::Finished, run.finishedMs);
        !finished)
        fail(u"finishSession: "_s + finished.error().message);
    const double writeMs = msSince(timer);

    timer.start();
    auto session = store->session(*created);
    if (!session)
        fail(u"session: "_s + session.error().message);
    const double readMs = msSince(timer);

    timer.start();
    auto list = store->sessions();
    if (!list)
        fail(u"sessions: "_s + list.error().message);
    const double listMs = msSince(timer);

    stored = std::move(session).value();
    const double meters = std::max<double>(1, double(run.reports.size()));
    return {
        {u"open_ms"_s, round3(openMs)},
        {u"write_ms"_s, round3(writeMs)},
        {u"write_ms_per_meter"_s, round3(writeMs / meters)},
        {u"session_read_ms"_s, round3(readMs)},
        {u"session_read_meters"_s, qint64(stored.meters.size())},
        {u"sessions_list_ms"_s, round3(listMs)},
        {u"sessions_listed"_s, qint64(list->size())},
        {u"database_bytes"_s, QFileInfo(databasePath).size()},
    };
}

QJsonObject csvFigures(const commissioning::Session &session)
{
    QBuffer buffer;
    buffer.open(QIODevice::WriteOnly);
    QElapsedTimer timer;
    timer.start();
    auto rows = commissioning::writeCommissioningCsv(session, buffer);
    const double ms = msSince(timer);
    if (!rows)
        fail(u"csv: "_s + rows.error().message);
    return {{u"ms"_s, round3(ms)}, {u"rows"_s, *rows}, {u"bytes"_s, buffer.size()}};
}

// Pages as poppler counts them; -1 when pdfinfo is missing. A bench, not product code: waiting
// on the child is fine here.
int pdfPages(const QString &path)
{
    QProcess pdfinfo;
    pdfinfo.start(u"pdfinfo"_s, {path});
    if (!pdfinfo.waitForFinished(60'000) || pdfinfo.exitCode() != 0)
        return -1;
    const QList<QByteArray> lines = pdfinfo.readAllStandardOutput().split('\n');
    for (const QByteArray &line : lines) {
        if (line.startsWith("Pages:"))
            return line.mid(6).trimmed().toInt();
    }
    return -1;
}

QJsonObject pdfFigures(const commissioning::Session &session, const QString &path)
{
    int progressCalls = 0;
    int progressTotal = 0;
    const report::Progress progress = [&](int, int total) {
        ++progressCalls;
        progressTotal = total;
        return true;
    };
    QElapsedTimer timer;
    timer.start();
    const double cpuBefore = threadCpuMs();
    auto written = report::writeCommissioningPdf(session, path, {}, progress);
    const double cpuMs = threadCpuMs() - cpuBefore;
    const double ms = msSince(timer);
    if (!written)
        fail(u"pdf: "_s + written.error().message);
    return {
        {u"meters"_s, qint64(session.meters.size())},
        {u"ms"_s, round3(ms)},
        {u"cpu_ms"_s, round3(cpuMs)},
        {u"pages"_s, pdfPages(path)},
        {u"bytes"_s, QFileInfo(path).size()},
        {u"progress_calls"_s, progressCalls},
        {u"progress_total"_s, progressTotal},
    };
}

// A large site from a small one: the run's reports again under new ids until `meters`.
commissioning::Session syntheticSession(const commissioning::Session &source, int meters)
{
    commissioning::Session session;
    session.info = source.info;
    session.meters.reserve(std::size_t(meters));
    for (int i = 0; !source.meters.empty() && int(session.meters.size()) < meters; ++i) {
        commissioning::MeterReport report = source.meters[std::size_t(i) % source.meters.size()];
        report.meterId = u"meter-%1"_s.arg(i + 1, 4, 10, QLatin1Char('0'));
        report.meterName = u"Meter %1"_s.arg(i + 1);
        report.serialNumber = u"BENCH%1"_s.arg(i + 1, 6, 10, QLatin1Char('0'));
        session.meters.push_back(std::move(report));
    }
    session.updateCounts();
    return session;
}

} // namespace

int main(int argc, char **argv)
{
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
        qputenv("QT_QPA_PLATFORM", "offscreen");
    QGuiApplication app(argc, argv);
    QCommandLineParser parser;
    parser.setApplicationDescription(
        u"Commissioning run, session store, CSV and PDF over simulated meters"_s);
    parser.addHelpOption();
    parser.addOption({u"meters"_s, u"Simulated meters (default 200)."_s, u"N"_s, u"200"_s});
    parser.addOption({u"parallel"_s, u"Meters checked at once, one run per value (default 8,32)."_s,
        u"LIST"_s, u"8,32"_s});
    parser.addOption(
        {u"synthetic"_s, u"Meters of the synthetic PDF session (default 1000)."_s, u"N"_s, u"1000"_s});
    parser.process(app);
    const int meters = std::max(1, parser.value(u"meters"_s).toInt());
    const int synthetic = std::max(1, parser.value(u"synthetic"_s).toInt());
    std::vector<int> parallels;
    for (const QString &part : parser.value(u"parallel"_s).split(u',', Qt::SkipEmptyParts)) {
        bool ok = false;
        const int value = part.trimmed().toInt(&ok);
        if (!ok || value < 1 || value > 64)
            fail(u"--parallel: each value must be 1..64 (got \"%1\")"_s.arg(part));
        parallels.push_back(value);
    }
    if (parallels.empty())
        fail(u"--parallel: no value"_s);

    QTemporaryDir dir;
    if (!dir.isValid())
        fail(u"no temporary directory"_s);

    QElapsedTimer total;
    total.start();
    SimulatorThread simulator(meters);
    const app::CommissioningOptions options = makeOptions(simulator.ports());

    QJsonArray runs;
    RunResult last;
    for (const int parallel : parallels) {
        last = runOnce(options, parallel, simulator);
        runs.append(last.figures);
    }

    commissioning::Session session;
    const QJsonObject store = storeFigures(dir.filePath(u"bench.db"_s), last, session);
    const QJsonObject csv = csvFigures(session);
    const QJsonObject pdf = pdfFigures(session, dir.filePath(u"session.pdf"_s));
    const QJsonObject pdfLarge
        = pdfFigures(syntheticSession(session, synthetic), dir.filePath(u"synthetic.pdf"_s));

    const QJsonObject result {
        {u"meters"_s, meters},
        {u"items_per_meter"_s, qint64(options.meters.empty() ? 0 : options.meters.front().items.size())},
        {u"baseline_polls"_s, options.settings.baselinePolls},
        {u"ideal_thread_count"_s, QThread::idealThreadCount()},
        {u"platform"_s, QGuiApplication::platformName()},
        {u"runs"_s, runs},
        {u"store"_s, store},
        {u"csv"_s, csv},
        {u"pdf_session"_s, pdf},
        {u"pdf_synthetic"_s, pdfLarge},
        {u"wall_s"_s, round3(double(total.elapsed()) / 1000.0)},
    };
    std::printf("%s\n", QJsonDocument(result).toJson(QJsonDocument::Indented).constData());
    return 0;
}
