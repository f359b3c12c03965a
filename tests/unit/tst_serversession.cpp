#include "serverharness.h"
#include "serversession.h"
#include "testsupport.h"
#include "transportrows.h"

#include <clientsession.h>

#include <QtCore/QTimeZone>
#include <QtTest/QtTest>

#include <functional>

using namespace dlms;
using namespace sim;
using namespace Qt::StringLiterals;
using dlms::test::addTransportColumn;
using dlms::test::addTransportRows;

Q_DECLARE_METATYPE(dlms::Transport)
Q_DECLARE_METATYPE(dlms::Authentication)

namespace {

const Obis kClock(0, 0, 1, 0, 0, 255);
const Obis kSerial(0, 0, 96, 1, 0, 255);
const Obis kAssociation(0, 0, 40, 0, 0, 255);
const Obis kVoltageL1(1, 0, 32, 7, 0, 255);
const Obis kProfile(1, 0, 99, 1, 0, 255);

// The host clock every model in this file reads: mid-period, so captures differ from rows.
QDateTime fixedNow()
{
    return QDateTime(QDate(2026, 11, 23), QTime(10, 7, 30), QTimeZone::utc());
}

// The conformance our server grants a client that proposes everything usual.
constexpr quint32 kGranted = ConformanceGet | ConformanceSet | ConformanceAction | ConformanceSelectiveAccess
    | ConformanceBlockTransferWithGet | ConformancePriorityManagement | ConformanceMultipleReferences;

// A ClientSession and a ServerSession wired back to back in memory.
struct Pair {
    explicit Pair(Transport transport, MeterSettings settings = {},
        const std::function<void(ClientConfig &)> &tweak = {})
        : model(std::move(settings), fixedNow), server(model, transport), client([&] {
              ClientConfig config;
              config.transport = transport;
              if (tweak)
                  tweak(config);
              return config;
          }())
    {
    }

    MeterModel model;
    ServerSession server;
    ClientSession client;
    std::vector<ClientSession::Event> events;
    std::vector<QByteArray> serverFrames; // every frame the server produced, in order

    // Moves bytes both ways until neither side has anything to say.
    bool pump()
    {
        for (int round = 0; round < 200000; ++round) {
            const QByteArray out = client.takeOutgoing();
            if (!out.isEmpty())
                server.feed(out);
            std::vector<QByteArray> frames = server.takeOutgoing();
            for (QByteArray &frame : frames) {
                client.feed(frame);
                serverFrames.push_back(std::move(frame));
            }
            for (ClientSession::Event &event : client.takeEvents())
                events.push_back(std::move(event));
            if (out.isEmpty() && frames.empty())
                return true;
        }
        return false;
    }

    // The AARE the client got, accepted or not.
    std::optional<Aare> associate()
    {
        client.connect();
        if (!pump())
            return std::nullopt;
        for (const ClientSession::Event &event : events) {
            if (event.aare)
                return event.aare;
        }
        return std::nullopt;
    }

    std::optional<ClientSession::Response> responseTo(ClientSession::RequestId id)
    {
        if (!pump())
            return std::nullopt;
        for (const ClientSession::Event &event : events) {
            if (event.response && event.response->id == id)
                return event.response;
        }
        return std::nullopt;
    }

    Association associationAs(AccessLevel level) const
    {
        Association a;
        a.level = level;
        return a;
    }
};

// A hand-driven client for what ClientSession would never send (serverharness.h).
struct RawClient : test::ServerHarness {
    using ServerHarness::ServerHarness;

    std::optional<Aare> associate(const Aarq &aarq = {})
    {
        if (!connectLink())
            return std::nullopt;
        const auto answers = send(Apdu(aarq));
        if (answers.size() != 1)
            return std::nullopt;
        auto aare = decodeAare(answers.front());
        if (!aare)
            return std::nullopt;
        return aare.value();
    }
};

std::optional<Apdu> single(const std::vector<QByteArray> &apdus)
{
    if (apdus.size() != 1)
        return std::nullopt;
    auto decoded = decodeApdu(apdus.front());
    if (!decoded)
        return std::nullopt;
    return decoded.value();
}

GetRequest getNormal(const AttributeDescriptor &attribute, quint8 invokeId = 3)
{
    GetRequest request;
    request.invoke.invokeId = invokeId;
    request.items.push_back(AttributeRequest {attribute, std::nullopt});
    return request;
}

GetRequest getNext(quint32 blockNumber, quint8 invokeId = 3)
{
    GetRequest request;
    request.kind = GetRequest::Kind::Next;
    request.invoke.invokeId = invokeId;
    request.blockNumber = blockNumber;
    return request;
}

// GET-with-list naming the same attribute `n` times.
GetRequest getList(const AttributeDescriptor &attribute, int n, quint8 invokeId = 3)
{
    GetRequest request;
    request.kind = GetRequest::Kind::WithList;
    request.invoke.invokeId = invokeId;
    request.items.assign(size_t(n), AttributeRequest {attribute, std::nullopt});
    return request;
}

// Garbage that neither deframer can mistake for the start of a frame (no 0x00, no 0x7E).
QByteArray harmlessGarbage(qsizetype n)
{
    QByteArray bytes(n, Qt::Uninitialized);
    for (qsizetype i = 0; i < n; ++i)
        bytes[i] = char(0x20 + (i * 7) % 0x50);
    return bytes;
}

} // namespace

class tst_ServerSession : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void association_data();
    void association();
    void aarqReplacesAssociation_data() { addTransportRows(); }
    void aarqReplacesAssociation();
    void initiateRefused_data();
    void initiateRefused();
    void registerValueAndScalerInOneGet_data() { addTransportRows(); }
    void registerValueAndScalerInOneGet();
    void objectListByBlockTransfer_data() { addTransportRows(); }
    void objectListByBlockTransfer();
    void fullProfileByBlockTransfer_data() { addTransportRows(); }
    void fullProfileByBlockTransfer();
    void blocksFitTheNegotiatedPdu_data();
    void blocksFitTheNegotiatedPdu();
    void selectiveAccess_data();
    void selectiveAccess();
    void getNextErrors_data() { addTransportRows(); }
    void getNextErrors();
    void newGetAbandonsTransfer();
    void requestsBeforeAarq_data();
    void requestsBeforeAarq();
    void unknownOrUndecodableRequest_data();
    void unknownOrUndecodableRequest();
    void exceptionResponsesFault_data() { addTransportRows(); }
    void exceptionResponsesFault();
    void multipleReferencesOff_data() { addTransportRows(); }
    void multipleReferencesOff();
    void setClock_data();
    void setClock();
    void actionCapture_data();
    void actionCapture();
    void releaseEndsAssociation_data() { addTransportRows(); }
    void releaseEndsAssociation();
    void hdlcSegmentation();
    void hdlcAddressing_data();
    void hdlcAddressing();
    void hdlcDiscEndsAssociation();
    void wrapperWrongPortIgnored();
    void wrapperAssociationTiedToClientSap();
    void hostileGetWithListIsBounded();
    void overlongRequestRefused_data();
    void overlongRequestRefused();
    void conformanceRespected_data();
    void conformanceRespected();
    void garbageSkippedAndCounted_data() { addTransportRows(); }
    void garbageSkippedAndCounted();
    void fuzzNeverCrashes_data() { addTransportRows(); }
    void fuzzNeverCrashes();
};

