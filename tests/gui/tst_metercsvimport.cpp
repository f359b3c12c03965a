#include "metercsvimport.h"

#include <QtCore/QRandomGenerator>
#include <QtTest/QTest>

using namespace Qt::StringLiterals;

namespace {

polling::MeterConfig defaults()
{
    polling::MeterConfig meter;
    meter.port = 4059;
    meter.pollIntervalMs = 15000;
    meter.requestTimeoutMs = 4000;
    meter.retries = 3;
    meter.items = {{u"voltage_l1"_s, dlms::Obis(1, 0, 32, 7, 0, 255), 3, 2}};
    return meter;
}

} // namespace

class tst_MeterCsvImport : public QObject {
    Q_OBJECT

private slots:
    void parsesMeters_data();
    void parsesMeters();
    void everyColumn();
    void missingColumnsTakeDefaults();
    void rowProblems_data();
    void rowProblems();
    void fileErrors_data();
    void fileErrors();
    void garbageNeverCrashes();
};

void tst_MeterCsvImport::parsesMeters_data()
{
    QTest::addColumn<QByteArray>("csv");
    QTest::addColumn<QStringList>("ids");
    QTest::addColumn<QStringList>("hosts");
    QTest::addColumn<QStringList>("names");

    const QStringList twoIds {u"m1"_s, u"m2"_s};
    const QStringList twoHosts {u"10.0.0.1"_s, u"10.0.0.2"_s};
    QTest::newRow("comma-lf") << QByteArray("id,host,name\nm1,10.0.0.1,North\nm2,10.0.0.2,South\n") << twoIds
                              << twoHosts << QStringList {u"North"_s, u"South"_s};
    QTest::newRow("semicolon") << QByteArray("id;host;name\nm1;10.0.0.1;North\nm2;10.0.0.2;South") << twoIds
                               << twoHosts << QStringList {u"North"_s, u"South"_s};
    QTest::newRow("crlf") << QByteArray("id,host,name\r\nm1,10.0.0.1,North\r\nm2,10.0.0.2,South\r\n")
                          << twoIds << twoHosts << QStringList {u"North"_s, u"South"_s};
    QTest::newRow("bom") << QByteArray("\xEF\xBB\xBFid,host\nm1,10.0.0.1\nm2,10.0.0.2\n") << twoIds
                         << twoHosts << twoIds;
    QTest::newRow("blank-lines") << QByteArray("\n\nid,host\n\nm1,10.0.0.1\n   \n,\nm2,10.0.0.2\n\n")
                                 << twoIds << twoHosts << twoIds;
    QTest::newRow("quoted-separator-and-quote")
        << QByteArray("id,host,name\nm1,10.0.0.1,\"North, \"\"old\"\" feeder\"\nm2,10.0.0.2,\"South\"\n")
        << twoIds << twoHosts << QStringList {u"North, \"old\" feeder"_s, u"South"_s};
    QTest::newRow("quoted-line-break")
        << QByteArray("id,host,name\nm1,10.0.0.1,\"two\r\nlines\"\nm2,10.0.0.2,x\n") << twoIds << twoHosts
        << QStringList {u"two\nlines"_s, u"x"_s};
    QTest::newRow("header-any-case-and-order") << QByteArray("HOST, Id ,Name\n10.0.0.1,m1,a\n10.0.0.2,m2,b\n")
                                               << twoIds << twoHosts << QStringList {u"a"_s, u"b"_s};
    QTest::newRow("unknown-column-ignored")
        << QByteArray("id,colour,host\nm1,red,10.0.0.1\nm2,blue,10.0.0.2\n") << twoIds << twoHosts << twoIds;
    QTest::newRow("utf8-name") << QByteArray("id,host,name\nm1,10.0.0.1,Subestación\nm2,10.0.0.2,Ñu\n")
                               << twoIds << twoHosts << QStringList {u"Subestación"_s, u"Ñu"_s};
    QTest::newRow("no-trailing-newline")
        << QByteArray("id,host\nm1,10.0.0.1\nm2,10.0.0.2") << twoIds << twoHosts << twoIds;
    QTest::newRow("cr-only") << QByteArray("id,host\rm1,10.0.0.1\rm2,10.0.0.2\r") << twoIds << twoHosts
                             << twoIds;
}

