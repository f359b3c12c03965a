#include "acse.h"
#include "testsupport.h"

#include <QtCore/QRandomGenerator>
#include <QtTest/QTest>

using namespace dlms;
using namespace dlms::test;
using namespace Qt::StringLiterals;

namespace {

constexpr quint32 Seed = 0xACE5'2024;

Aarq llsAarq()
{
    Aarq a;
    a.authentication = Authentication::Low;
    a.authenticationValue = "12345678"_ba;
    a.initiate.clientMaxReceivePduSize = 1200;
    return a;
}

InitiateResponse initiateResponse(quint32 conformance, quint16 pdu)
{
    InitiateResponse r;
    r.negotiatedConformance = conformance;
    r.serverMaxReceivePduSize = pdu;
    return r;
}

// Every vector the tests treat as valid, for the truncation and corruption sweeps.
QList<QByteArray> validAarqs()
{
    return {
        hex("601DA109060760857405080101BE10040E01000000065F1F0400007E1FFFFF"),
        hex("6036A1090607608574050801018A0207808B0760857405080201AC0A80083132333435363738BE10040E01000000065F"
            "1F0400007E1F04B0"),
        hex("6066A109060760857405080103A60A04084D4D4D0000BC614E8A0207808B0760857405080201AC0A8008313233343536"
            "3738BE34043221303001234567801302FF8A7874133D414CED25B42534D28DB0047720606B175BD52211BE6841DB204D"
            "39EE6FDB8E356855"),
        hex("602FA109060760857405080101BE220420010110101112131415161718191A1B1C1D1E1F010000065F1F0400007E1FFF"
            "FF"),
    };
}

QList<QByteArray> validAares()
{
    return {
        hex("6129A109060760857405080101A203020100A305A103020100BE10040E0800065F1F040000501F01F40007"),
        hex("611FA109060760857405080101A203020101A305A103020101BE0604040E010601"),
        hex("6142A109060760857405080101A203020100A305A10302010E88020780890760857405080205AA0A8008503677524A32"
            "3146BE10040E0800065F1F040000501F01F40007"),
        hex("6117A109060760857405080101A203020101A305A10302010D"),
        hex("6139A109060760857405080103A203020100A305A103020100A40A04084D4D4D0000BC614EBE14041228103000000001"
            "1122334455667788990011"),
    };
}

} // namespace

class TestAcse : public QObject {
    Q_OBJECT

private slots:
    void aarqVectors_data();
    void aarqVectors();
    void aarqLongLengths();
    void aarqTolerated_data();
    void aarqTolerated();
    void aarqBad_data();
    void aarqBad();
    void aareVectors_data();
    void aareVectors();
    void aareBad_data();
    void aareBad();
    void aareDescribe_data();
    void aareDescribe();
    void initiate_data();
    void initiate();
    void release_data();
    void release();
    void releaseBad();
    void truncatedEverywhere();
    void corruptedNeverCrashes();
    void names();
    void conformance_data();
    void conformance();
    void roundTripRandomAarq();
    void roundTripRandomAare();
};

void TestAcse::aarqVectors_data()
{
    QTest::addColumn<Aarq>("aarq");
    QTest::addColumn<QByteArray>("bytes");

    // Green Book: LN, no security, conformance 00 7E 1F, client max PDU 65535.
    QTest::newRow("no-auth-ln") << Aarq {}
                                << hex("601DA109060760857405080101BE10040E01000000065F1F0400007E1FFFFF");
    {
        Aarq a;
        a.initiate.proposedConformance = 0x001E1D;
        QTest::newRow("no-auth-conformance-001E1D")
            << a << hex("601DA109060760857405080101BE10040E01000000065F1F0400001E1DFFFF");
    }
    QTest::newRow("lls-password-12345678") << llsAarq()
                                           << hex("6036A1090607608574050801018A0207808B0760857405080201AC0A80"
                                                  "083132333435363738BE10040E01000000065F1F0400007E1F04B0");
    {
        Aarq a = llsAarq();
        a.authentication = Authentication::HighGmac;
        a.authenticationValue = "K56iVagY"_ba;
        QTest::newRow("hls-gmac-challenge") << a
                                            << hex("6036A1090607608574050801018A0207808B0760857405080205AC0A8"
                                                   "0084B35366956616759BE10040E01000000065F1F0400007E1F04B0");
    }
    {
        Aarq a = llsAarq();
        a.ciphered = true;
        a.callingApTitle = hex("4D4D4D0000BC614E");
        a.initiate = {};
        a.cipheredInitiate = hex("21303001234567801302FF8A7874133D414CED25B42534D28DB0047720606B175BD52211BE6"
                                 "841DB204D39EE6FDB8E356855");
        QTest::newRow("ciphered-lls-system-title-glo-initiate")
            << a
            << hex("6066A109060760857405080103A60A04084D4D4D0000BC614E8A0207808B0760857405080201AC0A800831323"
                   "33435363738BE34043221303001234567801302FF8A7874133D414CED25B42534D28DB0047720606B175BD522"
                   "11BE6841DB204D39EE6FDB8E356855");
    }
    {
        Aarq a;
        a.initiate.dedicatedKey = hex("101112131415161718191A1B1C1D1E1F");
        a.initiate.responseAllowed = false;
        QTest::newRow("dedicated-key-response-not-allowed")
            << a
            << hex("602FA109060760857405080101BE220420010110101112131415161718191A1B1C1D1E1F010000065F1F04000"
                   "07E1FFFFF");
    }
}

