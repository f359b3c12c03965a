#pragma once

#include "bridgeconfig.h"
#include "commissioningsettings.h"

#include <commissioning.h>
#include <meterconfig.h>

#include <QtCore/QHash>
#include <QtCore/QObject>
#include <QtCore/QStringList>

#include <memory>
#include <vector>

namespace app {

struct CommissioningOptions {
    std::vector<polling::MeterConfig> meters; // in the order to check them (and report them)
    QHash<QString, MeterPublishing> publishing; // by meter id (Device mode tokens, device types)
    // MQTT as the bridge publishes: enabled false → the MQTT check is Skipped. The run uses a
    // connection of its own with client id "<client id>-commissioning" (the bridge's own id
    // would make the broker drop the bridge's connection).
    MqttSettings mqtt;
    CommissioningSettings settings;
    // Set the meter's clock to the laptop's UTC (in the meter's own deviation) when |drift| is
    // above settings.clockWarnSeconds, then read it again (check "clock-sync"). The technician's
    // consent: dlmsctl --sync-clock, or the GUI's question.
    bool syncClock = false;
    // Only the clock checks (TCP, association, clock, clock-sync): the GUI's "sync clocks" pass
    // after a run. The other checks are not made and not reported.
    bool clockOnly = false;
};

// The options of a run over `meterIds` of a configuration (empty = every meter, file order;
// unknown ids are left out — callers check them first): meters, their publishing, mqtt and
// commissioning settings from `config`.
CommissioningOptions commissioningOptions(const BridgeConfig &config, const QStringList &meterIds = {});

// One commissioning run over some meters. Each meter gets its own TCP connection and
// association (not the poller's), and its checks in order:
//   tcp → association → identity → clock [→ clock-sync] → register:<key>… → objects → mqtt →
//   traffic-bytes, traffic-rtt.
// A failed TCP connect or association skips what needs it (Skipped, "not reached: …"); the MQTT
// check does not need the meter and always runs. Every wait is bounded by the meter's timeouts
// (MQTT: the client's connect timeout + the meter's request timeout). Up to
// settings.parallelMeters meters at once. Never blocks; lives in the thread that created it.
// Secrets (meter passwords, tokens) are never part of a result.
class CommissioningRun final : public QObject {
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(CommissioningRun)

public:
    explicit CommissioningRun(CommissioningOptions options, QObject *parent = nullptr);
    ~CommissioningRun() override; // drops whatever is open, without signals

    const CommissioningOptions &options() const { return m_options; }

    void start(); // once; finished() follows (at once for no meters)
    // Stops: meters being checked are dropped (their report keeps the checks done, the rest
    // Skipped "cancelled"), meters not started get no report. finished(true) follows.
    void cancel();
    bool isRunning() const;

    // Reports of the meters finished so far, in options().meters order (a meter appears when
    // its last check is done).
    std::vector<commissioning::MeterReport> reports() const;
    int metersDone() const;
    int metersTotal() const { return int(m_options.meters.size()); }

Q_SIGNALS:
    void meterStarted(const QString &meterId);
    void checkFinished(const QString &meterId, const commissioning::CheckResult &result);
    void meterFinished(const commissioning::MeterReport &report);
    void progress(int metersDone, int metersTotal);
    void finished(bool cancelled);

private:
    struct Private;
    std::unique_ptr<Private> d;
    CommissioningOptions m_options;
};

} // namespace app
