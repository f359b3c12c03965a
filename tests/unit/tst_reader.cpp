#include "readertestdb.h"

#include <reader.h>

#include <QtCore/QFile>
#include <QtCore/QTemporaryDir>
#include <QtTest/QTest>

#include <algorithm>
#include <cmath>
#include <limits>

using namespace Qt::StringLiterals;
using monitor::MetricsRow;
using readertest::TestDb;
using storage::Reader;

Q_DECLARE_METATYPE(dlms::ErrorCode)

namespace {

constexpr qint64 T0 = 1'795'514'400'000; // 2026-11-24T10:00:00Z
constexpr qint64 Minute = 60'000;
constexpr qint64 AllFrom = std::numeric_limits<qint64>::min();
constexpr qint64 AllTo = std::numeric_limits<qint64>::max();

bool hasReaderConnection()
{
    const QStringList names = QSqlDatabase::connectionNames();
    return std::any_of(
        names.cbegin(), names.cend(), [](const QString &n) { return n.contains(u"-reader-"_s); });
}

// A database left at an older schema version, as the Python bridge or an old build left it.
bool makeOldDatabase(const QString &path, int version)
{
    const QString name = u"old-schema"_s;
    bool ok = true;
    {
        QSqlDatabase db = QSqlDatabase::addDatabase(u"QSQLITE"_s, name);
        db.setDatabaseName(path);
        ok = db.open();
        for (int step = 1; ok && step <= version; ++step) {
            for (const QString &sql : storage::migrationStatements(step)) {
                QSqlQuery query(db);
                ok = ok && query.exec(sql);
            }
        }
        QSqlQuery query(db);
        if (version == 0) // the Python bridge: its table, no version
            ok = ok && query.exec(storage::migrationStatements(1).constFirst());
        ok = ok && query.exec(u"PRAGMA user_version = "_s + QString::number(version));
        query = QSqlQuery();
        db.close();
    }
    QSqlDatabase::removeDatabase(name);
    return ok;
}

} // namespace

class tst_Reader : public QObject {
    Q_OBJECT

private slots:
    void openFails_data()
    {
        QTest::addColumn<QString>("kind");
        QTest::addColumn<QString>("expected");
        QTest::addColumn<dlms::ErrorCode>("code");
        const auto io = dlms::ErrorCode::IoError;
        QTest::newRow("missing-file") << u"missing"_s << u"no such database"_s << io;
        QTest::newRow("not-sqlite") << u"garbage"_s << u"not an SQLite database"_s << io;
        QTest::newRow("python-bridge-version-0") << u"v0"_s << u"schema version 0"_s << io;
        QTest::newRow("older-version-1") << u"v1"_s << u"schema version 1"_s << io;
        QTest::newRow("older-version-2") << u"v2"_s << u"schema version 2"_s << io;
        QTest::newRow("older-version-3") << u"v3"_s << u"schema version 3"_s << io;
        QTest::newRow("newer-version-5")
            << u"v5"_s << u"schema version 5"_s << dlms::ErrorCode::InvalidArgument;
    }
    void openFails()
    {
        QFETCH(QString, kind);
        QFETCH(QString, expected);
        QFETCH(dlms::ErrorCode, code);
        QTemporaryDir dir;
        const QString path = dir.filePath(u"bridge.db"_s);
        if (kind == u"garbage") {
            QFile file(path);
            QVERIFY(file.open(QIODevice::WriteOnly));
            file.write(QByteArray(4096, 'x'));
        } else if (kind == u"v0") {
            QVERIFY(makeOldDatabase(path, 0));
        } else if (kind == u"v1") {
            QVERIFY(makeOldDatabase(path, 1));
        } else if (kind == u"v2") {
            QVERIFY(makeOldDatabase(path, 2));
        } else if (kind == u"v3") {
            QVERIFY(makeOldDatabase(path, 3));
        } else if (kind == u"v5") {
            QVERIFY(makeOldDatabase(path, 4));
            QSqlDatabase db = QSqlDatabase::addDatabase(u"QSQLITE"_s, u"bump"_s);
            db.setDatabaseName(path);
            QVERIFY(db.open());
            QSqlQuery(db).exec(u"PRAGMA user_version = 5"_s);
            db.close();
            db = {};
            QSqlDatabase::removeDatabase(u"bump"_s);
        }
        const auto reader = Reader::open(path);
        QVERIFY(!reader);
        QCOMPARE(reader.error().code, code);
        QVERIFY2(reader.error().message.contains(path), qPrintable(reader.error().message));
        QVERIFY2(reader.error().message.contains(expected), qPrintable(reader.error().message));
        QVERIFY(!hasReaderConnection());
        // A read-only open must not create or migrate anything.
        if (kind == u"missing")
            QVERIFY(!QFile::exists(path));
    }

