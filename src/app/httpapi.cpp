#include "httpapi.h"
#include "bridge.h"

#include <monitortypes.h>
#include <networkstats.h>
#include <reader.h>
#include <siteconfig.h>
#include <storage.h>
#include <trafficmonitor.h>

#include <QtCore/QCoreApplication>
#include <QtCore/QCryptographicHash>
#include <QtCore/QDateTime>
#include <QtCore/QJsonArray>
#include <QtCore/QJsonDocument>
#include <QtCore/QLoggingCategory>
#include <QtCore/QPointer>
#include <QtCore/QThread>
#include <QtCore/QUrl>
#include <QtCore/QUrlQuery>
#include <QtHttpServer/QHttpServer>
#include <QtHttpServer/QHttpServerRequest>
#include <QtHttpServer/QHttpServerResponder>
#include <QtNetwork/QHostAddress>
#include <QtNetwork/QTcpServer>
#include <QtNetwork/QTcpSocket>

#include <atomic>
#include <charconv>
#include <cmath>
#include <deque>
#include <map>
#include <optional>
#include <utility>
#include <variant>

using namespace Qt::StringLiterals;

namespace app {

namespace {

Q_LOGGING_CATEGORY(lcHttp, "dlmsbridge.http")

using Status = QHttpServerResponder::StatusCode;
using Method = QHttpServerRequest::Method;

constexpr int DefaultHistoryRows = 60;
constexpr int MaxHistoryRows = 1440;
// Statistics queries given to the database thread and not answered yet, at most; beyond, the
// request is refused at once (503 busy) instead of queueing work nobody may wait for.
constexpr int MaxQueuedQueries = 64;

enum class Route : quint8 { Health, Meters, Meter, NetworkStats };

struct Target {
    Route route = Route::Health;
    QString meterId;
};

struct Reply {
    Status status = Status::Ok;
    QByteArray body; // compact JSON
    QList<std::pair<QByteArray, QByteArray>> headers;
    bool quiet = false; // no log line even when it is an error (a repeated 503 busy)
};

// What a statistics request asks of the database thread.
struct StatsQuery {
    QString meterId;
    int history = DefaultHistoryRows;
};

using Dispatched = std::variant<Reply, StatsQuery>;

QByteArray compact(const QJsonObject &object)
{
    return QJsonDocument(object).toJson(QJsonDocument::Compact);
}

Reply errorReply(Status status, const QString &message)
{
    return Reply {
        status, compact(QJsonObject {{u"error"_s, message}, {u"status"_s, int(status)}}), {}, false};
}

// Paths are split while still encoded, then each segment decoded: QHttpServer 6.4 routes match
// the decoded path, so a meter id with an encoded '/' would 404 or, worse, reach another route
// ("/meters/a%2Fnetwork_stats" is meter "a/network_stats", not meter "a"'s statistics).
std::optional<Target> resolve(const QUrl &url)
{
    const QString path = url.path(QUrl::FullyEncoded);
    if (!path.startsWith(u'/'))
        return std::nullopt;
    const QStringList segments = path.mid(1).split(u'/');
    const auto decoded = [](const QString &segment) { return QUrl::fromPercentEncoding(segment.toLatin1()); };
    if (segments.size() == 1 && segments[0] == u"health"_s)
        return Target {Route::Health, {}};
    if (segments.isEmpty() || segments[0] != u"meters"_s)
        return std::nullopt;
    if (segments.size() == 1)
        return Target {Route::Meters, {}};
    if (segments[1].isEmpty())
        return std::nullopt;
    if (segments.size() == 2)
        return Target {Route::Meter, decoded(segments[1])};
    if (segments.size() == 3 && segments[2] == u"network_stats"_s)
        return Target {Route::NetworkStats, decoded(segments[1])};
    return std::nullopt;
}

QByteArray methodName(Method method)
{
    switch (method) {
    case Method::Get:
        return QByteArrayLiteral("GET");
    case Method::Put:
        return QByteArrayLiteral("PUT");
    case Method::Delete:
        return QByteArrayLiteral("DELETE");
    case Method::Post:
        return QByteArrayLiteral("POST");
    case Method::Head:
        return QByteArrayLiteral("HEAD");
    case Method::Options:
        return QByteArrayLiteral("OPTIONS");
    case Method::Patch:
        return QByteArrayLiteral("PATCH");
    case Method::Connect:
        return QByteArrayLiteral("CONNECT");
    case Method::Trace:
        return QByteArrayLiteral("TRACE");
    default:
        return QByteArrayLiteral("UNKNOWN");
    }
}

QByteArray digestOf(QByteArrayView bytes)
{
    return QCryptographicHash::hash(bytes, QCryptographicHash::Sha256);
}

// Both sides are SHA-256 digests (fixed length), compared without an early exit, so the time
// taken says nothing about how much of the token a guess got right, nor about its length.
bool sameDigest(const QByteArray &a, const QByteArray &b)
{
    if (a.size() != b.size())
        return false;
    unsigned char difference = 0;
    for (qsizetype i = 0; i < a.size(); ++i)
        difference |= static_cast<unsigned char>(a[i] ^ b[i]);
    return difference == 0;
}

QJsonValue isoUtc(qint64 ms)
{
    if (ms <= 0)
        return QJsonValue::Null;
    return QDateTime::fromMSecsSinceEpoch(ms, Qt::UTC).toString(Qt::ISODateWithMs);
}

QJsonValue count(quint64 value)
{
    return double(value);
}

double rounded(double value, int decimals = 3)
{
    if (!std::isfinite(value))
        return 0;
    const double scale = std::pow(10.0, decimals);
    return std::round(value * scale) / scale;
}

QJsonObject ratesJson(const monitor::Rates &rates)
{
    return QJsonObject {
        {u"tx_bps"_s, rounded(rates.txBps)},
        {u"rx_bps"_s, rounded(rates.rxBps)},
        {u"tx_pps"_s, rounded(rates.txPps)},
        {u"rx_pps"_s, rounded(rates.rxPps)},
    };
}

// One meter as /meters lists it and /meters/{id} starts it: what the bridge knows of its state
// and what the monitor counted (zeros while the monitor has not seen it).
QJsonObject meterSummary(const MeterStatus &status, const monitor::MeterStats &stats)
{
    const polling::TrafficCounters &dlms = stats.counters.dlms;
    const monitor::MeterCounters &counters = stats.counters;
    return QJsonObject {
        {u"id"_s, status.id},
        {u"name"_s, status.name},
        {u"host"_s, status.host},
        {u"port"_s, int(status.port)},
        {u"transport"_s, status.transport},
        {u"state"_s, polling::meterStateName(status.state)},
        {u"reason"_s, status.reason},
        {u"state_since"_s, isoUtc(status.stateSinceMs)},
        {u"paused"_s, status.paused},
        {u"last_reading"_s, isoUtc(status.lastReadingsMs)},
        {u"batches"_s, count(status.batches)},
        {u"values"_s, count(status.values)},
        {u"failed_values"_s, count(status.failedValues)},
        {u"dlms"_s,
            QJsonObject {
                {u"requests_sent"_s, count(dlms.requestsSent)},
                {u"responses_recv"_s, count(dlms.responsesReceived)},
                {u"bytes_sent"_s, count(dlms.bytesSent)},
                {u"bytes_recv"_s, count(dlms.bytesReceived)},
                {u"timeouts"_s, count(dlms.timeouts)},
                {u"protocol_errors"_s, count(dlms.protocolErrors)},
                {u"reconnects"_s, count(dlms.reconnects)},
            }},
        {u"mqtt"_s,
            QJsonObject {
                {u"messages_sent"_s, count(counters.mqttMessages)},
                {u"bytes_sent"_s, count(counters.mqttPayloadBytes)},
                {u"publish_failures"_s, count(counters.mqttPublishFailures)},
            }},
        {u"polls"_s,
            QJsonObject {
                {u"attempted"_s, count(dlms.pollsAttempted)},
                {u"completed"_s, count(dlms.pollsCompleted)},
                {u"failed"_s, count(dlms.pollsFailed)},
                {u"success_rate"_s,
                    stats.pollSuccessRate < 0 ? QJsonValue(QJsonValue::Null)
                                              : QJsonValue(rounded(stats.pollSuccessRate, 4))},
            }},
        {u"rtt_ms"_s,
            QJsonObject {
                {u"avg"_s, rounded(stats.rttAvgMs)},
                {u"p95"_s, rounded(stats.rttP95Ms)},
                {u"max"_s, rounded(stats.rttMaxMs)},
            }},
    };
}

// A JSON writer for the fixed shape of /meters: with thousands of meters, building QJsonObjects
// (a tree of small allocations per meter) and serializing them took most of the request.
class JsonWriter {
public:
    explicit JsonWriter(qsizetype reserve) { m_out.reserve(reserve); }

