#pragma once

#include <QtCore/QtGlobal>

#include <functional>

// Process-wide setup shared by dlmsctl's long-running verbs (simulate, poll, bench, run) and the
// desktop application.

// Raises the soft RLIMIT_NOFILE to at least `wanted` descriptors, or to the hard limit when
// `wanted` is 0. Returns the soft limit in force afterwards (0 when it cannot be read).
quint64 raiseOpenFileLimit(quint64 wanted = 0);

class QObject;

// Calls `handler` from the event loop (never from the signal handler) on each SIGINT or
// SIGTERM, for as long as `context` lives. Once per process; false when the handlers cannot be
// installed (errno says why).
bool onTerminationSignal(QObject *context, std::function<void()> handler);

// The same for SIGHUP (reload): once per process, through the same self-pipe, so a SIGHUP and
// a SIGTERM arriving together are both delivered, in order.
bool onHangupSignal(QObject *context, std::function<void()> handler);