void TestAcse::aarqVectors()
{
    QFETCH(Aarq, aarq);
    QFETCH(QByteArray, bytes);
    QCOMPARE(encoded(aarq).toHex(' '), bytes.toHex(' '));
    const auto decoded = decodeAarq(bytes);
    QVERIFY2(decoded.ok(), qPrintable(decoded.ok() ? QString() : decoded.error().message));
    QVERIFY(*decoded == aarq);
}

void TestAcse::aarqLongLengths()
{
    // 200-byte password: AC 81 CB / 80 81 C8, outer length in the 0x81 form.
    Aarq a;
    a.authentication = Authentication::Low;
    for (int i = 0; i < 200; ++i)
        a.authenticationValue.append(char((i * 7 + 1) & 0xFF));
    const QByteArray bytes = encoded(a);
    QCOMPARE(bytes.size(), 251);
    QCOMPARE(bytes.left(13).toHex(), "6081f8a10906076085740508"_ba + "01"_ba);
    QCOMPARE(bytes.mid(27, 6).toHex(), "ac81cb8081c8"_ba);
    QVERIFY(*decodeAarq(bytes) == a);

    // 300-byte ciphered initiate: BE 82 01 30 / 04 82 01 2C, outer 60 82 01 3F.
    Aarq c;
    c.cipheredInitiate = QByteArray(1, char(0x21)) + QByteArray(299, char(0x5A));
    const QByteArray big = encoded(c);
    QCOMPARE(big.left(24).toHex(' '), hex("6082013FA109060760857405080101BE8201300482012C21").toHex(' '));
    QCOMPARE(big.size(), 4 + 0x13F);
    QVERIFY(*decodeAarq(big) == c);
}

void TestAcse::aarqTolerated_data()
{
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<Aarq>("expected");

    // dlms-cosem's sample: client max PDU 1200.
    Aarq pdu1200;
    pdu1200.initiate.clientMaxReceivePduSize = 1200;
    QTest::newRow("pdu-1200") << hex("601DA109060760857405080101BE10040E01000000065F1F0400007E1F04B0")
                              << pdu1200;
    // protocol-version, called-AP-title, implementation-information and a high-tag-number
    // element nobody defined: all skipped by their lengths.
    QTest::newRow("unknown-elements-skipped") << hex("603280020780A109060760857405080101A20406022B0C9D0547757"
                                                     "27578BF4501AABE10040E01000000065F1F0400007E1FFFFF")
                                              << Aarq {};
    // A proposed quality of service is accepted and dropped.
    QTest::newRow("quality-of-service-present")
        << hex("601EA109060760857405080101BE11040F0100000103065F1F0400007E1FFFFF") << Aarq {};
    // Long-form lengths where short ones would do.
    QTest::newRow("non-minimal-lengths")
        << hex("60811EA10906076085740508010 1BE8110040E01000000065F1F0400007E1FFFFF") << Aarq {};
}

void TestAcse::aarqTolerated()
{
    QFETCH(QByteArray, bytes);
    QFETCH(Aarq, expected);
    const auto decoded = decodeAarq(bytes);
    QVERIFY2(decoded.ok(), qPrintable(decoded.ok() ? QString() : decoded.error().message));
    QVERIFY(*decoded == expected);
}

