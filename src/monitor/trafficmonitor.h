#pragma once

#include "historyring.h"
#include "monitortypes.h"

#include <QtCore/QElapsedTimer>
#include <QtCore/QHash>
#include <QtCore/QObject>
#include <QtCore/QStringList>

#include <functional>
#include <memory>
#include <vector>

class QTimer;

namespace monitor {

// Folds the polling workers' traffic deltas, the MQTT client's acknowledgements and the
// interface sampler's rates into per-meter and total counters; keeps one-second history rings
// (per meter and in total); closes a rollup period (a minute) into network_metrics rows.
//
// Lives in one thread (the GUI or dlmsctl main thread); every input arrives by queued signal
// or direct call from that thread. Cost: O(meters in the delta) per delta, O(meters) per tick,
// no allocation per tick once every meter has its ring.
//
// Time: two clocks are read at each tick; a second's sample is everything that arrived since
// the previous tick. Every duration (a tick's length, hence rates and peaks; a rollup period's
// seconds) comes from `Options::monotonicClock`, so setting the wall clock back or forward
// changes no rate. `Options::clock` (UTC) only labels samples and places rollup boundaries.
// Tests set autoTick = false and call tick() with clocks they move themselves, so minutes pass
// without sleeping.
//
// Sums: every counter of the system row of a rollup equals the sum of the meter rows (a meter
// removed during the period still has its row, see removeMeter), except:
//  - mqttMessagesSent: a gateway message carrying N meters counts once in each of their rows
//    and once in the system row, so the meters' messages add up to more than the system's.
//    The byte counters (mqttBytesSent, mqttPacketBytesSent) do add up: each meter gets its
//    share of the message;
//  - the interface errors/drops and outboxBacklog, which only the system row has;
//  - traffic or publish failures reported without a valid meter id, kept in the system only.
class TrafficMonitor final : public QObject {
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(TrafficMonitor)

public:
    struct Options {
        int windowSeconds = 300; // history ring length (one sample per tick)
        int tickMs = 1000;
        qint64 rollupPeriodMs = 60'000; // network_metrics rows per meter per period
        int rttSamplesPerMeter = 512; // recent RTT samples kept per meter for p95
        bool autoTick = true; // a QTimer calls tick() every tickMs
        std::function<qint64()> clock; // UTC ms; empty = QDateTime::currentMSecsSinceEpoch
        // Milliseconds from any fixed origin, never going back; empty = a steady clock
        // (QElapsedTimer) started with the monitor.
        std::function<qint64()> monotonicClock;
    };

    explicit TrafficMonitor(Options options, QObject *parent = nullptr);
    ~TrafficMonitor() override;

    const Options &options() const { return m_options; }

    // Inputs.
    void addTraffic(const polling::TrafficDelta &delta);
    void addMqttAck(const monitor::MqttAck &ack);
    void addPublishFailure(const QString &meterId);
    void setOutboxStatus(const monitor::OutboxStatus &status);
    void setInterfaceRates(const monitor::InterfaceRates &rates);
    // Makes a meter known before its first traffic (so it has a row, with zeros); idempotent.
    void addMeter(const QString &meterId);
    // Forgets a meter (its counters stay in the total). Emits meterRemoved. Its traffic of the
    // open rollup period is not lost: the next rollup still has its row (after the known
    // meters'), merged with the new meter's if the same id comes back within the period.
    void removeMeter(const QString &meterId);

    // Closes the current second: pushes one sample per meter and the total into the rings,
    // and when the clock crossed a rollup boundary, emits rollupReady for the period that
    // ended. Then emits ticked().
    void tick();
    // Emits the rollup of the period so far (shutdown: the last partial minute is not lost).
    // The next period starts now.
    void flushRollup();

    // Snapshots.
    QStringList meterIds() const; // order of first appearance (removed ones gone)
    int meterCount() const;
    int indexOf(const QString &meterId) const; // -1 when unknown
    MeterStats meterStats(const QString &meterId) const; // empty meterId field when unknown
    MeterStats meterStatsAt(int index) const;
    // What a list of thousands of meters shows each second, without the costly figures:
    // counters, average sizes, RTT average and maximum, success rate, bytes per value,
    // since-start rates and activity times. rttP95Ms, current and the window rates stay 0.
    MeterStats meterSummary(const QString &meterId) const; // empty meterId field when unknown
    MeterStats totalStats() const;
    // Oldest first; one sample per tick, at most windowSeconds. Empty for an unknown meter.
    std::vector<SecondSample> history(const QString &meterId) const;
    std::vector<SecondSample> totalHistory() const;
    // UTC ms of each history sample's tick, oldest first (shared by every ring).
    std::vector<qint64> historyTimestamps() const;
    // The last tick's duration in seconds (what the newest samples' rates are divided by).
    double lastTickSeconds() const;
    OutboxStatus outboxStatus() const { return m_outbox; }
    bool hasInterfaceRates() const;

Q_SIGNALS:
    void meterAdded(int index, const QString &meterId);
    void meterRemoved(int index, const QString &meterId);
    void ticked(qint64 timestampMs);
    void rollupReady(const monitor::MinuteRollup &rollup);

private:
    // The models read the cached per-row snapshot and the rings without copying them.
    friend class MeterTableModel;
    friend class SeriesModel;

