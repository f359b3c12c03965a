// Peak heap while decoding hostile input. Every global operator new/delete in this executable
// is replaced by a counting version, so the test sees what the decoders really reserve (std
// containers), not just what they end up holding. Qt's own QByteArray/QString payloads use
// malloc and are not counted here; the decoders only create those after the bytes are there.

#include "apdu.h"
#include "axdr.h"
#include "testsupport.h"
#include "xdlms.h"

#include <QtTest/QTest>

#include <atomic>
#include <cstdlib>
#include <malloc.h>
#include <new>

using namespace dlms;
using namespace dlms::test;
using namespace Qt::StringLiterals;

#if defined(__SANITIZE_ADDRESS__)
#define DLMS_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define DLMS_UNDER_ASAN 1
#endif
#endif

namespace {

std::atomic<qint64> g_live{0};
std::atomic<qint64> g_peak{0};
// While a measurement runs, an allocation that would take the live heap past this many bytes
// above the baseline fails with std::bad_alloc instead of asking the system for gigabytes.
std::atomic<qint64> g_ceiling{0};
std::atomic<qint64> g_base{0};

void *counted(void *p)
{
    if (!p)
        return nullptr;
    const qint64 now = g_live.fetch_add(qint64(malloc_usable_size(p)), std::memory_order_relaxed)
        + qint64(malloc_usable_size(p));
    qint64 peak = g_peak.load(std::memory_order_relaxed);
    while (now > peak && !g_peak.compare_exchange_weak(peak, now, std::memory_order_relaxed)) {
    }
    return p;
}

bool overCeiling(std::size_t size)
{
    const qint64 ceiling = g_ceiling.load(std::memory_order_relaxed);
    return ceiling > 0
        && g_live.load(std::memory_order_relaxed) + qint64(size) - g_base.load(std::memory_order_relaxed)
        > ceiling;
}

void *allocate(std::size_t size, std::size_t alignment) noexcept
{
    if (overCeiling(size))
        return nullptr;
    if (size == 0)
        size = 1;
    void *p = nullptr;
    if (alignment <= alignof(std::max_align_t)) {
        p = std::malloc(size);
    } else if (posix_memalign(&p, std::max(alignment, sizeof(void *)), size) != 0) {
        p = nullptr;
    }
    return counted(p);
}

void release(void *p) noexcept
{
    if (!p)
        return;
    g_live.fetch_sub(qint64(malloc_usable_size(p)), std::memory_order_relaxed);
    std::free(p);
}

void *allocateOrThrow(std::size_t size, std::size_t alignment)
{
    if (void *p = allocate(size, alignment))
        return p;
    throw std::bad_alloc();
}

// Live heap above the baseline at its highest while one decode ran.
class Measurement {
public:
    explicit Measurement(qint64 ceiling)
    {
        g_base.store(g_live.load());
        g_peak.store(g_live.load());
        g_ceiling.store(ceiling);
    }
    ~Measurement() { g_ceiling.store(0); }
    qint64 peak() const { return g_peak.load() - g_base.load(); }
};

constexpr qint64 MiB = 1024 * 1024;
// Far above every bound below, far below what the unbounded reservations asked for.
constexpr qint64 Ceiling = 64 * MiB;
// "A few MB": nothing hostile gets more than this, however large its claims.
constexpr qint64 HostileBound = 2 * MiB;

enum Via { ViaApdu, ViaAxdr, ViaBlockData, ViaBlockDataList };

// Decodes and drops the result; the peak includes the result while it was alive.
bool decode(int via, const QByteArray &input, QString &error)
{
    const auto take = [&](const auto &result) {
        if (!result.ok())
            error = result.error().message;
        return result.ok();
    };
    switch (via) {
    case ViaApdu:
        return take(decodeApdu(input));
    case ViaAxdr:
        return take(axdr::decodeAll(input));
    case ViaBlockData:
        return take(decodeBlockData(input));
    case ViaBlockDataList:
        return take(decodeBlockDataList(input));
    }
    return false;
}

// `levels` arrays, each claiming `count` elements, then `filler` bytes of `fill`.
QByteArray nestedArrays(QByteArray prefix, int levels, quint32 count, qsizetype filler, char fill)
{
    QByteArray out = std::move(prefix);
    for (int i = 0; i < levels; ++i) {
        out.append(char(DataType::Array));
        axdr::encodeLength(count, out);
    }
    out.append(filler, fill);
    return out;
}

QString mib(qint64 bytes)
{
    return QString::number(double(bytes) / double(MiB), 'f', 2) + u" MiB"_s;
}

} // namespace

