#pragma once

#include <pollingtypes.h>

#include <QtCore/QJsonObject>
#include <QtCore/QStringList>

// `dlmsctl poll`: polls the meters of a site file and prints readings as they arrive, until
// --seconds pass or SIGINT/SIGTERM. Returns the exit code.
int runPollCommand(const QStringList &arguments);

// How `poll` prints one batch; apart from the command so they can be tested on their own.
// Text: one line per reading, "2026-11-24T10:00:00.123Z  <meter name>  <key>  230.1 V".
QStringList readingLines(const polling::ReadingsBatch &batch, const QString &meterName);
// JSON: {"meter":…, "name":…, "ts":…, "values":{…}, "units":{…}, "errors":{…}} (errors only
// when an item failed, units only for readings that have one).
QJsonObject readingsJson(const polling::ReadingsBatch &batch, const QString &meterName);
