#include "readertestdb.h"

#include <csvexport.h>

#include <QtCore/QBuffer>
#include <QtCore/QDateTime>
#include <QtTest/QTest>

#include <limits>

using namespace Qt::StringLiterals;
using monitor::MetricsRow;
using readertest::TestDb;
using storage::ExportKind;
using storage::ExportOptions;
using storage::Reader;

namespace {

constexpr qint64 T0 = 1'795'514'400'000; // 2026-11-24T10:00:00Z
constexpr qint64 Minute = 60'000;

// RFC 4180, strictly: fields separated by commas, records by CRLF, a quoted field may hold
// commas, CR, LF and doubled quotes. Returns nullopt on anything malformed.
std::optional<QList<QStringList>> parseCsv(const QByteArray &data)
{
    QList<QStringList> records;
    QStringList record;
    QByteArray field;
    qsizetype i = 0;
    const qsizetype n = data.size();
    if (n == 0)
        return records;
    for (;;) {
        field.clear();
        if (i < n && data[i] == '"') {
            ++i;
            for (;;) {
                if (i >= n)
                    return std::nullopt; // unterminated quote
                if (data[i] == '"') {
                    if (i + 1 < n && data[i + 1] == '"') {
                        field += '"';
                        i += 2;
                        continue;
                    }
                    ++i;
                    break;
                }
                field += data[i++];
            }
        } else {
            while (i < n && data[i] != ',' && data[i] != '\r' && data[i] != '\n') {
                if (data[i] == '"')
                    return std::nullopt; // a quote inside an unquoted field
                field += data[i++];
            }
        }
        record.append(QString::fromUtf8(field));
        if (i < n && data[i] == ',') {
            ++i;
            continue;
        }
        if (i + 1 < n && data[i] == '\r' && data[i + 1] == '\n') {
            i += 2;
            records.append(record);
            record.clear();
            if (i == n)
                return records;
            continue;
        }
        return std::nullopt; // a bare LF or CR, or no CRLF after the last record
    }
}

// What a spreadsheet shows once the export's guard quote is taken off again.
QString unguarded(const QString &cell)
{
    if (cell.size() >= 2 && cell.front() == u'\'' && QStringView(u"=+-@\t\r").contains(cell.at(1)))
        return cell.mid(1);
    return cell;
}

qint64 isoToMs(const QString &text)
{
    const QDateTime dt = QDateTime::fromString(text, Qt::ISODateWithMs);
    return dt.isValid() && dt.timeSpec() == Qt::UTC ? dt.toMSecsSinceEpoch() : -1;
}

struct Exported {
    qint64 rows = -1;
    QByteArray data;
    QList<QStringList> records;
    QString error;
};

Exported runExport(Reader &reader, const ExportOptions &options)
{
    Exported result;
    QBuffer buffer(&result.data);
    buffer.open(QIODevice::WriteOnly);
    const auto rows = storage::exportCsv(reader, options, buffer);
    if (!rows) {
        result.error = rows.error().message;
        return result;
    }
    result.rows = *rows;
    buffer.close();
    if (auto parsed = parseCsv(result.data))
        result.records = *parsed;
    else
        result.error = u"not RFC 4180"_s;
    return result;
}

// Records each write with the number of rows the export had reported by then.
class RecordingDevice final : public QIODevice {
public:
    explicit RecordingDevice(const qint64 *rowsSoFar) : m_rowsSoFar(rowsSoFar) { open(QIODevice::WriteOnly); }
    struct Write {
        qint64 bytes;
        qint64 rowsReported;
    };
    QList<Write> writes;
    qint64 total = 0;
    qint64 failAfterBytes = -1; // a full disk

protected:
    qint64 readData(char *, qint64) override { return -1; }
    qint64 writeData(const char *, qint64 len) override
    {
        if (failAfterBytes >= 0 && total + len > failAfterBytes) {
            setErrorString(u"No space left on device"_s);
            return -1;
        }
        writes.append({len, *m_rowsSoFar});
        total += len;
        return len;
    }

private:
    const qint64 *m_rowsSoFar;
};

} // namespace

