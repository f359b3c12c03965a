#pragma once

#include <QtCore/QAbstractTableModel>
#include <QtCore/QPointer>
#include <QtCore/QStringList>

namespace monitor {

class TrafficMonitor;

// Per-meter protocol counters as a table (one row per meter the monitor knows, in its order),
// for the Monitoring page. Refreshed on TrafficMonitor::ticked with one dataChanged over the
// changed rows; rows inserted/removed with the monitor's meterAdded/meterRemoved.
//
// DisplayRole is formatted text ("1.2 KB", "98.5 %", "12.3 ms"); SortRole the raw number (or the
// id for the Meter column); MeterIdRole the meter id on every column; TextAlignmentRole puts
// numbers right. Header DisplayRole gives the column title, ToolTipRole what it counts (both,
// and the units, translated in the context "monitor::MeterTableModel").
class MeterTableModel final : public QAbstractTableModel {
    Q_OBJECT

public:
    enum Column {
        Meter,
        Requests, // DLMS request APDUs sent
        Responses,
        BytesSent, // DLMS bytes to the meter
        BytesReceived,
        AvgRequestSize,
        AvgResponseSize,
        Timeouts,
        ProtocolErrors,
        Reconnects,
        RttAvg,
        RttP95,
        RttMax,
        SuccessRate, // polls completed / attempted
        BytesPerValue, // DLMS bytes per reading value
        MqttMessages,
        MqttBytes, // packet bytes
        TxRate, // current second, bits/s
        RxRate,
        ColumnCount
    };
    enum Role { SortRole = Qt::UserRole + 1, MeterIdRole };

    explicit MeterTableModel(TrafficMonitor *monitor, QObject *parent = nullptr);

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

private:
    void onMeterAdded(int index, const QString &meterId);
    void onMeterRemoved(int index, const QString &meterId);
    void onTicked();
    void onMonitorDestroyed();

    // Guarded: a monitor destroyed before the model leaves it empty, not dangling.
    QPointer<TrafficMonitor> m_monitor;
    // The rows as announced: the monitor changes before its signal, so the row count and the
    // Meter column follow these, keeping begin/end pairs consistent.
    QStringList m_ids;
};

} // namespace monitor
