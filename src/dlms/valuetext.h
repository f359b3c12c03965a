#pragma once

#include "cosemdatetime.h"
#include "value.h"

#include <QtCore/QByteArray>
#include <QtCore/QString>

namespace dlms {

// Values as text, by one rule wherever a value is shown or published (dlmsctl read and poll,
// the polling engine's readings), so the same value never reads two ways.

// "2026-11-23T10:00:00+01:00": a point in time with its offset (UTC when the meter gave none);
// CosemDateTime::toString() (with '*' wildcards) when it is not a complete point in time.
QString isoDateTime(const CosemDateTime &dateTime);

// True when every byte is printable ASCII (0x20..0x7E) and there is at least one: such an
// octet-string is a name or a serial number, not binary data.
bool isPrintableAscii(const QByteArray &bytes);

// A value as text: visible/utf8 strings as they are (controls included: whoever shows them on a
// terminal escapes them), printable octet-strings as their text, date-times as ISO 8601, and
// 12-byte octet-strings too when `clockAttribute` (a clock's time, which most meters send as an
// octet-string); anything else as Value::toText().
QString valueText(const Value &value, bool clockAttribute);

} // namespace dlms
