#include "axdr.h"
#include "../unit/testsupport.h"

#include <benchmark/benchmark.h>

#include <cstdlib>

using namespace dlms;
using dlms::test::ProfileClock;
using dlms::test::profileBuffer;

namespace {

constexpr int kRows = 10000;

// A Profile Generic buffer as meters send it, its clocks tagged date-time (0x19) or, as usual,
// octet-string(12).
void decodeBuffer(benchmark::State &state, ProfileClock clock)
{
    const QByteArray bytes = profileBuffer(kRows, clock);
    for (auto _ : state) {
        auto v = axdr::decodeAll(bytes);
        if (!v.ok() || v->items().size() != size_t(kRows))
            std::abort();
        benchmark::DoNotOptimize(v);
    }
    state.SetBytesProcessed(state.iterations() * bytes.size());
    state.SetItemsProcessed(state.iterations() * kRows);
    state.counters["buffer_bytes"] = double(bytes.size());
}

void BM_DecodeProfileBuffer(benchmark::State &state) { decodeBuffer(state, ProfileClock::OctetString); }
void BM_DecodeProfileBufferDateTimeTag(benchmark::State &state) { decodeBuffer(state, ProfileClock::DateTime); }

void BM_EncodeProfileBuffer(benchmark::State &state)
{
    const QByteArray bytes = profileBuffer(kRows, ProfileClock::OctetString);
    const Value value = axdr::decodeAll(bytes).value();
    for (auto _ : state) {
        QByteArray out = axdr::encode(value);
        if (out.size() != bytes.size())
            std::abort();
        benchmark::DoNotOptimize(out);
    }
    state.SetBytesProcessed(state.iterations() * bytes.size());
    state.SetItemsProcessed(state.iterations() * kRows);
}

// The same rows as a compact-array: one type description, untagged contents.
void BM_DecodeProfileCompactArray(benchmark::State &state)
{
    const Value buffer = axdr::decodeAll(profileBuffer(kRows, ProfileClock::DateTime)).value();
    CompactArrayData data;
    data.elementType.type = DataType::Structure;
    data.elementType.children.resize(2);
    data.elementType.children[0].type = DataType::DateTime;
    data.elementType.children[1].type = DataType::DoubleLongUnsigned;
    data.elements = buffer.items();
    const QByteArray bytes = axdr::encode(Value::compactArray(std::move(data)));
    for (auto _ : state) {
        auto v = axdr::decodeAll(bytes);
        if (!v.ok() || v->compactArray()->elements.size() != size_t(kRows))
            std::abort();
        benchmark::DoNotOptimize(v);
    }
    state.SetBytesProcessed(state.iterations() * bytes.size());
    state.SetItemsProcessed(state.iterations() * kRows);
    state.counters["buffer_bytes"] = double(bytes.size());
}

} // namespace

BENCHMARK(BM_DecodeProfileBuffer)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_DecodeProfileBufferDateTimeTag)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_EncodeProfileBuffer)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_DecodeProfileCompactArray)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
