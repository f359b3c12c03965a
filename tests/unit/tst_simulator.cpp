#include "simconnection.h"
#include "simulator.h"
#include "testsupport.h"

#include <clientsession.h>

#include <QtNetwork/QTcpServer>
#include <QtNetwork/QTcpSocket>
#include <QtTest/QtTest>

#include <memory>
#include <set>

using namespace dlms;
using namespace sim;
using namespace Qt::StringLiterals;

Q_DECLARE_METATYPE(dlms::Transport)

namespace {

const Obis kClock(0, 0, 1, 0, 0, 255);
const Obis kSerial(0, 0, 96, 1, 0, 255);

// A dlms::ClientSession on a real QTcpSocket, pumped by readyRead: the test's own tiny
// counterpart of polling::DlmsConnection, so the simulator is tested on its own.
class TcpClient : public QObject {
public:
    explicit TcpClient(
        Transport transport, Authentication authentication = Authentication::None, QByteArray password = {})
        : session([&] {
              ClientConfig config;
              config.transport = transport;
              config.authentication = authentication;
              config.password = std::move(password);
              return config;
          }())
    {
        connect(&socket, &QTcpSocket::readyRead, this, [this] {
            const QByteArray bytes = socket.readAll();
            raw += bytes;
            session.feed(bytes);
            flush();
        });
        connect(&socket, &QTcpSocket::disconnected, this, [this] { disconnected = true; });
    }

    QTcpSocket socket;
    ClientSession session;
    std::vector<ClientSession::Event> events;
    QByteArray raw; // everything received
    bool disconnected = false;

    void open(quint16 port) { socket.connectToHost(QHostAddress(QHostAddress::LocalHost), port); }
    bool connected() const { return socket.state() == QAbstractSocket::ConnectedState; }

    void associate()
    {
        session.connect();
        flush();
    }

    void flush()
    {
        const QByteArray out = session.takeOutgoing();
        if (!out.isEmpty())
            socket.write(out);
        for (ClientSession::Event &event : session.takeEvents())
            events.push_back(std::move(event));
    }

    std::optional<Aare> aare() const
    {
        for (const ClientSession::Event &event : events) {
            if (event.aare)
                return event.aare;
        }
        return std::nullopt;
    }
    bool associated() const { return aare() && aare()->accepted(); }

    ClientSession::RequestId get(const AttributeDescriptor &attribute)
    {
        const auto id = session.get(attribute);
        flush();
        return id;
    }
    ClientSession::RequestId set(const AttributeDescriptor &attribute, Value value)
    {
        const auto id = session.set(attribute, std::move(value));
        flush();
        return id;
    }

    const ClientSession::Response *response(ClientSession::RequestId id) const
    {
        for (const ClientSession::Event &event : events) {
            if (event.response && event.response->id == id)
                return &*event.response;
        }
        return nullptr;
    }

    bool sawError() const
    {
        return std::any_of(events.begin(), events.end(),
            [](const ClientSession::Event &e) { return e.type == ClientSession::Event::Type::Error; });
    }
};

// The simulator's side of its only open connection (a child of the Simulator).
const SimConnection *onlyConnection(const Simulator &simulator)
{
    const QList<SimConnection *> connections = simulator.findChildren<SimConnection *>();
    return connections.size() == 1 ? connections.front() : nullptr;
}

SimulatorConfig config(Transport transport, int meters = 1)
{
    SimulatorConfig c;
    c.basePort = 0;
    c.meters = meters;
    c.transport = transport;
    c.meter.profileRows = 100;
    return c;
}

void addTransportRows()
{
    QTest::addColumn<Transport>("transport");
    QTest::newRow("wrapper") << Transport::Wrapper;
    QTest::newRow("hdlc") << Transport::Hdlc;
}

} // namespace

class tst_Simulator : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void threeMetersOnDistinctPorts_data() { addTransportRows(); }
    void threeMetersOnDistinctPorts();
    void concurrentConnections_data() { addTransportRows(); }
    void concurrentConnections();
    void latencyHoldsResponses_data() { addTransportRows(); }
    void latencyHoldsResponses();
    void dripSendsByteByByte_data() { addTransportRows(); }
    void dripSendsByteByByte();
    void garbageBeforeResponses_data() { addTransportRows(); }
    void garbageBeforeResponses();
    void dropMidFrame_data() { addTransportRows(); }
    void dropMidFrame();
    void silentNeverAnswers_data() { addTransportRows(); }
    void silentNeverAnswers();
    void rejectAssociation_data() { addTransportRows(); }
    void rejectAssociation();
    void busyPortFailsCleanly();
    void stopClosesConnections();
};

