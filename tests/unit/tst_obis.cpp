#include "obis.h"
#include "testsupport.h"

#include <QtCore/QRandomGenerator>
#include <QtCore/QRegularExpression>
#include <QtCore/QSet>
#include <QtTest/QTest>

using namespace Qt::StringLiterals;
using dlms::Obis;
using dlms::test::randomBytes;

class TestObis : public QObject {
    Q_OBJECT

private slots:
    void parseAccepts_data();
    void parseAccepts();
    void parseRejects_data();
    void parseRejects();
    void printing_data();
    void printing();
    void fromBytes_data();
    void fromBytes();
    void fromBytesRejects_data();
    void fromBytesRejects();
    void randomRoundTrip();
    void ordering();
    void hashing();
    void interfaceClassNames_data();
    void interfaceClassNames();
    void tableSortedAndUnique();
    void tableEntriesWellFormed();
    void tableLookups_data();
    void tableLookups();
    void tableMisses_data();
    void tableMisses();
};

void TestObis::parseAccepts_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<Obis>("expected");

    QTest::newRow("dotted-6") << u"1.0.1.8.0.255"_s << Obis(1, 0, 1, 8, 0, 255);
    QTest::newRow("iec-star") << u"1-0:1.8.0*255"_s << Obis(1, 0, 1, 8, 0, 255);
    QTest::newRow("iec-dot-f") << u"1-0:1.8.0.255"_s << Obis(1, 0, 1, 8, 0, 255);
    QTest::newRow("dotted-5-default-f") << u"1.0.1.8.0"_s << Obis(1, 0, 1, 8, 0, 255);
    QTest::newRow("iec-5-default-f") << u"1-0:1.8.0"_s << Obis(1, 0, 1, 8, 0, 255);
    QTest::newRow("clock") << u"0.0.1.0.0.255"_s << Obis(0, 0, 1, 0, 0, 255);
    QTest::newRow("all-zero") << u"0.0.0.0.0.0"_s << Obis(0, 0, 0, 0, 0, 0);
    QTest::newRow("all-max") << u"255.255.255.255.255.255"_s << Obis(255, 255, 255, 255, 255, 255);
    QTest::newRow("iec-all-max") << u"255-255:255.255.255*255"_s << Obis(255, 255, 255, 255, 255, 255);
    QTest::newRow("f-not-255") << u"1-0:1.8.0*101"_s << Obis(1, 0, 1, 8, 0, 101);
    QTest::newRow("tariff") << u"1.0.1.8.1.255"_s << Obis(1, 0, 1, 8, 1, 255);
    QTest::newRow("leading-zeros") << u"001.000.001.008.000.255"_s << Obis(1, 0, 1, 8, 0, 255);
    QTest::newRow("many-leading-zeros") << u"0000001.0.1.8.0.0255"_s << Obis(1, 0, 1, 8, 0, 255);
    QTest::newRow("spaces-around") << u"  1.0.1.8.0.255  "_s << Obis(1, 0, 1, 8, 0, 255);
    QTest::newRow("tabs-newline-around") << u"\t1-0:32.7.0*255\n"_s << Obis(1, 0, 32, 7, 0, 255);
    QTest::newRow("disconnect") << u"0-0:96.3.10*255"_s << Obis(0, 0, 96, 3, 10, 255);
}

void TestObis::parseAccepts()
{
    QFETCH(QString, text);
    QFETCH(Obis, expected);
    const auto r = Obis::parse(text);
    QVERIFY2(r.ok(), qPrintable(r.ok() ? QString() : r.error().message));
    QCOMPARE(*r, expected);
}

