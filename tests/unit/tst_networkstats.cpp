#include "readertestdb.h"

#include <networkstats.h>

#include <QtCore/QDateTime>
#include <QtCore/QJsonArray>
#include <QtCore/QJsonDocument>
#include <QtCore/QRegularExpression>
#include <QtTest/QTest>

#include <cmath>
#include <memory>
#include <optional>

using namespace Qt::StringLiterals;
using monitor::MetricsRow;
using readertest::TestDb;
using storage::Reader;

namespace {

constexpr qint64 T0 = 1'795'514'400'000; // 2026-11-24T10:00:00Z
constexpr qint64 Minute = 60'000;

// The value at "a.b" in `document`; undefined when a step is missing.
QJsonValue at(const QJsonObject &document, const QString &path)
{
    QJsonValue value = document;
    for (const QString &key : path.split(u'.')) {
        if (!value.isObject() || !value.toObject().contains(key))
            return QJsonValue(QJsonValue::Undefined);
        value = value.toObject().value(key);
    }
    return value;
}

QList<double> numbers(const QJsonValue &array)
{
    QList<double> values;
    for (const QJsonValue &v : array.toArray())
        values.append(v.toDouble());
    return values;
}

// Meter m1 ("Feeder 1"): three minutes with known figures; m2: one row; the system: two rows;
// "quiet": configured, no rows yet; "ghost": rows but no meters entry.
MetricsRow m1Row(int minute)
{
    MetricsRow r;
    r.meterId = u"m1"_s;
    r.timestampMs = T0 + minute * Minute;
    r.periodS = 60;
    r.dlmsRequestsSent = quint64(10 + minute);
    r.dlmsResponsesRecv = quint64(10 + minute);
    r.dlmsBytesSent = quint64(200 + 10 * minute);
    r.dlmsBytesRecv = quint64(500 + 20 * minute);
    r.dlmsFramesSent = quint64(10 + minute);
    r.dlmsFramesRecv = quint64(11 + minute);
    r.mqttMessagesSent = 4;
    r.mqttBytesSent = 400;
    r.mqttPacketBytesSent = 460;
    r.bandwidthTxBps = 1000.0 * (minute + 1); // 1000, 2000, 3000
    r.bandwidthRxBps = 2500.0 * (minute + 1);
    r.packetsTxPs = 0.5 * (minute + 1);
    r.packetsRxPs = 0.25 * (minute + 1);
    r.bandwidthTxPeakBps = 9000.0 + minute;
    r.bandwidthRxPeakBps = 0; // absent: the row's average stands in
    r.pollsAttempted = 6;
    r.pollsCompleted = minute == 2 ? 5 : 6;
    r.pollsFailed = minute == 2 ? 1 : 0;
    r.valuesRead = 60;
    r.dlmsTimeouts = minute == 2 ? 1 : 0;
    r.dlmsProtocolErrors = 1;
    r.dlmsReconnects = minute;
    r.rttAvgMs = 10.0 * (minute + 1);
    r.rttP95Ms = 20.0 + minute;
    r.rttMaxMs = 30.0 + 5 * minute;
    r.mqttPublishFailures = minute == 0 ? 1 : 0;
    r.outboxBacklog = 3 - minute;
    return r;
}

} // namespace

class tst_NetworkStats : public QObject {
    Q_OBJECT

private:
    std::unique_ptr<TestDb> m_db;
    std::optional<Reader> m_reader;

