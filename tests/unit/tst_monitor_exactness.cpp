#include "pollscheduler.h"
#include "simulator.h"
#include "trafficmonitor.h"

#include <QtNetwork/QTcpServer>
#include <QtNetwork/QTcpSocket>
#include <QtTest/QSignalSpy>
#include <QtTest/QTest>

#include <array>
#include <map>
#include <memory>

using namespace Qt::StringLiterals;
using monitor::MeterStats;
using monitor::TrafficMonitor;
using polling::MeterConfig;
using polling::PollScheduler;

namespace {

// Generous bounds for what normally takes a fraction of a second: only a hang reaches them.
constexpr int kWaitMs = 15000;

// A TCP relay between the polling engine and one simulated meter that counts the bytes crossing
// it on the client side, summed over every connection: what the meter's socket really carried.
class CountingProxy : public QObject {
public:
    explicit CountingProxy(quint16 target) : m_target(target)
    {
        connect(&m_server, &QTcpServer::newConnection, this, &CountingProxy::accept);
        m_server.listen(QHostAddress::LocalHost, 0);
    }
    quint16 port() const { return m_server.serverPort(); }
    bool idle() const { return accepted == finished; }

    quint64 fromClient = 0; // received from the engine
    quint64 toClient = 0; // written to the engine
    int accepted = 0;
    int finished = 0;

private:
    struct Link {
        QTcpSocket *client = nullptr;
        QTcpSocket *meter = nullptr;
        QByteArray pending; // from the client before the meter side connected
        bool clientGone = false;
        bool meterGone = false;
        bool done = false;
    };

    void fromClientSide(Link &link)
    {
        const QByteArray data = link.client->readAll();
        fromClient += quint64(data.size());
        if (link.meter->state() == QAbstractSocket::ConnectedState)
            link.meter->write(data);
        else
            link.pending.append(data);
    }

    void fromMeterSide(Link &link)
    {
        const QByteArray data = link.meter->readAll();
        if (data.isEmpty() || link.client->state() != QAbstractSocket::ConnectedState)
            return;
        const qint64 written = link.client->write(data);
        if (written > 0)
            toClient += quint64(written);
    }

    void checkDone(const std::shared_ptr<Link> &link)
    {
        if (link->done || !link->clientGone || !link->meterGone)
            return;
        link->done = true;
        ++finished;
        link->client->deleteLater();
        link->meter->deleteLater();
    }

    void accept()
    {
        while (QTcpSocket *client = m_server.nextPendingConnection()) {
            ++accepted;
            auto link = std::make_shared<Link>();
            link->client = client;
            link->meter = new QTcpSocket(this);
            QTcpSocket *meter = link->meter;
            connect(client, &QTcpSocket::readyRead, this, [this, link] { fromClientSide(*link); });
            connect(meter, &QTcpSocket::readyRead, this, [this, link] { fromMeterSide(*link); });
            connect(meter, &QTcpSocket::connected, this, [link] {
                link->meter->write(std::exchange(link->pending, {}));
                if (link->clientGone)
                    link->meter->disconnectFromHost();
            });
            connect(client, &QTcpSocket::disconnected, this, [this, link] {
                fromClientSide(*link);
                link->clientGone = true;
                if (link->meter->state() == QAbstractSocket::ConnectedState) {
                    link->meter->disconnectFromHost();
                } else if (!link->meterGone && link->meter->state() != QAbstractSocket::ClosingState) {
                    link->meter->abort();
                    link->meterGone = true;
                }
                checkDone(link);
            });
            connect(meter, &QTcpSocket::disconnected, this, [this, link] {
                // What the meter wrote before closing still reaches the client (a cut frame).
                fromMeterSide(*link);
                link->meterGone = true;
                if (link->client->state() == QAbstractSocket::ConnectedState)
                    link->client->disconnectFromHost();
                checkDone(link);
            });
            connect(meter, &QTcpSocket::errorOccurred, this, [this, link](QAbstractSocket::SocketError) {
                if (link->meter->state() != QAbstractSocket::UnconnectedState || link->meterGone)
                    return;
                // Never connected (a connected socket reports its end through disconnected).
                link->meterGone = true;
                if (link->client->state() == QAbstractSocket::ConnectedState)
                    link->client->disconnectFromHost();
                checkDone(link);
            });
            meter->connectToHost(QHostAddress::LocalHost, m_target);
        }
    }

