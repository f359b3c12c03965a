#include "bridge.h"

#include "httpapi.h"

#include <interfacesampler.h>
#include <outboxpublisher.h>
#include <pollscheduler.h>
#include <storage.h>
#include <trafficmonitor.h>

#include <QtCore/QCoreApplication>
#include <QtCore/QDateTime>
#include <QtCore/QDir>
#include <QtCore/QElapsedTimer>
#include <QtCore/QEventLoop>
#include <QtCore/QFile>
#include <QtCore/QFileInfo>
#include <QtCore/QLoggingCategory>
#include <QtCore/QSet>
#include <QtCore/QThread>
#include <QtCore/QTimer>

#include <algorithm>
#include <utility>

using namespace Qt::StringLiterals;

namespace app {

namespace {

Q_LOGGING_CATEGORY(lcBridge, "dlmsbridge.app")

// On stop, a connected publisher gets this long to publish what the last polls wrote, so a
// clean shutdown normally leaves the outbox empty; what is left waits for the next start.
constexpr int kDrainTimeoutMs = 3000;
constexpr int kDrainCheckMs = 20;
// The drain also ends when nothing moved (no row acknowledged, the outbox level unchanged) for
// this long: what is left cannot be sent now (Device mode: a meter without a token).
constexpr qint64 kDrainIdleMs = 300;
// A publisher still connecting this long after start is worth a line in health().
constexpr qint64 kConnectGraceMs = 10'000;
// Beyond stopTimeoutMs: only a scheduler whose stopped() never comes reaches it.
constexpr int kStopGuardExtraMs = 5000;

storage::MeterInfo meterInfo(const polling::MeterConfig &meter)
{
    // Where the meter is, never its password.
    return storage::MeterInfo {
        meter.id, meter.name, meter.host, meter.port, dlms::transportName(meter.transport)};
}

bool sameInfo(const polling::MeterConfig &a, const polling::MeterConfig &b)
{
    return a.name == b.name && a.host == b.host && a.port == b.port && a.transport == b.transport;
}

bool sameDevice(const mqtt::MeterDevice &a, const mqtt::MeterDevice &b)
{
    return a.id == b.id && a.name == b.name && a.deviceType == b.deviceType && a.accessToken == b.accessToken
        && a.attributes == b.attributes;
}

MeterStatus statusOf(const polling::MeterConfig &meter)
{
    MeterStatus status;
    status.id = meter.id;
    status.name = meter.name;
    status.host = meter.host;
    status.port = meter.port;
    status.transport = dlms::transportName(meter.transport);
    return status;
}

QString meterPrefix(size_t index, const QString &id)
{
    return u"meters[%1] (id %2): "_s.arg(index).arg(id);
}

dlms::Error prefixed(const QString &prefix, const dlms::Error &error)
{
    return dlms::makeError(error.code, prefix + error.message);
}

QString idList(const QStringList &ids)
{
    return ids.join(u", "_s);
}

// "a", "a and b", "a, b and c".
QString spokenList(const QStringList &items)
{
    if (items.size() <= 1)
        return items.join(QString());
    return items.mid(0, items.size() - 1).join(u", "_s) + u" and "_s + items.last();
}

// What the MQTT client would refuse at once and for good: a reload checks this before it
// retires the running publisher, and start() before it starts anything.
dlms::Result<void> checkMqttClient(const MqttSettings &settings)
{
    if (const QString problem = mqtt::MqttClient::findOptionsProblem(settings.client); !problem.isEmpty())
        return dlms::makeError(dlms::ErrorCode::InvalidArgument, u"mqtt: "_s + problem);
    return {};
}

// The database's directory, made when missing (the default one under XDG_DATA_HOME is, on a
// first run); the directories made here are private (0700): the database holds meter data.
dlms::Result<void> makeDatabaseDirectory(const QString &databasePath)
{
    const QString directory = QFileInfo(databasePath).absolutePath();
    if (QFileInfo(directory).isDir())
        return {};
    QStringList missing;
    for (QString path = directory; !QFileInfo::exists(path);) {
        missing.prepend(path);
        const QString parent = QFileInfo(path).path();
        if (parent == path)
            break;
        path = parent;
    }
    if (!QDir().mkpath(directory)) {
        return dlms::makeError(dlms::ErrorCode::IoError, u"cannot create the directory "_s + directory);
    }
    for (const QString &path : std::as_const(missing))
        QFile::setPermissions(path, QFileDevice::ReadOwner | QFileDevice::WriteOwner | QFileDevice::ExeOwner);
    return {};
}

} // namespace

QString bridgeStateName(BridgeState state)
{
    switch (state) {
    case BridgeState::Stopped:
        return u"stopped"_s;
    case BridgeState::Running:
        return u"running"_s;
    case BridgeState::Stopping:
        return u"stopping"_s;
    }
    return u"unknown"_s;
}

bool ConfigChanges::isEmpty() const
{
    return metersAdded.isEmpty() && metersRemoved.isEmpty() && metersUpdated.isEmpty() && !workersChanged
        && !mqttRestarted && !httpRestarted && !samplerRestarted && needsRestart.isEmpty();
}

QString ConfigChanges::summary() const
{
    if (isEmpty())
        return u"no changes"_s;
    QStringList parts;
    if (!metersAdded.isEmpty() || !metersRemoved.isEmpty() || !metersUpdated.isEmpty()) {
        parts << u"meters +%1 -%2 ~%3"_s.arg(metersAdded.size())
                     .arg(metersRemoved.size())
                     .arg(metersUpdated.size());
    }
    if (mqttRestarted)
        parts << u"mqtt restarted"_s;
    if (httpRestarted)
        parts << u"http restarted"_s;
    if (samplerRestarted)
        parts << u"sampler restarted"_s;
    if (!needsRestart.isEmpty())
        parts << u"needs a restart: "_s + needsRestart.join(u", "_s);
    return parts.join(u"; "_s);
}

// What the log remembers of a meter, to report trouble and the recovery from it, not routine.
struct MeterLogState {
    bool announced = false; // "associated" logged once
    bool troubled = false; // backing off, circuit open or paused since the last association
};

struct Bridge::Private {
    explicit Private(Bridge *bridge) : q(bridge) { }

