#include "markingtranslator.h"

#include "trafficchart.h"

#include <seriesmodel.h>
#include <trafficmonitor.h>

#include <QtCharts/QChart>
#include <QtCharts/QChartView>
#include <QtCharts/QDateTimeAxis>
#include <QtCharts/QLineSeries>
#include <QtCharts/QValueAxis>
#include <QtCore/QDateTime>
#include <QtTest/QAbstractItemModelTester>
#include <QtTest/QTest>
#include <QtWidgets/QApplication>

#include <memory>

using namespace Qt::StringLiterals;
using monitor::MetricsRow;
using monitor::SeriesModel;
using monitor::TrafficMonitor;

namespace {

constexpr qint64 kT0 = 1'700'000'000'000; // 2023-11-14T22:13:20Z

// A monitor on a hand-moved clock: one tick per call, one second long.
struct Scripted {
    Scripted() : nowMs(std::make_shared<qint64>(kT0))
    {
        TrafficMonitor::Options options;
        options.autoTick = false;
        options.windowSeconds = 10;
        options.clock = [clock = nowMs] { return *clock; };
        options.monotonicClock = [clock = nowMs] { return *clock - kT0; };
        monitor = std::make_unique<TrafficMonitor>(options);
    }
    // Second `i` (1-based): meter m1 sends 100·i bytes in i frames and receives 37·i bytes in
    // 2·i frames, so each second of the series differs.
    void second(int i)
    {
        polling::TrafficDelta delta;
        polling::MeterTraffic m;
        m.meterId = u"m1"_s;
        m.counters.bytesSent = quint64(100 * i);
        m.counters.bytesReceived = quint64(37 * i);
        m.counters.framesSent = quint64(i);
        m.counters.framesReceived = quint64(2 * i);
        delta.meters.push_back(m);
        monitor->addTraffic(delta);
        *nowMs += 1000;
        monitor->tick();
    }

    std::shared_ptr<qint64> nowMs;
    std::unique_ptr<TrafficMonitor> monitor;
};

QChart *chartOf(const TrafficChart &chart)
{
    auto *view = chart.findChild<QChartView *>();
    return view ? view->chart() : nullptr;
}

QDateTimeAxis *timeAxisOf(const TrafficChart &chart)
{
    const auto axes = chartOf(chart)->axes(Qt::Horizontal);
    return axes.isEmpty() ? nullptr : qobject_cast<QDateTimeAxis *>(axes.first());
}

QValueAxis *valueAxisOf(const TrafficChart &chart)
{
    const auto axes = chartOf(chart)->axes(Qt::Vertical);
    return axes.isEmpty() ? nullptr : qobject_cast<QValueAxis *>(axes.first());
}

// The model's points with y divided by `divisor`, as the chart must show them; compared with
// == on each coordinate (QPointF's own == is fuzzy).
bool samePoints(const QList<QPointF> &shown, const QList<QPointF> &model, double divisor)
{
    if (shown.size() != model.size())
        return false;
    for (qsizetype i = 0; i < shown.size(); ++i) {
        if (shown[i].x() != model[i].x() || shown[i].y() != model[i].y() / divisor)
            return false;
    }
    return true;
}

MetricsRow historyRow(qint64 ts, double tx, double rx, double txPs, double rxPs)
{
    MetricsRow row;
    row.meterId = u"*"_s;
    row.timestampMs = ts;
    row.periodS = 60;
    row.bandwidthTxBps = tx;
    row.bandwidthRxBps = rx;
    row.packetsTxPs = txPs;
    row.packetsRxPs = rxPs;
    return row;
}

} // namespace

class TstTrafficChart : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void liveBandwidthFollowsTicks();
    void livePacketRate();
    void hiddenChartCatchesUpOnShow();
    void historyRows_data();
    void historyRows();
    void emptyAndRemovedModel();
    void retitlesOnLanguageChange_data();
    void retitlesOnLanguageChange();
};

