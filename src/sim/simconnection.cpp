#include "simconnection.h"

#include <QtNetwork/QHostAddress>
#include <QtNetwork/QTcpSocket>

#include <algorithm>

namespace sim {

namespace {

QString describePeer(const QTcpSocket &socket)
{
    const QHostAddress address = socket.peerAddress();
    const QString host = address.protocol() == QAbstractSocket::IPv6Protocol
        ? QStringLiteral("[%1]").arg(address.toString())
        : address.toString();
    return QStringLiteral("%1:%2").arg(host).arg(socket.peerPort());
}

} // namespace

SimConnection::SimConnection(int meter, MeterModel &model, dlms::Transport transport, QTcpSocket *socket,
    quint32 seed, QObject *parent)
    : QObject(parent), m_meter(meter), m_model(model), m_socket(socket), m_session(model, transport),
      m_random(seed)
{
    m_socket->setParent(this);
    // Meters answer at once; Nagle would merge dripped bytes and delay small answers.
    m_socket->setSocketOption(QAbstractSocket::LowDelayOption, 1);
    m_clock.start();

    m_latencyTimer.setSingleShot(true);
    m_latencyTimer.setTimerType(Qt::PreciseTimer); // a coarse timer may fire early
    m_dripTimer.setTimerType(Qt::PreciseTimer);
    connect(&m_latencyTimer, &QTimer::timeout, this, &SimConnection::releaseDue);
    connect(&m_dripTimer, &QTimer::timeout, this, &SimConnection::dripNext);

    connect(m_socket, &QTcpSocket::readyRead, this, &SimConnection::readIncoming);
    connect(m_socket, &QTcpSocket::disconnected, this, &SimConnection::finish);
    connect(m_socket, &QTcpSocket::errorOccurred, this, &SimConnection::finish);
    connect(m_socket, &QTcpSocket::bytesWritten, this, &SimConnection::dropWhenWritten);

    // The peer may have written (or gone) before we were connected to the socket's signals.
    QMetaObject::invokeMethod(
        this,
        [this] {
            if (m_socket->state() != QAbstractSocket::ConnectedState)
                finish();
            else if (m_socket->bytesAvailable() > 0)
                readIncoming();
        },
        Qt::QueuedConnection);
}

SimConnection::~SimConnection()
{
    m_socket->disconnect(this);
    m_socket->abort();
}

QString SimConnection::peer() const
{
    return describePeer(*m_socket);
}

void SimConnection::abort()
{
    m_finished = true;
    m_latencyTimer.stop();
    m_dripTimer.stop();
    m_delayed.clear();
    m_socket->disconnect(this);
    m_socket->abort();
}

void SimConnection::readIncoming()
{
    const QByteArray bytes = m_socket->readAll();
    if (m_finished || m_dropping || bytes.isEmpty())
        return;
    if (m_model.faults().silent)
        return; // reads everything, answers nothing

    const bool wasAssociated = m_session.associated();
    const ServerSession::Counters before = m_session.counters();
    m_session.feed(bytes);

    Batch batch;
    batch.frames = m_session.takeOutgoing();
    batch.afterAssociation = wasAssociated;
    if (!batch.frames.empty()) {
        ++m_stats.batches;
        const int latency = std::max(0, m_model.faults().latencyMs);
        if (latency > 0 || !m_delayed.empty()) {
            ++m_stats.heldBatches;
            // Behind a batch still held, even with the latency switched off: order is kept.
            batch.due = m_clock.elapsed() + latency;
            if (!m_delayed.empty())
                batch.due = std::max(batch.due, m_delayed.back().due);
            m_delayed.push_back(std::move(batch));
            if (!m_latencyTimer.isActive())
                releaseDue();
        } else {
            release(batch);
        }
    }

    const ServerSession::Counters &after = m_session.counters();
    const quint64 accepted = after.associationsAccepted - before.associationsAccepted;
    const quint64 rejected = after.associationsRejected - before.associationsRejected;
    // Several AARQs in one read: the last signal tells the state the connection is left in.
    const bool acceptedLast = m_session.associated();
    for (quint64 i = 0; !acceptedLast && i < accepted; ++i)
        Q_EMIT associationChanged(true);
    for (quint64 i = 0; i < rejected; ++i)
        Q_EMIT associationChanged(false);
    for (quint64 i = 0; acceptedLast && i < accepted; ++i)
        Q_EMIT associationChanged(true);
}

void SimConnection::releaseDue()
{
    const qint64 now = m_clock.elapsed();
    while (!m_delayed.empty() && m_delayed.front().due <= now && !m_finished && !m_dropping) {
        const Batch batch = std::move(m_delayed.front());
        m_delayed.pop_front();
        release(batch);
    }
    if (!m_delayed.empty() && !m_finished && !m_dropping)
        m_latencyTimer.start(int(std::max<qint64>(1, m_delayed.front().due - now)));
}

void SimConnection::release(const Batch &batch)
{
    const FaultConfig &faults = m_model.faults();
    QByteArray out;
    if (faults.garbageBytes > 0) {
        out.resize(faults.garbageBytes);
        for (char &c : out)
            c = char(m_random.bounded(256));
    }
    for (const QByteArray &frame : batch.frames) {
        if (faults.dropMidFrame && batch.afterAssociation) {
            out.append(QByteArrayView(frame).first(frame.size() / 2));
            m_dropping = true;
            m_delayed.clear();
            m_latencyTimer.stop();
            send(out);
            dropWhenWritten();
            return;
        }
        out.append(frame);
    }
    send(out);
}

void SimConnection::send(const QByteArray &bytes)
{
    if (bytes.isEmpty() || m_finished)
        return;
    if (m_model.faults().drip || m_dripOffset < m_drip.size()) {
        m_drip.append(bytes);
        if (!m_dripTimer.isActive())
            m_dripTimer.start(std::max(0, m_model.faults().dripIntervalMs));
        return;
    }
    write(bytes.constData(), bytes.size());
}

void SimConnection::write(const char *data, qsizetype size)
{
    ++m_stats.writes;
    m_stats.bytesWritten += quint64(size);
    m_socket->write(data, size);
}

void SimConnection::dripNext()
{
    if (m_finished) {
        m_dripTimer.stop();
        return;
    }
    const FaultConfig &faults = m_model.faults();
    // Drip switched off at run time: what is queued goes out at once.
    const qsizetype n = faults.drip ? 1 : m_drip.size() - m_dripOffset;
    write(m_drip.constData() + m_dripOffset, n);
    m_dripOffset += n;
    if (m_dripOffset < m_drip.size()) {
        m_dripTimer.setInterval(std::max(0, faults.dripIntervalMs));
        return;
    }
    m_dripTimer.stop();
    m_drip.clear();
    m_dripOffset = 0;
    dropWhenWritten();
}

void SimConnection::dropWhenWritten()
{
    if (!m_dropping || m_finished || m_dripOffset < m_drip.size())
        return;
    // abort() throws away what is still buffered: the half frame must reach the kernel first.
    m_socket->flush();
    if (m_socket->bytesToWrite() > 0 || m_finished)
        return; // bytesWritten brings us back
    m_socket->abort();
    finish();
}

void SimConnection::finish()
{
    if (m_finished)
        return;
    m_finished = true;
    m_latencyTimer.stop();
    m_dripTimer.stop();
    m_delayed.clear();
    Q_EMIT closed();
}

} // namespace sim