void tst_MeterCsvImport::parsesMeters()
{
    QFETCH(QByteArray, csv);
    QFETCH(QStringList, ids);
    QFETCH(QStringList, hosts);
    QFETCH(QStringList, names);
    const auto parsed = parseMeterCsv(csv, defaults(), {});
    QVERIFY2(parsed.ok(), parsed.ok() ? "" : qPrintable(parsed.error().message));
    QVERIFY2(parsed->problems.isEmpty(), qPrintable(parsed->problems.join(u'\n')));
    QCOMPARE(parsed->meters.size(), size_t(ids.size()));
    for (qsizetype i = 0; i < ids.size(); ++i) {
        QCOMPARE(parsed->meters[i].id, ids[i]);
        QCOMPARE(parsed->meters[i].host, hosts[i]);
        QCOMPARE(parsed->meters[i].name, names[i]);
    }
}

void tst_MeterCsvImport::everyColumn()
{
    const QByteArray csv
        = "id,host,name,port,transport,client_address,server_address,physical_address,"
          "authentication,password,interval_ms,timeout_ms,items\n"
          "m1,::1,North,4061,HDLC,1,17,33,low, pass word ,2500,1500,"
          "\"1.0.32.7.0.255; energy=1-0:1.8.0*255 0.0.96.1.0.255   1:3;demand=1.0.1.4.0.255 5:3\"\n";
    const auto parsed = parseMeterCsv(csv, defaults(), {});
    QVERIFY(parsed.ok());
    QVERIFY2(parsed->problems.isEmpty(), qPrintable(parsed->problems.join(u'\n')));
    QCOMPARE(parsed->meters.size(), size_t(1));
    const polling::MeterConfig &m = parsed->meters.front();
    QCOMPARE(m.id, u"m1"_s);
    QCOMPARE(m.host, u"::1"_s);
    QCOMPARE(m.name, u"North"_s);
    QCOMPARE(m.port, quint16(4061));
    QCOMPARE(m.transport, dlms::Transport::Hdlc);
    QCOMPARE(m.clientAddress, quint16(1));
    QCOMPARE(m.serverAddress, quint16(17));
    QCOMPARE(m.physicalAddress, quint16(33));
    QCOMPARE(m.authentication, dlms::Authentication::Low);
    QCOMPARE(m.password, QByteArray(" pass word "));
    QCOMPARE(m.pollIntervalMs, 2500);
    QCOMPARE(m.requestTimeoutMs, 1500);
    QCOMPARE(m.items.size(), size_t(4));
    QCOMPARE(m.items[0].key, polling::defaultTelemetryKey(dlms::Obis(1, 0, 32, 7, 0, 255)));
    QCOMPARE(m.items[0].classId, quint16(3));
    QCOMPARE(m.items[1].key, u"energy"_s);
    QCOMPARE(m.items[1].obis, dlms::Obis(1, 0, 1, 8, 0, 255));
    QCOMPARE(m.items[2].obis, dlms::Obis(0, 0, 96, 1, 0, 255));
    QCOMPARE(m.items[2].classId, quint16(1));
    QCOMPARE(m.items[2].attribute, qint8(3)); // "1:3" after white space belongs to the item before
    QCOMPARE(m.items[3], (polling::PollItem {u"demand"_s, dlms::Obis(1, 0, 1, 4, 0, 255), 5, 3}));
}

void tst_MeterCsvImport::missingColumnsTakeDefaults()
{
    const auto parsed = parseMeterCsv("id,host,port\nm1,10.0.0.1,\n", defaults(), {});
    QVERIFY(parsed.ok());
    QCOMPARE(parsed->meters.size(), size_t(1));
    const polling::MeterConfig &m = parsed->meters.front();
    const polling::MeterConfig d = defaults();
    QCOMPARE(m.port, d.port); // empty cell
    QCOMPARE(m.pollIntervalMs, d.pollIntervalMs); // no column
    QCOMPARE(m.requestTimeoutMs, d.requestTimeoutMs);
    QCOMPARE(m.retries, d.retries);
    QCOMPARE(m.items, d.items);
    QCOMPARE(m.transport, d.transport);
    QCOMPARE(m.name, u"m1"_s);
}

