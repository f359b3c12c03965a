#include "bridgeconfig.h"

#include <QtCore/QCoreApplication>
#include <QtCore/QDir>
#include <QtCore/QFile>
#include <QtCore/QFileInfo>
#include <QtCore/QJsonArray>
#include <QtCore/QJsonDocument>
#include <QtCore/QScopeGuard>
#include <QtCore/QStandardPaths>
#include <QtCore/QSysInfo>
#include <QtCore/QTemporaryDir>
#include <QtTest/QTest>

#include <sys/stat.h>

using namespace Qt::StringLiterals;
using app::BridgeConfig;

namespace {

// Secret values the tests look for in every message: none may ever contain them.
constexpr QLatin1StringView kEnvSecret {"s3cr3t-from-env"};
constexpr QLatin1StringView kFileSecret {"s3cr3t-from-file"};
constexpr QLatin1StringView kLiteralSecret {"s3cr3t-literal"};
constexpr char kSecretVar[] = "DLMSBRIDGE_TST_CFG_SECRET";
constexpr char kEmptyVar[] = "DLMSBRIDGE_TST_CFG_EMPTY";

// The variables the example file refers to.
const char *const kExampleVariables[] = {
    "TB_GATEWAY_TOKEN", "TB_PV_INVERTER_3_TOKEN", "DLMSBRIDGE_SUBSTATION2_PASSWORD", "DLMSBRIDGE_API_TOKEN"};

// Meter keys: the EK by environment variable, the AK in a file.
constexpr char kEkVar[] = "DLMSBRIDGE_TST_CFG_EK";
const QByteArray kEkHex = "000102030405060708090A0B0C0D0E0F";
const QByteArray kAkHex = "D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF";

const QByteArray kMeter = R"({ "id": "m1", "host": "192.168.1.10", "items": [ "1.0.32.7.0.255" ] })";

QJsonObject parseObject(const QByteArray &json)
{
    QJsonParseError error;
    const QJsonDocument doc = QJsonDocument::fromJson(json, &error);
    if (error.error != QJsonParseError::NoError)
        qWarning("test JSON does not parse: %s", qPrintable(error.errorString()));
    return doc.object();
}

bool writeFile(const QString &path, const QByteArray &content)
{
    QFile file(path);
    if (!file.open(QIODevice::WriteOnly | QIODevice::Truncate))
        return false;
    return file.write(content) == content.size();
}

QByteArray readFile(const QString &path)
{
    QFile file(path);
    return file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray();
}

mode_t fileMode(const QString &path)
{
    struct stat st { };
    if (::stat(QFile::encodeName(path).constData(), &st) != 0)
        return 07777;
    return st.st_mode & 07777;
}

QString exampleFile()
{
    return QFINDTESTDATA("../../packaging/dlmsbridge.example.json");
}

// Every field of two configurations, by name: empty when they are equal.
QStringList differences(const BridgeConfig &a, const BridgeConfig &b)
{
    QStringList diff;
    if (a.site.workers != b.site.workers)
        diff << u"polling.workers"_s;
    if (a.site.meters.size() != b.site.meters.size()) {
        diff << u"meters (count)"_s;
    } else {
        for (size_t i = 0; i < a.site.meters.size(); ++i)
            if (!(a.site.meters[i] == b.site.meters[i]))
                diff << u"meters[%1] (%2)"_s.arg(i).arg(a.site.meters[i].id);
    }
    if (a.publishing != b.publishing)
        diff << u"publishing"_s;
    if (!(a.mqtt == b.mqtt))
        diff << u"mqtt"_s;
    if (a.mqtt.client.username != b.mqtt.client.username || a.mqtt.client.password != b.mqtt.client.password)
        diff << u"mqtt credentials"_s;
    if (!(a.storage == b.storage))
        diff << u"storage"_s;
    if (!(a.http == b.http))
        diff << u"http"_s;
    if (!(a.monitor == b.monitor))
        diff << u"monitor"_s;
    if (!(a.commissioning == b.commissioning))
        diff << u"commissioning"_s;
    if (a.secretReferences != b.secretReferences)
        diff << u"secretReferences"_s;
    return diff;
}

QString errorText(const dlms::Result<BridgeConfig> &result)
{
    return result ? QString() : result.error().message;
}

} // namespace

class tst_BridgeConfig : public QObject {
    Q_OBJECT

private:
    QTemporaryDir m_dir;

    QString dir() const { return m_dir.path(); }

    QByteArray expand(QByteArray json) const
    {
        return json.replace("%DIR%", QFile::encodeName(dir())).replace("%METER%", kMeter);
    }

