// The HTTP API against a real Bridge: an in-process simulator with three meters, a temporary
// database written every second (rollup_s 1), MQTT off, requests over loopback with
// QNetworkAccessManager.

#include <bridge.h>
#include <bridgeconfig.h>
#include <httpapi.h>
#include <meterconfig.h>
#include <simulator.h>

#include <QtCore/QCoreApplication>
#include <QtCore/QDateTime>
#include <QtCore/QJsonArray>
#include <QtCore/QJsonDocument>
#include <QtCore/QJsonObject>
#include <QtCore/QMutex>
#include <QtCore/QTemporaryDir>
#include <QtNetwork/QNetworkAccessManager>
#include <QtNetwork/QNetworkReply>
#include <QtNetwork/QNetworkRequest>
#include <QtNetwork/QTcpServer>
#include <QtTest/QSignalSpy>
#include <QtTest/QTest>

#include <algorithm>
#include <memory>

using namespace Qt::StringLiterals;

namespace {

constexpr int kWaitMs = 15000;
const QByteArray kApiToken = QByteArrayLiteral("api-T0ken-never-shown-7f3a");
const QByteArray kMeterToken = QByteArrayLiteral("meter-T0ken-never-shown-91c2");
const QByteArray kMeterPassword = QByteArrayLiteral("pw-Secret-4711");

// Every message of the bridge's categories, from any thread.
struct Captured {
    QMutex mutex;
    QStringList lines;
    QtMessageHandler previous = nullptr;
};

Captured &captured()
{
    static Captured c;
    return c;
}

void captureMessages(QtMsgType type, const QMessageLogContext &context, const QString &message)
{
    Captured &c = captured();
    if (context.category && qstrncmp(context.category, "dlmsbridge.", 11) == 0) {
        QMutexLocker lock(&c.mutex);
        c.lines.append(QString::fromLatin1(context.category) + u": "_s + message);
    }
    if (c.previous)
        c.previous(type, context, message);
}

QStringList capturedLines()
{
    QMutexLocker lock(&captured().mutex);
    return captured().lines;
}

struct Response {
    int status = -1; // -1: no answer in time
    QByteArray body;
    QJsonObject json;
    bool isJson = false;
    QHash<QByteArray, QByteArray> headers; // lower-case names
};

polling::PollItem item(const QString &key, const dlms::Obis &obis)
{
    polling::PollItem i;
    i.key = key;
    i.obis = obis;
    i.classId = 3;
    return i;
}

polling::MeterConfig meterConfig(const QString &id, const QString &name, quint16 port)
{
    polling::MeterConfig c;
    c.id = id;
    c.name = name;
    c.host = u"127.0.0.1"_s;
    c.port = port;
    c.pollIntervalMs = 100;
    c.items = {item(u"voltage_l1"_s, dlms::Obis(1, 0, 32, 7, 0, 255)),
        item(u"energy_import"_s, dlms::Obis(1, 0, 1, 8, 0, 255))};
    // Short enough that a silent meter fails within a second, long enough for a loaded machine.
    c.connectTimeoutMs = 1500;
    c.requestTimeoutMs = 800;
    c.retries = 0;
    c.backoff = {100, 250, 2.0, 0.1};
    c.breaker = {2, 1000};
    return c;
}

QStringList keysOf(const QJsonObject &object)
{
    QStringList keys = object.keys();
    keys.sort();
    return keys;
}

QStringList sorted(QStringList list)
{
    list.sort();
    return list;
}

} // namespace

class TestHttpApi : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void cleanupTestCase();

    void routes_data();
    void routes();
    void meterList();
    void meterDetail();
    void networkStats_data();
    void networkStats();
    void errors_data();
    void errors();
    void databaseError();
    void token_data();
    void token();
    void secretsNeverShown();
    void requestsServed();
    void listenErrors_data();
    void listenErrors();
    void health();

private:
    Response request(quint16 port, const QByteArray &method, const QByteArray &encodedPath,
        const QByteArray &authorization = {});
    Response get(const QByteArray &encodedPath)
    {
        return request(m_port, QByteArrayLiteral("GET"), encodedPath);
    }

    QTemporaryDir m_dir;
    std::unique_ptr<sim::Simulator> m_simulator;
    std::unique_ptr<app::Bridge> m_bridge;
    std::unique_ptr<QNetworkAccessManager> m_network;
    quint16 m_port = 0;
    QString m_databasePath;
    QByteArrayList m_bodies; // every response body, searched for secrets at the end
};

