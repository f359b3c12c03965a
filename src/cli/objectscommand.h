#pragma once

#include <QtCore/QStringList>

// `dlmsctl objects`: lists the meter's object list with access rights. Returns the exit code.
int runObjectsCommand(const QStringList &arguments);
