#include "apdu.h"

#include <benchmark/benchmark.h>

using namespace dlms;

namespace {

GetRequest tenRegisters()
{
    GetRequest request;
    request.kind = GetRequest::Kind::WithList;
    for (quint8 c = 1; c <= 10; ++c)
        request.items.push_back(
            AttributeRequest {AttributeDescriptor {3, Obis(1, 0, c, 8, 0, 255), 2}, std::nullopt});
    return request;
}

// A load profile's buffer as block transfer reassembles it: array of rows
// {octet-string(12) clock, double-long-unsigned value}.
QByteArray profileBuffer(int rows)
{
    QByteArray b;
    b.reserve(4 + rows * 21);
    b.append(char(0x01));
    b.append(char(0x82));
    b.append(char(rows >> 8));
    b.append(char(rows));
    for (int i = 0; i < rows; ++i) {
        const char row[] = {0x02, 0x02, 0x09, 0x0C, 0x07, char(0xE8), 0x03, 0x01, 0x05, char(i / 60 % 24),
            char(i % 60), 0x00, 0x00, char(0x80), 0x00, 0x00, 0x06, 0x00, 0x00, char(i >> 8), char(i)};
        b.append(row, sizeof row);
    }
    return b;
}

void BM_EncodeGetRequestWithList10(benchmark::State &state)
{
    const GetRequest request = tenRegisters();
    QByteArray out;
    for (auto _ : state) {
        out.resize(0);
        encode(request, out);
        benchmark::DoNotOptimize(out.data());
    }
    state.SetBytesProcessed(state.iterations() * out.size());
}
BENCHMARK(BM_EncodeGetRequestWithList10);

// One poll of one register value: the request goes out, the response comes back.
void BM_GetNormalRequestAndResponse(benchmark::State &state)
{
    GetRequest request;
    request.items.push_back(
        AttributeRequest {AttributeDescriptor {3, Obis(1, 0, 1, 8, 0, 255), 2}, std::nullopt});
    const QByteArray response = QByteArray::fromHex("C401C1000600001391");
    QByteArray out;
    for (auto _ : state) {
        out.resize(0);
        encode(request, out);
        auto decoded = decodeGetResponse(response);
        benchmark::DoNotOptimize(out.data());
        benchmark::DoNotOptimize(decoded);
    }
}
BENCHMARK(BM_GetNormalRequestAndResponse);

void BM_DecodeGetResponseNormal(benchmark::State &state)
{
    const QByteArray response = QByteArray::fromHex("C401C1000600001391");
    for (auto _ : state) {
        auto decoded = decodeGetResponse(response);
        benchmark::DoNotOptimize(decoded);
    }
}
BENCHMARK(BM_DecodeGetResponseNormal);

void BM_DecodeBlockDataProfile10k(benchmark::State &state)
{
    const QByteArray buffer = profileBuffer(10000);
    for (auto _ : state) {
        auto decoded = decodeBlockData(buffer);
        if (!decoded)
            state.SkipWithError("profile buffer did not decode");
        benchmark::DoNotOptimize(decoded);
    }
    state.SetBytesProcessed(state.iterations() * buffer.size());
    state.SetItemsProcessed(state.iterations() * 10000);
}
BENCHMARK(BM_DecodeBlockDataProfile10k)->Unit(benchmark::kMicrosecond);

void BM_ClassifyApdu(benchmark::State &state)
{
    const QByteArray response = QByteArray::fromHex("C401C1000600001391");
    for (auto _ : state)
        benchmark::DoNotOptimize(classifyApdu(response));
}
BENCHMARK(BM_ClassifyApdu);

void BM_DecodeAare(benchmark::State &state)
{
    const QByteArray aare = QByteArray::fromHex(
        "6129A109060760857405080101A203020100A305A103020100BE10040E0800065F1F040000501F01F40007");
    for (auto _ : state) {
        auto decoded = decodeApdu(aare);
        benchmark::DoNotOptimize(decoded);
    }
}
BENCHMARK(BM_DecodeAare);

} // namespace

BENCHMARK_MAIN();
