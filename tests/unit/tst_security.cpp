#include "apdu.h"
#include "security.h"
#include "testsupport.h"

#include <QtTest/QTest>

#include <openssl/evp.h>

#include <set>

using namespace dlms;
using namespace dlms::test;
using namespace Qt::StringLiterals;

namespace {

// Green Book (DLMS UA 1000-2) examples: the keys, titles and counters of Tables 40 and 43.
const QByteArray Ek = hex("000102030405060708090A0B0C0D0E0F");
const QByteArray Ak = hex("D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF");
const QByteArray ServerTitle = hex("4D4D4D0000BC614E");
const QByteArray ClientTitle = hex("4D4D4D0000000001");
constexpr quint32 ServerIc = 0x01234567;
const QByteArray PlainGet = hex("C0010000080000010000FF0200");
const QByteArray GloGetAuth = hex("C81E1001234567C0010000080000010000FF020006725D910F9221D263877516");
const QByteArray GloGetEnc = hex("C8122001234567411312FF935A47566827C467BC");
const QByteArray GloGetAuthEnc = hex("C81E3001234567411312FF935A47566827C467BC7D825C3BE4A77C3FCC056B6B");
const QByteArray PlainInitiate = hex("01011000112233445566778899AABBCCDDEEFF0000065F1F0400007E1F04B0");
const QByteArray GloInitiate
    = hex("21303001234567801302FF8A7874133D414CED25B42534D28DB0047720606B175BD52211BE68"
          "41DB204D39EE6FDB8E356855");
const QByteArray CipheredAarq = hex("6066A109060760857405080103A60A04084D4D4D0000BC614E8A0207808B076085740508"
                                    "0201AC0A80083132333435363738BE34043221303001234567801302FF8A7874133D414C"
                                    "ED25B42534D28DB0047720606B175BD52211BE6841DB204D39EE6FDB8E356855");
const QByteArray CtoS = "K56iVagY"_ba;
const QByteArray StoC = "P6wRJ21F"_ba;
const QByteArray FStoC = hex("10000000011A52FE7DD3E72748973C1E28");
const QByteArray FCtoS = hex("1001234567FE1466AFB3DBCD4F9389E2B7");

// McGrew & Viega, "The Galois/Counter Mode of Operation", AES-128 test cases 3 and 4.
const QByteArray NistKey = hex("feffe9928665731c6d6a8f9467308308");
const QByteArray NistIv = hex("cafebabefacedbaddecaf888");
const QByteArray NistPlain = hex("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
                                 "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255");
const QByteArray NistCipher = hex("42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
                                  "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985");
const QByteArray NistAad4 = hex("feedfacedeadbeeffeedfacedeadbeefabaddad2");
const QByteArray NistTag3 = hex("4d5c2af327cd64a62cf35abd2ba6fab4");
const QByteArray NistTag4 = hex("5bc94fbc3221a5db94fae95ae7121a47");

// AES-128-GCM straight through EVP, full tag: an independent path to check protect() against.
struct EvpGcm {
    QByteArray cipher;
    QByteArray tag;
};
EvpGcm evpEncrypt(const QByteArray &key, const QByteArray &iv, const QByteArray &aad, const QByteArray &plain)
{
    EvpGcm out;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    const auto *k = reinterpret_cast<const unsigned char *>(key.constData());
    const auto *v = reinterpret_cast<const unsigned char *>(iv.constData());
    int len = 0;
    EVP_EncryptInit_ex(ctx, EVP_aes_128_gcm(), nullptr, k, v);
    if (!aad.isEmpty())
        EVP_EncryptUpdate(
            ctx, nullptr, &len, reinterpret_cast<const unsigned char *>(aad.constData()), int(aad.size()));
    out.cipher.resize(plain.size());
    EVP_EncryptUpdate(ctx, reinterpret_cast<unsigned char *>(out.cipher.data()), &len,
        reinterpret_cast<const unsigned char *>(plain.constData()), int(plain.size()));
    unsigned char scratch[16];
    EVP_EncryptFinal_ex(ctx, scratch, &len);
    out.tag.resize(16);
    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, out.tag.data());
    EVP_CIPHER_CTX_free(ctx);
    return out;
}

QByteArray flipped(QByteArray bytes, qsizetype at)
{
    bytes[at] = char(bytes[at] ^ 0x01);
    return bytes;
}

} // namespace

class TestSecurity : public QObject {
    Q_OBJECT

private slots:
    void greenBookServiceCiphering_data();
    void greenBookServiceCiphering();
    void greenBookCipheredInitiate();
    void greenBookInitiateRequestPlaintext();
    void greenBookCipheredAarq();
    void greenBookHlsGmac();
    void hlsGmacRefusals_data();
    void hlsGmacRefusals();
    void nistGcmVectors_data();
    void nistGcmVectors();
    void everyFlippedByteFailsToDecipher_data();
    void everyFlippedByteFailsToDecipher();
    void wrongMaterialFailsToDecipher_data();
    void wrongMaterialFailsToDecipher();
    void encryptedOnlyCannotBeChecked();
    void truncationsAreErrors_data();
    void truncationsAreErrors();
    void badControlBytes_data();
    void badControlBytes();
    void badArguments_data();
    void badArguments();
    void framingErrors_data();
    void framingErrors();
    void generalCipheringRoundTrip_data();
    void generalCipheringRoundTrip();
    void dedicatedRoundTrip();
    void serviceCipheringRefusesUntaggedApdus();
    void tagTables_data();
    void tagTables();
    void controlAndPolicy();
    void policyNames();
    void parseHex_data();
    void parseHex();
    void keyFingerprints();
    void randomBytesAreFreshAndSized();
    void wipeLeavesSharedCopiesAlone();
    void counterExhaustion();
};