    void meterIdsAndNames()
    {
        TestDb test;
        QVERIFY(test.open());
        QVERIFY(readertest::insertMeter(test.db(), u"b"_s, u"Bravo"_s));
        QVERIFY(readertest::insertMeter(test.db(), u"a"_s, u"Alpha"_s));
        QVERIFY(readertest::insertMeter(test.db(), u"c"_s, u""_s));
        auto reader = Reader::open(test.path());
        QVERIFY2(reader, readertest::why(reader));
        const auto ids = reader->meterIds();
        QVERIFY(ids);
        QCOMPARE(*ids, (QStringList {u"a"_s, u"b"_s, u"c"_s}));
        const auto alpha = reader->meterName(u"a"_s);
        QVERIFY(alpha);
        QCOMPARE(alpha->value_or(u"?"_s), u"Alpha"_s);
        const auto unnamed = reader->meterName(u"c"_s);
        QVERIFY(unnamed && unnamed->has_value());
        QCOMPARE(**unnamed, QString());
        const auto unknown = reader->meterName(u"zz"_s);
        QVERIFY(unknown);
        QVERIFY(!unknown->has_value());
    }

    void metricsRangeLimitAndOrder()
    {
        TestDb test;
        QVERIFY(test.open());
        // Inserted out of order; another meter and the system row interleaved.
        for (int minute : {5, 1, 9, 0, 3, 7, 2, 8, 4, 6}) {
            QVERIFY(readertest::insertMetrics(
                test.db(), readertest::distinctRow(u"m1"_s, T0 + minute * Minute, minute)));
            QVERIFY(readertest::insertMetrics(
                test.db(), readertest::distinctRow(u"m2"_s, T0 + minute * Minute, 50)));
            QVERIFY(readertest::insertMetrics(
                test.db(), readertest::distinctRow(u"*"_s, T0 + minute * Minute, 60)));
        }
        auto reader = Reader::open(test.path());
        QVERIFY(reader);

        const auto all = reader->metrics(u"m1"_s, AllFrom, AllTo);
        QVERIFY(all);
        QCOMPARE(all->size(), size_t(10));
        for (int i = 0; i < 10; ++i) // oldest first, and every column back in its field
            QVERIFY2((*all)[size_t(i)] == readertest::distinctRow(u"m1"_s, T0 + i * Minute, i),
                qPrintable(QString::number(i)));

        const auto range = reader->metrics(u"m1"_s, T0 + 2 * Minute, T0 + 5 * Minute);
        QVERIFY(range);
        QCOMPARE(range->size(), size_t(3)); // from inclusive, to exclusive
        QCOMPARE(range->front().timestampMs, T0 + 2 * Minute);
        QCOMPARE(range->back().timestampMs, T0 + 4 * Minute);

        const auto newest = reader->metrics(u"m1"_s, AllFrom, AllTo, 4);
        QVERIFY(newest);
        QCOMPARE(newest->size(), size_t(4)); // the newest four, still oldest first
        QCOMPARE(newest->front().timestampMs, T0 + 6 * Minute);
        QCOMPARE(newest->back().timestampMs, T0 + 9 * Minute);

        const auto system = reader->metrics(u"*"_s, AllFrom, AllTo, 1);
        QVERIFY(system);
        QCOMPARE(system->size(), size_t(1));
        QCOMPARE(system->front().meterId, u"*"_s);
        QCOMPARE(system->front().dlmsRequestsSent, readertest::distinctRow(u"*"_s, 0, 60).dlmsRequestsSent);

        const auto none = reader->metrics(u"nobody"_s, AllFrom, AllTo);
        QVERIFY(none);
        QVERIFY(none->empty());
    }

