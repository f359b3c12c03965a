#include "metertablemodel.h"

#include "displayformat.h"
#include "trafficmonitor.h"

#include <QtCore/QCoreApplication>

using namespace Qt::StringLiterals;

namespace monitor {

namespace {

const QString kNoData = noData();

// Display text and sort value of one cell.
struct Cell {
    QString text;
    QVariant sort;
};

Cell count(quint64 v)
{
    return {QString::number(v), QVariant::fromValue<qulonglong>(v)};
}

Cell bytes(quint64 v)
{
    return {formatBytes(double(v), false), QVariant::fromValue<qulonglong>(v)};
}

Cell optional(bool present, double v, QString text)
{
    return {present ? std::move(text) : kNoData, v};
}

Cell cellOf(const MeterStats &s, int column)
{
    const polling::TrafficCounters &d = s.counters.dlms;
    const bool rtt = d.rttCount > 0;
    switch (column) {
    case MeterTableModel::Requests:
        return count(d.requestsSent);
    case MeterTableModel::Responses:
        return count(d.responsesReceived);
    case MeterTableModel::BytesSent:
        return bytes(d.bytesSent);
    case MeterTableModel::BytesReceived:
        return bytes(d.bytesReceived);
    case MeterTableModel::AvgRequestSize:
        return optional(d.framesSent > 0, s.avgRequestBytes, formatBytes(s.avgRequestBytes, true));
    case MeterTableModel::AvgResponseSize:
        return optional(d.framesReceived > 0, s.avgResponseBytes, formatBytes(s.avgResponseBytes, true));
    case MeterTableModel::Timeouts:
        return count(d.timeouts);
    case MeterTableModel::ProtocolErrors:
        return count(d.protocolErrors);
    case MeterTableModel::Reconnects:
        return count(d.reconnects);
    case MeterTableModel::RttAvg:
        return optional(rtt, s.rttAvgMs, formatMs(s.rttAvgMs));
    case MeterTableModel::RttP95:
        return optional(rtt, s.rttP95Ms, formatMs(s.rttP95Ms));
    case MeterTableModel::RttMax:
        return optional(rtt, s.rttMaxMs, formatMs(s.rttMaxMs));
    case MeterTableModel::SuccessRate:
        return optional(s.pollSuccessRate >= 0, s.pollSuccessRate, formatPercent(s.pollSuccessRate));
    case MeterTableModel::BytesPerValue:
        return optional(d.valuesRead > 0, s.dlmsBytesPerValue, formatBytes(s.dlmsBytesPerValue, true));
    case MeterTableModel::MqttMessages:
        return count(s.counters.mqttMessages);
    case MeterTableModel::MqttBytes:
        return bytes(s.counters.mqttPacketBytes);
    case MeterTableModel::TxRate:
        return {formatBitRate(s.current.txBps), s.current.txBps};
    case MeterTableModel::RxRate:
        return {formatBitRate(s.current.rxBps), s.current.rxBps};
    default:
        return {};
    }
}

} // namespace

MeterTableModel::MeterTableModel(TrafficMonitor *monitor, QObject *parent)
    : QAbstractTableModel(parent), m_monitor(monitor)
{
    if (!m_monitor)
        return;
    m_ids = m_monitor->meterIds();
    connect(m_monitor, &QObject::destroyed, this, &MeterTableModel::onMonitorDestroyed);
    connect(m_monitor, &TrafficMonitor::meterAdded, this, &MeterTableModel::onMeterAdded);
    connect(m_monitor, &TrafficMonitor::meterRemoved, this, &MeterTableModel::onMeterRemoved);
    connect(m_monitor, &TrafficMonitor::ticked, this, &MeterTableModel::onTicked);
}

int MeterTableModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_ids.size());
}

int MeterTableModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant MeterTableModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const int row = index.row();
    const int column = index.column();
    if (role == MeterIdRole)
        return m_ids.at(row);
    if (role == Qt::TextAlignmentRole)
        return QVariant::fromValue(
            int((column == Meter ? Qt::AlignLeft : Qt::AlignRight) | Qt::AlignVCenter));
    if (role != Qt::DisplayRole && role != SortRole)
        return {};
    if (column == Meter)
        return m_ids.at(row);
    // Only between a monitor change and its signal can the two disagree.
    if (!m_monitor || row >= m_monitor->meterCount())
        return {};
    const MeterStats &stats = m_monitor->cachedStats(*m_monitor->m_meters[std::size_t(row)]);
    Cell cell = cellOf(stats, column);
    return role == Qt::DisplayRole ? QVariant(cell.text) : cell.sort;
}