class tst_CsvExport : public QObject {
    Q_OBJECT

private slots:
    void fieldQuotingAndNeutralising_data()
    {
        QTest::addColumn<QString>("text");
        QTest::addColumn<QByteArray>("expected");
        QTest::newRow("plain") << u"voltage_l1"_s << QByteArray("voltage_l1");
        QTest::newRow("empty") << u""_s << QByteArray("");
        QTest::newRow("comma") << u"a,b"_s << QByteArray("\"a,b\"");
        QTest::newRow("quote") << u"say \"hi\""_s << QByteArray("\"say \"\"hi\"\"\"");
        QTest::newRow("cr") << u"a\rb"_s << QByteArray("\"a\rb\"");
        QTest::newRow("lf") << u"a\nb"_s << QByteArray("\"a\nb\"");
        QTest::newRow("utf8") << u"kWh·m³"_s << QStringLiteral("kWh·m³").toUtf8();
        QTest::newRow("formula-equals") << u"=1+2"_s << QByteArray("'=1+2");
        QTest::newRow("formula-plus-text") << u"+cmd"_s << QByteArray("'+cmd");
        QTest::newRow("formula-minus-expression") << u"-2+3"_s << QByteArray("'-2+3");
        QTest::newRow("formula-at") << u"@SUM(A1:A9)"_s << QByteArray("'@SUM(A1:A9)");
        QTest::newRow("lead-tab") << u"\tx"_s << QByteArray("'\tx");
        QTest::newRow("lead-cr-quoted") << u"\rx"_s << QByteArray("\"'\rx\"");
        QTest::newRow("formula-with-comma")
            << u"=HYPERLINK(\"x\",\"y\")"_s << QByteArray("\"'=HYPERLINK(\"\"x\"\",\"\"y\"\")\"");
        QTest::newRow("lone-minus") << u"-"_s << QByteArray("'-");
        QTest::newRow("number-negative") << u"-12.5"_s << QByteArray("-12.5");
        QTest::newRow("number-plus") << u"+3"_s << QByteArray("+3");
        QTest::newRow("number-exponent") << u"-1.5E+3"_s << QByteArray("-1.5E+3");
        QTest::newRow("number-leading-dot") << u"-.5"_s << QByteArray("-.5");
        QTest::newRow("not-number-bad-exponent") << u"-1e"_s << QByteArray("'-1e");
        QTest::newRow("not-number-two-dots") << u"-1.2.3"_s << QByteArray("'-1.2.3");
        QTest::newRow("equals-inside-is-fine") << u"a=b"_s << QByteArray("a=b");
    }
    void fieldQuotingAndNeutralising()
    {
        QFETCH(QString, text);
        QFETCH(QByteArray, expected);
        QCOMPARE(storage::csvField(text), expected);
    }

