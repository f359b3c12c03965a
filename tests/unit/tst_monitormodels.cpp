#include "metertablemodel.h"
#include "seriesmodel.h"
#include "trafficmonitor.h"

#include <QtTest/QAbstractItemModelTester>
#include <QtTest/QSignalSpy>
#include <QtTest/QTest>

#include <QtCore/QScopeGuard>
#include <QtCore/QSet>
#include <QtCore/QTranslator>

#include <memory>

using namespace Qt::StringLiterals;
using monitor::MeterTableModel;
using monitor::MetricsRow;
using monitor::SecondSample;
using monitor::SeriesModel;
using monitor::TrafficMonitor;
using polling::MeterTraffic;
using polling::TrafficCounters;
using polling::TrafficDelta;

Q_DECLARE_METATYPE(polling::TrafficCounters)

namespace {

constexpr qint64 kT0 = 1'700'000'000'000; // 2023-11-14T22:13:20Z
const QString kDash = u"\u2014"_s;

struct Fixture {
    explicit Fixture(int window = 5) : nowMs(std::make_shared<qint64>(kT0))
    {
        TrafficMonitor::Options options;
        options.autoTick = false;
        options.windowSeconds = window;
        options.clock = [clock = nowMs] { return *clock; };
        options.monotonicClock = [clock = nowMs] { return *clock - kT0; };
        monitor = std::make_unique<TrafficMonitor>(options);
    }
    void tickAfter(qint64 ms)
    {
        *nowMs += ms;
        monitor->tick();
    }
    void traffic(
        const QString &id, quint64 sent, quint64 received, quint64 framesSent = 1, quint64 framesReceived = 1)
    {
        TrafficDelta d;
        MeterTraffic m;
        m.meterId = id;
        m.counters.bytesSent = sent;
        m.counters.bytesReceived = received;
        m.counters.framesSent = framesSent;
        m.counters.framesReceived = framesReceived;
        d.meters.push_back(m);
        monitor->addTraffic(d);
    }

    std::shared_ptr<qint64> nowMs;
    std::unique_ptr<TrafficMonitor> monitor;
};

QStringList column0(const QAbstractItemModel &model)
{
    QStringList ids;
    for (int row = 0; row < model.rowCount(); ++row)
        ids.append(model.index(row, 0).data().toString());
    return ids;
}

// Marks every string looked up in the models' contexts, so a test sees what went through tr().
class MarkingTranslator final : public QTranslator {
public:
    QString translate(
        const char *context, const char *sourceText, const char * = nullptr, int = -1) const override
    {
        const auto ctx = QLatin1StringView(context);
        if (ctx != "monitor::MeterTableModel"_L1 && ctx != "monitor::SeriesModel"_L1
            && ctx != "monitor::Format"_L1)
            return {};
        return u"<"_s + QString::fromUtf8(sourceText) + u">"_s;
    }
    bool isEmpty() const override { return false; }
};

} // namespace

class tst_MonitorModels : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void tableFollowsMonitor();
    void tableCreatedOnExistingMonitor();
    void tableOneDataChangedPerTick();
    void tableFormatting_data();
    void tableFormatting();
    void tableMqttAndRates();
    void tableRoles();
    void tableHeaders();
    void seriesLiveTotal();
    void seriesLiveMeter();
    void seriesMeterRemovedAndBack();
    void seriesHistory();
    void seriesHeaders();
    void stringsTranslated();
    void monitorDestroyedFirst();
};

