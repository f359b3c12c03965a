#include "commissioningsessionmodel.h"

#include <displayformat.h>

#include <QtCore/QDateTime>

using namespace Qt::StringLiterals;

CommissioningSessionModel::CommissioningSessionModel(QObject *parent) : QAbstractTableModel(parent) { }

CommissioningSessionModel::~CommissioningSessionModel() = default;

void CommissioningSessionModel::setSessions(std::vector<commissioning::SessionInfo> sessions)
{
    beginResetModel();
    m_sessions = std::move(sessions);
    endResetModel();
}

int CommissioningSessionModel::rowOf(qint64 sessionId) const
{
    for (int row = 0; row < int(m_sessions.size()); ++row) {
        if (m_sessions[size_t(row)].id == sessionId)
            return row;
    }
    return -1;
}

int CommissioningSessionModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_sessions.size());
}

int CommissioningSessionModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant CommissioningSessionModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const commissioning::SessionInfo &session = m_sessions[size_t(index.row())];
    if (role == SessionIdRole)
        return session.id;
    if (role == Qt::TextAlignmentRole && index.column() >= Meters && index.column() <= Failed)
        return int(Qt::AlignRight | Qt::AlignVCenter);
    if (role == Qt::ToolTipRole && index.column() == Site && !session.notes.isEmpty())
        return session.notes;
    if (role != Qt::DisplayRole)
        return {};
    switch (index.column()) {
    case Started:
        return startedText(session.startedMs);
    case Site:
        return session.site;
    case Technician:
        return session.technician;
    case Meters:
        return monitor::formatCount(quint64(session.meters));
    case Passed:
        return monitor::formatCount(quint64(session.passed));
    case Warned:
        return monitor::formatCount(quint64(session.warned));
    case Failed:
        return monitor::formatCount(quint64(session.failed));
    case State:
        return stateText(session.state);
    default:
        return {};
    }
}

QVariant CommissioningSessionModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case Started:
        return tr("Started");
    case Site:
        return tr("Site");
    case Technician:
        return tr("Technician");
    case Meters:
        return tr("Meters");
    case Passed:
        return tr("Passed");
    case Warned:
        return tr("Warnings");
    case Failed:
        return tr("Failed");
    case State:
        return tr("State");
    default:
        return {};
    }
}

QString CommissioningSessionModel::startedText(qint64 startedMs)
{
    if (startedMs <= 0)
        return monitor::noData();
    return QDateTime::fromMSecsSinceEpoch(startedMs, Qt::UTC).toLocalTime().toString(u"yyyy-MM-dd HH:mm"_s);
}

QString CommissioningSessionModel::stateText(commissioning::SessionState state)
{
    switch (state) {
    case commissioning::SessionState::Running:
        return tr("running");
    case commissioning::SessionState::Finished:
        return tr("finished");
    case commissioning::SessionState::Cancelled:
        return tr("cancelled");
    }
    return {};
}

void CommissioningSessionModel::retranslate()
{
    Q_EMIT headerDataChanged(Qt::Horizontal, 0, ColumnCount - 1);
    if (!m_sessions.empty())
        Q_EMIT dataChanged(index(0, State), index(int(m_sessions.size()) - 1, State));
}
