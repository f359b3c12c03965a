// `dlmsctl commission` end to end with real parts: in-process simulators (healthy, clock off,
// flaky), a real mosquitto, the SQLite file read back with commissioning::Store, the PDF read
// with pdftotext and rendered with pdftoppm.

#include "../unit/mosquittobroker.h"
#include "clitestsupport.h"

#include <commissioning.h>
#include <commissioningstore.h>

#include <QtCore/QDir>
#include <QtCore/QFile>
#include <QtCore/QJsonArray>
#include <QtCore/QSaveFile>
#include <QtCore/QStandardPaths>
#include <QtCore/QTemporaryDir>
#include <QtTest/QtTest>

#include <algorithm>
#include <cctype>
#include <memory>
#include <optional>
#include <vector>

using namespace Qt::StringLiterals;

namespace {

// Distinctive enough that finding one anywhere is a leak, not a coincidence.
const QString kMeterPassword = u"Lls-Pw-7f3a9c"_s;
const QString kMqttToken = u"tb-token-5e8d2b71"_s;
const QString kSite = u"Substation North"_s;
const QString kTechnician = u"Ana Tester"_s;
constexpr int kClockOffsetS = 600;

// The flaky meter's checks in the order the engine makes them, with the status each must get:
// the meter goes late at its first register value (FlakySimulator).
struct FlakyCheck {
    QString id;
    QString status;
};
const std::vector<FlakyCheck> kFlakyChecks {
    {u"tcp"_s, u"pass"_s},
    {u"association"_s, u"pass"_s},
    {u"identity"_s, u"pass"_s},
    {u"clock"_s, u"pass"_s},
    {u"register:voltage_l1"_s, u"fail"_s},
    {u"register:frequency_hz"_s, u"skipped"_s},
    {u"register:power_factor"_s, u"skipped"_s},
    {u"objects"_s, u"skipped"_s},
    {u"mqtt"_s, u"pass"_s},
    {u"traffic-bytes"_s, u"skipped"_s},
    {u"traffic-rtt"_s, u"skipped"_s},
};
// The flaky meter's timeouts: roomy enough for a loaded machine, well below its latency.
constexpr int kFlakyTimeoutMs = 1000;
constexpr int kFlakyLatencyMs = 3000;
const QString kTimeoutText = u"timed out after %1 ms"_s.arg(kFlakyTimeoutMs);
const QString kNotReached = u"not reached: Register voltage_l1"_s;

QByteArray readAll(const QString &path)
{
    QFile file(path);
    return file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray();
}

QString writeText(const QString &path, const QByteArray &content)
{
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly))
        return {};
    file.write(content);
    return file.commit() ? path : QString();
}

// A simulator whose last meter (index meters-1, so its serial number is SIM0000000<meters>) is
// the one the test uses: three simulators, three distinct serial numbers.
std::unique_ptr<sim::Simulator> simulatorFor(int meters, sim::MeterSettings settings)
{
    return clitest::startSimulator(dlms::Transport::Wrapper, std::move(settings), meters);
}

// A simulator of `meters` meters whose last one is flaky: it answers the association, the
// identity and the clock, then goes late (a latency above the meter's request timeout) from
// its first register value on. The point is found through the simulator's clock source,
// which the meter consults for the clock and for each register value but not for the
// association, the identity or a scaler: armed by the accepted association, the second time
// read is the first register value, and the latency applies to that very answer.
class FlakySimulator {
public:
    FlakySimulator(int meters, int latencyMs)
    {
        sim::SimulatorConfig config;
        config.basePort = 0;
        config.meters = meters;
        config.clock = [this, latencyMs] {
            if (m_armed && ++m_timeReads == 2) {
                sim::FaultConfig late;
                late.latencyMs = latencyMs;
                m_simulator->setFaults(m_simulator->meterCount() - 1, late);
            }
            return QDateTime::currentDateTimeUtc();
        };
        m_simulator = std::make_unique<sim::Simulator>(std::move(config));
        QObject::connect(m_simulator.get(), &sim::Simulator::associationChanged, m_simulator.get(),
            [this](int meter, bool associated) {
                if (meter == m_simulator->meterCount() - 1 && associated)
                    m_armed = true;
            });
        if (const auto started = m_simulator->start(); !started) {
            qWarning("simulator did not start: %s", qPrintable(started.error().message));
            m_simulator.reset();
        }
    }

    sim::Simulator *simulator() const { return m_simulator.get(); }
    bool wentLate() const { return m_timeReads >= 2; }

private:
    std::unique_ptr<sim::Simulator> m_simulator;
    bool m_armed = false;
    int m_timeReads = 0;
};

