#include "readingsmodel.h"

#include <displayformat.h>

#include <QtCore/QDateTime>
#include <QtCore/QLocale>
#include <QtGui/QBrush>
#include <QtGui/QColor>

#include <algorithm>
#include <cmath>

using namespace Qt::StringLiterals;

QString ReadingsModel::formatNumber(double value)
{
    if (!std::isfinite(value))
        return QLocale().toString(value);
    // Twelve significant digits hide the binary noise of scaling (2301 × 0.1 =
    // 230.10000000000002) and 'g' drops trailing zeros; beyond 1e12 a plain integer reads better
    // than an exponent.
    if (std::abs(value) >= 1e12)
        return QLocale().toString(value, 'f', 0);
    return QLocale().toString(value, 'g', 12);
}

ReadingsModel::ReadingsModel(std::function<qint64()> clock, QObject *parent)
    : QAbstractTableModel(parent), m_clock(std::move(clock))
{
    if (!m_clock)
        m_clock = [] { return QDateTime::currentMSecsSinceEpoch(); };
}

void ReadingsModel::addBatch(const polling::ReadingsBatch &batch)
{
    addBatches(std::span(&batch, 1));
}

void ReadingsModel::addBatches(std::span<const polling::ReadingsBatch> batches)
{
    const qint64 now = m_clock();
    const int base = int(m_rows.size());
    int first = -1;
    int last = -1;
    // New keys get their row numbers now (from `base` on) and become rows in one insert below.
    std::vector<Row> added;
    for (const polling::ReadingsBatch &batch : batches) {
        QHash<QString, int> &rows = m_index[batch.meterId];
        for (const polling::Reading &reading : batch.readings) {
            const auto it = rows.constFind(reading.key);
            if (it == rows.constEnd()) {
                rows.insert(reading.key, base + int(added.size()));
                Row row {batch.meterId, batch.timestampMs, reading, false};
                row.stale = isStale(row, now);
                added.push_back(std::move(row));
                continue;
            }
            // A key seen before, in the model or earlier in these batches: the later value wins.
            Row &row = *it < base ? m_rows[size_t(*it)] : added[size_t(*it - base)];
            row.timestampMs = batch.timestampMs;
            row.reading = reading;
            row.stale = isStale(row, now);
            if (*it < base) {
                first = first < 0 ? *it : std::min(first, *it);
                last = std::max(last, *it);
            }
        }
    }
    if (first >= 0)
        Q_EMIT dataChanged(index(first, 0), index(last, ColumnCount - 1));
    if (added.empty())
        return;
    beginInsertRows({}, base, base + int(added.size()) - 1);
    m_rows.insert(m_rows.end(), std::make_move_iterator(added.begin()), std::make_move_iterator(added.end()));
    endInsertRows();
}

void ReadingsModel::setMeterNames(const QHash<QString, QString> &names)
{
    if (names == m_names)
        return;
    m_names = names;
    if (!m_rows.empty())
        Q_EMIT dataChanged(index(0, Meter), index(int(m_rows.size()) - 1, Meter));
}

void ReadingsModel::removeMeter(const QString &meterId)
{
    removeMeters({meterId});
}

void ReadingsModel::removeMeters(const QSet<QString> &meterIds)
{
    bool any = false;
    for (const QString &id : meterIds)
        any = any || m_index.contains(id);
    if (!any)
        return;
    // A meter's rows need not be contiguous (keys appear over time): remove runs from the end so
    // the earlier row numbers stay valid.
    int end = int(m_rows.size()) - 1;
    while (end >= 0) {
        if (!meterIds.contains(m_rows[size_t(end)].meterId)) {
            --end;
            continue;
        }
        int begin = end;
        while (begin > 0 && meterIds.contains(m_rows[size_t(begin - 1)].meterId))
            --begin;
        beginRemoveRows({}, begin, end);
        m_rows.erase(m_rows.begin() + begin, m_rows.begin() + end + 1);
        endRemoveRows();
        end = begin - 1;
    }
    rebuildIndex();
}

void ReadingsModel::clear()
{
    beginResetModel();
    m_rows.clear();
    m_index.clear();
    endResetModel();
}

