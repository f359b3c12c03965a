#pragma once

// Helpers for the integration tests that run dlmsctl against a simulator. The in-process
// simulator lives in the test's thread, so every wait here spins the event loop (QSignalSpy)
// instead of blocking: a blocking wait would starve the meter the child process is talking to.

#include "clientsession.h"
#include "simulator.h"

#include <QtCore/QDateTime>
#include <QtCore/QDeadlineTimer>
#include <QtCore/QHash>
#include <QtCore/QJsonArray>
#include <QtCore/QJsonDocument>
#include <QtCore/QJsonObject>
#include <QtCore/QProcess>
#include <QtCore/QRegularExpression>
#include <QtCore/QStringList>
#include <QtCore/QTemporaryFile>
#include <QtNetwork/QTcpServer>
#include <QtTest/QSignalSpy>

#include <algorithm>
#include <cmath>
#include <memory>
#include <optional>
#include <vector>

namespace clitest {

using namespace Qt::StringLiterals;

inline QString dlmsctlPath()
{
    return QStringLiteral(DLMSCTL_PATH);
}

struct CliRun {
    int exitCode = -1; // -1 crashed, -2 still running at the deadline (then killed), -3 never started
    QString out;
    QString err;

    QStringList lines() const { return out.split(u'\n', Qt::SkipEmptyParts); }
    QStringList errLines() const { return err.split(u'\n', Qt::SkipEmptyParts); }
    QString describe() const
    {
        return u"exit %1\n--- stdout:\n%2\n--- stderr:\n%3"_s.arg(exitCode).arg(
            out.left(3000), err.left(3000));
    }
};

// Spins the event loop until `spy` caught a signal, `done` says so, or the deadline passes.
template<typename Done> inline bool spinUntil(QSignalSpy &spy, QDeadlineTimer deadline, Done done)
{
    while (spy.isEmpty() && !done()) {
        if (deadline.hasExpired())
            return false;
        spy.wait(int(std::clamp<qint64>(deadline.remainingTime(), 1, 200)));
    }
    return true;
}

inline int exitCodeOf(const QProcess &process)
{
    return process.exitStatus() == QProcess::NormalExit ? process.exitCode() : -1;
}

// Runs dlmsctl to completion without blocking the event loop; kills it at the deadline.
inline CliRun runCli(const QStringList &args, int timeoutMs = 20000, const QByteArray &stdinData = {})
{
    QProcess process;
    QSignalSpy finished(&process, &QProcess::finished);
    process.start(dlmsctlPath(), args);
    if (!stdinData.isEmpty())
        process.write(stdinData);
    process.closeWriteChannel();
    const bool ended = spinUntil(finished, QDeadlineTimer(timeoutMs), [&] {
        return process.state() == QProcess::NotRunning && process.error() == QProcess::FailedToStart;
    });
    CliRun run;
    if (process.error() == QProcess::FailedToStart) {
        run.exitCode = -3;
        run.err = process.errorString();
        return run;
    }
    if (!ended) {
        process.kill();
        spinUntil(finished, QDeadlineTimer(5000), [] { return false; });
        run.exitCode = -2;
    } else {
        run.exitCode = exitCodeOf(process);
    }
    run.out = QString::fromUtf8(process.readAllStandardOutput());
    run.err = QString::fromUtf8(process.readAllStandardError());
    return run;
}

inline std::unique_ptr<sim::Simulator> startSimulator(
    dlms::Transport transport, sim::MeterSettings meter = {}, int meters = 1)
{
    sim::SimulatorConfig config;
    config.basePort = 0;
    config.transport = transport;
    config.meters = meters;
    config.meter = std::move(meter);
    auto simulator = std::make_unique<sim::Simulator>(std::move(config));
    if (const auto started = simulator->start(); !started) {
        qWarning("simulator did not start: %s", qPrintable(started.error().message));
        return nullptr;
    }
    return simulator;
}

inline dlms::Transport transportFromName(const QString &name)
{
    return dlms::transportFromName(name).value_or(dlms::Transport::Wrapper);
}

// Writes `content` to a fresh temporary file and returns its name ("" when it cannot).
inline QString writeTemp(QTemporaryFile &file, const QByteArray &content)
{
    if (!file.open())
        return {};
    file.write(content);
    file.close();
    return file.fileName();
}

inline QStringList connectionArgs(quint16 port, const QString &transport)
{
    return {u"--host"_s, u"127.0.0.1"_s, u"--port"_s, QString::number(port), u"--transport"_s, transport};
}

inline QStringList connectionArgs(const sim::Simulator &simulator, int meter = 0)
{
    return connectionArgs(simulator.port(meter), dlms::transportName(simulator.config().transport));
}

// Text output columns are separated by two or more spaces.
inline QStringList columns(const QString &line)
{
    static const QRegularExpression separator(u"\\s{2,}"_s);
    return line.trimmed().split(separator, Qt::SkipEmptyParts);
}

// The columns of the text line whose first column is `item` ("1.0.32.7.0.255:2"); empty if none.
inline QStringList itemColumns(const QString &out, const QString &item)
{
    for (const QString &line : out.split(u'\n', Qt::SkipEmptyParts)) {
        const QStringList cols = columns(line);
        if (!cols.isEmpty() && cols.first() == item)
            return cols;
    }
    return {};
}

struct Quantity {
    double value = 0;
    QString unit; // empty for a dimensionless value
};

// "230.1 V" → {230.1, "V"}; "0.981" → {0.981, ""}.
inline std::optional<Quantity> parseQuantity(const QString &text)
{
    const QStringList parts = text.trimmed().split(u' ', Qt::SkipEmptyParts);
    if (parts.isEmpty() || parts.size() > 2)
        return std::nullopt;
    bool ok = false;
    const double value = parts.first().toDouble(&ok);
    if (!ok || !std::isfinite(value))
        return std::nullopt;
    return Quantity {value, parts.size() == 2 ? parts.at(1) : QString()};
}

// An ISO 8601 date-time that carries its offset ("Z" or "+01:00"); invalid otherwise.
inline QDateTime parseIsoWithOffset(const QString &text)
{
    static const QRegularExpression shape(
        u"^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d(:\\d\\d(\\.\\d+)?)?(Z|[+-]\\d\\d:\\d\\d)$"_s);
    if (!shape.match(text.trimmed()).hasMatch())
        return {};
    QDateTime dt = QDateTime::fromString(text.trimmed(), Qt::ISODateWithMs);
    if (!dt.isValid())
        dt = QDateTime::fromString(text.trimmed(), Qt::ISODate);
    return dt;
}

inline const QStringList &statsKeys()
{
    static const QStringList keys {u"requests"_s, u"responses"_s, u"bytes_sent"_s, u"bytes_received"_s,
        u"frames_sent"_s, u"frames_received"_s, u"discarded_bytes"_s, u"connect_ms"_s, u"read_ms"_s,
        u"release_ms"_s};
    return keys;
}

// The key=value pairs of the last "stats: …" line on stderr.
inline QHash<QString, qint64> parseStats(const QString &err)
{
    QHash<QString, qint64> stats;
    const QStringList lines = err.split(u'\n', Qt::SkipEmptyParts);
    for (auto it = lines.crbegin(); it != lines.crend(); ++it) {
        if (!it->startsWith(u"stats: "_s))
            continue;
        for (const QString &pair : it->mid(7).split(u' ', Qt::SkipEmptyParts)) {
            const qsizetype eq = pair.indexOf(u'=');
            bool ok = false;
            const qint64 value = eq > 0 ? pair.mid(eq + 1).toLongLong(&ok) : 0;
            if (ok)
                stats.insert(pair.left(eq), value);
        }
        break;
    }
    return stats;
}

inline QJsonObject parseJsonObject(const QString &text, QString *error = nullptr)
{
    QJsonParseError parseError;
    const QJsonDocument doc = QJsonDocument::fromJson(text.toUtf8(), &parseError);
    if (error)
        *error = parseError.error == QJsonParseError::NoError ? QString() : parseError.errorString();
    return doc.object();
}

// The item objects of a `read --json` document, by their "item" key.
inline QHash<QString, QJsonObject> jsonItems(const QJsonObject &doc)
{
    QHash<QString, QJsonObject> items;
    for (const QJsonValue &v : doc.value(u"items"_s).toArray())
        items.insert(v.toObject().value(u"item"_s).toString(), v.toObject());
    return items;
}

// A loopback port nothing listens on (it was just released), for "connection refused".
inline quint16 unusedPort()
{
    QTcpServer server;
    if (!server.listen(QHostAddress::LocalHost, 0))
        return 0;
    const quint16 port = server.serverPort();
    server.close();
    return port;
}

// The first of `count` consecutive loopback ports that were free a moment ago; 0 if none found.
inline quint16 consecutiveFreePorts(int count)
{
    for (int attempt = 0; attempt < 50; ++attempt) {
        std::vector<std::unique_ptr<QTcpServer>> held;
        held.push_back(std::make_unique<QTcpServer>());
        if (!held.front()->listen(QHostAddress::LocalHost, 0))
            return 0;
        const quint16 base = held.front()->serverPort();
        if (int(base) + count - 1 > 65535)
            continue;
        bool allFree = true;
        for (int i = 1; i < count && allFree; ++i) {
            held.push_back(std::make_unique<QTcpServer>());
            allFree = held.back()->listen(QHostAddress::LocalHost, quint16(base + i));
        }
        if (allFree)
            return base;
    }
    return 0;
}

// `dlmsctl simulate …` as a child process: waits for its "ready", parses its meter lines,
// stops it with a signal. Kills it on destruction if a test bailed out early.
class SimulateProcess {
public:
    struct Meter {
        int number = 0;
        quint16 port = 0;
        QString transport;
        QString serial;
        QString faults; // text after "faults: ", empty without faults
        QString line;
    };