void TestSecurity::greenBookServiceCiphering_data()
{
    QTest::addColumn<quint8>("control");
    QTest::addColumn<QByteArray>("ciphered");

    QTest::newRow("table40-auth-sc10") << quint8(0x10) << GloGetAuth;
    QTest::newRow("table40-enc-sc20") << quint8(0x20) << GloGetEnc;
    QTest::newRow("table40-auth-enc-sc30") << quint8(0x30) << GloGetAuthEnc;
}

void TestSecurity::greenBookServiceCiphering()
{
    QFETCH(quint8, control);
    QFETCH(QByteArray, ciphered);

    const auto out = security::encodeServiceCiphered(false, control, ServerTitle, ServerIc, Ek, Ak, PlainGet);
    QVERIFY2(out.ok(), qPrintable(out.ok() ? QString() : out.error().message));
    QCOMPARE(out->toHex(), ciphered.toHex());

    const auto protectedText = security::protect(control, ServerTitle, ServerIc, Ek, Ak, PlainGet);
    QVERIFY(protectedText.ok());
    QCOMPARE(*protectedText, ciphered.sliced(2));

    const auto framed = security::decodeCipheredApdu(ciphered);
    QVERIFY(framed.ok());
    QCOMPARE(framed->tag, security::tag::GloGetRequest);
    QCOMPARE(framed->control(), control);
    QCOMPARE(framed->invocationCounter(), ServerIc);
    QVERIFY(framed->systemTitle.isEmpty());
    QByteArray again;
    security::encode(*framed, again);
    QCOMPARE(again, ciphered);

    const auto plain = security::unprotect(ServerTitle, Ek, Ak, framed->protectedText);
    QVERIFY2(plain.ok(), qPrintable(plain.ok() ? QString() : plain.error().message));
    QCOMPARE(plain->plaintext, PlainGet);
    QCOMPARE(plain->control, control);
    QCOMPARE(plain->invocationCounter, ServerIc);
}

void TestSecurity::greenBookCipheredInitiate()
{
    const auto out
        = security::encodeServiceCiphered(false, 0x30, ServerTitle, ServerIc, Ek, Ak, PlainInitiate);
    QVERIFY(out.ok());
    QCOMPARE(out->toHex(), GloInitiate.toHex());

    const auto framed = security::decodeCipheredApdu(GloInitiate);
    QVERIFY(framed.ok());
    QCOMPARE(framed->tag, security::tag::GloInitiateRequest);
    const auto plain = security::unprotect(ServerTitle, Ek, Ak, framed->protectedText);
    QVERIFY(plain.ok());
    QCOMPARE(plain->plaintext, PlainInitiate);
    const auto initiate = decodeInitiateRequest(plain->plaintext);
    QVERIFY(initiate.ok());
    QCOMPARE(initiate->dedicatedKey, hex("00112233445566778899AABBCCDDEEFF"));
}

void TestSecurity::greenBookInitiateRequestPlaintext()
{
    InitiateRequest request;
    request.dedicatedKey = hex("00112233445566778899AABBCCDDEEFF");
    request.proposedConformance = 0x007E1F;
    request.clientMaxReceivePduSize = 1200;
    QCOMPARE(encoded(request).toHex(), PlainInitiate.toHex());
}

void TestSecurity::greenBookCipheredAarq()
{
    Aarq aarq;
    aarq.ciphered = true;
    aarq.authentication = Authentication::Low;
    aarq.authenticationValue = "12345678"_ba;
    aarq.callingApTitle = ServerTitle;
    aarq.cipheredInitiate = GloInitiate;
    QCOMPARE(encoded(aarq).toHex(), CipheredAarq.toHex());

    const auto decoded = decodeAarq(CipheredAarq);
    QVERIFY(decoded.ok());
    QVERIFY(*decoded == aarq);
}

void TestSecurity::greenBookHlsGmac()
{
    const auto fStoC = security::gmacResponse(ClientTitle, 1, Ek, Ak, StoC);
    QVERIFY(fStoC.ok());
    QCOMPARE(fStoC->toHex(), FStoC.toHex());
    const auto fCtoS = security::gmacResponse(ServerTitle, ServerIc, Ek, Ak, CtoS);
    QVERIFY(fCtoS.ok());
    QCOMPARE(fCtoS->toHex(), FCtoS.toHex());

    const auto serverChecks = security::verifyGmacResponse(ClientTitle, Ek, Ak, StoC, FStoC);
    QVERIFY(serverChecks.ok());
    QCOMPARE(*serverChecks, 1u);
    const auto clientChecks = security::verifyGmacResponse(ServerTitle, Ek, Ak, CtoS, FCtoS);
    QVERIFY(clientChecks.ok());
    QCOMPARE(*clientChecks, ServerIc);
}

