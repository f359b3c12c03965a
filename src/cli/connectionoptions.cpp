#include "connectionoptions.h"

#include <invocationcounterstore.h>
#include <meterconfig.h>
#include <siteconfig.h>

#include <QtCore/QCommandLineParser>
#include <QtCore/QCoreApplication>
#include <QtCore/QFile>
#include <QtCore/QHash>
#include <QtCore/QTextStream>

using namespace Qt::StringLiterals;

dlms::Error usageError(const QString &message)
{
    return dlms::makeError(dlms::ErrorCode::InvalidArgument, message);
}

dlms::Result<qint64> integerOption(const QString &name, const QString &value, qint64 min, qint64 max)
{
    bool ok = false;
    const qint64 n = value.trimmed().toLongLong(&ok);
    if (!ok || n < min || n > max)
        return usageError(
            u"--%1 must be a number from %2 to %3 (got '%4')"_s.arg(name).arg(min).arg(max).arg(value));
    return n;
}

QString exitCodesHelp()
{
    return u"Exit codes: 0 every item read; 2 usage error; 3 connection failed, refused, lost or timed\n"
           "out; 4 association rejected (also: HLS authentication failed, or a ciphered association did\n"
           "not decipher: wrong keys or system title); 5 some items failed."_s;
}

QString verbHelpText(const QCommandLineParser &parser, const QString &verb)
{
    QString text = parser.helpText();
    const QStringList arguments = QCoreApplication::arguments();
    const QString usage = u"Usage: "_s + (arguments.isEmpty() ? QString() : arguments.constFirst());
    if (!arguments.isEmpty() && text.startsWith(usage))
        text.replace(0, usage.size(), u"Usage: dlmsctl "_s + verb);
    return text;
}

std::optional<int> parseVerbArguments(
    QCommandLineParser &parser, const QStringList &arguments, const QString &verb, bool takesArguments)
{
    QTextStream err(stderr);
    if (!parser.parse(arguments)) {
        err << "dlmsctl: " << parser.errorText() << '\n';
        return 2;
    }
    if (parser.isSet(u"help"_s)) {
        QTextStream(stdout) << verbHelpText(parser, verb);
        return 0;
    }
    if (!takesArguments && !parser.positionalArguments().isEmpty()) {
        err << "dlmsctl: " << verb << " takes no arguments (got '" << parser.positionalArguments().join(u' ')
            << "')\n";
        return 2;
    }
    return std::nullopt;
}

void addConnectionOptions(QCommandLineParser &parser)
{
    parser.addOptions({
        {u"host"_s, u"Meter address (required), e.g. 127.0.0.1."_s, u"H"_s},
        {u"port"_s, u"TCP port (default 4059)."_s, u"P"_s, u"4059"_s},
        {u"transport"_s, u"Framing: wrapper (IEC 62056-47, default) or hdlc (IEC 62056-46)."_s, u"name"_s,
            u"wrapper"_s},
        {u"client"_s, u"Client SAP (default 16, the public client)."_s, u"N"_s, u"16"_s},
        {u"server"_s, u"Server logical device: wrapper wPort / HDLC upper address (default 1)."_s, u"N"_s,
            u"1"_s},
        {u"physical"_s, u"HDLC lower (physical) address; 0 = none (default)."_s, u"N"_s, u"0"_s},
        {u"auth"_s,
            u"Authentication: none (default), low (LLS password) or hls-gmac (HLS mechanism 5: needs "
            "--system-title, --ek and --ak)."_s,
            u"mode"_s, u"none"_s},
        {u"password"_s, u"LLS password (prefer --password-file: arguments are visible in ps)."_s, u"S"_s},
        {u"password-file"_s, u"Read the LLS password from the first line of this file."_s, u"F"_s},
        {u"timeout-ms"_s, u"Bound on TCP connect + association, and on each request (default 5000)."_s,
            u"N"_s, u"5000"_s},
        {u"max-pdu"_s, u"Client max receive PDU size (default 65535)."_s, u"N"_s, u"65535"_s},
        {u"hdlc-max-info"_s, u"HDLC max information field length, both directions (default 128)."_s, u"N"_s,
            u"128"_s},
        {u"hdlc-window"_s, u"HDLC window size, both directions (default 1)."_s, u"N"_s, u"1"_s},
        {u"json"_s, u"Print one JSON document on stdout instead of text."_s},
        {u"trace"_s,
            u"Print every frame (hex and decode) to stderr; passwords are masked, ciphered APDUs are "
            "shown deciphered (marked 'decrypted') when the keys are given."_s},
        {u"stats"_s, u"Print one line of traffic and timing statistics to stderr at the end."_s},
    });
    addSecurityOptions(parser);
}

