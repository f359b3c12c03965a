#include "meterlistmodel.h"

#include <displayformat.h>

#include <QtCore/QDateTime>
#include <QtCore/QSet>
#include <QtGui/QIcon>

using namespace Qt::StringLiterals;

namespace {

QString stateText(polling::MeterState state)
{
    switch (state) {
    case polling::MeterState::Disconnected:
        return MeterListModel::tr("Disconnected");
    case polling::MeterState::Connecting:
        return MeterListModel::tr("Connecting");
    case polling::MeterState::Associating:
        return MeterListModel::tr("Associating");
    case polling::MeterState::Associated:
        return MeterListModel::tr("Associated");
    case polling::MeterState::Polling:
        return MeterListModel::tr("Polling");
    case polling::MeterState::BackingOff:
        return MeterListModel::tr("Backing off");
    case polling::MeterState::CircuitOpen:
        return MeterListModel::tr("Circuit open");
    case polling::MeterState::Paused:
        return MeterListModel::tr("Paused");
    }
    return {};
}

// A paused meter reads as Paused whatever its engine state is while it winds down.
polling::MeterState shownState(const app::MeterStatus &status)
{
    return status.paused ? polling::MeterState::Paused : status.state;
}

QString stateIconName(polling::MeterState state)
{
    switch (state) {
    case polling::MeterState::Polling:
    case polling::MeterState::Associated:
        return u"state-ok"_s;
    case polling::MeterState::Connecting:
    case polling::MeterState::Associating:
        return u"state-busy"_s;
    case polling::MeterState::BackingOff:
        return u"state-warning"_s;
    case polling::MeterState::CircuitOpen:
        return u"state-error"_s;
    case polling::MeterState::Paused:
        return u"state-paused"_s;
    case polling::MeterState::Disconnected:
        break;
    }
    return u"state-idle"_s;
}

QString ageText(qint64 lastMs, qint64 nowMs)
{
    if (lastMs <= 0)
        return monitor::noData();
    return monitor::formatAge(nowMs - lastMs);
}

// What the age text shows, as a number: when it differs between two refreshes the row's
// LastPoll cell changed although its data did not.
qint64 ageKey(qint64 lastMs, qint64 nowMs)
{
    return lastMs <= 0 ? -1 : monitor::ageBucket(nowMs - lastMs);
}

bool hasStats(const MeterRow &row)
{
    return !row.stats.meterId.isEmpty();
}

quint64 dlmsBytes(const MeterRow &row)
{
    return row.stats.counters.dlms.bytesSent + row.stats.counters.dlms.bytesReceived;
}

bool hasRtt(const MeterRow &row)
{
    return hasStats(row) && row.stats.counters.dlms.rttCount > 0;
}

QString transportText(const QString &transport)
{
    return transport == u"hdlc"_s ? MeterListModel::tr("HDLC") : MeterListModel::tr("Wrapper");
}

// The fields any column shows: equal rows render the same (but for the age, compared apart).
bool sameDisplay(const MeterRow &a, const MeterRow &b)
{
    const app::MeterStatus &x = a.status;
    const app::MeterStatus &y = b.status;
    return x.id == y.id && x.name == y.name && x.host == y.host && x.port == y.port
        && x.transport == y.transport && x.state == y.state && x.reason == y.reason && x.paused == y.paused
        && x.lastReadingsMs == y.lastReadingsMs && hasStats(a) == hasStats(b)
        && a.stats.rttAvgMs == b.stats.rttAvgMs
        && a.stats.counters.dlms.rttCount == b.stats.counters.dlms.rttCount
        && a.stats.pollSuccessRate == b.stats.pollSuccessRate && dlmsBytes(a) == dlmsBytes(b)
        && a.stats.counters.mqttMessages == b.stats.counters.mqttMessages;
}

} // namespace

MeterListModel::MeterListModel(std::function<qint64()> clock, QObject *parent)
    : QAbstractTableModel(parent), m_clock(std::move(clock))
{
    if (!m_clock)
        m_clock = [] { return QDateTime::currentMSecsSinceEpoch(); };
}

