#include "axdr.h"

#include "bytewriter.h"

#include <algorithm>
#include <bit>
#include <cmath>

using namespace Qt::StringLiterals;

namespace dlms::axdr {

namespace {

// Minimum sizes are only used to bound reservations; capping keeps the arithmetic in range.
constexpr quint64 kSizeCap = quint64(1) << 40;

// Reservations for claimed counts stop here; longer lists grow as their elements arrive. A
// count is only checked against the bytes left, and every nesting level would reserve against
// the same bytes, all alive at once along the recursion: without a cap 60 nested arrays over
// 64 KB of input reserve ~190 MB before their first element is read.
constexpr quint64 kMaxReserve = 256;

size_t reservation(quint64 count)
{
    return size_t(std::min(count, kMaxReserve));
}

// The inverse of Value's float32 widening (value.cpp): NaN payloads survive the round trip.
float narrowFloat(double d)
{
    if (!std::isnan(d))
        return float(d);
    const quint64 bits = std::bit_cast<quint64>(d);
    quint32 payload = quint32((bits >> 29) & 0x7FFFFFu);
    if (payload == 0)
        payload = 0x400000u;
    return std::bit_cast<float>(quint32(bits >> 63) << 31 | 0x7F800000u | payload);
}

// Bytes a leaf type occupies untagged; variable-length types count their length byte only.
quint64 leafMinSize(DataType t)
{
    switch (t) {
    case DataType::DoubleLong:
    case DataType::DoubleLongUnsigned:
    case DataType::Float32:
    case DataType::Time:
        return 4;
    case DataType::Long:
    case DataType::LongUnsigned:
        return 2;
    case DataType::Long64:
    case DataType::Long64Unsigned:
    case DataType::Float64:
        return 8;
    case DataType::DateTime:
        return 12;
    case DataType::Date:
        return 5;
    default:
        return 1;
    }
}

QString typeName(quint8 tag)
{
    return dataTypeName(DataType(tag));
}

class Decoder {
public:
    explicit Decoder(const Limits &limits) : m_limits(limits) { }

    // Decodes into `out` (usually a freshly emplaced list slot, so nothing is moved twice).
    bool value(ByteReader &r, int depth, Value &out)
    {
        if (r.atEnd())
            return fail(ErrorCode::Truncated,
                u"A-XDR: input ends at offset %1 where a data tag was expected"_s.arg(at(r)));
        const quint8 tag = r.u8();
        switch (DataType(tag)) {
        case DataType::Array:
        case DataType::Structure:
            return container(r, DataType(tag), depth, out);
        case DataType::CompactArray:
            return compactArray(r, depth, out);
        default:
            return leaf(r, tag, out);
        }
    }

    // `tag` (or -1) and `suffix` name the length in messages; built only when failing, so the
    // hot path allocates nothing.
    bool length(ByteReader &r, int tag, const char *suffix, quint32 &out)
    {
        const auto what = [&]() -> QString {
            return (tag >= 0 ? typeName(quint8(tag)) : QString()) + QLatin1StringView(suffix);
        };
        if (r.atEnd())
            return fail(ErrorCode::Truncated,
                u"A-XDR: input ends at offset %1 where the %2 length was expected"_s.arg(at(r)).arg(what()));
        const quint8 first = r.peek();
        if (first < 0x80) {
            out = r.u8();
            return true;
        }
        if (first == 0x80)
            return fail(ErrorCode::Malformed,
                u"A-XDR: indefinite length (0x80) for the %1 length at offset %2 is not allowed"_s.arg(what())
                    .arg(at(r)));
        const int count = first & 0x7F;
        if (count > 4)
            return fail(ErrorCode::LengthTooLarge,
                u"A-XDR: %1 length at offset %2 announces %3 length bytes (0x%4); at most 4 are allowed"_s
                    .arg(what())
                    .arg(at(r))
                    .arg(count)
                    .arg(first, 2, 16, QLatin1Char('0')));
        if (!r.has(1 + count))
            return fail(ErrorCode::Truncated,
                u"A-XDR: %1 length at offset %2 needs %3 bytes but only %4 are left"_s.arg(what())
                    .arg(at(r))
                    .arg(1 + count)
                    .arg(r.remaining()));
        out = *r.berLength();
        return true;
    }

    Error takeError() { return std::move(m_error); }

private:
    bool fail(ErrorCode code, QString message)
    {
        m_error = makeError(code, std::move(message));
        return false;
    }