void tst_MonitorModels::tableFollowsMonitor()
{
    Fixture f;
    MeterTableModel model(f.monitor.get());
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::Fatal);
    QSignalSpy inserted(&model, &QAbstractItemModel::rowsInserted);
    QSignalSpy removed(&model, &QAbstractItemModel::rowsRemoved);
    QCOMPARE(model.rowCount(), 0);
    QCOMPARE(model.columnCount(), int(MeterTableModel::ColumnCount));

    f.monitor->addMeter(u"a"_s);
    f.traffic(u"b"_s, 10, 20);
    f.traffic(u"c"_s, 30, 40);
    QCOMPARE(inserted.size(), 3);
    QCOMPARE(column0(model), QStringList({u"a"_s, u"b"_s, u"c"_s}));
    for (int i = 0; i < 8; ++i) { // past the window
        f.traffic(u"b"_s, 1, 1);
        f.tickAfter(1000);
    }
    QCOMPARE(model.index(1, MeterTableModel::BytesSent).data(MeterTableModel::SortRole).toULongLong(), 18u);

    f.monitor->removeMeter(u"b"_s);
    QCOMPARE(removed.size(), 1);
    QCOMPARE(removed.at(0).at(1).toInt(), 1);
    QCOMPARE(column0(model), QStringList({u"a"_s, u"c"_s}));
    // The row below moved up with its own figures.
    QCOMPARE(model.index(1, MeterTableModel::BytesSent).data(MeterTableModel::SortRole).toULongLong(), 30u);
    f.tickAfter(1000);
    f.monitor->removeMeter(u"a"_s);
    f.traffic(u"b"_s, 5, 5);
    QCOMPARE(column0(model), QStringList({u"c"_s, u"b"_s}));
    QCOMPARE(model.index(1, MeterTableModel::BytesSent).data(MeterTableModel::SortRole).toULongLong(), 5u);
    f.monitor->removeMeter(u"c"_s);
    f.monitor->removeMeter(u"b"_s);
    QCOMPARE(model.rowCount(), 0);
    f.tickAfter(1000);
}

void tst_MonitorModels::tableCreatedOnExistingMonitor()
{
    Fixture f;
    f.traffic(u"x"_s, 1, 2);
    f.traffic(u"y"_s, 3, 4);
    MeterTableModel model(f.monitor.get());
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::Fatal);
    QCOMPARE(column0(model), QStringList({u"x"_s, u"y"_s}));
    QCOMPARE(
        model.index(1, MeterTableModel::BytesReceived).data(MeterTableModel::SortRole).toULongLong(), 4u);
}

void tst_MonitorModels::tableOneDataChangedPerTick()
{
    Fixture f;
    MeterTableModel model(f.monitor.get());
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::Fatal);
    QSignalSpy changed(&model, &QAbstractItemModel::dataChanged);
    f.tickAfter(1000); // no rows: nothing to refresh
    QCOMPARE(changed.size(), 0);
    for (int i = 0; i < 4; ++i)
        f.monitor->addMeter(u"m%1"_s.arg(i));
    f.traffic(u"m2"_s, 100, 100);
    QCOMPARE(changed.size(), 0); // between ticks the table stands still
    f.tickAfter(1000);
    QCOMPARE(changed.size(), 1);
    const auto topLeft = changed.at(0).at(0).value<QModelIndex>();
    const auto bottomRight = changed.at(0).at(1).value<QModelIndex>();
    const auto roles = changed.at(0).at(2).value<QList<int>>();
    QCOMPARE(topLeft, model.index(0, 0));
    QCOMPARE(bottomRight, model.index(3, MeterTableModel::ColumnCount - 1));
    QVERIFY(roles.contains(Qt::DisplayRole));
    QVERIFY(roles.contains(MeterTableModel::SortRole));
}

