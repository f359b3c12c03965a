#include "clientharness.h"
#include "clientsession.h"
#include "testsupport.h"
#include "transportrows.h"

#include <QtTest/QtTest>

// RAND_set_rand_method (deprecated in OpenSSL 3, still honoured by RAND_bytes): the only way to
// make randomness fail in-process, for the HLS challenge test.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/rand.h>

using namespace dlms;
using namespace dlms::test;
using namespace Qt::StringLiterals;

Q_DECLARE_METATYPE(dlms::SecurityPolicy)
Q_DECLARE_METATYPE(dlms::Transport)
Q_DECLARE_METATYPE(dlms::Authentication)

namespace {

// Green Book (DLMS UA 1000-2) security examples: keys, system titles, HLS-GMAC challenges.
const QByteArray Ek = hex("000102030405060708090A0B0C0D0E0F");
const QByteArray Ak = hex("D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF");
const QByteArray ClientTitle = hex("4D4D4D0000000001");
const QByteArray ServerTitle = hex("4D4D4D0000BC614E");
const QByteArray CtoS = QByteArrayLiteral("K56iVagY");
const QByteArray StoC = QByteArrayLiteral("P6wRJ21F");
const QByteArray FStoC = hex("10000000011A52FE7DD3E72748973C1E28"); // client title, IC 1
const QByteArray FCtoS = hex("1001234567FE1466AFB3DBCD4F9389E2B7"); // server title, IC 0x01234567

const Obis ClockObis {0, 0, 1, 0, 0, 255};
const Obis CurrentAssociation {0, 0, 40, 0, 0, 255};

enum class Form { Glo, Ded, General };

// A counter that hands out `budget` values, then fails like a store that cannot be written.
class FailingCounter final : public InvocationCounter {
public:
    explicit FailingCounter(int budget) : m_budget(budget) { }
    Result<quint32> next() override
    {
        if (m_budget-- <= 0)
            return makeError(ErrorCode::IoError, u"invocation counter store is read-only"_s);
        return ++m_value;
    }

private:
    int m_budget;
    quint32 m_value = 0;
};

quint32 nextCounter(const ClientSession &client)
{
    const auto memory = std::dynamic_pointer_cast<MemoryInvocationCounter>(client.config().invocationCounter);
    return memory ? memory->peek() : 0;
}

// A RAND method that never has bytes; restores OpenSSL's own when the scope ends.
class NoRandomness {
public:
    NoRandomness() { RAND_set_rand_method(&s_method); }
    ~NoRandomness() { RAND_set_rand_method(RAND_OpenSSL()); }
    NoRandomness(const NoRandomness &) = delete;
    NoRandomness &operator=(const NoRandomness &) = delete;

private:
    static int fail(unsigned char *, int) { return 0; }
    static int status() { return 0; }
    static inline RAND_METHOD s_method {
        nullptr, &NoRandomness::fail, nullptr, nullptr, &NoRandomness::fail, &NoRandomness::status};
};

// Failure texts for QVERIFY2, which evaluates its description even when the check passes.
template<typename T> const char *why(const Result<T> &result)
{
    static QByteArray text;
    text = result ? QByteArray("ok") : result.error().message.toUtf8();
    return text.constData();
}

const char *why(const std::optional<Error> &error)
{
    static QByteArray text;
    text = error ? error->message.toUtf8() : QByteArray("no error");
    return text.constData();
}

ClientConfig secureConfig(Transport transport, SecurityPolicy policy,
    Authentication authentication = Authentication::None, Form form = Form::Glo)
{
    ClientConfig config;
    config.transport = transport;
    config.authentication = authentication;
    config.security.policy = policy;
    config.security.systemTitle = ClientTitle;
    config.security.blockCipherKey = Ek;
    config.security.authenticationKey = Ak;
    config.security.dedicatedKey = form == Form::Ded;
    config.security.generalCiphering = form == Form::General;
    config.hlsChallenge = CtoS;
    config.invocationCounter = std::make_shared<MemoryInvocationCounter>(1);
    return config;
}

// The meter's end of the transport only: the test decides every APDU it answers with.
class Peer {
public:
    explicit Peer(Transport transport)
        : m_transport(transport),
          m_link(hdlc::Link::Role::Server, hdlc::Address::server(1, 0), hdlc::Address::client(16), {})
    {
    }

    // APDUs the client sent; link replies (UA, RR) go to `out`.
    std::vector<QByteArray> receive(QByteArrayView bytes, QByteArray &out)
    {
        std::vector<QByteArray> apdus;
        if (m_transport == Transport::Wrapper) {
            m_wrapperIn.feed(bytes);
            while (auto next = m_wrapperIn.next()) {
                if (*next)
                    apdus.push_back((*next)->apdu);
            }
            return apdus;
        }
        m_hdlcIn.feed(bytes);
        while (auto next = m_hdlcIn.next()) {
            if (!*next)
                continue;
            for (const auto &event : m_link.handleFrame(next->value())) {
                if (event.kind == hdlc::Link::Event::Kind::Apdu)
                    apdus.push_back(event.apdu);
            }
            flush(out);
        }
        return apdus;
    }

    QByteArray send(QByteArrayView apdu)
    {
        QByteArray out;
        if (m_transport == Transport::Wrapper) {
            (void)wrapper::encode(1, 16, apdu, out);
            return out;
        }
        (void)m_link.sendApdu(apdu);
        flush(out);
        return out;
    }

private:
    void flush(QByteArray &out)
    {
        for (const auto &frame : m_link.takeOutgoing())
            (void)hdlc::encode(frame, out);
    }

    Transport m_transport;
    hdlc::Link m_link;
    hdlc::Deframer m_hdlcIn;
    wrapper::Deframer m_wrapperIn;
};

// A client session and the meter's transport, with everything the client reported.
struct Harness : ClientEventLog {
    explicit Harness(ClientConfig config) : client(std::move(config)), peer(client.config().transport) { }

    ClientSession client;
    Peer peer;

    // Moves the client's bytes to the meter (answering link frames) until it is quiet.
    std::vector<QByteArray> toMeter()
    {
        std::vector<QByteArray> apdus;
        for (int round = 0; round < 100; ++round) {
            collect();
            const QByteArray out = client.takeOutgoing();
            if (out.isEmpty())
                break;
            QByteArray link;
            for (QByteArray &apdu : peer.receive(out, link))
                apdus.push_back(std::move(apdu));
            if (!link.isEmpty())
                client.feed(link);
        }
        collect();
        return apdus;
    }

    void toClient(QByteArrayView apdu)
    {
        client.feed(peer.send(apdu));
        collect();
    }

    void collect() { collectFrom(client); }

