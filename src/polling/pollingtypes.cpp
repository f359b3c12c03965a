#include "pollingtypes.h"

#include <algorithm>

using namespace Qt::StringLiterals;

namespace polling {

QString meterStateName(MeterState state)
{
    switch (state) {
    case MeterState::Disconnected:
        return u"disconnected"_s;
    case MeterState::Connecting:
        return u"connecting"_s;
    case MeterState::Associating:
        return u"associating"_s;
    case MeterState::Associated:
        return u"associated"_s;
    case MeterState::Polling:
        return u"polling"_s;
    case MeterState::BackingOff:
        return u"backing-off"_s;
    case MeterState::CircuitOpen:
        return u"circuit-open"_s;
    case MeterState::Paused:
        return u"paused"_s;
    }
    return u"unknown"_s;
}

QString qualityName(Quality quality)
{
    switch (quality) {
    case Quality::Good:
        return u"good"_s;
    case Quality::Failed:
        return u"failed"_s;
    case Quality::Unscaled:
        return u"unscaled"_s;
    }
    return u"unknown"_s;
}

TrafficCounters &TrafficCounters::operator+=(const TrafficCounters &other)
{
    bytesSent += other.bytesSent;
    bytesReceived += other.bytesReceived;
    framesSent += other.framesSent;
    framesReceived += other.framesReceived;
    bytesDiscarded += other.bytesDiscarded;
    requestsSent += other.requestsSent;
    responsesReceived += other.responsesReceived;
    timeouts += other.timeouts;
    protocolErrors += other.protocolErrors;
    connects += other.connects;
    reconnects += other.reconnects;
    associations += other.associations;
    pollsAttempted += other.pollsAttempted;
    pollsCompleted += other.pollsCompleted;
    pollsLate += other.pollsLate;
    pollsFailed += other.pollsFailed;
    pollsSkipped += other.pollsSkipped;
    valuesRead += other.valuesRead;
    rttCount += other.rttCount;
    rttSumUs += other.rttSumUs;
    rttMaxUs = std::max(rttMaxUs, other.rttMaxUs);
    return *this;
}

TrafficCounters TrafficDelta::total() const
{
    TrafficCounters sum;
    for (const MeterTraffic &meter : meters)
        sum += meter.counters;
    return sum;
}

bool isNumericValue(const QVariant &value)
{
    switch (value.typeId()) {
    case QMetaType::Double:
    case QMetaType::Float:
    case QMetaType::Int:
    case QMetaType::UInt:
    case QMetaType::LongLong:
    case QMetaType::ULongLong:
        return true;
    default:
        return false;
    }
}

} // namespace polling
