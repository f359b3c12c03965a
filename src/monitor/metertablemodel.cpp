#include "metertablemodel.h"

#include "trafficmonitor.h"

using namespace Qt::StringLiterals;

namespace monitor {

namespace {

const QString kNoData = u"\u2014"_s; // em dash

// Decimal (SI, 1000-based) units, as network figures are usually quoted: "1.2 KB" = 1,200 bytes.
QString formatBytes(double bytes, bool fractional)
{
    static const char16_t *const units[] = {u"KB", u"MB", u"GB", u"TB"};
    if (bytes < 1000)
        return (fractional ? QString::number(bytes, 'f', 1) : QString::number(qint64(bytes))) + u" B"_s;
    double v = bytes / 1000;
    int unit = 0;
    while (v >= 1000 && unit < 3) {
        v /= 1000;
        ++unit;
    }
    return QString::number(v, 'f', 1) + u' ' + QString::fromUtf16(units[unit]);
}

QString formatRate(double bitsPerSecond)
{
    static const char16_t *const units[] = {u"kbit/s", u"Mbit/s", u"Gbit/s"};
    if (bitsPerSecond < 1000)
        return QString::number(bitsPerSecond, 'f', 0) + u" bit/s"_s;
    double v = bitsPerSecond / 1000;
    int unit = 0;
    while (v >= 1000 && unit < 2) {
        v /= 1000;
        ++unit;
    }
    return QString::number(v, 'f', 1) + u' ' + QString::fromUtf16(units[unit]);
}

QString formatPercent(double fraction)
{
    return QString::number(fraction * 100, 'f', 1) + u" %"_s;
}

QString formatMs(double ms)
{
    return QString::number(ms, 'f', 1) + u" ms"_s;
}

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
        return {formatRate(s.current.txBps), s.current.txBps};
    case MeterTableModel::RxRate:
        return {formatRate(s.current.rxBps), s.current.rxBps};
    default:
        return {};
    }
}

struct ColumnInfo {
    const char16_t *title;
    const char16_t *tip;
};

constexpr ColumnInfo kColumns[MeterTableModel::ColumnCount] = {
    {u"Meter", u"Meter id"},
    {u"Requests", u"DLMS request APDUs sent (AARQ, GET, SET, ACTION, RLRQ)"},
    {u"Responses", u"DLMS response APDUs received"},
    {u"Sent", u"DLMS bytes sent to the meter (TCP payload)"},
    {u"Received", u"DLMS bytes received from the meter (TCP payload)"},
    {u"Avg request", u"Average size of a frame sent (bytes / frames)"},
    {u"Avg response", u"Average size of a frame received (bytes / frames)"},
    {u"Timeouts", u"Requests and connections that timed out"},
    {u"Protocol errors", u"Stray bytes, invoke-id mismatches, bad frames, exception responses"},
    {u"Reconnects", u"Connection attempts after a failure"},
    {u"RTT avg", u"Average request round trip since start"},
    {u"RTT p95", u"95th percentile of the recent round trips"},
    {u"RTT max", u"Longest request round trip since start"},
    {u"Success", u"Polls completed / polls attempted"},
    {u"Bytes/value", u"DLMS bytes (both directions) per reading value"},
    {u"MQTT msgs", u"MQTT messages acknowledged by the broker that carried this meter's values"},
    {u"MQTT bytes", u"MQTT packet bytes acknowledged for this meter (its share of each message)"},
    {u"TX", u"Traffic to the meter in the last second (DLMS + MQTT), bits/s"},
    {u"RX", u"Traffic from the meter in the last second, bits/s"},
};

} // namespace

MeterTableModel::MeterTableModel(TrafficMonitor *monitor, QObject *parent)
    : QAbstractTableModel(parent), m_monitor(monitor)
{
    if (!m_monitor)
        return;
    m_ids = m_monitor->meterIds();
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
    if (row >= m_monitor->meterCount())
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
    if (role == Qt::DisplayRole)
        return QString::fromUtf16(kColumns[section].title);
    if (role == Qt::ToolTipRole)
        return QString::fromUtf16(kColumns[section].tip);
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

void MeterTableModel::onTicked()
{
    if (m_ids.isEmpty())
        return;
    static const QList<int> roles {Qt::DisplayRole, int(SortRole)}; // shared: no allocation per tick
    Q_EMIT dataChanged(index(0, 0), index(int(m_ids.size()) - 1, ColumnCount - 1), roles);
}

} // namespace monitor
