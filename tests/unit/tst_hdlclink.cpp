#include "hdlc.h"
#include "testsupport.h"

#include <QtCore/QFile>
#include <QtTest/QTest>

using namespace dlms;
using namespace dlms::hdlc;
using namespace dlms::test;
using Event = Link::Event;
using Kind = Link::Event::Kind;

namespace {

const Address ClientAddr = Address::client(16);
const Address ServerAddr = Address::server(1, 0);

QByteArray pattern(qsizetype n, int salt)
{
    QByteArray out(n, Qt::Uninitialized);
    for (qsizetype i = 0; i < n; ++i)
        out[i] = char((quint32(i) * 0x9E3779B1u + quint32(salt) * 0x85EBCA6Bu) >> 24); // no short period
    return out;
}

QByteArray wire(const Frame &f)
{
    QByteArray out;
    if (!encode(f, out).ok())
        qFatal("test frame does not encode");
    return out;
}

Frame toClient(quint8 control, QByteArray info = {}, bool segmented = false)
{
    return makeFrame(ClientAddr, ServerAddr, control, std::move(info), segmented);
}

Frame toServer(quint8 control, QByteArray info = {}, bool segmented = false)
{
    return makeFrame(ServerAddr, ClientAddr, control, std::move(info), segmented);
}

int countKind(const std::vector<Event> &events, Kind kind)
{
    return int(std::count_if(events.begin(), events.end(), [&](const Event &e) { return e.kind == kind; }));
}

int countType(const std::vector<Frame> &frames, FrameType type)
{
    return int(std::count_if(frames.begin(), frames.end(), [&](const Frame &f) { return f.type() == type; }));
}

QString describe(const std::vector<Event> &events)
{
    QStringList parts;
    for (const auto &e : events)
        parts << (e.kind == Kind::Error ? e.error.message : QString::number(int(e.kind)));
    return parts.join(QStringLiteral("; "));
}

// A client Link and a server Link joined by encode() and a Deframer each way.
struct Wire {
    explicit Wire(LinkParameters clientProposal = {}, LinkParameters serverProposal = {},
                  Address clientAddress = ClientAddr, Address serverAddress = ServerAddr)
        : client(Link::Role::Client, clientAddress, serverAddress, clientProposal)
        , server(Link::Role::Server, serverAddress, clientAddress, serverProposal)
    {
    }

    Link client;
    Link server;
    Deframer clientToServer;
    Deframer serverToClient;
    std::vector<Frame> sentByClient;
    std::vector<Frame> sentByServer;
    std::vector<Event> clientEvents;
    std::vector<Event> serverEvents;
    QString problem;

    bool carry(Link &from, Deframer &deframer, Link &to, std::vector<Frame> &log, std::vector<Event> &events)
    {
        const auto frames = from.takeOutgoing();
        if (frames.empty())
            return false;
        QByteArray bytes;
        for (const auto &f : frames) {
            const auto r = encode(f, bytes);
            if (!r.ok())
                problem = r.error().message;
            log.push_back(f);
        }
        // Odd chunk sizes, so reassembly across feeds is part of every exchange.
        for (qsizetype pos = 0; pos < bytes.size(); pos += 37)
            deframer.feed(QByteArrayView(bytes).sliced(pos, std::min<qsizetype>(37, bytes.size() - pos)));
        while (auto r = deframer.next()) {
            if (!r->ok()) {
                problem = r->error().message;
                continue;
            }
            for (auto &e : to.handleFrame(r->value()))
                events.push_back(std::move(e));
        }
        return true;
    }

    // Moves frames both ways until both sides are quiet.
    bool pump()
    {
        for (int round = 0; round < 100000; ++round) {
            const bool a = carry(client, clientToServer, server, sentByClient, serverEvents);
            const bool b = carry(server, serverToClient, client, sentByServer, clientEvents);
            if (!a && !b)
                return problem.isEmpty();
        }
        problem = QStringLiteral("links never went quiet");
        return false;
    }

    void clearLogs()
    {
        sentByClient.clear();
        sentByServer.clear();
        clientEvents.clear();
        serverEvents.clear();
    }

