#include "dlmsconnection.h"
#include "simulator.h"

#include <units.h>

#include <QtCore/QPointer>
#include <QtCore/QTimer>
#include <QtNetwork/QTcpServer>
#include <QtNetwork/QTcpSocket>
#include <QtTest/QSignalSpy>
#include <QtTest/QTest>

#include <memory>

using namespace Qt::StringLiterals;
using polling::DlmsConnection;
using Response = dlms::ClientSession::Response;

Q_DECLARE_METATYPE(dlms::Transport)

namespace {

const dlms::AttributeDescriptor kVoltage {3, dlms::Obis(1, 0, 32, 7, 0, 255), 2};
const dlms::AttributeDescriptor kVoltageScaler {3, dlms::Obis(1, 0, 32, 7, 0, 255), 3};
const dlms::AttributeDescriptor kObjectList {15, dlms::Obis(0, 0, 40, 0, 0, 255), 2};
const dlms::AttributeDescriptor kProfileBuffer {7, dlms::Obis(1, 0, 99, 1, 0, 255), 2};

std::unique_ptr<sim::Simulator> startSimulator(dlms::Transport transport, const sim::FaultConfig &faults = {})
{
    sim::SimulatorConfig config;
    config.basePort = 0;
    config.transport = transport;
    config.meter.profileRows = 200;
    config.meter.faults = faults;
    auto simulator = std::make_unique<sim::Simulator>(config);
    const auto started = simulator->start();
    if (!started)
        qWarning("simulator: %s", qPrintable(started.error().message));
    return started ? std::move(simulator) : nullptr;
}

DlmsConnection::Options optionsFor(dlms::Transport transport, quint16 port)
{
    DlmsConnection::Options options;
    options.host = u"127.0.0.1"_s;
    options.port = port;
    options.client.transport = transport;
    options.connectTimeoutMs = 5000;
    options.requestTimeoutMs = 5000;
    return options;
}

// A TCP relay between the client and the simulator that counts what crosses it, so the
// connection's counters can be checked against what the other side really saw.
class CountingProxy : public QObject {
public:
    explicit CountingProxy(quint16 target) : m_target(target)
    {
        connect(&m_server, &QTcpServer::newConnection, this, &CountingProxy::accept);
        m_server.listen(QHostAddress::LocalHost, 0);
    }
    quint16 port() const { return m_server.serverPort(); }
    qint64 fromClient = 0;
    qint64 fromMeter = 0;

private:
    void accept()
    {
        QTcpSocket *client = m_server.nextPendingConnection();
        auto *meter = new QTcpSocket(client);
        auto pending = std::make_shared<QByteArray>();
        connect(client, &QTcpSocket::readyRead, this, [=, this] {
            const QByteArray data = client->readAll();
            fromClient += data.size();
            if (meter->state() == QAbstractSocket::ConnectedState)
                meter->write(data);
            else
                pending->append(data);
        });
        connect(meter, &QTcpSocket::connected, this, [=] { meter->write(std::exchange(*pending, {})); });
        connect(meter, &QTcpSocket::readyRead, this, [=, this] {
            const QByteArray data = meter->readAll();
            fromMeter += data.size();
            client->write(data);
        });
        connect(client, &QTcpSocket::disconnected, meter, &QTcpSocket::disconnectFromHost);
        connect(meter, &QTcpSocket::disconnected, client, &QTcpSocket::disconnectFromHost);
        connect(client, &QTcpSocket::disconnected, client, &QObject::deleteLater);
        meter->connectToHost(QHostAddress::LocalHost, m_target);
    }

    QTcpServer m_server;
    quint16 m_target;
};

void addTransportRows()
{
    QTest::addColumn<dlms::Transport>("transport");
    QTest::newRow("wrapper") << dlms::Transport::Wrapper;
    QTest::newRow("hdlc") << dlms::Transport::Hdlc;
}

Response responseFor(const QSignalSpy &spy, dlms::ClientSession::RequestId id)
{
    for (const QList<QVariant> &args : spy) {
        const auto response = args.at(0).value<Response>();
        if (response.id == id)
            return response;
    }
    return {};
}

} // namespace

