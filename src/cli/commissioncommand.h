#pragma once

#include <QtCore/QStringList>

// `dlmsctl commission --config FILE [--meter ID…] [--csv F] [--pdf F] [--sync-clock]
// [--site S] [--technician T] [--notes N] [--database PATH | --no-store]`: the commissioning
// checks (app::CommissioningRun) on the meters of a configuration file, printed meter by
// meter as they finish, stored as a session in the configuration's database, exported as CSV
// and/or PDF. Exit codes: 0 no check failed, 1 at least one check failed, 2 usage or
// configuration error, 3 the session or a report could not be written.
// --pdf needs a QGuiApplication: main() makes one (offscreen platform) when it is given.
int runCommissionCommand(const QStringList &arguments);

// Whether these arguments (as given to runCommissionCommand) ask for a PDF, so main() knows
// to construct a QGuiApplication before running the command.
bool commissionNeedsGui(const QStringList &arguments);