// The replacements. Every form forwards to allocate()/release(), so sized, aligned, nothrow
// and array forms all count, whichever one a container or Qt happens to call.
void *operator new(std::size_t size) { return allocateOrThrow(size, 0); }
void *operator new[](std::size_t size) { return allocateOrThrow(size, 0); }
void *operator new(std::size_t size, const std::nothrow_t &) noexcept { return allocate(size, 0); }
void *operator new[](std::size_t size, const std::nothrow_t &) noexcept { return allocate(size, 0); }
void *operator new(std::size_t size, std::align_val_t al) { return allocateOrThrow(size, std::size_t(al)); }
void *operator new[](std::size_t size, std::align_val_t al) { return allocateOrThrow(size, std::size_t(al)); }
void *operator new(std::size_t size, std::align_val_t al, const std::nothrow_t &) noexcept
{
    return allocate(size, std::size_t(al));
}
void *operator new[](std::size_t size, std::align_val_t al, const std::nothrow_t &) noexcept
{
    return allocate(size, std::size_t(al));
}
void operator delete(void *p) noexcept { release(p); }
void operator delete[](void *p) noexcept { release(p); }
void operator delete(void *p, std::size_t) noexcept { release(p); }
void operator delete[](void *p, std::size_t) noexcept { release(p); }
void operator delete(void *p, const std::nothrow_t &) noexcept { release(p); }
void operator delete[](void *p, const std::nothrow_t &) noexcept { release(p); }
void operator delete(void *p, std::align_val_t) noexcept { release(p); }
void operator delete[](void *p, std::align_val_t) noexcept { release(p); }
void operator delete(void *p, std::size_t, std::align_val_t) noexcept { release(p); }
void operator delete[](void *p, std::size_t, std::align_val_t) noexcept { release(p); }
void operator delete(void *p, std::align_val_t, const std::nothrow_t &) noexcept { release(p); }
void operator delete[](void *p, std::align_val_t, const std::nothrow_t &) noexcept { release(p); }

class TestDecodeMemory : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void countingWorks();
    void hostileInputs_data();
    void hostileInputs();
    void profileDecode();
};

void TestDecodeMemory::initTestCase()
{
#ifdef DLMS_UNDER_ASAN
    // The sanitizer runtime owns operator new; whether our replacement wins depends on the
    // link. countingWorks() finds out instead of trusting either way.
    qInfo("built with AddressSanitizer");
#endif
}

void TestDecodeMemory::countingWorks()
{
    // Without this, a replacement that never ran would let every bound below pass.
    qint64 peak = 0;
    {
        Measurement m(Ceiling);
        ValueList *volatile list = new ValueList;
        list->reserve(10000);
        delete list;
        peak = m.peak();
    }
    if (peak == 0) {
#ifdef DLMS_UNDER_ASAN
        QSKIP("AddressSanitizer's operator new took precedence over the counting one; the "
              "bounds are checked by the non-sanitized build");
#else
        QFAIL("the counting operator new is not in effect");
#endif
    }
    QVERIFY2(peak >= qint64(10000 * sizeof(Value)), qPrintable(mib(peak)));
    QVERIFY2(peak < qint64(10000 * sizeof(Value)) + 4096, qPrintable(mib(peak)));

    // The ceiling turns a runaway reservation into bad_alloc rather than a real allocation.
    bool threw = false;
    {
        Measurement m(Ceiling);
        try {
            ValueList huge;
            huge.reserve(size_t(Ceiling)); // 48 bytes each: far past the ceiling
        } catch (const std::bad_alloc &) {
            threw = true;
        }
    }
    QVERIFY(threw);
}