    // One tick of the shared history: when it happened and how long the second really was.
    struct TickInfo {
        qint64 timestampMs = 0;
        qint64 durationMs = 0;
    };
    // Bytes and packets since the previous tick (64-bit: clamped when pushed as a sample).
    struct SecondAccumulator {
        quint64 txBytes = 0;
        quint64 rxBytes = 0;
        quint64 txPackets = 0;
        quint64 rxPackets = 0;
    };
    // The interface sampler's figures over some span, as amounts (bits, packets) and seconds.
    struct InterfaceAccumulator {
        double txBits = 0;
        double rxBits = 0;
        double txPackets = 0;
        double rxPackets = 0;
        double seconds = 0;
    };
    struct MeterEntry {
        QString id;
        MeterCounters counters; // since first seen
        MeterCounters period; // this rollup period
        SecondAccumulator second;
        HistoryRing<SecondSample> history;
        HistoryRing<quint32> rtt; // recent RTT samples (µs) for p95
        std::vector<quint32> periodRtt; // reservoir of this period's RTT samples
        quint64 periodRttSeen = 0;
        SecondAccumulator ticked; // everything pushed into the ring, for since-start averages
        double tickedSeconds = 0;
        Rates sinceStartPeak;
        double periodPeakTxBps = 0;
        double periodPeakRxBps = 0;
        qint64 firstSeenMs = 0;
        qint64 lastActivityMs = 0;
        quint64 version = 0; // bumped by every input, so the snapshot cache knows it is stale
        mutable MeterStats cache;
        mutable quint64 cacheVersion = 0;
        mutable quint64 cacheTick = 0;
        mutable bool cacheValid = false;
    };

    qint64 now() const;
    qint64 monotonicNow() const;
    MeterEntry *entryFor(const QString &meterId); // creates (and announces) unknown meters
    MeterEntry *find(const QString &meterId);
    const MeterEntry *find(const QString &meterId) const;
    void initEntry(MeterEntry &entry, const QString &meterId, qint64 nowMs) const;
    void addRtt(MeterEntry &entry, quint32 sampleUs);
    void closeSecond(MeterEntry &entry, const SecondSample &sample, double seconds, qint64 nowMs);
    void emitRollup(qint64 startMs, qint64 endMs, qint64 mono);
    MetricsRow rowOf(MeterEntry &entry, qint64 startMs, double periodS) const;
    void resetPeriod(MeterEntry &entry);
    // A meter removed and added again within one period continues its period row.
    void adoptRetiredPeriod(MeterEntry &entry);
    const MeterStats &cachedStats(const MeterEntry &entry) const;
    void computeSummary(const MeterEntry &entry, MeterStats &stats) const;
    void computeStats(const MeterEntry &entry, MeterStats &stats) const;
    const HistoryRing<SecondSample> *ringOf(const QString &meterId) const; // empty id: total
    const HistoryRing<TickInfo> &ticks() const { return m_ticks; }

    Options m_options;
    QTimer *m_timer = nullptr;
    OutboxStatus m_outbox;
    std::vector<std::unique_ptr<MeterEntry>> m_meters; // order of first appearance
    QHash<QString, int> m_index;
    std::unique_ptr<MeterEntry> m_total;
    // Meters removed during the open period: only their period figures still matter.
    std::vector<std::unique_ptr<MeterEntry>> m_retired;
    HistoryRing<TickInfo> m_ticks;
    quint64 m_tickCount = 0;
    qint64 m_startMs = 0;
    QElapsedTimer m_steady; // the monotonic clock when none is injected
    qint64 m_lastTickMono = 0;
    qint64 m_periodStartMono = 0;
    qint64 m_periodStartMs = 0;
    qint64 m_periodEndMs = 0;
    InterfaceAccumulator m_ifSecond;
    InterfaceAccumulator m_ifPeriod;
    bool m_hasInterface = false;
    quint64 m_random = 0; // reservoir sampling state (fixed seed: rollups are reproducible)
    mutable std::vector<quint32> m_scratch; // p95 works on a copy of the RTT ring
};

} // namespace monitor