    bool connect()
    {
        client.connect();
        const bool ok = pump();
        const bool connected = client.state() == Link::State::Connected && server.state() == Link::State::Connected;
        clearLogs();
        return ok && connected;
    }
};

// Checks the I frames one side sent for one APDU: sizes, S bit, P bit per window.
void checkSegments(const std::vector<Frame> &frames, qsizetype apduSize, int maxInfo, int window)
{
    std::vector<Frame> iframes;
    for (const auto &f : frames) {
        if (f.type() == FrameType::I)
            iframes.push_back(f);
    }
    const qsizetype total = apduSize + 3;
    QCOMPARE(qsizetype(iframes.size()), (total + maxInfo - 1) / maxInfo);
    qsizetype bytes = 0;
    for (size_t i = 0; i < iframes.size(); ++i) {
        const bool last = i + 1 == iframes.size();
        QVERIFY(iframes[i].info.size() <= maxInfo);
        if (!last)
            QCOMPARE(iframes[i].info.size(), qsizetype(maxInfo));
        QCOMPARE(iframes[i].segmented, !last);
        QCOMPARE(iframes[i].pollFinal(), last || (i + 1) % size_t(window) == 0);
        bytes += iframes[i].info.size();
    }
    QCOMPARE(bytes, total);
}

// "> " client-to-meter and "< " meter-to-client lines of a recording in resources/recordings.
std::vector<std::pair<bool, QByteArray>> readRecording(const QString &name)
{
    std::vector<std::pair<bool, QByteArray>> lines;
    QFile in(QStringLiteral(DLMS_RECORDINGS_DIR) + u'/' + name);
    if (!in.open(QIODevice::ReadOnly | QIODevice::Text))
        return lines;
    while (!in.atEnd()) {
        const QByteArray line = in.readLine().trimmed();
        if (line.startsWith('>') || line.startsWith('<'))
            lines.emplace_back(line.startsWith('>'), QByteArray::fromHex(line.mid(1)));
    }
    return lines;
}

Frame decodeOne(const QByteArray &bytes)
{
    Deframer d;
    d.feed(bytes);
    auto r = d.next();
    if (!r || !r->ok())
        qFatal("recorded frame does not decode");
    return r->value();
}

} // namespace

class TestHdlcLink : public QObject {
    Q_OBJECT

private slots:
    void replayRecordingAsClient();
    void replayRecordingAsServer();
    void snrmBytes();
    void connectToMeterUa();
    void aarqFrameBytes();
    void clientRrBytes();
    void negotiation_data();
    void negotiation();
    void transfer_data();
    void transfer();
    void sequenceWrap();
    void outOfSequence();
    void badReceiveSequence();
    void goBackOnPartialAck();
    void rnrPauses();
    void rrWhenIdle();
    void disconnect();
    void dmAndDisconnectedServer();
    void frmrAndUnknownControl();
    void beforeConnection();
    void reassemblyCap();
    void badLlc();
    void sendApduErrors();
    void addressMismatch();
    void uiFrame();
    void snrmWhileConnectedResets();
    void resetForgetsEverything();
};

void TestHdlcLink::replayRecordingAsClient()
{
    // The client Link must produce every recorded client frame byte for byte.
    const auto lines = readRecording(QStringLiteral("hdlc-session.txt"));
    QVERIFY(lines.size() >= 10);
    Link client(Link::Role::Client, ClientAddr, ServerAddr);
    int apdus = 0;
    for (const auto &[fromClient, bytes] : lines) {
        const Frame recorded = decodeOne(bytes);
        if (fromClient) {
            switch (recorded.type()) {
            case FrameType::SNRM: client.connect(); break;
            case FrameType::DISC: client.disconnect(); break;
            case FrameType::I: QVERIFY(client.sendApdu(recorded.info.sliced(3)).ok()); break;
            default: QFAIL("unexpected frame type in the recording");
            }
            const auto out = client.takeOutgoing();
            QCOMPARE(out.size(), size_t(1));
            QCOMPARE(wire(out[0]).toHex(' '), bytes.toHex(' '));
            continue;
        }
        const auto events = client.handleFrame(recorded);
        QCOMPARE(events.size(), size_t(1));
        if (recorded.type() == FrameType::I) {
            QCOMPARE(events[0].kind, Kind::Apdu);
            QCOMPARE(events[0].apdu, recorded.info.sliced(3));
            ++apdus;
        } else {
            QVERIFY(events[0].kind == Kind::Connected || events[0].kind == Kind::Disconnected);
        }
        QVERIFY(!client.hasOutgoing());
    }
    QCOMPARE(apdus, 5);
    QCOMPARE(client.state(), Link::State::Disconnected);
}

void TestHdlcLink::replayRecordingAsServer()
{
    // The server Link must produce every recorded meter frame byte for byte, UA included.
    const auto lines = readRecording(QStringLiteral("hdlc-session.txt"));
    QVERIFY(lines.size() >= 10);
    Link server(Link::Role::Server, ServerAddr, ClientAddr);
    for (const auto &[fromClient, bytes] : lines) {
        const Frame recorded = decodeOne(bytes);
        if (fromClient) {
            const auto events = server.handleFrame(recorded);
            QCOMPARE(events.size(), size_t(1));
            if (recorded.type() == FrameType::I) {
                QCOMPARE(events[0].kind, Kind::Apdu);
                QCOMPARE(events[0].apdu, recorded.info.sliced(3));
            }
            continue;
        }
        if (recorded.type() == FrameType::I)
            QVERIFY(server.sendApdu(recorded.info.sliced(3)).ok());
        const auto out = server.takeOutgoing();
        QCOMPARE(out.size(), size_t(1));
        QCOMPARE(wire(out[0]).toHex(' '), bytes.toHex(' '));
    }
    QCOMPARE(server.state(), Link::State::Disconnected);
}

