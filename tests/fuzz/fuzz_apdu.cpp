// libFuzzer target for the APDU layer: decodeApdu on arbitrary bytes, then a round trip of
// whatever decoded. The encoder is canonical while the decoder tolerates non-canonical forms
// (long-form lengths, skipped BER elements, a QoS byte it drops), so the check is on the
// re-decoded value, plus idempotence of the encoding, not on the input bytes. The same bytes go
// through the ciphered APDU framing and, when that parses, through unprotect() with fixed keys.

#include "apdu.h"
#include "security.h"

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

// Green Book example keys and title: any fixed material will do, the input picks the rest.
const QByteArray FuzzEk = QByteArray::fromHex("000102030405060708090A0B0C0D0E0F");
const QByteArray FuzzAk = QByteArray::fromHex("D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF");
const QByteArray FuzzTitle = QByteArray::fromHex("4D4D4D0000BC614E");

void checkCiphered(QByteArrayView input)
{
    const auto framed = dlms::security::decodeCipheredApdu(input);
    if (!framed) {
        if (framed.error().message.isEmpty())
            fail("ciphered framing error without a message", input.toByteArray());
        return;
    }
    if (framed->protectedText.size() > input.size())
        fail("ciphered content larger than the input", input.toByteArray());
    QByteArray encoded;
    dlms::security::encode(*framed, encoded);
    const auto again = dlms::security::decodeCipheredApdu(encoded);
    if (!again)
        fail("re-encoded ciphered APDU does not decode", input.toByteArray());
    if (again->tag != framed->tag || again->systemTitle != framed->systemTitle
        || again->protectedText != framed->protectedText)
        fail("ciphered APDU round trip changed it", input.toByteArray());

    const QByteArray title
        = framed->systemTitle.size() == dlms::security::SystemTitleSize ? framed->systemTitle : FuzzTitle;
    const auto plain = dlms::security::unprotect(title, FuzzEk, FuzzAk, framed->protectedText);
    if (!plain) {
        if (plain.error().message.isEmpty())
            fail("unprotect error without a message", input.toByteArray());
        return;
    }
    if (plain->plaintext.size() > framed->protectedText.size())
        fail("plaintext larger than the ciphered content", input.toByteArray());
    // Whatever deciphered is an APDU from a peer: it must not upset the plain decoders either.
    checkApdu(plain->plaintext);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const QByteArrayView input(reinterpret_cast<const char *>(data), qsizetype(size));
    checkApdu(input);
    checkBlockDataList(input);
    checkCiphered(input);
    return 0;
}
