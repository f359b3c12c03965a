#include "testsupport.h"
#include "value.h"

#include <QtCore/QJsonArray>
#include <QtCore/QJsonDocument>
#include <QtCore/QJsonObject>
#include <QtTest/QTest>

#include <bit>
#include <cmath>
#include <limits>

using namespace dlms;
using namespace dlms::test;
using namespace Qt::StringLiterals;

Q_DECLARE_METATYPE(std::optional<qint64>)
Q_DECLARE_METATYPE(std::optional<quint64>)
Q_DECLARE_METATYPE(std::optional<double>)
Q_DECLARE_METATYPE(std::optional<bool>)

namespace {

QByteArray json(const QJsonValue &v)
{
    // Wrapped in an array because QJsonDocument cannot hold a bare scalar.
    return QJsonDocument(QJsonArray{v}).toJson(QJsonDocument::Compact);
}

constexpr qint64 two53 = qint64(1) << 53;

} // namespace

class TestValue : public QObject {
    Q_OBJECT

private slots:
    void dataTypeNames_data();
    void dataTypeNames();
    void knownTags();
    void typePredicates();
    void numericViews_data();
    void numericViews();
    void toText_data();
    void toText();
    void toJson_data();
    void toJson();
    void toTypedJson_data();
    void toTypedJson();
    void bitString_data();
    void bitString();
    void bitStringFactoryNormalises();
    void equality();
    void accessorsOnWrongType();
    void strings();
    void asDateTime();
    void float32KeepsNanPayload();
};

void TestValue::dataTypeNames_data()
{
    QTest::addColumn<DataType>("type");
    QTest::addColumn<QString>("name");

    QTest::newRow("null-data") << DataType::NullData << u"null-data"_s;
    QTest::newRow("array") << DataType::Array << u"array"_s;
    QTest::newRow("structure") << DataType::Structure << u"structure"_s;
    QTest::newRow("boolean") << DataType::Boolean << u"boolean"_s;
    QTest::newRow("bit-string") << DataType::BitString << u"bit-string"_s;
    QTest::newRow("double-long") << DataType::DoubleLong << u"double-long"_s;
    QTest::newRow("double-long-unsigned") << DataType::DoubleLongUnsigned << u"double-long-unsigned"_s;
    QTest::newRow("octet-string") << DataType::OctetString << u"octet-string"_s;
    QTest::newRow("visible-string") << DataType::VisibleString << u"visible-string"_s;
    QTest::newRow("utf8-string") << DataType::Utf8String << u"utf8-string"_s;
    QTest::newRow("bcd") << DataType::Bcd << u"bcd"_s;
    QTest::newRow("integer") << DataType::Integer << u"integer"_s;
    QTest::newRow("long") << DataType::Long << u"long"_s;
    QTest::newRow("unsigned") << DataType::Unsigned << u"unsigned"_s;
    QTest::newRow("long-unsigned") << DataType::LongUnsigned << u"long-unsigned"_s;
    QTest::newRow("compact-array") << DataType::CompactArray << u"compact-array"_s;
    QTest::newRow("long64") << DataType::Long64 << u"long64"_s;
    QTest::newRow("long64-unsigned") << DataType::Long64Unsigned << u"long64-unsigned"_s;
    QTest::newRow("enum") << DataType::Enum << u"enum"_s;
    QTest::newRow("float32") << DataType::Float32 << u"float32"_s;
    QTest::newRow("float64") << DataType::Float64 << u"float64"_s;
    QTest::newRow("date-time") << DataType::DateTime << u"date-time"_s;
    QTest::newRow("date") << DataType::Date << u"date"_s;
    QTest::newRow("time") << DataType::Time << u"time"_s;
    QTest::newRow("dont-care") << DataType::DontCare << u"dont-care"_s;
    QTest::newRow("tag-7-unknown") << DataType(7) << u"unknown"_s;
    QTest::newRow("tag-0x0b-unknown") << DataType(0x0B) << u"unknown"_s;
    QTest::newRow("tag-0x1c-unknown") << DataType(0x1C) << u"unknown"_s;
}

