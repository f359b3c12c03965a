#pragma once

#include <pollingtypes.h>

#include <QtCore/QMetaType>
#include <QtCore/QString>
#include <QtCore/QStringList>

#include <vector>

// Values the monitor takes in (from the MQTT thread, the interface sampler) and hands out
// (snapshots, minute rollups). All copyable; the ones that cross threads are metatypes.

namespace monitor {

// The meter id of the system-wide row of network_metrics and of `dlmsctl stats --meter '*'`.
// Site files refuse it as a meter id.
inline constexpr QLatin1StringView SystemMeterId {"*"};

// One meter's part of an acknowledged MQTT message. A ThingsBoard gateway message carries
// several meters: its bytes are split by each meter's share of the payload, so the shares of
// one message add up to the message exactly.
struct MqttShare {
    QString meterId;
    quint64 payloadBytes = 0;
    quint64 packetBytes = 0;
    quint32 values = 0; // telemetry values of this meter in the message
};

// The broker acknowledged one message (QoS 1 PUBACK): counted then, not when handed to the
// client library.
struct MqttAck {
    qint64 timestampMs = 0; // UTC ms of the acknowledgement
    quint64 payloadBytes = 0; // the message's payload
    quint64 packetBytes = 0; // the whole PUBLISH packet (fixed header, topic, id, payload)
    std::vector<MqttShare> shares;
};

// What is waiting to be published (from the MQTT issue's outbox).
struct OutboxStatus {
    qint64 messages = 0;
    qint64 bytes = 0;
    qint64 oldestMs = 0; // UTC ms of the oldest waiting row, 0 when empty
    qint64 etaMs = -1; // expected time to drain at the current rate; -1 = unknown (no broker)
    bool operator==(const OutboxStatus &) const = default;
};

// One network interface's counters as the OS reports them (monotonic, may wrap or reset).
struct InterfaceCounters {
    QString name;
    quint64 rxBytes = 0;
    quint64 rxPackets = 0;
    quint64 rxErrors = 0;
    quint64 rxDrops = 0;
    quint64 txBytes = 0;
    quint64 txPackets = 0;
    quint64 txErrors = 0;
    quint64 txDrops = 0;
    bool operator==(const InterfaceCounters &) const = default;
};

// The interfaces' traffic over one sampling interval.
struct InterfaceRates {
    qint64 timestampMs = 0; // UTC ms at the end of the interval
    double intervalS = 0;
    QStringList interfaces; // the interfaces summed
    double txBps = 0; // bits per second
    double rxBps = 0;
    double txPps = 0; // packets per second
    double rxPps = 0;
    // Counted in this interval (not rates).
    quint64 rxErrors = 0;
    quint64 txErrors = 0;
    quint64 rxDrops = 0;
    quint64 txDrops = 0;
};

// Everything counted for one meter (or in total) over some period. Sums, so they add up.
struct MeterCounters {
    polling::TrafficCounters dlms;
    quint64 mqttMessages = 0; // acknowledged messages that carried this meter's values
    quint64 mqttPayloadBytes = 0;
    quint64 mqttPacketBytes = 0;
    quint64 mqttValues = 0;
    quint64 mqttPublishFailures = 0;
    // Interface errors and drops: the system row only.
    quint64 ifRxErrors = 0;
    quint64 ifTxErrors = 0;
    quint64 ifRxDrops = 0;
    quint64 ifTxDrops = 0;

