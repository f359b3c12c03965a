// The simulator and a client reading it: the load-profile read of issue 3's target (10,000 rows
// over the wrapper with 1024-byte PDUs, ≤ 150 ms) split into its parts — the meter building and
// encoding the buffer, the whole protocol exchange in memory (both peers, no sockets), and the
// real thing over loopback TCP with the simulator in its own thread — plus the register poll
// (10 registers with their scalers: requests per read, reported as a counter).
#include "clientsession.h"
#include "dlmsconnection.h"
#include "metermodel.h"
#include "serversession.h"
#include "simulator.h"

#include <benchmark/benchmark.h>

#include <QtCore/QCoreApplication>
#include <QtCore/QEventLoop>
#include <QtCore/QThread>
#include <QtCore/QTimer>

#include <array>
#include <cstdlib>
#include <memory>

using namespace dlms;

namespace {

const AttributeDescriptor Profile {7, Obis {1, 0, 99, 1, 0, 255}, 2};

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

sim::MeterSettings profileMeter(int rows)
{
    sim::MeterSettings settings;
    settings.profileRows = quint32(rows);
    return settings;
}

void fail(benchmark::State &state, const QString &why)
{
    state.SkipWithError(why.toLocal8Bit().constData());
}

// The meter's side alone: build the buffer and encode it once, as the server does before slicing.
void BM_ModelProfileGetEncode(benchmark::State &state)
{
    sim::MeterModel model(profileMeter(int(state.range(0))));
    const sim::Association association;
    qint64 bytes = 0;
    for (auto _ : state) {
        const DataResult result = model.get(Profile, {}, association);
        QByteArray encoded;
        encodeDataResult(result, encoded);
        bytes += encoded.size();
        benchmark::DoNotOptimize(encoded);
    }
    state.SetBytesProcessed(bytes);
    state.counters["rows"] = double(state.range(0));
}
BENCHMARK(BM_ModelProfileGetEncode)->Arg(10000)->Unit(benchmark::kMillisecond);

// Both protocol stacks back to back in memory: every block encoded, framed, deframed, decoded.
void BM_ProfileReadInMemory(benchmark::State &state)
{
    const auto transport = state.range(0) ? Transport::Hdlc : Transport::Wrapper;
    sim::MeterModel model(profileMeter(10000));
    sim::ServerSession server(model, transport);
    ClientConfig config;
    config.transport = transport;
    ClientSession client(config);
    quint64 wireBytes = 0;
    int blocks = 0;
    auto pumpUntil = [&](auto done) {
        for (int guard = 0; guard < 1000000 && !done(); ++guard) {
            const QByteArray request = client.takeOutgoing();
            wireBytes += quint64(request.size());
            server.feed(request);
            for (const QByteArray &frame : server.takeOutgoing()) {
                wireBytes += quint64(frame.size());
                client.feed(frame);
            }
            (void)client.takeFrames();
            for (auto &event : client.takeEvents()) {
                if (event.type == ClientSession::Event::Type::Response) {
                    blocks = event.response->blocks;
                    if (event.response->error || event.response->results.empty()
                        || !event.response->results[0].ok())
                        return false;
                    benchmark::DoNotOptimize(event.response->results[0].value);
                    return true;
                }
            }
        }
        return done();
    };
    client.connect();
    if (!pumpUntil([&] { return client.state() == ClientSession::State::Ready; }))
        return fail(state, QStringLiteral("association failed"));
    for (auto _ : state) {
        client.get(Profile);
        if (!pumpUntil([] { return false; }))
            return fail(state, QStringLiteral("profile read failed"));
    }
    state.counters["blocks"] = blocks;
    state.counters["wire_bytes_per_read"] = double(wireBytes) / double(state.iterations());
}
BENCHMARK(BM_ProfileReadInMemory)->Arg(0)->Arg(1)->ArgName("hdlc")->Unit(benchmark::kMillisecond);

// The simulator in its own thread, as `dlmsctl simulate` runs it, and a DlmsConnection in this
// one: real sockets on loopback.
class LoopbackMeter {
public:
    explicit LoopbackMeter(Transport transport, bool multipleReferences = true)
    {
        sim::SimulatorConfig config;
        config.basePort = 0;
        config.transport = transport;
        config.meter.multipleReferences = multipleReferences;
        m_simulator = new sim::Simulator(config);
        m_simulator->moveToThread(&m_thread);
        QObject::connect(&m_thread, &QThread::finished, m_simulator, &QObject::deleteLater);
        m_thread.setObjectName(QStringLiteral("simulator"));
        m_thread.start();
        QMetaObject::invokeMethod(
            m_simulator, [this] { m_started = m_simulator->start().ok(); }, Qt::BlockingQueuedConnection);
        if (m_started)
            m_port = m_simulator->port(0);
    }
    ~LoopbackMeter()
    {
        QMetaObject::invokeMethod(
            m_simulator, [this] { m_simulator->stop(); }, Qt::BlockingQueuedConnection);
        m_thread.quit();
        m_thread.wait();
    }
    bool started() const { return m_started; }
    quint16 port() const { return m_port; }

private:
    QThread m_thread;
    sim::Simulator *m_simulator = nullptr;
    bool m_started = false;
    quint16 m_port = 0;
};

// Runs the event loop until `signal` fires on `connection` or the connection fails; bounded.
template<typename Signal> bool waitFor(polling::DlmsConnection &connection, Signal signal)
{
    QEventLoop loop;
    bool ok = false;
    QObject::connect(&connection, signal, &loop, [&] {
        ok = true;
        loop.quit();
    });
    QObject::connect(&connection, &polling::DlmsConnection::failed, &loop, [&] { loop.quit(); });
    QTimer::singleShot(30000, &loop, &QEventLoop::quit);
    loop.exec();
    return ok;
}

polling::DlmsConnection::Options loopbackOptions(Transport transport, quint16 port)
{
    polling::DlmsConnection::Options options;
    options.host = QStringLiteral("127.0.0.1");
    options.port = port;
    options.client.transport = transport;
    options.requestTimeoutMs = 30000;
    return options;
}

void BM_ProfileReadLoopback(benchmark::State &state)
{
    const auto transport = state.range(0) ? Transport::Hdlc : Transport::Wrapper;
    LoopbackMeter meter(transport);
    if (!meter.started())
        return fail(state, QStringLiteral("simulator did not start"));
    polling::DlmsConnection connection(loopbackOptions(transport, meter.port()));
    connection.open();
    if (!waitFor(connection, &polling::DlmsConnection::associated))
        return fail(state, QStringLiteral("association failed"));
    const auto before = connection.counters();
    for (auto _ : state) {
        connection.get(Profile);
        if (!waitFor(connection, &polling::DlmsConnection::responseReceived))
            return fail(state, QStringLiteral("profile read failed"));
    }
    const auto after = connection.counters();
    state.counters["bytes_received_per_read"]
        = double(after.bytesReceived - before.bytesReceived) / double(state.iterations());
    state.counters["frames_received_per_read"]
        = double(after.framesReceived - before.framesReceived) / double(state.iterations());
    connection.close();
    waitFor(connection, &polling::DlmsConnection::closed);
}
BENCHMARK(BM_ProfileReadLoopback)
    ->Arg(0)
    ->Arg(1)
    ->ArgName("hdlc")
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// A whole register read as `dlmsctl read` does it: connect, associate, 10 values with their
// scaler_units in one GET-with-list, release. `requests` counts complete request APDUs.
void BM_RegistersWithScalersLoopback(benchmark::State &state)
{
    const bool multipleReferences = state.range(0) != 0;
    LoopbackMeter meter(Transport::Wrapper, multipleReferences);
    if (!meter.started())
        return fail(state, QStringLiteral("simulator did not start"));
    std::vector<AttributeRequest> items;
    for (const Obis &obis : Registers) {
        items.push_back({{3, obis, 2}, {}});
        items.push_back({{3, obis, 3}, {}});
    }
    quint64 requests = 0;
    for (auto _ : state) {
        polling::DlmsConnection connection(loopbackOptions(Transport::Wrapper, meter.port()));
        connection.open();
        if (!waitFor(connection, &polling::DlmsConnection::associated))
            return fail(state, QStringLiteral("association failed"));
        if (multipleReferences) {
            connection.getList(items);
            if (!waitFor(connection, &polling::DlmsConnection::responseReceived))
                return fail(state, QStringLiteral("read failed"));
        } else {
            for (const AttributeRequest &item : items) {
                connection.get(item.attribute);
                if (!waitFor(connection, &polling::DlmsConnection::responseReceived))
                    return fail(state, QStringLiteral("read failed"));
            }
        }
        connection.close();
        if (!waitFor(connection, &polling::DlmsConnection::closed))
            return fail(state, QStringLiteral("release failed"));
        requests = connection.counters().requestsSent;
    }
    state.counters["requests"] = double(requests);
}
BENCHMARK(BM_RegistersWithScalersLoopback)
    ->Arg(1)
    ->Arg(0)
    ->ArgName("multiple_references")
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv))
        return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
