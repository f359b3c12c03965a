#include "clitestsupport.h"
#include "database.h"
#include "meterconfig.h"

#include <QtCore/QTemporaryDir>
#include <QtSql/QSqlQuery>
#include <QtSql/QSqlRecord>
#include <QtTest/QtTest>

#include <csignal>
#include <sys/resource.h>

using namespace Qt::StringLiterals;
using namespace clitest;

namespace {

// The four items every test meter polls, and what a simulated meter answers for them.
struct Expected {
    QString obis;
    QString unit;
    double min;
    double max;
};
const QList<Expected> &expectedItems()
{
    static const QList<Expected> items {
        {u"1.0.32.7.0.255"_s, u"V"_s, 200, 260},
        {u"1.0.1.8.0.255"_s, u"Wh"_s, 0, 1e15},
        {u"1.0.14.7.0.255"_s, u"Hz"_s, 45, 55},
        {u"1.0.31.7.0.255"_s, u"A"_s, 0, 1000},
    };
    return items;
}

QString keyOf(const QString &obis)
{
    return polling::defaultTelemetryKey(dlms::Obis::parse(obis).value());
}

struct SiteMeter {
    QString id;
    QString name;
    quint16 port = 0;
    QJsonObject extra; // more keys for this meter ("auth", "password", …)
};

// A site file for meters on 127.0.0.1 polled every 300 ms. The items mix both OBIS notations.
QByteArray siteJson(const QList<SiteMeter> &meters, const QJsonObject &pollingExtra = {})
{
    QJsonObject polling {{u"interval_ms"_s, 300}, {u"timeout_ms"_s, 2000}, {u"connect_timeout_ms"_s, 2000},
        {u"items"_s,
            QJsonArray {u"1.0.32.7.0.255"_s, u"1-0:1.8.0"_s, u"1.0.14.7.0.255"_s, u"1-0:31.7.0*255"_s}}};
    for (auto it = pollingExtra.begin(); it != pollingExtra.end(); ++it)
        polling.insert(it.key(), it.value());
    QJsonArray list;
    for (const SiteMeter &m : meters) {
        QJsonObject meter {
            {u"id"_s, m.id}, {u"name"_s, m.name}, {u"host"_s, u"127.0.0.1"_s}, {u"port"_s, m.port}};
        for (auto it = m.extra.begin(); it != m.extra.end(); ++it)
            meter.insert(it.key(), it.value());
        list.append(meter);
    }
    return QJsonDocument(QJsonObject {{u"polling"_s, polling}, {u"meters"_s, list}}).toJson();
}

QString writeSite(const QTemporaryDir &dir, const QByteArray &json, const QString &name = u"site.json"_s)
{
    QFile file(dir.filePath(name));
    if (!file.open(QIODevice::WriteOnly | QIODevice::Truncate))
        return {};
    file.write(json);
    return file.fileName();
}

QList<SiteMeter> simulatedMeters(SimulateProcess &simulate)
{
    QList<SiteMeter> meters;
    for (const SimulateProcess::Meter &m : simulate.meters())
        meters.append({u"m%1"_s.arg(m.number), u"Feeder %1"_s.arg(m.number), m.port, {}});
    return meters;
}

// "poll: meters=3 polls=30 completed=29 …" → its numbers; empty when there is no such line.
// With --db the line ends ", stored N readings, M metrics rows": "stored_readings" and
// "stored_metrics_rows" then.
QHash<QString, qint64> summaryOf(const QString &err)
{
    static const QRegularExpression shape(
        u"^poll: (meters=\\d+ polls=\\d+ completed=\\d+ failed=\\d+ late=\\d+ skipped=\\d+ bytes_sent=\\d+ "
        "bytes_received=\\d+ timeouts=\\d+ protocol_errors=\\d+)(?:, stored (\\d+) readings, (\\d+) metrics rows)?$"_s);
    QHash<QString, qint64> values;
    for (const QString &line : err.split(u'\n', Qt::SkipEmptyParts)) {
        const QRegularExpressionMatch match = shape.match(line);
        if (!match.hasMatch())
            continue;
        for (const QString &pair : match.captured(1).split(u' ', Qt::SkipEmptyParts)) {
            const qsizetype eq = pair.indexOf(u'=');
            values.insert(pair.left(eq), pair.mid(eq + 1).toLongLong());
        }
        if (match.hasCaptured(2)) {
            values.insert(u"stored_readings"_s, match.captured(2).toLongLong());
            values.insert(u"stored_metrics_rows"_s, match.captured(3).toLongLong());
        }
    }
    return values;
}

// Readings per meter in `poll --json` output (values and failed items alike).
QHash<QString, qint64> readingsPerMeter(const QStringList &lines)
{
    QHash<QString, qint64> counts;
    for (const QString &line : lines) {
        const QJsonObject batch = parseJsonObject(line);
        counts[batch.value(u"meter"_s).toString()]
            += batch.value(u"values"_s).toObject().size() + batch.value(u"errors"_s).toObject().size();
    }
    return counts;
}

// A read-only connection to a recorded database, closed when it goes out of scope (after every
// query on it is gone, as QSqlDatabase wants).
class RecordedDb {
public:
    explicit RecordedDb(const QString &path) : m_name(storage::makeConnectionName(u"tst-poll"))
    {
        storage::OpenOptions options;
        options.mode = storage::OpenMode::ReadOnly;
        auto opened = storage::openDatabase(path, m_name, options);
        if (opened) {
            m_db = *opened;
        } else {
            m_error = opened.error().message;
        }
    }
    ~RecordedDb()
    {
        m_db = {};
        if (m_error.isEmpty())
            storage::closeDatabase(m_name);
    }
    Q_DISABLE_COPY_MOVE(RecordedDb)