    // Complete APDUs per direction, by kind, in order.
    std::vector<FrameKind> kinds(Direction direction) const
    {
        std::vector<FrameKind> out;
        for (const FrameEvent &f : frames)
            if (f.direction == direction && f.completesApdu)
                out.push_back(f.kind);
        return out;
    }
};

// The meter's view of a client APDU: the plain APDU and its security header.
struct Opened {
    quint8 tag = 0;
    quint8 control = 0;
    quint32 invocationCounter = 0;
    QByteArray plain;
};

Opened openFromClient(QByteArrayView apdu, const QByteArray &key = Ek)
{
    const auto ciphered = security::decodeCipheredApdu(apdu);
    if (!ciphered)
        qFatal("client APDU is not ciphered: %s", why(ciphered));
    const auto plain = security::unprotect(ClientTitle, key, Ak, ciphered->protectedText);
    if (!plain)
        qFatal("client APDU does not decipher: %s", why(plain));
    return Opened {ciphered->tag, plain->control, plain->invocationCounter, plain->plaintext};
}

QByteArray cipherFromMeter(
    Form form, SecurityPolicy policy, quint32 ic, QByteArrayView plain, const QByteArray &key = Ek)
{
    const quint8 control = security::securityControl(policy);
    const auto out = form == Form::General
        ? security::encodeGeneralCiphered(false, control, ServerTitle, ic, key, Ak, plain)
        : security::encodeServiceCiphered(form == Form::Ded, control, ServerTitle, ic, key, Ak, plain);
    if (!out)
        qFatal("cannot cipher the meter's APDU: %s", why(out));
    return *out;
}

// The AARE a meter sends to a ciphered AARQ, its InitiateResponse protected with `ic`.
QByteArray cipheredAare(SecurityPolicy policy, quint32 ic, const QByteArray &key = Ek,
    Authentication authentication = Authentication::None)
{
    Aare aare;
    aare.ciphered = true;
    aare.respondingApTitle = ServerTitle;
    aare.authentication = authentication;
    if (authentication == Authentication::HighGmac)
        aare.respondingAuthenticationValue = StoC;
    const QByteArray initiate = encoded(InitiateResponse {6, 0x001E1D, 1024, 7});
    const auto sealed = security::encodeServiceCiphered(
        false, security::securityControl(policy), ServerTitle, ic, key, Ak, initiate);
    aare.cipheredInitiate = *sealed;
    return encoded(aare);
}

QByteArray plainHlsAare()
{
    Aare aare;
    aare.respondingApTitle = ServerTitle;
    aare.authentication = Authentication::HighGmac;
    aare.respondingAuthenticationValue = StoC;
    aare.initiate = InitiateResponse {6, 0x001E1D, 1024, 7};
    return encoded(aare);
}

QByteArray hlsResult(quint8 invokeId, DataAccessResult result, std::optional<QByteArray> proof)
{
    ActionResponse response;
    response.invoke.invokeId = invokeId;
    response.result = result;
    if (proof)
        response.returnParameters = DataResult {DataAccessResult::Success, Value::octetString(*proof)};
    return encoded(response);
}

QByteArray clockResponse(quint8 invokeId, quint32 seconds = 7)
{
    GetResponse response;
    response.invoke.invokeId = invokeId;
    response.results.push_back(DataResult {DataAccessResult::Success, Value::doubleLongUnsigned(seconds)});
    return encoded(response);
}

// Error texts must never carry key material, in any spelling a log might show it.
bool mentionsSecret(const QString &text, const std::vector<QByteArray> &secrets)
{
    for (const QByteArray &secret : secrets) {
        if (secret.isEmpty())
            continue;
        if (text.contains(QString::fromLatin1(secret.toHex()), Qt::CaseInsensitive)
            || text.contains(QString::fromLatin1(secret.toHex(' ')), Qt::CaseInsensitive)
            || text.contains(QString::fromLatin1(secret)))
            return true;
    }
    return false;
}

const char *firstError(const Harness &h)
{
    const auto errors = h.errors();
    return why(errors.empty() ? std::optional<Error>() : std::optional<Error>(errors.front()));
}

void checkNoSecrets(const Harness &h, const std::vector<QByteArray> &extra = {})
{
    std::vector<QByteArray> secrets {Ek, Ak};
    secrets.insert(secrets.end(), extra.begin(), extra.end());
    for (const Error &error : h.errors())
        QVERIFY2(!mentionsSecret(error.message, secrets), qPrintable(error.message));
    for (const auto &response : h.responses())
        if (response.error)
            QVERIFY2(!mentionsSecret(response.error->message, secrets), qPrintable(response.error->message));
}

// Associates over a ciphered association: the AARE's InitiateResponse carries server IC 100.
// Returns the dedicated key the client sent (empty without one).
QByteArray associateCiphered(Harness &h, SecurityPolicy policy)
{
    h.client.connect();
    const auto aarqs = h.toMeter();
    if (aarqs.size() != 1)
        qFatal("expected one AARQ");
    const auto aarq = decodeAarq(aarqs.front());
    const Opened initiate = openFromClient(aarq->cipheredInitiate);
    const auto request = decodeInitiateRequest(initiate.plain);
    h.toClient(cipheredAare(policy, 100));
    return request->dedicatedKey;
}

} // namespace

class tst_ClientSecurity : public QObject {
    Q_OBJECT

private slots:
    void greenBookHlsGmacExchange_data();
    void greenBookHlsGmacExchange();
    void hlsGmacFailures_data();
    void hlsGmacFailures();
    void cipheredAssociationAndGet_data();
    void cipheredAssociationAndGet();
    void hlsGmacOverCipheredAssociation();
    void cipheredAareTagWrong();
    void aareRejections_data();
    void aareRejections();
    void replayedResponseIsDiscarded();
    void badResponses_data();
    void badResponses();
    void meterSecurityExceptionsAreNamed_data();
    void meterSecurityExceptionsAreNamed();
    void counterErrorSendsNothing_data();
    void counterErrorSendsNothing();
    void missingKeysFailAtOnce_data();
    void missingKeysFailAtOnce();
    void blockTransferIsCipheredBothWays();
    void staleReplyFailsAssociation_data();
    void staleReplyFailsAssociation();
    void hlsChallengeWithoutRandomness();
    void hlsMechanismNotEchoed_data();
    void hlsMechanismNotEchoed();
};

void tst_ClientSecurity::greenBookHlsGmacExchange_data()
{
    test::addTransportRows();
}

