#include "backoff.h"
#include "metersession.h"
#include "simconnection.h"
#include "simulator.h"
#include "testsupport.h"

#include <apdu.h>
#include <units.h>
#include <xdlms.h>

#include <QtCore/QElapsedTimer>
#include <QtCore/QPointer>
#include <QtCore/QTimeZone>
#include <QtNetwork/QTcpServer>
#include <QtNetwork/QTcpSocket>
#include <QtTest/QSignalSpy>
#include <QtTest/QTest>

#include <memory>

using namespace Qt::StringLiterals;
using polling::AssociationMode;
using polling::DlmsConnection;
using polling::MeterConfig;
using polling::MeterSession;
using polling::MeterState;
using polling::Quality;
using polling::ReadingsBatch;
using polling::TrafficCounters;

Q_DECLARE_METATYPE(dlms::Transport)
Q_DECLARE_METATYPE(polling::AssociationMode)

namespace polling {

inline char *toString(MeterState state)
{
    return qstrdup(meterStateName(state).toUtf8().constData());
}

} // namespace polling

namespace {

// The meters' clock is fixed, so every value the session reads can be compared exactly with
// what the model answers.
QDateTime fixedClock()
{
    return QDateTime(QDate(2024, 3, 5), QTime(12, 0), QTimeZone::utc());
}

std::unique_ptr<sim::Simulator> startSimulator(
    dlms::Transport transport, int meters = 1, const std::function<void(sim::MeterSettings &)> &tweak = {})
{
    sim::SimulatorConfig config;
    config.basePort = 0;
    config.meters = meters;
    config.transport = transport;
    config.meter.profileRows = 10;
    config.clock = fixedClock;
    if (tweak)
        tweak(config.meter);
    auto simulator = std::make_unique<sim::Simulator>(config);
    const auto started = simulator->start();
    if (!started)
        qWarning("simulator: %s", qPrintable(started.error().message));
    return started ? std::move(simulator) : nullptr;
}

// Every register (class 3) of the simulated meter, under its default telemetry key.
std::vector<polling::PollItem> registerItems(sim::Simulator &simulator)
{
    std::vector<polling::PollItem> items;
    for (const sim::MeterModel::ObjectInfo &object : simulator.meter(0).objects()) {
        if (object.classId == 3)
            items.push_back({polling::defaultTelemetryKey(object.obis), object.obis, 3, 2});
    }
    return items;
}

MeterConfig configFor(sim::Simulator &simulator, AssociationMode mode, int meter = 0)
{
    MeterConfig config;
    config.id = u"meter-%1"_s.arg(meter);
    config.name = u"Meter %1"_s.arg(meter);
    config.host = u"127.0.0.1"_s;
    config.port = simulator.port(meter);
    config.transport = simulator.config().transport;
    config.associationMode = mode;
    config.pollIntervalMs = 1000;
    config.connectTimeoutMs = 2000;
    config.requestTimeoutMs = 2000;
    config.retries = 1;
    config.backoff = {50, 400, 2.0, 0.2};
    config.breaker.failureThreshold = 0;
    config.items = registerItems(simulator);
    return config;
}

// What the model itself answers (public association), for exact comparisons.
dlms::DataResult modelGet(sim::Simulator &simulator, const polling::PollItem &item, qint8 attribute)
{
    return simulator.meter(0).get({item.classId, item.obis, attribute}, std::nullopt, sim::Association {});
}

// Traffic taken from a session, summed over the test.
struct Tally {
    TrafficCounters total;
    std::vector<quint32> rttUs;
    std::vector<quint32> latencyUs;

    const TrafficCounters &operator()(MeterSession &session)
    {
        session.takeTraffic(total, rttUs, latencyUs);
        return total;
    }
};

QList<MeterState> statesOf(const QSignalSpy &spy)
{
    QList<MeterState> states;
    for (const QList<QVariant> &args : spy)
        states << args.at(0).value<MeterState>();
    return states;
}

QString lastReason(const QSignalSpy &spy, MeterState state)
{
    for (auto it = spy.crbegin(); it != spy.crend(); ++it) {
        if (it->at(0).value<MeterState>() == state)
            return it->at(1).toString();
    }
    return {};
}

bool hasReason(const QSignalSpy &spy, MeterState state, const QString &prefix)
{
    return std::any_of(spy.begin(), spy.end(), [&](const QList<QVariant> &args) {
        return args.at(0).value<MeterState>() == state && args.at(1).toString().startsWith(prefix);
    });
}

ReadingsBatch batchAt(const QSignalSpy &spy, int i)
{
    return spy.at(i).at(0).value<ReadingsBatch>();
}

const sim::SimConnection *onlyConnection(const sim::Simulator &simulator)
{
    const QList<sim::SimConnection *> connections = simulator.findChildren<sim::SimConnection *>();
    return connections.size() == 1 ? connections.front() : nullptr;
}

void addTransportRows()
{
    QTest::addColumn<dlms::Transport>("transport");
    QTest::newRow("wrapper") << dlms::Transport::Wrapper;
    QTest::newRow("hdlc") << dlms::Transport::Hdlc;
}

void addTransportAndModeRows()
{
    QTest::addColumn<dlms::Transport>("transport");
    QTest::addColumn<AssociationMode>("mode");
    QTest::newRow("wrapper-keep-open") << dlms::Transport::Wrapper << AssociationMode::KeepOpen;
    QTest::newRow("wrapper-per-poll") << dlms::Transport::Wrapper << AssociationMode::PerPoll;
    QTest::newRow("hdlc-keep-open") << dlms::Transport::Hdlc << AssociationMode::KeepOpen;
    QTest::newRow("hdlc-per-poll") << dlms::Transport::Hdlc << AssociationMode::PerPoll;
}

constexpr int kWait = 5000;

// Between a client and a simulated wrapper meter: makes the meter's registers look like demand
// registers (class 5). GETs of class 5 are passed on as class 3: attributes 2 and 3 (current
// and last average) as the value, 4 (scaler_unit) as the register's scaler_unit. Records every
// class-5 attribute asked for.
class DemandRegisterProxy final : public QObject {
public:
    explicit DemandRegisterProxy(quint16 meterPort) : m_meterPort(meterPort)
    {
        connect(&m_server, &QTcpServer::newConnection, this, &DemandRegisterProxy::accept);
        m_server.listen(QHostAddress::LocalHost, 0);
    }
    quint16 port() const { return m_server.serverPort(); }
    QList<qint8> demandAttributes; // as the client asked for them, in order

private:
    void accept()
    {
        QTcpSocket *client = m_server.nextPendingConnection();
        auto *meter = new QTcpSocket(client);
        auto deframer = std::make_shared<dlms::wrapper::Deframer>();
        connect(meter, &QTcpSocket::readyRead, client, [client, meter] { client->write(meter->readAll()); });
        connect(client, &QTcpSocket::readyRead, meter, [this, client, meter, deframer] {
            deframer->feed(client->readAll());
            while (auto frame = deframer->next()) {
                if (!*frame)
                    continue;
                QByteArray out;
                (void)dlms::wrapper::encode(
                    (*frame)->sourcePort, (*frame)->destinationPort, rewrite((*frame)->apdu), out);
                meter->write(out);
            }
        });
        connect(client, &QTcpSocket::disconnected, meter, [meter] { meter->disconnectFromHost(); });
        connect(client, &QTcpSocket::disconnected, client, &QObject::deleteLater);
        meter->connectToHost(QHostAddress::LocalHost, m_meterPort);
    }

    QByteArray rewrite(const QByteArray &apdu)
    {
        if (apdu.isEmpty() || quint8(apdu.front()) != dlms::tag::GetRequest)
            return apdu;
        auto request = dlms::decodeGetRequest(apdu);
        if (!request)
            return apdu;
        for (dlms::AttributeRequest &item : request->items) {
            dlms::AttributeDescriptor &a = item.attribute;
            if (a.classId != 5)
                continue;
            demandAttributes << a.attributeId;
            a.classId = 3;
            a.attributeId = a.attributeId == 4 ? 3 : 2;
        }
        QByteArray out;
        dlms::encode(*request, out);
        return out;
    }

    QTcpServer m_server;
    quint16 m_meterPort;
};

} // namespace

class tst_MeterSession : public QObject {
    Q_OBJECT

private slots:
    void backoffDelay_data();
    void backoffDelay();
    void backoffJitterIsSeeded();
    void pollsDeliverScaledReadings_data() { addTransportAndModeRows(); }
    void pollsDeliverScaledReadings();
    void requestsAreSplit_data();
    void requestsAreSplit();
    void textAndFailedItems_data() { addTransportRows(); }
    void textAndFailedItems();
    void snapshotProfile_data();
    void snapshotProfile();
    void pollAccounting();
    void scalersReReadAfterReconnect_data() { addTransportRows(); }
    void scalersReReadAfterReconnect();
    void silenceTimesOutBacksOffAndRecovers_data() { addTransportRows(); }
    void silenceTimesOutBacksOffAndRecovers();
    void rejectionOpensTheCircuit_data() { addTransportRows(); }
    void rejectionOpensTheCircuit();
    void garbageIsCountedAndPollsComplete_data() { addTransportRows(); }
    void garbageIsCountedAndPollsComplete();
    void slowMeterWithinTheTimeout_data();
    void slowMeterWithinTheTimeout();
    void exceptionsFailPollsAndKeepTheConnection_data() { addTransportRows(); }
    void exceptionsFailPollsAndKeepTheConnection();
    void missingScalersAreReadAgainOneRequestPerPoll();
    void demandRegistersAreScaled();
    void abandonedPollWhileAGetIsOut_data();
    void abandonedPollWhileAGetIsOut();
    void reconfigureWhileAGetIsOut_data();
    void reconfigureWhileAGetIsOut();
    void connectionResynchronisesHdlc_data();
    void connectionResynchronisesHdlc();
    void sessionRecoversFromSequenceErrors_data();
    void sessionRecoversFromSequenceErrors();
    void rateCapSpacesRequests_data() { addTransportRows(); }
    void rateCapSpacesRequests();
    void reconfigure_data() { addTransportRows(); }
    void reconfigure();
    void stopReleasesAndEmitsStopped_data() { addTransportAndModeRows(); }
    void stopReleasesAndEmitsStopped();
    void pauseAndResume();
    void framesAndTrace_data() { addTransportRows(); }
    void framesAndTrace();
    void deleteFromItsOwnSignals_data();
    void deleteFromItsOwnSignals();
};

