#include "siteconfig.h"

#include <QtCore/QDir>
#include <QtCore/QFile>
#include <QtCore/QFileInfo>
#include <QtCore/QHash>
#include <QtCore/QJsonArray>
#include <QtCore/QJsonDocument>

#include <algorithm>
#include <cmath>
#include <functional>
#include <optional>

using namespace Qt::StringLiterals;

namespace polling {

namespace {

// Bounds shared by the parser and its messages, so a message states exactly what is accepted.
constexpr qint64 kMaxIntervalMs = 86'400'000; // a day
constexpr qint64 kMinIntervalMs = 100; // below this a DLMS round trip alone would not fit
constexpr qint64 kMaxTimeoutMs = 3'600'000;
constexpr qint64 kMaxWorkers = 1024;
constexpr qint64 kMaxItemsPerRequest = 1000;
constexpr double kMaxRequestsPerSecond = 10'000;
constexpr qint64 kMaxFileBytes = 64 << 20; // a 2,000-meter site is about 1 MB

// Where each setting came from ("polling.backoff.initial_ms" or "meters[3].port"), keyed by its
// field path in the meter ("backoff.initial_ms"), so a check made on the whole meter can name it.
using Origins = QHash<QString, QString>;

// A meter's settings while they are assembled from the "polling" defaults and its own object.
struct Draft {
    MeterConfig config;
    Origins origins;
    std::optional<QString> passwordReference; // unresolved: a literal, env:NAME or file:/path
    std::optional<QString> ekReference; // security.ek, unresolved like the password
    std::optional<QString> akReference; // security.ak
    std::optional<QString> id;
    std::optional<QString> name;
    bool hasHost = false;
};

class SiteParser {
public:
    SiteParser(const QString &fileName, QStringList *warnings, const QString &baseDirectory)
        : m_file(fileName), m_warnings(warnings), m_base(baseDirectory)
    {
    }

