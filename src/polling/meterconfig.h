#pragma once

#include <clientsession.h>
#include <error.h>
#include <obis.h>

#include <QtCore/QString>
#include <QtCore/QStringList>

#include <optional>
#include <vector>

namespace polling {

// One value to read on every poll, and the telemetry key it is published under.
struct PollItem {
    QString key; // telemetry key, e.g. "voltage_l1"
    dlms::Obis obis;
    quint16 classId = 3; // 1 Data, 3 Register, 4 Extended Register, …
    qint8 attribute = 2;

    // Registers (class 3 and 4) at attribute 2 and demand registers (class 5) at attributes 2
    // and 3 (current and last average) are scaled with their cached scaler_unit.
    bool isScaled() const
    {
        return (attribute == 2 && (classId == 3 || classId == 4))
            || (classId == 5 && (attribute == 2 || attribute == 3));
    }
    // The scaler_unit attribute of a scaled item: 3 for registers, 4 for demand registers.
    qint8 scalerAttribute() const { return classId == 5 ? 4 : 3; }
    bool operator==(const PollItem &) const = default;
};

enum class AssociationMode : quint8 {
    KeepOpen, // associate once, poll on the open association (default)
    PerPoll, // connect, associate, read, release and disconnect on every poll
};
QString associationModeName(AssociationMode mode); // "keep-open", "per-poll"

// Reconnect delay after a failure: initialMs × multiplier^(n-1), capped at maxMs, then spread
// by ± jitter (a fraction) so meters that failed together do not retry together.
struct BackoffPolicy {
    int initialMs = 1000;
    int maxMs = 60000;
    double multiplier = 2.0;
    double jitter = 0.2;
    bool operator==(const BackoffPolicy &) const = default;
};

// A meter that fails `failureThreshold` polls or connection attempts in a row is left alone
// for `openMs` (state CircuitOpen), then tried once: success closes the breaker, failure
// opens it again. Threshold 0 disables the breaker.
struct CircuitBreakerPolicy {
    int failureThreshold = 5;
    int openMs = 300000;
    bool operator==(const CircuitBreakerPolicy &) const = default;
};

// Everything the engine needs to poll one meter. A value type: copy it, compare it, change
// it and hand it back to PollScheduler::updateMeter().
struct MeterConfig {
    QString id; // unique, stable (database key, MQTT device)
    QString name; // shown to the user; also the ThingsBoard device name
    QString host;
    quint16 port = 4059;
    dlms::Transport transport = dlms::Transport::Wrapper;
    quint16 clientAddress = 16;
    quint16 serverAddress = 1;
    quint16 physicalAddress = 0;
    dlms::Authentication authentication = dlms::Authentication::None;
    QByteArray password; // LLS secret: never logged, traced or exported
    // Suite 0 ciphering and the keys of HLS-GMAC (EK and AK are secrets like the password).
    dlms::SecuritySettings security;

    int pollIntervalMs = 5000;
    std::vector<PollItem> items;
    int connectTimeoutMs = 5000; // TCP connect + association
    int requestTimeoutMs = 5000; // each request
    int retries = 1; // a failed poll is retried this many times (reconnecting if needed)
    AssociationMode associationMode = AssociationMode::KeepOpen;
    quint16 maxPduSize = 0xFFFF; // client max receive PDU proposed in the AARQ
    int maxItemsPerRequest = 32; // cap on one GET-with-list, besides the negotiated PDU
    dlms::hdlc::LinkParameters hdlc;
    double maxRequestsPerSecond = 0; // 0 = no cap; else requests to this meter are spaced out
    // A Profile Generic whose buffer is one row of current values (an IS 15959 instantaneous
    // profile). When set, the items among its capture objects are read with one GET of its
    // buffer instead of a GET-with-list (capture_objects read once per association): about
    // half the bytes per value. Items it does not capture are read as usual.
    std::optional<dlms::Obis> snapshotProfile;
    BackoffPolicy backoff;
    CircuitBreakerPolicy breaker;

