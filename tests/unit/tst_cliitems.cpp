#include "connectionoptions.h"
#include <objectlist.h>
#include "readitem.h"
#include "requestplan.h"
#include "testsupport.h"
#include "valueformat.h"

#include <QtCore/QCommandLineParser>
#include <QtCore/QFile>
#include <QtCore/QScopeGuard>
#include <QtCore/QTemporaryFile>
#include <QtTest/QTest>

#include <ctime>

using namespace Qt::StringLiterals;
using dlms::Obis;
using dlms::Value;

namespace {

dlms::Result<ConnectionOptions> parseConnection(const QStringList &args)
{
    QCommandLineParser parser;
    addConnectionOptions(parser);
    if (!parser.parse(QStringList {u"dlmsctl read"_s} + args))
        return dlms::makeError(dlms::ErrorCode::InvalidArgument, parser.errorText());
    return connectionOptions(parser);
}

dlms::AttributeRequest plain(quint16 classId, const Obis &obis, qint8 attribute)
{
    return {{classId, obis, attribute}, std::nullopt};
}

Value objectListEntry(quint16 classId, quint8 version, const Obis &obis,
    const QList<QPair<int, int>> &attributes, const QList<QPair<int, Value>> &methods)
{
    dlms::ValueList attributeAccess;
    for (const auto &[id, mode] : attributes)
        attributeAccess.push_back(
            Value::structure({Value::integer(qint8(id)), Value::enumeration(quint8(mode)), Value::null()}));
    dlms::ValueList methodAccess;
    for (const auto &[id, mode] : methods)
        methodAccess.push_back(Value::structure({Value::integer(qint8(id)), mode}));
    return Value::structure({Value::longUnsigned(classId), Value::unsigned8(version),
        Value::octetString(obis.toBytes()),
        Value::structure({Value::array(std::move(attributeAccess)), Value::array(std::move(methodAccess))})});
}

} // namespace

class tst_CliItems : public QObject {
    Q_OBJECT

private slots:
    void readItem_data();
    void readItem();
    void badReadItem_data();
    void badReadItem();
    void timestamp_data();
    void timestamp();
    void timestampInALocalDstGap_data();
    void timestampInALocalDstGap();
    void itemSizeMatchesTheEncoder_data();
    void itemSizeMatchesTheEncoder();
    void planSplitsOnlyToFitThePdu_data();
    void planSplitsOnlyToFitThePdu();
    void isoDateTime_data();
    void isoDateTime();
    void plainValueText_data();
    void plainValueText();
    void valueText_data();
    void valueText();
    void csvField_data();
    void csvField();
    void objectList();
    void accessNames_data();
    void accessNames();
    void connectionOptions();
    void connectionOptionErrors_data();
    void connectionOptionErrors();
    void passwordFileReadsTheFirstLine();
    void helpNamesTheVerb();
};

void tst_CliItems::readItem_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<int>("classId"); // 0 = not given
    QTest::addColumn<QString>("obis");
    QTest::addColumn<int>("attribute");
    QTest::addColumn<QString>("label"); // empty = "OBIS:ATTR"
    QTest::newRow("dotted") << u"1.0.32.7.0.255"_s << 0 << u"1.0.32.7.0.255"_s << 2 << QString();
    QTest::newRow("dotted-attribute") << u"1.0.32.7.0.255:3"_s << 0 << u"1.0.32.7.0.255"_s << 3 << QString();
    QTest::newRow("class-dotted-attribute")
        << u"3/1.0.32.7.0.255:3"_s << 3 << u"1.0.32.7.0.255"_s << 3 << QString();
    QTest::newRow("iec-star") << u"1-0:32.7.0*255"_s << 0 << u"1.0.32.7.0.255"_s << 2 << QString();
    QTest::newRow("iec-five-groups") << u"1-0:32.7.0"_s << 0 << u"1.0.32.7.0.255"_s << 2 << QString();
    QTest::newRow("iec-five-groups-attribute")
        << u"1-0:32.7.0:4"_s << 0 << u"1.0.32.7.0.255"_s << 4 << QString();
    QTest::newRow("iec-star-attribute") << u"1-0:1.8.0*255:2"_s << 0 << u"1.0.1.8.0.255"_s << 2 << QString();
    QTest::newRow("class-iec") << u"7/1-0:99.1.0*255"_s << 7 << u"1.0.99.1.0.255"_s << 2 << QString();
    QTest::newRow("attribute-127") << u"0.0.1.0.0.255:127"_s << 0 << u"0.0.1.0.0.255"_s << 127 << QString();
    QTest::newRow("class-65535") << u"65535/0.0.1.0.0.255"_s << 65535 << u"0.0.1.0.0.255"_s << 2
                                 << u"65535/0.0.1.0.0.255:2"_s;
    // A class other than the well-known one names a different object: the label says so.
    QTest::newRow("class-differs-from-well-known")
        << u"4/1.0.32.7.0.255"_s << 4 << u"1.0.32.7.0.255"_s << 2 << u"4/1.0.32.7.0.255:2"_s;
    QTest::newRow("class-of-unknown-object")
        << u"3/1.0.99.98.0.255:2"_s << 3 << u"1.0.99.98.0.255"_s << 2 << QString();
    QTest::newRow("spaces-around") << u"  1.0.32.7.0.255:2 "_s << 0 << u"1.0.32.7.0.255"_s << 2 << QString();
}

