#pragma once

#include <QtCore/QByteArray>
#include <QtCore/QMetaType>
#include <QtCore/QString>

#include <vector>

namespace storage {

// What the meters table keeps of a meter: where it is, never its secrets.
struct MeterInfo {
    QString id;
    QString name;
    QString host;
    quint16 port = 0;
    QString transport; // "wrapper" | "hdlc"
};

// One row of the events table.
struct Event {
    qint64 timestampMs = 0; // UTC ms
    QString meterId; // empty: the bridge itself (stored as NULL)
    QString kind; // "state", "error", "storage", …
    QString state; // the meter state name for kind "state" ("connecting", …), else empty
    QString message;
};

// One outbox row: the compact telemetry of one readings batch, waiting for a broker's PUBACK.
struct OutboxRow {
    qint64 id = 0; // increasing: outbox order
    QString meterId;
    qint64 timestampMs = 0; // the batch's
    QByteArray payload; // {"ts":…,"values":{…}}
    quint32 valueCount = 0; // values in payload
    qint64 createdMs = 0; // UTC ms the row was written
};

// The outbox as a whole (what is waiting to be published).
struct OutboxLevel {
    qint64 rows = 0;
    qint64 bytes = 0; // payload bytes
    qint64 oldestCreatedMs = 0; // 0 when empty
    bool operator==(const OutboxLevel &) const = default;
};

enum class StorageState : quint8 {
    Stopped,
    Ok,
    Failing, // writes fail (full disk, read-only file, I/O error): data waits in memory
};
QString storageStateName(StorageState state); // "stopped", "ok", "failing"

// The writer's figures, readable from any thread.
struct StorageStatus {
    StorageState state = StorageState::Stopped;
    QString message; // why Failing (the SQLite error), empty when Ok
    quint64 readingsWritten = 0;
    quint64 batchesWritten = 0;
    quint64 outboxRowsWritten = 0;
    quint64 metricsRowsWritten = 0;
    quint64 eventsWritten = 0;
    quint64 transactions = 0;
    quint64 writeErrors = 0; // failed transactions (each retried later)
    qint64 queuedReadings = 0; // waiting in memory now
    quint64 droppedReadings = 0; // dropped because the in-memory queue was full (oldest first)
    quint64 droppedMetricsRows = 0; // network_metrics rows dropped the same way (whole rollups)
    quint64 droppedEvents = 0; // events dropped the same way
    quint64 retentionDeletedRows = 0;
    // The outbox, kept exact by the writer (counted at start, then every insert and delete).
    OutboxLevel outbox;
    quint64 outboxAcknowledgedRows = 0; // deleted after a PUBACK
    // Dropped unpublished by the outbox bounds (size, then age), oldest first; their readings
    // stay in the readings table.
    quint64 outboxDroppedRows = 0;
    qint64 lastCommitMs = 0; // UTC ms of the last successful commit
    double lastCommitDurationMs = 0;
};

} // namespace storage

Q_DECLARE_METATYPE(storage::StorageState)
Q_DECLARE_METATYPE(storage::Event)