    dlms::Result<BridgeConfig> parse(const QByteArray &json, QStringList *warnings = nullptr) const
    {
        return app::parseBridgeConfig(parseObject(expand(json)), u"site.json"_s, dir(), warnings);
    }

private slots:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        qputenv(kSecretVar, QByteArray(kEnvSecret.data(), kEnvSecret.size()));
        qputenv(kEmptyVar, QByteArray());
        qunsetenv("DLMSBRIDGE_TST_CFG_UNSET");
        // Defaults under the test's own directory, never the user's home.
        qputenv("XDG_CONFIG_HOME", QFile::encodeName(dir() + u"/xdg-config"_s));
        qputenv("XDG_DATA_HOME", QFile::encodeName(dir() + u"/xdg-data"_s));
        QVERIFY(writeFile(dir() + u"/secret.txt"_s, QByteArray(kFileSecret.data()) + "\nsecond line\n"));
        QVERIFY(writeFile(dir() + u"/empty-first-line.txt"_s, "\n" + QByteArray(kFileSecret.data()) + "\n"));
        QVERIFY(writeFile(dir() + u"/ca.pem"_s, "-----BEGIN CERTIFICATE-----\n"));
        QVERIFY(writeFile(dir() + u"/client.crt"_s, "-----BEGIN CERTIFICATE-----\n"));
        QVERIFY(writeFile(dir() + u"/client.key"_s, "-----BEGIN PRIVATE KEY-----\n"));
        QVERIFY(QDir(dir()).mkdir(u"certs"_s));
        qputenv(kEkVar, kEkHex);
        QVERIFY(writeFile(dir() + u"/ak.hex"_s, kAkHex + "\n"));
    }

    void cleanupTestCase()
    {
        qunsetenv(kSecretVar);
        qunsetenv(kEmptyVar);
        qunsetenv(kEkVar);
        for (const char *name : kExampleVariables)
            qunsetenv(name);
    }

    void errors_data()
    {
        QTest::addColumn<QByteArray>("json");
        QTest::addColumn<QString>("message");
        const auto row = [](const char *name, const QByteArray &json, const QString &message) {
            QTest::newRow(name) << json << message;
        };

        // Sections of the wrong type.
        row("mqtt-not-object", R"({ "mqtt": [] })", u"site.json: mqtt: must be an object (got an array)"_s);
        row("storage-not-object", R"({ "storage": 5 })",
            u"site.json: storage: must be an object (got a number)"_s);
        row("http-not-object", R"({ "http": "on" })", u"site.json: http: must be an object (got a string)"_s);
        row("monitor-not-object", R"({ "monitor": true })",
            u"site.json: monitor: must be an object (got a boolean)"_s);
        row("polling-section-from-polling-parser", R"({ "polling": [] })",
            u"site.json: polling: must be an object (got an array)"_s);
        row("meter-port-from-polling-parser", R"({ "meters": [ { "host": "192.168.1.10", "port": 0,
            "items": [ "1.0.32.7.0.255" ] } ] })",
            u"site.json: meters[0].port: must be an integer from 1 to 65535 (got 0)"_s);

        // mqtt: types, ranges, enums.
        row("mqtt-enabled-type", R"({ "mqtt": { "enabled": "yes" } })",
            u"site.json: mqtt.enabled: must be true or false (got 'yes')"_s);
        row("mqtt-mode-unknown", R"({ "mqtt": { "mode": "thingsboard" } })",
            u"site.json: mqtt.mode: must be gateway or device or plain (got 'thingsboard')"_s);
        row("mqtt-mode-type", R"({ "mqtt": { "mode": 1 } })",
            u"site.json: mqtt.mode: must be gateway or device or plain (got 1)"_s);
        row("mqtt-host-blank", R"({ "mqtt": { "host": "  " } })",
            u"site.json: mqtt.host: must not be empty"_s);
        row("mqtt-host-type", R"({ "mqtt": { "host": 10 } })",
            u"site.json: mqtt.host: must be a string (got a number)"_s);
        row("mqtt-port-zero", R"({ "mqtt": { "port": 0 } })",
            u"site.json: mqtt.port: must be an integer from 1 to 65535 (got 0)"_s);
        row("mqtt-port-too-large", R"({ "mqtt": { "port": 65536 } })",
            u"site.json: mqtt.port: must be an integer from 1 to 65535 (got 65536)"_s);
        row("mqtt-port-string", R"({ "mqtt": { "port": "1883" } })",
            u"site.json: mqtt.port: must be an integer from 1 to 65535 (got the string '1883')"_s);
        row("mqtt-port-fraction", R"({ "mqtt": { "port": 1883.5 } })",
            u"site.json: mqtt.port: must be an integer from 1 to 65535 (got 1883.5)"_s);
        row("mqtt-protocol-unknown", R"({ "mqtt": { "protocol": "3.1" } })",
            u"site.json: mqtt.protocol: must be 3.1.1 or 5, as a string (got '3.1')"_s);
        row("mqtt-protocol-number", R"({ "mqtt": { "protocol": 5 } })",
            u"site.json: mqtt.protocol: must be 3.1.1 or 5, as a string (got 5)"_s);
        row("mqtt-client-id-empty", R"({ "mqtt": { "client_id": "" } })",
            u"site.json: mqtt.client_id: must not be empty"_s);
        row("mqtt-keepalive-low", R"({ "mqtt": { "keepalive_s": 4 } })",
            u"site.json: mqtt.keepalive_s: must be an integer from 5 to 3600 (got 4)"_s);
        row("mqtt-keepalive-high", R"({ "mqtt": { "keepalive_s": 3601 } })",
            u"site.json: mqtt.keepalive_s: must be an integer from 5 to 3600 (got 3601)"_s);
        row("mqtt-rate-negative", R"({ "mqtt": { "max_messages_per_s": -0.5 } })",
            u"site.json: mqtt.max_messages_per_s: must be a number from 0 to 1000000 (got -0.5)"_s);
        row("mqtt-inflight-zero", R"({ "mqtt": { "max_inflight": 0 } })",
            u"site.json: mqtt.max_inflight: must be an integer from 1 to 65535 (got 0)"_s);
        row("mqtt-payload-too-small", R"({ "mqtt": { "max_payload_bytes": 1023 } })",
            u"site.json: mqtt.max_payload_bytes: must be an integer from 1024 to 16777216 (got 1023)"_s);
        row("mqtt-payload-too-large", R"({ "mqtt": { "max_payload_bytes": 16777217 } })",
            u"site.json: mqtt.max_payload_bytes: must be an integer from 1024 to 16777216 (got 16777217)"_s);
        row("mqtt-device-type-empty", R"({ "mqtt": { "device_type": "" } })",
            u"site.json: mqtt.device_type: must not be empty"_s);
        row("mqtt-topic-wildcard", R"({ "mqtt": { "topic_template": "meters/+/{id}" } })",
            u"site.json: mqtt.topic_template: must not contain the wildcards + or # (got 'meters/+/{id}')"_s);

        // mqtt: cross-checks.
        row("plain-template-without-placeholder",
            R"({ "mqtt": { "mode": "plain", "topic_template": "meters/telemetry" } })",
            u"site.json: mqtt.topic_template: must contain {id} or {name} in plain mode, or every meter "
            "would publish on one topic (got 'meters/telemetry')"_s);
        row("token-and-username",
            R"({ "mqtt": { "token": "env:DLMSBRIDGE_TST_CFG_SECRET", "username": "u" } })",
            u"site.json: mqtt.username: not allowed together with \"token\" (the access token is sent as the "
            "username)"_s);
        row("token-and-password", R"({ "mqtt": { "token": "t0ken", "password": "file:%DIR%/secret.txt" } })",
            u"site.json: mqtt.password: not allowed together with \"token\" (an access token has no password)"_s);
        row("device-mode-with-gateway-token", R"({ "mqtt": { "mode": "device", "token": "t0ken" } })",
            u"site.json: mqtt.token: not used in device mode, where each meter connects with its own "
            "\"mqtt\": {\"token\": …}"_s);
        row("device-mode-with-password",
            R"({ "mqtt": { "mode": "device", "protocol": "5", "password": "pw" } })",
            u"site.json: mqtt.password: not used in device mode, where each meter connects with its own "
            "\"mqtt\": {\"token\": …}"_s);
        row("v311-password-without-username", R"({ "mqtt": { "password": "pw" } })",
            u"site.json: mqtt.password: MQTT 3.1.1 sends a password only with a \"username\" (or use "
            "protocol 5)"_s);

        // Secrets that cannot be resolved or are not strings.
        row("mqtt-token-env-unset", R"({ "mqtt": { "token": "env:DLMSBRIDGE_TST_CFG_UNSET" } })",
            u"site.json: mqtt.token: environment variable DLMSBRIDGE_TST_CFG_UNSET is not set"_s);
        row("mqtt-username-env-empty", R"({ "mqtt": { "username": "env:DLMSBRIDGE_TST_CFG_EMPTY" } })",
            u"site.json: mqtt.username: environment variable DLMSBRIDGE_TST_CFG_EMPTY is empty"_s);
        row("mqtt-password-file-missing",
            R"({ "mqtt": { "username": "u", "password": "file:%DIR%/no-such-secret" } })",
            u"site.json: mqtt.password: cannot read secret file %DIR%/no-such-secret: No such file or "
            "directory"_s);
        row("http-token-file-empty-first-line",
            R"({ "http": { "token": "file:%DIR%/empty-first-line.txt" } })",
            u"site.json: http.token: secret file %DIR%/empty-first-line.txt has an empty first line"_s);
        row("http-token-number", R"({ "http": { "token": 31415926 } })",
            u"site.json: http.token: must be a non-empty string (a literal, env:VARIABLE or file:/path)"_s);
        row("http-token-empty", R"({ "http": { "token": "" } })",
            u"site.json: http.token: must be a non-empty string (a literal, env:VARIABLE or file:/path)"_s);
        row("env-without-name", R"({ "http": { "token": "env:" } })",
            u"site.json: http.token: env: needs a variable name"_s);
        row("meter-password-env-unset", R"({ "meters": [ { "host": "192.168.1.10", "auth": "low",
            "password": "env:DLMSBRIDGE_TST_CFG_UNSET", "items": [ "1.0.32.7.0.255" ] } ] })",
            u"site.json: meters[0].password: environment variable DLMSBRIDGE_TST_CFG_UNSET is not set"_s);

        // TLS.
        row("tls-not-object", R"({ "mqtt": { "tls": true } })",
            u"site.json: mqtt.tls: must be an object (got a boolean)"_s);
        row("tls-verify-type", R"({ "mqtt": { "tls": { "verify_peer": "no" } } })",
            u"site.json: mqtt.tls.verify_peer: must be true or false (got 'no')"_s);
        row("tls-enabled-without-ca", R"({ "mqtt": { "tls": { "enabled": true } } })",
            u"site.json: mqtt.tls.ca_file: required when TLS is enabled (the CA certificates, PEM)"_s);
        row("tls-cert-without-key",
            R"({ "mqtt": { "tls": { "enabled": true, "ca_file": "ca.pem", "cert_file": "client.crt" } } })",
            u"site.json: mqtt.tls.key_file: required with \"cert_file\" (the client certificate's key)"_s);
        row("tls-key-without-cert",
            R"({ "mqtt": { "tls": { "enabled": true, "ca_file": "ca.pem", "key_file": "client.key" } } })",
            u"site.json: mqtt.tls.cert_file: required with \"key_file\""_s);
        row("tls-ca-missing", R"({ "mqtt": { "tls": { "enabled": true, "ca_file": "missing-ca.pem" } } })",
            u"site.json: mqtt.tls.ca_file: cannot read %DIR%/missing-ca.pem: it does not exist"_s);
        row("tls-cert-is-directory", R"({ "mqtt": { "tls": { "enabled": true, "ca_file": "ca.pem",
            "cert_file": "certs", "key_file": "client.key" } } })",
            u"site.json: mqtt.tls.cert_file: cannot read %DIR%/certs: it is a directory"_s);
        row("tls-key-missing-absolute", R"({ "mqtt": { "tls": { "enabled": true, "ca_file": "%DIR%/ca.pem",
            "cert_file": "client.crt", "key_file": "/nonexistent/dlmsbridge.key" } } })",
            u"site.json: mqtt.tls.key_file: cannot read /nonexistent/dlmsbridge.key: it does not exist"_s);

        // storage.
        row("storage-path-empty", R"({ "storage": { "path": "" } })",
            u"site.json: storage.path: must not be empty"_s);
        row("storage-path-type", R"({ "storage": { "path": [] } })",
            u"site.json: storage.path: must be a string (got an array)"_s);
        row("storage-retention-negative", R"({ "storage": { "readings_retention_days": -1 } })",
            u"site.json: storage.readings_retention_days: must be an integer from 0 to 36500 (got -1)"_s);
        row("storage-metrics-retention-fraction", R"({ "storage": { "metrics_retention_days": 1.5 } })",
            u"site.json: storage.metrics_retention_days: must be an integer from 0 to 36500 (got 1.5)"_s);
        row("storage-events-retention-string", R"({ "storage": { "events_retention_days": "90" } })",
            u"site.json: storage.events_retention_days: must be an integer from 0 to 36500 (got the string "
            "'90')"_s);
        row("storage-outbox-mb-too-large", R"({ "storage": { "max_outbox_mb": 1048577 } })",
            u"site.json: storage.max_outbox_mb: must be an integer from 0 to 1048576 (got 1048577)"_s);
        row("storage-outbox-age-negative", R"({ "storage": { "max_outbox_age_hours": -24 } })",
            u"site.json: storage.max_outbox_age_hours: must be an integer from 0 to 87600 (got -24)"_s);

        // http.
        row("http-enabled-type", R"({ "http": { "enabled": 1 } })",
            u"site.json: http.enabled: must be true or false (got 1)"_s);
        row("http-address-host-name", R"({ "http": { "address": "localhost" } })",
            u"site.json: http.address: must be an IP address such as 127.0.0.1 or ::1 (got 'localhost')"_s);
        row("http-address-bad-ipv4", R"({ "http": { "address": "127.0.0.256" } })",
            u"site.json: http.address: must be an IP address such as 127.0.0.1 or ::1 (got '127.0.0.256')"_s);
        row("http-port-negative", R"({ "http": { "port": -1 } })",
            u"site.json: http.port: must be an integer from 0 to 65535 (got -1)"_s);
        row("http-port-too-large", R"({ "http": { "port": 80000 } })",
            u"site.json: http.port: must be an integer from 0 to 65535 (got 80000)"_s);

        // monitor.
        row("monitor-rollup-zero", R"({ "monitor": { "rollup_s": 0 } })",
            u"site.json: monitor.rollup_s: must be an integer from 1 to 3600 (got 0)"_s);
        row("monitor-rollup-too-large", R"({ "monitor": { "rollup_s": 3601 } })",
            u"site.json: monitor.rollup_s: must be an integer from 1 to 3600 (got 3601)"_s);
        row("monitor-interface-path", R"({ "monitor": { "interface": "eth0/1" } })",
            u"site.json: monitor.interface: must be a network interface name such as eth0, or empty for "
            u"every "
            "interface (got 'eth0/1')"_s);
        row("monitor-interface-type", R"({ "monitor": { "interface": 0 } })",
            u"site.json: monitor.interface: must be a string (got a number)"_s);

        // commissioning: bounds, the clock thresholds' order, ranges.
        row("commissioning-not-object", R"({ "commissioning": [] })",
            u"site.json: commissioning: must be an object (got an array)"_s);
        row("commissioning-clock-warn-zero", R"({ "commissioning": { "clock_warn_s": 0 } })",
            u"site.json: commissioning.clock_warn_s: must be an integer from 1 to 86400 (got 0)"_s);
        row("commissioning-clock-warn-too-large", R"({ "commissioning": { "clock_warn_s": 86401 } })",
            u"site.json: commissioning.clock_warn_s: must be an integer from 1 to 86400 (got 86401)"_s);
        row("commissioning-clock-fail-below-warn",
            R"({ "commissioning": { "clock_warn_s": 30, "clock_fail_s": 29 } })",
            u"site.json: commissioning.clock_fail_s: must be at least clock_warn_s (30) (got 29)"_s);
        row("commissioning-baseline-zero", R"({ "commissioning": { "baseline_polls": 0 } })",
            u"site.json: commissioning.baseline_polls: must be an integer from 1 to 100 (got 0)"_s);
        row("commissioning-baseline-too-many", R"({ "commissioning": { "baseline_polls": 101 } })",
            u"site.json: commissioning.baseline_polls: must be an integer from 1 to 100 (got 101)"_s);
        row("commissioning-rtt-zero", R"({ "commissioning": { "rtt_warn_ms": 0 } })",
            u"site.json: commissioning.rtt_warn_ms: must be an integer from 1 to 600000 (got 0)"_s);
        row("commissioning-rtt-too-large", R"({ "commissioning": { "rtt_warn_ms": 600001 } })",
            u"site.json: commissioning.rtt_warn_ms: must be an integer from 1 to 600000 (got 600001)"_s);
        row("commissioning-parallel-zero", R"({ "commissioning": { "parallel_meters": 0 } })",
            u"site.json: commissioning.parallel_meters: must be an integer from 1 to 64 (got 0)"_s);
        row("commissioning-parallel-too-many", R"({ "commissioning": { "parallel_meters": 65 } })",
            u"site.json: commissioning.parallel_meters: must be an integer from 1 to 64 (got 65)"_s);
        row("commissioning-parallel-string", R"({ "commissioning": { "parallel_meters": "8" } })",
            u"site.json: commissioning.parallel_meters: must be an integer from 1 to 64 (got the string '8')"_s);
        row("commissioning-ranges-not-array", R"({ "commissioning": { "ranges": {} } })",
            u"site.json: commissioning.ranges: must be an array (got an object)"_s);
        row("commissioning-range-not-object", R"({ "commissioning": { "ranges": [ 1 ] } })",
            u"site.json: commissioning.ranges[0]: must be an object (got a number)"_s);
        row("commissioning-range-match-missing",
            R"({ "commissioning": { "ranges": [ { "min": 1, "max": 2 } ] } })",
            u"site.json: commissioning.ranges[0].match: required (a telemetry key or an OBIS code)"_s);
        row("commissioning-range-match-five-groups",
            R"({ "commissioning": { "ranges": [ { "match": "1.0.32.7.0", "min": 1, "max": 2 } ] } })",
            u"site.json: commissioning.ranges[0].match: must be a telemetry key or an OBIS code whose groups "
            "may be * such as 1.0.*.7.0.255 (got '1.0.32.7.0')"_s);
        row("commissioning-range-match-group-too-large",
            R"({ "commissioning": { "ranges": [ { "match": "1.0.*.7.0.256", "min": 1, "max": 2 } ] } })",
            u"site.json: commissioning.ranges[0].match: must be a telemetry key or an OBIS code whose groups "
            "may be * such as 1.0.*.7.0.255 (got '1.0.*.7.0.256')"_s);
        row("commissioning-range-min-missing",
            R"({ "commissioning": { "ranges": [ { "match": "v", "max": 2 } ] } })",
            u"site.json: commissioning.ranges[0].min: required (the lowest value that passes)"_s);
        row("commissioning-range-max-missing",
            R"({ "commissioning": { "ranges": [ { "match": "v", "min": 2 } ] } })",
            u"site.json: commissioning.ranges[0].max: required (the highest value that passes)"_s);
        row("commissioning-range-min-above-max",
            R"({ "commissioning": { "ranges": [ { "match": "v", "min": 3, "max": 2 } ] } })",
            u"site.json: commissioning.ranges[0].max: must be at least min (3) (got 2)"_s);
        row("commissioning-range-warn-min-above-min", R"({ "commissioning": { "ranges": [
            { "match": "v", "min": 1, "max": 2 }, { "match": "w", "min": 1, "max": 2, "warn_min": 1.5 } ] } })",
            u"site.json: commissioning.ranges[1].warn_min: must be at most min (1) (got 1.5)"_s);
        row("commissioning-range-warn-max-below-max",
            R"({ "commissioning": { "ranges": [ { "match": "v", "min": 1, "max": 2, "warn_max": 1.9 } ] } })",
            u"site.json: commissioning.ranges[0].warn_max: must be at least max (2) (got 1.9)"_s);
        row("commissioning-range-min-string",
            R"({ "commissioning": { "ranges": [ { "match": "v", "min": "1", "max": 2 } ] } })",
            u"site.json: commissioning.ranges[0].min: must be a number from -1.7976931348623157e+308 to "
            "1.7976931348623157e+308 (got the string '1')"_s);
        row("commissioning-range-absolute-type",
            R"({ "commissioning": { "ranges": [ { "match": "v", "min": 1, "max": 2, "absolute": 1 } ] } })",
            u"site.json: commissioning.ranges[0].absolute: must be true or false (got 1)"_s);

        // A meter's "mqtt" object.
        row("meter-mqtt-not-object", R"({ "meters": [ { "id": "m1", "host": "192.168.1.10", "mqtt": "tok",
            "items": [ "1.0.32.7.0.255" ] } ] })",
            u"site.json: meters[0].mqtt: must be an object (got a string)"_s);
        row("meter-mqtt-token-env-unset", R"({ "meters": [ %METER%, { "id": "m2", "host": "192.168.1.11",
            "mqtt": { "token": "env:DLMSBRIDGE_TST_CFG_UNSET" }, "items": [ "1.0.32.7.0.255" ] } ] })",
            u"site.json: meters[1].mqtt.token: environment variable DLMSBRIDGE_TST_CFG_UNSET is not set"_s);
        row("meter-mqtt-token-type", R"({ "meters": [ { "id": "m1", "host": "192.168.1.10",
            "mqtt": { "token": true }, "items": [ "1.0.32.7.0.255" ] } ] })",
            u"site.json: meters[0].mqtt.token: must be a non-empty string (a literal, env:VARIABLE or "
            "file:/path)"_s);
        row("meter-mqtt-device-type-empty", R"({ "meters": [ { "id": "m1", "host": "192.168.1.10",
            "mqtt": { "device_type": " " }, "items": [ "1.0.32.7.0.255" ] } ] })",
            u"site.json: meters[0].mqtt.device_type: must not be empty"_s);
        row("meter-mqtt-attributes-array", R"({ "meters": [ { "id": "m1", "host": "192.168.1.10",
            "mqtt": { "attributes": [ "north" ] }, "items": [ "1.0.32.7.0.255" ] } ] })",
            u"site.json: meters[0].mqtt.attributes: must be an object (got an array)"_s);
        row("meter-mqtt-attribute-not-scalar", R"({ "meters": [ { "id": "m1", "host": "192.168.1.10",
            "mqtt": { "attributes": { "location": { "lat": 1 } } }, "items": [ "1.0.32.7.0.255" ] } ] })",
            u"site.json: meters[0].mqtt.attributes.location: must be a string, number or boolean (got an "
            "object)"_s);
    }

    void errors()
    {
        QFETCH(QByteArray, json);
        QFETCH(QString, message);
        QStringList warnings;
        const auto config = parse(json, &warnings);
        QVERIFY(!config);
        QCOMPARE(config.error().code, dlms::ErrorCode::InvalidArgument);
        QCOMPARE(config.error().message, QString(message).replace(u"%DIR%"_s, dir()));
        const QStringList texts = QStringList(warnings) << config.error().message;
        for (const QString &text : texts) {
            QVERIFY(!text.contains(kEnvSecret));
            QVERIFY(!text.contains(kFileSecret));
            QVERIFY(!text.contains(u"31415926"_s));
            QVERIFY(!text.contains(u"t0ken"_s));
        }
    }

    void warnings_data()
    {
        QTest::addColumn<QByteArray>("json");
        QTest::addColumn<QStringList>("expected");
        QTest::newRow("top-level") << QByteArray(R"({ "mqqt": { "host": "x" }, "meters": [] })")
                                   << QStringList {u"site.json: mqqt: unknown key, ignored"_s};
        QTest::newRow("mqtt") << QByteArray(R"({ "mqtt": { "colour": "blue" } })")
                              << QStringList {u"site.json: mqtt.colour: unknown key, ignored"_s};
        QTest::newRow("mqtt-tls") << QByteArray(R"({ "mqtt": { "tls": { "ca": "ca.pem" } } })")
                                  << QStringList {u"site.json: mqtt.tls.ca: unknown key, ignored"_s};
        QTest::newRow("storage") << QByteArray(R"({ "storage": { "retention_days": 3 } })")
                                 << QStringList {
                                        u"site.json: storage.retention_days: unknown key, ignored"_s};
        QTest::newRow("http") << QByteArray(R"({ "http": { "bind": "0.0.0.0" } })")
                              << QStringList {u"site.json: http.bind: unknown key, ignored"_s};
        QTest::newRow("monitor") << QByteArray(R"({ "monitor": { "iface": "eth1" } })")
                                 << QStringList {u"site.json: monitor.iface: unknown key, ignored"_s};
        QTest::newRow("commissioning")
            << QByteArray(R"({ "commissioning": { "clock_warn": 5,
            "ranges": [ { "match": "v", "min": 1, "max": 2, "colour": "red" } ] } })")
            << QStringList {u"site.json: commissioning.clock_warn: unknown key, ignored"_s,
                   u"site.json: commissioning.ranges[0].colour: unknown key, ignored"_s};
        QTest::newRow("meter") << QByteArray(R"({ "meters": [ { "id": "m1", "host": "192.168.1.10",
            "colour": "red", "items": [ "1.0.32.7.0.255" ] } ] })")
                               << QStringList {u"site.json: meters[0].colour: unknown key, ignored"_s};
        QTest::newRow("meter-mqtt") << QByteArray(
            R"({ "meters": [ %METER%, { "id": "m2", "host": "192.168.1.11",
            "mqtt": { "device": "x" }, "items": [ "1.0.32.7.0.255" ] } ] })")
                                    << QStringList {
                                           u"site.json: meters[1].mqtt.device: unknown key, ignored"_s};
        QTest::newRow("polling-mqtt")
            << QByteArray(R"({ "polling": { "mqtt": { "token": "t" } } })")
            << QStringList {u"site.json: polling.mqtt: only valid in a meter, ignored"_s};
        QTest::newRow("device-mode-meter-without-token")
            << QByteArray(R"({ "mqtt": { "mode": "device" }, "meters": [ %METER%,
                { "id": "m2", "host": "192.168.1.11", "items": [ "1.0.32.7.0.255" ],
                  "mqtt": { "token": "env:DLMSBRIDGE_TST_CFG_SECRET" } },
                { "id": "m3", "host": "192.168.1.12", "items": [ "1.0.32.7.0.255" ],
                  "mqtt": { "device_type": "no token" } } ] })")
            << QStringList {
                   u"site.json: meters[0].mqtt.token: missing: Device mode publishes nothing for this meter"_s,
                   u"site.json: meters[2].mqtt.token: missing: Device mode publishes nothing for this meter"_s};
        QTest::newRow("device-mode-mqtt-disabled")
            << QByteArray(R"({ "mqtt": { "enabled": false, "mode": "device" }, "meters": [ %METER% ] })")
            << QStringList {};
        QTest::newRow("gateway-mode-meter-without-token")
            << QByteArray(R"({ "mqtt": { "mode": "gateway" }, "meters": [ %METER% ] })") << QStringList {};
        QTest::newRow("null-means-default")
            << QByteArray(R"({ "mqtt": { "username": null, "client_id": null, "tls": { "ca_file": null } },
                "storage": { "path": null }, "http": { "token": null }, "monitor": { "interface": null } })")
            << QStringList {};
        QTest::newRow("every-level-in-order")
            << QByteArray(R"({ "zz": 1, "aa": 2, "mqtt": { "x": 1, "tls": { "y": 2 } }, "storage": { "s": 1 },
                "http": { "h": 1 }, "monitor": { "m": 1 },
                "meters": [ { "id": "m1", "host": "192.168.1.10", "q": 1, "items": [ "1.0.32.7.0.255" ],
                              "mqtt": { "z": 1 } } ] })")
            << QStringList {u"site.json: aa: unknown key, ignored"_s,
                   u"site.json: zz: unknown key, ignored"_s,
                   u"site.json: meters[0].q: unknown key, ignored"_s,
                   u"site.json: mqtt.tls.y: unknown key, ignored"_s,
                   u"site.json: mqtt.x: unknown key, ignored"_s,
                   u"site.json: storage.s: unknown key, ignored"_s,
                   u"site.json: http.h: unknown key, ignored"_s,
                   u"site.json: monitor.m: unknown key, ignored"_s,
                   u"site.json: meters[0].mqtt.z: unknown key, ignored"_s};
    }

    void warnings()
    {
        QFETCH(QByteArray, json);
        QFETCH(QStringList, expected);
        QStringList warnings;
        const auto config = parse(json, &warnings);
        QVERIFY2(config, qPrintable(errorText(config)));
        QCOMPARE(warnings, expected);
        // Warnings are optional: parsing without a list gives the same configuration.
        const auto quiet = parse(json);
        QVERIFY(quiet);
        QCOMPARE(differences(*config, *quiet), QStringList());
    }

    void defaultsWhenSectionsAreAbsent_data()
    {
        QTest::addColumn<QByteArray>("json");
        QTest::newRow("empty-document") << QByteArray("{}");
        QTest::newRow("empty-sections") << QByteArray(
            R"({ "polling": {}, "meters": [], "mqtt": {}, "storage": {}, "http": {}, "monitor": {} })");
        QTest::newRow("null-sections") << QByteArray(
            R"({ "polling": null, "meters": null, "mqtt": null, "storage": null, "http": null, "monitor": null })");
    }

    void defaultsWhenSectionsAreAbsent()
    {
        QFETCH(QByteArray, json);
        QStringList warnings;
        const auto config = parse(json, &warnings);
        QVERIFY2(config, qPrintable(errorText(config)));
        QVERIFY2(warnings.isEmpty(), qPrintable(warnings.join(u'\n')));
        QCOMPARE(config->site.workers, 0);
        QVERIFY(config->site.meters.empty());
        QVERIFY(config->publishing.isEmpty());
        QVERIFY(config->secretReferences.isEmpty());

        const app::MqttSettings &m = config->mqtt;
        QVERIFY(m.enabled);
        QCOMPARE(m.format.mode, mqtt::Mode::Gateway);
        QCOMPARE(m.format.topicTemplate, u"meters/{name}/telemetry"_s);
        QCOMPARE(m.format.maxPayloadBytes, qsizetype(65536));
        QCOMPARE(m.format.deviceType, u"DLMS meter"_s);
        QCOMPARE(m.client.host, u"127.0.0.1"_s);
        QCOMPARE(m.client.port, quint16(1883));
        QCOMPARE(m.client.version, mqtt::ProtocolVersion::V311);
        QCOMPARE(m.client.clientId, u"dlmsbridge-"_s + QSysInfo::machineHostName());
        QVERIFY(m.client.username.isEmpty());
        QVERIFY(m.client.password.isEmpty());
        QVERIFY(!m.client.tls.enabled);
        QVERIFY(m.client.tls.verifyPeer);
        QCOMPARE(m.client.keepAliveS, 30);
        QCOMPARE(m.maxMessagesPerSecond, 100.0);
        QCOMPARE(m.maxInflightMessages, 256);

        QCOMPARE(config->storage.path, app::defaultDatabasePath());
        QCOMPARE(config->storage.path, dir() + u"/xdg-data/dlmsbridge/dlmsbridge.db"_s);
        QCOMPARE(config->storage.readingsRetentionDays, 90);
        QCOMPARE(config->storage.metricsRetentionDays, 400);
        QCOMPARE(config->storage.eventsRetentionDays, 90);
        QCOMPARE(config->storage.maxOutboxBytes, 512LL * 1024 * 1024);
        QCOMPARE(config->storage.maxOutboxAgeHours, 168);

        QVERIFY(config->http.enabled);
        QCOMPARE(config->http.address, u"127.0.0.1"_s);
        QCOMPARE(config->http.port, quint16(8000));
        QVERIFY(config->http.token.isEmpty());

        QVERIFY(config->monitor.interfaceName.isEmpty());
        QCOMPARE(config->monitor.rollupSeconds, 60);
    }

    void valuesAreApplied()
    {
        const auto config = parse(R"({
            "mqtt": { "enabled": false, "mode": "plain", "host": "::1", "port": 8883, "protocol": "5",
                      "client_id": "bridge-7", "username": "env:DLMSBRIDGE_TST_CFG_SECRET",
                      "password": "pw-literal", "keepalive_s": 3600, "max_messages_per_s": 0,
                      "max_inflight": 65535, "topic_template": "site/{id}/t", "max_payload_bytes": 16777216,
                      "device_type": "Meter",
                      "tls": { "enabled": true, "ca_file": "ca.pem", "cert_file": "client.crt",
                               "key_file": "%DIR%/client.key", "verify_peer": false } },
            "storage": { "path": "db/bridge.db", "readings_retention_days": 0, "metrics_retention_days": 36500,
                         "events_retention_days": 1, "max_outbox_mb": 0, "max_outbox_age_hours": 0 },
            "http": { "enabled": false, "address": "::1", "port": 0, "token": "file:%DIR%/secret.txt" },
            "monitor": { "interface": "", "rollup_s": 1 }
        })");
        QVERIFY2(config, qPrintable(errorText(config)));
        const app::MqttSettings &m = config->mqtt;
        QVERIFY(!m.enabled);
        QCOMPARE(m.format.mode, mqtt::Mode::Plain);
        QCOMPARE(m.client.host, u"::1"_s);
        QCOMPARE(m.client.port, quint16(8883));
        QCOMPARE(m.client.version, mqtt::ProtocolVersion::V5);
        QCOMPARE(m.client.clientId, u"bridge-7"_s);
        QCOMPARE(m.client.username, QString(kEnvSecret));
        QCOMPARE(m.client.password, u"pw-literal"_s);
        QCOMPARE(m.client.keepAliveS, 3600);
        QCOMPARE(m.maxMessagesPerSecond, 0.0);
        QCOMPARE(m.maxInflightMessages, 65535);
        QCOMPARE(m.format.topicTemplate, u"site/{id}/t"_s);
        QCOMPARE(m.format.maxPayloadBytes, qsizetype(16 * 1024 * 1024));
        QCOMPARE(m.format.deviceType, u"Meter"_s);
        QVERIFY(m.client.tls.enabled);
        QVERIFY(!m.client.tls.verifyPeer);
        QCOMPARE(m.client.tls.caFile, dir() + u"/ca.pem"_s);
        QCOMPARE(m.client.tls.certFile, dir() + u"/client.crt"_s);
        QCOMPARE(m.client.tls.keyFile, dir() + u"/client.key"_s);

        QCOMPARE(config->storage.path, dir() + u"/db/bridge.db"_s);
        QCOMPARE(config->storage.readingsRetentionDays, 0);
        QCOMPARE(config->storage.metricsRetentionDays, 36500);
        QCOMPARE(config->storage.eventsRetentionDays, 1);
        QCOMPARE(config->storage.maxOutboxBytes, qint64(0));
        QCOMPARE(config->storage.maxOutboxAgeHours, 0);

        QVERIFY(!config->http.enabled);
        QCOMPARE(config->http.address, u"::1"_s);
        QCOMPARE(config->http.port, quint16(0));
        QCOMPARE(config->http.token, QByteArray(kFileSecret.data()));
        QCOMPARE(config->monitor.rollupSeconds, 1);
        QVERIFY(config->monitor.interfaceName.isEmpty());
    }

    void commissioningSection()
    {
        const auto config = parse(R"({ "commissioning": { "clock_warn_s": 5, "clock_fail_s": 5,
            "baseline_polls": 100, "rtt_warn_ms": 600000, "parallel_meters": 64, "ranges": [
                { "match": "voltage_l1", "label": "voltage", "min": 220, "max": 240, "warn_min": 210,
                  "warn_max": 250 },
                { "match": "1.0.*.7.0.255", "min": -1, "max": 1, "absolute": true } ] } })");
        QVERIFY2(config, qPrintable(errorText(config)));
        const app::CommissioningSettings &c = config->commissioning;
        QCOMPARE(c.clockWarnSeconds, 5);
        QCOMPARE(c.clockFailSeconds, 5);
        QCOMPARE(c.baselinePolls, 100);
        QCOMPARE(c.rttWarnMs, 600000);
        QCOMPARE(c.parallelMeters, 64);
        QCOMPARE(c.ranges.size(), size_t(2));
        QCOMPARE(
            c.ranges[0], (app::PlausibilityRange {u"voltage_l1"_s, u"voltage"_s, 220, 240, 210, 250, false}));
        // warn_min / warn_max default to min / max.
        QCOMPARE(c.ranges[1], (app::PlausibilityRange {u"1.0.*.7.0.255"_s, QString(), -1, 1, -1, 1, true}));

        // clock_warn_s alone above the default fail threshold: the fail threshold follows it.
        const auto warnOnly = parse(R"({ "commissioning": { "clock_warn_s": 120 } })");
        QVERIFY2(warnOnly, qPrintable(errorText(warnOnly)));
        QCOMPARE(warnOnly->commissioning.clockFailSeconds, 120);

        // Defaults are not written back; changed settings are, and read back the same.
        const auto defaults = parse("{}");
        QVERIFY(defaults);
        QVERIFY(!app::bridgeConfigToJson(*defaults, false).contains(u"commissioning"_s));
        const QJsonObject written = app::bridgeConfigToJson(*config, false);
        QVERIFY(written.contains(u"commissioning"_s));
        const auto again = app::parseBridgeConfig(written, u"again.json"_s, dir());
        QVERIFY2(again, qPrintable(errorText(again)));
        QCOMPARE(again->commissioning, c);
    }

    void relativePaths_data()
    {
        QTest::addColumn<QString>("base");
        QTest::addColumn<QString>("path");
        QTest::addColumn<QString>("expected");
        QTest::newRow("relative") << u"/srv/dlms"_s << u"data/bridge.db"_s << u"/srv/dlms/data/bridge.db"_s;
        QTest::newRow("dot-dot") << u"/srv/dlms/conf"_s << u"../db/./bridge.db"_s
                                 << u"/srv/dlms/db/bridge.db"_s;
        QTest::newRow("absolute-unchanged") << u"/srv/dlms"_s << u"/var/lib/x.db"_s << u"/var/lib/x.db"_s;
        QTest::newRow("no-base-is-current-directory")
            << QString() << u"bridge.db"_s << QDir::current().absoluteFilePath(u"bridge.db"_s);
    }

    void relativePaths()
    {
        QFETCH(QString, base);
        QFETCH(QString, path);
        QFETCH(QString, expected);
        const QJsonObject root {{u"storage"_s, QJsonObject {{u"path"_s, path}}}};
        const auto config = app::parseBridgeConfig(root, u"site.json"_s, base);
        QVERIFY2(config, qPrintable(errorText(config)));
        QCOMPARE(config->storage.path, expected);
        QVERIFY(QFileInfo(config->storage.path).isAbsolute());
    }

    void loadResolvesAgainstTheFilesDirectory()
    {
        const QString sub = dir() + u"/etc-dlmsbridge"_s;
        QVERIFY(QDir().mkpath(sub + u"/tls"_s));
        QVERIFY(writeFile(sub + u"/tls/ca.pem"_s, "-----BEGIN CERTIFICATE-----\n"));
        const QString path = sub + u"/bridge.json"_s;
        // Relative file: secrets too (a service's working directory is /, not the file's).
        QVERIFY(QDir().mkpath(sub + u"/secrets"_s));
        QVERIFY(writeFile(sub + u"/secrets/api-token"_s, "relative-api-token\n"));
        QVERIFY(writeFile(sub + u"/secrets/meter-password"_s, "relative-meter-pw\n"));
        QVERIFY(writeFile(path, R"({ "storage": { "path": "state/bridge.db" },
            "mqtt": { "tls": { "enabled": true, "ca_file": "tls/ca.pem" } },
            "http": { "token": "file:secrets/api-token" },
            "meters": [ { "id": "m1", "host": "127.0.0.1", "auth": "low",
                          "password": "file:secrets/meter-password", "items": [ "1.0.32.7.0.255" ] } ] })"));
        QStringList warnings;
        const auto config = app::loadBridgeConfig(path, &warnings);
        QVERIFY2(config, qPrintable(errorText(config)));
        QVERIFY(warnings.isEmpty());
        QCOMPARE(config->fileName, path);
        QCOMPARE(config->storage.path, sub + u"/state/bridge.db"_s);
        QCOMPARE(config->mqtt.client.tls.caFile, sub + u"/tls/ca.pem"_s);
        QCOMPARE(config->http.token, QByteArray("relative-api-token"));
        QCOMPARE(config->site.meters.at(0).password, QByteArray("relative-meter-pw"));
        QCOMPARE(config->secretReferences.value(u"http.token"_s), u"file:secrets/api-token"_s);
        // The polling parser alone resolves them against the file's directory as well.
        const auto site = polling::loadSiteConfig(path);
        QVERIFY2(site, qPrintable(site ? QString() : site.error().message));
        QCOMPARE(site->meters.at(0).password, QByteArray("relative-meter-pw"));

        // The file's errors name the file as given.
        const QString broken = sub + u"/broken.json"_s;
        QVERIFY(writeFile(broken, R"({ "http": { "port": 70000 } })"));
        const auto failed = app::loadBridgeConfig(broken);
        QVERIFY(!failed);
        QCOMPARE(failed.error().message,
            broken + u": http.port: must be an integer from 0 to 65535 (got 70000)"_s);
        QVERIFY(writeFile(broken, "{ \"http\": "));
        const auto syntax = app::loadBridgeConfig(broken);
        QVERIFY(!syntax);
        QVERIFY2(syntax.error().message.startsWith(broken + u": invalid JSON at byte"_s),
            qPrintable(syntax.error().message));
        QVERIFY(!app::loadBridgeConfig(sub + u"/missing.json"_s));
    }

    void secrets_data()
    {
        QTest::addColumn<QByteArray>("json");
        QTest::addColumn<QString>("name"); // the secretReferences key
        QTest::addColumn<QString>("reference"); // empty: a literal, not kept
        QTest::addColumn<QByteArray>("value");
        const QByteArray env(kEnvSecret.data());
        const QByteArray file(kFileSecret.data());
        const QByteArray literal(kLiteralSecret.data());
        const QString envRef = u"env:DLMSBRIDGE_TST_CFG_SECRET"_s;
        const QString fileRef = u"file:%DIR%/secret.txt"_s;

        QTest::newRow("mqtt-token-env")
            << QByteArray(R"({ "mqtt": { "token": "env:DLMSBRIDGE_TST_CFG_SECRET" } })") << u"mqtt.token"_s
            << envRef << env;
        QTest::newRow("mqtt-token-file") << QByteArray(R"({ "mqtt": { "token": "file:%DIR%/secret.txt" } })")
                                         << u"mqtt.token"_s << fileRef << file;
        QTest::newRow("mqtt-token-literal") << QByteArray(R"({ "mqtt": { "token": "s3cr3t-literal" } })")
                                            << u"mqtt.token"_s << QString() << literal;
        QTest::newRow("mqtt-username-env")
            << QByteArray(R"({ "mqtt": { "username": "env:DLMSBRIDGE_TST_CFG_SECRET" } })")
            << u"mqtt.username"_s << envRef << env;
        QTest::newRow("mqtt-password-file")
            << QByteArray(R"({ "mqtt": { "username": "u", "password": "file:%DIR%/secret.txt" } })")
            << u"mqtt.password"_s << fileRef << file;
        QTest::newRow("mqtt-password-literal-v5")
            << QByteArray(R"({ "mqtt": { "protocol": "5", "password": "s3cr3t-literal" } })")
            << u"mqtt.password"_s << QString() << literal;
        QTest::newRow("http-token-env")
            << QByteArray(R"({ "http": { "token": "env:DLMSBRIDGE_TST_CFG_SECRET" } })") << u"http.token"_s
            << envRef << env;
        QTest::newRow("http-token-file") << QByteArray(R"({ "http": { "token": "file:%DIR%/secret.txt" } })")
                                         << u"http.token"_s << fileRef << file;
        QTest::newRow("meter-password-env")
            << QByteArray(R"({ "meters": [ { "id": "m1", "host": "192.168.1.10", "auth": "low",
                "password": "env:DLMSBRIDGE_TST_CFG_SECRET", "items": [ "1.0.32.7.0.255" ] } ] })")
            << u"meters/m1/password"_s << envRef << env;
        QTest::newRow("meter-password-from-polling-default")
            << QByteArray(R"({ "polling": { "auth": "low", "password": "file:%DIR%/secret.txt" },
                "meters": [ %METER% ] })")
            << u"meters/m1/password"_s << fileRef << file;
        QTest::newRow("meter-password-literal")
            << QByteArray(R"({ "meters": [ { "id": "m1", "host": "192.168.1.10", "auth": "low",
                "password": "s3cr3t-literal", "items": [ "1.0.32.7.0.255" ] } ] })")
            << u"meters/m1/password"_s << QString() << literal;
        QTest::newRow("meter-token-env") << QByteArray(
            R"({ "meters": [ { "id": "m1", "host": "192.168.1.10", "items": [ "1.0.32.7.0.255" ],
                "mqtt": { "token": "env:DLMSBRIDGE_TST_CFG_SECRET" } } ] })")
                                         << u"meters/m1/mqtt.token"_s << envRef << env;
        QTest::newRow("meter-token-file-device-mode")
            << QByteArray(R"({ "mqtt": { "mode": "device" }, "meters": [ { "id": "m1", "host": "192.168.1.10",
                "items": [ "1.0.32.7.0.255" ], "mqtt": { "token": "file:%DIR%/secret.txt" } } ] })")
            << u"meters/m1/mqtt.token"_s << fileRef << file;
    }

    void secrets()
    {
        QFETCH(QByteArray, json);
        QFETCH(QString, name);
        QFETCH(QString, reference);
        QFETCH(QByteArray, value);
        reference.replace(u"%DIR%"_s, dir());
        QStringList warnings;
        const auto config = parse(json, &warnings);
        QVERIFY2(config, qPrintable(errorText(config)));
        QVERIFY2(warnings.isEmpty(), qPrintable(warnings.join(u'\n')));

        QByteArray resolved;
        if (name == u"mqtt.token" || name == u"mqtt.username")
            resolved = config->mqtt.client.username.toUtf8();
        else if (name == u"mqtt.password")
            resolved = config->mqtt.client.password.toUtf8();
        else if (name == u"http.token")
            resolved = config->http.token;
        else if (name == u"meters/m1/password")
            resolved = config->findMeter(u"m1"_s)->password;
        else if (name == u"meters/m1/mqtt.token")
            resolved = config->publishingOf(u"m1"_s).accessToken.toUtf8();
        QCOMPARE(resolved, value);

        if (reference.isEmpty()) {
            QVERIFY(config->secretReferences.isEmpty()); // literals are not kept
        } else {
            QCOMPARE(config->secretReferences.size(), 1);
            QCOMPARE(config->secretReferences.value(name), reference);
        }

        // Without secrets the document keeps references and drops literals; with them a literal
        // is written, a reference still as the reference.
        const QByteArray without = QJsonDocument(app::bridgeConfigToJson(*config, false)).toJson();
        const QByteArray with = QJsonDocument(app::bridgeConfigToJson(*config, true)).toJson();
        QVERIFY(!without.contains(value));
        QCOMPARE(with.contains(value), reference.isEmpty());
        if (!reference.isEmpty()) {
            QVERIFY(without.contains(reference.toUtf8()));
            QVERIFY(with.contains(reference.toUtf8()));
        }
    }

    void meterKeys_data()
    {
        QTest::addColumn<QByteArray>("json");
        QTest::addColumn<QString>("ekReference"); // empty: a literal, not kept
        QTest::addColumn<QString>("akReference");
        QTest::newRow("ek-env-ak-file") << QByteArray(R"({ "meters": [ { "id": "m1", "host": "192.168.1.10",
            "items": [ "1.0.32.7.0.255" ], "auth": "hls-gmac",
            "security": { "policy": "auth-enc", "system_title": "4D4D4D0000000001",
                          "ek": "env:DLMSBRIDGE_TST_CFG_EK", "ak": "file:%DIR%/ak.hex" } } ] })")
                                        << u"env:DLMSBRIDGE_TST_CFG_EK"_s << u"file:%DIR%/ak.hex"_s;
        QTest::newRow("relative-file") << QByteArray(R"({ "meters": [ { "id": "m1", "host": "192.168.1.10",
            "items": [ "1.0.32.7.0.255" ], "auth": "hls-gmac",
            "security": { "system_title": "4D4D4D0000000001",
                          "ek": "env:DLMSBRIDGE_TST_CFG_EK", "ak": "file:ak.hex" } } ] })")
                                       << u"env:DLMSBRIDGE_TST_CFG_EK"_s << u"file:ak.hex"_s;
        QTest::newRow("from-polling-default") << QByteArray(R"({
            "polling": { "auth": "hls-gmac", "security": { "system_title": "4D4D4D0000000001",
                         "ek": "env:DLMSBRIDGE_TST_CFG_EK", "ak": "file:%DIR%/ak.hex" } },
            "meters": [ %METER% ] })") << u"env:DLMSBRIDGE_TST_CFG_EK"_s
                                              << u"file:%DIR%/ak.hex"_s;
        QTest::newRow("meter-overrides-one-key") << QByteArray(R"({
            "polling": { "security": { "policy": "auth", "system_title": "4D4D4D0000000001",
                         "ek": "env:DLMSBRIDGE_TST_CFG_EK", "ak": "file:%DIR%/ak.hex" } },
            "meters": [ { "id": "m1", "host": "192.168.1.10", "items": [ "1.0.32.7.0.255" ],
                          "security": { "ak": "d0d1d2d3d4d5d6d7d8d9dadbdcdddedf" } } ] })")
                                                 << u"env:DLMSBRIDGE_TST_CFG_EK"_s << QString();
        QTest::newRow("literals") << QByteArray(R"({ "meters": [ { "id": "m1", "host": "192.168.1.10",
            "items": [ "1.0.32.7.0.255" ], "auth": "hls-gmac",
            "security": { "policy": "auth", "system_title": "4D4D4D0000000001",
                          "ek": "000102030405060708090a0b0c0d0e0f", "ak": "D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF" } } ] })")
                                  << QString() << QString();
    }

    void meterKeys()
    {
        QFETCH(QByteArray, json);
        QFETCH(QString, ekReference);
        QFETCH(QString, akReference);
        ekReference.replace(u"%DIR%"_s, dir());
        akReference.replace(u"%DIR%"_s, dir());
        QStringList warnings;
        const auto config = parse(json, &warnings);
        QVERIFY2(config, qPrintable(errorText(config)));
        QVERIFY2(warnings.isEmpty(), qPrintable(warnings.join(u'\n')));
        const polling::MeterConfig *meter = config->findMeter(u"m1"_s);
        QVERIFY(meter);
        QCOMPARE(meter->security.blockCipherKey, QByteArray::fromHex(kEkHex));
        QCOMPARE(meter->security.authenticationKey, QByteArray::fromHex(kAkHex));

        QHash<QString, QString> references;
        if (!ekReference.isEmpty())
            references.insert(u"meters/m1/security.ek"_s, ekReference);
        if (!akReference.isEmpty())
            references.insert(u"meters/m1/security.ak"_s, akReference);
        QCOMPARE(config->secretReferences, references);

        // Saved: references as given; literal keys only with secrets, never otherwise.
        const QByteArray without = QJsonDocument(app::bridgeConfigToJson(*config, false)).toJson();
        const QByteArray with = QJsonDocument(app::bridgeConfigToJson(*config, true)).toJson();
        for (const QByteArray &hex : {kEkHex, kAkHex}) {
            QVERIFY(!without.contains(hex) && !without.contains(hex.toLower()));
        }
        for (const QString &reference : {ekReference, akReference}) {
            if (!reference.isEmpty()) {
                QVERIFY(without.contains(reference.toUtf8()));
                QVERIFY(with.contains(reference.toUtf8()));
            }
        }
        QCOMPARE(with.contains(kEkHex), ekReference.isEmpty());
        QCOMPARE(with.contains(kAkHex), akReference.isEmpty());

        // And it loads back the same, keys included.
        const auto again
            = app::parseBridgeConfig(app::bridgeConfigToJson(*config, true), u"again.json"_s, dir());
        QVERIFY2(again, qPrintable(errorText(again)));
        QCOMPARE(differences(*config, *again), QStringList());
    }

    // A meter that uses no security keeps no keys and records no references for them.
    void unusedKeysNotKept()
    {
        const auto config = parse(R"({ "meters": [ { "id": "m1", "host": "192.168.1.10",
            "items": [ "1.0.32.7.0.255" ], "security": { "ek": "env:DLMSBRIDGE_TST_CFG_EK" } } ] })");
        QVERIFY2(config, qPrintable(errorText(config)));
        QVERIFY(config->findMeter(u"m1"_s)->security.blockCipherKey.isEmpty());
        QVERIFY(config->secretReferences.isEmpty());
    }

    void secretsNeverInMessages_data()
    {
        QTest::addColumn<QByteArray>("json");
        QTest::addColumn<QString>("secret");
        QTest::newRow("token-number") << QByteArray(R"({ "mqtt": { "token": 27182818 } })") << u"27182818"_s;
        QTest::newRow("password-object")
            << QByteArray(R"({ "mqtt": { "username": "u", "password": { "value": "s3cr3t-literal" } } })")
            << QString(kLiteralSecret);
        QTest::newRow("http-token-array")
            << QByteArray(R"({ "http": { "token": [ "s3cr3t-literal" ] } })") << QString(kLiteralSecret);
        QTest::newRow("meter-token-number") << QByteArray(
            R"({ "meters": [ { "id": "m1", "host": "192.168.1.10", "items": [ "1.0.32.7.0.255" ],
                "mqtt": { "token": 27182818 } } ] })")
                                            << u"27182818"_s;
        QTest::newRow("meter-password-number") << QByteArray(R"({ "meters": [ { "id": "m1",
            "host": "192.168.1.10", "auth": "low", "password": 27182818, "items": [ "1.0.32.7.0.255" ] } ] })")
                                               << u"27182818"_s;
        QTest::newRow("meter-key-literal-bad-length") << QByteArray(R"({ "meters": [ { "id": "m1",
            "host": "192.168.1.10", "auth": "hls-gmac", "items": [ "1.0.32.7.0.255" ],
            "security": { "system_title": "4D4D4D0000000001", "ek": "5EC2E75EC2E75EC2E75EC2E7",
                          "ak": "env:DLMSBRIDGE_TST_CFG_EK" } } ] })")
                                                      << u"5EC2E7"_s;
        QTest::newRow("meter-key-env-not-hex") << QByteArray(R"({ "meters": [ { "id": "m1",
            "host": "192.168.1.10", "auth": "hls-gmac", "items": [ "1.0.32.7.0.255" ],
            "security": { "system_title": "4D4D4D0000000001", "ek": "env:DLMSBRIDGE_TST_CFG_SECRET",
                          "ak": "env:DLMSBRIDGE_TST_CFG_EK" } } ] })")
                                               << QString(kEnvSecret);
        QTest::newRow("literal-token-with-username")
            << QByteArray(R"({ "mqtt": { "token": "s3cr3t-literal", "username": "s3cr3t-literal" } })")
            << QString(kLiteralSecret);
        QTest::newRow("literal-token-in-device-mode")
            << QByteArray(R"({ "mqtt": { "mode": "device", "token": "s3cr3t-literal" } })")
            << QString(kLiteralSecret);
        QTest::newRow("env-secret-then-a-later-error")
            << QByteArray(R"({ "mqtt": { "token": "env:DLMSBRIDGE_TST_CFG_SECRET", "port": 0 } })")
            << QString(kEnvSecret);
        QTest::newRow("file-secret-second-line")
            << QByteArray(R"({ "http": { "token": "file:%DIR%/empty-first-line.txt" } })")
            << QString(kFileSecret);
    }

    void secretsNeverInMessages()
    {
        QFETCH(QByteArray, json);
        QFETCH(QString, secret);
        QStringList warnings;
        const auto config = parse(json, &warnings);
        QVERIFY(!config);
        QVERIFY2(!config.error().message.contains(secret), qPrintable(config.error().message));
        QVERIFY(!warnings.join(u'\n').contains(secret));
    }

    void exampleLoadsClean()
    {
        const QString example = exampleFile();
        QVERIFY2(!example.isEmpty(), "packaging/dlmsbridge.example.json not found");
        // Unset, the example's references fail with the variable's name.
        for (const char *name : kExampleVariables)
            qunsetenv(name);
        const auto unresolved = app::loadBridgeConfig(example);
        QVERIFY(!unresolved);
        QVERIFY2(
            unresolved.error().message.contains(u"is not set"_s), qPrintable(unresolved.error().message));

        setExampleEnvironment();
        QStringList warnings;
        const auto config = app::loadBridgeConfig(example, &warnings);
        QVERIFY2(config, qPrintable(errorText(config)));
        QVERIFY2(warnings.isEmpty(), qPrintable(warnings.join(u'\n')));

        QCOMPARE(config->site.meters.size(), size_t(3));
        const polling::MeterConfig *feeder = config->findMeter(u"feeder-1"_s);
        const polling::MeterConfig *substation = config->findMeter(u"substation-2"_s);
        const polling::MeterConfig *pv = config->findMeter(u"pv-inverter-3"_s);
        QVERIFY(feeder && substation && pv);
        QVERIFY(!config->findMeter(u"nope"_s));
        QCOMPARE(feeder->transport, dlms::Transport::Wrapper);
        QCOMPARE(substation->transport, dlms::Transport::Hdlc);
        QCOMPARE(substation->authentication, dlms::Authentication::Low);
        QCOMPARE(substation->password, QByteArrayLiteral("example-lls-password"));
        QCOMPARE(pv->associationMode, polling::AssociationMode::PerPoll);
        for (const auto &meter : config->site.meters)
            QVERIFY2(meter.host.startsWith(u"192.168."_s), qPrintable(meter.host));

        QCOMPARE(config->publishing.size(), 1);
        const app::MeterPublishing publishing = config->publishingOf(u"pv-inverter-3"_s);
        QCOMPARE(publishing.accessToken, u"example-pv3-token"_s);
        QCOMPARE(publishing.deviceType, u"PV export meter"_s);
        QCOMPARE(publishing.attributes.value(u"phases"_s).toInt(), 3);
        QCOMPARE(config->publishingOf(u"feeder-1"_s), app::MeterPublishing {});

        QVERIFY(config->mqtt.enabled);
        QCOMPARE(config->mqtt.format.mode, mqtt::Mode::Gateway);
        QCOMPARE(config->mqtt.client.username, u"example-gateway-token"_s);
        QVERIFY(config->mqtt.client.password.isEmpty());
        QVERIFY(!config->mqtt.client.tls.enabled);
        QCOMPARE(config->mqtt.client.tls.certFile,
            QFileInfo(example).absolutePath() + u"/tls/dlmsbridge-client.crt"_s);
        QCOMPARE(config->storage.path, u"/var/lib/dlmsbridge/dlmsbridge.db"_s);
        QCOMPARE(config->http.token, QByteArrayLiteral("example-api-token"));
        QCOMPARE(config->commissioning.clockWarnSeconds, 10);
        QCOMPARE(config->commissioning.parallelMeters, 8);
        QCOMPARE(config->commissioning.ranges.size(), size_t(2));
        QCOMPARE(config->commissioning.ranges[0].match, u"1.0.31.7.0.255"_s);
        QVERIFY(config->commissioning.ranges[0].absolute);
        QCOMPARE(config->commissioning.ranges[1].warnMax, 1e12); // defaults to max
        QCOMPARE(config->monitor.interfaceName, u"eth0"_s);

        // Every secret in the example is a reference.
        const QHash<QString, QString> references {{u"mqtt.token"_s, u"env:TB_GATEWAY_TOKEN"_s},
            {u"http.token"_s, u"env:DLMSBRIDGE_API_TOKEN"_s},
            {u"meters/substation-2/password"_s, u"env:DLMSBRIDGE_SUBSTATION2_PASSWORD"_s},
            {u"meters/pv-inverter-3/mqtt.token"_s, u"env:TB_PV_INVERTER_3_TOKEN"_s}};
        QCOMPARE(config->secretReferences, references);
    }

    void roundTrip_data()
    {
        QTest::addColumn<QByteArray>("json");
        QTest::addColumn<bool>("withSecrets"); // false: only references, so it reloads all the same
        QTest::newRow("defaults") << QByteArray("{}") << false;
        QTest::newRow("example") << readFile(exampleFile()) << false;
        QTest::newRow("every-field-with-literals") << QByteArray(R"({
            "polling": { "workers": 4, "interval_ms": 1000 },
            "meters": [
                { "id": "a", "name": "A", "host": "192.168.1.10", "port": 4061, "transport": "hdlc",
                  "auth": "low", "password": "s3cr3t-literal", "hdlc": { "max_info_tx": 256, "window": 2 },
                  "items": [ "1.0.32.7.0.255", { "obis": "0.0.96.1.0.255", "key": "serial", "class": 1 } ],
                  "mqtt": { "token": "meter-literal-token", "device_type": "T",
                            "attributes": { "s": "x", "n": 1.5, "b": false } } },
                { "id": "b", "host": "192.168.1.11", "items": [ "1.0.1.8.0.255" ], "mqtt": {} }
            ],
            "mqtt": { "enabled": false, "mode": "plain", "host": "::1", "port": 8883, "protocol": "5",
                      "client_id": "c", "username": "user", "password": "s3cr3t-literal",
                      "tls": { "enabled": true, "ca_file": "ca.pem", "cert_file": "client.crt",
                               "key_file": "client.key", "verify_peer": false },
                      "keepalive_s": 5, "max_messages_per_s": 2.5, "max_inflight": 1,
                      "topic_template": "x/{id}/{name}", "max_payload_bytes": 1024, "device_type": "D" },
            "storage": { "path": "rel/x.db", "readings_retention_days": 0, "metrics_retention_days": 1,
                         "events_retention_days": 2, "max_outbox_mb": 3, "max_outbox_age_hours": 4 },
            "http": { "enabled": false, "address": "::1", "port": 0, "token": "s3cr3t-literal" },
            "monitor": { "interface": "enp3s0", "rollup_s": 3600 }
        })") << true;
        QTest::newRow("device-mode-references") << QByteArray(R"({
            "mqtt": { "mode": "device", "tls": { "enabled": true, "ca_file": "%DIR%/ca.pem" } },
            "http": { "token": "file:%DIR%/secret.txt" },
            "meters": [ { "id": "m1", "host": "192.168.1.10", "items": [ "1.0.32.7.0.255" ],
                          "mqtt": { "token": "env:DLMSBRIDGE_TST_CFG_SECRET" } } ]
        })") << false;
        QTest::newRow("meter-security-references") << QByteArray(R"({
            "polling": { "auth": "hls-gmac", "security": { "policy": "auth-enc",
                         "system_title": "4D4D4D0000000001", "ek": "env:DLMSBRIDGE_TST_CFG_EK" } },
            "meters": [ { "id": "m1", "host": "192.168.1.10", "items": [ "1.0.32.7.0.255" ],
                          "security": { "ak": "file:%DIR%/ak.hex", "dedicated_key": true,
                                        "general_ciphering": true } } ] })")
                                                   << false;
        QTest::newRow("meter-security-literals") << QByteArray(R"({
            "meters": [ { "id": "m1", "host": "192.168.1.10", "items": [ "1.0.32.7.0.255" ],
                          "auth": "low", "password": "s3cr3t-literal",
                          "security": { "policy": "enc", "system_title": "4D4D4D0000000001",
                                        "ek": "000102030405060708090A0B0C0D0E0F" } } ] })")
                                                 << true;
        QTest::newRow("username-reference-and-password-file") << QByteArray(R"({
            "mqtt": { "username": "env:DLMSBRIDGE_TST_CFG_SECRET", "password": "file:%DIR%/secret.txt" } })")
                                                              << false;
    }

    void roundTrip()
    {
        QFETCH(QByteArray, json);
        QFETCH(bool, withSecrets);
        QVERIFY(!json.isEmpty()); // the example file was found
        setExampleEnvironment();
        const auto first = parse(json);
        QVERIFY2(first, qPrintable(errorText(first)));

        // In memory, through text, and through a saved file.
        const QJsonObject document = app::bridgeConfigToJson(*first, withSecrets);
        const auto second = app::parseBridgeConfig(document, u"again.json"_s, u"/elsewhere"_s);
        QVERIFY2(second, qPrintable(errorText(second)));
        QCOMPARE(differences(*first, *second), QStringList());

        const QByteArray text = QJsonDocument(document).toJson();
        const auto third = app::parseBridgeConfig(parseObject(text), u"again.json"_s, QString());
        QVERIFY2(third, qPrintable(errorText(third)));
        QCOMPARE(differences(*first, *third), QStringList());

        const QString saved
            = dir() + u"/roundtrip/"_s + QString::fromLatin1(QTest::currentDataTag()) + u".json"_s;
        const auto save = app::saveBridgeConfig(*first, saved);
        QVERIFY2(save, qPrintable(save ? QString() : save.error().message));
        QStringList warnings;
        const auto loaded = app::loadBridgeConfig(saved, &warnings);
        QVERIFY2(loaded, qPrintable(errorText(loaded)));
        QVERIFY2(warnings.isEmpty(), qPrintable(warnings.join(u'\n')));
        QCOMPARE(differences(*first, *loaded), QStringList());
        QCOMPARE(loaded->fileName, saved);
    }

    void saveCreatesAPrivateFileAndDirectory()
    {
        const auto config = parse(R"({ "http": { "token": "s3cr3t-literal" } })");
        QVERIFY(config);
        const QString directory = dir() + u"/save-new/nested/dlmsbridge"_s;
        const QString path = directory + u"/dlmsbridge.json"_s;
        QVERIFY(!QFileInfo::exists(directory));
        const auto saved = app::saveBridgeConfig(*config, path);
        QVERIFY2(saved, qPrintable(saved ? QString() : saved.error().message));
        QCOMPARE(fileMode(path), mode_t(0600));
        QCOMPARE(fileMode(directory), mode_t(0700));
        QCOMPARE(fileMode(dir() + u"/save-new/nested"_s), mode_t(0700));
        const QFileDevice::Permissions everyone = QFileInfo(path).permissions()
            & ~(QFileDevice::ReadUser | QFileDevice::WriteUser | QFileDevice::ExeUser);
        QCOMPARE(everyone, QFileDevice::ReadOwner | QFileDevice::WriteOwner);
        // A literal secret is saved (the file is private), and it reloads.
        QVERIFY(readFile(path).contains(QByteArray(kLiteralSecret.data())));
        const auto loaded = app::loadBridgeConfig(path);
        QVERIFY(loaded);
        QCOMPARE(loaded->http.token, QByteArray(kLiteralSecret.data()));
    }

    void saveReplacesAnExistingFileAtomically()
    {
        const QString directory = dir() + u"/save-existing"_s;
        QVERIFY(QDir().mkpath(directory));
        const QString path = directory + u"/bridge.json"_s;
        QVERIFY(writeFile(path, "{ \"old\": true }"));
        QVERIFY(::chmod(QFile::encodeName(path).constData(), 0644) == 0);
        const auto config = parse(R"({ "monitor": { "interface": "eth7" } })");
        QVERIFY(config);
        const auto saved = app::saveBridgeConfig(*config, path);
        QVERIFY2(saved, qPrintable(saved ? QString() : saved.error().message));
        QCOMPARE(fileMode(path), mode_t(0600)); // not the old file's 0644
        QVERIFY(!readFile(path).contains("old"));
        QCOMPARE(app::loadBridgeConfig(path)->monitor.interfaceName, u"eth7"_s);
        // No temporary file left beside it.
        QCOMPARE(QDir(directory).entryList(QDir::Files | QDir::Hidden), QStringList {u"bridge.json"_s});
    }

    void saveFailures_data()
    {
        QTest::addColumn<QString>("target"); // relative to a fresh directory holding "file" and "dir/keep"
        QTest::addColumn<QString>("reason");
        QTest::newRow("target-is-a-directory") << u"dir"_s << u"it is a directory"_s;
        QTest::newRow("parent-is-a-file") << u"file/bridge.json"_s << u"is not a directory"_s;
        QTest::newRow("ancestor-is-a-file") << u"file/a/b/bridge.json"_s << u"is not a directory"_s;
    }

    void saveFailures()
    {
        QFETCH(QString, target);
        QFETCH(QString, reason);
        const QString base = dir() + u"/save-fail-"_s + QString::fromLatin1(QTest::currentDataTag());
        QVERIFY(QDir().mkpath(base + u"/dir"_s));
        QVERIFY(writeFile(base + u"/file"_s, "old content"));
        QVERIFY(writeFile(base + u"/dir/keep"_s, "kept"));
        const auto config = parse("{}");
        QVERIFY(config);
        const QString path = base + u'/' + target;
        const auto saved = app::saveBridgeConfig(*config, path);
        QVERIFY(!saved);
        QCOMPARE(saved.error().code, dlms::ErrorCode::IoError);
        QVERIFY2(saved.error().message.startsWith(u"cannot save "_s + path + u": "_s),
            qPrintable(saved.error().message));
        QVERIFY2(saved.error().message.contains(reason), qPrintable(saved.error().message));
        // Whatever was there is as it was, and nothing was left behind.
        QCOMPARE(readFile(base + u"/file"_s), QByteArray("old content"));
        QCOMPARE(readFile(base + u"/dir/keep"_s), QByteArray("kept"));
        QCOMPARE(QDir(base).entryList(QDir::AllEntries | QDir::Hidden | QDir::NoDotAndDotDot),
            (QStringList {u"dir"_s, u"file"_s}));
        QCOMPARE(QDir(base + u"/dir"_s).entryList(QDir::AllEntries | QDir::Hidden | QDir::NoDotAndDotDot),
            QStringList {u"keep"_s});
    }

    void defaultPathsFollowXdg()
    {
        // Whatever the program's name (dlmsctl or the GUI), the directory is "dlmsbridge".
        const QString appName = QCoreApplication::applicationName();
        const auto restore = qScopeGuard([appName] {
            QCoreApplication::setApplicationName(appName);
            QStandardPaths::setTestModeEnabled(false);
        });
        QCoreApplication::setApplicationName(u"dlmsctl"_s);
        QCOMPARE(app::defaultConfigPath(), dir() + u"/xdg-config/dlmsbridge/dlmsbridge.json"_s);
        QCOMPARE(app::defaultDatabasePath(), dir() + u"/xdg-data/dlmsbridge/dlmsbridge.db"_s);

        qputenv("XDG_CONFIG_HOME", "/srv/xdg/config");
        qputenv("XDG_DATA_HOME", "/srv/xdg/data");
        const auto back = qScopeGuard([this] {
            qputenv("XDG_CONFIG_HOME", QFile::encodeName(dir() + u"/xdg-config"_s));
            qputenv("XDG_DATA_HOME", QFile::encodeName(dir() + u"/xdg-data"_s));
        });
        QCOMPARE(app::defaultConfigPath(), u"/srv/xdg/config/dlmsbridge/dlmsbridge.json"_s);
        QCOMPARE(app::defaultDatabasePath(), u"/srv/xdg/data/dlmsbridge/dlmsbridge.db"_s);

        QStandardPaths::setTestModeEnabled(true);
        QCOMPARE(app::defaultConfigPath(),
            QStandardPaths::writableLocation(QStandardPaths::GenericConfigLocation)
                + u"/dlmsbridge/dlmsbridge.json"_s);
        QVERIFY(app::defaultConfigPath().contains(u"/.qttest/"_s));
        QVERIFY(app::defaultDatabasePath().endsWith(u"/dlmsbridge/dlmsbridge.db"_s));
        QVERIFY(app::defaultDatabasePath().contains(u"/.qttest/"_s));
    }

    void engineOptions()
    {
        setExampleEnvironment();
        const auto config = app::loadBridgeConfig(exampleFile());
        QVERIFY2(config, qPrintable(errorText(config)));

        const storage::StorageOptions s = app::storageOptions(*config);
        QCOMPARE(s.path, u"/var/lib/dlmsbridge/dlmsbridge.db"_s);
        QCOMPARE(s.readingsRetentionDays, 90);
        QCOMPARE(s.metricsRetentionDays, 400);
        QCOMPARE(s.eventsRetentionDays, 90);
        QCOMPARE(s.maxOutboxBytes, 512LL * 1024 * 1024);
        QCOMPARE(s.maxOutboxAgeHours, 168);

        const mqtt::PublisherOptions p = app::publisherOptions(*config);
        QCOMPARE(p.databasePath, config->storage.path);
        QCOMPARE(p.format.mode, mqtt::Mode::Gateway);
        QCOMPARE(p.format.maxPayloadBytes, qsizetype(65536));
        QCOMPARE(p.client.host, u"192.168.10.5"_s);
        QCOMPARE(p.client.clientId, u"dlmsbridge-substation-gateway"_s);
        QCOMPARE(p.client.username, u"example-gateway-token"_s);
        QCOMPARE(p.maxMessagesPerSecond, 100.0);
        QCOMPARE(p.maxInflightMessages, 256);

        const mqtt::MeterDevice pv = app::meterDevice(*config, *config->findMeter(u"pv-inverter-3"_s));
        QCOMPARE(pv.id, u"pv-inverter-3"_s);
        QCOMPARE(pv.name, u"PV inverter 3 (own device type and attributes)"_s);
        QCOMPARE(pv.deviceType, u"PV export meter"_s);
        QCOMPARE(pv.accessToken, u"example-pv3-token"_s);
        const QJsonObject expected {{u"address"_s, u"192.168.10.23:4059"_s}, {u"transport"_s, u"wrapper"_s},
            {u"serverAddress"_s, 1}, {u"feeder"_s, u"north"_s}, {u"phases"_s, 3},
            {u"export_metering"_s, true}};
        QCOMPARE(pv.attributes, expected);

        // A meter without "mqtt": the identity attributes only, and never its password.
        const mqtt::MeterDevice substation = app::meterDevice(*config, *config->findMeter(u"substation-2"_s));
        QVERIFY(substation.deviceType.isEmpty());
        QVERIFY(substation.accessToken.isEmpty());
        QCOMPARE(substation.attributes,
            (QJsonObject {{u"address"_s, u"192.168.10.22:4060"_s}, {u"transport"_s, u"hdlc"_s},
                {u"serverAddress"_s, 1}}));
        QVERIFY(!QJsonDocument(substation.attributes).toJson().contains("example-lls-password"));
    }

    void configuredAttributeWins()
    {
        const auto config = parse(R"({ "meters": [ { "id": "m1", "host": "192.168.1.10", "port": 4063,
            "items": [ "1.0.32.7.0.255" ], "mqtt": { "attributes": { "address": "Main St 1" } } } ] })");
        QVERIFY(config);
        const mqtt::MeterDevice device = app::meterDevice(*config, config->site.meters.front());
        QCOMPARE(device.attributes.value(u"address"_s).toString(), u"Main St 1"_s);
        QCOMPARE(device.attributes.value(u"serverAddress"_s).toInt(), 1);
    }

    void mqttSettingsEquality_data()
    {
        QTest::addColumn<QString>("field");
        for (const char *field : {"enabled", "mode", "topicTemplate", "maxPayloadBytes", "deviceType", "host",
                 "port", "clientId", "version", "username", "password", "tls.enabled", "tls.caFile",
                 "tls.certFile", "tls.keyFile", "tls.verifyPeer", "keepAliveS", "cleanSession",
                 "connectTimeoutMs", "maxMessagesPerSecond", "maxInflightMessages"})
            QTest::newRow(field) << QString::fromLatin1(field);
    }

    void mqttSettingsEquality()
    {
        QFETCH(QString, field);
        app::MqttSettings a;
        a.client.username = u"user"_s;
        a.client.password = u"pw"_s;
        a.client.tls.caFile = u"/ca.pem"_s;
        app::MqttSettings b = a;
        QVERIFY(a == b);
        mqtt::ClientOptions &c = b.client;
        if (field == u"enabled")
            b.enabled = false;
        else if (field == u"mode")
            b.format.mode = mqtt::Mode::Device;
        else if (field == u"topicTemplate")
            b.format.topicTemplate = u"x/{id}"_s;
        else if (field == u"maxPayloadBytes")
            b.format.maxPayloadBytes = 2048;
        else if (field == u"deviceType")
            b.format.deviceType = u"other"_s;
        else if (field == u"host")
            c.host = u"::1"_s;
        else if (field == u"port")
            c.port = 8883;
        else if (field == u"clientId")
            c.clientId = u"other"_s;
        else if (field == u"version")
            c.version = mqtt::ProtocolVersion::V5;
        else if (field == u"username")
            c.username = u"user2"_s;
        else if (field == u"password")
            c.password = u"pw2"_s;
        else if (field == u"tls.enabled")
            c.tls.enabled = true;
        else if (field == u"tls.caFile")
            c.tls.caFile = u"/other.pem"_s;
        else if (field == u"tls.certFile")
            c.tls.certFile = u"/c.crt"_s;
        else if (field == u"tls.keyFile")
            c.tls.keyFile = u"/c.key"_s;
        else if (field == u"tls.verifyPeer")
            c.tls.verifyPeer = false;
        else if (field == u"keepAliveS")
            c.keepAliveS = 60;
        else if (field == u"cleanSession")
            c.cleanSession = false;
        else if (field == u"connectTimeoutMs")
            c.connectTimeoutMs = 1;
        else if (field == u"maxMessagesPerSecond")
            b.maxMessagesPerSecond = 0;
        else if (field == u"maxInflightMessages")
            b.maxInflightMessages = 1;
        else
            QFAIL("unknown field");
        QVERIFY(!(a == b));
        QVERIFY(!(b == a));
    }

private:
    void setExampleEnvironment()
    {
        qputenv("TB_GATEWAY_TOKEN", "example-gateway-token");
        qputenv("TB_PV_INVERTER_3_TOKEN", "example-pv3-token");
        qputenv("DLMSBRIDGE_SUBSTATION2_PASSWORD", "example-lls-password");
        qputenv("DLMSBRIDGE_API_TOKEN", "example-api-token");
    }
};

QTEST_GUILESS_MAIN(tst_BridgeConfig)
#include "tst_bridgeconfig.moc"
