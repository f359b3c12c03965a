#pragma once

#include "error.h"
#include "streambuffer.h"

#include <QtCore/QByteArray>

#include <optional>

namespace dlms::wrapper {

// IEC 62056-47 TCP/UDP wrapper: version (0x0001), source wPort, destination wPort, length,
// then the APDU. wPorts are the client SAP and the server logical device address.
inline constexpr qsizetype HeaderSize = 8;
inline constexpr quint16 Version = 0x0001;
inline constexpr qsizetype MaxApduSize = 0xFFFF;

struct Frame {
    quint16 sourcePort = 0;
    quint16 destinationPort = 0;
    QByteArray apdu;

    bool operator==(const Frame &) const = default;
};

// Fails (InvalidArgument) only when the APDU exceeds 65535 bytes.
Result<void> encode(quint16 sourcePort, quint16 destinationPort, QByteArrayView apdu, QByteArray &out);

// Reassembles frames from a TCP byte stream delivered in arbitrary chunks. A bad header
// (wrong version) is reported once as an error, then the deframer skips ahead to the next
// plausible header, so garbage costs bytes, never the connection's framing.
class Deframer {
public:
    void feed(QByteArrayView bytes);
    // The next complete frame; an Error for discarded garbage; std::nullopt when more bytes are
    // needed. Call until it returns std::nullopt.
    std::optional<Result<Frame>> next();

    qsizetype bufferedBytes() const { return m_in.buffer.size() - m_in.offset; }
    qsizetype discardedBytes() const { return m_discarded; }
    // Stream bytes accounted for so far (frames and discarded garbage); the difference across
    // one next() is exactly what that frame or error cost on the wire.
    qint64 consumedBytes() const { return m_in.base + m_in.offset; }
    void clear();

private:
    StreamBuffer m_in;
    qsizetype m_discarded = 0;
    qsizetype m_garbageRun = 0; // bytes skipped since the last plausible header, not yet reported
};

} // namespace dlms::wrapper
