#include "metersession.h"
#include "pollscheduler.h"
#include "pollworker.h"
#include "simconnection.h"
#include "simulator.h"

#include <QtCore/QDateTime>
#include <QtCore/QDeadlineTimer>
#include <QtCore/QElapsedTimer>
#include <QtCore/QEventLoop>
#include <QtCore/QHash>
#include <QtCore/QSemaphore>
#include <QtCore/QSet>
#include <QtCore/QThread>
#include <QtCore/QTimer>
#include <QtTest/QSignalSpy>
#include <QtTest/QTest>

#include <algorithm>
#include <array>
#include <limits>
#include <map>
#include <memory>

using namespace Qt::StringLiterals;
using polling::MeterConfig;
using polling::MeterState;
using polling::PollScheduler;
using polling::ReadingsBatch;
using polling::TrafficCounters;
using polling::TrafficDelta;

Q_DECLARE_METATYPE(sim::FaultConfig)
Q_DECLARE_METATYPE(dlms::Transport)
Q_DECLARE_METATYPE(polling::AssociationMode)
Q_DECLARE_METATYPE(polling::MeterConfig)

namespace {

// Generous bounds for things that normally take milliseconds: only a hang reaches them.
constexpr int kWaitMs = 15000;

polling::PollItem item(const QString &key, const dlms::Obis &obis, quint16 classId = 3)
{
    polling::PollItem i;
    i.key = key;
    i.obis = obis;
    i.classId = classId;
    return i;
}

std::vector<polling::PollItem> standardItems()
{
    return {item(u"voltage_l1"_s, dlms::Obis(1, 0, 32, 7, 0, 255)),
        item(u"energy_import"_s, dlms::Obis(1, 0, 1, 8, 0, 255)),
        item(u"frequency"_s, dlms::Obis(1, 0, 14, 7, 0, 255))};
}

QStringList keysOf(const std::vector<polling::PollItem> &items)
{
    QStringList keys;
    for (const polling::PollItem &i : items)
        keys.append(i.key);
    return keys;
}

QStringList keysOf(const ReadingsBatch &batch)
{
    QStringList keys;
    for (const polling::Reading &r : batch.readings)
        keys.append(r.key);
    return keys;
}

// A healthy meter: timeouts of seconds, so a stall of the test process (a loaded CI machine,
// ASan) never looks like a meter failure. Short backoff and breaker so faults heal quickly.
MeterConfig meterConfig(const QString &id, quint16 port, int intervalMs = 100)
{
    MeterConfig c;
    c.id = id;
    c.name = id;
    c.host = u"127.0.0.1"_s;
    c.port = port;
    c.pollIntervalMs = intervalMs;
    c.items = standardItems();
    c.connectTimeoutMs = 5000;
    c.requestTimeoutMs = 5000;
    c.retries = 0;
    c.backoff = {100, 250, 2.0, 0.1};
    c.breaker = {2, 1000};
    return c;
}

// A meter whose faults must show as timeouts quickly.
MeterConfig shortTimeouts(MeterConfig c)
{
    c.connectTimeoutMs = 400;
    c.requestTimeoutMs = 250;
    return c;
}

QString meterId(int i)
{
    return u"m%1"_s.arg(i);
}

PollScheduler::Options engineOptions()
{
    PollScheduler::Options options;
    options.workers = 2;
    options.trafficIntervalMs = 100;
    options.seed = 7;
    options.stopTimeoutMs = 1000;
    return options;
}

std::unique_ptr<sim::Simulator> startSimulator(
    int meters, dlms::Transport transport = dlms::Transport::Wrapper, bool multipleReferences = true)
{
    sim::SimulatorConfig config;
    config.basePort = 0;
    config.meters = meters;
    config.transport = transport;
    config.meter.profileRows = 10;
    config.meter.multipleReferences = multipleReferences;
    auto simulator = std::make_unique<sim::Simulator>(config);
    const auto started = simulator->start();
    if (!started)
        qWarning("simulator: %s", qPrintable(started.error().message));
    return started ? std::move(simulator) : nullptr;
}

// Everything the engine reports, kept per meter.
class Recorder : public QObject {
public:
    explicit Recorder(PollScheduler &scheduler)
    {
        connect(&scheduler, &PollScheduler::readingsReady, this,
            [this](const ReadingsBatch &batch) { batches[batch.meterId].push_back(batch); });
        connect(&scheduler, &PollScheduler::meterStateChanged, this,
            [this](const QString &id, MeterState state, const QString &reason) {
                states[id].insert(state);
                reasons[id][state] = reason;
            });
        connect(&scheduler, &PollScheduler::trafficReady, this,
            [this](const TrafficDelta &delta) { add(delta); });
        connect(&scheduler, &PollScheduler::traceBytes, this,
            [this](const QString &id, dlms::Direction direction, const QByteArray &bytes, qint64) {
                traced[id][direction == dlms::Direction::Sent ? 0 : 1] += bytes.size();
            });
    }

    int batchCount(const QString &id) const
    {
        const auto it = batches.find(id);
        return it == batches.end() ? 0 : int(it->second.size());
    }
    bool sawState(const QString &id, MeterState state) const
    {
        const auto it = states.find(id);
        return it != states.end() && it->second.contains(state);
    }
    TrafficCounters trafficOf(const QString &id) const
    {
        const auto it = traffic.find(id);
        return it == traffic.end() ? TrafficCounters {} : it->second;
    }

    std::map<QString, std::vector<ReadingsBatch>> batches;
    std::map<QString, QSet<MeterState>> states;
    std::map<QString, std::map<MeterState, QString>> reasons; // the last reason given with each state
    std::map<QString, TrafficCounters> traffic;
    std::map<QString, std::vector<quint32>> latencyUs;
    std::map<QString, quint64> rttSamples;
    std::map<QString, std::array<qint64, 2>> traced; // bytes sent, received
    std::map<int, int> deltasPerWorker;
    int badRanges = 0; // MeterTraffic ranges outside their delta's sample vectors
    int badPeriods = 0;

private:
    void add(const TrafficDelta &delta)
    {
        ++deltasPerWorker[delta.worker];
        if (delta.periodEndMs < delta.periodStartMs)
            ++badPeriods;
        for (const polling::MeterTraffic &m : delta.meters) {
            traffic[m.meterId] += m.counters;
            if (quint64(m.rttBegin) + m.rttCount > delta.rttUs.size()
                || quint64(m.latencyBegin) + m.latencyCount > delta.pollLatencyUs.size()) {
                ++badRanges;
                continue;
            }
            rttSamples[m.meterId] += m.rttCount;
            std::vector<quint32> &latency = latencyUs[m.meterId];
            latency.insert(latency.end(), delta.pollLatencyUs.begin() + m.latencyBegin,
                delta.pollLatencyUs.begin() + m.latencyBegin + m.latencyCount);
        }
    }
};

// What the simulator wrote on every connection of each meter, summed when the connection closes
// (SimConnection::Stats, found among the simulator's children).
class SimBytes : public QObject {
public:
    explicit SimBytes(sim::Simulator &simulator) : m_simulator(simulator)
    {
        connect(&simulator, &sim::Simulator::connectionOpened, this, [this](int meter) {
            ++opened[meter];
            track();
        });
    }
    std::map<int, quint64> written; // closed connections only
    std::map<int, int> opened;
    std::map<int, int> closed;

private:
    void track()
    {
        for (sim::SimConnection *connection : m_simulator.findChildren<sim::SimConnection *>()) {
            if (connection->property("tracked").toBool())
                continue;
            connection->setProperty("tracked", true);
            // Connected after the simulator's own slot, which deletes the connection only later.
            connect(connection, &sim::SimConnection::closed, this, [this, connection] {
                written[connection->meter()] += connection->stats().bytesWritten;
                ++closed[connection->meter()];
            });
        }
    }

