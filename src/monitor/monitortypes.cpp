#include "monitortypes.h"

namespace monitor {

// Registered once at load, so queued connections between the MQTT, sampler and GUI threads can
// carry these by name as well as by type. TrafficMonitor calls it too: that reference is what
// makes a static link keep this file (and so the load-time registration).
void registerMonitorMetaTypes()
{
    static const bool registered = [] {
        qRegisterMetaType<monitor::MqttAck>();
        qRegisterMetaType<monitor::OutboxStatus>();
        qRegisterMetaType<monitor::InterfaceRates>();
        qRegisterMetaType<monitor::MinuteRollup>();
        return true;
    }();
    Q_UNUSED(registered);
}

Q_CONSTRUCTOR_FUNCTION(registerMonitorMetaTypes)

MeterCounters &MeterCounters::operator+=(const MeterCounters &other)
{
    dlms += other.dlms;
    mqttMessages += other.mqttMessages;
    mqttPayloadBytes += other.mqttPayloadBytes;
    mqttPacketBytes += other.mqttPacketBytes;
    mqttValues += other.mqttValues;
    mqttPublishFailures += other.mqttPublishFailures;
    ifRxErrors += other.ifRxErrors;
    ifTxErrors += other.ifTxErrors;
    ifRxDrops += other.ifRxDrops;
    ifTxDrops += other.ifTxDrops;
    return *this;
}

} // namespace monitor