void tst_ServerSession::association_data()
{
    addTransportColumn();
    QTest::addColumn<Authentication>("authentication");
    QTest::addColumn<QByteArray>("password");
    QTest::addColumn<bool>("requireAuthentication");
    QTest::addColumn<bool>("rejectFault");
    QTest::addColumn<bool>("accepted");
    QTest::addColumn<int>("diagnostic");
    QTest::addColumn<int>("level");

    for (Transport t : {Transport::Wrapper, Transport::Hdlc}) {
        const char *name = t == Transport::Wrapper ? "wrapper" : "hdlc";
        const int none = int(AcseUserDiagnostic::Null);
        QTest::addRow("%s-no-auth", name) << t << Authentication::None << QByteArray() << false << false
                                          << true << none << int(AccessLevel::Public);
        QTest::addRow("%s-lls-good-password", name)
            << t << Authentication::Low << QByteArray("12345678") << false << false << true << none
            << int(AccessLevel::Low);
        QTest::addRow("%s-lls-wrong-password", name)
            << t << Authentication::Low << QByteArray("12345679") << false << false << false
            << int(AcseUserDiagnostic::AuthenticationFailure) << 0;
        QTest::addRow("%s-lls-password-prefix", name)
            << t << Authentication::Low << QByteArray("1234") << false << false << false
            << int(AcseUserDiagnostic::AuthenticationFailure) << 0;
        QTest::addRow("%s-no-auth-but-required", name)
            << t << Authentication::None << QByteArray() << true << false << false
            << int(AcseUserDiagnostic::AuthenticationRequired) << 0;
        QTest::addRow("%s-lls-when-required", name) << t << Authentication::Low << QByteArray("12345678")
                                                    << true << false << true << none << int(AccessLevel::Low);
        // HLS-GMAC is accepted (tst_serversecurity); the other HLS mechanisms are not.
        QTest::addRow("%s-hls-sha256-refused", name)
            << t << Authentication::HighSha256 << QByteArray() << false << false << false
            << int(AcseUserDiagnostic::AuthenticationMechanismNameNotRecognised) << 0;
        QTest::addRow("%s-hls-md5-refused", name)
            << t << Authentication::HighMd5 << QByteArray() << false << false << false
            << int(AcseUserDiagnostic::AuthenticationMechanismNameNotRecognised) << 0;
        QTest::addRow("%s-reject-association-fault", name)
            << t << Authentication::Low << QByteArray("12345678") << false << true << false
            << int(AcseUserDiagnostic::NoReasonGiven) << 0;
    }
}

void tst_ServerSession::association()
{
    QFETCH(Transport, transport);
    QFETCH(Authentication, authentication);
    QFETCH(QByteArray, password);
    QFETCH(bool, requireAuthentication);
    QFETCH(bool, rejectFault);
    QFETCH(bool, accepted);
    QFETCH(int, diagnostic);
    QFETCH(int, level);

    MeterSettings settings;
    settings.requireAuthentication = requireAuthentication;
    settings.faults.rejectAssociation = rejectFault;
    Pair pair(transport, settings, [&](ClientConfig &c) {
        c.authentication = authentication;
        c.password = password;
        c.clientAddress = 32;
    });
    const auto aare = pair.associate();
    QVERIFY(aare);
    QCOMPARE(aare->accepted(), accepted);
    QCOMPARE(pair.server.associated(), accepted);
    QCOMPARE(pair.server.counters().associationsAccepted, accepted ? 1u : 0u);
    QCOMPARE(pair.server.counters().associationsRejected, accepted ? 0u : 1u);
    if (!accepted) {
        QCOMPARE(aare->result, AssociationResult::RejectedPermanent);
        QCOMPARE(aare->diagnosticSource, DiagnosticSource::ServiceUser);
        QCOMPARE(int(aare->diagnostic), diagnostic);
        QVERIFY(!aare->initiate);
        QCOMPARE(pair.client.state(), ClientSession::State::Failed);
        return;
    }
    QCOMPARE(pair.client.state(), ClientSession::State::Ready);
    QCOMPARE(pair.client.negotiatedConformance(), DefaultProposedConformance & kGranted);
    QCOMPARE(pair.client.serverMaxPduSize(), quint16(1024));
    const Association &association = *pair.server.association();
    QCOMPARE(int(association.level), level);
    QCOMPARE(association.clientSap, quint16(32));
    QCOMPARE(association.serverSap, quint16(1));
    QCOMPARE(association.authentication, authentication);
    QCOMPARE(association.conformance, DefaultProposedConformance & kGranted);
    QCOMPARE(association.clientMaxPdu, quint16(0xFFFF));
    QCOMPARE(association.serverMaxPdu, quint16(1024));
}

void tst_ServerSession::aarqReplacesAssociation()
{
    QFETCH(Transport, transport);
    MeterModel model({}, fixedNow);
    ServerSession server(model, transport);
    RawClient client(server, transport);

    QVERIFY(client.associate());
    QCOMPARE(server.association()->level, AccessLevel::Public);

    Aarq lls;
    lls.authentication = Authentication::Low;
    lls.authenticationValue = "12345678";
    const auto aare = client.send(Apdu(lls));
    QCOMPARE(aare.size(), size_t(1));
    QVERIFY(decodeAare(aare.front())->accepted());
    QCOMPARE(server.association()->level, AccessLevel::Low);

    // A refused AARQ leaves no association behind either.
    lls.authenticationValue = "wrong";
    const auto refused = client.send(Apdu(lls));
    QCOMPARE(refused.size(), size_t(1));
    QVERIFY(!decodeAare(refused.front())->accepted());
    QVERIFY(!server.associated());
    QCOMPARE(server.counters().associationsAccepted, 2u);
    QCOMPARE(server.counters().associationsRejected, 1u);
}

void tst_ServerSession::initiateRefused_data()
{
    QTest::addColumn<QByteArray>("aarq");
    QTest::addColumn<bool>("accepted");
    QTest::addColumn<int>("diagnostic");
    QTest::addColumn<int>("initiateError"); // -1: none

    auto aarqWith = [](const std::function<void(Aarq &)> &change) {
        Aarq aarq;
        change(aarq);
        return encodeApdu(aarq);
    };
    const int noReason = int(AcseUserDiagnostic::NoReasonGiven);
    QTest::newRow("dlms-version-5") << aarqWith([](Aarq &a) { a.initiate.dlmsVersion = 5; }) << false
                                    << noReason << 1;
    QTest::newRow("client-pdu-11") << aarqWith([](Aarq &a) { a.initiate.clientMaxReceivePduSize = 11; })
                                   << false << noReason << 3;
    QTest::newRow("client-pdu-12") << aarqWith([](Aarq &a) { a.initiate.clientMaxReceivePduSize = 12; })
                                   << true << 0 << -1;
    QTest::newRow("client-pdu-0-means-unlimited")
        << aarqWith([](Aarq &a) { a.initiate.clientMaxReceivePduSize = 0; }) << true << 0 << -1;
    QTest::newRow("ciphered-context") << aarqWith([](Aarq &a) { a.ciphered = true; }) << false
                                      << int(AcseUserDiagnostic::ApplicationContextNameNotSupported) << -1;
    QTest::newRow("ciphered-initiate")
        << aarqWith([](Aarq &a) { a.cipheredInitiate = QByteArray::fromHex("2110300000000102030405060708"); })
        << false << int(AcseUserDiagnostic::ApplicationContextNameNotSupported) << -1;
    // Short-name referencing: application context 2.16.756.5.8.1.2.
    QTest::newRow("short-name-context")
        << QByteArray::fromHex("601DA109060760857405080102BE10040E01000000065F1F0400007E1FFFFF") << false
        << int(AcseUserDiagnostic::ApplicationContextNameNotSupported) << -1;
    QTest::newRow("undecodable") << QByteArray::fromHex("6003A10100") << false << noReason << -1;
    QTest::newRow("empty-aarq") << QByteArray::fromHex("6000") << false << noReason << -1;
}

