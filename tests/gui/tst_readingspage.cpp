#include "markingtranslator.h"

#include "readingsmodel.h"
#include "readingspage.h"

#include <readertestdb.h>

#include <QtCharts/QChartView>
#include <QtCharts/QLineSeries>
#include <QtCharts/QValueAxis>
#include <QtTest/QAbstractItemModelTester>
#include <QtTest/QtTest>
#include <QtWidgets/QComboBox>
#include <QtWidgets/QLabel>
#include <QtWidgets/QLineEdit>
#include <QtWidgets/QTableView>

#include <functional>
#include <memory>

using namespace Qt::StringLiterals;

namespace {

constexpr qint64 Hour = 3'600'000;
constexpr qint64 Day = 24 * Hour;
constexpr int Readings = 10'000;
constexpr double Spike = 300.0;
constexpr double Dip = 150.0;

polling::Reading reading(
    const QString &key, const QVariant &value, const dlms::Obis &obis, const QString &unit)
{
    polling::Reading r;
    r.key = key;
    r.obis = obis;
    r.value = value;
    r.unit = unit;
    return r;
}

polling::ReadingsBatch latest(const QString &meterId, qint64 ts, double voltage)
{
    polling::ReadingsBatch b;
    b.meterId = meterId;
    b.timestampMs = ts;
    b.readings = {reading(u"voltage_l1"_s, voltage, dlms::Obis(1, 0, 32, 7, 0, 255), u"V"_s),
        reading(u"energy_import"_s, 1234.5, dlms::Obis(1, 0, 1, 8, 0, 255), u"Wh"_s),
        reading(u"serial"_s, u"LGZ-1"_s, dlms::Obis(0, 0, 96, 1, 0, 255), QString())};
    return b;
}

} // namespace

class tst_ReadingsPage : public QObject {
    Q_OBJECT

private:
    readertest::TestDb m_db;
    qint64 m_now = 0;
    qint64 m_lastHourRows = 0; // voltage_l1 rows of m1 within the last hour
    qint64 m_voltageRows = 0; // all of them

