#include "readingsmodel.h"

#include <QtTest/QAbstractItemModelTester>
#include <QtTest/QtTest>

using namespace Qt::StringLiterals;

namespace {

constexpr qint64 T0 = 1'795'000'000'000; // 2026-11-18, UTC ms

polling::Reading reading(const QString &key, const QVariant &value, const QString &unit = u"V"_s)
{
    polling::Reading r;
    r.key = key;
    r.obis = dlms::Obis(1, 0, 32, 7, 0, 255);
    r.value = value;
    r.unit = unit;
    return r;
}

polling::ReadingsBatch batch(const QString &meterId, qint64 ts, std::vector<polling::Reading> readings)
{
    polling::ReadingsBatch b;
    b.meterId = meterId;
    b.timestampMs = ts;
    b.readings = std::move(readings);
    return b;
}

QString text(const ReadingsModel &model, int row, int column)
{
    return model.index(row, column).data().toString();
}

bool greyed(const ReadingsModel &model, int row, int column = ReadingsModel::Key)
{
    return model.index(row, column).data(Qt::ForegroundRole).isValid();
}

} // namespace

class tst_ReadingsModel : public QObject {
    Q_OBJECT

private:
    qint64 m_now = T0;
    ReadingsModel *makeModel()
    {
        return new ReadingsModel([this] { return m_now; }, this);
    }

private slots:
    void initTestCase() { QLocale::setDefault(QLocale(QLocale::English, QLocale::UnitedStates)); }
    void init() { m_now = T0; }

    void batchesAddRowsInOrder()
    {
        std::unique_ptr<ReadingsModel> model(makeModel());
        QAbstractItemModelTester tester(model.get(), QAbstractItemModelTester::FailureReportingMode::QtTest);
        QSignalSpy inserted(model.get(), &QAbstractItemModel::rowsInserted);
        model->addBatch(
            batch(u"m1"_s, T0, {reading(u"voltage_l1"_s, 230.1), reading(u"voltage_l2"_s, 231.0)}));
        model->addBatch(batch(u"m2"_s, T0, {reading(u"voltage_l1"_s, 229.0)}));
        QCOMPARE(model->rowCount(), 3);
        QCOMPARE(model->columnCount(), int(ReadingsModel::ColumnCount));
        QCOMPARE(inserted.size(), 2); // one insert per batch
        QCOMPARE(inserted.at(0).at(1).toInt(), 0);
        QCOMPARE(inserted.at(0).at(2).toInt(), 1);
        QCOMPARE(text(*model, 0, ReadingsModel::Meter), u"m1"_s);
        QCOMPARE(text(*model, 1, ReadingsModel::Key), u"voltage_l2"_s);
        QCOMPARE(text(*model, 2, ReadingsModel::Meter), u"m2"_s);
        QCOMPARE(text(*model, 0, ReadingsModel::Obis), u"1.0.32.7.0.255"_s);
        QCOMPARE(text(*model, 0, ReadingsModel::Unit), u"V"_s);
        QCOMPARE(text(*model, 0, ReadingsModel::Quality), u"good"_s);
        QCOMPARE(model->index(2, ReadingsModel::Value).data(ReadingsModel::MeterIdRole).toString(), u"m2"_s);
        QCOMPARE(
            model->index(1, ReadingsModel::Age).data(ReadingsModel::KeyRole).toString(), u"voltage_l2"_s);
        QCOMPARE(model->index(0, ReadingsModel::Value).data(ReadingsModel::SortRole).toDouble(), 230.1);
        QCOMPARE(model->headerData(ReadingsModel::Value, Qt::Horizontal).toString(), u"Value"_s);
    }

