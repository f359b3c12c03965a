#pragma once

#include <commissioning.h>

#include <QtCore/QAbstractTableModel>

#include <vector>

// What changed between a session and its previous run (commissioning::compareSessions), the
// pairs that are not Same only: meter, check, before → after, and the change in a word.
class CommissioningComparisonModel final : public QAbstractTableModel {
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(CommissioningComparisonModel)

public:
    enum Columns { Meter, Check, Before, After, Change, ColumnCount };
    enum Roles { ChangeRole = Qt::UserRole + 1 }; // int(CheckComparison::Change)

    explicit CommissioningComparisonModel(QObject *parent = nullptr);
    ~CommissioningComparisonModel() override;

    // Keeps the rows whose change is not Same.
    void setComparison(const std::vector<commissioning::CheckComparison> &comparison);
    const std::vector<commissioning::CheckComparison> &rows() const { return m_rows; }

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

    static QString changeText(commissioning::CheckComparison::Change change); // translated
    void retranslate();

private:
    std::vector<commissioning::CheckComparison> m_rows;
};
