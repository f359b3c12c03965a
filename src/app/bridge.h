#pragma once

#include "bridgeconfig.h"

#include <error.h>
#include <interfacesampler.h>
#include <monitortypes.h>
#include <outboxpublisher.h>
#include <pollingtypes.h>
#include <storagetypes.h>

#include <QtCore/QHash>
#include <QtCore/QObject>

#include <functional>
#include <memory>
#include <optional>

class QThread;

namespace polling {
class PollScheduler;
}
namespace monitor {
class TrafficMonitor;
}
namespace storage {
class Storage;
}

namespace app {

class HttpApi;

enum class BridgeState : quint8 { Stopped, Running, Stopping };
QString bridgeStateName(BridgeState state); // "stopped", "running", "stopping"

// What the bridge knows of one meter now.
struct MeterStatus {
    QString id;
    QString name;
    QString host;
    quint16 port = 0;
    QString transport; // "wrapper" | "hdlc"
    polling::MeterState state = polling::MeterState::Disconnected;
    QString reason; // why, for BackingOff / CircuitOpen / Disconnected after a failure
    qint64 stateSinceMs = 0; // UTC ms of the last state change (0 = none yet)
    bool paused = false;
    qint64 lastReadingsMs = 0; // UTC ms of the last readings batch (0 = none)
    quint64 batches = 0; // readings batches delivered since start
    quint64 values = 0; // good values in them
    quint64 failedValues = 0; // readings with Quality::Failed in them
};

// The bridge as a whole, for GET /health and the status bar.
struct BridgeHealth {
    BridgeState state = BridgeState::Stopped;
    qint64 startedMs = 0; // UTC ms
    int meters = 0;
    int metersAssociated = 0; // state Associated or Polling
    int metersFailing = 0; // BackingOff or CircuitOpen
    storage::StorageStatus storage;
    bool mqttEnabled = false;
    mqtt::PublisherStatus mqtt;
    // One line per thing that needs attention ("storage: failing: database or disk is full",
    // "mqtt: failing: not authorized", "mqtt: off: …" after a reload that could start no
    // publisher, "2 meters failing"); empty = healthy.
    QStringList problems;
};

// What a reload changed (Bridge::applyConfig).
struct ConfigChanges {
    QStringList metersAdded; // ids
    QStringList metersRemoved;
    QStringList metersUpdated; // polling or publishing settings changed
    bool workersChanged = false; // needs a restart: the pool is fixed while running
    bool mqttRestarted = false; // the publisher was restarted with the new settings
    bool httpRestarted = false;
    bool samplerRestarted = false; // monitor.interface changed
    // Settings whose change takes effect only after a restart ("storage.path",
    // "monitor.rollup_s", "polling.workers").
    QStringList needsRestart;
    bool isEmpty() const;
    QString summary() const; // one line: "meters +1 -0 ~2; mqtt restarted" or "no changes"
};

// The composition root: owns the poller (its worker threads), the storage writer (its thread),
// the MQTT publisher (in a thread of its own), the traffic monitor and interface sampler, and
// the HTTP API, and routes between them:
//   readings → Storage (readings + outbox, one transaction; the outbox only while MQTT is
//   enabled) → committed → OutboxPublisher
//   → PUBACK → Storage::acknowledgeOutbox and TrafficMonitor::addMqttAck;
//   traffic deltas and interface rates → TrafficMonitor → rollups → Storage (network_metrics);
//   meter state changes → events table.
// Used unchanged by `dlmsctl run` and the desktop application. Lives in the thread that
// creates it (main/GUI); every method is called there. No method blocks on the network.
class Bridge final : public QObject {
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(Bridge)

public:
    struct Options {
        // UTC ms for the monitor, storage and publisher; empty = the system clock.
        std::function<qint64()> clock;
        // Monotonic ms for the monitor's durations; empty = a steady clock.
        std::function<qint64()> monotonicClock;
        // Where interface counters come from; empty = monitor::makeDefaultInterfaceSource().
        std::function<std::unique_ptr<monitor::InterfaceCounterSource>()> interfaceSource;
        int workers = -1; // -1 = the configuration's polling.workers
        int pollTickMs = 5; // PollScheduler::Options::pollTickMs
        int stopTimeoutMs = 3000; // releasing associations on stop
        bool serveHttp = true; // false: never start the HTTP API, whatever the config says
    };

    explicit Bridge(QObject *parent = nullptr);
    explicit Bridge(Options options, QObject *parent = nullptr);
    // abort() when not stopped: no nested event loop (the application may have quit already).
    ~Bridge() override;

