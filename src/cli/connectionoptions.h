#pragma once

#include <optional>

#include <dlmsconnection.h>

#include <QtCore/QString>

class QCommandLineParser;

// What `read` and `objects` share: where the meter is, how to associate, and how to report.
struct ConnectionOptions {
    polling::DlmsConnection::Options connection;
    bool json = false;
    bool trace = false;
    bool stats = false;
};

// Adds --host … --stats to a verb's parser.
void addConnectionOptions(QCommandLineParser &parser);
// Reads them back; a usage error (exit code 2) as an Error. --password-file is read here.
dlms::Result<ConnectionOptions> connectionOptions(const QCommandLineParser &parser);

// A usage error (exit code 2) with `message`.
dlms::Error usageError(const QString &message);
// Parses a decimal option value within [min, max]; the message names the option.
dlms::Result<qint64> integerOption(const QString &name, const QString &value, qint64 min, qint64 max);
// The exit codes every network verb shares, for --help.
QString exitCodesHelp();
// The parser's help with the usage line naming the verb ("Usage: dlmsctl read [options] …"):
// QCommandLineParser takes the program name from argv[0], which has neither.
QString verbHelpText(const QCommandLineParser &parser, const QString &verb);
// Parses a verb's arguments: a parse error or unexpected positional arguments → message on
// stderr and 2; --help → the help on stdout and 0; otherwise nullopt (go on).
std::optional<int> parseVerbArguments(
    QCommandLineParser &parser, const QStringList &arguments, const QString &verb, bool takesArguments);
