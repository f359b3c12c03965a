// Issue 6's targets, against Debian's mosquitto started on a free loopback port:
// - MqttClient: ≥ 10,000 acknowledged QoS 1 messages/s (publish, wait for PUBACK, with a window
//   of messages in flight), timed from the first publish to the last PUBACK;
// - OutboxPublisher: a backlog of 100,000 outbox rows (readings batches of 10 values each, so a
//   million values) drained in ≤ 10 s with the rate cap off, timed from start() to the moment
//   the storage writer has committed the deletion of the last row. Gateway mode batches rows
//   into 64 KiB messages; Plain mode sends one message per row.
#include "../unit/mosquittobroker.h"
#include "mqttclient.h"
#include "outboxpublisher.h"

#include <storage.h>

#include <benchmark/benchmark.h>

#include <QtCore/QCoreApplication>
#include <QtCore/QElapsedTimer>
#include <QtCore/QEventLoop>
#include <QtCore/QFile>
#include <QtCore/QTemporaryDir>
#include <QtCore/QTimer>

#include <cstdio>
#include <optional>

using namespace Qt::StringLiterals;

namespace {

quint16 g_port = 0;

// Runs the event loop until done() or timeoutMs; false on timeout.
template<typename Done> bool spinUntil(Done done, int timeoutMs)
{
    QElapsedTimer timer;
    timer.start();
    while (!done()) {
        if (timer.elapsed() > timeoutMs)
            return false;
        QCoreApplication::processEvents(QEventLoop::WaitForMoreEvents, 10);
    }
    return true;
}

mqtt::ClientOptions clientOptions()
{
    mqtt::ClientOptions options;
    options.host = u"127.0.0.1"_s;
    options.port = g_port;
    options.maxInflight = 1000;
    return options;
}

// args: payload bytes, messages in flight.
void BM_ClientAckedQos1(benchmark::State &state)
{
    const QByteArray payload(qsizetype(state.range(0)), 'x');
    const int window = int(state.range(1));
    constexpr int kMessages = 50'000;
    const QByteArray topic = QByteArrayLiteral("bench/meters/telemetry");
    double seconds = 0;
    quint64 acked = 0;
    for (auto _ : state) {
        mqtt::MqttClient client(clientOptions());
        client.connectToHost();
        if (!spinUntil([&] { return client.state() == mqtt::ClientState::Connected; }, 10'000)) {
            state.SkipWithError("no connection to the broker");
            return;
        }
        int sent = 0;
        int done = 0;
        bool failed = false;
        auto publishOne = [&] {
            if (client.publish(topic, payload, 1) < 0)
                failed = true;
            else
                ++sent;
        };
        QObject::connect(&client, &mqtt::MqttClient::messageAcknowledged, &client, [&](int) {
            ++done;
            if (sent < kMessages)
                publishOne();
        });
        QElapsedTimer timer;
        timer.start();
        while (sent < window && sent < kMessages && !failed)
            publishOne();
        if (!spinUntil([&] { return done == kMessages || failed; }, 120'000) || failed) {
            state.SkipWithError("messages not acknowledged");
            return;
        }
        const double elapsed = double(timer.nsecsElapsed()) / 1e9;
        state.SetIterationTime(elapsed);
        seconds += elapsed;
        acked += quint64(done);
        client.disconnectFromHost();
        spinUntil([&] { return client.state() == mqtt::ClientState::Disconnected; }, 5000);
    }
    state.counters["acked_msgs_per_s"] = double(acked) / seconds;
    state.counters["messages"] = double(acked) / double(state.iterations());
}

constexpr int kBacklogRows = 100'000;
constexpr int kMeters = 2000;
constexpr int kValuesPerBatch = 10;

// A database holding kBacklogRows outbox rows, made once and copied per iteration.
QString backlogTemplate(QTemporaryDir &dir)
{
    const QString path = dir.filePath(u"backlog.db"_s);
    storage::StorageOptions options;
    options.path = path;
    options.maxOutboxBytes = 0;
    storage::Storage writer(options);
    if (!writer.start())
        return {};
    static const char *const keys[kValuesPerBatch] = {"energy_import", "energy_export", "power_import",
        "power_export", "voltage_l1", "voltage_l2", "voltage_l3", "current_l1", "frequency", "power_factor"};
    const qint64 t0 = 1'790'000'000'000;
    for (int row = 0; row < kBacklogRows; ++row) {
        polling::ReadingsBatch batch;
        batch.meterId = u"meter-"_s + QString::number(row % kMeters);
        batch.timestampMs = t0 + qint64(row / kMeters) * 1000;
        for (int i = 0; i < kValuesPerBatch; ++i) {
            polling::Reading reading;
            reading.key = QString::fromLatin1(keys[i]);
            reading.obis = dlms::Obis(1, 0, quint8(1 + i), 8, 0, 255);
            reading.value = 12345.6 + row * 0.001 + i;
            reading.unit = i < 2 ? u"Wh"_s : u"V"_s;
            batch.readings.push_back(reading);
        }
        writer.writeReadings(batch);
    }
    writer.flush();
    if (!writer.stop(120'000))
        return {};
    return path;
}

// arg: mode (0 gateway, 2 plain).
void BM_BacklogDrain(benchmark::State &state)
{
    const auto mode = mqtt::Mode(state.range(0));
    QTemporaryDir dir;
    const QString source = backlogTemplate(dir);
    if (source.isEmpty()) {
        state.SkipWithError("could not build the backlog database");
        return;
    }
    double seconds = 0;
    quint64 rows = 0;
    quint64 messages = 0;
    for (auto _ : state) {
        const QString path = dir.filePath(u"drain.db"_s);
        QFile::remove(path);
        if (!QFile::copy(source, path)) {
            state.SkipWithError("copy failed");
            return;
        }
        storage::StorageOptions storageOptions;
        storageOptions.path = path;
        storageOptions.maxOutboxBytes = 0;
        storage::Storage writer(storageOptions);
        // The writer counts the outbox on its own thread once started.
        if (!writer.start()
            || !spinUntil([&] { return writer.status().outbox.rows == kBacklogRows; }, 60'000)) {
            state.SkipWithError("backlog not found");
            return;
        }
        mqtt::PublisherOptions options;
        options.databasePath = path;
        options.format.mode = mode;
        options.format.topicTemplate = u"bench/{id}/telemetry"_s;
        options.client = clientOptions();
        options.maxMessagesPerSecond = 0;
        options.maxInflightMessages = 1000;
        std::optional<mqtt::OutboxPublisher> publisher;
        publisher.emplace(options, &writer);
        QObject::connect(
            &writer, &storage::Storage::committed, &*publisher, &mqtt::OutboxPublisher::onCommitted);
        QElapsedTimer timer;
        timer.start();
        if (!publisher->start()) {
            state.SkipWithError("publisher did not start");
            return;
        }
        if (!spinUntil([&] { return writer.status().outbox.rows == 0; }, 300'000)) {
            state.SkipWithError("backlog not drained");
            return;
        }
        const double elapsed = double(timer.nsecsElapsed()) / 1e9;
        state.SetIterationTime(elapsed);
        seconds += elapsed;
        rows += publisher->status().rowsAcknowledged;
        messages += publisher->status().messagesAcknowledged;
        publisher->stop();
        publisher.reset();
        writer.stop();
    }
    state.counters["drain_s"] = seconds / double(state.iterations());
    state.counters["rows_per_s"] = double(rows) / seconds;
    state.counters["values_per_s"] = double(rows) * kValuesPerBatch / seconds;
    state.counters["messages"] = double(messages) / double(state.iterations());
}

} // namespace

BENCHMARK(BM_ClientAckedQos1)
    ->ArgNames({"payload", "window"})
    ->Args({200, 100})
    ->Args({200, 1000})
    ->Args({2000, 1000})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond)
    ->Iterations(3);
BENCHMARK(BM_BacklogDrain)
    ->ArgName("mode")
    ->Arg(int(mqtt::Mode::Gateway))
    ->Arg(int(mqtt::Mode::Plain))
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond)
    ->Iterations(2);

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    testsupport::MosquittoBroker broker;
    if (!broker.start()) {
        std::fprintf(stderr, "mosquitto did not start: %s\n", qPrintable(broker.errorString()));
        return 1;
    }
    g_port = broker.port();
    benchmark::Initialize(&argc, argv);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