QVariant MeterTableModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal)
        return QAbstractTableModel::headerData(section, orientation, role);
    if (section < 0 || section >= ColumnCount)
        return {};
    // Marked for lupdate here, inside the class, so the context is the one tr() looks up.
    struct ColumnInfo {
        const char *title;
        const char *tip;
    };
    static constexpr ColumnInfo kColumns[MeterTableModel::ColumnCount] = {
        {QT_TR_NOOP("Meter"), QT_TR_NOOP("Meter id")},
        {QT_TR_NOOP("Requests"), QT_TR_NOOP("DLMS request APDUs sent (AARQ, GET, SET, ACTION, RLRQ)")},
        {QT_TR_NOOP("Responses"), QT_TR_NOOP("DLMS response APDUs received")},
        {QT_TR_NOOP("Sent"), QT_TR_NOOP("DLMS bytes sent to the meter (TCP payload)")},
        {QT_TR_NOOP("Received"), QT_TR_NOOP("DLMS bytes received from the meter (TCP payload)")},
        {QT_TR_NOOP("Avg request"), QT_TR_NOOP("Average size of a frame sent (bytes / frames)")},
        {QT_TR_NOOP("Avg response"), QT_TR_NOOP("Average size of a frame received (bytes / frames)")},
        {QT_TR_NOOP("Timeouts"), QT_TR_NOOP("Requests and connections that timed out")},
        {QT_TR_NOOP("Protocol errors"),
            QT_TR_NOOP("Stray bytes, invoke-id mismatches, bad frames, exception responses")},
        {QT_TR_NOOP("Reconnects"), QT_TR_NOOP("Connection attempts after a failure")},
        {QT_TR_NOOP("RTT avg"), QT_TR_NOOP("Average request round trip since start")},
        {QT_TR_NOOP("RTT p95"), QT_TR_NOOP("95th percentile of the recent round trips")},
        {QT_TR_NOOP("RTT max"), QT_TR_NOOP("Longest request round trip since start")},
        {QT_TR_NOOP("Success"), QT_TR_NOOP("Polls completed / polls attempted")},
        {QT_TR_NOOP("Bytes/value"), QT_TR_NOOP("DLMS bytes (both directions) per reading value")},
        {QT_TR_NOOP("MQTT msgs"),
            QT_TR_NOOP("MQTT messages acknowledged by the broker that carried this meter's values")},
        {QT_TR_NOOP("MQTT bytes"),
            QT_TR_NOOP("MQTT packet bytes acknowledged for this meter (its share of each message)")},
        {QT_TR_NOOP("TX"), QT_TR_NOOP("Traffic to the meter in the last second (DLMS + MQTT), bits/s")},
        {QT_TR_NOOP("RX"), QT_TR_NOOP("Traffic from the meter in the last second, bits/s")},
    };
    if (role == Qt::DisplayRole)
        return tr(kColumns[section].title);
    if (role == Qt::ToolTipRole)
        return tr(kColumns[section].tip);
    return {};
}

void MeterTableModel::onMeterAdded(int index, const QString &meterId)
{
    index = std::clamp(index, 0, int(m_ids.size()));
    beginInsertRows({}, index, index);
    m_ids.insert(index, meterId);
    endInsertRows();
}

void MeterTableModel::onMeterRemoved(int index, const QString &meterId)
{
    if (index < 0 || index >= m_ids.size() || m_ids.at(index) != meterId)
        index = int(m_ids.indexOf(meterId));
    if (index < 0)
        return;
    beginRemoveRows({}, index, index);
    m_ids.removeAt(index);
    endRemoveRows();
}

void MeterTableModel::onMonitorDestroyed()
{
    // The pointer is already null here; the rows it described go with it.
    beginResetModel();
    m_ids.clear();
    endResetModel();
}

void MeterTableModel::onTicked()
{
    if (m_ids.isEmpty())
        return;
    static const QList<int> roles {Qt::DisplayRole, int(SortRole)}; // shared: no allocation per tick
    Q_EMIT dataChanged(index(0, 0), index(int(m_ids.size()) - 1, ColumnCount - 1), roles);
}

} // namespace monitor
