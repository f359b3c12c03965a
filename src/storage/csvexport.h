#pragma once

#include "reader.h"

#include <QtCore/QByteArray>
#include <QtCore/QStringView>

#include <functional>

class QIODevice;

namespace storage {

enum class ExportKind : quint8 { Readings, Network };

struct ExportOptions {
    ExportKind kind = ExportKind::Readings;
    QString meterId; // empty = every meter
    qint64 fromMs = 0; // inclusive
    qint64 toMs = 0; // exclusive; 0 = no upper bound
};

// Streams rows as CSV (RFC 4180: CRLF line ends, fields quoted when they contain a comma, a
// quote, CR or LF; a header row; ISO-8601 UTC timestamps with milliseconds; readings with a
// unit column; numbers as the meter meant them). Nothing beyond the current row is held, so
// ten million rows cost no memory. `progress(rowsSoFar)` is called every few thousand rows and
// at the end. Returns the number of data rows written; a write error (disk full, closed pipe)
// stops the export with IoError.
dlms::Result<qint64> exportCsv(Reader &reader, const ExportOptions &options, QIODevice &out,
    const std::function<void(qint64)> &progress = {});

// One CSV field, quoted as needed. Text starting with '=', '+', '-', '@' (or tab / CR, which
// spreadsheets also evaluate) is prefixed with a single quote so no spreadsheet runs it as a
// formula — except a plain number ("-12.5", "+3"), which stays a number.
QByteArray csvField(QStringView text);

} // namespace storage