    void metricsTotals()
    {
        TestDb test;
        QVERIFY(test.open());
        auto row = [](qint64 ts, double period) {
            MetricsRow r;
            r.meterId = u"m1"_s;
            r.timestampMs = ts;
            r.periodS = period;
            return r;
        };
        MetricsRow a = row(T0, 60);
        a.dlmsRequestsSent = 10;
        a.dlmsResponsesRecv = 10;
        a.dlmsBytesSent = 200;
        a.dlmsBytesRecv = 800;
        a.dlmsFramesSent = 10;
        a.dlmsFramesRecv = 12;
        a.mqttMessagesSent = 3;
        a.mqttBytesSent = 300;
        a.pollsAttempted = 4;
        a.pollsCompleted = 3;
        a.pollsFailed = 1;
        a.valuesRead = 30;
        a.rttAvgMs = 10;
        a.rttP95Ms = 20;
        a.rttMaxMs = 25;
        a.bandwidthTxBps = 100;
        a.bandwidthRxBps = 400;
        a.bandwidthTxPeakBps = 1000;
        a.outboxBacklog = 7;
        a.ifRxErrors = 2;
        MetricsRow b = row(T0 + Minute, 30);
        b.dlmsRequestsSent = 5;
        b.dlmsResponsesRecv = 4;
        b.dlmsBytesSent = 100;
        b.dlmsBytesRecv = 300;
        b.dlmsFramesSent = 5;
        b.dlmsFramesRecv = 5;
        b.dlmsTimeouts = 1;
        b.pollsAttempted = 2;
        b.pollsCompleted = 1;
        b.pollsFailed = 1;
        b.rttAvgMs = 40;
        b.rttP95Ms = 50;
        b.rttMaxMs = 90;
        b.bandwidthTxBps = 400;
        b.bandwidthRxBps = 100;
        b.bandwidthRxPeakBps = 0; // a row without a peak: its average stands in
        b.outboxBacklog = 2; // the newest level, not a sum
        b.ifRxErrors = 3;
        QVERIFY(readertest::insertMetrics(test.db(), b));
        QVERIFY(readertest::insertMetrics(test.db(), a));
        QVERIFY(readertest::insertMetrics(test.db(), readertest::distinctRow(u"m2"_s, T0, 7)));

        auto reader = Reader::open(test.path());
        QVERIFY(reader);
        const auto totals = reader->metricsTotals(u"m1"_s);
        QVERIFY2(totals, readertest::why(totals));
        QCOMPARE(totals->rows, qint64(2));
        QCOMPARE(totals->periodS, 90.0);
        const MetricsRow &s = totals->sums;
        QCOMPARE(s.meterId, u"m1"_s);
        QCOMPARE(s.timestampMs, T0);
        QCOMPARE(s.dlmsRequestsSent, quint64(15));
        QCOMPARE(s.dlmsResponsesRecv, quint64(14));
        QCOMPARE(s.dlmsBytesSent, quint64(300));
        QCOMPARE(s.dlmsBytesRecv, quint64(1100));
        QCOMPARE(s.dlmsFramesSent, quint64(15));
        QCOMPARE(s.dlmsFramesRecv, quint64(17));
        QCOMPARE(s.dlmsAvgPayloadSize, 300.0 / 15.0); // bytes sent / frames sent (the seed's meaning)
        QCOMPARE(s.mqttMessagesSent, quint64(3));
        QCOMPARE(s.mqttBytesSent, quint64(300));
        QCOMPARE(s.pollsAttempted, quint64(6));
        QCOMPARE(s.pollsCompleted, quint64(4));
        QCOMPARE(s.pollsFailed, quint64(2));
        QCOMPARE(s.dlmsTimeouts, quint64(1));
        QCOMPARE(s.valuesRead, quint64(30));
        QCOMPARE(s.rttAvgMs, (10.0 * 3 + 40.0 * 1) / 4); // no rtt_samples: weighted by completed polls
        QCOMPARE(s.rttP95Ms, 50.0);
        QCOMPARE(s.rttMaxMs, 90.0);
        QCOMPARE(s.bandwidthTxBps, (100.0 * 60 + 400.0 * 30) / 90); // weighted by period
        QCOMPARE(s.bandwidthRxBps, (400.0 * 60 + 100.0 * 30) / 90);
        QCOMPARE(s.bandwidthTxPeakBps, 1000.0);
        QCOMPARE(s.bandwidthRxPeakBps, 400.0);
        QCOMPARE(s.outboxBacklog, qint64(2));
        QCOMPARE(s.ifRxErrors, quint64(5));

        const auto empty = reader->metricsTotals(u"nobody"_s);
        QVERIFY(empty);
        QCOMPARE(empty->rows, qint64(0));
        QCOMPARE(empty->sums.dlmsBytesSent, quint64(0));
        QCOMPARE(empty->sums.dlmsAvgPayloadSize, 0.0);
    }