    void updatesInPlaceWithExactSpan()
    {
        std::unique_ptr<ReadingsModel> model(makeModel());
        QAbstractItemModelTester tester(model.get(), QAbstractItemModelTester::FailureReportingMode::QtTest);
        model->addBatch(batch(u"m1"_s, T0, {reading(u"a"_s, 1.0), reading(u"b"_s, 2.0)}));
        model->addBatch(batch(u"m2"_s, T0, {reading(u"a"_s, 3.0)}));
        model->addBatch(batch(u"m1"_s, T0, {reading(u"c"_s, 4.0)})); // m1's rows: 0, 1, 3

        QSignalSpy changed(model.get(), &QAbstractItemModel::dataChanged);
        QSignalSpy inserted(model.get(), &QAbstractItemModel::rowsInserted);
        model->addBatch(batch(u"m1"_s, T0 + 1000, {reading(u"b"_s, 20.0), reading(u"c"_s, 40.0)}));
        QCOMPARE(changed.size(), 1);
        QCOMPARE(inserted.size(), 0);
        const auto topLeft = changed.at(0).at(0).value<QModelIndex>();
        const auto bottomRight = changed.at(0).at(1).value<QModelIndex>();
        QCOMPARE(topLeft.row(), 1);
        QCOMPARE(bottomRight.row(), 3);
        QCOMPARE(topLeft.column(), 0);
        QCOMPARE(bottomRight.column(), ReadingsModel::ColumnCount - 1);
        QCOMPARE(text(*model, 1, ReadingsModel::Value), u"20"_s);
        QCOMPARE(text(*model, 3, ReadingsModel::Value), u"40"_s);
        QCOMPARE(text(*model, 0, ReadingsModel::Value), u"1"_s); // untouched
        QCOMPARE(text(*model, 2, ReadingsModel::Value), u"3"_s); // the other meter's

        // A known key and a new one: one dataChanged for the known, one insert for the new.
        changed.clear();
        model->addBatch(batch(u"m2"_s, T0 + 2000, {reading(u"a"_s, 30.0), reading(u"z"_s, 9.0)}));
        QCOMPARE(changed.size(), 1);
        QCOMPARE(changed.at(0).at(0).value<QModelIndex>().row(), 2);
        QCOMPARE(changed.at(0).at(1).value<QModelIndex>().row(), 2);
        QCOMPARE(inserted.size(), 1);
        QCOMPARE(inserted.at(0).at(1).toInt(), 4);
        QCOMPARE(model->rowCount(), 5);
        QCOMPARE(text(*model, 4, ReadingsModel::Key), u"z"_s);
    }

    void failedAndTextValues()
    {
        std::unique_ptr<ReadingsModel> model(makeModel());
        polling::Reading failed = reading(u"frequency"_s, QVariant());
        failed.quality = polling::Quality::Failed;
        failed.error = u"object-undefined"_s;
        polling::Reading serial = reading(u"serial"_s, u"LGZ-12345678"_s, QString());
        polling::Reading unscaled = reading(u"energy"_s, 1234.0, QString());
        unscaled.quality = polling::Quality::Unscaled;
        model->addBatch(batch(u"m1"_s, T0, {failed, serial, unscaled}));
        QCOMPARE(text(*model, 0, ReadingsModel::Value), u"object-undefined"_s);
        QCOMPARE(text(*model, 0, ReadingsModel::Quality), u"failed"_s);
        QVERIFY(greyed(*model, 0));
        QVERIFY(greyed(*model, 0, ReadingsModel::Value));
        QCOMPARE(text(*model, 1, ReadingsModel::Value), u"LGZ-12345678"_s);
        QVERIFY(!greyed(*model, 1));
        QCOMPARE(text(*model, 2, ReadingsModel::Value), u"1,234"_s);
        QCOMPARE(text(*model, 2, ReadingsModel::Quality), u"unscaled"_s);
        QVERIFY(!greyed(*model, 2));
    }

