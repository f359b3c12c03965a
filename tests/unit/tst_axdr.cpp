#include "axdr.h"
#include "testsupport.h"

#include <QtCore/QRandomGenerator>
#include <QtTest/QTest>

#include <bit>
#include <cmath>
#include <limits>

using namespace dlms;
using namespace dlms::test;
using namespace Qt::StringLiterals;

namespace {

QByteArray repeated(const char *hexUnit, int times)
{
    return hex(hexUnit).repeated(times);
}

Value u16(quint16 v) { return Value::longUnsigned(v); }

TypeDescription structType(std::vector<TypeDescription> children)
{
    TypeDescription d;
    d.type = DataType::Structure;
    d.children = std::move(children);
    return d;
}

TypeDescription arrayType(quint16 n, TypeDescription child)
{
    TypeDescription d;
    d.type = DataType::Array;
    d.arrayLength = n;
    d.children.push_back(std::move(child));
    return d;
}

QString codeLetters(const QByteArray &vector)
{
    // One letter per prefix length: what decoding the first n bytes reports.
    QString letters;
    for (qsizetype n = 0; n < vector.size(); ++n) {
        const auto r = axdr::decodeAll(QByteArrayView(vector).first(n));
        if (r.ok()) {
            letters += QLatin1Char('+');
            continue;
        }
        switch (r.error().code) {
        case ErrorCode::Truncated: letters += QLatin1Char('T'); break;
        case ErrorCode::LengthTooLarge: letters += QLatin1Char('L'); break;
        case ErrorCode::Malformed: letters += QLatin1Char('M'); break;
        default: letters += QLatin1Char('?'); break;
        }
    }
    return letters;
}

// Random values of every type, nesting to `depth`. Compact-array descriptions avoid zero-size
// parts, which the decoder refuses by design.
class RandomValues {
public:
    explicit RandomValues(quint32 seed) : m_rng(seed) {}

    Value any(int depth)
    {
        static constexpr DataType types[] = {
            DataType::NullData, DataType::DontCare, DataType::Boolean, DataType::BitString,
            DataType::DoubleLong, DataType::DoubleLongUnsigned, DataType::OctetString,
            DataType::VisibleString, DataType::Utf8String, DataType::Bcd, DataType::Integer,
            DataType::Long, DataType::Unsigned, DataType::LongUnsigned, DataType::Long64,
            DataType::Long64Unsigned, DataType::Enum, DataType::Float32, DataType::Float64,
            DataType::DateTime, DataType::Date, DataType::Time, DataType::Array,
            DataType::Structure, DataType::CompactArray};
        constexpr int leafCount = 22;
        const int pick = int(m_rng.bounded(depth > 0 ? int(std::size(types)) : leafCount));
        const DataType t = types[pick];
        switch (t) {
        case DataType::Array:
        case DataType::Structure: {
            ValueList items;
            const int n = int(m_rng.bounded(5));
            for (int i = 0; i < n; ++i)
                items.push_back(any(depth - 1));
            return t == DataType::Array ? Value::array(std::move(items))
                                        : Value::structure(std::move(items));
        }
        case DataType::CompactArray: {
            CompactArrayData data;
            data.elementType = description(depth - 1);
            const int n = int(m_rng.bounded(5));
            for (int i = 0; i < n; ++i)
                data.elements.push_back(conforming(data.elementType));
            return Value::compactArray(std::move(data));
        }
        case DataType::NullData:
            return Value();
        case DataType::DontCare:
            return Value::dontCare();
        default:
            return leaf(t);
        }
    }

    TypeDescription description(int depth)
    {
        static constexpr DataType leaves[] = {
            DataType::Boolean, DataType::BitString, DataType::DoubleLong,
            DataType::DoubleLongUnsigned, DataType::OctetString, DataType::VisibleString,
            DataType::Utf8String, DataType::Bcd, DataType::Integer, DataType::Long,
            DataType::Unsigned, DataType::LongUnsigned, DataType::Long64,
            DataType::Long64Unsigned, DataType::Enum, DataType::Float32, DataType::Float64,
            DataType::DateTime, DataType::Date, DataType::Time};
        const int choice = int(m_rng.bounded(depth > 0 ? 10 : 8));
        if (choice == 8)
            return arrayType(quint16(1 + m_rng.bounded(3)), description(depth - 1));
        if (choice == 9) {
            std::vector<TypeDescription> children;
            const int n = 1 + int(m_rng.bounded(3));
            for (int i = 0; i < n; ++i)
                children.push_back(description(depth - 1));
            return structType(std::move(children));
        }
        return leafType(leaves[m_rng.bounded(int(std::size(leaves)))]);
    }

    Value conforming(const TypeDescription &d)
    {
        ValueList items;
        if (d.type == DataType::Array) {
            for (int i = 0; i < d.arrayLength; ++i)
                items.push_back(conforming(d.children.front()));
            return Value::array(std::move(items));
        }
        if (d.type == DataType::Structure) {
            for (const TypeDescription &c : d.children)
                items.push_back(conforming(c));
            return Value::structure(std::move(items));
        }
        return leaf(d.type);
    }

    QByteArray bytes(int maxLen) { return randomBytes(m_rng, m_rng.bounded(maxLen + 1)); }