class tst_DlmsConnection : public QObject {
    Q_OBJECT

private slots:
    void openGetGetListClose_data() { addTransportRows(); }
    void openGetGetListClose();
    void lowLevelAuthentication_data();
    void lowLevelAuthentication();
    void rejectedAssociationFault_data() { addTransportRows(); }
    void rejectedAssociationFault();
    void connectionRefused();
    void silentMeterTimesOutTheAssociation_data() { addTransportRows(); }
    void silentMeterTimesOutTheAssociation();
    void latencyAboveTheRequestTimeout_data() { addTransportRows(); }
    void latencyAboveTheRequestTimeout();
    void eachBlockHasItsOwnTimeout();
    void dropMidFrameLosesTheConnection_data() { addTransportRows(); }
    void dropMidFrameLosesTheConnection();
    void exceptionResponseFailsOnlyTheRequest_data() { addTransportRows(); }
    void exceptionResponseFailsOnlyTheRequest();
    void garbageIsAProtocolErrorNotAFailure();
    void countersMatchFramesAndTheWire_data() { addTransportRows(); }
    void countersMatchFramesAndTheWire();
    void closeBeforeAssociation();
    void requestWithoutConnectionFailsAfterReturning();
    void deleteFromInsideASignal_data();
    void deleteFromInsideASignal();
    void everyTimerIsPrecise();
};

void tst_DlmsConnection::openGetGetListClose()
{
    QFETCH(dlms::Transport, transport);
    auto simulator = startSimulator(transport);
    QVERIFY(simulator);
    DlmsConnection connection(optionsFor(transport, simulator->port(0)));
    QSignalSpy associated(&connection, &DlmsConnection::associated);
    QSignalSpy responses(&connection, &DlmsConnection::responseReceived);
    QSignalSpy failed(&connection, &DlmsConnection::failed);
    QSignalSpy closed(&connection, &DlmsConnection::closed);
    QSignalSpy states(&connection, &DlmsConnection::stateChanged);

    connection.open();
    QCOMPARE(connection.state(), DlmsConnection::State::Connecting);
    QVERIFY(associated.wait());
    QCOMPARE(connection.state(), DlmsConnection::State::Ready);
    QVERIFY(connection.aare() && connection.aare()->accepted());
    QVERIFY(connection.session().supports(dlms::ConformanceMultipleReferences));

    const auto single = connection.get(kVoltage);
    const auto list = connection.getList({{kVoltage, std::nullopt}, {kVoltageScaler, std::nullopt}});
    QTRY_COMPARE(responses.size(), 2);
    const Response one = responseFor(responses, single);
    QVERIFY(!one.error);
    QCOMPARE(one.results.size(), size_t(1));
    const double volts = dlms::scaledValue(one.results[0].value, -1).value_or(0);
    QVERIFY2(volts > 225 && volts < 235, qPrintable(QString::number(volts)));
    const Response two = responseFor(responses, list);
    QVERIFY(!two.error);
    QCOMPARE(two.results.size(), size_t(2));
    const auto scalerUnit = dlms::ScalerUnit::fromValue(two.results[1].value);
    QVERIFY(scalerUnit);
    QCOMPARE(scalerUnit->scaler, qint8(-1));
    QCOMPARE(dlms::unitSymbol(scalerUnit->unit), u"V"_s);

    connection.close();
    QCOMPARE(connection.state(), DlmsConnection::State::Releasing);
    QVERIFY(closed.wait());
    QCOMPARE(connection.state(), DlmsConnection::State::Closed);
    QCOMPARE(failed.size(), 0);
    QList<DlmsConnection::State> seen;
    for (const auto &args : std::as_const(states))
        seen << args.at(0).value<DlmsConnection::State>();
    const QList<DlmsConnection::State> expected {DlmsConnection::State::Connecting,
        DlmsConnection::State::Associating, DlmsConnection::State::Ready, DlmsConnection::State::Releasing,
        DlmsConnection::State::Closed};
    QCOMPARE(seen, expected);
    // AARQ, GET, GET-with-list, RLRQ and their answers.
    QCOMPARE(connection.counters().requestsSent, quint64(4));
    QCOMPARE(connection.counters().responsesReceived, quint64(4));
    QCOMPARE(connection.counters().protocolErrors, quint64(0));
    QTRY_COMPARE(simulator->connectionCount(), 0);
}

