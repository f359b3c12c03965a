#pragma once

#include "cosemdatetime.h"

#include <QtCore/QByteArray>
#include <QtCore/QJsonValue>
#include <QtCore/QString>

#include <memory>
#include <optional>
#include <variant>
#include <vector>

namespace dlms {

// COSEM data type tags (IEC 62056-6-2 Table 2, A-XDR encoding).
enum class DataType : quint8 {
    NullData = 0,
    Array = 1,
    Structure = 2,
    Boolean = 3,
    BitString = 4,
    DoubleLong = 5, // int32
    DoubleLongUnsigned = 6, // uint32
    OctetString = 9,
    VisibleString = 10,
    Utf8String = 12,
    Bcd = 13,
    Integer = 15, // int8
    Long = 16, // int16
    Unsigned = 17, // uint8
    LongUnsigned = 18, // uint16
    CompactArray = 19,
    Long64 = 20,
    Long64Unsigned = 21,
    Enum = 22,
    Float32 = 23,
    Float64 = 24,
    DateTime = 25,
    Date = 26,
    Time = 27,
    DontCare = 255,
};

// "double-long-unsigned" etc., as the Blue Book spells them; "unknown" for a bad tag.
QString dataTypeName(DataType type);
bool isKnownDataType(quint8 tag);

struct BitString {
    QByteArray bits; // packed, first bit in the MSB of the first byte
    quint32 length = 0; // in bits
    bool operator==(const BitString &) const = default;
    bool testBit(quint32 i) const;
    QString toString() const; // "0101…"
};

// The type of a compact-array's elements (IEC 62056-6-2, contents-description).
struct TypeDescription {
    DataType type = DataType::NullData;
    quint16 arrayLength = 0; // for Array: number of elements
    std::vector<TypeDescription> children; // Array: one element; Structure: one per field
    bool operator==(const TypeDescription &) const = default;
};

class Value;
using ValueList = std::vector<Value>;

struct CompactArrayData {
    TypeDescription elementType;
    ValueList elements;
    bool operator==(const CompactArrayData &) const = default;
};

// One COSEM Data value. Cheap to move; containers own their children.
class Value {
public:
    Value() = default; // null-data

    static Value null() { return Value(); }
    static Value dontCare();
    static Value boolean(bool v);
    static Value integer(qint8 v);
    static Value long16(qint16 v);
    static Value doubleLong(qint32 v);
    static Value long64(qint64 v);
    static Value unsigned8(quint8 v);
    static Value longUnsigned(quint16 v);
    static Value doubleLongUnsigned(quint32 v);
    static Value long64Unsigned(quint64 v);
    static Value enumeration(quint8 v);
    static Value bcd(qint8 v);
    static Value float32(float v);
    static Value float64(double v);
    static Value octetString(QByteArray bytes);
    static Value visibleString(QByteArray ascii);
    static Value utf8String(const QString &text);
    static Value bitString(BitString bits);
    static Value array(ValueList items);
    static Value structure(ValueList items);
    static Value compactArray(CompactArrayData data);
    static Value dateTime(const CosemDateTime &dt);
    static Value date(const CosemDate &d);
    static Value time(const CosemTime &t);

    DataType type() const noexcept { return m_type; }
    bool isNull() const noexcept { return m_type == DataType::NullData; }
    bool isInteger() const noexcept; // any signed/unsigned integer type, enum, bcd
    bool isNumber() const noexcept; // integers and floats
    bool isContainer() const noexcept { return m_type == DataType::Array || m_type == DataType::Structure; }

    // Numeric views; std::nullopt when the type is not numeric or the value does not fit.
    std::optional<qint64> toInt64() const;
    std::optional<quint64> toUInt64() const;
    std::optional<double> toDouble() const;
    std::optional<bool> toBool() const;

    // octet-string and visible-string bytes (empty for other types).
    const QByteArray &bytes() const;
    // visible-string / utf8-string as text, octet-string as its bytes in Latin-1.
    QString string() const;
    // array / structure elements (empty for other types).
    const ValueList &items() const;
    ValueList &items();
    const BitString *bitString() const;
    const CompactArrayData *compactArray() const;
    const CosemDateTime *dateTime() const;
    const CosemDate *date() const;
    const CosemTime *time() const;

    // An octet-string of exactly 12 bytes is how most meters carry a clock value; this reads it
    // as one (also accepts a real date-time value).
    std::optional<CosemDateTime> asDateTime() const;

    // Human text: numbers in decimal, octet-strings in hex ("0A 1B"), visible-strings quoted,
    // date-times ISO-like, containers as {a, b} / [a, b].
    QString toText() const;
    // Natural JSON: numbers as numbers (64-bit values beyond ±2^53 as decimal strings),
    // octet-strings as hex strings, visible/utf8 strings as strings, date-time as ISO 8601,
    // containers as arrays, null-data as null.
    QJsonValue toJson() const;
    // Loss-free JSON: {"type": "<data type name>", "value": …} recursively.
    QJsonValue toTypedJson() const;

    // Floats compare by bit pattern (NaN == NaN), compact-arrays by content.
    bool operator==(const Value &other) const;

private:
    using Storage = std::variant<std::monostate, bool, qint64, quint64, double, QByteArray, QString,
        BitString, ValueList, std::shared_ptr<CompactArrayData>, CosemDateTime, CosemDate, CosemTime>;
    Value(DataType type, Storage data) : m_type(type), m_data(std::move(data)) { }

    DataType m_type = DataType::NullData;
    Storage m_data;
};

} // namespace dlms
