#include "markingtranslator.h"

#include "monitoringpage.h"
#include "readertestdb.h"
#include "trafficchart.h"

#include <displayformat.h>
#include <metertablemodel.h>
#include <trafficmonitor.h>

#include <QtCore/QLocale>
#include <QtCore/QSet>
#include <QtCore/QStandardPaths>
#include <QtGui/QPixmap>
#include <QtTest/QAbstractItemModelTester>
#include <QtTest/QTest>
#include <QtWidgets/QComboBox>
#include <QtWidgets/QGroupBox>
#include <QtWidgets/QLabel>
#include <QtWidgets/QTableView>

#include <memory>

using namespace Qt::StringLiterals;
using monitor::MetricsRow;
using monitor::TrafficMonitor;
using Range = MonitoringPage::Range;

namespace {

const QString kDash = u"\u2014"_s;

// A monitor on a hand-moved clock that starts at the real time, so rows written "an hour ago"
// fall in the page's history ranges.
struct Scripted {
    Scripted() : nowMs(std::make_shared<qint64>(QDateTime::currentMSecsSinceEpoch()))
    {
        TrafficMonitor::Options options;
        options.autoTick = false;
        options.clock = [clock = nowMs] { return *clock; };
        options.monotonicClock = [clock = nowMs, start = *nowMs] { return *clock - start; };
        monitor = std::make_unique<TrafficMonitor>(options);
    }
    void tick()
    {
        *nowMs += 1000;
        monitor->tick();
    }
    void traffic(const QString &id, const polling::TrafficCounters &counters, std::vector<quint32> rttUs = {})
    {
        polling::TrafficDelta delta;
        polling::MeterTraffic m;
        m.meterId = id;
        m.counters = counters;
        m.rttBegin = 0;
        m.rttCount = quint32(rttUs.size());
        delta.meters.push_back(m);
        delta.rttUs = std::move(rttUs);
        monitor->addTraffic(delta);
    }

    std::shared_ptr<qint64> nowMs;
    std::unique_ptr<TrafficMonitor> monitor;
};

polling::TrafficCounters counters(quint64 sent, quint64 received, quint64 framesSent, quint64 framesReceived,
    quint64 requests, quint64 responses)
{
    polling::TrafficCounters c;
    c.bytesSent = sent;
    c.bytesReceived = received;
    c.framesSent = framesSent;
    c.framesReceived = framesReceived;
    c.requestsSent = requests;
    c.responsesReceived = responses;
    return c;
}

// Three meters, two seconds (the figures worked out by hand in the _data rows):
//  second 1: m1 sends 1,234 B in 10 frames, receives 3,000 B in 12 (10 requests, 9 responses,
//            7 values, 2 polls of which 1 completed, RTT 10 ms and 30 ms); m2 500 B / 500 B in
//            5 / 5 frames; m3 only known; one MQTT message of 250 packet bytes (m1 150 B and
//            6 values, m2 100 B and 3 values); 3 messages (1,500 B) waiting in the outbox;
//  second 2: m1 sends 200 B in 2 frames, receives 700 B in 3 (2 requests, 2 responses).
void feedSite(Scripted &s)
{
    s.monitor->addMeter(u"m1"_s);
    s.monitor->addMeter(u"m2"_s);
    s.monitor->addMeter(u"m3"_s);
    polling::TrafficCounters m1 = counters(1234, 3000, 10, 12, 10, 9);
    m1.valuesRead = 7;
    m1.pollsAttempted = 2;
    m1.pollsCompleted = 1;
    m1.rttCount = 2;
    m1.rttSumUs = 40'000;
    m1.rttMaxUs = 30'000;
    s.traffic(u"m1"_s, m1, {10'000, 30'000});
    s.traffic(u"m2"_s, counters(500, 500, 5, 5, 5, 5));
    monitor::MqttAck ack;
    ack.timestampMs = *s.nowMs;
    ack.payloadBytes = 200;
    ack.packetBytes = 250;
    ack.shares = {{u"m1"_s, 120, 150, 6}, {u"m2"_s, 80, 100, 3}};
    s.monitor->addMqttAck(ack);
    s.monitor->setOutboxStatus({3, 1500, *s.nowMs, -1});
    s.tick();
    s.traffic(u"m1"_s, counters(200, 700, 2, 3, 2, 2));
    s.tick();
}

QString labelText(const MonitoringPage &page, const QString &name)
{
    const auto *label = page.findChild<QLabel *>(name);
    return label ? label->text() : u"<no label %1>"_s.arg(name);
}

QStringList comboItems(const QComboBox *combo)
{
    QStringList items;
    for (int i = 0; i < combo->count(); ++i)
        items.append(combo->itemText(i));
    return items;
}

MetricsRow metricsRow(const QString &meterId, qint64 ts, double tx, double rx, double txPs, double rxPs)
{
    MetricsRow row;
    row.meterId = meterId;
    row.timestampMs = ts;
    row.periodS = 60;
    row.bandwidthTxBps = tx;
    row.bandwidthRxBps = rx;
    row.packetsTxPs = txPs;
    row.packetsRxPs = rxPs;
    return row;
}

} // namespace

