#include "security.h"
#include "tracedecoder.h"

#include <QtTest/QtTest>

using namespace dlms;
using namespace Qt::StringLiterals;

namespace {

const QByteArray Password = "ZYXWVUTSRQPONMLKJIHGFEDCBA9876"_ba;

QByteArray llsAarq()
{
    Aarq aarq;
    aarq.authentication = Authentication::Low;
    aarq.authenticationValue = Password;
    return encodeApdu(aarq);
}

// The frames a client link sends for `apdu` with the given maximum information field.
std::vector<QByteArray> clientFrames(const QByteArray &apdu, quint16 maxInfo)
{
    hdlc::LinkParameters params;
    params.maxInfoTx = maxInfo;
    hdlc::Link client(
        hdlc::Link::Role::Client, hdlc::Address::client(16), hdlc::Address::server(1, 0), params);
    hdlc::Link server(hdlc::Link::Role::Server, hdlc::Address::server(1, 0), hdlc::Address::client(16));
    std::vector<QByteArray> wire;
    auto shuttle = [](hdlc::Link &from, hdlc::Link &to, std::vector<QByteArray> *record) {
        for (const hdlc::Frame &frame : from.takeOutgoing()) {
            QByteArray bytes;
            (void)hdlc::encode(frame, bytes);
            if (record && frame.type() == hdlc::FrameType::I)
                record->push_back(bytes);
            (void)to.handleFrame(frame);
        }
    };
    client.connect();
    shuttle(client, server, nullptr);
    shuttle(server, client, nullptr);
    (void)client.sendApdu(apdu);
    for (int i = 0; i < 100 && (client.hasOutgoing() || server.hasOutgoing()); ++i) {
        shuttle(client, server, &wire);
        shuttle(server, client, nullptr);
    }
    return wire;
}

QString allText(const std::vector<TraceDecoder::Line> &lines)
{
    QString text;
    for (const auto &line : lines)
        text += line.hex + u'\n' + line.summary + u'\n' + line.details.join(u'\n') + u'\n';
    return text;
}

void verifyNoPassword(const QString &text)
{
    for (qsizetype i = 0; i + 3 <= Password.size(); ++i) {
        const QByteArray piece = Password.mid(i, 3);
        QVERIFY2(!text.contains(QString::fromLatin1(piece.toHex(' ').toUpper())),
            qPrintable(u"password bytes %1..%2 appear in hex"_s.arg(i).arg(i + 2)));
        QVERIFY2(!text.contains(QString::fromLatin1(piece)), qPrintable(u"password text appears"_s));
    }
}

// A recorded HLS-GMAC association with ciphering and a dedicated key, as the wrapper frames
// both sides sent, built from the security functions and the plain APDU encoders.
const QByteArray Ek = QByteArray::fromHex("000102030405060708090A0B0C0D0E0F");
const QByteArray Ak = QByteArray::fromHex("D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF");
const QByteArray DedicatedKey = QByteArray::fromHex("F0E1D2C3B4A5968778695A4B3C2D1E0F");
const QByteArray ClientTitle = QByteArray::fromHex("4D4D4D0000000001");
const QByteArray ServerTitle = QByteArray::fromHex("4D4D4D0000BC614E");
const QByteArray CtoS = "K56iVagY"_ba;
const QByteArray StoC = "P6wRJ21F"_ba;

struct Recorded {
    Direction direction;
    QByteArray wire;
};

QByteArray wrapped(Direction direction, const QByteArray &apdu)
{
    QByteArray out;
    if (direction == Direction::Sent)
        (void)wrapper::encode(16, 1, apdu, out);
    else
        (void)wrapper::encode(1, 16, apdu, out);
    return out;
}

QByteArray ciphered(bool dedicated, const QByteArray &title, quint32 ic, const QByteArray &plain)
{
    return security::encodeServiceCiphered(
        dedicated, 0x30, title, ic, dedicated ? DedicatedKey : Ek, Ak, plain)
        .value();
}

QByteArray cipheredAarq()
{
    InitiateRequest initiate;
    initiate.dedicatedKey = DedicatedKey;
    QByteArray plainInitiate;
    encode(initiate, plainInitiate);
    Aarq aarq;
    aarq.ciphered = true;
    aarq.authentication = Authentication::HighGmac;
    aarq.authenticationValue = CtoS;
    aarq.callingApTitle = ClientTitle;
    aarq.cipheredInitiate = ciphered(false, ClientTitle, 1, plainInitiate);
    return encodeApdu(aarq);
}

std::vector<Recorded> cipheredExchange()
{
    std::vector<Recorded> frames;
    auto add = [&](Direction direction, const QByteArray &apdu) {
        frames.push_back({direction, wrapped(direction, apdu)});
    };
    add(Direction::Sent, cipheredAarq());

    InitiateResponse initiateResponse;
    initiateResponse.negotiatedConformance = 0x001E1D;
    initiateResponse.serverMaxReceivePduSize = 1024;
    QByteArray plainResponse;
    encode(initiateResponse, plainResponse);
    Aare aare;
    aare.ciphered = true;
    aare.respondingApTitle = ServerTitle;
    aare.authentication = Authentication::HighGmac;
    aare.respondingAuthenticationValue = StoC;
    aare.cipheredInitiate = ciphered(false, ServerTitle, 100, plainResponse);
    add(Direction::Received, encodeApdu(aare));

    ActionRequest reply;
    reply.invoke.invokeId = 2;
    reply.method = {15, Obis {0, 0, 40, 0, 0, 255}, 1};
    reply.parameters = Value::octetString(security::gmacResponse(ClientTitle, 2, Ek, Ak, StoC).value());
    add(Direction::Sent, ciphered(false, ClientTitle, 2, encodeApdu(reply)));
    ActionResponse replied;
    replied.invoke.invokeId = 2;
    replied.returnParameters = DataResult {DataAccessResult::Success,
        Value::octetString(security::gmacResponse(ServerTitle, 101, Ek, Ak, CtoS).value())};
    add(Direction::Received, ciphered(false, ServerTitle, 101, encodeApdu(replied)));

    GetRequest get;
    get.invoke.invokeId = 3;
    get.items = {{{3, Obis {1, 0, 1, 8, 0, 255}, 2}, {}}};
    add(Direction::Sent, ciphered(true, ClientTitle, 3, encodeApdu(get)));
    GetResponse got;
    got.invoke.invokeId = 3;
    got.results = {{DataAccessResult::Success, Value::doubleLongUnsigned(12345)}};
    add(Direction::Received, ciphered(true, ServerTitle, 102, encodeApdu(got)));

    get.invoke.invokeId = 4;
    got.invoke.invokeId = 4;
    got.results = {{DataAccessResult::Success, Value::doubleLongUnsigned(777)}};
    add(Direction::Sent,
        security::encodeGeneralCiphered(false, 0x30, ClientTitle, 4, Ek, Ak, encodeApdu(get)).value());
    add(Direction::Received,
        security::encodeGeneralCiphered(false, 0x30, ServerTitle, 103, Ek, Ak, encodeApdu(got)).value());
    return frames;
}

std::vector<TraceDecoder::Line> decodeAll(TraceDecoder &decoder, const std::vector<Recorded> &frames)
{
    std::vector<TraceDecoder::Line> lines;
    for (const Recorded &frame : frames) {
        for (auto &line : decoder.feed(frame.direction, frame.wire))
            lines.push_back(std::move(line));
    }
    return lines;
}

SecuritySettings clientSecurity(const QByteArray &ek, const QByteArray &ak)
{
    SecuritySettings settings;
    settings.policy = SecurityPolicy::AuthenticatedEncrypted;
    settings.systemTitle = ClientTitle;
    settings.blockCipherKey = ek;
    settings.authenticationKey = ak;
    settings.dedicatedKey = true;
    return settings;
}

// No key in any form a line could hold it: hex with or without spaces, any case.
void verifyNoKeys(const QString &text)
{
    for (const QByteArray &key : {Ek, Ak, DedicatedKey}) {
        QVERIFY(!text.contains(QString::fromLatin1(key.toHex()), Qt::CaseInsensitive));
        QVERIFY(!text.contains(QString::fromLatin1(key.toHex(' ')), Qt::CaseInsensitive));
        QVERIFY(!text.contains(QString::fromLatin1(key.toHex(':')), Qt::CaseInsensitive));
        for (qsizetype i = 0; i + 4 <= key.size(); ++i)
            QVERIFY2(!text.contains(QString::fromLatin1(key.mid(i, 4).toHex(' ')), Qt::CaseInsensitive),
                qPrintable(u"key bytes %1..%2 appear"_s.arg(i).arg(i + 3)));
    }
}

} // namespace

