#include "hdlc.h"
#include "testsupport.h"

#include <QtCore/QRandomGenerator>
#include <QtTest/QTest>

using namespace dlms;
using namespace dlms::hdlc;
using namespace dlms::test;

namespace {

// Bit-at-a-time CRC-16/X.25 straight from its definition, to check the table-driven one and
// the CRCs inside every vector below independently of the library.
quint16 referenceCrc(QByteArrayView data)
{
    quint16 crc = 0xFFFF;
    for (const char ch : data) {
        crc ^= quint8(ch);
        for (int bit = 0; bit < 8; ++bit)
            crc = (crc & 1) ? quint16((crc >> 1) ^ 0x8408) : quint16(crc >> 1);
    }
    return quint16(crc ^ 0xFFFF);
}

// Checks a vector's own HCS/FCS with the reference CRC, so a typo in a vector cannot pass.
bool vectorChecksumsOk(const QByteArray &wire, qsizetype headerLength)
{
    const QByteArray body = wire.sliced(1, wire.size() - 2);
    const auto le = [&](qsizetype at) { return quint16(quint8(body[at]) | (quint8(body[at + 1]) << 8)); };
    if (referenceCrc(body.first(body.size() - 2)) != le(body.size() - 2))
        return false;
    if (body.size() > headerLength + 2)
        return referenceCrc(body.first(headerLength)) == le(headerLength);
    return true;
}

// Wraps a frame body (format..info) in flags with a correct FCS.
QByteArray withFcs(const QByteArray &body)
{
    const quint16 c = referenceCrc(body);
    QByteArray out;
    out.append('\x7E');
    out.append(body);
    out.append(char(c & 0xFF));
    out.append(char(c >> 8));
    out.append('\x7E');
    return out;
}

const Address Client16 = Address::client(16);
const Address Server1 = Address::server(1, 0);
const Address Server1Phys17 = Address::server(1, 17, 4);

} // namespace

class TestHdlc : public QObject {
    Q_OBJECT

private slots:
    void crc_data();
    void crc();
    void crcMatchesReference();

    void addressServerSize_data();
    void addressServerSize();
    void addressRoundTrip_data();
    void addressRoundTrip();
    void addressToString();

    void frameType_data();
    void frameType();
    void frameTypeExhaustive();
    void controlBuilders();

    void vectors_data();
    void vectors();
    void vectorEveryChunking_data() { vectors_data(); }
    void vectorEveryChunking();
    void encodeErrors_data();
    void encodeErrors();
    void encodeMaximumLength();

    void deframerSharedAndRepeatedFlags();
    void deframerGarbage();
    void deframerGarbageAcrossFeeds();
    void deframerBadFrames_data();
    void deframerBadFrames();
    void deframerTruncatedWaits();
    void deframerLongLengthWaits();
    void deframerBoundedOnGarbage();
    void deframerClear();
    void deframerRandomRoundTrip();

    void parametersEncode();
    void parametersDecode_data();
    void parametersDecode();
    void parametersErrors_data();
    void parametersErrors();
    void parametersRoundTrip();
};

void TestHdlc::crc_data()
{
    QTest::addColumn<QByteArray>("data");
    QTest::addColumn<int>("expected");
    QTest::newRow("empty") << QByteArray() << 0x0000;
    // The catalogue check value of CRC-16/X.25 (a.k.a. CRC-16/IBM-SDLC).
    QTest::newRow("check-123456789") << QByteArray("123456789") << 0x906E;
    // Header of the classic SNRM: FCS on the wire is 0F 01, least significant byte first.
    QTest::newRow("snrm-a0-07-03-21-93") << QByteArray::fromHex("A007032193") << 0x010F;
}

void TestHdlc::crc()
{
    QFETCH(QByteArray, data);
    QFETCH(int, expected);
    QCOMPARE(crc16(data), quint16(expected));
    QCOMPARE(referenceCrc(data), quint16(expected));
}

void TestHdlc::crcMatchesReference()
{
    const quint32 seed = 0x48444C43;
    QRandomGenerator rng(seed);
    for (int i = 0; i < 500; ++i) {
        const QByteArray data = randomBytes(rng, rng.bounded(0, 300));
        if (crc16(data) != referenceCrc(data))
            QFAIL(qPrintable(QStringLiteral("seed %1, iteration %2: %3").arg(seed).arg(i).arg(QString::fromLatin1(data.toHex()))));
    }
}