void tst_MonitorModels::tableFormatting_data()
{
    QTest::addColumn<TrafficCounters>("counters");
    QTest::addColumn<int>("column");
    QTest::addColumn<QString>("text");
    QTest::addColumn<double>("sort");

    TrafficCounters c;
    c.bytesSent = 512;
    QTest::newRow("bytes-plain") << c << int(MeterTableModel::BytesSent) << u"512 B"_s << 512.0;
    c.bytesSent = 1234;
    QTest::newRow("bytes-kilo-is-1000") << c << int(MeterTableModel::BytesSent) << u"1.2 KB"_s << 1234.0;
    c.bytesSent = 3'400'000;
    QTest::newRow("bytes-mega") << c << int(MeterTableModel::BytesSent) << u"3.4 MB"_s << 3.4e6;
    c = {};
    c.bytesReceived = 5'600'000'000;
    QTest::newRow("bytes-giga") << c << int(MeterTableModel::BytesReceived) << u"5.6 GB"_s << 5.6e9;
    c = {};
    c.requestsSent = 123456;
    QTest::newRow("count-raw") << c << int(MeterTableModel::Requests) << u"123456"_s << 123456.0;
    c = {};
    c.bytesSent = 100;
    c.framesSent = 8;
    QTest::newRow("avg-request") << c << int(MeterTableModel::AvgRequestSize) << u"12.5 B"_s << 12.5;
    QTest::newRow("avg-response-no-frames") << c << int(MeterTableModel::AvgResponseSize) << kDash << 0.0;
    c = {};
    c.rttCount = 2;
    c.rttSumUs = 24'600;
    c.rttMaxUs = 20'000;
    QTest::newRow("rtt-avg") << c << int(MeterTableModel::RttAvg) << u"12.3 ms"_s << 12.3;
    QTest::newRow("rtt-max") << c << int(MeterTableModel::RttMax) << u"20.0 ms"_s << 20.0;
    c = {};
    QTest::newRow("rtt-avg-no-data") << c << int(MeterTableModel::RttAvg) << kDash << 0.0;
    QTest::newRow("rtt-p95-no-data") << c << int(MeterTableModel::RttP95) << kDash << 0.0;
    QTest::newRow("success-no-polls") << c << int(MeterTableModel::SuccessRate) << kDash << -1.0;
    QTest::newRow("bytes-per-value-no-values") << c << int(MeterTableModel::BytesPerValue) << kDash << 0.0;
    c.pollsAttempted = 200;
    c.pollsCompleted = 197;
    QTest::newRow("success-rate") << c << int(MeterTableModel::SuccessRate) << u"98.5 %"_s << 0.985;
    c = {};
    c.bytesSent = 100;
    c.bytesReceived = 300;
    c.valuesRead = 16;
    QTest::newRow("bytes-per-value") << c << int(MeterTableModel::BytesPerValue) << u"25.0 B"_s << 25.0;
    c = {};
    c.timeouts = 3;
    c.protocolErrors = 4;
    c.reconnects = 5;
    QTest::newRow("timeouts") << c << int(MeterTableModel::Timeouts) << u"3"_s << 3.0;
    QTest::newRow("protocol-errors") << c << int(MeterTableModel::ProtocolErrors) << u"4"_s << 4.0;
    QTest::newRow("reconnects") << c << int(MeterTableModel::Reconnects) << u"5"_s << 5.0;
    // Rates: the last second (the row's delta is ticked one second later).
    c = {};
    c.bytesSent = 1537;
    QTest::newRow("rate-kilo") << c << int(MeterTableModel::TxRate) << u"12.3 kbit/s"_s << 12296.0;
    c.bytesSent = 50;
    QTest::newRow("rate-plain") << c << int(MeterTableModel::TxRate) << u"400 bit/s"_s << 400.0;
    c = {};
    c.bytesReceived = 2'500'000;
    QTest::newRow("rate-mega") << c << int(MeterTableModel::RxRate) << u"20.0 Mbit/s"_s << 20e6;
}

void tst_MonitorModels::tableFormatting()
{
    QFETCH(TrafficCounters, counters);
    QFETCH(int, column);
    QFETCH(QString, text);
    QFETCH(double, sort);
    Fixture f;
    MeterTableModel model(f.monitor.get());
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::Fatal);
    TrafficDelta d;
    d.meters.push_back({u"m"_s, counters});
    f.monitor->addTraffic(d);
    f.tickAfter(1000);
    const QModelIndex index = model.index(0, column);
    QCOMPARE(index.data(Qt::DisplayRole).toString(), text);
    QCOMPARE(index.data(MeterTableModel::SortRole).toDouble(), sort);
}

