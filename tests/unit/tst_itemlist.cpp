#include <meterconfig.h>

#include <QtTest/QTest>

using namespace Qt::StringLiterals;

using Items = std::vector<polling::PollItem>;
Q_DECLARE_METATYPE(Items)

namespace {

const dlms::Obis kVoltage(1, 0, 32, 7, 0, 255); // well known: class 3, key voltage_l1
const dlms::Obis kSerial(0, 0, 96, 1, 0, 255); // well known: class 1
const dlms::Obis kUnknown(1, 0, 99, 99, 0, 255); // not in the table: class 1, obis_… key

polling::PollItem item(const QString &key, const dlms::Obis &obis, quint16 classId, qint8 attribute)
{
    return polling::PollItem {key, obis, classId, attribute};
}

} // namespace

class tst_ItemList : public QObject {
    Q_OBJECT

private slots:
    void defaults();
    void parses_data();
    void parses();
    void errors_data();
    void errors();
    void formatsShortest_data();
    void formatsShortest();
    void roundTrip_data();
    void roundTrip();
};

void tst_ItemList::defaults()
{
    const polling::PollItem voltage = polling::defaultPollItem(kVoltage);
    QCOMPARE(voltage.key, u"voltage_l1"_s);
    QCOMPARE(voltage.classId, dlms::findWellKnown(kVoltage)->classId);
    QCOMPARE(voltage.attribute, qint8(2));
    const polling::PollItem unknown = polling::defaultPollItem(kUnknown);
    QCOMPARE(unknown.key, u"obis_1_0_99_99_0_255"_s);
    QCOMPARE(unknown.classId, quint16(1));
}

void tst_ItemList::parses_data()
{
    QTest::addColumn<QStringList>("lines");
    QTest::addColumn<Items>("expected");

    const polling::PollItem voltage = polling::defaultPollItem(kVoltage);
    QTest::newRow("bare-dotted") << QStringList {u"1.0.32.7.0.255"_s} << Items {voltage};
    QTest::newRow("bare-iec") << QStringList {u"1-0:32.7.0*255"_s} << Items {voltage};
    QTest::newRow("bare-five-groups") << QStringList {u"1.0.32.7.0"_s} << Items {voltage};
    QTest::newRow("keyed") << QStringList {u"u1=1.0.32.7.0.255"_s} << Items {item(u"u1"_s, kVoltage, 3, 2)};
    QTest::newRow("spaces-around-everything")
        << QStringList {u"  u1 =  1.0.32.7.0.255   4:3  "_s} << Items {item(u"u1"_s, kVoltage, 4, 3)};
    QTest::newRow("class-attr-without-key")
        << QStringList {u"0.0.96.1.0.255 1:3"_s} << Items {item(u"serial_number"_s, kSerial, 1, 3)};
    QTest::newRow("tab-before-suffix")
        << QStringList {u"1.0.32.7.0.255\t5:3"_s} << Items {item(u"voltage_l1"_s, kVoltage, 5, 3)};
    QTest::newRow("unknown-code-class-1")
        << QStringList {u"1.0.99.99.0.255"_s} << Items {item(u"obis_1_0_99_99_0_255"_s, kUnknown, 1, 2)};
    QTest::newRow("blank-lines-skipped")
        << QStringList {QString(), u"  "_s, u"1.0.32.7.0.255"_s, u"\t"_s} << Items {voltage};
    QTest::newRow("no-lines") << QStringList {} << Items {};
    QTest::newRow("class-boundaries")
        << QStringList {u"a=1.0.32.7.0.255 1:1"_s, u"b=1.0.32.7.0.255 65535:127"_s}
        << Items {item(u"a"_s, kVoltage, 1, 1), item(u"b"_s, kVoltage, 65535, 127)};
    QTest::newRow("same-code-two-keys") << QStringList {u"1.0.32.7.0.255"_s, u"scaler=1.0.32.7.0.255 3:3"_s}
                                        << Items {voltage, item(u"scaler"_s, kVoltage, 3, 3)};
    QTest::newRow("key-with-inner-space")
        << QStringList {u"phase a=1.0.32.7.0.255"_s} << Items {item(u"phase a"_s, kVoltage, 3, 2)};
}