void tst_MeterCsvImport::rowProblems_data()
{
    QTest::addColumn<QByteArray>("csv");
    QTest::addColumn<QStringList>("taken");
    QTest::addColumn<QStringList>("validIds");
    QTest::addColumn<QStringList>("problems");

    QTest::newRow("port-out-of-range")
        << QByteArray("id,host,port\nm1,h,4059\nm2,h,70000\n") << QStringList {} << QStringList {u"m1"_s}
        << QStringList {u"line 3: port: must be an integer from 1 to 65535 (got 70000)"_s};
    QTest::newRow("port-not-a-number")
        << QByteArray("id,host,port\nm1,h,abc\n") << QStringList {} << QStringList {}
        << QStringList {u"line 2: port: must be an integer from 1 to 65535 (got abc)"_s};
    QTest::newRow("duplicate-in-file")
        << QByteArray("id,host\nm1,a\nm2,b\n\nm1,c\n") << QStringList {} << QStringList {u"m1"_s, u"m2"_s}
        << QStringList {u"line 5: id: \"m1\" is already used on line 2"_s};
    QTest::newRow("duplicate-vs-taken")
        << QByteArray("id,host\nm1,a\nm2,b\n") << QStringList {u"m2"_s} << QStringList {u"m1"_s}
        << QStringList {u"line 3: id: \"m2\" is already used by another meter"_s};
    QTest::newRow("empty-id") << QByteArray("id,host\n,a\n") << QStringList {} << QStringList {}
                              << QStringList {u"line 2: id: must not be empty"_s};
    QTest::newRow("empty-host") << QByteArray("id,host\nm1,\n") << QStringList {} << QStringList {}
                                << QStringList {u"line 2: host: must not be empty"_s};
    QTest::newRow("bad-transport") << QByteArray("id,host,transport\nm1,h,serial\n") << QStringList {}
                                   << QStringList {}
                                   << QStringList {
                                          u"line 2: transport: must be wrapper or hdlc (got serial)"_s};
    QTest::newRow("bad-obis") << QByteArray("id,host,items\nm1,h,1.0.32.7.0.255 nonsense\n") << QStringList {}
                              << QStringList {}
                              << QStringList {u"line 2: items: \"nonsense\" is not an OBIS code"_s};
    QTest::newRow("bad-class-attribute")
        << QByteArray("id,host,items\nm1,h,1.0.32.7.0.255 3:0\n") << QStringList {} << QStringList {}
        << QStringList {u"line 2: items: the attribute must be from 1 to 127 (got 0)"_s};
    QTest::newRow("class-attribute-alone")
        << QByteArray("id,host,items\nm1,h,1.0.32.7.0.255;3:2\n") << QStringList {} << QStringList {}
        << QStringList {u"line 2: items: \"3:2\" is not an OBIS code"_s};
    QTest::newRow("duplicate-item-key")
        << QByteArray("id,host,items\nm1,h,a=1.0.32.7.0.255 a=1.0.31.7.0.255\n") << QStringList {}
        << QStringList {} << QStringList {u"line 2: items[1].key: duplicate key 'a'"_s};
    QTest::newRow("lls-without-password")
        << QByteArray("id,host,authentication\nm1,h,low\n") << QStringList {} << QStringList {}
        << QStringList {u"line 2: password: is required with auth \"low\""_s};
    QTest::newRow("hdlc-client-address-too-big")
        << QByteArray("id,host,transport,client_address\nm1,h,hdlc,200\n") << QStringList {} << QStringList {}
        << QStringList {u"line 2: client_address: must be from 1 to 127 with HDLC (got 200)"_s};
    QTest::newRow("reserved-id") << QByteArray("id,host\n*,h\n") << QStringList {} << QStringList {}
                                 << QStringList {
                                        u"line 2: id: '*' is reserved for the system-wide figures"_s};
    QTest::newRow("too-many-fields") << QByteArray("id,host\nm1,h,extra\nm2,h,\n") << QStringList {}
                                     << QStringList {u"m2"_s}
                                     << QStringList {u"line 2: 3 fields, but the header names 2"_s};
    QTest::newRow("unterminated-quote")
        << QByteArray("id,host,name\nm1,h,ok\nm2,h,\"open\n") << QStringList {} << QStringList {u"m1"_s}
        << QStringList {u"line 3: a quoted field is not closed"_s};
    QTest::newRow("line-numbers-after-quoted-break")
        << QByteArray("id,host,name\nm1,h,\"a\nb\"\nm2,h,x\nm3,h,y,z\n") << QStringList {}
        << QStringList {u"m1"_s, u"m2"_s} << QStringList {u"line 5: 4 fields, but the header names 3"_s};
    QTest::newRow("two-bad-rows") << QByteArray("id;host;port\nm1;h;0\nm2;h;1\nm3;;2\n") << QStringList {}
                                  << QStringList {u"m2"_s}
                                  << QStringList {
                                         u"line 2: port: must be an integer from 1 to 65535 (got 0)"_s,
                                         u"line 4: host: must not be empty"_s};
}