    void beginObject() { open('{'); }
    void endObject() { close('}'); }
    void beginArray() { open('['); }
    void endArray() { close(']'); }
    void key(QByteArrayView name)
    {
        separate();
        m_out += '"';
        m_out += name;
        m_out += "\":";
        m_comma = false;
    }
    void string(QStringView text);
    void number(double value);
    void boolean(bool value) { raw(value ? QByteArrayView("true") : QByteArrayView("false")); }
    void null() { raw("null"); }
    // ISO-8601 UTC with milliseconds as QDateTime writes it, null for 0 (as isoUtc).
    void timestamp(qint64 ms);
    QByteArray take() { return std::move(m_out); }

private:
    void separate()
    {
        if (m_comma)
            m_out += ',';
    }
    void open(char bracket)
    {
        separate();
        m_out += bracket;
        m_comma = false;
    }
    void close(char bracket)
    {
        m_out += bracket;
        m_comma = true;
    }
    void raw(QByteArrayView text)
    {
        separate();
        m_out += text;
        m_comma = true;
    }

    QByteArray m_out;
    bool m_comma = false;
};

void JsonWriter::string(QStringView text)
{
    separate();
    storage::appendJsonString(m_out, text);
    m_comma = true;
}

void JsonWriter::number(double value)
{
    if (!std::isfinite(value)) {
        null(); // what QJsonDocument writes for them
        return;
    }
    char buffer[32];
    std::to_chars_result result {};
    // Integers as integers (counters), up to where a double still holds every one of them.
    if (value == std::trunc(value) && std::fabs(value) < 9007199254740992.0)
        result = std::to_chars(buffer, buffer + sizeof buffer, qint64(value));
    else
        result = std::to_chars(buffer, buffer + sizeof buffer, value);
    raw(QByteArrayView(buffer, result.ptr - buffer));
}

void JsonWriter::timestamp(qint64 ms)
{
    if (ms <= 0) {
        null();
        return;
    }
    // Days since 1970-01-01 to a civil date (proleptic Gregorian), as QDateTime counts them.
    const qint64 days = ms / 86'400'000;
    const qint64 msOfDay = ms % 86'400'000;
    const qint64 z = days + 719'468;
    const qint64 era = z / 146'097;
    const qint64 dayOfEra = z - era * 146'097;
    const qint64 yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36'524 - dayOfEra / 146'096) / 365;
    const qint64 dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100);
    const qint64 shiftedMonth = (5 * dayOfYear + 2) / 153;
    const int day = int(dayOfYear - (153 * shiftedMonth + 2) / 5 + 1);
    const int month = int(shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9);
    const qint64 year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0);
    if (year > 9999) {
        separate();
        m_out += '"';
        m_out += QDateTime::fromMSecsSinceEpoch(ms, Qt::UTC).toString(Qt::ISODateWithMs).toLatin1();
        m_out += '"';
        m_comma = true;
        return;
    }
    char text[] = "\"0000-00-00T00:00:00.000Z\"";
    const auto put = [&text](int at, qint64 value, int digits) {
        for (int i = digits - 1; i >= 0; --i, value /= 10)
            text[at + i] = char('0' + value % 10);
    };
    put(1, year, 4);
    put(6, month, 2);
    put(9, day, 2);
    put(12, msOfDay / 3'600'000, 2);
    put(15, msOfDay / 60'000 % 60, 2);
    put(18, msOfDay / 1000 % 60, 2);
    put(21, msOfDay % 1000, 3);
    raw(QByteArrayView(text, sizeof text - 1));
}