void tst_MonitorModels::tableMqttAndRates()
{
    Fixture f;
    MeterTableModel model(f.monitor.get());
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::Fatal);
    monitor::MqttAck ack;
    ack.payloadBytes = 1000;
    ack.packetBytes = 1500;
    ack.shares = {{u"m"_s, 1000, 1500, 10}};
    f.monitor->addMqttAck(ack);
    f.monitor->addMqttAck(ack);
    f.traffic(u"m"_s, 500, 250);
    f.tickAfter(2000);
    QCOMPARE(model.index(0, MeterTableModel::MqttMessages).data().toString(), u"2"_s);
    QCOMPARE(model.index(0, MeterTableModel::MqttBytes).data().toString(), u"3.0 KB"_s);
    QCOMPARE(model.index(0, MeterTableModel::MqttBytes).data(MeterTableModel::SortRole).toULongLong(), 3000u);
    // TX counts the MQTT packets: (500 + 3000) B × 8 / 2 s.
    QCOMPARE(model.index(0, MeterTableModel::TxRate).data(MeterTableModel::SortRole).toDouble(), 14000.0);
    QCOMPARE(model.index(0, MeterTableModel::TxRate).data().toString(), u"14.0 kbit/s"_s);
    QCOMPARE(model.index(0, MeterTableModel::RxRate).data().toString(), u"1.0 kbit/s"_s);
}

void tst_MonitorModels::tableRoles()
{
    Fixture f;
    MeterTableModel model(f.monitor.get());
    f.traffic(u"meter-7"_s, 1, 1);
    for (int column = 0; column < MeterTableModel::ColumnCount; ++column) {
        const QModelIndex index = model.index(0, column);
        QCOMPARE(index.data(MeterTableModel::MeterIdRole).toString(), u"meter-7"_s);
        const int alignment = index.data(Qt::TextAlignmentRole).toInt();
        QCOMPARE(alignment & Qt::AlignHorizontal_Mask,
            int(column == MeterTableModel::Meter ? Qt::AlignLeft : Qt::AlignRight));
        QVERIFY(!index.data(Qt::DisplayRole).toString().isEmpty());
    }
    QCOMPARE(model.index(0, MeterTableModel::Meter).data(MeterTableModel::SortRole).toString(), u"meter-7"_s);
    QVERIFY(!model.index(0, 0).data(Qt::DecorationRole).isValid());
}

void tst_MonitorModels::tableHeaders()
{
    Fixture f;
    MeterTableModel model(f.monitor.get());
    QSet<QString> titles;
    for (int column = 0; column < MeterTableModel::ColumnCount; ++column) {
        const QString title = model.headerData(column, Qt::Horizontal).toString();
        QVERIFY(!title.isEmpty());
        titles.insert(title);
        QVERIFY(!model.headerData(column, Qt::Horizontal, Qt::ToolTipRole).toString().isEmpty());
    }
    QCOMPARE(titles.size(), int(MeterTableModel::ColumnCount));
    QCOMPARE(model.headerData(MeterTableModel::Meter, Qt::Horizontal).toString(), u"Meter"_s);
    QVERIFY(!model.headerData(MeterTableModel::ColumnCount, Qt::Horizontal).isValid());
}