void tst_MeterCsvImport::rowProblems()
{
    QFETCH(QByteArray, csv);
    QFETCH(QStringList, taken);
    QFETCH(QStringList, validIds);
    QFETCH(QStringList, problems);
    const auto parsed = parseMeterCsv(csv, defaults(), taken);
    QVERIFY2(parsed.ok(), parsed.ok() ? "" : qPrintable(parsed.error().message));
    QCOMPARE(parsed->problems, problems);
    QStringList ids;
    for (const polling::MeterConfig &meter : parsed->meters)
        ids.append(meter.id);
    QCOMPARE(ids, validIds);
}

void tst_MeterCsvImport::fileErrors_data()
{
    QTest::addColumn<QByteArray>("csv");
    QTest::addColumn<QString>("error");
    QTest::newRow("empty") << QByteArray() << u"no header"_s;
    QTest::newRow("only-blank-lines") << QByteArray("\n\r\n  \n") << u"no header"_s;
    QTest::newRow("no-id-column") << QByteArray("name,host\na,b\n") << u"no \"id\" column"_s;
    QTest::newRow("no-host-column") << QByteArray("id,name\na,b\n") << u"no \"host\" column"_s;
    QTest::newRow("duplicate-column") << QByteArray("id,host,ID\na,b,c\n") << u"appears twice"_s;
    QTest::newRow("not-utf8") << QByteArray("id,host,name\nm1,h,Subestaci\xF3n\n") << u"not UTF-8"_s;
    QByteArray big("id,host\n");
    big.append(QByteArray(16 * 1024 * 1024, 'a'));
    QTest::newRow("oversized") << big << u"larger than 16 MiB"_s;
}

void tst_MeterCsvImport::fileErrors()
{
    QFETCH(QByteArray, csv);
    QFETCH(QString, error);
    const auto parsed = parseMeterCsv(csv, defaults(), {});
    QVERIFY(!parsed.ok());
    QVERIFY2(parsed.error().message.contains(error), qPrintable(parsed.error().message));
}

void tst_MeterCsvImport::garbageNeverCrashes()
{
    QRandomGenerator rng(8);
    int parsedFiles = 0;
    for (int round = 0; round < 400; ++round) {
        QByteArray bytes(rng.bounded(1, 600), Qt::Uninitialized);
        for (char &c : bytes)
            c = char(rng.bounded(256));
        // Half the rounds start with a valid header so the row parser sees garbage too, and
        // use bytes the tokenizer cares about so quotes and separators appear often.
        if (round % 2 == 0) {
            static const char alphabet[] = "\",;\r\n ab1.=";
            for (char &c : bytes)
                c = alphabet[rng.bounded(int(sizeof(alphabet) - 1))];
            bytes.prepend("id,host,port,items\n");
        }
        const auto parsed = parseMeterCsv(bytes, defaults(), {u"a"_s});
        if (parsed.ok()) {
            ++parsedFiles;
            for (const polling::MeterConfig &meter : parsed->meters)
                QVERIFY(!polling::findMeterConfigProblem(meter));
        }
    }
    QVERIFY(parsedFiles > 0);
}

QTEST_MAIN(tst_MeterCsvImport)
#include "tst_metercsvimport.moc"
