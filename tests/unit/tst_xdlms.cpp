#include "testsupport.h"
#include "xdlms.h"

#include <QtCore/QRandomGenerator>
#include <QtTest/QTest>

#include <functional>

using namespace dlms;
using namespace dlms::test;
using namespace Qt::StringLiterals;

namespace {

constexpr quint32 Seed = 0x0D1A'5EED;

const Obis Clock(0, 0, 1, 0, 0, 255);
const Obis ActiveEnergy(1, 0, 1, 8, 0, 255);
const Obis LoadProfile(1, 0, 99, 1, 0, 255);

AttributeRequest attr(
    quint16 classId, const Obis &obis, qint8 attribute, std::optional<SelectiveAccess> access = {})
{
    return AttributeRequest {AttributeDescriptor {classId, obis, attribute}, std::move(access)};
}

GetRequest getNormal(AttributeRequest item, InvokeIdAndPriority invoke = {})
{
    GetRequest g;
    g.invoke = invoke;
    g.items.push_back(std::move(item));
    return g;
}

GetResponse normalResponse(DataResult result)
{
    GetResponse g;
    g.results.push_back(std::move(result));
    return g;
}

DataResult ok(Value v)
{
    return DataResult {DataAccessResult::Success, std::move(v)};
}

DataResult failed(DataAccessResult r)
{
    return DataResult {r, Value()};
}

QByteArray repeat(const QByteArray &unit, int times)
{
    QByteArray out;
    for (int i = 0; i < times; ++i)
        out += unit;
    return out;
}

// The decoder for whatever the first byte says, reduced to "the error, if any".
std::optional<Error> decodeFailure(QByteArrayView b, const axdr::Limits &limits = {})
{
    auto failure = [](const auto &result) -> std::optional<Error> {
        if (result.ok())
            return std::nullopt;
        return result.error();
    };
    switch (b.isEmpty() ? 0 : quint8(b[0])) {
    case 0xC0:
        return failure(decodeGetRequest(b, limits));
    case 0xC4:
        return failure(decodeGetResponse(b, limits));
    case 0xC1:
        return failure(decodeSetRequest(b, limits));
    case 0xC5:
        return failure(decodeSetResponse(b));
    case 0xC3:
        return failure(decodeActionRequest(b, limits));
    case 0xC7:
        return failure(decodeActionResponse(b, limits));
    case 0xD8:
        return failure(decodeExceptionResponse(b));
    case 0x0E:
        return failure(decodeConfirmedServiceError(b));
    }
    return failure(decodeGetRequest(b, limits));
}

class ValueGenerator {
public:
    explicit ValueGenerator(quint32 seed) : m_rng(seed) { }

    QRandomGenerator &rng() { return m_rng; }

    QByteArray bytes(int max) { return randomBytes(m_rng, m_rng.bounded(max + 1)); }

    Value value(int depth = 0)
    {
        const int kinds = depth < 3 ? 15 : 13;
        switch (m_rng.bounded(kinds)) {
        case 0:
            return Value::null();
        case 1:
            return Value::boolean(m_rng.bounded(2) == 1);
        case 2:
            return Value::integer(qint8(m_rng.bounded(256)));
        case 3:
            return Value::long16(qint16(m_rng.bounded(65536)));
        case 4:
            return Value::doubleLong(qint32(m_rng.generate()));
        case 5:
            return Value::long64(qint64(m_rng.generate64()));
        case 6:
            return Value::unsigned8(quint8(m_rng.bounded(256)));
        case 7:
            return Value::longUnsigned(quint16(m_rng.bounded(65536)));
        case 8:
            return Value::doubleLongUnsigned(m_rng.generate());
        case 9:
            return Value::long64Unsigned(m_rng.generate64());
        case 10:
            return Value::enumeration(quint8(m_rng.bounded(256)));
        case 11:
            return Value::octetString(bytes(m_rng.bounded(2) ? 12 : 300));
        case 12:
            return Value::visibleString(QByteArray(m_rng.bounded(20), 'a' + char(m_rng.bounded(26))));
        case 13:
        case 14: {
            ValueList items;
            const int n = m_rng.bounded(m_rng.bounded(8) == 0 ? 140 : 5);
            for (int i = 0; i < n; ++i)
                items.push_back(value(depth + 1));
            return m_rng.bounded(2) ? Value::array(std::move(items)) : Value::structure(std::move(items));
        }
        }
        return Value();
    }

    Obis obis()
    {
        return Obis(quint8(m_rng.bounded(256)), quint8(m_rng.bounded(256)), quint8(m_rng.bounded(256)),
            quint8(m_rng.bounded(256)), quint8(m_rng.bounded(256)), quint8(m_rng.bounded(256)));
    }

    InvokeIdAndPriority invoke()
    {
        return InvokeIdAndPriority {quint8(m_rng.bounded(16)), m_rng.bounded(2) == 1, m_rng.bounded(2) == 1};
    }

    AttributeRequest attributeRequest()
    {
        AttributeRequest a;
        a.attribute = AttributeDescriptor {quint16(m_rng.bounded(65536)), obis(), qint8(m_rng.bounded(256))};
        if (m_rng.bounded(3) == 0)
            a.access = SelectiveAccess {quint8(m_rng.bounded(256)), value()};
        return a;
    }

    DataResult dataResult()
    {
        if (m_rng.bounded(4) == 0) {
            static const DataAccessResult errors[]
                = {DataAccessResult::HardwareFault, DataAccessResult::ObjectUndefined,
                    DataAccessResult::ReadWriteDenied, DataAccessResult::OtherReason};
            return failed(errors[m_rng.bounded(4)]);
        }
        return ok(value());
    }

private:
    QRandomGenerator m_rng;
};

} // namespace