void tst_MonitorModels::seriesLiveTotal()
{
    constexpr int kWindow = 5;
    Fixture f(kWindow);
    SeriesModel model(f.monitor.get());
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::Fatal);
    QSignalSpy updated(&model, &SeriesModel::updated);
    QSignalSpy inserted(&model, &QAbstractItemModel::rowsInserted);
    QSignalSpy removed(&model, &QAbstractItemModel::rowsRemoved);
    QVERIFY(model.isLive());
    QVERIFY(model.meter().isEmpty());
    QCOMPARE(model.rowCount(), 0);
    QCOMPARE(model.columnCount(), int(SeriesModel::ColumnCount));

    for (quint64 i = 1; i <= 8; ++i) {
        f.traffic(u"a"_s, i * 100, i * 10, i, 1);
        f.traffic(u"b"_s, 1, 0, 0, 0);
        f.tickAfter(i == 8 ? 2000 : 1000);
        QCOMPARE(model.rowCount(), int(std::min<quint64>(i, kWindow)));
    }
    QCOMPARE(updated.size(), 8);
    QCOMPARE(inserted.size(), 8);
    QCOMPARE(removed.size(), 3);

    // Rows are the monitor's total history, oldest first.
    const std::vector<SecondSample> history = f.monitor->totalHistory();
    const std::vector<qint64> timestamps = f.monitor->historyTimestamps();
    const QList<QPointF> tx = model.points(SeriesModel::TxBps);
    const QList<QPointF> rxp = model.points(SeriesModel::RxPps);
    QCOMPARE(tx.size(), qsizetype(kWindow));
    for (int i = 0; i < kWindow; ++i) {
        const double seconds = i == kWindow - 1 ? 2.0 : 1.0;
        QCOMPARE(tx[i].x(), double(timestamps[std::size_t(i)]));
        QCOMPARE(tx[i].y(), double(history[std::size_t(i)].txBytes) * 8 / seconds);
        QCOMPARE(rxp[i].y(), double(history[std::size_t(i)].rxPackets) / seconds);
        QCOMPARE(
            model.index(i, SeriesModel::Time).data(Qt::EditRole).toLongLong(), timestamps[std::size_t(i)]);
        QCOMPARE(model.index(i, SeriesModel::TxBps).data(SeriesModel::ValueRole).toDouble(), tx[i].y());
    }
    // Second 4: (400 + 1) B × 8.
    QCOMPARE(tx[0].y(), 3208.0);
    QCOMPARE(model.maximum(SeriesModel::TxBps), 701 * 8.0);
    QCOMPARE(model.maximum(SeriesModel::RxPps), 1.0);
    QCOMPARE(model.index(0, SeriesModel::Time).data().toString(), u"2023-11-14T22:13:24.000Z"_s);
    QCOMPARE(model.index(4, SeriesModel::RxBps).data().toDouble(), 80.0 * 8 / 2);
}

void tst_MonitorModels::seriesLiveMeter()
{
    constexpr int kWindow = 4;
    Fixture f(kWindow);
    SeriesModel model(f.monitor.get());
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::Fatal);
    QSignalSpy reset(&model, &QAbstractItemModel::modelReset);
    QSignalSpy updated(&model, &SeriesModel::updated);
    f.traffic(u"a"_s, 10, 10);
    f.tickAfter(1000);
    f.tickAfter(1000);
    QCOMPARE(model.rowCount(), 2);

    // A meter that does not exist yet: empty until it appears, then one row per tick.
    model.setMeter(u"late"_s);
    QCOMPARE(reset.size(), 1);
    QCOMPARE(updated.size(), 3);
    QCOMPARE(model.meter(), u"late"_s);
    QCOMPARE(model.rowCount(), 0);
    f.tickAfter(1000);
    QCOMPARE(model.rowCount(), 0);
    f.traffic(u"late"_s, 125, 0);
    f.tickAfter(1000);
    QCOMPARE(model.rowCount(), 1);
    QCOMPARE(model.points(SeriesModel::TxBps).at(0).y(), 1000.0);

    // Switching fills from the meter's ring, which is capped at the window.
    for (int i = 0; i < 6; ++i) {
        f.traffic(u"a"_s, quint64(i) + 1, 0);
        f.tickAfter(1000);
    }
    model.setMeter(u"a"_s);
    QCOMPARE(model.rowCount(), kWindow);
    const std::vector<SecondSample> history = f.monitor->history(u"a"_s);
    const QList<QPointF> tx = model.points(SeriesModel::TxBps);
    QCOMPARE(tx.size(), qsizetype(history.size()));
    for (std::size_t i = 0; i < history.size(); ++i)
        QCOMPARE(tx[qsizetype(i)].y(), double(history[i].txBytes) * 8);
    QCOMPARE(tx.last().y(), 48.0);
    f.tickAfter(1000);
    QCOMPARE(model.rowCount(), kWindow);
    QCOMPARE(model.points(SeriesModel::TxBps).last().y(), 0.0);
    QCOMPARE(model.points(SeriesModel::TxBps).at(kWindow - 2).y(), 48.0);

    // Back to the total.
    model.setMeter(QString());
    QCOMPARE(model.rowCount(), kWindow);
    QCOMPARE(model.points(SeriesModel::TxBps).at(kWindow - 2).y(), 48.0);
}

