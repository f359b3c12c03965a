#include "clientsession.h"
#include "dlmsconnection.h"
#include "metermodel.h"
#include "serversession.h"
#include "simulator.h"

#include <invocationcounterstore.h>

#include <QtCore/QStandardPaths>
#include <QtCore/QTemporaryDir>
#include <QtTest/QSignalSpy>
#include <QtTest/QtTest>

using namespace dlms;
using namespace Qt::StringLiterals;

Q_DECLARE_METATYPE(dlms::SecurityPolicy)
Q_DECLARE_METATYPE(dlms::Transport)
Q_DECLARE_METATYPE(dlms::Authentication)

namespace {

const QByteArray Ek = QByteArray::fromHex("000102030405060708090A0B0C0D0E0F");
const QByteArray Ak = QByteArray::fromHex("D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF");
const QByteArray ClientTitle = QByteArray::fromHex("4D4D4D0000000001");
const QByteArray MeterTitle = QByteArray::fromHex("4D4D4D0000BC614E");

const AttributeDescriptor Clock {8, Obis {0, 0, 1, 0, 0, 255}, 2};
const AttributeDescriptor SerialNumber {1, Obis {0, 0, 96, 1, 0, 255}, 2};
const AttributeDescriptor ProfileBuffer {7, Obis {1, 0, 99, 1, 0, 255}, 2};
const MethodDescriptor ProfileCapture {7, Obis {1, 0, 99, 1, 0, 255}, 2};
constexpr quint32 ProfileRows = 120;

// How one association is protected; every field a row varies.
struct Setup {
    SecurityPolicy policy = SecurityPolicy::None;
    Authentication authentication = Authentication::HighGmac;
    bool dedicatedKey = false;
    bool generalCiphering = false;
    bool withoutAk = false; // the client has no AK (enough for encryption only)
};

sim::MeterSettings meterSettings(SecurityPolicy policy)
{
    sim::MeterSettings settings;
    settings.profileRows = ProfileRows;
    settings.security.policy = policy;
    settings.security.systemTitle = MeterTitle;
    settings.security.blockCipherKey = Ek;
    settings.security.authenticationKey = Ak;
    return settings;
}

ClientConfig clientConfig(Transport transport, const Setup &setup)
{
    ClientConfig config;
    config.transport = transport;
    config.authentication = setup.authentication;
    if (setup.authentication == Authentication::Low)
        config.password = QByteArrayLiteral("12345678");
    config.security.policy = setup.policy;
    config.security.systemTitle = ClientTitle;
    config.security.blockCipherKey = Ek;
    config.security.authenticationKey = setup.withoutAk ? QByteArray() : Ak;
    config.security.dedicatedKey = setup.dedicatedKey;
    config.security.generalCiphering = setup.generalCiphering;
    return config;
}

// A counter that replays a fixed sequence: a client whose stored counter went backwards.
class ScriptedCounter final : public InvocationCounter {
public:
    explicit ScriptedCounter(std::vector<quint32> values) : m_values(std::move(values)) { }
    Result<quint32> next() override
    {
        if (m_at >= m_values.size())
            return makeError(ErrorCode::IoError, u"script exhausted"_s);
        return m_values[m_at++];
    }

private:
    std::vector<quint32> m_values;
    size_t m_at = 0;
};

// The client and the simulator's server session wired back to back in memory.
struct Loop {
    Loop(sim::MeterModel &meter, ClientConfig config)
        : server(meter, config.transport), client(std::move(config))
    {
    }

    sim::ServerSession server;
    ClientSession client;
    std::vector<ClientSession::Event> events;
    std::vector<FrameEvent> frames;

    bool pump()
    {
        for (int round = 0; round < 100000; ++round) {
            const QByteArray out = client.takeOutgoing();
            if (!out.isEmpty())
                server.feed(out);
            const std::vector<QByteArray> replies = server.takeOutgoing();
            for (const QByteArray &reply : replies)
                client.feed(reply);
            for (auto &event : client.takeEvents())
                events.push_back(std::move(event));
            for (auto &frame : client.takeFrames())
                frames.push_back(frame);
            if (out.isEmpty() && replies.empty())
                return true;
        }
        return false;
    }

