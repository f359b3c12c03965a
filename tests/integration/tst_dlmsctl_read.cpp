#include "clitestsupport.h"

#include "obis.h"

#include <QtCore/QTemporaryFile>
#include <QtTest/QtTest>

#include <algorithm>
#include <cmath>
#include <initializer_list>

Q_DECLARE_METATYPE(sim::FaultConfig)

using namespace Qt::StringLiterals;
using namespace clitest;

namespace {

constexpr auto kVoltage = "1.0.32.7.0.255"_L1;
constexpr auto kSerial = "0.0.96.1.0.255"_L1;
constexpr auto kProfile = "1.0.99.1.0.255"_L1;
constexpr auto kMissing = "1.0.99.98.0.255"_L1; // in neither the well-known table nor the meter
const QByteArray kPassword = "12345678"_ba; // the simulator's default LLS secret

// What a simulated register must read, judged by its OBIS value groups C and D.
struct Expectation {
    QString unit;
    double min = -1e12;
    double max = 1e12;
    bool known = false;
};

Expectation expectationFor(const dlms::Obis &obis)
{
    const int c = obis[2];
    const int d = obis[3];
    const auto is = [c](std::initializer_list<int> list) {
        return std::find(list.begin(), list.end(), c) != list.end();
    };
    if (d == 7) {
        if (is({32, 52, 72}))
            return {u"V"_s, 225, 235, true};
        if (c == 14)
            return {u"Hz"_s, 49.9, 50.1, true};
        if (is({13, 33, 53, 73}))
            return {QString(), 0.9, 1.0, true};
        if (is({31, 51, 71, 91}))
            return {u"A"_s, 0, 1000, true};
        if (is({1, 2, 21, 22, 41, 42, 61, 62}))
            return {u"W"_s, 0, 1e7, true};
        if (is({3, 4}))
            return {u"var"_s, -1e7, 1e7, true};
        if (c == 9)
            return {u"VA"_s, 0, 1e7, true};
    }
    if (d == 8) {
        if (c == 1)
            return {u"Wh"_s, 1e-9, 1e15, true}; // import energy has grown since the meter was "installed"
        if (c == 2)
            return {u"Wh"_s, 0, 1e15, true};
        if (is({3, 4}))
            return {u"varh"_s, 0, 1e15, true};
        if (c == 9)
            return {u"VAh"_s, 0, 1e15, true};
    }
    return {};
}

QString passwordLeak(const QString &all, const QByteArray &password)
{
    for (const QString &form : {QString::fromLatin1(password), QString::fromLatin1(password.toHex()),
             QString::fromLatin1(password.toHex(' '))}) {
        if (all.contains(form, Qt::CaseInsensitive))
            return form;
    }
    return {};
}

struct ProfileCsv {
    QString header;
    QList<QDateTime> clocks;
    QList<double> energy;
    QString problem; // first malformed row, if any
};

ProfileCsv parseProfileCsv(const QString &out)
{
    ProfileCsv csv;
    const QStringList lines = out.split(u'\n', Qt::SkipEmptyParts);
    if (lines.isEmpty()) {
        csv.problem = u"no output"_s;
        return csv;
    }
    csv.header = lines.first();
    for (qsizetype i = 1; i < lines.size(); ++i) {
        const QStringList cells = lines.at(i).split(u',');
        bool ok = cells.size() == 2;
        const QDateTime clock = ok ? parseIsoWithOffset(cells.at(0)) : QDateTime();
        const double value = ok ? cells.at(1).toDouble(&ok) : 0;
        if (!ok || !clock.isValid()) {
            csv.problem = u"row %1: %2"_s.arg(i).arg(lines.at(i));
            return csv;
        }
        csv.clocks.append(clock);
        csv.energy.append(value);
    }
    return csv;
}

// Consecutive clocks `period` seconds apart and energy never falling; the first violation.
QString profileProblem(const ProfileCsv &csv, qint64 period)
{
    if (!csv.problem.isEmpty())
        return csv.problem;
    for (qsizetype i = 1; i < csv.clocks.size(); ++i) {
        if (csv.clocks.at(i - 1).secsTo(csv.clocks.at(i)) != period)
            return u"row %1: %2 after %3"_s.arg(i + 1).arg(
                csv.clocks.at(i).toString(Qt::ISODate), csv.clocks.at(i - 1).toString(Qt::ISODate));
        if (csv.energy.at(i) < csv.energy.at(i - 1))
            return u"row %1: energy %2 after %3"_s.arg(i + 1).arg(csv.energy.at(i)).arg(csv.energy.at(i - 1));
    }
    return {};
}

} // namespace

class tst_DlmsctlRead : public QObject {
    Q_OBJECT

    std::unique_ptr<sim::Simulator> m_wrapper;
    std::unique_ptr<sim::Simulator> m_hdlc;
    QStringList m_registers; // every register of the simulated meter, "OBIS" text

    sim::Simulator &simulator(const QString &transport)
    {
        return transport == u"hdlc" ? *m_hdlc : *m_wrapper;
    }

    static void addTransportRows()
    {
        QTest::addColumn<QString>("transport");
        QTest::newRow("wrapper") << u"wrapper"_s;
        QTest::newRow("hdlc") << u"hdlc"_s;
    }

    CliRun read(const QString &transport, const QStringList &args, int timeoutMs = 20000)
    {
        return runCli(QStringList {u"read"_s} + connectionArgs(simulator(transport)) + args, timeoutMs);
    }

    QStringList tenRegisters() const { return m_registers.mid(0, 10); }

private slots:
    void initTestCase()
    {
        // dlmsctl inherits a zone far from UTC, so "no offset means UTC" (and every other
        // time) cannot pass by accident on a host that runs on UTC. POSIX form: UTC+05:30.
        qputenv("TZ", "XYZ-5:30");
        m_wrapper = startSimulator(dlms::Transport::Wrapper);
        m_hdlc = startSimulator(dlms::Transport::Hdlc);
        QVERIFY(m_wrapper);
        QVERIFY(m_hdlc);
        for (const auto &object : m_wrapper->meter(0).objects()) {
            if (object.classId == 3 || object.classId == 4)
                m_registers.append(object.obis.toString());
        }
        QVERIFY2(m_registers.size() >= 10, qPrintable(m_registers.join(u", "_s)));
        QVERIFY(m_registers.contains(kVoltage));
    }

    void cleanup()
    {
        m_wrapper->setFaults(0, {});
        m_hdlc->setFaults(0, {});
    }

    void helpMentionsEveryOption()
    {
        const CliRun r = runCli({u"read"_s, u"--help"_s});
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        for (const char *option :
            {"--host", "--port", "--transport", "--client", "--server", "--physical", "--auth", "--password",
                "--password-file", "--timeout-ms", "--max-pdu", "--hdlc-max-info", "--hdlc-window", "--json",
                "--trace", "--stats", "--from", "--to", "--from-entry", "--to-entry"})
            QVERIFY2(r.out.contains(QLatin1StringView(option)), option);
    }