QJsonObject meterEntry(const QString &id, quint16 port, const QJsonObject &extra = {})
{
    QJsonObject meter {
        {u"id"_s, id}, {u"name"_s, id.toUpper()}, {u"host"_s, u"127.0.0.1"_s}, {u"port"_s, port}};
    for (auto it = extra.begin(); it != extra.end(); ++it)
        meter.insert(it.key(), it.value());
    return meter;
}

QJsonObject siteConfig(const QJsonArray &meters, quint16 brokerPort, const QString &databasePath)
{
    const QJsonObject polling {{u"timeout_ms"_s, 3000}, {u"connect_timeout_ms"_s, 3000}, {u"retries"_s, 0},
        {u"items"_s, QJsonArray {u"1.0.32.7.0.255"_s, u"1.0.14.7.0.255"_s, u"1.0.13.7.0.255"_s}}};
    const QJsonObject mqtt {{u"enabled"_s, true}, {u"mode"_s, u"gateway"_s}, {u"host"_s, u"127.0.0.1"_s},
        {u"port"_s, brokerPort}, {u"token"_s, kMqttToken},
        {u"client_id"_s, u"tst-commission-%1"_s.arg(QCoreApplication::applicationPid())}};
    return QJsonObject {{u"polling"_s, polling}, {u"meters"_s, meters}, {u"mqtt"_s, mqtt},
        {u"storage"_s, QJsonObject {{u"path"_s, databasePath}}},
        {u"http"_s, QJsonObject {{u"enabled"_s, false}}},
        {u"commissioning"_s, QJsonObject {{u"baseline_polls"_s, 2}}}};
}

// One meter's block of the text output: its header columns (id, endpoint, serial, overall) and
// one column list per check line (status, check title, measured[, explanation]).
struct Block {
    QStringList header;
    QList<QStringList> checks;

    const QStringList *check(const QString &title) const
    {
        for (const QStringList &columns : checks) {
            if (columns.value(1) == title)
                return &columns;
        }
        return nullptr;
    }
};

QHash<QString, Block> blocks(const QString &out, const QStringList &meterIds)
{
    QHash<QString, Block> result;
    Block *current = nullptr;
    for (const QString &line : out.split(u'\n', Qt::SkipEmptyParts)) {
        const QStringList columns = clitest::columns(line);
        if (!line.startsWith(u' ')) {
            current = nullptr;
            if (columns.size() == 4 && meterIds.contains(columns.first())) {
                current = &result[columns.first()];
                current->header = columns;
            }
        } else if (current && line.startsWith(u"  "_s) && columns.size() >= 3) {
            current->checks.append(columns);
        }
    }
    return result;
}

// RFC 4180 records (quoted fields may hold commas, quotes and line breaks).
QList<QStringList> parseCsv(const QString &text)
{
    QList<QStringList> records;
    QStringList record;
    QString field;
    bool quoted = false;
    for (qsizetype i = 0; i < text.size(); ++i) {
        const QChar c = text.at(i);
        if (quoted) {
            if (c == u'"' && i + 1 < text.size() && text.at(i + 1) == u'"') {
                field += u'"';
                ++i;
            } else if (c == u'"') {
                quoted = false;
            } else {
                field += c;
            }
        } else if (c == u'"') {
            quoted = true;
        } else if (c == u',') {
            record << field;
            field.clear();
        } else if (c == u'\r' && i + 1 < text.size() && text.at(i + 1) == u'\n') {
            record << field;
            records << record;
            record.clear();
            field.clear();
            ++i;
        } else {
            field += c;
        }
    }
    if (!field.isEmpty() || !record.isEmpty())
        records << (record << field);
    return records;
}

struct ToolRun {
    int exitCode = -1;
    QByteArray out;
    QString err;
};