void TestObis::parseRejects_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<QString>("message");

    QTest::newRow("empty") << QString() << u"OBIS: empty code"_s;
    QTest::newRow("only-spaces") << u"   "_s << u"OBIS: empty code"_s;
    QTest::newRow("four-groups") << u"1.0.1.8"_s
                                 << u"OBIS: only 4 groups, expected 5 or 6 in \"1.0.1.8\""_s;
    QTest::newRow("one-group") << u"42"_s << u"OBIS: only 1 group, expected 5 or 6 in \"42\""_s;
    QTest::newRow("empty-group") << u"1..1.8.0.255"_s
                                 << u"OBIS: group 2 is empty at position 2 in \"1..1.8.0.255\""_s;
    QTest::newRow("leading-separator") << u".1.0.1.8.0"_s
                                       << u"OBIS: group 1 is empty at position 0 in \".1.0.1.8.0\""_s;
    QTest::newRow("trailing-separator") << u"1.0.1.8.0."_s
                                        << u"OBIS: group 6 is missing at the end in \"1.0.1.8.0.\""_s;
    QTest::newRow("letters") << u"a.b.c.d.e.f"_s
                             << u"OBIS: unexpected character 'a' at position 0 in \"a.b.c.d.e.f\""_s;
    QTest::newRow("letter-inside") << u"1.0.1x.8.0.255"_s
                                   << u"OBIS: unexpected character 'x' at position 5 in \"1.0.1x.8.0.255\""_s;
    QTest::newRow("trailing-junk") << u"1-0:1.8.0*255 junk"_s
                                   << u"OBIS: unexpected character ' ' at position 13 in \"1-0:1.8.0*255 junk\""_s;
    QTest::newRow("inner-space") << u"1.0. 1.8.0.255"_s
                                 << u"OBIS: unexpected character ' ' at position 4 in \"1.0. 1.8.0.255\""_s;
    QTest::newRow("non-ascii-digit") << u"1.0.1.8.0.\u0662"_s
                                     << u"OBIS: unexpected character U+0662 at position 10 in \"1.0.1.8.0.\u0662\""_s;
    QTest::newRow("control-char") << u"1.0.1.8\u00070.255"_s
                                  << u"OBIS: unexpected character U+0007 at position 7 in \"1.0.1.8\u00070.255\""_s;
    QTest::newRow("minus-sign") << u"1.0.-1.8.0.255"_s
                                << u"OBIS: group 3 is empty at position 4 in \"1.0.-1.8.0.255\""_s;
    QTest::newRow("group-4-256") << u"1.0.1.256.0.255"_s
                                 << u"OBIS: group 4 value 256 is out of range 0..255 in \"1.0.1.256.0.255\""_s;
    QTest::newRow("group-1-1000") << u"1000.0.1.8.0.255"_s
                                  << u"OBIS: group 1 value 1000 is out of range 0..255 in \"1000.0.1.8.0.255\""_s;
    QTest::newRow("group-6-huge") << u"1.0.1.8.0.99999999999999999999"_s
                                  << u"OBIS: group 6 value 99999999999999999999 is out of range 0..255 in "
                                     u"\"1.0.1.8.0.99999999999999999999\""_s;
    QTest::newRow("iec-group-6-256") << u"1-0:1.8.0*256"_s
                                     << u"OBIS: group 6 value 256 is out of range 0..255 in \"1-0:1.8.0*256\""_s;
    QTest::newRow("seven-groups") << u"1.0.1.8.0.255.1"_s
                                  << u"OBIS: more than six groups in \"1.0.1.8.0.255.1\""_s;
    QTest::newRow("six-then-separator") << u"1.0.1.8.0.255."_s
                                        << u"OBIS: more than six groups in \"1.0.1.8.0.255.\""_s;
    const QString sepMsg = u"OBIS: separators do not match A.B.C.D.E.F or A-B:C.D.E*F in \"%1\""_s;
    QTest::newRow("star-in-dotted") << u"1.0.1.8.0*255"_s << sepMsg.arg(u"1.0.1.8.0*255"_s);
    QTest::newRow("swapped-dash-colon") << u"1:0-1.8.0*255"_s << sepMsg.arg(u"1:0-1.8.0*255"_s);
    QTest::newRow("colon-only") << u"1:0:1:8:0:255"_s << sepMsg.arg(u"1:0:1:8:0:255"_s);
    QTest::newRow("dash-without-colon") << u"1-0.1.8.0*255"_s << sepMsg.arg(u"1-0.1.8.0*255"_s);
    QTest::newRow("star-too-early") << u"1-0:1.8*0.255"_s << sepMsg.arg(u"1-0:1.8*0.255"_s);
    QTest::newRow("iec-5-with-star-last") << u"1-0:1.8*0"_s << sepMsg.arg(u"1-0:1.8*0"_s);
    QTest::newRow("comma") << u"1,0,1,8,0,255"_s
                           << u"OBIS: unexpected character ',' at position 1 in \"1,0,1,8,0,255\""_s;
    QTest::newRow("hex-prefix") << u"0x01.0.1.8.0.255"_s
                                << u"OBIS: unexpected character 'x' at position 1 in \"0x01.0.1.8.0.255\""_s;
}

