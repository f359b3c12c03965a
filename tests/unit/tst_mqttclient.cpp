#include "mosquittobroker.h"
#include "mqttclient.h"

#include <QtCore/QPointer>
#include <QtCore/QSet>
#include <QtCore/QTemporaryDir>
#include <QtCore/QThread>
#include <QtCore/QThreadPool>
#include <QtNetwork/QSslCertificate>
#include <QtNetwork/QSslConfiguration>
#include <QtNetwork/QSslKey>
#include <QtNetwork/QSslSocket>
#include <QtNetwork/QTcpServer>
#include <QtNetwork/QTcpSocket>
#include <QtTest/QtTest>

#include <algorithm>
#include <memory>

using namespace Qt::StringLiterals;
using mqtt::ClientError;
using mqtt::ClientErrorCode;
using mqtt::ClientOptions;
using mqtt::ClientState;
using mqtt::MqttClient;
using mqtt::ProtocolVersion;

namespace {

constexpr int kWaitMs = 10'000;

ClientOptions optionsFor(quint16 port, ProtocolVersion version = ProtocolVersion::V311)
{
    ClientOptions o;
    o.host = u"127.0.0.1"_s;
    o.port = port;
    o.version = version;
    o.reconnectMinMs = 100;
    o.reconnectMaxMs = 400;
    o.connectTimeoutMs = 5000;
    return o;
}

bool connectAndWait(MqttClient &client)
{
    QSignalSpy connected(&client, &MqttClient::connected);
    client.connectToHost();
    return connected.wait(kWaitMs) || client.state() == ClientState::Connected;
}

// The subscription is active once the subscriber receives its own probe: the broker handles
// SUBSCRIBE before a PUBLISH sent after it on the same connection.
bool subscribeAndWait(MqttClient &subscriber, const QByteArray &filter, const QByteArray &probeTopic)
{
    QSignalSpy received(&subscriber, &MqttClient::messageReceived);
    if (subscriber.subscribe(filter, 1) < 0 || subscriber.publish(probeTopic, "probe", 1) < 0)
        return false;
    for (int i = 0; i < 100; ++i) {
        for (const QList<QVariant> &args : std::as_const(received)) {
            if (args.at(0).toByteArray() == probeTopic)
                return true;
        }
        if (!received.wait(kWaitMs))
            return false;
    }
    return false;
}

QByteArray payloadFor(int i)
{
    // Binary on purpose: NUL, 0xff and a few sizes, so "byte for byte" means something.
    QByteArray p = "msg-" + QByteArray::number(i) + '\0' + char(0xff) + char(i & 0xff);
    p.append(QByteArray(i % 37, char('a' + i % 26)));
    return p;
}

// Captures this process's log lines so a test can look for what must (not) be in them.
struct LogCapture {
    LogCapture()
    {
        lines().clear();
        previous = qInstallMessageHandler(&LogCapture::handler);
    }
    ~LogCapture() { qInstallMessageHandler(previous); }
    static QStringList &lines()
    {
        static QStringList captured;
        return captured;
    }
    static void handler(QtMsgType, const QMessageLogContext &, const QString &message)
    {
        lines().append(message);
    }
    QtMessageHandler previous = nullptr;
};

// A minimal broker on a QTcpServer that answers CONNECT and QoS 1 PUBLISH and records the size
// of every PUBLISH packet exactly as it arrived, to check publishPacketSize against the wire.
class WireBroker : public QObject {
public:
    bool listen()
    {
        connect(&m_server, &QTcpServer::newConnection, this, [this] {
            while (QTcpSocket *s = m_server.nextPendingConnection()) {
                m_socket = s;
                connect(s, &QTcpSocket::readyRead, this, [this] { onData(); });
            }
        });
        return m_server.listen(QHostAddress::LocalHost, 0);
    }
    quint16 port() const { return m_server.serverPort(); }
    QList<qint64> publishSizes;
    bool answerConnect = true;

private:
    void onData()
    {
        m_buffer += m_socket->readAll();
        for (;;) {
            if (m_buffer.size() < 2)
                return;
            qint64 remaining = 0;
            int shift = 0;
            int index = 1;
            for (;;) {
                if (index >= m_buffer.size())
                    return;
                const auto byte = quint8(m_buffer.at(index++));
                remaining |= qint64(byte & 0x7f) << shift;
                shift += 7;
                if (!(byte & 0x80))
                    break;
                if (shift > 21)
                    return;
            }
            const qint64 total = index + remaining;
            if (m_buffer.size() < total)
                return;
            const QByteArray packet = m_buffer.left(total);
            m_buffer.remove(0, total);
            const int type = quint8(packet.at(0)) >> 4;
            if (type == 1 && answerConnect) {
                // CONNECT: protocol level is after the fixed header, the name length and "MQTT".
                const int level = quint8(packet.at(index + 6));
                m_socket->write(
                    level == 5 ? QByteArray("\x20\x03\x00\x00\x00", 5) : QByteArray("\x20\x02\x00\x00", 4));
            } else if (type == 3) {
                publishSizes.append(total);
                const int qos = (quint8(packet.at(0)) >> 1) & 3;
                if (qos == 1) {
                    const int topicLength = (quint8(packet.at(index)) << 8) | quint8(packet.at(index + 1));
                    const QByteArray id = packet.mid(index + 2 + topicLength, 2);
                    m_socket->write(QByteArray("\x40\x02", 2) + id);
                }
            }
        }
    }

