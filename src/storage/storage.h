#pragma once

#include "database.h"
#include "storagetypes.h"

#include <monitortypes.h>
#include <pollingtypes.h>

#include <QtCore/QObject>

#include <functional>
#include <memory>

class QThread;

namespace storage {

struct StorageOptions {
    QString path; // the SQLite file
    int readingsRetentionDays = 90; // 0 = keep forever
    int metricsRetentionDays = 400; // network_metrics
    int eventsRetentionDays = 90;
    int commitIntervalMs = 250; // a transaction at most this often while data trickles in
    int maxTransactionRows = 20'000; // readings per transaction; more → commit at once
    qint64 maxQueuedReadings = 2'000'000; // in memory while writes fail; then oldest dropped
    // network_metrics rows (a minute of 2,000 meters is ~2,000 rows: four hours here) and events
    // held in memory while writes fail; beyond them the oldest rollups / events are dropped.
    qint64 maxQueuedMetricsRows = 500'000;
    qint64 maxQueuedEvents = 100'000;
    bool writeOutbox = true; // one outbox row per readings batch, same transaction (setWriteOutbox)
    // Outbox bounds. Past them the oldest rows are dropped unpublished (size first, then age),
    // counted in StorageStatus::outboxDroppedRows, with one "outbox" event and one log line
    // per episode; the readings themselves stay in the readings table. 0 = unbounded.
    qint64 maxOutboxBytes = 512LL * 1024 * 1024; // payload bytes
    int maxOutboxAgeHours = 7 * 24;
    int retryInitialMs = 1000; // after a failed transaction, doubling …
    int retryMaxMs = 30'000; // … up to this
    int retentionIntervalMs = 10 * 60'000; // how often retention runs
    int retentionChunkRows = 2000; // rows deleted per statement, between writes
    qint64 maxPageCount = 0; // OpenOptions::maxPageCount (a size cap; tests use it as a full disk)
    std::function<qint64()> clock; // UTC ms (retention cut-off, events); empty = system clock
};

// The writer: one thread, one read-write connection, transactions in batches. Methods are
// called from the owner's thread (the Bridge, dlmsctl); they only append to an in-memory queue
// under a mutex and wake the writer — never touch SQLite, never block on it.
//
// Nothing is lost on a failing disk: a failed transaction is rolled back, its data stays queued
// (bounded by maxQueuedReadings, maxQueuedMetricsRows and maxQueuedEvents, each kind's oldest
// dropped first and counted), state becomes Failing with
// the SQLite message (logged once per distinct message), and the writer retries with backoff;
// when a retry succeeds the state returns to Ok. Retention deletes old rows in small chunks
// between transactions, so it never holds the writer for long.
class Storage final : public QObject {
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(Storage)

public:
    explicit Storage(StorageOptions options, QObject *parent = nullptr);
    // Stops (flushing) when still running.
    ~Storage() override;

    const StorageOptions &options() const { return m_options; }

    // Opens and migrates the file on the caller's thread first (a bad path or a newer schema
    // fails here, with the reason), then starts the writer thread with its own connection.
    dlms::Result<void> start();
    // Writes everything queued (one last attempt, bounded by timeoutMs), closes the connection,
    // joins the thread. Returns false when data had to be left unwritten (counted as dropped).
    bool stop(int timeoutMs = 10'000);
    bool isRunning() const;

    // Queue for writing (any order of calls keeps its order in the database).
    void writeReadings(const polling::ReadingsBatch &batch);
    void writeRollup(const monitor::MinuteRollup &rollup);
    void writeEvent(const storage::Event &event);
    void upsertMeter(const storage::MeterInfo &meter);
    // Marks a meter removed (removed_ms); its rows stay.
    void markMeterRemoved(const QString &meterId);

    // The broker acknowledged these outbox rows: delete them (next transaction). Rows already
    // gone (dropped by the bounds) are skipped, so the level is never decremented twice.
    // Thread-safe (the MQTT thread calls it).
    void acknowledgeOutbox(const std::vector<qint64> &ids);

    // Commits what is queued now instead of waiting for commitIntervalMs (tests, shutdown).
    void flush();
    // Runs retention now (tests; normally every retentionIntervalMs).
    void runRetention();
    // Changes the size cap (OpenOptions::maxPageCount) on the writer's connection; 0 = none.
    void setMaxPageCount(qint64 pages);
    // Whether readings batches get their outbox row from now on (the MQTT publisher enabled or
    // not); rows already in the outbox stay. Thread-safe: an atomic the writer reads per batch,
    // so batches still queued when it changes follow the new value.
    void setWriteOutbox(bool on);

    StorageStatus status() const; // thread-safe snapshot

Q_SIGNALS:
    void stateChanged(storage::StorageState state, const QString &message);
    // After a commit: what it wrote. lastOutboxId > 0 when it added outbox rows (the MQTT
    // publisher reads from there).
    void committed(qint64 readings, qint64 lastOutboxId);

private:
    class Writer;
    struct Shared;
    void wakeWriter();

    StorageOptions m_options;
    std::shared_ptr<Shared> m_shared; // the queue and the status, shared with the writer
    QThread *m_thread = nullptr;
    Writer *m_writer = nullptr;
};

// The outbox payload of one batch: {"ts":<ms>,"values":{"<key>":<number|text>,…}} (failed
// readings left out; numbers as the meter meant them, 15 significant digits). Empty when the
// batch has no value to publish.
QByteArray outboxPayload(const polling::ReadingsBatch &batch);

// Appends `text` as a JSON string in UTF-8 (quotes, backslashes and control characters escaped;
// a lone surrogate, which has no UTF-8 form, becomes U+FFFD): how outbox payloads and the HTTP
// API's hand-written documents write their strings.
void appendJsonString(QByteArray &out, QStringView text);

} // namespace storage