void tst_CliItems::readItem()
{
    QFETCH(QString, text);
    QFETCH(int, classId);
    QFETCH(QString, obis);
    QFETCH(int, attribute);
    QFETCH(QString, label);
    const auto item = parseReadItem(text);
    QVERIFY2(item, item ? "" : qPrintable(item.error().message));
    QCOMPARE(item->classId.has_value(), classId != 0);
    if (classId)
        QCOMPARE(int(*item->classId), classId);
    QCOMPARE(item->obis.toString(), obis);
    QCOMPARE(int(item->attribute), attribute);
    QCOMPARE(item->label(), label.isEmpty() ? obis + u':' + QString::number(attribute) : label);
    QCOMPARE(item->text, text);
}

void tst_CliItems::badReadItem_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<QString>("mentions");
    QTest::newRow("empty") << QString() << u"bad ITEM"_s;
    QTest::newRow("three-groups") << u"1.0.32"_s << u"bad ITEM '1.0.32'"_s;
    QTest::newRow("class-zero") << u"0/1.0.32.7.0.255"_s << u"class '0'"_s;
    QTest::newRow("class-too-big") << u"65536/1.0.32.7.0.255"_s << u"class '65536'"_s;
    QTest::newRow("class-not-a-number") << u"x/1.0.32.7.0.255"_s << u"class 'x'"_s;
    QTest::newRow("attribute-zero") << u"1.0.32.7.0.255:0"_s << u"attribute '0'"_s;
    QTest::newRow("attribute-128") << u"1.0.32.7.0.255:128"_s << u"attribute '128'"_s;
    QTest::newRow("group-over-255") << u"1.0.32.7.0.256"_s << u"bad ITEM"_s;
    QTest::newRow("words") << u"voltage"_s << u"bad ITEM 'voltage'"_s;
}

void tst_CliItems::badReadItem()
{
    QFETCH(QString, text);
    QFETCH(QString, mentions);
    const auto item = parseReadItem(text);
    QVERIFY(!item);
    QCOMPARE(item.error().code, dlms::ErrorCode::InvalidArgument);
    QVERIFY2(item.error().message.contains(mentions), qPrintable(item.error().message));
    QVERIFY(item.error().message.contains(u"[CLASS/]OBIS[:ATTR]"_s));
}

void tst_CliItems::timestamp_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<QDateTime>("expected"); // invalid = rejected
    const QDateTime tenUtc(QDate(2026, 11, 23), QTime(10, 0), Qt::UTC);
    QTest::newRow("no-offset-is-utc") << u"2026-11-23T10:00"_s << tenUtc;
    QTest::newRow("seconds-no-offset") << u"2026-11-23T10:00:00"_s << tenUtc;
    QTest::newRow("zulu") << u"2026-11-23T10:00Z"_s << tenUtc;
    QTest::newRow("plus-one-hour") << u"2026-11-23T11:00+01:00"_s << tenUtc;
    QTest::newRow("minus-five-hours") << u"2026-11-23T05:00:00-05:00"_s << tenUtc;
    QTest::newRow("bare-date-midnight-utc")
        << u"2026-11-23"_s << QDateTime(QDate(2026, 11, 23), QTime(0, 0), Qt::UTC);
    QTest::newRow("garbage") << u"yesterday"_s << QDateTime();
    QTest::newRow("bad-month") << u"2026-13-01T00:00"_s << QDateTime();
    QTest::newRow("empty") << QString() << QDateTime();
}