    explicit SimulateProcess(const QStringList &options)
        : m_finished(&m_process, &QProcess::finished),
          m_output(&m_process, &QProcess::readyReadStandardOutput)
    {
        m_process.start(dlmsctlPath(), QStringList {u"simulate"_s} + options);
        m_process.closeWriteChannel();
    }
    ~SimulateProcess()
    {
        if (m_process.state() != QProcess::NotRunning) {
            m_process.kill();
            spinUntil(m_finished, QDeadlineTimer(5000), [] { return false; });
        }
    }
    Q_DISABLE_COPY_MOVE(SimulateProcess)

    // True once "ready" was printed; false if the process ended or the deadline passed first.
    bool waitReady(int timeoutMs = 10000)
    {
        const QDeadlineTimer deadline(timeoutMs);
        for (;;) {
            collect();
            if (m_stdoutLines.contains(u"ready"_s))
                return true;
            if (m_process.state() == QProcess::NotRunning || deadline.hasExpired())
                return false;
            m_output.clear();
            spinUntil(m_output, deadline, [this] { return m_process.state() == QProcess::NotRunning; });
        }
    }

    // The exit code once the process ended (-1 crash, -2 still running at the deadline).
    int waitExit(int timeoutMs = 10000)
    {
        if (!spinUntil(m_finished, QDeadlineTimer(timeoutMs),
                [this] { return m_process.state() == QProcess::NotRunning; }))
            return -2;
        collect();
        return exitCodeOf(m_process);
    }

