#pragma once

#include "error.h"
#include "streambuffer.h"

#include <QtCore/QByteArray>

#include <algorithm>
#include <deque>
#include <optional>
#include <vector>

namespace dlms::hdlc {

// IEC 62056-46 HDLC, frame format type 3:
//   7E | A0 len | dest addr | src addr | control | [HCS | LLC+info] | FCS | 7E
inline constexpr quint8 Flag = 0x7E;
inline constexpr int MaxFrameLength = 0x7FF; // 11-bit frame length field

// LLC headers that precede an APDU in I/UI frames' information field.
inline constexpr char LlcRequest[3] = {char(0xE6), char(0xE6), 0x00};
inline constexpr char LlcResponse[3] = {char(0xE6), char(0xE7), 0x00};

// CRC-16/X.25 (poly 0x1021 reflected, init 0xFFFF, xorout 0xFFFF), as used for HCS and FCS.
// The wire carries it least significant byte first.
quint16 crc16(QByteArrayView data);

// An HDLC address: one byte (client, or server upper only), two (server upper + lower, 7 bits
// each) or four (server upper + lower, 14 bits each).
struct Address {
    quint16 upper = 0;
    quint16 lower = 0;
    quint8 size = 1; // 1, 2 or 4 bytes on the wire

    static Address client(quint8 sap) { return {sap, 0, 1}; }
    // size 0 picks the smallest encoding that holds the values (1 when physical is unused).
    static Address server(quint16 logical, quint16 physical, quint8 size = 0);

    bool operator==(const Address &) const = default;
    QString toString() const; // "16", "1/17"
};

enum class FrameType : quint8 { I, RR, RNR, SNRM, DISC, UA, DM, FRMR, UI, Unknown };
QString frameTypeName(FrameType type);

namespace control {
quint8 i(quint8 sendSeq, quint8 recvSeq, bool poll);
quint8 rr(quint8 recvSeq, bool poll);
quint8 rnr(quint8 recvSeq, bool poll);
inline constexpr quint8 Snrm = 0x93; // with P
inline constexpr quint8 Disc = 0x53;
inline constexpr quint8 Ua = 0x73;
inline constexpr quint8 Dm = 0x1F;
inline constexpr quint8 Frmr = 0x97;
inline constexpr quint8 Ui = 0x13;
} // namespace control

struct Frame {
    Address destination;
    Address source;
    quint8 control = 0;
    bool segmented = false; // format field S bit: more segments of this APDU follow
    QByteArray info; // information field as carried (LLC header included, if any)

    FrameType type() const;
    bool pollFinal() const { return control & 0x10; }
    quint8 sendSeq() const { return (control >> 1) & 0x07; } // I frames
    quint8 recvSeq() const { return (control >> 5) & 0x07; } // I, RR, RNR

    bool operator==(const Frame &) const = default;
};

// Appends the encoded frame (both flags included). Fails when the frame would exceed the
// 11-bit length or an address does not fit its size.
Result<void> encode(const Frame &frame, QByteArray &out);

// Splits a byte stream into frames. Tolerates shared flags between frames (7E once) and
// repeated flags; bytes before a flag are discarded and reported; a frame with a bad HCS/FCS
// or an impossible address is reported as an error and dropped, the stream continues.
class Deframer {
public:
    void feed(QByteArrayView bytes);
    std::optional<Result<Frame>> next();

    qsizetype bufferedBytes() const { return m_in.buffer.size() - m_in.offset; }
    qsizetype discardedBytes() const { return m_discarded; }
    // Stream bytes accounted for so far: every returned frame with both its flags (a flag shared
    // by two frames counted once) and every discarded byte. The difference across one next()
    // is exactly what that frame or error cost on the wire.
    qint64 consumedBytes() const { return std::max(m_accounted, m_in.base + m_in.offset); }
    void clear();

private:
    StreamBuffer m_in;
    qsizetype m_discarded = 0;
    qint64 m_accounted = 0; // stream position just past the last delimited frame's closing flag
    qsizetype m_garbageRun = 0; // bytes skipped before the next flag, not yet reported
    bool m_resyncing = false; // skipping after a reported Malformed frame: no second error
};

// SNRM / UA information field (IEC 62056-46, 6.4.4.4.3.2): 81 80 len { 05 max-info-tx,
// 06 max-info-rx, 07 window-tx, 08 window-rx }. Directions are the sender's.
struct LinkParameters {
    quint16 maxInfoTx = 128;
    quint16 maxInfoRx = 128;
    quint32 windowTx = 1;
    quint32 windowRx = 1;
    bool operator==(const LinkParameters &) const = default;
};
QByteArray encodeParameters(const LinkParameters &params);
// Missing parameters keep their defaults (128 / 1), as the standard says; an empty field is ok.
Result<LinkParameters> decodeParameters(QByteArrayView info);

// The data link layer of one association, client or server role, sans I/O: APDUs in, frames
// out; frames in, APDUs out. Handles SNRM/UA negotiation, N(S)/N(R), RR acknowledgements,
// segmentation of long APDUs into I frames of at most the negotiated size, reassembly of
// segmented responses (answering each segment with RR), windowed sends, DISC/UA/DM and FRMR.
class Link {
public:
    enum class Role : quint8 { Client, Server };
    enum class State : quint8 { Disconnected, Connecting, Connected, Disconnecting };