class TstMonitoringPage : public QObject {
    Q_OBJECT

private:
    // A page shown at a fixed size (figures only update while visible).
    std::unique_ptr<MonitoringPage> shownPage()
    {
        auto page = std::make_unique<MonitoringPage>();
        page->resize(1400, 900);
        page->show();
        if (!QTest::qWaitForWindowExposed(page.get()))
            return nullptr;
        return page;
    }

private Q_SLOTS:
    void initTestCase();
    void figures_data();
    void figures();
    void issuesShownWhenNonZero();
    void hiddenPageCatchesUpOnShow();
    void meterComboFollowsMonitor();
    void countersTableSelectsMeter();
    void countersTableSorts();
    void liveChartsFollowMeter();
    void historyFromDatabase_data();
    void historyFromDatabase();
    void brokenDatabaseShowsError();
    void nullMonitorShowsDashes();
    void monitorDestroyed();
    void chartImage();
    void retranslates();
};

void TstMonitoringPage::initTestCase()
{
    QStandardPaths::setTestModeEnabled(true);
    // Figures are compared as text: one locale for digit grouping whatever the machine's.
    QLocale::setDefault(QLocale(QLocale::English, QLocale::UnitedStates));
}

void TstMonitoringPage::figures_data()
{
    QTest::addColumn<QString>("meter");
    QTest::addColumn<QString>("label");
    QTest::addColumn<QString>("expected");

    // All meters: the total of the three, MQTT messages counted once.
    const QList<std::pair<const char *, QString>> all = {
        {"valueUpload", u"0.2 KB/s"_s}, // second 2: 200 B sent
        {"valueDownload", u"0.7 KB/s"_s},
        {"valueTotal", u"0.9 KB/s"_s},
        {"valuePacketsTx", u"2.0 pkt/s"_s},
        {"valuePacketsRx", u"3.0 pkt/s"_s},
        {"valueRequests", u"17"_s},
        {"valueResponses", u"16"_s},
        {"valueAvgPayload", u"113.8 B"_s}, // 1,934 B / 17 frames sent
        {"valueMqttMessages", u"1"_s},
        {"valueDlmsSent", u"1.9 KB"_s},
        {"valueDlmsReceived", u"4.2 KB"_s},
        {"valueMqttSent", u"250 B"_s},
        {"valueTotalData", u"6.4 KB"_s}, // 1,934 + 4,200 + 250
        {"valueAvgUpload", u"8.7 kbit/s"_s}, // (1,984 + 200) B × 8 / 2 s
        {"valuePeakUpload", u"15.9 kbit/s"_s}, // 1,984 B × 8 in second 1
        {"valueAvgDownload", u"16.8 kbit/s"_s},
        {"valuePeakDownload", u"28.0 kbit/s"_s},
        {"valueBytesPerReading", u"876.3 B"_s}, // 6,134 B / 7 values
        {"valueMqttBytesPerReading", u"27.8 B"_s}, // 250 B / 9 values
        {"valueRttAvg", u"20.0 ms"_s},
        {"valueRttP95", u"30.0 ms"_s},
        {"valueRttMax", u"30.0 ms"_s},
        {"valueSuccessRate", u"50.0 %"_s},
        {"valueOutbox", u"3 waiting, 1.5 KB"_s},
        {"valueIfErrors", u"0"_s},
        {"valueIfDrops", u"0"_s},
        {"valueTimeouts", u"0"_s},
        {"valueReconnects", u"0"_s},
    };
    for (const auto &[label, expected] : all)
        QTest::addRow("all-%s", label) << QString() << QString::fromLatin1(label) << expected;

    // Meter m1 alone: its share of the MQTT message, no site-only figures.
    const QList<std::pair<const char *, QString>> m1 = {
        {"valueUpload", u"0.2 KB/s"_s},
        {"valueDownload", u"0.7 KB/s"_s},
        {"valueTotal", u"0.9 KB/s"_s},
        {"valuePacketsTx", u"2.0 pkt/s"_s},
        {"valuePacketsRx", u"3.0 pkt/s"_s},
        {"valueRequests", u"12"_s},
        {"valueResponses", u"11"_s},
        {"valueAvgPayload", u"119.5 B"_s}, // 1,434 B / 12 frames
        {"valueMqttMessages", u"1"_s},
        {"valueDlmsSent", u"1.4 KB"_s},
        {"valueDlmsReceived", u"3.7 KB"_s},
        {"valueMqttSent", u"150 B"_s},
        {"valueTotalData", u"5.3 KB"_s},
        {"valueAvgUpload", u"6.3 kbit/s"_s}, // (1,384 + 200) B × 8 / 2 s
        {"valuePeakUpload", u"11.1 kbit/s"_s},
        {"valueAvgDownload", u"14.8 kbit/s"_s},
        {"valuePeakDownload", u"24.0 kbit/s"_s},
        {"valueBytesPerReading", u"733.4 B"_s}, // 5,134 B / 7 values
        {"valueMqttBytesPerReading", u"25.0 B"_s},
        {"valueRttAvg", u"20.0 ms"_s},
        {"valueSuccessRate", u"50.0 %"_s},
        {"valueOutbox", kDash},
        {"valueTimeouts", u"0"_s},
    };
    for (const auto &[label, expected] : m1)
        QTest::addRow("m1-%s", label) << u"m1"_s << QString::fromLatin1(label) << expected;

    // A meter that never talked: zeros and dashes, no division by zero.
    const QList<std::pair<const char *, QString>> m3 = {
        {"valueUpload", u"0.0 KB/s"_s},
        {"valueRequests", u"0"_s},
        {"valueAvgPayload", kDash},
        {"valueDlmsSent", u"0 B"_s},
        {"valueBytesPerReading", kDash},
        {"valueRttAvg", kDash},
        {"valueSuccessRate", kDash},
    };
    for (const auto &[label, expected] : m3)
        QTest::addRow("m3-%s", label) << u"m3"_s << QString::fromLatin1(label) << expected;
}