// meterSummary(), written directly: the same keys, order and values.
void writeMeterSummary(JsonWriter &w, const MeterStatus &status, const monitor::MeterStats &stats)
{
    const polling::TrafficCounters &dlms = stats.counters.dlms;
    const monitor::MeterCounters &counters = stats.counters;
    const auto number = [&w](QByteArrayView key, double value) {
        w.key(key);
        w.number(value);
    };
    w.beginObject();
    w.key("id");
    w.string(status.id);
    w.key("name");
    w.string(status.name);
    w.key("host");
    w.string(status.host);
    number("port", status.port);
    w.key("transport");
    w.string(status.transport);
    w.key("state");
    w.string(polling::meterStateName(status.state));
    w.key("reason");
    w.string(status.reason);
    w.key("state_since");
    w.timestamp(status.stateSinceMs);
    w.key("paused");
    w.boolean(status.paused);
    w.key("last_reading");
    w.timestamp(status.lastReadingsMs);
    number("batches", double(status.batches));
    number("values", double(status.values));
    number("failed_values", double(status.failedValues));
    w.key("dlms");
    w.beginObject();
    number("requests_sent", double(dlms.requestsSent));
    number("responses_recv", double(dlms.responsesReceived));
    number("bytes_sent", double(dlms.bytesSent));
    number("bytes_recv", double(dlms.bytesReceived));
    number("timeouts", double(dlms.timeouts));
    number("protocol_errors", double(dlms.protocolErrors));
    number("reconnects", double(dlms.reconnects));
    w.endObject();
    w.key("mqtt");
    w.beginObject();
    number("messages_sent", double(counters.mqttMessages));
    number("bytes_sent", double(counters.mqttPayloadBytes));
    number("publish_failures", double(counters.mqttPublishFailures));
    w.endObject();
    w.key("polls");
    w.beginObject();
    number("attempted", double(dlms.pollsAttempted));
    number("completed", double(dlms.pollsCompleted));
    number("failed", double(dlms.pollsFailed));
    w.key("success_rate");
    if (stats.pollSuccessRate < 0)
        w.null();
    else
        w.number(rounded(stats.pollSuccessRate, 4));
    w.endObject();
    w.key("rtt_ms");
    w.beginObject();
    number("avg", rounded(stats.rttAvgMs));
    number("p95", rounded(stats.rttP95Ms));
    number("max", rounded(stats.rttMaxMs));
    w.endObject();
    w.endObject();
}