    void registersText_data() { addTransportRows(); }
    void registersText()
    {
        QFETCH(QString, transport);
        const CliRun r = read(transport, m_registers);
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        QCOMPARE(r.lines().size(), m_registers.size());
        for (const QString &obis : std::as_const(m_registers)) {
            const QString item = obis + u":2"_s;
            const QStringList cols = itemColumns(r.out, item);
            QVERIFY2(cols.size() == 3, qPrintable(item + u" in\n"_s + r.out));
            QVERIFY2(!cols.at(1).isEmpty(), qPrintable(cols.join(u'|')));
            const auto quantity = parseQuantity(cols.at(2));
            QVERIFY2(quantity, qPrintable(cols.join(u'|')));
            const Expectation expected = expectationFor(*dlms::Obis::parse(obis));
            if (!expected.known)
                continue;
            QVERIFY2(quantity->unit == expected.unit, qPrintable(cols.join(u'|')));
            QVERIFY2(quantity->value >= expected.min && quantity->value <= expected.max,
                qPrintable(cols.join(u'|')));
        }
    }

    void registersJson_data() { addTransportRows(); }
    void registersJson()
    {
        QFETCH(QString, transport);
        const CliRun r = read(transport, QStringList {u"--json"_s} + m_registers);
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        QString error;
        const QJsonObject doc = parseJsonObject(r.out, &error);
        QVERIFY2(error.isEmpty(), qPrintable(error + u'\n' + r.out));
        QCOMPARE(doc.value(u"host"_s).toString(), u"127.0.0.1"_s);
        QCOMPARE(doc.value(u"port"_s).toInt(), int(simulator(transport).port(0)));
        const QHash<QString, QJsonObject> items = jsonItems(doc);
        QCOMPARE(items.size(), m_registers.size());
        for (const QString &obis : std::as_const(m_registers)) {
            const QJsonObject item = items.value(obis + u":2"_s);
            const QString context = QString::fromUtf8(QJsonDocument(item).toJson(QJsonDocument::Compact));
            QVERIFY2(item.value(u"ok"_s).toBool(), qPrintable(obis + u' ' + context));
            QVERIFY2(item.value(u"class"_s).toInt() == 3 || item.value(u"class"_s).toInt() == 4,
                qPrintable(context));
            QCOMPARE(item.value(u"obis"_s).toString(), obis);
            QCOMPARE(item.value(u"attribute"_s).toInt(), 2);
            QVERIFY2(!item.value(u"name"_s).toString().isEmpty(), qPrintable(context));
            QVERIFY2(item.value(u"value"_s).isDouble() && item.value(u"raw"_s).isDouble()
                    && item.value(u"scaler"_s).isDouble() && item.value(u"unit"_s).isString()
                    && item.value(u"text"_s).isString(),
                qPrintable(context));
            const double value = item.value(u"value"_s).toDouble();
            const double scaled
                = item.value(u"raw"_s).toDouble() * std::pow(10.0, item.value(u"scaler"_s).toInt());
            QVERIFY2(std::abs(value - scaled) <= 1e-9 * std::max(1.0, std::abs(value)), qPrintable(context));
            const auto text = parseQuantity(item.value(u"text"_s).toString());
            QVERIFY2(text && std::abs(text->value - value) <= 1e-9 * std::max(1.0, std::abs(value)),
                qPrintable(context));
            QCOMPARE(text->unit, item.value(u"unit"_s).toString());
            const dlms::Obis code = *dlms::Obis::parse(obis);
            if (const dlms::WellKnownObject *known = dlms::findWellKnown(code); known && *known->telemetryKey)
                QCOMPARE(item.value(u"key"_s).toString(), QString::fromLatin1(known->telemetryKey));
            const Expectation expected = expectationFor(code);
            if (!expected.known)
                continue;
            QCOMPARE(item.value(u"unit"_s).toString(), expected.unit);
            QVERIFY2(value >= expected.min && value <= expected.max, qPrintable(context));
        }
    }

    void identityAndClock_data() { addTransportRows(); }
    void identityAndClock()
    {
        QFETCH(QString, transport);
        const sim::MeterModel &meter = simulator(transport).meter(0);
        const QStringList items {
            u"0.0.42.0.0.255"_s, QString(kSerial), u"1.0.0.2.0.255"_s, u"0.0.1.0.0.255"_s};
        const CliRun r = read(transport, items);
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        QCOMPARE(meter.serialNumber(), u"SIM00000001"_s);
        QCOMPARE(itemColumns(r.out, u"0.0.42.0.0.255:2"_s).value(2), meter.logicalDeviceName());
        QCOMPARE(itemColumns(r.out, kSerial + u":2"_s).value(2), u"SIM00000001"_s);
        QCOMPARE(itemColumns(r.out, u"1.0.0.2.0.255:2"_s).value(2), meter.firmwareVersion());
        const QString clockText = itemColumns(r.out, u"0.0.1.0.0.255:2"_s).value(2);
        const QDateTime clock = parseIsoWithOffset(clockText);
        QVERIFY2(clock.isValid(), qPrintable(r.out));
        // The meter keeps the host's clock; a generous bound keeps this free of timing.
        QVERIFY2(std::abs(clock.secsTo(QDateTime::currentDateTimeUtc())) < 600, qPrintable(clockText));

        const CliRun json = read(transport, QStringList {u"--json"_s} + items);
        QVERIFY2(json.exitCode == 0, qPrintable(json.describe()));
        const QHash<QString, QJsonObject> byItem = jsonItems(parseJsonObject(json.out));
        QCOMPARE(byItem.size(), items.size());
        const QJsonObject serial = byItem.value(kSerial + u":2"_s);
        QVERIFY(serial.value(u"ok"_s).toBool());
        QCOMPARE(serial.value(u"class"_s).toInt(), 1);
        // Value::toJson(): a visible-string as text, an octet-string as hex.
        const QString value = serial.value(u"value"_s).toString().remove(u' ');
        QVERIFY2(value == u"SIM00000001"_s
                || value.compare(QString::fromLatin1("SIM00000001"_ba.toHex()), Qt::CaseInsensitive) == 0,
            qPrintable(json.out));
        QCOMPARE(byItem.value(u"0.0.1.0.0.255:2"_s).value(u"class"_s).toInt(), 8);
    }

