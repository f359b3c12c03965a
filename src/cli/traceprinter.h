#pragma once

#include <tracedecoder.h>

#include <QtCore/QDateTime>

class QTextStream;

// `--trace`: one block per frame on the wire, `HH:mm:ss.zzz > 31 B  <hex>` then the decode,
// indented. The session hands over AARQ frames with the secret already replaced by '*'; those
// bytes print as `**` and the decoder never describes them.
class TracePrinter {
public:
    TracePrinter(dlms::Transport transport, QTextStream &out);

    void frame(const dlms::FrameEvent &event, const QDateTime &timestamp);
    void note(const QString &text); // protocol noise that is not a frame

private:
    dlms::Transport m_transport;
    dlms::TraceDecoder m_decoder;
    QTextStream &m_out;
};
