#include "wrapper.h"

#include "bytewriter.h"

#include <cstring>
#include <utility>

namespace dlms::wrapper {

namespace {

quint16 readU16(const char *p)
{
    return quint16((quint8(p[0]) << 8) | quint8(p[1]));
}

} // namespace

Result<void> encode(quint16 sourcePort, quint16 destinationPort, QByteArrayView apdu, QByteArray &out)
{
    if (apdu.size() > MaxApduSize) {
        return makeError(ErrorCode::InvalidArgument,
            QStringLiteral("wrapper: APDU of %1 bytes exceeds the 65535 bytes the length field can carry")
                .arg(apdu.size()));
    }
    out.reserve(out.size() + HeaderSize + apdu.size());
    ByteWriter w(out);
    w.u16(Version);
    w.u16(sourcePort);
    w.u16(destinationPort);
    w.u16(quint16(apdu.size()));
    w.bytes(apdu);
    return {};
}

void Deframer::feed(QByteArrayView bytes)
{
    m_in.append(bytes);
}

std::optional<Result<Frame>> Deframer::next()
{
    const char *d = m_in.buffer.constData();
    const qsizetype size = m_in.buffer.size();

    // Garbage is consumed as it is scanned so the buffer cannot grow on it; a lone trailing
    // 0x00 is kept because it may be the start of the next header.
    while (m_in.offset < size) {
        if (d[m_in.offset] == 0x00) {
            if (m_in.offset + 1 >= size)
                return std::nullopt;
            if (readU16(d + m_in.offset) == Version)
                break;
        }
        // Every header starts with 0x00: jump to the next one.
        const void *zero = std::memchr(d + m_in.offset + 1, 0, size_t(size - m_in.offset - 1));
        const qsizetype next = zero ? qsizetype(static_cast<const char *>(zero) - d) : size;
        m_garbageRun += next - m_in.offset;
        m_discarded += next - m_in.offset;
        m_in.offset = next;
    }
    if (m_in.offset >= size)
        return std::nullopt;

    if (m_garbageRun > 0) {
        const qsizetype run = std::exchange(m_garbageRun, 0);
        return Result<Frame>(makeError(ErrorCode::Malformed,
            QStringLiteral("wrapper: skipped %1 bytes at stream offset %2 that do not start a header with "
                           "version 0x0001")
                .arg(run)
                .arg(m_in.base + m_in.offset - run)));
    }

    if (size - m_in.offset < HeaderSize)
        return std::nullopt;
    const char *h = d + m_in.offset;
    const quint16 length = readU16(h + 6);
    // The length is trusted only once the bytes are here: nothing is reserved for it.
    if (size - m_in.offset - HeaderSize < length)
        return std::nullopt;

    Frame frame;
    frame.sourcePort = readU16(h + 2);
    frame.destinationPort = readU16(h + 4);
    frame.apdu = m_in.buffer.sliced(m_in.offset + HeaderSize, length);
    m_in.offset += HeaderSize + length;
    return Result<Frame>(std::move(frame));
}

void Deframer::clear()
{
    m_in.clear();
    m_discarded = 0;
    m_garbageRun = 0;
}

} // namespace dlms::wrapper
