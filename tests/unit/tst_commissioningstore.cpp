#include <commissioningstore.h>
#include <database.h>

#include <QtCore/QElapsedTimer>
#include <QtCore/QFile>
#include <QtCore/QStandardPaths>
#include <QtCore/QTemporaryDir>
#include <QtSql/QSqlDatabase>
#include <QtSql/QSqlError>
#include <QtSql/QSqlQuery>
#include <QtTest/QTest>

#include <unistd.h>

using namespace Qt::StringLiterals;
using namespace commissioning;

namespace {

constexpr qint64 T0 = 1'795'530'900'000; // 2026-11-24T14:35:00Z

QString why(const auto &result)
{
    return result ? QString() : result.error().message;
}

CheckResult check(QString id, CheckStatus status, std::optional<double> value = {}, QString unit = {},
    QString measured = {}, QString explanation = {}, qint64 timestampMs = T0)
{
    CheckResult result;
    result.check = std::move(id);
    result.status = status;
    result.value = value;
    result.unit = std::move(unit);
    result.measured = std::move(measured);
    result.explanation = std::move(explanation);
    result.timestampMs = timestampMs;
    return result;
}

// A meter as a run reports it: identity, then `checkCount` checks whose statuses follow `statuses`.
MeterReport meter(const QString &id, const QList<CheckStatus> &statuses, int checkCount = -1)
{
    MeterReport report;
    report.meterId = id;
    report.meterName = u"Meter "_s + id;
    report.endpoint = u"127.0.0.1:"_s + QString::number(4059 + id.size());
    report.serialNumber = u"SN-"_s + id;
    report.logicalDeviceName = u"KFM"_s + id;
    report.firmwareVersion = u"1.0."_s + QString::number(id.size());
    const int n = checkCount < 0 ? int(statuses.size()) : checkCount;
    for (int i = 0; i < n; ++i) {
        const CheckStatus status = statuses.isEmpty() ? CheckStatus::Pass : statuses[i % statuses.size()];
        report.checks.push_back(check(u"register:k"_s + QString::number(i), status, 230.0 + i * 0.1, u"V"_s,
            u"%1 V"_s.arg(230.0 + i * 0.1), u"within 207–253 V"_s, T0 + i));
    }
    return report;
}

SessionInfo info(const QString &site, qint64 startedMs, qint64 previousId = 0)
{
    SessionInfo result;
    result.site = site;
    result.technician = u"Ana"_s;
    result.notes = u"first visit"_s;
    result.startedMs = startedMs;
    result.configFile = u"/etc/dlmsbridge/site.json"_s;
    result.previousId = previousId;
    return result;
}

// The first field that differs, so a failed round trip says where.
QString difference(const Session &a, const Session &b)
{
    if (!(a.info == b.info))
        return u"info differs: %1/%2 vs %3/%4"_s.arg(
            a.info.site, QString::number(a.info.meters), b.info.site, QString::number(b.info.meters));
    if (a.meters.size() != b.meters.size())
        return u"meter count %1 vs %2"_s.arg(a.meters.size()).arg(b.meters.size());
    for (std::size_t m = 0; m < a.meters.size(); ++m) {
        const MeterReport &x = a.meters[m];
        const MeterReport &y = b.meters[m];
        if (x.checks.size() != y.checks.size())
            return u"meter %1: check count %2 vs %3"_s.arg(x.meterId)
                .arg(x.checks.size())
                .arg(y.checks.size());
        for (std::size_t c = 0; c < x.checks.size(); ++c) {
            if (!(x.checks[c] == y.checks[c]))
                return u"meter %1 check %2 (%3 vs %4, measured '%5' vs '%6')"_s.arg(x.meterId).arg(c).arg(
                    x.checks[c].check, y.checks[c].check, x.checks[c].measured, y.checks[c].measured);
        }
        if (!(x == y))
            return u"meter %1 (#%2 vs %3) identity differs"_s.arg(x.meterId).arg(m).arg(y.meterId);
    }
    return {};
}

// A raw connection beside the store's, for counting rows and building old files.
class RawDb {
public:
    explicit RawDb(const QString &path) : m_name(storage::makeConnectionName(u"test-raw"))
    {
        QSqlDatabase db = QSqlDatabase::addDatabase(u"QSQLITE"_s, m_name);
        db.setDatabaseName(path);
        m_ok = db.open();
    }
    ~RawDb()
    {
        {
            QSqlDatabase db = QSqlDatabase::database(m_name, false);
            db.close();
        }
        QSqlDatabase::removeDatabase(m_name);
    }
    bool ok() const { return m_ok; }
    QVariant scalar(const QString &sql)
    {
        QSqlQuery query(QSqlDatabase::database(m_name, false));
        if (!query.exec(sql) || !query.next())
            return {};
        return query.value(0);
    }
    QString run(const QStringList &statements)
    {
        for (const QString &sql : statements) {
            QSqlQuery query(QSqlDatabase::database(m_name, false));
            if (!query.exec(sql))
                return sql + u": "_s + query.lastError().text();
        }
        return {};
    }

private:
    QString m_name;
    bool m_ok = false;
};

// The store's own connection (the test reaches in to make it refuse writes).
QSqlDatabase storeConnection(const QString &path)
{
    for (const QString &name : QSqlDatabase::connectionNames()) {
        if (!name.startsWith(u"dlmsbridge-commissioning-"))
            continue;
        QSqlDatabase db = QSqlDatabase::database(name, false);
        if (db.databaseName() == path)
            return db;
    }
    return {};
}

} // namespace