void TestHdlcLink::snrmBytes()
{
    // Default parameters: the classic empty SNRM.
    Link plain(Link::Role::Client, ClientAddr, ServerAddr);
    plain.connect();
    const auto classic = plain.takeOutgoing();
    QCOMPARE(classic.size(), size_t(1));
    QCOMPARE(wire(classic[0]), QByteArray::fromHex("7EA0070321930F017E"));

    // A public example: SNRM from client 16 to server 1/17 (4-byte), window-rx 7.
    Link client(Link::Role::Client, ClientAddr, Address::server(1, 17, 4), {128, 128, 1, 7});
    QCOMPARE(client.state(), Link::State::Disconnected);
    client.connect();
    QCOMPARE(client.state(), Link::State::Connecting);
    const auto out = client.takeOutgoing();
    QCOMPARE(out.size(), size_t(1));
    QCOMPARE(wire(out[0]), QByteArray::fromHex("7EA0210002002321931964818012050180060180070400000001080400000007655E7E"));
    QVERIFY(!client.hasOutgoing());
}

void TestHdlcLink::connectToMeterUa()
{
    Link client(Link::Role::Client, ClientAddr, Address::server(1, 17, 4), {256, 256, 1, 1});
    client.connect();
    client.takeOutgoing();
    // The meter's UA from the DLMS UA examples (2-byte max-info values, 4-byte windows).
    Deframer d;
    d.feed(QByteArray::fromHex("7EA023210002002373F6C58180140502008006020080070400000001080400000001CE6A7E"));
    auto ua = d.next();
    QVERIFY(ua && ua->ok());
    const auto events = client.handleFrame(ua->value());
    QCOMPARE(events.size(), size_t(1));
    QCOMPARE(events[0].kind, Kind::Connected);
    QCOMPARE(client.state(), Link::State::Connected);
    QCOMPARE(client.negotiated(), (LinkParameters{128, 128, 1, 1}));
    QVERIFY(!client.hasOutgoing());
}

void TestHdlcLink::aarqFrameBytes()
{
    // After the SNRM/UA above, the AARQ goes out as exactly the example's I frame.
    Link client(Link::Role::Client, ClientAddr, Address::server(1, 17, 4));
    client.connect();
    client.takeOutgoing();
    QCOMPARE(client.handleFrame(makeFrame(ClientAddr, Address::server(1, 17, 4), control::Ua)).size(), size_t(1));
    const QByteArray aarq = QByteArray::fromHex("601DA109060760857405080101BE10040E01000000065F1F040000301DFFFF");
    QVERIFY(client.sendApdu(aarq).ok());
    const auto out = client.takeOutgoing();
    QCOMPARE(out.size(), size_t(1));
    QCOMPARE(wire(out[0]), QByteArray::fromHex("7EA02E0002002321107ECBE6E600601DA109060760857405080101BE10040E01000000065F1F"
                                               "040000301DFFFFD4C57E"));
}

void TestHdlcLink::clientRrBytes()
{
    Link client(Link::Role::Client, ClientAddr, ServerAddr);
    client.connect();
    client.takeOutgoing();
    QVERIFY(!client.handleFrame(toClient(control::Ua)).empty());
    QVERIFY(client.sendApdu(QByteArray::fromHex("C001C100080000010000FF0200")).ok());
    client.takeOutgoing();
    // A segmented response; each non-final segment is answered with RR N(R)=next.
    auto events = client.handleFrame(toClient(control::i(0, 1, true), QByteArray::fromHex("E6E700C401C100"), true));
    QVERIFY(events.empty());
    auto out = client.takeOutgoing();
    QCOMPARE(out.size(), size_t(1));
    QCOMPARE(wire(out[0]), QByteArray::fromHex("7EA00703213117877E"));
    events = client.handleFrame(toClient(control::i(1, 1, true), QByteArray::fromHex("0906"), true));
    QVERIFY(events.empty());
    out = client.takeOutgoing();
    QCOMPARE(out.size(), size_t(1));
    QCOMPARE(wire(out[0]), QByteArray::fromHex("7EA00703215111E47E"));
    events = client.handleFrame(toClient(control::i(2, 1, true), QByteArray::fromHex("0102"), false));
    QCOMPARE(events.size(), size_t(1));
    QCOMPARE(events[0].kind, Kind::Apdu);
    QCOMPARE(events[0].apdu, QByteArray::fromHex("C401C10009060102"));
    QVERIFY(!client.hasOutgoing()); // the final segment needs no RR
}

