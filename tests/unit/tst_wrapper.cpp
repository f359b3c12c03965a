#include "testsupport.h"
#include "wrapper.h"

#include <QtCore/QFile>
#include <QtCore/QRandomGenerator>
#include <QtTest/QTest>

using namespace dlms;
using namespace dlms::test;
using namespace dlms::wrapper;

namespace {

// The AARQ of the DLMS UA "Examples for DLMS/COSEM information exchange" (LN, no security).
const QByteArray Aarq = QByteArray::fromHex("601DA109060760857405080101BE10040E01000000065F1F040000301DFFFF");
// The same, wrapped from client SAP 16 to logical device 1: 00 01 | 00 10 | 00 01 | 00 1F.
const QByteArray AarqWrapped = QByteArray::fromHex("00010010000100 1F") + Aarq;

Frame frame(quint16 src, quint16 dst, QByteArray apdu)
{
    return Frame{src, dst, std::move(apdu)};
}

} // namespace

class TestWrapper : public QObject {
    Q_OBJECT

private slots:
    void recordedSession();
    void encodeVectors_data();
    void encodeVectors();
    void encodeLimits();
    void everyChunking();
    void manyFramesOneFeed();
    void garbage_data();
    void garbage();
    void garbageAcrossFeedsIsOneError();
    void hugeLengthWaits();
    void boundedOnGarbage();
    void compactsConsumedBytes();
    void clear();
    void randomRoundTrip();
};

void TestWrapper::recordedSession()
{
    // Every frame of the recorded session decodes (from one stream, fed 5 bytes at a time)
    // and re-encodes to its exact bytes; ports are 16 <-> 1 by direction.
    QFile in(QStringLiteral(DLMS_RECORDINGS_DIR "/wrapper-session.txt"));
    QVERIFY(in.open(QIODevice::ReadOnly | QIODevice::Text));
    std::vector<std::pair<bool, QByteArray>> lines;
    QByteArray stream;
    while (!in.atEnd()) {
        const QByteArray line = in.readLine().trimmed();
        if (line.startsWith('>') || line.startsWith('<')) {
            lines.emplace_back(line.startsWith('>'), QByteArray::fromHex(line.mid(1)));
            stream += lines.back().second;
        }
    }
    QVERIFY(lines.size() >= 4);
    QList<qsizetype> cuts;
    for (qsizetype i = 5; i < stream.size(); i += 5)
        cuts.append(i);
    const auto results = feedChunks<Deframer>(stream, cuts);
    QCOMPARE(results.size(), lines.size());
    for (size_t i = 0; i < lines.size(); ++i) {
        QVERIFY(results[i].ok());
        const Frame &f = results[i].value();
        QCOMPARE(f.sourcePort, quint16(lines[i].first ? 16 : 1));
        QCOMPARE(f.destinationPort, quint16(lines[i].first ? 1 : 16));
        QByteArray out;
        QVERIFY(encode(f.sourcePort, f.destinationPort, f.apdu, out).ok());
        QCOMPARE(out.toHex(' '), lines[i].second.toHex(' '));
    }
}

void TestWrapper::encodeVectors_data()
{
    QTest::addColumn<int>("source");
    QTest::addColumn<int>("destination");
    QTest::addColumn<QByteArray>("apdu");
    QTest::addColumn<QByteArray>("wire");
    QTest::newRow("aarq-16-to-1") << 16 << 1 << Aarq << AarqWrapped;
    QTest::newRow("empty-apdu") << 1 << 0x10 << QByteArray() << QByteArray::fromHex("0001000100100000");
    // GET-request-normal for 0.0.1.0.0.255 attribute 2 (clock time), to the management device.
    QTest::newRow("get-request-ports-ffff")
        << 0xFFFF << 0x1234 << QByteArray::fromHex("C001C100080000010000FF0200")
        << QByteArray::fromHex("0001FFFF1234000DC001C100080000010000FF0200");
    QTest::newRow("length-0x100") << 0x10 << 0x01 << QByteArray(256, 'A')
                                  << QByteArray::fromHex("0001001000010100") + QByteArray(256, 'A');
}

void TestWrapper::encodeVectors()
{
    QFETCH(int, source);
    QFETCH(int, destination);
    QFETCH(QByteArray, apdu);
    QFETCH(QByteArray, wire);
    QByteArray out("x");
    QVERIFY(encode(quint16(source), quint16(destination), apdu, out).ok());
    QCOMPARE(out, QByteArray("x") + wire);

    Deframer d;
    d.feed(wire);
    auto r = d.next();
    QVERIFY(r && r->ok());
    QCOMPARE(r->value(), frame(quint16(source), quint16(destination), apdu));
    QVERIFY(!d.next());
    QCOMPARE(d.bufferedBytes(), 0);
}