void TestAcse::aarqBad_data()
{
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<ErrorCode>("code");

    QTest::newRow("empty") << QByteArray() << ErrorCode::Truncated;
    QTest::newRow("tag-only") << hex("60") << ErrorCode::Truncated;
    QTest::newRow("wrong-tag") << hex("611DA109060760857405080101BE10040E01000000065F1F0400007E1FFFFF")
                               << ErrorCode::UnknownTag;
    QTest::newRow("outer-length-beyond-input")
        << hex("601EA109060760857405080101BE10040E01000000065F1F0400007E1FFFFF") << ErrorCode::Truncated;
    QTest::newRow("trailing-byte") << hex("601DA109060760857405080101BE10040E01000000065F1F0400007E1FFFFF00")
                                   << ErrorCode::Malformed;
    QTest::newRow("indefinite-length") << hex("6080A109060760857405080101") << ErrorCode::Malformed;
    QTest::newRow("five-byte-length") << hex("6085000000001D") << ErrorCode::Malformed;
    QTest::newRow("inner-length-beyond-outer")
        << hex("600BA10A060760857405080101") << ErrorCode::LengthTooLarge;
    QTest::newRow("user-information-length-ffffffff")
        << hex("6011A109060760857405080101BE84FFFFFFFF") << ErrorCode::LengthTooLarge;
    QTest::newRow("short-name-context")
        << hex("601DA109060760857405080102BE10040E01000000065F1F0400007E1FFFFF") << ErrorCode::Unsupported;
    QTest::newRow("foreign-context-oid")
        << hex("601DA109060760857405090101BE10040E01000000065F1F0400007E1FFFFF") << ErrorCode::Malformed;
    QTest::newRow("context-not-oid") << hex("601DA109040760857405080101BE10040E01000000065F1F0400007E1FFFFF")
                                     << ErrorCode::Malformed;
    QTest::newRow("missing-context") << hex("6012BE10040E01000000065F1F0400007E1FFFFF")
                                     << ErrorCode::Malformed;
    QTest::newRow("missing-user-information") << hex("600BA109060760857405080101") << ErrorCode::Malformed;
    QTest::newRow("empty-user-information")
        << hex("600FA109060760857405080101BE020400") << ErrorCode::Malformed;
    QTest::newRow("user-information-not-initiate")
        << hex("6010A109060760857405080101BE03040105") << ErrorCode::UnknownTag;
    QTest::newRow("initiate-trailing-byte")
        << hex("601EA109060760857405080101BE11040F01000000065F1F0400007E1FFFFF00") << ErrorCode::Malformed;
    QTest::newRow("initiate-bad-conformance-tag")
        << hex("601DA109060760857405080101BE10040E01000000065F1E0400007E1FFFFF") << ErrorCode::Malformed;
    QTest::newRow("initiate-bad-key-flag")
        << hex("601DA109060760857405080101BE10040E01020000065F1F0400007E1FFFFF") << ErrorCode::Malformed;
    QTest::newRow("initiate-key-longer-than-initiate")
        << hex("601DA109060760857405080101BE10040E01014000065F1F0400007E1FFFFF") << ErrorCode::LengthTooLarge;
    QTest::newRow("mechanism-unknown-id") << hex("6036A1090607608574050801018A0207808B0760857405080209AC0A800"
                                                 "83132333435363738BE10040E01000000065F1F0400007E1F04B0")
                                          << ErrorCode::Unsupported;
    QTest::newRow("mechanism-wrong-arc") << hex("6036A1090607608574050801018A0207808B0760857405080301AC0A8008"
                                                "3132333435363738BE10040E01000000065F1F0400007E1F04B0")
                                         << ErrorCode::Malformed;
    QTest::newRow("auth-value-bitstring") << hex("6036A1090607608574050801018A0207808B0760857405080201AC0A810"
                                                 "83132333435363738BE10040E01000000065F1F0400007E1F04B0")
                                          << ErrorCode::Malformed;
    QTest::newRow("ap-title-extra-bytes")
        << hex("6019A10906076085740508010 1A60C04084D4D4D0000BC614E0000") << ErrorCode::Malformed;
}

void TestAcse::aarqBad()
{
    QFETCH(QByteArray, bytes);
    QFETCH(ErrorCode, code);
    const auto decoded = decodeAarq(bytes);
    QVERIFY(!decoded.ok());
    QCOMPARE(errorCodeName(decoded.error().code), errorCodeName(code));
    QVERIFY(decoded.error().message.startsWith(u"AARQ"));
}

