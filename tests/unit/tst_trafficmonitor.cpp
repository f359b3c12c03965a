#include "trafficmonitor.h"

#include <QtCore/QMetaType>
#include <QtCore/QRandomGenerator>
#include <QtTest/QSignalSpy>
#include <QtTest/QTest>

#include <algorithm>
#include <numeric>
#include <random>

using namespace Qt::StringLiterals;
using monitor::MeterStats;
using monitor::MetricsRow;
using monitor::MinuteRollup;
using monitor::MqttAck;
using monitor::SecondSample;
using monitor::TrafficMonitor;
using polling::MeterTraffic;
using polling::TrafficCounters;
using polling::TrafficDelta;

namespace {

// A minute boundary far from the epoch, so alignment is exercised on realistic numbers.
constexpr qint64 kMinute = 60'000;
constexpr qint64 kT0 = 28'333'333 * kMinute;

MeterTraffic traffic(
    const QString &id, quint64 sent, quint64 received, quint64 framesSent = 0, quint64 framesReceived = 0)
{
    MeterTraffic m;
    m.meterId = id;
    m.counters.bytesSent = sent;
    m.counters.bytesReceived = received;
    m.counters.framesSent = framesSent;
    m.counters.framesReceived = framesReceived;
    return m;
}

TrafficDelta deltaOf(std::vector<MeterTraffic> meters)
{
    TrafficDelta d;
    d.meters = std::move(meters);
    return d;
}

// Appends RTT samples (µs) for the meter at `index` of the delta, and its counters to match.
void addRtt(TrafficDelta &d, std::size_t index, const std::vector<quint32> &samplesUs)
{
    MeterTraffic &m = d.meters[index];
    m.rttBegin = quint32(d.rttUs.size());
    m.rttCount = quint32(samplesUs.size());
    for (quint32 s : samplesUs) {
        d.rttUs.push_back(s);
        ++m.counters.rttCount;
        m.counters.rttSumUs += s;
        m.counters.rttMaxUs = std::max(m.counters.rttMaxUs, s);
    }
}

// A monitor on clocks the test moves; no timer. Time passing moves both the wall clock and the
// monotonic one; stepUtc() sets the wall clock alone, as an administrator or NTP would.
struct Fixture {
    explicit Fixture(qint64 start = kT0, int window = 300, int rttSamples = 512)
        : nowMs(std::make_shared<qint64>(start)), monoMs(std::make_shared<qint64>(5'000))
    {
        TrafficMonitor::Options options;
        options.autoTick = false;
        options.windowSeconds = window;
        options.rttSamplesPerMeter = rttSamples;
        options.clock = [clock = nowMs] { return *clock; };
        options.monotonicClock = [clock = monoMs] { return *clock; };
        monitor = std::make_unique<TrafficMonitor>(options);
    }
    void advance(qint64 ms)
    {
        *nowMs += ms;
        *monoMs += ms;
    }
    void stepUtc(qint64 ms) { *nowMs += ms; }
    void tickAfter(qint64 ms)
    {
        advance(ms);
        monitor->tick();
    }

    std::shared_ptr<qint64> nowMs;
    std::shared_ptr<qint64> monoMs;
    std::unique_ptr<TrafficMonitor> monitor;
};

// Every counter of a MetricsRow that must add up over the meter rows to the system row.
struct CounterField {
    const char *name;
    quint64 MetricsRow::*field;
};
constexpr CounterField kSummedCounters[] = {
    {"dlmsRequestsSent", &MetricsRow::dlmsRequestsSent},
    {"dlmsResponsesRecv", &MetricsRow::dlmsResponsesRecv},
    {"dlmsBytesSent", &MetricsRow::dlmsBytesSent},
    {"dlmsBytesRecv", &MetricsRow::dlmsBytesRecv},
    {"mqttBytesSent", &MetricsRow::mqttBytesSent},
    {"dlmsFramesSent", &MetricsRow::dlmsFramesSent},
    {"dlmsFramesRecv", &MetricsRow::dlmsFramesRecv},
    {"dlmsTimeouts", &MetricsRow::dlmsTimeouts},
    {"dlmsProtocolErrors", &MetricsRow::dlmsProtocolErrors},
    {"dlmsReconnects", &MetricsRow::dlmsReconnects},
    {"pollsAttempted", &MetricsRow::pollsAttempted},
    {"pollsCompleted", &MetricsRow::pollsCompleted},
    {"pollsFailed", &MetricsRow::pollsFailed},
    {"valuesRead", &MetricsRow::valuesRead},
    {"rttSamples", &MetricsRow::rttSamples},
    {"mqttPacketBytesSent", &MetricsRow::mqttPacketBytesSent},
    {"mqttPublishFailures", &MetricsRow::mqttPublishFailures},
};

// Traffic with every DLMS counter set, distinct per meter (scaled by k).
MeterTraffic fullTraffic(const QString &id, quint64 k)
{
    MeterTraffic m = traffic(id, 100 * k, 300 * k, 4 * k, 5 * k);
    TrafficCounters &c = m.counters;
    c.requestsSent = 3 * k;
    c.responsesReceived = 2 * k;
    c.timeouts = k;
    c.protocolErrors = k + 1;
    c.reconnects = k + 2;
    c.pollsAttempted = 7 * k;
    c.pollsCompleted = 6 * k;
    c.pollsFailed = k;
    c.valuesRead = 11 * k;
    return m;
}

MinuteRollup rollupAt(const QSignalSpy &spy, qsizetype i)
{
    return spy.at(i).at(0).value<MinuteRollup>();
}

const MetricsRow *rowFor(const MinuteRollup &rollup, const QString &id)
{
    for (const MetricsRow &row : rollup.rows) {
        if (row.meterId == id)
            return &row;
    }
    return nullptr;
}

QStringList idsOf(const MinuteRollup &rollup)
{
    QStringList ids;
    for (const MetricsRow &row : rollup.rows)
        ids.append(row.meterId);
    return ids;
}

} // namespace

class tst_TrafficMonitor : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void metaTypesRegistered();
    void countersExact();
    void averagePayloadPerDirection_data();
    void averagePayloadPerDirection();
    void rttFromSamples_data();
    void rttFromSamples();
    void rttRangeOutsideDeltaIgnored();
    void successRateAndBytesPerValue_data();
    void successRateAndBytesPerValue();
    void mqttGatewaySplit();
    void publishFailures();
    void historyRingCapped();
    void ratesUseTickDuration();
    void meterAddedLaterHasFewerSamples();
    void peaksAndAverages();
    void lastActivity();
    void interfaceRatesForTotal();
    void rollupTwoMinutes();
    void rollupFirstPeriodStartsAtConstruction();
    void flushRollupPartial();
    void clockJumpGivesOneRollup();
    void removedMeterStaysInSystemRow();
    void removedAndBackWithinPeriodOneRow();
    void gatewayMessageCountsOncePerMeter();
    void seedAveragePayloadSize();
    void wallClockStepsKeepRates_data();
    void wallClockStepsKeepRates();
    void systemRowBandwidth_data();
    void systemRowBandwidth();
    void rollupP95Reservoir();
    void meterSignals();
    void invalidIdsIgnored();
};

void tst_TrafficMonitor::metaTypesRegistered()
{
    // Queued connections between threads look these up by name.
    QVERIFY(QMetaType::fromName("monitor::MinuteRollup").isValid());
    QVERIFY(QMetaType::fromName("monitor::MqttAck").isValid());
    QVERIFY(QMetaType::fromName("monitor::InterfaceRates").isValid());
    QVERIFY(QMetaType::fromName("monitor::OutboxStatus").isValid());
}

void tst_TrafficMonitor::countersExact()
{
    Fixture f;
    TrafficMonitor &m = *f.monitor;
    TrafficDelta d1 = deltaOf({traffic(u"m1"_s, 100, 1000, 2, 3), traffic(u"m2"_s, 7, 70, 1, 1)});
    d1.meters[0].counters.requestsSent = 2;
    d1.meters[0].counters.responsesReceived = 2;
    d1.meters[0].counters.timeouts = 1;
    d1.meters[0].counters.protocolErrors = 4;
    d1.meters[0].counters.reconnects = 5;
    d1.meters[0].counters.pollsAttempted = 3;
    d1.meters[0].counters.pollsCompleted = 2;
    d1.meters[0].counters.valuesRead = 20;
    TrafficDelta d2 = deltaOf({traffic(u"m1"_s, 11, 22, 1, 1)});
    d2.meters[0].counters.requestsSent = 1;
    d2.meters[0].counters.timeouts = 2;
    m.addTraffic(d1);
    m.addTraffic(d2);

    QCOMPARE(m.meterIds(), QStringList({u"m1"_s, u"m2"_s}));
    QCOMPARE(m.meterCount(), 2);
    QCOMPARE(m.indexOf(u"m2"_s), 1);
    QCOMPARE(m.indexOf(u"nope"_s), -1);

    TrafficCounters expected1 = d1.meters[0].counters;
    expected1 += d2.meters[0].counters;
    const MeterStats s1 = m.meterStats(u"m1"_s);
    QCOMPARE(s1.meterId, u"m1"_s);
    QCOMPARE(s1.counters.dlms, expected1);
    QCOMPARE(s1.counters.dlms.bytesSent, 111u);
    QCOMPARE(s1.counters.dlms.bytesReceived, 1022u);
    QCOMPARE(s1.counters.dlms.timeouts, 3u);
    QCOMPARE(m.meterStatsAt(1).counters.dlms, d1.meters[1].counters);

    TrafficCounters expectedTotal = expected1;
    expectedTotal += d1.meters[1].counters;
    const MeterStats total = m.totalStats();
    QCOMPARE(total.meterId, QString(monitor::SystemMeterId));
    QCOMPARE(total.counters.dlms, expectedTotal);

    QVERIFY(m.meterStats(u"unknown"_s).meterId.isEmpty());
    QVERIFY(m.meterStatsAt(2).meterId.isEmpty());
    QVERIFY(m.meterStatsAt(-1).meterId.isEmpty());
    QVERIFY(m.history(u"unknown"_s).empty());
}

void tst_TrafficMonitor::averagePayloadPerDirection_data()
{
    QTest::addColumn<quint64>("sent");
    QTest::addColumn<quint64>("received");
    QTest::addColumn<quint64>("framesSent");
    QTest::addColumn<quint64>("framesReceived");
    QTest::addColumn<double>("avgRequest");
    QTest::addColumn<double>("avgResponse");
    QTest::addColumn<double>("avgPayload");
    QTest::newRow("both-directions") << quint64(300) << quint64(1000) << quint64(10) << quint64(8) << 30.0
                                     << 125.0 << 1300.0 / 18;
    QTest::newRow("nothing-exchanged")
        << quint64(0) << quint64(0) << quint64(0) << quint64(0) << 0.0 << 0.0 << 0.0;
    QTest::newRow("sent-only") << quint64(64) << quint64(0) << quint64(2) << quint64(0) << 32.0 << 0.0
                               << 32.0;
}

void tst_TrafficMonitor::averagePayloadPerDirection()
{
    QFETCH(quint64, sent);
    QFETCH(quint64, received);
    QFETCH(quint64, framesSent);
    QFETCH(quint64, framesReceived);
    QFETCH(double, avgRequest);
    QFETCH(double, avgResponse);
    QFETCH(double, avgPayload);
    Fixture f;
    // Split over two deltas: averages are of the sums, not of the deltas' averages.
    f.monitor->addTraffic(
        deltaOf({traffic(u"m"_s, sent / 2, received / 2, framesSent / 2, framesReceived / 2)}));
    f.monitor->addTraffic(deltaOf({traffic(u"m"_s, sent - sent / 2, received - received / 2,
        framesSent - framesSent / 2, framesReceived - framesReceived / 2)}));
    const MeterStats s = f.monitor->meterStats(u"m"_s);
    QCOMPARE(s.avgRequestBytes, avgRequest);
    QCOMPARE(s.avgResponseBytes, avgResponse);
    QCOMPARE(s.avgPayloadBytes, avgPayload);
}

void tst_TrafficMonitor::rttFromSamples_data()
{
    QTest::addColumn<std::vector<quint32>>("samplesMs");
    QTest::addColumn<int>("kept");
    QTest::addColumn<double>("avgMs");
    QTest::addColumn<double>("p95Ms");
    QTest::addColumn<double>("maxMs");

    std::vector<quint32> oneToHundred(100);
    std::iota(oneToHundred.begin(), oneToHundred.end(), 1u);
    std::shuffle(oneToHundred.begin(), oneToHundred.end(), std::mt19937(5));
    // Nearest rank: ceil(0.95 × 100) = the 95th smallest.
    QTest::newRow("1-to-100-ms") << oneToHundred << 512 << 50.5 << 95.0 << 100.0;
    QTest::newRow("single-sample") << std::vector<quint32> {7} << 512 << 7.0 << 7.0 << 7.0;
    // Twenty samples: ceil(19) = the 19th smallest.
    std::vector<quint32> twenty(20);
    std::iota(twenty.begin(), twenty.end(), 1u);
    QTest::newRow("twenty-samples") << twenty << 512 << 10.5 << 19.0 << 20.0;
    // p95 only over the newest samples kept; avg and max since start.
    std::vector<quint32> recent(90, 1000u);
    for (quint32 v = 5; v <= 50; v += 5)
        recent.push_back(v);
    QTest::newRow("ring-keeps-recent") << recent << 10 << (90.0 * 1000 + 275) / 100 << 50.0 << 1000.0;
}

void tst_TrafficMonitor::rttFromSamples()
{
    QFETCH(std::vector<quint32>, samplesMs);
    QFETCH(int, kept);
    QFETCH(double, avgMs);
    QFETCH(double, p95Ms);
    QFETCH(double, maxMs);
    Fixture f(kT0, 300, kept);
    // Across several deltas, in arrival order.
    for (std::size_t begin = 0; begin < samplesMs.size(); begin += 7) {
        const std::size_t end = std::min(samplesMs.size(), begin + 7);
        std::vector<quint32> us;
        for (std::size_t i = begin; i < end; ++i)
            us.push_back(samplesMs[i] * 1000);
        TrafficDelta d = deltaOf({traffic(u"other"_s, 1, 1), traffic(u"m"_s, 10, 10)});
        addRtt(d, 0, {999'000}); // another meter's samples must not leak into this one
        addRtt(d, 1, us);
        f.monitor->addTraffic(d);
    }
    const MeterStats s = f.monitor->meterStats(u"m"_s);
    QCOMPARE(s.counters.dlms.rttCount, quint64(samplesMs.size()));
    QCOMPARE(s.rttAvgMs, avgMs);
    QCOMPARE(s.rttP95Ms, p95Ms);
    QCOMPARE(s.rttMaxMs, maxMs);
    QCOMPARE(f.monitor->meterStats(u"other"_s).rttP95Ms, 999.0);
}

void tst_TrafficMonitor::rttRangeOutsideDeltaIgnored()
{
    Fixture f;
    TrafficDelta d = deltaOf({traffic(u"m"_s, 1, 1)});
    d.rttUs = {4000, 6000};
    d.meters[0].rttBegin = 1;
    d.meters[0].rttCount = 50; // claims more than the delta holds
    f.monitor->addTraffic(d);
    QCOMPARE(f.monitor->meterStats(u"m"_s).rttP95Ms, 6.0);
}

void tst_TrafficMonitor::successRateAndBytesPerValue_data()
{
    QTest::addColumn<quint64>("attempted");
    QTest::addColumn<quint64>("completed");
    QTest::addColumn<quint64>("values");
    QTest::addColumn<double>("rate");
    QTest::addColumn<double>("bytesPerValue");
    // 400 bytes sent + 1600 received in every row.
    QTest::newRow("all-good") << quint64(10) << quint64(10) << quint64(100) << 1.0 << 20.0;
    QTest::newRow("some-failed") << quint64(8) << quint64(6) << quint64(50) << 0.75 << 40.0;
    QTest::newRow("no-polls-yet") << quint64(0) << quint64(0) << quint64(0) << -1.0 << 0.0;
    QTest::newRow("none-completed") << quint64(4) << quint64(0) << quint64(0) << 0.0 << 0.0;
}

void tst_TrafficMonitor::successRateAndBytesPerValue()
{
    QFETCH(quint64, attempted);
    QFETCH(quint64, completed);
    QFETCH(quint64, values);
    QFETCH(double, rate);
    QFETCH(double, bytesPerValue);
    Fixture f;
    TrafficDelta d = deltaOf({traffic(u"m"_s, 400, 1600)});
    d.meters[0].counters.pollsAttempted = attempted;
    d.meters[0].counters.pollsCompleted = completed;
    d.meters[0].counters.pollsFailed = attempted - completed;
    d.meters[0].counters.valuesRead = values;
    f.monitor->addTraffic(d);
    const MeterStats s = f.monitor->meterStats(u"m"_s);
    QCOMPARE(s.pollSuccessRate, rate);
    QCOMPARE(s.dlmsBytesPerValue, bytesPerValue);
    QCOMPARE(f.monitor->totalStats().pollSuccessRate, rate);
}

void tst_TrafficMonitor::mqttGatewaySplit()
{
    Fixture f;
    TrafficMonitor &m = *f.monitor;
    QSignalSpy added(&m, &TrafficMonitor::meterAdded);
    m.addTraffic(deltaOf({traffic(u"m1"_s, 50, 500, 1, 1)}));

    // One gateway message for three meters; m3 never polled here yet.
    MqttAck ack;
    ack.timestampMs = kT0;
    ack.payloadBytes = 1000;
    ack.packetBytes = 1100;
    ack.shares = {{u"m1"_s, 500, 550, 5}, {u"m2"_s, 300, 330, 3}, {u"m3"_s, 200, 220, 2}};
    m.addMqttAck(ack);
    MqttAck single;
    single.payloadBytes = 90;
    single.packetBytes = 120;
    single.shares = {{u"m1"_s, 90, 120, 1}};
    m.addMqttAck(single);

    QCOMPARE(added.size(), 3);
    QCOMPARE(m.meterIds(), QStringList({u"m1"_s, u"m2"_s, u"m3"_s}));
    const MeterStats m1 = m.meterStats(u"m1"_s);
    QCOMPARE(m1.counters.mqttMessages, 2u);
    QCOMPARE(m1.counters.mqttPayloadBytes, 590u);
    QCOMPARE(m1.counters.mqttPacketBytes, 670u);
    QCOMPARE(m1.counters.mqttValues, 6u);
    QCOMPARE(m1.mqttBytesPerValue, 670.0 / 6);
    QCOMPARE(m.meterStats(u"m2"_s).counters.mqttPacketBytes, 330u);
    QCOMPARE(m.meterStats(u"m3"_s).counters.mqttMessages, 1u);

    // The total counts each message once with its whole bytes; the shares add up to it.
    const MeterStats total = m.totalStats();
    QCOMPARE(total.counters.mqttMessages, 2u);
    QCOMPARE(total.counters.mqttPayloadBytes, 1090u);
    QCOMPARE(total.counters.mqttPacketBytes, 1220u);
    QCOMPARE(total.counters.mqttValues, 11u);
    quint64 packetSum = 0;
    quint64 payloadSum = 0;
    for (const QString &id : m.meterIds()) {
        packetSum += m.meterStats(id).counters.mqttPacketBytes;
        payloadSum += m.meterStats(id).counters.mqttPayloadBytes;
    }
    QCOMPARE(packetSum, total.counters.mqttPacketBytes);
    QCOMPARE(payloadSum, total.counters.mqttPayloadBytes);

    // TX of a meter is its DLMS bytes sent plus its MQTT packet bytes; packets likewise.
    f.tickAfter(1000);
    const std::vector<SecondSample> h1 = m.history(u"m1"_s);
    QCOMPARE(h1.size(), std::size_t(1));
    QCOMPARE(h1[0], (SecondSample {50 + 670, 500, 1 + 2, 1}));
    QCOMPARE(m.meterStats(u"m1"_s).current.txBps, double(720 * 8));
    QCOMPARE(m.totalHistory()[0], (SecondSample {50 + 1220, 500, 1 + 2, 1}));
}

void tst_TrafficMonitor::publishFailures()
{
    Fixture f;
    f.monitor->addPublishFailure(u"m1"_s);
    f.monitor->addPublishFailure(u"m1"_s);
    f.monitor->addPublishFailure(QString()); // not tied to one meter
    QCOMPARE(f.monitor->meterStats(u"m1"_s).counters.mqttPublishFailures, 2u);
    QCOMPARE(f.monitor->totalStats().counters.mqttPublishFailures, 3u);
    QCOMPARE(f.monitor->meterCount(), 1);
}

void tst_TrafficMonitor::historyRingCapped()
{
    constexpr int kWindow = 5;
    Fixture f(kT0, kWindow);
    TrafficMonitor &m = *f.monitor;
    for (quint32 i = 1; i <= 8; ++i) {
        m.addTraffic(deltaOf({traffic(u"m"_s, i * 100, i * 10, i, 1)}));
        f.tickAfter(1000);
    }
    const std::vector<SecondSample> h = m.history(u"m"_s);
    QCOMPARE(h.size(), std::size_t(kWindow));
    // Oldest first; the first three seconds dropped.
    for (std::size_t i = 0; i < h.size(); ++i) {
        const quint32 second = quint32(i) + 4;
        QCOMPARE(h[i], (SecondSample {second * 100, second * 10, second, 1}));
    }
    const std::vector<qint64> ts = m.historyTimestamps();
    QCOMPARE(ts.size(), std::size_t(kWindow));
    QCOMPARE(ts.front(), kT0 + 4000);
    QCOMPARE(ts.back(), kT0 + 8000);
    QCOMPARE(m.totalHistory().size(), std::size_t(kWindow));
    QCOMPARE(m.totalHistory().back(), (SecondSample {800, 80, 8, 1}));
    QCOMPARE(m.lastTickSeconds(), 1.0);
}

void tst_TrafficMonitor::ratesUseTickDuration()
{
    Fixture f;
    TrafficMonitor &m = *f.monitor;
    m.addTraffic(deltaOf({traffic(u"m"_s, 1000, 500, 10, 4)}));
    f.tickAfter(2000); // a late tick: the sample covers two seconds
    QCOMPARE(m.lastTickSeconds(), 2.0);
    const MeterStats s = m.meterStats(u"m"_s);
    QCOMPARE(s.current.txBps, 1000.0 * 8 / 2);
    QCOMPARE(s.current.rxBps, 500.0 * 8 / 2);
    QCOMPARE(s.current.txPps, 5.0);
    QCOMPARE(s.current.rxPps, 2.0);
    m.addTraffic(deltaOf({traffic(u"m"_s, 250, 0, 1, 0)}));
    f.tickAfter(500);
    QCOMPARE(m.meterStats(u"m"_s).current.txBps, 250.0 * 8 / 0.5);
}

void tst_TrafficMonitor::meterAddedLaterHasFewerSamples()
{
    Fixture f;
    TrafficMonitor &m = *f.monitor;
    m.addTraffic(deltaOf({traffic(u"early"_s, 10, 10)}));
    f.tickAfter(1000);
    f.tickAfter(1000);
    m.addTraffic(deltaOf({traffic(u"late"_s, 80, 0)}));
    f.tickAfter(4000); // its only sample is the newest tick, four seconds long
    QCOMPARE(m.history(u"early"_s).size(), std::size_t(3));
    QCOMPARE(m.history(u"late"_s).size(), std::size_t(1));
    const MeterStats late = m.meterStats(u"late"_s);
    QCOMPARE(late.current.txBps, 80.0 * 8 / 4);
    QCOMPARE(late.windowAverage.txBps, 80.0 * 8 / 4);
    QCOMPARE(late.firstSeenMs, kT0 + 2000);
}

void tst_TrafficMonitor::peaksAndAverages()
{
    Fixture f(kT0, 3);
    TrafficMonitor &m = *f.monitor;
    const quint32 perSecond[] = {100, 900, 300, 200, 400};
    for (quint32 bytes : perSecond) {
        m.addTraffic(deltaOf({traffic(u"m"_s, bytes, bytes / 2, 2, 1)}));
        f.tickAfter(1000);
    }
    const MeterStats s = m.meterStats(u"m"_s);
    // Window: the last three seconds (300, 200, 400).
    QCOMPARE(s.windowAverage.txBps, 300.0 * 8);
    QCOMPARE(s.windowPeak.txBps, 400.0 * 8);
    QCOMPARE(s.windowAverage.rxBps, 150.0 * 8);
    QCOMPARE(s.windowPeak.rxBps, 200.0 * 8);
    QCOMPARE(s.windowAverage.txPps, 2.0);
    // Since start: all five seconds.
    QCOMPARE(s.sinceStartAverage.txBps, 1900.0 * 8 / 5);
    QCOMPARE(s.sinceStartPeak.txBps, 900.0 * 8);
    QCOMPARE(s.sinceStartPeak.rxBps, 450.0 * 8);
    QCOMPARE(s.sinceStartPeak.txPps, 2.0);
    QCOMPARE(s.current.txBps, 400.0 * 8);
    const MeterStats total = m.totalStats();
    QCOMPARE(total.sinceStartPeak.txBps, 900.0 * 8);
    QCOMPARE(total.windowAverage.txBps, 300.0 * 8);
}

void tst_TrafficMonitor::lastActivity()
{
    Fixture f;
    TrafficMonitor &m = *f.monitor;
    m.addMeter(u"m"_s);
    f.tickAfter(1000);
    QCOMPARE(m.meterStats(u"m"_s).lastActivityMs, 0);
    m.addTraffic(deltaOf({traffic(u"m"_s, 1, 0)}));
    f.tickAfter(1000);
    f.tickAfter(1000); // idle second: the last activity stays
    QCOMPARE(m.meterStats(u"m"_s).lastActivityMs, kT0 + 2000);
    QCOMPARE(m.meterStats(u"m"_s).firstSeenMs, kT0);
}

void tst_TrafficMonitor::interfaceRatesForTotal()
{
    Fixture f;
    TrafficMonitor &m = *f.monitor;
    QVERIFY(!m.hasInterfaceRates());
    m.addTraffic(deltaOf({traffic(u"m"_s, 100, 200, 1, 2)}));
    monitor::InterfaceRates rates;
    rates.timestampMs = kT0 + 1000;
    rates.intervalS = 1.0;
    rates.interfaces = {u"eth0"_s};
    rates.txBps = 80'000;
    rates.rxBps = 16'000;
    rates.txPps = 100;
    rates.rxPps = 50;
    rates.rxErrors = 1;
    rates.txErrors = 2;
    rates.rxDrops = 3;
    rates.txDrops = 4;
    m.setInterfaceRates(rates);
    QVERIFY(m.hasInterfaceRates());
    f.tickAfter(1000);
    MeterStats total = m.totalStats();
    QCOMPARE(total.current, (monitor::Rates {80'000, 16'000, 100, 50}));
    QCOMPARE(total.counters.ifRxErrors, 1u);
    QCOMPARE(total.counters.ifTxErrors, 2u);
    QCOMPARE(total.counters.ifRxDrops, 3u);
    QCOMPARE(total.counters.ifTxDrops, 4u);
    // The meter's own rates stay application-level.
    QCOMPARE(m.meterStats(u"m"_s).current.txBps, 800.0);
    QCOMPARE(m.meterStats(u"m"_s).counters.ifRxErrors, 0u);

    // A second with no interface sample: the meters' sum.
    m.addTraffic(deltaOf({traffic(u"m"_s, 10, 20, 1, 1)}));
    f.tickAfter(1000);
    total = m.totalStats();
    QCOMPARE(total.current, (monitor::Rates {80, 160, 1, 1}));

    // Two half-second samples in one tick are averaged by time.
    rates.intervalS = 0.5;
    rates.txBps = 1000;
    m.setInterfaceRates(rates);
    rates.txBps = 3000;
    m.setInterfaceRates(rates);
    f.tickAfter(1000);
    QCOMPARE(m.totalStats().current.txBps, 2000.0);
    QCOMPARE(m.totalStats().counters.ifTxDrops, 12u);
}

void tst_TrafficMonitor::rollupTwoMinutes()
{
    Fixture f; // constructed on a minute boundary
    TrafficMonitor &m = *f.monitor;
    QSignalSpy rollups(&m, &TrafficMonitor::rollupReady);
    QSignalSpy ticks(&m, &TrafficMonitor::ticked);
    m.addMeter(u"idle"_s);
    // Minute 1: m1 sends 10 B and receives 100 B per second, m2 only in second 30 (a burst).
    // Minute 2: m1 sends 20 B / receives 30 B per second.
    for (int second = 1; second <= 120; ++second) {
        const bool first = second <= 60;
        TrafficDelta d = deltaOf({traffic(u"m1"_s, first ? 10 : 20, first ? 100 : 30, 1, 1)});
        d.meters[0].counters.requestsSent = 1;
        d.meters[0].counters.responsesReceived = 1;
        d.meters[0].counters.pollsAttempted = 1;
        d.meters[0].counters.pollsCompleted = 1;
        d.meters[0].counters.valuesRead = 3;
        addRtt(d, 0, {quint32(second) * 1000});
        if (second == 30)
            d.meters.push_back(traffic(u"m2"_s, 6000, 12000, 3, 3));
        m.addTraffic(d);
        f.tickAfter(1000);
        QCOMPARE(rollups.size(), second / 60);
    }
    QCOMPARE(ticks.size(), 120);
    QCOMPARE(ticks.last().at(0).toLongLong(), kT0 + 120'000);
    QCOMPARE(rollups.size(), 2);

    const MinuteRollup r1 = rollupAt(rollups, 0);
    QCOMPARE(r1.periodStartMs, kT0);
    QCOMPARE(r1.periodEndMs, kT0 + kMinute);
    // Every known meter (the idle one included), then the system row last.
    QCOMPARE(idsOf(r1), QStringList({u"idle"_s, u"m1"_s, u"m2"_s, u"*"_s}));
    const MetricsRow *m1 = rowFor(r1, u"m1"_s);
    QCOMPARE(m1->timestampMs, kT0);
    QCOMPARE(m1->periodS, 60.0);
    QCOMPARE(m1->dlmsBytesSent, 600u);
    QCOMPARE(m1->dlmsBytesRecv, 6000u);
    QCOMPARE(m1->dlmsRequestsSent, 60u);
    QCOMPARE(m1->dlmsResponsesRecv, 60u);
    QCOMPARE(m1->dlmsFramesSent, 60u);
    QCOMPARE(m1->dlmsAvgPayloadSize, 600.0 / 60); // the seed's: bytes sent / frames sent
    QCOMPARE(m1->rttSamples, 60u);
    QCOMPARE(m1->bandwidthTxBps, 600.0 * 8 / 60);
    QCOMPARE(m1->bandwidthRxBps, 6000.0 * 8 / 60);
    QCOMPARE(m1->packetsTxPs, 1.0);
    QCOMPARE(m1->bandwidthTxPeakBps, 80.0);
    QCOMPARE(m1->pollsCompleted, 60u);
    QCOMPARE(m1->valuesRead, 180u);
    QCOMPARE(m1->rttAvgMs, 30.5);
    QCOMPARE(m1->rttMaxMs, 60.0);
    QCOMPARE(m1->rttP95Ms, 57.0); // ceil(0.95 × 60) = 57th of 1..60
    const MetricsRow *m2 = rowFor(r1, u"m2"_s);
    QCOMPARE(m2->dlmsBytesSent, 6000u);
    QCOMPARE(m2->bandwidthTxPeakBps, 48000.0);
    QCOMPARE(m2->bandwidthTxBps, 800.0);
    QCOMPARE(*rowFor(r1, u"idle"_s), (MetricsRow {u"idle"_s, kT0, 60.0}));
    const MetricsRow &sys1 = r1.rows.back();
    QCOMPARE(sys1.meterId, u"*"_s);
    QCOMPARE(sys1.dlmsBytesSent, 6600u);
    QCOMPARE(sys1.dlmsBytesRecv, 18000u);
    QCOMPARE(sys1.bandwidthTxBps, 6600.0 * 8 / 60);
    QCOMPARE(sys1.bandwidthTxPeakBps, 6010.0 * 8);
    QCOMPARE(sys1.rttMaxMs, 60.0);
    QCOMPARE(sys1.rttSamples, 60u);
    QCOMPARE(sys1.dlmsAvgPayloadSize, 6600.0 / 63);

    // The second minute holds only its own increments.
    const MinuteRollup r2 = rollupAt(rollups, 1);
    QCOMPARE(r2.periodStartMs, kT0 + kMinute);
    QCOMPARE(r2.periodEndMs, kT0 + 2 * kMinute);
    QCOMPARE(idsOf(r2), QStringList({u"idle"_s, u"m1"_s, u"m2"_s, u"*"_s}));
    m1 = rowFor(r2, u"m1"_s);
    QCOMPARE(m1->timestampMs, kT0 + kMinute);
    QCOMPARE(m1->dlmsBytesSent, 1200u);
    QCOMPARE(m1->dlmsBytesRecv, 1800u);
    QCOMPARE(m1->dlmsRequestsSent, 60u);
    QCOMPARE(m1->bandwidthTxPeakBps, 160.0);
    QCOMPARE(m1->rttAvgMs, 90.5);
    QCOMPARE(m1->rttMaxMs, 120.0);
    QCOMPARE(m1->rttP95Ms, 117.0);
    QCOMPARE(rowFor(r2, u"m2"_s)->dlmsBytesSent, 0u);
    QCOMPARE(rowFor(r2, u"m2"_s)->bandwidthTxPeakBps, 0.0);
    QCOMPARE(r2.rows.back().dlmsBytesSent, 1200u);

    // Running totals still hold everything.
    QCOMPARE(m.meterStats(u"m1"_s).counters.dlms.bytesSent, 1800u);
}

void tst_TrafficMonitor::rollupFirstPeriodStartsAtConstruction()
{
    Fixture f(kT0 + 45'000);
    QSignalSpy rollups(f.monitor.get(), &TrafficMonitor::rollupReady);
    f.monitor->addTraffic(deltaOf({traffic(u"m"_s, 150, 0, 1, 0)}));
    for (int i = 0; i < 14; ++i)
        f.tickAfter(1000);
    QCOMPARE(rollups.size(), 0);
    f.tickAfter(1000); // kT0 + 60 s
    QCOMPARE(rollups.size(), 1);
    const MinuteRollup r = rollupAt(rollups, 0);
    QCOMPARE(r.periodStartMs, kT0 + 45'000);
    QCOMPARE(r.periodEndMs, kT0 + kMinute);
    QCOMPARE(r.rows.front().periodS, 15.0);
    QCOMPARE(r.rows.front().bandwidthTxBps, 150.0 * 8 / 15);
    // From then on, aligned minutes.
    for (int i = 0; i < 60; ++i)
        f.tickAfter(1000);
    QCOMPARE(rollups.size(), 2);
    QCOMPARE(rollupAt(rollups, 1).periodStartMs, kT0 + kMinute);
    QCOMPARE(rollupAt(rollups, 1).rows.front().periodS, 60.0);
}

void tst_TrafficMonitor::flushRollupPartial()
{
    Fixture f;
    TrafficMonitor &m = *f.monitor;
    QSignalSpy rollups(&m, &TrafficMonitor::rollupReady);
    for (int i = 0; i < 20; ++i) {
        m.addTraffic(deltaOf({traffic(u"m"_s, 5, 50, 1, 1)}));
        f.tickAfter(1000);
    }
    // Not yet ticked: still part of the flushed period.
    m.addTraffic(deltaOf({traffic(u"m"_s, 1, 1, 0, 0)}));
    f.advance(500);
    m.flushRollup();
    QCOMPARE(rollups.size(), 1);
    MinuteRollup r = rollupAt(rollups, 0);
    QCOMPARE(r.periodStartMs, kT0);
    QCOMPARE(r.periodEndMs, kT0 + 20'500);
    QCOMPARE(r.rows.front().periodS, 20.5);
    QCOMPARE(r.rows.front().dlmsBytesSent, 101u);
    QCOMPARE(r.rows.front().dlmsBytesRecv, 1001u);
    QCOMPARE(r.rows.back().dlmsBytesSent, 101u);

    // The next period starts at the flush and ends on the minute.
    m.addTraffic(deltaOf({traffic(u"m"_s, 7, 0, 1, 0)}));
    while (*f.nowMs < kT0 + kMinute)
        f.tickAfter(1000);
    QCOMPARE(rollups.size(), 2);
    r = rollupAt(rollups, 1);
    QCOMPARE(r.periodStartMs, kT0 + 20'500);
    QCOMPARE(r.periodEndMs, kT0 + kMinute);
    QCOMPARE(r.rows.front().dlmsBytesSent, 7u);
    // Labelled up to the minute, but closed by the tick half a second after it: 40 s counted.
    QCOMPARE(r.rows.front().periodS, 40.0);
}

void tst_TrafficMonitor::clockJumpGivesOneRollup()
{
    Fixture f;
    TrafficMonitor &m = *f.monitor;
    QSignalSpy rollups(&m, &TrafficMonitor::rollupReady);
    m.addTraffic(deltaOf({traffic(u"m"_s, 300, 600, 3, 3)}));
    f.tickAfter(1000);
    // The machine slept: the next tick comes 5.5 minutes later.
    m.addTraffic(deltaOf({traffic(u"m"_s, 30, 60, 1, 1)}));
    f.tickAfter(5 * kMinute + 29'000);
    QCOMPARE(rollups.size(), 1);
    const MinuteRollup r = rollupAt(rollups, 0);
    QCOMPARE(r.periodStartMs, kT0);
    QCOMPARE(r.periodEndMs, kT0 + 5 * kMinute);
    // The counters hold everything up to the late tick, so the rates divide by the time that
    // really passed until it (5.5 minutes), not by the labels' span.
    QCOMPARE(r.rows.front().periodS, 330.0);
    QCOMPARE(r.rows.front().dlmsBytesSent, 330u);
    QCOMPARE(r.rows.front().bandwidthTxBps, 330.0 * 8 / 330);
    // Back to one rollup per minute, aligned.
    f.tickAfter(30'000);
    QCOMPARE(rollups.size(), 2);
    QCOMPARE(rollupAt(rollups, 1).periodStartMs, kT0 + 5 * kMinute);
    QCOMPARE(rollupAt(rollups, 1).periodEndMs, kT0 + 6 * kMinute);
    QCOMPARE(rollupAt(rollups, 1).rows.front().periodS, 30.0);
}

void tst_TrafficMonitor::removedMeterStaysInSystemRow()
{
    Fixture f;
    TrafficMonitor &m = *f.monitor;
    QSignalSpy rollups(&m, &TrafficMonitor::rollupReady);
    QSignalSpy removed(&m, &TrafficMonitor::meterRemoved);
    TrafficDelta d = deltaOf({fullTraffic(u"m1"_s, 1), fullTraffic(u"m2"_s, 10), fullTraffic(u"m3"_s, 100)});
    addRtt(d, 0, {1000, 2000});
    addRtt(d, 1, {5000, 6000, 7000});
    addRtt(d, 2, {9000});
    m.addTraffic(d);
    // Messages for one meter each: only then do the meters' message counts add up too.
    for (const auto &[id, payload] : {std::pair {u"m1"_s, 40u}, std::pair {u"m2"_s, 70u}}) {
        MqttAck ack;
        ack.payloadBytes = payload;
        ack.packetBytes = payload + 20;
        ack.shares = {{id, payload, payload + 20, 2}};
        m.addMqttAck(ack);
    }
    m.addPublishFailure(u"m2"_s);
    m.addPublishFailure(u"m3"_s);
    f.tickAfter(1000);
    m.removeMeter(u"m2"_s);
    QCOMPARE(removed.size(), 1);
    QCOMPARE(removed.at(0).at(0).toInt(), 1);
    QCOMPARE(removed.at(0).at(1).toString(), u"m2"_s);
    QCOMPARE(m.meterIds(), QStringList({u"m1"_s, u"m3"_s}));
    QVERIFY(m.meterStats(u"m2"_s).meterId.isEmpty());
    QVERIFY(m.history(u"m2"_s).empty());
    QCOMPARE(m.totalStats().counters.dlms.bytesSent, 11100u);
    // Traffic after the removal, still in the same period.
    m.addTraffic(deltaOf({fullTraffic(u"m3"_s, 1000)}));

    m.flushRollup();
    QCOMPARE(rollups.size(), 1);
    const MinuteRollup r = rollupAt(rollups, 0);
    // The removed meter's row comes after the known ones, the system row stays last.
    QCOMPARE(idsOf(r), QStringList({u"m1"_s, u"m3"_s, u"m2"_s, u"*"_s}));
    const MetricsRow &sys = r.rows.back();
    QCOMPARE(sys.dlmsBytesSent, 111'100u);
    QCOMPARE(rowFor(r, u"m2"_s)->dlmsBytesSent, 1000u);
    QCOMPARE(rowFor(r, u"m2"_s)->rttSamples, 3u);
    QCOMPARE(rowFor(r, u"m2"_s)->mqttPublishFailures, 1u);
    QCOMPARE(rowFor(r, u"m2"_s)->periodS, 1.0);
    for (const CounterField &counter : kSummedCounters) {
        quint64 sum = 0;
        for (std::size_t i = 0; i + 1 < r.rows.size(); ++i)
            sum += r.rows[i].*counter.field;
        QVERIFY2(sys.*counter.field > 0, counter.name);
        QVERIFY2(sum == sys.*counter.field,
            qPrintable(u"%1: meters %2, system %3"_s.arg(QLatin1StringView(counter.name))
                           .arg(sum)
                           .arg(sys.*counter.field)));
    }
    QCOMPARE(sys.mqttMessagesSent, 2u);

    // Emitted once: the next period no longer has it.
    m.addTraffic(deltaOf({traffic(u"m1"_s, 1, 1, 1, 1)}));
    m.flushRollup();
    QCOMPARE(idsOf(rollupAt(rollups, 1)), QStringList({u"m1"_s, u"m3"_s, u"*"_s}));

    // The same id again starts from zero.
    m.addTraffic(deltaOf({traffic(u"m2"_s, 3, 3, 1, 1)}));
    QCOMPARE(m.meterStats(u"m2"_s).counters.dlms.bytesSent, 3u);
    QCOMPARE(m.indexOf(u"m2"_s), 2);
}

void tst_TrafficMonitor::removedAndBackWithinPeriodOneRow()
{
    Fixture f;
    TrafficMonitor &m = *f.monitor;
    QSignalSpy rollups(&m, &TrafficMonitor::rollupReady);
    TrafficDelta d = deltaOf({traffic(u"m"_s, 100, 200, 2, 2)});
    addRtt(d, 0, {3000});
    m.addTraffic(d);
    f.tickAfter(1000);
    m.removeMeter(u"m"_s);
    d = deltaOf({traffic(u"m"_s, 7, 9, 1, 1)});
    addRtt(d, 0, {5000});
    m.addTraffic(d);
    // Its running figures start over; the period row carries both parts.
    QCOMPARE(m.meterStats(u"m"_s).counters.dlms.bytesSent, 7u);
    f.tickAfter(1000);
    m.flushRollup();
    const MinuteRollup r = rollupAt(rollups, 0);
    QCOMPARE(idsOf(r), QStringList({u"m"_s, u"*"_s}));
    QCOMPARE(r.rows.front().dlmsBytesSent, 107u);
    QCOMPARE(r.rows.front().dlmsBytesRecv, 209u);
    QCOMPARE(r.rows.front().rttSamples, 2u);
    QCOMPARE(r.rows.front().rttP95Ms, 5.0);
    QCOMPARE(r.rows.front().bandwidthTxPeakBps, 800.0);
    QCOMPARE(r.rows.front().dlmsBytesSent, r.rows.back().dlmsBytesSent);
}

void tst_TrafficMonitor::gatewayMessageCountsOncePerMeter()
{
    Fixture f;
    TrafficMonitor &m = *f.monitor;
    QSignalSpy rollups(&m, &TrafficMonitor::rollupReady);
    MqttAck ack;
    ack.payloadBytes = 1000;
    ack.packetBytes = 1100;
    ack.shares = {{u"m1"_s, 600, 660, 6}, {u"m2"_s, 400, 440, 4}};
    m.addMqttAck(ack);
    m.flushRollup();
    const MinuteRollup r = rollupAt(rollups, 0);
    const MetricsRow &sys = r.rows.back();
    // One message: once in each meter's row it carried, once in the system row.
    QCOMPARE(rowFor(r, u"m1"_s)->mqttMessagesSent, 1u);
    QCOMPARE(rowFor(r, u"m2"_s)->mqttMessagesSent, 1u);
    QCOMPARE(sys.mqttMessagesSent, 1u);
    // Its bytes are split, so they add up.
    QCOMPARE(rowFor(r, u"m1"_s)->mqttBytesSent + rowFor(r, u"m2"_s)->mqttBytesSent, sys.mqttBytesSent);
    QCOMPARE(sys.mqttBytesSent, 1000u);
    QCOMPARE(rowFor(r, u"m1"_s)->mqttPacketBytesSent + rowFor(r, u"m2"_s)->mqttPacketBytesSent,
        sys.mqttPacketBytesSent);
    QCOMPARE(sys.mqttPacketBytesSent, 1100u);
}

void tst_TrafficMonitor::seedAveragePayloadSize()
{
    // The seed's example: 278 requests of 7,606 bytes in all, 27.4 bytes each. The responses
    // (much larger) must not pull the figure up.
    Fixture f;
    QSignalSpy rollups(f.monitor.get(), &TrafficMonitor::rollupReady);
    TrafficDelta d = deltaOf({traffic(u"m"_s, 7606, 51'000, 278, 278)});
    d.meters[0].counters.requestsSent = 278;
    f.monitor->addTraffic(d);
    f.monitor->addMeter(u"idle"_s);
    f.monitor->flushRollup();
    const MinuteRollup r = rollupAt(rollups, 0);
    const MetricsRow *row = rowFor(r, u"m"_s);
    QCOMPARE(row->dlmsAvgPayloadSize, 7606.0 / 278);
    QCOMPARE(QString::number(row->dlmsAvgPayloadSize, 'f', 1), u"27.4"_s);
    QCOMPARE(r.rows.back().dlmsAvgPayloadSize, 7606.0 / 278);
    QCOMPARE(rowFor(r, u"idle"_s)->dlmsAvgPayloadSize, 0.0);
    // The snapshot keeps both: per request, and over both directions.
    const MeterStats s = f.monitor->meterStats(u"m"_s);
    QCOMPARE(s.avgRequestBytes, 7606.0 / 278);
    QCOMPARE(s.avgPayloadBytes, (7606.0 + 51'000) / 556);
}

void tst_TrafficMonitor::wallClockStepsKeepRates_data()
{
    QTest::addColumn<qint64>("stepMs");
    QTest::newRow("utc-back-10s") << qint64(-10'000);
    QTest::newRow("utc-forward-10min") << qint64(10 * kMinute);
    // Back before the open period began: rollups must keep coming.
    QTest::newRow("utc-back-3min") << qint64(-3 * kMinute);
}

void tst_TrafficMonitor::wallClockStepsKeepRates()
{
    QFETCH(qint64, stepMs);
    Fixture f;
    TrafficMonitor &m = *f.monitor;
    QSignalSpy rollups(&m, &TrafficMonitor::rollupReady);
    // Steady: 1,000 B out and 2,000 B in, 4 and 5 frames, every second, for 150 s; the wall
    // clock steps at second 30.
    for (int second = 1; second <= 150; ++second) {
        m.addTraffic(deltaOf({traffic(u"m"_s, 1000, 2000, 4, 5)}));
        if (second == 30)
            f.stepUtc(stepMs);
        f.tickAfter(1000);
        QCOMPARE(m.lastTickSeconds(), 1.0);
        const MeterStats s = m.meterStats(u"m"_s);
        QCOMPARE(s.current, (monitor::Rates {8000, 16'000, 4, 5}));
        QCOMPARE(s.windowAverage, s.current);
        QCOMPARE(s.windowPeak, s.current);
        QCOMPARE(s.sinceStartPeak, s.current);
        QCOMPARE(s.sinceStartAverage, s.current);
        QCOMPARE(m.totalStats().current, s.current);
    }
    // At least one rollup per minute of real time, whichever way the clock went.
    QVERIFY2(rollups.size() >= 2, qPrintable(QString::number(rollups.size())));
    m.addTraffic(deltaOf({traffic(u"m"_s, 1000, 2000, 4, 5)}));
    f.advance(1000);
    m.flushRollup();
    quint64 bytesSent = 0;
    double seconds = 0;
    for (qsizetype i = 0; i < rollups.size(); ++i) {
        const MinuteRollup r = rollupAt(rollups, i);
        const MetricsRow &row = r.rows.front();
        bytesSent += row.dlmsBytesSent;
        seconds += row.periodS;
        if (row.periodS == 0)
            continue;
        // Every period's rates are the steady ones: its counters over its real seconds.
        QCOMPARE(row.bandwidthTxBps, 8000.0);
        QCOMPARE(row.bandwidthRxBps, 16'000.0);
        QCOMPARE(row.packetsTxPs, 4.0);
        QCOMPARE(row.packetsRxPs, 5.0);
        QCOMPARE(row.bandwidthTxPeakBps, 8000.0);
        QCOMPARE(r.rows.back().bandwidthTxBps, 8000.0);
    }
    QCOMPARE(bytesSent, 151'000u);
    QCOMPARE(seconds, 151.0);
}

void tst_TrafficMonitor::systemRowBandwidth_data()
{
    QTest::addColumn<bool>("interfaceFed");
    QTest::addColumn<double>("txBps");
    QTest::addColumn<double>("rxBps");
    QTest::addColumn<double>("txPps");
    QTest::newRow("meters-sum") << false << 1200.0 * 8 / 60 << 2400.0 * 8 / 60 << 60.0 / 60;
    // 30 s at 10 kbit/s and 30 s at 20 kbit/s.
    QTest::newRow("interface") << true << 15'000.0 << 3000.0 << 15.0;
}

void tst_TrafficMonitor::systemRowBandwidth()
{
    QFETCH(bool, interfaceFed);
    QFETCH(double, txBps);
    QFETCH(double, rxBps);
    QFETCH(double, txPps);
    Fixture f;
    TrafficMonitor &m = *f.monitor;
    QSignalSpy rollups(&m, &TrafficMonitor::rollupReady);
    m.setOutboxStatus({17, 4096, kT0, 2000});
    for (int second = 1; second <= 60; ++second) {
        m.addTraffic(deltaOf({traffic(u"a"_s, 10, 20, 1, 1), traffic(u"b"_s, 10, 20, 0, 0)}));
        if (interfaceFed) {
            monitor::InterfaceRates rates;
            rates.intervalS = 1;
            rates.txBps = second <= 30 ? 10'000 : 20'000;
            rates.rxBps = 3000;
            rates.txPps = second <= 30 ? 10 : 20;
            rates.rxErrors = 1;
            m.setInterfaceRates(rates);
        }
        if (second == 60)
            m.setOutboxStatus({3, 512, kT0, 100});
        f.tickAfter(1000);
    }
    QCOMPARE(rollups.size(), 1);
    const MetricsRow sys = rollupAt(rollups, 0).rows.back();
    QCOMPARE(sys.meterId, u"*"_s);
    QCOMPARE(sys.bandwidthTxBps, txBps);
    QCOMPARE(sys.bandwidthRxBps, rxBps);
    QCOMPARE(sys.packetsTxPs, txPps);
    QCOMPARE(sys.dlmsBytesSent, 1200u); // counters are the meters' either way
    QCOMPARE(sys.outboxBacklog, qint64(3));
    QCOMPARE(sys.ifRxErrors, interfaceFed ? 60u : 0u);
    QCOMPARE(sys.bandwidthTxPeakBps, interfaceFed ? 20'000.0 : 160.0);
}

void tst_TrafficMonitor::rollupP95Reservoir()
{
    // More samples in a period than are kept: the p95 comes from a fixed-seed reservoir, so it
    // is close to the true one and the same on every run.
    auto run = [] {
        Fixture f;
        QSignalSpy rollups(f.monitor.get(), &TrafficMonitor::rollupReady);
        std::vector<quint32> all(10'000);
        std::iota(all.begin(), all.end(), 1u);
        std::shuffle(all.begin(), all.end(), std::mt19937(11));
        for (std::size_t begin = 0; begin < all.size(); begin += 500) {
            TrafficDelta d = deltaOf({traffic(u"m"_s, 1, 1)});
            addRtt(d, 0,
                std::vector<quint32>(all.begin() + qsizetype(begin), all.begin() + qsizetype(begin + 500)));
            f.monitor->addTraffic(d);
        }
        f.monitor->flushRollup();
        return rollupAt(rollups, 0).rows.front();
    };
    const MetricsRow a = run();
    const MetricsRow b = run();
    QCOMPARE(a.rttP95Ms, b.rttP95Ms);
    QCOMPARE(a.rttMaxMs, 10.0);
    QCOMPARE(a.rttAvgMs, 5.0005);
    QVERIFY2(a.rttP95Ms > 9.3 && a.rttP95Ms < 9.7, qPrintable(QString::number(a.rttP95Ms)));
}

void tst_TrafficMonitor::meterSignals()
{
    Fixture f;
    TrafficMonitor &m = *f.monitor;
    QSignalSpy added(&m, &TrafficMonitor::meterAdded);
    QSignalSpy removed(&m, &TrafficMonitor::meterRemoved);
    m.addMeter(u"a"_s);
    m.addMeter(u"a"_s); // idempotent
    QCOMPARE(added.size(), 1);
    QCOMPARE(added.at(0).at(0).toInt(), 0);
    QCOMPARE(added.at(0).at(1).toString(), u"a"_s);
    m.addTraffic(deltaOf({traffic(u"a"_s, 1, 1), traffic(u"b"_s, 1, 1), traffic(u"c"_s, 1, 1)}));
    QCOMPARE(added.size(), 3);
    QCOMPARE(added.at(2).at(0).toInt(), 2);
    QCOMPARE(added.at(2).at(1).toString(), u"c"_s);
    // Known before its first traffic: zeros and no poll yet.
    QCOMPARE(m.meterStatsAt(0).counters.dlms.bytesSent, 1u);

    m.removeMeter(u"a"_s);
    QCOMPARE(removed.size(), 1);
    QCOMPARE(removed.at(0).at(0).toInt(), 0);
    QCOMPARE(m.indexOf(u"b"_s), 0);
    QCOMPARE(m.indexOf(u"c"_s), 1);
    QCOMPARE(m.meterStatsAt(1).meterId, u"c"_s);
    m.removeMeter(u"unknown"_s);
    QCOMPARE(removed.size(), 1);
    m.addMeter(u"a"_s);
    QCOMPARE(added.size(), 4);
    QCOMPARE(added.last().at(0).toInt(), 2);
}

void tst_TrafficMonitor::invalidIdsIgnored()
{
    Fixture f;
    QSignalSpy added(f.monitor.get(), &TrafficMonitor::meterAdded);
    f.monitor->addTraffic(deltaOf({traffic(QString(), 5, 5), traffic(u"*"_s, 6, 6), traffic(u"ok"_s, 7, 7)}));
    QCOMPARE(added.size(), 1);
    QCOMPARE(f.monitor->meterIds(), QStringList({u"ok"_s}));
    // Still network traffic: the total keeps it.
    QCOMPARE(f.monitor->totalStats().counters.dlms.bytesSent, 18u);
}

QTEST_GUILESS_MAIN(tst_TrafficMonitor)
#include "tst_trafficmonitor.moc"