void TestWrapper::encodeLimits()
{
    QByteArray out;
    QVERIFY(encode(1, 1, QByteArray(0xFFFF, 'z'), out).ok());
    QCOMPARE(out.size(), 8 + 0xFFFF);
    QCOMPARE(out.first(8), QByteArray::fromHex("000100010001FFFF"));

    QByteArray tooBig("keep");
    const auto r = encode(1, 1, QByteArray(0x10000, 'z'), tooBig);
    QVERIFY(!r.ok());
    QCOMPARE(r.error().code, ErrorCode::InvalidArgument);
    QVERIFY2(r.error().message.contains(QStringLiteral("65536")), qPrintable(r.error().message));
    QCOMPARE(tooBig, QByteArray("keep"));
}

void TestWrapper::everyChunking()
{
    const QByteArray stream = AarqWrapped + AarqWrapped;
    const Frame expected = frame(16, 1, Aarq);
    for (qsizetype cut = 0; cut <= stream.size(); ++cut) {
        const auto results = feedChunks<Deframer>(stream, {cut});
        QCOMPARE(results.size(), size_t(2));
        QCOMPARE(results[0].value(), expected);
        QCOMPARE(results[1].value(), expected);
    }
    for (qsizetype a = 0; a <= stream.size(); a += 3) {
        for (qsizetype b = a; b <= stream.size(); b += 7) {
            const auto results = feedChunks<Deframer>(stream, {a, b});
            QCOMPARE(results.size(), size_t(2));
            QCOMPARE(results[1].value(), expected);
        }
    }
    QList<qsizetype> bytes;
    for (qsizetype i = 1; i < stream.size(); ++i)
        bytes.append(i);
    const auto results = feedChunks<Deframer>(stream, bytes);
    QCOMPARE(results.size(), size_t(2));
    QCOMPARE(results[0].value(), expected);
}

void TestWrapper::manyFramesOneFeed()
{
    QByteArray stream;
    for (int i = 0; i < 100; ++i)
        QVERIFY(encode(quint16(i), quint16(1000 + i), QByteArray(i, char(i)), stream).ok());
    Deframer d;
    d.feed(stream);
    for (int i = 0; i < 100; ++i) {
        auto r = d.next();
        QVERIFY(r && r->ok());
        QCOMPARE(r->value(), frame(quint16(i), quint16(1000 + i), QByteArray(i, char(i))));
    }
    QVERIFY(!d.next());
    QCOMPARE(d.discardedBytes(), 0);
}

void TestWrapper::garbage_data()
{
    QTest::addColumn<QByteArray>("garbage");
    QTest::addColumn<int>("skipped");
    QTest::newRow("wrong-version-0x0002") << QByteArray::fromHex("0002001000030000") << 8;
    QTest::newRow("one-byte") << QByteArray::fromHex("FF") << 1;
    QTest::newRow("zeros-then-version-start") << QByteArray::fromHex("000000") << 3; // 00 00 00 | 00 01...
    QTest::newRow("http-ish") << QByteArray("GET / HTTP/1.0\r\n\r\n") << 18;
    QTest::newRow("version-0x0100") << QByteArray::fromHex("0100") << 2;
}

void TestWrapper::garbage()
{
    QFETCH(QByteArray, garbage);
    QFETCH(int, skipped);
    // garbage, frame, garbage, frame: one error per run, both frames intact, in every split.
    const QByteArray stream = garbage + AarqWrapped + garbage + AarqWrapped;
    for (qsizetype cut = 0; cut <= stream.size(); ++cut) {
        const auto results = feedChunks<Deframer>(stream, {cut});
        QCOMPARE(results.size(), size_t(4));
        QVERIFY(!results[0].ok());
        QCOMPARE(results[0].error().code, ErrorCode::Malformed);
        QVERIFY2(results[0].error().message.contains(QStringLiteral("skipped %1 bytes at stream offset 0").arg(skipped)),
                 qPrintable(results[0].error().message));
        QCOMPARE(results[1].value(), frame(16, 1, Aarq));
        QVERIFY(!results[2].ok());
        QCOMPARE(results[3].value(), frame(16, 1, Aarq));
    }
    Deframer d;
    d.feed(stream);
    while (d.next()) {
    }
    QCOMPARE(d.discardedBytes(), 2 * skipped);
}

