#include <commissioning.h>

#include <QtCore/QBuffer>
#include <QtCore/QCoreApplication>
#include <QtCore/QFile>
#include <QtCore/QLocale>
#include <QtCore/QTemporaryDir>
#include <QtCore/QTranslator>
#include <QtTest/QTest>

#include <limits>

using namespace Qt::StringLiterals;
using namespace commissioning;

namespace {

using Change = CheckComparison::Change;

constexpr qint64 T0 = 1'795'530'901'250; // 2026-11-24T14:35:01.250Z

CheckResult check(QString id, CheckStatus status, QString measured = {}, std::optional<double> value = {},
    QString unit = {}, QString explanation = {}, qint64 timestampMs = T0)
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

MeterReport meter(QString id, std::vector<CheckResult> checks, QString name = {})
{
    MeterReport report;
    report.meterId = std::move(id);
    report.meterName = name.isEmpty() ? u"Meter "_s + report.meterId : std::move(name);
    report.endpoint = u"127.0.0.1:4059"_s;
    report.checks = std::move(checks);
    return report;
}

// Prefixes every "commissioning" text so a test sees that titles and statuses are translated
// when asked for, not once at start-up.
class MarkingTranslator final : public QTranslator {
public:
    QString translate(const char *context, const char *sourceText, const char *disambiguation = nullptr,
        int n = -1) const override
    {
        Q_UNUSED(disambiguation);
        Q_UNUSED(n);
        if (qstrcmp(context, "commissioning") != 0)
            return {};
        return u"ES:"_s + QString::fromUtf8(sourceText);
    }
    bool isEmpty() const override { return false; }
};

QList<QByteArray> lines(const QByteArray &csv)
{
    QList<QByteArray> result = csv.split('\n');
    if (!result.isEmpty() && result.constLast().isEmpty())
        result.removeLast();
    return result;
}

} // namespace

Q_DECLARE_METATYPE(commissioning::CheckStatus)
Q_DECLARE_METATYPE(commissioning::SessionState)
Q_DECLARE_METATYPE(std::optional<commissioning::CheckResult>)
Q_DECLARE_METATYPE(std::optional<double>)

class tst_CommissioningTypes : public QObject {
    Q_OBJECT

private slots:
    void statusNames_data();
    void statusNames();
    void stateNames_data();
    void stateNames();
    void unknownNames_data();
    void unknownNames();
    void worseTable_data();
    void worseTable();
    void overall_data();
    void overall();
    void findAndCounts();
    void checkTitles_data();
    void checkTitles();
    void textsFollowTheLanguage();
    void changeNames();
    void compareOneCheck_data();
    void compareOneCheck();
    void compareOrder();
    void csvExactBytes();
    void csvValues_data();
    void csvValues();
    void csvLocaleIndependent();
    void csvManyRows();
    void csvWriteFailure_data();
    void csvWriteFailure();
};

void tst_CommissioningTypes::statusNames_data()
{
    QTest::addColumn<CheckStatus>("status");
    QTest::addColumn<QString>("name");
    QTest::addColumn<QString>("text");
    QTest::newRow("pass") << CheckStatus::Pass << u"pass"_s << u"Pass"_s;
    QTest::newRow("warn") << CheckStatus::Warn << u"warn"_s << u"Warning"_s;
    QTest::newRow("fail") << CheckStatus::Fail << u"fail"_s << u"Fail"_s;
    QTest::newRow("skipped") << CheckStatus::Skipped << u"skipped"_s << u"Skipped"_s;
}

void tst_CommissioningTypes::statusNames()
{
    QFETCH(CheckStatus, status);
    QFETCH(QString, name);
    QFETCH(QString, text);
    QCOMPARE(checkStatusName(status), name);
    QCOMPARE(checkStatusFromName(name), std::optional<CheckStatus>(status));
    QCOMPARE(checkStatusText(status), text);
}

void tst_CommissioningTypes::stateNames_data()
{
    QTest::addColumn<SessionState>("state");
    QTest::addColumn<QString>("name");
    QTest::newRow("running") << SessionState::Running << u"running"_s;
    QTest::newRow("finished") << SessionState::Finished << u"finished"_s;
    QTest::newRow("cancelled") << SessionState::Cancelled << u"cancelled"_s;
}

void tst_CommissioningTypes::stateNames()
{
    QFETCH(SessionState, state);
    QFETCH(QString, name);
    QCOMPARE(sessionStateName(state), name);
    QCOMPARE(sessionStateFromName(name), std::optional<SessionState>(state));
}