    QTcpServer m_server;
    QPointer<QTcpSocket> m_socket;
    QByteArray m_buffer;
};

} // namespace

class TestMqttClient : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();

    void brokerStartsKillsAndRestarts();
    void brokerWithUsersAndTls();
    void brokerPersistenceSurvivesKill();
    void brokerWithBadConfigFails();

    void publishAcknowledgedAndReceived_data();
    void publishAcknowledgedAndReceived();
    void qos0AcknowledgedAfterPublishReturns();
    void credentials_data();
    void credentials();
    void tls_data();
    void tls();
    void invalidOptionsAreNotRetried_data();
    void invalidOptionsAreNotRetried();
    void publishWhileNotConnectedFails();
    void publishRefusedMessage_data();
    void publishRefusedMessage();
    void mqtt5BrokerRejectionIsNotAnAcknowledgement();
    void brokerKilledThenReconnects();
    void connectionRefusedBacksOffUntilDisconnect();
    void connectTimeoutWhenBrokerIsSilent();
    void disconnectFromHostEmitsDisconnected();
    void publishPacketSize_data();
    void publishPacketSize();
    void publishPacketSizeOnTheWire_data();
    void publishPacketSizeOnTheWire();
    void destroyWhileConnectingIsSafe();
    void runsInItsOwnThread();

private:
    QTemporaryDir m_pkiDir;
    testsupport::TestPki m_pki;
};

void TestMqttClient::initTestCase()
{
    QVERIFY(m_pkiDir.isValid());
    QVERIFY2(m_pki.create(m_pkiDir.path()), qPrintable(m_pki.error));
}

void TestMqttClient::brokerStartsKillsAndRestarts()
{
    testsupport::MosquittoBroker broker;
    QVERIFY2(broker.start(), qPrintable(broker.errorString()));
    QVERIFY(broker.isRunning());
    QVERIFY(broker.port() != 0);
    const qint64 firstPid = broker.pid();
    QVERIFY(firstPid > 0);
    QVERIFY2(broker.log().contains(u"running"_s), qPrintable(broker.log()));

    // A client connection left open makes the server side of the port linger after SIGKILL.
    QTcpSocket client;
    client.connectToHost(QHostAddress::LocalHost, broker.port());
    QVERIFY(client.waitForConnected(5000));

    const quint16 port = broker.port();
    broker.kill();
    QVERIFY(!broker.isRunning());
    QCOMPARE(broker.pid(), 0);
    QVERIFY2(broker.restart(), qPrintable(broker.errorString()));
    QCOMPARE(broker.port(), port);
    QVERIFY(broker.pid() != firstPid);
    broker.stop();
    QVERIFY(!broker.isRunning());
}

void TestMqttClient::brokerWithUsersAndTls()
{
    testsupport::BrokerConfig config;
    config.users = {{u"meter"_s, u"s3cret"_s}, {u"other"_s, u"pw"_s}};
    config.tls = true;
    config.caFile = m_pki.caCert;
    config.certFile = m_pki.serverCert;
    config.keyFile = m_pki.serverKey;
    config.requireClientCertificate = true;
    config.persistence = true;
    testsupport::MosquittoBroker broker(config);
    QVERIFY2(broker.start(), qPrintable(broker.errorString()));
    QVERIFY2(broker.log().contains(u"running"_s), qPrintable(broker.log()));

    if (!QSslSocket::supportsSsl())
        QSKIP("Qt has no TLS backend");
    // The server certificate verifies against the CA for 127.0.0.1 and the client one is accepted.
    QSslConfiguration ssl = QSslConfiguration::defaultConfiguration();
    ssl.setCaCertificates(QSslCertificate::fromPath(m_pki.caCert));
    ssl.setLocalCertificate(QSslCertificate::fromPath(m_pki.clientCert).value(0));
    QFile keyFile(m_pki.clientKey);
    QVERIFY(keyFile.open(QIODevice::ReadOnly));
    ssl.setPrivateKey(QSslKey(keyFile.readAll(), QSsl::Ec));
    QSslSocket socket;
    socket.setSslConfiguration(ssl);
    socket.connectToHostEncrypted(u"127.0.0.1"_s, broker.port());
    QVERIFY2(socket.waitForEncrypted(10000), qPrintable(socket.errorString()));
}

// The broker helper's persistence: a persistent session and the QoS 1 messages queued for it
// while it was away survive SIGKILL and a restart (what the outbox tests rely on).
void TestMqttClient::brokerPersistenceSurvivesKill()
{
    testsupport::BrokerConfig config;
    config.persistence = true;
    testsupport::MosquittoBroker broker(config);
    QVERIFY2(broker.start(), qPrintable(broker.errorString()));

    ClientOptions subscriberOptions = optionsFor(broker.port());
    subscriberOptions.clientId = u"persistent-subscriber"_s;
    subscriberOptions.cleanSession = false;
    {
        MqttClient subscriber(subscriberOptions);
        QVERIFY(connectAndWait(subscriber));
        QVERIFY(subscribeAndWait(subscriber, "p/#", "p/probe"));
        subscriber.disconnectFromHost();
    }
    MqttClient publisher(optionsFor(broker.port()));
    QVERIFY(connectAndWait(publisher));
    QSignalSpy acked(&publisher, &MqttClient::messageAcknowledged);
    for (int i = 0; i < 5; ++i)
        QVERIFY(publisher.publish("p/queued", payloadFor(i), 1) > 0);
    QTRY_COMPARE_WITH_TIMEOUT(acked.size(), 5, kWaitMs);
    QVERIFY(broker.waitUntilSaved());

    broker.kill();
    QVERIFY2(broker.restart(), qPrintable(broker.errorString()));
    MqttClient subscriber(subscriberOptions);
    QSignalSpy received(&subscriber, &MqttClient::messageReceived);
    QVERIFY(connectAndWait(subscriber));
    QTRY_COMPARE_WITH_TIMEOUT(received.size(), 5, kWaitMs);
    for (int i = 0; i < 5; ++i)
        QCOMPARE(received.at(i).at(1).toByteArray(), payloadFor(i));
}

