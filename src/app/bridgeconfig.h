#pragma once

#include "commissioningsettings.h"

#include <error.h>
#include <mqttclient.h>
#include <outboxpublisher.h>
#include <siteconfig.h>
#include <storage.h>
#include <telemetryformat.h>

#include <QtCore/QHash>
#include <QtCore/QJsonObject>
#include <QtCore/QString>
#include <QtCore/QStringList>

namespace app {

// The bridge's configuration: one JSON file.
//
// {
//   "polling": { … },                       polling defaults (polling/siteconfig.h)
//   "meters": [ { …meter keys…,             polling/siteconfig.h (auth, password, security
//                                             with its ek/ak references), plus:
//                 "mqtt": { "token": "env:TB_F1",          Device mode: the meter's access token
//                           "device_type": "DLMS meter",   gateway connect "type"
//                           "attributes": { "feeder": "north" } } } ],
//   "mqtt": { "enabled": true, "mode": "gateway" | "device" | "plain",
//             "host": "127.0.0.1", "port": 1883, "protocol": "3.1.1" | "5", "client_id": "…",
//             "token": "env:TB_GATEWAY_TOKEN",      ThingsBoard access token (sent as username)
//             "username": "…", "password": "file:/etc/dlmsbridge/mqtt-password",
//             "tls": { "enabled": false, "ca_file": "…", "cert_file": "…", "key_file": "…",
//                      "verify_peer": true },
//             "keepalive_s": 30, "max_messages_per_s": 100, "max_inflight": 256,
//             "topic_template": "meters/{name}/telemetry", "max_payload_bytes": 65536,
//             "device_type": "DLMS meter" },
//   "storage": { "path": "dlmsbridge.db", "readings_retention_days": 90,
//                "metrics_retention_days": 400, "events_retention_days": 90,
//                "max_outbox_mb": 512, "max_outbox_age_hours": 168 },
//   "http": { "enabled": true, "address": "127.0.0.1", "port": 8000,
//             "token": "env:DLMSBRIDGE_API_TOKEN" },
//   "monitor": { "interface": "eth0", "rollup_s": 60 },
//   "commissioning": { … }                   app/commissioningsettings.h
// }
//
// Every section is optional. Relative paths (storage.path, TLS files) are relative to the
// configuration file's directory; a missing storage.path is defaultDatabasePath(). Secrets
// (meter passwords, meter EK/AK, MQTT token/password, meter tokens, the HTTP token) may be literals,
// "env:VARIABLE" or "file:/path" (its first line); they are resolved when the file is read and
// never appear in a message. Errors name the file and the JSON path
// ("site.json: mqtt.port: must be an integer from 1 to 65535 (got 0)"); unknown keys are
// warned about ("site.json: mqtt.colour: unknown key, ignored").

// What is published for one meter besides its readings (the meter's "mqtt" object).
struct MeterPublishing {
    QString accessToken; // Device mode: the meter's own ThingsBoard token (a secret)
    QString deviceType; // gateway connect "type"; empty = mqtt.device_type
    QJsonObject attributes; // published once per connection with the identity attributes
    bool operator==(const MeterPublishing &) const = default;
};

struct MqttSettings {
    bool enabled = true;
    // format.mode, format.topicTemplate, format.maxPayloadBytes, format.deviceType.
    mqtt::FormatOptions format;
    // host, port, clientId (default "dlmsbridge-<host name>"), version, username and password
    // (resolved; "token" sets the username), tls, keepAliveS. The rest keeps its defaults.
    mqtt::ClientOptions client;
    double maxMessagesPerSecond = 100;
    int maxInflightMessages = 256;
};
// Field by field (ClientOptions has no operator==): what decides whether a reload restarts
// the publisher.
bool operator==(const MqttSettings &a, const MqttSettings &b);

struct StorageSettings {
    QString path; // absolute after parsing
    int readingsRetentionDays = 90; // 0 = keep forever
    int metricsRetentionDays = 400;
    int eventsRetentionDays = 90;
    qint64 maxOutboxBytes = 512LL * 1024 * 1024; // "max_outbox_mb"; 0 = unbounded
    int maxOutboxAgeHours = 7 * 24; // 0 = unbounded
    bool operator==(const StorageSettings &) const = default;
};

struct HttpSettings {
    bool enabled = true;
    QString address = QStringLiteral("127.0.0.1"); // an IP address (v4 or v6)
    quint16 port = 8000; // 0 = any free port (tests)
    QByteArray token; // bearer token (resolved); empty = no authentication
    bool operator==(const HttpSettings &) const = default;
};

struct MonitorSettings {
    QString interfaceName; // empty = every interface but loopback
    int rollupSeconds = 60; // one network_metrics row per meter per period (1..3600)
    bool operator==(const MonitorSettings &) const = default;
};

struct BridgeConfig {
    QString fileName; // where it was read from (empty when built in memory)
    polling::SiteConfig site; // workers + meters, in file order
    QHash<QString, MeterPublishing> publishing; // by meter id; meters without "mqtt" are absent
    MqttSettings mqtt;
    StorageSettings storage;
    HttpSettings http;
    MonitorSettings monitor;
    CommissioningSettings commissioning; // the "commissioning" section (commissioningsettings.h)
    // The references secrets were given as ("env:TB_TOKEN", "file:/etc/…"; literals are not
    // kept), by a path naming the secret: "mqtt.token", "mqtt.password", "http.token",
    // "meters/<id>/password", "meters/<id>/security.ek", "meters/<id>/security.ak",
    // "meters/<id>/mqtt.token". Saving writes these back instead of
    // the resolved values.
    QHash<QString, QString> secretReferences;

    const polling::MeterConfig *findMeter(const QString &id) const;
    MeterPublishing publishingOf(const QString &id) const; // {} when none
};

// Parses a configuration document. `fileName` prefixes every message; `baseDirectory` resolves
// relative paths (empty = the current directory).
dlms::Result<BridgeConfig> parseBridgeConfig(const QJsonObject &root, const QString &fileName,
    const QString &baseDirectory, QStringList *warnings = nullptr);
// Reads and parses a file (polling::readJsonObjectFile, then parseBridgeConfig).
dlms::Result<BridgeConfig> loadBridgeConfig(const QString &path, QStringList *warnings = nullptr);

// The document of a configuration, loadable again by parseBridgeConfig with the same result.
// Secrets: their reference when they have one; a literal value only when `withSecrets`,
// otherwise left out.
QJsonObject bridgeConfigToJson(const BridgeConfig &config, bool withSecrets);
// Writes bridgeConfigToJson(config, true) atomically (QSaveFile), the file mode 0600 from its
// creation (it may hold secrets); creates the directory (0700) when missing.
dlms::Result<void> saveBridgeConfig(const BridgeConfig &config, const QString &path);

// XDG locations (QStandardPaths, application name "dlmsbridge"):
// ~/.config/dlmsbridge/dlmsbridge.json and ~/.local/share/dlmsbridge/dlmsbridge.db.
QString defaultConfigPath();
QString defaultDatabasePath();

// Whether a secret as written is a reference ("env:VAR", "file:/path") rather than a value.
bool isSecretReference(const QString &secret);
// mqtt.client_id when the file gives none: "dlmsbridge-<host name>".
QString defaultClientId();

// The engine parts' options from a configuration.
storage::StorageOptions storageOptions(const BridgeConfig &config);
mqtt::PublisherOptions publisherOptions(const BridgeConfig &config);
mqtt::MeterDevice meterDevice(const BridgeConfig &config, const polling::MeterConfig &meter);

} // namespace app
