#include "hdlc.h"

#include <algorithm>
#include <utility>

namespace dlms::hdlc {

namespace {

constexpr quint32 MaxWindow = 7; // 3-bit sequence numbers

using Event = Link::Event;

Event errorEvent(ErrorCode code, QString message)
{
    return Event {Event::Kind::Error, {}, makeError(code, std::move(message))};
}

Event simpleEvent(Event::Kind kind)
{
    return Event {kind, {}, {ErrorCode::Malformed, {}}};
}

// Stations match on their values; a meter may answer with a wider address encoding than
// the one we used.
bool sameStation(const Address &a, const Address &b)
{
    return a.upper == b.upper && a.lower == b.lower;
}

QLatin1StringView stateName(Link::State state)
{
    switch (state) {
    case Link::State::Disconnected:
        return QLatin1StringView("disconnected");
    case Link::State::Connecting:
        return QLatin1StringView("connecting");
    case Link::State::Connected:
        return QLatin1StringView("connected");
    case Link::State::Disconnecting:
        return QLatin1StringView("disconnecting");
    }
    return QLatin1StringView("?");
}

// The largest information field a frame between these two addresses can carry.
quint16 infoCapacity(const Address &a, const Address &b)
{
    // format 2, control 1, HCS 2, FCS 2
    return quint16(MaxFrameLength - (2 + a.size + b.size + 1 + 2 + 2));
}

LinkParameters sanitized(LinkParameters p, quint16 capacity)
{
    p.maxInfoTx = std::clamp<quint16>(p.maxInfoTx, 1, capacity);
    p.maxInfoRx = std::clamp<quint16>(p.maxInfoRx, 1, capacity);
    p.windowTx = std::clamp<quint32>(p.windowTx, 1, MaxWindow);
    p.windowRx = std::clamp<quint32>(p.windowRx, 1, MaxWindow);
    return p;
}

} // namespace

Link::Link(Role role, Address local, Address remote, LinkParameters proposed)
    : m_role(role), m_local(local), m_remote(remote),
      m_proposed(sanitized(proposed, infoCapacity(local, remote))),
      m_negotiated(sanitized({}, infoCapacity(local, remote)))
{
}

LinkParameters Link::negotiate(const LinkParameters &peer) const
{
    // The peer's field is in its own directions: what it sends is what we receive.
    LinkParameters n;
    n.maxInfoTx = std::min(m_proposed.maxInfoTx, peer.maxInfoRx);
    n.maxInfoRx = std::min(m_proposed.maxInfoRx, peer.maxInfoTx);
    n.windowTx = std::min(m_proposed.windowTx, peer.windowRx);
    n.windowRx = std::min(m_proposed.windowRx, peer.windowTx);
    return sanitized(n, infoCapacity(m_local, m_remote));
}

Frame Link::makeFrame(quint8 controlByte, QByteArray info, bool segmented) const
{
    Frame frame;
    frame.destination = m_remote;
    frame.source = m_local;
    frame.control = controlByte;
    frame.segmented = segmented;
    frame.info = std::move(info);
    return frame;
}

void Link::resetTransfer()
{
    m_sendSeq = 0;
    m_recvSeq = 0;
    m_txPending.clear();
    m_txOffset = 0;
    m_unacked = 0;
    m_rxAssembly.clear();
    m_rxInProgress = false;
    m_rxDiscarding = false;
    m_rxSinceAck = 0;
    m_peerBusy = false;
}

void Link::reset()
{
    resetTransfer();
    m_out.clear();
    m_state = State::Disconnected;
    m_negotiated = sanitized({}, infoCapacity(m_local, m_remote));
}

void Link::connect()
{
    if (m_role != Role::Client)
        return; // a secondary station never initiates the link
    resetTransfer();
    m_state = State::Connecting;
    // All defaults: an empty SNRM says the same, and is what meters most often see.
    m_out.push_back(makeFrame(
        control::Snrm, m_proposed == LinkParameters {} ? QByteArray() : encodeParameters(m_proposed)));
}

void Link::disconnect()
{
    if (m_role != Role::Client)
        return;
    resetTransfer();
    m_state = State::Disconnecting;
    m_out.push_back(makeFrame(control::Disc));
}

Result<void> Link::sendApdu(QByteArrayView apdu)
{
    if (m_state != State::Connected) {
        return makeError(ErrorCode::InvalidArgument,
            QStringLiteral("HDLC: cannot send an APDU while the link is %1").arg(stateName(m_state)));
    }
    if (m_txOffset < m_txPending.size()) {
        return makeError(ErrorCode::InvalidArgument,
            QStringLiteral("HDLC: cannot send an APDU while %1 bytes of the previous one are still to go")
                .arg(m_txPending.size() - m_txOffset));
    }
    m_txPending.clear();
    m_txPending.reserve(3 + apdu.size());
    m_txPending.append(m_role == Role::Client ? LlcRequest : LlcResponse, 3);
    m_txPending.append(apdu);
    m_txOffset = 0;
    queueNextSegments();
    return {};
}

void Link::queueNextSegments()
{
    const qsizetype maxInfo = m_negotiated.maxInfoTx;
    const int window = int(m_negotiated.windowTx);
    while (!m_peerBusy && m_unacked < window && m_txOffset < m_txPending.size()) {
        const qsizetype n = std::min(maxInfo, m_txPending.size() - m_txOffset);
        const bool last = m_txOffset + n == m_txPending.size();
        // P/F on the last frame of a window hands the turn to the peer.
        const bool poll = last || m_unacked + 1 == window;
        m_out.push_back(
            makeFrame(control::i(m_sendSeq, m_recvSeq, poll), m_txPending.sliced(m_txOffset, n), !last));
        m_sendSeq = quint8((m_sendSeq + 1) & 0x07);
        ++m_unacked;
        m_txOffset += n;
        m_rxSinceAck = 0; // the I frame carries our N(R)
    }
}

void Link::queueReceiverReady()
{
    // P for a client (poll for more), F for a server (our turn ends): the same bit.
    m_out.push_back(makeFrame(control::rr(m_recvSeq, true)));
    m_rxSinceAck = 0;
}

bool Link::acknowledge(quint8 recvSeq, std::vector<Event> &events)
{
    // N(R) may acknowledge any of the frames still outstanding, and no others.
    const int oldest = (m_sendSeq - m_unacked) & 0x07;
    const int acked = (recvSeq - oldest) & 0x07;
    if (acked > m_unacked) {
        events.push_back(errorEvent(ErrorCode::UnexpectedFrame,
            QStringLiteral("HDLC: N(R)=%1 acknowledges frames never sent (V(S)=%2, %3 outstanding)")
                .arg(recvSeq)
                .arg(m_sendSeq)
                .arg(m_unacked)));
        return false;
    }
    m_unacked -= acked;
    return true;
}

std::vector<Link::Event> Link::handleFrame(const Frame &frame)
{
    std::vector<Event> events;
    if (!sameStation(frame.destination, m_local) || !sameStation(frame.source, m_remote)) {
        events.push_back(errorEvent(ErrorCode::BadAddress,
            QStringLiteral("HDLC: ignored a %1 frame from %2 to %3; this link is %4 to %5")
                .arg(frameTypeName(frame.type()), frame.source.toString(), frame.destination.toString(),
                    m_local.toString(), m_remote.toString())));
        return events;
    }

    switch (frame.type()) {
    case FrameType::SNRM:
        handleSnrm(frame, events);
        break;
    case FrameType::UA:
        handleUa(frame, events);
        break;
    case FrameType::I:
        handleInformation(frame, events);
        break;
    case FrameType::RR:
    case FrameType::RNR:
        handleSupervisory(frame, events);
        break;
    case FrameType::DISC:
        if (m_state == State::Disconnected) {
            m_out.push_back(makeFrame(control::Dm)); // already in disconnected mode
            break;
        }
        resetTransfer();
        m_state = State::Disconnected;
        m_out.push_back(makeFrame(control::Ua));
        events.push_back(simpleEvent(Event::Kind::Disconnected));
        break;
    case FrameType::DM:
        if (m_state == State::Disconnected)
            break;
        resetTransfer();
        m_state = State::Disconnected;
        events.push_back(simpleEvent(Event::Kind::Disconnected));
        break;
    case FrameType::FRMR:
        events.push_back(errorEvent(ErrorCode::Rejected,
            QStringLiteral("HDLC: the peer rejected a frame (FRMR %1)")
                .arg(QString::fromLatin1(frame.info.toHex(' ')))));
        break;
    case FrameType::UI: {
        // Unnumbered information (pushed data): a single frame, outside the sequence.
        const char *llc = m_role == Role::Client ? LlcResponse : LlcRequest;
        if (!frame.info.startsWith(QByteArrayView(llc, 3))) {
            events.push_back(errorEvent(ErrorCode::Malformed,
                QStringLiteral("HDLC: UI frame without the LLC header %1")
                    .arg(QString::fromLatin1(QByteArray(llc, 3).toHex(' ')))));
            break;
        }
        events.push_back(Event {Event::Kind::Apdu, frame.info.sliced(3), {ErrorCode::Malformed, {}}});
        break;
    }
    case FrameType::Unknown:
        events.push_back(errorEvent(ErrorCode::UnexpectedFrame,
            QStringLiteral("HDLC: unknown control field 0x%1").arg(frame.control, 2, 16, QLatin1Char('0'))));
        if (m_role == Role::Server && m_state == State::Connected) {
            // FRMR: rejected control field, our V(S)/V(R), W bit (undefined control field).
            QByteArray info;
            info.append(char(frame.control));
            info.append(char((m_recvSeq << 5) | (m_sendSeq << 1)));
            info.append(char(0x01));
            m_out.push_back(makeFrame(control::Frmr, std::move(info)));
        }
        break;
    }
    return events;
}

void Link::handleSnrm(const Frame &frame, std::vector<Event> &events)
{
    if (m_role != Role::Server) {
        events.push_back(
            errorEvent(ErrorCode::UnexpectedFrame, QStringLiteral("HDLC: a client received SNRM")));
        return;
    }
    auto peer = decodeParameters(frame.info);
    if (!peer) {
        events.push_back(errorEvent(peer.error().code, peer.error().message));
        m_out.push_back(makeFrame(control::Dm));
        return;
    }
    // SNRM while connected is a reset: sequence numbers and partial APDUs start over.
    resetTransfer();
    m_negotiated = negotiate(*peer);
    m_state = State::Connected;
    m_out.push_back(makeFrame(control::Ua, encodeParameters(m_negotiated)));
    events.push_back(simpleEvent(Event::Kind::Connected));
}

void Link::handleUa(const Frame &frame, std::vector<Event> &events)
{
    if (m_role == Role::Client && m_state == State::Connecting) {
        auto peer = decodeParameters(frame.info);
        if (!peer) {
            m_state = State::Disconnected;
            events.push_back(errorEvent(peer.error().code, peer.error().message));
            return;
        }
        m_negotiated = negotiate(*peer);
        m_state = State::Connected;
        events.push_back(simpleEvent(Event::Kind::Connected));
        return;
    }
    if (m_role == Role::Client && m_state == State::Disconnecting) {
        resetTransfer();
        m_state = State::Disconnected;
        events.push_back(simpleEvent(Event::Kind::Disconnected));
        return;
    }
    events.push_back(errorEvent(
        ErrorCode::UnexpectedFrame, QStringLiteral("HDLC: unexpected UA while %1").arg(stateName(m_state))));
}

void Link::handleInformation(const Frame &frame, std::vector<Event> &events)
{
    if (m_state != State::Connected) {
        events.push_back(errorEvent(
            ErrorCode::UnexpectedFrame, QStringLiteral("HDLC: I frame while %1").arg(stateName(m_state))));
        if (m_role == Role::Server && m_state == State::Disconnected)
            m_out.push_back(makeFrame(control::Dm));
        return;
    }
    if (!acknowledge(frame.recvSeq(), events))
        return;
    if (frame.sendSeq() != m_recvSeq) {
        // Lost or repeated frame: drop it and tell the peer where we are.
        events.push_back(errorEvent(ErrorCode::UnexpectedFrame,
            QStringLiteral("HDLC: I frame N(S)=%1 out of sequence, expected %2")
                .arg(frame.sendSeq())
                .arg(m_recvSeq)));
        queueReceiverReady();
        return;
    }
    m_recvSeq = quint8((m_recvSeq + 1) & 0x07);

    QByteArrayView info(frame.info);
    if (!m_rxInProgress) {
        m_rxInProgress = true;
        m_rxDiscarding = false;
        m_rxAssembly.clear();
        const char *llc = m_role == Role::Client ? LlcResponse : LlcRequest;
        if (info.startsWith(QByteArrayView(llc, 3))) {
            info = info.sliced(3);
        } else {
            m_rxDiscarding = true;
            events.push_back(errorEvent(ErrorCode::Malformed,
                QStringLiteral("HDLC: first segment does not start with the LLC header %1 (got %2)")
                    .arg(QString::fromLatin1(QByteArray(llc, 3).toHex(' ')),
                        QString::fromLatin1(
                            info.first(std::min<qsizetype>(3, info.size())).toByteArray().toHex(' ')))));
        }
    }
    if (!m_rxDiscarding) {
        if (m_rxAssembly.size() + info.size() > MaxReassembledApdu) {
            events.push_back(errorEvent(ErrorCode::LengthTooLarge,
                QStringLiteral("HDLC: segmented APDU exceeds %1 bytes; dropping it")
                    .arg(MaxReassembledApdu)));
            m_rxDiscarding = true;
            m_rxAssembly = QByteArray();
        } else {
            m_rxAssembly.append(info);
        }
    }

    if (frame.segmented) {
        // Answer at the end of the peer's window (P/F set), or when our receive window is
        // used up in case a peer forgets the bit.
        ++m_rxSinceAck;
        if (frame.pollFinal() || m_rxSinceAck >= int(m_negotiated.windowRx))
            queueReceiverReady();
        return;
    }
    m_rxInProgress = false;
    m_rxSinceAck = 0;
    if (!std::exchange(m_rxDiscarding, false))
        events.push_back(
            Event {Event::Kind::Apdu, std::exchange(m_rxAssembly, QByteArray()), {ErrorCode::Malformed, {}}});
}

void Link::handleSupervisory(const Frame &frame, std::vector<Event> &events)
{
    const bool notReady = frame.type() == FrameType::RNR;
    if (m_state != State::Connected) {
        events.push_back(errorEvent(ErrorCode::UnexpectedFrame,
            QStringLiteral("HDLC: %1 while %2").arg(frameTypeName(frame.type()), stateName(m_state))));
        if (m_role == Role::Server && m_state == State::Disconnected)
            m_out.push_back(makeFrame(control::Dm));
        return;
    }
    if (!acknowledge(frame.recvSeq(), events))
        return;
    m_peerBusy = notReady;
    if (notReady)
        return;

    if (m_unacked > 0 && frame.pollFinal()) {
        // Checkpoint: the peer answered our poll yet acknowledged only part of what we sent,
        // so the rest was lost. Go back to N(R) and send again; segments before the last are
        // all maxInfoTx long, so the byte offset of any segment of the current APDU is known.
        // Without P/F the RR is only an acknowledgement and the window simply moves on.
        const qsizetype maxInfo = m_negotiated.maxInfoTx;
        const qsizetype sentSegments = (m_txOffset + maxInfo - 1) / maxInfo;
        if (m_unacked > sentSegments) {
            events.push_back(errorEvent(ErrorCode::UnexpectedFrame,
                QStringLiteral("HDLC: the peer lost %1 frames that can no longer be sent again")
                    .arg(m_unacked)));
            m_unacked = 0;
        } else {
            m_txOffset = (sentSegments - m_unacked) * maxInfo;
            m_sendSeq = quint8((m_sendSeq - m_unacked) & 0x07);
            m_unacked = 0;
        }
    }
    const bool hadPending = m_txOffset < m_txPending.size();
    queueNextSegments();
    // A secondary must answer a poll; with nothing to send, RR says where we stand.
    if (!hadPending && m_role == Role::Server && frame.pollFinal())
        queueReceiverReady();
}

std::vector<Frame> Link::takeOutgoing()
{
    return std::exchange(m_out, {});
}

} // namespace dlms::hdlc