    void numberFormatting_data()
    {
        QTest::addColumn<QVariant>("value");
        QTest::addColumn<QString>("expected");

        QTest::newRow("scaled-binary-noise") << QVariant(2301 * 0.1) << u"230.1"_s;
        QTest::newRow("plain-230.1") << QVariant(230.1) << u"230.1"_s;
        QTest::newRow("small-1e-3") << QVariant(1e-3) << u"0.001"_s;
        QTest::newRow("large-12345678.9") << QVariant(12345678.9) << u"12,345,678.9"_s;
        QTest::newRow("negative") << QVariant(-42.75) << u"-42.75"_s;
        QTest::newRow("integer-valued") << QVariant(1500.0) << u"1,500"_s;
        QTest::newRow("zero") << QVariant(0.0) << u"0"_s;
        QTest::newRow("qint64") << QVariant(qint64(123456)) << u"123,456"_s;
        QTest::newRow("beyond-1e12") << QVariant(12345678901234.0) << u"12,345,678,901,234"_s;
    }
    void numberFormatting()
    {
        QFETCH(QVariant, value);
        QFETCH(QString, expected);
        std::unique_ptr<ReadingsModel> model(makeModel());
        model->addBatch(batch(u"m1"_s, T0, {reading(u"x"_s, value)}));
        QCOMPARE(text(*model, 0, ReadingsModel::Value), expected);
        QCOMPARE(
            model->index(0, ReadingsModel::Value).data(ReadingsModel::SortRole).toDouble(), value.toDouble());
    }

