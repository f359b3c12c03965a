#include "testsupport.h"
#include "units.h"

#include <QtCore/QRandomGenerator>
#include <QtCore/QRegularExpression>
#include <QtTest/QTest>

#include <cmath>
#include <limits>

using namespace Qt::StringLiterals;
using dlms::ScalerUnit;
using dlms::Value;

namespace {

Value pair(Value scaler, Value unit)
{
    dlms::ValueList items;
    items.push_back(std::move(scaler));
    items.push_back(std::move(unit));
    return Value::structure(std::move(items));
}

// Splits a decimal text into sign, significant digits and a power of ten, with trailing zeros
// of the digits moved into the exponent, so two spellings of one number compare equal.
struct Decimal {
    bool negative = false;
    QString digits; // no leading or trailing zeros; empty for zero
    int exponent = 0;
    bool operator==(const Decimal &) const = default;
};

Decimal normalise(bool negative, QString digits, int exponent)
{
    while (digits.startsWith(u'0'))
        digits.remove(0, 1);
    while (digits.endsWith(u'0')) {
        digits.chop(1);
        ++exponent;
    }
    if (digits.isEmpty())
        return {};
    return {negative, digits, exponent};
}

Decimal parseDecimal(const QString &text)
{
    QString t = text;
    const bool negative = t.startsWith(u'-');
    if (negative)
        t.remove(0, 1);
    const qsizetype dot = t.indexOf(u'.');
    if (dot < 0)
        return normalise(negative, t, 0);
    const QString frac = t.mid(dot + 1);
    return normalise(negative, t.left(dot) + frac, -int(frac.size()));
}

} // namespace

class TestUnits : public QObject {
    Q_OBJECT

private slots:
    void fromValue_data();
    void fromValue();
    void fromValueRejects_data();
    void fromValueRejects();
    void toValueRoundTrip();
    void symbols_data();
    void symbols();
    void unknownUnits_data();
    void unknownUnits();
    void everyListedUnitHasADescription();
    void scaledValue_data();
    void scaledValue();
    void scaledText_data();
    void scaledText();
    void scaledTextRandom();
};

void TestUnits::fromValue_data()
{
    QTest::addColumn<Value>("value");
    QTest::addColumn<ScalerUnit>("expected");

    QTest::newRow("wh-scaler-0") << pair(Value::integer(0), Value::enumeration(30)) << ScalerUnit{0, 30};
    QTest::newRow("v-scaler-minus-1") << pair(Value::integer(-1), Value::enumeration(35)) << ScalerUnit{-1, 35};
    QTest::newRow("kwh-scaler-3") << pair(Value::integer(3), Value::enumeration(30)) << ScalerUnit{3, 30};
    QTest::newRow("scaler-min") << pair(Value::integer(-128), Value::enumeration(27)) << ScalerUnit{-128, 27};
    QTest::newRow("scaler-max") << pair(Value::integer(127), Value::enumeration(27)) << ScalerUnit{127, 27};
    QTest::newRow("count") << pair(Value::integer(0), Value::enumeration(255)) << ScalerUnit{0, 255};
    QTest::newRow("other-unit") << pair(Value::integer(0), Value::enumeration(254)) << ScalerUnit{0, 254};
    QTest::newRow("unit-0") << pair(Value::integer(0), Value::enumeration(0)) << ScalerUnit{0, 0};
    // Meters send wider integer types for the scaler now and then; the value is what counts.
    QTest::newRow("long-scaler") << pair(Value::long16(-3), Value::enumeration(33)) << ScalerUnit{-3, 33};
    QTest::newRow("long-scaler-min") << pair(Value::long16(-128), Value::enumeration(33)) << ScalerUnit{-128, 33};
    QTest::newRow("double-long-scaler") << pair(Value::doubleLong(2), Value::enumeration(30)) << ScalerUnit{2, 30};
    QTest::newRow("long64-scaler") << pair(Value::long64(-2), Value::enumeration(44)) << ScalerUnit{-2, 44};
    QTest::newRow("unsigned-scaler") << pair(Value::unsigned8(1), Value::enumeration(29)) << ScalerUnit{1, 29};
    QTest::newRow("unsigned-scaler-127") << pair(Value::unsigned8(127), Value::enumeration(29)) << ScalerUnit{127, 29};
    QTest::newRow("long-unsigned-scaler") << pair(Value::longUnsigned(0), Value::enumeration(9)) << ScalerUnit{0, 9};
    QTest::newRow("double-long-unsigned-scaler") << pair(Value::doubleLongUnsigned(6), Value::enumeration(32))
                                                 << ScalerUnit{6, 32};
    QTest::newRow("long64-unsigned-scaler") << pair(Value::long64Unsigned(4), Value::enumeration(31))
                                            << ScalerUnit{4, 31};
}

