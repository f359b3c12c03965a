#include "value.h"

#include <QtCore/QJsonArray>
#include <QtCore/QJsonObject>

#include <bit>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>

using namespace Qt::StringLiterals;

namespace dlms {

namespace {

// JSON numbers are IEEE doubles in most consumers; integers beyond this travel as strings.
constexpr quint64 kMaxJsonSafeInteger = quint64(1) << 53;

// float32 is stored widened to double. A plain conversion would quiet a signalling NaN and so
// change its bits; widening NaNs by hand keeps every float32 re-encodable byte for byte.
double widenFloat(float f)
{
    if (!std::isnan(f))
        return double(f);
    const quint32 bits = std::bit_cast<quint32>(f);
    const quint64 sign = quint64(bits >> 31) << 63;
    const quint64 payload = quint64(bits & 0x7FFFFFu) << 29;
    return std::bit_cast<double>(sign | (quint64(0x7FF) << 52) | payload);
}

float narrowFloat(double d)
{
    if (!std::isnan(d))
        return float(d);
    const quint64 bits = std::bit_cast<quint64>(d);
    quint32 payload = quint32((bits >> 29) & 0x7FFFFFu);
    if (payload == 0)
        payload = 0x400000u; // a NaN needs a non-zero mantissa
    return std::bit_cast<float>(quint32(bits >> 63) << 31 | 0x7F800000u | payload);
}

bool isSignedStorage(DataType t)
{
    switch (t) {
    case DataType::Integer:
    case DataType::Long:
    case DataType::DoubleLong:
    case DataType::Long64:
    case DataType::Bcd:
        return true;
    default:
        return false;
    }
}

// Shortest text that reads back to the same float32 / float64.
QString floatText(double v, bool single)
{
    if (std::isnan(v))
        return u"NaN"_s;
    if (std::isinf(v))
        return v < 0 ? u"-Infinity"_s : u"Infinity"_s;
    char buf[64];
    const auto res = single ? std::to_chars(buf, buf + sizeof buf, narrowFloat(v))
                            : std::to_chars(buf, buf + sizeof buf, v);
    return QString::fromLatin1(buf, res.ptr - buf);
}

QJsonValue floatJson(double v, bool single)
{
    if (!std::isfinite(v))
        return floatText(v, single);
    if (!single)
        return v;
    // The double nearest the float's shortest decimal form: 0.1f becomes 0.1, not
    // 0.100000001490116, and still narrows back to the same float.
    return floatText(v, true).toDouble();
}

QJsonValue signedJson(qint64 v)
{
    const quint64 magnitude = v < 0 ? quint64(0) - quint64(v) : quint64(v);
    if (magnitude > kMaxJsonSafeInteger)
        return QString::number(v);
    return QJsonValue(v);
}

QJsonValue unsignedJson(quint64 v)
{
    if (v > kMaxJsonSafeInteger)
        return QString::number(v);
    return QJsonValue(qint64(v));
}

QString quoted(const QString &s)
{
    QString out;
    out.reserve(s.size() + 2);
    out += QLatin1Char('"');
    for (const QChar c : s) {
        if (c == QLatin1Char('"') || c == QLatin1Char('\\')) {
            out += QLatin1Char('\\');
            out += c;
        } else if (c.unicode() < 0x20 || c.unicode() == 0x7F) {
            out += u"\\x%1"_s.arg(c.unicode(), 2, 16, QLatin1Char('0'));
        } else {
            out += c;
        }
    }
    out += QLatin1Char('"');
    return out;
}

QString hexText(const QByteArray &bytes, char separator)
{
    return QString::fromLatin1(bytes.toHex(separator).toUpper()); // '\0': no separator
}

QJsonValue typeDescriptionJson(const TypeDescription &d)
{
    QJsonObject o {{u"type"_s, dataTypeName(d.type)}};
    if (d.type == DataType::Array) {
        o.insert(u"length"_s, int(d.arrayLength));
        if (!d.children.empty())
            o.insert(u"element"_s, typeDescriptionJson(d.children.front()));
    } else if (d.type == DataType::Structure) {
        QJsonArray children;
        for (const TypeDescription &c : d.children)
            children.append(typeDescriptionJson(c));
        o.insert(u"children"_s, children);
    }
    return o;
}

// ISO 8601 proper when every field is there and in range; otherwise the '*' form of
// toString(), which no reader would mistake for a real point in time. Built from the fields:
// a 5-digit year or a 3-digit hour from a meter must not shift a fixed-position edit.
QString dateTimeJsonText(const CosemDateTime &dt)
{
    const CosemDate &d = dt.date;
    const CosemTime &t = dt.time;
    const int offset = -int(dt.deviation); // minutes ahead of UTC, as in CosemDateTime::toString
    const bool iso = dt.isFullySpecified() && d.year <= 9999 && t.hour <= 23 && t.minute <= 59
        && t.second <= 59 && (t.hundredths == CosemTime::NotSpecified || t.hundredths <= 99)
        && (dt.deviation == CosemDateTime::DeviationNotSpecified || std::abs(offset) < 24 * 60);
    if (!iso)
        return dt.toString();
    const auto two = [](int v) { return u"%1"_s.arg(v, 2, 10, QLatin1Char('0')); };
    QString s = u"%1"_s.arg(d.year, 4, 10, QLatin1Char('0')) + QLatin1Char('-') + two(d.month)
        + QLatin1Char('-') + two(d.dayOfMonth) + QLatin1Char('T') + two(t.hour) + QLatin1Char(':')
        + two(t.minute) + QLatin1Char(':') + two(t.second);
    if (t.hundredths != CosemTime::NotSpecified)
        s += QLatin1Char('.') + two(t.hundredths);
    if (dt.deviation == 0)
        s += QLatin1Char('Z');
    else if (dt.deviation != CosemDateTime::DeviationNotSpecified)
        s += (offset < 0 ? QLatin1Char('-') : QLatin1Char('+')) + two(std::abs(offset) / 60)
            + QLatin1Char(':') + two(std::abs(offset) % 60);
    return s;
}

} // namespace

QString dataTypeName(DataType type)
{
    switch (type) {
    case DataType::NullData:
        return u"null-data"_s;
    case DataType::Array:
        return u"array"_s;
    case DataType::Structure:
        return u"structure"_s;
    case DataType::Boolean:
        return u"boolean"_s;
    case DataType::BitString:
        return u"bit-string"_s;
    case DataType::DoubleLong:
        return u"double-long"_s;
    case DataType::DoubleLongUnsigned:
        return u"double-long-unsigned"_s;
    case DataType::OctetString:
        return u"octet-string"_s;
    case DataType::VisibleString:
        return u"visible-string"_s;
    case DataType::Utf8String:
        return u"utf8-string"_s;
    case DataType::Bcd:
        return u"bcd"_s;
    case DataType::Integer:
        return u"integer"_s;
    case DataType::Long:
        return u"long"_s;
    case DataType::Unsigned:
        return u"unsigned"_s;
    case DataType::LongUnsigned:
        return u"long-unsigned"_s;
    case DataType::CompactArray:
        return u"compact-array"_s;
    case DataType::Long64:
        return u"long64"_s;
    case DataType::Long64Unsigned:
        return u"long64-unsigned"_s;
    case DataType::Enum:
        return u"enum"_s;
    case DataType::Float32:
        return u"float32"_s;
    case DataType::Float64:
        return u"float64"_s;
    case DataType::DateTime:
        return u"date-time"_s;
    case DataType::Date:
        return u"date"_s;
    case DataType::Time:
        return u"time"_s;
    case DataType::DontCare:
        return u"dont-care"_s;
    }
    return u"unknown"_s;
}

bool isKnownDataType(quint8 tag)
{
    switch (tag) {
    case 0:
    case 1:
    case 2:
    case 3:
    case 4:
    case 5:
    case 6:
    case 9:
    case 10:
    case 12:
    case 13:
    case 15:
    case 16:
    case 17:
    case 18:
    case 19:
    case 20:
    case 21:
    case 22:
    case 23:
    case 24:
    case 25:
    case 26:
    case 27:
    case 255:
        return true;
    default:
        return false;
    }
}

bool BitString::testBit(quint32 i) const
{
    if (i >= length || qsizetype(i / 8) >= bits.size())
        return false;
    return (quint8(bits[qsizetype(i / 8)]) >> (7 - i % 8)) & 1;
}

QString BitString::toString() const
{
    QString s(qsizetype(length), QLatin1Char('0'));
    for (quint32 i = 0; i < length; ++i) {
        if (testBit(i))
            s[qsizetype(i)] = QLatin1Char('1');
    }
    return s;
}

Value Value::dontCare()
{
    return Value(DataType::DontCare, std::monostate {});
}
Value Value::boolean(bool v)
{
    return Value(DataType::Boolean, v);
}
Value Value::integer(qint8 v)
{
    return Value(DataType::Integer, qint64(v));
}
Value Value::long16(qint16 v)
{
    return Value(DataType::Long, qint64(v));
}
Value Value::doubleLong(qint32 v)
{
    return Value(DataType::DoubleLong, qint64(v));
}
Value Value::long64(qint64 v)
{
    return Value(DataType::Long64, v);
}
Value Value::unsigned8(quint8 v)
{
    return Value(DataType::Unsigned, quint64(v));
}
Value Value::longUnsigned(quint16 v)
{
    return Value(DataType::LongUnsigned, quint64(v));
}
Value Value::doubleLongUnsigned(quint32 v)
{
    return Value(DataType::DoubleLongUnsigned, quint64(v));
}
Value Value::long64Unsigned(quint64 v)
{
    return Value(DataType::Long64Unsigned, v);
}
Value Value::enumeration(quint8 v)
{
    return Value(DataType::Enum, quint64(v));
}
Value Value::bcd(qint8 v)
{
    return Value(DataType::Bcd, qint64(v));
}
Value Value::float32(float v)
{
    return Value(DataType::Float32, widenFloat(v));
}
Value Value::float64(double v)
{
    return Value(DataType::Float64, v);
}
Value Value::octetString(QByteArray bytes)
{
    return Value(DataType::OctetString, std::move(bytes));
}
Value Value::visibleString(QByteArray ascii)
{
    return Value(DataType::VisibleString, std::move(ascii));
}
Value Value::utf8String(const QString &text)
{
    return Value(DataType::Utf8String, text);
}

Value Value::bitString(BitString bits)
{
    // Exactly ceil(length / 8) bytes, so equal bit-strings compare equal and encode as sent.
    const qsizetype bytes = qsizetype((quint64(bits.length) + 7) / 8);
    if (bits.bits.size() != bytes)
        bits.bits.resize(bytes, '\0');
    return Value(DataType::BitString, std::move(bits));
}

Value Value::array(ValueList items)
{
    return Value(DataType::Array, std::move(items));
}
Value Value::structure(ValueList items)
{
    return Value(DataType::Structure, std::move(items));
}

Value Value::compactArray(CompactArrayData data)
{
    return Value(DataType::CompactArray, std::make_shared<CompactArrayData>(std::move(data)));
}

Value Value::dateTime(const CosemDateTime &dt)
{
    return Value(DataType::DateTime, dt);
}
Value Value::date(const CosemDate &d)
{
    return Value(DataType::Date, d);
}
Value Value::time(const CosemTime &t)
{
    return Value(DataType::Time, t);
}

bool Value::isInteger() const noexcept
{
    switch (m_type) {
    case DataType::Integer:
    case DataType::Long:
    case DataType::DoubleLong:
    case DataType::Long64:
    case DataType::Unsigned:
    case DataType::LongUnsigned:
    case DataType::DoubleLongUnsigned:
    case DataType::Long64Unsigned:
    case DataType::Enum:
    case DataType::Bcd:
        return true;
    default:
        return false;
    }
}

bool Value::isNumber() const noexcept
{
    return isInteger() || m_type == DataType::Float32 || m_type == DataType::Float64;
}

std::optional<qint64> Value::toInt64() const
{
    if (const auto *s = std::get_if<qint64>(&m_data))
        return *s;
    if (const auto *u = std::get_if<quint64>(&m_data)) {
        if (*u > quint64(std::numeric_limits<qint64>::max()))
            return std::nullopt;
        return qint64(*u);
    }
    if (const auto *d = std::get_if<double>(&m_data)) {
        // Only exact conversions: a reading of 2.5 is not silently 2.
        if (!std::isfinite(*d) || std::trunc(*d) != *d || *d < -9223372036854775808.0
            || *d >= 9223372036854775808.0)
            return std::nullopt;
        return qint64(*d);
    }
    return std::nullopt;
}

std::optional<quint64> Value::toUInt64() const
{
    if (const auto *u = std::get_if<quint64>(&m_data))
        return *u;
    if (const auto *s = std::get_if<qint64>(&m_data)) {
        if (*s < 0)
            return std::nullopt;
        return quint64(*s);
    }
    if (const auto *d = std::get_if<double>(&m_data)) {
        if (!std::isfinite(*d) || std::trunc(*d) != *d || *d < 0 || *d >= 18446744073709551616.0)
            return std::nullopt;
        return quint64(*d);
    }
    return std::nullopt;
}

std::optional<double> Value::toDouble() const
{
    if (const auto *d = std::get_if<double>(&m_data))
        return *d;
    if (const auto *s = std::get_if<qint64>(&m_data))
        return double(*s);
    if (const auto *u = std::get_if<quint64>(&m_data))
        return double(*u);
    return std::nullopt;
}

std::optional<bool> Value::toBool() const
{
    if (const auto *b = std::get_if<bool>(&m_data))
        return *b;
    // Meters often report on/off states as unsigned or enum 0/1.
    if (isInteger()) {
        const auto v = toUInt64();
        if (v && *v <= 1)
            return *v == 1;
    }
    return std::nullopt;
}

const QByteArray &Value::bytes() const
{
    static const QByteArray empty;
    if (const auto *b = std::get_if<QByteArray>(&m_data))
        return *b;
    return empty;
}

QString Value::string() const
{
    if (const auto *s = std::get_if<QString>(&m_data))
        return *s;
    if (const auto *b = std::get_if<QByteArray>(&m_data))
        return QString::fromLatin1(*b);
    return {};
}

const ValueList &Value::items() const
{
    static const ValueList empty;
    if (const auto *l = std::get_if<ValueList>(&m_data))
        return *l;
    return empty;
}

ValueList &Value::items()
{
    if (auto *l = std::get_if<ValueList>(&m_data))
        return *l;
    // Not a container: hand out a scratch list, emptied on every call, so a careless caller
    // can neither corrupt this value nor see another caller's leftovers.
    thread_local ValueList scratch;
    scratch.clear();
    return scratch;
}

const BitString *Value::bitString() const
{
    return std::get_if<BitString>(&m_data);
}

const CompactArrayData *Value::compactArray() const
{
    if (const auto *p = std::get_if<std::shared_ptr<CompactArrayData>>(&m_data))
        return p->get();
    return nullptr;
}

const CosemDateTime *Value::dateTime() const
{
    return std::get_if<CosemDateTime>(&m_data);
}
const CosemDate *Value::date() const
{
    return std::get_if<CosemDate>(&m_data);
}
const CosemTime *Value::time() const
{
    return std::get_if<CosemTime>(&m_data);
}

std::optional<CosemDateTime> Value::asDateTime() const
{
    if (const auto *dt = dateTime())
        return *dt;
    if (m_type == DataType::OctetString) {
        const QByteArray &b = bytes();
        if (b.size() == 12)
            return CosemDateTime::fromBytes(b).value();
    }
    return std::nullopt;
}

QString Value::toText() const
{
    switch (m_type) {
    case DataType::NullData:
        return u"null"_s;
    case DataType::DontCare:
        return u"dont-care"_s;
    case DataType::Boolean:
        return std::get<bool>(m_data) ? u"true"_s : u"false"_s;
    case DataType::Float32:
    case DataType::Float64:
        return floatText(std::get<double>(m_data), m_type == DataType::Float32);
    case DataType::OctetString:
        return hexText(std::get<QByteArray>(m_data), ' ');
    case DataType::VisibleString:
    case DataType::Utf8String:
        return quoted(string());
    case DataType::BitString:
        return std::get<BitString>(m_data).toString();
    case DataType::DateTime:
        return std::get<CosemDateTime>(m_data).toString();
    case DataType::Date:
        return cosemDateToString(std::get<CosemDate>(m_data));
    case DataType::Time:
        return cosemTimeToString(std::get<CosemTime>(m_data));
    case DataType::Array:
    case DataType::Structure:
    case DataType::CompactArray: {
        const ValueList &list = m_type == DataType::CompactArray ? compactArray()->elements : items();
        const bool isStruct = m_type == DataType::Structure;
        QString s(isStruct ? QLatin1Char('{') : QLatin1Char('['));
        for (size_t i = 0; i < list.size(); ++i) {
            if (i)
                s += u", "_s;
            s += list[i].toText();
        }
        s += isStruct ? QLatin1Char('}') : QLatin1Char(']');
        return s;
    }
    default:
        break;
    }
    if (isSignedStorage(m_type))
        return QString::number(std::get<qint64>(m_data));
    return QString::number(std::get<quint64>(m_data));
}

QJsonValue Value::toJson() const
{
    switch (m_type) {
    case DataType::NullData:
    case DataType::DontCare:
        return QJsonValue(QJsonValue::Null);
    case DataType::Boolean:
        return std::get<bool>(m_data);
    case DataType::Float32:
    case DataType::Float64:
        return floatJson(std::get<double>(m_data), m_type == DataType::Float32);
    case DataType::OctetString:
        return hexText(std::get<QByteArray>(m_data), 0);
    case DataType::VisibleString:
    case DataType::Utf8String:
        return string();
    case DataType::BitString:
        return std::get<BitString>(m_data).toString();
    case DataType::DateTime:
        return dateTimeJsonText(std::get<CosemDateTime>(m_data));
    case DataType::Date:
        return cosemDateToString(std::get<CosemDate>(m_data));
    case DataType::Time:
        return cosemTimeToString(std::get<CosemTime>(m_data));
    case DataType::Array:
    case DataType::Structure:
    case DataType::CompactArray: {
        const ValueList &list = m_type == DataType::CompactArray ? compactArray()->elements : items();
        QJsonArray a;
        for (const Value &v : list)
            a.append(v.toJson());
        return a;
    }
    default:
        break;
    }
    if (isSignedStorage(m_type))
        return signedJson(std::get<qint64>(m_data));
    return unsignedJson(std::get<quint64>(m_data));
}

QJsonValue Value::toTypedJson() const
{
    QJsonObject o {{u"type"_s, dataTypeName(m_type)}};
    switch (m_type) {
    case DataType::OctetString:
        o.insert(u"value"_s, hexText(std::get<QByteArray>(m_data), 0));
        break;
    case DataType::DateTime: {
        const auto &dt = std::get<CosemDateTime>(m_data);
        o.insert(u"value"_s, dt.toString()); // keeps the '*' markers and special days
        o.insert(u"clockStatus"_s, int(dt.clockStatus));
        break;
    }
    case DataType::Array:
    case DataType::Structure:
    case DataType::CompactArray: {
        const ValueList &list = m_type == DataType::CompactArray ? compactArray()->elements : items();
        QJsonArray a;
        for (const Value &v : list)
            a.append(v.toTypedJson());
        if (m_type == DataType::CompactArray)
            o.insert(u"elementType"_s, typeDescriptionJson(compactArray()->elementType));
        o.insert(u"value"_s, a);
        break;
    }
    default:
        o.insert(u"value"_s, toJson());
        break;
    }
    return o;
}

bool Value::operator==(const Value &other) const
{
    if (m_type != other.m_type || m_data.index() != other.m_data.index())
        return false;
    if (const auto *d = std::get_if<double>(&m_data))
        return std::bit_cast<quint64>(*d) == std::bit_cast<quint64>(std::get<double>(other.m_data));
    if (const auto *p = std::get_if<std::shared_ptr<CompactArrayData>>(&m_data)) {
        const auto &q = std::get<std::shared_ptr<CompactArrayData>>(other.m_data);
        if (p->get() == q.get())
            return true;
        return *p && q && **p == *q;
    }
    return m_data == other.m_data;
}

} // namespace dlms
