// The whole bridge under load, as `dlmsctl run` runs it: N simulated meters (a `dlmsctl
// simulate` child process on loopback) polled every interval with R registers each, every
// readings batch stored (readings + outbox, on disk) and published to a local mosquitto in
// gateway mode, the monitor rolling up, the HTTP API answering. After a warm-up (every meter
// delivered once, and with MQTT the outbox down to less than one interval of batches) it
// measures a window and prints one JSON object: polls, readings stored and
// values acknowledged by the broker per second, the outbox level at the end (a bridge that
// keeps up ends near zero), this process's CPU (all its threads) and peak RSS, HTTP latency of
// /meters and /meters/{id}/network_stats while loaded, and how long a clean stop takes.
//
//   bench_bridge [--meters 2000] [--seconds 20] [--interval-ms 1000] [--registers 10] [--no-mqtt]
#include "../unit/mosquittobroker.h"

#include <benchcommand.h>
#include <bridge.h>
#include <pollscheduler.h>
#include <storage.h>
#include <trafficmonitor.h>

#include <QtCore/QCommandLineParser>
#include <QtCore/QCoreApplication>
#include <QtCore/QElapsedTimer>
#include <QtCore/QEventLoop>
#include <QtCore/QJsonDocument>
#include <QtCore/QJsonObject>
#include <QtCore/QProcess>
#include <QtCore/QRegularExpression>
#include <QtCore/QSet>
#include <QtCore/QTemporaryDir>
#include <QtCore/QTimer>
#include <QtNetwork/QNetworkAccessManager>
#include <QtNetwork/QNetworkReply>
#include <QtNetwork/QNetworkRequest>

#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <vector>

using namespace Qt::StringLiterals;

