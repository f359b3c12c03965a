#include "clitestsupport.h"

#include "../unit/readertestdb.h"

#include <QtCore/QDir>
#include <QtCore/QFile>
#include <QtCore/QJsonArray>
#include <QtCore/QTemporaryDir>
#include <QtTest/QtTest>

#include <memory>

using namespace Qt::StringLiterals;

namespace {

constexpr qint64 T0 = 1'795'514'400'000; // 2026-11-24T10:00:00Z
constexpr qint64 Minute = 60'000;

clitest::CliRun dlmsctl(const QStringList &args)
{
    return clitest::runCli(args, 30000);
}

// dlmsctl run with its stdout going to `path` (a file, or /dev/full for a full disk).
clitest::CliRun dlmsctlToFile(const QStringList &args, const QString &path)
{
    QProcess process;
    QSignalSpy finished(&process, &QProcess::finished);
    process.setStandardOutputFile(path);
    process.start(clitest::dlmsctlPath(), args);
    process.closeWriteChannel();
    clitest::CliRun run;
    if (!clitest::spinUntil(
            finished, QDeadlineTimer(30000), [&] { return process.state() == QProcess::NotRunning; })) {
        process.kill();
        clitest::spinUntil(finished, QDeadlineTimer(5000), [] { return false; });
        run.exitCode = -2;
    } else {
        run.exitCode = clitest::exitCodeOf(process);
    }
    run.err = QString::fromUtf8(process.readAllStandardError());
    return run;
}

QStringList csvLines(const QByteArray &data)
{
    return QString::fromUtf8(data).split(u"\r\n"_s, Qt::SkipEmptyParts);
}

QByteArray readAll(const QString &path)
{
    QFile file(path);
    return file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray();
}

} // namespace

class tst_DlmsctlStatsExport : public QObject {
    Q_OBJECT

private:
    QTemporaryDir m_dir;
    QString m_db;

