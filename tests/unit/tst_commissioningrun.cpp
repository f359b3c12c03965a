#include "commissioningrun.h"
#include "identityread.h"
#include "mosquittobroker.h"
#include "simulator.h"

#include <apdu.h>
#include <displayformat.h>
#include <dlmsconnection.h>
#include <mqttclient.h>
#include <units.h>
#include <wrapper.h>
#include <xdlms.h>

#include <QtCore/QElapsedTimer>
#include <QtCore/QJsonDocument>
#include <QtCore/QJsonObject>
#include <QtCore/QStandardPaths>
#include <QtNetwork/QTcpServer>
#include <QtNetwork/QTcpSocket>
#include <QtTest/QSignalSpy>
#include <QtTest/QTest>

#include <cmath>
#include <functional>
#include <limits>
#include <memory>

using namespace Qt::StringLiterals;
using commissioning::CheckResult;
using commissioning::CheckStatus;
using commissioning::MeterReport;

Q_DECLARE_METATYPE(commissioning::CheckStatus)
Q_DECLARE_METATYPE(mqtt::Mode)
Q_DECLARE_METATYPE(dlms::Value)

namespace {

constexpr int kWaitMs = 15000;
const QByteArray kMeterPassword = QByteArrayLiteral("lls-s3cret-pw");
const QString kGatewayToken = u"gateway-t0ken-secret"_s;
const QString kDeviceToken = u"device-t0ken-secret"_s;

std::unique_ptr<sim::Simulator> startSimulator(int meters = 1, const sim::MeterSettings &meter = {})
{
    sim::SimulatorConfig config;
    config.basePort = 0;
    config.meters = meters;
    config.meter = meter;
    config.meter.profileRows = 10;
    config.meter.password = kMeterPassword;
    auto simulator = std::make_unique<sim::Simulator>(config);
    const auto started = simulator->start();
    if (!started)
        qWarning("simulator: %s", qPrintable(started.error().message));
    return started ? std::move(simulator) : nullptr;
}

polling::PollItem item(const QString &key, const char *obis, quint16 classId = 3)
{
    polling::PollItem result;
    result.key = key;
    result.obis = *dlms::Obis::parse(QString::fromLatin1(obis));
    result.classId = classId;
    return result;
}

std::vector<polling::PollItem> standardItems()
{
    return {item(u"voltage_l1"_s, "1.0.32.7.0.255"), item(u"voltage_l2"_s, "1.0.52.7.0.255"),
        item(u"voltage_l3"_s, "1.0.72.7.0.255"), item(u"frequency"_s, "1.0.14.7.0.255"),
        item(u"power_factor"_s, "1.0.13.7.0.255"), item(u"energy_import"_s, "1.0.1.8.0.255"),
        item(u"serial"_s, "0.0.96.1.0.255", 1)};
}

polling::MeterConfig meterFor(quint16 port, const QString &id, bool lls = true)
{
    polling::MeterConfig meter;
    meter.id = id;
    meter.name = u"Meter "_s + id;
    meter.host = u"127.0.0.1"_s;
    meter.port = port;
    meter.connectTimeoutMs = 2000;
    meter.requestTimeoutMs = 2000;
    if (lls) {
        meter.authentication = dlms::Authentication::Low;
        meter.password = kMeterPassword;
    }
    meter.items = standardItems();
    return meter;
}

app::CommissioningOptions optionsFor(std::vector<polling::MeterConfig> meters)
{
    app::CommissioningOptions options;
    options.meters = std::move(meters);
    options.mqtt.enabled = false;
    options.settings.baselinePolls = 2;
    return options;
}

// A run kept with its spies; finished() is waited for and must come exactly once.
struct Run {
    explicit Run(app::CommissioningOptions options)
        : run(std::move(options)), checks(&run, &app::CommissioningRun::checkFinished),
          meters(&run, &app::CommissioningRun::meterFinished),
          finished(&run, &app::CommissioningRun::finished)
    {
    }

    bool exec(int waitMs = kWaitMs)
    {
        run.start();
        return finished.count() == 1 || finished.wait(waitMs);
    }

    MeterReport report(int i = 0) const
    {
        const auto all = run.reports();
        return size_t(i) < all.size() ? all[size_t(i)] : MeterReport {};
    }

    app::CommissioningRun run;
    QSignalSpy checks;
    QSignalSpy meters;
    QSignalSpy finished;
};

CheckStatus statusOf(const MeterReport &report, const QString &check)
{
    const CheckResult *found = report.find(check);
    return found ? found->status : CheckStatus(255);
}

QStringList idsOf(const MeterReport &report)
{
    QStringList ids;
    for (const CheckResult &check : report.checks)
        ids << check.check;
    return ids;
}

QString describe(const MeterReport &report)
{
    QStringList lines;
    for (const CheckResult &c : report.checks)
        lines << u"%1 %2 [%3] %4"_s.arg(
            c.check, commissioning::checkStatusName(c.status), c.measured, c.explanation);
    return lines.join(u'\n');
}

// Every text a report holds, for the secret checks.
QString allText(const MeterReport &report)
{
    QStringList texts {report.meterId, report.meterName, report.endpoint, report.logicalDeviceName,
        report.serialNumber, report.firmwareVersion};
    for (const CheckResult &c : report.checks)
        texts << c.check << c.unit << c.measured << c.explanation;
    return texts.join(u'\n');
}

// A subscriber on the test broker; ready once its own probe came back.
class Subscriber {
public:
    Subscriber(quint16 port, const QByteArray &filter)
        : m_probe("test/probe/" + QByteArray::number(quintptr(this), 16))
    {
        mqtt::ClientOptions o;
        o.port = port;
        m_client = std::make_unique<mqtt::MqttClient>(o);
        QObject::connect(m_client.get(), &mqtt::MqttClient::connected, m_client.get(), [this, filter] {
            m_client->subscribe(filter, 1);
            m_client->subscribe(m_probe, 1);
            m_client->publish(m_probe, "probe", 1);
        });
        QObject::connect(m_client.get(), &mqtt::MqttClient::messageReceived, m_client.get(),
            [this](const QByteArray &topic, const QByteArray &payload) {
                if (topic == m_probe)
                    m_ready = true;
                else
                    messages.push_back({topic, payload});
            });
        m_client->connectToHost();
    }
    bool waitReady()
    {
        return QTest::qWaitFor([&] { return m_ready; }, kWaitMs);
    }