void addKeyOptions(QCommandLineParser &parser)
{
    parser.addOptions({
        {u"system-title"_s, u"Our (the client's) system title: 8 bytes of hex, e.g. 4D4D4D0000000001."_s,
            u"HEX"_s},
        {u"ek"_s,
            u"Block cipher key (EK): 16 bytes of hex, env:VARIABLE or file:PATH (first line, hex). Prefer "
            "env: or file:, arguments are visible in ps."_s,
            u"KEY"_s},
        {u"ak"_s, u"Authentication key (AK): as --ek."_s, u"KEY"_s},
    });
}

void addSecurityOptions(QCommandLineParser &parser)
{
    parser.addOption({u"security"_s,
        u"Suite 0 ciphering of the xDLMS APDUs: none (default), auth (GMAC tag), enc (AES-GCM "
        "without tag) or auth-enc. Needs --system-title and --ek (and --ak with auth, auth-enc)."_s,
        u"policy"_s});
    addKeyOptions(parser);
    parser.addOptions({
        {u"dedicated-key"_s, u"Send a fresh dedicated key in the AARQ and cipher the association with it."_s},
        {u"general-ciphering"_s, u"Use general-glo-ciphering APDUs instead of the service-specific ones."_s},
        {u"invocation-counter"_s,
            u"The meter has already seen invocation counters up to N-1: never send one below N. The "
            "counter itself is kept per EK and system title in --counter-dir."_s,
            u"N"_s},
        {u"counter-dir"_s,
            u"Where the invocation counters are kept (default $DLMSBRIDGE_COUNTER_DIR, else "
            "~/.local/share/dlmsbridge/invocation-counters)."_s,
            u"DIR"_s},
    });
}

QString securityOptionName(const QString &field)
{
    static const QHash<QString, QString> names {{u"auth"_s, u"--auth"_s},
        {u"security.system_title"_s, u"--system-title"_s}, {u"security.ek"_s, u"--ek"_s},
        {u"security.ak"_s, u"--ak"_s}, {u"security.dedicated_key"_s, u"--dedicated-key"_s},
        {u"security.general_ciphering"_s, u"--general-ciphering"_s}, {u"security.policy"_s, u"--security"_s}};
    return names.value(field, field);
}

bool SecurityOverrides::any() const
{
    return authentication || policy || systemTitle || blockCipherKey || authenticationKey || dedicatedKey
        || generalCiphering || invocationCounterFloor > 0 || !counterDirectory.isEmpty();
}

void SecurityOverrides::applyTo(dlms::Authentication &auth, dlms::SecuritySettings &security) const
{
    if (authentication)
        auth = *authentication;
    if (policy)
        security.policy = *policy;
    if (systemTitle)
        security.systemTitle = *systemTitle;
    if (blockCipherKey)
        security.blockCipherKey = *blockCipherKey;
    if (authenticationKey)
        security.authenticationKey = *authenticationKey;
    security.dedicatedKey = security.dedicatedKey || dedicatedKey;
    security.generalCiphering = security.generalCiphering || generalCiphering;
}