void ReadingsModel::refreshAges()
{
    if (m_rows.empty())
        return;
    const qint64 now = m_clock();
    bool staleChanged = false;
    for (Row &row : m_rows) {
        const bool stale = isStale(row, now);
        staleChanged |= stale != row.stale;
        row.stale = stale;
    }
    // The greying covers whole rows, so a row turning stale widens the one signal to every column.
    const int last = int(m_rows.size()) - 1;
    if (staleChanged)
        Q_EMIT dataChanged(index(0, 0), index(last, ColumnCount - 1), {Qt::DisplayRole, Qt::ForegroundRole});
    else
        Q_EMIT dataChanged(index(0, Age), index(last, Age), {Qt::DisplayRole, SortRole});
}

void ReadingsModel::setStaleAfterMs(qint64 ms)
{
    m_staleAfterMs = ms;
    refreshAges();
}

int ReadingsModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_rows.size());
}

int ReadingsModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant ReadingsModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const Row &row = m_rows[size_t(index.row())];
    const polling::Reading &r = row.reading;
    const bool failed = r.quality == polling::Quality::Failed;
    switch (role) {
    case Qt::DisplayRole:
        switch (Column(index.column())) {
        case Meter:
            return m_names.value(row.meterId, row.meterId);
        case Key:
            return r.key;
        case Obis:
            return r.obis.toString();
        case Value:
            if (failed)
                return r.error.isEmpty() ? monitor::noData() : r.error;
            if (polling::isNumericValue(r.value))
                return formatNumber(r.value.toDouble());
            if (r.value.isNull())
                return monitor::noData();
            return r.value.toString();
        case Unit:
            return r.unit;
        case Quality:
            return qualityText(r.quality);
        case Age:
            return monitor::formatAge(m_clock() - row.timestampMs);
        case ColumnCount:
            break;
        }
        return {};
    case SortRole:
        switch (Column(index.column())) {
        case Value:
            if (failed)
                return r.error;
            return polling::isNumericValue(r.value) ? QVariant(r.value.toDouble()) : r.value;
        case Age:
            // Older first when ascending, as the ages read.
            return -row.timestampMs;
        default:
            return data(index, Qt::DisplayRole);
        }
    case Qt::ToolTipRole:
        if (index.column() == Meter)
            return row.meterId;
        if (index.column() == Age)
            return QDateTime::fromMSecsSinceEpoch(row.timestampMs, Qt::UTC)
                .toLocalTime()
                .toString(Qt::ISODate);
        return {};
    case Qt::TextAlignmentRole:
        if (index.column() == Value && !failed && polling::isNumericValue(r.value))
            return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
        return {};
    case Qt::ForegroundRole:
        if (failed || row.stale)
            return QBrush(QColor(0x80, 0x80, 0x80));
        return {};
    case MeterIdRole:
        return row.meterId;
    case KeyRole:
        return r.key;
    default:
        return {};
    }
}

QVariant ReadingsModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return QAbstractTableModel::headerData(section, orientation, role);
    switch (Column(section)) {
    case Meter:
        return tr("Meter");
    case Key:
        return tr("Key");
    case Obis:
        return tr("OBIS");
    case Value:
        return tr("Value");
    case Unit:
        return tr("Unit");
    case Quality:
        return tr("Quality");
    case Age:
        return tr("Age");
    case ColumnCount:
        break;
    }
    return {};
}

bool ReadingsModel::isStale(const Row &row, qint64 now) const
{
    return now - row.timestampMs > m_staleAfterMs;
}

QString ReadingsModel::qualityText(polling::Quality quality)
{
    switch (quality) {
    case polling::Quality::Good:
        return tr("good");
    case polling::Quality::Failed:
        return tr("failed");
    case polling::Quality::Unscaled:
        return tr("unscaled");
    }
    return {};
}

void ReadingsModel::rebuildIndex()
{
    m_index.clear();
    for (size_t i = 0; i < m_rows.size(); ++i)
        m_index[m_rows[i].meterId].insert(m_rows[i].reading.key, int(i));
}
