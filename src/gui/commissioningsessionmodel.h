#pragma once

#include <commissioning.h>

#include <QtCore/QAbstractTableModel>

#include <vector>

// The stored commissioning sessions, newest first (commissioning::Store::sessions): started,
// site, technician, meters, passed / warned / failed and state. One bulk setSessions().
class CommissioningSessionModel final : public QAbstractTableModel {
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(CommissioningSessionModel)

public:
    enum Columns { Started, Site, Technician, Meters, Passed, Warned, Failed, State, ColumnCount };
    enum Roles { SessionIdRole = Qt::UserRole + 1 };

    explicit CommissioningSessionModel(QObject *parent = nullptr);
    ~CommissioningSessionModel() override;

    void setSessions(std::vector<commissioning::SessionInfo> sessions);
    const std::vector<commissioning::SessionInfo> &sessions() const { return m_sessions; }
    int rowOf(qint64 sessionId) const; // -1 when absent

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

    // "2026-11-20 10:02", local time.
    static QString startedText(qint64 startedMs);
    static QString stateText(commissioning::SessionState state); // translated
    void retranslate();

private:
    std::vector<commissioning::SessionInfo> m_sessions;
};