void TestHdlc::addressServerSize_data()
{
    QTest::addColumn<int>("logical");
    QTest::addColumn<int>("physical");
    QTest::addColumn<int>("size");
    QTest::newRow("no-physical-1-byte") << 1 << 0 << 1;
    QTest::newRow("no-physical-max-7-bits") << 0x7F << 0 << 1;
    QTest::newRow("no-physical-logical-0x80-needs-4") << 0x80 << 0 << 4;
    QTest::newRow("both-7-bits-2-bytes") << 1 << 17 << 2;
    QTest::newRow("both-max-7-bits") << 0x7F << 0x7F << 2;
    QTest::newRow("physical-0x80-needs-4") << 1 << 0x80 << 4;
    QTest::newRow("physical-0x3fff") << 1 << 0x3FFF << 4;
}

void TestHdlc::addressServerSize()
{
    QFETCH(int, logical);
    QFETCH(int, physical);
    QFETCH(int, size);
    const Address a = Address::server(quint16(logical), quint16(physical));
    QCOMPARE(int(a.size), size);
    QCOMPARE(int(a.upper), logical);
    QCOMPARE(int(a.lower), physical);
    QCOMPARE(int(Address::server(1, 17, 4).size), 4); // explicit size wins
}

void TestHdlc::addressRoundTrip_data()
{
    // The destination address as it appears on the wire, in an RR frame from client 16.
    QTest::addColumn<Address>("address");
    QTest::addColumn<QByteArray>("wire");
    QTest::newRow("1-byte-1") << Address::server(1, 0) << QByteArray::fromHex("03");
    QTest::newRow("1-byte-0x7f") << Address::server(0x7F, 0) << QByteArray::fromHex("FF");
    QTest::newRow("1-byte-0") << Address::server(0, 0, 1) << QByteArray::fromHex("01");
    QTest::newRow("2-byte-1-17") << Address::server(1, 17, 2) << QByteArray::fromHex("0223");
    QTest::newRow("2-byte-max") << Address::server(0x7F, 0x7F, 2) << QByteArray::fromHex("FEFF");
    QTest::newRow("4-byte-1-17") << Address::server(1, 17, 4) << QByteArray::fromHex("00020023");
    QTest::newRow("4-byte-0x80-0x81") << Address::server(0x80, 0x81, 4) << QByteArray::fromHex("02000203");
    QTest::newRow("4-byte-max") << Address::server(0x3FFF, 0x3FFF, 4) << QByteArray::fromHex("FEFEFEFF");
    QTest::newRow("4-byte-0-0") << Address::server(0, 0, 4) << QByteArray::fromHex("00000001");
}

void TestHdlc::addressRoundTrip()
{
    QFETCH(Address, address);
    QFETCH(QByteArray, wire);
    // As destination (client -> server) and as source (server -> client).
    QByteArray out;
    QVERIFY(encode(makeFrame(address, Client16, control::rr(0, true)), out).ok());
    QCOMPARE(out.sliced(3, wire.size()), wire);
    Deframer d;
    d.feed(out);
    auto r = d.next();
    QVERIFY(r && r->ok());
    QCOMPARE((*r)->destination, address);

    out.clear();
    QVERIFY(encode(makeFrame(Client16, address, control::rr(0, true)), out).ok());
    QCOMPARE(out.sliced(4, wire.size()), wire);
    d.feed(out);
    r = d.next();
    QVERIFY(r && r->ok());
    QCOMPARE((*r)->source, address);
}

void TestHdlc::addressToString()
{
    QCOMPARE(Client16.toString(), QStringLiteral("16"));
    QCOMPARE(Server1Phys17.toString(), QStringLiteral("1/17"));
}

