#include "meterlistmodel.h"

#include <displayformat.h>

#include <QtCore/QPersistentModelIndex>
#include <QtCore/QTranslator>
#include <QtTest/QAbstractItemModelTester>
#include <QtTest/QSignalSpy>
#include <QtTest/QTest>
#include <QtWidgets/QApplication>

using namespace Qt::StringLiterals;

namespace {

constexpr qint64 kNow = 1'700'000'000'000;

MeterRow makeRow(const QString &id, polling::MeterState state = polling::MeterState::Polling)
{
    MeterRow row;
    row.status.id = id;
    row.status.name = u"Meter "_s + id;
    row.status.host = u"127.0.0.1"_s;
    row.status.port = 4059;
    row.status.transport = u"wrapper"_s;
    row.status.state = state;
    return row;
}

QList<MeterRow> rowsOf(const QStringList &ids)
{
    QList<MeterRow> rows;
    for (const QString &id : ids)
        rows.append(makeRow(id));
    return rows;
}

QStringList idsOf(const MeterListModel &model)
{
    QStringList ids;
    for (int r = 0; r < model.rowCount(); ++r)
        ids.append(model.index(r, 0).data(MeterListModel::MeterIdRole).toString());
    return ids;
}

// Every signal a diff may emit, counted.
struct Spies {
    explicit Spies(MeterListModel *model)
        : inserted(model, &QAbstractItemModel::rowsInserted),
          removed(model, &QAbstractItemModel::rowsRemoved), changed(model, &QAbstractItemModel::dataChanged),
          layout(model, &QAbstractItemModel::layoutChanged), reset(model, &QAbstractItemModel::modelReset)
    {
    }
    void clear()
    {
        inserted.clear();
        removed.clear();
        changed.clear();
        layout.clear();
        reset.clear();
    }
    QSignalSpy inserted;
    QSignalSpy removed;
    QSignalSpy changed;
    QSignalSpy layout;
    QSignalSpy reset;
};

// A language with a few of the model's strings, to see that texts are translated when read.
class FakeSpanish : public QTranslator {
public:
    bool isEmpty() const override { return false; }
    QString translate(const char *context, const char *source, const char *, int n) const override
    {
        const QByteArray s(source);
        // Ages are formatted by monitor::formatAge, in the shared context of figures.
        if (qstrcmp(context, "monitor::Format") == 0)
            return s == "%n min ago" ? u"hace %1 min"_s.arg(n) : QString();
        if (qstrcmp(context, "MeterListModel") != 0)
            return {};
        if (s == "Polling")
            return u"Sondeando"_s;
        if (s == "Backing off")
            return u"En espera"_s;
        if (s == "Paused")
            return u"En pausa"_s;
        if (s == "State")
            return u"Estado"_s;
        return {};
    }
};

} // namespace

class tst_MeterListModel : public QObject {
    Q_OBJECT

private slots:
    void init();
    void insertsAppendedRowsOnce();
    void diff_data();
    void diff();
    void reorderKeepsPersistentIndexes();
    void valueChangesAreOneDataChanged();
    void unchangedRefreshEmitsNothing();
    void ageTicksEmitDataChanged();
    void ageBucketFollowsAgeText();
    void columnTexts_data();
    void columnTexts();
    void stateTexts_data();
    void stateTexts();
    void lastPollAges_data();
    void lastPollAges();
    void sortRoleIsRaw();
    void rowLookup();
    void headersAndTooltips();
    void translatedAtReadTime();

private:
    qint64 m_now = kNow;
    std::unique_ptr<MeterListModel> m_model;
    std::unique_ptr<QAbstractItemModelTester> m_tester;
};

void tst_MeterListModel::init()
{
    m_now = kNow;
    m_model = std::make_unique<MeterListModel>([this] { return m_now; });
    m_tester = std::make_unique<QAbstractItemModelTester>(
        m_model.get(), QAbstractItemModelTester::FailureReportingMode::QtTest);
}

