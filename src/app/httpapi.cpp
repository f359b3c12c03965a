#include "httpapi.h"
#include "bridge.h"

#include <monitortypes.h>
#include <networkstats.h>
#include <reader.h>
#include <siteconfig.h>
#include <trafficmonitor.h>

#include <QtCore/QCoreApplication>
#include <QtCore/QCryptographicHash>
#include <QtCore/QDateTime>
#include <QtCore/QJsonArray>
#include <QtCore/QJsonDocument>
#include <QtCore/QLoggingCategory>
#include <QtCore/QUrl>
#include <QtCore/QUrlQuery>
#include <QtHttpServer/QHttpServer>
#include <QtHttpServer/QHttpServerRequest>
#include <QtHttpServer/QHttpServerResponder>
#include <QtNetwork/QHostAddress>
#include <QtNetwork/QTcpServer>

#include <cmath>
#include <optional>
#include <utility>

using namespace Qt::StringLiterals;

namespace app {

namespace {

Q_LOGGING_CATEGORY(lcHttp, "dlmsbridge.http")

using Status = QHttpServerResponder::StatusCode;
using Method = QHttpServerRequest::Method;

constexpr int DefaultHistoryRows = 60;
constexpr int MaxHistoryRows = 1440;

enum class Route : quint8 { Health, Meters, Meter, NetworkStats };

struct Target {
    Route route = Route::Health;
    QString meterId;
};

struct Reply {
    Status status = Status::Ok;
    QJsonObject body;
    QList<std::pair<QByteArray, QByteArray>> headers;
};

Reply errorReply(Status status, const QString &message)
{
    return Reply {status, QJsonObject {{u"error"_s, message}, {u"status"_s, int(status)}}, {}};
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

} // namespace

struct HttpApi::Private {
    Bridge *bridge = nullptr;
    QString databasePath;
    QByteArray tokenDigest; // empty: no authentication
    QHttpServer server;
    QTcpServer *listener = nullptr; // owned by `server` once bound
    std::optional<storage::Reader> reader; // opened on first use, dropped after an error
    quint64 served = 0;

    void handle(const QHttpServerRequest &request, QHttpServerResponder &responder);
    Reply dispatch(const QHttpServerRequest &request);
    std::optional<Reply> checkAuthorization(const QHttpServerRequest &request) const;
    monitor::MeterStats statsOf(const QString &meterId) const;
    Reply health() const;
    Reply meters() const;
    Reply meter(const QString &meterId) const;
    Reply networkStats(const QString &meterId, const QUrlQuery &query);
};

void HttpApi::Private::handle(const QHttpServerRequest &request, QHttpServerResponder &responder)
{
    const Reply reply = dispatch(request);
    const QByteArray body = QJsonDocument(reply.body).toJson(QJsonDocument::Compact);
    responder.writeStatusLine(reply.status);
    responder.writeHeader(QByteArrayLiteral("Content-Type"), QByteArrayLiteral("application/json"));
    responder.writeHeader(QByteArrayLiteral("Cache-Control"), QByteArrayLiteral("no-store"));
    for (const auto &[name, value] : reply.headers)
        responder.writeHeader(name, value);
    // HEAD: the headers GET would send (its Content-Length included), no body.
    responder.writeHeader(QByteArrayLiteral("Content-Length"), QByteArray::number(body.size()));
    responder.writeBody(request.method() == Method::Head ? QByteArray() : body);
    ++served;

    const int status = int(reply.status);
    if (status >= 500 || status == 401) {
        qCWarning(lcHttp).noquote() << u"http: %1 %2 -> %3"_s.arg(
            QString::fromLatin1(methodName(request.method())), request.url().path(QUrl::FullyEncoded),
            QString::number(status));
    }
}

Reply HttpApi::Private::dispatch(const QHttpServerRequest &request)
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
    return Reply {problems.isEmpty() ? Status::Ok : Status::ServiceUnavailable, body, {}};
}

Reply HttpApi::Private::meters() const
{
    QJsonArray list;
    const QList<MeterStatus> statuses = bridge->meters();
    for (const MeterStatus &status : statuses)
        list.append(meterSummary(status, statsOf(status.id)));
    return Reply {Status::Ok, QJsonObject {{u"meters"_s, list}, {u"count"_s, int(list.size())}}, {}};
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
        config.remove(u"password"_s); // whatever the serializer does, never a secret here
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
    return Reply {Status::Ok, body, {}};
}

Reply HttpApi::Private::networkStats(const QString &meterId, const QUrlQuery &query)
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

    if (!reader) {
        auto opened = storage::Reader::open(databasePath);
        if (!opened)
            return errorReply(Status::InternalServerError, opened.error().message);
        reader.emplace(std::move(*opened));
    }
    auto document = storage::networkStatsDocument(*reader, meterId, history);
    if (!document) {
        if (document.error().code == dlms::ErrorCode::InvalidArgument
            && document.error().message.contains(u"unknown meter"_s))
            return errorReply(Status::NotFound, u"unknown meter '%1'"_s.arg(meterId));
        // A broken connection stays broken: the next request opens a new one.
        reader.reset();
        return errorReply(Status::InternalServerError, document.error().message);
    }
    return Reply {Status::Ok, *document, {}};
}

HttpApi::HttpApi(Bridge *bridge, HttpSettings settings, QString databasePath, QObject *parent)
    : QObject(parent), d(std::make_unique<Private>()), m_settings(std::move(settings))
{
    d->bridge = bridge;
    d->databasePath = std::move(databasePath);
    if (!m_settings.token.isEmpty())
        d->tokenDigest = digestOf(m_settings.token);
    // One handler for every path: the paths are resolved from their encoded form (see resolve).
    d->server.setMissingHandler([p = d.get()](const QHttpServerRequest &request,
                                    QHttpServerResponder &&responder) { p->handle(request, responder); });
}

HttpApi::~HttpApi() = default;

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
    qCInfo(lcHttp).noquote() << u"http: listening on %1"_s.arg(
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