    dlms::Result<SiteConfig> parse(const QJsonObject &root)
    {
        SiteConfig site;
        Draft defaults;
        const QJsonValue polling = root.value(u"polling"_s);
        if (!polling.isUndefined() && !polling.isNull()) {
            if (!polling.isObject())
                return error(u"polling"_s, u"must be an object (got %1)"_s.arg(jsonTypeName(polling)));
            const QJsonObject object = polling.toObject();
            if (const QJsonValue workers = object.value(u"workers"_s); !workers.isUndefined()) {
                const auto n = integer(u"polling.workers"_s, workers, 0, kMaxWorkers);
                if (!n)
                    return n.error();
                site.workers = int(*n);
            }
            if (auto failed = applyMeterKeys(object, u"polling"_s, defaults, true))
                return *failed;
        }

        const QJsonValue meters = root.value(u"meters"_s);
        if (meters.isUndefined() || meters.isNull())
            return site;
        if (!meters.isArray())
            return error(
                u"meters"_s, u"must be an array of meter objects (got %1)"_s.arg(jsonTypeName(meters)));
        const QJsonArray list = meters.toArray();
        QHash<QString, int> ids;
        site.meters.reserve(size_t(list.size()));
        for (qsizetype i = 0; i < list.size(); ++i) {
            const QString path = u"meters[%1]"_s.arg(i);
            if (!list.at(i).isObject())
                return error(path, u"must be an object (got %1)"_s.arg(jsonTypeName(list.at(i))));
            Draft draft = defaults;
            if (auto failed = applyMeterKeys(list.at(i).toObject(), path, draft, false))
                return *failed;
            auto meter = finish(std::move(draft), path);
            if (!meter)
                return meter.error();
            if (const auto seen = ids.constFind(meter->id); seen != ids.constEnd())
                return error(path + u".id"_s,
                    u"duplicate id '%1' (also meters[%2]); give each meter its own \"id\""_s.arg(
                        meter->id, QString::number(*seen)));
            ids.insert(meter->id, int(i));
            site.meters.push_back(std::move(*meter));
        }
        return site;
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

    dlms::Result<qint64> integer(const QString &path, const QJsonValue &value, qint64 min, qint64 max) const
    {
        const double d = value.toDouble();
        if (!value.isDouble() || !std::isfinite(d) || d != std::floor(d) || d < double(min)
            || d > double(max))
            return error(path,
                u"must be an integer from %1 to %2 (got %3)"_s.arg(min).arg(max).arg(
                    describeJsonNumber(value)));
        return qint64(d);
    }

    dlms::Result<double> number(const QString &path, const QJsonValue &value, double min, double max) const
    {
        const double d = value.toDouble();
        if (!value.isDouble() || !std::isfinite(d) || d < min || d > max)
            return error(path,
                u"must be a number from %1 to %2 (got %3)"_s.arg(min).arg(max).arg(
                    describeJsonNumber(value)));
        return d;
    }

    dlms::Result<QString> text(const QString &path, const QJsonValue &value) const
    {
        if (!value.isString())
            return error(path, u"must be a string (got %1)"_s.arg(jsonTypeName(value)));
        const QString s = value.toString().trimmed();
        if (s.isEmpty())
            return error(path, u"must not be empty"_s);
        return s;
    }

    // One of `names`, mapped through `values`.
    template<typename T>
    dlms::Result<T> choice(const QString &path, const QJsonValue &value, const QStringList &names,
        const std::vector<T> &values) const
    {
        const qsizetype index = value.isString() ? names.indexOf(value.toString()) : -1;
        if (index < 0)
            return error(path, u"must be %1 (got %2)"_s.arg(names.join(u" or "_s), describeJsonValue(value)));
        return values[size_t(index)];
    }

    // Applies every key of a meter object (or of the "polling" defaults) onto `draft`. Returns
    // the first error.
    std::optional<dlms::Error> applyMeterKeys(
        const QJsonObject &object, const QString &base, Draft &draft, bool defaults)
    {
        MeterConfig &c = draft.config;
        for (auto it = object.constBegin(); it != object.constEnd(); ++it) {
            const QString key = it.key();
            const QString path = base + u'.' + key;
            const QJsonValue v = it.value();

            // Integers stored into a field of type T after the range check.
            auto setInt = [&](auto &field, qint64 min, qint64 max) -> std::optional<dlms::Error> {
                const auto n = integer(path, v, min, max);
                if (!n)
                    return n.error();
                field = std::remove_reference_t<decltype(field)>(*n);
                return std::nullopt;
            };

            std::optional<dlms::Error> failed;
            draft.origins.insert(key, path);
            if (key == u"workers") {
                if (!defaults)
                    warn(path, u"only valid in \"polling\", ignored"_s);
            } else if (key == u"id" || key == u"name") {
                if (defaults) {
                    warn(path, u"names one meter, not a default; ignored"_s);
                    continue;
                }
                const auto s = text(path, v);
                if (!s)
                    return s.error();
                (key == u"id" ? draft.id : draft.name) = *s;
            } else if (key == u"host") {
                const auto s = text(path, v);
                if (!s)
                    return s.error();
                c.host = *s;
                draft.hasHost = true;
            } else if (key == u"port") {
                failed = setInt(c.port, 1, 65535);
            } else if (key == u"transport") {
                const auto t = choice<dlms::Transport>(
                    path, v, {u"wrapper"_s, u"hdlc"_s}, {dlms::Transport::Wrapper, dlms::Transport::Hdlc});
                if (!t)
                    return t.error();
                c.transport = *t;
            } else if (key == u"client_address") {
                failed = setInt(c.clientAddress, 1, 0xFFFF);
            } else if (key == u"server_address") {
                failed = setInt(c.serverAddress, 1, 0xFFFF);
            } else if (key == u"physical_address") {
                failed = setInt(c.physicalAddress, 0, 0x3FFF);
            } else if (key == u"auth") {
                // The other HLS names parse, so that validation can say they are not supported.
                const auto a = v.isString() ? authenticationFromKeyName(v.toString()) : std::nullopt;
                if (!a)
                    return error(path, u"must be none, low or hls-gmac (got %1)"_s.arg(describeJsonValue(v)));
                c.authentication = *a;
            } else if (key == u"security") {
                failed = applySecurity(path, v, draft);
            } else if (key == u"password") {
                // Never echo the value: it may be the secret itself.
                if (!v.isString() || v.toString().isEmpty())
                    return error(
                        path, u"must be a non-empty string (a literal, env:VARIABLE or file:/path)"_s);
                draft.passwordReference = v.toString();
            } else if (key == u"interval_ms") {
                failed = setInt(c.pollIntervalMs, kMinIntervalMs, kMaxIntervalMs);
            } else if (key == u"connect_timeout_ms") {
                failed = setInt(c.connectTimeoutMs, 1, kMaxTimeoutMs);
            } else if (key == u"timeout_ms") {
                failed = setInt(c.requestTimeoutMs, 1, kMaxTimeoutMs);
            } else if (key == u"retries") {
                failed = setInt(c.retries, 0, 10);
            } else if (key == u"association") {
                const auto m = choice<AssociationMode>(path, v, {u"keep-open"_s, u"per-poll"_s},
                    {AssociationMode::KeepOpen, AssociationMode::PerPoll});
                if (!m)
                    return m.error();
                c.associationMode = *m;
            } else if (key == u"max_pdu") {
                failed = setInt(c.maxPduSize, 64, 65535);
            } else if (key == u"max_items_per_request") {
                failed = setInt(c.maxItemsPerRequest, 1, kMaxItemsPerRequest);
            } else if (key == u"max_requests_per_s") {
                const auto d = number(path, v, 0, kMaxRequestsPerSecond);
                if (!d)
                    return d.error();
                c.maxRequestsPerSecond = *d;
            } else if (key == u"snapshot_profile") {
                if (v.isNull() || (v.isString() && v.toString().isEmpty())) {
                    c.snapshotProfile.reset();
                } else {
                    const auto profile = obis(path, v);
                    if (!profile)
                        return profile.error();
                    c.snapshotProfile = *profile;
                }
            } else if (key == u"hdlc") {
                failed = applyHdlc(path, v, c.hdlc, draft.origins);
            } else if (key == u"backoff") {
                failed = applyBackoff(path, v, c.backoff, draft.origins);
            } else if (key == u"breaker") {
                failed = applyBreaker(path, v, c.breaker, draft.origins);
            } else if (key == u"items") {
                auto items = parseItems(path, v);
                if (!items)
                    return items.error();
                c.items = std::move(*items);
            } else if (key == u"mqtt") {
                // The bridge's configuration (app::BridgeConfig) reads a meter's publishing keys.
                if (defaults)
                    warn(path, u"only valid in a meter, ignored"_s);
            } else {
                warn(path, u"unknown key, ignored"_s);
            }
            if (failed)
                return failed;
        }
        return std::nullopt;
    }

    // Runs `apply(key, path, value)` for every key of a nested object; unknown keys warn.
    std::optional<dlms::Error> forEachKey(const QString &path, const QJsonValue &value,
        const QStringList &known,
        const std::function<std::optional<dlms::Error>(const QString &, const QString &, const QJsonValue &)>
            &apply)
    {
        if (!value.isObject())
            return error(path, u"must be an object (got %1)"_s.arg(jsonTypeName(value)));
        const QJsonObject object = value.toObject();
        // The known keys in their listed order, so a general key ("max_info") is applied before
        // a specific one ("max_info_tx") whatever the file's order.
        for (const QString &key : known) {
            if (const QJsonValue v = object.value(key); !v.isUndefined())
                if (auto failed = apply(key, path + u'.' + key, v))
                    return failed;
        }
        for (auto it = object.constBegin(); it != object.constEnd(); ++it)
            if (!known.contains(it.key()))
                warn(path + u'.' + it.key(), u"unknown key, ignored"_s);
        return std::nullopt;
    }

    std::optional<dlms::Error> applyHdlc(
        const QString &path, const QJsonValue &value, dlms::hdlc::LinkParameters &p, Origins &origins)
    {
        return forEachKey(path, value,
            {u"max_info"_s, u"max_info_tx"_s, u"max_info_rx"_s, u"window"_s, u"window_tx"_s, u"window_rx"_s},
            [&](const QString &key, const QString &keyPath,
                const QJsonValue &v) -> std::optional<dlms::Error> {
                const bool info = key.startsWith(u"max_info"_s);
                const auto n = info ? integer(keyPath, v, 32, 2030) : integer(keyPath, v, 1, 7);
                if (!n)
                    return n.error();
                const bool tx = !key.endsWith(u"_rx"_s);
                const bool rx = !key.endsWith(u"_tx"_s);
                const QString field = info ? u"hdlc.max_info"_s : u"hdlc.window"_s;
                if (tx)
                    origins.insert(field + u"_tx"_s, keyPath);
                if (rx)
                    origins.insert(field + u"_rx"_s, keyPath);
                if (info) {
                    if (tx)
                        p.maxInfoTx = quint16(*n);
                    if (rx)
                        p.maxInfoRx = quint16(*n);
                } else {
                    if (tx)
                        p.windowTx = quint32(*n);
                    if (rx)
                        p.windowRx = quint32(*n);
                }
                return std::nullopt;
            });
    }

    // The "security" object, key by key over what the "polling" defaults set. The keys stay
    // references until finish() knows whether the meter uses them.
    std::optional<dlms::Error> applySecurity(const QString &path, const QJsonValue &value, Draft &draft)
    {
        dlms::SecuritySettings &security = draft.config.security;
        return forEachKey(path, value,
            {u"policy"_s, u"system_title"_s, u"ek"_s, u"ak"_s, u"dedicated_key"_s, u"general_ciphering"_s},
            [&](const QString &key, const QString &keyPath,
                const QJsonValue &v) -> std::optional<dlms::Error> {
                draft.origins.insert(u"security."_s + key, keyPath);
                if (key == u"policy") {
                    const auto policy = choice<dlms::SecurityPolicy>(keyPath, v,
                        {u"none"_s, u"auth"_s, u"enc"_s, u"auth-enc"_s},
                        {dlms::SecurityPolicy::None, dlms::SecurityPolicy::Authenticated,
                            dlms::SecurityPolicy::Encrypted, dlms::SecurityPolicy::AuthenticatedEncrypted});
                    if (!policy)
                        return policy.error();
                    security.policy = *policy;
                } else if (key == u"system_title") {
                    if (!v.isString())
                        return error(keyPath,
                            u"must be 8 bytes of hex such as \"4D4D4D0000000001\" (got %1)"_s.arg(
                                jsonTypeName(v)));
                    const auto title = dlms::security::parseHexBytes(
                        v.toString(), dlms::security::SystemTitleSize, u"the system title"_s);
                    if (!title)
                        return error(keyPath, title.error().message);
                    security.systemTitle = *title;
                } else if (key == u"ek" || key == u"ak") {
                    // Never echo the value: it may be the key itself.
                    if (!v.isString() || v.toString().isEmpty())
                        return error(keyPath,
                            u"must be a non-empty string (16 bytes of hex, env:VARIABLE or file:/path)"_s);
                    (key == u"ek" ? draft.ekReference : draft.akReference) = v.toString();
                } else {
                    if (!v.isBool())
                        return error(keyPath, u"must be true or false (got %1)"_s.arg(describeJsonValue(v)));
                    (key == u"dedicated_key" ? security.dedicatedKey : security.generalCiphering)
                        = v.toBool();
                }
                return std::nullopt;
            });
    }

    // A key reference resolved, the message placed at the key that gave it.
    dlms::Result<QByteArray> keyAt(
        const Draft &draft, const QString &meterPath, const QString &field, const QString &reference) const
    {
        auto key = resolveKey(reference, m_base);
        if (!key)
            return error(originOf(draft, meterPath, field), key.error().message);
        return std::move(*key);
    }

    // Ranges here only keep the numbers within their fields; validateMeterConfig() has the
    // minimums that protect the meter.
    std::optional<dlms::Error> applyBackoff(
        const QString &path, const QJsonValue &value, BackoffPolicy &b, Origins &origins)
    {
        return forEachKey(path, value, {u"initial_ms"_s, u"max_ms"_s, u"multiplier"_s, u"jitter"_s},
            [&](const QString &key, const QString &keyPath,
                const QJsonValue &v) -> std::optional<dlms::Error> {
                origins.insert(u"backoff."_s + key, keyPath);
                if (key == u"multiplier" || key == u"jitter") {
                    const auto d = key == u"jitter" ? number(keyPath, v, 0, 1) : number(keyPath, v, 1, 100);
                    if (!d)
                        return d.error();
                    (key == u"jitter" ? b.jitter : b.multiplier) = *d;
                    return std::nullopt;
                }
                const auto n = key == u"initial_ms" ? integer(keyPath, v, 0, kMaxTimeoutMs)
                                                    : integer(keyPath, v, 0, kMaxIntervalMs);
                if (!n)
                    return n.error();
                (key == u"initial_ms" ? b.initialMs : b.maxMs) = int(*n);
                return std::nullopt;
            });
    }

    std::optional<dlms::Error> applyBreaker(
        const QString &path, const QJsonValue &value, CircuitBreakerPolicy &b, Origins &origins)
    {
        return forEachKey(path, value, {u"failures"_s, u"open_ms"_s},
            [&](const QString &key, const QString &keyPath,
                const QJsonValue &v) -> std::optional<dlms::Error> {
                origins.insert(u"breaker."_s + key, keyPath);
                const auto n = key == u"failures" ? integer(keyPath, v, 0, 1000)
                                                  : integer(keyPath, v, 0, kMaxIntervalMs);
                if (!n)
                    return n.error();
                (key == u"failures" ? b.failureThreshold : b.openMs) = int(*n);
                return std::nullopt;
            });
    }

    dlms::Result<dlms::Obis> obis(const QString &path, const QJsonValue &value) const
    {
        if (!value.isString())
            return error(
                path, u"must be an OBIS code such as \"1.0.32.7.0.255\" (got %1)"_s.arg(jsonTypeName(value)));
        const auto parsed = dlms::Obis::parse(value.toString());
        if (!parsed)
            return error(
                path, u"%1 is not an OBIS code: %2"_s.arg(describeJsonValue(value), parsed.error().message));
        return *parsed;
    }

    dlms::Result<std::vector<PollItem>> parseItems(const QString &path, const QJsonValue &value)
    {
        if (!value.isArray())
            return error(
                path, u"must be an array of OBIS codes or item objects (got %1)"_s.arg(jsonTypeName(value)));
        const QJsonArray array = value.toArray();
        if (array.isEmpty())
            return error(path, u"must list at least one item"_s);
        std::vector<PollItem> items;
        items.reserve(size_t(array.size()));
        QHash<QString, qsizetype> keys;
        for (qsizetype i = 0; i < array.size(); ++i) {
            const QString itemPath = u"%1[%2]"_s.arg(path).arg(i);
            const QJsonValue entry = array.at(i);
            PollItem item;
            std::optional<QString> key;
            std::optional<quint16> classId;
            if (entry.isString()) {
                const auto code = obis(itemPath, entry);
                if (!code)
                    return code.error();
                item.obis = *code;
            } else if (entry.isObject()) {
                const QJsonObject object = entry.toObject();
                if (!object.contains(u"obis"_s))
                    return error(itemPath + u".obis"_s, u"required"_s);
                const auto code = obis(itemPath + u".obis"_s, object.value(u"obis"_s));
                if (!code)
                    return code.error();
                item.obis = *code;
                for (auto it = object.constBegin(); it != object.constEnd(); ++it) {
                    const QString keyPath = itemPath + u'.' + it.key();
                    if (it.key() == u"obis") {
                        continue;
                    } else if (it.key() == u"key") {
                        const auto s = text(keyPath, it.value());
                        if (!s)
                            return s.error();
                        key = *s;
                    } else if (it.key() == u"class") {
                        const auto n = integer(keyPath, it.value(), 1, 65535);
                        if (!n)
                            return n.error();
                        classId = quint16(*n);
                    } else if (it.key() == u"attribute") {
                        const auto n = integer(keyPath, it.value(), 1, 127);
                        if (!n)
                            return n.error();
                        item.attribute = qint8(*n);
                    } else {
                        warn(keyPath, u"unknown key, ignored"_s);
                    }
                }
            } else {
                return error(itemPath,
                    u"must be an OBIS code string or an item object (got %1)"_s.arg(jsonTypeName(entry)));
            }
            if (!classId) {
                const dlms::WellKnownObject *known = dlms::findWellKnown(item.obis);
                classId = known ? known->classId : quint16(1);
            }
            item.classId = *classId;
            item.key = key ? *key : defaultTelemetryKey(item.obis);
            if (const auto seen = keys.constFind(item.key); seen != keys.constEnd())
                return error(entry.isObject() && key ? itemPath + u".key"_s : itemPath,
                    u"duplicate key '%1' (also %2[%3]); give one of them its own \"key\""_s.arg(
                        item.key, path, QString::number(*seen)));
            keys.insert(item.key, i);
            items.push_back(std::move(item));
        }
        return items;
    }

    // The JSON path a meter field came from: where it (or the object holding it) was set, in
    // the meter or in the "polling" defaults; else where it would go in the meter.
    static QString originOf(const Draft &draft, const QString &meterPath, const QString &field)
    {
        for (qsizetype end = field.size(); end > 0;) {
            if (const auto it = draft.origins.constFind(field.first(end)); it != draft.origins.constEnd())
                return *it + field.sliced(end);
            const qsizetype dot = field.lastIndexOf(u'.', end - 1);
            const qsizetype bracket = field.lastIndexOf(u'[', end - 1);
            end = std::max(dot, bracket);
        }
        return meterPath + u'.' + field;
    }

    // Checks what depends on several keys, fills the defaults that depend on others, then
    // applies every rule of validateMeterConfig() to the finished meter.
    dlms::Result<MeterConfig> finish(Draft draft, const QString &path) const
    {
        MeterConfig &c = draft.config;
        if (!draft.hasHost)
            return error(path + u".host"_s, u"required (the meter's IP address or host name)"_s);
        if (c.items.empty())
            return error(path + u".items"_s, u"required: at least one OBIS code to poll"_s);
        c.password.clear();
        if (c.authentication == dlms::Authentication::Low) {
            if (!draft.passwordReference)
                return error(originOf(draft, path, u"auth"_s),
                    u"\"low\" needs a \"password\" (a literal, env:VARIABLE or file:/path)"_s);
            auto secret = resolveSecret(*draft.passwordReference, m_base);
            if (!secret)
                return error(originOf(draft, path, u"password"_s), secret.error().message);
            c.password = std::move(*secret);
        }
        // Keys are read only for a meter that uses them, as the password is for "low".
        dlms::SecuritySettings &security = c.security;
        security.blockCipherKey.clear();
        security.authenticationKey.clear();
        if (c.authentication == dlms::Authentication::HighGmac || security.ciphered()) {
            if (draft.ekReference) {
                auto key = keyAt(draft, path, u"security.ek"_s, *draft.ekReference);
                if (!key)
                    return key.error();
                security.blockCipherKey = std::move(*key);
            }
            if (draft.akReference) {
                auto key = keyAt(draft, path, u"security.ak"_s, *draft.akReference);
                if (!key)
                    return key.error();
                security.authenticationKey = std::move(*key);
            }
        }
        c.name = draft.name.value_or(c.endpoint());
        c.id = draft.id.value_or(c.name);
        if (const auto problem = findMeterConfigProblem(c))
            return error(originOf(draft, path, problem->field), problem->problem);
        return std::move(draft.config);
    }

    QString m_file;
    QStringList *m_warnings;
    QString m_base; // relative file: secrets
};

} // namespace

QString jsonTypeName(const QJsonValue &value)
{
    switch (value.type()) {
    case QJsonValue::Null:
        return u"null"_s;
    case QJsonValue::Bool:
        return u"a boolean"_s;
    case QJsonValue::Double:
        return u"a number"_s;
    case QJsonValue::String:
        return u"a string"_s;
    case QJsonValue::Array:
        return u"an array"_s;
    case QJsonValue::Object:
        return u"an object"_s;
    case QJsonValue::Undefined:
        break;
    }
    return u"nothing"_s;
}

// What a value was, for a message: numbers as written, anything else by its type. Never used
// for secrets.
QString describeJsonValue(const QJsonValue &value)
{
    if (value.isDouble())
        return QString::number(value.toDouble(), 'g', 17);
    if (value.isString()) {
        const QString text = value.toString();
        return u"'"_s + (text.size() > 40 ? text.left(40) + u"…"_s : text) + u"'"_s;
    }
    return jsonTypeName(value);
}

// Where a number was expected: "70000", "the string '4059'", "a boolean".
QString describeJsonNumber(const QJsonValue &value)
{
    return value.isString() ? u"the string "_s + describeJsonValue(value) : describeJsonValue(value);
}

dlms::Result<QByteArray> resolveSecret(const QString &reference, const QString &baseDirectory)
{
    if (reference.startsWith(u"env:"_s)) {
        const QString name = reference.mid(4);
        if (name.isEmpty())
            return dlms::makeError(dlms::ErrorCode::InvalidArgument, u"env: needs a variable name"_s);
        if (!qEnvironmentVariableIsSet(name.toLocal8Bit().constData()))
            return dlms::makeError(
                dlms::ErrorCode::InvalidArgument, u"environment variable %1 is not set"_s.arg(name));
        QByteArray value = qgetenv(name.toLocal8Bit().constData());
        if (value.isEmpty())
            return dlms::makeError(
                dlms::ErrorCode::InvalidArgument, u"environment variable %1 is empty"_s.arg(name));
        return value;
    }
    if (reference.startsWith(u"file:"_s)) {
        const QString given = reference.mid(5);
        if (given.isEmpty())
            return dlms::makeError(dlms::ErrorCode::InvalidArgument, u"file: needs a path"_s);
        const QString path = baseDirectory.isEmpty() ? given : QDir(baseDirectory).filePath(given);
        QFile file(path);
        if (!file.open(QIODevice::ReadOnly))
            return dlms::makeError(dlms::ErrorCode::InvalidArgument,
                u"cannot read secret file %1: %2"_s.arg(path, file.errorString()));
        QByteArray line = file.readLine(4096);
        while (line.endsWith('\n') || line.endsWith('\r'))
            line.chop(1);
        if (line.isEmpty())
            return dlms::makeError(
                dlms::ErrorCode::InvalidArgument, u"secret file %1 has an empty first line"_s.arg(path));
        return line;
    }
    if (reference.isEmpty())
        return dlms::makeError(dlms::ErrorCode::InvalidArgument, u"empty secret"_s);
    return reference.toUtf8();
}

dlms::Result<QByteArray> resolveKey(const QString &reference, const QString &baseDirectory)
{
    auto secret = resolveSecret(reference, baseDirectory);
    if (!secret)
        return secret.error();
    // Named by its reference, never by its value (a literal is the key itself).
    const bool named = reference.startsWith(u"env:"_s) || reference.startsWith(u"file:"_s);
    QString text = QString::fromUtf8(*secret);
    secret->fill('\0');
    auto key = dlms::security::parseHexBytes(
        text, dlms::security::KeySize, named ? u"the key in %1"_s.arg(reference) : u"the key"_s);
    text.fill(u'\0');
    return key;
}

dlms::Result<SiteConfig> parseSiteConfig(
    const QJsonObject &root, const QString &fileName, QStringList *warnings, const QString &baseDirectory)
{
    return SiteParser(fileName, warnings, baseDirectory).parse(root);
}

dlms::Result<QJsonObject> readJsonObjectFile(const QString &path)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return dlms::makeError(
            dlms::ErrorCode::InvalidArgument, u"cannot read %1: %2"_s.arg(path, file.errorString()));
    if (file.size() > kMaxFileBytes)
        return dlms::makeError(dlms::ErrorCode::InvalidArgument,
            u"%1: too large for a configuration file (%2 bytes, at most %3)"_s.arg(
                path, QString::number(file.size()), QString::number(kMaxFileBytes)));
    const QByteArray data = file.read(kMaxFileBytes + 1);
    QJsonParseError parseError;
    const QJsonDocument document = QJsonDocument::fromJson(data, &parseError);
    if (parseError.error != QJsonParseError::NoError) {
        const qsizetype offset = std::clamp<qsizetype>(parseError.offset, 0, data.size());
        const QByteArrayView before = QByteArrayView(data).first(offset);
        const qsizetype line = before.count('\n') + 1;
        const qsizetype column = offset - (before.lastIndexOf('\n') + 1) + 1;
        return dlms::makeError(dlms::ErrorCode::Malformed,
            u"%1: invalid JSON at byte %2 (line %3, column %4): %5"_s.arg(path, QString::number(offset),
                QString::number(line), QString::number(column), parseError.errorString()));
    }
    if (!document.isObject())
        return dlms::makeError(
            dlms::ErrorCode::Malformed, u"%1: the top level must be a JSON object"_s.arg(path));
    return document.object();
}

dlms::Result<SiteConfig> loadSiteConfig(const QString &path, QStringList *warnings)
{
    const auto root = readJsonObjectFile(path);
    if (!root)
        return root.error();
    return parseSiteConfig(*root, path, warnings, QFileInfo(path).absolutePath());
}

QJsonObject securityToJson(const dlms::SecuritySettings &security, bool withSecrets)
{
    QJsonObject o;
    if (security == dlms::SecuritySettings {})
        return o;
    o.insert(u"policy"_s, dlms::securityPolicyName(security.policy));
    if (!security.systemTitle.isEmpty())
        o.insert(u"system_title"_s, QString::fromLatin1(security.systemTitle.toHex().toUpper()));
    if (withSecrets && !security.blockCipherKey.isEmpty())
        o.insert(u"ek"_s, QString::fromLatin1(security.blockCipherKey.toHex().toUpper()));
    if (withSecrets && !security.authenticationKey.isEmpty())
        o.insert(u"ak"_s, QString::fromLatin1(security.authenticationKey.toHex().toUpper()));
    o.insert(u"dedicated_key"_s, security.dedicatedKey);
    o.insert(u"general_ciphering"_s, security.generalCiphering);
    return o;
}

QJsonObject meterConfigToJson(const MeterConfig &config, bool withSecrets)
{
    QJsonObject o;
    o.insert(u"id"_s, config.id);
    o.insert(u"name"_s, config.name);
    o.insert(u"host"_s, config.host);
    o.insert(u"port"_s, config.port);
    o.insert(u"transport"_s, dlms::transportName(config.transport));
    o.insert(u"client_address"_s, config.clientAddress);
    o.insert(u"server_address"_s, config.serverAddress);
    o.insert(u"physical_address"_s, config.physicalAddress);
    o.insert(u"auth"_s, authenticationKeyName(config.authentication));
    if (withSecrets && !config.password.isEmpty())
        o.insert(u"password"_s, QString::fromUtf8(config.password));
    if (const QJsonObject security = securityToJson(config.security, withSecrets); !security.isEmpty())
        o.insert(u"security"_s, security);
    o.insert(u"interval_ms"_s, config.pollIntervalMs);
    o.insert(u"connect_timeout_ms"_s, config.connectTimeoutMs);
    o.insert(u"timeout_ms"_s, config.requestTimeoutMs);
    o.insert(u"retries"_s, config.retries);
    o.insert(u"association"_s, associationModeName(config.associationMode));
    o.insert(u"max_pdu"_s, config.maxPduSize);
    o.insert(u"max_items_per_request"_s, config.maxItemsPerRequest);
    QJsonObject hdlc;
    const dlms::hdlc::LinkParameters &p = config.hdlc;
    if (p.maxInfoTx == p.maxInfoRx) {
        hdlc.insert(u"max_info"_s, p.maxInfoTx);
    } else {
        hdlc.insert(u"max_info_tx"_s, p.maxInfoTx);
        hdlc.insert(u"max_info_rx"_s, p.maxInfoRx);
    }
    if (p.windowTx == p.windowRx) {
        hdlc.insert(u"window"_s, qint64(p.windowTx));
    } else {
        hdlc.insert(u"window_tx"_s, qint64(p.windowTx));
        hdlc.insert(u"window_rx"_s, qint64(p.windowRx));
    }
    o.insert(u"hdlc"_s, hdlc);
    o.insert(u"max_requests_per_s"_s, config.maxRequestsPerSecond);
    if (config.snapshotProfile)
        o.insert(u"snapshot_profile"_s, config.snapshotProfile->toString());
    o.insert(u"backoff"_s,
        QJsonObject {{u"initial_ms"_s, config.backoff.initialMs}, {u"max_ms"_s, config.backoff.maxMs},
            {u"multiplier"_s, config.backoff.multiplier}, {u"jitter"_s, config.backoff.jitter}});
    o.insert(u"breaker"_s,
        QJsonObject {
            {u"failures"_s, config.breaker.failureThreshold}, {u"open_ms"_s, config.breaker.openMs}});
    QJsonArray items;
    for (const PollItem &item : config.items)
        items.append(QJsonObject {{u"obis"_s, item.obis.toString()}, {u"key"_s, item.key},
            {u"class"_s, item.classId}, {u"attribute"_s, item.attribute}});
    o.insert(u"items"_s, items);
    return o;
}

} // namespace polling