void tst_MeterListModel::insertsAppendedRowsOnce()
{
    Spies spies(m_model.get());
    m_model->setRows(rowsOf({u"a"_s, u"b"_s, u"c"_s}));
    QCOMPARE(spies.inserted.count(), 1);
    QCOMPARE(spies.inserted.at(0).at(1).toInt(), 0);
    QCOMPARE(spies.inserted.at(0).at(2).toInt(), 2);
    QCOMPARE(spies.changed.count(), 0);
    QCOMPARE(spies.reset.count(), 0);
    QCOMPARE(idsOf(*m_model), (QStringList {u"a"_s, u"b"_s, u"c"_s}));
}

void tst_MeterListModel::diff_data()
{
    QTest::addColumn<QStringList>("before");
    QTest::addColumn<QStringList>("after");
    QTest::addColumn<int>("inserts");
    QTest::addColumn<int>("removes");
    QTest::addColumn<int>("layouts");
    QTest::newRow("remove-middle-run") << QStringList {u"a"_s, u"b"_s, u"c"_s, u"d"_s, u"e"_s}
                                       << QStringList {u"a"_s, u"e"_s} << 0 << 1 << 0;
    QTest::newRow("remove-two-runs") << QStringList {u"a"_s, u"b"_s, u"c"_s, u"d"_s, u"e"_s}
                                     << QStringList {u"a"_s, u"c"_s, u"e"_s} << 0 << 2 << 0;
    QTest::newRow("remove-all") << QStringList {u"a"_s, u"b"_s} << QStringList {} << 0 << 1 << 0;
    QTest::newRow("insert-middle-run")
        << QStringList {u"a"_s, u"e"_s} << QStringList {u"a"_s, u"b"_s, u"c"_s, u"e"_s} << 1 << 0 << 0;
    QTest::newRow("insert-front-and-back")
        << QStringList {u"b"_s} << QStringList {u"a"_s, u"b"_s, u"c"_s} << 2 << 0 << 0;
    QTest::newRow("replace-middle") << QStringList {u"a"_s, u"b"_s, u"c"_s}
                                    << QStringList {u"a"_s, u"x"_s, u"c"_s} << 1 << 1 << 0;
    QTest::newRow("reorder") << QStringList {u"a"_s, u"b"_s, u"c"_s} << QStringList {u"c"_s, u"a"_s, u"b"_s}
                             << 0 << 0 << 1;
    QTest::newRow("reorder-insert-remove") << QStringList {u"a"_s, u"b"_s, u"c"_s, u"d"_s}
                                           << QStringList {u"d"_s, u"n"_s, u"b"_s} << 1 << 2 << 1;
    QTest::newRow("same") << QStringList {u"a"_s, u"b"_s} << QStringList {u"a"_s, u"b"_s} << 0 << 0 << 0;
}

void tst_MeterListModel::diff()
{
    QFETCH(QStringList, before);
    QFETCH(QStringList, after);
    QFETCH(int, inserts);
    QFETCH(int, removes);
    QFETCH(int, layouts);
    m_model->setRows(rowsOf(before));
    Spies spies(m_model.get());
    m_model->setRows(rowsOf(after));
    QCOMPARE(idsOf(*m_model), after);
    QCOMPARE(spies.inserted.count(), inserts);
    QCOMPARE(spies.removed.count(), removes);
    QCOMPARE(spies.layout.count(), layouts);
    QCOMPARE(spies.reset.count(), 0);
    // Same data for the rows that stayed: nothing to repaint.
    QCOMPARE(spies.changed.count(), 0);
    for (int r = 0; r < after.size(); ++r)
        QCOMPARE(m_model->row(after[r])->status.id, after[r]);
}

