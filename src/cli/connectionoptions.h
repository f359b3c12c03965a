#pragma once

#include <memory>
#include <optional>
#include <vector>

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

// Adds --host … --stats (and the security options below) to a verb's parser.
void addConnectionOptions(QCommandLineParser &parser);
// Reads them back; a usage error (exit code 2) as an Error. --password-file is read here, the
// keys are resolved and the invocation counter store is opened (an error names its file).
dlms::Result<ConnectionOptions> connectionOptions(const QCommandLineParser &parser);

// Suite 0 and HLS-GMAC from the command line: --security, --system-title, --ek, --ak,
// --dedicated-key, --general-ciphering, --invocation-counter, --counter-dir. `--auth` is the
// verb's own (its help differs). What is not given stays as it is in applyTo().
struct SecurityOverrides {
    std::optional<dlms::Authentication> authentication;
    std::optional<dlms::SecurityPolicy> policy;
    std::optional<QByteArray> systemTitle;
    std::optional<QByteArray> blockCipherKey; // a secret
    std::optional<QByteArray> authenticationKey; // a secret
    bool dedicatedKey = false; // only switches it on
    bool generalCiphering = false;
    quint32 invocationCounterFloor = 0; // --invocation-counter N: never send a value below N
    QString counterDirectory; // --counter-dir, else polling::defaultInvocationCounterDirectory()

    bool any() const;
    void applyTo(dlms::Authentication &authentication, dlms::SecuritySettings &security) const;
    // For the verbs that take meters from a configuration file (poll, commission): the overrides
    // applied to every meter and each checked again (a usage error names the meter and option);
    // --counter-dir becomes $DLMSBRIDGE_COUNTER_DIR for this process. The counters returned carry
    // the --invocation-counter floor: hold them while the meters run, so that their connections
    // get these same objects (polling::sharedInvocationCounter).
    dlms::Result<std::vector<std::shared_ptr<dlms::InvocationCounter>>> applyTo(
        std::vector<polling::MeterConfig> &meters) const;
};
void addSecurityOptions(QCommandLineParser &parser);
// Only --system-title, --ek and --ak (addSecurityOptions() adds them too): for `decode`, which
// deciphers a recorded trace and has no association to configure.
void addKeyOptions(QCommandLineParser &parser);
// Reads --auth (none, low, hls-gmac) and those of the security options the verb's parser
// defines. A literal key prints a warning on stderr (arguments are visible in ps). Usage errors
// never show a key.
dlms::Result<SecurityOverrides> securityOverrides(const QCommandLineParser &parser);
// A key option's value (--ek, --ak): 16 bytes of hex, env:VARIABLE or file:PATH (its first line,
// hex). A literal prints the ps warning. The message names the option, never the value.
dlms::Result<QByteArray> keyOption(const QCommandLineParser &parser, const QString &name);
// The option that sets a field polling::findSecurityProblem() names ("security.ek" → "--ek").
QString securityOptionName(const QString &field);

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
