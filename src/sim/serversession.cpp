#include "serversession.h"

#include <algorithm>

namespace sim {

using namespace dlms;

namespace {

// EXCEPTION-Response state-error and service-error values (IEC 62056-5-3).
constexpr quint8 ServiceNotAllowed = 1;
constexpr quint8 ServiceUnknown = 2;
constexpr quint8 OperationNotPossible = 1;
constexpr quint8 ServiceNotSupported = 2;
// A request longer than the server's max receive PDU: the ServiceError value made for exactly
// that (IEC 62056-5-3 EXCEPTION-Response), rather than the vaguer other-reason.
constexpr quint8 PduTooLong = 4;

// ConfirmedServiceError ServiceError choice "initiate" and its values.
constexpr quint8 InitiateErrorType = 6;
constexpr quint8 DlmsVersionTooLow = 1;
constexpr quint8 PduSizeTooShort = 3;

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
        return false;
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
        handleService(tagByte, apdu);
        return;
    default:
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
    const auto aarq = decodeAarq(apdu);
    Aare aare;
    auto reject = [&aare](AcseUserDiagnostic diagnostic) {
        aare.result = AssociationResult::RejectedPermanent;
        aare.diagnosticSource = DiagnosticSource::ServiceUser;
        aare.diagnostic = quint8(diagnostic);
    };
    auto refuseInitiate = [&](quint8 value) {
        reject(AcseUserDiagnostic::NoReasonGiven);
        aare.initiateErrorType = InitiateErrorType;
        aare.initiateErrorValue = value;
    };

    if (!aarq) {
        ++m_counters.malformed;
        reject(aarq.error().code == ErrorCode::Unsupported
                ? AcseUserDiagnostic::ApplicationContextNameNotSupported
                : AcseUserDiagnostic::NoReasonGiven);
    } else if (m_model.faults().rejectAssociation) {
        reject(AcseUserDiagnostic::NoReasonGiven);
    } else if (aarq->ciphered || !aarq->cipheredInitiate.isEmpty()) {
        reject(AcseUserDiagnostic::ApplicationContextNameNotSupported);
    } else if (aarq->authentication != Authentication::None && aarq->authentication != Authentication::Low) {
        reject(AcseUserDiagnostic::AuthenticationMechanismNameNotRecognised);
    } else if (aarq->authentication == Authentication::None && settings.requireAuthentication) {
        reject(AcseUserDiagnostic::AuthenticationRequired);
    } else if (aarq->authentication == Authentication::Low
        && !sameSecret(aarq->authenticationValue, settings.password)) {
        reject(AcseUserDiagnostic::AuthenticationFailure);
    } else if (aarq->initiate.dlmsVersion < MinimumDlmsVersion) {
        refuseInitiate(DlmsVersionTooLow);
    } else if (aarq->initiate.clientMaxReceivePduSize != 0
        && aarq->initiate.clientMaxReceivePduSize < MinimumClientPdu) {
        refuseInitiate(PduSizeTooShort);
    } else {
        quint32 supported = SupportedConformance;
        if (settings.multipleReferences)
            supported |= ConformanceMultipleReferences;
        InitiateResponse initiate;
        initiate.dlmsVersion = MinimumDlmsVersion;
        initiate.negotiatedConformance = aarq->initiate.proposedConformance & supported;
        initiate.serverMaxReceivePduSize = settings.maxPduSize;
        aare.initiate = initiate;
        aare.authentication = aarq->authentication;

        Association association;
        association.level
            = aarq->authentication == Authentication::Low ? AccessLevel::Low : AccessLevel::Public;
        association.clientSap = m_clientAddress;
        association.serverSap = settings.logicalAddress;
        association.authentication = aarq->authentication;
        association.conformance = initiate.negotiatedConformance;
        association.clientMaxPdu = aarq->initiate.clientMaxReceivePduSize;
        association.serverMaxPdu = settings.maxPduSize;
        m_association = association;
    }

    if (m_association)
        ++m_counters.associationsAccepted;
    else
        ++m_counters.associationsRejected;
    m_scratch.clear();
    encode(aare, m_scratch);
    sendApdu(m_scratch);
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
        sendApdu(m_scratch);
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
        sendApdu(m_scratch);
        return;
    }
    default:
        break;
    }
    ++m_counters.malformed;
    sendException(ServiceUnknown, ServiceNotSupported);
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
            sendApdu(m_scratch);
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
        sendApdu(m_scratch);
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
        sendApdu(m_scratch);
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
    sendApdu(m_scratch);
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
    sendApdu(m_scratch);
}

void ServerSession::sendException(quint8 stateError, quint8 serviceError)
{
    ExceptionResponse response;
    response.stateError = stateError;
    response.serviceError = serviceError;
    m_scratch.clear();
    encode(response, m_scratch);
    sendApdu(m_scratch);
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
    return std::min<qsizetype>(server == 0 ? 0xFFFF : server, client == 0 ? 0xFFFF : client);
}

} // namespace sim