void tst_Simulator::threeMetersOnDistinctPorts()
{
    QFETCH(Transport, transport);
    Simulator simulator(config(transport, 3));
    QSignalSpy opened(&simulator, &Simulator::connectionOpened);
    QSignalSpy associations(&simulator, &Simulator::associationChanged);
    const auto started = simulator.start();
    QVERIFY2(started.ok(), qPrintable(started.ok() ? QString() : started.error().message));
    QCOMPARE(simulator.meterCount(), 3);

    std::set<quint16> ports;
    std::set<QString> serials;
    for (int i = 0; i < 3; ++i) {
        QVERIFY(simulator.port(i) != 0);
        ports.insert(simulator.port(i));
        QCOMPARE(simulator.meter(i).settings().index, i);

        TcpClient client(transport);
        client.open(simulator.port(i));
        QTRY_VERIFY(client.connected());
        client.associate();
        QTRY_VERIFY(client.aare());
        QVERIFY(client.associated());
        const auto id = client.get({1, kSerial, 2});
        QTRY_VERIFY(client.response(id));
        const ClientSession::Response *response = client.response(id);
        QVERIFY(!response->error);
        const QString serial = response->results.front().value.string();
        QCOMPARE(serial, simulator.meter(i).serialNumber());
        serials.insert(serial);
    }
    QCOMPARE(ports.size(), size_t(3));
    QCOMPARE(serials.size(), size_t(3));
    QVERIFY(serials.count(u"SIM00000001"_s));
    QCOMPARE(opened.size(), 3);
    for (int i = 0; i < 3; ++i) {
        QCOMPARE(opened.at(i).at(0).toInt(), i);
        QVERIFY(opened.at(i).at(1).toString().startsWith(u"127.0.0.1:"_s));
    }
    QCOMPARE(associations.size(), 3);
    QCOMPARE(associations.at(2).at(0).toInt(), 2);
    QCOMPARE(associations.at(2).at(1).toBool(), true);
}

void tst_Simulator::concurrentConnections()
{
    QFETCH(Transport, transport);
    Simulator simulator(config(transport));
    QSignalSpy closed(&simulator, &Simulator::connectionClosed);
    QVERIFY(simulator.start().ok());

    auto lls = std::make_unique<TcpClient>(transport, Authentication::Low, "12345678");
    TcpClient anonymous(transport);
    lls->open(simulator.port(0));
    anonymous.open(simulator.port(0));
    QTRY_VERIFY(lls->connected() && anonymous.connected());
    QTRY_COMPARE(simulator.connectionCount(), 2);
    lls->associate();
    anonymous.associate();
    QTRY_VERIFY(lls->associated() && anonymous.associated());

    // Each connection has its own association: only the LLS one may set the clock.
    const Value time
        = Value::octetString(CosemDateTime::fromQDateTime(QDateTime::currentDateTimeUtc()).toBytes());
    const auto granted = lls->set({8, kClock, 2}, time);
    const auto denied = anonymous.set({8, kClock, 2}, time);
    QTRY_VERIFY(lls->response(granted) && anonymous.response(denied));
    QCOMPARE(lls->response(granted)->results.front().result, DataAccessResult::Success);
    QCOMPARE(anonymous.response(denied)->results.front().result, DataAccessResult::ReadWriteDenied);

    // Closing one leaves the other serving.
    lls.reset();
    QTRY_COMPARE(closed.size(), 1);
    QCOMPARE(closed.front().front().toInt(), 0);
    QCOMPARE(simulator.connectionCount(), 1);
    const auto id = anonymous.get({1, kSerial, 2});
    QTRY_VERIFY(anonymous.response(id));
    QVERIFY(!anonymous.response(id)->error);
    QVERIFY(!anonymous.disconnected);
}