void tst_ServerSession::initiateRefused()
{
    QFETCH(QByteArray, aarq);
    QFETCH(bool, accepted);
    QFETCH(int, diagnostic);
    QFETCH(int, initiateError);

    MeterModel model({}, fixedNow);
    ServerSession server(model, Transport::Wrapper);
    RawClient client(server, Transport::Wrapper);
    const auto answer = single(client.send(aarq));
    QVERIFY(answer);
    const Aare *aare = std::get_if<Aare>(&*answer);
    QVERIFY(aare);
    QCOMPARE(aare->accepted(), accepted);
    QCOMPARE(server.associated(), accepted);
    QCOMPARE(int(aare->diagnostic), diagnostic);
    if (!accepted)
        QCOMPARE(aare->result, AssociationResult::RejectedPermanent);
    if (initiateError < 0) {
        QVERIFY(!aare->initiateErrorValue);
    } else {
        QCOMPARE(aare->initiateErrorType, std::optional<quint8>(6));
        QCOMPARE(aare->initiateErrorValue, std::optional<quint8>(quint8(initiateError)));
        QVERIFY(aare->describe().contains(
            initiateError == 1 ? u"dlms-version-too-low"_s : u"pdu-size-too-short"_s));
    }
}

void tst_ServerSession::registerValueAndScalerInOneGet()
{
    QFETCH(Transport, transport);
    Pair pair(transport);
    QVERIFY(pair.associate());
    const quint64 before = pair.server.counters().apdusReceived;

    const AttributeDescriptor value {3, kVoltageL1, 2};
    const AttributeDescriptor scaler {3, kVoltageL1, 3};
    const auto id = pair.client.getList({{value, std::nullopt}, {scaler, std::nullopt}});
    const auto response = pair.responseTo(id);
    QVERIFY(response);
    QVERIFY(!response->error);
    QCOMPARE(response->results.size(), size_t(2));
    const Association &association = *pair.server.association();
    QCOMPARE(response->results[0], pair.model.get(value, std::nullopt, association));
    QCOMPARE(response->results[1], pair.model.get(scaler, std::nullopt, association));
    QVERIFY(response->results[0].ok());
    QCOMPARE(response->results[1].value.items().size(), size_t(2)); // {scaler, unit}
    QCOMPARE(pair.server.counters().apdusReceived - before, 1u);
    QCOMPARE(response->blocks, 0);
}

void tst_ServerSession::objectListByBlockTransfer()
{
    QFETCH(Transport, transport);
    Pair pair(transport);
    QVERIFY(pair.associate());

    const auto id = pair.client.get({15, kAssociation, 2});
    const auto response = pair.responseTo(id);
    QVERIFY(response);
    QVERIFY2(!response->error, qPrintable(response->error ? response->error->message : QString()));
    QVERIFY(response->blocks > 1);
    QVERIFY(pair.server.counters().blocksSent > 1);
    QCOMPARE(quint64(response->blocks), pair.server.counters().blocksSent);
    QCOMPARE(response->results.front().value, pair.model.objectList(AccessLevel::Public));
}

void tst_ServerSession::fullProfileByBlockTransfer()
{
    QFETCH(Transport, transport);
    Pair pair(transport);
    QVERIFY(pair.associate());

    const AttributeDescriptor buffer {7, kProfile, 2};
    const auto id = pair.client.get(buffer);
    const auto response = pair.responseTo(id);
    QVERIFY(response);
    QVERIFY2(!response->error, qPrintable(response->error ? response->error->message : QString()));
    const DataResult expected = pair.model.get(buffer, std::nullopt, *pair.server.association());
    QVERIFY(expected.ok());
    QCOMPARE(expected.value.items().size(), size_t(10000));
    QCOMPARE(response->results.front(), expected);
    // ~210 KB in blocks of at most 1024 bytes.
    QVERIFY(response->blocks > 200);
}

void tst_ServerSession::blocksFitTheNegotiatedPdu_data()
{
    QTest::addColumn<int>("serverPdu");
    QTest::addColumn<int>("clientPdu");
    QTest::addColumn<int>("limit");
    QTest::newRow("server-1024") << 1024 << 0xFFFF << 1024;
    QTest::newRow("client-256-smaller") << 1024 << 256 << 256;
    QTest::newRow("client-12-minimum") << 1024 << 12 << 12;
    QTest::newRow("client-137-length-boundary") << 1024 << 137 << 137;
    QTest::newRow("client-138-length-boundary") << 1024 << 138 << 138;
    QTest::newRow("client-0-unlimited") << 2000 << 0 << 2000;
    QTest::newRow("server-65535") << 0xFFFF << 0xFFFF << 0xFFFF;
}

void tst_ServerSession::blocksFitTheNegotiatedPdu()
{
    QFETCH(int, serverPdu);
    QFETCH(int, clientPdu);
    QFETCH(int, limit);

    MeterSettings settings;
    settings.maxPduSize = quint16(serverPdu);
    settings.profileRows = 500;
    MeterModel model(settings, fixedNow);
    ServerSession server(model, Transport::Wrapper);
    RawClient client(server, Transport::Wrapper);
    Aarq aarq;
    aarq.initiate.clientMaxReceivePduSize = quint16(clientPdu);
    QVERIFY(client.associate(aarq));

    const AttributeDescriptor buffer {7, kProfile, 2};
    QByteArray data;
    quint32 expectedBlock = 1;
    std::vector<QByteArray> answers = client.send(Apdu(getNormal(buffer)));
    for (int guard = 0; guard < 100000; ++guard) {
        QCOMPARE(answers.size(), size_t(1));
        const QByteArray &apdu = answers.front();
        QVERIFY2(apdu.size() <= limit, qPrintable(u"%1 > %2"_s.arg(apdu.size()).arg(limit)));
        const auto response = decodeGetResponse(apdu);
        QVERIFY(response);
        if (response->kind == GetResponse::Kind::Normal) {
            QCOMPARE(limit, 0xFFFF); // only a big enough PDU takes the buffer whole
            data = encodeApdu(Apdu(*response));
            break;
        }
        QCOMPARE(response->kind, GetResponse::Kind::WithDatablock);
        QCOMPARE(response->blockNumber, expectedBlock);
        QVERIFY(!response->blockError);
        QVERIFY(!response->rawData.isEmpty());
        data += response->rawData;
        if (response->lastBlock)
            break;
        // Every block but the last fills the PDU as far as the length encoding lets it.
        QVERIFY2(apdu.size() >= limit - 2, qPrintable(u"%1 < %2 - 2"_s.arg(apdu.size()).arg(limit)));
        answers = client.send(Apdu(getNext(expectedBlock)));
        ++expectedBlock;
    }
    if (limit != 0xFFFF) {
        const auto decoded = decodeBlockData(data);
        QVERIFY(decoded);
        QCOMPARE(decoded->value, model.get(buffer, std::nullopt, *server.association()).value);
    }
}

void tst_ServerSession::selectiveAccess_data()
{
    addTransportColumn();
    QTest::addColumn<int>("selector");
    QTest::addColumn<int>("expectedRows"); // -1: whatever the model says

    for (Transport t : {Transport::Wrapper, Transport::Hdlc}) {
        const char *name = t == Transport::Wrapper ? "wrapper" : "hdlc";
        QTest::addRow("%s-entry-1-to-10", name) << t << 2 << 10;
        QTest::addRow("%s-entry-last-to-end", name) << t << 3 << 1;
        QTest::addRow("%s-range-last-day", name) << t << 1 << -1;
    }
}

