#pragma once

#include "serversession.h"

#include <QtCore/QElapsedTimer>
#include <QtCore/QObject>
#include <QtCore/QRandomGenerator>
#include <QtCore/QTimer>

#include <deque>
#include <vector>

class QTcpSocket;

namespace sim {

// One accepted TCP connection of the Simulator (private to it): moves bytes between the socket
// and a ServerSession and applies the meter's transport faults to what goes out. Faults are
// read from the model when they act, so a change at run time applies to the next bytes.
class SimConnection final : public QObject {
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(SimConnection)

public:
    // Takes ownership of the connected socket.
    SimConnection(int meter, MeterModel &model, dlms::Transport transport, QTcpSocket *socket, quint32 seed,
        QObject *parent = nullptr);
    ~SimConnection() override;

    int meter() const { return m_meter; }
    QString peer() const;
    // Closes the socket at once, without emitting closed().
    void abort();

    // Test hook (tests find connections among the Simulator's children): what went to the socket.
    struct Stats {
        quint64 writes = 0; // QTcpSocket::write calls
        quint64 bytesWritten = 0;
        quint64 batches = 0; // response batches produced (one per read that had answers)
        quint64 heldBatches = 0; // of those, batches queued behind the latency timer
    };
    const Stats &stats() const { return m_stats; }

Q_SIGNALS:
    void associationChanged(bool associated); // an AARE went out: accepted or refused
    void closed(); // the peer closed, the socket failed, or a fault dropped the connection

private:
    // Response frames produced by one read, kept together so latency holds them as one.
    struct Batch {
        std::vector<QByteArray> frames;
        bool afterAssociation = false; // produced while an association already existed
        qint64 due = 0; // m_clock time at which latency lets it go
    };

    void readIncoming();
    void releaseDue();
    void release(const Batch &batch);
    void send(const QByteArray &bytes);
    void write(const char *data, qsizetype size);
    void dripNext();
    void dropWhenWritten();
    void finish();

    int m_meter;
    MeterModel &m_model;
    QTcpSocket *m_socket;
    ServerSession m_session;
    QRandomGenerator m_random;
    QElapsedTimer m_clock;
    std::deque<Batch> m_delayed;
    QTimer m_latencyTimer;
    QByteArray m_drip;
    qsizetype m_dripOffset = 0;
    QTimer m_dripTimer;
    bool m_dropping = false; // dropMidFrame fired: nothing more goes out, close once written
    bool m_finished = false;
    Stats m_stats;
};

} // namespace sim
