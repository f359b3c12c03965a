#include "connectionoptions.h"

#include <QtCore/QCommandLineParser>
#include <QtCore/QCoreApplication>
#include <QtCore/QFile>
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
           "out; 4 association rejected; 5 some items failed."_s;
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
        {u"auth"_s, u"Authentication: none (default) or low (LLS password)."_s, u"mode"_s, u"none"_s},
        {u"password"_s, u"LLS password (prefer --password-file: arguments are visible in ps)."_s, u"S"_s},
        {u"password-file"_s, u"Read the LLS password from the first line of this file."_s, u"F"_s},
        {u"timeout-ms"_s, u"Bound on TCP connect + association, and on each request (default 5000)."_s,
            u"N"_s, u"5000"_s},
        {u"max-pdu"_s, u"Client max receive PDU size (default 65535)."_s, u"N"_s, u"65535"_s},
        {u"hdlc-max-info"_s, u"HDLC max information field length, both directions (default 128)."_s, u"N"_s,
            u"128"_s},
        {u"hdlc-window"_s, u"HDLC window size, both directions (default 1)."_s, u"N"_s, u"1"_s},
        {u"json"_s, u"Print one JSON document on stdout instead of text."_s},
        {u"trace"_s, u"Print every frame (hex and decode) to stderr; passwords are masked."_s},
        {u"stats"_s, u"Print one line of traffic and timing statistics to stderr at the end."_s},
    });
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

    const QString auth = parser.value(u"auth"_s);
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
    if (auth == u"none") {
        client.authentication = dlms::Authentication::None;
    } else if (auth == u"low") {
        if (password.isEmpty())
            return usageError(u"--auth low needs a password (--password or --password-file)"_s);
        client.authentication = dlms::Authentication::Low;
        client.password = password;
    } else {
        return usageError(u"--auth must be none or low (got '%1')"_s.arg(auth));
    }

    result.json = parser.isSet(u"json"_s);
    result.trace = parser.isSet(u"trace"_s);
    result.stats = parser.isSet(u"stats"_s);
    return result;
}
