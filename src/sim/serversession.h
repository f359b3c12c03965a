#pragma once

#include "metermodel.h"

#include <apdu.h>
#include <hdlc.h>
#include <wrapper.h>

#include <QtCore/QByteArray>

#include <optional>
#include <vector>

namespace sim {

// The server side of one connection to a simulated meter, sans I/O: bytes in, bytes out. Speaks
// the wrapper or HDLC (server role of dlms::hdlc::Link: SNRM/UA with the meter's proposed
// parameters, segmentation, RR, DISC/UA), runs the ACSE (AARQ → AARE: no auth, LLS with the
// meter's password, HLS-GMAC with its reply_to_HLS_authentication pass, the ciphered
// glo-initiate-request of LN-with-ciphering, refusals with their diagnostics), deciphers and
// answers in kind the glo-, ded- and general-ciphering APDUs of suite 0 (replay-checked against
// the MeterModel's per-client invocation counters), and runs the xDLMS services against the
// MeterModel: GET normal / with-list / next with block transfer above the negotiated PDU, SET,
// ACTION, RLRQ/RLRE, each only if negotiated in the conformance block. Protocol faults of the model
// (rejectAssociation, exceptionResponses) are applied here; transport faults belong to the owner of the
// socket.
class ServerSession {
public:
    ServerSession(MeterModel &model, dlms::Transport transport);

    void feed(QByteArrayView bytes);
    // Responses ready to go out; each element is one complete frame (wrapper frame, or HDLC frame
    // with its flags), so the owner can apply per-frame faults (drop mid-frame, drip).
    std::vector<QByteArray> takeOutgoing();
    bool hasOutgoing() const { return !m_outgoing.empty(); }

    // No GET answer grows beyond this many encoded bytes: with-list items past it are answered
    // temporary-failure without being evaluated, so a short request cannot make the server build
    // and hold an unbounded answer.
    static constexpr qsizetype MaxResponseBytes = 8 * 1024 * 1024;
    // Test hook: a smaller cap, so tests and the fuzzer reach it with small profiles.
    void setMaxResponseBytes(qsizetype bytes) { m_maxResponseBytes = bytes; }

    // Test hook: the HLS StoC challenge of the next associations; empty = 16 random bytes each.
    void setHlsChallenge(QByteArray challenge) { m_fixedChallenge = std::move(challenge); }
    // An HLS-GMAC association between the AARE and an accepted reply_to_HLS_authentication.
    bool authenticationPending() const { return m_hlsPending; }

    bool associated() const { return m_association.has_value(); }
    const std::optional<Association> &association() const { return m_association; }

    struct Counters {
        quint64 apdusReceived = 0; // complete request APDUs (AARQ, GET, SET, ACTION, RLRQ, …)
        quint64 apdusSent = 0;
        quint64 blocksSent = 0; // GET-Response-With-Datablock APDUs
        quint64 malformed = 0; // frames or APDUs we could not decode (answered or dropped)
        quint64 garbageBytes = 0; // bytes the deframer discarded
        quint64 ignoredFrames = 0; // well-formed frames addressed to another device or client
        quint64 associationsAccepted = 0; // AAREs sent, accepted
        quint64 associationsRejected = 0; // AAREs sent, refused
        quint64 decipherFailures = 0; // ciphered AARQs or APDUs that did not decipher or verify
        quint64 replaysRejected = 0; // AARQs, APDUs or HLS proofs whose invocation counter was not fresh
        quint64 authenticationFailures = 0; // HLS f(StoC) that did not verify
    };
    const Counters &counters() const { return m_counters; }

private:
    // A GET answer too large for one APDU, sliced into GET-Response-With-Datablock on demand.
    struct BlockTransfer {
        QByteArray data; // the whole encoded result, encoded once
        qsizetype offset = 0; // first byte not yet sent
        qsizetype blockSize = 0; // raw-data bytes per block
        quint32 blockNumber = 0; // the last block sent
        dlms::InvokeIdAndPriority invoke;
    };

    // How the request being answered was protected; its answer is protected the same way.
    enum class Ciphering : quint8 { None, Service, General };
    struct Protection {
        Ciphering kind = Ciphering::None;
        bool dedicated = false;
        quint8 control = 0;
    };

    void receiveWrapper();
    void receiveHdlc();
    void handleHdlcFrame(const dlms::hdlc::Frame &frame);
    void flushLink();
    void handleApdu(QByteArrayView apdu);
    void handleAarq(QByteArrayView apdu);
    std::optional<dlms::InitiateRequest> openInitiate(const dlms::Aarq &aarq, dlms::Aare &aare);
    void acceptAssociation(const dlms::Aarq &aarq, dlms::InitiateRequest &initiate, dlms::Aare &aare);
    void handleCiphered(QByteArrayView apdu);
    void handleHlsReply(const dlms::ActionRequest &request);
    void handleRlrq(QByteArrayView apdu);
    void handleService(quint8 tag, QByteArrayView apdu);
    void handleGet(const dlms::GetRequest &request);
    void handleGetNext(const dlms::GetRequest &request);
    dlms::DataResult evaluate(const dlms::AttributeRequest &item) const;
    void sendGetResults(const dlms::GetRequest &request, QByteArray encoded, size_t count);
    void sendNextBlock();
    void sendBlockError(const dlms::GetRequest &request, dlms::DataAccessResult error);
    void sendException(quint8 stateError, quint8 serviceError, quint32 invocationCounter = 0);
    void sendDecipherFailure();
    void sendResponse(QByteArrayView apdu); // protected as m_reply says
    void sendApdu(QByteArrayView apdu);
    void endAssociation();
    qsizetype responseLimit() const;
    qsizetype requestLimit() const;

    MeterModel &m_model;
    dlms::Transport m_transport;
    std::optional<Association> m_association;
    std::vector<QByteArray> m_outgoing;
    Counters m_counters;
    dlms::wrapper::Deframer m_wrapperIn;
    dlms::hdlc::Deframer m_hdlcIn;
    qsizetype m_discardedSeen = 0; // deframer discards already attributed to garbage
    std::optional<dlms::hdlc::Link> m_link;
    quint16 m_clientAddress = 0; // wrapper source wPort / HDLC client address of the request
    std::optional<BlockTransfer> m_transfer;
    QByteArray m_scratch;
    qsizetype m_maxResponseBytes = MaxResponseBytes;
    int m_badSequenceSent = 0; // I frames sent with a wrong N(S) on this connection (fault)
    bool m_corruptNextIFrame = false; // the next I frame out starts a data response to corrupt
    bool m_sequenceBroken = false; // after a corrupted frame: deaf to all but SNRM and DISC

    Protection m_reply;
    QByteArray m_clientTitle; // calling-AP-title of an HLS or ciphered association
    QByteArray m_dedicatedKey; // from the ciphered InitiateRequest; zeroed when the association ends
    quint8 m_requiredControl = 0; // security bits every APDU of a ciphered association must carry
    QByteArray m_clientChallenge; // HLS CtoS
    QByteArray m_serverChallenge; // HLS StoC
    QByteArray m_fixedChallenge;
    bool m_hlsPending = false;
};

} // namespace sim
