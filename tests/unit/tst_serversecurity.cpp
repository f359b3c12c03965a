// The simulator's side of suite 0, sans I/O: HLS-GMAC's four passes, the ciphered AARQ of
// LN-with-ciphering, glo-/ded-/general-glo data APDUs answered in kind, block transfer ciphered per
// block, refusals and replay protection. Every request is built here from the dlms encoders and
// security functions, so the server is checked against the Green Book, not against our client.
#include "serverharness.h"
#include "serversession.h"
#include "testsupport.h"
#include "transportrows.h"

#include <security.h>

#include <QtCore/QTimeZone>
#include <QtTest/QtTest>

#include <functional>

using namespace dlms;
using namespace sim;
using namespace Qt::StringLiterals;
using dlms::test::hex;

namespace {

enum class Kind { Glo, Ded, General };

} // namespace

Q_DECLARE_METATYPE(dlms::Transport)
Q_DECLARE_METATYPE(dlms::SecurityPolicy)
Q_DECLARE_METATYPE(Kind)
Q_DECLARE_METATYPE(dlms::Aarq)
Q_DECLARE_METATYPE(std::optional<dlms::Aarq>)
Q_DECLARE_METATYPE(std::optional<dlms::Value>)

namespace {

const Obis kClock(0, 0, 1, 0, 0, 255);
const Obis kAssociation(0, 0, 40, 0, 0, 255);
const Obis kProfile(1, 0, 99, 1, 0, 255);
const AttributeDescriptor kClockTime {8, kClock, 2};
const MethodDescriptor kReplyToHls {15, kAssociation, 1};
const MethodDescriptor kCapture {7, kProfile, 2};

// Green Book examples (DLMS UA 1000-2): the simulator's default keys, and the titles of Table 43.
const QByteArray kEk = hex("000102030405060708090A0B0C0D0E0F");
const QByteArray kAk = hex("D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF");
const QByteArray kMeterTitle = hex("4D4D4D0000BC614E");
const QByteArray kClientTitle = hex("4D4D4D0000000001");
const QByteArray kCtoS = "K56iVagY";
const QByteArray kStoC = "P6wRJ21F";

constexpr quint8 kAuth = security::ControlAuthenticated;
constexpr quint8 kEnc = security::ControlEncrypted;

QDateTime fixedNow()
{
    return QDateTime(QDate(2026, 11, 23), QTime(10, 7, 30), QTimeZone::utc());
}

MeterSettings secureSettings(SecurityPolicy policy = SecurityPolicy::None)
{
    MeterSettings settings;
    settings.security.policy = policy;
    settings.security.systemTitle = kMeterTitle; // EK and AK: the defaults, i.e. the Green Book's
    settings.profileRows = 50;
    return settings;
}

const char *kindName(Kind kind)
{
    return kind == Kind::Glo ? "glo" : kind == Kind::Ded ? "ded" : "general";
}

// The client's side of the protection: what a correct client would send.
QByteArray protectRequest(Kind kind, quint8 control, quint32 ic, QByteArrayView plain,
    QByteArrayView key = kEk, QByteArrayView title = kClientTitle)
{
    const auto out = kind == Kind::General
        ? security::encodeGeneralCiphered(false, control, title, ic, key, kAk, plain)
        : security::encodeServiceCiphered(kind == Kind::Ded, control, title, ic, key, kAk, plain);
    return out ? *out : QByteArray();
}

Aarq cipheredAarq(quint8 control, quint32 ic, const InitiateRequest &initiate = {}, Kind kind = Kind::Glo,
    QByteArrayView ek = kEk)
{
    Aarq aarq;
    aarq.ciphered = true;
    aarq.callingApTitle = kClientTitle;
    aarq.authentication = Authentication::Low;
    aarq.authenticationValue = "12345678";
    aarq.cipheredInitiate = protectRequest(kind, control, ic, test::encoded(initiate), ek);
    return aarq;
}

Aarq hlsAarq()
{
    Aarq aarq;
    aarq.authentication = Authentication::HighGmac;
    aarq.callingApTitle = kClientTitle;
    aarq.authenticationValue = kCtoS;
    return aarq;
}

GetRequest getRequest(const AttributeDescriptor &attribute, quint8 invokeId = 5)
{
    GetRequest request;
    request.invoke.invokeId = invokeId;
    request.items.push_back(AttributeRequest {attribute, std::nullopt});
    return request;
}

ActionRequest actionRequest(const MethodDescriptor &method, std::optional<Value> parameters)
{
    ActionRequest request;
    request.invoke.invokeId = 6;
    request.method = method;
    request.parameters = std::move(parameters);
    return request;
}

struct Opened {
    quint8 tag = 0;
    quint8 control = 0;
    quint32 invocationCounter = 0;
    QByteArray plaintext;
};

// Opens a ciphered answer of the meter (title kMeterTitle, or the one general ciphering names).
std::optional<Opened> openResponse(QByteArrayView apdu, QByteArrayView key = kEk)
{
    const auto ciphered = security::decodeCipheredApdu(apdu);
    if (!ciphered)
        return std::nullopt;
    const bool general = ciphered->tag == security::tag::GeneralGloCiphering
        || ciphered->tag == security::tag::GeneralDedCiphering;
    if (general && ciphered->systemTitle != kMeterTitle)
        return std::nullopt;
    const auto opened = security::unprotect(kMeterTitle, key, kAk, ciphered->protectedText);
    if (!opened)
        return std::nullopt;
    return Opened {ciphered->tag, opened->control, opened->invocationCounter, opened->plaintext};
}

// A hand-driven client over either framing (serverharness.h) that connects the HDLC link on demand.
struct RawClient : test::ServerHarness {
    using ServerHarness::ServerHarness;

    // Sends one APDU; the one APDU answered, or empty.
    QByteArray request(QByteArrayView apdu)
    {
        if (!ensureLinkConnected())
            return {};
        const auto answers = send(apdu);
        return answers.size() == 1 ? answers.front() : QByteArray();
    }

