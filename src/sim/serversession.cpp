#include "serversession.h"

#include <security.h>

#include <algorithm>

namespace sim {

using namespace dlms;

namespace {

// Choices the standard leaves open, made here:
// - a ciphered or HLS-GMAC AARQ without an 8-byte calling-AP-title: calling-AP-title-not-recognized;
//   an HLS CtoS outside 8..64 bytes: authentication-failure;
// - requireHighSecurity and an AARQ with no or LLS authentication:
//   authentication-mechanism-name-required, for both;
// - a meter whose policy is not None refuses the plain LN context (application-context-name-
//   not-supported), and either context with the other kind of user-information likewise;
// - a glo-initiate-request that does not decipher, or whose invocation counter is not fresh:
//   rejected-permanent, no-reason-given, with a confirmed-service-error initiateError /
//   application-reference / deciphering-error (the Green Book's answer to the first; a replay
//   gets the same, as application-reference has nothing closer);
// - a glo-initiate-request that protects less than the meter's policy, or carries a dedicated key
//   that is not 16 bytes: no-reason-given with initiateError / initiate / other;
// - until HLS pass 3 succeeds, anything but reply_to_HLS_authentication, and on a ciphered
//   association a plain GET/SET/ACTION or one protected less than the association requires:
//   exception-response service-not-allowed / operation-not-possible;
// - an f(StoC) that verifies but whose invocation counter is not above the last accepted from
//   that client title: action-result other-reason, like one that does not verify;
// - a ciphered APDU that does not decipher, verify or decode: exception-response
//   service-not-allowed / deciphering-error; one whose invocation counter is not above the last
//   accepted from that system title: service-not-allowed / invocation-counter-error, carrying
//   the lowest value that would be accepted.
// Exception-responses and AAREs always go in clear: a client that cannot be understood
// deciphering could not read them otherwise.

// EXCEPTION-Response state-error and service-error values (IEC 62056-5-3).
constexpr quint8 ServiceNotAllowed = 1;
constexpr quint8 ServiceUnknown = 2;
constexpr quint8 OperationNotPossible = 1;
constexpr quint8 ServiceNotSupported = 2;
constexpr quint8 DecipheringError = 5;
constexpr quint8 InvocationCounterError = 6;
// A request longer than the server's max receive PDU: the ServiceError value made for exactly
// that (IEC 62056-5-3 EXCEPTION-Response), rather than the vaguer other-reason.
constexpr quint8 PduTooLong = 4;

// ConfirmedServiceError ServiceError choice "initiate" and its values.
constexpr quint8 InitiateErrorType = 6;
constexpr quint8 InitiateOther = 0;
constexpr quint8 DlmsVersionTooLow = 1;
constexpr quint8 PduSizeTooShort = 3;
// ServiceError choice application-reference and its deciphering-error.
constexpr quint8 ApplicationReferenceErrorType = 0;
constexpr quint8 ApplicationReferenceDecipheringError = 6;

// HLS-GMAC challenges: ours is 16 bytes; the client's must be 8..64 (Green Book 9.2.7.4).
constexpr qsizetype ServerChallengeSize = 16;
constexpr qsizetype MinClientChallenge = 8;
constexpr qsizetype MaxClientChallenge = 64;
const Obis AssociationObis(0, 0, 40, 0, 0, 255);
constexpr quint16 AssociationClass = 15;
constexpr qint8 ReplyToHlsAuthentication = 1;

// What protection costs a response at most, so the plain APDU is cut to leave room for it:
// general-glo-ciphering's tag, empty transaction-id, 8-byte originator title, empty recipient,
// date-time and other-information (one length byte each), a length of up to 3 bytes, the
// security header and the 12-byte tag. glo-/ded- APDUs need less.
constexpr qsizetype CipheringOverhead = 1 + 1 + 9 + 1 + 1 + 1 + 3 + security::HeaderSize + security::TagSize;

// The security bits (authenticated, encrypted) a policy demands.
quint8 requiredBits(SecurityPolicy policy)
{
    return security::securityControl(policy) & (security::ControlAuthenticated | security::ControlEncrypted);
}

bool covers(quint8 control, quint8 required)
{
    return (control & required) == required;
}

bool isServiceRequest(quint8 tagByte)
{
    return tagByte == tag::GetRequest || tagByte == tag::SetRequest || tagByte == tag::ActionRequest;
}

// The meter's own material is usable for HLS-GMAC and ciphering (a configured title or key of
// the wrong size is refused at the AARQ rather than failing mid-association).
bool usable(const SecuritySettings &keys)
{
    return keys.systemTitle.size() == security::SystemTitleSize
        && keys.blockCipherKey.size() == security::KeySize
        && keys.authenticationKey.size() == security::KeySize;
}

void rejectAare(Aare &aare, AcseUserDiagnostic diagnostic)
{
    aare.result = AssociationResult::RejectedPermanent;
    aare.diagnosticSource = DiagnosticSource::ServiceUser;
    aare.diagnostic = quint8(diagnostic);
    aare.initiate.reset();
    aare.cipheredInitiate.clear();
    aare.respondingAuthenticationValue.clear();
}

void refuseAareInitiate(Aare &aare, quint8 errorType, quint8 value)
{
    rejectAare(aare, AcseUserDiagnostic::NoReasonGiven);
    aare.initiateErrorType = errorType;
    aare.initiateErrorValue = value;
}

constexpr quint8 MinimumDlmsVersion = 6;
constexpr quint16 MinimumClientPdu = 12;

// What this meter offers; the AARE grants the intersection with the client's proposal.
constexpr quint32 SupportedConformance = ConformanceGet | ConformanceSet | ConformanceAction
    | ConformanceSelectiveAccess | ConformanceBlockTransferWithGet | ConformancePriorityManagement;

// Compares every byte whatever the first difference, so the time taken says nothing about how
// much of a guessed password was right.
bool sameSecret(QByteArrayView given, QByteArrayView expected)
{
    const qsizetype n = std::max(given.size(), expected.size());
    quint32 diff = given.size() == expected.size() ? 0 : 1;
    for (qsizetype i = 0; i < n; ++i) {
        const quint8 a = i < given.size() ? quint8(given[i]) : 0;
        const quint8 b = i < expected.size() ? quint8(expected[i]) : 0;
        diff |= quint32(a ^ b);
    }
    return diff == 0;
}

qsizetype berLengthSize(qsizetype length)
{
    QByteArray encoded;
    axdr::encodeLength(quint32(length), encoded);
    return encoded.size();
}

// The most raw-data bytes a GET-Response-With-Datablock APDU of at most `limit` bytes carries:
// tag, choice, invoke-id, last-block, block number (4), raw-data choice, length, data.
qsizetype blockCapacity(qsizetype limit)
{
    constexpr qsizetype Fixed = 1 + 1 + 1 + 1 + 4 + 1;
    qsizetype n = limit - Fixed - 3;
    for (qsizetype lengthSize = 1; lengthSize <= 3; ++lengthSize) {
        const qsizetype candidate = limit - Fixed - lengthSize;
        if (berLengthSize(candidate) == lengthSize) {
            n = candidate;
            break;
        }
    }
    return std::max<qsizetype>(n, 1);
}

// The answers badSequenceFrames acts on: everything but the AARE and the RLRE.
bool isDataResponse(QByteArrayView apdu)
{
    if (apdu.isEmpty())
        return false;
    switch (quint8(apdu.front())) {
    case tag::GetResponse:
    case tag::SetResponse:
    case tag::ActionResponse:
    case tag::ExceptionResponse:
    case tag::ConfirmedServiceError:
        return true;
    default:
        // Ciphered answers only ever protect data responses (AAREs carry theirs inside).
        return security::isCipheredTag(quint8(apdu.front()));
    }
}

void appendGetResponseHeader(QByteArray &out, GetResponse::Kind kind, InvokeIdAndPriority invoke)
{
    out.append(char(tag::GetResponse));
    out.append(char(kind));
    out.append(char(invoke.toByte()));
}

} // namespace

ServerSession::ServerSession(MeterModel &model, Transport transport) : m_model(model), m_transport(transport)
{
}

void ServerSession::feed(QByteArrayView bytes)
{
    if (m_transport == Transport::Wrapper) {
        m_wrapperIn.feed(bytes);
        receiveWrapper();
    } else {
        m_hdlcIn.feed(bytes);
        receiveHdlc();
    }
}

std::vector<QByteArray> ServerSession::takeOutgoing()
{
    return std::exchange(m_outgoing, {});
}

void ServerSession::receiveWrapper()
{
    const quint16 logical = m_model.settings().logicalAddress;
    while (auto next = m_wrapperIn.next()) {
        // The wrapper deframer reports nothing but skipped garbage; its bytes are counted below.
        if (!next->ok())
            continue;
        const wrapper::Frame &frame = next->value();
        if (frame.destinationPort != logical) {
            ++m_counters.ignoredFrames;
            continue;
        }
        // An association belongs to the client SAP that opened it; only an AARQ from another
        // SAP is heard (and replaces it).
        if (m_association && frame.sourcePort != m_association->clientSap
            && (frame.apdu.isEmpty() || quint8(frame.apdu.front()) != tag::Aarq)) {
            ++m_counters.ignoredFrames;
            continue;
        }
        m_clientAddress = frame.sourcePort;
        handleApdu(frame.apdu);
    }
    m_counters.garbageBytes = quint64(m_wrapperIn.discardedBytes());
}

void ServerSession::receiveHdlc()
{
    while (auto next = m_hdlcIn.next()) {
        if (!next->ok()) {
            // A run of skipped bytes is garbage; an error that discarded nothing new is a frame
            // that failed its checks.
            if (m_hdlcIn.discardedBytes() == m_discardedSeen)
                ++m_counters.malformed;
            m_discardedSeen = m_hdlcIn.discardedBytes();
            continue;
        }
        m_discardedSeen = m_hdlcIn.discardedBytes();
        handleHdlcFrame(next->value());
    }
    m_counters.garbageBytes = quint64(m_hdlcIn.discardedBytes());
}

void ServerSession::handleHdlcFrame(const hdlc::Frame &frame)
{
    const MeterSettings &settings = m_model.settings();
    if (frame.destination.upper != settings.logicalAddress
        || (settings.physicalAddress != 0 && frame.destination.lower != settings.physicalAddress)) {
        ++m_counters.ignoredFrames;
        return;
    }
    const bool snrm = frame.type() == hdlc::FrameType::SNRM;
    if (m_sequenceBroken) {
        // badSequenceFrames: the meter's link is out of step until the client resets it.
        if (!snrm && frame.type() != hdlc::FrameType::DISC) {
            ++m_counters.ignoredFrames;
            return;
        }
        m_sequenceBroken = false;
    }
    if (snrm) {
        // A new link starts without an association, whoever asks.
        endAssociation();
    }
    if (snrm || !m_link) {
        // Answer from exactly the address the client used; a link created by anything but SNRM
        // stays disconnected and answers DM.
        m_link.emplace(hdlc::Link::Role::Server, frame.destination, frame.source, settings.hdlc);
    }
    m_clientAddress = frame.source.upper;
    for (hdlc::Link::Event &event : m_link->handleFrame(frame)) {
        switch (event.kind) {
        case hdlc::Link::Event::Kind::Connected:
            break;
        case hdlc::Link::Event::Kind::Disconnected:
            endAssociation();
            break;
        case hdlc::Link::Event::Kind::Apdu:
            handleApdu(event.apdu);
            break;
        case hdlc::Link::Event::Kind::Error:
            if (event.error.code == ErrorCode::BadAddress)
                ++m_counters.ignoredFrames;
            else
                ++m_counters.malformed;
            break;
        }
    }
    flushLink();
}

void ServerSession::flushLink()
{
    if (!m_link)
        return;
    for (hdlc::Frame &frame : m_link->takeOutgoing()) {
        if (m_corruptNextIFrame && frame.type() == hdlc::FrameType::I) {
            // N(S) one too high: the client sees a gap in the sequence and drops the frame.
            frame.control
                = hdlc::control::i(quint8((frame.sendSeq() + 1) & 0x07), frame.recvSeq(), frame.pollFinal());
            m_corruptNextIFrame = false;
            m_sequenceBroken = true;
            ++m_badSequenceSent;
        }
        QByteArray bytes;
        if (hdlc::encode(frame, bytes))
            m_outgoing.push_back(std::move(bytes));
    }
}

void ServerSession::handleApdu(QByteArrayView apdu)
{
    ++m_counters.apdusReceived;
    if (apdu.size() > requestLimit()) {
        // Never decoded: a request we said we cannot receive may not cost us anything.
        ++m_counters.malformed;
        sendException(ServiceNotAllowed, PduTooLong);
        return;
    }
    const quint8 tagByte = apdu.isEmpty() ? 0 : quint8(apdu.front());
    switch (tagByte) {
    case tag::Aarq:
        handleAarq(apdu);
        return;
    case tag::Rlrq:
        handleRlrq(apdu);
        return;
    case tag::GetRequest:
    case tag::SetRequest:
    case tag::ActionRequest:
        if (m_association && m_association->ciphered) {
            // A ciphered association takes nothing in clear.
            sendException(ServiceNotAllowed, OperationNotPossible);
            return;
        }
        handleService(tagByte, apdu);
        return;
    default:
        if (security::isCipheredTag(tagByte)) {
            handleCiphered(apdu);
            return;
        }
        ++m_counters.malformed;
        if (m_association)
            sendException(ServiceUnknown, ServiceNotSupported);
        else
            sendException(ServiceNotAllowed, OperationNotPossible);
        return;
    }
}

void ServerSession::handleAarq(QByteArrayView apdu)
{
    // Whatever the outcome, the previous association is gone.
    endAssociation();

    const MeterSettings &settings = m_model.settings();
    const SecuritySettings &keys = settings.security;
    const auto aarq = decodeAarq(apdu);
    Aare aare;
    auto reject = [&aare](AcseUserDiagnostic diagnostic) { rejectAare(aare, diagnostic); };

    if (!aarq) {
        ++m_counters.malformed;
        reject(aarq.error().code == ErrorCode::Unsupported
                ? AcseUserDiagnostic::ApplicationContextNameNotSupported
                : AcseUserDiagnostic::NoReasonGiven);
    } else if (m_model.faults().rejectAssociation) {
        reject(AcseUserDiagnostic::NoReasonGiven);
    } else {
        aare.ciphered = aarq->ciphered;
        const Authentication mechanism = aarq->authentication;
        const bool hls = mechanism == Authentication::HighGmac;
        const bool ciphered = aarq->ciphered;
        if (ciphered == aarq->cipheredInitiate.isEmpty() || (!ciphered && keys.ciphered())) {
            reject(AcseUserDiagnostic::ApplicationContextNameNotSupported);
        } else if (mechanism != Authentication::None && mechanism != Authentication::Low && !hls) {
            reject(AcseUserDiagnostic::AuthenticationMechanismNameNotRecognised);
        } else if (settings.requireHighSecurity && !hls) {
            reject(AcseUserDiagnostic::AuthenticationMechanismNameRequired);
        } else if (mechanism == Authentication::None && settings.requireAuthentication) {
            reject(AcseUserDiagnostic::AuthenticationRequired);
        } else if (mechanism == Authentication::Low
            && !sameSecret(aarq->authenticationValue, settings.password)) {
            reject(AcseUserDiagnostic::AuthenticationFailure);
        } else if ((hls || ciphered) && aarq->callingApTitle.size() != security::SystemTitleSize) {
            reject(AcseUserDiagnostic::CallingApTitleNotRecognized);
        } else if (hls
            && (aarq->authenticationValue.size() < MinClientChallenge
                || aarq->authenticationValue.size() > MaxClientChallenge)) {
            reject(AcseUserDiagnostic::AuthenticationFailure);
        } else if ((hls || ciphered) && !usable(keys)) {
            reject(AcseUserDiagnostic::NoReasonGiven);
        } else {
            std::optional<InitiateRequest> initiate = aarq->initiate;
            if (ciphered)
                initiate = openInitiate(*aarq, aare);
            if (!initiate) {
                // openInitiate has said why in the AARE.
            } else if (initiate->dlmsVersion < MinimumDlmsVersion) {
                refuseAareInitiate(aare, InitiateErrorType, DlmsVersionTooLow);
            } else if (initiate->clientMaxReceivePduSize != 0
                && initiate->clientMaxReceivePduSize < MinimumClientPdu) {
                refuseAareInitiate(aare, InitiateErrorType, PduSizeTooShort);
            } else {
                acceptAssociation(*aarq, *initiate, aare);
            }
            if (initiate)
                initiate->dedicatedKey.fill('\0'); // a refused association keeps no key
        }
    }
    m_reply = {};

    if (m_association)
        ++m_counters.associationsAccepted;
    else
        ++m_counters.associationsRejected;
    m_scratch.clear();
    encode(aare, m_scratch);
    sendApdu(m_scratch);
}

void ServerSession::acceptAssociation(const Aarq &aarq, InitiateRequest &initiate, Aare &aare)
{
    const MeterSettings &settings = m_model.settings();
    const SecuritySettings &keys = settings.security;
    const bool hls = aarq.authentication == Authentication::HighGmac;
    const bool ciphered = aarq.ciphered;

    quint32 supported = SupportedConformance;
    if (settings.multipleReferences)
        supported |= ConformanceMultipleReferences;
    InitiateResponse response;
    response.dlmsVersion = MinimumDlmsVersion;
    response.negotiatedConformance = initiate.proposedConformance & supported;
    response.serverMaxReceivePduSize = settings.maxPduSize;
    aare.initiate = response;
    aare.authentication = aarq.authentication;
    if (hls || ciphered)
        aare.respondingApTitle = keys.systemTitle;

    if (ciphered) {
        // Answered the way it was asked: glo- or general-glo, with the request's SC.
        QByteArray plain;
        encode(response, plain);
        const auto ic = m_model.takeInvocationCounter();
        const quint8 control = m_reply.control;
        const auto protectedResponse = !ic ? Result<QByteArray>(makeError(ErrorCode::InvalidArgument, {}))
            : m_reply.kind == Ciphering::General
            ? security::encodeGeneralCiphered(
                false, control, keys.systemTitle, *ic, keys.blockCipherKey, keys.authenticationKey, plain)
            : security::encodeServiceCiphered(
                false, control, keys.systemTitle, *ic, keys.blockCipherKey, keys.authenticationKey, plain);
        if (!protectedResponse) {
            rejectAare(aare, AcseUserDiagnostic::NoReasonGiven);
            return;
        }
        aare.cipheredInitiate = *protectedResponse;
    }
    if (hls) {
        m_serverChallenge
            = m_fixedChallenge.isEmpty() ? security::randomBytes(ServerChallengeSize) : m_fixedChallenge;
        if (m_serverChallenge.isEmpty()) {
            // No randomness to be had: no challenge worth the name.
            rejectAare(aare, AcseUserDiagnostic::NoReasonGiven);
            return;
        }
        m_clientChallenge = aarq.authenticationValue;
        aare.respondingAuthenticationValue = m_serverChallenge;
    }

    Association association;
    association.level = aarq.authentication == Authentication::Low ? AccessLevel::Low : AccessLevel::Public;
    association.clientSap = m_clientAddress;
    association.serverSap = settings.logicalAddress;
    association.authentication = aarq.authentication;
    association.ciphered = ciphered;
    association.conformance = response.negotiatedConformance;
    association.clientMaxPdu = initiate.clientMaxReceivePduSize;
    association.serverMaxPdu = settings.maxPduSize;
    m_association = association;
    m_hlsPending = hls;
    if (hls || ciphered)
        m_clientTitle = aarq.callingApTitle;
    if (ciphered) {
        m_requiredControl = m_reply.control & requiredBits(SecurityPolicy::AuthenticatedEncrypted);
        m_dedicatedKey = std::exchange(initiate.dedicatedKey, {});
    }
}

std::optional<InitiateRequest> ServerSession::openInitiate(const Aarq &aarq, Aare &aare)
{
    const SecuritySettings &keys = m_model.settings().security;
    auto decipherFailed = [&] {
        refuseAareInitiate(aare, ApplicationReferenceErrorType, ApplicationReferenceDecipheringError);
        return std::nullopt;
    };

    const auto apdu = security::decodeCipheredApdu(aarq.cipheredInitiate);
    if (!apdu) {
        ++m_counters.malformed;
        ++m_counters.decipherFailures;
        return decipherFailed();
    }
    const bool general = apdu->tag == security::tag::GeneralGloCiphering;
    if ((apdu->tag != security::tag::GloInitiateRequest && !general)
        || (general && apdu->systemTitle != aarq.callingApTitle)) {
        ++m_counters.decipherFailures;
        return decipherFailed();
    }
    const quint32 ic = apdu->invocationCounter();
    if (!m_model.clientInvocationCounterFresh(aarq.callingApTitle, ic)) {
        ++m_counters.replaysRejected;
        return decipherFailed();
    }
    auto opened = security::unprotect(
        aarq.callingApTitle, keys.blockCipherKey, keys.authenticationKey, apdu->protectedText);
    if (!opened) {
        ++m_counters.decipherFailures;
        return decipherFailed();
    }
    // Encrypted only, a wrong key shows here: the plaintext is not an InitiateRequest.
    auto initiate = decodeInitiateRequest(opened->plaintext);
    opened->plaintext.fill('\0'); // it may hold the dedicated key
    if (!initiate) {
        ++m_counters.decipherFailures;
        return decipherFailed();
    }
    m_model.acceptClientInvocationCounter(aarq.callingApTitle, ic);

    const quint8 control = opened->control;
    if (!covers(control, requiredBits(keys.policy))
        || (!initiate->dedicatedKey.isEmpty() && initiate->dedicatedKey.size() != security::KeySize)) {
        initiate->dedicatedKey.fill('\0');
        refuseAareInitiate(aare, InitiateErrorType, InitiateOther);
        return std::nullopt;
    }
    m_reply = {general ? Ciphering::General : Ciphering::Service, false, control};
    return std::move(initiate).value();
}

void ServerSession::handleRlrq(QByteArrayView apdu)
{
    // A client that wants out gets out, even with an RLRQ we cannot read.
    if (!decodeRlrq(apdu))
        ++m_counters.malformed;
    endAssociation();
    m_scratch.clear();
    encode(Rlre {}, m_scratch);
    sendApdu(m_scratch);
}

void ServerSession::handleService(quint8 tagByte, QByteArrayView apdu)
{
    if (!m_association || m_model.faults().exceptionResponses) {
        sendException(ServiceNotAllowed, OperationNotPossible);
        return;
    }
    const quint32 conformance = m_association->conformance;
    const quint32 needed = tagByte == tag::GetRequest ? ConformanceGet
        : tagByte == tag::SetRequest                  ? ConformanceSet
                                                      : ConformanceAction;
    if (!(conformance & needed)) {
        sendException(ServiceNotAllowed, ServiceNotSupported);
        return;
    }
    if (m_hlsPending) {
        // HLS passes 3 and 4: reply_to_HLS_authentication is all there is until it succeeds.
        const auto request = tagByte == tag::ActionRequest
            ? decodeActionRequest(apdu)
            : Result<ActionRequest>(makeError(ErrorCode::Malformed, {}));
        if (request && request->method.classId == AssociationClass
            && request->method.instance == AssociationObis
            && request->method.methodId == ReplyToHlsAuthentication)
            handleHlsReply(*request);
        else
            sendException(ServiceNotAllowed, OperationNotPossible);
        return;
    }
    switch (tagByte) {
    case tag::GetRequest: {
        const auto request = decodeGetRequest(apdu);
        if (!request)
            break;
        if (request->kind != GetRequest::Kind::Next) {
            handleGet(*request);
        } else if (!(conformance & ConformanceBlockTransferWithGet)) {
            sendException(ServiceNotAllowed, ServiceNotSupported);
        } else {
            handleGetNext(*request);
        }
        return;
    }
    case tag::SetRequest: {
        const auto request = decodeSetRequest(apdu);
        if (!request)
            break;
        SetResponse response;
        response.invoke = request->invoke;
        response.result = m_model.set(request->item.attribute, request->value, *m_association);
        m_scratch.clear();
        encode(response, m_scratch);
        sendResponse(m_scratch);
        return;
    }
    case tag::ActionRequest: {
        const auto request = decodeActionRequest(apdu);
        if (!request)
            break;
        ActionResponse response = m_model.action(request->method, request->parameters, *m_association);
        response.kind = ActionResponse::Kind::Normal;
        response.invoke = request->invoke;
        m_scratch.clear();
        encode(response, m_scratch);
        sendResponse(m_scratch);
        return;
    }
    default:
        break;
    }
    if (m_reply.kind != Ciphering::None && !(m_reply.control & security::ControlAuthenticated)) {
        // Encrypted only: nothing verified the key, and a wrong one shows as undecodable text.
        sendDecipherFailure();
        return;
    }
    ++m_counters.malformed;
    sendException(ServiceUnknown, ServiceNotSupported);
}

void ServerSession::handleCiphered(QByteArrayView apdu)
{
    if (!m_association || !m_association->ciphered) {
        // No keys were agreed on this connection to open it with.
        sendException(ServiceNotAllowed, OperationNotPossible);
        return;
    }
    const SecuritySettings &keys = m_model.settings().security;
    const auto ciphered = security::decodeCipheredApdu(apdu);
    if (!ciphered) {
        ++m_counters.malformed;
        sendDecipherFailure();
        return;
    }
    const quint8 cipheredTag = ciphered->tag;
    const bool general = cipheredTag == security::tag::GeneralGloCiphering
        || cipheredTag == security::tag::GeneralDedCiphering;
    const bool dedicated = security::isDedicatedTag(cipheredTag);
    const std::optional<quint8> plainTag = security::plainTagOf(cipheredTag);
    if (!general && (!plainTag || !isServiceRequest(*plainTag))) {
        ++m_counters.malformed;
        sendException(ServiceUnknown, ServiceNotSupported);
        return;
    }
    // general-ciphering names its sender; it must be the client that associated.
    if ((general && ciphered->systemTitle != m_clientTitle) || (dedicated && m_dedicatedKey.isEmpty())) {
        sendDecipherFailure();
        return;
    }
    const quint8 control = ciphered->control();
    if (!covers(control, m_requiredControl)) {
        sendException(ServiceNotAllowed, OperationNotPossible);
        return;
    }
    const quint32 ic = ciphered->invocationCounter();
    if (!m_model.clientInvocationCounterFresh(m_clientTitle, ic)) {
        ++m_counters.replaysRejected;
        const quint32 expected = m_model.lastClientInvocationCounter(m_clientTitle).value_or(0) + 1;
        sendException(ServiceNotAllowed, InvocationCounterError, expected);
        return;
    }
    const QByteArray &key = dedicated ? m_dedicatedKey : keys.blockCipherKey;
    auto opened = security::unprotect(m_clientTitle, key, keys.authenticationKey, ciphered->protectedText);
    if (!opened) {
        sendDecipherFailure();
        return;
    }
    const quint8 innerTag = opened->plaintext.isEmpty() ? 0 : quint8(opened->plaintext.front());
    if (general ? !isServiceRequest(innerTag) : innerTag != *plainTag) {
        if (!(control & security::ControlAuthenticated)) {
            sendDecipherFailure();
        } else {
            ++m_counters.malformed;
            sendException(ServiceUnknown, ServiceNotSupported);
        }
        return;
    }
    m_model.acceptClientInvocationCounter(m_clientTitle, ic);
    m_reply = {general ? Ciphering::General : Ciphering::Service, dedicated, control};
    handleService(innerTag, opened->plaintext);
    m_reply = {};
}

void ServerSession::handleHlsReply(const ActionRequest &request)
{
    const SecuritySettings &keys = m_model.settings().security;
    ActionResponse response;
    response.invoke = request.invoke;
    response.result = DataAccessResult::OtherReason;
    const bool octets = request.parameters && request.parameters->type() == DataType::OctetString;
    const auto verified = octets ? security::verifyGmacResponse(m_clientTitle, keys.blockCipherKey,
                              keys.authenticationKey, m_serverChallenge, request.parameters->bytes())
                                 : Result<quint32>(makeError(ErrorCode::AuthenticationFailed, {}));
    // A proof whose counter the meter has already seen from this client is a replay, even when
    // it verifies: recorded only once it has verified, so a forged one cannot move the guard.
    const bool fresh = verified && m_model.clientInvocationCounterFresh(m_clientTitle, *verified);
    if (verified && !fresh)
        ++m_counters.replaysRejected;
    if (fresh) {
        // Pass 4: our own proof, f(CtoS) under our title and the next of our counters.
        m_model.acceptClientInvocationCounter(m_clientTitle, *verified);
        const auto ic = m_model.takeInvocationCounter();
        const auto proof = ic ? security::gmacResponse(keys.systemTitle, *ic, keys.blockCipherKey,
                               keys.authenticationKey, m_clientChallenge)
                              : Result<QByteArray>(makeError(ErrorCode::InvalidArgument, {}));
        if (proof) {
            response.result = DataAccessResult::Success;
            response.returnParameters = DataResult {DataAccessResult::Success, Value::octetString(*proof)};
            m_hlsPending = false;
            m_association->level = AccessLevel::High;
        }
    } else if (!verified) {
        ++m_counters.authenticationFailures;
    }
    m_scratch.clear();
    encode(response, m_scratch);
    sendResponse(m_scratch);
}

void ServerSession::handleGet(const GetRequest &request)
{
    // A new GET abandons whatever long GET was going on.
    m_transfer.reset();
    const bool list = request.kind == GetRequest::Kind::WithList;
    if (list && !(m_association->conformance & ConformanceMultipleReferences)) {
        sendException(ServiceNotAllowed, ServiceNotSupported);
        return;
    }

    // Each result is encoded as soon as it is evaluated, so at most one Value tree is alive, and
    // the encoded answer never passes m_maxResponseBytes.
    QByteArray encoded;
    if (!list) {
        DataResult result = request.items.empty() ? DataResult {DataAccessResult::OtherReason, {}}
                                                  : evaluate(request.items.front());
        if (result.ok()) {
            encodeDataResult(result, encoded);
            result = {};
            if (encoded.size() > m_maxResponseBytes) {
                encoded.clear();
                result.result = DataAccessResult::TemporaryFailure;
            }
        }
        if (!result.ok()) {
            GetResponse response;
            response.invoke = request.invoke;
            response.results.push_back(std::move(result));
            m_scratch.clear();
            encode(response, m_scratch);
            sendResponse(m_scratch);
            return;
        }
        sendGetResults(request, std::move(encoded), 1);
        return;
    }

    axdr::encodeLength(quint32(request.items.size()), encoded);
    bool full = false;
    const DataResult refused {DataAccessResult::TemporaryFailure, {}};
    for (const AttributeRequest &item : request.items) {
        if (!full) {
            const qsizetype before = encoded.size();
            encodeGetDataResult(evaluate(item), encoded);
            if (encoded.size() <= m_maxResponseBytes)
                continue;
            encoded.truncate(before);
            full = true;
        }
        encodeGetDataResult(refused, encoded);
    }
    sendGetResults(request, std::move(encoded), request.items.size());
}

DataResult ServerSession::evaluate(const AttributeRequest &item) const
{
    if (item.access && !(m_association->conformance & ConformanceSelectiveAccess))
        return {DataAccessResult::ScopeOfAccessViolated, {}};
    return m_model.get(item.attribute, item.access, *m_association);
}

void ServerSession::sendGetResults(const GetRequest &request, QByteArray encoded, size_t count)
{
    const bool list = request.kind == GetRequest::Kind::WithList;
    const qsizetype limit = responseLimit();
    const qsizetype header = list ? 3 : 4;
    if (header + encoded.size() <= limit) {
        m_scratch.clear();
        m_scratch.reserve(header + encoded.size());
        appendGetResponseHeader(
            m_scratch, list ? GetResponse::Kind::WithList : GetResponse::Kind::Normal, request.invoke);
        if (!list)
            m_scratch.append(char(0x00)); // Get-Data-Result: data
        m_scratch.append(encoded);
        sendResponse(m_scratch);
        return;
    }

    if (!(m_association->conformance & ConformanceBlockTransferWithGet)) {
        // Too large and the client cannot take blocks: nothing we can send would be valid data.
        GetResponse response;
        response.invoke = request.invoke;
        response.kind = list ? GetResponse::Kind::WithList : GetResponse::Kind::Normal;
        response.results.assign(count, DataResult {DataAccessResult::OtherReason, {}});
        m_scratch.clear();
        encode(response, m_scratch);
        sendResponse(m_scratch);
        return;
    }

    BlockTransfer transfer;
    transfer.data = std::move(encoded);
    transfer.blockSize = blockCapacity(limit);
    transfer.invoke = request.invoke;
    m_transfer = std::move(transfer);
    sendNextBlock();
}

void ServerSession::handleGetNext(const GetRequest &request)
{
    if (!m_transfer) {
        sendBlockError(request, DataAccessResult::NoLongGetInProgress);
        return;
    }
    if (request.blockNumber != m_transfer->blockNumber) {
        m_transfer.reset();
        sendBlockError(request, DataAccessResult::DataBlockNumberInvalid);
        return;
    }
    m_transfer->invoke = request.invoke;
    sendNextBlock();
}

void ServerSession::sendNextBlock()
{
    BlockTransfer &transfer = *m_transfer;
    const qsizetype n = std::min(transfer.blockSize, transfer.data.size() - transfer.offset);
    const bool last = transfer.offset + n == transfer.data.size();
    ++transfer.blockNumber;

    // The block is written straight from the encoded result: no copy of what remains.
    m_scratch.clear();
    m_scratch.reserve(16 + n);
    appendGetResponseHeader(m_scratch, GetResponse::Kind::WithDatablock, transfer.invoke);
    m_scratch.append(char(last ? 1 : 0));
    const quint32 number = transfer.blockNumber;
    const char numberBytes[4] = {char(number >> 24), char(number >> 16), char(number >> 8), char(number)};
    m_scratch.append(numberBytes, 4);
    m_scratch.append(char(0x00)); // raw-data
    axdr::encodeLength(quint32(n), m_scratch);
    m_scratch.append(QByteArrayView(transfer.data).sliced(transfer.offset, n));
    transfer.offset += n;
    ++m_counters.blocksSent;
    if (last)
        m_transfer.reset();
    sendResponse(m_scratch);
}

void ServerSession::sendBlockError(const GetRequest &request, DataAccessResult error)
{
    GetResponse response;
    response.kind = GetResponse::Kind::WithDatablock;
    response.invoke = request.invoke;
    response.lastBlock = true;
    response.blockNumber = request.blockNumber;
    response.blockError = error;
    m_scratch.clear();
    encode(response, m_scratch);
    ++m_counters.blocksSent;
    sendResponse(m_scratch);
}

void ServerSession::sendException(quint8 stateError, quint8 serviceError, quint32 invocationCounter)
{
    ExceptionResponse response;
    response.stateError = stateError;
    response.serviceError = serviceError;
    response.invocationCounter = invocationCounter;
    m_scratch.clear();
    encode(response, m_scratch);
    sendApdu(m_scratch);
}

void ServerSession::sendDecipherFailure()
{
    ++m_counters.decipherFailures;
    sendException(ServiceNotAllowed, DecipheringError);
}

void ServerSession::sendResponse(QByteArrayView apdu)
{
    if (m_reply.kind == Ciphering::None) {
        sendApdu(apdu);
        return;
    }
    const SecuritySettings &keys = m_model.settings().security;
    const QByteArray &key = m_reply.dedicated ? m_dedicatedKey : keys.blockCipherKey;
    const auto ic = m_model.takeInvocationCounter();
    if (!ic) {
        sendException(ServiceNotAllowed, OperationNotPossible);
        return;
    }
    const auto protectedApdu = m_reply.kind == Ciphering::General
        ? security::encodeGeneralCiphered(
            m_reply.dedicated, m_reply.control, keys.systemTitle, *ic, key, keys.authenticationKey, apdu)
        : security::encodeServiceCiphered(
            m_reply.dedicated, m_reply.control, keys.systemTitle, *ic, key, keys.authenticationKey, apdu);
    if (!protectedApdu) {
        sendException(ServiceNotAllowed, OperationNotPossible);
        return;
    }
    sendApdu(*protectedApdu);
}

void ServerSession::sendApdu(QByteArrayView apdu)
{
    if (m_transport == Transport::Wrapper) {
        QByteArray frame;
        frame.reserve(wrapper::HeaderSize + apdu.size());
        if (!wrapper::encode(m_model.settings().logicalAddress, m_clientAddress, apdu, frame))
            return;
        m_outgoing.push_back(std::move(frame));
        ++m_counters.apdusSent;
        return;
    }
    // The link refuses while the previous answer is still being segmented out: a client that
    // does not wait for its answers loses the later ones.
    if (!m_link || !m_link->sendApdu(apdu))
        return;
    ++m_counters.apdusSent;
    if (m_badSequenceSent < m_model.faults().badSequenceFrames && isDataResponse(apdu))
        m_corruptNextIFrame = true;
}

void ServerSession::endAssociation()
{
    m_association.reset();
    m_transfer.reset();
    m_dedicatedKey.fill('\0');
    m_dedicatedKey.clear();
    m_clientTitle.clear();
    m_clientChallenge.clear();
    m_serverChallenge.clear();
    m_requiredControl = 0;
    m_hlsPending = false;
}

qsizetype ServerSession::requestLimit() const
{
    const quint16 server = m_model.settings().maxPduSize;
    return server == 0 ? 0xFFFF : server;
}

qsizetype ServerSession::responseLimit() const
{
    const quint16 server = m_model.settings().maxPduSize;
    const quint16 client = m_association ? m_association->clientMaxPdu : 0;
    const qsizetype limit = std::min<qsizetype>(server == 0 ? 0xFFFF : server, client == 0 ? 0xFFFF : client);
    // On a ciphered association every answer is protected: the plain APDU leaves room for that.
    if (m_association && m_association->ciphered)
        return std::max<qsizetype>(limit - CipheringOverhead, 16);
    return limit;
}

} // namespace sim