void MeterListModel::setRows(QList<MeterRow> rows)
{
    const qint64 now = m_clock();

    // Ids are unique in the bridge; a duplicate would break the diff, so only its first counts.
    QHash<QString, int> wanted;
    wanted.reserve(rows.size());
    for (qsizetype i = 0; i < rows.size();) {
        if (wanted.contains(rows[i].status.id)) {
            rows.removeAt(i);
            continue;
        }
        wanted.insert(rows[i].status.id, int(i));
        ++i;
    }

    // Removed ids, in contiguous runs from the end so the rows before stay where they are.
    bool removed = false;
    for (int r = int(m_rows.size()) - 1; r >= 0;) {
        if (wanted.contains(m_rows[r].status.id)) {
            --r;
            continue;
        }
        const int last = r;
        while (r >= 0 && !wanted.contains(m_rows[r].status.id))
            --r;
        const int first = r + 1;
        beginRemoveRows({}, first, last);
        m_rows.remove(first, last - first + 1);
        m_ageKeys.remove(first, last - first + 1);
        endRemoveRows();
        removed = true;
    }
    if (removed)
        rebuildIndex();

    // The remaining rows in their new relative order; a move is one layout change.
    QList<int> order;
    order.reserve(m_rows.size());
    bool inOrder = true;
    for (const MeterRow &row : std::as_const(rows)) {
        const auto it = m_index.constFind(row.status.id);
        if (it == m_index.cend())
            continue;
        if (!order.isEmpty() && it.value() < order.constLast())
            inOrder = false;
        order.append(it.value());
    }
    if (!inOrder) {
        emit layoutAboutToBeChanged({}, QAbstractItemModel::VerticalSortHint);
        QList<int> newRowOf(m_rows.size());
        QList<MeterRow> reordered;
        QList<qint64> keys;
        reordered.reserve(order.size());
        keys.reserve(order.size());
        for (int k = 0; k < order.size(); ++k) {
            newRowOf[order[k]] = k;
            reordered.append(m_rows[order[k]]);
            keys.append(m_ageKeys[order[k]]);
        }
        const QModelIndexList from = persistentIndexList();
        QModelIndexList to;
        to.reserve(from.size());
        for (const QModelIndex &index : from)
            to.append(createIndex(newRowOf[index.row()], index.column()));
        changePersistentIndexList(from, to);
        m_rows = std::move(reordered);
        m_ageKeys = std::move(keys);
        rebuildIndex();
        emit layoutChanged({}, QAbstractItemModel::VerticalSortHint);
    }

    // New ids, in runs at their final positions: the rows before each run are already final.
    bool inserted = false;
    for (int i = 0; i < rows.size();) {
        if (m_index.contains(rows[i].status.id)) {
            ++i;
            continue;
        }
        const int first = i;
        while (i < rows.size() && !m_index.contains(rows[i].status.id))
            ++i;
        beginInsertRows({}, first, i - 1);
        for (int k = first; k < i; ++k) {
            m_rows.insert(k, rows[k]);
            m_ageKeys.insert(k, ageKey(rows[k].status.lastReadingsMs, now));
        }
        endInsertRows();
        inserted = true;
    }

    // Values: one dataChanged over the span of rows whose text changed.
    int firstChanged = -1;
    int lastChanged = -1;
    for (int i = 0; i < rows.size(); ++i) {
        const qint64 key = ageKey(rows[i].status.lastReadingsMs, now);
        if (!sameDisplay(m_rows[i], rows[i]) || m_ageKeys[i] != key) {
            if (firstChanged < 0)
                firstChanged = i;
            lastChanged = i;
        }
        m_ageKeys[i] = key;
    }
    m_rows = std::move(rows);
    if (inserted)
        rebuildIndex();
    if (firstChanged >= 0)
        emit dataChanged(index(firstChanged, 0), index(lastChanged, ColumnCount - 1));
}

void MeterListModel::rebuildIndex()
{
    m_index.clear();
    m_index.reserve(m_rows.size());
    for (int i = 0; i < m_rows.size(); ++i)
        m_index.insert(m_rows[i].status.id, i);
}

const MeterRow *MeterListModel::row(const QString &meterId) const
{
    const auto it = m_index.constFind(meterId);
    return it == m_index.cend() ? nullptr : &m_rows[it.value()];
}

int MeterListModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_rows.size());
}

int MeterListModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant MeterListModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const MeterRow &row = m_rows[index.row()];
    const app::MeterStatus &status = row.status;
    const auto column = Column(index.column());

    switch (role) {
    case MeterIdRole:
        return status.id;
    case StateRole:
        return int(shownState(status));
    case Qt::DisplayRole:
        switch (column) {
        case Name:
            return status.name.isEmpty() ? status.id : status.name;
        case Address:
            return polling::formatEndpoint(status.host, status.port);
        case Transport:
            return transportText(status.transport);
        case State: {
            const polling::MeterState state = shownState(status);
            if (state == polling::MeterState::Paused || status.reason.isEmpty())
                return stateText(state);
            return MeterListModel::tr("%1 — %2").arg(stateText(state), status.reason);
        }
        case LastPoll:
            return ageText(status.lastReadingsMs, m_clock());
        case Rtt:
            return hasRtt(row) ? monitor::formatMs(row.stats.rttAvgMs) : monitor::noData();
        case SuccessRate:
            return hasStats(row) && row.stats.pollSuccessRate >= 0
                ? monitor::formatPercent(row.stats.pollSuccessRate)
                : monitor::noData();
        case DlmsBytes:
            return hasStats(row) ? monitor::formatBytes(double(dlmsBytes(row))) : monitor::noData();
        case MqttMessages:
            return hasStats(row) ? monitor::formatCount(row.stats.counters.mqttMessages) : monitor::noData();
        case ColumnCount:
            break;
        }
        break;
    case SortRole:
        switch (column) {
        case Name:
            return status.name.isEmpty() ? status.id : status.name;
        case Address:
            return polling::formatEndpoint(status.host, status.port);
        case Transport:
            return status.transport;
        case State:
            return int(shownState(status));
        case LastPoll:
            return status.lastReadingsMs;
        case Rtt:
            return hasRtt(row) ? row.stats.rttAvgMs : -1.0;
        case SuccessRate:
            return hasStats(row) ? row.stats.pollSuccessRate : -1.0;
        case DlmsBytes:
            return dlmsBytes(row);
        case MqttMessages:
            return row.stats.counters.mqttMessages;
        case ColumnCount:
            break;
        }
        break;
    case Qt::ToolTipRole:
        if (column == State)
            return status.reason.isEmpty() ? stateText(shownState(status)) : status.reason;
        if (column == Name)
            return MeterListModel::tr("Id: %1").arg(status.id);
        break;
    case Qt::DecorationRole:
        if (column == State) {
            const QString name = stateIconName(shownState(status));
            auto it = m_icons.find(name);
            if (it == m_icons.end())
                it = m_icons.insert(name, QIcon(u":/icons/%1.svg"_s.arg(name)));
            return it.value();
        }
        break;
    case Qt::TextAlignmentRole:
        if (column >= LastPoll)
            return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
        break;
    default:
        break;
    }
    return {};
}

QVariant MeterListModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || section < 0 || section >= ColumnCount)
        return QAbstractTableModel::headerData(section, orientation, role);
    if (role == Qt::DisplayRole) {
        switch (Column(section)) {
        case Name:
            return tr("Name");
        case Address:
            return tr("Address");
        case Transport:
            return tr("Transport");
        case State:
            return tr("State");
        case LastPoll:
            return tr("Last poll");
        case Rtt:
            return tr("RTT");
        case SuccessRate:
            return tr("Success");
        case DlmsBytes:
            return tr("DLMS bytes");
        case MqttMessages:
            return tr("MQTT messages");
        case ColumnCount:
            break;
        }
    } else if (role == Qt::ToolTipRole) {
        switch (Column(section)) {
        case Name:
            return tr("The meter's name (its id when it has none)");
        case Address:
            return tr("Host and TCP port the meter is polled on");
        case Transport:
            return tr("DLMS transport: IEC 62056-47 wrapper or HDLC over TCP");
        case State:
            return tr("What the poller is doing with the meter now, and why when it is failing");
        case LastPoll:
            return tr("Time since the meter last delivered a complete set of readings");
        case Rtt:
            return tr("Average round trip of a request, from sending it to its complete response");
        case SuccessRate:
            return tr("Polls that delivered readings, out of the polls that came due");
        case DlmsBytes:
            return tr("DLMS bytes sent to and received from the meter since the bridge started");
        case MqttMessages:
            return tr("MQTT messages with the meter's readings acknowledged by the broker");
        case ColumnCount:
            break;
        }
    } else if (role == Qt::TextAlignmentRole) {
        if (section >= LastPoll)
            return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
    }
    return QAbstractTableModel::headerData(section, orientation, role);
}