void TestWrapper::garbageAcrossFeedsIsOneError()
{
    Deframer d;
    for (int i = 0; i < 1000; ++i) {
        d.feed(QByteArray(7, '\x42'));
        QVERIFY(!d.next());
    }
    d.feed(QByteArray::fromHex("00")); // could start a header: kept
    QVERIFY(!d.next());
    QCOMPARE(d.bufferedBytes(), 1);
    d.feed(AarqWrapped.sliced(1));
    auto r = d.next();
    QVERIFY(r && !r->ok());
    QVERIFY2(r->error().message.contains(QStringLiteral("skipped 7000 bytes at stream offset 0")), qPrintable(r->error().message));
    r = d.next();
    QVERIFY(r && r->ok());
    QCOMPARE(r->value().apdu, Aarq);
    QVERIFY(!d.next());
    QCOMPARE(d.discardedBytes(), 7000);
}

void TestWrapper::hugeLengthWaits()
{
    Deframer d;
    const QByteArray header = QByteArray::fromHex("000100100001FFFF");
    d.feed(header);
    d.feed(QByteArray::fromHex("C00102"));
    QVERIFY(!d.next());
    QCOMPARE(d.bufferedBytes(), 11); // nothing allocated for the 65535 bytes claimed
    // The rest arrives: the frame completes at exactly 65535 bytes.
    d.feed(QByteArray(0xFFFF - 4, '\x11'));
    QVERIFY(!d.next());
    d.feed(QByteArray(1, '\x22'));
    auto r = d.next();
    QVERIFY(r && r->ok());
    QCOMPARE(r->value().apdu.size(), 0xFFFF);
    QCOMPARE(r->value().apdu.first(3), QByteArray::fromHex("C00102"));
    QCOMPARE(r->value().apdu.back(), '\x22');
    QCOMPARE(d.bufferedBytes(), 0);
}

void TestWrapper::boundedOnGarbage()
{
    Deframer d;
    const QByteArray chunk(4096, '\x01'); // never 00 01
    for (int i = 0; i < 256; ++i) {
        d.feed(chunk);
        QVERIFY(!d.next());
        QCOMPARE(d.bufferedBytes(), 0);
    }
    QCOMPARE(d.discardedBytes(), 1 << 20);
}

void TestWrapper::compactsConsumedBytes()
{
    // Frames fed one at a time and consumed: nothing accumulates.
    Deframer d;
    for (int i = 0; i < 10000; ++i) {
        d.feed(AarqWrapped);
        auto r = d.next();
        QVERIFY(r && r->ok());
        QCOMPARE(d.bufferedBytes(), 0);
    }
    // Half frames: at most one partial frame stays buffered.
    const qsizetype half = AarqWrapped.size() / 2;
    for (int i = 0; i < 10000; ++i) {
        d.feed(AarqWrapped.first(half));
        while (d.next()) {
        }
        QCOMPARE(d.bufferedBytes(), half);
        d.feed(AarqWrapped.sliced(half));
        auto r = d.next();
        QVERIFY(r && r->ok());
        QCOMPARE(d.bufferedBytes(), 0);
    }
}

void TestWrapper::clear()
{
    Deframer d;
    d.feed(QByteArray::fromHex("FF000100"));
    QVERIFY(d.next().has_value());
    QVERIFY(!d.next());
    QCOMPARE(d.bufferedBytes(), 3);
    d.clear();
    QCOMPARE(d.bufferedBytes(), 0);
    QCOMPARE(d.discardedBytes(), 0);
    d.feed(AarqWrapped);
    auto r = d.next();
    QVERIFY(r && r->ok());
}

void TestWrapper::randomRoundTrip()
{
    const quint32 seed = 0x5EED47;
    QRandomGenerator rng(seed);
    std::vector<Frame> frames;
    QByteArray stream;
    for (int i = 0; i < 500; ++i) {
        Frame f{quint16(rng.bounded(0x10000)), quint16(rng.bounded(0x10000)),
                randomBytes(rng, rng.bounded(0, rng.bounded(2) ? 20 : 3000))};
        QVERIFY(encode(f.sourcePort, f.destinationPort, f.apdu, stream).ok());
        frames.push_back(std::move(f));
    }
    const auto got = deframeInRandomChunks<Deframer>(stream, rng, 2000);
    if (!got.ok())
        QFAIL(qPrintable(QStringLiteral("seed %1: %2").arg(seed).arg(got.error().message)));
    QCOMPARE(got->size(), frames.size());
    for (size_t i = 0; i < got->size(); ++i) {
        if (!((*got)[i] == frames[i]))
            QFAIL(qPrintable(QStringLiteral("seed %1: frame %2 differs").arg(seed).arg(i)));
    }
}

QTEST_GUILESS_MAIN(TestWrapper)
#include "tst_wrapper.moc"