    std::optional<Aare> associateRaw(QByteArrayView aarq)
    {
        const auto aare = decodeAare(request(aarq));
        return aare ? std::optional<Aare>(*aare) : std::nullopt;
    }
    std::optional<Aare> associate(const Aarq &aarq) { return associateRaw(test::encoded(aarq)); }
};

// One simulated meter, one connection to it.
struct Meter {
    explicit Meter(MeterSettings settings = secureSettings(), Transport transport = Transport::Wrapper)
        : model(std::move(settings), fixedNow), server(model, transport), client(server, transport)
    {
    }
    MeterModel model;
    ServerSession server;
    RawClient client;
};

std::optional<ExceptionResponse> exceptionIn(QByteArrayView apdu)
{
    const auto decoded = decodeExceptionResponse(apdu);
    return decoded ? std::optional<ExceptionResponse>(*decoded) : std::nullopt;
}

// Aare::accepted() wants a clear InitiateResponse; a ciphered AARE carries it protected.
bool accepted(const std::optional<Aare> &aare)
{
    return aare && aare->result == AssociationResult::Accepted
        && (aare->initiate || !aare->cipheredInitiate.isEmpty());
}

bool isException(QByteArrayView apdu, quint8 stateError, quint8 serviceError)
{
    const auto exception = exceptionIn(apdu);
    return exception && exception->stateError == stateError && exception->serviceError == serviceError;
}

// Table 43's f(StoC) and f(CtoS).
const QByteArray kClientProof = hex("10000000011A52FE7DD3E72748973C1E28");
const QByteArray kServerProof = hex("1001234567FE1466AFB3DBCD4F9389E2B7");

} // namespace

class tst_ServerSecurity : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase() { QStandardPaths::setTestModeEnabled(true); }
    void hlsGmacGreenBook_data();
    void hlsGmacGreenBook();
    void hlsPendingRefusesOtherRequests_data();
    void hlsPendingRefusesOtherRequests();
    void hlsProofRefused_data();
    void hlsProofRefused();
    void hlsAarqRefused_data();
    void hlsAarqRefused();
    void requireHighSecurity_data();
    void requireHighSecurity();
    void cipheredAssociation_data();
    void cipheredAssociation();
    void greenBookCipheredAarq();
    void cipheredAarqRefused_data();
    void cipheredAarqRefused();
    void cipheredServices_data();
    void cipheredServices();
    void cipheredBlockTransfer_data();
    void cipheredBlockTransfer();
    void refusedOnCipheredAssociation_data();
    void refusedOnCipheredAssociation();
    void cipheredRequestWithoutCipheredAssociation_data();
    void cipheredRequestWithoutCipheredAssociation();
    void tamperedRequest_data();
    void tamperedRequest();
    void replayedRequest_data();
    void replayedRequest();
    void countersSharedAcrossConnections();
    void hlsOverCipheredAssociation();
    void staleHlsProofRefused_data();
    void staleHlsProofRefused();
};

void tst_ServerSecurity::hlsGmacGreenBook_data()
{
    test::addTransportRows();
}

void tst_ServerSecurity::hlsGmacGreenBook()
{
    QFETCH(Transport, transport);
    Meter meter(secureSettings(), transport);
    meter.model.setNextInvocationCounter(0x01234567);
    meter.server.setHlsChallenge(kStoC);

    // Passes 1 and 2.
    const auto aare = meter.client.associate(hlsAarq());
    QVERIFY(aare);
    QVERIFY(accepted(aare));
    QCOMPARE(aare->authentication, Authentication::HighGmac);
    QCOMPARE(aare->respondingApTitle, kMeterTitle);
    QCOMPARE(aare->respondingAuthenticationValue, kStoC);
    QVERIFY(!aare->ciphered);
    QVERIFY(meter.server.authenticationPending());
    QCOMPARE(meter.server.association()->level, AccessLevel::Public);

    // Passes 3 and 4, byte for byte.
    const auto answer = decodeActionResponse(
        meter.client.request(test::encoded(actionRequest(kReplyToHls, Value::octetString(kClientProof)))));
    QVERIFY(answer);
    QCOMPARE(answer->invoke.invokeId, quint8(6));
    QCOMPARE(answer->result, DataAccessResult::Success);
    QVERIFY(answer->returnParameters);
    QCOMPARE(answer->returnParameters->value, Value::octetString(kServerProof));
    QVERIFY(!meter.server.authenticationPending());
    QCOMPARE(meter.server.association()->level, AccessLevel::High);
    QCOMPARE(meter.model.nextInvocationCounter(), 0x01234568u);
    QCOMPARE(meter.model.lastClientInvocationCounter(kClientTitle), std::optional<quint32>(1));
    QCOMPARE(meter.server.counters().authenticationFailures, 0u);

    // Authenticated: reads, and writes the clock as LLS may.
    const auto clock = decodeGetResponse(meter.client.request(test::encoded(getRequest(kClockTime))));
    QVERIFY(clock);
    QVERIFY(clock->results.front().ok());
    SetRequest set;
    set.item.attribute = kClockTime;
    set.value = clock->results.front().value;
    const auto setAnswer = decodeSetResponse(meter.client.request(test::encoded(set)));
    QVERIFY(setAnswer);
    QCOMPARE(setAnswer->result, DataAccessResult::Success);
}

void tst_ServerSecurity::hlsPendingRefusesOtherRequests_data()
{
    QTest::addColumn<QByteArray>("request");
    SetRequest set;
    set.item.attribute = kClockTime;
    set.value = Value::octetString(QByteArray(12, '\0'));
    QTest::newRow("get-clock") << test::encoded(getRequest(kClockTime));
    QTest::newRow("set-clock") << test::encoded(set);
    QTest::newRow("action-capture") << test::encoded(actionRequest(kCapture, Value::integer(0)));
    QTest::newRow("reply-to-hls-on-another-object")
        << test::encoded(actionRequest({15, Obis(0, 0, 40, 0, 1, 255), 1}, Value::octetString(kClientProof)));
    QTest::newRow("change-hls-secret")
        << test::encoded(actionRequest({15, kAssociation, 2}, Value::octetString(kClientProof)));
}

void tst_ServerSecurity::hlsPendingRefusesOtherRequests()
{
    QFETCH(QByteArray, request);
    Meter meter;
    meter.server.setHlsChallenge(kStoC);
    QVERIFY(accepted(meter.client.associate(hlsAarq())));

    QVERIFY(isException(meter.client.request(request), 1, 1)); // service-not-allowed / operation-not-possible
    QVERIFY(meter.server.authenticationPending());
    QCOMPARE(meter.server.association()->level, AccessLevel::Public);
}

