#pragma once

#include "monitortypes.h"

#include <error.h>

#include <QtCore/QByteArrayView>
#include <QtCore/QElapsedTimer>
#include <QtCore/QHash>
#include <QtCore/QObject>

#include <functional>
#include <memory>
#include <optional>
#include <vector>

class QTimer;

namespace monitor {

// Where interface counters come from. Linux reads /proc/net/dev; a Windows implementation
// (GetIfTable2) would be another subclass.
class InterfaceCounterSource {
public:
    virtual ~InterfaceCounterSource() = default;
    virtual dlms::Result<std::vector<InterfaceCounters>> read() = 0;
    virtual QString description() const = 0; // "/proc/net/dev"
};

// Parses the text of /proc/net/dev (two header lines, then "name: 16 numbers"). Lines that do
// not parse are skipped; never crashes on any input.
std::vector<InterfaceCounters> parseProcNetDev(QByteArrayView text);

class ProcNetDevSource final : public InterfaceCounterSource {
public:
    explicit ProcNetDevSource(QString path = QStringLiteral("/proc/net/dev"));
    dlms::Result<std::vector<InterfaceCounters>> read() override;
    QString description() const override { return m_path; }

private:
    QString m_path;
};

// The platform's source (ProcNetDevSource on Linux).
std::unique_ptr<InterfaceCounterSource> makeDefaultInterfaceSource();

// Samples the interfaces every interval: one chosen interface, or the sum of every interface
// except loopback. Turns counter differences into rates; a counter that went backwards (the
// interface was reset or re-created, or a 32-bit counter wrapped) restarts from its new value
// instead of producing a huge delta. An interface that disappears is dropped from the sum, one
// that appears joins it from its next sample.
class InterfaceSampler final : public QObject {
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(InterfaceSampler)

public:
    struct Options {
        QString interfaceName; // empty: all non-loopback interfaces
        int intervalMs = 1000;
        bool autoSample = true; // a QTimer calls sample() every interval
        std::function<qint64()> clock; // UTC ms, labels only; empty = QDateTime::currentMSecsSinceEpoch
        // Milliseconds from any fixed origin, never going back; the intervals rates are divided
        // by. Empty = a steady clock (QElapsedTimer) started with the sampler.
        std::function<qint64()> monotonicClock;
    };

    InterfaceSampler(
        Options options, std::unique_ptr<InterfaceCounterSource> source, QObject *parent = nullptr);
    ~InterfaceSampler() override;

    // Starts the timer (autoSample) after a first baseline read.
    void start();
    void stop();
    // Reads the counters now; from the second call on emits sampled() with the rates since the
    // previous call. A read error emits errorOccurred (once per distinct message) and no rates.
    void sample();

    std::optional<InterfaceRates> lastRates() const;

Q_SIGNALS:
    void sampled(const monitor::InterfaceRates &rates);
    void errorOccurred(const QString &message);

private:
    qint64 now() const;
    qint64 monotonicNow() const;
    // Emits errorOccurred unless the same message was the last one reported.
    void reportError(const QString &message);

    Options m_options;
    std::unique_ptr<InterfaceCounterSource> m_source;
    QTimer *m_timer = nullptr;
    // Every interface of the previous successful read (not only the sampled ones), so an
    // interface chosen or appearing later already has its baseline.
    QHash<QString, InterfaceCounters> m_previous;
    QElapsedTimer m_steady; // the monotonic clock when none is injected
    qint64 m_previousMono = 0;
    bool m_haveBaseline = false;
    QString m_lastError; // reported already; cleared by the next good sample
    std::optional<InterfaceRates> m_lastRates;
};

} // namespace monitor