void TestAcse::aareVectors_data()
{
    QTest::addColumn<Aare>("aare");
    QTest::addColumn<QByteArray>("bytes");

    {
        Aare a;
        a.initiate = initiateResponse(0x00501F, 500);
        // Green Book: the answer to the no-security AARQ.
        QTest::newRow("accepted-no-auth")
            << a
            << hex("6129A109060760857405080101A203020100A305A103020100BE10040E0800065F1F040000501F01F40007");
        a.result = AssociationResult::RejectedPermanent;
        a.diagnostic = quint8(AcseUserDiagnostic::ApplicationContextNameNotSupported);
        QTest::newRow("rejected-application-context")
            << a
            << hex("6129A109060760857405080101A203020101A305A103020102BE10040E0800065F1F040000501F01F40007");
        a.diagnostic = quint8(AcseUserDiagnostic::AuthenticationFailure);
        QTest::newRow("rejected-authentication-failure-with-initiate")
            << a
            << hex("6129A109060760857405080101A203020101A305A10302010DBE10040E0800065F1F040000501F01F40007");
    }
    {
        Aare a;
        a.result = AssociationResult::RejectedPermanent;
        a.diagnostic = quint8(AcseUserDiagnostic::AuthenticationFailure);
        QTest::newRow("rejected-authentication-failure")
            << a << hex("6117A109060760857405080101A203020101A305A10302010D");
        a.diagnostic = quint8(AcseUserDiagnostic::NoReasonGiven);
        a.initiateErrorType = 6;
        a.initiateErrorValue = 1;
        QTest::newRow("rejected-dlms-version-too-low")
            << a << hex("611FA109060760857405080101A203020101A305A103020101BE0604040E010601");
    }
    {
        Aare a;
        a.diagnostic = quint8(AcseUserDiagnostic::AuthenticationRequired);
        a.authentication = Authentication::HighGmac;
        a.respondingAuthenticationValue = "P6wRJ21F"_ba;
        a.initiate = initiateResponse(0x00501F, 500);
        QTest::newRow("accepted-hls-gmac-challenge")
            << a
            << hex("6142A109060760857405080101A203020100A305A10302010E88020780890760857405080205AA0A800850367"
                   "7524A323146BE10040E0800065F1F040000501F01F40007");
    }
    {
        Aare a;
        a.result = AssociationResult::RejectedTransient;
        a.diagnosticSource = DiagnosticSource::ServiceProvider;
        a.diagnostic = 2;
        QTest::newRow("rejected-provider-no-common-acse-version")
            << a << hex("6117A109060760857405080101A203020102A305A203020102");
    }
    {
        // INTEGER boundary: 200 needs a leading zero byte.
        Aare a;
        a.result = AssociationResult::RejectedPermanent;
        a.diagnostic = 200;
        QTest::newRow("diagnostic-200-two-byte-integer")
            << a << hex("6118A109060760857405080101A203020101A306A104020200C8");
    }
    {
        Aare a;
        a.ciphered = true;
        a.respondingApTitle = hex("4D4D4D0000BC614E");
        a.cipheredInitiate = hex("281030000000011122334455667788990011");
        QTest::newRow("ciphered-glo-initiate-response")
            << a
            << hex("6139A109060760857405080103A203020100A305A103020100A40A04084D4D4D0000BC614EBE1404122810300"
                   "00000011122334455667788990011");
    }
    {
        Aare a;
        a.initiate = initiateResponse(0x007E1F, 1024);
        QTest::newRow("accepted-1024")
            << a
            << hex("6129A109060760857405080101A203020100A305A103020100BE10040E0800065F1F0400007E1F04000007");
    }
}

void TestAcse::aareVectors()
{
    QFETCH(Aare, aare);
    QFETCH(QByteArray, bytes);
    QCOMPARE(encoded(aare).toHex(' '), bytes.toHex(' '));
    const auto decoded = decodeAare(bytes);
    QVERIFY2(decoded.ok(), qPrintable(decoded.ok() ? QString() : decoded.error().message));
    QVERIFY(*decoded == aare);
    QCOMPARE(decoded->accepted(), aare.result == AssociationResult::Accepted && aare.initiate.has_value());
}