Response TestHttpApi::request(
    quint16 port, const QByteArray &method, const QByteArray &encodedPath, const QByteArray &authorization)
{
    const QUrl url
        = QUrl::fromEncoded("http://127.0.0.1:" + QByteArray::number(port) + encodedPath, QUrl::StrictMode);
    QNetworkRequest networkRequest(url);
    networkRequest.setAttribute(QNetworkRequest::Http2AllowedAttribute, false);
    if (!authorization.isEmpty())
        networkRequest.setRawHeader(QByteArrayLiteral("Authorization"), authorization);
    QNetworkReply *reply = nullptr;
    if (method == "GET")
        reply = m_network->get(networkRequest);
    else if (method == "HEAD")
        reply = m_network->head(networkRequest);
    else
        reply = m_network->sendCustomRequest(networkRequest, method);
    QSignalSpy finished(reply, &QNetworkReply::finished);
    Response response;
    if (reply->isFinished() || finished.wait(kWaitMs)) {
        response.status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
        response.body = reply->readAll();
        for (const auto &[name, value] : reply->rawHeaderPairs())
            response.headers.insert(name.toLower(), value);
        QJsonParseError error {};
        const QJsonDocument document = QJsonDocument::fromJson(response.body, &error);
        response.isJson = error.error == QJsonParseError::NoError && document.isObject();
        response.json = document.object();
        m_bodies.append(response.body);
    }
    reply->deleteLater();
    return response;
}

void TestHttpApi::initTestCase()
{
    captured().previous = qInstallMessageHandler(captureMessages);
    QCoreApplication::setApplicationVersion(u"9.8.7-test"_s);
    QVERIFY(m_dir.isValid());
    m_network = std::make_unique<QNetworkAccessManager>();

    sim::SimulatorConfig simConfig;
    simConfig.basePort = 0;
    simConfig.meters = 3;
    simConfig.meter.password = kMeterPassword;
    m_simulator = std::make_unique<sim::Simulator>(simConfig);
    QVERIFY(m_simulator->start());

    app::BridgeConfig config;
    // Ids that need percent-encoding in a path: a space, a slash, a star.
    polling::MeterConfig first = meterConfig(u"m0"_s, u"Feeder north"_s, m_simulator->port(0));
    first.authentication = dlms::Authentication::Low;
    first.password = kMeterPassword;
    config.site.workers = 2;
    config.site.meters = {first, meterConfig(u"feeder 2"_s, u"Feeder two"_s, m_simulator->port(1)),
        meterConfig(u"lab/meter*3"_s, u"Lab"_s, m_simulator->port(2))};
    config.publishing.insert(u"m0"_s,
        app::MeterPublishing {
            QString::fromLatin1(kMeterToken), u"DLMS meter"_s, QJsonObject {{u"feeder"_s, u"north"_s}}});
    config.mqtt.enabled = false;
    m_databasePath = m_dir.filePath(u"bridge.db"_s);
    config.storage.path = m_databasePath;
    config.http.enabled = true;
    config.http.address = u"127.0.0.1"_s;
    config.http.port = 0;
    config.monitor.rollupSeconds = 1;

    app::Bridge::Options options;
    options.workers = 2;
    m_bridge = std::make_unique<app::Bridge>(options);
    const auto started = m_bridge->start(config);
    QVERIFY2(started, qPrintable(started.ok() ? QString() : started.error().message));
    m_port = m_bridge->httpPort();
    QVERIFY(m_port != 0);

    // Every meter polled, and a rollup with DLMS traffic written for each of them.
    QTRY_VERIFY_WITH_TIMEOUT(
        [&] {
            const QList<app::MeterStatus> meters = m_bridge->meters();
            for (const app::MeterStatus &meter : meters) {
                if (meter.batches == 0)
                    return false;
            }
            return meters.size() == 3;
        }(),
        kWaitMs);
    for (const QByteArray &path :
        {QByteArrayLiteral("/meters/m0/network_stats"), QByteArrayLiteral("/meters/feeder%202/network_stats"),
            QByteArrayLiteral("/meters/lab%2Fmeter%2A3/network_stats")}) {
        QTRY_VERIFY_WITH_TIMEOUT(
            get(path).json.value(u"application"_s).toObject().value(u"dlms_requests_sent"_s).toDouble() > 0,
            kWaitMs);
    }
}

void TestHttpApi::cleanupTestCase()
{
    if (m_bridge)
        QVERIFY(m_bridge->stopAndWait());
    m_bridge.reset();
    m_simulator.reset();
    m_network.reset();
    qInstallMessageHandler(captured().previous);
}

