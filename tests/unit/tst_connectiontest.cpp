#include "connectiontest.h"
#include "simulator.h"

#include <QtCore/QElapsedTimer>
#include <QtNetwork/QTcpServer>
#include <QtTest/QSignalSpy>
#include <QtTest/QTest>

#include <memory>

using namespace Qt::StringLiterals;

Q_DECLARE_METATYPE(dlms::Transport)

namespace {

std::unique_ptr<sim::Simulator> startSimulator(
    dlms::Transport transport, const sim::MeterSettings &meter = {})
{
    sim::SimulatorConfig config;
    config.basePort = 0;
    config.transport = transport;
    config.meter = meter;
    config.meter.profileRows = 10;
    auto simulator = std::make_unique<sim::Simulator>(config);
    const auto started = simulator->start();
    if (!started)
        qWarning("simulator: %s", qPrintable(started.error().message));
    return started ? std::move(simulator) : nullptr;
}

polling::MeterConfig meterFor(dlms::Transport transport, quint16 port)
{
    polling::MeterConfig meter;
    meter.id = u"m1"_s;
    meter.host = u"127.0.0.1"_s;
    meter.port = port;
    meter.transport = transport;
    meter.connectTimeoutMs = 3000;
    meter.requestTimeoutMs = 3000;
    return meter;
}

// One test run, kept alive after finished() so a late second emission would still be seen.
struct Run {
    explicit Run(const polling::MeterConfig &meter) : test(meter), spy(&test, &app::ConnectionTest::finished)
    {
    }

    app::ConnectionTestResult start(int waitMs = 10000)
    {
        test.start();
        if (!test.isRunning() || !spy.wait(waitMs))
            return {};
        return spy.at(0).at(0).value<app::ConnectionTestResult>();
    }

    app::ConnectionTest test;
    QSignalSpy spy;
};

} // namespace

class tst_ConnectionTest : public QObject {
    Q_OBJECT

private slots:
    void identityRead_data();
    void identityRead();
    void wrongPasswordFailsAtAssociate();
    void closedPortFailsAtConnect();
    void silentMeterTimesOut();
    void deletedMidTestEmitsNothing();
};

void tst_ConnectionTest::identityRead_data()
{
    QTest::addColumn<dlms::Transport>("transport");
    QTest::addColumn<bool>("lls");
    QTest::addColumn<bool>("multipleReferences");
    QTest::newRow("wrapper-no-auth") << dlms::Transport::Wrapper << false << true;
    QTest::newRow("hdlc-no-auth") << dlms::Transport::Hdlc << false << true;
    QTest::newRow("wrapper-lls-right-password") << dlms::Transport::Wrapper << true << true;
    QTest::newRow("hdlc-lls-right-password") << dlms::Transport::Hdlc << true << true;
    QTest::newRow("wrapper-no-multiple-references") << dlms::Transport::Wrapper << false << false;
}

void tst_ConnectionTest::identityRead()
{
    QFETCH(dlms::Transport, transport);
    QFETCH(bool, lls);
    QFETCH(bool, multipleReferences);
    sim::MeterSettings settings;
    settings.password = "s3cret-pw";
    settings.requireAuthentication = lls;
    settings.multipleReferences = multipleReferences;
    auto simulator = startSimulator(transport, settings);
    QVERIFY(simulator);

    polling::MeterConfig meter = meterFor(transport, simulator->port(0));
    if (lls) {
        meter.authentication = dlms::Authentication::Low;
        meter.password = "s3cret-pw";
    }
    Run run(meter);
    const app::ConnectionTestResult result = run.start();
    QVERIFY2(result.ok, qPrintable(result.error));
    QCOMPARE(result.stage, u"identity"_s);
    QVERIFY(result.error.isEmpty());
    QCOMPARE(result.serialNumber, simulator->meter(0).serialNumber());
    QCOMPARE(result.logicalDeviceName, simulator->meter(0).logicalDeviceName());
    QCOMPARE(result.firmwareVersion, simulator->meter(0).firmwareVersion());
    QVERIFY(result.connectMs >= 0);
    QVERIFY(result.associateMs >= 0);
    QVERIFY(result.identityMs >= 0);
    QCOMPARE(result.negotiatedPdu, settings.maxPduSize);
    QVERIFY(result.bytesSent > 0);
    QVERIFY(result.bytesReceived > 0);
    const QString summary = result.summary();
    QVERIFY2(summary.contains(result.serialNumber), qPrintable(summary));
    QVERIFY(!summary.contains(u"s3cret-pw"_s));
    // The association was released, not dropped: the simulator sees the connection close.
    QTRY_COMPARE(simulator->connectionCount(), 0);
    QCOMPARE(run.spy.count(), 1);
    QVERIFY(!run.test.isRunning());
}