void TestHdlcLink::negotiation_data()
{
    QTest::addColumn<LinkParameters>("clientProposal");
    QTest::addColumn<LinkParameters>("serverProposal");
    QTest::addColumn<LinkParameters>("clientView");
    QTest::addColumn<LinkParameters>("serverView");
    QTest::newRow("defaults") << LinkParameters{} << LinkParameters{} << LinkParameters{128, 128, 1, 1}
                              << LinkParameters{128, 128, 1, 1};
    // Directions matter: the client's rx limit caps what the server sends, and so on.
    QTest::newRow("asymmetric") << LinkParameters{500, 300, 3, 2} << LinkParameters{200, 1000, 7, 7}
                                << LinkParameters{500, 200, 3, 2} << LinkParameters{200, 500, 2, 3};
    QTest::newRow("server-smaller") << LinkParameters{2000, 2000, 7, 7} << LinkParameters{256, 512, 1, 1}
                                    << LinkParameters{512, 256, 1, 1} << LinkParameters{256, 512, 1, 1};
    // 1-byte addresses: 2047 - 9 bytes of framing leaves 2038; windows stop at 7, start at 1.
    QTest::newRow("clamped") << LinkParameters{0xFFFF, 0xFFFF, 100, 0} << LinkParameters{0xFFFF, 0xFFFF, 7, 7}
                             << LinkParameters{2038, 2038, 7, 1} << LinkParameters{2038, 2038, 1, 7};
}

void TestHdlcLink::negotiation()
{
    QFETCH(LinkParameters, clientProposal);
    QFETCH(LinkParameters, serverProposal);
    QFETCH(LinkParameters, clientView);
    QFETCH(LinkParameters, serverView);
    Wire w(clientProposal, serverProposal);
    w.client.connect();
    QVERIFY2(w.pump(), qPrintable(w.problem));
    QCOMPARE(w.sentByClient.size(), size_t(1));
    QCOMPARE(w.sentByServer.size(), size_t(1));
    QCOMPARE(w.sentByServer[0].type(), FrameType::UA);
    QVERIFY(w.sentByServer[0].pollFinal());
    QCOMPARE(w.sentByServer[0].info, encodeParameters(serverView));
    QCOMPARE(countKind(w.clientEvents, Kind::Connected), 1);
    QCOMPARE(countKind(w.serverEvents, Kind::Connected), 1);
    QCOMPARE(w.client.negotiated(), clientView);
    QCOMPARE(w.server.negotiated(), serverView);
    QCOMPARE(w.client.negotiated().maxInfoTx, w.server.negotiated().maxInfoRx);
    QCOMPARE(w.client.negotiated().maxInfoRx, w.server.negotiated().maxInfoTx);
    QCOMPARE(w.client.negotiated().windowTx, w.server.negotiated().windowRx);
    QCOMPARE(w.client.negotiated().windowRx, w.server.negotiated().windowTx);
}

void TestHdlcLink::transfer_data()
{
    QTest::addColumn<int>("size");
    QTest::addColumn<int>("maxInfo");
    QTest::addColumn<int>("window");
    QTest::addColumn<int>("iFrames");
    QTest::addColumn<int>("rrFrames");
    // ceil((5000 + 3) / 128) = 40 I frames; one RR per window except after the last frame.
    QTest::newRow("hdlc-5000-bytes-window-1") << 5000 << 128 << 1 << 40 << 39;
    QTest::newRow("hdlc-5000-bytes-window-3") << 5000 << 128 << 3 << 40 << 13;
    QTest::newRow("hdlc-5000-bytes-window-7") << 5000 << 128 << 7 << 40 << 5;
    QTest::newRow("hdlc-segmented-3-frames") << 250 << 100 << 1 << 3 << 2;
    QTest::newRow("hdlc-exactly-one-frame") << 125 << 128 << 1 << 1 << 0;
    QTest::newRow("hdlc-one-byte-over") << 126 << 128 << 1 << 2 << 1;
    QTest::newRow("hdlc-empty-apdu") << 0 << 128 << 1 << 1 << 0;
    QTest::newRow("hdlc-max-info-2038") << 10000 << 2038 << 2 << 5 << 2;
}

