#pragma once

#include <QtCore/QPointer>
#include <QtWidgets/QWidget>

#include <memory>

namespace monitor {
class TrafficMonitor;
}
namespace storage {
class Reader;
}
namespace Ui {
class MonitoringPage;
}
class QPixmap;

// Monitoring: the Python bridge's "Network Statistics" page, native and live, for "All
// meters" or one meter (a combo box at the top):
//   A. real-time bandwidth: upload, download, total (KB/s), packets/s;
//   B. DLMS protocol statistics: requests, responses, average payload, MQTT messages;
//   C. data consumption: DLMS sent, DLMS received, MQTT sent, total;
//   D. network efficiency: average and peak upload / download (Mbps), bytes per reading;
//   E. network issues: interface errors, drops, timeouts, reconnects (the group shown only
//      when one is non-zero);
//   F. charts: bandwidth (TX/RX) and packet rate (TX/RX) — live (last 5 minutes at 1 s) or a
//      history range (1 h, 24 h, 7 days from the network_metrics rollups) — beside the
//      per-meter protocol counters table (monitor::MeterTableModel).
// Live figures come from the monitor on each of its ticks; with no monitor (the bridge
// stopped) the live figures show dashes and history ranges still read the database.
// Every figure is a QLabel with an objectName ("valueUpload", "valueRequests", …) so tests
// and screenshots find them.
class MonitoringPage final : public QWidget {
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(MonitoringPage)

public:
    enum class Range { Live, Hour, Day, Week };
    Q_ENUM(Range)

    explicit MonitoringPage(QWidget *parent = nullptr);
    ~MonitoringPage() override;

    // The live source; null when the bridge is stopped. The page follows the monitor's
    // meterAdded/meterRemoved for its meter list and rebinds its models.
    void setMonitor(monitor::TrafficMonitor *monitor);
    // The database the history ranges read (network_metrics, through a reader of its own);
    // empty = no history.
    void setDatabasePath(const QString &path);

    void setMeter(const QString &meterId); // empty = all meters
    QString meter() const;
    void setRange(Range range);
    Range range() const;

    // The two charts as one image (bandwidth above packet rate), for Export → chart as PNG.
    QPixmap chartImage() const;

protected:
    void changeEvent(QEvent *event) override;
    void showEvent(QShowEvent *event) override; // catches up on what came while hidden

private:
    qint64 nowMs() const;
    void rebuildMeterCombo();
    void selectTableRow(const QString &meterId);
    void applySelection(); // meter or range changed: the series and the figures follow
    storage::Reader *openReader(); // null (and the cause kept) when it cannot be opened
    void loadHistory();
    void showHistoryError();
    void refreshFigures();
    void scheduleSort();
    void sortTable();

    struct Private;
    std::unique_ptr<Ui::MonitoringPage> m_ui;
    std::unique_ptr<Private> d;
};
