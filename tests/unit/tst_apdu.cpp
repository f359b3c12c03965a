#include "apdu.h"
#include "testsupport.h"

#include <QtCore/QRandomGenerator>
#include <QtTest/QTest>

#include <set>

using namespace dlms;
using namespace dlms::test;
using namespace Qt::StringLiterals;

namespace {

constexpr quint32 Seed = 0xA9D0'0001;

// One valid APDU of every type (and most choices), canonical, so encode(decode(x)) == x.
struct Vector {
    const char *name;
    QByteArray bytes;
    size_t index; // Apdu alternative
    FrameKind kind;
    QString description;
};

QList<Vector> vectors()
{
    return {
        {"aarq-no-auth", hex("601DA109060760857405080101BE10040E01000000065F1F0400007E1FFFFF"), 0,
            FrameKind::Aarq, u"AARQ LN, auth none, conformance 00 7E 1F, client max PDU 65535"_s},
        {"aarq-lls",
            hex("6036A1090607608574050801018A0207808B0760857405080201AC0A80083132333435363738BE10040E01000000"
                "065F1F0400007E1F04B0"),
            0, FrameKind::Aarq,
            u"AARQ LN, auth low, password: ***, conformance 00 7E 1F, client max PDU 1200"_s},
        {"aarq-hls-gmac",
            hex("6036A1090607608574050801018A0207808B0760857405080205AC0A80084B35366956616759BE10040E01000000"
                "065F1F0400007E1F04B0"),
            0, FrameKind::Aarq,
            u"AARQ LN, auth high-gmac, challenge: ***, conformance 00 7E 1F, client max PDU 1200"_s},
        {"aarq-ciphered",
            hex("6066A109060760857405080103A60A04084D4D4D0000BC614E8A0207808B0760857405080201AC0A800831323334"
                "35363738BE34043221303001234567801302FF8A7874133D414CED25B42534D28DB0047720606B175BD52211BE68"
                "41DB204D39EE6FDB8E356855"),
            0, FrameKind::Aarq,
            u"AARQ LN-ciphered, auth low, password: ***, system title 4D 4D 4D 00 00 BC 61 4E, ciphered initiate (50 bytes)"_s},
        {"aare-accepted-1024",
            hex("6129A109060760857405080101A203020100A305A103020100BE10040E0800065F1F0400007E1F04000007"), 1,
            FrameKind::Aare, u"AARE accepted, conformance 00 7E 1F, server max PDU 1024"_s},
        {"aare-authentication-failure", hex("6117A109060760857405080101A203020101A305A10302010D"), 1,
            FrameKind::Aare, u"AARE rejected-permanent: authentication-failure"_s},
        {"aare-hls",
            hex("6142A109060760857405080101A203020100A305A10302010E88020780890760857405080205AA0A800850367752"
                "4A323146BE10040E0800065F1F040000501F01F40007"),
            1, FrameKind::Aare,
            u"AARE accepted: authentication-required, auth high-gmac, conformance 00 50 1F, server max PDU 500"_s},
        {"rlrq-normal", hex("6203800100"), 2, FrameKind::Rlrq, u"RLRQ reason normal"_s},
        {"rlrq-no-reason", hex("6200"), 2, FrameKind::Rlrq, u"RLRQ no reason"_s},
        {"rlre-normal", hex("6303800100"), 3, FrameKind::Rlre, u"RLRE reason normal"_s},
        {"rlre-not-finished", hex("6303800101"), 3, FrameKind::Rlre, u"RLRE reason not-finished"_s},
        {"get-request-normal", hex("C001C100030100010800FF0200"), 4, FrameKind::GetRequest,
            u"GET-Request-Normal iid=1 class=3 1.0.1.8.0.255 attr=2"_s},
        {"get-request-range",
            hex("C001C100070100630100FF0201 01 0204 0204 120008 0906 0000010000FF 0F02 120000"
                "090C 07E10A010700000000FFC480 090C 07E10A010701000000FFC480 0100"),
            4, FrameKind::GetRequest,
            u"GET-Request-Normal iid=1 class=7 1.0.99.1.0.255 attr=2 access=range"_s},
        {"get-request-entry", hex("C001C200070100630100FF0201 02 0204 0600000001 060000000A 120001 120000"),
            4, FrameKind::GetRequest,
            u"GET-Request-Normal iid=2 class=7 1.0.99.1.0.255 attr=2 access=entry"_s},
        {"get-request-next", hex("C002C100000001"), 4, FrameKind::GetRequest,
            u"GET-Request-Next iid=1 block=1"_s},
        {"get-request-with-list", hex("C003C102 0001 00002A0000FF 02 00 0008 0000010000FF 02 00"), 4,
            FrameKind::GetRequest,
            u"GET-Request-With-List iid=1 n=2: class=1 0.0.42.0.0.255 attr=2, class=8 0.0.1.0.0.255 attr=2"_s},
        {"get-request-with-list-5",
            hex("C003C105 00030100010800FF0200 00030100020800FF0200 00030100030800FF0200"
                "00030100040800FF0200 00030100200700FF0200"),
            4, FrameKind::GetRequest,
            u"GET-Request-With-List iid=1 n=5: class=3 1.0.1.8.0.255 attr=2, class=3 1.0.2.8.0.255 attr=2, "
            u"class=3 1.0.3.8.0.255 attr=2, class=3 1.0.4.8.0.255 attr=2, …"_s},
        {"get-response-normal", hex("C401C1000600001391"), 5, FrameKind::GetResponse,
            u"GET-Response-Normal iid=1 double-long-unsigned 5009"_s},
        {"get-response-octet-string", hex("C401C100 0906 0000010000FF"), 5, FrameKind::GetResponse,
            u"GET-Response-Normal iid=1 octet-string 00 00 01 00 00 FF"_s},
        {"get-response-structure", hex("C401C100 0202 0FFD 161E"), 5, FrameKind::GetResponse,
            u"GET-Response-Normal iid=1 structure of 2"_s},
        {"get-response-error", hex("C401C10104"), 5, FrameKind::GetResponse,
            u"GET-Response-Normal iid=1 object-undefined"_s},
        {"get-response-block", hex("C402C1 00 00000001 00 05 0102030405"), 5, FrameKind::GetResponse,
            u"GET-Response-With-Datablock iid=1 block=1 5 bytes"_s},
        {"get-response-last-block-error", hex("C402C101000000130101"), 5, FrameKind::GetResponse,
            u"GET-Response-With-Datablock iid=1 block=19 last hardware-fault"_s},
        {"get-response-with-list", hex("C403C102 00 0600001391 01 04"), 5, FrameKind::GetResponse,
            u"GET-Response-With-List iid=1 n=2 (1 failed)"_s},
        {"set-request", hex("C101C1 0008 0000010000FF 02 00 090C 07E50118FF0E303950FFC400"), 6,
            FrameKind::SetRequest,
            u"SET-Request-Normal iid=1 class=8 0.0.1.0.0.255 attr=2 value=octet-string"_s},
        {"set-response", hex("C501C100"), 7, FrameKind::SetResponse, u"SET-Response-Normal iid=1 success"_s},
        {"set-response-denied", hex("C501C103"), 7, FrameKind::SetResponse,
            u"SET-Response-Normal iid=1 read-write-denied"_s},
        {"action-request", hex("C301C0000F0000280000FF0101 0911 1000001A90E6D2221FA2FD85EED61ACC22"), 8,
            FrameKind::ActionRequest,
            u"ACTION-Request-Normal iid=0 class=15 0.0.40.0.0.255 method=1 parameters=octet-string"_s},
        {"action-request-no-parameters", hex("C301C0000F0000280000FF0100"), 8, FrameKind::ActionRequest,
            u"ACTION-Request-Normal iid=0 class=15 0.0.40.0.0.255 method=1"_s},
        {"action-response", hex("C701C00000"), 9, FrameKind::ActionResponse,
            u"ACTION-Response-Normal iid=0 success"_s},
        {"action-response-returned-error", hex("C701C0000101FA"), 9, FrameKind::ActionResponse,
            u"ACTION-Response-Normal iid=0 success, returned other-reason"_s},
        {"action-response-returned-value", hex("C701C000010011 05"), 9, FrameKind::ActionResponse,
            u"ACTION-Response-Normal iid=0 success, returned unsigned 5"_s},
        {"exception", hex("D80102"), 10, FrameKind::Exception,
            u"EXCEPTION-Response service-not-allowed / service-not-supported"_s},
        {"confirmed-service-error", hex("0E010601"), 11, FrameKind::Exception,
            u"Confirmed-Service-Error initiateError: initiate / dlms-version-too-low"_s},
    };
}

} // namespace