void tst_ServerSecurity::hlsProofRefused_data()
{
    QTest::addColumn<std::optional<Value>>("parameters");
    QByteArray flipped = kClientProof;
    flipped[16] = char(flipped[16] ^ 0x01);
    auto proof = [](QByteArrayView title, QByteArrayView ak, QByteArrayView challenge) {
        const auto f = security::gmacResponse(title, 1, kEk, ak, challenge);
        return f ? *f : QByteArray();
    };
    const QByteArray otherTitle = proof(hex("4D4D4D0000000002"), kAk, kStoC);
    const QByteArray otherAk = proof(kClientTitle, QByteArray(16, '\x11'), kStoC);
    const QByteArray otherChallenge = proof(kClientTitle, kAk, kCtoS);
    QTest::newRow("tag-flipped") << std::optional<Value>(Value::octetString(flipped));
    QTest::newRow("other-client-title") << std::optional<Value>(Value::octetString(otherTitle));
    QTest::newRow("other-ak") << std::optional<Value>(Value::octetString(otherAk));
    QTest::newRow("proof-of-own-challenge") << std::optional<Value>(Value::octetString(otherChallenge));
    QTest::newRow("truncated") << std::optional<Value>(Value::octetString(kClientProof.left(16)));
    QTest::newRow("not-an-octet-string") << std::optional<Value>(Value::visibleString(kClientProof));
    QTest::newRow("no-parameters") << std::optional<Value>();
}

void tst_ServerSecurity::hlsProofRefused()
{
    QFETCH(std::optional<Value>, parameters);
    Meter meter;
    meter.server.setHlsChallenge(kStoC);
    QVERIFY(accepted(meter.client.associate(hlsAarq())));
    const quint32 meterIc = meter.model.nextInvocationCounter();

    const auto answer
        = decodeActionResponse(meter.client.request(test::encoded(actionRequest(kReplyToHls, parameters))));
    QVERIFY(answer);
    QCOMPARE(answer->result, DataAccessResult::OtherReason);
    QVERIFY(!answer->returnParameters);
    QCOMPARE(meter.server.counters().authenticationFailures, 1u);
    QCOMPARE(meter.model.nextInvocationCounter(), meterIc); // no f(CtoS) was computed
    // The association stays unusable.
    QVERIFY(meter.server.authenticationPending());
    QVERIFY(isException(meter.client.request(test::encoded(getRequest(kClockTime))), 1, 1));
}

void tst_ServerSecurity::hlsAarqRefused_data()
{
    QTest::addColumn<Aarq>("aarq");
    QTest::addColumn<int>("diagnostic");
    const int titleUnknown = int(AcseUserDiagnostic::CallingApTitleNotRecognized);
    const int failure = int(AcseUserDiagnostic::AuthenticationFailure);
    auto with = [](const std::function<void(Aarq &)> &change) {
        Aarq aarq = hlsAarq();
        change(aarq);
        return aarq;
    };
    QTest::newRow("no-calling-title") << with([](Aarq &a) { a.callingApTitle.clear(); }) << titleUnknown;
    QTest::newRow("title-7-bytes") << with([](Aarq &a) { a.callingApTitle.chop(1); }) << titleUnknown;
    QTest::newRow("title-9-bytes") << with([](Aarq &a) { a.callingApTitle.append('\0'); }) << titleUnknown;
    QTest::newRow("challenge-7-bytes") << with([](Aarq &a) { a.authenticationValue = "1234567"; }) << failure;
    QTest::newRow("challenge-65-bytes")
        << with([](Aarq &a) { a.authenticationValue = QByteArray(65, 'c'); }) << failure;
    QTest::newRow("no-challenge") << with([](Aarq &a) { a.authenticationValue.clear(); }) << failure;
    QTest::newRow("hls-sha256") << with([](Aarq &a) { a.authentication = Authentication::HighSha256; })
                                << int(AcseUserDiagnostic::AuthenticationMechanismNameNotRecognised);
}

void tst_ServerSecurity::hlsAarqRefused()
{
    QFETCH(Aarq, aarq);
    QFETCH(int, diagnostic);
    Meter meter;
    const auto aare = meter.client.associate(aarq);
    QVERIFY(aare);
    QVERIFY(!accepted(aare));
    QCOMPARE(aare->result, AssociationResult::RejectedPermanent);
    QCOMPARE(int(aare->diagnostic), diagnostic);
    QVERIFY(aare->respondingAuthenticationValue.isEmpty());
    QVERIFY(!meter.server.associated());
}

void tst_ServerSecurity::requireHighSecurity_data()
{
    QTest::addColumn<Aarq>("aarq");
    QTest::addColumn<bool>("accepted");
    Aarq lls;
    lls.authentication = Authentication::Low;
    lls.authenticationValue = "12345678";
    QTest::newRow("no-auth-refused") << Aarq() << false;
    QTest::newRow("lls-refused") << lls << false;
    QTest::newRow("ciphered-lls-refused") << cipheredAarq(kAuth | kEnc, 1) << false;
    QTest::newRow("hls-gmac-accepted") << hlsAarq() << true;
}

void tst_ServerSecurity::requireHighSecurity()
{
    QFETCH(Aarq, aarq);
    QFETCH(bool, accepted);
    MeterSettings settings = secureSettings();
    settings.requireHighSecurity = true;
    Meter meter(settings);
    const auto aare = meter.client.associate(aarq);
    QVERIFY(aare);
    QCOMPARE(::accepted(aare), accepted);
    if (!accepted)
        QCOMPARE(int(aare->diagnostic), int(AcseUserDiagnostic::AuthenticationMechanismNameRequired));
}

void tst_ServerSecurity::cipheredAssociation_data()
{
    QTest::addColumn<SecurityPolicy>("policy"); // the meter's and the request's
    QTest::addColumn<Kind>("kind");
    for (SecurityPolicy policy :
        {SecurityPolicy::Authenticated, SecurityPolicy::Encrypted, SecurityPolicy::AuthenticatedEncrypted}) {
        for (Kind kind : {Kind::Glo, Kind::General}) {
            QTest::addRow("%s-%s", qPrintable(securityPolicyName(policy)), kindName(kind)) << policy << kind;
        }
    }
}