    QJsonObject document(const QString &meter, int history = 60)
    {
        const auto doc = storage::networkStatsDocument(*m_reader, meter, history);
        if (!doc) {
            qWarning("networkStatsDocument: %s", qPrintable(doc.error().message));
            return {};
        }
        return *doc;
    }

private slots:
    void initTestCase()
    {
        m_db = std::make_unique<TestDb>();
        QVERIFY(m_db->open());
        const QSqlDatabase db = m_db->db();
        QVERIFY(readertest::insertMeter(db, u"m1"_s, u"Feeder 1"_s));
        QVERIFY(readertest::insertMeter(db, u"m2"_s, u""_s));
        QVERIFY(readertest::insertMeter(db, u"quiet"_s, u"Quiet one"_s));
        for (int minute : {2, 0, 1})
            QVERIFY(readertest::insertMetrics(db, m1Row(minute)));
        QVERIFY(readertest::insertMetrics(db, readertest::distinctRow(u"m2"_s, T0, 3)));
        QVERIFY(readertest::insertMetrics(db, readertest::distinctRow(u"ghost"_s, T0, 4)));
        MetricsRow system;
        system.meterId = u"*"_s;
        system.periodS = 60;
        system.timestampMs = T0;
        system.dlmsRequestsSent = 100;
        system.bandwidthTxBps = 1'500'000;
        system.ifRxErrors = 2;
        system.ifTxDrops = 1;
        QVERIFY(readertest::insertMetrics(db, system));
        system.timestampMs = T0 + Minute;
        system.dlmsRequestsSent = 50;
        system.bandwidthTxBps = 500'000;
        system.ifRxErrors = 3;
        QVERIFY(readertest::insertMetrics(db, system));
        auto reader = Reader::open(m_db->path());
        QVERIFY2(reader, readertest::why(reader));
        m_reader.emplace(std::move(*reader));
    }
    void cleanupTestCase()
    {
        m_reader.reset();
        m_db.reset();
    }

    // Every key of the seed's document (and ours) is there with the JSON type it had.
    void shapeKeyByKey_data()
    {
        QTest::addColumn<QString>("path");
        QTest::addColumn<QString>("type");
        const QStringList seed {u"meter_id:string"_s, u"meter_name:string"_s, u"timestamp:string"_s,
            u"current.bandwidth_tx_kbps:number"_s, u"current.bandwidth_rx_kbps:number"_s,
            u"current.bandwidth_total_kbps:number"_s, u"current.packets_tx_ps:number"_s,
            u"current.packets_rx_ps:number"_s, u"application.dlms_requests_sent:integer"_s,
            u"application.dlms_responses_recv:integer"_s, u"application.dlms_avg_payload_size:number"_s,
            u"application.dlms_total_bytes_sent:integer"_s, u"application.dlms_total_bytes_recv:integer"_s,
            u"application.mqtt_messages_sent:integer"_s, u"application.mqtt_total_bytes_sent:integer"_s,
            u"averages.bandwidth_tx_mbps:number"_s, u"averages.bandwidth_rx_mbps:number"_s,
            u"peaks.bandwidth_tx_mbps:number"_s, u"peaks.bandwidth_rx_mbps:number"_s,
            u"history.timestamp:strings"_s, u"history.bandwidth_tx_mbps:numbers"_s,
            u"history.bandwidth_rx_mbps:numbers"_s, u"history.packets_tx_ps:numbers"_s,
            u"history.packets_rx_ps:numbers"_s};
        const QStringList ours {u"application.dlms_avg_frame_size:number"_s,
            u"application.dlms_avg_request_size:number"_s, u"application.dlms_avg_response_size:number"_s,
            u"application.dlms_frames_sent:integer"_s, u"application.dlms_frames_recv:integer"_s,
            u"application.mqtt_packet_bytes_sent:integer"_s, u"application.values_read:integer"_s,
            u"application.dlms_bytes_per_value:number"_s, u"reliability.timeouts:integer"_s,
            u"reliability.protocol_errors:integer"_s, u"reliability.reconnects:integer"_s,
            u"reliability.polls_attempted:integer"_s, u"reliability.polls_completed:integer"_s,
            u"reliability.polls_failed:integer"_s, u"reliability.poll_success_rate:number"_s,
            u"reliability.mqtt_publish_failures:integer"_s, u"latency.rtt_avg_ms:number"_s,
            u"latency.rtt_p95_ms:number"_s, u"latency.rtt_max_ms:number"_s, u"interface.rx_errors:integer"_s,
            u"interface.tx_errors:integer"_s, u"interface.rx_drops:integer"_s,
            u"interface.tx_drops:integer"_s, u"peaks.bandwidth_tx_peak_1s_mbps:number"_s,
            u"peaks.bandwidth_rx_peak_1s_mbps:number"_s, u"window.rows:integer"_s, u"window.from:string"_s,
            u"window.to:string"_s, u"window.period_s:number"_s, u"outbox.backlog:integer"_s};
        for (const QString &entry : seed + ours) {
            const QStringList parts = entry.split(u':');
            QTest::newRow(qPrintable(parts.at(0))) << parts.at(0) << parts.at(1);
        }
    }
    void shapeKeyByKey()
    {
        QFETCH(QString, path);
        QFETCH(QString, type);
        const QJsonObject doc = document(u"m1"_s);
        const QJsonValue value = at(doc, path);
        QVERIFY2(!value.isUndefined(), qPrintable(path + u" missing"_s));
        if (type == u"string") {
            QVERIFY(value.isString());
        } else if (type == u"number") {
            QVERIFY(value.isDouble());
        } else if (type == u"integer") {
            // An exact integer, and printed as one (no fraction, no exponent).
            QVERIFY(value.isDouble());
            QCOMPARE(value.toDouble(), double(value.toInteger()));
            const QByteArray compact = QJsonDocument(doc).toJson(QJsonDocument::Compact);
            const QString key = path.section(u'.', -1);
            const QRegularExpression printed(u"\"%1\":(-?\\d+)[,}]"_s.arg(key));
            QVERIFY2(printed.match(QString::fromUtf8(compact)).hasMatch(), qPrintable(path));
        } else {
            QVERIFY(value.isArray());
            QCOMPARE(value.toArray().size(), 3);
            for (const QJsonValue &element : value.toArray())
                QVERIFY(type == u"strings" ? element.isString() : element.isDouble());
        }
    }