void tst_CommissioningTypes::unknownNames_data()
{
    QTest::addColumn<QString>("name");
    QTest::newRow("empty") << QString();
    QTest::newRow("upper-case") << u"PASS"_s;
    QTest::newRow("translated-text") << u"Warning"_s;
    QTest::newRow("padded") << u" fail"_s;
    QTest::newRow("state-as-status") << u"running"_s;
    QTest::newRow("status-as-state") << u"skipped"_s;
    QTest::newRow("other-spelling") << u"canceled"_s;
}

void tst_CommissioningTypes::unknownNames()
{
    QFETCH(QString, name);
    // Each row is unknown to at least one of the two parsers; the other may know it.
    const bool status = checkStatusFromName(name).has_value();
    const bool state = sessionStateFromName(name).has_value();
    QVERIFY(!(status && state));
    const QByteArray tag = QTest::currentDataTag();
    if (tag == "state-as-status")
        QVERIFY(state && !status);
    else if (tag == "status-as-state")
        QVERIFY(status && !state);
    else
        QVERIFY(!status && !state);
}

void tst_CommissioningTypes::worseTable_data()
{
    QTest::addColumn<CheckStatus>("a");
    QTest::addColumn<CheckStatus>("b");
    QTest::addColumn<CheckStatus>("expected");
    // Rank: fail > warn > pass > skipped; every ordered pair of the four.
    const CheckStatus all[] {CheckStatus::Skipped, CheckStatus::Pass, CheckStatus::Warn, CheckStatus::Fail};
    for (int i = 0; i < 4; ++i) {
        for (int j = 0; j < 4; ++j) {
            const QByteArray tag
                = checkStatusName(all[i]).toLatin1() + "-vs-" + checkStatusName(all[j]).toLatin1();
            QTest::newRow(tag.constData()) << all[i] << all[j] << all[std::max(i, j)];
        }
    }
}

void tst_CommissioningTypes::worseTable()
{
    QFETCH(CheckStatus, a);
    QFETCH(CheckStatus, b);
    QFETCH(CheckStatus, expected);
    QCOMPARE(worse(a, b), expected);
}

void tst_CommissioningTypes::overall_data()
{
    QTest::addColumn<QList<CheckStatus>>("statuses");
    QTest::addColumn<CheckStatus>("expected");
    using S = CheckStatus;
    QTest::newRow("no-checks") << QList<S>() << S::Skipped;
    QTest::newRow("all-skipped") << QList<S> {S::Skipped, S::Skipped} << S::Skipped;
    QTest::newRow("pass-and-skipped") << QList<S> {S::Pass, S::Skipped, S::Pass} << S::Pass;
    QTest::newRow("one-warn") << QList<S> {S::Pass, S::Warn, S::Pass} << S::Warn;
    QTest::newRow("fail-first") << QList<S> {S::Fail, S::Skipped, S::Skipped} << S::Fail;
    QTest::newRow("fail-last") << QList<S> {S::Pass, S::Warn, S::Fail} << S::Fail;
}

void tst_CommissioningTypes::overall()
{
    QFETCH(QList<CheckStatus>, statuses);
    QFETCH(CheckStatus, expected);
    MeterReport report;
    int n = 0;
    for (const CheckStatus status : statuses)
        report.checks.push_back(check(u"c"_s + QString::number(n++), status));
    QCOMPARE(report.overall(), expected);
}

void tst_CommissioningTypes::findAndCounts()
{
    Session session;
    session.meters.push_back(meter(u"m-pass"_s, {check(u"tcp"_s, CheckStatus::Pass)}));
    session.meters.push_back(
        meter(u"m-warn"_s, {check(u"tcp"_s, CheckStatus::Pass), check(u"clock"_s, CheckStatus::Warn)}));
    session.meters.push_back(
        meter(u"m-fail"_s, {check(u"tcp"_s, CheckStatus::Fail), check(u"clock"_s, CheckStatus::Skipped)}));
    session.meters.push_back(meter(u"m-skipped"_s, {check(u"mqtt"_s, CheckStatus::Skipped)}));
    session.meters.push_back(meter(u"m-empty"_s, {}));
    session.info.passed = 99; // stale counts are replaced, not added to
    session.updateCounts();
    QCOMPARE(session.info.meters, 5);
    QCOMPARE(session.info.passed, 1);
    QCOMPARE(session.info.warned, 1);
    QCOMPARE(session.info.failed, 1);

    const MeterReport *warn = session.findMeter(u"m-warn");
    QVERIFY(warn);
    QCOMPARE(warn->meterId, u"m-warn"_s);
    QVERIFY(!session.findMeter(u"m-absent"));
    const CheckResult *clock = warn->find(checks::Clock);
    QVERIFY(clock);
    QCOMPARE(clock->status, CheckStatus::Warn);
    QVERIFY(!warn->find(checks::Mqtt));
}