    qsizetype at(const ByteReader &r) const { return m_base + r.position(); }

    bool need(ByteReader &r, qsizetype n, quint8 tag)
    {
        if (r.has(n))
            return true;
        return fail(ErrorCode::Truncated,
            u"A-XDR: %1 needs %2 bytes but only %3 are left at offset %4"_s.arg(typeName(tag))
                .arg(n)
                .arg(r.remaining())
                .arg(at(r)));
    }

    // Counts one more container element against Limits::maxElements.
    bool addElement(const ByteReader &r)
    {
        if (++m_elements <= m_limits.maxElements)
            return true;
        return fail(ErrorCode::LengthTooLarge,
            u"A-XDR: more than %1 elements in one value (at offset %2)"_s.arg(m_limits.maxElements)
                .arg(at(r)));
    }

    bool tooDeep(const ByteReader &r, quint8 tag)
    {
        return fail(ErrorCode::NestingTooDeep,
            u"A-XDR: %1 at offset %2 is nested deeper than the limit of %3"_s.arg(typeName(tag))
                .arg(at(r) - 1)
                .arg(m_limits.maxDepth));
    }

    // A declared byte length must fit in what is left of the input.
    bool fits(const ByteReader &r, quint64 needed, quint32 declared, quint8 tag, const char *unit)
    {
        if (needed <= quint64(r.remaining()))
            return true;
        return fail(ErrorCode::LengthTooLarge,
            u"A-XDR: %1 length %2%3 exceeds the %4 bytes left at offset %5"_s.arg(typeName(tag))
                .arg(declared)
                .arg(QLatin1StringView(unit))
                .arg(r.remaining())
                .arg(at(r)));
    }

    bool leaf(ByteReader &r, quint8 tag, Value &out)
    {
        switch (DataType(tag)) {
        case DataType::NullData:
            out = Value();
            return true;
        case DataType::DontCare:
            out = Value::dontCare();
            return true;
        case DataType::Boolean:
            if (!need(r, 1, tag))
                return false;
            out = Value::boolean(r.u8() != 0);
            return true;
        case DataType::Integer:
            if (!need(r, 1, tag))
                return false;
            out = Value::integer(qint8(r.u8()));
            return true;
        case DataType::Unsigned:
            if (!need(r, 1, tag))
                return false;
            out = Value::unsigned8(r.u8());
            return true;
        case DataType::Enum:
            if (!need(r, 1, tag))
                return false;
            out = Value::enumeration(r.u8());
            return true;
        case DataType::Bcd:
            if (!need(r, 1, tag))
                return false;
            out = Value::bcd(qint8(r.u8()));
            return true;
        case DataType::Long:
            if (!need(r, 2, tag))
                return false;
            out = Value::long16(qint16(r.u16()));
            return true;
        case DataType::LongUnsigned:
            if (!need(r, 2, tag))
                return false;
            out = Value::longUnsigned(r.u16());
            return true;
        case DataType::DoubleLong:
            if (!need(r, 4, tag))
                return false;
            out = Value::doubleLong(qint32(r.u32()));
            return true;
        case DataType::DoubleLongUnsigned:
            if (!need(r, 4, tag))
                return false;
            out = Value::doubleLongUnsigned(r.u32());
            return true;
        case DataType::Long64:
            if (!need(r, 8, tag))
                return false;
            out = Value::long64(qint64(r.u64()));
            return true;
        case DataType::Long64Unsigned:
            if (!need(r, 8, tag))
                return false;
            out = Value::long64Unsigned(r.u64());
            return true;
        case DataType::Float32:
            if (!need(r, 4, tag))
                return false;
            out = Value::float32(std::bit_cast<float>(r.u32()));
            return true;
        case DataType::Float64:
            if (!need(r, 8, tag))
                return false;
            out = Value::float64(std::bit_cast<double>(r.u64()));
            return true;
        case DataType::DateTime:
            if (!need(r, 12, tag))
                return false;
            out = Value::dateTime(CosemDateTime::fromBytes(r.bytes(12)).value());
            return true;
        case DataType::Date:
            if (!need(r, 5, tag))
                return false;
            out = Value::date(cosemDateFromBytes(r.bytes(5)).value());
            return true;
        case DataType::Time:
            if (!need(r, 4, tag))
                return false;
            out = Value::time(cosemTimeFromBytes(r.bytes(4)).value());
            return true;
        case DataType::OctetString:
        case DataType::VisibleString:
        case DataType::Utf8String: {
            quint32 n = 0;
            if (!length(r, tag, "", n) || !fits(r, n, n, tag, ""))
                return false;
            const QByteArrayView bytes = r.bytes(n);
            if (tag == quint8(DataType::Utf8String))
                out = Value::utf8String(QString::fromUtf8(bytes));
            else if (tag == quint8(DataType::OctetString))
                out = Value::octetString(bytes.toByteArray());
            else
                out = Value::visibleString(bytes.toByteArray());
            return true;
        }
        case DataType::BitString: {
            quint32 bits = 0;
            if (!length(r, tag, "", bits))
                return false;
            const quint64 bytes = (quint64(bits) + 7) / 8;
            if (!fits(r, bytes, bits, tag, " bits"))
                return false;
            out = Value::bitString(BitString {r.bytes(qsizetype(bytes)).toByteArray(), bits});
            return true;
        }
        default:
            break;
        }
        return fail(ErrorCode::UnknownTag,
            u"A-XDR: unknown data type tag 0x%1 at offset %2"_s.arg(tag, 2, 16, QLatin1Char('0'))
                .arg(at(r) - 1));
    }