    void noUnexpectedTopLevelKeys()
    {
        QStringList keys = document(u"m1"_s).keys();
        keys.sort();
        QCOMPARE(keys,
            (QStringList {u"application"_s, u"averages"_s, u"current"_s, u"history"_s, u"interface"_s,
                u"latency"_s, u"meter_id"_s, u"meter_name"_s, u"outbox"_s, u"peaks"_s, u"reliability"_s,
                u"timestamp"_s, u"window"_s}));
    }

    void valuesFromKnownRows()
    {
        const QJsonObject doc = document(u"m1"_s);
        QCOMPARE(doc.value(u"meter_id"_s).toString(), u"m1"_s);
        QCOMPARE(doc.value(u"meter_name"_s).toString(), u"Feeder 1"_s);
        QCOMPARE(doc.value(u"timestamp"_s).toString(), u"2026-11-24T10:02:00Z"_s); // the newest row

        // current: the newest row, bps / 1000.
        QCOMPARE(at(doc, u"current.bandwidth_tx_kbps"_s).toDouble(), 3.0);
        QCOMPARE(at(doc, u"current.bandwidth_rx_kbps"_s).toDouble(), 7.5);
        QCOMPARE(at(doc, u"current.bandwidth_total_kbps"_s).toDouble(), 10.5);
        QCOMPARE(at(doc, u"current.packets_tx_ps"_s).toDouble(), 1.5);
        QCOMPARE(at(doc, u"current.packets_rx_ps"_s).toDouble(), 0.75);

        // application: sums over every row.
        QCOMPARE(at(doc, u"application.dlms_requests_sent"_s).toInteger(), 33);
        QCOMPARE(at(doc, u"application.dlms_responses_recv"_s).toInteger(), 33);
        QCOMPARE(at(doc, u"application.dlms_total_bytes_sent"_s).toInteger(), 630);
        QCOMPARE(at(doc, u"application.dlms_total_bytes_recv"_s).toInteger(), 1560);
        QCOMPARE(at(doc, u"application.dlms_frames_sent"_s).toInteger(), 33);
        QCOMPARE(at(doc, u"application.dlms_frames_recv"_s).toInteger(), 36);
        // The seed's figure: bytes sent / frames sent, 630 / 33 = 19.0909… → 3 decimals; ours
        // beside it both directions, (630 + 1560) / (33 + 36) = 31.7391….
        QCOMPARE(at(doc, u"application.dlms_avg_payload_size"_s).toDouble(), 19.091);
        QCOMPARE(at(doc, u"application.dlms_avg_frame_size"_s).toDouble(), 31.739);
        QCOMPARE(at(doc, u"application.dlms_avg_request_size"_s).toDouble(), 19.091); // 630 / 33
        QCOMPARE(at(doc, u"application.dlms_avg_response_size"_s).toDouble(), 43.333); // 1560 / 36
        QCOMPARE(at(doc, u"application.mqtt_messages_sent"_s).toInteger(), 12);
        QCOMPARE(at(doc, u"application.mqtt_total_bytes_sent"_s).toInteger(), 1200);
        QCOMPARE(at(doc, u"application.mqtt_packet_bytes_sent"_s).toInteger(), 1380);
        QCOMPARE(at(doc, u"application.values_read"_s).toInteger(), 180);
        QCOMPARE(at(doc, u"application.dlms_bytes_per_value"_s).toDouble(), 12.167); // 2190 / 180

        // averages / peaks over the history rows, bps / 10^6.
        QCOMPARE(at(doc, u"averages.bandwidth_tx_mbps"_s).toDouble(), 0.002);
        QCOMPARE(at(doc, u"averages.bandwidth_rx_mbps"_s).toDouble(), 0.005);
        QCOMPARE(at(doc, u"peaks.bandwidth_tx_mbps"_s).toDouble(), 0.003);
        QCOMPARE(at(doc, u"peaks.bandwidth_rx_mbps"_s).toDouble(), 0.0075);
        QCOMPARE(at(doc, u"peaks.bandwidth_tx_peak_1s_mbps"_s).toDouble(), 0.009002);
        QCOMPARE(at(doc, u"peaks.bandwidth_rx_peak_1s_mbps"_s).toDouble(), 0.0075);

        // history: oldest first, one entry per row.
        QCOMPARE(at(doc, u"history.timestamp"_s).toArray(),
            (QJsonArray {u"2026-11-24T10:00:00Z"_s, u"2026-11-24T10:01:00Z"_s, u"2026-11-24T10:02:00Z"_s}));
        QCOMPARE(numbers(at(doc, u"history.bandwidth_tx_mbps"_s)), (QList<double> {0.001, 0.002, 0.003}));
        QCOMPARE(numbers(at(doc, u"history.bandwidth_rx_mbps"_s)), (QList<double> {0.0025, 0.005, 0.0075}));
        QCOMPARE(numbers(at(doc, u"history.packets_tx_ps"_s)), (QList<double> {0.5, 1.0, 1.5}));
        QCOMPARE(numbers(at(doc, u"history.packets_rx_ps"_s)), (QList<double> {0.25, 0.5, 0.75}));

        QCOMPARE(at(doc, u"reliability.timeouts"_s).toInteger(), 1);
        QCOMPARE(at(doc, u"reliability.protocol_errors"_s).toInteger(), 3);
        QCOMPARE(at(doc, u"reliability.reconnects"_s).toInteger(), 3);
        QCOMPARE(at(doc, u"reliability.polls_attempted"_s).toInteger(), 18);
        QCOMPARE(at(doc, u"reliability.polls_completed"_s).toInteger(), 17);
        QCOMPARE(at(doc, u"reliability.polls_failed"_s).toInteger(), 1);
        QCOMPARE(at(doc, u"reliability.poll_success_rate"_s).toDouble(), 0.9444); // 17 / 18
        QCOMPARE(at(doc, u"reliability.mqtt_publish_failures"_s).toInteger(), 1);

        // RTT: average weighted by completed polls, max of maxima, p95 = max of the rows' p95.
        QCOMPARE(at(doc, u"latency.rtt_avg_ms"_s).toDouble(), 19.412); // (10·6 + 20·6 + 30·5) / 17
        QCOMPARE(at(doc, u"latency.rtt_p95_ms"_s).toDouble(), 22.0);
        QCOMPARE(at(doc, u"latency.rtt_max_ms"_s).toDouble(), 40.0);

        QCOMPARE(at(doc, u"outbox.backlog"_s).toInteger(), 1); // the newest row's level
        QCOMPARE(at(doc, u"window.rows"_s).toInteger(), 3);
        QCOMPARE(at(doc, u"window.from"_s).toString(), u"2026-11-24T10:00:00Z"_s);
        QCOMPARE(at(doc, u"window.to"_s).toString(), u"2026-11-24T10:03:00Z"_s);
        QCOMPARE(at(doc, u"window.period_s"_s).toDouble(), 180.0);
    }

