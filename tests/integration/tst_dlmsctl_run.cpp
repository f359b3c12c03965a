// `dlmsctl run` end to end with real parts only: an in-process simulator, a real mosquitto, an
// MQTT subscriber, the HTTP API over a real socket and the SQLite file the bridge wrote.

#include "../unit/mosquittobroker.h"
#include "clitestsupport.h"

#include <mqttclient.h>
#include <reader.h>
#include <telemetryformat.h>

#include <QtCore/QElapsedTimer>
#include <QtCore/QEventLoop>
#include <QtCore/QSaveFile>
#include <QtCore/QScopeGuard>
#include <QtCore/QSet>
#include <QtCore/QStandardPaths>
#include <QtCore/QTemporaryDir>
#include <QtCore/QTimer>
#include <QtNetwork/QNetworkAccessManager>
#include <QtNetwork/QNetworkProxy>
#include <QtNetwork/QNetworkReply>
#include <QtNetwork/QNetworkRequest>
#include <QtSql/QSqlError>
#include <QtSql/QSqlQuery>
#include <QtTest/QtTest>

#include <array>
#include <cerrno>
#include <csignal>
#include <fcntl.h>
#include <linux/fs.h>
#include <map>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace Qt::StringLiterals;
using namespace clitest;

namespace {

constexpr int kWaitMs = 20'000;

// The secrets of these tests: none may ever appear in dlmsctl's output.
const QString kMqttUser = u"bridge"_s;
const QString kMqttPassword = u"mqtt-Pa55-7f3c1e"_s; // given as env:TST_RUN_MQTT_PASSWORD
const QString kObserverUser = u"observer"_s;
const QString kObserverPassword = u"observer-pw-0b9d"_s;
const QString kMeterPassword = u"12345678"_s; // the simulator's LLS secret, given as a literal
const QString kHttpToken = u"http-token-5e1d9a42"_s; // given as file:

// Spins the event loop (a real one: the simulator in this thread keeps answering) until
// `done` or the deadline.
template<typename Done> bool waitUntil(Done done, int timeoutMs = kWaitMs)
{
    const QDeadlineTimer deadline(timeoutMs);
    while (!done()) {
        if (deadline.hasExpired())
            return false;
        QEventLoop loop;
        QTimer::singleShot(10, &loop, &QEventLoop::quit);
        loop.exec();
    }
    return true;
}

QString pointKey(const QString &meter, qint64 ts)
{
    return meter + u'@' + QString::number(ts);
}

QString meterOfKey(const QString &key)
{
    return key.left(key.lastIndexOf(u'@'));
}

// A persistent-session subscriber to the gateway topics. It subscribes again on every
// connection and sends itself a probe after the SUBSCRIBEs: once the probe is back, the
// subscriptions are active.
class Subscriber {
public:
    Subscriber(quint16 port, const QString &clientId) : m_probeTopic("test/probe/" + clientId.toUtf8())
    {
        mqtt::ClientOptions o;
        o.host = u"127.0.0.1"_s;
        o.port = port;
        o.clientId = clientId;
        o.username = kObserverUser;
        o.password = kObserverPassword;
        o.cleanSession = false;
        o.reconnectMinMs = 50;
        o.reconnectMaxMs = 300;
        o.connectTimeoutMs = 5000;
        m_client = std::make_unique<mqtt::MqttClient>(o);
        QObject::connect(m_client.get(), &mqtt::MqttClient::connected, m_client.get(), [this] {
            m_client->subscribe(telemetryTopic(), 1);
            m_client->subscribe(connectTopic(), 1);
            m_client->subscribe(m_probeTopic, 1);
            m_client->publish(m_probeTopic, "probe", 1);
        });
        QObject::connect(m_client.get(), &mqtt::MqttClient::messageReceived, m_client.get(),
            [this](const QByteArray &topic, const QByteArray &payload) { onMessage(topic, payload); });
        m_client->connectToHost();
    }

    bool waitReady(int probes = 1)
    {
        return waitUntil([&] { return m_probes >= probes; });
    }
    int probes() const { return m_probes; }

    // (meter, ts) → how many times it arrived.
    const QHash<QString, int> &points() const { return m_points; }
    int pointsOf(const QString &meter) const { return m_perMeter.value(meter); }
    const QSet<QString> &announced() const { return m_announced; }
    const QStringList &problems() const { return m_problems; }
    QSet<QString> pointSet() const
    {
        QSet<QString> set;
        for (auto it = m_points.cbegin(); it != m_points.cend(); ++it)
            set.insert(it.key());
        return set;
    }
    int duplicates() const
    {
        int n = 0;
        for (const int count : m_points)
            n += count - 1;
        return n;
    }

private:
    static QByteArray telemetryTopic()
    {
        return QByteArray(mqtt::GatewayTelemetryTopic.data(), mqtt::GatewayTelemetryTopic.size());
    }
    static QByteArray connectTopic()
    {
        return QByteArray(mqtt::GatewayConnectTopic.data(), mqtt::GatewayConnectTopic.size());
    }

    void onMessage(const QByteArray &topic, const QByteArray &payload)
    {
        if (topic == m_probeTopic) {
            ++m_probes;
            return;
        }
        const QJsonObject object = QJsonDocument::fromJson(payload).object();
        if (topic == connectTopic()) {
            m_announced.insert(object.value(u"device"_s).toString());
            return;
        }
        if (object.isEmpty())
            m_problems << u"not a JSON object on %1: %2"_s.arg(
                QString::fromUtf8(topic), QString::fromUtf8(payload));
        // Gateway telemetry: {"<device>":[{"ts":…,"values":{…}},…],…}
        for (auto it = object.begin(); it != object.end(); ++it) {
            for (const QJsonValue &row : it.value().toArray()) {
                const QJsonObject point = row.toObject();
                if (!point.value(u"ts"_s).isDouble() || point.value(u"values"_s).toObject().isEmpty()) {
                    m_problems << u"bad row for %1: %2"_s.arg(it.key(), QString::fromUtf8(payload.left(300)));
                    continue;
                }
                const QString key = pointKey(it.key(), qint64(point.value(u"ts"_s).toDouble()));
                if (m_points[key]++ == 0)
                    ++m_perMeter[it.key()];
            }
        }
    }

    QByteArray m_probeTopic;
    int m_probes = 0;
    QHash<QString, int> m_points;
    QHash<QString, int> m_perMeter;
    QSet<QString> m_announced;
    QStringList m_problems;
    std::unique_ptr<mqtt::MqttClient> m_client; // last: destroyed first, before what its lambdas use
};

// `dlmsctl run` as a child process. Killed on destruction when a test bailed out early.
class RunProcess {
public:
    RunProcess(const QStringList &arguments, const QProcessEnvironment &environment)
        : m_finished(&m_process, &QProcess::finished)
    {
        m_process.setProcessEnvironment(environment);
        m_process.start(dlmsctlPath(), QStringList {u"run"_s} + arguments);
        m_process.closeWriteChannel();
    }
    ~RunProcess()
    {
        if (m_process.state() != QProcess::NotRunning) {
            m_process.kill();
            spinUntil(m_finished, QDeadlineTimer(5000), [] { return false; });
        }
    }
    Q_DISABLE_COPY_MOVE(RunProcess)

    bool running() const { return m_process.state() != QProcess::NotRunning; }

    // The port from "http: listening on 127.0.0.1:PORT"; 0 when the process ended or the
    // deadline passed first.
    quint16 waitHttpPort()
    {
        static const QRegularExpression listening(u"http: listening on 127\\.0\\.0\\.1:(\\d+)"_s);
        quint16 port = 0;
        waitUntil([&] {
            const auto match = listening.match(err());
            if (match.hasMatch())
                port = quint16(match.captured(1).toUInt());
            return port != 0 || !running();
        });
        return port;
    }

    // True once stderr (from `from` on) contains `text`; false when the process ended first.
    bool waitErr(const QString &text, qsizetype from = 0, int timeoutMs = kWaitMs)
    {
        return waitUntil([&] { return err().indexOf(text, from) >= 0 || !running(); }, timeoutMs)
            && err().indexOf(text, from) >= 0;
    }

    void signal(int signalNumber) { ::kill(pid_t(m_process.processId()), signalNumber); }

    // The exit code (-1 crash, -2 still running at the deadline).
    int waitExit(int timeoutMs = kWaitMs)
    {
        if (!spinUntil(m_finished, QDeadlineTimer(timeoutMs), [this] { return !running(); }))
            return -2;
        collect();
        return exitCodeOf(m_process);
    }
    int terminate()
    {
        m_process.terminate();
        return waitExit();
    }