void tst_ClientSecurity::greenBookHlsGmacExchange()
{
    QFETCH(Transport, transport);
    Harness h(secureConfig(transport, SecurityPolicy::None, Authentication::HighGmac));
    h.client.connect();
    auto sent = h.toMeter();
    QCOMPARE(sent.size(), size_t(1));
    const auto aarq = decodeAarq(sent.front());
    QVERIFY2(aarq, why(aarq));
    QCOMPARE(aarq->authentication, Authentication::HighGmac);
    QCOMPARE(aarq->authenticationValue, CtoS);
    QCOMPARE(aarq->callingApTitle, ClientTitle);
    QVERIFY(!aarq->ciphered);

    h.toClient(plainHlsAare());
    QCOMPARE(h.client.state(), ClientSession::State::Associating);
    QVERIFY(!h.has(ClientSession::Event::Type::Associated));
    sent = h.toMeter();
    QCOMPARE(sent.size(), size_t(1));
    const auto action = decodeActionRequest(sent.front());
    QVERIFY2(action, why(action));
    QCOMPARE(action->method.classId, quint16(15));
    QCOMPARE(action->method.instance, CurrentAssociation);
    QCOMPARE(action->method.methodId, qint8(1));
    QVERIFY(action->parameters);
    QCOMPARE(action->parameters->type(), DataType::OctetString);
    QCOMPARE(action->parameters->bytes().toHex().toUpper(), FStoC.toHex().toUpper());

    h.toClient(hlsResult(action->invoke.invokeId, DataAccessResult::Success, FCtoS));
    QCOMPARE(h.client.state(), ClientSession::State::Ready);
    QVERIFY(h.has(ClientSession::Event::Type::Associated));
    QVERIFY(h.errors().empty());
    QVERIFY(h.responses().empty()); // pass 3/4 is not a user request
    QCOMPARE(h.kinds(Direction::Sent), (std::vector<FrameKind> {FrameKind::Aarq, FrameKind::ActionRequest}));
    QCOMPARE(
        h.kinds(Direction::Received), (std::vector<FrameKind> {FrameKind::Aare, FrameKind::ActionResponse}));

    // The association is usable: a GET goes out in clear (policy none) and completes.
    const auto id = h.client.get(AttributeDescriptor {8, ClockObis, 2});
    sent = h.toMeter();
    QCOMPARE(sent.size(), size_t(1));
    const auto get = decodeGetRequest(sent.front());
    QVERIFY(get);
    h.toClient(clockResponse(get->invoke.invokeId));
    QCOMPARE(h.responses().size(), size_t(1));
    QCOMPARE(h.responses().front().id, id);
    QVERIFY(!h.responses().front().error);
}

void tst_ClientSecurity::hlsGmacFailures_data()
{
    QTest::addColumn<QByteArray>("result");
    QTest::addColumn<ErrorCode>("code");
    QTest::addColumn<QString>("message");
    QTest::addColumn<quint32>("next"); // the counter's next value afterwards

    QByteArray badProof = FCtoS;
    badProof[10] = char(badProof[10] ^ 0x01);
    QTest::newRow("meter-refuses-f-stoc")
        << hlsResult(1, DataAccessResult::OtherReason, {}) << ErrorCode::AuthenticationFailed
        << u"HLS-GMAC authentication failed: the meter refused our proof (f(StoC)): wrong AK or EK"_s << 2u;
    QTest::newRow("f-ctos-does-not-verify")
        << hlsResult(1, DataAccessResult::Success, badProof) << ErrorCode::AuthenticationFailed
        << u"HLS-GMAC authentication failed: the meter's proof (f(CtoS)) does not verify: wrong AK/EK, or not the meter we expect"_s
        << 2u;
    QTest::newRow("f-ctos-missing")
        << hlsResult(1, DataAccessResult::Success, {}) << ErrorCode::AuthenticationFailed
        << u"HLS-GMAC authentication failed: the meter's proof (f(CtoS)) does not verify"_s << 2u;
    QTest::newRow("f-ctos-truncated")
        << hlsResult(1, DataAccessResult::Success, FCtoS.left(16)) << ErrorCode::AuthenticationFailed
        << u"HLS-GMAC authentication failed: the meter's proof (f(CtoS)) does not verify"_s << 2u;
    QTest::newRow("exception-instead") << encoded(ExceptionResponse {1, 3}) << ErrorCode::Rejected
                                       << u"exception-response: service-not-allowed / other-reason"_s << 2u;
    // The meter names the lowest counter it accepts: the next association starts there.
    QTest::newRow("counter-error-raises-floor")
        << encoded(ExceptionResponse {1, 6, 500}) << ErrorCode::Replay
        << u"the meter refused our invocation counter as already used"_s << 500u;
    // The exception comes in clear: a claim far beyond what we sent could be forged to spend the
    // key's counter space, so it is reported but does not move the floor.
    QTest::newRow("counter-error-too-far-ignored")
        << encoded(ExceptionResponse {1, 6, 0xFFFFFFF0u}) << ErrorCode::Replay
        << u"the meter refused our invocation counter as already used"_s << 2u;
}

void tst_ClientSecurity::hlsGmacFailures()
{
    QFETCH(QByteArray, result);
    QFETCH(ErrorCode, code);
    QFETCH(QString, message);
    QFETCH(quint32, next);

    Harness h(secureConfig(Transport::Wrapper, SecurityPolicy::None, Authentication::HighGmac));
    const auto queued = h.client.get(AttributeDescriptor {8, ClockObis, 2});
    h.client.connect();
    h.toMeter();
    h.toClient(plainHlsAare());
    QCOMPARE(h.toMeter().size(), size_t(1)); // pass 3 only: the queued GET waits for pass 4
    h.toClient(result);

    QCOMPARE(h.client.state(), ClientSession::State::Failed);
    QVERIFY(!h.has(ClientSession::Event::Type::Associated));
    const auto errors = h.errors();
    QCOMPARE(errors.size(), size_t(1));
    QCOMPARE(errors.front().code, code);
    QVERIFY2(errors.front().message.startsWith(message), qPrintable(errors.front().message));
    QCOMPARE(nextCounter(h.client), next);
    QVERIFY(h.toMeter().empty());
    QVERIFY(h.client.pendingRequests() == 1); // the owner releases; the queued GET fails then
    h.client.release();
    h.collect();
    QCOMPARE(h.responses().size(), size_t(1));
    QCOMPARE(h.responses().front().id, queued);
    QVERIFY(h.responses().front().error);
    checkNoSecrets(h);
}

void tst_ClientSecurity::cipheredAssociationAndGet_data()
{
    QTest::addColumn<Transport>("transport");
    QTest::addColumn<SecurityPolicy>("policy");
    QTest::addColumn<int>("form");
    QTest::addColumn<quint8>("requestTag");

    const struct {
        const char *name;
        SecurityPolicy policy;
    } policies[] = {{"auth", SecurityPolicy::Authenticated}, {"enc", SecurityPolicy::Encrypted},
        {"auth-enc", SecurityPolicy::AuthenticatedEncrypted}};
    for (const auto &p : policies) {
        QTest::addRow("%s-glo-wrapper", p.name)
            << Transport::Wrapper << p.policy << int(Form::Glo) << security::tag::GloGetRequest;
        QTest::addRow("%s-glo-hdlc", p.name)
            << Transport::Hdlc << p.policy << int(Form::Glo) << security::tag::GloGetRequest;
        // A dedicated key needs encryption (it travels in the InitiateRequest): not with auth only.
        if (p.policy == SecurityPolicy::Authenticated)
            continue;
        QTest::addRow("%s-ded-wrapper", p.name)
            << Transport::Wrapper << p.policy << int(Form::Ded) << security::tag::DedGetRequest;
        QTest::addRow("%s-general-ded-hdlc", p.name)
            << Transport::Hdlc << p.policy << int(Form::General) << security::tag::GeneralDedCiphering;
    }
    QTest::newRow("auth-enc-general-glo-wrapper")
        << Transport::Wrapper << SecurityPolicy::AuthenticatedEncrypted << int(Form::General)
        << security::tag::GeneralGloCiphering;
}

