#include "storage.h"

#include "metricscolumns.h"

#include <QtCore/QCoreApplication>
#include <QtCore/QDateTime>
#include <QtCore/QDeadlineTimer>
#include <QtCore/QElapsedTimer>
#include <QtCore/QHash>
#include <QtCore/QLoggingCategory>
#include <QtCore/QMutex>
#include <QtCore/QThread>
#include <QtCore/QTimer>
#include <QtSql/QSqlError>
#include <QtSql/QSqlQuery>

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <cmath>
#include <deque>
#include <limits>
#include <optional>
#include <type_traits>
#include <utility>
#include <variant>

using namespace Qt::StringLiterals;

namespace storage {

namespace {

Q_LOGGING_CATEGORY(lcStorage, "dlmsbridge.storage")

constexpr qint64 MsPerDay = 86'400'000;

// A connection opened on a read-only (or vanished) file stays that way: such failures get a
// fresh connection on retry. A full disk or a lock does not need one.
bool needsReopen(SqliteFailure failure)
{
    return failure != SqliteFailure::Full && failure != SqliteFailure::Locked;
}

// Qt binds a null QString as SQL NULL; the NOT NULL text columns take '' instead.
QVariant text(const QString &value)
{
    static const QString empty = u""_s;
    return value.isNull() ? QVariant(empty) : QVariant(value);
}

// Counters are exact unsigned integers; SQLite's are signed 64-bit, so clamp instead of wrapping.
QVariant count(quint64 value)
{
    return qint64(std::min<quint64>(value, quint64(std::numeric_limits<qint64>::max())));
}

bool isIntegerType(int typeId)
{
    switch (typeId) {
    case QMetaType::Int:
    case QMetaType::Long:
    case QMetaType::LongLong:
    case QMetaType::Short:
    case QMetaType::Char:
    case QMetaType::SChar:
        return true;
    default:
        return false;
    }
}

bool isUnsignedType(int typeId)
{
    switch (typeId) {
    case QMetaType::UInt:
    case QMetaType::ULong:
    case QMetaType::ULongLong:
    case QMetaType::UShort:
    case QMetaType::UChar:
        return true;
    default:
        return false;
    }
}

// readings.value: REAL for numbers, TEXT for text, NULL when failed.
QVariant sqlValue(const polling::Reading &reading)
{
    const QVariant &value = reading.value;
    if (reading.quality == polling::Quality::Failed || value.isNull())
        return {};
    const int type = value.typeId();
    if (type == QMetaType::Double)
        return value;
    if (type == QMetaType::Float || type == QMetaType::Bool || isIntegerType(type) || isUnsignedType(type))
        return value.toDouble();
    const QString string = value.toString();
    return string.isNull() ? QVariant() : QVariant(string);
}

void appendInteger(QByteArray &out, auto value)
{
    std::array<char, 24> buffer;
    const auto end = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value).ptr;
    out.append(buffer.data(), end - buffer.data());
}

void appendUtf8(QByteArray &out, char32_t c)
{
    if (c < 0x800) {
        out.append(char(0xc0 | (c >> 6)));
    } else if (c < 0x10000) {
        out.append(char(0xe0 | (c >> 12)));
        out.append(char(0x80 | ((c >> 6) & 0x3f)));
    } else {
        out.append(char(0xf0 | (c >> 18)));
        out.append(char(0x80 | ((c >> 12) & 0x3f)));
        out.append(char(0x80 | ((c >> 6) & 0x3f)));
    }
    out.append(char(0x80 | (c & 0x3f)));
}

} // namespace

void appendJsonString(QByteArray &out, QStringView string)
{
    out.append('"');
    const qsizetype size = string.size();
    for (qsizetype i = 0; i < size; ++i) {
        char32_t c = string[i].unicode();
        if (c >= 0x20 && c < 0x80) {
            if (c == u'"' || c == u'\\')
                out.append('\\');
            out.append(char(c));
            continue;
        }
        if (c < 0x20) {
            static constexpr char hex[] = "0123456789abcdef";
            switch (c) {
            case u'\n':
                out.append("\\n", 2);
                break;
            case u'\r':
                out.append("\\r", 2);
                break;
            case u'\t':
                out.append("\\t", 2);
                break;
            default: {
                const char escape[] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xf]};
                out.append(escape, sizeof escape);
            }
            }
            continue;
        }
        if (QChar::isHighSurrogate(c) && i + 1 < size && string[i + 1].isLowSurrogate())
            c = QChar::surrogateToUcs4(char16_t(c), string[++i].unicode());
        else if (QChar::isSurrogate(c))
            c = 0xfffd; // a lone surrogate has no UTF-8 form
        appendUtf8(out, c);
    }
    out.append('"');
}

namespace {

// False when the value has nothing to publish (null, or a number JSON cannot carry).
bool appendJsonValue(QByteArray &out, const QVariant &value)
{
    if (value.isNull())
        return false;
    const int type = value.typeId();
    if (type == QMetaType::Double || type == QMetaType::Float) {
        const double number = value.toDouble();
        if (!std::isfinite(number))
            return false;
        // QString::number itself: 15 significant digits (230.1, not 230.09999999999999), and the
        // same digits as everywhere else in the program, ties included (std::to_chars rounds
        // ties to even, Qt away from zero).
        const QString digits = QString::number(number, 'g', 15);
        for (const QChar c : digits)
            out.append(char(c.unicode()));
        return true;
    }
    if (isIntegerType(type)) {
        appendInteger(out, value.toLongLong());
        return true;
    }
    if (isUnsignedType(type)) {
        appendInteger(out, value.toULongLong());
        return true;
    }
    if (type == QMetaType::Bool) {
        out.append(value.toBool() ? "true" : "false");
        return true;
    }
    const QString string = value.toString();
    if (string.isNull())
        return false;
    appendJsonString(out, string);
    return true;
}

// The options' UTC clock, or the system's when none is injected.
qint64 nowMs(const StorageOptions &options)
{
    return options.clock ? options.clock() : QDateTime::currentMSecsSinceEpoch();
}

} // namespace

QString storageStateName(StorageState state)
{
    switch (state) {
    case StorageState::Stopped:
        return u"stopped"_s;
    case StorageState::Ok:
        return u"ok"_s;
    case StorageState::Failing:
        return u"failing"_s;
    }
    return u"unknown"_s;
}