    void readingsRoundTrip()
    {
        TestDb test;
        QVERIFY(test.open());
        struct Row {
            QString meter;
            qint64 ts;
            QString key;
            QString obis;
            QVariant value;
            QString unit;
            QString quality;
        };
        const QList<Row> rows {
            {u"m1"_s, T0, u"voltage_l1"_s, u"1.0.32.7.0.255"_s, 230.1, u"V"_s, u"good"_s},
            {u"m1"_s, T0, u"energy"_s, u"1.0.1.8.0.255"_s, 123456.7, u"Wh"_s, u"good"_s},
            {u"m1"_s, T0, u"power"_s, u"1.0.16.7.0.255"_s, -12.5, u"W"_s, u"good"_s},
            {u"m1"_s, T0, u"tiny"_s, u"1.0.0.0.0.255"_s, 0.001, u""_s, u"unscaled"_s},
            {u"m1"_s, T0, u"huge"_s, u"1.0.0.0.1.255"_s, 1e20, u""_s, u"good"_s},
            {u"m1"_s, T0, u"failed"_s, u"1.0.31.7.0.255"_s, QVariant(), u"A"_s, u"failed"_s},
            {u"m2,x"_s, T0 + 1, u"note"_s, u"0.0.96.13.0.255"_s, u"line1\r\nline2, \"quoted\""_s, u""_s,
                u"good"_s},
            {u"m2,x"_s, T0 + 1, u"formula"_s, u"0.0.96.13.1.255"_s, u"=cmd|' /C calc'!A0"_s, u""_s,
                u"good"_s},
            {u"m2,x"_s, T0 + 1, u"minus-text"_s, u"0.0.96.13.2.255"_s, u"-2+3"_s, u""_s, u"good"_s},
            {u"m2,x"_s, T0 + 1, u"number-text"_s, u"0.0.96.13.3.255"_s, u"-12.5"_s, u""_s, u"good"_s},
            {u"m2,x"_s, T0 + 999, u"@key"_s, u"0.0.96.13.4.255"_s, u"ok"_s, u"+unit"_s, u"good"_s},
        };
        for (const Row &r : rows)
            QVERIFY(readertest::insertReading(
                test.db(), r.meter, r.ts, r.key, r.obis, r.value, r.unit, r.quality));
        auto reader = Reader::open(test.path());
        QVERIFY(reader);
        const Exported out = runExport(*reader, ExportOptions {});
        QVERIFY2(out.error.isEmpty(), qPrintable(out.error));
        QCOMPARE(out.rows, qint64(rows.size()));
        QVERIFY(out.data.startsWith("timestamp,meter_id,key,obis,value,unit,quality\r\n"));
        QVERIFY(out.data.endsWith("\r\n"));
        QCOMPARE(out.records.size(), rows.size() + 1);
        QCOMPARE(out.records.front(),
            (QStringList {
                u"timestamp"_s, u"meter_id"_s, u"key"_s, u"obis"_s, u"value"_s, u"unit"_s, u"quality"_s}));
        for (int i = 0; i < rows.size(); ++i) {
            const Row &r = rows.at(i);
            const QStringList &cells = out.records.at(i + 1);
            QCOMPARE(cells.size(), 7);
            QVERIFY2(cells.at(0).endsWith(u'Z') && cells.at(0).contains(u'.'), qPrintable(cells.at(0)));
            QCOMPARE(isoToMs(cells.at(0)), r.ts);
            QCOMPARE(unguarded(cells.at(1)), r.meter);
            QCOMPARE(unguarded(cells.at(2)), r.key);
            QCOMPARE(cells.at(3), r.obis);
            if (r.value.isNull()) {
                QCOMPARE(cells.at(4), QString());
            } else if (r.value.typeId() == QMetaType::Double) {
                bool ok = false;
                QCOMPARE(cells.at(4).toDouble(&ok), r.value.toDouble());
                QVERIFY(ok);
            } else {
                QCOMPARE(unguarded(cells.at(4)), r.value.toString());
            }
            QCOMPARE(unguarded(cells.at(5)), r.unit);
            QCOMPARE(cells.at(6), r.quality);
        }
        // As the meter meant them, and guarded where a spreadsheet would evaluate them.
        QCOMPARE(out.records.at(1).at(4), u"230.1"_s);
        QCOMPARE(out.records.at(2).at(4), u"123456.7"_s);
        QCOMPARE(out.records.at(3).at(4), u"-12.5"_s);
        QCOMPARE(out.records.at(1).at(0), u"2026-11-24T10:00:00.000Z"_s);
        QCOMPARE(out.records.at(8).at(4), u"'=cmd|' /C calc'!A0"_s);
        QCOMPARE(out.records.at(9).at(4), u"'-2+3"_s);
        QCOMPARE(out.records.at(10).at(4), u"-12.5"_s);
        QCOMPARE(out.records.at(11).at(2), u"'@key"_s);
        QCOMPARE(out.records.at(11).at(5), u"'+unit"_s);
    }