void tst_ClientSecurity::cipheredAssociationAndGet()
{
    QFETCH(Transport, transport);
    QFETCH(SecurityPolicy, policy);
    QFETCH(int, form);
    QFETCH(quint8, requestTag);
    // general ciphering with a dedicated key is general-ded-ciphering: the HDLC rows use one.
    const bool generalDed = requestTag == security::tag::GeneralDedCiphering;
    ClientConfig config = secureConfig(transport, policy, Authentication::None, Form(form));
    config.security.dedicatedKey = config.security.dedicatedKey || generalDed;
    const auto counter = std::make_shared<MemoryInvocationCounter>(1);
    config.invocationCounter = counter;
    Harness h(config);
    h.client.connect();
    auto sent = h.toMeter();
    QCOMPARE(sent.size(), size_t(1));

    const auto aarq = decodeAarq(sent.front());
    QVERIFY2(aarq, why(aarq));
    QVERIFY(aarq->ciphered);
    QCOMPARE(aarq->callingApTitle, ClientTitle);
    QCOMPARE(quint8(aarq->cipheredInitiate.front()), security::tag::GloInitiateRequest);
    const Opened initiate = openFromClient(aarq->cipheredInitiate);
    QCOMPARE(initiate.control, security::securityControl(policy));
    QCOMPARE(initiate.invocationCounter, 1u);
    const auto initiateRequest = decodeInitiateRequest(initiate.plain);
    QVERIFY2(initiateRequest, why(initiateRequest));
    const QByteArray dedicatedKey = initiateRequest->dedicatedKey;
    QCOMPARE(dedicatedKey.size(), config.security.dedicatedKey ? qsizetype(16) : qsizetype(0));
    // The dedicated key never leaves in clear: not in the AARQ's bytes outside the ciphertext.
    if (!dedicatedKey.isEmpty() && policy != SecurityPolicy::Authenticated)
        QVERIFY(!sent.front().contains(dedicatedKey));

    h.toClient(cipheredAare(policy, 100));
    QVERIFY2(h.errors().empty(), firstError(h));
    QCOMPARE(h.client.state(), ClientSession::State::Ready);
    QCOMPARE(h.client.negotiatedConformance(), 0x001E1Du);
    QCOMPARE(h.client.serverMaxPduSize(), quint16(1024));

    const auto id = h.client.get(AttributeDescriptor {8, ClockObis, 2});
    sent = h.toMeter();
    QCOMPARE(sent.size(), size_t(1));
    QCOMPARE(quint8(sent.front().front()), requestTag);
    const QByteArray requestKey = dedicatedKey.isEmpty() ? Ek : dedicatedKey;
    const Opened request = openFromClient(sent.front(), requestKey);
    QCOMPARE(request.control, security::securityControl(policy));
    QCOMPARE(request.invocationCounter, 2u);
    QCOMPARE(counter->peek(), 3u);
    const auto get = decodeGetRequest(request.plain);
    QVERIFY2(get, why(get));
    QCOMPARE(get->items.front().attribute.instance, ClockObis);

    QByteArray reply;
    if (generalDed) {
        const auto sealed = security::encodeGeneralCiphered(true, security::securityControl(policy),
            ServerTitle, 101, dedicatedKey, Ak, clockResponse(get->invoke.invokeId, 4242));
        reply = *sealed;
    } else {
        reply
            = cipherFromMeter(Form(form), policy, 101, clockResponse(get->invoke.invokeId, 4242), requestKey);
    }
    h.toClient(reply);
    const auto responses = h.responses();
    QCOMPARE(responses.size(), size_t(1));
    QCOMPARE(responses.front().id, id);
    QVERIFY2(!responses.front().error, why(responses.front().error));
    QCOMPARE(responses.front().results.front().value, Value::doubleLongUnsigned(4242));

    // Counted as what they carry, whatever the ciphering tag.
    QCOMPARE(h.kinds(Direction::Sent), (std::vector<FrameKind> {FrameKind::Aarq, FrameKind::GetRequest}));
    QCOMPARE(
        h.kinds(Direction::Received), (std::vector<FrameKind> {FrameKind::Aare, FrameKind::GetResponse}));
    checkNoSecrets(h, {dedicatedKey});
}

void tst_ClientSecurity::hlsGmacOverCipheredAssociation()
{
    Harness h(
        secureConfig(Transport::Wrapper, SecurityPolicy::AuthenticatedEncrypted, Authentication::HighGmac));
    h.client.connect();
    auto sent = h.toMeter();
    QCOMPARE(sent.size(), size_t(1));
    const auto aarq = decodeAarq(sent.front());
    QVERIFY(aarq->ciphered);
    QCOMPARE(aarq->authenticationValue, CtoS);

    h.toClient(cipheredAare(SecurityPolicy::AuthenticatedEncrypted, 100, Ek, Authentication::HighGmac));
    QCOMPARE(h.client.state(), ClientSession::State::Associating);
    sent = h.toMeter();
    QCOMPARE(sent.size(), size_t(1));
    QCOMPARE(quint8(sent.front().front()), security::tag::GloActionRequest);
    const Opened pass3 = openFromClient(sent.front());
    QCOMPARE(pass3.control, quint8(0x30));
    // 1 the AARQ, 2 the APDU, 3 f(StoC): the proof is fresh for a meter that accepted the APDU.
    QCOMPARE(pass3.invocationCounter, 2u);
    const auto action = decodeActionRequest(pass3.plain);
    QVERIFY(action);
    const auto proof = security::verifyGmacResponse(ClientTitle, Ek, Ak, StoC, action->parameters->bytes());
    QVERIFY2(proof, why(proof));
    QCOMPARE(*proof, 3u);

    const auto fCtoS = security::gmacResponse(ServerTitle, 101, Ek, Ak, CtoS);
    h.toClient(cipherFromMeter(Form::Glo, SecurityPolicy::AuthenticatedEncrypted, 102,
        hlsResult(action->invoke.invokeId, DataAccessResult::Success, *fCtoS)));
    QVERIFY2(h.errors().empty(), firstError(h));
    QCOMPARE(h.client.state(), ClientSession::State::Ready);
    QVERIFY(h.has(ClientSession::Event::Type::Associated));
    QCOMPARE(
        h.kinds(Direction::Received), (std::vector<FrameKind> {FrameKind::Aare, FrameKind::ActionResponse}));

    // A pass 4 in clear on a ciphered association does not pass.
    Harness clear(
        secureConfig(Transport::Wrapper, SecurityPolicy::AuthenticatedEncrypted, Authentication::HighGmac));
    clear.client.connect();
    clear.toMeter();
    clear.toClient(cipheredAare(SecurityPolicy::AuthenticatedEncrypted, 100, Ek, Authentication::HighGmac));
    const auto clearPass3 = openFromClient(clear.toMeter().front());
    const auto clearAction = decodeActionRequest(clearPass3.plain);
    clear.toClient(hlsResult(clearAction->invoke.invokeId, DataAccessResult::Success, *fCtoS));
    QCOMPARE(clear.client.state(), ClientSession::State::Failed);
    QCOMPARE(clear.errors().front().code, ErrorCode::UnexpectedFrame);
    QVERIFY(clear.errors().front().message.contains(u"in clear"_s));
}