void TstTrafficChart::liveBandwidthFollowsTicks()
{
    Scripted s;
    SeriesModel model(s.monitor.get());
    QAbstractItemModelTester tester(&model);
    TrafficChart chart(TrafficChart::Kind::Bandwidth);
    chart.resize(640, 320);
    chart.show();
    QVERIFY(QTest::qWaitForWindowExposed(&chart));
    chart.setModel(&model);
    QCOMPARE(chart.model(), &model);
    const int before = chart.updateCount();
    QVERIFY(before >= 1);

    for (int i = 1; i <= 4; ++i) {
        s.second(i);
        // Exactly one replace() per series per tick.
        QCOMPARE(chart.updateCount(), before + i);
    }
    QVERIFY(samePoints(chart.txPoints(), model.points(SeriesModel::TxBps), 1000));
    QVERIFY(samePoints(chart.rxPoints(), model.points(SeriesModel::RxBps), 1000));
    // Second 4 of the total: 400 bytes sent = 3,200 bit/s = 3.2 kbit/s, stamped at its tick.
    QCOMPARE(chart.txPoints().size(), 4);
    QCOMPARE(chart.txPoints().last().x(), double(kT0 + 4000));
    QCOMPARE(chart.txPoints().last().y(), 3.2);
    QCOMPARE(chart.rxPoints().last().y(), 37.0 * 4 * 8 / 1000);

    QDateTimeAxis *time = timeAxisOf(chart);
    QVERIFY(time);
    QCOMPARE(time->format(), u"hh:mm:ss"_s);
    QCOMPARE(time->min().toMSecsSinceEpoch(), kT0 + 1000);
    QCOMPARE(time->max().toMSecsSinceEpoch(), kT0 + 4000);
    QValueAxis *value = valueAxisOf(chart);
    QVERIFY(value);
    QCOMPARE(value->min(), 0.0);
    QCOMPARE(value->max(), 3.2 * 1.1);
    QCOMPARE(value->titleText(), TrafficChart::tr("kbit/s"));

    // The window is 10 s: after 12 ticks the chart holds the newest 10, like the model.
    for (int i = 5; i <= 12; ++i)
        s.second(i);
    QCOMPARE(chart.txPoints().size(), 10);
    QCOMPARE(chart.txPoints().first().x(), double(kT0 + 3000));
    QVERIFY(samePoints(chart.txPoints(), model.points(SeriesModel::TxBps), 1000));
}

void TstTrafficChart::livePacketRate()
{
    Scripted s;
    SeriesModel model(s.monitor.get());
    model.setMeter(u"m1"_s);
    TrafficChart chart(TrafficChart::Kind::PacketRate);
    chart.show();
    QVERIFY(QTest::qWaitForWindowExposed(&chart));
    chart.setModel(&model);
    s.second(1);
    s.second(2);
    s.second(3);
    // Packets are shown as they are (no unit conversion).
    QVERIFY(samePoints(chart.txPoints(), model.points(SeriesModel::TxPps), 1));
    QVERIFY(samePoints(chart.rxPoints(), model.points(SeriesModel::RxPps), 1));
    QCOMPARE(chart.txPoints().last().y(), 3.0);
    QCOMPARE(chart.rxPoints().last().y(), 6.0);
    QCOMPARE(valueAxisOf(chart)->max(), 6.0 * 1.1);
    QCOMPARE(valueAxisOf(chart)->titleText(), TrafficChart::tr("packets/s"));
}

void TstTrafficChart::hiddenChartCatchesUpOnShow()
{
    Scripted s;
    SeriesModel model(s.monitor.get());
    TrafficChart chart(TrafficChart::Kind::Bandwidth);
    chart.setModel(&model); // never shown yet: nothing drawn
    QCOMPARE(chart.updateCount(), 0);
    s.second(1);
    s.second(2);
    QCOMPARE(chart.updateCount(), 0);
    QVERIFY(chart.txPoints().isEmpty());

    chart.show();
    QVERIFY(QTest::qWaitForWindowExposed(&chart));
    QCOMPARE(chart.updateCount(), 1); // one catch-up, not one per missed tick
    QVERIFY(samePoints(chart.txPoints(), model.points(SeriesModel::TxBps), 1000));
    QCOMPARE(chart.txPoints().size(), 2);

    chart.hide();
    s.second(3);
    s.second(4);
    s.second(5);
    QCOMPARE(chart.updateCount(), 1);
    QCOMPARE(chart.txPoints().size(), 2);
    chart.show();
    QCOMPARE(chart.updateCount(), 2);
    QCOMPARE(chart.txPoints().size(), 5);
    QVERIFY(samePoints(chart.rxPoints(), model.points(SeriesModel::RxBps), 1000));

    // Shown again with nothing new: no work.
    chart.hide();
    chart.show();
    QCOMPARE(chart.updateCount(), 2);
}

void TstTrafficChart::historyRows_data()
{
    QTest::addColumn<int>("kind");
    QTest::addColumn<double>("expectedMax"); // the value axis: 1.1 × the highest shown value
    QTest::addColumn<double>("firstTx");
    QTest::addColumn<double>("lastRx");
    QTest::newRow("bandwidth-kbit") << int(TrafficChart::Kind::Bandwidth) << 12.5 * 1.1 << 1.5 << 12.5;
    QTest::newRow("packet-rate") << int(TrafficChart::Kind::PacketRate) << 9.25 * 1.1 << 3.0 << 9.25;
}