    // Starts everything from `config`, in order: storage (the database's directory made when
    // missing, mode 0700; the database opened and migrated — a failure here starts nothing;
    // outbox rows written only when mqtt.enabled), the monitor and sampler, the MQTT thread and
    // publisher (when mqtt.enabled; settings the MQTT client would refuse for good, such as an
    // unreadable TLS file, fail start before anything opens), the HTTP API (when enabled; a
    // port in use fails start and undoes the rest), then polling with every meter. Errors say
    // which part and why.
    dlms::Result<void> start(const BridgeConfig &config);
    // Clean shutdown, asynchronous, in this order: stops polling (associations released,
    // bounded by stopTimeoutMs) and the HTTP API; once the last traffic deltas are in, a
    // connected publisher gets up to 3 s to publish what the last polls wrote (less when the
    // outbox empties or nothing has moved for ~300 ms: what is left cannot be sent now); the
    // publisher is stopped (rows not acknowledged stay in the outbox for next time) and its last
    // acknowledgements counted; then the monitor's partial rollup is flushed and the storage
    // writer drained. Emits stopped() at the end. A second call while stopping is ignored.
    void stop();
    // stop(), then spins a local event loop until stopped() (at most timeoutMs). Returns
    // whether it stopped in time.
    bool stopAndWait(int timeoutMs = 20'000);
    // Stop now, without waiting for the network (a second SIGTERM, a stop that hangs): the
    // associations are dropped without release and nothing more is published, but the readings
    // the workers already delivered are stored, the monitor's partial rollup is flushed and the
    // storage writer drained (its bounded stop), so what was stored stays consistent and
    // unpublished rows stay in the outbox. Emits stopped() once. Valid in any state (no-op when
    // Stopped); returns once done.
    void abort();
    // Whether the last stop (or abort) completed: polling stopped in time and the writer stored
    // everything it was given (no reading dropped). An abort() while a stop was still waiting
    // for polling counts as polling not stopped in time; an abort() from Running drops no
    // reading already made, and counts by the writer alone. False before any stop.
    bool lastStopComplete() const;
    BridgeState state() const { return m_state; }

    // SIGHUP and the GUI's settings: applies only what differs from the configuration in force
    // — meters added, removed or updated one by one (only the changed ones reconnect), the
    // publisher restarted when mqtt changed (its meters re-announced when only they changed),
    // the HTTP API restarted when http changed, the sampler when monitor.interface changed;
    // storage settings, monitor.rollup_s and polling.workers are reported in needsRestart and
    // keep their values in force; outbox rows are written from now on only while mqtt.enabled.
    // Fails while Stopping, changing nothing. An HTTP API that cannot listen (a port in use)
    // fails the reload before anything changes. MQTT settings that cannot start (an unreadable
    // TLS file: checked before the running publisher goes) keep the previous ones while the
    // rest still applies; the error says what was applied and what not ("mqtt: <reason>; kept
    // the previous MQTT settings; meters and http applied"). When the previous settings cannot
    // start again either, MQTT is off: config().mqtt.enabled false and a line in
    // health().problems. Removed meters leave the publisher that announced them (gateway
    // disconnect) before a restart.
    dlms::Result<ConfigChanges> applyConfig(const BridgeConfig &config);

    // Meters while running (and before start: recorded in the configuration). Validation as
    // PollScheduler::addMeter; the meter is also upserted into the database's meters table and
    // announced to the publisher. `publishing` replaces the meter's (the default {} clears a
    // Device-mode token: pass config().publishingOf(id) to keep it).
    dlms::Result<void> addMeter(const polling::MeterConfig &meter, const MeterPublishing &publishing = {});
    dlms::Result<void> updateMeter(const polling::MeterConfig &meter, const MeterPublishing &publishing = {});
    bool removeMeter(const QString &id); // false when unknown; rows stay (marked removed)
    bool setPaused(const QString &id, bool paused);
    bool setTracing(const QString &id, bool on);

    const BridgeConfig &config() const { return m_config; } // in force, with meter edits
    QList<MeterStatus> meters() const; // configuration order
    std::optional<MeterStatus> meter(const QString &id) const;
    BridgeHealth health() const;
    quint16 httpPort() const; // the port the HTTP API listens on; 0 when it is off

    // The parts, for the GUI's models; null while stopped. The scheduler and monitor live in
    // this thread; the storage's signals come from its writer thread.
    polling::PollScheduler *scheduler() const { return m_scheduler.get(); }
    monitor::TrafficMonitor *monitor() const { return m_monitor.get(); }
    storage::Storage *storage() const { return m_storage.get(); }

Q_SIGNALS:
    void stateChanged(app::BridgeState state);
    void meterStateChanged(const QString &meterId, polling::MeterState state, const QString &reason);
    void readingsReady(const polling::ReadingsBatch &batch);
    void traceBytes(
        const QString &meterId, dlms::Direction direction, const QByteArray &bytes, qint64 timestampMs);
    void publisherStateChanged(mqtt::PublisherState state, const QString &message);
    void storageStateChanged(storage::StorageState state, const QString &message);
    // Once per distinct message from the interface sampler ("interface eth9 not found").
    void samplerError(const QString &message);
    void stopped();

private:
    // Implementation-defined (bridge.cpp).
    struct Private;
    std::unique_ptr<Private> d;

    Options m_options;
    BridgeConfig m_config;
    BridgeState m_state = BridgeState::Stopped;
    std::unique_ptr<storage::Storage> m_storage;
    std::unique_ptr<monitor::TrafficMonitor> m_monitor;
    std::unique_ptr<polling::PollScheduler> m_scheduler;
};

} // namespace app

Q_DECLARE_METATYPE(app::BridgeState)