void tst_ItemList::parses()
{
    QFETCH(QStringList, lines);
    QFETCH(Items, expected);
    const dlms::Result<Items> parsed = polling::parseItemLines(lines);
    QVERIFY2(parsed.ok(), parsed.ok() ? "" : qPrintable(parsed.error().message));
    QCOMPARE(*parsed, expected);
}

void tst_ItemList::errors_data()
{
    QTest::addColumn<QStringList>("lines");
    QTest::addColumn<QString>("message");

    const QString ok = u"1.0.32.7.0.255"_s;
    QTest::newRow("not-obis") << QStringList {ok, u"not-obis"_s}
                              << u"line 2: \"not-obis\" is not an OBIS code"_s;
    QTest::newRow("obis-out-of-range")
        << QStringList {u"1.0.256.7.0.255"_s} << u"line 1: \"1.0.256.7.0.255\" is not an OBIS code"_s;
    QTest::newRow("obis-four-groups")
        << QStringList {u"1.0.32.7"_s} << u"line 1: \"1.0.32.7\" is not an OBIS code"_s;
    QTest::newRow("empty-key") << QStringList {u" =1.0.32.7.0.255"_s}
                               << u"line 1: the key before '=' is empty"_s;
    QTest::newRow("missing-code") << QStringList {ok, QString(), u"v="_s}
                                  << u"line 3: the OBIS code after '=' is missing"_s;
    QTest::newRow("duplicate-explicit-key") << QStringList {u"a=1.0.32.7.0.255"_s, u"a=1.0.31.7.0.255"_s}
                                            << u"line 2: duplicate key \"a\" (also on line 1)"_s;
    QTest::newRow("duplicate-default-key") << QStringList {ok, QString(), u"1-0:32.7.0*255"_s}
                                           << u"line 3: duplicate key \"voltage_l1\" (also on line 1)"_s;
    QTest::newRow("old-settings-syntax") << QStringList {u"1.0.32.7.0.255 voltage"_s}
                                         << u"line 1: expected class:attribute after the OBIS code, "
                                            "e.g. 3:2 (got \"voltage\")"_s;
    QTest::newRow("extra-token") << QStringList {u"1.0.32.7.0.255 3:2 x"_s}
                                 << u"line 1: expected class:attribute after the OBIS code, "
                                    "e.g. 3:2 (got \"3:2 x\")"_s;
    QTest::newRow("class-only") << QStringList {u"1.0.32.7.0.255 3"_s}
                                << u"line 1: expected class:attribute after the OBIS code, "
                                   "e.g. 3:2 (got \"3\")"_s;
    QTest::newRow("attribute-missing") << QStringList {u"1.0.32.7.0.255 3:"_s}
                                       << u"line 1: expected class:attribute after the OBIS code, "
                                          "e.g. 3:2 (got \"3:\")"_s;
    QTest::newRow("class-0") << QStringList {u"1.0.32.7.0.255 0:2"_s}
                             << u"line 1: the interface class must be from 1 to 65535 (got 0)"_s;
    QTest::newRow("class-65536") << QStringList {u"1.0.32.7.0.255 65536:2"_s}
                                 << u"line 1: the interface class must be from 1 to 65535 (got 65536)"_s;
    QTest::newRow("attribute-0") << QStringList {u"1.0.32.7.0.255 3:0"_s}
                                 << u"line 1: the attribute must be from 1 to 127 (got 0)"_s;
    QTest::newRow("attribute-128") << QStringList {u"1.0.32.7.0.255 3:128"_s}
                                   << u"line 1: the attribute must be from 1 to 127 (got 128)"_s;
    QTest::newRow("attribute-negative") << QStringList {u"1.0.32.7.0.255 3:-1"_s}
                                        << u"line 1: the attribute must be from 1 to 127 (got -1)"_s;
}

