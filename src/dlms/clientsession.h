#pragma once

#include "apdu.h"
#include "hdlc.h"
#include "security.h"
#include "wrapper.h"

#include <QtCore/QByteArray>

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <vector>

namespace dlms {

enum class Transport : quint8 { Wrapper, Hdlc };
QString transportName(Transport transport); // "wrapper", "hdlc"
std::optional<Transport> transportFromName(QStringView name); // the inverse; nullopt otherwise

struct ClientConfig {
    Transport transport = Transport::Wrapper;
    quint16 clientAddress = 16; // client SAP: 16 public client, 1 management, …
    quint16 serverAddress = 1; // logical device: wrapper destination wPort / HDLC upper address
    quint16 physicalAddress = 0; // HDLC lower address; 0 = not used (1-byte server address)
    quint8 serverAddressSize = 0; // HDLC server address bytes (1, 2, 4); 0 = smallest that fits
    Authentication authentication = Authentication::None;
    QByteArray password; // LLS secret: never logged, never traced in clear
    // Suite 0: the ciphering policy, our system title, EK and AK (also what HLS-GMAC needs).
    SecuritySettings security;
    // Our invocation counter: every ciphered APDU and every f(StoC) takes the next value.
    // nullptr = a MemoryInvocationCounter from 1, made by the session. Owners that must never
    // reuse a value across restarts give a persistent one (polling::sharedInvocationCounter).
    std::shared_ptr<InvocationCounter> invocationCounter;
    QByteArray hlsChallenge; // test hook: the CtoS challenge; empty = 16 random bytes per association
    quint32 proposedConformance = DefaultProposedConformance;
    quint16 maxReceivePduSize = 0xFFFF;
    hdlc::LinkParameters hdlc;
    axdr::Limits limits;
    quint32 maxResponseSize = 16u << 20; // cap on block-transfer reassembly
};

enum class Direction : quint8 { Sent, Received };

// One frame on the wire, as counted for traffic accounting. Sizes are exact: the Sent sizes add
// up to the bytes takeOutgoing() returned, the Received sizes to the bytes fed (less a partial
// frame still buffered), discarded garbage included as a `discarded` Other event.
struct FrameEvent {
    Direction direction = Direction::Sent;
    FrameKind kind = FrameKind::Other; // the kind of APDU this frame carries (part of)
    quint32 size = 0; // bytes on the wire, framing included
    bool completesApdu = false; // the frame that completed an APDU (counted once)
    bool discarded = false; // garbage skipped or a frame rejected by the deframer: not a frame
};

// The client side of one DLMS/COSEM association, sans I/O: the owner feeds it received bytes
// and writes out what takeOutgoing() returns; timers belong to the owner (abort() on timeout).
// Requests queue and go out one at a time; each completes with exactly one Response.
class ClientSession {
public:
    enum class State : quint8 {
        Idle, // nothing sent yet, or closed cleanly
        LinkConnecting, // HDLC: SNRM sent
        Associating, // AARQ sent
        Ready, // associated, no request outstanding
        Busy, // a request is outstanding (block transfer included)
        Releasing, // RLRQ sent
        LinkDisconnecting, // HDLC: DISC sent
        Failed, // association refused or protocol failure; owner should close
    };

    using RequestId = quint32;

    struct Response {
        enum class Service : quint8 { Get, GetList, Set, Action };
        RequestId id = 0;
        Service service = Service::Get;
        std::vector<DataResult> results; // Get: 1; GetList: one per item; Set/Action: 1 (value
                                         // = action return parameters, if any)
        std::optional<Error> error; // exception, confirmed-service-error, bad response
        int blocks = 0; // datablocks received (block transfer)
    };

    struct Event {
        enum class Type : quint8 { StateChanged, Associated, Released, Response, Error };
        Type type = Type::Error;
        State state = State::Idle;
        std::optional<Aare> aare; // Associated (and a rejected association's Error)
        std::optional<Response> response; // Response
        std::optional<Error> error; // Error: protocol errors, rejections, garbage
    };

    explicit ClientSession(ClientConfig config);

    const ClientConfig &config() const { return m_config; }
    State state() const { return m_state; }
    // Negotiated during association; zeros before.
    quint32 negotiatedConformance() const { return m_conformance; }
    quint16 serverMaxPduSize() const { return m_serverMaxPdu; }
    bool supports(quint32 conformanceBit) const { return (m_conformance & conformanceBit) != 0; }

    void connect(); // SNRM (HDLC) then AARQ
    void release(); // RLRQ, then DISC (HDLC)
    // The transport is gone or a timer expired: fail outstanding requests with `reason`,
    // forget link state, back to Idle. Sends nothing.
    void abort(const Error &reason);
    // HDLC: the link's sequence numbers can no longer be trusted (a request timed out on a
    // connection that is still up): abort(reason), then DISC; ends in Released when the meter
    // answers UA or DM, and connect() starts over. Wrapper: there is no link, Released at once.
    void resetLink(const Error &reason);

