#include "displayformat.h"

#include <QtCore/QCoreApplication>
#include <QtCore/QLocale>

#include <algorithm>

using namespace Qt::StringLiterals;

namespace monitor {

namespace {

constexpr const char *kContext = "monitor::Format";

QString withUnit(const QString &number, const char *unit)
{
    return number + u' ' + QCoreApplication::translate(kContext, unit);
}

// Steps of 1000 through `units` (the first is the unit above the base one).
QString scaled(double value, const char *base, const char *const *units, int unitCount, int baseDecimals)
{
    if (value < 1000)
        return withUnit(QLocale().toString(value, 'f', baseDecimals), base);
    double v = value / 1000;
    int unit = 0;
    while (v >= 1000 && unit < unitCount - 1) {
        v /= 1000;
        ++unit;
    }
    return withUnit(QLocale().toString(v, 'f', 1), units[unit]);
}

} // namespace

QString formatBytes(double bytes, bool fractional)
{
    static const char *const units[]
        = {QT_TRANSLATE_NOOP("monitor::Format", "KB"), QT_TRANSLATE_NOOP("monitor::Format", "MB"),
            QT_TRANSLATE_NOOP("monitor::Format", "GB"), QT_TRANSLATE_NOOP("monitor::Format", "TB")};
    if (bytes < 1000 && !fractional)
        return withUnit(QLocale().toString(qint64(bytes)), QT_TRANSLATE_NOOP("monitor::Format", "B"));
    return scaled(bytes, QT_TRANSLATE_NOOP("monitor::Format", "B"), units, 4, 1);
}

QString formatBitRate(double bitsPerSecond)
{
    static const char *const units[] = {QT_TRANSLATE_NOOP("monitor::Format", "kbit/s"),
        QT_TRANSLATE_NOOP("monitor::Format", "Mbit/s"), QT_TRANSLATE_NOOP("monitor::Format", "Gbit/s")};
    return scaled(bitsPerSecond, QT_TRANSLATE_NOOP("monitor::Format", "bit/s"), units, 3, 0);
}

QString formatByteRate(double bytesPerSecond)
{
    // The seed's dashboard reads in KB/s even when small: "0.4 KB/s", not "400 B/s".
    const double kb = bytesPerSecond / 1000;
    if (kb < 1000)
        return withUnit(QLocale().toString(kb, 'f', 1), QT_TRANSLATE_NOOP("monitor::Format", "KB/s"));
    if (kb < 1000 * 1000)
        return withUnit(QLocale().toString(kb / 1000, 'f', 1), QT_TRANSLATE_NOOP("monitor::Format", "MB/s"));
    return withUnit(QLocale().toString(kb / 1e6, 'f', 1), QT_TRANSLATE_NOOP("monitor::Format", "GB/s"));
}

QString formatPacketRate(double packetsPerSecond)
{
    return withUnit(
        QLocale().toString(packetsPerSecond, 'f', 1), QT_TRANSLATE_NOOP("monitor::Format", "pkt/s"));
}

QString formatPercent(double fraction)
{
    return withUnit(QLocale().toString(fraction * 100, 'f', 1), QT_TRANSLATE_NOOP("monitor::Format", "%"));
}

QString formatMs(double ms)
{
    return withUnit(QLocale().toString(ms, 'f', 1), QT_TRANSLATE_NOOP("monitor::Format", "ms"));
}

QString formatCount(quint64 count)
{
    return QLocale().toString(count);
}

namespace {

enum class AgeUnit : quint8 { Seconds, Minutes, Hours, Days };
struct Age {
    AgeUnit unit;
    qint64 count;
};

// The unit and count formatAge() shows: the one rule both it and ageBucket() follow.
Age ageOf(qint64 ageMs)
{
    const qint64 s = std::max<qint64>(0, ageMs) / 1000;
    if (s < 60)
        return {AgeUnit::Seconds, s};
    if (s < 3600)
        return {AgeUnit::Minutes, s / 60};
    if (s < 86400)
        return {AgeUnit::Hours, s / 3600};
    return {AgeUnit::Days, s / 86400};
}

} // namespace

QString formatAge(qint64 ageMs)
{
    const Age age = ageOf(ageMs);
    const int n = int(age.count);
    switch (age.unit) {
    case AgeUnit::Seconds:
        return QCoreApplication::translate("monitor::Format", "%n s ago", nullptr, n);
    case AgeUnit::Minutes:
        return QCoreApplication::translate("monitor::Format", "%n min ago", nullptr, n);
    case AgeUnit::Hours:
        return QCoreApplication::translate("monitor::Format", "%n h ago", nullptr, n);
    case AgeUnit::Days:
        break;
    }
    return QCoreApplication::translate("monitor::Format", "%n d ago", nullptr, n);
}

qint64 ageBucket(qint64 ageMs)
{
    // Counts stay far below 2^60 (days of a qint64 of ms), so unit and count pack losslessly.
    const Age age = ageOf(ageMs);
    return (qint64(age.unit) << 60) | age.count;
}

QString noData()
{
    return u"\u2014"_s;
}

} // namespace monitor
