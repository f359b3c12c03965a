#pragma once

#include <commissioning.h>

#include <QtCore/QAbstractItemModel>
#include <QtCore/QHash>
#include <QtGui/QIcon>

#include <vector>

// The Commissioning page's results: a tree of meters (top level, in run order) and their checks
// (children, in the order they ran). A meter row shows its overall status, name, serial number
// and endpoint (in Measured: a check row has no use for them) and the findings ("2 warnings,
// 1 failure"); a check row its title, status, measured value and explanation. Filled live: addCheck() appends
// or replaces one child (rows inserted, or one dataChanged), setMeterReport() settles a meter; setSession()
// resets.
class CommissioningModel final : public QAbstractItemModel {
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(CommissioningModel)

public:
    enum Columns { Name, Status, Measured, Explanation, ColumnCount };
    enum Roles {
        MeterIdRole = Qt::UserRole + 1,
        CheckIdRole, // empty on meter rows
        StatusRole, // int(commissioning::CheckStatus): the check's, or the meter's overall
    };

    explicit CommissioningModel(QObject *parent = nullptr);
    ~CommissioningModel() override;

    void clear();
    void setSession(const commissioning::Session &session);
    // A meter row (appended when absent) with its name and endpoint; its checks are kept.
    void addMeter(const QString &meterId, const QString &name, const QString &endpoint);
    // One check of a meter: replaces the check with the same id, else appended. The meter row
    // must exist (addMeter) — unknown meters are ignored.
    void addCheck(const QString &meterId, const commissioning::CheckResult &result);
    // The meter's final report: replaces its row's data and checks (appended when absent).
    void setMeterReport(const commissioning::MeterReport &report);

    int meterCount() const { return int(m_meters.size()); }
    const commissioning::MeterReport *meter(const QString &meterId) const;
    QModelIndex meterIndex(const QString &meterId, int column = 0) const;

    QModelIndex index(int row, int column, const QModelIndex &parent = {}) const override;
    QModelIndex parent(const QModelIndex &child) const override;
    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

    // "2 warnings, 1 failure", "all checks passed", "no checks": translated, for a meter.
    static QString findingsText(const commissioning::MeterReport &report);
    // "SIM00000001 · 127.0.0.1:4059": what identifies the meter, in its row's Measured cell.
    static QString meterIdentityText(const commissioning::MeterReport &report);
    static QIcon statusIcon(commissioning::CheckStatus status);

    // Texts and icons follow the language in force (LanguageChange).
    void retranslate();

private:
    void emitMeterChanged(int row);
    QVariant meterData(const commissioning::MeterReport &meter, int column, int role) const;
    QVariant checkData(const commissioning::CheckResult &check, int column, int role) const;

    std::vector<commissioning::MeterReport> m_meters;
    QHash<QString, int> m_rowOf;
};