void TestSecurity::hlsGmacRefusals_data()
{
    QTest::addColumn<QByteArray>("title");
    QTest::addColumn<QByteArray>("ek");
    QTest::addColumn<QByteArray>("ak");
    QTest::addColumn<QByteArray>("challenge");
    QTest::addColumn<QByteArray>("response");

    QTest::newRow("wrong-challenge") << ClientTitle << Ek << Ak << CtoS << FStoC;
    QTest::newRow("wrong-title") << ServerTitle << Ek << Ak << StoC << FStoC;
    QTest::newRow("wrong-ak") << ClientTitle << Ek << flipped(Ak, 0) << StoC << FStoC;
    QTest::newRow("wrong-ek") << ClientTitle << flipped(Ek, 15) << Ak << StoC << FStoC;
    QTest::newRow("tag-flipped") << ClientTitle << Ek << Ak << StoC << flipped(FStoC, 16);
    QTest::newRow("ic-flipped") << ClientTitle << Ek << Ak << StoC << flipped(FStoC, 4);
    QTest::newRow("sc-30") << ClientTitle << Ek << Ak << StoC << hex("30") + FStoC.sliced(1);
    QTest::newRow("short") << ClientTitle << Ek << Ak << StoC << FStoC.chopped(1);
    QTest::newRow("long") << ClientTitle << Ek << Ak << StoC << FStoC + hex("00");
    QTest::newRow("empty") << ClientTitle << Ek << Ak << StoC << QByteArray();
}

void TestSecurity::hlsGmacRefusals()
{
    QFETCH(QByteArray, title);
    QFETCH(QByteArray, ek);
    QFETCH(QByteArray, ak);
    QFETCH(QByteArray, challenge);
    QFETCH(QByteArray, response);

    const auto result = security::verifyGmacResponse(title, ek, ak, challenge, response);
    QVERIFY(!result.ok());
    QCOMPARE(result.error().code, ErrorCode::AuthenticationFailed);
    QVERIFY(!result.error().message.isEmpty());
}

void TestSecurity::nistGcmVectors_data()
{
    QTest::addColumn<QByteArray>("plain");
    QTest::addColumn<QByteArray>("aad");
    QTest::addColumn<QByteArray>("cipher");
    QTest::addColumn<QByteArray>("tag");

    QTest::newRow("gcm-test-case-3") << NistPlain << QByteArray() << NistCipher << NistTag3;
    QTest::newRow("gcm-test-case-4") << NistPlain.first(60) << NistAad4 << NistCipher.first(60) << NistTag4;
}

void TestSecurity::nistGcmVectors()
{
    QFETCH(QByteArray, plain);
    QFETCH(QByteArray, aad);
    QFETCH(QByteArray, cipher);
    QFETCH(QByteArray, tag);

    // The vector itself, through EVP: proves the reference path the DLMS checks below rely on.
    const EvpGcm reference = evpEncrypt(NistKey, NistIv, aad, plain);
    QCOMPARE(reference.cipher.toHex(), cipher.toHex());
    QCOMPARE(reference.tag.toHex(), tag.toHex());

    // The vector's IV splits as a DLMS system title || invocation counter.
    const QByteArray title = NistIv.first(8);
    const quint32 ic = 0xdecaf888;
    const auto encrypted = security::protect(0x20, title, ic, NistKey, {}, plain);
    QVERIFY(encrypted.ok());
    QCOMPARE(encrypted->sliced(security::HeaderSize).toHex(), cipher.toHex());

    // With a tag, protect's AAD is SC || AK: the same EVP call with that AAD gives its tag.
    const auto both = security::protect(0x30, title, ic, NistKey, Ak, plain);
    QVERIFY(both.ok());
    const EvpGcm dlmsReference = evpEncrypt(NistKey, NistIv, hex("30") + Ak, plain);
    QCOMPARE(both->sliced(security::HeaderSize, plain.size()).toHex(), cipher.toHex());
    QCOMPARE(both->last(security::TagSize).toHex(), dlmsReference.tag.first(security::TagSize).toHex());

    const auto back = security::unprotect(title, NistKey, Ak, *both);
    QVERIFY(back.ok());
    QCOMPARE(back->plaintext, plain);
}

void TestSecurity::everyFlippedByteFailsToDecipher_data()
{
    QTest::addColumn<QByteArray>("ciphered");
    QTest::addColumn<qsizetype>("firstByte"); // of the protected text to flip

    // The control byte is excluded: flipping it changes the layout, which is a framing error.
    QTest::newRow("auth-enc-ic-cipher-tag") << GloGetAuthEnc << qsizetype(1);
    QTest::newRow("auth-only-ic-plain-tag") << GloGetAuth << qsizetype(1);
}