    std::vector<std::pair<QByteArray, QByteArray>> messages;

private:
    QByteArray m_probe;
    bool m_ready = false;
    std::unique_ptr<mqtt::MqttClient> m_client;
};

// Between the run and a simulator (wrapper transport): passes everything on, but lets the test
// change the meter's answer to chosen attributes, to see what the run makes of values the
// simulator never sends.
class RewritingProxy final : public QObject {
public:
    using Rewrite = std::function<void(const dlms::AttributeDescriptor &, dlms::DataResult &)>;

    RewritingProxy(quint16 meterPort, Rewrite rewrite) : m_meterPort(meterPort), m_rewrite(std::move(rewrite))
    {
        connect(&m_server, &QTcpServer::newConnection, this, &RewritingProxy::accept);
        m_server.listen(QHostAddress::LocalHost, 0);
    }
    quint16 port() const { return m_server.serverPort(); }

private:
    void accept()
    {
        QTcpSocket *client = m_server.nextPendingConnection();
        auto *meter = new QTcpSocket(client);
        auto fromClient = std::make_shared<dlms::wrapper::Deframer>();
        auto fromMeter = std::make_shared<dlms::wrapper::Deframer>();
        // Requests by invoke id: the run has one request out at a time.
        auto asked = std::make_shared<QHash<quint8, std::vector<dlms::AttributeDescriptor>>>();
        connect(client, &QTcpSocket::readyRead, meter, [client, meter, fromClient, asked] {
            const QByteArray bytes = client->readAll();
            meter->write(bytes);
            fromClient->feed(bytes);
            while (auto frame = fromClient->next()) {
                if (!*frame || (*frame)->apdu.isEmpty()
                    || quint8((*frame)->apdu.front()) != dlms::tag::GetRequest)
                    continue;
                if (const auto request = dlms::decodeGetRequest((*frame)->apdu)) {
                    std::vector<dlms::AttributeDescriptor> attributes;
                    for (const dlms::AttributeRequest &item : request->items)
                        attributes.push_back(item.attribute);
                    asked->insert(request->invoke.invokeId, attributes);
                }
            }
        });
        connect(meter, &QTcpSocket::readyRead, client, [this, client, meter, fromMeter, asked] {
            fromMeter->feed(meter->readAll());
            while (auto frame = fromMeter->next()) {
                if (!*frame)
                    continue;
                QByteArray apdu = (*frame)->apdu;
                if (!apdu.isEmpty() && quint8(apdu.front()) == dlms::tag::GetResponse) {
                    auto response = dlms::decodeGetResponse(apdu);
                    if (response && response->kind != dlms::GetResponse::Kind::WithDatablock) {
                        const auto attributes = asked->value(response->invoke.invokeId);
                        for (size_t i = 0; i < attributes.size() && i < response->results.size(); ++i)
                            m_rewrite(attributes[i], response->results[i]);
                        apdu.clear();
                        dlms::encode(*response, apdu);
                    }
                }
                QByteArray out;
                (void)dlms::wrapper::encode((*frame)->sourcePort, (*frame)->destinationPort, apdu, out);
                client->write(out);
            }
        });
        connect(client, &QTcpSocket::disconnected, meter, [meter] { meter->disconnectFromHost(); });
        connect(meter, &QTcpSocket::disconnected, client, [client] { client->disconnectFromHost(); });
        connect(client, &QTcpSocket::disconnected, client, &QObject::deleteLater);
        meter->connectToHost(QHostAddress::LocalHost, m_meterPort);
    }

    QTcpServer m_server;
    quint16 m_meterPort;
    Rewrite m_rewrite;
};

bool isAttribute(const dlms::AttributeDescriptor &attribute, const char *obis, qint8 id)
{
    return attribute.instance == *dlms::Obis::parse(QString::fromLatin1(obis)) && attribute.attributeId == id;
}

quint16 closedPort()
{
    QTcpServer server;
    if (!server.listen(QHostAddress::LocalHost, 0))
        return 0;
    return server.serverPort(); // closed again when server goes
}

} // namespace

class tst_CommissioningRun : public QObject {
    Q_OBJECT

private:
    testsupport::MosquittoBroker m_broker;

    app::MqttSettings brokerSettings(mqtt::Mode mode) const
    {
        app::MqttSettings mqtt;
        mqtt.enabled = true;
        mqtt.format.mode = mode;
        mqtt.format.topicTemplate = u"meters/{id}/telemetry"_s;
        mqtt.client.port = m_broker.port();
        mqtt.client.clientId = u"tst-commissioning"_s;
        mqtt.client.connectTimeoutMs = 2000;
        if (mode != mqtt::Mode::Device)
            mqtt.client.username = kGatewayToken;
        return mqtt;
    }

private slots:
    void initTestCase()
    {
        QStandardPaths::setTestModeEnabled(true);
        QVERIFY2(m_broker.start(), qPrintable(m_broker.errorString()));
    }