// A poppler tool to completion (no simulator needs the event loop while it runs).
ToolRun runTool(const QString &program, const QStringList &args)
{
    QProcess process;
    process.start(program, args);
    ToolRun run;
    if (!process.waitForStarted(10'000) || !process.waitForFinished(20'000)) {
        process.kill();
        process.waitForFinished(5'000);
        run.err = program + u" did not run: "_s + process.errorString();
        return run;
    }
    run.exitCode = clitest::exitCodeOf(process);
    run.out = process.readAllStandardOutput();
    run.err = QString::fromUtf8(process.readAllStandardError());
    return run;
}

// The share of dark pixels of a binary PGM (P5, 8 bit) image; nullopt when it is not one.
std::optional<double> darkShare(const QByteArray &pgm)
{
    QList<QByteArray> fields;
    qsizetype pos = 0;
    while (fields.size() < 4 && pos < pgm.size()) {
        while (pos < pgm.size() && std::isspace(uchar(pgm.at(pos))))
            ++pos;
        if (pos < pgm.size() && pgm.at(pos) == '#') {
            while (pos < pgm.size() && pgm.at(pos) != '\n')
                ++pos;
            continue;
        }
        const qsizetype start = pos;
        while (pos < pgm.size() && !std::isspace(uchar(pgm.at(pos))))
            ++pos;
        fields << pgm.mid(start, pos - start);
    }
    ++pos; // the single whitespace after the maximum value
    if (fields.size() != 4 || fields.at(0) != "P5" || fields.at(3).toInt() != 255)
        return std::nullopt;
    const qint64 pixels = fields.at(1).toLongLong() * fields.at(2).toLongLong();
    if (pixels <= 0 || pos + pixels > pgm.size())
        return std::nullopt;
    qint64 dark = 0;
    for (qint64 i = 0; i < pixels; ++i) {
        if (uchar(pgm.at(pos + i)) < 128)
            ++dark;
    }
    return double(dark) / double(pixels);
}

} // namespace

class tst_DlmsctlCommission : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void siteWithClockAndFlakyMeters();
    void syncClockThenCompare();
    void cancelledBySignal();
    void usageErrors_data();
    void usageErrors();
    void noStoreCreatesNoDatabase();
    void unwritableCsvAfterTheRun();

private:
    QString writeConfig(const QString &name, const QJsonObject &config)
    {
        return writeText(m_dir.filePath(name), QJsonDocument(config).toJson());
    }
    // Nothing of kMeterPassword / kMqttToken in `text`, in any spelling the engine could use.
    static bool hasSecret(const QByteArray &text)
    {
        for (const QString &secret : {kMeterPassword, kMqttToken}) {
            const QByteArray utf8 = secret.toUtf8();
            if (text.contains(utf8) || text.toLower().contains(utf8.toHex())
                || text.toLower().contains(utf8.toHex(' ')))
                return true;
        }
        return false;
    }

    QTemporaryDir m_dir;
    testsupport::MosquittoBroker m_broker;
};

void tst_DlmsctlCommission::initTestCase()
{
    QStandardPaths::setTestModeEnabled(true);
    QVERIFY2(m_dir.isValid(), qPrintable(m_dir.errorString()));
    QVERIFY2(m_broker.start(), qPrintable(m_broker.errorString()));
    QVERIFY(QFileInfo(clitest::dlmsctlPath()).isExecutable());
}

