#include "statscommand.h"

#include "connectionoptions.h"

#include <networkstats.h>
#include <reader.h>

#include <QtCore/QCommandLineParser>
#include <QtCore/QJsonDocument>
#include <QtCore/QTextStream>

#include <cstdio>

using namespace Qt::StringLiterals;

int runStatsCommand(const QStringList &arguments)
{
    QTextStream err(stderr);
    QCommandLineParser parser;
    parser.setApplicationDescription(
        u"Print the network statistics of one meter from the bridge's database, as the JSON of the\n"
        "Python bridge's GET /meters/{id}/network_stats: meter_id, meter_name, timestamp, current,\n"
        "application, averages, peaks, history (the seed's keys, unchanged), plus reliability,\n"
        "latency, interface, outbox and window. 'current' is the newest minute row; 'application',\n"
        "'reliability', 'interface' and latency's rtt_avg_ms / rtt_max_ms cover every row of the\n"
        "meter; averages, peaks and history the newest --history rows; latency.rtt_p95_ms is the\n"
        "highest per-minute p95 among those rows. Rates: kbps = bps / 1000, mbps = bps / 10^6.\n"
        "--meter '*' gives the whole system (meter_name \"system\").\n\n"
        "Exit codes: 0 printed; 2 usage error; 3 the database cannot be opened or read (missing,\n"
        "not SQLite, an older schema: open it once with the bridge); 4 unknown meter."_s);
    parser.addHelpOption();
    parser.addOptions({
        {u"db"_s, u"The bridge's SQLite database (required)."_s, u"FILE"_s},
        {u"meter"_s, u"Meter id, or '*' for the whole system (required)."_s, u"ID"_s},
        {u"history"_s, u"Rows (minutes) in averages, peaks and history (default 60; 0 = none)."_s, u"N"_s,
            u"60"_s},
        {u"compact"_s, u"Print the JSON on one line instead of indented."_s},
    });
    if (const auto done = parseVerbArguments(parser, arguments, u"stats"_s, false))
        return *done;

    const QString path = parser.value(u"db"_s);
    if (path.isEmpty()) {
        err << "dlmsctl stats: --db is required\n";
        return 2;
    }
    const QString meterId = parser.value(u"meter"_s);
    if (meterId.isEmpty()) {
        err << "dlmsctl stats: --meter is required\n";
        return 2;
    }
    // A week of minutes is already a large document.
    const auto history = integerOption(u"history"_s, parser.value(u"history"_s), 0, 7 * 24 * 60);
    if (!history) {
        err << "dlmsctl stats: " << history.error().message << '\n';
        return 2;
    }

    auto reader = storage::Reader::open(path);
    if (!reader) {
        err << "dlmsctl stats: " << reader.error().message << '\n';
        return 3;
    }
    const auto document = storage::networkStatsDocument(*reader, meterId, int(*history));
    if (!document) {
        err << "dlmsctl stats: " << document.error().message << '\n';
        return document.error().code == dlms::ErrorCode::InvalidArgument ? 4 : 3;
    }
    QTextStream out(stdout);
    out << QJsonDocument(*document).toJson(
        parser.isSet(u"compact"_s) ? QJsonDocument::Compact : QJsonDocument::Indented);
    if (parser.isSet(u"compact"_s))
        out << '\n';
    return 0;
}
