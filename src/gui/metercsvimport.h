#pragma once

#include <error.h>
#include <meterconfig.h>

#include <QtCore/QByteArray>
#include <QtCore/QStringList>

#include <vector>

// Meters from a CSV file: a header row names the columns (case-insensitive, any order):
// id (required), host (required), name, port, transport (wrapper|hdlc), client_address,
// server_address, physical_address, authentication (none|low), password, interval_ms,
// timeout_ms, items (polling::parseItemLine items, "[key=]OBIS [class:attribute]", separated
// by ';' or white space). Missing columns take the values of `defaults`. Comma or semicolon separated
// (detected from the header), RFC 4180 quoting, UTF-8 with or without BOM. Every row is validated like the
// site file (polling::validateMeterConfig), ids unique within the file and against `takenIds`.
struct MeterCsvImport {
    std::vector<polling::MeterConfig> meters; // the valid rows, in file order
    QStringList problems; // "line 4: port: must be an integer from 1 to 65535 (got 70000)"
};

// The file itself unusable (no header, no id/host column, not UTF-8, larger than 16 MiB)
// is an error; row problems are listed in the result.
dlms::Result<MeterCsvImport> parseMeterCsv(
    const QByteArray &csv, const polling::MeterConfig &defaults, const QStringList &takenIds);
