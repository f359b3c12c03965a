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
    };

    // Without a transport the first bytes decide: 0x7E is HDLC, anything else the wrapper.
    explicit TraceDecoder(std::optional<Transport> transport = std::nullopt);

    std::vector<Line> feed(Direction direction, QByteArrayView bytes);
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
    void describeApdu(QByteArrayView apdu, Line &line);
    QString describeResult(const DataResult &result, const AttributeDescriptor *attribute) const;

    std::optional<Transport> m_transport;
    Side m_sides[2];
    // GET requests awaiting their response, by invoke id, so results can be named and scaled.
    std::map<quint8, std::vector<AttributeDescriptor>> m_pendingGets;
    std::map<Obis, ScalerUnit> m_scalers; // scaler_unit values seen so far in the trace
};

QString toHex(QByteArrayView bytes); // upper case, space separated

} // namespace dlms