    sim::Simulator &m_simulator;
};

// Runs a real event loop (the simulator lives in this thread) until `done` holds. QTRY_* would
// sleep 10 ms between event batches, slowing the simulator's answers and drip timers tenfold.
template<typename Predicate> bool waitUntil(Predicate done, int timeoutMs = kWaitMs)
{
    if (done())
        return true;
    QEventLoop loop;
    QTimer check;
    QElapsedTimer clock;
    clock.start();
    QObject::connect(&check, &QTimer::timeout, &loop, [&] {
        if (done() || clock.hasExpired(timeoutMs))
            loop.quit();
    });
    check.start(5);
    loop.exec();
    return done();
}

// When each delivered poll of `id` came due, in wall-clock ms: its batch's timestamp less its
// latency (both taken when the batch was made). Empty unless every batch has its latency sample.
std::vector<double> dueTimesMs(const Recorder &recorder, const QString &id)
{
    const auto batches = recorder.batches.find(id);
    const auto latency = recorder.latencyUs.find(id);
    if (batches == recorder.batches.end() || latency == recorder.latencyUs.end()
        || batches->second.size() != latency->second.size())
        return {};
    std::vector<double> due;
    for (size_t i = 0; i < batches->second.size(); ++i)
        due.push_back(double(batches->second[i].timestampMs) - latency->second[i] / 1000.0);
    return due;
}

// Runs a Simulator in a thread of its own, so the test's thread can block while meters answer.
class ThreadedSimulator {
public:
    explicit ThreadedSimulator(int meters)
    {
        sim::SimulatorConfig config;
        config.basePort = 0;
        config.meters = meters;
        m_thread.setObjectName(u"simulator"_s);
        m_thread.start();
        m_simulator = new sim::Simulator(config);
        m_simulator->moveToThread(&m_thread);
        QMetaObject::invokeMethod(
            m_simulator, [this] { m_started = bool(m_simulator->start()); }, Qt::BlockingQueuedConnection);
    }
    ~ThreadedSimulator()
    {
        QMetaObject::invokeMethod(
            m_simulator, [this] { delete m_simulator; }, Qt::BlockingQueuedConnection);
        m_thread.quit();
        m_thread.wait();
    }
    bool started() const { return m_started; }
    sim::Simulator &operator*() { return *m_simulator; }
    sim::Simulator *operator->() { return m_simulator; }

private:
    QThread m_thread;
    sim::Simulator *m_simulator = nullptr;
    bool m_started = false;
};

qint64 largestCircularGap(std::vector<qint64> phases, qint64 period)
{
    std::sort(phases.begin(), phases.end());
    qint64 gap = phases.front() + period - phases.back();
    for (size_t i = 1; i < phases.size(); ++i)
        gap = std::max(gap, phases[i] - phases[i - 1]);
    return gap;
}

} // namespace

class tst_PollScheduler : public QObject {
    Q_OBJECT

private slots:
    void slotGrid_data();
    void slotGrid();
    void tickGrid_data();
    void tickGrid();
    void catchUp_data();
    void catchUp();
    void staggeredPolls();
    void stalledWorkerJumpsAhead();
    void faultyMeterIsolated_data();
    void faultyMeterIsolated();
    void addWhileRunning();
    void removeWhileRunning();
    void removeThenAddSameId();
    void stateChangesForwarded_data();
    void stateChangesForwarded();
    void pauseResume();
    void reconfigureItems();
    void reconfigureInterval();
    void reconfigurePort();
    void tracing();
    void unknownIds();
    void trafficMatchesSimulator_data();
    void trafficMatchesSimulator();
    void stopAndRestart();
    void stopBoundedBySilentMeter();
    void destructorWithoutStop();
    void validate_data();
    void validate();
};

void tst_PollScheduler::slotGrid_data()
{
    QTest::addColumn<qint64>("now");
    QTest::addColumn<qint64>("epoch");
    QTest::addColumn<qint64>("interval");
    QTest::addColumn<double>("phase");
    QTest::addColumn<qint64>("expected");
    QTest::newRow("grid-origin-in-future")
        << qint64(1000) << qint64(1000) << qint64(100) << 0.5 << qint64(1050);
    QTest::newRow("exactly-on-a-point") << qint64(1250) << qint64(1000) << qint64(100) << 0.5 << qint64(1250);
    QTest::newRow("just-after-a-point") << qint64(1251) << qint64(1000) << qint64(100) << 0.5 << qint64(1350);
    QTest::newRow("phase-zero") << qint64(1999) << qint64(1000) << qint64(100) << 0.0 << qint64(2000);
    QTest::newRow("phase-near-one") << qint64(1000) << qint64(1000) << qint64(100) << 0.999 << qint64(1099);
    QTest::newRow("origin-far-in-future") << qint64(0) << qint64(1000) << qint64(300) << 0.0 << qint64(100);
    QTest::newRow("long-run") << qint64(86400000000000) << qint64(5) << qint64(1000000000) << 0.25
                              << qint64(86400250000005);
}

void tst_PollScheduler::slotGrid()
{
    QFETCH(qint64, now);
    QFETCH(qint64, epoch);
    QFETCH(qint64, interval);
    QFETCH(double, phase);
    QFETCH(qint64, expected);
    const qint64 due = polling::PollWorker::nextSlotNs(now, epoch, interval, phase);
    QCOMPARE(due, expected);
    QVERIFY(due >= now);
    QVERIFY(due < now + interval);
}

void tst_PollScheduler::tickGrid_data()
{
    QTest::addColumn<qint64>("due");
    QTest::addColumn<qint64>("epoch");
    QTest::addColumn<qint64>("tick");
    QTest::addColumn<qint64>("expected");
    QTest::newRow("on-a-tick") << qint64(1500) << qint64(1000) << qint64(100) << qint64(1500);
    QTest::newRow("just-after-a-tick") << qint64(1501) << qint64(1000) << qint64(100) << qint64(1600);
    QTest::newRow("just-before-a-tick") << qint64(1599) << qint64(1000) << qint64(100) << qint64(1600);
    QTest::newRow("before-the-epoch") << qint64(950) << qint64(1000) << qint64(100) << qint64(1000);
    QTest::newRow("a-tick-before-the-epoch") << qint64(900) << qint64(1000) << qint64(100) << qint64(900);
    QTest::newRow("no-tick") << qint64(1234) << qint64(1000) << qint64(0) << qint64(1234);
    QTest::newRow("5ms-long-run") << qint64(86400000000001) << qint64(7) << qint64(5000000)
                                  << qint64(86400000000007);
}

void tst_PollScheduler::tickGrid()
{
    // Never early, at most one tick late, on the grid.
    QFETCH(qint64, due);
    QFETCH(qint64, epoch);
    QFETCH(qint64, tick);
    QFETCH(qint64, expected);
    const qint64 fires = polling::PollWorker::tickAlignedNs(due, epoch, tick);
    QCOMPARE(fires, expected);
    QVERIFY(fires >= due);
    if (tick > 0) {
        QVERIFY(fires < due + tick);
        QCOMPARE((fires - epoch) % tick, qint64(0));
    }
}

void tst_PollScheduler::catchUp_data()
{
    QTest::addColumn<qint64>("now");
    QTest::addColumn<qint64>("due");
    QTest::addColumn<qint64>("interval");
    QTest::addColumn<qint64>("expectedDue");
    QTest::addColumn<qint64>("missed");
    QTest::newRow("on-time") << qint64(1000) << qint64(1000) << qint64(100) << qint64(1000) << qint64(0);
    QTest::newRow("late-within-interval")
        << qint64(1099) << qint64(1000) << qint64(100) << qint64(1000) << qint64(0);
    QTest::newRow("exactly-one-interval")
        << qint64(1100) << qint64(1000) << qint64(100) << qint64(1100) << qint64(1);
    QTest::newRow("three-and-a-half")
        << qint64(1350) << qint64(1000) << qint64(100) << qint64(1300) << qint64(3);
    QTest::newRow("an-hour-behind") << qint64(3600000000000) << qint64(0) << qint64(1000000000)
                                    << qint64(3600000000000) << qint64(3600);
}