void tst_ClientSecurity::cipheredAareTagWrong()
{
    Harness h(secureConfig(Transport::Wrapper, SecurityPolicy::AuthenticatedEncrypted));
    h.client.connect();
    h.toMeter();
    QByteArray wrongAk = Ak;
    wrongAk[0] = char(wrongAk[0] ^ 0x80);
    Aare aare;
    aare.ciphered = true;
    aare.respondingApTitle = ServerTitle;
    aare.cipheredInitiate = *security::encodeServiceCiphered(
        false, 0x30, ServerTitle, 100, Ek, wrongAk, encoded(InitiateResponse {6, 0x001E1D, 1024, 7}));
    h.toClient(encoded(aare));

    QCOMPARE(h.client.state(), ClientSession::State::Failed);
    QVERIFY(!h.has(ClientSession::Event::Type::Associated));
    const auto errors = h.errors();
    QCOMPARE(errors.size(), size_t(1));
    QCOMPARE(errors.front().code, ErrorCode::DecryptionFailed);
    QCOMPARE(errors.front().message,
        u"cannot decipher the meter's AARE (glo-initiate-response): the authentication tag does not verify — "
        u"wrong EK/AK or system title"_s);
    checkNoSecrets(h, {wrongAk});
}

void tst_ClientSecurity::aareRejections_data()
{
    QTest::addColumn<QByteArray>("aare");
    QTest::addColumn<ErrorCode>("code");
    QTest::addColumn<QString>("message");
    QTest::addColumn<QString>("described");

    Aare deciphering;
    deciphering.ciphered = true;
    deciphering.result = AssociationResult::RejectedPermanent;
    deciphering.initiateErrorType = 0; // application-reference
    deciphering.initiateErrorValue = 6; // deciphering-error
    QTest::newRow("deciphering-error") << encoded(deciphering) << ErrorCode::DecryptionFailed
                                       << u"the meter could not decipher our AARQ: wrong EK or AK, or an "
                                          u"invocation counter it has already seen"_s
                                       << u"application-reference: deciphering-error"_s;

    Aare authFailure;
    authFailure.ciphered = true;
    authFailure.result = AssociationResult::RejectedPermanent;
    authFailure.diagnostic = quint8(AcseUserDiagnostic::AuthenticationFailure);
    QTest::newRow("authentication-failure")
        << encoded(authFailure) << ErrorCode::Rejected
        << u"association rejected: rejected-permanent: authentication-failure"_s
        << u"authentication-failure"_s;

    Aare plainInitiate;
    plainInitiate.ciphered = true;
    plainInitiate.respondingApTitle = ServerTitle;
    plainInitiate.initiate = InitiateResponse {6, 0x001E1D, 1024, 7};
    QTest::newRow("plain-initiate-response")
        << encoded(plainInitiate) << ErrorCode::UnexpectedFrame
        << u"the meter answered our ciphered AARQ with a plain InitiateResponse"_s << u"accepted"_s;

    Aare noTitle;
    noTitle.ciphered = true;
    noTitle.cipheredInitiate = *security::encodeServiceCiphered(
        false, 0x30, ServerTitle, 100, Ek, Ak, encoded(InitiateResponse {6, 0x001E1D, 1024, 7}));
    QTest::newRow("no-server-system-title")
        << encoded(noTitle) << ErrorCode::Malformed
        << u"the meter's AARE carries no system title (responding-AP-title), which ciphering needs"_s
        << u"accepted"_s;

    Aare otherTitle = noTitle;
    otherTitle.respondingApTitle = hex("4D4D4D0000000099");
    QTest::newRow("other-server-system-title")
        << encoded(otherTitle) << ErrorCode::DecryptionFailed
        << u"cannot decipher the meter's AARE (glo-initiate-response): the authentication tag does not "
           u"verify — "
           u"wrong EK/AK or system title"_s
        << u"accepted"_s;

    Aare weaker = noTitle;
    weaker.respondingApTitle = ServerTitle;
    weaker.cipheredInitiate = *security::encodeServiceCiphered(
        false, 0x10, ServerTitle, 100, Ek, Ak, encoded(InitiateResponse {6, 0x001E1D, 1024, 7}));
    QTest::newRow("weaker-protection")
        << encoded(weaker) << ErrorCode::UnexpectedFrame
        << u"the meter's AARE (glo-initiate-response) is protected with security control 0x10, less than the "
           u"policy auth-enc requires"_s
        << u"accepted"_s;
}

void tst_ClientSecurity::aareRejections()
{
    QFETCH(QByteArray, aare);
    QFETCH(ErrorCode, code);
    QFETCH(QString, message);
    QFETCH(QString, described);

    Harness h(secureConfig(Transport::Wrapper, SecurityPolicy::AuthenticatedEncrypted));
    h.client.connect();
    h.toMeter();
    h.toClient(aare);
    QCOMPARE(h.client.state(), ClientSession::State::Failed);
    QVERIFY(!h.has(ClientSession::Event::Type::Associated));
    const auto errorEvent = std::find_if(h.events.begin(), h.events.end(),
        [](const auto &e) { return e.type == ClientSession::Event::Type::Error; });
    QVERIFY(errorEvent != h.events.end());
    QCOMPARE(errorEvent->error->code, code);
    QCOMPARE(errorEvent->error->message, message);
    QVERIFY(errorEvent->aare);
    QVERIFY2(errorEvent->aare->describe().contains(described), qPrintable(errorEvent->aare->describe()));
    checkNoSecrets(h);
}

void tst_ClientSecurity::replayedResponseIsDiscarded()
{
    Harness h(secureConfig(Transport::Wrapper, SecurityPolicy::AuthenticatedEncrypted));
    associateCiphered(h, SecurityPolicy::AuthenticatedEncrypted);
    QCOMPARE(h.client.state(), ClientSession::State::Ready);

    h.client.get(AttributeDescriptor {8, ClockObis, 2});
    auto get = decodeGetRequest(openFromClient(h.toMeter().front()).plain);
    const QByteArray first = cipherFromMeter(
        Form::Glo, SecurityPolicy::AuthenticatedEncrypted, 101, clockResponse(get->invoke.invokeId, 1));
    h.toClient(first);
    QCOMPARE(h.responses().size(), size_t(1));

    const auto second = h.client.get(AttributeDescriptor {8, ClockObis, 2});
    get = decodeGetRequest(openFromClient(h.toMeter().front()).plain);
    h.toClient(first); // the old response again, byte for byte
    QCOMPARE(h.responses().size(), size_t(1));
    QCOMPARE(h.client.state(), ClientSession::State::Busy);
    QCOMPARE(h.client.pendingRequests(), qsizetype(1));
    QCOMPARE(h.errors().size(), size_t(1));
    QCOMPARE(h.errors().back().code, ErrorCode::Replay);
    QCOMPARE(h.errors().back().message, u"replayed APDU: invocation counter 101 not above 101; discarded"_s);

    // Below the AARE's counter is a replay too, even with the right invoke id.
    h.toClient(cipherFromMeter(
        Form::Glo, SecurityPolicy::AuthenticatedEncrypted, 50, clockResponse(get->invoke.invokeId, 2)));
    QCOMPARE(h.errors().size(), size_t(2));
    QCOMPARE(h.errors().back().message, u"replayed APDU: invocation counter 50 not above 101; discarded"_s);

    // A forged APDU with a high counter does not move the guard: the genuine one still passes.
    QByteArray forged = cipherFromMeter(
        Form::Glo, SecurityPolicy::AuthenticatedEncrypted, 5000, clockResponse(get->invoke.invokeId, 3));
    forged[forged.size() - 1] = char(forged[forged.size() - 1] ^ 0x01);
    h.toClient(forged);
    const auto afterForged = h.responses();
    QCOMPARE(afterForged.size(), size_t(2));
    QCOMPARE(afterForged.back().id, second);
    QCOMPARE(afterForged.back().error->code, ErrorCode::DecryptionFailed);

    const auto third = h.client.get(AttributeDescriptor {8, ClockObis, 2});
    get = decodeGetRequest(openFromClient(h.toMeter().front()).plain);
    h.toClient(cipherFromMeter(
        Form::Glo, SecurityPolicy::AuthenticatedEncrypted, 102, clockResponse(get->invoke.invokeId, 4)));
    QCOMPARE(h.responses().size(), size_t(3));
    QCOMPARE(h.responses().back().id, third);
    QVERIFY(!h.responses().back().error);
    QCOMPARE(h.responses().back().results.front().value, Value::doubleLongUnsigned(4));
    QCOMPARE(h.client.state(), ClientSession::State::Ready);
}