    void otherValues_data()
    {
        QTest::addColumn<QString>("item");
        QTest::addColumn<QString>("text"); // Value::toText(), or the string itself when printable
        QTest::addColumn<QJsonValue>("json"); // Value::toJson()
        QTest::newRow("unprintable-octet-string-as-hex")
            << u"15/0.0.40.0.0.255:1"_s << u"00 00 28 00 00 FF"_s << QJsonValue(u"0000280000FF"_s);
        QTest::newRow("scaler-unit-structure")
            << u"1.0.32.7.0.255:3"_s << u"{-1, 35}"_s << QJsonValue(QJsonArray {-1, 35});
        QTest::newRow("capture-period") << u"1.0.99.1.0.255:4"_s << u"900"_s << QJsonValue(900);
        QTest::newRow("entries-in-use") << u"1.0.99.1.0.255:7"_s << u"10000"_s << QJsonValue(10000);
    }
    void otherValues()
    {
        QFETCH(QString, item);
        QFETCH(QString, text);
        QFETCH(QJsonValue, json);
        const QString printed = item.section(u'/', -1);
        const CliRun r = read(u"wrapper"_s, {item});
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        QCOMPARE(itemColumns(r.out, printed).value(2), text);

        const CliRun j = read(u"wrapper"_s, {u"--json"_s, item});
        QVERIFY2(j.exitCode == 0, qPrintable(j.describe()));
        QJsonValue value = jsonItems(parseJsonObject(j.out)).value(printed).value(u"value"_s);
        if (value.isString()) // hex digits, however grouped
            value = value.toString().remove(u' ').toUpper();
        QVERIFY2(value == json, qPrintable(j.out));
    }

    void lowLevelSecurity_data()
    {
        QTest::addColumn<QString>("transport");
        QTest::addColumn<QString>("how"); // "option", "file"
        QTest::addColumn<QByteArray>("password");
        QTest::addColumn<int>("exitCode");
        for (const QString &transport : {u"wrapper"_s, u"hdlc"_s}) {
            const QByteArray t = transport.toLatin1();
            QTest::addRow("%s-password-option", t.constData()) << transport << u"option"_s << kPassword << 0;
            QTest::addRow("%s-password-file", t.constData()) << transport << u"file"_s << kPassword << 0;
            QTest::addRow("%s-wrong-password", t.constData())
                << transport << u"option"_s << "Wr0ngPass"_ba << 4;
            QTest::addRow("%s-password-file-crlf", t.constData())
                << transport << u"file-crlf"_s << kPassword << 0;
            QTest::addRow("%s-wrong-password-file", t.constData())
                << transport << u"file"_s << "Wr0ngPass"_ba << 4;
        }
    }
    void lowLevelSecurity()
    {
        QFETCH(QString, transport);
        QFETCH(QString, how);
        QFETCH(QByteArray, password);
        QFETCH(int, exitCode);
        QTemporaryFile file;
        QStringList args {u"--auth"_s, u"low"_s};
        if (how == u"file")
            args << u"--password-file"_s << writeTemp(file, password + "\nsecond line is ignored\n");
        else if (how == u"file-crlf")
            args << u"--password-file"_s << writeTemp(file, password + "\r\n");
        else
            args << u"--password"_s << QString::fromLatin1(password);
        for (const bool trace : {false, true}) {
            const CliRun r = read(transport,
                args + (trace ? QStringList {u"--trace"_s, u"--stats"_s} : QStringList {})
                    + QStringList {QString(kSerial)});
            QVERIFY2(r.exitCode == exitCode, qPrintable(r.describe()));
            if (exitCode == 0) {
                QCOMPARE(itemColumns(r.out, kSerial + u":2"_s).value(2), u"SIM00000001"_s);
            } else {
                QVERIFY2(r.err.contains(u"dlmsctl: association rejected: "_s)
                        && r.err.contains(u"authentication-failure"_s),
                    qPrintable(r.describe()));
                QVERIFY2(r.out.isEmpty(), qPrintable(r.describe()));
            }
            if (trace)
                QVERIFY2(r.err.contains(u"AARQ"_s), qPrintable(r.describe()));
            const QString leak = passwordLeak(r.out + r.err, password);
            QVERIFY2(leak.isEmpty(), qPrintable(u"password leaked as "_s + leak + u'\n' + r.describe()));
        }
    }

    void usageErrors_data()
    {
        QTest::addColumn<QStringList>("args");
        const quint16 closed = unusedPort();
        // Each is rejected before connecting: a connection attempt would exit 3, not 2.
        const QStringList host {u"--host"_s, u"127.0.0.1"_s, u"--port"_s, QString::number(closed)};
        const QString voltage = kVoltage;
        QTest::newRow("no-host") << QStringList {u"--port"_s, QString::number(closed), voltage};
        QTest::newRow("no-items") << host;
        QTest::newRow("bad-obis-group") << host + QStringList {u"1.0.32.7.0.256"_s};
        QTest::newRow("bad-item-text") << host + QStringList {u"voltage"_s};
        QTest::newRow("bad-class") << host + QStringList {u"x/1.0.32.7.0.255"_s};
        QTest::newRow("auth-low-without-password") << host + QStringList {u"--auth"_s, u"low"_s, voltage};
        QTest::newRow("unknown-auth") << host + QStringList {u"--auth"_s, u"high"_s, voltage};
        QTest::newRow("unknown-option") << host + QStringList {u"--frobnicate"_s, voltage};
        QTest::newRow("bad-transport") << host + QStringList {u"--transport"_s, u"serial"_s, voltage};
        QTest::newRow("bad-port") << QStringList {
            u"--host"_s, u"127.0.0.1"_s, u"--port"_s, u"port"_s, voltage};
        QTest::newRow("bad-timeout") << host + QStringList {u"--timeout-ms"_s, u"soon"_s, voltage};
        QTest::newRow("bad-from-time") << host
                + QStringList {
                    u"--from"_s, u"yesterday"_s, u"--to"_s, u"2026-11-23T10:00"_s, QString(kProfile)};
        QTest::newRow("port-zero") << QStringList {u"--host"_s, u"127.0.0.1"_s, u"--port"_s, u"0"_s, voltage};
        QTest::newRow("from-without-to")
            << host + QStringList {u"--from"_s, u"2026-11-23T10:00"_s, QString(kProfile)};
        QTest::newRow("to-before-from") << host
                + QStringList {u"--from"_s, u"2026-11-23T10:00Z"_s, u"--to"_s, u"2026-11-22T10:00Z"_s,
                    QString(kProfile)};
        QTest::newRow("to-entry-before-from-entry")
            << host + QStringList {u"--from-entry"_s, u"10"_s, u"--to-entry"_s, u"5"_s, QString(kProfile)};
        QTest::newRow("two-profile-items") << host + QStringList {QString(kProfile), u"7/"_s + kProfile};
        QTest::newRow("bad-entry-number") << host
                + QStringList {u"--from-entry"_s, u"first"_s, u"--to-entry"_s, u"10"_s, QString(kProfile)};
        QTest::newRow("range-without-profile-item") << host
                + QStringList {u"--from"_s, u"2026-11-23T10:00"_s, u"--to"_s, u"2026-11-23T11:00"_s, voltage};
        QTest::newRow("entries-without-profile-item") << host
                + QStringList {u"--from-entry"_s, u"1"_s, u"--to-entry"_s, u"5"_s, voltage, QString(kSerial)};
        QTest::newRow("empty-password-file")
            << host + QStringList {u"--auth"_s, u"low"_s, u"--password-file"_s, u"EMPTY"_s, voltage};
        QTest::newRow("missing-password-file") << host
                + QStringList {u"--auth"_s, u"low"_s, u"--password-file"_s, u"/nonexistent/pw"_s, voltage};
    }
    void usageErrors()
    {
        QFETCH(QStringList, args);
        QTemporaryFile empty;
        if (const qsizetype at = args.indexOf(u"EMPTY"_s); at >= 0)
            args[at] = writeTemp(empty, {});
        const CliRun r = runCli(QStringList {u"read"_s} + args);
        QVERIFY2(r.exitCode == 2, qPrintable(r.describe()));
        QVERIFY2(!r.err.contains(u"unknown command"_s), qPrintable(r.describe()));
        QVERIFY2(
            r.err.startsWith(u"dlmsctl: "_s) || r.err.contains(u"\ndlmsctl: "_s), qPrintable(r.describe()));
        QVERIFY2(r.out.isEmpty(), qPrintable(r.describe()));
    }

