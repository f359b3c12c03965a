#pragma once

#include "database.h"
#include "storagetypes.h"

#include <monitortypes.h>

#include <QtCore/QStringList>
#include <QtCore/QVariant>
#include <QtSql/QSqlQuery>

#include <memory>
#include <optional>
#include <vector>

namespace storage {

// One row of `readings` as read back.
struct StoredReading {
    qint64 id = 0;
    QString meterId;
    qint64 timestampMs = 0;
    QString key;
    QString obis;
    QVariant value; // double, QString, or null
    QString unit;
    QString quality;
};

// Sums of network_metrics over a meter's rows (or the system's), for the "application" block
// of the stats document.
struct MetricsTotals {
    qint64 rows = 0;
    double periodS = 0;
    // Counters summed, rtt max = max, rtt avg weighted by rtt_samples, dlmsAvgPayloadSize = bytes
    // sent / frames sent (requests when no frames).
    monitor::MetricsRow sums;
};

// A read-only connection of its own (its own QSqlDatabase connection, opened in the calling
// thread and used only there). Many readers can read while the writer commits (WAL).
class Reader {
public:
    static dlms::Result<Reader> open(const QString &path);
    Reader(Reader &&other) noexcept;
    Reader &operator=(Reader &&other) noexcept;
    ~Reader(); // removes its connection
    Q_DISABLE_COPY(Reader)

    QSqlDatabase database() const;

    // Meters table: ids in id order; the name of one meter (nullopt when unknown).
    dlms::Result<QStringList> meterIds();
    dlms::Result<std::optional<QString>> meterName(const QString &meterId);

    // network_metrics rows of one meter ('*' = system) with fromMs <= timestamp < toMs, oldest
    // first; the newest `limit` rows when limit > 0.
    dlms::Result<std::vector<monitor::MetricsRow>> metrics(
        const QString &meterId, qint64 fromMs, qint64 toMs, int limit = 0);
    dlms::Result<MetricsTotals> metricsTotals(const QString &meterId);

    // Streams readings (forward-only, nothing held beyond the current row): filters are
    // optional (empty meterId = all meters, empty key = every key); ordered by ts, then id.
    // The key filter runs in SQL but no index covers it: (meter_id, ts) narrows, key is checked
    // per row of that meter.
    class ReadingCursor {
    public:
        bool next(StoredReading &row); // false at the end or on error (see error())
        std::optional<dlms::Error> error() const { return m_error; }

    private:
        friend class Reader;
        QSqlQuery m_query;
        std::optional<dlms::Error> m_error;
    };
    dlms::Result<ReadingCursor> readings(
        const QString &meterId, qint64 fromMs, qint64 toMs, const QString &key = {});
    // Same for network_metrics rows of every meter (or one), ordered by timestamp, meter.
    class MetricsCursor {
    public:
        bool next(monitor::MetricsRow &row);
        std::optional<dlms::Error> error() const { return m_error; }

    private:
        friend class Reader;
        QSqlQuery m_query;
        std::optional<dlms::Error> m_error;
    };
    dlms::Result<MetricsCursor> metricsRows(const QString &meterId, qint64 fromMs, qint64 toMs);

    // Outbox rows with id > afterId in id order, at most `limit` rows and (after the first)
    // at most maxBytes of payload. Prepared once per Reader: the MQTT publisher calls it often.
    dlms::Result<std::vector<OutboxRow>> outboxRows(qint64 afterId, int limit, qint64 maxBytes);
    // Counted by a query (the writer's StorageStatus::outbox is the cheap figure while it runs).
    dlms::Result<OutboxLevel> outboxLevel();

private:
    explicit Reader(QString connectionName);
    QString m_connectionName;
    std::unique_ptr<QSqlQuery> m_outboxQuery; // outboxRows(), prepared on first use
};

} // namespace storage
