#include "networkstats.h"

#include "metricscolumns.h"

#include <QtCore/QDateTime>
#include <QtCore/QJsonArray>

#include <algorithm>
#include <cmath>
#include <limits>

using namespace Qt::StringLiterals;

namespace storage {

namespace {

// Rates keep a resolution of 1 bps in every unit: 3 decimals in kbps, 6 in Mbps (the seed's 3
// decimals of Mbps would show a meter polled once a second, a few hundred bps, as 0).
double rounded(double value, int decimals)
{
    if (!std::isfinite(value))
        return 0;
    const double scale = std::pow(10.0, decimals);
    return std::round(value * scale) / scale;
}
double kbps(double bps)
{
    return rounded(bps / 1000.0, 3);
}
double mbps(double bps)
{
    return rounded(bps / 1e6, 6);
}
double perSecond(double value)
{
    return rounded(value, 3);
}
// Counters are exact integers in JSON.
QJsonValue count(quint64 value)
{
    return QJsonValue(qint64(std::min<quint64>(value, quint64(std::numeric_limits<qint64>::max()))));
}

QString isoUtc(qint64 ms)
{
    return QDateTime::fromMSecsSinceEpoch(ms, Qt::UTC).toString(Qt::ISODate);
}

// Rates over several rows: weighted by the seconds each covers, i.e. total bits / total time.
struct WindowRates {
    double txBps = 0;
    double rxBps = 0;
    double txPps = 0;
    double rxPps = 0;
};

WindowRates averageOf(const std::vector<monitor::MetricsRow> &rows)
{
    WindowRates average;
    double seconds = 0;
    for (const monitor::MetricsRow &row : rows)
        seconds += std::max(row.periodS, 0.0);
    for (const monitor::MetricsRow &row : rows) {
        // Rows without a period (hand-made) count equally rather than not at all.
        const double weight = seconds > 0 ? std::max(row.periodS, 0.0) / seconds : 1.0 / double(rows.size());
        average.txBps += row.bandwidthTxBps * weight;
        average.rxBps += row.bandwidthRxBps * weight;
        average.txPps += row.packetsTxPs * weight;
        average.rxPps += row.packetsRxPs * weight;
    }
    return average;
}

} // namespace

dlms::Result<QJsonObject> networkStatsDocument(Reader &reader, const QString &meterId, int historyRows)
{
    const QString file = reader.database().databaseName();
    const bool system = meterId == monitor::SystemMeterId;
    const auto name = reader.meterName(meterId);
    if (!name)
        return name.error();
    const auto totals = reader.metricsTotals(meterId);
    if (!totals)
        return totals.error();
    // The system always exists, even before its first minute was written.
    if (!system && !name->has_value() && totals->rows == 0)
        return dlms::Error {dlms::ErrorCode::InvalidArgument, u"%1: unknown meter '%2'"_s.arg(file, meterId)};

    constexpr qint64 allFrom = std::numeric_limits<qint64>::min();
    constexpr qint64 allTo = std::numeric_limits<qint64>::max();
    std::vector<monitor::MetricsRow> history;
    std::optional<monitor::MetricsRow> newest;
    if (totals->rows > 0) {
        auto rows = reader.metrics(meterId, allFrom, allTo, historyRows > 0 ? historyRows : 1);
        if (!rows)
            return rows.error();
        if (!rows->empty())
            newest = rows->back();
        if (historyRows > 0)
            history = std::move(*rows);
    }
    const monitor::MetricsRow &sums = totals->sums;
    const monitor::MetricsRow latest = newest.value_or(monitor::MetricsRow {});

    QJsonObject document;
    document.insert(u"meter_id"_s, meterId);
    QString meterName = system ? u"system"_s : name->value_or(QString());
    if (meterName.isEmpty())
        meterName = meterId;
    document.insert(u"meter_name"_s, meterName);
    // Before the first row there is no "as of" but now.
    document.insert(
        u"timestamp"_s, isoUtc(newest ? latest.timestampMs : QDateTime::currentMSecsSinceEpoch()));

    document.insert(u"current"_s,
        QJsonObject {
            {u"bandwidth_tx_kbps"_s, kbps(latest.bandwidthTxBps)},
            {u"bandwidth_rx_kbps"_s, kbps(latest.bandwidthRxBps)},
            {u"bandwidth_total_kbps"_s, kbps(latest.bandwidthTxBps + latest.bandwidthRxBps)},
            {u"packets_tx_ps"_s, perSecond(latest.packetsTxPs)},
            {u"packets_rx_ps"_s, perSecond(latest.packetsRxPs)},
        });

    const quint64 dlmsBytes = sums.dlmsBytesSent + sums.dlmsBytesRecv;
    document.insert(u"application"_s,
        QJsonObject {
            {u"dlms_requests_sent"_s, count(sums.dlmsRequestsSent)},
            {u"dlms_responses_recv"_s, count(sums.dlmsResponsesRecv)},
            {u"dlms_avg_payload_size"_s, rounded(sums.dlmsAvgPayloadSize, 3)},
            {u"dlms_total_bytes_sent"_s, count(sums.dlmsBytesSent)},
            {u"dlms_total_bytes_recv"_s, count(sums.dlmsBytesRecv)},
            {u"mqtt_messages_sent"_s, count(sums.mqttMessagesSent)},
            {u"mqtt_total_bytes_sent"_s, count(sums.mqttBytesSent)},
            // Both directions per frame: what the seed's name suggests but not what it computed.
            {u"dlms_avg_frame_size"_s,
                rounded(detail::averageSize(dlmsBytes, sums.dlmsFramesSent + sums.dlmsFramesRecv,
                            sums.dlmsRequestsSent + sums.dlmsResponsesRecv),
                    3)},
            {u"dlms_avg_request_size"_s,
                rounded(
                    detail::averageSize(sums.dlmsBytesSent, sums.dlmsFramesSent, sums.dlmsRequestsSent), 3)},
            {u"dlms_avg_response_size"_s,
                rounded(
                    detail::averageSize(sums.dlmsBytesRecv, sums.dlmsFramesRecv, sums.dlmsResponsesRecv), 3)},
            {u"dlms_frames_sent"_s, count(sums.dlmsFramesSent)},
            {u"dlms_frames_recv"_s, count(sums.dlmsFramesRecv)},
            {u"mqtt_packet_bytes_sent"_s, count(sums.mqttPacketBytesSent)},
            {u"values_read"_s, count(sums.valuesRead)},
            {u"dlms_bytes_per_value"_s,
                rounded(sums.valuesRead > 0 ? double(dlmsBytes) / double(sums.valuesRead) : 0.0, 3)},
        });

    const WindowRates average = averageOf(history);
    document.insert(u"averages"_s,
        QJsonObject {
            {u"bandwidth_tx_mbps"_s, mbps(average.txBps)},
            {u"bandwidth_rx_mbps"_s, mbps(average.rxBps)},
            {u"packets_tx_ps"_s, perSecond(average.txPps)},
            {u"packets_rx_ps"_s, perSecond(average.rxPps)},
        });

    // The seed's peaks are the highest per-row rate; ours beside them the highest one-second
    // rate inside any row (never below that row's average).
    WindowRates peak;
    double peakTx1s = 0;
    double peakRx1s = 0;
    double rttP95 = 0;
    for (const monitor::MetricsRow &row : history) {
        peak.txBps = std::max(peak.txBps, row.bandwidthTxBps);
        peak.rxBps = std::max(peak.rxBps, row.bandwidthRxBps);
        peak.txPps = std::max(peak.txPps, row.packetsTxPs);
        peak.rxPps = std::max(peak.rxPps, row.packetsRxPs);
        peakTx1s = std::max({peakTx1s, row.bandwidthTxPeakBps, row.bandwidthTxBps});
        peakRx1s = std::max({peakRx1s, row.bandwidthRxPeakBps, row.bandwidthRxBps});
        rttP95 = std::max(rttP95, row.rttP95Ms);
    }
    document.insert(u"peaks"_s,
        QJsonObject {
            {u"bandwidth_tx_mbps"_s, mbps(peak.txBps)},
            {u"bandwidth_rx_mbps"_s, mbps(peak.rxBps)},
            {u"packets_tx_ps"_s, perSecond(peak.txPps)},
            {u"packets_rx_ps"_s, perSecond(peak.rxPps)},
            {u"bandwidth_tx_peak_1s_mbps"_s, mbps(peakTx1s)},
            {u"bandwidth_rx_peak_1s_mbps"_s, mbps(peakRx1s)},
        });

    QJsonArray timestamps;
    QJsonArray txMbps;
    QJsonArray rxMbps;
    QJsonArray txPps;
    QJsonArray rxPps;
    for (const monitor::MetricsRow &row : history) {
        timestamps.append(isoUtc(row.timestampMs));
        txMbps.append(mbps(row.bandwidthTxBps));
        rxMbps.append(mbps(row.bandwidthRxBps));
        txPps.append(perSecond(row.packetsTxPs));
        rxPps.append(perSecond(row.packetsRxPs));
    }
    document.insert(u"history"_s,
        QJsonObject {
            {u"timestamp"_s, timestamps},
            {u"bandwidth_tx_mbps"_s, txMbps},
            {u"bandwidth_rx_mbps"_s, rxMbps},
            {u"packets_tx_ps"_s, txPps},
            {u"packets_rx_ps"_s, rxPps},
        });

    // null rather than a made-up figure before the first poll.
    const QJsonValue successRate = sums.pollsAttempted > 0
        ? QJsonValue(rounded(double(sums.pollsCompleted) / double(sums.pollsAttempted), 4))
        : QJsonValue(QJsonValue::Null);
    document.insert(u"reliability"_s,
        QJsonObject {
            {u"timeouts"_s, count(sums.dlmsTimeouts)},
            {u"protocol_errors"_s, count(sums.dlmsProtocolErrors)},
            {u"reconnects"_s, count(sums.dlmsReconnects)},
            {u"polls_attempted"_s, count(sums.pollsAttempted)},
            {u"polls_completed"_s, count(sums.pollsCompleted)},
            {u"polls_failed"_s, count(sums.pollsFailed)},
            {u"poll_success_rate"_s, successRate},
            {u"mqtt_publish_failures"_s, count(sums.mqttPublishFailures)},
        });

    // Averages and maxima combine across rows; percentiles do not, so rtt_p95_ms is the highest
    // per-minute p95 of the history rows (an upper bound of the window's p95).
    document.insert(u"latency"_s,
        QJsonObject {
            {u"rtt_avg_ms"_s, rounded(sums.rttAvgMs, 3)},
            {u"rtt_p95_ms"_s, rounded(rttP95, 3)},
            {u"rtt_max_ms"_s, rounded(sums.rttMaxMs, 3)},
        });

    document.insert(u"interface"_s,
        QJsonObject {
            {u"rx_errors"_s, count(sums.ifRxErrors)},
            {u"tx_errors"_s, count(sums.ifTxErrors)},
            {u"rx_drops"_s, count(sums.ifRxDrops)},
            {u"tx_drops"_s, count(sums.ifTxDrops)},
        });

    document.insert(
        u"outbox"_s, QJsonObject {{u"backlog"_s, qint64(std::max<qint64>(latest.outboxBacklog, 0))}});

    double windowSeconds = 0;
    for (const monitor::MetricsRow &row : history)
        windowSeconds += std::max(row.periodS, 0.0);
    QJsonObject window {{u"rows"_s, qint64(history.size())}, {u"period_s"_s, rounded(windowSeconds, 3)}};
    if (history.empty()) {
        window.insert(u"from"_s, QJsonValue(QJsonValue::Null));
        window.insert(u"to"_s, QJsonValue(QJsonValue::Null));
    } else {
        const monitor::MetricsRow &last = history.back();
        window.insert(u"from"_s, isoUtc(history.front().timestampMs));
        window.insert(
            u"to"_s, isoUtc(last.timestampMs + qint64(std::llround(std::max(last.periodS, 0.0) * 1000))));
    }
    document.insert(u"window"_s, window);
    return document;
}

} // namespace storage