    void connectionRefused_data() { addTransportRows(); }
    void connectionRefused()
    {
        QFETCH(QString, transport);
        const quint16 closed = unusedPort();
        QVERIFY(closed != 0);
        const CliRun r
            = runCli(QStringList {u"read"_s} + connectionArgs(closed, transport) + QStringList {kVoltage});
        QVERIFY2(r.exitCode == 3, qPrintable(r.describe()));
        QVERIFY2(r.err.contains(u"dlmsctl: "_s) && r.err.contains(u"127.0.0.1:%1"_s.arg(closed)),
            qPrintable(r.describe()));
        QVERIFY2(r.out.isEmpty(), qPrintable(r.describe()));
    }

    void objectUndefined_data()
    {
        QTest::addColumn<QString>("transport");
        QTest::addColumn<QString>("item");
        for (const QString &transport : {u"wrapper"_s, u"hdlc"_s}) {
            const QByteArray t = transport.toLatin1();
            // Not well known: the class is looked up in the meter's object list, and is not there.
            QTest::addRow("%s-class-from-object-list", t.constData()) << transport << QString(kMissing);
            // Class given: the meter itself answers object-undefined.
            QTest::addRow("%s-class-given", t.constData()) << transport << u"3/"_s + kMissing;
        }
    }
    void objectUndefined()
    {
        QFETCH(QString, transport);
        QFETCH(QString, item);
        const CliRun r = read(transport, {kVoltage, item, QString(kSerial)});
        QVERIFY2(r.exitCode == 5, qPrintable(r.describe()));
        QCOMPARE(itemColumns(r.out, kMissing + u":2"_s),
            (QStringList {kMissing + u":2"_s, u"error: object-undefined"_s}));
        QCOMPARE(parseQuantity(itemColumns(r.out, kVoltage + u":2"_s).value(2)).value_or(Quantity {}).unit,
            u"V"_s);
        QCOMPARE(itemColumns(r.out, kSerial + u":2"_s).value(2), u"SIM00000001"_s);

        // The object list is read once for all items that need it, and only when one does.
        const QString secondMissing
            = item.section(u'/', 0, -2, QString::SectionIncludeTrailingSep) + u"1.0.99.97.0.255"_s;
        const CliRun traced = read(transport, {u"--trace"_s, kVoltage, item, secondMissing});
        QVERIFY2(traced.exitCode == 5, qPrintable(traced.describe()));
        QCOMPARE(itemColumns(traced.out, u"1.0.99.97.0.255:2"_s).value(1), u"error: object-undefined"_s);
        const qsizetype listReads = traced.err.count(u"0.0.40.0.0.255 attr=2"_s);
        QVERIFY2(listReads == (item.contains(u'/') ? 0 : 1), qPrintable(traced.err));

        const CliRun json = read(transport, {u"--json"_s, kVoltage, item});
        QVERIFY2(json.exitCode == 5, qPrintable(json.describe()));
        const QHash<QString, QJsonObject> items = jsonItems(parseJsonObject(json.out));
        const QJsonObject failed = items.value(kMissing + u":2"_s);
        QVERIFY2(failed.contains(u"ok"_s) && !failed.value(u"ok"_s).toBool(), qPrintable(json.out));
        QCOMPARE(failed.value(u"error"_s).toString(), u"object-undefined"_s);
        QVERIFY2(items.value(kVoltage + u":2"_s).value(u"ok"_s).toBool(), qPrintable(json.out));
    }

    void tenRegistersInOneRequest_data() { addTransportRows(); }
    void tenRegistersInOneRequest()
    {
        QFETCH(QString, transport);
        const CliRun r = read(transport, QStringList {u"--stats"_s} + tenRegisters());
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        QCOMPARE(r.lines().size(), 10);
        QVERIFY2(!r.out.contains(u"stats:"_s), qPrintable(r.describe()));
        const QHash<QString, qint64> stats = parseStats(r.err);
        for (const QString &key : statsKeys())
            QVERIFY2(stats.contains(key), qPrintable(key + u" missing: "_s + r.err));
        // AARQ + one GET-with-list + RLRQ.
        QCOMPARE(stats.value(u"requests"_s), qint64(3));
        QCOMPARE(stats.value(u"responses"_s), qint64(3));
        QVERIFY(stats.value(u"bytes_sent"_s) > 0);
        QVERIFY(stats.value(u"bytes_received"_s) > stats.value(u"bytes_sent"_s) / 4);
        QVERIFY(stats.value(u"frames_sent"_s) >= 3);
        QVERIFY(stats.value(u"frames_received"_s) >= 3);
    }

    void withoutMultipleReferences_data() { addTransportRows(); }
    void withoutMultipleReferences()
    {
        QFETCH(QString, transport);
        sim::MeterSettings settings;
        settings.multipleReferences = false;
        const auto single = startSimulator(transportFromName(transport), settings);
        QVERIFY(single);
        const CliRun r
            = runCli(QStringList {u"read"_s, u"--stats"_s} + connectionArgs(*single) + tenRegisters());
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        QCOMPARE(r.lines().size(), 10);
        for (const QString &obis : tenRegisters())
            QVERIFY2(parseQuantity(itemColumns(r.out, obis + u":2"_s).value(2)), qPrintable(r.out));
        // One GET per attribute (value and scaler_unit of each register), between AARQ and RLRQ.
        const QHash<QString, qint64> stats = parseStats(r.err);
        QVERIFY2(stats.value(u"requests"_s) > 3, qPrintable(r.err));
        QCOMPARE(stats.value(u"requests"_s), qint64(2 + 2 * 10));
        QCOMPARE(stats.value(u"responses"_s), stats.value(u"requests"_s));
    }

