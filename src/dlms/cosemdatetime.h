#pragma once

#include "error.h"

#include <QtCore/QByteArrayView>
#include <QtCore/QDateTime>

#include <optional>

namespace dlms {

// COSEM date / time / date-time (IEC 62056-6-2, 4.1.6.1). Every field keeps the wire
// encoding's "not specified" markers (0xFF, 0xFFFF, deviation 0x8000) so a value read from a
// meter re-encodes byte for byte; conversion to QDateTime is a separate, explicit step.
struct CosemDate {
    static constexpr quint16 YearNotSpecified = 0xFFFF;
    static constexpr quint8 NotSpecified = 0xFF;
    static constexpr quint8 DaylightSavingsEnd = 0xFD; // month
    static constexpr quint8 DaylightSavingsBegin = 0xFE; // month
    static constexpr quint8 SecondLastDay = 0xFD; // day of month
    static constexpr quint8 LastDay = 0xFE; // day of month

    quint16 year = YearNotSpecified;
    quint8 month = NotSpecified;
    quint8 dayOfMonth = NotSpecified;
    quint8 dayOfWeek = NotSpecified; // 1 = Monday … 7 = Sunday

    bool operator==(const CosemDate &) const = default;
};

struct CosemTime {
    static constexpr quint8 NotSpecified = 0xFF;

    quint8 hour = NotSpecified;
    quint8 minute = NotSpecified;
    quint8 second = NotSpecified;
    quint8 hundredths = NotSpecified;

    bool operator==(const CosemTime &) const = default;
};

// Clock status bits (IEC 62056-6-2, 4.1.6.1).
enum ClockStatusBit : quint8 {
    ClockInvalidValue = 0x01,
    ClockDoubtfulValue = 0x02,
    ClockDifferentBase = 0x04,
    ClockInvalidStatus = 0x08,
    ClockDaylightSavingActive = 0x80,
};

struct CosemDateTime {
    static constexpr qint16 DeviationNotSpecified = qint16(-32768); // 0x8000 on the wire
    static constexpr quint8 ClockStatusNotSpecified = 0xFF;

    CosemDate date;
    CosemTime time;
    // Minutes between local time and UTC, as the meter sent it; the sign convention (and the
    // reason for it) is documented once, in cosemdatetime.cpp.
    qint16 deviation = DeviationNotSpecified;
    quint8 clockStatus = ClockStatusNotSpecified;

    bool operator==(const CosemDateTime &) const = default;

    bool isFullySpecified() const; // every date and time field (hundredths excepted) is set

    // Exactly 12 / 5 / 4 bytes as carried in an octet-string or after a date-time tag.
    static Result<CosemDateTime> fromBytes(QByteArrayView bytes12);
    QByteArray toBytes() const;
    void appendTo(QByteArray &out) const;

    // std::nullopt when a field needed for a point in time is not specified or out of range.
    // Without a deviation the time is taken as `assumedSpec` (default: UTC).
    std::optional<QDateTime> toQDateTime(Qt::TimeSpec assumedSpec = Qt::UTC) const;
    // Deviation filled from the QDateTime's offset; clock status valid (0), plus the
    // daylight-saving bit when the QDateTime is in daylight-saving time.
    static CosemDateTime fromQDateTime(const QDateTime &dateTime);

    // ISO-8601-like text that shows unspecified fields as '*': "2024-03-05T14:07:00.00+01:00".
    QString toString() const;
};

Result<CosemDate> cosemDateFromBytes(QByteArrayView bytes5);
void appendCosemDate(const CosemDate &date, QByteArray &out);
QString cosemDateToString(const CosemDate &date);

Result<CosemTime> cosemTimeFromBytes(QByteArrayView bytes4);
void appendCosemTime(const CosemTime &time, QByteArray &out);
QString cosemTimeToString(const CosemTime &time);

} // namespace dlms
