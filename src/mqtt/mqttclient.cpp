#include "mqttclient.h"

#include <QtCore/QFileInfo>
#include <QtCore/QLoggingCategory>
#include <QtCore/QPointer>
#include <QtCore/QRandomGenerator>
#include <QtCore/QSocketNotifier>
#include <QtCore/QThreadPool>
#include <QtCore/QTimer>

#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <openssl/ssl.h>

#include <sys/ioctl.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

using namespace Qt::StringLiterals;

namespace mqtt {

namespace {

Q_LOGGING_CATEGORY(lcMqttClient, "dlmsbridge.mqtt")

// Read wakes drain what the socket holds, but no more than this many loop_read calls per wake
// (each reads many packets), so a flood cannot starve the thread's other objects.
constexpr int kMaxReadsPerWake = 64;
constexpr int kMiscIntervalMs = 1000;

void initLibraryOnce()
{
    static std::once_flag once;
    std::call_once(once, [] { mosquitto_lib_init(); });
}

int remainingLengthBytes(quint64 remaining)
{
    if (remaining < 128)
        return 1;
    if (remaining < 16'384)
        return 2;
    if (remaining < 2'097'152)
        return 3;
    return 4;
}

QString errnoText(int error)
{
    return QString::fromLocal8Bit(std::strerror(error));
}

// The OpenSSL reason at the end of libmosquitto's "OpenSSL Error[0]: error:0A000086:SSL
// routines::certificate verify failed".
QString opensslReason(const std::string &logLine)
{
    const QString line = QString::fromUtf8(logLine.data(), qsizetype(logLine.size()));
    const qsizetype colon = line.lastIndexOf(u':');
    const QString reason = colon >= 0 ? line.mid(colon + 1).trimmed() : line.trimmed();
    return reason.isEmpty() ? line.trimmed() : reason;
}

} // namespace

struct MqttClient::Private {
    enum class Phase : quint8 { Idle, Resolving, Handshake, Connected };
    struct Attempt;

    explicit Private(MqttClient *client);

    void startAttempt();
    void onConnectStarted(const std::shared_ptr<Attempt> &started);
    void onReadable();
    void onWritable();
    void onMiscTick();
    void onConnectTimeout();
    void afterLoop();
    void updateWriteNotifier();
    bool dataPending() const;
    bool checkSocketError();
    void checkHandshakeEnded();
    void recordFailure(ClientError error);
    void recordLoopError(int rc, int savedErrno);
    ClientError errorFromRc(int rc, int savedErrno) const;
    void finishConnection();
    void releaseAttempt();
    void flushDeferredAcks();
    void scheduleReconnect();
    void setState(ClientState state);
    QString endpoint() const { return u"%1:%2"_s.arg(q->m_options.host).arg(q->m_options.port); }
    void failInvalid(const QString &message);
    void publishFailed(const QString &message);

    // libmosquitto callbacks: called synchronously from inside loop_read/write/misc and publish
    // on this thread (the log callback also from the connecting worker).
    static void connectCallback(mosquitto *, void *obj, int rc, int flags, const mosquitto_property *);
    static void disconnectCallback(mosquitto *, void *obj, int rc, const mosquitto_property *);
    static void publishCallback(mosquitto *, void *obj, int mid, int reasonCode, const mosquitto_property *);
    static void messageCallback(
        mosquitto *, void *obj, const mosquitto_message *message, const mosquitto_property *);
    static void logCallback(mosquitto *, void *obj, int level, const char *text);

    struct LoopGuard {
        explicit LoopGuard(Private *p) : d(p) { ++d->loopDepth; }
        ~LoopGuard() { --d->loopDepth; }
        Private *d;
    };

