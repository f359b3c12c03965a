#pragma once

// Test databases for the reader, stats and export tests, built with openDatabase and plain
// INSERTs (never through the Storage writer, so these tests stand on the schema alone). The
// network_metrics columns are spelled out here by hand, apart from the library's own list, so a
// mismatch between the two shows up as a failing round trip.

#include <database.h>
#include <monitortypes.h>

#include <QtCore/QTemporaryDir>
#include <QtCore/QVariant>
#include <QtSql/QSqlDatabase>
#include <QtSql/QSqlError>
#include <QtSql/QSqlQuery>

#include <cstdio>

namespace readertest {

using namespace Qt::StringLiterals;

// A read-write connection on a fresh file in a temporary directory; closed on destruction.
class TestDb {
public:
    TestDb() : m_path(m_dir.filePath(u"bridge.db"_s)) { }
    explicit TestDb(const QString &path) : m_path(path) { }
    ~TestDb() { close(); }
    Q_DISABLE_COPY_MOVE(TestDb)

    bool open()
    {
        m_connection = storage::makeConnectionName(u"test-writer");
        const auto db = storage::openDatabase(m_path, m_connection);
        if (!db) {
            std::fprintf(stderr, "openDatabase: %s\n", qPrintable(db.error().message));
            m_connection.clear();
            return false;
        }
        return true;
    }
    void close()
    {
        if (!m_connection.isEmpty())
            storage::closeDatabase(m_connection);
        m_connection.clear();
    }