void TestValue::dataTypeNames()
{
    QFETCH(DataType, type);
    QFETCH(QString, name);
    QCOMPARE(dataTypeName(type), name);
}

void TestValue::knownTags()
{
    const QList<int> known = {0, 1, 2, 3, 4, 5, 6, 9, 10, 12, 13, 15, 16, 17, 18, 19,
                              20, 21, 22, 23, 24, 25, 26, 27, 255};
    for (int tag = 0; tag < 256; ++tag) {
        QVERIFY2(isKnownDataType(quint8(tag)) == known.contains(tag), qPrintable(QString::number(tag)));
        QCOMPARE(dataTypeName(DataType(tag)) != u"unknown"_s, known.contains(tag));
    }
}

void TestValue::typePredicates()
{
    QVERIFY(Value().isNull());
    QVERIFY(!Value::dontCare().isNull());
    QVERIFY(Value::enumeration(1).isInteger());
    QVERIFY(Value::bcd(1).isInteger());
    QVERIFY(!Value::float32(1).isInteger());
    QVERIFY(Value::float64(1).isNumber());
    QVERIFY(!Value::boolean(true).isNumber());
    QVERIFY(!Value::octetString("1"_ba).isNumber());
    QVERIFY(Value::array({}).isContainer());
    QVERIFY(Value::structure({}).isContainer());
    QVERIFY(!Value::compactArray({}).isContainer());
    QCOMPARE(Value::long16(1).type(), DataType::Long);
    QCOMPARE(Value::unsigned8(1).type(), DataType::Unsigned);
    QCOMPARE(Value::time({}).type(), DataType::Time);
}

void TestValue::numericViews_data()
{
    QTest::addColumn<Value>("value");
    QTest::addColumn<std::optional<qint64>>("asInt");
    QTest::addColumn<std::optional<quint64>>("asUInt");
    QTest::addColumn<std::optional<double>>("asDouble");
    QTest::addColumn<std::optional<bool>>("asBool");

    const std::optional<qint64> noInt;
    const std::optional<quint64> noUInt;
    const std::optional<double> noDouble;
    const std::optional<bool> noBool;
    const quint64 u64max = std::numeric_limits<quint64>::max();
    const qint64 i64min = std::numeric_limits<qint64>::min();

    QTest::newRow("integer-minus-5") << Value::integer(-5) << std::optional<qint64>(-5) << noUInt
                                     << std::optional<double>(-5.0) << noBool;
    QTest::newRow("unsigned-1") << Value::unsigned8(1) << std::optional<qint64>(1) << std::optional<quint64>(1)
                                << std::optional<double>(1.0) << std::optional<bool>(true);
    QTest::newRow("enum-0") << Value::enumeration(0) << std::optional<qint64>(0) << std::optional<quint64>(0)
                            << std::optional<double>(0.0) << std::optional<bool>(false);
    QTest::newRow("long-unsigned-2-not-bool") << Value::longUnsigned(2) << std::optional<qint64>(2)
                                              << std::optional<quint64>(2) << std::optional<double>(2.0) << noBool;
    QTest::newRow("long64-unsigned-max") << Value::long64Unsigned(u64max) << noInt << std::optional<quint64>(u64max)
                                         << std::optional<double>(double(u64max)) << noBool;
    QTest::newRow("long64-unsigned-2^63") << Value::long64Unsigned(quint64(1) << 63) << noInt
                                          << std::optional<quint64>(quint64(1) << 63)
                                          << std::optional<double>(9223372036854775808.0) << noBool;
    QTest::newRow("long64-min") << Value::long64(i64min) << std::optional<qint64>(i64min) << noUInt
                                << std::optional<double>(-9223372036854775808.0) << noBool;
    QTest::newRow("float64-2.5-not-integral") << Value::float64(2.5) << noInt << noUInt
                                              << std::optional<double>(2.5) << noBool;
    QTest::newRow("float64-3") << Value::float64(3.0) << std::optional<qint64>(3) << std::optional<quint64>(3)
                               << std::optional<double>(3.0) << noBool;
    QTest::newRow("float64-minus-3") << Value::float64(-3.0) << std::optional<qint64>(-3) << noUInt
                                     << std::optional<double>(-3.0) << noBool;
    QTest::newRow("float64-1e19") << Value::float64(1e19) << noInt
                                  << std::optional<quint64>(10000000000000000000ull)
                                  << std::optional<double>(1e19) << noBool;
    QTest::newRow("float64-2^64-out-of-range") << Value::float64(18446744073709551616.0) << noInt << noUInt
                                               << std::optional<double>(18446744073709551616.0) << noBool;
    QTest::newRow("float32-0.5") << Value::float32(0.5f) << noInt << noUInt << std::optional<double>(0.5) << noBool;
    QTest::newRow("float64-infinity") << Value::float64(std::numeric_limits<double>::infinity()) << noInt << noUInt
                                      << std::optional<double>(std::numeric_limits<double>::infinity()) << noBool;
    QTest::newRow("boolean-true") << Value::boolean(true) << noInt << noUInt << noDouble << std::optional<bool>(true);
    QTest::newRow("octet-string") << Value::octetString("12"_ba) << noInt << noUInt << noDouble << noBool;
    QTest::newRow("null-data") << Value() << noInt << noUInt << noDouble << noBool;
    QTest::newRow("structure") << Value::structure({Value::unsigned8(1)}) << noInt << noUInt << noDouble << noBool;
}