    void networkHeaderIsTheTable()
    {
        TestDb test;
        QVERIFY(test.open());
        QStringList columns;
        {
            QSqlQuery query(test.db());
            QVERIFY(query.exec(u"PRAGMA table_info(network_metrics)"_s));
            while (query.next())
                columns.append(query.value(1).toString());
        }
        const qsizetype after = columns.indexOf(u"period_s"_s);
        QVERIFY(after > 0);
        const QStringList expected
            = QStringList {u"timestamp"_s, u"meter_id"_s, u"period_s"_s} + columns.mid(after + 1);

        QVERIFY(readertest::insertMetrics(test.db(), readertest::distinctRow(u"m1"_s, T0, 1)));
        QVERIFY(readertest::insertMetrics(test.db(), readertest::distinctRow(u"*"_s, T0, 2)));
        MetricsRow partial = readertest::distinctRow(u"m1"_s, T0 + Minute, 3);
        partial.periodS = 12.5;
        QVERIFY(readertest::insertMetrics(test.db(), partial));
        auto reader = Reader::open(test.path());
        QVERIFY(reader);
        ExportOptions options;
        options.kind = ExportKind::Network;
        const Exported out = runExport(*reader, options);
        QVERIFY2(out.error.isEmpty(), qPrintable(out.error));
        QCOMPARE(out.rows, qint64(3));
        QCOMPARE(out.records.front(), expected);

        // Every cell back to its field, by the table's own column names.
        const QList<MetricsRow> sent {
            readertest::distinctRow(u"*"_s, T0, 2), readertest::distinctRow(u"m1"_s, T0, 1), partial};
        for (int i = 0; i < sent.size(); ++i) {
            const QStringList &cells = out.records.at(i + 1);
            QCOMPARE(cells.size(), expected.size());
            QHash<QString, QString> byName;
            for (int c = 0; c < cells.size(); ++c)
                byName.insert(expected.at(c), cells.at(c));
            const MetricsRow &r = sent.at(i);
            QCOMPARE(isoToMs(byName.value(u"timestamp"_s)), r.timestampMs);
            QCOMPARE(byName.value(u"meter_id"_s), r.meterId);
            QCOMPARE(byName.value(u"period_s"_s).toDouble(), r.periodS);
            QCOMPARE(byName.value(u"dlms_requests_sent"_s).toULongLong(), r.dlmsRequestsSent);
            QCOMPARE(byName.value(u"dlms_bytes_recv"_s).toULongLong(), r.dlmsBytesRecv);
            QCOMPARE(byName.value(u"dlms_avg_payload_size"_s).toDouble(), r.dlmsAvgPayloadSize);
            QCOMPARE(byName.value(u"mqtt_bytes_sent"_s).toULongLong(), r.mqttBytesSent);
            QCOMPARE(byName.value(u"bandwidth_tx_bps"_s).toDouble(), r.bandwidthTxBps);
            QCOMPARE(byName.value(u"packets_rx_ps"_s).toDouble(), r.packetsRxPs);
            QCOMPARE(byName.value(u"dlms_frames_recv"_s).toULongLong(), r.dlmsFramesRecv);
            QCOMPARE(byName.value(u"dlms_reconnects"_s).toULongLong(), r.dlmsReconnects);
            QCOMPARE(byName.value(u"values_read"_s).toULongLong(), r.valuesRead);
            QCOMPARE(byName.value(u"rtt_p95_ms"_s).toDouble(), r.rttP95Ms);
            QCOMPARE(byName.value(u"rtt_samples"_s).toULongLong(), r.rttSamples);
            QCOMPARE(byName.value(u"mqtt_packet_bytes_sent"_s).toULongLong(), r.mqttPacketBytesSent);
            QCOMPARE(byName.value(u"outbox_backlog"_s).toLongLong(), r.outboxBacklog);
            QCOMPARE(byName.value(u"bandwidth_rx_peak_bps"_s).toDouble(), r.bandwidthRxPeakBps);
            QCOMPARE(byName.value(u"if_tx_drops"_s).toULongLong(), r.ifTxDrops);
            // Counters print as integers.
            QVERIFY(!byName.value(u"dlms_bytes_sent"_s).contains(u'.'));
            QVERIFY(!byName.value(u"dlms_bytes_sent"_s).contains(u'e'));
        }
    }