class TestApdu : public QObject {
    Q_OBJECT

private slots:
    void vectors_data();
    void vectors();
    void classify_data();
    void classify();
    void kindNames();
    void requestKinds();
    void unknownTags_data();
    void unknownTags();
    void passwordNeverInDescription_data();
    void passwordNeverInDescription();
    void longValuesSummarised_data();
    void longValuesSummarised();
    void megabyteOctetStringSummarised();
    void randomBytesNeverCrash();
    void mutatedVectorsRoundTrip();
};

void TestApdu::vectors_data()
{
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<int>("index");
    QTest::addColumn<FrameKind>("kind");
    QTest::addColumn<QString>("description");
    for (const Vector &v : ::vectors())
        QTest::newRow(v.name) << v.bytes << int(v.index) << v.kind << v.description;
}

void TestApdu::vectors()
{
    QFETCH(QByteArray, bytes);
    QFETCH(int, index);
    QFETCH(FrameKind, kind);
    QFETCH(QString, description);

    const auto decoded = decodeApdu(bytes);
    QVERIFY2(decoded.ok(), qPrintable(decoded.ok() ? QString() : decoded.error().message));
    QCOMPARE(int(decoded->index()), index);
    QCOMPARE(encodeApdu(*decoded).toHex(' '), bytes.toHex(' '));
    QByteArray appended = "prefix"_ba;
    encode(*decoded, appended);
    QCOMPARE(appended, "prefix"_ba + bytes);
    QCOMPARE(frameKindName(classifyApdu(bytes)), frameKindName(kind));
    QCOMPARE(describeApdu(*decoded), description);

    for (qsizetype n = 0; n < bytes.size(); ++n) {
        const auto prefix = decodeApdu(QByteArrayView(bytes).first(n));
        QVERIFY2(!prefix.ok(), qPrintable(QStringLiteral("prefix %1 decoded").arg(n)));
        QVERIFY(!prefix.error().message.isEmpty());
    }
}