void TestMqttClient::brokerWithBadConfigFails()
{
    testsupport::BrokerConfig config;
    config.extraConfig = u"no_such_option 1"_s;
    testsupport::MosquittoBroker broker(config);
    QVERIFY(!broker.start());
    QVERIFY(!broker.isRunning());
    QVERIFY2(broker.errorString().contains(u"no_such_option"_s), qPrintable(broker.errorString()));
}

void TestMqttClient::publishAcknowledgedAndReceived_data()
{
    QTest::addColumn<ProtocolVersion>("version");
    QTest::addColumn<int>("count");
    QTest::newRow("mqtt311-300") << ProtocolVersion::V311 << 300;
    QTest::newRow("mqtt5-300") << ProtocolVersion::V5 << 300;
}

void TestMqttClient::publishAcknowledgedAndReceived()
{
    QFETCH(ProtocolVersion, version);
    QFETCH(int, count);
    testsupport::MosquittoBroker broker;
    QVERIFY2(broker.start(), qPrintable(broker.errorString()));

    MqttClient subscriber(optionsFor(broker.port(), version));
    QVERIFY(connectAndWait(subscriber));
    QVERIFY(subscribeAndWait(subscriber, "meters/#", "meters/probe"));
    QSignalSpy received(&subscriber, &MqttClient::messageReceived);

    ClientOptions options = optionsFor(broker.port(), version);
    options.maxInflight = 50; // below count: libmosquitto queues the rest and releases on PUBACK
    MqttClient publisher(options);
    QSignalSpy acked(&publisher, &MqttClient::messageAcknowledged);
    QSignalSpy errors(&publisher, &MqttClient::errorOccurred);
    QVERIFY(connectAndWait(publisher));

    QSet<int> ids;
    QList<QByteArray> sent;
    for (int i = 0; i < count; ++i) {
        sent.append(payloadFor(i));
        const int id = publisher.publish("meters/m1/telemetry", sent.last(), 1);
        QVERIFY(id > 0);
        ids.insert(id);
    }
    QCOMPARE(ids.size(), count);
    QCOMPARE(publisher.inflightCount(), count); // nothing read yet, so nothing acknowledged
    QTRY_COMPARE_WITH_TIMEOUT(acked.size(), count, kWaitMs);
    QSet<int> ackedIds;
    for (const QList<QVariant> &args : std::as_const(acked))
        ackedIds.insert(args.at(0).toInt());
    QCOMPARE(ackedIds, ids);
    QCOMPARE(publisher.inflightCount(), 0);

    QTRY_COMPARE_WITH_TIMEOUT(received.size(), count, kWaitMs);
    for (int i = 0; i < count; ++i) {
        QCOMPARE(received.at(i).at(0).toByteArray(), QByteArray("meters/m1/telemetry"));
        QCOMPARE(received.at(i).at(1).toByteArray(), sent.at(i));
    }
    QCOMPARE(errors.size(), 0);
    QCOMPARE(publisher.reconnects(), 0u);
}

void TestMqttClient::qos0AcknowledgedAfterPublishReturns()
{
    testsupport::MosquittoBroker broker;
    QVERIFY2(broker.start(), qPrintable(broker.errorString()));
    MqttClient client(optionsFor(broker.port()));
    QVERIFY(connectAndWait(client));

    QSet<int> returned;
    int ackedBeforeReturn = 0;
    int acks = 0;
    connect(&client, &MqttClient::messageAcknowledged, this, [&](int id) {
        ++acks;
        if (!returned.contains(id))
            ++ackedBeforeReturn;
    });
    for (int i = 0; i < 100; ++i) {
        const int id = client.publish("qos0/topic", payloadFor(i), 0);
        QVERIFY(id > 0);
        returned.insert(id);
    }
    QTRY_COMPARE_WITH_TIMEOUT(acks, 100, kWaitMs);
    QCOMPARE(ackedBeforeReturn, 0);
    QCOMPARE(client.inflightCount(), 0);
}

void TestMqttClient::credentials_data()
{
    QTest::addColumn<ProtocolVersion>("version");
    QTest::addColumn<QString>("username");
    QTest::addColumn<QString>("password");
    QTest::addColumn<bool>("accepted");
    QTest::newRow("mqtt311-anonymous") << ProtocolVersion::V311 << QString() << QString() << false;
    QTest::newRow("mqtt311-wrong-password") << ProtocolVersion::V311 << u"meter"_s << u"Wr0ngPa55"_s << false;
    QTest::newRow("mqtt311-unknown-user")
        << ProtocolVersion::V311 << u"stranger"_s << u"s3cret-pw"_s << false;
    QTest::newRow("mqtt311-right") << ProtocolVersion::V311 << u"meter"_s << u"s3cret-pw"_s << true;
    QTest::newRow("mqtt5-anonymous") << ProtocolVersion::V5 << QString() << QString() << false;
    QTest::newRow("mqtt5-wrong-password") << ProtocolVersion::V5 << u"meter"_s << u"Wr0ngPa55"_s << false;
    QTest::newRow("mqtt5-right") << ProtocolVersion::V5 << u"meter"_s << u"s3cret-pw"_s << true;
}