void TestValue::numericViews()
{
    QFETCH(Value, value);
    QFETCH(std::optional<qint64>, asInt);
    QFETCH(std::optional<quint64>, asUInt);
    QFETCH(std::optional<double>, asDouble);
    QFETCH(std::optional<bool>, asBool);
    QCOMPARE(value.toInt64(), asInt);
    QCOMPARE(value.toUInt64(), asUInt);
    QCOMPARE(value.toDouble(), asDouble);
    QCOMPARE(value.toBool(), asBool);
}

void TestValue::toText_data()
{
    QTest::addColumn<Value>("value");
    QTest::addColumn<QString>("text");

    QTest::newRow("null-data") << Value() << u"null"_s;
    QTest::newRow("dont-care") << Value::dontCare() << u"dont-care"_s;
    QTest::newRow("boolean") << Value::boolean(true) << u"true"_s;
    QTest::newRow("double-long-unsigned") << Value::doubleLongUnsigned(300) << u"300"_s;
    QTest::newRow("long-negative") << Value::long16(-200) << u"-200"_s;
    QTest::newRow("long64-unsigned-max") << Value::long64Unsigned(std::numeric_limits<quint64>::max())
                                         << u"18446744073709551615"_s;
    QTest::newRow("float32-0.1") << Value::float32(0.1f) << u"0.1"_s;
    QTest::newRow("float64-300") << Value::float64(300.0) << u"300"_s;
    QTest::newRow("float64-nan") << Value::float64(std::nan("")) << u"NaN"_s;
    QTest::newRow("float32-minus-infinity") << Value::float32(-std::numeric_limits<float>::infinity())
                                            << u"-Infinity"_s;
    QTest::newRow("octet-string") << Value::octetString(QByteArray::fromHex("0a1bff")) << u"0A 1B FF"_s;
    QTest::newRow("octet-string-empty") << Value::octetString({}) << QString();
    QTest::newRow("visible-string-quoted") << Value::visibleString("say \"hi\"\n"_ba)
                                           << u"\"say \\\"hi\\\"\\x0a\""_s;
    QTest::newRow("utf8-string") << Value::utf8String(u"Zähler €"_s) << u"\"Zähler €\""_s;
    QTest::newRow("bit-string") << Value::bitString({QByteArray::fromHex("a5b0"), 12}) << u"101001011011"_s;
    QTest::newRow("date-time") << Value::dateTime(cetClock()) << u"2024-03-05T14:07:00.00+01:00"_s;
    QTest::newRow("date") << Value::date({0xFFFF, 0xFF, 0xFE, 0xFF}) << u"****-**-LD"_s;
    QTest::newRow("time") << Value::time({23, 59, 0xFF, 0xFF}) << u"23:59:**.**"_s;
    QTest::newRow("structure-and-array")
        << Value::structure({Value::octetString(QByteArray::fromHex("0100010800ff")),
                             Value::array({Value::integer(-2), Value::enumeration(30)}), Value()})
        << u"{01 00 01 08 00 FF, [-2, 30], null}"_s;
    QTest::newRow("compact-array") << Value::compactArray({leafType(DataType::Unsigned),
                                                           {Value::unsigned8(7), Value::unsigned8(8)}})
                                   << u"[7, 8]"_s;
}