void TestHttpApi::routes_data()
{
    QTest::addColumn<QByteArray>("method");
    QTest::addColumn<QByteArray>("path");
    QTest::addColumn<int>("status");
    QTest::addColumn<QStringList>("keys");

    const QStringList summary {u"id"_s, u"name"_s, u"host"_s, u"port"_s, u"transport"_s, u"state"_s,
        u"reason"_s, u"state_since"_s, u"paused"_s, u"last_reading"_s, u"batches"_s, u"values"_s,
        u"failed_values"_s, u"dlms"_s, u"mqtt"_s, u"polls"_s, u"rtt_ms"_s};
    const QStringList stats {u"meter_id"_s, u"meter_name"_s, u"timestamp"_s, u"current"_s, u"application"_s,
        u"averages"_s, u"peaks"_s, u"history"_s};
    const QStringList health {u"status"_s, u"uptime_s"_s, u"started"_s, u"problems"_s, u"meters"_s,
        u"storage"_s, u"mqtt"_s, u"outbox"_s, u"version"_s};

    QTest::newRow("health") << QByteArrayLiteral("GET") << QByteArrayLiteral("/health") << 200 << health;
    QTest::newRow("meters") << QByteArrayLiteral("GET") << QByteArrayLiteral("/meters") << 200
                            << QStringList {u"meters"_s, u"count"_s};
    QTest::newRow("meter") << QByteArrayLiteral("GET") << QByteArrayLiteral("/meters/m0") << 200
                           << (summary + QStringList {u"config"_s, u"rates"_s});
    QTest::newRow("meter-space-encoded")
        << QByteArrayLiteral("GET") << QByteArrayLiteral("/meters/feeder%202") << 200 << summary;
    QTest::newRow("meter-slash-star-encoded")
        << QByteArrayLiteral("GET") << QByteArrayLiteral("/meters/lab%2Fmeter%2A3") << 200 << summary;
    QTest::newRow("network-stats") << QByteArrayLiteral("GET")
                                   << QByteArrayLiteral("/meters/m0/network_stats") << 200 << stats;
    QTest::newRow("network-stats-history")
        << QByteArrayLiteral("GET") << QByteArrayLiteral("/meters/m0/network_stats?history=1440") << 200
        << stats;
    QTest::newRow("network-stats-system-encoded")
        << QByteArrayLiteral("GET") << QByteArrayLiteral("/meters/%2A/network_stats") << 200 << stats;
    QTest::newRow("network-stats-system")
        << QByteArrayLiteral("GET") << QByteArrayLiteral("/meters/*/network_stats") << 200 << stats;
    QTest::newRow("head-meters") << QByteArrayLiteral("HEAD") << QByteArrayLiteral("/meters") << 200
                                 << QStringList();
    QTest::newRow("head-unknown-meter")
        << QByteArrayLiteral("HEAD") << QByteArrayLiteral("/meters/nope") << 404 << QStringList();
}

void TestHttpApi::routes()
{
    QFETCH(QByteArray, method);
    QFETCH(QByteArray, path);
    QFETCH(int, status);
    QFETCH(QStringList, keys);

    const Response response = request(m_port, method, path);
    QCOMPARE(response.status, status);
    QCOMPARE(response.headers.value("content-type"), QByteArrayLiteral("application/json"));
    QCOMPARE(response.headers.value("cache-control"), QByteArrayLiteral("no-store"));
    if (method == "HEAD") {
        QVERIFY(response.body.isEmpty());
        QVERIFY(response.headers.value("content-length").toInt() > 0);
        return;
    }
    QVERIFY(response.isJson);
    QCOMPARE(response.headers.value("content-length").toInt(), response.body.size());
    for (const QString &key : std::as_const(keys))
        QVERIFY2(response.json.contains(key), qPrintable(key));
}

void TestHttpApi::meterList()
{
    const Response response = get(QByteArrayLiteral("/meters"));
    QCOMPARE(response.status, 200);
    QCOMPARE(response.json.value(u"count"_s).toInt(), 3);
    const QJsonArray meters = response.json.value(u"meters"_s).toArray();
    QCOMPARE(meters.size(), 3);
    QStringList ids;
    for (const QJsonValue &value : meters)
        ids.append(value.toObject().value(u"id"_s).toString());
    QCOMPARE(ids, (QStringList {u"m0"_s, u"feeder 2"_s, u"lab/meter*3"_s})); // configuration order

    const QJsonObject m0 = meters.at(0).toObject();
    QCOMPARE(m0.value(u"name"_s).toString(), u"Feeder north"_s);
    QCOMPARE(m0.value(u"host"_s).toString(), u"127.0.0.1"_s);
    QCOMPARE(m0.value(u"port"_s).toInt(), int(m_simulator->port(0)));
    QCOMPARE(m0.value(u"transport"_s).toString(), u"wrapper"_s);
    QCOMPARE(m0.value(u"paused"_s).toBool(), false);
    QVERIFY(m0.value(u"batches"_s).toDouble() > 0);
    QVERIFY(m0.value(u"values"_s).toDouble() > 0);
    // Timestamps: ISO-8601 UTC with milliseconds.
    const QString lastReading = m0.value(u"last_reading"_s).toString();
    QVERIFY2(lastReading.endsWith(u'Z') && lastReading.contains(u'.'), qPrintable(lastReading));
    QVERIFY(QDateTime::fromString(lastReading, Qt::ISODateWithMs).isValid());

    const QJsonObject dlms = m0.value(u"dlms"_s).toObject();
    QCOMPARE(keysOf(dlms),
        sorted({u"requests_sent"_s, u"responses_recv"_s, u"bytes_sent"_s, u"bytes_recv"_s, u"timeouts"_s,
            u"protocol_errors"_s, u"reconnects"_s}));
    for (const QString &key : {u"requests_sent"_s, u"responses_recv"_s, u"bytes_sent"_s, u"bytes_recv"_s})
        QVERIFY2(dlms.value(key).toDouble() > 0, qPrintable(key));
    QCOMPARE(keysOf(m0.value(u"mqtt"_s).toObject()),
        sorted({u"messages_sent"_s, u"bytes_sent"_s, u"publish_failures"_s}));
    const QJsonObject polls = m0.value(u"polls"_s).toObject();
    QCOMPARE(keysOf(polls), sorted({u"attempted"_s, u"completed"_s, u"failed"_s, u"success_rate"_s}));
    QVERIFY(polls.value(u"completed"_s).toDouble() > 0);
    QVERIFY(polls.value(u"success_rate"_s).toDouble() > 0);
    const QJsonObject rtt = m0.value(u"rtt_ms"_s).toObject();
    QCOMPARE(keysOf(rtt), sorted({u"avg"_s, u"p95"_s, u"max"_s}));
    QVERIFY(rtt.value(u"max"_s).toDouble() > 0);
}