void tst_Simulator::latencyHoldsResponses()
{
    QFETCH(Transport, transport);
    Simulator simulator(config(transport));
    QVERIFY(simulator.start().ok());
    FaultConfig faults;
    // Long enough that the check right after the answer is held comes well before its release.
    faults.latencyMs = 400;
    simulator.setFaults(0, faults);
    QCOMPARE(simulator.meter(0).faults().latencyMs, 400);

    TcpClient client(transport);
    client.open(simulator.port(0));
    QTRY_VERIFY(client.connected());
    QTRY_VERIFY(onlyConnection(simulator));
    const SimConnection *connection = onlyConnection(simulator);
    client.associate();
    // The first answer is produced and held: at that point nothing has gone out.
    QTRY_VERIFY(connection->stats().heldBatches >= 1);
    QCOMPARE(connection->stats().writes, quint64(0));
    QCOMPARE(client.raw.size(), qsizetype(0));
    QTRY_VERIFY(client.aare());
    QVERIFY(client.associated());

    // Order is kept across several held batches (HDLC: UA then AARE).
    const auto id = client.get({1, kSerial, 2});
    QTRY_VERIFY(client.response(id));
    QVERIFY(!client.response(id)->error);
    QVERIFY(!client.sawError());
    // Every answer went through the latency queue.
    QVERIFY(connection->stats().batches >= 2);
    QCOMPARE(connection->stats().heldBatches, connection->stats().batches);
    QCOMPARE(connection->stats().bytesWritten, quint64(client.raw.size()));
}

void tst_Simulator::dripSendsByteByByte()
{
    QFETCH(Transport, transport);
    Simulator simulator(config(transport));
    QVERIFY(simulator.start().ok());
    FaultConfig faults;
    faults.drip = true;
    faults.dripIntervalMs = 2;
    simulator.setFaults(0, faults);

    TcpClient client(transport);
    client.open(simulator.port(0));
    QTRY_VERIFY(client.connected());
    QTRY_VERIFY(onlyConnection(simulator));
    const SimConnection *connection = onlyConnection(simulator);
    client.associate();
    QTRY_VERIFY_WITH_TIMEOUT(client.aare(), 10000);
    QVERIFY(client.associated());
    QVERIFY(client.raw.size() > 40);
    // Every byte the client got was one write of its own on the simulator's side.
    QCOMPARE(connection->stats().bytesWritten, quint64(client.raw.size()));
    QCOMPARE(connection->stats().writes, connection->stats().bytesWritten);
}

void tst_Simulator::garbageBeforeResponses()
{
    QFETCH(Transport, transport);
    Simulator simulator(config(transport));
    QVERIFY(simulator.start().ok());
    FaultConfig faults;
    faults.garbageBytes = 12;
    simulator.setFaults(0, faults);

    TcpClient client(transport);
    client.open(simulator.port(0));
    QTRY_VERIFY(client.connected());
    client.associate();
    QTRY_VERIFY(client.aare());
    QVERIFY(client.associated());
    const auto id = client.get({1, kSerial, 2});
    QTRY_VERIFY(client.response(id));
    QVERIFY(!client.response(id)->error);
    QCOMPARE(client.response(id)->results.front().value.string(), simulator.meter(0).serialNumber());
    // The client recovered, and says it had to skip bytes.
    QVERIFY(client.sawError());
}

void tst_Simulator::dropMidFrame()
{
    QFETCH(Transport, transport);
    Simulator simulator(config(transport));
    QSignalSpy closed(&simulator, &Simulator::connectionClosed);
    QVERIFY(simulator.start().ok());
    FaultConfig faults;
    faults.dropMidFrame = true;
    simulator.setFaults(0, faults);

    TcpClient client(transport);
    client.open(simulator.port(0));
    QTRY_VERIFY(client.connected());
    client.associate();
    QTRY_VERIFY(client.aare()); // the AARE itself goes out whole
    QVERIFY(client.associated());

    const qsizetype before = client.raw.size();
    const auto id = client.get({1, kSerial, 2});
    QTRY_VERIFY(client.disconnected);
    QVERIFY(!client.response(id));
    const QByteArray partial = client.raw.sliced(before);
    QVERIFY(partial.size() >= 3);
    qsizetype frameSize = 0;
    if (transport == Transport::Wrapper) {
        QVERIFY(partial.size() >= wrapper::HeaderSize);
        frameSize = wrapper::HeaderSize + ((quint8(partial[6]) << 8) | quint8(partial[7]));
    } else {
        QCOMPARE(quint8(partial[0]), hdlc::Flag);
        frameSize = 2 + (((quint8(partial[1]) & 0x07) << 8) | quint8(partial[2]));
    }
    QVERIFY2(partial.size() < frameSize, qPrintable(u"%1 of %2"_s.arg(partial.size()).arg(frameSize)));
    QTRY_COMPARE(closed.size(), 1);
    QCOMPARE(simulator.connectionCount(), 0);
}