// The database side of the statistics: the reader lives in (and is only touched by) the
// database thread; `stopping` is set by the API's thread before it joins.
struct Database {
    QString path;
    std::optional<storage::Reader> reader; // opened on first use, dropped after an error
    std::atomic<bool> stopping {false};
};

Reply computeStats(Database &db, const StatsQuery &query)
{
    if (!db.reader) {
        auto opened = storage::Reader::open(db.path);
        if (!opened)
            return errorReply(Status::InternalServerError, opened.error().message);
        db.reader.emplace(std::move(*opened));
    }
    auto document = storage::networkStatsDocument(*db.reader, query.meterId, query.history);
    if (!document) {
        if (document.error().code == dlms::ErrorCode::InvalidArgument
            && document.error().message.contains(u"unknown meter"_s))
            return errorReply(Status::NotFound, u"unknown meter '%1'"_s.arg(query.meterId));
        // A broken connection stays broken: the next request opens a new one.
        db.reader.reset();
        return errorReply(Status::InternalServerError, document.error().message);
    }
    return Reply {Status::Ok, compact(*document), {}, false};
}

} // namespace

struct HttpApi::Private {
    // A request answered later (a statistics query, or any request behind one on the same
    // connection: HTTP/1.1 answers in request order).
    struct Pending {
        QTcpSocket *connection = nullptr; // the key in `connections`, never dereferenced
        QPointer<QTcpSocket> socket;
        // The 6.4 responder keeps a raw socket pointer and writes through it unchecked; its
        // destructor does not touch the socket. So it is written to only while `socket` lives
        // and is connected, and otherwise just destroyed.
        std::unique_ptr<QHttpServerResponder> responder;
        Method method = Method::Get;
        QString path;
        std::optional<Reply> reply;
        std::shared_ptr<std::atomic<bool>> cancelled; // set when nobody waits for the query
    };

    HttpApi *q = nullptr;
    Bridge *bridge = nullptr;
    QString databasePath;
    QByteArray tokenDigest; // empty: no authentication
    QHttpServer server;
    QTcpServer *listener = nullptr; // owned by `server` once bound
    quint64 served = 0;

    // /meters serialized once per monitor tick (and again after a meter's state changed or the
    // meters changed): repeated requests within the second get the same bytes.
    QPointer<monitor::TrafficMonitor> watchedMonitor;
    QList<QMetaObject::Connection> monitorConnections;
    QByteArray metersBody;
    bool metersBodyValid = false;

    // The database thread, started with the first statistics request.
    std::shared_ptr<Database> database;
    QThread *thread = nullptr;
    QObject *worker = nullptr; // lives in `thread`
    int queued = 0; // queries given to the thread, not answered yet
    bool busyLogged = false;

    std::map<quint64, Pending> pending; // by id
    QHash<QTcpSocket *, std::deque<quint64>> connections; // pending ids in request order
    quint64 nextId = 0;
    // Context of the sockets' destroyed connections: reset before anything else goes.
    std::unique_ptr<QObject> socketWatch = std::make_unique<QObject>();

    void handle(const QHttpServerRequest &request, QHttpServerResponder &responder);
    void write(QHttpServerResponder &responder, Method method, const QString &path, const Reply &reply);
    Dispatched dispatch(const QHttpServerRequest &request);
    std::optional<Reply> checkAuthorization(const QHttpServerRequest &request) const;
    monitor::MeterStats statsOf(const QString &meterId) const;
    Reply health() const;
    Reply meters();
    QByteArray buildMeters() const;
    void watchMonitor();
    Reply meter(const QString &meterId) const;
    Dispatched networkStats(const QString &meterId, const QUrlQuery &query) const;

    Reply busy();
    void startDatabaseThread();
    void stopDatabaseThread();
    void queueQuery(quint64 id, StatsQuery query, std::shared_ptr<std::atomic<bool>> cancelled);
    void queryDone(quint64 id, const Reply &reply);
    std::deque<quint64> &watchConnection(QTcpSocket *socket);
    void connectionGone(QTcpSocket *socket);
    void flush(QTcpSocket *connection);
    void shutdown();
};