    std::optional<ClientSession::Response> run(ClientSession::RequestId id)
    {
        if (!pump())
            return std::nullopt;
        for (const auto &event : events)
            if (event.response && event.response->id == id)
                return event.response;
        return std::nullopt;
    }

    std::vector<Error> errors() const
    {
        std::vector<Error> out;
        for (const auto &event : events)
            if (event.type == ClientSession::Event::Type::Error)
                out.push_back(*event.error);
        return out;
    }

    bool has(ClientSession::Event::Type type) const
    {
        return std::any_of(events.begin(), events.end(), [type](const auto &e) { return e.type == type; });
    }

    int completed(FrameKind kind, Direction direction) const
    {
        return int(std::count_if(frames.begin(), frames.end(), [&](const FrameEvent &f) {
            return f.kind == kind && f.direction == direction && f.completesApdu;
        }));
    }
};

const char *why(const std::optional<Error> &error)
{
    static QByteArray text;
    text = error ? error->message.toUtf8() : QByteArray("no error");
    return text.constData();
}

const char *firstError(const Loop &loop)
{
    const auto errors = loop.errors();
    return why(errors.empty() ? std::optional<Error>() : std::optional<Error>(errors.front()));
}

} // namespace

class tst_SecurityLoop : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void everyServiceUnderEveryPolicy_data();
    void everyServiceUnderEveryPolicy();
    void wrongKeysGiveDistinctErrors_data();
    void wrongKeysGiveDistinctErrors();
    void reusedClientCounterIsRefused();
    void serverCounterKeepsRisingAcrossAssociations();
    void meterCounterErrorRaisesFloor_data();
    void meterCounterErrorRaisesFloor();
    void dlmsConnectionOverSocket();

private:
    QTemporaryDir m_counterDir;
};

void tst_SecurityLoop::initTestCase()
{
    QStandardPaths::setTestModeEnabled(true);
    QVERIFY(m_counterDir.isValid());
    qputenv("DLMSBRIDGE_COUNTER_DIR", QFile::encodeName(m_counterDir.path()));
}

void tst_SecurityLoop::everyServiceUnderEveryPolicy_data()
{
    QTest::addColumn<Transport>("transport");
    QTest::addColumn<SecurityPolicy>("policy");
    QTest::addColumn<Authentication>("authentication");
    QTest::addColumn<bool>("dedicated");
    QTest::addColumn<bool>("general");
    QTest::addColumn<bool>("withoutAk");

    const struct {
        const char *name;
        Setup setup;
    } setups[] = {
        {"none-hls-gmac", {SecurityPolicy::None, Authentication::HighGmac, false, false}},
        {"auth-hls-gmac", {SecurityPolicy::Authenticated, Authentication::HighGmac, false, false}},
        {"enc-hls-gmac", {SecurityPolicy::Encrypted, Authentication::HighGmac, false, false}},
        {"auth-enc-hls-gmac",
            {SecurityPolicy::AuthenticatedEncrypted, Authentication::HighGmac, false, false}},
        {"auth-enc-lls", {SecurityPolicy::AuthenticatedEncrypted, Authentication::Low, false, false}},
        {"auth-enc-ded", {SecurityPolicy::AuthenticatedEncrypted, Authentication::HighGmac, true, false}},
        {"auth-enc-general-glo",
            {SecurityPolicy::AuthenticatedEncrypted, Authentication::HighGmac, false, true}},
        {"auth-general-glo-lls", {SecurityPolicy::Authenticated, Authentication::Low, false, true}},
        {"enc-lls-without-ak", {SecurityPolicy::Encrypted, Authentication::Low, false, false, true}},
    };
    for (const auto &s : setups) {
        for (const Transport transport : {Transport::Wrapper, Transport::Hdlc}) {
            QTest::addRow("%s-%s", s.name, qPrintable(transportName(transport)))
                << transport << s.setup.policy << s.setup.authentication << s.setup.dedicatedKey
                << s.setup.generalCiphering << s.setup.withoutAk;
        }
    }
}

