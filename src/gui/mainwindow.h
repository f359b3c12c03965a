#pragma once

#include <QtCore/QPointer>
#include <QtWidgets/QMainWindow>

#include <memory>

#include <bridge.h>

#include <functional>
namespace Ui {
class MainWindow;
}
class CommissioningPage;
class MetersPage;
class MonitoringPage;
class ReadingsPage;
class TracePage;
class SettingsPage;

// The desktop application's window (form ui/mainwindow.ui): the navigation list on the left
// (Meters, Monitoring, Readings, Trace, Commissioning, Settings) and the pages; the status bar
// (broker state and outbox backlog, database, polls/s, errors); File → Open / Save / Save as
// configuration, Start / Stop polling, Quit; Export → readings CSV, network metrics CSV,
// current chart as PNG; Help → About. Routes the bridge to the pages (models, traces,
// readings, settings). Window geometry, state and the last page are kept in QSettings.
class MainWindow final : public QMainWindow {
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(MainWindow)

public:
    enum Page { Meters, Monitoring, Readings, Trace, Commissioning, Settings, PageCount };
    Q_ENUM(Page)

    // `configPath`: the file Save writes (and Open replaces); empty = none yet (Save asks).
    MainWindow(app::Bridge *bridge, const QString &configPath, QWidget *parent = nullptr);
    ~MainWindow() override;

    void setPage(Page page);
    Page page() const;

    MetersPage *metersPage() const;
    MonitoringPage *monitoringPage() const;
    ReadingsPage *readingsPage() const;
    TracePage *tracePage() const;
    CommissioningPage *commissioningPage() const;
    SettingsPage *settingsPage() const;

    QString configPath() const;
    // File → Open: loads the file and restarts the bridge on it. A broken file changes nothing
    // (false, the error returned). Otherwise the restart follows (after a clean stop) and ends
    // in configurationOpened(): when the bridge cannot start on the new site, the previous one
    // runs again and stays the window's file.
    bool openConfiguration(const QString &fileName, QString *error = nullptr);
    bool saveConfiguration(const QString &fileName, QString *error = nullptr);
    // Export menu, without dialogs (the menu asks for the file and calls these). The CSV
    // exports stream from the database on a thread of their own (a year of readings takes a
    // while) and end in exportFinished(); one at a time (false when one is running).
    bool exportReadingsCsv(const QString &fileName);
    bool exportNetworkCsv(const QString &fileName);
    bool isExporting() const;
    bool exportChartPng(const QString &fileName, QString *error = nullptr);

    // The status bar's texts (for tests): broker, outbox, database, rate, errors.
    QStringList statusTexts() const;

Q_SIGNALS:
    void configurationOpened(const QString &fileName, bool ok, const QString &message);
    // rows: data rows written; message: the error (no file is left behind then) or a summary.
    void exportFinished(const QString &fileName, bool ok, qint64 rows, const QString &message);

protected:
    void closeEvent(QCloseEvent *event) override; // saves the window state, stops the bridge
    void changeEvent(QEvent *event) override;

private:
    void onBridgeState(app::BridgeState state);
    void updateStatus();
    // The meters the trace and readings pages offer, from the configuration in force.
    void updateMeterChoices(bool force);
    void setTracing(const QStringList &meterIds, bool on); // empty = every meter
    void applySettings();
    void retranslate();
    bool startExport(int kind, const QString &fileName); // storage::ExportKind
    void finishExport(const QString &fileName, bool ok, qint64 rows, const QString &message);

    struct Private;
    std::unique_ptr<Ui::MainWindow> m_ui;
    std::unique_ptr<Private> d;
};
