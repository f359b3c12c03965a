// The monitor's cost at 2,000 meters: one simulated second = two workers' deltas of 1,000 meters
// folded in, a tick, the table model's refresh and the visible rows read. The target is ≤ 2 % of
// one core, i.e. ≤ 20,000 µs per simulated second; the "core_pct" counter is µs / 10,000.

#include "metertablemodel.h"
#include "trafficmonitor.h"

#include <QtCore/QObject>
#include <QtCore/QRandomGenerator>

#include <benchmark/benchmark.h>

#include <chrono>
#include <memory>

using namespace Qt::StringLiterals;
using monitor::MeterTableModel;
using monitor::TrafficMonitor;

namespace {

constexpr int kMeters = 2000;
constexpr int kMetersPerDelta = 1000;
constexpr int kVisibleRows = 50;

// One worker's second: each of its meters polled once (3 values, 2 request/response pairs).
polling::TrafficDelta makeDelta(int firstMeter, QRandomGenerator &random)
{
    polling::TrafficDelta delta;
    delta.meters.reserve(kMetersPerDelta);
    delta.rttUs.reserve(2 * kMetersPerDelta);
    for (int i = 0; i < kMetersPerDelta; ++i) {
        polling::MeterTraffic m;
        m.meterId = u"meter-%1"_s.arg(firstMeter + i, 4, 10, QLatin1Char('0'));
        polling::TrafficCounters &c = m.counters;
        c.bytesSent = 40 + random.bounded(20);
        c.bytesReceived = 90 + random.bounded(60);
        c.framesSent = 2;
        c.framesReceived = 2;
        c.requestsSent = 2;
        c.responsesReceived = 2;
        c.pollsAttempted = 1;
        c.pollsCompleted = 1;
        c.valuesRead = 3;
        m.rttBegin = quint32(delta.rttUs.size());
        m.rttCount = 2;
        for (int s = 0; s < 2; ++s) {
            const quint32 rtt = 5000 + random.bounded(45000);
            delta.rttUs.push_back(rtt);
            ++c.rttCount;
            c.rttSumUs += rtt;
            c.rttMaxUs = std::max(c.rttMaxUs, rtt);
        }
        delta.meters.push_back(std::move(m));
    }
    return delta;
}

struct Rig {
    explicit Rig(qint64 rollupPeriodMs)
    {
        TrafficMonitor::Options options;
        options.autoTick = false;
        options.rollupPeriodMs = rollupPeriodMs;
        options.clock = [this] { return nowMs; };
        options.monotonicClock = [this] { return nowMs; };
        monitor = std::make_unique<TrafficMonitor>(options);
        model = std::make_unique<MeterTableModel>(monitor.get());
        // A view's cost is its own; what is measured is the model's emission reaching a slot.
        QObject::connect(model.get(), &QAbstractItemModel::dataChanged, &receiver, [] {});
        QObject::connect(monitor.get(), &TrafficMonitor::rollupReady, &receiver,
            [this](const monitor::MinuteRollup &r) { rows += r.rows.size(); });
        QRandomGenerator random(42);
        deltas[0] = makeDelta(0, random);
        deltas[1] = makeDelta(kMetersPerDelta, random);
    }

    void second()
    {
        monitor->addTraffic(deltas[0]);
        monitor->addTraffic(deltas[1]);
        nowMs += 1000;
        monitor->tick();
    }

    qint64 nowMs = qint64(28'333'334) * 60'000; // on a minute boundary
    QObject receiver;
    std::unique_ptr<TrafficMonitor> monitor;
    std::unique_ptr<MeterTableModel> model;
    polling::TrafficDelta deltas[2];
    std::size_t rows = 0;
};

// Percent of one core spent per simulated second: µs per iteration / 10,000.
void setCorePercent(benchmark::State &state, std::chrono::steady_clock::duration elapsed)
{
    const double us = std::chrono::duration<double, std::micro>(elapsed).count();
    state.counters["core_pct"] = benchmark::Counter(us / 10'000.0, benchmark::Counter::kAvgIterations);
}

// Steady state: every ring and RTT ring full (300 s), no rollup boundary in the timed seconds.
void BM_MonitorSecond2000Meters(benchmark::State &state)
{
    Rig rig(qint64(365) * 24 * 3600 * 1000);
    for (int i = 0; i < 300; ++i)
        rig.second();
    const auto start = std::chrono::steady_clock::now();
    for (auto _ : state) {
        rig.second();
        for (int row = 0; row < kVisibleRows; ++row)
            benchmark::DoNotOptimize(rig.monitor->meterStatsAt(row));
    }
    setCorePercent(state, std::chrono::steady_clock::now() - start);
}
BENCHMARK(BM_MonitorSecond2000Meters)->Unit(benchmark::kMicrosecond);

// The same second with the visible rows read as a view does: every column's DisplayRole text.
void BM_MonitorSecond2000MetersTableCells(benchmark::State &state)
{
    Rig rig(qint64(365) * 24 * 3600 * 1000);
    for (int i = 0; i < 300; ++i)
        rig.second();
    const auto start = std::chrono::steady_clock::now();
    for (auto _ : state) {
        rig.second();
        for (int row = 0; row < kVisibleRows; ++row) {
            for (int column = 0; column < MeterTableModel::ColumnCount; ++column)
                benchmark::DoNotOptimize(rig.model->index(row, column).data());
        }
    }
    setCorePercent(state, std::chrono::steady_clock::now() - start);
}
BENCHMARK(BM_MonitorSecond2000MetersTableCells)->Unit(benchmark::kMicrosecond);

// The tick that closes a minute: 2,001 rows built (p95 of ~120 RTT samples each) and emitted.
// The minute's other 59 seconds are folded outside the timing.
void BM_RollupBoundaryTick2000Meters(benchmark::State &state)
{
    Rig rig(60'000);
    for (auto _ : state) {
        state.PauseTiming();
        for (int i = 0; i < 59; ++i)
            rig.second();
        rig.monitor->addTraffic(rig.deltas[0]);
        rig.monitor->addTraffic(rig.deltas[1]);
        rig.nowMs += 1000;
        state.ResumeTiming();
        rig.monitor->tick();
    }
    state.counters["rows"] = benchmark::Counter(double(rig.rows), benchmark::Counter::kAvgIterations);
}
BENCHMARK(BM_RollupBoundaryTick2000Meters)->Unit(benchmark::kMicrosecond);

} // namespace

BENCHMARK_MAIN();