    QTcpServer m_server;
    quint16 m_target;
};

std::vector<polling::PollItem> items()
{
    std::vector<polling::PollItem> out;
    for (const auto &[key, obis] : {std::pair {u"voltage_l1"_s, dlms::Obis(1, 0, 32, 7, 0, 255)},
             std::pair {u"energy_import"_s, dlms::Obis(1, 0, 1, 8, 0, 255)},
             std::pair {u"frequency"_s, dlms::Obis(1, 0, 14, 7, 0, 255)}}) {
        polling::PollItem item;
        item.key = key;
        item.obis = obis;
        out.push_back(item);
    }
    return out;
}

MeterConfig meterConfig(const QString &id, quint16 port, dlms::Transport transport)
{
    MeterConfig c;
    c.id = id;
    c.name = id;
    c.host = u"127.0.0.1"_s;
    c.port = port;
    c.transport = transport;
    c.pollIntervalMs = 100;
    c.items = items();
    // Seconds: a stalled test process never looks like a meter failure.
    c.connectTimeoutMs = 5000;
    c.requestTimeoutMs = 5000;
    c.retries = 0;
    c.backoff = {100, 250, 2.0, 0.1};
    c.breaker = {0, 1000};
    return c;
}

std::unique_ptr<sim::Simulator> startSimulator(int meters, dlms::Transport transport)
{
    sim::SimulatorConfig config;
    config.basePort = 0;
    config.meters = meters;
    config.transport = transport;
    config.meter.profileRows = 10;
    auto simulator = std::make_unique<sim::Simulator>(config);
    const auto started = simulator->start();
    if (!started)
        qWarning("simulator: %s", qPrintable(started.error().message));
    return started ? std::move(simulator) : nullptr;
}

} // namespace

class tst_MonitorExactness : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void dlmsBytesEqualSocketBytes();
};