    void accessResults_data()
    {
        QTest::addColumn<QString>("item");
        QTest::addColumn<QString>("printed"); // a class other than the well-known one is shown
        QTest::addColumn<QString>("result");
        // The association object's attribute 7 is not readable without authentication.
        QTest::newRow("read-write-denied")
            << u"15/0.0.40.0.0.255:7"_s << u"0.0.40.0.0.255:7"_s << u"read-write-denied"_s;
        QTest::newRow("register-read-as-extended-register")
            << u"4/1.0.32.7.0.255"_s << u"4/1.0.32.7.0.255:2"_s << u"object-class-inconsistent"_s;
        QTest::newRow("data-read-as-register")
            << u"3/0.0.96.1.0.255"_s << u"3/0.0.96.1.0.255:2"_s << u"object-class-inconsistent"_s;
        QTest::newRow("attribute-beyond-class")
            << u"1.0.32.7.0.255:9"_s << u"1.0.32.7.0.255:9"_s << u"object-undefined"_s;
    }
    void accessResults()
    {
        QFETCH(QString, item);
        QFETCH(QString, printed);
        QFETCH(QString, result);
        // The logical device name stands for the items that still succeed.
        const CliRun r = read(u"wrapper"_s, {item, u"0.0.42.0.0.255"_s});
        QVERIFY2(r.exitCode == 5, qPrintable(r.describe()));
        QCOMPARE(itemColumns(r.out, printed), (QStringList {printed, u"error: "_s + result}));
        QCOMPARE(itemColumns(r.out, u"0.0.42.0.0.255:2"_s).value(2), m_wrapper->meter(0).logicalDeviceName());
        QVERIFY2(r.err.contains(u"dlmsctl: "_s) && r.err.contains(result), qPrintable(r.describe()));
    }

    void listSplitsToFitServerPdu()
    {
        sim::MeterSettings settings;
        settings.maxPduSize = 256;
        const auto small = startSimulator(dlms::Transport::Wrapper, settings);
        QVERIFY(small);
        const CliRun r = runCli(
            QStringList {u"read"_s, u"--stats"_s, u"--trace"_s} + connectionArgs(*small) + m_registers);
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        for (const QString &obis : std::as_const(m_registers))
            QVERIFY2(
                parseQuantity(itemColumns(r.out, obis + u":2"_s).value(2)), qPrintable(obis + u'\n' + r.out));
        // Two attributes per register, 10 bytes per attribute descriptor: more than one GET is
        // needed, each within the meter's 256 bytes, and no more GETs than that needs.
        static const QRegularExpression sent(u"^\\S+ > (\\d+) B  00 01 00 10 00 01 [0-9A-F ]+ C0 03"_s);
        qsizetype listRequests = 0;
        for (const QString &line : r.errLines()) {
            if (const auto m = sent.match(line); m.hasMatch()) {
                ++listRequests;
                QVERIFY2(m.captured(1).toInt() - 8 <= 256, qPrintable(line));
            }
        }
        const qsizetype descriptorBytes = m_registers.size() * 2 * 10;
        const qsizetype minimum = (descriptorBytes + 256 - 8) / (256 - 8);
        QVERIFY2(listRequests >= 2 && listRequests <= minimum, qPrintable(r.err));
        QCOMPARE(parseStats(r.err).value(u"requests"_s), qint64(2 + listRequests));
    }

    void requestTimeoutAfterAssociation_data()
    {
        QTest::addColumn<QString>("transport");
        QTest::addColumn<bool>("drop");
        for (const char *transport : {"wrapper", "hdlc"}) {
            QTest::addRow("%s-silent-after-aare", transport) << QString::fromLatin1(transport) << false;
            QTest::addRow("%s-dropped-after-aare", transport) << QString::fromLatin1(transport) << true;
        }
    }
    void requestTimeoutAfterAssociation()
    {
        QFETCH(QString, transport);
        QFETCH(bool, drop);
        // The meter goes quiet (or hangs up) once the association is accepted, so it is the
        // GET that times out or is lost, not the connection or the association.
        sim::Simulator &meter = simulator(transport);
        sim::FaultConfig faults;
        faults.silent = !drop;
        faults.dropMidFrame = drop;
        const auto connection = connect(
            &meter, &sim::Simulator::associationChanged, this, [&meter, faults](int index, bool associated) {
                if (associated)
                    meter.setFaults(index, faults);
            });
        const CliRun r = read(transport, {u"--timeout-ms"_s, u"500"_s, kVoltage});
        disconnect(connection);
        QVERIFY2(r.exitCode == 3, qPrintable(r.describe()));
        QVERIFY2(r.err.contains(u"127.0.0.1:%1"_s.arg(meter.port(0))), qPrintable(r.describe()));
        QVERIFY2(r.err.contains(drop ? u"lost"_s : u"timed out"_s), qPrintable(r.describe()));
        QVERIFY2(!r.err.contains(u"association"_s), qPrintable(r.describe()));
    }

    void profileWhole_data() { addTransportRows(); }
    void profileWhole()
    {
        QFETCH(QString, transport);
        const quint32 rows = simulator(transport).meter(0).settings().profileRows;
        QCOMPARE(rows, 10000u);
        const CliRun r = read(transport, {kProfile});
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        const ProfileCsv csv = parseProfileCsv(r.out);
        QCOMPARE(csv.header, u"clock,1.0.1.8.0.255 [Wh]"_s);
        QCOMPARE(csv.clocks.size(), qsizetype(rows));
        const QString problem = profileProblem(csv, 900);
        QVERIFY2(problem.isEmpty(), qPrintable(problem));
        QVERIFY(csv.energy.first() > 0);
        // Rows end at the current period.
        const qint64 age = csv.clocks.last().secsTo(QDateTime::currentDateTimeUtc());
        QVERIFY2(age >= -60 && age < 900 + 600, qPrintable(csv.clocks.last().toString(Qt::ISODate)));
    }

