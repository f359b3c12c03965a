// The GUI thread's cost of a live site: N meters (2,000 by default) in a TrafficMonitor fed one
// synthetic traffic delta per second with every meter active, the history window full, and
//  (a) the Monitoring page shown ("All meters", Live: figures, both charts, counters table),
//  (b) the Meters page's table (MeterListModel in a QTableView) refreshed with setRows() from
//      the bridge's statuses and the monitor's stats,
//  (c) both at once.
// Per simulated second it times monitor.tick() with every slot it triggers, the rows built and
// set for (b), QCoreApplication::processEvents() (layouts, and the repaint of what changed), and
// in a second pass also a forced repaint() of the shown windows; prints one JSON object with
// p50/p95/max of wall time and of the GUI thread's CPU time per scenario (plus the bare tick).
// Runs on the offscreen platform unless QT_QPA_PLATFORM says otherwise.
//
//   bench_gui [--meters 2000] [--ticks 60] [--only page|table|both]
#include <bridge.h>
#include <meterlistmodel.h>
#include <monitoringpage.h>
#include <trafficmonitor.h>

#include <QtCore/QCommandLineParser>
#include <QtCore/QDateTime>
#include <QtCore/QElapsedTimer>
#include <QtCore/QJsonDocument>
#include <QtCore/QJsonObject>
#include <QtWidgets/QApplication>
#include <QtWidgets/QHeaderView>
#include <QtWidgets/QTableView>

#include <time.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <memory>
#include <vector>

using namespace Qt::StringLiterals;

namespace {

struct Site {
    explicit Site(int meters) : nowMs(std::make_shared<qint64>(QDateTime::currentMSecsSinceEpoch()))
    {
        monitor::TrafficMonitor::Options options;
        options.autoTick = false;
        options.clock = [clock = nowMs] { return *clock; };
        options.monotonicClock = [clock = nowMs, start = *nowMs] { return *clock - start; };
        monitor = std::make_unique<monitor::TrafficMonitor>(options);
        ids.reserve(meters);
        for (int i = 0; i < meters; ++i) {
            ids.append(u"meter-%1"_s.arg(i + 1, 4, 10, QLatin1Char('0')));
            monitor->addMeter(ids.last());
        }
        statuses.reserve(meters);
        for (int i = 0; i < meters; ++i) {
            app::MeterStatus s;
            s.id = ids[i];
            s.name = u"Meter %1"_s.arg(i + 1);
            s.host = u"127.0.0.1"_s;
            s.port = quint16(4059 + i % 1000);
            s.transport = i % 3 == 0 ? u"hdlc"_s : u"wrapper"_s;
            s.state = i % 50 == 0 ? polling::MeterState::BackingOff : polling::MeterState::Associated;
            s.reason = i % 50 == 0 ? u"connection refused"_s : QString();
            statuses.append(s);
        }
    }

    // One second of traffic from every meter (a poll each: two requests, two responses, a
    // few values), varied so rates and sort orders change every tick.
    void second()
    {
        polling::TrafficDelta delta;
        delta.meters.reserve(std::size_t(ids.size()));
        delta.rttUs.reserve(std::size_t(ids.size()) * 2);
        for (int i = 0; i < ids.size(); ++i) {
            const quint64 v = quint64((i * 7 + seconds * 13) % 97);
            polling::MeterTraffic m;
            m.meterId = ids[i];
            m.counters.bytesSent = 40 + v;
            m.counters.bytesReceived = 120 + 2 * v;
            m.counters.framesSent = 2;
            m.counters.framesReceived = 2;
            m.counters.requestsSent = 2;
            m.counters.responsesReceived = 2;
            m.counters.pollsAttempted = 1;
            m.counters.pollsCompleted = i % 50 == 0 ? 0 : 1;
            m.counters.valuesRead = 5;
            m.counters.rttCount = 2;
            m.counters.rttSumUs = 2 * (3000 + v * 10);
            m.counters.rttMaxUs = quint32(3000 + v * 20);
            m.rttBegin = quint32(delta.rttUs.size());
            m.rttCount = 2;
            delta.rttUs.push_back(quint32(3000 + v * 5));
            delta.rttUs.push_back(quint32(3000 + v * 15));
            delta.meters.push_back(std::move(m));
            statuses[i].lastReadingsMs = *nowMs;
            ++statuses[i].batches;
            statuses[i].values += 5;
        }
        monitor->addTraffic(delta);
        ++seconds;
        *nowMs += 1000;
    }

