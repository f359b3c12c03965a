#include "clitestsupport.h"

#include <QtNetwork/QTcpSocket>
#include <QtTest/QtTest>

#include <csignal>
#include <sys/types.h>

using namespace Qt::StringLiterals;
using namespace clitest;

namespace {

const QString kSerial = u"0.0.96.1.0.255"_s;

CliRun readFrom(const SimulateProcess::Meter &meter, const QStringList &args)
{
    return runCli(QStringList {u"read"_s} + connectionArgs(meter.port, meter.transport) + args);
}

} // namespace

class tst_DlmsctlSimulate : public QObject {
    Q_OBJECT

private slots:
    void helpMentionsEveryOption()
    {
        const CliRun r = runCli({u"simulate"_s, u"--help"_s});
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        for (const char *option : {"--port", "--transport", "--meters", "--rows", "--period-s", "--max-pdu",
                 "--hdlc-max-info", "--hdlc-window", "--password", "--require-auth",
                 "--no-multiple-references", "--clock-offset-s", "--latency-ms", "--drop-mid-frame",
                 "--garbage", "--drip", "--drip-interval-ms", "--reject-association", "--exception-responses",
                 "--silent", "--faults-on"})
            QVERIFY2(r.out.contains(QLatin1StringView(option)), option);
    }

    void servesReadsUntilTerminated_data()
    {
        QTest::addColumn<QString>("transport");
        QTest::newRow("wrapper") << u"wrapper"_s;
        QTest::newRow("hdlc") << u"hdlc"_s;
    }
    void servesReadsUntilTerminated()
    {
        QFETCH(QString, transport);
        SimulateProcess simulate({u"--port"_s, u"0"_s, u"--transport"_s, transport});
        QVERIFY2(simulate.waitReady(), qPrintable(simulate.describe()));
        // Only the meter line and "ready": stdout is for scripts.
        QCOMPARE(simulate.stdoutLines().size(), 2);
        QCOMPARE(simulate.stdoutLines().last(), u"ready"_s);
        const QList<SimulateProcess::Meter> meters = simulate.meters();
        QVERIFY2(meters.size() == 1, qPrintable(simulate.describe()));
        const SimulateProcess::Meter &meter = meters.first();
        QCOMPARE(meter.number, 1);
        QVERIFY(meter.port != 0);
        QCOMPARE(meter.transport, transport);
        QCOMPARE(meter.serial, u"SIM00000001"_s);
        QVERIFY2(meter.faults.isEmpty(), qPrintable(meter.line));

        const CliRun r = readFrom(meter, {kSerial, u"1.0.32.7.0.255"_s});
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        QCOMPARE(itemColumns(r.out, kSerial + u":2"_s).value(2), u"SIM00000001"_s);
        QCOMPARE(parseQuantity(itemColumns(r.out, u"1.0.32.7.0.255:2"_s).value(2)).value_or(Quantity {}).unit,
            u"V"_s);

        // The default LLS secret; on HDLC any physical (lower) address is answered.
        QStringList lls {u"--auth"_s, u"low"_s, u"--password"_s, u"12345678"_s, kSerial};
        if (transport == u"hdlc")
            lls << u"--physical"_s << u"17"_s;
        const CliRun authenticated = readFrom(meter, lls);
        QVERIFY2(authenticated.exitCode == 0, qPrintable(authenticated.describe()));
        QCOMPARE(itemColumns(authenticated.out, kSerial + u":2"_s).value(2), u"SIM00000001"_s);

        QCOMPARE(simulate.terminate(), 0);
        // Once stopped, nothing listens any more.
        QCOMPARE(readFrom(meter, {u"--timeout-ms"_s, u"2000"_s, kSerial}).exitCode, 3);
    }

    void interruptStops()
    {
        SimulateProcess simulate({u"--port"_s, u"0"_s});
        QVERIFY2(simulate.waitReady(), qPrintable(simulate.describe()));
        QVERIFY(simulate.processId() > 0);
        QCOMPARE(::kill(pid_t(simulate.processId()), SIGINT), 0);
        QCOMPARE(simulate.waitExit(), 0);
    }

    void terminateWithOpenConnections()
    {
        SimulateProcess simulate({u"--port"_s, u"0"_s, u"--meters"_s, u"2"_s});
        QVERIFY2(simulate.waitReady(), qPrintable(simulate.describe()));
        const QList<SimulateProcess::Meter> meters = simulate.meters();
        QVERIFY2(meters.size() == 2, qPrintable(simulate.describe()));
        // Idle clients on both meters, one with half a frame sent: stopping must not wait for them.
        QTcpSocket idle;
        QTcpSocket halfFrame;
        QSignalSpy idleConnected(&idle, &QTcpSocket::connected);
        QSignalSpy halfConnected(&halfFrame, &QTcpSocket::connected);
        idle.connectToHost(QHostAddress::LocalHost, meters.at(0).port);
        halfFrame.connectToHost(QHostAddress::LocalHost, meters.at(1).port);
        QVERIFY(idleConnected.wait(5000));
        QVERIFY(halfConnected.count() > 0 || halfConnected.wait(5000));
        halfFrame.write(QByteArray::fromHex("0001001000010020"));
        QSignalSpy idleClosed(&idle, &QTcpSocket::disconnected);
        QCOMPARE(simulate.terminate(), 0);
        QVERIFY(idleClosed.count() > 0 || idleClosed.wait(5000));
    }