    bool ok() const { return m_error.isEmpty(); }
    QString error() const { return m_error; }

    // Every row of `sql`, each as its columns; empty (and `failed` set) on an SQL error.
    QList<QVariantList> rows(const QString &sql)
    {
        QList<QVariantList> result;
        QSqlQuery query(m_db);
        query.setForwardOnly(true);
        if (!query.exec(sql)) {
            m_error = storage::queryError(query, sql);
            return result;
        }
        while (query.next()) {
            QVariantList row;
            for (int i = 0; i < query.record().count(); ++i)
                row.append(query.value(i));
            result.append(row);
        }
        return result;
    }
    qint64 scalar(const QString &sql)
    {
        const auto all = rows(sql);
        return all.isEmpty() || all.first().isEmpty() ? -1 : all.first().first().toLongLong();
    }

private:
    QString m_name;
    QSqlDatabase m_db;
    QString m_error;
};

// network_metrics: each rollup is written as its meters' rows then the system row ('*'), in
// order; the system row's counters are the meters' sums, and every meter has a row in every
// period. Returns "" when so, else what differs.
QString checkSystemRowsAreSums(RecordedDb &db, const QStringList &meterIds)
{
    const auto rows
        = db.rows(u"SELECT meter_id, timestamp, dlms_bytes_sent, dlms_bytes_recv, dlms_requests_sent, "
                  "dlms_responses_recv FROM network_metrics ORDER BY id"_s);
    QStringList ids;
    qint64 sums[4] = {0, 0, 0, 0};
    int periods = 0;
    for (const QVariantList &row : rows) {
        const QString id = row.at(0).toString();
        if (id != u"*") {
            ids << id;
            for (int i = 0; i < 4; ++i)
                sums[i] += row.at(i + 2).toLongLong();
            continue;
        }
        const qint64 ts = row.at(1).toLongLong();
        ids.sort();
        if (ids != meterIds)
            return u"period %1: meter rows %2"_s.arg(ts).arg(ids.join(u','));
        for (int i = 0; i < 4; ++i) {
            if (row.at(i + 2).toLongLong() != sums[i])
                return u"period %1: column %2: system %3, meters %4"_s.arg(ts)
                    .arg(i)
                    .arg(row.at(i + 2).toLongLong())
                    .arg(sums[i]);
            sums[i] = 0;
        }
        ids.clear();
        ++periods;
    }
    if (periods == 0)
        return u"no system rows"_s;
    if (!ids.isEmpty())
        return u"meter rows after the last system row: %1"_s.arg(ids.join(u','));
    return {};
}

// Checks one reading's value and unit against what the simulator serves; empty when fine.
QString checkReading(const QString &key, double value, const QString &unit)
{
    for (const Expected &e : expectedItems()) {
        if (keyOf(e.obis) != key)
            continue;
        if (unit != e.unit)
            return u"%1: unit '%2', expected '%3'"_s.arg(key, unit, e.unit);
        if (!(value >= e.min && value <= e.max))
            return u"%1: value %2 outside %3..%4"_s.arg(key).arg(value).arg(e.min).arg(e.max);
        return {};
    }
    return u"unexpected key '%1'"_s.arg(key);
}

} // namespace

class tst_DlmsctlPoll : public QObject {
    Q_OBJECT

private slots:
    void help()
    {
        const CliRun r = runCli({u"poll"_s, u"--help"_s});
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        QVERIFY2(r.out.startsWith(u"Usage: dlmsctl poll"_s), qPrintable(r.out));
        for (const char *option :
            {"--config", "--seconds", "--json", "--workers", "--db", "--rollup-s", "--interface"})
            QVERIFY2(r.out.contains(QLatin1StringView(option)), option);
        const CliRun usage = runCli({u"--help"_s});
        QVERIFY(usage.out.contains(u"\n  poll "_s));
        QVERIFY(usage.out.contains(u"\n  bench "_s));
    }

