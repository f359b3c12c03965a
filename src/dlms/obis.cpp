#include "obis.h"

#include <algorithm>

using namespace Qt::StringLiterals;

namespace dlms {

namespace {

bool isAsciiDigit(QChar c)
{
    return c.unicode() >= u'0' && c.unicode() <= u'9';
}

Error parseError(const QString &detail, QStringView text)
{
    return makeError(ErrorCode::Malformed, u"OBIS: "_s + detail + u" in \""_s + text + u'"');
}

bool isSeparator(QChar c)
{
    return c == u'.' || c == u'-' || c == u':' || c == u'*';
}

Error unexpectedChar(QChar c, qsizetype pos, QStringView text)
{
    QString shown;
    if (c.unicode() >= 0x20 && c.unicode() < 0x7f)
        shown = u"'"_s + c + u'\'';
    else
        shown = u"U+"_s + QString::number(c.unicode(), 16).toUpper().rightJustified(4, u'0');
    return parseError(u"unexpected character %1 at position %2"_s.arg(shown, QString::number(pos)), text);
}

// Appends the decimal digits of v (0..255) without going through QString::number.
void appendGroup(QString &out, quint8 v)
{
    if (v >= 100)
        out += QChar(u'0' + v / 100);
    if (v >= 10)
        out += QChar(u'0' + (v / 10) % 10);
    out += QChar(u'0' + v % 10);
}

} // namespace

Result<Obis> Obis::parse(QStringView input)
{
    const QStringView text = input.trimmed();
    if (text.isEmpty())
        return makeError(ErrorCode::Malformed, u"OBIS: empty code"_s);

    // Tokenise into up to six decimal groups and the five separators between them; the shape
    // of the separator sequence decides which of the accepted notations this is.
    std::array<quint8, 6> groups {};
    std::array<QChar, 5> seps {};
    int groupCount = 0;
    qsizetype pos = 0;
    const qsizetype n = text.size();
    while (true) {
        const qsizetype start = pos;
        while (pos < n && isAsciiDigit(text[pos]))
            ++pos;
        if (pos == start) {
            if (pos == n)
                return parseError(u"group %1 is missing at the end"_s.arg(groupCount + 1), text);
            const QChar c = text[pos];
            if (isSeparator(c))
                return parseError(u"group %1 is empty at position %2"_s.arg(groupCount + 1).arg(pos), text);
            return unexpectedChar(c, pos, text);
        }
        const QStringView digits = text.sliced(start, pos - start);
        // Leading zeros are harmless; anything past three significant digits is out of range.
        unsigned value = 0;
        bool tooBig = false;
        for (QChar d : digits) {
            value = value * 10 + unsigned(d.unicode() - u'0');
            if (value > 255) {
                tooBig = true;
                break;
            }
        }
        if (tooBig) {
            return parseError(
                u"group %1 value %2 is out of range 0..255"_s.arg(groupCount + 1).arg(digits), text);
        }
        groups[size_t(groupCount++)] = quint8(value);

        if (pos == n)
            break;
        const QChar c = text[pos];
        if (!isSeparator(c))
            return unexpectedChar(c, pos, text);
        if (groupCount == 6)
            return parseError(u"more than six groups"_s, text);
        seps[size_t(groupCount - 1)] = c;
        ++pos;
    }

    if (groupCount < 5) {
        const QString noun = groupCount == 1 ? u"group"_s : u"groups"_s;
        return parseError(u"only %1 %2, expected 5 or 6"_s.arg(groupCount).arg(noun), text);
    }

    const bool dotted
        = std::all_of(seps.begin(), seps.begin() + (groupCount - 1), [](QChar c) { return c == u'.'; });
    const bool iec = seps[0] == u'-' && seps[1] == u':' && seps[2] == u'.' && seps[3] == u'.'
        && (groupCount == 5 || seps[4] == u'*' || seps[4] == u'.');
    if (!dotted && !iec)
        return parseError(u"separators do not match A.B.C.D.E.F or A-B:C.D.E*F"_s, text);

    if (groupCount == 5)
        groups[5] = 255;
    return Obis(groups[0], groups[1], groups[2], groups[3], groups[4], groups[5]);
}

Result<Obis> Obis::fromBytes(QByteArrayView bytes)
{
    if (bytes.size() != 6)
        return makeError(
            ErrorCode::Malformed, u"OBIS: a logical name is 6 bytes, got %1"_s.arg(bytes.size()));
    const auto *p = reinterpret_cast<const quint8 *>(bytes.data());
    return Obis(p[0], p[1], p[2], p[3], p[4], p[5]);
}

QByteArray Obis::toBytes() const
{
    return QByteArray(reinterpret_cast<const char *>(m_g.data()), 6);
}

void Obis::appendTo(QByteArray &out) const
{
    out.append(reinterpret_cast<const char *>(m_g.data()), 6);
}

QString Obis::toString() const
{
    QString out;
    out.reserve(23);
    for (size_t i = 0; i < 6; ++i) {
        if (i)
            out += u'.';
        appendGroup(out, m_g[i]);
    }
    return out;
}

QString Obis::toIecString() const
{
    static constexpr char16_t seps[] = {u'-', u':', u'.', u'.', u'*'};
    QString out;
    out.reserve(23);
    for (size_t i = 0; i < 6; ++i) {
        if (i)
            out += QChar(seps[i - 1]);
        appendGroup(out, m_g[i]);
    }
    return out;
}

QString interfaceClassName(quint16 classId)
{
    switch (classId) {
    case 1:
        return u"Data"_s;
    case 3:
        return u"Register"_s;
    case 4:
        return u"Extended register"_s;
    case 5:
        return u"Demand register"_s;
    case 6:
        return u"Register activation"_s;
    case 7:
        return u"Profile generic"_s;
    case 8:
        return u"Clock"_s;
    case 9:
        return u"Script table"_s;
    case 10:
        return u"Schedule"_s;
    case 11:
        return u"Special days table"_s;
    case 12:
        return u"Association SN"_s;
    case 15:
        return u"Association LN"_s;
    case 17:
        return u"SAP assignment"_s;
    case 18:
        return u"Image transfer"_s;
    case 19:
        return u"IEC local port setup"_s;
    case 20:
        return u"Activity calendar"_s;
    case 21:
        return u"Register monitor"_s;
    case 22:
        return u"Single action schedule"_s;
    case 23:
        return u"IEC HDLC setup"_s;
    case 24:
        return u"IEC twisted pair (1) setup"_s;
    case 25:
        return u"M-Bus slave port setup"_s;
    case 26:
        return u"Utility tables"_s;
    case 27:
        return u"Modem configuration"_s;
    case 28:
        return u"Auto answer"_s;
    case 29:
        return u"Auto connect"_s;
    case 40:
        return u"Push setup"_s;
    case 41:
        return u"TCP-UDP setup"_s;
    case 42:
        return u"IPv4 setup"_s;
    case 43:
        return u"MAC address setup"_s;
    case 44:
        return u"PPP setup"_s;
    case 45:
        return u"GPRS modem setup"_s;
    case 46:
        return u"SMTP setup"_s;
    case 47:
        return u"GSM diagnostic"_s;
    case 48:
        return u"IPv6 setup"_s;
    case 61:
        return u"Register table"_s;
    case 62:
        return u"Compact data"_s;
    case 63:
        return u"Status mapping"_s;
    case 64:
        return u"Security setup"_s;
    case 70:
        return u"Disconnect control"_s;
    case 71:
        return u"Limiter"_s;
    case 72:
        return u"M-Bus client"_s;
    case 74:
        return u"M-Bus master port setup"_s;
    default:
        return u"class %1"_s.arg(classId);
    }
}

} // namespace dlms
