#pragma once

#include <QtCore/QStringList>

// `dlmsctl export --db FILE --what readings|network [--meter ID] [--from T] [--to T] [--out F]`:
// streams CSV to a file or stdout, progress on stderr. Returns the exit code.
int runExportCommand(const QStringList &arguments);