void tst_CliItems::timestamp()
{
    QFETCH(QString, text);
    QFETCH(QDateTime, expected);
    const auto parsed = parseTimestamp(text);
    QCOMPARE(parsed.ok(), expected.isValid());
    if (!expected.isValid()) {
        QVERIFY(parsed.error().message.contains(u"ISO 8601"_s));
        return;
    }
    QCOMPARE(parsed->toMSecsSinceEpoch(), expected.toMSecsSinceEpoch());
}

void tst_CliItems::timestampInALocalDstGap_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<QDateTime>("expected");
    // 02:00–03:00 on 2026-03-29 does not exist in Berlin; as UTC it is an ordinary time.
    QTest::newRow("spring-gap-minutes")
        << u"2026-03-29T02:15"_s << QDateTime(QDate(2026, 3, 29), QTime(2, 15), Qt::UTC);
    QTest::newRow("spring-gap-seconds")
        << u"2026-03-29T02:59:30"_s << QDateTime(QDate(2026, 3, 29), QTime(2, 59, 30), Qt::UTC);
    // 02:30 occurs twice in Berlin on 2026-10-25; as UTC it is one instant.
    QTest::newRow("autumn-repeated-hour")
        << u"2026-10-25T02:30"_s << QDateTime(QDate(2026, 10, 25), QTime(2, 30), Qt::UTC);
    QTest::newRow("explicit-offset-still-honoured")
        << u"2026-03-29T02:15+01:00"_s << QDateTime(QDate(2026, 3, 29), QTime(1, 15), Qt::UTC);
}

// No offset means UTC whatever the local zone: the machine's DST must not reject or move it.
void tst_CliItems::timestampInALocalDstGap()
{
    QFETCH(QString, text);
    QFETCH(QDateTime, expected);
    if (!QFile::exists(u"/usr/share/zoneinfo/Europe/Berlin"_s))
        QSKIP("no tzdata for Europe/Berlin");
    const QByteArray savedTz = qgetenv("TZ");
    const bool hadTz = qEnvironmentVariableIsSet("TZ");
    qputenv("TZ", "Europe/Berlin");
    tzset();
    const auto restore = qScopeGuard([&] {
        if (hadTz)
            qputenv("TZ", savedTz);
        else
            qunsetenv("TZ");
        tzset();
    });
    // The zone really is in effect: a local 2026-03-29T02:15 does not exist.
    const QDateTime local(QDate(2026, 3, 29), QTime(2, 15), Qt::LocalTime);
    QVERIFY(!local.isValid() || local.time() != QTime(2, 15));

    const auto parsed = parseTimestamp(text);
    QVERIFY2(parsed.ok(), parsed.ok() ? "" : qPrintable(parsed.error().message));
    QCOMPARE(parsed->toMSecsSinceEpoch(), expected.toMSecsSinceEpoch());
}

void tst_CliItems::itemSizeMatchesTheEncoder_data()
{
    QTest::addColumn<int>("count");
    QTest::addColumn<bool>("withAccess");
    // The item count is a BER length: 1 byte up to 127, 2 up to 255, 3 up to 65535, 4 beyond.
    for (int count : {2, 127, 128, 255, 256, 300, 65535, 65536}) {
        QTest::addRow("plain-%d", count) << count << false;
        QTest::addRow("with-access-%d", count) << count << true;
    }
}

void tst_CliItems::itemSizeMatchesTheEncoder()
{
    QFETCH(int, count);
    QFETCH(bool, withAccess);
    dlms::GetRequest request;
    request.kind = dlms::GetRequest::Kind::WithList;
    qsizetype accessBytes = 0;
    for (int i = 0; i < count; ++i) {
        dlms::AttributeRequest item = plain(3, Obis(1, 0, 32, 7, 0, 255), qint8(2 + i % 2));
        if (withAccess && i % 3 == 0)
            item.access = dlms::SelectiveAccess::entry(1, quint32(i));
        accessBytes += accessSelectionSize(item);
        request.items.push_back(std::move(item));
    }
    QCOMPARE(dlms::getWithListRequestSize(count, accessBytes), dlms::test::encoded(request).size());
}