    void threeMetersOnConsecutivePorts()
    {
        // Another process may take a port between the probe and the listen: try a few bases.
        for (int attempt = 0; attempt < 5; ++attempt) {
            const quint16 base = consecutiveFreePorts(3);
            QVERIFY(base != 0);
            SimulateProcess simulate({u"--port"_s, QString::number(base), u"--meters"_s, u"3"_s});
            if (!simulate.waitReady()) {
                QVERIFY2(simulate.waitExit() == 3, qPrintable(simulate.describe()));
                continue;
            }
            const QList<SimulateProcess::Meter> meters = simulate.meters();
            QVERIFY2(meters.size() == 3, qPrintable(simulate.describe()));
            QSet<QString> serials;
            for (int i = 0; i < 3; ++i) {
                QCOMPARE(meters.at(i).number, i + 1);
                QCOMPARE(meters.at(i).port, quint16(base + i));
                QCOMPARE(meters.at(i).serial, u"SIM%1"_s.arg(i + 1, 8, 10, QChar(u'0')));
                serials.insert(meters.at(i).serial);
            }
            QCOMPARE(serials.size(), 3);
            // Each port is its own meter.
            const CliRun third = readFrom(meters.at(2), {kSerial});
            QVERIFY2(third.exitCode == 0, qPrintable(third.describe()));
            QCOMPARE(itemColumns(third.out, kSerial + u":2"_s).value(2), u"SIM00000003"_s);
            QCOMPARE(simulate.terminate(), 0);
            return;
        }
        QFAIL("no three consecutive free ports could be used");
    }

    void threeMetersOnEphemeralPorts()
    {
        SimulateProcess simulate({u"--port"_s, u"0"_s, u"--meters"_s, u"3"_s, u"--transport"_s, u"hdlc"_s});
        QVERIFY2(simulate.waitReady(), qPrintable(simulate.describe()));
        const QList<SimulateProcess::Meter> meters = simulate.meters();
        QVERIFY2(meters.size() == 3, qPrintable(simulate.describe()));
        QSet<quint16> ports;
        QSet<QString> serials;
        for (const SimulateProcess::Meter &meter : meters) {
            QCOMPARE(meter.transport, u"hdlc"_s);
            ports.insert(meter.port);
            serials.insert(meter.serial);
        }
        QCOMPARE(ports.size(), 3);
        QCOMPARE(serials.size(), 3);
        const CliRun second = readFrom(meters.at(1), {kSerial});
        QVERIFY2(second.exitCode == 0, qPrintable(second.describe()));
        QCOMPARE(itemColumns(second.out, kSerial + u":2"_s).value(2), u"SIM00000002"_s);
        QCOMPARE(simulate.terminate(), 0);
    }

    void faultsOnSelectedMeters()
    {
        SimulateProcess simulate({u"--port"_s, u"0"_s, u"--meters"_s, u"3"_s, u"--latency-ms"_s, u"200"_s,
            u"--reject-association"_s, u"--faults-on"_s, u"2,3"_s});
        QVERIFY2(simulate.waitReady(), qPrintable(simulate.describe()));
        const QList<SimulateProcess::Meter> meters = simulate.meters();
        QVERIFY2(meters.size() == 3, qPrintable(simulate.describe()));
        QVERIFY2(meters.at(0).faults.isEmpty(), qPrintable(meters.at(0).line));
        for (int i : {1, 2})
            QVERIFY2(meters.at(i).faults.contains(u"latency 200ms"_s), qPrintable(meters.at(i).line));

        const CliRun healthy = readFrom(meters.at(0), {kSerial});
        QVERIFY2(healthy.exitCode == 0, qPrintable(healthy.describe()));
        const CliRun rejected = readFrom(meters.at(1), {kSerial});
        QVERIFY2(rejected.exitCode == 4, qPrintable(rejected.describe()));
        QVERIFY2(rejected.err.contains(u"association rejected"_s), qPrintable(rejected.describe()));
        QCOMPARE(simulate.terminate(), 0);
    }