    // What handleFrame() found, in order.
    struct Event {
        enum class Kind : quint8 {
            Connected, // UA to our SNRM (client) or SNRM accepted (server)
            Disconnected, // UA to DISC, DISC received, or DM
            Apdu, // a complete (reassembled) APDU, LLC removed
            Error, // sequence error, FRMR, unexpected frame; the link may need a reset
        };
        Kind kind;
        QByteArray apdu;
        Error error {ErrorCode::Malformed, {}};
    };

    // Cap on a reassembled APDU, so a peer that never sends the final segment cannot make us
    // buffer without bound.
    static constexpr qsizetype MaxReassembledApdu = qsizetype(1) << 20;

    Link(Role role, Address local, Address remote, LinkParameters proposed = {});

    State state() const { return m_state; }
    // Our side's view once connected: maxInfoTx = min(our maxInfoTx, peer's maxInfoRx),
    // maxInfoRx = min(our maxInfoRx, peer's maxInfoTx), and the same for the windows, where
    // "peer" is the SNRM (server role) or UA (client role) information field, which carries
    // the sender's own directions. Clamped to what fits a frame and to windows 1..7.
    const LinkParameters &negotiated() const { return m_negotiated; }

    // Client: queue SNRM / DISC. Server side answers them in handleFrame().
    void connect();
    void disconnect();
    // Queue an APDU for sending (LLC header added); split into segments as needed.
    Result<void> sendApdu(QByteArrayView apdu);

    // Feed one received frame. Frames not addressed to us are ignored (and reported as Error).
    std::vector<Event> handleFrame(const Frame &frame);

    // Frames ready to go out, in order (empties the queue).
    std::vector<Frame> takeOutgoing();
    bool hasOutgoing() const { return !m_out.empty(); }

    // Forget sequence state (after a timeout or DISC) without sending anything.
    void reset();

private:
    void queueNextSegments();
    Frame makeFrame(quint8 controlByte, QByteArray info = {}, bool segmented = false) const;
    void handleSnrm(const Frame &frame, std::vector<Event> &events);
    void handleUa(const Frame &frame, std::vector<Event> &events);
    void handleInformation(const Frame &frame, std::vector<Event> &events);
    void handleSupervisory(const Frame &frame, std::vector<Event> &events);
    bool acknowledge(quint8 recvSeq, std::vector<Event> &events);
    void queueReceiverReady();
    void resetTransfer();
    LinkParameters negotiate(const LinkParameters &peer) const;

    Role m_role;
    Address m_local;
    Address m_remote;
    LinkParameters m_proposed;
    LinkParameters m_negotiated;
    State m_state = State::Disconnected;
    quint8 m_sendSeq = 0; // V(S)
    quint8 m_recvSeq = 0; // V(R)
    QByteArray m_txPending; // LLC + APDU bytes still to send
    qsizetype m_txOffset = 0;
    int m_unacked = 0; // I frames sent and not yet acknowledged
    QByteArray m_rxAssembly; // segments received so far
    bool m_rxInProgress = false; // a segmented APDU has started (its LLC was checked)
    bool m_rxDiscarding = false; // drop the rest of this APDU (bad LLC or over the cap)
    int m_rxSinceAck = 0; // I frames received since we last sent our N(R)
    bool m_peerBusy = false; // RNR received: hold I frames until RR
    std::vector<Frame> m_out;
};

} // namespace dlms::hdlc