    void healthyMeter()
    {
        auto simulator = startSimulator();
        QVERIFY(simulator);
        Subscriber subscriber(m_broker.port(), "v1/gateway/connect");
        QVERIFY(subscriber.waitReady());

        app::CommissioningOptions options = optionsFor({meterFor(simulator->port(0), u"m1"_s)});
        options.mqtt = brokerSettings(mqtt::Mode::Gateway);
        options.settings.baselinePolls = 3;
        Run run(options);
        QVERIFY(run.exec());
        QCOMPARE(run.finished.count(), 1);
        QCOMPARE(run.finished.at(0).at(0).toBool(), false);
        QVERIFY(!run.run.isRunning());
        QCOMPARE(run.run.metersDone(), 1);
        QCOMPARE(run.meters.count(), 1);

        const MeterReport report = run.report();
        QStringList expected {u"tcp"_s, u"association"_s, u"identity"_s, u"clock"_s};
        for (const polling::PollItem &polled : standardItems())
            expected << u"register:"_s + polled.key;
        expected << u"objects"_s << u"mqtt"_s << u"traffic-bytes"_s << u"traffic-rtt"_s;
        QCOMPARE(idsOf(report), expected);
        for (const CheckResult &check : report.checks)
            QVERIFY2(check.status == CheckStatus::Pass, qPrintable(describe(report)));

        // Signals carry the same results in the same order as the report.
        QCOMPARE(run.checks.count(), qsizetype(report.checks.size()));
        for (qsizetype i = 0; i < run.checks.count(); ++i) {
            QCOMPARE(run.checks.at(i).at(0).toString(), u"m1"_s);
            QCOMPARE(run.checks.at(i).at(1).value<CheckResult>(), report.checks[size_t(i)]);
        }
        QCOMPARE(run.meters.at(0).at(0).value<MeterReport>(), report);

        const sim::MeterModel &model = simulator->meter(0);
        QCOMPARE(report.serialNumber, model.serialNumber());
        QCOMPARE(report.logicalDeviceName, model.logicalDeviceName());
        QCOMPARE(report.firmwareVersion, model.firmwareVersion());
        QCOMPARE(report.endpoint, u"127.0.0.1:%1"_s.arg(simulator->port(0)));
        QVERIFY(report.find(u"association"_s)->measured.contains(u"LLS"_s));
        QVERIFY(report.find(u"association"_s)->measured.contains(u"PDU 1024"_s));
        // Connect and association times below the millisecond, not whole milliseconds shown as
        // "N.0 ms": both whole by chance is one in a million squared.
        int fractional = 0;
        for (const QString &id : {u"tcp"_s, u"association"_s}) {
            const CheckResult *timed = report.find(id);
            fractional += *timed->value != std::floor(*timed->value) ? 1 : 0;
            QCOMPARE(timed->unit, u"ms"_s);
        }
        QVERIFY2(fractional > 0, qPrintable(report.find(u"tcp"_s)->measured));
        QCOMPARE(report.find(u"tcp"_s)->measured, monitor::formatMs(*report.find(u"tcp"_s)->value));

        const CheckResult *voltage = report.find(u"register:voltage_l1"_s);
        QCOMPARE(voltage->unit, u"V"_s);
        QVERIFY(*voltage->value >= 207 && *voltage->value <= 253);
        QVERIFY2(voltage->explanation.contains(u"207–253 V (voltage)"_s), qPrintable(voltage->explanation));
        QCOMPARE(report.find(u"register:frequency"_s)->unit, u"Hz"_s);
        QVERIFY(qAbs(*report.find(u"register:frequency"_s)->value - 50) <= 0.5);
        QCOMPARE(report.find(u"register:energy_import"_s)->explanation, u"read; no plausibility range"_s);
        QCOMPARE(report.find(u"register:serial"_s)->measured, model.serialNumber());
        QVERIFY2(report.find(u"objects"_s)->measured.startsWith(u"7 of 7 configured objects"_s),
            qPrintable(report.find(u"objects"_s)->measured));
        QVERIFY(qAbs(*report.find(u"clock"_s)->value) <= 2);

        // The broker saw the gateway connect for this meter.
        QTRY_VERIFY_WITH_TIMEOUT(!subscriber.messages.empty(), kWaitMs);
        const QJsonObject connect = QJsonDocument::fromJson(subscriber.messages.front().second).object();
        QCOMPARE(connect.value(u"device"_s).toString(), u"Meter m1"_s);
        QVERIFY(report.find(u"mqtt"_s)->explanation.contains(u"gateway connect for Meter m1"_s));

        // Bytes per poll: exactly what the same poll costs on a connection of the test's own.
        polling::DlmsConnection connection(polling::connectionOptions(options.meters[0]));
        QSignalSpy associated(&connection, &polling::DlmsConnection::associated);
        connection.open();
        QVERIFY(associated.wait(kWaitMs));
        const polling::DlmsConnection::Counters before = connection.counters();
        std::vector<dlms::AttributeRequest> list;
        for (const polling::PollItem &polled : standardItems())
            list.push_back({{polled.classId, polled.obis, polled.attribute}, std::nullopt});
        QSignalSpy responses(&connection, &polling::DlmsConnection::responseReceived);
        connection.getList(std::move(list));
        QVERIFY(responses.wait(kWaitMs));
        const polling::DlmsConnection::Counters after = connection.counters();
        const double perPoll
            = double(after.bytesSent - before.bytesSent + after.bytesReceived - before.bytesReceived);
        const CheckResult *bytes = report.find(u"traffic-bytes"_s);
        QCOMPARE(*bytes->value, perPoll);
        QCOMPARE(bytes->unit, u"B"_s);
        QVERIFY2(bytes->measured.contains(u"3 polls"_s), qPrintable(bytes->measured));
        QVERIFY(*report.find(u"traffic-rtt"_s)->value > 0);

        QVERIFY(!allText(report).contains(QString::fromLatin1(kMeterPassword)));
        QVERIFY(!allText(report).contains(kGatewayToken));
    }

    void clockDrift_data()
    {
        QTest::addColumn<int>("offset");
        QTest::addColumn<CheckStatus>("expected");
        QTest::newRow("in-sync") << 0 << CheckStatus::Pass;
        QTest::newRow("thirty-seconds-ahead-warns") << 30 << CheckStatus::Warn;
        QTest::newRow("thirty-seconds-behind-warns") << -30 << CheckStatus::Warn;
        QTest::newRow("ten-minutes-ahead-fails") << 600 << CheckStatus::Fail;
    }

    void clockDrift()
    {
        QFETCH(int, offset);
        QFETCH(CheckStatus, expected);
        sim::MeterSettings settings;
        settings.clockOffsetSeconds = offset;
        settings.timeZoneMinutes = -60; // CET: the deviation is shown and used
        auto simulator = startSimulator(1, settings);
        QVERIFY(simulator);
        app::CommissioningOptions options = optionsFor({meterFor(simulator->port(0), u"m1"_s)});
        options.clockOnly = true;
        Run run(options);
        QVERIFY(run.exec());
        const MeterReport report = run.report();
        // A clock-only pass: nothing but the clock checks.
        QCOMPARE(idsOf(report), (QStringList {u"tcp"_s, u"association"_s, u"clock"_s}));
        const CheckResult *clock = report.find(u"clock"_s);
        QCOMPARE(clock->status, expected);
        QVERIFY2(qAbs(*clock->value - offset) <= 2, qPrintable(clock->measured));
        QCOMPARE(clock->unit, u"s"_s);
        QVERIFY2(clock->measured.contains(u"+01:00"_s), qPrintable(clock->measured));
        QVERIFY2(clock->measured.contains(u"DST off"_s), qPrintable(clock->measured));
        QVERIFY(clock->measured.startsWith(offset < 0 ? u"-"_s : u"+"_s));
        QCOMPARE(simulator->meter(0).now().toSecsSinceEpoch() / 10,
            (QDateTime::currentSecsSinceEpoch() + offset) / 10); // nothing was set
    }

