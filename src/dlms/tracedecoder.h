#pragma once

#include "clientsession.h"
#include "units.h"

#include <QtCore/QStringList>

#include <map>
#include <optional>

namespace dlms {

// Turns raw bytes seen on a DLMS connection, per direction, into readable trace lines: one per
// frame, with its hex, a one-line decode, and details (values, negotiated conformance) once an
// APDU is complete. HDLC segments are reassembled for the decode; garbage becomes an error
// line. Secrets (an AARQ's authentication value) are masked in the hex and never described.
class TraceDecoder {
public:
    struct Line {
        Direction direction = Direction::Sent;
        qsizetype size = 0;
        QString hex; // "7E A0 07 …"
        QString summary; // "HDLC SNRM 16→1 P" / "AARQ LN no-auth …" / "error: …"
        QStringList details; // e.g. "[1] double-long-unsigned 12345"
        bool isError = false;
        // The summary and details show the deciphered content of a ciphered APDU ("… | glo-get-request
        // SC 0x30 IC 5 | decrypted: GET-Request-Normal …"); the hex stays as on the wire.
        bool decrypted = false;
    };

    // Without a transport the first bytes decide: 0x7E is HDLC, anything else the wrapper.
    explicit TraceDecoder(std::optional<Transport> transport = std::nullopt);

    std::vector<Line> feed(Direction direction, QByteArrayView bytes);
    // The client's security material (EK, AK, client system title): ciphered APDUs in either
    // direction are then deciphered for the decode (the server's title comes from the AARE or
    // the general-ciphering APDU; a dedicated key from the deciphered AARQ). Never shown: the
    // keys, a dedicated key inside a deciphered InitiateRequest (masked), the LLS password.
    void setSecurity(const SecuritySettings &security);
    std::optional<Transport> transport() const { return m_transport; }

private:
    struct HeldSegment {
        Line line;
        QByteArray wire;
        qsizetype infoAt = 0; // information field's offset within `wire`
        qsizetype infoSize = 0;
        qsizetype streamAt = 0; // its offset within the reassembled LLC + APDU
    };
    struct Side {
        hdlc::Deframer hdlc;
        wrapper::Deframer wrapper;
        QByteArray assembly; // HDLC segments of an APDU in progress (LLC included)
        std::vector<HeldSegment> held; // AARQ segments waiting for the secret's position
    };
    // Key material from setSecurity() and what the trace taught about the association; the
    // secrets are zeroed when dropped.
    struct Keys {
        QByteArray blockCipherKey;
        QByteArray authenticationKey;
        QByteArray clientTitle; // configured; an AARQ's calling-AP-title takes precedence
        QByteArray announcedClientTitle; // from the last AARQ
        QByteArray serverTitle; // from the last AARE's responding-AP-title
        QByteArray dedicatedKey; // from the last deciphered InitiateRequest
        Keys() = default;
        Keys(const Keys &) = default;
        Keys &operator=(const Keys &) = default;
        ~Keys();
    };
    void describeApdu(QByteArrayView apdu, Line &line);
    // `prefix` goes before the description ("decrypted: " for a deciphered APDU).
    void describePlain(QByteArrayView apdu, Line &line, const QString &prefix);
    void describeCiphered(QByteArrayView apdu, Line &line);
    QString describeResult(const DataResult &result, const AttributeDescriptor *attribute) const;

    std::optional<Transport> m_transport;
    Side m_sides[2];
    // GET requests awaiting their response, by invoke id, so results can be named and scaled.
    std::map<quint8, std::vector<AttributeDescriptor>> m_pendingGets;
    std::map<Obis, ScalerUnit> m_scalers; // scaler_unit values seen so far in the trace
    Keys m_keys;
    std::optional<quint8> m_pendingHlsReply; // invoke id of a reply_to_HLS_authentication ACTION
};

QString toHex(QByteArrayView bytes); // upper case, space separated

} // namespace dlms
