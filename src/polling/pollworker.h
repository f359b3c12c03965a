#pragma once

#include "meterconfig.h"
#include "pollingtypes.h"

#include <QtCore/QHash>
#include <QtCore/QObject>

#include <vector>

class QTimer;

namespace polling {

class MeterSession;
class PollScheduler;

// One worker of PollScheduler (private to the library): lives in its own QThread and hosts many
// MeterSessions. A single timer fires their polls from a min-heap of due times; heap entries of
// removed or rescheduled meters are dropped lazily by generation number, so no operation
// rebuilds the heap. Traffic of every session is collected once per traffic interval into one
// TrafficDelta. Every method runs in the worker's thread (PollScheduler posts them).
class PollWorker final : public QObject {
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(PollWorker)

public:
    struct Settings {
        int index = 0; // TrafficDelta::worker
        int trafficIntervalMs = 1000;
        int stopTimeoutMs = 3000;
        qint64 epochNs = 0; // steadyNowNs() origin of the slot grids
        int tickMs = 0; // polls fire on this grid (never before their due time); 0 = exact
    };

    // Batches and trace bytes go straight to `scheduler` (queued into its thread), state changes
    // through a filter here; all carry the meter's incarnation, which the scheduler checks.
    PollWorker(Settings settings, PollScheduler *scheduler);
    ~PollWorker() override; // sessions dropped without release

    // First due of a meter: the first point of its grid (epoch + phase × interval + n × interval)
    // at or after `nowNs`. Public for the tests of the arithmetic.
    static qint64 nextSlotNs(qint64 nowNs, qint64 epochNs, qint64 intervalNs, double phase);
    // When a poll due at `dueNs` fires: the first point of the tick grid (epoch + n × tick) at or
    // after it, so polls due in the same tick share one wake-up; `dueNs` itself when tick ≤ 0.
    static qint64 tickAlignedNs(qint64 dueNs, qint64 epochNs, qint64 tickNs);
    // A slot due at `dueNs` fired at `nowNs`: the slot to poll and how many were jumped over.
    // Up to one interval late, that slot itself; later, the latest slot already due (the worker
    // never replays missed slots one by one).
    struct CatchUp {
        qint64 dueNs = 0;
        qint64 missed = 0;
    };
    static CatchUp catchUp(qint64 nowNs, qint64 dueNs, qint64 intervalNs);

    void start();
    // Stops every session (release bounded by stopTimeoutMs), sends the last delta, then stopped().
    void stop();

    // `phase` in [0, 1): where in its interval the meter's polls fall.
    void addMeter(const MeterConfig &config, double phase, quint32 seed, bool paused, bool tracing,
        quint64 incarnation);
    void removeMeter(const QString &id);
    void updateMeter(const MeterConfig &config);
    void setPaused(const QString &id, bool paused);
    void setTracing(const QString &id, bool on);

Q_SIGNALS:
    void trafficReady(const polling::TrafficDelta &delta);
    void stopped();

private:
    struct Meter {
        MeterSession *session = nullptr; // null: free slot
        QString id;
        quint64 incarnation = 0; // PollScheduler's, sent back with every signal
        qint64 intervalNs = 0;
        double phase = 0;
        quint32 generation = 0; // heap entries with another generation are stale
        bool paused = false;
        bool releasing = false; // removed or stopping: stopping, then deleted
        bool removed = false; // its state changes are no longer forwarded
        bool stateForwarded = false; // forwardedState/forwardedReason hold the last one sent
        MeterState forwardedState = MeterState::Disconnected;
        QString forwardedReason;
        bool extraPending = false;
        TrafficCounters extra; // poll slots the worker itself missed (attempted + skipped)
        QMetaObject::Connection trace;
    };
    struct Due {
        qint64 dueNs = 0;
        quint32 generation = 0;
        int meter = 0;
        // std::push_heap builds a max-heap: invert for the earliest due on top.
        bool operator<(const Due &other) const { return dueNs > other.dueNs; }
    };
    // A removed meter's last traffic, delivered with the next delta.
    struct Retired {
        QString id;
        TrafficCounters counters;
        std::vector<quint32> rttUs;
        std::vector<quint32> latencyUs;
    };

    int allocate();
    void schedule(int meter, qint64 dueNs);
    void scheduleNext(int meter); // the next grid point from now, invalidating older entries
    void armTimer();
    void onTimer();
    void onSessionStopped(int meter, MeterSession *session);
    void forwardState(int meter, MeterState state, const QString &reason);
    void retire(int meter);
    void finishStop();
    void emitDelta();
    Meter *find(const QString &id);

    Settings m_settings;
    PollScheduler *m_scheduler;
    std::vector<Meter> m_meters; // indexed by the heap entries; slots reused
    std::vector<int> m_free;
    QHash<QString, int> m_index; // live meters only (not releasing)
    std::vector<Due> m_heap;
    QTimer *m_pollTimer;
    qint64 m_armedDueNs = 0; // due time m_pollTimer is armed for (when active)
    QTimer *m_trafficTimer;
    QTimer *m_stopTimer;
    qint64 m_periodStartMs = 0;
    std::vector<Retired> m_retired;
    size_t m_lastDeltaMeters = 0; // reserve hint
    int m_sessions = 0; // slots holding a session (releasing included)
    bool m_started = false;
    bool m_stopping = false;
    bool m_finishQueued = false;
    bool m_finished = false;
};

} // namespace polling