    void clockSync()
    {
        sim::MeterSettings settings;
        settings.clockOffsetSeconds = 600;
        settings.timeZoneMinutes = -60;
        auto simulator = startSimulator(1, settings);
        QVERIFY(simulator);
        app::CommissioningOptions options = optionsFor({meterFor(simulator->port(0), u"m1"_s)});
        options.syncClock = true;
        options.clockOnly = true;
        Run run(options);
        QVERIFY(run.exec());
        const MeterReport report = run.report();
        QCOMPARE(idsOf(report), (QStringList {u"tcp"_s, u"association"_s, u"clock"_s, u"clock-sync"_s}));
        QCOMPARE(statusOf(report, u"clock"_s), CheckStatus::Fail);
        QVERIFY(qAbs(*report.find(u"clock"_s)->value - 600) <= 2);
        const CheckResult *sync = report.find(u"clock-sync"_s);
        QVERIFY2(sync->status == CheckStatus::Pass, qPrintable(describe(report)));
        QVERIFY2(sync->measured.contains(u"→"_s), qPrintable(sync->measured));
        QVERIFY(qAbs(*sync->value) <= 2);
        const qint64 drift
            = simulator->meter(0).now().toMSecsSinceEpoch() - QDateTime::currentMSecsSinceEpoch();
        QVERIFY2(qAbs(drift) <= 2000, qPrintable(QString::number(drift)));
    }

    void clockSyncNotNeeded()
    {
        auto simulator = startSimulator();
        QVERIFY(simulator);
        app::CommissioningOptions options = optionsFor({meterFor(simulator->port(0), u"m1"_s)});
        options.syncClock = true;
        options.clockOnly = true;
        Run run(options);
        QVERIFY(run.exec());
        // Within clockWarnSeconds: no SET, no clock-sync check.
        QCOMPARE(idsOf(run.report()), (QStringList {u"tcp"_s, u"association"_s, u"clock"_s}));
    }

    void clockSyncRefused()
    {
        sim::MeterSettings settings;
        settings.clockOffsetSeconds = 600;
        auto simulator = startSimulator(1, settings);
        QVERIFY(simulator);
        // No authentication: the simulator allows the clock SET only with LLS.
        app::CommissioningOptions options = optionsFor({meterFor(simulator->port(0), u"m1"_s, false)});
        options.syncClock = true;
        Run run(options);
        QVERIFY(run.exec());
        const MeterReport report = run.report();
        const CheckResult *sync = report.find(u"clock-sync"_s);
        QVERIFY2(sync, qPrintable(describe(report)));
        QCOMPARE(sync->status, CheckStatus::Fail);
        QVERIFY2(sync->explanation.startsWith(u"read-write-denied: the meter refuses the clock SET"_s),
            qPrintable(sync->explanation));
        // The run goes on after the refusal.
        QCOMPARE(statusOf(report, u"objects"_s), CheckStatus::Pass);
        QVERIFY(qAbs(simulator->meter(0).now().toSecsSinceEpoch() - QDateTime::currentSecsSinceEpoch() - 600)
            <= 2);
    }

    void silentMeterTimesOutAtAssociation()
    {
        sim::MeterSettings settings;
        settings.faults.silent = true;
        auto simulator = startSimulator(1, settings);
        QVERIFY(simulator);
        polling::MeterConfig meter = meterFor(simulator->port(0), u"m1"_s);
        meter.connectTimeoutMs = 400;
        Run run(optionsFor({meter}));
        QElapsedTimer timer;
        timer.start();
        QVERIFY(run.exec());
        QVERIFY(timer.elapsed() < 5000);
        const MeterReport report = run.report();
        QCOMPARE(statusOf(report, u"tcp"_s), CheckStatus::Pass);
        QCOMPARE(statusOf(report, u"association"_s), CheckStatus::Fail);
        QVERIFY(!report.find(u"association"_s)->explanation.isEmpty());
        for (const QString &id : {u"identity"_s, u"clock"_s, u"register:voltage_l1"_s, u"objects"_s,
                 u"traffic-bytes"_s, u"traffic-rtt"_s}) {
            QCOMPARE(statusOf(report, id), CheckStatus::Skipped);
            QVERIFY2(
                report.find(id)->explanation.startsWith(u"not reached: "_s), qPrintable(describe(report)));
        }
        QCOMPARE(statusOf(report, u"mqtt"_s), CheckStatus::Skipped);
        QCOMPARE(report.find(u"mqtt"_s)->explanation, u"MQTT publishing is off"_s);
    }

    void slowMeterTimesOutAtIdentity()
    {
        auto simulator = startSimulator();
        QVERIFY(simulator);
        polling::MeterConfig meter = meterFor(simulator->port(0), u"m1"_s);
        meter.requestTimeoutMs = 300;
        Run run(optionsFor({meter}));
        // Once associated, every answer comes later than the request timeout.
        QObject::connect(&run.run, &app::CommissioningRun::checkFinished, &run.run,
            [&](const QString &, const CheckResult &result) {
                if (result.check == u"association"_s) {
                    sim::FaultConfig faults;
                    faults.latencyMs = 1000;
                    simulator->setFaults(0, faults);
                }
            });
        QVERIFY(run.exec());
        const MeterReport report = run.report();
        QCOMPARE(statusOf(report, u"association"_s), CheckStatus::Pass);
        QVERIFY2(statusOf(report, u"identity"_s) == CheckStatus::Fail, qPrintable(describe(report)));
        QCOMPARE(statusOf(report, u"clock"_s), CheckStatus::Skipped);
        QCOMPARE(report.find(u"clock"_s)->explanation,
            u"not reached: %1"_s.arg(commissioning::checkTitle(u"identity")));
        QCOMPARE(statusOf(report, u"traffic-rtt"_s), CheckStatus::Skipped);
    }

    // The meter stops answering in time (or drops the connection) in the middle of the run:
    // exactly the check whose request was out fails, everything after it is not reached, and
    // no check is reported twice.
    void connectionLostMidRun_data()
    {
        QTest::addColumn<QString>("after");
        QTest::addColumn<bool>("drop");
        QTest::addColumn<QString>("failing");
        // The first request after a register is its scaler_unit read (voltages); serial is
        // read unscaled; the clock, the object list and the baseline have results of their own.
        QTest::newRow("timeout-reading-clock") << u"identity"_s << false << u"clock"_s;
        QTest::newRow("timeout-after-clock") << u"clock"_s << false << u"register:voltage_l1"_s;
        QTest::newRow("timeout-after-first-register")
            << u"register:voltage_l1"_s << false << u"register:voltage_l2"_s;
        QTest::newRow("timeout-reading-unscaled-register")
            << u"register:energy_import"_s << false << u"register:serial"_s;
        QTest::newRow("timeout-reading-object-list") << u"register:serial"_s << false << u"objects"_s;
        QTest::newRow("timeout-in-baseline") << u"objects"_s << false << u"traffic-bytes"_s;
        QTest::newRow("drop-reading-clock") << u"identity"_s << true << u"clock"_s;
        QTest::newRow("drop-after-clock") << u"clock"_s << true << u"register:voltage_l1"_s;
        QTest::newRow("drop-after-first-register")
            << u"register:voltage_l1"_s << true << u"register:voltage_l2"_s;
        QTest::newRow("drop-reading-unscaled-register")
            << u"register:energy_import"_s << true << u"register:serial"_s;
        QTest::newRow("drop-reading-object-list") << u"register:serial"_s << true << u"objects"_s;
    }

