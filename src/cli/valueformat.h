#pragma once

#include <value.h>
#include <valuetext.h>

#include <QtCore/QString>

// How dlmsctl prints values. Kept apart from the commands so it can be tested on its own. What a
// value reads as (dlms::valueText, dlms::isoDateTime) is the library's; this adds the terminal's rules.

// `text` as is when every character can be shown (no C0/C1 controls, DEL, bidi or line
// separators); otherwise quoted with \xNN / \uNNNN escapes, so a meter cannot drive the terminal.
QString displayText(const QString &text);

// dlms::valueText() made safe for a terminal: visible/utf8 strings go through displayText().
QString plainValueText(const dlms::Value &value, bool clockAttribute);

// A CSV field, quoted only when it has to be.
QString csvField(const QString &text);