void TestObis::parseRejects()
{
    QFETCH(QString, text);
    QFETCH(QString, message);
    const auto r = Obis::parse(text);
    QVERIFY2(!r.ok(), qPrintable(r.ok() ? r->toString() : QString()));
    QCOMPARE(r.error().code, dlms::ErrorCode::Malformed);
    QCOMPARE(r.error().message, message);
}

void TestObis::printing_data()
{
    QTest::addColumn<Obis>("obis");
    QTest::addColumn<QString>("dotted");
    QTest::addColumn<QString>("iec");

    QTest::newRow("energy") << Obis(1, 0, 1, 8, 0, 255) << u"1.0.1.8.0.255"_s << u"1-0:1.8.0*255"_s;
    QTest::newRow("zero") << Obis(0, 0, 0, 0, 0, 0) << u"0.0.0.0.0.0"_s << u"0-0:0.0.0*0"_s;
    QTest::newRow("max") << Obis(255, 255, 255, 255, 255, 255) << u"255.255.255.255.255.255"_s
                         << u"255-255:255.255.255*255"_s;
    QTest::newRow("two-digit") << Obis(10, 99, 10, 90, 11, 99) << u"10.99.10.90.11.99"_s
                               << u"10-99:10.90.11*99"_s;
    QTest::newRow("three-digit-with-zeros") << Obis(100, 200, 101, 110, 250, 109)
                                            << u"100.200.101.110.250.109"_s
                                            << u"100-200:101.110.250*109"_s;
    QTest::newRow("disconnect") << Obis(0, 0, 96, 3, 10, 255) << u"0.0.96.3.10.255"_s
                                << u"0-0:96.3.10*255"_s;
}

void TestObis::printing()
{
    QFETCH(Obis, obis);
    QFETCH(QString, dotted);
    QFETCH(QString, iec);
    QCOMPARE(obis.toString(), dotted);
    QCOMPARE(obis.toIecString(), iec);
    QCOMPARE(*Obis::parse(dotted), obis);
    QCOMPARE(*Obis::parse(iec), obis);
}

void TestObis::fromBytes_data()
{
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<Obis>("expected");

    QTest::newRow("energy") << QByteArray::fromHex("0100010800ff") << Obis(1, 0, 1, 8, 0, 255);
    QTest::newRow("clock") << QByteArray::fromHex("0000010000ff") << Obis(0, 0, 1, 0, 0, 255);
    QTest::newRow("all-ff") << QByteArray::fromHex("ffffffffffff") << Obis(255, 255, 255, 255, 255, 255);
    QTest::newRow("all-zero") << QByteArray::fromHex("000000000000") << Obis(0, 0, 0, 0, 0, 0);
}

void TestObis::fromBytes()
{
    QFETCH(QByteArray, bytes);
    QFETCH(Obis, expected);
    const auto r = Obis::fromBytes(bytes);
    QVERIFY(r.ok());
    QCOMPARE(*r, expected);
    QCOMPARE(r->toBytes(), bytes);
    QByteArray appended = "xy"_ba;
    r->appendTo(appended);
    QCOMPARE(appended, "xy"_ba + bytes);
    for (int i = 0; i < 6; ++i)
        QCOMPARE((*r)[i], quint8(bytes[i]));
}

void TestObis::fromBytesRejects_data()
{
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<QString>("message");

    QTest::newRow("empty") << QByteArray() << u"OBIS: a logical name is 6 bytes, got 0"_s;
    QTest::newRow("five") << QByteArray::fromHex("0100010800") << u"OBIS: a logical name is 6 bytes, got 5"_s;
    QTest::newRow("seven") << QByteArray::fromHex("0100010800ff00") << u"OBIS: a logical name is 6 bytes, got 7"_s;
    QTest::newRow("twelve") << QByteArray(12, '\x01') << u"OBIS: a logical name is 6 bytes, got 12"_s;
}