void TestHdlc::frameType_data()
{
    QTest::addColumn<int>("control");
    QTest::addColumn<FrameType>("type");
    QTest::addColumn<bool>("pf");
    QTest::newRow("I-first") << 0x10 << FrameType::I << true;
    QTest::newRow("I-ns3-nr5-no-poll") << 0xA6 << FrameType::I << false;
    QTest::newRow("I-ns7-nr7-poll") << 0xFE << FrameType::I << true;
    QTest::newRow("RR-nr0-poll") << 0x11 << FrameType::RR << true;
    QTest::newRow("RR-nr2-poll") << 0x51 << FrameType::RR << true;
    QTest::newRow("RR-nr7-no-poll") << 0xE1 << FrameType::RR << false;
    QTest::newRow("RNR-nr1-poll") << 0x35 << FrameType::RNR << true;
    QTest::newRow("RNR-nr6-no-poll") << 0xC5 << FrameType::RNR << false;
    QTest::newRow("REJ-unknown") << 0x19 << FrameType::Unknown << true;
    QTest::newRow("SREJ-unknown") << 0x1D << FrameType::Unknown << true;
    QTest::newRow("SNRM-P") << 0x93 << FrameType::SNRM << true;
    QTest::newRow("SNRM") << 0x83 << FrameType::SNRM << false;
    QTest::newRow("DISC-P") << 0x53 << FrameType::DISC << true;
    QTest::newRow("DISC") << 0x43 << FrameType::DISC << false;
    QTest::newRow("UA-F") << 0x73 << FrameType::UA << true;
    QTest::newRow("UA") << 0x63 << FrameType::UA << false;
    QTest::newRow("DM-F") << 0x1F << FrameType::DM << true;
    QTest::newRow("DM") << 0x0F << FrameType::DM << false;
    QTest::newRow("FRMR-F") << 0x97 << FrameType::FRMR << true;
    QTest::newRow("FRMR") << 0x87 << FrameType::FRMR << false;
    QTest::newRow("UI-P") << 0x13 << FrameType::UI << true;
    QTest::newRow("UI") << 0x03 << FrameType::UI << false;
    QTest::newRow("SABM-unknown") << 0x3F << FrameType::Unknown << true;
    QTest::newRow("U-0xff-unknown") << 0xFF << FrameType::Unknown << true;
}

void TestHdlc::frameType()
{
    QFETCH(int, control);
    QFETCH(FrameType, type);
    QFETCH(bool, pf);
    Frame f;
    f.control = quint8(control);
    QCOMPARE(f.type(), type);
    QCOMPARE(f.pollFinal(), pf);
}

void TestHdlc::frameTypeExhaustive()
{
    // Every control byte: I frames are exactly the even ones and carry both sequence numbers.
    int counts[10] = {};
    for (int c = 0; c < 256; ++c) {
        Frame f;
        f.control = quint8(c);
        const FrameType t = f.type();
        ++counts[int(t)];
        QCOMPARE(t == FrameType::I, (c & 1) == 0);
        if (t == FrameType::I)
            QCOMPARE(control::i(f.sendSeq(), f.recvSeq(), f.pollFinal()), quint8(c));
    }
    QCOMPARE(counts[int(FrameType::I)], 128);
    QCOMPARE(counts[int(FrameType::RR)], 16);
    QCOMPARE(counts[int(FrameType::RNR)], 16);
    for (FrameType t : {FrameType::SNRM, FrameType::DISC, FrameType::UA, FrameType::DM, FrameType::FRMR, FrameType::UI})
        QCOMPARE(counts[int(t)], 2);
    QCOMPARE(frameTypeName(FrameType::SNRM), QStringLiteral("SNRM"));
    QCOMPARE(frameTypeName(FrameType::Unknown), QStringLiteral("unknown"));
}

void TestHdlc::controlBuilders()
{
    QCOMPARE(control::i(0, 0, true), quint8(0x10));
    QCOMPARE(control::i(1, 1, true), quint8(0x32));
    QCOMPARE(control::i(2, 2, false), quint8(0x44));
    QCOMPARE(control::i(7, 7, true), quint8(0xFE));
    QCOMPARE(control::i(8, 9, false), quint8(0x20)); // modulo 8
    QCOMPARE(control::rr(2, true), quint8(0x51));
    QCOMPARE(control::rr(0, false), quint8(0x01));
    QCOMPARE(control::rr(7, true), quint8(0xF1));
    QCOMPARE(control::rnr(1, true), quint8(0x35));
    QCOMPARE(control::rnr(0, false), quint8(0x05));
    Frame f;
    f.control = control::i(5, 3, false);
    QCOMPARE(f.sendSeq(), quint8(5));
    QCOMPARE(f.recvSeq(), quint8(3));
}