void TestHttpApi::meterDetail()
{
    const Response response = get(QByteArrayLiteral("/meters/m0"));
    QCOMPARE(response.status, 200);
    QCOMPARE(response.json.value(u"id"_s).toString(), u"m0"_s);
    const QString state = response.json.value(u"state"_s).toString();
    QVERIFY2(state == u"associated"_s || state == u"polling"_s, qPrintable(state));

    const QJsonObject config = response.json.value(u"config"_s).toObject();
    QCOMPARE(config.value(u"id"_s).toString(), u"m0"_s);
    QCOMPARE(config.value(u"port"_s).toInt(), int(m_simulator->port(0)));
    QCOMPARE(config.value(u"items"_s).toArray().size(), 2);
    QCOMPARE(config.value(u"auth"_s).toString(), u"low"_s);
    QVERIFY(!config.contains(u"password"_s));
    const QJsonObject mqtt = config.value(u"mqtt"_s).toObject();
    QCOMPARE(mqtt.value(u"device_type"_s).toString(), u"DLMS meter"_s);
    QCOMPARE(mqtt.value(u"attributes"_s).toObject().value(u"feeder"_s).toString(), u"north"_s);
    QVERIFY(!mqtt.contains(u"token"_s));
    QVERIFY(!response.body.contains(kMeterToken));
    QVERIFY(!response.body.contains(kMeterPassword));

    const QJsonObject rates = response.json.value(u"rates"_s).toObject();
    QCOMPARE(keysOf(rates), sorted({u"current"_s, u"window_average"_s, u"window_peak"_s}));
    for (const QString &window : keysOf(rates))
        QCOMPARE(keysOf(rates.value(window).toObject()),
            sorted({u"tx_bps"_s, u"rx_bps"_s, u"tx_pps"_s, u"rx_pps"_s}));
    QVERIFY(rates.value(u"window_peak"_s).toObject().value(u"tx_bps"_s).toDouble() > 0);

    // A meter without publishing settings has no "mqtt" in its configuration.
    const Response plain = get(QByteArrayLiteral("/meters/feeder%202"));
    QCOMPARE(plain.status, 200);
    QCOMPARE(plain.json.value(u"id"_s).toString(), u"feeder 2"_s);
    QVERIFY(!plain.json.value(u"config"_s).toObject().contains(u"mqtt"_s));
}

void TestHttpApi::networkStats_data()
{
    QTest::addColumn<QByteArray>("path");
    QTest::addColumn<QString>("meterId");
    QTest::addColumn<int>("maxHistory");

    QTest::newRow("meter") << QByteArrayLiteral("/meters/m0/network_stats") << u"m0"_s << 60;
    QTest::newRow("meter-history-2") << QByteArrayLiteral("/meters/m0/network_stats?history=2") << u"m0"_s
                                     << 2;
    QTest::newRow("meter-space") << QByteArrayLiteral("/meters/feeder%202/network_stats") << u"feeder 2"_s
                                 << 60;
    QTest::newRow("meter-slash-star")
        << QByteArrayLiteral("/meters/lab%2Fmeter%2A3/network_stats") << u"lab/meter*3"_s << 60;
    QTest::newRow("system") << QByteArrayLiteral("/meters/%2A/network_stats") << u"*"_s << 60;
    QTest::newRow("system-history-1")
        << QByteArrayLiteral("/meters/*/network_stats?history=1") << u"*"_s << 1;
}

