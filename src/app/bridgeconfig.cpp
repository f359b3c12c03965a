#include "bridgeconfig.h"

#include <QtCore/QDir>
#include <QtCore/QFileInfo>
#include <QtCore/QJsonArray>
#include <QtCore/QJsonDocument>
#include <QtCore/QLocale>
#include <QtCore/QSaveFile>
#include <QtCore/QStandardPaths>
#include <QtCore/QSysInfo>
#include <QtNetwork/QHostAddress>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <limits>
#include <optional>

#ifdef Q_OS_UNIX
#include <sys/stat.h>
#endif

using namespace Qt::StringLiterals;

namespace app {

namespace {

// Bounds shared by the parser and its messages, so a message states exactly what is accepted.
constexpr qint64 kMinKeepAliveS = 5;
constexpr qint64 kMaxKeepAliveS = 3600;
constexpr double kMaxMessagesPerSecond = 1'000'000;
constexpr qint64 kMaxInflight = 65'535; // libmosquitto's send maximum
constexpr qint64 kMinPayloadBytes = 1024;
constexpr qint64 kMaxPayloadBytes = 16 * 1024 * 1024;
constexpr qint64 kMaxRetentionDays = 36'500;
constexpr qint64 kMaxOutboxMb = 1024 * 1024; // a terabyte
constexpr qint64 kMaxOutboxAgeHours = 87'600; // ten years
constexpr qint64 kMaxRollupS = 3600;
constexpr qsizetype kMaxInterfaceName = 15; // Linux IFNAMSIZ - 1
constexpr qint64 kMaxClockWarnS = 86'400;
constexpr qint64 kMaxClockFailS = 10LL * 365 * 86'400; // a meter that lost its clock entirely
constexpr qint64 kMaxBaselinePolls = 100;
constexpr qint64 kMaxRttWarnMs = 600'000;
constexpr qint64 kMaxParallelMeters = 64;

constexpr QLatin1StringView kConfigDirectory {"dlmsbridge"};

using Failure = std::optional<dlms::Error>;

QString protocolName(mqtt::ProtocolVersion version)
{
    return version == mqtt::ProtocolVersion::V5 ? u"5"_s : u"3.1.1"_s;
}

QString meterSecretName(const QString &meterId, const QString &key)
{
    return u"meters/"_s + meterId + u'/' + key;
}

class ConfigParser {
public:
    ConfigParser(const QString &fileName, const QString &baseDirectory, QStringList *warnings)
        : m_file(fileName),
          m_base(baseDirectory.isEmpty() ? QDir::currentPath() : QDir(baseDirectory).absolutePath()),
          m_warnings(warnings)
    {
    }

    dlms::Result<BridgeConfig> parse(const QJsonObject &root)
    {
        BridgeConfig config;
        config.mqtt.client.clientId = defaultClientId();

        static const QStringList sections {
            u"polling"_s, u"meters"_s, u"mqtt"_s, u"storage"_s, u"http"_s, u"monitor"_s, u"commissioning"_s};
        for (auto it = root.constBegin(); it != root.constEnd(); ++it)
            if (!sections.contains(it.key()))
                warn(it.key(), u"unknown key, ignored"_s);

        auto site = polling::parseSiteConfig(root, m_file, m_warnings, m_base);
        if (!site)
            return site.error();
        config.site = std::move(*site);
        recordMeterPasswords(root, config);

        if (auto failed
            = section(root, u"mqtt"_s, [&](const QJsonObject &o) { return parseMqtt(o, config); }))
            return *failed;
        if (auto failed
            = section(root, u"storage"_s, [&](const QJsonObject &o) { return parseStorage(o, config); }))
            return *failed;
        if (config.storage.path.isEmpty())
            config.storage.path = defaultDatabasePath();
        if (auto failed
            = section(root, u"http"_s, [&](const QJsonObject &o) { return parseHttp(o, config); }))
            return *failed;
        if (auto failed
            = section(root, u"monitor"_s, [&](const QJsonObject &o) { return parseMonitor(o, config); }))
            return *failed;
        if (auto failed = section(root, u"commissioning"_s,
                [&](const QJsonObject &o) { return parseCommissioning(o, config); }))
            return *failed;
        if (auto failed = parseMeterPublishing(root, config))
            return *failed;
        return config;
    }

private:
    dlms::Error error(const QString &path, const QString &message) const
    {
        return dlms::makeError(dlms::ErrorCode::InvalidArgument, m_file + u": "_s + path + u": "_s + message);
    }

    void warn(const QString &path, const QString &message)
    {
        if (m_warnings)
            m_warnings->append(m_file + u": "_s + path + u": "_s + message);
    }

    // A top-level section: absent or null is "all defaults".
    template<typename Apply> Failure section(const QJsonObject &root, const QString &name, Apply apply)
    {
        const QJsonValue value = root.value(name);
        if (value.isUndefined() || value.isNull())
            return std::nullopt;
        if (!value.isObject())
            return error(name, u"must be an object (got %1)"_s.arg(polling::jsonTypeName(value)));
        return apply(value.toObject());
    }

    template<typename T>
    Failure integer(const QString &path, const QJsonValue &value, qint64 min, qint64 max, T &out)
    {
        const double d = value.toDouble();
        if (!value.isDouble() || !std::isfinite(d) || d != std::floor(d) || d < double(min)
            || d > double(max))
            return error(path,
                u"must be an integer from %1 to %2 (got %3)"_s.arg(min).arg(max).arg(
                    polling::describeJsonNumber(value)));
        out = T(d);
        return std::nullopt;
    }

