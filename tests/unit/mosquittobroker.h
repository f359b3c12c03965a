#pragma once

// A real mosquitto broker for tests and benchmarks: Debian's /usr/sbin/mosquitto started on a
// free 127.0.0.1 port with its own config file in a temporary directory, ended by PID. Plus a
// small PKI made with the openssl CLI for the TLS cases. QtCore + QtNetwork only (no QtTest), so
// a benchmark can include it. Blocking waits are fine here: this is test scaffolding.

#include <QtCore/QByteArray>
#include <QtCore/QDeadlineTimer>
#include <QtCore/QDir>
#include <QtCore/QFile>
#include <QtCore/QFileInfo>
#include <QtCore/QProcess>
#include <QtCore/QRandomGenerator>
#include <QtCore/QString>
#include <QtCore/QStringList>
#include <QtCore/QTemporaryDir>
#include <QtCore/QThread>
#include <QtNetwork/QHostAddress>
#include <QtNetwork/QTcpServer>
#include <QtNetwork/QTcpSocket>

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <utility>
#include <vector>

namespace testsupport {

struct BrokerUser {
    QString name;
    QString password;
};

struct BrokerConfig {
    std::vector<BrokerUser> users; // non-empty → allow_anonymous false + password_file (mosquitto_passwd -b)
    bool tls = false; // listener with cafile/certfile/keyfile below
    QString caFile, certFile, keyFile;
    bool requireClientCertificate = false;
    // persistence true + autosave_on_changes 1 + autosave_interval 1 + persistence_location in
    // the broker's temp dir: a subscriber's persistent session (cleanSession=false) and its
    // queued QoS 1 messages survive kill()/restart().
    bool persistence = false;
    QString extraConfig; // appended lines
};

namespace detail {

inline QString currentUserName()
{
    if (const passwd *pw = ::getpwuid(::geteuid()); pw && pw->pw_name)
        return QString::fromLocal8Bit(pw->pw_name);
    return qEnvironmentVariable("USER", QStringLiteral("root"));
}

// Runs a short command to completion; false with a readable reason in *error.
inline bool runTool(
    const QString &program, const QStringList &arguments, QString *error, const QString &workingDir = {})
{
    QProcess process;
    process.setProcessChannelMode(QProcess::MergedChannels);
    if (!workingDir.isEmpty())
        process.setWorkingDirectory(workingDir);
    process.start(program, arguments);
    if (!process.waitForStarted(10'000)) {
        *error = QStringLiteral("%1 did not start: %2").arg(program, process.errorString());
        return false;
    }
    if (!process.waitForFinished(30'000)) {
        process.kill();
        process.waitForFinished(5'000);
        *error = QStringLiteral("%1 did not finish").arg(program);
        return false;
    }
    if (process.exitStatus() != QProcess::NormalExit || process.exitCode() != 0) {
        *error = QStringLiteral("%1 %2 failed (exit %3): %4")
                     .arg(program, arguments.value(0))
                     .arg(process.exitCode())
                     .arg(QString::fromLocal8Bit(process.readAll()).trimmed());
        return false;
    }
    return true;
}

inline bool writeFile(const QString &path, const QByteArray &content, QString *error)
{
    QFile file(path);
    if (!file.open(QIODevice::WriteOnly | QIODevice::Truncate) || file.write(content) != content.size()) {
        *error = QStringLiteral("cannot write %1: %2").arg(path, file.errorString());
        return false;
    }
    return true;
}

// A port nobody listens on right now (the kernel picks it; the small race with another process
// taking it before mosquitto binds is covered by start() trying again).
inline quint16 freeLoopbackPort()
{
    QTcpServer server;
    if (!server.listen(QHostAddress::LocalHost, 0))
        return 0;
    const quint16 port = server.serverPort();
    server.close();
    return port;
}

} // namespace detail

class MosquittoBroker {
public:
    explicit MosquittoBroker(BrokerConfig config = {}) : m_config(std::move(config)) { }
    MosquittoBroker(const MosquittoBroker &) = delete;
    MosquittoBroker &operator=(const MosquittoBroker &) = delete;
    ~MosquittoBroker() { stop(); }

    // 0: a free port. Returns once the broker accepts TCP (≤ 10 s), or false (errorString()).
    bool start(quint16 port = 0)
    {
        if (isRunning()) {
            m_error = QStringLiteral("already running");
            return false;
        }
        if (!m_dir.isValid()) {
            m_error = QStringLiteral("no temporary directory: %1").arg(m_dir.errorString());
            return false;
        }
        if (!m_configured && !writeSetup())
            return false;
        if (port != 0)
            return launchOn(port, true);
        // A port picked by the kernel can be taken again before mosquitto binds it: pick another.
        for (int attempt = 0; attempt < 5; ++attempt) {
            const quint16 candidate = detail::freeLoopbackPort();
            if (candidate == 0) {
                m_error = QStringLiteral("no free loopback port");
                return false;
            }
            // A port taken by someone else is not worth waiting for: try the next one.
            if (launchOn(candidate, false))
                return true;
            if (!m_portBusy)
                return false;
        }
        return false;
    }

    // SIGKILL by PID; waits for the process to be gone.
    void kill()
    {
        if (!m_process)
            return;
        if (m_process->state() != QProcess::NotRunning) {
            m_process->kill();
            m_process->waitForFinished(10'000);
        }
        m_process.reset();
    }

    // Starts again on the same port; retries while the port is still busy (e.g. right after kill()).
    bool restart()
    {
        if (m_port == 0) {
            m_error = QStringLiteral("never started");
            return false;
        }
        if (isRunning())
            stop();
        return launchOn(m_port, true);
    }

    // SIGTERM, waits (SIGKILL after 5 s).
    void stop()
    {
        if (!m_process)
            return;
        if (m_process->state() != QProcess::NotRunning) {
            m_process->terminate();
            if (!m_process->waitForFinished(5'000)) {
                m_process->kill();
                m_process->waitForFinished(5'000);
            }
        }
        m_process.reset();
    }

    // With persistence: returns once the broker has written its database after the last PUBACK
    // it sent, so a kill() right after loses nothing it acknowledged (false after timeoutMs).
    bool waitUntilSaved(int timeoutMs = 10'000) const
    {
        const QDeadlineTimer deadline(timeoutMs);
        do {
            const QString text = log();
            const qsizetype lastAck = text.lastIndexOf(QLatin1StringView("Sending PUBACK"));
            if (text.indexOf(QLatin1StringView("Saving in-memory database"), std::max<qsizetype>(lastAck, 0))
                >= 0)
                return true;
            QThread::msleep(10);
        } while (!deadline.hasExpired());
        return false;
    }

    bool isRunning() const { return m_process && m_process->state() != QProcess::NotRunning; }
    quint16 port() const { return m_port; }
    qint64 pid() const { return isRunning() ? m_process->processId() : 0; }
    QString log() const
    {
        QFile file(logPath());
        if (!file.open(QIODevice::ReadOnly))
            return {};
        return QString::fromUtf8(file.readAll());
    }
    QString errorString() const { return m_error; }
    QString directory() const { return m_dir.path(); }

private:
    QString logPath() const { return m_dir.filePath(QStringLiteral("mosquitto.log")); }
    QString configPath() const { return m_dir.filePath(QStringLiteral("mosquitto.conf")); }

    // The password file is made once; the config file is rewritten per port.
    bool writeSetup()
    {
        if (!m_config.users.empty()) {
            const QString passwd = m_dir.filePath(QStringLiteral("passwd"));
            bool first = true;
            for (const BrokerUser &user : m_config.users) {
                QStringList args {QStringLiteral("-b")};
                if (first)
                    args << QStringLiteral("-c");
                args << passwd << user.name << user.password;
                if (!detail::runTool(QStringLiteral("/usr/bin/mosquitto_passwd"), args, &m_error))
                    return false;
                first = false;
            }
        }
        m_configured = true;
        return true;
    }

    QByteArray configText(quint16 port) const
    {
        QStringList lines;
        lines << QStringLiteral("user %1").arg(detail::currentUserName());
        lines << QStringLiteral("log_dest file %1").arg(logPath());
        lines << QStringLiteral("log_type all");
        lines << QStringLiteral("log_timestamp true");
        lines << QStringLiteral("per_listener_settings false");
        if (m_config.persistence) {
            lines << QStringLiteral("persistence true");
            lines << QStringLiteral("persistence_location %1/").arg(m_dir.path());
            lines << QStringLiteral("autosave_on_changes true");
            lines << QStringLiteral("autosave_interval 1");
        } else {
            lines << QStringLiteral("persistence false");
        }
        if (m_config.users.empty()) {
            lines << QStringLiteral("allow_anonymous true");
        } else {
            lines << QStringLiteral("allow_anonymous false");
            lines << QStringLiteral("password_file %1").arg(m_dir.filePath(QStringLiteral("passwd")));
        }
        lines << QStringLiteral("listener %1 127.0.0.1").arg(port);
        if (m_config.tls) {
            lines << QStringLiteral("cafile %1").arg(m_config.caFile);
            lines << QStringLiteral("certfile %1").arg(m_config.certFile);
            lines << QStringLiteral("keyfile %1").arg(m_config.keyFile);
            if (m_config.requireClientCertificate)
                lines << QStringLiteral("require_certificate true");
        }
        if (!m_config.extraConfig.isEmpty())
            lines << m_config.extraConfig;
        return lines.join(QLatin1Char('\n')).toUtf8() + '\n';
    }

    // Launches mosquitto on port until it accepts TCP (≤ 10 s); retries while the port is busy if asked.
    bool launchOn(quint16 port, bool retryWhileBusy)
    {
        const QDeadlineTimer deadline(10'000);
        if (!detail::writeFile(configPath(), configText(port), &m_error))
            return false;
        for (;;) {
            m_logOffset = QFileInfo(logPath()).size();
            m_process = std::make_unique<QProcess>();
            m_process->setProcessChannelMode(QProcess::MergedChannels);
            m_process->start(QStringLiteral("/usr/sbin/mosquitto"), {QStringLiteral("-c"), configPath()});
            if (!m_process->waitForStarted(10'000)) {
                m_error = QStringLiteral("mosquitto did not start: %1").arg(m_process->errorString());
                m_process.reset();
                return false;
            }
            if (waitUntilAccepting(port, deadline)) {
                m_port = port;
                m_error.clear();
                return true;
            }
            const bool exited = m_process->state() == QProcess::NotRunning;
            const QString output = QString::fromLocal8Bit(m_process->readAll()).trimmed();
            kill();
            const QString thisRun = logSince(m_logOffset).trimmed();
            const QLatin1StringView busy("Address already in use");
            m_portBusy = output.contains(busy) || thisRun.contains(busy);
            m_error
                = QStringLiteral("mosquitto on 127.0.0.1:%1 %2: %3 %4")
                      .arg(port)
                      .arg(exited ? QStringLiteral("exited") : QStringLiteral("did not accept connections"),
                          output, thisRun.right(800));
            if (!exited || !m_portBusy || !retryWhileBusy || deadline.hasExpired())
                return false;
            // The port is still busy (a restart right after kill(), or taken by someone else):
            // give the kernel a moment and try again until the deadline.
            QThread::msleep(100);
        }
    }

    QString logSince(qint64 offset) const
    {
        QFile file(logPath());
        if (!file.open(QIODevice::ReadOnly) || !file.seek(offset))
            return {};
        return QString::fromUtf8(file.readAll());
    }

    bool logSaysRunningAfter(qint64 offset) const
    {
        return logSince(offset).contains(QLatin1StringView(" running"));
    }

    bool waitUntilAccepting(quint16 port, QDeadlineTimer deadline)
    {
        while (!deadline.hasExpired()) {
            QTcpSocket probe;
            probe.connectToHost(QHostAddress::LocalHost, port);
            // Also wait for "running" in the log: the listener accepts a moment before the
            // broker's loop starts, and tests read log() right after start().
            if (probe.waitForConnected(500) && logSaysRunningAfter(m_logOffset)) {
                probe.disconnectFromHost();
                return true;
            }
            // A refused probe returns at once: pause on the broker process, which also tells
            // when it died (bad config, port taken).
            if (m_process->waitForFinished(25) || m_process->state() == QProcess::NotRunning)
                return false;
        }
        return false;
    }

    BrokerConfig m_config;
    QTemporaryDir m_dir;
    std::unique_ptr<QProcess> m_process;
    quint16 m_port = 0;
    qint64 m_logOffset = 0; // where this run's lines start in the log
    bool m_portBusy = false; // the last launch failed on "Address already in use"
    bool m_configured = false;
    QString m_error;
};

// Made with the openssl CLI into dir: EC P-256 keys, valid for a day.
struct TestPki {
    // CA, server cert (CN localhost, SAN IP:127.0.0.1, DNS:localhost), a second unrelated CA, a
    // client cert signed by the CA.
    bool create(const QString &dir)
    {
        const QDir d(dir);
        const QString cnf = d.filePath(QStringLiteral("openssl.cnf"));
        const QByteArray config = QByteArrayLiteral("[req]\n"
                                                    "distinguished_name = dn\n"
                                                    "prompt = no\n"
                                                    "[dn]\n"
                                                    "CN = unused\n"
                                                    "[v3_ca]\n"
                                                    "basicConstraints = critical,CA:TRUE\n"
                                                    "keyUsage = critical,keyCertSign,cRLSign\n"
                                                    "subjectKeyIdentifier = hash\n"
                                                    "[v3_server]\n"
                                                    "basicConstraints = critical,CA:FALSE\n"
                                                    "keyUsage = critical,digitalSignature\n"
                                                    "extendedKeyUsage = serverAuth\n"
                                                    "subjectAltName = IP:127.0.0.1,DNS:localhost\n"
                                                    "subjectKeyIdentifier = hash\n"
                                                    "authorityKeyIdentifier = keyid\n"
                                                    "[v3_client]\n"
                                                    "basicConstraints = critical,CA:FALSE\n"
                                                    "keyUsage = critical,digitalSignature\n"
                                                    "extendedKeyUsage = clientAuth\n"
                                                    "subjectKeyIdentifier = hash\n"
                                                    "authorityKeyIdentifier = keyid\n");
        if (!detail::writeFile(cnf, config, &error))
            return false;

        caCert = d.filePath(QStringLiteral("ca.crt"));
        const QString caKey = d.filePath(QStringLiteral("ca.key"));
        serverCert = d.filePath(QStringLiteral("server.crt"));
        serverKey = d.filePath(QStringLiteral("server.key"));
        otherCaCert = d.filePath(QStringLiteral("other-ca.crt"));
        const QString otherCaKey = d.filePath(QStringLiteral("other-ca.key"));
        clientCert = d.filePath(QStringLiteral("client.crt"));
        clientKey = d.filePath(QStringLiteral("client.key"));

        return makeCa(cnf, caKey, caCert, QStringLiteral("/CN=DLMS Bridge Test CA"))
            && makeCa(cnf, otherCaKey, otherCaCert, QStringLiteral("/CN=Unrelated Test CA"))
            && makeLeaf(cnf, caCert, caKey, serverKey, serverCert, QStringLiteral("/CN=localhost"),
                QStringLiteral("v3_server"))
            && makeLeaf(cnf, caCert, caKey, clientKey, clientCert,
                QStringLiteral("/CN=dlmsbridge-test-client"), QStringLiteral("v3_client"));
    }

    QString caCert, serverCert, serverKey, otherCaCert, clientCert, clientKey;
    QString error;

private:
    bool openssl(const QStringList &arguments)
    {
        return detail::runTool(QStringLiteral("openssl"), arguments, &error);
    }

    bool makeKey(const QString &keyPath)
    {
        return openssl({QStringLiteral("genpkey"), QStringLiteral("-algorithm"), QStringLiteral("EC"),
            QStringLiteral("-pkeyopt"), QStringLiteral("ec_paramgen_curve:P-256"), QStringLiteral("-out"),
            keyPath});
    }

    bool makeCa(const QString &cnf, const QString &keyPath, const QString &certPath, const QString &subject)
    {
        return makeKey(keyPath)
            && openssl({QStringLiteral("req"), QStringLiteral("-config"), cnf, QStringLiteral("-new"),
                QStringLiteral("-x509"), QStringLiteral("-key"), keyPath, QStringLiteral("-out"), certPath,
                QStringLiteral("-days"), QStringLiteral("1"), QStringLiteral("-subj"), subject,
                QStringLiteral("-extensions"), QStringLiteral("v3_ca"), QStringLiteral("-sha256")});
    }

    bool makeLeaf(const QString &cnf, const QString &caCertPath, const QString &caKeyPath,
        const QString &keyPath, const QString &certPath, const QString &subject, const QString &extensions)
    {
        const QString csr = certPath + QStringLiteral(".csr");
        const QString serial = QString::number(QRandomGenerator::global()->bounded(1, 0x7fffffff));
        return makeKey(keyPath)
            && openssl({QStringLiteral("req"), QStringLiteral("-config"), cnf, QStringLiteral("-new"),
                QStringLiteral("-key"), keyPath, QStringLiteral("-out"), csr, QStringLiteral("-subj"),
                subject})
            && openssl({QStringLiteral("x509"), QStringLiteral("-req"), QStringLiteral("-in"), csr,
                QStringLiteral("-CA"), caCertPath, QStringLiteral("-CAkey"), caKeyPath,
                QStringLiteral("-set_serial"), serial, QStringLiteral("-out"), certPath,
                QStringLiteral("-days"), QStringLiteral("1"), QStringLiteral("-sha256"),
                QStringLiteral("-extfile"), cnf, QStringLiteral("-extensions"), extensions});
    }
};

} // namespace testsupport