void tst_SecurityLoop::everyServiceUnderEveryPolicy()
{
    QFETCH(Transport, transport);
    QFETCH(SecurityPolicy, policy);
    QFETCH(Authentication, authentication);
    QFETCH(bool, dedicated);
    QFETCH(bool, general);
    QFETCH(bool, withoutAk);

    sim::MeterModel meter(meterSettings(policy));
    const quint32 meterCounterBefore = meter.nextInvocationCounter();
    auto counter = std::make_shared<MemoryInvocationCounter>(1);
    ClientConfig config
        = clientConfig(transport, Setup {policy, authentication, dedicated, general, withoutAk});
    config.invocationCounter = counter;
    Loop loop(meter, config);

    loop.client.connect();
    QVERIFY(loop.pump());
    QVERIFY2(loop.has(ClientSession::Event::Type::Associated), firstError(loop));
    QCOMPARE(loop.client.state(), ClientSession::State::Ready);
    QVERIFY(loop.server.associated());
    QVERIFY(!loop.server.authenticationPending());
    QCOMPARE(loop.server.association()->ciphered, policy != SecurityPolicy::None);
    QCOMPARE(loop.server.association()->level,
        authentication == Authentication::HighGmac ? sim::AccessLevel::High : sim::AccessLevel::Low);

    const auto clock = loop.run(loop.client.get(Clock));
    QVERIFY(clock);
    QVERIFY2(!clock->error, why(clock->error));
    QCOMPARE(clock->results.front().value.type(), DataType::OctetString);
    QCOMPARE(clock->results.front().value.bytes().size(), qsizetype(12));

    const auto list
        = loop.run(loop.client.getList({AttributeRequest {Clock, {}}, AttributeRequest {SerialNumber, {}}}));
    QVERIFY(list);
    QVERIFY2(!list->error, why(list->error));
    QCOMPARE(list->results.size(), size_t(2));
    QVERIFY(list->results[0].ok());
    QVERIFY(list->results[1].ok());

    const auto profile = loop.run(loop.client.get(ProfileBuffer));
    QVERIFY(profile);
    QVERIFY2(!profile->error, why(profile->error));
    QVERIFY2(profile->blocks > 1, qPrintable(QString::number(profile->blocks)));
    QCOMPARE(profile->results.front().value.type(), DataType::Array);
    QCOMPARE(profile->results.front().value.items().size(), size_t(ProfileRows));

    const auto set = loop.run(loop.client.set(Clock, clock->results.front().value));
    QVERIFY(set);
    QVERIFY2(!set->error, why(set->error));
    QCOMPARE(set->results.front().result, DataAccessResult::Success);

    const auto action = loop.run(loop.client.action(ProfileCapture, Value::integer(0)));
    QVERIFY(action);
    QVERIFY2(!action->error, why(action->error));
    QCOMPARE(action->results.front().result, DataAccessResult::Success);

    loop.client.release();
    QVERIFY(loop.pump());
    QVERIFY(loop.has(ClientSession::Event::Type::Released));
    QVERIFY2(loop.errors().empty(), firstError(loop));

    // Both sides protected what they sent: the counters moved on each side.
    if (policy != SecurityPolicy::None || authentication == Authentication::HighGmac) {
        QVERIFY(counter->peek() > 1);
        QVERIFY(meter.nextInvocationCounter() > meterCounterBefore);
    }
    QCOMPARE(loop.completed(FrameKind::GetRequest, Direction::Sent), 3 + profile->blocks - 1);
    QCOMPARE(loop.completed(FrameKind::GetResponse, Direction::Received), 2 + profile->blocks);
    QCOMPARE(loop.completed(FrameKind::ActionRequest, Direction::Sent),
        authentication == Authentication::HighGmac ? 2 : 1);
    QCOMPARE(loop.completed(FrameKind::SetResponse, Direction::Received), 1);
    QCOMPARE(loop.completed(FrameKind::Rlre, Direction::Received), 1);
}