    dlms::ClientConfig clientConfig() const;
    QString endpoint() const; // "host:port" ("[::1]:4059" for IPv6)
    // True when a change from `other` needs a new TCP connection and association (address,
    // transport, authentication, PDU or HDLC parameters); items, interval, timeouts, retries,
    // rate cap, backoff and breaker apply on the open association.
    bool needsReconnect(const MeterConfig &other) const;
    bool operator==(const MeterConfig &) const = default;
};

// How a site file and dlmsctl name an authentication mechanism: "none", "low", "hls-gmac",
// and for the mechanisms that are refused as not supported "hls", "hls-md5", "hls-sha1",
// "hls-sha256", "hls-ecdsa". The inverse gives nullopt for any other text.
QString authenticationKeyName(dlms::Authentication mechanism);
std::optional<dlms::Authentication> authenticationFromKeyName(QStringView name);

// "host:port", with the host in brackets when it is an IPv6 address ("[::1]:4059").
QString formatEndpoint(const QString &host, quint16 port);

// Lower bounds on the waits after failures: below them a refusing meter is hammered with
// connection attempts.
inline constexpr int MinBackoffMs = 100;
inline constexpr int MinBreakerOpenMs = 1000;

// The first rule a configuration breaks: the field by its site-file key path
// ("backoff.initial_ms", "items[2].key", "hdlc.max_info_tx") and what is wrong with it
// ("must be at least 100 (got 1)").
struct MeterConfigProblem {
    QString field;
    QString problem;
};
std::optional<MeterConfigProblem> findMeterConfigProblem(const MeterConfig &config);
// The part of it about authentication and suite 0 (also for dlmsctl's options): the title and
// key sizes, what hls-gmac and each policy need (fields "security.system_title", "security.ek",
// "security.ak", "security.dedicated_key", "security.general_ciphering", "auth"). Keys are never
// echoed, only their sizes.
std::optional<MeterConfigProblem> findSecurityProblem(
    dlms::Authentication authentication, const dlms::SecuritySettings &security);

// Every rule a meter configuration must follow, wherever it comes from (site file, GUI,
// PollScheduler::addMeter). The error is InvalidArgument and names the meter and the field by
// its site-file key ("meter m1: backoff.initial_ms must be at least 100 (got 1)"); the site
// parser prefixes file and JSON path.
dlms::Result<void> validateMeterConfig(const MeterConfig &config);

// The telemetry key of a well-known OBIS code ("1.0.32.7.0.255" → "voltage_l1"), else the
// OBIS code with '_' for '.' ("obis_1_0_99_1_0_255").
QString defaultTelemetryKey(const dlms::Obis &obis);

// The item a bare OBIS code stands for: its default telemetry key, the interface class of the
// well-known table (1, Data, when the code is not in it) and attribute 2.
PollItem defaultPollItem(const dlms::Obis &obis);

// One item as a person types it (the meter dialog, the CSV import, the new-meter template):
// "[key=]OBIS [class:attribute]", e.g. "1.0.32.7.0.255", "voltage_l1=1-0:32.7.0*255",
// "demand=1.0.1.4.0.255 5:3". What is left out takes defaultPollItem()'s value. The error
// says what is wrong with the text, without a line number.
dlms::Result<PollItem> parseItemLine(QStringView line);

// One item per line (blank lines skipped); keys must be unique. Errors name the 1-based line:
// "line 2: duplicate key \"a\" (also on line 1)".
dlms::Result<std::vector<PollItem>> parseItemLines(const QStringList &lines);

// The shortest lines parseItemLines() reads back as the same items: the key only when it is
// not the default one, "class:attribute" only when either differs from the default.
QString formatItemLine(const PollItem &item);
QStringList formatItemLines(const std::vector<PollItem> &items);

} // namespace polling