void TestHdlcLink::transfer()
{
    QFETCH(int, size);
    QFETCH(int, maxInfo);
    QFETCH(int, window);
    QFETCH(int, iFrames);
    QFETCH(int, rrFrames);
    const LinkParameters params{quint16(maxInfo), quint16(maxInfo), quint32(window), quint32(window)};
    Wire w(params, params);
    QVERIFY(w.connect());

    // Client to server.
    const QByteArray request = pattern(size, 1);
    QVERIFY(w.client.sendApdu(request).ok());
    QVERIFY2(w.pump(), qPrintable(w.problem));
    QCOMPARE(countType(w.sentByClient, FrameType::I), iFrames);
    QCOMPARE(countType(w.sentByServer, FrameType::RR), rrFrames);
    QCOMPARE(int(w.sentByClient.size()), iFrames);
    QCOMPARE(int(w.sentByServer.size()), rrFrames);
    checkSegments(w.sentByClient, size, maxInfo, window);
    if (QTest::currentTestFailed())
        return;
    QCOMPARE(w.serverEvents.size(), size_t(1));
    QCOMPARE(w.serverEvents[0].kind, Kind::Apdu);
    QCOMPARE(w.serverEvents[0].apdu, request);
    QVERIFY2(w.clientEvents.empty(), qPrintable(describe(w.clientEvents)));
    QCOMPARE(w.sentByClient.front().info.first(3), QByteArray::fromHex("E6E600"));
    w.clearLogs();

    // Server to client.
    const QByteArray response = pattern(size, 2);
    QVERIFY(w.server.sendApdu(response).ok());
    QVERIFY2(w.pump(), qPrintable(w.problem));
    QCOMPARE(countType(w.sentByServer, FrameType::I), iFrames);
    QCOMPARE(countType(w.sentByClient, FrameType::RR), rrFrames);
    QCOMPARE(int(w.sentByServer.size()), iFrames);
    QCOMPARE(int(w.sentByClient.size()), rrFrames);
    checkSegments(w.sentByServer, size, maxInfo, window);
    if (QTest::currentTestFailed())
        return;
    QCOMPARE(w.sentByServer.front().info.first(3), QByteArray::fromHex("E6E700"));
    QCOMPARE(w.clientEvents.size(), size_t(1));
    QCOMPARE(w.clientEvents[0].kind, Kind::Apdu);
    QCOMPARE(w.clientEvents[0].apdu, response);
    QVERIFY2(w.serverEvents.empty(), qPrintable(describe(w.serverEvents)));
}

void TestHdlcLink::sequenceWrap()
{
    const LinkParameters params{128, 128, 2, 2};
    Wire w(params, params);
    QVERIFY(w.connect());
    int expectedClientNs = 0;
    int expectedServerNs = 0;
    for (int round = 0; round < 12; ++round) {
        const QByteArray request = pattern(300 + round, round); // 3 segments
        const QByteArray response = pattern(200 + round, ~round); // 2 segments
        QVERIFY(w.client.sendApdu(request).ok());
        QVERIFY2(w.pump(), qPrintable(w.problem));
        QCOMPARE(w.serverEvents.size(), size_t(1));
        QCOMPARE(w.serverEvents[0].apdu, request);
        QVERIFY(w.server.sendApdu(response).ok());
        QVERIFY2(w.pump(), qPrintable(w.problem));
        QCOMPARE(w.clientEvents.size(), size_t(1));
        QCOMPARE(w.clientEvents[0].apdu, response);
        // N(S) runs on modulo 8 across APDUs on both sides.
        for (const auto &f : w.sentByClient) {
            if (f.type() == FrameType::I) {
                QCOMPARE(int(f.sendSeq()), expectedClientNs);
                expectedClientNs = (expectedClientNs + 1) % 8;
            }
        }
        for (const auto &f : w.sentByServer) {
            if (f.type() == FrameType::I) {
                QCOMPARE(int(f.sendSeq()), expectedServerNs);
                expectedServerNs = (expectedServerNs + 1) % 8;
            }
        }
        w.clearLogs();
    }
    // 12 rounds x 3 client frames = 36 = 4 wraps + 4.
    QCOMPARE(expectedClientNs, 36 % 8);
    QCOMPARE(expectedServerNs, 24 % 8);
}

void TestHdlcLink::outOfSequence()
{
    Wire w;
    QVERIFY(w.connect());
    // N(S)=3 where 0 is expected: error, frame dropped, RR with V(R)=0.
    auto events = w.server.handleFrame(toServer(control::i(3, 0, true), QByteArray::fromHex("E6E600C0")));
    QCOMPARE(events.size(), size_t(1));
    QCOMPARE(events[0].kind, Kind::Error);
    QCOMPARE(events[0].error.code, ErrorCode::UnexpectedFrame);
    QVERIFY2(events[0].error.message.contains(QStringLiteral("N(S)=3")), qPrintable(events[0].error.message));
    auto out = w.server.takeOutgoing();
    QCOMPARE(out.size(), size_t(1));
    QCOMPARE(out[0].control, control::rr(0, true));
    // The expected frame is still accepted.
    events = w.server.handleFrame(toServer(control::i(0, 0, true), QByteArray::fromHex("E6E600C0")));
    QCOMPARE(events.size(), size_t(1));
    QCOMPARE(events[0].kind, Kind::Apdu);
    QCOMPARE(events[0].apdu, QByteArray::fromHex("C0"));
    // A repeat of it is out of sequence now.
    events = w.server.handleFrame(toServer(control::i(0, 0, true), QByteArray::fromHex("E6E600C0")));
    QCOMPARE(countKind(events, Kind::Error), 1);
    QCOMPARE(countKind(events, Kind::Apdu), 0);
}

