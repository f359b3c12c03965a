#include "traceprinter.h"

#include <QtCore/QTextStream>

using namespace Qt::StringLiterals;

namespace {

constexpr QLatin1StringView kIndent("               ");

} // namespace

TracePrinter::TracePrinter(dlms::Transport transport, QTextStream &out) : m_decoder(transport), m_out(out) { }

void TracePrinter::bytes(dlms::Direction direction, QByteArrayView bytes, const QDateTime &timestamp)
{
    const std::vector<dlms::TraceDecoder::Line> lines = m_decoder.feed(direction, bytes);
    if (lines.empty())
        return;
    const QString time = timestamp.toString(u"HH:mm:ss.zzz"_s);
    for (const dlms::TraceDecoder::Line &line : lines) {
        m_out << time << (line.direction == dlms::Direction::Sent ? " > " : " < ");
        if (line.hex.isEmpty())
            m_out << "(not a frame)\n"; // bytes the deframer skipped; the summary says how many
        else
            m_out << line.size << " B  " << line.hex << '\n';
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

void TracePrinter::setSecurity(const dlms::SecuritySettings &security)
{
    m_decoder.setSecurity(security);
}