void tst_DlmsConnection::lowLevelAuthentication_data()
{
    QTest::addColumn<dlms::Transport>("transport");
    QTest::addColumn<QByteArray>("password");
    QTest::addColumn<bool>("accepted");
    QTest::newRow("wrapper-good-password") << dlms::Transport::Wrapper << QByteArray("12345678") << true;
    QTest::newRow("wrapper-bad-password") << dlms::Transport::Wrapper << QByteArray("wrong") << false;
    QTest::newRow("hdlc-good-password") << dlms::Transport::Hdlc << QByteArray("12345678") << true;
    QTest::newRow("hdlc-bad-password") << dlms::Transport::Hdlc << QByteArray("87654321") << false;
}

void tst_DlmsConnection::lowLevelAuthentication()
{
    QFETCH(dlms::Transport, transport);
    QFETCH(QByteArray, password);
    QFETCH(bool, accepted);
    auto simulator = startSimulator(transport);
    QVERIFY(simulator);
    auto options = optionsFor(transport, simulator->port(0));
    options.client.authentication = dlms::Authentication::Low;
    options.client.password = password;
    DlmsConnection connection(options);
    QSignalSpy associated(&connection, &DlmsConnection::associated);
    QSignalSpy failed(&connection, &DlmsConnection::failed);

    connection.open();
    QTRY_VERIFY(associated.size() + failed.size() > 0);
    QVERIFY(connection.aare());
    QCOMPARE(connection.aare()->accepted(), accepted);
    if (accepted) {
        QCOMPARE(connection.state(), DlmsConnection::State::Ready);
        QCOMPARE(failed.size(), 0);
        return;
    }
    QCOMPARE(associated.size(), 0);
    QCOMPARE(failed.size(), 1);
    const auto error = failed.at(0).at(0).value<dlms::Error>();
    QCOMPARE(error.code, dlms::ErrorCode::Rejected);
    QCOMPARE(error.message, u"association rejected: rejected-permanent: authentication-failure"_s);
    QCOMPARE(connection.state(), DlmsConnection::State::Closed);
    QTRY_COMPARE(simulator->connectionCount(), 0);
}

void tst_DlmsConnection::rejectedAssociationFault()
{
    QFETCH(dlms::Transport, transport);
    sim::FaultConfig faults;
    faults.rejectAssociation = true;
    auto simulator = startSimulator(transport, faults);
    QVERIFY(simulator);
    DlmsConnection connection(optionsFor(transport, simulator->port(0)));
    QSignalSpy failed(&connection, &DlmsConnection::failed);
    connection.open();
    QVERIFY(failed.wait());
    const auto error = failed.at(0).at(0).value<dlms::Error>();
    QCOMPARE(error.code, dlms::ErrorCode::Rejected);
    QVERIFY2(
        error.message.startsWith(u"association rejected: rejected-permanent"_s), qPrintable(error.message));
    QVERIFY(connection.aare() && !connection.aare()->accepted());
    QCOMPARE(connection.state(), DlmsConnection::State::Closed);
}