void TestValue::toText()
{
    QFETCH(Value, value);
    QFETCH(QString, text);
    QCOMPARE(value.toText(), text);
}

void TestValue::toJson_data()
{
    QTest::addColumn<Value>("value");
    QTest::addColumn<QByteArray>("json");

    QTest::newRow("null-data") << Value() << "[null]"_ba;
    QTest::newRow("dont-care") << Value::dontCare() << "[null]"_ba;
    QTest::newRow("boolean") << Value::boolean(false) << "[false]"_ba;
    QTest::newRow("double-long-unsigned-300") << Value::doubleLongUnsigned(300) << "[300]"_ba;
    QTest::newRow("integer-minus-128") << Value::integer(-128) << "[-128]"_ba;
    QTest::newRow("long64-2^53") << Value::long64(two53) << "[9007199254740992]"_ba;
    QTest::newRow("long64-2^53+1-string") << Value::long64(two53 + 1) << "[\"9007199254740993\"]"_ba;
    QTest::newRow("long64-minus-2^53") << Value::long64(-two53) << "[-9007199254740992]"_ba;
    QTest::newRow("long64-minus-2^53-1-string") << Value::long64(-two53 - 1) << "[\"-9007199254740993\"]"_ba;
    QTest::newRow("long64-min-string") << Value::long64(std::numeric_limits<qint64>::min())
                                       << "[\"-9223372036854775808\"]"_ba;
    QTest::newRow("long64-unsigned-max-string") << Value::long64Unsigned(std::numeric_limits<quint64>::max())
                                                << "[\"18446744073709551615\"]"_ba;
    QTest::newRow("float32-0.1") << Value::float32(0.1f) << "[0.1]"_ba;
    QTest::newRow("float64-1.5") << Value::float64(1.5) << "[1.5]"_ba;
    QTest::newRow("float64-nan-string") << Value::float64(std::nan("")) << "[\"NaN\"]"_ba;
    QTest::newRow("float64-infinity-string") << Value::float64(std::numeric_limits<double>::infinity())
                                             << "[\"Infinity\"]"_ba;
    QTest::newRow("octet-string-hex") << Value::octetString(QByteArray::fromHex("0a1b")) << "[\"0A1B\"]"_ba;
    QTest::newRow("visible-string") << Value::visibleString("ABC"_ba) << "[\"ABC\"]"_ba;
    QTest::newRow("utf8-string") << Value::utf8String(u"€"_s) << "[\"€\"]"_ba;
    QTest::newRow("bit-string") << Value::bitString({QByteArray::fromHex("c0"), 3}) << "[\"110\"]"_ba;
    QTest::newRow("date-time") << Value::dateTime(cetClock()) << "[\"2024-03-05T14:07:00.00+01:00\"]"_ba;
    {
        CosemDateTime dt = cetClock();
        dt.time.hundredths = 0xFF;
        dt.deviation = 0;
        QTest::newRow("date-time-no-hundredths-utc") << Value::dateTime(dt) << "[\"2024-03-05T14:07:00Z\"]"_ba;
        dt.date.year = 0xFFFF;
        QTest::newRow("date-time-wildcard-year") << Value::dateTime(dt) << "[\"****-03-05(Tue)T14:07:00.**Z\"]"_ba;
    }
    {
        // Fields a meter may send that pass isFullySpecified() but have no ISO 8601 form: the
        // '*' text comes out whole instead of a string edited at fixed positions.
        CosemDateTime dt = cetClock();
        dt.time.hundredths = 0xFF;
        dt.deviation = CosemDateTime::DeviationNotSpecified;
        QTest::newRow("date-time-no-hundredths-no-deviation") << Value::dateTime(dt) << "[\"2024-03-05T14:07:00\"]"_ba;
        dt.date.year = 9999;
        QTest::newRow("date-time-year-9999") << Value::dateTime(dt) << "[\"9999-03-05T14:07:00\"]"_ba;
        dt.date.year = 10000;
        QTest::newRow("date-time-year-10000") << Value::dateTime(dt) << "[\"10000-03-05T14:07:00.**\"]"_ba;
        dt.date.year = 65534;
        dt.deviation = 0;
        QTest::newRow("date-time-year-65534-utc") << Value::dateTime(dt) << "[\"65534-03-05T14:07:00.**Z\"]"_ba;
        dt.date.year = 2024;
        dt.time.hour = 100;
        QTest::newRow("date-time-hour-100") << Value::dateTime(dt) << "[\"2024-03-05T100:07:00.**Z\"]"_ba;
        dt.time.hour = 24;
        QTest::newRow("date-time-hour-24") << Value::dateTime(dt) << "[\"2024-03-05T24:07:00.**Z\"]"_ba;
        dt.time.hour = 23;
        dt.time.minute = 60;
        QTest::newRow("date-time-minute-60") << Value::dateTime(dt) << "[\"2024-03-05T23:60:00.**Z\"]"_ba;
        dt.time.minute = 59;
        dt.time.second = 59;
        dt.time.hundredths = 100;
        QTest::newRow("date-time-hundredths-100") << Value::dateTime(dt) << "[\"2024-03-05T23:59:59.100Z\"]"_ba;
        dt.time.hundredths = 99;
        dt.deviation = qint16(-(23 * 60 + 59));
        QTest::newRow("date-time-offset-23h59") << Value::dateTime(dt) << "[\"2024-03-05T23:59:59.99+23:59\"]"_ba;
        dt.deviation = qint16(24 * 60);
        QTest::newRow("date-time-offset-minus-24h") << Value::dateTime(dt) << "[\"2024-03-05T23:59:59.99-24:00\"]"_ba;
        dt.deviation = qint16(-(24 * 60));
        dt.time.hundredths = 0xFF;
        QTest::newRow("date-time-offset-24h-no-hundredths") << Value::dateTime(dt) << "[\"2024-03-05T23:59:59.**+24:00\"]"_ba;
    }
    QTest::newRow("structure") << Value::structure({Value::longUnsigned(1), Value::visibleString("abc"_ba)})
                               << "[[1,\"abc\"]]"_ba;
    QTest::newRow("nested-array") << Value::array({Value::array({}), Value::array({Value::boolean(true)})})
                                  << "[[[],[true]]]"_ba;
    QTest::newRow("compact-array") << Value::compactArray({leafType(DataType::Long), {Value::long16(-1)}})
                                   << "[[-1]]"_ba;
}