    void filters_data()
    {
        QTest::addColumn<int>("kind");
        QTest::addColumn<QString>("meter");
        QTest::addColumn<qint64>("from");
        QTest::addColumn<qint64>("to");
        QTest::addColumn<QStringList>("expected"); // "<minute><meter>" per row
        const int readings = int(ExportKind::Readings);
        const int network = int(ExportKind::Network);
        QTest::newRow("readings-all")
            << readings << QString() << qint64(0) << qint64(0)
            << QStringList {u"0m1"_s, u"0m2"_s, u"1m1"_s, u"1m2"_s, u"2m1"_s, u"2m2"_s};
        QTest::newRow("readings-meter")
            << readings << u"m2"_s << qint64(0) << qint64(0) << QStringList {u"0m2"_s, u"1m2"_s, u"2m2"_s};
        QTest::newRow("readings-from-inclusive") << readings << QString() << T0 + Minute << qint64(0)
                                                 << QStringList {u"1m1"_s, u"1m2"_s, u"2m1"_s, u"2m2"_s};
        QTest::newRow("readings-to-exclusive") << readings << QString() << qint64(0) << T0 + 2 * Minute
                                               << QStringList {u"0m1"_s, u"0m2"_s, u"1m1"_s, u"1m2"_s};
        QTest::newRow("readings-meter-and-range")
            << readings << u"m1"_s << T0 + Minute << T0 + 2 * Minute << QStringList {u"1m1"_s};
        QTest::newRow("readings-unknown-meter")
            << readings << u"nobody"_s << qint64(0) << qint64(0) << QStringList {};
        QTest::newRow("network-all") << network << QString() << qint64(0) << qint64(0)
                                     << QStringList {u"0*"_s, u"0m1"_s, u"0m2"_s, u"1*"_s, u"1m1"_s, u"1m2"_s,
                                            u"2*"_s, u"2m1"_s, u"2m2"_s};
        QTest::newRow("network-system")
            << network << u"*"_s << qint64(0) << qint64(0) << QStringList {u"0*"_s, u"1*"_s, u"2*"_s};
        QTest::newRow("network-range") << network << QString() << T0 + Minute << T0 + 2 * Minute
                                       << QStringList {u"1*"_s, u"1m1"_s, u"1m2"_s};
    }
    void filters()
    {
        QFETCH(int, kind);
        QFETCH(QString, meter);
        QFETCH(qint64, from);
        QFETCH(qint64, to);
        QFETCH(QStringList, expected);
        TestDb test;
        QVERIFY(test.open());
        for (int minute : {2, 0, 1}) {
            for (const QString &m : {u"m1"_s, u"m2"_s}) {
                QVERIFY(readertest::insertReading(
                    test.db(), m, T0 + minute * Minute, u"v"_s, u"1.0.32.7.0.255"_s, 230.0, u"V"_s));
                QVERIFY(
                    readertest::insertMetrics(test.db(), readertest::distinctRow(m, T0 + minute * Minute)));
            }
            QVERIFY(
                readertest::insertMetrics(test.db(), readertest::distinctRow(u"*"_s, T0 + minute * Minute)));
        }
        auto reader = Reader::open(test.path());
        QVERIFY(reader);
        ExportOptions options;
        options.kind = ExportKind(kind);
        options.meterId = meter;
        options.fromMs = from;
        options.toMs = to;
        const Exported out = runExport(*reader, options);
        QVERIFY2(out.error.isEmpty(), qPrintable(out.error));
        QCOMPARE(out.rows, qint64(expected.size()));
        QStringList got;
        for (const QStringList &cells : out.records.mid(1))
            got.append(QString::number((isoToMs(cells.at(0)) - T0) / Minute) + cells.at(1));
        QCOMPARE(got, expected);
        QCOMPARE(out.records.size(), expected.size() + 1); // the header even when empty
    }

