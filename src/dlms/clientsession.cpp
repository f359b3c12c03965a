#include "clientsession.h"

#include <QtCore/QLoggingCategory>

#include <algorithm>

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

void ClientSession::sendApdu(const QByteArray &apdu)
{
    const FrameKind kind = classifyApdu(apdu);

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
    if (m_link) {
        m_link->reset();
        m_link->connect();
        setState(State::LinkConnecting);
        flushLink();
    } else {
        sendAarq();
    }
}

void ClientSession::sendAarq()
{
    Aarq aarq;
    aarq.authentication = m_config.authentication;
    if (m_config.authentication == Authentication::Low)
        aarq.authenticationValue = m_config.password;
    aarq.initiate.proposedConformance = m_config.proposedConformance;
    aarq.initiate.clientMaxReceivePduSize = m_config.maxReceivePduSize;
    m_scratch.clear();
    encode(aarq, m_scratch);
    setState(State::Associating);
    sendApdu(m_scratch);
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
    sendApdu(m_scratch);
}

void ClientSession::finishRelease()
{
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
        if (m_serverMaxPdu != 0 && m_scratch.size() > m_serverMaxPdu) {
            Response refused;
            refused.id = request.id;
            refused.service = request.service;
            refused.error = makeError(ErrorCode::InvalidArgument,
                QStringLiteral("request of %1 bytes exceeds the meter's maximum PDU of %2 bytes")
                    .arg(m_scratch.size())
                    .arg(m_serverMaxPdu));
            emitResponse(std::move(refused));
            continue;
        }
        m_current = std::move(request);
        m_blockData.clear();
        m_blocks = 0;
        m_expectedBlock = 1;
        setState(State::Busy);
        sendApdu(m_scratch);
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
    countFrame(Direction::Received, classifyApdu(frame.apdu), size, true);
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
            m_rxKind = frame.info.size() > 3 ? classifyApdu(QByteArrayView(frame.info).sliced(3))
                                             : FrameKind::Other;
        kind = m_rxKind;
        m_rxInApdu = frame.segmented;
    }
    for (const hdlc::Link::Event &event : linkEvents) {
        if (event.kind == hdlc::Link::Event::Kind::Apdu) {
            completes = true;
            kind = classifyApdu(event.apdu);
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
        handleAare(apdu);
        return;
    case State::Busy:
        handleResponseApdu(apdu);
        return;
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
            if (const auto ex = decodeExceptionResponse(apdu))
                why = QStringLiteral("the meter answered the AARQ with an exception: %1").arg(ex->describe());
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
    setState(State::Ready);
    pushEvent(Event::Type::Associated).aare = std::move(aare.value());
    startNextRequest();
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
        failCurrent(ex
                ? makeError(ErrorCode::Rejected, QStringLiteral("exception-response: %1").arg(ex->describe()))
                : ex.error());
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
        sendApdu(m_scratch);
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
