#pragma once

#include <obis.h>

#include <QtCore/QMetaType>
#include <QtCore/QString>
#include <QtCore/QVariant>

#include <vector>

// Values the polling engine hands out of its worker threads (all copyable, all registered
// metatypes so they travel through queued connections).

namespace polling {

enum class MeterState : quint8 {
    Disconnected, // not connected (stopped, or per-poll mode between polls)
    Connecting, // TCP connect
    Associating, // SNRM/AARQ, then the scaler_unit read
    Associated, // association open, idle between polls
    Polling, // a poll is on the wire
    BackingOff, // waiting before the next connection attempt (reason says why, and until when)
    CircuitOpen, // too many failures in a row: left alone for a while
    Paused, // paused by the user
};
QString meterStateName(MeterState state); // "disconnected", "connecting", …, "circuit-open", "paused"

enum class Quality : quint8 {
    Good,
    Failed, // the meter answered this item with a data-access error (see Reading::error)
    Unscaled, // a register whose scaler_unit could not be read: value is the raw number
};
QString qualityName(Quality quality); // "good", "failed", "unscaled"

// Whether a reading's value is a number (scaled registers are doubles; raw Data values may be
// any integer type) rather than text or null.
bool isNumericValue(const QVariant &value);

struct Reading {
    QString key; // telemetry key
    dlms::Obis obis;
    QVariant value; // double (scaled) for numbers, QString for text, null when Failed
    QString unit; // "V", "Wh", … ; empty when none
    Quality quality = Quality::Good;
    QString error; // data-access-result name when Failed ("object-undefined")
};

// The result of one successful poll of one meter.
struct ReadingsBatch {
    QString meterId;
    qint64 timestampMs = 0; // UTC milliseconds since the epoch, when the last response arrived
    std::vector<Reading> readings; // in the meter's configured item order
};

// What one meter did on the network, over some period. Sums, so deltas add up.
struct TrafficCounters {
    quint64 bytesSent = 0; // TCP payload written to the meter's socket
    quint64 bytesReceived = 0; // TCP payload read from it (garbage included)
    quint64 framesSent = 0;
    quint64 framesReceived = 0;
    quint64 bytesDiscarded = 0; // received bytes that were no valid frame
    quint64 requestsSent = 0; // complete request APDUs (AARQ, GET, SET, ACTION, RLRQ)
    quint64 responsesReceived = 0; // complete response APDUs
    quint64 timeouts = 0;
    quint64 protocolErrors = 0; // stray bytes, invoke-id mismatches, bad frames, exceptions
    quint64 connects = 0; // TCP connections established
    quint64 reconnects = 0; // connection attempts after a failure
    quint64 associations = 0; // associations accepted
    quint64 pollsAttempted = 0; // polls that came due
    quint64 pollsCompleted = 0; // polls that delivered a ReadingsBatch
    quint64 pollsLate = 0; // completed after the next poll was due
    quint64 pollsFailed = 0; // came due but delivered nothing (meter down, backing off, error)
    quint64 pollsSkipped = 0; // came due while the previous poll was still running
    quint64 valuesRead = 0; // readings with quality Good or Unscaled
    quint64 rttCount = 0; // requests with a measured round trip
    quint64 rttSumUs = 0;
    quint32 rttMaxUs = 0;

    TrafficCounters &operator+=(const TrafficCounters &other);
    bool operator==(const TrafficCounters &) const = default;
};

struct MeterTraffic {
    QString meterId;
    TrafficCounters counters;
    // Ranges into TrafficDelta::rttUs / pollLatencyUs: this meter's samples of the period.
    quint32 rttBegin = 0;
    quint32 rttCount = 0;
    quint32 latencyBegin = 0;
    quint32 latencyCount = 0;
};

// One worker's traffic over one interval: one entry per meter that had any activity, and the
// exact samples (not a histogram) so percentiles can be computed downstream.
struct TrafficDelta {
    int worker = 0;
    qint64 periodStartMs = 0; // UTC ms
    qint64 periodEndMs = 0;
    std::vector<MeterTraffic> meters;
    std::vector<quint32> rttUs; // request → complete response, µs
    std::vector<quint32> pollLatencyUs; // poll due → batch delivered, µs (completed polls only)

    TrafficCounters total() const;
};

} // namespace polling

Q_DECLARE_METATYPE(polling::MeterState)
Q_DECLARE_METATYPE(polling::ReadingsBatch)
Q_DECLARE_METATYPE(polling::TrafficDelta)