void TestObis::fromBytesRejects()
{
    QFETCH(QByteArray, bytes);
    QFETCH(QString, message);
    const auto r = Obis::fromBytes(bytes);
    QVERIFY(!r.ok());
    QCOMPARE(r.error().code, dlms::ErrorCode::Malformed);
    QCOMPARE(r.error().message, message);
}

void TestObis::randomRoundTrip()
{
    const quint32 seed = 0x0b15c0de;
    QRandomGenerator rng(seed);
    for (int i = 0; i < 5000; ++i) {
        const QByteArray bytes = randomBytes(rng, 6);
        const auto r = Obis::fromBytes(bytes);
        const QString ctx = u"seed 0x%1, iteration %2, bytes %3"_s.arg(QString::number(seed, 16))
                                .arg(i)
                                .arg(QString::fromLatin1(bytes.toHex()));
        QVERIFY2(r.ok(), qPrintable(ctx));
        QVERIFY2(r->toBytes() == bytes, qPrintable(ctx));
        const auto dotted = Obis::parse(r->toString());
        const auto iec = Obis::parse(r->toIecString());
        QVERIFY2(dotted.ok() && *dotted == *r, qPrintable(ctx + u" dotted "_s + r->toString()));
        QVERIFY2(iec.ok() && *iec == *r, qPrintable(ctx + u" iec "_s + r->toIecString()));
    }
}

void TestObis::ordering()
{
    // Lexicographic by group A first: the table's binary search depends on it.
    QVERIFY(Obis(0, 255, 255, 255, 255, 255) < Obis(1, 0, 0, 0, 0, 0));
    QVERIFY(Obis(1, 0, 1, 8, 0, 255) < Obis(1, 0, 1, 8, 1, 255));
    QVERIFY(Obis(1, 0, 2, 8, 0, 0) > Obis(1, 0, 1, 8, 255, 255));
    QVERIFY(Obis(1, 0, 1, 8, 0, 254) < Obis(1, 0, 1, 8, 0, 255));
    QVERIFY(Obis(1, 0, 1, 8, 0, 255) == Obis(1, 0, 1, 8, 0, 255));
    QVERIFY(Obis(1, 0, 1, 8, 0, 255) != Obis(1, 0, 1, 8, 0, 0));
    QCOMPARE(Obis(), Obis(0, 0, 0, 0, 0, 0));
}

void TestObis::hashing()
{
    QSet<Obis> set;
    set.insert(Obis(1, 0, 1, 8, 0, 255));
    set.insert(*Obis::parse(u"1-0:1.8.0*255"));
    set.insert(Obis(1, 0, 2, 8, 0, 255));
    QCOMPARE(set.size(), 2);
    QVERIFY(set.contains(Obis(1, 0, 2, 8, 0, 255)));
    QCOMPARE(qHash(Obis(1, 0, 1, 8, 0, 255), 7), qHash(*Obis::parse(u"1.0.1.8.0"), 7));
    // Groups are packed, not xor-ed: swapping two groups must change the hash input.
    QVERIFY(qHash(Obis(1, 0, 1, 8, 0, 255)) != qHash(Obis(0, 1, 1, 8, 0, 255)));
}

