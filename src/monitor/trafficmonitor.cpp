#include "trafficmonitor.h"

#include <QtCore/QDateTime>
#include <QtCore/QLoggingCategory>
#include <QtCore/QTimer>

#include <algorithm>
#include <cmath>
#include <limits>

namespace monitor {

void registerMonitorMetaTypes(); // monitortypes.cpp

namespace {

// File-local, so the sampler's file can define the same category without a clash at link time.
Q_LOGGING_CATEGORY(lcMonitor, "dlmsbridge.monitor")

// RTT samples kept per meter per rollup period for its p95 (reservoir sampling beyond that).
constexpr std::size_t kPeriodRttCap = 2048;
// The total's p95 looks at more recent samples than one meter's.
constexpr int kTotalRttSamples = 4096;
constexpr quint64 kReservoirSeed = 0x9E3779B97F4A7C15ULL;

qint64 floorTo(qint64 t, qint64 step)
{
    qint64 q = t / step;
    if (t % step != 0 && t < 0)
        --q;
    return q * step;
}

quint32 clamp32(quint64 v)
{
    return quint32(std::min<quint64>(v, std::numeric_limits<quint32>::max()));
}

quint32 roundClamp32(double v)
{
    if (!(v > 0))
        return 0;
    if (v >= double(std::numeric_limits<quint32>::max()))
        return std::numeric_limits<quint32>::max();
    return quint32(std::llround(v));
}

// Nearest-rank percentile: the smallest sample with at least 95 % of the samples at or below
// it (1..100 → 95). Reorders the vector.
quint32 percentile95(std::vector<quint32> &samples)
{
    if (samples.empty())
        return 0;
    const std::size_t n = samples.size();
    const std::size_t rank = (95 * n + 99) / 100; // ceil(0.95 n), 1-based
    const auto nth = samples.begin() + std::ptrdiff_t(rank - 1);
    std::nth_element(samples.begin(), nth, samples.end());
    return *nth;
}

double ratio(double num, double den)
{
    return den > 0 ? num / den : 0;
}

SecondSample sampleOf(const auto &accumulator)
{
    return {clamp32(accumulator.txBytes), clamp32(accumulator.rxBytes), clamp32(accumulator.txPackets),
        clamp32(accumulator.rxPackets)};
}

Rates ratesOf(const SecondSample &s, double seconds)
{
    if (!(seconds > 0))
        return {};
    return {double(s.txBytes) * 8 / seconds, double(s.rxBytes) * 8 / seconds, double(s.txPackets) / seconds,
        double(s.rxPackets) / seconds};
}

void raise(Rates &peak, const Rates &r)
{
    peak.txBps = std::max(peak.txBps, r.txBps);
    peak.rxBps = std::max(peak.rxBps, r.rxBps);
    peak.txPps = std::max(peak.txPps, r.txPps);
    peak.rxPps = std::max(peak.rxPps, r.rxPps);
}

} // namespace

TrafficMonitor::TrafficMonitor(Options options, QObject *parent)
    : QObject(parent), m_options(std::move(options)), m_random(kReservoirSeed)
{
    registerMonitorMetaTypes();
    m_options.windowSeconds = std::max(1, m_options.windowSeconds);
    m_options.tickMs = std::max(1, m_options.tickMs);
    m_options.rollupPeriodMs = std::max<qint64>(1000, m_options.rollupPeriodMs);
    m_options.rttSamplesPerMeter = std::max(1, m_options.rttSamplesPerMeter);

    m_ticks = HistoryRing<TickInfo>(std::size_t(m_options.windowSeconds));
    m_steady.start();
    m_startMs = now();
    m_lastTickMono = monotonicNow();
    m_periodStartMono = m_lastTickMono;
    m_periodStartMs = m_startMs;
    m_periodEndMs = floorTo(m_startMs, m_options.rollupPeriodMs) + m_options.rollupPeriodMs;
    m_total = std::make_unique<MeterEntry>();
    initEntry(*m_total, SystemMeterId, m_startMs);
    m_total->rtt
        = HistoryRing<quint32>(std::size_t(std::max(kTotalRttSamples, m_options.rttSamplesPerMeter)));
    m_scratch.reserve(m_total->rtt.capacity());

    if (m_options.autoTick) {
        m_timer = new QTimer(this);
        m_timer->setInterval(m_options.tickMs);
        connect(m_timer, &QTimer::timeout, this, &TrafficMonitor::tick);
        m_timer->start();
    }
}

TrafficMonitor::~TrafficMonitor() = default;

qint64 TrafficMonitor::now() const
{
    return m_options.clock ? m_options.clock() : QDateTime::currentMSecsSinceEpoch();
}

qint64 TrafficMonitor::monotonicNow() const
{
    return m_options.monotonicClock ? m_options.monotonicClock() : m_steady.elapsed();
}

void TrafficMonitor::initEntry(MeterEntry &entry, const QString &meterId, qint64 nowMs) const
{
    entry.id = meterId;
    entry.history = HistoryRing<SecondSample>(std::size_t(m_options.windowSeconds));
    entry.rtt = HistoryRing<quint32>(std::size_t(m_options.rttSamplesPerMeter));
    entry.firstSeenMs = nowMs;
}

TrafficMonitor::MeterEntry *TrafficMonitor::find(const QString &meterId)
{
    const auto it = m_index.constFind(meterId);
    return it == m_index.cend() ? nullptr : m_meters[std::size_t(*it)].get();
}

const TrafficMonitor::MeterEntry *TrafficMonitor::find(const QString &meterId) const
{
    const auto it = m_index.constFind(meterId);
    return it == m_index.cend() ? nullptr : m_meters[std::size_t(*it)].get();
}

TrafficMonitor::MeterEntry *TrafficMonitor::entryFor(const QString &meterId)
{
    if (MeterEntry *entry = find(meterId))
        return entry;
    // The system row's id and an empty id would collide with the total.
    if (meterId.isEmpty() || meterId == SystemMeterId) {
        qCWarning(lcMonitor) << "traffic for an invalid meter id ignored:" << meterId;
        return nullptr;
    }
    auto entry = std::make_unique<MeterEntry>();
    initEntry(*entry, meterId, now());
    adoptRetiredPeriod(*entry);
    const int index = int(m_meters.size());
    m_meters.push_back(std::move(entry));
    m_index.insert(meterId, index);
    Q_EMIT meterAdded(index, meterId);
    // A slot may have removed it again.
    return find(meterId);
}

void TrafficMonitor::addRtt(MeterEntry &entry, quint32 sampleUs)
{
    entry.rtt.push(sampleUs);
    ++entry.periodRttSeen;
    if (entry.periodRtt.size() < kPeriodRttCap) {
        entry.periodRtt.push_back(sampleUs);
        return;
    }
    // xorshift64*: cheap and seeded, so the same input gives the same rollup.
    m_random ^= m_random >> 12;
    m_random ^= m_random << 25;
    m_random ^= m_random >> 27;
    const quint64 r = m_random * 0x2545F4914F6CDD1DULL;
    const quint64 slot = r % entry.periodRttSeen;
    if (slot < kPeriodRttCap)
        entry.periodRtt[std::size_t(slot)] = sampleUs;
}

void TrafficMonitor::addTraffic(const polling::TrafficDelta &delta)
{
    MeterEntry &total = *m_total;
    const std::size_t rttAvailable = delta.rttUs.size();
    for (const polling::MeterTraffic &m : delta.meters) {
        MeterEntry *entry = entryFor(m.meterId);
        const polling::TrafficCounters &c = m.counters;
        const std::size_t begin = std::min<std::size_t>(m.rttBegin, rttAvailable);
        const std::size_t end = std::min<std::size_t>(begin + m.rttCount, rttAvailable);
        for (MeterEntry *e : {entry, &total}) {
            if (!e)
                continue;
            e->counters.dlms += c;
            e->period.dlms += c;
            e->second.txBytes += c.bytesSent;
            e->second.rxBytes += c.bytesReceived;
            e->second.txPackets += c.framesSent;
            e->second.rxPackets += c.framesReceived;
            for (std::size_t i = begin; i < end; ++i)
                addRtt(*e, delta.rttUs[i]);
            ++e->version;
        }
    }
}

void TrafficMonitor::addMqttAck(const MqttAck &ack)
{
    MeterEntry &total = *m_total;
    quint64 values = 0;
    for (const MqttShare &share : ack.shares) {
        values += share.values;
        MeterEntry *entry = entryFor(share.meterId);
        if (!entry)
            continue;
        for (MeterCounters *c : {&entry->counters, &entry->period}) {
            ++c->mqttMessages;
            c->mqttPayloadBytes += share.payloadBytes;
            c->mqttPacketBytes += share.packetBytes;
            c->mqttValues += share.values;
        }
        entry->second.txBytes += share.packetBytes;
        ++entry->second.txPackets;
        ++entry->version;
    }
    for (MeterCounters *c : {&total.counters, &total.period}) {
        ++c->mqttMessages;
        c->mqttPayloadBytes += ack.payloadBytes;
        c->mqttPacketBytes += ack.packetBytes;
        c->mqttValues += values;
    }
    total.second.txBytes += ack.packetBytes;
    ++total.second.txPackets;
    ++total.version;
}

void TrafficMonitor::addPublishFailure(const QString &meterId)
{
    if (!meterId.isEmpty()) {
        if (MeterEntry *entry = entryFor(meterId)) {
            ++entry->counters.mqttPublishFailures;
            ++entry->period.mqttPublishFailures;
            ++entry->version;
        }
    }
    ++m_total->counters.mqttPublishFailures;
    ++m_total->period.mqttPublishFailures;
    ++m_total->version;
}

void TrafficMonitor::setOutboxStatus(const OutboxStatus &status)
{
    m_outbox = status;
}

void TrafficMonitor::setInterfaceRates(const InterfaceRates &rates)
{
    m_hasInterface = true;
    if (rates.intervalS > 0) {
        for (InterfaceAccumulator *a : {&m_ifSecond, &m_ifPeriod}) {
            a->txBits += rates.txBps * rates.intervalS;
            a->rxBits += rates.rxBps * rates.intervalS;
            a->txPackets += rates.txPps * rates.intervalS;
            a->rxPackets += rates.rxPps * rates.intervalS;
            a->seconds += rates.intervalS;
        }
    }
    MeterEntry &total = *m_total;
    for (MeterCounters *c : {&total.counters, &total.period}) {
        c->ifRxErrors += rates.rxErrors;
        c->ifTxErrors += rates.txErrors;
        c->ifRxDrops += rates.rxDrops;
        c->ifTxDrops += rates.txDrops;
    }
    ++total.version;
}

void TrafficMonitor::addMeter(const QString &meterId)
{
    entryFor(meterId);
}

void TrafficMonitor::removeMeter(const QString &meterId)
{
    const auto it = m_index.constFind(meterId);
    if (it == m_index.cend())
        return;
    const int index = *it;
    m_index.erase(it);
    std::unique_ptr<MeterEntry> retired = std::move(m_meters[std::size_t(index)]);
    m_meters.erase(m_meters.begin() + index);
    // Its rings are no longer needed; the period figures wait for the next rollup.
    retired->history = HistoryRing<SecondSample>();
    retired->rtt = HistoryRing<quint32>();
    m_retired.push_back(std::move(retired));
    for (int i = index; i < int(m_meters.size()); ++i)
        m_index[m_meters[std::size_t(i)]->id] = i;
    Q_EMIT meterRemoved(index, meterId);
}

void TrafficMonitor::closeSecond(MeterEntry &entry, const SecondSample &sample, double seconds, qint64 nowMs)
{
    entry.history.push(sample);
    const Rates r = ratesOf(sample, seconds);
    raise(entry.sinceStartPeak, r);
    entry.periodPeakTxBps = std::max(entry.periodPeakTxBps, r.txBps);
    entry.periodPeakRxBps = std::max(entry.periodPeakRxBps, r.rxBps);
    entry.ticked.txBytes += sample.txBytes;
    entry.ticked.rxBytes += sample.rxBytes;
    entry.ticked.txPackets += sample.txPackets;
    entry.ticked.rxPackets += sample.rxPackets;
    entry.tickedSeconds += seconds;
    if (sample != SecondSample {})
        entry.lastActivityMs = nowMs;
    entry.second = {};
}

void TrafficMonitor::adoptRetiredPeriod(MeterEntry &entry)
{
    const auto it = std::find_if(m_retired.begin(), m_retired.end(),
        [&entry](const std::unique_ptr<MeterEntry> &r) { return r->id == entry.id; });
    if (it == m_retired.end())
        return;
    MeterEntry &old = **it;
    entry.period = old.period;
    entry.periodRtt = std::move(old.periodRtt);
    entry.periodRttSeen = old.periodRttSeen;
    entry.periodPeakTxBps = old.periodPeakTxBps;
    entry.periodPeakRxBps = old.periodPeakRxBps;
    m_retired.erase(it);
}

void TrafficMonitor::tick()
{
    const qint64 nowMs = now();
    const qint64 mono = monotonicNow();
    // A clock that stood still (or an injected one that went back) still closes a (very
    // short) second.
    const qint64 durationMs = std::max<qint64>(1, mono - m_lastTickMono);
    const double seconds = double(durationMs) / 1000.0;
    m_lastTickMono = std::max(mono, m_lastTickMono);
    m_ticks.push({nowMs, durationMs});
    ++m_tickCount;

    for (const std::unique_ptr<MeterEntry> &entry : m_meters)
        closeSecond(*entry, sampleOf(entry->second), seconds, nowMs);

    SecondSample totalSample = sampleOf(m_total->second);
    if (m_ifSecond.seconds > 0) {
        // The interface's own rates, as the amounts they mean over this tick's second.
        totalSample.txBytes = roundClamp32(m_ifSecond.txBits / m_ifSecond.seconds * seconds / 8);
        totalSample.rxBytes = roundClamp32(m_ifSecond.rxBits / m_ifSecond.seconds * seconds / 8);
        totalSample.txPackets = roundClamp32(m_ifSecond.txPackets / m_ifSecond.seconds * seconds);
        totalSample.rxPackets = roundClamp32(m_ifSecond.rxPackets / m_ifSecond.seconds * seconds);
    }
    closeSecond(*m_total, totalSample, seconds, nowMs);
    m_ifSecond = {};

    if (nowMs < m_periodStartMs) {
        // The wall clock was set back before the open period began: its figures stay in it,
        // but its end moves to the next boundary of the new time, or no rollup would come
        // until the clock caught up again.
        qCInfo(lcMonitor) << "wall clock stepped back by" << (m_periodStartMs - nowMs)
                          << "ms; rollup period realigned";
        m_periodStartMs = nowMs;
        m_periodEndMs = floorTo(nowMs, m_options.rollupPeriodMs) + m_options.rollupPeriodMs;
    }
    if (nowMs >= m_periodEndMs) {
        // Several periods jumped over at once: one rollup for the whole span, no invented
        // empty minutes.
        const qint64 endMs = floorTo(nowMs, m_options.rollupPeriodMs);
        emitRollup(m_periodStartMs, endMs, mono);
        m_periodStartMs = endMs;
        m_periodEndMs = endMs + m_options.rollupPeriodMs;
    }
    Q_EMIT ticked(nowMs);
}

void TrafficMonitor::flushRollup()
{
    const qint64 nowMs = now();
    const qint64 startMs = m_periodStartMs;
    m_periodStartMs = std::max(nowMs, startMs);
    if (m_periodStartMs >= m_periodEndMs)
        m_periodEndMs = floorTo(m_periodStartMs, m_options.rollupPeriodMs) + m_options.rollupPeriodMs;
    emitRollup(startMs, m_periodStartMs, monotonicNow());
}

MetricsRow TrafficMonitor::rowOf(MeterEntry &entry, qint64 startMs, double periodS) const
{
    const MeterCounters &c = entry.period;
    const polling::TrafficCounters &d = c.dlms;
    MetricsRow row;
    row.meterId = entry.id;
    row.timestampMs = startMs;
    row.periodS = periodS;
    row.dlmsRequestsSent = d.requestsSent;
    row.dlmsResponsesRecv = d.responsesReceived;
    row.dlmsBytesSent = d.bytesSent;
    row.dlmsBytesRecv = d.bytesReceived;
    row.dlmsAvgPayloadSize = ratio(double(d.bytesSent), double(d.framesSent));
    row.mqttMessagesSent = c.mqttMessages;
    row.mqttBytesSent = c.mqttPayloadBytes;
    row.bandwidthTxBps = ratio(double(d.bytesSent + c.mqttPacketBytes) * 8, periodS);
    row.bandwidthRxBps = ratio(double(d.bytesReceived) * 8, periodS);
    row.packetsTxPs = ratio(double(d.framesSent + c.mqttMessages), periodS);
    row.packetsRxPs = ratio(double(d.framesReceived), periodS);
    row.dlmsFramesSent = d.framesSent;
    row.dlmsFramesRecv = d.framesReceived;
    row.dlmsTimeouts = d.timeouts;
    row.dlmsProtocolErrors = d.protocolErrors;
    row.dlmsReconnects = d.reconnects;
    row.pollsAttempted = d.pollsAttempted;
    row.pollsCompleted = d.pollsCompleted;
    row.pollsFailed = d.pollsFailed;
    row.valuesRead = d.valuesRead;
    row.rttAvgMs = ratio(double(d.rttSumUs), double(d.rttCount)) / 1000.0;
    row.rttP95Ms = double(percentile95(entry.periodRtt)) / 1000.0;
    row.rttMaxMs = double(d.rttMaxUs) / 1000.0;
    row.rttSamples = d.rttCount;
    row.mqttPacketBytesSent = c.mqttPacketBytes;
    row.mqttPublishFailures = c.mqttPublishFailures;
    row.bandwidthTxPeakBps = entry.periodPeakTxBps;
    row.bandwidthRxPeakBps = entry.periodPeakRxBps;
    row.ifRxErrors = c.ifRxErrors;
    row.ifTxErrors = c.ifTxErrors;
    row.ifRxDrops = c.ifRxDrops;
    row.ifTxDrops = c.ifTxDrops;
    return row;
}

void TrafficMonitor::resetPeriod(MeterEntry &entry)
{
    entry.period = {};
    entry.periodRtt.clear(); // keeps its capacity: no allocation next period
    entry.periodRttSeen = 0;
    entry.periodPeakTxBps = 0;
    entry.periodPeakRxBps = 0;
}

void TrafficMonitor::emitRollup(qint64 startMs, qint64 endMs, qint64 mono)
{
    // The period's real length, whatever the wall clock did meanwhile.
    const double periodS = double(std::max<qint64>(0, mono - m_periodStartMono)) / 1000.0;
    m_periodStartMono = std::max(mono, m_periodStartMono);
    MinuteRollup rollup;
    rollup.periodStartMs = startMs;
    rollup.periodEndMs = endMs;
    rollup.rows.reserve(m_meters.size() + m_retired.size() + 1);
    for (const std::unique_ptr<MeterEntry> &entry : m_meters) {
        rollup.rows.push_back(rowOf(*entry, startMs, periodS));
        resetPeriod(*entry);
    }
    for (const std::unique_ptr<MeterEntry> &entry : m_retired)
        rollup.rows.push_back(rowOf(*entry, startMs, periodS));
    m_retired.clear();
    MetricsRow system = rowOf(*m_total, startMs, periodS);
    if (m_ifPeriod.seconds > 0) {
        system.bandwidthTxBps = m_ifPeriod.txBits / m_ifPeriod.seconds;
        system.bandwidthRxBps = m_ifPeriod.rxBits / m_ifPeriod.seconds;
        system.packetsTxPs = m_ifPeriod.txPackets / m_ifPeriod.seconds;
        system.packetsRxPs = m_ifPeriod.rxPackets / m_ifPeriod.seconds;
    }
    system.outboxBacklog = m_outbox.messages;
    rollup.rows.push_back(std::move(system));
    resetPeriod(*m_total);
    m_ifPeriod = {};
    Q_EMIT rollupReady(rollup);
}

void TrafficMonitor::computeSummary(const MeterEntry &entry, MeterStats &s) const
{
    const polling::TrafficCounters &d = entry.counters.dlms;
    s.meterId = entry.id;
    s.counters = entry.counters;
    s.avgRequestBytes = ratio(double(d.bytesSent), double(d.framesSent));
    s.avgResponseBytes = ratio(double(d.bytesReceived), double(d.framesReceived));
    s.avgPayloadBytes = ratio(double(d.bytesSent + d.bytesReceived), double(d.framesSent + d.framesReceived));
    s.rttAvgMs = ratio(double(d.rttSumUs), double(d.rttCount)) / 1000.0;
    s.rttMaxMs = double(d.rttMaxUs) / 1000.0;
    s.pollSuccessRate
        = d.pollsAttempted > 0 ? std::min(1.0, double(d.pollsCompleted) / double(d.pollsAttempted)) : -1.0;
    s.dlmsBytesPerValue = ratio(double(d.bytesSent + d.bytesReceived), double(d.valuesRead));
    s.mqttBytesPerValue = ratio(double(entry.counters.mqttPacketBytes), double(entry.counters.mqttValues));
    s.sinceStartAverage = {ratio(double(entry.ticked.txBytes) * 8, entry.tickedSeconds),
        ratio(double(entry.ticked.rxBytes) * 8, entry.tickedSeconds),
        ratio(double(entry.ticked.txPackets), entry.tickedSeconds),
        ratio(double(entry.ticked.rxPackets), entry.tickedSeconds)};
    s.sinceStartPeak = entry.sinceStartPeak;
    s.firstSeenMs = entry.firstSeenMs;
    s.lastActivityMs = entry.lastActivityMs;
}

void TrafficMonitor::computeStats(const MeterEntry &entry, MeterStats &s) const
{
    computeSummary(entry, s);
    m_scratch.clear();
    entry.rtt.forEach([this](quint32 v) { m_scratch.push_back(v); });
    s.rttP95Ms = double(percentile95(m_scratch)) / 1000.0;

    // A meter that appeared later has fewer samples: they are the newest ticks'.
    const std::size_t n = entry.history.size();
    const std::size_t offset = m_ticks.size() - std::min(n, m_ticks.size());
    s.current = {};
    s.windowPeak = {};
    s.windowAverage = {};
    double tx = 0, rx = 0, txp = 0, rxp = 0, seconds = 0;
    for (std::size_t i = 0; i < n && offset + i < m_ticks.size(); ++i) {
        const SecondSample &sample = entry.history.at(i);
        const double dt = double(m_ticks.at(offset + i).durationMs) / 1000.0;
        const Rates r = ratesOf(sample, dt);
        raise(s.windowPeak, r);
        tx += sample.txBytes;
        rx += sample.rxBytes;
        txp += sample.txPackets;
        rxp += sample.rxPackets;
        seconds += dt;
        if (i + 1 == n)
            s.current = r;
    }
    s.windowAverage
        = {ratio(tx * 8, seconds), ratio(rx * 8, seconds), ratio(txp, seconds), ratio(rxp, seconds)};
}

const MeterStats &TrafficMonitor::cachedStats(const MeterEntry &entry) const
{
    if (!entry.cacheValid || entry.cacheVersion != entry.version || entry.cacheTick != m_tickCount) {
        computeStats(entry, entry.cache);
        entry.cacheVersion = entry.version;
        entry.cacheTick = m_tickCount;
        entry.cacheValid = true;
    }
    return entry.cache;
}

const HistoryRing<SecondSample> *TrafficMonitor::ringOf(const QString &meterId) const
{
    if (meterId.isEmpty())
        return &m_total->history;
    const MeterEntry *entry = find(meterId);
    return entry ? &entry->history : nullptr;
}

QStringList TrafficMonitor::meterIds() const
{
    QStringList ids;
    ids.reserve(qsizetype(m_meters.size()));
    for (const std::unique_ptr<MeterEntry> &entry : m_meters)
        ids.append(entry->id);
    return ids;
}

int TrafficMonitor::meterCount() const
{
    return int(m_meters.size());
}

int TrafficMonitor::indexOf(const QString &meterId) const
{
    return m_index.value(meterId, -1);
}

MeterStats TrafficMonitor::meterStats(const QString &meterId) const
{
    const MeterEntry *entry = find(meterId);
    return entry ? cachedStats(*entry) : MeterStats {};
}

MeterStats TrafficMonitor::meterSummary(const QString &meterId) const
{
    MeterStats stats;
    if (const MeterEntry *entry = find(meterId)) {
        // A full snapshot made this tick already holds the summary: no need to compute it again.
        if (entry->cacheValid && entry->cacheVersion == entry->version && entry->cacheTick == m_tickCount)
            return entry->cache;
        computeSummary(*entry, stats);
    }
    return stats;
}

MeterStats TrafficMonitor::meterStatsAt(int index) const
{
    if (index < 0 || index >= int(m_meters.size()))
        return {};
    return cachedStats(*m_meters[std::size_t(index)]);
}

MeterStats TrafficMonitor::totalStats() const
{
    return cachedStats(*m_total);
}

std::vector<SecondSample> TrafficMonitor::history(const QString &meterId) const
{
    std::vector<SecondSample> samples;
    const MeterEntry *entry = find(meterId);
    if (!entry)
        return samples;
    samples.reserve(entry->history.size());
    entry->history.forEach([&samples](const SecondSample &s) { samples.push_back(s); });
    return samples;
}

std::vector<SecondSample> TrafficMonitor::totalHistory() const
{
    std::vector<SecondSample> samples;
    samples.reserve(m_total->history.size());
    m_total->history.forEach([&samples](const SecondSample &s) { samples.push_back(s); });
    return samples;
}

std::vector<qint64> TrafficMonitor::historyTimestamps() const
{
    std::vector<qint64> timestamps;
    timestamps.reserve(m_ticks.size());
    m_ticks.forEach([&timestamps](const TickInfo &t) { timestamps.push_back(t.timestampMs); });
    return timestamps;
}

double TrafficMonitor::lastTickSeconds() const
{
    return m_ticks.empty() ? 0.0 : double(m_ticks.newest().durationMs) / 1000.0;
}

bool TrafficMonitor::hasInterfaceRates() const
{
    return m_hasInterface;
}

} // namespace monitor