void TestUnits::fromValue()
{
    QFETCH(Value, value);
    QFETCH(ScalerUnit, expected);
    const auto r = ScalerUnit::fromValue(value);
    QVERIFY2(r.ok(), qPrintable(r.ok() ? QString() : r.error().message));
    QCOMPARE(*r, expected);
}

void TestUnits::fromValueRejects_data()
{
    QTest::addColumn<Value>("value");
    QTest::addColumn<QString>("message");

    QTest::newRow("not-a-structure") << Value::doubleLongUnsigned(30)
                                     << u"scaler_unit: expected a structure of 2 elements, got double-long-unsigned"_s;
    QTest::newRow("null-data") << Value() << u"scaler_unit: expected a structure of 2 elements, got null-data"_s;
    {
        dlms::ValueList items;
        items.push_back(Value::integer(0));
        items.push_back(Value::enumeration(30));
        QTest::newRow("array-of-2") << Value::array(std::move(items))
                                    << u"scaler_unit: expected a structure of 2 elements, got array"_s;
    }
    QTest::newRow("empty-structure") << Value::structure({})
                                     << u"scaler_unit: structure has 0 elements, expected 2"_s;
    {
        dlms::ValueList items;
        items.push_back(Value::integer(0));
        QTest::newRow("one-element") << Value::structure(std::move(items))
                                     << u"scaler_unit: structure has 1 elements, expected 2"_s;
    }
    {
        dlms::ValueList items;
        items.push_back(Value::integer(0));
        items.push_back(Value::enumeration(30));
        items.push_back(Value::enumeration(30));
        QTest::newRow("three-elements") << Value::structure(std::move(items))
                                        << u"scaler_unit: structure has 3 elements, expected 2"_s;
    }
    QTest::newRow("scaler-float") << pair(Value::float32(1.0f), Value::enumeration(30))
                                  << u"scaler_unit: scaler is float32, expected an integer"_s;
    QTest::newRow("scaler-enum") << pair(Value::enumeration(1), Value::enumeration(30))
                                 << u"scaler_unit: scaler is enum, expected an integer"_s;
    QTest::newRow("scaler-boolean") << pair(Value::boolean(true), Value::enumeration(30))
                                    << u"scaler_unit: scaler is boolean, expected an integer"_s;
    QTest::newRow("scaler-octets") << pair(Value::octetString("\x01"_ba), Value::enumeration(30))
                                   << u"scaler_unit: scaler is octet-string, expected an integer"_s;
    QTest::newRow("scaler-128") << pair(Value::long16(128), Value::enumeration(30))
                                << u"scaler_unit: scaler 128 is out of range -128..127"_s;
    QTest::newRow("scaler-minus-129") << pair(Value::long16(-129), Value::enumeration(30))
                                      << u"scaler_unit: scaler -129 is out of range -128..127"_s;
    QTest::newRow("scaler-unsigned-255") << pair(Value::unsigned8(255), Value::enumeration(30))
                                         << u"scaler_unit: scaler 255 is out of range -128..127"_s;
    QTest::newRow("scaler-int64-min") << pair(Value::long64(std::numeric_limits<qint64>::min()), Value::enumeration(30))
                                      << u"scaler_unit: scaler -9223372036854775808 is out of range -128..127"_s;
    QTest::newRow("scaler-uint64-max")
        << pair(Value::long64Unsigned(std::numeric_limits<quint64>::max()), Value::enumeration(30))
        << u"scaler_unit: scaler 18446744073709551615 is out of range -128..127"_s;
    QTest::newRow("unit-unsigned") << pair(Value::integer(0), Value::unsigned8(30))
                                   << u"scaler_unit: unit is unsigned, expected enum"_s;
    QTest::newRow("unit-null") << pair(Value::integer(0), Value())
                               << u"scaler_unit: unit is null-data, expected enum"_s;
    QTest::newRow("swapped") << pair(Value::enumeration(30), Value::integer(0))
                             << u"scaler_unit: scaler is enum, expected an integer"_s;
}