dlms::Result<std::vector<std::shared_ptr<dlms::InvocationCounter>>> SecurityOverrides::applyTo(
    std::vector<polling::MeterConfig> &meters) const
{
    std::vector<std::shared_ptr<dlms::InvocationCounter>> counters;
    if (!any())
        return counters;
    if (!counterDirectory.isEmpty())
        qputenv("DLMSBRIDGE_COUNTER_DIR", QFile::encodeName(counterDirectory));
    for (polling::MeterConfig &meter : meters) {
        applyTo(meter.authentication, meter.security);
        if (const auto problem = polling::findMeterConfigProblem(meter))
            return usageError(u"meter '%1' with the options given: %2 %3"_s.arg(
                meter.id, securityOptionName(problem->field), problem->problem));
        if (meter.authentication == dlms::Authentication::HighGmac || meter.security.ciphered()) {
            auto counter = polling::sharedInvocationCounter(polling::defaultInvocationCounterDirectory(),
                meter.security.blockCipherKey, meter.security.systemTitle, invocationCounterFloor);
            if (!counter)
                return usageError(u"meter '%1': %2"_s.arg(meter.id, counter.error().message));
            counters.push_back(std::move(*counter));
        }
    }
    return counters;
}

dlms::Result<QByteArray> keyOption(const QCommandLineParser &parser, const QString &name)
{
    const QString given = parser.value(name);
    const bool reference = given.startsWith(u"env:"_s) || given.startsWith(u"file:"_s);
    if (!reference)
        QTextStream(stderr) << "dlmsctl: warning: --" << name
                            << " given on the command line is visible in ps; prefer env:VARIABLE or "
                               "file:PATH\n";
    auto key = polling::resolveKey(given);
    if (!key)
        return usageError(u"--%1: %2"_s.arg(name, key.error().message));
    return std::move(*key);
}

dlms::Result<SecurityOverrides> securityOverrides(const QCommandLineParser &parser)
{
    // isSet() warns about an option the parser does not define: `decode` has only the keys.
    const QStringList found = parser.optionNames();
    const auto given = [&](const QString &name) { return found.contains(name); };
    SecurityOverrides o;
    if (given(u"auth"_s)) {
        const QString auth = parser.value(u"auth"_s);
        const auto mechanism = polling::authenticationFromKeyName(auth);
        if (!mechanism || *mechanism == dlms::Authentication::High
            || *mechanism == dlms::Authentication::HighMd5 || *mechanism == dlms::Authentication::HighSha1
            || *mechanism == dlms::Authentication::HighSha256
            || *mechanism == dlms::Authentication::HighEcdsa)
            return usageError(u"--auth must be none, low or hls-gmac (got '%1')"_s.arg(auth));
        o.authentication = *mechanism;
    }
    if (given(u"security"_s)) {
        const QString name = parser.value(u"security"_s);
        const auto policy = dlms::securityPolicyFromName(name);
        if (!policy)
            return usageError(u"--security must be none, auth, enc or auth-enc (got '%1')"_s.arg(name));
        o.policy = *policy;
    }
    if (given(u"system-title"_s)) {
        auto title = dlms::security::parseHexBytes(
            parser.value(u"system-title"_s), dlms::security::SystemTitleSize, u"--system-title"_s);
        if (!title)
            return usageError(title.error().message);
        o.systemTitle = std::move(*title);
    }
    for (const QString &name : {u"ek"_s, u"ak"_s}) {
        if (!given(name))
            continue;
        auto key = keyOption(parser, name);
        if (!key)
            return key.error();
        (name == u"ek" ? o.blockCipherKey : o.authenticationKey) = std::move(*key);
    }
    o.dedicatedKey = given(u"dedicated-key"_s);
    o.generalCiphering = given(u"general-ciphering"_s);
    if (given(u"invocation-counter"_s)) {
        const auto floor
            = integerOption(u"invocation-counter"_s, parser.value(u"invocation-counter"_s), 1, 0xFFFFFFFF);
        if (!floor)
            return floor.error();
        o.invocationCounterFloor = quint32(*floor);
    }
    if (given(u"counter-dir"_s)) {
        o.counterDirectory = parser.value(u"counter-dir"_s);
        if (o.counterDirectory.isEmpty())
            return usageError(u"--counter-dir needs a directory"_s);
    }
    return o;
}