namespace {

// The payload and how many values it carries (outbox.value_count): one loop, so the two agree.
QByteArray buildOutboxPayload(const polling::ReadingsBatch &batch, quint32 *valueCount)
{
    *valueCount = 0;
    QByteArray out;
    out.reserve(32 + qsizetype(batch.readings.size()) * 32);
    out.append("{\"ts\":");
    appendInteger(out, batch.timestampMs);
    out.append(",\"values\":{");
    bool any = false;
    for (const polling::Reading &reading : batch.readings) {
        if (reading.quality == polling::Quality::Failed)
            continue;
        const qsizetype mark = out.size();
        if (any)
            out.append(',');
        appendJsonString(out, reading.key);
        out.append(':');
        if (!appendJsonValue(out, reading.value)) {
            out.truncate(mark);
            continue;
        }
        any = true;
        ++*valueCount;
    }
    if (!any)
        return {};
    out.append("}}");
    return out;
}

// 1234567 → "1,234,567": event messages are read by people.
QString groupedNumber(qint64 value)
{
    QString digits = QString::number(value < 0 ? -value : value);
    for (qsizetype at = digits.size() - 3; at > 0; at -= 3)
        digits.insert(at, u',');
    return value < 0 ? u'-' + digits : digits;
}

// The outbox cap as configured: "512 MiB", "64 KiB", "1000 bytes".
QString byteSize(qint64 bytes)
{
    static constexpr std::array<std::pair<qint64, QLatin1StringView>, 3> units {{
        {1024LL * 1024 * 1024, QLatin1StringView("GiB")},
        {1024LL * 1024, QLatin1StringView("MiB")},
        {1024, QLatin1StringView("KiB")},
    }};
    for (const auto &[size, name] : units) {
        if (bytes >= size && bytes % size == 0)
            return groupedNumber(bytes / size) + u' ' + name;
    }
    return groupedNumber(bytes) + u" bytes"_s;
}

QString ageText(int hours)
{
    if (hours % 24 == 0)
        return hours == 24 ? u"1 day"_s : QString::number(hours / 24) + u" days"_s;
    return hours == 1 ? u"1 hour"_s : QString::number(hours) + u" hours"_s;
}

QString droppedText(const QString &why, qint64 rows)
{
    return u"outbox "_s + why + u": "_s + groupedNumber(rows)
        + (rows == 1 ? u" oldest batch dropped unpublished; its readings stay in the database"_s
                     : u" oldest batches dropped unpublished; their readings stay in the database"_s);
}

// The outbox level by query: rows, payload bytes, and the first row's created_ms (rows leave
// in id order, so the first one is the oldest waiting). The reader counts the same way.
const QString &outboxLevelSql()
{
    static const QString sql = u"SELECT count(*), coalesce(sum(length(payload)), 0),"
                               " coalesce((SELECT created_ms FROM outbox ORDER BY id LIMIT 1), 0),"
                               " coalesce(max(id), 0) FROM outbox"_s;
    return sql;
}

} // namespace

QByteArray outboxPayload(const polling::ReadingsBatch &batch)
{
    quint32 values = 0;
    return buildOutboxPayload(batch, &values);
}

// The queue between the producers (owner thread) and the writer, and the status both read.
struct Storage::Shared {
    struct MeterUpsert {
        MeterInfo meter;
        qint64 timestampMs = 0;
    };
    struct MeterRemoval {
        QString meterId;
        qint64 timestampMs = 0;
    };
    using Item
        = std::variant<polling::ReadingsBatch, monitor::MinuteRollup, Event, MeterUpsert, MeterRemoval>;

    // What the queue bounds, each on its own: readings, network_metrics rows, events. Meter
    // upserts and removals are one per configured meter change and stay unbounded.
    enum Kind : quint8 { Readings, MetricsRows, Events, KindCount };
    using Amounts = std::array<qint64, KindCount>;

    Shared(const StorageOptions &options)
        : limits {options.maxQueuedReadings, options.maxQueuedMetricsRows, options.maxQueuedEvents},
          wakeThreshold(options.maxTransactionRows), writeOutbox(options.writeOutbox)
    {
    }

    static qint64 readingsOf(const Item &item)
    {
        const auto *batch = std::get_if<polling::ReadingsBatch>(&item);
        return batch ? qint64(batch->readings.size()) : 0;
    }

    // How much of the bounded kinds one item holds.
    static Amounts amountsOf(const Item &item)
    {
        Amounts amounts {};
        if (const auto *batch = std::get_if<polling::ReadingsBatch>(&item))
            amounts[Readings] = qint64(batch->readings.size());
        else if (const auto *rollup = std::get_if<monitor::MinuteRollup>(&item))
            amounts[MetricsRows] = qint64(rollup->rows.size());
        else if (std::holds_alternative<Event>(item))
            amounts[Events] = 1;
        return amounts;
    }
    static Kind kindOf(const Item &item)
    {
        switch (item.index()) {
        case 0:
            return Readings;
        case 1:
            return MetricsRows;
        case 2:
            return Events;
        default:
            return KindCount;
        }
    }

    void addLocked(const Amounts &amounts, Amounts &to, qint64 sign)
    {
        for (size_t kind = 0; kind < KindCount; ++kind)
            to[kind] += sign * amounts[kind];
    }

    // Producer side. True when the writer should be woken (a full transaction waits and no wake
    // is pending yet).
    bool push(Item item)
    {
        const Amounts amounts = amountsOf(item);
        std::array<bool, KindCount> logDrop {};
        bool full = false;
        {
            QMutexLocker lock(&mutex);
            queue.push_back(std::move(item));
            addLocked(amounts, queued, 1);
            logDrop = enforceBoundsLocked();
            full = amounts[Readings] > 0 && queued[Readings] >= wakeThreshold;
        }
        logDropping(logDrop);
        return full && !wakePending.exchange(true);
    }

    // Writer side: items in call order, up to maxReadings readings (at least one item).
    std::vector<Item> take(qint64 maxReadings, qint64 *readings)
    {
        std::vector<Item> items;
        Amounts taken {};
        QMutexLocker lock(&mutex);
        while (!queue.empty() && (items.empty() || taken[Readings] < maxReadings)) {
            addLocked(amountsOf(queue.front()), taken, 1);
            items.push_back(std::move(queue.front()));
            queue.pop_front();
        }
        addLocked(taken, queued, -1);
        inflight = taken;
        *readings = taken[Readings];
        return items;
    }

    // A failed transaction's items go back to the front, in order.
    void putBack(std::vector<Item> items)
    {
        std::array<bool, KindCount> logDrop {};
        {
            QMutexLocker lock(&mutex);
            for (auto it = items.rbegin(); it != items.rend(); ++it) {
                addLocked(amountsOf(*it), queued, 1);
                queue.push_front(std::move(*it));
            }
            inflight = {};
            logDrop = enforceBoundsLocked();
        }
        logDropping(logDrop);
    }

    void committed()
    {
        QMutexLocker lock(&mutex);
        inflight = {};
        dropLogged = {};
    }

    // An item the database refused for good.
    void countDropped(const Item &item)
    {
        QMutexLocker lock(&mutex);
        const Amounts amounts = amountsOf(item);
        for (size_t kind = 0; kind < KindCount; ++kind)
            dropped[kind] += quint64(amounts[kind]);
    }

    // Empties the queue (shutdown); returns {items, readings} dropped.
    std::pair<qint64, qint64> discardAll()
    {
        QMutexLocker lock(&mutex);
        const auto result = std::pair {qint64(queue.size()), queued[Readings]};
        for (size_t kind = 0; kind < KindCount; ++kind)
            dropped[kind] += quint64(queued[kind]);
        queue.clear();
        queued = {};
        return result;
    }

    std::pair<qint64, qint64> queuedNow() const
    {
        QMutexLocker lock(&mutex);
        return {qint64(queue.size()), queued[Readings]};
    }

    // Per kind, the oldest items go first once queued + in flight exceeds its limit. Returns the
    // kinds for which this starts a dropping episode (logged once until a commit succeeds).
    std::array<bool, KindCount> enforceBoundsLocked()
    {
        std::array<bool, KindCount> started {};
        for (size_t kind = 0; kind < KindCount; ++kind) {
            if (queued[kind] + inflight[kind] <= limits[kind])
                continue;
            bool any = false;
            auto it = queue.begin();
            while (queued[kind] + inflight[kind] > limits[kind]) {
                it = std::find_if(it, queue.end(), [kind](const Item &item) { return kindOf(item) == kind; });
                if (it == queue.end())
                    break;
                const qint64 amount = amountsOf(*it)[kind];
                queued[kind] -= amount;
                dropped[kind] += quint64(amount);
                it = queue.erase(it);
                any = true;
            }
            if (any && !dropLogged[kind]) {
                dropLogged[kind] = true;
                started[kind] = true;
            }
        }
        return started;
    }