    bool container(ByteReader &r, DataType type, int depth, Value &out)
    {
        const quint8 tag = quint8(type);
        if (depth + 1 > m_limits.maxDepth)
            return tooDeep(r, tag);
        quint32 count = 0;
        if (!length(r, tag, " element count", count))
            return false;
        // Every element takes at least its tag byte, so a count beyond the bytes left is a lie
        // we can call before allocating anything.
        if (count > quint64(r.remaining()))
            return fail(ErrorCode::LengthTooLarge,
                u"A-XDR: %1 of %2 elements exceeds the %3 bytes left at offset %4"_s.arg(typeName(tag))
                    .arg(count)
                    .arg(r.remaining())
                    .arg(at(r)));
        ValueList items;
        items.reserve(reservation(count));
        for (quint32 i = 0; i < count; ++i) {
            if (!addElement(r))
                return false;
            items.emplace_back();
            if (!value(r, depth + 1, items.back()))
                return false;
        }
        out = type == DataType::Array ? Value::array(std::move(items)) : Value::structure(std::move(items));
        return true;
    }

    // contents-description. Parts that occupy no bytes (null-data, dont-care, empty structures
    // or arrays) are refused: elements are read until the contents run out, so a zero-size
    // element would never finish, and a zero-size part inside an array would multiply values
    // out of nothing.
    bool typeDescription(ByteReader &r, int depth, TypeDescription &out, quint64 &minSize)
    {
        if (r.atEnd())
            return fail(ErrorCode::Truncated,
                u"A-XDR: input ends at offset %1 inside a compact-array type description"_s.arg(at(r)));
        const quint8 tag = r.u8();
        const auto zeroSize = [&](const QString &what) {
            return fail(ErrorCode::Malformed,
                u"A-XDR: compact-array type description at offset %1 has %2, which occupies no bytes"_s
                    .arg(at(r) - 1)
                    .arg(what));
        };
        out.type = DataType(tag);
        switch (DataType(tag)) {
        case DataType::Array: {
            if (depth + 1 > m_limits.maxDepth)
                return tooDeep(r, tag);
            if (!need(r, 2, tag))
                return false;
            out.arrayLength = r.u16();
            if (out.arrayLength == 0)
                return zeroSize(u"an array of 0 elements"_s);
            out.children.resize(1);
            quint64 childSize = 0;
            if (!typeDescription(r, depth + 1, out.children.front(), childSize))
                return false;
            minSize = std::min(kSizeCap, out.arrayLength * childSize);
            return true;
        }
        case DataType::Structure: {
            if (depth + 1 > m_limits.maxDepth)
                return tooDeep(r, tag);
            quint32 count = 0;
            if (!length(r, -1, "structure description field count", count))
                return false;
            if (count == 0)
                return zeroSize(u"a structure of 0 fields"_s);
            if (count > quint64(r.remaining()))
                return fail(ErrorCode::LengthTooLarge,
                    u"A-XDR: structure description of %1 fields exceeds the %2 bytes left at offset %3"_s
                        .arg(count)
                        .arg(r.remaining())
                        .arg(at(r)));
            out.children.reserve(reservation(count));
            minSize = 0;
            for (quint32 i = 0; i < count; ++i) {
                quint64 childSize = 0;
                if (!typeDescription(r, depth + 1, out.children.emplace_back(), childSize))
                    return false;
                minSize = std::min(kSizeCap, minSize + childSize);
            }
            return true;
        }
        case DataType::NullData:
        case DataType::DontCare:
            return zeroSize(typeName(tag));
        case DataType::CompactArray:
            return fail(ErrorCode::Malformed,
                u"A-XDR: compact-array type description at offset %1 nests a compact-array"_s.arg(at(r) - 1));
        default:
            break;
        }
        if (!isKnownDataType(tag))
            return fail(ErrorCode::UnknownTag,
                u"A-XDR: unknown data type tag 0x%1 in a compact-array type description at offset %2"_s
                    .arg(tag, 2, 16, QLatin1Char('0'))
                    .arg(at(r) - 1));
        minSize = leafMinSize(out.type);
        return true;
    }