void tst_CliItems::planSplitsOnlyToFitThePdu_data()
{
    QTest::addColumn<int>("items");
    QTest::addColumn<int>("maxPdu");
    QTest::addColumn<bool>("multipleReferences");
    QTest::addColumn<QList<int>>("batchSizes");
    // A with-list of n plain items is 4 + 10n bytes (n < 128).
    QTest::newRow("ten-registers-one-request") << 20 << 1024 << true << QList<int> {20};
    QTest::newRow("exactly-fits") << 10 << 104 << true << QList<int> {10};
    QTest::newRow("one-byte-short") << 10 << 103 << true << QList<int> {9, 1};
    QTest::newRow("split-in-three") << 25 << 104 << true << QList<int> {10, 10, 5};
    QTest::newRow("unknown-pdu-is-65535") << 300 << 0 << true << QList<int> {300};
    QTest::newRow("no-multiple-references") << 3 << 1024 << false << QList<int> {1, 1, 1};
    QTest::newRow("single-item") << 1 << 1024 << true << QList<int> {1};
    QTest::newRow("nothing") << 0 << 1024 << true << QList<int> {};
}

void tst_CliItems::planSplitsOnlyToFitThePdu()
{
    QFETCH(int, items);
    QFETCH(int, maxPdu);
    QFETCH(bool, multipleReferences);
    QFETCH(QList<int>, batchSizes);
    std::vector<dlms::AttributeRequest> requests;
    for (int i = 0; i < items; ++i)
        requests.push_back(plain(3, Obis(1, 0, quint8(i % 200), 7, 0, 255), 2));
    const auto batches = planGetRequests(requests, quint16(maxPdu), multipleReferences);
    QList<int> sizes;
    size_t next = 0;
    for (const RequestBatch &batch : batches) {
        sizes << int(batch.size());
        for (size_t index : batch)
            QCOMPARE(index, next++); // every item once, in order
        if (batch.size() > 1) {
            dlms::GetRequest request;
            request.kind = dlms::GetRequest::Kind::WithList;
            for (size_t index : batch)
                request.items.push_back(requests[index]);
            QVERIFY(dlms::test::encoded(request).size() <= (maxPdu ? maxPdu : 65535));
        }
    }
    QCOMPARE(sizes, batchSizes);
    QCOMPARE(next, size_t(items));
}

void tst_CliItems::isoDateTime_data()
{
    QTest::addColumn<dlms::CosemDateTime>("value");
    QTest::addColumn<QString>("expected");
    dlms::CosemDateTime utc;
    utc.date = {2026, 11, 23, 1};
    utc.time = {10, 5, 9, 0};
    utc.deviation = 0;
    utc.clockStatus = 0;
    QTest::newRow("utc") << utc << u"2026-11-23T10:05:09+00:00"_s;
    dlms::CosemDateTime cet = utc;
    cet.deviation = -60; // the Blue Book sign: CET is -60
    QTest::newRow("cet") << cet << u"2026-11-23T10:05:09+01:00"_s;
    dlms::CosemDateTime west = utc;
    west.deviation = 330;
    QTest::newRow("minus-five-thirty") << west << u"2026-11-23T10:05:09-05:30"_s;
    dlms::CosemDateTime unknownDeviation = utc;
    unknownDeviation.deviation = dlms::CosemDateTime::DeviationNotSpecified;
    QTest::newRow("no-deviation-is-utc") << unknownDeviation << u"2026-11-23T10:05:09+00:00"_s;
    dlms::CosemDateTime wildcardHour = utc;
    wildcardHour.time.hour = 0xFF;
    QTest::newRow("wildcard-falls-back") << wildcardHour << wildcardHour.toString();
    dlms::CosemDateTime february30 = utc;
    february30.date.month = 2;
    february30.date.dayOfMonth = 30;
    QTest::newRow("impossible-date-falls-back") << february30 << february30.toString();
}

void tst_CliItems::isoDateTime()
{
    QFETCH(dlms::CosemDateTime, value);
    QFETCH(QString, expected);
    QCOMPARE(dlms::isoDateTime(value), expected);
    if (expected.size() == 25) {
        // Agrees with the library's own conversion to a point in time.
        QCOMPARE(QDateTime::fromString(expected, Qt::ISODate), *value.toQDateTime());
    }
}

