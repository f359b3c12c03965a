#pragma once

#include "dlmsconnection.h"
#include "meterconfig.h"
#include "pollingtypes.h"

#include <units.h>

#include <QtCore/QElapsedTimer>
#include <QtCore/QObject>

#include <optional>
#include <random>
#include <vector>

class QTimer;

namespace polling {

// Monotonic nanoseconds (the clock of poll due times and latencies), comparable across threads.
qint64 steadyNowNs();

// One meter, polled for as long as it lives: a DlmsConnection (socket and timers) driven
// without ever blocking. The scheduler says when a poll is due; the session connects,
// associates, reads every register's scaler_unit once per association (one that failed for a
// passing reason is asked again before a later poll, one request per poll), answers each poll
// with one GET-with-list per chunk of items (split to fit the negotiated PDU and
// maxItemsPerRequest; single GETs when the meter lacks multiple-references). Failures lead to
// retries, then exponential backoff with jitter, then the circuit breaker. Traffic is summed
// here and collected by the owner with takeTraffic() (no signal per frame on the hot path).
class MeterSession final : public QObject {
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(MeterSession)

public:
    // `seed` feeds the backoff jitter (tests pass a fixed one).
    explicit MeterSession(MeterConfig config, quint32 seed = 0, QObject *parent = nullptr);
    ~MeterSession() override; // drops the connection without a release

    const MeterConfig &config() const { return m_config; }
    MeterState state() const { return m_state; }
    const QString &stateReason() const { return m_reason; }

    // KeepOpen: connect and associate now. PerPoll: nothing until the first poll.
    void start();
    // Release the association (bounded by the request timeout), disconnect, emit stopped().
    // A poll in progress ends without a batch. Emits stopped() at once when not connected.
    void stop();
    // A poll came due at `dueNs` (steadyNowNs() clock). Counted as skipped when the previous poll
    // is still running, as failed when the meter is backing off or its circuit is open; waits
    // for the association when one is being opened.
    void poll(qint64 dueNs);
    void setPaused(bool paused);
    // New settings; reconnects only when config.needsReconnect(old). The id must not change.
    void reconfigure(const MeterConfig &config);
    // When on, traceBytes() carries every byte exchanged (LLS passwords in clear: only for a
    // dlms::TraceDecoder, which masks them).
    void setTracing(bool on);

    // Traffic since the previous call: counters added to `into`, samples appended.
    void takeTraffic(TrafficCounters &into, std::vector<quint32> &rttUs, std::vector<quint32> &latencyUs);
    bool hasTraffic() const; // anything to take

    // Test hooks: the scaler_unit cache (one entry per configured item, nullopt for items that
    // are not scaled or whose scaler_unit failed) and how many scaler reads were done so far
    // (whole ones after an association, and re-reads of missing ones before a poll).
    const std::vector<std::optional<dlms::ScalerUnit>> &scalers() const { return m_scalers; }
    int scalerReads() const { return m_scalerReads; }
    int consecutiveFailures() const { return m_consecutiveFailures; }
    const DlmsConnection *connection() const { return m_connection; }

Q_SIGNALS:
    void readingsReady(const polling::ReadingsBatch &batch);
    void stateChanged(polling::MeterState state, const QString &reason);
    // Every frame on the wire (size, kind, direction). For the trace view and tests; the worker
    // does not connect it, the counters come through takeTraffic().
    void frame(const dlms::FrameEvent &event);
    void traceBytes(dlms::Direction direction, const QByteArray &bytes, qint64 timestampMs);
    void stopped();

private:
    // What the requests on the wire are for: the snapshot profile's capture objects, the
    // scaler_units, or a poll.
    enum class Phase : quint8 { Idle, Columns, Scalers, Poll };
    // A poll that came due and has not ended: waiting for the association, or being read.
    struct PendingPoll {
        bool active = false;
        qint64 dueNs = 0;
        int retriesLeft = 0;
        std::vector<Reading> readings; // in item order, filled chunk by chunk
        QString lastError; // the last chunk or item failure, for the state reason
    };
    // One request: a half-open range of m_listItems (poll) or of m_scalerItems (scaler read),
    // or the snapshot profile's buffer (poll) / capture objects (columns).
    struct Chunk {
        quint32 begin = 0;
        quint32 end = 0;
        bool snapshot = false;
    };