void TestHdlcLink::badReceiveSequence()
{
    Wire w;
    QVERIFY(w.connect());
    // The server has sent nothing, so N(R)=5 acknowledges frames that never existed.
    const auto events = w.server.handleFrame(toServer(control::i(0, 5, true), QByteArray::fromHex("E6E600C0")));
    QCOMPARE(events.size(), size_t(1));
    QCOMPARE(events[0].kind, Kind::Error);
    QVERIFY2(events[0].error.message.contains(QStringLiteral("N(R)=5")), qPrintable(events[0].error.message));
    const auto rr = w.client.handleFrame(toClient(control::rr(2, true)));
    QCOMPARE(countKind(rr, Kind::Error), 1);
}

void TestHdlcLink::goBackOnPartialAck()
{
    const LinkParameters params{128, 128, 3, 3};
    Wire w(params, params);
    QVERIFY(w.connect());
    const QByteArray apdu = pattern(1000, 9);
    QVERIFY(w.client.sendApdu(apdu).ok());
    const auto first = w.client.takeOutgoing();
    QCOMPARE(first.size(), size_t(3));
    QCOMPARE(first[2].pollFinal(), true);
    // The peer got only the first frame: N(R)=1. The client goes back to N(S)=1.
    const auto events = w.client.handleFrame(toClient(control::rr(1, true)));
    QVERIFY2(events.empty(), qPrintable(describe(events)));
    const auto again = w.client.takeOutgoing();
    QCOMPARE(again.size(), size_t(3));
    QCOMPARE(int(again[0].sendSeq()), 1);
    QCOMPARE(again[0].info, first[1].info);
    QCOMPARE(again[1].info, first[2].info);
    QCOMPARE(int(again[2].sendSeq()), 3);
    QCOMPARE(again[2].info, apdu.sliced(3 * 128 - 3, 128));
}

void TestHdlcLink::rnrPauses()
{
    Wire w;
    QVERIFY(w.connect());
    QVERIFY(w.client.sendApdu(pattern(300, 3)).ok());
    QCOMPARE(w.client.takeOutgoing().size(), size_t(1));
    // Receiver not ready: the first frame is acknowledged, but nothing more goes out.
    auto events = w.client.handleFrame(toClient(control::rnr(1, true)));
    QVERIFY(events.empty());
    QVERIFY(!w.client.hasOutgoing());
    events = w.client.handleFrame(toClient(control::rr(1, true)));
    QVERIFY(events.empty());
    const auto out = w.client.takeOutgoing();
    QCOMPARE(out.size(), size_t(1));
    QCOMPARE(int(out[0].sendSeq()), 1);
    QVERIFY(out[0].segmented);
}

void TestHdlcLink::rrWhenIdle()
{
    Wire w;
    QVERIFY(w.connect());
    // Client with nothing outstanding: an RR is simply noted.
    auto events = w.client.handleFrame(toClient(control::rr(0, true)));
    QVERIFY(events.empty());
    QVERIFY(!w.client.hasOutgoing());
    // Server polled with nothing to send answers RR with F, as a secondary must.
    events = w.server.handleFrame(toServer(control::rr(0, true)));
    QVERIFY(events.empty());
    const auto out = w.server.takeOutgoing();
    QCOMPARE(out.size(), size_t(1));
    QCOMPARE(out[0].control, control::rr(0, true));
    // Without the poll bit, no answer.
    events = w.server.handleFrame(toServer(control::rr(0, false)));
    QVERIFY(events.empty());
    QVERIFY(!w.server.hasOutgoing());
}

void TestHdlcLink::disconnect()
{
    Wire w;
    QVERIFY(w.connect());
    w.client.disconnect();
    QCOMPARE(w.client.state(), Link::State::Disconnecting);
    QVERIFY2(w.pump(), qPrintable(w.problem));
    QCOMPARE(w.sentByClient.size(), size_t(1));
    QCOMPARE(w.sentByClient[0].control, control::Disc);
    QCOMPARE(w.sentByServer.size(), size_t(1));
    QCOMPARE(w.sentByServer[0].control, control::Ua);
    QCOMPARE(countKind(w.serverEvents, Kind::Disconnected), 1);
    QCOMPARE(countKind(w.clientEvents, Kind::Disconnected), 1);
    QCOMPARE(w.client.state(), Link::State::Disconnected);
    QCOMPARE(w.server.state(), Link::State::Disconnected);
    QVERIFY(!w.client.sendApdu("x").ok());
    // And again from scratch.
    QVERIFY(w.connect());
}