void TestHttpApi::networkStats()
{
    QFETCH(QByteArray, path);
    QFETCH(QString, meterId);
    QFETCH(int, maxHistory);

    const Response response = get(path);
    QCOMPARE(response.status, 200);
    QCOMPARE(response.headers.value("content-type"), QByteArrayLiteral("application/json"));
    const QJsonObject &doc = response.json;
    QCOMPARE(doc.value(u"meter_id"_s).toString(), meterId);
    QVERIFY(!doc.value(u"meter_name"_s).toString().isEmpty());
    QVERIFY(doc.value(u"timestamp"_s).toString().endsWith(u'Z'));

    const auto containsAll = [](const QJsonObject &object, const QStringList &keys) {
        for (const QString &key : keys) {
            if (!object.contains(key))
                return false;
        }
        return true;
    };
    QVERIFY(containsAll(doc.value(u"current"_s).toObject(),
        {u"bandwidth_tx_kbps"_s, u"bandwidth_rx_kbps"_s, u"bandwidth_total_kbps"_s, u"packets_tx_ps"_s,
            u"packets_rx_ps"_s}));
    const QJsonObject application = doc.value(u"application"_s).toObject();
    QVERIFY(containsAll(application,
        {u"dlms_requests_sent"_s, u"dlms_responses_recv"_s, u"dlms_avg_payload_size"_s,
            u"dlms_total_bytes_sent"_s, u"dlms_total_bytes_recv"_s, u"mqtt_messages_sent"_s,
            u"mqtt_total_bytes_sent"_s}));
    QVERIFY(
        containsAll(doc.value(u"averages"_s).toObject(), {u"bandwidth_tx_mbps"_s, u"bandwidth_rx_mbps"_s}));
    QVERIFY(containsAll(doc.value(u"peaks"_s).toObject(), {u"bandwidth_tx_mbps"_s, u"bandwidth_rx_mbps"_s}));
    const QJsonObject history = doc.value(u"history"_s).toObject();
    const QStringList series {u"timestamp"_s, u"bandwidth_tx_mbps"_s, u"bandwidth_rx_mbps"_s,
        u"packets_tx_ps"_s, u"packets_rx_ps"_s};
    QVERIFY(containsAll(history, series));
    const qsizetype rows = history.value(u"timestamp"_s).toArray().size();
    QVERIFY(rows >= 1);
    QVERIFY(rows <= maxHistory);
    for (const QString &name : series)
        QCOMPARE(history.value(name).toArray().size(), rows);

    // Rollups with the meter's traffic were written (initTestCase waited for them).
    QVERIFY(application.value(u"dlms_requests_sent"_s).toDouble() > 0);
    QVERIFY(application.value(u"dlms_responses_recv"_s).toDouble() > 0);
    QVERIFY(application.value(u"dlms_total_bytes_sent"_s).toDouble() > 0);
    QVERIFY(application.value(u"dlms_total_bytes_recv"_s).toDouble() > 0);
    QVERIFY(application.value(u"dlms_avg_payload_size"_s).toDouble() > 0);
}

void TestHttpApi::errors_data()
{
    QTest::addColumn<QByteArray>("method");
    QTest::addColumn<QByteArray>("path");
    QTest::addColumn<int>("status");
    QTest::addColumn<QString>("mentions"); // in the error message

    QTest::newRow("unknown-meter") << QByteArrayLiteral("GET") << QByteArrayLiteral("/meters/nope") << 404
                                   << u"unknown meter"_s;
    QTest::newRow("unknown-meter-stats")
        << QByteArrayLiteral("GET") << QByteArrayLiteral("/meters/nope/network_stats") << 404
        << u"unknown meter"_s;
    QTest::newRow("system-is-no-meter")
        << QByteArrayLiteral("GET") << QByteArrayLiteral("/meters/%2A") << 404 << u"unknown meter"_s;
    // "/meters/m0%2Fnetwork_stats" is meter "m0/network_stats", not m0's statistics.
    QTest::newRow("encoded-slash-no-route")
        << QByteArrayLiteral("GET") << QByteArrayLiteral("/meters/m0%2Fnetwork_stats") << 404
        << u"unknown meter"_s;
    QTest::newRow("unknown-path") << QByteArrayLiteral("GET") << QByteArrayLiteral("/nothing") << 404
                                  << u"path"_s;
    QTest::newRow("root") << QByteArrayLiteral("GET") << QByteArrayLiteral("/") << 404 << u"path"_s;
    QTest::newRow("meters-trailing-slash")
        << QByteArrayLiteral("GET") << QByteArrayLiteral("/meters/") << 404 << u"path"_s;
    QTest::newRow("health-trailing-slash")
        << QByteArrayLiteral("GET") << QByteArrayLiteral("/health/") << 404 << u"path"_s;
    QTest::newRow("too-deep") << QByteArrayLiteral("GET") << QByteArrayLiteral("/meters/m0/network_stats/x")
                              << 404 << u"path"_s;
    QTest::newRow("post-meters") << QByteArrayLiteral("POST") << QByteArrayLiteral("/meters") << 405
                                 << u"POST"_s;
    QTest::newRow("delete-meter") << QByteArrayLiteral("DELETE") << QByteArrayLiteral("/meters/m0") << 405
                                  << u"DELETE"_s;
    QTest::newRow("put-health") << QByteArrayLiteral("PUT") << QByteArrayLiteral("/health") << 405
                                << u"PUT"_s;
    QTest::newRow("patch-stats") << QByteArrayLiteral("PATCH")
                                 << QByteArrayLiteral("/meters/m0/network_stats") << 405 << u"PATCH"_s;
    QTest::newRow("post-unknown-path")
        << QByteArrayLiteral("POST") << QByteArrayLiteral("/nothing") << 404 << u"path"_s;
    QTest::newRow("history-0") << QByteArrayLiteral("GET")
                               << QByteArrayLiteral("/meters/m0/network_stats?history=0") << 400
                               << u"history"_s;
    QTest::newRow("history-abc") << QByteArrayLiteral("GET")
                                 << QByteArrayLiteral("/meters/m0/network_stats?history=abc") << 400
                                 << u"history"_s;
    QTest::newRow("history-5000") << QByteArrayLiteral("GET")
                                  << QByteArrayLiteral("/meters/m0/network_stats?history=5000") << 400
                                  << u"history"_s;
    QTest::newRow("history-1441") << QByteArrayLiteral("GET")
                                  << QByteArrayLiteral("/meters/m0/network_stats?history=1441") << 400
                                  << u"history"_s;
    QTest::newRow("history-negative")
        << QByteArrayLiteral("GET") << QByteArrayLiteral("/meters/m0/network_stats?history=-1") << 400
        << u"history"_s;
    QTest::newRow("history-fraction")
        << QByteArrayLiteral("GET") << QByteArrayLiteral("/meters/m0/network_stats?history=1.5") << 400
        << u"history"_s;
    QTest::newRow("history-empty") << QByteArrayLiteral("GET")
                                   << QByteArrayLiteral("/meters/m0/network_stats?history=") << 400
                                   << u"history"_s;
}