void TestObis::interfaceClassNames_data()
{
    QTest::addColumn<int>("classId");
    QTest::addColumn<QString>("name");

    using IC = dlms::InterfaceClass;
    const auto row = [](IC ic, const QString &name) {
        QTest::newRow(qPrintable(name)) << int(ic) << name;
    };
    row(IC::Data, u"Data"_s);
    row(IC::Register, u"Register"_s);
    row(IC::ExtendedRegister, u"Extended register"_s);
    row(IC::DemandRegister, u"Demand register"_s);
    row(IC::RegisterActivation, u"Register activation"_s);
    row(IC::ProfileGeneric, u"Profile generic"_s);
    row(IC::Clock, u"Clock"_s);
    row(IC::ScriptTable, u"Script table"_s);
    row(IC::Schedule, u"Schedule"_s);
    row(IC::SpecialDaysTable, u"Special days table"_s);
    row(IC::AssociationSN, u"Association SN"_s);
    row(IC::AssociationLN, u"Association LN"_s);
    row(IC::SapAssignment, u"SAP assignment"_s);
    row(IC::ImageTransfer, u"Image transfer"_s);
    row(IC::ActivityCalendar, u"Activity calendar"_s);
    row(IC::RegisterMonitor, u"Register monitor"_s);
    row(IC::SingleActionSchedule, u"Single action schedule"_s);
    row(IC::IecHdlcSetup, u"IEC HDLC setup"_s);
    row(IC::TcpUdpSetup, u"TCP-UDP setup"_s);
    row(IC::Ipv4Setup, u"IPv4 setup"_s);
    row(IC::SecuritySetup, u"Security setup"_s);
    row(IC::Disconnector, u"Disconnect control"_s);
    row(IC::Limiter, u"Limiter"_s);
    QTest::newRow("push-setup-40") << 40 << u"Push setup"_s;
    QTest::newRow("unknown-0") << 0 << u"class 0"_s;
    QTest::newRow("unknown-2") << 2 << u"class 2"_s;
    QTest::newRow("unknown-9999") << 9999 << u"class 9999"_s;
    QTest::newRow("unknown-max") << 65535 << u"class 65535"_s;
}

void TestObis::interfaceClassNames()
{
    QFETCH(int, classId);
    QFETCH(QString, name);
    QCOMPARE(dlms::interfaceClassName(quint16(classId)), name);
}

void TestObis::tableSortedAndUnique()
{
    const auto table = dlms::wellKnownObjects();
    QVERIFY(table.size() >= 60);
    for (size_t i = 1; i < table.size(); ++i) {
        QVERIFY2(table[i - 1].obis < table[i].obis,
                 qPrintable(table[i - 1].obis.toString() + u" !< "_s + table[i].obis.toString()));
    }
}

void TestObis::tableEntriesWellFormed()
{
    static const QRegularExpression snake(u"^[a-z][a-z0-9]*(_[a-z0-9]+)*$"_s);
    QSet<QString> keys;
    for (const auto &w : dlms::wellKnownObjects()) {
        const QString where = w.obis.toString();
        // Every entry must be reachable through the binary search, pointing at itself.
        QVERIFY2(dlms::findWellKnown(w.obis) == &w, qPrintable(where));
        QVERIFY2(w.name && *w.name, qPrintable(where));
        QVERIFY2(w.telemetryKey, qPrintable(where));
        QVERIFY2(!dlms::interfaceClassName(w.classId).startsWith(u"class "_s), qPrintable(where));
        const QString key = QString::fromLatin1(w.telemetryKey);
        if (key.isEmpty())
            continue;
        QVERIFY2(snake.match(key).hasMatch(), qPrintable(where + u' ' + key));
        QVERIFY2(!keys.contains(key), qPrintable(u"duplicate key "_s + key));
        keys.insert(key);
    }
}