    void streamsWithoutHoldingRows()
    {
        constexpr int Rows = 200'000;
        TestDb test;
        QVERIFY(test.open());
        {
            QSqlDatabase db = test.db();
            QVERIFY(db.transaction());
            QSqlQuery insert(db);
            QVERIFY(insert.prepare(u"INSERT INTO readings (meter_id, ts, key, obis, value, unit, quality)"
                                   " VALUES (?, ?, ?, '1.0.32.7.0.255', ?, 'V', 'good')"_s));
            for (int i = 0; i < Rows; ++i) {
                insert.bindValue(0, QString(u"m"_s + QString::number(i % 20)));
                insert.bindValue(1, T0 + (i / 20) * 1000);
                insert.bindValue(2, u"voltage_l1"_s);
                insert.bindValue(3, 230.0 + (i % 10) * 0.1);
                QVERIFY(insert.exec());
            }
            insert = QSqlQuery();
            QVERIFY(db.commit());
        }
        auto reader = Reader::open(test.path());
        QVERIFY(reader);

        qint64 reported = 0;
        QList<qint64> progress;
        RecordingDevice device(&reported);
        const auto rows = storage::exportCsv(*reader, ExportOptions {}, device, [&](qint64 n) {
            progress.append(n);
            reported = n;
        });
        QVERIFY2(rows, readertest::why(rows));
        QCOMPARE(*rows, qint64(Rows));

        // Progress rose steadily to the total, every 10,000 rows and once at the end.
        QCOMPARE(progress.size(), Rows / 10'000 + 1);
        for (int i = 0; i + 1 < progress.size(); ++i)
            QCOMPARE(progress.at(i), qint64(i + 1) * 10'000);
        QCOMPARE(progress.back(), qint64(Rows));

        // The device had most of the data before the last rows were read, in bounded chunks:
        // nothing accumulated the whole export in memory.
        QVERIFY(device.writes.size() > 100);
        QVERIFY(device.writes.front().rowsReported < Rows / 10);
        qint64 before = 0;
        qint64 largest = 0;
        for (const auto &write : device.writes) {
            largest = std::max(largest, write.bytes);
            if (write.rowsReported < Rows)
                before += write.bytes;
        }
        QVERIFY2(largest <= 128 * 1024, qPrintable(QString::number(largest)));
        QVERIFY(before > device.total * 9 / 10);
    }

    void writeErrorStopsTheExport()
    {
        TestDb test;
        QVERIFY(test.open());
        {
            QSqlDatabase db = test.db();
            QVERIFY(db.transaction());
            for (int i = 0; i < 30'000; ++i)
                QVERIFY(
                    readertest::insertReading(db, u"m1"_s, T0 + i, u"v"_s, u"1.0.32.7.0.255"_s, 1.0, u"V"_s));
            QVERIFY(db.commit());
        }
        auto reader = Reader::open(test.path());
        QVERIFY(reader);
        qint64 reported = 0;
        RecordingDevice device(&reported);
        device.failAfterBytes = 100'000;
        qint64 lastProgress = 0;
        const auto rows
            = storage::exportCsv(*reader, ExportOptions {}, device, [&](qint64 n) { lastProgress = n; });
        QVERIFY(!rows);
        QCOMPARE(rows.error().code, dlms::ErrorCode::IoError);
        QVERIFY2(
            rows.error().message.contains(u"No space left on device"_s), qPrintable(rows.error().message));
        QVERIFY(lastProgress < 30'000); // stopped, never reported completion
        QVERIFY(device.total <= 100'000);
    }

    void closedDeviceIsRefused()
    {
        TestDb test;
        QVERIFY(test.open());
        auto reader = Reader::open(test.path());
        QVERIFY(reader);
        QBuffer closed;
        const auto rows = storage::exportCsv(*reader, ExportOptions {}, closed);
        QVERIFY(!rows);
    }
};

QTEST_GUILESS_MAIN(tst_CsvExport)
#include "tst_csvexport.moc"