void TestHttpApi::errors()
{
    QFETCH(QByteArray, method);
    QFETCH(QByteArray, path);
    QFETCH(int, status);
    QFETCH(QString, mentions);

    const Response response = request(m_port, method, path);
    QCOMPARE(response.status, status);
    QCOMPARE(response.headers.value("content-type"), QByteArrayLiteral("application/json"));
    QCOMPARE(response.headers.value("cache-control"), QByteArrayLiteral("no-store"));
    QVERIFY(response.isJson);
    QCOMPARE(keysOf(response.json), sorted({u"error"_s, u"status"_s}));
    QCOMPARE(response.json.value(u"status"_s).toInt(), status);
    const QString message = response.json.value(u"error"_s).toString();
    QVERIFY2(message.contains(mentions), qPrintable(message));
    if (status == 405)
        QCOMPARE(response.headers.value("allow"), QByteArrayLiteral("GET, HEAD"));
    else
        QVERIFY(!response.headers.contains("allow"));
}

void TestHttpApi::databaseError()
{
    // An API whose database cannot be opened: the statistics fail with 500 and the reason, the
    // routes served from the bridge's memory still answer.
    app::HttpSettings settings;
    settings.port = 0;
    app::HttpApi api(m_bridge.get(), settings, m_dir.filePath(u"missing/none.db"_s));
    QVERIFY(api.listen());

    const Response stats
        = request(api.port(), QByteArrayLiteral("GET"), QByteArrayLiteral("/meters/m0/network_stats"));
    QCOMPARE(stats.status, 500);
    QVERIFY(stats.isJson);
    QCOMPARE(stats.json.value(u"status"_s).toInt(), 500);
    QVERIFY(!stats.json.value(u"error"_s).toString().isEmpty());
    // Retried (the reader is opened again), still failing the same way.
    QCOMPARE(
        request(api.port(), QByteArrayLiteral("GET"), QByteArrayLiteral("/meters/m0/network_stats")).status,
        500);
    QCOMPARE(request(api.port(), QByteArrayLiteral("GET"), QByteArrayLiteral("/meters")).status, 200);

    const QStringList lines = capturedLines();
    QVERIFY(lines.contains(u"dlmsbridge.http: http: GET /meters/m0/network_stats -> 500"_s));
}

void TestHttpApi::token_data()
{
    QTest::addColumn<QByteArray>("path");
    QTest::addColumn<QByteArray>("authorization");
    QTest::addColumn<int>("status");

    const QByteArray right = "Bearer " + kApiToken;
    QTest::newRow("none") << QByteArrayLiteral("/meters") << QByteArray() << 401;
    QTest::newRow("wrong") << QByteArrayLiteral("/meters") << QByteArrayLiteral("Bearer nope") << 401;
    QTest::newRow("prefix-of-token") << QByteArrayLiteral("/meters") << right.chopped(1) << 401;
    QTest::newRow("token-plus-one") << QByteArrayLiteral("/meters") << QByteArray(right + 'x') << 401;
    QTest::newRow("basic-scheme") << QByteArrayLiteral("/meters") << QByteArray("Basic " + kApiToken) << 401;
    QTest::newRow("token-without-scheme") << QByteArrayLiteral("/meters") << kApiToken << 401;
    QTest::newRow("empty-bearer") << QByteArrayLiteral("/meters") << QByteArrayLiteral("Bearer ") << 401;
    QTest::newRow("right") << QByteArrayLiteral("/meters") << right << 200;
    QTest::newRow("right-lowercase-scheme")
        << QByteArrayLiteral("/meters") << QByteArray("bearer " + kApiToken) << 200;
    QTest::newRow("right-health") << QByteArrayLiteral("/health") << right << 200;
    QTest::newRow("right-stats") << QByteArrayLiteral("/meters/m0/network_stats") << right << 200;
    QTest::newRow("unknown-path-none") << QByteArrayLiteral("/nothing") << QByteArray() << 401;
    QTest::newRow("unknown-path-right") << QByteArrayLiteral("/nothing") << right << 404;
    QTest::newRow("unknown-meter-none") << QByteArrayLiteral("/meters/nope") << QByteArray() << 401;
}

