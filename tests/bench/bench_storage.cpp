// The storage writer's throughput (issue 5's target: ≥ 50,000 readings/s into an on-disk
// database): 2,000 meters × 10 readings per poll, pushed through Storage as fast as the caller
// can, timed from the first write until the last reading is committed (WAL, synchronous=NORMAL,
// a fresh file in a temp directory per iteration). With and without the outbox row per batch;
// plus the outbox payload on its own (it is built per batch on the writer thread).
#include "storage.h"

#include <benchmark/benchmark.h>

#include <QtCore/QCoreApplication>
#include <QtCore/QElapsedTimer>
#include <QtCore/QTemporaryDir>

#include <chrono>
#include <thread>
#include <vector>

using namespace Qt::StringLiterals;

namespace {

constexpr int kMeters = 2000;
constexpr int kReadingsPerBatch = 10;

// One poll of every meter: energy, powers, voltages, currents, frequency — realistic values.
std::vector<polling::ReadingsBatch> onePollOfEveryMeter()
{
    static const char *const keys[kReadingsPerBatch] = {"energy_import", "energy_export", "power_import",
        "power_export", "voltage_l1", "voltage_l2", "voltage_l3", "current_l1", "frequency", "power_factor"};
    std::vector<polling::ReadingsBatch> batches(kMeters);
    for (int m = 0; m < kMeters; ++m) {
        polling::ReadingsBatch &batch = batches[size_t(m)];
        batch.meterId = u"meter-"_s + QString::number(m);
        for (int i = 0; i < kReadingsPerBatch; ++i) {
            polling::Reading reading;
            reading.key = QString::fromLatin1(keys[i]);
            reading.obis = dlms::Obis(1, 0, quint8(1 + i), 8, 0, 255);
            reading.value = 12345.6 + m * 0.1 + i;
            reading.unit = i < 2 ? u"Wh"_s : u"V"_s;
            batch.readings.push_back(reading);
        }
    }
    return batches;
}

// args: polls per iteration (of all 2,000 meters), outbox on/off.
void BM_StorageSustainedReadings(benchmark::State &state)
{
    const int polls = int(state.range(0));
    const bool outbox = state.range(1) != 0;
    std::vector<polling::ReadingsBatch> batches = onePollOfEveryMeter();
    const quint64 perIteration = quint64(polls) * kMeters * kReadingsPerBatch;
    double seconds = 0;
    quint64 readings = 0;
    for (auto _ : state) {
        QTemporaryDir dir;
        storage::StorageOptions options;
        options.path = dir.filePath(u"bench.db"_s);
        options.writeOutbox = outbox;
        storage::Storage storage(options);
        if (auto started = storage.start(); !started) {
            state.SkipWithError(started.error().message.toLocal8Bit().constData());
            return;
        }
        QElapsedTimer timer;
        timer.start();
        for (int poll = 0; poll < polls; ++poll) {
            for (polling::ReadingsBatch &batch : batches) {
                batch.timestampMs = 1'761'948'300'000 + poll * 1000;
                storage.writeReadings(batch);
            }
        }
        storage.flush(); // the tail, below one transaction, without waiting for the tick
        while (storage.status().readingsWritten < perIteration) {
            if (storage.status().state == storage::StorageState::Failing) {
                state.SkipWithError(storage.status().message.toLocal8Bit().constData());
                return;
            }
            std::this_thread::sleep_for(std::chrono::microseconds(500));
        }
        const double elapsed = double(timer.nsecsElapsed()) / 1e9;
        state.SetIterationTime(elapsed);
        seconds += elapsed;
        readings += perIteration;
        storage.stop();
    }
    state.counters["readings_per_s"] = double(readings) / seconds;
    state.counters["readings"] = double(perIteration);
}
BENCHMARK(BM_StorageSustainedReadings)
    ->ArgsProduct({{10, 50}, {1, 0}})
    ->ArgNames({"polls", "outbox"})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond)
    ->Iterations(3);

void BM_OutboxPayload10Values(benchmark::State &state)
{
    const polling::ReadingsBatch batch = onePollOfEveryMeter().front();
    qint64 bytes = 0;
    for (auto _ : state) {
        const QByteArray payload = storage::outboxPayload(batch);
        bytes += payload.size();
        benchmark::DoNotOptimize(payload.constData());
    }
    state.SetBytesProcessed(bytes);
}
BENCHMARK(BM_OutboxPayload10Values);

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv))
        return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
