#include "clientsession.h"

#include <QtCore/QLoggingCategory>

#include <algorithm>

using namespace Qt::StringLiterals;

namespace dlms {

QString transportName(Transport transport)
{
    return transport == Transport::Hdlc ? QStringLiteral("hdlc") : QStringLiteral("wrapper");
}

std::optional<Transport> transportFromName(QStringView name)
{
    if (name == u"wrapper")
        return Transport::Wrapper;
    if (name == u"hdlc")
        return Transport::Hdlc;
    return std::nullopt;
}

namespace {

// HLS pass 3 goes to reply_to_HLS_authentication of the current association (Association LN).
const Obis CurrentAssociation {0, 0, 40, 0, 0, 255};
constexpr quint16 AssociationLnClass = 15;
constexpr qint8 ReplyToHlsAuthentication = 1;
constexpr quint8 ServiceErrorDeciphering = 5; // exception-response service-error values
constexpr quint8 ServiceErrorInvocationCounter = 6;
constexpr quint8 ApplicationReferenceError = 0; // ServiceError choice in a rejected AARE
constexpr quint8 ApplicationReferenceDeciphering = 6;

// Exceptions name the security failures of our own requests as such, so a wrong key or a
// counter behind the meter's reads differently from any other refusal.
Error exceptionError(const ExceptionResponse &ex)
{
    if (ex.serviceError == ServiceErrorDeciphering)
        return makeError(ErrorCode::DecryptionFailed,
            u"the meter could not decipher our request (exception-response: %1): wrong EK or AK"_s.arg(
                ex.describe()));
    if (ex.serviceError == ServiceErrorInvocationCounter)
        return makeError(ErrorCode::Replay,
            u"the meter refused our invocation counter as already used (exception-response: %1)"_s.arg(
                ex.describe()));
    return makeError(ErrorCode::Rejected, u"exception-response: %1"_s.arg(ex.describe()));
}

QString sizeNote(qsizetype size)
{
    return size == 0 ? u"none is configured"_s : u"got %1 bytes"_s.arg(size);
}

void setInvoke(Apdu &apdu, InvokeIdAndPriority invoke)
{
    std::visit(
        [invoke](auto &pdu) {
            if constexpr (requires { pdu.invoke; })
                pdu.invoke = invoke;
        },
        apdu);
}

} // namespace

ClientSession::ClientSession(ClientConfig config) : m_config(std::move(config))
{
    if (!m_config.invocationCounter)
        m_config.invocationCounter = std::make_shared<MemoryInvocationCounter>(1);
    if (m_config.transport == Transport::Hdlc) {
        m_link.emplace(hdlc::Link::Role::Client, hdlc::Address::client(quint8(m_config.clientAddress)),
            hdlc::Address::server(
                m_config.serverAddress, m_config.physicalAddress, m_config.serverAddressSize),
            m_config.hdlc);
    }
}

void ClientSession::setState(State state)
{
    if (state == m_state)
        return;
    m_state = state;
    pushEvent(Event::Type::StateChanged);
}

ClientSession::Event &ClientSession::pushEvent(Event::Type type)
{
    Event &event = m_events.emplace_back();
    event.type = type;
    event.state = m_state;
    return event;
}

void ClientSession::emitError(Error error)
{
    pushEvent(Event::Type::Error).error = std::move(error);
}

void ClientSession::countFrame(Direction direction, FrameKind kind, quint32 size, bool completes)
{
    m_frames.push_back(FrameEvent {direction, kind, size, completes, false});
}

void ClientSession::sendApdu(QByteArrayView apdu, FrameKind kind)
{
    // `kind` is the plain APDU's: a ciphered one is counted as what it carries.
    if (m_config.transport == Transport::Wrapper) {
        const qsizetype start = m_outgoing.size();
        const auto written
            = wrapper::encode(m_config.clientAddress, m_config.serverAddress, apdu, m_outgoing);
        if (!written) {
            emitError(written.error());
            return;
        }
        countFrame(Direction::Sent, kind, quint32(m_outgoing.size() - start), true);
        return;
    }
    m_txKind = kind;
    m_txCompleted = false;
    const auto queued = m_link->sendApdu(apdu);
    if (!queued) {
        emitError(queued.error());
        return;
    }
    flushLink();
}

void ClientSession::flushLink()
{
    if (!m_link)
        return;
    for (const hdlc::Frame &frame : m_link->takeOutgoing()) {
        const qsizetype start = m_outgoing.size();
        const auto written = hdlc::encode(frame, m_outgoing);
        if (!written) {
            emitError(written.error());
            continue;
        }
        const bool isI = frame.type() == hdlc::FrameType::I;
        // A retransmitted last segment does not complete the APDU a second time.
        const bool completes = isI && !frame.segmented && !std::exchange(m_txCompleted, true);
        countFrame(Direction::Sent, isI ? m_txKind : FrameKind::HdlcControl,
            quint32(m_outgoing.size() - start), completes);
    }
}

void ClientSession::connect()
{
    if (m_state != State::Idle) {
        emitError(
            makeError(ErrorCode::InvalidArgument, QStringLiteral("connect() while the session is not idle")));
        return;
    }
    m_conformance = 0;
    m_serverMaxPdu = 0;
    m_releaseAfterCurrent = false;
    m_hdlcIn.clear();
    m_wrapperIn.clear();
    forgetAssociationSecrets();
    // Missing keys are known now: fail before anything goes on the wire.
    if (const auto usable = checkSecurity(); !usable) {
        failAssociation(usable.error());
        return;
    }
    if (m_link) {
        m_link->reset();
        m_link->connect();
        setState(State::LinkConnecting);
        flushLink();
    } else {
        sendAarq();
    }
}

Result<void> ClientSession::checkSecurity() const
{
    const SecuritySettings &s = m_config.security;
    const bool hls = m_config.authentication == Authentication::HighGmac;
    if (!s.ciphered()) {
        if (s.dedicatedKey || s.generalCiphering)
            return makeError(ErrorCode::InvalidArgument,
                u"cannot associate: a dedicated key or general ciphering needs a security policy "
                u"(auth, enc or auth-enc)"_s);
        if (!hls)
            return {};
    }
    // The dedicated key travels inside the InitiateRequest: authenticated only, it would go in clear.
    if (s.dedicatedKey && s.policy == SecurityPolicy::Authenticated)
        return makeError(ErrorCode::InvalidArgument,
            u"cannot associate: a dedicated key needs an encrypting policy (enc or auth-enc); "
            u"with auth it would be sent in clear"_s);
    const QString purpose
        = s.ciphered() ? u"security policy %1"_s.arg(securityPolicyName(s.policy)) : u"HLS-GMAC"_s;
    if (s.systemTitle.size() != security::SystemTitleSize)
        return makeError(ErrorCode::InvalidArgument,
            u"cannot associate: %1 needs our system title (8 bytes); %2"_s.arg(
                purpose, sizeNote(s.systemTitle.size())));
    if (s.blockCipherKey.size() != security::KeySize)
        return makeError(ErrorCode::InvalidArgument,
            u"cannot associate: %1 needs the block cipher key (EK, 16 bytes); %2"_s.arg(
                purpose, sizeNote(s.blockCipherKey.size())));
    // Encryption only has no tag, so no AK: only HLS-GMAC and the authenticating policies need one.
    const bool policyNeedsAk
        = s.policy == SecurityPolicy::Authenticated || s.policy == SecurityPolicy::AuthenticatedEncrypted;
    if ((hls || policyNeedsAk) && s.authenticationKey.size() != security::KeySize)
        return makeError(ErrorCode::InvalidArgument,
            u"cannot associate: %1 needs the authentication key (AK, 16 bytes); %2"_s.arg(
                policyNeedsAk ? purpose : u"HLS-GMAC"_s, sizeNote(s.authenticationKey.size())));
    return {};
}

Result<quint32> ClientSession::nextCounter()
{
    auto counter = m_config.invocationCounter->next();
    if (counter)
        m_lastCounter = *counter;
    return counter;
}

// The meter's exception, named; an invocation-counter-error tells the lowest counter it accepts,
// so the next association starts there instead of failing the same way again. The exception
// comes in clear: a forged one could spend the key's counter space, so only a jump of at most
// MaxMeterFloorJump above what we last sent is believed.
Error ClientSession::meterException(const ExceptionResponse &ex)
{
    const bool counting = m_config.security.ciphered() || m_config.authentication == Authentication::HighGmac;
    if (counting && ex.serviceError == ServiceErrorInvocationCounter && ex.invocationCounter > m_lastCounter
        && ex.invocationCounter - m_lastCounter <= MaxMeterFloorJump)
        m_config.invocationCounter->raiseFloor(ex.invocationCounter);
    return exceptionError(ex);
}

void ClientSession::sendAarq()
{
    const SecuritySettings &s = m_config.security;
    Aarq aarq;
    aarq.authentication = m_config.authentication;
    if (m_config.authentication == Authentication::Low)
        aarq.authenticationValue = m_config.password;
    aarq.initiate.proposedConformance = m_config.proposedConformance;
    aarq.initiate.clientMaxReceivePduSize = m_config.maxReceivePduSize;
    if (m_config.authentication == Authentication::HighGmac) {
        const bool random = m_config.hlsChallenge.isEmpty();
        m_challenge = random ? security::randomBytes(16) : m_config.hlsChallenge;
        if (random && m_challenge.isEmpty()) {
            failAssociation(makeError(ErrorCode::InvalidArgument,
                u"cannot associate: no random bytes available for the HLS challenge"_s));
            return;
        }
        if (m_challenge.size() < 8 || m_challenge.size() > 64) {
            failAssociation(makeError(ErrorCode::InvalidArgument,
                u"cannot associate: the HLS challenge must be 8 to 64 bytes; got %1"_s.arg(
                    m_challenge.size())));
            return;
        }
        aarq.authenticationValue = m_challenge;
        aarq.callingApTitle = s.systemTitle;
    }
    if (s.ciphered()) {
        aarq.ciphered = true;
        aarq.callingApTitle = s.systemTitle;
        if (s.dedicatedKey) {
            m_dedicatedKey = security::randomBytes(security::KeySize);
            if (m_dedicatedKey.size() != security::KeySize) {
                failAssociation(makeError(
                    ErrorCode::InvalidArgument, u"cannot associate: no random bytes for a dedicated key"_s));
                return;
            }
            aarq.initiate.dedicatedKey = m_dedicatedKey;
        }
        const auto counter = nextCounter();
        if (!counter) {
            failAssociation(counter.error());
            return;
        }
        m_scratch.clear();
        encode(aarq.initiate, m_scratch);
        auto sealed = security::encodeServiceCiphered(false, security::securityControl(s.policy),
            s.systemTitle, *counter, s.blockCipherKey, s.authenticationKey, m_scratch);
        // The plain InitiateRequest holds the dedicated key in clear.
        security::wipe(m_scratch);
        aarq.initiate.dedicatedKey.clear();
        if (!sealed) {
            failAssociation(sealed.error());
            return;
        }
        aarq.cipheredInitiate = std::move(sealed.value());
    }
    m_scratch.clear();
    encode(aarq, m_scratch);
    setState(State::Associating);
    sendApdu(m_scratch, FrameKind::Aarq);
}

Result<void> ClientSession::seal(QByteArray &apdu, std::optional<quint32> taken)
{
    const SecuritySettings &s = m_config.security;
    if (!s.ciphered())
        return {};
    const auto counter = taken ? Result<quint32>(*taken) : nextCounter();
    if (!counter)
        return counter.error();
    const bool dedicated = !m_dedicatedKey.isEmpty();
    const QByteArray &key = dedicated ? m_dedicatedKey : s.blockCipherKey;
    const quint8 control = security::securityControl(s.policy);
    auto sealed = s.generalCiphering ? security::encodeGeneralCiphered(
                      dedicated, control, s.systemTitle, *counter, key, s.authenticationKey, apdu)
                                     : security::encodeServiceCiphered(dedicated, control, s.systemTitle,
                                         *counter, key, s.authenticationKey, apdu);
    if (!sealed)
        return sealed.error();
    apdu = std::move(sealed.value());
    return {};
}

Result<ClientSession::Opened> ClientSession::open(QByteArrayView apdu)
{
    const SecuritySettings &s = m_config.security;
    const quint8 tagByte = apdu.isEmpty() ? 0 : quint8(apdu[0]);
    if (!security::isCipheredTag(tagByte)) {
        // A meter that cannot decipher or refuses says so in clear: that refusal still counts.
        if (s.ciphered() && tagByte != tag::ExceptionResponse && tagByte != tag::ConfirmedServiceError)
            return makeError(ErrorCode::UnexpectedFrame,
                u"the meter answered in clear on a ciphered association (%1)"_s.arg(
                    frameKindName(classifyApdu(apdu))));
        return Opened {apdu, false, 0, {}};
    }
    const QString name = tagByte == security::tag::GloInitiateResponse ? u"AARE (glo-initiate-response)"_s
                                                                       : security::cipheredApduName(tagByte);
    auto ciphered = security::decodeCipheredApdu(apdu);
    if (!ciphered)
        return makeError(ciphered.error().code, u"the meter's %1: %2"_s.arg(name, ciphered.error().message));
    if (m_serverTitle.size() != security::SystemTitleSize)
        return makeError(ErrorCode::DecryptionFailed,
            u"cannot decipher the meter's %1: its system title is unknown (the AARE gave none)"_s.arg(name));

    if (!ciphered->systemTitle.isEmpty() && ciphered->systemTitle != m_serverTitle)
        return makeError(ErrorCode::DecryptionFailed,
            u"cannot decipher the meter's %1: it comes from system title %2, not the meter's %3"_s.arg(name,
                QString::fromLatin1(ciphered->systemTitle.toHex()),
                QString::fromLatin1(m_serverTitle.toHex())));
    // Checked before the tag, recorded only after it verifies: a forged APDU cannot move it.
    const quint32 counter = ciphered->invocationCounter();
    if (const auto it = m_serverCounters.find(m_serverTitle);
        it != m_serverCounters.end() && counter <= it->second) {
        return Opened {{}, true, 0,
            makeError(ErrorCode::Replay,
                u"replayed APDU: invocation counter %1 not above %2; discarded"_s.arg(counter).arg(
                    it->second))};
    }
    const bool dedicated = security::isDedicatedTag(tagByte);
    if (dedicated && m_dedicatedKey.isEmpty())
        return makeError(ErrorCode::DecryptionFailed,
            u"cannot decipher the meter's %1: it uses a dedicated key and this association has none"_s.arg(
                name));
    const quint8 required = security::securityControl(s.policy);
    if ((ciphered->control() & required) != required)
        return makeError(ErrorCode::UnexpectedFrame,
            u"the meter's %1 is protected with security control 0x%2, less than the policy %3 requires"_s
                .arg(name)
                .arg(ciphered->control(), 2, 16, QLatin1Char('0'))
                .arg(securityPolicyName(s.policy)));
    auto plain = security::unprotect(m_serverTitle, dedicated ? m_dedicatedKey : s.blockCipherKey,
        s.authenticationKey, ciphered->protectedText);
    if (!plain) {
        if (plain.error().code == ErrorCode::DecryptionFailed)
            return makeError(ErrorCode::DecryptionFailed,
                u"cannot decipher the meter's %1: the authentication tag does not verify — wrong EK/AK or "
                u"system title"_s.arg(name));
        return makeError(
            plain.error().code, u"cannot decipher the meter's %1: %2"_s.arg(name, plain.error().message));
    }
    // Encrypted-only text has no tag: a wrong EK shows as content that is not what the tag announced.
    const QByteArray &text = plain->plaintext;
    const auto expected = security::plainTagOf(tagByte);
    const quint8 inner = text.isEmpty() ? 0 : quint8(text[0]);
    if (text.isEmpty() || (expected ? inner != *expected : security::isCipheredTag(inner)))
        return makeError(ErrorCode::DecryptionFailed,
            u"cannot decipher the meter's %1: the content is not the APDU it announces — wrong EK or "
            u"system title"_s.arg(name));
    m_serverCounters[m_serverTitle] = counter;
    m_rxPlain = std::move(plain->plaintext);
    return Opened {m_rxPlain, false, plain->control, {}};
}

FrameKind ClientSession::receivedKind(QByteArrayView apdu) const
{
    const quint8 tagByte = apdu.isEmpty() ? 0 : quint8(apdu[0]);
    if (!security::isCipheredTag(tagByte))
        return classifyApdu(apdu);
    if (const auto plain = security::plainTagOf(tagByte)) {
        const char plainTag = char(*plain);
        return classifyApdu(QByteArrayView(&plainTag, 1));
    }
    // General ciphering hides the kind: it is the answer to what we are waiting for.
    switch (m_state) {
    case State::Associating:
        return m_hlsAare ? FrameKind::ActionResponse : FrameKind::Aare;
    case State::Busy:
        if (!m_current)
            break;
        switch (m_current->service) {
        case Response::Service::Get:
        case Response::Service::GetList:
            return FrameKind::GetResponse;
        case Response::Service::Set:
            return FrameKind::SetResponse;
        case Response::Service::Action:
            return FrameKind::ActionResponse;
        }
        break;
    case State::Releasing:
        return FrameKind::Rlre;
    default:
        break;
    }
    return FrameKind::Other;
}

void ClientSession::failAssociation(Error error, std::optional<Aare> aare)
{
    forgetAssociationSecrets();
    setState(State::Failed);
    Event &event = pushEvent(Event::Type::Error);
    event.error = std::move(error);
    event.aare = std::move(aare);
}

void ClientSession::finishAssociation(Aare aare)
{
    m_challenge.clear();
    setState(State::Ready);
    pushEvent(Event::Type::Associated).aare = std::move(aare);
    startNextRequest();
}

void ClientSession::forgetAssociationSecrets()
{
    security::wipe(m_dedicatedKey);
    m_challenge.clear();
    m_serverTitle.clear();
    m_rxPlain.clear();
    m_hlsAare.reset();
}

void ClientSession::sendHlsProof()
{
    const SecuritySettings &s = m_config.security;
    // Ciphered, the APDU carrying f(StoC) takes its counter first and the proof the next one: a
    // meter that checks the proof's counter for freshness has just accepted the APDU's.
    std::optional<quint32> apduCounter;
    if (s.ciphered()) {
        const auto taken = nextCounter();
        if (!taken) {
            failAssociation(taken.error(), std::move(m_hlsAare));
            return;
        }
        apduCounter = *taken;
    }
    const auto counter = nextCounter();
    if (!counter) {
        failAssociation(counter.error(), std::move(m_hlsAare));
        return;
    }
    auto proof = security::gmacResponse(s.systemTitle, *counter, s.blockCipherKey, s.authenticationKey,
        m_hlsAare->respondingAuthenticationValue);
    if (!proof) {
        failAssociation(proof.error(), std::move(m_hlsAare));
        return;
    }
    ActionRequest request;
    m_hlsInvoke = nextInvoke();
    request.invoke = m_hlsInvoke;
    request.method = MethodDescriptor {AssociationLnClass, CurrentAssociation, ReplyToHlsAuthentication};
    request.parameters = Value::octetString(std::move(proof.value()));
    m_scratch.clear();
    encode(request, m_scratch);
    if (const auto sealed = seal(m_scratch, apduCounter); !sealed) {
        failAssociation(sealed.error(), std::move(m_hlsAare));
        return;
    }
    sendApdu(m_scratch, FrameKind::ActionRequest);
}

void ClientSession::handleHlsResult(QByteArrayView apdu)
{
    auto opened = open(apdu);
    if (!opened) {
        failAssociation(opened.error(), std::move(m_hlsAare));
        return;
    }
    if (opened->discarded) {
        // A stale pass 4 is no proof from this meter: waiting on would only end in the timeout.
        failAssociation(std::move(*opened->replay), std::move(m_hlsAare));
        return;
    }
    const QByteArrayView plain = opened->apdu;
    const quint8 tagByte = plain.isEmpty() ? 0 : quint8(plain[0]);
    if (tagByte == tag::ExceptionResponse || tagByte == tag::ConfirmedServiceError) {
        Error error
            = makeError(ErrorCode::Rejected, u"the meter answered our HLS-GMAC proof with an error"_s);
        if (tagByte == tag::ExceptionResponse) {
            if (const auto ex = decodeExceptionResponse(plain))
                error = meterException(*ex);
        } else if (const auto cse = decodeConfirmedServiceError(plain)) {
            error.message = u"the meter answered our HLS-GMAC proof with %1"_s.arg(cse->describe());
        }
        failAssociation(std::move(error), std::move(m_hlsAare));
        return;
    }
    if (tagByte != tag::ActionResponse) {
        emitError(makeError(ErrorCode::UnexpectedFrame,
            u"unexpected %1 APDU while waiting for the HLS-GMAC result; discarded"_s.arg(
                frameKindName(classifyApdu(plain)))));
        return;
    }
    auto response = decodeActionResponse(plain, m_config.limits);
    if (!response) {
        failAssociation(response.error(), std::move(m_hlsAare));
        return;
    }
    if (response->invoke.invokeId != m_hlsInvoke.invokeId) {
        emitError(makeError(ErrorCode::UnexpectedFrame,
            u"HLS-GMAC result with invoke-id %1 while waiting for %2; discarded"_s
                .arg(response->invoke.invokeId)
                .arg(m_hlsInvoke.invokeId)));
        return;
    }
    if (response->result != DataAccessResult::Success) {
        failAssociation(
            makeError(ErrorCode::AuthenticationFailed,
                u"HLS-GMAC authentication failed: the meter refused our proof (f(StoC)): wrong AK or EK (%1)"_s
                    .arg(dataAccessResultName(quint8(response->result)))),
            std::move(m_hlsAare));
        return;
    }
    const auto &proof = response->returnParameters;
    const SecuritySettings &s = m_config.security;
    if (!proof || !proof->ok() || proof->value.type() != DataType::OctetString
        || !security::verifyGmacResponse(
            m_serverTitle, s.blockCipherKey, s.authenticationKey, m_challenge, proof->value.bytes())) {
        failAssociation(
            makeError(ErrorCode::AuthenticationFailed,
                u"HLS-GMAC authentication failed: the meter's proof (f(CtoS)) does not verify: wrong AK/EK, or not the meter we expect"_s),
            std::move(m_hlsAare));
        return;
    }
    Aare aare = std::move(*m_hlsAare);
    m_hlsAare.reset();
    finishAssociation(std::move(aare));
}

void ClientSession::release()
{
    switch (m_state) {
    case State::Ready:
        sendRlrq();
        break;
    case State::Busy:
        m_releaseAfterCurrent = true;
        break;
    case State::LinkConnecting:
    case State::Associating:
    case State::Failed:
        if (m_link && m_link->state() != hdlc::Link::State::Disconnected) {
            m_link->disconnect();
            setState(State::LinkDisconnecting);
            flushLink();
        } else {
            finishRelease();
        }
        break;
    case State::Idle:
    case State::Releasing:
    case State::LinkDisconnecting:
        break;
    }
    // Queued requests will not be sent on this association.
    failQueued(makeError(
        ErrorCode::InvalidArgument, QStringLiteral("request cancelled: the association is being released")));
}

void ClientSession::sendRlrq()
{
    m_scratch.clear();
    encode(Rlrq {}, m_scratch);
    setState(State::Releasing);
    sendApdu(m_scratch, FrameKind::Rlrq);
}

void ClientSession::finishRelease()
{
    forgetAssociationSecrets();
    if (m_link)
        m_link->reset();
    setState(State::Idle);
    pushEvent(Event::Type::Released);
}

void ClientSession::abort(const Error &reason)
{
    // Idle first, so that failing the current request does not start the next one.
    m_releaseAfterCurrent = false;
    setState(State::Idle);
    if (m_current)
        failCurrent(reason);
    failQueued(reason);
    if (m_link)
        m_link->reset();
    m_hdlcIn.clear();
    m_wrapperIn.clear();
    m_blockData.clear();
    m_rxInApdu = false;
    forgetAssociationSecrets();
}

void ClientSession::resetLink(const Error &reason)
{
    abort(reason);
    if (!m_link) {
        finishRelease();
        return;
    }
    m_link->disconnect();
    setState(State::LinkDisconnecting);
    flushLink();
}

void ClientSession::failQueued(const Error &reason)
{
    while (!m_queue.empty()) {
        Response response;
        response.id = m_queue.front().id;
        response.service = m_queue.front().service;
        response.error = reason;
        m_queue.pop_front();
        emitResponse(std::move(response));
    }
}

void ClientSession::emitResponse(Response response)
{
    pushEvent(Event::Type::Response).response = std::move(response);
}

ClientSession::RequestId ClientSession::enqueue(Response::Service service, Apdu apdu)
{
    const RequestId id = m_nextId++;
    m_queue.push_back(Request {id, service, std::move(apdu)});
    startNextRequest();
    return id;
}

ClientSession::RequestId ClientSession::get(
    const AttributeDescriptor &attribute, std::optional<SelectiveAccess> access)
{
    GetRequest request;
    request.kind = GetRequest::Kind::Normal;
    request.items.push_back(AttributeRequest {attribute, std::move(access)});
    return enqueue(Response::Service::Get, std::move(request));
}

ClientSession::RequestId ClientSession::getList(std::vector<AttributeRequest> items)
{
    GetRequest request;
    request.kind = GetRequest::Kind::WithList;
    request.items = std::move(items);
    return enqueue(Response::Service::GetList, std::move(request));
}

ClientSession::RequestId ClientSession::set(const AttributeDescriptor &attribute, Value value)
{
    SetRequest request;
    request.item.attribute = attribute;
    request.value = std::move(value);
    return enqueue(Response::Service::Set, std::move(request));
}

ClientSession::RequestId ClientSession::action(
    const MethodDescriptor &method, std::optional<Value> parameters)
{
    ActionRequest request;
    request.method = method;
    request.parameters = std::move(parameters);
    return enqueue(Response::Service::Action, std::move(request));
}

InvokeIdAndPriority ClientSession::nextInvoke()
{
    m_invokeCounter = quint8((m_invokeCounter + 1) & 0x0F);
    return InvokeIdAndPriority {m_invokeCounter, true, true};
}

void ClientSession::startNextRequest()
{
    while (m_state == State::Ready && !m_current && !m_queue.empty()) {
        Request request = std::move(m_queue.front());
        m_queue.pop_front();
        m_currentInvoke = nextInvoke();
        setInvoke(request.apdu, m_currentInvoke);
        m_scratch.clear();
        encode(request.apdu, m_scratch);
        const FrameKind kind = classifyApdu(m_scratch);
        // Nothing goes out unless it can be protected: a counter that fails refuses the request.
        const auto sealed = seal(m_scratch);
        if (!sealed || (m_serverMaxPdu != 0 && m_scratch.size() > m_serverMaxPdu)) {
            Response refused;
            refused.id = request.id;
            refused.service = request.service;
            refused.error = sealed
                ? makeError(ErrorCode::InvalidArgument,
                    QStringLiteral("request of %1 bytes exceeds the meter's maximum PDU of %2 bytes")
                        .arg(m_scratch.size())
                        .arg(m_serverMaxPdu))
                : sealed.error();
            emitResponse(std::move(refused));
            continue;
        }
        m_current = std::move(request);
        m_blockData.clear();
        m_blocks = 0;
        m_expectedBlock = 1;
        setState(State::Busy);
        sendApdu(m_scratch, kind);
    }
}

template<typename Deframer, typename Handler> void ClientSession::drain(Deframer &in, Handler &&handle)
{
    // Each frame or error is charged exactly the stream bytes it consumed, garbage included.
    qint64 mark = in.consumedBytes();
    while (auto next = in.next()) {
        const quint32 size = quint32(in.consumedBytes() - std::exchange(mark, in.consumedBytes()));
        if (!*next) {
            countFrame(Direction::Received, FrameKind::Other, size, false);
            m_frames.back().discarded = true;
            emitError(next->error());
            continue;
        }
        handle(next->value(), size);
    }
}

void ClientSession::feed(QByteArrayView bytes)
{
    if (m_config.transport == Transport::Wrapper) {
        m_wrapperIn.feed(bytes);
        drain(m_wrapperIn,
            [this](const wrapper::Frame &frame, quint32 size) { receiveWrapperFrame(frame, size); });
    } else {
        m_hdlcIn.feed(bytes);
        drain(m_hdlcIn, [this](const hdlc::Frame &frame, quint32 size) { receiveHdlcFrame(frame, size); });
    }
}

void ClientSession::receiveWrapperFrame(const wrapper::Frame &frame, quint32 size)
{
    countFrame(Direction::Received, receivedKind(frame.apdu), size, true);
    if (frame.destinationPort != m_config.clientAddress || frame.sourcePort != m_config.serverAddress) {
        emitError(makeError(ErrorCode::BadAddress,
            QStringLiteral("wrapper frame from wPort %1 to wPort %2 is not for this "
                           "association (%3 → %4); discarded")
                .arg(frame.sourcePort)
                .arg(frame.destinationPort)
                .arg(m_config.serverAddress)
                .arg(m_config.clientAddress)));
        return;
    }
    handleApdu(frame.apdu);
}

void ClientSession::receiveHdlcFrame(const hdlc::Frame &frame, quint32 size)
{
    std::vector<hdlc::Link::Event> linkEvents = m_link->handleFrame(frame);

    // Kind: the APDU this frame carries (part of); complete only when the link says so.
    FrameKind kind = FrameKind::HdlcControl;
    bool completes = false;
    if (frame.type() == hdlc::FrameType::I || frame.type() == hdlc::FrameType::UI) {
        if (!m_rxInApdu)
            m_rxKind = frame.info.size() > 3 ? receivedKind(QByteArrayView(frame.info).sliced(3))
                                             : FrameKind::Other;
        kind = m_rxKind;
        m_rxInApdu = frame.segmented;
    }
    for (const hdlc::Link::Event &event : linkEvents) {
        if (event.kind == hdlc::Link::Event::Kind::Apdu) {
            completes = true;
            kind = receivedKind(event.apdu);
            m_rxInApdu = false;
        } else if (event.kind == hdlc::Link::Event::Kind::Error) {
            m_rxInApdu = false; // the link dropped what it was assembling
        }
    }
    countFrame(Direction::Received, kind, size, completes);

    for (hdlc::Link::Event &event : linkEvents) {
        switch (event.kind) {
        case hdlc::Link::Event::Kind::Connected:
            if (m_state == State::LinkConnecting) {
                flushLink();
                sendAarq();
            }
            break;
        case hdlc::Link::Event::Kind::Disconnected:
            if (m_state == State::LinkDisconnecting) {
                finishRelease();
            } else {
                const Error error = makeError(
                    ErrorCode::Rejected, QStringLiteral("the meter closed the HDLC link (DM or DISC)"));
                emitError(error);
                abort(error);
            }
            break;
        case hdlc::Link::Event::Kind::Apdu:
            handleApdu(event.apdu);
            break;
        case hdlc::Link::Event::Kind::Error:
            emitError(std::move(event.error));
            break;
        }
    }
    flushLink();
}

void ClientSession::handleApdu(QByteArrayView apdu)
{
    switch (m_state) {
    case State::Associating:
        if (m_hlsAare)
            handleHlsResult(apdu);
        else
            handleAare(apdu);
        return;
    case State::Busy: {
        auto opened = open(apdu);
        if (!opened)
            failCurrent(opened.error());
        else if (opened->discarded)
            emitError(std::move(*opened->replay));
        else
            handleResponseApdu(opened->apdu);
        return;
    }
    case State::Releasing:
        if (!apdu.isEmpty() && quint8(apdu[0]) == tag::Rlre) {
            if (const auto rlre = decodeRlre(apdu); !rlre)
                emitError(rlre.error());
            if (m_link) {
                m_link->disconnect();
                setState(State::LinkDisconnecting);
                flushLink();
            } else {
                finishRelease();
            }
            return;
        }
        break;
    default:
        break;
    }
    emitError(makeError(ErrorCode::UnexpectedFrame,
        QStringLiteral("unexpected %1 APDU (%2 bytes) in state %3; discarded")
            .arg(frameKindName(classifyApdu(apdu)))
            .arg(apdu.size())
            .arg(int(m_state))));
}

void ClientSession::handleAare(QByteArrayView apdu)
{
    const quint8 tagByte = apdu.isEmpty() ? 0 : quint8(apdu[0]);
    if (tagByte != tag::Aare) {
        QString why = QStringLiteral("expected an AARE, got %1").arg(frameKindName(classifyApdu(apdu)));
        if (tagByte == tag::ExceptionResponse) {
            if (const auto ex = decodeExceptionResponse(apdu)) {
                (void)meterException(*ex);
                why = QStringLiteral("the meter answered the AARQ with an exception: %1").arg(ex->describe());
            }
        } else if (tagByte == tag::ConfirmedServiceError) {
            if (const auto cse = decodeConfirmedServiceError(apdu))
                why = QStringLiteral("the meter answered the AARQ with %1").arg(cse->describe());
        }
        emitError(makeError(ErrorCode::Rejected, why));
        setState(State::Failed);
        return;
    }
    auto aare = decodeAare(apdu);
    if (!aare) {
        emitError(aare.error());
        setState(State::Failed);
        return;
    }
    if (aare->result != AssociationResult::Accepted && aare->initiateErrorType == ApplicationReferenceError
        && aare->initiateErrorValue == ApplicationReferenceDeciphering) {
        failAssociation(
            makeError(ErrorCode::DecryptionFailed,
                u"the meter could not decipher our AARQ: wrong EK or AK, or an invocation counter it has "
                u"already seen"_s),
            std::move(aare.value()));
        return;
    }
    if (aare->result == AssociationResult::Accepted) {
        auto secured = openAare(*aare);
        if (!secured) {
            failAssociation(secured.error(), std::move(aare.value()));
            return;
        }
        if (secured->discarded) {
            // A replayed AARE: the meter's answer to this AARQ is not coming through.
            failAssociation(std::move(*secured->replay), std::move(aare.value()));
            return;
        }
    }
    if (!aare->accepted()) {
        setState(State::Failed);
        Event &event = pushEvent(Event::Type::Error);
        event.error = makeError(
            ErrorCode::Rejected, QStringLiteral("association rejected: %1").arg(aare->describe()));
        event.aare = std::move(aare.value());
        return;
    }
    m_conformance = aare->initiate->negotiatedConformance;
    m_serverMaxPdu = aare->initiate->serverMaxReceivePduSize;
    if (m_config.authentication == Authentication::HighGmac) {
        // Pass 3 proves nothing to a meter that accepted another mechanism (or none).
        if (aare->authentication != Authentication::HighGmac) {
            failAssociation(makeError(ErrorCode::AuthenticationFailed,
                                u"the meter did not accept HLS-GMAC (AARE mechanism: %1)"_s.arg(
                                    authenticationName(aare->authentication))),
                std::move(aare.value()));
            return;
        }
        if (aare->respondingAuthenticationValue.isEmpty()) {
            failAssociation(makeError(ErrorCode::Malformed,
                                u"the meter accepted HLS-GMAC without sending its challenge (StoC)"_s),
                std::move(aare.value()));
            return;
        }
        // Not associated until the meter has proved itself (pass 4).
        m_hlsAare = std::move(aare.value());
        sendHlsProof();
        return;
    }
    finishAssociation(std::move(aare.value()));
}

Result<ClientSession::Opened> ClientSession::openAare(Aare &aare)
{
    const SecuritySettings &s = m_config.security;
    const bool hls = m_config.authentication == Authentication::HighGmac;
    if (!s.ciphered() && !hls && aare.cipheredInitiate.isEmpty())
        return Opened {};
    if (aare.respondingApTitle.size() != security::SystemTitleSize)
        return makeError(ErrorCode::Malformed,
            u"the meter's AARE carries %1 (responding-AP-title), which %2 needs"_s.arg(
                aare.respondingApTitle.isEmpty()
                    ? u"no system title"_s
                    : u"a system title of %1 bytes instead of 8"_s.arg(aare.respondingApTitle.size()),
                s.ciphered() ? u"ciphering"_s : u"HLS-GMAC"_s));
    m_serverTitle = aare.respondingApTitle;
    if (aare.cipheredInitiate.isEmpty()) {
        if (s.ciphered() && aare.initiate)
            return makeError(ErrorCode::UnexpectedFrame,
                u"the meter answered our ciphered AARQ with a plain InitiateResponse"_s);
        return Opened {};
    }
    if (!s.ciphered())
        return makeError(ErrorCode::UnexpectedFrame,
            u"the meter answered with a ciphered InitiateResponse on an association we did not cipher"_s);
    auto opened = open(aare.cipheredInitiate);
    if (!opened || opened->discarded)
        return opened;
    // open() checked the plain tag is an InitiateResponse's.
    auto initiate = decodeInitiateResponse(opened->apdu);
    if (!initiate) {
        // Without a tag nothing proved the key right; with one, the meter sent a bad InitiateResponse.
        const bool verified = (opened->control & security::ControlAuthenticated) != 0;
        return makeError(verified ? initiate.error().code : ErrorCode::DecryptionFailed,
            u"the meter's deciphered AARE (glo-initiate-response) is not a valid InitiateResponse%1: %2"_s
                .arg(verified ? QString() : u" — wrong EK or system title"_s, initiate.error().message));
    }
    aare.initiate = *initiate;
    return Opened {};
}

void ClientSession::handleResponseApdu(QByteArrayView apdu)
{
    const quint8 tagByte = apdu.isEmpty() ? 0 : quint8(apdu[0]);
    const Response::Service service = m_current->service;

    auto invokeMatches = [this](InvokeIdAndPriority got) {
        if (got.invokeId == m_currentInvoke.invokeId)
            return true;
        emitError(makeError(ErrorCode::UnexpectedFrame,
            QStringLiteral("response with invoke-id %1 while waiting for %2; discarded")
                .arg(got.invokeId)
                .arg(m_currentInvoke.invokeId)));
        return false;
    };

    switch (tagByte) {
    case tag::ExceptionResponse: {
        const auto ex = decodeExceptionResponse(apdu);
        failCurrent(ex ? meterException(*ex) : ex.error());
        return;
    }
    case tag::ConfirmedServiceError: {
        const auto cse = decodeConfirmedServiceError(apdu);
        failCurrent(cse ? makeError(ErrorCode::Rejected,
                        QStringLiteral("confirmed-service-error: %1").arg(cse->describe()))
                        : cse.error());
        return;
    }
    case tag::GetResponse:
        if (service == Response::Service::Get || service == Response::Service::GetList) {
            auto response = decodeGetResponse(apdu, m_config.limits);
            if (!response) {
                failCurrent(response.error());
                return;
            }
            if (invokeMatches(response->invoke))
                handleGetResponse(std::move(response.value()));
            return;
        }
        break;
    case tag::SetResponse:
        if (service == Response::Service::Set) {
            const auto response = decodeSetResponse(apdu);
            if (!response) {
                failCurrent(response.error());
                return;
            }
            if (!invokeMatches(response->invoke))
                return;
            Response done;
            done.results.push_back(DataResult {response->result, {}});
            completeCurrent(std::move(done));
            return;
        }
        break;
    case tag::ActionResponse:
        if (service == Response::Service::Action) {
            auto response = decodeActionResponse(apdu, m_config.limits);
            if (!response) {
                failCurrent(response.error());
                return;
            }
            if (!invokeMatches(response->invoke))
                return;
            Response done;
            DataResult result {response->result, {}};
            if (response->returnParameters && response->result == DataAccessResult::Success)
                result = std::move(*response->returnParameters);
            done.results.push_back(std::move(result));
            completeCurrent(std::move(done));
            return;
        }
        break;
    default:
        break;
    }
    emitError(makeError(ErrorCode::UnexpectedFrame,
        QStringLiteral("unexpected %1 APDU while waiting for a response; discarded")
            .arg(frameKindName(classifyApdu(apdu)))));
}

void ClientSession::handleGetResponse(GetResponse response)
{
    const auto &request = std::get<GetRequest>(m_current->apdu);
    const bool isList = m_current->service == Response::Service::GetList;
    const size_t expected = request.items.size();

    auto finish = [&](std::vector<DataResult> results) {
        if (results.size() != (isList ? expected : 1)) {
            failCurrent(makeError(ErrorCode::Malformed,
                QStringLiteral("the meter returned %1 results for %2 requested attributes")
                    .arg(results.size())
                    .arg(isList ? expected : 1)));
            return;
        }
        Response done;
        done.results = std::move(results);
        done.blocks = m_blocks;
        completeCurrent(std::move(done));
    };

    switch (response.kind) {
    case GetResponse::Kind::Normal:
    case GetResponse::Kind::WithList:
        if ((response.kind == GetResponse::Kind::WithList) != isList) {
            failCurrent(makeError(
                ErrorCode::Malformed, QStringLiteral("GET-Response kind does not match the request")));
            return;
        }
        finish(std::move(response.results));
        return;
    case GetResponse::Kind::WithDatablock:
        break;
    }

    if (response.blockError) {
        // The meter gave up on the transfer: every requested attribute fails with its reason.
        finish(std::vector<DataResult>(isList ? expected : 1, DataResult {*response.blockError, {}}));
        return;
    }
    if (response.blockNumber != m_expectedBlock) {
        failCurrent(makeError(ErrorCode::Malformed,
            QStringLiteral("datablock %1 received while expecting block %2")
                .arg(response.blockNumber)
                .arg(m_expectedBlock)));
        return;
    }
    if (quint64(m_blockData.size()) + quint64(response.rawData.size()) > m_config.maxResponseSize) {
        failCurrent(makeError(ErrorCode::LengthTooLarge,
            QStringLiteral("block transfer exceeds the %1-byte response limit")
                .arg(m_config.maxResponseSize)));
        return;
    }
    m_blockData.append(response.rawData);
    ++m_blocks;

    if (!response.lastBlock) {
        ++m_expectedBlock;
        GetRequest next;
        next.kind = GetRequest::Kind::Next;
        next.invoke = m_currentInvoke;
        next.blockNumber = response.blockNumber;
        m_scratch.clear();
        encode(next, m_scratch);
        if (const auto sealed = seal(m_scratch); !sealed) {
            failCurrent(sealed.error());
            return;
        }
        sendApdu(m_scratch, FrameKind::GetRequest);
        return;
    }

    if (isList) {
        auto results = decodeBlockDataList(m_blockData, m_config.limits);
        if (!results) {
            failCurrent(results.error());
            return;
        }
        finish(std::move(results.value()));
    } else {
        auto result = decodeBlockData(m_blockData, m_config.limits);
        if (!result) {
            failCurrent(result.error());
            return;
        }
        std::vector<DataResult> one;
        one.push_back(std::move(result.value()));
        finish(std::move(one));
    }
}

void ClientSession::completeCurrent(Response response)
{
    response.id = m_current->id;
    response.service = m_current->service;
    m_current.reset();
    m_blockData.clear();
    m_blockData.squeeze();
    if (m_state == State::Busy)
        setState(State::Ready);
    emitResponse(std::move(response));
    if (m_releaseAfterCurrent && m_state == State::Ready) {
        m_releaseAfterCurrent = false;
        sendRlrq();
        return;
    }
    startNextRequest();
}

void ClientSession::failCurrent(Error error)
{
    Response response;
    response.blocks = m_blocks;
    response.error = std::move(error);
    completeCurrent(std::move(response));
}

QByteArray ClientSession::takeOutgoing()
{
    return std::exchange(m_outgoing, QByteArray());
}

std::vector<FrameEvent> ClientSession::takeFrames()
{
    return std::exchange(m_frames, {});
}

std::vector<ClientSession::Event> ClientSession::takeEvents()
{
    return std::exchange(m_events, {});
}

} // namespace dlms