    Value leaf(DataType t)
    {
        switch (t) {
        case DataType::Boolean: return Value::boolean(m_rng.bounded(2) == 1);
        case DataType::BitString: {
            BitString b;
            b.length = m_rng.bounded(40);
            b.bits = bytes(0);
            b.bits.resize((b.length + 7) / 8);
            for (char &c : b.bits)
                c = char(m_rng.bounded(256));
            return Value::bitString(b);
        }
        case DataType::DoubleLong: return Value::doubleLong(qint32(m_rng.generate()));
        case DataType::DoubleLongUnsigned: return Value::doubleLongUnsigned(m_rng.generate());
        case DataType::OctetString: return Value::octetString(bytes(m_rng.bounded(10) == 0 ? 300 : 20));
        case DataType::VisibleString: {
            QByteArray s = bytes(20);
            for (char &c : s)
                c = char(0x20 + quint8(c) % 0x5F);
            return Value::visibleString(s);
        }
        case DataType::Utf8String: {
            QString s;
            const int n = int(m_rng.bounded(12));
            for (int i = 0; i < n; ++i) {
                char16_t c = char16_t(m_rng.bounded(0x20, 0xD7FF));
                s += QChar(c);
            }
            return Value::utf8String(s);
        }
        case DataType::Bcd: return Value::bcd(qint8(m_rng.bounded(256)));
        case DataType::Integer: return Value::integer(qint8(m_rng.bounded(256)));
        case DataType::Long: return Value::long16(qint16(m_rng.bounded(65536)));
        case DataType::Unsigned: return Value::unsigned8(quint8(m_rng.bounded(256)));
        case DataType::LongUnsigned: return Value::longUnsigned(quint16(m_rng.bounded(65536)));
        case DataType::Long64: return Value::long64(qint64(m_rng.generate64()));
        case DataType::Long64Unsigned: return Value::long64Unsigned(m_rng.generate64());
        case DataType::Enum: return Value::enumeration(quint8(m_rng.bounded(256)));
        case DataType::Float32: return Value::float32(std::bit_cast<float>(m_rng.generate()));
        case DataType::Float64: return Value::float64(std::bit_cast<double>(m_rng.generate64()));
        case DataType::DateTime: {
            const QByteArray b = randomBytes(m_rng, 12);
            return Value::dateTime(CosemDateTime::fromBytes(b).value());
        }
        case DataType::Date: {
            const QByteArray b = randomBytes(m_rng, 5);
            return Value::date(cosemDateFromBytes(b).value());
        }
        case DataType::Time: {
            const QByteArray b = randomBytes(m_rng, 4);
            return Value::time(cosemTimeFromBytes(b).value());
        }
        default:
            return Value();
        }
    }

private:
    QRandomGenerator m_rng;
};

int depthOf(const Value &v)
{
    int d = 0;
    if (v.isContainer()) {
        for (const Value &c : v.items())
            d = std::max(d, depthOf(c));
        return d + 1;
    }
    if (const auto *ca = v.compactArray()) {
        for (const Value &c : ca->elements)
            d = std::max(d, depthOf(c));
        return d + 1;
    }
    return 0;
}

} // namespace

class TestAxdr : public QObject {
    Q_OBJECT

private slots:
    void decodeVectors_data();
    void decodeVectors();
    void decodeErrors_data();
    void decodeErrors();
    void truncatedAtEveryByte_data();
    void truncatedAtEveryByte();
    void lengthForms_data();
    void lengthForms();
    void lengthErrors_data();
    void lengthErrors();
    void encodeLengthBoundaries_data();
    void encodeLengthBoundaries();
    void depthLimit_data();
    void depthLimit();
    void elementLimit_data();
    void elementLimit();
    void decodeAdvancesReader();
    void bitStringEncodingPads();
    void randomRoundTrip();
    void profileGenericBuffer();
};