    void connectionLostMidRun()
    {
        QFETCH(QString, after);
        QFETCH(bool, drop);
        QFETCH(QString, failing);
        auto simulator = startSimulator();
        QVERIFY(simulator);
        polling::MeterConfig meter = meterFor(simulator->port(0), u"m1"_s);
        meter.requestTimeoutMs = 300;
        Run run(optionsFor({meter}));
        QObject::connect(&run.run, &app::CommissioningRun::checkFinished, &run.run,
            [&](const QString &, const CheckResult &result) {
                if (result.check != after)
                    return;
                sim::FaultConfig faults;
                if (drop)
                    faults.dropMidFrame = true;
                else
                    faults.latencyMs = 1000;
                simulator->setFaults(0, faults);
            });
        QVERIFY(run.exec());
        const MeterReport report = run.report();

        QStringList expected {u"tcp"_s, u"association"_s, u"identity"_s, u"clock"_s};
        for (const polling::PollItem &polled : standardItems())
            expected << u"register:"_s + polled.key;
        expected << u"objects"_s << u"mqtt"_s << u"traffic-bytes"_s << u"traffic-rtt"_s;
        QVERIFY2(idsOf(report) == expected, qPrintable(describe(report)));
        QCOMPARE(run.checks.count(), qsizetype(report.checks.size()));

        const QString notReached = u"not reached: %1"_s.arg(commissioning::checkTitle(failing));
        bool reached = false;
        for (const CheckResult &check : report.checks) {
            if (check.check == u"mqtt"_s)
                continue; // publishing off: Skipped for its own reason
            if (check.check == failing) {
                reached = true;
                QVERIFY2(check.status == CheckStatus::Fail, qPrintable(describe(report)));
                QVERIFY2(check.explanation.contains(drop ? u"lost"_s : u"timed out after 300 ms"_s),
                    qPrintable(check.explanation));
            } else if (!reached) {
                QVERIFY2(check.status == CheckStatus::Pass, qPrintable(describe(report)));
            } else {
                QVERIFY2(check.status == CheckStatus::Skipped, qPrintable(describe(report)));
                QCOMPARE(check.explanation, notReached);
            }
        }
        QVERIFY(reached);
        QTRY_COMPARE(simulator->connectionCount(), 0);
    }

    // Requests the meter refuses (exception-response) are no round trips to average.
    void baselineWithoutAnswersFailsRtt()
    {
        auto simulator = startSimulator();
        QVERIFY(simulator);
        Run run(optionsFor({meterFor(simulator->port(0), u"m1"_s)}));
        QObject::connect(&run.run, &app::CommissioningRun::checkFinished, &run.run,
            [&](const QString &, const CheckResult &result) {
                if (result.check == u"objects"_s) {
                    sim::FaultConfig faults;
                    faults.exceptionResponses = true;
                    simulator->setFaults(0, faults);
                }
            });
        QVERIFY(run.exec());
        const MeterReport report = run.report();
        QVERIFY2(statusOf(report, u"objects"_s) == CheckStatus::Pass, qPrintable(describe(report)));
        QCOMPARE(statusOf(report, u"traffic-bytes"_s), CheckStatus::Warn);
        const CheckResult *rtt = report.find(u"traffic-rtt"_s);
        QVERIFY2(rtt->status == CheckStatus::Fail, qPrintable(describe(report)));
        QCOMPARE(rtt->explanation, u"no request answered"_s);
        QVERIFY2(rtt->measured.startsWith(u"none of "_s), qPrintable(rtt->measured));
        QVERIFY(!rtt->value);
    }

    void nonNumericValueWithRangeWarns()
    {
        auto simulator = startSimulator();
        QVERIFY(simulator);
        app::CommissioningOptions options = optionsFor({meterFor(simulator->port(0), u"m1"_s)});
        options.settings.ranges = {app::PlausibilityRange {u"serial"_s, u"serial"_s, 1, 2, 0, 3, false}};
        Run run(options);
        QVERIFY(run.exec());
        const MeterReport report = run.report();
        const CheckResult *serial = report.find(u"register:serial"_s);
        QVERIFY(serial);
        QCOMPARE(serial->status, CheckStatus::Warn);
        QCOMPARE(serial->explanation, u"not a number: cannot check against 1–2 (serial)"_s);
        QCOMPARE(serial->measured, simulator->meter(0).serialNumber());
        QVERIFY(!serial->value);
    }

    // Answers the simulator never gives, put in by a proxy.
    void unusualAnswers_data()
    {
        QTest::addColumn<QString>("answer");
        QTest::newRow("nan-register-cannot-scale") << u"nan"_s;
        QTest::newRow("scaled-past-infinity-cannot-scale") << u"overflow"_s;
        QTest::newRow("firmware-unreadable-identity-warns") << u"no-firmware"_s;
        QTest::newRow("long-serial-capped") << u"long-serial"_s;
    }