void tst_ClientSecurity::badResponses_data()
{
    QTest::addColumn<SecurityPolicy>("policy");
    QTest::addColumn<int>("response"); // what the meter answers with
    QTest::addColumn<ErrorCode>("code");
    QTest::addColumn<QString>("message");

    enum { Clear, WrongAk, WrongEkEncOnly, ClearException, Truncated };
    QTest::newRow("clear-on-ciphered")
        << SecurityPolicy::AuthenticatedEncrypted << int(Clear) << ErrorCode::UnexpectedFrame
        << u"the meter answered in clear on a ciphered association (get-response)"_s;
    QTest::newRow("tag-does-not-verify")
        << SecurityPolicy::AuthenticatedEncrypted << int(WrongAk) << ErrorCode::DecryptionFailed
        << u"cannot decipher the meter's glo-get-response: the authentication tag does not verify — wrong "
           u"EK/AK or "
           u"system title"_s;
    QTest::newRow("enc-only-wrong-ek")
        << SecurityPolicy::Encrypted << int(WrongEkEncOnly) << ErrorCode::DecryptionFailed
        << u"cannot decipher the meter's glo-get-response: the content is not the APDU it announces — wrong "
           u"EK or "
           u"system title"_s;
    QTest::newRow("exception-in-clear-accepted")
        << SecurityPolicy::AuthenticatedEncrypted << int(ClearException) << ErrorCode::Rejected
        << u"exception-response: service-not-allowed / other-reason"_s;
    QTest::newRow("ciphered-header-truncated") << SecurityPolicy::Authenticated << int(Truncated)
                                               << ErrorCode::Malformed << u"the meter's glo-get-response: "_s;
}

void tst_ClientSecurity::badResponses()
{
    QFETCH(SecurityPolicy, policy);
    QFETCH(int, response);
    QFETCH(ErrorCode, code);
    QFETCH(QString, message);

    Harness h(secureConfig(Transport::Wrapper, policy));
    associateCiphered(h, policy);
    QCOMPARE(h.client.state(), ClientSession::State::Ready);
    const auto id = h.client.get(AttributeDescriptor {8, ClockObis, 2});
    const auto get = decodeGetRequest(openFromClient(h.toMeter().front()).plain);
    const QByteArray plain = clockResponse(get->invoke.invokeId);
    QByteArray wrong = Ek;
    wrong[15] = char(wrong[15] ^ 0x01);
    switch (response) {
    case 0:
        h.toClient(plain);
        break;
    case 1: {
        const auto sealed = security::encodeServiceCiphered(
            false, 0x30, ServerTitle, 101, Ek, QByteArray(16, '\x11'), plain);
        h.toClient(*sealed);
        break;
    }
    case 2:
        h.toClient(cipherFromMeter(Form::Glo, policy, 101, plain, wrong));
        break;
    case 3:
        h.toClient(encoded(ExceptionResponse {1, 3}));
        break;
    case 4:
        h.toClient(hex("CC 03 10 0000"));
        break;
    }
    const auto responses = h.responses();
    QCOMPARE(responses.size(), size_t(1));
    QCOMPARE(responses.front().id, id);
    QVERIFY(responses.front().error);
    QCOMPARE(responses.front().error->code, code);
    QVERIFY2(responses.front().error->message.startsWith(message), why(responses.front().error));
    QCOMPARE(h.client.state(), ClientSession::State::Ready); // one failed request, not the association
    checkNoSecrets(h, {wrong});
}

void tst_ClientSecurity::meterSecurityExceptionsAreNamed_data()
{
    QTest::addColumn<QByteArray>("exception");
    QTest::addColumn<ErrorCode>("code");
    QTest::addColumn<QString>("message");
    QTest::addColumn<quint32>("next"); // the counter's next value afterwards: 1 AARQ, 2 GET
    QTest::newRow("deciphering-error") << encoded(ExceptionResponse {1, 5}) << ErrorCode::DecryptionFailed
                                       << u"the meter could not decipher our request"_s << 3u;
    QTest::newRow("invocation-counter-error") << encoded(ExceptionResponse {1, 6, 77}) << ErrorCode::Replay
                                              << u"the meter refused our invocation counter as already used "
                                                 u"(exception-response: service-not-allowed / "
                                                 u"invocation-counter-error (expected counter 77))"_s
                                              << 77u;
    QTest::newRow("invocation-counter-error-below-ours")
        << encoded(ExceptionResponse {1, 6, 2}) << ErrorCode::Replay
        << u"the meter refused our invocation counter as already used"_s << 3u;
}

void tst_ClientSecurity::meterSecurityExceptionsAreNamed()
{
    QFETCH(QByteArray, exception);
    QFETCH(ErrorCode, code);
    QFETCH(QString, message);
    QFETCH(quint32, next);

    Harness h(secureConfig(Transport::Wrapper, SecurityPolicy::AuthenticatedEncrypted));
    associateCiphered(h, SecurityPolicy::AuthenticatedEncrypted);
    h.client.get(AttributeDescriptor {8, ClockObis, 2});
    h.toMeter();
    h.toClient(exception);
    QCOMPARE(h.responses().size(), size_t(1));
    QCOMPARE(h.responses().front().error->code, code);
    QVERIFY2(h.responses().front().error->message.startsWith(message), why(h.responses().front().error));
    QCOMPARE(nextCounter(h.client), next);
}

void tst_ClientSecurity::counterErrorSendsNothing_data()
{
    QTest::addColumn<SecurityPolicy>("policy");
    QTest::addColumn<Authentication>("authentication");
    QTest::addColumn<int>("budget");
    QTest::newRow("at-aarq") << SecurityPolicy::AuthenticatedEncrypted << Authentication::None << 0;
    QTest::newRow("at-hls-f-stoc") << SecurityPolicy::None << Authentication::HighGmac << 0;
    QTest::newRow("at-hls-action") << SecurityPolicy::Authenticated << Authentication::HighGmac << 2;
    QTest::newRow("at-request") << SecurityPolicy::Encrypted << Authentication::None << 1;
}

