#include "clitestsupport.h"

#include <QtTest/QtTest>

using namespace Qt::StringLiterals;
using namespace clitest;

namespace {

// Every field of the `bench poll` object, as "section.field" (or "field" at the top level).
const QStringList &benchFields()
{
    static const QStringList fields {u"meters"_s, u"interval_ms"_s, u"registers"_s, u"seconds"_s,
        u"transport"_s, u"read"_s, u"workers"_s, u"warmup_s"_s, u"polls.attempted"_s, u"polls.completed"_s,
        u"polls.on_time"_s, u"polls.late"_s, u"polls.failed"_s, u"polls.skipped"_s, u"polls.on_time_ratio"_s,
        u"latency_ms.p50"_s, u"latency_ms.p95"_s, u"latency_ms.p99"_s, u"latency_ms.max"_s, u"rtt_ms.avg"_s,
        u"rtt_ms.p95"_s, u"rtt_ms.max"_s, u"cpu.user_s"_s, u"cpu.sys_s"_s, u"cpu.cores"_s, u"peak_rss_mb"_s,
        u"dlms.bytes_sent"_s, u"dlms.bytes_received"_s, u"dlms.requests"_s, u"dlms.responses"_s,
        u"dlms.values"_s, u"dlms.bytes_per_value"_s, u"errors.timeouts"_s, u"errors.protocol_errors"_s,
        u"errors.reconnects"_s};
    return fields;
}

QJsonValue field(const QJsonObject &root, const QString &path)
{
    const QStringList parts = path.split(u'.');
    return parts.size() == 1 ? root.value(parts[0]) : root.value(parts[0]).toObject().value(parts[1]);
}

double number(const QJsonObject &root, const QString &path)
{
    return field(root, path).toDouble();
}

} // namespace

class tst_DlmsctlBench : public QObject {
    Q_OBJECT

private slots:
    void help()
    {
        const CliRun bench = runCli({u"bench"_s, u"--help"_s});
        QVERIFY2(bench.exitCode == 0, qPrintable(bench.describe()));
        QVERIFY(bench.out.contains(u"\n  poll "_s));
        const CliRun poll = runCli({u"bench"_s, u"poll"_s, u"--help"_s});
        QVERIFY2(poll.exitCode == 0, qPrintable(poll.describe()));
        QVERIFY2(poll.out.startsWith(u"Usage: dlmsctl bench poll"_s), qPrintable(poll.out));
        for (const char *option : {"--meters", "--interval-ms", "--registers", "--seconds", "--transport",
                 "--read", "--workers", "--timeout-ms", "--warmup-s"})
            QVERIFY2(poll.out.contains(QLatin1StringView(option)), option);
    }