void tst_DlmsConnection::connectionRefused()
{
    quint16 port = 0;
    {
        QTcpServer server;
        QVERIFY(server.listen(QHostAddress::LocalHost, 0));
        port = server.serverPort();
    }
    DlmsConnection connection(optionsFor(dlms::Transport::Wrapper, port));
    QSignalSpy failed(&connection, &DlmsConnection::failed);
    QSignalSpy closed(&connection, &DlmsConnection::closed);
    connection.open();
    QVERIFY(failed.wait());
    const auto error = failed.at(0).at(0).value<dlms::Error>();
    QCOMPARE(error.code, dlms::ErrorCode::ConnectionFailed);
    QVERIFY2(
        error.message.startsWith(u"cannot connect to 127.0.0.1:%1: "_s.arg(port)), qPrintable(error.message));
    QCOMPARE(connection.state(), DlmsConnection::State::Closed);
    QVERIFY(!connection.aare());
    QCOMPARE(closed.size(), 0);
    QCOMPARE(connection.counters().bytesSent, quint64(0));
}

void tst_DlmsConnection::silentMeterTimesOutTheAssociation()
{
    QFETCH(dlms::Transport, transport);
    sim::FaultConfig faults;
    faults.silent = true;
    auto simulator = startSimulator(transport, faults);
    QVERIFY(simulator);
    auto options = optionsFor(transport, simulator->port(0));
    options.connectTimeoutMs = 200;
    DlmsConnection connection(options);
    QSignalSpy failed(&connection, &DlmsConnection::failed);
    connection.open();
    QVERIFY(failed.wait());
    const auto error = failed.at(0).at(0).value<dlms::Error>();
    QCOMPARE(error.code, dlms::ErrorCode::Timeout);
    const QString expected
        = u"association with 127.0.0.1:%1 timed out after 200 ms"_s.arg(simulator->port(0));
    QCOMPARE(error.message,
        transport == dlms::Transport::Hdlc ? expected + u" (no UA to the HDLC SNRM)"_s : expected);
    QCOMPARE(connection.state(), DlmsConnection::State::Closed);
    QVERIFY(connection.counters().bytesSent > 0);
    QCOMPARE(connection.counters().bytesReceived, quint64(0));
    QTRY_COMPARE(simulator->connectionCount(), 0);
}

void tst_DlmsConnection::latencyAboveTheRequestTimeout()
{
    QFETCH(dlms::Transport, transport);
    auto simulator = startSimulator(transport);
    QVERIFY(simulator);
    auto options = optionsFor(transport, simulator->port(0));
    options.requestTimeoutMs = 100;
    DlmsConnection connection(options);
    QSignalSpy associated(&connection, &DlmsConnection::associated);
    QSignalSpy responses(&connection, &DlmsConnection::responseReceived);
    QSignalSpy failed(&connection, &DlmsConnection::failed);
    connection.open();
    QVERIFY(associated.wait());

    sim::FaultConfig slow;
    slow.latencyMs = 2000;
    simulator->setFaults(0, slow);
    const auto id = connection.get(kVoltage);
    const auto queued = connection.get(kVoltageScaler);
    QVERIFY(failed.wait());
    const auto error = failed.at(0).at(0).value<dlms::Error>();
    QCOMPARE(error.code, dlms::ErrorCode::Timeout);
    QCOMPARE(error.message, u"request to 127.0.0.1:%1 timed out after 100 ms"_s.arg(simulator->port(0)));
    // Both requests ended, with the timeout, before failed().
    QCOMPARE(responses.size(), 2);
    QCOMPARE(responseFor(responses, id).error->code, dlms::ErrorCode::Timeout);
    QCOMPARE(responseFor(responses, queued).error->code, dlms::ErrorCode::Timeout);
    QCOMPARE(connection.state(), DlmsConnection::State::Closed);
}