void tst_ClientSecurity::counterErrorSendsNothing()
{
    QFETCH(SecurityPolicy, policy);
    QFETCH(Authentication, authentication);
    QFETCH(int, budget);

    ClientConfig config = secureConfig(Transport::Wrapper, policy, authentication);
    config.invocationCounter = std::make_shared<FailingCounter>(budget);
    Harness h(config);
    h.client.connect();
    std::vector<QByteArray> sent = h.toMeter();
    if (budget == 0 && policy != SecurityPolicy::None) {
        QVERIFY(sent.empty());
    } else {
        QCOMPARE(sent.size(), size_t(1));
        h.toClient(
            policy == SecurityPolicy::None ? plainHlsAare() : cipheredAare(policy, 100, Ek, authentication));
        sent = h.toMeter();
        if (policy == SecurityPolicy::Encrypted) {
            QCOMPARE(h.client.state(), ClientSession::State::Ready);
            h.client.get(AttributeDescriptor {8, ClockObis, 2});
            sent = h.toMeter();
        }
        QVERIFY(sent.empty());
    }
    bool reported = false;
    for (const Error &error : h.errors())
        reported = reported || (error.code == ErrorCode::IoError && error.message.contains(u"read-only"_s));
    for (const auto &response : h.responses())
        reported = reported || (response.error && response.error->code == ErrorCode::IoError);
    QVERIFY(reported);
    QVERIFY(!h.has(ClientSession::Event::Type::Associated) || policy == SecurityPolicy::Encrypted);
    if (policy != SecurityPolicy::Encrypted)
        QCOMPARE(h.client.state(), ClientSession::State::Failed);
}

void tst_ClientSecurity::missingKeysFailAtOnce_data()
{
    QTest::addColumn<SecurityPolicy>("policy");
    QTest::addColumn<Authentication>("authentication");
    QTest::addColumn<QByteArray>("title");
    QTest::addColumn<QByteArray>("ek");
    QTest::addColumn<QByteArray>("ak");
    QTest::addColumn<bool>("dedicated");
    QTest::addColumn<QString>("message");

    const auto policy = SecurityPolicy::AuthenticatedEncrypted;
    QTest::newRow("hls-no-title")
        << SecurityPolicy::None << Authentication::HighGmac << QByteArray() << Ek << Ak << false
        << u"cannot associate: HLS-GMAC needs our system title (8 bytes); none is configured"_s;
    QTest::newRow("hls-no-ek")
        << SecurityPolicy::None << Authentication::HighGmac << ClientTitle << QByteArray() << Ak << false
        << u"cannot associate: HLS-GMAC needs the block cipher key (EK, 16 bytes); none is "
           u"configured"_s;
    QTest::newRow("policy-short-ek")
        << policy << Authentication::None << ClientTitle << Ek.left(15) << Ak << false
        << u"cannot associate: security policy auth-enc needs the block cipher key (EK, 16 bytes); got 15 bytes"_s;
    QTest::newRow("policy-long-ak")
        << SecurityPolicy::Authenticated << Authentication::None << ClientTitle << Ek << (Ak + Ak.left(1))
        << false
        << u"cannot associate: security policy auth needs the authentication key (AK, 16 bytes); got 17 bytes"_s;
    QTest::newRow("policy-short-title")
        << SecurityPolicy::Encrypted << Authentication::None << ClientTitle.left(7) << Ek << Ak << false
        << u"cannot associate: security policy enc needs our system title (8 bytes); got 7 bytes"_s;
    // Encryption alone needs no AK; HLS-GMAC on top of it does.
    QTest::newRow("enc-hls-no-ak")
        << SecurityPolicy::Encrypted << Authentication::HighGmac << ClientTitle << Ek << QByteArray() << false
        << u"cannot associate: HLS-GMAC needs the authentication key (AK, 16 bytes); none is configured"_s;
    QTest::newRow("dedicated-without-policy")
        << SecurityPolicy::None << Authentication::None << ClientTitle << Ek << Ak << true
        << u"cannot associate: a dedicated key or general ciphering needs a security policy (auth, enc or auth-enc)"_s;
    QTest::newRow("dedicated-with-auth-only")
        << SecurityPolicy::Authenticated << Authentication::None << ClientTitle << Ek << Ak << true
        << u"cannot associate: a dedicated key needs an encrypting policy (enc or auth-enc); with auth it "
           u"would be sent in clear"_s;
}

void tst_ClientSecurity::missingKeysFailAtOnce()
{
    QFETCH(SecurityPolicy, policy);
    QFETCH(Authentication, authentication);
    QFETCH(QByteArray, title);
    QFETCH(QByteArray, ek);
    QFETCH(QByteArray, ak);
    QFETCH(bool, dedicated);
    QFETCH(QString, message);

    for (const Transport transport : {Transport::Wrapper, Transport::Hdlc}) {
        ClientConfig config = secureConfig(transport, policy, authentication);
        config.security.systemTitle = title;
        config.security.blockCipherKey = ek;
        config.security.authenticationKey = ak;
        config.security.dedicatedKey = dedicated;
        Harness h(config);
        h.client.connect();
        QVERIFY(!h.client.hasOutgoing()); // not even an SNRM
        h.collect();
        QCOMPARE(h.client.state(), ClientSession::State::Failed);
        const auto errors = h.errors();
        QCOMPARE(errors.size(), size_t(1));
        QCOMPARE(errors.front().code, ErrorCode::InvalidArgument);
        QCOMPARE(errors.front().message, message);
        checkNoSecrets(h, {ek, ak});
    }
}

void tst_ClientSecurity::blockTransferIsCipheredBothWays()
{
    // A GET answered in two datablocks: the GET-next goes out ciphered with the next counter.
    Harness h(secureConfig(
        Transport::Hdlc, SecurityPolicy::AuthenticatedEncrypted, Authentication::None, Form::Ded));
    const QByteArray dedicatedKey = associateCiphered(h, SecurityPolicy::AuthenticatedEncrypted);
    QCOMPARE(dedicatedKey.size(), qsizetype(16));
    const auto id = h.client.get(AttributeDescriptor {7, Obis {1, 0, 99, 1, 0, 255}, 2});
    auto first = openFromClient(h.toMeter().front(), dedicatedKey);
    QCOMPARE(first.invocationCounter, 2u);
    const auto get = decodeGetRequest(first.plain);

    QByteArray data;
    axdr::encode(Value::octetString(QByteArray(300, 'x')), data);
    GetResponse block;
    block.kind = GetResponse::Kind::WithDatablock;
    block.invoke = get->invoke;
    block.blockNumber = 1;
    block.rawData = data.left(150);
    h.toClient(cipherFromMeter(
        Form::Ded, SecurityPolicy::AuthenticatedEncrypted, 101, encoded(block), dedicatedKey));

    const auto nextSent = h.toMeter();
    QCOMPARE(nextSent.size(), size_t(1));
    QCOMPARE(quint8(nextSent.front().front()), security::tag::DedGetRequest);
    const auto next = openFromClient(nextSent.front(), dedicatedKey);
    QCOMPARE(next.invocationCounter, 3u);
    const auto nextRequest = decodeGetRequest(next.plain);
    QCOMPARE(nextRequest->kind, GetRequest::Kind::Next);
    QCOMPARE(nextRequest->blockNumber, 1u);

    block.blockNumber = 2;
    block.lastBlock = true;
    block.rawData = data.mid(150);
    h.toClient(cipherFromMeter(
        Form::Ded, SecurityPolicy::AuthenticatedEncrypted, 102, encoded(block), dedicatedKey));
    QVERIFY(h.toMeter().empty()); // RRs only: the client asks for the rest of the segmented block
    const auto responses = h.responses();
    QCOMPARE(responses.size(), size_t(1));
    QCOMPARE(responses.front().id, id);
    QVERIFY2(!responses.front().error, why(responses.front().error));
    QCOMPARE(responses.front().blocks, 2);
    QCOMPARE(responses.front().results.front().value, Value::octetString(QByteArray(300, 'x')));
    QCOMPARE(h.kinds(Direction::Sent),
        (std::vector<FrameKind> {FrameKind::Aarq, FrameKind::GetRequest, FrameKind::GetRequest}));
    QCOMPARE(h.kinds(Direction::Received),
        (std::vector<FrameKind> {FrameKind::Aare, FrameKind::GetResponse, FrameKind::GetResponse}));
    checkNoSecrets(h, {dedicatedKey});
}

