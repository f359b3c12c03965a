#include "commissioningmodel.h"

#include <QtCore/QStringList>
#include <QtGui/QBrush>
#include <QtGui/QColor>

#include <algorithm>

using namespace Qt::StringLiterals;

namespace {

// Children carry their meter's row + 1 as internal id; meters carry 0.
constexpr quintptr kMeterRow = 0;

bool sameCheckIds(
    const std::vector<commissioning::CheckResult> &a, const std::vector<commissioning::CheckResult> &b)
{
    return std::equal(a.begin(), a.end(), b.begin(), b.end(),
        [](const auto &x, const auto &y) { return x.check == y.check; });
}

} // namespace

CommissioningModel::CommissioningModel(QObject *parent) : QAbstractItemModel(parent) { }

CommissioningModel::~CommissioningModel() = default;

void CommissioningModel::clear()
{
    if (m_meters.empty())
        return;
    beginResetModel();
    m_meters.clear();
    m_rowOf.clear();
    endResetModel();
}

void CommissioningModel::setSession(const commissioning::Session &session)
{
    beginResetModel();
    m_meters = session.meters;
    m_rowOf.clear();
    for (int i = 0; i < int(m_meters.size()); ++i)
        m_rowOf.insert(m_meters[size_t(i)].meterId, i);
    endResetModel();
}

void CommissioningModel::addMeter(const QString &meterId, const QString &name, const QString &endpoint)
{
    if (const auto it = m_rowOf.constFind(meterId); it != m_rowOf.cend()) {
        commissioning::MeterReport &meter = m_meters[size_t(*it)];
        meter.meterName = name;
        meter.endpoint = endpoint;
        emitMeterChanged(*it);
        return;
    }
    const int row = int(m_meters.size());
    beginInsertRows({}, row, row);
    commissioning::MeterReport meter;
    meter.meterId = meterId;
    meter.meterName = name;
    meter.endpoint = endpoint;
    m_meters.push_back(std::move(meter));
    m_rowOf.insert(meterId, row);
    endInsertRows();
}

void CommissioningModel::addCheck(const QString &meterId, const commissioning::CheckResult &result)
{
    const auto it = m_rowOf.constFind(meterId);
    if (it == m_rowOf.cend())
        return;
    const int row = *it;
    std::vector<commissioning::CheckResult> &checks = m_meters[size_t(row)].checks;
    const QModelIndex parentIndex = index(row, 0);
    const auto found = std::find_if(
        checks.begin(), checks.end(), [&](const auto &check) { return check.check == result.check; });
    if (found != checks.end()) {
        *found = result;
        const int child = int(found - checks.begin());
        Q_EMIT dataChanged(index(child, 0, parentIndex), index(child, ColumnCount - 1, parentIndex));
    } else {
        const int child = int(checks.size());
        beginInsertRows(parentIndex, child, child);
        checks.push_back(result);
        endInsertRows();
    }
    emitMeterChanged(row);
}

void CommissioningModel::setMeterReport(const commissioning::MeterReport &report)
{
    const auto it = m_rowOf.constFind(report.meterId);
    if (it == m_rowOf.cend()) {
        const int row = int(m_meters.size());
        beginInsertRows({}, row, row);
        m_meters.push_back(report);
        m_rowOf.insert(report.meterId, row);
        endInsertRows();
        return;
    }
    const int row = *it;
    commissioning::MeterReport &meter = m_meters[size_t(row)];
    const QModelIndex parentIndex = index(row, 0);
    if (sameCheckIds(meter.checks, report.checks)) {
        meter = report;
        if (!meter.checks.empty()) {
            Q_EMIT dataChanged(
                index(0, 0, parentIndex), index(int(meter.checks.size()) - 1, ColumnCount - 1, parentIndex));
        }
    } else {
        // Another set of checks (a clock-only run merged in, a cancelled meter): the children
        // are replaced, the meter row itself stays (and with it its expansion in the view).
        if (!meter.checks.empty()) {
            beginRemoveRows(parentIndex, 0, int(meter.checks.size()) - 1);
            meter.checks.clear();
            endRemoveRows();
        }
        std::vector<commissioning::CheckResult> checks = report.checks;
        meter = report;
        meter.checks.clear();
        if (!checks.empty()) {
            beginInsertRows(parentIndex, 0, int(checks.size()) - 1);
            meter.checks = std::move(checks);
            endInsertRows();
        }
    }
    emitMeterChanged(row);
}

