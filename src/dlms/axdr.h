#pragma once

#include "bytereader.h"
#include "value.h"

namespace dlms::axdr {

struct Limits {
    // Arrays/structures/compact-array descriptions nested deeper than this are rejected.
    int maxDepth = 64;
    // Elements of all containers in one decode, together. Every element costs a Value (~48
    // bytes) even when it took one byte of input, so this bounds memory at about 24 MB whatever
    // a meter sends; a 10,000-row load profile has 30,000.
    quint32 maxElements = 500'000;
};

// Decodes one tagged Data value (tag byte first) from the reader, advancing it. Never reads
// past the reader's end, never trusts a count or length before the bytes are there.
Result<Value> decode(ByteReader &reader, const Limits &limits = {});
// Decodes exactly one value spanning the whole buffer; trailing bytes are an error.
Result<Value> decodeAll(QByteArrayView data, const Limits &limits = {});

// Appends the tagged A-XDR encoding of `value`.
void encode(const Value &value, QByteArray &out);
QByteArray encode(const Value &value);

// Untagged pieces, shared with the APDU codecs.
Result<quint32> decodeLength(ByteReader &reader); // BER length with a clear error
void encodeLength(quint32 length, QByteArray &out);

} // namespace dlms::axdr