void tst_SecurityLoop::wrongKeysGiveDistinctErrors_data()
{
    QTest::addColumn<Transport>("transport");
    QTest::addColumn<SecurityPolicy>("policy");
    QTest::addColumn<bool>("wrongEk");
    QTest::addColumn<ErrorCode>("code");
    QTest::addColumn<QString>("message");

    for (const Transport transport : {Transport::Wrapper, Transport::Hdlc}) {
        const QByteArray name = transportName(transport).toLatin1();
        QTest::addRow("wrong-ak-hls-%s", name.constData())
            << transport << SecurityPolicy::None << false << ErrorCode::AuthenticationFailed
            << u"HLS-GMAC authentication failed: the meter refused our proof (f(StoC)): wrong AK or EK"_s;
        QTest::addRow("wrong-ek-auth-enc-%s", name.constData())
            << transport << SecurityPolicy::AuthenticatedEncrypted << true << ErrorCode::DecryptionFailed
            << u"the meter could not decipher our AARQ: wrong EK or AK"_s;
        QTest::addRow("wrong-ak-auth-enc-%s", name.constData())
            << transport << SecurityPolicy::AuthenticatedEncrypted << false << ErrorCode::DecryptionFailed
            << u"the meter could not decipher our AARQ: wrong EK or AK"_s;
    }
}

void tst_SecurityLoop::wrongKeysGiveDistinctErrors()
{
    QFETCH(Transport, transport);
    QFETCH(SecurityPolicy, policy);
    QFETCH(bool, wrongEk);
    QFETCH(ErrorCode, code);
    QFETCH(QString, message);

    sim::MeterModel meter(meterSettings(policy));
    ClientConfig config = clientConfig(transport, Setup {policy, Authentication::HighGmac});
    QByteArray &key = wrongEk ? config.security.blockCipherKey : config.security.authenticationKey;
    key[3] = char(key[3] ^ 0x5A);
    const QByteArray wrongKey = key;
    Loop loop(meter, config);
    loop.client.connect();
    QVERIFY(loop.pump());

    QCOMPARE(loop.client.state(), ClientSession::State::Failed);
    QVERIFY(!loop.has(ClientSession::Event::Type::Associated));
    QVERIFY(!loop.server.associated() || loop.server.authenticationPending());
    const auto errors = loop.errors();
    QCOMPARE(errors.size(), size_t(1));
    QCOMPARE(errors.front().code, code);
    QVERIFY2(errors.front().message.startsWith(message), qPrintable(errors.front().message));
    for (const QByteArray &secret : {Ek, Ak, wrongKey})
        QVERIFY(!errors.front().message.contains(QString::fromLatin1(secret.toHex()), Qt::CaseInsensitive));
}

void tst_SecurityLoop::reusedClientCounterIsRefused()
{
    // A first association uses counters 1..4; a client whose counter store went back then sends
    // a fresh AARQ (10) but a request with 3: the meter refuses the request, the client says why.
    sim::MeterModel meter(meterSettings(SecurityPolicy::AuthenticatedEncrypted));
    const Setup setup {SecurityPolicy::AuthenticatedEncrypted, Authentication::Low};
    {
        Loop first(meter, clientConfig(Transport::Wrapper, setup));
        first.client.connect();
        QVERIFY(first.pump());
        QVERIFY2(first.has(ClientSession::Event::Type::Associated), firstError(first));
        for (int i = 0; i < 3; ++i) {
            const auto response = first.run(first.client.get(Clock));
            QVERIFY(response && !response->error);
        }
    }

    ClientConfig config = clientConfig(Transport::Wrapper, setup);
    config.invocationCounter = std::make_shared<ScriptedCounter>(std::vector<quint32> {10, 3, 11});
    Loop second(meter, config);
    second.client.connect();
    QVERIFY(second.pump());
    QVERIFY2(second.has(ClientSession::Event::Type::Associated), firstError(second));
    const auto stale = second.run(second.client.get(Clock));
    QVERIFY(stale);
    QVERIFY(stale->error);
    QCOMPARE(stale->error->code, ErrorCode::Replay);
    QVERIFY2(stale->error->message.startsWith(u"the meter refused our invocation counter as already used"_s),
        qPrintable(stale->error->message));
    QVERIFY2(
        stale->error->message.contains(u"invocation-counter-error"_s), qPrintable(stale->error->message));

    // The association survives: the next request, with a fresh counter, is answered.
    const auto fresh = second.run(second.client.get(Clock));
    QVERIFY(fresh);
    QVERIFY2(!fresh->error, why(fresh->error));

    // A replayed AARQ (counter 1 again) is refused as the meter's deciphering-error.
    Loop third(meter, clientConfig(Transport::Wrapper, setup));
    third.client.connect();
    QVERIFY(third.pump());
    QCOMPARE(third.client.state(), ClientSession::State::Failed);
    QCOMPARE(third.errors().front().code, ErrorCode::DecryptionFailed);
}

