#include "simulatecommand.h"

#include "connectionoptions.h"
#include <processlimits.h>

#include <simulator.h>

#include <QtCore/QCommandLineParser>
#include <QtCore/QCoreApplication>
#include <QtCore/QTextStream>

#include <cerrno>
#include <cstdio>
#include <set>

using namespace Qt::StringLiterals;

namespace {

QString describeFaults(const sim::FaultConfig &f)
{
    QStringList parts;
    if (f.latencyMs > 0)
        parts << u"latency %1ms"_s.arg(f.latencyMs);
    if (f.dropMidFrame)
        parts << u"drop-mid-frame"_s;
    if (f.garbageBytes > 0)
        parts << u"garbage %1 bytes"_s.arg(f.garbageBytes);
    if (f.drip)
        parts << (f.dripIntervalMs == 1 ? u"drip"_s : u"drip %1ms"_s.arg(f.dripIntervalMs));
    if (f.rejectAssociation)
        parts << u"reject-association"_s;
    if (f.exceptionResponses)
        parts << u"exception-responses"_s;
    if (f.silent)
        parts << u"silent"_s;
    return parts.join(u", "_s);
}

struct SimulateOptions {
    sim::SimulatorConfig config;
    sim::FaultConfig faults;
    std::set<int> faultyMeters; // 1-based; empty = every meter
};

dlms::Result<SimulateOptions> simulateOptions(const QCommandLineParser &parser)
{
    SimulateOptions o;
    sim::SimulatorConfig &c = o.config;
    sim::MeterSettings &m = c.meter;
    c.address = QHostAddress(QHostAddress::LocalHost);

    struct Bound {
        const char16_t *name;
        qint64 min;
        qint64 max;
    };
    qint64 values[14] = {};
    static constexpr Bound bounds[] = {
        {u"port", 0, 65535},
        {u"meters", 1, 5000},
        {u"rows", 0, 100'000}, // 3 A-XDR elements a row; clients accept 500,000 per value
        {u"period-s", 1, 31 * 86400},
        {u"max-pdu", 12, 65535},
        {u"hdlc-max-info", 32, 2030},
        {u"hdlc-window", 1, 7},
        {u"clock-offset-s", -20 * 365 * 86400LL, 20 * 365 * 86400LL},
        {u"latency-ms", 0, 600'000},
        {u"garbage", 0, 65536},
        {u"drip-interval-ms", 1, 10'000},
    };
    for (size_t i = 0; i < std::size(bounds); ++i) {
        const QString name = QString::fromUtf16(bounds[i].name);
        const auto value = integerOption(name, parser.value(name), bounds[i].min, bounds[i].max);
        if (!value)
            return value.error();
        values[i] = *value;
    }
    c.basePort = quint16(values[0]);
    c.meters = int(values[1]);
    if (c.basePort != 0 && c.basePort + c.meters - 1 > 65535)
        return usageError(u"--port %1 with --meters %2 runs past port 65535"_s.arg(c.basePort).arg(c.meters));
    m.profileRows = quint32(values[2]);
    m.profilePeriodSeconds = quint32(values[3]);
    m.maxPduSize = quint16(values[4]);
    m.hdlc = dlms::hdlc::LinkParameters {
        quint16(values[5]), quint16(values[5]), quint32(values[6]), quint32(values[6])};
    m.clockOffsetSeconds = values[7];

    const QString transport = parser.value(u"transport"_s);
    if (const auto parsed = dlms::transportFromName(transport))
        c.transport = *parsed;
    else
        return usageError(u"--transport must be wrapper or hdlc (got '%1')"_s.arg(transport));

    if (parser.isSet(u"password"_s)) {
        m.password = parser.value(u"password"_s).toUtf8();
        if (m.password.isEmpty())
            return usageError(u"--password must not be empty"_s);
    }
    m.requireAuthentication = parser.isSet(u"require-auth"_s);
    m.requireHighSecurity = parser.isSet(u"require-hls"_s);
    if (parser.isSet(u"security"_s)) {
        const QString name = parser.value(u"security"_s);
        const auto policy = dlms::securityPolicyFromName(name);
        if (!policy)
            return usageError(u"--security must be none, auth, enc or auth-enc (got '%1')"_s.arg(name));
        m.security.policy = *policy;
    }
    // Empty keys are filled per meter by sim::defaultSecurity().
    for (const QString &name : {u"ek"_s, u"ak"_s}) {
        if (!parser.isSet(name))
            continue;
        auto key = keyOption(parser, name);
        if (!key)
            return key.error();
        (name == u"ek" ? m.security.blockCipherKey : m.security.authenticationKey) = std::move(*key);
    }
    m.multipleReferences = !parser.isSet(u"no-multiple-references"_s);

    sim::FaultConfig &f = o.faults;
    f.latencyMs = int(values[8]);
    f.garbageBytes = int(values[9]);
    f.dripIntervalMs = int(values[10]);
    f.dropMidFrame = parser.isSet(u"drop-mid-frame"_s);
    f.drip = parser.isSet(u"drip"_s);
    f.rejectAssociation = parser.isSet(u"reject-association"_s);
    f.exceptionResponses = parser.isSet(u"exception-responses"_s);
    f.silent = parser.isSet(u"silent"_s);

    if (parser.isSet(u"faults-on"_s)) {
        for (const QString &part : parser.value(u"faults-on"_s).split(u',', Qt::SkipEmptyParts)) {
            const auto n = integerOption(u"faults-on"_s, part, 1, c.meters);
            if (!n)
                return usageError(
                    u"--faults-on takes meter numbers from 1 to %1 separated by commas (got '%2')"_s
                        .arg(c.meters)
                        .arg(parser.value(u"faults-on"_s)));
            o.faultyMeters.insert(int(*n));
        }
        if (o.faultyMeters.empty())
            return usageError(u"--faults-on needs at least one meter number"_s);
    }
    if (o.faultyMeters.empty())
        m.faults = f;
    return o;
}

} // namespace

int runSimulateCommand(const QStringList &arguments)
{
    QTextStream out(stdout);
    QTextStream err(stderr);
    QCommandLineParser parser;
    parser.setApplicationDescription(
        u"Run simulated DLMS/COSEM meters on 127.0.0.1 until SIGINT or SIGTERM.\n\n"
        "Meter i (1-based) listens on port P+i-1 (--port 0: an ephemeral port each). Once listening,\n"
        "one line per meter is printed ('meter 1  127.0.0.1:4059  wrapper  serial SIM00000001',\n"
        "faults appended), then 'ready'. Fault options apply to every meter, or only to those\n"
        "listed in --faults-on.\n\n"
        "Exit codes: 0 stopped by a signal; 2 usage error; 3 cannot listen."_s);
    parser.addHelpOption();
    parser.addOptions({
        {u"port"_s, u"First TCP port (default 4059; 0 = ephemeral ports)."_s, u"P"_s, u"4059"_s},
        {u"transport"_s, u"Framing: wrapper (default) or hdlc."_s, u"name"_s, u"wrapper"_s},
        {u"meters"_s, u"Number of meters (default 1)."_s, u"K"_s, u"1"_s},
        {u"rows"_s,
            u"Load profile 1.0.99.1.0.255 entries, 0..100000 (default 10000; more would pass the client's "
            u"limit of 500000 A-XDR elements per value)."_s,
            u"N"_s, u"10000"_s},
        {u"period-s"_s, u"Load profile capture period in seconds (default 900)."_s, u"N"_s, u"900"_s},
        {u"max-pdu"_s, u"Meter max receive PDU size; larger responses use block transfer (default 1024)."_s,
            u"N"_s, u"1024"_s},
        {u"hdlc-max-info"_s, u"HDLC max information field length proposed (default 128)."_s, u"N"_s,
            u"128"_s},
        {u"hdlc-window"_s, u"HDLC window size proposed (default 1)."_s, u"N"_s, u"1"_s},
        {u"password"_s, u"LLS password the meters accept (default 12345678)."_s, u"S"_s},
        {u"require-auth"_s, u"Refuse associations without authentication."_s},
        {u"require-hls"_s, u"Refuse associations without HLS-GMAC authentication (no-auth and LLS)."_s},
        {u"security"_s,
            u"Least suite 0 protection accepted on a ciphered association: none (default), auth, enc or "
            "auth-enc. Every meter also speaks HLS-GMAC; its system title is 'SIM' + its 5-byte index."_s,
            u"policy"_s},
        {u"ek"_s,
            u"Block cipher key (EK) of every meter: 16 bytes of hex, env:VARIABLE or file:PATH (default: "
            "the public DLMS UA Green Book example EK, see the README; for tests and demos only)."_s,
            u"KEY"_s},
        {u"ak"_s, u"Authentication key (AK): as --ek (default: the Green Book example AK)."_s, u"KEY"_s},
        {u"no-multiple-references"_s, u"Do not offer GET-with-list (multiple-references)."_s},
        {u"clock-offset-s"_s, u"Meter clock minus host clock, in seconds (default 0)."_s, u"N"_s, u"0"_s},
        {u"latency-ms"_s, u"Fault: wait this long before each response."_s, u"N"_s, u"0"_s},
        {u"drop-mid-frame"_s, u"Fault: send half of the first data response, then close."_s},
        {u"garbage"_s, u"Fault: write N random bytes before each response."_s, u"N"_s, u"0"_s},
        {u"drip"_s, u"Fault: send responses one byte at a time."_s},
        {u"drip-interval-ms"_s, u"Pause between dripped bytes (default 1)."_s, u"N"_s, u"1"_s},
        {u"reject-association"_s, u"Fault: reject every association."_s},
        {u"exception-responses"_s, u"Fault: answer every GET/SET/ACTION with an exception-response."_s},
        {u"silent"_s, u"Fault: accept connections, never answer."_s},
        {u"faults-on"_s, u"Apply the faults only to these meters (1-based), e.g. 2,5."_s, u"LIST"_s},
    });
    if (const auto done = parseVerbArguments(parser, arguments, u"simulate"_s, false))
        return *done;
    auto options = simulateOptions(parser);
    if (!options) {
        err << "dlmsctl: " << options.error().message << '\n';
        return 2;
    }

    // A listener per meter plus a socket per connection: a large simulated site outgrows the usual
    // soft limit of 1024 descriptors long before the hard limit, so take what the system allows.
    raiseOpenFileLimit();
    sim::Simulator simulator(options->config);
    for (int meter : options->faultyMeters)
        simulator.setFaults(meter - 1, options->faults);
    if (const auto started = simulator.start(); !started) {
        err << "dlmsctl: " << started.error().message << '\n';
        return 3;
    }
    if (!onTerminationSignal(&simulator, [] { QCoreApplication::quit(); })) {
        err << "dlmsctl: cannot install the signal handlers: " << qt_error_string(errno) << '\n';
        return 3;
    }

    const QString transport = dlms::transportName(options->config.transport);
    for (int i = 0; i < simulator.meterCount(); ++i) {
        out << "meter " << (i + 1) << "  127.0.0.1:" << simulator.port(i) << "  " << transport << "  serial "
            << simulator.meter(i).serialNumber();
        const QString faults = describeFaults(simulator.meter(i).faults());
        if (!faults.isEmpty())
            out << "  faults: " << faults;
        out << '\n';
    }
    out << "ready\n";
    out.flush();

    QCoreApplication::exec();
    simulator.stop();
    return 0;
}