    void profileRange_data()
    {
        QTest::addColumn<QString>("transport");
        QTest::addColumn<int>("offsetMinutes"); // how --from/--to are written
        QTest::addColumn<bool>("writeOffset");
        QTest::newRow("wrapper-utc-z") << u"wrapper"_s << 0 << true;
        QTest::newRow("wrapper-plus-one-hour") << u"wrapper"_s << 60 << true;
        QTest::newRow("wrapper-minus-five-hours") << u"wrapper"_s << -300 << true;
        QTest::newRow("wrapper-no-offset-is-utc") << u"wrapper"_s << 0 << false;
        QTest::newRow("hdlc-utc-z") << u"hdlc"_s << 0 << true;
    }
    void profileRange()
    {
        QFETCH(QString, transport);
        QFETCH(int, offsetMinutes);
        QFETCH(bool, writeOffset);
        QDateTime to = QDateTime::currentDateTimeUtc();
        to = to.addSecs(-(to.toSecsSinceEpoch() % 60)).addMSecs(-to.time().msec());
        const QDateTime from = to.addSecs(-24 * 3600);
        const auto format = [&](const QDateTime &t) -> QString {
            if (!writeOffset)
                return t.toString(u"yyyy-MM-ddTHH:mm"_s);
            const QDateTime local = t.toOffsetFromUtc(offsetMinutes * 60);
            const QString suffix
                = offsetMinutes == 0 ? u"Z"_s : local.timeZoneAbbreviation().mid(3); // "UTC+01:00"
            return local.toString(u"yyyy-MM-ddTHH:mm"_s) + suffix;
        };
        const QString fromText = format(from);
        const QString toText = format(to);
        QVERIFY2(!writeOffset || offsetMinutes == 0
                || fromText.endsWith(offsetMinutes > 0 ? u"+01:00"_s : u"-05:00"_s),
            qPrintable(fromText));
        const CliRun r = read(transport, {u"--from"_s, fromText, u"--to"_s, toText, kProfile});
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        const ProfileCsv csv = parseProfileCsv(r.out);
        QVERIFY2(csv.clocks.size() == 96 || csv.clocks.size() == 97,
            qPrintable(
                u"%1 rows for %2 .. %3\n"_s.arg(csv.clocks.size()).arg(fromText, toText) + r.out.left(500)));
        QVERIFY2(profileProblem(csv, 900).isEmpty(), qPrintable(profileProblem(csv, 900)));
        QVERIFY2(csv.clocks.first() >= from && csv.clocks.last() <= to,
            qPrintable(csv.clocks.first().toString(Qt::ISODate) + u" .. "_s
                + csv.clocks.last().toString(Qt::ISODate)));
    }

    void profileRangeBeforeBufferIsEmpty()
    {
        // The buffer reaches back 10,000 quarter-hours (about 104 days); 2020 is long before it.
        const CliRun r = read(u"wrapper"_s,
            {u"--from"_s, u"2020-01-01T00:00Z"_s, u"--to"_s, u"2020-01-02T00:00Z"_s, QString(kProfile)});
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        QCOMPARE(r.lines(), QStringList {u"clock,1.0.1.8.0.255 [Wh]"_s});
    }

    void profileEntries_data()
    {
        QTest::addColumn<QString>("transport");
        QTest::addColumn<int>("fromEntry");
        QTest::addColumn<int>("toEntry");
        QTest::addColumn<int>("rows");
        QTest::newRow("wrapper-first-ten") << u"wrapper"_s << 1 << 10 << 10;
        QTest::newRow("hdlc-first-ten") << u"hdlc"_s << 1 << 10 << 10;
        QTest::newRow("wrapper-to-zero-means-last") << u"wrapper"_s << 9995 << 0 << 6;
        QTest::newRow("wrapper-single-entry") << u"wrapper"_s << 5000 << 5000 << 1;
    }
    void profileEntries()
    {
        QFETCH(QString, transport);
        QFETCH(int, fromEntry);
        QFETCH(int, toEntry);
        QFETCH(int, rows);
        const CliRun r = read(transport,
            {u"--from-entry"_s, QString::number(fromEntry), u"--to-entry"_s, QString::number(toEntry),
                kProfile});
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        const ProfileCsv csv = parseProfileCsv(r.out);
        QCOMPARE(csv.header, u"clock,1.0.1.8.0.255 [Wh]"_s);
        QCOMPARE(csv.clocks.size(), qsizetype(rows));
        QVERIFY2(profileProblem(csv, 900).isEmpty(), qPrintable(profileProblem(csv, 900)));
        // Entry 10,000 is the current period; entry N lies (10,000 - N) periods before it.
        const QDateTime now = QDateTime::currentDateTimeUtc();
        const qint64 expectedAge = qint64(10000 - fromEntry) * 900;
        const qint64 age = csv.clocks.first().secsTo(now);
        QVERIFY2(age >= expectedAge - 60 && age < expectedAge + 900 + 600,
            qPrintable(csv.clocks.first().toString(Qt::ISODate)));
    }

    void profileJson()
    {
        const CliRun r
            = read(u"wrapper"_s, {u"--json"_s, u"--from-entry"_s, u"1"_s, u"--to-entry"_s, u"5"_s, kProfile});
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        QString error;
        const QJsonObject doc = parseJsonObject(r.out, &error);
        QVERIFY2(error.isEmpty(), qPrintable(error + u'\n' + r.out));
        const QJsonObject item = jsonItems(doc).value(kProfile + u":2"_s);
        QVERIFY2(item.value(u"ok"_s).toBool(), qPrintable(r.out));
        QCOMPARE(item.value(u"class"_s).toInt(), 7);
        const QJsonObject profile = item.value(u"profile"_s).toObject();
        const QJsonArray cols = profile.value(u"columns"_s).toArray();
        QCOMPARE(cols.size(), 2);
        QCOMPARE(cols.at(0).toString(), u"clock"_s);
        QVERIFY2(cols.at(1).toString().startsWith(u"1.0.1.8.0.255"_s), qPrintable(r.out));
        const QJsonArray rows = profile.value(u"rows"_s).toArray();
        QCOMPARE(rows.size(), 5);
        QDateTime previous;
        for (const QJsonValue &row : rows) {
            const QJsonArray cells = row.toArray();
            QCOMPARE(cells.size(), 2);
            const QDateTime clock = parseIsoWithOffset(cells.at(0).toString());
            QVERIFY2(clock.isValid(), qPrintable(r.out));
            QVERIFY(cells.at(1).isDouble());
            QVERIFY(cells.at(1).toDouble() > 0);
            if (previous.isValid())
                QCOMPARE(previous.secsTo(clock), qint64(900));
            previous = clock;
        }
    }

    void itemForms_data()
    {
        QTest::addColumn<QString>("item");
        QTest::addColumn<QString>("expected");
        QTest::addColumn<int>("classId");
        QTest::newRow("iec-with-f") << u"1-0:32.7.0*255"_s << u"1.0.32.7.0.255:2"_s << 3;
        QTest::newRow("iec-five-groups") << u"1-0:32.7.0"_s << u"1.0.32.7.0.255:2"_s << 3;
        QTest::newRow("class-and-attribute") << u"3/1.0.32.7.0.255:3"_s << u"1.0.32.7.0.255:3"_s << 3;
        QTest::newRow("dotted-with-attribute") << u"1.0.32.7.0.255:2"_s << u"1.0.32.7.0.255:2"_s << 3;
        QTest::newRow("dotted-no-attribute") << u"1.0.32.7.0.255"_s << u"1.0.32.7.0.255:2"_s << 3;
        QTest::newRow("data-class-given") << u"1/0.0.96.1.0.255:2"_s << u"0.0.96.1.0.255:2"_s << 1;
    }
    void itemForms()
    {
        QFETCH(QString, item);
        QFETCH(QString, expected);
        QFETCH(int, classId);
        const CliRun json = read(u"wrapper"_s, {u"--json"_s, item});
        QVERIFY2(json.exitCode == 0, qPrintable(json.describe()));
        const QJsonObject got = jsonItems(parseJsonObject(json.out)).value(expected);
        QVERIFY2(got.value(u"ok"_s).toBool(), qPrintable(json.out));
        QCOMPARE(got.value(u"class"_s).toInt(), classId);
        QCOMPARE(got.value(u"attribute"_s).toInt(), expected.section(u':', 1).toInt());

        const CliRun text = read(u"wrapper"_s, {item});
        QVERIFY2(text.exitCode == 0, qPrintable(text.describe()));
        const QStringList cols = itemColumns(text.out, expected);
        QVERIFY2(cols.size() >= 2, qPrintable(text.out));
        if (expected == u"1.0.32.7.0.255:2")
            QCOMPARE(parseQuantity(cols.last()).value_or(Quantity {}).unit, u"V"_s);
    }

