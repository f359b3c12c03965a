// The HTTP API against a real Bridge: an in-process simulator with three meters, a temporary
// database written every second (rollup_s 1), MQTT off, requests over loopback with
// QNetworkAccessManager.

#include <bridge.h>
#include <bridgeconfig.h>
#include <httpapi.h>
#include <meterconfig.h>
#include <simulator.h>
#include <trafficmonitor.h>

#include "readertestdb.h"

#include <QtCore/QCoreApplication>
#include <QtCore/QDateTime>
#include <QtCore/QElapsedTimer>
#include <QtCore/QJsonArray>
#include <QtCore/QJsonDocument>
#include <QtCore/QJsonObject>
#include <QtCore/QMutex>
#include <QtCore/QTemporaryDir>
#include <QtNetwork/QNetworkAccessManager>
#include <QtNetwork/QNetworkReply>
#include <QtNetwork/QNetworkRequest>
#include <QtNetwork/QTcpServer>
#include <QtNetwork/QTcpSocket>
#include <QtTest/QSignalSpy>
#include <QtTest/QTest>

#include <algorithm>
#include <memory>

using namespace Qt::StringLiterals;

Q_DECLARE_METATYPE(dlms::Authentication)
Q_DECLARE_METATYPE(dlms::SecurityPolicy)

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

// A raw HTTP/1.1 client connection: what QNetworkAccessManager cannot do (many requests at
// once past its six connections per host, two requests on one connection without waiting).
struct RawClient {
    std::unique_ptr<QTcpSocket> socket = std::make_unique<QTcpSocket>();
    QByteArray received;