void tst_CliItems::plainValueText_data()
{
    QTest::addColumn<Value>("value");
    QTest::addColumn<bool>("clock");
    QTest::addColumn<QString>("expected");
    dlms::CosemDateTime dt;
    dt.date = {2026, 11, 23, 1};
    dt.time = {12, 0, 0, 0};
    dt.deviation = 0;
    dt.clockStatus = 0;
    QTest::newRow("visible-string") << Value::visibleString("SIM00000001") << false << u"SIM00000001"_s;
    QTest::newRow("printable-octet-string")
        << Value::octetString("DLB0000000000001") << false << u"DLB0000000000001"_s;
    QTest::newRow("binary-octet-string")
        << Value::octetString(QByteArray("\x01\xFF", 2)) << false << u"01 FF"_s;
    QTest::newRow("clock-octet-string")
        << Value::octetString(dt.toBytes()) << true << u"2026-11-23T12:00:00+00:00"_s;
    QTest::newRow("twelve-bytes-not-a-clock")
        << Value::octetString(dt.toBytes()) << false << Value::octetString(dt.toBytes()).toText();
    QTest::newRow("date-time") << Value::dateTime(dt) << false << u"2026-11-23T12:00:00+00:00"_s;
    QTest::newRow("unsigned") << Value::unsigned8(7) << false << u"7"_s;
    // A meter's strings must not reach the terminal with controls in them.
    QTest::newRow("visible-string-escape-sequence")
        << Value::visibleString("SIM\x1b[2J01") << false << u"\"SIM\\x1b[2J01\""_s;
    QTest::newRow("visible-string-newline") << Value::visibleString("line1\nfake 1.0.1.8.0.255:2") << false
                                            << u"\"line1\\x0afake 1.0.1.8.0.255:2\""_s;
    QTest::newRow("visible-string-del") << Value::visibleString("A\x7f") << false << u"\"A\\x7f\""_s;
    QTest::newRow("visible-string-c1-csi") << Value::visibleString("A\x9b"
                                                                   "2J")
                                           << false << u"\"A\\x9b2J\""_s;
    QTest::newRow("visible-string-quote-and-backslash-escaped-only-with-controls")
        << Value::visibleString("a\"b\\\tc") << false << u"\"a\\\"b\\\\\\x09c\""_s;
    QTest::newRow("visible-string-backslash-kept-when-printable")
        << Value::visibleString("C:\\meter \"1\"") << false << u"C:\\meter \"1\""_s;
    QTest::newRow("utf8-string-printable") << Value::utf8String(u"Zähler €"_s) << false << u"Zähler €"_s;
    QTest::newRow("utf8-string-astral-printable")
        << Value::utf8String(u"meter \U0001F50C"_s) << false << u"meter \U0001F50C"_s;
    QTest::newRow("utf8-string-bidi-override")
        << Value::utf8String(u"abc\u202Edef"_s) << false << u"\"abc\\u202edef\""_s;
    QTest::newRow("utf8-string-line-separator")
        << Value::utf8String(u"a\u2028b"_s) << false << u"\"a\\u2028b\""_s;
    QTest::newRow("utf8-string-c1") << Value::utf8String(u"a\u0085b"_s) << false << u"\"a\\x85b\""_s;
    QTest::newRow("utf8-string-lone-surrogate")
        << Value::utf8String(QString(u"a"_s) + QChar(0xD800) + u"b"_s) << false << u"\"a\\ud800b\""_s;
    QTest::newRow("structure") << Value::structure({Value::integer(-1), Value::enumeration(35)}) << false
                               << u"{-1, 35}"_s;
}

void tst_CliItems::plainValueText()
{
    QFETCH(Value, value);
    QFETCH(bool, clock);
    QFETCH(QString, expected);
    QCOMPARE(::plainValueText(value, clock), expected);
}