void tst_PollScheduler::catchUp()
{
    QFETCH(qint64, now);
    QFETCH(qint64, due);
    QFETCH(qint64, interval);
    QFETCH(qint64, expectedDue);
    QFETCH(qint64, missed);
    const auto slot = polling::PollWorker::catchUp(now, due, interval);
    QCOMPARE(slot.dueNs, expectedDue);
    QCOMPARE(slot.missed, missed);
    QVERIFY(now - slot.dueNs < interval); // never more than an interval late
}

void tst_PollScheduler::staggeredPolls()
{
    constexpr int kMeters = 21;
    constexpr int kIntervalMs = 200;
    auto simulator = startSimulator(kMeters);
    QVERIFY(simulator);
    PollScheduler engine(engineOptions());
    Recorder recorder(engine);
    QCOMPARE(engine.workerCount(), 2);
    QStringList ids;
    for (int i = 0; i < kMeters; ++i) {
        QVERIFY(engine.addMeter(meterConfig(meterId(i), simulator->port(i), kIntervalMs)));
        ids.append(meterId(i));
    }
    QCOMPARE(engine.meterIds(), ids);
    int onFirst = 0;
    for (const QString &id : ids)
        onFirst += engine.workerOf(id) == 0 ? 1 : 0;
    QCOMPARE(onFirst, 11); // fewest meters first: 11 and 10

    engine.start();
    QVERIFY(engine.isRunning());
    QVERIFY(waitUntil([&] {
        return std::all_of(
            ids.cbegin(), ids.cend(), [&](const QString &id) { return recorder.batchCount(id) >= 3; });
    }));

    QSignalSpy stopped(&engine, &PollScheduler::stopped);
    engine.stop();
    QVERIFY(stopped.wait(kWaitMs)); // every latency sample is in

    const QStringList expectedKeys = keysOf(standardItems());
    std::vector<qint64> phases;
    for (const QString &id : ids) {
        for (const ReadingsBatch &batch : recorder.batches[id]) {
            QCOMPARE(batch.meterId, id);
            QCOMPARE(keysOf(batch), expectedKeys);
            for (const polling::Reading &r : batch.readings)
                QCOMPARE(r.quality, polling::Quality::Good);
        }
        // Where in the interval this meter's polls come due (from the due times, which a slow
        // answer or a stall of this process does not move).
        const std::vector<double> due = dueTimesMs(recorder, id);
        QVERIFY(due.size() >= 3);
        phases.push_back(qint64(std::llround(due[2])) % kIntervalMs);
    }
    // Evenly spread by the golden-ratio sequence, the largest gap between neighbours is under
    // 3 × interval/21; all at once, ~interval.
    QVERIFY2(largestCircularGap(phases, kIntervalMs) <= kIntervalMs / 4,
        qPrintable(u"largest gap %1 ms"_s.arg(largestCircularGap(phases, kIntervalMs))));
}

void tst_PollScheduler::stalledWorkerJumpsAhead()
{
    constexpr int kIntervalMs = 50;
    constexpr int kStallMs = 400;
    auto simulator = startSimulator(1);
    QVERIFY(simulator);
    PollScheduler engine(engineOptions());
    Recorder recorder(engine);
    MeterConfig config = meterConfig(u"m0"_s, simulator->port(0), kIntervalMs);
    config.connectTimeoutMs = 10000; // the stall must not look like a meter failure
    config.requestTimeoutMs = 10000;
    QVERIFY(engine.addMeter(config));
    QCOMPARE(engine.workerOf(u"m0"_s), 0);
    engine.start();
    QVERIFY(waitUntil([&] { return recorder.batchCount(u"m0"_s) >= 2; }));

    // Block worker 0's thread, as a long stall of its event loop would. It starts right after a
    // batch, so no poll is on the wire (its answer would come late whatever the engine does).
    QThread *thread = nullptr;
    for (QThread *t : engine.findChildren<QThread *>()) {
        if (t->objectName() == u"poll-0"_s)
            thread = t;
    }
    QVERIFY(thread);
    QSemaphore stalled;
    QSemaphore release;
    bool posted = false;
    qint64 blockedMs = 0; // written by the worker's thread before `stalled` is released
    QObject::connect(&engine, &PollScheduler::readingsReady, &recorder, [&](const ReadingsBatch &) {
        if (std::exchange(posted, true))
            return;
        auto *blocker = new QObject;
        blocker->moveToThread(thread);
        QMetaObject::invokeMethod(
            blocker,
            [&stalled, &release, &blockedMs, blocker] {
                blockedMs = QDateTime::currentMSecsSinceEpoch();
                stalled.release();
                release.tryAcquire(1, kWaitMs);
                blocker->deleteLater();
            },
            Qt::QueuedConnection);
    });
    QVERIFY(waitUntil([&] { return posted; }));
    QVERIFY(stalled.tryAcquire(1, kWaitMs));
    QElapsedTimer stall;
    stall.start();
    QVERIFY(waitUntil([&] { return stall.hasExpired(kStallMs); }));
    const qint64 releasedMs = QDateTime::currentMSecsSinceEpoch();
    release.release();
    const int before = recorder.batchCount(u"m0"_s);
    QVERIFY(waitUntil([&] { return recorder.batchCount(u"m0"_s) >= before + 3; }));

    QSignalSpy stopped(&engine, &PollScheduler::stopped);
    engine.stop();
    QVERIFY(stopped.wait(kWaitMs));
    const TrafficCounters t = recorder.trafficOf(u"m0"_s);
    // The slots the stall swallowed are counted, not replayed: at least kStallMs / interval - 1.
    QVERIFY2(
        t.pollsSkipped >= quint64(kStallMs / kIntervalMs - 1), qPrintable(QString::number(t.pollsSkipped)));
    QCOMPARE(t.pollsFailed, 0u);
    QCOMPARE(t.pollsCompleted, quint64(recorder.batchCount(u"m0"_s)));
    // The poll after the stall was for the latest slot due when the worker woke (no earlier than
    // an interval before the release), never for a slot the stall swallowed: no poll came due
    // between the block and an interval before the release. A poll already on the wire at the
    // block came due before it. Slower machines only move the wake-up later: no upper bound here.
    const std::vector<double> due = dueTimesMs(recorder, u"m0"_s);
    QCOMPARE(qsizetype(due.size()), qsizetype(recorder.batchCount(u"m0"_s)));
    constexpr double kClockSlackMs = 5; // ms timestamps, wall clock against the steady one
    int after = 0;
    for (double ms : due) {
        QVERIFY2(
            ms < double(blockedMs) + kClockSlackMs || ms > double(releasedMs - kIntervalMs) - kClockSlackMs,
            qPrintable(u"a poll came due %1 ms after the block, %2 ms before the release"_s
                           .arg(ms - double(blockedMs))
                           .arg(double(releasedMs) - ms)));
        after += ms > double(releasedMs - kIntervalMs) - kClockSlackMs ? 1 : 0;
    }
    QVERIFY(after >= 2); // of the three awaited, one may have been on the wire at the block
}