    void rttAverageWeightedBySamples()
    {
        // Minute A: 100 round trips of 10 ms; minute B: 2 of 1000 ms (polls say otherwise, so
        // weighting by polls or by rows would give another figure).
        TestDb test;
        QVERIFY(test.open());
        MetricsRow a;
        a.meterId = u"m1"_s;
        a.timestampMs = T0;
        a.periodS = 60;
        a.rttAvgMs = 10;
        a.rttSamples = 100;
        a.pollsCompleted = 1;
        MetricsRow b = a;
        b.timestampMs = T0 + Minute;
        b.rttAvgMs = 1000;
        b.rttSamples = 2;
        b.pollsCompleted = 1;
        QVERIFY(readertest::insertMetrics(test.db(), a));
        QVERIFY(readertest::insertMetrics(test.db(), b));
        auto reader = Reader::open(test.path());
        QVERIFY(reader);
        const auto totals = reader->metricsTotals(u"m1"_s);
        QVERIFY2(totals, readertest::why(totals));
        QCOMPARE(totals->sums.rttSamples, quint64(102));
        QCOMPARE(totals->sums.rttAvgMs, (100.0 * 10 + 2.0 * 1000) / 102);
        QCOMPARE(std::round(totals->sums.rttAvgMs * 100) / 100, 29.41);
    }

    void totalsOfPythonBridgeRows()
    {
        // Rows migrated from the Python bridge have no frame counts: its requests were its
        // frames.
        TestDb test;
        QVERIFY(test.open());
        MetricsRow r;
        r.meterId = u"1"_s;
        r.timestampMs = T0;
        r.periodS = 60;
        r.dlmsRequestsSent = 278;
        r.dlmsResponsesRecv = 275;
        r.dlmsBytesSent = 7606;
        r.dlmsBytesRecv = 6592;
        QVERIFY(readertest::insertMetrics(test.db(), r));
        auto reader = Reader::open(test.path());
        QVERIFY(reader);
        const auto totals = reader->metricsTotals(u"1"_s);
        QVERIFY(totals);
        // The seed's example: 7,606 bytes / 278 requests = 27.4.
        QCOMPARE(totals->sums.dlmsAvgPayloadSize, 7606.0 / 278.0);
        QCOMPARE(std::round(totals->sums.dlmsAvgPayloadSize * 10) / 10, 27.4);
    }

    void readingCursor()
    {
        TestDb test;
        QVERIFY(test.open());
        const QSqlDatabase db = test.db();
        QVERIFY(readertest::insertReading(
            db, u"m2"_s, T0 + 1000, u"voltage"_s, u"1.0.32.7.0.255"_s, 231.5, u"V"_s));
        QVERIFY(readertest::insertReading(db, u"m1"_s, T0, u"voltage"_s, u"1.0.32.7.0.255"_s, 230.1, u"V"_s));
        QVERIFY(readertest::insertReading(
            db, u"m1"_s, T0, u"serial"_s, u"0.0.96.1.0.255"_s, u"ABC-1"_s, QString()));
        QVERIFY(readertest::insertReading(
            db, u"m1"_s, T0, u"energy"_s, u"1.0.1.8.0.255"_s, QVariant(), u"Wh"_s, u"failed"_s));
        QVERIFY(readertest::insertReading(
            db, u"m1"_s, T0 + 2000, u"count"_s, u"0.0.1.0.0.255"_s, qint64(42), QString()));
        QVERIFY(readertest::insertReading(
            db, u"m1"_s, T0 - 1000, u"early"_s, u"0.0.1.0.0.255"_s, 1.0, QString()));

        auto reader = Reader::open(test.path());
        QVERIFY(reader);
        auto collect = [&](const QString &meter, qint64 from, qint64 to) {
            QList<storage::StoredReading> rows;
            auto cursor = reader->readings(meter, from, to);
            if (!cursor)
                return rows;
            storage::StoredReading row;
            while (cursor->next(row))
                rows.append(row);
            if (cursor->error())
                rows.clear();
            return rows;
        };

        const auto all = collect(QString(), AllFrom, AllTo);
        QCOMPARE(all.size(), 6);
        // By ts, then insertion order (id) within one ts.
        QStringList keys;
        for (const auto &row : all)
            keys.append(row.meterId + u'/' + row.key);
        QCOMPARE(keys,
            (QStringList {u"m1/early"_s, u"m1/voltage"_s, u"m1/serial"_s, u"m1/energy"_s, u"m2/voltage"_s,
                u"m1/count"_s}));
        const storage::StoredReading &voltage = all.at(1);
        QCOMPARE(voltage.timestampMs, T0);
        QCOMPARE(voltage.obis, u"1.0.32.7.0.255"_s);
        QCOMPARE(voltage.value.typeId(), int(QMetaType::Double));
        QCOMPARE(voltage.value.toDouble(), 230.1);
        QCOMPARE(voltage.unit, u"V"_s);
        QCOMPARE(voltage.quality, u"good"_s);
        QVERIFY(voltage.id > 0);
        QCOMPARE(all.at(2).value.typeId(), int(QMetaType::QString));
        QCOMPARE(all.at(2).value.toString(), u"ABC-1"_s);
        QVERIFY(all.at(3).value.isNull());
        QCOMPARE(all.at(3).quality, u"failed"_s);
        QCOMPARE(all.at(5).value.typeId(), int(QMetaType::Double)); // an INTEGER reads as a number
        QCOMPARE(all.at(5).value.toDouble(), 42.0);

        const auto m1Window = collect(u"m1"_s, T0, T0 + 2000);
        QCOMPARE(m1Window.size(), 3);
        for (const auto &row : m1Window)
            QCOMPARE(row.timestampMs, T0);
        QCOMPARE(collect(u"m2"_s, AllFrom, AllTo).size(), 1);
        QCOMPARE(collect(u"nobody"_s, AllFrom, AllTo).size(), 0);
    }