void tst_DlmsctlCommission::siteWithClockAndFlakyMeters()
{
    if (QStandardPaths::findExecutable(u"pdftotext"_s).isEmpty()
        || QStandardPaths::findExecutable(u"pdftoppm"_s).isEmpty())
        QSKIP("poppler-utils (pdftotext, pdftoppm) is not installed");

    sim::MeterSettings healthy;
    healthy.password = kMeterPassword.toUtf8();
    healthy.requireAuthentication = true;
    const auto healthySim = simulatorFor(1, healthy);
    sim::MeterSettings clockOff;
    clockOff.clockOffsetSeconds = kClockOffsetS;
    const auto clockSim = simulatorFor(2, clockOff);
    const FlakySimulator flaky(3, kFlakyLatencyMs);
    sim::Simulator *const flakySim = flaky.simulator();
    QVERIFY(healthySim && clockSim && flakySim);

    const QString database = m_dir.filePath(u"site.db"_s);
    const QJsonArray meters {
        meterEntry(
            u"north-1"_s, healthySim->port(0), {{u"auth"_s, u"low"_s}, {u"password"_s, kMeterPassword}}),
        meterEntry(u"north-2"_s, clockSim->port(1)),
        meterEntry(u"north-3"_s, flakySim->port(2),
            {{u"timeout_ms"_s, kFlakyTimeoutMs}, {u"connect_timeout_ms"_s, kFlakyTimeoutMs}}),
    };
    const QString config = writeConfig(u"north.json"_s, siteConfig(meters, m_broker.port(), database));
    QVERIFY(!config.isEmpty());
    const QString csv = m_dir.filePath(u"north.csv"_s);
    const QString pdf = m_dir.filePath(u"north.pdf"_s);

    const clitest::CliRun run = clitest::runCli(
        {u"commission"_s, u"--config"_s, config, u"--csv"_s, csv, u"--pdf"_s, pdf, u"--site"_s, kSite,
            u"--technician"_s, kTechnician, u"--notes"_s, u"handover after retrofit"_s},
        25000);
    QVERIFY2(run.exitCode == 1, qPrintable(run.describe()));

    // stdout: a block per meter, in configuration order, no terminal codes (not a tty).
    const QStringList ids {u"north-1"_s, u"north-2"_s, u"north-3"_s};
    const QHash<QString, Block> printed = blocks(run.out, ids);
    QCOMPARE(printed.size(), 3);
    QVERIFY(run.out.indexOf(u"north-1"_s) < run.out.indexOf(u"north-2"_s));
    QVERIFY(run.out.indexOf(u"north-2"_s) < run.out.indexOf(u"north-3"_s));
    QVERIFY(!run.out.contains(u'\x1b'));
    const Block &good = printed.value(u"north-1"_s);
    QCOMPARE(good.header.value(1), u"127.0.0.1:%1"_s.arg(healthySim->port(0)));
    QCOMPARE(good.header.value(2), u"SIM00000001"_s);
    QVERIFY2(good.header.value(3) == u"PASS"_s, qPrintable(run.out));
    const Block &late = printed.value(u"north-2"_s);
    QCOMPARE(late.header.value(2), u"SIM00000002"_s);
    QCOMPARE(late.header.value(3), u"FAIL"_s);
    const QStringList *clockLine
        = late.check(commissioning::checkTitle(QString(commissioning::checks::Clock)));
    QVERIFY2(clockLine, qPrintable(run.out));
    QCOMPARE(clockLine->value(0), u"fail"_s);
    QVERIFY2(clockLine->value(2).startsWith(u"+60"_s), qPrintable(clockLine->join(u" | "_s)));
    // The flaky meter: what it answered passed, the first late answer failed on the meter's
    // request timeout, and every meter check after it was not reached; MQTT needs no meter.
    QVERIFY(flaky.wentLate());
    const Block &flakyBlock = printed.value(u"north-3"_s);
    const QString flakyOut = run.out.mid(run.out.indexOf(u"north-3  "_s));
    QCOMPARE(flakyBlock.header.value(2), u"SIM00000003"_s);
    QCOMPARE(flakyBlock.header.value(3), u"FAIL"_s);
    QVERIFY2(flakyBlock.checks.size() == qsizetype(kFlakyChecks.size()), qPrintable(flakyOut));
    for (size_t i = 0; i < kFlakyChecks.size(); ++i) {
        const QStringList &columns = flakyBlock.checks.at(qsizetype(i));
        const FlakyCheck &expected = kFlakyChecks.at(i);
        QVERIFY2(columns.value(1) == commissioning::checkTitle(expected.id), qPrintable(flakyOut));
        QVERIFY2(columns.value(0) == expected.status, qPrintable(flakyOut));
        if (expected.status == u"fail"_s)
            QVERIFY2(columns.value(3).contains(kTimeoutText), qPrintable(flakyOut));
        else if (expected.status == u"skipped"_s)
            QVERIFY2(columns.value(3) == kNotReached, qPrintable(flakyOut));
    }
    QVERIFY2(
        run.out.contains(u"Summary: 3 of 3 meters checked: 1 pass, 0 warn, 2 fail"_s), qPrintable(run.out));
    QVERIFY(run.out.contains(u"stored in "_s + database));

    // The session as stored.
    auto store = commissioning::Store::open(database);
    QVERIFY2(store, qPrintable(store ? QString() : store.error().message));
    auto sessions = (*store)->sessions();
    QVERIFY(sessions);
    QCOMPARE(sessions->size(), size_t(1));
    const commissioning::SessionInfo info = sessions->front();
    QCOMPARE(info.site, kSite);
    QCOMPARE(info.technician, kTechnician);
    QCOMPARE(info.notes, u"handover after retrofit"_s);
    QCOMPARE(info.state, commissioning::SessionState::Finished);
    QCOMPARE(info.configFile, QFileInfo(config).absoluteFilePath());
    QVERIFY(info.finishedMs >= info.startedMs && info.startedMs > 0);
    QCOMPARE(info.meters, 3);
    QCOMPARE(info.passed, 1);
    QCOMPARE(info.failed, 2);
    auto session = (*store)->session(info.id);
    QVERIFY(session);
    const commissioning::MeterReport *stored = session->findMeter(u"north-2");
    QVERIFY(stored);
    QCOMPARE(stored->serialNumber, u"SIM00000002"_s);
    const commissioning::CheckResult *storedClock = stored->find(QString(commissioning::checks::Clock));
    QVERIFY(storedClock && storedClock->value);
    QVERIFY2(qAbs(*storedClock->value - kClockOffsetS) < 5, qPrintable(QString::number(*storedClock->value)));
    const commissioning::MeterReport *storedFlaky = session->findMeter(u"north-3");
    QVERIFY(storedFlaky);
    QCOMPARE(storedFlaky->checks.size(), kFlakyChecks.size());
    for (size_t i = 0; i < kFlakyChecks.size(); ++i) {
        QCOMPARE(storedFlaky->checks.at(i).check, kFlakyChecks.at(i).id);
        QCOMPARE(commissioning::checkStatusName(storedFlaky->checks.at(i).status), kFlakyChecks.at(i).status);
    }
    store->reset();

    // CSV: the header, then one row per meter per check, in session order.
    const QByteArray csvBytes = readAll(csv);
    const QList<QStringList> records = parseCsv(QString::fromUtf8(csvBytes));
    QVERIFY(!records.isEmpty());
    QCOMPARE(
        records.first().join(u','), QString::fromUtf8(commissioning::commissioningCsvHeader()).trimmed());
    qsizetype checkCount = 0;
    for (const commissioning::MeterReport &meter : session->meters)
        checkCount += qsizetype(meter.checks.size());
    QCOMPARE(records.size() - 1, checkCount);
    const QStringList header = records.first();
    const qsizetype meterCol = header.indexOf(u"meter_id"_s);
    const qsizetype checkCol = header.indexOf(u"check"_s);
    const qsizetype statusCol = header.indexOf(u"status"_s);
    const qsizetype valueCol = header.indexOf(u"value"_s);
    const qsizetype siteCol = header.indexOf(u"site"_s);
    const qsizetype explanationCol = header.indexOf(u"explanation"_s);
    QVERIFY(meterCol >= 0 && checkCol >= 0 && statusCol >= 0 && valueCol >= 0 && siteCol >= 0
        && explanationCol >= 0);
    QSet<QString> csvMeters;
    bool clockRowSeen = false;
    size_t flakyRows = 0;
    for (qsizetype i = 1; i < records.size(); ++i) {
        const QStringList &row = records.at(i);
        QCOMPARE(row.size(), header.size());
        QCOMPARE(row.at(siteCol), kSite);
        csvMeters.insert(row.at(meterCol));
        if (row.at(meterCol) == u"north-3"_s) {
            QVERIFY2(flakyRows < kFlakyChecks.size(), qPrintable(row.join(u',')));
            const FlakyCheck &expected = kFlakyChecks.at(flakyRows++);
            QCOMPARE(row.at(checkCol), expected.id);
            QCOMPARE(row.at(statusCol), expected.status);
            if (expected.status == u"fail"_s)
                QVERIFY2(row.at(explanationCol).contains(kTimeoutText), qPrintable(row.join(u',')));
            else if (expected.status == u"skipped"_s)
                QCOMPARE(row.at(explanationCol), kNotReached);
        }
        if (row.at(meterCol) == u"north-2"_s && row.at(checkCol) == commissioning::checks::Clock) {
            clockRowSeen = true;
            QCOMPARE(row.at(statusCol), u"fail"_s);
            bool ok = false;
            const double drift = row.at(valueCol).toDouble(&ok);
            QVERIFY2(ok && qAbs(drift - kClockOffsetS) < 5, qPrintable(row.join(u','))); // ≈ +600
        }
    }
    QVERIFY(clockRowSeen);
    QCOMPARE(flakyRows, kFlakyChecks.size());
    QCOMPARE(csvMeters, (QSet<QString> {u"north-1"_s, u"north-2"_s, u"north-3"_s}));

    // PDF: its text names the site, the technician, the meters and their statuses; page 1
    // renders to an image with ink on it.
    const ToolRun text = runTool(u"pdftotext"_s, {u"-layout"_s, pdf, u"-"_s});
    QVERIFY2(text.exitCode == 0, qPrintable(text.err));
    const QString pdfText = QString::fromUtf8(text.out);
    for (const QString &expected :
        {kSite, kTechnician, u"NORTH-1"_s, u"NORTH-2"_s, u"NORTH-3"_s, u"SIM00000002"_s})
        QVERIFY2(pdfText.contains(expected), qPrintable(expected + u" not in:\n"_s + pdfText.left(3000)));
    QVERIFY(pdfText.contains(commissioning::checkStatusText(commissioning::CheckStatus::Pass)));
    QVERIFY(pdfText.contains(commissioning::checkStatusText(commissioning::CheckStatus::Fail)));
    const QString prefix = m_dir.filePath(u"page"_s);
    const ToolRun png = runTool(u"pdftoppm"_s,
        {u"-png"_s, u"-r"_s, u"40"_s, u"-f"_s, u"1"_s, u"-l"_s, u"1"_s, u"-singlefile"_s, pdf, prefix});
    QVERIFY2(png.exitCode == 0, qPrintable(png.err));
    QVERIFY(readAll(prefix + u".png"_s).startsWith("\x89PNG\r\n\x1a\n"));
    const ToolRun gray = runTool(u"pdftoppm"_s,
        {u"-gray"_s, u"-r"_s, u"40"_s, u"-f"_s, u"1"_s, u"-l"_s, u"1"_s, u"-singlefile"_s, pdf, prefix});
    QVERIFY2(gray.exitCode == 0, qPrintable(gray.err));
    const std::optional<double> ink = darkShare(readAll(prefix + u".pgm"_s));
    QVERIFY(ink);
    QVERIFY2(*ink > 0.002 && *ink < 0.9, qPrintable(QString::number(*ink)));

    // No secret anywhere the command wrote.
    QVERIFY2(!hasSecret(run.out.toUtf8()), qPrintable(run.out));
    QVERIFY2(!hasSecret(run.err.toUtf8()), qPrintable(run.err));
    QVERIFY(!hasSecret(csvBytes));
    QVERIFY(!hasSecret(text.out));
}