void tst_MeterSession::backoffDelay_data()
{
    QTest::addColumn<int>("initialMs");
    QTest::addColumn<int>("maxMs");
    QTest::addColumn<double>("multiplier");
    QTest::addColumn<QList<int>>("expected"); // failures 1, 2, …

    QTest::newRow("doubling-capped") << 100 << 1000 << 2.0 << QList<int> {100, 200, 400, 800, 1000, 1000};
    QTest::newRow("tripling") << 50 << 100000 << 3.0 << QList<int> {50, 150, 450, 1350};
    QTest::newRow("multiplier-below-one-is-constant") << 300 << 1000 << 0.5 << QList<int> {300, 300, 300};
    QTest::newRow("max-below-initial-keeps-initial") << 500 << 100 << 2.0 << QList<int> {500, 500};
    QTest::newRow("zero-initial") << 0 << 1000 << 2.0 << QList<int> {0, 0, 0};
}

void tst_MeterSession::backoffDelay()
{
    QFETCH(int, initialMs);
    QFETCH(int, maxMs);
    QFETCH(double, multiplier);
    QFETCH(QList<int>, expected);
    const polling::BackoffPolicy policy {initialMs, maxMs, multiplier, 0.0};
    std::mt19937 random(1);
    for (int i = 0; i < expected.size(); ++i)
        QCOMPARE(polling::backoffDelayMs(policy, i + 1, random), expected.at(i));
    // A meter that failed for days does not overflow (or loop) on the power.
    QCOMPARE(polling::backoffDelayMs(policy, std::numeric_limits<int>::max(), random),
        multiplier > 1 && initialMs > 0 ? std::max(initialMs, maxMs) : initialMs);
}

void tst_MeterSession::backoffJitterIsSeeded()
{
    const polling::BackoffPolicy policy {1000, 60000, 2.0, 0.2};
    auto sequence = [&](quint32 seed) {
        std::mt19937 random(seed);
        QList<int> delays;
        for (int failures = 1; failures <= 8; ++failures)
            delays << polling::backoffDelayMs(policy, failures, random);
        return delays;
    };
    const QList<int> a = sequence(7);
    QCOMPARE(sequence(7), a);
    QVERIFY(sequence(8) != a);
    for (int i = 0; i < a.size(); ++i) {
        const double base = std::min(60000.0, 1000.0 * std::pow(2.0, i));
        QVERIFY2(
            a.at(i) >= base * 0.8 - 1 && a.at(i) <= base * 1.2 + 1, qPrintable(QString::number(a.at(i))));
    }
}

void tst_MeterSession::pollsDeliverScaledReadings()
{
    QFETCH(dlms::Transport, transport);
    QFETCH(AssociationMode, mode);
    auto simulator = startSimulator(transport);
    QVERIFY(simulator);
    const MeterConfig config = configFor(*simulator, mode);
    QCOMPARE(config.items.size(), size_t(15));
    MeterSession session(config, 1);
    QSignalSpy batches(&session, &MeterSession::readingsReady);
    QSignalSpy states(&session, &MeterSession::stateChanged);
    Tally tally;

    session.start();
    if (mode == AssociationMode::KeepOpen) {
        QTRY_COMPARE_WITH_TIMEOUT(session.state(), MeterState::Associated, kWait);
        QCOMPARE(session.scalerReads(), 1);
        // AARQ, then one GET-with-list for the 15 scaler_units.
        QCOMPARE(tally(session).requestsSent, quint64(2));
        QCOMPARE(tally.total.connects, quint64(1));
        QCOMPARE(tally.total.associations, quint64(1));
    } else {
        QCOMPARE(session.state(), MeterState::Disconnected);
        QCOMPARE(session.stateReason(), u"idle until the next poll"_s);
        QCOMPARE(session.connection()->state(), DlmsConnection::State::Closed);
    }

    constexpr int polls = 3;
    for (int i = 0; i < polls; ++i) {
        const TrafficCounters before = tally(session);
        session.poll(polling::steadyNowNs());
        QVERIFY(batches.wait(kWait));
        QCOMPARE(batches.size(), i + 1);
        if (mode == AssociationMode::PerPoll)
            QTRY_COMPARE_WITH_TIMEOUT(session.connection()->state(), DlmsConnection::State::Closed, kWait);
        const TrafficCounters &after = tally(session);
        // Keep-open: one GET-with-list. Per-poll: AARQ, scaler read, GET-with-list, RLRQ.
        const quint64 requests = mode == AssociationMode::KeepOpen ? 1 : 4;
        QCOMPARE(after.requestsSent - before.requestsSent, requests);
        QCOMPARE(after.responsesReceived - before.responsesReceived, requests);
        QCOMPARE(after.pollsCompleted - before.pollsCompleted, quint64(1));
        QCOMPARE(after.valuesRead - before.valuesRead, quint64(15));
    }

    for (int b = 0; b < polls; ++b) {
        const ReadingsBatch batch = batchAt(batches, b);
        QCOMPARE(batch.meterId, config.id);
        QVERIFY(qAbs(batch.timestampMs - QDateTime::currentMSecsSinceEpoch()) < 60000);
        QCOMPARE(batch.readings.size(), config.items.size());
        for (size_t i = 0; i < config.items.size(); ++i) {
            const polling::Reading &reading = batch.readings[i];
            const polling::PollItem &item = config.items[i];
            QCOMPARE(reading.key, item.key);
            QCOMPARE(reading.obis, item.obis);
            QCOMPARE(reading.quality, Quality::Good);
            const auto scalerUnit = dlms::ScalerUnit::fromValue(modelGet(*simulator, item, 3).value);
            QVERIFY(scalerUnit);
            QCOMPARE(session.scalers()[i], std::optional<dlms::ScalerUnit>(*scalerUnit));
            QCOMPARE(reading.unit, dlms::unitSymbol(scalerUnit->unit));
            QCOMPARE(reading.value.typeId(), int(QMetaType::Double));
            const double expected
                = dlms::scaledValue(modelGet(*simulator, item, 2).value, scalerUnit->scaler).value();
            QCOMPARE(reading.value.toDouble(), expected);
        }
    }
    const ReadingsBatch first = batchAt(batches, 0);
    auto valueOf = [&](const QString &key) -> std::pair<double, QString> {
        for (const polling::Reading &r : first.readings) {
            if (r.key == key)
                return {r.value.toDouble(), r.unit};
        }
        return {0, {}};
    };
    QCOMPARE(valueOf(u"voltage_l1"_s).second, u"V"_s);
    QVERIFY(valueOf(u"voltage_l1"_s).first > 220 && valueOf(u"voltage_l1"_s).first < 240);
    QCOMPARE(valueOf(u"frequency_hz"_s).second, u"Hz"_s);
    QVERIFY(valueOf(u"frequency_hz"_s).first > 49 && valueOf(u"frequency_hz"_s).first < 51);

    const TrafficCounters &total = tally(session);
    QCOMPARE(total.pollsAttempted, quint64(polls));
    QCOMPARE(total.pollsCompleted, quint64(polls));
    QCOMPARE(total.pollsFailed + total.pollsSkipped + total.timeouts + total.protocolErrors, quint64(0));
    QCOMPARE(total.requestsSent, total.responsesReceived);
    QCOMPARE(total.rttCount, quint64(tally.rttUs.size()));
    QCOMPARE(tally.latencyUs.size(), size_t(polls));
    QVERIFY(total.rttMaxUs > 0 && total.rttSumUs >= total.rttMaxUs);
    const int connections = mode == AssociationMode::KeepOpen ? 1 : polls;
    QCOMPARE(total.connects, quint64(connections));
    QCOMPARE(total.associations, quint64(connections));
    QCOMPARE(session.scalerReads(), connections);
    // Exact at the socket: everything the connection counted went through takeTraffic().
    QCOMPARE(total.bytesSent, session.connection()->counters().bytesSent);
    QCOMPARE(total.bytesReceived, session.connection()->counters().bytesReceived);
    QCOMPARE(total.framesReceived, session.connection()->counters().framesReceived);
    QVERIFY(total.bytesSent > 0 && total.bytesReceived > 0);
    QVERIFY(!session.hasTraffic());
    if (mode == AssociationMode::KeepOpen) {
        // …and equal to what the meter wrote.
        const sim::SimConnection *peer = onlyConnection(*simulator);
        QVERIFY(peer);
        QCOMPARE(total.bytesReceived, peer->stats().bytesWritten);
        QCOMPARE(session.state(), MeterState::Associated);
        QVERIFY(statesOf(states).contains(MeterState::Polling));
    } else {
        QCOMPARE(session.state(), MeterState::Disconnected);
        const QList<MeterState> seen = statesOf(states);
        QCOMPARE(seen.count(MeterState::Connecting), polls);
        QCOMPARE(seen.count(MeterState::Polling), polls);
    }
    QCOMPARE(lastReason(states, MeterState::Connecting), config.endpoint());
}