    Failure number(const QString &path, const QJsonValue &value, double min, double max, double &out)
    {
        const double d = value.toDouble();
        if (!value.isDouble() || !std::isfinite(d) || d < min || d > max)
            return error(path,
                u"must be a number from %1 to %2 (got %3)"_s.arg(QString::number(min, 'g', 17),
                    QString::number(max, 'g', 17), polling::describeJsonNumber(value)));
        out = d;
        return std::nullopt;
    }

    Failure boolean(const QString &path, const QJsonValue &value, bool &out)
    {
        if (!value.isBool())
            return error(path, u"must be true or false (got %1)"_s.arg(polling::describeJsonValue(value)));
        out = value.toBool();
        return std::nullopt;
    }

    Failure text(const QString &path, const QJsonValue &value, QString &out, bool allowEmpty = false)
    {
        if (!value.isString())
            return error(path, u"must be a string (got %1)"_s.arg(polling::jsonTypeName(value)));
        const QString s = value.toString().trimmed();
        if (s.isEmpty() && !allowEmpty)
            return error(path, u"must not be empty"_s);
        out = s;
        return std::nullopt;
    }

    // A file name; relative ones are relative to the configuration file's directory.
    Failure filePath(const QString &path, const QJsonValue &value, QString &out)
    {
        QString name;
        if (auto failed = text(path, value, name))
            return failed;
        out = QDir::cleanPath(QDir(m_base).absoluteFilePath(name));
        return std::nullopt;
    }

    // A secret: a literal, env:NAME or file:/path, resolved now. Neither the value given nor the
    // resolved one ever goes into a message; a reference is remembered under `name`.
    Failure secret(const QString &path, const QJsonValue &value, const QString &name, BridgeConfig &config,
        QByteArray &out)
    {
        if (!value.isString() || value.toString().isEmpty())
            return error(path, u"must be a non-empty string (a literal, env:VARIABLE or file:/path)"_s);
        const QString reference = value.toString();
        auto resolved = polling::resolveSecret(reference, m_base);
        if (!resolved)
            return error(path, resolved.error().message);
        out = std::move(*resolved);
        if (isSecretReference(reference))
            config.secretReferences.insert(name, reference);
        return std::nullopt;
    }

    // Runs apply(key, "base.key", value) for every key of a section object but the null ones
    // (null keeps the default); the first failure ends it.
    template<typename Apply> Failure eachKey(const QJsonObject &object, const QString &base, Apply apply)
    {
        for (auto it = object.constBegin(); it != object.constEnd(); ++it) {
            if (it.value().isNull())
                continue;
            if (Failure failed = apply(it.key(), base + u'.' + it.key(), it.value()))
                return failed;
        }
        return std::nullopt;
    }

    Failure parseMqtt(const QJsonObject &object, BridgeConfig &config)
    {
        MqttSettings &m = config.mqtt;
        mqtt::ClientOptions &c = m.client;
        bool hasToken = false;
        bool hasUsername = false;
        bool hasPassword = false;
        const Failure sectionFailed = eachKey(
            object, u"mqtt"_s, [&](const QString &key, const QString &path, const QJsonValue &v) -> Failure {
                Failure failed;
                if (key == u"enabled") {
                    failed = boolean(path, v, m.enabled);
                } else if (key == u"mode") {
                    const auto mode = v.isString() ? mqtt::modeFromName(v.toString()) : std::nullopt;
                    if (!mode)
                        return error(path,
                            u"must be gateway or device or plain (got %1)"_s.arg(
                                polling::describeJsonValue(v)));
                    m.format.mode = *mode;
                } else if (key == u"host") {
                    failed = text(path, v, c.host);
                } else if (key == u"port") {
                    failed = integer(path, v, 1, 65535, c.port);
                } else if (key == u"protocol") {
                    if (v == QJsonValue(u"3.1.1"_s))
                        c.version = mqtt::ProtocolVersion::V311;
                    else if (v == QJsonValue(u"5"_s))
                        c.version = mqtt::ProtocolVersion::V5;
                    else
                        return error(path,
                            u"must be 3.1.1 or 5, as a string (got %1)"_s.arg(polling::describeJsonValue(v)));
                } else if (key == u"client_id") {
                    failed = text(path, v, c.clientId);
                } else if (key == u"token" || key == u"username" || key == u"password") {
                    QByteArray resolved;
                    failed = secret(path, v, path, config, resolved);
                    (key == u"password" ? c.password : c.username) = QString::fromUtf8(resolved);
                    (key == u"token" ? hasToken : key == u"username" ? hasUsername : hasPassword) = true;
                } else if (key == u"tls") {
                    failed = parseTls(path, v, c.tls);
                } else if (key == u"keepalive_s") {
                    failed = integer(path, v, kMinKeepAliveS, kMaxKeepAliveS, c.keepAliveS);
                } else if (key == u"max_messages_per_s") {
                    failed = number(path, v, 0, kMaxMessagesPerSecond, m.maxMessagesPerSecond);
                } else if (key == u"max_inflight") {
                    failed = integer(path, v, 1, kMaxInflight, m.maxInflightMessages);
                } else if (key == u"topic_template") {
                    failed = text(path, v, m.format.topicTemplate);
                    if (!failed
                        && (m.format.topicTemplate.contains(u'+') || m.format.topicTemplate.contains(u'#')))
                        return error(path,
                            u"must not contain the wildcards + or # (got %1)"_s.arg(
                                polling::describeJsonValue(v)));
                } else if (key == u"max_payload_bytes") {
                    failed = integer(path, v, kMinPayloadBytes, kMaxPayloadBytes, m.format.maxPayloadBytes);
                } else if (key == u"device_type") {
                    failed = text(path, v, m.format.deviceType);
                } else {
                    warn(path, u"unknown key, ignored"_s);
                }
                return failed;
            });
        if (sectionFailed)
            return sectionFailed;

        // ThingsBoard's access token travels as the MQTT username, so the two exclude each other.
        if (hasToken && hasUsername)
            return error(u"mqtt.username"_s,
                u"not allowed together with \"token\" (the access token is sent as the username)"_s);
        if (hasToken && hasPassword)
            return error(u"mqtt.password"_s,
                u"not allowed together with \"token\" (an access token has no password)"_s);
        // The publisher refuses broker credentials in device mode.
        if (m.format.mode == mqtt::Mode::Device && (hasToken || hasUsername || hasPassword))
            return error(u"mqtt."_s
                    + (hasToken           ? u"token"_s
                            : hasUsername ? u"username"_s
                                          : u"password"_s),
                u"not used in device mode, where each meter connects with its own \"mqtt\": {\"token\": …}"_s);
        if (hasPassword && !hasUsername && c.version == mqtt::ProtocolVersion::V311)
            return error(u"mqtt.password"_s,
                u"MQTT 3.1.1 sends a password only with a \"username\" (or use protocol 5)"_s);
        // The publisher refuses such a template: every meter would publish on one topic.
        if (m.format.mode == mqtt::Mode::Plain && !m.format.topicTemplate.contains(u"{id}"_s)
            && !m.format.topicTemplate.contains(u"{name}"_s))
            return error(u"mqtt.topic_template"_s,
                u"must contain {id} or {name} in plain mode, or every meter would publish on one topic "
                "(got %1)"_s.arg(polling::describeJsonValue(m.format.topicTemplate)));
        return checkTls(c.tls);
    }