    void unusualAnswers()
    {
        QFETCH(QString, answer);
        auto simulator = startSimulator();
        QVERIFY(simulator);
        const QByteArray longSerial(5000, 'S');
        RewritingProxy proxy(
            simulator->port(0), [&](const dlms::AttributeDescriptor &attribute, dlms::DataResult &result) {
                if (answer == u"nan"_s && isAttribute(attribute, "1.0.32.7.0.255", 2))
                    result.value = dlms::Value::float64(std::numeric_limits<double>::quiet_NaN());
                if (answer == u"overflow"_s && isAttribute(attribute, "1.0.32.7.0.255", 2))
                    result.value = dlms::Value::float64(1e300);
                if (answer == u"overflow"_s && isAttribute(attribute, "1.0.32.7.0.255", 3))
                    result.value = dlms::ScalerUnit {100, 35}.toValue();
                if (answer == u"no-firmware"_s && isAttribute(attribute, "1.0.0.2.0.255", 2))
                    result = {dlms::DataAccessResult::ObjectUndefined, {}};
                if (answer == u"long-serial"_s && isAttribute(attribute, "0.0.96.1.0.255", 2))
                    result.value = dlms::Value::visibleString(longSerial);
            });
        QVERIFY(proxy.port() != 0);
        Run run(optionsFor({meterFor(proxy.port(), u"m1"_s)}));
        QVERIFY(run.exec());
        const MeterReport report = run.report();
        QVERIFY2(statusOf(report, u"association"_s) == CheckStatus::Pass, qPrintable(describe(report)));

        if (answer == u"nan"_s || answer == u"overflow"_s) {
            const CheckResult *voltage = report.find(u"register:voltage_l1"_s);
            QVERIFY2(voltage->status == CheckStatus::Fail, qPrintable(describe(report)));
            QVERIFY2(voltage->explanation.startsWith(u"cannot scale: "_s), qPrintable(voltage->explanation));
            QVERIFY(!voltage->value);
            // The run goes on.
            QCOMPARE(statusOf(report, u"register:voltage_l2"_s), CheckStatus::Pass);
        } else if (answer == u"no-firmware"_s) {
            const CheckResult *identity = report.find(u"identity"_s);
            QVERIFY2(identity->status == CheckStatus::Warn, qPrintable(describe(report)));
            QCOMPARE(identity->explanation, u"could not be read: firmware version (object-undefined)"_s);
            QCOMPARE(report.serialNumber, simulator->meter(0).serialNumber());
            QVERIFY(report.firmwareVersion.isEmpty());
        } else {
            QCOMPARE(report.serialNumber.size(), 256);
            QVERIFY(report.serialNumber.endsWith(QChar(0x2026)));
            QVERIFY(report.serialNumber.startsWith(u"SSSS"_s));
            const CheckResult *serial = report.find(u"register:serial"_s);
            QCOMPARE(serial->measured, report.serialNumber);
            QVERIFY(report.find(u"identity"_s)->measured.size() < 600);
        }
    }

    void identityTextIsCapped_data()
    {
        QTest::addColumn<dlms::Value>("value");
        QTest::addColumn<QString>("expected");
        QTest::newRow("short-string-kept") << dlms::Value::visibleString("ABC123 ") << u"ABC123"_s;
        QTest::newRow("exactly-256-kept")
            << dlms::Value::visibleString(QByteArray(256, 'x')) << QString(256, u'x');
        QTest::newRow("257-cut") << dlms::Value::visibleString(QByteArray(257, 'x'))
                                 << QString(255, u'x') + QChar(0x2026);
        QTest::newRow("binary-octets-cut")
            << dlms::Value::octetString(QByteArray(1000, '\x01'))
            << QString::fromLatin1(QByteArray(85, '\x01').toHex(' ')) + u" "_s + QChar(0x2026);
        // 255th and 256th characters a surrogate pair: the pair goes whole.
        QTest::newRow("surrogate-pair-not-split")
            << dlms::Value::utf8String(QString(254, u'y') + u"\U0001F600\U0001F600"_s)
            << QString(254, u'y') + QChar(0x2026);
    }

    void identityTextIsCapped()
    {
        QFETCH(dlms::Value, value);
        QFETCH(QString, expected);
        const QString text = app::identity::text(value);
        QCOMPARE(text, expected);
        QVERIFY(text.size() <= app::identity::kMaxTextLength);
    }

    void commissioningOptionsFromConfig_data()
    {
        QTest::addColumn<QStringList>("ids");
        QTest::addColumn<QStringList>("expected");
        QTest::newRow("all-in-file-order") << QStringList {} << QStringList {u"a"_s, u"b"_s, u"c"_s};
        QTest::newRow("selection-in-given-order")
            << QStringList {u"c"_s, u"a"_s} << QStringList {u"c"_s, u"a"_s};
        QTest::newRow("unknown-left-out") << QStringList {u"x"_s, u"b"_s} << QStringList {u"b"_s};
    }

    void commissioningOptionsFromConfig()
    {
        QFETCH(QStringList, ids);
        QFETCH(QStringList, expected);
        app::BridgeConfig config;
        for (const QString &id : {u"a"_s, u"b"_s, u"c"_s}) {
            config.site.meters.push_back(meterFor(4059, id));
            config.publishing.insert(id, app::MeterPublishing {u"token-"_s + id, {}, {}});
        }
        config.mqtt.format.mode = mqtt::Mode::Device;
        config.commissioning.baselinePolls = 7;
        const app::CommissioningOptions options = app::commissioningOptions(config, ids);
        QStringList got;
        for (const polling::MeterConfig &meter : options.meters)
            got << meter.id;
        QCOMPARE(got, expected);
        QStringList published = options.publishing.keys();
        published.sort();
        QStringList wanted = expected;
        wanted.sort();
        QCOMPARE(published, wanted); // only the selected meters' tokens
        QCOMPARE(options.mqtt, config.mqtt);
        QCOMPARE(options.settings.baselinePolls, 7);
        QVERIFY(!options.syncClock);
        QVERIFY(!options.clockOnly);
    }

    void garbageMakesTheBaselineWarn()
    {
        auto simulator = startSimulator();
        QVERIFY(simulator);
        Run run(optionsFor({meterFor(simulator->port(0), u"m1"_s)}));
        QObject::connect(&run.run, &app::CommissioningRun::checkFinished, &run.run,
            [&](const QString &, const CheckResult &result) {
                if (result.check == u"objects"_s) {
                    sim::FaultConfig faults;
                    faults.garbageBytes = 7;
                    simulator->setFaults(0, faults);
                }
            });
        QVERIFY(run.exec());
        const MeterReport report = run.report();
        QVERIFY2(statusOf(report, u"objects"_s) == CheckStatus::Pass, qPrintable(describe(report)));
        const CheckResult *bytes = report.find(u"traffic-bytes"_s);
        QVERIFY2(bytes->status == CheckStatus::Warn, qPrintable(describe(report)));
        QVERIFY2(bytes->explanation.contains(u"protocol errors"_s), qPrintable(bytes->explanation));
    }

