#include "pollcommand.h"

#include "connectionoptions.h"
#include "valueformat.h"
#include <processlimits.h>

#include <clientsession.h>
#include <interfacesampler.h>
#include <pollscheduler.h>
#include <siteconfig.h>
#include <storage.h>
#include <trafficmonitor.h>

#include <QtCore/QCommandLineParser>
#include <QtCore/QCoreApplication>
#include <QtCore/QDateTime>
#include <QtCore/QHash>
#include <QtCore/QJsonDocument>
#include <QtCore/QSet>
#include <QtCore/QTextStream>
#include <QtCore/QTimer>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <memory>
#include <optional>

using namespace Qt::StringLiterals;

namespace {

// Scaled values are products of an integer and a power of ten (2301 × 10⁻¹): 15 significant
// digits print them as the meter meant them ("230.1", not "230.10000000000002").
QString numberText(double value)
{
    return QString::number(value, 'g', 15);
}

QJsonValue jsonValue(const QVariant &value)
{
    if (polling::isNumericValue(value)) {
        const double d = value.toDouble();
        return std::isfinite(d) ? QJsonValue(numberText(d).toDouble()) : QJsonValue();
    }
    return QJsonValue::fromVariant(value);
}

} // namespace

QStringList readingLines(const polling::ReadingsBatch &batch, const QString &meterName)
{
    const QString timestamp
        = QDateTime::fromMSecsSinceEpoch(batch.timestampMs, Qt::UTC).toString(Qt::ISODateWithMs);
    QStringList lines;
    lines.reserve(qsizetype(batch.readings.size()));
    for (const polling::Reading &reading : batch.readings) {
        QString value;
        if (reading.quality == polling::Quality::Failed) {
            value = u"error: "_s + reading.error;
        } else {
            // Text from a meter goes through displayText() so it cannot drive the terminal.
            value = polling::isNumericValue(reading.value) ? numberText(reading.value.toDouble())
                                                           : displayText(reading.value.toString());
            if (!reading.unit.isEmpty())
                value += u' ' + reading.unit;
        }
        lines.append(timestamp + u"  "_s + meterName + u"  "_s + reading.key + u"  "_s + value);
    }
    return lines;
}

QJsonObject readingsJson(const polling::ReadingsBatch &batch, const QString &meterName)
{
    QJsonObject values;
    QJsonObject units;
    QJsonObject errors;
    for (const polling::Reading &reading : batch.readings) {
        if (reading.quality == polling::Quality::Failed) {
            errors.insert(reading.key, reading.error);
            continue;
        }
        values.insert(reading.key, jsonValue(reading.value));
        if (!reading.unit.isEmpty())
            units.insert(reading.key, reading.unit);
    }
    QJsonObject object {{u"meter"_s, batch.meterId}, {u"name"_s, meterName}, {u"ts"_s, batch.timestampMs},
        {u"values"_s, values}, {u"units"_s, units}};
    if (!errors.isEmpty())
        object.insert(u"errors"_s, errors);
    return object;
}

namespace {

// What the command remembers of each meter while it runs.
struct MeterView {
    QString name;
    bool delivered = false; // at least one batch
    bool announced = false; // "associated" was printed once
    bool troubled = false; // backing off, circuit open or paused since the last association
};

// With --db: readings and state changes go to the database; traffic goes through the monitor,
// which closes each rollup period into network_metrics rows. Declared in this order so the
// sampler and the monitor are gone before the storage they feed.
struct Recording {
    std::unique_ptr<storage::Storage> storage;
    std::unique_ptr<monitor::TrafficMonitor> monitor;
    std::unique_ptr<monitor::InterfaceSampler> sampler;
    QSet<QString> samplerErrors; // printed already
    bool storageFailing = false;
    QString storageMessage;
};

storage::MeterInfo meterInfo(const polling::MeterConfig &meter)
{
    // Where the meter is, never its password.
    return storage::MeterInfo {
        meter.id, meter.name, meter.host, meter.port, dlms::transportName(meter.transport)};
}

} // namespace

