#pragma once

#include <QtCore/QByteArray>
#include <QtCore/QByteArrayView>

namespace dlms {

// Big-endian appends onto a caller-owned QByteArray, so encoders can reserve once and reuse
// a buffer across calls.
class ByteWriter {
public:
    explicit ByteWriter(QByteArray &out) noexcept : m_out(out) { }

    QByteArray &buffer() noexcept { return m_out; }
    qsizetype size() const noexcept { return m_out.size(); }

    void u8(quint8 v) { m_out.append(char(v)); }
    void u16(quint16 v)
    {
        const char b[2] = {char(v >> 8), char(v)};
        m_out.append(b, 2);
    }
    void u32(quint32 v)
    {
        const char b[4] = {char(v >> 24), char(v >> 16), char(v >> 8), char(v)};
        m_out.append(b, 4);
    }
    void u64(quint64 v)
    {
        u32(quint32(v >> 32));
        u32(quint32(v));
    }
    void bytes(QByteArrayView v) { m_out.append(v); }

    // BER definite length, shortest form.
    void berLength(quint32 n)
    {
        if (n < 0x80) {
            u8(quint8(n));
        } else if (n <= 0xFF) {
            u8(0x81);
            u8(quint8(n));
        } else if (n <= 0xFFFF) {
            u8(0x82);
            u16(quint16(n));
        } else if (n <= 0xFFFFFF) {
            u8(0x83);
            u8(quint8(n >> 16));
            u16(quint16(n));
        } else {
            u8(0x84);
            u32(n);
        }
    }

    // Overwrite a previously written byte (e.g. a length patched after the body is known).
    void patchU8(qsizetype at, quint8 v) { m_out[at] = char(v); }

private:
    QByteArray &m_out;
};

} // namespace dlms