    Failure parseTls(const QString &base, const QJsonValue &value, mqtt::TlsOptions &tls)
    {
        if (!value.isObject())
            return error(base, u"must be an object (got %1)"_s.arg(polling::jsonTypeName(value)));
        const QJsonObject object = value.toObject();
        return eachKey(
            object, base, [&](const QString &key, const QString &path, const QJsonValue &v) -> Failure {
                Failure failed;
                if (key == u"enabled")
                    failed = boolean(path, v, tls.enabled);
                else if (key == u"verify_peer")
                    failed = boolean(path, v, tls.verifyPeer);
                else if (key == u"ca_file")
                    failed = filePath(path, v, tls.caFile);
                else if (key == u"cert_file")
                    failed = filePath(path, v, tls.certFile);
                else if (key == u"key_file")
                    failed = filePath(path, v, tls.keyFile);
                else
                    warn(path, u"unknown key, ignored"_s);
                return failed;
            });
    }

    // Files are checked only when TLS is on: a configuration may keep them for later.
    Failure checkTls(const mqtt::TlsOptions &tls)
    {
        if (!tls.enabled)
            return std::nullopt;
        if (tls.caFile.isEmpty())
            return error(u"mqtt.tls.ca_file"_s, u"required when TLS is enabled (the CA certificates, PEM)"_s);
        if (!tls.certFile.isEmpty() && tls.keyFile.isEmpty())
            return error(
                u"mqtt.tls.key_file"_s, u"required with \"cert_file\" (the client certificate's key)"_s);
        if (tls.certFile.isEmpty() && !tls.keyFile.isEmpty())
            return error(u"mqtt.tls.cert_file"_s, u"required with \"key_file\""_s);
        const std::pair<QString, QString> files[]
            = {{u"ca_file"_s, tls.caFile}, {u"cert_file"_s, tls.certFile}, {u"key_file"_s, tls.keyFile}};
        for (const auto &[key, file] : files) {
            if (file.isEmpty())
                continue;
            const QFileInfo info(file);
            QString problem;
            if (!info.exists())
                problem = u"does not exist"_s;
            else if (info.isDir())
                problem = u"is a directory"_s;
            else if (!info.isReadable())
                problem = u"is not readable"_s;
            if (!problem.isEmpty())
                return error(u"mqtt.tls."_s + key, u"cannot read %1: it %2"_s.arg(file, problem));
        }
        return std::nullopt;
    }

