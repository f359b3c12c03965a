#pragma once

#include <bridge.h>
#include <monitortypes.h>

#include <QtCore/QAbstractTableModel>
#include <QtCore/QHash>
#include <QtCore/QList>
#include <QtGui/QIcon>

#include <functional>

// One meter as the Meters page shows it: what the bridge knows (settings, state) and what the
// monitor counted (RTT, success rate, bytes, MQTT messages).
struct MeterRow {
    app::MeterStatus status;
    monitor::MeterStats stats; // stats.meterId empty: the monitor has not seen the meter yet
};

// The Meters page's table: one row per meter, in the bridge's configuration order. Updated in
// bulk with setRows() (rows inserted/removed/moved by id, one dataChanged over the changed
// span), so a refresh of 2,000 meters is one pass and no per-cell signal.
//
// DisplayRole is formatted text (monitor/displayformat.h), SortRole the raw value, MeterIdRole
// the id on every column, StateRole the polling::MeterState (as int) on every column,
// ToolTipRole on State the reason, DecorationRole on State a state icon.
class MeterListModel final : public QAbstractTableModel {
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(MeterListModel)

public:
    enum Column {
        Name,
        Address, // "host:port"
        Transport, // "Wrapper" | "HDLC"
        State, // "Polling", "Backing off: connection refused", …; "Paused"
        LastPoll, // age of the last readings batch ("3 s ago"), em dash when none
        Rtt, // average round trip
        SuccessRate,
        DlmsBytes, // sent + received
        MqttMessages,
        ColumnCount
    };
    enum Role { SortRole = Qt::UserRole + 1, MeterIdRole, StateRole };

    // `clock` gives UTC ms for the LastPoll ages; empty = the system clock.
    explicit MeterListModel(std::function<qint64()> clock = {}, QObject *parent = nullptr);

    void setRows(QList<MeterRow> rows);
    const MeterRow *row(const QString &meterId) const; // null when unknown
    QList<MeterRow> rows() const { return m_rows; }

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

private:
    void rebuildIndex();

    std::function<qint64()> m_clock;
    QList<MeterRow> m_rows;
    QHash<QString, int> m_index; // id -> row
    QList<qint64> m_ageKeys; // per row: what its LastPoll text showed at the last setRows()
    mutable QHash<QString, QIcon> m_icons; // state icons, loaded on first use
};