    qint64 now() const
    {
        return q->m_options.clock ? q->m_options.clock() : QDateTime::currentMSecsSinceEpoch();
    }

    // Parts.
    void connectStorage();
    void createMonitor(const BridgeConfig &config);
    void createSampler(const BridgeConfig &config);
    dlms::Result<void> startPublisher(const BridgeConfig &config);
    void retirePublisher();
    dlms::Result<void> startHttp(const HttpSettings &settings);
    void connectScheduler();
    // Delivers what the workers already posted (readings, traffic), then drops the rest.
    void dropScheduler();
    // Everything down at once, in dependency order (a failed start, a stop that timed out).
    void teardown();

    // Routing.
    void onReadings(const polling::ReadingsBatch &batch);
    void onMeterState(const QString &id, polling::MeterState state, const QString &reason);
    void onStorageState(storage::StorageState state, const QString &message);
    void onPublisherState(mqtt::PublisherState state, const QString &message);
    void onSamplerError(const QString &message);

    // Stop sequence.
    void onPollingStopped();
    void checkDrained();
    void endDrain(const QString &why);
    void finishStop();

    // Meters on the running parts.
    void meterAdded(const polling::MeterConfig &meter, const BridgeConfig &config, bool announce);
    void meterRemoved(const QString &id, bool announce);
    void setPublisherMeter(const mqtt::MeterDevice &device);
    void removePublisherMeter(const QString &id);
    QString runningLine() const;
    // The configuration's view of a meter with what the last run knows of it.
    MeterStatus statusFor(const polling::MeterConfig &meter) const;