void HttpApi::Private::handle(const QHttpServerRequest &request, QHttpServerResponder &responder)
{
    Dispatched dispatched = dispatch(request);
    const QString path = request.url().path(QUrl::FullyEncoded);
    if (std::holds_alternative<StatsQuery>(dispatched) && queued >= MaxQueuedQueries)
        dispatched = busy();

    QTcpSocket *socket = responder.socket();
    const auto waiting = connections.constFind(socket);
    const bool behindOthers = waiting != connections.constEnd() && !waiting->empty();
    if (const Reply *reply = std::get_if<Reply>(&dispatched); reply && !behindOthers) {
        write(responder, request.method(), path, *reply);
        return;
    }

    const quint64 id = ++nextId;
    Pending &job = pending[id];
    job.connection = socket;
    job.socket = socket;
    job.responder = std::make_unique<QHttpServerResponder>(std::move(responder));
    job.method = request.method();
    job.path = path;
    if (Reply *reply = std::get_if<Reply>(&dispatched)) {
        job.reply = std::move(*reply);
    } else {
        job.cancelled = std::make_shared<std::atomic<bool>>(false);
        queueQuery(id, std::get<StatsQuery>(std::move(dispatched)), job.cancelled);
    }
    watchConnection(socket).push_back(id);
    flush(socket);
}

void HttpApi::Private::write(
    QHttpServerResponder &responder, Method method, const QString &path, const Reply &reply)
{
    responder.writeStatusLine(reply.status);
    responder.writeHeader(QByteArrayLiteral("Content-Type"), QByteArrayLiteral("application/json"));
    responder.writeHeader(QByteArrayLiteral("Cache-Control"), QByteArrayLiteral("no-store"));
    for (const auto &[name, value] : reply.headers)
        responder.writeHeader(name, value);
    // HEAD: the headers GET would send (its Content-Length included), no body.
    responder.writeHeader(QByteArrayLiteral("Content-Length"), QByteArray::number(reply.body.size()));
    responder.writeBody(method == Method::Head ? QByteArray() : reply.body);
    ++served;

    // A 503 from /health is the answer asked for (the bridge is degraded, and the bridge logs
    // why); a monitor polling it would otherwise add a line per poll.
    const int status = int(reply.status);
    if (!reply.quiet && (status >= 500 || status == 401) && !(status == 503 && path == u"/health")) {
        qCWarning(lcHttp).noquote() << u"%1 %2 -> %3"_s.arg(
            QString::fromLatin1(methodName(method)), path, QString::number(status));
    }
}

Dispatched HttpApi::Private::dispatch(const QHttpServerRequest &request)
{
    // Authorization first: without the token not even the existence of a path is told.
    if (auto refused = checkAuthorization(request))
        return *refused;
    const std::optional<Target> target = resolve(request.url());
    if (!target)
        return errorReply(Status::NotFound, u"no such path"_s);
    if (request.method() != Method::Get && request.method() != Method::Head) {
        Reply reply = errorReply(Status::MethodNotAllowed,
            u"method %1 not allowed: the API is read-only (GET, HEAD)"_s.arg(
                QString::fromLatin1(methodName(request.method()))));
        reply.headers.append({QByteArrayLiteral("Allow"), QByteArrayLiteral("GET, HEAD")});
        return reply;
    }
    switch (target->route) {
    case Route::Health:
        return health();
    case Route::Meters:
        return meters();
    case Route::Meter:
        return meter(target->meterId);
    case Route::NetworkStats:
        return networkStats(target->meterId, request.query());
    }
    return errorReply(Status::NotFound, u"no such path"_s);
}

std::optional<Reply> HttpApi::Private::checkAuthorization(const QHttpServerRequest &request) const
{
    if (tokenDigest.isEmpty())
        return std::nullopt;
    const QByteArray header = request.value(QByteArrayLiteral("Authorization")).trimmed();
    const qsizetype space = header.indexOf(' ');
    const bool bearer
        = space > 0 && header.left(space).compare(QByteArrayLiteral("Bearer"), Qt::CaseInsensitive) == 0;
    if (bearer && sameDigest(digestOf(header.mid(space + 1).trimmed()), tokenDigest))
        return std::nullopt;
    Reply reply = header.isEmpty() ? errorReply(Status::Unauthorized, u"a bearer token is required"_s)
                                   : errorReply(Status::Unauthorized, u"invalid bearer token"_s);
    reply.headers.append({QByteArrayLiteral("WWW-Authenticate"),
        header.isEmpty() ? QByteArrayLiteral("Bearer realm=\"dlmsbridge\"")
                         : QByteArrayLiteral("Bearer realm=\"dlmsbridge\", error=\"invalid_token\"")});
    return reply;
}

monitor::MeterStats HttpApi::Private::statsOf(const QString &meterId) const
{
    const monitor::TrafficMonitor *monitor = bridge->monitor();
    return monitor ? monitor->meterStats(meterId) : monitor::MeterStats {};
}