    void agesFollowTheClock_data()
    {
        QTest::addColumn<qint64>("ageMs");
        QTest::addColumn<QString>("expected");

        QTest::newRow("just-now") << qint64(0) << u"0 s ago"_s;
        QTest::newRow("4-s") << qint64(4'900) << u"4 s ago"_s;
        QTest::newRow("59-s") << qint64(59'999) << u"59 s ago"_s;
        QTest::newRow("3-min") << qint64(3 * 60'000 + 5'000) << u"3 min ago"_s;
        QTest::newRow("2-h") << qint64(2 * 3'600'000 + 1) << u"2 h ago"_s;
        QTest::newRow("3-d") << qint64(3 * 86'400'000) << u"3 d ago"_s;
        QTest::newRow("clock-behind") << qint64(-5'000) << u"0 s ago"_s;
    }
    void agesFollowTheClock()
    {
        QFETCH(qint64, ageMs);
        QFETCH(QString, expected);
        std::unique_ptr<ReadingsModel> model(makeModel());
        model->addBatch(batch(u"m1"_s, T0, {reading(u"x"_s, 1.0)}));
        m_now = T0 + ageMs;
        QCOMPARE(text(*model, 0, ReadingsModel::Age), expected);
    }

    void refreshAgesSignalsOnceAndGreysStaleRows()
    {
        std::unique_ptr<ReadingsModel> model(makeModel());
        QAbstractItemModelTester tester(model.get(), QAbstractItemModelTester::FailureReportingMode::QtTest);
        model->setStaleAfterMs(10'000);
        model->addBatch(batch(u"m1"_s, T0, {reading(u"a"_s, 1.0), reading(u"b"_s, 2.0)}));
        model->addBatch(batch(u"m2"_s, T0 + 8'000, {reading(u"a"_s, 3.0)}));
        QVERIFY(!greyed(*model, 0));

        QSignalSpy changed(model.get(), &QAbstractItemModel::dataChanged);
        m_now = T0 + 5'000;
        model->refreshAges();
        QCOMPARE(changed.size(), 1);
        // Nothing turned stale: the Age column only.
        QCOMPARE(changed.at(0).at(0).value<QModelIndex>(), model->index(0, ReadingsModel::Age));
        QCOMPARE(changed.at(0).at(1).value<QModelIndex>(), model->index(2, ReadingsModel::Age));
        QCOMPARE(text(*model, 0, ReadingsModel::Age), u"5 s ago"_s);

        changed.clear();
        m_now = T0 + 12'000; // m1 is 12 s old: stale; m2 4 s
        model->refreshAges();
        QCOMPARE(changed.size(), 1);
        QCOMPARE(changed.at(0).at(0).value<QModelIndex>(), model->index(0, 0));
        QCOMPARE(changed.at(0).at(1).value<QModelIndex>(), model->index(2, ReadingsModel::ColumnCount - 1));
        QVERIFY(greyed(*model, 0));
        QVERIFY(greyed(*model, 1, ReadingsModel::Value));
        QVERIFY(!greyed(*model, 2));

        // A fresh batch brings the meter back.
        model->addBatch(batch(u"m1"_s, T0 + 12'000, {reading(u"a"_s, 1.5), reading(u"b"_s, 2.5)}));
        QVERIFY(!greyed(*model, 0));
        QVERIFY(!greyed(*model, 1));
    }

    void removeMeterTakesAllItsRows()
    {
        std::unique_ptr<ReadingsModel> model(makeModel());
        QAbstractItemModelTester tester(model.get(), QAbstractItemModelTester::FailureReportingMode::QtTest);
        model->addBatch(batch(u"m1"_s, T0, {reading(u"a"_s, 1.0)}));
        model->addBatch(batch(u"m2"_s, T0, {reading(u"a"_s, 2.0), reading(u"b"_s, 3.0)}));
        model->addBatch(batch(u"m1"_s, T0, {reading(u"b"_s, 4.0)}));
        model->addBatch(batch(u"m3"_s, T0, {reading(u"a"_s, 5.0)}));
        QCOMPARE(model->rowCount(), 5);
        QSignalSpy removed(model.get(), &QAbstractItemModel::rowsRemoved);
        model->removeMeter(u"m1"_s);
        QCOMPARE(removed.size(), 2); // rows 0 and 3 are not contiguous
        QCOMPARE(model->rowCount(), 3);
        for (int row = 0; row < model->rowCount(); ++row)
            QVERIFY(model->index(row, 0).data(ReadingsModel::MeterIdRole).toString() != u"m1"_s);
        model->removeMeter(u"unknown"_s);
        QCOMPARE(model->rowCount(), 3);
        // The index follows the moved rows: an update of m3 lands on its row.
        model->addBatch(batch(u"m3"_s, T0, {reading(u"a"_s, 50.0)}));
        QCOMPARE(model->rowCount(), 3);
        QCOMPARE(text(*model, 2, ReadingsModel::Value), u"50"_s);
        // And m1 starts afresh.
        model->addBatch(batch(u"m1"_s, T0, {reading(u"a"_s, 7.0)}));
        QCOMPARE(model->rowCount(), 4);
        model->clear();
        QCOMPARE(model->rowCount(), 0);
    }

    void meterNames()
    {
        std::unique_ptr<ReadingsModel> model(makeModel());
        model->addBatch(batch(u"m1"_s, T0, {reading(u"a"_s, 1.0)}));
        model->addBatch(batch(u"m2"_s, T0, {reading(u"a"_s, 1.0)}));
        QSignalSpy changed(model.get(), &QAbstractItemModel::dataChanged);
        model->setMeterNames({{u"m1"_s, u"Substation A"_s}});
        QCOMPARE(changed.size(), 1);
        QCOMPARE(changed.at(0).at(0).value<QModelIndex>().column(), int(ReadingsModel::Meter));
        QCOMPARE(text(*model, 0, ReadingsModel::Meter), u"Substation A"_s);
        QCOMPARE(model->index(0, ReadingsModel::Meter).data(Qt::ToolTipRole).toString(), u"m1"_s);
        QCOMPARE(text(*model, 1, ReadingsModel::Meter), u"m2"_s); // no name: the id
        QCOMPARE(model->index(0, ReadingsModel::Meter).data(ReadingsModel::MeterIdRole).toString(), u"m1"_s);
    }
};

QTEST_MAIN(tst_ReadingsModel)
#include "tst_readingsmodel.moc"
