#include "commissioningcomparisonmodel.h"

#include "commissioningmodel.h"

#include <displayformat.h>

using namespace Qt::StringLiterals;

namespace {

// "Fail: +600.0 s, DST off": the status in words, then what was measured.
QString resultText(const std::optional<commissioning::CheckResult> &result)
{
    if (!result)
        return monitor::noData();
    const QString status = commissioning::checkStatusText(result->status);
    if (result->measured.isEmpty())
        return status;
    //: A check's result in the comparison: "<status>: <measured>"
    return CommissioningComparisonModel::tr("%1: %2").arg(status, result->measured);
}

} // namespace

CommissioningComparisonModel::CommissioningComparisonModel(QObject *parent) : QAbstractTableModel(parent) { }

CommissioningComparisonModel::~CommissioningComparisonModel() = default;

void CommissioningComparisonModel::setComparison(
    const std::vector<commissioning::CheckComparison> &comparison)
{
    beginResetModel();
    m_rows.clear();
    for (const commissioning::CheckComparison &row : comparison) {
        if (row.change != commissioning::CheckComparison::Change::Same)
            m_rows.push_back(row);
    }
    endResetModel();
}

int CommissioningComparisonModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_rows.size());
}

int CommissioningComparisonModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant CommissioningComparisonModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const commissioning::CheckComparison &row = m_rows[size_t(index.row())];
    if (role == ChangeRole)
        return int(row.change);
    if (role == Qt::DecorationRole) {
        if (index.column() == Before && row.previous)
            return CommissioningModel::statusIcon(row.previous->status);
        if (index.column() == After && row.current)
            return CommissioningModel::statusIcon(row.current->status);
        return {};
    }
    if (role == Qt::ToolTipRole) {
        if (index.column() == Before && row.previous)
            return row.previous->explanation;
        if (index.column() == After && row.current)
            return row.current->explanation;
        if (index.column() == Meter)
            return row.meterId;
        return {};
    }
    if (role != Qt::DisplayRole)
        return {};
    switch (index.column()) {
    case Meter:
        return row.meterName.isEmpty() ? row.meterId : row.meterName;
    case Check:
        return commissioning::checkTitle(row.check);
    case Before:
        return resultText(row.previous);
    case After:
        return resultText(row.current);
    case Change:
        return changeText(row.change);
    default:
        return {};
    }
}

QVariant CommissioningComparisonModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case Meter:
        return tr("Meter");
    case Check:
        return tr("Check");
    case Before:
        return tr("Before");
    case After:
        return tr("After");
    case Change:
        return tr("Change");
    default:
        return {};
    }
}

QString CommissioningComparisonModel::changeText(commissioning::CheckComparison::Change change)
{
    using Change = commissioning::CheckComparison::Change;
    switch (change) {
    case Change::Same:
        return tr("same");
    case Change::Changed:
        return tr("changed");
    case Change::Better:
        return tr("better");
    case Change::Worse:
        return tr("worse");
    case Change::Added:
        return tr("added");
    case Change::Removed:
        return tr("removed");
    }
    return {};
}

void CommissioningComparisonModel::retranslate()
{
    Q_EMIT headerDataChanged(Qt::Horizontal, 0, ColumnCount - 1);
    if (!m_rows.empty())
        Q_EMIT dataChanged(index(0, 0), index(int(m_rows.size()) - 1, ColumnCount - 1));
}