void tst_ServerSecurity::cipheredAssociation()
{
    QFETCH(SecurityPolicy, policy);
    QFETCH(Kind, kind);
    Meter meter(secureSettings(policy));
    meter.model.setNextInvocationCounter(0x200);
    const quint8 control = security::securityControl(policy);
    InitiateRequest initiate;
    initiate.clientMaxReceivePduSize = 512;

    const auto aare = meter.client.associate(cipheredAarq(control, 0x42, initiate, kind));
    QVERIFY(aare);
    QCOMPARE(aare->result, AssociationResult::Accepted);
    QVERIFY(aare->ciphered);
    QCOMPARE(aare->respondingApTitle, kMeterTitle);
    QCOMPARE(aare->authentication, Authentication::Low);
    QVERIFY(!aare->cipheredInitiate.isEmpty());

    // glo-initiate-response (or general-glo) with the request's SC and the meter's IC.
    const auto opened = openResponse(aare->cipheredInitiate);
    QVERIFY(opened);
    QCOMPARE(opened->tag,
        kind == Kind::Glo ? security::tag::GloInitiateResponse : security::tag::GeneralGloCiphering);
    QCOMPARE(opened->control, control);
    QCOMPARE(opened->invocationCounter, 0x200u);
    const auto response = decodeInitiateResponse(opened->plaintext);
    QVERIFY(response);
    QCOMPARE(response->serverMaxReceivePduSize, quint16(1024));
    QVERIFY(response->negotiatedConformance & ConformanceGet);

    QVERIFY(meter.server.associated());
    QVERIFY(meter.server.association()->ciphered);
    QCOMPARE(meter.server.association()->level, AccessLevel::Low);
    QCOMPARE(meter.server.association()->clientMaxPdu, quint16(512));
    QCOMPARE(meter.model.lastClientInvocationCounter(kClientTitle), std::optional<quint32>(0x42));
    QCOMPARE(meter.model.nextInvocationCounter(), 0x201u);
}

void tst_ServerSecurity::greenBookCipheredAarq()
{
    // The Green Book's AARQ, byte for byte: LN-with-ciphering, LLS "12345678", a glo-initiate-
    // request under title 4D4D4D0000BC614E carrying dedicated key 00112233…FF.
    Meter meter;
    const auto aare = meter.client.associateRaw(hex(
        "6066A109060760857405080103A60A04084D4D4D0000BC614E8A0207808B0760857405080201AC0A80083132333435363738"
        "BE34043221303001234567801302FF8A7874133D414CED25B42534D28DB0047720606B175BD52211BE6841DB204D39EE6F"
        "DB8E356855"));
    QVERIFY(aare);
    QVERIFY(accepted(aare));
    QVERIFY(meter.server.association()->ciphered);
    QCOMPARE(meter.model.lastClientInvocationCounter(kMeterTitle), std::optional<quint32>(0x01234567));
    QCOMPARE(meter.server.association()->clientMaxPdu, quint16(1200));

    // The dedicated key was kept: a ded-get-request under it is answered with ded-get-response.
    const QByteArray dedicated = hex("00112233445566778899AABBCCDDEEFF");
    const QByteArray request = protectRequest(
        Kind::Ded, kAuth | kEnc, 0x01234568, test::encoded(getRequest(kClockTime)), dedicated, kMeterTitle);
    const QByteArray answer = meter.client.request(request);
    const auto opened = openResponse(answer, dedicated);
    QVERIFY(opened);
    QCOMPARE(opened->tag, security::tag::DedGetResponse);
    QVERIFY(decodeGetResponse(opened->plaintext));
}

void tst_ServerSecurity::cipheredAarqRefused_data()
{
    QTest::addColumn<Aarq>("aarq");
    QTest::addColumn<SecurityPolicy>("meterPolicy");
    QTest::addColumn<int>("acceptedBefore"); // a client IC the meter already accepted; -1: none
    QTest::addColumn<int>("diagnostic");
    QTest::addColumn<int>("errorType"); // -1: no confirmed-service-error
    QTest::addColumn<int>("errorValue");
    QTest::addColumn<int>("decipherFailures");
    QTest::addColumn<int>("replays");

    const auto none = SecurityPolicy::None;
    const int noReason = int(AcseUserDiagnostic::NoReasonGiven);
    const int context = int(AcseUserDiagnostic::ApplicationContextNameNotSupported);
    const quint8 both = kAuth | kEnc;
    auto with = [](Aarq aarq, const std::function<void(Aarq &)> &change) {
        change(aarq);
        return aarq;
    };
    QTest::newRow("wrong-ek") << cipheredAarq(both, 1, {}, Kind::Glo, QByteArray(16, '\x01')) << none << -1
                              << noReason << 0 << 6 << 1 << 0;
    QTest::newRow("wrong-ek-auth-only") << cipheredAarq(kAuth, 1, {}, Kind::Glo, QByteArray(16, '\x01'))
                                        << none << -1 << noReason << 0 << 6 << 1 << 0;
    QTest::newRow("wrong-ek-enc-only") << cipheredAarq(kEnc, 1, {}, Kind::Glo, QByteArray(16, '\x01')) << none
                                       << -1 << noReason << 0 << 6 << 1 << 0;
    QTest::newRow("wrong-ak") << with(cipheredAarq(both, 1),
        [](Aarq &a) {
            a.cipheredInitiate = *security::encodeServiceCiphered(false, kAuth | kEnc, kClientTitle, 1, kEk,
                QByteArray(16, '\x02'), test::encoded(InitiateRequest()));
        }) << none << -1 << noReason
                              << 0 << 6 << 1 << 0;
    QTest::newRow("ciphered-under-another-title")
        << with(cipheredAarq(both, 1), [](Aarq &a) { a.callingApTitle = hex("4D4D4D0000000002"); }) << none
        << -1 << noReason << 0 << 6 << 1 << 0;
    QTest::newRow("tag-truncated") << with(cipheredAarq(both, 1), [](Aarq &a) { a.cipheredInitiate.chop(1); })
                                   << none << -1 << noReason << 0 << 6 << 1 << 0;
    QTest::newRow("replayed-ic") << cipheredAarq(both, 7) << none << 7 << noReason << 0 << 6 << 0 << 1;
    QTest::newRow("older-ic") << cipheredAarq(both, 6) << none << 7 << noReason << 0 << 6 << 0 << 1;
    QTest::newRow("auth-below-auth-enc-policy")
        << cipheredAarq(kAuth, 1) << SecurityPolicy::AuthenticatedEncrypted << -1 << noReason << 6 << 0 << 0
        << 0;
    QTest::newRow("enc-below-auth-policy")
        << cipheredAarq(kEnc, 1) << SecurityPolicy::Authenticated << -1 << noReason << 6 << 0 << 0 << 0;
    InitiateRequest shortKey;
    shortKey.dedicatedKey = QByteArray(15, '\x33');
    QTest::newRow("dedicated-key-15-bytes")
        << cipheredAarq(both, 1, shortKey) << none << -1 << noReason << 6 << 0 << 0 << 0;
    QTest::newRow("no-calling-title")
        << with(cipheredAarq(both, 1), [](Aarq &a) { a.callingApTitle.clear(); }) << none << -1
        << int(AcseUserDiagnostic::CallingApTitleNotRecognized) << -1 << 0 << 0 << 0;
    QTest::newRow("ciphered-context-plain-initiate")
        << with(cipheredAarq(both, 1), [](Aarq &a) { a.cipheredInitiate.clear(); }) << none << -1 << context
        << -1 << 0 << 0 << 0;
    Aarq plain;
    plain.authentication = Authentication::Low;
    plain.authenticationValue = "12345678";
    QTest::newRow("plain-context-on-ciphering-meter")
        << plain << SecurityPolicy::Authenticated << -1 << context << -1 << 0 << 0 << 0;
    QTest::newRow("hls-plain-context-on-ciphering-meter")
        << hlsAarq() << SecurityPolicy::AuthenticatedEncrypted << -1 << context << -1 << 0 << 0 << 0;
}