void TestApdu::classify_data()
{
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<FrameKind>("kind");

    QTest::newRow("empty") << QByteArray() << FrameKind::Other;
    QTest::newRow("aarq-tag-only") << hex("60") << FrameKind::Aarq;
    QTest::newRow("aare") << hex("6129") << FrameKind::Aare;
    QTest::newRow("rlrq") << hex("6200") << FrameKind::Rlrq;
    QTest::newRow("rlre") << hex("6300") << FrameKind::Rlre;
    QTest::newRow("get-request") << hex("C001") << FrameKind::GetRequest;
    QTest::newRow("set-request") << hex("C101") << FrameKind::SetRequest;
    QTest::newRow("action-request") << hex("C301") << FrameKind::ActionRequest;
    QTest::newRow("get-response") << hex("C401") << FrameKind::GetResponse;
    QTest::newRow("set-response") << hex("C501") << FrameKind::SetResponse;
    QTest::newRow("action-response") << hex("C701") << FrameKind::ActionResponse;
    QTest::newRow("exception-response") << hex("D80101") << FrameKind::Exception;
    QTest::newRow("confirmed-service-error") << hex("0E010601") << FrameKind::Exception;
    QTest::newRow("event-notification") << hex("C2") << FrameKind::Other;
    QTest::newRow("glo-get-request") << hex("C8") << FrameKind::GetRequest;
    QTest::newRow("glo-set-request") << hex("C9") << FrameKind::SetRequest;
    QTest::newRow("glo-action-request") << hex("CB") << FrameKind::ActionRequest;
    QTest::newRow("glo-get-response") << hex("CC") << FrameKind::GetResponse;
    QTest::newRow("glo-set-response") << hex("CD") << FrameKind::SetResponse;
    QTest::newRow("glo-action-response") << hex("CF") << FrameKind::ActionResponse;
    QTest::newRow("glo-event-notification") << hex("CA") << FrameKind::Other;
    QTest::newRow("glo-confirmed-service-error") << hex("2E") << FrameKind::Exception;
    QTest::newRow("glo-initiate-request") << hex("21") << FrameKind::Other;
    QTest::newRow("ded-get-request") << hex("D0") << FrameKind::GetRequest;
    QTest::newRow("ded-set-request") << hex("D1") << FrameKind::SetRequest;
    QTest::newRow("ded-action-request") << hex("D3") << FrameKind::ActionRequest;
    QTest::newRow("ded-get-response") << hex("D4") << FrameKind::GetResponse;
    QTest::newRow("ded-set-response") << hex("D5") << FrameKind::SetResponse;
    QTest::newRow("ded-action-response") << hex("D7") << FrameKind::ActionResponse;
    QTest::newRow("general-ded-ciphering") << hex("DC08") << FrameKind::Other;
    QTest::newRow("general-glo-ciphering") << hex("DB08") << FrameKind::Other;
    QTest::newRow("data-notification") << hex("0F") << FrameKind::Other;
    QTest::newRow("garbage-ff") << hex("FF") << FrameKind::Other;
}