class TestXdlms : public QObject {
    Q_OBJECT

private slots:
    void getRequest_data();
    void getRequest();
    void getResponse_data();
    void getResponse();
    void setAndAction();
    void exceptions_data();
    void exceptions();
    void bad_data();
    void bad();
    void hugeListCountFailsFast();
    void nestingLimit();
    void captureObject();
    void captureObjectBad_data();
    void captureObjectBad();
    void selectiveAccess();
    void blockData();
    void blockDataBad_data();
    void blockDataBad();
    void dataAccessResultNames_data();
    void dataAccessResultNames();
    void describeTexts_data();
    void describeTexts();
    void roundTripRandom();
};

void TestXdlms::getRequest_data()
{
    QTest::addColumn<GetRequest>("request");
    QTest::addColumn<QByteArray>("bytes");

    QTest::newRow("normal-register-energy")
        << getNormal(attr(3, ActiveEnergy, 2)) << hex("C001C100030100010800FF0200");
    QTest::newRow("normal-data-0.0.43.1.0.255")
        << getNormal(attr(1, Obis(0, 0, 43, 1, 0, 255), 2)) << hex("C001C100010000 2B0100FF 0200");
    QTest::newRow("normal-iid-5-unconfirmed-normal-priority") << getNormal(attr(3, ActiveEnergy, 3),
        InvokeIdAndPriority {5, false, false}) << hex("C0010500030100010800FF0300");
    QTest::newRow("normal-attribute-minus-1")
        << getNormal(attr(0xFFFF, Obis(255, 255, 255, 255, 255, 255), -1))
        << hex("C001C1FFFFFFFFFFFFFFFFFF00");
    {
        GetRequest next;
        next.kind = GetRequest::Kind::Next;
        next.blockNumber = 1;
        QTest::newRow("next-block-1") << next << hex("C002C100000001");
        next.blockNumber = 0xFFFFFFFF;
        QTest::newRow("next-block-max") << next << hex("C002C1FFFFFFFF");
    }
    {
        GetRequest list;
        list.kind = GetRequest::Kind::WithList;
        QTest::newRow("with-list-0") << list << hex("C003C100");
        list.items = {attr(1, Obis(0, 0, 42, 0, 0, 255), 2), attr(8, Clock, 2)};
        QTest::newRow("with-list-2") << list
                                     << hex("C003C102 0001 00002A0000FF 02 00 0008 0000010000FF 02 00");
        list.items.assign(127, attr(3, ActiveEnergy, 2));
        QTest::newRow("with-list-127-short-count")
            << list << hex("C003C17F") + repeat(hex("00030100010800FF0200"), 127);
        list.items.assign(128, attr(3, ActiveEnergy, 2));
        QTest::newRow("with-list-128-long-count")
            << list << hex("C003C18180") + repeat(hex("00030100010800FF0200"), 128);
        list.items.assign(256, attr(3, ActiveEnergy, 2));
        QTest::newRow("with-list-256-two-byte-count")
            << list << hex("C003C1820100") + repeat(hex("00030100010800FF0200"), 256);
    }
    {
        // dlms-cosem's range descriptor: clock-restricted, 2017-10-01 00:00 .. 01:00, all columns.
        const CaptureObject clock {8, Clock, 2, 0};
        const Value from = Value::octetString(hex("07E10A0107000000 00FFC480"));
        const Value to = Value::octetString(hex("07E10A0107010000 00FFC480"));
        QTest::newRow("normal-range-access")
            << getNormal(attr(7, LoadProfile, 2, SelectiveAccess::range(clock, from, to)))
            << hex("C001C100070100630100FF0201 01 0204 0204 120008 0906 0000010000FF 0F02 120000"
                   "090C 07E10A010700000000FFC480 090C 07E10A010701000000FFC480 0100");
        QTest::newRow("normal-range-access-two-columns")
            << getNormal(attr(7, LoadProfile, 2,
                   SelectiveAccess::range(clock, from, to, {clock, CaptureObject {3, ActiveEnergy, 2, 0}})))
            << hex("C001C100070100630100FF0201 01 0204 0204 120008 0906 0000010000FF 0F02 120000"
                   "090C 07E10A010700000000FFC480 090C 07E10A010701000000FFC480"
                   "0102 0204 120008 0906 0000010000FF 0F02 120000 0204 120003 0906 0100010800FF 0F02 "
                   "120000");
        QTest::newRow("normal-entry-access")
            << getNormal(attr(7, LoadProfile, 2, SelectiveAccess::entry(1, 10)))
            << hex("C001C100070100630100FF0201 02 0204 0600000001 060000000A 120001 120000");
    }
}

void TestXdlms::getRequest()
{
    QFETCH(GetRequest, request);
    QFETCH(QByteArray, bytes);
    QCOMPARE(encoded(request).toHex(' '), bytes.toHex(' '));
    const auto decoded = decodeGetRequest(bytes);
    QVERIFY2(decoded.ok(), qPrintable(decoded.ok() ? QString() : decoded.error().message));
    QVERIFY(*decoded == request);
    for (qsizetype n = 0; n < bytes.size(); ++n) {
        const auto prefix = decodeGetRequest(QByteArrayView(bytes).first(n));
        QVERIFY2(!prefix.ok(), qPrintable(QStringLiteral("prefix %1 decoded").arg(n)));
    }
}