void TestAxdr::decodeVectors_data()
{
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<Value>("expected");
    QTest::addColumn<bool>("canonical"); // encode(expected) gives exactly `bytes`

    QTest::newRow("null-data") << hex("00") << Value() << true;
    QTest::newRow("dont-care") << hex("ff") << Value::dontCare() << true;
    QTest::newRow("boolean-true") << hex("0301") << Value::boolean(true) << true;
    QTest::newRow("boolean-false") << hex("0300") << Value::boolean(false) << true;
    QTest::newRow("boolean-nonzero-is-true") << hex("0305") << Value::boolean(true) << false;
    QTest::newRow("bit-string-0-bits") << hex("0400") << Value::bitString({{}, 0}) << true;
    QTest::newRow("bit-string-8-bits") << hex("0408a5") << Value::bitString({hex("a5"), 8}) << true;
    QTest::newRow("bit-string-12-bits") << hex("040ca5b0") << Value::bitString({hex("a5b0"), 12}) << true;
    QTest::newRow("bit-string-1-bit") << hex("040180") << Value::bitString({hex("80"), 1}) << true;
    QTest::newRow("double-long-minus-2") << hex("05fffffffe") << Value::doubleLong(-2) << true;
    QTest::newRow("double-long-min") << hex("0580000000")
                                     << Value::doubleLong(std::numeric_limits<qint32>::min()) << true;
    QTest::newRow("double-long-unsigned-300") << hex("060000012c") << Value::doubleLongUnsigned(300) << true;
    QTest::newRow("double-long-unsigned-max") << hex("06ffffffff") << Value::doubleLongUnsigned(0xFFFFFFFFu) << true;
    QTest::newRow("octet-string-empty") << hex("0900") << Value::octetString({}) << true;
    QTest::newRow("octet-string-clock")
        << hex("090c07e80305020e070000ffc480") << Value::octetString(hex("07e80305020e070000ffc480")) << true;
    QTest::newRow("octet-string-127-short-form")
        << hex("097f") + repeated("ab", 127) << Value::octetString(repeated("ab", 127)) << true;
    QTest::newRow("octet-string-128-0x81")
        << hex("098180") + repeated("cd", 128) << Value::octetString(repeated("cd", 128)) << true;
    QTest::newRow("octet-string-255-0x81")
        << hex("0981ff") + repeated("01", 255) << Value::octetString(repeated("01", 255)) << true;
    QTest::newRow("octet-string-256-0x82")
        << hex("09820100") + repeated("02", 256) << Value::octetString(repeated("02", 256)) << true;
    QTest::newRow("octet-string-65535-0x82")
        << hex("0982ffff") + repeated("03", 65535) << Value::octetString(repeated("03", 65535)) << true;
    QTest::newRow("octet-string-65536-0x83")
        << hex("0983010000") + repeated("04", 65536) << Value::octetString(repeated("04", 65536)) << true;
    QTest::newRow("octet-string-65536-0x84")
        << hex("098400010000") + repeated("05", 65536) << Value::octetString(repeated("05", 65536)) << false;
    QTest::newRow("octet-string-5-non-minimal-0x81")
        << hex("0981050102030405") << Value::octetString(hex("0102030405")) << false;
    QTest::newRow("octet-string-5-non-minimal-0x84")
        << hex("0984000000050102030405") << Value::octetString(hex("0102030405")) << false;
    QTest::newRow("visible-string") << hex("0a03414243") << Value::visibleString("ABC"_ba) << true;
    QTest::newRow("utf8-string-euro") << hex("0c03e282ac") << Value::utf8String(u"€"_s) << true;
    QTest::newRow("bcd") << hex("0d12") << Value::bcd(0x12) << true;
    QTest::newRow("integer-minus-128") << hex("0f80") << Value::integer(-128) << true;
    QTest::newRow("integer-minus-1") << hex("0fff") << Value::integer(-1) << true;
    QTest::newRow("long-minus-200") << hex("10ff38") << Value::long16(-200) << true;
    QTest::newRow("unsigned-255") << hex("11ff") << Value::unsigned8(255) << true;
    QTest::newRow("long-unsigned-0x1234") << hex("121234") << u16(0x1234) << true;
    QTest::newRow("long64-minus-2") << hex("14fffffffffffffffe") << Value::long64(-2) << true;
    QTest::newRow("long64-min") << hex("148000000000000000")
                                << Value::long64(std::numeric_limits<qint64>::min()) << true;
    QTest::newRow("long64-unsigned-max") << hex("15ffffffffffffffff")
                                         << Value::long64Unsigned(std::numeric_limits<quint64>::max()) << true;
    QTest::newRow("enum-3") << hex("1603") << Value::enumeration(3) << true;
    QTest::newRow("float32-1.5") << hex("173fc00000") << Value::float32(1.5f) << true;
    QTest::newRow("float32-minus-2.5") << hex("17c0200000") << Value::float32(-2.5f) << true;
    QTest::newRow("float32-negative-zero") << hex("1780000000") << Value::float32(-0.0f) << true;
    QTest::newRow("float32-signalling-nan")
        << hex("177fa00001") << Value::float32(std::bit_cast<float>(0x7fa00001u)) << true;
    QTest::newRow("float64-pi") << hex("18400921fb54442d18") << Value::float64(3.141592653589793) << true;
    QTest::newRow("float64-minus-infinity")
        << hex("18fff0000000000000") << Value::float64(-std::numeric_limits<double>::infinity()) << true;
    QTest::newRow("date-time-cet") << hex("1907e80305020e070000ffc480") << Value::dateTime(cetClock()) << true;
    QTest::newRow("date-time-unspecified")
        << hex("19ffffffffffffffffff8000ff") << Value::dateTime(CosemDateTime{}) << true;
    QTest::newRow("date") << hex("1a07e8030502") << Value::date({2024, 3, 5, 2}) << true;
    QTest::newRow("time") << hex("1b0e070000") << Value::time({14, 7, 0, 0}) << true;
    QTest::newRow("array-empty") << hex("0100") << Value::array({}) << true;
    QTest::newRow("array-2-long-unsigned") << hex("0102120001120002") << Value::array({u16(1), u16(2)}) << true;
    {
        ValueList items;
        QByteArray bytes = hex("018180");
        for (int i = 0; i < 128; ++i) {
            items.push_back(Value::unsigned8(quint8(i)));
            bytes += char(0x11);
            bytes += char(i);
        }
        QTest::newRow("array-128-0x81") << bytes << Value::array(std::move(items)) << true;
    }
    QTest::newRow("structure-obis-scaler-unit")
        << hex("0202090601000108 00ff 02020ffe161e")
        << Value::structure({Value::octetString(hex("0100010800ff")),
                             Value::structure({Value::integer(-2), Value::enumeration(30)})})
        << true;
    QTest::newRow("array-of-structures")
        << hex("0102 0202 0902aabb 0600000001 0202 0902ccdd 0600000002")
        << Value::array({Value::structure({Value::octetString(hex("aabb")), Value::doubleLongUnsigned(1)}),
                         Value::structure({Value::octetString(hex("ccdd")), Value::doubleLongUnsigned(2)})})
        << true;
    QTest::newRow("compact-array-long-unsigned")
        << hex("1312 06 000100020003")
        << Value::compactArray({leafType(DataType::LongUnsigned), {u16(1), u16(2), u16(3)}}) << true;
    QTest::newRow("compact-array-empty-contents")
        << hex("1311 00") << Value::compactArray({leafType(DataType::Unsigned), {}}) << true;
    QTest::newRow("compact-array-structure")
        << hex("13 020212 09 0b 0001 03414243 0002 024445")
        << Value::compactArray(
               {structType({leafType(DataType::LongUnsigned), leafType(DataType::OctetString)}),
                {Value::structure({u16(1), Value::octetString("ABC"_ba)}),
                 Value::structure({u16(2), Value::octetString("DE"_ba)})}})
        << true;
    QTest::newRow("compact-array-array-description")
        << hex("13 01000211 04 01020304")
        << Value::compactArray({arrayType(2, leafType(DataType::Unsigned)),
                                {Value::array({Value::unsigned8(1), Value::unsigned8(2)}),
                                 Value::array({Value::unsigned8(3), Value::unsigned8(4)})}})
        << true;
    QTest::newRow("compact-array-date-time")
        << hex("1319 0c 07e80305020e070000ffc480")
        << Value::compactArray({leafType(DataType::DateTime), {Value::dateTime(cetClock())}}) << true;
    QTest::newRow("compact-array-bit-string-and-utf8")
        << hex("13 0202040c 09 03a0 03e282ac 010000")
        << Value::compactArray({structType({leafType(DataType::BitString), leafType(DataType::Utf8String)}),
                                {Value::structure({Value::bitString({hex("a0"), 3}), Value::utf8String(u"€"_s)}),
                                 Value::structure({Value::bitString({hex("00"), 1}), Value::utf8String({})})}})
        << true;
    // Lists reserve at most 256 slots up front and grow past that as elements decode.
    for (const int n : {255, 256, 257, 1000}) {
        ValueList items;
        for (int i = 0; i < n; ++i)
            items.push_back(u16(quint16(i)));
        QByteArray bytes = hex("01");
        axdr::encodeLength(quint32(n), bytes);
        for (int i = 0; i < n; ++i)
            bytes += hex("12") + char(i >> 8) + char(i);
        QTest::newRow(qPrintable(u"array-%1-elements"_s.arg(n))) << bytes << Value::array(items) << true;
        QByteArray compact = hex("1312");
        axdr::encodeLength(quint32(2 * n), compact);
        for (int i = 0; i < n; ++i)
            compact += QByteArray() + char(i >> 8) + char(i);
        QTest::newRow(qPrintable(u"compact-array-%1-elements"_s.arg(n)))
            << compact << Value::compactArray({leafType(DataType::LongUnsigned), items}) << true;
        QByteArray description = hex("13 01") + char(n >> 8) + char(n) + hex("12");
        axdr::encodeLength(quint32(2 * n), description);
        QTest::newRow(qPrintable(u"compact-array-description-array-%1"_s.arg(n)))
            << description + compact.sliced(compact.size() - 2 * n)
            << Value::compactArray({arrayType(quint16(n), leafType(DataType::LongUnsigned)), {Value::array(items)}})
            << true;
        QByteArray fields = hex("13 02");
        axdr::encodeLength(quint32(n), fields);
        fields += repeated("12", n);
        axdr::encodeLength(quint32(2 * n), fields);
        QTest::newRow(qPrintable(u"compact-array-description-structure-%1"_s.arg(n)))
            << fields + compact.sliced(compact.size() - 2 * n)
            << Value::compactArray({structType(std::vector<TypeDescription>(size_t(n), leafType(DataType::LongUnsigned))),
                                    {Value::structure(items)}})
            << true;
    }
    QTest::newRow("compact-array-in-structure")
        << hex("0202 1311 02 0708 0300")
        << Value::structure({Value::compactArray({leafType(DataType::Unsigned),
                                                  {Value::unsigned8(7), Value::unsigned8(8)}}),
                             Value::boolean(false)})
        << true;
}