const commissioning::MeterReport *CommissioningModel::meter(const QString &meterId) const
{
    const auto it = m_rowOf.constFind(meterId);
    return it == m_rowOf.cend() ? nullptr : &m_meters[size_t(*it)];
}

QModelIndex CommissioningModel::meterIndex(const QString &meterId, int column) const
{
    const auto it = m_rowOf.constFind(meterId);
    return it == m_rowOf.cend() ? QModelIndex() : index(*it, column);
}

void CommissioningModel::emitMeterChanged(int row)
{
    Q_EMIT dataChanged(index(row, 0), index(row, ColumnCount - 1));
}

QModelIndex CommissioningModel::index(int row, int column, const QModelIndex &parent) const
{
    if (row < 0 || column < 0 || column >= ColumnCount)
        return {};
    if (!parent.isValid())
        return row < int(m_meters.size()) ? createIndex(row, column, kMeterRow) : QModelIndex();
    if (parent.internalId() != kMeterRow || parent.column() != 0)
        return {};
    const int meterRow = parent.row();
    if (meterRow < 0 || meterRow >= int(m_meters.size())
        || row >= int(m_meters[size_t(meterRow)].checks.size()))
        return {};
    return createIndex(row, column, quintptr(meterRow) + 1);
}

QModelIndex CommissioningModel::parent(const QModelIndex &child) const
{
    if (!child.isValid() || child.internalId() == kMeterRow)
        return {};
    return createIndex(int(child.internalId() - 1), 0, kMeterRow);
}

int CommissioningModel::rowCount(const QModelIndex &parent) const
{
    if (!parent.isValid())
        return int(m_meters.size());
    if (parent.internalId() != kMeterRow || parent.column() != 0)
        return 0;
    return int(m_meters[size_t(parent.row())].checks.size());
}

int CommissioningModel::columnCount(const QModelIndex &) const
{
    return ColumnCount;
}

QVariant CommissioningModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid))
        return {};
    if (index.internalId() == kMeterRow)
        return meterData(m_meters[size_t(index.row())], index.column(), role);
    const commissioning::MeterReport &meter = m_meters[size_t(index.internalId() - 1)];
    const commissioning::CheckResult &check = meter.checks[size_t(index.row())];
    if (role == MeterIdRole)
        return meter.meterId;
    return checkData(check, index.column(), role);
}

QVariant CommissioningModel::meterData(const commissioning::MeterReport &meter, int column, int role) const
{
    const commissioning::CheckStatus overall = meter.overall();
    switch (role) {
    case Qt::DisplayRole:
        switch (column) {
        case Name:
            return meter.meterName.isEmpty() ? meter.meterId : meter.meterName;
        case Status:
            return meter.checks.empty() ? tr("Checking…") : commissioning::checkStatusText(overall);
        case Measured:
            return meterIdentityText(meter);
        case Explanation:
            return findingsText(meter);
        default:
            return {};
        }
    case Qt::DecorationRole:
        if (column == Status)
            return meter.checks.empty() ? QIcon(u":/icons/state-busy.svg"_s) : statusIcon(overall);
        return {};
    case Qt::ToolTipRole:
        switch (column) {
        case Name:
            return meter.meterId;
        case Measured:
            return meterIdentityText(meter);
        case Explanation:
            return findingsText(meter);
        default:
            return {};
        }
    case MeterIdRole:
        return meter.meterId;
    case CheckIdRole:
        return QString();
    case StatusRole:
        return int(overall);
    default:
        return {};
    }
}

