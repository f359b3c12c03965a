// Feeds arbitrary bytes to the IEC 62056-47 wrapper deframer, once whole and once in chunks
// whose sizes come from the input's first byte, and checks that both give the same results,
// that every frame re-encodes and decodes back to itself, and that garbage is not buffered.
#include "wrapper.h"

#include "fuzzsupport.h"

#include <cstdint>
#include <cstdlib>
#include <vector>

using namespace dlms;
using namespace dlms::fuzz;
using FrameOutcome = fuzz::Outcome<wrapper::Frame>;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const quint32 seed = data[0];
    const QByteArrayView stream(reinterpret_cast<const char *>(data + 1), qsizetype(size - 1));

    std::vector<FrameOutcome> whole;
    wrapper::Deframer one;
    one.feed(stream);
    drain(one, whole);

    // Chunk sizes from a small LCG seeded by the first byte: 1 byte at a time up to ~260.
    std::vector<FrameOutcome> chunked;
    wrapper::Deframer many;
    quint32 state = seed * 2654435761u + 1;
    const quint32 maxChunk = 1 + seed;
    for (qsizetype pos = 0; pos < stream.size();) {
        state = state * 1103515245u + 12345u;
        const qsizetype n = std::min<qsizetype>(1 + (state >> 16) % maxChunk, stream.size() - pos);
        many.feed(stream.sliced(pos, n));
        pos += n;
        drain(many, chunked);
        // Garbage is consumed as it is scanned: at most one frame's worth stays buffered.
        check(many.bufferedBytes() <= wrapper::HeaderSize + wrapper::MaxApduSize);
    }

    check(whole.size() == chunked.size());
    check(one.discardedBytes() == many.discardedBytes());
    check(one.bufferedBytes() == many.bufferedBytes());
    for (size_t i = 0; i < whole.size(); ++i) {
        check(whole[i].ok == chunked[i].ok);
        if (!whole[i].ok) {
            check(whole[i].code == chunked[i].code);
            check(whole[i].message == chunked[i].message);
            continue;
        }
        check(whole[i].frame == chunked[i].frame);
        QByteArray encoded;
        check(wrapper::encode(
            whole[i].frame.sourcePort, whole[i].frame.destinationPort, whole[i].frame.apdu, encoded)
                  .ok());
        check(encoded.size() == wrapper::HeaderSize + whole[i].frame.apdu.size());
        wrapper::Deframer back;
        back.feed(encoded);
        auto r = back.next();
        check(r && r->ok() && r->value() == whole[i].frame);
        check(!back.next());
    }
    return 0;
}