    MqttClient *q;
    std::shared_ptr<Attempt> attempt;
    mosquitto *mosq = nullptr; // attempt->mosq once adopted on this thread
    QSocketNotifier *readNotifier = nullptr;
    QSocketNotifier *writeNotifier = nullptr;
    QTimer *miscTimer;
    QTimer *connectTimer;
    QTimer *reconnectTimer;
    QTimer *ackFlushTimer;
    Phase phase = Phase::Idle;
    bool tcpEstablished = false;
    bool wanted = false; // connectToHost() called and not disconnectFromHost()
    bool closing = false; // disconnectFromHost() while a connection or attempt exists
    bool linkDown = false; // the attempt or connection ended; torn down after the loop call
    bool hadConnection = false;
    bool inPublish = false;
    int loopDepth = 0;
    int inflight = 0;
    int backoffMs = 0;
    std::optional<ClientError> pendingFailure;
    std::vector<int> deferredAcks;
    QByteArray generatedClientId;
};

// One connection attempt's libmosquitto handle, shared between the client and the worker that
// runs the blocking part of connecting: whoever drops it last destroys the handle.
struct MqttClient::Private::Attempt {
    mosquitto *mosq = nullptr;
    Private *owner = nullptr; // set and used on the client's thread only
    std::mutex postMutex;
    MqttClient *postTarget = nullptr; // guarded by postMutex; null once the client gave up on it
    int connectRc = MOSQ_ERR_SUCCESS;
    int connectErrno = 0;
    std::string lastErrorLog; // written by whoever runs libmosquitto at the time