    void historyLimitNarrowsTheWindow()
    {
        const QJsonObject doc = document(u"m1"_s, 2);
        QCOMPARE(at(doc, u"history.timestamp"_s).toArray(),
            (QJsonArray {u"2026-11-24T10:01:00Z"_s, u"2026-11-24T10:02:00Z"_s}));
        QCOMPARE(numbers(at(doc, u"history.bandwidth_tx_mbps"_s)), (QList<double> {0.002, 0.003}));
        QCOMPARE(at(doc, u"averages.bandwidth_tx_mbps"_s).toDouble(), 0.0025);
        QCOMPARE(at(doc, u"peaks.bandwidth_tx_peak_1s_mbps"_s).toDouble(), 0.009002);
        QCOMPARE(at(doc, u"latency.rtt_p95_ms"_s).toDouble(), 22.0);
        QCOMPARE(at(doc, u"window.rows"_s).toInteger(), 2);
        // Totals stay over every row.
        QCOMPARE(at(doc, u"application.dlms_requests_sent"_s).toInteger(), 33);

        const QJsonObject none = document(u"m1"_s, 0);
        QVERIFY(at(none, u"history.timestamp"_s).toArray().isEmpty());
        QCOMPARE(at(none, u"current.bandwidth_tx_kbps"_s).toDouble(), 3.0); // still the newest row
        QCOMPARE(none.value(u"timestamp"_s).toString(), u"2026-11-24T10:02:00Z"_s);
    }