    QLineSeries *series(ReadingsPage &page)
    {
        auto *view = page.findChild<QChartView *>(u"historyChart"_s);
        return view ? qobject_cast<QLineSeries *>(view->chart()->series().value(0)) : nullptr;
    }
    QString status(ReadingsPage &page) { return page.findChild<QLabel *>(u"historyStatus"_s)->text(); }
    // Runs `start` (which asks for a history) and waits for the read: the points it plotted.
    static int loaded(ReadingsPage &page, const std::function<int()> &start)
    {
        QSignalSpy spy(&page, &ReadingsPage::historyLoaded);
        const int started = start();
        if (started != -2)
            return started;
        if (spy.isEmpty() && !spy.wait(10'000))
            return -3;
        return spy.last().at(0).toInt();
    }
    static int history(ReadingsPage &page, const QString &meter, const QString &key)
    {
        return loaded(page, [&] { return page.showHistory(meter, key); });
    }
    static int selectRange(ReadingsPage &page, int index)
    {
        return loaded(page, [&] {
            page.findChild<QComboBox *>(u"rangeCombo"_s)->setCurrentIndex(index);
            return -2;
        });
    }

private slots:
    void initTestCase()
    {
        QStandardPaths::setTestModeEnabled(true);
        QLocale::setDefault(QLocale(QLocale::English, QLocale::UnitedStates));
        QVERIFY(m_db.open());
        QSqlDatabase db = m_db.db();
        QVERIFY(db.transaction());
        m_now = QDateTime::currentMSecsSinceEpoch();
        // 10,000 readings of m1's voltage over the last 24 h (none within a minute of the 1 h
        // boundary, so the 1 h count does not depend on when the plot reads), one spike and one
        // dip to survive downsampling; a text key and another meter beside them.
        const qint64 start = m_now - Day + 60'000;
        const qint64 step = (Day - 120'000) / Readings;
        for (int i = 0; i < Readings; ++i) {
            const qint64 ts = start + i * step;
            if (std::abs(ts - (m_now - Hour)) < 60'000)
                continue;
            m_lastHourRows += ts >= m_now - Hour ? 1 : 0;
            ++m_voltageRows;
            const double v = i == 4321 ? Spike : i == 7777 ? Dip : 230.0 + 5.0 * std::sin(i / 50.0);
            QVERIFY(
                readertest::insertReading(db, u"m1"_s, ts, u"voltage_l1"_s, u"1.0.32.7.0.255"_s, v, u"V"_s));
            if (i % 100 == 0) {
                QVERIFY(readertest::insertReading(
                    db, u"m1"_s, ts, u"serial"_s, u"0.0.96.1.0.255"_s, u"LGZ-1"_s, {}));
                QVERIFY(readertest::insertReading(
                    db, u"m2"_s, ts, u"voltage_l1"_s, u"1.0.32.7.0.255"_s, 500.0, u"V"_s));
            }
        }
        QVERIFY(readertest::insertReading(db, u"m1"_s, m_now - Hour / 2, u"voltage_l1"_s, u"1.0.32.7.0.255"_s,
            QVariant(), u"V"_s, u"failed"_s));
        QVERIFY(db.commit());
    }

    void historyIsDownsampledKeepingExtremes()
    {
        ReadingsPage page;
        page.setDatabasePath(m_db.path());
        page.addBatch(latest(u"m1"_s, m_now, 231.0));
        page.findChild<QComboBox *>(u"rangeCombo"_s)->setCurrentIndex(1); // 24 hours
        const int points = history(page, u"m1"_s, u"voltage_l1"_s);
        QVERIFY2(points > 1000 && points <= 2000, qPrintable(QString::number(points)));
        QCOMPARE(page.historyPointCount(), points);
        QLineSeries *line = series(page);
        QVERIFY(line);
        QCOMPARE(line->count(), points);
        double low = 1e9;
        double high = -1e9;
        double lastX = 0;
        for (int i = 0; i < line->count(); ++i) {
            low = std::min(low, line->at(i).y());
            high = std::max(high, line->at(i).y());
            QVERIFY2(line->at(i).x() >= lastX, "points in time order");
            lastX = line->at(i).x();
        }
        QCOMPARE(low, Dip);
        QCOMPARE(high, Spike);
        QVERIFY2(status(page).startsWith(u"%1 points (of %2 readings) from "_s.arg(
                     QLocale().toString(points), QLocale().toString(m_voltageRows))),
            qPrintable(status(page)));
        auto *axis = qobject_cast<QValueAxis *>(line->attachedAxes().value(1));
        QVERIFY(axis);
        QCOMPARE(axis->titleText(), u"V"_s);
        QVERIFY(axis->min() < Dip && axis->max() > Spike);

        // The selected row is the plotted one.
        auto *table = page.findChild<QTableView *>(u"readingsTable"_s);
        QCOMPARE(table->currentIndex().data(ReadingsModel::KeyRole).toString(), u"voltage_l1"_s);
    }

    void shortRangeKeepsEveryPoint()
    {
        ReadingsPage page;
        page.setDatabasePath(m_db.path());
        page.findChild<QComboBox *>(u"rangeCombo"_s)->setCurrentIndex(0); // 1 hour
        const int points = history(page, u"m1"_s, u"voltage_l1"_s);
        QCOMPARE(points, int(m_lastHourRows));
        QVERIFY2(status(page).startsWith(u"%1 points from "_s.arg(m_lastHourRows)), qPrintable(status(page)));

        // Changing the range plots again.
        QVERIFY(selectRange(page, 2) > points); // 7 days
        QVERIFY(page.historyPointCount() > points);
    }

    void textKeyIsNotPlotted()
    {
        ReadingsPage page;
        page.setDatabasePath(m_db.path());
        QCOMPARE(history(page, u"m1"_s, u"serial"_s), 0);
        QCOMPARE(page.historyPointCount(), 0);
        QCOMPARE(status(page), u"No stored readings of serial in this range"_s);
    }

    void missingDatabaseShowsTheError()
    {
        QTemporaryDir dir;
        ReadingsPage page;
        page.setDatabasePath(dir.filePath(u"no/such/dir/bridge.db"_s));
        QCOMPARE(page.showHistory(u"m1"_s, u"voltage_l1"_s), -2); // the worker finds out
        QCOMPARE(history(page, u"m1"_s, u"voltage_l1"_s), -1);
        QCOMPARE(page.historyPointCount(), 0);
        QVERIFY2(status(page).startsWith(u"Cannot read the database: "_s), qPrintable(status(page)));
        QVERIFY(status(page).size() > u"Cannot read the database: "_s.size());

        // Pointing it at the real file recovers.
        QVERIFY(loaded(page, [&] {
            page.setDatabasePath(m_db.path());
            return -2;
        }) > 0);

        ReadingsPage none;
        QCOMPARE(none.showHistory(u"m1"_s, u"voltage_l1"_s), -1);
        QVERIFY(!status(none).isEmpty());
    }

    void liveBatchAppendsToThePlot()
    {
        ReadingsPage page;
        page.resize(900, 700);
        page.show();
        QVERIFY(QTest::qWaitForWindowExposed(&page));
        page.setDatabasePath(m_db.path());
        page.findChild<QComboBox *>(u"rangeCombo"_s)->setCurrentIndex(0);
        const int points = history(page, u"m1"_s, u"voltage_l1"_s);
        QVERIFY(points > 0);
        const qint64 now = QDateTime::currentMSecsSinceEpoch();
        page.addBatch(latest(u"m1"_s, now + 1, 999.0));
        QCOMPARE(page.historyPointCount(), points + 1);
        QCOMPARE(series(page)->at(points).y(), 999.0);
        page.addBatch(latest(u"m2"_s, now, 1.0)); // another meter: not this plot
        QCOMPARE(page.historyPointCount(), points + 1);
        QCOMPARE(page.model()->rowCount(), 6);
    }

    void meterAndTextFilters()
    {
        ReadingsPage page;
        page.addBatch(latest(u"m2"_s, m_now, 229.0));
        page.addBatch(latest(u"m1"_s, m_now, 231.0));
        QCOMPARE(page.model()->rowCount(), 6); // asking for the model applies the queued batches
        auto *meterFilter = page.findChild<QComboBox *>(u"meterFilter"_s);
        auto *textFilter = page.findChild<QLineEdit *>(u"textFilter"_s);
        auto *table = page.findChild<QTableView *>(u"readingsTable"_s);
        QCOMPARE(meterFilter->count(), 3);
        QCOMPARE(meterFilter->itemText(0), u"All meters"_s);
        QCOMPARE(meterFilter->itemText(1), u"m1"_s); // sorted
        QCOMPARE(table->model()->rowCount(), 6);

        meterFilter->setCurrentIndex(meterFilter->findData(u"m2"_s));
        QCOMPARE(table->model()->rowCount(), 3);
        for (int row = 0; row < 3; ++row)
            QCOMPARE(table->model()->index(row, 0).data(ReadingsModel::MeterIdRole).toString(), u"m2"_s);

        textFilter->setText(u"VOLT"_s); // by key, any case
        QCOMPARE(table->model()->rowCount(), 1);
        textFilter->setText(u"1.8.0"_s); // by OBIS
        QCOMPARE(table->model()->rowCount(), 1);
        QCOMPARE(table->model()->index(0, 0).data(ReadingsModel::KeyRole).toString(), u"energy_import"_s);
        meterFilter->setCurrentIndex(0);
        QCOMPARE(table->model()->rowCount(), 2);
        textFilter->clear();
        QCOMPARE(table->model()->rowCount(), 6);

        // A removed meter leaves the choices.
        page.model()->removeMeter(u"m2"_s);
        QCOMPARE(meterFilter->count(), 2);
    }

    void retranslatesOnLanguageChange()
    {
        ReadingsPage page;
        page.setDatabasePath(m_db.path());
        page.addBatch(latest(u"m1"_s, m_now, 231.0));
        QCOMPARE(history(page, u"m1"_s, u"serial"_s), 0);
        MarkingTranslator translator;
        QVERIFY(QCoreApplication::installTranslator(&translator));
        auto *table = page.findChild<QTableView *>(u"readingsTable"_s);
        QTRY_COMPARE(page.findChild<QComboBox *>(u"meterFilter"_s)->itemText(0),
            u"«All meters»"_s); // LanguageChange is posted
        QCOMPARE(page.findChild<QComboBox *>(u"rangeCombo"_s)->itemText(0), u"«1 hour»"_s);
        QCOMPARE(status(page), u"«No stored readings of serial in this range»"_s);
        QCOMPARE(
            table->model()->headerData(ReadingsModel::Quality, Qt::Horizontal).toString(), u"«Quality»"_s);
        QCOMPARE(table->model()->index(0, ReadingsModel::Quality).data().toString(), u"«good»"_s);
        QCOMPARE(page.findChild<QLineEdit *>(u"textFilter"_s)->placeholderText(), u"«Key or OBIS code»"_s);
        QVERIFY(QCoreApplication::removeTranslator(&translator));
        QTRY_COMPARE(status(page), u"No stored readings of serial in this range"_s);
        QCOMPARE(table->model()->index(0, ReadingsModel::Quality).data().toString(), u"good"_s);
    }

    void selectingARowPlotsIt()
    {
        ReadingsPage page;
        page.setDatabasePath(m_db.path());
        page.addBatch(latest(u"m1"_s, m_now, 231.0));
        QCOMPARE(page.model()->rowCount(), 3);
        auto *table = page.findChild<QTableView *>(u"readingsTable"_s);
        QCOMPARE(page.historyPointCount(), 0);
        QVERIFY(loaded(page, [&] {
            table->setCurrentIndex(table->model()->index(0, ReadingsModel::Value)); // voltage_l1
            return -2;
        }) > 0);
        QVERIFY(page.historyPointCount() > 0);
        QCOMPARE(loaded(page,
                     [&] {
                         table->setCurrentIndex(table->model()->index(2, ReadingsModel::Value)); // serial
                         return -2;
                     }),
            0);
        QCOMPARE(page.historyPointCount(), 0);
    }

    void historyIsReadOffTheGuiThread()
    {
        ReadingsPage page;
        page.setDatabasePath(m_db.path());
        page.findChild<QComboBox *>(u"rangeCombo"_s)->setCurrentIndex(2); // 7 days
        QSignalSpy loadedSpy(&page, &ReadingsPage::historyLoaded);
        QCOMPARE(page.showHistory(u"m1"_s, u"voltage_l1"_s), -2);
        QCOMPARE(status(page), u"Reading…"_s);
        QCOMPARE(page.historyPointCount(), 0);
        QVERIFY(loadedSpy.wait(10'000));
        QCOMPARE(loadedSpy.size(), 1);
        QVERIFY(loadedSpy.at(0).at(0).toInt() > 1000);
        QCOMPARE(page.historyPointCount(), loadedSpy.at(0).at(0).toInt());
    }

    void newerRequestSupersedesOlder()
    {
        ReadingsPage page;
        page.setDatabasePath(m_db.path());
        page.findChild<QComboBox *>(u"rangeCombo"_s)->setCurrentIndex(2);
        QSignalSpy loadedSpy(&page, &ReadingsPage::historyLoaded);
        QCOMPARE(page.showHistory(u"m1"_s, u"voltage_l1"_s), -2);
        QCOMPARE(page.showHistory(u"m1"_s, u"serial"_s), -2);
        QVERIFY(loadedSpy.wait(10'000));
        QCOMPARE(loadedSpy.size(), 1);
        QCOMPARE(loadedSpy.at(0).at(0).toInt(), 0); // the serial's, not the voltage's
        QCOMPARE(status(page), u"No stored readings of serial in this range"_s);
        // Another read after it: still only the newest results arrive, in order.
        QCOMPARE(page.showHistory(u"m2"_s, u"voltage_l1"_s), -2);
        QVERIFY(loadedSpy.wait(10'000));
        QCOMPARE(loadedSpy.size(), 2);
        QCOMPARE(loadedSpy.at(1).at(0).toInt(), 100); // m2's readings: every 100th step
        QCOMPARE(page.historyPointCount(), 100);
    }

    void destroyingThePageWhileReadingIsSafe()
    {
        auto page = std::make_unique<ReadingsPage>();
        page->setDatabasePath(m_db.path());
        page->findChild<QComboBox *>(u"rangeCombo"_s)->setCurrentIndex(2);
        QCOMPARE(page->showHistory(u"m1"_s, u"voltage_l1"_s), -2);
        QCOMPARE(page->showHistory(u"m1"_s, u"voltage_l1"_s), -2);
        page.reset(); // joins both reads; their results go nowhere
        QCoreApplication::processEvents();
        QVERIFY(!page);
    }

    void batchesReachTheModelTogether()
    {
        constexpr int Meters = 2000;
        constexpr int Rounds = 5;
        ReadingsPage page;
        page.resize(900, 700);
        page.show();
        QVERIFY(QTest::qWaitForWindowExposed(&page));
        ReadingsModel *model = page.model();
        QAbstractItemModelTester tester(model, QAbstractItemModelTester::FailureReportingMode::QtTest);
        QSignalSpy inserted(model, &QAbstractItemModel::rowsInserted);
        QSignalSpy changed(model, &QAbstractItemModel::dataChanged);
        // The ages' refresh names its roles; a batch update names none.
        auto batchUpdates = [&] {
            return std::count_if(changed.begin(), changed.end(),
                [](const QList<QVariant> &args) { return args.at(2).value<QList<int>>().isEmpty(); });
        };
        for (int round = 0; round < Rounds; ++round) {
            for (int m = 0; m < Meters; ++m)
                page.addBatch(latest(u"m%1"_s.arg(m), m_now + round, 230.0 + round));
        }
        QCOMPARE(model->rowCount(), 0); // queued, not yet applied
        QVERIFY(inserted.wait(5'000));
        QCOMPARE(inserted.size(), 1);
        QCOMPARE(model->rowCount(), Meters * 3);
        QCOMPARE(batchUpdates(), 0);
        QCOMPARE(model->index(0, ReadingsModel::Value).data().toString(), u"234"_s); // the newest

        for (int round = 0; round < Rounds; ++round) {
            for (int m = 0; m < Meters; ++m)
                page.addBatch(latest(u"m%1"_s.arg(m), m_now + 10 + round, 240.0 + round));
        }
        QTRY_COMPARE_WITH_TIMEOUT(batchUpdates(), 1, 5'000);
        QCOMPARE(inserted.size(), 1);
        QCOMPARE(model->index(3 * (Meters - 1), ReadingsModel::Value).data().toString(), u"244"_s);
    }

    void hiddenPageAppliesOnShow()
    {
        ReadingsPage page;
        ReadingsModel *model = page.model();
        QSignalSpy inserted(model, &QAbstractItemModel::rowsInserted);
        for (int round = 0; round < 3; ++round) {
            for (int m = 0; m < 50; ++m)
                page.addBatch(latest(u"m%1"_s.arg(m), m_now + round, 230.0 + round));
        }
        QVERIFY(!inserted.wait(800)); // longer than the apply interval: nothing while hidden
        QCOMPARE(model->rowCount(), 0);
        page.show();
        QCOMPARE(inserted.size(), 1);
        QCOMPARE(model->rowCount(), 150);
        QCOMPARE(model->index(0, ReadingsModel::Value).data().toString(), u"232"_s);
    }

    void setMetersRemovesGoneMeters()
    {
        ReadingsPage page;
        ReadingsModel *model = page.model();
        QAbstractItemModelTester tester(model, QAbstractItemModelTester::FailureReportingMode::QtTest);
        page.addBatch(latest(u"m1"_s, m_now, 231.0));
        page.addBatch(latest(u"m2"_s, m_now, 232.0));
        page.addBatch(latest(u"m3"_s, m_now, 233.0));
        QCOMPARE(page.model()->rowCount(), 9);
        page.addBatch(latest(u"m2"_s, m_now + 1, 242.0)); // queued when the site changes
        page.addBatch(latest(u"m4"_s, m_now + 1, 244.0));
        page.setMeters({{u"m1"_s, u"Main feeder"_s}, {u"m3"_s, u"Pump"_s}});
        QCOMPARE(page.model()->rowCount(), 6);
        QSet<QString> ids;
        for (int row = 0; row < model->rowCount(); ++row)
            ids.insert(model->index(row, 0).data(ReadingsModel::MeterIdRole).toString());
        QCOMPARE(ids, (QSet<QString> {u"m1"_s, u"m3"_s}));
        QCOMPARE(model->index(0, ReadingsModel::Meter).data().toString(), u"Main feeder"_s);
        auto *meterFilter = page.findChild<QComboBox *>(u"meterFilter"_s);
        QCOMPARE(meterFilter->count(), 3);
        QCOMPARE(meterFilter->findData(u"m2"_s), -1);
    }
};

QTEST_MAIN(tst_ReadingsPage)
#include "tst_readingspage.moc"