    bool untagged(ByteReader &r, const TypeDescription &d, Value &out)
    {
        if (d.type == DataType::Array || d.type == DataType::Structure) {
            const bool isArray = d.type == DataType::Array;
            const qsizetype count = isArray ? d.arrayLength : qsizetype(d.children.size());
            ValueList items;
            items.reserve(reservation(quint64(count)));
            for (qsizetype i = 0; i < count; ++i) {
                if (!addElement(r))
                    return false;
                items.emplace_back();
                if (!untagged(r, isArray ? d.children.front() : d.children[size_t(i)], items.back()))
                    return false;
            }
            out = isArray ? Value::array(std::move(items)) : Value::structure(std::move(items));
            return true;
        }
        return leaf(r, quint8(d.type), out);
    }

    bool compactArray(ByteReader &r, int depth, Value &out)
    {
        constexpr quint8 tag = quint8(DataType::CompactArray);
        if (depth + 1 > m_limits.maxDepth)
            return tooDeep(r, tag);
        CompactArrayData data;
        quint64 elementSize = 0;
        if (!typeDescription(r, depth + 1, data.elementType, elementSize))
            return false;
        quint32 n = 0;
        if (!length(r, -1, "compact-array contents", n) || !fits(r, n, n, tag, ""))
            return false;
        const qsizetype contentsAt = at(r);
        ByteReader contents(r.bytes(n));
        const qsizetype savedBase = m_base;
        m_base = contentsAt;
        data.elements.reserve(reservation(n / elementSize)); // elementSize >= 1, see typeDescription
        while (!contents.atEnd()) {
            if (!addElement(contents)) {
                m_base = savedBase;
                return false;
            }
            data.elements.emplace_back();
            if (!untagged(contents, data.elementType, data.elements.back())) {
                m_base = savedBase;
                // Running out inside the contents is not a truncated input: the contents length
                // and the type description disagree.
                if (m_error.code == ErrorCode::Truncated || m_error.code == ErrorCode::LengthTooLarge) {
                    QString inner = m_error.message;
                    if (inner.startsWith(u"A-XDR: "_s))
                        inner.remove(0, 7);
                    m_error = makeError(ErrorCode::Malformed,
                        u"A-XDR: compact-array contents (%1 bytes at offset %2) end inside element %3: %4"_s
                            .arg(n)
                            .arg(contentsAt)
                            .arg(data.elements.size() - 1)
                            .arg(inner));
                }
                return false;
            }
        }
        m_base = savedBase;
        out = Value::compactArray(std::move(data));
        return true;
    }

    const Limits &m_limits;
    quint64 m_elements = 0; // container elements decoded so far, against Limits::maxElements
    qsizetype m_base = 0; // offset of the reader's first byte in the caller's input
    Error m_error {ErrorCode::Malformed, {}};
};

class Encoder {
public:
    explicit Encoder(QByteArray &out) : m_w(out) { }

    void value(const Value &v)
    {
        m_w.u8(quint8(v.type()));
        body(v, true);
    }