    void systemRow()
    {
        const QJsonObject doc = document(u"*"_s);
        QCOMPARE(doc.value(u"meter_id"_s).toString(), u"*"_s);
        QCOMPARE(doc.value(u"meter_name"_s).toString(), u"system"_s);
        QCOMPARE(at(doc, u"application.dlms_requests_sent"_s).toInteger(), 150);
        QCOMPARE(at(doc, u"current.bandwidth_tx_kbps"_s).toDouble(), 500.0);
        QCOMPARE(at(doc, u"averages.bandwidth_tx_mbps"_s).toDouble(), 1.0);
        QCOMPARE(at(doc, u"peaks.bandwidth_tx_mbps"_s).toDouble(), 1.5);
        QCOMPARE(at(doc, u"interface.rx_errors"_s).toInteger(), 5);
        QCOMPARE(at(doc, u"interface.tx_drops"_s).toInteger(), 2);
        QCOMPARE(at(doc, u"history.timestamp"_s).toArray().size(), 2);
    }

    void meterNameFallsBackToTheId()
    {
        QCOMPARE(document(u"m2"_s).value(u"meter_name"_s).toString(), u"m2"_s); // empty name
        const QJsonObject ghost = document(u"ghost"_s); // rows, no meters entry
        QCOMPARE(ghost.value(u"meter_name"_s).toString(), u"ghost"_s);
        QCOMPARE(at(ghost, u"application.dlms_requests_sent"_s).toInteger(),
            qint64(readertest::distinctRow(u"ghost"_s, T0, 4).dlmsRequestsSent));
    }

    void unknownMeterIsAnError()
    {
        const auto doc = storage::networkStatsDocument(*m_reader, u"nobody"_s);
        QVERIFY(!doc);
        QCOMPARE(doc.error().code, dlms::ErrorCode::InvalidArgument);
        QVERIFY2(doc.error().message.contains(u"unknown meter 'nobody'"_s), qPrintable(doc.error().message));
        QVERIFY(doc.error().message.startsWith(m_db->path()));
    }

