#include "outboxpublisher.h"

#include <reader.h>
#include <storage.h>

#include <QtCore/QDateTime>
#include <QtCore/QElapsedTimer>
#include <QtCore/QLoggingCategory>
#include <QtCore/QMutex>
#include <QtCore/QSet>
#include <QtCore/QTimer>

#include <algorithm>
#include <cmath>
#include <deque>
#include <limits>
#include <map>
#include <optional>
#include <utility>

using namespace Qt::StringLiterals;

namespace mqtt {

namespace {

Q_LOGGING_CATEGORY(lcPublisher, "dlmsbridge.mqtt")

constexpr qint64 kNoId = std::numeric_limits<qint64>::max();
// Acknowledged ids remembered so a re-read after a rewind skips them until their delete is
// committed; past this many the oldest are forgotten (at worst a harmless duplicate).
constexpr std::size_t kMaxRememberedAcks = std::size_t(1) << 18;
constexpr std::size_t kMinPruneInterval = 4096;
constexpr qint64 kDrainWindowMs = 10'000;
// The token bucket holds a quarter second of the cap: a drain never bursts far above it, so a
// per-second platform limit equal to the cap is not tripped by the burst.
constexpr double kBurstSeconds = 0.25;
// Gateway: the first attributes batch after a connect covers at most this many meters, later
// ones at most as many as are announced already (and what fits in a payload): telemetry of
// the first meters starts after a few connects, not after thousands, for ~log2(N/16) extra
// messages.
constexpr qsizetype kFirstBatchMeters = 16;
// Rows of meters waiting for their announcement are held in memory up to maxInflightBytes and
// this many fetches of rows; past that, reading waits for announcements to release some.
constexpr qsizetype kHeldFetches = 8;
// While meters are being announced, telemetry takes every other turn when its message is at
// least half full, else one turn in this many: the announced meters' rows go out within a few
// messages without small telemetry messages halving the announcement rate.
constexpr int kAnnouncementsPerSmallTelemetry = 4;

qint64 systemClock()
{
    return QDateTime::currentMSecsSinceEpoch();
}

// Client ids are safest in the characters every broker accepts.
QString sanitizedClientId(const QString &meterId)
{
    QString out = u"dlmsbridge-"_s;
    out.reserve(out.size() + meterId.size());
    for (const QChar ch : meterId) {
        const bool keep = (ch >= u'a' && ch <= u'z') || (ch >= u'A' && ch <= u'Z')
            || (ch >= u'0' && ch <= u'9') || ch == u'-' || ch == u'_' || ch == u'.';
        out.append(keep ? ch : u'_');
    }
    return out;
}

Message controlMessage(const QString &meterId, QLatin1StringView topic, QByteArray payload)
{
    Message message;
    message.topic = QByteArray(topic.data(), topic.size());
    MessagePart part;
    part.meterId = meterId;
    part.payloadBytes = quint64(payload.size());
    message.payload = std::move(payload);
    message.parts.push_back(std::move(part));
    return message;
}

qint64 firstRowId(const Message &message)
{
    qint64 first = kNoId;
    for (const MessagePart &part : message.parts) {
        if (!part.rowIds.empty())
            first = std::min(first, part.rowIds.front());
    }
    return first;
}

} // namespace

QString publisherStateName(PublisherState state)
{
    switch (state) {
    case PublisherState::Stopped:
        return u"stopped"_s;
    case PublisherState::Connecting:
        return u"connecting"_s;
    case PublisherState::Publishing:
        return u"publishing"_s;
    case PublisherState::Failing:
        return u"failing"_s;
    }
    return u"unknown"_s;
}

struct OutboxPublisher::Private {
    // A message published and waiting for its PUBACK.
    struct Inflight {
        std::vector<MessagePart> parts;
        quint64 payloadBytes = 0;
        quint64 packetBytes = 0;
        qint64 firstRowId = kNoId; // kNoId: a control message
    };

    // One broker connection: the only one (Gateway, Plain) or one meter's (Device).
    struct Connection {
        quint64 serial = 0; // queued client signals find their connection by it
        MqttClient *client = nullptr;
        QString meterId; // Device mode
        bool up = false;
        bool everUp = false;
        bool failed = false; // the last attempt failed (as opposed to a lost link)
        QString lastMessage;
        QHash<int, Inflight> inflight; // by the client's message id
        // Gateway: meters whose connect (and attributes) went out on this connection; Device:
        // attributes sent (or none needed). Their rows are sent as they come.
        QSet<QString> announced;
        QSet<QString> announcing; // waiting in announceQueue or announcePlan: rows held
        QSet<QString> planned; // in announcePlan (messages built with today's name/attributes)
        QSet<QString> stale; // planned, then renamed or given new attributes: announced again
        qint64 rewindFrom = kNoId; // the lowest row to read again once (re)connected
        bool refusalLogged = false;
    };

    struct Queued {
        quint64 connection = 0; // serial
        Message message;
        // An announcement's last message: these meters' held rows are released once it is sent.
        std::vector<QString> release;
    };

    struct PendingAnnouncement {
        quint64 connection = 0;
        QString meterId;
    };

    enum class Source : quint8 { Control, Announcement, Telemetry };

    struct DrainSample {
        qint64 ms = 0;
        quint64 rows = 0;
        quint64 messages = 0;
    };

    Private(OutboxPublisher *owner, storage::Storage *writer) : q(owner), storage(writer) { }

    OutboxPublisher *q;
    storage::Storage *storage;
    bool started = false;
    std::optional<storage::Reader> reader;

    QHash<QString, MeterDevice> meters;
    QHash<QString, QString> nameCache;
    std::map<quint64, std::unique_ptr<Connection>> connections;
    QHash<QString, quint64> deviceConnections; // meter id → serial (Device mode)
    quint64 singleConnection = 0; // Gateway / Plain
    quint64 nextSerial = 0;

    // Rows read and not yet routed (outbox order), from bufferPos on.
    std::vector<storage::OutboxRow> buffer;
    std::size_t bufferPos = 0;
    // Rows of announced meters not yet built into a message, from readyPos on (each meter's
    // rows in outbox order).
    std::vector<storage::OutboxRow> ready;
    std::size_t readyPos = 0;
    qint64 readyBytes = 0;
    // Rows of meters whose announcement has not gone out yet, by meter (outbox order).
    QHash<QString, std::vector<storage::OutboxRow>> held;
    qint64 heldBytes = 0;
    qsizetype heldRows = 0;
    qint64 readId = 0; // rows with a greater id have not been read
    qint64 highestReadId = 0;
    qint64 knownLastId = kNoId; // kNoId: unknown, read to find out

    // Announcements and telemetry take turns under the rate cap, so announcing thousands of
    // meters never holds back the telemetry of those already announced.
    std::deque<PendingAnnouncement> announceQueue; // meters to announce, in order of need
    std::deque<Queued> announcePlan; // built: gateway connects then one attributes batch
    std::optional<Queued> telemetry; // the next telemetry message, built
    std::deque<Queued> control; // out-of-band: disconnect, changed attributes
    Source nextSource = Source::Control;
    int announcementsSinceTelemetry = kAnnouncementsPerSmallTelemetry;