void tst_ServerSession::selectiveAccess()
{
    QFETCH(Transport, transport);
    QFETCH(int, selector);
    QFETCH(int, expectedRows);

    Pair pair(transport);
    QVERIFY(pair.associate());
    SelectiveAccess access;
    switch (selector) {
    case 1: {
        const CaptureObject clock {8, kClock, 2, 0};
        const QDateTime to = fixedNow();
        const QDateTime from = to.addSecs(-24 * 3600);
        access
            = SelectiveAccess::range(clock, Value::octetString(CosemDateTime::fromQDateTime(from).toBytes()),
                Value::octetString(CosemDateTime::fromQDateTime(to).toBytes()));
        break;
    }
    case 2:
        access = SelectiveAccess::entry(1, 10);
        break;
    default:
        access = SelectiveAccess::entry(pair.model.profileEntries(), 0);
        break;
    }
    const AttributeDescriptor buffer {7, kProfile, 2};
    const auto id = pair.client.get(buffer, access);
    const auto response = pair.responseTo(id);
    QVERIFY(response);
    QVERIFY(!response->error);
    const DataResult expected = pair.model.get(buffer, access, *pair.server.association());
    QVERIFY(expected.ok());
    QCOMPARE(response->results.front(), expected);
    const size_t rows = expected.value.items().size();
    if (expectedRows >= 0)
        QCOMPARE(rows, size_t(expectedRows));
    else
        QVERIFY(rows == 96 || rows == 97);
}

void tst_ServerSession::getNextErrors()
{
    QFETCH(Transport, transport);
    MeterModel model({}, fixedNow);
    ServerSession server(model, transport);
    RawClient client(server, transport);
    QVERIFY(client.associate());

    // Nothing in progress yet.
    auto answer = single(client.send(Apdu(getNext(1))));
    QVERIFY(answer);
    auto *response = std::get_if<GetResponse>(&*answer);
    QVERIFY(response);
    QCOMPARE(response->kind, GetResponse::Kind::WithDatablock);
    QVERIFY(response->lastBlock);
    QCOMPARE(response->blockError, std::optional(DataAccessResult::NoLongGetInProgress));

    answer = single(client.send(Apdu(getNormal({15, kAssociation, 2}, 5))));
    QVERIFY(answer);
    response = std::get_if<GetResponse>(&*answer);
    QVERIFY(response);
    QCOMPARE(response->kind, GetResponse::Kind::WithDatablock);
    QCOMPARE(response->blockNumber, 1u);
    QCOMPARE(response->invoke.invokeId, quint8(5));
    QVERIFY(!response->lastBlock);

    // Acknowledging a block never sent ends the transfer with data-block-number-invalid.
    answer = single(client.send(Apdu(getNext(7, 5))));
    QVERIFY(answer);
    response = std::get_if<GetResponse>(&*answer);
    QVERIFY(response);
    QCOMPARE(response->kind, GetResponse::Kind::WithDatablock);
    QVERIFY(response->lastBlock);
    QVERIFY(response->rawData.isEmpty());
    QCOMPARE(response->blockError, std::optional(DataAccessResult::DataBlockNumberInvalid));
    QCOMPARE(response->invoke.invokeId, quint8(5));

    // The transfer was dropped: the right number now finds nothing in progress.
    answer = single(client.send(Apdu(getNext(1, 5))));
    QVERIFY(answer);
    response = std::get_if<GetResponse>(&*answer);
    QVERIFY(response);
    QCOMPARE(response->blockError, std::optional(DataAccessResult::NoLongGetInProgress));
}

void tst_ServerSession::newGetAbandonsTransfer()
{
    MeterModel model({}, fixedNow);
    ServerSession server(model, Transport::Wrapper);
    RawClient client(server, Transport::Wrapper);
    QVERIFY(client.associate());

    auto answer = single(client.send(Apdu(getNormal({15, kAssociation, 2}))));
    QVERIFY(answer);
    QCOMPARE(std::get<GetResponse>(*answer).kind, GetResponse::Kind::WithDatablock);

    answer = single(client.send(Apdu(getNormal({1, kSerial, 2}))));
    QVERIFY(answer);
    const GetResponse &serial = std::get<GetResponse>(*answer);
    QCOMPARE(serial.kind, GetResponse::Kind::Normal);
    QCOMPARE(serial.results.front().value.string(), model.serialNumber());

    answer = single(client.send(Apdu(getNext(1))));
    QVERIFY(answer);
    QCOMPARE(std::get<GetResponse>(*answer).blockError, std::optional(DataAccessResult::NoLongGetInProgress));
}

void tst_ServerSession::requestsBeforeAarq_data()
{
    addTransportColumn();
    QTest::addColumn<QByteArray>("apdu");
    SetRequest set;
    set.item.attribute = {8, kClock, 2};
    set.value = Value::octetString(CosemDateTime::fromQDateTime(fixedNow()).toBytes());
    ActionRequest action;
    action.method = {7, kProfile, 2};
    action.parameters = Value::integer(0);
    for (Transport t : {Transport::Wrapper, Transport::Hdlc}) {
        const char *name = t == Transport::Wrapper ? "wrapper" : "hdlc";
        QTest::addRow("%s-get", name) << t << encodeApdu(getNormal({1, kSerial, 2}));
        QTest::addRow("%s-get-next", name) << t << encodeApdu(getNext(1));
        QTest::addRow("%s-set", name) << t << encodeApdu(set);
        QTest::addRow("%s-action", name) << t << encodeApdu(action);
        QTest::addRow("%s-unknown-tag", name) << t << QByteArray::fromHex("DD0102");
    }
}

void tst_ServerSession::requestsBeforeAarq()
{
    QFETCH(Transport, transport);
    QFETCH(QByteArray, apdu);
    MeterModel model({}, fixedNow);
    ServerSession server(model, transport);
    RawClient client(server, transport);
    QVERIFY(client.connectLink());

    const auto answer = single(client.send(apdu));
    QVERIFY(answer);
    const auto *exception = std::get_if<ExceptionResponse>(&*answer);
    QVERIFY(exception);
    QCOMPARE(exception->describe(), u"service-not-allowed / operation-not-possible"_s);
    QVERIFY(!server.associated());
}

void tst_ServerSession::unknownOrUndecodableRequest_data()
{
    addTransportColumn();
    QTest::addColumn<QByteArray>("apdu");
    for (Transport t : {Transport::Wrapper, Transport::Hdlc}) {
        const char *name = t == Transport::Wrapper ? "wrapper" : "hdlc";
        QTest::addRow("%s-event-notification", name) << t << QByteArray::fromHex("C20009060000010000FF0200");
        QTest::addRow("%s-unknown-tag", name) << t << QByteArray::fromHex("FF00");
        QTest::addRow("%s-truncated-get", name) << t << QByteArray::fromHex("C001C10003");
        QTest::addRow("%s-get-bad-choice", name) << t << QByteArray::fromHex("C009C1");
        QTest::addRow("%s-truncated-set", name) << t << QByteArray::fromHex("C101C100080000010000FF02");
        QTest::addRow("%s-truncated-action", name) << t << QByteArray::fromHex("C301C10007");
        QTest::addRow("%s-a-response", name) << t << QByteArray::fromHex("C401C10000");
    }
}

void tst_ServerSession::unknownOrUndecodableRequest()
{
    QFETCH(Transport, transport);
    QFETCH(QByteArray, apdu);
    MeterModel model({}, fixedNow);
    ServerSession server(model, transport);
    RawClient client(server, transport);
    QVERIFY(client.associate());
    const quint64 malformed = server.counters().malformed;

    const auto answer = single(client.send(apdu));
    QVERIFY(answer);
    const auto *exception = std::get_if<ExceptionResponse>(&*answer);
    QVERIFY(exception);
    QCOMPARE(exception->describe(), u"service-unknown / service-not-supported"_s);
    QCOMPARE(server.counters().malformed, malformed + 1);

    // Still serving.
    const auto serial = single(client.send(Apdu(getNormal({1, kSerial, 2}))));
    QVERIFY(serial);
    QCOMPARE(std::get<GetResponse>(*serial).results.front().value.string(), model.serialNumber());
}