    ~Attempt()
    {
        if (mosq)
            mosquitto_destroy(mosq);
    }
};

MqttClient::Private::Private(MqttClient *client)
    : q(client), miscTimer(new QTimer(client)), connectTimer(new QTimer(client)),
      reconnectTimer(new QTimer(client)), ackFlushTimer(new QTimer(client))
{
    connectTimer->setSingleShot(true);
    reconnectTimer->setSingleShot(true);
    ackFlushTimer->setSingleShot(true);
    miscTimer->setInterval(kMiscIntervalMs);
    QObject::connect(miscTimer, &QTimer::timeout, client, [this] { onMiscTick(); });
    QObject::connect(connectTimer, &QTimer::timeout, client, [this] { onConnectTimeout(); });
    QObject::connect(reconnectTimer, &QTimer::timeout, client, [this] {
        if (wanted && q->m_state == ClientState::Disconnected && phase == Phase::Idle)
            startAttempt();
    });
    QObject::connect(ackFlushTimer, &QTimer::timeout, client, [this] { flushDeferredAcks(); });
    generatedClientId = "dlmsbridge-" + QByteArray::number(QRandomGenerator::global()->generate64(), 16);
}

void MqttClient::Private::setState(ClientState state)
{
    if (q->m_state == state)
        return;
    q->m_state = state;
    qCDebug(lcMqttClient).noquote() << "MQTT" << endpoint() << clientStateName(state);
    Q_EMIT q->stateChanged(state);
}

void MqttClient::Private::failInvalid(const QString &message)
{
    wanted = false;
    qCWarning(lcMqttClient).noquote() << "MQTT options invalid:" << message;
    Q_EMIT q->errorOccurred(ClientError {ClientErrorCode::InvalidOptions, message});
}

void MqttClient::Private::publishFailed(const QString &message)
{
    qCWarning(lcMqttClient).noquote() << "MQTT publish-failed:" << message;
    Q_EMIT q->errorOccurred(ClientError {ClientErrorCode::PublishFailed, message});
}

QString MqttClient::findOptionsProblem(const ClientOptions &o)
{
    if (o.host.isEmpty())
        return u"MQTT broker host is empty"_s;
    if (o.port == 0)
        return u"MQTT broker port is 0"_s;
    if (o.keepAliveS < 5 || o.keepAliveS > 65'535)
        return u"MQTT keepalive must be 5…65535 s, not %1"_s.arg(o.keepAliveS);
    if (o.username.isEmpty() && !o.password.isEmpty() && o.version == ProtocolVersion::V311)
        return u"MQTT 3.1.1 does not allow a password without a username"_s;
    if (!o.tls.enabled)
        return {};
    if (o.tls.caFile.isEmpty())
        return u"TLS needs a CA file"_s;
    if (o.tls.certFile.isEmpty() != o.tls.keyFile.isEmpty())
        return u"a TLS client certificate needs both a certificate and a key file"_s;
    for (const QString &file : {o.tls.caFile, o.tls.certFile, o.tls.keyFile}) {
        if (!file.isEmpty() && !QFileInfo(file).isReadable())
            return u"cannot read TLS file %1"_s.arg(file);
    }
    return {};
}

void MqttClient::Private::startAttempt()
{
    const ClientOptions &o = q->m_options;
    if (const QString problem = MqttClient::findOptionsProblem(o); !problem.isEmpty())
        return failInvalid(problem);

    auto next = std::make_shared<Attempt>();
    const QByteArray clientId = o.clientId.isEmpty() ? generatedClientId : o.clientId.toUtf8();
    next->mosq = mosquitto_new(clientId.constData(), o.cleanSession, next.get());
    if (!next->mosq)
        return failInvalid(u"libmosquitto refused the client id or session options"_s);
    mosquitto *m = next->mosq;
    mosquitto_int_option(m, MOSQ_OPT_PROTOCOL_VERSION,
        o.version == ProtocolVersion::V5 ? MQTT_PROTOCOL_V5 : MQTT_PROTOCOL_V311);
    mosquitto_int_option(m, MOSQ_OPT_SEND_MAXIMUM, std::clamp(o.maxInflight, 1, 65'535));
    mosquitto_int_option(m, MOSQ_OPT_TCP_NODELAY, 1);
    if (!o.username.isEmpty() || !o.password.isEmpty()) {
        const QByteArray user = o.username.toUtf8();
        const QByteArray password = o.password.toUtf8();
        if (mosquitto_username_pw_set(m, o.username.isEmpty() ? nullptr : user.constData(),
                o.password.isEmpty() ? nullptr : password.constData())
            != MOSQ_ERR_SUCCESS)
            return failInvalid(u"libmosquitto refused the username/password"_s);
    }
    if (o.tls.enabled) {
        const QByteArray ca = QFile::encodeName(o.tls.caFile);
        const QByteArray cert = QFile::encodeName(o.tls.certFile);
        const QByteArray key = QFile::encodeName(o.tls.keyFile);
        int rc = mosquitto_tls_set(m, ca.constData(), nullptr, cert.isEmpty() ? nullptr : cert.constData(),
            key.isEmpty() ? nullptr : key.constData(), nullptr);
        if (rc == MOSQ_ERR_SUCCESS)
            rc = mosquitto_tls_opts_set(
                m, o.tls.verifyPeer ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nullptr, nullptr);
        if (rc == MOSQ_ERR_SUCCESS)
            rc = mosquitto_tls_insecure_set(m, !o.tls.verifyPeer);
        if (rc != MOSQ_ERR_SUCCESS)
            return failInvalid(
                u"libmosquitto refused the TLS files: %1"_s.arg(QString::fromUtf8(mosquitto_strerror(rc))));
    }
    mosquitto_connect_v5_callback_set(m, &Private::connectCallback);
    mosquitto_disconnect_v5_callback_set(m, &Private::disconnectCallback);
    mosquitto_publish_v5_callback_set(m, &Private::publishCallback);
    mosquitto_message_v5_callback_set(m, &Private::messageCallback);
    // Only while connecting: libmosquitto formats (and allocates) a line per packet when a log
    // callback is set, and the error lines matter only for the handshake.
    mosquitto_log_callback_set(m, &Private::logCallback);

    next->postTarget = q;
    attempt = next;
    phase = Phase::Resolving;
    tcpEstablished = false;
    linkDown = false;
    closing = false;
    pendingFailure.reset();
    setState(ClientState::Connecting);
    connectTimer->start(std::max(1, o.connectTimeoutMs));

    // mosquitto_connect_bind_async resolves the name with a blocking getaddrinfo: off this thread.
    QThreadPool::globalInstance()->start(
        [next, host = o.host.toUtf8(), port = int(o.port), keepAlive = o.keepAliveS] {
            {
                std::lock_guard lock(next->postMutex);
                if (!next->postTarget)
                    return;
            }
            errno = 0;
            next->connectRc
                = mosquitto_connect_bind_async(next->mosq, host.constData(), port, keepAlive, nullptr);
            next->connectErrno = errno;
            std::lock_guard lock(next->postMutex);
            if (next->postTarget) {
                QMetaObject::invokeMethod(
                    next->postTarget,
                    [next] {
                        if (next->owner == nullptr && next->postTarget)
                            next->postTarget->d->onConnectStarted(next);
                    },
                    Qt::QueuedConnection);
            }
        });
}

void MqttClient::Private::onConnectStarted(const std::shared_ptr<Attempt> &started)
{
    if (started != attempt || phase != Phase::Resolving)
        return;
    attempt->owner = this;
    mosq = attempt->mosq;
    if (attempt->connectRc != MOSQ_ERR_SUCCESS) {
        recordLoopError(attempt->connectRc, attempt->connectErrno);
        finishConnection();
        return;
    }
    const int fd = mosquitto_socket(mosq);
    if (fd < 0) {
        recordFailure(
            {ClientErrorCode::ConnectionRefused, u"connection to %1 failed: no socket"_s.arg(endpoint())});
        finishConnection();
        return;
    }
    phase = Phase::Handshake;
    readNotifier = new QSocketNotifier(fd, QSocketNotifier::Read, q);
    writeNotifier = new QSocketNotifier(fd, QSocketNotifier::Write, q);
    QObject::connect(readNotifier, &QSocketNotifier::activated, q, [this] { onReadable(); });
    QObject::connect(writeNotifier, &QSocketNotifier::activated, q, [this] { onWritable(); });
    writeNotifier->setEnabled(true); // until the TCP connect completes
    miscTimer->start();
}

// A non-blocking connect reports its failure only through SO_ERROR; libmosquitto's TLS path
// would otherwise take it for a handshake still in progress.
bool MqttClient::Private::checkSocketError()
{
    int error = 0;
    socklen_t length = sizeof(error);
    if (::getsockopt(mosquitto_socket(mosq), SOL_SOCKET, SO_ERROR, &error, &length) != 0)
        error = errno;
    if (error == 0)
        return true;
    recordLoopError(MOSQ_ERR_ERRNO, error);
    return false;
}

// libmosquitto 2.0 takes an OpenSSL "syscall" error during the handshake for "try again": a
// reset or closed socket would then wake this thread for nothing until the connect timeout.
void MqttClient::Private::checkHandshakeEnded()
{
    const int fd = mosquitto_socket(mosq);
    if (fd < 0 || !checkSocketError())
        return;
    char byte = 0;
    if (::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT) == 0)
        recordLoopError(MOSQ_ERR_CONN_LOST, 0);
}

bool MqttClient::Private::dataPending() const
{
    if (auto *ssl = static_cast<SSL *>(mosquitto_ssl_get(mosq)); ssl && SSL_pending(ssl) > 0)
        return true;
    int available = 0;
    return ::ioctl(mosquitto_socket(mosq), FIONREAD, &available) == 0 && available > 0;
}

void MqttClient::Private::onReadable()
{
    if (loopDepth > 0 || !mosq || linkDown)
        return;
    if (phase == Phase::Handshake && !tcpEstablished) {
        if (!checkSocketError())
            return afterLoop();
        tcpEstablished = true; // readable without an error: the broker has sent something
    }
    {
        LoopGuard guard(this);
        for (int i = 0; i < kMaxReadsPerWake; ++i) {
            errno = 0;
            const int rc = mosquitto_loop_read(mosq, 1);
            if (rc != MOSQ_ERR_SUCCESS) {
                recordLoopError(rc, errno);
                break;
            }
            if (linkDown || mosquitto_socket(mosq) < 0 || !dataPending())
                break;
        }
        if (!linkDown && phase == Phase::Handshake && q->m_options.tls.enabled)
            checkHandshakeEnded();
        // Messages published from slots inside the callbacks were only queued: send them now.
        if (!linkDown && mosquitto_socket(mosq) >= 0 && mosquitto_want_write(mosq)) {
            errno = 0;
            if (const int rc = mosquitto_loop_write(mosq, 1); rc != MOSQ_ERR_SUCCESS)
                recordLoopError(rc, errno);
        }
    }
    afterLoop();
}

void MqttClient::Private::onWritable()
{
    if (loopDepth > 0 || !mosq || linkDown)
        return;
    if (phase == Phase::Handshake && !tcpEstablished) {
        if (!checkSocketError())
            return afterLoop();
        tcpEstablished = true;
    }
    {
        LoopGuard guard(this);
        errno = 0;
        if (const int rc = mosquitto_loop_write(mosq, 1); rc != MOSQ_ERR_SUCCESS)
            recordLoopError(rc, errno);
    }
    afterLoop();
}

void MqttClient::Private::onMiscTick()
{
    if (loopDepth > 0 || !mosq || linkDown)
        return;
    {
        LoopGuard guard(this);
        errno = 0;
        if (const int rc = mosquitto_loop_misc(mosq); rc != MOSQ_ERR_SUCCESS)
            recordLoopError(rc, errno);
    }
    afterLoop();
}

void MqttClient::Private::onConnectTimeout()
{
    if (phase != Phase::Resolving && phase != Phase::Handshake)
        return;
    QString message = u"no TCP connection to %1 within %2 ms"_s;
    if (phase == Phase::Resolving)
        message = u"no connection to %1 within %2 ms (name resolution or TCP connect)"_s;
    else if (tcpEstablished)
        message = u"no CONNACK from %1 within %2 ms"_s;
    recordFailure({ClientErrorCode::Timeout, message.arg(endpoint()).arg(q->m_options.connectTimeoutMs)});
    if (loopDepth == 0)
        finishConnection();
}

void MqttClient::Private::afterLoop()
{
    if (loopDepth > 0)
        return;
    if (linkDown || closing)
        finishConnection();
    else
        updateWriteNotifier();
}

void MqttClient::Private::updateWriteNotifier()
{
    if (!writeNotifier || !mosq)
        return;
    const bool want = !tcpEstablished || mosquitto_want_write(mosq);
    if (writeNotifier->isEnabled() != want)
        writeNotifier->setEnabled(want);
}

void MqttClient::Private::recordFailure(ClientError error)
{
    linkDown = true;
    if (!pendingFailure && !closing)
        pendingFailure = std::move(error);
}

void MqttClient::Private::recordLoopError(int rc, int savedErrno)
{
    recordFailure(errorFromRc(rc, savedErrno));
}

ClientError MqttClient::Private::errorFromRc(int rc, int savedErrno) const
{
    const QString where = endpoint();
    const bool connecting = phase != Phase::Connected;
    const bool tls = q->m_options.tls.enabled;
    const std::string &tlsLog = attempt ? attempt->lastErrorLog : std::string();
    const bool opensslError = tls && tlsLog.find("OpenSSL Error") != std::string::npos;
    // libmosquitto reports a failed SSL_read as EPROTO; a broker refusing the client (no or a bad
    // certificate) often just ends the session right after the handshake.
    // The worker's connect may already have run the whole handshake on a fast link.
    const bool sessionDied = connecting && tls && (tcpEstablished || phase == Phase::Resolving)
        && ((rc == MOSQ_ERR_ERRNO && (savedErrno == EPROTO || savedErrno == ECONNRESET))
            || rc == MOSQ_ERR_CONN_LOST);
    if (connecting && (rc == MOSQ_ERR_TLS || rc == MOSQ_ERR_TLS_HANDSHAKE || opensslError || sessionDied)) {
        QString reason = opensslError             ? opensslReason(tlsLog)
            : sessionDied && rc == MOSQ_ERR_ERRNO ? errnoText(savedErrno)
                                                  : QString::fromUtf8(mosquitto_strerror(rc));
        if (!opensslError && sessionDied && q->m_options.tls.certFile.isEmpty())
            reason += u" (does the broker require a client certificate?)"_s;
        return {ClientErrorCode::TlsFailed, u"TLS handshake with %1 failed: %2"_s.arg(where, reason)};
    }
    if (rc == MOSQ_ERR_EAI || rc == MOSQ_ERR_LOOKUP)
        return {ClientErrorCode::HostNotFound, u"cannot resolve the MQTT broker host %1"_s.arg(where)};
    if (rc == MOSQ_ERR_KEEPALIVE)
        return {ClientErrorCode::Timeout, u"no answer from %1 within the keepalive"_s.arg(where)};
    if (rc == MOSQ_ERR_INVAL)
        return {ClientErrorCode::InvalidOptions, u"libmosquitto refused the options for %1"_s.arg(where)};
    if (rc == MOSQ_ERR_ERRNO && savedErrno != 0) {
        if (savedErrno == ETIMEDOUT)
            return {connecting ? ClientErrorCode::Timeout : ClientErrorCode::ConnectionLost,
                u"connection to %1 timed out"_s.arg(where)};
        if (connecting)
            return {ClientErrorCode::ConnectionRefused,
                u"connection to %1 failed: %2"_s.arg(where, errnoText(savedErrno))};
        return {ClientErrorCode::ConnectionLost,
            u"connection to %1 lost: %2"_s.arg(where, errnoText(savedErrno))};
    }
    // A reason code of a DISCONNECT sent by an MQTT 5 broker.
    if (rc >= 128)
        return {connecting ? ClientErrorCode::ProtocolRejected : ClientErrorCode::ConnectionLost,
            u"%1 disconnected us: %2"_s.arg(where, QString::fromUtf8(mosquitto_reason_string(rc)))};
    if (connecting)
        return {ClientErrorCode::ConnectionRefused,
            u"connection to %1 closed before CONNACK: %2"_s.arg(
                where, QString::fromUtf8(mosquitto_strerror(rc)))};
    return {ClientErrorCode::ConnectionLost,
        u"connection to %1 lost: %2"_s.arg(where, QString::fromUtf8(mosquitto_strerror(rc)))};
}

void MqttClient::Private::flushDeferredAcks()
{
    ackFlushTimer->stop();
    if (deferredAcks.empty())
        return;
    const std::vector<int> acks = std::exchange(deferredAcks, {});
    QPointer<MqttClient> guard(q);
    for (const int mid : acks) {
        Q_EMIT q->messageAcknowledged(mid);
        if (!guard)
            return;
    }
}

void MqttClient::Private::releaseAttempt()
{
    delete readNotifier;
    readNotifier = nullptr;
    delete writeNotifier;
    writeNotifier = nullptr;
    miscTimer->stop();
    connectTimer->stop();
    if (attempt) {
        std::lock_guard lock(attempt->postMutex);
        attempt->postTarget = nullptr;
        attempt->owner = nullptr;
    }
    // The last holder destroys the handle; a worker still resolving keeps it alive until done.
    attempt.reset();
    mosq = nullptr;
    inflight = 0;
    phase = Phase::Idle;
    tcpEstablished = false;
}

void MqttClient::Private::scheduleReconnect()
{
    const ClientOptions &o = q->m_options;
    const int minMs = std::max(1, o.reconnectMinMs);
    const int maxMs = std::max(minMs, o.reconnectMaxMs);
    const int delay = std::clamp(backoffMs > 0 ? backoffMs : minMs, minMs, maxMs);
    backoffMs = int(std::min<qint64>(qint64(delay) * 2, maxMs));
    qCDebug(lcMqttClient).noquote() << "MQTT" << endpoint() << "retry in" << delay << "ms";
    reconnectTimer->start(delay);
}

void MqttClient::Private::finishConnection()
{
    // A DISCONNECT still queued (disconnectFromHost() from inside a callback) gets one chance.
    if (closing && mosq && mosquitto_socket(mosq) >= 0 && mosquitto_want_write(mosq)) {
        LoopGuard guard(this);
        mosquitto_loop_write(mosq, 1);
    }
    const bool wasConnected = phase == Phase::Connected;
    const bool userClose = std::exchange(closing, false);
    std::optional<ClientError> error = std::exchange(pendingFailure, std::nullopt);
    QPointer<MqttClient> guard(q);
    flushDeferredAcks(); // QoS 0 messages written before the link went down
    if (!guard)
        return;
    releaseAttempt();
    linkDown = false;
    if (error) {
        qCWarning(lcMqttClient).noquote()
            << "MQTT" << clientErrorCodeName(error->code) + u':' << error->message;
        if (wanted && q->m_options.autoReconnect && error->code != ClientErrorCode::InvalidOptions)
            scheduleReconnect();
        else
            wanted = false;
    } else if (!userClose && wanted && q->m_options.autoReconnect) {
        scheduleReconnect();
    }
    setState(ClientState::Disconnected);
    if (!guard)
        return;
    if (error) {
        Q_EMIT q->errorOccurred(*error);
        if (!guard)
            return;
    }
    if (wasConnected || userClose)
        Q_EMIT q->disconnected();
}

void MqttClient::Private::connectCallback(mosquitto *, void *obj, int rc, int, const mosquitto_property *)
{
    auto *a = static_cast<Attempt *>(obj);
    Private *d = a->owner;
    if (!d || d->phase != Phase::Handshake || d->linkDown)
        return;
    if (rc != 0) {
        const bool v5 = d->q->m_options.version == ProtocolVersion::V5;
        const bool auth = v5
            ? (rc == MQTT_RC_BAD_USERNAME_OR_PASSWORD || rc == MQTT_RC_NOT_AUTHORIZED)
            : (rc == CONNACK_REFUSED_BAD_USERNAME_PASSWORD || rc == CONNACK_REFUSED_NOT_AUTHORIZED);
        const QString reason
            = QString::fromUtf8(v5 ? mosquitto_reason_string(rc) : mosquitto_connack_string(rc));
        d->recordFailure({auth ? ClientErrorCode::NotAuthorized : ClientErrorCode::ProtocolRejected,
            u"broker %1 refused the connection: %2"_s.arg(d->endpoint(), reason)});
        return;
    }
    mosquitto_log_callback_set(d->mosq, nullptr);
    d->phase = Phase::Connected;
    d->tcpEstablished = true;
    d->connectTimer->stop();
    d->backoffMs = 0;
    if (d->hadConnection)
        ++d->q->m_reconnects;
    d->hadConnection = true;
    QPointer<MqttClient> guard(d->q);
    d->setState(ClientState::Connected);
    if (guard)
        Q_EMIT d->q->connected();
}

void MqttClient::Private::disconnectCallback(mosquitto *, void *obj, int rc, const mosquitto_property *)
{
    const int savedErrno = errno;
    auto *a = static_cast<Attempt *>(obj);
    Private *d = a->owner;
    if (!d)
        return;
    if (rc == MOSQ_ERR_SUCCESS && d->closing) {
        d->linkDown = true;
        return;
    }
    d->recordLoopError(rc == MOSQ_ERR_SUCCESS ? MOSQ_ERR_CONN_LOST : rc, savedErrno);
}

void MqttClient::Private::publishCallback(
    mosquitto *, void *obj, int mid, int reasonCode, const mosquitto_property *)
{
    auto *a = static_cast<Attempt *>(obj);
    Private *d = a->owner;
    if (!d)
        return;
    if (d->inflight > 0)
        --d->inflight;
    if (reasonCode >= 128) {
        // An MQTT 5 broker refused the message: not acknowledged, so the caller keeps it.
        const QString message = u"broker %1 rejected message %2: %3"_s.arg(d->endpoint())
                                    .arg(mid)
                                    .arg(QString::fromUtf8(mosquitto_reason_string(reasonCode)));
        QPointer<MqttClient> guard(d->q);
        Q_EMIT d->q->messageFailed(mid, ClientError {ClientErrorCode::PublishFailed, message});
        if (guard)
            d->publishFailed(message);
        return;
    }
    if (d->inPublish) {
        // A QoS 0 message written inside publish(): the caller must see its id first.
        d->deferredAcks.push_back(mid);
        if (!d->ackFlushTimer->isActive())
            d->ackFlushTimer->start(0);
        return;
    }
    Q_EMIT d->q->messageAcknowledged(mid);
}

void MqttClient::Private::messageCallback(
    mosquitto *, void *obj, const mosquitto_message *message, const mosquitto_property *)
{
    auto *a = static_cast<Attempt *>(obj);
    Private *d = a->owner;
    if (!d || !message || !message->topic)
        return;
    Q_EMIT d->q->messageReceived(QByteArray(message->topic),
        QByteArray(static_cast<const char *>(message->payload), message->payload ? message->payloadlen : 0));
}

void MqttClient::Private::logCallback(mosquitto *, void *obj, int level, const char *text)
{
    if (!text || !(level & (MOSQ_LOG_ERR | MOSQ_LOG_WARNING)))
        return;
    static_cast<Attempt *>(obj)->lastErrorLog = text;
}

MqttClient::MqttClient(ClientOptions options, QObject *parent)
    : QObject(parent), d(std::make_unique<Private>(this)), m_options(std::move(options))
{
    initLibraryOnce();
    qRegisterMetaType<mqtt::ClientState>();
    qRegisterMetaType<mqtt::ClientError>();
}

MqttClient::~MqttClient()
{
    if (d->attempt) {
        std::lock_guard lock(d->attempt->postMutex);
        d->attempt->postTarget = nullptr;
        d->attempt->owner = nullptr; // libmosquitto's callbacks from here on find nobody
    }
    if (d->mosq && d->phase == Private::Phase::Connected && !d->linkDown && d->loopDepth == 0) {
        // Best effort, never waiting: DISCONNECT goes out if the socket takes it now.
        mosquitto_disconnect(d->mosq);
    }
    delete d->readNotifier;
    delete d->writeNotifier;
    d->readNotifier = d->writeNotifier = nullptr;
    d->attempt.reset();
}

void MqttClient::setOptions(ClientOptions options)
{
    m_options = std::move(options);
}

void MqttClient::connectToHost()
{
    if (m_state != ClientState::Disconnected || d->phase != Private::Phase::Idle)
        return;
    d->wanted = true;
    d->reconnectTimer->stop();
    d->backoffMs = 0;
    d->startAttempt();
}

void MqttClient::disconnectFromHost()
{
    d->wanted = false;
    d->reconnectTimer->stop();
    if (d->phase == Private::Phase::Idle) {
        Q_EMIT disconnected();
        return;
    }
    d->closing = true;
    d->pendingFailure.reset();
    if (d->phase == Private::Phase::Connected && d->mosq && !d->linkDown) {
        Private::LoopGuard guard(d.get());
        mosquitto_disconnect(d->mosq);
    }
    d->linkDown = true;
    if (d->loopDepth == 0)
        d->finishConnection();
}

int MqttClient::publish(const QByteArray &topic, const QByteArray &payload, int qos, bool retain)
{
    if (m_state != ClientState::Connected || !d->mosq || d->linkDown || d->closing)
        return -1;
    if (qos < 0 || qos > 2 || topic.isEmpty() || topic.contains('\0')
        || payload.size() > qsizetype(MQTT_MAX_PAYLOAD)) {
        d->publishFailed(u"message to %1 refused: bad topic, QoS %2 or %3-byte payload"_s.arg(d->endpoint())
                             .arg(qos)
                             .arg(payload.size()));
        return -1;
    }
    int mid = 0;
    int rc;
    int savedErrno;
    ++d->inflight;
    {
        Private::LoopGuard guard(d.get());
        d->inPublish = true;
        errno = 0;
        rc = mosquitto_publish_v5(
            d->mosq, &mid, topic.constData(), int(payload.size()), payload.constData(), qos, retain, nullptr);
        savedErrno = errno;
        d->inPublish = false;
    }
    if (rc == MOSQ_ERR_SUCCESS) {
        d->updateWriteNotifier();
        return mid;
    }
    if (d->inflight > 0)
        --d->inflight;
    if (rc == MOSQ_ERR_NO_CONN || rc == MOSQ_ERR_CONN_LOST || rc == MOSQ_ERR_ERRNO) {
        // The link broke under the write: torn down from the event loop, not inside the caller.
        d->recordLoopError(rc, savedErrno);
        QMetaObject::invokeMethod(
            this, [this] { d->afterLoop(); }, Qt::QueuedConnection);
        return -1;
    }
    d->publishFailed(
        u"message to %1 refused: %2"_s.arg(d->endpoint(), QString::fromUtf8(mosquitto_strerror(rc))));
    return -1;
}

int MqttClient::subscribe(const QByteArray &topicFilter, int qos)
{
    if (m_state != ClientState::Connected || !d->mosq || d->linkDown || d->closing
        || topicFilter.contains('\0'))
        return -1;
    int mid = 0;
    int rc;
    {
        Private::LoopGuard guard(d.get());
        rc = mosquitto_subscribe(d->mosq, &mid, topicFilter.constData(), qos);
    }
    if (rc != MOSQ_ERR_SUCCESS)
        return -1;
    d->updateWriteNotifier();
    return mid;
}

int MqttClient::inflightCount() const
{
    return d->inflight;
}

quint64 MqttClient::publishPacketSize(
    qsizetype topicBytes, qsizetype payloadBytes, int qos, ProtocolVersion version)
{
    const quint64 remaining = 2 + quint64(std::max<qsizetype>(topicBytes, 0)) + (qos > 0 ? 2 : 0)
        + (version == ProtocolVersion::V5 ? 1 : 0) + quint64(std::max<qsizetype>(payloadBytes, 0));
    return 1 + quint64(remainingLengthBytes(remaining)) + remaining;
}

QString clientStateName(ClientState state)
{
    switch (state) {
    case ClientState::Disconnected:
        return u"disconnected"_s;
    case ClientState::Connecting:
        return u"connecting"_s;
    case ClientState::Connected:
        return u"connected"_s;
    }
    return u"unknown"_s;
}

QString clientErrorCodeName(ClientErrorCode code)
{
    switch (code) {
    case ClientErrorCode::InvalidOptions:
        return u"invalid-options"_s;
    case ClientErrorCode::HostNotFound:
        return u"host-not-found"_s;
    case ClientErrorCode::ConnectionRefused:
        return u"connection-refused"_s;
    case ClientErrorCode::Timeout:
        return u"timeout"_s;
    case ClientErrorCode::NotAuthorized:
        return u"not-authorized"_s;
    case ClientErrorCode::ProtocolRejected:
        return u"protocol-rejected"_s;
    case ClientErrorCode::TlsFailed:
        return u"tls-failed"_s;
    case ClientErrorCode::ConnectionLost:
        return u"connection-lost"_s;
    case ClientErrorCode::PublishFailed:
        return u"publish-failed"_s;
    }
    return u"unknown"_s;
}

} // namespace mqtt