void tst_CommissioningTypes::checkTitles_data()
{
    QTest::addColumn<QString>("id");
    QTest::addColumn<QString>("title");
    QTest::newRow("tcp") << QString(checks::Tcp) << u"TCP connection"_s;
    QTest::newRow("association") << QString(checks::Association) << u"Association"_s;
    QTest::newRow("identity") << QString(checks::Identity) << u"Identity"_s;
    QTest::newRow("clock") << QString(checks::Clock) << u"Clock"_s;
    QTest::newRow("clock-sync") << QString(checks::ClockSync) << u"Clock synchronisation"_s;
    QTest::newRow("objects") << QString(checks::Objects) << u"Object list"_s;
    QTest::newRow("mqtt") << QString(checks::Mqtt) << u"MQTT round trip"_s;
    QTest::newRow("traffic-bytes") << QString(checks::TrafficBytes) << u"Traffic per poll"_s;
    QTest::newRow("traffic-rtt") << QString(checks::TrafficRtt) << u"Round-trip time"_s;
    QTest::newRow("register") << u"register:voltage_l1"_s << u"Register voltage_l1"_s;
    QTest::newRow("register-empty-key") << u"register:"_s << u"Register "_s;
    QTest::newRow("unknown-id-kept") << u"future-check"_s << u"future-check"_s;
}

void tst_CommissioningTypes::checkTitles()
{
    QFETCH(QString, id);
    QFETCH(QString, title);
    QCOMPARE(checkTitle(id), title);
}

void tst_CommissioningTypes::textsFollowTheLanguage()
{
    MarkingTranslator translator;
    QVERIFY(QCoreApplication::installTranslator(&translator));
    const QString status = checkStatusText(CheckStatus::Warn);
    const QString title = checkTitle(u"clock");
    const QString registerTitle = checkTitle(u"register:frequency");
    QCoreApplication::removeTranslator(&translator);
    QCOMPARE(status, u"ES:Warning"_s);
    QCOMPARE(title, u"ES:Clock"_s);
    QCOMPARE(registerTitle, u"ES:Register frequency"_s);
    // Stored names never follow the language.
    QCOMPARE(checkStatusName(CheckStatus::Warn), u"warn"_s);
    QCOMPARE(checkTitle(u"clock"), u"Clock"_s);
}

void tst_CommissioningTypes::changeNames()
{
    QCOMPARE(changeName(Change::Same), u"same"_s);
    QCOMPARE(changeName(Change::Changed), u"changed"_s);
    QCOMPARE(changeName(Change::Better), u"better"_s);
    QCOMPARE(changeName(Change::Worse), u"worse"_s);
    QCOMPARE(changeName(Change::Added), u"added"_s);
    QCOMPARE(changeName(Change::Removed), u"removed"_s);
}

void tst_CommissioningTypes::compareOneCheck_data()
{
    QTest::addColumn<std::optional<CheckResult>>("before");
    QTest::addColumn<std::optional<CheckResult>>("after");
    QTest::addColumn<QString>("change");
    using S = CheckStatus;
    auto c = [](S status, const QString &measured, std::optional<double> value = {}) {
        return std::optional<CheckResult>(check(u"clock"_s, status, measured, value, u"s"_s));
    };
    const std::optional<CheckResult> none;
    QTest::newRow("same") << c(S::Pass, u"+1.0 s"_s, 1.0) << c(S::Pass, u"+1.0 s"_s, 1.0) << u"same"_s;
    QTest::newRow("same-status-other-time")
        << c(S::Pass, u"+1.0 s"_s)
        << std::optional(check(u"clock"_s, S::Pass, u"+1.0 s"_s, {}, u"s"_s, {}, T0 + 5)) << u"same"_s;
    QTest::newRow("changed-measured")
        << c(S::Warn, u"+75.0 s"_s, 75) << c(S::Warn, u"+90.0 s"_s, 90) << u"changed"_s;
    QTest::newRow("better-fail-to-pass")
        << c(S::Fail, u"+600.0 s"_s) << c(S::Pass, u"+0.2 s"_s) << u"better"_s;
    QTest::newRow("better-fail-to-warn")
        << c(S::Fail, u"+600.0 s"_s) << c(S::Warn, u"+70.0 s"_s) << u"better"_s;
    QTest::newRow("better-warn-to-pass")
        << c(S::Warn, u"+70.0 s"_s) << c(S::Pass, u"+0.2 s"_s) << u"better"_s;
    QTest::newRow("better-skipped-to-pass") << c(S::Skipped, {}) << c(S::Pass, u"+0.2 s"_s) << u"better"_s;
    QTest::newRow("worse-pass-to-fail") << c(S::Pass, u"+0.2 s"_s) << c(S::Fail, u"+600.0 s"_s) << u"worse"_s;
    QTest::newRow("worse-pass-to-warn") << c(S::Pass, u"+0.2 s"_s) << c(S::Warn, u"+70.0 s"_s) << u"worse"_s;
    QTest::newRow("worse-pass-to-skipped") << c(S::Pass, u"+0.2 s"_s) << c(S::Skipped, {}) << u"worse"_s;
    QTest::newRow("added") << none << c(S::Pass, u"+0.2 s"_s) << u"added"_s;
    QTest::newRow("removed") << c(S::Pass, u"+0.2 s"_s) << none << u"removed"_s;
}

