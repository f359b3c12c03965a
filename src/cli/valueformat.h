#pragma once

#include <value.h>

#include <QtCore/QString>

// How dlmsctl prints values. Kept apart from the commands so it can be tested on its own.

// "2026-11-23T10:00:00+01:00": a point in time with its offset (UTC when the meter gave none);
// CosemDateTime::toString() (with '*' wildcards) when it is not a complete point in time.
QString isoDateTime(const dlms::CosemDateTime &dateTime);

// `text` as is when every character can be shown (no C0/C1 controls, DEL, bidi or line
// separators); otherwise quoted with \xNN / \uNNNN escapes, so a meter cannot drive the terminal.
QString displayText(const QString &text);

// True when every byte is printable ASCII (0x20..0x7E) and there is at least one.
bool isPrintable(const QByteArray &bytes);

// A non-register value as text: visible/utf8 strings (through displayText) and printable
// octet-strings as their text, date-times (and 12-byte octet-strings when `clockAttribute`) as
// ISO 8601, else Value::toText().
QString plainValueText(const dlms::Value &value, bool clockAttribute);

// A CSV field, quoted only when it has to be.
QString csvField(const QString &text);
