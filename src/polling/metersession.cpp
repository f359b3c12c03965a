#include "metersession.h"

#include "backoff.h"

#include <valuetext.h>

#include <QtCore/QDateTime>
#include <QtCore/QMetaMethod>
#include <QtCore/QPointer>
#include <QtCore/QTimer>

#include <algorithm>
#include <chrono>
#include <limits>

using namespace Qt::StringLiterals;

namespace polling {

namespace {

// Samples kept between two takeTraffic() calls; past this the counters stay exact but the
// percentiles of an owner that never collects stop growing its memory.
constexpr size_t MaxSamples = size_t(1) << 16;

using State = DlmsConnection::State;

quint32 micros(qint64 ns)
{
    return quint32(std::clamp<qint64>(ns / 1000, 0, std::numeric_limits<quint32>::max()));
}

// "300" for long whole waits, "2.0" for seconds, "0.3" or "0.05" below one second.
QString secondsText(int ms)
{
    if (ms < 1000)
        return QString::number(ms / 1000.0, 'f', ms % 100 == 0 ? 1 : 2);
    return QString::number(ms / 1000.0, 'f', ms >= 10000 && ms % 1000 == 0 ? 0 : 1);
}

// Answers that will not change by asking again: the scaler_unit is not read again on this
// association.
bool isPermanent(dlms::DataAccessResult result)
{
    return result == dlms::DataAccessResult::ObjectUndefined
        || result == dlms::DataAccessResult::ReadWriteDenied
        || result == dlms::DataAccessResult::ScopeOfAccessViolated;
}

} // namespace

qint64 steadyNowNs()
{
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
        std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

MeterSession::MeterSession(MeterConfig config, quint32 seed, QObject *parent)
    : QObject(parent), m_config(std::move(config)), m_random(seed)
{
    m_connection = new DlmsConnection(connectionOptions(), this);
    m_backoffTimer = new QTimer(this);
    m_backoffTimer->setSingleShot(true);
    m_rateTimer = new QTimer(this);
    m_rateTimer->setSingleShot(true);
    // The rate cap is a lower bound on spacing: a coarse timer could fire early.
    m_rateTimer->setTimerType(Qt::PreciseTimer);
    connect(m_backoffTimer, &QTimer::timeout, this, &MeterSession::onBackoffTimer);
    connect(m_rateTimer, &QTimer::timeout, this, &MeterSession::sendNext);
    connect(m_connection, &DlmsConnection::stateChanged, this, &MeterSession::onConnectionState);
    connect(m_connection, &DlmsConnection::associated, this, &MeterSession::onAssociated);
    connect(m_connection, &DlmsConnection::responseReceived, this, &MeterSession::onResponse);
    connect(m_connection, &DlmsConnection::failed, this, &MeterSession::onFailed);
    connect(m_connection, &DlmsConnection::resynchronizing, this, &MeterSession::onResynchronizing);
    connect(m_connection, &DlmsConnection::closed, this, &MeterSession::onClosed);
    resetItems();
}

MeterSession::~MeterSession()
{
    // No release and no signals: the socket is dropped with the connection.
    DlmsConnection *connection = std::exchange(m_connection, nullptr);
    connection->disconnect(this);
    delete connection;
}

DlmsConnection::Options MeterSession::connectionOptions() const
{
    DlmsConnection::Options options = polling::connectionOptions(m_config);
    options.hdlcResyncOnTimeout = true;
    return options;
}

void MeterSession::setState(MeterState state, const QString &reason)
{
    if (state == m_state && reason == m_reason)
        return;
    m_state = state;
    m_reason = reason;
    emit stateChanged(state, reason);
}

void MeterSession::resetItems()
{
    const size_t count = m_config.items.size();
    m_scalers.assign(count, std::nullopt);
    m_units.assign(count, QString());
    m_scalerMissing.assign(count, false);
    m_scaledItems.clear();
    m_scalerItems.clear();
    m_snapshotColumn.assign(count, -1);
    for (size_t i = 0; i < count; ++i) {
        if (m_config.items[i].isScaled())
            m_scaledItems.push_back(quint32(i));
    }
}

void MeterSession::start()
{
    // After stop(), start() waits for stopped(); a paused meter stays paused.
    if (m_stopping)
        return;
    if (m_paused) {
        setState(MeterState::Paused, u"paused"_s);
        return;
    }
    if (m_state == MeterState::BackingOff || m_state == MeterState::CircuitOpen)
        return; // the timer decides when to try again
    if (m_config.associationMode == AssociationMode::KeepOpen)
        openConnection();
    else if (m_connection->state() == State::Closed && !m_poll.active)
        setState(MeterState::Disconnected, u"idle until the next poll"_s);
}

void MeterSession::openConnection()
{
    m_backoffTimer->stop();
    switch (m_connection->state()) {
    case State::Closed:
        m_connection->open(); // stateChanged(Connecting) sets our state
        break;
    case State::Releasing:
        m_openWhenClosed = true;
        setState(MeterState::Connecting, m_config.endpoint());
        break;
    case State::Connecting:
    case State::Associating:
    case State::Ready:
        break;
    }
}

void MeterSession::onConnectionState(DlmsConnection::State state)
{
    const State previous = std::exchange(m_connectionState, state);
    if (m_paused && !m_stopping && state == State::Closed)
        setState(MeterState::Paused, u"paused"_s);
    if (m_paused || m_stopping)
        return;
    if (state == State::Connecting) {
        setState(MeterState::Connecting, m_config.endpoint());
    } else if (state == State::Associating && previous == State::Connecting) {
        ++m_traffic.connects;
        setState(MeterState::Associating);
    }
}

void MeterSession::onAssociated()
{
    ++m_traffic.associations;
    prepareAssociation();
}

void MeterSession::prepareAssociation()
{
    m_snapshotColumn.assign(m_config.items.size(), -1);
    if (!m_config.snapshotProfile) {
        planChunks();
        startScalerRead(false);
        return;
    }
    m_phase = Phase::Columns;
    m_chunkIndex = 0;
    QPointer<MeterSession> guard(this);
    setState(MeterState::Associating,
        u"reading the capture objects of %1"_s.arg(m_config.snapshotProfile->toString()));
    if (guard && m_phase == Phase::Columns && m_chunkIndex == 0 && m_inflightSeq == 0)
        sendNext();
}

void MeterSession::columnsDone(const dlms::ClientSession::Response *response)
{
    // Items the profile captures come from its row; the rest (or all of them, when the
    // capture objects cannot be read) are read by GET as usual.
    const dlms::DataResult *result
        = response && !response->error && !response->results.empty() ? &response->results.front() : nullptr;
    if (result && result->ok() && result->value.type() == dlms::DataType::Array) {
        const dlms::ValueList &columns = result->value.items();
        for (size_t c = 0; c < columns.size(); ++c) {
            const auto column = dlms::CaptureObject::fromValue(columns[c]);
            if (!column || column->dataIndex != 0)
                continue;
            for (size_t i = 0; i < m_config.items.size(); ++i) {
                const PollItem &item = m_config.items[i];
                if (m_snapshotColumn[i] < 0 && item.classId == column->classId
                    && item.obis == column->instance && item.attribute == column->attributeId)
                    m_snapshotColumn[i] = qint32(c);
            }
        }
    }
    planChunks();
    startScalerRead(false);
}

const std::vector<MeterSession::Chunk> &MeterSession::currentChunks() const
{
    switch (m_phase) {
    case Phase::Columns:
        return m_columnChunks;
    case Phase::Scalers:
        return m_scalerChunks;
    default:
        return m_pollChunks;
    }
}

void MeterSession::planChunks()
{
    const dlms::ClientSession &session = m_connection->session();
    const qsizetype server = session.serverMaxPduSize() == 0 ? 0xFFFF : session.serverMaxPduSize();
    const qsizetype client = m_config.maxPduSize == 0 ? 0xFFFF : m_config.maxPduSize;
    const qsizetype pdu = std::min(server, client);
    m_withList = session.supports(dlms::ConformanceMultipleReferences);
    qsizetype perRequest = 1;
    if (m_withList) {
        perRequest = std::min<qsizetype>(
            std::max(1, m_config.maxItemsPerRequest), std::max<qsizetype>(1, (pdu - 4) / 10));
        while (perRequest > 1 && dlms::getWithListRequestSize(perRequest) > pdu)
            --perRequest;
    }
    m_perRequest = perRequest;
    auto split = [perRequest](size_t count, std::vector<Chunk> &chunks) {
        chunks.clear();
        for (size_t begin = 0; begin < count; begin += size_t(perRequest))
            chunks.push_back(Chunk {quint32(begin), quint32(std::min(count, begin + size_t(perRequest)))});
    };
    m_listItems.clear();
    bool snapshot = false;
    for (size_t i = 0; i < m_config.items.size(); ++i) {
        if (i < m_snapshotColumn.size() && m_snapshotColumn[i] >= 0)
            snapshot = true;
        else
            m_listItems.push_back(quint32(i));
    }
    split(m_listItems.size(), m_pollChunks);
    if (snapshot)
        m_pollChunks.insert(m_pollChunks.begin(), Chunk {0, 0, true});
}

void MeterSession::startScalerRead(bool onlyMissing)
{
    m_scalerItems.clear();
    if (onlyMissing) {
        // One request's worth per poll: the others wait for the next polls.
        for (quint32 item : m_scaledItems) {
            if (m_scalerMissing[item] && qsizetype(m_scalerItems.size()) < m_perRequest)
                m_scalerItems.push_back(item);
        }
    } else {
        m_scalers.assign(m_config.items.size(), std::nullopt);
        m_units.assign(m_config.items.size(), QString());
        m_scalerMissing.assign(m_config.items.size(), false);
        m_scalerItems = m_scaledItems;
        for (quint32 item : m_scaledItems)
            m_scalerMissing[item] = true;
    }
    m_scalerChunks.clear();
    for (size_t begin = 0; begin < m_scalerItems.size(); begin += size_t(m_perRequest))
        m_scalerChunks.push_back(
            Chunk {quint32(begin), quint32(std::min(m_scalerItems.size(), begin + size_t(m_perRequest)))});
    if (m_scalerChunks.empty()) {
        scalersDone(false);
        return;
    }
    m_phase = Phase::Scalers;
    m_chunkIndex = 0;
    QPointer<MeterSession> guard(this);
    // A re-read before a poll is part of that poll.
    setState(onlyMissing ? MeterState::Polling : MeterState::Associating);
    if (guard && m_phase == Phase::Scalers && m_chunkIndex == 0 && m_inflightSeq == 0)
        sendNext();
}

void MeterSession::scalersDone(bool read)
{
    m_phase = Phase::Idle;
    if (read)
        ++m_scalerReads;
    if (m_halfOpen && m_config.associationMode == AssociationMode::KeepOpen) {
        // The trial of an open circuit was a connection: it worked.
        m_halfOpen = false;
        m_consecutiveFailures = 0;
    }
    if (m_poll.active) {
        runPoll();
    } else if (m_config.associationMode == AssociationMode::PerPoll) {
        // Associated for a poll that went away (reconfigured): nothing to keep it open for.
        m_connection->close();
        setState(MeterState::Disconnected, u"idle until the next poll"_s);
    } else {
        setState(MeterState::Associated);
    }
}

void MeterSession::poll(qint64 dueNs)
{
    if (m_paused)
        return;
    ++m_traffic.pollsAttempted;
    if (m_poll.active) {
        ++m_traffic.pollsSkipped;
        return;
    }
    if (m_stopping || m_state == MeterState::BackingOff || m_state == MeterState::CircuitOpen) {
        ++m_traffic.pollsFailed;
        return;
    }
    m_poll = PendingPoll {};
    m_poll.active = true;
    m_poll.dueNs = dueNs;
    m_poll.retriesLeft = std::max(0, m_config.retries);
    if (m_connection->state() == State::Ready && m_phase == Phase::Idle)
        beginPoll();
    else if (m_connection->state() == State::Closed || m_connection->state() == State::Releasing)
        openConnection();
    // Otherwise the association under way runs it when it is ready.
}

void MeterSession::beginPoll()
{
    // scaler_units that failed for a reason that may pass (a busy meter right after the AARE)
    // are asked again, at most one request per poll, before the poll itself.
    const bool missing = std::any_of(
        m_scaledItems.begin(), m_scaledItems.end(), [this](quint32 item) { return m_scalerMissing[item]; });
    if (missing)
        startScalerRead(true);
    else
        runPoll();
}

void MeterSession::runPoll()
{
    m_phase = Phase::Poll;
    m_chunkIndex = 0;
    m_poll.readings.clear();
    m_poll.readings.resize(m_config.items.size());
    for (size_t i = 0; i < m_config.items.size(); ++i) {
        m_poll.readings[i].key = m_config.items[i].key;
        m_poll.readings[i].obis = m_config.items[i].obis;
    }
    QPointer<MeterSession> guard(this);
    setState(MeterState::Polling);
    if (guard && m_phase == Phase::Poll && m_chunkIndex == 0 && m_inflightSeq == 0)
        sendNext();
}

void MeterSession::sendNext()
{
    if (m_phase == Phase::Idle || m_inflightSeq != 0 || m_connection->state() != State::Ready)
        return;
    const std::vector<Chunk> &chunks = currentChunks();
    if (m_chunkIndex >= chunks.size()) {
        if (m_phase == Phase::Scalers)
            scalersDone(true);
        else if (m_phase == Phase::Poll)
            pollDone();
        return;
    }
    if (m_config.maxRequestsPerSecond > 0 && m_lastRequestNs != 0) {
        const qint64 spacingNs = qint64(std::min(3600e9, 1e9 / m_config.maxRequestsPerSecond));
        const qint64 waitNs = m_lastRequestNs + spacingNs - steadyNowNs();
        if (waitNs > 0) {
            m_rateTimer->start(int((waitNs + 999999) / 1000000));
            return;
        }
    }

    const Chunk chunk = chunks[m_chunkIndex];
    const bool scalers = m_phase == Phase::Scalers;
    auto attributeOf = [&](quint32 index) {
        const PollItem &item = m_config.items[scalers ? m_scalerItems[index] : m_listItems[index]];
        return dlms::AttributeDescriptor {
            item.classId, item.obis, scalers ? item.scalerAttribute() : item.attribute};
    };
    const quint64 seq = ++m_requestSeq;
    m_inflightSeq = seq;
    m_inflightId = 0;
    m_inflightSentNs = steadyNowNs();
    m_issuing = true;
    QPointer<MeterSession> guard(this);
    dlms::ClientSession::RequestId id = 0;
    if (chunk.snapshot) {
        const qint8 attribute = m_phase == Phase::Columns ? 3 : 2; // capture_objects : buffer
        id = m_connection->get(dlms::AttributeDescriptor {7, *m_config.snapshotProfile, attribute});
    } else if (chunk.end - chunk.begin == 1) {
        id = m_connection->get(attributeOf(chunk.begin));
    } else {
        std::vector<dlms::AttributeRequest> list;
        list.reserve(chunk.end - chunk.begin);
        for (quint32 i = chunk.begin; i < chunk.end; ++i)
            list.push_back(dlms::AttributeRequest {attributeOf(i), std::nullopt});
        id = m_connection->getList(std::move(list));
    }
    if (!guard)
        return;
    m_issuing = false;
    // Taken after the request went out: the next one is spaced from the moment it left.
    m_lastRequestNs = steadyNowNs();
    if (m_inflightSeq != seq) {
        m_deferred.reset(); // abandoned while it was being sent
        return;
    }
    m_inflightId = id;
    if (m_deferred) {
        const dlms::ClientSession::Response response = std::move(*m_deferred);
        m_deferred.reset();
        onResponse(response);
    }
}

void MeterSession::onResponse(const dlms::ClientSession::Response &response)
{
    if (m_issuing) {
        m_deferred = response; // refused before get() returned its id
        return;
    }
    if (m_inflightSeq == 0 || response.id != m_inflightId)
        return; // a request abandoned earlier
    // A request failed because the connection ended: failed() or resynchronizing() handle it.
    if (m_connection->state() != State::Ready)
        return;
    m_inflightSeq = 0;
    const bool local = response.error && response.error->code == dlms::ErrorCode::InvalidArgument;
    if (!local) {
        const quint32 us = micros(steadyNowNs() - m_inflightSentNs);
        ++m_traffic.rttCount;
        m_traffic.rttSumUs += us;
        m_traffic.rttMaxUs = std::max(m_traffic.rttMaxUs, us);
        recordSample(m_rttUs, us);
    }
    if (m_phase == Phase::Columns) {
        m_phase = Phase::Idle;
        if (response.error)
            ++m_traffic.protocolErrors;
        columnsDone(&response);
        return;
    }
    const std::vector<Chunk> &chunks = currentChunks();
    if (m_chunkIndex < chunks.size())
        applyChunk(chunks[m_chunkIndex], response);
    ++m_chunkIndex;
    sendNext();
}

void MeterSession::applyChunk(const Chunk &chunk, const dlms::ClientSession::Response &response)
{
    if (response.error)
        ++m_traffic.protocolErrors; // exception, confirmed-service-error, malformed answer
    auto resultOf = [&](quint32 index) -> const dlms::DataResult * {
        const size_t offset = index - chunk.begin;
        return !response.error && offset < response.results.size() ? &response.results[offset] : nullptr;
    };

    if (m_phase == Phase::Scalers) {
        for (quint32 i = chunk.begin; i < chunk.end && i < m_scalerItems.size(); ++i) {
            const dlms::DataResult *result = resultOf(i);
            const quint32 item = m_scalerItems[i];
            // No answer (exception, lost response) or a passing refusal: asked again later.
            if (!result || (!result->ok() && !isPermanent(result->result)))
                continue;
            m_scalerMissing[item] = false;
            if (!result->ok())
                continue;
            // A value that is no scaler_unit stays unscaled: the meter would answer it again.
            if (const auto scalerUnit = dlms::ScalerUnit::fromValue(result->value)) {
                m_scalers[item] = *scalerUnit;
                m_units[item] = dlms::unitSymbol(scalerUnit->unit);
            }
        }
        return;
    }

    if (chunk.snapshot) {
        // One row of the snapshot profile (the last, should the meter keep more than one).
        const dlms::DataResult *result = resultOf(chunk.begin);
        const dlms::ValueList *row = nullptr;
        QString why = response.error ? response.error->message : u"no result for this item"_s;
        if (result && result->ok()) {
            const dlms::Value &buffer = result->value;
            if (buffer.type() == dlms::DataType::Array && !buffer.items().empty()
                && buffer.items().back().type() == dlms::DataType::Structure)
                row = &buffer.items().back().items();
            else
                why = u"the snapshot profile's buffer holds no row"_s;
        } else if (result) {
            why = dlms::dataAccessResultName(quint8(result->result));
        }
        for (quint32 i = 0; i < m_snapshotColumn.size(); ++i) {
            const qint32 column = m_snapshotColumn[i];
            if (column < 0)
                continue;
            if (row && size_t(column) < row->size()) {
                const dlms::DataResult cell {dlms::DataAccessResult::Success, (*row)[size_t(column)]};
                fillReading(i, &cell, {});
            } else {
                fillReading(i, nullptr, row ? u"the snapshot row has no column %1"_s.arg(column) : why);
            }
        }
        return;
    }
    for (quint32 i = chunk.begin; i < chunk.end && i < m_listItems.size(); ++i)
        fillReading(m_listItems[i], resultOf(i),
            response.error ? response.error->message : u"no result for this item"_s);
}

void MeterSession::fillReading(quint32 item, const dlms::DataResult *result, const QString &why)
{
    if (item >= m_poll.readings.size())
        return;
    Reading &reading = m_poll.readings[item];
    if (!result) {
        reading.quality = Quality::Failed;
        reading.error = why;
        m_poll.lastError = reading.error;
        return;
    }
    if (!result->ok()) {
        reading.quality = Quality::Failed;
        reading.error = dlms::dataAccessResultName(quint8(result->result));
        m_poll.lastError = reading.error;
        return;
    }
    const dlms::Value &value = result->value;
    const bool scaled = m_config.items[item].isScaled();
    if (value.isNumber()) {
        if (scaled && m_scalers[item]) {
            reading.value = dlms::scaledValue(value, m_scalers[item]->scaler).value_or(0.0);
            reading.unit = m_units[item];
        } else {
            reading.value = value.toDouble().value_or(0.0);
            if (scaled)
                reading.quality = Quality::Unscaled;
        }
    } else if (value.type() == dlms::DataType::Boolean) {
        reading.value = value.toBool().value_or(false) ? 1.0 : 0.0;
    } else if (!value.isNull()) {
        // Text by the rule dlmsctl read uses too; a clock's time is an octet-string on the wire.
        const PollItem &polled = m_config.items[item];
        reading.value = dlms::valueText(value, polled.classId == 8 && polled.attribute == 2);
    }
}

void MeterSession::pollDone()
{
    m_phase = Phase::Idle;
    PendingPoll poll = std::exchange(m_poll, PendingPoll {});
    quint64 values = 0;
    for (const Reading &reading : poll.readings) {
        if (reading.quality != Quality::Failed)
            ++values;
    }
    if (values == 0) {
        // The meter answered, but nothing it answered is a value: no retry, no reconnect.
        ++m_traffic.pollsFailed;
        if (!failureOpensCircuit(u"poll failed: %1"_s.arg(poll.lastError)))
            afterPoll();
        return;
    }

    const qint64 latencyNs = steadyNowNs() - poll.dueNs;
    ++m_traffic.pollsCompleted;
    m_traffic.valuesRead += values;
    recordSample(m_latencyUs, micros(latencyNs));
    if (latencyNs > qint64(m_config.pollIntervalMs) * 1000000)
        ++m_traffic.pollsLate;
    m_consecutiveFailures = 0;
    m_halfOpen = false;

    ReadingsBatch batch;
    batch.meterId = m_config.id;
    batch.timestampMs = QDateTime::currentMSecsSinceEpoch();
    batch.readings = std::move(poll.readings);
    // State first: a slot that polls again from readingsReady finds the session idle.
    QPointer<MeterSession> guard(this);
    afterPoll();
    if (guard)
        emit readingsReady(batch);
}

void MeterSession::afterPoll()
{
    if (m_config.associationMode == AssociationMode::KeepOpen) {
        setState(MeterState::Associated);
        return;
    }
    m_connection->close();
    setState(MeterState::Disconnected, u"idle until the next poll"_s);
}

bool MeterSession::breakerTrips() const
{
    return m_halfOpen
        || (m_config.breaker.failureThreshold > 0
            && m_consecutiveFailures >= m_config.breaker.failureThreshold);
}

void MeterSession::onFailed(const dlms::Error &error)
{
    if (error.code == dlms::ErrorCode::Timeout)
        ++m_traffic.timeouts;
    dropInflight();
    m_openWhenClosed = false;
    if (m_stopping) {
        finishStop();
        return;
    }
    if (m_paused)
        return;
    switch (connectionFailure(error)) {
    case FailureOutcome::Retry:
        // The same poll (same due time) again, on a new connection.
        ++m_traffic.reconnects;
        openConnection();
        return;
    case FailureOutcome::Failed: {
        const int delayMs = backoffDelayMs(m_config.backoff, m_consecutiveFailures, m_random);
        m_backoffTimer->start(delayMs);
        setState(MeterState::BackingOff, u"%1; retry in %2 s"_s.arg(error.message, secondsText(delayMs)));
        return;
    }
    case FailureOutcome::CircuitOpened:
        return;
    }
}

void MeterSession::onResynchronizing(const dlms::Error &error)
{
    // The request on the wire timed out and the HDLC link is being reset on the same socket:
    // a reconnect of its own, after which a poll with retries left runs again.
    ++m_traffic.timeouts;
    ++m_traffic.reconnects;
    dropInflight();
    if (m_paused || m_stopping)
        return;
    if (connectionFailure(error) == FailureOutcome::CircuitOpened)
        return;
    setState(MeterState::Associating, u"resynchronising the HDLC link: %1"_s.arg(error.message));
}

MeterSession::FailureOutcome MeterSession::connectionFailure(const dlms::Error &error)
{
    if (m_poll.active && m_poll.retriesLeft > 0 && !m_halfOpen) {
        --m_poll.retriesLeft;
        return FailureOutcome::Retry;
    }
    if (m_poll.active) {
        ++m_traffic.pollsFailed;
        m_poll = PendingPoll {};
    }
    return failureOpensCircuit(error.message) ? FailureOutcome::CircuitOpened : FailureOutcome::Failed;
}

bool MeterSession::failureOpensCircuit(const QString &lastError)
{
    ++m_consecutiveFailures;
    if (!breakerTrips())
        return false;
    openCircuit(lastError);
    return true;
}

void MeterSession::openCircuit(const QString &lastError)
{
    abandonWork();
    m_halfOpen = false;
    m_openWhenClosed = false;
    QPointer<MeterSession> guard(this);
    m_connection->close(); // left alone: release what is open
    if (!guard)
        return;
    const int openMs = std::max(0, m_config.breaker.openMs);
    m_backoffTimer->start(openMs);
    setState(MeterState::CircuitOpen,
        u"%1 failures in a row, last: %2; next try in %3 s"_s.arg(
            QString::number(m_consecutiveFailures), lastError, secondsText(openMs)));
}

void MeterSession::onBackoffTimer()
{
    if (m_paused || m_stopping)
        return;
    if (m_state == MeterState::CircuitOpen)
        m_halfOpen = true; // one trial: success closes the circuit, failure opens it again
    if (m_config.associationMode == AssociationMode::KeepOpen) {
        ++m_traffic.reconnects;
        openConnection();
    } else {
        setState(MeterState::Disconnected, u"idle until the next poll"_s);
    }
}

void MeterSession::onClosed()
{
    if (m_stopping) {
        finishStop();
        return;
    }
    if (std::exchange(m_openWhenClosed, false) && !m_paused)
        m_connection->open();
}

void MeterSession::dropInflight()
{
    // Its answer, should one still come, no longer matches m_inflightSeq / m_inflightId.
    m_inflightSeq = 0;
    m_deferred.reset();
    m_phase = Phase::Idle;
    m_rateTimer->stop();
}

void MeterSession::abandonWork()
{
    dropInflight();
    m_poll = PendingPoll {};
}

void MeterSession::requeuePoll()
{
    dropInflight();
    if (!m_poll.active)
        return;
    // Same due time (its latency covers the interruption); not a failure, so no retry is spent.
    m_poll.readings.clear();
    m_poll.lastError.clear();
    m_poll.retriesLeft = std::min(m_poll.retriesLeft, std::max(0, m_config.retries));
}

void MeterSession::stop()
{
    if (m_stopping)
        return;
    abandonWork();
    m_backoffTimer->stop();
    m_openWhenClosed = false;
    m_halfOpen = false;
    QPointer<MeterSession> guard(this);
    setState(MeterState::Disconnected, u"stopped"_s);
    if (!guard)
        return;
    if (m_connection->state() == State::Closed) {
        emit stopped();
        return;
    }
    m_stopping = true;
    m_connection->close(); // closed() (at once unless a release goes out) ends the stop
}

void MeterSession::finishStop()
{
    m_stopping = false;
    emit stopped();
}

void MeterSession::setPaused(bool paused)
{
    if (paused == m_paused)
        return;
    m_paused = paused;
    if (!paused) {
        start();
        return;
    }
    abandonWork();
    m_backoffTimer->stop();
    m_openWhenClosed = false;
    m_halfOpen = false;
    QPointer<MeterSession> guard(this);
    m_connection->close();
    // Paused once the association is released and the socket closed (onConnectionState when a
    // release goes out): whoever waits for Paused may then connect to a one-client meter.
    if (guard && m_connection->state() == DlmsConnection::State::Closed)
        setState(MeterState::Paused, u"paused"_s);
}

void MeterSession::reconfigure(const MeterConfig &config)
{
    const MeterConfig old = std::exchange(m_config, config);
    m_config.id = old.id;
    m_connection->setOptions(connectionOptions());
    const bool itemsChanged = m_config.items != old.items
        || m_config.maxItemsPerRequest != old.maxItemsPerRequest
        || m_config.snapshotProfile != old.snapshotProfile;
    if (itemsChanged)
        resetItems();

    if (m_config.needsReconnect(old)) {
        // The poll under way (if any) stays due and runs on the new association.
        requeuePoll();
        m_backoffTimer->stop();
        m_consecutiveFailures = 0;
        m_halfOpen = false;
        if (m_paused || m_stopping)
            return;
        const bool wanted = m_config.associationMode == AssociationMode::KeepOpen || m_poll.active;
        if (m_connection->state() == State::Closed) {
            if (wanted)
                m_connection->open();
            else
                setState(MeterState::Disconnected, u"idle until the next poll"_s);
            return;
        }
        m_openWhenClosed = wanted;
        QPointer<MeterSession> guard(this);
        m_connection->close(); // may end at once: onClosed() opens the new connection
        if (guard && !wanted)
            setState(MeterState::Disconnected, u"idle until the next poll"_s);
        return;
    }

    if (!itemsChanged || m_connection->state() != State::Ready)
        return;
    // Same association, new items: read their scalers before the next poll. A poll being read
    // with the old items starts over once they are in.
    requeuePoll();
    prepareAssociation();
}

void MeterSession::setTracing(bool on)
{
    if (on == m_tracing)
        return;
    m_tracing = on;
    if (on)
        connect(m_connection, &DlmsConnection::traceBytes, this, &MeterSession::forwardTrace,
            Qt::UniqueConnection);
    else
        disconnect(m_connection, &DlmsConnection::traceBytes, this, &MeterSession::forwardTrace);
}

void MeterSession::forwardTrace(dlms::Direction direction, const QByteArray &bytes)
{
    emit traceBytes(direction, bytes, QDateTime::currentMSecsSinceEpoch());
}

void MeterSession::forwardFrame(const dlms::FrameEvent &event)
{
    emit frame(event);
}

void MeterSession::connectNotify(const QMetaMethod &signal)
{
    // The connection emits per frame only while someone listens: the worker does not.
    if (m_connection && signal == QMetaMethod::fromSignal(&MeterSession::frame))
        connect(
            m_connection, &DlmsConnection::frame, this, &MeterSession::forwardFrame, Qt::UniqueConnection);
}

void MeterSession::disconnectNotify(const QMetaMethod &signal)
{
    if (!m_connection || (signal.isValid() && signal != QMetaMethod::fromSignal(&MeterSession::frame)))
        return;
    if (!isSignalConnected(QMetaMethod::fromSignal(&MeterSession::frame)))
        disconnect(m_connection, &DlmsConnection::frame, this, &MeterSession::forwardFrame);
}

void MeterSession::recordSample(std::vector<quint32> &samples, quint32 value)
{
    if (samples.size() < MaxSamples)
        samples.push_back(value);
}

void MeterSession::takeTraffic(
    TrafficCounters &into, std::vector<quint32> &rttUs, std::vector<quint32> &latencyUs)
{
    const DlmsConnection::Counters &now = m_connection->counters();
    m_traffic.bytesSent += now.bytesSent - m_taken.bytesSent;
    m_traffic.bytesReceived += now.bytesReceived - m_taken.bytesReceived;
    m_traffic.framesSent += now.framesSent - m_taken.framesSent;
    m_traffic.framesReceived += now.framesReceived - m_taken.framesReceived;
    m_traffic.bytesDiscarded += now.bytesDiscarded - m_taken.bytesDiscarded;
    m_traffic.requestsSent += now.requestsSent - m_taken.requestsSent;
    m_traffic.responsesReceived += now.responsesReceived - m_taken.responsesReceived;
    m_traffic.protocolErrors += now.protocolErrors - m_taken.protocolErrors;
    m_taken = now;
    into += m_traffic;
    m_traffic = TrafficCounters {};
    rttUs.insert(rttUs.end(), m_rttUs.begin(), m_rttUs.end());
    latencyUs.insert(latencyUs.end(), m_latencyUs.begin(), m_latencyUs.end());
    m_rttUs.clear();
    m_latencyUs.clear();
}

bool MeterSession::hasTraffic() const
{
    const DlmsConnection::Counters &now = m_connection->counters();
    return now.bytesSent != m_taken.bytesSent || now.bytesReceived != m_taken.bytesReceived
        || now.protocolErrors != m_taken.protocolErrors || !(m_traffic == TrafficCounters {})
        || !m_rttUs.empty() || !m_latencyUs.empty();
}

} // namespace polling