void TestValue::toJson()
{
    QFETCH(Value, value);
    QFETCH(QByteArray, json);
    QCOMPARE(::json(value.toJson()), json);
}

void TestValue::toTypedJson_data()
{
    QTest::addColumn<Value>("value");
    QTest::addColumn<QByteArray>("json");

    QTest::newRow("null-data") << Value() << R"([{"type":"null-data","value":null}])"_ba;
    QTest::newRow("double-long-unsigned") << Value::doubleLongUnsigned(300)
                                          << R"([{"type":"double-long-unsigned","value":300}])"_ba;
    QTest::newRow("long64-unsigned-big") << Value::long64Unsigned(quint64(two53) + 1)
                                         << R"([{"type":"long64-unsigned","value":"9007199254740993"}])"_ba;
    QTest::newRow("octet-string") << Value::octetString(QByteArray::fromHex("00ff"))
                                  << R"([{"type":"octet-string","value":"00FF"}])"_ba;
    QTest::newRow("date-time") << Value::dateTime(cetClock())
                               << R"([{"clockStatus":128,"type":"date-time","value":"2024-03-05T14:07:00.00+01:00"}])"_ba;
    QTest::newRow("structure")
        << Value::structure({Value::integer(-2), Value::enumeration(30)})
        << R"([{"type":"structure","value":[{"type":"integer","value":-2},{"type":"enum","value":30}]}])"_ba;
    {
        TypeDescription row;
        row.type = DataType::Structure;
        row.children = {leafType(DataType::DateTime), leafType(DataType::DoubleLongUnsigned)};
        TypeDescription arr;
        arr.type = DataType::Array;
        arr.arrayLength = 2;
        arr.children = {leafType(DataType::Unsigned)};
        row.children.push_back(arr);
        QTest::newRow("compact-array")
            << Value::compactArray({row, {}})
            << R"([{"elementType":{"children":[{"type":"date-time"},{"type":"double-long-unsigned"},)"
               R"({"element":{"type":"unsigned"},"length":2,"type":"array"}],"type":"structure"},)"
               R"("type":"compact-array","value":[]}])"_ba;
    }
    QTest::newRow("compact-array-elements")
        << Value::compactArray({leafType(DataType::Unsigned), {Value::unsigned8(9)}})
        << R"([{"elementType":{"type":"unsigned"},"type":"compact-array","value":[{"type":"unsigned","value":9}]}])"_ba;
}

