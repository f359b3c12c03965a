#pragma once

#include "connectionoptions.h"

#include <dlmsconnection.h>

#include <QtCore/QElapsedTimer>
#include <QtCore/QObject>

#include <functional>
#include <map>
#include <memory>

class QTextStream;
class TracePrinter;

// A synchronous face on polling::DlmsConnection for one-shot commands. Every wait runs a local
// event loop until the connection reports; the connection's own timers (connect + association,
// each request, release) bound each wait, so nothing here can hang.
class MeterClient final : public QObject {
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(MeterClient)

public:
    using RequestId = dlms::ClientSession::RequestId;
    using Response = dlms::ClientSession::Response;

    // `diagnostics` receives --trace output (when asked for) and the --stats line.
    MeterClient(const ConnectionOptions &options, QTextStream &diagnostics, QObject *parent = nullptr);
    ~MeterClient() override;

    bool open(); // connect and associate; false with error() set
    RequestId get(
        const dlms::AttributeDescriptor &attribute, std::optional<dlms::SelectiveAccess> access = {});
    RequestId getList(std::vector<dlms::AttributeRequest> items);
    // Until each id has its response; false when the connection failed meanwhile.
    bool wait(const std::vector<RequestId> &ids);
    Response takeResponse(RequestId id);
    void close(); // release, bounded by the request timeout

    bool failed() const { return m_error.has_value(); }
    const dlms::Error &error() const { return *m_error; }
    // The meter refused the association (AARE rejected, or the AARQ answered with an error).
    bool rejected() const;
    int failureExitCode() const { return rejected() ? 4 : 3; }
    // The connection failed: its error and the --stats line to stderr; returns the exit code.
    int reportFailure() const;

    bool supportsMultipleReferences() const;
    quint16 serverMaxPdu() const;

    void printStats() const;

private:
    void runUntil(const std::function<bool()> &done);

    ConnectionOptions m_options;
    QTextStream &m_diagnostics;
    polling::DlmsConnection m_connection;
    std::unique_ptr<TracePrinter> m_trace;
    std::map<RequestId, Response> m_responses;
    std::optional<dlms::Error> m_error;
    polling::DlmsConnection::State m_stateBeforeClose = polling::DlmsConnection::State::Closed;
    QElapsedTimer m_clock;
    qint64 m_connectMs = 0;
    qint64 m_readStartMs = -1;
    qint64 m_readMs = 0;
    qint64 m_releaseMs = 0;
};
