#include "meterclient.h"

#include "traceprinter.h"

#include <QtCore/QEventLoop>
#include <QtCore/QTextStream>

using namespace Qt::StringLiterals;
using polling::DlmsConnection;

MeterClient::MeterClient(const ConnectionOptions &options, QTextStream &diagnostics, QObject *parent)
    : QObject(parent), m_options(options), m_diagnostics(diagnostics), m_connection(options.connection)
{
    if (options.trace) {
        m_trace = std::make_unique<TracePrinter>(options.connection.client.transport, diagnostics);
        m_trace->setSecurity(options.connection.client.security);
        connect(&m_connection, &DlmsConnection::traceBytes, this,
            [this](dlms::Direction direction, const QByteArray &bytes, const QDateTime &at) {
                m_trace->bytes(direction, bytes, at);
            });
        connect(&m_connection, &DlmsConnection::protocolError, this,
            [this](const dlms::Error &error) { m_trace->note(error.message); });
    }
    connect(&m_connection, &DlmsConnection::stateChanged, this, [this](DlmsConnection::State state) {
        if (state != DlmsConnection::State::Closed)
            m_stateBeforeClose = state;
    });
    connect(&m_connection, &DlmsConnection::responseReceived, this,
        [this](const Response &response) { m_responses[response.id] = response; });
    connect(&m_connection, &DlmsConnection::failed, this, [this](const dlms::Error &error) {
        if (!m_error)
            m_error = error;
    });
    m_clock.start();
}

MeterClient::~MeterClient() = default;

void MeterClient::runUntil(const std::function<bool()> &done)
{
    if (done())
        return;
    QEventLoop loop;
    auto check = [&] {
        if (done())
            loop.quit();
    };
    const QMetaObject::Connection connections[] = {
        connect(&m_connection, &DlmsConnection::stateChanged, &loop, check),
        connect(&m_connection, &DlmsConnection::responseReceived, &loop, check),
        connect(&m_connection, &DlmsConnection::failed, &loop, check),
        connect(&m_connection, &DlmsConnection::closed, &loop, check),
    };
    loop.exec();
    for (const auto &c : connections)
        disconnect(c);
}

bool MeterClient::open()
{
    const qint64 start = m_clock.elapsed();
    m_connection.open();
    runUntil([this] {
        return m_error || m_connection.state() == DlmsConnection::State::Ready
            || m_connection.state() == DlmsConnection::State::Closed;
    });
    m_connectMs = m_clock.elapsed() - start;
    if (m_connection.state() != DlmsConnection::State::Ready) {
        if (!m_error)
            m_error = dlms::makeError(
                dlms::ErrorCode::ConnectionFailed, u"connection closed during association"_s);
        return false;
    }
    m_readStartMs = m_clock.elapsed();
    return true;
}

MeterClient::RequestId MeterClient::get(
    const dlms::AttributeDescriptor &attribute, std::optional<dlms::SelectiveAccess> access)
{
    return m_connection.get(attribute, std::move(access));
}

MeterClient::RequestId MeterClient::getList(std::vector<dlms::AttributeRequest> items)
{
    return m_connection.getList(std::move(items));
}

bool MeterClient::wait(const std::vector<RequestId> &ids)
{
    auto allIn = [&] {
        for (RequestId id : ids) {
            if (!m_responses.contains(id))
                return false;
        }
        return true;
    };
    runUntil([&] { return allIn() || m_error || m_connection.state() == DlmsConnection::State::Closed; });
    return !m_error && allIn();
}

MeterClient::Response MeterClient::takeResponse(RequestId id)
{
    auto node = m_responses.extract(id);
    if (node.empty()) {
        Response missing;
        missing.id = id;
        missing.error = dlms::makeError(dlms::ErrorCode::Timeout, u"no response"_s);
        return missing;
    }
    return std::move(node.mapped());
}

void MeterClient::close()
{
    if (m_readStartMs >= 0) {
        m_readMs = m_clock.elapsed() - m_readStartMs;
        m_readStartMs = -1;
    }
    const qint64 start = m_clock.elapsed();
    m_connection.close();
    runUntil([this] { return m_connection.state() == DlmsConnection::State::Closed; });
    m_releaseMs = m_clock.elapsed() - start;
}

bool MeterClient::rejected() const
{
    if (const auto &aare = m_connection.aare(); aare && !aare->accepted())
        return true;
    // HLS-GMAC proofs and the ciphered AARE fail the association as a refusal does.
    const bool refusal = m_error
        && (m_error->code == dlms::ErrorCode::Rejected
            || m_error->code == dlms::ErrorCode::AuthenticationFailed
            || m_error->code == dlms::ErrorCode::DecryptionFailed);
    return refusal && m_stateBeforeClose == DlmsConnection::State::Associating;
}

int MeterClient::reportFailure() const
{
    m_diagnostics << "dlmsctl: " << error().message << '\n';
    m_diagnostics.flush();
    printStats();
    return failureExitCode();
}

bool MeterClient::supportsMultipleReferences() const
{
    return m_connection.session().supports(dlms::ConformanceMultipleReferences);
}

quint16 MeterClient::serverMaxPdu() const
{
    return m_connection.session().serverMaxPduSize();
}

void MeterClient::printStats() const
{
    if (!m_options.stats)
        return;
    const auto &c = m_connection.counters();
    const qint64 readMs = m_readStartMs >= 0 ? m_clock.elapsed() - m_readStartMs : m_readMs;
    m_diagnostics << "stats: requests=" << c.requestsSent << " responses=" << c.responsesReceived
                  << " bytes_sent=" << c.bytesSent << " bytes_received=" << c.bytesReceived
                  << " frames_sent=" << c.framesSent << " frames_received=" << c.framesReceived
                  << " discarded_bytes=" << c.bytesDiscarded << " connect_ms=" << m_connectMs
                  << " read_ms=" << readMs << " release_ms=" << m_releaseMs << '\n';
    m_diagnostics.flush();
}
