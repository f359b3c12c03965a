#pragma once

#include <QtCore/QStringList>

// `dlmsctl simulate`: runs simulated meters on loopback until SIGINT/SIGTERM. Returns the exit code.
int runSimulateCommand(const QStringList &arguments);