void TestMqttClient::credentials()
{
    QFETCH(ProtocolVersion, version);
    QFETCH(QString, username);
    QFETCH(QString, password);
    QFETCH(bool, accepted);
    testsupport::BrokerConfig config;
    config.users = {{u"meter"_s, u"s3cret-pw"_s}};
    testsupport::MosquittoBroker broker(config);
    QVERIFY2(broker.start(), qPrintable(broker.errorString()));

    ClientOptions options = optionsFor(broker.port(), version);
    options.username = username;
    options.password = password;
    options.autoReconnect = false;
    MqttClient client(options);
    QSignalSpy connected(&client, &MqttClient::connected);
    QSignalSpy errors(&client, &MqttClient::errorOccurred);
    LogCapture log;
    client.connectToHost();
    if (accepted) {
        QVERIFY(connected.wait(kWaitMs));
        QSignalSpy acked(&client, &MqttClient::messageAcknowledged);
        const int id = client.publish("auth/ok", "1", 1);
        QVERIFY(acked.wait(kWaitMs));
        QCOMPARE(acked.at(0).at(0).toInt(), id);
        QCOMPARE(errors.size(), 0);
        return;
    }
    QVERIFY(errors.wait(kWaitMs));
    const auto error = errors.at(0).at(0).value<ClientError>();
    QCOMPARE(
        mqtt::clientErrorCodeName(error.code), mqtt::clientErrorCodeName(ClientErrorCode::NotAuthorized));
    QVERIFY2(error.message.contains(u"127.0.0.1:%1"_s.arg(broker.port())), qPrintable(error.message));
    QCOMPARE(connected.size(), 0);
    QCOMPARE(client.state(), ClientState::Disconnected);
    for (const QString &secret : {username, password}) {
        if (secret.isEmpty())
            continue;
        QVERIFY2(!error.message.contains(secret), qPrintable(error.message));
        for (const QString &line : std::as_const(LogCapture::lines()))
            QVERIFY2(!line.contains(secret), qPrintable(line));
    }
}

void TestMqttClient::tls_data()
{
    QTest::addColumn<bool>("rightCa");
    QTest::addColumn<bool>("verifyPeer");
    QTest::addColumn<bool>("requireClientCert");
    QTest::addColumn<bool>("giveClientCert");
    QTest::addColumn<ProtocolVersion>("version");
    QTest::addColumn<bool>("accepted");
    QTest::addColumn<QString>("reason");
    QTest::newRow("right-ca") << true << true << false << false << ProtocolVersion::V311 << true << QString();
    QTest::newRow("right-ca-mqtt5") << true << true << false << false << ProtocolVersion::V5 << true
                                    << QString();
    QTest::newRow("other-ca") << false << true << false << false << ProtocolVersion::V311 << false
                              << u"certificate verify failed"_s;
    QTest::newRow("other-ca-verify-off")
        << false << false << false << false << ProtocolVersion::V311 << true << QString();
    QTest::newRow("client-cert-required-given")
        << true << true << true << true << ProtocolVersion::V311 << true << QString();
    QTest::newRow("client-cert-required-missing")
        << true << true << true << false << ProtocolVersion::V311 << false << u"certificate"_s;
}

void TestMqttClient::tls()
{
    QFETCH(bool, rightCa);
    QFETCH(bool, verifyPeer);
    QFETCH(bool, requireClientCert);
    QFETCH(bool, giveClientCert);
    QFETCH(ProtocolVersion, version);
    QFETCH(bool, accepted);
    QFETCH(QString, reason);
    testsupport::BrokerConfig config;
    config.tls = true;
    config.caFile = m_pki.caCert;
    config.certFile = m_pki.serverCert;
    config.keyFile = m_pki.serverKey;
    config.requireClientCertificate = requireClientCert;
    testsupport::MosquittoBroker broker(config);
    QVERIFY2(broker.start(), qPrintable(broker.errorString()));

    ClientOptions options = optionsFor(broker.port(), version);
    options.autoReconnect = false;
    options.tls.enabled = true;
    options.tls.caFile = rightCa ? m_pki.caCert : m_pki.otherCaCert;
    options.tls.verifyPeer = verifyPeer;
    if (giveClientCert) {
        options.tls.certFile = m_pki.clientCert;
        options.tls.keyFile = m_pki.clientKey;
    }
    MqttClient client(options);
    QSignalSpy connected(&client, &MqttClient::connected);
    QSignalSpy errors(&client, &MqttClient::errorOccurred);
    client.connectToHost();
    if (!accepted) {
        QVERIFY(errors.wait(kWaitMs));
        const auto error = errors.at(0).at(0).value<ClientError>();
        QCOMPARE(
            mqtt::clientErrorCodeName(error.code), mqtt::clientErrorCodeName(ClientErrorCode::TlsFailed));
        QVERIFY2(error.message.contains(u"TLS handshake with 127.0.0.1:%1 failed"_s.arg(broker.port())),
            qPrintable(error.message));
        QVERIFY2(error.message.contains(reason), qPrintable(error.message));
        QCOMPARE(connected.size(), 0);
        return;
    }
    QVERIFY2(connected.wait(kWaitMs),
        errors.isEmpty() ? "no error" : qPrintable(errors.at(0).at(0).value<ClientError>().message));
    // Enough messages that acknowledgements sit in OpenSSL's buffer as well as the socket's.
    QSignalSpy acked(&client, &MqttClient::messageAcknowledged);
    for (int i = 0; i < 200; ++i)
        QVERIFY(client.publish("tls/topic", payloadFor(i), 1) > 0);
    QTRY_COMPARE_WITH_TIMEOUT(acked.size(), 200, kWaitMs);
    QCOMPARE(errors.size(), 0);
}

