// What security suite 0 costs: protecting and checking one APDU (AES-128-GCM through OpenSSL),
// the GMAC of an HLS pass, and a whole register poll (a GET-With-List of 10 registers, client and
// simulated meter in memory, both sides' work included) in clear and under each policy. The
// counters give the wire bytes per poll, so the byte overhead of ciphering sits beside its CPU.
#include "clientsession.h"
#include "metermodel.h"
#include "security.h"
#include "serversession.h"

#include <benchmark/benchmark.h>

#include <array>

using namespace dlms;

namespace {

const QByteArray Ek = QByteArray::fromHex("000102030405060708090A0B0C0D0E0F");
const QByteArray Ak = QByteArray::fromHex("D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF");
const QByteArray ClientTitle = QByteArray::fromHex("4D4D4D0000000001");

void fail(benchmark::State &state, const QString &why)
{
    state.SkipWithError(why.toLocal8Bit().constData());
}

QByteArray apduOfSize(qsizetype size)
{
    QByteArray apdu(size, '\0');
    for (qsizetype i = 0; i < size; ++i)
        apdu[i] = char(i * 7 + 1);
    apdu[0] = char(0xC4);
    return apdu;
}

void BM_Protect(benchmark::State &state)
{
    const QByteArray plain = apduOfSize(state.range(0));
    const quint8 control = quint8(state.range(1));
    quint32 ic = 1;
    for (auto _ : state) {
        auto text = security::protect(control, ClientTitle, ic++, Ek, Ak, plain);
        if (!text) {
            fail(state, text.error().message);
            return;
        }
        benchmark::DoNotOptimize(text);
    }
    state.SetBytesProcessed(qint64(state.iterations()) * plain.size());
}
BENCHMARK(BM_Protect)->Args({200, 0x10})->Args({200, 0x20})->Args({200, 0x30})->Args({1024, 0x30});

void BM_Unprotect(benchmark::State &state)
{
    const QByteArray plain = apduOfSize(state.range(0));
    const auto text = security::protect(quint8(state.range(1)), ClientTitle, 7, Ek, Ak, plain);
    if (!text) {
        fail(state, text.error().message);
        return;
    }
    for (auto _ : state) {
        auto opened = security::unprotect(ClientTitle, Ek, Ak, *text);
        if (!opened) {
            fail(state, opened.error().message);
            return;
        }
        benchmark::DoNotOptimize(opened);
    }
    state.SetBytesProcessed(qint64(state.iterations()) * plain.size());
}
BENCHMARK(BM_Unprotect)->Args({200, 0x10})->Args({200, 0x20})->Args({200, 0x30})->Args({1024, 0x30});

void BM_GmacResponse(benchmark::State &state)
{
    const QByteArray challenge = QByteArrayLiteral("P6wRJ21F");
    quint32 ic = 1;
    for (auto _ : state) {
        auto proof = security::gmacResponse(ClientTitle, ic++, Ek, Ak, challenge);
        benchmark::DoNotOptimize(proof);
    }
}
BENCHMARK(BM_GmacResponse);

const std::array<Obis, 10> Registers = {
    Obis {1, 0, 1, 8, 0, 255},
    Obis {1, 0, 2, 8, 0, 255},
    Obis {1, 0, 1, 7, 0, 255},
    Obis {1, 0, 2, 7, 0, 255},
    Obis {1, 0, 32, 7, 0, 255},
    Obis {1, 0, 52, 7, 0, 255},
    Obis {1, 0, 72, 7, 0, 255},
    Obis {1, 0, 31, 7, 0, 255},
    Obis {1, 0, 14, 7, 0, 255},
    Obis {1, 0, 13, 7, 0, 255},
};

// Moves bytes between the two sans-I/O peers until neither has anything to say.
void exchange(ClientSession &client, sim::ServerSession &server, qint64 &bytes)
{
    for (int round = 0; round < 256; ++round) {
        const QByteArray out = client.takeOutgoing();
        if (out.isEmpty() && !server.hasOutgoing())
            return;
        bytes += out.size();
        if (!out.isEmpty())
            server.feed(out);
        for (const QByteArray &frame : server.takeOutgoing()) {
            bytes += frame.size();
            client.feed(frame);
        }
    }
}

// Policy as the first argument (0 none/no auth, 1 auth, 2 enc, 3 auth-enc with HLS-GMAC),
// general ciphering as the second.
void BM_PollGetWithList10(benchmark::State &state)
{
    const auto policy = SecurityPolicy(state.range(0));
    sim::MeterModel model(sim::MeterSettings {});
    sim::ServerSession server(model, Transport::Wrapper);

    ClientConfig config;
    if (policy != SecurityPolicy::None) {
        config.authentication = Authentication::HighGmac;
        config.security.policy = policy;
        config.security.systemTitle = ClientTitle;
        config.security.blockCipherKey = Ek;
        config.security.authenticationKey = Ak;
        config.security.generalCiphering = state.range(1) != 0;
    }
    ClientSession client(config);
    qint64 bytes = 0;
    client.connect();
    exchange(client, server, bytes);
    if (client.state() != ClientSession::State::Ready) {
        QString why = QStringLiteral("association failed");
        for (const auto &event : client.takeEvents())
            if (event.error)
                why = event.error->message;
        fail(state, why);
        return;
    }
    (void)client.takeEvents();
    (void)client.takeFrames();

    std::vector<AttributeRequest> items;
    for (const Obis &obis : Registers)
        items.push_back({{3, obis, 2}, {}});
    bytes = 0;
    for (auto _ : state) {
        client.getList(items);
        exchange(client, server, bytes);
        auto events = client.takeEvents();
        if (events.empty() || !events.back().response || events.back().response->error) {
            fail(state, QStringLiteral("the poll did not complete"));
            return;
        }
        auto frames = client.takeFrames();
        benchmark::DoNotOptimize(events);
        benchmark::DoNotOptimize(frames);
    }
    state.counters["wire_bytes_per_poll"] = benchmark::Counter(double(bytes) / double(state.iterations()));
}
BENCHMARK(BM_PollGetWithList10)
    ->ArgNames({"policy", "general"})
    ->Args({0, 0})
    ->Args({1, 0})
    ->Args({2, 0})
    ->Args({3, 0})
    ->Args({3, 1});

} // namespace

BENCHMARK_MAIN();