void tst_MeterSession::requestsAreSplit_data()
{
    QTest::addColumn<dlms::Transport>("transport");
    QTest::addColumn<int>("items");
    QTest::addColumn<int>("maxItemsPerRequest");
    QTest::addColumn<bool>("multipleReferences");
    QTest::addColumn<int>("serverPdu");
    QTest::addColumn<int>("clientPdu");
    QTest::addColumn<int>("requests");

    QTest::newRow("wrapper-15-in-one") << dlms::Transport::Wrapper << 15 << 32 << true << 1024 << 0xFFFF << 1;
    QTest::newRow("wrapper-max-items-3")
        << dlms::Transport::Wrapper << 15 << 3 << true << 1024 << 0xFFFF << 5;
    QTest::newRow("hdlc-max-items-4") << dlms::Transport::Hdlc << 15 << 4 << true << 1024 << 0xFFFF << 4;
    QTest::newRow("wrapper-single-gets")
        << dlms::Transport::Wrapper << 15 << 32 << false << 1024 << 0xFFFF << 15;
    QTest::newRow("hdlc-single-gets") << dlms::Transport::Hdlc << 6 << 32 << false << 1024 << 0xFFFF << 6;
    // 4 + 10 × 6 = 64 bytes: six items fill the meter's PDU exactly.
    QTest::newRow("wrapper-server-pdu-64")
        << dlms::Transport::Wrapper << 12 << 32 << true << 64 << 0xFFFF << 2;
    QTest::newRow("hdlc-server-pdu-63") << dlms::Transport::Hdlc << 12 << 32 << true << 63 << 0xFFFF << 3;
    QTest::newRow("wrapper-client-pdu-64") << dlms::Transport::Wrapper << 12 << 32 << true << 1024 << 64 << 2;
    QTest::newRow("single-item") << dlms::Transport::Wrapper << 1 << 32 << true << 1024 << 0xFFFF << 1;
}

void tst_MeterSession::requestsAreSplit()
{
    QFETCH(dlms::Transport, transport);
    QFETCH(int, items);
    QFETCH(int, maxItemsPerRequest);
    QFETCH(bool, multipleReferences);
    QFETCH(int, serverPdu);
    QFETCH(int, clientPdu);
    QFETCH(int, requests);
    auto simulator = startSimulator(transport, 1, [&](sim::MeterSettings &meter) {
        meter.multipleReferences = multipleReferences;
        meter.maxPduSize = quint16(serverPdu);
    });
    QVERIFY(simulator);
    MeterConfig config = configFor(*simulator, AssociationMode::KeepOpen);
    config.items.resize(size_t(items));
    config.maxItemsPerRequest = maxItemsPerRequest;
    config.maxPduSize = quint16(clientPdu);
    MeterSession session(config);
    QSignalSpy batches(&session, &MeterSession::readingsReady);
    Tally tally;

    session.start();
    QTRY_COMPARE_WITH_TIMEOUT(session.state(), MeterState::Associated, kWait);
    // The scaler read is split the same way (every item here is a register).
    QCOMPARE(tally(session).requestsSent, quint64(1 + requests));
    for (const auto &scalerUnit : session.scalers())
        QVERIFY(scalerUnit.has_value());

    session.poll(polling::steadyNowNs());
    QVERIFY(batches.wait(kWait));
    const TrafficCounters &total = tally(session);
    QCOMPARE(total.requestsSent, quint64(1 + 2 * requests));
    QCOMPARE(total.responsesReceived, total.requestsSent);
    QCOMPARE(total.protocolErrors, quint64(0));
    const ReadingsBatch batch = batchAt(batches, 0);
    QCOMPARE(batch.readings.size(), size_t(items));
    for (const polling::Reading &reading : batch.readings)
        QCOMPARE(reading.quality, Quality::Good);
    QCOMPARE(total.valuesRead, quint64(items));
}

void tst_MeterSession::textAndFailedItems()
{
    QFETCH(dlms::Transport, transport);
    auto simulator = startSimulator(transport);
    QVERIFY(simulator);
    MeterConfig config = configFor(*simulator, AssociationMode::KeepOpen);
    const dlms::Obis voltage(1, 0, 32, 7, 0, 255);
    config.items = {
        {u"voltage"_s, voltage, 3, 2},
        {u"serial"_s, dlms::Obis(0, 0, 96, 1, 0, 255), 1, 2},
        {u"device"_s, dlms::Obis(0, 0, 42, 0, 0, 255), 1, 2},
        {u"missing"_s, dlms::Obis(1, 0, 99, 99, 0, 255), 3, 2},
        {u"voltage_scaler"_s, voltage, 3, 3},
        {u"clock"_s, dlms::Obis(0, 0, 1, 0, 0, 255), 8, 2},
    };
    MeterSession session(config);
    QSignalSpy batches(&session, &MeterSession::readingsReady);
    Tally tally;
    session.start();
    QTRY_COMPARE_WITH_TIMEOUT(session.state(), MeterState::Associated, kWait);
    // Only the registers at attribute 2 are scaled; the missing one has no scaler_unit.
    QCOMPARE(session.scalers().size(), size_t(6));
    QCOMPARE(session.scalers()[0], std::optional<dlms::ScalerUnit>(dlms::ScalerUnit {-1, 35}));
    for (size_t i = 1; i < session.scalers().size(); ++i)
        QVERIFY(!session.scalers()[i]);

    session.poll(polling::steadyNowNs());
    QVERIFY(batches.wait(kWait));
    const ReadingsBatch batch = batchAt(batches, 0);
    QCOMPARE(batch.readings.size(), size_t(6));
    QCOMPARE(batch.readings[0].quality, Quality::Good);
    QCOMPARE(batch.readings[0].unit, u"V"_s);
    QCOMPARE(batch.readings[1].quality, Quality::Good);
    QCOMPARE(batch.readings[1].value.typeId(), int(QMetaType::QString));
    QCOMPARE(batch.readings[1].value.toString(), simulator->meter(0).serialNumber());
    QCOMPARE(batch.readings[2].value.toString(), simulator->meter(0).logicalDeviceName());
    QCOMPARE(batch.readings[3].quality, Quality::Failed);
    QCOMPARE(batch.readings[3].error, u"object-undefined"_s);
    QVERIFY(batch.readings[3].value.isNull());
    // A structure is neither number nor text: its text form.
    QCOMPARE(batch.readings[4].quality, Quality::Good);
    QCOMPARE(batch.readings[4].value.typeId(), int(QMetaType::QString));
    // The clock (an octet-string on the wire) as date-time text.
    QCOMPARE(batch.readings[5].value.typeId(), int(QMetaType::QString));
    QVERIFY2(batch.readings[5].value.toString().startsWith(u"2024-03-05T12:00:00"_s),
        qPrintable(batch.readings[5].value.toString()));
    QCOMPARE(tally(session).valuesRead, quint64(5));
    QCOMPARE(tally.total.pollsCompleted, quint64(1));

    // object-undefined is final: the missing register's scaler_unit is not asked again.
    const quint64 before = tally(session).requestsSent;
    session.poll(polling::steadyNowNs());
    QVERIFY(batches.wait(kWait));
    QCOMPARE(tally(session).requestsSent - before, quint64(1));
    QCOMPARE(session.scalerReads(), 1);
}

void tst_MeterSession::snapshotProfile_data()
{
    QTest::addColumn<dlms::Transport>("transport");
    QTest::addColumn<bool>("profileExists");
    QTest::newRow("wrapper") << dlms::Transport::Wrapper << true;
    QTest::newRow("hdlc") << dlms::Transport::Hdlc << true;
    QTest::newRow("wrapper-no-such-profile") << dlms::Transport::Wrapper << false;
}

void tst_MeterSession::snapshotProfile()
{
    // The registers come from one GET of the instantaneous profile's buffer, the serial number
    // (not captured) by its own GET; values equal the model's. A profile the meter lacks leaves
    // every item to the GET-with-list.
    QFETCH(dlms::Transport, transport);
    QFETCH(bool, profileExists);
    auto simulator = startSimulator(transport);
    QVERIFY(simulator);
    MeterConfig config = configFor(*simulator, AssociationMode::KeepOpen);
    config.items.resize(10);
    config.items.push_back({u"serial"_s, dlms::Obis(0, 0, 96, 1, 0, 255), 1, 2});
    config.snapshotProfile = profileExists ? sim::InstantaneousProfileObis : dlms::Obis(1, 0, 94, 91, 9, 255);
    MeterSession session(config);
    QSignalSpy batches(&session, &MeterSession::readingsReady);
    Tally tally;
    session.start();
    QTRY_COMPARE_WITH_TIMEOUT(session.state(), MeterState::Associated, kWait);
    // AARQ, capture objects, scaler_units.
    QCOMPARE(tally(session).requestsSent, quint64(3));

    constexpr int polls = 3;
    for (int i = 0; i < polls; ++i) {
        const quint64 before = tally(session).requestsSent;
        const quint64 sentBefore = tally.total.bytesSent;
        session.poll(polling::steadyNowNs());
        QVERIFY(batches.wait(kWait));
        tally(session);
        QCOMPARE(tally.total.requestsSent - before, quint64(profileExists ? 2 : 1));
        if (profileExists && transport == dlms::Transport::Wrapper) {
            // Profile buffer (8 + 13) and serial number (8 + 13): far less than 11 descriptors.
            QCOMPARE(tally.total.bytesSent - sentBefore, quint64(42));
        }
    }
    for (int b = 0; b < polls; ++b) {
        const ReadingsBatch batch = batchAt(batches, b);
        QCOMPARE(batch.readings.size(), size_t(11));
        for (size_t i = 0; i < 10; ++i) {
            const polling::PollItem &item = config.items[i];
            const polling::Reading &reading = batch.readings[i];
            QCOMPARE(reading.key, item.key);
            QCOMPARE(reading.quality, Quality::Good);
            const auto scalerUnit = dlms::ScalerUnit::fromValue(modelGet(*simulator, item, 3).value);
            QVERIFY(scalerUnit);
            QCOMPARE(reading.unit, dlms::unitSymbol(scalerUnit->unit));
            QCOMPARE(reading.value.toDouble(),
                dlms::scaledValue(modelGet(*simulator, item, 2).value, scalerUnit->scaler).value());
        }
        QCOMPARE(batch.readings[10].value.toString(), simulator->meter(0).serialNumber());
    }
    QCOMPARE(tally.total.valuesRead, quint64(polls * 11));
    QCOMPARE(tally.total.pollsFailed, quint64(0));
}

