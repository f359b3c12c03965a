#pragma once

#include <pollingtypes.h>

#include <QtCore/QAbstractTableModel>
#include <QtCore/QHash>
#include <QtCore/QSet>

#include <functional>
#include <span>
#include <vector>

// The latest value of every (meter, key): one row each, in order of first appearance. A batch
// updates its meter's rows in place (one dataChanged over them) and appends new keys.
// DisplayRole: Value is the scaled value as text (numbers in the current locale, failed items
// show their error), Age "4 s ago" against the clock; SortRole the raw value; MeterIdRole and
// KeyRole on every column; ForegroundRole greys out failed rows and rows older than
// staleAfterMs.
class ReadingsModel final : public QAbstractTableModel {
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(ReadingsModel)

public:
    enum Column { Meter, Key, Obis, Value, Unit, Quality, Age, ColumnCount };
    enum Role { SortRole = Qt::UserRole + 1, MeterIdRole, KeyRole };

    // `clock`: UTC ms for the ages; empty = the system clock.
    explicit ReadingsModel(std::function<qint64()> clock = {}, QObject *parent = nullptr);

    void addBatch(const polling::ReadingsBatch &batch);
    // Many batches at once (in order; a later value of a (meter, key) wins): one dataChanged over
    // the rows that changed and one insert for the new ones, whatever the number of batches.
    void addBatches(std::span<const polling::ReadingsBatch> batches);
    void setMeterNames(const QHash<QString, QString> &names); // id -> name, for the Meter column
    void removeMeter(const QString &meterId);
    void removeMeters(const QSet<QString> &meterIds); // one pass, one remove per run of rows
    void clear();
    void refreshAges(); // one dataChanged over the Age column (the page calls it every second)
    void setStaleAfterMs(qint64 ms); // default 60 s

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

private:
    struct Row {
        QString meterId;
        qint64 timestampMs = 0;
        polling::Reading reading;
        bool stale = false; // as of the last refresh, so refreshAges() knows when greying changed
    };

    static QString formatNumber(double value);
    static QString qualityText(polling::Quality quality);
    bool isStale(const Row &row, qint64 now) const;
    void rebuildIndex();

    std::function<qint64()> m_clock;
    std::vector<Row> m_rows;
    QHash<QString, QHash<QString, int>> m_index; // meter -> key -> row
    QHash<QString, QString> m_names;
    qint64 m_staleAfterMs = 60'000;
};