void tst_DlmsctlCommission::syncClockThenCompare()
{
    sim::MeterSettings lls;
    lls.password = kMeterPassword.toUtf8();
    lls.requireAuthentication = true;
    lls.clockOffsetSeconds = kClockOffsetS;
    const auto simulator = simulatorFor(1, lls);
    QVERIFY(simulator);
    const QString database = m_dir.filePath(u"sync.db"_s);
    const QJsonArray meters {meterEntry(
        u"east-1"_s, simulator->port(0), {{u"auth"_s, u"low"_s}, {u"password"_s, kMeterPassword}})};
    const QString config = writeConfig(u"east.json"_s, siteConfig(meters, m_broker.port(), database));
    QVERIFY(!config.isEmpty());
    const QString clockTitle = commissioning::checkTitle(QString(commissioning::checks::Clock));
    const QString syncTitle = commissioning::checkTitle(QString(commissioning::checks::ClockSync));

    const clitest::CliRun first
        = clitest::runCli({u"commission"_s, u"--config"_s, config, u"--sync-clock"_s}, 20000);
    QVERIFY2(first.exitCode == 0 || first.exitCode == 1, qPrintable(first.describe()));
    const Block synced = blocks(first.out, {u"east-1"_s}).value(u"east-1"_s);
    const QStringList *clockBefore = synced.check(clockTitle);
    const QStringList *sync = synced.check(syncTitle);
    QVERIFY2(clockBefore && sync, qPrintable(first.describe()));
    QCOMPARE(clockBefore->value(0), u"fail"_s);
    QVERIFY2(sync->value(0) == u"pass"_s, qPrintable(first.describe()));
    // The site defaults to the configuration file's base name.
    QVERIFY(first.out.contains(u"Session "_s));

    const QString pdf = m_dir.filePath(u"east.pdf"_s);
    const clitest::CliRun second
        = clitest::runCli({u"commission"_s, u"--config"_s, config, u"--compare"_s, u"--pdf"_s, pdf}, 20000);
    QVERIFY2(second.exitCode == 0, qPrintable(second.describe()));
    const Block after = blocks(second.out, {u"east-1"_s}).value(u"east-1"_s);
    QCOMPARE(after.header.value(3), u"PASS"_s);
    QVERIFY(after.check(clockTitle) && after.check(clockTitle)->value(0) == u"pass"_s);
    QVERIFY2(!after.check(syncTitle), qPrintable(second.out)); // no drift left to sync
    // The comparison: the clock went from fail to pass.
    QVERIFY2(second.out.contains(u"Compared with session "_s), qPrintable(second.out));
    bool clockBetter = false;
    for (const QString &line : second.out.split(u'\n')) {
        const QStringList columns = clitest::columns(line);
        if (columns.value(0) == u"east-1"_s && columns.value(1) == clockTitle) {
            clockBetter = columns.value(2) == u"better"_s && columns.value(3) == u"fail → pass"_s;
        }
    }
    QVERIFY2(clockBetter, qPrintable(second.out));
    // The PDF carries the comparison too.
    const ToolRun text = runTool(u"pdftotext"_s, {pdf, u"-"_s});
    QVERIFY2(text.exitCode == 0, qPrintable(text.err));
    QVERIFY2(
        text.out.contains("previous run") && text.out.contains("Better"), text.out.left(3000).constData());

    auto store = commissioning::Store::open(database);
    QVERIFY(store);
    auto sessions = (*store)->sessions();
    QVERIFY(sessions);
    QCOMPARE(sessions->size(), size_t(2));
    QCOMPARE(sessions->front().site, u"east"_s);
    QCOMPARE(sessions->front().passed, 1);
    QVERIFY(!hasSecret(first.out.toUtf8() + first.err.toUtf8() + second.out.toUtf8() + second.err.toUtf8()));
}