    void faults_data()
    {
        QTest::addColumn<QString>("transport");
        QTest::addColumn<sim::FaultConfig>("faults");
        QTest::addColumn<int>("timeoutMs");
        QTest::addColumn<int>("exitCode");
        QTest::addColumn<QString>("message"); // on stderr
        for (const QString &transport : {u"wrapper"_s, u"hdlc"_s}) {
            const QByteArray t = transport.toLatin1();
            sim::FaultConfig f;
            f.latencyMs = 50;
            QTest::addRow("%s-latency-below-timeout", t.constData())
                << transport << f << 5000 << 0 << QString();
            f = {};
            f.latencyMs = 1500;
            QTest::addRow("%s-latency-above-timeout", t.constData())
                << transport << f << 400 << 3 << u"127.0.0.1:"_s;
            f = {};
            f.dropMidFrame = true;
            QTest::addRow("%s-drop-mid-frame", t.constData())
                << transport << f << 5000 << 3 << u"127.0.0.1:"_s;
            f = {};
            f.garbageBytes = 7;
            QTest::addRow("%s-garbage-recovered", t.constData()) << transport << f << 5000 << 0 << QString();
            f = {};
            f.drip = true;
            QTest::addRow("%s-drip", t.constData()) << transport << f << 5000 << 0 << QString();
            f = {};
            f.rejectAssociation = true;
            QTest::addRow("%s-reject-association", t.constData())
                << transport << f << 5000 << 4 << u"association rejected"_s;
            f = {};
            f.exceptionResponses = true;
            QTest::addRow("%s-exception-responses", t.constData())
                << transport << f << 5000 << 5 << QString();
            f = {};
            f.silent = true;
            QTest::addRow("%s-silent", t.constData()) << transport << f << 400 << 3 << u"127.0.0.1:"_s;
        }
    }
    void faults()
    {
        QFETCH(QString, transport);
        QFETCH(sim::FaultConfig, faults);
        QFETCH(int, timeoutMs);
        QFETCH(int, exitCode);
        QFETCH(QString, message);
        simulator(transport).setFaults(0, faults);
        const CliRun r
            = read(transport, {u"--timeout-ms"_s, QString::number(timeoutMs), kVoltage, QString(kSerial)});
        QVERIFY2(r.exitCode == exitCode, qPrintable(r.describe()));
        if (exitCode == 0) {
            QCOMPARE(itemColumns(r.out, kSerial + u":2"_s).value(2), u"SIM00000001"_s);
            QCOMPARE(
                parseQuantity(itemColumns(r.out, kVoltage + u":2"_s).value(2)).value_or(Quantity {}).unit,
                u"V"_s);
            return;
        }
        QVERIFY2(r.err.contains(u"dlmsctl: "_s), qPrintable(r.describe()));
        if (message == u"127.0.0.1:")
            message += QString::number(simulator(transport).port(0));
        QVERIFY2(r.err.contains(message), qPrintable(message + u" expected in\n"_s + r.describe()));
        if (exitCode == 5) {
            // Every item of the refused request is reported as failed, none with a value.
            for (const QString &item : {QString(kVoltage + u":2"_s), QString(kSerial + u":2"_s)}) {
                const QStringList cols = itemColumns(r.out, item);
                QVERIFY2(cols.size() == 2 && cols.at(1).startsWith(u"error: "_s), qPrintable(r.describe()));
            }
        }
    }

    void trace_data() { addTransportRows(); }
    void trace()
    {
        QFETCH(QString, transport);
        const CliRun r
            = read(transport, {u"--trace"_s, u"--stats"_s, u"--json"_s, kVoltage, QString(kSerial)});
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        QString error;
        const QJsonObject doc = parseJsonObject(r.out, &error);
        QVERIFY2(error.isEmpty(), qPrintable(error + u'\n' + r.out));
        QCOMPARE(jsonItems(doc).size(), 2);

        static const QRegularExpression frameLine(
            u"^\\d\\d:\\d\\d:\\d\\d\\.\\d{3} ([<>]) (\\d+) B  ([0-9A-F*]{2}( [0-9A-F*]{2})*)$"_s);
        const QStringList lines = r.errLines();
        qint64 sent = 0;
        qint64 received = 0;
        qint64 bytesSent = 0;
        qint64 bytesReceived = 0;
        QString decodes;
        for (qsizetype i = 0; i < lines.size(); ++i) {
            const auto m = frameLine.match(lines.at(i));
            if (!m.hasMatch())
                continue;
            // The byte count agrees with the hex (masked or not, every byte is shown).
            QCOMPARE(m.captured(3).split(u' ').size(), qsizetype(m.captured(2).toInt()));
            (m.captured(1) == u">" ? sent : received)++;
            (m.captured(1) == u">" ? bytesSent : bytesReceived) += m.captured(2).toInt();
            QVERIFY2(i + 1 < lines.size() && lines.at(i + 1).startsWith(u' ')
                    && !lines.at(i + 1).trimmed().isEmpty(),
                qPrintable(r.err));
            decodes += lines.at(i + 1) + u'\n';
        }
        QVERIFY2(sent >= 3 && received >= 3, qPrintable(r.err));
        for (const char *expected : {"AARQ", "AARE", "GET-Request", "GET-Response", "RLRQ", "RLRE"})
            QVERIFY2(decodes.contains(QLatin1StringView(expected)),
                qPrintable(QLatin1StringView(expected) + u" in\n"_s + r.err));
        if (transport == u"hdlc")
            QVERIFY2(decodes.contains(u"SNRM"_s) && decodes.contains(u"UA"_s), qPrintable(r.err));

        // The trace and the statistics describe the same bytes and frames.
        const QHash<QString, qint64> stats = parseStats(r.err);
        QCOMPARE(stats.value(u"frames_sent"_s, -1), sent);
        QCOMPARE(stats.value(u"frames_received"_s, -1), received);
        QCOMPARE(stats.value(u"bytes_sent"_s, -1), bytesSent);
        QCOMPARE(stats.value(u"bytes_received"_s, -1), bytesReceived);
        QVERIFY2(r.errLines().last().startsWith(u"stats: "_s), qPrintable(r.err));
    }