void tst_PollScheduler::faultyMeterIsolated_data()
{
    QTest::addColumn<sim::FaultConfig>("faults");
    QTest::addColumn<bool>("timeouts");
    QTest::addColumn<bool>("protocolErrors");
    QTest::addColumn<bool>("failedPolls");
    QTest::addColumn<int>("state"); // a MeterState the meter must report, or -1
    QTest::addColumn<bool>("completesDuringFault");
    QTest::addColumn<int>("minLatencyMs"); // lower bound of every poll latency during the fault

    const int none = -1;
    const auto state = [](MeterState s) { return int(s); };
    sim::FaultConfig f;
    f.latencyMs = 60;
    QTest::newRow("latency-within-timeout") << f << false << false << false << none << true << 60;
    f = {};
    f.latencyMs = 700;
    QTest::newRow("latency-beyond-timeout")
        << f << true << false << true << state(MeterState::BackingOff) << false << 0;
    f = {};
    f.dropMidFrame = true;
    QTest::newRow("drop-mid-frame") << f << false << false << true << state(MeterState::BackingOff) << false
                                    << 0;
    f = {};
    f.garbageBytes = 5;
    QTest::newRow("garbage") << f << false << true << false << none << true << 0;
    f = {};
    f.drip = true;
    f.dripIntervalMs = 1;
    QTest::newRow("drip-within-timeout") << f << false << false << false << none << true << 15;
    f.dripIntervalMs = 40;
    QTest::newRow("drip-beyond-timeout")
        << f << true << false << true << state(MeterState::BackingOff) << false << 0;
    f = {};
    f.rejectAssociation = true;
    QTest::newRow("reject-association")
        << f << false << false << true << state(MeterState::CircuitOpen) << false << 0;
    f = {};
    f.exceptionResponses = true;
    QTest::newRow("exception-responses") << f << false << true << true << none << false << 0;
    f = {};
    f.silent = true;
    QTest::newRow("silence") << f << true << false << true << state(MeterState::BackingOff) << false << 0;
}

void tst_PollScheduler::faultyMeterIsolated()
{
    QFETCH(sim::FaultConfig, faults);
    QFETCH(bool, timeouts);
    QFETCH(bool, protocolErrors);
    QFETCH(bool, failedPolls);
    QFETCH(int, state);
    QFETCH(bool, completesDuringFault);
    QFETCH(int, minLatencyMs);

    constexpr int kMeters = 7;
    constexpr int kFaulty = 4; // shares worker 0 with three healthy meters
    constexpr int kWindowPolls = 4;
    constexpr int kIntervalMs = 100;
    auto simulator = startSimulator(kMeters);
    QVERIFY(simulator);
    simulator->setFaults(kFaulty, faults);
    PollScheduler engine(engineOptions());
    Recorder recorder(engine);
    for (int i = 0; i < kMeters; ++i) {
        MeterConfig config = meterConfig(meterId(i), simulator->port(i), kIntervalMs);
        if (i == kFaulty) {
            // Short timeouts only where the row wants timeouts: elsewhere a stall of this process
            // must not pass for one. The breaker only where the row wants it: its open time
            // would make the recovery slow.
            if (timeouts)
                config = shortTimeouts(config);
            if (state != int(MeterState::CircuitOpen))
                config.breaker.failureThreshold = 0;
        }
        QVERIFY(engine.addMeter(config));
    }
    const QString faulty = meterId(kFaulty);
    QCOMPARE(engine.workerOf(faulty), 0);
    engine.start();

    const auto symptomShown = [&] {
        const TrafficCounters t = recorder.trafficOf(faulty);
        return (!timeouts || t.timeouts > 0) && (!protocolErrors || t.protocolErrors > 0)
            && (!failedPolls || t.pollsFailed > 0)
            && (state < 0 || recorder.sawState(faulty, MeterState(state)))
            && (!completesDuringFault || recorder.batchCount(faulty) >= 2);
    };
    const auto healthyDone = [&] {
        for (int i = 0; i < kMeters; ++i) {
            if (i != kFaulty
                && (recorder.batchCount(meterId(i)) < kWindowPolls
                    || recorder.trafficOf(meterId(i)).pollsAttempted < quint64(kWindowPolls)))
                return false;
        }
        return true;
    };
    QVERIFY(waitUntil(symptomShown));
    QVERIFY(waitUntil(healthyDone));

    // The healthy meters never failed next to the faulty one. A stall of this process may make
    // them skip a slot (counted as skipped, not failed), nothing worse.
    for (int i = 0; i < kMeters; ++i) {
        if (i == kFaulty)
            continue;
        const TrafficCounters t = recorder.trafficOf(meterId(i));
        QCOMPARE(t.pollsFailed, 0u);
        QCOMPARE(t.timeouts, 0u);
        QCOMPARE(t.protocolErrors, 0u);
        QVERIFY2(t.pollsCompleted + t.pollsSkipped + 1 >= t.pollsAttempted,
            qPrintable(u"%1: %2 completed, %3 skipped of %4 polls"_s.arg(meterId(i))
                           .arg(t.pollsCompleted)
                           .arg(t.pollsSkipped)
                           .arg(t.pollsAttempted)));
        QVERIFY(!recorder.sawState(meterId(i), MeterState::BackingOff));
        QVERIFY(!recorder.sawState(meterId(i), MeterState::CircuitOpen));
    }

    const TrafficCounters bad = recorder.trafficOf(faulty);
    if (!failedPolls)
        QCOMPARE(bad.pollsFailed, 0u);
    if (!timeouts)
        QCOMPARE(bad.timeouts, 0u);
    if (minLatencyMs > 0) {
        const std::vector<quint32> latency = recorder.latencyUs[faulty];
        QVERIFY(!latency.empty());
        for (quint32 us : latency)
            QVERIFY2(us >= quint32(minLatencyMs) * 1000, qPrintable(u"latency %1 µs"_s.arg(us)));
    }
    if (state >= 0)
        QVERIFY(!recorder.reasons[faulty][MeterState(state)].isEmpty()); // says why

    // Fault cleared: the meter comes back by itself.
    simulator->setFaults(kFaulty, {});
    const int before = recorder.batchCount(faulty);
    QVERIFY(waitUntil([&] { return recorder.batchCount(faulty) > before; }));
    const ReadingsBatch &last = recorder.batches[faulty].back();
    QCOMPARE(keysOf(last), keysOf(standardItems()));

    QSignalSpy stopped(&engine, &PollScheduler::stopped);
    engine.stop();
    QVERIFY(stopped.wait(kWaitMs));
}

void tst_PollScheduler::addWhileRunning()
{
    auto simulator = startSimulator(3);
    QVERIFY(simulator);
    PollScheduler engine(engineOptions());
    Recorder recorder(engine);
    QVERIFY(engine.addMeter(meterConfig(u"a"_s, simulator->port(0))));
    QVERIFY(engine.addMeter(meterConfig(u"b"_s, simulator->port(1))));
    QCOMPARE(engine.workerOf(u"a"_s), 0);
    QCOMPARE(engine.workerOf(u"b"_s), 1);
    engine.start();
    QVERIFY(waitUntil([&] { return recorder.batchCount(u"a"_s) >= 1 && recorder.batchCount(u"b"_s) >= 1; }));
    QCOMPARE(recorder.batchCount(u"c"_s), 0);

    QVERIFY(engine.addMeter(meterConfig(u"c"_s, simulator->port(2))));
    QVERIFY(engine.contains(u"c"_s));
    QCOMPARE(engine.workerOf(u"c"_s), 0);
    QCOMPARE(engine.meterIds(), (QStringList {u"a"_s, u"b"_s, u"c"_s}));
    QVERIFY(waitUntil([&] { return recorder.batchCount(u"c"_s) >= 2; }));
    QCOMPARE(keysOf(recorder.batches[u"c"_s].front()), keysOf(standardItems()));
}