void TestUnits::fromValueRejects()
{
    QFETCH(Value, value);
    QFETCH(QString, message);
    const auto r = ScalerUnit::fromValue(value);
    QVERIFY(!r.ok());
    QCOMPARE(r.error().code, dlms::ErrorCode::Malformed);
    QCOMPARE(r.error().message, message);
}

void TestUnits::toValueRoundTrip()
{
    for (int scaler = -128; scaler <= 127; ++scaler) {
        for (int unit : {0, 1, 27, 30, 35, 44, 174, 254, 255}) {
            const ScalerUnit su{qint8(scaler), quint8(unit)};
            const Value v = su.toValue();
            QCOMPARE(v.type(), dlms::DataType::Structure);
            QCOMPARE(v.items().size(), size_t(2));
            QCOMPARE(v.items()[0].type(), dlms::DataType::Integer);
            QCOMPARE(v.items()[1].type(), dlms::DataType::Enum);
            QCOMPARE(v.items()[0].toInt64(), std::optional<qint64>(scaler));
            QCOMPARE(v.items()[1].toInt64(), std::optional<qint64>(unit));
            const auto back = ScalerUnit::fromValue(v);
            QVERIFY(back.ok());
            QCOMPARE(*back, su);
        }
    }
    QCOMPARE(ScalerUnit{}, (ScalerUnit{0, 255}));
}