void TestSecurity::everyFlippedByteFailsToDecipher()
{
    QFETCH(QByteArray, ciphered);
    QFETCH(qsizetype, firstByte);

    const QByteArray protectedText = ciphered.sliced(2);
    for (qsizetype i = firstByte; i < protectedText.size(); ++i) {
        for (const quint8 mask : {quint8(0x01), quint8(0x80)}) {
            QByteArray altered = protectedText;
            altered[i] = char(altered[i] ^ mask);
            const auto result = security::unprotect(ServerTitle, Ek, Ak, altered);
            QVERIFY2(!result.ok(), qPrintable(u"byte %1 mask %2 deciphered"_s.arg(i).arg(mask)));
            QCOMPARE(result.error().code, ErrorCode::DecryptionFailed);
        }
    }
}

void TestSecurity::wrongMaterialFailsToDecipher_data()
{
    QTest::addColumn<QByteArray>("ciphered");
    QTest::addColumn<QByteArray>("title");
    QTest::addColumn<QByteArray>("ek");
    QTest::addColumn<QByteArray>("ak");

    for (const auto &[name, ciphered] :
        {std::pair {"auth-enc", GloGetAuthEnc}, std::pair {"auth", GloGetAuth}}) {
        QTest::addRow("%s-wrong-ek", name) << ciphered << ServerTitle << flipped(Ek, 3) << Ak;
        QTest::addRow("%s-wrong-ak", name) << ciphered << ServerTitle << Ek << flipped(Ak, 9);
        QTest::addRow("%s-wrong-title", name) << ciphered << ClientTitle << Ek << Ak;
        QTest::addRow("%s-keys-swapped", name) << ciphered << ServerTitle << Ak << Ek;
    }
}

void TestSecurity::wrongMaterialFailsToDecipher()
{
    QFETCH(QByteArray, ciphered);
    QFETCH(QByteArray, title);
    QFETCH(QByteArray, ek);
    QFETCH(QByteArray, ak);

    const auto result = security::unprotect(title, ek, ak, ciphered.sliced(2));
    QVERIFY(!result.ok());
    QCOMPARE(result.error().code, ErrorCode::DecryptionFailed);
    QVERIFY(result.error().message.contains(u"does not verify"_s));
    for (const QByteArray &secret : {Ek, Ak, ek, ak}) {
        QVERIFY(!result.error().message.contains(QString::fromLatin1(secret.toHex()), Qt::CaseInsensitive));
    }
}

void TestSecurity::encryptedOnlyCannotBeChecked()
{
    // SC 0x20 carries no tag: a wrong key yields some other plaintext, not an error.
    const auto wrong = security::unprotect(ServerTitle, flipped(Ek, 0), Ak, GloGetEnc.sliced(2));
    QVERIFY(wrong.ok());
    QCOMPARE(wrong->plaintext.size(), PlainGet.size());
    QVERIFY(wrong->plaintext != PlainGet);
    // And the AK plays no part, so it need not be configured.
    const auto noAk = security::unprotect(ServerTitle, Ek, {}, GloGetEnc.sliced(2));
    QVERIFY(noAk.ok());
    QCOMPARE(noAk->plaintext, PlainGet);
}

void TestSecurity::truncationsAreErrors_data()
{
    QTest::addColumn<QByteArray>("ciphered");

    QTest::newRow("glo-auth-enc") << GloGetAuthEnc;
    QTest::newRow("glo-auth") << GloGetAuth;
    QTest::newRow("glo-enc") << GloGetEnc;
    QTest::newRow("glo-initiate") << GloInitiate;
    const auto general = security::encodeGeneralCiphered(false, 0x30, ServerTitle, 7, Ek, Ak, PlainGet);
    QTest::newRow("general-glo") << general.value();
}

void TestSecurity::truncationsAreErrors()
{
    QFETCH(QByteArray, ciphered);

    for (qsizetype n = 0; n < ciphered.size(); ++n) {
        const auto framed = security::decodeCipheredApdu(QByteArrayView(ciphered).first(n));
        QVERIFY2(!framed.ok(), qPrintable(u"prefix %1 framed"_s.arg(n)));
        QVERIFY(!framed.error().message.isEmpty());
    }
    const auto whole = security::decodeCipheredApdu(ciphered);
    QVERIFY(whole.ok());
    const QByteArray protectedText = whole->protectedText;
    const QByteArray title = whole->systemTitle.isEmpty() ? ServerTitle : whole->systemTitle;
    const bool authenticated = whole->control() & security::ControlAuthenticated;
    // Without a tag nothing can tell a shortened ciphertext; with one, every cut shows.
    const qsizetype last = authenticated ? protectedText.size() : security::HeaderSize;
    for (qsizetype n = 0; n < last; ++n) {
        const auto result = security::unprotect(title, Ek, Ak, QByteArrayView(protectedText).first(n));
        QVERIFY2(!result.ok(), qPrintable(u"protected prefix %1 deciphered"_s.arg(n)));
        const ErrorCode expected = n < security::HeaderSize + (authenticated ? security::TagSize : 0)
            ? ErrorCode::Truncated
            : ErrorCode::DecryptionFailed;
        QCOMPARE(result.error().code, expected);
    }
}