    QString err()
    {
        collect();
        return m_err;
    }
    QString out()
    {
        collect();
        return m_out;
    }
    QByteArray describe()
    {
        collect();
        return (
            u"--- dlmsctl run stdout:\n%1\n--- stderr (end):\n%2"_s.arg(m_out.right(2000), m_err.right(6000)))
            .toUtf8();
    }

private:
    void collect()
    {
        m_out += QString::fromUtf8(m_process.readAllStandardOutput());
        m_err += QString::fromUtf8(m_process.readAllStandardError());
    }

    QProcess m_process;
    QSignalSpy m_finished;
    QString m_out;
    QString m_err;
};

// What a database holds, read after (or while) the bridge wrote it.
struct DbSnapshot {
    QString error;
    QSet<QString> readings; // distinct (meter, ts)
    QSet<QString> outbox; // (meter, ts) of the rows still waiting
    qint64 maxOutboxId = 0;
    qint64 outboxRows = 0;
    // network_metrics per meter in id order: (timestamp, requests, trouble = timeouts +
    // protocol errors + failed polls + reconnects).
    struct Metric {
        qint64 timestampMs = 0;
        qint64 requests = 0;
        qint64 trouble = 0;
    };
    std::map<QString, std::vector<Metric>> metrics;
    qint64 duplicateMetricRows = 0;

    int metricRowsOf(const QString &meter) const
    {
        const auto it = metrics.find(meter);
        return it == metrics.end() ? 0 : int(it->second.size());
    }
};

DbSnapshot readDatabase(const QString &path)
{
    DbSnapshot snapshot;
    if (!QFileInfo::exists(path)) {
        snapshot.error = u"no database at "_s + path;
        return snapshot;
    }
    auto reader = storage::Reader::open(path);
    if (!reader) {
        snapshot.error = reader.error().message;
        return snapshot;
    }
    {
        QSqlQuery q(reader->database());
        auto run = [&](const QString &sql) {
            if (!q.exec(sql))
                snapshot.error = sql + u": "_s + q.lastError().text();
            return snapshot.error.isEmpty();
        };
        if (run(u"SELECT DISTINCT meter_id, ts FROM readings"_s)) {
            while (q.next())
                snapshot.readings.insert(pointKey(q.value(0).toString(), q.value(1).toLongLong()));
        }
        if (run(u"SELECT id, meter_id, ts FROM outbox ORDER BY id"_s)) {
            while (q.next()) {
                snapshot.maxOutboxId = q.value(0).toLongLong();
                snapshot.outbox.insert(pointKey(q.value(1).toString(), q.value(2).toLongLong()));
                ++snapshot.outboxRows;
            }
        }
        if (run(u"SELECT meter_id, timestamp, dlms_requests_sent, dlms_timeouts + dlms_protocol_errors"
                " + polls_failed + dlms_reconnects FROM network_metrics ORDER BY id"_s)) {
            while (q.next()) {
                snapshot.metrics[q.value(0).toString()].push_back(
                    {q.value(1).toLongLong(), q.value(2).toLongLong(), q.value(3).toLongLong()});
            }
        }
        if (run(u"SELECT count(*) FROM (SELECT meter_id, timestamp FROM network_metrics"
                " GROUP BY meter_id, timestamp HAVING count(*) > 1)"_s)
            && q.next())
            snapshot.duplicateMetricRows = q.value(0).toLongLong();
    }
    return snapshot;
}

QString describeSet(const QSet<QString> &set, int max = 10)
{
    QStringList list(set.cbegin(), set.cend());
    list.sort();
    return u"%1 [%2%3]"_s.arg(QString::number(list.size()), list.mid(0, max).join(u", "_s),
        list.size() > max ? u", …"_s : QString());
}

struct HttpResult {
    int status = 0;
    QByteArray body;
    QJsonObject json;
    QByteArray contentType;
    QString error;
};

HttpResult httpGet(quint16 port, const QString &path, const QString &token = {})
{
    QNetworkAccessManager manager;
    manager.setProxy(QNetworkProxy::NoProxy);
    QNetworkRequest request(QUrl(u"http://127.0.0.1:%1%2"_s.arg(port).arg(path)));
    if (!token.isEmpty())
        request.setRawHeader("Authorization", "Bearer " + token.toUtf8());
    std::unique_ptr<QNetworkReply> reply(manager.get(request));
    QSignalSpy finished(reply.get(), &QNetworkReply::finished);
    HttpResult result;
    if (!spinUntil(finished, QDeadlineTimer(kWaitMs), [&] { return reply->isFinished(); })) {
        result.error = u"no answer"_s;
        return result;
    }
    result.status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
    result.body = reply->readAll();
    result.contentType = reply->header(QNetworkRequest::ContentTypeHeader).toByteArray();
    result.json = QJsonDocument::fromJson(result.body).object();
    if (reply->error() != QNetworkReply::NoError && result.status == 0)
        result.error = reply->errorString();
    return result;
}

QString writeText(const QString &path, const QByteArray &content)
{
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly))
        return {};
    file.write(content);
    return file.commit() ? path : QString();
}

QJsonObject meterEntry(const QString &id, quint16 port, const QJsonObject &extra = {})
{
    QJsonObject meter {{u"id"_s, id}, {u"name"_s, id}, {u"host"_s, u"127.0.0.1"_s}, {u"port"_s, port}};
    for (auto it = extra.begin(); it != extra.end(); ++it)
        meter.insert(it.key(), it.value());
    return meter;
}

// A bridge configuration: meters on 127.0.0.1 polled every 300 ms, quick to give up on a
// faulty one and to try again (no circuit breaker), gateway mode with a password from the
// environment, the HTTP API on a free port, one network_metrics row per second.
QJsonObject bridgeConfig(const QJsonArray &meters, quint16 brokerPort, const QString &databasePath)
{
    const QJsonObject polling {{u"interval_ms"_s, 300}, {u"timeout_ms"_s, 1000},
        {u"connect_timeout_ms"_s, 1000}, {u"retries"_s, 0},
        {u"items"_s,
            QJsonArray {u"1.0.32.7.0.255"_s, u"1.0.1.8.0.255"_s, u"1.0.14.7.0.255"_s, u"1.0.31.7.0.255"_s}},
        {u"backoff"_s, QJsonObject {{u"initial_ms"_s, 100}, {u"max_ms"_s, 400}}},
        {u"breaker"_s, QJsonObject {{u"failures"_s, 0}, {u"open_ms"_s, 1000}}}};
    const QJsonObject mqtt {{u"enabled"_s, true}, {u"mode"_s, u"gateway"_s}, {u"host"_s, u"127.0.0.1"_s},
        {u"port"_s, brokerPort}, {u"username"_s, kMqttUser}, {u"password"_s, u"env:TST_RUN_MQTT_PASSWORD"_s},
        {u"client_id"_s, u"tst-run-%1"_s.arg(QCoreApplication::applicationPid())}};
    return QJsonObject {{u"polling"_s, polling}, {u"meters"_s, meters}, {u"mqtt"_s, mqtt},
        {u"storage"_s, QJsonObject {{u"path"_s, databasePath}}},
        {u"http"_s, QJsonObject {{u"address"_s, u"127.0.0.1"_s}, {u"port"_s, 0}}},
        {u"monitor"_s, QJsonObject {{u"rollup_s"_s, 1}}}};
}

QByteArray jsonText(const QJsonObject &object)
{
    return QJsonDocument(object).toJson();
}

// The environment dlmsctl runs in: the MQTT password, XDG directories of its own, no
// inherited logging rules or journal stream.
QProcessEnvironment runEnvironment(const QTemporaryDir &dir)
{
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(u"TST_RUN_MQTT_PASSWORD"_s, kMqttPassword);
    env.insert(u"XDG_CONFIG_HOME"_s, dir.filePath(u"xdg-config"_s));
    env.insert(u"XDG_DATA_HOME"_s, dir.filePath(u"xdg-data"_s));
    env.remove(u"QT_LOGGING_RULES"_s);
    env.remove(u"JOURNAL_STREAM"_s);
    env.remove(u"TST_RUN_UNSET_SECRET"_s);
    return env;
}

// The parts every running test needs: a directory, a broker with the bridge's and the
// observer's accounts, a simulator.
struct Rig {
    explicit Rig(bool persistence = false)
        : broker([&] {
              testsupport::BrokerConfig config;
              config.users = {{kMqttUser, kMqttPassword}, {kObserverUser, kObserverPassword}};
              config.persistence = persistence;
              return config;
          }())
    {
    }

    bool start(int meters, sim::MeterSettings settings = {})
    {
        if (!dir.isValid()) {
            problem = u"no temporary directory"_s;
            return false;
        }
        if (!broker.start()) {
            problem = broker.errorString();
            return false;
        }
        simulator = startSimulator(dlms::Transport::Wrapper, std::move(settings), meters);
        if (!simulator) {
            problem = u"the simulator did not start"_s;
            return false;
        }
        env = runEnvironment(dir);
        return true;
    }