void tst_CliItems::valueText_data()
{
    QTest::addColumn<Value>("value");
    QTest::addColumn<bool>("clock");
    QTest::addColumn<QString>("expected");
    QTest::addColumn<bool>("printableAscii"); // dlms::isPrintableAscii of its bytes
    dlms::CosemDateTime dt;
    dt.date = {2026, 11, 23, 1};
    dt.time = {12, 0, 0, 0};
    dt.deviation = -60;
    dt.clockStatus = 0;
    // The library keeps a meter's strings as they are: escaping is the terminal's business.
    QTest::newRow("visible-string-controls-kept")
        << Value::visibleString("SIM\x1b[2J01") << false << u"SIM\x1b[2J01"_s << false;
    QTest::newRow("utf8-string") << Value::utf8String(u"Zähler"_s) << false << u"Zähler"_s << false;
    QTest::newRow("printable-octet-string")
        << Value::octetString("DLB0000000000001") << false << u"DLB0000000000001"_s << true;
    QTest::newRow("empty-octet-string")
        << Value::octetString(QByteArray()) << false << Value::octetString(QByteArray()).toText() << false;
    QTest::newRow("octet-string-with-del") << Value::octetString("AB\x7f") << false << u"41 42 7F"_s << false;
    QTest::newRow("clock-octet-string")
        << Value::octetString(dt.toBytes()) << true << u"2026-11-23T12:00:00+01:00"_s << false;
    QTest::newRow("twelve-bytes-not-a-clock")
        << Value::octetString(dt.toBytes()) << false << Value::octetString(dt.toBytes()).toText() << false;
    QTest::newRow("date-time") << Value::dateTime(dt) << false << u"2026-11-23T12:00:00+01:00"_s << false;
    QTest::newRow("number") << Value::unsigned8(7) << false << u"7"_s << false;
}

void tst_CliItems::valueText()
{
    QFETCH(Value, value);
    QFETCH(bool, clock);
    QFETCH(QString, expected);
    QFETCH(bool, printableAscii);
    QCOMPARE(dlms::valueText(value, clock), expected);
    const QByteArray bytes = value.type() == dlms::DataType::OctetString ? value.bytes() : QByteArray();
    QCOMPARE(dlms::isPrintableAscii(bytes), printableAscii);
    // dlmsctl prints the library's text, escaped only where a meter's string needs it.
    const QString printed = ::plainValueText(value, clock);
    if (value.type() == dlms::DataType::VisibleString || value.type() == dlms::DataType::Utf8String)
        QCOMPARE(printed, ::displayText(expected));
    else
        QCOMPARE(printed, expected);
}

void tst_CliItems::csvField_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<QString>("expected");
    QTest::newRow("plain") << u"230.1"_s << u"230.1"_s;
    QTest::newRow("comma") << u"a,b"_s << u"\"a,b\""_s;
    QTest::newRow("quote") << u"say \"hi\""_s << u"\"say \"\"hi\"\"\""_s;
    QTest::newRow("newline") << u"a\nb"_s << u"\"a\nb\""_s;
    QTest::newRow("empty") << QString() << QString();
}

void tst_CliItems::csvField()
{
    QFETCH(QString, text);
    QFETCH(QString, expected);
    QCOMPARE(::csvField(text), expected);
}

void tst_CliItems::objectList()
{
    const Value list = Value::array({
        objectListEntry(8, 0, Obis(0, 0, 1, 0, 0, 255), {{1, 1}, {2, 3}, {3, 2}, {4, 0}},
            {{1, Value::boolean(false)}, {6, Value::boolean(true)}}),
        objectListEntry(7, 1, Obis(1, 0, 99, 1, 0, 255), {{2, 1}},
            {{1, Value::enumeration(1)}, {2, Value::enumeration(0)}}),
        Value::structure({Value::longUnsigned(1), Value::unsigned8(0), Value::octetString("short")}),
        Value::unsigned8(3),
    });
    const ObjectList parsed = parseObjectList(list);
    QCOMPARE(parsed.entries.size(), size_t(2));
    QCOMPARE(parsed.malformed, 2);
    const ObjectListEntry &clock = parsed.entries[0];
    QCOMPARE(clock.classId, quint16(8));
    QCOMPARE(clock.version, quint8(0));
    QCOMPARE(clock.obis, Obis(0, 0, 1, 0, 0, 255));
    QCOMPARE(clock.attributes.size(), size_t(4));
    QCOMPARE(clock.attributes[1].id, 2);
    QCOMPARE(accessLetters(clock.attributes[1].access), u"RW"_s);
    QCOMPARE(accessLetters(clock.attributes[2].access), u"W"_s);
    QCOMPARE(accessLetters(clock.attributes[3].access), u"-"_s);
    QCOMPARE(clock.methods.size(), size_t(2));
    QVERIFY(!clock.methods[0].allowed); // boolean (class version 0)
    QVERIFY(clock.methods[1].allowed);
    const ObjectListEntry &profile = parsed.entries[1];
    QCOMPARE(profile.version, quint8(1));
    QVERIFY(profile.methods[0].allowed); // enum (class version 1)
    QVERIFY(!profile.methods[1].allowed);

    QCOMPARE(parseObjectList(Value::unsigned8(1)).malformed, 1);
    QVERIFY(parseObjectList(Value::array({})).entries.empty());
}