void tst_PollScheduler::removeWhileRunning()
{
    auto simulator = startSimulator(3);
    QVERIFY(simulator);
    SimBytes simBytes(*simulator);
    PollScheduler engine(engineOptions());
    Recorder recorder(engine);
    for (int i = 0; i < 3; ++i)
        QVERIFY(engine.addMeter(meterConfig(meterId(i), simulator->port(i))));
    engine.start();
    QVERIFY(waitUntil([&] {
        return recorder.batchCount(u"m0"_s) >= 2 && recorder.batchCount(u"m1"_s) >= 2
            && recorder.batchCount(u"m2"_s) >= 2;
    }));

    QVERIFY(engine.removeMeter(u"m1"_s));
    QVERIFY(!engine.contains(u"m1"_s));
    QCOMPARE(engine.workerOf(u"m1"_s), -1);
    QCOMPARE(engine.meterIds(), (QStringList {u"m0"_s, u"m2"_s}));
    QVERIFY(!engine.removeMeter(u"m1"_s));

    // The association is released and the connection closed.
    waitUntil([&] { return simBytes.closed[1] == simBytes.opened[1]; });
    QCOMPARE(simBytes.closed[1], simBytes.opened[1]);
    QVERIFY(simBytes.opened[1] >= 1);
    // Its last traffic (the release) still comes in a delta: every byte the meter sent is counted.
    waitUntil([&] { return recorder.trafficOf(u"m1"_s).bytesReceived == simBytes.written[1]; });
    QCOMPARE(recorder.trafficOf(u"m1"_s).bytesReceived, simBytes.written[1]);
    const TrafficCounters removed = recorder.trafficOf(u"m1"_s);
    QCOMPARE(removed.requestsSent, removed.responsesReceived);

    const int removedBatches = recorder.batchCount(u"m1"_s);
    const int others = recorder.batchCount(u"m0"_s) + recorder.batchCount(u"m2"_s);
    QVERIFY(
        waitUntil([&] { return recorder.batchCount(u"m0"_s) + recorder.batchCount(u"m2"_s) >= others + 6; }));
    QCOMPARE(recorder.batchCount(u"m1"_s), removedBatches);
    QCOMPARE(simBytes.opened[1], simBytes.closed[1]); // no reconnect either

    // The same id can come back.
    QVERIFY(engine.addMeter(meterConfig(u"m1"_s, simulator->port(1))));
    QVERIFY(waitUntil([&] { return recorder.batchCount(u"m1"_s) > removedBatches; }));
}

void tst_PollScheduler::removeThenAddSameId()
{
    // The simulator answers from a thread of its own while this one blocks: the old meter's
    // batches and state changes pile up, undelivered, in this thread's queue (as behind a busy
    // GUI) when the meter is removed and added again under the same id.
    QAtomicInt associations;
    ThreadedSimulator simulator(1);
    QVERIFY(simulator.started());
    QObject::connect(&*simulator, &sim::Simulator::associationChanged,
        [&associations](int, bool) { associations.ref(); }); // direct: in the simulator's thread
    PollScheduler engine(engineOptions());
    Recorder recorder(engine);
    MeterConfig old = meterConfig(u"m"_s, simulator->port(0), 30);
    old.associationMode = polling::AssociationMode::PerPoll; // one association per poll, seen from here
    old.items = {item(u"old_voltage"_s, dlms::Obis(1, 0, 32, 7, 0, 255)),
        item(u"old_energy"_s, dlms::Obis(1, 0, 1, 8, 0, 255))};
    QVERIFY(engine.addMeter(old));
    engine.start();
    QVERIFY(waitUntil([&] { return recorder.batchCount(u"m"_s) >= 1; }));

    // Three more associations: the two polls before the last one have sent their batches and
    // their state changes (Disconnected after each poll) to this thread, which does not look.
    const int target = associations.loadAcquire() + 3;
    QDeadlineTimer deadline(kWaitMs);
    while (associations.loadAcquire() < target && !deadline.hasExpired())
        QThread::msleep(1);
    QVERIFY(associations.loadAcquire() >= target);

    const size_t seen = size_t(recorder.batchCount(u"m"_s));
    QVERIFY(engine.removeMeter(u"m"_s));
    const MeterConfig renewed = meterConfig(u"m"_s, simulator->port(0), 30); // keep-open
    QVERIFY(engine.addMeter(renewed));
    recorder.states.erase(u"m"_s);
    QVERIFY(waitUntil([&] { return recorder.batchCount(u"m"_s) >= int(seen) + 3; }));

    // Whatever the old meter had queued was dropped: every batch since carries the new items,
    // and no per-poll Disconnected shows up for the keep-open meter.
    const QStringList newKeys = keysOf(renewed.items);
    const std::vector<ReadingsBatch> &batches = recorder.batches[u"m"_s];
    for (size_t i = seen; i < batches.size(); ++i)
        QVERIFY2(keysOf(batches[i]) == newKeys, qPrintable(keysOf(batches[i]).join(u", "_s)));
    QVERIFY(!recorder.sawState(u"m"_s, MeterState::Disconnected));
    QVERIFY(recorder.sawState(u"m"_s, MeterState::Associated));
}

void tst_PollScheduler::stateChangesForwarded_data()
{
    QTest::addColumn<polling::AssociationMode>("mode");
    QTest::newRow("keep-open") << polling::AssociationMode::KeepOpen;
    QTest::newRow("per-poll") << polling::AssociationMode::PerPoll;
}

void tst_PollScheduler::stateChangesForwarded()
{
    QFETCH(polling::AssociationMode, mode);
    constexpr int kPolls = 5;
    auto simulator = startSimulator(1);
    QVERIFY(simulator);
    PollScheduler engine(engineOptions());
    Recorder recorder(engine);
    std::vector<std::pair<MeterState, QString>> states;
    connect(&engine, &PollScheduler::meterStateChanged, &recorder,
        [&](const QString &, MeterState state, const QString &reason) {
            states.emplace_back(state, reason);
        });
    MeterConfig config = meterConfig(u"m"_s, simulator->port(0), 50);
    config.associationMode = mode;
    QVERIFY(engine.addMeter(config));
    engine.start();
    QVERIFY(waitUntil([&] { return recorder.batchCount(u"m"_s) >= kPolls; }));
    const std::vector<std::pair<MeterState, QString>> running = states;
    const int batches = recorder.batchCount(u"m"_s);
    QSignalSpy stopped(&engine, &PollScheduler::stopped);
    engine.stop();
    QVERIFY(stopped.wait(kWaitMs));

    const auto count = [&](MeterState state) {
        return int(std::count_if(
            running.begin(), running.end(), [state](const auto &change) { return change.first == state; }));
    };
    // Polling is never forwarded, and no change repeats the one before it.
    QCOMPARE(count(MeterState::Polling), 0);
    for (size_t i = 1; i < running.size(); ++i)
        QVERIFY(running[i] != running[i - 1]);
    if (mode == polling::AssociationMode::KeepOpen) {
        // One association, reported once: not Associated again after every poll.
        QCOMPARE(count(MeterState::Connecting), 1);
        QCOMPARE(count(MeterState::Associated), 1);
        QVERIFY2(running.size() <= 4, qPrintable(QString::number(running.size())));
    } else {
        // Each poll is its own connection, and says so.
        QVERIFY(count(MeterState::Connecting) >= batches);
        QVERIFY(count(MeterState::Disconnected) >= batches - 1);
    }
    // The stop still shows.
    QVERIFY(!states.empty());
    QCOMPARE(states.back().first, MeterState::Disconnected);
}