    QSqlDatabase db() const { return QSqlDatabase::database(m_connection, false); }
    const QString &path() const { return m_path; }
    QString dirPath() const { return m_dir.path(); }

private:
    QTemporaryDir m_dir;
    QString m_path;
    QString m_connection;
};

// The message of a failed result for QVERIFY2 (which evaluates its message even on success).
template<typename T> const char *why(const dlms::Result<T> &result)
{
    static QByteArray text;
    text = result ? QByteArray() : result.error().message.toUtf8();
    return text.constData();
}

inline bool execOrWarn(QSqlQuery &query)
{
    if (query.exec())
        return true;
    std::fprintf(stderr, "SQL failed: %s\n", qPrintable(query.lastError().text()));
    return false;
}

inline bool insertMeter(const QSqlDatabase &db, const QString &id, const QString &name)
{
    QSqlQuery query(db);
    query.prepare(
        u"INSERT INTO meters (id, name, host, port, transport) VALUES (?, ?, '127.0.0.1', 4059, 'wrapper')"_s);
    query.addBindValue(id);
    query.addBindValue(name.isNull() ? u""_s : name);
    return execOrWarn(query);
}

inline bool insertReading(const QSqlDatabase &db, const QString &meterId, qint64 ts, const QString &key,
    const QString &obis, const QVariant &value, const QString &unit, const QString &quality = u"good"_s)
{
    QSqlQuery query(db);
    query.prepare(
        u"INSERT INTO readings (meter_id, ts, key, obis, value, unit, quality) VALUES (?, ?, ?, ?, ?, ?, ?)"_s);
    query.addBindValue(meterId);
    query.addBindValue(ts);
    query.addBindValue(key);
    query.addBindValue(obis);
    query.addBindValue(value);
    query.addBindValue(unit.isNull() ? u""_s : unit); // NOT NULL: a null QString binds NULL
    query.addBindValue(quality);
    return execOrWarn(query);
}

// Every column of network_metrics by name (schema version 2).
inline bool insertMetrics(const QSqlDatabase &db, const monitor::MetricsRow &r)
{
    QSqlQuery query(db);
    query.prepare(
        u"INSERT INTO network_metrics (meter_id, timestamp, period_s, dlms_requests_sent,"
        " dlms_responses_recv, dlms_bytes_sent, dlms_bytes_recv, dlms_avg_payload_size, mqtt_messages_sent,"
        " mqtt_bytes_sent, bandwidth_tx_bps, bandwidth_rx_bps, packets_tx_ps, packets_rx_ps, "
        "dlms_frames_sent,"
        " dlms_frames_recv, dlms_timeouts, dlms_protocol_errors, dlms_reconnects, polls_attempted,"
        " polls_completed, polls_failed, values_read, rtt_avg_ms, rtt_p95_ms, rtt_max_ms, rtt_samples,"
        " mqtt_packet_bytes_sent, mqtt_publish_failures, outbox_backlog, bandwidth_tx_peak_bps,"
        " bandwidth_rx_peak_bps, if_rx_errors, if_tx_errors, if_rx_drops, if_tx_drops)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
        "?,"
        " ?, ?, ?, ?, ?)"_s);
    auto u = [&](quint64 v) { query.addBindValue(qint64(v)); };
    auto d = [&](double v) { query.addBindValue(v); };
    query.addBindValue(r.meterId);
    query.addBindValue(r.timestampMs);
    d(r.periodS);
    u(r.dlmsRequestsSent);
    u(r.dlmsResponsesRecv);
    u(r.dlmsBytesSent);
    u(r.dlmsBytesRecv);
    d(r.dlmsAvgPayloadSize);
    u(r.mqttMessagesSent);
    u(r.mqttBytesSent);
    d(r.bandwidthTxBps);
    d(r.bandwidthRxBps);
    d(r.packetsTxPs);
    d(r.packetsRxPs);
    u(r.dlmsFramesSent);
    u(r.dlmsFramesRecv);
    u(r.dlmsTimeouts);
    u(r.dlmsProtocolErrors);
    u(r.dlmsReconnects);
    u(r.pollsAttempted);
    u(r.pollsCompleted);
    u(r.pollsFailed);
    u(r.valuesRead);
    d(r.rttAvgMs);
    d(r.rttP95Ms);
    d(r.rttMaxMs);
    u(r.rttSamples);
    u(r.mqttPacketBytesSent);
    u(r.mqttPublishFailures);
    query.addBindValue(r.outboxBacklog);
    d(r.bandwidthTxPeakBps);
    d(r.bandwidthRxPeakBps);
    u(r.ifRxErrors);
    u(r.ifTxErrors);
    u(r.ifRxDrops);
    u(r.ifTxDrops);
    return execOrWarn(query);
}

// A row whose every field differs from every other (seeded by `n`), so a swapped column shows.
inline monitor::MetricsRow distinctRow(const QString &meterId, qint64 timestampMs, int n = 1)
{
    monitor::MetricsRow r;
    r.meterId = meterId;
    r.timestampMs = timestampMs;
    r.periodS = 60;
    quint64 next = quint64(n) * 1000;
    auto c = [&] { return ++next; };
    auto f = [&] { return double(++next) + 0.25; };
    r.dlmsRequestsSent = c();
    r.dlmsResponsesRecv = c();
    r.dlmsBytesSent = c();
    r.dlmsBytesRecv = c();
    r.dlmsAvgPayloadSize = f();
    r.mqttMessagesSent = c();
    r.mqttBytesSent = c();
    r.bandwidthTxBps = f();
    r.bandwidthRxBps = f();
    r.packetsTxPs = f();
    r.packetsRxPs = f();
    r.dlmsFramesSent = c();
    r.dlmsFramesRecv = c();
    r.dlmsTimeouts = c();
    r.dlmsProtocolErrors = c();
    r.dlmsReconnects = c();
    r.pollsAttempted = c();
    r.pollsCompleted = c();
    r.pollsFailed = c();
    r.valuesRead = c();
    r.rttAvgMs = f();
    r.rttP95Ms = f();
    r.rttMaxMs = f();
    r.rttSamples = c();
    r.mqttPacketBytesSent = c();
    r.mqttPublishFailures = c();
    r.outboxBacklog = qint64(c());
    r.bandwidthTxPeakBps = f();
    r.bandwidthRxPeakBps = f();
    r.ifRxErrors = c();
    r.ifTxErrors = c();
    r.ifRxDrops = c();
    r.ifTxDrops = c();
    return r;
}

} // namespace readertest
