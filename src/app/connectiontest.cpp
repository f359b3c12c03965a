#include "connectiontest.h"

#include "identityread.h"

#include <displayformat.h>
#include <dlmsconnection.h>

#include <QtCore/QCoreApplication>
#include <QtCore/QElapsedTimer>
#include <QtCore/QPointer>

using namespace Qt::StringLiterals;

namespace app {

struct ConnectionTest::Private {
    enum class Phase : quint8 { Idle, Connecting, Associating, Identity, Releasing };

    ConnectionTest *q = nullptr;
    polling::DlmsConnection *connection = nullptr;
    Phase phase = Phase::Idle;
    ConnectionTestResult result;
    QElapsedTimer step;
    identity::Read identityRead;

    void readIdentity()
    {
        phase = Phase::Identity;
        step.restart();
        identityRead = {};
        identityRead.start(*connection);
    }

    void onResponse(const dlms::ClientSession::Response &response)
    {
        if (phase != Phase::Identity || !identityRead.onResponse(response))
            return;
        result.logicalDeviceName = identityRead.logicalDeviceName;
        result.serialNumber = identityRead.serialNumber;
        result.firmwareVersion = identityRead.firmwareVersion;
        result.identityMs = step.elapsed();
        result.stage = u"identity"_s;
        result.ok = true;
        phase = Phase::Releasing;
        connection->close();
    }

    void onFailed(const dlms::Error &error)
    {
        if (phase == Phase::Releasing) {
            // The identity is read: a meter that does not answer the release is still reachable.
            finish();
            return;
        }
        result.ok = false;
        result.error = error.message;
        switch (phase) {
        case Phase::Idle:
        case Phase::Connecting:
            result.stage = u"connect"_s;
            break;
        case Phase::Associating:
            result.stage = u"associate"_s;
            break;
        case Phase::Identity:
        case Phase::Releasing:
            result.stage = u"identity"_s;
            break;
        }
        finish();
    }

    void finish()
    {
        if (!connection)
            return;
        result.bytesSent = connection->counters().bytesSent;
        result.bytesReceived = connection->counters().bytesReceived;
        // Deferred: this runs inside one of the connection's own signals.
        QObject::disconnect(connection, nullptr, q, nullptr);
        connection->deleteLater();
        connection = nullptr;
        phase = Phase::Idle;
        identityRead = {};
        emit q->finished(result);
    }
};

ConnectionTest::ConnectionTest(polling::MeterConfig meter, QObject *parent)
    : QObject(parent), d(std::make_unique<Private>()), m_meter(std::move(meter))
{
    d->q = this;
    qRegisterMetaType<app::ConnectionTestResult>();
}

ConnectionTest::~ConnectionTest()
{
    if (d->connection) {
        QObject::disconnect(d->connection, nullptr, this, nullptr);
        delete d->connection;
    }
}

void ConnectionTest::start()
{
    if (isRunning())
        return;
    d->result = {};
    d->identityRead = {};

    auto *connection = new polling::DlmsConnection(polling::connectionOptions(m_meter), this);
    d->connection = connection;

    connect(connection, &polling::DlmsConnection::stateChanged, this,
        [this](polling::DlmsConnection::State state) {
            if (state == polling::DlmsConnection::State::Associating
                && d->phase == Private::Phase::Connecting) {
                d->result.connectMs = d->step.restart();
                d->phase = Private::Phase::Associating;
            }
        });
    connect(connection, &polling::DlmsConnection::associated, this, [this](const dlms::Aare &aare) {
        d->result.associateMs = d->step.elapsed();
        if (aare.initiate)
            d->result.negotiatedPdu = aare.initiate->serverMaxReceivePduSize;
        d->readIdentity();
    });
    connect(connection, &polling::DlmsConnection::responseReceived, this,
        [this](const dlms::ClientSession::Response &response) { d->onResponse(response); });
    connect(connection, &polling::DlmsConnection::failed, this,
        [this](const dlms::Error &error) { d->onFailed(error); });
    connect(connection, &polling::DlmsConnection::closed, this, [this] {
        if (d->phase == Private::Phase::Releasing)
            d->finish();
        else
            d->onFailed(dlms::makeError(dlms::ErrorCode::ConnectionFailed,
                QCoreApplication::translate("app::ConnectionTestResult", "The connection closed early.")));
    });

    d->phase = Private::Phase::Connecting;
    d->step.start();
    connection->open();
}

bool ConnectionTest::isRunning() const
{
    return d->connection != nullptr;
}

QString ConnectionTestResult::summary() const
{
    if (!ok) {
        const QString why
            = error.isEmpty() ? QCoreApplication::translate("app::ConnectionTestResult", "no answer") : error;
        if (stage == u"connect"_s)
            return QCoreApplication::translate("app::ConnectionTestResult", "Cannot connect: %1").arg(why);
        if (stage == u"associate"_s)
            return QCoreApplication::translate(
                "app::ConnectionTestResult", "Connected in %1, association failed: %2")
                .arg(monitor::formatMs(double(connectMs)), why);
        return QCoreApplication::translate(
            "app::ConnectionTestResult", "Associated in %1, identity read failed: %2")
            .arg(monitor::formatMs(double(associateMs)), why);
    }
    QStringList found;
    if (!logicalDeviceName.isEmpty())
        found << QCoreApplication::translate("app::ConnectionTestResult", "logical device name %1")
                     .arg(logicalDeviceName);
    if (!serialNumber.isEmpty())
        found
            << QCoreApplication::translate("app::ConnectionTestResult", "serial number %1").arg(serialNumber);
    if (!firmwareVersion.isEmpty())
        found << QCoreApplication::translate("app::ConnectionTestResult", "firmware %1").arg(firmwareVersion);
    if (found.isEmpty())
        return QCoreApplication::translate(
            "app::ConnectionTestResult", "Associated in %1 — the meter has no identity objects")
            .arg(monitor::formatMs(double(associateMs)));
    return QCoreApplication::translate("app::ConnectionTestResult", "Associated in %1 — %2")
        .arg(monitor::formatMs(double(associateMs)), found.join(u", "_s));
}

} // namespace app