void tst_CliItems::accessNames_data()
{
    QTest::addColumn<int>("mode");
    QTest::addColumn<QString>("letters");
    QTest::addColumn<QString>("name");
    QTest::newRow("no-access") << 0 << u"-"_s << u"none"_s;
    QTest::newRow("read-only") << 1 << u"R"_s << u"read"_s;
    QTest::newRow("write-only") << 2 << u"W"_s << u"write"_s;
    QTest::newRow("read-and-write") << 3 << u"RW"_s << u"read-write"_s;
    QTest::newRow("authenticated-read") << 4 << u"R"_s << u"authenticated-read"_s;
    QTest::newRow("authenticated-read-write") << 6 << u"RW"_s << u"authenticated-read-write"_s;
    QTest::newRow("unknown") << 9 << u"-"_s << u"access-mode-9"_s;
}

void tst_CliItems::accessNames()
{
    QFETCH(int, mode);
    QFETCH(QString, letters);
    QFETCH(QString, name);
    QCOMPARE(accessLetters(mode), letters);
    QCOMPARE(accessName(mode), name);
}

void tst_CliItems::connectionOptions()
{
    const auto defaults = parseConnection({u"--host"_s, u"127.0.0.1"_s});
    QVERIFY(defaults);
    QCOMPARE(defaults->connection.host, u"127.0.0.1"_s);
    QCOMPARE(defaults->connection.port, quint16(4059));
    QCOMPARE(defaults->connection.connectTimeoutMs, 5000);
    QCOMPARE(defaults->connection.requestTimeoutMs, 5000);
    const dlms::ClientConfig &c = defaults->connection.client;
    QCOMPARE(c.transport, dlms::Transport::Wrapper);
    QCOMPARE(c.clientAddress, quint16(16));
    QCOMPARE(c.serverAddress, quint16(1));
    QCOMPARE(c.physicalAddress, quint16(0));
    QCOMPARE(c.authentication, dlms::Authentication::None);
    QCOMPARE(c.maxReceivePduSize, quint16(65535));
    QCOMPARE(c.hdlc, (dlms::hdlc::LinkParameters {128, 128, 1, 1}));
    QVERIFY(!defaults->json && !defaults->trace && !defaults->stats);

    const auto all = parseConnection({u"--host"_s, u"::1"_s, u"--port"_s, u"4061"_s, u"--transport"_s,
        u"hdlc"_s, u"--client"_s, u"1"_s, u"--server"_s, u"17"_s, u"--physical"_s, u"5"_s, u"--auth"_s,
        u"low"_s, u"--password"_s, u"secret"_s, u"--timeout-ms"_s, u"250"_s, u"--max-pdu"_s, u"512"_s,
        u"--hdlc-max-info"_s, u"256"_s, u"--hdlc-window"_s, u"7"_s, u"--json"_s, u"--trace"_s, u"--stats"_s});
    QVERIFY2(all, all ? "" : qPrintable(all.error().message));
    QCOMPARE(all->connection.port, quint16(4061));
    QCOMPARE(all->connection.connectTimeoutMs, 250);
    QCOMPARE(all->connection.requestTimeoutMs, 250);
    const dlms::ClientConfig &h = all->connection.client;
    QCOMPARE(h.transport, dlms::Transport::Hdlc);
    QCOMPARE(h.clientAddress, quint16(1));
    QCOMPARE(h.serverAddress, quint16(17));
    QCOMPARE(h.physicalAddress, quint16(5));
    QCOMPARE(h.authentication, dlms::Authentication::Low);
    QCOMPARE(h.password, QByteArray("secret"));
    QCOMPARE(h.maxReceivePduSize, quint16(512));
    QCOMPARE(h.hdlc, (dlms::hdlc::LinkParameters {256, 256, 7, 7}));
    QVERIFY(all->json && all->trace && all->stats);
}