void TestHttpApi::token()
{
    QFETCH(QByteArray, path);
    QFETCH(QByteArray, authorization);
    QFETCH(int, status);

    app::HttpSettings settings;
    settings.port = 0;
    settings.token = kApiToken;
    app::HttpApi api(m_bridge.get(), settings, m_databasePath);
    QVERIFY(api.listen());

    const Response response = request(api.port(), QByteArrayLiteral("GET"), path, authorization);
    QCOMPARE(response.status, status);
    QVERIFY(response.isJson);
    QCOMPARE(response.headers.value("content-type"), QByteArrayLiteral("application/json"));
    QVERIFY(!response.body.contains(kApiToken));
    if (status == 401) {
        QVERIFY(response.headers.value("www-authenticate").startsWith("Bearer"));
        QCOMPARE(response.json.value(u"status"_s).toInt(), 401);
        // One log line naming the method, path and status.
        QVERIFY(capturedLines().contains(
            u"dlmsbridge.http: http: GET %1 -> 401"_s.arg(QString::fromLatin1(path))));
    } else {
        QVERIFY(!response.headers.contains("www-authenticate"));
    }
}

void TestHttpApi::secretsNeverShown()
{
    // Every route once more, with and without the token, so this holds when run alone too; then
    // every body this run received and every line the bridge logged.
    app::HttpSettings settings;
    settings.port = 0;
    settings.token = kApiToken;
    app::HttpApi guarded(m_bridge.get(), settings, m_databasePath);
    QVERIFY(guarded.listen());
    const QByteArray bearer = "Bearer " + kApiToken;
    for (const QByteArray &path :
        {QByteArrayLiteral("/health"), QByteArrayLiteral("/meters"), QByteArrayLiteral("/meters/m0"),
            QByteArrayLiteral("/meters/m0/network_stats"), QByteArrayLiteral("/x")}) {
        QVERIFY(get(path).status > 0);
        QCOMPARE(request(guarded.port(), QByteArrayLiteral("GET"), path).status, 401);
        QCOMPARE(request(guarded.port(), QByteArrayLiteral("GET"), path, "Bearer wrong").status, 401);
        QVERIFY(request(guarded.port(), QByteArrayLiteral("GET"), path, bearer).status != 401);
    }
    QVERIFY(m_bodies.size() >= 20);
    for (const QByteArray &body : std::as_const(m_bodies)) {
        QVERIFY(!body.contains(kApiToken));
        QVERIFY(!body.contains(kMeterToken));
        QVERIFY(!body.contains(kMeterPassword));
    }
    const QStringList lines = capturedLines();
    QVERIFY(!lines.isEmpty());
    for (const QString &line : lines) {
        QVERIFY2(!line.contains(QString::fromLatin1(kApiToken)), qPrintable(line));
        QVERIFY2(!line.contains(QString::fromLatin1(kMeterToken)), qPrintable(line));
        QVERIFY2(!line.contains(QString::fromLatin1(kMeterPassword)), qPrintable(line));
    }
    QVERIFY(std::any_of(lines.cbegin(), lines.cend(), [](const QString &line) {
        return line.startsWith(u"dlmsbridge.http: http: listening on 127.0.0.1:"_s);
    }));
}

void TestHttpApi::requestsServed()
{
    app::HttpSettings settings;
    settings.port = 0;
    app::HttpApi api(m_bridge.get(), settings, m_databasePath);
    QCOMPARE(api.requestsServed(), quint64(0));
    QVERIFY(api.listen());
    QVERIFY(api.port() != 0);
    QCOMPARE(request(api.port(), QByteArrayLiteral("GET"), QByteArrayLiteral("/meters")).status, 200);
    QCOMPARE(request(api.port(), QByteArrayLiteral("GET"), QByteArrayLiteral("/nothing")).status, 404);
    QCOMPARE(request(api.port(), QByteArrayLiteral("POST"), QByteArrayLiteral("/health")).status, 405);
    QCOMPARE(request(api.port(), QByteArrayLiteral("HEAD"), QByteArrayLiteral("/health")).status, 200);
    QCOMPARE(api.requestsServed(), quint64(4));
}

void TestHttpApi::listenErrors_data()
{
    QTest::addColumn<QString>("address");
    QTest::addColumn<bool>("portInUse");
    QTest::addColumn<QStringList>("mentions");

    QTest::newRow("port-in-use") << u"127.0.0.1"_s << true
                                 << QStringList {u"cannot listen on 127.0.0.1:"_s, u"address in use"_s};
    QTest::newRow("host-name") << u"localhost"_s << false
                               << QStringList {u"http.address"_s, u"localhost"_s, u"is not an IP address"_s};
    QTest::newRow("garbage") << u"127.0.0.300"_s << false
                             << QStringList {u"http.address"_s, u"is not an IP address"_s};
    QTest::newRow("empty") << QString() << false
                           << QStringList {u"http.address"_s, u"is not an IP address"_s};
}