    Failure parseStorage(const QJsonObject &object, BridgeConfig &config)
    {
        StorageSettings &s = config.storage;
        return eachKey(object, u"storage"_s,
            [&](const QString &key, const QString &path, const QJsonValue &v) -> Failure {
                Failure failed;
                if (key == u"path") {
                    failed = filePath(path, v, s.path);
                } else if (key == u"readings_retention_days") {
                    failed = integer(path, v, 0, kMaxRetentionDays, s.readingsRetentionDays);
                } else if (key == u"metrics_retention_days") {
                    failed = integer(path, v, 0, kMaxRetentionDays, s.metricsRetentionDays);
                } else if (key == u"events_retention_days") {
                    failed = integer(path, v, 0, kMaxRetentionDays, s.eventsRetentionDays);
                } else if (key == u"max_outbox_mb") {
                    qint64 mb = 0;
                    failed = integer(path, v, 0, kMaxOutboxMb, mb);
                    s.maxOutboxBytes = mb * 1024 * 1024;
                } else if (key == u"max_outbox_age_hours") {
                    failed = integer(path, v, 0, kMaxOutboxAgeHours, s.maxOutboxAgeHours);
                } else {
                    warn(path, u"unknown key, ignored"_s);
                }
                return failed;
            });
    }

    Failure parseHttp(const QJsonObject &object, BridgeConfig &config)
    {
        HttpSettings &h = config.http;
        return eachKey(
            object, u"http"_s, [&](const QString &key, const QString &path, const QJsonValue &v) -> Failure {
                Failure failed;
                if (key == u"enabled") {
                    failed = boolean(path, v, h.enabled);
                } else if (key == u"address") {
                    QString address;
                    if (auto bad = text(path, v, address))
                        return bad;
                    if (QHostAddress parsed; !parsed.setAddress(address))
                        return error(path,
                            u"must be an IP address such as 127.0.0.1 or ::1 (got %1)"_s.arg(
                                polling::describeJsonValue(v)));
                    h.address = address;
                } else if (key == u"port") {
                    failed = integer(path, v, 0, 65535, h.port);
                } else if (key == u"token") {
                    failed = secret(path, v, path, config, h.token);
                } else {
                    warn(path, u"unknown key, ignored"_s);
                }
                return failed;
            });
    }

    Failure parseMonitor(const QJsonObject &object, BridgeConfig &config)
    {
        MonitorSettings &m = config.monitor;
        return eachKey(object, u"monitor"_s,
            [&](const QString &key, const QString &path, const QJsonValue &v) -> Failure {
                Failure failed;
                if (key == u"interface") {
                    QString name;
                    if (auto bad = text(path, v, name, true))
                        return bad;
                    if (name.size() > kMaxInterfaceName || name.contains(u'/')
                        || std::any_of(name.cbegin(), name.cend(), [](QChar ch) { return ch.isSpace(); }))
                        return error(path,
                            u"must be a network interface name such as eth0, or empty for every interface "
                            "(got %1)"_s.arg(polling::describeJsonValue(v)));
                    m.interfaceName = name;
                } else if (key == u"rollup_s") {
                    failed = integer(path, v, 1, kMaxRollupS, m.rollupSeconds);
                } else {
                    warn(path, u"unknown key, ignored"_s);
                }
                return failed;
            });
    }

    Failure parseCommissioning(const QJsonObject &object, BridgeConfig &config)
    {
        CommissioningSettings &c = config.commissioning;
        bool hasFail = false;
        const Failure sectionFailed = eachKey(object, u"commissioning"_s,
            [&](const QString &key, const QString &path, const QJsonValue &v) -> Failure {
                Failure failed;
                if (key == u"clock_warn_s") {
                    failed = integer(path, v, 1, kMaxClockWarnS, c.clockWarnSeconds);
                } else if (key == u"clock_fail_s") {
                    failed = integer(path, v, 1, kMaxClockFailS, c.clockFailSeconds);
                    hasFail = true;
                } else if (key == u"baseline_polls") {
                    failed = integer(path, v, 1, kMaxBaselinePolls, c.baselinePolls);
                } else if (key == u"rtt_warn_ms") {
                    failed = integer(path, v, 1, kMaxRttWarnMs, c.rttWarnMs);
                } else if (key == u"parallel_meters") {
                    failed = integer(path, v, 1, kMaxParallelMeters, c.parallelMeters);
                } else if (key == u"ranges") {
                    failed = parseRanges(path, v, c.ranges);
                } else {
                    warn(path, u"unknown key, ignored"_s);
                }
                return failed;
            });
        if (sectionFailed)
            return sectionFailed;
        if (c.clockFailSeconds < c.clockWarnSeconds) {
            // Only clock_warn_s given: the fail threshold follows it rather than refusing the file.
            if (!hasFail)
                c.clockFailSeconds = c.clockWarnSeconds;
            else
                return error(u"commissioning.clock_fail_s"_s,
                    u"must be at least clock_warn_s (%1) (got %2)"_s.arg(c.clockWarnSeconds)
                        .arg(c.clockFailSeconds));
        }
        return std::nullopt;
    }