void tst_MeterSession::pollAccounting()
{
    auto simulator = startSimulator(dlms::Transport::Wrapper);
    QVERIFY(simulator);
    MeterConfig config = configFor(*simulator, AssociationMode::KeepOpen);
    config.pollIntervalMs = 10000; // a stalled test process does not make a poll late
    MeterSession session(config);
    QSignalSpy batches(&session, &MeterSession::readingsReady);
    Tally tally;
    session.start();
    // Due while connecting: runs once associated; the next one finds it still running.
    session.poll(polling::steadyNowNs());
    session.poll(polling::steadyNowNs());
    QVERIFY(batches.wait(kWait));
    QCOMPARE(tally(session).pollsAttempted, quint64(2));
    QCOMPARE(tally.total.pollsSkipped, quint64(1));
    QCOMPARE(tally.total.pollsCompleted, quint64(1));
    QCOMPARE(tally.total.pollsLate, quint64(0));

    // Due two intervals ago: completed, but late.
    session.poll(polling::steadyNowNs() - 2 * qint64(session.config().pollIntervalMs) * 1000000);
    QVERIFY(batches.wait(kWait));
    QCOMPARE(tally(session).pollsCompleted, quint64(2));
    QCOMPARE(tally.total.pollsLate, quint64(1));
    QCOMPARE(tally.latencyUs.size(), size_t(2));
    QVERIFY(tally.latencyUs.back() >= quint32(2 * session.config().pollIntervalMs * 1000));
    QCOMPARE(tally.total.pollsFailed, quint64(0));
}

void tst_MeterSession::scalersReReadAfterReconnect()
{
    QFETCH(dlms::Transport, transport);
    auto simulator = startSimulator(transport);
    QVERIFY(simulator);
    MeterSession session(configFor(*simulator, AssociationMode::KeepOpen));
    QSignalSpy batches(&session, &MeterSession::readingsReady);
    Tally tally;
    session.start();
    QTRY_COMPARE_WITH_TIMEOUT(session.state(), MeterState::Associated, kWait);
    QCOMPARE(session.scalerReads(), 1);

    // The poll's answer is cut in half and the connection closed; the fault is cleared before
    // the client even sees the close, so the retry finds a healthy meter.
    sim::FaultConfig faults;
    faults.dropMidFrame = true;
    simulator->setFaults(0, faults);
    QSignalSpy opened(simulator.get(), &sim::Simulator::connectionOpened);
    connect(simulator.get(), &sim::Simulator::connectionClosed, this,
        [&] { simulator->setFaults(0, sim::FaultConfig {}); });
    const qint64 due = polling::steadyNowNs();
    session.poll(due);
    QVERIFY(batches.wait(kWait));
    QCOMPARE(opened.size(), 1);
    QCOMPARE(session.scalerReads(), 2);
    for (const auto &scalerUnit : session.scalers())
        QVERIFY(scalerUnit.has_value());
    const TrafficCounters &total = tally(session);
    QCOMPARE(total.connects, quint64(2));
    QCOMPARE(total.associations, quint64(2));
    QCOMPARE(total.reconnects, quint64(1));
    QCOMPARE(total.pollsAttempted, quint64(1));
    QCOMPARE(total.pollsCompleted, quint64(1));
    QCOMPARE(total.pollsFailed, quint64(0));
    QCOMPARE(batchAt(batches, 0).readings.front().quality, Quality::Good);
    // The retried poll kept its due time: its latency covers the lost attempt.
    QCOMPARE(tally.latencyUs.size(), size_t(1));
    QVERIFY(qint64(tally.latencyUs.front()) * 1000 <= polling::steadyNowNs() - due);
}

void tst_MeterSession::silenceTimesOutBacksOffAndRecovers()
{
    QFETCH(dlms::Transport, transport);
    auto simulator = startSimulator(transport);
    QVERIFY(simulator);
    MeterConfig config = configFor(*simulator, AssociationMode::KeepOpen);
    config.requestTimeoutMs = kWait;
    config.connectTimeoutMs = kWait;
    MeterSession session(config, 3);
    QSignalSpy batches(&session, &MeterSession::readingsReady);
    QSignalSpy states(&session, &MeterSession::stateChanged);
    Tally tally;
    session.start();
    QTRY_COMPARE_WITH_TIMEOUT(session.state(), MeterState::Associated, kWait);

    // Short timeouts only while the meter is silent: a stalled test process cannot make a
    // healthy exchange time out.
    auto setTimeouts = [&](int ms) {
        MeterConfig c = session.config();
        c.requestTimeoutMs = c.connectTimeoutMs = ms;
        QVERIFY(!c.needsReconnect(session.config()));
        session.reconfigure(c);
    };
    setTimeouts(300);
    sim::FaultConfig faults;
    faults.silent = true;
    simulator->setFaults(0, faults);
    // While backing off: a poll due fails at once, and the meter gets well again.
    int failuresWhenBackingOff = -1;
    connect(&session, &MeterSession::stateChanged, this, [&](MeterState state) {
        if (state != MeterState::BackingOff || failuresWhenBackingOff >= 0)
            return;
        failuresWhenBackingOff = session.consecutiveFailures();
        session.poll(polling::steadyNowNs());
        simulator->setFaults(0, sim::FaultConfig {});
        setTimeouts(kWait);
    });
    session.poll(polling::steadyNowNs());
    QTRY_VERIFY_WITH_TIMEOUT(failuresWhenBackingOff >= 0, kWait);
    QCOMPARE(failuresWhenBackingOff, 1);
    const QString reason = lastReason(states, MeterState::BackingOff);
    // Wrapper: the association of the retry timed out. HDLC: the DISC of the resync did.
    QVERIFY2(reason.contains(u"within 300 ms"_s) || reason.contains(u"timed out after 300 ms"_s),
        qPrintable(reason));
    QVERIFY2(reason.contains(u"; retry in 0.0"_s) && reason.endsWith(u" s"_s), qPrintable(reason));
    QVERIFY(tally(session).timeouts >= 1);
    QCOMPARE(tally.total.pollsFailed, quint64(2));

    QTRY_COMPARE_WITH_TIMEOUT(session.state(), MeterState::Associated, kWait);
    session.poll(polling::steadyNowNs());
    QVERIFY(batches.wait(kWait));
    QCOMPARE(tally(session).pollsCompleted, quint64(1));
    QCOMPARE(tally.total.pollsFailed, quint64(2));
    QCOMPARE(session.consecutiveFailures(), 0);
    QVERIFY(tally.total.reconnects >= 1);
    QCOMPARE(tally.total.associations, quint64(2));
}

void tst_MeterSession::rejectionOpensTheCircuit()
{
    QFETCH(dlms::Transport, transport);
    auto simulator = startSimulator(transport);
    QVERIFY(simulator);
    sim::FaultConfig faults;
    faults.rejectAssociation = true;
    simulator->setFaults(0, faults);
    MeterConfig config = configFor(*simulator, AssociationMode::KeepOpen);
    config.breaker = {2, 300};
    MeterSession session(config);
    QSignalSpy states(&session, &MeterSession::stateChanged);
    Tally tally;
    // First opening: a poll due now fails at once. Second (the trial failed): the meter is
    // fixed, so the next trial succeeds.
    int openings = 0;
    connect(&session, &MeterSession::stateChanged, this, [&](MeterState state) {
        if (state != MeterState::CircuitOpen)
            return;
        if (++openings == 1)
            session.poll(polling::steadyNowNs());
        else if (openings == 2)
            simulator->setFaults(0, sim::FaultConfig {});
    });
    session.start();
    QTRY_COMPARE_WITH_TIMEOUT(session.state(), MeterState::Associated, kWait);
    QCOMPARE(openings, 2);
    QCOMPARE(session.consecutiveFailures(), 0);

    QList<QString> openReasons;
    QList<MeterState> seen;
    for (const QList<QVariant> &args : std::as_const(states)) {
        seen << args.at(0).value<MeterState>();
        if (seen.back() == MeterState::CircuitOpen)
            openReasons << args.at(1).toString();
    }
    QCOMPARE(openReasons,
        QList<QString>({u"2 failures in a row, last: association rejected: rejected-permanent: "
                        u"no-reason-given; next try in 0.3 s"_s,
            u"3 failures in a row, last: association rejected: rejected-permanent: "
            u"no-reason-given; next try in 0.3 s"_s}));
    // One backoff before the breaker opened, none between the failed trial and the reopening.
    const qsizetype firstOpen = seen.indexOf(MeterState::CircuitOpen);
    const qsizetype secondOpen = seen.indexOf(MeterState::CircuitOpen, firstOpen + 1);
    QCOMPARE(seen.count(MeterState::BackingOff), 1);
    QVERIFY(seen.indexOf(MeterState::BackingOff) < firstOpen);
    QVERIFY(seen.mid(firstOpen, secondOpen - firstOpen).contains(MeterState::Connecting));
    QVERIFY(lastReason(states, MeterState::BackingOff).startsWith(u"association rejected: "_s));
    QCOMPARE(tally(session).pollsFailed, quint64(1));
    QCOMPARE(tally.total.associations, quint64(1));
    QCOMPARE(tally.total.connects, quint64(4));
    QCOMPARE(tally.total.reconnects, quint64(3));
}

void tst_MeterSession::garbageIsCountedAndPollsComplete()
{
    QFETCH(dlms::Transport, transport);
    auto simulator = startSimulator(transport);
    QVERIFY(simulator);
    sim::FaultConfig faults;
    faults.garbageBytes = 16;
    simulator->setFaults(0, faults);
    MeterConfig config = configFor(*simulator, AssociationMode::KeepOpen);
    // Only HDLC can lose an answer to garbage (see below): a short timeout makes it recover fast.
    config.requestTimeoutMs = transport == dlms::Transport::Hdlc ? 500 : kWait;
    MeterSession session(config);
    QSignalSpy batches(&session, &MeterSession::readingsReady);
    Tally tally;
    session.start();
    for (int i = 0; i < 3; ++i) {
        session.poll(polling::steadyNowNs());
        QVERIFY(batches.wait(kWait));
    }
    const TrafficCounters &total = tally(session);
    QCOMPARE(total.pollsCompleted, quint64(3));
    QVERIFY(total.protocolErrors > 0);
    QVERIFY(total.bytesDiscarded >= quint64(16));
    QCOMPARE(total.pollsFailed, quint64(0));
    QCOMPARE(total.connects, quint64(1));
    QCOMPARE(total.valuesRead, quint64(45));
    // HDLC shares flags between frames: garbage right after a closing flag can read as the
    // header of a long frame and swallow the answer behind it. The request then times out and
    // the link resynchronises (which also clears the receive buffer) on the same connection.
    if (transport == dlms::Transport::Wrapper)
        QCOMPARE(total.timeouts, quint64(0));
}