void TstMonitoringPage::figures()
{
    QFETCH(QString, meter);
    QFETCH(QString, label);
    QFETCH(QString, expected);

    Scripted s;
    auto page = shownPage();
    QVERIFY(page);
    page->setMonitor(s.monitor.get());
    feedSite(s);
    page->setMeter(meter);
    QCOMPARE(page->meter(), meter);
    QCOMPARE(labelText(*page, label), expected);
    // Not shown for a meter: the outbox and the interface belong to the site.
    const auto *outbox = page->findChild<QLabel *>(u"valueOutbox"_s);
    QCOMPARE(outbox->isVisible(), meter.isEmpty());
}

void TstMonitoringPage::issuesShownWhenNonZero()
{
    Scripted s;
    auto page = shownPage();
    QVERIFY(page);
    page->setMonitor(s.monitor.get());
    feedSite(s);
    auto *issues = page->findChild<QGroupBox *>(u"issuesGroup"_s);
    QVERIFY(issues);
    QVERIFY(!issues->isVisible());

    monitor::InterfaceRates rates;
    rates.rxErrors = 2;
    rates.txErrors = 1;
    rates.txDrops = 4;
    s.monitor->setInterfaceRates(rates);
    s.tick();
    QVERIFY(issues->isVisible());
    QCOMPARE(labelText(*page, u"valueIfErrors"_s), u"3"_s);
    QCOMPARE(labelText(*page, u"valueIfDrops"_s), u"4"_s);
    QCOMPARE(page->findChild<QLabel *>(u"valueIfErrors"_s)->toolTip(),
        MonitoringPage::tr("Received: %1, sent: %2").arg(u"2"_s, u"1"_s));

    // The interface is the site's: meter m2 has no issue of its own yet.
    page->setMeter(u"m2"_s);
    QVERIFY(!issues->isVisible());
    polling::TrafficCounters timeout;
    timeout.timeouts = 1;
    timeout.reconnects = 2;
    s.traffic(u"m2"_s, timeout);
    s.tick();
    QVERIFY(issues->isVisible());
    QCOMPARE(labelText(*page, u"valueTimeouts"_s), u"1"_s);
    QCOMPARE(labelText(*page, u"valueReconnects"_s), u"2"_s);
    QVERIFY(!page->findChild<QLabel *>(u"valueIfErrors"_s)->isVisible());

    // m1 had none.
    page->setMeter(u"m1"_s);
    QVERIFY(!issues->isVisible());
}