    void logDropping(const std::array<bool, KindCount> &started) const
    {
        static constexpr std::array<const char *, KindCount> names {
            "readings", "network_metrics rows", "events"};
        for (size_t kind = 0; kind < KindCount; ++kind) {
            if (started[kind])
                qCWarning(lcStorage, "in-memory queue over %lld %s while writes fail: dropping the oldest %s",
                    static_cast<long long>(limits[kind]), names[kind], names[kind]);
        }
    }

    mutable QMutex mutex;
    std::deque<Item> queue;
    Amounts queued {};
    Amounts inflight {}; // taken by the writer, not yet committed
    std::array<quint64, KindCount> dropped {};
    std::array<bool, KindCount> dropLogged {};
    const Amounts limits;
    const qint64 wakeThreshold;
    std::atomic<bool> wakePending {false};
    std::atomic<bool> writeOutbox; // StorageOptions::writeOutbox, then setWriteOutbox()

    // Outbox ids the broker acknowledged, deleted by the writer's next transaction (put back
    // in front when it fails). Apart from the main queue: the MQTT thread adds to it often.
    void addAcks(const std::vector<qint64> &ids)
    {
        QMutexLocker lock(&ackMutex);
        acks.insert(acks.end(), ids.begin(), ids.end());
    }
    std::vector<qint64> takeAcks()
    {
        QMutexLocker lock(&ackMutex);
        return std::exchange(acks, {});
    }
    void putBackAcks(std::vector<qint64> ids)
    {
        if (ids.empty())
            return;
        QMutexLocker lock(&ackMutex);
        ids.insert(ids.end(), acks.begin(), acks.end());
        acks = std::move(ids);
    }
    QMutex ackMutex;
    std::vector<qint64> acks;

    mutable QMutex statusMutex;
    StorageStatus status; // the queued and dropped figures come from the queue

    // The highest outbox id this Storage has seen or given (writer thread only; kept here so a
    // stop and start go on from it). Ids are given past it, never reused: left to SQLite, an
    // emptied table would start again at 1, under the publisher's read position, and a late
    // acknowledgement of an old id would delete a new, unpublished row.
    qint64 lastOutboxId = 0;
};

// Lives in the "db" thread: the only code that touches the writer's connection.
class Storage::Writer final : public QObject {
public:
    Writer(const StorageOptions &options, std::shared_ptr<Shared> shared, Storage *owner)
        : m_options(options), m_shared(std::move(shared)), m_owner(owner), m_maxPages(options.maxPageCount),
          m_retryDelayMs(options.retryInitialMs)
    {
    }
    ~Writer() override { closeConnection(); }

    void begin();
    void onWake();
    void flushNow();
    void setMaxPages(qint64 pages);
    void startRetention();
    bool finish(QDeadlineTimer deadline);

private:
    enum class Outcome : quint8 { Nothing, Written, Dropped, Failed };
    struct Counts {
        qint64 readings = 0;
        qint64 batches = 0;
        qint64 outboxRows = 0;
        qint64 metricsRows = 0;
        qint64 events = 0;
        qint64 lastOutboxId = 0;
        OutboxLevel outbox; // the level once this transaction commits
        qint64 outboxAcknowledged = 0;
        qint64 outboxDropped = 0;
    };
    struct Failure {
        QString message;
        SqliteFailure kind = SqliteFailure::None;
    };
    struct RetentionStep {
        int table = 0; // index into m_retentionQueries, or OutboxAgeStep
        qint64 cutoffMs = 0;
    };
    static constexpr int OutboxAgeStep = 3;

    qint64 now() const { return nowMs(m_options); }
    bool openConnection(QString *error);
    void closeConnection();
    void applyMaxPages();
    void writeSome();
    Outcome writeOnce();
    bool writeItem(const Shared::Item &item, Counts &counts, Failure &failure);
    bool writeBatch(const polling::ReadingsBatch &batch, Counts &counts, Failure &failure);
    bool writeRollup(const monitor::MinuteRollup &rollup, Counts &counts, Failure &failure);
    bool deleteAcknowledged(const std::vector<qint64> &ids, Counts &counts, Failure &failure);
    bool deleteReturning(
        QSqlQuery &query, QStringView what, OutboxLevel &level, qint64 *rows, Failure &failure);
    bool refreshOldest(OutboxLevel &level, Failure &failure);
    bool insertEvent(const Event &event, Failure &failure);
    bool countOutbox(QString *error);
    void publishOutbox(const Counts &counts);
    void checkOutboxSize();
    void outboxSizeStep();
    bool outboxAgeStep(qint64 cutoffMs, bool *more);
    bool commitOutboxStep(const Counts &counts, Failure &failure, QStringView what);
    Event outboxEvent(const QString &message) const;
    bool exec(QSqlQuery &query, QStringView what, Failure &failure);
    const QString &obisText(const dlms::Obis &obis);
    void failed(const Failure &failure);
    void succeeded(const Counts &counts, double durationMs);
    void retentionStep();
    void logOnce(const QString &message);
    void postStateChanged(StorageState state, const QString &message);

    StorageOptions m_options;
    std::shared_ptr<Shared> m_shared;
    Storage *m_owner;
    qint64 m_maxPages;
    qint64 m_defaultMaxPages = 0;
    int m_retryDelayMs;
    bool m_flushRequested = false;
    bool m_stopping = false;
    QString m_lastLogged;

    QString m_connectionName;
    QSqlDatabase m_db;
    std::optional<QSqlQuery> m_begin;
    std::optional<QSqlQuery> m_commit;
    std::optional<QSqlQuery> m_rollback;
    std::optional<QSqlQuery> m_insertReading;
    std::optional<QSqlQuery> m_insertOutbox;
    std::optional<QSqlQuery> m_insertMetrics;
    std::optional<QSqlQuery> m_insertEvent;
    std::optional<QSqlQuery> m_upsertMeter;
    std::optional<QSqlQuery> m_removeMeter;
    std::array<std::optional<QSqlQuery>, 3> m_retentionQueries;
    std::optional<QSqlQuery> m_ackOutbox;
    std::optional<QSqlQuery> m_outboxFirst;
    std::optional<QSqlQuery> m_outboxHead;
    std::optional<QSqlQuery> m_dropOutboxUpTo;
    std::optional<QSqlQuery> m_dropOutboxAged;

    // The outbox as committed (counted when the connection opens, then kept by every commit).
    OutboxLevel m_outbox;
    // Size bound: a pass deletes from the front down to 95 % of the cap, in chunks between
    // writes; the episode (from its first drop until the level is under the cap again) gets
    // one event and one warning, written when it ends.
    bool m_sizePassActive = false;
    bool m_sizeStepQueued = false;
    qint64 m_sizeEpisodeDropped = 0;
    // Age bound: an episode lasts while retention passes find rows too old; its event is written
    // at the end of its first pass.
    bool m_ageEpisode = false;
    qint64 m_agePassDropped = 0;

    QTimer *m_commitTimer = nullptr;
    QTimer *m_retentionTimer = nullptr;
    QTimer *m_retryTimer = nullptr;
    QTimer *m_moreTimer = nullptr;

    std::vector<RetentionStep> m_retentionPlan;
    size_t m_retentionNext = 0;
    qint64 m_retentionDeleted = 0;
    bool m_retentionRunning = false;

    QHash<dlms::Obis, QString> m_obisText;
    std::array<QString, 3> m_qualityText {polling::qualityName(polling::Quality::Good),
        polling::qualityName(polling::Quality::Failed), polling::qualityName(polling::Quality::Unscaled)};
};