void tst_Simulator::silentNeverAnswers()
{
    QFETCH(Transport, transport);
    Simulator simulator(config(transport));
    QVERIFY(simulator.start().ok());
    FaultConfig faults;
    faults.silent = true;
    simulator.setFaults(0, faults);

    TcpClient client(transport);
    client.open(simulator.port(0));
    QTRY_VERIFY(client.connected());
    QSignalSpy readable(&client.socket, &QTcpSocket::readyRead);
    client.associate();
    QVERIFY(!readable.wait(300));
    QVERIFY(client.raw.isEmpty());
    QVERIFY(!client.disconnected);
    QCOMPARE(simulator.connectionCount(), 1);
}

void tst_Simulator::rejectAssociation()
{
    QFETCH(Transport, transport);
    Simulator simulator(config(transport));
    QSignalSpy associations(&simulator, &Simulator::associationChanged);
    QVERIFY(simulator.start().ok());
    FaultConfig faults;
    faults.rejectAssociation = true;
    simulator.setFaults(0, faults);

    TcpClient client(transport, Authentication::Low, "12345678");
    client.open(simulator.port(0));
    QTRY_VERIFY(client.connected());
    client.associate();
    QTRY_VERIFY(client.aare());
    QVERIFY(!client.associated());
    QCOMPARE(client.aare()->result, AssociationResult::RejectedPermanent);
    QCOMPARE(client.aare()->describe(), u"rejected-permanent: no-reason-given"_s);
    QTRY_COMPARE(associations.size(), 1);
    QCOMPARE(associations.front().at(0).toInt(), 0);
    QCOMPARE(associations.front().at(1).toBool(), false);
}

void tst_Simulator::busyPortFailsCleanly()
{
    QTcpServer blocker;
    QVERIFY(blocker.listen(QHostAddress(QHostAddress::LocalHost), 0));
    const quint16 busy = blocker.serverPort();

    // Meter 1 lands on the busy port; meter 0's listener must be closed again.
    SimulatorConfig c = config(Transport::Wrapper, 2);
    c.basePort = quint16(busy - 1);
    Simulator simulator(c);
    const auto started = simulator.start();
    QVERIFY(!started.ok());
    const QString message = started.error().message;
    if (message.contains(u"127.0.0.1:%1:"_s.arg(busy - 1)))
        QSKIP("the port below the blocker is taken by someone else");
    QVERIFY2(message.startsWith(u"cannot listen on 127.0.0.1:%1: "_s.arg(busy)), qPrintable(message));
    QVERIFY(message.size() > u"cannot listen on 127.0.0.1:%1: "_s.arg(busy).size());
    QCOMPARE(simulator.port(0), quint16(0));
    QCOMPARE(simulator.port(1), quint16(0));
    QTcpServer again;
    QVERIFY(again.listen(QHostAddress(QHostAddress::LocalHost), quint16(busy - 1)));
}

void tst_Simulator::stopClosesConnections()
{
    Simulator simulator(config(Transport::Wrapper));
    QSignalSpy closed(&simulator, &Simulator::connectionClosed);
    QVERIFY(simulator.start().ok());
    const quint16 port = simulator.port(0);

    TcpClient client(Transport::Wrapper);
    client.open(port);
    QTRY_VERIFY(client.connected());
    client.associate();
    QTRY_VERIFY(client.associated());
    QSignalSpy disconnected(&client.socket, &QTcpSocket::disconnected);

    simulator.stop();
    QCOMPARE(simulator.connectionCount(), 0);
    QCOMPARE(simulator.port(0), quint16(0));
    QCOMPARE(closed.size(), 1);
    QVERIFY(disconnected.wait(5000));

    // Nobody listens any more; start() listens again.
    TcpClient late(Transport::Wrapper);
    QSignalSpy failed(&late.socket, &QTcpSocket::errorOccurred);
    late.open(port);
    QVERIFY(failed.wait(5000));
    QCOMPARE(late.socket.error(), QAbstractSocket::ConnectionRefusedError);
    QVERIFY(simulator.start().ok());
    QVERIFY(simulator.port(0) != 0);
}

QTEST_GUILESS_MAIN(tst_Simulator)
#include "tst_simulator.moc"