void tst_ServerSecurity::cipheredAarqRefused()
{
    QFETCH(Aarq, aarq);
    QFETCH(SecurityPolicy, meterPolicy);
    QFETCH(int, acceptedBefore);
    QFETCH(int, diagnostic);
    QFETCH(int, errorType);
    QFETCH(int, errorValue);
    QFETCH(int, decipherFailures);
    QFETCH(int, replays);

    Meter meter(secureSettings(meterPolicy));
    if (acceptedBefore >= 0)
        meter.model.acceptClientInvocationCounter(kClientTitle, quint32(acceptedBefore));
    const quint32 meterIc = meter.model.nextInvocationCounter();
    const auto aare = meter.client.associate(aarq);
    QVERIFY(aare);
    QVERIFY(!accepted(aare));
    QCOMPARE(aare->result, AssociationResult::RejectedPermanent);
    QCOMPARE(aare->diagnosticSource, DiagnosticSource::ServiceUser);
    QCOMPARE(int(aare->diagnostic), diagnostic);
    QVERIFY(aare->cipheredInitiate.isEmpty());
    if (errorType < 0) {
        QVERIFY(!aare->initiateErrorType);
    } else {
        QCOMPARE(aare->initiateErrorType, std::optional<quint8>(quint8(errorType)));
        QCOMPARE(aare->initiateErrorValue, std::optional<quint8>(quint8(errorValue)));
    }
    QVERIFY(!meter.server.associated());
    QCOMPARE(meter.server.counters().decipherFailures, quint64(decipherFailures));
    QCOMPARE(meter.server.counters().replaysRejected, quint64(replays));
    QCOMPARE(meter.model.nextInvocationCounter(), meterIc);
    // An AARQ that did not decipher moves no counter.
    if (decipherFailures > 0 || replays > 0)
        QCOMPARE(meter.model.lastClientInvocationCounter(kClientTitle),
            acceptedBefore < 0 ? std::nullopt : std::optional<quint32>(quint32(acceptedBefore)));
}

void tst_ServerSecurity::cipheredServices_data()
{
    QTest::addColumn<Transport>("transport");
    QTest::addColumn<SecurityPolicy>("policy");
    QTest::addColumn<Kind>("kind");
    for (SecurityPolicy policy :
        {SecurityPolicy::Authenticated, SecurityPolicy::Encrypted, SecurityPolicy::AuthenticatedEncrypted}) {
        for (Kind kind : {Kind::Glo, Kind::Ded, Kind::General}) {
            QTest::addRow("wrapper-%s-%s", qPrintable(securityPolicyName(policy)), kindName(kind))
                << Transport::Wrapper << policy << kind;
        }
    }
    QTest::newRow("hdlc-auth-enc-glo")
        << Transport::Hdlc << SecurityPolicy::AuthenticatedEncrypted << Kind::Glo;
    QTest::newRow("hdlc-auth-enc-ded")
        << Transport::Hdlc << SecurityPolicy::AuthenticatedEncrypted << Kind::Ded;
}

void tst_ServerSecurity::cipheredServices()
{
    QFETCH(Transport, transport);
    QFETCH(SecurityPolicy, policy);
    QFETCH(Kind, kind);
    Meter meter(secureSettings(policy), transport);
    const quint8 control = security::securityControl(policy);
    const QByteArray dedicated = kind == Kind::Ded ? security::randomBytes(16) : QByteArray();
    InitiateRequest initiate;
    initiate.dedicatedKey = dedicated;
    QVERIFY(accepted(meter.client.associate(cipheredAarq(control, 100, initiate))));

    const QByteArray key = kind == Kind::Ded ? dedicated : kEk;
    const quint8 expectedTag[3][3] = {
        {security::tag::GloGetResponse, security::tag::GloSetResponse, security::tag::GloActionResponse},
        {security::tag::DedGetResponse, security::tag::DedSetResponse, security::tag::DedActionResponse},
        {security::tag::GeneralGloCiphering, security::tag::GeneralGloCiphering,
            security::tag::GeneralGloCiphering},
    };
    quint32 ic = 100;
    quint32 meterIc = meter.model.nextInvocationCounter();
    auto exchange = [&](const QByteArray &plain, int service) -> QByteArray {
        const QByteArray answer = meter.client.request(protectRequest(kind, control, ++ic, plain, key));
        const auto opened = openResponse(answer, key);
        if (!opened || opened->tag != expectedTag[int(kind)][service] || opened->control != control
            || opened->invocationCounter != meterIc++)
            return {};
        return opened->plaintext;
    };

    const auto get = decodeGetResponse(exchange(test::encoded(getRequest(kClockTime, 9)), 0));
    QVERIFY(get);
    QCOMPARE(get->invoke.invokeId, quint8(9));
    QCOMPARE(get->results.front().value.bytes().size(), qsizetype(12));

    SetRequest set;
    set.item.attribute = kClockTime;
    set.value = get->results.front().value;
    const auto setAnswer = decodeSetResponse(exchange(test::encoded(set), 1));
    QVERIFY(setAnswer);
    QCOMPARE(setAnswer->result, DataAccessResult::Success);

    const auto action
        = decodeActionResponse(exchange(test::encoded(actionRequest(kCapture, Value::integer(0))), 2));
    QVERIFY(action);
    QCOMPARE(action->result, DataAccessResult::Success);

    QCOMPARE(meter.model.lastClientInvocationCounter(kClientTitle), std::optional<quint32>(103));
    QCOMPARE(meter.server.counters().decipherFailures, 0u);
}