void TestAcse::aareBad_data()
{
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<ErrorCode>("code");

    QTest::newRow("empty") << QByteArray() << ErrorCode::Truncated;
    QTest::newRow("aarq-tag") << hex("6017A109060760857405080101A203020101A305A10302010D")
                              << ErrorCode::UnknownTag;
    QTest::newRow("missing-result") << hex("6112A109060760857405080101A305A10302010D")
                                    << ErrorCode::Malformed;
    QTest::newRow("missing-context") << hex("610CA203020101A305A10302010D") << ErrorCode::Malformed;
    QTest::newRow("result-3") << hex("6117A109060760857405080101A203020103A305A10302010D")
                              << ErrorCode::Malformed;
    QTest::newRow("result-not-integer")
        << hex("6117A109060760857405080101A203040101A305A10302010D") << ErrorCode::Malformed;
    QTest::newRow("result-three-byte-integer")
        << hex("6119A109060760857405080101A20502030000FFA305A10302010D") << ErrorCode::Malformed;
    QTest::newRow("diagnostic-source-a3")
        << hex("6117A109060760857405080101A203020101A305A30302010D") << ErrorCode::Malformed;
    QTest::newRow("diagnostic-inner-too-long")
        << hex("6117A109060760857405080101A203020101A305A10402010D") << ErrorCode::LengthTooLarge;
    QTest::newRow("user-information-unknown-tag")
        << hex("611CA109060760857405080101A203020100A305A103020100BE030401FF") << ErrorCode::UnknownTag;
    QTest::newRow("confirmed-service-error-short")
        << hex("611EA109060760857405080101A203020101A305A103020101BE0504030E0106") << ErrorCode::Truncated;
    QTest::newRow("initiate-response-truncated")
        << hex("6127A109060760857405080101A203020100A305A103020100BE0E040C0800065F1F040000501F01F4")
        << ErrorCode::Truncated;
    QTest::newRow("initiate-response-qos-flag-2")
        << hex("6129A109060760857405080101A203020100A305A103020100BE10040E0802065F1F040000501F01F40007")
        << ErrorCode::Malformed;
}

void TestAcse::aareBad()
{
    QFETCH(QByteArray, bytes);
    QFETCH(ErrorCode, code);
    const auto decoded = decodeAare(bytes);
    QVERIFY(!decoded.ok());
    QCOMPARE(errorCodeName(decoded.error().code), errorCodeName(code));
    QVERIFY(!decoded.error().message.isEmpty());
}

void TestAcse::aareDescribe_data()
{
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<QString>("text");

    QTest::newRow("accepted") << hex(
        "6129A109060760857405080101A203020100A305A103020100BE10040E0800065F1F040000501F01F40007")
                              << u"accepted"_s;
    QTest::newRow("authentication-failure") << hex("6117A109060760857405080101A203020101A305A10302010D")
                                            << u"rejected-permanent: authentication-failure"_s;
    QTest::newRow("application-context")
        << hex("6129A109060760857405080101A203020101A305A103020102BE10040E0800065F1F040000501F01F40007")
        << u"rejected-permanent: application-context-name-not-supported"_s;
    QTest::newRow("dlms-version")
        << hex("611FA109060760857405080101A203020101A305A103020101BE0604040E010601")
        << u"rejected-permanent: no-reason-given (initiate error: dlms-version-too-low)"_s;
    QTest::newRow("hls-challenge") << hex(
        "6142A109060760857405080101A203020100A305A10302010E88020780890760857405080205AA0A8008503677524A323146"
        "BE10040E0800065F1F040000501F01F40007")
                                   << u"accepted: authentication-required"_s;
    QTest::newRow("provider") << hex("6117A109060760857405080101A203020102A305A203020102")
                              << u"rejected-transient: no-common-acse-version"_s;
    QTest::newRow("calling-ap-title") << hex("6117A109060760857405080101A203020101A305A103020103")
                                      << u"rejected-permanent: calling-AP-title-not-recognized"_s;
    QTest::newRow("mechanism-not-recognised")
        << hex("6117A109060760857405080101A203020101A305A10302010B")
        << u"rejected-permanent: authentication-mechanism-name-not-recognised"_s;
    QTest::newRow("unknown-diagnostic") << hex("6117A109060760857405080101A203020101A305A103020163")
                                        << u"rejected-permanent: acse-service-user diagnostic 99"_s;
}

void TestAcse::aareDescribe()
{
    QFETCH(QByteArray, bytes);
    QFETCH(QString, text);
    const auto decoded = decodeAare(bytes);
    QVERIFY2(decoded.ok(), qPrintable(decoded.ok() ? QString() : decoded.error().message));
    QCOMPARE(decoded->describe(), text);
}

