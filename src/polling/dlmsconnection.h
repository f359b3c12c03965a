#pragma once

#include "meterconfig.h"

#include <clientsession.h>

#include <QtCore/QDateTime>
#include <QtCore/QObject>
#include <QtCore/QString>

#include <deque>
#include <optional>

class QTcpSocket;
class QTimer;

namespace polling {

// One DLMS/COSEM association over TCP: a QTcpSocket moving bytes between the network and a
// dlms::ClientSession, with a timer on every wait (TCP connect, association, each request,
// release). Never blocks. The building block of MeterSession (polling engine) and of dlmsctl.
class DlmsConnection final : public QObject {
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(DlmsConnection)

public:
    struct Options {
        QString host;
        quint16 port = 4059;
        dlms::ClientConfig client;
        int connectTimeoutMs = 5000; // TCP connect + association
        int requestTimeoutMs = 5000; // each request, from sending to its complete response
        // HDLC: when a request times out and the TCP connection is still up, the link's
        // sequence state is suspect; instead of dropping TCP, resynchronise on the same socket:
        // the request fails with Timeout, resynchronizing() is emitted (state Associating),
        // DISC waits for UA/DM (request timeout), then SNRM + AARQ (connect timeout) end in
        // associated() again, or in failed() as any association would. Off: failed(Timeout).
        bool hdlcResyncOnTimeout = false;
    };

    enum class State : quint8 { Closed, Connecting, Associating, Ready, Releasing };

    // Traffic since construction, exact at the socket.
    struct Counters {
        quint64 bytesSent = 0;
        quint64 bytesReceived = 0;
        quint64 framesSent = 0;
        quint64 framesReceived = 0; // frames the deframer accepted
        quint64 bytesDiscarded = 0; // received bytes that were no frame (garbage, bad checksums)
        quint64 requestsSent = 0; // APDU requests completed on the wire (AARQ, GET, …, RLRQ)
        quint64 responsesReceived = 0; // complete response APDUs
        quint64 protocolErrors = 0; // garbage, bad frames, stray responses
    };

    explicit DlmsConnection(Options options, QObject *parent = nullptr);
    ~DlmsConnection() override;

    const Options &options() const { return m_options; }
    State state() const { return m_state; }
    const dlms::ClientSession &session() const { return m_session; }
    const std::optional<dlms::Aare> &aare() const { return m_aare; }
    const Counters &counters() const { return m_counters; }

    // New settings. Address, transport and client settings take effect at the next open();
    // the timeouts and hdlcResyncOnTimeout at once.
    void setOptions(Options options);
    // TCP connect then association; ends in associated() or failed().
    void open();
    // Queue requests (only once associated); each ends in exactly one responseReceived().
    dlms::ClientSession::RequestId get(
        const dlms::AttributeDescriptor &attribute, std::optional<dlms::SelectiveAccess> access = {});
    dlms::ClientSession::RequestId getList(std::vector<dlms::AttributeRequest> items);
    dlms::ClientSession::RequestId set(const dlms::AttributeDescriptor &attribute, dlms::Value value);
    dlms::ClientSession::RequestId action(
        const dlms::MethodDescriptor &method, std::optional<dlms::Value> parameters = {});
    // RLRQ (and DISC on HDLC) with the request timeout, then closes the socket; ends in closed().
    // Closes at once when not associated.
    void close();
    // Drop the TCP connection now, failing whatever is outstanding with `reason`; emits closed().
    void abort(const dlms::Error &reason);

Q_SIGNALS:
    void stateChanged(polling::DlmsConnection::State state);
    void associated(const dlms::Aare &aare);
    void responseReceived(const dlms::ClientSession::Response &response);
    // Any wait expired (Timeout), association refused (Rejected, the AARE in aare()), TCP
    // connection refused or lost (ConnectionFailed). After failed() the connection is Closed;
    // closed() is emitted only for close() and abort().
    void failed(const dlms::Error &error);
    // Protocol noise that did not end the connection (garbage skipped, stray frame).
    void protocolError(const dlms::Error &error);
    // A request timed out and hdlcResyncOnTimeout is on: the link is being reset (DISC, SNRM,
    // AARQ) on the same socket. Emitted before the outstanding requests fail with `reason`.
    void resynchronizing(const dlms::Error &reason);
    // Every frame on the wire, as it is sent or received (size and kind; traceBytes has the bytes).
    void frame(const dlms::FrameEvent &event, const QDateTime &timestamp);
    // The bytes exactly as written to / read from the socket, in order. They carry an LLS
    // password in clear: only for a decoder that masks it by position (dlms::TraceDecoder).
    void traceBytes(dlms::Direction direction, const QByteArray &bytes, const QDateTime &timestamp);
    void closed();

private:
    void setState(State state);
    void pump(); // write what the session queued, then dispatch its frames and events
    void dispatch();
    void handleEvent(const dlms::ClientSession::Event &event);
    bool endsConnection(const dlms::ClientSession::Event &error) const;
    void countFrame(const dlms::FrameEvent &frame);
    void updateRequestTimer(bool progressed);
    void afterRequestQueued();
    void onConnected();
    void onReadyRead();
    void onSocketError();
    void onConnectTimeout();
    void onRequestTimeout();
    // hdlcResyncOnTimeout: fail what is outstanding with `reason`, DISC, then associate again.
    void resynchronize(const dlms::Error &reason);
    // Ends the connection: outstanding requests fail with `error`, then failed(error).
    void fail(const dlms::Error &error);
    // Ends the connection quietly: outstanding requests fail with `reason`, then closed().
    void finish(const dlms::Error &reason);
    void dropSocket(bool flush);
    QString peer() const;

    Options m_options;
    State m_state = State::Closed;
    dlms::ClientSession m_session;
    std::optional<dlms::Aare> m_aare;
    Counters m_counters;
    QTcpSocket *m_socket = nullptr;
    QTimer *m_connectTimer = nullptr; // TCP connect + association
    QTimer *m_requestTimer = nullptr; // the request on the wire, or the release
    std::deque<dlms::ClientSession::Event> m_events; // taken from the session, not yet dispatched
    std::optional<dlms::Error> m_failure; // emitted as failed() once the events before it are out
    bool m_closePending = false; // emit closed() once the events before it are out
    bool m_dispatching = false;
    int m_socketCallbacks = 0; // > 0 while a socket signal is being handled (deletion must defer)
    qint64 m_responsesSeen = 0; // session Response events, to restart the request timer
    // Resynchronisation (state Associating meanwhile): waiting for UA/DM to our DISC, then for
    // the UA and AARE of the new association.
    enum class Resync : quint8 { None, Disconnecting, Associating };
    Resync m_resync = Resync::None;
    bool m_sessionStale = false; // setOptions() changed the client settings: new session at open()
};

// A meter's address, client settings and timeouts as a connection's options: what every
// connection to a configured meter shares (the poller adds hdlcResyncOnTimeout).
DlmsConnection::Options connectionOptions(const MeterConfig &meter);

} // namespace polling