void tst_MonitorModels::seriesMeterRemovedAndBack()
{
    Fixture f(3);
    SeriesModel model(f.monitor.get());
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::Fatal);
    f.traffic(u"a"_s, 1, 1);
    f.traffic(u"b"_s, 1, 1);
    model.setMeter(u"b"_s);
    f.tickAfter(1000);
    f.tickAfter(1000);
    QCOMPARE(model.rowCount(), 2);
    f.monitor->removeMeter(u"a"_s); // another meter: no change
    QCOMPARE(model.rowCount(), 2);
    f.monitor->removeMeter(u"b"_s);
    QCOMPARE(model.rowCount(), 0);
    f.tickAfter(1000);
    QCOMPARE(model.rowCount(), 0);
    f.traffic(u"b"_s, 2, 2);
    f.tickAfter(1000);
    QCOMPARE(model.rowCount(), 1);
    QCOMPARE(model.points(SeriesModel::RxBps).at(0).y(), 16.0);
}

void tst_MonitorModels::seriesHistory()
{
    Fixture f(3);
    SeriesModel model(f.monitor.get());
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::Fatal);
    QSignalSpy updated(&model, &SeriesModel::updated);
    f.traffic(u"a"_s, 1, 1);
    f.tickAfter(1000);

    std::vector<MetricsRow> rows(3);
    for (int i = 0; i < 3; ++i) {
        rows[std::size_t(i)].meterId = u"a"_s;
        rows[std::size_t(i)].timestampMs = kT0 + i * 60'000;
        rows[std::size_t(i)].periodS = 60;
        rows[std::size_t(i)].bandwidthTxBps = 1000.0 * (i + 1);
        rows[std::size_t(i)].bandwidthRxBps = 500.0 * (i + 1);
        rows[std::size_t(i)].packetsTxPs = 2.0 * (i + 1);
        rows[std::size_t(i)].packetsRxPs = 1.0 * (i + 1);
    }
    rows[1].bandwidthTxBps = 9000;
    model.setHistory(rows);
    QVERIFY(!model.isLive());
    QCOMPARE(updated.size(), 2);
    QCOMPARE(model.rowCount(), 3);
    const QList<QPointF> tx = model.points(SeriesModel::TxBps);
    QCOMPARE(tx,
        QList<QPointF>({{double(kT0), 1000}, {double(kT0 + 60'000), 9000}, {double(kT0 + 120'000), 3000}}));
    QCOMPARE(model.points(SeriesModel::RxPps).at(2).y(), 3.0);
    QCOMPARE(model.maximum(SeriesModel::TxBps), 9000.0);
    QCOMPARE(model.maximum(SeriesModel::TxPps), 6.0);
    QCOMPARE(model.index(1, SeriesModel::Time).data().toString(), u"2023-11-14T22:14:20.000Z"_s);
    QCOMPARE(model.index(2, SeriesModel::RxBps).data(SeriesModel::ValueRole).toDouble(), 1500.0);

    // Live ticks leave a history untouched.
    f.tickAfter(1000);
    QCOMPARE(model.rowCount(), 3);
    QCOMPARE(updated.size(), 2);

    model.setHistory({});
    QCOMPARE(model.rowCount(), 0);
    QCOMPARE(model.maximum(SeriesModel::TxBps), 0.0);
    QVERIFY(model.points(SeriesModel::TxBps).isEmpty());

    model.setMeter(u"a"_s);
    QVERIFY(model.isLive());
    QCOMPARE(model.rowCount(), 2);
}

void tst_MonitorModels::seriesHeaders()
{
    Fixture f;
    SeriesModel model(f.monitor.get());
    QCOMPARE(model.headerData(SeriesModel::Time, Qt::Horizontal).toString(), u"Time"_s);
    for (int column = 0; column < SeriesModel::ColumnCount; ++column)
        QVERIFY(!model.headerData(column, Qt::Horizontal).toString().isEmpty());
}