void TestXdlms::getResponse_data()
{
    QTest::addColumn<GetResponse>("response");
    QTest::addColumn<QByteArray>("bytes");

    QTest::newRow("normal-double-long-unsigned-5009")
        << normalResponse(ok(Value::doubleLongUnsigned(5009))) << hex("C401C1000600001391");
    QTest::newRow("normal-hardware-fault")
        << normalResponse(failed(DataAccessResult::HardwareFault)) << hex("C401C10101");
    QTest::newRow("normal-object-undefined")
        << normalResponse(failed(DataAccessResult::ObjectUndefined)) << hex("C401C10104");
    QTest::newRow("normal-null-data") << normalResponse(ok(Value())) << hex("C401C10000");
    QTest::newRow("normal-scaler-unit")
        << normalResponse(ok(Value::structure({Value::integer(-3), Value::enumeration(30)})))
        << hex("C401C1000202 0FFD 161E");
    {
        GetResponse block;
        block.kind = GetResponse::Kind::WithDatablock;
        block.blockNumber = 1;
        block.rawData = hex("0102030405");
        QTest::newRow("datablock-first-5-bytes") << block << hex("C402C1 00 00000001 00 05 0102030405");
        block.rawData = QByteArray(127, char(0x11));
        QTest::newRow("datablock-raw-127") << block << hex("C402C10000000001007F") + block.rawData;
        block.rawData = QByteArray(128, char(0x22));
        QTest::newRow("datablock-raw-128") << block << hex("C402C1000000000100 8180") + block.rawData;
        block.rawData = QByteArray(256, char(0x33));
        block.lastBlock = true;
        block.blockNumber = 2;
        QTest::newRow("datablock-last-raw-256") << block << hex("C402C1010000000200 820100") + block.rawData;
        block.rawData.clear();
        QTest::newRow("datablock-empty") << block << hex("C402C101000000020000");
        block.blockNumber = 19;
        block.blockError = DataAccessResult::HardwareFault;
        QTest::newRow("datablock-last-error") << block << hex("C402C101000000130101");
    }
    {
        GetResponse list;
        list.kind = GetResponse::Kind::WithList;
        list.results = {ok(Value::octetString("ISK1030777764366"_ba)),
            ok(Value::octetString(hex("07E50603040E091700FFC400")))};
        QTest::newRow("with-list-two-octet-strings")
            << list
            << hex("C403C102 00 0910 49534B31303330373737373634333636 00 090C 07E50603040E091700FFC400");
        list.results = {ok(Value::doubleLongUnsigned(5009)), failed(DataAccessResult::ObjectUndefined)};
        QTest::newRow("with-list-value-and-error") << list << hex("C403C102 00 0600001391 01 04");
        list.results.clear();
        QTest::newRow("with-list-empty") << list << hex("C403C100");
        list.results.assign(128, failed(DataAccessResult::ReadWriteDenied));
        QTest::newRow("with-list-128-errors") << list << hex("C403C18180") + repeat(hex("0103"), 128);
    }
}

void TestXdlms::getResponse()
{
    QFETCH(GetResponse, response);
    QFETCH(QByteArray, bytes);
    QCOMPARE(encoded(response).toHex(' '), bytes.toHex(' '));
    const auto decoded = decodeGetResponse(bytes);
    QVERIFY2(decoded.ok(), qPrintable(decoded.ok() ? QString() : decoded.error().message));
    QVERIFY(*decoded == response);
    for (qsizetype n = 0; n < bytes.size(); ++n) {
        const auto prefix = decodeGetResponse(QByteArrayView(bytes).first(n));
        QVERIFY2(!prefix.ok(), qPrintable(QStringLiteral("prefix %1 decoded").arg(n)));
    }
}

