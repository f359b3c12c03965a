#include "reader.h"

#include "metricscolumns.h"

#include <QtSql/QSqlError>

#include <algorithm>
#include <cstdint>
#include <type_traits>
#include <utility>

using namespace Qt::StringLiterals;

namespace storage {

namespace {

// meter_id, timestamp, period_s, then every column of the shared list (indices 3…).
const QString &metricsSelectList()
{
    static const QString list = [] {
        QString text = u"meter_id, timestamp, period_s"_s;
        for (const detail::MetricsColumn &column : detail::metricsColumns())
            text += u", "_s + column.name;
        return text;
    }();
    return list;
}

// A negative count can only come from a hand-edited row; it is not worth a wrapped quint64.
quint64 counterValue(const QVariant &value)
{
    return quint64(std::max<qint64>(value.toLongLong(), 0));
}

// The shared columns from index `first` on, each converted to its member's kind.
void fillColumns(const QSqlQuery &query, int first, monitor::MetricsRow &row)
{
    int index = first;
    for (const detail::MetricsColumn &column : detail::metricsColumns()) {
        const QVariant value = query.value(index++);
        detail::visitColumn(column, row, [&value](auto &member) {
            using T = std::decay_t<decltype(member)>;
            if constexpr (std::is_same_v<T, quint64>)
                member = counterValue(value);
            else if constexpr (std::is_same_v<T, double>)
                member = value.toDouble();
            else
                member = value.toLongLong();
        });
    }
}

void fillMetricsRow(const QSqlQuery &query, monitor::MetricsRow &row)
{
    row.meterId = query.value(0).toString();
    row.timestampMs = query.value(1).toLongLong();
    row.periodS = query.value(2).toDouble();
    fillColumns(query, 3, row);
}

// The store keeps numbers as REAL; an INTEGER written by another tool reads as a double too,
// and SQL NULL (a failed reading) as an invalid QVariant.
QVariant readingValue(const QVariant &value)
{
    if (value.isNull())
        return {};
    switch (value.typeId()) {
    case QMetaType::Double:
        return value;
    case QMetaType::LongLong:
    case QMetaType::Int:
    case QMetaType::ULongLong:
    case QMetaType::UInt:
        return value.toDouble();
    default:
        return value.toString();
    }
}

dlms::Error readError(const QSqlDatabase &db, const QSqlQuery &query, QStringView what)
{
    return {dlms::ErrorCode::IoError, db.databaseName() + u": "_s + queryError(query, what)};
}

} // namespace

Reader::Reader(QString connectionName) : m_connectionName(std::move(connectionName)) { }

Reader::Reader(Reader &&other) noexcept
    : m_connectionName(std::exchange(other.m_connectionName, {})),
      m_outboxQuery(std::move(other.m_outboxQuery))
{
}

Reader &Reader::operator=(Reader &&other) noexcept
{
    if (this != &other) {
        m_outboxQuery.reset();
        if (!m_connectionName.isEmpty())
            closeDatabase(m_connectionName);
        m_connectionName = std::exchange(other.m_connectionName, {});
        m_outboxQuery = std::move(other.m_outboxQuery);
    }
    return *this;
}

Reader::~Reader()
{
    // The prepared outbox query goes before its connection; other queries are locals of a
    // method, gone by now; cursors must not outlive us.
    m_outboxQuery.reset();
    if (!m_connectionName.isEmpty())
        closeDatabase(m_connectionName);
}

dlms::Result<Reader> Reader::open(const QString &path)
{
    const QString name = makeConnectionName(u"reader");
    OpenOptions options;
    options.mode = OpenMode::ReadOnly;
    if (auto db = openDatabase(path, name, options); !db)
        return db.error();
    return Reader(name);
}

QSqlDatabase Reader::database() const
{
    if (m_connectionName.isEmpty())
        return {};
    return QSqlDatabase::database(m_connectionName, false);
}

dlms::Result<QStringList> Reader::meterIds()
{
    const QSqlDatabase db = database();
    QSqlQuery query(db);
    query.setForwardOnly(true);
    if (!query.exec(u"SELECT id FROM meters ORDER BY id"_s))
        return readError(db, query, u"meters.select");
    QStringList ids;
    while (query.next())
        ids.append(query.value(0).toString());
    if (query.lastError().isValid())
        return readError(db, query, u"meters.select");
    return ids;
}

dlms::Result<std::optional<QString>> Reader::meterName(const QString &meterId)
{
    const QSqlDatabase db = database();
    QSqlQuery query(db);
    query.setForwardOnly(true);
    if (!query.prepare(u"SELECT name FROM meters WHERE id = ?"_s))
        return readError(db, query, u"meters.select");
    query.addBindValue(meterId);
    if (!query.exec())
        return readError(db, query, u"meters.select");
    if (query.next())
        return std::optional<QString>(query.value(0).toString());
    if (query.lastError().isValid())
        return readError(db, query, u"meters.select");
    return std::optional<QString>();
}

dlms::Result<std::vector<monitor::MetricsRow>> Reader::metrics(
    const QString &meterId, qint64 fromMs, qint64 toMs, int limit)
{
    const QSqlDatabase db = database();
    QSqlQuery query(db);
    query.setForwardOnly(true);
    // Newest first so LIMIT keeps the newest rows; reversed below.
    const QString sql = u"SELECT "_s + metricsSelectList()
        + u" FROM network_metrics WHERE meter_id = ? AND timestamp >= ? AND timestamp < ?"
          " ORDER BY timestamp DESC, id DESC LIMIT ?"_s;
    if (!query.prepare(sql))
        return readError(db, query, u"network_metrics.select");
    query.addBindValue(meterId);
    query.addBindValue(fromMs);
    query.addBindValue(toMs);
    query.addBindValue(limit > 0 ? qint64(limit) : qint64(-1));
    if (!query.exec())
        return readError(db, query, u"network_metrics.select");
    std::vector<monitor::MetricsRow> rows;
    while (query.next()) {
        monitor::MetricsRow row;
        fillMetricsRow(query, row);
        rows.push_back(std::move(row));
    }
    if (query.lastError().isValid())
        return readError(db, query, u"network_metrics.select");
    std::reverse(rows.begin(), rows.end());
    return rows;
}

dlms::Result<MetricsTotals> Reader::metricsTotals(const QString &meterId)
{
    // Counters add up; rates average over time (weighted by period_s); RTT averages weight by
    // the round trips measured (rtt_samples); peaks and maxima take the maximum (a peak is never below its
    // average, which also covers rows of the Python bridge, which had no peak columns).
    static const QString sql = []() -> QString {
        QString text = u"SELECT count(*), total(period_s), coalesce(min(timestamp), 0)"_s;
        for (const detail::MetricsColumn &column : detail::metricsColumns()) {
            const QString name = column.name;
            if (column.counter) {
                text += u", coalesce(sum("_s + name + u"), 0)"_s;
            } else if (name == u"rtt_avg_ms") {
                // Weighted by the round trips measured; rows written before rtt_samples existed
                // (none counted anywhere) fall back to completed polls.
                text += u", CASE WHEN total(rtt_samples) > 0"
                        " THEN total(rtt_avg_ms * rtt_samples) / total(rtt_samples)"
                        " WHEN total(polls_completed) > 0"
                        " THEN total(rtt_avg_ms * polls_completed) / total(polls_completed)"
                        " ELSE coalesce(avg(nullif(rtt_avg_ms, 0)), 0) END"_s;
            } else if (name == u"rtt_p95_ms" || name == u"rtt_max_ms") {
                text += u", coalesce(max("_s + name + u"), 0)"_s;
            } else if (name == u"bandwidth_tx_peak_bps") {
                text += u", coalesce(max(max(bandwidth_tx_peak_bps, bandwidth_tx_bps)), 0)"_s;
            } else if (name == u"bandwidth_rx_peak_bps") {
                text += u", coalesce(max(max(bandwidth_rx_peak_bps, bandwidth_rx_bps)), 0)"_s;
            } else if (column.signedCounter) {
                // outbox_backlog: a level, not a count — the newest row's.
                text += u", coalesce((SELECT n.outbox_backlog FROM network_metrics n WHERE n.meter_id = ?"
                        " ORDER BY n.timestamp DESC, n.id DESC LIMIT 1), 0)"_s;
            } else if (name == u"dlms_avg_payload_size") {
                text += u", 0"_s; // recomputed from the summed bytes and frames
            } else {
                text += u", CASE WHEN total(period_s) > 0 THEN total("_s + name
                    + u" * period_s) / total(period_s) ELSE coalesce(avg("_s + name + u"), 0) END"_s;
            }
        }
        return text + u" FROM network_metrics WHERE meter_id = ?"_s;
    }();

    const QSqlDatabase db = database();
    QSqlQuery query(db);
    query.setForwardOnly(true);
    if (!query.prepare(sql))
        return readError(db, query, u"network_metrics.totals");
    query.addBindValue(meterId); // the outbox_backlog subquery
    query.addBindValue(meterId);
    if (!query.exec() || !query.next())
        return readError(db, query, u"network_metrics.totals");

    MetricsTotals totals;
    totals.rows = query.value(0).toLongLong();
    totals.periodS = query.value(1).toDouble();
    monitor::MetricsRow &sums = totals.sums;
    sums.meterId = meterId;
    sums.timestampMs = query.value(2).toLongLong();
    sums.periodS = totals.periodS;
    fillColumns(query, 3, sums);
    // The seed's figure: bytes sent per frame sent (its requests for its own rows).
    sums.dlmsAvgPayloadSize
        = detail::averageSize(sums.dlmsBytesSent, sums.dlmsFramesSent, sums.dlmsRequestsSent);
    return totals;
}

bool Reader::ReadingCursor::next(StoredReading &row)
{
    if (m_error || !m_query.isActive())
        return false;
    if (!m_query.next()) {
        if (m_query.lastError().isValid())
            m_error = dlms::Error {dlms::ErrorCode::IoError, queryError(m_query, u"readings.select")};
        m_query.finish();
        return false;
    }
    row.id = m_query.value(0).toLongLong();
    row.meterId = m_query.value(1).toString();
    row.timestampMs = m_query.value(2).toLongLong();
    row.key = m_query.value(3).toString();
    row.obis = m_query.value(4).toString();
    row.value = readingValue(m_query.value(5));
    row.unit = m_query.value(6).toString();
    row.quality = m_query.value(7).toString();
    return true;
}

bool Reader::MetricsCursor::next(monitor::MetricsRow &row)
{
    if (m_error || !m_query.isActive())
        return false;
    if (!m_query.next()) {
        if (m_query.lastError().isValid())
            m_error = dlms::Error {dlms::ErrorCode::IoError, queryError(m_query, u"network_metrics.select")};
        m_query.finish();
        return false;
    }
    fillMetricsRow(m_query, row);
    return true;
}

dlms::Result<Reader::ReadingCursor> Reader::readings(
    const QString &meterId, qint64 fromMs, qint64 toMs, const QString &key)
{
    const QSqlDatabase db = database();
    ReadingCursor cursor;
    cursor.m_query = QSqlQuery(db);
    cursor.m_query.setForwardOnly(true);
    // The (ts) and (meter_id, ts) indexes both end in the rowid, so SQLite walks them in
    // (ts, id) order without sorting: rows stream straight from the index.
    QString sql = u"SELECT id, meter_id, ts, key, obis, value, unit, quality FROM readings"
                  " WHERE ts >= ? AND ts < ?"_s;
    if (!meterId.isEmpty())
        sql += u" AND meter_id = ?"_s;
    if (!key.isEmpty())
        sql += u" AND key = ?"_s;
    sql += u" ORDER BY ts, id"_s;
    if (!cursor.m_query.prepare(sql))
        return readError(db, cursor.m_query, u"readings.select");
    cursor.m_query.addBindValue(fromMs);
    cursor.m_query.addBindValue(toMs);
    if (!meterId.isEmpty())
        cursor.m_query.addBindValue(meterId);
    if (!key.isEmpty())
        cursor.m_query.addBindValue(key);
    if (!cursor.m_query.exec())
        return readError(db, cursor.m_query, u"readings.select");
    return cursor;
}

dlms::Result<Reader::MetricsCursor> Reader::metricsRows(const QString &meterId, qint64 fromMs, qint64 toMs)
{
    const QSqlDatabase db = database();
    MetricsCursor cursor;
    cursor.m_query = QSqlQuery(db);
    cursor.m_query.setForwardOnly(true);
    QString sql = u"SELECT "_s + metricsSelectList()
        + u" FROM network_metrics WHERE timestamp >= ? AND timestamp < ?"_s;
    if (!meterId.isEmpty())
        sql += u" AND meter_id = ?"_s;
    // Within one minute only that minute's rows are sorted by meter: memory stays bounded.
    sql += u" ORDER BY timestamp, meter_id, id"_s;
    if (!cursor.m_query.prepare(sql))
        return readError(db, cursor.m_query, u"network_metrics.select");
    cursor.m_query.addBindValue(fromMs);
    cursor.m_query.addBindValue(toMs);
    if (!meterId.isEmpty())
        cursor.m_query.addBindValue(meterId);
    if (!cursor.m_query.exec())
        return readError(db, cursor.m_query, u"network_metrics.select");
    return cursor;
}

dlms::Result<std::vector<OutboxRow>> Reader::outboxRows(qint64 afterId, int limit, qint64 maxBytes)
{
    const QSqlDatabase db = database();
    if (!m_outboxQuery) {
        auto query = std::make_unique<QSqlQuery>(db);
        query->setForwardOnly(true);
        if (!query->prepare(u"SELECT id, meter_id, ts, payload, value_count, created_ms FROM outbox"
                            " WHERE id > ? ORDER BY id LIMIT ?"_s))
            return readError(db, *query, u"outbox.select");
        m_outboxQuery = std::move(query);
    }
    QSqlQuery &query = *m_outboxQuery;
    query.bindValue(0, afterId);
    query.bindValue(1, qint64(std::max(limit, 0)));
    if (!query.exec())
        return readError(db, query, u"outbox.select");
    std::vector<OutboxRow> rows;
    rows.reserve(size_t(std::clamp(limit, 0, 4096)));
    qint64 bytes = 0;
    while (query.next()) {
        QByteArray payload = query.value(3).toByteArray();
        // The first row goes even when larger than maxBytes: the caller must make progress.
        if (!rows.empty() && bytes + payload.size() > maxBytes)
            break;
        bytes += payload.size();
        OutboxRow &row = rows.emplace_back();
        row.id = query.value(0).toLongLong();
        row.meterId = query.value(1).toString();
        row.timestampMs = query.value(2).toLongLong();
        row.payload = std::move(payload);
        row.valueCount = quint32(std::clamp<qint64>(query.value(4).toLongLong(), 0, qint64(UINT32_MAX)));
        row.createdMs = query.value(5).toLongLong();
    }
    const bool failed = query.lastError().isValid();
    // Ends the read transaction at once: an open one would hold back the writer's checkpoints.
    query.finish();
    if (failed)
        return readError(db, query, u"outbox.select");
    return rows;
}

dlms::Result<OutboxLevel> Reader::outboxLevel()
{
    const QSqlDatabase db = database();
    QSqlQuery query(db);
    query.setForwardOnly(true);
    // The writer counts the same way (storage.cpp): the first row in id order is the oldest.
    if (!query.exec(u"SELECT count(*), coalesce(sum(length(payload)), 0),"
                    " coalesce((SELECT created_ms FROM outbox ORDER BY id LIMIT 1), 0) FROM outbox"_s)
        || !query.next())
        return readError(db, query, u"outbox.level");
    OutboxLevel level;
    level.rows = query.value(0).toLongLong();
    level.bytes = query.value(1).toLongLong();
    level.oldestCreatedMs = query.value(2).toLongLong();
    return level;
}

} // namespace storage