void TestUnits::symbols_data()
{
    QTest::addColumn<int>("unit");
    QTest::addColumn<QString>("symbol");
    QTest::addColumn<QString>("description");

    const auto row = [](int unit, const QString &symbol, const QString &description) {
        QTest::newRow(qPrintable(u"%1-%2"_s.arg(unit).arg(symbol.isEmpty() ? u"none"_s : symbol)))
            << unit << symbol << description;
    };
    row(1, u"a"_s, u"time (year)"_s);
    row(2, u"mo"_s, u"time (month)"_s);
    row(3, u"wk"_s, u"time (week)"_s);
    row(4, u"d"_s, u"time (day)"_s);
    row(5, u"h"_s, u"time (hour)"_s);
    row(6, u"min"_s, u"time (minute)"_s);
    row(7, u"s"_s, u"time (second)"_s);
    row(8, u"°"_s, u"phase angle"_s);
    row(9, u"°C"_s, u"temperature"_s);
    row(10, u"currency"_s, u"local currency"_s);
    row(11, u"m"_s, u"length"_s);
    row(12, u"m/s"_s, u"speed"_s);
    row(13, u"m³"_s, u"volume"_s);
    row(14, u"m³"_s, u"corrected volume"_s);
    row(15, u"m³/h"_s, u"volume flux"_s);
    row(17, u"m³/d"_s, u"volume flux"_s);
    row(19, u"l"_s, u"volume"_s);
    row(20, u"kg"_s, u"mass"_s);
    row(21, u"N"_s, u"force"_s);
    row(22, u"Nm"_s, u"energy"_s);
    row(23, u"Pa"_s, u"pressure"_s);
    row(24, u"bar"_s, u"pressure"_s);
    row(25, u"J"_s, u"energy"_s);
    row(26, u"J/h"_s, u"thermal power"_s);
    row(27, u"W"_s, u"active power"_s);
    row(28, u"VA"_s, u"apparent power"_s);
    row(29, u"var"_s, u"reactive power"_s);
    row(30, u"Wh"_s, u"active energy"_s);
    row(31, u"VAh"_s, u"apparent energy"_s);
    row(32, u"varh"_s, u"reactive energy"_s);
    row(33, u"A"_s, u"current"_s);
    row(34, u"C"_s, u"electrical charge"_s);
    row(35, u"V"_s, u"voltage"_s);
    row(36, u"V/m"_s, u"electric field strength"_s);
    row(37, u"F"_s, u"capacitance"_s);
    row(38, u"Ω"_s, u"resistance"_s);
    row(39, u"Ωm²/m"_s, u"resistivity"_s);
    row(40, u"Wb"_s, u"magnetic flux"_s);
    row(41, u"T"_s, u"magnetic flux density"_s);
    row(42, u"A/m"_s, u"magnetic field strength"_s);
    row(43, u"H"_s, u"inductance"_s);
    row(44, u"Hz"_s, u"frequency"_s);
    row(45, u"1/(Wh)"_s, u"active energy meter constant"_s);
    row(46, u"1/(varh)"_s, u"reactive energy meter constant"_s);
    row(47, u"1/(VAh)"_s, u"apparent energy meter constant"_s);
    row(48, u"V²h"_s, u"volt-squared hours"_s);
    row(49, u"A²h"_s, u"ampere-squared hours"_s);
    row(50, u"kg/s"_s, u"mass flux"_s);
    row(51, u"S"_s, u"conductance"_s);
    row(52, u"K"_s, u"temperature"_s);
    row(55, u"1/m³"_s, u"volume meter constant"_s);
    row(56, u"%"_s, u"percentage"_s);
    row(57, u"Ah"_s, u"ampere-hours"_s);
    row(60, u"Wh/m³"_s, u"energy per volume"_s);
    row(61, u"J/m³"_s, u"calorific value"_s);
    row(62, u"mol %"_s, u"molar fraction"_s);
    row(63, u"g/m³"_s, u"mass density"_s);
    row(64, u"Pa s"_s, u"dynamic viscosity"_s);
    row(65, u"J/kg"_s, u"specific energy"_s);
    row(70, u"dBm"_s, u"signal strength"_s);
    row(71, u"dBµV"_s, u"signal strength"_s);
    row(72, u"dB"_s, u"logarithmic ratio"_s);
    row(131, u"°F"_s, u"temperature (Fahrenheit)"_s);
    row(173, u"Btu/h"_s, u"power (Btu per hour)"_s);
    row(254, QString(), u"other unit"_s);
    row(255, QString(), u"count (no unit)"_s);
}

void TestUnits::symbols()
{
    QFETCH(int, unit);
    QFETCH(QString, symbol);
    QFETCH(QString, description);
    QCOMPARE(dlms::unitSymbol(quint8(unit)), symbol);
    QCOMPARE(dlms::unitDescription(quint8(unit)), description);
}

void TestUnits::unknownUnits_data()
{
    QTest::addColumn<int>("unit");
    for (int u : {0, 58, 59, 68, 69, 73, 100, 127, 175, 200, 253})
        QTest::newRow(qPrintable(u"unit-%1"_s.arg(u))) << u;
}

void TestUnits::unknownUnits()
{
    QFETCH(int, unit);
    QCOMPARE(dlms::unitSymbol(quint8(unit)), QString());
    QCOMPARE(dlms::unitDescription(quint8(unit)), u"unit %1"_s.arg(unit));
}

void TestUnits::everyListedUnitHasADescription()
{
    // The whole contiguous block 1..57 of the table is defined; each has a symbol.
    for (int u = 1; u <= 57; ++u) {
        QVERIFY2(!dlms::unitSymbol(quint8(u)).isEmpty(), qPrintable(QString::number(u)));
        QVERIFY2(!dlms::unitDescription(quint8(u)).startsWith(u"unit "_s), qPrintable(QString::number(u)));
    }
    for (int u = 128; u <= 174; ++u)
        QVERIFY2(!dlms::unitSymbol(quint8(u)).isEmpty(), qPrintable(QString::number(u)));
}