class tst_TraceDecoder : public QObject {
    Q_OBJECT

private slots:
    void masksPasswordInWrapperFrame()
    {
        QByteArray wire;
        QVERIFY(wrapper::encode(16, 1, llsAarq(), wire));
        TraceDecoder decoder;
        const auto lines = decoder.feed(Direction::Sent, wire);
        QCOMPARE(lines.size(), size_t(1));
        QVERIFY2(lines[0].summary.contains(u"AARQ"_s), qPrintable(lines[0].summary));
        QCOMPARE(lines[0].size, wire.size());
        verifyNoPassword(allText(lines));
        // Only the secret is masked: the header and the rest of the AARQ stay readable.
        QVERIFY(lines[0].hex.startsWith(u"00 01 00 10 00 01"_s));
        QVERIFY(lines[0].hex.contains(u"60 85 74 05 08 02 01"_s)); // LLS mechanism name
        // The AC element's content (the GraphicString tag and length, then the secret) shows as
        // "**", one per byte, right after the element's own tag and length.
        const QString stars = QStringList(Password.size() + 2, u"**"_s).join(u' ');
        QVERIFY2(lines[0].hex.contains(u"AC 20 "_s + stars + u" BE"_s), qPrintable(lines[0].hex));
        QCOMPARE(lines[0].hex.count(u"**"_s), Password.size() + 2);
    }