void TestHdlc::vectors_data()
{
    QTest::addColumn<QByteArray>("wire");
    QTest::addColumn<Frame>("frame");
    QTest::addColumn<int>("headerLength"); // format..control, for the HCS check of the vector

    // Public examples (DLMS UA "Examples for DLMS/COSEM information exchange" by G. Kmethy,
    // Gurux logs, an open HAN reader's test data); every CRC re-checked by referenceCrc().
    QTest::newRow("snrm-classic")
        << QByteArray::fromHex("7EA0070321930F017E") << makeFrame(Server1, Client16, 0x93) << 5;
    QTest::newRow("disc-classic")
        << QByteArray::fromHex("7EA00703215303C77E") << makeFrame(Server1, Client16, 0x53) << 5;
    QTest::newRow("snrm-4-byte-server-client-1")
        << QByteArray::fromHex("7EA00A00020023219318717E")
        << makeFrame(Server1Phys17, Address::client(16), 0x93) << 8;
    QTest::newRow("snrm-4-byte-server-client-120")
        << QByteArray::fromHex("7EA00A00020023F193232E7E")
        << makeFrame(Server1Phys17, Address::client(120), 0x93) << 8;
    QTest::newRow("snrm-with-parameters")
        << QByteArray::fromHex("7EA0210002002321931964818012050180060180070400000001080400000007655E7E")
        << makeFrame(Server1Phys17, Client16, 0x93,
                     QByteArray::fromHex("818012050180060180070400000001080400000007"))
        << 8;
    QTest::newRow("ua-with-parameters")
        << QByteArray::fromHex("7EA023210002002373F6C58180140502008006020080070400000001080400000001CE6A7E")
        << makeFrame(Client16, Server1Phys17, 0x73,
                     QByteArray::fromHex("8180140502008006020080070400000001080400000001"))
        << 8;
    QTest::newRow("aarq-i-frame")
        << QByteArray::fromHex("7EA02E0002002321107ECBE6E600601DA109060760857405080101BE10040E01000000065F1F040000301D"
                               "FFFFD4C57E")
        << makeFrame(Server1Phys17, Client16, 0x10,
                     QByteArray::fromHex("E6E600601DA109060760857405080101BE10040E01000000065F1F040000301DFFFF"))
        << 8;
    QTest::newRow("push-i-frame-2-byte-source")
        << QByteArray::fromHex("7EA027010201105A87E6E7000F40000000090C07E4080B020D362AFF8000000201060000082171E77E")
        << makeFrame(Address::client(0), Address::server(1, 0, 2), 0x10,
                     QByteArray::fromHex("E6E7000F40000000090C07E4080B020D362AFF80000002010600000821"))
        << 6;
    // Hand-built with referenceCrc: RR N(R)=2 from the client, and a segmented I frame.
    QTest::newRow("rr-nr2") << QByteArray::fromHex("7EA00703215111E47E") << makeFrame(Server1, Client16, 0x51) << 5;
    QTest::newRow("rr-nr0-from-server")
        << QByteArray::fromHex("7EA00721031115007E") << makeFrame(Client16, Server1, 0x11) << 5;
    QTest::newRow("i-segmented")
        << QByteArray::fromHex("7EA80F032132740AE6E600C001C123CD7E")
        << makeFrame(Server1, Client16, 0x32, QByteArray::fromHex("E6E600C001C1"), true) << 5;
}

void TestHdlc::vectors()
{
    QFETCH(QByteArray, wire);
    QFETCH(Frame, frame);
    QFETCH(int, headerLength);
    QVERIFY2(vectorChecksumsOk(wire, headerLength), "the vector's own HCS/FCS do not match the reference CRC");

    QByteArray out = QByteArray::fromHex("55"); // encode appends
    QVERIFY(encode(frame, out).ok());
    QCOMPARE(out.sliced(1), wire);

    Deframer d;
    d.feed(wire);
    auto r = d.next();
    QVERIFY(r.has_value());
    QVERIFY2(r->ok(), qPrintable(r->ok() ? QString() : r->error().message));
    QCOMPARE(r->value(), frame);
    QVERIFY(!d.next());
    QCOMPARE(d.discardedBytes(), 0);
}

void TestHdlc::vectorEveryChunking()
{
    QFETCH(QByteArray, wire);
    QFETCH(Frame, frame);
    // Two copies back to back with separate flags, split at every position.
    const QByteArray stream = wire + wire;
    for (qsizetype cut = 0; cut <= stream.size(); ++cut) {
        const auto results = feedChunks<Deframer>(stream, {cut});
        QCOMPARE(results.size(), size_t(2));
        for (const auto &r : results) {
            QVERIFY2(r.ok(), qPrintable(QStringLiteral("cut %1").arg(cut)));
            QCOMPARE(r.value(), frame);
        }
    }
    // Byte at a time, and three-way splits.
    QList<qsizetype> every;
    for (qsizetype i = 1; i < stream.size(); ++i)
        every.append(i);
    auto results = feedChunks<Deframer>(stream, every);
    QCOMPARE(results.size(), size_t(2));
    QVERIFY(results[0].ok() && results[1].ok());
    for (qsizetype a = 1; a < wire.size(); a += 3) {
        for (qsizetype b = a; b < stream.size(); b += 5) {
            results = feedChunks<Deframer>(stream, {a, b});
            QCOMPARE(results.size(), size_t(2));
            QCOMPARE(results[1].value(), frame);
        }
    }
}

