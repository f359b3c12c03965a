#include "axdr.h"

#include <benchmark/benchmark.h>

#include <cstdlib>

using namespace dlms;

namespace {

constexpr int kRows = 10000;

// A Profile Generic buffer as meters send it: array of {clock, double-long-unsigned} rows.
// With `dateTimeTag` the clock is a date-time (0x19) instead of the usual octet-string(12).
QByteArray profileBuffer(bool dateTimeTag)
{
    QByteArray out;
    out.reserve(kRows * 21 + 8);
    out.append(char(DataType::Array));
    axdr::encodeLength(kRows, out);
    CosemDateTime clock;
    clock.date = {2024, 3, 5, 2};
    clock.time = {0, 0, 0, 0};
    clock.deviation = -60;
    clock.clockStatus = 0;
    for (int i = 0; i < kRows; ++i) {
        clock.time.hour = quint8((i / 4) % 24);
        clock.time.minute = quint8((i % 4) * 15);
        out.append(char(DataType::Structure));
        out.append(char(2));
        if (dateTimeTag) {
            out.append(char(DataType::DateTime));
        } else {
            out.append(char(DataType::OctetString));
            out.append(char(12));
        }
        clock.appendTo(out);
        out.append(char(DataType::DoubleLongUnsigned));
        const quint32 energy = 1000000u + quint32(i) * 37u;
        const char b[4] = {char(energy >> 24), char(energy >> 16), char(energy >> 8), char(energy)};
        out.append(b, 4);
    }
    return out;
}

void decodeBuffer(benchmark::State &state, bool dateTimeTag)
{
    const QByteArray bytes = profileBuffer(dateTimeTag);
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

void BM_DecodeProfileBuffer(benchmark::State &state) { decodeBuffer(state, false); }
void BM_DecodeProfileBufferDateTimeTag(benchmark::State &state) { decodeBuffer(state, true); }

void BM_EncodeProfileBuffer(benchmark::State &state)
{
    const QByteArray bytes = profileBuffer(false);
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
    const Value buffer = axdr::decodeAll(profileBuffer(true)).value();
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
