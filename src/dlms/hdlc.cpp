#include "hdlc.h"

#include "bytereader.h"
#include "bytewriter.h"

#include <array>
#include <cstring>
#include <utility>

namespace dlms::hdlc {

namespace {

constexpr std::array<quint16, 256> makeCrcTable()
{
    std::array<quint16, 256> table {};
    for (unsigned i = 0; i < 256; ++i) {
        unsigned crc = i;
        for (int bit = 0; bit < 8; ++bit)
            crc = (crc & 1u) ? (crc >> 1) ^ 0x8408u : crc >> 1;
        table[i] = quint16(crc);
    }
    return table;
}

constexpr auto CrcTable = makeCrcTable();

// format (2) + destination (1) + source (1) + control (1) + FCS (2)
constexpr qsizetype MinFrameLength = 7;

QString hex16(quint16 v)
{
    return QStringLiteral("0x%1").arg(v, 4, 16, QLatin1Char('0'));
}

std::optional<Error> checkAddress(const Address &a, QLatin1StringView which)
{
    const auto fail = [&](const QString &why) {
        return makeError(ErrorCode::InvalidArgument,
            QStringLiteral("HDLC: %1 address %2 (%3 bytes): %4")
                .arg(which, a.toString())
                .arg(a.size)
                .arg(why));
    };
    switch (a.size) {
    case 1:
        if (a.upper > 0x7F)
            return fail(QStringLiteral("a 1-byte address holds at most 0x7f"));
        if (a.lower != 0)
            return fail(QStringLiteral("a 1-byte address has no lower (physical) part"));
        return std::nullopt;
    case 2:
        if (a.upper > 0x7F || a.lower > 0x7F)
            return fail(QStringLiteral("a 2-byte address holds at most 0x7f in each part"));
        return std::nullopt;
    case 4:
        if (a.upper > 0x3FFF || a.lower > 0x3FFF)
            return fail(QStringLiteral("a 4-byte address holds at most 0x3fff in each part"));
        return std::nullopt;
    default:
        return fail(QStringLiteral("the size must be 1, 2 or 4"));
    }
}

// Each address byte carries 7 bits above an extension bit; the bit set marks the last byte.
void writeAddress(const Address &a, QByteArray &out)
{
    switch (a.size) {
    case 1:
        out.append(char((a.upper << 1) | 1));
        break;
    case 2:
        out.append(char(a.upper << 1));
        out.append(char((a.lower << 1) | 1));
        break;
    default:
        out.append(char((a.upper >> 7) << 1));
        out.append(char((a.upper & 0x7F) << 1));
        out.append(char((a.lower >> 7) << 1));
        out.append(char(((a.lower & 0x7F) << 1) | 1));
        break;
    }
}

// Bytes in the address starting at p, or 0 when it does not end within 4 bytes (or avail).
int addressLength(const quint8 *p, qsizetype avail)
{
    for (int i = 0; i < 4 && i < avail; ++i) {
        if (p[i] & 1)
            return i + 1;
    }
    return 0;
}

Address readAddress(const quint8 *p, int length)
{
    switch (length) {
    case 1:
        return {quint16(p[0] >> 1), 0, 1};
    case 2:
        return {quint16(p[0] >> 1), quint16(p[1] >> 1), 2};
    default:
        return {quint16(((p[0] >> 1) << 7) | (p[1] >> 1)), quint16(((p[2] >> 1) << 7) | (p[3] >> 1)), 4};
    }
}

void appendCrc(QByteArray &out, qsizetype from)
{
    const quint16 crc = crc16(QByteArrayView(out).sliced(from));
    out.append(char(crc & 0xFF));
    out.append(char(crc >> 8));
}

quint16 readCrc(const quint8 *p)
{
    return quint16(p[0] | (p[1] << 8));
}

} // namespace

quint16 crc16(QByteArrayView data)
{
    quint16 crc = 0xFFFF;
    for (const char ch : data)
        crc = quint16((crc >> 8) ^ CrcTable[(crc ^ quint8(ch)) & 0xFF]);
    return quint16(~crc);
}

Address Address::server(quint16 logical, quint16 physical, quint8 size)
{
    if (size == 0) {
        if (physical == 0 && logical <= 0x7F)
            size = 1;
        else if (logical <= 0x7F && physical <= 0x7F)
            size = 2;
        else
            size = 4;
    }
    return {logical, physical, size};
}

QString Address::toString() const
{
    if (size == 1)
        return QString::number(upper);
    return QStringLiteral("%1/%2").arg(upper).arg(lower);
}

QString frameTypeName(FrameType type)
{
    switch (type) {
    case FrameType::I:
        return QStringLiteral("I");
    case FrameType::RR:
        return QStringLiteral("RR");
    case FrameType::RNR:
        return QStringLiteral("RNR");
    case FrameType::SNRM:
        return QStringLiteral("SNRM");
    case FrameType::DISC:
        return QStringLiteral("DISC");
    case FrameType::UA:
        return QStringLiteral("UA");
    case FrameType::DM:
        return QStringLiteral("DM");
    case FrameType::FRMR:
        return QStringLiteral("FRMR");
    case FrameType::UI:
        return QStringLiteral("UI");
    case FrameType::Unknown:
        break;
    }
    return QStringLiteral("unknown");
}

namespace control {

quint8 i(quint8 sendSeq, quint8 recvSeq, bool poll)
{
    return quint8(((recvSeq & 0x07) << 5) | (poll ? 0x10 : 0) | ((sendSeq & 0x07) << 1));
}

quint8 rr(quint8 recvSeq, bool poll)
{
    return quint8(((recvSeq & 0x07) << 5) | (poll ? 0x10 : 0) | 0x01);
}

quint8 rnr(quint8 recvSeq, bool poll)
{
    return quint8(((recvSeq & 0x07) << 5) | (poll ? 0x10 : 0) | 0x05);
}

} // namespace control

FrameType Frame::type() const
{
    if ((control & 0x01) == 0)
        return FrameType::I;
    if ((control & 0x03) == 0x01) {
        switch (control & 0x0F) {
        case 0x01:
            return FrameType::RR;
        case 0x05:
            return FrameType::RNR;
        default:
            return FrameType::Unknown; // REJ and SREJ are not used by IEC 62056-46
        }
    }
    switch (quint8(control & ~0x10)) {
    case 0x83:
        return FrameType::SNRM;
    case 0x43:
        return FrameType::DISC;
    case 0x63:
        return FrameType::UA;
    case 0x0F:
        return FrameType::DM;
    case 0x87:
        return FrameType::FRMR;
    case 0x03:
        return FrameType::UI;
    default:
        return FrameType::Unknown;
    }
}

Result<void> encode(const Frame &frame, QByteArray &out)
{
    if (auto error = checkAddress(frame.destination, QLatin1StringView("destination")))
        return *error;
    if (auto error = checkAddress(frame.source, QLatin1StringView("source")))
        return *error;
    const qsizetype header = 2 + frame.destination.size + frame.source.size + 1;
    const qsizetype length = header + (frame.info.isEmpty() ? 0 : 2 + frame.info.size()) + 2;
    if (length > MaxFrameLength) {
        return makeError(ErrorCode::InvalidArgument,
            QStringLiteral("HDLC: a frame with a %1-byte information field is %2 bytes long, over the %3 the "
                           "length field allows")
                .arg(frame.info.size())
                .arg(length)
                .arg(MaxFrameLength));
    }
    const qsizetype start = out.size();
    out.reserve(start + length + 2);
    out.append(char(Flag));
    out.append(char(0xA0 | (frame.segmented ? 0x08 : 0) | (length >> 8)));
    out.append(char(length & 0xFF));
    writeAddress(frame.destination, out);
    writeAddress(frame.source, out);
    out.append(char(frame.control));
    if (!frame.info.isEmpty()) {
        appendCrc(out, start + 1);
        out.append(frame.info);
    }
    appendCrc(out, start + 1);
    out.append(char(Flag));
    return {};
}

void Deframer::feed(QByteArrayView bytes)
{
    m_in.append(bytes);
}

std::optional<Result<Frame>> Deframer::next()
{
    for (;;) {
        const char *d = m_in.buffer.constData();
        const qsizetype size = m_in.buffer.size();

        // Anything before a flag is garbage; it is consumed as it is scanned, so the buffer
        // cannot grow on it, and reported once per run when the next flag shows up.
        if (m_in.offset < size && quint8(d[m_in.offset]) != Flag) {
            const void *hit = std::memchr(d + m_in.offset, Flag, size_t(size - m_in.offset));
            const qsizetype flagAt = hit ? qsizetype(static_cast<const char *>(hit) - d) : size;
            m_garbageRun += flagAt - m_in.offset;
            m_discarded += flagAt - m_in.offset;
            m_in.offset = flagAt;
        }
        if (m_in.offset >= size)
            return std::nullopt;

        const qsizetype run = std::exchange(m_garbageRun, 0);
        if (!std::exchange(m_resyncing, false) && run > 0) {
            return Result<Frame>(makeError(ErrorCode::Malformed,
                QStringLiteral("HDLC: discarded %1 bytes before the flag at stream offset %2")
                    .arg(run)
                    .arg(m_in.base + m_in.offset)));
        }

        // Of repeated flags, the last one opens the frame.
        while (m_in.offset + 1 < size && quint8(d[m_in.offset + 1]) == Flag)
            ++m_in.offset;
        if (size - m_in.offset < 3)
            return std::nullopt;

        const auto *p = reinterpret_cast<const quint8 *>(d + m_in.offset);
        const qint64 at = m_in.base + m_in.offset;
        if ((p[1] & 0xF0) != 0xA0) {
            // Not frame format type 3: this flag closed a frame and junk follows it.
            ++m_in.offset;
            continue;
        }
        const qsizetype length = ((p[1] & 0x07) << 8) | p[2];
        if (length < MinFrameLength) {
            ++m_in.offset;
            m_resyncing = true;
            return Result<Frame>(makeError(ErrorCode::Malformed,
                QStringLiteral("HDLC: frame at stream offset %1 claims a length of %2, less than the %3 of "
                               "the smallest frame")
                    .arg(at)
                    .arg(length)
                    .arg(MinFrameLength)));
        }
        // A long length simply waits: nothing is reserved for bytes that have not arrived.
        if (size - m_in.offset < length + 2)
            return std::nullopt;
        if (p[length + 1] != Flag) {
            ++m_in.offset;
            m_resyncing = true;
            return Result<Frame>(makeError(ErrorCode::Malformed,
                QStringLiteral(
                    "HDLC: the %1-byte frame at stream offset %2 has 0x%3 where its closing flag should be")
                    .arg(length)
                    .arg(at)
                    .arg(p[length + 1], 2, 16, QLatin1Char('0'))));
        }

        // From here the frame is delimited: whatever is wrong inside drops it whole, and its
        // closing flag may open the next frame.
        m_in.offset += length + 1;
        m_accounted = m_in.base + m_in.offset + 1;
        const quint8 *f = p + 1; // format field; the frame body is f[0, length)
        const auto fail = [&](ErrorCode code, const QString &what) {
            return Result<Frame>(makeError(code,
                QStringLiteral("HDLC: %1 in the %2-byte frame at stream offset %3")
                    .arg(what)
                    .arg(length)
                    .arg(at)));
        };

        const quint16 fcs = crc16(QByteArrayView(f, length - 2));
        if (readCrc(f + length - 2) != fcs) {
            return fail(ErrorCode::BadChecksum,
                QStringLiteral("bad FCS %1 (computed %2)").arg(hex16(readCrc(f + length - 2)), hex16(fcs)));
        }
        const qsizetype bodyEnd = length - 2; // FCS excluded
        const int destLength = addressLength(f + 2, bodyEnd - 2);
        if (destLength == 0 || destLength == 3) {
            return fail(ErrorCode::BadAddress,
                destLength == 0 ? QStringLiteral("destination address does not end within 4 bytes")
                                : QStringLiteral("3-byte destination address"));
        }
        const int srcLength = addressLength(f + 2 + destLength, bodyEnd - 2 - destLength);
        if (srcLength == 0 || srcLength == 3) {
            return fail(ErrorCode::BadAddress,
                srcLength == 0 ? QStringLiteral("source address does not end within 4 bytes")
                               : QStringLiteral("3-byte source address"));
        }
        const qsizetype headerLength = 2 + destLength + srcLength + 1;
        if (headerLength > bodyEnd)
            return fail(ErrorCode::Malformed, QStringLiteral("no room for the control field"));

        Frame frame;
        frame.destination = readAddress(f + 2, destLength);
        frame.source = readAddress(f + 2 + destLength, srcLength);
        frame.control = f[headerLength - 1];
        frame.segmented = (f[0] & 0x08) != 0;
        const qsizetype rest = bodyEnd - headerLength;
        if (rest > 0) {
            // HCS (2 bytes) then at least one byte of information field.
            if (rest < 3) {
                return fail(ErrorCode::Malformed,
                    QStringLiteral("%1 bytes after the header, too few for an HCS and an information field")
                        .arg(rest));
            }
            const quint16 hcs = crc16(QByteArrayView(f, headerLength));
            if (readCrc(f + headerLength) != hcs) {
                return fail(ErrorCode::BadChecksum,
                    QStringLiteral("bad HCS %1 (computed %2)")
                        .arg(hex16(readCrc(f + headerLength)), hex16(hcs)));
            }
            frame.info = QByteArray(reinterpret_cast<const char *>(f + headerLength + 2), rest - 2);
        }
        return Result<Frame>(std::move(frame));
    }
}

void Deframer::clear()
{
    m_in.clear();
    m_discarded = 0;
    m_accounted = 0;
    m_garbageRun = 0;
    m_resyncing = false;
}

QByteArray encodeParameters(const LinkParameters &params)
{
    QByteArray out;
    out.reserve(3 + 2 * 4 + 2 * 6);
    ByteWriter w(out);
    w.u8(0x81); // format identifier
    w.u8(0x80); // HDLC parameter group
    w.u8(0); // group length, patched below
    const auto infoLength = [&](quint8 id, quint16 value) {
        w.u8(id);
        if (value <= 0xFF) {
            w.u8(1);
            w.u8(quint8(value));
        } else {
            w.u8(2);
            w.u16(value);
        }
    };
    // Windows go out as 4 bytes, the form the standard's own examples use.
    const auto window = [&](quint8 id, quint32 value) {
        w.u8(id);
        w.u8(4);
        w.u32(value);
    };
    infoLength(0x05, params.maxInfoTx);
    infoLength(0x06, params.maxInfoRx);
    window(0x07, params.windowTx);
    window(0x08, params.windowRx);
    w.patchU8(2, quint8(out.size() - 3));
    return out;
}

Result<LinkParameters> decodeParameters(QByteArrayView info)
{
    LinkParameters params;
    if (info.isEmpty())
        return params;
    ByteReader r(info);
    const quint8 format = r.u8();
    const quint8 group = r.u8();
    const quint8 groupLength = r.u8();
    if (r.failed()) {
        return makeError(ErrorCode::Truncated,
            QStringLiteral("HDLC parameters: %1 bytes, too few for the 3-byte group header")
                .arg(info.size()));
    }
    if (format != 0x81) {
        return makeError(ErrorCode::Malformed,
            QStringLiteral("HDLC parameters: format identifier 0x%1, expected 0x81")
                .arg(format, 2, 16, QLatin1Char('0')));
    }
    if (group != 0x80) {
        return makeError(ErrorCode::Malformed,
            QStringLiteral("HDLC parameters: group identifier 0x%1, expected 0x80")
                .arg(group, 2, 16, QLatin1Char('0')));
    }
    if (groupLength > r.remaining()) {
        return makeError(ErrorCode::LengthTooLarge,
            QStringLiteral("HDLC parameters: group length %1 exceeds the %2 bytes left at offset 3")
                .arg(groupLength)
                .arg(r.remaining()));
    }
    // Bytes after the group (a user-data group, say) do not concern the link: ignored.
    ByteReader g(r.bytes(groupLength));
    while (!g.atEnd()) {
        const qsizetype at = 3 + g.position();
        const quint8 id = g.u8();
        const quint8 length = g.u8();
        if (g.failed()) {
            return makeError(ErrorCode::Truncated,
                QStringLiteral("HDLC parameters: parameter 0x%1 at offset %2 has no length byte")
                    .arg(id, 2, 16, QLatin1Char('0'))
                    .arg(at));
        }
        if (length > g.remaining()) {
            return makeError(ErrorCode::LengthTooLarge,
                QStringLiteral("HDLC parameters: parameter 0x%1 at offset %2 has length %3, over the %4 "
                               "bytes left in the group")
                    .arg(id, 2, 16, QLatin1Char('0'))
                    .arg(at)
                    .arg(length)
                    .arg(g.remaining()));
        }
        const QByteArrayView bytes = g.bytes(length);
        const bool isInfoLength = id == 0x05 || id == 0x06;
        const bool isWindow = id == 0x07 || id == 0x08;
        if (!isInfoLength && !isWindow)
            continue; // unknown parameter: skipped, as the standard asks
        const int maxLength = isInfoLength ? 2 : 4;
        if (length < 1 || length > maxLength) {
            return makeError(ErrorCode::Malformed,
                QStringLiteral("HDLC parameters: parameter 0x%1 at offset %2 has length %3, expected 1 to %4")
                    .arg(id, 2, 16, QLatin1Char('0'))
                    .arg(at)
                    .arg(length)
                    .arg(maxLength));
        }
        quint32 value = 0;
        for (const char b : bytes)
            value = (value << 8) | quint8(b);
        if (value == 0) {
            return makeError(ErrorCode::Malformed,
                QStringLiteral("HDLC parameters: parameter 0x%1 at offset %2 is 0, which no link can use")
                    .arg(id, 2, 16, QLatin1Char('0'))
                    .arg(at));
        }
        switch (id) {
        case 0x05:
            params.maxInfoTx = quint16(value);
            break;
        case 0x06:
            params.maxInfoRx = quint16(value);
            break;
        case 0x07:
            params.windowTx = value;
            break;
        default:
            params.windowRx = value;
            break;
        }
    }
    return params;
}

} // namespace dlms::hdlc