void TestXdlms::setAndAction()
{
    struct Row {
        const char *name;
        QByteArray bytes;
        std::function<QByteArray()> encodeIt;
        std::function<bool(QByteArrayView)> decodesToIt;
    };
    std::vector<Row> rows;

    auto setRow = [&](const char *name, SetRequest s, QByteArray bytes) {
        rows.push_back({name, bytes, [s] { return encoded(s); },
            [s](QByteArrayView b) {
                auto d = decodeSetRequest(b);
                return d.ok() && *d == s;
            }});
    };
    auto setResponseRow = [&](const char *name, SetResponse s, QByteArray bytes) {
        rows.push_back({name, bytes, [s] { return encoded(s); },
            [s](QByteArrayView b) {
                auto d = decodeSetResponse(b);
                return d.ok() && *d == s;
            }});
    };
    auto actionRow = [&](const char *name, ActionRequest a, QByteArray bytes) {
        rows.push_back({name, bytes, [a] { return encoded(a); },
            [a](QByteArrayView b) {
                auto d = decodeActionRequest(b);
                return d.ok() && *d == a;
            }});
    };
    auto actionResponseRow = [&](const char *name, ActionResponse a, QByteArray bytes) {
        rows.push_back({name, bytes, [a] { return encoded(a); },
            [a](QByteArrayView b) {
                auto d = decodeActionResponse(b);
                return d.ok() && *d == a;
            }});
    };

    SetRequest setClock;
    setClock.item = attr(8, Clock, 2);
    setClock.value = Value::octetString(hex("07E50118FF0E303950FFC400"));
    setRow("set-clock", setClock, hex("C101C1 0008 0000010000FF 02 00 090C 07E50118FF0E303950FFC400"));
    SetRequest setWithAccess;
    setWithAccess.invoke = InvokeIdAndPriority {2, true, false};
    setWithAccess.item = attr(7, LoadProfile, 2, SelectiveAccess::entry(1, 1, 1, 1));
    setWithAccess.value = Value::array({});
    setRow("set-with-entry-access", setWithAccess,
        hex("C10142 00070100630100FF02 01 02 0204 0600000001 0600000001 120001 120001 0100"));

    setResponseRow("set-response-success", SetResponse {}, hex("C501C100"));
    setResponseRow("set-response-read-write-denied",
        SetResponse {SetResponse::Kind::Normal, {}, DataAccessResult::ReadWriteDenied}, hex("C501C103"));

    ActionRequest reply;
    reply.invoke = InvokeIdAndPriority {0, true, true};
    reply.method = MethodDescriptor {15, Obis(0, 0, 40, 0, 0, 255), 1};
    reply.parameters = Value::octetString(hex("1000001A90E6D2221FA2FD85EED61ACC22"));
    actionRow("action-reply-to-hls", reply,
        hex("C301C0000F0000280000FF0101 0911 1000001A90E6D2221FA2FD85EED61ACC22"));
    ActionRequest noParameters = reply;
    noParameters.parameters.reset();
    actionRow("action-no-parameters", noParameters, hex("C301C0000F0000280000FF0100"));
    ActionRequest nullParameters = reply;
    nullParameters.parameters = Value();
    actionRow("action-null-parameter", nullParameters, hex("C301C0000F0000280000FF010100"));

    ActionResponse done;
    done.invoke = InvokeIdAndPriority {0, true, true};
    actionResponseRow("action-response-success", done, hex("C701C00000"));
    ActionResponse withData = done;
    withData.returnParameters = ok(Value::octetString(hex("1000001AFDE8857B728A3499106AA665D1")));
    actionResponseRow(
        "action-response-with-data", withData, hex("C701C0000100 0911 1000001AFDE8857B728A3499106AA665D1"));
    ActionResponse withError = done;
    withError.returnParameters = failed(DataAccessResult::OtherReason);
    actionResponseRow("action-response-data-error", withError, hex("C701C0000101FA"));
    ActionResponse unavailable;
    unavailable.result = DataAccessResult::ObjectUnavailable;
    actionResponseRow("action-response-object-unavailable", unavailable, hex("C701C10B00"));

    for (const Row &row : rows) {
        QCOMPARE(row.encodeIt().toHex(' '), row.bytes.toHex(' '));
        QVERIFY2(row.decodesToIt(row.bytes), row.name);
        for (qsizetype n = 0; n < row.bytes.size(); ++n)
            QVERIFY2(decodeFailure(QByteArrayView(row.bytes).first(n)).has_value(),
                qPrintable(QStringLiteral("%1: prefix %2 decoded").arg(QLatin1StringView(row.name)).arg(n)));
    }
}

void TestXdlms::exceptions_data()
{
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<QString>("text");

    QTest::newRow("exception-not-allowed-not-possible")
        << hex("D80101") << u"service-not-allowed / operation-not-possible"_s;
    QTest::newRow("exception-unknown-not-supported")
        << hex("D80202") << u"service-unknown / service-not-supported"_s;
    QTest::newRow("exception-other-reason") << hex("D80103") << u"service-not-allowed / other-reason"_s;
    QTest::newRow("exception-pdu-too-long") << hex("D80104") << u"service-not-allowed / pdu-too-long"_s;
    QTest::newRow("exception-deciphering-error")
        << hex("D80105") << u"service-not-allowed / deciphering-error"_s;
    QTest::newRow("exception-invocation-counter") << hex(
        "D8010600000100") << u"service-not-allowed / invocation-counter-error (expected counter 256)"_s;
    QTest::newRow("exception-unknown-values") << hex("D80909") << u"state-error 9 / service-error 9"_s;
    QTest::newRow("cse-initiate-dlms-version")
        << hex("0E010601") << u"initiateError: initiate / dlms-version-too-low"_s;
    QTest::newRow("cse-initiate-conformance")
        << hex("0E010602") << u"initiateError: initiate / incompatible-conformance"_s;
    QTest::newRow("cse-initiate-pdu-size")
        << hex("0E010603") << u"initiateError: initiate / pdu-size-too-short"_s;
    QTest::newRow("cse-read-access-hardware-fault") << hex("0E050503") << u"read: access / hardware-fault"_s;
    QTest::newRow("cse-write-definition-undefined")
        << hex("0E060401") << u"write: definition / object-undefined"_s;
    QTest::newRow("cse-service-unsupported")
        << hex("0E010302") << u"initiateError: service / service-unsupported"_s;
    QTest::newRow("cse-terminate-upload-task") << hex("0E130904") << u"terminateUpLoad: task / ti-unusable"_s;
    QTest::newRow("cse-unknown") << hex("0E2A0B07") << u"service 42: error-type 11 / 7"_s;
}

void TestXdlms::exceptions()
{
    QFETCH(QByteArray, bytes);
    QFETCH(QString, text);
    if (quint8(bytes[0]) == 0xD8) {
        const auto decoded = decodeExceptionResponse(bytes);
        QVERIFY(decoded.ok());
        QCOMPARE(decoded->describe(), text);
        QCOMPARE(encoded(*decoded).toHex(), bytes.toHex());
    } else {
        const auto decoded = decodeConfirmedServiceError(bytes);
        QVERIFY(decoded.ok());
        QCOMPARE(decoded->describe(), text);
        QCOMPARE(encoded(*decoded).toHex(), bytes.toHex());
    }
    for (qsizetype n = 0; n < bytes.size(); ++n)
        QVERIFY(decodeFailure(QByteArrayView(bytes).first(n)).has_value());
    QVERIFY(decodeFailure(QByteArray(bytes + char(0))).has_value());
}