    MeterCounters &operator+=(const MeterCounters &other);
    bool operator==(const MeterCounters &) const = default;
};

// Traffic rates. For a meter: what it costs the network at the application level — TX is DLMS
// bytes sent to it plus the MQTT packet bytes published for it, RX the DLMS bytes received
// from it; packets are DLMS frames (+ MQTT messages on TX). For the total: the monitored
// interfaces' own counters when an interface sampler feeds the monitor, else the meters' sum.
struct Rates {
    double txBps = 0;
    double rxBps = 0;
    double txPps = 0;
    double rxPps = 0;
    bool operator==(const Rates &) const = default;
};

// One second of one meter's (or the total's) traffic, as kept in the history ring.
struct SecondSample {
    quint32 txBytes = 0;
    quint32 rxBytes = 0;
    quint32 txPackets = 0;
    quint32 rxPackets = 0;
    bool operator==(const SecondSample &) const = default;
};

// A snapshot of one meter (or the total), with the derived figures a technician reads.
struct MeterStats {
    QString meterId; // SystemMeterId for the total
    MeterCounters counters; // since the monitor started (or the meter first appeared)
    // Average frame size per direction (bytes / frames), and over both directions (all DLMS
    // bytes / all frames); 0 when nothing was exchanged. The seed's dlms_avg_payload_size is
    // the request side (its example: 7,606 bytes sent / 278 requests = 27.4), avgRequestBytes.
    double avgRequestBytes = 0;
    double avgResponseBytes = 0;
    double avgPayloadBytes = 0;
    // Round trip of requests (µs samples): average and maximum since start, p95 over the last
    // samples kept (Options::rttSamplesPerMeter). 0 when none.
    double rttAvgMs = 0;
    double rttP95Ms = 0;
    double rttMaxMs = 0;
    double pollSuccessRate = -1; // completed / attempted, 0..1; -1 before any poll
    double dlmsBytesPerValue = 0; // (sent + received) / values read; 0 before any value
    double mqttBytesPerValue = 0; // MQTT packet bytes / values published; 0 before any
    Rates current; // the last complete second
    Rates windowAverage; // over the history window (up to 300 s)
    Rates windowPeak;
    Rates sinceStartAverage;
    Rates sinceStartPeak;
    qint64 firstSeenMs = 0;
    qint64 lastActivityMs = 0; // UTC ms of the last second with any traffic, 0 never
};

// One row of `network_metrics`: one meter (or the system, meterId == SystemMeterId) over one
// rollup period, normally a minute. Counters are the period's increments, not running totals;
// rates are averages over the period, peaks the highest one-second rate within it.
struct MetricsRow {
    QString meterId;
    qint64 timestampMs = 0; // UTC ms, start of the period (aligned, but the first starts at start-up)
    double periodS = 0; // seconds covered (60, less for the partial minute at start/stop)
    // The seed's columns.
    quint64 dlmsRequestsSent = 0;
    quint64 dlmsResponsesRecv = 0;
    quint64 dlmsBytesSent = 0;
    quint64 dlmsBytesRecv = 0;
    double dlmsAvgPayloadSize = 0; // the seed's meaning: DLMS bytes sent / frames sent
    quint64 mqttMessagesSent = 0;
    quint64 mqttBytesSent = 0; // payload bytes (what the seed counted)
    double bandwidthTxBps = 0;
    double bandwidthRxBps = 0;
    double packetsTxPs = 0;
    double packetsRxPs = 0;
    // Ours.
    quint64 dlmsFramesSent = 0;
    quint64 dlmsFramesRecv = 0;
    quint64 dlmsTimeouts = 0;
    quint64 dlmsProtocolErrors = 0;
    quint64 dlmsReconnects = 0;
    quint64 pollsAttempted = 0;
    quint64 pollsCompleted = 0;
    quint64 pollsFailed = 0;
    quint64 valuesRead = 0;
    double rttAvgMs = 0;
    double rttP95Ms = 0;
    double rttMaxMs = 0;
    quint64 rttSamples = 0; // round trips measured in the period (weights rttAvgMs when summing)
    quint64 mqttPacketBytesSent = 0;
    quint64 mqttPublishFailures = 0;
    qint64 outboxBacklog = 0; // messages waiting at the end of the period (system row)
    double bandwidthTxPeakBps = 0;
    double bandwidthRxPeakBps = 0;
    quint64 ifRxErrors = 0;
    quint64 ifTxErrors = 0;
    quint64 ifRxDrops = 0;
    quint64 ifTxDrops = 0;

    bool operator==(const MetricsRow &) const = default;
};

// The rows of one rollup period: one per meter the monitor knows (idle ones with zeros), then
// the system row last.
struct MinuteRollup {
    qint64 periodStartMs = 0;
    qint64 periodEndMs = 0;
    std::vector<MetricsRow> rows;
};

} // namespace monitor

Q_DECLARE_METATYPE(monitor::MqttAck)
Q_DECLARE_METATYPE(monitor::OutboxStatus)
Q_DECLARE_METATYPE(monitor::InterfaceRates)
Q_DECLARE_METATYPE(monitor::MinuteRollup)