    RequestId get(const AttributeDescriptor &attribute, std::optional<SelectiveAccess> access = {});
    RequestId getList(std::vector<AttributeRequest> items);
    RequestId set(const AttributeDescriptor &attribute, Value value);
    RequestId action(const MethodDescriptor &method, std::optional<Value> parameters = {});
    qsizetype pendingRequests() const { return qsizetype(m_queue.size()) + (m_current ? 1 : 0); }

    // Bytes received from the transport, in any chunking.
    void feed(QByteArrayView bytes);

    QByteArray takeOutgoing();
    std::vector<FrameEvent> takeFrames();
    std::vector<Event> takeEvents();
    bool hasOutgoing() const { return !m_outgoing.isEmpty(); }

private:
    struct Request {
        RequestId id = 0;
        Response::Service service = Response::Service::Get;
        Apdu apdu;
    };

    // A received APDU once its protection is removed: the plain APDU (a view of the input or of
    // m_rxPlain), or nothing when a replayed APDU was discarded (`replay` says why; the caller
    // reports it: an Error event while Busy, a failed association while Associating).
    struct Opened {
        QByteArrayView apdu;
        bool discarded = false;
        quint8 control = 0; // its security control byte; 0 = it came in clear
        std::optional<Error> replay;
    };

    void setState(State state);
    Event &pushEvent(Event::Type type);
    void emitError(Error error);
    void sendApdu(QByteArrayView apdu, FrameKind kind);
    Result<void> checkSecurity() const;
    // `counter`: a value already taken for this APDU; nullopt = take the next one.
    Result<void> seal(QByteArray &apdu, std::optional<quint32> counter = {});
    Error meterException(const ExceptionResponse &ex);
    Result<quint32> nextCounter();
    Result<Opened> open(QByteArrayView apdu);
    Result<Opened> openAare(Aare &aare);
    FrameKind receivedKind(QByteArrayView apdu) const;
    void failAssociation(Error error, std::optional<Aare> aare = {});
    void finishAssociation(Aare aare);
    void sendHlsProof();
    void handleHlsResult(QByteArrayView apdu);
    void forgetAssociationSecrets();
    void flushLink();
    void sendAarq();
    void startNextRequest();
    template<typename Deframer, typename Handler> void drain(Deframer &in, Handler &&handle);
    void receiveWrapperFrame(const wrapper::Frame &frame, quint32 size);
    void receiveHdlcFrame(const hdlc::Frame &frame, quint32 size);
    void handleApdu(QByteArrayView apdu);
    void handleAare(QByteArrayView apdu);
    void handleResponseApdu(QByteArrayView apdu);
    void handleGetResponse(GetResponse response);
    void completeCurrent(Response response);
    void failCurrent(Error error);
    void failQueued(const Error &reason);
    void emitResponse(Response response);
    RequestId enqueue(Response::Service service, Apdu apdu);
    void countFrame(Direction direction, FrameKind kind, quint32 size, bool completes);
    void sendRlrq();
    void finishRelease();
    InvokeIdAndPriority nextInvoke();

    ClientConfig m_config;
    State m_state = State::Idle;
    std::optional<hdlc::Link> m_link;
    hdlc::Deframer m_hdlcIn;
    wrapper::Deframer m_wrapperIn;
    QByteArray m_outgoing;
    QByteArray m_scratch;
    std::vector<FrameEvent> m_frames;
    std::vector<Event> m_events;
    std::deque<Request> m_queue;
    std::optional<Request> m_current;
    InvokeIdAndPriority m_currentInvoke;
    QByteArray m_blockData;
    quint32 m_expectedBlock = 0;
    int m_blocks = 0;
    quint8 m_invokeCounter = 0;
    RequestId m_nextId = 1;
    quint32 m_conformance = 0;
    quint16 m_serverMaxPdu = 0;
    FrameKind m_txKind = FrameKind::Other; // kind of the APDU whose HDLC segments are leaving
    FrameKind m_rxKind = FrameKind::Other; // kind of the APDU whose HDLC segments are arriving
    bool m_rxInApdu = false; // a segmented APDU is being received
    bool m_txCompleted = false; // the last segment of the APDU leaving was counted
    bool m_releaseAfterCurrent = false;
    // Security of the current association.
    QByteArray m_challenge; // our CtoS
    QByteArray m_serverTitle; // from the AARE
    QByteArray m_dedicatedKey; // a secret: wiped when the association ends
    QByteArray m_rxPlain; // the deciphered APDU being handled
    std::optional<Aare> m_hlsAare; // accepted AARE held until pass 4 verifies
    InvokeIdAndPriority m_hlsInvoke;
    // The highest invocation counter accepted from each server system title (replay guard).
    std::map<QByteArray, quint32> m_serverCounters;
    quint32 m_lastCounter = 0; // the last invocation counter we took
    // How far above m_lastCounter a meter's invocation-counter-error may move our floor.
    static constexpr quint32 MaxMeterFloorJump = 1u << 20;
};

} // namespace dlms
