#include "benchcommand.h"
#include "commissioncommand.h"
#include "decodecommand.h"
#include "exportcommand.h"
#include "objectscommand.h"
#include "pollcommand.h"
#include "readcommand.h"
#include "runcommand.h"
#include "simulatecommand.h"
#include "statscommand.h"

#include <QtCore/QCoreApplication>
#include <QtCore/QTextStream>
#include <QtGui/QGuiApplication>

#include <cstdio>
#include <cstring>
#include <memory>

using namespace Qt::StringLiterals;

namespace {

void printUsage(FILE *to)
{
    QTextStream out(to);
    out << uR"(Usage: dlmsctl <command> [options]

DLMS Bridge command-line companion.

Commands:
  read      Read attributes from a meter: registers scaled with units, profiles as CSV.
  objects   List a meter's objects (object list) with their access rights.
  simulate  Run simulated meters on 127.0.0.1 until interrupted.
  poll      Poll the meters of a site file and print their readings as they arrive.
  bench     Benchmarks: 'bench poll' polls simulated meters and prints one JSON summary.
  decode    Decode a recorded DLMS/COSEM exchange (HDLC or wrapper), frame by frame.
  stats     Print a meter's network statistics from a database (the seed's network_stats JSON).
  export    Export readings or network metrics from a database as CSV.
  run       Run the bridge without a window (the service): poll, store, publish, serve HTTP.
  commission
            Commission the meters of a configuration: check each end to end, store the session,
            write CSV and PDF reports.

Run 'dlmsctl <command> --help' for a command's options.
)"_s;
}

} // namespace

int main(int argc, char *argv[])
{
    // The PDF report paints with QtGui, which needs a QGuiApplication; on a server without a
    // display only the offscreen platform works, so it is the default there.
    std::unique_ptr<QCoreApplication> app;
    if (argc >= 2 && std::strcmp(argv[1], "commission") == 0) {
        QStringList commissionArgs {u"dlmsctl commission"_s};
        for (int i = 2; i < argc; ++i)
            commissionArgs << QString::fromLocal8Bit(argv[i]);
        if (commissionNeedsGui(commissionArgs)) {
            if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
                qputenv("QT_QPA_PLATFORM", "offscreen");
            app = std::make_unique<QGuiApplication>(argc, argv);
        }
    }
    if (!app)
        app = std::make_unique<QCoreApplication>(argc, argv);
    QCoreApplication::setApplicationName(u"dlmsctl"_s);
    QCoreApplication::setApplicationVersion(QStringLiteral(DLMSBRIDGE_VERSION));

    const QStringList args = QCoreApplication::arguments();
    if (args.size() < 2) {
        printUsage(stderr);
        return 2;
    }
    const QString command = args.at(1);
    if (command == u"--help" || command == u"-h" || command == u"help") {
        printUsage(stdout);
        return 0;
    }
    if (command == u"--version") {
        QTextStream(stdout) << "dlmsctl " << QCoreApplication::applicationVersion() << '\n';
        return 0;
    }
    // Subcommands parse "dlmsctl <command> …" so their --help names the command.
    QStringList rest = args.mid(1);
    rest.first() = u"dlmsctl "_s + command;
    if (command == u"decode")
        return runDecodeCommand(rest);
    if (command == u"read")
        return runReadCommand(rest);
    if (command == u"objects")
        return runObjectsCommand(rest);
    if (command == u"simulate")
        return runSimulateCommand(rest);
    if (command == u"poll")
        return runPollCommand(rest);
    if (command == u"bench")
        return runBenchCommand(rest);
    if (command == u"stats")
        return runStatsCommand(rest);
    if (command == u"export")
        return runExportCommand(rest);
    if (command == u"run")
        return runRunCommand(rest);
    if (command == u"commission")
        return runCommissionCommand(rest);

    QTextStream(stderr) << "dlmsctl: unknown command '" << command << "'. Run 'dlmsctl --help'.\n";
    return 2;
}