void tst_CommissioningTypes::compareOneCheck()
{
    QFETCH(std::optional<CheckResult>, before);
    QFETCH(std::optional<CheckResult>, after);
    QFETCH(QString, change);
    Session previous;
    Session current;
    // The meter is in both runs; only the check under test differs.
    const CheckResult tcp = check(u"tcp"_s, CheckStatus::Pass, u"3 ms"_s);
    previous.meters.push_back(meter(u"m1"_s, {tcp}));
    current.meters.push_back(meter(u"m1"_s, {tcp}));
    if (before)
        previous.meters[0].checks.push_back(*before);
    if (after)
        current.meters[0].checks.push_back(*after);

    const std::vector<CheckComparison> rows = compareSessions(previous, current);
    QCOMPARE(rows.size(), 2u);
    QCOMPARE(changeName(rows[0].change), u"same"_s);
    QCOMPARE(rows[0].check, u"tcp"_s);
    const CheckComparison &row = rows[1];
    QCOMPARE(row.meterId, u"m1"_s);
    QCOMPARE(row.meterName, u"Meter m1"_s);
    QCOMPARE(row.check, u"clock"_s);
    QCOMPARE(changeName(row.change), change);
    QCOMPARE(row.previous.has_value(), before.has_value());
    QCOMPARE(row.current.has_value(), after.has_value());
    if (before)
        QVERIFY(*row.previous == *before);
    if (after)
        QVERIFY(*row.current == *after);
}

void tst_CommissioningTypes::compareOrder()
{
    using S = CheckStatus;
    Session previous;
    previous.meters.push_back(
        meter(u"A"_s, {check(u"tcp"_s, S::Pass), check(u"clock"_s, S::Fail)}, u"Old name A"_s));
    previous.meters.push_back(meter(u"B"_s, {check(u"tcp"_s, S::Pass), check(u"mqtt"_s, S::Pass)}));
    Session current;
    current.meters.push_back(meter(u"C"_s, {check(u"tcp"_s, S::Pass)}));
    current.meters.push_back(meter(u"A"_s,
        {check(u"clock"_s, S::Pass), check(u"tcp"_s, S::Pass), check(u"mqtt"_s, S::Warn)}, u"New name A"_s));

    const std::vector<CheckComparison> rows = compareSessions(previous, current);
    QStringList got;
    for (const CheckComparison &row : rows)
        got << row.meterId + u'/' + row.check + u'/' + changeName(row.change) + u'/' + row.meterName;
    // The current run's order first, then what only the previous run had, in its order.
    const QStringList expected {
        u"C/tcp/added/Meter C"_s,
        u"A/clock/better/New name A"_s,
        u"A/tcp/same/New name A"_s,
        u"A/mqtt/added/New name A"_s,
        u"B/tcp/removed/Meter B"_s,
        u"B/mqtt/removed/Meter B"_s,
    };
    QCOMPARE(got, expected);
    QVERIFY(compareSessions({}, {}).empty());
}