void TestSecurity::badControlBytes_data()
{
    QTest::addColumn<quint8>("control");

    QTest::newRow("suite-1") << quint8(0x31);
    QTest::newRow("suite-2") << quint8(0x32);
    QTest::newRow("compressed") << quint8(0xB0);
    QTest::newRow("neither-a-nor-e") << quint8(0x00);
    QTest::newRow("broadcast-neither") << quint8(0x40);
}

void TestSecurity::badControlBytes()
{
    QFETCH(quint8, control);

    const auto sent = security::protect(control, ServerTitle, 1, Ek, Ak, PlainGet);
    QVERIFY(!sent.ok());
    QCOMPARE(sent.error().code, ErrorCode::InvalidArgument);

    QByteArray received = GloGetAuthEnc.sliced(2);
    received[0] = char(control);
    const auto result = security::unprotect(ServerTitle, Ek, Ak, received);
    QVERIFY(!result.ok());
    QCOMPARE(result.error().code, ErrorCode::Malformed);
    QVERIFY(result.error().message.contains(u"0x%1"_s.arg(control, 2, 16, QLatin1Char('0'))));
}

void TestSecurity::badArguments_data()
{
    QTest::addColumn<quint8>("control");
    QTest::addColumn<QByteArray>("title");
    QTest::addColumn<QByteArray>("ek");
    QTest::addColumn<QByteArray>("ak");

    QTest::newRow("title-7") << quint8(0x30) << ServerTitle.first(7) << Ek << Ak;
    QTest::newRow("title-9") << quint8(0x30) << ServerTitle + hex("00") << Ek << Ak;
    QTest::newRow("title-empty") << quint8(0x30) << QByteArray() << Ek << Ak;
    QTest::newRow("ek-15") << quint8(0x30) << ServerTitle << Ek.first(15) << Ak;
    QTest::newRow("ek-32") << quint8(0x20) << ServerTitle << Ek + Ek << Ak;
    QTest::newRow("ak-15-auth") << quint8(0x10) << ServerTitle << Ek << Ak.first(15);
    QTest::newRow("ak-empty-auth-enc") << quint8(0x30) << ServerTitle << Ek << QByteArray();
}

void TestSecurity::badArguments()
{
    QFETCH(quint8, control);
    QFETCH(QByteArray, title);
    QFETCH(QByteArray, ek);
    QFETCH(QByteArray, ak);

    const auto sent = security::protect(control, title, 1, ek, ak, PlainGet);
    QVERIFY(!sent.ok());
    QCOMPARE(sent.error().code, ErrorCode::InvalidArgument);
    QVERIFY(
        !sent.error().message.contains(QString::fromLatin1(ek.toHex()), Qt::CaseInsensitive) || ek.isEmpty());

    QByteArray received = GloGetAuthEnc.sliced(2);
    received[0] = char(control);
    const auto result = security::unprotect(title, ek, ak, received);
    QVERIFY(!result.ok());
    QCOMPARE(result.error().code, ErrorCode::InvalidArgument);

    if (control & security::ControlAuthenticated) {
        const auto gmac = security::gmacResponse(title, 1, ek, ak, StoC);
        QVERIFY(!gmac.ok());
        QCOMPARE(gmac.error().code, ErrorCode::InvalidArgument);
    }
}

void TestSecurity::framingErrors_data()
{
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<ErrorCode>("code");

    QTest::newRow("empty") << QByteArray() << ErrorCode::Truncated;
    QTest::newRow("plain-get-request") << PlainGet << ErrorCode::UnknownTag;
    QTest::newRow("aarq-tag") << hex("6000") << ErrorCode::UnknownTag;
    QTest::newRow("exception-response") << hex("D80101") << ErrorCode::UnknownTag;
    QTest::newRow("general-ciphering-dd") << hex("DD00") << ErrorCode::UnknownTag;
    QTest::newRow("glo-length-2pow31") << hex("C8 84 80000000 3000000001") << ErrorCode::LengthTooLarge;
    QTest::newRow("glo-length-ffffffff") << hex("C8 84 FFFFFFFF 30") << ErrorCode::LengthTooLarge;
    QTest::newRow("glo-length-five-bytes") << hex("C8 85 0000000001") << ErrorCode::LengthTooLarge;
    QTest::newRow("glo-length-indefinite") << hex("C8 80 30") << ErrorCode::Malformed;
    QTest::newRow("glo-length-beyond-input") << hex("C8 82 0100 3000000001") << ErrorCode::Truncated;
    QTest::newRow("glo-content-shorter-than-header") << hex("C8 04 30000000") << ErrorCode::Malformed;
    QTest::newRow("glo-trailing-byte") << GloGetEnc + hex("00") << ErrorCode::Malformed;
    QTest::newRow("general-title-2pow31")
        << hex("DB 84 80000000 4D4D4D0000BC614E") << ErrorCode::LengthTooLarge;
    QTest::newRow("general-content-2pow31")
        << hex("DB 08 4D4D4D0000BC614E 84 80000000 3000000001") << ErrorCode::LengthTooLarge;
    QTest::newRow("general-title-beyond-input") << hex("DC 10 4D4D4D0000BC614E") << ErrorCode::Truncated;
    QTest::newRow("general-no-content") << hex("DB 08 4D4D4D0000BC614E") << ErrorCode::Truncated;
}