    void faultOptionsApplyToEveryMeter_data()
    {
        QTest::addColumn<QStringList>("options");
        QTest::addColumn<QString>("faultText"); // in the meter line
        QTest::addColumn<int>("exitCode"); // of a read with --timeout-ms 500
        QTest::newRow("drip") << QStringList {u"--drip"_s, u"--drip-interval-ms"_s, u"1"_s} << u"drip"_s << 0;
        QTest::newRow("garbage") << QStringList {u"--garbage"_s, u"5"_s} << u"garbage"_s << 0;
        QTest::newRow("silent") << QStringList {u"--silent"_s} << u"silent"_s << 3;
        QTest::newRow("drop-mid-frame") << QStringList {u"--drop-mid-frame"_s} << u"drop"_s << 3;
        QTest::newRow("exception-responses")
            << QStringList {u"--exception-responses"_s} << u"exception"_s << 5;
        QTest::newRow("latency-above-timeout")
            << QStringList {u"--latency-ms"_s, u"1500"_s} << u"latency 1500ms"_s << 3;
    }
    void faultOptionsApplyToEveryMeter()
    {
        QFETCH(QStringList, options);
        QFETCH(QString, faultText);
        QFETCH(int, exitCode);
        SimulateProcess simulate(QStringList {u"--port"_s, u"0"_s, u"--meters"_s, u"2"_s} + options);
        QVERIFY2(simulate.waitReady(), qPrintable(simulate.describe()));
        const QList<SimulateProcess::Meter> meters = simulate.meters();
        QVERIFY2(meters.size() == 2, qPrintable(simulate.describe()));
        for (const SimulateProcess::Meter &meter : meters)
            QVERIFY2(meter.faults.contains(faultText), qPrintable(meter.line));
        const CliRun r = readFrom(meters.at(1), {u"--timeout-ms"_s, u"500"_s, kSerial});
        QVERIFY2(r.exitCode == exitCode, qPrintable(r.describe()));
        QCOMPARE(simulate.terminate(), 0);
    }

    void meterOptions()
    {
        SimulateProcess simulate({u"--port"_s, u"0"_s, u"--rows"_s, u"50"_s, u"--period-s"_s, u"60"_s,
            u"--password"_s, u"Secret99"_s, u"--require-auth"_s, u"--clock-offset-s"_s, u"3600"_s,
            u"--no-multiple-references"_s, u"--max-pdu"_s, u"512"_s});
        QVERIFY2(simulate.waitReady(), qPrintable(simulate.describe()));
        QVERIFY2(!simulate.describe().contains(u"Secret99"_s), qPrintable(simulate.describe()));
        const SimulateProcess::Meter meter = simulate.meters().value(0);
        QVERIFY2(meter.port != 0, qPrintable(simulate.describe()));

        // --require-auth: no-auth associations are refused, the given password is accepted.
        const CliRun refused = readFrom(meter, {kSerial});
        QVERIFY2(refused.exitCode == 4, qPrintable(refused.describe()));
        const QStringList lls {u"--auth"_s, u"low"_s, u"--password"_s, u"Secret99"_s};
        const CliRun wrong
            = readFrom(meter, {u"--auth"_s, u"low"_s, u"--password"_s, u"12345678"_s, kSerial});
        QVERIFY2(wrong.exitCode == 4, qPrintable(wrong.describe()));

        // --clock-offset-s: the meter's clock runs an hour ahead.
        const CliRun clock = readFrom(meter, lls + QStringList {u"0.0.1.0.0.255"_s});
        QVERIFY2(clock.exitCode == 0, qPrintable(clock.describe()));
        const QDateTime meterTime = parseIsoWithOffset(itemColumns(clock.out, u"0.0.1.0.0.255:2"_s).value(2));
        QVERIFY2(meterTime.isValid(), qPrintable(clock.out));
        const qint64 ahead = QDateTime::currentDateTimeUtc().secsTo(meterTime);
        QVERIFY2(ahead > 3600 - 600 && ahead < 3600 + 600, qPrintable(clock.out));

        // --rows / --period-s: a 50-row profile, a minute apart.
        const CliRun profile = readFrom(meter, lls + QStringList {u"1.0.99.1.0.255"_s});
        QVERIFY2(profile.exitCode == 0, qPrintable(profile.describe()));
        const QStringList rows = profile.lines().mid(1);
        QCOMPARE(rows.size(), 50);
        const QDateTime first = parseIsoWithOffset(rows.first().section(u',', 0, 0));
        const QDateTime second = parseIsoWithOffset(rows.at(1).section(u',', 0, 0));
        QVERIFY2(first.isValid() && second.isValid(), qPrintable(profile.out.left(300)));
        QCOMPARE(first.secsTo(second), qint64(60));

        // --no-multiple-references: one GET per attribute.
        const CliRun stats
            = readFrom(meter, lls + QStringList {u"--stats"_s, u"1.0.32.7.0.255"_s, u"1.0.52.7.0.255"_s});
        QVERIFY2(stats.exitCode == 0, qPrintable(stats.describe()));
        QCOMPARE(parseStats(stats.err).value(u"requests"_s), qint64(2 + 4));

        // --max-pdu 512: the object list still arrives (in more blocks).
        const CliRun objects
            = runCli(QStringList {u"objects"_s} + connectionArgs(meter.port, meter.transport) + lls);
        QVERIFY2(objects.exitCode == 0, qPrintable(objects.describe()));
        QVERIFY2(objects.lines().size() >= 19, qPrintable(objects.out));
        QCOMPARE(simulate.terminate(), 0);
    }