void tst_MeterSession::slowMeterWithinTheTimeout_data()
{
    QTest::addColumn<dlms::Transport>("transport");
    QTest::addColumn<bool>("drip");
    QTest::newRow("wrapper-latency") << dlms::Transport::Wrapper << false;
    QTest::newRow("hdlc-latency") << dlms::Transport::Hdlc << false;
    QTest::newRow("wrapper-drip") << dlms::Transport::Wrapper << true;
    QTest::newRow("hdlc-drip") << dlms::Transport::Hdlc << true;
}

void tst_MeterSession::slowMeterWithinTheTimeout()
{
    QFETCH(dlms::Transport, transport);
    QFETCH(bool, drip);
    auto simulator = startSimulator(transport);
    QVERIFY(simulator);
    sim::FaultConfig faults;
    if (drip)
        faults.drip = true;
    else
        faults.latencyMs = 80;
    simulator->setFaults(0, faults);
    MeterConfig config = configFor(*simulator, AssociationMode::KeepOpen);
    config.items.resize(4);
    config.requestTimeoutMs = 4000;
    config.connectTimeoutMs = 4000;
    MeterSession session(config);
    QSignalSpy batches(&session, &MeterSession::readingsReady);
    Tally tally;
    session.start();
    for (int i = 0; i < 2; ++i) {
        session.poll(polling::steadyNowNs());
        QVERIFY(batches.wait(10000));
    }
    const TrafficCounters &total = tally(session);
    QCOMPARE(total.pollsCompleted, quint64(2));
    QCOMPARE(total.timeouts + total.pollsFailed + total.reconnects, quint64(0));
    QCOMPARE(total.connects, quint64(1));
    if (!drip)
        QVERIFY(total.rttMaxUs >= 80000);
}

void tst_MeterSession::exceptionsFailPollsAndKeepTheConnection()
{
    QFETCH(dlms::Transport, transport);
    auto simulator = startSimulator(transport);
    QVERIFY(simulator);
    sim::FaultConfig faults;
    faults.exceptionResponses = true;
    simulator->setFaults(0, faults);
    MeterConfig config = configFor(*simulator, AssociationMode::KeepOpen);
    config.breaker.failureThreshold = 5;
    MeterSession session(config);
    QSignalSpy batches(&session, &MeterSession::readingsReady);
    Tally tally;
    session.start();
    QTRY_COMPARE_WITH_TIMEOUT(session.state(), MeterState::Associated, kWait);
    // The scaler read was answered with an exception: nothing cached.
    for (const auto &scalerUnit : session.scalers())
        QVERIFY(!scalerUnit.has_value());
    QCOMPARE(session.scalerReads(), 1);

    // Each poll asks for the missing scaler_units once, then reads: two exceptions per poll.
    for (int i = 1; i <= 3; ++i) {
        session.poll(polling::steadyNowNs());
        QTRY_COMPARE_WITH_TIMEOUT(tally(session).pollsFailed, quint64(i), kWait);
        QTRY_COMPARE_WITH_TIMEOUT(session.state(), MeterState::Associated, kWait);
    }
    QCOMPARE(batches.size(), 0);
    QCOMPARE(session.consecutiveFailures(), 3);
    QCOMPARE(session.scalerReads(), 4);
    QCOMPARE(tally(session).protocolErrors, quint64(1 + 2 * 3));
    QCOMPARE(tally.total.connects, quint64(1));
    QCOMPARE(session.connection()->state(), DlmsConnection::State::Ready);

    // Healthy again: the next poll reads the scaler_units first, so its values are scaled.
    simulator->setFaults(0, sim::FaultConfig {});
    quint64 before = tally(session).requestsSent;
    session.poll(polling::steadyNowNs());
    QVERIFY(batches.wait(kWait));
    QCOMPARE(tally(session).requestsSent - before, quint64(2));
    QCOMPARE(session.scalerReads(), 5);
    const ReadingsBatch batch = batchAt(batches, 0);
    QCOMPARE(batch.readings.size(), size_t(15));
    for (size_t i = 0; i < batch.readings.size(); ++i) {
        const polling::PollItem &item = session.config().items[i];
        const auto scalerUnit = dlms::ScalerUnit::fromValue(modelGet(*simulator, item, 3).value);
        QVERIFY(scalerUnit);
        QCOMPARE(batch.readings[i].quality, Quality::Good);
        QCOMPARE(batch.readings[i].unit, dlms::unitSymbol(scalerUnit->unit));
        QCOMPARE(batch.readings[i].value.toDouble(),
            dlms::scaledValue(modelGet(*simulator, item, 2).value, scalerUnit->scaler).value());
    }
    QCOMPARE(session.consecutiveFailures(), 0);
    QCOMPARE(tally.total.valuesRead, quint64(15));

    // Nothing missing any more: one request per poll.
    before = tally(session).requestsSent;
    session.poll(polling::steadyNowNs());
    QVERIFY(batches.wait(kWait));
    QCOMPARE(tally(session).requestsSent - before, quint64(1));
    QCOMPARE(session.scalerReads(), 5);
}

void tst_MeterSession::missingScalersAreReadAgainOneRequestPerPoll()
{
    // A meter busy right after the AARE: the scaler read fails, the polls that follow each
    // catch up on one request's worth (4 items) before reading.
    auto simulator = startSimulator(dlms::Transport::Wrapper);
    QVERIFY(simulator);
    sim::FaultConfig faults;
    faults.exceptionResponses = true;
    simulator->setFaults(0, faults);
    MeterConfig config = configFor(*simulator, AssociationMode::KeepOpen);
    config.maxItemsPerRequest = 4; // 15 items: 4 GETs per poll
    MeterSession session(config);
    QSignalSpy batches(&session, &MeterSession::readingsReady);
    Tally tally;
    session.start();
    QTRY_COMPARE_WITH_TIMEOUT(session.state(), MeterState::Associated, kWait);
    QCOMPARE(tally(session).protocolErrors, quint64(4)); // the 4 scaler requests
    simulator->setFaults(0, sim::FaultConfig {});

    for (int poll = 1; poll <= 5; ++poll) {
        const quint64 before = tally(session).requestsSent;
        session.poll(polling::steadyNowNs());
        QVERIFY(batches.wait(kWait));
        QCOMPARE(tally(session).requestsSent - before, quint64(poll <= 4 ? 5 : 4));
        const ReadingsBatch batch = batchAt(batches, poll - 1);
        QCOMPARE(batch.readings.size(), size_t(15));
        for (size_t i = 0; i < batch.readings.size(); ++i) {
            const bool scaled = i < size_t(4 * poll);
            QCOMPARE(batch.readings[i].quality, scaled ? Quality::Good : Quality::Unscaled);
            QCOMPARE(session.scalers()[i].has_value(), scaled);
        }
    }
    QCOMPARE(session.scalerReads(), 5);
    QCOMPARE(tally.total.pollsCompleted, quint64(5));
    QCOMPARE(tally.total.protocolErrors, quint64(4));
}

void tst_MeterSession::demandRegistersAreScaled()
{
    auto simulator = startSimulator(dlms::Transport::Wrapper);
    QVERIFY(simulator);
    DemandRegisterProxy proxy(simulator->port(0));
    QVERIFY(proxy.port() != 0);
    MeterConfig config = configFor(*simulator, AssociationMode::KeepOpen);
    const polling::PollItem voltage {u"voltage"_s, dlms::Obis(1, 0, 32, 7, 0, 255), 3, 2};
    const polling::PollItem energy {u"energy"_s, dlms::Obis(1, 0, 1, 8, 0, 255), 3, 2};
    config.items = {
        {u"current_average"_s, voltage.obis, 5, 2}, {u"last_average"_s, energy.obis, 5, 3},
        {u"demand_scaler_unit"_s, voltage.obis, 5, 4}, // not a value: never scaled
    };
    config.port = proxy.port();
    QVERIFY(config.items[0].isScaled() && config.items[1].isScaled() && !config.items[2].isScaled());
    MeterSession session(config);
    QSignalSpy batches(&session, &MeterSession::readingsReady);
    session.start();
    QTRY_COMPARE_WITH_TIMEOUT(session.state(), MeterState::Associated, kWait);
    // The scaler_unit of a demand register is its attribute 4.
    QCOMPARE(proxy.demandAttributes, QList<qint8>({4, 4}));
    session.poll(polling::steadyNowNs());
    QVERIFY(batches.wait(kWait));
    QCOMPARE(proxy.demandAttributes, QList<qint8>({4, 4, 2, 3, 4}));

    const ReadingsBatch batch = batchAt(batches, 0);
    QCOMPARE(batch.readings.size(), size_t(3));
    const polling::PollItem registers[] = {voltage, energy};
    for (size_t i = 0; i < 2; ++i) {
        const auto scalerUnit = dlms::ScalerUnit::fromValue(modelGet(*simulator, registers[i], 3).value);
        QVERIFY(scalerUnit);
        QCOMPARE(session.scalers()[i], std::optional<dlms::ScalerUnit>(*scalerUnit));
        QCOMPARE(batch.readings[i].quality, Quality::Good);
        QCOMPARE(batch.readings[i].unit, dlms::unitSymbol(scalerUnit->unit));
        QCOMPARE(batch.readings[i].value.toDouble(),
            dlms::scaledValue(modelGet(*simulator, registers[i], 2).value, scalerUnit->scaler).value());
    }
    QVERIFY(!session.scalers()[2]);
    QCOMPARE(batch.readings[2].quality, Quality::Good);
    QVERIFY(batch.readings[2].unit.isEmpty());
}