    QString databasePath() const { return dir.filePath(u"bridge.db"_s); }
    QJsonArray meters(int count, int offset = 0) const
    {
        QJsonArray list;
        for (int i = offset; i < offset + count; ++i)
            list.append(meterEntry(u"m%1"_s.arg(i + 1), simulator->port(i)));
        return list;
    }
    QJsonObject config(const QJsonArray &meterList) const
    {
        return bridgeConfig(meterList, broker.port(), databasePath());
    }
    QString writeConfig(const QJsonObject &config)
    {
        return writeText(dir.filePath(u"bridge.json"_s), jsonText(config));
    }

    QTemporaryDir dir;
    testsupport::MosquittoBroker broker;
    std::unique_ptr<sim::Simulator> simulator;
    QProcessEnvironment env;
    QString problem;
};

// The immutable flag: unlike chmod it stops root too, and descriptors already open (ext4).
// Returns why it could not be changed; empty on success.
QString setImmutable(const QString &path, bool on)
{
    const int fd = ::open(QFile::encodeName(path).constData(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return u"open: "_s + qt_error_string(errno);
    int flags = 0;
    QString error;
    if (::ioctl(fd, FS_IOC_GETFLAGS, &flags) != 0) {
        error = u"FS_IOC_GETFLAGS: "_s + qt_error_string(errno);
    } else {
        flags = on ? (flags | FS_IMMUTABLE_FL) : (flags & ~FS_IMMUTABLE_FL);
        if (::ioctl(fd, FS_IOC_SETFLAGS, &flags) != 0)
            error = u"FS_IOC_SETFLAGS: "_s + qt_error_string(errno);
    }
    ::close(fd);
    return error;
}

// A regular expression for a whole stderr made of exactly this one line.
QString exactly(const QString &line)
{
    return u"^"_s + QRegularExpression::escape(line) + u"\\n$"_s;
}

// The unit file as [section] → key → values (a key may repeat, Environment= does).
using UnitFile = QHash<QString, QMultiHash<QString, QString>>;

std::optional<UnitFile> parseUnitFile(const QString &path, QString *problem)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly | QIODevice::Text)) {
        *problem = file.errorString();
        return std::nullopt;
    }
    UnitFile unit;
    QString section;
    int lineNumber = 0;
    while (!file.atEnd()) {
        ++lineNumber;
        const QString line = QString::fromUtf8(file.readLine()).trimmed();
        if (line.isEmpty() || line.startsWith(u'#') || line.startsWith(u';'))
            continue;
        if (line.startsWith(u'[') && line.endsWith(u']')) {
            section = line.mid(1, line.size() - 2);
            unit[section];
            continue;
        }
        const qsizetype eq = line.indexOf(u'=');
        if (section.isEmpty() || eq <= 0 || line.endsWith(u'\\')) {
            *problem = u"line %1: not a key=value line in a section: %2"_s.arg(lineNumber).arg(line);
            return std::nullopt;
        }
        unit[section].insert(line.left(eq).trimmed(), line.mid(eq + 1).trimmed());
    }
    return unit;
}

} // namespace

class tst_DlmsctlRun : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void endToEnd();
    void sigtermMidRunLosesNothing();
    void brokenConfig_data();
    void brokenConfig();
    void sighupReload();
    void noSecretsInOutput();
    void logFormat_data();
    void logFormat();
    void secondSignalStopsWaiting();
    void unwritableDatabaseExitCode4();
    void serviceUnit();
};

void tst_DlmsctlRun::initTestCase()
{
    // The subscribers' own connection chatter is not what these tests are about.
    QLoggingCategory::setFilterRules(u"dlmsbridge.mqtt.info=false"_s);
}

void tst_DlmsctlRun::endToEnd()
{
    Rig rig;
    QVERIFY2(rig.start(3), qPrintable(rig.problem));
    // Meter 3 drops the connection in the middle of its first data response, every time.
    sim::FaultConfig faulty;
    faulty.dropMidFrame = true;
    rig.simulator->setFaults(2, faulty);
    Subscriber subscriber(rig.broker.port(), u"tst-run-e2e-%1"_s.arg(QCoreApplication::applicationPid()));
    QVERIFY(subscriber.waitReady());

    const QString configPath = rig.writeConfig(rig.config(rig.meters(3)));
    QVERIFY(!configPath.isEmpty());
    RunProcess run({u"--config"_s, configPath}, rig.env);
    const quint16 httpPort = run.waitHttpPort();
    QVERIFY2(httpPort != 0, run.describe().constData());

    // Enough readings, and three rollup periods written for every meter and the system.
    QElapsedTimer sinceProbe;
    sinceProbe.start();
    DbSnapshot live;
    const QStringList everyMeter {u"m1"_s, u"m2"_s, u"m3"_s, u"*"_s};
    const bool enough = waitUntil([&] {
        if (!run.running())
            return true;
        if (subscriber.pointsOf(u"m1"_s) < 10 || subscriber.pointsOf(u"m2"_s) < 10
            || sinceProbe.elapsed() < 250)
            return false;
        sinceProbe.restart();
        live = readDatabase(rig.databasePath());
        return std::all_of(everyMeter.cbegin(), everyMeter.cend(),
            [&](const QString &id) { return live.metricRowsOf(id) >= 3; });
    });
    QVERIFY2(enough && run.running(), run.describe().constData());

    // The seed's document, with its counters non-zero for a healthy meter.
    const HttpResult stats = httpGet(httpPort, u"/meters/m1/network_stats"_s);
    QVERIFY2(stats.status == 200, stats.body.constData());
    QVERIFY(stats.contentType.startsWith("application/json"));
    const QJsonObject &doc = stats.json;
    for (const QString &key : {u"meter_id"_s, u"meter_name"_s, u"timestamp"_s})
        QVERIFY2(doc.contains(key), qPrintable(key));
    QCOMPARE(doc.value(u"meter_id"_s).toString(), u"m1"_s);
    const QHash<QString, QStringList> blocks {
        {u"current"_s,
            {u"bandwidth_tx_kbps"_s, u"bandwidth_rx_kbps"_s, u"bandwidth_total_kbps"_s, u"packets_tx_ps"_s,
                u"packets_rx_ps"_s}},
        {u"application"_s,
            {u"dlms_requests_sent"_s, u"dlms_responses_recv"_s, u"dlms_avg_payload_size"_s,
                u"dlms_total_bytes_sent"_s, u"dlms_total_bytes_recv"_s, u"mqtt_messages_sent"_s,
                u"mqtt_total_bytes_sent"_s}},
        {u"averages"_s, {u"bandwidth_tx_mbps"_s, u"bandwidth_rx_mbps"_s}},
        {u"peaks"_s, {u"bandwidth_tx_mbps"_s, u"bandwidth_rx_mbps"_s}},
        {u"history"_s,
            {u"timestamp"_s, u"bandwidth_tx_mbps"_s, u"bandwidth_rx_mbps"_s, u"packets_tx_ps"_s,
                u"packets_rx_ps"_s}},
    };
    for (auto it = blocks.cbegin(); it != blocks.cend(); ++it) {
        QVERIFY2(doc.value(it.key()).isObject(), qPrintable(it.key()));
        const QJsonObject block = doc.value(it.key()).toObject();
        for (const QString &key : it.value()) {
            QVERIFY2(block.contains(key), qPrintable(it.key() + u'.' + key));
            if (it.key() == u"history"_s)
                QVERIFY2(
                    block.value(key).isArray() && !block.value(key).toArray().isEmpty(), qPrintable(key));
        }
    }
    const QJsonObject application = doc.value(u"application"_s).toObject();
    for (const QString &key : {u"dlms_requests_sent"_s, u"dlms_total_bytes_sent"_s,
             u"dlms_total_bytes_recv"_s, u"mqtt_messages_sent"_s})
        QVERIFY2(
            application.value(key).toDouble() > 0, qPrintable(key + u": "_s + QString::fromUtf8(stats.body)));

    // The faulty meter spends most of its time backing off between attempts: while it does, the
    // bridge is degraded and names it.
    static const QRegularExpression failingLine(u"^\\d+ of 3 meters failing: (.+)$"_s);
    auto failingIds = [](const HttpResult &result) {
        QStringList ids;
        for (const QJsonValue &problem : result.json.value(u"problems"_s).toArray()) {
            const auto match = failingLine.match(problem.toString());
            if (match.hasMatch())
                ids << match.captured(1).split(u", "_s);
        }
        return ids;
    };
    HttpResult health;
    QVERIFY2(waitUntil([&] {
        health = httpGet(httpPort, u"/health"_s);
        return health.status == 503 && failingIds(health).contains(u"m3"_s);
    }),
        health.body.constData());
    QCOMPARE(health.json.value(u"status"_s).toString(), u"degraded"_s);
    QCOMPARE(health.json.value(u"meters"_s).toObject().value(u"total"_s).toInt(), 3);
    QVERIFY(health.json.value(u"meters"_s).toObject().value(u"failing"_s).toInt() >= 1);
    const HttpResult meters = httpGet(httpPort, u"/meters"_s);
    QCOMPARE(meters.status, 200);
    QCOMPARE(meters.json.value(u"count"_s).toInt(), 3);
    QSet<QString> ids;
    for (const QJsonValue &meter : meters.json.value(u"meters"_s).toArray()) {
        ids.insert(meter.toObject().value(u"id"_s).toString());
        if (meter.toObject().value(u"id"_s).toString() == u"m1"_s)
            QVERIFY(meter.toObject().value(u"batches"_s).toDouble() > 0);
    }
    QCOMPARE(ids, (QSet<QString> {u"m1"_s, u"m2"_s, u"m3"_s}));

    QCOMPARE(run.terminate(), 0);
    QVERIFY2(run.err().contains(u"bridge: stopped"_s), run.describe().constData());

    const DbSnapshot db = readDatabase(rig.databasePath());
    QVERIFY2(db.error.isEmpty(), qPrintable(db.error));
    // A clean stop with the broker up publishes everything the last polls wrote.
    QVERIFY2(db.outbox.isEmpty(), qPrintable(u"left in the outbox: "_s + describeSet(db.outbox)));
    // Acknowledged by the broker, so delivered to the persistent subscriber: the same points.
    waitUntil([&] { return subscriber.pointSet().contains(db.readings); });
    const QSet<QString> received = subscriber.pointSet();
    QVERIFY2(db.readings.contains(received),
        qPrintable(u"received, never stored: "_s + describeSet(received - db.readings)));
    QVERIFY2(received.contains(db.readings),
        qPrintable(u"stored, never received: "_s + describeSet(db.readings - received)));
    QCOMPARE(received, db.readings);
    qInfo("%lld (meter, ts) stored, %lld received, %lld outbox rows left, %d duplicates",
        qint64(db.readings.size()), qint64(received.size()), db.outboxRows, subscriber.duplicates());
    QVERIFY2(subscriber.problems().isEmpty(), qPrintable(subscriber.problems().join(u'\n')));
    QVERIFY(subscriber.announced().contains(u"m1"_s) && subscriber.announced().contains(u"m2"_s));

    // The faulty meter: no readings, but its failed attempts are in its metrics rows.
    int healthyPoints = 0;
    for (const QString &key : db.readings) {
        QVERIFY2(meterOfKey(key) != u"m3"_s, qPrintable(key));
        ++healthyPoints;
    }
    QVERIFY(healthyPoints >= 20);
    qint64 m3Requests = 0;
    qint64 m3Trouble = 0;
    for (const DbSnapshot::Metric &row : db.metrics.at(u"m3"_s)) {
        m3Requests += row.requests;
        m3Trouble += row.trouble;
    }
    QVERIFY2(m3Requests > 0 && m3Trouble > 0,
        qPrintable(u"m3: %1 requests, %2 failures"_s.arg(m3Requests).arg(m3Trouble)));

    // One row per meter per period.
    for (const QString &id : everyMeter) {
        QVERIFY2(db.metricRowsOf(id) >= 3, qPrintable(id));
        const auto &rows = db.metrics.at(id);
        for (size_t i = 1; i < rows.size(); ++i)
            QVERIFY2(
                rows[i].timestampMs > rows[i - 1].timestampMs, qPrintable(u"%1 row %2"_s.arg(id).arg(i)));
    }
    QCOMPARE(db.duplicateMetricRows, qint64(0));
}

