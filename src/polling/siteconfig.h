#pragma once

#include "meterconfig.h"

#include <error.h>

#include <QtCore/QJsonObject>
#include <QtCore/QStringList>

#include <vector>

namespace polling {

// The polling part of a site configuration file (JSON). The bridge's full configuration (MQTT,
// storage, HTTP — a later issue) adds its own sections beside these two:
//
// {
//   "polling": { "workers": 0, "interval_ms": 5000, "timeout_ms": 5000, … any meter key … },
//   "meters": [
//     { "id": "m1", "name": "Feeder 1", "host": "192.168.1.10", "port": 4059,
//       "transport": "wrapper" | "hdlc", "client_address": 16, "server_address": 1,
//       "physical_address": 0, "auth": "none" | "low" | "hls-gmac",
//       "password": "…" | "env:VAR" | "file:/path",                      (auth "low")
//       "security": { "policy": "none" | "auth" | "enc" | "auth-enc",      (suite 0; optional)
//                     "system_title": "4D4D4D0000000001",   our (the client's) title, 8 bytes hex
//                     "ek": "<16 bytes hex>" | "env:VAR" | "file:/path", "ak": … (the same),
//                     "dedicated_key": false, "general_ciphering": false },
//       "interval_ms": 5000, "connect_timeout_ms": 5000, "timeout_ms": 5000, "retries": 1,
//       "association": "keep-open" | "per-poll", "max_pdu": 65535, "max_items_per_request": 32,
//       "hdlc": { "max_info": 128, "window": 1 }, "max_requests_per_s": 0,
//       "snapshot_profile": "1.0.94.91.0.255",   (optional: see MeterConfig::snapshotProfile)
//       "backoff": { "initial_ms": 1000, "max_ms": 60000, "multiplier": 2, "jitter": 0.2 },
//       "breaker": { "failures": 5, "open_ms": 300000 },
//       "items": [ "1.0.32.7.0.255",
//                  { "obis": "1-0:1.8.0", "key": "energy_import", "class": 3, "attribute": 2 } ] }
//   ]
// }
//
// Every meter key may also appear in "polling" as a default for all meters. An item given as a
// bare OBIS string gets its class and key from the well-known table (Data class 1 and
// defaultTelemetryKey() otherwise). "id" defaults to "name", "name" to "host:port". A meter's
// "mqtt" object (its ThingsBoard token, device type and attributes) belongs to the bridge's
// configuration (app::BridgeConfig): skipped here without a warning.
//
// Security: "hls-gmac" needs security.system_title, ek and ak; a policy other than "none"
// needs system_title and ek, and ak when it authenticates ("auth", "auth-enc"); dedicated_key
// and general_ciphering need a policy. A meter's "security" keys apply one by one over those of
// "polling". EK and AK are secrets like the password: a file: key is the file's first line, as
// hex text; they are resolved only for a meter that uses them. The client's invocation counter
// is not configured here: it lives in the counter store (polling/invocationcounterstore.h).
struct SiteConfig {
    int workers = 0; // 0 = ideal thread count
    std::vector<MeterConfig> meters;
};

// Parses the "polling" and "meters" sections. Errors name the file and the JSON path:
// "site.json: meters[3].port: must be 1..65535". Unknown keys inside those sections are
// reported in `warnings` ("site.json: meters[0].colour: unknown key, ignored"); other top-level
// sections are left to their owners. Secrets given as env:/file: are resolved here; their
// values never appear in a message.
// `baseDirectory` resolves relative "file:" secrets (empty = the current directory);
// loadSiteConfig() passes the file's own directory.
dlms::Result<SiteConfig> parseSiteConfig(const QJsonObject &root, const QString &fileName,
    QStringList *warnings = nullptr, const QString &baseDirectory = {});
dlms::Result<SiteConfig> loadSiteConfig(const QString &path, QStringList *warnings = nullptr);

// Reads a JSON configuration file whose top level is an object (at most 64 MiB). Errors name
// the file, and for a syntax error the byte, line and column:
// "site.json: invalid JSON at byte 120 (line 7, column 3): unterminated object".
dlms::Result<QJsonObject> readJsonObjectFile(const QString &path);

// A meter as JSON in the format above (the password, EK and AK only when `withSecrets`).
QJsonObject meterConfigToJson(const MeterConfig &config, bool withSecrets);
// A meter's "security" object (EK and AK as hex only when `withSecrets`); empty when nothing of
// it is set.
QJsonObject securityToJson(const dlms::SecuritySettings &security, bool withSecrets);

// For configuration messages (shared with the bridge's configuration parser): a JSON value's
// type ("a string", "an object"), and what a value was — numbers as written, strings quoted
// and cut at 40 characters, anything else by its type; describeNumber() says "the string '…'"
// where a number was expected. Never used for secrets.
QString jsonTypeName(const QJsonValue &value);
QString describeJsonValue(const QJsonValue &value);
QString describeJsonNumber(const QJsonValue &value);

// Resolves "env:NAME", "file:/path" (first line; a relative path is relative to
// `baseDirectory`, empty = the current directory) or a literal. Errors say which variable or
// file, never the value.
dlms::Result<QByteArray> resolveSecret(const QString &reference, const QString &baseDirectory = {});
// A suite 0 key (EK, AK): resolveSecret() read as 16 bytes of hex, the text copies zeroed.
// Messages name an env:/file: reference ("the key in env:EK must be 16 bytes of hex …"), never
// the value.
dlms::Result<QByteArray> resolveKey(const QString &reference, const QString &baseDirectory = {});

} // namespace polling