void tst_MeterSession::abandonedPollWhileAGetIsOut_data()
{
    QTest::addColumn<dlms::Transport>("transport");
    QTest::addColumn<bool>("pause"); // else stop
    QTest::newRow("wrapper-stop") << dlms::Transport::Wrapper << false;
    QTest::newRow("hdlc-stop") << dlms::Transport::Hdlc << false;
    QTest::newRow("wrapper-pause") << dlms::Transport::Wrapper << true;
    QTest::newRow("hdlc-pause") << dlms::Transport::Hdlc << true;
}

void tst_MeterSession::abandonedPollWhileAGetIsOut()
{
    // The poll's GET is on the wire when the session is stopped or paused; its answer still
    // comes (the release waits for it) and must count for nothing.
    QFETCH(dlms::Transport, transport);
    QFETCH(bool, pause);
    auto simulator = startSimulator(transport);
    QVERIFY(simulator);
    QSignalSpy closed(simulator.get(), &sim::Simulator::connectionClosed);
    MeterConfig config = configFor(*simulator, AssociationMode::KeepOpen);
    config.requestTimeoutMs = kWait;
    MeterSession session(config);
    QSignalSpy batches(&session, &MeterSession::readingsReady);
    QSignalSpy stopped(&session, &MeterSession::stopped);
    Tally tally;
    session.start();
    QTRY_COMPARE_WITH_TIMEOUT(session.state(), MeterState::Associated, kWait);
    sim::FaultConfig faults;
    faults.latencyMs = 40; // the answer comes after the session let go of it
    simulator->setFaults(0, faults);

    session.poll(polling::steadyNowNs());
    QCOMPARE(session.state(), MeterState::Polling);
    QCOMPARE(session.connection()->session().pendingRequests(), qsizetype(1));
    if (pause) {
        session.setPaused(true);
        QTRY_COMPARE_WITH_TIMEOUT(session.state(), MeterState::Paused, kWait); // once released
    } else {
        session.stop();
        QVERIFY(stopped.wait(kWait));
    }
    QTRY_COMPARE_WITH_TIMEOUT(session.connection()->state(), DlmsConnection::State::Closed, kWait);
    QTRY_COMPARE_WITH_TIMEOUT(closed.size(), 1, kWait);

    const TrafficCounters &total = tally(session);
    QCOMPARE(batches.size(), 0);
    QCOMPARE(total.pollsAttempted, quint64(1));
    QCOMPARE(total.pollsCompleted + total.pollsFailed + total.pollsSkipped, quint64(0));
    QCOMPARE(total.timeouts + total.protocolErrors, quint64(0));
    QVERIFY(tally.latencyUs.empty());
    // AARQ, scaler read, the abandoned GET and the RLRQ: all answered, and only the scaler
    // read's answer was taken.
    QCOMPARE(total.requestsSent, quint64(4));
    QCOMPARE(total.responsesReceived, quint64(4));
    QCOMPARE(total.rttCount, quint64(1));
    QCOMPARE(session.consecutiveFailures(), 0);

    if (pause) {
        simulator->setFaults(0, sim::FaultConfig {});
        session.setPaused(false);
        QTRY_COMPARE_WITH_TIMEOUT(session.state(), MeterState::Associated, kWait);
        session.poll(polling::steadyNowNs());
        QVERIFY(batches.wait(kWait));
        QCOMPARE(batchAt(batches, 0).readings.front().quality, Quality::Good);
        QCOMPARE(tally(session).pollsCompleted, quint64(1));
    } else {
        QCOMPARE(stopped.size(), 1);
        QCOMPARE(session.stateReason(), u"stopped"_s);
    }
}

void tst_MeterSession::reconfigureWhileAGetIsOut_data()
{
    QTest::addColumn<dlms::Transport>("transport");
    QTest::addColumn<bool>("moveToAnotherPort"); // else change the items on the same association
    QTest::newRow("wrapper-port") << dlms::Transport::Wrapper << true;
    QTest::newRow("hdlc-port") << dlms::Transport::Hdlc << true;
    QTest::newRow("wrapper-items") << dlms::Transport::Wrapper << false;
    QTest::newRow("hdlc-items") << dlms::Transport::Hdlc << false;
}

void tst_MeterSession::reconfigureWhileAGetIsOut()
{
    // The poll on the wire starts over with the new settings and keeps its due time: one
    // completed poll whose latency counts from when it came due, not late, not failed.
    QFETCH(dlms::Transport, transport);
    QFETCH(bool, moveToAnotherPort);
    auto simulator = startSimulator(transport, 2);
    QVERIFY(simulator);
    QSignalSpy opened(simulator.get(), &sim::Simulator::connectionOpened);
    MeterConfig config = configFor(*simulator, AssociationMode::KeepOpen);
    config.pollIntervalMs = 60000; // late only after a minute
    config.requestTimeoutMs = kWait;
    MeterSession session(config);
    QSignalSpy batches(&session, &MeterSession::readingsReady);
    Tally tally;
    session.start();
    QTRY_COMPARE_WITH_TIMEOUT(session.state(), MeterState::Associated, kWait);
    sim::FaultConfig faults;
    faults.latencyMs = 40; // the answer comes after the session let go of it
    simulator->setFaults(0, faults);

    const qint64 due = polling::steadyNowNs();
    session.poll(due);
    QCOMPARE(session.state(), MeterState::Polling);
    QCOMPARE(session.connection()->session().pendingRequests(), qsizetype(1));
    MeterConfig changed = config;
    if (moveToAnotherPort) {
        changed.port = simulator->port(1);
        QVERIFY(changed.needsReconnect(config));
    } else {
        changed.items.resize(4);
        changed.items[3].key = u"renamed"_s;
        QVERIFY(!changed.needsReconnect(config));
    }
    session.reconfigure(changed);
    QVERIFY(batches.wait(kWait));
    const qint64 end = polling::steadyNowNs();

    const ReadingsBatch batch = batchAt(batches, 0);
    QCOMPARE(batch.readings.size(), changed.items.size());
    QCOMPARE(batch.readings.back().key, changed.items.back().key);
    for (const polling::Reading &reading : batch.readings)
        QCOMPARE(reading.quality, Quality::Good);
    const TrafficCounters &total = tally(session);
    QCOMPARE(total.pollsAttempted, quint64(1));
    QCOMPARE(total.pollsCompleted, quint64(1));
    QCOMPARE(total.pollsFailed + total.pollsSkipped + total.pollsLate, quint64(0));
    QCOMPARE(total.timeouts + total.protocolErrors, quint64(0));
    QCOMPARE(tally.latencyUs.size(), size_t(1));
    QVERIFY(qint64(tally.latencyUs.front()) * 1000 <= end - due);
    QCOMPARE(session.scalerReads(), 2);
    if (moveToAnotherPort) {
        QCOMPARE(opened.size(), 2);
        QCOMPARE(opened.at(1).at(0).toInt(), 1);
        QCOMPARE(total.connects, quint64(2));
    } else {
        QCOMPARE(opened.size(), 1);
        QCOMPARE(total.connects, quint64(1));
        // The old GET's answer came back and was dropped; nothing else is left outstanding.
        QTRY_COMPARE_WITH_TIMEOUT(session.connection()->session().pendingRequests(), qsizetype(0), kWait);
    }
    QCOMPARE(batches.size(), 1);
}

void tst_MeterSession::connectionResynchronisesHdlc_data()
{
    QTest::addColumn<dlms::Transport>("transport");
    QTest::addColumn<bool>("resync");
    QTest::addColumn<bool>("discAnswered");
    QTest::newRow("hdlc-resync") << dlms::Transport::Hdlc << true << true;
    QTest::newRow("hdlc-resync-disc-unanswered") << dlms::Transport::Hdlc << true << false;
    QTest::newRow("hdlc-option-off") << dlms::Transport::Hdlc << false << true;
    QTest::newRow("wrapper-option-ignored") << dlms::Transport::Wrapper << true << true;
}