void TestHdlc::encodeErrors_data()
{
    QTest::addColumn<Frame>("frame");
    QTest::addColumn<QString>("fragment");
    QTest::newRow("info-too-long") << makeFrame(Server1, Client16, 0x10, QByteArray(2040, 'x')) << QStringLiteral("2047");
    QTest::newRow("client-over-7-bits") << makeFrame(Server1, Address{0x80, 0, 1}, 0x10) << QStringLiteral("source");
    QTest::newRow("1-byte-with-lower") << makeFrame(Address{1, 1, 1}, Client16, 0x10) << QStringLiteral("lower");
    QTest::newRow("2-byte-over-7-bits") << makeFrame(Address{1, 0x80, 2}, Client16, 0x10) << QStringLiteral("0x7f");
    QTest::newRow("4-byte-over-14-bits") << makeFrame(Address{0x4000, 1, 4}, Client16, 0x10) << QStringLiteral("0x3fff");
    QTest::newRow("size-3") << makeFrame(Address{1, 1, 3}, Client16, 0x10) << QStringLiteral("1, 2 or 4");
}

void TestHdlc::encodeErrors()
{
    QFETCH(Frame, frame);
    QFETCH(QString, fragment);
    QByteArray out("keep");
    const auto r = encode(frame, out);
    QVERIFY(!r.ok());
    QCOMPARE(r.error().code, ErrorCode::InvalidArgument);
    QVERIFY2(r.error().message.contains(fragment), qPrintable(r.error().message));
    QCOMPARE(out, QByteArray("keep"));
}

void TestHdlc::encodeMaximumLength()
{
    // 2047 = 2 format + 1 + 1 address + 1 control + 2 HCS + info + 2 FCS -> info 2038.
    QByteArray out;
    const Frame big = makeFrame(Server1, Client16, 0x10, QByteArray(2038, '\x7E'));
    QVERIFY(encode(big, out).ok());
    QCOMPARE(out.size(), 2049);
    QCOMPARE(out.sliced(1, 2), QByteArray::fromHex("A7FF"));
    Deframer d;
    d.feed(out);
    auto r = d.next();
    QVERIFY(r && r->ok());
    QCOMPARE(r->value(), big); // flag bytes inside the info field are not delimiters
    QByteArray tooBig;
    QVERIFY(!encode(makeFrame(Server1, Client16, 0x10, QByteArray(2039, 'x')), tooBig).ok());
}

void TestHdlc::deframerSharedAndRepeatedFlags()
{
    const QByteArray snrm = QByteArray::fromHex("A0070321930F01");
    const QByteArray rr = QByteArray::fromHex("A00703215111E4");
    const QByteArray flag = QByteArray::fromHex("7E");
    // 7E f1 7E f2 7E (shared), then 7E 7E 7E f1 7E 7E (repeated).
    const QByteArray stream = flag + snrm + flag + rr + flag + flag + flag + snrm + flag + flag;
    for (qsizetype cut = 0; cut <= stream.size(); ++cut) {
        const auto results = feedChunks<Deframer>(stream, {cut});
        QCOMPARE(results.size(), size_t(3));
        QCOMPARE(results[0].value().control, quint8(0x93));
        QCOMPARE(results[1].value().control, quint8(0x51));
        QCOMPARE(results[2].value().control, quint8(0x93));
    }
    Deframer d;
    d.feed(stream);
    QCOMPARE(drain(d).size(), size_t(3));
    QCOMPARE(d.discardedBytes(), 0);
    QCOMPARE(d.bufferedBytes(), 1); // the last flag, which may open the next frame
}

void TestHdlc::deframerGarbage()
{
    const QByteArray snrm = QByteArray::fromHex("7EA0070321930F017E");
    const QByteArray garbage = QByteArray::fromHex("0102A0FF");
    const QByteArray stream = garbage + snrm + garbage + garbage + snrm;
    for (qsizetype cut = 0; cut <= stream.size(); ++cut) {
        const auto results = feedChunks<Deframer>(stream, {cut});
        // one error per run: 4 bytes before the first flag, 8 between the frames
        QCOMPARE(results.size(), size_t(4));
        QVERIFY(!results[0].ok());
        QCOMPARE(results[0].error().code, ErrorCode::Malformed);
        QVERIFY2(results[0].error().message.contains(QStringLiteral("discarded 4 bytes")), qPrintable(results[0].error().message));
        QVERIFY(results[1].ok());
        QVERIFY(!results[2].ok());
        QVERIFY2(results[2].error().message.contains(QStringLiteral("discarded 8 bytes before the flag at stream offset 21")),
                 qPrintable(results[2].error().message));
        QVERIFY(results[3].ok());
    }
    Deframer d;
    d.feed(stream);
    drain(d);
    QCOMPARE(d.discardedBytes(), 12);
}