void TestAxdr::decodeVectors()
{
    QFETCH(QByteArray, bytes);
    QFETCH(Value, expected);
    QFETCH(bool, canonical);

    const auto decoded = axdr::decodeAll(bytes);
    QVERIFY2(decoded.ok(), qPrintable(decoded.ok() ? QString() : decoded.error().message));
    QCOMPARE(decoded->type(), expected.type());
    QVERIFY2(*decoded == expected, qPrintable(decoded->toText() + u" != "_s + expected.toText()));

    const QByteArray encoded = axdr::encode(expected);
    if (canonical)
        QCOMPARE(encoded.toHex(' '), bytes.toHex(' '));
    else
        QVERIFY(encoded != bytes);
    const auto again = axdr::decodeAll(encoded);
    QVERIFY(again.ok());
    QVERIFY(*again == expected);
}

void TestAxdr::decodeErrors_data()
{
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<ErrorCode>("code");
    QTest::addColumn<QString>("message");

    QTest::newRow("empty-input") << QByteArray() << ErrorCode::Truncated
                                 << u"A-XDR: input ends at offset 0 where a data tag was expected"_s;
    QTest::newRow("unknown-tag-0x07") << hex("0700000000") << ErrorCode::UnknownTag
                                      << u"A-XDR: unknown data type tag 0x07 at offset 0"_s;
    QTest::newRow("unknown-tag-0x08") << hex("08") << ErrorCode::UnknownTag
                                      << u"A-XDR: unknown data type tag 0x08 at offset 0"_s;
    QTest::newRow("unknown-tag-0x0b") << hex("0b00") << ErrorCode::UnknownTag
                                      << u"A-XDR: unknown data type tag 0x0b at offset 0"_s;
    QTest::newRow("unknown-tag-0x0e") << hex("0e00") << ErrorCode::UnknownTag << QString();
    QTest::newRow("unknown-tag-0x1c") << hex("1c00") << ErrorCode::UnknownTag << QString();
    QTest::newRow("unknown-tag-inside-structure")
        << hex("0202 1101 0b00") << ErrorCode::UnknownTag
        << u"A-XDR: unknown data type tag 0x0b at offset 4"_s;
    QTest::newRow("indefinite-length-0x80") << hex("098001") << ErrorCode::Malformed
        << u"A-XDR: indefinite length (0x80) for the octet-string length at offset 1 is not allowed"_s;
    QTest::newRow("array-indefinite-length") << hex("018000") << ErrorCode::Malformed << QString();
    QTest::newRow("length-0x85") << hex("09850000000001aa") << ErrorCode::LengthTooLarge
        << u"A-XDR: octet-string length at offset 1 announces 5 length bytes (0x85); at most 4 are allowed"_s;
    QTest::newRow("length-0xff") << hex("09ff") << ErrorCode::LengthTooLarge << QString();
    QTest::newRow("octet-string-300-with-12-left")
        << hex("0982012c") + repeated("00", 12) << ErrorCode::LengthTooLarge
        << u"A-XDR: octet-string length 300 exceeds the 12 bytes left at offset 4"_s;
    QTest::newRow("octet-string-0x7fffffff") << hex("09847fffffff00") << ErrorCode::LengthTooLarge
        << u"A-XDR: octet-string length 2147483647 exceeds the 1 bytes left at offset 6"_s;
    QTest::newRow("visible-string-0xffffffff") << hex("0a84ffffffff") << ErrorCode::LengthTooLarge << QString();
    QTest::newRow("utf8-string-too-long") << hex("0c0541") << ErrorCode::LengthTooLarge << QString();
    QTest::newRow("bit-string-0xffffffff-bits") << hex("0484ffffffff00") << ErrorCode::LengthTooLarge
        << u"A-XDR: bit-string length 4294967295 bits exceeds the 1 bytes left at offset 6"_s;
    QTest::newRow("bit-string-9-bits-1-byte") << hex("0409ff") << ErrorCode::LengthTooLarge << QString();
    QTest::newRow("array-count-0x7fffffff") << hex("01847fffffff") << ErrorCode::LengthTooLarge
        << u"A-XDR: array of 2147483647 elements exceeds the 0 bytes left at offset 6"_s;
    QTest::newRow("structure-count-0xffffffff") << hex("0284ffffffff0000") << ErrorCode::LengthTooLarge << QString();
    QTest::newRow("array-count-3-two-left") << hex("01031100") << ErrorCode::LengthTooLarge << QString();
    QTest::newRow("array-second-element-missing") << hex("0102 1101 11") << ErrorCode::Truncated
        << u"A-XDR: unsigned needs 1 bytes but only 0 are left at offset 5"_s;
    QTest::newRow("date-time-truncated") << hex("1907e803") << ErrorCode::Truncated
        << u"A-XDR: date-time needs 12 bytes but only 3 are left at offset 1"_s;
    QTest::newRow("long64-truncated") << hex("1500000000") << ErrorCode::Truncated << QString();
    QTest::newRow("trailing-byte") << hex("110500") << ErrorCode::Malformed
        << u"A-XDR: 1 trailing bytes after the value at offset 2"_s;
    QTest::newRow("trailing-value") << hex("0000") << ErrorCode::Malformed << QString();

    QTest::newRow("compact-array-null-data-element") << hex("130000") << ErrorCode::Malformed
        << u"A-XDR: compact-array type description at offset 1 has null-data, which occupies no bytes"_s;
    QTest::newRow("compact-array-dont-care-element") << hex("13ff0100") << ErrorCode::Malformed << QString();
    QTest::newRow("compact-array-empty-structure") << hex("13020000") << ErrorCode::Malformed << QString();
    QTest::newRow("compact-array-zero-length-array") << hex("1301000011 00") << ErrorCode::Malformed << QString();
    QTest::newRow("compact-array-structure-of-nulls") << hex("1302020000 0401020304") << ErrorCode::Malformed << QString();
    QTest::newRow("compact-array-nested-compact") << hex("13131100") << ErrorCode::Malformed << QString();
    QTest::newRow("compact-array-unknown-element-tag") << hex("130700") << ErrorCode::UnknownTag
        << u"A-XDR: unknown data type tag 0x07 in a compact-array type description at offset 1"_s;
    QTest::newRow("compact-array-contents-too-long") << hex("1311030102") << ErrorCode::LengthTooLarge << QString();
    QTest::newRow("compact-array-contents-0x7fffffff") << hex("1311847fffffff") << ErrorCode::LengthTooLarge << QString();
    QTest::newRow("compact-array-structure-count-huge") << hex("1302847fffffff") << ErrorCode::LengthTooLarge << QString();
    QTest::newRow("compact-array-partial-element") << hex("1312 03 000102") << ErrorCode::Malformed
        << u"A-XDR: compact-array contents (3 bytes at offset 3) end inside element 1: "
           u"long-unsigned needs 2 bytes but only 1 are left at offset 5"_s;
    QTest::newRow("compact-array-element-string-overruns") << hex("1309 02 0541") << ErrorCode::Malformed << QString();
    QTest::newRow("compact-array-description-truncated") << hex("130102") << ErrorCode::Truncated << QString();
    QTest::newRow("compact-array-description-missing") << hex("13") << ErrorCode::Truncated << QString();
    QTest::newRow("compact-array-contents-length-missing") << hex("1311") << ErrorCode::Truncated << QString();
}