void tst_DlmsctlCommission::cancelledBySignal()
{
    const auto healthySim = simulatorFor(1, {});
    sim::MeterSettings silent;
    silent.faults.silent = true;
    const auto silentSim = simulatorFor(2, silent);
    QVERIFY(healthySim && silentSim);
    const QString database = m_dir.filePath(u"cancel.db"_s);
    QJsonObject config = siteConfig(QJsonArray {meterEntry(u"ok-1"_s, healthySim->port(0)),
                                        meterEntry(u"mute-2"_s, silentSim->port(1),
                                            {{u"timeout_ms"_s, 15000}, {u"connect_timeout_ms"_s, 15000}})},
        m_broker.port(), database);
    const QString configPath = writeConfig(u"cancel.json"_s, config);
    QVERIFY(!configPath.isEmpty());

    QProcess process;
    QSignalSpy finished(&process, &QProcess::finished);
    QSignalSpy output(&process, &QProcess::readyReadStandardOutput);
    process.start(clitest::dlmsctlPath(), {u"commission"_s, u"--config"_s, configPath});
    QString out;
    // The healthy meter's block shows up while the silent one still waits for its AARE.
    const QDeadlineTimer deadline(12000);
    while (!out.contains(u"ok-1  "_s) && process.state() != QProcess::NotRunning && !deadline.hasExpired()) {
        output.wait(200);
        out += QString::fromUtf8(process.readAllStandardOutput());
    }
    QVERIFY2(out.contains(u"ok-1  "_s), qPrintable(out));
    QCOMPARE(process.state(), QProcess::Running);
    process.terminate();
    QVERIFY(clitest::spinUntil(
        finished, QDeadlineTimer(10000), [&] { return process.state() == QProcess::NotRunning; }));
    out += QString::fromUtf8(process.readAllStandardOutput());
    QCOMPARE(clitest::exitCodeOf(process), 1);
    QVERIFY2(out.contains(u"(cancelled)"_s), qPrintable(out));

    auto store = commissioning::Store::open(database);
    QVERIFY(store);
    auto sessions = (*store)->sessions();
    QVERIFY(sessions && sessions->size() == 1);
    QCOMPARE(sessions->front().state, commissioning::SessionState::Cancelled);
    auto session = (*store)->session(sessions->front().id);
    QVERIFY(session);
    const commissioning::MeterReport *ok = session->findMeter(u"ok-1");
    QVERIFY(ok && ok->find(QString(commissioning::checks::Tcp)));
}

