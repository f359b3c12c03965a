// libFuzzer target for the APDU layer: decodeApdu on arbitrary bytes, then a round trip of
// whatever decoded. The encoder is canonical while the decoder tolerates non-canonical forms
// (long-form lengths, skipped BER elements, a QoS byte it drops), so the check is on the
// re-decoded value, plus idempotence of the encoding, not on the input bytes.

#include "apdu.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace {

// A-XDR floats may be NaN, which never compares equal to itself; a value that holds one can
// only be checked through its bytes.
bool mayHoldFloat(const QByteArray &bytes)
{
    return bytes.contains(char(0x17)) || bytes.contains(char(0x18));
}

[[noreturn]] void fail(const char *what, const QByteArray &input)
{
    std::fprintf(stderr, "fuzz_apdu: %s for input %s\n", what, input.toHex().constData());
    std::abort();
}

void checkApdu(QByteArrayView input)
{
    (void)dlms::classifyApdu(input);
    const auto decoded = dlms::decodeApdu(input);
    if (!decoded) {
        if (decoded.error().message.isEmpty())
            fail("error without a message", input.toByteArray());
        return;
    }
    (void)dlms::describeApdu(*decoded);
    const QByteArray encoded = dlms::encodeApdu(*decoded);
    const auto again = dlms::decodeApdu(encoded);
    if (!again)
        fail("re-encoded APDU does not decode", input.toByteArray());
    if (dlms::encodeApdu(*again) != encoded)
        fail("encoding is not idempotent", input.toByteArray());
    if (!(*again == *decoded) && !mayHoldFloat(encoded))
        fail("round trip changed the value", input.toByteArray());
}

void checkBlockDataList(QByteArrayView input)
{
    const auto decoded = dlms::decodeBlockDataList(input);
    if (!decoded)
        return;
    QByteArray encoded;
    dlms::encodeDataResultList(*decoded, encoded);
    const auto again = dlms::decodeBlockDataList(encoded);
    if (!again)
        fail("re-encoded block data list does not decode", input.toByteArray());
    if (!(*again == *decoded) && !mayHoldFloat(encoded))
        fail("block data list round trip changed the value", input.toByteArray());
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const QByteArrayView input(reinterpret_cast<const char *>(data), qsizetype(size));
    checkApdu(input);
    checkBlockDataList(input);
    return 0;
}