    // Inside a compact-array: no tags, no element counts (the description carries them).
    void body(const Value &v, bool tagged)
    {
        switch (v.type()) {
        case DataType::NullData:
        case DataType::DontCare:
            return;
        case DataType::Boolean:
            m_w.u8(v.toBool().value_or(false) ? 1 : 0);
            return;
        case DataType::Integer:
        case DataType::Bcd:
            m_w.u8(quint8(v.toInt64().value_or(0)));
            return;
        case DataType::Unsigned:
        case DataType::Enum:
            m_w.u8(quint8(v.toUInt64().value_or(0)));
            return;
        case DataType::Long:
            m_w.u16(quint16(v.toInt64().value_or(0)));
            return;
        case DataType::LongUnsigned:
            m_w.u16(quint16(v.toUInt64().value_or(0)));
            return;
        case DataType::DoubleLong:
            m_w.u32(quint32(v.toInt64().value_or(0)));
            return;
        case DataType::DoubleLongUnsigned:
            m_w.u32(quint32(v.toUInt64().value_or(0)));
            return;
        case DataType::Long64:
            m_w.u64(quint64(v.toInt64().value_or(0)));
            return;
        case DataType::Long64Unsigned:
            m_w.u64(v.toUInt64().value_or(0));
            return;
        case DataType::Float32:
            m_w.u32(std::bit_cast<quint32>(narrowFloat(v.toDouble().value_or(0))));
            return;
        case DataType::Float64:
            m_w.u64(std::bit_cast<quint64>(v.toDouble().value_or(0)));
            return;
        case DataType::OctetString:
        case DataType::VisibleString: {
            const QByteArray &b = v.bytes();
            m_w.berLength(quint32(b.size()));
            m_w.bytes(b);
            return;
        }
        case DataType::Utf8String: {
            const QByteArray b = v.string().toUtf8();
            m_w.berLength(quint32(b.size()));
            m_w.bytes(b);
            return;
        }
        case DataType::BitString: {
            const BitString &bits = *v.bitString();
            m_w.berLength(bits.length);
            const qsizetype bytes = qsizetype((quint64(bits.length) + 7) / 8);
            m_w.bytes(QByteArrayView(bits.bits).first(std::min(bytes, bits.bits.size())));
            for (qsizetype i = bits.bits.size(); i < bytes; ++i)
                m_w.u8(0);
            return;
        }
        case DataType::DateTime:
            v.dateTime()->appendTo(m_w.buffer());
            return;
        case DataType::Date:
            appendCosemDate(*v.date(), m_w.buffer());
            return;
        case DataType::Time:
            appendCosemTime(*v.time(), m_w.buffer());
            return;
        case DataType::Array:
        case DataType::Structure:
            if (tagged) {
                m_w.berLength(quint32(v.items().size()));
                for (const Value &item : v.items())
                    value(item);
            } else {
                for (const Value &item : v.items())
                    body(item, false);
            }
            return;
        case DataType::CompactArray: {
            const CompactArrayData &data = *v.compactArray();
            description(data.elementType);
            QByteArray contents;
            Encoder inner(contents);
            for (const Value &element : data.elements)
                inner.body(element, false);
            m_w.berLength(quint32(contents.size()));
            m_w.bytes(contents);
            return;
        }
        }
    }

    void description(const TypeDescription &d)
    {
        m_w.u8(quint8(d.type));
        if (d.type == DataType::Array) {
            m_w.u16(d.arrayLength);
            if (d.children.empty())
                m_w.u8(quint8(DataType::NullData));
            else
                description(d.children.front());
        } else if (d.type == DataType::Structure) {
            m_w.berLength(quint32(d.children.size()));
            for (const TypeDescription &child : d.children)
                description(child);
        }
    }

private:
    ByteWriter m_w;
};

} // namespace

Result<Value> decode(ByteReader &reader, const Limits &limits)
{
    Decoder decoder(limits);
    Value v;
    if (!decoder.value(reader, 0, v))
        return decoder.takeError();
    return v;
}

Result<Value> decodeAll(QByteArrayView data, const Limits &limits)
{
    ByteReader reader(data);
    Result<Value> result = decode(reader, limits);
    if (result && !reader.atEnd())
        return makeError(ErrorCode::Malformed,
            u"A-XDR: %1 trailing bytes after the value at offset %2"_s.arg(reader.remaining())
                .arg(reader.position()));
    return result;
}

void encode(const Value &value, QByteArray &out)
{
    Encoder(out).value(value);
}

QByteArray encode(const Value &value)
{
    QByteArray out;
    encode(value, out);
    return out;
}

Result<quint32> decodeLength(ByteReader &reader)
{
    const Limits limits;
    Decoder decoder(limits);
    quint32 n = 0;
    if (!decoder.length(reader, -1, "BER", n))
        return decoder.takeError();
    return n;
}

void encodeLength(quint32 length, QByteArray &out)
{
    ByteWriter(out).berLength(length);
}

} // namespace dlms::axdr