void TestSecurity::framingErrors()
{
    QFETCH(QByteArray, bytes);
    QFETCH(ErrorCode, code);

    const auto result = security::decodeCipheredApdu(bytes);
    QVERIFY(!result.ok());
    QCOMPARE(errorCodeName(result.error().code), errorCodeName(code));
    QVERIFY(!result.error().message.isEmpty());
}

void TestSecurity::generalCipheringRoundTrip_data()
{
    QTest::addColumn<bool>("dedicated");
    QTest::addColumn<quint8>("control");
    QTest::addColumn<QByteArray>("plain");

    QTest::newRow("glo-auth-enc-get") << false << quint8(0x30) << PlainGet;
    QTest::newRow("glo-auth-get") << false << quint8(0x10) << PlainGet;
    QTest::newRow("glo-enc-exception") << false << quint8(0x20) << hex("D80101");
    QTest::newRow("ded-auth-enc-get") << true << quint8(0x30) << PlainGet;
    QTest::newRow("glo-auth-enc-long-300") << false << quint8(0x30) << QByteArray(300, '\x5A');
}

void TestSecurity::generalCipheringRoundTrip()
{
    QFETCH(bool, dedicated);
    QFETCH(quint8, control);
    QFETCH(QByteArray, plain);

    const auto out = security::encodeGeneralCiphered(dedicated, control, ClientTitle, 42, Ek, Ak, plain);
    QVERIFY(out.ok());
    QCOMPARE(quint8(out->at(0)),
        dedicated ? security::tag::GeneralDedCiphering : security::tag::GeneralGloCiphering);
    // tag || 08 || title || length || SC IC …
    QCOMPARE(out->sliced(1, 9), hex("08") + ClientTitle);

    const auto framed = security::decodeCipheredApdu(*out);
    QVERIFY(framed.ok());
    QCOMPARE(framed->systemTitle, ClientTitle);
    QVERIFY(framed->transactionId.isEmpty());
    QVERIFY(framed->recipientSystemTitle.isEmpty());
    QCOMPARE(framed->control(), control);
    QCOMPARE(framed->invocationCounter(), 42u);
    QCOMPARE(security::isDedicatedTag(framed->tag), dedicated);
    QByteArray again;
    security::encode(*framed, again);
    QCOMPARE(again, *out);

    const auto back = security::unprotect(framed->systemTitle, Ek, Ak, framed->protectedText);
    QVERIFY(back.ok());
    QCOMPARE(back->plaintext, plain);
}

void TestSecurity::dedicatedRoundTrip()
{
    const QByteArray dedicatedKey = hex("00112233445566778899AABBCCDDEEFF");
    const auto out = security::encodeServiceCiphered(true, 0x30, ClientTitle, 9, dedicatedKey, Ak, PlainGet);
    QVERIFY(out.ok());
    QCOMPARE(quint8(out->at(0)), security::tag::DedGetRequest);
    const auto framed = security::decodeCipheredApdu(*out);
    QVERIFY(framed.ok());
    QVERIFY(security::isDedicatedTag(framed->tag));
    QCOMPARE(security::plainTagOf(framed->tag), std::optional<quint8>(tag::GetRequest));
    const auto back = security::unprotect(ClientTitle, dedicatedKey, Ak, framed->protectedText);
    QVERIFY(back.ok());
    QCOMPARE(back->plaintext, PlainGet);
    // The global key does not open a ded- APDU.
    const auto withGlobal = security::unprotect(ClientTitle, Ek, Ak, framed->protectedText);
    QVERIFY(!withGlobal.ok());
    QCOMPARE(withGlobal.error().code, ErrorCode::DecryptionFailed);
}

void TestSecurity::serviceCipheringRefusesUntaggedApdus()
{
    for (const QByteArray &plain : {hex("6000"), hex("D80101"), hex("6200"), QByteArray()}) {
        const auto out = security::encodeServiceCiphered(false, 0x30, ClientTitle, 1, Ek, Ak, plain);
        QVERIFY(!out.ok());
        QCOMPARE(out.error().code, ErrorCode::InvalidArgument);
    }
    const auto initiate = security::encodeServiceCiphered(true, 0x30, ClientTitle, 1, Ek, Ak, PlainInitiate);
    QVERIFY(!initiate.ok());
    QCOMPARE(initiate.error().code, ErrorCode::InvalidArgument);
}

void TestSecurity::tagTables_data()
{
    QTest::addColumn<quint8>("plain");
    QTest::addColumn<int>("glo"); // -1: none
    QTest::addColumn<int>("ded");

    QTest::newRow("initiate-request") << quint8(0x01) << 0x21 << -1;
    QTest::newRow("initiate-response") << quint8(0x08) << 0x28 << -1;
    QTest::newRow("confirmed-service-error") << quint8(0x0E) << 0x2E << -1;
    QTest::newRow("get-request") << quint8(0xC0) << 0xC8 << 0xD0;
    QTest::newRow("set-request") << quint8(0xC1) << 0xC9 << 0xD1;
    QTest::newRow("event-notification") << quint8(0xC2) << 0xCA << 0xD2;
    QTest::newRow("action-request") << quint8(0xC3) << 0xCB << 0xD3;
    QTest::newRow("get-response") << quint8(0xC4) << 0xCC << 0xD4;
    QTest::newRow("set-response") << quint8(0xC5) << 0xCD << 0xD5;
    QTest::newRow("action-response") << quint8(0xC7) << 0xCF << 0xD7;
    QTest::newRow("aarq") << quint8(0x60) << -1 << -1;
    QTest::newRow("rlrq") << quint8(0x62) << -1 << -1;
    QTest::newRow("exception-response") << quint8(0xD8) << -1 << -1;
    QTest::newRow("data-notification") << quint8(0x0F) << -1 << -1;
}