void TestAcse::initiate_data()
{
    QTest::addColumn<bool>("request");
    QTest::addColumn<QByteArray>("bytes");

    QTest::newRow("request-default") << true << hex("01000000065F1F0400007E1FFFFF");
    QTest::newRow("request-version-5-pdu-0") << true << hex("01000000055F1F040000001F0000");
    QTest::newRow("response-500") << false << hex("0800065F1F040000501F01F40007");
    QTest::newRow("response-all-bits") << false << hex("0800065F1F0400FFFFFFFFFF0007");
}

void TestAcse::initiate()
{
    QFETCH(bool, request);
    QFETCH(QByteArray, bytes);
    if (request) {
        const auto decoded = decodeInitiateRequest(bytes);
        QVERIFY(decoded.ok());
        QCOMPARE(encoded(*decoded).toHex(), bytes.toHex());
    } else {
        const auto decoded = decodeInitiateResponse(bytes);
        QVERIFY(decoded.ok());
        QCOMPARE(encoded(*decoded).toHex(), bytes.toHex());
    }
    for (qsizetype n = 0; n < bytes.size(); ++n) {
        const QByteArrayView prefix = QByteArrayView(bytes).first(n);
        const bool ok = request ? decodeInitiateRequest(prefix).ok() : decodeInitiateResponse(prefix).ok();
        QVERIFY2(!ok, qPrintable(QStringLiteral("prefix of %1 bytes decoded").arg(n)));
    }
    QCOMPARE(decodeInitiateRequest(hex("0800065F1F040000501F01F40007")).error().code, ErrorCode::UnknownTag);
}

void TestAcse::release_data()
{
    QTest::addColumn<bool>("request");
    QTest::addColumn<std::optional<quint8>>("reason");
    QTest::addColumn<QByteArray>("userInformation");
    QTest::addColumn<QByteArray>("bytes");

    QTest::newRow("rlrq-normal") << true << std::optional<quint8>(0) << QByteArray() << hex("6203800100");
    QTest::newRow("rlrq-urgent") << true << std::optional<quint8>(1) << QByteArray() << hex("6203800101");
    QTest::newRow("rlrq-no-reason") << true << std::optional<quint8>() << QByteArray() << hex("6200");
    QTest::newRow("rlrq-ciphered-initiate")
        << true << std::optional<quint8>(0)
        << hex("21303001234567801302FF8A7874133D414CED25B42534D28DB0047720606B175BD52211BE6841DB204D39EE6FDB8"
               "E356855")
        << hex("6239800100BE34043221303001234567801302FF8A7874133D414CED25B42534D28DB0047720606B175BD52211BE6"
               "841DB204D39EE6FDB8E356855");
    QTest::newRow("rlre-normal") << false << std::optional<quint8>(0) << QByteArray() << hex("6303800100");
    QTest::newRow("rlre-user-defined")
        << false << std::optional<quint8>(30) << QByteArray() << hex("630380011E");
    QTest::newRow("rlre-empty") << false << std::optional<quint8>() << QByteArray() << hex("6300");
    QTest::newRow("rlre-initiate-response")
        << false << std::optional<quint8>(0) << hex("0800065F1F040000501F01F40007")
        << hex("6315800100BE10040E0800065F1F040000501F01F40007");
}

void TestAcse::release()
{
    QFETCH(bool, request);
    QFETCH(std::optional<quint8>, reason);
    QFETCH(QByteArray, userInformation);
    QFETCH(QByteArray, bytes);
    if (request) {
        const Rlrq rlrq {reason, userInformation};
        QCOMPARE(encoded(rlrq).toHex(' '), bytes.toHex(' '));
        const auto decoded = decodeRlrq(bytes);
        QVERIFY(decoded.ok());
        QVERIFY(*decoded == rlrq);
        QCOMPARE(decodeRlre(bytes).error().code, ErrorCode::UnknownTag);
    } else {
        const Rlre rlre {reason, userInformation};
        QCOMPARE(encoded(rlre).toHex(' '), bytes.toHex(' '));
        const auto decoded = decodeRlre(bytes);
        QVERIFY(decoded.ok());
        QVERIFY(*decoded == rlre);
        QCOMPARE(decodeRlrq(bytes).error().code, ErrorCode::UnknownTag);
    }
    for (qsizetype n = 0; n < bytes.size(); ++n) {
        const QByteArrayView prefix = QByteArrayView(bytes).first(n);
        QVERIFY(request ? !decodeRlrq(prefix).ok() : !decodeRlre(prefix).ok());
    }
}