void TestValue::toTypedJson()
{
    QFETCH(Value, value);
    QFETCH(QByteArray, json);
    QCOMPARE(::json(value.toTypedJson()), json);
}

void TestValue::bitString_data()
{
    QTest::addColumn<QByteArray>("bits");
    QTest::addColumn<quint32>("length");
    QTest::addColumn<QString>("text");

    QTest::newRow("0-bits") << QByteArray() << 0u << QString();
    QTest::newRow("1-bit-set") << QByteArray::fromHex("80") << 1u << u"1"_s;
    QTest::newRow("3-bits-padding-ignored") << QByteArray::fromHex("5f") << 3u << u"010"_s;
    QTest::newRow("8-bits") << QByteArray::fromHex("a5") << 8u << u"10100101"_s;
    QTest::newRow("12-bits") << QByteArray::fromHex("a5b0") << 12u << u"101001011011"_s;
    QTest::newRow("17-bits") << QByteArray::fromHex("000180") << 17u << u"00000000000000011"_s;
}

void TestValue::bitString()
{
    QFETCH(QByteArray, bits);
    QFETCH(quint32, length);
    QFETCH(QString, text);
    const BitString b{bits, length};
    QCOMPARE(b.toString(), text);
    for (quint32 i = 0; i < length; ++i)
        QCOMPARE(b.testBit(i), text[qsizetype(i)] == QLatin1Char('1'));
    QVERIFY(!b.testBit(length));
    QVERIFY(!b.testBit(length + 100));
}

void TestValue::bitStringFactoryNormalises()
{
    const Value shortBytes = Value::bitString({QByteArray::fromHex("ff"), 20});
    QCOMPARE(shortBytes.bitString()->bits, QByteArray::fromHex("ff0000"));
    const Value longBytes = Value::bitString({QByteArray::fromHex("ffeedd"), 4});
    QCOMPARE(longBytes.bitString()->bits, QByteArray::fromHex("ff"));
    QVERIFY(Value::bitString({QByteArray::fromHex("ff00"), 8}) == Value::bitString({QByteArray::fromHex("ff"), 8}));
    // Non-zero padding bits are kept: they are what the meter sent.
    QVERIFY(Value::bitString({QByteArray::fromHex("e0"), 3}) != Value::bitString({QByteArray::fromHex("ff"), 3}));
}