    void closedPortFailsTcp()
    {
        const quint16 port = closedPort();
        QVERIFY(port != 0);
        app::CommissioningOptions options = optionsFor({meterFor(port, u"m1"_s)});
        options.mqtt = brokerSettings(mqtt::Mode::Gateway);
        Run run(options);
        QVERIFY(run.exec());
        const MeterReport report = run.report();
        QCOMPARE(statusOf(report, u"tcp"_s), CheckStatus::Fail);
        QVERIFY(!report.find(u"tcp"_s)->explanation.isEmpty());
        QCOMPARE(statusOf(report, u"association"_s), CheckStatus::Skipped);
        QCOMPARE(report.find(u"association"_s)->explanation,
            u"not reached: %1"_s.arg(commissioning::checkTitle(u"tcp")));
        QCOMPARE(statusOf(report, u"traffic-bytes"_s), CheckStatus::Skipped);
        // MQTT does not need the meter.
        QVERIFY2(statusOf(report, u"mqtt"_s) == CheckStatus::Pass, qPrintable(describe(report)));
        QCOMPARE(report.overall(), CheckStatus::Fail);
    }

    void associationRefused_data()
    {
        QTest::addColumn<bool>("reject");
        QTest::addColumn<QByteArray>("password");
        QTest::addColumn<QString>("diagnostic");
        QTest::newRow("rejected-association") << true << kMeterPassword << u"rejected-permanent"_s;
        QTest::newRow("wrong-password")
            << false << QByteArrayLiteral("wr0ng-pass") << u"authentication-failure"_s;
    }

    void associationRefused()
    {
        QFETCH(bool, reject);
        QFETCH(QByteArray, password);
        QFETCH(QString, diagnostic);
        sim::MeterSettings settings;
        settings.faults.rejectAssociation = reject;
        auto simulator = startSimulator(1, settings);
        QVERIFY(simulator);
        polling::MeterConfig meter = meterFor(simulator->port(0), u"m1"_s);
        meter.password = password;
        Run run(optionsFor({meter}));
        QVERIFY(run.exec());
        const MeterReport report = run.report();
        const CheckResult *association = report.find(u"association"_s);
        QCOMPARE(association->status, CheckStatus::Fail);
        QVERIFY2(association->explanation.contains(diagnostic), qPrintable(association->explanation));
        QVERIFY(association->measured.contains(diagnostic));
        QCOMPARE(statusOf(report, u"identity"_s), CheckStatus::Skipped);
        QVERIFY(!allText(report).contains(QString::fromLatin1(password)));
    }

    void plausibilityRangesAndMissingObjects()
    {
        auto simulator = startSimulator();
        QVERIFY(simulator);
        polling::MeterConfig meter = meterFor(simulator->port(0), u"m1"_s);
        meter.items.push_back(item(u"missing_reg"_s, "1.0.99.97.0.255"));
        meter.items.push_back(item(u"wrong_class"_s, "1.0.31.7.0.255", 4));
        app::CommissioningOptions options = optionsFor({meter});
        // voltage_l1 ≈ 230 V: outside 300–400, inside the warn band; voltage_l2 outside both.
        options.settings.ranges = {
            app::PlausibilityRange {u"voltage_l1"_s, u"tight"_s, 300, 400, 100, 500, false},
            app::PlausibilityRange {u"voltage_l2"_s, QString(), 300, 400, 300, 400, false},
        };
        Run run(options);
        QVERIFY(run.exec());
        const MeterReport report = run.report();
        const CheckResult *l1 = report.find(u"register:voltage_l1"_s);
        QCOMPARE(l1->status, CheckStatus::Warn);
        QVERIFY2(l1->explanation.contains(u"300–400 V (tight)"_s), qPrintable(l1->explanation));
        const CheckResult *l2 = report.find(u"register:voltage_l2"_s);
        QCOMPARE(l2->status, CheckStatus::Fail);
        QCOMPARE(l2->explanation, u"outside 300–400 V"_s);
        QCOMPARE(statusOf(report, u"register:voltage_l3"_s), CheckStatus::Pass); // built-in range
        const CheckResult *missing = report.find(u"register:missing_reg"_s);
        QCOMPARE(missing->status, CheckStatus::Fail);
        QVERIFY2(missing->explanation.contains(u"object-undefined"_s), qPrintable(missing->explanation));
        const CheckResult *wrongClass = report.find(u"register:wrong_class"_s);
        QCOMPARE(wrongClass->status, CheckStatus::Fail);
        QVERIFY2(wrongClass->explanation.contains(u"object-class-inconsistent"_s),
            qPrintable(wrongClass->explanation));

        const CheckResult *objects = report.find(u"objects"_s);
        QCOMPARE(objects->status, CheckStatus::Fail);
        QVERIFY2(objects->explanation.contains(u"missing: missing_reg (1.0.99.97.0.255)"_s),
            qPrintable(objects->explanation));
        QVERIFY2(objects->explanation.contains(u"wrong_class: class 3 in the list, 4 configured"_s),
            qPrintable(objects->explanation));
        QVERIFY(objects->measured.startsWith(u"8 of 9 configured objects"_s));
        // The baseline reads what is configured: the missing objects make it warn.
        QCOMPARE(statusOf(report, u"traffic-bytes"_s), CheckStatus::Warn);
    }

    void mqttModes_data()
    {
        QTest::addColumn<mqtt::Mode>("mode");
        QTest::addColumn<QByteArray>("topic");
        QTest::newRow("gateway") << mqtt::Mode::Gateway << QByteArray("v1/gateway/connect");
        QTest::newRow("device") << mqtt::Mode::Device << QByteArray("v1/devices/me/attributes");
        QTest::newRow("plain") << mqtt::Mode::Plain << QByteArray("meters/m1/telemetry/commissioning");
    }

    void mqttModes()
    {
        QFETCH(mqtt::Mode, mode);
        QFETCH(QByteArray, topic);
        Subscriber subscriber(m_broker.port(), topic);
        QVERIFY(subscriber.waitReady());
        // A meter that is not there: the MQTT check runs all the same.
        app::CommissioningOptions options = optionsFor({meterFor(closedPort(), u"m1"_s)});
        options.mqtt = brokerSettings(mode);
        options.publishing.insert(u"m1"_s, app::MeterPublishing {kDeviceToken, {}, {}});
        Run run(options);
        QVERIFY(run.exec());
        const MeterReport report = run.report();
        const CheckResult *check = report.find(u"mqtt"_s);
        QVERIFY2(check->status == CheckStatus::Pass, qPrintable(describe(report)));
        QCOMPARE(check->unit, u"ms"_s);
        QVERIFY(check->value && *check->value >= 0);
        QTRY_VERIFY_WITH_TIMEOUT(!subscriber.messages.empty(), kWaitMs);
        QCOMPARE(subscriber.messages.front().first, topic);
        const QJsonObject payload = QJsonDocument::fromJson(subscriber.messages.front().second).object();
        QVERIFY(!payload.isEmpty());
        if (mode == mqtt::Mode::Device)
            QVERIFY(QDateTime::fromString(payload.value(u"commissioning"_s).toString(), Qt::ISODateWithMs)
                        .isValid());
        QVERIFY(!allText(report).contains(kDeviceToken));
        QVERIFY(!allText(report).contains(kGatewayToken));
    }