void TestApdu::classify()
{
    QFETCH(QByteArray, bytes);
    QFETCH(FrameKind, kind);
    QCOMPARE(int(classifyApdu(bytes)), int(kind));
}

void TestApdu::kindNames()
{
    const QStringList expected = {u"hdlc-control"_s, u"aarq"_s, u"aare"_s, u"get-request"_s,
        u"get-response"_s, u"set-request"_s, u"set-response"_s, u"action-request"_s, u"action-response"_s,
        u"rlrq"_s, u"rlre"_s, u"exception"_s, u"other"_s};
    QCOMPARE(qsizetype(FrameKindCount), expected.size());
    for (int i = 0; i < FrameKindCount; ++i)
        QCOMPARE(frameKindName(FrameKind(i)), expected[i]);
}

void TestApdu::requestKinds()
{
    const std::set<FrameKind> requests = {FrameKind::Aarq, FrameKind::GetRequest, FrameKind::SetRequest,
        FrameKind::ActionRequest, FrameKind::Rlrq};
    for (int i = 0; i < FrameKindCount; ++i)
        QCOMPARE(isRequestKind(FrameKind(i)), requests.count(FrameKind(i)) == 1);
}

void TestApdu::unknownTags_data()
{
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<ErrorCode>("code");

    QTest::newRow("empty") << QByteArray() << ErrorCode::Truncated;
    QTest::newRow("event-notification") << hex("C2000000") << ErrorCode::UnknownTag;
    QTest::newRow("glo-get-request") << hex("C80530000000") << ErrorCode::UnknownTag;
    QTest::newRow("ff") << hex("FF") << ErrorCode::UnknownTag;
    QTest::newRow("zero") << hex("00") << ErrorCode::UnknownTag;
    QTest::newRow("with-list-count-ffffff") << hex("C003C183FFFFFF") << ErrorCode::LengthTooLarge;
    QTest::newRow("get-response-with-list-count-ffffff")
        << hex("C403C183FFFFFF") << ErrorCode::LengthTooLarge;
}

void TestApdu::unknownTags()
{
    QFETCH(QByteArray, bytes);
    QFETCH(ErrorCode, code);
    const auto decoded = decodeApdu(bytes);
    QVERIFY(!decoded.ok());
    QCOMPARE(errorCodeName(decoded.error().code), errorCodeName(code));
}

void TestApdu::passwordNeverInDescription_data()
{
    QTest::addColumn<Authentication>("mechanism");
    QTest::addColumn<QByteArray>("secret");

    QTest::newRow("lls-digits") << Authentication::Low << "12345678"_ba;
    QTest::newRow("lls-text") << Authentication::Low << "S3cr3t-Pa55w0rd!"_ba;
    QTest::newRow("lls-binary") << Authentication::Low << hex("00FF10203040A5");
    QTest::newRow("hls-challenge") << Authentication::HighGmac << "K56iVagYqwerty12"_ba;
    QTest::newRow("value-without-mechanism") << Authentication::None << "hunter22"_ba;
}