void TestUnits::scaledValue_data()
{
    QTest::addColumn<Value>("raw");
    QTest::addColumn<int>("scaler");
    QTest::addColumn<bool>("numeric");
    QTest::addColumn<double>("expected");

    QTest::newRow("u32-0") << Value::doubleLongUnsigned(12345678) << 0 << true << 12345678.0;
    QTest::newRow("u32-minus-3") << Value::doubleLongUnsigned(12345678) << -3 << true << 12345.678;
    QTest::newRow("five-milli") << Value::long16(5) << -3 << true << 0.005;
    QTest::newRow("u16-minus-1") << Value::longUnsigned(2314) << -1 << true << 231.4;
    QTest::newRow("i8-negative") << Value::integer(-1) << -1 << true << -0.1;
    QTest::newRow("times-1000") << Value::unsigned8(7) << 3 << true << 7000.0;
    QTest::newRow("enum") << Value::enumeration(3) << 0 << true << 3.0;
    QTest::newRow("i64-min") << Value::long64(std::numeric_limits<qint64>::min()) << 0 << true
                             << -9223372036854775808.0;
    QTest::newRow("u64-max-minus-19") << Value::long64Unsigned(std::numeric_limits<quint64>::max()) << -19 << true
                                      << 1.8446744073709551615;
    QTest::newRow("f64") << Value::float64(1.5) << 2 << true << 150.0;
    QTest::newRow("f32") << Value::float32(0.5f) << -1 << true << 0.05;
    QTest::newRow("scaler-min") << Value::doubleLong(1) << -128 << true << 1e-128;
    QTest::newRow("scaler-max") << Value::doubleLong(1) << 127 << true << 1e127;
    QTest::newRow("octet-string") << Value::octetString("abc"_ba) << 0 << false << 0.0;
    QTest::newRow("null") << Value() << -1 << false << 0.0;
    QTest::newRow("boolean") << Value::boolean(true) << 0 << false << 0.0;
    QTest::newRow("structure") << Value::structure({}) << 0 << false << 0.0;
}

void TestUnits::scaledValue()
{
    QFETCH(Value, raw);
    QFETCH(int, scaler);
    QFETCH(bool, numeric);
    QFETCH(double, expected);
    const auto v = dlms::scaledValue(raw, qint8(scaler));
    QCOMPARE(v.has_value(), numeric);
    if (numeric)
        QCOMPARE(*v, expected);
}