    void busyPortExitsThree()
    {
        QTcpServer occupant;
        QVERIFY(occupant.listen(QHostAddress::LocalHost, 0));
        const QString port = QString::number(occupant.serverPort());
        SimulateProcess simulate({u"--port"_s, port});
        QVERIFY(!simulate.waitReady());
        QCOMPARE(simulate.waitExit(), 3);
        const QString err = simulate.errorOutput();
        QVERIFY2(err.contains(u"dlmsctl: cannot listen on 127.0.0.1:"_s + port + u": "_s), qPrintable(err));
        QVERIFY2(!simulate.stdoutLines().contains(u"ready"_s), qPrintable(simulate.describe()));
    }

    void busySecondPortExitsThree()
    {
        // Meter 2's port is the busy one: the whole simulator refuses to start, naming that port.
        for (int attempt = 0; attempt < 5; ++attempt) {
            const quint16 base = consecutiveFreePorts(2);
            QVERIFY(base != 0);
            QTcpServer occupant;
            if (!occupant.listen(QHostAddress::LocalHost, quint16(base + 1)))
                continue;
            SimulateProcess simulate({u"--port"_s, QString::number(base), u"--meters"_s, u"2"_s});
            QVERIFY(!simulate.waitReady());
            QCOMPARE(simulate.waitExit(), 3);
            const QString err = simulate.errorOutput();
            if (err.contains(u"127.0.0.1:%1:"_s.arg(base)))
                continue; // someone else took the base port meanwhile
            QVERIFY2(
                err.contains(u"dlmsctl: cannot listen on 127.0.0.1:%1: "_s.arg(base + 1)), qPrintable(err));
            return;
        }
        QFAIL("no two consecutive free ports could be used");
    }

    void badOptionsExitTwo_data()
    {
        QTest::addColumn<QStringList>("options");
        QTest::newRow("unknown-option") << QStringList {u"--port"_s, u"0"_s, u"--frobnicate"_s};
        QTest::newRow("bad-transport") << QStringList {u"--port"_s, u"0"_s, u"--transport"_s, u"serial"_s};
        QTest::newRow("port-not-a-number") << QStringList {u"--port"_s, u"http"_s};
        QTest::newRow("port-out-of-range") << QStringList {u"--port"_s, u"70000"_s};
        QTest::newRow("meters-not-a-number") << QStringList {u"--port"_s, u"0"_s, u"--meters"_s, u"many"_s};
        QTest::newRow("rows-not-a-number") << QStringList {u"--port"_s, u"0"_s, u"--rows"_s, u"lots"_s};
        QTest::newRow("latency-not-a-number")
            << QStringList {u"--port"_s, u"0"_s, u"--latency-ms"_s, u"slow"_s};
        QTest::newRow("faults-on-not-a-list")
            << QStringList {u"--port"_s, u"0"_s, u"--faults-on"_s, u"some"_s};
        QTest::newRow("no-meters") << QStringList {u"--port"_s, u"0"_s, u"--meters"_s, u"0"_s};
        QTest::newRow("faults-on-beyond-meters") << QStringList {
            u"--port"_s, u"0"_s, u"--meters"_s, u"2"_s, u"--faults-on"_s, u"3"_s, u"--silent"_s};
        QTest::newRow("unexpected-argument") << QStringList {u"--port"_s, u"0"_s, u"extra"_s};
    }
    void badOptionsExitTwo()
    {
        QFETCH(QStringList, options);
        SimulateProcess simulate(options);
        QVERIFY2(!simulate.waitReady(), qPrintable(simulate.describe()));
        QVERIFY2(simulate.waitExit() == 2, qPrintable(simulate.describe()));
        QVERIFY2(simulate.errorOutput().contains(u"dlmsctl: "_s)
                && !simulate.errorOutput().contains(u"unknown command"_s),
            qPrintable(simulate.describe()));
        QVERIFY2(simulate.meters().isEmpty(), qPrintable(simulate.describe()));
    }
};

QTEST_GUILESS_MAIN(tst_DlmsctlSimulate)
#include "tst_dlmsctl_simulate.moc"