void tst_PollScheduler::pauseResume()
{
    auto simulator = startSimulator(3);
    QVERIFY(simulator);
    SimBytes simBytes(*simulator);
    PollScheduler engine(engineOptions());
    Recorder recorder(engine);
    for (int i = 0; i < 3; ++i)
        QVERIFY(engine.addMeter(meterConfig(meterId(i), simulator->port(i))));
    QVERIFY(engine.setPaused(u"m2"_s, true)); // paused before start: never polled
    engine.start();
    QVERIFY(
        waitUntil([&] { return recorder.batchCount(u"m0"_s) >= 2 && recorder.batchCount(u"m1"_s) >= 2; }));
    QVERIFY(waitUntil([&] { return recorder.sawState(u"m2"_s, MeterState::Paused); }));

    QVERIFY(engine.setPaused(u"m0"_s, true));
    QVERIFY(waitUntil([&] { return recorder.sawState(u"m0"_s, MeterState::Paused); }));
    // Paused closes the association.
    waitUntil([&] { return simBytes.closed[0] == simBytes.opened[0]; });
    QCOMPARE(simBytes.closed[0], simBytes.opened[0]);
    const int paused = recorder.batchCount(u"m0"_s);
    const int other = recorder.batchCount(u"m1"_s);
    QVERIFY(waitUntil([&] { return recorder.batchCount(u"m1"_s) >= other + 4; }));
    QCOMPARE(recorder.batchCount(u"m0"_s), paused);
    QCOMPARE(recorder.batchCount(u"m2"_s), 0);
    QCOMPARE(simBytes.opened[2], 0);

    QVERIFY(engine.setPaused(u"m0"_s, false));
    QVERIFY(engine.setPaused(u"m2"_s, false));
    QVERIFY(
        waitUntil([&] { return recorder.batchCount(u"m0"_s) > paused && recorder.batchCount(u"m2"_s) > 0; }));
}

void tst_PollScheduler::reconfigureItems()
{
    auto simulator = startSimulator(2);
    QVERIFY(simulator);
    SimBytes simBytes(*simulator);
    PollScheduler engine(engineOptions());
    Recorder recorder(engine);
    QVERIFY(engine.addMeter(meterConfig(u"a"_s, simulator->port(0))));
    QVERIFY(engine.addMeter(meterConfig(u"b"_s, simulator->port(1))));
    engine.start();
    QVERIFY(waitUntil([&] { return recorder.batchCount(u"a"_s) >= 1 && recorder.batchCount(u"b"_s) >= 1; }));

    MeterConfig changed = *engine.meterConfig(u"a"_s);
    changed.items = {item(u"current_l1"_s, dlms::Obis(1, 0, 31, 7, 0, 255)),
        item(u"serial"_s, dlms::Obis(0, 0, 96, 1, 0, 255), 1),
        item(u"frequency"_s, dlms::Obis(1, 0, 14, 7, 0, 255))};
    QVERIFY(engine.updateMeter(changed));
    QCOMPARE(engine.meterConfig(u"a"_s)->items, changed.items);
    const QStringList newKeys = keysOf(changed.items);
    waitUntil([&] { return keysOf(recorder.batches[u"a"_s].back()) == newKeys; });
    QCOMPARE(keysOf(recorder.batches[u"a"_s].back()), newKeys);
    const ReadingsBatch batch = recorder.batches[u"a"_s].back();
    QCOMPARE(batch.readings[1].value.toString(), simulator->meter(0).serialNumber());
    QCOMPARE(batch.readings[0].unit, u"A"_s);
    // Items are no reason to reconnect; the other meter is untouched.
    QCOMPARE(simBytes.opened[0], 1);
    QCOMPARE(simBytes.opened[1], 1);
    QCOMPARE(keysOf(recorder.batches[u"b"_s].back()), keysOf(standardItems()));
}

void tst_PollScheduler::reconfigureInterval()
{
    constexpr int kSlowMs = 200;
    constexpr int kFastMs = 40;
    auto simulator = startSimulator(2);
    QVERIFY(simulator);
    PollScheduler engine(engineOptions());
    Recorder recorder(engine);
    QVERIFY(engine.addMeter(meterConfig(u"fast"_s, simulator->port(0), kSlowMs)));
    QVERIFY(engine.addMeter(meterConfig(u"slow"_s, simulator->port(1), kSlowMs)));
    engine.start();
    QVERIFY(waitUntil(
        [&] { return recorder.batchCount(u"fast"_s) >= 1 && recorder.batchCount(u"slow"_s) >= 1; }));

    MeterConfig changed = *engine.meterConfig(u"fast"_s);
    changed.pollIntervalMs = kFastMs;
    QVERIFY(engine.updateMeter(changed));
    QCOMPARE(engine.meterConfig(u"fast"_s)->pollIntervalMs, kFastMs);
    // One more may still come from the old schedule.
    const size_t firstFast = size_t(recorder.batchCount(u"fast"_s)) + 1;
    QVERIFY(waitUntil([&] {
        return recorder.batchCount(u"fast"_s) >= int(firstFast) + 10 && recorder.batchCount(u"slow"_s) >= 3;
    }));
    QSignalSpy stopped(&engine, &PollScheduler::stopped);
    engine.stop();
    QVERIFY(stopped.wait(kWaitMs));

    // Checked on the due times the worker scheduled, not on how many polls fitted in some wall
    // time (a stall skips slots, never moves them): the fast meter's polls lie on its new grid,
    // some of them on neighbouring points; the slow meter's stay on its own.
    constexpr double kSlackMs = 5; // ms timestamps, wall clock against the steady one
    const auto offGrid = [&](double gap, int interval) {
        return std::abs(gap - interval * std::round(gap / interval)) > kSlackMs || gap < interval - kSlackMs;
    };
    const std::vector<double> fast = dueTimesMs(recorder, u"fast"_s);
    QVERIFY(fast.size() >= firstFast + 10);
    double smallest = std::numeric_limits<double>::max();
    for (size_t i = firstFast + 1; i < fast.size(); ++i) {
        const double gap = fast[i] - fast[i - 1];
        QVERIFY2(!offGrid(gap, kFastMs), qPrintable(u"fast: %1 ms between polls"_s.arg(gap)));
        smallest = std::min(smallest, gap);
    }
    QVERIFY2(smallest < kFastMs + kSlackMs, qPrintable(u"fast: polls at least %1 ms apart"_s.arg(smallest)));
    const std::vector<double> slow = dueTimesMs(recorder, u"slow"_s);
    QVERIFY(slow.size() >= 3);
    for (size_t i = 1; i < slow.size(); ++i) {
        const double gap = slow[i] - slow[i - 1];
        QVERIFY2(!offGrid(gap, kSlowMs), qPrintable(u"slow: %1 ms between polls"_s.arg(gap)));
    }
}

void tst_PollScheduler::reconfigurePort()
{
    auto simulator = startSimulator(3);
    QVERIFY(simulator);
    SimBytes simBytes(*simulator);
    PollScheduler engine(engineOptions());
    Recorder recorder(engine);
    MeterConfig config = meterConfig(u"a"_s, simulator->port(0));
    config.items.push_back(item(u"serial"_s, dlms::Obis(0, 0, 96, 1, 0, 255), 1));
    QVERIFY(engine.addMeter(config));
    engine.start();
    QVERIFY(waitUntil([&] { return recorder.batchCount(u"a"_s) >= 1; }));
    QCOMPARE(
        recorder.batches[u"a"_s].back().readings.back().value.toString(), simulator->meter(0).serialNumber());

    config.port = simulator->port(2);
    QVERIFY(engine.updateMeter(config));
    waitUntil([&] { return simBytes.opened[2] == 1 && simBytes.closed[0] == 1; });
    QCOMPARE(simBytes.opened[2], 1);
    QCOMPARE(simBytes.closed[0], 1);
    waitUntil([&] {
        return recorder.batches[u"a"_s].back().readings.back().value.toString()
            == simulator->meter(2).serialNumber();
    });
    QCOMPARE(
        recorder.batches[u"a"_s].back().readings.back().value.toString(), simulator->meter(2).serialNumber());
    QCOMPARE(simBytes.opened[1], 0);
}

