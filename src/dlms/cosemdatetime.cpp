#include "cosemdatetime.h"

#include "bytereader.h"
#include "bytewriter.h"

#include <QtCore/QTime>

#include <cstdlib>

using namespace Qt::StringLiterals;

// Deviation sign: IEC 62056-6-2 defines the deviation as the minutes "of local time to UTC",
// i.e. UTC = local time + deviation. Central European Time (UTC+01:00) is therefore sent as
// -60 (0xFFC4) and CEST as -120; Gurux, jDLMS and OSGP read it the same way. A few national
// companion standards (Gurux's "UseUtc2NormalTime") flip the sign; that is a per-meter quirk
// for the session layer, not something this value type guesses at.

namespace dlms {

namespace {

constexpr int kMaxDeviationMinutes = 14 * 60; // the widest UTC offsets in use are ±14 h

bool isPlainMonth(quint8 m)
{
    return m >= 1 && m <= 12;
}
bool isPlainDay(quint8 d)
{
    return d >= 1 && d <= 31;
}

Error lengthError(const char *what, qsizetype want, qsizetype got)
{
    return makeError(got < want ? ErrorCode::Truncated : ErrorCode::Malformed,
        u"COSEM %1 must be exactly %2 bytes, got %3"_s.arg(QLatin1StringView(what)).arg(want).arg(got));
}

CosemDate readDate(ByteReader &r)
{
    CosemDate d;
    d.year = r.u16();
    d.month = r.u8();
    d.dayOfMonth = r.u8();
    d.dayOfWeek = r.u8();
    return d;
}

CosemTime readTime(ByteReader &r)
{
    CosemTime t;
    t.hour = r.u8();
    t.minute = r.u8();
    t.second = r.u8();
    t.hundredths = r.u8();
    return t;
}

QString twoDigits(quint8 v)
{
    if (v == 0xFF)
        return u"**"_s;
    return u"%1"_s.arg(v, 2, 10, QLatin1Char('0'));
}

QString weekdayName(quint8 dow)
{
    static const char *const names[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
    if (dow >= 1 && dow <= 7)
        return QString::fromLatin1(names[dow - 1]);
    return QString::number(dow);
}

} // namespace

bool CosemDateTime::isFullySpecified() const
{
    // The weekday is implied by the date, so it may be left unspecified.
    return date.year != CosemDate::YearNotSpecified && isPlainMonth(date.month) && isPlainDay(date.dayOfMonth)
        && time.hour != CosemTime::NotSpecified && time.minute != CosemTime::NotSpecified
        && time.second != CosemTime::NotSpecified;
}

Result<CosemDateTime> CosemDateTime::fromBytes(QByteArrayView bytes12)
{
    if (bytes12.size() != 12)
        return lengthError("date-time", 12, bytes12.size());
    ByteReader r(bytes12);
    CosemDateTime dt;
    dt.date = readDate(r);
    dt.time = readTime(r);
    dt.deviation = qint16(r.u16());
    dt.clockStatus = r.u8();
    return dt;
}

QByteArray CosemDateTime::toBytes() const
{
    QByteArray out;
    out.reserve(12);
    appendTo(out);
    return out;
}

void CosemDateTime::appendTo(QByteArray &out) const
{
    appendCosemDate(date, out);
    appendCosemTime(time, out);
    ByteWriter w(out);
    w.u16(quint16(deviation));
    w.u8(clockStatus);
}

std::optional<QDateTime> CosemDateTime::toQDateTime(Qt::TimeSpec assumedSpec) const
{
    if (!isFullySpecified())
        return std::nullopt;
    const quint8 hundredths = time.hundredths == CosemTime::NotSpecified ? 0 : time.hundredths;
    if (hundredths > 99)
        return std::nullopt;
    const QDate d(date.year, date.month, date.dayOfMonth);
    const QTime t(time.hour, time.minute, time.second, hundredths * 10);
    if (!d.isValid() || !t.isValid())
        return std::nullopt;

    QDateTime result;
    if (deviation != DeviationNotSpecified) {
        if (std::abs(int(deviation)) > kMaxDeviationMinutes)
            return std::nullopt;
        result = QDateTime(d, t, Qt::OffsetFromUTC, -int(deviation) * 60);
    } else {
        switch (assumedSpec) {
        case Qt::LocalTime:
        case Qt::TimeZone: // no zone to go with it: the system zone is the only sensible one
            result = QDateTime(d, t, Qt::LocalTime);
            break;
        case Qt::UTC:
        case Qt::OffsetFromUTC:
            result = QDateTime(d, t, Qt::UTC);
            break;
        }
    }
    if (!result.isValid())
        return std::nullopt;
    return result;
}

CosemDateTime CosemDateTime::fromQDateTime(const QDateTime &dateTime)
{
    CosemDateTime dt;
    if (!dateTime.isValid())
        return dt;
    const QDate d = dateTime.date();
    if (d.year() < 0 || d.year() >= int(CosemDate::YearNotSpecified))
        return dt;
    const QTime t = dateTime.time();
    dt.date.year = quint16(d.year());
    dt.date.month = quint8(d.month());
    dt.date.dayOfMonth = quint8(d.day());
    dt.date.dayOfWeek = quint8(d.dayOfWeek());
    dt.time.hour = quint8(t.hour());
    dt.time.minute = quint8(t.minute());
    dt.time.second = quint8(t.second());
    dt.time.hundredths = quint8(t.msec() / 10);
    dt.deviation = qint16(-dateTime.offsetFromUtc() / 60);
    // Valid; the daylight-saving bit mirrors the QDateTime so a meter sees the same as a person.
    dt.clockStatus = dateTime.isDaylightTime() ? quint8(ClockDaylightSavingActive) : quint8(0);
    return dt;
}

QString CosemDateTime::toString() const
{
    QString s = cosemDateToString(date) + QLatin1Char('T') + cosemTimeToString(time);
    if (deviation == DeviationNotSpecified)
        return s;
    if (deviation == 0)
        return s + QLatin1Char('Z');
    const int offset = -int(deviation); // minutes ahead of UTC, see the note at the top
    const int magnitude = std::abs(offset);
    return s + (offset < 0 ? QLatin1Char('-') : QLatin1Char('+'))
        + u"%1:%2"_s.arg(magnitude / 60, 2, 10, QLatin1Char('0'))
              .arg(magnitude % 60, 2, 10, QLatin1Char('0'));
}

Result<CosemDate> cosemDateFromBytes(QByteArrayView bytes5)
{
    if (bytes5.size() != 5)
        return lengthError("date", 5, bytes5.size());
    ByteReader r(bytes5);
    return readDate(r);
}

void appendCosemDate(const CosemDate &date, QByteArray &out)
{
    ByteWriter w(out);
    w.u16(date.year);
    w.u8(date.month);
    w.u8(date.dayOfMonth);
    w.u8(date.dayOfWeek);
}

QString cosemDateToString(const CosemDate &date)
{
    const QString year = date.year == CosemDate::YearNotSpecified
        ? u"****"_s
        : u"%1"_s.arg(date.year, 4, 10, QLatin1Char('0'));
    QString month;
    switch (date.month) {
    case CosemDate::DaylightSavingsBegin:
        month = u"DB"_s;
        break;
    case CosemDate::DaylightSavingsEnd:
        month = u"DE"_s;
        break;
    default:
        month = twoDigits(date.month);
        break;
    }
    QString day;
    switch (date.dayOfMonth) {
    case CosemDate::LastDay:
        day = u"LD"_s;
        break;
    case CosemDate::SecondLastDay:
        day = u"L2"_s;
        break;
    default:
        day = twoDigits(date.dayOfMonth);
        break;
    }
    QString s = year + QLatin1Char('-') + month + QLatin1Char('-') + day;
    // A weekday only adds information when the date itself is not a plain calendar date
    // (schedules such as "every Wednesday").
    const bool plainDate
        = date.year != CosemDate::YearNotSpecified && isPlainMonth(date.month) && isPlainDay(date.dayOfMonth);
    if (date.dayOfWeek != CosemDate::NotSpecified && !plainDate)
        s += QLatin1Char('(') + weekdayName(date.dayOfWeek) + QLatin1Char(')');
    return s;
}

Result<CosemTime> cosemTimeFromBytes(QByteArrayView bytes4)
{
    if (bytes4.size() != 4)
        return lengthError("time", 4, bytes4.size());
    ByteReader r(bytes4);
    return readTime(r);
}

void appendCosemTime(const CosemTime &time, QByteArray &out)
{
    const char b[4] = {char(time.hour), char(time.minute), char(time.second), char(time.hundredths)};
    out.append(b, 4);
}

QString cosemTimeToString(const CosemTime &time)
{
    return twoDigits(time.hour) + QLatin1Char(':') + twoDigits(time.minute) + QLatin1Char(':')
        + twoDigits(time.second) + QLatin1Char('.') + twoDigits(time.hundredths);
}

} // namespace dlms
