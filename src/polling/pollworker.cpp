#include "pollworker.h"

#include "metersession.h"
#include "pollscheduler.h"

#include <QtCore/QDateTime>
#include <QtCore/QTimer>

#include <algorithm>
#include <climits>
#include <cmath>

namespace polling {

PollWorker::PollWorker(Settings settings, PollScheduler *scheduler)
    : m_settings(settings), m_scheduler(scheduler), m_pollTimer(new QTimer(this)),
      m_trafficTimer(new QTimer(this)), m_stopTimer(new QTimer(this))
{
    m_pollTimer->setSingleShot(true);
    // A coarse timer may fire up to 5 % early; polls must never come before they are due.
    m_pollTimer->setTimerType(Qt::PreciseTimer);
    connect(m_pollTimer, &QTimer::timeout, this, &PollWorker::onTimer);
    connect(m_trafficTimer, &QTimer::timeout, this, &PollWorker::emitDelta);
    m_stopTimer->setSingleShot(true);
    connect(m_stopTimer, &QTimer::timeout, this, &PollWorker::finishStop);
}

PollWorker::~PollWorker()
{
    // Before ~QObject deletes them as children: their signals must not reach a half-destroyed us.
    for (Meter &m : m_meters) {
        if (!m.session)
            continue;
        m.session->disconnect(this);
        delete std::exchange(m.session, nullptr);
    }
}

qint64 PollWorker::nextSlotNs(qint64 nowNs, qint64 epochNs, qint64 intervalNs, double phase)
{
    if (intervalNs <= 0)
        return nowNs;
    const qint64 offset
        = epochNs + std::clamp<qint64>(std::llround(phase * double(intervalNs)), 0, intervalNs - 1);
    const qint64 distance = nowNs - offset;
    // Ceiling division that also holds for a grid origin in the future (distance < 0).
    const qint64 steps
        = distance > 0 ? (distance + intervalNs - 1) / intervalNs : -((-distance) / intervalNs);
    return offset + steps * intervalNs;
}

PollWorker::CatchUp PollWorker::catchUp(qint64 nowNs, qint64 dueNs, qint64 intervalNs)
{
    const qint64 behind = nowNs - dueNs;
    if (intervalNs <= 0 || behind < intervalNs)
        return {dueNs, 0};
    const qint64 missed = behind / intervalNs;
    return {dueNs + missed * intervalNs, missed};
}

PollWorker::Meter *PollWorker::find(const QString &id)
{
    const auto it = m_index.constFind(id);
    return it == m_index.constEnd() ? nullptr : &m_meters[size_t(*it)];
}

int PollWorker::allocate()
{
    if (!m_free.empty()) {
        const int index = m_free.back();
        m_free.pop_back();
        return index;
    }
    m_meters.emplace_back();
    return int(m_meters.size() - 1);
}

void PollWorker::start()
{
    if (m_started)
        return;
    m_started = true;
    m_periodStartMs = QDateTime::currentMSecsSinceEpoch();
    m_trafficTimer->start(std::max(1, m_settings.trafficIntervalMs));
}

void PollWorker::addMeter(
    const MeterConfig &config, double phase, quint32 seed, bool paused, bool tracing, quint64 incarnation)
{
    if (m_stopping || m_index.contains(config.id))
        return;
    const int index = allocate();
    auto *session = new MeterSession(config, seed, this);
    Meter &m = m_meters[size_t(index)];
    m.session = session;
    m.id = config.id;
    m.incarnation = incarnation;
    m.intervalNs = qint64(config.pollIntervalMs) * 1000000;
    m.phase = phase;
    m.paused = paused;
    m.releasing = false;
    m.removed = false;
    m.stateForwarded = false;
    m.forwardedReason.clear();
    m.extra = {};
    m.extraPending = false;
    m_index.insert(config.id, index);
    ++m_sessions;

    // Straight to the scheduler's thread: no hop through this worker's event queue.
    connect(session, &MeterSession::readingsReady, m_scheduler,
        [scheduler = m_scheduler, incarnation](
            const ReadingsBatch &batch) { scheduler->deliverReadings(incarnation, batch); });
    connect(session, &MeterSession::stateChanged, this,
        [this, index](MeterState state, const QString &reason) { forwardState(index, state, reason); });
    connect(
        session, &MeterSession::stopped, this, [this, index, session] { onSessionStopped(index, session); });
    if (tracing)
        setTracing(config.id, true);

    if (paused) {
        session->setPaused(true);
        return;
    }
    session->start();
    scheduleNext(index);
}

void PollWorker::removeMeter(const QString &id)
{
    const auto it = m_index.constFind(id);
    if (it == m_index.constEnd())
        return;
    const int index = *it;
    m_index.erase(it);
    Meter &m = m_meters[size_t(index)];
    m.releasing = true;
    m.removed = true;
    ++m.generation;
    // The scheduler no longer knows this incarnation and would drop the rest anyway.
    m.session->disconnect(m_scheduler);
    m.trace = {};
    m.session->stop(); // may emit stopped() at once
}

void PollWorker::updateMeter(const MeterConfig &config)
{
    Meter *m = find(config.id);
    if (!m)
        return;
    m->session->reconfigure(config);
    const qint64 intervalNs = qint64(config.pollIntervalMs) * 1000000;
    if (intervalNs == m->intervalNs)
        return;
    m->intervalNs = intervalNs;
    if (!m->paused)
        scheduleNext(int(m - m_meters.data()));
}

void PollWorker::setPaused(const QString &id, bool paused)
{
    Meter *m = find(id);
    if (!m || m->paused == paused)
        return;
    m->paused = paused;
    const int index = int(m - m_meters.data());
    if (paused) {
        ++m->generation; // a paused meter costs the heap nothing
        m->session->setPaused(true);
        return;
    }
    m->session->setPaused(false);
    scheduleNext(index);
}

void PollWorker::setTracing(const QString &id, bool on)
{
    Meter *m = find(id);
    if (!m || bool(m->trace) == on)
        return;
    if (on) {
        m->trace = connect(m->session, &MeterSession::traceBytes, m_scheduler,
            [scheduler = m_scheduler, id, incarnation = m->incarnation](
                dlms::Direction direction, const QByteArray &bytes, qint64 timestampMs) {
                scheduler->deliverTrace(id, incarnation, direction, bytes, timestampMs);
            });
    } else {
        disconnect(m->trace);
        m->trace = {};
    }
    m->session->setTracing(on);
}

void PollWorker::schedule(int meter, qint64 dueNs)
{
    m_heap.push_back(Due {dueNs, m_meters[size_t(meter)].generation, meter});
    std::push_heap(m_heap.begin(), m_heap.end());
}

void PollWorker::scheduleNext(int meter)
{
    if (!m_started || m_stopping)
        return;
    Meter &m = m_meters[size_t(meter)];
    ++m.generation;
    schedule(meter, nextSlotNs(steadyNowNs(), m_settings.epochNs, m.intervalNs, m.phase));
    armTimer();
}

qint64 PollWorker::tickAlignedNs(qint64 dueNs, qint64 epochNs, qint64 tickNs)
{
    if (tickNs <= 0)
        return dueNs;
    const qint64 offset = dueNs - epochNs;
    // Rounded up (towards the future for offsets before the epoch too): never before dueNs.
    const qint64 ticks = offset >= 0 ? (offset + tickNs - 1) / tickNs : -((-offset) / tickNs);
    return epochNs + ticks * tickNs;
}

void PollWorker::armTimer()
{
    if (m_heap.empty() || m_stopping) {
        m_pollTimer->stop();
        return;
    }
    qint64 dueNs = m_heap.front().dueNs;
    // Polls due within one tick share one wake-up, so their requests leave together and their
    // answers arrive together: the thread wakes (and polls every socket it watches) a few
    // hundred times a second instead of once per meter. Rounded up, so nothing fires early.
    dueNs = tickAlignedNs(dueNs, m_settings.epochNs, qint64(m_settings.tickMs) * 1000000);
    if (m_pollTimer->isActive() && m_armedDueNs <= dueNs)
        return;
    const qint64 waitNs = std::max<qint64>(0, dueNs - steadyNowNs());
    // Rounded up: the timer has millisecond granularity and must not fire before the due time.
    const qint64 waitMs = std::min<qint64>((waitNs + 999999) / 1000000, INT_MAX);
    m_armedDueNs = dueNs;
    m_pollTimer->start(int(waitMs));
}

void PollWorker::onTimer()
{
    const qint64 now = steadyNowNs();
    while (!m_heap.empty() && m_heap.front().dueNs <= now) {
        std::pop_heap(m_heap.begin(), m_heap.end());
        const Due due = m_heap.back();
        m_heap.pop_back();
        Meter &m = m_meters[size_t(due.meter)];
        if (!m.session || m.releasing || m.paused || due.generation != m.generation)
            continue; // stale: removed, paused or rescheduled since it was pushed
        const CatchUp slot = catchUp(now, due.dueNs, m.intervalNs);
        if (slot.missed > 0) {
            m.extra.pollsAttempted += quint64(slot.missed);
            m.extra.pollsSkipped += quint64(slot.missed);
            m.extraPending = true;
        }
        schedule(due.meter, slot.dueNs + m.intervalNs);
        m.session->poll(slot.dueNs);
    }
    armTimer();
}

void PollWorker::onSessionStopped(int meter, MeterSession *session)
{
    if (meter < 0 || size_t(meter) >= m_meters.size() || m_meters[size_t(meter)].session != session)
        return;
    retire(meter);
    session->deleteLater(); // we are inside its stopped() signal
    if (m_stopping && m_sessions == 0 && !m_finishQueued) {
        m_finishQueued = true;
        QMetaObject::invokeMethod(this, &PollWorker::finishStop, Qt::QueuedConnection);
    }
}

void PollWorker::forwardState(int meter, MeterState state, const QString &reason)
{
    Meter &m = m_meters[size_t(meter)];
    // Polling, and a state repeated with its reason (Associated after each routine poll), are
    // left out: at thousands of meters they would be most of the queued events, and tell nothing.
    if (m.removed || state == MeterState::Polling)
        return;
    if (m.stateForwarded && state == m.forwardedState && reason == m.forwardedReason)
        return;
    m.stateForwarded = true;
    m.forwardedState = state;
    m.forwardedReason = reason;
    QMetaObject::invokeMethod(
        m_scheduler,
        [scheduler = m_scheduler, id = m.id, incarnation = m.incarnation, state, reason] {
            scheduler->deliverState(id, incarnation, state, reason);
        },
        Qt::QueuedConnection);
}

void PollWorker::retire(int meter)
{
    Meter &m = m_meters[size_t(meter)];
    MeterSession *session = m.session;
    if (session->hasTraffic() || m.extraPending) {
        Retired last;
        last.id = m.id;
        session->takeTraffic(last.counters, last.rttUs, last.latencyUs);
        last.counters += m.extra;
        m_retired.push_back(std::move(last));
    }
    session->disconnect(this);
    if (m_index.value(m.id, -1) == meter)
        m_index.remove(m.id);
    disconnect(m.trace);
    const quint32 generation = m.generation + 1; // never reuse a generation of this slot
    m = Meter {};
    m.generation = generation;
    m_free.push_back(meter);
    --m_sessions;
}

void PollWorker::stop()
{
    if (m_stopping)
        return;
    m_stopping = true;
    m_pollTimer->stop();
    m_trafficTimer->stop();
    m_heap.clear();
    m_stopTimer->start(std::max(0, m_settings.stopTimeoutMs));
    for (size_t i = 0; i < m_meters.size(); ++i) {
        Meter &m = m_meters[i];
        if (!m.session || m.releasing)
            continue;
        m.releasing = true;
        m.session->stop(); // may emit stopped() at once, retiring the slot
    }
    if (m_sessions == 0 && !m_finishQueued) {
        m_finishQueued = true;
        QMetaObject::invokeMethod(this, &PollWorker::finishStop, Qt::QueuedConnection);
    }
}

void PollWorker::finishStop()
{
    if (m_finished)
        return;
    m_finished = true;
    m_stopTimer->stop();
    // Sessions still releasing after stopTimeoutMs: their sockets are dropped now.
    for (size_t i = 0; i < m_meters.size(); ++i) {
        if (MeterSession *session = m_meters[i].session) {
            retire(int(i));
            delete session;
        }
    }
    emitDelta();
    Q_EMIT stopped();
}

void PollWorker::emitDelta()
{
    TrafficDelta delta;
    delta.worker = m_settings.index;
    delta.periodStartMs = m_periodStartMs;
    delta.periodEndMs = QDateTime::currentMSecsSinceEpoch();
    m_periodStartMs = delta.periodEndMs;
    delta.meters.reserve(m_lastDeltaMeters + m_retired.size());

    for (Retired &last : m_retired) {
        MeterTraffic traffic;
        traffic.meterId = std::move(last.id);
        traffic.counters = last.counters;
        traffic.rttBegin = quint32(delta.rttUs.size());
        traffic.rttCount = quint32(last.rttUs.size());
        traffic.latencyBegin = quint32(delta.pollLatencyUs.size());
        traffic.latencyCount = quint32(last.latencyUs.size());
        delta.rttUs.insert(delta.rttUs.end(), last.rttUs.begin(), last.rttUs.end());
        delta.pollLatencyUs.insert(delta.pollLatencyUs.end(), last.latencyUs.begin(), last.latencyUs.end());
        delta.meters.push_back(std::move(traffic));
    }
    m_retired.clear();

    for (Meter &m : m_meters) {
        if (!m.session || (!m.extraPending && !m.session->hasTraffic()))
            continue;
        MeterTraffic traffic;
        traffic.meterId = m.id;
        traffic.rttBegin = quint32(delta.rttUs.size());
        traffic.latencyBegin = quint32(delta.pollLatencyUs.size());
        m.session->takeTraffic(traffic.counters, delta.rttUs, delta.pollLatencyUs);
        if (m.extraPending) {
            traffic.counters += m.extra;
            m.extra = {};
            m.extraPending = false;
        }
        traffic.rttCount = quint32(delta.rttUs.size()) - traffic.rttBegin;
        traffic.latencyCount = quint32(delta.pollLatencyUs.size()) - traffic.latencyBegin;
        delta.meters.push_back(std::move(traffic));
    }
    m_lastDeltaMeters = delta.meters.size();
    Q_EMIT trafficReady(delta);
}

} // namespace polling