void tst_ServerSession::exceptionResponsesFault()
{
    QFETCH(Transport, transport);
    MeterSettings settings;
    settings.faults.exceptionResponses = true;
    Pair pair(transport, settings, [](ClientConfig &c) {
        c.authentication = Authentication::Low;
        c.password = "12345678";
    });
    QVERIFY(pair.associate());
    QVERIFY(pair.server.associated());

    const ClientSession::RequestId ids[] = {
        pair.client.get({1, kSerial, 2}),
        pair.client.set(
            {8, kClock, 2}, Value::octetString(CosemDateTime::fromQDateTime(fixedNow()).toBytes())),
        pair.client.action({7, kProfile, 2}, Value::integer(0)),
        pair.client.getList({{{1, kSerial, 2}, std::nullopt}, {{8, kClock, 2}, std::nullopt}}),
    };
    const quint32 entries = pair.model.profileEntries();
    for (ClientSession::RequestId id : ids) {
        const auto response = pair.responseTo(id);
        QVERIFY(response);
        QVERIFY(response->error);
        QVERIFY2(response->error->message.contains(u"service-not-allowed / operation-not-possible"_s),
            qPrintable(response->error->message));
    }
    QCOMPARE(pair.model.profileEntries(), entries);
    QCOMPARE(pair.model.now(), fixedNow());
}

void tst_ServerSession::multipleReferencesOff()
{
    QFETCH(Transport, transport);
    MeterSettings settings;
    settings.multipleReferences = false;
    Pair pair(transport, settings);
    QVERIFY(pair.associate());
    QVERIFY(!pair.client.supports(ConformanceMultipleReferences));
    QVERIFY(pair.client.supports(ConformanceGet));
    QVERIFY(pair.client.supports(ConformanceBlockTransferWithGet));

    const auto list = pair.responseTo(
        pair.client.getList({{{3, kVoltageL1, 2}, std::nullopt}, {{3, kVoltageL1, 3}, std::nullopt}}));
    QVERIFY(list);
    QVERIFY(list->error);
    QVERIFY2(list->error->message.contains(u"service-not-allowed / service-not-supported"_s),
        qPrintable(list->error->message));

    const auto one = pair.responseTo(pair.client.get({3, kVoltageL1, 2}));
    QVERIFY(one);
    QVERIFY(!one->error);
    QVERIFY(one->results.front().ok());
}

void tst_ServerSession::setClock_data()
{
    addTransportColumn();
    QTest::addColumn<Authentication>("authentication");
    QTest::addColumn<int>("result");
    for (Transport t : {Transport::Wrapper, Transport::Hdlc}) {
        const char *name = t == Transport::Wrapper ? "wrapper" : "hdlc";
        QTest::addRow("%s-public-denied", name)
            << t << Authentication::None << int(DataAccessResult::ReadWriteDenied);
        QTest::addRow("%s-low-allowed", name) << t << Authentication::Low << int(DataAccessResult::Success);
    }
}

void tst_ServerSession::setClock()
{
    QFETCH(Transport, transport);
    QFETCH(Authentication, authentication);
    QFETCH(int, result);
    Pair pair(transport, {}, [&](ClientConfig &c) {
        c.authentication = authentication;
        c.password = "12345678";
    });
    QVERIFY(pair.associate());
    const QDateTime target = fixedNow().addSecs(3600);
    const auto response = pair.responseTo(
        pair.client.set({8, kClock, 2}, Value::octetString(CosemDateTime::fromQDateTime(target).toBytes())));
    QVERIFY(response);
    QVERIFY(!response->error);
    QCOMPARE(int(response->results.front().result), result);
    QCOMPARE(pair.model.now(), result == int(DataAccessResult::Success) ? target : fixedNow());
}

void tst_ServerSession::actionCapture_data()
{
    addTransportColumn();
    QTest::addColumn<Authentication>("authentication");
    QTest::addColumn<int>("result");
    for (Transport t : {Transport::Wrapper, Transport::Hdlc}) {
        const char *name = t == Transport::Wrapper ? "wrapper" : "hdlc";
        QTest::addRow("%s-public-denied", name)
            << t << Authentication::None << int(DataAccessResult::ReadWriteDenied);
        QTest::addRow("%s-low-captures", name) << t << Authentication::Low << int(DataAccessResult::Success);
    }
}

void tst_ServerSession::actionCapture()
{
    QFETCH(Transport, transport);
    QFETCH(Authentication, authentication);
    QFETCH(int, result);
    MeterSettings settings;
    settings.profileRows = 20;
    Pair pair(transport, settings, [&](ClientConfig &c) {
        c.authentication = authentication;
        c.password = "12345678";
    });
    QVERIFY(pair.associate());

    const AttributeDescriptor buffer {7, kProfile, 2};
    auto lastRowClock = [&] {
        const auto last = pair.model.get(
            buffer, SelectiveAccess::entry(pair.model.profileEntries(), 0, 1, 1), *pair.server.association());
        return last.ok() && last.value.items().size() == 1 ? last.value.items().front().items().front()
                                                           : Value();
    };
    const Value before = lastRowClock();
    QVERIFY(!before.isNull());

    const auto response = pair.responseTo(pair.client.action({7, kProfile, 2}, Value::integer(0)));
    QVERIFY(response);
    QVERIFY(!response->error);
    QCOMPARE(int(response->results.front().result), result);
    const Value after = lastRowClock();
    if (result == int(DataAccessResult::Success)) {
        QVERIFY(after != before);
        QCOMPARE(after.asDateTime()->toQDateTime()->toUTC(), fixedNow());
    } else {
        QCOMPARE(after, before);
    }
}

void tst_ServerSession::releaseEndsAssociation()
{
    QFETCH(Transport, transport);
    Pair pair(transport);
    QVERIFY(pair.associate());
    QVERIFY(pair.server.associated());
    pair.client.release();
    QVERIFY(pair.pump());
    QVERIFY(std::any_of(pair.events.begin(), pair.events.end(),
        [](const ClientSession::Event &e) { return e.type == ClientSession::Event::Type::Released; }));
    QVERIFY(!pair.server.associated());

    // By hand: RLRQ → RLRE normal, then the services are refused.
    MeterModel model({}, fixedNow);
    ServerSession server(model, transport);
    RawClient client(server, transport);
    QVERIFY(client.associate());
    const auto rlre = single(client.send(Apdu(Rlrq {})));
    QVERIFY(rlre);
    QVERIFY(std::holds_alternative<Rlre>(*rlre));
    QCOMPARE(std::get<Rlre>(*rlre).reason, std::optional<quint8>(0));
    QVERIFY(!server.associated());
    const auto refused = single(client.send(Apdu(getNormal({1, kSerial, 2}))));
    QVERIFY(refused);
    QVERIFY(std::holds_alternative<ExceptionResponse>(*refused));
    QCOMPARE(std::get<ExceptionResponse>(*refused).stateError, quint8(1));
}