    void configuredMeterWithoutRows()
    {
        const QJsonObject doc = document(u"quiet"_s);
        QCOMPARE(doc.value(u"meter_name"_s).toString(), u"Quiet one"_s);
        QVERIFY(QDateTime::fromString(doc.value(u"timestamp"_s).toString(), Qt::ISODate).isValid());
        for (const QString &path : {u"current.bandwidth_tx_kbps"_s, u"current.packets_rx_ps"_s,
                 u"application.dlms_requests_sent"_s, u"application.dlms_avg_payload_size"_s,
                 u"application.mqtt_total_bytes_sent"_s, u"averages.bandwidth_tx_mbps"_s,
                 u"peaks.bandwidth_rx_mbps"_s, u"latency.rtt_avg_ms"_s, u"window.rows"_s}) {
            const QJsonValue value = at(doc, path);
            QVERIFY2(value.isDouble(), qPrintable(path));
            QCOMPARE(value.toDouble(), 0.0);
        }
        for (const QString &series : {u"timestamp"_s, u"bandwidth_tx_mbps"_s, u"bandwidth_rx_mbps"_s,
                 u"packets_tx_ps"_s, u"packets_rx_ps"_s}) {
            const QJsonValue value = at(doc, u"history."_s + series);
            QVERIFY(value.isArray());
            QVERIFY(value.toArray().isEmpty());
        }
        // Unknown rather than a made-up figure.
        QVERIFY(at(doc, u"reliability.poll_success_rate"_s).isNull());
        QVERIFY(at(doc, u"window.from"_s).isNull());
        QVERIFY(at(doc, u"window.to"_s).isNull());
    }

    void seedFiguresAndRttWeighting()
    {
        TestDb test;
        QVERIFY(test.open());
        const QSqlDatabase db = test.db();
        // A Python bridge row (no frames): the seed's example, 7,606 bytes / 278 requests = 27.4.
        MetricsRow python;
        python.meterId = u"1"_s;
        python.timestampMs = T0;
        python.periodS = 60;
        python.dlmsRequestsSent = 278;
        python.dlmsResponsesRecv = 275;
        python.dlmsBytesSent = 7606;
        python.dlmsBytesRecv = 6592;
        QVERIFY(readertest::insertMetrics(db, python));
        // Minute A: 100 round trips of 10 ms, minute B: 2 of 1000 ms → 3000 / 102 = 29.41 ms.
        MetricsRow a;
        a.meterId = u"r"_s;
        a.timestampMs = T0;
        a.periodS = 60;
        a.rttAvgMs = 10;
        a.rttSamples = 100;
        a.pollsCompleted = 5;
        MetricsRow b = a;
        b.timestampMs = T0 + Minute;
        b.rttAvgMs = 1000;
        b.rttSamples = 2;
        QVERIFY(readertest::insertMetrics(db, a));
        QVERIFY(readertest::insertMetrics(db, b));
        auto reader = Reader::open(test.path());
        QVERIFY2(reader, readertest::why(reader));

        const auto seed = storage::networkStatsDocument(*reader, u"1"_s, 60);
        QVERIFY2(seed, readertest::why(seed));
        const double avg = at(*seed, u"application.dlms_avg_payload_size"_s).toDouble();
        QCOMPARE(avg, 27.36); // 27.3597… at the JSON's 3 decimals
        QCOMPARE(std::round(avg * 10) / 10, 27.4);
        QCOMPARE(at(*seed, u"application.dlms_avg_frame_size"_s).toDouble(), 25.675); // 14198 / 553

        const auto rtt = storage::networkStatsDocument(*reader, u"r"_s, 60);
        QVERIFY2(rtt, readertest::why(rtt));
        const double rttAvg = at(*rtt, u"latency.rtt_avg_ms"_s).toDouble();
        QCOMPARE(rttAvg, 29.412);
        QCOMPARE(std::round(rttAvg * 100) / 100, 29.41);
    }

    void systemWithoutRowsIsZeros()
    {
        TestDb empty;
        QVERIFY(empty.open());
        auto reader = Reader::open(empty.path());
        QVERIFY(reader);
        const auto doc = storage::networkStatsDocument(*reader, u"*"_s);
        QVERIFY2(doc, readertest::why(doc));
        QCOMPARE(doc->value(u"meter_name"_s).toString(), u"system"_s);
        QCOMPARE(at(*doc, u"application.dlms_requests_sent"_s).toInteger(), 0);
        QVERIFY(at(*doc, u"history.timestamp"_s).toArray().isEmpty());
    }
};

QTEST_GUILESS_MAIN(tst_NetworkStats)
#include "tst_networkstats.moc"