    Failure parseRanges(const QString &base, const QJsonValue &value, std::vector<PlausibilityRange> &out)
    {
        if (!value.isArray())
            return error(base, u"must be an array (got %1)"_s.arg(polling::jsonTypeName(value)));
        const QJsonArray array = value.toArray();
        out.clear();
        for (qsizetype i = 0; i < array.size(); ++i) {
            const QString path = base + u'[' + QString::number(i) + u']';
            if (!array[i].isObject())
                return error(path, u"must be an object (got %1)"_s.arg(polling::jsonTypeName(array[i])));
            const QJsonObject object = array[i].toObject();
            PlausibilityRange range;
            bool hasMin = false;
            bool hasMax = false;
            bool hasWarnMin = false;
            bool hasWarnMax = false;
            const double limit = std::numeric_limits<double>::max();
            const Failure failed = eachKey(object, path,
                [&](const QString &key, const QString &keyPath, const QJsonValue &v) -> Failure {
                    if (key == u"match") {
                        if (auto bad = text(keyPath, v, range.match))
                            return bad;
                        if (!isValidRangeMatch(range.match))
                            return error(keyPath,
                                u"must be a telemetry key or an OBIS code whose groups may be * such as "
                                "1.0.*.7.0.255 (got %1)"_s.arg(polling::describeJsonValue(v)));
                        return std::nullopt;
                    }
                    if (key == u"label")
                        return text(keyPath, v, range.label, true);
                    if (key == u"absolute")
                        return boolean(keyPath, v, range.absolute);
                    const std::pair<QLatin1StringView, std::pair<bool *, double *>> bounds[]
                        = {{"min"_L1, {&hasMin, &range.min}}, {"max"_L1, {&hasMax, &range.max}},
                            {"warn_min"_L1, {&hasWarnMin, &range.warnMin}},
                            {"warn_max"_L1, {&hasWarnMax, &range.warnMax}}};
                    for (const auto &[name, target] : bounds) {
                        if (key == name) {
                            *target.first = true;
                            return number(keyPath, v, -limit, limit, *target.second);
                        }
                    }
                    warn(keyPath, u"unknown key, ignored"_s);
                    return std::nullopt;
                });
            if (failed)
                return failed;
            if (range.match.isEmpty())
                return error(path + u".match"_s, u"required (a telemetry key or an OBIS code)"_s);
            if (!hasMin)
                return error(path + u".min"_s, u"required (the lowest value that passes)"_s);
            if (!hasMax)
                return error(path + u".max"_s, u"required (the highest value that passes)"_s);
            if (!hasWarnMin)
                range.warnMin = range.min;
            if (!hasWarnMax)
                range.warnMax = range.max;
            const auto num = [](double d) { return QString::number(d, 'g', QLocale::FloatingPointShortest); };
            if (range.min > range.max)
                return error(path + u".max"_s,
                    u"must be at least min (%1) (got %2)"_s.arg(num(range.min), num(range.max)));
            if (range.warnMin > range.min)
                return error(path + u".warn_min"_s,
                    u"must be at most min (%1) (got %2)"_s.arg(num(range.min), num(range.warnMin)));
            if (range.warnMax < range.max)
                return error(path + u".warn_max"_s,
                    u"must be at least max (%1) (got %2)"_s.arg(num(range.max), num(range.warnMax)));
            out.push_back(std::move(range));
        }
        return std::nullopt;
    }

    // The polling parser resolved the passwords; the references they were given as are read here
    // from the same keys (a meter's own "password", else the "polling" default).
    static void recordMeterPasswords(const QJsonObject &root, BridgeConfig &config)
    {
        const QJsonValue defaultPassword = root.value(u"polling"_s).toObject().value(u"password"_s);
        const QJsonArray meters = root.value(u"meters"_s).toArray();
        for (size_t i = 0; i < config.site.meters.size() && qsizetype(i) < meters.size(); ++i) {
            const polling::MeterConfig &meter = config.site.meters[i];
            if (meter.authentication != dlms::Authentication::Low)
                continue;
            const QJsonObject object = meters.at(qsizetype(i)).toObject();
            const QString reference
                = (object.contains(u"password"_s) ? object.value(u"password"_s) : defaultPassword).toString();
            if (isSecretReference(reference))
                config.secretReferences.insert(meterSecretName(meter.id, u"password"_s), reference);
        }
        recordMeterKeys(root, config);
    }

    // The same for EK and AK: a meter's own "security" key, else the "polling" one, for the
    // meters whose keys were resolved (those that use them).
    static void recordMeterKeys(const QJsonObject &root, BridgeConfig &config)
    {
        const QJsonObject defaults = root.value(u"polling"_s).toObject().value(u"security"_s).toObject();
        const QJsonArray meters = root.value(u"meters"_s).toArray();
        for (size_t i = 0; i < config.site.meters.size() && qsizetype(i) < meters.size(); ++i) {
            const polling::MeterConfig &meter = config.site.meters[i];
            const QJsonObject own = meters.at(qsizetype(i)).toObject().value(u"security"_s).toObject();
            const std::pair<QString, const QByteArray *> keys[]
                = {{u"ek"_s, &meter.security.blockCipherKey}, {u"ak"_s, &meter.security.authenticationKey}};
            for (const auto &[key, value] : keys) {
                if (value->isEmpty())
                    continue;
                const QString reference
                    = (own.contains(key) ? own.value(key) : defaults.value(key)).toString();
                if (isSecretReference(reference))
                    config.secretReferences.insert(
                        meterSecretName(meter.id, u"security."_s + key), reference);
            }
        }
    }