    QString path(const QString &name) const { return m_dir.filePath(name); }

private slots:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        m_db = path(u"bridge.db"_s);
        readertest::TestDb db(m_db);
        QVERIFY(db.open());
        QVERIFY(readertest::insertMeter(db.db(), u"m1"_s, u"Feeder 1"_s));
        QVERIFY(readertest::insertMeter(db.db(), u"m2"_s, u"Feeder, \"2\""_s));
        for (int minute = 0; minute < 5; ++minute) {
            monitor::MetricsRow row;
            row.meterId = u"m1"_s;
            row.timestampMs = T0 + minute * Minute;
            row.periodS = 60;
            row.dlmsRequestsSent = 10;
            row.dlmsResponsesRecv = 10;
            row.dlmsBytesSent = 150;
            row.dlmsBytesRecv = 450;
            row.dlmsFramesSent = 10;
            row.dlmsFramesRecv = 10;
            row.mqttMessagesSent = 2;
            row.mqttBytesSent = 200;
            row.bandwidthTxBps = 100.0 * (minute + 1);
            row.bandwidthRxBps = 300.0 * (minute + 1);
            row.packetsTxPs = 1;
            row.packetsRxPs = 1;
            QVERIFY(readertest::insertMetrics(db.db(), row));
            row.meterId = u"*"_s;
            row.bandwidthTxBps = 10'000;
            QVERIFY(readertest::insertMetrics(db.db(), row));
            for (int second = 0; second < 3; ++second) {
                const qint64 ts = row.timestampMs + second * 20'000;
                QVERIFY(readertest::insertReading(
                    db.db(), u"m1"_s, ts, u"voltage_l1"_s, u"1.0.32.7.0.255"_s, 230.0 + minute, u"V"_s));
                QVERIFY(readertest::insertReading(
                    db.db(), u"m2"_s, ts, u"status"_s, u"0.0.96.5.0.255"_s, u"=1+2"_s, QString()));
            }
        }
        db.close();
        QFile garbage(path(u"garbage.db"_s));
        QVERIFY(garbage.open(QIODevice::WriteOnly));
        garbage.write(QByteArray(2048, 'g'));
    }

    void statsPrintsTheSeedDocument()
    {
        const auto r = dlmsctl({u"stats"_s, u"--db"_s, m_db, u"--meter"_s, u"m1"_s, u"--history"_s, u"3"_s});
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        QVERIFY2(r.out.count(u'\n') > 10, "indented by default");
        QString error;
        const QJsonObject doc = clitest::parseJsonObject(r.out, &error);
        QVERIFY2(error.isEmpty(), qPrintable(error + r.out));
        for (const QString &key : {u"meter_id"_s, u"meter_name"_s, u"timestamp"_s, u"current"_s,
                 u"application"_s, u"averages"_s, u"peaks"_s, u"history"_s})
            QVERIFY2(doc.contains(key), qPrintable(key));
        const QJsonObject current = doc.value(u"current"_s).toObject();
        for (const QString &key : {u"bandwidth_tx_kbps"_s, u"bandwidth_rx_kbps"_s, u"bandwidth_total_kbps"_s,
                 u"packets_tx_ps"_s, u"packets_rx_ps"_s})
            QVERIFY2(current.value(key).isDouble(), qPrintable(key));
        const QJsonObject application = doc.value(u"application"_s).toObject();
        for (const QString &key : {u"dlms_requests_sent"_s, u"dlms_responses_recv"_s,
                 u"dlms_avg_payload_size"_s, u"dlms_total_bytes_sent"_s, u"dlms_total_bytes_recv"_s,
                 u"mqtt_messages_sent"_s, u"mqtt_total_bytes_sent"_s})
            QVERIFY2(application.value(key).isDouble(), qPrintable(key));
        for (const QString &key : {u"bandwidth_tx_mbps"_s, u"bandwidth_rx_mbps"_s}) {
            QVERIFY(doc.value(u"averages"_s).toObject().value(key).isDouble());
            QVERIFY(doc.value(u"peaks"_s).toObject().value(key).isDouble());
        }
        const QJsonObject history = doc.value(u"history"_s).toObject();
        for (const QString &key : {u"timestamp"_s, u"bandwidth_tx_mbps"_s, u"bandwidth_rx_mbps"_s,
                 u"packets_tx_ps"_s, u"packets_rx_ps"_s})
            QCOMPARE(history.value(key).toArray().size(), 3);

        QCOMPARE(doc.value(u"meter_id"_s).toString(), u"m1"_s);
        QCOMPARE(doc.value(u"meter_name"_s).toString(), u"Feeder 1"_s);
        QCOMPARE(doc.value(u"timestamp"_s).toString(), u"2026-11-24T10:04:00Z"_s);
        QCOMPARE(application.value(u"dlms_requests_sent"_s).toInteger(), 50);
        QCOMPARE(application.value(u"dlms_total_bytes_recv"_s).toInteger(), 2250);
        QCOMPARE(application.value(u"dlms_avg_payload_size"_s).toDouble(), 15.0); // 750 sent / 50 frames
        QCOMPARE(application.value(u"dlms_avg_frame_size"_s).toDouble(), 30.0); // 3000 / 100
        QCOMPARE(current.value(u"bandwidth_tx_kbps"_s).toDouble(), 0.5);
        QCOMPARE(current.value(u"bandwidth_total_kbps"_s).toDouble(), 2.0);
        QCOMPARE(history.value(u"timestamp"_s).toArray().first().toString(), u"2026-11-24T10:02:00Z"_s);
        QCOMPARE(doc.value(u"averages"_s).toObject().value(u"bandwidth_tx_mbps"_s).toDouble(), 0.0004);
    }

    void statsCompactAndSystem()
    {
        const auto r = dlmsctl({u"stats"_s, u"--db"_s, m_db, u"--meter"_s, u"*"_s, u"--compact"_s});
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        QCOMPARE(r.lines().size(), 1);
        const QJsonObject doc = clitest::parseJsonObject(r.out);
        QCOMPARE(doc.value(u"meter_name"_s).toString(), u"system"_s);
        QCOMPARE(doc.value(u"history"_s).toObject().value(u"timestamp"_s).toArray().size(), 5);
        QCOMPARE(doc.value(u"current"_s).toObject().value(u"bandwidth_tx_kbps"_s).toDouble(), 10.0);
    }

    void statsExitCodes_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<int>("exitCode");
        QTest::addColumn<QString>("message");
        const QString db = m_dir.filePath(u"bridge.db"_s);
        const QString missing = m_dir.filePath(u"missing.db"_s);
        const QString garbage = m_dir.filePath(u"garbage.db"_s);
        QTest::newRow("ok") << QStringList {u"--db"_s, db, u"--meter"_s, u"m2"_s} << 0 << QString();
        QTest::newRow("no-db") << QStringList {u"--meter"_s, u"m1"_s} << 2 << u"--db is required"_s;
        QTest::newRow("no-meter") << QStringList {u"--db"_s, db} << 2 << u"--meter is required"_s;
        QTest::newRow("bad-history") << QStringList {u"--db"_s, db, u"--meter"_s, u"m1"_s, u"--history"_s,
            u"x"_s} << 2 << u"--history"_s;
        QTest::newRow("unknown-option") << QStringList {u"--db"_s, db, u"--bogus"_s} << 2 << u"bogus"_s;
        QTest::newRow("missing-file") << QStringList {u"--db"_s, missing, u"--meter"_s, u"m1"_s} << 3
                                      << missing + u": no such database"_s;
        QTest::newRow("not-sqlite") << QStringList {u"--db"_s, garbage, u"--meter"_s, u"m1"_s} << 3
                                    << garbage;
        QTest::newRow("unknown-meter") << QStringList {u"--db"_s, db, u"--meter"_s, u"nobody"_s} << 4
                                       << db + u": unknown meter 'nobody'"_s;
    }
    void statsExitCodes()
    {
        QFETCH(QStringList, args);
        QFETCH(int, exitCode);
        QFETCH(QString, message);
        const auto r = dlmsctl(QStringList {u"stats"_s} + args);
        QVERIFY2(r.exitCode == exitCode, qPrintable(r.describe()));
        if (exitCode == 0) {
            QVERIFY(r.err.isEmpty());
            QVERIFY(!clitest::parseJsonObject(r.out).isEmpty());
            return;
        }
        QVERIFY(r.out.isEmpty());
        QCOMPARE(r.errLines().size(), 1);
        QVERIFY2(r.err.contains(message), qPrintable(r.err));
        if (exitCode != 2 || !message.contains(u"bogus"_s))
            QVERIFY2(r.err.startsWith(u"dlmsctl stats: "_s), qPrintable(r.err));
    }

    void exportReadingsToFile()
    {
        const QString out = path(u"readings.csv"_s);
        const auto r = dlmsctl({u"export"_s, u"--db"_s, m_db, u"--what"_s, u"readings"_s, u"--out"_s, out});
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        QVERIFY(r.out.isEmpty());
        QVERIFY2(r.err.contains(u"exported 30 rows to "_s + out), qPrintable(r.err));
        QVERIFY(!QFile::exists(out + u".part"_s));
        const QStringList lines = csvLines(readAll(out));
        QCOMPARE(lines.size(), 31);
        QCOMPARE(lines.first(), u"timestamp,meter_id,key,obis,value,unit,quality"_s);
        QCOMPARE(lines.at(1), u"2026-11-24T10:00:00.000Z,m1,voltage_l1,1.0.32.7.0.255,230,V,good"_s);
        QCOMPARE(lines.at(2), u"2026-11-24T10:00:00.000Z,m2,status,0.0.96.5.0.255,'=1+2,,good"_s);

        // A second export replaces the file whole.
        const auto again = dlmsctl({u"export"_s, u"--db"_s, m_db, u"--what"_s, u"readings"_s, u"--meter"_s,
            u"m2"_s, u"--out"_s, out});
        QVERIFY2(again.exitCode == 0, qPrintable(again.describe()));
        QCOMPARE(csvLines(readAll(out)).size(), 16);
    }

    void exportNetworkToStdout()
    {
        const auto r
            = dlmsctl({u"export"_s, u"--db"_s, m_db, u"--what"_s, u"network"_s, u"--meter"_s, u"*"_s});
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        const QStringList lines = csvLines(r.out.toUtf8());
        QCOMPARE(lines.size(), 6);
        QVERIFY(lines.first().startsWith(
            u"timestamp,meter_id,period_s,dlms_requests_sent,dlms_responses_recv,"
            "dlms_bytes_sent,dlms_bytes_recv,dlms_avg_payload_size,mqtt_messages_sent,"
            "mqtt_bytes_sent,bandwidth_tx_bps,bandwidth_rx_bps,packets_tx_ps,"
            "packets_rx_ps,"_s));
        for (const QString &line : lines.mid(1))
            QVERIFY2(line.section(u',', 1, 1) == u"*"_s, qPrintable(line));
        QVERIFY2(r.err.contains(u"exported 5 rows to stdout"_s), qPrintable(r.err));

        const auto dash
            = dlmsctl({u"export"_s, u"--db"_s, m_db, u"--what"_s, u"network"_s, u"--out"_s, u"-"_s});
        QVERIFY2(dash.exitCode == 0, qPrintable(dash.describe()));
        QCOMPARE(csvLines(dash.out.toUtf8()).size(), 11);
    }

    void exportTimeFilters_data()
    {
        QTest::addColumn<QStringList>("range");
        QTest::addColumn<int>("rows");
        QTest::newRow("date-from") << QStringList {u"--from"_s, u"2026-11-24"_s} << 30;
        QTest::newRow("date-to") << QStringList {u"--to"_s, u"2026-11-24"_s} << 0;
        QTest::newRow("datetime-z") << QStringList {u"--from"_s, u"2026-11-24T10:01:00Z"_s, u"--to"_s,
            u"2026-11-24T10:03:00Z"_s}
                                    << 12;
        QTest::newRow("datetime-offset") << QStringList {u"--from"_s, u"2026-11-24T11:01:00+01:00"_s,
            u"--to"_s, u"2026-11-24T11:03:00+01:00"_s}
                                         << 12;
        QTest::newRow("datetime-ms") << QStringList {u"--from"_s, u"2026-11-24T10:00:20.001Z"_s} << 26;
        QTest::newRow("epoch-ms") << QStringList {u"--from"_s, QString::number(T0 + 4 * Minute)} << 6;
    }
    void exportTimeFilters()
    {
        QFETCH(QStringList, range);
        QFETCH(int, rows);
        const auto r
            = dlmsctl(QStringList {u"export"_s, u"--db"_s, m_db, u"--what"_s, u"readings"_s} + range);
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        QCOMPARE(csvLines(r.out.toUtf8()).size(), rows + 1);
        QVERIFY2(r.err.contains(u"exported %1 rows"_s.arg(rows)), qPrintable(r.err));
    }

    void exportUsageErrors_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QString>("message");
        QTest::newRow("no-what") << QStringList {} << u"--what is required"_s;
        QTest::newRow("bad-what") << QStringList {u"--what"_s, u"events"_s} << u"--what must be"_s;
        QTest::newRow("bad-time") << QStringList {u"--what"_s, u"readings"_s, u"--from"_s, u"yesterday"_s}
                                  << u"--from: 'yesterday' is not a time"_s;
        QTest::newRow("no-offset") << QStringList {u"--what"_s, u"readings"_s, u"--from"_s,
            u"2026-11-24T10:00"_s} << u"has no UTC offset"_s;
        QTest::newRow("bad-date") << QStringList {u"--what"_s, u"readings"_s, u"--to"_s, u"2026-02-30"_s}
                                  << u"not a valid date"_s;
        QTest::newRow("to-before-from") << QStringList {u"--what"_s, u"readings"_s, u"--from"_s,
            u"2026-11-25"_s, u"--to"_s, u"2026-11-24"_s}
                                        << u"--to must be after --from"_s;
    }
    void exportUsageErrors()
    {
        QFETCH(QStringList, args);
        QFETCH(QString, message);
        const auto r = dlmsctl(QStringList {u"export"_s, u"--db"_s, m_db} + args);
        QVERIFY2(r.exitCode == 2, qPrintable(r.describe()));
        QVERIFY(r.out.isEmpty());
        QCOMPARE(r.errLines().size(), 1);
        QVERIFY2(r.err.startsWith(u"dlmsctl export: "_s) && r.err.contains(message), qPrintable(r.err));
    }

    void exportDatabaseErrors()
    {
        const QString out = path(u"never.csv"_s);
        for (const QString &db : {path(u"missing.db"_s), path(u"garbage.db"_s)}) {
            const auto r = dlmsctl({u"export"_s, u"--db"_s, db, u"--what"_s, u"readings"_s, u"--out"_s, out});
            QVERIFY2(r.exitCode == 3, qPrintable(r.describe()));
            QVERIFY2(r.err.startsWith(u"dlmsctl export: "_s + db), qPrintable(r.err));
            QVERIFY(!QFile::exists(out));
            QVERIFY(!QFile::exists(out + u".part"_s));
        }
    }

    void failingOutputLeavesNoFile()
    {
        const QString out = path(u"no-such-dir/out.csv"_s);
        const auto r = dlmsctl({u"export"_s, u"--db"_s, m_db, u"--what"_s, u"readings"_s, u"--out"_s, out});
        QVERIFY2(r.exitCode == 3, qPrintable(r.describe()));
        QVERIFY2(r.err.contains(u"cannot open for writing"_s), qPrintable(r.err));
        QVERIFY(!QFile::exists(out));
        QVERIFY(!QFile::exists(out + u".part"_s));

        // A full disk under stdout: the write fails and says so.
        if (!QFile::exists(u"/dev/full"_s))
            QSKIP("no /dev/full");
        const auto full
            = dlmsctlToFile({u"export"_s, u"--db"_s, m_db, u"--what"_s, u"readings"_s}, u"/dev/full"_s);
        QVERIFY2(full.exitCode == 3, qPrintable(full.describe()));
        QVERIFY2(full.err.contains(u"write failed"_s), qPrintable(full.err));
    }

    void outputIntoTheDatabaseIsRefused()
    {
        const auto r = dlmsctl({u"export"_s, u"--db"_s, m_db, u"--what"_s, u"readings"_s, u"--out"_s, m_db});
        QCOMPARE(r.exitCode, 2);
        const auto stats = dlmsctl({u"stats"_s, u"--db"_s, m_db, u"--meter"_s, u"m1"_s});
        QCOMPARE(stats.exitCode, 0); // still a database
    }

    void helpAndUsage()
    {
        for (const QString &verb : {u"stats"_s, u"export"_s}) {
            const auto r = dlmsctl({verb, u"--help"_s});
            QCOMPARE(r.exitCode, 0);
            QVERIFY2(r.out.contains(u"Usage: dlmsctl "_s + verb), qPrintable(r.out));
            QVERIFY(r.out.contains(u"Exit codes"_s));
        }
        const auto usage = dlmsctl({u"--help"_s});
        QVERIFY(usage.out.contains(u"  stats "_s));
        QVERIFY(usage.out.contains(u"  export "_s));
    }
};

QTEST_GUILESS_MAIN(tst_DlmsctlStatsExport)
#include "tst_dlmsctl_stats_export.moc"