void tst_ServerSession::hdlcSegmentation()
{
    MeterSettings settings;
    settings.hdlc = {128, 128, 1, 1};
    settings.maxPduSize = 4096; // the object list fits one APDU: only HDLC splits it
    Pair pair(Transport::Hdlc, settings);
    QVERIFY(pair.associate());
    pair.serverFrames.clear();

    const auto response = pair.responseTo(pair.client.get({15, kAssociation, 2}));
    QVERIFY(response);
    QVERIFY(!response->error);
    QCOMPARE(response->blocks, 0); // one APDU ...
    QCOMPARE(response->results.front().value, pair.model.objectList(AccessLevel::Public));

    hdlc::Deframer deframer;
    int segmented = 0;
    int iFrames = 0;
    for (const QByteArray &bytes : pair.serverFrames) {
        deframer.feed(bytes);
        while (auto next = deframer.next()) {
            QVERIFY(*next);
            const hdlc::Frame &frame = next->value();
            QVERIFY(frame.info.size() <= 128);
            if (frame.type() == hdlc::FrameType::I) {
                ++iFrames;
                segmented += frame.segmented ? 1 : 0;
            }
        }
    }
    QVERIFY(iFrames > 8); // ... in several I frames
    QCOMPARE(segmented, iFrames - 1);
}

void tst_ServerSession::hdlcAddressing_data()
{
    QTest::addColumn<int>("physical"); // the meter's physical address; 0 = any
    QTest::addColumn<int>("upper");
    QTest::addColumn<int>("lower");
    QTest::addColumn<int>("size");
    QTest::addColumn<bool>("answered");

    QTest::newRow("one-byte-ours") << 0 << 1 << 0 << 1 << true;
    QTest::newRow("one-byte-other-logical") << 0 << 2 << 0 << 1 << false;
    QTest::newRow("two-byte-any-physical") << 0 << 1 << 17 << 2 << true;
    QTest::newRow("four-byte-any-physical") << 0 << 1 << 300 << 4 << true;
    QTest::newRow("two-byte-our-physical") << 17 << 1 << 17 << 2 << true;
    QTest::newRow("two-byte-other-physical") << 17 << 1 << 18 << 2 << false;
    QTest::newRow("four-byte-our-physical") << 17 << 1 << 17 << 4 << true;
    QTest::newRow("one-byte-when-physical-set") << 17 << 1 << 0 << 1 << false;
}

void tst_ServerSession::hdlcAddressing()
{
    QFETCH(int, physical);
    QFETCH(int, upper);
    QFETCH(int, lower);
    QFETCH(int, size);
    QFETCH(bool, answered);

    MeterSettings settings;
    settings.physicalAddress = quint16(physical);
    Pair pair(Transport::Hdlc, settings, [&](ClientConfig &c) {
        c.serverAddress = quint16(upper);
        c.physicalAddress = quint16(lower);
        c.serverAddressSize = quint8(size);
    });
    pair.client.connect();
    QVERIFY(pair.pump());
    QCOMPARE(pair.server.counters().ignoredFrames, answered ? 0u : 1u);
    if (!answered) {
        QVERIFY(pair.serverFrames.empty());
        QCOMPARE(pair.client.state(), ClientSession::State::LinkConnecting);
        return;
    }
    QCOMPARE(pair.client.state(), ClientSession::State::Ready);
    QVERIFY(pair.server.associated());
    // Answered from exactly the address used, size included.
    hdlc::Deframer deframer;
    deframer.feed(pair.serverFrames.front());
    const auto ua = deframer.next();
    QVERIFY(ua && *ua);
    QCOMPARE((*ua)->type(), hdlc::FrameType::UA);
    QCOMPARE((*ua)->source, hdlc::Address::server(quint16(upper), quint16(lower), quint8(size)));
    QCOMPARE((*ua)->destination, hdlc::Address::client(16));
}

void tst_ServerSession::hdlcDiscEndsAssociation()
{
    MeterModel model({}, fixedNow);
    ServerSession server(model, Transport::Hdlc);
    RawClient client(server, Transport::Hdlc);
    QVERIFY(client.associate());
    QVERIFY(server.associated());

    client.link->disconnect();
    (void)client.exchange();
    QCOMPARE(client.link->state(), hdlc::Link::State::Disconnected); // the server said UA
    QVERIFY(!server.associated());

    // The link is down: an I frame gets DM, no APDU is served.
    hdlc::Frame stray;
    stray.destination = hdlc::Address::server(1, 0);
    stray.source = hdlc::Address::client(16);
    stray.control = hdlc::control::i(0, 0, true);
    stray.info = QByteArray(hdlc::LlcRequest, 3) + encodeApdu(getNormal({1, kSerial, 2}));
    QByteArray bytes;
    QVERIFY(hdlc::encode(stray, bytes));
    server.feed(bytes);
    const auto out = server.takeOutgoing();
    QCOMPARE(out.size(), size_t(1));
    hdlc::Deframer deframer;
    deframer.feed(out.front());
    const auto dm = deframer.next();
    QVERIFY(dm && *dm);
    QCOMPARE((*dm)->type(), hdlc::FrameType::DM);
}

void tst_ServerSession::wrapperWrongPortIgnored()
{
    MeterModel model({}, fixedNow);
    ServerSession server(model, Transport::Wrapper);
    QByteArray frame;
    QVERIFY(wrapper::encode(16, 2, encodeApdu(Apdu(Aarq {})), frame));
    server.feed(frame);
    QVERIFY(!server.hasOutgoing());
    QCOMPARE(server.counters().ignoredFrames, 1u);
    QCOMPARE(server.counters().apdusReceived, 0u);

    // Answers go back to whichever wPort asked.
    frame.clear();
    QVERIFY(wrapper::encode(48, 1, encodeApdu(Apdu(Aarq {})), frame));
    server.feed(frame);
    const auto out = server.takeOutgoing();
    QCOMPARE(out.size(), size_t(1));
    wrapper::Deframer deframer;
    deframer.feed(out.front());
    const auto answer = deframer.next();
    QVERIFY(answer && *answer);
    QCOMPARE((*answer)->sourcePort, quint16(1));
    QCOMPARE((*answer)->destinationPort, quint16(48));
    QCOMPARE(server.association()->clientSap, quint16(48));
}

void tst_ServerSession::wrapperAssociationTiedToClientSap()
{
    MeterModel model({}, fixedNow);
    ServerSession server(model, Transport::Wrapper);
    auto exchange = [&server](quint16 sap, const Apdu &apdu) {
        QByteArray frame;
        (void)wrapper::encode(sap, 1, encodeApdu(apdu), frame);
        server.feed(frame);
        return server.takeOutgoing();
    };
    QCOMPARE(exchange(16, Aarq {}).size(), size_t(1));
    QCOMPARE(server.association()->clientSap, quint16(16));

    // Another SAP's GET and RLRQ are not answered and leave the association alone.
    QVERIFY(exchange(32, getNormal({1, kSerial, 2})).empty());
    QVERIFY(exchange(32, Rlrq {}).empty());
    QCOMPARE(server.counters().ignoredFrames, 2u);
    QVERIFY(server.associated());
    QCOMPARE(exchange(16, getNormal({1, kSerial, 2})).size(), size_t(1));

    // Its AARQ is heard and moves the association to it.
    QCOMPARE(exchange(32, Aarq {}).size(), size_t(1));
    QCOMPARE(server.association()->clientSap, quint16(32));
    QVERIFY(exchange(16, getNormal({1, kSerial, 2})).empty());
    QCOMPARE(server.counters().ignoredFrames, 3u);
    QCOMPARE(exchange(32, getNormal({1, kSerial, 2})).size(), size_t(1));
}