void tst_MeterListModel::reorderKeepsPersistentIndexes()
{
    m_model->setRows(rowsOf({u"a"_s, u"b"_s, u"c"_s}));
    const QPersistentModelIndex a = m_model->index(0, MeterListModel::State);
    const QPersistentModelIndex c = m_model->index(2, MeterListModel::Rtt);
    m_model->setRows(rowsOf({u"c"_s, u"b"_s, u"a"_s}));
    QVERIFY(a.isValid());
    QCOMPARE(a.row(), 2);
    QCOMPARE(a.column(), int(MeterListModel::State));
    QCOMPARE(a.data(MeterListModel::MeterIdRole).toString(), u"a"_s);
    QCOMPARE(c.row(), 0);
    QCOMPARE(c.data(MeterListModel::MeterIdRole).toString(), u"c"_s);
}

void tst_MeterListModel::valueChangesAreOneDataChanged()
{
    QList<MeterRow> rows = rowsOf({u"a"_s, u"b"_s, u"c"_s, u"d"_s, u"e"_s});
    m_model->setRows(rows);
    Spies spies(m_model.get());
    rows[1].status.state = polling::MeterState::BackingOff;
    rows[1].status.reason = u"connection refused"_s;
    rows[3].stats.meterId = u"d"_s;
    rows[3].stats.counters.dlms.bytesSent = 100;
    m_model->setRows(rows);
    QCOMPARE(spies.changed.count(), 1);
    const auto topLeft = spies.changed.at(0).at(0).value<QModelIndex>();
    const auto bottomRight = spies.changed.at(0).at(1).value<QModelIndex>();
    QCOMPARE(topLeft.row(), 1);
    QCOMPARE(topLeft.column(), 0);
    QCOMPARE(bottomRight.row(), 3);
    QCOMPARE(bottomRight.column(), int(MeterListModel::ColumnCount) - 1);
    QCOMPARE(spies.inserted.count() + spies.removed.count() + spies.layout.count(), 0);
    QCOMPARE(m_model->index(3, MeterListModel::DlmsBytes).data().toString(), monitor::formatBytes(100));
}

void tst_MeterListModel::unchangedRefreshEmitsNothing()
{
    QList<MeterRow> rows = rowsOf({u"a"_s, u"b"_s});
    rows[0].status.lastReadingsMs = kNow - 5000;
    m_model->setRows(rows);
    Spies spies(m_model.get());
    m_now += 200; // still "5 s ago"
    m_model->setRows(rows);
    QCOMPARE(spies.changed.count(), 0);
}

void tst_MeterListModel::ageBucketFollowsAgeText()
{
    // Around every unit boundary and across a unit's counts: the bucket changes exactly when
    // the text does.
    QList<qint64> ages {-5000, -1, 0, 1, 999, 1000, 59'999, 60'000, 119'999, 120'000};
    for (qint64 boundary : {3'600'000LL, 7'200'000LL, 86'400'000LL, 172'800'000LL, 400LL * 86'400'000})
        ages << boundary - 1 << boundary << boundary + 1;
    for (qint64 a : std::as_const(ages)) {
        for (qint64 b : std::as_const(ages)) {
            const bool sameText = monitor::formatAge(a) == monitor::formatAge(b);
            const bool sameBucket = monitor::ageBucket(a) == monitor::ageBucket(b);
            QVERIFY2(sameText == sameBucket, qPrintable(u"%1 ms vs %2 ms"_s.arg(a).arg(b)));
        }
    }
}

void tst_MeterListModel::ageTicksEmitDataChanged()
{
    QList<MeterRow> rows = rowsOf({u"a"_s, u"b"_s, u"c"_s});
    rows[2].status.lastReadingsMs = kNow - 5000;
    m_model->setRows(rows);
    Spies spies(m_model.get());
    m_now += 1000;
    m_model->setRows(rows);
    QCOMPARE(spies.changed.count(), 1);
    QCOMPARE(spies.changed.at(0).at(0).value<QModelIndex>().row(), 2);
    QCOMPARE(spies.changed.at(0).at(1).value<QModelIndex>().row(), 2);
    QCOMPARE(m_model->index(2, MeterListModel::LastPoll).data().toString(), u"6 s ago"_s);
}

