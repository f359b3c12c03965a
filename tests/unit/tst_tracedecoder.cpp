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
};

QTEST_GUILESS_MAIN(tst_TraceDecoder)
#include "tst_tracedecoder.moc"