void TestApdu::passwordNeverInDescription()
{
    QFETCH(Authentication, mechanism);
    QFETCH(QByteArray, secret);

    Aarq aarq;
    aarq.authentication = mechanism;
    aarq.authenticationValue = secret;
    aarq.callingApTitle = hex("4D4D4D0000BC614E");
    const QByteArray wire = encodeApdu(aarq);
    QVERIFY(wire.contains(secret)); // it is on the wire, where it belongs

    const auto decoded = decodeApdu(wire);
    QVERIFY(decoded.ok());
    for (const QString &text : {describeApdu(aarq), describeApdu(*decoded)}) {
        QVERIFY2(text.contains(u"***"), qPrintable(text));
        const QString forms[] = {
            QString::fromLatin1(secret),
            QString::fromLatin1(secret.toHex()),
            QString::fromLatin1(secret.toHex().toUpper()),
            QString::fromLatin1(secret.toHex(' ')),
            QString::fromLatin1(secret.toHex(' ').toUpper()),
            QString::fromLatin1(secret.toBase64()),
        };
        for (const QString &form : forms)
            QVERIFY2(!text.contains(form, Qt::CaseInsensitive), qPrintable(u"secret leaked: "_s + text));
        // Not even a fragment: no 4-byte window of the secret may appear.
        for (qsizetype i = 0; i + 4 <= secret.size(); ++i)
            QVERIFY2(!text.contains(QString::fromLatin1(secret.mid(i, 4))),
                qPrintable(u"fragment leaked: "_s + text));
    }
}

void TestApdu::longValuesSummarised_data()
{
    QTest::addColumn<Value>("value");
    QTest::addColumn<QString>("text");

    const auto rows = [](int n) {
        ValueList items;
        for (int i = 0; i < n; ++i)
            items.push_back(Value::doubleLongUnsigned(quint32(i)));
        return items;
    };
    const QString x16 = u"78 78 78 78 78 78 78 78 78 78 78 78 78 78 78 78"_s;
    // 21 bytes is the longest octet-string whose hex (62 characters) is shown whole.
    QTest::newRow("octet-string-21-whole")
        << Value::octetString(QByteArray(21, '\x01'))
        << u"octet-string "_s + u"01 "_s.repeated(20) + u"01"_s;
    QTest::newRow("octet-string-22-summarised")
        << Value::octetString(QByteArray(22, 'x')) << u"octet-string "_s + x16 + u"… (22 bytes)"_s;
    QTest::newRow("octet-string-500-summarised")
        << Value::octetString(QByteArray(500, 'x')) << u"octet-string "_s + x16 + u"… (500 bytes)"_s;
    QTest::newRow("visible-string-62-whole")
        << Value::visibleString(QByteArray(62, 'a'))
        << u"visible-string \""_s + QString(62, u'a') + u"\""_s;
    QTest::newRow("visible-string-63-summarised")
        << Value::visibleString(QByteArray(63, 'a'))
        << u"visible-string \""_s + QString(24, u'a') + u"\"… (63 bytes)"_s;
    // Control characters are escaped in the shown head, never copied raw into a trace line.
    QTest::newRow("visible-string-escaped-head")
        << Value::visibleString(QByteArray(100, '\n'))
        << u"visible-string \""_s + u"\\x0a"_s.repeated(15) + u"\\x0… (100 bytes)"_s;
    QTest::newRow("utf8-string-summarised")
        << Value::utf8String(QString(70, QChar(0x00E9)))
        << u"utf8-string \""_s + QString(24, QChar(0x00E9)) + u"\"… (70 characters)"_s;
    // A surrogate pair straddling the cut is dropped whole, not split.
    QTest::newRow("utf8-string-surrogate-at-cut")
        << Value::utf8String(QString(23, u'a') + u"\U0001F600"_s + QString(60, u'b'))
        << u"utf8-string \""_s + QString(23, u'a') + u"\"… (85 characters)"_s;
    QTest::newRow("bit-string-64-whole")
        << Value::bitString(BitString{QByteArray(8, '\xF0'), 64}) << u"bit-string "_s + u"11110000"_s.repeated(8);
    QTest::newRow("bit-string-65-summarised")
        << Value::bitString(BitString{QByteArray(9, '\xAA'), 65})
        << u"bit-string "_s + u"10101010"_s.repeated(8) + u"… (65 bits)"_s;
    QTest::newRow("array-10000") << Value::array(rows(10000)) << u"array of 10000"_s;
    QTest::newRow("structure-3") << Value::structure(rows(3)) << u"structure of 3"_s;
    CompactArrayData compact;
    compact.elementType.type = DataType::DoubleLongUnsigned;
    compact.elements = rows(7);
    QTest::newRow("compact-array-7") << Value::compactArray(compact) << u"compact-array of 7"_s;
}

