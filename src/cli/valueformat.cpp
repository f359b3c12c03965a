#include "valueformat.h"

using namespace Qt::StringLiterals;

namespace {

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

QString plainValueText(const dlms::Value &value, bool clockAttribute)
{
    const QString text = dlms::valueText(value, clockAttribute);
    switch (value.type()) {
    case dlms::DataType::VisibleString:
    case dlms::DataType::Utf8String:
        return displayText(text);
    default:
        return text; // the library's text: only a meter's own strings can carry controls
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