void Storage::Writer::begin()
{
    auto makeTimer = [this](int intervalMs, bool singleShot) {
        auto *timer = new QTimer(this);
        timer->setInterval(intervalMs);
        timer->setSingleShot(singleShot);
        return timer;
    };
    m_commitTimer = makeTimer(m_options.commitIntervalMs, false);
    m_retentionTimer = makeTimer(m_options.retentionIntervalMs, false);
    m_retryTimer = makeTimer(m_options.retryInitialMs, true);
    m_moreTimer = makeTimer(0, true);
    connect(m_commitTimer, &QTimer::timeout, this, &Writer::writeSome);
    connect(m_retentionTimer, &QTimer::timeout, this, &Writer::startRetention);
    connect(m_retryTimer, &QTimer::timeout, this, &Writer::writeSome);
    connect(m_moreTimer, &QTimer::timeout, this, &Writer::writeSome);
    m_commitTimer->start();
    m_retentionTimer->start();

    QString error;
    if (!openConnection(&error)) {
        failed({error, SqliteFailure::ReadOnly});
        return;
    }
    checkOutboxSize();
    // What was queued before start waits for the tick like anything else, unless it already
    // fills a transaction (its wake found no writer then).
    m_shared->wakePending.store(false);
    if (m_shared->queuedNow().second >= m_options.maxTransactionRows)
        writeSome();
}

bool Storage::Writer::openConnection(QString *error)
{
    const QString name = makeConnectionName(u"writer");
    {
        auto opened = openDatabase(m_options.path, name, OpenOptions {});
        if (!opened) {
            *error = opened.error().message;
            return false;
        }
        m_db = opened.value();
    }
    m_connectionName = name;
    {
        QSqlQuery query(m_db);
        if (query.exec(u"PRAGMA max_page_count"_s) && query.next())
            m_defaultMaxPages = query.value(0).toLongLong();
    }
    applyMaxPages();

    auto prepare = [&](std::optional<QSqlQuery> &slot, const QString &sql, QStringView what) {
        slot.emplace(m_db);
        if (slot->prepare(sql))
            return true;
        *error = m_options.path + u": "_s + queryError(*slot, what);
        return false;
    };
    QString metricsNames = u"meter_id, timestamp, period_s"_s;
    QString metricsPlaceholders = u"?, ?, ?"_s;
    for (const detail::MetricsColumn &column : detail::metricsColumns()) {
        metricsNames += u", "_s + column.name;
        metricsPlaceholders += u", ?"_s;
    }
    static constexpr std::array<std::pair<QLatin1StringView, QLatin1StringView>, 3> retentionTables {{
        {QLatin1StringView("readings"), QLatin1StringView("ts")},
        {QLatin1StringView("network_metrics"), QLatin1StringView("timestamp")},
        {QLatin1StringView("events"), QLatin1StringView("ts")},
    }};
    bool ok = prepare(m_begin, u"BEGIN"_s, u"begin") && prepare(m_commit, u"COMMIT"_s, u"commit")
        && prepare(m_rollback, u"ROLLBACK"_s, u"rollback")
        && prepare(m_insertReading,
            u"INSERT INTO readings (meter_id, ts, key, obis, value, unit, quality) VALUES (?, ?, ?, ?, ?, ?, ?)"_s,
            u"readings.insert")
        && prepare(m_insertOutbox,
            u"INSERT INTO outbox (meter_id, ts, payload, created_ms, value_count, id) VALUES (?, ?, ?, ?, ?, ?)"_s,
            u"outbox.insert")
        && prepare(m_ackOutbox, u"DELETE FROM outbox WHERE id = ? RETURNING length(payload)"_s,
            u"outbox.acknowledge")
        && prepare(m_outboxFirst, u"SELECT created_ms FROM outbox ORDER BY id LIMIT 1"_s, u"outbox.oldest")
        && prepare(
            m_outboxHead, u"SELECT id, length(payload) FROM outbox ORDER BY id LIMIT ?"_s, u"outbox.head")
        && prepare(
            m_dropOutboxUpTo, u"DELETE FROM outbox WHERE id <= ? RETURNING length(payload)"_s, u"outbox.drop")
        // The front rows only: the age is the first row's, so a pass never scans the whole table.
        && prepare(m_dropOutboxAged,
            u"DELETE FROM outbox WHERE id IN (SELECT id FROM (SELECT id, created_ms FROM outbox ORDER BY id"
            " LIMIT ?) WHERE created_ms < ?) RETURNING length(payload)"_s,
            u"outbox.drop")
        && prepare(m_insertMetrics,
            u"INSERT INTO network_metrics ("_s + metricsNames + u") VALUES ("_s + metricsPlaceholders + u')',
            u"network_metrics.insert")
        && prepare(m_insertEvent,
            u"INSERT INTO events (ts, meter_id, kind, state, message) VALUES (?, ?, ?, ?, ?)"_s,
            u"events.insert")
        && prepare(m_upsertMeter,
            u"INSERT INTO meters (id, name, host, port, transport, first_seen_ms, updated_ms, removed_ms)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, NULL) ON CONFLICT(id) DO UPDATE SET name = excluded.name,"
            " host = excluded.host, port = excluded.port, transport = excluded.transport,"
            " updated_ms = excluded.updated_ms, removed_ms = NULL"_s,
            u"meters.upsert")
        && prepare(m_removeMeter, u"UPDATE meters SET removed_ms = ?, updated_ms = ? WHERE id = ?"_s,
            u"meters.remove");
    for (size_t i = 0; ok && i < retentionTables.size(); ++i) {
        const auto &[table, column] = retentionTables[i];
        // Ordered by the time index: a chunk costs the same whether or not old rows exist.
        ok = prepare(m_retentionQueries[i],
            u"DELETE FROM %1 WHERE id IN (SELECT id FROM %1 WHERE %2 < ? ORDER BY %2 LIMIT ?)"_s.arg(
                table, column),
            u"retention");
    }
    ok = ok && countOutbox(error);
    if (!ok)
        closeConnection();
    return ok;
}

bool Storage::Writer::countOutbox(QString *error)
{
    QSqlQuery query(m_db);
    query.setForwardOnly(true);
    if (!query.exec(outboxLevelSql()) || !query.next()) {
        *error = m_options.path + u": "_s + queryError(query, u"outbox.count");
        return false;
    }
    m_outbox.rows = query.value(0).toLongLong();
    m_outbox.bytes = query.value(1).toLongLong();
    m_outbox.oldestCreatedMs = query.value(2).toLongLong();
    m_shared->lastOutboxId = std::max(m_shared->lastOutboxId, query.value(3).toLongLong());
    QMutexLocker lock(&m_shared->statusMutex);
    m_shared->status.outbox = m_outbox;
    return true;
}

void Storage::Writer::closeConnection()
{
    for (auto *slot : {&m_begin, &m_commit, &m_rollback, &m_insertReading, &m_insertOutbox, &m_insertMetrics,
             &m_insertEvent, &m_upsertMeter, &m_removeMeter, &m_ackOutbox, &m_outboxFirst, &m_outboxHead,
             &m_dropOutboxUpTo, &m_dropOutboxAged})
        slot->reset();
    for (auto &slot : m_retentionQueries)
        slot.reset();
    m_db = QSqlDatabase();
    if (!m_connectionName.isEmpty()) {
        closeDatabase(m_connectionName);
        m_connectionName.clear();
    }
}

void Storage::Writer::applyMaxPages()
{
    const qint64 pages = m_maxPages > 0 ? m_maxPages : m_defaultMaxPages;
    if (pages <= 0 || !m_db.isOpen())
        return;
    // PRAGMA takes no bound parameters; the number is ours.
    QSqlQuery query(m_db);
    if (!query.exec(u"PRAGMA max_page_count = "_s + QString::number(pages)))
        logOnce(queryError(query, u"max_page_count"));
}