    // What the Meters page hands its model each second.
    QList<MeterRow> rows() const
    {
        QList<MeterRow> out;
        out.reserve(statuses.size());
        for (int i = 0; i < statuses.size(); ++i)
            out.append({statuses[i], monitor->meterSummary(statuses[i].id)});
        return out;
    }

    std::shared_ptr<qint64> nowMs;
    std::unique_ptr<monitor::TrafficMonitor> monitor;
    QStringList ids;
    QList<app::MeterStatus> statuses;
    int seconds = 0;
};

QJsonObject percentiles(std::vector<double> ms)
{
    std::sort(ms.begin(), ms.end());
    auto at = [&ms](double q) {
        if (ms.empty())
            return 0.0;
        const auto rank = std::size_t(std::max(1.0, std::ceil(q * double(ms.size()))));
        return ms[std::min(ms.size(), rank) - 1];
    };
    auto round3 = [](double v) { return std::round(v * 1000) / 1000; };
    return {{u"ticks"_s, qint64(ms.size())}, {u"p50_ms"_s, round3(at(0.50))}, {u"p95_ms"_s, round3(at(0.95))},
        {u"max_ms"_s, round3(ms.empty() ? 0 : ms.back())}};
}

// The GUI thread's own CPU time: on a loaded machine the wall clock also counts waiting for
// a core, which is not what the page costs.
double threadCpuMs()
{
    timespec ts {};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return double(ts.tv_sec) * 1e3 + double(ts.tv_nsec) / 1e6;
}

struct Samples {
    std::vector<double> wallMs;
    std::vector<double> cpuMs;
};

QJsonObject toJson(const Samples &s)
{
    return {{u"wall"_s, percentiles(s.wallMs)}, {u"gui_thread_cpu"_s, percentiles(s.cpuMs)}};
}

// Runs `ticks` simulated seconds (after a few unmeasured ones, so layouts settle) and times
// each: the monitor's tick with every slot it triggers, `perTick` (what else the GUI thread
// does for that second), processEvents() — layouts and the repaint of what changed — and,
// with `forceRepaint`, a full repaint() of the shown windows on top (the worst case: as if
// everything were exposed anew every second).
Samples run(Site &site, int ticks, const std::function<void()> &perTick, const std::vector<QWidget *> &shown,
    bool forceRepaint)
{
    constexpr int warmUp = 5;
    Samples out;
    out.wallMs.reserve(std::size_t(ticks));
    out.cpuMs.reserve(std::size_t(ticks));
    QElapsedTimer timer;
    for (int i = 0; i < warmUp + ticks; ++i) {
        site.second(); // the workers' part, not the GUI thread's
        const double cpu = threadCpuMs();
        timer.start();
        site.monitor->tick();
        if (perTick)
            perTick();
        QCoreApplication::processEvents();
        if (forceRepaint) {
            for (QWidget *w : shown)
                w->repaint();
        }
        const double wall = double(timer.nsecsElapsed()) / 1e6;
        if (i >= warmUp) {
            out.wallMs.push_back(wall);
            out.cpuMs.push_back(threadCpuMs() - cpu);
        }
    }
    return out;
}

} // namespace