void tst_CommissioningTypes::csvExactBytes()
{
    Session session;
    session.info.id = 12;
    session.info.site = u"Subestación Norte, bay 2"_s;
    session.info.technician = u"Ana \"Ñ\" Pérez"_s;
    session.info.notes = u"not exported"_s;
    session.info.startedMs = 1'795'530'900'000; // 2026-11-24T14:35:00.000Z
    MeterReport m1 = meter(u"m1"_s,
        {
            check(u"tcp"_s, CheckStatus::Pass, u"12 ms"_s, 12.0, u"ms"_s, u"connected"_s, T0),
            check(u"register:voltage_l1"_s, CheckStatus::Warn, u"231.4 V"_s, 231.4, u"V"_s,
                u"above 230 V ±10%,\nbut close"_s, T0 + 1),
        },
        u"=SUM(A1)"_s);
    m1.serialNumber = u"SN-001"_s;
    m1.logicalDeviceName = u"KFM1000000000001"_s;
    m1.firmwareVersion = u"1.2.3"_s;
    MeterReport m2 = meter(u"m2"_s,
        {check(u"mqtt"_s, CheckStatus::Skipped, {}, std::nullopt, {}, u"MQTT off"_s, 0)}, u"Meter 2"_s);
    m2.endpoint = u"[::1]:4060"_s;
    session.meters = {m1, m2, meter(u"m3"_s, {})};

    QBuffer buffer;
    QVERIFY(buffer.open(QIODevice::WriteOnly));
    const auto written = writeCommissioningCsv(session, buffer);
    QVERIFY2(written, qPrintable(written ? QString() : written.error().message));
    QCOMPARE(*written, 3);

    const QByteArray start
        = "12,\"Subestación Norte, bay 2\",\"Ana \"\"Ñ\"\" Pérez\",2026-11-24T14:35:00.000Z,";
    const QByteArray expected
        = "session_id,site,technician,started_utc,meter_id,meter_name,endpoint,serial_number,"
          "logical_device_name,firmware,check,status,value,unit,measured,explanation,"
          "checked_utc\r\n"
        + start
        + "m1,'=SUM(A1),127.0.0.1:4059,SN-001,KFM1000000000001,1.2.3,tcp,pass,12,ms,12 ms,connected,"
          "2026-11-24T14:35:01.250Z\r\n"
        + start
        + "m1,'=SUM(A1),127.0.0.1:4059,SN-001,KFM1000000000001,1.2.3,register:voltage_l1,warn,231.4,V,231.4 "
          "V,"
          "\"above 230 V ±10%,\nbut close\",2026-11-24T14:35:01.251Z\r\n"
        + start + "m2,Meter 2,[::1]:4060,,,,mqtt,skipped,,,,MQTT off,\r\n";
    QCOMPARE(buffer.data(), expected);
    QCOMPARE(commissioningCsvHeader() + "\r\n", expected.left(expected.indexOf('\n') + 1));
}

void tst_CommissioningTypes::csvValues_data()
{
    QTest::addColumn<std::optional<double>>("value");
    QTest::addColumn<QByteArray>("text");
    QTest::newRow("none") << std::optional<double>() << QByteArray();
    QTest::newRow("integer-valued") << std::optional<double>(600.0) << QByteArray("600");
    QTest::newRow("zero") << std::optional<double>(0.0) << QByteArray("0");
    QTest::newRow("scaled-reading") << std::optional<double>(230.1) << QByteArray("230.1");
    QTest::newRow("binary-noise") << std::optional<double>(0.1 + 0.2) << QByteArray("0.3");
    QTest::newRow("negative") << std::optional<double>(-12.5) << QByteArray("-12.5");
    QTest::newRow("fifteen-digits") << std::optional<double>(123456789.123456789)
                                    << QByteArray("123456789.123457");
    QTest::newRow("large") << std::optional<double>(1e20) << QByteArray("1e+20");
    QTest::newRow("not-a-number") << std::optional<double>(std::numeric_limits<double>::quiet_NaN())
                                  << QByteArray();
    QTest::newRow("infinite") << std::optional<double>(std::numeric_limits<double>::infinity())
                              << QByteArray();
}

void tst_CommissioningTypes::csvValues()
{
    QFETCH(std::optional<double>, value);
    QFETCH(QByteArray, text);
    Session session;
    session.meters.push_back(meter(u"m"_s, {check(u"clock"_s, CheckStatus::Pass, u"x"_s, value, u"s"_s)}));
    QBuffer buffer;
    QVERIFY(buffer.open(QIODevice::WriteOnly));
    QVERIFY(writeCommissioningCsv(session, buffer));
    const QList<QByteArray> rows = lines(buffer.data());
    QCOMPARE(rows.size(), 2);
    // value is the 13th column; no field before it holds a comma here.
    const QList<QByteArray> fields = rows[1].split(',');
    QCOMPARE(fields.size(), 17);
    QCOMPARE(fields[12], text);
    QCOMPARE(fields[13], QByteArray("s"));
}

