#include "processlimits.h"

#include <QtCore/QPointer>
#include <QtCore/QSocketNotifier>

#include <algorithm>

#include <cerrno>
#include <csignal>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

namespace {

// A signal handler may only do async-signal-safe things: it writes one byte (the signal
// number) down a socketpair, and a QSocketNotifier on the other end runs the handler in the
// event loop.
int g_signalPipe[2] = {-1, -1};

void onSignal(int signalNumber)
{
    const int saved = errno;
    const char byte = char(signalNumber);
    [[maybe_unused]] const auto written = ::write(g_signalPipe[0], &byte, 1);
    errno = saved;
}

// What runs for a signal, for as long as its context lives.
struct SignalRoute {
    QPointer<QObject> context;
    std::function<void()> handler;
    bool installed = false;
};

SignalRoute g_termination;
SignalRoute g_hangup;

bool ensurePipe()
{
    if (g_signalPipe[0] >= 0)
        return true;
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, g_signalPipe) != 0)
        return false;
    for (const int fd : g_signalPipe)
        ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    return true;
}

void dispatch(char byte)
{
    SignalRoute &route = byte == char(SIGHUP) ? g_hangup : g_termination;
    if (route.context && route.handler)
        route.handler();
}

// Each route has a notifier of its own, owned by its context, and whichever is activated
// drains every byte and dispatches each to its route: one end, read by whoever is alive.
bool installRoute(SignalRoute &route, QObject *context, std::function<void()> handler,
    std::initializer_list<int> signalNumbers)
{
    if (route.installed || !ensurePipe())
        return false;
    // A descriptor of its own (a dup of the read end): Qt wants one notifier per descriptor.
    const int readFd = ::fcntl(g_signalPipe[1], F_DUPFD_CLOEXEC, 0);
    if (readFd < 0)
        return false;
    route.installed = true;
    route.context = context;
    route.handler = std::move(handler);
    // Gone with the context, so the handler never outlives what it refers to; a signal after
    // that only writes a byte nobody reads.
    auto *notifier = new QSocketNotifier(readFd, QSocketNotifier::Read, context);
    QObject::connect(notifier, &QObject::destroyed, [readFd] { ::close(readFd); });
    QObject::connect(notifier, &QSocketNotifier::activated, notifier, [readFd] {
        char bytes[16];
        for (;;) {
            const auto got = ::read(readFd, bytes, sizeof bytes);
            if (got <= 0)
                break;
            for (qsizetype i = 0; i < got; ++i)
                dispatch(bytes[i]);
        }
    });
    struct sigaction action = {};
    action.sa_handler = onSignal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    return std::all_of(signalNumbers.begin(), signalNumbers.end(),
        [&](int signalNumber) { return ::sigaction(signalNumber, &action, nullptr) == 0; });
}

} // namespace

quint64 raiseOpenFileLimit(quint64 wanted)
{
    rlimit limit {};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0)
        return 0;
    const rlim_t target = wanted == 0 ? limit.rlim_max : std::min<rlim_t>(rlim_t(wanted), limit.rlim_max);
    if (limit.rlim_cur < target) {
        rlimit raised = limit;
        raised.rlim_cur = target;
        if (::setrlimit(RLIMIT_NOFILE, &raised) == 0)
            limit = raised;
    }
    return quint64(limit.rlim_cur);
}

bool onTerminationSignal(QObject *context, std::function<void()> handler)
{
    return installRoute(g_termination, context, std::move(handler), {SIGINT, SIGTERM});
}

bool onHangupSignal(QObject *context, std::function<void()> handler)
{
    return installRoute(g_hangup, context, std::move(handler), {SIGHUP});
}