void tst_DlmsConnection::eachBlockHasItsOwnTimeout()
{
    sim::SimulatorConfig config;
    config.basePort = 0;
    config.meter.profileRows = 200;
    config.meter.maxPduSize = 256; // about 20 datablocks for the whole buffer
    sim::Simulator simulator(config);
    QVERIFY(simulator.start());
    auto options = optionsFor(dlms::Transport::Wrapper, simulator.port(0));
    options.requestTimeoutMs = 1000;
    DlmsConnection connection(options);
    QSignalSpy associated(&connection, &DlmsConnection::associated);
    QSignalSpy responses(&connection, &DlmsConnection::responseReceived);
    QSignalSpy failed(&connection, &DlmsConnection::failed);
    connection.open();
    QVERIFY(associated.wait());
    // Each block comes well within the timeout; all of them together take longer than it.
    sim::FaultConfig slow;
    slow.latencyMs = 100;
    simulator.setFaults(0, slow);
    const auto id = connection.get(kProfileBuffer);
    QTRY_COMPARE_WITH_TIMEOUT(responses.size() + failed.size(), 1, 10000);
    QCOMPARE(failed.size(), 0);
    const Response response = responseFor(responses, id);
    QVERIFY(!response.error);
    QVERIFY2(response.blocks > 10, qPrintable(QString::number(response.blocks)));
    QCOMPARE(response.results.at(0).value.items().size(), size_t(200));
}

void tst_DlmsConnection::dropMidFrameLosesTheConnection()
{
    QFETCH(dlms::Transport, transport);
    sim::FaultConfig faults;
    faults.dropMidFrame = true;
    auto simulator = startSimulator(transport, faults);
    QVERIFY(simulator);
    DlmsConnection connection(optionsFor(transport, simulator->port(0)));
    QSignalSpy associated(&connection, &DlmsConnection::associated);
    QSignalSpy responses(&connection, &DlmsConnection::responseReceived);
    QSignalSpy failed(&connection, &DlmsConnection::failed);
    connection.open();
    QVERIFY(associated.wait());
    const auto id = connection.get(kObjectList);
    QVERIFY(failed.wait());
    const auto error = failed.at(0).at(0).value<dlms::Error>();
    QCOMPARE(error.code, dlms::ErrorCode::ConnectionFailed);
    QVERIFY2(error.message.startsWith(u"connection to 127.0.0.1:%1 lost"_s.arg(simulator->port(0))),
        qPrintable(error.message));
    QCOMPARE(responses.size(), 1);
    QVERIFY(responseFor(responses, id).error);
    QCOMPARE(connection.state(), DlmsConnection::State::Closed);
    QVERIFY(connection.counters().bytesReceived > 0);
}

void tst_DlmsConnection::exceptionResponseFailsOnlyTheRequest()
{
    QFETCH(dlms::Transport, transport);
    sim::FaultConfig faults;
    faults.exceptionResponses = true;
    auto simulator = startSimulator(transport, faults);
    QVERIFY(simulator);
    DlmsConnection connection(optionsFor(transport, simulator->port(0)));
    QSignalSpy associated(&connection, &DlmsConnection::associated);
    QSignalSpy responses(&connection, &DlmsConnection::responseReceived);
    QSignalSpy closed(&connection, &DlmsConnection::closed);
    QSignalSpy failed(&connection, &DlmsConnection::failed);
    connection.open();
    QVERIFY(associated.wait());
    const auto id = connection.get(kVoltage);
    QVERIFY(responses.wait());
    const Response response = responseFor(responses, id);
    QVERIFY(response.error);
    QCOMPARE(response.error->code, dlms::ErrorCode::Rejected);
    QVERIFY2(
        response.error->message.startsWith(u"exception-response: "_s), qPrintable(response.error->message));
    QCOMPARE(connection.state(), DlmsConnection::State::Ready);
    connection.close();
    QVERIFY(closed.wait());
    QCOMPARE(failed.size(), 0);
}

void tst_DlmsConnection::garbageIsAProtocolErrorNotAFailure()
{
    sim::FaultConfig faults;
    faults.garbageBytes = 16;
    auto simulator = startSimulator(dlms::Transport::Wrapper, faults);
    QVERIFY(simulator);
    DlmsConnection connection(optionsFor(dlms::Transport::Wrapper, simulator->port(0)));
    QSignalSpy associated(&connection, &DlmsConnection::associated);
    QSignalSpy responses(&connection, &DlmsConnection::responseReceived);
    QSignalSpy noise(&connection, &DlmsConnection::protocolError);
    QSignalSpy failed(&connection, &DlmsConnection::failed);
    connection.open();
    QVERIFY(associated.wait());
    const auto id = connection.get(kVoltage);
    QVERIFY(responses.wait());
    QVERIFY(!responseFor(responses, id).error);
    QVERIFY(noise.size() > 0);
    QCOMPARE(connection.counters().protocolErrors, quint64(noise.size()));
    QCOMPARE(failed.size(), 0);
    QCOMPARE(connection.state(), DlmsConnection::State::Ready);
    // Skipped bytes are counted as such, not as frames: 16 before the AARE, 16 before the answer.
    QCOMPARE(connection.counters().bytesDiscarded, quint64(2 * faults.garbageBytes));
    QCOMPARE(connection.counters().framesReceived, quint64(2));
}