void TestSecurity::tagTables()
{
    QFETCH(quint8, plain);
    QFETCH(int, glo);
    QFETCH(int, ded);

    const auto g = security::gloTag(plain);
    const auto d = security::dedTag(plain);
    QCOMPARE(g ? int(*g) : -1, glo);
    QCOMPARE(d ? int(*d) : -1, ded);
    QVERIFY(!security::isCipheredTag(plain));
    if (g) {
        QCOMPARE(security::plainTagOf(*g), std::optional<quint8>(plain));
        QVERIFY(security::isCipheredTag(*g));
        QVERIFY(!security::isDedicatedTag(*g));
    }
    if (d) {
        QCOMPARE(security::plainTagOf(*d), std::optional<quint8>(plain));
        QVERIFY(security::isCipheredTag(*d));
        QVERIFY(security::isDedicatedTag(*d));
    }
    // The general ciphering tags protect no particular service.
    QVERIFY(!security::plainTagOf(security::tag::GeneralGloCiphering));
    QVERIFY(!security::plainTagOf(security::tag::GeneralDedCiphering));
    QVERIFY(security::isCipheredTag(security::tag::GeneralGloCiphering));
    QVERIFY(!security::isDedicatedTag(security::tag::GeneralGloCiphering));
    QVERIFY(security::isDedicatedTag(security::tag::GeneralDedCiphering));
}

void TestSecurity::controlAndPolicy()
{
    QCOMPARE(security::securityControl(SecurityPolicy::None), quint8(0x00));
    QCOMPARE(security::securityControl(SecurityPolicy::Authenticated), quint8(0x10));
    QCOMPARE(security::securityControl(SecurityPolicy::Encrypted), quint8(0x20));
    QCOMPARE(security::securityControl(SecurityPolicy::AuthenticatedEncrypted), quint8(0x30));
    for (const auto policy : {SecurityPolicy::None, SecurityPolicy::Authenticated, SecurityPolicy::Encrypted,
             SecurityPolicy::AuthenticatedEncrypted}) {
        QCOMPARE(int(security::policyOf(security::securityControl(policy))), int(policy));
        QCOMPARE(int(security::policyOf(security::securityControl(policy) | 0x40)), int(policy));
    }
}

void TestSecurity::policyNames()
{
    const std::pair<SecurityPolicy, QString> names[]
        = {{SecurityPolicy::None, u"none"_s}, {SecurityPolicy::Authenticated, u"auth"_s},
            {SecurityPolicy::Encrypted, u"enc"_s}, {SecurityPolicy::AuthenticatedEncrypted, u"auth-enc"_s}};
    for (const auto &[policy, name] : names) {
        QCOMPARE(securityPolicyName(policy), name);
        QCOMPARE(securityPolicyFromName(name), std::optional<SecurityPolicy>(policy));
    }
    QCOMPARE(securityPolicyFromName(u"AUTH-ENC"),
        std::optional<SecurityPolicy>(SecurityPolicy::AuthenticatedEncrypted));
    QVERIFY(!securityPolicyFromName(u"encrypted"));
    QVERIFY(!securityPolicyFromName(u""));
}

void TestSecurity::parseHex_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<qsizetype>("size");
    QTest::addColumn<QByteArray>("expected"); // empty: an error

    const QByteArray key = hex("000102030405060708090A0B0C0D0E0F");
    QTest::newRow("plain-upper") << u"000102030405060708090A0B0C0D0E0F"_s << qsizetype(16) << key;
    QTest::newRow("plain-lower") << u"000102030405060708090a0b0c0d0e0f"_s << qsizetype(16) << key;
    QTest::newRow("spaces") << u"00 01 02 03 04 05 06 07 08 09 0A 0B 0C 0D 0E 0F"_s << qsizetype(16) << key;
    QTest::newRow("colons") << u"00:01:02:03:04:05:06:07:08:09:0A:0B:0C:0D:0E:0F"_s << qsizetype(16) << key;
    QTest::newRow("outer-spaces") << u"  0001020304050607 08090A0B0C0D0E0F "_s << qsizetype(16) << key;
    QTest::newRow("title-8") << u"4D4D4D0000BC614E"_s << qsizetype(8) << ServerTitle;
    QTest::newRow("odd-digits") << u"000102030405060708090A0B0C0D0E0"_s << qsizetype(16) << QByteArray();
    QTest::newRow("separator-splits-byte")
        << u"0 00102030405060708090A0B0C0D0E0F"_s << qsizetype(16) << QByteArray();
    QTest::newRow("too-short-15") << u"000102030405060708090A0B0C0D0E"_s << qsizetype(16) << QByteArray();
    QTest::newRow("too-long-17") << u"000102030405060708090A0B0C0D0E0F10"_s << qsizetype(16) << QByteArray();
    QTest::newRow("non-hex-g") << u"G00102030405060708090A0B0C0D0E0F"_s << qsizetype(16) << QByteArray();
    QTest::newRow("0x-prefix") << u"0x000102030405060708090A0B0C0D0E0F"_s << qsizetype(16) << QByteArray();
    QTest::newRow("dash") << u"00-01-02-03-04-05-06-07-08-09-0A-0B-0C-0D-0E-0F"_s << qsizetype(16)
                          << QByteArray();
    QTest::newRow("non-latin") << u"00010203040506070809０A0B0C0D0E0F"_s << qsizetype(16) << QByteArray();
    QTest::newRow("empty") << QString() << qsizetype(16) << QByteArray();
}