void Storage::Writer::setMaxPages(qint64 pages)
{
    m_maxPages = pages;
    applyMaxPages();
    // The cap may have been why writes failed: try now rather than after the backoff.
    if (m_retryTimer->isActive()) {
        m_retryTimer->stop();
        writeSome();
    }
}

void Storage::Writer::onWake()
{
    // A wake says a full transaction waited when it was posted; an earlier pass may have taken it.
    m_shared->wakePending.store(false);
    if (m_shared->queuedNow().second >= m_options.maxTransactionRows)
        writeSome();
}

void Storage::Writer::flushNow()
{
    m_flushRequested = true;
    m_retryTimer->stop();
    writeSome();
}

void Storage::Writer::writeSome()
{
    if (m_stopping || m_retryTimer->isActive())
        return;
    m_shared->wakePending.store(false);
    const Outcome outcome = writeOnce();
    if (outcome == Outcome::Failed)
        return;
    const auto [items, readings] = m_shared->queuedNow();
    if (items == 0) {
        m_flushRequested = false;
        return;
    }
    // More now only when a full transaction waits (or a flush asked for all); else next tick.
    if (outcome == Outcome::Dropped || m_flushRequested || readings >= m_options.maxTransactionRows)
        m_moreTimer->start();
}

bool Storage::Writer::exec(QSqlQuery &query, QStringView what, Failure &failure)
{
    if (query.exec())
        return true;
    failure.kind = classifySqliteError(query.lastError());
    failure.message = queryError(query, what);
    return false;
}

const QString &Storage::Writer::obisText(const dlms::Obis &obis)
{
    auto it = m_obisText.constFind(obis);
    if (it != m_obisText.cend())
        return *it;
    if (m_obisText.size() > 4096)
        m_obisText.clear();
    return *m_obisText.insert(obis, obis.toString());
}

bool Storage::Writer::writeBatch(const polling::ReadingsBatch &batch, Counts &counts, Failure &failure)
{
    QSqlQuery &insert = *m_insertReading;
    // Bound values persist across exec(): the batch's meter and time are bound once.
    insert.bindValue(0, text(batch.meterId));
    insert.bindValue(1, batch.timestampMs);
    for (const polling::Reading &reading : batch.readings) {
        insert.bindValue(2, text(reading.key));
        insert.bindValue(3, obisText(reading.obis));
        insert.bindValue(4, sqlValue(reading));
        insert.bindValue(5, text(reading.unit));
        const auto quality = size_t(reading.quality);
        insert.bindValue(6,
            quality < m_qualityText.size() ? m_qualityText[quality] : polling::qualityName(reading.quality));
        if (!exec(insert, u"readings.insert", failure))
            return false;
    }
    counts.readings += qint64(batch.readings.size());
    ++counts.batches;
    if (!m_shared->writeOutbox.load(std::memory_order_relaxed))
        return true;
    quint32 values = 0;
    const QByteArray payload = buildOutboxPayload(batch, &values);
    if (payload.isEmpty())
        return true;
    const qint64 createdMs = now();
    QSqlQuery &outbox = *m_insertOutbox;
    outbox.bindValue(0, text(batch.meterId));
    outbox.bindValue(1, batch.timestampMs);
    outbox.bindValue(2, payload);
    outbox.bindValue(3, createdMs);
    outbox.bindValue(4, qint64(values));
    const qint64 id = ++m_shared->lastOutboxId; // taken back when the transaction rolls back
    outbox.bindValue(5, id);
    if (!exec(outbox, u"outbox.insert", failure))
        return false;
    ++counts.outboxRows;
    counts.lastOutboxId = id;
    if (counts.outbox.rows == 0)
        counts.outbox.oldestCreatedMs = createdMs;
    ++counts.outbox.rows;
    counts.outbox.bytes += payload.size();
    return true;
}

bool Storage::Writer::deleteReturning(
    QSqlQuery &query, QStringView what, OutboxLevel &level, qint64 *rows, Failure &failure)
{
    if (!exec(query, what, failure))
        return false;
    qint64 deleted = 0;
    qint64 bytes = 0;
    // RETURNING reports exactly the rows deleted: an id already gone counts nothing.
    while (query.next()) {
        ++deleted;
        bytes += query.value(0).toLongLong();
    }
    const bool ok = !query.lastError().isValid();
    if (!ok) {
        failure.kind = classifySqliteError(query.lastError());
        failure.message = queryError(query, what);
    }
    query.finish();
    if (!ok)
        return false;
    level.rows -= deleted;
    level.bytes -= bytes;
    *rows += deleted;
    return true;
}

bool Storage::Writer::deleteAcknowledged(const std::vector<qint64> &ids, Counts &counts, Failure &failure)
{
    if (ids.empty())
        return true;
    QSqlQuery &remove = *m_ackOutbox;
    qint64 deleted = 0;
    for (const qint64 id : ids) {
        remove.bindValue(0, id);
        if (!deleteReturning(remove, u"outbox.acknowledge", counts.outbox, &deleted, failure))
            return false;
    }
    counts.outboxAcknowledged += deleted;
    return deleted == 0 || refreshOldest(counts.outbox, failure);
}

bool Storage::Writer::refreshOldest(OutboxLevel &level, Failure &failure)
{
    if (level.rows <= 0) {
        level = {};
        return true;
    }
    QSqlQuery &first = *m_outboxFirst;
    if (!exec(first, u"outbox.oldest", failure))
        return false;
    level.oldestCreatedMs = first.next() ? first.value(0).toLongLong() : 0;
    first.finish();
    return true;
}

bool Storage::Writer::insertEvent(const Event &event, Failure &failure)
{
    QSqlQuery &insert = *m_insertEvent;
    insert.bindValue(0, event.timestampMs);
    insert.bindValue(1, event.meterId.isEmpty() ? QVariant() : QVariant(event.meterId));
    insert.bindValue(2, text(event.kind));
    insert.bindValue(3, text(event.state));
    insert.bindValue(4, text(event.message));
    return exec(insert, u"events.insert", failure);
}

bool Storage::Writer::writeRollup(const monitor::MinuteRollup &rollup, Counts &counts, Failure &failure)
{
    QSqlQuery &insert = *m_insertMetrics;
    const auto &columns = detail::metricsColumns();
    for (const monitor::MetricsRow &row : rollup.rows) {
        insert.bindValue(0, text(row.meterId));
        insert.bindValue(1, row.timestampMs);
        insert.bindValue(2, row.periodS);
        int index = 3;
        for (const detail::MetricsColumn &column : columns) {
            detail::visitColumn(column, row, [&insert, &index](const auto &value) {
                if constexpr (std::is_same_v<std::decay_t<decltype(value)>, quint64>)
                    insert.bindValue(index++, count(value));
                else
                    insert.bindValue(index++, value);
            });
        }
        if (!exec(insert, u"network_metrics.insert", failure))
            return false;
        ++counts.metricsRows;
    }
    return true;
}