void tst_DlmsConnection::countersMatchFramesAndTheWire()
{
    QFETCH(dlms::Transport, transport);
    auto simulator = startSimulator(transport);
    QVERIFY(simulator);
    CountingProxy proxy(simulator->port(0));
    QVERIFY(proxy.port() != 0);
    auto options = optionsFor(transport, proxy.port());
    DlmsConnection connection(options);
    struct Tally {
        quint64 bytes[2] = {0, 0};
        quint64 frames[2] = {0, 0};
        quint64 requests = 0;
        quint64 responses = 0;
        bool timestamped = true;
    } tally;
    connect(&connection, &DlmsConnection::frame, this, [&](const dlms::FrameEvent &f, const QDateTime &at) {
        const int side = f.direction == dlms::Direction::Sent ? 0 : 1;
        tally.bytes[side] += f.size;
        ++tally.frames[side];
        tally.timestamped = tally.timestamped && at.isValid();
        if (f.completesApdu && side == 0 && dlms::isRequestKind(f.kind))
            ++tally.requests;
        if (f.completesApdu && side == 1 && f.kind != dlms::FrameKind::HdlcControl)
            ++tally.responses;
    });
    QSignalSpy associated(&connection, &DlmsConnection::associated);
    QSignalSpy responses(&connection, &DlmsConnection::responseReceived);
    QSignalSpy closed(&connection, &DlmsConnection::closed);
    connection.open();
    QVERIFY(associated.wait());
    // Block transfer (object list) and a selective-access profile read make many frames.
    connection.get(kObjectList);
    connection.get(kProfileBuffer, dlms::SelectiveAccess::entry(1, 20));
    QTRY_COMPARE(responses.size(), 2);
    for (const auto &args : std::as_const(responses))
        QVERIFY(!args.at(0).value<Response>().error);
    connection.close();
    QVERIFY(closed.wait());

    const auto &c = connection.counters();
    QCOMPARE(c.bytesSent, tally.bytes[0]);
    QCOMPARE(c.bytesReceived, tally.bytes[1]);
    QCOMPARE(c.framesSent, tally.frames[0]);
    QCOMPARE(c.framesReceived, tally.frames[1]);
    QCOMPARE(c.requestsSent, tally.requests);
    QCOMPARE(c.responsesReceived, tally.responses);
    QVERIFY(c.requestsSent > 4); // AARQ, two GETs, their GET-next requests, RLRQ
    QCOMPARE(c.responsesReceived, c.requestsSent);
    QVERIFY(tally.timestamped);
    QTRY_COMPARE(quint64(proxy.fromClient), c.bytesSent);
    QTRY_COMPARE(quint64(proxy.fromMeter), c.bytesReceived);
}

void tst_DlmsConnection::closeBeforeAssociation()
{
    sim::FaultConfig faults;
    faults.silent = true;
    auto simulator = startSimulator(dlms::Transport::Wrapper, faults);
    QVERIFY(simulator);
    DlmsConnection connection(optionsFor(dlms::Transport::Wrapper, simulator->port(0)));
    QSignalSpy closed(&connection, &DlmsConnection::closed);
    QSignalSpy failed(&connection, &DlmsConnection::failed);
    QSignalSpy states(&connection, &DlmsConnection::stateChanged);
    connection.open();
    QTRY_COMPARE(connection.state(), DlmsConnection::State::Associating);
    connection.close();
    QCOMPARE(closed.size(), 1);
    QCOMPARE(failed.size(), 0);
    QCOMPARE(connection.state(), DlmsConnection::State::Closed);
    QCOMPARE(states.last().at(0).value<DlmsConnection::State>(), DlmsConnection::State::Closed);
    QTRY_COMPARE(simulator->connectionCount(), 0);
}