void tst_MeterSession::connectionResynchronisesHdlc()
{
    QFETCH(dlms::Transport, transport);
    QFETCH(bool, resync);
    QFETCH(bool, discAnswered);
    auto simulator = startSimulator(transport);
    QVERIFY(simulator);
    QSignalSpy opened(simulator.get(), &sim::Simulator::connectionOpened);
    QSignalSpy simAssociations(simulator.get(), &sim::Simulator::associationChanged);
    DlmsConnection::Options options;
    options.host = u"127.0.0.1"_s;
    options.port = simulator->port(0);
    options.client.transport = transport;
    options.requestTimeoutMs = 300;
    options.connectTimeoutMs = 2000;
    options.hdlcResyncOnTimeout = resync;
    DlmsConnection connection(options);
    QSignalSpy associated(&connection, &DlmsConnection::associated);
    QSignalSpy resyncs(&connection, &DlmsConnection::resynchronizing);
    QSignalSpy responses(&connection, &DlmsConnection::responseReceived);
    QSignalSpy failed(&connection, &DlmsConnection::failed);
    QList<DlmsConnection::State> statesAtResync;
    connect(&connection, &DlmsConnection::resynchronizing, this, [&] {
        statesAtResync << connection.state();
        // Only the faulty request needs the short timeout; the DISC that goes out after this
        // signal (when it is to be answered) and everything after get a long one.
        if (discAnswered) {
            DlmsConnection::Options longer = connection.options();
            longer.requestTimeoutMs = kWait;
            connection.setOptions(longer);
        }
    });
    connection.open();
    QVERIFY(associated.wait());

    // HDLC: the answer carries a wrong N(S). Wrapper: no answer at all.
    sim::FaultConfig faults;
    if (transport == dlms::Transport::Wrapper || !discAnswered)
        faults.silent = true;
    else
        faults.badSequenceFrames = 1;
    simulator->setFaults(0, faults);
    const dlms::AttributeDescriptor voltage {3, dlms::Obis(1, 0, 32, 7, 0, 255), 2};
    connection.get(voltage);
    QTRY_COMPARE_WITH_TIMEOUT(responses.size(), 1, kWait);
    const auto timedOut = responses.at(0).at(0).value<dlms::ClientSession::Response>();
    QVERIFY(timedOut.error);
    QCOMPARE(timedOut.error->code, dlms::ErrorCode::Timeout);

    if (!resync || transport == dlms::Transport::Wrapper) {
        QTRY_COMPARE_WITH_TIMEOUT(failed.size(), 1, kWait);
        QCOMPARE(resyncs.size(), 0);
        QCOMPARE(connection.state(), DlmsConnection::State::Closed);
        return;
    }
    QCOMPARE(resyncs.size(), 1);
    QCOMPARE(resyncs.at(0).at(0).value<dlms::Error>().message, timedOut.error->message);
    QCOMPARE(statesAtResync, QList<DlmsConnection::State> {DlmsConnection::State::Associating});
    if (!discAnswered) {
        QTRY_COMPARE_WITH_TIMEOUT(failed.size(), 1, kWait);
        const auto error = failed.at(0).at(0).value<dlms::Error>();
        QCOMPARE(error.code, dlms::ErrorCode::Timeout);
        QVERIFY2(error.message.contains(u"no UA or DM to the DISC"_s), qPrintable(error.message));
        QCOMPARE(connection.state(), DlmsConnection::State::Closed);
        return;
    }
    QTRY_COMPARE_WITH_TIMEOUT(associated.size(), 2, kWait);
    QCOMPARE(connection.state(), DlmsConnection::State::Ready);
    // The same TCP connection carried both associations.
    QCOMPARE(opened.size(), 1);
    QCOMPARE(simAssociations.size(), 2);
    QVERIFY(connection.counters().protocolErrors >= 1); // the out-of-sequence I frame
    const auto id = connection.get(voltage);
    QTRY_COMPARE_WITH_TIMEOUT(responses.size(), 2, kWait);
    const auto answer = responses.at(1).at(0).value<dlms::ClientSession::Response>();
    QCOMPARE(answer.id, id);
    QVERIFY(!answer.error);
    QCOMPARE(failed.size(), 0);
}

void tst_MeterSession::sessionRecoversFromSequenceErrors_data()
{
    QTest::addColumn<AssociationMode>("mode");
    QTest::addColumn<bool>("faultFromStart"); // else set once associated: the poll's answer is hit
    QTest::addColumn<int>("retries");
    QTest::newRow("keep-open-scaler-read") << AssociationMode::KeepOpen << true << 1;
    QTest::newRow("keep-open-poll") << AssociationMode::KeepOpen << false << 1;
    QTest::newRow("keep-open-poll-no-retry") << AssociationMode::KeepOpen << false << 0;
    QTest::newRow("per-poll") << AssociationMode::PerPoll << true << 1;
}

void tst_MeterSession::sessionRecoversFromSequenceErrors()
{
    QFETCH(AssociationMode, mode);
    QFETCH(bool, faultFromStart);
    QFETCH(int, retries);
    auto simulator = startSimulator(dlms::Transport::Hdlc);
    QVERIFY(simulator);
    sim::FaultConfig faults;
    faults.badSequenceFrames = 1;
    if (faultFromStart)
        simulator->setFaults(0, faults);
    QSignalSpy opened(simulator.get(), &sim::Simulator::connectionOpened);
    QSignalSpy simAssociations(simulator.get(), &sim::Simulator::associationChanged);
    // The request whose answer is out of sequence times out after 300 ms; every other exchange
    // has kWait, so a stalled test process adds no timeout of its own.
    constexpr int kShort = 300;
    MeterConfig config = configFor(*simulator, mode);
    config.requestTimeoutMs = faultFromStart ? kShort : kWait;
    config.retries = retries;
    MeterSession session(config);
    QSignalSpy batches(&session, &MeterSession::readingsReady);
    QSignalSpy states(&session, &MeterSession::stateChanged);
    Tally tally;
    auto setRequestTimeout = [&](int ms) {
        MeterConfig c = session.config();
        c.requestTimeoutMs = ms;
        session.reconfigure(c);
    };
    // Set before the DISC of the resynchronisation goes out: it waits the long timeout.
    connect(&session, &MeterSession::stateChanged, this, [&](MeterState state, const QString &reason) {
        if (state == MeterState::Associating && reason.startsWith(u"resynchronising"_s))
            setRequestTimeout(kWait);
    });
    session.start();

    if (mode == AssociationMode::KeepOpen) {
        QTRY_COMPARE_WITH_TIMEOUT(session.state(), MeterState::Associated, kWait);
        if (!faultFromStart) {
            setRequestTimeout(kShort);
            simulator->setFaults(0, faults);
        }
    }
    session.poll(polling::steadyNowNs());
    if (retries == 0) {
        QTRY_COMPARE_WITH_TIMEOUT(tally(session).pollsFailed, quint64(1), kWait);
        QTRY_COMPARE_WITH_TIMEOUT(session.state(), MeterState::Associated, kWait);
        session.poll(polling::steadyNowNs());
    }
    QVERIFY(batches.wait(kWait));
    QCOMPARE(batchAt(batches, 0).readings.front().quality, Quality::Good);

    const TrafficCounters &total = tally(session);
    QCOMPARE(total.timeouts, quint64(1));
    QCOMPARE(total.connects, quint64(1));
    QCOMPARE(total.associations, quint64(2));
    QCOMPARE(total.pollsCompleted, quint64(1));
    QCOMPARE(total.pollsFailed, quint64(retries == 0 ? 1 : 0));
    QCOMPARE(opened.size(), 1);
    QCOMPARE(simAssociations.size(), 2);
    for (const QList<QVariant> &args : std::as_const(simAssociations))
        QVERIFY(args.at(1).toBool());
    QVERIFY(hasReason(states, MeterState::Associating, u"resynchronising the HDLC link: request to"_s));
    QCOMPARE(session.scalerReads(), faultFromStart ? 1 : 2);
    QCOMPARE(session.consecutiveFailures(), 0);

    if (mode == AssociationMode::PerPoll) {
        // Every connection spends its own bad frame: the next poll resynchronises again.
        QTRY_COMPARE_WITH_TIMEOUT(session.connection()->state(), DlmsConnection::State::Closed, kWait);
        setRequestTimeout(kShort);
        session.poll(polling::steadyNowNs());
        QVERIFY(batches.wait(kWait));
        QCOMPARE(tally(session).timeouts, quint64(2));
        QCOMPARE(tally.total.connects, quint64(2));
        QCOMPARE(tally.total.associations, quint64(4));
    } else {
        // The meter has spent its bad frame on this connection: no more trouble.
        session.poll(polling::steadyNowNs());
        QVERIFY(batches.wait(kWait));
        QCOMPARE(tally(session).timeouts, quint64(1));
        QCOMPARE(tally.total.associations, quint64(2));
    }
}

void tst_MeterSession::rateCapSpacesRequests()
{
    QFETCH(dlms::Transport, transport);
    auto simulator = startSimulator(transport);
    QVERIFY(simulator);
    MeterConfig config = configFor(*simulator, AssociationMode::KeepOpen);
    config.maxItemsPerRequest = 4; // 15 items: 4 requests
    config.maxRequestsPerSecond = 10;
    MeterSession session(config);
    QSignalSpy batches(&session, &MeterSession::readingsReady);
    QElapsedTimer clock;
    clock.start();
    QList<qint64> sentNs;
    connect(&session, &MeterSession::frame, this, [&](const dlms::FrameEvent &event) {
        if (event.direction == dlms::Direction::Sent && event.completesApdu
            && event.kind == dlms::FrameKind::GetRequest)
            sentNs << clock.nsecsElapsed();
    });
    session.start();
    QTRY_COMPARE_WITH_TIMEOUT(session.state(), MeterState::Associated, kWait);
    QCOMPARE(sentNs.size(), 4); // the scaler read, also capped
    sentNs.clear();
    session.poll(polling::steadyNowNs());
    QVERIFY(batches.wait(kWait));
    QCOMPARE(sentNs.size(), 4);
    for (int i = 1; i < sentNs.size(); ++i)
        QVERIFY2(sentNs.at(i) - sentNs.at(i - 1) >= 100000000,
            qPrintable(QString::number(sentNs.at(i) - sentNs.at(i - 1))));
    QCOMPARE(batchAt(batches, 0).readings.size(), size_t(15));
}

void tst_MeterSession::reconfigure()
{
    QFETCH(dlms::Transport, transport);
    auto simulator = startSimulator(transport, 2);
    QVERIFY(simulator);
    QSignalSpy opened(simulator.get(), &sim::Simulator::connectionOpened);
    QSignalSpy closed(simulator.get(), &sim::Simulator::connectionClosed);
    MeterConfig config = configFor(*simulator, AssociationMode::KeepOpen);
    MeterSession session(config);
    QSignalSpy batches(&session, &MeterSession::readingsReady);
    Tally tally;
    session.start();
    QTRY_COMPARE_WITH_TIMEOUT(session.state(), MeterState::Associated, kWait);

    // Items, interval, timeouts, rate: the association stays; the new items' scalers are read.
    MeterConfig smaller = config;
    smaller.items.resize(3);
    smaller.items[2].key = u"renamed"_s;
    smaller.pollIntervalMs = 2000;
    smaller.requestTimeoutMs = 1500;
    smaller.connectTimeoutMs = 3000; // used at the next connection
    smaller.maxRequestsPerSecond = 1000;
    QVERIFY(!smaller.needsReconnect(config));
    session.reconfigure(smaller);
    QCOMPARE(session.config().pollIntervalMs, 2000);
    QCOMPARE(session.scalers().size(), size_t(3));
    QTRY_COMPARE_WITH_TIMEOUT(session.scalerReads(), 2, kWait);
    QTRY_COMPARE_WITH_TIMEOUT(session.state(), MeterState::Associated, kWait);
    QCOMPARE(session.connection()->options().requestTimeoutMs, 1500);
    QCOMPARE(session.connection()->options().connectTimeoutMs, 3000);
    session.poll(polling::steadyNowNs());
    QVERIFY(batches.wait(kWait));
    QCOMPARE(batchAt(batches, 0).readings.size(), size_t(3));
    QCOMPARE(batchAt(batches, 0).readings[2].key, u"renamed"_s);
    QCOMPARE(tally(session).connects, quint64(1));
    QCOMPARE(opened.size(), 1);

    // Another port: released, reconnected, scalers read again.
    MeterConfig moved = smaller;
    moved.port = simulator->port(1);
    moved.id = u"another-id"_s; // ignored: the id never changes
    session.reconfigure(moved);
    QTRY_COMPARE_WITH_TIMEOUT(opened.size(), 2, kWait);
    QCOMPARE(opened.at(1).at(0).toInt(), 1);
    QTRY_COMPARE_WITH_TIMEOUT(session.state(), MeterState::Associated, kWait);
    QTRY_COMPARE_WITH_TIMEOUT(closed.size(), 1, kWait);
    QCOMPARE(closed.at(0).at(0).toInt(), 0);
    QCOMPARE(session.scalerReads(), 3);
    QCOMPARE(session.config().id, config.id);
    QCOMPARE(session.connection()->options().port, simulator->port(1));
    session.poll(polling::steadyNowNs());
    QVERIFY(batches.wait(kWait));
    QCOMPARE(batchAt(batches, 1).meterId, config.id);
    QCOMPARE(tally(session).connects, quint64(2));
    QCOMPARE(tally.total.pollsCompleted, quint64(2));
    QCOMPARE(tally.total.pollsFailed, quint64(0));
}