void TestUnits::scaledText_data()
{
    QTest::addColumn<Value>("raw");
    QTest::addColumn<int>("scaler");
    QTest::addColumn<QString>("expected");

    constexpr qint64 i64min = std::numeric_limits<qint64>::min();
    constexpr qint64 i64max = std::numeric_limits<qint64>::max();
    constexpr quint64 u64max = std::numeric_limits<quint64>::max();

    QTest::newRow("zero-minus-2") << Value::doubleLong(0) << -2 << u"0"_s;
    QTest::newRow("zero-plus-5") << Value::doubleLong(0) << 5 << u"0"_s;
    QTest::newRow("zero-scaler-min") << Value::long64(0) << -128 << u"0"_s;
    QTest::newRow("five-minus-3") << Value::long16(5) << -3 << u"0.005"_s;
    QTest::newRow("12345-0") << Value::doubleLongUnsigned(12345) << 0 << u"12345"_s;
    QTest::newRow("7-plus-3") << Value::unsigned8(7) << 3 << u"7000"_s;
    QTest::newRow("minus-1-minus-1") << Value::integer(-1) << -1 << u"-0.1"_s;
    QTest::newRow("123456-minus-3") << Value::doubleLong(123456) << -3 << u"123.456"_s;
    QTest::newRow("minus-5-minus-2") << Value::long16(-5) << -2 << u"-0.05"_s;
    QTest::newRow("12-plus-2") << Value::longUnsigned(12) << 2 << u"1200"_s;
    QTest::newRow("trailing-zeros-dropped") << Value::doubleLong(1200) << -2 << u"12"_s;
    QTest::newRow("one-trailing-zero") << Value::doubleLong(1230) << -2 << u"12.3"_s;
    QTest::newRow("ten-minus-1") << Value::doubleLong(10) << -1 << u"1"_s;
    QTest::newRow("exact-digits-count") << Value::doubleLong(123) << -3 << u"0.123"_s;
    QTest::newRow("one-more-digit") << Value::doubleLong(1234) << -3 << u"1.234"_s;
    QTest::newRow("voltage") << Value::longUnsigned(2314) << -1 << u"231.4"_s;
    QTest::newRow("energy-kwh") << Value::doubleLongUnsigned(12345678) << -3 << u"12345.678"_s;
    QTest::newRow("negative-large-plus") << Value::doubleLong(-42) << 4 << u"-420000"_s;

    QTest::newRow("i8-min") << Value::integer(-128) << 0 << u"-128"_s;
    QTest::newRow("i8-max-minus-1") << Value::integer(127) << -1 << u"12.7"_s;
    QTest::newRow("i16-min-minus-2") << Value::long16(-32768) << -2 << u"-327.68"_s;
    QTest::newRow("i32-min-minus-1") << Value::doubleLong(std::numeric_limits<qint32>::min()) << -1
                                     << u"-214748364.8"_s;
    QTest::newRow("i32-max-plus-1") << Value::doubleLong(std::numeric_limits<qint32>::max()) << 1
                                    << u"21474836470"_s;
    QTest::newRow("u8-max-minus-1") << Value::unsigned8(255) << -1 << u"25.5"_s;
    QTest::newRow("u16-max-minus-3") << Value::longUnsigned(65535) << -3 << u"65.535"_s;
    QTest::newRow("u32-max-minus-9") << Value::doubleLongUnsigned(4294967295u) << -9 << u"4.294967295"_s;
    QTest::newRow("u32-max-minus-10") << Value::doubleLongUnsigned(4294967295u) << -10 << u"0.4294967295"_s;
    QTest::newRow("enum") << Value::enumeration(30) << 0 << u"30"_s;
    QTest::newRow("bcd") << Value::bcd(-12) << -1 << u"-1.2"_s;

    QTest::newRow("i64-min-minus-3") << Value::long64(i64min) << -3 << u"-9223372036854775.808"_s;
    QTest::newRow("i64-min-0") << Value::long64(i64min) << 0 << u"-9223372036854775808"_s;
    QTest::newRow("i64-min-minus-19") << Value::long64(i64min) << -19 << u"-0.9223372036854775808"_s;
    QTest::newRow("i64-min-minus-18") << Value::long64(i64min) << -18 << u"-9.223372036854775808"_s;
    QTest::newRow("i64-max-minus-1") << Value::long64(i64max) << -1 << u"922337203685477580.7"_s;
    QTest::newRow("i64-max-plus-3") << Value::long64(i64max) << 3 << u"9223372036854775807000"_s;
    QTest::newRow("u64-max-0") << Value::long64Unsigned(u64max) << 0 << u"18446744073709551615"_s;
    QTest::newRow("u64-max-minus-19") << Value::long64Unsigned(u64max) << -19 << u"1.8446744073709551615"_s;
    QTest::newRow("u64-max-minus-20") << Value::long64Unsigned(u64max) << -20 << u"0.18446744073709551615"_s;
    QTest::newRow("u64-max-minus-21") << Value::long64Unsigned(u64max) << -21 << u"0.018446744073709551615"_s;
    QTest::newRow("u64-max-plus-127") << Value::long64Unsigned(u64max) << 127
                                      << u"18446744073709551615"_s + QString(127, u'0');
    QTest::newRow("i64-min-scaler-min") << Value::long64(i64min) << -128
                                        << u"-0."_s + QString(128 - 19, u'0') + u"9223372036854775808"_s;
    QTest::newRow("one-scaler-min") << Value::integer(1) << -128 << u"0."_s + QString(127, u'0') + u"1"_s;
    QTest::newRow("minus-one-scaler-max") << Value::integer(-1) << 127 << u"-1"_s + QString(127, u'0');
    QTest::newRow("u64-power-of-ten") << Value::long64Unsigned(10000000000000000000ull) << -19 << u"1"_s;

    QTest::newRow("f64-plain") << Value::float64(1.5) << 0 << u"1.5"_s;
    QTest::newRow("f64-tenth") << Value::float64(0.1) << 0 << u"0.1"_s;
    QTest::newRow("f64-scaled-down") << Value::float64(1234.5) << -2 << u"12.345"_s;
    QTest::newRow("f64-scaled-up") << Value::float64(-2.5) << 1 << u"-25"_s;
    QTest::newRow("f64-integer-valued") << Value::float64(230.0) << 0 << u"230"_s;
    QTest::newRow("f32-tenth") << Value::float32(0.1f) << 0 << u"0.1"_s;
    QTest::newRow("f32-scaled") << Value::float32(1.1f) << -1 << u"0.11"_s;
    QTest::newRow("f32-frequency") << Value::float32(49.98f) << 0 << u"49.98"_s;
    QTest::newRow("f64-nan") << Value::float64(std::numeric_limits<double>::quiet_NaN()) << 0 << u"NaN"_s;
    QTest::newRow("f64-inf") << Value::float64(std::numeric_limits<double>::infinity()) << -2 << u"Infinity"_s;
    QTest::newRow("f32-minus-inf") << Value::float32(-std::numeric_limits<float>::infinity()) << 0
                                   << u"-Infinity"_s;
    QTest::newRow("f32-overflow-by-scaler") << Value::float32(1.0f) << 127 << u"Infinity"_s;

    QTest::newRow("octet-string") << Value::octetString("\x01\xab"_ba) << -3 << Value::octetString("\x01\xab"_ba).toText();
    QTest::newRow("visible-string") << Value::visibleString("ABC"_ba) << 2 << Value::visibleString("ABC"_ba).toText();
    QTest::newRow("null") << Value() << 0 << Value().toText();
}