void TestObis::tableLookups_data()
{
    QTest::addColumn<QString>("code");
    QTest::addColumn<int>("classId");
    QTest::addColumn<QString>("key");

    const auto row = [](const char *code, int classId, const char *key) {
        QTest::newRow(code) << QString::fromLatin1(code) << classId << QString::fromLatin1(key);
    };
    row("1.0.1.8.0.255", 3, "energy_import_wh");
    row("1.0.2.8.0.255", 3, "energy_export_wh");
    row("1.0.3.8.0.255", 3, "energy_reactive_import_varh");
    row("1.0.4.8.0.255", 3, "energy_reactive_export_varh");
    row("1.0.1.8.1.255", 3, "energy_import_t1_wh");
    row("1.0.1.8.2.255", 3, "energy_import_t2_wh");
    row("1.0.1.8.3.255", 3, "energy_import_t3_wh");
    row("1.0.1.8.4.255", 3, "energy_import_t4_wh");
    row("1.0.2.8.1.255", 3, "energy_export_t1_wh");
    row("1.0.2.8.4.255", 3, "energy_export_t4_wh");
    row("1.0.1.7.0.255", 3, "power_import_w");
    row("1.0.2.7.0.255", 3, "power_export_w");
    row("1.0.3.7.0.255", 3, "reactive_power_import_var");
    row("1.0.4.7.0.255", 3, "reactive_power_export_var");
    row("1.0.9.7.0.255", 3, "apparent_power_va");
    row("1.0.21.7.0.255", 3, "power_import_l1_w");
    row("1.0.41.7.0.255", 3, "power_import_l2_w");
    row("1.0.61.7.0.255", 3, "power_import_l3_w");
    row("1.0.22.7.0.255", 3, "power_export_l1_w");
    row("1.0.42.7.0.255", 3, "power_export_l2_w");
    row("1.0.62.7.0.255", 3, "power_export_l3_w");
    row("1.0.32.7.0.255", 3, "voltage_l1");
    row("1.0.52.7.0.255", 3, "voltage_l2");
    row("1.0.72.7.0.255", 3, "voltage_l3");
    row("1.0.31.7.0.255", 3, "current_l1");
    row("1.0.51.7.0.255", 3, "current_l2");
    row("1.0.71.7.0.255", 3, "current_l3");
    row("1.0.91.7.0.255", 3, "current_neutral");
    row("1.0.13.7.0.255", 3, "power_factor");
    row("1.0.33.7.0.255", 3, "power_factor_l1");
    row("1.0.53.7.0.255", 3, "power_factor_l2");
    row("1.0.73.7.0.255", 3, "power_factor_l3");
    row("1.0.14.7.0.255", 3, "frequency_hz");
    row("1.0.1.6.0.255", 4, "max_demand_import_w");
    row("0.0.1.0.0.255", 8, "clock");
    row("0.0.42.0.0.255", 1, "logical_device_name");
    row("0.0.96.1.0.255", 1, "serial_number");
    row("1.0.0.2.0.255", 1, "firmware_version");
    row("0.0.0.2.0.255", 1, "firmware_id");
    row("1.1.0.2.0.255", 1, "firmware_version_ch1");
    row("0.0.40.0.0.255", 15, "");
    row("1.0.99.1.0.255", 7, "");
    row("1.0.99.2.0.255", 7, "");
    row("0.0.99.98.0.255", 7, "");
    row("0.0.98.1.0.255", 7, "");
    row("0.0.22.0.0.255", 23, "");
    row("0.0.25.0.0.255", 41, "");
    row("0.0.25.1.0.255", 42, "");
    row("0.0.96.3.10.255", 70, "relay_state");
    row("0.0.43.0.0.255", 64, "");
    row("0.0.41.0.0.255", 17, "");
}

void TestObis::tableLookups()
{
    QFETCH(QString, code);
    QFETCH(int, classId);
    QFETCH(QString, key);
    const Obis obis = *Obis::parse(code);
    const auto *w = dlms::findWellKnown(obis);
    QVERIFY2(w, qPrintable(code));
    QCOMPARE(w->obis, obis);
    QCOMPARE(int(w->classId), classId);
    QCOMPARE(QString::fromLatin1(w->telemetryKey), key);
}

void TestObis::tableMisses_data()
{
    QTest::addColumn<Obis>("obis");
    QTest::newRow("before-first") << Obis(0, 0, 0, 0, 0, 0);
    QTest::newRow("after-last") << Obis(255, 255, 255, 255, 255, 255);
    QTest::newRow("between-neighbours") << Obis(1, 0, 1, 8, 0, 254);
    QTest::newRow("tariff-5") << Obis(1, 0, 1, 8, 5, 255);
    QTest::newRow("billing-f") << Obis(1, 0, 1, 8, 0, 1);
    QTest::newRow("channel-2") << Obis(1, 2, 1, 8, 0, 255);
    QTest::newRow("manufacturer") << Obis(0, 128, 96, 1, 0, 255);
}

void TestObis::tableMisses()
{
    QFETCH(Obis, obis);
    QCOMPARE(dlms::findWellKnown(obis), nullptr);
}

QTEST_GUILESS_MAIN(TestObis)
#include "tst_obis.moc"