void TestHdlcLink::dmAndDisconnectedServer()
{
    // The meter refuses the SNRM with DM.
    Link client(Link::Role::Client, ClientAddr, ServerAddr);
    client.connect();
    client.takeOutgoing();
    auto events = client.handleFrame(toClient(control::Dm));
    QCOMPARE(events.size(), size_t(1));
    QCOMPARE(events[0].kind, Kind::Disconnected);
    QCOMPARE(client.state(), Link::State::Disconnected);
    QVERIFY(client.handleFrame(toClient(control::Dm)).empty()); // already down: nothing new

    // DM answers DISC too.
    Wire w;
    QVERIFY(w.connect());
    w.client.disconnect();
    w.client.takeOutgoing();
    events = w.client.handleFrame(toClient(control::Dm));
    QCOMPARE(countKind(events, Kind::Disconnected), 1);

    // A server in disconnected mode answers DISC, I and RR with DM.
    Link server(Link::Role::Server, ServerAddr, ClientAddr);
    QVERIFY(server.handleFrame(toServer(control::Disc)).empty());
    events = server.handleFrame(toServer(control::i(0, 0, true), QByteArray::fromHex("E6E600C0")));
    QCOMPARE(countKind(events, Kind::Error), 1);
    events = server.handleFrame(toServer(control::rr(0, true)));
    QCOMPARE(countKind(events, Kind::Error), 1);
    const auto out = server.takeOutgoing();
    QCOMPARE(out.size(), size_t(3));
    for (const auto &f : out)
        QCOMPARE(f.control, control::Dm);
}

void TestHdlcLink::frmrAndUnknownControl()
{
    Wire w;
    QVERIFY(w.connect());
    auto events = w.client.handleFrame(toClient(control::Frmr, QByteArray::fromHex("190001")));
    QCOMPARE(events.size(), size_t(1));
    QCOMPARE(events[0].kind, Kind::Error);
    QCOMPARE(events[0].error.code, ErrorCode::Rejected);
    QVERIFY2(events[0].error.message.contains(QStringLiteral("19 00 01")), qPrintable(events[0].error.message));

    // REJ is not part of IEC 62056-46: the server reports it and answers FRMR.
    events = w.server.handleFrame(toServer(0x19));
    QCOMPARE(events.size(), size_t(1));
    QCOMPARE(events[0].kind, Kind::Error);
    const auto out = w.server.takeOutgoing();
    QCOMPARE(out.size(), size_t(1));
    QCOMPARE(out[0].control, control::Frmr);
    QCOMPARE(out[0].info, QByteArray::fromHex("190001"));
}

void TestHdlcLink::beforeConnection()
{
    Link client(Link::Role::Client, ClientAddr, ServerAddr);
    auto events = client.handleFrame(toClient(control::i(0, 0, true), QByteArray::fromHex("E6E700C4")));
    QCOMPARE(events.size(), size_t(1));
    QCOMPARE(events[0].kind, Kind::Error);
    QCOMPARE(events[0].error.code, ErrorCode::UnexpectedFrame);
    events = client.handleFrame(toClient(control::Ua));
    QCOMPARE(countKind(events, Kind::Error), 1); // UA without SNRM
    events = client.handleFrame(toClient(control::Snrm));
    QCOMPARE(countKind(events, Kind::Error), 1); // a client is never asked to connect
    QVERIFY(!client.hasOutgoing());
    QCOMPARE(client.state(), Link::State::Disconnected);
}

void TestHdlcLink::reassemblyCap()
{
    Wire w;
    QVERIFY(w.connect());
    QVERIFY(w.client.sendApdu(QByteArray::fromHex("C001C1")).ok());
    w.client.takeOutgoing();
    // A server that never ends its segmented response.
    const QByteArray chunk = pattern(2000, 5);
    quint8 ns = 0;
    int errors = 0;
    int frames = 0;
    for (qsizetype sent = 0; sent <= Link::MaxReassembledApdu + 4000; sent += chunk.size()) {
        const QByteArray info = ns == 0 && frames == 0 ? QByteArray::fromHex("E6E700") + chunk : chunk;
        const auto events = w.client.handleFrame(toClient(control::i(ns, 1, true), info, true));
        errors += countKind(events, Kind::Error);
        QCOMPARE(countKind(events, Kind::Apdu), 0);
        ns = (ns + 1) & 7;
        ++frames;
        w.client.takeOutgoing();
    }
    QCOMPARE(errors, 1);
    // The final segment of the oversized APDU delivers nothing; the next APDU is fine.
    auto events = w.client.handleFrame(toClient(control::i(ns, 1, true), chunk, false));
    QVERIFY(events.empty());
    ns = (ns + 1) & 7;
    events = w.client.handleFrame(toClient(control::i(ns, 1, true), QByteArray::fromHex("E6E700C401"), false));
    QCOMPARE(events.size(), size_t(1));
    QCOMPARE(events[0].apdu, QByteArray::fromHex("C401"));
}