void TestUnits::scaledText()
{
    QFETCH(Value, raw);
    QFETCH(int, scaler);
    QFETCH(QString, expected);
    QCOMPARE(dlms::scaledText(raw, qint8(scaler)), expected);
}

void TestUnits::scaledTextRandom()
{
    // Independent check: reading the text back as a decimal must give raw × 10^scaler exactly,
    // in canonical form (no leading zeros, no trailing fraction zeros, "0" for zero).
    static const QRegularExpression canonical(u"^(0|-?[1-9][0-9]*|-?(0|[1-9][0-9]*)\\.[0-9]*[1-9])$"_s);
    const quint32 seed = 20240115;
    QRandomGenerator rng(seed);
    for (int i = 0; i < 20000; ++i) {
        const int scaler = int(rng.bounded(256u)) - 128;
        const bool useUnsigned = rng.bounded(4u) == 0;
        // Mix full-width values with small ones so short digit strings are covered too; the
        // shift is drawn separately so the sequence does not depend on evaluation order.
        const quint64 bits = rng.generate64();
        const int shift = int(rng.bounded(64u));
        const Value raw = useUnsigned ? Value::long64Unsigned(bits >> shift)
                                      : Value::long64(qint64(bits) >> shift);
        const QString text = dlms::scaledText(raw, qint8(scaler));
        const QString ctx = u"seed %1 iteration %2 raw %3 scaler %4 text %5"_s.arg(seed)
                                .arg(i)
                                .arg(raw.toText())
                                .arg(scaler)
                                .arg(text);
        QVERIFY2(canonical.match(text).hasMatch(), qPrintable(ctx));

        const QString rawText = raw.toText();
        const bool negative = rawText.startsWith(u'-');
        const Decimal expected = normalise(negative, negative ? rawText.mid(1) : rawText, scaler);
        QVERIFY2(parseDecimal(text) == expected, qPrintable(ctx));

        const auto approx = dlms::scaledValue(raw, qint8(scaler));
        QVERIFY2(approx.has_value(), qPrintable(ctx));
        const double parsed = text.toDouble();
        if (std::isfinite(parsed) && parsed != 0.0 && std::fpclassify(parsed) == FP_NORMAL)
            QVERIFY2(std::abs(parsed - *approx) <= std::abs(parsed) * 1e-12, qPrintable(ctx));
    }
}

QTEST_GUILESS_MAIN(TestUnits)
#include "tst_units.moc"
