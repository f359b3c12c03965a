#pragma once

#include <QtCore/QStringList>

// `dlmsctl stats --db FILE --meter ID [--history N]`: prints the seed's network_stats JSON
// document for one meter ('*' = the system row) from the database. Returns the exit code.
int runStatsCommand(const QStringList &arguments);