void TestValue::equality()
{
    QVERIFY(Value::float64(std::nan("")) == Value::float64(std::nan("")));
    QVERIFY(Value::float64(0.0) != Value::float64(-0.0));
    QVERIFY(Value::float32(1.0f) != Value::float64(1.0));
    QVERIFY(Value::unsigned8(1) != Value::enumeration(1));
    QVERIFY(Value::integer(1) != Value::bcd(1));
    QVERIFY(Value() != Value::dontCare());
    QVERIFY(Value::octetString("a"_ba) != Value::visibleString("a"_ba));

    const CompactArrayData data{leafType(DataType::Unsigned), {Value::unsigned8(1), Value::unsigned8(2)}};
    QVERIFY(Value::compactArray(data) == Value::compactArray(data));
    CompactArrayData other = data;
    other.elements[1] = Value::unsigned8(3);
    QVERIFY(Value::compactArray(data) != Value::compactArray(other));
    other = data;
    other.elementType = leafType(DataType::Enum);
    QVERIFY(Value::compactArray(data) != Value::compactArray(other));

    QVERIFY(Value::structure({Value::array({Value::long16(1)})}) == Value::structure({Value::array({Value::long16(1)})}));
    QVERIFY(Value::structure({Value::array({Value::long16(1)})}) != Value::structure({Value::array({Value::long16(2)})}));
    QVERIFY(Value::array({}) != Value::structure({}));

    const Value copy = Value::compactArray(data);
    const Value copied = copy;
    QVERIFY(copied == copy);
}

void TestValue::accessorsOnWrongType()
{
    const Value number = Value::unsigned8(4);
    QVERIFY(number.bytes().isEmpty());
    QVERIFY(number.string().isEmpty());
    QVERIFY(number.items().empty());
    QVERIFY(number.bitString() == nullptr);
    QVERIFY(number.compactArray() == nullptr);
    QVERIFY(number.dateTime() == nullptr);
    QVERIFY(number.date() == nullptr);
    QVERIFY(number.time() == nullptr);

    Value mutableNumber = Value::unsigned8(4);
    mutableNumber.items().push_back(Value::unsigned8(1));
    QVERIFY(mutableNumber.items().empty()); // the scratch list is emptied on every call
    QVERIFY(mutableNumber == Value::unsigned8(4));

    Value list = Value::array({Value::unsigned8(1)});
    list.items().push_back(Value::unsigned8(2));
    QCOMPARE(list.items().size(), size_t(2));
    QVERIFY(list == Value::array({Value::unsigned8(1), Value::unsigned8(2)}));
}

void TestValue::strings()
{
    QCOMPARE(Value::octetString(QByteArray::fromHex("41e9")).string(), u"Aé"_s);
    QCOMPARE(Value::visibleString("meter-01"_ba).string(), u"meter-01"_s);
    QCOMPARE(Value::visibleString("meter-01"_ba).bytes(), "meter-01"_ba);
    QCOMPARE(Value::utf8String(u"Zähler"_s).string(), u"Zähler"_s);
    QVERIFY(Value::utf8String(u"Zähler"_s).bytes().isEmpty());
}

void TestValue::asDateTime()
{
    const QByteArray clock = QByteArray::fromHex("07e80305020e070000ffc480");
    QCOMPARE(Value::octetString(clock).asDateTime(), std::optional<CosemDateTime>(cetClock()));
    QCOMPARE(Value::dateTime(cetClock()).asDateTime(), std::optional<CosemDateTime>(cetClock()));
    QVERIFY(!Value::octetString(clock.left(11)).asDateTime());
    QVERIFY(!Value::octetString(clock + "x"_ba).asDateTime());
    QVERIFY(!Value::visibleString(clock).asDateTime());
    QVERIFY(!Value::date(cetClock().date).asDateTime());
    QCOMPARE(*Value::date(cetClock().date).date(), cetClock().date);
    QCOMPARE(*Value::time(cetClock().time).time(), cetClock().time);
}

void TestValue::float32KeepsNanPayload()
{
    for (const quint32 bits : {0x7fa00001u, 0xffc00000u, 0x7f800001u, 0x7fffffffu}) {
        const Value v = Value::float32(std::bit_cast<float>(bits));
        QVERIFY(std::isnan(*v.toDouble()));
        QVERIFY(v == Value::float32(std::bit_cast<float>(bits)));
        QVERIFY(v != Value::float32(std::bit_cast<float>(bits ^ 1u)));
    }
}

QTEST_GUILESS_MAIN(TestValue)
#include "tst_value.moc"