void tst_ConnectionTest::wrongPasswordFailsAtAssociate()
{
    sim::MeterSettings settings;
    settings.password = "right-pw";
    settings.requireAuthentication = true;
    auto simulator = startSimulator(dlms::Transport::Wrapper, settings);
    QVERIFY(simulator);
    polling::MeterConfig meter = meterFor(dlms::Transport::Wrapper, simulator->port(0));
    meter.authentication = dlms::Authentication::Low;
    meter.password = "wrong-pw-xyz";

    Run run(meter);
    const app::ConnectionTestResult result = run.start();
    QVERIFY(!result.ok);
    QCOMPARE(result.stage, u"associate"_s);
    QVERIFY2(result.error.contains(u"authentication"_s), qPrintable(result.error));
    QVERIFY(result.connectMs >= 0);
    QCOMPARE(result.associateMs, -1);
    QVERIFY(result.serialNumber.isEmpty());
    QVERIFY(!result.error.contains(u"wrong-pw-xyz"_s));
    QVERIFY(!result.error.contains(u"right-pw"_s));
    QVERIFY(!result.summary().contains(u"wrong-pw-xyz"_s));
    QVERIFY(result.summary().contains(result.error));
}

void tst_ConnectionTest::closedPortFailsAtConnect()
{
    // A port that was free a moment ago: nothing listens on it any more.
    quint16 port = 0;
    {
        QTcpServer server;
        QVERIFY(server.listen(QHostAddress::LocalHost, 0));
        port = server.serverPort();
    }
    Run run(meterFor(dlms::Transport::Wrapper, port));
    const app::ConnectionTestResult result = run.start();
    QVERIFY(!result.ok);
    QCOMPARE(result.stage, u"connect"_s);
    QVERIFY(!result.error.isEmpty());
    QCOMPARE(result.connectMs, -1);
    QCOMPARE(result.bytesSent, 0u);
    QVERIFY(result.summary().contains(result.error));
}

void tst_ConnectionTest::silentMeterTimesOut()
{
    sim::MeterSettings settings;
    settings.faults.silent = true;
    auto simulator = startSimulator(dlms::Transport::Wrapper, settings);
    QVERIFY(simulator);
    polling::MeterConfig meter = meterFor(dlms::Transport::Wrapper, simulator->port(0));
    meter.connectTimeoutMs = 400;
    meter.requestTimeoutMs = 400;

    QElapsedTimer clock;
    clock.start();
    Run run(meter);
    const app::ConnectionTestResult result = run.start(5000);
    const qint64 took = clock.elapsed();
    QVERIFY(!result.ok);
    QCOMPARE(result.stage, u"associate"_s);
    QVERIFY2(result.error.contains(u"timed out"_s), qPrintable(result.error));
    QVERIFY2(took >= 390 && took < 2500, qPrintable(QString::number(took)));
    // The AARQ went out and was counted; nothing came back.
    QVERIFY(result.bytesSent > 0);
    QCOMPARE(result.bytesReceived, 0u);
}

void tst_ConnectionTest::deletedMidTestEmitsNothing()
{
    // A silent meter keeps the test waiting in the association.
    sim::MeterSettings settings;
    settings.faults.silent = true;
    auto simulator = startSimulator(dlms::Transport::Hdlc, settings);
    QVERIFY(simulator);
    auto test = std::make_unique<app::ConnectionTest>(meterFor(dlms::Transport::Hdlc, simulator->port(0)));
    QSignalSpy spy(test.get(), &app::ConnectionTest::finished);
    test->start();
    QTRY_COMPARE(simulator->connectionCount(), 1);
    test.reset();
    QTRY_COMPARE(simulator->connectionCount(), 0);
    QCOMPARE(spy.count(), 0);
}

QTEST_GUILESS_MAIN(tst_ConnectionTest)
#include "tst_connectiontest.moc"