    void masksPasswordAcrossHdlcSegments_data()
    {
        QTest::addColumn<int>("maxInfo");
        for (const int n : {16, 24, 33, 40, 64, 128})
            QTest::addRow("max-info-%d", n) << n;
    }

    void masksPasswordAcrossHdlcSegments()
    {
        QFETCH(int, maxInfo);
        const auto frames = clientFrames(llsAarq(), quint16(maxInfo));
        QVERIFY(!frames.empty());
        if (maxInfo < 64)
            QVERIFY(frames.size() > 1);
        TraceDecoder decoder(Transport::Hdlc);
        std::vector<TraceDecoder::Line> lines;
        for (const QByteArray &frame : frames)
            for (auto &line : decoder.feed(Direction::Sent, frame))
                lines.push_back(std::move(line));
        QCOMPARE(lines.size(), frames.size()); // held segments all come out with the last one
        QVERIFY2(lines.back().summary.contains(u"AARQ"_s), qPrintable(lines.back().summary));
        qsizetype masked = 0;
        for (size_t i = 0; i < lines.size(); ++i) {
            QCOMPARE(lines[i].size, frames[i].size());
            masked += lines[i].hex.count(u"**"_s);
        }
        QCOMPARE(masked, Password.size() + 2); // the whole AC content, wherever the segments cut it
        verifyNoPassword(allText(lines));
    }

    void unterminatedSegmentsAreCapped()
    {
        TraceDecoder decoder(Transport::Hdlc);
        hdlc::Frame frame;
        frame.destination = hdlc::Address::client(16);
        frame.source = hdlc::Address::server(1, 0);
        frame.segmented = true;
        frame.info = QByteArray(1000, 'x');
        int errors = 0;
        qsizetype lines = 0;
        for (int i = 0; i < 1100; ++i) {
            frame.control = hdlc::control::i(quint8(i % 8), 0, false);
            QByteArray wire;
            QVERIFY(hdlc::encode(frame, wire));
            for (const auto &line : decoder.feed(Direction::Received, wire)) {
                ++lines;
                if (line.isError) {
                    ++errors;
                    QVERIFY2(line.summary.contains(u"without a last segment"_s), qPrintable(line.summary));
                }
            }
        }
        QCOMPARE(errors, 1); // 1,100,000 bytes: past the 1 MiB cap exactly once
        QCOMPARE(lines, qsizetype(1100 + 1));
    }

    void garbageBecomesAnErrorLineAndDecodingGoesOn()
    {
        TraceDecoder decoder; // auto-detects from the first byte
        const QByteArray snrm = QByteArray::fromHex("7EA0070321930F017E");
        auto lines = decoder.feed(Direction::Sent, snrm);
        QCOMPARE(decoder.transport(), std::optional<Transport>(Transport::Hdlc));
        QCOMPARE(lines.size(), size_t(1));
        QVERIFY(lines[0].summary.startsWith(u"HDLC SNRM"_s));
        lines = decoder.feed(Direction::Sent, QByteArray::fromHex("0102037EA0070321930F017E"));
        QCOMPARE(lines.size(), size_t(2));
        QVERIFY(lines[0].isError);
        QVERIFY(lines[1].summary.startsWith(u"HDLC SNRM"_s));
    }

