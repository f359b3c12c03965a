#pragma once

#include <QtCore/QStringList>

// `dlmsctl run`: the bridge without a window (app::Bridge from a configuration file) until
// SIGINT/SIGTERM (or --seconds); SIGHUP reloads the file. Returns the exit code.
int runRunCommand(const QStringList &arguments);