void TestHdlc::deframerGarbageAcrossFeeds()
{
    Deframer d;
    for (int i = 0; i < 100; ++i) {
        d.feed(QByteArray(10, '\x55'));
        QVERIFY(!d.next()); // still one run, not yet ended
    }
    QCOMPARE(d.bufferedBytes(), 0);
    d.feed(QByteArray::fromHex("7EA0070321930F017E"));
    auto r = d.next();
    QVERIFY(r && !r->ok());
    QVERIFY2(r->error().message.contains(QStringLiteral("discarded 1000 bytes")), qPrintable(r->error().message));
    r = d.next();
    QVERIFY(r && r->ok());
    QVERIFY(!d.next());
    QCOMPARE(d.discardedBytes(), 1000);
}

void TestHdlc::deframerBadFrames_data()
{
    QTest::addColumn<QByteArray>("bad");
    QTest::addColumn<ErrorCode>("code");
    QTest::addColumn<QString>("fragment");
    QTest::newRow("bad-fcs") << QByteArray::fromHex("7EA0070321930F027E") << ErrorCode::BadChecksum << QStringLiteral("FCS");
    // AARQ frame with the HCS altered and the FCS recomputed over the altered header.
    QByteArray badHcs = QByteArray::fromHex("A02E0002002321107ECCE6E600601DA109060760857405080101BE10040E01000000065F1F040000301DFFFF");
    QTest::newRow("bad-hcs") << withFcs(badHcs) << ErrorCode::BadChecksum << QStringLiteral("HCS");
    QTest::newRow("length-below-7") << QByteArray::fromHex("7EA006032193AAAA7E") << ErrorCode::Malformed << QStringLiteral("less than the 7");
    QTest::newRow("length-0") << QByteArray::fromHex("7EA000") << ErrorCode::Malformed << QStringLiteral("length of 0");
    QTest::newRow("missing-closing-flag") << QByteArray::fromHex("7EA0070321930F0155") << ErrorCode::Malformed
                                          << QStringLiteral("closing flag");
    QTest::newRow("unterminated-destination") << withFcs(QByteArray::fromHex("A00A000200042193")) << ErrorCode::BadAddress
                                              << QStringLiteral("destination address does not end");
    QTest::newRow("3-byte-destination") << withFcs(QByteArray::fromHex("A0090002032193")) << ErrorCode::BadAddress
                                        << QStringLiteral("3-byte destination");
    QTest::newRow("unterminated-source") << withFcs(QByteArray::fromHex("A00B03002002040693")) << ErrorCode::BadAddress
                                         << QStringLiteral("source address does not end");
    QTest::newRow("no-control") << withFcs(QByteArray::fromHex("A0090002002321")) << ErrorCode::Malformed
                                << QStringLiteral("no room for the control");
    QTest::newRow("hcs-without-info") << withFcs(QByteArray::fromHex("A0090321930000")) << ErrorCode::Malformed
                                      << QStringLiteral("too few for an HCS");
}

void TestHdlc::deframerBadFrames()
{
    QFETCH(QByteArray, bad);
    QFETCH(ErrorCode, code);
    QFETCH(QString, fragment);
    // The bad frame, then a good one: the error is reported once and the stream recovers.
    const QByteArray good = QByteArray::fromHex("7EA0070321930F017E");
    const QByteArray stream = bad + good;
    for (qsizetype cut = 0; cut <= stream.size(); ++cut) {
        const auto results = feedChunks<Deframer>(stream, {cut});
        QCOMPARE(results.size(), size_t(2));
        QVERIFY(!results[0].ok());
        QCOMPARE(results[0].error().code, code);
        QVERIFY2(results[0].error().message.contains(fragment), qPrintable(results[0].error().message));
        QVERIFY(results[1].ok());
        QCOMPARE(results[1].value().control, quint8(0x93));
    }
}

void TestHdlc::deframerTruncatedWaits()
{
    const QByteArray wire = QByteArray::fromHex("7EA02E0002002321107ECBE6E600601DA109060760857405080101BE10040E01000000065F1F040000301DFFFFD4C57E");
    for (qsizetype n = 0; n < wire.size(); ++n) {
        Deframer d;
        d.feed(wire.first(n));
        QVERIFY(!d.next());
        QCOMPARE(d.bufferedBytes(), n);
        QCOMPARE(d.discardedBytes(), 0);
    }
}

