#pragma once

#include <QtCore/QByteArray>
#include <QtCore/QByteArrayView>

namespace dlms {

// The receive buffer of a stream deframer: bytes are appended as they arrive and consumed
// from the front by advancing `offset`; `base` is the stream position of buffer[0], so
// base + offset is the stream position of the next unread byte.
struct StreamBuffer {
    QByteArray buffer;
    qsizetype offset = 0;
    qint64 base = 0;

    void append(QByteArrayView bytes)
    {
        if (bytes.isEmpty())
            return;
        // Drop consumed bytes once they are at least half the buffer: each byte moves a bounded
        // number of times, so reassembly stays amortised O(n).
        if (offset > 0 && offset * 2 >= buffer.size()) {
            base += offset;
            if (offset == buffer.size())
                buffer.resize(0); // keeps the capacity for the next frame
            else
                buffer.remove(0, offset);
            offset = 0;
        }
        buffer.append(bytes);
    }

    void clear()
    {
        buffer.clear();
        offset = 0;
        base = 0;
    }
};

} // namespace dlms
