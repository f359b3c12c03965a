#pragma once

#include <obis.h>

#include <QtCore/QDateTime>
#include <QtCore/QString>

#include <optional>

// One ITEM of `dlmsctl read`: `[CLASS/]OBIS[:ATTR]`.
struct ReadItem {
    QString text; // as the user wrote it
    std::optional<quint16> classId; // given explicitly; otherwise resolved later
    dlms::Obis obis;
    qint8 attribute = 2;

    // "1.0.32.7.0.255:2"; "4/1.0.32.7.0.255:2" when the class given is not the well-known one.
    QString label() const;
};

// OBIS in either notation (`1.0.32.7.0.255`, `1-0:32.7.0*255`, `1-0:32.7.0`); the attribute is
// the last ':' followed only by digits (default 2), so `1-0:32.7.0` keeps its group separator.
dlms::Result<ReadItem> parseReadItem(QStringView text);

// ISO 8601 date-time (`2026-11-23T10:00`, `…Z`, `…+01:00`); without an offset it is UTC.
dlms::Result<QDateTime> parseTimestamp(QStringView text);
