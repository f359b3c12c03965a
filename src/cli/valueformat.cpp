#include "valueformat.h"

#include <QtCore/QDate>
#include <QtCore/QTime>

#include <cstdlib>

using namespace Qt::StringLiterals;

namespace {

void appendDigits(QString &out, int value, int width)
{
    char buffer[8];
    for (int i = width - 1; i >= 0; --i) {
        buffer[i] = char('0' + value % 10);
        value /= 10;
    }
    out.append(QLatin1StringView(buffer, width));
}

// Characters that would act on a terminal or break the one-line-per-item output: C0, DEL and
// C1 controls, format characters (bidi overrides), line/paragraph separators, lone surrogates.
bool isDisplayable(char32_t c)
{
    switch (QChar::category(c)) {
    case QChar::Other_Control:
    case QChar::Other_Format:
    case QChar::Other_Surrogate:
    case QChar::Separator_Line:
    case QChar::Separator_Paragraph:
        return false;
    default:
        return true;
    }
}

// Calls `each(codePoint, index, length)` for every code point; a lone surrogate is one of its own.
template<typename F> void forEachCodePoint(const QString &text, F &&each)
{
    for (qsizetype i = 0; i < text.size();) {
        const QChar c = text.at(i);
        if (c.isHighSurrogate() && i + 1 < text.size() && text.at(i + 1).isLowSurrogate()) {
            each(QChar::surrogateToUcs4(c, text.at(i + 1)), i, 2);
            i += 2;
        } else {
            each(char32_t(c.unicode()), i, 1);
            ++i;
        }
    }
}

// The string quoted, with backslash escapes for what cannot be shown as is.
QString escapedText(const QString &text)
{
    QString out;
    out.reserve(text.size() + 8);
    out += u'"';
    forEachCodePoint(text, [&](char32_t c, qsizetype at, qsizetype length) {
        if (c == U'"' || c == U'\\') {
            out += u'\\';
            out += QChar(c);
        } else if (isDisplayable(c)) {
            out += QStringView(text).sliced(at, length);
        } else if (c < 0x100) {
            out += u"\\x%1"_s.arg(uint(c), 2, 16, QLatin1Char('0'));
        } else {
            out += u"\\u%1"_s.arg(uint(c), 4, 16, QLatin1Char('0'));
        }
    });
    out += u'"';
    return out;
}

} // namespace

QString displayText(const QString &text)
{
    bool plain = true;
    forEachCodePoint(text, [&](char32_t c, qsizetype, qsizetype) { plain = plain && isDisplayable(c); });
    return plain ? text : escapedText(text);
}

QString isoDateTime(const dlms::CosemDateTime &dt)
{
    // Formatted from the fields: a 10,000-row profile must not pay for QDateTime per row.
    const auto &d = dt.date;
    const auto &t = dt.time;
    const bool deviationKnown = dt.deviation != dlms::CosemDateTime::DeviationNotSpecified;
    const bool complete = d.year != dlms::CosemDate::YearNotSpecified && d.year <= 9999
        && QDate::isValid(d.year, d.month, d.dayOfMonth) && QTime::isValid(t.hour, t.minute, t.second)
        && (!deviationKnown || std::abs(int(dt.deviation)) <= 14 * 60);
    if (!complete)
        return dt.toString();
    // The COSEM deviation is UTC minus local time (CET is -60); the ISO offset is the opposite.
    const int offset = deviationKnown ? -int(dt.deviation) : 0;
    QString out;
    out.reserve(25);
    appendDigits(out, d.year, 4);
    out += u'-';
    appendDigits(out, d.month, 2);
    out += u'-';
    appendDigits(out, d.dayOfMonth, 2);
    out += u'T';
    appendDigits(out, t.hour, 2);
    out += u':';
    appendDigits(out, t.minute, 2);
    out += u':';
    appendDigits(out, t.second, 2);
    out += offset < 0 ? u'-' : u'+';
    appendDigits(out, std::abs(offset) / 60, 2);
    out += u':';
    appendDigits(out, std::abs(offset) % 60, 2);
    return out;
}

bool isPrintable(const QByteArray &bytes)
{
    if (bytes.isEmpty())
        return false;
    for (char c : bytes) {
        if (c < 0x20 || c > 0x7E)
            return false;
    }
    return true;
}

QString plainValueText(const dlms::Value &value, bool clockAttribute)
{
    switch (value.type()) {
    case dlms::DataType::VisibleString:
    case dlms::DataType::Utf8String:
        return displayText(value.string());
    case dlms::DataType::DateTime:
        return isoDateTime(*value.dateTime());
    case dlms::DataType::OctetString:
        if (clockAttribute && value.bytes().size() == 12) {
            if (const auto dt = dlms::CosemDateTime::fromBytes(value.bytes()))
                return isoDateTime(*dt);
        }
        if (isPrintable(value.bytes()))
            return QString::fromLatin1(value.bytes());
        return value.toText();
    default:
        return value.toText();
    }
}

QString csvField(const QString &text)
{
    if (!text.contains(u',') && !text.contains(u'"') && !text.contains(u'\n') && !text.contains(u'\r'))
        return text;
    QString quoted = text;
    quoted.replace(u"\""_s, u"\"\""_s);
    return u'"' + quoted + u'"';
}