void TestAxdr::decodeErrors()
{
    QFETCH(QByteArray, bytes);
    QFETCH(ErrorCode, code);
    QFETCH(QString, message);

    const auto r = axdr::decodeAll(bytes);
    QVERIFY(!r.ok());
    QCOMPARE(errorCodeName(r.error().code), errorCodeName(code));
    QVERIFY(r.error().message.startsWith(u"A-XDR: "_s));
    QVERIFY(r.error().message.contains(u"offset"_s));
    if (!message.isEmpty())
        QCOMPARE(r.error().message, message);
}

void TestAxdr::truncatedAtEveryByte_data()
{
    QTest::addColumn<QByteArray>("bytes");
    // For each prefix length 0..n-1: T = Truncated, L = LengthTooLarge (a declared length or
    // count exceeds the bytes left), M = Malformed.
    QTest::addColumn<QString>("codes");

    QTest::newRow("double-long-unsigned") << hex("060000012c") << u"TTTTT"_s;
    QTest::newRow("octet-string-clock") << hex("090c07e80305020e070000ffc480") << u"TTLLLLLLLLLLLL"_s;
    QTest::newRow("octet-string-0x82") << hex("09820003aabbcc") << u"TTTTLLL"_s;
    QTest::newRow("bit-string-12-bits") << hex("040ca5b0") << u"TTLL"_s;
    QTest::newRow("date-time-tag") << hex("1907e80305020e070000ffc480") << u"TTTTTTTTTTTTT"_s;
    QTest::newRow("array-of-structures")
        << hex("0102 0202 0902aabb 0600000001 0202 0902ccdd 0600000002")
        << u"TTLLLLLLTTTTTTTLLLLTTTTT"_s;
    QTest::newRow("compact-array-structure")
        << hex("13 020212 09 0b 0001 03414243 0002 024445") << u"TTTLLTLLLLLLLLLLL"_s;
    QTest::newRow("compact-array-array-description")
        << hex("13 01000211 04 01020304") << u"TTTTTTLLLL"_s;
}