void TestHdlcLink::badLlc()
{
    Wire w;
    QVERIFY(w.connect());
    // The request LLC (E6 E6) is wrong in a response; a segmented APDU is dropped whole.
    auto events = w.client.handleFrame(toClient(control::i(0, 0, true), QByteArray::fromHex("E6E600C4"), true));
    QCOMPARE(events.size(), size_t(1));
    QCOMPARE(events[0].error.code, ErrorCode::Malformed);
    QVERIFY2(events[0].error.message.contains(QStringLiteral("e6 e7 00")), qPrintable(events[0].error.message));
    events = w.client.handleFrame(toClient(control::i(1, 0, true), QByteArray::fromHex("0102"), false));
    QVERIFY(events.empty());
    events = w.client.handleFrame(toClient(control::i(2, 0, true), QByteArray::fromHex("E6E700C4"), false));
    QCOMPARE(events.size(), size_t(1));
    QCOMPARE(events[0].kind, Kind::Apdu);
    // Shorter than the LLC header.
    events = w.client.handleFrame(toClient(control::i(3, 0, true), QByteArray::fromHex("E6"), false));
    QCOMPARE(countKind(events, Kind::Error), 1);
}

void TestHdlcLink::sendApduErrors()
{
    Link client(Link::Role::Client, ClientAddr, ServerAddr);
    auto r = client.sendApdu("x");
    QVERIFY(!r.ok());
    QCOMPARE(r.error().code, ErrorCode::InvalidArgument);
    QVERIFY(!client.hasOutgoing());

    Wire w;
    QVERIFY(w.connect());
    QVERIFY(w.client.sendApdu(pattern(1000, 0)).ok());
    r = w.client.sendApdu("y");
    QVERIFY(!r.ok());
    QVERIFY2(r.error().message.contains(QStringLiteral("still to go")), qPrintable(r.error().message));
}

void TestHdlcLink::addressMismatch()
{
    Wire w;
    QVERIFY(w.connect());
    const auto events = w.server.handleFrame(makeFrame(ServerAddr, Address::client(1), control::i(0, 0, true), "\xE6\xE6"));
    QCOMPARE(events.size(), size_t(1));
    QCOMPARE(events[0].error.code, ErrorCode::BadAddress);
    QVERIFY(!w.server.hasOutgoing());
    // The same station in a wider encoding is still the same station.
    const auto wide = w.client.handleFrame(makeFrame(ClientAddr, Address::server(1, 0, 4), control::rr(0, false)));
    QVERIFY2(wide.empty(), qPrintable(describe(wide)));
}

void TestHdlcLink::uiFrame()
{
    Link client(Link::Role::Client, ClientAddr, ServerAddr);
    auto events = client.handleFrame(toClient(control::Ui, QByteArray::fromHex("E6E7000F00000001")));
    QCOMPARE(events.size(), size_t(1));
    QCOMPARE(events[0].kind, Kind::Apdu);
    QCOMPARE(events[0].apdu, QByteArray::fromHex("0F00000001"));
    events = client.handleFrame(toClient(control::Ui, QByteArray::fromHex("0F00000001")));
    QCOMPARE(countKind(events, Kind::Error), 1);
}

void TestHdlcLink::snrmWhileConnectedResets()
{
    Wire w;
    QVERIFY(w.connect());
    QVERIFY(w.client.sendApdu(pattern(10, 0)).ok());
    QVERIFY(w.pump());
    QVERIFY(w.server.sendApdu(pattern(10, 1)).ok());
    QVERIFY(w.pump());
    w.clearLogs();
    // A new SNRM starts both sides over from N(S)=0.
    QVERIFY(w.connect());
    QVERIFY(w.client.sendApdu(pattern(10, 2)).ok());
    QVERIFY(w.pump());
    QCOMPARE(w.sentByClient.size(), size_t(1));
    QCOMPARE(w.sentByClient[0].control, control::i(0, 0, true));
    QCOMPARE(countKind(w.serverEvents, Kind::Apdu), 1);
}

void TestHdlcLink::resetForgetsEverything()
{
    Wire w;
    QVERIFY(w.connect());
    QVERIFY(w.client.sendApdu(pattern(1000, 0)).ok());
    w.client.reset();
    QCOMPARE(w.client.state(), Link::State::Disconnected);
    QVERIFY(!w.client.hasOutgoing());
    QCOMPARE(w.client.negotiated(), (LinkParameters{}));
    // Server side: its DISC handling is the same reset.
    QVERIFY(w.connect());
    QVERIFY(w.client.sendApdu(pattern(10, 0)).ok());
    QVERIFY(w.pump());
    QCOMPARE(countKind(w.serverEvents, Kind::Apdu), 1);
}

QTEST_GUILESS_MAIN(TestHdlcLink)
#include "tst_hdlclink.moc"