dlms::Result<ConnectionOptions> connectionOptions(const QCommandLineParser &parser)
{
    ConnectionOptions result;
    auto &conn = result.connection;
    dlms::ClientConfig &client = conn.client;

    conn.host = parser.value(u"host"_s).trimmed();
    if (conn.host.isEmpty())
        return usageError(u"--host is required"_s);

    auto number = [&](const QString &name, qint64 min, qint64 max) {
        return integerOption(name, parser.value(name), min, max);
    };
    const auto port = number(u"port"_s, 1, 65535);
    if (!port)
        return port.error();
    conn.port = quint16(*port);

    const QString transport = parser.value(u"transport"_s);
    if (const auto parsed = dlms::transportFromName(transport))
        client.transport = *parsed;
    else
        return usageError(u"--transport must be wrapper or hdlc (got '%1')"_s.arg(transport));
    const bool hdlc = client.transport == dlms::Transport::Hdlc;

    // HDLC carries the client address in one byte (7 bits) and server addresses in 14 bits.
    const auto clientSap = number(u"client"_s, 0, hdlc ? 0x7F : 0xFFFF);
    if (!clientSap)
        return clientSap.error();
    client.clientAddress = quint16(*clientSap);
    const auto server = number(u"server"_s, 0, hdlc ? 0x3FFF : 0xFFFF);
    if (!server)
        return server.error();
    client.serverAddress = quint16(*server);
    const auto physical = number(u"physical"_s, 0, 0x3FFF);
    if (!physical)
        return physical.error();
    client.physicalAddress = quint16(*physical);

    const auto timeout = number(u"timeout-ms"_s, 1, 3'600'000);
    if (!timeout)
        return timeout.error();
    conn.connectTimeoutMs = int(*timeout);
    conn.requestTimeoutMs = int(*timeout);

    const auto maxPdu = number(u"max-pdu"_s, 12, 65535);
    if (!maxPdu)
        return maxPdu.error();
    client.maxReceivePduSize = quint16(*maxPdu);
    const auto maxInfo = number(u"hdlc-max-info"_s, 32, 2030);
    if (!maxInfo)
        return maxInfo.error();
    const auto window = number(u"hdlc-window"_s, 1, 7);
    if (!window)
        return window.error();
    client.hdlc = dlms::hdlc::LinkParameters {
        quint16(*maxInfo), quint16(*maxInfo), quint32(*window), quint32(*window)};

    const auto security = securityOverrides(parser);
    if (!security)
        return security.error();
    if (parser.isSet(u"password"_s) && parser.isSet(u"password-file"_s))
        return usageError(u"give either --password or --password-file, not both"_s);
    QByteArray password;
    if (parser.isSet(u"password-file"_s)) {
        const QString path = parser.value(u"password-file"_s);
        QFile file(path);
        if (!file.open(QIODevice::ReadOnly))
            return usageError(u"cannot read --password-file %1: %2"_s.arg(path, file.errorString()));
        password = file.readLine(4096);
        while (password.endsWith('\n') || password.endsWith('\r'))
            password.chop(1);
    } else if (parser.isSet(u"password"_s)) {
        password = parser.value(u"password"_s).toUtf8();
    }
    security->applyTo(client.authentication, client.security);
    if (client.authentication == dlms::Authentication::Low) {
        if (password.isEmpty())
            return usageError(u"--auth low needs a password (--password or --password-file)"_s);
        client.password = password;
    }
    // The rules of a configured meter, named by the options that set the fields.
    if (const auto problem = polling::findSecurityProblem(client.authentication, client.security))
        return usageError(securityOptionName(problem->field) + u' ' + problem->problem);
    if (client.authentication == dlms::Authentication::HighGmac || client.security.ciphered()) {
        const QString directory = security->counterDirectory.isEmpty()
            ? polling::defaultInvocationCounterDirectory()
            : security->counterDirectory;
        auto counter = polling::sharedInvocationCounter(directory, client.security.blockCipherKey,
            client.security.systemTitle, security->invocationCounterFloor);
        if (!counter)
            return usageError(counter.error().message);
        client.invocationCounter = std::move(*counter);
    }

    result.json = parser.isSet(u"json"_s);
    result.trace = parser.isSet(u"trace"_s);
    result.stats = parser.isSet(u"stats"_s);
    return result;
}