void TestHdlc::deframerLongLengthWaits()
{
    Deframer d;
    const QByteArray start = QByteArray::fromHex("7EA7FF0321");
    d.feed(start);
    QVERIFY(!d.next());
    QCOMPARE(d.bufferedBytes(), start.size()); // nothing reserved for the 2047 claimed
    d.feed(QByteArray(2000, '\0'));
    QVERIFY(!d.next());
    d.feed(QByteArray(44, '\0')); // 2049 bytes: the closing flag is not where it should be
    auto r = d.next();
    QVERIFY(r && !r->ok());
    QCOMPARE(r->error().code, ErrorCode::Malformed);
    QVERIFY(!d.next());
    QCOMPARE(d.bufferedBytes(), 0);
}

void TestHdlc::deframerBoundedOnGarbage()
{
    Deframer d;
    const QByteArray chunk(4096, '\xA5');
    for (int i = 0; i < 256; ++i) { // 1 MiB without a flag
        d.feed(chunk);
        QVERIFY(!d.next());
        QCOMPARE(d.bufferedBytes(), 0);
    }
    QCOMPARE(d.discardedBytes(), 256 * 4096);
    // A stream of frames fed one at a time keeps only the shared flag between frames.
    const QByteArray rr = QByteArray::fromHex("7EA00703215111E47E");
    for (int i = 0; i < 1000; ++i) {
        d.feed(rr);
        while (auto r = d.next())
            Q_UNUSED(r);
        QVERIFY(d.bufferedBytes() <= 1);
    }
}

void TestHdlc::deframerClear()
{
    Deframer d;
    d.feed(QByteArray::fromHex("FFFF7EA0070321"));
    QVERIFY(d.next().has_value()); // the garbage run
    QVERIFY(!d.next());
    d.clear();
    QCOMPARE(d.bufferedBytes(), 0);
    QCOMPARE(d.discardedBytes(), 0);
    d.feed(QByteArray::fromHex("7EA0070321930F017E"));
    auto r = d.next();
    QVERIFY(r && r->ok());
}

void TestHdlc::deframerRandomRoundTrip()
{
    const quint32 seed = 20240611;
    QRandomGenerator rng(seed);
    const quint8 sizes[] = {1, 2, 4};
    std::vector<Frame> frames;
    QByteArray stream;
    for (int i = 0; i < 300; ++i) {
        Frame f;
        const quint8 ds = sizes[rng.bounded(3)];
        const quint16 limit = ds == 4 ? 0x3FFF : 0x7F;
        f.destination = Address{quint16(rng.bounded(limit + 1)), ds == 1 ? quint16(0) : quint16(rng.bounded(limit + 1)), ds};
        f.source = Address::client(quint8(rng.bounded(0x80)));
        f.control = quint8(rng.bounded(256));
        f.segmented = rng.bounded(2) == 1;
        // 0x7E included: the length delimits, not the flag
        f.info = randomBytes(rng, rng.bounded(2) ? 0 : rng.bounded(1, 400));
        const bool shared = rng.bounded(2) == 1 && !stream.isEmpty();
        if (shared)
            stream.chop(1);
        QVERIFY(encode(f, stream).ok());
        frames.push_back(f);
    }
    const auto got = deframeInRandomChunks<Deframer>(stream, rng, 700);
    if (!got.ok())
        QFAIL(qPrintable(QStringLiteral("seed %1: %2").arg(seed).arg(got.error().message)));
    QCOMPARE(got->size(), frames.size());
    for (size_t i = 0; i < got->size(); ++i) {
        if (!((*got)[i] == frames[i]))
            QFAIL(qPrintable(QStringLiteral("seed %1: frame %2 differs").arg(seed).arg(i)));
    }
}

void TestHdlc::parametersEncode()
{
    QCOMPARE(encodeParameters({}), QByteArray::fromHex("818012050180060180070400000001080400000001"));
    QCOMPARE(encodeParameters({128, 128, 1, 7}), QByteArray::fromHex("818012050180060180070400000001080400000007"));
    // 2-byte lengths from 256 up.
    QCOMPARE(encodeParameters({255, 256, 3, 7}), QByteArray::fromHex("8180130501FF06020100070400000003080400000007"));
    QCOMPARE(encodeParameters({0xFFFF, 2030, 1, 1}), QByteArray::fromHex("8180140502FFFF060207EE070400000001080400000001"));
}