    Failure parseMeterPublishing(const QJsonObject &root, BridgeConfig &config)
    {
        const QJsonArray meters = root.value(u"meters"_s).toArray();
        for (size_t i = 0; i < config.site.meters.size() && qsizetype(i) < meters.size(); ++i) {
            const QString &id = config.site.meters[i].id;
            const QString base = u"meters[%1].mqtt"_s.arg(i);
            const QJsonValue value = meters.at(qsizetype(i)).toObject().value(u"mqtt"_s);
            if (!value.isUndefined() && !value.isNull()) {
                if (!value.isObject())
                    return error(base, u"must be an object (got %1)"_s.arg(polling::jsonTypeName(value)));
                MeterPublishing publishing;
                if (auto failed = parseOnePublishing(base, value.toObject(), id, config, publishing))
                    return failed;
                config.publishing.insert(id, publishing);
            }
            // Not an error: the publisher skips such a meter (its rows wait in the outbox).
            if (config.mqtt.enabled && config.mqtt.format.mode == mqtt::Mode::Device
                && config.publishingOf(id).accessToken.isEmpty())
                warn(base + u".token"_s, u"missing: Device mode publishes nothing for this meter"_s);
        }
        return std::nullopt;
    }

    Failure parseOnePublishing(const QString &base, const QJsonObject &object, const QString &id,
        BridgeConfig &config, MeterPublishing &publishing)
    {
        return eachKey(
            object, base, [&](const QString &key, const QString &path, const QJsonValue &v) -> Failure {
                Failure failed;
                if (key == u"token") {
                    QByteArray token;
                    failed = secret(path, v, meterSecretName(id, u"mqtt.token"_s), config, token);
                    publishing.accessToken = QString::fromUtf8(token);
                } else if (key == u"device_type") {
                    failed = text(path, v, publishing.deviceType);
                } else if (key == u"attributes") {
                    if (!v.isObject())
                        return error(path, u"must be an object (got %1)"_s.arg(polling::jsonTypeName(v)));
                    const QJsonObject attributes = v.toObject();
                    for (auto a = attributes.constBegin(); a != attributes.constEnd(); ++a) {
                        if (!a.value().isString() && !a.value().isDouble() && !a.value().isBool())
                            return error(path + u'.' + a.key(),
                                u"must be a string, number or boolean (got %1)"_s.arg(
                                    polling::jsonTypeName(a.value())));
                    }
                    publishing.attributes = attributes;
                } else {
                    warn(path, u"unknown key, ignored"_s);
                }
                return failed;
            });
    }