void tst_DlmsctlRun::sigtermMidRunLosesNothing()
{
    Rig rig(true);
    QVERIFY2(rig.start(3), qPrintable(rig.problem));
    Subscriber subscriber(rig.broker.port(), u"tst-run-kill-%1"_s.arg(QCoreApplication::applicationPid()));
    QVERIFY(subscriber.waitReady());
    const QString configPath = rig.writeConfig(rig.config(rig.meters(3)));
    QVERIFY(!configPath.isEmpty());

    DbSnapshot first;
    {
        RunProcess run({u"--config"_s, configPath}, rig.env);
        QVERIFY2(waitUntil([&] {
            return !run.running()
                || (subscriber.pointsOf(u"m1"_s) >= 4 && subscriber.pointsOf(u"m2"_s) >= 4
                    && subscriber.pointsOf(u"m3"_s) >= 4);
        }) && run.running(),
            run.describe().constData());
        rig.broker.kill();
        // The outbox grows while the broker is away.
        QElapsedTimer sinceProbe;
        sinceProbe.start();
        QVERIFY2(waitUntil([&] {
            if (!run.running() || sinceProbe.elapsed() < 200)
                return !run.running();
            sinceProbe.restart();
            // Acknowledged rows may still be waiting for their delete: count what never left.
            return (readDatabase(rig.databasePath()).readings - subscriber.pointSet()).size() >= 6;
        }) && run.running(),
            run.describe().constData());
        QCOMPARE(run.terminate(), 0);
        first = readDatabase(rig.databasePath());
    }
    QVERIFY2(first.error.isEmpty(), qPrintable(first.error));
    // Every batch is either at the subscriber or still in the outbox.
    QSet<QString> lost = first.readings;
    lost.subtract(first.outbox).subtract(subscriber.pointSet());
    QVERIFY2(lost.isEmpty(), qPrintable(u"neither received nor in the outbox: "_s + describeSet(lost)));
    QVERIFY2(first.outboxRows >= 6,
        qPrintable(u"%1 outbox rows, %2 readings"_s.arg(first.outboxRows).arg(first.readings.size())));

    // The broker back, the bridge again with the same configuration: the outbox drains.
    QVERIFY2(rig.broker.restart(), qPrintable(rig.broker.errorString()));
    QVERIFY(subscriber.waitReady(2));
    {
        RunProcess run({u"--config"_s, configPath}, rig.env);
        QElapsedTimer sinceProbe;
        sinceProbe.start();
        QVERIFY2(waitUntil([&] {
            if (!run.running() || sinceProbe.elapsed() < 200)
                return !run.running();
            sinceProbe.restart();
            const DbSnapshot now = readDatabase(rig.databasePath());
            // The first run's rows are gone once the smallest id left is past them.
            return now.error.isEmpty() && (now.outbox.isEmpty() || !now.outbox.intersects(first.outbox));
        }) && run.running(),
            run.describe().constData());
        QCOMPARE(run.terminate(), 0);
    }
    const DbSnapshot last = readDatabase(rig.databasePath());
    QVERIFY2(last.error.isEmpty(), qPrintable(last.error));
    QSet<QString> expected = last.readings;
    expected.subtract(last.outbox);
    QVERIFY(expected.contains(first.readings - last.outbox));
    QVERIFY2(waitUntil([&] { return subscriber.pointSet().contains(expected); }),
        qPrintable(u"missing at the subscriber: "_s + describeSet(expected - subscriber.pointSet())));
    QStringList duplicated;
    for (auto it = subscriber.points().cbegin(); it != subscriber.points().cend(); ++it) {
        if (it.value() > 1)
            duplicated << u"%1 ×%2"_s.arg(it.key()).arg(it.value());
    }
    duplicated.sort();
    qInfo("%lld (meter, ts) stored, %lld in the outbox at the first stop, %lld left at the end, %lld "
          "duplicates "
          "at the subscriber (at-least-once)%s",
        qint64(last.readings.size()), first.outboxRows, last.outboxRows, qint64(duplicated.size()),
        qPrintable(duplicated.isEmpty() ? QString() : u": "_s + duplicated.mid(0, 20).join(u", "_s)));
    QVERIFY(last.readings.contains(subscriber.pointSet()));
    QVERIFY2(subscriber.problems().isEmpty(), qPrintable(subscriber.problems().join(u'\n')));
}