    Bridge *q;
    QObject *run = nullptr; // context of the connections of one run: pending events die with it
    QThread *mqttThread = nullptr;
    mqtt::OutboxPublisher *publisher = nullptr; // lives in mqttThread
    QObject *mqttContext = nullptr; // context of the current publisher's connections
    bool retiring = false; // the publisher's last state changes are not news
    // Why MQTT is off although the configuration wanted it (a reload that could start neither
    // the new settings nor the previous ones again); empty otherwise.
    QString mqttProblem;
    std::unique_ptr<monitor::InterfaceSampler> sampler;
    std::unique_ptr<HttpApi> http;
    QHash<QString, MeterStatus> statuses;
    QHash<QString, MeterLogState> meterLog;
    QSet<QString> samplerErrors;
    bool storageFailing = false;
    QString storageMessage;
    qint64 startedMs = 0;
    qint64 mqttStartedMs = 0; // the current publisher's start: connecting is news only after a while
    bool pollingStopped = false;
    bool pollingCut = false; // this stop did not wait for polling: timed out, or abort()
    bool lastStopComplete = false;
    QTimer *drainTimer = nullptr; // child of run
    QElapsedTimer drainClock;
    QElapsedTimer drainIdleClock; // since the drain last moved
    quint64 drainAcknowledged = 0;
    qint64 drainOutboxRows = -1;
};

void Bridge::Private::connectStorage()
{
    storage::Storage *storage = q->m_storage.get();
    // Queued: the writer thread emits it.
    QObject::connect(storage, &storage::Storage::stateChanged, run,
        [this](storage::StorageState state, const QString &message) { onStorageState(state, message); });
}

void Bridge::Private::createMonitor(const BridgeConfig &config)
{
    monitor::TrafficMonitor::Options options;
    options.rollupPeriodMs = qint64(config.monitor.rollupSeconds) * 1000;
    options.clock = q->m_options.clock;
    options.monotonicClock = q->m_options.monotonicClock;
    q->m_monitor = std::make_unique<monitor::TrafficMonitor>(options);
    QObject::connect(q->m_monitor.get(), &monitor::TrafficMonitor::rollupReady, run,
        [this](const monitor::MinuteRollup &rollup) {
            if (q->m_storage)
                q->m_storage->writeRollup(rollup);
        });
}

void Bridge::Private::createSampler(const BridgeConfig &config)
{
    sampler.reset();
    samplerErrors.clear();
    monitor::InterfaceSampler::Options options;
    options.interfaceName = config.monitor.interfaceName;
    options.clock = q->m_options.clock;
    options.monotonicClock = q->m_options.monotonicClock;
    std::unique_ptr<monitor::InterfaceCounterSource> source = q->m_options.interfaceSource
        ? q->m_options.interfaceSource()
        : monitor::makeDefaultInterfaceSource();
    sampler = std::make_unique<monitor::InterfaceSampler>(options, std::move(source));
    QObject::connect(sampler.get(), &monitor::InterfaceSampler::sampled, run,
        [this](const monitor::InterfaceRates &rates) {
            if (q->m_monitor)
                q->m_monitor->setInterfaceRates(rates);
        });
    QObject::connect(sampler.get(), &monitor::InterfaceSampler::errorOccurred, run,
        [this](const QString &message) { onSamplerError(message); });
    sampler->start();
}

dlms::Result<void> Bridge::Private::startPublisher(const BridgeConfig &config)
{
    mqtt::PublisherOptions options = publisherOptions(config);
    options.clock = q->m_options.clock;
    storage::Storage *storage = q->m_storage.get();
    mqttStartedMs = now();

    mqttThread = new QThread;
    mqttThread->setObjectName(u"mqtt"_s);
    mqttThread->start();
    // Built in its thread rather than moved there: every timer and client it makes has that
    // thread's affinity from the start, members included. Blocking is fine here and below:
    // neither construction nor start() waits for the network.
    auto *anchor = new QObject;
    anchor->moveToThread(mqttThread);
    QObject::connect(mqttThread, &QThread::finished, anchor, &QObject::deleteLater);
    mqtt::OutboxPublisher *created = nullptr;
    QMetaObject::invokeMethod(
        anchor, [&created, &options, storage] { created = new mqtt::OutboxPublisher(options, storage); },
        Qt::BlockingQueuedConnection);
    publisher = created;
    // Deleted in its own thread, after its event loop has ended.
    QObject::connect(mqttThread, &QThread::finished, publisher, &QObject::deleteLater);

    mqttContext = new QObject(run);
    QObject::connect(storage, &storage::Storage::committed, publisher, &mqtt::OutboxPublisher::onCommitted);
    QObject::connect(
        publisher, &mqtt::OutboxPublisher::acknowledged, mqttContext, [this](const monitor::MqttAck &ack) {
            if (q->m_monitor)
                q->m_monitor->addMqttAck(ack);
        });
    QObject::connect(
        publisher, &mqtt::OutboxPublisher::publishFailed, mqttContext, [this](const QString &meterId) {
            if (q->m_monitor)
                q->m_monitor->addPublishFailure(meterId);
        });
    QObject::connect(publisher, &mqtt::OutboxPublisher::outboxStatusChanged, mqttContext,
        [this](const monitor::OutboxStatus &status) {
            if (q->m_monitor)
                q->m_monitor->setOutboxStatus(status);
        });
    QObject::connect(publisher, &mqtt::OutboxPublisher::stateChanged, mqttContext,
        [this](mqtt::PublisherState state, const QString &message) {
            if (!retiring)
                onPublisherState(state, message);
        });

    std::vector<mqtt::MeterDevice> devices;
    devices.reserve(config.site.meters.size());
    for (const polling::MeterConfig &meter : config.site.meters)
        devices.push_back(meterDevice(config, meter));
    dlms::Result<void> started;
    mqtt::OutboxPublisher *target = publisher;
    QMetaObject::invokeMethod(
        publisher,
        [target, &devices, &started] {
            for (const mqtt::MeterDevice &device : devices)
                target->setMeter(device);
            started = target->start();
        },
        Qt::BlockingQueuedConnection);
    if (!started) {
        retirePublisher();
        return prefixed(u"mqtt: "_s, started.error());
    }
    return {};
}

void Bridge::Private::retirePublisher()
{
    if (!publisher)
        return;
    mqtt::OutboxPublisher *target = publisher;
    QMetaObject::invokeMethod(
        publisher, [target] { target->stop(); }, Qt::BlockingQueuedConnection);
    mqttThread->quit();
    // The loop has nothing left to do: this only joins the thread (the publisher is deleted by
    // finished → deleteLater before wait() returns).
    mqttThread->wait();
    delete mqttThread;
    mqttThread = nullptr;
    publisher = nullptr;
    // Everything it emitted is queued here now: its last acknowledgements still count in the
    // monitor (the final rollup comes after this); its state changes are old news.
    retiring = true;
    QCoreApplication::sendPostedEvents(mqttContext, QEvent::MetaCall);
    retiring = false;
    delete mqttContext;
    mqttContext = nullptr;
}

dlms::Result<void> Bridge::Private::startHttp(const HttpSettings &settings)
{
    auto api = std::make_unique<HttpApi>(q, settings, q->m_config.storage.path);
    if (auto listening = api->listen(); !listening)
        return prefixed(u"http: "_s, listening.error());
    http = std::move(api);
    return {};
}

void Bridge::Private::connectScheduler()
{
    polling::PollScheduler *scheduler = q->m_scheduler.get();
    QObject::connect(scheduler, &polling::PollScheduler::readingsReady, run,
        [this](const polling::ReadingsBatch &batch) { onReadings(batch); });
    QObject::connect(scheduler, &polling::PollScheduler::meterStateChanged, run,
        [this](const QString &id, polling::MeterState state, const QString &reason) {
            onMeterState(id, state, reason);
        });
    QObject::connect(
        scheduler, &polling::PollScheduler::trafficReady, run, [this](const polling::TrafficDelta &delta) {
            if (q->m_monitor)
                q->m_monitor->addTraffic(delta);
        });
    QObject::connect(scheduler, &polling::PollScheduler::traceBytes, q, &Bridge::traceBytes);
    // Queued: the last traffic deltas, posted before stopped(), reach the monitor first.
    QObject::connect(
        scheduler, &polling::PollScheduler::stopped, run, [this] { onPollingStopped(); },
        Qt::QueuedConnection);
}

void Bridge::Private::dropScheduler()
{
    if (!q->m_scheduler)
        return;
    // Readings a worker finished before this are stored; without a prior stop() the scheduler
    // then drops its connections (no release) and joins its threads.
    QCoreApplication::sendPostedEvents(q->m_scheduler.get(), QEvent::MetaCall);
    q->m_scheduler.reset();
}

void Bridge::Private::teardown()
{
    http.reset();
    if (sampler)
        sampler->stop();
    sampler.reset();
    dropScheduler();
    retirePublisher();
    q->m_monitor.reset();
    if (q->m_storage)
        q->m_storage->stop();
    q->m_storage.reset();
    delete run;
    run = nullptr;
    drainTimer = nullptr;
    meterLog.clear();
    samplerErrors.clear();
    storageFailing = false;
    storageMessage.clear();
    mqttProblem.clear();
    pollingStopped = false;
    pollingCut = false;
}

void Bridge::Private::onReadings(const polling::ReadingsBatch &batch)
{
    const auto it = statuses.find(batch.meterId);
    if (it == statuses.end())
        return;
    it->lastReadingsMs = batch.timestampMs;
    ++it->batches;
    for (const polling::Reading &reading : batch.readings) {
        if (reading.quality == polling::Quality::Failed)
            ++it->failedValues;
        else
            ++it->values;
    }
    if (q->m_storage)
        q->m_storage->writeReadings(batch);
    Q_EMIT q->readingsReady(batch);
}

void Bridge::Private::onMeterState(const QString &id, polling::MeterState state, const QString &reason)
{
    const auto it = statuses.find(id);
    if (it == statuses.end())
        return;
    const qint64 timestamp = now();
    it->state = state;
    it->reason = reason;
    it->stateSinceMs = timestamp;
    if (q->m_storage) {
        q->m_storage->writeEvent(
            storage::Event {timestamp, id, u"state"_s, polling::meterStateName(state), reason});
    }

    // The routine cycle (connecting, associating, associated again) is not news; trouble and the
    // recovery from it are.
    MeterLogState &log = meterLog[id];
    bool print = false;
    bool warning = false;
    switch (state) {
    case polling::MeterState::BackingOff:
    case polling::MeterState::CircuitOpen:
        warning = true;
        [[fallthrough]];
    case polling::MeterState::Paused:
        print = true;
        log.troubled = true;
        break;
    case polling::MeterState::Associated:
        print = !log.announced || log.troubled;
        log.announced = true;
        log.troubled = false;
        break;
    case polling::MeterState::Disconnected:
        // A per-poll meter is idle between polls every time: routine, except a first failure.
        print = !reason.isEmpty() && q->m_state == BridgeState::Running && !log.announced;
        log.announced = true;
        break;
    default:
        break;
    }
    if (print) {
        QString line = u"meter "_s + id + u": "_s + polling::meterStateName(state);
        if (!reason.isEmpty())
            line += u": "_s + reason;
        if (warning)
            qCWarning(lcBridge).noquote() << line;
        else
            qCInfo(lcBridge).noquote() << line;
    }
    Q_EMIT q->meterStateChanged(id, state, reason);
}

void Bridge::Private::onStorageState(storage::StorageState state, const QString &message)
{
    // The writer logs each distinct failure itself (category dlmsbridge.storage); the bridge
    // adds the recovery, which the writer does not announce.
    if (state == storage::StorageState::Failing) {
        storageFailing = true;
        storageMessage = message;
    } else if (state == storage::StorageState::Ok && storageFailing) {
        storageFailing = false;
        storageMessage.clear();
        qCInfo(lcBridge).noquote() << u"storage: ok"_s;
    }
    Q_EMIT q->storageStateChanged(state, message);
}

void Bridge::Private::onPublisherState(mqtt::PublisherState state, const QString &message)
{
    switch (state) {
    case mqtt::PublisherState::Publishing:
        qCInfo(lcBridge).noquote() << u"mqtt: publishing"_s;
        break;
    case mqtt::PublisherState::Failing:
        qCWarning(lcBridge).noquote() << u"mqtt: failing: "_s + message;
        break;
    case mqtt::PublisherState::Connecting:
        qCInfo(lcBridge).noquote() << u"mqtt: connecting"_s
                + (message.isEmpty() ? QString() : u": "_s + message);
        break;
    case mqtt::PublisherState::Stopped:
        break;
    }
    Q_EMIT q->publisherStateChanged(state, message);
}

void Bridge::Private::onSamplerError(const QString &message)
{
    // Once per distinct message: a missing interface stays missing every second.
    if (samplerErrors.contains(message))
        return;
    samplerErrors.insert(message);
    qCWarning(lcBridge).noquote() << u"monitor: interfaces: "_s + message;
    Q_EMIT q->samplerError(message);
}

void Bridge::Private::onPollingStopped()
{
    if (pollingStopped || q->m_state != BridgeState::Stopping)
        return;
    pollingStopped = true;
    const bool connected = publisher && publisher->status().state == mqtt::PublisherState::Publishing;
    if (!connected || !q->m_storage) {
        finishStop();
        return;
    }
    // The last polls' rows: committed now rather than after commitIntervalMs, then published.
    q->m_storage->flush();
    drainClock.start();
    drainIdleClock.start();
    drainAcknowledged = publisher->status().rowsAcknowledged;
    drainOutboxRows = -1;
    drainTimer = new QTimer(run);
    drainTimer->setInterval(kDrainCheckMs);
    QObject::connect(drainTimer, &QTimer::timeout, run, [this] { checkDrained(); });
    drainTimer->start();
}

void Bridge::Private::checkDrained()
{
    const storage::StorageStatus stored = q->m_storage->status();
    const mqtt::PublisherStatus published = publisher->status();
    if (stored.outbox.rows == 0 && stored.queuedReadings == 0) {
        endDrain({});
        return;
    }
    if (published.state != mqtt::PublisherState::Publishing) {
        endDrain(u"MQTT is not connected"_s);
        return;
    }
    // Progress: a row acknowledged or deleted, or readings still to be written (their rows are
    // yet to come). A rate cap slower than the idle window would look idle between messages.
    const double rate = q->m_config.mqtt.maxMessagesPerSecond;
    const qint64 idleMs = rate > 0 ? std::max(kDrainIdleMs, qint64(3000.0 / rate)) : kDrainIdleMs;
    if (published.rowsAcknowledged != drainAcknowledged || stored.outbox.rows != drainOutboxRows
        || stored.queuedReadings > 0) {
        drainAcknowledged = published.rowsAcknowledged;
        drainOutboxRows = stored.outbox.rows;
        drainIdleClock.restart();
    } else if (drainIdleClock.elapsed() >= idleMs) {
        endDrain(u"nothing more can be published now"_s);
        return;
    }
    if (drainClock.elapsed() >= kDrainTimeoutMs) {
        endDrain(u"the drain was cut after %1 s"_s.arg(kDrainTimeoutMs / 1000));
        return;
    }
    // Acknowledged rows are deleted by the next transaction: do not wait for commitIntervalMs.
    q->m_storage->flush();
}

void Bridge::Private::endDrain(const QString &why)
{
    drainTimer->stop();
    if (!why.isEmpty()) {
        qCInfo(lcBridge).noquote() << u"bridge: stopping: %1 outbox rows wait for the next start: %2"_s
                                          .arg(q->m_storage->status().outbox.rows)
                                          .arg(why);
    }
    finishStop();
}

void Bridge::Private::finishStop()
{
    if (q->m_state == BridgeState::Stopped)
        return;
    if (drainTimer)
        drainTimer->stop();
    // In order: no more readings (what the workers finished is stored); the publisher stopped
    // (rows in flight stay in the outbox) and its last acknowledgements counted; then the
    // monitor's partial rollup, complete now; then the writer drains its queue.
    dropScheduler();
    retirePublisher();
    if (q->m_monitor)
        q->m_monitor->flushRollup();
    bool complete = !pollingCut;
    storage::StorageStatus stored;
    if (q->m_storage) {
        // stop() clears the state's message: keep why it was failing, if it was.
        const QString problem = q->m_storage->status().message;
        const bool written = q->m_storage->stop();
        stored = q->m_storage->status();
        complete = complete && written && stored.droppedReadings == 0;
        if (!written || stored.droppedReadings > 0) {
            qCWarning(lcBridge).noquote()
                << u"storage: not everything could be written (%1 readings dropped)%2"_s
                       .arg(stored.droppedReadings)
                       .arg(problem.isEmpty() ? QString() : u": "_s + problem);
        }
    }
    teardown();
    lastStopComplete = complete;
    // The last counters stay readable until the next start; nothing is connected any more.
    for (MeterStatus &status : statuses) {
        if (status.state != polling::MeterState::Disconnected) {
            status.state = polling::MeterState::Disconnected;
            status.reason.clear();
            status.stateSinceMs = now();
        }
    }
    q->m_state = BridgeState::Stopped;
    qCInfo(lcBridge).noquote() << u"bridge: stopped (%1 readings stored, outbox %2 rows)"_s
                                      .arg(stored.readingsWritten)
                                      .arg(stored.outbox.rows);
    Q_EMIT q->publisherStateChanged(mqtt::PublisherState::Stopped, {});
    Q_EMIT q->storageStateChanged(storage::StorageState::Stopped, {});
    Q_EMIT q->stateChanged(BridgeState::Stopped);
    Q_EMIT q->stopped();
}

void Bridge::Private::meterAdded(const polling::MeterConfig &meter, const BridgeConfig &config, bool announce)
{
    q->m_storage->upsertMeter(meterInfo(meter));
    q->m_monitor->addMeter(meter.id);
    statuses.insert(meter.id, statusOf(meter));
    meterLog.remove(meter.id);
    if (announce)
        setPublisherMeter(meterDevice(config, meter));
}

void Bridge::Private::meterRemoved(const QString &id, bool announce)
{
    q->m_scheduler->removeMeter(id);
    q->m_storage->markMeterRemoved(id);
    q->m_monitor->removeMeter(id);
    if (announce)
        removePublisherMeter(id);
    statuses.remove(id);
    meterLog.remove(id);
}

void Bridge::Private::setPublisherMeter(const mqtt::MeterDevice &device)
{
    if (!publisher)
        return;
    mqtt::OutboxPublisher *target = publisher;
    QMetaObject::invokeMethod(
        publisher, [target, device] { target->setMeter(device); }, Qt::QueuedConnection);
}

void Bridge::Private::removePublisherMeter(const QString &id)
{
    if (!publisher)
        return;
    // Gateway mode: v1/gateway/disconnect for it.
    mqtt::OutboxPublisher *target = publisher;
    QMetaObject::invokeMethod(
        publisher, [target, id] { target->removeMeter(id); }, Qt::QueuedConnection);
}

MeterStatus Bridge::Private::statusFor(const polling::MeterConfig &meter) const
{
    MeterStatus status = statusOf(meter);
    if (const auto it = statuses.constFind(meter.id); it != statuses.constEnd()) {
        status.state = it->state;
        status.reason = it->reason;
        status.stateSinceMs = it->stateSinceMs;
        status.paused = it->paused;
        status.lastReadingsMs = it->lastReadingsMs;
        status.batches = it->batches;
        status.values = it->values;
        status.failedValues = it->failedValues;
    }
    return status;
}

QString Bridge::Private::runningLine() const
{
    const BridgeConfig &config = q->m_config;
    QStringList parts;
    parts << u"%1 meters"_s.arg(config.site.meters.size());
    if (publisher) {
        parts << u"mqtt %1 %2"_s.arg(mqtt::modeName(config.mqtt.format.mode),
            polling::formatEndpoint(config.mqtt.client.host, config.mqtt.client.port));
    } else {
        parts << u"mqtt off"_s;
    }
    if (http)
        parts << u"http "_s + polling::formatEndpoint(http->settings().address, http->port());
    else
        parts << u"http off"_s;
    parts << u"database "_s + config.storage.path;
    return u"bridge: running: "_s + parts.join(u", "_s);
}

Bridge::Bridge(QObject *parent) : Bridge(Options {}, parent) { }

Bridge::Bridge(Options options, QObject *parent)
    : QObject(parent), d(std::make_unique<Private>(this)), m_options(std::move(options))
{
    qRegisterMetaType<app::BridgeState>();
}

Bridge::~Bridge()
{
    // The application may have quit: no nested event loop here, whatever the network does.
    abort();
}

dlms::Result<void> Bridge::start(const BridgeConfig &wanted)
{
    // A copy: the caller may pass config() itself, which this replaces.
    const BridgeConfig config = wanted;
    if (m_state != BridgeState::Stopped) {
        return dlms::makeError(
            dlms::ErrorCode::InvalidArgument, u"bridge: cannot start: "_s + bridgeStateName(m_state));
    }

    // Polling first, not started: a meter the scheduler refuses fails before anything opens.
    polling::PollScheduler::Options schedulerOptions;
    schedulerOptions.workers = m_options.workers >= 0 ? m_options.workers : config.site.workers;
    schedulerOptions.pollTickMs = m_options.pollTickMs;
    schedulerOptions.stopTimeoutMs = m_options.stopTimeoutMs;
    auto scheduler = std::make_unique<polling::PollScheduler>(schedulerOptions);
    for (size_t i = 0; i < config.site.meters.size(); ++i) {
        const polling::MeterConfig &meter = config.site.meters[i];
        if (auto added = scheduler->addMeter(meter); !added) {
            const dlms::Error error = prefixed(meterPrefix(i, meter.id), added.error());
            qCWarning(lcBridge).noquote() << u"bridge: cannot start: "_s + error.message;
            return error;
        }
    }

    if (config.mqtt.enabled) {
        if (auto valid = checkMqttClient(config.mqtt); !valid) {
            qCWarning(lcBridge).noquote() << u"bridge: cannot start: "_s + valid.error().message;
            return valid;
        }
    }

    storage::StorageOptions storageOptions = app::storageOptions(config);
    storageOptions.clock = m_options.clock;
    // Without MQTT nobody would ever take the rows out.
    storageOptions.writeOutbox = config.mqtt.enabled;
    auto opened = makeDatabaseDirectory(storageOptions.path);
    if (opened) {
        m_storage = std::make_unique<storage::Storage>(storageOptions);
        opened = m_storage->start();
    }
    if (!opened) {
        m_storage.reset();
        qCWarning(lcBridge).noquote() << u"bridge: cannot start: storage: "_s + opened.error().message;
        return prefixed(u"storage: "_s, opened.error());
    }

    const BridgeConfig previous = std::exchange(m_config, config);
    d->statuses.clear();
    d->run = new QObject(this);
    d->startedMs = d->now();
    d->connectStorage();
    d->createMonitor(config);
    d->createSampler(config);
    for (const polling::MeterConfig &meter : config.site.meters)
        d->meterAdded(meter, config, false);

    auto fail = [&](const dlms::Error &error) -> dlms::Result<void> {
        qCWarning(lcBridge).noquote() << u"bridge: cannot start: "_s + error.message;
        d->teardown();
        d->statuses.clear();
        m_config = previous;
        return error;
    };
    if (config.mqtt.enabled) {
        if (auto started = d->startPublisher(config); !started)
            return fail(started.error());
    }
    if (config.http.enabled && m_options.serveHttp) {
        if (auto listening = d->startHttp(config.http); !listening)
            return fail(listening.error());
    }

    m_scheduler = std::move(scheduler);
    d->connectScheduler();
    m_scheduler->start();
    m_state = BridgeState::Running;
    qCInfo(lcBridge).noquote() << d->runningLine();
    Q_EMIT stateChanged(m_state);
    return {};
}

void Bridge::stop()
{
    if (m_state != BridgeState::Running)
        return;
    m_state = BridgeState::Stopping;
    qCInfo(lcBridge).noquote() << u"bridge: stopping"_s;
    d->http.reset();
    if (d->sampler)
        d->sampler->stop();
    d->pollingStopped = false;
    // stop() is bounded by stopTimeoutMs; this only guards against a stopped() that never comes.
    QTimer::singleShot(m_options.stopTimeoutMs + kStopGuardExtraMs, d->run, [this] {
        if (!d->pollingStopped) {
            qCWarning(lcBridge).noquote() << u"bridge: polling did not stop in time"_s;
            d->pollingStopped = true;
            d->pollingCut = true;
            d->finishStop();
        }
    });
    m_scheduler->stop();
    // Last: a receiver may call abort() from here.
    Q_EMIT stateChanged(m_state);
}

void Bridge::abort()
{
    if (m_state == BridgeState::Stopped)
        return;
    // A stop whose polling had not finished is cut short: not complete. From Running nothing was
    // asked of the meters yet: dropping the associations loses no reading already made.
    const bool cut = m_state == BridgeState::Stopping && !d->pollingStopped;
    qCWarning(lcBridge).noquote() << (cut
            ? u"bridge: aborting the stop: associations dropped without release"_s
            : u"bridge: aborting: associations dropped without release"_s);
    m_state = BridgeState::Stopping;
    d->http.reset();
    if (d->sampler)
        d->sampler->stop();
    d->pollingStopped = true;
    d->pollingCut = cut;
    d->finishStop();
}

bool Bridge::lastStopComplete() const
{
    return d->lastStopComplete;
}

bool Bridge::stopAndWait(int timeoutMs)
{
    if (m_state == BridgeState::Stopped)
        return true;
    QEventLoop loop;
    connect(this, &Bridge::stopped, &loop, &QEventLoop::quit);
    QTimer::singleShot(timeoutMs, &loop, &QEventLoop::quit);
    stop();
    if (m_state != BridgeState::Stopped)
        loop.exec();
    return m_state == BridgeState::Stopped;
}

dlms::Result<ConfigChanges> Bridge::applyConfig(const BridgeConfig &wanted)
{
    // A copy: the caller may pass config() itself, which this changes as it goes.
    const BridgeConfig config = wanted;
    if (m_state == BridgeState::Stopping) {
        return dlms::makeError(dlms::ErrorCode::InvalidArgument,
            u"bridge: stopping; apply the configuration after it stopped"_s);
    }

    ConfigChanges changes;
    QSet<QString> newIds;
    for (size_t i = 0; i < config.site.meters.size(); ++i) {
        const polling::MeterConfig &meter = config.site.meters[i];
        if (newIds.contains(meter.id)) {
            return dlms::makeError(dlms::ErrorCode::InvalidArgument,
                meterPrefix(i, meter.id) + u"the id is used by another meter"_s);
        }
        newIds.insert(meter.id);
        if (auto valid = polling::PollScheduler::validate(meter); !valid)
            return prefixed(meterPrefix(i, meter.id), valid.error());
    }
    for (const polling::MeterConfig &meter : m_config.site.meters) {
        if (!newIds.contains(meter.id))
            changes.metersRemoved << meter.id;
    }
    for (const polling::MeterConfig &meter : config.site.meters) {
        const polling::MeterConfig *old = m_config.findMeter(meter.id);
        if (!old)
            changes.metersAdded << meter.id;
        else if (!(*old == meter) || m_config.publishingOf(meter.id) != config.publishingOf(meter.id))
            changes.metersUpdated << meter.id;
    }

    if (m_state == BridgeState::Stopped) {
        m_config = config;
        return changes;
    }

    // What needs a restart keeps the value in force.
    BridgeConfig next = config;
    const StorageSettings &oldStorage = m_config.storage;
    const StorageSettings &newStorage = config.storage;
    if (oldStorage.path != newStorage.path)
        changes.needsRestart << u"storage.path"_s;
    if (oldStorage.readingsRetentionDays != newStorage.readingsRetentionDays)
        changes.needsRestart << u"storage.readings_retention_days"_s;
    if (oldStorage.metricsRetentionDays != newStorage.metricsRetentionDays)
        changes.needsRestart << u"storage.metrics_retention_days"_s;
    if (oldStorage.eventsRetentionDays != newStorage.eventsRetentionDays)
        changes.needsRestart << u"storage.events_retention_days"_s;
    if (oldStorage.maxOutboxBytes != newStorage.maxOutboxBytes)
        changes.needsRestart << u"storage.max_outbox_mb"_s;
    if (oldStorage.maxOutboxAgeHours != newStorage.maxOutboxAgeHours)
        changes.needsRestart << u"storage.max_outbox_age_hours"_s;
    next.storage = oldStorage;
    if (config.monitor.rollupSeconds != m_config.monitor.rollupSeconds) {
        changes.needsRestart << u"monitor.rollup_s"_s;
        next.monitor.rollupSeconds = m_config.monitor.rollupSeconds;
    }
    if (config.site.workers != m_config.site.workers && m_options.workers < 0) {
        changes.workersChanged = true;
        changes.needsRestart << u"polling.workers"_s;
        next.site.workers = m_config.site.workers;
    }

    // HTTP first: it is the part that can fail (an address in use), and then nothing changes.
    const bool wantHttp = next.http.enabled && m_options.serveHttp;
    // Without serveHttp nothing listens whatever the settings say: nothing to restart.
    const bool httpChanged
        = (wantHttp || d->http) && (!(next.http == m_config.http) || wantHttp != bool(d->http));
    if (httpChanged) {
        if (!wantHttp) {
            d->http.reset();
        } else {
            std::unique_ptr<HttpApi> old = std::move(d->http);
            // The same fixed address cannot be bound twice: the old one lets go first.
            const bool sameAddress = old && next.http.port != 0
                && old->settings().address == next.http.address && old->port() == next.http.port;
            if (sameAddress)
                old.reset();
            if (auto listening = d->startHttp(next.http); !listening) {
                if (old) {
                    d->http = std::move(old);
                } else if (sameAddress) {
                    if (auto again = d->startHttp(m_config.http); !again)
                        qCWarning(lcBridge).noquote() << u"bridge: reload: "_s + again.error().message;
                }
                qCWarning(lcBridge).noquote() << u"bridge: reload failed: "_s + listening.error().message;
                return listening.error();
            }
        }
        changes.httpRestarted = true;
    }

    // MQTT: what can fail at once is checked before the running publisher goes. A failure keeps
    // the previous settings (or, when even those cannot start again, MQTT off) and the rest of
    // the reload still applies; the error says which is which.
    std::optional<dlms::Error> mqttFailure;
    if (!(next.mqtt == m_config.mqtt)) {
        dlms::Result<void> usable;
        if (next.mqtt.enabled)
            usable = checkMqttClient(next.mqtt);
        if (!usable) {
            mqttFailure = usable.error();
            mqttFailure->message += u"; kept the previous MQTT settings"_s;
        } else {
            // Removed meters leave through the publisher that announced them
            // (v1/gateway/disconnect); a new one is told only of the meters that stay.
            for (const QString &id : std::as_const(changes.metersRemoved))
                d->removePublisherMeter(id);
            d->retirePublisher();
            dlms::Result<void> started;
            if (next.mqtt.enabled)
                started = d->startPublisher(next);
            if (started) {
                changes.mqttRestarted = true;
                d->mqttProblem.clear();
                if (!next.mqtt.enabled)
                    Q_EMIT publisherStateChanged(mqtt::PublisherState::Stopped, {});
            } else {
                mqttFailure = started.error();
                if (!m_config.mqtt.enabled) {
                    mqttFailure->message += u"; kept the previous MQTT settings (off)"_s;
                } else if (auto again = d->startPublisher(m_config); again) {
                    mqttFailure->message += u"; kept the previous MQTT settings"_s;
                } else {
                    // Never off in silence while the configuration in force says on.
                    mqttFailure->message
                        += u"; the previous MQTT settings failed too (%1): MQTT is off"_s.arg(
                            again.error().message);
                    d->mqttProblem = u"mqtt: off: a reload could start neither the new settings nor the "
                                     "previous ones: "_s
                        + again.error().message;
                    Q_EMIT publisherStateChanged(mqtt::PublisherState::Stopped, {});
                }
            }
        }
        if (mqttFailure) {
            next.mqtt = m_config.mqtt;
            next.mqtt.enabled = d->publisher != nullptr;
        }
    }
    if (!next.mqtt.enabled && !mqttFailure)
        d->mqttProblem.clear(); // off on purpose now

    // Meters: only the ones that changed are touched. A new publisher knows them all already.
    const bool announce = !changes.mqttRestarted;
    for (const QString &id : std::as_const(changes.metersRemoved))
        d->meterRemoved(id, announce);
    for (const polling::MeterConfig &meter : next.site.meters) {
        const polling::MeterConfig *old = m_config.findMeter(meter.id);
        if (!old) {
            if (auto added = m_scheduler->addMeter(meter); !added) {
                qCWarning(lcBridge).noquote() << u"bridge: reload: "_s + added.error().message;
                continue;
            }
            d->meterAdded(meter, next, announce);
            continue;
        }
        if (!(*old == meter)) {
            if (auto updated = m_scheduler->updateMeter(meter); !updated)
                qCWarning(lcBridge).noquote() << u"bridge: reload: "_s + updated.error().message;
        }
        if (!sameInfo(*old, meter))
            m_storage->upsertMeter(meterInfo(meter));
        if (const mqtt::MeterDevice device = meterDevice(next, meter);
            announce && !sameDevice(meterDevice(m_config, *old), device))
            d->setPublisherMeter(device);
    }

    if (next.monitor.interfaceName != m_config.monitor.interfaceName) {
        d->createSampler(next);
        changes.samplerRestarted = true;
    }

    // Outbox rows only while a publisher takes them out (from now on; rows there stay).
    m_storage->setWriteOutbox(next.mqtt.enabled);
    m_config = std::move(next);
    if (mqttFailure) {
        QStringList applied;
        if (!changes.metersAdded.isEmpty() || !changes.metersRemoved.isEmpty()
            || !changes.metersUpdated.isEmpty())
            applied << u"meters"_s;
        if (changes.httpRestarted)
            applied << u"http"_s;
        if (changes.samplerRestarted)
            applied << u"monitor.interface"_s;
        dlms::Error error = *mqttFailure;
        error.message += applied.isEmpty() ? u"; nothing else changed"_s
                                           : u"; "_s + spokenList(applied) + u" applied"_s;
        if (!changes.needsRestart.isEmpty())
            error.message += u"; needs a restart: "_s + changes.needsRestart.join(u", "_s);
        qCWarning(lcBridge).noquote() << u"bridge: reload failed: "_s + error.message;
        return error;
    }
    qCInfo(lcBridge).noquote() << u"bridge: reloaded: "_s + changes.summary();
    return changes;
}

dlms::Result<void> Bridge::addMeter(const polling::MeterConfig &meter, const MeterPublishing &publishing)
{
    if (m_state == BridgeState::Stopping)
        return dlms::makeError(dlms::ErrorCode::InvalidArgument, u"bridge: stopping, cannot add a meter"_s);
    if (auto valid = polling::PollScheduler::validate(meter); !valid)
        return valid;
    if (m_config.findMeter(meter.id)) {
        return dlms::makeError(
            dlms::ErrorCode::InvalidArgument, u"meter %1: the id is used by another meter"_s.arg(meter.id));
    }
    if (m_state == BridgeState::Running) {
        if (auto added = m_scheduler->addMeter(meter); !added)
            return added;
    }
    m_config.site.meters.push_back(meter);
    if (publishing == MeterPublishing {})
        m_config.publishing.remove(meter.id);
    else
        m_config.publishing.insert(meter.id, publishing);
    if (m_state == BridgeState::Running) {
        d->meterAdded(meter, m_config, true);
        qCInfo(lcBridge).noquote() << u"bridge: meter %1 added"_s.arg(meter.id);
    }
    return {};
}

dlms::Result<void> Bridge::updateMeter(const polling::MeterConfig &meter, const MeterPublishing &publishing)
{
    if (m_state == BridgeState::Stopping) {
        return dlms::makeError(
            dlms::ErrorCode::InvalidArgument, u"bridge: stopping, cannot change a meter"_s);
    }
    const auto it = std::find_if(m_config.site.meters.begin(), m_config.site.meters.end(),
        [&](const polling::MeterConfig &m) { return m.id == meter.id; });
    if (it == m_config.site.meters.end())
        return dlms::makeError(dlms::ErrorCode::InvalidArgument, u"meter %1: unknown meter"_s.arg(meter.id));
    if (auto valid = polling::PollScheduler::validate(meter); !valid)
        return valid;
    const polling::MeterConfig old = *it;
    const MeterPublishing oldPublishing = m_config.publishingOf(meter.id);
    const mqtt::MeterDevice oldDevice = meterDevice(m_config, old);
    if (m_state == BridgeState::Running && !(old == meter)) {
        if (auto updated = m_scheduler->updateMeter(meter); !updated)
            return updated;
    }
    *it = meter;
    if (publishing == MeterPublishing {})
        m_config.publishing.remove(meter.id);
    else
        m_config.publishing.insert(meter.id, publishing);
    if (m_state != BridgeState::Running)
        return {};
    if (!sameInfo(old, meter))
        m_storage->upsertMeter(meterInfo(meter));
    if (const mqtt::MeterDevice device = meterDevice(m_config, meter); !sameDevice(oldDevice, device))
        d->setPublisherMeter(device);
    if (!(old == meter) || oldPublishing != publishing)
        qCInfo(lcBridge).noquote() << u"bridge: meter %1 updated"_s.arg(meter.id);
    return {};
}

bool Bridge::removeMeter(const QString &id)
{
    if (m_state == BridgeState::Stopping)
        return false;
    const auto it = std::find_if(m_config.site.meters.begin(), m_config.site.meters.end(),
        [&](const polling::MeterConfig &m) { return m.id == id; });
    if (it == m_config.site.meters.end())
        return false;
    m_config.site.meters.erase(it);
    m_config.publishing.remove(id);
    d->statuses.remove(id);
    if (m_state == BridgeState::Running) {
        d->meterRemoved(id, true);
        qCInfo(lcBridge).noquote() << u"bridge: meter %1 removed"_s.arg(id);
    }
    return true;
}

bool Bridge::setPaused(const QString &id, bool paused)
{
    if (m_state != BridgeState::Running || !m_scheduler->setPaused(id, paused))
        return false;
    if (const auto it = d->statuses.find(id); it != d->statuses.end())
        it->paused = paused;
    return true;
}

bool Bridge::setTracing(const QString &id, bool on)
{
    return m_state == BridgeState::Running && m_scheduler->setTracing(id, on);
}

QList<MeterStatus> Bridge::meters() const
{
    QList<MeterStatus> list;
    list.reserve(qsizetype(m_config.site.meters.size()));
    for (const polling::MeterConfig &meter : m_config.site.meters)
        list.append(d->statusFor(meter));
    return list;
}

std::optional<MeterStatus> Bridge::meter(const QString &id) const
{
    if (const polling::MeterConfig *config = m_config.findMeter(id))
        return d->statusFor(*config);
    return std::nullopt;
}

BridgeHealth Bridge::health() const
{
    BridgeHealth health;
    health.state = m_state;
    health.startedMs = m_state == BridgeState::Stopped ? 0 : d->startedMs;
    QStringList failing;
    const QList<MeterStatus> all = meters();
    for (const MeterStatus &status : all) {
        ++health.meters;
        if (status.state == polling::MeterState::Associated || status.state == polling::MeterState::Polling)
            ++health.metersAssociated;
        if (status.state == polling::MeterState::BackingOff
            || status.state == polling::MeterState::CircuitOpen) {
            ++health.metersFailing;
            failing << status.id;
        }
    }
    if (m_storage)
        health.storage = m_storage->status();
    health.mqttEnabled = m_config.mqtt.enabled;
    if (d->publisher)
        health.mqtt = d->publisher->status();

    if (m_state != BridgeState::Running)
        health.problems << u"bridge: "_s + bridgeStateName(m_state);
    if (!d->mqttProblem.isEmpty())
        health.problems << d->mqttProblem;
    if (health.storage.state == storage::StorageState::Failing)
        health.problems << u"storage: failing: "_s + health.storage.message;
    // Without MQTT nobody drains the outbox: its bounds dropping rows is expected then.
    if (health.storage.outboxDroppedRows > 0 && health.mqttEnabled) {
        health.problems << u"storage: %1 outbox rows dropped unpublished (outbox bounds)"_s.arg(
            health.storage.outboxDroppedRows);
    }
    if (m_state == BridgeState::Running && health.mqttEnabled) {
        const QString &message = health.mqtt.message;
        if (health.mqtt.state == mqtt::PublisherState::Failing) {
            health.problems << u"mqtt: failing: "_s + message;
        } else if (health.mqtt.state == mqtt::PublisherState::Connecting
            && d->now() - d->mqttStartedMs > kConnectGraceMs) {
            health.problems << (message.startsWith(u"connecting"_s) ? u"mqtt: "_s + message
                                                                    : u"mqtt: connecting: "_s + message);
        } else if (health.mqtt.state == mqtt::PublisherState::Stopped) {
            health.problems << u"mqtt: stopped"_s;
        }
    }
    if (!failing.isEmpty()) {
        health.problems
            << u"%1 of %2 meters failing: %3"_s.arg(failing.size()).arg(health.meters).arg(idList(failing));
    }
    return health;
}

quint16 Bridge::httpPort() const
{
    return d->http ? d->http->port() : 0;
}

} // namespace app
