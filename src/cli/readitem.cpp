#include "readitem.h"

using namespace Qt::StringLiterals;

QString ReadItem::label() const
{
    const QString plain = obis.toString() + u':' + QString::number(attribute);
    // Two items may differ only in their class: a class other than the usual one is shown.
    const dlms::WellKnownObject *known = dlms::findWellKnown(obis);
    if (classId && known && known->classId != *classId)
        return QString::number(*classId) + u'/' + plain;
    return plain;
}

namespace {

bool allDigits(QStringView text)
{
    if (text.isEmpty())
        return false;
    for (QChar c : text) {
        if (c < u'0' || c > u'9')
            return false;
    }
    return true;
}

dlms::Error itemError(QStringView text, const QString &why)
{
    return dlms::makeError(dlms::ErrorCode::InvalidArgument,
        u"bad ITEM '%1': %2 (expected [CLASS/]OBIS[:ATTR], e.g. 3/1.0.32.7.0.255:2)"_s.arg(text, why));
}

} // namespace

dlms::Result<ReadItem> parseReadItem(QStringView text)
{
    ReadItem item;
    item.text = text.toString();
    QStringView rest = text.trimmed();

    const qsizetype slash = rest.indexOf(u'/');
    if (slash >= 0) {
        const QStringView cls = rest.first(slash);
        bool ok = false;
        const uint classId = cls.toUInt(&ok);
        if (!allDigits(cls) || !ok || classId == 0 || classId > 0xFFFF)
            return itemError(text, u"class '%1' is not a number from 1 to 65535"_s.arg(cls));
        item.classId = quint16(classId);
        rest = rest.sliced(slash + 1);
    }

    const qsizetype colon = rest.lastIndexOf(u':');
    if (colon >= 0 && allDigits(rest.sliced(colon + 1))) {
        const QStringView attr = rest.sliced(colon + 1);
        bool ok = false;
        const uint attribute = attr.toUInt(&ok);
        if (!ok || attribute == 0 || attribute > 127)
            return itemError(text, u"attribute '%1' is not a number from 1 to 127"_s.arg(attr));
        item.attribute = qint8(attribute);
        rest = rest.first(colon);
    }

    const auto obis = dlms::Obis::parse(rest);
    if (!obis)
        return itemError(text, obis.error().message);
    item.obis = *obis;
    return item;
}

dlms::Result<QDateTime> parseTimestamp(QStringView text)
{
    QString trimmed = text.trimmed().toString();
    // Without an offset the time is UTC. Parsed as local time first, a wall-clock time inside a
    // local DST gap would be rejected (or shifted), so it is marked UTC before parsing.
    if (const qsizetype t = trimmed.indexOf(u'T'); t >= 0) {
        const QStringView time = QStringView(trimmed).sliced(t + 1);
        if (!time.contains(u'Z') && !time.contains(u'+') && !time.contains(u'-'))
            trimmed += u'Z';
    }
    QDateTime parsed = QDateTime::fromString(trimmed, Qt::ISODate);
    if (!parsed.isValid() && !trimmed.contains(u'T')) {
        // A bare date means its midnight.
        const QDate date = QDate::fromString(trimmed, Qt::ISODate);
        if (date.isValid())
            parsed = QDateTime(date, QTime(0, 0), Qt::UTC);
    }
    if (!parsed.isValid()) {
        return dlms::makeError(dlms::ErrorCode::InvalidArgument,
            u"bad time '%1' (expected ISO 8601, e.g. 2026-11-23T10:00, 2026-11-23T10:00Z or "
            "2026-11-23T10:00+01:00)"_s.arg(text));
    }
    return parsed;
}