void TstMonitoringPage::hiddenPageCatchesUpOnShow()
{
    Scripted s;
    auto page = shownPage();
    QVERIFY(page);
    page->setMonitor(s.monitor.get());
    s.monitor->addMeter(u"m1"_s);
    s.tick();
    QCOMPARE(labelText(*page, u"valueRequests"_s), u"0"_s);

    page->hide();
    s.traffic(u"m1"_s, counters(10, 10, 1, 1, 1234, 1));
    s.tick();
    // Nothing done while hidden.
    QCOMPARE(labelText(*page, u"valueRequests"_s), u"0"_s);
    page->show();
    QCOMPARE(labelText(*page, u"valueRequests"_s), u"1,234"_s);
}

void TstMonitoringPage::meterComboFollowsMonitor()
{
    Scripted s;
    s.monitor->addMeter(u"m1"_s);
    auto page = shownPage();
    QVERIFY(page);
    page->setMonitor(s.monitor.get());
    auto *combo = page->findChild<QComboBox *>(u"meterCombo"_s);
    QVERIFY(combo);
    const QString all = MonitoringPage::tr("All meters");
    QCOMPARE(comboItems(combo), QStringList({all, u"m1"_s}));

    s.monitor->addMeter(u"m2"_s);
    s.monitor->addMeter(u"m3"_s);
    QCOMPARE(comboItems(combo), QStringList({all, u"m1"_s, u"m2"_s, u"m3"_s}));

    // Choosing in the combo is choosing the meter.
    combo->setCurrentIndex(3);
    QCOMPARE(page->meter(), u"m3"_s);
    page->setMeter(u"m2"_s);
    QCOMPARE(combo->currentText(), u"m2"_s);

    // The shown meter goes away: back to all meters.
    s.monitor->removeMeter(u"m2"_s);
    QCOMPARE(comboItems(combo), QStringList({all, u"m1"_s, u"m3"_s}));
    QCOMPARE(page->meter(), QString());
    QCOMPARE(combo->currentIndex(), 0);

    // Another one goes: the selection stays.
    page->setMeter(u"m3"_s);
    s.monitor->removeMeter(u"m1"_s);
    QCOMPARE(comboItems(combo), QStringList({all, u"m3"_s}));
    QCOMPARE(page->meter(), u"m3"_s);
    QCOMPARE(combo->currentText(), u"m3"_s);

    // An unknown meter cannot be selected.
    page->setMeter(u"nope"_s);
    QCOMPARE(page->meter(), QString());
}