void TestSecurity::parseHex()
{
    QFETCH(QString, text);
    QFETCH(qsizetype, size);
    QFETCH(QByteArray, expected);

    const auto result = security::parseHexBytes(text, size, u"the block cipher key"_s);
    if (!expected.isEmpty()) {
        QVERIFY2(result.ok(), qPrintable(result.ok() ? QString() : result.error().message));
        QCOMPARE(*result, expected);
        return;
    }
    QVERIFY(!result.ok());
    QCOMPARE(result.error().code, ErrorCode::InvalidArgument);
    const QString message = result.error().message;
    QVERIFY2(
        message.startsWith(u"the block cipher key must be %1 bytes of hex"_s.arg(size)), qPrintable(message));
    // Never the text itself, nor any 4-digit run of it: it may be most of a key.
    const QString digits = QString(text).remove(u' ').remove(u':');
    for (qsizetype i = 0; i + 4 <= digits.size(); ++i)
        QVERIFY2(!message.contains(digits.mid(i, 4), Qt::CaseInsensitive), qPrintable(message));
}

void TestSecurity::keyFingerprints()
{
    const QString ek = security::keyFingerprint(Ek);
    QCOMPARE(ek.size(), 16);
    QCOMPARE(ek, ek.toLower());
    QCOMPARE(security::keyFingerprint(Ek), ek);
    QCOMPARE(security::keyFingerprint(hex("000102030405060708090A0B0C0D0E0F")), ek);
    std::set<QString> distinct {ek, security::keyFingerprint(Ak), security::keyFingerprint(flipped(Ek, 15)),
        security::keyFingerprint(QByteArray()), security::keyFingerprint(Ek.first(15))};
    QCOMPARE(distinct.size(), size_t(5));
    QVERIFY(!QString::fromLatin1(Ek.toHex()).contains(ek));
    // Pinned: counters on disk are filed under this name, so it must never change.
    QCOMPARE(ek, u"0a58896631bcfdb3"_s);
}

void TestSecurity::wipeLeavesSharedCopiesAlone()
{
    // Ours alone: emptied (after being overwritten in place).
    QByteArray own = QByteArray::fromHex("000102030405060708090A0B0C0D0E0F");
    security::wipe(own);
    QVERIFY(own.isEmpty());

    // Shared with another holder: writing would detach and wipe a fresh copy, so only ours goes.
    const QByteArray other = QByteArray::fromHex("D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF");
    QByteArray shared = other;
    security::wipe(shared);
    QVERIFY(shared.isEmpty());
    QCOMPARE(other, QByteArray::fromHex("D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF"));
}

void TestSecurity::randomBytesAreFreshAndSized()
{
    const QByteArray a = security::randomBytes(16);
    const QByteArray b = security::randomBytes(16);
    QCOMPARE(a.size(), 16);
    QCOMPARE(b.size(), 16);
    QVERIFY(a != b);
    QCOMPARE(security::randomBytes(64).size(), 64);
    QVERIFY(security::randomBytes(0).isEmpty());
    QVERIFY(security::randomBytes(-1).isEmpty());
}

void TestSecurity::counterExhaustion()
{
    MemoryInvocationCounter counter(0xFFFFFFFE);
    QCOMPARE(counter.peek(), 0xFFFFFFFEu);
    auto first = counter.next();
    QVERIFY(first.ok());
    QCOMPARE(*first, 0xFFFFFFFEu);
    auto last = counter.next();
    QVERIFY(last.ok());
    QCOMPARE(*last, 0xFFFFFFFFu);
    for (int i = 0; i < 2; ++i) {
        const auto none = counter.next();
        QVERIFY(!none.ok());
        QVERIFY(none.error().message.contains(u"invocation counter exhausted"_s));
    }
    QCOMPARE(counter.peek(), 0xFFFFFFFFu);

    MemoryInvocationCounter fresh;
    QCOMPARE(*fresh.next(), 1u);
    QCOMPARE(*fresh.next(), 2u);
    QCOMPARE(fresh.peek(), 3u);
}

QTEST_GUILESS_MAIN(TestSecurity)
#include "tst_security.moc"
