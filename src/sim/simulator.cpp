#include "simulator.h"

#include "simconnection.h"

#include <QtNetwork/QTcpServer>
#include <QtNetwork/QTcpSocket>

#include <algorithm>

namespace sim {

namespace {

QString endpoint(const QHostAddress &address, quint32 port)
{
    const QString host = address.protocol() == QAbstractSocket::IPv6Protocol
        ? QStringLiteral("[%1]").arg(address.toString())
        : address.toString();
    return QStringLiteral("%1:%2").arg(host).arg(port);
}

} // namespace

Simulator::Simulator(SimulatorConfig config, QObject *parent) : QObject(parent), m_config(std::move(config))
{
    const int count = std::max(0, m_config.meters);
    m_meters.resize(size_t(count));
    for (int i = 0; i < count; ++i) {
        MeterSettings settings = m_config.meter;
        settings.index = i;
        m_meters[size_t(i)].model = std::make_unique<MeterModel>(std::move(settings), m_config.clock);
    }
}

Simulator::~Simulator()
{
    closeAll(false);
}

dlms::Result<void> Simulator::start()
{
    for (const Meter &meter : m_meters) {
        if (meter.server)
            return {}; // already listening
    }
    for (size_t i = 0; i < m_meters.size(); ++i) {
        const quint32 wanted = m_config.basePort == 0 ? 0 : quint32(m_config.basePort) + quint32(i);
        if (wanted > 0xFFFF) {
            closeAll(false);
            return dlms::makeError(dlms::ErrorCode::ConnectionFailed,
                QStringLiteral("cannot listen on %1: there is no such port")
                    .arg(endpoint(m_config.address, wanted)));
        }
        auto *server = new QTcpServer(this);
        if (!server->listen(m_config.address, quint16(wanted))) {
            const QString reason = server->errorString();
            delete server;
            closeAll(false);
            return dlms::makeError(dlms::ErrorCode::ConnectionFailed,
                QStringLiteral("cannot listen on %1: %2").arg(endpoint(m_config.address, wanted), reason));
        }
        const int index = int(i);
        connect(server, &QTcpServer::newConnection, this, [this, index] { acceptConnections(index); });
        m_meters[i].server = server;
    }
    return {};
}

void Simulator::stop()
{
    closeAll(true);
}

void Simulator::closeAll(bool notify)
{
    for (Meter &meter : m_meters) {
        if (!meter.server)
            continue;
        meter.server->close();
        meter.server->disconnect(this);
        // Later: stop() may run inside one of the server's own signals.
        meter.server->deleteLater();
        meter.server = nullptr;
    }
    const std::vector<SimConnection *> connections = std::exchange(m_connections, {});
    for (SimConnection *connection : connections) {
        connection->disconnect(this);
        connection->abort();
        if (notify) {
            connection->deleteLater();
            Q_EMIT connectionClosed(connection->meter());
        } else {
            delete connection;
        }
    }
}

int Simulator::meterCount() const
{
    return int(m_meters.size());
}

quint16 Simulator::port(int meter) const
{
    if (meter < 0 || meter >= meterCount() || !m_meters[size_t(meter)].server)
        return 0;
    return m_meters[size_t(meter)].server->serverPort();
}

MeterModel &Simulator::meter(int meter)
{
    Q_ASSERT(meter >= 0 && meter < meterCount());
    return *m_meters[size_t(meter)].model;
}

void Simulator::setFaults(int meter, const FaultConfig &faults)
{
    if (meter < 0 || meter >= meterCount())
        return;
    m_meters[size_t(meter)].model->faults() = faults;
}

int Simulator::connectionCount() const
{
    return int(m_connections.size());
}

void Simulator::acceptConnections(int index)
{
    Meter &meter = m_meters[size_t(index)];
    if (!meter.server)
        return;
    while (QTcpSocket *socket = meter.server->nextPendingConnection()) {
        // Deterministic garbage: a failing fault test replays the same bytes.
        const quint32 seed = 0x51D0000u + quint32(index) * 0x10000u + meter.accepted++;
        auto *connection = new SimConnection(index, *meter.model, m_config.transport, socket, seed, this);
        m_connections.push_back(connection);
        connect(connection, &SimConnection::associationChanged, this,
            [this, index](bool associated) { Q_EMIT associationChanged(index, associated); });
        connect(
            connection, &SimConnection::closed, this, [this, connection] { connectionFinished(connection); });
        Q_EMIT connectionOpened(index, connection->peer());
    }
}

void Simulator::connectionFinished(SimConnection *connection)
{
    const auto it = std::find(m_connections.begin(), m_connections.end(), connection);
    if (it == m_connections.end())
        return;
    m_connections.erase(it);
    connection->disconnect(this);
    // Later: we are inside one of its socket's signals.
    connection->deleteLater();
    Q_EMIT connectionClosed(connection->meter());
}

} // namespace sim
