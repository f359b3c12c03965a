#include "pollscheduler.h"

#include "metersession.h"
#include "pollworker.h"

#include <QtCore/QRandomGenerator>
#include <QtCore/QThread>

#include <algorithm>

using namespace Qt::StringLiterals;

namespace polling {

namespace {

void registerMetaTypes()
{
    static const bool registered = [] {
        qRegisterMetaType<polling::MeterState>();
        qRegisterMetaType<polling::ReadingsBatch>();
        qRegisterMetaType<polling::TrafficDelta>();
        qRegisterMetaType<dlms::Direction>();
        return true;
    }();
    Q_UNUSED(registered);
}

dlms::Error invalid(const MeterConfig &config, const QString &problem)
{
    const QString who = !config.id.isEmpty() ? config.id
        : !config.name.isEmpty()             ? config.name
                                             : config.endpoint();
    return dlms::makeError(dlms::ErrorCode::InvalidArgument, u"meter \"%1\": %2"_s.arg(who, problem));
}

} // namespace

PollScheduler::PollScheduler(Options options, QObject *parent)
    : QObject(parent), m_options(options), m_epochNs(steadyNowNs())
{
    registerMetaTypes();
    m_workerCount = m_options.workers > 0 ? m_options.workers : std::max(1, QThread::idealThreadCount());
    m_workerLoad.assign(size_t(m_workerCount), 0);
}

PollScheduler::~PollScheduler()
{
    // Quitting a worker's loop deletes the worker (finished → deleteLater) and with it its
    // sessions, which drop their sockets: no release, but nothing left behind.
    for (QThread *thread : m_threads) {
        thread->disconnect(this);
        thread->quit();
    }
    for (QThread *thread : m_threads) {
        thread->wait();
        delete thread;
    }
}

int PollScheduler::workerCount() const
{
    return m_workerCount;
}

double PollScheduler::phaseOf(quint64 slot)
{
    // frac(slot × (√5 − 1)/2) in 64-bit fixed point: exact for any slot, evenly spread for any
    // number of meters (each new one lands in the largest gap left).
    const quint64 fraction = slot * 0x9E3779B97F4A7C15ull;
    return double(fraction >> 11) * 0x1.0p-53;
}

void PollScheduler::start()
{
    if (m_runState == RunState::Running)
        return;
    if (m_runState == RunState::Stopping) {
        qWarning("PollScheduler::start() ignored: the previous stop() has not finished");
        return;
    }
    m_threadsFinished = 0;
    for (int i = 0; i < m_workerCount; ++i) {
        auto *thread = new QThread(this);
        thread->setObjectName(u"poll-%1"_s.arg(i));
        PollWorker::Settings settings;
        settings.index = i;
        settings.trafficIntervalMs = m_options.trafficIntervalMs;
        settings.stopTimeoutMs = m_options.stopTimeoutMs;
        settings.epochNs = m_epochNs;
        settings.tickMs = m_options.pollTickMs;
        auto *worker = new PollWorker(settings, this);
        worker->moveToThread(thread);
        connect(thread, &QThread::finished, worker, &QObject::deleteLater);
        connect(thread, &QThread::finished, this, &PollScheduler::onThreadFinished);
        connect(worker, &PollWorker::trafficReady, this, &PollScheduler::trafficReady);
        // quit() is thread-safe: end the loop right after the worker's last delta.
        connect(worker, &PollWorker::stopped, thread, &QThread::quit, Qt::DirectConnection);
        m_threads.push_back(thread);
        m_workers.push_back(worker);
        thread->start();
        QMetaObject::invokeMethod(
            worker, [worker] { worker->start(); }, Qt::QueuedConnection);
    }
    m_runState = RunState::Running;
    m_running = true;
    for (const QString &id : std::as_const(m_order))
        sendToWorker(m_meters[id]);
}

void PollScheduler::stop()
{
    switch (m_runState) {
    case RunState::Idle:
        // Nothing runs; callers waiting for stopped() still get it, as always, later.
        QMetaObject::invokeMethod(
            this, [this] { Q_EMIT stopped(); }, Qt::QueuedConnection);
        return;
    case RunState::Stopping:
        return;
    case RunState::Running:
        break;
    }
    m_runState = RunState::Stopping;
    m_running = false;
    // Workers delete themselves once their thread ends: nothing may be posted to them after this.
    for (PollWorker *worker : std::exchange(m_workers, {}))
        QMetaObject::invokeMethod(
            worker, [worker] { worker->stop(); }, Qt::QueuedConnection);
}

void PollScheduler::onThreadFinished()
{
    if (++m_threadsFinished < int(m_threads.size()))
        return;
    // finished() comes just before the thread really ends; QThread's destructor waits for that.
    for (QThread *thread : std::exchange(m_threads, {}))
        thread->deleteLater();
    m_runState = RunState::Idle;
    m_running = false;
    Q_EMIT stopped();
}

void PollScheduler::sendToWorker(const MeterEntry &entry)
{
    if (m_runState != RunState::Running)
        return;
    PollWorker *worker = m_workers[size_t(entry.worker)];
    QMetaObject::invokeMethod(
        worker,
        [worker, config = entry.config, phase = phaseOf(entry.slot), seed = entry.seed, paused = entry.paused,
            tracing = entry.tracing, incarnation = entry.incarnation] {
            worker->addMeter(config, phase, seed, paused, tracing, incarnation);
        },
        Qt::QueuedConnection);
}

dlms::Result<void> PollScheduler::addMeter(const MeterConfig &config)
{
    if (auto valid = validate(config); !valid)
        return valid;
    if (m_meters.contains(config.id))
        return invalid(config, u"id already in use"_s);
    MeterEntry entry;
    entry.config = config;
    entry.incarnation = ++m_lastIncarnation;
    entry.worker = int(std::min_element(m_workerLoad.begin(), m_workerLoad.end()) - m_workerLoad.begin());
    entry.slot = m_nextSlot++;
    // Distinct per meter, reproducible with a fixed Options::seed.
    entry.seed = m_options.seed != 0 ? m_options.seed + quint32(entry.slot) * 0x9E3779B9u
                                     : QRandomGenerator::global()->generate();
    ++m_workerLoad[size_t(entry.worker)];
    m_order.append(config.id);
    sendToWorker(*m_meters.insert(config.id, std::move(entry)));
    return {};
}

bool PollScheduler::removeMeter(const QString &id)
{
    const auto it = m_meters.find(id);
    if (it == m_meters.end())
        return false;
    const int workerIndex = it->worker;
    --m_workerLoad[size_t(workerIndex)];
    m_meters.erase(it);
    m_order.removeOne(id);
    if (m_runState == RunState::Running) {
        PollWorker *worker = m_workers[size_t(workerIndex)];
        QMetaObject::invokeMethod(
            worker, [worker, id] { worker->removeMeter(id); }, Qt::QueuedConnection);
    }
    return true;
}

dlms::Result<void> PollScheduler::updateMeter(const MeterConfig &config)
{
    if (auto valid = validate(config); !valid)
        return valid;
    const auto it = m_meters.find(config.id);
    if (it == m_meters.end())
        return invalid(config, u"no such meter"_s);
    it->config = config;
    if (m_runState == RunState::Running) {
        PollWorker *worker = m_workers[size_t(it->worker)];
        QMetaObject::invokeMethod(
            worker, [worker, config] { worker->updateMeter(config); }, Qt::QueuedConnection);
    }
    return {};
}

bool PollScheduler::setPaused(const QString &id, bool paused)
{
    const auto it = m_meters.find(id);
    if (it == m_meters.end())
        return false;
    it->paused = paused;
    if (m_runState == RunState::Running) {
        PollWorker *worker = m_workers[size_t(it->worker)];
        QMetaObject::invokeMethod(
            worker, [worker, id, paused] { worker->setPaused(id, paused); }, Qt::QueuedConnection);
    }
    return true;
}

bool PollScheduler::setTracing(const QString &id, bool on)
{
    const auto it = m_meters.find(id);
    if (it == m_meters.end())
        return false;
    it->tracing = on;
    if (m_runState == RunState::Running) {
        PollWorker *worker = m_workers[size_t(it->worker)];
        QMetaObject::invokeMethod(
            worker, [worker, id, on] { worker->setTracing(id, on); }, Qt::QueuedConnection);
    }
    return true;
}

QStringList PollScheduler::meterIds() const
{
    return m_order;
}

std::optional<MeterConfig> PollScheduler::meterConfig(const QString &id) const
{
    const auto it = m_meters.constFind(id);
    if (it == m_meters.constEnd())
        return std::nullopt;
    return it->config;
}

int PollScheduler::workerOf(const QString &id) const
{
    const auto it = m_meters.constFind(id);
    return it == m_meters.constEnd() ? -1 : it->worker;
}

bool PollScheduler::isCurrent(const QString &id, quint64 incarnation) const
{
    const auto it = m_meters.constFind(id);
    return it != m_meters.constEnd() && it->incarnation == incarnation;
}

void PollScheduler::deliverReadings(quint64 incarnation, const ReadingsBatch &batch)
{
    if (isCurrent(batch.meterId, incarnation))
        Q_EMIT readingsReady(batch);
}

void PollScheduler::deliverState(
    const QString &id, quint64 incarnation, MeterState state, const QString &reason)
{
    if (isCurrent(id, incarnation))
        Q_EMIT meterStateChanged(id, state, reason);
}

void PollScheduler::deliverTrace(const QString &id, quint64 incarnation, dlms::Direction direction,
    const QByteArray &bytes, qint64 timestampMs)
{
    if (isCurrent(id, incarnation))
        Q_EMIT traceBytes(id, direction, bytes, timestampMs);
}

dlms::Result<void> PollScheduler::validate(const MeterConfig &config)
{
    return validateMeterConfig(config);
}

} // namespace polling