    void readingCursorByKey_data()
    {
        QTest::addColumn<QString>("meter");
        QTest::addColumn<QString>("key");
        QTest::addColumn<qint64>("from");
        QTest::addColumn<qint64>("to");
        QTest::addColumn<QStringList>("expected"); // meter/key@seconds after T0, in order
        QTest::newRow("meter-and-key") << u"m1"_s << u"voltage"_s << AllFrom << AllTo
                                       << QStringList {u"m1/voltage@0"_s, u"m1/voltage@2"_s};
        QTest::newRow("key-of-every-meter")
            << QString() << u"voltage"_s << AllFrom << AllTo
            << QStringList {u"m1/voltage@0"_s, u"m2/voltage@1"_s, u"m1/voltage@2"_s};
        QTest::newRow("key-within-range")
            << u"m1"_s << u"voltage"_s << T0 + 1000 << AllTo << QStringList {u"m1/voltage@2"_s};
        QTest::newRow("empty-key-is-every-key")
            << u"m1"_s << QString() << AllFrom << AllTo
            << QStringList {u"m1/voltage@0"_s, u"m1/serial@0"_s, u"m1/voltage@2"_s};
        QTest::newRow("key-is-exact") << u"m1"_s << u"volt"_s << AllFrom << AllTo << QStringList();
        QTest::newRow("unknown-key") << u"m1"_s << u"current"_s << AllFrom << AllTo << QStringList();
    }

    void readingCursorByKey()
    {
        QFETCH(QString, meter);
        QFETCH(QString, key);
        QFETCH(qint64, from);
        QFETCH(qint64, to);
        QFETCH(QStringList, expected);
        TestDb test;
        QVERIFY(test.open());
        const QSqlDatabase db = test.db();
        QVERIFY(readertest::insertReading(db, u"m1"_s, T0, u"voltage"_s, u"1.0.32.7.0.255"_s, 230.1, u"V"_s));
        QVERIFY(readertest::insertReading(
            db, u"m1"_s, T0, u"serial"_s, u"0.0.96.1.0.255"_s, u"ABC-1"_s, QString()));
        QVERIFY(readertest::insertReading(
            db, u"m2"_s, T0 + 1000, u"voltage"_s, u"1.0.32.7.0.255"_s, 231.5, u"V"_s));
        QVERIFY(readertest::insertReading(
            db, u"m1"_s, T0 + 2000, u"voltage"_s, u"1.0.32.7.0.255"_s, 229.9, u"V"_s));

        auto reader = Reader::open(test.path());
        QVERIFY(reader);
        auto cursor = reader->readings(meter, from, to, key);
        QVERIFY(cursor);
        QStringList rows;
        storage::StoredReading row;
        while (cursor->next(row))
            rows.append(u"%1/%2@%3"_s.arg(row.meterId, row.key).arg((row.timestampMs - T0) / 1000));
        QVERIFY(!cursor->error());
        QCOMPARE(rows, expected);
    }