    void setState(MeterState state, const QString &reason = {});
    DlmsConnection::Options connectionOptions() const;
    void openConnection();
    void onConnectionState(DlmsConnection::State state);
    void onAssociated();
    void onResponse(const dlms::ClientSession::Response &response);
    void onFailed(const dlms::Error &error);
    void onResynchronizing(const dlms::Error &error);
    enum class FailureOutcome : quint8 { Retry, Failed, CircuitOpened };
    // The connection failed under the poll (if any): Retry when the poll has retries left (one
    // is spent), else the poll fails and the failure counts toward the breaker.
    FailureOutcome connectionFailure(const dlms::Error &error);
    bool failureOpensCircuit(const QString &lastError); // counts one failure; may open the circuit
    void onClosed();
    void onBackoffTimer();
    void prepareAssociation(); // capture objects (if a snapshot profile), chunks, scalers
    void columnsDone(const dlms::ClientSession::Response *response);
    void planChunks();
    const std::vector<Chunk> &currentChunks() const;
    void fillReading(quint32 item, const dlms::DataResult *result, const QString &why);
    // All scaled items' scaler_units (after an association, or new items), or one request's
    // worth of those still missing (before a poll).
    void startScalerRead(bool onlyMissing);
    void scalersDone(bool read);
    void beginPoll(); // on an idle association: missing scalers first, then runPoll()
    void runPoll();
    void sendNext();
    void applyChunk(const Chunk &chunk, const dlms::ClientSession::Response &response);
    void pollDone();
    void afterPoll();
    bool breakerTrips() const;
    void openCircuit(const QString &lastError);
    void dropInflight(); // forgets the request on the wire (and the phase it belonged to)
    void abandonWork(); // forgets the poll and the request on the wire, counting nothing
    void requeuePoll(); // forgets the request on the wire; the poll under way starts over
    void resetItems();
    void finishStop();
    void recordSample(std::vector<quint32> &samples, quint32 value);
    void forwardFrame(const dlms::FrameEvent &event);
    void forwardTrace(dlms::Direction direction, const QByteArray &bytes);
    void connectNotify(const QMetaMethod &signal) override;
    void disconnectNotify(const QMetaMethod &signal) override;

    MeterConfig m_config;
    MeterState m_state = MeterState::Disconnected;
    QString m_reason;
    DlmsConnection *m_connection = nullptr;
    DlmsConnection::State m_connectionState = DlmsConnection::State::Closed;
    QTimer *m_backoffTimer = nullptr; // backoff, and the open circuit
    QTimer *m_rateTimer = nullptr; // holds the next request under maxRequestsPerSecond
    std::mt19937 m_random;

    std::vector<std::optional<dlms::ScalerUnit>> m_scalers;
    std::vector<QString> m_units; // unit symbol per item, from its scaler_unit
    std::vector<bool> m_scalerMissing; // per item: scaled, and its scaler_unit to be asked again
    std::vector<quint32> m_scaledItems; // indices of the items with isScaled()
    std::vector<quint32> m_scalerItems; // the items of the scaler read under way
    std::vector<qint32> m_snapshotColumn; // per item: its column in the snapshot row, or -1
    std::vector<quint32> m_listItems; // indices of the items read by GET (not from the snapshot)
    std::vector<Chunk> m_columnChunks {Chunk {0, 1, true}};
    std::vector<Chunk> m_pollChunks; // planned per association (negotiated PDU, conformance)
    std::vector<Chunk> m_scalerChunks;
    bool m_withList = false; // the meter negotiated multiple-references
    qsizetype m_perRequest = 1; // items per GET-with-list on this association

    Phase m_phase = Phase::Idle;
    size_t m_chunkIndex = 0;
    PendingPoll m_poll;
    quint64 m_requestSeq = 0;
    quint64 m_inflightSeq = 0; // the request on the wire (0: none)
    dlms::ClientSession::RequestId m_inflightId = 0;
    qint64 m_inflightSentNs = 0;
    qint64 m_lastRequestNs = 0; // for the rate cap
    bool m_issuing = false; // inside DlmsConnection::get(): its answer may come before its id
    std::optional<dlms::ClientSession::Response> m_deferred;

    int m_scalerReads = 0;
    int m_consecutiveFailures = 0;
    bool m_halfOpen = false; // the circuit's trial is running: one failure opens it again
    bool m_paused = false;
    bool m_tracing = false;
    bool m_stopping = false; // stop() waits for the release
    bool m_openWhenClosed = false; // open again once the release under way ends
    TrafficCounters m_traffic;
    DlmsConnection::Counters m_taken; // connection counters already moved into m_traffic
    std::vector<quint32> m_rttUs;
    std::vector<quint32> m_latencyUs;
};

} // namespace polling
