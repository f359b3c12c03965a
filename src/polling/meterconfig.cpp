#include "meterconfig.h"

#include "dlmsconnection.h"
#include "invocationcounterstore.h"

#include <QtCore/QHash>
#include <QtCore/QSet>
#include <QtNetwork/QHostAddress>

#include <cmath>

using namespace Qt::StringLiterals;

namespace polling {

QString associationModeName(AssociationMode mode)
{
    switch (mode) {
    case AssociationMode::KeepOpen:
        return u"keep-open"_s;
    case AssociationMode::PerPoll:
        return u"per-poll"_s;
    }
    return u"keep-open"_s;
}

namespace {

struct AuthenticationKeyName {
    dlms::Authentication mechanism;
    QLatin1StringView name;
};
constexpr AuthenticationKeyName kAuthenticationNames[] = {
    {dlms::Authentication::None, QLatin1StringView("none")},
    {dlms::Authentication::Low, QLatin1StringView("low")},
    {dlms::Authentication::HighGmac, QLatin1StringView("hls-gmac")},
    {dlms::Authentication::High, QLatin1StringView("hls")},
    {dlms::Authentication::HighMd5, QLatin1StringView("hls-md5")},
    {dlms::Authentication::HighSha1, QLatin1StringView("hls-sha1")},
    {dlms::Authentication::HighSha256, QLatin1StringView("hls-sha256")},
    {dlms::Authentication::HighEcdsa, QLatin1StringView("hls-ecdsa")},
};

} // namespace

QString authenticationKeyName(dlms::Authentication mechanism)
{
    for (const AuthenticationKeyName &entry : kAuthenticationNames) {
        if (entry.mechanism == mechanism)
            return entry.name;
    }
    return dlms::authenticationName(mechanism);
}

std::optional<dlms::Authentication> authenticationFromKeyName(QStringView name)
{
    for (const AuthenticationKeyName &entry : kAuthenticationNames) {
        if (name == entry.name)
            return entry.mechanism;
    }
    return std::nullopt;
}

dlms::ClientConfig MeterConfig::clientConfig() const
{
    dlms::ClientConfig client;
    client.transport = transport;
    client.clientAddress = clientAddress;
    client.serverAddress = serverAddress;
    client.physicalAddress = physicalAddress;
    client.authentication = authentication;
    client.password = password;
    client.security = security;
    client.maxReceivePduSize = maxPduSize;
    client.hdlc = hdlc;
    return client;
}

QString formatEndpoint(const QString &host, quint16 port)
{
    const QHostAddress address(host);
    if (address.protocol() == QAbstractSocket::IPv6Protocol)
        return u'[' + host + u"]:"_s + QString::number(port);
    return host + u':' + QString::number(port);
}

QString MeterConfig::endpoint() const
{
    return formatEndpoint(host, port);
}

bool MeterConfig::needsReconnect(const MeterConfig &other) const
{
    // Everything the TCP connection or the AARQ was built from.
    return host != other.host || port != other.port || transport != other.transport
        || clientAddress != other.clientAddress || serverAddress != other.serverAddress
        || physicalAddress != other.physicalAddress || authentication != other.authentication
        || password != other.password || security != other.security || maxPduSize != other.maxPduSize
        || hdlc != other.hdlc || associationMode != other.associationMode;
}

std::optional<MeterConfigProblem> findSecurityProblem(
    dlms::Authentication authentication, const dlms::SecuritySettings &s)
{
    auto sized = [](const QString &field, const QByteArray &bytes,
                     qsizetype size) -> std::optional<MeterConfigProblem> {
        if (bytes.isEmpty() || bytes.size() == size)
            return std::nullopt;
        return MeterConfigProblem {field, u"must be %1 bytes (got %2)"_s.arg(size).arg(bytes.size())};
    };
    if (auto p = sized(u"security.system_title"_s, s.systemTitle, dlms::security::SystemTitleSize))
        return p;
    if (auto p = sized(u"security.ek"_s, s.blockCipherKey, dlms::security::KeySize))
        return p;
    if (auto p = sized(u"security.ak"_s, s.authenticationKey, dlms::security::KeySize))
        return p;

    if (authentication != dlms::Authentication::None && authentication != dlms::Authentication::Low
        && authentication != dlms::Authentication::HighGmac)
        return MeterConfigProblem {u"auth"_s,
            u"\"%1\" is not supported (none, low or hls-gmac)"_s.arg(authenticationKeyName(authentication))};

    // What is needed, and why, in the order a person fills it in.
    const bool gmac = authentication == dlms::Authentication::HighGmac;
    const bool ciphered = s.policy != dlms::SecurityPolicy::None;
    const bool authenticated = s.policy == dlms::SecurityPolicy::Authenticated
        || s.policy == dlms::SecurityPolicy::AuthenticatedEncrypted;
    const QString why = gmac ? u"hls-gmac authentication"_s
                             : u"the \"%1\" policy"_s.arg(dlms::securityPolicyName(s.policy));
    auto required = [&](const QString &field, const QByteArray &bytes) -> std::optional<MeterConfigProblem> {
        if (!bytes.isEmpty())
            return std::nullopt;
        return MeterConfigProblem {field, u"is required with %1"_s.arg(why)};
    };
    if (gmac || ciphered) {
        if (auto p = required(u"security.system_title"_s, s.systemTitle))
            return p;
        if (auto p = required(u"security.ek"_s, s.blockCipherKey))
            return p;
    }
    // Suite 0 puts the AK into the AAD of every authenticated APDU and of the GMAC.
    if (gmac || authenticated) {
        if (auto p = required(u"security.ak"_s, s.authenticationKey))
            return p;
    }
    if (!ciphered && s.dedicatedKey)
        return MeterConfigProblem {u"security.dedicated_key"_s, u"needs a policy other than \"none\""_s};
    if (!ciphered && s.generalCiphering)
        return MeterConfigProblem {u"security.general_ciphering"_s, u"needs a policy other than \"none\""_s};
    // The dedicated key travels inside the InitiateRequest: authenticated only, it would go in clear.
    if (s.dedicatedKey && s.policy == dlms::SecurityPolicy::Authenticated)
        return MeterConfigProblem {u"security.dedicated_key"_s,
            u"needs an encrypting policy (\"enc\" or \"auth-enc\"): with \"auth\" it would be sent in clear"_s};
    return std::nullopt;
}

namespace {

// Stands in for a store that cannot be opened: every association fails with the reason,
// and the engine goes on with its other meters.
class UnavailableInvocationCounter final : public dlms::InvocationCounter {
public:
    explicit UnavailableInvocationCounter(dlms::Error error) : m_error(std::move(error)) { }
    dlms::Result<quint32> next() override { return m_error; }

private:
    dlms::Error m_error;
};

} // namespace

std::optional<MeterConfigProblem> findMeterConfigProblem(const MeterConfig &config)
{
    using Problem = std::optional<MeterConfigProblem>;
    auto atLeast = [](const QString &field, qint64 value, qint64 min) -> Problem {
        if (value >= min)
            return std::nullopt;
        return MeterConfigProblem {field, u"must be at least %1 (got %2)"_s.arg(min).arg(value)};
    };
    auto within = [](const QString &field, qint64 value, qint64 min, qint64 max,
                      const QString &context = {}) -> Problem {
        if (value >= min && value <= max)
            return std::nullopt;
        return MeterConfigProblem {
            field, u"must be from %1 to %2%3 (got %4)"_s.arg(min).arg(max).arg(context).arg(value)};
    };
    auto first = [](std::initializer_list<Problem> problems) -> Problem {
        for (const Problem &problem : problems) {
            if (problem)
                return problem;
        }
        return std::nullopt;
    };

    if (config.id.isEmpty())
        return MeterConfigProblem {u"id"_s, u"must not be empty"_s};
    // The system-wide row of the monitor and the database (monitor::SystemMeterId).
    if (config.id == u"*"_s)
        return MeterConfigProblem {u"id"_s, u"'*' is reserved for the system-wide figures"_s};
    if (config.host.isEmpty())
        return MeterConfigProblem {u"host"_s, u"must not be empty"_s};
    if (auto p = within(u"port"_s, config.port, 1, 65535))
        return p;
    if (config.items.empty())
        return MeterConfigProblem {u"items"_s, u"must name at least one value to read"_s};
    QSet<QString> keys;
    keys.reserve(qsizetype(config.items.size()));
    for (size_t i = 0; i < config.items.size(); ++i) {
        const PollItem &item = config.items[i];
        const QString path = u"items[%1]"_s.arg(i);
        if (item.key.isEmpty())
            return MeterConfigProblem {path + u".key"_s, u"must not be empty"_s};
        if (keys.contains(item.key))
            return MeterConfigProblem {path + u".key"_s, u"duplicate key '%1'"_s.arg(item.key)};
        keys.insert(item.key);
        if (auto p = first({atLeast(path + u".class"_s, item.classId, 1),
                atLeast(path + u".attribute"_s, item.attribute, 1)}))
            return p;
    }

    // HDLC carries the client address in 7 bits and the upper and lower server addresses in 14.
    const bool hdlc = config.transport == dlms::Transport::Hdlc;
    const QString transport = hdlc ? u" with HDLC"_s : QString();
    if (auto p = first({within(u"client_address"_s, config.clientAddress, 1, hdlc ? 0x7F : 0xFFFF, transport),
            within(u"server_address"_s, config.serverAddress, 1, hdlc ? 0x3FFF : 0xFFFF, transport),
            within(u"physical_address"_s, config.physicalAddress, 0, 0x3FFF)}))
        return p;
    if (config.authentication == dlms::Authentication::Low && config.password.isEmpty())
        return MeterConfigProblem {u"password"_s, u"is required with auth \"low\""_s};
    if (auto p = findSecurityProblem(config.authentication, config.security))
        return p;

    if (auto p = first({atLeast(u"interval_ms"_s, config.pollIntervalMs, 1),
            atLeast(u"connect_timeout_ms"_s, config.connectTimeoutMs, 1),
            atLeast(u"timeout_ms"_s, config.requestTimeoutMs, 1), within(u"retries"_s, config.retries, 0, 10),
            within(u"max_pdu"_s, config.maxPduSize, 64, 65535),
            atLeast(u"max_items_per_request"_s, config.maxItemsPerRequest, 1),
            within(u"hdlc.max_info_tx"_s, config.hdlc.maxInfoTx, 32, 2030),
            within(u"hdlc.max_info_rx"_s, config.hdlc.maxInfoRx, 32, 2030),
            within(u"hdlc.window_tx"_s, config.hdlc.windowTx, 1, 7),
            within(u"hdlc.window_rx"_s, config.hdlc.windowRx, 1, 7)}))
        return p;
    if (!std::isfinite(config.maxRequestsPerSecond) || config.maxRequestsPerSecond < 0)
        return MeterConfigProblem {
            u"max_requests_per_s"_s, u"must be a number ≥ 0 (got %1)"_s.arg(config.maxRequestsPerSecond)};

    const BackoffPolicy &backoff = config.backoff;
    if (auto p = atLeast(u"backoff.initial_ms"_s, backoff.initialMs, MinBackoffMs))
        return p;
    if (backoff.maxMs < backoff.initialMs)
        return MeterConfigProblem {u"backoff.max_ms"_s,
            u"must not be less than backoff.initial_ms (%1 < %2)"_s.arg(backoff.maxMs)
                .arg(backoff.initialMs)};
    if (!(backoff.multiplier >= 1 && backoff.multiplier <= 100))
        return MeterConfigProblem {
            u"backoff.multiplier"_s, u"must be from 1 to 100 (got %1)"_s.arg(backoff.multiplier)};
    if (!(backoff.jitter >= 0 && backoff.jitter <= 1))
        return MeterConfigProblem {
            u"backoff.jitter"_s, u"must be from 0 to 1 (got %1)"_s.arg(backoff.jitter)};
    return first({atLeast(u"breaker.failures"_s, config.breaker.failureThreshold, 0),
        atLeast(u"breaker.open_ms"_s, config.breaker.openMs, MinBreakerOpenMs)});
}

dlms::Result<void> validateMeterConfig(const MeterConfig &config)
{
    const auto problem = findMeterConfigProblem(config);
    if (!problem)
        return {};
    const QString who = !config.id.isEmpty() ? config.id
        : !config.name.isEmpty()             ? config.name
                                             : config.endpoint();
    return dlms::makeError(dlms::ErrorCode::InvalidArgument,
        u"meter \"%1\": %2 %3"_s.arg(who, problem->field, problem->problem));
}

QString defaultTelemetryKey(const dlms::Obis &obis)
{
    if (const dlms::WellKnownObject *known = dlms::findWellKnown(obis);
        known && known->telemetryKey && *known->telemetryKey)
        return QString::fromLatin1(known->telemetryKey);
    QString key = obis.toString();
    key.replace(u'.', u'_');
    return u"obis_"_s + key;
}

PollItem defaultPollItem(const dlms::Obis &obis)
{
    PollItem item;
    item.key = defaultTelemetryKey(obis);
    item.obis = obis;
    const dlms::WellKnownObject *known = dlms::findWellKnown(obis);
    item.classId = known ? known->classId : quint16(1);
    item.attribute = 2;
    return item;
}

dlms::Result<PollItem> parseItemLine(QStringView line)
{
    const auto fail
        = [](const QString &message) { return dlms::makeError(dlms::ErrorCode::InvalidArgument, message); };
    QStringView text = line.trimmed();
    QString key;
    if (const qsizetype eq = text.indexOf(u'='); eq >= 0) {
        key = text.first(eq).trimmed().toString();
        if (key.isEmpty())
            return fail(u"the key before '=' is empty"_s);
        text = text.sliced(eq + 1).trimmed();
    }
    // The OBIS code, then at most one class:attribute token; codes hold no spaces.
    qsizetype space = 0;
    while (space < text.size() && !text[space].isSpace())
        ++space;
    const QStringView code = text.first(space);
    const QStringView suffix = text.sliced(space).trimmed();
    if (code.isEmpty())
        return fail(u"the OBIS code after '=' is missing"_s);
    const dlms::Result<dlms::Obis> obis = dlms::Obis::parse(code);
    if (!obis)
        return fail(u"\"%1\" is not an OBIS code"_s.arg(code));
    PollItem item = defaultPollItem(*obis);
    if (!key.isEmpty())
        item.key = key;
    if (suffix.isEmpty())
        return item;

    const qsizetype colon = suffix.indexOf(u':');
    bool classOk = false;
    bool attributeOk = false;
    const uint classId = colon > 0 ? suffix.first(colon).toUInt(&classOk) : 0;
    const int attribute = colon > 0 ? suffix.sliced(colon + 1).toInt(&attributeOk) : 0;
    if (!classOk || !attributeOk)
        return fail(u"expected class:attribute after the OBIS code, e.g. 3:2 (got \"%1\")"_s.arg(suffix));
    if (classId < 1 || classId > 0xFFFF)
        return fail(u"the interface class must be from 1 to 65535 (got %1)"_s.arg(classId));
    if (attribute < 1 || attribute > 127)
        return fail(u"the attribute must be from 1 to 127 (got %1)"_s.arg(attribute));
    item.classId = quint16(classId);
    item.attribute = qint8(attribute);
    return item;
}

dlms::Result<std::vector<PollItem>> parseItemLines(const QStringList &lines)
{
    std::vector<PollItem> items;
    QHash<QString, qsizetype> keyLines; // key -> 1-based line it was first given on
    for (qsizetype i = 0; i < lines.size(); ++i) {
        if (lines[i].trimmed().isEmpty())
            continue;
        const qsizetype lineNumber = i + 1;
        const auto fail = [lineNumber](const QString &message) {
            return dlms::makeError(
                dlms::ErrorCode::InvalidArgument, u"line %1: %2"_s.arg(lineNumber).arg(message));
        };
        dlms::Result<PollItem> item = parseItemLine(lines[i]);
        if (!item)
            return fail(item.error().message);
        if (const auto seen = keyLines.constFind(item->key); seen != keyLines.cend())
            return fail(u"duplicate key \"%1\" (also on line %2)"_s.arg(item->key).arg(seen.value()));
        keyLines.insert(item->key, lineNumber);
        items.push_back(std::move(*item));
    }
    return items;
}

QString formatItemLine(const PollItem &item)
{
    const PollItem bare = defaultPollItem(item.obis);
    QString line = item.key == bare.key ? item.obis.toString() : item.key + u'=' + item.obis.toString();
    if (item.classId != bare.classId || item.attribute != bare.attribute)
        line += u" %1:%2"_s.arg(item.classId).arg(item.attribute);
    return line;
}

QStringList formatItemLines(const std::vector<PollItem> &items)
{
    QStringList lines;
    lines.reserve(qsizetype(items.size()));
    for (const PollItem &item : items)
        lines.append(formatItemLine(item));
    return lines;
}

DlmsConnection::Options connectionOptions(const MeterConfig &meter)
{
    DlmsConnection::Options options;
    options.host = meter.host;
    options.port = meter.port;
    options.client = meter.clientConfig();
    const dlms::SecuritySettings &security = meter.security;
    if (meter.authentication == dlms::Authentication::HighGmac || security.ciphered()) {
        auto counter = sharedInvocationCounter(
            defaultInvocationCounterDirectory(), security.blockCipherKey, security.systemTitle);
        if (counter)
            options.client.invocationCounter = std::move(*counter);
        else
            options.client.invocationCounter
                = std::make_shared<UnavailableInvocationCounter>(counter.error());
    }
    options.connectTimeoutMs = meter.connectTimeoutMs;
    options.requestTimeoutMs = meter.requestTimeoutMs;
    return options;
}

} // namespace polling