void tst_ClientSecurity::staleReplyFailsAssociation_data()
{
    QTest::addColumn<Authentication>("authentication");
    QTest::newRow("replayed-aare") << Authentication::None;
    QTest::newRow("replayed-hls-pass-4") << Authentication::HighGmac;
}

void tst_ClientSecurity::staleReplyFailsAssociation()
{
    // A first association sees the meter's counters up to 102; the second one gets an old
    // answer again. That is no answer from the meter: the association fails at once (Replay),
    // instead of waiting for the owner's timeout.
    QFETCH(Authentication, authentication);
    const bool hls = authentication == Authentication::HighGmac;
    const auto policy = SecurityPolicy::AuthenticatedEncrypted;
    Harness h(secureConfig(Transport::Wrapper, policy, authentication));

    h.client.connect();
    h.toMeter();
    const QByteArray firstAare = cipheredAare(policy, hls ? 100 : 102, Ek, authentication);
    h.toClient(firstAare);
    QByteArray firstPass4;
    if (hls) {
        const auto action = decodeActionRequest(openFromClient(h.toMeter().front()).plain);
        QVERIFY(action);
        const auto fCtoS = security::gmacResponse(ServerTitle, 101, Ek, Ak, CtoS);
        firstPass4 = cipherFromMeter(
            Form::Glo, policy, 102, hlsResult(action->invoke.invokeId, DataAccessResult::Success, *fCtoS));
        h.toClient(firstPass4);
    }
    QCOMPARE(h.client.state(), ClientSession::State::Ready);
    h.client.release();
    h.toMeter();
    h.toClient(encoded(Rlre {}));
    QCOMPARE(h.client.state(), ClientSession::State::Idle);
    QVERIFY2(h.errors().empty(), firstError(h));
    h.events.clear();

    h.client.connect();
    h.toMeter();
    if (hls) {
        h.toClient(cipheredAare(policy, 103, Ek, authentication));
        QCOMPARE(h.toMeter().size(), size_t(1)); // pass 3
        h.toClient(firstPass4);
    } else {
        h.toClient(firstAare);
    }
    QCOMPARE(h.client.state(), ClientSession::State::Failed);
    QVERIFY(!h.has(ClientSession::Event::Type::Associated));
    const auto errors = h.errors();
    QCOMPARE(errors.size(), size_t(1));
    QCOMPARE(errors.front().code, ErrorCode::Replay);
    QCOMPARE(errors.front().message,
        hls ? u"replayed APDU: invocation counter 102 not above 103; discarded"_s
            : u"replayed APDU: invocation counter 102 not above 102; discarded"_s);
    QVERIFY(h.toMeter().empty());
}

void tst_ClientSecurity::hlsChallengeWithoutRandomness()
{
    ClientConfig config = secureConfig(Transport::Wrapper, SecurityPolicy::None, Authentication::HighGmac);
    config.hlsChallenge.clear(); // the session draws CtoS itself
    Harness random(config);
    {
        const NoRandomness noRandomness;
        random.client.connect();
    }
    QVERIFY(!random.client.hasOutgoing());
    random.collect();
    QCOMPARE(random.client.state(), ClientSession::State::Failed);
    const auto errors = random.errors();
    QCOMPARE(errors.size(), size_t(1));
    QCOMPARE(errors.front().code, ErrorCode::InvalidArgument);
    QCOMPARE(errors.front().message, u"cannot associate: no random bytes available for the HLS challenge"_s);

    // With OpenSSL's randomness back, the same configuration draws a challenge and sends the AARQ.
    Harness again(config);
    again.client.connect();
    const auto sent = again.toMeter();
    QCOMPARE(sent.size(), size_t(1));
    const auto aarq = decodeAarq(sent.front());
    QVERIFY(aarq);
    QCOMPARE(aarq->authenticationValue.size(), qsizetype(16));
}

void tst_ClientSecurity::hlsMechanismNotEchoed_data()
{
    QTest::addColumn<SecurityPolicy>("policy");
    QTest::addColumn<Authentication>("echoed");
    QTest::addColumn<QString>("message");
    QTest::newRow("plain-no-mechanism") << SecurityPolicy::None << Authentication::None
                                        << u"the meter did not accept HLS-GMAC (AARE mechanism: none)"_s;
    QTest::newRow("plain-lls") << SecurityPolicy::None << Authentication::Low
                               << u"the meter did not accept HLS-GMAC (AARE mechanism: low)"_s;
    QTest::newRow("ciphered-hls-md5") << SecurityPolicy::AuthenticatedEncrypted << Authentication::HighMd5
                                      << u"the meter did not accept HLS-GMAC (AARE mechanism: high-md5)"_s;
}

void tst_ClientSecurity::hlsMechanismNotEchoed()
{
    QFETCH(SecurityPolicy, policy);
    QFETCH(Authentication, echoed);
    QFETCH(QString, message);
    Harness h(secureConfig(Transport::Wrapper, policy, Authentication::HighGmac));
    h.client.connect();
    QCOMPARE(h.toMeter().size(), size_t(1));
    if (policy == SecurityPolicy::None) {
        Aare aare = *decodeAare(plainHlsAare());
        aare.authentication = echoed;
        h.toClient(encoded(aare));
    } else {
        h.toClient(cipheredAare(policy, 100, Ek, echoed));
    }
    QCOMPARE(h.client.state(), ClientSession::State::Failed);
    QVERIFY(!h.has(ClientSession::Event::Type::Associated));
    QVERIFY(h.toMeter().empty()); // no pass 3
    const auto errors = h.errors();
    QCOMPARE(errors.size(), size_t(1));
    QCOMPARE(errors.front().code, ErrorCode::AuthenticationFailed);
    QCOMPARE(errors.front().message, message);
}

QTEST_GUILESS_MAIN(tst_ClientSecurity)
#include "tst_clientsecurity.moc"