void tst_PollScheduler::tracing()
{
    auto simulator = startSimulator(2);
    QVERIFY(simulator);
    PollScheduler engine(engineOptions());
    Recorder recorder(engine);
    QVERIFY(engine.addMeter(meterConfig(u"traced"_s, simulator->port(0))));
    QVERIFY(engine.addMeter(meterConfig(u"quiet"_s, simulator->port(1))));
    QVERIFY(engine.setTracing(u"traced"_s, true));
    engine.start();
    QVERIFY(waitUntil(
        [&] { return recorder.batchCount(u"traced"_s) >= 3 && recorder.batchCount(u"quiet"_s) >= 3; }));
    QVERIFY(recorder.traced[u"traced"_s][0] > 0);
    QVERIFY(recorder.traced[u"traced"_s][1] > 0);
    QVERIFY(recorder.traced.find(u"quiet"_s) == recorder.traced.end());

    QSignalSpy stopped(&engine, &PollScheduler::stopped);
    engine.stop();
    QVERIFY(stopped.wait(kWaitMs));
    // Every byte of the traced meter was traced (sessions stopped: nothing in flight).
    const TrafficCounters t = recorder.trafficOf(u"traced"_s);
    QCOMPARE(quint64(recorder.traced[u"traced"_s][0]), t.bytesSent);
    QCOMPARE(quint64(recorder.traced[u"traced"_s][1]), t.bytesReceived);
}

void tst_PollScheduler::unknownIds()
{
    auto simulator = startSimulator(1);
    QVERIFY(simulator);
    PollScheduler engine(engineOptions());
    const MeterConfig known = meterConfig(u"known"_s, simulator->port(0));
    QVERIFY(engine.addMeter(known));

    const auto duplicate = engine.addMeter(known);
    QVERIFY(!duplicate);
    QCOMPARE(duplicate.error().code, dlms::ErrorCode::InvalidArgument);
    QVERIFY(duplicate.error().message.contains(u"known"_s));

    const auto unknown = engine.updateMeter(meterConfig(u"ghost"_s, simulator->port(0)));
    QVERIFY(!unknown);
    QCOMPARE(unknown.error().code, dlms::ErrorCode::InvalidArgument);
    QVERIFY(unknown.error().message.contains(u"ghost"_s));
    QVERIFY(!engine.removeMeter(u"ghost"_s));
    QVERIFY(!engine.setPaused(u"ghost"_s, true));
    QVERIFY(!engine.setTracing(u"ghost"_s, true));
    QCOMPARE(engine.workerOf(u"ghost"_s), -1);
    QVERIFY(!engine.meterConfig(u"ghost"_s));
    QVERIFY(!engine.contains(u"ghost"_s));

    MeterConfig invalid = known;
    invalid.pollIntervalMs = 0;
    QVERIFY(!engine.updateMeter(invalid));
    QCOMPARE(engine.meterConfig(u"known"_s)->pollIntervalMs, known.pollIntervalMs);
    QCOMPARE(engine.meterIds(), QStringList {u"known"_s});
}

void tst_PollScheduler::trafficMatchesSimulator_data()
{
    QTest::addColumn<dlms::Transport>("transport");
    QTest::addColumn<polling::AssociationMode>("mode");
    QTest::addColumn<bool>("multipleReferences");
    QTest::newRow("wrapper-keep-open")
        << dlms::Transport::Wrapper << polling::AssociationMode::KeepOpen << true;
    QTest::newRow("hdlc-keep-open") << dlms::Transport::Hdlc << polling::AssociationMode::KeepOpen << true;
    QTest::newRow("wrapper-per-poll")
        << dlms::Transport::Wrapper << polling::AssociationMode::PerPoll << true;
    QTest::newRow("wrapper-single-gets")
        << dlms::Transport::Wrapper << polling::AssociationMode::KeepOpen << false;
}

void tst_PollScheduler::trafficMatchesSimulator()
{
    QFETCH(dlms::Transport, transport);
    QFETCH(polling::AssociationMode, mode);
    QFETCH(bool, multipleReferences);
    constexpr int kMeters = 4;
    auto simulator = startSimulator(kMeters, transport, multipleReferences);
    QVERIFY(simulator);
    SimBytes simBytes(*simulator);
    PollScheduler engine(engineOptions());
    Recorder recorder(engine);
    for (int i = 0; i < kMeters; ++i) {
        MeterConfig config = meterConfig(meterId(i), simulator->port(i));
        config.transport = transport;
        config.associationMode = mode;
        config.requestTimeoutMs = 1000;
        config.connectTimeoutMs = 1000;
        QVERIFY(engine.addMeter(config));
    }
    engine.start();
    QVERIFY(waitUntil([&] {
        for (int i = 0; i < kMeters; ++i) {
            if (recorder.batchCount(meterId(i)) < 3)
                return false;
        }
        return true;
    }));

    QSignalSpy stopped(&engine, &PollScheduler::stopped);
    engine.stop();
    QVERIFY(!engine.isRunning());
    QVERIFY(stopped.wait(kWaitMs));
    QCOMPARE(stopped.size(), 1);
    // Every association was released and its connection closed.
    waitUntil([&] { return simulator->connectionCount() == 0; });
    QCOMPARE(simulator->connectionCount(), 0);

    QCOMPARE(recorder.badRanges, 0);
    QCOMPARE(recorder.badPeriods, 0);
    QVERIFY(recorder.deltasPerWorker[0] >= 1);
    QVERIFY(recorder.deltasPerWorker[1] >= 1);
    QCOMPARE(int(recorder.deltasPerWorker.size()), 2);
    const quint64 itemCount = standardItems().size();
    for (int i = 0; i < kMeters; ++i) {
        const QString id = meterId(i);
        const TrafficCounters t = recorder.trafficOf(id);
        QCOMPARE(simBytes.closed[i], simBytes.opened[i]);
        if (mode == polling::AssociationMode::PerPoll)
            QVERIFY(simBytes.opened[i] >= 3);
        else
            QCOMPARE(simBytes.opened[i], 1);
        // Counted in the worker, exactly what the meter wrote.
        QCOMPARE(t.bytesReceived, simBytes.written[i]);
        QVERIFY(t.bytesSent > 0);
        QCOMPARE(t.requestsSent, t.responsesReceived);
        QCOMPARE(t.timeouts, 0u);
        QCOMPARE(t.protocolErrors, 0u);
        QCOMPARE(t.connects, quint64(simBytes.opened[i]));
        // Every delivered batch is counted once, with its latency sample.
        QCOMPARE(t.pollsCompleted, quint64(recorder.batchCount(id)));
        QCOMPARE(quint64(recorder.latencyUs[id].size()), t.pollsCompleted);
        QCOMPARE(t.valuesRead, t.pollsCompleted * itemCount);
        QCOMPARE(recorder.rttSamples[id], t.rttCount);
        QVERIFY(t.rttCount >= t.pollsCompleted);
        QCOMPARE(t.pollsFailed, 0u);
        QVERIFY(t.pollsAttempted >= t.pollsCompleted);
    }
}