    QSet<qint64> inflightRows;
    int inflightMessages = 0;
    qint64 inflightBytes = 0;

    QSet<qint64> acked;
    std::deque<qint64> ackedOrder;
    std::size_t nextPruneAt = kMinPruneInterval;
    QSet<qint64> abandoned; // rows lost with a connection, not sent again yet

    QHash<QString, qint64> noTokenFrom; // Device mode: first row waiting for a token
    QSet<QString> warnedNoToken;

    double tokens = 0;
    qint64 lastRefillNs = 0;
    QElapsedTimer monotonic;
    QTimer throttleTimer;
    QTimer statusTimer;
    QTimer ackFlushTimer;
    QTimer retryTimer; // pumps again from the event loop
    std::vector<qint64> pendingAcks;

    std::deque<DrainSample> drainSamples;
    std::optional<monitor::OutboxStatus> lastEmittedOutbox;
    QString lastReadError;

    bool pumping = false;
    bool pumpAgain = false;

    mutable QMutex statusMutex;
    PublisherStatus status;

    const PublisherOptions &options() const { return q->m_options; }
    Mode mode() const { return options().format.mode; }
    qint64 now() const { return options().clock ? options().clock() : systemClock(); }
    Connection *find(quint64 serial) const
    {
        const auto it = connections.find(serial);
        return it == connections.end() ? nullptr : it->second.get();
    }

    dlms::Result<void> validate() const;
    QString hostText() const;
    QString scrub(QString message) const;
    QString deviceName(const QString &meterId);
    Connection *connectionForMeter(const QString &meterId) const;

    quint64 createConnection(const QString &meterId, const ClientOptions &clientOptions);
    void dropConnection(quint64 serial);

    void onConnected(quint64 serial);
    void onDisconnected(quint64 serial);
    void onAcknowledged(quint64 serial, int messageId);
    void onRefused(quint64 serial, int messageId, const ClientError &error);
    void onError(quint64 serial, const ClientError &error);
    void updateState(const QString &reason = {});
    void setState(PublisherState state, const QString &message);