void tst_DlmsctlRun::brokenConfig_data()
{
    QTest::addColumn<QByteArray>("content"); // "{dir}" stands for the test's directory
    QTest::addColumn<QStringList>("extraArguments");
    QTest::addColumn<int>("exitCode");
    QTest::addColumn<QString>("expectedErr"); // a regular expression; {path}, {dir}, {port}
    QTest::addColumn<QString>("expectedOut");

    const QJsonArray meters {meterEntry(u"m1"_s, 4059), meterEntry(u"m2"_s, 4060)};
    const QJsonObject good = bridgeConfig(meters, 1883, u"{dir}/bridge.db"_s);
    auto with = [&](const QString &section, const QString &key, const QJsonValue &value) {
        QJsonObject config = good;
        QJsonObject object = config.value(section).toObject();
        object.insert(key, value);
        config.insert(section, object);
        return jsonText(config);
    };
    auto withMeter = [&](int index, const QString &key, const QJsonValue &value) {
        QJsonObject config = good;
        QJsonArray list = config.value(u"meters"_s).toArray();
        QJsonObject meter = list.at(index).toObject();
        meter.insert(key, value);
        list.replace(index, meter);
        config.insert(u"meters"_s, list);
        return config;
    };
    QTest::newRow("invalid-json")
        << QByteArray("{\n  \"meters\": [\n    {\"id\": \"m1\" \"host\": \"127.0.0.1\"}\n  ]\n}\n")
        << QStringList() << 2
        << exactly(u"dlmsctl: {path}: invalid JSON at byte 33 (line 3, column 18): unterminated object"_s)
        << QString();
    QTest::newRow("port-out-of-range")
        << jsonText(withMeter(1, u"port"_s, 70000)) << QStringList() << 2
        << exactly(u"dlmsctl: {path}: meters[1].port: must be an integer from 1 to 65535 (got 70000)"_s)
        << QString();
    QTest::newRow("mqtt-port-wrong-type")
        << with(u"mqtt"_s, u"port"_s, u"1883"_s) << QStringList() << 2
        << exactly(
               u"dlmsctl: {path}: mqtt.port: must be an integer from 1 to 65535 (got the string '1883')"_s)
        << QString();
    QTest::newRow("unknown-mode")
        << with(u"mqtt"_s, u"mode"_s, u"pigeon"_s) << QStringList() << 2
        << exactly(u"dlmsctl: {path}: mqtt.mode: must be gateway or device or plain (got 'pigeon')"_s)
        << QString();
    QJsonObject lowAuth = withMeter(0, u"auth"_s, u"low"_s);
    QJsonArray lowMeters = lowAuth.value(u"meters"_s).toArray();
    QJsonObject lowMeter = lowMeters.at(0).toObject();
    lowMeter.insert(u"password"_s, u"env:TST_RUN_UNSET_SECRET"_s);
    lowMeters.replace(0, lowMeter);
    lowAuth.insert(u"meters"_s, lowMeters);
    QTest::newRow("missing-env-meter-password")
        << jsonText(lowAuth) << QStringList() << 2
        << exactly(
               u"dlmsctl: {path}: meters[0].password: environment variable TST_RUN_UNSET_SECRET is not set"_s)
        << QString();
    QTest::newRow("missing-env-mqtt-password")
        << with(u"mqtt"_s, u"password"_s, u"env:TST_RUN_UNSET_SECRET"_s) << QStringList() << 2
        << exactly(u"dlmsctl: {path}: mqtt.password: environment variable TST_RUN_UNSET_SECRET is not set"_s)
        << QString();
    QTest::newRow("missing-file")
        << QByteArray() << QStringList() << 2
        << exactly(u"dlmsctl: cannot read {path}: No such file or directory (create one: see "
                   "packaging/dlmsbridge.example.json)"_s)
        << QString();
    QTest::newRow("check-broken")
        << jsonText(withMeter(1, u"port"_s, 0)) << QStringList {u"--check"_s} << 2
        << exactly(u"dlmsctl: {path}: meters[1].port: must be an integer from 1 to 65535 (got 0)"_s)
        << QString();
    QJsonObject checked = good;
    checked.insert(u"http"_s, QJsonObject {{u"address"_s, u"127.0.0.1"_s}, {u"port"_s, 8123}});
    QTest::newRow("check-ok")
        << jsonText(checked) << QStringList {u"--check"_s} << 0 << u"^$"_s
        << u"{path}: ok: 2 meters, mqtt gateway 127.0.0.1:1883, http 127.0.0.1:8123, database "
           "{dir}/bridge.db\n"_s;
    QJsonObject noDatabase = good;
    noDatabase.insert(u"mqtt"_s, QJsonObject {{u"enabled"_s, false}});
    noDatabase.insert(u"storage"_s, QJsonObject {{u"path"_s, u"{dir}/a-file/bridge.db"_s}});
    QTest::newRow("database-cannot-be-created")
        << jsonText(noDatabase) << QStringList {u"--seconds"_s, u"10"_s} << 3
        << u"(^|\\n)dlmsctl: storage: .+\\n$"_s << QString();
    QJsonObject portTaken = good;
    portTaken.insert(u"mqtt"_s, QJsonObject {{u"enabled"_s, false}});
    portTaken.insert(u"http"_s, QJsonObject {{u"address"_s, u"127.0.0.1"_s}, {u"port"_s, u"{port}"_s}});
    QTest::newRow("http-port-in-use")
        << jsonText(portTaken).replace("\"{port}\"", "{port}") << QStringList {u"--seconds"_s, u"10"_s} << 3
        << u"(^|\\n)dlmsctl: http: .*127\\.0\\.0\\.1:{port}.*\\n$"_s << QString();
    QTest::newRow("seconds-not-a-number") << jsonText(good) << QStringList {u"--seconds"_s, u"soon"_s} << 2
                                          << u"^dlmsctl: .*seconds.*\\n$"_s << QString();
    // QTimer counts int milliseconds: 2147483 s is the most it can wait.
    QTest::newRow("seconds-largest")
        << jsonText(checked) << QStringList {u"--seconds"_s, u"2147483"_s, u"--check"_s} << 0 << u"^$"_s
        << u"{path}: ok: 2 meters, mqtt gateway 127.0.0.1:1883, http 127.0.0.1:8123, database "
           "{dir}/bridge.db\n"_s;
    QTest::newRow("seconds-too-large")
        << jsonText(good) << QStringList {u"--seconds"_s, u"2147484"_s} << 2
        << exactly(u"dlmsctl: --seconds must be a number from 0 to 2147483 (got '2147484')"_s) << QString();
    QTest::newRow("seconds-negative")
        << jsonText(good) << QStringList {u"--seconds"_s, u"-1"_s} << 2
        << exactly(u"dlmsctl: --seconds must be a number from 0 to 2147483 (got '-1')"_s) << QString();
    QTest::newRow("stop-timeout-zero")
        << jsonText(good) << QStringList {u"--stop-timeout"_s, u"0"_s} << 2
        << exactly(u"dlmsctl: --stop-timeout must be a number from 1 to 600 (got '0')"_s) << QString();
    QTest::newRow("stop-timeout-too-large")
        << jsonText(good) << QStringList {u"--stop-timeout"_s, u"601"_s} << 2
        << exactly(u"dlmsctl: --stop-timeout must be a number from 1 to 600 (got '601')"_s) << QString();
    QTest::newRow("unknown-option") << jsonText(good) << QStringList {u"--colour"_s} << 2
                                    << u"^dlmsctl: .*colour.*\\n$"_s << QString();
}

void tst_DlmsctlRun::brokenConfig()
{
    QFETCH(QByteArray, content);
    QFETCH(QStringList, extraArguments);
    QFETCH(int, exitCode);
    QFETCH(QString, expectedErr);
    QFETCH(QString, expectedOut);

    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    QTcpServer taken;
    QVERIFY(taken.listen(QHostAddress::LocalHost, 0));
    const QString port = QString::number(taken.serverPort());
    QVERIFY(writeText(dir.filePath(u"a-file"_s), "not a directory\n") != QString());
    const QString path = dir.filePath(u"bridge.json"_s);
    if (!content.isEmpty()) {
        content.replace("{dir}", dir.path().toUtf8()).replace("{port}", port.toUtf8());
        QVERIFY(!writeText(path, content).isEmpty());
    }
    auto fill = [&](QString text, bool pattern) {
        return text.replace(u"{path}"_s, pattern ? QRegularExpression::escape(path) : path)
            .replace(u"{dir}"_s, pattern ? QRegularExpression::escape(dir.path()) : dir.path())
            .replace(u"{port}"_s, port);
    };
    // The pattern's placeholders were escaped along with the rest: unescape them first.
    expectedErr.replace(u"\\{path\\}"_s, u"{path}"_s)
        .replace(u"\\{dir\\}"_s, u"{dir}"_s)
        .replace(u"\\{port\\}"_s, u"{port}"_s);

    QProcess process;
    process.setProcessEnvironment(runEnvironment(dir));
    QSignalSpy finished(&process, &QProcess::finished);
    process.start(dlmsctlPath(), QStringList {u"run"_s, u"--config"_s, path} + extraArguments);
    process.closeWriteChannel();
    QVERIFY(spinUntil(
        finished, QDeadlineTimer(kWaitMs), [&] { return process.state() == QProcess::NotRunning; }));
    const QString err = QString::fromUtf8(process.readAllStandardError());
    const QString out = QString::fromUtf8(process.readAllStandardOutput());
    const QString describe
        = u"exit %1\n--- stdout:\n%2--- stderr:\n%3"_s.arg(exitCodeOf(process)).arg(out, err);
    QVERIFY2(exitCodeOf(process) == exitCode, qPrintable(describe));
    const QRegularExpression errPattern(fill(expectedErr, true));
    QVERIFY2(errPattern.isValid(), qPrintable(errPattern.errorString()));
    QVERIFY2(errPattern.match(err).hasMatch(),
        qPrintable(u"expected /%1/\n%2"_s.arg(errPattern.pattern(), describe)));
    QCOMPARE(out, fill(expectedOut, false));
}