void TestHttpApi::listenErrors()
{
    QFETCH(QString, address);
    QFETCH(bool, portInUse);
    QFETCH(QStringList, mentions);

    QTcpServer occupier;
    app::HttpSettings settings;
    settings.address = address;
    settings.port = 0;
    if (portInUse) {
        QVERIFY(occupier.listen(QHostAddress::LocalHost, 0));
        settings.port = occupier.serverPort();
        mentions.append(u":%1:"_s.arg(settings.port));
    }
    app::HttpApi api(m_bridge.get(), settings, m_databasePath);
    const auto listening = api.listen();
    QVERIFY(!listening);
    for (const QString &text : std::as_const(mentions))
        QVERIFY2(listening.error().message.contains(text), qPrintable(listening.error().message));
}

void TestHttpApi::health()
{
    const Response healthy = get(QByteArrayLiteral("/health"));
    QCOMPARE(healthy.status, 200);
    const QJsonObject &body = healthy.json;
    QCOMPARE(body.value(u"status"_s).toString(), u"ok"_s);
    QVERIFY(body.value(u"problems"_s).toArray().isEmpty());
    QCOMPARE(body.value(u"version"_s).toString(), u"9.8.7-test"_s);
    QVERIFY(body.value(u"uptime_s"_s).isDouble());
    QVERIFY(body.value(u"started"_s).toString().endsWith(u'Z'));
    const QJsonObject meters = body.value(u"meters"_s).toObject();
    QCOMPARE(keysOf(meters), sorted({u"total"_s, u"associated"_s, u"failing"_s}));
    QCOMPARE(meters.value(u"total"_s).toInt(), 3);
    QCOMPARE(meters.value(u"failing"_s).toInt(), 0);
    const QJsonObject storage = body.value(u"storage"_s).toObject();
    QCOMPARE(keysOf(storage),
        sorted({u"state"_s, u"message"_s, u"readings_written"_s, u"queued_readings"_s, u"dropped_readings"_s,
            u"last_commit"_s}));
    QCOMPARE(storage.value(u"state"_s).toString(), u"ok"_s);
    QVERIFY(storage.value(u"readings_written"_s).toDouble() > 0);
    QVERIFY(storage.value(u"last_commit"_s).toString().endsWith(u'Z'));
    const QJsonObject mqtt = body.value(u"mqtt"_s).toObject();
    QCOMPARE(keysOf(mqtt),
        sorted({u"enabled"_s, u"state"_s, u"message"_s, u"messages_acknowledged"_s, u"publish_failures"_s,
            u"reconnects"_s}));
    QCOMPARE(mqtt.value(u"enabled"_s).toBool(), false);
    const QJsonObject outbox = body.value(u"outbox"_s).toObject();
    QCOMPARE(keysOf(outbox), sorted({u"rows"_s, u"bytes"_s, u"oldest"_s, u"eta_s"_s, u"dropped_rows"_s}));
    QVERIFY(outbox.value(u"eta_s"_s).isNull()); // nobody drains it without MQTT

    // A meter that stops answering makes the bridge degraded: 503, same shape, the problem named.
    sim::FaultConfig silent;
    silent.silent = true;
    m_simulator->setFaults(2, silent);
    Response degraded;
    QTRY_VERIFY_WITH_TIMEOUT((degraded = get(QByteArrayLiteral("/health"))).status == 503, kWaitMs);
    QCOMPARE(degraded.json.value(u"status"_s).toString(), u"degraded"_s);
    QCOMPARE(degraded.headers.value("content-type"), QByteArrayLiteral("application/json"));
    QCOMPARE(keysOf(degraded.json), keysOf(body));
    const QStringList problems = degraded.json.value(u"problems"_s).toVariant().toStringList();
    QVERIFY2(std::any_of(problems.cbegin(), problems.cend(),
                 [](const QString &problem) { return problem.contains(u"lab/meter*3"_s); }),
        qPrintable(problems.join(u"; "_s)));
    QVERIFY(degraded.json.value(u"meters"_s).toObject().value(u"failing"_s).toInt() >= 1);

    QVERIFY(capturedLines().contains(u"dlmsbridge.http: http: GET /health -> 503"_s));
    // The meter's own failure shows in /meters (the monitor hears of it within a second).
    const auto timeoutsOfSilentMeter = [this] {
        const QJsonArray list = get(QByteArrayLiteral("/meters")).json.value(u"meters"_s).toArray();
        return list.at(2).toObject().value(u"dlms"_s).toObject().value(u"timeouts"_s).toDouble();
    };
    QTRY_VERIFY_WITH_TIMEOUT(timeoutsOfSilentMeter() > 0, kWaitMs);

    // And healthy again once it answers.
    m_simulator->setFaults(2, sim::FaultConfig {});
    QTRY_COMPARE_WITH_TIMEOUT(get(QByteArrayLiteral("/health")).status, 200, kWaitMs);
}

QTEST_GUILESS_MAIN(TestHttpApi)
#include "tst_httpapi.moc"