int runPollCommand(const QStringList &arguments)
{
    QTextStream out(stdout);
    QTextStream err(stderr);
    QCommandLineParser parser;
    parser.setApplicationDescription(
        u"Poll the meters of a site configuration file and print their readings as they arrive.\n\n"
        "Text: one line per reading ('2026-11-24T10:00:00.123Z  Feeder 1  voltage_l1  230.1 V').\n"
        "--json: one JSON object per poll per line ({\"meter\":…,\"name\":…,\"ts\":…,\"values\":{…},\n"
        "\"units\":{…},\"errors\":{…}}). Meter state changes (associated, backing-off, circuit-open)\n"
        "and, at the end, one summary line ('poll: meters=3 polls=30 completed=29 …') go to stderr.\n"
        "Runs for --seconds, or until SIGINT/SIGTERM; then releases every association.\n\n"
        "--db FILE also records the run in an SQLite database (created when missing): every reading,\n"
        "every meter state change, and per --rollup-s period one network_metrics row per meter plus\n"
        "one system row ('*') with the interface counters (all non-loopback interfaces, or\n"
        "--interface). The partial last period is written on exit.\n\n"
        "Exit codes: 0 every meter delivered readings; 2 usage or configuration error; 3 the database\n"
        "cannot be opened, or readings could not be written to it; 5 some meter delivered nothing."_s);
    parser.addHelpOption();
    parser.addOptions({
        {u"config"_s, u"Site configuration file (JSON with \"polling\" and \"meters\"; required)."_s,
            u"FILE"_s},
        {u"seconds"_s, u"Stop after N seconds (default 0: run until SIGINT/SIGTERM)."_s, u"N"_s, u"0"_s},
        {u"json"_s, u"Print one JSON object per poll per line instead of text."_s},
        {u"workers"_s, u"Worker threads (default: the file's polling.workers; 0 = one per core)."_s, u"N"_s},
        {u"db"_s, u"Record readings, state changes and network metrics in this SQLite file."_s, u"FILE"_s},
        {u"rollup-s"_s, u"With --db: seconds per network_metrics row (1 to 3600, default 60)."_s, u"N"_s,
            u"60"_s},
        {u"interface"_s, u"With --db: the network interface to sample (default: all but loopback)."_s,
            u"NAME"_s},
        {u"auth"_s,
            u"Override every meter's authentication: none, low (its configured password) or hls-gmac."_s,
            u"mode"_s},
    });
    // Given, they override those settings of every meter of the file (which is not changed).
    addSecurityOptions(parser);
    if (const auto done = parseVerbArguments(parser, arguments, u"poll"_s, false))
        return *done;
    const QString configPath = parser.value(u"config"_s);
    if (configPath.isEmpty()) {
        err << "dlmsctl: --config is required\n";
        return 2;
    }
    const auto seconds = integerOption(u"seconds"_s, parser.value(u"seconds"_s), 0, 366LL * 86400);
    if (!seconds) {
        err << "dlmsctl: " << seconds.error().message << '\n';
        return 2;
    }
    std::optional<qint64> workers;
    if (parser.isSet(u"workers"_s)) {
        const auto n = integerOption(u"workers"_s, parser.value(u"workers"_s), 0, 1024);
        if (!n) {
            err << "dlmsctl: " << n.error().message << '\n';
            return 2;
        }
        workers = *n;
    }
    const bool json = parser.isSet(u"json"_s);
    const QString dbPath = parser.value(u"db"_s);
    if (parser.isSet(u"db"_s) && dbPath.isEmpty()) {
        err << "dlmsctl: --db needs a file name\n";
        return 2;
    }
    for (const QString &option : {u"rollup-s"_s, u"interface"_s}) {
        if (parser.isSet(option) && dbPath.isEmpty()) {
            err << "dlmsctl: --" << option << " needs --db\n";
            return 2;
        }
    }
    const auto rollupS = integerOption(u"rollup-s"_s, parser.value(u"rollup-s"_s), 1, 3600);
    if (!rollupS) {
        err << "dlmsctl: " << rollupS.error().message << '\n';
        return 2;
    }
    const QString interfaceName = parser.value(u"interface"_s);
    if (parser.isSet(u"interface"_s) && interfaceName.trimmed().isEmpty()) {
        err << "dlmsctl: --interface needs a name\n";
        return 2;
    }

    QStringList warnings;
    auto site = polling::loadSiteConfig(configPath, &warnings);
    for (const QString &warning : std::as_const(warnings))
        err << "dlmsctl: warning: " << warning << '\n';
    if (!site) {
        err << "dlmsctl: " << site.error().message << '\n';
        return 2;
    }
    if (site->meters.empty()) {
        err << "dlmsctl: " << configPath << ": meters: no meters to poll\n";
        return 2;
    }
    const auto overrides = securityOverrides(parser);
    auto counters = overrides
        ? overrides->applyTo(site->meters)
        : dlms::Result<std::vector<std::shared_ptr<dlms::InvocationCounter>>>(overrides.error());
    if (!counters) {
        err << "dlmsctl: " << counters.error().message << '\n';
        return 2;
    }
    err.flush();

    // One socket per meter, plus the threads' and Qt's own descriptors. Short of that, meters
    // beyond the limit would fail to connect one by one, looking like dead meters.
    const quint64 wantedFiles = quint64(site->meters.size()) + 64;
    if (const quint64 limit = raiseOpenFileLimit(wantedFiles); limit > 0 && limit < wantedFiles) {
        err << "dlmsctl: " << configPath << ": " << site->meters.size() << " meters need " << wantedFiles
            << " open files, but the limit is " << limit << " (see ulimit -Hn)\n";
        return 2;
    }

    polling::PollScheduler::Options schedulerOptions;
    schedulerOptions.workers = int(workers.value_or(site->workers));
    polling::PollScheduler scheduler(schedulerOptions);
    QHash<QString, MeterView> meters;
    for (size_t i = 0; i < site->meters.size(); ++i) {
        const polling::MeterConfig &meter = site->meters[i];
        if (const auto added = scheduler.addMeter(meter); !added) {
            err << "dlmsctl: " << configPath << ": meters[" << i << "]: " << added.error().message << '\n';
            return 2;
        }
        meters.insert(meter.id, MeterView {meter.name});
    }

    Recording recording;
    if (!dbPath.isEmpty()) {
        storage::StorageOptions storageOptions;
        storageOptions.path = dbPath;
        recording.storage = std::make_unique<storage::Storage>(storageOptions);
        if (const auto started = recording.storage->start(); !started) {
            err << "dlmsctl poll: cannot open the database: " << started.error().message << '\n';
            return 3;
        }
        monitor::TrafficMonitor::Options monitorOptions;
        monitorOptions.rollupPeriodMs = *rollupS * 1000;
        recording.monitor = std::make_unique<monitor::TrafficMonitor>(monitorOptions);
        monitor::InterfaceSampler::Options samplerOptions;
        samplerOptions.interfaceName = interfaceName;
        recording.sampler = std::make_unique<monitor::InterfaceSampler>(
            samplerOptions, monitor::makeDefaultInterfaceSource());
        for (const polling::MeterConfig &meter : site->meters) {
            recording.storage->upsertMeter(meterInfo(meter));
            recording.monitor->addMeter(meter.id);
        }
    }

    polling::TrafficCounters total;
    bool stopping = false;
    QObject context;

    QObject::connect(&scheduler, &polling::PollScheduler::readingsReady, &context,
        [&](const polling::ReadingsBatch &batch) {
            const auto it = meters.find(batch.meterId);
            if (it == meters.end())
                return;
            it->delivered = true;
            if (recording.storage)
                recording.storage->writeReadings(batch);
            if (json) {
                out << QJsonDocument(readingsJson(batch, it->name)).toJson(QJsonDocument::Compact) << '\n';
            } else {
                for (const QString &line : readingLines(batch, it->name))
                    out << line << '\n';
            }
            // Flushed per batch so a pipe sees readings as they arrive.
            out.flush();
        });

    // The routine cycle (connecting, polling, back to associated) is not news; trouble and the
    // recovery from it are.
    QObject::connect(&scheduler, &polling::PollScheduler::meterStateChanged, &context,
        [&](const QString &id, polling::MeterState state, const QString &reason) {
            const auto it = meters.find(id);
            if (it == meters.end())
                return;
            if (recording.storage) {
                recording.storage->writeEvent(storage::Event {QDateTime::currentMSecsSinceEpoch(), id,
                    u"state"_s, polling::meterStateName(state), reason});
            }
            bool print = false;
            switch (state) {
            case polling::MeterState::BackingOff:
            case polling::MeterState::CircuitOpen:
            case polling::MeterState::Paused:
                print = true;
                it->troubled = true;
                break;
            case polling::MeterState::Associated:
                print = !it->announced || it->troubled;
                it->announced = true;
                it->troubled = false;
                break;
            case polling::MeterState::Disconnected:
                // Once (a per-poll meter is idle between polls, every time: routine).
                print = !reason.isEmpty() && !stopping && !it->announced;
                it->announced = true;
                break;
            default:
                break;
            }
            if (!print)
                return;
            err << "dlmsctl: " << id << ": " << polling::meterStateName(state);
            if (!reason.isEmpty())
                err << ": " << reason;
            err << '\n';
            err.flush();
        });

    QObject::connect(
        &scheduler, &polling::PollScheduler::trafficReady, &context, [&](const polling::TrafficDelta &delta) {
            total += delta.total();
            if (recording.monitor)
                recording.monitor->addTraffic(delta);
        });
    if (recording.storage) {
        QObject::connect(recording.monitor.get(), &monitor::TrafficMonitor::rollupReady, &context,
            [&](const monitor::MinuteRollup &rollup) { recording.storage->writeRollup(rollup); });
        QObject::connect(recording.sampler.get(), &monitor::InterfaceSampler::sampled, &context,
            [&](const monitor::InterfaceRates &rates) { recording.monitor->setInterfaceRates(rates); });
        // Once per distinct message: a missing interface stays missing every second.
        QObject::connect(recording.sampler.get(), &monitor::InterfaceSampler::errorOccurred, &context,
            [&](const QString &message) {
                if (recording.samplerErrors.contains(message))
                    return;
                recording.samplerErrors.insert(message);
                err << "dlmsctl: interfaces: " << message << '\n';
                err.flush();
            });
        // Queued (the writer thread emits it). The start (stopped → ok) is not news; failing and
        // the recovery from it are.
        QObject::connect(recording.storage.get(), &storage::Storage::stateChanged, &context,
            [&](storage::StorageState state, const QString &message) {
                if (state == storage::StorageState::Failing) {
                    if (recording.storageFailing && recording.storageMessage == message)
                        return;
                    recording.storageFailing = true;
                    recording.storageMessage = message;
                    err << "dlmsctl: storage: failing: " << message << '\n';
                } else if (state == storage::StorageState::Ok && recording.storageFailing) {
                    recording.storageFailing = false;
                    recording.storageMessage.clear();
                    err << "dlmsctl: storage: ok\n";
                } else {
                    return;
                }
                err.flush();
            });
    }
    // Queued: the last traffic deltas, posted before stopped(), are summed first.
    QObject::connect(
        &scheduler, &polling::PollScheduler::stopped, &context, [] { QCoreApplication::quit(); },
        Qt::QueuedConnection);

    const int stopTimeoutMs = scheduler.options().stopTimeoutMs;
    auto stop = [&] {
        if (stopping) {
            // A second signal: do not wait for the meters to release.
            err << "dlmsctl: interrupted again, not waiting for the associations to be released\n";
            QCoreApplication::quit();
            return;
        }
        stopping = true;
        scheduler.stop();
        // stop() is bounded by stopTimeoutMs; this only guards against a stopped() that never comes.
        QTimer::singleShot(stopTimeoutMs + 5000, &context, [] { QCoreApplication::quit(); });
    };
    if (!onTerminationSignal(&context, stop)) {
        err << "dlmsctl: cannot install the signal handlers: " << qt_error_string(errno) << '\n';
        return 2;
    }
    if (*seconds > 0)
        QTimer::singleShot(std::chrono::seconds(*seconds), &context, stop);

    scheduler.start();
    if (recording.sampler)
        recording.sampler->start();
    QCoreApplication::exec();

    // The scheduler has stopped (or did not in time): every traffic delta that came is in the
    // monitor, so the partial period's rows are complete. Then the writer drains its queue.
    bool storageComplete = true;
    storage::StorageStatus stored;
    QString storageProblem;
    if (recording.storage) {
        recording.sampler->stop();
        recording.monitor->flushRollup();
        // stop() clears the state's message: keep why it was failing, if it was.
        storageProblem = recording.storage->status().message;
        storageComplete = recording.storage->stop();
        stored = recording.storage->status();
    }

    int delivered = 0;
    for (const MeterView &meter : std::as_const(meters))
        delivered += meter.delivered ? 1 : 0;
    out.flush();
    err << "poll: meters=" << meters.size() << " polls=" << total.pollsAttempted
        << " completed=" << total.pollsCompleted << " failed=" << total.pollsFailed
        << " late=" << total.pollsLate << " skipped=" << total.pollsSkipped
        << " bytes_sent=" << total.bytesSent << " bytes_received=" << total.bytesReceived
        << " timeouts=" << total.timeouts << " protocol_errors=" << total.protocolErrors;
    if (recording.storage)
        err << ", stored " << stored.readingsWritten << " readings, " << stored.metricsRowsWritten
            << " metrics rows";
    err << '\n';
    if (!storageComplete) {
        // Once stopped, nothing is queued any more: what was left is counted as dropped.
        err << "dlmsctl poll: " << dbPath << ": not everything could be written (" << stored.droppedReadings
            << " readings dropped)";
        if (!storageProblem.isEmpty())
            err << ": " << storageProblem;
        err << '\n';
        return 3;
    }
    if (delivered < meters.size()) {
        QStringList silent;
        for (const QString &id : scheduler.meterIds())
            if (!meters.value(id).delivered)
                silent << id;
        err << "dlmsctl: " << silent.size() << " of " << meters.size()
            << " meters delivered no readings: " << silent.join(u", "_s) << '\n';
        return 5;
    }
    return 0;
}