    // --trace decodes the raw socket bytes; only the decoder's positional mask hides the secret.
    // The passwords hold 0x2A ('*') on purpose, and --max-pdu 10794 (0x2A2A) puts the same byte
    // into the AARQ where it is no secret: it must print as 2A. HDLC with 32-byte information
    // fields splits the AARQ, and the secret, over two I frames.
    void traceMasksOnlyTheSecret_data()
    {
        QTest::addColumn<QString>("transport");
        QTest::addColumn<QByteArray>("password");
        QTest::addColumn<bool>("fromFile");
        for (const QString &transport : {u"wrapper"_s, u"hdlc"_s}) {
            const QByteArray t = transport.toLatin1();
            QTest::addRow("%s-default-password", t.constData()) << transport << kPassword << false;
            QTest::addRow("%s-password-with-stars", t.constData()) << transport << "ab*12*cd"_ba << false;
            QTest::addRow("%s-binary-password-file", t.constData())
                << transport << QByteArray("\x2A\x01pa*s\xFFw\x7E\x2A", 10) << true;
        }
    }
    void traceMasksOnlyTheSecret()
    {
        QFETCH(QString, transport);
        QFETCH(QByteArray, password);
        QFETCH(bool, fromFile);
        sim::MeterSettings meter;
        meter.password = password;
        const auto simulator = startSimulator(transportFromName(transport), meter);
        QVERIFY(simulator);
        QTemporaryFile file;
        QStringList args = QStringList {u"read"_s} + connectionArgs(*simulator)
            + QStringList {u"--trace"_s, u"--stats"_s, u"--auth"_s, u"low"_s, u"--max-pdu"_s, u"10794"_s,
                u"--hdlc-max-info"_s, u"32"_s};
        if (fromFile)
            args << u"--password-file"_s << writeTemp(file, password + "\n");
        else
            args << u"--password"_s << QString::fromLatin1(password);
        args << QString(kSerial);
        const CliRun r = runCli(args);
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        QCOMPARE(itemColumns(r.out, kSerial + u":2"_s).value(2), u"SIM00000001"_s);

        // Not in clear, not in hex, and no three consecutive secret bytes in any frame's hex.
        const QString leak = passwordLeak(r.out + r.err, password);
        QVERIFY2(leak.isEmpty(), qPrintable(u"password leaked as "_s + leak + u'\n' + r.describe()));
        for (qsizetype i = 0; i + 3 <= password.size(); ++i) {
            const QString window = QString::fromLatin1(password.mid(i, 3).toHex(' ').toUpper());
            QVERIFY2(!r.err.contains(window), qPrintable(window + u" in\n"_s + r.err));
        }

        static const QRegularExpression frameLine(
            u"^\\d\\d:\\d\\d:\\d\\d\\.\\d{3} ([<>]) (\\d+) B  ([0-9A-F*]{2}( [0-9A-F*]{2})*)$"_s);
        const QStringList lines = r.errLines();
        QString aarqHex;
        int aarqFrames = 0;
        int aarqDecodes = 0;
        int aareDecodes = 0;
        int frames = 0;
        for (qsizetype i = 0; i < lines.size(); ++i) {
            QVERIFY2(!lines.at(i).trimmed().startsWith(u"error:"_s), qPrintable(r.err));
            const auto m = frameLine.match(lines.at(i));
            if (!m.hasMatch())
                continue;
            ++frames;
            QCOMPARE(m.captured(3).split(u' ').size(), qsizetype(m.captured(2).toInt()));
            QVERIFY2(i + 1 < lines.size(), qPrintable(r.err));
            const QString decode = lines.at(i + 1);
            const bool sent = m.captured(1) == u">";
            // Each decode belongs to the frame above it: same direction, same framing.
            QVERIFY2(decode.startsWith(u"               "_s), qPrintable(r.err));
            QVERIFY2(decode.trimmed().startsWith(transport == u"hdlc" ? u"HDLC "_s : u"wrapper "_s),
                qPrintable(decode + u"\n in\n"_s + r.err));
            if (decode.contains(u"AARQ"_s)) {
                QVERIFY2(sent, qPrintable(r.err));
                QVERIFY2(decode.contains(u"client max PDU 10794"_s), qPrintable(r.err));
                ++aarqDecodes;
            }
            if (decode.contains(u"AARE"_s)) {
                QVERIFY2(!sent && decode.contains(u"accepted"_s), qPrintable(r.err));
                ++aareDecodes;
            }
            // The AARQ is what the client sends after the link is up and before any AARE.
            if (sent && aareDecodes == 0 && !decode.contains(u"SNRM"_s)) {
                aarqHex += m.captured(3) + u'\n';
                ++aarqFrames;
            }
        }
        QVERIFY2(frames >= 6, qPrintable(r.err));
        QCOMPARE(aarqDecodes, 1);
        QCOMPARE(aareDecodes, 1);
        if (transport == u"hdlc")
            QVERIFY2(aarqFrames >= 2, qPrintable(r.err)); // really segmented
        else
            QCOMPARE(aarqFrames, 1);
        // The max PDU size 10794 is the last two bytes of the AARQ's InitiateRequest.
        QVERIFY2(aarqHex.contains(u"7E 1F 2A 2A"_s), qPrintable(aarqHex));
        // Exactly the authentication value's content shows as "**": its tag, length and secret.
        QCOMPARE(aarqHex.count(u"**"_s), password.size() + 2);
    }

    // When the object list cannot be read, an item whose class it should have given fails with
    // that reason: the meter never said the object is undefined.
    void objectListFailureIsReported_data() { addTransportRows(); }
    void objectListFailureIsReported()
    {
        QFETCH(QString, transport);
        sim::FaultConfig faults;
        faults.exceptionResponses = true;
        simulator(transport).setFaults(0, faults);
        const CliRun r = read(transport, {QString(kMissing)});
        QVERIFY2(r.exitCode == 5, qPrintable(r.describe()));
        const QStringList cols = itemColumns(r.out, kMissing + u":2"_s);
        QVERIFY2(
            cols.size() == 2 && cols.at(1).startsWith(u"error: object list: "_s), qPrintable(r.describe()));
        QVERIFY2(!r.out.contains(u"object-undefined"_s) && !r.err.contains(u"object-undefined"_s),
            qPrintable(r.describe()));
        QVERIFY2(
            r.err.contains(u"dlmsctl: "_s + kMissing + u":2: object list: "_s), qPrintable(r.describe()));

        const CliRun json = read(transport, {u"--json"_s, QString(kMissing)});
        QVERIFY2(json.exitCode == 5, qPrintable(json.describe()));
        const QJsonObject failed = jsonItems(parseJsonObject(json.out)).value(kMissing + u":2"_s);
        QVERIFY2(failed.value(u"error"_s).toString().startsWith(u"object list: "_s), qPrintable(json.out));
    }
};

QTEST_GUILESS_MAIN(tst_DlmsctlRead)
#include "tst_dlmsctl_read.moc"