    void namesAndScalesResults()
    {
        TraceDecoder decoder(Transport::Wrapper);
        GetRequest request;
        request.kind = GetRequest::Kind::WithList;
        request.invoke.invokeId = 5;
        request.items = {{{3, Obis {1, 0, 32, 7, 0, 255}, 2}, {}}, {{3, Obis {1, 0, 32, 7, 0, 255}, 3}, {}}};
        GetResponse response;
        response.kind = GetResponse::Kind::WithList;
        response.invoke.invokeId = 5;
        response.results = {{DataAccessResult::Success, Value::longUnsigned(2314)},
            {DataAccessResult::Success, Value::structure({Value::integer(-1), Value::enumeration(35)})}};
        QByteArray out, in;
        QVERIFY(wrapper::encode(16, 1, encodeApdu(request), out));
        QVERIFY(wrapper::encode(1, 16, encodeApdu(response), in));
        (void)decoder.feed(Direction::Sent, out);
        const auto lines = decoder.feed(Direction::Received, in);
        QCOMPARE(lines.size(), size_t(1));
        QCOMPARE(lines[0].details.size(), qsizetype(2));
        QCOMPARE(lines[0].details[0],
            u"[1] 1.0.32.7.0.255:2 (Voltage L1, instantaneous) = long-unsigned 2314 → 231.4 V"_s);
        QVERIFY2(lines[0].details[1].endsWith(u"→ scaler 10^-1, unit V"_s), qPrintable(lines[0].details[1]));
    }
    void decipherRecordedExchangeWithKeys()
    {
        TraceDecoder decoder(Transport::Wrapper);
        decoder.setSecurity(clientSecurity(Ek, Ak));
        const auto lines = decodeAll(decoder, cipheredExchange());
        QCOMPARE(lines.size(), size_t(8));
        for (const auto &line : lines) {
            QVERIFY2(!line.isError, qPrintable(line.summary));
            QVERIFY2(line.decrypted, qPrintable(line.summary));
            QVERIFY2(line.summary.contains(u" | decrypted: "_s), qPrintable(line.summary));
        }
        QVERIFY2(
            lines[0].summary.contains(u"glo-initiate-request SC 0x30 IC 1"_s), qPrintable(lines[0].summary));
        QVERIFY2(lines[0].summary.contains(u"decrypted: InitiateRequest"_s), qPrintable(lines[0].summary));
        QVERIFY2(lines[0].summary.contains(u"dedicated key: (masked)"_s), qPrintable(lines[0].summary));
        QVERIFY(lines[0].details.contains(u"HLS-GMAC pass 1: CtoS challenge of 8 bytes"_s));
        QVERIFY2(lines[1].summary.contains(u"glo-initiate-response SC 0x30 IC 100"_s),
            qPrintable(lines[1].summary));
        QVERIFY2(lines[1].summary.contains(
                     u"decrypted: InitiateResponse conformance 00 1E 1D, server max PDU 1024"_s),
            qPrintable(lines[1].summary));
        QVERIFY(lines[1].details.contains(u"HLS-GMAC pass 2: StoC challenge of 8 bytes"_s));
        QVERIFY2(
            lines[2].summary.contains(u"glo-action-request SC 0x30 IC 2"_s), qPrintable(lines[2].summary));
        const QString fStoC = toHex(security::gmacResponse(ClientTitle, 2, Ek, Ak, StoC).value());
        QVERIFY2(
            lines[2].details.contains(u"HLS-GMAC pass 3: reply_to_HLS_authentication, f(StoC) "_s + fStoC),
            qPrintable(lines[2].details.join(u'\n')));
        const QString fCtoS = toHex(security::gmacResponse(ServerTitle, 101, Ek, Ak, CtoS).value());
        QVERIFY2(lines[3].details.contains(u"HLS-GMAC pass 4: accepted, f(CtoS) "_s + fCtoS),
            qPrintable(lines[3].details.join(u'\n')));
        QVERIFY2(lines[4].summary.contains(u"ded-get-request SC 0x30 IC 3"_s), qPrintable(lines[4].summary));
        QVERIFY2(lines[4].summary.contains(u"decrypted: GET-Request-Normal"_s), qPrintable(lines[4].summary));
        QVERIFY2(
            lines[5].summary.contains(u"ded-get-response SC 0x30 IC 102"_s), qPrintable(lines[5].summary));
        QCOMPARE(lines[5].details.size(), qsizetype(1));
        QVERIFY2(
            lines[5].details[0].contains(u"1.0.1.8.0.255:2"_s) && lines[5].details[0].contains(u"12345"_s),
            qPrintable(lines[5].details[0]));
        QVERIFY2(
            lines[6].summary.contains(u"general-glo-ciphering SC 0x30 IC 4"_s), qPrintable(lines[6].summary));
        QVERIFY2(lines[7].summary.contains(u"general-glo-ciphering SC 0x30 IC 103"_s),
            qPrintable(lines[7].summary));
        QVERIFY2(lines[7].details.size() == 1 && lines[7].details[0].contains(u"777"_s),
            qPrintable(lines[7].details.join(u'\n')));
        verifyNoKeys(allText(lines));
    }

