#include "seriesmodel.h"

#include "trafficmonitor.h"

#include <QtCore/QDateTime>

#include <algorithm>

using namespace Qt::StringLiterals;

namespace monitor {

SeriesModel::Row SeriesModel::rowOf(const SecondSample &s, qint64 timestampMs, qint64 durationMs)
{
    const double seconds = double(std::max<qint64>(1, durationMs)) / 1000.0;
    return {timestampMs,
        {double(s.txBytes) * 8 / seconds, double(s.rxBytes) * 8 / seconds, double(s.txPackets) / seconds,
            double(s.rxPackets) / seconds}};
}

SeriesModel::SeriesModel(TrafficMonitor *monitor, QObject *parent)
    : QAbstractTableModel(parent), m_monitor(monitor)
{
    if (!m_monitor)
        return;
    m_liveRows = HistoryRing<Row>(std::size_t(m_monitor->options().windowSeconds));
    connect(m_monitor, &QObject::destroyed, this, &SeriesModel::onMonitorDestroyed);
    connect(m_monitor, &TrafficMonitor::ticked, this, &SeriesModel::onTicked);
    connect(m_monitor, &TrafficMonitor::meterRemoved, this, &SeriesModel::onMeterRemoved);
    rebuildLive();
}

void SeriesModel::setMeter(const QString &meterId)
{
    beginResetModel();
    m_meter = meterId;
    m_live = true;
    m_historyRows.clear();
    rebuildLive();
    endResetModel();
    Q_EMIT updated();
}

QString SeriesModel::meter() const
{
    return m_meter;
}

void SeriesModel::setHistory(const std::vector<MetricsRow> &rows)
{
    beginResetModel();
    m_live = false;
    m_liveRows.clear();
    m_oldestHidden = false;
    m_historyRows.clear();
    m_historyRows.reserve(rows.size());
    for (const MetricsRow &r : rows)
        m_historyRows.push_back(
            {r.timestampMs, {r.bandwidthTxBps, r.bandwidthRxBps, r.packetsTxPs, r.packetsRxPs}});
    endResetModel();
    Q_EMIT updated();
}

bool SeriesModel::isLive() const
{
    return m_live;
}

void SeriesModel::rebuildLive()
{
    m_liveRows.clear();
    m_oldestHidden = false;
    if (!m_monitor)
        return;
    const HistoryRing<SecondSample> *ring = m_monitor->ringOf(m_meter);
    if (!ring)
        return;
    const auto &ticks = m_monitor->ticks();
    // A meter added later has fewer samples than there are ticks: they are the newest ones.
    const std::size_t n = std::min(ring->size(), ticks.size());
    const std::size_t sampleOffset = ring->size() - n;
    const std::size_t tickOffset = ticks.size() - n;
    for (std::size_t i = 0; i < n; ++i) {
        const auto &tick = ticks.at(tickOffset + i);
        m_liveRows.push(rowOf(ring->at(sampleOffset + i), tick.timestampMs, tick.durationMs));
    }
}

void SeriesModel::onTicked()
{
    if (!m_live || !m_monitor)
        return;
    const HistoryRing<SecondSample> *ring = m_monitor->ringOf(m_meter);
    if (!ring || ring->empty() || m_monitor->ticks().empty()) {
        Q_EMIT updated();
        return;
    }
    const auto &tick = m_monitor->ticks().newest();
    const Row row = rowOf(ring->newest(), tick.timestampMs, tick.durationMs);
    if (m_liveRows.size() == m_liveRows.capacity()) {
        // The push below overwrites the oldest row: announce its removal first.
        beginRemoveRows({}, 0, 0);
        m_oldestHidden = true;
        endRemoveRows();
    }
    const int at = rowCount();
    beginInsertRows({}, at, at);
    m_liveRows.push(row);
    m_oldestHidden = false;
    endInsertRows();
    Q_EMIT updated();
}

void SeriesModel::onMeterRemoved(int, const QString &meterId)
{
    if (!m_live || m_meter.isEmpty() || meterId != m_meter)
        return;
    beginResetModel();
    m_liveRows.clear();
    m_oldestHidden = false;
    endResetModel();
    Q_EMIT updated();
}

void SeriesModel::onMonitorDestroyed()
{
    // The pointer is already null here. History rows came from storage and stay.
    if (!m_live)
        return;
    beginResetModel();
    m_liveRows.clear();
    m_oldestHidden = false;
    endResetModel();
    Q_EMIT updated();
}

const SeriesModel::Row &SeriesModel::rowAt(int row) const
{
    if (!m_live)
        return m_historyRows[std::size_t(row)];
    return m_liveRows.at(std::size_t(row) + (m_oldestHidden ? 1 : 0));
}

double SeriesModel::valueAt(int row, Column column) const
{
    const Row &r = rowAt(row);
    return column == Time ? double(r.timestampMs) : r.values[column - TxBps];
}

QList<QPointF> SeriesModel::points(Column column) const
{
    QList<QPointF> out;
    if (column < Time || column >= ColumnCount)
        return out;
    const int rows = rowCount();
    out.reserve(rows);
    for (int i = 0; i < rows; ++i)
        out.append(QPointF(double(rowAt(i).timestampMs), valueAt(i, column)));
    return out;
}

double SeriesModel::maximum(Column column) const
{
    if (column < Time || column >= ColumnCount)
        return 0;
    double highest = 0;
    const int rows = rowCount();
    for (int i = 0; i < rows; ++i)
        highest = std::max(highest, valueAt(i, column));
    return highest;
}

int SeriesModel::rowCount(const QModelIndex &parent) const
{
    if (parent.isValid())
        return 0;
    if (!m_live)
        return int(m_historyRows.size());
    return int(m_liveRows.size()) - (m_oldestHidden ? 1 : 0);
}

int SeriesModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant SeriesModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const auto column = Column(index.column());
    const Row &r = rowAt(index.row());
    switch (role) {
    case Qt::DisplayRole:
        if (column == Time)
            return QDateTime::fromMSecsSinceEpoch(r.timestampMs, Qt::UTC).toString(Qt::ISODateWithMs);
        return r.values[column - TxBps];
    case Qt::EditRole:
        if (column == Time)
            return r.timestampMs;
        return r.values[column - TxBps];
    case ValueRole:
        return valueAt(index.row(), column);
    case Qt::TextAlignmentRole:
        return QVariant::fromValue(int((column == Time ? Qt::AlignLeft : Qt::AlignRight) | Qt::AlignVCenter));
    default:
        return {};
    }
}

QVariant SeriesModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal)
        return QAbstractTableModel::headerData(section, orientation, role);
    if (section < 0 || section >= ColumnCount)
        return {};
    // Marked for lupdate here, inside the class, so the context is the one tr() looks up.
    static constexpr const char *kTitles[ColumnCount] = {QT_TR_NOOP("Time"), QT_TR_NOOP("TX bit/s"),
        QT_TR_NOOP("RX bit/s"), QT_TR_NOOP("TX packets/s"), QT_TR_NOOP("RX packets/s")};
    if (role == Qt::DisplayRole)
        return tr(kTitles[section]);
    return {};
}

} // namespace monitor