void TstMonitoringPage::countersTableSelectsMeter()
{
    Scripted s;
    auto page = shownPage();
    QVERIFY(page);
    page->setMonitor(s.monitor.get());
    feedSite(s);
    auto *table = page->findChild<QTableView *>(u"countersTable"_s);
    QVERIFY(table);
    QAbstractItemModelTester tester(table->model());
    QCOMPARE(table->model()->rowCount(), 3);

    int row = -1;
    for (int r = 0; r < table->model()->rowCount(); ++r) {
        if (table->model()->index(r, 0).data(monitor::MeterTableModel::MeterIdRole).toString() == u"m2"_s)
            row = r;
    }
    QVERIFY(row >= 0);
    const QRect cell = table->visualRect(table->model()->index(row, 1));
    QVERIFY(cell.isValid());
    QTest::mouseClick(table->viewport(), Qt::LeftButton, {}, cell.center());
    QCOMPARE(page->meter(), u"m2"_s);
    QCOMPARE(page->findChild<QComboBox *>(u"meterCombo"_s)->currentText(), u"m2"_s);
    QCOMPARE(labelText(*page, u"valueRequests"_s), u"5"_s);

    // And the other way: the combo's meter is the table's selected row.
    page->setMeter(u"m1"_s);
    const QModelIndexList selected = table->selectionModel()->selectedRows();
    QCOMPARE(selected.size(), 1);
    QCOMPARE(selected.first().data(monitor::MeterTableModel::MeterIdRole).toString(), u"m1"_s);
    page->setMeter(QString());
    QVERIFY(table->selectionModel()->selectedRows().isEmpty());
}

void TstMonitoringPage::countersTableSorts()
{
    Scripted s;
    auto page = shownPage();
    QVERIFY(page);
    page->setMonitor(s.monitor.get());
    feedSite(s);
    auto *table = page->findChild<QTableView *>(u"countersTable"_s);
    QVERIFY(table->isSortingEnabled());
    // By the raw number, not the text: m2's 5 requests before m1's 12 ascending.
    table->sortByColumn(monitor::MeterTableModel::Requests, Qt::AscendingOrder);
    auto idAt = [table](int r) {
        return table->model()->index(r, 0).data(monitor::MeterTableModel::MeterIdRole).toString();
    };
    QCOMPARE(QStringList({idAt(0), idAt(1), idAt(2)}), QStringList({u"m3"_s, u"m2"_s, u"m1"_s}));
    table->sortByColumn(monitor::MeterTableModel::Requests, Qt::DescendingOrder);
    QCOMPARE(QStringList({idAt(0), idAt(1), idAt(2)}), QStringList({u"m1"_s, u"m2"_s, u"m3"_s}));

    // Sorted by a live figure: re-sorted every 5 ticks, not on every one.
    s.traffic(u"m3"_s, counters(1, 1, 1, 1, 100, 1));
    for (int i = 0; i < 4; ++i) {
        s.tick();
        QCOMPARE(idAt(0), u"m1"_s);
    }
    s.tick();
    QCOMPARE(QStringList({idAt(0), idAt(1), idAt(2)}), QStringList({u"m3"_s, u"m1"_s, u"m2"_s}));

    // A new meter is sorted in (once per burst), not appended.
    table->sortByColumn(monitor::MeterTableModel::Meter, Qt::AscendingOrder);
    s.monitor->addMeter(u"m0"_s);
    s.monitor->addMeter(u"m25"_s);
    QTRY_COMPARE(idAt(0), u"m0"_s);
    QCOMPARE(QStringList({idAt(1), idAt(2), idAt(3), idAt(4)}),
        QStringList({u"m1"_s, u"m2"_s, u"m25"_s, u"m3"_s}));
}