void tst_MeterSession::stopReleasesAndEmitsStopped()
{
    QFETCH(dlms::Transport, transport);
    QFETCH(AssociationMode, mode);
    auto simulator = startSimulator(transport);
    QVERIFY(simulator);
    QSignalSpy closed(simulator.get(), &sim::Simulator::connectionClosed);
    MeterSession session(configFor(*simulator, mode));
    QSignalSpy stopped(&session, &MeterSession::stopped);
    QSignalSpy batches(&session, &MeterSession::readingsReady);
    Tally tally;
    session.start();
    TrafficCounters before;
    if (mode == AssociationMode::PerPoll) {
        // Nothing open: stopped at once.
        session.stop();
        QCOMPARE(stopped.size(), 1);
        QCOMPARE(session.state(), MeterState::Disconnected);
        QCOMPARE(session.stateReason(), u"stopped"_s);
        // Stopped while its poll is on the wire: the poll ends without a batch.
        connect(&session, &MeterSession::stateChanged, this, [&](MeterState state) {
            if (state == MeterState::Polling)
                session.stop();
        });
        session.poll(polling::steadyNowNs());
    } else {
        QTRY_COMPARE_WITH_TIMEOUT(session.state(), MeterState::Associated, kWait);
        before = tally(session);
        session.stop();
    }
    const int expected = mode == AssociationMode::PerPoll ? 2 : 1;
    QTRY_COMPARE_WITH_TIMEOUT(stopped.size(), expected, kWait);
    QCOMPARE(session.state(), MeterState::Disconnected);
    QCOMPARE(session.stateReason(), u"stopped"_s);
    QCOMPARE(session.connection()->state(), DlmsConnection::State::Closed);
    QTRY_COMPARE_WITH_TIMEOUT(closed.size(), 1, kWait);
    QTRY_COMPARE_WITH_TIMEOUT(simulator->connectionCount(), 0, kWait);
    const TrafficCounters &after = tally(session);
    if (mode == AssociationMode::KeepOpen) {
        // RLRQ out, RLRE back.
        QCOMPARE(after.requestsSent - before.requestsSent, quint64(1));
        QCOMPARE(after.responsesReceived - before.responsesReceived, quint64(1));
    } else {
        QCOMPARE(after.pollsAttempted, quint64(1));
    }
    QCOMPARE(batches.size(), 0);
    QCOMPARE(after.pollsCompleted + after.pollsFailed, quint64(0));
    // Stopping again: nothing open, stopped() at once.
    session.stop();
    QCOMPARE(stopped.size(), expected + 1);
}

void tst_MeterSession::pauseAndResume()
{
    auto simulator = startSimulator(dlms::Transport::Hdlc);
    QVERIFY(simulator);
    QSignalSpy closed(simulator.get(), &sim::Simulator::connectionClosed);
    MeterSession session(configFor(*simulator, AssociationMode::KeepOpen));
    QSignalSpy batches(&session, &MeterSession::readingsReady);
    Tally tally;
    session.start();
    QTRY_COMPARE_WITH_TIMEOUT(session.state(), MeterState::Associated, kWait);
    session.setPaused(true);
    QTRY_COMPARE_WITH_TIMEOUT(session.state(), MeterState::Paused, kWait); // once released
    QCOMPARE(session.stateReason(), u"paused"_s);
    session.poll(polling::steadyNowNs());
    QCOMPARE(tally(session).pollsAttempted, quint64(0));
    QTRY_COMPARE_WITH_TIMEOUT(closed.size(), 1, kWait);
    session.start(); // stays paused
    QCOMPARE(session.state(), MeterState::Paused);

    session.setPaused(false);
    QTRY_COMPARE_WITH_TIMEOUT(session.state(), MeterState::Associated, kWait);
    session.poll(polling::steadyNowNs());
    QVERIFY(batches.wait(kWait));
    QCOMPARE(tally(session).connects, quint64(2));
    QCOMPARE(tally.total.pollsAttempted, quint64(1));
    QCOMPARE(tally.total.pollsCompleted, quint64(1));
    QCOMPARE(session.scalerReads(), 2);
}

void tst_MeterSession::framesAndTrace()
{
    QFETCH(dlms::Transport, transport);
    auto simulator = startSimulator(transport);
    QVERIFY(simulator);
    MeterSession session(configFor(*simulator, AssociationMode::KeepOpen));
    QSignalSpy batches(&session, &MeterSession::readingsReady);
    QSignalSpy frames(&session, &MeterSession::frame);
    QSignalSpy trace(&session, &MeterSession::traceBytes);
    const qint64 startMs = QDateTime::currentMSecsSinceEpoch();
    session.setTracing(true);
    session.start();
    session.poll(polling::steadyNowNs());
    QVERIFY(batches.wait(kWait));
    const qint64 endMs = QDateTime::currentMSecsSinceEpoch();

    quint64 framedSent = 0;
    quint64 framedReceived = 0;
    int getResponses = 0;
    for (const QList<QVariant> &args : std::as_const(frames)) {
        const auto event = args.at(0).value<dlms::FrameEvent>();
        (event.direction == dlms::Direction::Sent ? framedSent : framedReceived) += event.size;
        if (event.direction == dlms::Direction::Received && event.kind == dlms::FrameKind::GetResponse
            && event.completesApdu)
            ++getResponses;
    }
    QCOMPARE(getResponses, 2); // scaler read and poll
    QCOMPARE(framedSent, session.connection()->counters().bytesSent);
    QCOMPARE(framedReceived, session.connection()->counters().bytesReceived);

    quint64 tracedSent = 0;
    quint64 tracedReceived = 0;
    for (const QList<QVariant> &args : std::as_const(trace)) {
        const auto bytes = args.at(1).toByteArray();
        (args.at(0).value<dlms::Direction>() == dlms::Direction::Sent ? tracedSent : tracedReceived)
            += quint64(bytes.size());
        const qint64 at = args.at(2).toLongLong();
        QVERIFY(at >= startMs && at <= endMs);
    }
    QCOMPARE(tracedSent, session.connection()->counters().bytesSent);
    QCOMPARE(tracedReceived, session.connection()->counters().bytesReceived);

    // Tracing off, frame spy gone: nothing more comes out.
    session.setTracing(false);
    const qsizetype traced = trace.size();
    QObject::disconnect(&session, nullptr, &frames, nullptr);
    session.poll(polling::steadyNowNs());
    QVERIFY(batches.wait(kWait));
    QCOMPARE(trace.size(), traced);
}

void tst_MeterSession::deleteFromItsOwnSignals_data()
{
    QTest::addColumn<QString>("signal");
    QTest::newRow("readings-ready") << u"readingsReady"_s;
    QTest::newRow("state-polling") << u"polling"_s;
    QTest::newRow("state-backing-off") << u"backingOff"_s;
    QTest::newRow("stopped") << u"stopped"_s;
}

void tst_MeterSession::deleteFromItsOwnSignals()
{
    QFETCH(QString, signal);
    auto simulator = startSimulator(dlms::Transport::Hdlc);
    QVERIFY(simulator);
    QSignalSpy closed(simulator.get(), &sim::Simulator::connectionClosed);
    MeterConfig config = configFor(*simulator, AssociationMode::KeepOpen);
    config.requestTimeoutMs = 300;
    QPointer<MeterSession> session = new MeterSession(config);
    auto kill = [&] { delete session.data(); };
    if (signal == u"readingsReady")
        connect(session, &MeterSession::readingsReady, this, kill);
    else if (signal == u"stopped")
        connect(session, &MeterSession::stopped, this, kill);
    connect(session, &MeterSession::stateChanged, this, [&](MeterState state) {
        if ((signal == u"polling" && state == MeterState::Polling)
            || (signal == u"backingOff" && state == MeterState::BackingOff))
            kill();
    });
    session->start();
    QTRY_COMPARE_WITH_TIMEOUT(session->state(), MeterState::Associated, kWait);
    if (signal == u"backingOff")
        simulator->stop(); // the connection is lost, the session backs off
    if (signal == u"stopped")
        session->stop();
    else
        session->poll(polling::steadyNowNs());
    QTRY_VERIFY_WITH_TIMEOUT(session.isNull(), kWait);
    // The meter sees the connection go, and nothing is left behind to fire later.
    QTRY_COMPARE_WITH_TIMEOUT(simulator->connectionCount(), 0, kWait);
    QVERIFY(closed.size() >= 1);
}

QTEST_GUILESS_MAIN(tst_MeterSession)
#include "tst_metersession.moc"
