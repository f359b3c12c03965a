#pragma once

#include "meterconfig.h"
#include "pollingtypes.h"

#include <error.h>

#include <QtCore/QHash>
#include <QtCore/QObject>
#include <QtCore/QStringList>

#include <vector>

class QThread;

namespace polling {

class PollWorker;

// The polling engine: a fixed pool of worker threads, each running an event loop that hosts
// many MeterSessions and a scheduler that fires their polls. Polls of different meters are
// staggered across the interval (a meter's phase is fixed when it is added, spread evenly by a
// low-discrepancy sequence), and each meter keeps a fixed-rate schedule: a slow poll makes the
// next one skipped, never drifts the clock. Meters are added, removed, paused and reconfigured
// while running without touching the others. Each worker sums its meters' traffic and sends
// one TrafficDelta per traffic interval.
//
// The scheduler object lives in the thread that created it (GUI, dlmsctl main); every signal
// reaches it queued. All methods must be called from that thread.
class PollScheduler final : public QObject {
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(PollScheduler)

public:
    struct Options {
        int workers = 0; // 0 = QThread::idealThreadCount()
        int trafficIntervalMs = 1000; // one TrafficDelta per worker per interval
        // Polls come due on a grid of this step (never earlier than their own due time): one
        // wake-up of a worker serves every meter due in the same tick. 0 = each at its own time.
        int pollTickMs = 5;
        quint32 seed = 0; // backoff jitter seeds (tests); 0 = random
        // Released associations are waited for at most this long on stop().
        int stopTimeoutMs = 3000;
    };

    explicit PollScheduler(Options options, QObject *parent = nullptr);
    // Without a prior stop(): connections are dropped without release, threads joined.
    ~PollScheduler() override;

    const Options &options() const { return m_options; }
    int workerCount() const;

    // Starts the worker threads; meters added before start() begin polling now.
    void start();
    // Stops every session (releasing open associations, bounded by stopTimeoutMs), sends the
    // last TrafficDelta of each worker, ends the threads, then emits stopped().
    void stop();
    bool isRunning() const { return m_running; }

    // Fails (InvalidArgument, with the reason) for a duplicate or empty id, no items, an
    // interval or timeout ≤ 0.
    dlms::Result<void> addMeter(const MeterConfig &config);
    // False when the id is unknown. The meter's association is released in the background.
    bool removeMeter(const QString &id);
    // Same validation as addMeter; unknown id → error. Only that meter is touched.
    dlms::Result<void> updateMeter(const MeterConfig &config);
    bool setPaused(const QString &id, bool paused);
    bool setTracing(const QString &id, bool on);

    QStringList meterIds() const; // in the order added
    bool contains(const QString &id) const { return m_meters.contains(id); }
    std::optional<MeterConfig> meterConfig(const QString &id) const;
    int workerOf(const QString &id) const; // -1 when unknown

    // Checks a configuration without adding it (what addMeter would refuse, and why).
    static dlms::Result<void> validate(const MeterConfig &config);

Q_SIGNALS:
    // readingsReady, meterStateChanged and traceBytes come only from a meter's current
    // incarnation: once removeMeter() returns, none of them arrives for the removed meter, even
    // when the same id is added again at once (its last traffic still comes in a TrafficDelta).
    void readingsReady(const polling::ReadingsBatch &batch);
    // The changes that matter, not every step: Polling is never reported (a healthy keep-open
    // meter would cost two queued events per poll, Associated → Polling → Associated), and a
    // state is not reported again with the same reason (so Associated comes once per
    // association, or after trouble). Connecting, Associating, BackingOff, CircuitOpen, Paused
    // and Disconnected come as they happen.
    void meterStateChanged(const QString &meterId, polling::MeterState state, const QString &reason);
    void trafficReady(const polling::TrafficDelta &delta);
    // Only for meters with tracing on: the bytes as exchanged, for dlms::TraceDecoder.
    void traceBytes(
        const QString &meterId, dlms::Direction direction, const QByteArray &bytes, qint64 timestampMs);
    void stopped();

private:
    friend class PollWorker; // delivers the session signals through the deliver*() checks

    struct MeterEntry {
        MeterConfig config;
        // Distinct for every addMeter(): what the worker's session signals carry, so those of a
        // removed meter (still queued, or sent before the worker saw the removal) are dropped.
        quint64 incarnation = 0;
        int worker = -1;
        quint64 slot = 0; // phase index in the low-discrepancy sequence
        quint32 seed = 0; // backoff jitter seed of its session
        bool paused = false;
        bool tracing = false;
    };
    enum class RunState : quint8 { Idle, Running, Stopping };

    // The phase of a meter as a fraction of its interval: frac(slot × golden ratio).
    static double phaseOf(quint64 slot);
    void sendToWorker(const MeterEntry &entry);
    void onThreadFinished();
    bool isCurrent(const QString &id, quint64 incarnation) const;
    void deliverReadings(quint64 incarnation, const ReadingsBatch &batch);
    void deliverState(const QString &id, quint64 incarnation, MeterState state, const QString &reason);
    void deliverTrace(const QString &id, quint64 incarnation, dlms::Direction direction,
        const QByteArray &bytes, qint64 timestampMs);

    Options m_options;
    bool m_running = false; // Running (not Idle, not Stopping)
    RunState m_runState = RunState::Idle;
    qint64 m_epochNs = 0; // steadyNowNs() origin of every meter's slot grid
    int m_workerCount = 1;
    std::vector<int> m_workerLoad; // meters per worker
    std::vector<QThread *> m_threads; // only while started
    std::vector<PollWorker *> m_workers; // only while Running: deleted in their threads
    int m_threadsFinished = 0;
    QHash<QString, MeterEntry> m_meters;
    QStringList m_order;
    quint64 m_nextSlot = 0;
    quint64 m_lastIncarnation = 0;
};

} // namespace polling