    void mqttDeviceModeWithoutToken()
    {
        app::CommissioningOptions options = optionsFor({meterFor(closedPort(), u"m1"_s)});
        options.mqtt = brokerSettings(mqtt::Mode::Device);
        Run run(options);
        QVERIFY(run.exec());
        QCOMPARE(statusOf(run.report(), u"mqtt"_s), CheckStatus::Fail);
    }

    void mqttBrokerDown()
    {
        app::CommissioningOptions options = optionsFor({meterFor(closedPort(), u"m1"_s)});
        options.mqtt = brokerSettings(mqtt::Mode::Gateway);
        options.mqtt.client.port = closedPort();
        Run run(options);
        QElapsedTimer timer;
        timer.start();
        QVERIFY(run.exec());
        // Bounded by the client's connect timeout plus the meter's request timeout.
        QVERIFY(timer.elapsed()
            < options.mqtt.client.connectTimeoutMs + options.meters[0].requestTimeoutMs + 1000);
        const MeterReport report = run.report();
        const CheckResult *check = report.find(u"mqtt"_s);
        QCOMPARE(check->status, CheckStatus::Fail);
        QVERIFY(!check->explanation.isEmpty());
    }

    void parallelMetersInOrder()
    {
        auto simulator = startSimulator(5);
        QVERIFY(simulator);
        std::vector<polling::MeterConfig> meters;
        for (int i = 0; i < 5; ++i)
            meters.push_back(meterFor(simulator->port(i), u"m%1"_s.arg(i)));
        app::CommissioningOptions options = optionsFor(meters);
        options.settings.parallelMeters = 2;
        options.settings.baselinePolls = 1;
        Run run(options);
        int active = 0;
        int maxActive = 0;
        int maxConnections = 0;
        QObject::connect(&run.run, &app::CommissioningRun::meterStarted, &run.run, [&] {
            maxActive = std::max(maxActive, ++active);
            maxConnections = std::max(maxConnections, simulator->connectionCount());
        });
        QObject::connect(&run.run, &app::CommissioningRun::meterFinished, &run.run, [&] { --active; });
        QObject::connect(simulator.get(), &sim::Simulator::connectionOpened, &run.run,
            [&] { maxConnections = std::max(maxConnections, simulator->connectionCount()); });
        QSignalSpy progress(&run.run, &app::CommissioningRun::progress);
        QVERIFY(run.exec());
        QCOMPARE(maxActive, 2);
        QVERIFY2(maxConnections <= 2, qPrintable(QString::number(maxConnections)));
        const auto reports = run.run.reports();
        QCOMPARE(reports.size(), size_t(5));
        for (int i = 0; i < 5; ++i) {
            QCOMPARE(reports[size_t(i)].meterId, u"m%1"_s.arg(i));
            QCOMPARE(reports[size_t(i)].serialNumber, simulator->meter(i).serialNumber());
        }
        QCOMPARE(progress.count(), 5);
        QCOMPARE(progress.last().at(0).toInt(), 5);
        QCOMPARE(progress.last().at(1).toInt(), 5);
        QTRY_COMPARE(simulator->connectionCount(), 0);
    }

    void cancelMidRun()
    {
        auto simulator = startSimulator(3);
        QVERIFY(simulator);
        std::vector<polling::MeterConfig> meters;
        for (int i = 0; i < 3; ++i)
            meters.push_back(meterFor(simulator->port(i), u"m%1"_s.arg(i)));
        app::CommissioningOptions options = optionsFor(meters);
        options.settings.parallelMeters = 1;
        Run run(options);
        QObject::connect(&run.run, &app::CommissioningRun::checkFinished, &run.run,
            [&](const QString &meterId, const CheckResult &result) {
                if (meterId == u"m1"_s && result.check == u"clock"_s)
                    run.run.cancel();
            });
        QVERIFY(run.exec());
        QCOMPARE(run.finished.at(0).at(0).toBool(), true);
        QVERIFY(!run.run.isRunning());
        const auto reports = run.run.reports();
        QCOMPARE(reports.size(), size_t(2)); // m2 never started
        QCOMPARE(reports[0].meterId, u"m0"_s);
        QCOMPARE(statusOf(reports[0], u"traffic-rtt"_s), CheckStatus::Pass);
        const MeterReport &cut = reports[1];
        QCOMPARE(cut.meterId, u"m1"_s);
        QCOMPARE(statusOf(cut, u"clock"_s), CheckStatus::Pass);
        for (const QString &id :
            {u"register:voltage_l1"_s, u"objects"_s, u"traffic-bytes"_s, u"traffic-rtt"_s}) {
            QCOMPARE(statusOf(cut, id), CheckStatus::Skipped);
            QCOMPARE(cut.find(id)->explanation, u"cancelled"_s);
        }
        // The MQTT check was made (publishing off) before the cancel: kept as it was.
        QCOMPARE(cut.find(u"mqtt"_s)->explanation, u"MQTT publishing is off"_s);
        QCOMPARE(idsOf(cut), idsOf(reports[0]));
        QCOMPARE(run.meters.count(), 2);
        // finished() came once, and nothing follows.
        QVERIFY(!run.finished.wait(50));
        QCOMPARE(run.finished.count(), 1);
        QTRY_COMPARE(simulator->connectionCount(), 0);
    }

    void noMeters()
    {
        Run run(optionsFor({}));
        QVERIFY(run.exec());
        QCOMPARE(run.finished.at(0).at(0).toBool(), false);
        QVERIFY(run.run.reports().empty());
        QCOMPARE(run.run.metersTotal(), 0);
    }

    void deletedMidRunEmitsNothing()
    {
        auto simulator = startSimulator();
        QVERIFY(simulator);
        auto run
            = std::make_unique<app::CommissioningRun>(optionsFor({meterFor(simulator->port(0), u"m1"_s)}));
        QSignalSpy finished(run.get(), &app::CommissioningRun::finished);
        QSignalSpy association(run.get(), &app::CommissioningRun::checkFinished);
        run->start();
        QVERIFY(association.wait(kWaitMs));
        run.reset();
        QTRY_COMPARE(simulator->connectionCount(), 0);
        QCOMPARE(finished.count(), 0);
    }
};

QTEST_GUILESS_MAIN(tst_CommissioningRun)
#include "tst_commissioningrun.moc"