void tst_MonitorModels::stringsTranslated()
{
    Fixture f;
    f.traffic(u"m"_s, 1200, 50, 1, 1);
    f.tickAfter(1000);
    MeterTableModel table(f.monitor.get());
    SeriesModel series(f.monitor.get());
    MarkingTranslator translator;
    QVERIFY(QCoreApplication::installTranslator(&translator));
    const auto removeTranslator
        = qScopeGuard([&translator] { QCoreApplication::removeTranslator(&translator); });

    QCOMPARE(table.headerData(MeterTableModel::Meter, Qt::Horizontal).toString(), u"<Meter>"_s);
    QCOMPARE(table.headerData(MeterTableModel::RttP95, Qt::Horizontal, Qt::ToolTipRole).toString(),
        u"<95th percentile of the recent round trips>"_s);
    for (int column = 0; column < MeterTableModel::ColumnCount; ++column) {
        QVERIFY(table.headerData(column, Qt::Horizontal).toString().startsWith(u'<'));
        QVERIFY(table.headerData(column, Qt::Horizontal, Qt::ToolTipRole).toString().startsWith(u'<'));
    }
    // Units too.
    QCOMPARE(table.index(0, MeterTableModel::BytesSent).data().toString(), u"1.2 <KB>"_s);
    QCOMPARE(table.index(0, MeterTableModel::BytesReceived).data().toString(), u"50 <B>"_s);
    QCOMPARE(table.index(0, MeterTableModel::TxRate).data().toString(), u"9.6 <kbit/s>"_s);
    QCOMPARE(series.headerData(SeriesModel::Time, Qt::Horizontal).toString(), u"<Time>"_s);
    QCOMPARE(series.headerData(SeriesModel::RxPps, Qt::Horizontal).toString(), u"<RX packets/s>"_s);
}

void tst_MonitorModels::monitorDestroyedFirst()
{
    Fixture f;
    f.traffic(u"a"_s, 10, 20);
    f.traffic(u"b"_s, 30, 40);
    f.tickAfter(1000);
    f.tickAfter(1000);
    MeterTableModel table(f.monitor.get());
    SeriesModel live(f.monitor.get());
    SeriesModel history(f.monitor.get());
    QAbstractItemModelTester tableTester(&table, QAbstractItemModelTester::FailureReportingMode::Fatal);
    QAbstractItemModelTester liveTester(&live, QAbstractItemModelTester::FailureReportingMode::Fatal);
    MetricsRow row;
    row.timestampMs = kT0;
    row.bandwidthTxBps = 5;
    history.setHistory({row});
    QCOMPARE(table.rowCount(), 2);
    QCOMPARE(live.rowCount(), 2);
    QSignalSpy tableReset(&table, &QAbstractItemModel::modelReset);
    QSignalSpy liveUpdated(&live, &SeriesModel::updated);

    f.monitor.reset();
    QCOMPARE(tableReset.size(), 1);
    QCOMPARE(table.rowCount(), 0);
    QCOMPARE(live.rowCount(), 0);
    QCOMPARE(liveUpdated.size(), 1);
    QVERIFY(live.points(SeriesModel::TxBps).isEmpty());
    // Rows from storage do not depend on the monitor.
    QCOMPARE(history.rowCount(), 1);
    QCOMPARE(history.points(SeriesModel::TxBps), QList<QPointF>({QPointF(double(kT0), 5)}));
    // Still usable, just empty, without touching the gone monitor.
    live.setMeter(u"a"_s);
    QCOMPARE(live.rowCount(), 0);
    QVERIFY(!table.index(0, MeterTableModel::BytesSent).isValid());
    QCOMPARE(table.headerData(MeterTableModel::Meter, Qt::Horizontal).toString(), u"Meter"_s);
}

QTEST_GUILESS_MAIN(tst_MonitorModels)
#include "tst_monitormodels.moc"