void tst_ServerSecurity::cipheredBlockTransfer_data()
{
    QTest::addColumn<Transport>("transport");
    QTest::addColumn<Kind>("kind");
    QTest::newRow("wrapper-glo") << Transport::Wrapper << Kind::Glo;
    QTest::newRow("wrapper-ded") << Transport::Wrapper << Kind::Ded;
    QTest::newRow("wrapper-general") << Transport::Wrapper << Kind::General;
    QTest::newRow("hdlc-glo") << Transport::Hdlc << Kind::Glo;
}

void tst_ServerSecurity::cipheredBlockTransfer()
{
    QFETCH(Transport, transport);
    QFETCH(Kind, kind);
    Meter meter(secureSettings(SecurityPolicy::AuthenticatedEncrypted), transport);
    const quint8 control = kAuth | kEnc;
    const QByteArray dedicated = kind == Kind::Ded ? security::randomBytes(16) : QByteArray();
    const QByteArray key = kind == Kind::Ded ? dedicated : kEk;
    constexpr quint16 ClientPdu = 200;
    InitiateRequest initiate;
    initiate.dedicatedKey = dedicated;
    initiate.clientMaxReceivePduSize = ClientPdu;
    QVERIFY(accepted(meter.client.associate(cipheredAarq(control, 1, initiate))));

    quint32 ic = 1;
    QByteArray data;
    GetRequest request = getRequest({7, kProfile, 2});
    quint32 previousMeterIc = 0;
    int blocks = 0;
    for (;;) {
        const QByteArray answer
            = meter.client.request(protectRequest(kind, control, ++ic, test::encoded(request), key));
        // Each block is its own ciphered APDU, within the client's PDU size.
        QVERIFY2(answer.size() <= ClientPdu, qPrintable(QString::number(answer.size())));
        const auto opened = openResponse(answer, key);
        QVERIFY(opened);
        QVERIFY(opened->invocationCounter > previousMeterIc);
        previousMeterIc = opened->invocationCounter;
        const auto block = decodeGetResponse(opened->plaintext);
        QVERIFY(block);
        QCOMPARE(block->kind, GetResponse::Kind::WithDatablock);
        QVERIFY(!block->blockError);
        QCOMPARE(block->blockNumber, quint32(++blocks));
        data.append(block->rawData);
        if (block->lastBlock)
            break;
        QVERIFY(blocks < 100);
        request = GetRequest();
        request.kind = GetRequest::Kind::Next;
        request.invoke.invokeId = 5;
        request.blockNumber = block->blockNumber;
    }
    QVERIFY(blocks > 3);
    QCOMPARE(meter.server.counters().blocksSent, quint64(blocks));
    const auto whole = decodeBlockData(data);
    QVERIFY(whole);
    QCOMPARE(whole->value.items().size(), size_t(50));
}

void tst_ServerSecurity::refusedOnCipheredAssociation_data()
{
    QTest::addColumn<QByteArray>("request");
    QTest::addColumn<int>("stateError");
    QTest::addColumn<int>("serviceError");
    QTest::addColumn<int>("decipherFailures");

    const QByteArray get = test::encoded(getRequest(kClockTime));
    SetRequest set;
    set.item.attribute = kClockTime;
    set.value = Value::octetString(QByteArray(12, '\0'));
    QTest::newRow("plain-get") << get << 1 << 1 << 0;
    QTest::newRow("plain-set") << test::encoded(set) << 1 << 1 << 0;
    QTest::newRow("plain-action") << test::encoded(actionRequest(kCapture, Value::integer(0))) << 1 << 1 << 0;
    QTest::newRow("auth-only-on-auth-enc") << protectRequest(Kind::Glo, kAuth, 2, get) << 1 << 1 << 0;
    QTest::newRow("enc-only-on-auth-enc") << protectRequest(Kind::Glo, kEnc, 2, get) << 1 << 1 << 0;
    // The association carried no dedicated key.
    QTest::newRow("ded-without-dedicated-key")
        << protectRequest(Kind::Ded, kAuth | kEnc, 2, get) << 1 << 5 << 1;
    QTest::newRow("general-from-another-title")
        << protectRequest(Kind::General, kAuth | kEnc, 2, get, kEk, hex("4D4D4D0000000002")) << 1 << 5 << 1;
    // A glo-get-request whose plaintext is a SET: the tags disagree.
    QByteArray mismatched(1, char(security::tag::GloGetRequest));
    const QByteArray setText
        = *security::protect(kAuth | kEnc, kClientTitle, 2, kEk, kAk, test::encoded(set));
    axdr::encodeLength(quint32(setText.size()), mismatched);
    mismatched.append(setText);
    QTest::newRow("glo-get-holding-a-set") << mismatched << 2 << 2 << 0;
    QTest::newRow("glo-initiate-request-as-data")
        << protectRequest(Kind::Glo, kAuth | kEnc, 2, test::encoded(InitiateRequest())) << 2 << 2 << 0;
    QTest::newRow("ciphered-garbage") << hex("C803300000") << 1 << 5 << 1;
}

void tst_ServerSecurity::refusedOnCipheredAssociation()
{
    QFETCH(QByteArray, request);
    QFETCH(int, stateError);
    QFETCH(int, serviceError);
    QFETCH(int, decipherFailures);
    Meter meter(secureSettings(SecurityPolicy::AuthenticatedEncrypted));
    QVERIFY(accepted(meter.client.associate(cipheredAarq(kAuth | kEnc, 1))));

    QVERIFY(isException(meter.client.request(request), quint8(stateError), quint8(serviceError)));
    QCOMPARE(meter.server.counters().decipherFailures, quint64(decipherFailures));
    QVERIFY(meter.server.associated());
    // The association still works for a request protected as agreed.
    const auto opened = openResponse(meter.client.request(
        protectRequest(Kind::Glo, kAuth | kEnc, 3, test::encoded(getRequest(kClockTime)))));
    QVERIFY(opened);
    QCOMPARE(opened->tag, security::tag::GloGetResponse);
}