void TestXdlms::bad_data()
{
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<ErrorCode>("code");

    QTest::newRow("get-request-empty") << QByteArray() << ErrorCode::Truncated;
    QTest::newRow("get-request-tag-only") << hex("C0") << ErrorCode::Truncated;
    QTest::newRow("get-request-choice-4") << hex("C004C100000001") << ErrorCode::Malformed;
    QTest::newRow("get-request-access-flag-2") << hex("C001C100030100010800FF0202") << ErrorCode::Malformed;
    QTest::newRow("get-request-trailing") << hex("C001C100030100010800FF020000") << ErrorCode::Malformed;
    QTest::newRow("get-request-next-trailing") << hex("C002C10000000100") << ErrorCode::Malformed;
    QTest::newRow("get-request-with-list-count-ffffff") << hex("C003C183FFFFFF") << ErrorCode::LengthTooLarge;
    QTest::newRow("get-request-with-list-count-2-one-item")
        << hex("C003C102 00030100010800FF0200") << ErrorCode::LengthTooLarge;
    QTest::newRow("get-request-with-list-count-form-85") << hex("C003C1850000000001") << ErrorCode::Malformed;
    QTest::newRow("get-request-access-unknown-data-tag")
        << hex("C001C100070100630100FF0201011E") << ErrorCode::UnknownTag;
    QTest::newRow("get-response-choice-0") << hex("C400C10000") << ErrorCode::Malformed;
    QTest::newRow("get-response-result-choice-2") << hex("C401C10200") << ErrorCode::Malformed;
    QTest::newRow("get-response-unknown-data-tag") << hex("C401C1001E") << ErrorCode::UnknownTag;
    QTest::newRow("get-response-value-trailing") << hex("C401C100060000139100") << ErrorCode::Malformed;
    QTest::newRow("get-response-block-choice-2") << hex("C402C1000000000102") << ErrorCode::Malformed;
    QTest::newRow("get-response-block-raw-short") << hex("C402C100000000010005 0102") << ErrorCode::Truncated;
    QTest::newRow("get-response-block-raw-length-ffffffff")
        << hex("C402C1000000000100 84FFFFFFFF 00") << ErrorCode::Truncated;
    QTest::newRow("get-response-block-raw-length-indefinite")
        << hex("C402C1000000000100 80") << ErrorCode::Malformed;
    QTest::newRow("get-response-block-error-trailing")
        << hex("C402C10100000001010100") << ErrorCode::Malformed;
    QTest::newRow("get-response-with-list-count-ffffff")
        << hex("C403C183FFFFFF 0000") << ErrorCode::LengthTooLarge;
    QTest::newRow("get-response-with-list-count-ffffffff")
        << hex("C403C184FFFFFFFF 0000") << ErrorCode::LengthTooLarge;
    QTest::newRow("get-response-with-list-trailing") << hex("C403C101 0104 00") << ErrorCode::Malformed;
    QTest::newRow("set-request-with-first-datablock")
        << hex("C102C100010000800000FF0200000000000115") << ErrorCode::Unsupported;
    QTest::newRow("set-request-no-value") << hex("C101C100080000010000FF0200") << ErrorCode::Truncated;
    QTest::newRow("set-response-with-datablock") << hex("C502C100000001") << ErrorCode::Unsupported;
    QTest::newRow("set-response-trailing") << hex("C501C10000") << ErrorCode::Malformed;
    QTest::newRow("action-request-next-pblock") << hex("C302C100000001") << ErrorCode::Unsupported;
    QTest::newRow("action-request-flag-2") << hex("C301C0000F0000280000FF0102") << ErrorCode::Malformed;
    QTest::newRow("action-request-trailing") << hex("C301C0000F0000280000FF010000") << ErrorCode::Malformed;
    QTest::newRow("action-response-with-pblock") << hex("C702C100000001") << ErrorCode::Unsupported;
    QTest::newRow("action-response-flag-2") << hex("C701C00002") << ErrorCode::Malformed;
    QTest::newRow("action-response-result-choice-2") << hex("C701C0000102") << ErrorCode::Malformed;
    QTest::newRow("exception-trailing") << hex("D8010200") << ErrorCode::Malformed;
    QTest::newRow("exception-counter-short") << hex("D8010600") << ErrorCode::Truncated;
    QTest::newRow("cse-trailing") << hex("0E01060100") << ErrorCode::Malformed;
}

void TestXdlms::bad()
{
    QFETCH(QByteArray, bytes);
    QFETCH(ErrorCode, code);
    const std::optional<Error> error = decodeFailure(bytes);
    QVERIFY(error.has_value());
    QCOMPARE(errorCodeName(error->code), errorCodeName(code));
    QVERIFY(!error->message.isEmpty());
}

void TestXdlms::hugeListCountFailsFast()
{
    // The count is checked against the bytes present before anything is reserved: a claim of
    // 4 billion items in a 9-byte APDU is refused at once, not after a 4 GB allocation.
    const auto request = decodeGetRequest(hex("C003C184FFFFFFFF00"));
    QVERIFY(!request.ok());
    QCOMPARE(request.error().code, ErrorCode::LengthTooLarge);
    QVERIFY2(request.error().message.contains(u"4294967295"), qPrintable(request.error().message));
    const auto list = decodeBlockDataList(hex("83FFFFFF0000"));
    QVERIFY(!list.ok());
    QCOMPARE(list.error().code, ErrorCode::LengthTooLarge);
}