void TestAcse::releaseBad()
{
    QCOMPARE(decodeRlrq(hex("6204800200 00")).error().code, ErrorCode::Malformed);
    QCOMPARE(decodeRlrq(hex("6203800200")).error().code, ErrorCode::LengthTooLarge);
    QCOMPARE(decodeRlrq(hex("6205800100BE00")).error().code, ErrorCode::Truncated);
    QCOMPARE(decodeRlrq(hex("6209800100BE04040501FF")).error().code, ErrorCode::LengthTooLarge);
    // Unknown elements are skipped.
    const auto skipped = decodeRlre(hex("6307A2020000800101"));
    QVERIFY(skipped.ok());
    QCOMPARE(skipped->reason, std::optional<quint8>(1));
}

void TestAcse::truncatedEverywhere()
{
    for (const QByteArray &bytes : validAarqs()) {
        QVERIFY(decodeAarq(bytes).ok());
        for (qsizetype n = 0; n < bytes.size(); ++n) {
            const auto decoded = decodeAarq(QByteArrayView(bytes).first(n));
            QVERIFY2(!decoded.ok(),
                qPrintable(QStringLiteral("AARQ prefix %1 of %2 decoded").arg(n).arg(bytes.size())));
            QCOMPARE(decoded.error().code, ErrorCode::Truncated);
        }
    }
    for (const QByteArray &bytes : validAares()) {
        QVERIFY(decodeAare(bytes).ok());
        for (qsizetype n = 0; n < bytes.size(); ++n) {
            const auto decoded = decodeAare(QByteArrayView(bytes).first(n));
            QVERIFY2(!decoded.ok(),
                qPrintable(QStringLiteral("AARE prefix %1 of %2 decoded").arg(n).arg(bytes.size())));
            QCOMPARE(decoded.error().code, ErrorCode::Truncated);
        }
    }
}

void TestAcse::corruptedNeverCrashes()
{
    // Every byte of every vector replaced by a few interesting values: any outcome but a crash
    // (or a sanitizer report) is fine, and what decodes must re-encode to something that decodes
    // to the same value.
    const quint8 replacements[] = {0x00, 0x01, 0x7F, 0x80, 0x81, 0x84, 0xFF};
    int decodedCount = 0;
    auto check = [&](const QByteArray &bytes) {
        for (qsizetype i = 0; i < bytes.size(); ++i) {
            for (quint8 r : replacements) {
                QByteArray b = bytes;
                b[i] = char(r);
                if (const auto q = decodeAarq(b)) {
                    ++decodedCount;
                    QVERIFY(*decodeAarq(encoded(*q)) == *q);
                }
                if (const auto e = decodeAare(b)) {
                    ++decodedCount;
                    QVERIFY(*decodeAare(encoded(*e)) == *e);
                }
            }
        }
    };
    for (const QByteArray &bytes : validAarqs())
        check(bytes);
    for (const QByteArray &bytes : validAares())
        check(bytes);
    QVERIFY(decodedCount > 0);
}

void TestAcse::names()
{
    QCOMPARE(authenticationName(Authentication::None), u"none"_s);
    QCOMPARE(authenticationName(Authentication::Low), u"low"_s);
    QCOMPARE(authenticationName(Authentication::High), u"high"_s);
    QCOMPARE(authenticationName(Authentication::HighMd5), u"high-md5"_s);
    QCOMPARE(authenticationName(Authentication::HighSha1), u"high-sha1"_s);
    QCOMPARE(authenticationName(Authentication::HighGmac), u"high-gmac"_s);
    QCOMPARE(authenticationName(Authentication::HighSha256), u"high-sha256"_s);
    QCOMPARE(authenticationName(Authentication::HighEcdsa), u"high-ecdsa"_s);
}

