#include "traceprinter.h"

#include <QtCore/QTextStream>

#include <algorithm>

using namespace Qt::StringLiterals;

namespace {

constexpr QLatin1StringView kIndent("               ");

QString maskedHex(const dlms::FrameEvent &event)
{
    static constexpr char digits[] = "0123456789ABCDEF";
    const bool secret = event.direction == dlms::Direction::Sent && event.kind == dlms::FrameKind::Aarq;
    QString hex;
    hex.reserve(event.bytes.size() * 3);
    for (qsizetype i = 0; i < event.bytes.size(); ++i) {
        if (i)
            hex += u' ';
        const auto b = quint8(event.bytes[i]);
        if (secret && b == '*') {
            hex += u"**"_s;
            continue;
        }
        hex += QLatin1Char(digits[b >> 4]);
        hex += QLatin1Char(digits[b & 0x0F]);
    }
    return hex;
}

// The session masks the whole calling-authentication-value element content, its inner
// [0] tag and length included. To let the decoder still describe the AARQ (it masks and skips
// the secret itself), the tag and length are put back into the copy it sees; the '*' stay.
void restoreSecretFraming(QByteArray &apdu)
{
    for (qsizetype i = 0; i + 3 < apdu.size(); ++i) {
        const auto length = quint8(apdu[i + 1]);
        if (quint8(apdu[i]) != 0xAC || length < 2 || length > 0x7F || i + 2 + length > apdu.size())
            continue;
        const QByteArrayView content = QByteArrayView(apdu).sliced(i + 2, length);
        if (std::all_of(content.begin(), content.end(), [](char c) { return c == '*'; })) {
            apdu[i + 2] = char(0x80);
            apdu[i + 3] = char(length - 2);
            return;
        }
    }
}

QByteArray decodableCopy(dlms::Transport transport, const dlms::FrameEvent &event)
{
    if (event.direction != dlms::Direction::Sent || event.kind != dlms::FrameKind::Aarq)
        return event.bytes;
    if (transport == dlms::Transport::Wrapper) {
        QByteArray copy = event.bytes;
        restoreSecretFraming(copy);
        return copy;
    }
    // HDLC: patch the information field and re-encode, so the frame check sequence still holds.
    dlms::hdlc::Deframer deframer;
    deframer.feed(event.bytes);
    auto frame = deframer.next();
    if (!frame || !*frame)
        return event.bytes;
    dlms::hdlc::Frame patched = frame->value();
    restoreSecretFraming(patched.info);
    QByteArray copy;
    if (!dlms::hdlc::encode(patched, copy))
        return event.bytes;
    return copy;
}

} // namespace

TracePrinter::TracePrinter(dlms::Transport transport, QTextStream &out)
    : m_transport(transport), m_decoder(transport), m_out(out)
{
}

void TracePrinter::frame(const dlms::FrameEvent &event, const QDateTime &timestamp)
{
    const bool sent = event.direction == dlms::Direction::Sent;
    m_out << timestamp.toString(u"HH:mm:ss.zzz"_s) << (sent ? " > " : " < ") << event.size << " B  ";
    if (event.bytes.isEmpty()) {
        // The session keeps no bytes for what its deframer threw away.
        m_out << "(discarded)\n" << kIndent << "error: " << event.size << " bytes skipped, not a frame\n";
        m_out.flush();
        return;
    }
    m_out << maskedHex(event) << '\n';
    for (const dlms::TraceDecoder::Line &line :
        m_decoder.feed(event.direction, decodableCopy(m_transport, event))) {
        m_out << kIndent << line.summary << '\n';
        for (const QString &detail : line.details)
            m_out << kIndent << "  " << detail << '\n';
    }
    m_out.flush();
}

void TracePrinter::note(const QString &text)
{
    m_out << kIndent << "! " << text << '\n';
    m_out.flush();
}