void TestApdu::longValuesSummarised()
{
    QFETCH(Value, value);
    QFETCH(QString, text);
    GetResponse response;
    response.results.push_back(DataResult {DataAccessResult::Success, value});
    const QString described = describeApdu(response);
    QCOMPARE(described, u"GET-Response-Normal iid=1 "_s + text);
    QVERIFY2(described.size() < 120, qPrintable(described));
}

void TestApdu::megabyteOctetStringSummarised()
{
    // As it arrives after block transfer: the trace line must not render a megabyte of hex.
    constexpr qsizetype Size = 1 << 20;
    QByteArray apdu = hex("C401C100 09 83100000");
    apdu += QByteArray(Size, '\xAB');
    const auto decoded = decodeApdu(apdu);
    QVERIFY2(decoded.ok(), qPrintable(decoded.ok() ? QString() : decoded.error().message));
    QCOMPARE(describeApdu(*decoded),
        u"GET-Response-Normal iid=1 octet-string "_s + u"AB "_s.repeated(15) + u"AB… (1048576 bytes)"_s);
}

void TestApdu::randomBytesNeverCrash()
{
    // Random bodies behind every known tag: whatever decodes must survive a round trip.
    static const quint8 tags[] = {0x60, 0x61, 0x62, 0x63, 0xC0, 0xC1, 0xC3, 0xC4, 0xC5, 0xC7, 0xD8, 0x0E};
    QRandomGenerator rng(Seed);
    int decodedCount = 0;
    for (int i = 0; i < 60000; ++i) {
        QByteArray bytes(1 + rng.bounded(24), Qt::Uninitialized);
        for (char &c : bytes)
            c = char(rng.bounded(rng.bounded(2) ? 4 : 256));
        bytes[0] = char(tags[rng.bounded(int(std::size(tags)))]);
        if (bytes.size() > 1 && quint8(bytes[0]) >= 0x60 && quint8(bytes[0]) <= 0x63)
            bytes[1] = char(bytes.size() - 2); // give the BER APDUs a chance
        const auto decoded = decodeApdu(bytes);
        if (!decoded)
            continue;
        ++decodedCount;
        const auto again = decodeApdu(encodeApdu(*decoded));
        QVERIFY2(again.ok() && *again == *decoded,
            qPrintable(QStringLiteral("seed %1 iteration %2: %3")
                           .arg(Seed)
                           .arg(i)
                           .arg(QString::fromLatin1(bytes.toHex()))));
        QVERIFY(!describeApdu(*decoded).isEmpty());
    }
    QVERIFY2(decodedCount > 1000, qPrintable(QString::number(decodedCount)));
}

void TestApdu::mutatedVectorsRoundTrip()
{
    QRandomGenerator rng(Seed + 1);
    const QList<Vector> all = ::vectors();
    for (int i = 0; i < 20000; ++i) {
        QByteArray bytes = all[rng.bounded(all.size())].bytes;
        for (int flips = 1 + rng.bounded(3); flips > 0; --flips)
            bytes[rng.bounded(bytes.size())] = char(rng.bounded(256));
        const auto decoded = decodeApdu(bytes);
        if (!decoded)
            continue;
        const auto again = decodeApdu(encodeApdu(*decoded));
        QVERIFY2(again.ok() && *again == *decoded,
            qPrintable(QStringLiteral("seed %1 iteration %2: %3")
                           .arg(Seed + 1)
                           .arg(i)
                           .arg(QString::fromLatin1(bytes.toHex()))));
    }
}

QTEST_GUILESS_MAIN(TestApdu)
#include "tst_apdu.moc"
