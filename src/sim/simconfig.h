#pragma once

#include <clientsession.h>
#include <hdlc.h>
#include <security.h>

#include <QtCore/QByteArray>
#include <QtCore/QDateTime>
#include <QtCore/QString>

#include <functional>

namespace sim {

// Misbehaviour a real meter shows in the field. Each fault is independent; all off by default.
// Transport faults (latency, drop, garbage, drip, silence) act on the connection's bytes; the
// protocol faults (reject, exceptions) act on the meter's answers.
struct FaultConfig {
    int latencyMs = 0; // wait this long before sending each response
    bool dropMidFrame = false; // send half of the first data response frame, then close the connection
    int garbageBytes = 0; // write this many random bytes before each response
    bool drip = false; // send responses one byte at a time
    int dripIntervalMs = 1; // pause between dripped bytes
    bool rejectAssociation = false; // AARE rejected-permanent, no-reason-given, to every AARQ
    bool exceptionResponses = false; // answer every GET/SET/ACTION with an exception-response
    bool silent = false; // accept the connection, read everything, never answer
    // HDLC only: on each connection, the first N I frames that start a data response (GET, SET,
    // ACTION, exception) carry N(S) one too high. The meter's link is then out of step: it
    // drops everything but SNRM and DISC (so the client's RR brings nothing back) until the
    // client resets the link. A client that resynchronises (DISC, SNRM, AARQ) recovers on
    // the same connection once the N frames are spent.
    int badSequenceFrames = 0;

    bool any() const
    {
        return latencyMs > 0 || dropMidFrame || garbageBytes > 0 || drip || rejectAssociation
            || exceptionResponses || silent || badSequenceFrames > 0;
    }
    bool operator==(const FaultConfig &) const = default;
};

// One simulated meter.
struct MeterSettings {
    int index = 0; // 0-based position on the simulator; makes serial number and values distinct
    quint32 profileRows = 10000; // load profile 1.0.99.1.0.255 entries
    quint32 profilePeriodSeconds = 900; // capture period, rows end at the current period
    QByteArray password = QByteArrayLiteral("12345678"); // LLS secret
    bool requireAuthentication = false; // refuse no-auth associations (authentication-required)
    // Suite 0 on the server side: the meter's system title, EK and AK (HLS-GMAC and ciphering).
    // `policy` is the least protection the meter accepts on a ciphered association's APDUs.
    // Empty keys or title = sim::defaultSecurity(index) (the Green Book example keys and the
    // title "SIM" + index), so every simulated meter speaks HLS-GMAC out of the box.
    dlms::SecuritySettings security;
    bool requireHighSecurity = false; // refuse no-auth and LLS associations (HLS-GMAC only)
    bool multipleReferences = true; // offer GET-with-list in the negotiated conformance
    quint16 maxPduSize = 1024; // server max receive PDU; responses larger go by block transfer
    quint16 logicalAddress = 1; // wrapper destination wPort / HDLC upper address
    quint16 physicalAddress = 0; // HDLC lower address; 0 = answer whatever lower address is used
    dlms::hdlc::LinkParameters hdlc {128, 128, 1, 1}; // proposed in the UA
    qint64 clockOffsetSeconds = 0; // the meter's clock minus the host's
    qint16 timeZoneMinutes = 0; // Clock attribute 3; 0 = the meter keeps UTC
    FaultConfig faults;
};

// The suite 0 material of simulated meter `index` when its settings leave it empty: the system
// title "SIM" + the index as 5 bytes big-endian, and the Green Book example EK
// 000102…0F and AK D0D1…DF. Public example keys: for the simulator only, never for a real meter.
dlms::SecuritySettings defaultSecurity(int index);

// Test hook: the "host clock" a model reads. Defaults to QDateTime::currentDateTimeUtc.
using ClockSource = std::function<QDateTime()>;

} // namespace sim