class tst_CommissioningStore : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void roundTrip();
    void awkwardTexts();
    void replaceKeepsPosition();
    void counts_data();
    void counts();
    void listOrderAndLimit();
    void previousSession_data();
    void previousSession();
    void previousDeletedFallsBack();
    void deleteCascades();
    void unknownSession();
    void notADatabase_data();
    void notADatabase();
    void migratesVersion3();
    void reopenKeepsEverything();
    void refusedWrite_data();
    void refusedWrite();
    void thousandMeters();

private:
    QString freshPath() { return m_dir.filePath(u"db-%1.sqlite"_s.arg(++m_files)); }
    QTemporaryDir m_dir;
    int m_files = 0;
};

void tst_CommissioningStore::initTestCase()
{
    QStandardPaths::setTestModeEnabled(true);
    QVERIFY(m_dir.isValid());
}

void tst_CommissioningStore::roundTrip()
{
    const QString path = freshPath();
    auto store = Store::open(path);
    QVERIFY2(store, qPrintable(why(store)));
    QCOMPARE((*store)->path(), path);

    Session expected;
    expected.info = info(u"Norte"_s, T0);
    expected.info.finishedMs = 12345; // ignored on create
    expected.info.state = SessionState::Cancelled; // likewise: a new session runs
    const auto id = (*store)->createSession(expected.info);
    QVERIFY2(id, qPrintable(why(id)));
    QVERIFY(*id > 0);
    expected.info.id = *id;
    expected.info.finishedMs = 0;
    expected.info.state = SessionState::Running;

    using S = CheckStatus;
    expected.meters.push_back(meter(u"m1"_s, {S::Pass, S::Pass, S::Warn}));
    expected.meters.push_back(meter(u"m0"_s, {S::Fail, S::Skipped}));
    expected.meters.push_back(meter(u"m2"_s, {S::Pass}));
    for (const MeterReport &report : expected.meters) {
        const auto saved = (*store)->saveMeter(*id, report);
        QVERIFY2(saved, qPrintable(why(saved)));
    }
    expected.updateCounts();

    // While running: the session reads back as it is so far.
    auto running = (*store)->session(*id);
    QVERIFY2(running, qPrintable(why(running)));
    QVERIFY2(*running == expected, qPrintable(difference(*running, expected)));

    QVERIFY((*store)->finishSession(*id, SessionState::Finished, T0 + 60'000));
    QVERIFY((*store)->updateSessionText(*id, u"Norte, bay 2"_s, u"Luis"_s, u"second look\nall fine"_s));
    expected.info.finishedMs = T0 + 60'000;
    expected.info.state = SessionState::Finished;
    expected.info.site = u"Norte, bay 2"_s;
    expected.info.technician = u"Luis"_s;
    expected.info.notes = u"second look\nall fine"_s;

    const auto read = (*store)->session(*id);
    QVERIFY2(read, qPrintable(why(read)));
    QVERIFY2(*read == expected, qPrintable(difference(*read, expected)));
    QCOMPARE(read->info.meters, 3);
    QCOMPARE(read->info.passed, 1);
    QCOMPARE(read->info.warned, 1);
    QCOMPARE(read->info.failed, 1);

    const auto list = (*store)->sessions();
    QVERIFY2(list, qPrintable(why(list)));
    QCOMPARE(list->size(), 1u);
    QVERIFY(list->front() == expected.info);
}

void tst_CommissioningStore::awkwardTexts()
{
    auto store = Store::open(freshPath());
    QVERIFY2(store, qPrintable(why(store)));
    Session expected;
    expected.info = info(u"Subestación \"Ñandú\", 電表 ⚡"_s, T0);
    expected.info.notes = u"line 1\r\nline 2, \"quoted\"\n'single'; DROP TABLE x; --"_s;
    expected.info.configFile = QString();
    expected.info.technician = QString();
    const auto id = (*store)->createSession(expected.info);
    QVERIFY(id);
    expected.info.id = *id;

    MeterReport report;
    report.meterId = u"mé,ter \"1\"\n"_s;
    report.meterName = u"=HYPERLINK(\"x\")"_s;
    report.endpoint = u"[::1]:4059"_s;
    report.checks = {
        check(u"tcp"_s, CheckStatus::Pass, 0.0, u"ms"_s, u"0 ms"_s, {}, 0),
        check(u"clock"_s, CheckStatus::Fail, -600.25, u"s"_s, u"−600.25 s, DST off"_s,
            u"clock 600 s behind: more than 60 s"_s, std::numeric_limits<qint64>::max()),
        check(u"identity"_s, CheckStatus::Pass, std::nullopt, {}, u"KFM, \"SN\"\n1.0"_s, u"read"_s, -1),
        check(u"register:energy"_s, CheckStatus::Warn, 1.0 / 3.0, {}, u"0.333"_s, u"no unit"_s),
        check(u"register:big"_s, CheckStatus::Pass, 1.7976931348623157e308, u"Wh"_s, u"max"_s, {}),
        check(u"register:tiny"_s, CheckStatus::Pass, 4.9406564584124654e-324, u"Wh"_s, u"denormal"_s, {}),
        check(u"future-check"_s, CheckStatus::Skipped, std::nullopt, {}, {}, {}),
    };
    expected.meters.push_back(report);
    QVERIFY((*store)->saveMeter(*id, report));
    expected.updateCounts();

    const auto read = (*store)->session(*id);
    QVERIFY2(read, qPrintable(why(read)));
    QVERIFY2(*read == expected, qPrintable(difference(*read, expected)));
    QVERIFY(!read->meters[0].checks[2].value.has_value());
    QVERIFY(read->meters[0].checks[0].value.has_value()); // 0.0 is a value, not "none"
}

void tst_CommissioningStore::replaceKeepsPosition()
{
    const QString path = freshPath();
    auto store = Store::open(path);
    QVERIFY(store);
    const auto id = (*store)->createSession(info(u"site"_s, T0));
    QVERIFY(id);
    using S = CheckStatus;
    for (const QString &m : {u"A"_s, u"B"_s, u"C"_s})
        QVERIFY((*store)->saveMeter(*id, meter(m, {S::Fail}, 4)));

    // A clock sync after the run rewrites B's checks: fewer, other statuses, a new name.
    MeterReport again = meter(u"B"_s, {S::Pass}, 2);
    again.meterName = u"B renamed"_s;
    again.serialNumber = u"SN-B2"_s;
    const auto saved = (*store)->saveMeter(*id, again);
    QVERIFY2(saved, qPrintable(why(saved)));
    QVERIFY((*store)->saveMeter(*id, meter(u"D"_s, {S::Pass}, 1)));

    const auto read = (*store)->session(*id);
    QVERIFY(read);
    QStringList order;
    for (const MeterReport &m : read->meters)
        order << m.meterId;
    QCOMPARE(order, QStringList({u"A"_s, u"B"_s, u"C"_s, u"D"_s}));
    QVERIFY(read->meters[1] == again);
    QCOMPARE(read->info.passed, 2);
    QCOMPARE(read->info.failed, 2);

    RawDb raw(path);
    QVERIFY(raw.ok());
    QCOMPARE(raw.scalar(u"SELECT count(*) FROM commissioning_checks WHERE meter_id = 'B'"_s).toInt(), 2);
    QCOMPARE(raw.scalar(u"SELECT count(*) FROM commissioning_checks"_s).toInt(), 4 + 2 + 4 + 1);
    QCOMPARE(raw.scalar(u"SELECT count(*) FROM commissioning_meters"_s).toInt(), 4);
}

void tst_CommissioningStore::counts_data()
{
    QTest::addColumn<QList<QList<CheckStatus>>>("meters");
    QTest::addColumn<QList<int>>("expected"); // meters, passed, warned, failed
    using S = CheckStatus;
    using L = QList<S>;
    QTest::newRow("no-meters") << QList<L>() << QList<int> {0, 0, 0, 0};
    QTest::newRow("all-pass") << QList<L> {{S::Pass}, {S::Pass, S::Pass}} << QList<int> {2, 2, 0, 0};
    QTest::newRow("worst-check-counts") << QList<L> {{S::Pass, S::Warn}, {S::Warn, S::Fail, S::Pass},
        {S::Skipped, S::Pass}} << QList<int> {3, 1, 1, 1};
    QTest::newRow("all-skipped-counts-in-none")
        << QList<L> {{S::Skipped, S::Skipped}, {S::Fail}} << QList<int> {2, 0, 0, 1};
    QTest::newRow("meter-without-checks") << QList<L> {{}, {S::Warn}} << QList<int> {2, 0, 1, 0};
}

void tst_CommissioningStore::counts()
{
    QFETCH(QList<QList<CheckStatus>>, meters);
    QFETCH(QList<int>, expected);
    auto store = Store::open(freshPath());
    QVERIFY(store);
    // A second session with other counts sits beside it: counts must not mix.
    const auto other = (*store)->createSession(info(u"other"_s, T0 - 1));
    QVERIFY(other);
    QVERIFY((*store)->saveMeter(*other, meter(u"x"_s, {CheckStatus::Fail}, 3)));
    const auto id = (*store)->createSession(info(u"site"_s, T0));
    QVERIFY(id);
    int n = 0;
    for (const QList<CheckStatus> &statuses : meters)
        QVERIFY((*store)->saveMeter(*id, meter(u"m"_s + QString::number(n++), statuses)));

    const auto list = (*store)->sessions();
    QVERIFY2(list, qPrintable(why(list)));
    QCOMPARE(list->size(), 2u);
    const SessionInfo &listed = list->front();
    QCOMPARE(listed.id, *id);
    QCOMPARE(QList<int>({listed.meters, listed.passed, listed.warned, listed.failed}), expected);
    QCOMPARE(QList<int>({list->back().meters, list->back().passed, list->back().warned, list->back().failed}),
        QList<int>({1, 0, 0, 1}));
    // The list (counted in SQL) and the full read (counted from the reports) agree.
    const auto read = (*store)->session(*id);
    QVERIFY(read);
    QVERIFY(read->info == listed);
}

void tst_CommissioningStore::listOrderAndLimit()
{
    auto store = Store::open(freshPath());
    QVERIFY(store);
    // Started: 3000, 1000, 3000, 2000 → newest first, same start by id.
    QList<qint64> ids;
    for (const qint64 started : {3000, 1000, 3000, 2000}) {
        const auto id = (*store)->createSession(info(u"s"_s, started));
        QVERIFY(id);
        ids << *id;
    }
    const auto all = (*store)->sessions();
    QVERIFY(all);
    QList<qint64> order;
    for (const SessionInfo &s : *all)
        order << s.id;
    QCOMPARE(order, QList<qint64>({ids[2], ids[0], ids[3], ids[1]}));

    const auto two = (*store)->sessions(2);
    QVERIFY(two);
    QCOMPARE(two->size(), 2u);
    QCOMPARE(two->at(1).id, ids[0]);
    const auto none = (*store)->sessions(0);
    QVERIFY(none);
    QVERIFY(none->empty());
}

void tst_CommissioningStore::previousSession_data()
{
    QTest::addColumn<int>("asked"); // index into the sessions below
    QTest::addColumn<int>("expected"); // index, -1 = none
    // Sessions (index: site, started, previous):
    //   0: Alpha 1000 | 1: Beta 2000 | 2: Alpha 3000 | 3: Alpha 4000, previous 0
    //   4: "" 5000    | 5: Beta 3000 | 6: Gamma 500  | 7: Alpha 3000 (same start as 2)
    QTest::newRow("explicit-previous-id") << 3 << 0;
    QTest::newRow("same-site-latest-before") << 2 << 0;
    QTest::newRow("first-of-its-site") << 0 << -1;
    QTest::newRow("other-sites-ignored") << 5 << 1;
    QTest::newRow("empty-site-any-site-before") << 4 << 3;
    QTest::newRow("earliest-session") << 6 << -1;
    QTest::newRow("same-start-smaller-id") << 7 << 2;
}

void tst_CommissioningStore::previousSession()
{
    QFETCH(int, asked);
    QFETCH(int, expected);
    auto store = Store::open(freshPath());
    QVERIFY(store);
    QList<qint64> ids;
    const struct {
        const char16_t *site;
        qint64 started;
        int previous;
    } rows[] {{u"Alpha", 1000, -1}, {u"Beta", 2000, -1}, {u"Alpha", 3000, -1}, {u"Alpha", 4000, 0},
        {u"", 5000, -1}, {u"Beta", 3000, -1}, {u"Gamma", 500, -1}, {u"Alpha", 3000, -1}};
    for (const auto &row : rows) {
        const auto id = (*store)->createSession(
            info(QString::fromUtf16(row.site), row.started, row.previous >= 0 ? ids[row.previous] : 0));
        QVERIFY2(id, qPrintable(why(id)));
        ids << *id;
    }
    const auto previous = (*store)->previousSessionOf(ids[asked]);
    QVERIFY2(previous, qPrintable(why(previous)));
    QCOMPARE(*previous, expected < 0 ? qint64(0) : ids[expected]);
}

void tst_CommissioningStore::previousDeletedFallsBack()
{
    auto store = Store::open(freshPath());
    QVERIFY(store);
    const auto first = (*store)->createSession(info(u"Alpha"_s, 1000));
    const auto middle = (*store)->createSession(info(u"Alpha"_s, 2000));
    QVERIFY(first && middle);
    const auto rerun = (*store)->createSession(info(u"Alpha"_s, 3000, *first));
    QVERIFY(rerun);
    QCOMPARE(*(*store)->previousSessionOf(*rerun), *first);

    // The re-run forgets a deleted previous run and falls back to the site's latest.
    QVERIFY((*store)->deleteSession(*first));
    const auto read = (*store)->session(*rerun);
    QVERIFY(read);
    QCOMPARE(read->info.previousId, 0);
    QCOMPARE(*(*store)->previousSessionOf(*rerun), *middle);

    const auto bad = (*store)->createSession(info(u"Alpha"_s, 4000, *first));
    QVERIFY(!bad);
    QCOMPARE(bad.error().code, dlms::ErrorCode::InvalidArgument);
}

void tst_CommissioningStore::deleteCascades()
{
    const QString path = freshPath();
    auto store = Store::open(path);
    QVERIFY(store);
    const auto gone = (*store)->createSession(info(u"a"_s, T0));
    const auto kept = (*store)->createSession(info(u"b"_s, T0 + 1));
    QVERIFY(gone && kept);
    for (int m = 0; m < 3; ++m) {
        QVERIFY((*store)->saveMeter(*gone, meter(u"m"_s + QString::number(m), {CheckStatus::Pass}, 5)));
        QVERIFY((*store)->saveMeter(*kept, meter(u"m"_s + QString::number(m), {CheckStatus::Warn}, 2)));
    }
    const auto deleted = (*store)->deleteSession(*gone);
    QVERIFY2(deleted, qPrintable(why(deleted)));

    RawDb raw(path);
    QVERIFY(raw.ok());
    const QString where = u" WHERE session_id = "_s;
    QCOMPARE(
        raw.scalar(u"SELECT count(*) FROM commissioning_meters"_s + where + QString::number(*gone)).toInt(),
        0);
    QCOMPARE(
        raw.scalar(u"SELECT count(*) FROM commissioning_checks"_s + where + QString::number(*gone)).toInt(),
        0);
    QCOMPARE(
        raw.scalar(u"SELECT count(*) FROM commissioning_meters"_s + where + QString::number(*kept)).toInt(),
        3);
    QCOMPARE(
        raw.scalar(u"SELECT count(*) FROM commissioning_checks"_s + where + QString::number(*kept)).toInt(),
        6);

    const auto read = (*store)->session(*gone);
    QVERIFY(!read);
    QCOMPARE(read.error().code, dlms::ErrorCode::InvalidArgument);
    QCOMPARE(read.error().message, u"no commissioning session %1"_s.arg(*gone));
    QVERIFY(!(*store)->deleteSession(*gone));
    QCOMPARE((*store)->sessions()->size(), 1u);
}

void tst_CommissioningStore::unknownSession()
{
    auto store = Store::open(freshPath());
    QVERIFY(store);
    const QString expected = u"no commissioning session 4242"_s;
    const auto saved = (*store)->saveMeter(4242, meter(u"m"_s, {CheckStatus::Pass}));
    QVERIFY(!saved);
    QCOMPARE(saved.error().message, expected);
    const auto finished = (*store)->finishSession(4242, SessionState::Finished, T0);
    QVERIFY(!finished);
    QCOMPARE(finished.error().message, expected);
    const auto texts = (*store)->updateSessionText(4242, u"s"_s, u"t"_s, u"n"_s);
    QVERIFY(!texts);
    QCOMPARE(texts.error().message, expected);
    const auto previous = (*store)->previousSessionOf(4242);
    QVERIFY(!previous);
    QCOMPARE(previous.error().code, dlms::ErrorCode::InvalidArgument);
    // Nothing was half-written by the refused save.
    QVERIFY((*store)->sessions()->empty());
}

void tst_CommissioningStore::notADatabase_data()
{
    QTest::addColumn<QString>("kind");
    QTest::newRow("garbage-file") << u"garbage"_s;
    QTest::newRow("missing-directory") << u"missing-dir"_s;
    QTest::newRow("other-programs-database") << u"foreign"_s;
}

void tst_CommissioningStore::notADatabase()
{
    QFETCH(QString, kind);
    QString path = freshPath();
    if (kind == u"garbage") {
        QFile file(path);
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.write(QByteArray(8192, 'z'));
    } else if (kind == u"missing-dir") {
        path = m_dir.filePath(u"no/such/dir/bridge.db"_s);
    } else {
        RawDb raw(path);
        QCOMPARE(raw.run({u"CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)"_s}), QString());
    }
    const QByteArray before = QFile::exists(path) ? [&] {
        QFile f(path);
        return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
    }()
                                                  : QByteArray();
    const auto store = Store::open(path);
    QVERIFY(!store);
    QVERIFY2(store.error().message.contains(path), qPrintable(store.error().message));
    if (!before.isEmpty()) {
        QFile f(path);
        QVERIFY(f.open(QIODevice::ReadOnly));
        QCOMPARE(f.readAll(), before); // never rewritten
    }
    // No connection is left behind by a failed open.
    for (const QString &name : QSqlDatabase::connectionNames())
        QVERIFY2(!name.startsWith(u"dlmsbridge-commissioning-"), qPrintable(name));
}

void tst_CommissioningStore::migratesVersion3()
{
    const QString path = freshPath();
    {
        RawDb raw(path);
        QVERIFY(raw.ok());
        QStringList statements;
        for (int step = 1; step <= 3; ++step)
            statements += storage::migrationStatements(step);
        statements << u"INSERT INTO readings (meter_id, ts, key, obis, value, unit) VALUES"
                      " ('m1', 1000, 'voltage_l1', '1.0.32.7.0.255', 230.5, 'V')"_s
                   << u"INSERT INTO outbox (meter_id, ts, payload, created_ms, value_count) VALUES"
                      " ('m1', 1000, CAST('{\"ts\":1000,\"values\":{\"v\":1}}' AS BLOB), 1000, 1)"_s
                   << u"INSERT INTO meters (id, name) VALUES ('m1', 'Meter 1')"_s
                   << u"PRAGMA user_version = 3"_s;
        QCOMPARE(raw.run(statements), QString());
    }
    auto store = Store::open(path);
    QVERIFY2(store, qPrintable(why(store)));
    const auto id = (*store)->createSession(info(u"after migration"_s, T0));
    QVERIFY2(id, qPrintable(why(id)));
    QVERIFY((*store)->saveMeter(*id, meter(u"m1"_s, {CheckStatus::Pass}, 2)));

    RawDb raw(path);
    QCOMPARE(raw.scalar(u"PRAGMA user_version"_s).toInt(), 4);
    QCOMPARE(raw.scalar(u"SELECT value FROM readings WHERE meter_id = 'm1'"_s).toDouble(), 230.5);
    QCOMPARE(raw.scalar(u"SELECT value_count FROM outbox"_s).toInt(), 1);
    QCOMPARE(raw.scalar(u"SELECT name FROM meters"_s).toString(), u"Meter 1"_s);
    QCOMPARE(raw.scalar(u"SELECT count(*) FROM commissioning_checks"_s).toInt(), 2);
}

void tst_CommissioningStore::reopenKeepsEverything()
{
    const QString path = freshPath();
    Session expected;
    {
        auto store = Store::open(path);
        QVERIFY(store);
        expected.info = info(u"reopen"_s, T0);
        const auto id = (*store)->createSession(expected.info);
        QVERIFY(id);
        expected.info.id = *id;
        for (int m = 0; m < 5; ++m) {
            expected.meters.push_back(
                meter(u"m"_s + QString::number(m), {CheckStatus::Pass, CheckStatus::Warn}, m));
            QVERIFY((*store)->saveMeter(*id, expected.meters.back()));
        }
        QVERIFY((*store)->finishSession(*id, SessionState::Cancelled, T0 + 5));
        expected.info.state = SessionState::Cancelled;
        expected.info.finishedMs = T0 + 5;
        expected.updateCounts();
    }
    // The store is gone and its connection with it.
    QVERIFY(!storeConnection(path).isValid());
    auto store = Store::open(path);
    QVERIFY(store);
    const auto read = (*store)->session(expected.info.id);
    QVERIFY2(read, qPrintable(why(read)));
    QVERIFY2(*read == expected, qPrintable(difference(*read, expected)));
    // Ids are not handed out again after a delete.
    QVERIFY((*store)->deleteSession(expected.info.id));
    const auto next = (*store)->createSession(info(u"next"_s, T0 + 10));
    QVERIFY(next);
    QVERIFY(*next > expected.info.id);
}

void tst_CommissioningStore::refusedWrite_data()
{
    QTest::addColumn<QString>("kind");
    QTest::addColumn<QString>("hint");
    QTest::newRow("file-mode-0444") << u"chmod"_s << u"read-only"_s;
    QTest::newRow("connection-query-only") << u"query-only"_s << u"read-only"_s;
    QTest::newRow("disk-full") << u"full"_s << u"disk full"_s;
}

void tst_CommissioningStore::refusedWrite()
{
    QFETCH(QString, kind);
    QFETCH(QString, hint);
    const QString original = freshPath();
    qint64 id = 0;
    const MeterReport first = meter(u"m1"_s, {CheckStatus::Pass}, 3);
    {
        auto store = Store::open(original);
        QVERIFY(store);
        const auto created = (*store)->createSession(info(u"ro"_s, T0));
        QVERIFY(created);
        id = *created;
        QVERIFY((*store)->saveMeter(id, first));
    }
    QString path = original;
    if (kind == u"chmod") {
        if (::geteuid() == 0)
            QSKIP("root writes to a file of mode 0444; the query-only row covers the refusal");
        path = m_dir.filePath(u"copy-0444.sqlite"_s);
        QFile::remove(path);
        QVERIFY(QFile::copy(original, path));
        QVERIFY(QFile::setPermissions(path, QFile::ReadOwner | QFile::ReadGroup | QFile::ReadOther));
    }
    auto store = Store::open(path);
    if (!store) {
        // SQLite may refuse a read-only WAL file at once; then the open says which file.
        QVERIFY2(store.error().message.contains(path), qPrintable(store.error().message));
        return;
    }
    QSqlDatabase db = storeConnection(path);
    QVERIFY(db.isValid());
    if (kind == u"query-only") {
        QVERIFY(QSqlQuery(db).exec(u"PRAGMA query_only = ON"_s));
    } else if (kind == u"full") {
        QSqlQuery query(db);
        QVERIFY(query.exec(u"PRAGMA page_count"_s) && query.next());
        const qint64 pages = query.value(0).toLongLong();
        QVERIFY(query.exec(u"PRAGMA max_page_count = "_s + QString::number(pages)));
    }

    // Much bigger than what the file holds: it needs new pages.
    MeterReport replacement = meter(u"m1"_s, {CheckStatus::Fail}, 20);
    for (CheckResult &c : replacement.checks)
        c.explanation = QString(2000, u'x');
    const auto saved = (*store)->saveMeter(id, replacement);
    QVERIFY(!saved);
    QCOMPARE(saved.error().code, dlms::ErrorCode::IoError);
    QVERIFY2(saved.error().message.contains(path), qPrintable(saved.error().message));
    QVERIFY2(saved.error().message.contains(hint), qPrintable(saved.error().message));

    // Rolled back: the meter keeps the checks it had.
    const auto read = (*store)->session(id);
    QVERIFY2(read, qPrintable(why(read)));
    QCOMPARE(read->meters.size(), 1u);
    QVERIFY(read->meters[0] == first);
}

void tst_CommissioningStore::thousandMeters()
{
    auto store = Store::open(freshPath());
    QVERIFY(store);
    Session expected;
    expected.info = info(u"big site"_s, T0);
    const auto id = (*store)->createSession(expected.info);
    QVERIFY(id);
    expected.info.id = *id;
    using S = CheckStatus;
    const QList<S> statuses {S::Pass, S::Pass, S::Warn, S::Pass, S::Skipped, S::Pass, S::Fail};
    QElapsedTimer timer;
    timer.start();
    for (int m = 0; m < 1000; ++m) {
        // Rotating the pattern gives each meter its own worst status.
        const QList<S> rotated = statuses.mid(m % 7) + statuses.mid(0, m % 7);
        expected.meters.push_back(
            meter(u"meter-%1"_s.arg(m, 4, 10, QChar(u'0')), m % 3 ? rotated : QList<S> {S::Pass}, 15));
        const auto saved = (*store)->saveMeter(*id, expected.meters.back());
        QVERIFY2(saved, qPrintable(why(saved)));
    }
    const qint64 writeMs = timer.restart();
    expected.updateCounts();
    const auto read = (*store)->session(*id);
    QVERIFY2(read, qPrintable(why(read)));
    const qint64 readMs = timer.restart();
    QVERIFY2(*read == expected, qPrintable(difference(*read, expected)));
    const auto list = (*store)->sessions();
    QVERIFY(list);
    QVERIFY(list->front() == expected.info);
    QVERIFY(expected.info.passed > 0 && expected.info.failed > 0);
    qInfo("1000 meters x 15 checks: saved in %lld ms, read in %lld ms, listed in %lld ms",
        static_cast<long long>(writeMs), static_cast<long long>(readMs),
        static_cast<long long>(timer.elapsed()));
}

QTEST_GUILESS_MAIN(tst_CommissioningStore)
#include "tst_commissioningstore.moc"