void TestAxdr::truncatedAtEveryByte()
{
    QFETCH(QByteArray, bytes);
    QFETCH(QString, codes);
    QCOMPARE(codes.size(), bytes.size());
    QVERIFY(axdr::decodeAll(bytes).ok());
    QCOMPARE(codeLetters(bytes), codes);
}

void TestAxdr::lengthForms_data()
{
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<quint32>("length");

    QTest::newRow("short-0") << hex("00") << 0u;
    QTest::newRow("short-127") << hex("7f") << 127u;
    QTest::newRow("0x81-128") << hex("8180") << 128u;
    QTest::newRow("0x81-255") << hex("81ff") << 255u;
    QTest::newRow("0x81-non-minimal-5") << hex("8105") << 5u;
    QTest::newRow("0x82-256") << hex("820100") << 256u;
    QTest::newRow("0x82-65535") << hex("82ffff") << 65535u;
    QTest::newRow("0x83-65536") << hex("83010000") << 65536u;
    QTest::newRow("0x83-16777215") << hex("83ffffff") << 16777215u;
    QTest::newRow("0x84-16777216") << hex("8401000000") << 16777216u;
    QTest::newRow("0x84-max") << hex("84ffffffff") << 4294967295u;
}

void TestAxdr::lengthForms()
{
    QFETCH(QByteArray, bytes);
    QFETCH(quint32, length);
    const QByteArray withNext = bytes + "\x42"_ba;
    ByteReader reader(withNext);
    const auto r = axdr::decodeLength(reader);
    QVERIFY(r.ok());
    QCOMPARE(*r, length);
    QCOMPARE(reader.position(), bytes.size());
}

