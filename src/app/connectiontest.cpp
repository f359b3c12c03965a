#include "connectiontest.h"

#include <displayformat.h>
#include <dlmsconnection.h>

#include <QtCore/QCoreApplication>
#include <QtCore/QElapsedTimer>
#include <QtCore/QHash>
#include <QtCore/QPointer>

using namespace Qt::StringLiterals;

namespace app {

namespace {

enum class Field : quint8 { DeviceName, Serial, Firmware };

struct IdentityObject {
    Field field;
    dlms::AttributeDescriptor attribute;
};

// Logical device name, serial number and firmware version: all Data objects, value at attr 2.
const IdentityObject kIdentity[] = {
    {Field::DeviceName, {1, dlms::Obis(0, 0, 42, 0, 0, 255), 2}},
    {Field::Serial, {1, dlms::Obis(0, 0, 96, 1, 0, 255), 2}},
    {Field::Firmware, {1, dlms::Obis(1, 0, 0, 2, 0, 255), 2}},
};

bool isPrintable(const QByteArray &bytes)
{
    for (char c : bytes) {
        const auto u = uchar(c);
        if (u < 0x20 || u > 0x7E)
            return false;
    }
    return true;
}

// Identity strings come as octet-string (mostly printable ASCII), visible-string or utf8-string;
// anything else is shown as the value's text so the technician still sees what the meter said.
QString identityText(const dlms::Value &value)
{
    switch (value.type()) {
    case dlms::DataType::OctetString:
        if (isPrintable(value.bytes()))
            return QString::fromLatin1(value.bytes()).trimmed();
        return QString::fromLatin1(value.bytes().toHex(' ')).toUpper();
    case dlms::DataType::VisibleString:
    case dlms::DataType::Utf8String:
        return value.string().trimmed();
    case dlms::DataType::NullData:
        return {};
    default:
        return value.toText();
    }
}

} // namespace

struct ConnectionTest::Private {
    enum class Phase : quint8 { Idle, Connecting, Associating, Identity, Releasing };

    ConnectionTest *q = nullptr;
    polling::DlmsConnection *connection = nullptr;
    Phase phase = Phase::Idle;
    ConnectionTestResult result;
    QElapsedTimer step;
    QHash<dlms::ClientSession::RequestId, Field> singleRequests;
    dlms::ClientSession::RequestId listRequest = 0;

    void setField(Field field, const dlms::DataResult &data)
    {
        // A meter without the object (object-undefined, read-write-denied …) leaves it empty.
        const QString text = data.ok() ? identityText(data.value) : QString();
        switch (field) {
        case Field::DeviceName:
            result.logicalDeviceName = text;
            break;
        case Field::Serial:
            result.serialNumber = text;
            break;
        case Field::Firmware:
            result.firmwareVersion = text;
            break;
        }
    }

    void readIdentity()
    {
        phase = Phase::Identity;
        step.restart();
        if (connection->session().supports(dlms::ConformanceMultipleReferences)) {
            std::vector<dlms::AttributeRequest> items;
            for (const IdentityObject &object : kIdentity)
                items.push_back({object.attribute, std::nullopt});
            listRequest = connection->getList(std::move(items));
        } else {
            readOneByOne();
        }
    }

    void readOneByOne()
    {
        listRequest = 0;
        for (const IdentityObject &object : kIdentity)
            singleRequests.insert(connection->get(object.attribute), object.field);
    }

    void onResponse(const dlms::ClientSession::Response &response)
    {
        if (listRequest != 0 && response.id == listRequest) {
            listRequest = 0;
            if (response.error || response.results.size() != std::size(kIdentity)) {
                // Some meters announce multiple references and still refuse a list: ask again
                // one object at a time before calling the meter unreadable.
                readOneByOne();
                return;
            }
            for (size_t i = 0; i < response.results.size(); ++i)
                setField(kIdentity[i].field, response.results[i]);
        } else if (const auto it = singleRequests.constFind(response.id); it != singleRequests.cend()) {
            if (!response.error && response.results.size() == 1)
                setField(it.value(), response.results.front());
            singleRequests.erase(it);
        } else {
            return;
        }
        if (listRequest == 0 && singleRequests.isEmpty()) {
            result.identityMs = step.elapsed();
            result.stage = u"identity"_s;
            result.ok = true;
            phase = Phase::Releasing;
            connection->close();
        }
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
        singleRequests.clear();
        listRequest = 0;
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
    d->singleRequests.clear();
    d->listRequest = 0;

    polling::DlmsConnection::Options options;
    options.host = m_meter.host;
    options.port = m_meter.port;
    options.client = m_meter.clientConfig();
    options.connectTimeoutMs = m_meter.connectTimeoutMs;
    options.requestTimeoutMs = m_meter.requestTimeoutMs;
    auto *connection = new polling::DlmsConnection(options, this);
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
