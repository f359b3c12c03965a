#include "dlmsconnection.h"

#include "meterconfig.h"

#include <QtCore/QMetaMethod>
#include <QtCore/QPointer>
#include <QtCore/QTimer>
#include <QtNetwork/QTcpSocket>

using namespace Qt::StringLiterals;

// Error codes in failed(): Timeout for every expired timer; Rejected when the association was
// refused (aare() holds the AARE); ConnectionFailed when the TCP connection was refused or lost
// before the exchange finished.

namespace polling {

namespace {

bool isResponseKind(dlms::FrameKind kind)
{
    switch (kind) {
    case dlms::FrameKind::Aare:
    case dlms::FrameKind::GetResponse:
    case dlms::FrameKind::SetResponse:
    case dlms::FrameKind::ActionResponse:
    case dlms::FrameKind::Rlre:
    case dlms::FrameKind::Exception:
        return true;
    default:
        return false;
    }
}

} // namespace

namespace {

// A session without a counter would make its own, from 1, each time it is rebuilt: a value
// would be used twice under one key. The connection keeps one for its whole life instead.
DlmsConnection::Options withInvocationCounter(
    DlmsConnection::Options options, std::shared_ptr<dlms::InvocationCounter> previous = {})
{
    if (!options.client.invocationCounter)
        options.client.invocationCounter
            = previous ? std::move(previous) : std::make_shared<dlms::MemoryInvocationCounter>();
    return options;
}

} // namespace

DlmsConnection::DlmsConnection(Options options, QObject *parent)
    : QObject(parent), m_options(withInvocationCounter(std::move(options))), m_session(m_options.client),
      m_connectTimer(new QTimer(this)), m_requestTimer(new QTimer(this))
{
    m_connectTimer->setSingleShot(true);
    m_requestTimer->setSingleShot(true);
    // A coarse timer may fire up to 5 % early: an answer well inside the bound would be lost.
    m_connectTimer->setTimerType(Qt::PreciseTimer);
    m_requestTimer->setTimerType(Qt::PreciseTimer);
    connect(m_connectTimer, &QTimer::timeout, this, &DlmsConnection::onConnectTimeout);
    connect(m_requestTimer, &QTimer::timeout, this, &DlmsConnection::onRequestTimeout);
}

DlmsConnection::~DlmsConnection()
{
    if (!m_socket)
        return;
    m_socket->disconnect(this);
    m_socket->abort();
    if (m_socketCallbacks > 0) {
        // We are being deleted from inside one of the socket's own signals: it must outlive
        // the emission that is still on the stack.
        m_socket->setParent(nullptr);
        m_socket->deleteLater();
    }
}

QString DlmsConnection::peer() const
{
    return formatEndpoint(m_options.host, m_options.port);
}

void DlmsConnection::setState(State state)
{
    if (state == m_state)
        return;
    m_state = state;
    emit stateChanged(state);
}

void DlmsConnection::setOptions(Options options)
{
    m_options = withInvocationCounter(std::move(options), m_options.client.invocationCounter);
    // The session holds the client settings of the association in progress; it is rebuilt
    // from the new ones when the next connection opens.
    m_sessionStale = true;
}

void DlmsConnection::open()
{
    if (m_state != State::Closed)
        return;
    m_aare.reset();
    m_failure.reset();
    m_closePending = false;
    m_resync = Resync::None;
    m_events.clear();
    // The session is Idle whenever we are Closed (every ending aborts it); connect() resets it.
    if (std::exchange(m_sessionStale, false))
        m_session = dlms::ClientSession(m_options.client);

    m_socket = new QTcpSocket(this);
    // Requests are small and latency matters more than packet count.
    m_socket->setSocketOption(QAbstractSocket::LowDelayOption, 1);
    connect(m_socket, &QTcpSocket::connected, this, &DlmsConnection::onConnected);
    connect(m_socket, &QTcpSocket::readyRead, this, &DlmsConnection::onReadyRead);
    connect(m_socket, &QTcpSocket::errorOccurred, this, &DlmsConnection::onSocketError);
    connect(m_socket, &QTcpSocket::disconnected, this, &DlmsConnection::onSocketError);

    QPointer<DlmsConnection> guard(this);
    setState(State::Connecting);
    if (!guard || m_state != State::Connecting)
        return;
    m_connectTimer->start(m_options.connectTimeoutMs);
    m_socket->connectToHost(m_options.host, m_options.port);
}

void DlmsConnection::afterRequestQueued()
{
    if (m_state == State::Closed) {
        // No association to carry it: the request fails, but only after the caller has its id.
        QTimer::singleShot(0, this, [this] {
            if (m_state != State::Closed || m_session.pendingRequests() == 0)
                return;
            m_session.abort(dlms::makeError(
                dlms::ErrorCode::InvalidArgument, u"request refused: no connection to %1"_s.arg(peer())));
            pump();
        });
        return;
    }
    updateRequestTimer(false);
    pump();
}

dlms::ClientSession::RequestId DlmsConnection::get(
    const dlms::AttributeDescriptor &attribute, std::optional<dlms::SelectiveAccess> access)
{
    const auto id = m_session.get(attribute, std::move(access));
    afterRequestQueued();
    return id;
}

dlms::ClientSession::RequestId DlmsConnection::getList(std::vector<dlms::AttributeRequest> items)
{
    const auto id = m_session.getList(std::move(items));
    afterRequestQueued();
    return id;
}

dlms::ClientSession::RequestId DlmsConnection::set(
    const dlms::AttributeDescriptor &attribute, dlms::Value value)
{
    const auto id = m_session.set(attribute, std::move(value));
    afterRequestQueued();
    return id;
}

dlms::ClientSession::RequestId DlmsConnection::action(
    const dlms::MethodDescriptor &method, std::optional<dlms::Value> parameters)
{
    const auto id = m_session.action(method, std::move(parameters));
    afterRequestQueued();
    return id;
}

void DlmsConnection::close()
{
    switch (m_state) {
    case State::Closed:
    case State::Releasing:
        return;
    case State::Connecting:
    case State::Associating:
        finish(dlms::makeError(dlms::ErrorCode::InvalidArgument,
            u"connection to %1 closed before the association was established"_s.arg(peer())));
        return;
    case State::Ready:
        break;
    }
    QPointer<DlmsConnection> guard(this);
    setState(State::Releasing);
    if (!guard)
        return;
    m_requestTimer->start(m_options.requestTimeoutMs);
    m_session.release();
    pump();
}

void DlmsConnection::abort(const dlms::Error &reason)
{
    if (m_state != State::Closed)
        finish(reason);
}

void DlmsConnection::pump()
{
    QPointer<DlmsConnection> guard(this);
    const QByteArray out = m_session.takeOutgoing();
    if (!out.isEmpty() && m_socket && m_socket->state() == QAbstractSocket::ConnectedState) {
        const qint64 written = m_socket->write(out);
        if (written > 0) {
            m_counters.bytesSent += quint64(written);
            if (isSignalConnected(QMetaMethod::fromSignal(&DlmsConnection::traceBytes))) {
                emit traceBytes(dlms::Direction::Sent, out.first(written), QDateTime::currentDateTime());
                if (!guard)
                    return;
            }
        }
    }
    std::vector<dlms::FrameEvent> frames = m_session.takeFrames();
    if (!frames.empty()) {
        const bool traced = isSignalConnected(QMetaMethod::fromSignal(&DlmsConnection::frame));
        const QDateTime now = traced ? QDateTime::currentDateTime() : QDateTime();
        const quint64 requestsBefore = m_counters.requestsSent;
        for (const dlms::FrameEvent &f : frames)
            countFrame(f);
        // Every request APDU on the wire gets the full timeout, GET-next of a block transfer
        // included: a long profile read is bounded per exchange, not as a whole.
        if (m_counters.requestsSent != requestsBefore
            && (m_state == State::Ready || m_state == State::Releasing))
            m_requestTimer->start(m_options.requestTimeoutMs);
        for (const dlms::FrameEvent &f : frames) {
            if (!traced)
                break;
            emit frame(f, now);
            if (!guard)
                return;
        }
    }
    for (dlms::ClientSession::Event &event : m_session.takeEvents())
        m_events.push_back(std::move(event));
    dispatch();
}

void DlmsConnection::countFrame(const dlms::FrameEvent &f)
{
    if (f.direction == dlms::Direction::Sent) {
        ++m_counters.framesSent;
        if (f.completesApdu && dlms::isRequestKind(f.kind))
            ++m_counters.requestsSent;
    } else if (f.discarded) {
        m_counters.bytesDiscarded += f.size;
    } else {
        ++m_counters.framesReceived;
        if (f.completesApdu && isResponseKind(f.kind))
            ++m_counters.responsesReceived;
    }
}

void DlmsConnection::dispatch()
{
    // Not re-entrant: a slot that queues a request while we emit lands its events behind ours.
    if (m_dispatching)
        return;
    m_dispatching = true;
    QPointer<DlmsConnection> guard(this);
    while (!m_events.empty()) {
        const dlms::ClientSession::Event event = std::move(m_events.front());
        m_events.pop_front();
        handleEvent(event);
        if (!guard)
            return;
    }
    m_dispatching = false;
    if (m_failure) {
        const dlms::Error error = *std::exchange(m_failure, std::nullopt);
        m_closePending = false;
        emit failed(error);
    } else if (std::exchange(m_closePending, false)) {
        emit closed();
    }
}

bool DlmsConnection::endsConnection(const dlms::ClientSession::Event &error) const
{
    using Type = dlms::ClientSession::Event::Type;
    using SessionState = dlms::ClientSession::State;
    if (m_state == State::Releasing)
        return false; // the release finishes either way
    if (error.state == SessionState::Failed)
        return true;
    // The session reports the cause first, then gives up (Failed, or Idle after DM/DISC).
    if (m_events.empty() || m_events.front().type != Type::StateChanged)
        return false;
    return m_events.front().state == SessionState::Failed || m_events.front().state == SessionState::Idle;
}

void DlmsConnection::handleEvent(const dlms::ClientSession::Event &event)
{
    using Type = dlms::ClientSession::Event::Type;
    QPointer<DlmsConnection> guard(this);
    switch (event.type) {
    case Type::StateChanged:
        return;
    case Type::Associated:
        if (m_state != State::Associating || !event.aare)
            return;
        m_resync = Resync::None;
        m_connectTimer->stop();
        m_aare = event.aare;
        setState(State::Ready);
        if (!guard)
            return;
        updateRequestTimer(false);
        emit associated(*event.aare);
        return;
    case Type::Released:
        if (m_state == State::Releasing) {
            finish(dlms::makeError(dlms::ErrorCode::InvalidArgument, u"association released"_s));
        } else if (m_state == State::Associating && m_resync == Resync::Disconnecting) {
            // The meter's link is back in disconnected mode: start it over, SNRM then AARQ.
            m_requestTimer->stop();
            m_resync = Resync::Associating;
            m_connectTimer->start(m_options.connectTimeoutMs);
            m_session.connect();
            pump();
        }
        return;
    case Type::Response:
        if (!event.response)
            return;
        if (m_state == State::Ready)
            updateRequestTimer(true);
        else if (m_state == State::Releasing)
            m_requestTimer->start(m_options.requestTimeoutMs);
        emit responseReceived(*event.response);
        return;
    case Type::Error:
        if (m_state == State::Closed || !event.error)
            return;
        // While our DISC is out, late frames of the old link are noise, whatever follows them.
        if (m_resync != Resync::Disconnecting && endsConnection(event)) {
            if (event.aare)
                m_aare = event.aare;
            fail(*event.error);
            return;
        }
        ++m_counters.protocolErrors;
        emit protocolError(*event.error);
        return;
    }
}

void DlmsConnection::updateRequestTimer(bool progressed)
{
    if (m_state != State::Ready)
        return;
    if (m_session.pendingRequests() == 0)
        m_requestTimer->stop();
    else if (progressed || !m_requestTimer->isActive())
        m_requestTimer->start(m_options.requestTimeoutMs);
}

void DlmsConnection::onConnected()
{
    if (m_state != State::Connecting)
        return;
    ++m_socketCallbacks;
    QPointer<DlmsConnection> guard(this);
    setState(State::Associating);
    if (guard && m_state == State::Associating) {
        m_session.connect();
        pump();
    }
    if (guard)
        --m_socketCallbacks;
}

void DlmsConnection::onReadyRead()
{
    if (!m_socket)
        return;
    ++m_socketCallbacks;
    QPointer<DlmsConnection> guard(this);
    const QByteArray data = m_socket->readAll();
    if (!data.isEmpty()) {
        m_counters.bytesReceived += quint64(data.size());
        if (isSignalConnected(QMetaMethod::fromSignal(&DlmsConnection::traceBytes)))
            emit traceBytes(dlms::Direction::Received, data, QDateTime::currentDateTime());
        // A slot may have closed or deleted the connection.
        if (guard && m_socket) {
            m_session.feed(data);
            pump();
        }
    }
    if (guard)
        --m_socketCallbacks;
}

void DlmsConnection::onSocketError()
{
    if (!m_socket)
        return;
    ++m_socketCallbacks;
    QPointer<DlmsConnection> guard(this);
    // Whatever arrived before the close still counts (an RLRE, the last block).
    if (m_socket->bytesAvailable() > 0)
        onReadyRead();
    if (!guard)
        return;
    const QString reason = m_socket ? m_socket->errorString() : QString();
    switch (m_state) {
    case State::Closed:
        break;
    case State::Connecting:
        fail(dlms::makeError(
            dlms::ErrorCode::ConnectionFailed, u"cannot connect to %1: %2"_s.arg(peer(), reason)));
        break;
    case State::Associating:
        fail(dlms::makeError(dlms::ErrorCode::ConnectionFailed,
            u"connection to %1 lost during association: %2"_s.arg(peer(), reason)));
        break;
    case State::Ready:
        fail(dlms::makeError(
            dlms::ErrorCode::ConnectionFailed, u"connection to %1 lost: %2"_s.arg(peer(), reason)));
        break;
    case State::Releasing:
        finish(dlms::makeError(dlms::ErrorCode::ConnectionFailed,
            u"connection to %1 closed during release: %2"_s.arg(peer(), reason)));
        break;
    }
    if (guard)
        --m_socketCallbacks;
}

void DlmsConnection::onConnectTimeout()
{
    if (m_state == State::Connecting) {
        fail(dlms::makeError(dlms::ErrorCode::Timeout,
            u"connect to %1 timed out after %2 ms"_s.arg(peer()).arg(m_options.connectTimeoutMs)));
    } else if (m_state == State::Associating) {
        const bool linkSetup = m_session.state() == dlms::ClientSession::State::LinkConnecting;
        fail(dlms::makeError(dlms::ErrorCode::Timeout,
            u"association with %1 timed out after %2 ms%3"_s.arg(peer())
                .arg(m_options.connectTimeoutMs)
                .arg(linkSetup ? u" (no UA to the HDLC SNRM)"_s : QString())));
    }
}

void DlmsConnection::onRequestTimeout()
{
    if (m_state == State::Ready) {
        const dlms::Error error = dlms::makeError(dlms::ErrorCode::Timeout,
            u"request to %1 timed out after %2 ms"_s.arg(peer()).arg(m_options.requestTimeoutMs));
        if (m_options.hdlcResyncOnTimeout && m_session.config().transport == dlms::Transport::Hdlc && m_socket
            && m_socket->state() == QAbstractSocket::ConnectedState) {
            resynchronize(error);
            return;
        }
        fail(error);
    } else if (m_state == State::Associating && m_resync == Resync::Disconnecting) {
        fail(dlms::makeError(dlms::ErrorCode::Timeout,
            u"HDLC resynchronisation with %1 failed: no UA or DM to the DISC within %2 ms"_s.arg(peer()).arg(
                m_options.requestTimeoutMs)));
    } else if (m_state == State::Releasing) {
        finish(dlms::makeError(dlms::ErrorCode::Timeout,
            u"release of %1 timed out after %2 ms"_s.arg(peer()).arg(m_options.requestTimeoutMs)));
    }
}

void DlmsConnection::resynchronize(const dlms::Error &reason)
{
    QPointer<DlmsConnection> guard(this);
    m_requestTimer->stop();
    m_resync = Resync::Disconnecting;
    m_session.resetLink(reason); // fails the outstanding requests, queues the DISC
    setState(State::Associating);
    if (!guard || m_state != State::Associating)
        return;
    emit resynchronizing(reason);
    if (!guard || m_state != State::Associating || m_resync != Resync::Disconnecting)
        return;
    m_requestTimer->start(m_options.requestTimeoutMs);
    pump();
}

void DlmsConnection::dropSocket(bool flush)
{
    if (!m_socket)
        return;
    QTcpSocket *socket = std::exchange(m_socket, nullptr);
    socket->disconnect(this);
    if (flush && socket->state() == QAbstractSocket::ConnectedState) {
        // Let the last frames (RR, DISC) reach the meter; the socket deletes itself once closed.
        // It is no longer ours: we may be deleted before that (even from inside its readyRead),
        // and a meter that never reads its last bytes must not keep it forever.
        socket->setParent(nullptr);
        connect(socket, &QAbstractSocket::disconnected, socket, &QObject::deleteLater);
        QTimer::singleShot(m_options.requestTimeoutMs, socket, [socket] {
            socket->abort();
            socket->deleteLater();
        });
        socket->disconnectFromHost();
        return;
    }
    socket->abort();
    if (m_socketCallbacks > 0) {
        socket->setParent(nullptr);
        socket->deleteLater();
    } else {
        delete socket;
    }
}

void DlmsConnection::fail(const dlms::Error &error)
{
    if (m_state == State::Closed)
        return;
    m_resync = Resync::None;
    m_connectTimer->stop();
    m_requestTimer->stop();
    m_session.abort(error);
    dropSocket(false);
    (void)m_session.takeFrames();
    for (dlms::ClientSession::Event &event : m_session.takeEvents())
        m_events.push_back(std::move(event));
    m_failure = error;
    QPointer<DlmsConnection> guard(this);
    setState(State::Closed);
    if (guard)
        dispatch();
}

void DlmsConnection::finish(const dlms::Error &reason)
{
    if (m_state == State::Closed)
        return;
    m_resync = Resync::None;
    m_connectTimer->stop();
    m_requestTimer->stop();
    const bool released = m_session.state() == dlms::ClientSession::State::Idle;
    m_session.abort(reason); // also fails requests queued behind the release
    dropSocket(released);
    (void)m_session.takeFrames();
    for (dlms::ClientSession::Event &event : m_session.takeEvents())
        m_events.push_back(std::move(event));
    m_closePending = true;
    QPointer<DlmsConnection> guard(this);
    setState(State::Closed);
    if (guard)
        dispatch();
}

} // namespace polling