    void pump();
    void pumpOnce();
    Queued *nextMessage();
    void popMessage();
    bool prepareTelemetry();
    bool prepareAnnouncement();
    void routeRows();
    bool needsAnnouncement(const QString &meterId) const;
    bool heldFull() const;
    void pushReady(storage::OutboxRow &&row);
    void hold(storage::OutboxRow &&row);
    void compactReady();
    void release(Connection &connection, const std::vector<QString> &meterIds);
    void unannounce(Connection &connection, const QString &meterId);
    qint64 resetConnection(quint64 serial);
    bool readMore();
    bool takeToken();
    void skipRow(const storage::OutboxRow &row, bool fresh);
    void rewindTo(qint64 fromId);
    void abandon(Connection &connection, qint64 firstRow, const std::vector<MessagePart> &parts);
    void rememberAcked(qint64 id);
    void pruneAcked(bool force);
    qint64 lowestUnsettledId() const;
    void flushAcks();
    void statusTick();
    void queueAttributes(const MeterDevice &meter);
};

dlms::Result<void> OutboxPublisher::Private::validate() const
{
    const PublisherOptions &o = options();
    auto invalid
        = [](const QString &message) { return dlms::makeError(dlms::ErrorCode::InvalidArgument, message); };
    if (!storage)
        return invalid(u"MQTT publisher: no storage"_s);
    if (o.databasePath.isEmpty())
        return invalid(u"MQTT publisher: no database path"_s);
    if (o.client.host.trimmed().isEmpty())
        return invalid(u"MQTT publisher: no broker host"_s);
    if (o.client.port == 0)
        return invalid(u"MQTT publisher: no broker port"_s);
    if (o.maxInflightMessages < 1 || o.maxInflightBytes < 1 || o.fetchRows < 1 || o.statusIntervalMs < 1)
        return invalid(
            u"MQTT publisher: in-flight window, fetch size and status interval must be positive"_s);
    if (!(o.maxMessagesPerSecond >= 0) || !std::isfinite(o.maxMessagesPerSecond))
        return invalid(u"MQTT publisher: the rate cap must be 0 (off) or a positive number of messages/s"_s);
    if (o.format.maxPayloadBytes < 1)
        return invalid(u"MQTT publisher: the maximum payload size must be positive"_s);
    switch (o.format.mode) {
    case Mode::Gateway:
        break;
    case Mode::Device:
        if (!o.client.username.isEmpty() || !o.client.password.isEmpty())
            return invalid(u"MQTT publisher: device mode takes each meter's access token, not a broker "
                           "username or password"_s);
        break;
    case Mode::Plain:
        if (!o.format.topicTemplate.contains(u"{id}"_s) && !o.format.topicTemplate.contains(u"{name}"_s))
            return invalid(u"MQTT publisher: the topic template needs {id} or {name}"_s);
        break;
    }
    return {};
}

QString OutboxPublisher::Private::hostText() const
{
    return options().client.host + u':' + QString::number(options().client.port);
}

// The client never puts a secret in a message; this is the belt to its braces.
QString OutboxPublisher::Private::scrub(QString message) const
{
    auto hide = [&message](const QString &secret) {
        if (secret.size() >= 4)
            message.replace(secret, u"***"_s);
    };
    hide(options().client.username);
    hide(options().client.password);
    for (const MeterDevice &meter : meters)
        hide(meter.accessToken);
    message.replace(u'\n', u' ');
    return message;
}

QString OutboxPublisher::Private::deviceName(const QString &meterId)
{
    const auto known = meters.constFind(meterId);
    if (known != meters.constEnd())
        return known->name.isEmpty() ? meterId : known->name;
    const auto cached = nameCache.constFind(meterId);
    if (cached != nameCache.constEnd())
        return *cached;
    QString name = meterId;
    if (reader) {
        auto looked = reader->meterName(meterId);
        if (looked && looked.value() && !looked.value()->isEmpty())
            name = *looked.value();
    }
    nameCache.insert(meterId, name);
    return name;
}

OutboxPublisher::Private::Connection *OutboxPublisher::Private::connectionForMeter(
    const QString &meterId) const
{
    if (mode() != Mode::Device)
        return find(singleConnection);
    const auto it = deviceConnections.constFind(meterId);
    return it == deviceConnections.constEnd() ? nullptr : find(*it);
}

quint64 OutboxPublisher::Private::createConnection(const QString &meterId, const ClientOptions &clientOptions)
{
    auto connection = std::make_unique<Connection>();
    const quint64 serial = ++nextSerial;
    connection->serial = serial;
    connection->meterId = meterId;
    connection->client = new MqttClient(clientOptions, q);
    MqttClient *client = connection->client;
    // Queued: a handler never runs inside a publish() call, and a signal that outlives its
    // connection finds no serial and is ignored.
    QObject::connect(
        client, &MqttClient::connected, q, [this, serial] { onConnected(serial); }, Qt::QueuedConnection);
    QObject::connect(
        client, &MqttClient::disconnected, q, [this, serial] { onDisconnected(serial); },
        Qt::QueuedConnection);
    QObject::connect(
        client, &MqttClient::messageAcknowledged, q, [this, serial](int id) { onAcknowledged(serial, id); },
        Qt::QueuedConnection);
    QObject::connect(
        client, &MqttClient::messageFailed, q,
        [this, serial](int id, const ClientError &error) { onRefused(serial, id, error); },
        Qt::QueuedConnection);
    QObject::connect(
        client, &MqttClient::errorOccurred, q,
        [this, serial](const ClientError &error) { onError(serial, error); }, Qt::QueuedConnection);
    connections.emplace(serial, std::move(connection));
    client->connectToHost();
    return serial;
}

void OutboxPublisher::Private::dropConnection(quint64 serial)
{
    const auto it = connections.find(serial);
    if (it == connections.end())
        return;
    Connection &connection = *it->second;
    qint64 lowest = std::min(connection.rewindFrom, resetConnection(serial));
    for (const Inflight &message : std::as_const(connection.inflight)) {
        for (const MessagePart &part : message.parts) {
            for (const qint64 id : part.rowIds)
                inflightRows.remove(id);
        }
        --inflightMessages;
        inflightBytes -= qint64(message.payloadBytes);
        lowest = std::min(lowest, message.firstRowId);
    }
    std::erase_if(control, [serial](const Queued &queued) { return queued.connection == serial; });
    if (!connection.meterId.isEmpty() && lowest != kNoId) {
        auto from = noTokenFrom.find(connection.meterId);
        if (from == noTokenFrom.end())
            noTokenFrom.insert(connection.meterId, lowest);
        else
            *from = std::min(*from, lowest);
    }
    MqttClient *client = connection.client;
    QObject::disconnect(client, nullptr, q, nullptr);
    client->disconnectFromHost();
    delete client;
    if (!connection.meterId.isEmpty())
        deviceConnections.remove(connection.meterId);
    connections.erase(it);
}

void OutboxPublisher::Private::onConnected(quint64 serial)
{
    Connection *connection = find(serial);
    if (!connection)
        return;
    {
        QMutexLocker lock(&statusMutex);
        if (connection->everUp)
            ++status.reconnects;
    }
    connection->everUp = true;
    connection->up = true;
    connection->failed = false;
    connection->lastMessage.clear();
    connection->refusalLogged = false;
    connection->rewindFrom = std::min(connection->rewindFrom, resetConnection(serial));
    nameCache.clear();
    if (connection->rewindFrom != kNoId) {
        const qint64 from = connection->rewindFrom;
        connection->rewindFrom = kNoId;
        rewindTo(from);
    }
    updateState();
    pump();
}

void OutboxPublisher::Private::onDisconnected(quint64 serial)
{
    Connection *connection = find(serial);
    if (!connection)
        return;
    connection->up = false;
    QStringList failedMeters; // once per meter per abandoned message, emitted last
    const QHash<int, Inflight> lost = std::exchange(connection->inflight, {});
    for (const Inflight &message : lost) {
        for (const MessagePart &part : message.parts) {
            for (const qint64 id : part.rowIds) {
                inflightRows.remove(id);
                abandoned.insert(id);
            }
            failedMeters.append(part.meterId);
        }
        --inflightMessages;
        inflightBytes -= qint64(message.payloadBytes);
        connection->rewindFrom = std::min(connection->rewindFrom, message.firstRowId);
    }
    if (!lost.isEmpty()) {
        QMutexLocker lock(&statusMutex);
        status.publishFailures += quint64(lost.size());
    }
    std::erase_if(control, [serial](const Queued &queued) { return queued.connection == serial; });
    connection->rewindFrom = std::min(connection->rewindFrom, resetConnection(serial));
    if (mode() != Mode::Device && bufferPos < buffer.size()) {
        // One connection carries everything: what was read goes back with the rest.
        connection->rewindFrom = std::min(connection->rewindFrom, buffer[bufferPos].id);
        buffer.clear();
        bufferPos = 0;
    }
    for (const QString &meterId : std::as_const(failedMeters))
        Q_EMIT q->publishFailed(meterId);
    updateState();
}

void OutboxPublisher::Private::onAcknowledged(quint64 serial, int messageId)
{
    Connection *connection = find(serial);
    if (!connection)
        return;
    const auto it = connection->inflight.find(messageId);
    if (it == connection->inflight.end())
        return;
    const Inflight message = std::move(*it);
    connection->inflight.erase(it);
    --inflightMessages;
    inflightBytes -= qint64(message.payloadBytes);

    monitor::MqttAck ack;
    ack.timestampMs = now();
    ack.payloadBytes = message.payloadBytes;
    ack.packetBytes = message.packetBytes;
    ack.shares.reserve(message.parts.size());
    std::vector<quint64> weights;
    weights.reserve(message.parts.size());
    quint64 rows = 0;
    for (const MessagePart &part : message.parts) {
        weights.push_back(part.payloadBytes);
        for (const qint64 id : part.rowIds) {
            inflightRows.remove(id);
            rememberAcked(id);
            pendingAcks.push_back(id);
        }
        rows += part.rowIds.size();
    }
    const std::vector<quint64> packetShares = splitProportionally(message.packetBytes, weights);
    for (std::size_t i = 0; i < message.parts.size(); ++i) {
        const MessagePart &part = message.parts[i];
        ack.shares.push_back(
            {part.meterId, part.payloadBytes, i < packetShares.size() ? packetShares[i] : 0, part.values});
    }
    {
        QMutexLocker lock(&statusMutex);
        ++status.messagesAcknowledged;
        status.rowsAcknowledged += rows;
    }
    if (rows > 0 && !ackFlushTimer.isActive())
        ackFlushTimer.start();
    pruneAcked(false);
    Q_EMIT q->acknowledged(ack);
    pump();
}

// The broker refused an in-flight message (MQTT 5 PUBACK reason >= 128): its slot is freed so
// later messages flow, and its rows stay in the outbox like a message the library refused.
void OutboxPublisher::Private::onRefused(quint64 serial, int messageId, const ClientError &error)
{
    Connection *connection = find(serial);
    if (!connection)
        return;
    const auto it = connection->inflight.find(messageId);
    if (it == connection->inflight.end())
        return;
    const Inflight message = std::move(*it);
    connection->inflight.erase(it);
    --inflightMessages;
    inflightBytes -= qint64(message.payloadBytes);
    for (const MessagePart &part : message.parts) {
        for (const qint64 id : part.rowIds)
            inflightRows.remove(id);
    }
    if (!connection->refusalLogged) {
        connection->refusalLogged = true;
        qCWarning(lcPublisher).noquote()
            << u"MQTT publisher: %1; its rows are sent again after the next reconnect"_s.arg(
                   scrub(error.message));
    }
    abandon(*connection, message.firstRowId, message.parts);
    pump();
}

void OutboxPublisher::Private::onError(quint64 serial, const ClientError &error)
{
    Connection *connection = find(serial);
    if (!connection)
        return;
    if (error.code == ClientErrorCode::PublishFailed)
        return; // counted where publish() returned -1 or in onRefused()
    QString message = scrub(error.message.isEmpty() ? clientErrorCodeName(error.code) : error.message);
    if (mode() == Mode::Device)
        message = u"meter "_s + connection->meterId + u": "_s + message;
    connection->lastMessage = message;
    connection->failed = error.code != ClientErrorCode::ConnectionLost;
    updateState(connection->failed ? message : QString());
}

// Publishing while any connection is up; else Failing when an attempt failed, Connecting while
// waiting for the first connection or after a lost one.
void OutboxPublisher::Private::updateState(const QString &reason)
{
    if (!started) {
        setState(PublisherState::Stopped, {});
        return;
    }
    bool anyUp = false;
    bool anyFailed = false;
    QString failure;
    QString lost;
    for (const auto &[serial, connection] : connections) {
        anyUp = anyUp || connection->up;
        if (connection->failed) {
            anyFailed = true;
            if (failure.isEmpty())
                failure = connection->lastMessage;
        } else if (!connection->up && !connection->lastMessage.isEmpty() && lost.isEmpty()) {
            lost = connection->lastMessage;
        }
    }
    if (anyUp) {
        setState(PublisherState::Publishing, u"publishing to "_s + hostText());
    } else if (anyFailed) {
        // The newest failure names the cause best.
        setState(PublisherState::Failing, reason.isEmpty() ? failure : reason);
    } else {
        setState(PublisherState::Connecting, lost.isEmpty() ? u"connecting to "_s + hostText() : lost);
    }
}

void OutboxPublisher::Private::setState(PublisherState state, const QString &message)
{
    {
        QMutexLocker lock(&statusMutex);
        if (status.state == state && (state != PublisherState::Failing || status.message == message))
            return;
        status.state = state;
        status.message = message;
    }
    qCDebug(lcPublisher).noquote() << u"MQTT publisher %1: %2"_s.arg(publisherStateName(state), message);
    Q_EMIT q->stateChanged(state, message);
}

void OutboxPublisher::Private::pump()
{
    if (!started)
        return;
    if (pumping) {
        pumpAgain = true;
        return;
    }
    pumping = true;
    do {
        pumpAgain = false;
        pumpOnce();
    } while (pumpAgain && started);
    pumping = false;
}

void OutboxPublisher::Private::pumpOnce()
{
    const PublisherOptions &o = options();
    while (started) {
        Queued *next = nextMessage();
        if (!next)
            return;
        const quint64 serial = next->connection;
        Connection *connection = find(serial);
        if (!connection || !connection->up) {
            // Its connection went away after it was queued: its rows are read again.
            const qint64 first = firstRowId(next->message);
            popMessage();
            if (connection)
                connection->rewindFrom = std::min({connection->rewindFrom, first, resetConnection(serial)});
            continue;
        }
        const qint64 payloadBytes = next->message.payload.size();
        if (inflightMessages >= o.maxInflightMessages
            || (inflightMessages > 0 && inflightBytes + payloadBytes > o.maxInflightBytes))
            return;
        if (!takeToken())
            return;

        Queued item = std::move(*next);
        popMessage();
        const int messageId = connection->client->publish(item.message.topic, item.message.payload, 1);
        if (messageId < 0) {
            if (connection->client->state() != ClientState::Connected) {
                // Going down: disconnected() is on its way and will re-read these rows.
                connection->up = false;
                connection->rewindFrom
                    = std::min({connection->rewindFrom, firstRowId(item.message), resetConnection(serial)});
                updateState();
                continue;
            }
            if (!connection->refusalLogged) {
                connection->refusalLogged = true;
                qCWarning(lcPublisher).noquote()
                    << u"MQTT publisher: the client refused a message (%1 bytes on %2); its rows are "
                       "sent again after the next reconnect"_s.arg(payloadBytes)
                           .arg(QString::fromUtf8(item.message.topic.left(200)));
            }
            // A refused announcement still releases its meters' rows (a refusal on a live link
            // is about this message, not the device).
            release(*connection, item.release);
            // A link going down can refuse before it reports: let a queued disconnected() run
            // first rather than refusing the whole outbox in this loop.
            retryTimer.start();
            abandon(*connection, firstRowId(item.message), item.message.parts);
            return;
        }
        release(*connection, item.release);

        Inflight inflight;
        inflight.payloadBytes = quint64(payloadBytes);
        inflight.packetBytes
            = MqttClient::publishPacketSize(item.message.topic.size(), payloadBytes, 1, o.client.version);
        inflight.firstRowId = firstRowId(item.message);
        quint64 resent = 0;
        for (const MessagePart &part : item.message.parts) {
            for (const qint64 id : part.rowIds) {
                inflightRows.insert(id);
                if (!abandoned.isEmpty() && abandoned.remove(id))
                    ++resent;
            }
        }
        if (resent > 0) {
            QMutexLocker lock(&statusMutex);
            status.rowsResent += resent;
        }
        inflight.parts = std::move(item.message.parts);
        ++inflightMessages;
        inflightBytes += payloadBytes;
        connection->inflight.insert(messageId, std::move(inflight));
    }
}

// Out-of-band control first; then announcements and telemetry in turn (small telemetry messages
// less often), either taking every turn while the other has nothing to send.
OutboxPublisher::Private::Queued *OutboxPublisher::Private::nextMessage()
{
    if (!control.empty()) {
        nextSource = Source::Control;
        return &control.front();
    }
    const bool haveTelemetry = prepareTelemetry();
    const bool haveAnnouncement = prepareAnnouncement();
    const auto telemetryTurn = [&] {
        if (announcementsSinceTelemetry >= kAnnouncementsPerSmallTelemetry)
            return true;
        return announcementsSinceTelemetry > 0
            && telemetry->message.payload.size() * 2 >= options().format.maxPayloadBytes;
    };
    if (haveTelemetry && (!haveAnnouncement || telemetryTurn())) {
        nextSource = Source::Telemetry;
        return &*telemetry;
    }
    if (haveAnnouncement) {
        nextSource = Source::Announcement;
        return &announcePlan.front();
    }
    return nullptr;
}

void OutboxPublisher::Private::popMessage()
{
    switch (nextSource) {
    case Source::Control:
        control.pop_front();
        break;
    case Source::Announcement:
        announcePlan.pop_front();
        announcementsSinceTelemetry
            = std::min(announcementsSinceTelemetry + 1, kAnnouncementsPerSmallTelemetry);
        break;
    case Source::Telemetry:
        telemetry.reset();
        announcementsSinceTelemetry = 0;
        break;
    }
}

bool OutboxPublisher::Private::prepareTelemetry()
{
    if (telemetry)
        return true;
    if (mode() != Mode::Device) {
        const Connection *single = find(singleConnection);
        if (!single || !single->up)
            return false;
    } else {
        const bool anyUp = std::any_of(
            connections.begin(), connections.end(), [](const auto &entry) { return entry.second->up; });
        if (!anyUp)
            return false;
    }
    const NameLookup names = [this](const QString &meterId) { return deviceName(meterId); };
    for (;;) {
        routeRows();
        if (readyPos >= ready.size()) {
            ready.clear();
            readyPos = 0;
            return false;
        }
        const storage::OutboxRow &row = ready[readyPos];
        Connection *connection = connectionForMeter(row.meterId);
        if (!connection || !connection->up) {
            // Device mode: the meter's connection went away (or its token) since routing.
            if (connection)
                connection->rewindFrom = std::min(connection->rewindFrom, row.id);
            else
                skipRow(row, false);
            readyBytes -= row.payload.size();
            ++readyPos;
            continue;
        }
        const std::span<const storage::OutboxRow> rows(ready.data() + readyPos, ready.size() - readyPos);
        BuiltMessage built = buildTelemetry(options().format, rows, names);
        const std::size_t consumed = std::size_t(std::max<qsizetype>(built.rowsConsumed, 1));
        for (std::size_t i = 0; i < consumed; ++i)
            readyBytes -= ready[readyPos + i].payload.size();
        readyPos += consumed;
        if (built.message.parts.empty() || built.message.payload.isEmpty())
            continue;
        telemetry = Queued {connection->serial, std::move(built.message), {}};
        return true;
    }
}

bool OutboxPublisher::Private::needsAnnouncement(const QString &meterId) const
{
    switch (mode()) {
    case Mode::Gateway:
        return true;
    case Mode::Device:
        return !meters.value(meterId).attributes.isEmpty();
    case Mode::Plain:
        break;
    }
    return false;
}

bool OutboxPublisher::Private::heldFull() const
{
    const qint64 rowLimit = qint64(std::max(1, options().fetchRows)) * kHeldFetches;
    return heldBytes >= options().maxInflightBytes || heldRows >= rowLimit;
}

void OutboxPublisher::Private::compactReady()
{
    if (readyPos == 0)
        return;
    ready.erase(ready.begin(), ready.begin() + std::ptrdiff_t(readyPos));
    readyPos = 0;
}

void OutboxPublisher::Private::pushReady(storage::OutboxRow &&row)
{
    if (readyPos > 0 && readyPos >= ready.size())
        compactReady();
    readyBytes += row.payload.size();
    ready.push_back(std::move(row));
}

void OutboxPublisher::Private::hold(storage::OutboxRow &&row)
{
    heldBytes += row.payload.size();
    ++heldRows;
    held[row.meterId].push_back(std::move(row));
}

// Moves read rows on: to `ready` when their meter is announced on its connection, else (held)
// behind its announcement, until a full message is ready or nothing more can be read.
void OutboxPublisher::Private::routeRows()
{
    while (readyBytes < options().format.maxPayloadBytes) {
        if (bufferPos >= buffer.size()) {
            buffer.clear();
            bufferPos = 0;
            if (!readMore())
                return;
            continue;
        }
        storage::OutboxRow &row = buffer[bufferPos];
        Connection *connection = connectionForMeter(row.meterId);
        if (!connection) {
            skipRow(row, false);
            ++bufferPos;
            continue;
        }
        if (!connection->up) {
            if (mode() != Mode::Device)
                return;
            connection->rewindFrom = std::min(connection->rewindFrom, row.id);
            ++bufferPos;
            continue;
        }
        if (connection->announced.contains(row.meterId) || !needsAnnouncement(row.meterId)) {
            connection->announced.insert(row.meterId);
            pushReady(std::move(row));
            ++bufferPos;
            continue;
        }
        if (heldFull())
            return;
        if (!connection->announcing.contains(row.meterId)) {
            connection->announcing.insert(row.meterId);
            announceQueue.push_back({connection->serial, row.meterId});
        }
        hold(std::move(row));
        ++bufferPos;
    }
}

// Builds the next announcement. Gateway: the connects of the next meters, then one attributes
// batch for those of them with attributes (as many as fit in a payload); Device: one meter's
// attributes on its own connection.
bool OutboxPublisher::Private::prepareAnnouncement()
{
    if (!announcePlan.empty())
        return true;
    const FormatOptions &format = options().format;
    while (!announceQueue.empty()) {
        const quint64 serial = announceQueue.front().connection;
        Connection *connection = find(serial);
        if (!connection || !connection->up) {
            announceQueue.pop_front(); // its rows were dropped with the connection
            continue;
        }
        if (mode() != Mode::Gateway) {
            const QString meterId = announceQueue.front().meterId;
            announceQueue.pop_front();
            connection->planned.insert(meterId);
            announcePlan.push_back({serial,
                controlMessage(meterId, DeviceAttributesTopic,
                    deviceAttributesPayload(meters.value(meterId).attributes)),
                {meterId}});
            return true;
        }

        const std::size_t limit
            = std::size_t(std::max<qsizetype>(kFirstBatchMeters, connection->announced.size()));
        std::vector<QString> taken;
        std::vector<DeviceAttributes> withAttributes;
        std::vector<std::size_t> takenIndex; // of each withAttributes entry in taken
        for (auto it = announceQueue.begin();
             it != announceQueue.end() && it->connection == serial && taken.size() < limit; ++it) {
            const MeterDevice meter = meters.value(it->meterId);
            if (!meter.attributes.isEmpty()) {
                withAttributes.push_back({it->meterId, deviceName(it->meterId), meter.attributes});
                takenIndex.push_back(taken.size());
            }
            taken.push_back(it->meterId);
        }
        BuiltAttributes batch = gatewayAttributesBatch(format, withAttributes);
        if (batch.devicesConsumed < qsizetype(withAttributes.size())) {
            // The batch is full: the meters after its last one wait for the next.
            taken.resize(takenIndex[std::size_t(batch.devicesConsumed)]);
        }
        announceQueue.erase(announceQueue.begin(), announceQueue.begin() + std::ptrdiff_t(taken.size()));
        for (const QString &meterId : taken) {
            const MeterDevice meter = meters.value(meterId);
            const QString type = meter.deviceType.isEmpty() ? format.deviceType : meter.deviceType;
            connection->planned.insert(meterId);
            announcePlan.push_back({serial,
                controlMessage(
                    meterId, GatewayConnectTopic, gatewayConnectPayload(deviceName(meterId), type)),
                {}});
        }
        if (batch.devicesConsumed > 0)
            announcePlan.push_back({serial, std::move(batch.message), std::move(taken)});
        else
            announcePlan.back().release = std::move(taken);
        return true;
    }
    return false;
}

// An announcement went out: its meters are announced and their held rows join `ready` in
// outbox order. A meter renamed meanwhile goes round again.
void OutboxPublisher::Private::release(Connection &connection, const std::vector<QString> &meterIds)
{
    if (meterIds.empty())
        return;
    std::vector<storage::OutboxRow> rows;
    for (const QString &meterId : meterIds) {
        connection.planned.remove(meterId);
        if (connection.stale.remove(meterId)) {
            announceQueue.push_back({connection.serial, meterId});
            continue;
        }
        connection.announcing.remove(meterId);
        connection.announced.insert(meterId);
        const auto it = held.find(meterId);
        if (it == held.end())
            continue;
        for (storage::OutboxRow &row : *it) {
            heldBytes -= row.payload.size();
            --heldRows;
            rows.push_back(std::move(row));
        }
        held.erase(it);
    }
    std::sort(rows.begin(), rows.end(),
        [](const storage::OutboxRow &a, const storage::OutboxRow &b) { return a.id < b.id; });
    for (storage::OutboxRow &row : rows)
        pushReady(std::move(row));
}

// The meter must be announced again before its next telemetry (renamed, removed): its rows not
// yet built are held again behind a new announcement.
void OutboxPublisher::Private::unannounce(Connection &connection, const QString &meterId)
{
    if (connection.announcing.contains(meterId)) {
        if (connection.planned.contains(meterId))
            connection.stale.insert(meterId);
        return;
    }
    if (!connection.announced.remove(meterId))
        return;
    compactReady();
    std::vector<storage::OutboxRow> rows;
    for (storage::OutboxRow &row : ready) {
        if (row.meterId == meterId)
            rows.push_back(std::move(row));
    }
    if (rows.empty())
        return;
    std::erase_if(ready, [&meterId](const storage::OutboxRow &row) { return row.meterId == meterId; });
    connection.announcing.insert(meterId);
    announceQueue.push_back({connection.serial, meterId});
    for (storage::OutboxRow &row : rows) {
        readyBytes -= row.payload.size();
        hold(std::move(row));
    }
}

// Forgets what a connection had announced or queued and drops the rows routed for it (the
// caller reads them again); returns their lowest id.
qint64 OutboxPublisher::Private::resetConnection(quint64 serial)
{
    Connection *connection = find(serial);
    std::erase_if(announceQueue, [serial](const PendingAnnouncement &a) { return a.connection == serial; });
    std::erase_if(announcePlan, [serial](const Queued &queued) { return queued.connection == serial; });
    if (!connection)
        return kNoId;
    const bool everyMeter = mode() != Mode::Device;
    const auto ours = [&](const QString &meterId) { return everyMeter || meterId == connection->meterId; };
    qint64 lowest = kNoId;
    if (telemetry && telemetry->connection == serial) {
        lowest = std::min(lowest, firstRowId(telemetry->message));
        telemetry.reset();
    }
    compactReady();
    std::erase_if(ready, [&](const storage::OutboxRow &row) {
        if (!ours(row.meterId))
            return false;
        lowest = std::min(lowest, row.id);
        readyBytes -= row.payload.size();
        return true;
    });
    for (auto it = held.begin(); it != held.end();) {
        if (!ours(it.key())) {
            ++it;
            continue;
        }
        for (const storage::OutboxRow &row : *it) {
            lowest = std::min(lowest, row.id);
            heldBytes -= row.payload.size();
            --heldRows;
        }
        it = held.erase(it);
    }
    connection->announced.clear();
    connection->announcing.clear();
    connection->planned.clear();
    connection->stale.clear();
    return lowest;
}

bool OutboxPublisher::Private::readMore()
{
    const PublisherOptions &o = options();
    if (!reader || readId >= knownLastId)
        return false;
    auto rows = reader->outboxRows(readId, o.fetchRows, o.maxInflightBytes);
    if (!rows) {
        if (rows.error().message != lastReadError) {
            lastReadError = rows.error().message;
            qCWarning(lcPublisher).noquote()
                << u"MQTT publisher: reading the outbox failed: "_s + lastReadError;
        }
        knownLastId = readId; // tried again on the next commit or status tick
        return false;
    }
    lastReadError.clear();
    if (rows->empty()) {
        knownLastId = readId;
        return false;
    }
    buffer.reserve(rows->size());
    for (storage::OutboxRow &row : *rows) {
        readId = row.id;
        const bool fresh = row.id > highestReadId;
        highestReadId = std::max(highestReadId, row.id);
        if (!fresh && (acked.contains(row.id) || inflightRows.contains(row.id)))
            continue;
        if (mode() == Mode::Device) {
            Connection *connection = connectionForMeter(row.meterId);
            if (!connection) {
                skipRow(row, fresh);
                continue;
            }
            if (!connection->up) {
                connection->rewindFrom = std::min(connection->rewindFrom, row.id);
                continue;
            }
        }
        buffer.push_back(std::move(row));
    }
    return true;
}

// Device mode: a meter without a token (or unknown) cannot be published; its rows wait.
void OutboxPublisher::Private::skipRow(const storage::OutboxRow &row, bool fresh)
{
    auto from = noTokenFrom.find(row.meterId);
    if (from == noTokenFrom.end())
        noTokenFrom.insert(row.meterId, row.id);
    else
        *from = std::min(*from, row.id);
    if (fresh) {
        QMutexLocker lock(&statusMutex);
        ++status.rowsSkipped;
    }
    if (!warnedNoToken.contains(row.meterId)) {
        warnedNoToken.insert(row.meterId);
        qCWarning(lcPublisher).noquote()
            << u"MQTT publisher: meter %1 has no access token; its readings stay in "
               "the outbox"_s.arg(row.meterId);
    }
}

bool OutboxPublisher::Private::takeToken()
{
    const double rate = options().maxMessagesPerSecond;
    if (rate <= 0)
        return true;
    const double capacity = std::max(1.0, rate * kBurstSeconds);
    const qint64 nowNs = monotonic.nsecsElapsed();
    tokens = std::min(capacity, tokens + double(nowNs - lastRefillNs) * rate / 1e9);
    lastRefillNs = nowNs;
    if (tokens >= 1) {
        tokens -= 1;
        return true;
    }
    if (!throttleTimer.isActive())
        throttleTimer.start(std::max(1, int(std::ceil((1 - tokens) / rate * 1000))));
    return false;
}

// Reads again from fromId: rows read but not yet published go back too (announcements stay
// as they are: re-read rows are held again behind them); acknowledged and in-flight rows are
// skipped as they come by again.
void OutboxPublisher::Private::rewindTo(qint64 fromId)
{
    qint64 lowest = fromId;
    if (bufferPos < buffer.size())
        lowest = std::min(lowest, buffer[bufferPos].id);
    buffer.clear();
    bufferPos = 0;
    for (std::size_t i = readyPos; i < ready.size(); ++i)
        lowest = std::min(lowest, ready[i].id);
    ready.clear();
    readyPos = 0;
    readyBytes = 0;
    for (const std::vector<storage::OutboxRow> &rows : std::as_const(held)) {
        if (!rows.empty())
            lowest = std::min(lowest, rows.front().id);
    }
    held.clear();
    heldBytes = 0;
    heldRows = 0;
    if (telemetry) {
        lowest = std::min(lowest, firstRowId(telemetry->message));
        telemetry.reset();
    }
    if (lowest != kNoId)
        readId = std::min(readId, lowest - 1);
    knownLastId = kNoId;
}

// A message the client library or the broker refused: counted as a failure, its rows read
// again after the next reconnect.
void OutboxPublisher::Private::abandon(
    Connection &connection, qint64 firstRow, const std::vector<MessagePart> &parts)
{
    connection.rewindFrom = std::min(connection.rewindFrom, firstRow);
    {
        QMutexLocker lock(&statusMutex);
        ++status.publishFailures;
    }
    // Last: a slot may call back into the publisher.
    for (const MessagePart &part : parts)
        Q_EMIT q->publishFailed(part.meterId);
}

void OutboxPublisher::Private::rememberAcked(qint64 id)
{
    if (acked.contains(id))
        return;
    acked.insert(id);
    ackedOrder.push_back(id);
}

// Forgets acknowledged ids no rewind can reach any more (below every row still to be read or
// sent); amortised over many acks, since finding that bound walks the in-flight messages.
void OutboxPublisher::Private::pruneAcked(bool force)
{
    if (!force && ackedOrder.size() < nextPruneAt && ackedOrder.size() <= kMaxRememberedAcks)
        return;
    const qint64 watermark = lowestUnsettledId();
    while (
        !ackedOrder.empty() && (ackedOrder.front() < watermark || ackedOrder.size() > kMaxRememberedAcks)) {
        acked.remove(ackedOrder.front());
        ackedOrder.pop_front();
    }
    for (auto it = abandoned.begin(); it != abandoned.end();) {
        if (*it < watermark)
            it = abandoned.erase(it);
        else
            ++it;
    }
    nextPruneAt = std::max(kMinPruneInterval, ackedOrder.size() * 2);
}

qint64 OutboxPublisher::Private::lowestUnsettledId() const
{
    qint64 lowest = readId + 1;
    if (bufferPos < buffer.size())
        lowest = std::min(lowest, buffer[bufferPos].id);
    for (std::size_t i = readyPos; i < ready.size(); ++i)
        lowest = std::min(lowest, ready[i].id);
    for (const std::vector<storage::OutboxRow> &rows : held) {
        if (!rows.empty())
            lowest = std::min(lowest, rows.front().id);
    }
    if (telemetry)
        lowest = std::min(lowest, firstRowId(telemetry->message));
    for (const auto &[serial, connection] : connections) {
        lowest = std::min(lowest, connection->rewindFrom);
        for (const Inflight &message : std::as_const(connection->inflight))
            lowest = std::min(lowest, message.firstRowId);
    }
    return lowest;
}

void OutboxPublisher::Private::flushAcks()
{
    if (pendingAcks.empty() || !storage)
        return;
    std::vector<qint64> ids;
    ids.swap(pendingAcks);
    storage->acknowledgeOutbox(ids);
}

void OutboxPublisher::Private::statusTick()
{
    if (!started)
        return;
    const storage::StorageStatus storageStatus = storage->status();
    const bool anyUp = std::any_of(
        connections.begin(), connections.end(), [](const auto &entry) { return entry.second->up; });

    // Safety net for a missed commit signal: the outbox holds rows, look past the cursor.
    if (anyUp && readId >= knownLastId && storageStatus.outbox.rows > 0) {
        knownLastId = kNoId;
        pump();
    }

    PublisherStatus snapshot = q->status();
    const qint64 nowMs = monotonic.elapsed();
    drainSamples.push_back({nowMs, snapshot.rowsAcknowledged, snapshot.messagesAcknowledged});
    while (drainSamples.size() > 2 && nowMs - drainSamples[1].ms >= kDrainWindowMs)
        drainSamples.pop_front();

    monitor::OutboxStatus outbox;
    outbox.messages = storageStatus.outbox.rows;
    outbox.bytes = storageStatus.outbox.bytes;
    outbox.oldestMs = storageStatus.outbox.rows > 0 ? storageStatus.outbox.oldestCreatedMs : 0;
    if (outbox.messages == 0) {
        outbox.etaMs = 0;
    } else if (snapshot.state != PublisherState::Publishing || drainSamples.size() < 2) {
        outbox.etaMs = -1;
    } else {
        const DrainSample &first = drainSamples.front();
        const double seconds = double(nowMs - first.ms) / 1000.0;
        const double rows = double(snapshot.rowsAcknowledged - first.rows);
        const double messages = double(snapshot.messagesAcknowledged - first.messages);
        double rate = seconds > 0 ? rows / seconds : 0;
        const double cap = options().maxMessagesPerSecond;
        if (cap > 0 && messages > 0)
            rate = std::min(rate, cap * rows / messages);
        outbox.etaMs = rate > 0 ? qint64(std::ceil(double(outbox.messages) / rate * 1000.0)) : -1;
    }
    {
        QMutexLocker lock(&statusMutex);
        status.outbox = outbox;
    }
    if (!lastEmittedOutbox || *lastEmittedOutbox != outbox) {
        lastEmittedOutbox = outbox;
        Q_EMIT q->outboxStatusChanged(outbox);
    }
}

void OutboxPublisher::Private::queueAttributes(const MeterDevice &meter)
{
    if (meter.attributes.isEmpty())
        return;
    Connection *connection = connectionForMeter(meter.id);
    if (!connection || !connection->up)
        return; // sent with its announcement on the next telemetry
    if (!connection->announced.contains(meter.id)) {
        // Announcing: a plan already built carries the old attributes, so it goes round again.
        if (connection->planned.contains(meter.id))
            connection->stale.insert(meter.id);
        return;
    }
    if (mode() == Mode::Gateway) {
        control.push_back({connection->serial,
            controlMessage(meter.id, GatewayAttributesTopic,
                gatewayAttributesPayload(deviceName(meter.id), meter.attributes)),
            {}});
    } else if (mode() == Mode::Device) {
        control.push_back({connection->serial,
            controlMessage(meter.id, DeviceAttributesTopic, deviceAttributesPayload(meter.attributes)), {}});
    }
}

OutboxPublisher::OutboxPublisher(PublisherOptions options, storage::Storage *storage, QObject *parent)
    : QObject(parent), m_options(std::move(options))
{
    d = std::make_unique<Private>(this, storage);
    d->throttleTimer.setSingleShot(true);
    d->throttleTimer.setTimerType(Qt::PreciseTimer);
    connect(&d->throttleTimer, &QTimer::timeout, this, [this] { d->pump(); });
    d->retryTimer.setSingleShot(true);
    d->retryTimer.setInterval(0);
    connect(&d->retryTimer, &QTimer::timeout, this, [this] { d->pump(); });
    d->ackFlushTimer.setSingleShot(true);
    d->ackFlushTimer.setInterval(0);
    connect(&d->ackFlushTimer, &QTimer::timeout, this, [this] { d->flushAcks(); });
    connect(&d->statusTimer, &QTimer::timeout, this, [this] { d->statusTick(); });
}

OutboxPublisher::~OutboxPublisher()
{
    stop();
}

dlms::Result<void> OutboxPublisher::start()
{
    if (d->started)
        return dlms::makeError(dlms::ErrorCode::InvalidArgument, u"MQTT publisher: already started"_s);
    if (auto valid = d->validate(); !valid)
        return valid;
    auto reader = storage::Reader::open(m_options.databasePath);
    if (!reader)
        return dlms::makeError(reader.error().code, u"MQTT publisher: "_s + reader.error().message);
    d->reader.emplace(std::move(reader.value()));

    d->started = true;
    d->readId = 0;
    d->highestReadId = 0;
    d->knownLastId = kNoId;
    d->monotonic.start();
    d->lastRefillNs = 0;
    d->tokens = m_options.maxMessagesPerSecond > 0
        ? std::max(1.0, m_options.maxMessagesPerSecond * kBurstSeconds)
        : 0;
    d->drainSamples.clear();
    d->lastEmittedOutbox.reset();
    {
        QMutexLocker lock(&d->statusMutex);
        d->status = PublisherStatus {};
    }
    d->setState(PublisherState::Connecting, u"connecting to "_s + d->hostText());

    if (m_options.format.mode == Mode::Device) {
        for (const MeterDevice &meter : std::as_const(d->meters)) {
            if (meter.accessToken.isEmpty())
                continue;
            ClientOptions client = m_options.client;
            client.username = meter.accessToken;
            client.password.clear();
            client.clientId = sanitizedClientId(meter.id);
            d->deviceConnections.insert(meter.id, d->createConnection(meter.id, client));
        }
    } else {
        d->singleConnection = d->createConnection({}, m_options.client);
    }
    d->statusTimer.start(m_options.statusIntervalMs);
    QTimer::singleShot(0, this, [this] { d->statusTick(); });
    return {};
}

void OutboxPublisher::stop()
{
    if (!d->started)
        return;
    d->flushAcks();
    d->ackFlushTimer.stop();
    d->throttleTimer.stop();
    d->retryTimer.stop();
    d->statusTimer.stop();
    d->started = false;
    for (auto &[serial, connection] : d->connections) {
        MqttClient *client = connection->client;
        QObject::disconnect(client, nullptr, this, nullptr);
        client->disconnectFromHost();
        delete client;
    }
    d->connections.clear();
    d->deviceConnections.clear();
    d->singleConnection = 0;
    d->buffer.clear();
    d->bufferPos = 0;
    d->ready.clear();
    d->readyPos = 0;
    d->readyBytes = 0;
    d->held.clear();
    d->heldBytes = 0;
    d->heldRows = 0;
    d->announceQueue.clear();
    d->announcePlan.clear();
    d->telemetry.reset();
    d->announcementsSinceTelemetry = kAnnouncementsPerSmallTelemetry;
    d->control.clear();
    d->inflightRows.clear();
    d->inflightMessages = 0;
    d->inflightBytes = 0;
    d->acked.clear();
    d->ackedOrder.clear();
    d->abandoned.clear();
    d->noTokenFrom.clear();
    d->nameCache.clear();
    d->reader.reset();
    d->setState(PublisherState::Stopped, u"stopped"_s);
}

void OutboxPublisher::setMeter(const mqtt::MeterDevice &meter)
{
    const std::optional<MeterDevice> previous
        = d->meters.contains(meter.id) ? std::optional<MeterDevice>(d->meters.value(meter.id)) : std::nullopt;
    d->meters.insert(meter.id, meter);
    d->nameCache.remove(meter.id);
    if (!d->started)
        return;
    const bool attributesChanged = !previous || previous->attributes != meter.attributes;
    switch (m_options.format.mode) {
    case Mode::Gateway: {
        Private::Connection *connection = d->find(d->singleConnection);
        if (!connection)
            break;
        // Announced under another name or type (a first setMeter replaces the fallback name):
        // announced again, attributes included, before its next telemetry.
        const bool reannounce = !previous || previous->deviceType != meter.deviceType
            || d->deviceName(meter.id) != (previous->name.isEmpty() ? previous->id : previous->name);
        if (reannounce)
            d->unannounce(*connection, meter.id);
        else if (attributesChanged)
            d->queueAttributes(meter);
        break;
    }
    case Mode::Device: {
        const auto existing = d->deviceConnections.constFind(meter.id);
        const bool has = existing != d->deviceConnections.constEnd();
        const bool tokenChanged = !previous || previous->accessToken != meter.accessToken;
        if (has && (tokenChanged || meter.accessToken.isEmpty())) {
            d->dropConnection(*existing);
        } else if (has) {
            if (attributesChanged)
                d->queueAttributes(meter);
            break;
        }
        if (!meter.accessToken.isEmpty()) {
            ClientOptions client = m_options.client;
            client.username = meter.accessToken;
            client.password.clear();
            client.clientId = sanitizedClientId(meter.id);
            const quint64 serial = d->createConnection(meter.id, client);
            d->deviceConnections.insert(meter.id, serial);
            if (const auto from = d->noTokenFrom.constFind(meter.id); from != d->noTokenFrom.constEnd()) {
                d->find(serial)->rewindFrom = *from;
                d->noTokenFrom.erase(from);
            }
            d->warnedNoToken.remove(meter.id);
        }
        d->updateState();
        break;
    }
    case Mode::Plain:
        break;
    }
    d->pump();
}

void OutboxPublisher::removeMeter(const QString &meterId)
{
    const QString name = d->deviceName(meterId);
    d->meters.remove(meterId);
    d->nameCache.remove(meterId);
    if (!d->started)
        return;
    switch (m_options.format.mode) {
    case Mode::Gateway:
        if (Private::Connection *connection = d->find(d->singleConnection); connection && connection->up) {
            d->control.push_back({connection->serial,
                controlMessage(meterId, GatewayDisconnectTopic, gatewayDisconnectPayload(name)), {}});
            d->unannounce(*connection, meterId);
        }
        break;
    case Mode::Device:
        if (const auto existing = d->deviceConnections.constFind(meterId);
            existing != d->deviceConnections.constEnd())
            d->dropConnection(*existing);
        d->updateState();
        break;
    case Mode::Plain:
        break;
    }
    d->pump();
}

PublisherStatus OutboxPublisher::status() const
{
    QMutexLocker lock(&d->statusMutex);
    return d->status;
}

void OutboxPublisher::onCommitted(qint64 readings, qint64 lastOutboxId)
{
    Q_UNUSED(readings);
    if (!d->started || lastOutboxId <= 0)
        return;
    if (d->knownLastId != kNoId)
        d->knownLastId = std::max(d->knownLastId, lastOutboxId);
    d->pump();
}

} // namespace mqtt