void TestAcse::conformance_data()
{
    QTest::addColumn<quint32>("bits");
    QTest::addColumn<QStringList>("names");

    QTest::newRow("none") << 0u << QStringList();
    QTest::newRow("default-proposal-007E1F")
        << DefaultProposedConformance
        << QStringList {u"priority-mgmt-supported"_s, u"attribute0-supported-with-get"_s,
               u"block-transfer-with-get-or-read"_s, u"block-transfer-with-set-or-write"_s,
               u"block-transfer-with-action"_s, u"multiple-references"_s, u"get"_s, u"set"_s,
               u"selective-access"_s, u"event-notification"_s, u"action"_s};
    QTest::newRow("general-protection-and-block-transfer")
        << quint32(ConformanceGeneralProtection | ConformanceGeneralBlockTransfer | ConformanceGet)
        << QStringList {u"general-protection"_s, u"general-block-transfer"_s, u"get"_s};
    QTest::newRow("sn-services") << quint32(ConformanceRead | ConformanceWrite | ConformanceUnconfirmedWrite
        | ConformanceInformationReport | ConformanceParameterizedAccess)
                                 << QStringList {u"read"_s, u"write"_s, u"unconfirmed-write"_s,
                                        u"information-report"_s, u"parameterized-access"_s};
    QTest::newRow("misc") << quint32(ConformanceAttribute0WithSet | ConformanceDataNotification
        | ConformanceAccess | (1u << 17) | (1u << 23))
                          << QStringList {u"reserved-zero"_s, u"delta-value-encoding"_s,
                                 u"attribute0-supported-with-set"_s, u"data-notification"_s, u"access"_s};
}

void TestAcse::conformance()
{
    QFETCH(quint32, bits);
    QFETCH(QStringList, names);
    QCOMPARE(conformanceNames(bits), names);
}

void TestAcse::roundTripRandomAarq()
{
    QRandomGenerator rng(Seed);
    for (int i = 0; i < 2000; ++i) {
        Aarq a;
        a.ciphered = rng.bounded(2) == 1;
        a.authentication = Authentication(rng.bounded(8));
        if (rng.bounded(3) != 0)
            a.authenticationValue = randomBytes(rng, 1 + rng.bounded(rng.bounded(2) ? 20 : 300));
        if (rng.bounded(2))
            a.callingApTitle = randomBytes(rng, 8);
        if (rng.bounded(4) == 0) {
            a.cipheredInitiate = QByteArray(1, char(0x21)) + randomBytes(rng, rng.bounded(400));
        } else {
            if (rng.bounded(3) == 0)
                a.initiate.dedicatedKey = randomBytes(rng, 1 + rng.bounded(40));
            a.initiate.responseAllowed = rng.bounded(2) == 1;
            a.initiate.dlmsVersion = quint8(rng.bounded(256));
            a.initiate.proposedConformance = rng.bounded(1u << 24);
            a.initiate.clientMaxReceivePduSize = quint16(rng.bounded(65536));
        }
        const QByteArray bytes = encoded(a);
        const auto decoded = decodeAarq(bytes);
        QVERIFY2(decoded.ok() && *decoded == a,
            qPrintable(QStringLiteral("seed %1 iteration %2: %3")
                           .arg(Seed)
                           .arg(i)
                           .arg(QString::fromLatin1(bytes.toHex()))));
    }
}

void TestAcse::roundTripRandomAare()
{
    QRandomGenerator rng(Seed + 1);
    for (int i = 0; i < 2000; ++i) {
        Aare a;
        a.ciphered = rng.bounded(2) == 1;
        a.result = AssociationResult(rng.bounded(3));
        a.diagnosticSource
            = rng.bounded(2) ? DiagnosticSource::ServiceUser : DiagnosticSource::ServiceProvider;
        a.diagnostic = quint8(rng.bounded(256));
        if (rng.bounded(2))
            a.respondingApTitle = randomBytes(rng, 8);
        a.authentication = Authentication(rng.bounded(8));
        if (rng.bounded(2))
            a.respondingAuthenticationValue = randomBytes(rng, 1 + rng.bounded(rng.bounded(2) ? 16 : 200));
        switch (rng.bounded(4)) {
        case 0:
            break;
        case 1:
            a.initiate = initiateResponse(rng.bounded(1u << 24), quint16(rng.bounded(65536)));
            a.initiate->dlmsVersion = quint8(rng.bounded(256));
            a.initiate->vaaName = quint16(rng.bounded(65536));
            break;
        case 2:
            a.initiateErrorType = quint8(rng.bounded(256));
            a.initiateErrorValue = quint8(rng.bounded(256));
            break;
        case 3:
            a.cipheredInitiate = QByteArray(1, char(0x28)) + randomBytes(rng, rng.bounded(300));
            break;
        }
        const QByteArray bytes = encoded(a);
        const auto decoded = decodeAare(bytes);
        QVERIFY2(decoded.ok() && *decoded == a,
            qPrintable(QStringLiteral("seed %1 iteration %2: %3")
                           .arg(Seed + 1)
                           .arg(i)
                           .arg(QString::fromLatin1(bytes.toHex()))));
    }
}

QTEST_GUILESS_MAIN(TestAcse)
#include "tst_acse.moc"
