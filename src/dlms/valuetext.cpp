#include "valuetext.h"

#include <QtCore/QDate>
#include <QtCore/QTime>

#include <cstdlib>

namespace dlms {

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

} // namespace

QString isoDateTime(const CosemDateTime &dt)
{
    // Formatted from the fields: a 10,000-row profile must not pay for QDateTime per row.
    const auto &d = dt.date;
    const auto &t = dt.time;
    const bool deviationKnown = dt.deviation != CosemDateTime::DeviationNotSpecified;
    const bool complete = d.year != CosemDate::YearNotSpecified && d.year <= 9999
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

bool isPrintableAscii(const QByteArray &bytes)
{
    if (bytes.isEmpty())
        return false;
    for (char c : bytes) {
        if (c < 0x20 || c > 0x7E)
            return false;
    }
    return true;
}

QString valueText(const Value &value, bool clockAttribute)
{
    switch (value.type()) {
    case DataType::VisibleString:
    case DataType::Utf8String:
        return value.string();
    case DataType::DateTime:
        return isoDateTime(*value.dateTime());
    case DataType::OctetString:
        if (clockAttribute && value.bytes().size() == 12) {
            if (const auto dt = CosemDateTime::fromBytes(value.bytes()))
                return isoDateTime(*dt);
        }
        if (isPrintableAscii(value.bytes()))
            return QString::fromLatin1(value.bytes());
        return value.toText();
    default:
        return value.toText();
    }
}

} // namespace dlms