    int terminate(int timeoutMs = 10000)
    {
        m_process.terminate();
        return waitExit(timeoutMs);
    }

    QList<Meter> meters()
    {
        collect();
        static const QRegularExpression meterLine(
            u"^meter (\\d+)\\s{2,}127\\.0\\.0\\.1:(\\d+)\\s{2,}(\\S+)\\s{2,}serial (\\S+)(?:\\s+faults: (.*))?$"_s);
        QList<Meter> meters;
        for (const QString &line : std::as_const(m_stdoutLines)) {
            const auto m = meterLine.match(line);
            if (!m.hasMatch())
                continue;
            meters.append(Meter {m.captured(1).toInt(), quint16(m.captured(2).toUInt()), m.captured(3),
                m.captured(4), m.captured(5).trimmed(), line});
        }
        return meters;
    }

    QStringList stdoutLines()
    {
        collect();
        return m_stdoutLines;
    }
    QString errorOutput()
    {
        collect();
        return m_stderr;
    }
    QString describe()
    {
        collect();
        return u"--- simulate stdout:\n%1\n--- simulate stderr:\n%2"_s.arg(
            m_stdoutLines.join(u'\n'), m_stderr);
    }
    qint64 processId() const { return m_process.processId(); }
    bool running() const { return m_process.state() != QProcess::NotRunning; }

private:
    void collect()
    {
        m_stdout += m_process.readAllStandardOutput();
        m_stderr += QString::fromUtf8(m_process.readAllStandardError());
        qsizetype newline;
        while ((newline = m_stdout.indexOf('\n')) >= 0) {
            m_stdoutLines.append(QString::fromUtf8(m_stdout.left(newline)).trimmed());
            m_stdout.remove(0, newline + 1);
        }
    }

    QProcess m_process;
    QSignalSpy m_finished;
    QSignalSpy m_output;
    QByteArray m_stdout; // an incomplete last line
    QStringList m_stdoutLines;
    QString m_stderr;
};

} // namespace clitest