void TstMonitoringPage::liveChartsFollowMeter()
{
    Scripted s;
    auto page = shownPage();
    QVERIFY(page);
    page->setMonitor(s.monitor.get());
    feedSite(s);
    auto *bandwidth = page->findChild<TrafficChart *>(u"bandwidthChart"_s);
    auto *packets = page->findChild<TrafficChart *>(u"packetRateChart"_s);
    QVERIFY(bandwidth && packets);
    QCOMPARE(bandwidth->kind(), TrafficChart::Kind::Bandwidth);
    QCOMPARE(packets->kind(), TrafficChart::Kind::PacketRate);
    // All meters: second 1 sent 1,984 B = 15.872 kbit/s.
    QCOMPARE(bandwidth->txPoints().size(), 2);
    QCOMPARE(bandwidth->txPoints().first().y(), 15.872);
    QCOMPARE(packets->rxPoints().last().y(), 3.0);

    page->setMeter(u"m2"_s);
    QCOMPARE(bandwidth->txPoints().size(), 2);
    QCOMPARE(bandwidth->txPoints().first().y(), 4.8); // 500 B + 100 B MQTT share
    QCOMPARE(bandwidth->txPoints().last().y(), 0.0);
    const int updates = bandwidth->updateCount();
    s.tick();
    QCOMPARE(bandwidth->updateCount(), updates + 1);
    QCOMPARE(bandwidth->txPoints().size(), 3);
}

void TstMonitoringPage::historyFromDatabase_data()
{
    QTest::addColumn<QString>("meter");
    QTest::addColumn<int>("range");
    QTest::addColumn<QList<double>>("txKbits"); // the rows inside the range, oldest first

    // Rows at now − 3 days, − 5 h, − 50 min, − 2 min for the system and m1.
    QTest::newRow("all-hour") << QString() << int(Range::Hour) << QList<double>({3.0, 4.0});
    QTest::newRow("all-day") << QString() << int(Range::Day) << QList<double>({2.0, 3.0, 4.0});
    QTest::newRow("all-week") << QString() << int(Range::Week) << QList<double>({1.0, 2.0, 3.0, 4.0});
    QTest::newRow("m1-hour") << u"m1"_s << int(Range::Hour) << QList<double>({0.3, 0.4});
    QTest::newRow("m1-week") << u"m1"_s << int(Range::Week) << QList<double>({0.1, 0.2, 0.3, 0.4});
}

