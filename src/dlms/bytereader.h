#pragma once

#include "error.h"

#include <QtCore/QByteArrayView>

#include <cstdint>
#include <optional>

namespace dlms {

// Bounds-checked big-endian reader over borrowed bytes. Failure is sticky: after the first
// short read every further read returns zero and failed() stays true, so a decoder can read a
// whole fixed-size header and check once. Nothing here allocates.
class ByteReader {
public:
    explicit ByteReader(QByteArrayView data) noexcept : m_data(data) { }

    qsizetype position() const noexcept { return m_pos; }
    qsizetype remaining() const noexcept { return m_data.size() - m_pos; }
    qsizetype size() const noexcept { return m_data.size(); }
    bool atEnd() const noexcept { return m_pos >= m_data.size(); }
    bool failed() const noexcept { return m_failed; }
    bool has(qsizetype n) const noexcept { return n >= 0 && n <= remaining(); }

    quint8 peek() const noexcept { return atEnd() ? 0 : quint8(m_data[m_pos]); }

    quint8 u8() noexcept
    {
        if (!take(1))
            return 0;
        return quint8(m_data[m_pos - 1]);
    }
    quint16 u16() noexcept
    {
        if (!take(2))
            return 0;
        const auto *p = reinterpret_cast<const quint8 *>(m_data.data()) + m_pos - 2;
        return quint16((p[0] << 8) | p[1]);
    }
    quint32 u32() noexcept
    {
        if (!take(4))
            return 0;
        const auto *p = reinterpret_cast<const quint8 *>(m_data.data()) + m_pos - 4;
        return (quint32(p[0]) << 24) | (quint32(p[1]) << 16) | (quint32(p[2]) << 8) | p[3];
    }
    quint64 u64() noexcept
    {
        const quint64 hi = u32();
        return (hi << 32) | u32();
    }

    // A view of the next n bytes, or an empty view (and failed()) when fewer are there.
    QByteArrayView bytes(qsizetype n) noexcept
    {
        if (!take(n))
            return {};
        return m_data.sliced(m_pos - n, n);
    }
    QByteArrayView rest() noexcept { return bytes(remaining()); }
    bool skip(qsizetype n) noexcept { return take(n); }

    // BER definite length (X.690 8.1.3): short form, or 0x81..0x84 long form. The value is
    // not checked against remaining(): the caller knows what unit the length counts.
    std::optional<quint32> berLength() noexcept
    {
        const quint8 first = u8();
        if (m_failed)
            return std::nullopt;
        if (first < 0x80)
            return first;
        const int count = first & 0x7F;
        if (count == 0 || count > 4) {
            m_failed = true;
            return std::nullopt;
        }
        quint32 value = 0;
        for (int i = 0; i < count; ++i)
            value = (value << 8) | u8();
        if (m_failed)
            return std::nullopt;
        return value;
    }

private:
    bool take(qsizetype n) noexcept
    {
        if (m_failed || n < 0 || n > remaining()) {
            m_failed = true;
            return false;
        }
        m_pos += n;
        return true;
    }

    QByteArrayView m_data;
    qsizetype m_pos = 0;
    bool m_failed = false;
};

} // namespace dlms