void TstTrafficChart::historyRows()
{
    QFETCH(int, kind);
    QFETCH(double, expectedMax);
    QFETCH(double, firstTx);
    QFETCH(double, lastRx);

    Scripted s;
    SeriesModel model(s.monitor.get());
    QAbstractItemModelTester tester(&model);
    TrafficChart chart {TrafficChart::Kind(kind)};
    chart.show();
    QVERIFY(QTest::qWaitForWindowExposed(&chart));
    chart.setModel(&model);
    s.second(1);

    const std::vector<MetricsRow> rows = {historyRow(kT0 - 180'000, 1500, 2000, 3, 4),
        historyRow(kT0 - 120'000, 8000, 9000, 5, 6), historyRow(kT0 - 60'000, 4000, 12'500, 7, 9.25)};
    const int before = chart.updateCount();
    model.setHistory(rows);
    QVERIFY(chart.updateCount() > before);
    QCOMPARE(chart.txPoints().size(), 3);
    QCOMPARE(chart.txPoints().first().x(), double(kT0 - 180'000));
    QCOMPARE(chart.txPoints().first().y(), firstTx);
    QCOMPARE(chart.rxPoints().last().y(), lastRx);
    QCOMPARE(timeAxisOf(chart)->format(), u"dd.MM hh:mm"_s);
    QCOMPARE(timeAxisOf(chart)->min().toMSecsSinceEpoch(), kT0 - 180'000);
    QCOMPARE(timeAxisOf(chart)->max().toMSecsSinceEpoch(), kT0 - 60'000);
    QCOMPARE(valueAxisOf(chart)->max(), expectedMax);

    // History does not move with ticks; back to live it does again.
    const int afterHistory = chart.updateCount();
    s.second(2);
    QCOMPARE(chart.updateCount(), afterHistory);
    QCOMPARE(chart.txPoints().size(), 3);
    model.setMeter(QString());
    QCOMPARE(timeAxisOf(chart)->format(), u"hh:mm:ss"_s);
    QCOMPARE(chart.txPoints().size(), 2);
}

void TstTrafficChart::emptyAndRemovedModel()
{
    TrafficChart chart(TrafficChart::Kind::Bandwidth);
    chart.show();
    QVERIFY(QTest::qWaitForWindowExposed(&chart));
    QVERIFY(chart.txPoints().isEmpty());
    // No data: the value axis keeps a readable 0..1 range, never 0..0.
    chart.setModel(nullptr);
    QCOMPARE(valueAxisOf(chart)->max(), 1.0);
    QVERIFY(timeAxisOf(chart)->max() > timeAxisOf(chart)->min());

    Scripted s;
    auto model = std::make_unique<SeriesModel>(s.monitor.get());
    chart.setModel(model.get());
    s.second(1);
    s.second(2);
    QCOMPARE(chart.txPoints().size(), 2);
    model.reset(); // deleted under the chart: it empties instead of dangling
    QCOMPARE(chart.model(), nullptr);
    QVERIFY(chart.txPoints().isEmpty());
    s.second(3);
    QVERIFY(chart.txPoints().isEmpty());
}

void TstTrafficChart::retitlesOnLanguageChange_data()
{
    QTest::addColumn<int>("kind");
    QTest::addColumn<QString>("title");
    QTest::addColumn<QString>("axis");
    QTest::addColumn<QString>("txName");
    QTest::newRow("bandwidth") << int(TrafficChart::Kind::Bandwidth) << u"Bandwidth"_s << u"kbit/s"_s
                               << u"TX (upload)"_s;
    QTest::newRow("packet-rate") << int(TrafficChart::Kind::PacketRate) << u"Packet rate"_s << u"packets/s"_s
                                 << u"TX packets"_s;
}

void TstTrafficChart::retitlesOnLanguageChange()
{
    QFETCH(int, kind);
    QFETCH(QString, title);
    QFETCH(QString, axis);
    QFETCH(QString, txName);

    TrafficChart chart {TrafficChart::Kind(kind)};
    QChart *c = chartOf(chart);
    QCOMPARE(c->title(), title);
    QCOMPARE(valueAxisOf(chart)->titleText(), axis);
    auto *tx = qobject_cast<QLineSeries *>(c->series().value(0));
    QVERIFY(tx);
    QCOMPARE(tx->name(), txName);

    MarkingTranslator translator("TrafficChart", u"ES:"_s, QString());
    QVERIFY(QCoreApplication::installTranslator(&translator));
    QTRY_COMPARE(c->title(), u"ES:"_s + title);
    QCOMPARE(valueAxisOf(chart)->titleText(), u"ES:"_s + axis);
    QCOMPARE(tx->name(), u"ES:"_s + txName);
    QCOMPARE(timeAxisOf(chart)->titleText(), u"ES:Time"_s);

    QVERIFY(QCoreApplication::removeTranslator(&translator));
    QTRY_COMPARE(c->title(), title);
    QCOMPARE(tx->name(), txName);
}

QTEST_MAIN(TstTrafficChart)
#include "tst_trafficchart.moc"
