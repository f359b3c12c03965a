#pragma once

#include <QtCore/QStringList>

// `dlmsctl read`: reads attributes (registers scaled, profiles as CSV) from a meter. Returns the
// process exit code.
int runReadCommand(const QStringList &arguments);