void TestAxdr::lengthErrors_data()
{
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<ErrorCode>("code");

    QTest::newRow("empty") << QByteArray() << ErrorCode::Truncated;
    QTest::newRow("0x80-indefinite") << hex("8001") << ErrorCode::Malformed;
    QTest::newRow("0x81-missing-byte") << hex("81") << ErrorCode::Truncated;
    QTest::newRow("0x82-one-byte") << hex("8201") << ErrorCode::Truncated;
    QTest::newRow("0x83-two-bytes") << hex("830101") << ErrorCode::Truncated;
    QTest::newRow("0x84-three-bytes") << hex("84010101") << ErrorCode::Truncated;
    QTest::newRow("0x85") << hex("850000000001") << ErrorCode::LengthTooLarge;
    QTest::newRow("0x88") << hex("880000000000000001") << ErrorCode::LengthTooLarge;
    QTest::newRow("0xff") << hex("ff") << ErrorCode::LengthTooLarge;
}

void TestAxdr::lengthErrors()
{
    QFETCH(QByteArray, bytes);
    QFETCH(ErrorCode, code);
    ByteReader reader(bytes);
    const auto r = axdr::decodeLength(reader);
    QVERIFY(!r.ok());
    QCOMPARE(errorCodeName(r.error().code), errorCodeName(code));
    QVERIFY(r.error().message.contains(u"BER length"_s));
}

void TestAxdr::encodeLengthBoundaries_data()
{
    QTest::addColumn<quint32>("length");
    QTest::addColumn<QByteArray>("bytes");

    QTest::newRow("0") << 0u << hex("00");
    QTest::newRow("127") << 127u << hex("7f");
    QTest::newRow("128") << 128u << hex("8180");
    QTest::newRow("255") << 255u << hex("81ff");
    QTest::newRow("256") << 256u << hex("820100");
    QTest::newRow("65535") << 65535u << hex("82ffff");
    QTest::newRow("65536") << 65536u << hex("83010000");
    QTest::newRow("16777215") << 16777215u << hex("83ffffff");
    QTest::newRow("16777216") << 16777216u << hex("8401000000");
    QTest::newRow("max") << 4294967295u << hex("84ffffffff");
}

void TestAxdr::encodeLengthBoundaries()
{
    QFETCH(quint32, length);
    QFETCH(QByteArray, bytes);
    QByteArray out = "x"_ba;
    axdr::encodeLength(length, out);
    QCOMPARE(out.toHex(), QByteArray("x"_ba + bytes).toHex());
    ByteReader reader(bytes);
    QCOMPARE(axdr::decodeLength(reader).value(), length);
}

void TestAxdr::depthLimit_data()
{
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<int>("maxDepth");
    QTest::addColumn<bool>("accepted");

    const auto nested = [](const char *open, int levels, const char *leaf) -> QByteArray {
        return repeated(open, levels) + hex(leaf);
    };
    QTest::newRow("arrays-1-limit-1") << nested("0101", 1, "00") << 1 << true;
    QTest::newRow("arrays-2-limit-1") << nested("0101", 2, "00") << 1 << false;
    QTest::newRow("limit-0-scalar") << hex("1101") << 0 << true;
    QTest::newRow("limit-0-empty-array") << hex("0100") << 0 << false;
    QTest::newRow("structures-3-limit-3") << nested("0201", 3, "1101") << 3 << true;
    QTest::newRow("structures-4-limit-3") << nested("0201", 4, "1101") << 3 << false;
    QTest::newRow("arrays-64-default") << nested("0101", 64, "00") << 64 << true;
    QTest::newRow("arrays-65-default") << nested("0101", 65, "00") << 64 << false;
    QTest::newRow("arrays-10000-default") << nested("0101", 10000, "00") << 64 << false;
    QTest::newRow("structures-10000-default") << nested("0201", 10000, "00") << 64 << false;
    QTest::newRow("mixed-10000-default") << nested("01010201", 5000, "00") << 64 << false;
    // compact-array counts as one level, each description array/structure as one more.
    QTest::newRow("compact-description-depth-2-limit-2") << hex("13 010001 11 01 05") << 2 << true;
    QTest::newRow("compact-description-depth-3-limit-2") << hex("13 010001 010001 11 01 05") << 2 << false;
    QTest::newRow("compact-in-array-limit-1") << hex("0101 1311 0105") << 1 << false;
    QTest::newRow("compact-description-10000") << hex("13") + repeated("010001", 10000) + hex("1101 05")
                                              << 64 << false;
    QTest::newRow("compact-structure-description-10000")
        << hex("13") + repeated("0201", 10000) + hex("1101 05") << 64 << false;
}

void TestAxdr::depthLimit()
{
    QFETCH(QByteArray, bytes);
    QFETCH(int, maxDepth);
    QFETCH(bool, accepted);
    axdr::Limits limits;
    limits.maxDepth = maxDepth;
    const auto r = axdr::decodeAll(bytes, limits);
    QCOMPARE(r.ok(), accepted);
    if (!accepted) {
        QCOMPARE(errorCodeName(r.error().code), errorCodeName(ErrorCode::NestingTooDeep));
        QVERIFY(r.error().message.contains(u"limit of %1"_s.arg(maxDepth)));
    } else {
        QVERIFY(depthOf(*r) <= maxDepth);
    }
}