Reply HttpApi::Private::health() const
{
    const BridgeHealth health = bridge->health();
    QStringList problems = health.problems;
    const bool running = health.state == BridgeState::Running;
    if (!running && problems.isEmpty())
        problems.append(u"bridge: "_s + bridgeStateName(health.state));
    const QString status = !running ? u"stopped"_s : problems.isEmpty() ? u"ok"_s : u"degraded"_s;
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    const qint64 uptimeS
        = running && health.startedMs > 0 ? qMax<qint64>(0, (now - health.startedMs) / 1000) : 0;

    const storage::StorageStatus &storage = health.storage;
    const mqtt::PublisherStatus &mqtt = health.mqtt;
    const qint64 etaMs = health.mqttEnabled ? mqtt.outbox.etaMs : -1;
    QJsonObject body {
        {u"status"_s, status},
        {u"uptime_s"_s, double(uptimeS)},
        {u"started"_s, isoUtc(health.startedMs)},
        {u"problems"_s, QJsonArray::fromStringList(problems)},
        {u"meters"_s,
            QJsonObject {
                {u"total"_s, health.meters},
                {u"associated"_s, health.metersAssociated},
                {u"failing"_s, health.metersFailing},
            }},
        {u"storage"_s,
            QJsonObject {
                {u"state"_s, storage::storageStateName(storage.state)},
                {u"message"_s, storage.message},
                {u"readings_written"_s, count(storage.readingsWritten)},
                {u"queued_readings"_s, double(storage.queuedReadings)},
                {u"dropped_readings"_s, count(storage.droppedReadings)},
                {u"last_commit"_s, isoUtc(storage.lastCommitMs)},
            }},
        {u"mqtt"_s,
            QJsonObject {
                {u"enabled"_s, health.mqttEnabled},
                {u"state"_s, mqtt::publisherStateName(mqtt.state)},
                {u"message"_s, mqtt.message},
                {u"messages_acknowledged"_s, count(mqtt.messagesAcknowledged)},
                {u"publish_failures"_s, count(mqtt.publishFailures)},
                {u"reconnects"_s, count(mqtt.reconnects)},
            }},
        {u"outbox"_s,
            QJsonObject {
                {u"rows"_s, double(storage.outbox.rows)},
                {u"bytes"_s, double(storage.outbox.bytes)},
                {u"oldest"_s, isoUtc(storage.outbox.oldestCreatedMs)},
                {u"eta_s"_s,
                    etaMs < 0 ? QJsonValue(QJsonValue::Null) : QJsonValue(rounded(double(etaMs) / 1000.0))},
                {u"dropped_rows"_s, count(storage.outboxDroppedRows)},
            }},
        {u"version"_s, QCoreApplication::applicationVersion()},
    };
    return Reply {problems.isEmpty() ? Status::Ok : Status::ServiceUnavailable, compact(body), {}, false};
}

Reply HttpApi::Private::meters()
{
    watchMonitor();
    if (watchedMonitor && metersBodyValid)
        return Reply {Status::Ok, metersBody, {}, false};
    QByteArray body = buildMeters();
    // Without a monitor (the bridge stopped) nothing says when the list changes: no cache.
    if (watchedMonitor) {
        metersBody = body;
        metersBodyValid = true;
    }
    return Reply {Status::Ok, std::move(body), {}, false};
}

QByteArray HttpApi::Private::buildMeters() const
{
    const QList<MeterStatus> statuses = bridge->meters();
    JsonWriter writer(256 + statuses.size() * 720);
    writer.beginObject();
    writer.key("meters");
    writer.beginArray();
    for (const MeterStatus &status : statuses)
        writeMeterSummary(writer, status, statsOf(status.id));
    writer.endArray();
    writer.key("count");
    writer.number(double(statuses.size()));
    writer.endObject();
    return writer.take();
}

// The cached list is dropped at every tick of the monitor in force (its counters and rates
// move once a second), when it adds or removes a meter, and when a meter's state or the
// bridge's changes; counters of readings batches in between show at the next tick.
void HttpApi::Private::watchMonitor()
{
    monitor::TrafficMonitor *monitor = bridge->monitor();
    if (monitor == watchedMonitor.data() && !(monitor == nullptr && !monitorConnections.isEmpty()))
        return;
    for (const QMetaObject::Connection &connection : std::as_const(monitorConnections))
        QObject::disconnect(connection);
    monitorConnections.clear();
    watchedMonitor = monitor;
    metersBodyValid = false;
    if (!monitor)
        return;
    const auto invalidate = [this] { metersBodyValid = false; };
    monitorConnections = {
        QObject::connect(monitor, &monitor::TrafficMonitor::ticked, q, invalidate),
        QObject::connect(monitor, &monitor::TrafficMonitor::meterAdded, q, invalidate),
        QObject::connect(monitor, &monitor::TrafficMonitor::meterRemoved, q, invalidate),
    };
}