void TestHdlc::parametersDecode_data()
{
    QTest::addColumn<QByteArray>("info");
    QTest::addColumn<LinkParameters>("expected");
    QTest::newRow("empty-defaults") << QByteArray() << LinkParameters{};
    QTest::newRow("kmethy-ua-2-byte-values") << QByteArray::fromHex("8180140502008006020080070400000001080400000001")
                                              << LinkParameters{128, 128, 1, 1};
    QTest::newRow("1-byte-values") << QByteArray::fromHex("81800C0501F00601E0070102080103") << LinkParameters{240, 224, 2, 3};
    QTest::newRow("window-2-bytes") << QByteArray::fromHex("818009070200030803000007") << LinkParameters{128, 128, 3, 7};
    QTest::newRow("max-info-2-bytes-big") << QByteArray::fromHex("818008050207EE0602FFFF")
                                           << LinkParameters{2030, 0xFFFF, 1, 1};
    QTest::newRow("only-rx") << QByteArray::fromHex("818003060140") << LinkParameters{128, 64, 1, 1};
    QTest::newRow("empty-group") << QByteArray::fromHex("818000") << LinkParameters{};
    QTest::newRow("unknown-skipped") << QByteArray::fromHex("81800A09030102030501400A00") << LinkParameters{64, 128, 1, 1};
    QTest::newRow("bytes-after-group-ignored") << QByteArray::fromHex("818003050140AABB") << LinkParameters{64, 128, 1, 1};
}

void TestHdlc::parametersDecode()
{
    QFETCH(QByteArray, info);
    QFETCH(LinkParameters, expected);
    const auto r = decodeParameters(info);
    QVERIFY2(r.ok(), qPrintable(r.ok() ? QString() : r.error().message));
    QCOMPARE(r.value(), expected);
}

void TestHdlc::parametersErrors_data()
{
    QTest::addColumn<QByteArray>("info");
    QTest::addColumn<ErrorCode>("code");
    QTest::addColumn<QString>("fragment");
    QTest::newRow("short-header") << QByteArray::fromHex("8180") << ErrorCode::Truncated << QStringLiteral("3-byte group header");
    QTest::newRow("bad-format") << QByteArray::fromHex("828000") << ErrorCode::Malformed << QStringLiteral("format identifier 0x82");
    QTest::newRow("bad-group") << QByteArray::fromHex("818100") << ErrorCode::Malformed << QStringLiteral("group identifier 0x81");
    QTest::newRow("group-too-long") << QByteArray::fromHex("8180050501") << ErrorCode::LengthTooLarge << QStringLiteral("group length 5");
    QTest::newRow("param-no-length") << QByteArray::fromHex("81800105") << ErrorCode::Truncated << QStringLiteral("no length byte");
    QTest::newRow("param-too-long") << QByteArray::fromHex("818003050280") << ErrorCode::LengthTooLarge
                                    << QStringLiteral("parameter 0x05 at offset 3 has length 2");
    QTest::newRow("info-length-3-bytes") << QByteArray::fromHex("8180050503000080") << ErrorCode::Malformed
                                         << QStringLiteral("expected 1 to 2");
    QTest::newRow("window-5-bytes") << QByteArray::fromHex("81800707050000000001") << ErrorCode::Malformed
                                    << QStringLiteral("expected 1 to 4");
    QTest::newRow("window-0-length") << QByteArray::fromHex("8180020800") << ErrorCode::Malformed << QStringLiteral("has length 0");
    QTest::newRow("window-zero") << QByteArray::fromHex("818003070100") << ErrorCode::Malformed << QStringLiteral("is 0");
    QTest::newRow("max-info-zero") << QByteArray::fromHex("81800406020000") << ErrorCode::Malformed << QStringLiteral("is 0");
}

void TestHdlc::parametersErrors()
{
    QFETCH(QByteArray, info);
    QFETCH(ErrorCode, code);
    QFETCH(QString, fragment);
    const auto r = decodeParameters(info);
    QVERIFY(!r.ok());
    QCOMPARE(r.error().code, code);
    QVERIFY2(r.error().message.contains(fragment), qPrintable(r.error().message));
}

void TestHdlc::parametersRoundTrip()
{
    const quint32 seed = 7;
    QRandomGenerator rng(seed);
    for (int i = 0; i < 1000; ++i) {
        const LinkParameters p{quint16(rng.bounded(1, 0x10000)), quint16(rng.bounded(1, 0x10000)),
                               rng.bounded(1u, 0xFFFFFFFFu), rng.bounded(1u, 8u)};
        const auto r = decodeParameters(encodeParameters(p));
        if (!r.ok() || !(r.value() == p))
            QFAIL(qPrintable(QStringLiteral("seed %1, iteration %2").arg(seed).arg(i)));
    }
}

QTEST_GUILESS_MAIN(TestHdlc)
#include "tst_hdlc.moc"