void tst_ItemList::errors()
{
    QFETCH(QStringList, lines);
    QFETCH(QString, message);
    const dlms::Result<Items> parsed = polling::parseItemLines(lines);
    QVERIFY(!parsed.ok());
    QCOMPARE(parsed.error().code, dlms::ErrorCode::InvalidArgument);
    QCOMPARE(parsed.error().message, message);
}

void tst_ItemList::formatsShortest_data()
{
    QTest::addColumn<Items>("items");
    QTest::addColumn<QStringList>("lines");

    QTest::newRow("default-item") << Items {polling::defaultPollItem(kVoltage)}
                                  << QStringList {u"1.0.32.7.0.255"_s};
    QTest::newRow("own-key") << Items {item(u"u1"_s, kVoltage, 3, 2)} << QStringList {u"u1=1.0.32.7.0.255"_s};
    QTest::newRow("own-class") << Items {item(u"voltage_l1"_s, kVoltage, 4, 2)}
                               << QStringList {u"1.0.32.7.0.255 4:2"_s};
    QTest::newRow("own-attribute") << Items {item(u"serial_number"_s, kSerial, 1, 3)}
                                   << QStringList {u"0.0.96.1.0.255 1:3"_s};
    QTest::newRow("everything-own") << Items {item(u"d"_s, kUnknown, 5, 3)}
                                    << QStringList {u"d=1.0.99.99.0.255 5:3"_s};
    QTest::newRow("empty") << Items {} << QStringList {};
}

void tst_ItemList::formatsShortest()
{
    QFETCH(Items, items);
    QFETCH(QStringList, lines);
    QCOMPARE(polling::formatItemLines(items), lines);
}

void tst_ItemList::roundTrip_data()
{
    QTest::addColumn<Items>("items");

    QTest::newRow("well-known-defaults") << Items {polling::defaultPollItem(kVoltage),
        polling::defaultPollItem(kSerial), polling::defaultPollItem(dlms::Obis(1, 0, 1, 8, 0, 255))};
    QTest::newRow("mixed") << Items {item(u"voltage_l1"_s, kVoltage, 3, 2), item(u"scaler"_s, kVoltage, 3, 3),
        item(u"obis_1_0_99_99_0_255"_s, kUnknown, 7, 2),
        item(u"demand"_s, dlms::Obis(1, 0, 1, 4, 0, 255), 5, 3)};
    QTest::newRow("boundaries") << Items {item(u"a"_s, kVoltage, 1, 1), item(u"b"_s, kVoltage, 65535, 127),
        item(u"c"_s, dlms::Obis(0, 0, 0, 0, 0, 0), 1, 2),
        item(u"d"_s, dlms::Obis(255, 255, 255, 255, 255, 255), 3, 2)};
    // Every well-known code with its default item: the table's own keys and classes survive.
    Items table;
    QSet<QString> keys;
    for (const dlms::WellKnownObject &known : dlms::wellKnownObjects()) {
        polling::PollItem bare = polling::defaultPollItem(known.obis);
        if (!keys.contains(bare.key)) {
            keys.insert(bare.key);
            table.push_back(bare);
        }
    }
    QTest::newRow("well-known-table") << table;
}

void tst_ItemList::roundTrip()
{
    QFETCH(Items, items);
    const QStringList lines = polling::formatItemLines(items);
    QCOMPARE(lines.size(), qsizetype(items.size()));
    const dlms::Result<Items> parsed = polling::parseItemLines(lines);
    QVERIFY2(parsed.ok(), parsed.ok() ? "" : qPrintable(parsed.error().message));
    QCOMPARE(*parsed, items);
    // And line by line.
    for (size_t i = 0; i < items.size(); ++i) {
        const dlms::Result<polling::PollItem> one = polling::parseItemLine(lines[qsizetype(i)]);
        QVERIFY(one.ok());
        QCOMPARE(*one, items[i]);
    }
}

QTEST_GUILESS_MAIN(tst_ItemList)
#include "tst_itemlist.moc"