Reply HttpApi::Private::meter(const QString &meterId) const
{
    const std::optional<MeterStatus> status = bridge->meter(meterId);
    if (!status)
        return errorReply(Status::NotFound, u"unknown meter '%1'"_s.arg(meterId));
    const monitor::MeterStats stats = statsOf(meterId);
    QJsonObject body = meterSummary(*status, stats);

    QJsonObject config;
    if (const polling::MeterConfig *meterConfig = bridge->config().findMeter(meterId)) {
        config = polling::meterConfigToJson(*meterConfig, false);
        // Whatever the serializer does, never a secret here: the password, EK and AK.
        config.remove(u"password"_s);
        if (config.contains(u"security"_s)) {
            QJsonObject security = config.value(u"security"_s).toObject();
            security.remove(u"ek"_s);
            security.remove(u"ak"_s);
            config.insert(u"security"_s, security);
        }
    }
    // The publishing identity, never the meter's access token.
    const MeterPublishing publishing = bridge->config().publishingOf(meterId);
    if (!publishing.deviceType.isEmpty() || !publishing.attributes.isEmpty()) {
        QJsonObject mqtt;
        if (!publishing.deviceType.isEmpty())
            mqtt.insert(u"device_type"_s, publishing.deviceType);
        if (!publishing.attributes.isEmpty())
            mqtt.insert(u"attributes"_s, publishing.attributes);
        config.insert(u"mqtt"_s, mqtt);
    } else {
        config.remove(u"mqtt"_s);
    }
    body.insert(u"config"_s, config);
    body.insert(u"rates"_s,
        QJsonObject {
            {u"current"_s, ratesJson(stats.current)},
            {u"window_average"_s, ratesJson(stats.windowAverage)},
            {u"window_peak"_s, ratesJson(stats.windowPeak)},
        });
    return Reply {Status::Ok, compact(body), {}, false};
}

Dispatched HttpApi::Private::networkStats(const QString &meterId, const QUrlQuery &query) const
{
    int history = DefaultHistoryRows;
    if (query.hasQueryItem(u"history"_s)) {
        const QString text = query.queryItemValue(u"history"_s, QUrl::FullyDecoded);
        bool ok = false;
        const int value = text.toInt(&ok, 10);
        if (!ok || value < 1 || value > MaxHistoryRows) {
            return errorReply(Status::BadRequest,
                u"history: must be an integer from 1 to %1 (got '%2')"_s.arg(MaxHistoryRows)
                    .arg(text.left(32)));
        }
        history = value;
    }
    return StatsQuery {meterId, history};
}

Reply HttpApi::Private::busy()
{
    Reply reply = errorReply(Status::ServiceUnavailable, u"busy"_s);
    reply.headers.append({QByteArrayLiteral("Retry-After"), QByteArrayLiteral("1")});
    // One line per overload, not one per refused request.
    reply.quiet = busyLogged;
    busyLogged = true;
    return reply;
}

void HttpApi::Private::startDatabaseThread()
{
    if (thread)
        return;
    database = std::make_shared<Database>();
    database->path = databasePath;
    thread = new QThread;
    thread->setObjectName(u"http-database"_s);
    worker = new QObject;
    worker->moveToThread(thread);
    // The reader was opened in the thread (QSqlDatabase connections are per thread): it is
    // closed there too, as the thread ends.
    QObject::connect(
        thread, &QThread::finished, worker, [db = database] { db->reader.reset(); }, Qt::DirectConnection);
    thread->start();
}

// Joins the thread: a query being computed runs to its end (it cannot be interrupted), the
// queued ones are skipped.
void HttpApi::Private::stopDatabaseThread()
{
    if (!thread)
        return;
    database->stopping = true;
    thread->quit();
    thread->wait();
    delete worker; // with the skipped queries still posted to it
    worker = nullptr;
    delete thread;
    thread = nullptr;
}

void HttpApi::Private::queueQuery(quint64 id, StatsQuery query, std::shared_ptr<std::atomic<bool>> cancelled)
{
    startDatabaseThread();
    ++queued;
    // The answer is posted to q: the thread is joined before q goes, and q's posted events go
    // with it, so an answer never reaches a Private that is gone.
    QMetaObject::invokeMethod(
        worker,
        [db = database, api = q, self = this, id, query = std::move(query),
            cancelled = std::move(cancelled)] {
            if (db->stopping)
                return;
            // Nobody waits for it any more (the connection closed): only the count is settled.
            Reply reply = *cancelled ? Reply {} : computeStats(*db, query);
            if (db->stopping)
                return;
            QMetaObject::invokeMethod(
                api, [self, id, reply = std::move(reply)] { self->queryDone(id, reply); },
                Qt::QueuedConnection);
        },
        Qt::QueuedConnection);
}

void HttpApi::Private::queryDone(quint64 id, const Reply &reply)
{
    --queued;
    if (queued < MaxQueuedQueries)
        busyLogged = false;
    const auto it = pending.find(id);
    if (it == pending.end())
        return; // its connection went away meanwhile
    it->second.reply = reply;
    flush(it->second.connection);
}