namespace {

// Runs the event loop until done() or timeoutMs, checking every 10 ms. A real wait: the CPU
// figure is this process's, so the harness must not spin (processEvents(flags, ms) never
// blocks).
template<typename Done> bool spinUntil(Done done, int timeoutMs)
{
    QElapsedTimer elapsed;
    elapsed.start();
    QEventLoop loop;
    QTimer check;
    QObject::connect(&check, &QTimer::timeout, &loop, [&] {
        if (done() || elapsed.elapsed() > timeoutMs)
            loop.quit();
    });
    check.start(10);
    if (!done())
        loop.exec();
    return done();
}

double cpuSeconds()
{
    rusage usage {};
    ::getrusage(RUSAGE_SELF, &usage);
    return double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
        + double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

qint64 peakRssKb()
{
    rusage usage {};
    ::getrusage(RUSAGE_SELF, &usage);
    return usage.ru_maxrss;
}

QJsonObject latencyJson(std::vector<quint32> samplesUs)
{
    const auto ms = [](quint32 us) { return double(us) / 1000.0; };
    QJsonObject o {{u"requests"_s, qint64(samplesUs.size())}};
    if (samplesUs.empty())
        return o;
    o.insert(u"p50_ms"_s, ms(samplePercentile(samplesUs, 0.50)));
    o.insert(u"p95_ms"_s, ms(samplePercentile(samplesUs, 0.95)));
    o.insert(u"max_ms"_s, ms(*std::max_element(samplesUs.begin(), samplesUs.end())));
    return o;
}

int fail(const QString &message)
{
    std::fprintf(stderr, "bench_bridge: %s\n", qPrintable(message));
    return 1;
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication application(argc, argv);
    QCommandLineParser parser;
    parser.addOptions({
        {u"meters"_s, u"Simulated meters."_s, u"N"_s, u"2000"_s},
        {u"seconds"_s, u"Measured window."_s, u"S"_s, u"20"_s},
        {u"interval-ms"_s, u"Poll interval."_s, u"MS"_s, u"1000"_s},
        {u"registers"_s, u"Registers per poll."_s, u"R"_s, u"10"_s},
        {u"no-mqtt"_s, u"Leave MQTT off (what polling and storage cost alone)."_s},
    });
    parser.process(application);
    const int meters = std::clamp(parser.value(u"meters"_s).toInt(), 1, 20000);
    const int seconds = std::clamp(parser.value(u"seconds"_s).toInt(), 1, 3600);
    const int intervalMs = std::clamp(parser.value(u"interval-ms"_s).toInt(), 100, 3'600'000);
    const std::vector<polling::PollItem> items = benchPollItems(parser.value(u"registers"_s).toInt());
    if (items.empty())
        return fail(u"--registers must be from 1 to %1"_s.arg(benchPollItemsAvailable()));
    rlimit files {};
    ::getrlimit(RLIMIT_NOFILE, &files);
    files.rlim_cur = files.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &files);

    testsupport::MosquittoBroker broker;
    if (!broker.start())
        return fail(u"mosquitto: "_s + broker.errorString());

    QProcess simulator;
    simulator.setProgram(QStringLiteral(DLMSCTL_PATH));
    simulator.setArguments({u"simulate"_s, u"--meters"_s, QString::number(meters), u"--port"_s, u"0"_s});
    simulator.setProcessChannelMode(QProcess::ForwardedErrorChannel);
    simulator.start(QIODevice::ReadOnly);
    std::vector<quint16> ports(size_t(meters), 0);
    bool ready = false;
    static const QRegularExpression meterLine(u"^meter (\\d+)\\s{2,}127\\.0\\.0\\.1:(\\d+)\\s"_s);
    QObject::connect(&simulator, &QProcess::readyReadStandardOutput, [&] {
        while (simulator.canReadLine()) {
            const QString line = QString::fromUtf8(simulator.readLine()).trimmed();
            if (line == u"ready")
                ready = true;
            const auto match = meterLine.match(line);
            const int number = match.hasMatch() ? match.captured(1).toInt() : 0;
            if (number >= 1 && number <= meters)
                ports[size_t(number - 1)] = quint16(match.captured(2).toUInt());
        }
    });
    if (!spinUntil([&] { return ready || simulator.state() == QProcess::NotRunning; }, 60'000) || !ready)
        return fail(u"the simulator did not become ready"_s);

    QTemporaryDir dir;
    app::BridgeConfig config;
    for (int i = 0; i < meters; ++i) {
        polling::MeterConfig meter;
        meter.id = u"m%1"_s.arg(i + 1, 4, 10, QLatin1Char('0'));
        meter.name = u"Meter %1"_s.arg(i + 1);
        meter.host = u"127.0.0.1"_s;
        meter.port = ports[size_t(i)];
        meter.pollIntervalMs = intervalMs;
        meter.items = items;
        config.site.meters.push_back(meter);
    }
    config.mqtt.client.host = u"127.0.0.1"_s;
    config.mqtt.client.port = broker.port();
    config.mqtt.client.clientId = u"bench-bridge"_s;
    config.mqtt.enabled = !parser.isSet(u"no-mqtt"_s);
    config.storage.path = dir.filePath(u"bench.db"_s);
    config.http.port = 0;

    app::Bridge bridge;
    QSet<QString> delivered;
    QObject::connect(&bridge, &app::Bridge::readingsReady,
        [&](const polling::ReadingsBatch &batch) { delivered.insert(batch.meterId); });
    QElapsedTimer sinceStart;
    sinceStart.start();
    if (const auto started = bridge.start(config); !started)
        return fail(started.error().message);
    if (!spinUntil([&] { return delivered.size() == meters; }, 120'000))
        return fail(u"only %1 of %2 meters delivered during the warm-up"_s.arg(delivered.size()).arg(meters));
    const double allDeliveredS = double(sinceStart.elapsed()) / 1000.0;
    // With MQTT: the start announces every meter to the gateway (connect + attributes) under
    // the rate cap while readings pile up; the window measures the steady state after that.
    double caughtUpS = -1;
    if (config.mqtt.enabled) {
        const auto caughtUp = [&] {
            const storage::StorageStatus status = bridge.storage()->status();
            // Past the announcements: five intervals stored, less than one waiting.
            return status.batchesWritten >= quint64(meters) * 5 && status.outbox.rows < meters;
        };
        if (spinUntil(caughtUp, 180'000))
            caughtUpS = double(sinceStart.elapsed()) / 1000.0;
    }

    const auto counters = [&] { return bridge.monitor()->totalStats().counters; };
    const storage::StorageStatus storedBefore = bridge.storage()->status();
    const monitor::MeterCounters before = counters();
    const double cpuBefore = cpuSeconds();
    QElapsedTimer window;
    window.start();

    // HTTP requests through the window, one every half second (a dashboard refreshing), alternating
    // the two endpoints.
    QNetworkAccessManager network;
    std::vector<quint32> metersLatency;
    std::vector<quint32> statsLatency;
    int httpErrors = 0;
    const QString base = u"http://127.0.0.1:%1"_s.arg(bridge.httpPort());
    bool statsNext = true;
    std::function<void()> request = [&] {
        if (window.elapsed() >= qint64(seconds) * 1000)
            return;
        const bool stats = statsNext;
        statsNext = !statsNext;
        const QString path = stats ? u"/meters/m0001/network_stats"_s : u"/meters"_s;
        QElapsedTimer took;
        took.start();
        QNetworkReply *reply = network.get(QNetworkRequest(QUrl(base + path)));
        QObject::connect(reply, &QNetworkReply::finished, [&, reply, took, stats] {
            const auto us = quint32(took.nsecsElapsed() / 1000);
            if (reply->error() != QNetworkReply::NoError)
                ++httpErrors;
            (stats ? statsLatency : metersLatency).push_back(us);
            reply->deleteLater();
            QTimer::singleShot(500, request);
        });
    };
    request();
    spinUntil([&] { return window.elapsed() >= qint64(seconds) * 1000; }, seconds * 1000 + 5000);
    const double elapsedS = double(window.nsecsElapsed()) / 1e9;
    const double cpu = cpuSeconds() - cpuBefore;
    const monitor::MeterCounters after = counters();
    const storage::StorageStatus storedAfter = bridge.storage()->status();
    spinUntil(
        [&] {
            return metersLatency.size() + statsLatency.size() > 0
                && network.findChildren<QNetworkReply *>().isEmpty();
        },
        5000);

    QElapsedTimer stopping;
    stopping.start();
    const bool stopped = bridge.stopAndWait(30'000);
    const double stopS = double(stopping.nsecsElapsed()) / 1e9;
    const storage::StorageStatus finalStatus = bridge.storage() ? bridge.storage()->status() : storedAfter;
    simulator.terminate();
    simulator.waitForFinished(10'000);

    const auto perS = [&](quint64 a, quint64 b) { return double(b - a) / elapsedS; };
    QJsonObject result {
        {u"meters"_s, meters},
        {u"interval_ms"_s, intervalMs},
        {u"registers"_s, qint64(items.size())},
        {u"window_s"_s, elapsedS},
        {u"all_meters_delivered_s"_s, allDeliveredS},
        {u"mqtt_caught_up_s"_s, caughtUpS},
        {u"polls_completed_per_s"_s, perS(before.dlms.pollsCompleted, after.dlms.pollsCompleted)},
        {u"polls_failed"_s, qint64(after.dlms.pollsFailed - before.dlms.pollsFailed)},
        {u"readings_stored_per_s"_s, perS(storedBefore.readingsWritten, storedAfter.readingsWritten)},
        {u"mqtt_messages_acked_per_s"_s, perS(before.mqttMessages, after.mqttMessages)},
        {u"mqtt_values_acked_per_s"_s, perS(before.mqttValues, after.mqttValues)},
        {u"mqtt_bytes_per_value"_s,
            after.mqttValues > before.mqttValues ? double(after.mqttPacketBytes - before.mqttPacketBytes)
                    / double(after.mqttValues - before.mqttValues)
                                                 : 0.0},
        {u"outbox_rows_at_end"_s, storedAfter.outbox.rows},
        {u"cpu_core_fraction"_s, cpu / elapsedS},
        {u"peak_rss_mb"_s, double(peakRssKb()) / 1024.0},
        {u"http_meters"_s, latencyJson(metersLatency)},
        {u"http_network_stats"_s, latencyJson(statsLatency)},
        {u"http_errors"_s, httpErrors},
        {u"stop_s"_s, stopS},
        {u"stopped_cleanly"_s, stopped},
        {u"readings_dropped"_s, qint64(finalStatus.droppedReadings)},
    };
    std::printf("%s\n", QJsonDocument(result).toJson(QJsonDocument::Indented).constData());
    return stopped && httpErrors == 0 ? 0 : 1;
}