void tst_CommissioningTypes::csvLocaleIndependent()
{
    const QLocale before;
    QLocale::setDefault(QLocale(QLocale::German, QLocale::Germany));
    Session session;
    session.info.startedMs = T0;
    session.meters.push_back(
        meter(u"m"_s, {check(u"register:frequency"_s, CheckStatus::Pass, u"49,98 Hz"_s, 49.98, u"Hz"_s)}));
    QBuffer buffer;
    QVERIFY(buffer.open(QIODevice::WriteOnly));
    const auto written = writeCommissioningCsv(session, buffer);
    QLocale::setDefault(before);
    QVERIFY(written);
    const QByteArray row = lines(buffer.data()).value(1);
    // The measured text keeps the run's own wording; the number column is always '.'.
    QVERIFY2(row.contains(",49.98,Hz,\"49,98 Hz\","), row.constData());
    QVERIFY2(row.contains("2026-11-24T14:35:01.250Z"), row.constData());
}

void tst_CommissioningTypes::csvManyRows()
{
    Session session;
    session.info.id = 7;
    // Enough rows to pass several 64 KiB chunks.
    for (int m = 0; m < 400; ++m) {
        std::vector<CheckResult> results;
        for (int c = 0; c < 15; ++c)
            results.push_back(check(u"register:k"_s + QString::number(c), CheckStatus::Pass, u"%1 V"_s.arg(c),
                c * 1.5, u"V"_s, u"within range"_s, T0 + c));
        session.meters.push_back(meter(u"meter-"_s + QString::number(m), std::move(results)));
    }
    QBuffer buffer;
    QVERIFY(buffer.open(QIODevice::WriteOnly));
    const auto written = writeCommissioningCsv(session, buffer);
    QVERIFY(written);
    QCOMPARE(*written, 6000);
    QVERIFY(buffer.data().size() > 4 * 64 * 1024);
    const QList<QByteArray> rows = lines(buffer.data());
    QCOMPARE(rows.size(), 6001);
    for (const QByteArray &row : rows)
        QVERIFY(row.endsWith('\r'));
    QVERIFY(rows.constLast().startsWith("7,,,,meter-399,Meter meter-399,"));
    QVERIFY(rows.constLast().contains(",register:k14,pass,21,V,14 V,within range,"));
}

void tst_CommissioningTypes::csvWriteFailure_data()
{
    QTest::addColumn<QString>("kind");
    QTest::newRow("closed-buffer") << u"closed"_s;
    QTest::newRow("file-opened-read-only") << u"read-only"_s;
    QTest::newRow("full-device") << u"dev-full"_s;
}

void tst_CommissioningTypes::csvWriteFailure()
{
    QFETCH(QString, kind);
    Session session;
    session.meters.push_back(meter(u"m"_s, {check(u"tcp"_s, CheckStatus::Pass, u"1 ms"_s, 1.0, u"ms"_s)}));
    QTemporaryDir dir;
    QVERIFY(dir.isValid());

    std::unique_ptr<QIODevice> device;
    QString fileName;
    if (kind == u"closed") {
        device = std::make_unique<QBuffer>();
    } else if (kind == u"read-only") {
        fileName = dir.filePath(u"report.csv"_s);
        QFile create(fileName);
        QVERIFY(create.open(QIODevice::WriteOnly));
        create.close();
        auto file = std::make_unique<QFile>(fileName);
        QVERIFY(file->open(QIODevice::ReadOnly));
        device = std::move(file);
    } else {
        fileName = u"/dev/full"_s;
        if (!QFile::exists(fileName))
            QSKIP("no /dev/full on this system");
        auto file = std::make_unique<QFile>(fileName);
        QVERIFY(file->open(QIODevice::WriteOnly));
        device = std::move(file);
    }
    const auto written = writeCommissioningCsv(session, *device);
    QVERIFY(!written);
    QCOMPARE(written.error().code, dlms::ErrorCode::IoError);
    const QString &message = written.error().message;
    QVERIFY2(message.contains(fileName.isEmpty() ? u"CSV output"_s : fileName), qPrintable(message));
    QVERIFY2(message.contains(u"write failed"_s), qPrintable(message));
}

QTEST_GUILESS_MAIN(tst_CommissioningTypes)
#include "tst_commissioningtypes.moc"