void tst_ServerSession::hostileGetWithListIsBounded()
{
    // The full 10,000-row profile named 100 times: a 1004-byte request, within the meter's PDU.
    MeterModel model({}, fixedNow);
    ServerSession server(model, Transport::Wrapper);
    RawClient client(server, Transport::Wrapper);
    QVERIFY(client.associate() && client.associate()->accepted());
    const AttributeDescriptor buffer {7, kProfile, 2};
    const int n = 100;
    const QByteArray request = encodeApdu(Apdu(getList(buffer, n)));
    QCOMPARE(request.size(), qsizetype(1004));

    QByteArray data;
    auto answer = single(client.send(request));
    for (quint32 block = 1;; ++block) {
        QVERIFY(answer);
        const auto *response = std::get_if<GetResponse>(&*answer);
        QVERIFY(response && response->kind == GetResponse::Kind::WithDatablock);
        QVERIFY(!response->blockError);
        QCOMPARE(response->blockNumber, block);
        data += response->rawData;
        QVERIFY(data.size() <= ServerSession::MaxResponseBytes);
        if (response->lastBlock)
            break;
        answer = single(client.send(Apdu(getNext(block))));
    }

    // Every profile read is the same (fixed clock): the answer is k whole results, then
    // temporary-failure for each item past the cap, none of them evaluated.
    QByteArray one;
    axdr::encode(model.get(buffer, std::nullopt, Association {}).value, one);
    QVERIFY(one.size() > 100000);
    const qsizetype prefix = 1; // list length 100
    const qsizetype k = (ServerSession::MaxResponseBytes - prefix) / (one.size() + 1);
    QVERIFY(k > 0 && k < n);
    QByteArray expected(1, char(n));
    for (qsizetype i = 0; i < k; ++i) {
        expected.append(char(0x00));
        expected.append(one);
    }
    for (qsizetype i = k; i < n; ++i)
        expected.append(QByteArrayLiteral("\x01\x02"));
    QCOMPARE(data.size(), expected.size());
    QVERIFY(data == expected);
    QVERIFY(!server.hasOutgoing());
}

void tst_ServerSession::overlongRequestRefused_data()
{
    addTransportColumn();
    QTest::addColumn<int>("items");
    QTest::addColumn<bool>("refused");
    for (Transport t : {Transport::Wrapper, Transport::Hdlc}) {
        const char *name = t == Transport::Wrapper ? "wrapper" : "hdlc";
        // 4 header bytes + 10 bytes an item: 102 items are exactly the 1024-byte PDU.
        QTest::addRow("%s-exactly-max-pdu", name) << t << 102 << false;
        QTest::addRow("%s-one-item-over", name) << t << 103 << true;
        QTest::addRow("%s-far-over", name) << t << 200 << true;
    }
}

void tst_ServerSession::overlongRequestRefused()
{
    QFETCH(Transport, transport);
    QFETCH(int, items);
    QFETCH(bool, refused);
    MeterSettings settings;
    settings.profileRows = 2;
    MeterModel model(settings, fixedNow);
    ServerSession server(model, transport);
    RawClient client(server, transport);
    QVERIFY(client.associate() && client.associate()->accepted());

    const QByteArray request = encodeApdu(Apdu(getList({3, kVoltageL1, 2}, items)));
    QCOMPARE(request.size() > 1024, refused);
    const auto answer = single(client.send(request));
    QVERIFY(answer);
    if (refused) {
        const auto *exception = std::get_if<ExceptionResponse>(&*answer);
        QVERIFY(exception);
        QCOMPARE(exception->stateError, quint8(1)); // service-not-allowed
        QCOMPARE(exception->serviceError, quint8(4)); // pdu-too-long
        QCOMPARE(server.counters().malformed, 1u);
    } else {
        QVERIFY(std::holds_alternative<GetResponse>(*answer));
        QCOMPARE(server.counters().malformed, 0u);
    }
    // The association survives: the next request is served.
    const auto next = single(client.send(Apdu(getNormal({1, kSerial, 2}))));
    QVERIFY(next && std::holds_alternative<GetResponse>(*next));
    QVERIFY(std::get<GetResponse>(*next).results.front().ok());
}

void tst_ServerSession::conformanceRespected_data()
{
    addTransportColumn();
    QTest::addColumn<quint32>("proposed");
    QTest::addColumn<QString>("request");
    QTest::addColumn<QString>("expected");
    const quint32 get = ConformanceGet;
    const quint32 block = ConformanceBlockTransferWithGet;
    const quint32 selective = ConformanceSelectiveAccess;
    const quint32 list = ConformanceMultipleReferences;
    for (Transport t : {Transport::Wrapper, Transport::Hdlc}) {
        const char *name = t == Transport::Wrapper ? "wrapper" : "hdlc";
        auto row = [&](const char *caseName) -> QTestData & {
            return QTest::addRow("%s-%s", name, caseName) << t;
        };
        row("none-get") << 0u << u"get"_s << u"exception"_s;
        row("none-set") << 0u << u"set"_s << u"exception"_s;
        row("none-action") << 0u << u"action"_s << u"exception"_s;
        row("none-get-next") << 0u << u"next"_s << u"exception"_s;
        row("get-only-get") << get << u"get"_s << u"data"_s;
        row("get-only-set") << get << u"set"_s << u"exception"_s;
        row("get-only-action") << get << u"action"_s << u"exception"_s;
        row("get-only-selective") << get << u"selective"_s << u"scope-violated"_s;
        row("get-only-next") << get << u"next"_s << u"exception"_s;
        row("get-block-next") << (get | block) << u"next"_s << u"no-long-get"_s;
        row("get-selective") << (get | selective) << u"selective"_s << u"data"_s;
        row("list-selective-item") << (get | list) << u"list-selective"_s << u"list-scope-violated"_s;
        row("set-only-set") << quint32(ConformanceSet) << u"set"_s << u"set-response"_s;
        row("action-only-action") << quint32(ConformanceAction) << u"action"_s << u"action-response"_s;
    }
}

void tst_ServerSession::conformanceRespected()
{
    QFETCH(Transport, transport);
    QFETCH(quint32, proposed);
    QFETCH(QString, request);
    QFETCH(QString, expected);
    MeterSettings settings;
    settings.profileRows = 4;
    MeterModel model(settings, fixedNow);
    ServerSession server(model, transport);
    RawClient client(server, transport);
    Aarq aarq;
    aarq.initiate.proposedConformance = proposed;
    const auto aare = client.associate(aarq);
    QVERIFY(aare && aare->accepted());
    QCOMPARE(server.association()->conformance, proposed);

    const SelectiveAccess firstRow = SelectiveAccess::entry(1, 1, 0, 0);
    std::optional<Apdu> answer;
    if (request == u"get") {
        answer = single(client.send(Apdu(getNormal({1, kSerial, 2}))));
    } else if (request == u"selective") {
        GetRequest get = getNormal({7, kProfile, 2});
        get.items.front().access = firstRow;
        answer = single(client.send(Apdu(get)));
    } else if (request == u"list-selective") {
        GetRequest get = getList({7, kProfile, 2}, 2);
        get.items.back().access = firstRow;
        answer = single(client.send(Apdu(get)));
    } else if (request == u"next") {
        answer = single(client.send(Apdu(getNext(1))));
    } else if (request == u"set") {
        SetRequest set;
        set.item.attribute = {8, kClock, 2};
        set.value = Value::octetString(QByteArray(12, '\0'));
        answer = single(client.send(Apdu(set)));
    } else {
        ActionRequest action;
        action.method = {7, kProfile, 2};
        action.parameters = Value::integer(0);
        answer = single(client.send(Apdu(action)));
    }
    QVERIFY(answer);

    const auto *get = std::get_if<GetResponse>(&*answer);
    if (expected == u"exception") {
        const auto *exception = std::get_if<ExceptionResponse>(&*answer);
        QVERIFY(exception);
        QCOMPARE(exception->stateError, quint8(1)); // service-not-allowed
        QCOMPARE(exception->serviceError, quint8(2)); // service-not-supported
    } else if (expected == u"data") {
        QVERIFY(get && get->results.size() == 1);
        QVERIFY(get->results.front().ok());
    } else if (expected == u"scope-violated") {
        QVERIFY(get && get->results.size() == 1);
        QCOMPARE(get->results.front().result, DataAccessResult::ScopeOfAccessViolated);
    } else if (expected == u"list-scope-violated") {
        QVERIFY(get && get->kind == GetResponse::Kind::WithList && get->results.size() == 2);
        QVERIFY(get->results.front().ok()); // the same attribute without selective access
        QCOMPARE(get->results.back().result, DataAccessResult::ScopeOfAccessViolated);
    } else if (expected == u"no-long-get") {
        QVERIFY(get && get->kind == GetResponse::Kind::WithDatablock);
        QCOMPARE(get->blockError.value_or(DataAccessResult::Success), DataAccessResult::NoLongGetInProgress);
    } else if (expected == u"set-response") {
        const auto *set = std::get_if<SetResponse>(&*answer);
        QVERIFY(set);
        QCOMPARE(set->result, DataAccessResult::ReadWriteDenied); // public: the clock is read-only
    } else {
        const auto *action = std::get_if<ActionResponse>(&*answer);
        QVERIFY(action);
        QCOMPARE(action->result, DataAccessResult::ReadWriteDenied); // public: no capture
    }
    QCOMPARE(server.counters().associationsAccepted, 1u);
}