void TestXdlms::nestingLimit()
{
    QByteArray deep = hex("C401C100");
    for (int i = 0; i < 100; ++i)
        deep += hex("0101");
    deep += hex("00");
    const auto failure = decodeFailure(deep);
    QVERIFY(failure.has_value());
    QCOMPARE(failure->code, ErrorCode::NestingTooDeep);

    // The caller's limits reach the value decoder.
    const QByteArray three = hex("C401C100 0101 0101 0101 00");
    QVERIFY(!decodeFailure(three).has_value());
    QCOMPARE(decodeFailure(three, axdr::Limits {1})->code, ErrorCode::NestingTooDeep);
    const QByteArray access = hex("C001C100070100630100FF0201 01 0101 0101 0101 00");
    QVERIFY(!decodeFailure(access).has_value());
    QCOMPARE(decodeFailure(access, axdr::Limits {1})->code, ErrorCode::NestingTooDeep);
}

void TestXdlms::captureObject()
{
    const CaptureObject clock {8, Clock, 2, 0};
    const QByteArray bytes = hex("0204 120008 0906 0000010000FF 0F02 120000");
    QCOMPARE(axdr::encode(clock.toValue()).toHex(' '), bytes.toHex(' '));
    const auto value = axdr::decodeAll(bytes);
    QVERIFY(value.ok());
    const auto back = CaptureObject::fromValue(*value);
    QVERIFY(back.ok());
    QVERIFY(*back == clock);

    const CaptureObject column {7, LoadProfile, -1, 0xFFFF};
    const auto columnBack = CaptureObject::fromValue(column.toValue());
    QVERIFY(columnBack.ok());
    QVERIFY(*columnBack == column);
    QCOMPARE(axdr::encode(column.toValue()).toHex(' '),
        hex("0204 120007 0906 0100630100FF 0FFF 12FFFF").toHex(' '));

    // Meters that send the attribute index as unsigned are accepted.
    const auto lenient = CaptureObject::fromValue(Value::structure({Value::longUnsigned(8),
        Value::octetString(Clock.toBytes()), Value::unsigned8(2), Value::longUnsigned(0)}));
    QVERIFY(lenient.ok());
    QVERIFY(*lenient == clock);
}

void TestXdlms::captureObjectBad_data()
{
    QTest::addColumn<Value>("value");

    const Value ln = Value::octetString(Clock.toBytes());
    QTest::newRow("not-a-structure") << Value::array(
        {Value::longUnsigned(8), ln, Value::integer(2), Value::longUnsigned(0)});
    QTest::newRow("three-elements") << Value::structure({Value::longUnsigned(8), ln, Value::integer(2)});
    QTest::newRow("logical-name-5-bytes") << Value::structure({Value::longUnsigned(8),
        Value::octetString(hex("0000010000")), Value::integer(2), Value::longUnsigned(0)});
    QTest::newRow("logical-name-visible-string") << Value::structure({Value::longUnsigned(8),
        Value::visibleString("abcdef"_ba), Value::integer(2), Value::longUnsigned(0)});
    QTest::newRow("class-id-octet-string")
        << Value::structure({Value::octetString("ab"_ba), ln, Value::integer(2), Value::longUnsigned(0)});
    QTest::newRow("class-id-negative")
        << Value::structure({Value::long16(-1), ln, Value::integer(2), Value::longUnsigned(0)});
    QTest::newRow("attribute-200") << Value::structure(
        {Value::longUnsigned(8), ln, Value::longUnsigned(200), Value::longUnsigned(0)});
    QTest::newRow("data-index-70000") << Value::structure(
        {Value::longUnsigned(8), ln, Value::integer(2), Value::doubleLongUnsigned(70000)});
}

void TestXdlms::captureObjectBad()
{
    QFETCH(Value, value);
    const auto object = CaptureObject::fromValue(value);
    QVERIFY(!object.ok());
    QCOMPARE(object.error().code, ErrorCode::Malformed);
    QVERIFY(object.error().message.startsWith(u"capture object"));
}

void TestXdlms::selectiveAccess()
{
    const SelectiveAccess entry = SelectiveAccess::entry(5, 0, 2, 3);
    QCOMPARE(entry.selector, quint8(2));
    QCOMPARE(axdr::encode(entry.parameters).toHex(' '),
        hex("0204 0600000005 0600000000 120002 120003").toHex(' '));
    const SelectiveAccess defaults = SelectiveAccess::entry(1, 0xFFFFFFFF);
    QCOMPARE(axdr::encode(defaults.parameters).toHex(' '),
        hex("0204 0600000001 06FFFFFFFF 120001 120000").toHex(' '));

    const SelectiveAccess range = SelectiveAccess::range(
        CaptureObject {8, Clock, 2, 0}, Value::doubleLongUnsigned(1), Value::doubleLongUnsigned(2));
    QCOMPARE(range.selector, quint8(1));
    QCOMPARE(axdr::encode(range.parameters).toHex(' '),
        hex("0204 0204 120008 0906 0000010000FF 0F02 120000 0600000001 0600000002 0100").toHex(' '));
}

