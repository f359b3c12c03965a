#pragma once

#include "metermodel.h"

#include <error.h>

#include <QtCore/QObject>
#include <QtNetwork/QHostAddress>

#include <memory>
#include <vector>

class QTcpServer;

namespace sim {

class SimConnection;

struct SimulatorConfig {
    QHostAddress address = QHostAddress(QHostAddress::LocalHost); // never anything but loopback in tests
    quint16 basePort = 4059; // meter i listens on basePort + i; 0 = an ephemeral port per meter
    int meters = 1;
    dlms::Transport transport = dlms::Transport::Wrapper;
    MeterSettings meter; // template for every meter; index is set per meter
    ClockSource clock; // test hook; default host clock
};

// A set of simulated meters, one TCP listener each, any number of concurrent connections per
// meter, each with its own association state (a ServerSession). Transport faults of each meter
// are applied to its connections' outgoing bytes. Runs in the thread it lives in; never blocks.
class Simulator final : public QObject {
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(Simulator)

public:
    explicit Simulator(SimulatorConfig config, QObject *parent = nullptr);
    ~Simulator() override;

    // Listens on every meter's port; on failure (port busy, …) closes what it opened and says
    // which port and why.
    dlms::Result<void> start();
    void stop(); // closes listeners and every connection

    const SimulatorConfig &config() const { return m_config; }
    int meterCount() const;
    quint16 port(int meter) const; // the port actually listened on
    MeterModel &meter(int meter);
    // Test hook: change a meter's faults at run time (applies to the next bytes sent).
    void setFaults(int meter, const FaultConfig &faults);
    int connectionCount() const; // open connections, all meters

Q_SIGNALS:
    void connectionOpened(int meter, const QString &peer);
    void connectionClosed(int meter);
    // A connection's association was accepted or refused (AARE sent).
    void associationChanged(int meter, bool associated);

private:
    struct Meter {
        std::unique_ptr<MeterModel> model;
        QTcpServer *server = nullptr;
        quint32 accepted = 0; // connections so far; seeds each one's garbage generator
    };

    void acceptConnections(int meter);
    void connectionFinished(SimConnection *connection);
    void closeAll(bool notify);

    SimulatorConfig m_config;
    std::vector<Meter> m_meters;
    std::vector<SimConnection *> m_connections;
};

} // namespace sim