void tst_DlmsConnection::requestWithoutConnectionFailsAfterReturning()
{
    DlmsConnection connection(optionsFor(dlms::Transport::Wrapper, 1));
    QSignalSpy responses(&connection, &DlmsConnection::responseReceived);
    const auto id = connection.get(kVoltage);
    QCOMPARE(responses.size(), 0); // not before the caller knows the id
    QVERIFY(responses.wait());
    const Response response = responses.at(0).at(0).value<Response>();
    QCOMPARE(response.id, id);
    QVERIFY(response.error);
}

void tst_DlmsConnection::deleteFromInsideASignal_data()
{
    QTest::addColumn<QString>("when");
    QTest::addColumn<bool>("refused");
    QTest::newRow("in-associated") << u"associated"_s << false;
    QTest::newRow("in-response") << u"response"_s << false;
    QTest::newRow("in-frame") << u"frame"_s << false;
    QTest::newRow("in-failed-refused") << u"failed"_s << true;
    QTest::newRow("in-failed-rejected") << u"failed"_s << false;
}

void tst_DlmsConnection::deleteFromInsideASignal()
{
    QFETCH(QString, when);
    QFETCH(bool, refused);
    sim::FaultConfig faults;
    faults.rejectAssociation = when == u"failed" && !refused;
    auto simulator = startSimulator(dlms::Transport::Hdlc, faults);
    QVERIFY(simulator);
    quint16 port = simulator->port(0);
    if (refused) {
        QTcpServer server;
        QVERIFY(server.listen(QHostAddress::LocalHost, 0));
        port = server.serverPort();
    }
    QPointer<DlmsConnection> connection = new DlmsConnection(optionsFor(dlms::Transport::Hdlc, port));
    QObject done;
    QSignalSpy destroyed(connection.data(), &QObject::destroyed);
    auto kill = [&] { delete connection.data(); };
    if (when == u"associated")
        connect(connection, &DlmsConnection::associated, &done, kill);
    if (when == u"response") {
        connect(connection, &DlmsConnection::associated, &done, [&] { connection->get(kVoltage); });
        connect(connection, &DlmsConnection::responseReceived, &done, kill);
    }
    if (when == u"frame")
        connect(connection, &DlmsConnection::frame, &done, kill);
    if (when == u"failed")
        connect(connection, &DlmsConnection::failed, &done, kill);
    connection->open();
    QTRY_VERIFY(connection.isNull());
    QCOMPARE(destroyed.size(), 1);
    // The event loop keeps running with whatever the deleted connection left behind.
    QTRY_COMPARE(simulator->connectionCount(), 0);
}

// A coarse timer may fire 5 % early, so an answer at 97 % of --timeout-ms would time out. Which
// timers bound the waits is private; every timer the connection owns must be precise (the
// socket's own timers are Qt's business).
void tst_DlmsConnection::everyTimerIsPrecise()
{
    auto simulator = startSimulator(dlms::Transport::Wrapper);
    QVERIFY(simulator);
    DlmsConnection connection(optionsFor(dlms::Transport::Wrapper, simulator->port(0)));
    QSignalSpy associated(&connection, &DlmsConnection::associated);
    connection.open();
    QVERIFY(associated.wait());
    const QList<QTimer *> timers = connection.findChildren<QTimer *>(Qt::FindDirectChildrenOnly);
    QVERIFY(timers.size() >= 2);
    for (const QTimer *timer : timers)
        QCOMPARE(timer->timerType(), Qt::PreciseTimer);
}

QTEST_GUILESS_MAIN(tst_DlmsConnection)
#include "tst_dlmsconnection.moc"