void tst_PollScheduler::stopAndRestart()
{
    auto simulator = startSimulator(4);
    QVERIFY(simulator);
    PollScheduler engine(engineOptions());
    Recorder recorder(engine);
    QSignalSpy stopped(&engine, &PollScheduler::stopped);

    // Never started: stopped() all the same, later.
    engine.stop();
    QCOMPARE(stopped.size(), 0);
    QVERIFY(stopped.wait(kWaitMs));

    for (int i = 0; i < 4; ++i)
        QVERIFY(engine.addMeter(meterConfig(meterId(i), simulator->port(i))));
    engine.start();
    QVERIFY(
        waitUntil([&] { return recorder.batchCount(u"m0"_s) >= 1 && recorder.batchCount(u"m3"_s) >= 1; }));
    QCOMPARE(simulator->connectionCount(), 4);
    engine.stop();
    engine.stop(); // twice: one stopped()
    QVERIFY(!engine.isRunning());
    QVERIFY(stopped.wait(kWaitMs));
    QCOMPARE(stopped.size(), 2);
    waitUntil([&] { return simulator->connectionCount() == 0; });
    QCOMPARE(simulator->connectionCount(), 0);
    const int before = recorder.batchCount(u"m0"_s);

    // Meters are kept: a new start polls them again.
    QVERIFY(engine.removeMeter(u"m3"_s)); // while stopped
    engine.start();
    QVERIFY(engine.isRunning());
    QVERIFY(waitUntil([&] { return recorder.batchCount(u"m0"_s) > before; }));
    waitUntil([&] { return simulator->connectionCount() == 3; });
    QCOMPARE(simulator->connectionCount(), 3);
    engine.stop();
    QVERIFY(stopped.wait(kWaitMs));
    waitUntil([&] { return simulator->connectionCount() == 0; });
    QCOMPARE(simulator->connectionCount(), 0);
}

void tst_PollScheduler::stopBoundedBySilentMeter()
{
    auto simulator = startSimulator(2);
    QVERIFY(simulator);
    PollScheduler::Options options = engineOptions();
    options.stopTimeoutMs = 200;
    PollScheduler engine(options);
    Recorder recorder(engine);
    for (int i = 0; i < 2; ++i) {
        MeterConfig config = meterConfig(meterId(i), simulator->port(i));
        config.requestTimeoutMs = 60000; // the release would wait a minute for its answer
        QVERIFY(engine.addMeter(config));
    }
    engine.start();
    QVERIFY(
        waitUntil([&] { return recorder.batchCount(u"m0"_s) >= 1 && recorder.batchCount(u"m1"_s) >= 1; }));
    sim::FaultConfig silent;
    silent.silent = true;
    simulator->setFaults(0, silent);

    QSignalSpy stopped(&engine, &PollScheduler::stopped);
    engine.stop();
    QVERIFY(stopped.wait(kWaitMs));
    // The silent meter's socket was dropped at stopTimeoutMs, the other one released.
    waitUntil([&] { return simulator->connectionCount() == 0; });
    QCOMPARE(simulator->connectionCount(), 0);
}

void tst_PollScheduler::destructorWithoutStop()
{
    auto simulator = startSimulator(4);
    QVERIFY(simulator);
    {
        PollScheduler engine(engineOptions());
        Recorder recorder(engine);
        for (int i = 0; i < 4; ++i)
            QVERIFY(engine.addMeter(meterConfig(meterId(i), simulator->port(i))));
        engine.start();
        QVERIFY(waitUntil(
            [&] { return recorder.batchCount(u"m0"_s) >= 1 && recorder.batchCount(u"m3"_s) >= 1; }));
        QCOMPARE(simulator->connectionCount(), 4);
    }
    // Joined and gone: the sockets were dropped.
    waitUntil([&] { return simulator->connectionCount() == 0; });
    QCOMPARE(simulator->connectionCount(), 0);

    // Also right after start(), with commands still queued for the workers.
    {
        PollScheduler engine(engineOptions());
        QVERIFY(engine.addMeter(meterConfig(u"x"_s, simulator->port(0))));
        engine.start();
        QVERIFY(engine.removeMeter(u"x"_s));
    }
    // And in the middle of a stop().
    {
        PollScheduler engine(engineOptions());
        QVERIFY(engine.addMeter(meterConfig(u"y"_s, simulator->port(1))));
        engine.start();
        engine.stop();
    }
    waitUntil([&] { return simulator->connectionCount() == 0; });
    QCOMPARE(simulator->connectionCount(), 0);
}

void tst_PollScheduler::validate_data()
{
    QTest::addColumn<MeterConfig>("config");
    QTest::addColumn<QString>("field"); // named in the message; empty: valid

    const MeterConfig good = meterConfig(u"v1"_s, 4059);
    QTest::newRow("valid") << good << QString();
    MeterConfig c = good;
    c.id.clear();
    QTest::newRow("empty-id") << c << u"id"_s;
    c = good;
    c.items.clear();
    QTest::newRow("no-items") << c << u"items"_s;
    c = good;
    c.pollIntervalMs = 0;
    QTest::newRow("zero-interval") << c << u"interval_ms"_s;
    c.pollIntervalMs = -5;
    QTest::newRow("negative-interval") << c << u"interval_ms"_s;
    c = good;
    c.connectTimeoutMs = 0;
    QTest::newRow("zero-connect-timeout") << c << u"connect_timeout_ms"_s;
    c = good;
    c.requestTimeoutMs = -1;
    QTest::newRow("negative-request-timeout") << c << u"timeout_ms"_s;
    c = good;
    c.port = 0;
    QTest::newRow("port-zero") << c << u"port"_s;
    c = good;
    c.host.clear();
    QTest::newRow("empty-host") << c << u"host"_s;
    c = good;
    c.retries = -1;
    QTest::newRow("negative-retries") << c << u"retries"_s;
    c = good;
    c.maxItemsPerRequest = 0;
    QTest::newRow("zero-max-items") << c << u"max_items_per_request"_s;
    c = good;
    c.authentication = dlms::Authentication::Low;
    QTest::newRow("lls-without-password") << c << u"password"_s;
    c.password = QByteArrayLiteral("secret");
    QTest::newRow("lls-with-password") << c << QString();
    c = good;
    c.maxRequestsPerSecond = -1;
    QTest::newRow("negative-rate-cap") << c << u"max_requests_per_s"_s;
    c.maxRequestsPerSecond = std::numeric_limits<double>::quiet_NaN();
    QTest::newRow("nan-rate-cap") << c << u"max_requests_per_s"_s;
    // The rules of validateMeterConfig(), the same as the site file's.
    c = good;
    c.backoff.initialMs = 1;
    QTest::newRow("backoff-too-short") << c << u"backoff.initial_ms"_s;
    c = good;
    c.breaker.openMs = -1;
    QTest::newRow("negative-breaker-open") << c << u"breaker.open_ms"_s;
    c = good;
    c.transport = dlms::Transport::Hdlc;
    c.clientAddress = 0x80;
    QTest::newRow("hdlc-client-address-beyond-7-bits") << c << u"client_address"_s;
    c = good;
    c.maxPduSize = 63;
    QTest::newRow("tiny-pdu") << c << u"max_pdu"_s;
}

void tst_PollScheduler::validate()
{
    QFETCH(MeterConfig, config);
    QFETCH(QString, field);
    const auto result = PollScheduler::validate(config);
    PollScheduler engine(engineOptions());
    const auto added = engine.addMeter(config);
    if (field.isEmpty()) {
        QVERIFY(result);
        QVERIFY(added);
        QVERIFY(engine.contains(config.id));
        return;
    }
    QVERIFY(!result);
    QCOMPARE(result.error().code, dlms::ErrorCode::InvalidArgument);
    QVERIFY2(result.error().message.contains(field), qPrintable(result.error().message));
    // Which meter: its id, or its name when the id is what is missing.
    QVERIFY2(result.error().message.contains(config.id.isEmpty() ? config.name : config.id),
        qPrintable(result.error().message));
    QVERIFY(!added);
    QCOMPARE(added.error().message, result.error().message);
    QVERIFY(engine.meterIds().isEmpty());
}

QTEST_GUILESS_MAIN(tst_PollScheduler)
#include "tst_pollscheduler.moc"