void tst_SecurityLoop::serverCounterKeepsRisingAcrossAssociations()
{
    // One client session, two associations with the same meter: the meter's counter carries on,
    // so the replay guard (kept for the session's lifetime) lets the second association through.
    sim::MeterModel meter(meterSettings(SecurityPolicy::AuthenticatedEncrypted));
    Loop loop(meter, clientConfig(Transport::Hdlc, Setup {SecurityPolicy::AuthenticatedEncrypted}));
    for (int round = 0; round < 2; ++round) {
        loop.client.connect();
        QVERIFY(loop.pump());
        QCOMPARE(loop.client.state(), ClientSession::State::Ready);
        const auto response = loop.run(loop.client.get(Clock));
        QVERIFY(response);
        QVERIFY2(!response->error, why(response->error));
        loop.client.release();
        QVERIFY(loop.pump());
        QCOMPARE(loop.client.state(), ClientSession::State::Idle);
    }
    QVERIFY2(loop.errors().empty(), firstError(loop));

    // A meter whose counter went back is caught: the next association's AARE is a replay, and
    // the association fails at once rather than waiting for a timeout.
    meter.setNextInvocationCounter(1);
    loop.client.connect();
    QVERIFY(loop.pump());
    QCOMPARE(loop.errors().size(), size_t(1));
    QCOMPARE(loop.errors().back().code, ErrorCode::Replay);
    QVERIFY2(loop.errors().back().message.startsWith(u"replayed APDU: invocation counter 1 not above"_s),
        qPrintable(loop.errors().back().message));
    QCOMPARE(loop.client.state(), ClientSession::State::Failed);
}

void tst_SecurityLoop::meterCounterErrorRaisesFloor_data()
{
    QTest::addColumn<Authentication>("authentication");
    QTest::newRow("lls") << Authentication::Low;
    QTest::newRow("hls-gmac") << Authentication::HighGmac;
}

void tst_SecurityLoop::meterCounterErrorRaisesFloor()
{
    // Another installation with our EK and title has used counters up to 5000 behind our back:
    // the meter refuses our next request with invocation-counter-error 5001, and from then on
    // the store (on disk, so for the next process too) starts there.
    QFETCH(Authentication, authentication);
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const Setup setup {SecurityPolicy::AuthenticatedEncrypted, authentication};
    sim::MeterModel meter(meterSettings(setup.policy));
    auto store = polling::FileInvocationCounter::open(dir.path(), Ek, ClientTitle);
    QVERIFY(store.ok());
    ClientConfig config = clientConfig(Transport::Wrapper, setup);
    config.invocationCounter = *store;
    Loop loop(meter, config);
    loop.client.connect();
    QVERIFY(loop.pump());
    QVERIFY2(loop.has(ClientSession::Event::Type::Associated), firstError(loop));

    meter.acceptClientInvocationCounter(ClientTitle, 5000);
    const auto refused = loop.run(loop.client.get(Clock));
    QVERIFY(refused);
    QVERIFY(refused->error);
    QCOMPARE(refused->error->code, ErrorCode::Replay);
    QVERIFY2(refused->error->message.contains(u"expected counter 5001"_s), why(refused->error));

    const auto next = loop.run(loop.client.get(Clock));
    QVERIFY(next);
    QVERIFY2(!next->error, why(next->error));
    loop.client.release();
    QVERIFY(loop.pump());
    QCOMPARE(loop.client.state(), ClientSession::State::Idle);

    // A new process's store: it reads the floor from the file, the association goes through.
    config.invocationCounter.reset();
    store->reset();
    auto reopened = polling::FileInvocationCounter::open(dir.path(), Ek, ClientTitle);
    QVERIFY(reopened.ok());
    config.invocationCounter = *reopened;
    Loop again(meter, config);
    again.client.connect();
    QVERIFY(again.pump());
    QVERIFY2(again.has(ClientSession::Event::Type::Associated), firstError(again));
    const auto read = again.run(again.client.get(Clock));
    QVERIFY(read);
    QVERIFY2(!read->error, why(read->error));
}