bool Storage::Writer::writeItem(const Shared::Item &item, Counts &counts, Failure &failure)
{
    if (const auto *batch = std::get_if<polling::ReadingsBatch>(&item))
        return writeBatch(*batch, counts, failure);
    if (const auto *rollup = std::get_if<monitor::MinuteRollup>(&item))
        return writeRollup(*rollup, counts, failure);
    if (const auto *event = std::get_if<Event>(&item)) {
        if (!insertEvent(*event, failure))
            return false;
        ++counts.events;
        return true;
    }
    if (const auto *upsert = std::get_if<Shared::MeterUpsert>(&item)) {
        const MeterInfo &meter = upsert->meter;
        QSqlQuery &query = *m_upsertMeter;
        query.bindValue(0, text(meter.id));
        query.bindValue(1, text(meter.name));
        query.bindValue(2, text(meter.host));
        query.bindValue(3, int(meter.port));
        query.bindValue(4, text(meter.transport));
        query.bindValue(5, upsert->timestampMs);
        query.bindValue(6, upsert->timestampMs);
        return exec(query, u"meters.upsert", failure);
    }
    const auto &removal = std::get<Shared::MeterRemoval>(item);
    QSqlQuery &query = *m_removeMeter;
    query.bindValue(0, removal.timestampMs);
    query.bindValue(1, removal.timestampMs);
    query.bindValue(2, text(removal.meterId));
    return exec(query, u"meters.remove", failure);
}

Storage::Writer::Outcome Storage::Writer::writeOnce()
{
    if (!m_db.isOpen()) {
        QString error;
        if (!openConnection(&error)) {
            failed({error, SqliteFailure::ReadOnly});
            return Outcome::Failed;
        }
    }
    qint64 readings = 0;
    std::vector<qint64> acks = m_shared->takeAcks();
    std::vector<Shared::Item> items = m_shared->take(m_options.maxTransactionRows, &readings);
    if (items.empty() && acks.empty())
        return Outcome::Nothing;

    QElapsedTimer timer;
    timer.start();
    Counts counts;
    counts.outbox = m_outbox;
    const qint64 lastOutboxId = m_shared->lastOutboxId;
    Failure failure;
    qsizetype failedItem = -1;
    if (exec(*m_begin, u"begin", failure) && deleteAcknowledged(acks, counts, failure)) {
        for (size_t i = 0; i < items.size(); ++i) {
            if (!writeItem(items[i], counts, failure)) {
                failedItem = qsizetype(i);
                break;
            }
        }
        if (failedItem < 0)
            exec(*m_commit, u"commit", failure);
    }
    if (failure.message.isEmpty()) {
        m_shared->committed();
        succeeded(counts, double(timer.nsecsElapsed()) / 1e6);
        return Outcome::Written;
    }

    Failure ignored;
    exec(*m_rollback, u"rollback", ignored); // fails harmlessly when SQLite already rolled back
    m_shared->putBackAcks(std::move(acks));
    // Ids of rows that never existed: nobody saw them, they may be given again.
    m_shared->lastOutboxId = lastOutboxId;
    if (failedItem >= 0 && failure.kind == SqliteFailure::Data) {
        // Retrying this item can never succeed; the others must not wait behind it forever.
        qCWarning(lcStorage).noquote()
            << m_options.path + u": dropping an item the database refuses: "_s + failure.message;
        m_shared->countDropped(items[size_t(failedItem)]);
        items.erase(items.begin() + failedItem);
        m_shared->putBack(std::move(items));
        QMutexLocker lock(&m_shared->statusMutex);
        ++m_shared->status.writeErrors;
        return Outcome::Dropped;
    }
    m_shared->putBack(std::move(items));
    failure.message = u"%1: %2: %3"_s.arg(m_options.path, sqliteFailureHint(failure.kind), failure.message);
    failed(failure);
    return Outcome::Failed;
}

void Storage::Writer::failed(const Failure &failure)
{
    if (needsReopen(failure.kind))
        closeConnection();
    bool changed = false;
    {
        QMutexLocker lock(&m_shared->statusMutex);
        StorageStatus &status = m_shared->status;
        ++status.writeErrors;
        changed = status.state != StorageState::Failing || status.message != failure.message;
        status.state = StorageState::Failing;
        status.message = failure.message;
    }
    logOnce(failure.message);
    if (changed)
        postStateChanged(StorageState::Failing, failure.message);
    // Producers need not wake a writer that is backing off; the retry looks at the queue.
    m_shared->wakePending.store(true);
    m_retryTimer->start(m_retryDelayMs);
    m_retryDelayMs = int(std::min<qint64>(qint64(m_retryDelayMs) * 2, m_options.retryMaxMs));
}

void Storage::Writer::succeeded(const Counts &counts, double durationMs)
{
    m_retryDelayMs = m_options.retryInitialMs;
    m_outbox = counts.outbox;
    bool recovered = false;
    {
        QMutexLocker lock(&m_shared->statusMutex);
        StorageStatus &status = m_shared->status;
        status.readingsWritten += quint64(counts.readings);
        status.batchesWritten += quint64(counts.batches);
        status.outboxRowsWritten += quint64(counts.outboxRows);
        status.metricsRowsWritten += quint64(counts.metricsRows);
        status.eventsWritten += quint64(counts.events);
        status.outbox = m_outbox;
        status.outboxAcknowledgedRows += quint64(counts.outboxAcknowledged);
        status.outboxDroppedRows += quint64(counts.outboxDropped);
        ++status.transactions;
        status.lastCommitMs = now();
        status.lastCommitDurationMs = durationMs;
        recovered = status.state != StorageState::Ok;
        status.state = StorageState::Ok;
        status.message.clear();
    }
    if (recovered) {
        qCInfo(lcStorage).noquote() << m_options.path + u": writes succeed again"_s;
        m_lastLogged.clear();
        postStateChanged(StorageState::Ok, {});
    }
    QMetaObject::invokeMethod(
        m_owner,
        [owner = m_owner, readings = counts.readings, id = counts.lastOutboxId] {
            Q_EMIT owner->committed(readings, id);
        },
        Qt::QueuedConnection);
    checkOutboxSize();
}

void Storage::Writer::postStateChanged(StorageState state, const QString &message)
{
    QMetaObject::invokeMethod(
        m_owner, [owner = m_owner, state, message] { Q_EMIT owner->stateChanged(state, message); },
        Qt::QueuedConnection);
}

void Storage::Writer::logOnce(const QString &message)
{
    if (message == m_lastLogged)
        return;
    m_lastLogged = message;
    qCWarning(lcStorage).noquote() << message;
}

void Storage::Writer::startRetention()
{
    if (m_stopping || m_retentionRunning)
        return;
    const qint64 nowMs = now();
    m_retentionPlan.clear();
    const std::array<int, 3> days {
        m_options.readingsRetentionDays, m_options.metricsRetentionDays, m_options.eventsRetentionDays};
    for (int table = 0; table < int(days.size()); ++table) {
        if (days[size_t(table)] > 0)
            m_retentionPlan.push_back({table, nowMs - qint64(days[size_t(table)]) * MsPerDay});
    }
    if (m_options.maxOutboxAgeHours > 0)
        m_retentionPlan.push_back({OutboxAgeStep, nowMs - qint64(m_options.maxOutboxAgeHours) * 3'600'000});
    if (m_retentionPlan.empty())
        return;
    m_retentionRunning = true;
    m_retentionNext = 0;
    m_retentionDeleted = 0;
    retentionStep();
}