void TestMqttClient::invalidOptionsAreNotRetried_data()
{
    QTest::addColumn<QString>("host");
    QTest::addColumn<QString>("caFile");
    QTest::addColumn<QString>("certFile");
    QTest::addColumn<QString>("keyFile");
    QTest::newRow("empty-host") << QString() << QString() << QString() << QString();
    QTest::newRow("missing-ca-file") << u"127.0.0.1"_s << u"/nonexistent/ca.crt"_s << QString() << QString();
    QTest::newRow("cert-without-key") << u"127.0.0.1"_s << u"CA"_s << u"CERT"_s << QString();
}

void TestMqttClient::invalidOptionsAreNotRetried()
{
    QFETCH(QString, host);
    QFETCH(QString, caFile);
    QFETCH(QString, certFile);
    QFETCH(QString, keyFile);
    ClientOptions options = optionsFor(1);
    options.host = host;
    if (!caFile.isEmpty()) {
        options.tls.enabled = true;
        options.tls.caFile = caFile == u"CA"_s ? m_pki.caCert : caFile;
        options.tls.certFile = certFile == u"CERT"_s ? m_pki.clientCert : certFile;
        options.tls.keyFile = keyFile;
    }
    MqttClient client(options);
    QSignalSpy errors(&client, &MqttClient::errorOccurred);
    QSignalSpy states(&client, &MqttClient::stateChanged);
    client.connectToHost();
    QCOMPARE(errors.size(), 1);
    QCOMPARE(mqtt::clientErrorCodeName(errors.at(0).at(0).value<ClientError>().code),
        mqtt::clientErrorCodeName(ClientErrorCode::InvalidOptions));
    QCOMPARE(client.state(), ClientState::Disconnected);
    QCOMPARE(states.size(), 0); // never tried
    QVERIFY(!errors.wait(300)); // and no retry follows
}

void TestMqttClient::publishWhileNotConnectedFails()
{
    testsupport::MosquittoBroker broker;
    QVERIFY2(broker.start(), qPrintable(broker.errorString()));
    MqttClient client(optionsFor(broker.port()));
    QSignalSpy errors(&client, &MqttClient::errorOccurred);
    QCOMPARE(client.publish("t", "never constructed", 1), -1);
    client.connectToHost();
    QCOMPARE(client.state(), ClientState::Connecting);
    QCOMPARE(client.publish("t", "before CONNACK", 1), -1);
    QVERIFY(connectAndWait(client));
    QVERIFY(client.publish("t", "connected", 1) > 0);
    client.disconnectFromHost();
    QCOMPARE(client.state(), ClientState::Disconnected);
    QCOMPARE(client.publish("t", "after disconnect", 1), -1);
    QCOMPARE(client.subscribe("t", 1), -1);
    QCOMPARE(errors.size(), 0); // -1 for "not connected" is not a publish error
}

void TestMqttClient::publishRefusedMessage_data()
{
    QTest::addColumn<QByteArray>("topic");
    QTest::addColumn<int>("qos");
    QTest::newRow("empty-topic") << QByteArray() << 1;
    QTest::newRow("wildcard-topic") << QByteArray("meters/#") << 1;
    QTest::newRow("nul-in-topic") << QByteArray("a\0b", 3) << 1;
    QTest::newRow("qos-3") << QByteArray("meters/x") << 3;
    QTest::newRow("invalid-utf8-topic") << QByteArray("meters/\xff\xfe") << 0;
}

void TestMqttClient::publishRefusedMessage()
{
    QFETCH(QByteArray, topic);
    QFETCH(int, qos);
    testsupport::MosquittoBroker broker;
    QVERIFY2(broker.start(), qPrintable(broker.errorString()));
    MqttClient client(optionsFor(broker.port()));
    QVERIFY(connectAndWait(client));
    QSignalSpy errors(&client, &MqttClient::errorOccurred);
    QCOMPARE(client.publish(topic, "payload", qos), -1);
    QCOMPARE(errors.size(), 1);
    QCOMPARE(mqtt::clientErrorCodeName(errors.at(0).at(0).value<ClientError>().code),
        mqtt::clientErrorCodeName(ClientErrorCode::PublishFailed));
    QCOMPARE(client.state(), ClientState::Connected); // a refused message does not cost the link
    QSignalSpy acked(&client, &MqttClient::messageAcknowledged);
    const int id = client.publish("meters/ok", "payload", 1);
    QVERIFY(acked.wait(kWaitMs));
    QCOMPARE(acked.at(0).at(0).toInt(), id);
}