    void jsonLinesPerMeter()
    {
        SimulateProcess simulate({u"--meters"_s, u"3"_s, u"--port"_s, u"0"_s});
        QVERIFY2(simulate.waitReady(), qPrintable(simulate.describe()));
        QTemporaryDir dir;
        const QList<SiteMeter> meters = simulatedMeters(simulate);
        QCOMPARE(meters.size(), 3);
        const QString site = writeSite(dir, siteJson(meters));

        const qint64 startedMs = QDateTime::currentMSecsSinceEpoch();
        const CliRun r = runCli({u"poll"_s, u"--config"_s, site, u"--seconds"_s, u"2"_s, u"--json"_s});
        const qint64 endedMs = QDateTime::currentMSecsSinceEpoch();
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));

        QHash<QString, int> batches;
        for (const QString &line : r.lines()) {
            QString error;
            const QJsonObject batch = parseJsonObject(line, &error);
            QVERIFY2(error.isEmpty(), qPrintable(error + u": "_s + line));
            const QString id = batch.value(u"meter"_s).toString();
            ++batches[id];
            QCOMPARE(batch.value(u"name"_s).toString(), u"Feeder "_s + id.mid(1));
            const qint64 ts = qint64(batch.value(u"ts"_s).toDouble());
            QVERIFY2(ts >= startedMs && ts <= endedMs, qPrintable(line));
            QVERIFY2(!batch.contains(u"errors"_s), qPrintable(line));
            const QJsonObject values = batch.value(u"values"_s).toObject();
            const QJsonObject units = batch.value(u"units"_s).toObject();
            QCOMPARE(values.size(), expectedItems().size());
            for (auto it = values.begin(); it != values.end(); ++it) {
                QVERIFY2(it.value().isDouble(), qPrintable(line));
                const QString problem
                    = checkReading(it.key(), it.value().toDouble(), units.value(it.key()).toString());
                QVERIFY2(problem.isEmpty(), qPrintable(problem + u" in "_s + line));
            }
        }
        QCOMPARE(batches.size(), 3);
        for (auto it = batches.cbegin(); it != batches.cend(); ++it)
            QVERIFY2(it.value() >= 3,
                qPrintable(u"%1: %2 batches\n"_s.arg(it.key()).arg(it.value()) + r.describe()));

        const auto summary = summaryOf(r.err);
        QVERIFY2(!summary.isEmpty(), qPrintable(r.err));
        QCOMPARE(summary.value(u"meters"_s), 3);
        QCOMPARE(summary.value(u"completed"_s), qint64(r.lines().size()));
        QVERIFY(summary.value(u"polls"_s) >= summary.value(u"completed"_s));
        QVERIFY(summary.value(u"bytes_sent"_s) > 0);
        QVERIFY(summary.value(u"bytes_received"_s) > 0);
        // Errors and state lines go to stderr with the prefix; nothing else is there.
        for (const QString &line : r.errLines())
            QVERIFY2(line.startsWith(u"dlmsctl: "_s) || line.startsWith(u"poll: "_s), qPrintable(line));
        QCOMPARE(simulate.terminate(), 0);
    }

    void textLines()
    {
        SimulateProcess simulate({u"--meters"_s, u"2"_s, u"--port"_s, u"0"_s, u"--transport"_s, u"hdlc"_s});
        QVERIFY2(simulate.waitReady(), qPrintable(simulate.describe()));
        QTemporaryDir dir;
        QList<SiteMeter> meters = simulatedMeters(simulate);
        QCOMPARE(meters.size(), 2);
        meters[1].extra.insert(u"colour"_s, u"red"_s);
        const QString site
            = writeSite(dir, siteJson(meters, QJsonObject {{u"transport"_s, u"hdlc"_s}, {u"workers"_s, 1}}));

        // Two seconds: a loaded machine may stall for a few hundred ms, and every item of both
        // meters must have been printed.
        const CliRun r = runCli({u"poll"_s, u"--config"_s, site, u"--seconds"_s, u"2"_s});
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        // An unknown key is a warning, not an error.
        QVERIFY2(
            r.err.contains(u"dlmsctl: warning: "_s + site + u": meters[1].colour: unknown key, ignored"_s),
            qPrintable(r.err));

        static const QRegularExpression timestamp(u"^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z$"_s);
        QSet<QString> seen;
        for (const QString &line : r.lines()) {
            const QStringList cols = columns(line);
            QVERIFY2(cols.size() == 4, qPrintable(line));
            QVERIFY2(timestamp.match(cols[0]).hasMatch(), qPrintable(line));
            QVERIFY2(cols[1] == u"Feeder 1" || cols[1] == u"Feeder 2", qPrintable(line));
            const auto quantity = parseQuantity(cols[3]);
            QVERIFY2(quantity, qPrintable(line));
            const QString problem = checkReading(cols[2], quantity->value, quantity->unit);
            QVERIFY2(problem.isEmpty(), qPrintable(problem + u" in "_s + line));
            seen.insert(cols[1] + u'/' + cols[2]);
        }
        // Every item of every meter was printed at least once.
        QCOMPARE(seen.size(), 2 * expectedItems().size());
        QCOMPARE(summaryOf(r.err).value(u"meters"_s), 2);
        QCOMPARE(simulate.terminate(), 0);
    }

    // A meter that answers some items with an error still delivers: the failed items say why,
    // text values print as text.
    void failedItemsAndText_data()
    {
        QTest::addColumn<bool>("json");
        QTest::newRow("json") << true;
        QTest::newRow("text") << false;
    }
    void failedItemsAndText()
    {
        QFETCH(bool, json);
        SimulateProcess simulate({u"--meters"_s, u"1"_s, u"--port"_s, u"0"_s});
        QVERIFY2(simulate.waitReady(), qPrintable(simulate.describe()));
        QTemporaryDir dir;
        const QString site = writeSite(dir,
            siteJson(simulatedMeters(simulate),
                QJsonObject {{u"items"_s,
                    QJsonArray {u"0.0.96.1.0.255"_s, u"1.0.99.98.0.255"_s, u"1.0.32.7.0.255"_s}}}));
        QStringList args {u"poll"_s, u"--config"_s, site, u"--seconds"_s, u"2"_s};
        if (json)
            args << u"--json"_s;
        const CliRun r = runCli(args);
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        QVERIFY2(!r.lines().isEmpty(), qPrintable(r.describe()));
        if (json) {
            const QJsonObject batch = parseJsonObject(r.lines().first());
            QCOMPARE(
                batch.value(u"values"_s).toObject().value(u"serial_number"_s).toString(), u"SIM00000001"_s);
            QCOMPARE(batch.value(u"errors"_s).toObject(),
                (QJsonObject {{u"obis_1_0_99_98_0_255"_s, u"object-undefined"_s}}));
            QVERIFY(!batch.value(u"values"_s).toObject().contains(u"obis_1_0_99_98_0_255"_s));
            QVERIFY(!batch.value(u"units"_s).toObject().contains(u"serial_number"_s));
            QCOMPARE(batch.value(u"units"_s).toObject().value(u"voltage_l1"_s).toString(), u"V"_s);
        } else {
            const QStringList lines = r.lines().mid(0, 3);
            QCOMPARE(columns(lines.value(0)).mid(1),
                (QStringList {u"Feeder 1"_s, u"serial_number"_s, u"SIM00000001"_s}));
            QCOMPARE(columns(lines.value(1)).mid(1),
                (QStringList {u"Feeder 1"_s, u"obis_1_0_99_98_0_255"_s, u"error: object-undefined"_s}));
            QCOMPARE(columns(lines.value(2)).value(2), u"voltage_l1"_s);
        }
        QCOMPARE(simulate.terminate(), 0);
    }

    void deadMeterExitsFive()
    {
        SimulateProcess simulate({u"--meters"_s, u"2"_s, u"--port"_s, u"0"_s});
        QVERIFY2(simulate.waitReady(), qPrintable(simulate.describe()));
        QTemporaryDir dir;
        QList<SiteMeter> meters = simulatedMeters(simulate);
        const quint16 closed = unusedPort();
        QVERIFY(closed != 0);
        meters.append({u"dead"_s, u"Nobody home"_s, closed, {}});
        const QString site = writeSite(dir, siteJson(meters));

        const CliRun r = runCli({u"poll"_s, u"--config"_s, site, u"--seconds"_s, u"2"_s, u"--json"_s});
        QVERIFY2(r.exitCode == 5, qPrintable(r.describe()));
        QSet<QString> delivered;
        for (const QString &line : r.lines())
            delivered.insert(parseJsonObject(line).value(u"meter"_s).toString());
        QCOMPARE(delivered, (QSet<QString> {u"m1"_s, u"m2"_s}));
        QVERIFY2(r.err.contains(u"\ndlmsctl: dead: backing-off: "_s)
                || r.err.startsWith(u"dlmsctl: dead: backing-off: "_s),
            qPrintable(r.err));
        QVERIFY2(!r.err.contains(u"dlmsctl: m1: backing-off"_s), qPrintable(r.err));
        QVERIFY2(r.err.contains(u"1 of 3 meters delivered no readings: dead"_s), qPrintable(r.err));
        const auto summary = summaryOf(r.err);
        QVERIFY2(summary.value(u"failed"_s) > 0, qPrintable(r.err));
        QVERIFY(summary.value(u"completed"_s) >= 2);
        QCOMPARE(simulate.terminate(), 0);
    }

    void passwordsNeverPrinted()
    {
        const QString secret = u"Sekr3t-Pw9"_s;
        const QString wrong = u"Wr0ng-Pw-77"_s;
        SimulateProcess simulate(
            {u"--meters"_s, u"2"_s, u"--port"_s, u"0"_s, u"--password"_s, secret, u"--require-auth"_s});
        QVERIFY2(simulate.waitReady(), qPrintable(simulate.describe()));
        QTemporaryDir dir;
        QList<SiteMeter> meters = simulatedMeters(simulate);
        QCOMPARE(meters.size(), 2);
        QFile secretFile(dir.filePath(u"pw.txt"_s));
        QVERIFY(secretFile.open(QIODevice::WriteOnly));
        secretFile.write(secret.toUtf8() + "\n");
        secretFile.close();
        meters[0].extra = QJsonObject {
            {u"auth"_s, u"low"_s}, {u"password"_s, QString(u"file:"_s + secretFile.fileName())}};
        meters[1].extra = QJsonObject {{u"auth"_s, u"low"_s}, {u"password"_s, u"env:DLMSCTL_TST_POLL_PW"_s}};
        const QString site = writeSite(dir, siteJson(meters));

        qputenv("DLMSCTL_TST_POLL_PW", wrong.toUtf8());
        const CliRun r = runCli({u"poll"_s, u"--config"_s, site, u"--seconds"_s, u"2"_s});
        qunsetenv("DLMSCTL_TST_POLL_PW");
        // The right secret reads, the wrong one is refused; neither is ever shown.
        QVERIFY2(r.exitCode == 5, qPrintable(r.describe()));
        QVERIFY2(
            !r.lines().isEmpty() && r.lines().first().contains(u"  Feeder 1  "_s), qPrintable(r.describe()));
        QVERIFY2(r.err.contains(u"dlmsctl: m2: backing-off: "_s), qPrintable(r.err));
        QVERIFY(!r.out.contains(u"Feeder 2"_s));
        for (const QString &pw : {secret, wrong}) {
            QVERIFY2(!r.out.contains(pw), qPrintable(pw));
            QVERIFY2(!r.err.contains(pw), qPrintable(pw));
        }
        QCOMPARE(simulate.terminate(), 0);
    }

    void stopsOnSigterm()
    {
        SimulateProcess simulate({u"--meters"_s, u"1"_s, u"--port"_s, u"0"_s});
        QVERIFY2(simulate.waitReady(), qPrintable(simulate.describe()));
        QTemporaryDir dir;
        const QString site = writeSite(dir, siteJson(simulatedMeters(simulate)));

        QProcess poll;
        QSignalSpy output(&poll, &QProcess::readyReadStandardOutput);
        QSignalSpy finished(&poll, &QProcess::finished);
        poll.start(dlmsctlPath(), {u"poll"_s, u"--config"_s, site, u"--json"_s});
        poll.closeWriteChannel();
        // Runs without --seconds until told to stop; the first batch shows it is polling.
        QVERIFY(
            spinUntil(output, QDeadlineTimer(10000), [&] { return poll.state() == QProcess::NotRunning; }));
        QCOMPARE(poll.state(), QProcess::Running);
        poll.terminate();
        QVERIFY(spinUntil(finished, QDeadlineTimer(10000), [] { return false; }));
        const QString err = QString::fromUtf8(poll.readAllStandardError());
        QVERIFY2(exitCodeOf(poll) == 0, qPrintable(err));
        QCOMPARE(summaryOf(err).value(u"meters"_s), 1);
        QVERIFY(summaryOf(err).value(u"completed"_s) >= 1);
        QCOMPARE(simulate.terminate(), 0);
    }

    // --db: everything printed is in the database, and the traffic counted in the summary is the
    // sum of the meters' network_metrics rows; the system rows sum the meters period by period and
    // carry the sampled interface (lo, where the meters are).
    void recordsToDatabase()
    {
        SimulateProcess simulate({u"--meters"_s, u"2"_s, u"--port"_s, u"0"_s});
        QVERIFY2(simulate.waitReady(), qPrintable(simulate.describe()));
        QTemporaryDir dir;
        const QList<SiteMeter> meters = simulatedMeters(simulate);
        QCOMPARE(meters.size(), 2);
        const QString site = writeSite(dir, siteJson(meters));
        const QString db = dir.filePath(u"run.db"_s);

        const CliRun r = runCli({u"poll"_s, u"--config"_s, site, u"--json"_s, u"--db"_s, db, u"--rollup-s"_s,
            u"1"_s, u"--interface"_s, u"lo"_s, u"--seconds"_s, u"4"_s});
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        for (const QString &line : r.errLines())
            QVERIFY2(line.startsWith(u"dlmsctl: "_s) || line.startsWith(u"poll: "_s), qPrintable(line));
        const auto summary = summaryOf(r.err);
        QVERIFY2(summary.contains(u"stored_readings"_s), qPrintable(r.err));
        const QHash<QString, qint64> printed = readingsPerMeter(r.lines());
        qint64 printedTotal = 0;
        for (const qint64 n : printed)
            printedTotal += n;
        QVERIFY2(printed.value(u"m1"_s) > 0 && printed.value(u"m2"_s) > 0, qPrintable(r.describe()));
        QCOMPARE(summary.value(u"stored_readings"_s), printedTotal);

        RecordedDb recorded(db);
        QVERIFY2(recorded.ok(), qPrintable(recorded.error()));
        QCOMPARE(recorded.scalar(u"SELECT COUNT(*) FROM readings"_s), printedTotal);
        for (const QString &id : {u"m1"_s, u"m2"_s}) {
            QCOMPARE(recorded.scalar(u"SELECT COUNT(*) FROM readings WHERE meter_id = '%1'"_s.arg(id)),
                printed.value(id));
        }
        QCOMPARE(recorded.rows(u"SELECT DISTINCT key FROM readings ORDER BY key"_s).size(),
            expectedItems().size());
        QCOMPARE(
            recorded.scalar(u"SELECT COUNT(*) FROM readings WHERE quality <> 'good' OR value IS NULL"_s), 0);

        // The meters as configured, without secrets; their state changes as events.
        const auto meterRows
            = recorded.rows(u"SELECT id, name, host, port, transport FROM meters ORDER BY id"_s);
        QCOMPARE(meterRows.size(), 2);
        for (int i = 0; i < 2; ++i) {
            QCOMPARE(meterRows[i].at(0).toString(), meters[i].id);
            QCOMPARE(meterRows[i].at(1).toString(), meters[i].name);
            QCOMPARE(meterRows[i].at(2).toString(), u"127.0.0.1"_s);
            QCOMPARE(meterRows[i].at(3).toInt(), int(meters[i].port));
            QCOMPARE(meterRows[i].at(4).toString(), u"wrapper"_s);
            QVERIFY(recorded.scalar(u"SELECT COUNT(*) FROM events WHERE meter_id = '%1' AND kind = 'state' "
                                    "AND state = 'associated'"_s.arg(meters[i].id))
                >= 1);
        }

        // network_metrics: the meters' rows add up to the summary's traffic, exactly.
        QCOMPARE(recorded.scalar(u"SELECT COUNT(*) FROM network_metrics"_s),
            summary.value(u"stored_metrics_rows"_s));
        QCOMPARE(recorded.scalar(u"SELECT SUM(dlms_bytes_sent) FROM network_metrics WHERE meter_id <> '*'"_s),
            summary.value(u"bytes_sent"_s));
        QCOMPARE(recorded.scalar(u"SELECT SUM(dlms_bytes_recv) FROM network_metrics WHERE meter_id <> '*'"_s),
            summary.value(u"bytes_received"_s));
        QCOMPARE(recorded.scalar(u"SELECT SUM(polls_completed) FROM network_metrics WHERE meter_id <> '*'"_s),
            summary.value(u"completed"_s));
        QVERIFY(summary.value(u"bytes_sent"_s) > 0);
        const QString sums = checkSystemRowsAreSums(recorded, {u"m1"_s, u"m2"_s});
        QVERIFY2(sums.isEmpty(), qPrintable(sums));
        // One-second periods over four seconds, the last one partial.
        const qint64 periods
            = recorded.scalar(u"SELECT COUNT(*) FROM network_metrics WHERE meter_id = '*'"_s);
        QVERIFY2(periods >= 3, qPrintable(QString::number(periods)));
        // Periods follow each other on the 1 s grid (the first starts at start-up); period_s is
        // the time measured until the tick that closed it, so it is checked for sense only: the
        // period flushed at exit can be 0 s when it began at the tick just before (its traffic,
        // the final delta, still counts).
        const auto spans = recorded.rows(
            u"SELECT timestamp, period_s FROM network_metrics WHERE meter_id = '*' ORDER BY id"_s);
        for (qsizetype i = 1; i < spans.size(); ++i) {
            const qint64 start = spans[i].at(0).toLongLong();
            QVERIFY2(start > spans[i - 1].at(0).toLongLong(), qPrintable(QString::number(start)));
            QCOMPARE(start % 1000, 0);
            const double seconds = spans[i].at(1).toDouble();
            QVERIFY2(seconds >= 0 && seconds < 10, qPrintable(QString::number(seconds)));
        }
        // lo carries the polling itself: the system rows show its traffic.
        QVERIFY(recorded.scalar(u"SELECT COUNT(*) FROM network_metrics WHERE meter_id = '*' "
                                "AND bandwidth_tx_bps > 0 AND packets_rx_ps > 0"_s)
            >= 1);
        QVERIFY2(recorded.ok(), qPrintable(recorded.error()));
        QCOMPARE(simulate.terminate(), 0);
    }

    void databaseInMissingDirectory()
    {
        QTemporaryDir dir;
        const QString site = writeSite(dir, siteJson({{u"m1"_s, u"Feeder 1"_s, unusedPort(), {}}}));
        const QString db = dir.filePath(u"no/such/dir/run.db"_s);
        const CliRun r = runCli({u"poll"_s, u"--config"_s, site, u"--db"_s, db, u"--seconds"_s, u"1"_s});
        QVERIFY2(r.exitCode == 3, qPrintable(r.describe()));
        QVERIFY(r.out.isEmpty());
        QVERIFY2(r.err.startsWith(u"dlmsctl poll: cannot open the database: "_s), qPrintable(r.err));
        QVERIFY2(r.err.contains(db), qPrintable(r.err));
        QVERIFY(!QFile::exists(db));
    }

    // SIGTERM without --seconds: a clean exit, and the partial minute's rows are written. An
    // interface that does not exist is said once, and polling goes on.
    void sigtermWritesPartialPeriod()
    {
        SimulateProcess simulate({u"--meters"_s, u"1"_s, u"--port"_s, u"0"_s});
        QVERIFY2(simulate.waitReady(), qPrintable(simulate.describe()));
        QTemporaryDir dir;
        const QString site = writeSite(dir, siteJson(simulatedMeters(simulate)));
        const QString db = dir.filePath(u"run.db"_s);

        QProcess poll;
        QSignalSpy output(&poll, &QProcess::readyReadStandardOutput);
        QSignalSpy finished(&poll, &QProcess::finished);
        poll.start(dlmsctlPath(),
            {u"poll"_s, u"--config"_s, site, u"--json"_s, u"--db"_s, db, u"--interface"_s, u"nosuch0"_s});
        poll.closeWriteChannel();
        // Batches every 300 ms: eight of them span several of the sampler's one-second reads.
        QByteArray out;
        while (out.count('\n') < 8) {
            output.clear();
            QVERIFY(spinUntil(
                output, QDeadlineTimer(10000), [&] { return poll.state() == QProcess::NotRunning; }));
            QCOMPARE(poll.state(), QProcess::Running);
            out += poll.readAllStandardOutput();
        }
        QVERIFY(::kill(pid_t(poll.processId()), SIGTERM) == 0);
        QVERIFY(spinUntil(finished, QDeadlineTimer(10000), [] { return false; }));
        out += poll.readAllStandardOutput();
        const QString err = QString::fromUtf8(poll.readAllStandardError());
        QVERIFY2(exitCodeOf(poll) == 0, qPrintable(err));
        QCOMPARE(err.count(u"dlmsctl: interfaces: interface nosuch0 not found; present: "_s), 1);
        QVERIFY2(err.contains(u"present: lo"_s), qPrintable(err));

        const QStringList lines = QString::fromUtf8(out).split(u'\n', Qt::SkipEmptyParts);
        const qint64 printed = readingsPerMeter(lines).value(u"m1"_s);
        const auto summary = summaryOf(err);
        QCOMPARE(summary.value(u"stored_readings"_s), printed);
        RecordedDb recorded(db);
        QVERIFY2(recorded.ok(), qPrintable(recorded.error()));
        QCOMPARE(recorded.scalar(u"SELECT COUNT(*) FROM readings"_s), printed);
        // The default period is a minute: the rows are the flushed partial one (two when the run
        // crossed a minute boundary).
        const qint64 periods
            = recorded.scalar(u"SELECT COUNT(*) FROM network_metrics WHERE meter_id = '*'"_s);
        QVERIFY2(periods >= 1 && periods <= 2, qPrintable(QString::number(periods)));
        QCOMPARE(recorded.scalar(u"SELECT COUNT(*) FROM network_metrics WHERE meter_id = 'm1'"_s), periods);
        QCOMPARE(recorded.scalar(u"SELECT SUM(dlms_bytes_sent) FROM network_metrics WHERE meter_id = 'm1'"_s),
            summary.value(u"bytes_sent"_s));
        QCOMPARE(recorded.scalar(u"SELECT SUM(polls_completed) FROM network_metrics WHERE meter_id = 'm1'"_s),
            qint64(lines.size()));
        const QString sums = checkSystemRowsAreSums(recorded, {u"m1"_s});
        QVERIFY2(sums.isEmpty(), qPrintable(sums));
        // The release at the end is recorded too.
        QVERIFY(
            recorded.scalar(u"SELECT COUNT(*) FROM events WHERE meter_id = 'm1' AND state = 'disconnected'"_s)
            >= 1);
        QCOMPARE(simulate.terminate(), 0);
    }

    // More meters than descriptors: one clear error at the start, not meters failing one by one.
    void openFileLimitTooLow()
    {
        QTemporaryDir dir;
        QList<SiteMeter> meters;
        const quint16 closed = unusedPort();
        for (int i = 1; i <= 3; ++i)
            meters.append({u"m%1"_s.arg(i), u"Feeder %1"_s.arg(i), closed, {}});
        const QString site = writeSite(dir, siteJson(meters));

        QProcess poll;
        QSignalSpy finished(&poll, &QProcess::finished);
        poll.setChildProcessModifier([] {
            const rlimit limit {40, 40};
            ::setrlimit(RLIMIT_NOFILE, &limit);
        });
        // Without the check it would poll the dead meters for a second and exit 5.
        poll.start(dlmsctlPath(), {u"poll"_s, u"--config"_s, site, u"--seconds"_s, u"1"_s});
        poll.closeWriteChannel();
        QVERIFY(spinUntil(finished, QDeadlineTimer(20000), [] { return false; }));
        const QString err = QString::fromUtf8(poll.readAllStandardError());
        QVERIFY2(exitCodeOf(poll) == 2, qPrintable(err));
        QVERIFY(poll.readAllStandardOutput().isEmpty());
        QCOMPARE(err,
            u"dlmsctl: "_s + site
                + u": 3 meters need 67 open files, but the limit is 40 (see ulimit -Hn)\n"_s);
    }

    void usageAndConfigErrors_data()
    {
        QTest::addColumn<QStringList>("args"); // @SITE@ = a file with `json`
        QTest::addColumn<QByteArray>("json");
        QTest::addColumn<QString>("message"); // @SITE@ = its path

        const QByteArray good = R"({"meters":[{"id":"m1","host":"127.0.0.1","items":["1.0.1.8.0.255"]}]})";
        QTest::newRow("no-config") << QStringList {u"poll"_s} << good << u"dlmsctl: --config is required"_s;
        QTest::newRow("bad-seconds") << QStringList {u"poll"_s, u"--config"_s, u"@SITE@"_s, u"--seconds"_s,
            u"x"_s} << good << u"dlmsctl: --seconds must be a number"_s;
        QTest::newRow("bad-workers") << QStringList {u"poll"_s, u"--config"_s, u"@SITE@"_s, u"--workers"_s,
            u"-1"_s} << good << u"dlmsctl: --workers must be a number"_s;
        QTest::newRow("unknown-option")
            << QStringList {u"poll"_s, u"--colour"_s} << good << u"dlmsctl: Unknown option 'colour'."_s;
        QTest::newRow("argument") << QStringList {u"poll"_s, u"--config"_s, u"@SITE@"_s, u"extra"_s} << good
                                  << u"dlmsctl: poll takes no arguments"_s;
        QTest::newRow("missing-file") << QStringList {u"poll"_s, u"--config"_s, u"@SITE@.missing"_s} << good
                                      << u"dlmsctl: cannot read @SITE@.missing: "_s;
        QTest::newRow("port-out-of-range")
            << QStringList {u"poll"_s, u"--config"_s, u"@SITE@"_s}
            << QByteArray(
                   R"({"meters":[{"id":"m1","host":"127.0.0.1","port":70000,"items":["1.0.1.8.0.255"]}]})")
            << u"dlmsctl: @SITE@: meters[0].port: must be an integer from 1 to 65535 (got 70000)"_s;
        QTest::newRow("malformed-json")
            << QStringList {u"poll"_s, u"--config"_s, u"@SITE@"_s} << QByteArray("{\"meters\": [}")
            << u"dlmsctl: @SITE@: invalid JSON at byte "_s;
        QTest::newRow("no-meters") << QStringList {u"poll"_s, u"--config"_s, u"@SITE@"_s}
                                   << QByteArray(R"({"polling":{"interval_ms":1000}})")
                                   << u"dlmsctl: @SITE@: meters: no meters to poll"_s;
        QTest::newRow("rollup-s-zero") << QStringList {u"poll"_s, u"--config"_s, u"@SITE@"_s, u"--db"_s,
            u"@SITE@.db"_s, u"--rollup-s"_s,
            u"0"_s} << good << u"dlmsctl: --rollup-s must be a number from 1 to 3600 (got '0')"_s;
        QTest::newRow("rollup-s-too-long") << QStringList {u"poll"_s, u"--config"_s, u"@SITE@"_s, u"--db"_s,
            u"@SITE@.db"_s, u"--rollup-s"_s,
            u"3601"_s} << good << u"dlmsctl: --rollup-s must be a number from 1 to 3600"_s;
        QTest::newRow("rollup-s-without-db") << QStringList {u"poll"_s, u"--config"_s, u"@SITE@"_s,
            u"--rollup-s"_s, u"5"_s} << good << u"dlmsctl: --rollup-s needs --db"_s;
        QTest::newRow("interface-without-db") << QStringList {u"poll"_s, u"--config"_s, u"@SITE@"_s,
            u"--interface"_s, u"lo"_s} << good << u"dlmsctl: --interface needs --db"_s;
        QTest::newRow("empty-db") << QStringList {u"poll"_s, u"--config"_s, u"@SITE@"_s, u"--db"_s, u""_s}
                                  << good << u"dlmsctl: --db needs a file name"_s;
    }
    void usageAndConfigErrors()
    {
        QFETCH(QStringList, args);
        QFETCH(QByteArray, json);
        QFETCH(QString, message);
        QTemporaryDir dir;
        const QString site = writeSite(dir, json);
        args.replaceInStrings(u"@SITE@"_s, site);
        message.replace(u"@SITE@"_s, site);
        const CliRun r = runCli(args);
        QVERIFY2(r.exitCode == 2, qPrintable(r.describe()));
        QVERIFY2(r.out.isEmpty(), qPrintable(r.describe()));
        QVERIFY2(r.err.startsWith(message), qPrintable(r.describe()));
        // A refused run creates no database.
        QVERIFY(!QFile::exists(site + u".db"_s));
    }
};

QTEST_GUILESS_MAIN(tst_DlmsctlPoll)
#include "tst_dlmsctl_poll.moc"