std::deque<quint64> &HttpApi::Private::watchConnection(QTcpSocket *socket)
{
    auto it = connections.find(socket);
    if (it == connections.end()) {
        it = connections.insert(socket, {});
        QObject::connect(
            socket, &QObject::destroyed, socketWatch.get(), [this, socket] { connectionGone(socket); });
    }
    return *it;
}

void HttpApi::Private::connectionGone(QTcpSocket *socket)
{
    const std::deque<quint64> ids = connections.take(socket);
    for (const quint64 id : ids) {
        const auto it = pending.find(id);
        if (it == pending.end())
            continue;
        if (it->second.cancelled)
            *it->second.cancelled = true;
        pending.erase(it);
    }
}

// Writes the answers that are ready at the head of the connection's queue.
void HttpApi::Private::flush(QTcpSocket *connection)
{
    const auto queue = connections.find(connection);
    if (queue == connections.end())
        return;
    std::deque<quint64> &ids = *queue;
    while (!ids.empty()) {
        const auto it = pending.find(ids.front());
        if (it != pending.end()) {
            Pending &job = it->second;
            if (!job.reply)
                return;
            if (job.socket && job.socket->state() == QAbstractSocket::ConnectedState)
                write(*job.responder, job.method, job.path, *job.reply);
            pending.erase(it);
        }
        ids.pop_front();
    }
}

void HttpApi::Private::shutdown()
{
    stopDatabaseThread();
    socketWatch.reset();
    // Whoever still waits gets an answer (in request order) before the server closes the
    // connections; what does not fit the socket's buffer now is lost with them.
    for (auto &[id, job] : pending) {
        if (!job.reply)
            job.reply = errorReply(Status::ServiceUnavailable, u"shutting down"_s);
    }
    const QList<QTcpSocket *> open = connections.keys();
    for (QTcpSocket *connection : open) {
        QPointer<QTcpSocket> socket;
        if (const std::deque<quint64> &ids = connections.value(connection); !ids.empty()) {
            if (const auto it = pending.find(ids.front()); it != pending.end())
                socket = it->second.socket;
        }
        flush(connection);
        if (socket && socket->state() == QAbstractSocket::ConnectedState)
            socket->flush();
    }
    pending.clear();
    connections.clear();
    for (const QMetaObject::Connection &connection : std::as_const(monitorConnections))
        QObject::disconnect(connection);
    monitorConnections.clear();
}

HttpApi::HttpApi(Bridge *bridge, HttpSettings settings, QString databasePath, QObject *parent)
    : QObject(parent), d(std::make_unique<Private>()), m_settings(std::move(settings))
{
    d->q = this;
    d->bridge = bridge;
    d->databasePath = std::move(databasePath);
    if (!m_settings.token.isEmpty())
        d->tokenDigest = digestOf(m_settings.token);
    // One handler for every path: the paths are resolved from their encoded form (see resolve).
    d->server.setMissingHandler([p = d.get()](const QHttpServerRequest &request,
                                    QHttpServerResponder &&responder) { p->handle(request, responder); });
    const auto invalidate = [p = d.get()] { p->metersBodyValid = false; };
    connect(bridge, &Bridge::meterStateChanged, this, invalidate);
    connect(bridge, &Bridge::stateChanged, this, invalidate);
}

HttpApi::~HttpApi()
{
    d->shutdown();
}

dlms::Result<void> HttpApi::listen()
{
    if (d->listener)
        return {};
    QHostAddress address;
    if (!address.setAddress(m_settings.address)) {
        return dlms::makeError(dlms::ErrorCode::InvalidArgument,
            u"http.address: '%1' is not an IP address"_s.arg(m_settings.address));
    }
    // Our own listener: QAbstractHttpServer::listen() only says 0 when it fails, this one says why.
    auto listener = std::make_unique<QTcpServer>();
    if (!listener->listen(address, m_settings.port)) {
        QString reason;
        switch (listener->serverError()) {
        case QAbstractSocket::AddressInUseError:
            reason = u"address in use"_s;
            break;
        case QAbstractSocket::SocketAddressNotAvailableError:
            reason = u"address not available on this host"_s;
            break;
        case QAbstractSocket::SocketAccessError:
            reason = u"permission denied"_s;
            break;
        default:
            reason = listener->errorString();
            break;
        }
        return dlms::makeError(dlms::ErrorCode::ConnectionFailed,
            u"cannot listen on %1: %2"_s.arg(
                polling::formatEndpoint(m_settings.address, m_settings.port), reason));
    }
    d->listener = listener.release();
    d->server.bind(d->listener);
    qCInfo(lcHttp).noquote() << u"listening on %1"_s.arg(
        polling::formatEndpoint(address.toString(), d->listener->serverPort()));
    return {};
}

quint16 HttpApi::port() const
{
    return d->listener ? d->listener->serverPort() : m_settings.port;
}

quint64 HttpApi::requestsServed() const
{
    return d->served;
}

} // namespace app