void tst_ServerSecurity::cipheredRequestWithoutCipheredAssociation_data()
{
    QTest::addColumn<std::optional<Aarq>>("aarq");
    QTest::newRow("no-association") << std::optional<Aarq>();
    QTest::newRow("plain-association") << std::optional<Aarq>(Aarq());
}

void tst_ServerSecurity::cipheredRequestWithoutCipheredAssociation()
{
    QFETCH(std::optional<Aarq>, aarq);
    Meter meter;
    if (aarq)
        QVERIFY(accepted(meter.client.associate(*aarq)));
    const QByteArray request
        = protectRequest(Kind::Glo, kAuth | kEnc, 1, test::encoded(getRequest(kClockTime)));
    QVERIFY(isException(meter.client.request(request), 1, 1));
    QCOMPARE(meter.model.lastClientInvocationCounter(kClientTitle), std::nullopt);
}

void tst_ServerSecurity::tamperedRequest_data()
{
    QTest::addColumn<SecurityPolicy>("policy");
    QTest::addColumn<int>("offsetFromEnd"); // the byte flipped, counted back from the end
    // The request is C8 len SC IC(4) then 13 bytes of GET (ciphered or not) [then 12 of tag].
    QTest::newRow("auth-tag-byte") << SecurityPolicy::Authenticated << 1;
    QTest::newRow("auth-plaintext-byte") << SecurityPolicy::Authenticated << 14;
    QTest::newRow("auth-enc-ciphertext-byte") << SecurityPolicy::AuthenticatedEncrypted << 14;
    QTest::newRow("auth-enc-tag-byte") << SecurityPolicy::AuthenticatedEncrypted << 12;
    QTest::newRow("auth-enc-security-control") << SecurityPolicy::AuthenticatedEncrypted << 30;
    // Encrypted only, nothing verifies: a changed first byte no longer opens as a GET.
    QTest::newRow("enc-first-ciphertext-byte") << SecurityPolicy::Encrypted << 13;
}

void tst_ServerSecurity::tamperedRequest()
{
    QFETCH(SecurityPolicy, policy);
    QFETCH(int, offsetFromEnd);
    Meter meter(secureSettings(policy));
    const quint8 control = security::securityControl(policy);
    QVERIFY(accepted(meter.client.associate(cipheredAarq(control, 1))));

    const QByteArray genuine = protectRequest(Kind::Glo, control, 2, test::encoded(getRequest(kClockTime)));
    QByteArray tampered = genuine;
    QVERIFY(offsetFromEnd <= tampered.size());
    tampered[tampered.size() - offsetFromEnd] = char(tampered[tampered.size() - offsetFromEnd] ^ 0x04);

    QVERIFY(isException(meter.client.request(tampered), 1, 5)); // deciphering-error
    QCOMPARE(meter.server.counters().decipherFailures, 1u);
    // A forgery moves no counter: the genuine APDU with the same IC still goes through.
    QCOMPARE(meter.model.lastClientInvocationCounter(kClientTitle), std::optional<quint32>(1));
    const auto opened = openResponse(meter.client.request(genuine));
    QVERIFY(opened);
    QCOMPARE(opened->tag, security::tag::GloGetResponse);
}

void tst_ServerSecurity::replayedRequest_data()
{
    QTest::addColumn<Kind>("kind");
    QTest::addColumn<int>("secondIc"); // 0: the first request's bytes again
    QTest::newRow("glo-same-bytes") << Kind::Glo << 0;
    QTest::newRow("ded-same-bytes") << Kind::Ded << 0;
    QTest::newRow("general-same-bytes") << Kind::General << 0;
    QTest::newRow("glo-lower-ic") << Kind::Glo << 9;
    QTest::newRow("glo-ic-of-the-aarq") << Kind::Glo << 5;
}

void tst_ServerSecurity::replayedRequest()
{
    QFETCH(Kind, kind);
    QFETCH(int, secondIc);
    Meter meter(secureSettings(SecurityPolicy::AuthenticatedEncrypted));
    const quint8 control = kAuth | kEnc;
    const QByteArray dedicated = kind == Kind::Ded ? security::randomBytes(16) : QByteArray();
    const QByteArray key = kind == Kind::Ded ? dedicated : kEk;
    InitiateRequest initiate;
    initiate.dedicatedKey = dedicated;
    QVERIFY(accepted(meter.client.associate(cipheredAarq(control, 5, initiate))));

    const QByteArray plain = test::encoded(getRequest(kClockTime));
    const QByteArray first = protectRequest(kind, control, 10, plain, key);
    QVERIFY(openResponse(meter.client.request(first), key));
    const quint32 meterIc = meter.model.nextInvocationCounter();

    const QByteArray second
        = secondIc == 0 ? first : protectRequest(kind, control, quint32(secondIc), plain, key);
    const auto exception = exceptionIn(meter.client.request(second));
    QVERIFY(exception);
    QCOMPARE(exception->stateError, quint8(1));
    QCOMPARE(exception->serviceError, quint8(6)); // invocation-counter-error
    QCOMPARE(exception->invocationCounter, 11u); // the lowest the meter would take
    QCOMPARE(meter.server.counters().replaysRejected, 1u);
    QCOMPARE(meter.model.nextInvocationCounter(), meterIc);
    QCOMPARE(meter.model.lastClientInvocationCounter(kClientTitle), std::optional<quint32>(10));
    QVERIFY(openResponse(meter.client.request(protectRequest(kind, control, 11, plain, key)), key));
}