    void send(quint16 port, const QByteArrayList &paths)
    {
        QObject::connect(
            socket.get(), &QTcpSocket::readyRead, socket.get(), [this] { received += socket->readAll(); });
        socket->connectToHost(QHostAddress::LocalHost, port);
        for (const QByteArray &path : paths)
            socket->write("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    }
    // Complete responses received so far (Content-Length framed): status and body.
    QList<std::pair<int, QByteArray>> responses(QList<QByteArray> *heads = nullptr) const
    {
        QList<std::pair<int, QByteArray>> list;
        qsizetype at = 0;
        while (true) {
            const qsizetype end = received.indexOf("\r\n\r\n", at);
            if (end < 0)
                break;
            const QByteArray head = received.mid(at, end - at);
            const qsizetype lengthAt = head.toLower().indexOf("content-length: ");
            const qsizetype length = lengthAt < 0 ? 0 : head.mid(lengthAt + 16).split('\r').first().toInt();
            if (received.size() < end + 4 + length)
                break;
            list.append({head.mid(9, 3).toInt(), received.mid(end + 4, length)});
            if (heads)
                heads->append(head);
            at = end + 4 + length;
        }
        return list;
    }
};

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
    void meterListMatchesDetail_data();
    void meterListMatchesDetail();
    void meterDetailWithoutKeys_data();
    void meterDetailWithoutKeys();
    void meterListCache();
    void statsOffThread();
    void pipelinedInOrder();
    void queueFull();
    void destroyedInFlight();
    void meterListBenchmark();

private:
    Response request(quint16 port, const QByteArray &method, const QByteArray &encodedPath,
        const QByteArray &authorization = {});
    Response get(const QByteArray &encodedPath)
    {
        return request(m_port, QByteArrayLiteral("GET"), encodedPath);
    }

    // A database with 200,000 network_metrics rows for meter "slow": its statistics take a
    // while to compute (created on first use).
    QString slowDatabase();

    QTemporaryDir m_dir;
    QString m_slowPath;
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
    // Written by hand for /meters: exactly what QDateTime writes.
    QCOMPARE(QDateTime::fromString(lastReading, Qt::ISODateWithMs).toUTC().toString(Qt::ISODateWithMs),
        lastReading);
    const QString stateSince = m0.value(u"state_since"_s).toString();
    QCOMPARE(
        QDateTime::fromString(stateSince, Qt::ISODateWithMs).toUTC().toString(Qt::ISODateWithMs), stateSince);

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
    QVERIFY(lines.contains(u"dlmsbridge.http: GET /meters/m0/network_stats -> 500"_s));
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
        QVERIFY(capturedLines().contains(u"dlmsbridge.http: GET %1 -> 401"_s.arg(QString::fromLatin1(path))));
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
    QVERIFY(std::any_of(lines.cbegin(), lines.cend(),
        [](const QString &line) { return line.startsWith(u"dlmsbridge.http: listening on 127.0.0.1:"_s); }));
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

    // The degraded answer is not an error of the API: no log line per poll of /health.
    QVERIFY(!capturedLines().join(u'\n').contains(u"/health -> 503"_s));
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

QString TestHttpApi::slowDatabase()
{
    if (!m_slowPath.isEmpty())
        return m_slowPath;
    const QString path = m_dir.filePath(u"slow.db"_s);
    readertest::TestDb db(path);
    if (!db.open() || !readertest::insertMeter(db.db(), u"slow"_s, u"Slow meter"_s))
        return {};
    // One transaction, one statement: 200,000 minutes of one meter.
    QSqlQuery insert(db.db());
    const bool inserted = insert.exec(
        u"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200000)"
        " INSERT INTO network_metrics (meter_id, timestamp, dlms_requests_sent, dlms_responses_recv,"
        " dlms_bytes_sent, dlms_bytes_recv, bandwidth_tx_bps, bandwidth_rx_bps, rtt_avg_ms, rtt_samples)"
        " SELECT 'slow', 1700000000000 + i * 60000, 10, 10, 300, 500, 40 + i % 7, 66 + i % 5,"
        " 3 + i % 11, 10 FROM n"_s);
    if (!inserted) {
        qWarning("%s", qPrintable(insert.lastError().text()));
        return {};
    }
    m_slowPath = path;
    return m_slowPath;
}

void TestHttpApi::meterListMatchesDetail_data()
{
    QTest::addColumn<QString>("name");

    QTest::newRow("plain") << u"Feeder north"_s;
    QTest::newRow("quotes-backslash") << u"say \"hi\" \\ back\\slash /"_s;
    QTest::newRow("control-characters") << u"tab\there\nline\r\x01\x1f\b\f end"_s;
    QTest::newRow("latin-1") << u"Zähler Straße °C µ"_s;
    QTest::newRow("bmp") << u"電力量計 €"_s;
    QTest::newRow("surrogate-pair") << u"meter \U0001F50C plug"_s;
    QTest::newRow("empty") << QString();
}

void TestHttpApi::meterListMatchesDetail()
{
    // /meters is written by hand, /meters/{id} through QJsonObject: the same meter must read the
    // same (a stopped bridge, so nothing changes between the requests).
    QFETCH(QString, name);

    app::Bridge bridge;
    polling::MeterConfig first = meterConfig(u"a \"quoted\" id"_s, name, 4059);
    QVERIFY(bridge.addMeter(first));
    QVERIFY(bridge.addMeter(meterConfig(u"second"_s, name + u" 2"_s, 4060)));
    app::HttpSettings settings;
    settings.port = 0;
    app::HttpApi api(&bridge, settings, m_databasePath);
    QVERIFY(api.listen());

    const Response list = request(api.port(), QByteArrayLiteral("GET"), QByteArrayLiteral("/meters"));
    QCOMPARE(list.status, 200);
    QVERIFY2(list.isJson, list.body.constData());
    QCOMPARE(list.json.value(u"count"_s).toInt(), 2);
    const QJsonArray meters = list.json.value(u"meters"_s).toArray();
    QCOMPARE(meters.size(), 2);
    const QByteArrayList paths {
        QByteArrayLiteral("/meters/a%20%22quoted%22%20id"), QByteArrayLiteral("/meters/second")};
    for (qsizetype i = 0; i < meters.size(); ++i) {
        const Response detail = request(api.port(), QByteArrayLiteral("GET"), paths.at(i));
        QCOMPARE(detail.status, 200);
        QJsonObject expected = detail.json;
        expected.remove(u"config"_s);
        expected.remove(u"rates"_s);
        QCOMPARE(meters.at(i).toObject(), expected);
    }
    QCOMPARE(meters.at(0).toObject().value(u"name"_s).toString(), name);
    QCOMPARE(meters.at(0).toObject().value(u"id"_s).toString(), u"a \"quoted\" id"_s);
}

void TestHttpApi::meterDetailWithoutKeys_data()
{
    QTest::addColumn<dlms::Authentication>("authentication");
    QTest::addColumn<dlms::SecurityPolicy>("policy");

    QTest::newRow("hls-gmac-auth-enc")
        << dlms::Authentication::HighGmac << dlms::SecurityPolicy::AuthenticatedEncrypted;
    QTest::newRow("hls-gmac-no-ciphering") << dlms::Authentication::HighGmac << dlms::SecurityPolicy::None;
    QTest::newRow("no-auth-enc") << dlms::Authentication::None << dlms::SecurityPolicy::Encrypted;
}

void TestHttpApi::meterDetailWithoutKeys()
{
    // A secured meter's configuration shows its policy and title, never its EK or AK (a stopped
    // bridge: nothing associates).
    QFETCH(dlms::Authentication, authentication);
    QFETCH(dlms::SecurityPolicy, policy);
    const QByteArray ek = QByteArray::fromHex("C0FFEE0102030405060708090A0B0C0D");
    const QByteArray ak = QByteArray::fromHex("BADC0DE102030405060708090A0B0C0D");

    app::Bridge bridge;
    polling::MeterConfig secured = meterConfig(u"secured"_s, u"Secured"_s, 4059);
    secured.authentication = authentication;
    secured.security.policy = policy;
    secured.security.systemTitle = QByteArray::fromHex("4D4D4D0000000001");
    secured.security.blockCipherKey = ek;
    secured.security.authenticationKey = ak;
    const auto added = bridge.addMeter(secured);
    QVERIFY2(added, qPrintable(added ? QString() : added.error().message));
    app::HttpSettings settings;
    settings.port = 0;
    app::HttpApi api(&bridge, settings, m_databasePath);
    QVERIFY(api.listen());

    const Response detail
        = request(api.port(), QByteArrayLiteral("GET"), QByteArrayLiteral("/meters/secured"));
    QCOMPARE(detail.status, 200);
    const QJsonObject security = detail.json.value(u"config"_s).toObject().value(u"security"_s).toObject();
    QCOMPARE(security.value(u"policy"_s).toString(), dlms::securityPolicyName(policy));
    QCOMPARE(security.value(u"system_title"_s).toString(), u"4D4D4D0000000001"_s);
    QVERIFY(!security.contains(u"ek"_s));
    QVERIFY(!security.contains(u"ak"_s));
    for (const QByteArray &key : {ek, ak}) {
        QVERIFY(!detail.body.contains(key.toHex()));
        QVERIFY(!detail.body.contains(key.toHex().toUpper()));
    }
}

void TestHttpApi::meterListCache()
{
    // Readings arrive every 100 ms, so the list changes between two requests; within one tick
    // of the monitor the second gets the bytes of the first, after a tick it is built again.
    const monitor::TrafficMonitor *monitor = m_bridge->monitor();
    QVERIFY(monitor);
    QSignalSpy ticks(monitor, &monitor::TrafficMonitor::ticked);
    QSignalSpy readings(m_bridge.get(), &app::Bridge::readingsReady);
    QSignalSpy states(m_bridge.get(), &app::Bridge::meterStateChanged);
    bool checked = false;
    for (int attempt = 0; attempt < 20 && !checked; ++attempt) {
        QVERIFY(ticks.wait(kWaitMs)); // just after a tick: the most time until the next one
        const qsizetype tick = ticks.size();
        const qsizetype stateChanges = states.size();
        const Response first = get(QByteArrayLiteral("/meters"));
        readings.clear();
        QVERIFY(readings.wait(kWaitMs));
        const Response second = get(QByteArrayLiteral("/meters"));
        if (ticks.size() != tick || states.size() != stateChanges)
            continue; // a tick (or a state change) came in between: try again
        QCOMPARE(first.status, 200);
        QCOMPARE(second.body, first.body);
        checked = true;

        // After the next tick: built again, with the readings since.
        QVERIFY(ticks.wait(kWaitMs));
        const Response third = get(QByteArrayLiteral("/meters"));
        QVERIFY(third.body != first.body);
        double batchesBefore = 0;
        double batchesAfter = 0;
        for (const QJsonValue &meter : first.json.value(u"meters"_s).toArray())
            batchesBefore += meter.toObject().value(u"batches"_s).toDouble();
        for (const QJsonValue &meter : third.json.value(u"meters"_s).toArray())
            batchesAfter += meter.toObject().value(u"batches"_s).toDouble();
        QVERIFY2(
            batchesAfter > batchesBefore, qPrintable(u"%1 -> %2"_s.arg(batchesBefore).arg(batchesAfter)));
    }
    QVERIFY(checked);

    // A state change shows at once, without waiting for a tick.
    QVERIFY(m_bridge->setPaused(u"feeder 2"_s, true));
    QTRY_VERIFY_WITH_TIMEOUT(
        [&] {
            for (const QVariant &arguments : states) {
                const QVariantList list = arguments.toList();
                if (list.at(0).toString() == u"feeder 2"_s
                    && list.at(1).value<polling::MeterState>() == polling::MeterState::Paused)
                    return true;
            }
            return false;
        }(),
        kWaitMs);
    const QJsonArray paused = get(QByteArrayLiteral("/meters")).json.value(u"meters"_s).toArray();
    QCOMPARE(paused.at(1).toObject().value(u"state"_s).toString(), u"paused"_s);
    QVERIFY(m_bridge->setPaused(u"feeder 2"_s, false));
}

void TestHttpApi::statsOffThread()
{
    // While the statistics of a big table are computed, the API's thread answers /health: it
    // finishes first although it was asked second.
    const QString path = slowDatabase();
    QVERIFY(!path.isEmpty());
    app::HttpSettings settings;
    settings.port = 0;
    app::HttpApi api(m_bridge.get(), settings, path);
    QVERIFY(api.listen());
    const QByteArray base = "http://127.0.0.1:" + QByteArray::number(api.port());

    QStringList finished;
    QNetworkRequest statsRequest(QUrl::fromEncoded(base + "/meters/slow/network_stats?history=1440"));
    QNetworkReply *stats = m_network->get(statsRequest);
    connect(stats, &QNetworkReply::finished, this, [&] { finished.append(u"stats"_s); });
    QSignalSpy sent(stats, &QNetworkReply::requestSent);
    QVERIFY(sent.wait(kWaitMs));
    QNetworkReply *health = m_network->get(QNetworkRequest(QUrl::fromEncoded(base + "/health")));
    connect(health, &QNetworkReply::finished, this, [&] { finished.append(u"health"_s); });
    QTRY_COMPARE_WITH_TIMEOUT(finished.size(), 2, kWaitMs);
    QCOMPARE(finished, (QStringList {u"health"_s, u"stats"_s}));

    QCOMPARE(stats->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt(), 200);
    const QJsonObject document = QJsonDocument::fromJson(stats->readAll()).object();
    QCOMPARE(document.value(u"meter_id"_s).toString(), u"slow"_s);
    QCOMPARE(document.value(u"history"_s).toObject().value(u"timestamp"_s).toArray().size(), 1440);
    QCOMPARE(
        document.value(u"application"_s).toObject().value(u"dlms_requests_sent"_s).toDouble(), 2'000'000.0);
    QVERIFY(health->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt() > 0);
    stats->deleteLater();
    health->deleteLater();
}

void TestHttpApi::pipelinedInOrder()
{
    // Two requests on one connection without waiting: the answers come in request order even
    // though the second is ready long before the first.
    const QString path = slowDatabase();
    QVERIFY(!path.isEmpty());
    app::HttpSettings settings;
    settings.port = 0;
    app::HttpApi api(m_bridge.get(), settings, path);
    QVERIFY(api.listen());

    RawClient client;
    client.send(api.port(),
        {QByteArrayLiteral("/meters/slow/network_stats?history=3"), QByteArrayLiteral("/meters/nope"),
            QByteArrayLiteral("/meters/nope/network_stats")});
    QTRY_COMPARE_WITH_TIMEOUT(client.responses().size(), 3, kWaitMs);
    const auto responses = client.responses();
    QCOMPARE(responses.at(0).first, 200);
    QCOMPARE(
        QJsonDocument::fromJson(responses.at(0).second).object().value(u"meter_id"_s).toString(), u"slow"_s);
    QCOMPARE(responses.at(1).first, 404);
    QVERIFY(responses.at(1).second.contains("unknown meter 'nope'"));
    QCOMPARE(responses.at(2).first, 404);
    QCOMPARE(api.requestsServed(), quint64(3));
}

void TestHttpApi::queueFull()
{
    // More statistics requests at once than the database thread queues: the ones beyond are
    // refused at once with 503 busy and Retry-After; the connections then go away with their
    // queries still queued, which are dropped (no crash, no answer to a closed socket).
    const QString path = slowDatabase();
    QVERIFY(!path.isEmpty());
    app::HttpSettings settings;
    settings.port = 0;
    app::HttpApi api(m_bridge.get(), settings, path);
    QVERIFY(api.listen());
    const qsizetype linesBefore = capturedLines().size();

    std::vector<std::unique_ptr<RawClient>> clients;
    for (int i = 0; i < 150; ++i) {
        clients.push_back(std::make_unique<RawClient>());
        clients.back()->send(api.port(), {QByteArrayLiteral("/meters/slow/network_stats")});
    }
    const auto refused = [&clients] {
        int count = 0;
        for (const auto &client : clients) {
            const auto responses = client->responses();
            count += int(!responses.isEmpty() && responses.first().first == 503);
        }
        return count;
    };
    // 64 queued (one of them being computed), most of the other 86 refused (a few may have
    // found room left by queries answered while the requests were still arriving).
    QTRY_VERIFY_WITH_TIMEOUT(refused() >= 10, kWaitMs);
    for (const auto &client : clients) {
        QList<QByteArray> heads;
        const auto responses = client->responses(&heads);
        if (responses.isEmpty() || responses.first().first != 503)
            continue;
        const QJsonObject body = QJsonDocument::fromJson(responses.first().second).object();
        QCOMPARE(body.value(u"error"_s).toString(), u"busy"_s);
        QCOMPARE(body.value(u"status"_s).toInt(), 503);
        QVERIFY2(heads.first().contains("\r\nRetry-After: 1"), heads.first().constData());
    }
    // One log line for the overload, not one per refused request.
    QStringList busyLines = capturedLines().mid(linesBefore);
    busyLines = busyLines.filter(u"network_stats -> 503"_s);
    QVERIFY(!busyLines.isEmpty());
    QVERIFY2(busyLines.size() < refused(), qPrintable(busyLines.join(u'\n')));

    clients.clear();
    // The queue drains (the dropped queries are skipped): a new request is answered.
    QTRY_COMPARE_WITH_TIMEOUT(request(api.port(), QByteArrayLiteral("GET"),
                                  QByteArrayLiteral("/meters/slow/network_stats?history=1"))
                                  .status,
        200, kWaitMs);
}

void TestHttpApi::destroyedInFlight()
{
    // The API goes (a reload, shutdown) while a query is being computed and others wait behind
    // it: the thread is joined, the waiting clients get 503 or the answer, nothing leaks or
    // crashes (run under ASan).
    const QString path = slowDatabase();
    QVERIFY(!path.isEmpty());
    app::HttpSettings settings;
    settings.port = 0;
    auto api = std::make_unique<app::HttpApi>(m_bridge.get(), settings, path);
    QVERIFY(api->listen());
    const quint16 port = api->port();

    std::vector<std::unique_ptr<RawClient>> clients;
    for (int i = 0; i < 4; ++i) {
        clients.push_back(std::make_unique<RawClient>());
        clients.back()->send(port, {QByteArrayLiteral("/meters/slow/network_stats?history=1440")});
    }
    // Two round trips on another connection: the server has read the queries by then.
    QVERIFY(request(port, QByteArrayLiteral("GET"), QByteArrayLiteral("/health")).status > 0);
    QVERIFY(request(port, QByteArrayLiteral("GET"), QByteArrayLiteral("/health")).status > 0);
    api.reset();

    int shuttingDown = 0;
    for (const auto &client : clients) {
        QTRY_VERIFY_WITH_TIMEOUT(client->socket->state() == QAbstractSocket::UnconnectedState, kWaitMs);
        const auto responses = client->responses();
        QCOMPARE(responses.size(), 1);
        const int status = responses.first().first;
        QVERIFY2(status == 200 || status == 503, qPrintable(QString::number(status)));
        if (status == 503) {
            QCOMPARE(QJsonDocument::fromJson(responses.first().second).object().value(u"error"_s).toString(),
                u"shutting down"_s);
            ++shuttingDown;
        }
    }
    // At most one was computed before the API went; the queued ones were not.
    QVERIFY(shuttingDown >= 3);
}

void TestHttpApi::meterListBenchmark()
{
    // Not a test of speed (nothing is asserted on time): the figures for the report, on a
    // stopped bridge (no monitor, so every request builds the list afresh).
    app::Bridge bridge;
    for (int i = 0; i < 2000; ++i) {
        QVERIFY(
            bridge.addMeter(meterConfig(u"meter-%1"_s.arg(i), u"Meter \"%1\""_s.arg(i), quint16(1000 + i))));
    }
    app::HttpSettings settings;
    settings.port = 0;
    app::HttpApi api(&bridge, settings, m_databasePath);
    QVERIFY(api.listen());
    QList<qint64> micros;
    QList<qint64> parseMicros; // the client's share of the round trip
    QElapsedTimer timer;
    for (int i = 0; i < 7; ++i) {
        timer.start();
        const Response response = request(api.port(), QByteArrayLiteral("GET"), QByteArrayLiteral("/meters"));
        micros.append(timer.nsecsElapsed() / 1000);
        QCOMPARE(response.json.value(u"count"_s).toInt(), 2000);
        timer.start();
        QVERIFY(!QJsonDocument::fromJson(response.body).isNull());
        parseMicros.append(timer.nsecsElapsed() / 1000);
    }
    std::sort(parseMicros.begin(), parseMicros.end());
    std::sort(micros.begin(), micros.end());
    qInfo("GET /meters, 2000 meters, round trip: p50 %lld us, min %lld us; of it client parse p50 %lld us",
        micros.at(micros.size() / 2), micros.first(), parseMicros.at(parseMicros.size() / 2));

    // What the list cost when built as QJsonObjects (before): the tree, then toJson.
    const QJsonArray meters = request(api.port(), QByteArrayLiteral("GET"), QByteArrayLiteral("/meters"))
                                  .json.value(u"meters"_s)
                                  .toArray();
    QList<qint64> buildMicros;
    QList<qint64> toJsonMicros;
    for (int i = 0; i < 7; ++i) {
        timer.start();
        QJsonArray list;
        for (const QJsonValue &value : meters) {
            const QJsonObject meter = value.toObject();
            QJsonObject rebuilt;
            for (auto it = meter.constBegin(); it != meter.constEnd(); ++it) {
                if (it.value().isObject()) {
                    QJsonObject inner;
                    const QJsonObject source = it.value().toObject();
                    for (auto field = source.constBegin(); field != source.constEnd(); ++field)
                        inner.insert(field.key(), field.value());
                    rebuilt.insert(it.key(), inner);
                } else {
                    rebuilt.insert(it.key(), it.value());
                }
            }
            list.append(rebuilt);
        }
        const QJsonObject document {{u"meters"_s, list}, {u"count"_s, int(list.size())}};
        buildMicros.append(timer.nsecsElapsed() / 1000);
        timer.start();
        QVERIFY(!QJsonDocument(document).toJson(QJsonDocument::Compact).isEmpty());
        toJsonMicros.append(timer.nsecsElapsed() / 1000);
    }
    std::sort(buildMicros.begin(), buildMicros.end());
    std::sort(toJsonMicros.begin(), toJsonMicros.end());
    qInfo("the same list as QJsonObjects: building p50 %lld us, toJson p50 %lld us",
        buildMicros.at(buildMicros.size() / 2), toJsonMicros.at(toJsonMicros.size() / 2));
}

QTEST_GUILESS_MAIN(TestHttpApi)
#include "tst_httpapi.moc"