void tst_MonitorExactness::dlmsBytesEqualSocketBytes()
{
    // The simulator's transport is per simulator: m0 and m1 over the wrapper, m2 over HDLC.
    // m1 cuts its first data response in half and closes, so the engine reconnects to it.
    auto wrapperSim = startSimulator(2, dlms::Transport::Wrapper);
    auto hdlcSim = startSimulator(1, dlms::Transport::Hdlc);
    QVERIFY(wrapperSim && hdlcSim);
    sim::FaultConfig drop;
    drop.dropMidFrame = true;
    wrapperSim->setFaults(1, drop);
    connect(wrapperSim.get(), &sim::Simulator::connectionClosed, this, [&](int meter) {
        // One cut connection is enough; the next one is healthy.
        if (meter == 1)
            wrapperSim->setFaults(1, {});
    });

    const QStringList ids {u"m0"_s, u"m1"_s, u"m2"_s};
    std::array<std::unique_ptr<CountingProxy>, 3> proxies {
        std::make_unique<CountingProxy>(wrapperSim->port(0)),
        std::make_unique<CountingProxy>(wrapperSim->port(1)),
        std::make_unique<CountingProxy>(hdlcSim->port(0))};
    for (const auto &proxy : proxies)
        QVERIFY(proxy->port() != 0);

    PollScheduler::Options engineOptions;
    engineOptions.workers = 2;
    engineOptions.trafficIntervalMs = 100;
    engineOptions.seed = 3;
    engineOptions.stopTimeoutMs = 3000;
    PollScheduler engine(engineOptions);
    TrafficMonitor::Options monitorOptions;
    monitorOptions.autoTick = false;
    TrafficMonitor monitor(monitorOptions);
    connect(&engine, &PollScheduler::trafficReady, &monitor, &TrafficMonitor::addTraffic);
    std::map<QString, int> batches;
    connect(&engine, &PollScheduler::readingsReady, this,
        [&](const polling::ReadingsBatch &batch) { ++batches[batch.meterId]; });

    const dlms::Transport transports[]
        = {dlms::Transport::Wrapper, dlms::Transport::Wrapper, dlms::Transport::Hdlc};
    for (int i = 0; i < 3; ++i) {
        QVERIFY(engine.addMeter(meterConfig(ids[i], proxies[std::size_t(i)]->port(), transports[i])));
        monitor.addMeter(ids[i]); // rows in configuration order, as the application does
    }
    engine.start();
    QTRY_VERIFY_WITH_TIMEOUT(
        batches[u"m0"_s] >= 5 && batches[u"m1"_s] >= 5 && batches[u"m2"_s] >= 5, kWaitMs);

    QSignalSpy stopped(&engine, &PollScheduler::stopped);
    engine.stop();
    QVERIFY(stopped.wait(kWaitMs));
    for (const auto &proxy : proxies)
        QTRY_VERIFY_WITH_TIMEOUT(proxy->idle(), kWaitMs);
    QTRY_COMPARE_WITH_TIMEOUT(wrapperSim->connectionCount() + hdlcSim->connectionCount(), 0, kWaitMs);

    QCOMPARE(monitor.meterIds(), ids);
    polling::TrafficCounters sum;
    for (int i = 0; i < 3; ++i) {
        const CountingProxy &proxy = *proxies[std::size_t(i)];
        const MeterStats stats = monitor.meterStats(ids[i]);
        const polling::TrafficCounters &c = stats.counters.dlms;
        // Exactly the TCP payload the meter's connections carried, each way.
        QCOMPARE(c.bytesSent, proxy.fromClient);
        QCOMPARE(c.bytesReceived, proxy.toClient);
        QCOMPARE(c.connects, quint64(proxy.accepted));
        QVERIFY(c.bytesSent > 0);
        QVERIFY(c.pollsCompleted >= 5);
        sum += c;
    }
    // The cut frame made m1 reconnect; the healthy ones released their association (RLRQ
    // answered) on their only connection.
    QCOMPARE(proxies[1]->accepted, 2);
    QVERIFY(monitor.meterStats(u"m1"_s).counters.dlms.reconnects >= 1);
    for (const QString &id : {u"m0"_s, u"m2"_s}) {
        const polling::TrafficCounters &c = monitor.meterStats(id).counters.dlms;
        QCOMPARE(c.connects, 1u);
        QCOMPARE(c.requestsSent, c.responsesReceived);
        QCOMPARE(c.reconnects, 0u);
    }
    const MeterStats total = monitor.totalStats();
    QCOMPARE(total.counters.dlms.bytesSent, sum.bytesSent);
    QCOMPARE(total.counters.dlms.bytesReceived, sum.bytesReceived);
    QCOMPARE(total.counters.dlms, sum);

    // The rollup rows of real traffic add up as well, a meter removed before the rollup included.
    QSignalSpy rollups(&monitor, &TrafficMonitor::rollupReady);
    monitor.removeMeter(u"m1"_s);
    monitor.flushRollup();
    QCOMPARE(rollups.size(), 1);
    const monitor::MinuteRollup rollup = rollups.at(0).at(0).value<monitor::MinuteRollup>();
    QCOMPARE(rollup.rows.size(), std::size_t(4));
    const monitor::MetricsRow &system = rollup.rows.back();
    quint64 bytesSent = 0;
    quint64 bytesRecv = 0;
    quint64 requests = 0;
    quint64 rttSamples = 0;
    for (std::size_t i = 0; i + 1 < rollup.rows.size(); ++i) {
        bytesSent += rollup.rows[i].dlmsBytesSent;
        bytesRecv += rollup.rows[i].dlmsBytesRecv;
        requests += rollup.rows[i].dlmsRequestsSent;
        rttSamples += rollup.rows[i].rttSamples;
    }
    QCOMPARE(bytesSent, sum.bytesSent);
    QCOMPARE(system.dlmsBytesSent, sum.bytesSent);
    QCOMPARE(bytesRecv, system.dlmsBytesRecv);
    QCOMPARE(requests, system.dlmsRequestsSent);
    QCOMPARE(rttSamples, system.rttSamples);
    QCOMPARE(system.rttSamples, sum.rttCount);
}

QTEST_GUILESS_MAIN(tst_MonitorExactness)
#include "tst_monitor_exactness.moc"