void TestMqttClient::mqtt5BrokerRejectionIsNotAnAcknowledgement()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString acl = dir.filePath(u"acl"_s);
    QString error;
    QVERIFY2(testsupport::detail::writeFile(acl, "topic readwrite allowed/#\n", &error), qPrintable(error));
    testsupport::BrokerConfig config;
    config.extraConfig = u"acl_file %1"_s.arg(acl);
    testsupport::MosquittoBroker broker(config);
    QVERIFY2(broker.start(), qPrintable(broker.errorString()));
    MqttClient client(optionsFor(broker.port(), ProtocolVersion::V5));
    QVERIFY(connectAndWait(client));
    QSignalSpy acked(&client, &MqttClient::messageAcknowledged);
    QSignalSpy errors(&client, &MqttClient::errorOccurred);
    QSignalSpy failed(&client, &MqttClient::messageFailed);
    const int denied = client.publish("denied/x", "no", 1);
    const int allowed = client.publish("allowed/x", "yes", 1);
    QVERIFY(denied > 0 && allowed > 0);
    QTRY_COMPARE_WITH_TIMEOUT(acked.size(), 1, kWaitMs);
    QCOMPARE(acked.at(0).at(0).toInt(), allowed); // the refused one is kept by the caller
    QCOMPARE(errors.size(), 1);
    const auto rejection = errors.at(0).at(0).value<ClientError>();
    QCOMPARE(
        mqtt::clientErrorCodeName(rejection.code), mqtt::clientErrorCodeName(ClientErrorCode::PublishFailed));
    QVERIFY2(rejection.message.contains(u"message %1"_s.arg(denied)), qPrintable(rejection.message));
    QCOMPARE(failed.size(), 1); // the refused id is settled, so the caller can free its slot
    QCOMPARE(failed.at(0).at(0).toInt(), denied);
    const auto refusal = failed.at(0).at(1).value<ClientError>();
    QCOMPARE(
        mqtt::clientErrorCodeName(refusal.code), mqtt::clientErrorCodeName(ClientErrorCode::PublishFailed));
    QCOMPARE(refusal.message, rejection.message);
    QCOMPARE(client.inflightCount(), 0);
    QCOMPARE(client.state(), ClientState::Connected);
}

void TestMqttClient::brokerKilledThenReconnects()
{
    testsupport::MosquittoBroker broker;
    QVERIFY2(broker.start(), qPrintable(broker.errorString()));
    MqttClient client(optionsFor(broker.port()));
    QVERIFY(connectAndWait(client));

    QSignalSpy disconnected(&client, &MqttClient::disconnected);
    QSignalSpy errors(&client, &MqttClient::errorOccurred);
    QSignalSpy connected(&client, &MqttClient::connected);
    bool ackAfterDisconnect = false;
    connect(&client, &MqttClient::messageAcknowledged, this, [&](int) {
        ackAfterDisconnect = ackAfterDisconnect || (disconnected.size() > 0 && connected.isEmpty());
    });
    for (int i = 0; i < 20; ++i)
        QVERIFY(client.publish("k/t", payloadFor(i), 1) > 0);
    broker.kill();

    QVERIFY(disconnected.wait(kWaitMs));
    QCOMPARE(disconnected.size(), 1);
    QVERIFY(!errors.isEmpty());
    QCOMPARE(mqtt::clientErrorCodeName(errors.at(0).at(0).value<ClientError>().code),
        mqtt::clientErrorCodeName(ClientErrorCode::ConnectionLost));
    QCOMPARE(client.inflightCount(), 0); // abandoned with the handle
    QCOMPARE(client.publish("k/t", "while down", 1), -1);
    // Retries meet a closed port until the broker is back.
    QTRY_VERIFY_WITH_TIMEOUT(errors.size() >= 2, kWaitMs);
    QCOMPARE(mqtt::clientErrorCodeName(errors.last().at(0).value<ClientError>().code),
        mqtt::clientErrorCodeName(ClientErrorCode::ConnectionRefused));

    QVERIFY2(broker.restart(), qPrintable(broker.errorString()));
    QTRY_COMPARE_WITH_TIMEOUT(connected.size(), 1, kWaitMs);
    QCOMPARE(client.reconnects(), 1u);
    QCOMPARE(client.state(), ClientState::Connected);
    QVERIFY(!ackAfterDisconnect);
    QSignalSpy acked(&client, &MqttClient::messageAcknowledged);
    const int id = client.publish("k/t", "after restart", 1);
    QVERIFY(acked.wait(kWaitMs));
    QCOMPARE(acked.last().at(0).toInt(), id);
    QCOMPARE(disconnected.size(), 1);
}