    QString m_file;
    QString m_base;
    QStringList *m_warnings;
};

// A secret for a saved document: its reference, else the literal when asked for.
void insertSecret(QJsonObject &object, const QString &key, const BridgeConfig &config, const QString &name,
    const QString &value, bool withSecrets)
{
    if (const auto it = config.secretReferences.constFind(name); it != config.secretReferences.constEnd())
        object.insert(key, *it);
    else if (withSecrets && !value.isEmpty())
        object.insert(key, value);
}

dlms::Error saveError(const QString &path, const QString &reason)
{
    return dlms::makeError(dlms::ErrorCode::IoError, u"cannot save %1: %2"_s.arg(path, reason));
}

// Creates `directory` and any missing parent, each 0700: they hold a file with secrets.
dlms::Result<void> makeDirectory(const QString &directory)
{
    QStringList missing;
    QString existing = QDir::cleanPath(directory);
    while (!QFileInfo::exists(existing) && QFileInfo(existing).path() != existing) {
        missing.prepend(existing);
        existing = QFileInfo(existing).path();
    }
    if (!QFileInfo(existing).isDir())
        return dlms::makeError(dlms::ErrorCode::IoError,
            u"cannot create the directory %1: %2 is not a directory"_s.arg(
                QDir::cleanPath(directory), existing));
    for (const QString &dir : std::as_const(missing)) {
#ifdef Q_OS_UNIX
        if (::mkdir(QFile::encodeName(dir).constData(), S_IRWXU) != 0 && errno != EEXIST)
            return dlms::makeError(dlms::ErrorCode::IoError,
                u"cannot create the directory %1: %2"_s.arg(dir, qt_error_string(errno)));
#else
        if (!QDir().mkdir(dir, QFileDevice::ReadOwner | QFileDevice::WriteOwner | QFileDevice::ExeOwner))
            return dlms::makeError(dlms::ErrorCode::IoError, u"cannot create the directory %1"_s.arg(dir));
#endif
    }
    return {};
}

} // namespace

bool operator==(const MqttSettings &a, const MqttSettings &b)
{
    const mqtt::ClientOptions &x = a.client;
    const mqtt::ClientOptions &y = b.client;
    const bool tlsSame = x.tls.enabled == y.tls.enabled && x.tls.caFile == y.tls.caFile
        && x.tls.certFile == y.tls.certFile && x.tls.keyFile == y.tls.keyFile
        && x.tls.verifyPeer == y.tls.verifyPeer;
    const bool clientSame = x.host == y.host && x.port == y.port && x.clientId == y.clientId
        && x.version == y.version && x.username == y.username && x.password == y.password && tlsSame
        && x.keepAliveS == y.keepAliveS && x.cleanSession == y.cleanSession
        && x.autoReconnect == y.autoReconnect && x.reconnectMinMs == y.reconnectMinMs
        && x.reconnectMaxMs == y.reconnectMaxMs && x.connectTimeoutMs == y.connectTimeoutMs
        && x.maxInflight == y.maxInflight;
    const bool formatSame = a.format.mode == b.format.mode && a.format.topicTemplate == b.format.topicTemplate
        && a.format.maxPayloadBytes == b.format.maxPayloadBytes && a.format.deviceType == b.format.deviceType;
    return a.enabled == b.enabled && clientSame && formatSame
        && a.maxMessagesPerSecond == b.maxMessagesPerSecond && a.maxInflightMessages == b.maxInflightMessages;
}

const polling::MeterConfig *BridgeConfig::findMeter(const QString &id) const
{
    for (const polling::MeterConfig &meter : site.meters)
        if (meter.id == id)
            return &meter;
    return nullptr;
}

MeterPublishing BridgeConfig::publishingOf(const QString &id) const
{
    return publishing.value(id);
}

dlms::Result<BridgeConfig> parseBridgeConfig(
    const QJsonObject &root, const QString &fileName, const QString &baseDirectory, QStringList *warnings)
{
    return ConfigParser(fileName, baseDirectory, warnings).parse(root);
}

dlms::Result<BridgeConfig> loadBridgeConfig(const QString &path, QStringList *warnings)
{
    const auto root = polling::readJsonObjectFile(path);
    if (!root)
        return root.error();
    const QFileInfo info(path);
    auto config = parseBridgeConfig(*root, path, info.absolutePath(), warnings);
    if (config)
        config->fileName = info.absoluteFilePath();
    return config;
}

QJsonObject bridgeConfigToJson(const BridgeConfig &config, bool withSecrets)
{
    QJsonObject root;
    root.insert(u"polling"_s, QJsonObject {{u"workers"_s, config.site.workers}});

    QJsonArray meters;
    for (const polling::MeterConfig &meter : config.site.meters) {
        QJsonObject object = polling::meterConfigToJson(meter, false);
        if (meter.authentication == dlms::Authentication::Low)
            insertSecret(object, u"password"_s, config, meterSecretName(meter.id, u"password"_s),
                QString::fromUtf8(meter.password), withSecrets);
        if (QJsonObject security = object.value(u"security"_s).toObject(); !security.isEmpty()) {
            insertSecret(security, u"ek"_s, config, meterSecretName(meter.id, u"security.ek"_s),
                QString::fromLatin1(meter.security.blockCipherKey.toHex().toUpper()), withSecrets);
            insertSecret(security, u"ak"_s, config, meterSecretName(meter.id, u"security.ak"_s),
                QString::fromLatin1(meter.security.authenticationKey.toHex().toUpper()), withSecrets);
            object.insert(u"security"_s, security);
        }
        if (const auto it = config.publishing.constFind(meter.id); it != config.publishing.constEnd()) {
            QJsonObject publishing;
            insertSecret(publishing, u"token"_s, config, meterSecretName(meter.id, u"mqtt.token"_s),
                it->accessToken, withSecrets);
            if (!it->deviceType.isEmpty())
                publishing.insert(u"device_type"_s, it->deviceType);
            if (!it->attributes.isEmpty())
                publishing.insert(u"attributes"_s, it->attributes);
            object.insert(u"mqtt"_s, publishing);
        }
        meters.append(object);
    }
    root.insert(u"meters"_s, meters);

    const MqttSettings &m = config.mqtt;
    const mqtt::ClientOptions &c = m.client;
    QJsonObject mqttObject {{u"enabled"_s, m.enabled}, {u"mode"_s, mqtt::modeName(m.format.mode)},
        {u"host"_s, c.host}, {u"port"_s, c.port}, {u"protocol"_s, protocolName(c.version)},
        {u"keepalive_s"_s, c.keepAliveS}, {u"max_messages_per_s"_s, m.maxMessagesPerSecond},
        {u"max_inflight"_s, m.maxInflightMessages}, {u"topic_template"_s, m.format.topicTemplate},
        {u"max_payload_bytes"_s, qint64(m.format.maxPayloadBytes)}, {u"device_type"_s, m.format.deviceType}};
    // The default follows the machine's name, so it is not pinned into a saved file.
    if (c.clientId != defaultClientId())
        mqttObject.insert(u"client_id"_s, c.clientId);
    if (config.secretReferences.contains(u"mqtt.token"_s))
        insertSecret(mqttObject, u"token"_s, config, u"mqtt.token"_s, c.username, withSecrets);
    else
        insertSecret(mqttObject, u"username"_s, config, u"mqtt.username"_s, c.username, withSecrets);
    insertSecret(mqttObject, u"password"_s, config, u"mqtt.password"_s, c.password, withSecrets);
    QJsonObject tls {{u"enabled"_s, c.tls.enabled}, {u"verify_peer"_s, c.tls.verifyPeer}};
    if (!c.tls.caFile.isEmpty())
        tls.insert(u"ca_file"_s, c.tls.caFile);
    if (!c.tls.certFile.isEmpty())
        tls.insert(u"cert_file"_s, c.tls.certFile);
    if (!c.tls.keyFile.isEmpty())
        tls.insert(u"key_file"_s, c.tls.keyFile);
    mqttObject.insert(u"tls"_s, tls);
    root.insert(u"mqtt"_s, mqttObject);

    const StorageSettings &s = config.storage;
    root.insert(u"storage"_s,
        QJsonObject {{u"path"_s, s.path}, {u"readings_retention_days"_s, s.readingsRetentionDays},
            {u"metrics_retention_days"_s, s.metricsRetentionDays},
            {u"events_retention_days"_s, s.eventsRetentionDays},
            {u"max_outbox_mb"_s, s.maxOutboxBytes / (1024 * 1024)},
            {u"max_outbox_age_hours"_s, s.maxOutboxAgeHours}});

    QJsonObject http {{u"enabled"_s, config.http.enabled}, {u"address"_s, config.http.address},
        {u"port"_s, config.http.port}};
    insertSecret(
        http, u"token"_s, config, u"http.token"_s, QString::fromUtf8(config.http.token), withSecrets);
    root.insert(u"http"_s, http);

    root.insert(u"monitor"_s,
        QJsonObject {
            {u"interface"_s, config.monitor.interfaceName}, {u"rollup_s"_s, config.monitor.rollupSeconds}});

    // Only when changed: a file that never mentioned the section does not grow one on save.
    const CommissioningSettings &cs = config.commissioning;
    if (!(cs == CommissioningSettings {})) {
        QJsonArray ranges;
        for (const PlausibilityRange &range : cs.ranges)
            ranges.append(QJsonObject {{u"match"_s, range.match}, {u"label"_s, range.label},
                {u"min"_s, range.min}, {u"max"_s, range.max}, {u"warn_min"_s, range.warnMin},
                {u"warn_max"_s, range.warnMax}, {u"absolute"_s, range.absolute}});
        root.insert(u"commissioning"_s,
            QJsonObject {{u"clock_warn_s"_s, cs.clockWarnSeconds}, {u"clock_fail_s"_s, cs.clockFailSeconds},
                {u"baseline_polls"_s, cs.baselinePolls}, {u"rtt_warn_ms"_s, cs.rttWarnMs},
                {u"parallel_meters"_s, cs.parallelMeters}, {u"ranges"_s, ranges}});
    }
    return root;
}

dlms::Result<void> saveBridgeConfig(const BridgeConfig &config, const QString &path)
{
    const QFileInfo info(path);
    if (info.isDir())
        return saveError(path, u"it is a directory"_s);
    if (auto made = makeDirectory(info.absolutePath()); !made)
        return saveError(path, made.error().message);

    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly))
        return saveError(path, file.errorString());
        // Restricted before the first byte is written: the file may hold secrets.