    void metricsCursor()
    {
        TestDb test;
        QVERIFY(test.open());
        for (int minute : {2, 0, 1}) {
            for (const QString &meter : {u"m2"_s, u"*"_s, u"m1"_s})
                QVERIFY(readertest::insertMetrics(
                    test.db(), readertest::distinctRow(meter, T0 + minute * Minute, minute)));
        }
        auto reader = Reader::open(test.path());
        QVERIFY(reader);
        auto cursor = reader->metricsRows(QString(), AllFrom, AllTo);
        QVERIFY(cursor);
        QStringList order;
        MetricsRow row;
        while (cursor->next(row)) {
            order.append(QString::number((row.timestampMs - T0) / Minute) + row.meterId);
            QVERIFY(row
                == readertest::distinctRow(
                    row.meterId, row.timestampMs, int((row.timestampMs - T0) / Minute)));
        }
        QVERIFY(!cursor->error());
        QCOMPARE(order,
            (QStringList {
                u"0*"_s, u"0m1"_s, u"0m2"_s, u"1*"_s, u"1m1"_s, u"1m2"_s, u"2*"_s, u"2m1"_s, u"2m2"_s}));
        QVERIFY(!cursor->next(row)); // stays at the end

        auto system = reader->metricsRows(u"*"_s, T0 + Minute, AllTo);
        QVERIFY(system);
        int rows = 0;
        while (system->next(row)) {
            QCOMPARE(row.meterId, u"*"_s);
            QVERIFY(row.timestampMs >= T0 + Minute);
            ++rows;
        }
        QCOMPARE(rows, 2);
    }

    void readerSeesCommittedRowsWhileWriterWrites()
    {
        TestDb test;
        QVERIFY(test.open());
        QSqlDatabase writer = test.db();
        QVERIFY(readertest::insertReading(writer, u"m1"_s, T0, u"v"_s, u"1.0.32.7.0.255"_s, 1.0, u"V"_s));
        auto reader = Reader::open(test.path());
        QVERIFY(reader);
        auto count = [&] {
            auto cursor = reader->readings(QString(), AllFrom, AllTo);
            int n = 0;
            storage::StoredReading row;
            while (cursor && cursor->next(row))
                ++n;
            return (cursor && !cursor->error()) ? n : -1;
        };
        QCOMPARE(count(), 1);
        QVERIFY(writer.transaction());
        QVERIFY(
            readertest::insertReading(writer, u"m1"_s, T0 + 1000, u"v"_s, u"1.0.32.7.0.255"_s, 2.0, u"V"_s));
        QCOMPARE(count(), 1); // not committed yet: WAL gives the reader the last commit, no lock wait
        QVERIFY(writer.commit());
        QCOMPARE(count(), 2);

        // A cursor open across a commit keeps its snapshot; a new one sees the new row.
        auto open = reader->readings(QString(), AllFrom, AllTo);
        QVERIFY(open);
        storage::StoredReading row;
        QVERIFY(open->next(row));
        QVERIFY(
            readertest::insertReading(writer, u"m1"_s, T0 + 2000, u"v"_s, u"1.0.32.7.0.255"_s, 3.0, u"V"_s));
        int rest = 0;
        while (open->next(row))
            ++rest;
        QCOMPARE(rest, 1);
        open = Reader::ReadingCursor();
        QCOMPARE(count(), 3);
    }

    void readerIsReadOnly()
    {
        TestDb test;
        QVERIFY(test.open());
        auto reader = Reader::open(test.path());
        QVERIFY(reader);
        QSqlQuery query(reader->database());
        QVERIFY(!query.exec(u"INSERT INTO meters (id) VALUES ('x')"_s));
    }

    void moveLeavesTheSourceInert()
    {
        TestDb test;
        QVERIFY(test.open());
        QVERIFY(readertest::insertMeter(test.db(), u"a"_s, u"Alpha"_s));
        {
            auto opened = Reader::open(test.path());
            QVERIFY(opened);
            Reader first = std::move(*opened);
            QVERIFY(!opened->database().isValid());
            QVERIFY(first.database().isOpen());
            QCOMPARE(first.meterIds().value(), QStringList {u"a"_s});

            auto other = Reader::open(test.path());
            QVERIFY(other);
            const QString replaced = other->database().connectionName();
            *other = std::move(first); // the connection it had is closed and removed
            QVERIFY(!QSqlDatabase::connectionNames().contains(replaced));
            QVERIFY(!first.database().isValid());
            QCOMPARE(other->meterIds().value(), QStringList {u"a"_s});
            QVERIFY(hasReaderConnection());
        }
        QVERIFY(!hasReaderConnection()); // every connection removed with its reader
    }
};

QTEST_GUILESS_MAIN(tst_Reader)
#include "tst_reader.moc"
