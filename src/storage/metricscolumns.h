#pragma once

// Private to the storage library: the network_metrics columns after period_s, in table order,
// each tied to its MetricsRow member. The writer inserts them, the reader selects them and the
// CSV export names them from this one list, so a column added to the schema is added here once.

#include <monitortypes.h>

#include <QtCore/QLatin1StringView>

#include <array>

namespace storage::detail {

struct MetricsColumn {
    QLatin1StringView name;
    // Exactly one is set: counters are exact integers, rates doubles.
    quint64 monitor::MetricsRow::*counter = nullptr;
    double monitor::MetricsRow::*rate = nullptr;
    qint64 monitor::MetricsRow::*signedCounter = nullptr;
};

using Row = monitor::MetricsRow;

inline constexpr auto counterColumn(const char *name, quint64 Row::*member)
{
    return MetricsColumn {QLatin1StringView(name), member, nullptr, nullptr};
}
inline constexpr auto rateColumn(const char *name, double Row::*member)
{
    return MetricsColumn {QLatin1StringView(name), nullptr, member, nullptr};
}

inline const std::array<MetricsColumn, 33> &metricsColumns()
{
    static const std::array<MetricsColumn, 33> columns {
        counterColumn("dlms_requests_sent", &Row::dlmsRequestsSent),
        counterColumn("dlms_responses_recv", &Row::dlmsResponsesRecv),
        counterColumn("dlms_bytes_sent", &Row::dlmsBytesSent),
        counterColumn("dlms_bytes_recv", &Row::dlmsBytesRecv),
        rateColumn("dlms_avg_payload_size", &Row::dlmsAvgPayloadSize),
        counterColumn("mqtt_messages_sent", &Row::mqttMessagesSent),
        counterColumn("mqtt_bytes_sent", &Row::mqttBytesSent),
        rateColumn("bandwidth_tx_bps", &Row::bandwidthTxBps),
        rateColumn("bandwidth_rx_bps", &Row::bandwidthRxBps),
        rateColumn("packets_tx_ps", &Row::packetsTxPs),
        rateColumn("packets_rx_ps", &Row::packetsRxPs),
        counterColumn("dlms_frames_sent", &Row::dlmsFramesSent),
        counterColumn("dlms_frames_recv", &Row::dlmsFramesRecv),
        counterColumn("dlms_timeouts", &Row::dlmsTimeouts),
        counterColumn("dlms_protocol_errors", &Row::dlmsProtocolErrors),
        counterColumn("dlms_reconnects", &Row::dlmsReconnects),
        counterColumn("polls_attempted", &Row::pollsAttempted),
        counterColumn("polls_completed", &Row::pollsCompleted),
        counterColumn("polls_failed", &Row::pollsFailed),
        counterColumn("values_read", &Row::valuesRead),
        rateColumn("rtt_avg_ms", &Row::rttAvgMs),
        rateColumn("rtt_p95_ms", &Row::rttP95Ms),
        rateColumn("rtt_max_ms", &Row::rttMaxMs),
        counterColumn("rtt_samples", &Row::rttSamples),
        counterColumn("mqtt_packet_bytes_sent", &Row::mqttPacketBytesSent),
        counterColumn("mqtt_publish_failures", &Row::mqttPublishFailures),
        MetricsColumn {QLatin1StringView("outbox_backlog"), nullptr, nullptr, &Row::outboxBacklog},
        rateColumn("bandwidth_tx_peak_bps", &Row::bandwidthTxPeakBps),
        rateColumn("bandwidth_rx_peak_bps", &Row::bandwidthRxPeakBps),
        counterColumn("if_rx_errors", &Row::ifRxErrors),
        counterColumn("if_tx_errors", &Row::ifTxErrors),
        counterColumn("if_rx_drops", &Row::ifRxDrops),
        counterColumn("if_tx_drops", &Row::ifTxDrops),
    };
    return columns;
}

// Calls f with the column's member of `row` (quint64, double or qint64; const when row is):
// the one place that tells the three kinds apart for binding, reading and printing.
template<typename RowType, typename F>
inline void visitColumn(const MetricsColumn &column, RowType &row, F &&f)
{
    if (column.counter)
        f(row.*column.counter);
    else if (column.rate)
        f(row.*column.rate);
    else
        f(row.*column.signedCounter);
}

// Bytes per frame, 0 when none. Rows of the Python bridge have no frame counts: its requests
// and responses were its frames, so they stand in.
inline double averageSize(quint64 bytes, quint64 frames, quint64 messages)
{
    const quint64 count = frames > 0 ? frames : messages;
    return count > 0 ? double(bytes) / double(count) : 0.0;
}

} // namespace storage::detail