void tst_ServerSecurity::countersSharedAcrossConnections()
{
    // Two connections to one meter: one IC of the meter, one replay window per client title.
    MeterModel model(secureSettings(SecurityPolicy::AuthenticatedEncrypted), fixedNow);
    ServerSession first(model, Transport::Wrapper);
    ServerSession second(model, Transport::Hdlc);
    RawClient a(first, Transport::Wrapper);
    RawClient b(second, Transport::Hdlc);
    const quint8 control = kAuth | kEnc;
    const QByteArray get = test::encoded(getRequest(kClockTime));

    QVERIFY(accepted(a.associate(cipheredAarq(control, 10))));
    const auto answerA = openResponse(a.request(protectRequest(Kind::Glo, control, 11, get)));
    QVERIFY(answerA);

    // What the first connection used cannot open the second.
    const auto replayed = b.associate(cipheredAarq(control, 11));
    QVERIFY(replayed);
    QVERIFY(!accepted(replayed));
    QCOMPARE(replayed->initiateErrorValue, std::optional<quint8>(6));
    QCOMPARE(second.counters().replaysRejected, 1u);

    const auto aare = b.associate(cipheredAarq(control, 12));
    QVERIFY(accepted(aare));
    const auto answerB = openResponse(b.request(protectRequest(Kind::Glo, control, 13, get)));
    QVERIFY(answerB);
    QVERIFY(answerB->invocationCounter > answerA->invocationCounter);

    // Nor can what the second used be replayed on the first.
    QVERIFY(isException(a.request(protectRequest(Kind::Glo, control, 13, get)), 1, 6));
    QCOMPARE(first.counters().replaysRejected, 1u);
    const auto answerA2 = openResponse(a.request(protectRequest(Kind::Glo, control, 14, get)));
    QVERIFY(answerA2);
    QVERIFY(answerA2->invocationCounter > answerB->invocationCounter);
}

void tst_ServerSecurity::hlsOverCipheredAssociation()
{
    Meter meter(secureSettings(SecurityPolicy::AuthenticatedEncrypted));
    meter.server.setHlsChallenge(kStoC);
    const quint8 control = kAuth | kEnc;
    Aarq aarq = cipheredAarq(control, 1);
    aarq.authentication = Authentication::HighGmac;
    aarq.authenticationValue = kCtoS;
    const auto aare = meter.client.associate(aarq);
    QVERIFY(accepted(aare));
    QCOMPARE(aare->respondingAuthenticationValue, kStoC);
    QVERIFY(meter.server.authenticationPending());

    // Pass 3 goes ciphered like everything else: the APDU takes the client's next IC, f(StoC)
    // the one after, so the proof's counter is fresh once the APDU's is accepted.
    const QByteArray get = test::encoded(getRequest(kClockTime));
    QVERIFY(isException(meter.client.request(protectRequest(Kind::Glo, control, 2, get)), 1, 1));
    const auto proof = security::gmacResponse(kClientTitle, 4, kEk, kAk, kStoC);
    QVERIFY(proof);
    const auto opened = openResponse(meter.client.request(protectRequest(
        Kind::Glo, control, 3, test::encoded(actionRequest(kReplyToHls, Value::octetString(*proof))))));
    QVERIFY(opened);
    QCOMPARE(opened->tag, security::tag::GloActionResponse);
    const auto answer = decodeActionResponse(opened->plaintext);
    QVERIFY(answer);
    QCOMPARE(answer->result, DataAccessResult::Success);
    QVERIFY(answer->returnParameters);
    // f(CtoS) verifies under the meter's title.
    QVERIFY(
        security::verifyGmacResponse(kMeterTitle, kEk, kAk, kCtoS, answer->returnParameters->value.bytes()));
    QCOMPARE(meter.server.association()->level, AccessLevel::High);

    const auto read = openResponse(meter.client.request(protectRequest(Kind::Glo, control, 5, get)));
    QVERIFY(read);
    QVERIFY(decodeGetResponse(read->plaintext));
}

void tst_ServerSecurity::staleHlsProofRefused_data()
{
    QTest::addColumn<SecurityPolicy>("policy");
    QTest::addColumn<quint32>("seen"); // the highest IC the meter accepted from this title before
    QTest::addColumn<quint32>("apduIc"); // the glo-action-request's (ciphered policies)
    QTest::addColumn<quint32>("proofIc");
    QTest::newRow("plain-proof-already-seen") << SecurityPolicy::None << 1u << 0u << 1u;
    QTest::newRow("plain-proof-below-seen") << SecurityPolicy::None << 9u << 0u << 5u;
    QTest::newRow("ciphered-proof-below-its-apdu")
        << SecurityPolicy::AuthenticatedEncrypted << 0u << 3u << 2u;
    QTest::newRow("ciphered-proof-equal-to-its-apdu")
        << SecurityPolicy::AuthenticatedEncrypted << 0u << 3u << 3u;
}

void tst_ServerSecurity::staleHlsProofRefused()
{
    QFETCH(SecurityPolicy, policy);
    QFETCH(quint32, seen);
    QFETCH(quint32, apduIc);
    QFETCH(quint32, proofIc);
    const bool ciphered = policy != SecurityPolicy::None;
    const quint8 control = kAuth | kEnc;
    Meter meter(secureSettings(policy));
    meter.server.setHlsChallenge(kStoC);
    if (seen != 0)
        meter.model.acceptClientInvocationCounter(kClientTitle, seen);
    Aarq aarq = ciphered ? cipheredAarq(control, 1) : hlsAarq();
    aarq.authentication = Authentication::HighGmac;
    aarq.authenticationValue = kCtoS;
    QVERIFY(accepted(meter.client.associate(aarq)));
    const quint32 meterIc = meter.model.nextInvocationCounter();

    // A proof that verifies, but with a counter this meter cannot take as new.
    const auto proof = security::gmacResponse(kClientTitle, proofIc, kEk, kAk, kStoC);
    QVERIFY(proof);
    const QByteArray action = test::encoded(actionRequest(kReplyToHls, Value::octetString(*proof)));
    const QByteArray reply
        = meter.client.request(ciphered ? protectRequest(Kind::Glo, control, apduIc, action) : action);
    std::optional<ActionResponse> answer;
    if (ciphered) {
        const auto opened = openResponse(reply);
        QVERIFY(opened);
        answer = *decodeActionResponse(opened->plaintext);
    } else if (const auto decoded = decodeActionResponse(reply)) {
        answer = *decoded;
    }
    QVERIFY(answer);
    QCOMPARE(answer->result, DataAccessResult::OtherReason);
    QVERIFY(!answer->returnParameters);
    QCOMPARE(meter.server.counters().replaysRejected, 1u);
    QCOMPARE(meter.server.counters().authenticationFailures, 0u);
    // No f(CtoS) was computed (a ciphered answer took one counter for its protection only).
    QCOMPARE(meter.model.nextInvocationCounter(), meterIc + (ciphered ? 1 : 0));
    QVERIFY(meter.server.authenticationPending());
    QCOMPARE(meter.server.association()->level, AccessLevel::Public);
}

QTEST_GUILESS_MAIN(tst_ServerSecurity)
#include "tst_serversecurity.moc"