void tst_SecurityLoop::dlmsConnectionOverSocket()
{
    sim::SimulatorConfig simConfig;
    simConfig.basePort = 0;
    simConfig.transport = Transport::Hdlc;
    simConfig.meter = meterSettings(SecurityPolicy::AuthenticatedEncrypted);
    simConfig.meter.requireHighSecurity = true;
    sim::Simulator simulator(simConfig);
    const auto started = simulator.start();
    QVERIFY2(started, started ? "" : qPrintable(started.error().message));

    polling::DlmsConnection::Options options;
    options.host = u"127.0.0.1"_s;
    options.port = simulator.port(0);
    options.client = clientConfig(Transport::Hdlc, Setup {SecurityPolicy::AuthenticatedEncrypted});
    options.connectTimeoutMs = 5000;
    options.requestTimeoutMs = 5000;
    polling::DlmsConnection connection(options);
    QSignalSpy associated(&connection, &polling::DlmsConnection::associated);
    QSignalSpy responses(&connection, &polling::DlmsConnection::responseReceived);
    QSignalSpy failed(&connection, &polling::DlmsConnection::failed);
    QSignalSpy closed(&connection, &polling::DlmsConnection::closed);

    connection.open();
    QVERIFY(associated.wait());
    QCOMPARE(failed.size(), 0);
    QVERIFY(connection.aare()->ciphered);
    QCOMPARE(connection.aare()->respondingApTitle, MeterTitle);

    const auto clockId = connection.get(Clock);
    const auto profileId = connection.get(ProfileBuffer);
    QTRY_COMPARE(responses.size(), 2);
    const auto clock = responses.at(0).at(0).value<ClientSession::Response>();
    const auto profile = responses.at(1).at(0).value<ClientSession::Response>();
    QCOMPARE(clock.id, clockId);
    QVERIFY2(!clock.error, why(clock.error));
    QCOMPARE(profile.id, profileId);
    QVERIFY2(!profile.error, why(profile.error));
    QVERIFY(profile.blocks > 1);
    QCOMPARE(profile.results.front().value.items().size(), size_t(ProfileRows));
    QVERIFY(connection.counters().requestsSent >= 4); // AARQ, pass 3, GETs (+ next)

    connection.close();
    QVERIFY(closed.wait());
    QCOMPARE(failed.size(), 0);

    // The same meter with a wrong EK: a clear, distinct failure over the socket too.
    options.client.security.blockCipherKey[0] = char(options.client.security.blockCipherKey[0] ^ 1);
    polling::DlmsConnection wrong(options);
    QSignalSpy wrongFailed(&wrong, &polling::DlmsConnection::failed);
    wrong.open();
    QVERIFY(wrongFailed.wait());
    QCOMPARE(wrongFailed.at(0).at(0).value<Error>().code, ErrorCode::DecryptionFailed);
}

QTEST_GUILESS_MAIN(tst_SecurityLoop)
#include "tst_securityloop.moc"