void TestAxdr::elementLimit_data()
{
    QTest::addColumn<QByteArray>("input");
    QTest::addColumn<bool>("ok");
    // The limit is 10 elements in one value, counted across every level.
    QTest::newRow("array-of-10") << QByteArray(QByteArray::fromHex("010A") + QByteArray(10, '\0')) << true;
    QTest::newRow("array-of-11") << QByteArray(QByteArray::fromHex("010B") + QByteArray(11, '\0')) << false;
    QTest::newRow("nested-2x4-plus-2") << QByteArray::fromHex("0102 010400000000 010400000000") << true;
    QTest::newRow("nested-2x5-plus-2") << QByteArray::fromHex("0102 01050000000000 01050000000000") << false;
    QTest::newRow("compact-array-of-10") << QByteArray(QByteArray::fromHex("1311 0A") + QByteArray(10, '\x01')) << true;
    QTest::newRow("compact-array-of-11") << QByteArray(QByteArray::fromHex("1311 0B") + QByteArray(11, '\x01')) << false;
}

void TestAxdr::elementLimit()
{
    QFETCH(QByteArray, input);
    QFETCH(bool, ok);
    axdr::Limits limits;
    limits.maxElements = 10;
    const auto decoded = axdr::decodeAll(input, limits);
    QCOMPARE(decoded.ok(), ok);
    if (!ok) {
        QCOMPARE(decoded.error().code, ErrorCode::LengthTooLarge);
        QVERIFY2(decoded.error().message.contains(u"more than 10 elements"_s), qPrintable(decoded.error().message));
    }
}

void TestAxdr::decodeAdvancesReader()
{
    const QByteArray bytes = hex("1105 0102110111 02 0900");
    ByteReader reader(bytes);
    auto a = axdr::decode(reader);
    QVERIFY(a.ok());
    QCOMPARE(reader.position(), 2);
    QVERIFY(*a == Value::unsigned8(5));
    auto b = axdr::decode(reader);
    QVERIFY(b.ok());
    QCOMPARE(reader.position(), 8);
    QVERIFY(*b == Value::array({Value::unsigned8(1), Value::unsigned8(2)}));
    auto c = axdr::decode(reader);
    QVERIFY(c.ok());
    QVERIFY(reader.atEnd());
    QVERIFY(*c == Value::octetString({}));
    auto d = axdr::decode(reader);
    QVERIFY(!d.ok());
    QCOMPARE(errorCodeName(d.error().code), errorCodeName(ErrorCode::Truncated));
}

void TestAxdr::bitStringEncodingPads()
{
    // The factory sizes the byte array to the bit count, so short input is zero-padded.
    QCOMPARE(axdr::encode(Value::bitString({hex("ff"), 20})).toHex(), "0414ff0000"_ba);
    QCOMPARE(axdr::encode(Value::bitString({hex("ffeedd"), 4})).toHex(), "0404ff"_ba);

    QByteArray out = "prefix"_ba;
    axdr::encode(Value::unsigned8(1), out);
    QCOMPARE(out, "prefix\x11\x01"_ba);
}

void TestAxdr::randomRoundTrip()
{
    constexpr quint32 seed = 0x5EED2024;
    RandomValues random(seed);
    for (int i = 0; i < 3000; ++i) {
        const Value v = random.any(4);
        const QByteArray encoded = axdr::encode(v);
        const auto decoded = axdr::decodeAll(encoded);
        const QString context = u"seed 0x%1 iteration %2: %3"_s.arg(seed, 0, 16).arg(i).arg(v.toText());
        QVERIFY2(decoded.ok(), qPrintable(context + u" -> "_s
                                          + (decoded.ok() ? QString() : decoded.error().message)));
        QVERIFY2(*decoded == v, qPrintable(context + u" -> "_s + decoded->toText()));
        QVERIFY2(axdr::encode(*decoded) == encoded, qPrintable(context));
        // Every strict prefix is rejected, and never by crashing or reading past the end.
        if (i % 10 == 0) {
            for (qsizetype n = 0; n < encoded.size(); ++n)
                QVERIFY2(!axdr::decodeAll(QByteArrayView(encoded).first(n)).ok(), qPrintable(context));
        }
    }
}

void TestAxdr::profileGenericBuffer()
{
    // buffer attribute of a Profile Generic: array of {clock as octet-string(12), value}.
    QByteArray bytes = hex("0164");
    for (int i = 0; i < 100; ++i) {
        CosemDateTime dt = cetClock();
        dt.time.minute = quint8(i % 60);
        bytes += hex("0202 090c") + dt.toBytes() + hex("06") + QByteArray::fromHex(QByteArray::number(0x1000 + i, 16).rightJustified(8, '0'));
    }
    QCOMPARE(bytes.size(), 2 + 100 * 21);
    const auto r = axdr::decodeAll(bytes);
    QVERIFY(r.ok());
    QCOMPARE(r->items().size(), size_t(100));
    const Value &row = r->items()[42];
    QCOMPARE(row.items().size(), size_t(2));
    QCOMPARE(row.items()[0].asDateTime()->time.minute, quint8(42));
    QCOMPARE(row.items()[1].toUInt64().value(), quint64(0x1000 + 42));
    QCOMPARE(axdr::encode(*r), bytes);
}

QTEST_GUILESS_MAIN(TestAxdr)
#include "tst_axdr.moc"
