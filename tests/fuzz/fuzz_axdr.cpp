#include "axdr.h"

#include <cstdint>
#include <cstdlib>

using namespace dlms;

namespace {

// Decodes under `limits`; whatever decodes must survive encode → decode unchanged, and the
// re-encoding must be stable (a second encode gives the same bytes).
void roundTrip(QByteArrayView bytes, const axdr::Limits &limits)
{
    ByteReader reader(bytes);
    const auto decoded = axdr::decode(reader, limits);
    if (!decoded.ok()) {
        if (decoded.error().message.isEmpty())
            std::abort();
        return;
    }
    if (reader.position() > bytes.size())
        std::abort();
    const QByteArray encoded = axdr::encode(*decoded);
    const auto again = axdr::decodeAll(encoded, limits);
    if (!again.ok() || !(*again == *decoded))
        std::abort();
    if (axdr::encode(*again) != encoded)
        std::abort();
    // The presentation paths must cope with anything the decoder accepts.
    (void)decoded->toText();
    (void)decoded->toJson();
    (void)decoded->toTypedJson();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const QByteArrayView bytes(reinterpret_cast<const char *>(data), qsizetype(size));

    roundTrip(bytes, axdr::Limits {});
    roundTrip(bytes, axdr::Limits {3});
    (void)axdr::decodeAll(bytes);

    if (size >= 12) {
        const auto dt = CosemDateTime::fromBytes(bytes.first(12));
        if (!dt.ok() || dt->toBytes() != bytes.first(12))
            std::abort();
        (void)dt->toString();
        if (const auto q = dt->toQDateTime()) {
            if (!q->isValid())
                std::abort();
            // A real point in time must survive the trip through QDateTime.
            const CosemDateTime back = CosemDateTime::fromQDateTime(*q);
            if (back.toQDateTime() != q)
                std::abort();
        }
    }
    return 0;
}