QVariant CommissioningModel::checkData(const commissioning::CheckResult &check, int column, int role) const
{
    switch (role) {
    case Qt::DisplayRole:
        switch (column) {
        case Name:
            return commissioning::checkTitle(check.check);
        case Status:
            return commissioning::checkStatusText(check.status);
        case Measured:
            return check.measured;
        case Explanation:
            return check.explanation;
        default:
            return {};
        }
    case Qt::DecorationRole:
        if (column == Status)
            return statusIcon(check.status);
        return {};
    case Qt::ToolTipRole:
        // The cells may be cut short in the view: the tip is the whole text.
        if (column == Measured)
            return check.measured.isEmpty() ? QVariant() : QVariant(check.measured);
        if (column == Explanation)
            return check.explanation.isEmpty() ? QVariant() : QVariant(check.explanation);
        return {};
    case CheckIdRole:
        return check.check;
    case StatusRole:
        return int(check.status);
    default:
        return {};
    }
}

QVariant CommissioningModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case Name:
        return tr("Meter / check");
    case Status:
        return tr("Status");
    case Measured:
        return tr("Measured");
    case Explanation:
        return tr("Explanation");
    default:
        return {};
    }
}

QString CommissioningModel::findingsText(const commissioning::MeterReport &report)
{
    int warnings = 0;
    int failures = 0;
    for (const commissioning::CheckResult &check : report.checks) {
        warnings += check.status == commissioning::CheckStatus::Warn ? 1 : 0;
        failures += check.status == commissioning::CheckStatus::Fail ? 1 : 0;
    }
    if (report.checks.empty())
        return tr("no checks yet");
    if (warnings == 0 && failures == 0)
        return tr("no findings");
    // Singular spelled out: English has no .qm to pick the plural form of "%n".
    const QString warned = warnings == 1 ? tr("1 warning") : tr("%n warnings", nullptr, warnings);
    const QString failed = failures == 1 ? tr("1 failure") : tr("%n failures", nullptr, failures);
    if (failures == 0)
        return warned;
    if (warnings == 0)
        return failed;
    //: A meter's findings: "2 warnings, 1 failure"
    return tr("%1, %2").arg(warned, failed);
}

QString CommissioningModel::meterIdentityText(const commissioning::MeterReport &report)
{
    QStringList parts;
    if (!report.serialNumber.isEmpty())
        parts << report.serialNumber;
    if (!report.endpoint.isEmpty())
        parts << report.endpoint;
    return parts.join(u" · "_s);
}

QIcon CommissioningModel::statusIcon(commissioning::CheckStatus status)
{
    switch (status) {
    case commissioning::CheckStatus::Pass:
        return QIcon(u":/icons/state-ok.svg"_s);
    case commissioning::CheckStatus::Warn:
        return QIcon(u":/icons/state-warning.svg"_s);
    case commissioning::CheckStatus::Fail:
        return QIcon(u":/icons/state-error.svg"_s);
    case commissioning::CheckStatus::Skipped:
        return QIcon(u":/icons/state-idle.svg"_s);
    }
    return {};
}

void CommissioningModel::retranslate()
{
    Q_EMIT headerDataChanged(Qt::Horizontal, 0, ColumnCount - 1);
    if (m_meters.empty())
        return;
    // One signal for the meters, one per meter for its checks (titles and status words).
    Q_EMIT dataChanged(index(0, 0), index(int(m_meters.size()) - 1, ColumnCount - 1));
    for (int row = 0; row < int(m_meters.size()); ++row) {
        const int checks = int(m_meters[size_t(row)].checks.size());
        if (checks > 0) {
            const QModelIndex parentIndex = index(row, 0);
            Q_EMIT dataChanged(index(0, 0, parentIndex), index(checks - 1, ColumnCount - 1, parentIndex));
        }
    }
}
