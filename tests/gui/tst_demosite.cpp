// The embedded demo (`dlmsbridge --demo`): simulated meters in-process, a real mosquitto on a
// free loopback port, and the bridge running on its configuration end to end.

#include <bridge.h>
#include <demosite.h>
#include <simconfig.h>
#include <storage.h>

#include <QtCore/QDir>
#include <QtCore/QFileInfo>
#include <QtCore/QStandardPaths>
#include <QtCore/QTemporaryDir>
#include <QtNetwork/QTcpSocket>
#include <QtTest/QSignalSpy>
#include <QtTest/QTest>

using namespace Qt::StringLiterals;

namespace {

constexpr int kWaitMs = 15'000;

bool listening(quint16 port)
{
    QTcpSocket socket;
    socket.connectToHost(QHostAddress::LocalHost, port);
    return socket.waitForConnected(2000);
}

} // namespace

class TestDemoSite : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase()
    {
        QStandardPaths::setTestModeEnabled(true);
        // The secured meter's invocation counters go here, not into the shared test data directory.
        QVERIFY(m_counters.isValid());
        qputenv("DLMSBRIDGE_COUNTER_DIR", QFile::encodeName(m_counters.path()));
    }
    void cleanupTestCase() { qunsetenv("DLMSBRIDGE_COUNTER_DIR"); }

    void oneMeterIsSecured_data()
    {
        QTest::addColumn<int>("meters");
        QTest::newRow("two-meters-the-hdlc-one") << 2;
        QTest::newRow("four-meters-a-wrapper-one") << 4;
    }

    void oneMeterIsSecured()
    {
        QFETCH(int, meters);
        QTemporaryDir dir;
        DemoSite::Options options;
        options.meters = meters;
        options.databasePath = dir.filePath(u"demo.db"_s);
        options.mosquittoPath = u"-"_s;
        DemoSite demo(options);
        QVERIFY(demo.start());
        const app::BridgeConfig config = demo.config();
        int secured = 0;
        for (const polling::MeterConfig &meter : config.site.meters) {
            QVERIFY(polling::validateMeterConfig(meter));
            if (meter.id != DemoSite::securedMeterId()) {
                QCOMPARE(meter.authentication, dlms::Authentication::None);
                QCOMPARE(meter.security.policy, dlms::SecurityPolicy::None);
                continue;
            }
            ++secured;
            QCOMPARE(meter.authentication, dlms::Authentication::HighGmac);
            QCOMPARE(meter.security.policy, dlms::SecurityPolicy::AuthenticatedEncrypted);
            QCOMPARE(meter.security.systemTitle, QByteArray::fromHex("4D4D4D0000000001"));
            // The simulator's keys, or the meter would refuse the association.
            QVERIFY(meter.security.blockCipherKey == sim::defaultSecurity(0).blockCipherKey);
            QVERIFY(meter.security.authenticationKey == sim::defaultSecurity(0).authenticationKey);
            QCOMPARE(meter.associationMode, polling::AssociationMode::PerPoll);
        }
        QCOMPARE(secured, 1);
    }

    void configurationIsValidAndLoopbackOnly()
    {
        QTemporaryDir dir;
        DemoSite::Options options;
        options.meters = 4;
        options.databasePath = dir.filePath(u"demo.db"_s);
        options.mosquittoPath = u"-"_s;
        DemoSite demo(options);
        QVERIFY(demo.start());
        const app::BridgeConfig config = demo.config();
        QCOMPARE(config.site.meters.size(), size_t(4));
        QCOMPARE(demo.meterPorts().size(), 4);
        QSet<QString> ids;
        for (size_t i = 0; i < config.site.meters.size(); ++i) {
            const polling::MeterConfig &meter = config.site.meters[i];
            QCOMPARE(meter.host, u"127.0.0.1"_s);
            QCOMPARE(meter.port, demo.meterPorts().at(int(i)));
            QVERIFY(listening(meter.port));
            QVERIFY(!meter.items.empty());
            ids.insert(meter.id);
        }
        QCOMPARE(ids.size(), 4);
        QVERIFY(ids.contains(DemoSite::flakyMeterId()));
        QCOMPARE(config.site.meters.back().transport, dlms::Transport::Hdlc);
        QCOMPARE(config.site.meters.front().transport, dlms::Transport::Wrapper);
        QCOMPARE(config.storage.path, options.databasePath);
        QCOMPARE(config.mqtt.client.host, u"127.0.0.1"_s);
        QVERIFY(!config.http.enabled);
        QVERIFY(!demo.brokerRunning());
    }

    void bridgeRunsOnTheDemo()
    {
        QTemporaryDir dir;
        DemoSite::Options options;
        options.meters = 4;
        options.pollIntervalMs = 500;
        options.databasePath = dir.filePath(u"demo.db"_s);
        // The flaky meter goes late after 1.5 s and stays late for the rest of the test.
        options.flakyHealthyMs = 1500;
        options.flakyLateMs = 60'000;
        DemoSite demo(options);
        QVERIFY(demo.start());
        QVERIFY2(demo.brokerRunning(), "mosquitto is installed by .ci/deps");

        app::Bridge::Options bridgeOptions;
        bridgeOptions.serveHttp = false;
        app::Bridge bridge(bridgeOptions);
        QSignalSpy states(&bridge, &app::Bridge::meterStateChanged);
        QVERIFY(bridge.start(demo.config()));
        QVERIFY(QFileInfo::exists(options.databasePath));

        // Every meter delivers readings, over both transports; the broker acknowledges them.
        auto batchesOf = [&](const QString &id) {
            const auto status = bridge.meter(id);
            return status ? status->batches : 0;
        };
        for (const polling::MeterConfig &meter : demo.config().site.meters)
            QTRY_VERIFY_WITH_TIMEOUT(batchesOf(meter.id) >= 1, kWaitMs);
        // The secured meter polls again and again (a new HLS-GMAC association each time), its
        // invocation counter kept on disk.
        QTRY_VERIFY_WITH_TIMEOUT(batchesOf(DemoSite::securedMeterId()) >= 2, kWaitMs);
        QVERIFY(!QDir(m_counters.path()).isEmpty(QDir::Files | QDir::NoDotAndDotDot));
        QTRY_COMPARE_WITH_TIMEOUT(bridge.health().mqtt.state, mqtt::PublisherState::Publishing, kWaitMs);
        QTRY_VERIFY_WITH_TIMEOUT(bridge.health().mqtt.messagesAcknowledged > 0, kWaitMs);

        // The flaky meter then times out and backs off while the others keep polling.
        auto backedOff = [&] {
            for (const QList<QVariant> &change : std::as_const(states)) {
                if (change.at(0).toString() == DemoSite::flakyMeterId()
                    && change.at(1).value<polling::MeterState>() == polling::MeterState::BackingOff)
                    return true;
            }
            return false;
        };
        QTRY_VERIFY_WITH_TIMEOUT(backedOff(), kWaitMs);
        const quint64 before = batchesOf(u"demo-1"_s);
        QTRY_VERIFY_WITH_TIMEOUT(batchesOf(u"demo-1"_s) > before, kWaitMs);
        QVERIFY(bridge.stopAndWait());
        QVERIFY(bridge.lastStopComplete());
    }

    void withoutABrokerTheOutboxGrows()
    {
        QTemporaryDir dir;
        DemoSite::Options options;
        options.meters = 2;
        options.pollIntervalMs = 500;
        options.databasePath = dir.filePath(u"demo.db"_s);
        options.mosquittoPath = u"-"_s;
        DemoSite demo(options);
        QVERIFY(demo.start());
        QVERIFY(!demo.brokerRunning());
        app::Bridge::Options bridgeOptions;
        bridgeOptions.serveHttp = false;
        app::Bridge bridge(bridgeOptions);
        QVERIFY(bridge.start(demo.config()));
        QTRY_VERIFY_WITH_TIMEOUT(bridge.health().storage.outbox.rows >= 2, kWaitMs);
        QVERIFY(bridge.health().mqtt.state != mqtt::PublisherState::Publishing);
        QCOMPARE(bridge.health().mqtt.messagesAcknowledged, quint64(0));
        QVERIFY(bridge.stopAndWait());
    }

    void stopClosesEverything()
    {
        QTemporaryDir dir;
        DemoSite::Options options;
        options.databasePath = dir.filePath(u"demo.db"_s);
        QList<quint16> ports;
        quint16 brokerPort = 0;
        {
            DemoSite demo(options);
            QVERIFY(demo.start());
            ports = demo.meterPorts();
            brokerPort = demo.brokerPort();
            QCOMPARE(ports.size(), 5);
            QTRY_VERIFY_WITH_TIMEOUT(listening(brokerPort), kWaitMs);
        }
        for (quint16 port : std::as_const(ports))
            QVERIFY(!listening(port));
        QTRY_VERIFY_WITH_TIMEOUT(!listening(brokerPort), kWaitMs); // SIGTERM takes a moment
    }

private:
    QTemporaryDir m_counters;
};

QTEST_MAIN(TestDemoSite)
#include "tst_demosite.moc"
