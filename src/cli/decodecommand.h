#pragma once

#include <QtCore/QStringList>

// `dlmsctl decode`: decodes a recorded DLMS exchange (or the embedded demo recordings) frame by
// frame. Returns the process exit code.
int runDecodeCommand(const QStringList &arguments);