void TestMqttClient::connectionRefusedBacksOffUntilDisconnect()
{
    const quint16 port = testsupport::detail::freeLoopbackPort();
    QVERIFY(port != 0);
    ClientOptions options = optionsFor(port);
    options.reconnectMinMs = 20;
    options.reconnectMaxMs = 80;
    MqttClient client(options);
    QSignalSpy errors(&client, &MqttClient::errorOccurred);
    QSignalSpy states(&client, &MqttClient::stateChanged);
    QSignalSpy connected(&client, &MqttClient::connected);
    QStringList retries;
    {
        LogCapture log;
        client.connectToHost();
        QTRY_VERIFY_WITH_TIMEOUT(errors.size() >= 5, kWaitMs);
        for (const QString &line : std::as_const(LogCapture::lines())) {
            if (line.contains(u"retry in"_s))
                retries.append(line.section(u"retry in "_s, 1));
        }
    }
    for (const QList<QVariant> &args : std::as_const(errors)) {
        const auto error = args.at(0).value<ClientError>();
        QCOMPARE(mqtt::clientErrorCodeName(error.code),
            mqtt::clientErrorCodeName(ClientErrorCode::ConnectionRefused));
        QVERIFY2(error.message.contains(u"127.0.0.1:%1"_s.arg(port)), qPrintable(error.message));
    }
    // The backoff doubles from the minimum and stays at the maximum.
    QVERIFY(retries.size() >= 5);
    QCOMPARE(retries.mid(0, 5), QStringList({u"20 ms"_s, u"40 ms"_s, u"80 ms"_s, u"80 ms"_s, u"80 ms"_s}));
    QCOMPARE(connected.size(), 0);

    QSignalSpy disconnected(&client, &MqttClient::disconnected);
    client.disconnectFromHost();
    QCOMPARE(disconnected.size(), 1);
    QCOMPARE(client.state(), ClientState::Disconnected);
    const qsizetype attempts = states.size();
    QVERIFY(!states.wait(400)); // five times the longest backoff: no attempt follows
    QCOMPARE(states.size(), attempts);
}

void TestMqttClient::connectTimeoutWhenBrokerIsSilent()
{
    WireBroker silent;
    silent.answerConnect = false;
    QVERIFY(silent.listen());
    ClientOptions options = optionsFor(silent.port());
    options.connectTimeoutMs = 300;
    options.autoReconnect = false;
    MqttClient client(options);
    QSignalSpy errors(&client, &MqttClient::errorOccurred);
    client.connectToHost();
    QVERIFY(errors.wait(kWaitMs));
    const auto error = errors.at(0).at(0).value<ClientError>();
    QCOMPARE(mqtt::clientErrorCodeName(error.code), mqtt::clientErrorCodeName(ClientErrorCode::Timeout));
    QVERIFY2(error.message.contains(u"no CONNACK from 127.0.0.1:%1"_s.arg(silent.port())),
        qPrintable(error.message));
    QCOMPARE(client.state(), ClientState::Disconnected);
}

void TestMqttClient::disconnectFromHostEmitsDisconnected()
{
    testsupport::MosquittoBroker broker;
    QVERIFY2(broker.start(), qPrintable(broker.errorString()));
    MqttClient client(optionsFor(broker.port()));
    QSignalSpy disconnected(&client, &MqttClient::disconnected);
    QSignalSpy errors(&client, &MqttClient::errorOccurred);
    client.disconnectFromHost(); // not connected: at once
    QCOMPARE(disconnected.size(), 1);

    QVERIFY(connectAndWait(client));
    client.disconnectFromHost();
    QCOMPARE(disconnected.size(), 2);
    QCOMPARE(client.state(), ClientState::Disconnected);
    // The broker saw a clean DISCONNECT, not a dropped socket.
    QTRY_VERIFY_WITH_TIMEOUT(broker.log().contains(u"Received DISCONNECT from dlmsbridge-"_s), kWaitMs);

    // Disconnecting from a slot of connected() (inside libmosquitto's callback) is safe too.
    connect(&client, &MqttClient::connected, &client, &MqttClient::disconnectFromHost);
    client.connectToHost();
    QTRY_COMPARE_WITH_TIMEOUT(disconnected.size(), 3, kWaitMs);
    QCOMPARE(client.state(), ClientState::Disconnected);
    QVERIFY(!disconnected.wait(300)); // and no reconnect follows
    QCOMPARE(errors.size(), 0);
}

void TestMqttClient::publishPacketSize_data()
{
    QTest::addColumn<ProtocolVersion>("version");
    QTest::addColumn<int>("qos");
    QTest::addColumn<int>("topicBytes");
    QTest::addColumn<int>("payloadBytes");
    QTest::addColumn<quint64>("expected");
    // expected = 1 + remaining-length bytes + remaining, remaining = 2 + topic (+ 2 id) (+ 1 props) +
    // payload.
    QTest::newRow("v311-qos0-empty-payload") << ProtocolVersion::V311 << 0 << 1 << 0 << quint64(5);
    QTest::newRow("v311-qos0-rl127") << ProtocolVersion::V311 << 0 << 3 << 122 << quint64(129);
    QTest::newRow("v311-qos0-rl128") << ProtocolVersion::V311 << 0 << 3 << 123 << quint64(131);
    QTest::newRow("v311-qos1-rl127") << ProtocolVersion::V311 << 1 << 3 << 120 << quint64(129);
    QTest::newRow("v311-qos1-rl128") << ProtocolVersion::V311 << 1 << 3 << 121 << quint64(131);
    QTest::newRow("v311-qos1-rl16383") << ProtocolVersion::V311 << 1 << 3 << 16376 << quint64(16386);
    QTest::newRow("v311-qos1-rl16384") << ProtocolVersion::V311 << 1 << 3 << 16377 << quint64(16388);
    QTest::newRow("v311-qos1-rl2097151") << ProtocolVersion::V311 << 1 << 3 << 2097144 << quint64(2097155);
    QTest::newRow("v311-qos1-rl2097152") << ProtocolVersion::V311 << 1 << 3 << 2097145 << quint64(2097157);
    QTest::newRow("v5-qos0-rl127") << ProtocolVersion::V5 << 0 << 3 << 121 << quint64(129);
    QTest::newRow("v5-qos0-rl128") << ProtocolVersion::V5 << 0 << 3 << 122 << quint64(131);
    QTest::newRow("v5-qos1-rl127") << ProtocolVersion::V5 << 1 << 3 << 119 << quint64(129);
    QTest::newRow("v5-qos1-rl128") << ProtocolVersion::V5 << 1 << 3 << 120 << quint64(131);
    QTest::newRow("v5-qos1-rl16383") << ProtocolVersion::V5 << 1 << 3 << 16375 << quint64(16386);
    QTest::newRow("v5-qos1-rl16384") << ProtocolVersion::V5 << 1 << 3 << 16376 << quint64(16388);
    QTest::newRow("v5-qos1-gateway-topic") << ProtocolVersion::V5 << 1 << 18 << 1000 << quint64(1026);
}