void TestXdlms::blockData()
{
    // A 2-row profile buffer, as the concatenated datablocks of a Normal GET.
    const QByteArray buffer = hex("0102 0202 090C07E50603040E091700FFC400 0600000001"
                                  "0202 090C07E50603040F091700FFC400 0600000002");
    const auto decoded = decodeBlockData(buffer);
    QVERIFY(decoded.ok());
    QVERIFY(decoded->ok());
    QCOMPARE(decoded->value.type(), DataType::Array);
    QCOMPARE(decoded->value.items().size(), size_t(2));
    QCOMPARE(decoded->value.items()[1].items()[1], Value::doubleLongUnsigned(2));
    QByteArray again;
    encodeDataResult(*decoded, again);
    QCOMPARE(again.toHex(), buffer.toHex());

    // WithList: a count, then Get-Data-Results.
    const QByteArray list = hex("03 00 0600001391 01 04 00 0202 0FFD 161E");
    const auto results = decodeBlockDataList(list);
    QVERIFY(results.ok());
    const std::vector<DataResult> expected
        = {ok(Value::doubleLongUnsigned(5009)), failed(DataAccessResult::ObjectUndefined),
            ok(Value::structure({Value::integer(-3), Value::enumeration(30)}))};
    QVERIFY(*results == expected);
    QByteArray listAgain;
    encodeDataResultList(expected, listAgain);
    QCOMPARE(listAgain.toHex(), list.toHex());

    // Past the 64 results reserved up front, lists grow as results decode.
    for (const int n : {63, 64, 65, 500}) {
        std::vector<DataResult> many;
        for (int i = 0; i < n; ++i)
            many.push_back(i % 7 ? ok(Value::longUnsigned(quint16(i))) : failed(DataAccessResult::ObjectUnavailable));
        QByteArray encoded;
        encodeDataResultList(many, encoded);
        const auto decodedMany = decodeBlockDataList(encoded);
        QVERIFY2(decodedMany.ok() && *decodedMany == many, qPrintable(QString::number(n)));

        GetResponse response;
        response.kind = GetResponse::Kind::WithList;
        response.results = many;
        QByteArray apdu;
        encode(response, apdu);
        const auto decodedResponse = decodeGetResponse(apdu);
        QVERIFY2(decodedResponse.ok() && *decodedResponse == response, qPrintable(QString::number(n)));

        GetRequest request;
        request.kind = GetRequest::Kind::WithList;
        for (int i = 0; i < n; ++i)
            request.items.push_back({{3, Obis(1, 0, 1, 8, quint8(i % 64), 255), 2}, std::nullopt});
        QByteArray requestApdu;
        encode(request, requestApdu);
        const auto decodedRequest = decodeGetRequest(requestApdu);
        QVERIFY2(decodedRequest.ok() && *decodedRequest == request, qPrintable(QString::number(n)));
    }

    for (qsizetype n = 0; n < buffer.size(); ++n)
        QVERIFY(!decodeBlockData(QByteArrayView(buffer).first(n)).ok());
    for (qsizetype n = 0; n < list.size(); ++n)
        QVERIFY(!decodeBlockDataList(QByteArrayView(list).first(n)).ok());
}

void TestXdlms::blockDataBad_data()
{
    QTest::addColumn<bool>("isList");
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<ErrorCode>("code");

    QTest::newRow("data-trailing") << false << hex("060000000100") << ErrorCode::Malformed;
    QTest::newRow("data-empty") << false << QByteArray() << ErrorCode::Truncated;
    QTest::newRow("data-unknown-tag") << false << hex("1E") << ErrorCode::UnknownTag;
    QTest::newRow("list-trailing") << true << hex("01 0104 00") << ErrorCode::Malformed;
    QTest::newRow("list-empty") << true << QByteArray() << ErrorCode::Truncated;
    QTest::newRow("list-choice-7") << true << hex("01 0700") << ErrorCode::Malformed;
    QTest::newRow("list-count-ffffff") << true << hex("83FFFFFF 0104") << ErrorCode::LengthTooLarge;
}

void TestXdlms::blockDataBad()
{
    QFETCH(bool, isList);
    QFETCH(QByteArray, bytes);
    QFETCH(ErrorCode, code);
    const Error error = isList ? decodeBlockDataList(bytes).error() : decodeBlockData(bytes).error();
    QCOMPARE(errorCodeName(error.code), errorCodeName(code));
}

void TestXdlms::dataAccessResultNames_data()
{
    QTest::addColumn<int>("code");
    QTest::addColumn<QString>("name");

    QTest::newRow("0") << 0 << u"success"_s;
    QTest::newRow("1") << 1 << u"hardware-fault"_s;
    QTest::newRow("2") << 2 << u"temporary-failure"_s;
    QTest::newRow("3") << 3 << u"read-write-denied"_s;
    QTest::newRow("4") << 4 << u"object-undefined"_s;
    QTest::newRow("9") << 9 << u"object-class-inconsistent"_s;
    QTest::newRow("11") << 11 << u"object-unavailable"_s;
    QTest::newRow("12") << 12 << u"type-unmatched"_s;
    QTest::newRow("13") << 13 << u"scope-of-access-violated"_s;
    QTest::newRow("14") << 14 << u"data-block-unavailable"_s;
    QTest::newRow("15") << 15 << u"long-get-aborted"_s;
    QTest::newRow("16") << 16 << u"no-long-get-in-progress"_s;
    QTest::newRow("17") << 17 << u"long-set-aborted"_s;
    QTest::newRow("18") << 18 << u"no-long-set-in-progress"_s;
    QTest::newRow("19") << 19 << u"data-block-number-invalid"_s;
    QTest::newRow("250") << 250 << u"other-reason"_s;
    QTest::newRow("unknown-5") << 5 << u"data-access-result 5"_s;
    QTest::newRow("unknown-255") << 255 << u"data-access-result 255"_s;
}