    void pollPrintsOneJsonObject_data()
    {
        QTest::addColumn<QString>("transport");
        QTest::addColumn<QString>("read");
        QTest::newRow("wrapper-snapshot") << u"wrapper"_s << u"snapshot"_s;
        QTest::newRow("hdlc-snapshot") << u"hdlc"_s << u"snapshot"_s;
        QTest::newRow("wrapper-list") << u"wrapper"_s << u"list"_s;
    }
    void pollPrintsOneJsonObject()
    {
        QFETCH(QString, transport);
        QFETCH(QString, read);
        const CliRun r = runCli({u"bench"_s, u"poll"_s, u"--meters"_s, u"20"_s, u"--interval-ms"_s, u"200"_s,
                                    u"--registers"_s, u"10"_s, u"--seconds"_s, u"2"_s, u"--transport"_s,
                                    transport, u"--read"_s, read, u"--workers"_s, u"2"_s},
            60000);
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        // The whole of stdout is one JSON object.
        QString error;
        const QJsonObject result = parseJsonObject(r.out, &error);
        QVERIFY2(error.isEmpty(), qPrintable(error + u"\n"_s + r.describe()));
        for (const QString &name : benchFields()) {
            const QJsonValue value = field(result, name);
            QVERIFY2(name == u"transport" || name == u"read" ? value.isString() : value.isDouble(),
                qPrintable(name + u" in "_s + r.out));
            if (value.isDouble())
                QVERIFY2(value.toDouble() >= 0, qPrintable(name));
        }
        QCOMPARE(number(result, u"meters"_s), 20.0);
        QCOMPARE(number(result, u"interval_ms"_s), 200.0);
        QCOMPARE(number(result, u"registers"_s), 10.0);
        QCOMPARE(number(result, u"seconds"_s), 2.0);
        QCOMPARE(number(result, u"workers"_s), 2.0);
        QCOMPARE(field(result, u"transport"_s).toString(), transport);
        QCOMPARE(field(result, u"read"_s).toString(), read);

        const double attempted = number(result, u"polls.attempted"_s);
        const double completed = number(result, u"polls.completed"_s);
        QVERIFY2(completed > 0, qPrintable(r.out));
        // A poll due just before the window may end inside it: at most one per meter.
        QVERIFY2(completed <= attempted + 20, qPrintable(r.out));
        QCOMPARE(number(result, u"polls.on_time"_s), completed - number(result, u"polls.late"_s));
        const double ended
            = completed + number(result, u"polls.failed"_s) + number(result, u"polls.skipped"_s);
        QVERIFY(qAbs(number(result, u"polls.on_time_ratio"_s)
                    - number(result, u"polls.on_time"_s) / std::max(attempted, ended))
            < 1e-4);
        QVERIFY(number(result, u"polls.on_time_ratio"_s) <= 1.0);
        // Every completed poll read all ten registers.
        QCOMPARE(number(result, u"dlms.values"_s), completed * 10);
        QVERIFY(number(result, u"dlms.bytes_per_value"_s) > 0);
        QVERIFY(number(result, u"dlms.bytes_sent"_s) > 0 && number(result, u"dlms.bytes_received"_s) > 0);
        const double bytes = number(result, u"dlms.bytes_sent"_s) + number(result, u"dlms.bytes_received"_s);
        QVERIFY(qAbs(number(result, u"dlms.bytes_per_value"_s) - bytes / number(result, u"dlms.values"_s))
            < 0.01);
        // Ten registers per request, not one: far fewer requests than values.
        QVERIFY2(number(result, u"dlms.requests"_s) < 2 * attempted + 40, qPrintable(r.out));
        if (transport == u"wrapper") {
            // Byte counts are exact: the snapshot costs 96 bytes a poll, the list 178.
            if (read == u"snapshot")
                QVERIFY2(number(result, u"dlms.bytes_per_value"_s) < 12, qPrintable(r.out));
            else
                QVERIFY2(number(result, u"dlms.bytes_per_value"_s) > 12, qPrintable(r.out));
        }
        QVERIFY(number(result, u"latency_ms.p50"_s) <= number(result, u"latency_ms.p95"_s));
        QVERIFY(number(result, u"latency_ms.p95"_s) <= number(result, u"latency_ms.p99"_s));
        QVERIFY(number(result, u"latency_ms.p99"_s) <= number(result, u"latency_ms.max"_s));
        QVERIFY(number(result, u"latency_ms.max"_s) > 0);
        QVERIFY(number(result, u"rtt_ms.avg"_s) > 0);
        QVERIFY(number(result, u"rtt_ms.p95"_s) <= number(result, u"rtt_ms.max"_s));
        QVERIFY(number(result, u"peak_rss_mb"_s) > 1);
        QVERIFY(number(result, u"cpu.user_s"_s) + number(result, u"cpu.sys_s"_s) > 0);
    }

    void usageErrors_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QString>("message");
        QTest::newRow("too-many-registers") << QStringList {u"bench"_s, u"poll"_s, u"--meters"_s, u"2"_s,
            u"--registers"_s, u"16"_s} << u"dlmsctl: --registers must be from 1 to 15"_s;
        QTest::newRow("zero-registers") << QStringList {u"bench"_s, u"poll"_s, u"--registers"_s, u"0"_s}
                                        << u"dlmsctl: --registers must be a number from 1"_s;
        QTest::newRow("bad-transport") << QStringList {u"bench"_s, u"poll"_s, u"--transport"_s, u"serial"_s}
                                       << u"dlmsctl: --transport must be wrapper or hdlc (got 'serial')"_s;
        QTest::newRow("zero-meters") << QStringList {u"bench"_s, u"poll"_s, u"--meters"_s, u"0"_s}
                                     << u"dlmsctl: --meters must be a number from 1 to 5000"_s;
        QTest::newRow("unknown-benchmark")
            << QStringList {u"bench"_s, u"read"_s} << u"dlmsctl: unknown benchmark 'read'"_s;
        QTest::newRow("no-benchmark")
            << QStringList {u"bench"_s} << u"dlmsctl: bench needs a benchmark name"_s;
    }
    void usageErrors()
    {
        QFETCH(QStringList, args);
        QFETCH(QString, message);
        const CliRun r = runCli(args);
        QVERIFY2(r.exitCode == 2, qPrintable(r.describe()));
        QVERIFY2(r.out.isEmpty(), qPrintable(r.describe()));
        QVERIFY2(r.err.startsWith(message), qPrintable(r.describe()));
    }
};

QTEST_GUILESS_MAIN(tst_DlmsctlBench)
#include "tst_dlmsctl_bench.moc"