#ifdef Q_OS_UNIX
    if (::fchmod(file.handle(), S_IRUSR | S_IWUSR) != 0) {
        const QString reason = qt_error_string(errno);
        file.cancelWriting();
        return saveError(path, reason);
    }
#else
    if (!file.setPermissions(QFileDevice::ReadOwner | QFileDevice::WriteOwner)) {
        file.cancelWriting();
        return saveError(path, file.errorString());
    }
#endif
    const QByteArray text = QJsonDocument(bridgeConfigToJson(config, true)).toJson(QJsonDocument::Indented);
    if (file.write(text) != text.size()) {
        const QString reason = file.errorString();
        file.cancelWriting();
        return saveError(path, reason);
    }
    if (!file.commit())
        return saveError(path, file.errorString());
    return {};
}

QString defaultConfigPath()
{
    return QStandardPaths::writableLocation(QStandardPaths::GenericConfigLocation) + u'/' + kConfigDirectory
        + u"/dlmsbridge.json"_s;
}

QString defaultDatabasePath()
{
    return QStandardPaths::writableLocation(QStandardPaths::GenericDataLocation) + u'/' + kConfigDirectory
        + u"/dlmsbridge.db"_s;
}

bool isSecretReference(const QString &secret)
{
    return secret.startsWith(u"env:"_s) || secret.startsWith(u"file:"_s);
}

QString defaultClientId()
{
    const QString host = QSysInfo::machineHostName();
    return host.isEmpty() ? u"dlmsbridge"_s : u"dlmsbridge-"_s + host;
}

storage::StorageOptions storageOptions(const BridgeConfig &config)
{
    storage::StorageOptions options;
    const StorageSettings &s = config.storage;
    options.path = s.path;
    options.readingsRetentionDays = s.readingsRetentionDays;
    options.metricsRetentionDays = s.metricsRetentionDays;
    options.eventsRetentionDays = s.eventsRetentionDays;
    options.maxOutboxBytes = s.maxOutboxBytes;
    options.maxOutboxAgeHours = s.maxOutboxAgeHours;
    return options;
}

mqtt::PublisherOptions publisherOptions(const BridgeConfig &config)
{
    mqtt::PublisherOptions options;
    options.databasePath = config.storage.path;
    options.format = config.mqtt.format;
    options.client = config.mqtt.client;
    options.maxMessagesPerSecond = config.mqtt.maxMessagesPerSecond;
    options.maxInflightMessages = config.mqtt.maxInflightMessages;
    return options;
}

mqtt::MeterDevice meterDevice(const BridgeConfig &config, const polling::MeterConfig &meter)
{
    const MeterPublishing publishing = config.publishingOf(meter.id);
    mqtt::MeterDevice device;
    device.id = meter.id;
    device.name = meter.name;
    device.deviceType = publishing.deviceType;
    device.accessToken = publishing.accessToken;
    // What the bridge knows of the meter first; a configured attribute of the same name wins,
    // as the one the user wrote on purpose.
    device.attributes = QJsonObject {{u"address"_s, meter.endpoint()},
        {u"transport"_s, dlms::transportName(meter.transport)}, {u"serverAddress"_s, meter.serverAddress}};
    for (auto it = publishing.attributes.constBegin(); it != publishing.attributes.constEnd(); ++it)
        device.attributes.insert(it.key(), it.value());
    return device;
}

} // namespace app