void tst_DlmsctlRun::sighupReload()
{
    Rig rig;
    // Four meters served, three configured at first.
    QVERIFY2(rig.start(4), qPrintable(rig.problem));
    // Connections and associations per simulated meter: a meter the reload leaves alone keeps
    // its connection.
    std::array<int, 4> opened {};
    std::array<int, 4> associated {};
    QObject::connect(rig.simulator.get(), &sim::Simulator::connectionOpened, rig.simulator.get(),
        [&](int meter) { ++opened.at(size_t(meter)); });
    QObject::connect(rig.simulator.get(), &sim::Simulator::associationChanged, rig.simulator.get(),
        [&](int meter, bool yes) { associated.at(size_t(meter)) += yes ? 1 : 0; });
    Subscriber subscriber(rig.broker.port(), u"tst-run-hup-%1"_s.arg(QCoreApplication::applicationPid()));
    QVERIFY(subscriber.waitReady());
    // Generous timeouts: a healthy meter that timed out on a loaded machine would reconnect.
    auto patient = [&](int meters) {
        QJsonObject config = rig.config(rig.meters(meters));
        QJsonObject polling = config.value(u"polling"_s).toObject();
        polling.insert(u"timeout_ms"_s, 10'000);
        polling.insert(u"connect_timeout_ms"_s, 10'000);
        config.insert(u"polling"_s, polling);
        return config;
    };
    const QString configPath = rig.writeConfig(patient(3));
    QVERIFY(!configPath.isEmpty());
    RunProcess run({u"--config"_s, configPath}, rig.env);
    QVERIFY2(waitUntil([&] {
        return !run.running()
            || (subscriber.pointsOf(u"m1"_s) >= 2 && subscriber.pointsOf(u"m2"_s) >= 2
                && subscriber.pointsOf(u"m3"_s) >= 2);
    }) && run.running(),
        run.describe().constData());
    QCOMPARE(subscriber.pointsOf(u"m4"_s), 0);
    const std::array<int, 4> openedBefore = opened;
    const std::array<int, 4> associatedBefore = associated;
    for (size_t i = 0; i < 3; ++i)
        QVERIFY2(openedBefore.at(i) >= 1 && associatedBefore.at(i) >= 1, qPrintable(QString::number(i)));
    QCOMPARE(openedBefore.at(3), 0);

    QVERIFY(!rig.writeConfig(patient(4)).isEmpty());
    qsizetype from = run.err().size();
    run.signal(SIGHUP);
    QVERIFY2(run.waitErr(u"bridge: reloaded: "_s, from), run.describe().constData());
    QVERIFY(run.err().indexOf(u"run: reloading "_s + configPath, from) >= 0);
    const QString reloaded
        = run.err().mid(run.err().indexOf(u"bridge: reloaded: "_s, from)).section(u'\n', 0, 0);
    QCOMPARE(reloaded, u"bridge: reloaded: meters +1 -0 ~0"_s);
    QVERIFY2(waitUntil([&] { return !run.running() || subscriber.pointsOf(u"m4"_s) >= 3; }) && run.running(),
        run.describe().constData());
    QVERIFY(subscriber.announced().contains(u"m4"_s));
    QCOMPARE(opened.at(3), 1);
    QCOMPARE(associated.at(3), 1);

    // A broken file: logged, the configuration in force kept, still publishing.
    QVERIFY(!writeText(configPath, "{ \"meters\": [ }\n").isEmpty());
    from = run.err().size();
    run.signal(SIGHUP);
    QVERIFY2(run.waitErr(u"run: reload failed: "_s, from), run.describe().constData());
    const QString failed
        = run.err().mid(run.err().indexOf(u"run: reload failed: "_s, from)).section(u'\n', 0, 0);
    QVERIFY2(failed.contains(configPath + u": invalid JSON"_s)
            && failed.endsWith(u"; keeping the configuration in force"_s),
        qPrintable(failed));
    const int m1Before = subscriber.pointsOf(u"m1"_s);
    const int m4Before = subscriber.pointsOf(u"m4"_s);
    QVERIFY2(waitUntil([&] {
        return !run.running()
            || (subscriber.pointsOf(u"m1"_s) >= m1Before + 3 && subscriber.pointsOf(u"m4"_s) >= m4Before + 3);
    }) && run.running(),
        run.describe().constData());
    // Neither reload touched the meters that were there before.
    for (size_t i = 0; i < 3; ++i) {
        QCOMPARE(opened.at(i), openedBefore.at(i));
        QCOMPARE(associated.at(i), associatedBefore.at(i));
    }
    QCOMPARE(opened.at(3), 1);
    // SIGINT stops as cleanly as SIGTERM.
    run.signal(SIGINT);
    QCOMPARE(run.waitExit(), 0);
    QVERIFY2(run.err().contains(u"bridge: stopped"_s), run.describe().constData());
}

void tst_DlmsctlRun::noSecretsInOutput()
{
    Rig rig;
    sim::MeterSettings settings;
    settings.password = kMeterPassword.toUtf8();
    settings.requireAuthentication = true;
    QVERIFY2(rig.start(2, settings), qPrintable(rig.problem));
    Subscriber subscriber(rig.broker.port(), u"tst-run-secrets-%1"_s.arg(QCoreApplication::applicationPid()));
    QVERIFY(subscriber.waitReady());
    const QString tokenFile = writeText(rig.dir.filePath(u"http-token"_s), kHttpToken.toUtf8() + '\n');
    QVERIFY(!tokenFile.isEmpty());
    QJsonArray meters;
    for (int i = 0; i < 2; ++i) {
        meters.append(meterEntry(u"m%1"_s.arg(i + 1), rig.simulator->port(i),
            {{u"auth"_s, u"low"_s}, {u"password"_s, kMeterPassword}}));
    }
    QJsonObject config = rig.config(meters);
    config.insert(u"http"_s,
        QJsonObject {
            {u"address"_s, u"127.0.0.1"_s}, {u"port"_s, 0}, {u"token"_s, QString(u"file:"_s + tokenFile)}});
    // A key named after the token: the warning about it is the one line with a secret to scrub.
    config.insert(u"x-"_s + kHttpToken, true);
    const QString configPath = rig.writeConfig(config);
    QVERIFY(!configPath.isEmpty());
    // Everything the bridge can say, debug included (none of its parts logs at debug level yet).
    QProcessEnvironment env = rig.env;
    env.insert(u"QT_LOGGING_RULES"_s, u"dlmsbridge.*.debug=true"_s);
    RunProcess run({u"--config"_s, configPath}, env);
    const quint16 httpPort = run.waitHttpPort();
    QVERIFY2(httpPort != 0, run.describe().constData());
    // Authenticated polls and publishing both work.
    QVERIFY2(waitUntil([&] {
        return !run.running() || (subscriber.pointsOf(u"m1"_s) >= 3 && subscriber.pointsOf(u"m2"_s) >= 3);
    }) && run.running(),
        run.describe().constData());

    const HttpResult anonymous = httpGet(httpPort, u"/meters"_s);
    QCOMPARE(anonymous.status, 401);
    const HttpResult wrong = httpGet(httpPort, u"/health"_s, u"not-the-token"_s);
    QCOMPARE(wrong.status, 401);
    const HttpResult allowed = httpGet(httpPort, u"/meters"_s, kHttpToken);
    QCOMPARE(allowed.status, 200);
    QCOMPARE(allowed.json.value(u"count"_s).toInt(), 2);
    const HttpResult meter = httpGet(httpPort, u"/meters/m1"_s, kHttpToken);
    QCOMPARE(meter.status, 200);
    // A signal to reload adds the reload's lines to what is checked.
    const qsizetype from = run.err().size();
    run.signal(SIGHUP);
    QVERIFY2(run.waitErr(u"bridge: reloaded: "_s, from), run.describe().constData());
    QCOMPARE(run.terminate(), 0);

    const QString output = run.out() + run.err();
    // The log sink replaces a secret it sees by "***": only the contrived warning needs that
    // (once at start, once at the reload).
    const QStringList scrubbed = output.split(u'\n').filter(u"***"_s);
    QCOMPARE(scrubbed.size(), 2);
    for (const QString &line : scrubbed) {
        QVERIFY2(line.endsWith(u" warning app: "_s + configPath + u": x-***: unknown key, ignored"_s),
            qPrintable(line));
    }
    for (const QString &secret : {kMqttPassword, kMeterPassword, kHttpToken}) {
        QVERIFY2(!output.contains(secret), qPrintable(u"a secret in the output:\n"_s + output.right(4000)));
        const QString hex = QString::fromLatin1(secret.toUtf8().toHex());
        QVERIFY2(!output.contains(hex, Qt::CaseInsensitive), "a secret in hex in the output");
        for (const HttpResult *response : {&anonymous, &wrong, &allowed, &meter})
            QVERIFY2(!response->body.contains(secret.toUtf8()), response->body.constData());
    }
}

void tst_DlmsctlRun::logFormat_data()
{
    QTest::addColumn<bool>("journalStream"); // JOURNAL_STREAM names our stderr
    QTest::addColumn<bool>("foreignStream"); // JOURNAL_STREAM set, naming something else
    QTest::newRow("terminal") << false << false;
    QTest::newRow("journal") << true << false;
    QTest::newRow("journal-variable-inherited") << false << true;
}

void tst_DlmsctlRun::logFormat()
{
    QFETCH(bool, journalStream);
    QFETCH(bool, foreignStream);
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    QJsonObject config
        = bridgeConfig(QJsonArray {meterEntry(u"m1"_s, unusedPort())}, 1883, dir.filePath(u"b.db"_s));
    config.insert(u"mqtt"_s, QJsonObject {{u"enabled"_s, false}});
    config.insert(u"http"_s, QJsonObject {{u"enabled"_s, false}});
    config.insert(u"colour"_s, u"blue"_s); // one warning
    const QString configPath = writeText(dir.filePath(u"bridge.json"_s), jsonText(config));
    QVERIFY(!configPath.isEmpty());
    // stderr to a file, whose device and inode JOURNAL_STREAM can name the way systemd does.
    const QString errPath = writeText(dir.filePath(u"stderr.txt"_s), QByteArray());
    struct stat info = {};
    QCOMPARE(::stat(QFile::encodeName(errPath).constData(), &info), 0);
    QProcessEnvironment env = runEnvironment(dir);
    if (journalStream)
        env.insert(u"JOURNAL_STREAM"_s, u"%1:%2"_s.arg(quint64(info.st_dev)).arg(quint64(info.st_ino)));
    if (foreignStream)
        env.insert(u"JOURNAL_STREAM"_s, u"%1:%2"_s.arg(quint64(info.st_dev)).arg(quint64(info.st_ino) + 1));

    QProcess process;
    process.setProcessEnvironment(env);
    process.setStandardErrorFile(errPath);
    QSignalSpy finished(&process, &QProcess::finished);
    process.start(dlmsctlPath(), {u"run"_s, u"--config"_s, configPath, u"--seconds"_s, u"1"_s});
    process.closeWriteChannel();
    QVERIFY(spinUntil(
        finished, QDeadlineTimer(kWaitMs), [&] { return process.state() == QProcess::NotRunning; }));
    QFile errFile(errPath);
    QVERIFY(errFile.open(QIODevice::ReadOnly));
    const QStringList lines = QString::fromUtf8(errFile.readAll()).split(u'\n', Qt::SkipEmptyParts);
    QVERIFY2(exitCodeOf(process) == 0, qPrintable(lines.join(u'\n')));

    const QRegularExpression plain(
        u"^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z (debug|info|warning|critical) [\\w.]+: \\S.*$"_s);
    const QRegularExpression journal(u"^<[3467]>[\\w.]+: \\S.*$"_s);
    const QRegularExpression &shape = journalStream ? journal : plain;
    QVERIFY(lines.size() >= 3);
    for (const QString &line : lines)
        QVERIFY2(shape.match(line).hasMatch(), qPrintable(line));
    auto has = [&](const QString &text) {
        return std::any_of(
            lines.cbegin(), lines.cend(), [&](const QString &line) { return line.contains(text); });
    };
    QVERIFY(has(journalStream ? u"<6>app: run: configuration "_s + configPath
                              : u" info app: run: configuration "_s + configPath));
    QVERIFY(has(journalStream ? u"<4>app: "_s + configPath + u": colour: unknown key"_s
                              : u" warning app: "_s + configPath + u": colour: unknown key"_s));
    QVERIFY(!has(u" debug "_s) && !has(u"<7>"_s)); // debug off by default
}

void tst_DlmsctlRun::secondSignalStopsWaiting()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    auto simulator = startSimulator(dlms::Transport::Wrapper);
    QVERIFY(simulator);
    // A meter that goes silent with 30 s timeouts and a 60 s --stop-timeout: releasing its
    // association keeps a clean stop waiting at least 30 s, three times the bound below.
    QJsonObject config = bridgeConfig(QJsonArray {meterEntry(u"m1"_s, simulator->port(0),
                                          {{u"timeout_ms"_s, 30'000}, {u"connect_timeout_ms"_s, 30'000}})},
        1883, dir.filePath(u"b.db"_s));
    config.insert(u"mqtt"_s, QJsonObject {{u"enabled"_s, false}});
    config.insert(u"http"_s, QJsonObject {{u"enabled"_s, false}});
    const QString configPath = writeText(dir.filePath(u"bridge.json"_s), jsonText(config));
    QVERIFY(!configPath.isEmpty());
    // --seconds at its largest: the timer must not overflow into stopping at once.
    RunProcess run({u"--config"_s, configPath, u"--stop-timeout"_s, u"60"_s, u"--seconds"_s, u"2147483"_s},
        runEnvironment(dir));
    QVERIFY2(run.waitErr(u"meter m1: associated"_s), run.describe().constData());
    QVERIFY2(waitUntil([&] {
        return !run.running() || !readDatabase(dir.filePath(u"b.db"_s)).readings.isEmpty();
    }) && run.running(),
        run.describe().constData());
    sim::FaultConfig silent;
    silent.silent = true;
    simulator->setFaults(0, silent);
    run.signal(SIGTERM);
    QVERIFY2(run.waitErr(u"bridge: stopping"_s), run.describe().constData());
    run.signal(SIGTERM);
    const int exitCode = run.waitExit(10'000);
    QVERIFY2(exitCode == 4, run.describe().constData());
    QVERIFY2(run.err().contains(u"run: interrupted again, not waiting for the meters: aborting the stop"_s),
        run.describe().constData());
    QVERIFY2(
        run.err().endsWith(u"\ndlmsctl: the bridge did not stop cleanly: a second signal aborted the stop "
                           "(associations dropped without release)\n"_s),
        run.describe().constData());
    // Aborted, not killed: the database is whole and holds what was polled.
    const DbSnapshot db = readDatabase(dir.filePath(u"b.db"_s));
    QVERIFY2(db.error.isEmpty(), qPrintable(db.error));
    QVERIFY(!db.readings.isEmpty());
}

void tst_DlmsctlRun::unwritableDatabaseExitCode4()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    auto simulator = startSimulator(dlms::Transport::Wrapper);
    QVERIFY(simulator);
    const QString databasePath = dir.filePath(u"b.db"_s);
    QJsonObject config
        = bridgeConfig(QJsonArray {meterEntry(u"m1"_s, simulator->port(0))}, 1883, databasePath);
    config.insert(u"mqtt"_s, QJsonObject {{u"enabled"_s, false}});
    config.insert(u"http"_s, QJsonObject {{u"enabled"_s, false}});
    const QString configPath = writeText(dir.filePath(u"bridge.json"_s), jsonText(config));
    QVERIFY(!configPath.isEmpty());
    RunProcess run({u"--config"_s, configPath}, runEnvironment(dir));
    QVERIFY2(waitUntil([&] { return !run.running() || !readDatabase(databasePath).readings.isEmpty(); })
            && run.running(),
        run.describe().constData());

    // The database turns read-only under the running writer (a disk remounted read-only).
    QStringList locked;
    auto unlock = qScopeGuard([&] {
        for (const QString &file : std::as_const(locked))
            setImmutable(file, false);
    });
    // Not the -shm file: SQLite maps it, and a write fault on an immutable mapping is SIGBUS.
    for (const QString &file : QStringList {databasePath, databasePath + u"-wal"_s}) {
        if (!QFileInfo::exists(file))
            continue;
        const QString error = setImmutable(file, true);
        if (!error.isEmpty())
            QSKIP(qPrintable(u"cannot set the immutable flag on "_s + file + u": "_s + error));
        locked << file;
    }
    const qsizetype from = run.err().size();
    QVERIFY2(run.waitErr(u" warning storage: "_s + databasePath, from),
        QByteArray(run.describe() + "\nexit " + QByteArray::number(run.waitExit(0))).constData());
    run.signal(SIGTERM);
    QCOMPARE(run.waitExit(), 4);
    const QStringList lines = run.err().split(u'\n', Qt::SkipEmptyParts);
    const QString last = lines.isEmpty() ? QString() : lines.constLast();
    QVERIFY2(last.startsWith(u"dlmsctl: the bridge did not stop cleanly: the database was failing ("_s)
            && last.contains(databasePath) && last.endsWith(u"): readings left unwritten were dropped"_s),
        run.describe().constData());
    QVERIFY2(run.err().contains(u"storage: not everything could be written"_s), run.describe().constData());

    // What was committed before stays readable.
    unlock.dismiss();
    for (const QString &file : std::as_const(locked))
        QCOMPARE(setImmutable(file, false), QString());
    const DbSnapshot db = readDatabase(databasePath);
    QVERIFY2(db.error.isEmpty(), qPrintable(db.error));
    QVERIFY(!db.readings.isEmpty());

    // --help documents the code.
    const CliRun help = runCli({u"run"_s, u"--help"_s});
    QCOMPARE(help.exitCode, 0);
    QVERIFY2(
        help.out.simplified().contains(u"; 4 the bridge did not stop cleanly ("_s), qPrintable(help.out));
}

void tst_DlmsctlRun::serviceUnit()
{
    const QString unitPath = QFINDTESTDATA("../../packaging/linux/dlmsbridge.service");
    QVERIFY2(!unitPath.isEmpty(), "packaging/linux/dlmsbridge.service not found");
    QString problem;
    const auto unit = parseUnitFile(unitPath, &problem);
    QVERIFY2(unit, qPrintable(problem));
    QCOMPARE(QSet<QString>(unit->keyBegin(), unit->keyEnd()),
        (QSet<QString> {u"Unit"_s, u"Service"_s, u"Install"_s}));
    const QMultiHash<QString, QString> &service = unit->value(u"Service"_s);
    const QHash<QString, QString> expected {
        {u"Type"_s, u"exec"_s},
        {u"User"_s, u"dlmsbridge"_s},
        {u"Group"_s, u"dlmsbridge"_s},
        {u"ExecReload"_s, u"/bin/kill -HUP $MAINPID"_s},
        {u"Restart"_s, u"on-failure"_s},
        {u"RestartPreventExitStatus"_s, u"2"_s},
        {u"StateDirectory"_s, u"dlmsbridge"_s},
        {u"ConfigurationDirectory"_s, u"dlmsbridge"_s},
        {u"UMask"_s, u"0077"_s},
        {u"LimitNOFILE"_s, u"65536"_s},
        {u"NoNewPrivileges"_s, u"yes"_s},
        {u"ProtectSystem"_s, u"strict"_s},
        {u"ProtectHome"_s, u"yes"_s},
        {u"PrivateTmp"_s, u"yes"_s},
        {u"PrivateDevices"_s, u"yes"_s},
        {u"ProtectKernelTunables"_s, u"yes"_s},
        {u"ProtectKernelModules"_s, u"yes"_s},
        {u"ProtectKernelLogs"_s, u"yes"_s},
        {u"ProtectControlGroups"_s, u"yes"_s},
        {u"ProtectClock"_s, u"yes"_s},
        {u"ProtectHostname"_s, u"yes"_s},
        {u"RestrictAddressFamilies"_s, u"AF_INET AF_INET6 AF_UNIX"_s},
        {u"RestrictNamespaces"_s, u"yes"_s},
        {u"RestrictRealtime"_s, u"yes"_s},
        {u"RestrictSUIDSGID"_s, u"yes"_s},
        {u"LockPersonality"_s, u"yes"_s},
        {u"SystemCallArchitectures"_s, u"native"_s},
        {u"SystemCallFilter"_s, u"@system-service"_s},
        {u"CapabilityBoundingSet"_s, QString()},
    };
    for (auto it = expected.cbegin(); it != expected.cend(); ++it) {
        QVERIFY2(service.contains(it.key()), qPrintable(it.key()));
        QCOMPARE(service.values(it.key()), QStringList {it.value()});
    }
    QVERIFY(!service.contains(u"MemoryDenyWriteExecute"_s)); // PCRE2's JIT needs W+X pages
    const QStringList environment
        = service.values(u"Environment"_s).join(u' ').split(u' ', Qt::SkipEmptyParts);
    QVERIFY(environment.contains(u"XDG_DATA_HOME=/var/lib"_s));
    QVERIFY(environment.contains(u"XDG_CONFIG_HOME=/etc"_s));
    QVERIFY(!unit->value(u"Unit"_s).value(u"Documentation"_s).isEmpty());
    QCOMPARE(unit->value(u"Install"_s).value(u"WantedBy"_s), u"multi-user.target"_s);

    // The sysusers.d line creates that user.
    QFile sysusers(QFINDTESTDATA("../../packaging/linux/dlmsbridge.sysusers"));
    QVERIFY(sysusers.open(QIODevice::ReadOnly | QIODevice::Text));
    bool userLine = false;
    while (!sysusers.atEnd()) {
        const QStringList fields = QString::fromUtf8(sysusers.readLine()).simplified().split(u' ');
        userLine |= fields.size() >= 2 && fields.at(0) == u"u"_s && fields.at(1) == u"dlmsbridge"_s;
    }
    QVERIFY(userLine);

    // ExecStart's options, accepted by the built dlmsctl: the same command on a valid file.
    const QStringList execStart = service.value(u"ExecStart"_s).split(u' ', Qt::SkipEmptyParts);
    QCOMPARE(execStart.value(0), u"/usr/bin/dlmsctl"_s);
    QCOMPARE(execStart.mid(1), (QStringList {u"run"_s, u"--config"_s, u"/etc/dlmsbridge/dlmsbridge.json"_s}));
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    QJsonObject config
        = bridgeConfig(QJsonArray {meterEntry(u"m1"_s, 4059)}, 1883, dir.filePath(u"bridge.db"_s));
    QVERIFY(QDir(dir.path()).mkpath(u"etc/dlmsbridge"_s));
    const QString configPath = writeText(dir.filePath(u"etc/dlmsbridge/dlmsbridge.json"_s), jsonText(config));
    QVERIFY(!configPath.isEmpty());
    QStringList arguments = execStart.mid(1);
    arguments.replace(2, configPath);
    QProcessEnvironment env = runEnvironment(dir);
    env.insert(u"TST_RUN_MQTT_PASSWORD"_s, kMqttPassword);
    {
        QProcess process;
        process.setProcessEnvironment(env);
        QSignalSpy finished(&process, &QProcess::finished);
        process.start(dlmsctlPath(), arguments + QStringList {u"--check"_s});
        QVERIFY(spinUntil(
            finished, QDeadlineTimer(kWaitMs), [&] { return process.state() == QProcess::NotRunning; }));
        QVERIFY2(exitCodeOf(process) == 0, process.readAllStandardError().constData());
        QVERIFY(process.readAllStandardOutput().startsWith((configPath + u": ok: "_s).toUtf8()));
    }
    // Environment= and ExecStart agree: with XDG_CONFIG_HOME=/etc the default is the same file.
    {
        env.insert(u"XDG_CONFIG_HOME"_s, dir.filePath(u"etc"_s));
        QProcess process;
        process.setProcessEnvironment(env);
        QSignalSpy finished(&process, &QProcess::finished);
        process.start(dlmsctlPath(), {u"run"_s, u"--check"_s});
        QVERIFY(spinUntil(
            finished, QDeadlineTimer(kWaitMs), [&] { return process.state() == QProcess::NotRunning; }));
        QVERIFY2(exitCodeOf(process) == 0, process.readAllStandardError().constData());
        QVERIFY(process.readAllStandardOutput().startsWith((configPath + u": ok: "_s).toUtf8()));
    }

    const QString analyze = QStandardPaths::findExecutable(u"systemd-analyze"_s);
    if (analyze.isEmpty())
        QSKIP("systemd-analyze is not installed: the unit file was checked by this test only");
    // verify checks that ExecStart's program exists: a copy pointing at the built one.
    QFile original(unitPath);
    QVERIFY(original.open(QIODevice::ReadOnly));
    const QString copy = writeText(dir.filePath(u"dlmsbridge.service"_s),
        original.readAll().replace("/usr/bin/dlmsctl", QFile::encodeName(dlmsctlPath())));
    QVERIFY(!copy.isEmpty());
    QProcess verify;
    verify.setProcessChannelMode(QProcess::MergedChannels);
    QSignalSpy finished(&verify, &QProcess::finished);
    verify.start(analyze, {u"verify"_s, copy});
    QVERIFY(
        spinUntil(finished, QDeadlineTimer(kWaitMs), [&] { return verify.state() == QProcess::NotRunning; }));
    const QString verdict = QString::fromUtf8(verify.readAll());
    QVERIFY2(exitCodeOf(verify) == 0, qPrintable(verdict));
    QVERIFY2(!verdict.contains(u"dlmsbridge.service"_s), qPrintable(verdict));
}

QTEST_GUILESS_MAIN(tst_DlmsctlRun)
#include "tst_dlmsctl_run.moc"