    void recordedExchangeWithoutKeysShowsCipheredSummaries()
    {
        TraceDecoder decoder(Transport::Wrapper);
        const auto lines = decodeAll(decoder, cipheredExchange());
        QCOMPARE(lines.size(), size_t(8));
        const QStringList names = {u"glo-initiate-request"_s, u"glo-initiate-response"_s,
            u"glo-action-request"_s, u"glo-action-response"_s, u"ded-get-request"_s, u"ded-get-response"_s,
            u"general-glo-ciphering"_s, u"general-glo-ciphering"_s};
        for (size_t i = 0; i < lines.size(); ++i) {
            QVERIFY2(!lines[i].isError, qPrintable(lines[i].summary));
            QVERIFY(!lines[i].decrypted);
            QVERIFY2(lines[i].summary.contains(names[qsizetype(i)] + u" SC 0x30 IC "_s),
                qPrintable(lines[i].summary));
            QVERIFY2(lines[i].summary.contains(u"bytes ciphered"_s), qPrintable(lines[i].summary));
            QVERIFY(!lines[i].summary.contains(u"decrypted"_s));
        }
        QVERIFY(!allText(lines).contains(u"12345"_s));
        verifyNoKeys(allText(lines));
    }

    void wrongKeysGiveErrorLines_data()
    {
        QTest::addColumn<QByteArray>("ek");
        QTest::addColumn<QByteArray>("ak");

        QByteArray wrongEk = Ek;
        wrongEk[0] = char(wrongEk[0] ^ 0x01);
        QByteArray wrongAk = Ak;
        wrongAk[15] = char(wrongAk[15] ^ 0x80);
        QTest::newRow("wrong-ek") << wrongEk << Ak;
        QTest::newRow("wrong-ak") << Ek << wrongAk;
    }

    void wrongKeysGiveErrorLines()
    {
        QFETCH(QByteArray, ek);
        QFETCH(QByteArray, ak);

        TraceDecoder decoder(Transport::Wrapper);
        decoder.setSecurity(clientSecurity(ek, ak));
        const auto lines = decodeAll(decoder, cipheredExchange());
        QCOMPARE(lines.size(), size_t(8));
        // The AARQ's initiate fails, so no dedicated key is learnt: ded- lines stay undeciphered.
        for (const size_t i : {size_t(0), size_t(1), size_t(2), size_t(3), size_t(6), size_t(7)}) {
            QVERIFY2(lines[i].isError, qPrintable(lines[i].summary));
            QVERIFY(!lines[i].decrypted);
            QVERIFY2(lines[i].summary.contains(u"cannot decipher: the authentication tag does not verify"_s),
                qPrintable(lines[i].summary));
        }
        for (const size_t i : {size_t(4), size_t(5)}) {
            QVERIFY(!lines[i].decrypted);
            QVERIFY(lines[i].details.contains(u"not deciphered: no dedicated key seen in this trace"_s));
        }
        verifyNoKeys(allText(lines));
        verifyNoKeys(allText(lines).remove(u' '));
    }

    void cipheredAarqDecryptsAcrossHdlcSegments()
    {
        TraceDecoder decoder(Transport::Hdlc);
        decoder.setSecurity(clientSecurity(Ek, Ak));
        std::vector<TraceDecoder::Line> lines;
        for (const QByteArray &frame : clientFrames(cipheredAarq(), 32)) {
            for (auto &line : decoder.feed(Direction::Sent, frame))
                lines.push_back(std::move(line));
        }
        QVERIFY(lines.size() > 2);
        const auto &last = lines.back();
        QVERIFY2(last.decrypted, qPrintable(last.summary));
        QVERIFY2(last.summary.contains(u"dedicated key: (masked)"_s), qPrintable(last.summary));
        verifyNoKeys(allText(lines));
    }

    void undecodableCipheredApduIsAnErrorLine()
    {
        TraceDecoder decoder(Transport::Wrapper);
        decoder.setSecurity(clientSecurity(Ek, Ak));
        const auto lines
            = decoder.feed(Direction::Sent, wrapped(Direction::Sent, QByteArray::fromHex("C8843000000000")));
        QCOMPARE(lines.size(), size_t(1));
        QVERIFY(lines[0].isError);
        QVERIFY2(
            lines[0].summary.contains(u"glo-get-request (undecodable: "_s), qPrintable(lines[0].summary));
    }
};

QTEST_GUILESS_MAIN(tst_TraceDecoder)
#include "tst_tracedecoder.moc"