void tst_CliItems::connectionOptionErrors_data()
{
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<QString>("mentions");
    const QString host = u"--host"_s;
    const QString local = u"127.0.0.1"_s;
    QTest::newRow("no-host") << QStringList {u"--port"_s, u"1"_s} << u"--host is required"_s;
    QTest::newRow("port-zero") << QStringList {host, local, u"--port"_s, u"0"_s} << u"--port"_s;
    QTest::newRow("port-too-big") << QStringList {host, local, u"--port"_s, u"65536"_s} << u"--port"_s;
    QTest::newRow("port-not-a-number") << QStringList {host, local, u"--port"_s, u"http"_s} << u"--port"_s;
    QTest::newRow("transport") << QStringList {host, local, u"--transport"_s, u"udp"_s} << u"--transport"_s;
    QTest::newRow("hdlc-client-over-127")
        << QStringList {host, local, u"--transport"_s, u"hdlc"_s, u"--client"_s, u"128"_s} << u"--client"_s;
    QTest::newRow("auth-unknown") << QStringList {host, local, u"--auth"_s, u"high"_s} << u"--auth"_s;
    QTest::newRow("low-without-password")
        << QStringList {host, local, u"--auth"_s, u"low"_s} << u"--auth low needs a password"_s;
    QTest::newRow("both-password-sources")
        << QStringList {host, local, u"--password"_s, u"x"_s, u"--password-file"_s, u"/nonexistent"_s}
        << u"either --password or --password-file"_s;
    QTest::newRow("password-file-missing")
        << QStringList {host, local, u"--auth"_s, u"low"_s, u"--password-file"_s, u"/nonexistent/pw"_s}
        << u"cannot read --password-file"_s;
    QTest::newRow("timeout-zero") << QStringList {host, local, u"--timeout-ms"_s, u"0"_s}
                                  << u"--timeout-ms"_s;
    QTest::newRow("max-pdu-too-small")
        << QStringList {host, local, u"--max-pdu"_s, u"11"_s} << u"--max-pdu"_s;
    QTest::newRow("window-eight") << QStringList {host, local, u"--hdlc-window"_s, u"8"_s}
                                  << u"--hdlc-window"_s;
}

void tst_CliItems::connectionOptionErrors()
{
    QFETCH(QStringList, args);
    QFETCH(QString, mentions);
    const auto parsed = parseConnection(args);
    QVERIFY(!parsed);
    QVERIFY2(parsed.error().message.contains(mentions), qPrintable(parsed.error().message));
    QVERIFY(!parsed.error().message.contains(u"secret"_s));
}

void tst_CliItems::passwordFileReadsTheFirstLine()
{
    QTemporaryFile file;
    QVERIFY(file.open());
    file.write("s3cr3t pw\r\nsecond line\n");
    file.close();
    const auto parsed = parseConnection(
        {u"--host"_s, u"127.0.0.1"_s, u"--auth"_s, u"low"_s, u"--password-file"_s, file.fileName()});
    QVERIFY2(parsed, parsed ? "" : qPrintable(parsed.error().message));
    QCOMPARE(parsed->connection.client.password, QByteArray("s3cr3t pw"));
    QCOMPARE(parsed->connection.client.authentication, dlms::Authentication::Low);
}

void tst_CliItems::helpNamesTheVerb()
{
    QCommandLineParser parser;
    parser.addHelpOption();
    addConnectionOptions(parser);
    parser.addPositionalArgument(u"ITEM"_s, u"Attribute."_s, u"ITEM..."_s);
    const QString help = verbHelpText(parser, u"read"_s);
    QVERIFY2(help.startsWith(u"Usage: dlmsctl read [options] ITEM...\n"_s), qPrintable(help));
    for (const char *option : {"--host", "--port", "--transport", "--client", "--server", "--physical",
             "--auth", "--password", "--password-file", "--timeout-ms", "--max-pdu", "--hdlc-max-info",
             "--hdlc-window", "--json", "--trace", "--stats"})
        QVERIFY2(help.contains(QLatin1StringView(option)), option);
}

QTEST_GUILESS_MAIN(tst_CliItems)
#include "tst_cliitems.moc"