void tst_DlmsctlCommission::usageErrors_data()
{
    QTest::addColumn<QString>("configText"); // empty: the good configuration
    QTest::addColumn<QStringList>("extra");
    QTest::addColumn<QString>("message"); // part of stderr

    QTest::newRow("unknown-meter") << QString() << QStringList {u"--meter"_s, u"nowhere-9"_s}
                                   << u"nowhere-9"_s;
    QTest::newRow("broken-json") << u"{ \"meters\": [ "_s << QStringList() << u"invalid JSON"_s;
    QTest::newRow("invalid-port")
        << u"{ \"meters\": [ { \"id\": \"a\", \"host\": \"127.0.0.1\", \"port\": 0 } ] }"_s << QStringList()
        << u"port"_s;
    QTest::newRow("no-meters") << u"{ \"mqtt\": { \"enabled\": false } }"_s << QStringList()
                               << u"no meters"_s;
    QTest::newRow("database-and-no-store")
        << QString() << QStringList {u"--no-store"_s, u"--database"_s, u"x.db"_s} << u"--no-store"_s;
    QTest::newRow("compare-without-store")
        << QString() << QStringList {u"--no-store"_s, u"--compare"_s} << u"--compare"_s;
    QTest::newRow("unknown-option") << QString() << QStringList {u"--colour"_s} << u"colour"_s;
}

