#pragma once

#include <tracedecoder.h>

#include <QtCore/QDateTime>

class QTextStream;

// `--trace`: one block per frame on the wire, `HH:mm:ss.zzz > 31 B  <hex>` then the decode,
// indented. It is fed the raw socket bytes; dlms::TraceDecoder masks an AARQ's secret by its
// position (holding segmented AARQs back until complete), so only `**` ever reaches the output.
class TracePrinter {
public:
    TracePrinter(dlms::Transport transport, QTextStream &out);

    // Bytes as written to / read from the socket; each frame they complete prints with `timestamp`.
    void bytes(dlms::Direction direction, QByteArrayView bytes, const QDateTime &timestamp);
    void note(const QString &text); // protocol noise reported by the session
    // The client's keys and title: ciphered APDUs then print deciphered, marked "decrypted".
    void setSecurity(const dlms::SecuritySettings &security);

private:
    dlms::TraceDecoder m_decoder;
    QTextStream &m_out;
};
