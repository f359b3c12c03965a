#pragma once

#include "historyring.h"
#include "monitortypes.h"

#include <QtCore/QAbstractTableModel>
#include <QtCore/QList>
#include <QtCore/QPointF>
#include <QtCore/QPointer>

#include <vector>

namespace monitor {

class TrafficMonitor;

// The time series behind the bandwidth and packet-rate charts: one row per sample, oldest
// first; columns are the time and the four rates. Two modes:
//  - live: the monitor's history ring of the selected meter (or the total), follows ticks
//    (rows appended; the oldest removed when the window is full);
//  - history: rows of network_metrics (from storage) for a longer range, set once.
// A chart calls points(column) once per series per update and hands it to
// QXYSeries::replace() — one call per series per tick, no per-point signals.
class SeriesModel final : public QAbstractTableModel {
    Q_OBJECT

public:
    enum Column {
        Time, // UTC ms (DisplayRole: ISO-8601 text; SortRole/EditRole: the number)
        TxBps,
        RxBps,
        TxPps,
        RxPps,
        ColumnCount
    };
    enum Role { ValueRole = Qt::UserRole + 1 }; // the raw double of every column

    explicit SeriesModel(TrafficMonitor *monitor, QObject *parent = nullptr);

    // Live mode on one meter; an empty id (the default) selects the total.
    void setMeter(const QString &meterId);
    QString meter() const;
    // History mode: the given rollup rows (one meter's or the system's), oldest first. Rates
    // are the rows' averages (bandwidth_*_bps, packets_*_ps).
    void setHistory(const std::vector<monitor::MetricsRow> &rows);
    bool isLive() const;

    // x = UTC ms since the epoch (as double), y = the column's value; for QXYSeries::replace.
    QList<QPointF> points(Column column) const;
    // Highest value of the column over the rows (0 when empty): the chart's axis range.
    double maximum(Column column) const;

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

Q_SIGNALS:
    // After each live tick or setHistory(): the moment a chart should call points().
    void updated();

private:
    struct Row {
        qint64 timestampMs = 0;
        double values[4] = {}; // TxBps, RxBps, TxPps, RxPps
    };

    static Row rowOf(const SecondSample &sample, qint64 timestampMs, qint64 durationMs);
    void rebuildLive();
    void onTicked();
    void onMeterRemoved(int index, const QString &meterId);
    void onMonitorDestroyed();
    const Row &rowAt(int row) const;
    double valueAt(int row, Column column) const;

    // Guarded: a monitor destroyed before the model empties the live rows, never dangles.
    QPointer<TrafficMonitor> m_monitor;
    QString m_meter;
    bool m_live = true;
    // Live rows: a ring as long as the monitor's window. While the oldest row is being
    // removed (between beginRemoveRows and the push that overwrites it) it is hidden.
    HistoryRing<Row> m_liveRows;
    bool m_oldestHidden = false;
    std::vector<Row> m_historyRows;
};

} // namespace monitor
