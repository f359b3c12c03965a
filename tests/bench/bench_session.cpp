// The client's cost of one poll: a GET-With-List of 10 registers through ClientSession,
// request encoded and framed, canned response deframed, decoded and delivered as an event.
// This is the per-poll CPU the polling engine pays on its hot path (socket I/O excluded).
#include "clientsession.h"

#include <benchmark/benchmark.h>

#include <array>

using namespace dlms;

namespace {

const std::array<Obis, 10> Registers = {
    Obis {1, 0, 1, 8, 0, 255},
    Obis {1, 0, 2, 8, 0, 255},
    Obis {1, 0, 1, 7, 0, 255},
    Obis {1, 0, 2, 7, 0, 255},
    Obis {1, 0, 32, 7, 0, 255},
    Obis {1, 0, 52, 7, 0, 255},
    Obis {1, 0, 72, 7, 0, 255},
    Obis {1, 0, 31, 7, 0, 255},
    Obis {1, 0, 51, 7, 0, 255},
    Obis {1, 0, 71, 7, 0, 255},
};

std::vector<AttributeRequest> pollItems()
{
    std::vector<AttributeRequest> items;
    for (const Obis &obis : Registers)
        items.push_back({{3, obis, 2}, {}});
    return items;
}

GetResponse pollResponse(quint8 invokeId)
{
    GetResponse response;
    response.kind = GetResponse::Kind::WithList;
    response.invoke = InvokeIdAndPriority {invokeId, true, true};
    for (size_t i = 0; i < Registers.size(); ++i)
        response.results.push_back({DataAccessResult::Success, Value::doubleLongUnsigned(quint32(1000 + i))});
    return response;
}

Aare acceptedAare()
{
    Aare aare;
    aare.initiate = InitiateResponse {6, 0x001E1D, 1024, 7};
    return aare;
}

// Wrapper: the canned responses are framed once, one per invoke id (the session cycles them).
void BM_PollGetWithList10_Wrapper(benchmark::State &state)
{
    ClientSession session(ClientConfig {});
    session.connect();
    (void)session.takeOutgoing();
    QByteArray aare;
    (void)wrapper::encode(1, 16, encodeApdu(acceptedAare()), aare);
    session.feed(aare);
    (void)session.takeEvents();
    (void)session.takeFrames();

    std::array<QByteArray, 16> responses;
    for (quint8 id = 0; id < 16; ++id)
        (void)wrapper::encode(1, 16, encodeApdu(pollResponse(id)), responses[id]);
    const auto items = pollItems();

    qint64 bytes = 0;
    for (auto _ : state) {
        session.getList(items);
        const QByteArray request = session.takeOutgoing();
        const quint8 invoke = quint8(request.at(wrapper::HeaderSize + 2)) & 0x0F;
        session.feed(responses[invoke]);
        auto events = session.takeEvents();
        auto frames = session.takeFrames();
        benchmark::DoNotOptimize(events);
        benchmark::DoNotOptimize(frames);
        bytes += request.size() + responses[invoke].size();
    }
    state.counters["wire_bytes_per_poll"] = benchmark::Counter(double(bytes) / double(state.iterations()));
    state.counters["wire_bytes_per_value"]
        = benchmark::Counter(double(bytes) / double(state.iterations()) / 10.0);
}
BENCHMARK(BM_PollGetWithList10_Wrapper);

// HDLC: a server-role Link plays the meter's data link (its cost is included), with the
// simulator's defaults: max information field 128, window 1, so the response is segmented.
void BM_PollGetWithList10_Hdlc(benchmark::State &state)
{
    ClientConfig config;
    config.transport = Transport::Hdlc;
    ClientSession session(config);
    hdlc::Link meter(hdlc::Link::Role::Server, hdlc::Address::server(1, 0), hdlc::Address::client(16));
    hdlc::Deframer meterIn;
    QByteArray toClient;
    auto meterReceive = [&](const QByteArray &bytes, auto &&onApdu) {
        meterIn.feed(bytes);
        while (auto frame = meterIn.next()) {
            if (!*frame)
                continue;
            for (const auto &event : meter.handleFrame(frame->value()))
                if (event.kind == hdlc::Link::Event::Kind::Apdu)
                    onApdu(event.apdu);
            for (const auto &out : meter.takeOutgoing())
                (void)hdlc::encode(out, toClient);
        }
    };
    auto exchange = [&](auto &&onApdu) {
        for (int round = 0; round < 64; ++round) {
            const QByteArray out = session.takeOutgoing();
            if (out.isEmpty())
                return;
            toClient.clear();
            meterReceive(out, onApdu);
            session.feed(toClient);
        }
    };
    const QByteArray aare = encodeApdu(acceptedAare());
    session.connect();
    exchange([&](const QByteArray &) { (void)meter.sendApdu(aare); });
    (void)session.takeEvents();
    (void)session.takeFrames();

    std::array<QByteArray, 16> responses;
    for (quint8 id = 0; id < 16; ++id)
        responses[id] = encodeApdu(pollResponse(id));
    const auto items = pollItems();
    for (auto _ : state) {
        session.getList(items);
        exchange([&](const QByteArray &apdu) { (void)meter.sendApdu(responses[quint8(apdu.at(2)) & 0x0F]); });
        auto events = session.takeEvents();
        auto frames = session.takeFrames();
        benchmark::DoNotOptimize(events);
        benchmark::DoNotOptimize(frames);
    }
}
BENCHMARK(BM_PollGetWithList10_Hdlc);

} // namespace

BENCHMARK_MAIN();
