#pragma once

#include <meterconfig.h>

#include <QtCore/QPointer>
#include <QtWidgets/QWidget>

#include <memory>

namespace app {
class Bridge;
}
namespace Ui {
class MetersPage;
}
class MeterListModel;
class QSortFilterProxyModel;

// Meters: the table of meters with their state and counters; add / edit / remove through the
// meter dialog, import from CSV, pause and resume polling (selected or all), and "Test
// connection" (association + identity read, result shown in place, in the page's result
// panel). Acts on the bridge directly (Bridge::addMeter/updateMeter/removeMeter/setPaused);
// errors are shown in the page, never lost. Refreshes its model on the bridge's monitor ticks
// and meter state changes (coalesced to one refresh per event-loop pass), and only while
// visible (plus once when shown).
class MetersPage final : public QWidget {
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(MetersPage)

public:
    explicit MetersPage(app::Bridge *bridge, QWidget *parent = nullptr);
    ~MetersPage() override;

    MeterListModel *model() const { return m_model; }
    QStringList selectedIds() const;
    void selectMeter(const QString &meterId);
    // What a new meter starts from (the dialog's prefill, CSV import's missing columns).
    void setMeterDefaults(const polling::MeterConfig &defaults);

public Q_SLOTS:
    void refresh(); // rebuilds the rows from the bridge and its monitor now
    void addMeter(); // opens the meter dialog
    void editSelected();
    void removeSelected(); // asks first
    // Imports meters from a CSV file (asks for one when empty). Returns false on an error,
    // which is shown; a file with any invalid row adds nothing and lists the rows' errors.
    bool importCsv(const QString &fileName = {});
    void setSelectedPaused(bool paused);
    void setAllPaused(bool paused);
    void testSelected(); // Test connection on the first selected meter

Q_SIGNALS:
    // One line for the status bar ("3 meters imported", "sim-2 paused").
    void statusMessage(const QString &text);

protected:
    void changeEvent(QEvent *event) override; // LanguageChange: retranslate
    void showEvent(QShowEvent *event) override;

private:
    void scheduleRefresh(); // one refresh per event-loop pass, and only while visible
    void sortTable(); // by the header's column, if any (the proxy does not sort by itself)
    void watchMonitor(); // follows the bridge's monitor (a new one on every start)
    QStringList meterIds() const; // the bridge's configuration order
    void updateActions();
    void showMessage(const QString &text, bool ok); // in the result panel and the status bar
    void showPanel();

    struct Private;
    std::unique_ptr<Ui::MetersPage> m_ui;
    std::unique_ptr<Private> d;
    QPointer<app::Bridge> m_bridge;
    MeterListModel *m_model = nullptr;
    QSortFilterProxyModel *m_proxy = nullptr;
};