void tst_MeterListModel::columnTexts_data()
{
    QTest::addColumn<int>("column");
    QTest::addColumn<bool>("withStats");
    QTest::addColumn<QString>("expected");
    QTest::newRow("name") << int(MeterListModel::Name) << true << u"Meter m1"_s;
    QTest::newRow("address") << int(MeterListModel::Address) << true << u"127.0.0.1:4059"_s;
    QTest::newRow("transport") << int(MeterListModel::Transport) << true << u"Wrapper"_s;
    QTest::newRow("state") << int(MeterListModel::State) << true << u"Polling"_s;
    QTest::newRow("last-poll") << int(MeterListModel::LastPoll) << true << u"3 s ago"_s;
    QTest::newRow("rtt") << int(MeterListModel::Rtt) << true << monitor::formatMs(12.5);
    QTest::newRow("success") << int(MeterListModel::SuccessRate) << true << monitor::formatPercent(0.75);
    QTest::newRow("dlms-bytes") << int(MeterListModel::DlmsBytes) << true << monitor::formatBytes(1500);
    QTest::newRow("mqtt-messages") << int(MeterListModel::MqttMessages) << true << monitor::formatCount(1234);
    QTest::newRow("rtt-no-stats") << int(MeterListModel::Rtt) << false << monitor::noData();
    QTest::newRow("success-no-stats") << int(MeterListModel::SuccessRate) << false << monitor::noData();
    QTest::newRow("dlms-bytes-no-stats") << int(MeterListModel::DlmsBytes) << false << monitor::noData();
    QTest::newRow("mqtt-no-stats") << int(MeterListModel::MqttMessages) << false << monitor::noData();
}

void tst_MeterListModel::columnTexts()
{
    QFETCH(int, column);
    QFETCH(bool, withStats);
    QFETCH(QString, expected);
    MeterRow row = makeRow(u"m1"_s);
    row.status.lastReadingsMs = kNow - 3400;
    if (withStats) {
        row.stats.meterId = u"m1"_s;
        row.stats.rttAvgMs = 12.5;
        row.stats.counters.dlms.rttCount = 4;
        row.stats.pollSuccessRate = 0.75;
        row.stats.counters.dlms.bytesSent = 500;
        row.stats.counters.dlms.bytesReceived = 1000;
        row.stats.counters.mqttMessages = 1234;
    }
    m_model->setRows({row});
    QCOMPARE(m_model->index(0, column).data().toString(), expected);
    QCOMPARE(m_model->index(0, column).data(MeterListModel::MeterIdRole).toString(), u"m1"_s);
    QCOMPARE(
        m_model->index(0, column).data(MeterListModel::StateRole).toInt(), int(polling::MeterState::Polling));
}

void tst_MeterListModel::stateTexts_data()
{
    QTest::addColumn<polling::MeterState>("state");
    QTest::addColumn<bool>("paused");
    QTest::addColumn<QString>("reason");
    QTest::addColumn<QString>("expected");
    QTest::addColumn<QString>("icon");
    using S = polling::MeterState;
    QTest::newRow("disconnected") << S::Disconnected << false << QString() << u"Disconnected"_s
                                  << u"state-idle"_s;
    QTest::newRow("connecting") << S::Connecting << false << QString() << u"Connecting"_s << u"state-busy"_s;
    QTest::newRow("associating") << S::Associating << false << QString() << u"Associating"_s
                                 << u"state-busy"_s;
    QTest::newRow("associated") << S::Associated << false << QString() << u"Associated"_s << u"state-ok"_s;
    QTest::newRow("polling") << S::Polling << false << QString() << u"Polling"_s << u"state-ok"_s;
    QTest::newRow("backing-off-with-reason") << S::BackingOff << false << u"connection refused"_s
                                             << u"Backing off — connection refused"_s << u"state-warning"_s;
    QTest::newRow("circuit-open-with-reason") << S::CircuitOpen << false << u"5 failures in a row"_s
                                              << u"Circuit open — 5 failures in a row"_s << u"state-error"_s;
    QTest::newRow("paused") << S::Paused << true << QString() << u"Paused"_s << u"state-paused"_s;
    QTest::newRow("paused-while-still-polling")
        << S::Polling << true << QString() << u"Paused"_s << u"state-paused"_s;
    QTest::newRow("disconnected-after-failure")
        << S::Disconnected << false << u"timed out"_s << u"Disconnected — timed out"_s << u"state-idle"_s;
}

