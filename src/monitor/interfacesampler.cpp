#include "interfacesampler.h"

#include <QtCore/QDateTime>
#include <QtCore/QFile>
#include <QtCore/QTimer>

#include <array>
#include <limits>

using namespace Qt::StringLiterals;

namespace monitor {

namespace {

// Interface names are at most IFNAMSIZ - 1 bytes on Linux; a longer "name" is not an interface.
constexpr qsizetype MaxNameBytes = 15;
// /proc/net/dev is a few hundred bytes per interface; this only stops a runaway file.
constexpr qint64 MaxFileBytes = 16 * 1024 * 1024;
constexpr int ProcNetDevFields = 16;

bool isBlank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

// Decimal digits only, up to 2^64 - 1; anything else (sign, overflow, junk) is not a counter.
std::optional<quint64> parseCounter(QByteArrayView token)
{
    if (token.isEmpty())
        return std::nullopt;
    quint64 value = 0;
    constexpr quint64 max = std::numeric_limits<quint64>::max();
    for (const char c : token) {
        if (c < '0' || c > '9')
            return std::nullopt;
        const auto digit = quint64(c - '0');
        if (value > (max - digit) / 10)
            return std::nullopt;
        value = value * 10 + digit;
    }
    return value;
}

bool isValidName(QByteArrayView name)
{
    if (name.isEmpty() || name.size() > MaxNameBytes)
        return false;
    for (const char c : name) {
        const auto u = uchar(c);
        if (u <= 0x20 || u == 0x7f || c == '/')
            return false;
    }
    return true;
}

std::optional<InterfaceCounters> parseLine(QByteArrayView line)
{
    // The kernel forbids ':' in interface names, so the first one ends the name, even when a
    // large first counter follows it without a space ("eth0:123456789").
    const qsizetype colon = line.indexOf(':');
    if (colon < 0)
        return std::nullopt;
    const QByteArrayView name = line.first(colon).trimmed();
    if (!isValidName(name))
        return std::nullopt;

    std::array<quint64, ProcNetDevFields> fields {};
    int count = 0;
    const QByteArrayView rest = line.sliced(colon + 1);
    qsizetype pos = 0;
    while (pos < rest.size()) {
        while (pos < rest.size() && isBlank(rest[pos]))
            ++pos;
        if (pos == rest.size())
            break;
        qsizetype end = pos;
        while (end < rest.size() && !isBlank(rest[end]))
            ++end;
        const auto value = parseCounter(rest.sliced(pos, end - pos));
        if (!value)
            return std::nullopt;
        // Columns a future kernel might append are ignored; the first 16 keep their meaning.
        if (count < ProcNetDevFields)
            fields[size_t(count)] = *value;
        ++count;
        pos = end;
    }
    if (count < ProcNetDevFields)
        return std::nullopt;

    InterfaceCounters counters;
    counters.name = QString::fromUtf8(name);
    counters.rxBytes = fields[0];
    counters.rxPackets = fields[1];
    counters.rxErrors = fields[2];
    counters.rxDrops = fields[3];
    counters.txBytes = fields[8];
    counters.txPackets = fields[9];
    counters.txErrors = fields[10];
    counters.txDrops = fields[11];
    return counters;
}

// A counter below its previous value restarted (interface reset or re-created, or a 32-bit
// counter wrapped): count its new value. For a wrap that undercounts one interval, but it never
// turns into a 2^64-sized spike.
quint64 counterDelta(quint64 now, quint64 before)
{
    return now >= before ? now - before : now;
}

bool isLoopback(const QString &name)
{
    // /proc/net/dev carries no IFF_LOOPBACK flag; "lo" is the loopback device's fixed name.
    return name == u"lo";
}

} // namespace

std::vector<InterfaceCounters> parseProcNetDev(QByteArrayView text)
{
    std::vector<InterfaceCounters> result;
    qsizetype start = 0;
    while (start < text.size()) {
        qsizetype end = text.indexOf('\n', start);
        if (end < 0)
            end = text.size();
        if (auto counters = parseLine(text.sliced(start, end - start)))
            result.push_back(std::move(*counters));
        start = end + 1;
    }
    return result;
}

ProcNetDevSource::ProcNetDevSource(QString path) : m_path(std::move(path)) { }

dlms::Result<std::vector<InterfaceCounters>> ProcNetDevSource::read()
{
    QFile file(m_path);
    if (!file.open(QIODevice::ReadOnly))
        return dlms::makeError(
            dlms::ErrorCode::IoError, u"cannot read %1: %2"_s.arg(m_path, file.errorString()));
    // A pseudo-file reports size 0: read until EOF instead of trusting size().
    QByteArray text;
    char chunk[4096];
    for (;;) {
        const qint64 n = file.read(chunk, sizeof chunk);
        if (n < 0)
            return dlms::makeError(
                dlms::ErrorCode::IoError, u"cannot read %1: %2"_s.arg(m_path, file.errorString()));
        if (n == 0)
            break;
        if (text.size() + n > MaxFileBytes)
            return dlms::makeError(dlms::ErrorCode::IoError,
                u"cannot read %1: larger than %2 bytes, not an interface list"_s.arg(m_path).arg(
                    MaxFileBytes));
        text.append(chunk, qsizetype(n));
    }
    return parseProcNetDev(text);
}

std::unique_ptr<InterfaceCounterSource> makeDefaultInterfaceSource()
{
    return std::make_unique<ProcNetDevSource>();
}

InterfaceSampler::InterfaceSampler(
    Options options, std::unique_ptr<InterfaceCounterSource> source, QObject *parent)
    : QObject(parent), m_options(std::move(options)), m_source(std::move(source))
{
    m_steady.start();
    if (m_options.intervalMs <= 0)
        m_options.intervalMs = 1000;
    if (!m_source)
        m_source = makeDefaultInterfaceSource();
    m_timer = new QTimer(this);
    m_timer->setInterval(m_options.intervalMs);
    connect(m_timer, &QTimer::timeout, this, &InterfaceSampler::sample);
}

InterfaceSampler::~InterfaceSampler() = default;

void InterfaceSampler::start()
{
    // A fresh baseline: rates never span the time the sampler was stopped.
    m_haveBaseline = false;
    m_previous.clear();
    sample();
    if (m_options.autoSample)
        m_timer->start();
}

void InterfaceSampler::stop()
{
    m_timer->stop();
}

std::optional<InterfaceRates> InterfaceSampler::lastRates() const
{
    return m_lastRates;
}

qint64 InterfaceSampler::now() const
{
    return m_options.clock ? m_options.clock() : QDateTime::currentMSecsSinceEpoch();
}

qint64 InterfaceSampler::monotonicNow() const
{
    return m_options.monotonicClock ? m_options.monotonicClock() : m_steady.elapsed();
}

void InterfaceSampler::reportError(const QString &message)
{
    if (message == m_lastError)
        return;
    m_lastError = message;
    Q_EMIT errorOccurred(message);
}

void InterfaceSampler::sample()
{
    const qint64 nowMs = now();
    const qint64 mono = monotonicNow();
    auto read = m_source->read();
    if (!read) {
        // The baseline stays: the next good read covers the whole gap at its true length.
        reportError(read.error().message);
        return;
    }
    const std::vector<InterfaceCounters> &current = *read;

    const InterfaceCounters *chosen = nullptr;
    if (!m_options.interfaceName.isEmpty()) {
        for (const InterfaceCounters &c : current) {
            if (c.name == m_options.interfaceName) {
                chosen = &c;
                break;
            }
        }
        if (!chosen) {
            QStringList present;
            for (const InterfaceCounters &c : current)
                present << c.name;
            reportError(u"interface %1 not found; present: %2"_s.arg(
                m_options.interfaceName, present.isEmpty() ? u"none"_s : present.join(u", "_s)));
        }
    }

    const bool hadBaseline = m_haveBaseline;
    // Measured on the monotonic clock: setting the wall clock changes no rate.
    const double intervalS = double(mono - m_previousMono) / 1000.0;
    // Two reads in the same millisecond: keep the older baseline so nothing is lost. An
    // injected clock that went back: start over from this read.
    if (hadBaseline && mono == m_previousMono)
        return;

    InterfaceRates rates;
    rates.timestampMs = nowMs;
    rates.intervalS = intervalS;
    quint64 rxBytes = 0;
    quint64 txBytes = 0;
    quint64 rxPackets = 0;
    quint64 txPackets = 0;
    const bool named = !m_options.interfaceName.isEmpty();
    bool summedAny = false;
    for (const InterfaceCounters &c : current) {
        if (named ? &c != chosen : isLoopback(c.name))
            continue;
        // An interface with no baseline (just appeared) joins from its next sample.
        const auto before = m_previous.constFind(c.name);
        if (before == m_previous.cend())
            continue;
        summedAny = true;
        rates.interfaces << c.name;
        rxBytes += counterDelta(c.rxBytes, before->rxBytes);
        txBytes += counterDelta(c.txBytes, before->txBytes);
        rxPackets += counterDelta(c.rxPackets, before->rxPackets);
        txPackets += counterDelta(c.txPackets, before->txPackets);
        rates.rxErrors += counterDelta(c.rxErrors, before->rxErrors);
        rates.txErrors += counterDelta(c.txErrors, before->txErrors);
        rates.rxDrops += counterDelta(c.rxDrops, before->rxDrops);
        rates.txDrops += counterDelta(c.txDrops, before->txDrops);
    }

    m_previous.clear();
    m_previous.reserve(qsizetype(current.size()));
    for (const InterfaceCounters &c : current)
        m_previous.insert(c.name, c);
    m_previousMono = mono;
    m_haveBaseline = true;

    if (!hadBaseline || intervalS <= 0)
        return;
    if (named && !summedAny)
        return; // missing (reported above), or back again: this read is its baseline
    m_lastError.clear();
    rates.txBps = double(txBytes) * 8.0 / intervalS;
    rates.rxBps = double(rxBytes) * 8.0 / intervalS;
    rates.txPps = double(txPackets) / intervalS;
    rates.rxPps = double(rxPackets) / intervalS;
    m_lastRates = rates;
    Q_EMIT sampled(rates);
}

} // namespace monitor