void TestMqttClient::publishPacketSize()
{
    QFETCH(ProtocolVersion, version);
    QFETCH(int, qos);
    QFETCH(int, topicBytes);
    QFETCH(int, payloadBytes);
    QFETCH(quint64, expected);
    QCOMPARE(MqttClient::publishPacketSize(topicBytes, payloadBytes, qos, version), expected);
}

void TestMqttClient::publishPacketSizeOnTheWire_data()
{
    publishPacketSize_data();
}

// What libmosquitto actually writes has exactly the size publishPacketSize() claims.
void TestMqttClient::publishPacketSizeOnTheWire()
{
    QFETCH(ProtocolVersion, version);
    QFETCH(int, qos);
    QFETCH(int, topicBytes);
    QFETCH(int, payloadBytes);
    QFETCH(quint64, expected);
    WireBroker wire;
    QVERIFY(wire.listen());
    MqttClient client(optionsFor(wire.port(), version));
    QVERIFY(connectAndWait(client));
    QSignalSpy acked(&client, &MqttClient::messageAcknowledged);
    const int id = client.publish(QByteArray(topicBytes, 't'), QByteArray(payloadBytes, 'p'), qos);
    QVERIFY(id > 0);
    QTRY_COMPARE_WITH_TIMEOUT(wire.publishSizes.size(), 1, kWaitMs);
    QCOMPARE(quint64(wire.publishSizes.at(0)), expected);
    QTRY_COMPARE_WITH_TIMEOUT(acked.size(), 1, kWaitMs);
    QCOMPARE(acked.at(0).at(0).toInt(), id);
}

// Run under ASan: the worker that runs the blocking connect may outlive the client.
void TestMqttClient::destroyWhileConnectingIsSafe()
{
    testsupport::MosquittoBroker broker;
    QVERIFY2(broker.start(), qPrintable(broker.errorString()));
    int destroyedConnecting = 0;
    for (int round = 0; round < 30; ++round) {
        auto client = std::make_unique<MqttClient>(optionsFor(broker.port()));
        client->connectToHost();
        // Vary how far the attempt got: still resolving, socket up, CONNACK on its way.
        for (int i = 0; i < round % 6; ++i)
            QCoreApplication::processEvents();
        if (client->state() == ClientState::Connecting)
            ++destroyedConnecting;
        client.reset();
    }
    QVERIFY(destroyedConnecting > 0);
    QVERIFY(QThreadPool::globalInstance()->waitForDone(kWaitMs));
    QCoreApplication::processEvents();

    // The broker is still fine and a new client connects.
    MqttClient client(optionsFor(broker.port()));
    QVERIFY(connectAndWait(client));
}

// As the application runs it: moved to an "mqtt" thread, driven with queued calls; its timers and
// socket notifiers must have moved with it.
void TestMqttClient::runsInItsOwnThread()
{
    testsupport::MosquittoBroker broker;
    QVERIFY2(broker.start(), qPrintable(broker.errorString()));
    QThread thread;
    thread.setObjectName(u"mqtt"_s);
    thread.start();
    auto *client = new MqttClient(optionsFor(broker.port()));
    client->moveToThread(&thread);
    connect(&thread, &QThread::finished, client, &QObject::deleteLater);
    int connectedCount = 0;
    QList<int> ackedIds;
    QList<int> returnedIds;
    connect(client, &MqttClient::connected, this, [&] { ++connectedCount; });
    connect(client, &MqttClient::messageAcknowledged, this, [&](int id) { ackedIds.append(id); });
    QMetaObject::invokeMethod(client, &MqttClient::connectToHost);
    QTRY_COMPARE_WITH_TIMEOUT(connectedCount, 1, kWaitMs);
    QMetaObject::invokeMethod(
        client,
        [client] {
            QList<int> ids;
            for (int i = 0; i < 100; ++i)
                ids.append(client->publish("thread/t", payloadFor(i), 1));
            return ids;
        },
        Qt::BlockingQueuedConnection, &returnedIds);
    QCOMPARE(returnedIds.size(), 100);
    QVERIFY(!returnedIds.contains(-1));
    QTRY_COMPARE_WITH_TIMEOUT(ackedIds.size(), 100, kWaitMs);
    std::sort(ackedIds.begin(), ackedIds.end());
    std::sort(returnedIds.begin(), returnedIds.end());
    QCOMPARE(ackedIds, returnedIds);
    thread.quit();
    QVERIFY(thread.wait(kWaitMs));
}

QTEST_GUILESS_MAIN(TestMqttClient)
#include "tst_mqttclient.moc"