void tst_MeterListModel::stateTexts()
{
    QFETCH(polling::MeterState, state);
    QFETCH(bool, paused);
    QFETCH(QString, reason);
    QFETCH(QString, expected);
    QFETCH(QString, icon);
    MeterRow row = makeRow(u"m1"_s, state);
    row.status.paused = paused;
    row.status.reason = reason;
    m_model->setRows({row});
    const QModelIndex index = m_model->index(0, MeterListModel::State);
    QCOMPARE(index.data().toString(), expected);
    QCOMPARE(
        index.data(MeterListModel::StateRole).toInt(), int(paused ? polling::MeterState::Paused : state));
    // Same picture as the expected icon file, and different from every other state icon.
    const QImage shown = index.data(Qt::DecorationRole).value<QIcon>().pixmap(16, 16).toImage();
    QVERIFY(!shown.isNull());
    for (const QString &name : {u"state-ok"_s, u"state-busy"_s, u"state-warning"_s, u"state-error"_s,
             u"state-paused"_s, u"state-idle"_s}) {
        const QImage other = QIcon(u":/icons/%1.svg"_s.arg(name)).pixmap(16, 16).toImage();
        QCOMPARE(shown == other, name == icon);
    }
    if (!reason.isEmpty())
        QCOMPARE(index.data(Qt::ToolTipRole).toString(), reason);
}