void TstMonitoringPage::historyFromDatabase()
{
    QFETCH(QString, meter);
    QFETCH(int, range);
    QFETCH(QList<double>, txKbits);

    Scripted s;
    feedSite(s);
    const qint64 now = *s.nowMs;
    readertest::TestDb db;
    QVERIFY(db.open());
    const qint64 ages[] = {3 * 24 * 3600'000LL, 5 * 3600'000LL, 50 * 60'000LL, 2 * 60'000LL};
    for (int i = 0; i < 4; ++i) {
        const qint64 ts = now - ages[i];
        QVERIFY(readertest::insertMetrics(
            db.db(), metricsRow(u"*"_s, ts, 1000.0 * (i + 1), 50.0 * (i + 1), i + 1, 2 * (i + 1))));
        QVERIFY(readertest::insertMetrics(
            db.db(), metricsRow(u"m1"_s, ts, 100.0 * (i + 1), 5.0 * (i + 1), i, i)));
    }
    // Newer than the range's end: never shown.
    QVERIFY(readertest::insertMetrics(db.db(), metricsRow(u"*"_s, now + 3600'000, 9e9, 9e9, 9, 9)));

    auto page = shownPage();
    QVERIFY(page);
    page->setMonitor(s.monitor.get());
    page->setDatabasePath(db.path());
    page->setMeter(meter);
    page->setRange(Range(range));
    QCOMPARE(page->range(), Range(range));
    QCOMPARE(page->findChild<QComboBox *>(u"rangeCombo"_s)->currentIndex(), range);

    auto *bandwidth = page->findChild<TrafficChart *>(u"bandwidthChart"_s);
    auto *packets = page->findChild<TrafficChart *>(u"packetRateChart"_s);
    QList<double> shown;
    for (const QPointF &p : bandwidth->txPoints())
        shown.append(p.y());
    QCOMPARE(shown, txKbits);
    const int firstRow = 4 - int(txKbits.size());
    QCOMPARE(qint64(bandwidth->txPoints().first().x()), now - ages[firstRow]);
    QCOMPARE(packets->rxPoints().size(), txKbits.size());
    QCOMPARE(packets->rxPoints().last().y(), meter.isEmpty() ? 8.0 : 3.0);
    QVERIFY(!page->findChild<QLabel *>(u"historyError"_s)->isVisible());

    // The figures stay live meanwhile; ticks do not touch the history charts.
    QCOMPARE(labelText(*page, u"valueMqttMessages"_s), u"1"_s);
    const int updates = bandwidth->updateCount();
    s.tick();
    QCOMPARE(bandwidth->updateCount(), updates);

    // Live again: the monitor's seconds.
    page->setRange(Range::Live);
    QCOMPARE(bandwidth->txPoints().size(), 3);
    QCOMPARE(qint64(bandwidth->txPoints().last().x()), *s.nowMs);
}

void TstMonitoringPage::brokenDatabaseShowsError()
{
    Scripted s;
    QTemporaryDir dir;
    auto page = shownPage();
    QVERIFY(page);
    page->setMonitor(s.monitor.get());
    feedSite(s);
    auto *error = page->findChild<QLabel *>(u"historyError"_s);
    QVERIFY(error);

    // No database at that path (read-only readers never create one).
    page->setDatabasePath(dir.filePath(u"missing/bridge.db"_s));
    page->setRange(Range::Day);
    QVERIFY(error->isVisible());
    QVERIFY(error->text().startsWith(MonitoringPage::tr("History unavailable: %1").arg(QString())));
    QVERIFY(error->text().size() > MonitoringPage::tr("History unavailable: %1").size());
    auto *bandwidth = page->findChild<TrafficChart *>(u"bandwidthChart"_s);
    QVERIFY(bandwidth->txPoints().isEmpty());

    // A file that is not a database.
    const QString junk = dir.filePath(u"junk.db"_s);
    {
        QFile f(junk);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(QByteArray(4096, 'x'));
    }
    page->setDatabasePath(junk);
    QVERIFY(error->isVisible());

    // Live needs no database.
    page->setRange(Range::Live);
    QVERIFY(!error->isVisible());
    QCOMPARE(bandwidth->txPoints().size(), 2);

    // A good database clears the error.
    readertest::TestDb db;
    QVERIFY(db.open());
    page->setDatabasePath(db.path());
    page->setRange(Range::Week);
    QVERIFY(!error->isVisible());
    QVERIFY(bandwidth->txPoints().isEmpty());
}

void TstMonitoringPage::nullMonitorShowsDashes()
{
    Scripted s;
    feedSite(s);
    readertest::TestDb db;
    QVERIFY(db.open());
    QVERIFY(readertest::insertMeter(db.db(), u"m1"_s, u"Main"_s));
    QVERIFY(readertest::insertMetrics(db.db(), metricsRow(u"m1"_s, *s.nowMs - 120'000, 2500, 500, 1, 1)));

    auto page = shownPage();
    QVERIFY(page);
    page->setMonitor(s.monitor.get());
    QCOMPARE(labelText(*page, u"valueRequests"_s), u"17"_s);
    page->setMonitor(nullptr);
    const QList<QLabel *> labels = page->findChildren<QLabel *>();
    int values = 0;
    for (const QLabel *label : labels) {
        if (!label->objectName().startsWith(u"value"_s))
            continue;
        ++values;
        QVERIFY2(label->text() == kDash, qPrintable(label->objectName() + u": "_s + label->text()));
    }
    QVERIFY(values >= 28);
    QVERIFY(!page->findChild<QGroupBox *>(u"issuesGroup"_s)->isVisible());
    auto *table = page->findChild<QTableView *>(u"countersTable"_s);
    QCOMPARE(table->model()->rowCount(), 0);
    auto *bandwidth = page->findChild<TrafficChart *>(u"bandwidthChart"_s);
    QVERIFY(bandwidth->txPoints().isEmpty());

    // Ticks of the old monitor reach nothing any more.
    s.tick();
    QCOMPARE(labelText(*page, u"valueRequests"_s), kDash);

    // History still works, for the meters the database knows.
    page->setDatabasePath(db.path());
    auto *combo = page->findChild<QComboBox *>(u"meterCombo"_s);
    QCOMPARE(comboItems(combo), QStringList({MonitoringPage::tr("All meters"), u"m1"_s}));
    page->setMeter(u"m1"_s);
    page->setRange(Range::Hour);
    QCOMPARE(bandwidth->txPoints().size(), 1);
    QCOMPARE(bandwidth->txPoints().first().y(), 2.5);
}

void TstMonitoringPage::monitorDestroyed()
{
    auto s = std::make_unique<Scripted>();
    auto page = shownPage();
    QVERIFY(page);
    page->setMonitor(s->monitor.get());
    feedSite(*s);
    QCOMPARE(labelText(*page, u"valueResponses"_s), u"16"_s);
    s.reset(); // the bridge stopped and took its monitor
    QCOMPARE(labelText(*page, u"valueResponses"_s), kDash);
    QCOMPARE(page->findChild<QComboBox *>(u"meterCombo"_s)->count(), 1);
    QVERIFY(page->findChild<TrafficChart *>(u"bandwidthChart"_s)->txPoints().isEmpty());
}

void TstMonitoringPage::chartImage()
{
    Scripted s;
    feedSite(s);
    // Never shown: both charts at the export size, caught up with the monitor.
    {
        MonitoringPage hidden;
        hidden.setMonitor(s.monitor.get());
        const QPixmap image = hidden.chartImage();
        QVERIFY(!image.isNull());
        QCOMPARE(image.size(), QSize(900, 640));
        QCOMPARE(hidden.findChild<TrafficChart *>(u"bandwidthChart"_s)->txPoints().size(), 2);
    }
    auto page = shownPage();
    QVERIFY(page);
    page->setMonitor(s.monitor.get());
    auto *bandwidth = page->findChild<TrafficChart *>(u"bandwidthChart"_s);
    auto *packets = page->findChild<TrafficChart *>(u"packetRateChart"_s);
    const QSize before = bandwidth->size();
    const QPixmap image = page->chartImage();
    QVERIFY(!image.isNull());
    QCOMPARE(image.size(),
        QSize(std::max(bandwidth->width(), packets->width()), bandwidth->height() + packets->height()));
    // Something was drawn (titles, axes, lines): more than one colour down the middle.
    const QImage pixels = image.toImage();
    QSet<QRgb> colours;
    for (int y = 0; y < pixels.height(); ++y)
        colours.insert(pixels.pixel(pixels.width() / 2, y));
    QVERIFY(colours.size() > 2);
    QCOMPARE(bandwidth->size(), before);
}

void TstMonitoringPage::retranslates()
{
    Scripted s;
    auto page = shownPage();
    QVERIFY(page);
    page->setMonitor(s.monitor.get());
    feedSite(s);
    auto *combo = page->findChild<QComboBox *>(u"meterCombo"_s);
    auto *group = page->findChild<QGroupBox *>(u"bandwidthGroup"_s);
    const QString title = group->title();
    MarkingTranslator translator("MonitoringPage", u"ES:"_s, QString());
    QVERIFY(QCoreApplication::installTranslator(&translator));
    QTRY_COMPARE(combo->itemText(0), u"ES:All meters"_s);
    QCOMPARE(group->title(), u"ES:"_s + title);
    QVERIFY(labelText(*page, u"valueOutbox"_s).startsWith(u"ES:"_s));
    QVERIFY(page->findChild<QComboBox *>(u"rangeCombo"_s)->itemText(0).startsWith(u"ES:"_s));
    QVERIFY(QCoreApplication::removeTranslator(&translator));
    QTRY_COMPARE(combo->itemText(0), u"All meters"_s);
    QCOMPARE(labelText(*page, u"valueOutbox"_s), u"3 waiting, 1.5 KB"_s);
}

QTEST_MAIN(TstMonitoringPage)
#include "tst_monitoringpage.moc"