void TestXdlms::dataAccessResultNames()
{
    QFETCH(int, code);
    QFETCH(QString, name);
    QCOMPARE(dataAccessResultName(quint8(code)), name);
}

void TestXdlms::describeTexts_data()
{
    QTest::addColumn<QString>("actual");
    QTest::addColumn<QString>("expected");

    QTest::newRow("exception-default")
        << ExceptionResponse {}.describe() << u"state-error 0 / service-error 0"_s;
    QTest::newRow("exception-service-unknown")
        << ExceptionResponse {2, 3, 0}.describe() << u"service-unknown / other-reason"_s;
    QTest::newRow("cse-initiate-refused") << ConfirmedServiceError {1, 6, 4}.describe()
                                          << u"initiateError: initiate / refused-by-the-VDE-Handler"_s;
    QTest::newRow("cse-application-reference")
        << ConfirmedServiceError {5, 0, 6}.describe() << u"read: application-reference / deciphering-error"_s;
    QTest::newRow("cse-vde-state") << ConfirmedServiceError {6, 2, 1}.describe()
                                   << u"write: vde-state-error / no-dlms-context"_s;
    QTest::newRow("cse-hardware") << ConfirmedServiceError {5, 1, 1}.describe()
                                  << u"read: hardware-resource / memory-unavailable"_s;
    QTest::newRow("cse-load-data-set") << ConfirmedServiceError {15, 7, 7}.describe()
                                       << u"loadSegment: load-data-set / data-set-not-ready"_s;
}

void TestXdlms::describeTexts()
{
    QFETCH(QString, actual);
    QFETCH(QString, expected);
    QCOMPARE(actual, expected);
}

void TestXdlms::roundTripRandom()
{
    ValueGenerator gen(Seed);
    auto &rng = gen.rng();
    for (int i = 0; i < 1500; ++i) {
        const QString where = QStringLiteral("seed %1 iteration %2").arg(Seed).arg(i);

        GetRequest get;
        get.kind = GetRequest::Kind(1 + rng.bounded(3));
        get.invoke = gen.invoke();
        if (get.kind == GetRequest::Kind::Normal)
            get.items.push_back(gen.attributeRequest());
        else if (get.kind == GetRequest::Kind::Next)
            get.blockNumber = rng.generate();
        else
            for (int n = rng.bounded(rng.bounded(10) == 0 ? 200 : 12); n > 0; --n)
                get.items.push_back(gen.attributeRequest());
        const auto getBack = decodeGetRequest(encoded(get));
        QVERIFY2(getBack.ok() && *getBack == get, qPrintable(where + u" GET-Request"_s));

        GetResponse response;
        response.kind = GetResponse::Kind(1 + rng.bounded(3));
        response.invoke = gen.invoke();
        if (response.kind == GetResponse::Kind::Normal) {
            response.results.push_back(gen.dataResult());
        } else if (response.kind == GetResponse::Kind::WithDatablock) {
            response.lastBlock = rng.bounded(2) == 1;
            response.blockNumber = rng.generate();
            if (rng.bounded(4) == 0)
                response.blockError = DataAccessResult::DataBlockUnavailable;
            else
                response.rawData = gen.bytes(rng.bounded(2) ? 100 : 70000);
        } else {
            for (int n = rng.bounded(12); n > 0; --n)
                response.results.push_back(gen.dataResult());
        }
        const auto responseBack = decodeGetResponse(encoded(response));
        QVERIFY2(responseBack.ok() && *responseBack == response, qPrintable(where + u" GET-Response"_s));

        SetRequest set;
        set.invoke = gen.invoke();
        set.item = gen.attributeRequest();
        set.value = gen.value();
        const auto setBack = decodeSetRequest(encoded(set));
        QVERIFY2(setBack.ok() && *setBack == set, qPrintable(where + u" SET-Request"_s));

        const SetResponse setResponse {
            SetResponse::Kind::Normal, gen.invoke(), DataAccessResult(rng.bounded(256))};
        const auto setResponseBack = decodeSetResponse(encoded(setResponse));
        QVERIFY2(
            setResponseBack.ok() && *setResponseBack == setResponse, qPrintable(where + u" SET-Response"_s));

        ActionRequest action;
        action.invoke = gen.invoke();
        action.method = MethodDescriptor {quint16(rng.bounded(65536)), gen.obis(), qint8(rng.bounded(256))};
        if (rng.bounded(2))
            action.parameters = gen.value();
        const auto actionBack = decodeActionRequest(encoded(action));
        QVERIFY2(actionBack.ok() && *actionBack == action, qPrintable(where + u" ACTION-Request"_s));

        ActionResponse actionResponse;
        actionResponse.invoke = gen.invoke();
        actionResponse.result = DataAccessResult(rng.bounded(256));
        if (rng.bounded(2))
            actionResponse.returnParameters = gen.dataResult();
        const auto actionResponseBack = decodeActionResponse(encoded(actionResponse));
        QVERIFY2(actionResponseBack.ok() && *actionResponseBack == actionResponse,
            qPrintable(where + u" ACTION-Response"_s));

        ExceptionResponse exception {quint8(rng.bounded(256)), quint8(rng.bounded(256)), 0};
        if (exception.serviceError == 6)
            exception.invocationCounter = rng.generate();
        const auto exceptionBack = decodeExceptionResponse(encoded(exception));
        QVERIFY2(
            exceptionBack.ok() && *exceptionBack == exception, qPrintable(where + u" EXCEPTION-Response"_s));
    }
}

QTEST_GUILESS_MAIN(TestXdlms)
#include "tst_xdlms.moc"
