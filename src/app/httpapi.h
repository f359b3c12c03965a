#pragma once

#include "bridgeconfig.h"

#include <error.h>

#include <QtCore/QObject>

#include <memory>

namespace app {

class Bridge;

// The Python bridge's FastAPI endpoint, native (QHttpServer), read-only, JSON only:
//   GET /health                      the bridge as a whole (200 when healthy, 503 otherwise,
//                                    same body shape)
//   GET /meters                      every configured meter with its state and live counters
//   GET /meters/{id}                 one meter in more detail (its configuration without
//                                    secrets, state, live MeterStats)
//   GET /meters/{id}/network_stats   the seed's document (storage::networkStatsDocument);
//                                    ?history=N rows (1..1440, default 60); id '*' = the system
// Errors are JSON {"error": "<message>", "status": <code>}: 400 bad parameter, 401 missing or
// wrong bearer token (with WWW-Authenticate: Bearer), 404 unknown meter or path, 405 a method
// other than GET/HEAD, 500 a database error, 503 busy (see below). With a token configured
// every path needs "Authorization: Bearer <token>" (compared in constant time); the token
// never appears in a log or response.
//
// Lives in the bridge's thread, which only routes and answers from memory: the statistics are
// computed in a thread of the API's own (started with the first such request, with a
// storage::Reader opened there), at most 64 queued — beyond, 503 {"error": "busy"} with
// Retry-After. Answers on one connection go out in request order. /meters is serialized once
// per tick of the bridge's monitor (and again after a state change), so repeated requests
// within the second get the same bytes. Destroying the API joins that thread (a query being
// computed runs to its end) and answers whoever still waits with 503 "shutting down". Meter
// ids in paths are percent-decoded.
class HttpApi final : public QObject {
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(HttpApi)

public:
    HttpApi(Bridge *bridge, HttpSettings settings, QString databasePath, QObject *parent = nullptr);
    ~HttpApi() override;

    // Listens on settings.address:settings.port. Fails with the reason ("cannot listen on
    // 127.0.0.1:8000: address in use", "http.address: not an IP address").
    dlms::Result<void> listen();
    quint16 port() const; // the port listened on (settings.port, or the one chosen for 0)
    const HttpSettings &settings() const { return m_settings; }

    quint64 requestsServed() const;

private:
    struct Private;
    std::unique_ptr<Private> d;
    HttpSettings m_settings;
};

} // namespace app