void TestDecodeMemory::hostileInputs_data()
{
    QTest::addColumn<int>("via");
    QTest::addColumn<QByteArray>("input");
    QTest::addColumn<qint64>("bound");

    const QByteArray getResponse = hex("C401C100");
    const char garbage = '\x07'; // not a data tag: decoding stops at the first element
    // An array count may be as large as the bytes left; 62 levels all claim the same bytes.
    QTest::newRow("nested-arrays-wrapper-64k")
        << int(ViaApdu) << nestedArrays(getResponse, 62, 0xFF00, 0xFF00, garbage) << HostileBound;
    // Null-data elements take one byte each: the innermost array really decodes 65,280
    // values before the next level runs out. That costs what those values cost, no more.
    QTest::newRow("nested-arrays-wrapper-64k-nulls")
        << int(ViaApdu) << nestedArrays(getResponse, 62, 0xFF00, 0xFF00, '\0')
        << qint64(0xFF00 * sizeof(Value) * 2) + HostileBound;
    // 16 MB of null-data in one array (what block transfer may reassemble): real elements,
    // one byte each, stopped by Limits::maxElements at half a million (~24 MB, twice that while
    // the list grows) instead of building 16 million values (~770 MB).
    QTest::newRow("array-of-16m-nulls-block-data")
        << int(ViaBlockData) << hex("0184") + hex("00FFFFF0") + QByteArray(0xFFFFF0, '\0')
        << qint64(axdr::Limits().maxElements * sizeof(Value) * 2) + HostileBound;
    // Block transfer reassembles up to 16 MB; 4 MB gives each level a count of four million.
    QTest::newRow("nested-arrays-block-data-4m")
        << int(ViaBlockData) << nestedArrays({}, 62, 0x3F0000, 0x3F0000, garbage) << HostileBound;
    QTest::newRow("nested-arrays-block-data-list-4m")
        << int(ViaBlockDataList) << nestedArrays(hex("0100"), 62, 0x3F0000, 0x3F0000, garbage)
        << HostileBound;
    QTest::newRow("nested-structures-block-data-4m")
        << int(ViaBlockData) << []() -> QByteArray {
               QByteArray out;
               for (int i = 0; i < 62; ++i)
                   out += hex("02833F0000");
               return out + QByteArray(0x3F0000, garbage);
           }()
        << HostileBound;
    // A list count of two million fits in 4 MB at two bytes a result.
    QTest::newRow("block-data-list-count-2m")
        << int(ViaBlockDataList) << hex("831FFFFF") + QByteArray(0x3FFFFE, garbage) << HostileBound;
    QTest::newRow("get-response-with-list-count-ffff-few-bytes")
        << int(ViaApdu) << hex("C403C182FFFF 00 0100 0102") << HostileBound;
    QTest::newRow("get-response-with-list-count-2m")
        << int(ViaApdu) << hex("C403C1831FFFFF") + QByteArray(0x3FFFFE, garbage) << HostileBound;
    QTest::newRow("get-request-with-list-count-400k")
        << int(ViaApdu) << hex("C003C18306 6666") + QByteArray(0x3FFFFC, garbage) << HostileBound;
    // compact-array of structure{unsigned, octet-string}: 4 MB of contents could hold two
    // million elements, but the first octet-string claims 4 GB.
    QTest::newRow("compact-array-element-count-claim-4m")
        << int(ViaBlockData)
        << hex("13 020211 09 833FFFFF 00 84FFFFFFFF") + QByteArray(0x3FFFFF - 6, '\0') << HostileBound;
    // A contents description of 30 nested arrays of 65,535 claims 65,535^30 long64 values;
    // 64 KB of contents hold 8,160 of them.
    QTest::newRow("compact-array-nested-description-64k")
        << int(ViaApdu) << [&]() -> QByteArray {
               QByteArray out = getResponse + hex("13");
               for (int i = 0; i < 30; ++i)
                   out += hex("01FFFF");
               return out + hex("15 82FF00") + QByteArray(0xFF00, '\0');
           }()
        << HostileBound;
    // Structure descriptions of 65,280 fields, 62 deep, each claiming the same bytes.
    QTest::newRow("compact-array-nested-structure-description-64k")
        << int(ViaApdu) << [&]() -> QByteArray {
               QByteArray out = getResponse + hex("13");
               for (int i = 0; i < 62; ++i)
                   out += hex("0282FF00");
               return out + QByteArray(0xFF00, garbage);
           }()
        << HostileBound;
}

void TestDecodeMemory::hostileInputs()
{
    QFETCH(int, via);
    QFETCH(QByteArray, input);
    QFETCH(qint64, bound);

    QString error;
    bool ok = false;
    qint64 peak = 0;
    bool threw = false;
    {
        Measurement m(Ceiling);
        try {
            ok = decode(via, input, error);
        } catch (const std::bad_alloc &) {
            threw = true;
        }
        peak = m.peak();
    }
    if (threw)
        QFAIL(qPrintable(u"the decoder asked for more than %1 for %2 bytes of input"_s.arg(mib(Ceiling))
                             .arg(input.size())));
    qInfo("%lld input bytes: peak %s, %s", qint64(input.size()), qPrintable(mib(peak)),
        ok ? "decoded" : qPrintable(u"error: "_s + error.left(120)));
    QVERIFY2(!ok, "hostile input decoded");
    QVERIFY2(!error.isEmpty(), "an error without a message");
    QVERIFY2(peak <= bound,
        qPrintable(u"peak %1 exceeds the bound of %2 for %3 input bytes"_s.arg(mib(peak), mib(bound))
                       .arg(input.size())));
}

void TestDecodeMemory::profileDecode()
{
    // The legitimate case: 10,000 {date-time, double-long-unsigned} rows, ~200 KB. Its values
    // cost what they cost (48 bytes a Value); growing the lists as rows arrive must not add
    // more than the vector doubling does.
    const QByteArray input = profileBuffer(10000, ProfileClock::DateTime);
    qint64 peak = 0;
    size_t rows = 0;
    {
        Measurement m(Ceiling);
        const auto value = axdr::decodeAll(input);
        QVERIFY2(value.ok(), qPrintable(value.ok() ? QString() : value.error().message));
        rows = value->items().size();
        peak = m.peak();
    }
    QCOMPARE(rows, size_t(10000));
    qInfo("%lld input bytes: peak %s (%.1f x input)", qint64(input.size()), qPrintable(mib(peak)),
        double(peak) / double(input.size()));
    // Held result: per row a structure Value in the outer list plus a list of two Values.
    const qint64 held = qint64(10000 * (sizeof(Value) + 2 * sizeof(Value)));
    QVERIFY2(peak >= held, qPrintable(mib(peak)));
    QVERIFY2(peak <= 16 * input.size(), qPrintable(mib(peak)));
}

QTEST_GUILESS_MAIN(TestDecodeMemory)
#include "tst_decodememory.moc"