void Storage::Writer::retentionStep()
{
    if (!m_retentionRunning || m_stopping)
        return;
    // While writes fail, deleting would fail too: the next interval tries again.
    if (!m_db.isOpen() || m_retryTimer->isActive()) {
        m_retentionRunning = false;
        return;
    }
    const RetentionStep &step = m_retentionPlan[m_retentionNext];
    if (step.table == OutboxAgeStep) {
        bool more = false;
        if (!outboxAgeStep(step.cutoffMs, &more)) {
            m_retentionRunning = false;
            return;
        }
        if (!more)
            ++m_retentionNext;
    } else {
        QSqlQuery &remove = *m_retentionQueries[size_t(step.table)];
        remove.bindValue(0, step.cutoffMs);
        remove.bindValue(1, m_options.retentionChunkRows);
        Failure failure;
        qint64 deleted = 0;
        if (exec(*m_begin, u"begin", failure) && exec(remove, u"retention", failure)) {
            deleted = remove.numRowsAffected();
            remove.finish();
            exec(*m_commit, u"commit", failure);
        }
        if (!failure.message.isEmpty()) {
            Failure ignored;
            exec(*m_rollback, u"rollback", ignored);
            logOnce(m_options.path + u": retention: "_s + failure.message);
            m_retentionRunning = false;
            return;
        }
        m_retentionDeleted += deleted;
        {
            QMutexLocker lock(&m_shared->statusMutex);
            m_shared->status.retentionDeletedRows += quint64(deleted);
        }
        if (deleted < m_options.retentionChunkRows)
            ++m_retentionNext;
    }
    if (m_retentionNext >= m_retentionPlan.size()) {
        m_retentionRunning = false;
        if (m_retentionDeleted > 0)
            qCInfo(lcStorage, "retention deleted %lld rows", static_cast<long long>(m_retentionDeleted));
        return;
    }
    // Queued writes get their turn between chunks.
    QTimer::singleShot(0, this, &Writer::retentionStep);
}

Event Storage::Writer::outboxEvent(const QString &message) const
{
    Event event;
    event.timestampMs = now();
    event.kind = u"outbox"_s;
    event.message = message;
    return event;
}

// Commits an outbox bound's chunk (its transaction begun by the caller) and publishes the level;
// on failure rolls back, changes nothing and logs (the bound is looked at again later).
bool Storage::Writer::commitOutboxStep(const Counts &counts, Failure &failure, QStringView what)
{
    if (failure.message.isEmpty() && exec(*m_commit, u"commit", failure)) {
        publishOutbox(counts);
        return true;
    }
    Failure ignored;
    exec(*m_rollback, u"rollback", ignored);
    logOnce(m_options.path + u": "_s + what + u": "_s + failure.message);
    return false;
}

void Storage::Writer::publishOutbox(const Counts &counts)
{
    m_outbox = counts.outbox;
    QMutexLocker lock(&m_shared->statusMutex);
    StorageStatus &status = m_shared->status;
    status.outbox = m_outbox;
    status.outboxDroppedRows += quint64(counts.outboxDropped);
    status.eventsWritten += quint64(counts.events);
}

// After a commit (and at open): a level over the cap starts a pass; an episode still open (its
// pass cut short by a failure) is closed by the next step even when acknowledgements brought
// the level down meanwhile.
void Storage::Writer::checkOutboxSize()
{
    if (m_stopping || m_options.maxOutboxBytes <= 0)
        return;
    if (m_outbox.bytes > m_options.maxOutboxBytes)
        m_sizePassActive = true;
    if ((m_sizePassActive || m_sizeEpisodeDropped > 0) && !m_sizeStepQueued) {
        m_sizeStepQueued = true;
        QTimer::singleShot(0, this, &Writer::outboxSizeStep);
    }
}

void Storage::Writer::outboxSizeStep()
{
    m_sizeStepQueued = false;
    // While writes fail, deleting would fail too: the next successful commit comes back here.
    if (m_stopping || !m_db.isOpen() || m_retryTimer->isActive())
        return;
    const qint64 cap = m_options.maxOutboxBytes;
    const qint64 target = cap - cap / 20; // 95 %: room for a while before the next pass
    const bool trimming = m_sizePassActive && m_outbox.bytes > target;
    if (!trimming && m_sizeEpisodeDropped == 0) {
        m_sizePassActive = false;
        return;
    }

    Counts counts;
    counts.outbox = m_outbox;
    Failure failure;
    bool exhausted = false; // no row left to drop (cannot happen while the level is exact)
    if (exec(*m_begin, u"begin", failure) && trimming) {
        // The fewest front rows that bring the level down to the target, a chunk at most.
        QSqlQuery &head = *m_outboxHead;
        head.bindValue(0, m_options.retentionChunkRows);
        qint64 lastId = -1;
        if (exec(head, u"outbox.head", failure)) {
            const qint64 excess = counts.outbox.bytes - target;
            qint64 freed = 0;
            while (freed < excess && head.next()) {
                lastId = head.value(0).toLongLong();
                freed += head.value(1).toLongLong();
            }
            if (head.lastError().isValid()) {
                failure.kind = classifySqliteError(head.lastError());
                failure.message = queryError(head, u"outbox.head");
            }
            head.finish();
        }
        exhausted = failure.message.isEmpty() && lastId < 0;
        if (failure.message.isEmpty() && lastId >= 0) {
            m_dropOutboxUpTo->bindValue(0, lastId);
            if (deleteReturning(
                    *m_dropOutboxUpTo, u"outbox.drop", counts.outbox, &counts.outboxDropped, failure))
                refreshOldest(counts.outbox, failure);
        }
    }
    const bool passDone = exhausted || counts.outbox.bytes <= target;
    const qint64 episode = m_sizeEpisodeDropped + counts.outboxDropped;
    const bool episodeEnds = passDone && counts.outbox.bytes <= cap && episode > 0;
    const QString message = droppedText(u"over "_s + byteSize(cap), episode);
    if (failure.message.isEmpty() && episodeEnds && insertEvent(outboxEvent(message), failure))
        counts.events = 1;
    if (!commitOutboxStep(counts, failure, u"outbox size bound"))
        return;

    m_sizeEpisodeDropped = episode;
    if (episodeEnds) {
        qCWarning(lcStorage).noquote() << m_options.path + u": "_s + message;
        m_sizeEpisodeDropped = 0;
    }
    if (passDone) {
        m_sizePassActive = false;
        return;
    }
    // Queued writes get their turn between chunks.
    m_sizeStepQueued = true;
    QTimer::singleShot(0, this, &Writer::outboxSizeStep);
}

// One chunk of the age bound, from the front of the outbox. False on failure; *more while the
// first row is still too old.
bool Storage::Writer::outboxAgeStep(qint64 cutoffMs, bool *more)
{
    *more = false;
    if (m_outbox.rows == 0 || m_outbox.oldestCreatedMs >= cutoffMs) {
        // A pass with nothing too old ends the episode.
        m_ageEpisode = false;
        return true;
    }
    Counts counts;
    counts.outbox = m_outbox;
    Failure failure;
    QSqlQuery &drop = *m_dropOutboxAged;
    drop.bindValue(0, m_options.retentionChunkRows);
    drop.bindValue(1, cutoffMs);
    if (exec(*m_begin, u"begin", failure)
        && deleteReturning(drop, u"outbox.drop", counts.outbox, &counts.outboxDropped, failure))
        refreshOldest(counts.outbox, failure);
    const bool pending
        = counts.outboxDropped > 0 && counts.outbox.rows > 0 && counts.outbox.oldestCreatedMs < cutoffMs;
    const qint64 passDropped = m_agePassDropped + counts.outboxDropped;
    const bool writeEvent = !pending && !m_ageEpisode && passDropped > 0;
    const QString message
        = droppedText(u"rows older than "_s + ageText(m_options.maxOutboxAgeHours), passDropped);
    if (failure.message.isEmpty() && writeEvent && insertEvent(outboxEvent(message), failure))
        counts.events = 1;
    if (!commitOutboxStep(counts, failure, u"outbox age bound"))
        return false;

    if (pending) {
        m_agePassDropped = passDropped;
        *more = true;
        return true;
    }
    m_agePassDropped = 0;
    if (writeEvent) {
        qCWarning(lcStorage).noquote() << m_options.path + u": "_s + message;
        m_ageEpisode = true;
    }
    return true;
}