void tst_MeterListModel::lastPollAges_data()
{
    QTest::addColumn<qint64>("ageMs");
    QTest::addColumn<QString>("expected");
    QTest::newRow("never") << qint64(-1) << monitor::noData();
    QTest::newRow("just-now") << qint64(0) << u"0 s ago"_s;
    QTest::newRow("clock-behind") << qint64(-4000) << u"0 s ago"_s;
    QTest::newRow("3-s") << qint64(3999) << u"3 s ago"_s;
    QTest::newRow("59-s") << qint64(59'999) << u"59 s ago"_s;
    QTest::newRow("1-min") << qint64(60'000) << u"1 min ago"_s;
    QTest::newRow("2-min") << qint64(125'000) << u"2 min ago"_s;
    QTest::newRow("2-h") << qint64(2 * 3600'000 + 5000) << u"2 h ago"_s;
    QTest::newRow("3-d") << qint64(3 * 86400'000LL + 5000) << u"3 d ago"_s;
}

void tst_MeterListModel::lastPollAges()
{
    QFETCH(qint64, ageMs);
    QFETCH(QString, expected);
    MeterRow row = makeRow(u"m1"_s);
    row.status.lastReadingsMs = ageMs == -1 ? 0 : kNow - ageMs;
    m_model->setRows({row});
    QCOMPARE(m_model->index(0, MeterListModel::LastPoll).data().toString(), expected);
}

void tst_MeterListModel::sortRoleIsRaw()
{
    MeterRow row = makeRow(u"m1"_s, polling::MeterState::CircuitOpen);
    row.status.lastReadingsMs = kNow - 1000;
    row.stats.meterId = u"m1"_s;
    row.stats.rttAvgMs = 12.5;
    row.stats.counters.dlms.rttCount = 1;
    row.stats.pollSuccessRate = 0.5;
    row.stats.counters.dlms.bytesSent = 3'000'000;
    row.stats.counters.dlms.bytesReceived = 7;
    row.stats.counters.mqttMessages = 42;
    MeterRow fresh = makeRow(u"m2"_s);
    m_model->setRows({row, fresh});
    auto sortValue = [&](int r, MeterListModel::Column column) {
        return m_model->index(r, column).data(MeterListModel::SortRole);
    };
    QCOMPARE(sortValue(0, MeterListModel::State).toInt(), int(polling::MeterState::CircuitOpen));
    QCOMPARE(sortValue(0, MeterListModel::LastPoll).toLongLong(), kNow - 1000);
    QCOMPARE(sortValue(0, MeterListModel::Rtt).toDouble(), 12.5);
    QCOMPARE(sortValue(0, MeterListModel::SuccessRate).toDouble(), 0.5);
    QCOMPARE(sortValue(0, MeterListModel::DlmsBytes).toULongLong(), 3'000'007ULL);
    QCOMPARE(sortValue(0, MeterListModel::MqttMessages).toULongLong(), 42ULL);
    // A meter without figures sorts below every measured one.
    QCOMPARE(sortValue(1, MeterListModel::Rtt).toDouble(), -1.0);
    QCOMPARE(sortValue(1, MeterListModel::SuccessRate).toDouble(), -1.0);
    QCOMPARE(sortValue(1, MeterListModel::LastPoll).toLongLong(), 0);
}

void tst_MeterListModel::rowLookup()
{
    m_model->setRows(rowsOf({u"a"_s, u"b"_s, u"c"_s}));
    m_model->setRows(rowsOf({u"c"_s, u"a"_s}));
    QVERIFY(m_model->row(u"b"_s) == nullptr);
    QVERIFY(m_model->row(u"c"_s));
    QCOMPARE(m_model->row(u"c"_s)->status.id, u"c"_s);
    QCOMPARE(m_model->row(u"a"_s)->status.id, u"a"_s);
    // Duplicate ids keep the first.
    QList<MeterRow> rows = rowsOf({u"x"_s, u"x"_s});
    rows[1].status.name = u"second"_s;
    m_model->setRows(rows);
    QCOMPARE(m_model->rowCount(), 1);
    QCOMPARE(m_model->row(u"x"_s)->status.name, u"Meter x"_s);
}

void tst_MeterListModel::headersAndTooltips()
{
    QCOMPARE(m_model->columnCount(), int(MeterListModel::ColumnCount));
    for (int c = 0; c < MeterListModel::ColumnCount; ++c) {
        QVERIFY(!m_model->headerData(c, Qt::Horizontal).toString().isEmpty());
        QVERIFY(!m_model->headerData(c, Qt::Horizontal, Qt::ToolTipRole).toString().isEmpty());
    }
    QCOMPARE(m_model->headerData(MeterListModel::State, Qt::Horizontal).toString(), u"State"_s);
}

void tst_MeterListModel::translatedAtReadTime()
{
    QList<MeterRow> rows = rowsOf({u"a"_s, u"b"_s, u"c"_s});
    rows[1].status.state = polling::MeterState::BackingOff;
    rows[1].status.reason = u"connection refused"_s;
    rows[2].status.paused = true;
    rows[0].status.lastReadingsMs = kNow - 180'000;
    m_model->setRows(rows);
    FakeSpanish spanish;
    QVERIFY(QCoreApplication::installTranslator(&spanish));
    const QString polling = m_model->index(0, MeterListModel::State).data().toString();
    const QString backingOff = m_model->index(1, MeterListModel::State).data().toString();
    const QString paused = m_model->index(2, MeterListModel::State).data().toString();
    const QString age = m_model->index(0, MeterListModel::LastPoll).data().toString();
    const QString header = m_model->headerData(MeterListModel::State, Qt::Horizontal).toString();
    QCoreApplication::removeTranslator(&spanish);
    QCOMPARE(polling, u"Sondeando"_s);
    QCOMPARE(backingOff, u"En espera — connection refused"_s);
    QCOMPARE(paused, u"En pausa"_s);
    QCOMPARE(age, u"hace 3 min"_s);
    QCOMPARE(header, u"Estado"_s);
    QCOMPARE(m_model->index(0, MeterListModel::State).data().toString(), u"Polling"_s);
}

QTEST_MAIN(tst_MeterListModel)
#include "tst_meterlistmodel.moc"