int main(int argc, char **argv)
{
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
        qputenv("QT_QPA_PLATFORM", "offscreen");
    QApplication app(argc, argv);
    QCommandLineParser parser;
    parser.setApplicationDescription(u"GUI thread cost per second of the Monitoring page and meters table"_s);
    parser.addHelpOption();
    parser.addOption({u"meters"_s, u"Meters (default 2000)."_s, u"N"_s, u"2000"_s});
    parser.addOption({u"ticks"_s, u"Measured seconds per scenario (default 60)."_s, u"N"_s, u"60"_s});
    parser.addOption({u"only"_s, u"Run one scenario (for a profiler): page, table or both."_s, u"NAME"_s});
    parser.process(app);
    const QString only = parser.value(u"only"_s);
    auto wanted = [&only](QStringView name) { return only.isEmpty() || only == name; };
    const int meters = std::max(1, parser.value(u"meters"_s).toInt());
    const int ticks = std::max(1, parser.value(u"ticks"_s).toInt());

    Site site(meters);
    // Fill the history window (300 s) first: the charts then hold 300 points, as they do after
    // five minutes of a real run.
    const int window = site.monitor->options().windowSeconds;
    for (int i = 0; i < window; ++i) {
        site.second();
        site.monitor->tick();
    }

    QElapsedTimer total;
    total.start();
    const Samples bare = run(site, ticks, {}, {}, false);

    auto makePage = [&site] {
        auto page = std::make_unique<MonitoringPage>();
        page->resize(1600, 1000);
        page->setMonitor(site.monitor.get());
        page->setMeter(QString());
        page->setRange(MonitoringPage::Range::Live);
        page->show();
        return page;
    };
    auto makeTable = [&site] {
        auto model = std::make_unique<MeterListModel>([&site] { return *site.nowMs; });
        auto view = std::make_unique<QTableView>();
        view->setModel(model.get());
        view->verticalHeader()->setSectionResizeMode(QHeaderView::Fixed);
        view->resize(1400, 900);
        view->show();
        model->setRows(site.rows());
        return std::make_pair(std::move(model), std::move(view));
    };

    QJsonObject result {
        {u"meters"_s, meters},
        {u"window_seconds"_s, site.monitor->options().windowSeconds},
        {u"platform"_s, QGuiApplication::platformName()},
        {u"monitor_tick_only"_s, toJson(bare)},
    };
    double bothEventsCpuP95 = -1;
    for (const bool force : {false, true}) {
        const QString suffix = force ? u"_full_repaint"_s : u"_changed_only"_s;
        if (wanted(u"page")) {
            auto page = makePage();
            result.insert(u"monitoring_page"_s + suffix, toJson(run(site, ticks, {}, {page.get()}, force)));
        }
        if (wanted(u"table")) {
            auto [model, view] = makeTable();
            MeterListModel *m = model.get();
            result.insert(u"meters_table"_s + suffix,
                toJson(run(
                    site, ticks, [&site, m] { m->setRows(site.rows()); }, {view.get()}, force)));
        }
        if (wanted(u"both")) {
            auto page = makePage();
            auto [model, view] = makeTable();
            MeterListModel *m = model.get();
            const Samples both = run(
                site, ticks, [&site, m] { m->setRows(site.rows()); }, {page.get(), view.get()}, force);
            result.insert(u"both"_s + suffix, toJson(both));
            if (!force)
                bothEventsCpuP95 = percentiles(both.cpuMs).value(u"p95_ms"_s).toDouble();
        }
    }
    // Building the Meters page's rows alone (the monitor's per-meter stats for 2,000 meters).
    {
        Samples rows;
        QElapsedTimer timer;
        for (int i = 0; i < ticks; ++i) {
            site.second();
            site.monitor->tick();
            const double cpu = threadCpuMs();
            timer.start();
            const QList<MeterRow> built = site.rows();
            rows.wallMs.push_back(double(timer.nsecsElapsed()) / 1e6);
            rows.cpuMs.push_back(threadCpuMs() - cpu);
            if (built.size() != meters)
                return 1;
        }
        result.insert(u"meters_rows_built"_s, toJson(rows));
    }
    result.insert(u"target_ms"_s, 5);
    if (bothEventsCpuP95 >= 0)
        result.insert(u"both_changed_only_cpu_p95_within_target"_s, bothEventsCpuP95 <= 5.0);
    result.insert(u"wall_s"_s, double(total.elapsed()) / 1000.0);
    std::printf("%s\n", QJsonDocument(result).toJson(QJsonDocument::Indented).constData());
    return 0;
}