void tst_DlmsctlCommission::usageErrors()
{
    QFETCH(QString, configText);
    QFETCH(QStringList, extra);
    QFETCH(QString, message);
    const QString database
        = m_dir.filePath(u"usage-%1.db"_s.arg(QString::fromLatin1(QTest::currentDataTag())));
    const QJsonObject good
        = siteConfig(QJsonArray {meterEntry(u"a"_s, clitest::unusedPort())}, m_broker.port(), database);
    const QString config = configText.isEmpty()
        ? writeConfig(u"usage.json"_s, good)
        : writeText(m_dir.filePath(u"usage.json"_s), configText.toUtf8());
    QVERIFY(!config.isEmpty());

    const clitest::CliRun run
        = clitest::runCli(QStringList {u"commission"_s, u"--config"_s, config} + extra, 10000);
    QVERIFY2(run.exitCode == 2, qPrintable(run.describe()));
    QVERIFY2(run.err.contains(message), qPrintable(run.err));
    QVERIFY(run.out.isEmpty());
    QVERIFY(!QFileInfo::exists(database)); // nothing was run, so nothing was stored
}

void tst_DlmsctlCommission::noStoreCreatesNoDatabase()
{
    const auto simulator = simulatorFor(1, {});
    QVERIFY(simulator);
    const QString database = m_dir.filePath(u"nostore.db"_s);
    const QString config = writeConfig(u"nostore.json"_s,
        siteConfig(QJsonArray {meterEntry(u"west-1"_s, simulator->port(0))}, m_broker.port(), database));
    const QString csv = m_dir.filePath(u"nostore.csv"_s);

    const clitest::CliRun run = clitest::runCli(
        {u"commission"_s, u"--config"_s, config, u"--no-store"_s, u"--csv"_s, csv, u"--quiet"_s}, 20000);
    QVERIFY2(run.exitCode == 0, qPrintable(run.describe()));
    QVERIFY(!QFileInfo::exists(database));
    // --quiet: the summary and the report, no meter blocks.
    QVERIFY(blocks(run.out, {u"west-1"_s}).isEmpty());
    QVERIFY(run.out.contains(u"Summary: 1 of 1 meter checked: 1 pass, 0 warn, 0 fail"_s));
    QVERIFY(!run.out.contains(u"stored in"_s));
    QVERIFY(run.out.contains(csv));
    const QList<QStringList> records = parseCsv(QString::fromUtf8(readAll(csv)));
    QVERIFY(records.size() > 1);
    // No session stored: the CSV's session id column is 0 or empty, never a stored id.
    QVERIFY(records.at(1).value(0) == u"0"_s || records.at(1).value(0).isEmpty());
}

void tst_DlmsctlCommission::unwritableCsvAfterTheRun()
{
    const auto simulator = simulatorFor(1, {});
    QVERIFY(simulator);
    const QString database = m_dir.filePath(u"unwritable.db"_s);
    // south-2 would fail (nothing listens there): --meter leaves it out.
    const QString config = writeConfig(u"unwritable.json"_s,
        siteConfig(QJsonArray {meterEntry(u"south-1"_s, simulator->port(0)),
                       meterEntry(u"south-2"_s, clitest::unusedPort())},
            m_broker.port(), database));
    // A directory that does not exist: even root cannot write there.
    const QString csv = m_dir.filePath(u"no-such-dir/report.csv"_s);

    const clitest::CliRun run = clitest::runCli(
        {u"commission"_s, u"--config"_s, config, u"--meter"_s, u"south-1"_s, u"--csv"_s, csv}, 20000);
    QVERIFY2(run.exitCode == 3, qPrintable(run.describe()));
    QVERIFY(!run.out.contains(u"south-2"_s));
    QVERIFY(run.out.contains(u"Summary: 1 of 1 meter checked: 1 pass"_s));
    QVERIFY2(run.err.contains(csv), qPrintable(run.err));
    // The run happened first: the meter was checked and the session stored.
    QVERIFY(blocks(run.out, {u"south-1"_s}).contains(u"south-1"_s));
    QVERIFY(run.out.contains(u"stored in "_s + database));
    QVERIFY(!QFileInfo::exists(csv));
}

QTEST_GUILESS_MAIN(tst_DlmsctlCommission)
#include "tst_dlmsctl_commission.moc"