void tst_ServerSession::garbageSkippedAndCounted()
{
    QFETCH(Transport, transport);
    MeterModel model({}, fixedNow);
    ServerSession server(model, transport);
    ClientConfig config;
    config.transport = transport;
    ClientSession client(config);

    // Garbage before and between every piece the client sends; all answered.
    qsizetype garbage = 0;
    auto send = [&] {
        const QByteArray out = client.takeOutgoing();
        if (out.isEmpty())
            return false;
        const QByteArray junk = harmlessGarbage(13 + garbage % 5);
        garbage += junk.size();
        server.feed(QByteArray(junk + out));
        for (const QByteArray &frame : server.takeOutgoing())
            client.feed(frame);
        return true;
    };
    client.connect();
    while (send()) { }
    QVERIFY(server.associated());
    const auto id = client.get({1, kSerial, 2});
    while (send()) { }
    bool answered = false;
    for (const ClientSession::Event &event : client.takeEvents()) {
        if (event.response && event.response->id == id) {
            answered = !event.response->error
                && event.response->results.front().value.string() == model.serialNumber();
        }
    }
    QVERIFY(answered);
    QVERIFY(garbage > 0);
    QCOMPARE(server.counters().garbageBytes, quint64(garbage));
    QCOMPARE(server.counters().malformed, 0u);
}

void tst_ServerSession::fuzzNeverCrashes()
{
    QFETCH(Transport, transport);
    QRandomGenerator rng(0xD1A5 + quint32(transport));
    MeterSettings settings;
    settings.profileRows = 50;

    // Well-formed material to mutate: what a real client sends through a whole session.
    std::vector<QByteArray> seeds;
    {
        MeterModel model(settings, fixedNow);
        ServerSession server(model, transport);
        ClientConfig config;
        config.transport = transport;
        config.authentication = Authentication::Low;
        config.password = "12345678";
        ClientSession client(config);
        auto exchange = [&] {
            for (QByteArray out = client.takeOutgoing(); !out.isEmpty(); out = client.takeOutgoing()) {
                seeds.push_back(out);
                server.feed(out);
                for (const QByteArray &frame : server.takeOutgoing())
                    client.feed(frame);
            }
        };
        client.connect();
        exchange();
        client.get({15, kAssociation, 2});
        client.getList({{{3, kVoltageL1, 2}, std::nullopt}, {{3, kVoltageL1, 3}, std::nullopt}});
        client.get({7, kProfile, 2}, SelectiveAccess::entry(1, 5));
        client.set({8, kClock, 2}, Value::octetString(CosemDateTime::fromQDateTime(fixedNow()).toBytes()));
        client.action({7, kProfile, 2}, Value::integer(0));
        exchange();
        client.release();
        exchange();
    }
    QVERIFY(seeds.size() > 6);

    quint64 answers = 0;
    for (int round = 0; round < 1000; ++round) {
        MeterModel model(settings, fixedNow);
        ServerSession server(model, transport);
        // Start from a valid prefix of the session so mutations reach the deeper states.
        const int prefix = rng.bounded(int(seeds.size()));
        QVERIFY(prefix < int(seeds.size()));
        for (int i = 0; i < prefix; ++i)
            server.feed(seeds[size_t(i)]);
        (void)server.takeOutgoing();
        // Mostly a mutation of what would come next, so it meets the state that expects it.
        auto pick = [&]() -> const QByteArray & {
            return rng.bounded(4) != 0 ? seeds[size_t(prefix)]
                                       : seeds[size_t(rng.bounded(int(seeds.size())))];
        };

        QByteArray input;
        switch (rng.bounded(4)) {
        case 0:
            input = test::randomBytes(rng, rng.bounded(1, 300));
            break;
        case 1: { // flip bytes; inside an HDLC frame's information field the checksums stay valid
            input = pick();
            if (transport == Transport::Hdlc && rng.bounded(4) != 0) {
                hdlc::Deframer d;
                d.feed(input);
                QByteArray reframed;
                for (auto &next : test::drain(d)) {
                    if (!next)
                        continue;
                    hdlc::Frame frame = next.value();
                    if (rng.bounded(3) == 0)
                        frame.control = quint8(rng.bounded(256));
                    for (int n = rng.bounded(1, 4); n > 0 && !frame.info.isEmpty(); --n)
                        frame.info[rng.bounded(frame.info.size())] = char(rng.bounded(256));
                    if (rng.bounded(4) == 0)
                        frame.info.truncate(rng.bounded(frame.info.size() + 1));
                    (void)hdlc::encode(frame, reframed);
                }
                input = reframed;
            } else {
                for (int n = rng.bounded(1, 6); n > 0; --n)
                    input[rng.bounded(input.size())] = char(rng.bounded(256));
            }
            break;
        }
        case 2: { // truncate, then append random bytes
            input = pick();
            input.truncate(rng.bounded(input.size() + 1));
            input += test::randomBytes(rng, rng.bounded(20));
            break;
        }
        default: { // splice two frames and insert junk in the middle
            const QByteArray &a = pick();
            const QByteArray &b = seeds[size_t(rng.bounded(int(seeds.size())))];
            input = a.first(rng.bounded(a.size() + 1)) + test::randomBytes(rng, rng.bounded(8))
                + b.sliced(rng.bounded(b.size() + 1));
            break;
        }
        }
        // In random chunks, as TCP would deliver them.
        for (qsizetype at = 0; at < input.size();) {
            const qsizetype n = std::min<qsizetype>(rng.bounded(1, 64), input.size() - at);
            server.feed(QByteArrayView(input).sliced(at, n));
            at += n;
        }
        // Whatever comes out is well framed, one complete frame per element.
        for (const QByteArray &frame : server.takeOutgoing()) {
            ++answers;
            if (transport == Transport::Wrapper) {
                wrapper::Deframer d;
                d.feed(frame);
                const auto got = test::drain(d);
                QCOMPARE(got.size(), size_t(1));
                QVERIFY(got.front().ok());
            } else {
                hdlc::Deframer d;
                d.feed(frame);
                const auto got = test::drain(d);
                QCOMPARE(got.size(), size_t(1));
                QVERIFY(got.front().ok());
            }
        }
    }
    // The mutations reach the server's answering code, not only the deframers.
    QVERIFY2(answers > 100, qPrintable(QString::number(answers)));
}

QTEST_GUILESS_MAIN(tst_ServerSession)
#include "tst_serversession.moc"