bool Storage::Writer::finish(QDeadlineTimer deadline)
{
    m_stopping = true;
    m_retentionRunning = false;
    // A bound's episode cut short by the stop still gets its event, with the last writes.
    const std::array<std::pair<qint64, QString>, 2> openEpisodes {{
        {m_sizeEpisodeDropped, u"over "_s + byteSize(m_options.maxOutboxBytes)},
        {m_ageEpisode ? 0 : m_agePassDropped, u"rows older than "_s + ageText(m_options.maxOutboxAgeHours)},
    }};
    for (const auto &[dropped, why] : openEpisodes) {
        if (dropped <= 0)
            continue;
        const QString message = droppedText(why, dropped);
        qCWarning(lcStorage).noquote() << m_options.path + u": "_s + message;
        m_shared->push(outboxEvent(message));
    }
    for (QTimer *timer : {m_commitTimer, m_retentionTimer, m_retryTimer, m_moreTimer}) {
        if (timer)
            timer->stop();
    }
    // One last attempt; a failure that needs a fresh connection gets one more.
    int failures = 0;
    while (!deadline.hasExpired()) {
        const Outcome outcome = writeOnce();
        if (outcome == Outcome::Nothing)
            break;
        if (outcome == Outcome::Failed && ++failures >= 2)
            break;
    }
    if (m_retryTimer)
        m_retryTimer->stop();
    closeConnection();
    const auto [items, readings] = m_shared->discardAll();
    if (items == 0)
        return true;
    qCWarning(lcStorage, "%s: stopped with %lld items unwritten (%lld readings): dropped",
        qUtf8Printable(m_options.path), static_cast<long long>(items), static_cast<long long>(readings));
    return false;
}

Storage::Storage(StorageOptions options, QObject *parent) : QObject(parent), m_options(std::move(options))
{
    m_options.commitIntervalMs = std::max(1, m_options.commitIntervalMs);
    m_options.maxTransactionRows = std::max(1, m_options.maxTransactionRows);
    m_options.maxQueuedReadings = std::max<qint64>(0, m_options.maxQueuedReadings);
    m_options.maxQueuedMetricsRows = std::max<qint64>(0, m_options.maxQueuedMetricsRows);
    m_options.maxQueuedEvents = std::max<qint64>(0, m_options.maxQueuedEvents);
    m_options.retryInitialMs = std::max(1, m_options.retryInitialMs);
    m_options.retryMaxMs = std::max(m_options.retryInitialMs, m_options.retryMaxMs);
    m_options.retentionIntervalMs = std::max(1, m_options.retentionIntervalMs);
    m_options.retentionChunkRows = std::max(1, m_options.retentionChunkRows);
    m_shared = std::make_shared<Shared>(m_options);
}

Storage::~Storage()
{
    if (m_thread) {
        stop();
        return;
    }
    const auto [items, readings] = m_shared->discardAll();
    if (items > 0)
        qCWarning(lcStorage, "%s: destroyed with %lld items never written (%lld readings)",
            qUtf8Printable(m_options.path), static_cast<long long>(items), static_cast<long long>(readings));
}

dlms::Result<void> Storage::start()
{
    if (m_thread)
        return {};
    // Fail here, with the reason, rather than later in the writer thread.
    const QString checkName = makeConnectionName(u"check");
    {
        const auto opened = openDatabase(m_options.path, checkName, OpenOptions {});
        if (!opened)
            return opened.error();
    }
    closeDatabase(checkName);

    {
        QMutexLocker lock(&m_shared->statusMutex);
        m_shared->status.state = StorageState::Ok;
        m_shared->status.message.clear();
    }
    m_thread = new QThread(this);
    m_thread->setObjectName(u"db"_s);
    m_writer = new Writer(m_options, m_shared, this);
    m_writer->moveToThread(m_thread);
    connect(m_thread, &QThread::finished, m_writer, &QObject::deleteLater);
    QMetaObject::invokeMethod(
        m_writer, [writer = m_writer] { writer->begin(); }, Qt::QueuedConnection);
    m_thread->start();
    Q_EMIT stateChanged(StorageState::Ok, {});
    return {};
}

bool Storage::stop(int timeoutMs)
{
    if (!m_thread)
        return true;
    bool written = false;
    const QDeadlineTimer deadline(std::max(0, timeoutMs));
    QMetaObject::invokeMethod(
        m_writer, [writer = m_writer, deadline, &written] { written = writer->finish(deadline); },
        Qt::BlockingQueuedConnection);
    m_thread->quit();
    m_thread->wait();
    delete m_thread;
    m_thread = nullptr;
    m_writer = nullptr; // deleted in its thread when it finished
    // What the writer posted (its last commits) comes before "stopped".
    QCoreApplication::sendPostedEvents(this, QEvent::MetaCall);
    {
        QMutexLocker lock(&m_shared->statusMutex);
        m_shared->status.state = StorageState::Stopped;
        m_shared->status.message.clear();
    }
    Q_EMIT stateChanged(StorageState::Stopped, {});
    return written;
}

bool Storage::isRunning() const
{
    return m_thread != nullptr;
}

void Storage::wakeWriter()
{
    if (m_writer)
        QMetaObject::invokeMethod(
            m_writer, [writer = m_writer] { writer->onWake(); }, Qt::QueuedConnection);
}

void Storage::writeReadings(const polling::ReadingsBatch &batch)
{
    if (m_shared->push(batch))
        wakeWriter();
}

void Storage::writeRollup(const monitor::MinuteRollup &rollup)
{
    m_shared->push(rollup);
}

void Storage::writeEvent(const storage::Event &event)
{
    Event stamped = event;
    if (stamped.timestampMs == 0)
        stamped.timestampMs = nowMs(m_options);
    m_shared->push(std::move(stamped));
}

void Storage::upsertMeter(const storage::MeterInfo &meter)
{
    m_shared->push(Shared::MeterUpsert {meter, nowMs(m_options)});
}

void Storage::markMeterRemoved(const QString &meterId)
{
    m_shared->push(Shared::MeterRemoval {meterId, nowMs(m_options)});
}

void Storage::acknowledgeOutbox(const std::vector<qint64> &ids)
{
    if (!ids.empty())
        m_shared->addAcks(ids);
}

void Storage::flush()
{
    if (m_writer)
        QMetaObject::invokeMethod(
            m_writer, [writer = m_writer] { writer->flushNow(); }, Qt::QueuedConnection);
}

void Storage::runRetention()
{
    if (m_writer)
        QMetaObject::invokeMethod(
            m_writer, [writer = m_writer] { writer->startRetention(); }, Qt::QueuedConnection);
}

void Storage::setMaxPageCount(qint64 pages)
{
    m_options.maxPageCount = pages;
    if (m_writer)
        QMetaObject::invokeMethod(
            m_writer, [writer = m_writer, pages] { writer->setMaxPages(pages); }, Qt::QueuedConnection);
}

void Storage::setWriteOutbox(bool on)
{
    m_options.writeOutbox = on;
    m_shared->writeOutbox.store(on, std::memory_order_relaxed);
}

StorageStatus Storage::status() const
{
    StorageStatus status;
    {
        QMutexLocker lock(&m_shared->statusMutex);
        status = m_shared->status;
    }
    QMutexLocker lock(&m_shared->mutex);
    status.queuedReadings = m_shared->queued[Shared::Readings] + m_shared->inflight[Shared::Readings];
    status.droppedReadings = m_shared->dropped[Shared::Readings];
    status.droppedMetricsRows = m_shared->dropped[Shared::MetricsRows];
    status.droppedEvents = m_shared->dropped[Shared::Events];
    return status;
}

} // namespace storage
