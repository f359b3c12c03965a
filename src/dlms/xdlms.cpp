#include "xdlms.h"

#include "bytewriter.h"

#include <algorithm>

namespace dlms {

namespace {

constexpr quint8 GetRequestTag = 0xC0;
constexpr quint8 SetRequestTag = 0xC1;
constexpr quint8 ActionRequestTag = 0xC3;
constexpr quint8 GetResponseTag = 0xC4;
constexpr quint8 SetResponseTag = 0xC5;
constexpr quint8 ActionResponseTag = 0xC7;
constexpr quint8 ExceptionResponseTag = 0xD8;
constexpr quint8 ConfirmedServiceErrorTag = 0x0E;

constexpr quint8 InvocationCounterError = 6; // the only service-error with a value (Unsigned32)

// Smallest wire size of one list element, used to refuse impossible counts before allocating:
// a Cosem-Attribute-Descriptor-With-Selection is class(2) + instance(6) + attribute(1) +
// access flag(1); a Get-Data-Result is a choice byte + at least one byte.
constexpr qsizetype MinAttributeRequestSize = 10;
constexpr qsizetype MinDataResultSize = 2;

// A list count is only checked against the bytes left, which leaves room for a count of a
// million results in 4 MB of block data; reserve a little and grow as results really decode.
constexpr quint32 MaxListReserve = 64;

size_t listReservation(quint32 count)
{
    return size_t(std::min(count, MaxListReserve));
}

QString hexByte(quint8 b)
{
    return QStringLiteral("0x") + QString::number(b, 16).rightJustified(2, u'0').toUpper();
}

Error truncated(const char *what, const ByteReader &r, const char *field)
{
    return makeError(ErrorCode::Truncated,
        QStringLiteral("%1: input ends in %2 (%3 bytes)")
            .arg(QLatin1StringView(what), QLatin1StringView(field))
            .arg(r.size()));
}

Error withContext(const char *what, const Error &inner)
{
    return makeError(inner.code, QLatin1StringView(what) + QStringLiteral(": ") + inner.message);
}

Error trailing(const char *what, const ByteReader &r)
{
    return makeError(ErrorCode::Malformed,
        QStringLiteral("%1: %2 trailing bytes at offset %3")
            .arg(QLatin1StringView(what))
            .arg(r.remaining())
            .arg(r.position()));
}

// Tag, choice and invoke-id-and-priority: the first three bytes of every xDLMS service APDU.
struct Header {
    quint8 kind = 0;
    InvokeIdAndPriority invoke;
};

Result<Header> readHeader(ByteReader &r, quint8 tag, const char *what)
{
    const quint8 first = r.u8();
    if (r.failed())
        return makeError(
            ErrorCode::Truncated, QStringLiteral("%1: empty input").arg(QLatin1StringView(what)));
    if (first != tag)
        return makeError(ErrorCode::UnknownTag,
            QStringLiteral("%1: expected tag %2, got %3")
                .arg(QLatin1StringView(what), hexByte(tag), hexByte(first)));
    Header h;
    h.kind = r.u8();
    h.invoke = InvokeIdAndPriority::fromByte(r.u8());
    if (r.failed())
        return truncated(what, r, "the header");
    return h;
}

void writeHeader(ByteWriter &w, quint8 tag, quint8 kind, const InvokeIdAndPriority &invoke)
{
    const char header[3] = {char(tag), char(kind), char(invoke.toByte())};
    w.bytes(QByteArrayView(header, 3));
}

void writeObis(ByteWriter &w, const Obis &obis)
{
    const auto &g = obis.groups();
    const char bytes[6] = {char(g[0]), char(g[1]), char(g[2]), char(g[3]), char(g[4]), char(g[5])};
    w.bytes(QByteArrayView(bytes, 6));
}

Obis readObis(ByteReader &r)
{
    const QByteArrayView b = r.bytes(6);
    if (b.size() != 6)
        return {};
    return Obis(quint8(b[0]), quint8(b[1]), quint8(b[2]), quint8(b[3]), quint8(b[4]), quint8(b[5]));
}

Result<AttributeDescriptor> readAttribute(ByteReader &r, const char *what)
{
    AttributeDescriptor a;
    a.classId = r.u16();
    a.instance = readObis(r);
    a.attributeId = qint8(r.u8());
    if (r.failed())
        return truncated(what, r, "a cosem-attribute-descriptor");
    return a;
}

void writeAccess(QByteArray &out, const std::optional<SelectiveAccess> &access)
{
    ByteWriter w(out);
    if (!access) {
        w.u8(0x00);
        return;
    }
    w.u8(0x01);
    w.u8(access->selector);
    axdr::encode(access->parameters, out);
}

Result<std::optional<SelectiveAccess>> readAccess(ByteReader &r, const axdr::Limits &limits, const char *what)
{
    const qsizetype at = r.position();
    const quint8 present = r.u8();
    if (r.failed())
        return truncated(what, r, "the access-selection flag");
    if (present == 0x00)
        return std::optional<SelectiveAccess>();
    if (present != 0x01)
        return makeError(ErrorCode::Malformed,
            QStringLiteral("%1: access-selection flag %2 at offset %3 is not 0 or 1")
                .arg(QLatin1StringView(what), hexByte(present))
                .arg(at));
    SelectiveAccess access;
    access.selector = r.u8();
    if (r.failed())
        return truncated(what, r, "the access selector");
    auto parameters = axdr::decode(r, limits);
    if (!parameters)
        return withContext(what, parameters.error());
    access.parameters = std::move(*parameters);
    return std::optional<SelectiveAccess>(std::move(access));
}

void writeAttributeRequest(QByteArray &out, const AttributeRequest &item)
{
    // One append per descriptor: it sits on the polling hot path (GET-Request-With-List).
    const AttributeDescriptor &a = item.attribute;
    const auto &g = a.instance.groups();
    const char bytes[10] = {char(a.classId >> 8), char(a.classId), char(g[0]), char(g[1]), char(g[2]),
        char(g[3]), char(g[4]), char(g[5]), char(a.attributeId), 0x00};
    if (!item.access) {
        out.append(bytes, 10);
        return;
    }
    out.append(bytes, 9);
    writeAccess(out, item.access);
}

Result<AttributeRequest> readAttributeRequest(ByteReader &r, const axdr::Limits &limits, const char *what)
{
    AttributeRequest item;
    auto attribute = readAttribute(r, what);
    if (!attribute)
        return attribute.error();
    item.attribute = *attribute;
    auto access = readAccess(r, limits, what);
    if (!access)
        return access.error();
    item.access = std::move(*access);
    return item;
}

// Get-Data-Result ::= CHOICE { data [0] Data, data-access-result [1] Data-Access-Result }
Result<DataResult> readDataResult(ByteReader &r, const axdr::Limits &limits, const char *what)
{
    const qsizetype at = r.position();
    const quint8 choice = r.u8();
    if (r.failed())
        return truncated(what, r, "a Get-Data-Result");
    DataResult result;
    if (choice == 0x00) {
        auto value = axdr::decode(r, limits);
        if (!value)
            return withContext(what, value.error());
        result.value = std::move(*value);
        return result;
    }
    if (choice == 0x01) {
        result.result = DataAccessResult(r.u8());
        if (r.failed())
            return truncated(what, r, "a data-access-result");
        return result;
    }
    return makeError(ErrorCode::Malformed,
        QStringLiteral("%1: Get-Data-Result choice %2 at offset %3 is not data (0) or data-access-result (1)")
            .arg(QLatin1StringView(what), hexByte(choice))
            .arg(at));
}

// A SEQUENCE OF count, bounded by what the remaining bytes could possibly hold.
Result<quint32> readCount(ByteReader &r, qsizetype minElementSize, const char *what)
{
    const qsizetype at = r.position();
    const quint8 first = r.peek();
    if (!r.atEnd() && (first == 0x80 || first > 0x84))
        return makeError(ErrorCode::Malformed,
            QStringLiteral("%1: bad list count form %2 at offset %3")
                .arg(QLatin1StringView(what), hexByte(first))
                .arg(at));
    const std::optional<quint32> count = r.berLength();
    if (!count)
        return truncated(what, r, "the list count");
    if (*count > quint64(r.remaining() / minElementSize))
        return makeError(ErrorCode::LengthTooLarge,
            QStringLiteral("%1: list count %2 at offset %3 exceeds what the %4 bytes left can hold")
                .arg(QLatin1StringView(what))
                .arg(*count)
                .arg(at)
                .arg(r.remaining()));
    return *count;
}

// A counted SEQUENCE OF that must end the input: the count is checked against the bytes left
// before anything is reserved, and each element is read by `readOne(r)`.
template<typename T, typename ReadOne>
Result<std::vector<T>> readListToEnd(
    ByteReader &r, qsizetype minElementSize, const char *what, ReadOne &&readOne)
{
    auto count = readCount(r, minElementSize, what);
    if (!count)
        return count.error();
    std::vector<T> items;
    items.reserve(listReservation(*count));
    for (quint32 i = 0; i < *count; ++i) {
        auto item = readOne(r);
        if (!item)
            return item.error();
        items.push_back(std::move(*item));
    }
    if (!r.atEnd())
        return trailing(what, r);
    return items;
}

Error unsupportedKind(const char *what, quint8 kind, const char *known)
{
    return makeError(ErrorCode::Unsupported,
        QStringLiteral("%1: choice %2 is not supported (only %3)")
            .arg(QLatin1StringView(what))
            .arg(kind)
            .arg(QLatin1StringView(known)));
}

QString stateErrorName(quint8 v)
{
    switch (v) {
    case 1:
        return QStringLiteral("service-not-allowed");
    case 2:
        return QStringLiteral("service-unknown");
    }
    return QStringLiteral("state-error %1").arg(v);
}

QString serviceErrorName(quint8 v)
{
    switch (v) {
    case 1:
        return QStringLiteral("operation-not-possible");
    case 2:
        return QStringLiteral("service-not-supported");
    case 3:
        return QStringLiteral("other-reason");
    case 4:
        return QStringLiteral("pdu-too-long");
    case 5:
        return QStringLiteral("deciphering-error");
    case 6:
        return QStringLiteral("invocation-counter-error");
    }
    return QStringLiteral("service-error %1").arg(v);
}

QString confirmedServiceName(quint8 v)
{
    static const char *const names[] = {
        nullptr,
        "initiateError",
        "getStatus",
        "getNameList",
        "getVariableAttribute",
        "read",
        "write",
        "getDataSetAttribute",
        "getTIAttribute",
        "changeScope",
        "start",
        "stop",
        "resume",
        "makeUsable",
        "initiateLoad",
        "loadSegment",
        "terminateLoad",
        "initiateUpLoad",
        "upLoadSegment",
        "terminateUpLoad",
    };
    if (v >= 1 && v < std::size(names))
        return QLatin1StringView(names[v]);
    return QStringLiteral("service %1").arg(v);
}

QString serviceErrorTypeName(quint8 v)
{
    static const char *const names[] = {
        "application-reference",
        "hardware-resource",
        "vde-state-error",
        "service",
        "definition",
        "access",
        "initiate",
        "load-data-set",
        "change-scope",
        "task",
        "other",
    };
    if (v < std::size(names))
        return QLatin1StringView(names[v]);
    return QStringLiteral("error-type %1").arg(v);
}

// The ENUMERATED value inside each ServiceError choice (IEC 62056-5-3, ServiceError).
QString serviceErrorValueName(quint8 type, quint8 v)
{
    static const char *const applicationReference[]
        = {"other", "time-elapsed", "application-unreachable", "application-reference-invalid",
            "application-context-unsupported", "provider-communication-error", "deciphering-error"};
    static const char *const hardwareResource[] = {"other", "memory-unavailable",
        "processor-resource-unavailable", "mass-storage-unavailable", "other-resource-unavailable"};
    static const char *const vdeStateError[]
        = {"other", "no-dlms-context", "loading-data-set", "status-nochange", "status-inoperable"};
    static const char *const service[] = {"other", "pdu-size", "service-unsupported"};
    static const char *const definition[]
        = {"other", "object-undefined", "object-class-inconsistent", "object-attribute-inconsistent"};
    static const char *const access[] = {"other", "scope-of-access-violated", "object-access-violated",
        "hardware-fault", "object-unavailable"};
    static const char *const initiate[] = {"other", "dlms-version-too-low", "incompatible-conformance",
        "pdu-size-too-short", "refused-by-the-VDE-Handler"};
    static const char *const loadDataSet[]
        = {"other", "primitive-out-of-sequence", "not-loadable", "dataset-size-too-large",
            "not-awaited-segment", "interpretation-failure", "storage-failure", "data-set-not-ready"};
    static const char *const task[]
        = {"other", "no-remote-control", "ti-stopped", "ti-running", "ti-unusable"};
    static const char *const other[] = {"other"};

    auto pick = [v](const auto &table) -> QString {
        if (v < std::size(table))
            return QLatin1StringView(table[v]);
        return QString::number(v);
    };
    switch (type) {
    case 0:
        return pick(applicationReference);
    case 1:
        return pick(hardwareResource);
    case 2:
        return pick(vdeStateError);
    case 3:
        return pick(service);
    case 4:
        return pick(definition);
    case 5:
        return pick(access);
    case 6:
        return pick(initiate);
    case 7:
        return pick(loadDataSet);
    case 8:
        return pick(other);
    case 9:
        return pick(task);
    case 10:
        return pick(other);
    }
    return QString::number(v);
}

Result<qint64> integerField(const Value &v, qint64 min, qint64 max, const char *field)
{
    const std::optional<qint64> n = v.isInteger() ? v.toInt64() : std::nullopt;
    if (!n || *n < min || *n > max)
        return makeError(ErrorCode::Malformed,
            QStringLiteral("capture object: %1 is %2, expected an integer in %3..%4")
                .arg(QLatin1StringView(field), dataTypeName(v.type()))
                .arg(min)
                .arg(max));
    return *n;
}

} // namespace

QString dataAccessResultName(quint8 result)
{
    switch (DataAccessResult(result)) {
    case DataAccessResult::Success:
        return QStringLiteral("success");
    case DataAccessResult::HardwareFault:
        return QStringLiteral("hardware-fault");
    case DataAccessResult::TemporaryFailure:
        return QStringLiteral("temporary-failure");
    case DataAccessResult::ReadWriteDenied:
        return QStringLiteral("read-write-denied");
    case DataAccessResult::ObjectUndefined:
        return QStringLiteral("object-undefined");
    case DataAccessResult::ObjectClassInconsistent:
        return QStringLiteral("object-class-inconsistent");
    case DataAccessResult::ObjectUnavailable:
        return QStringLiteral("object-unavailable");
    case DataAccessResult::TypeUnmatched:
        return QStringLiteral("type-unmatched");
    case DataAccessResult::ScopeOfAccessViolated:
        return QStringLiteral("scope-of-access-violated");
    case DataAccessResult::DataBlockUnavailable:
        return QStringLiteral("data-block-unavailable");
    case DataAccessResult::LongGetAborted:
        return QStringLiteral("long-get-aborted");
    case DataAccessResult::NoLongGetInProgress:
        return QStringLiteral("no-long-get-in-progress");
    case DataAccessResult::LongSetAborted:
        return QStringLiteral("long-set-aborted");
    case DataAccessResult::NoLongSetInProgress:
        return QStringLiteral("no-long-set-in-progress");
    case DataAccessResult::DataBlockNumberInvalid:
        return QStringLiteral("data-block-number-invalid");
    case DataAccessResult::OtherReason:
        return QStringLiteral("other-reason");
    }
    return QStringLiteral("data-access-result %1").arg(result);
}

Value CaptureObject::toValue() const
{
    return Value::structure({Value::longUnsigned(classId), Value::octetString(instance.toBytes()),
        Value::integer(attributeId), Value::longUnsigned(dataIndex)});
}

Result<CaptureObject> CaptureObject::fromValue(const Value &value)
{
    if (value.type() != DataType::Structure || value.items().size() != 4)
        return makeError(ErrorCode::Malformed,
            QStringLiteral("capture object: expected a structure of 4 elements, got %1%2")
                .arg(dataTypeName(value.type()),
                    value.type() == DataType::Structure ? QStringLiteral(" of %1").arg(value.items().size())
                                                        : QString()));
    const ValueList &items = value.items();
    CaptureObject object;
    auto classId = integerField(items[0], 0, 0xFFFF, "class_id");
    if (!classId)
        return classId.error();
    if (items[1].type() != DataType::OctetString || items[1].bytes().size() != 6)
        return makeError(ErrorCode::Malformed,
            QStringLiteral(
                "capture object: logical_name should be an octet-string of 6 bytes, got %1 (%2 bytes)")
                .arg(dataTypeName(items[1].type()))
                .arg(items[1].bytes().size()));
    const QByteArray &ln = items[1].bytes();
    auto attributeId = integerField(items[2], -128, 127, "attribute_index");
    if (!attributeId)
        return attributeId.error();
    auto dataIndex = integerField(items[3], 0, 0xFFFF, "data_index");
    if (!dataIndex)
        return dataIndex.error();
    object.classId = quint16(*classId);
    object.instance
        = Obis(quint8(ln[0]), quint8(ln[1]), quint8(ln[2]), quint8(ln[3]), quint8(ln[4]), quint8(ln[5]));
    object.attributeId = qint8(*attributeId);
    object.dataIndex = quint16(*dataIndex);
    return object;
}

SelectiveAccess SelectiveAccess::range(const CaptureObject &restrictingObject, const Value &from,
    const Value &to, const std::vector<CaptureObject> &columns)
{
    ValueList selected;
    selected.reserve(columns.size());
    for (const CaptureObject &column : columns)
        selected.push_back(column.toValue());
    SelectiveAccess access;
    access.selector = 1;
    access.parameters
        = Value::structure({restrictingObject.toValue(), from, to, Value::array(std::move(selected))});
    return access;
}

SelectiveAccess SelectiveAccess::entry(
    quint32 fromEntry, quint32 toEntry, quint16 fromColumn, quint16 toColumn)
{
    SelectiveAccess access;
    access.selector = 2;
    access.parameters = Value::structure({Value::doubleLongUnsigned(fromEntry),
        Value::doubleLongUnsigned(toEntry), Value::longUnsigned(fromColumn), Value::longUnsigned(toColumn)});
    return access;
}

QString ExceptionResponse::describe() const
{
    QString text = stateErrorName(stateError) + QStringLiteral(" / ") + serviceErrorName(serviceError);
    if (serviceError == InvocationCounterError)
        text += QStringLiteral(" (expected counter %1)").arg(invocationCounter);
    return text;
}

QString ConfirmedServiceError::describe() const
{
    return confirmedServiceName(service) + QStringLiteral(": ") + serviceErrorTypeName(errorType)
        + QStringLiteral(" / ") + serviceErrorValueName(errorType, value);
}

void encodeDataResult(const DataResult &result, QByteArray &out)
{
    // Block transfer of a Normal GET carries the bare Data; a failed result never gets that far.
    axdr::encode(result.value, out);
}

void encodeGetDataResult(const DataResult &result, QByteArray &out)
{
    if (result.ok()) {
        out.append(char(0x00));
        axdr::encode(result.value, out);
    } else {
        out.append(char(0x01));
        out.append(char(result.result));
    }
}

void encodeDataResultList(const std::vector<DataResult> &results, QByteArray &out)
{
    ByteWriter w(out);
    w.berLength(quint32(results.size()));
    for (const DataResult &result : results)
        encodeGetDataResult(result, out);
}

Result<DataResult> decodeBlockData(QByteArrayView data, const axdr::Limits &limits)
{
    auto value = axdr::decodeAll(data, limits);
    if (!value)
        return withContext("block data", value.error());
    DataResult result;
    result.value = std::move(*value);
    return result;
}

Result<std::vector<DataResult>> decodeBlockDataList(QByteArrayView data, const axdr::Limits &limits)
{
    const char *what = "block data list";
    ByteReader r(data);
    return readListToEnd<DataResult>(
        r, MinDataResultSize, what, [&](ByteReader &in) { return readDataResult(in, limits, what); });
}

qsizetype getWithListRequestSize(qsizetype count, qsizetype accessBytes)
{
    // Tag, request type and invoke-id-and-priority; class-id (2), instance-id (6),
    // attribute-id (1) and the access-selection flag (1) per item.
    const qsizetype countBytes = count < 0x80 ? 1
        : count < 0x100                       ? 2
        : count < 0x10000                     ? 3
        : count < 0x1000000                   ? 4
                                              : 5;
    return 3 + countBytes + 10 * count + accessBytes;
}

void encode(const GetRequest &request, QByteArray &out)
{
    out.reserve(out.size() + 16 + qsizetype(request.items.size()) * 10);
    ByteWriter w(out);
    writeHeader(w, GetRequestTag, quint8(request.kind), request.invoke);
    switch (request.kind) {
    case GetRequest::Kind::Normal:
        writeAttributeRequest(out, request.items.empty() ? AttributeRequest {} : request.items.front());
        break;
    case GetRequest::Kind::Next:
        w.u32(request.blockNumber);
        break;
    case GetRequest::Kind::WithList:
        w.berLength(quint32(request.items.size()));
        for (const AttributeRequest &item : request.items)
            writeAttributeRequest(out, item);
        break;
    }
}

Result<GetRequest> decodeGetRequest(QByteArrayView apdu, const axdr::Limits &limits)
{
    ByteReader r(apdu);
    auto header = readHeader(r, GetRequestTag, "GET-Request");
    if (!header)
        return header.error();
    GetRequest request;
    request.invoke = header->invoke;
    switch (header->kind) {
    case 1: {
        const char *what = "GET-Request-Normal";
        request.kind = GetRequest::Kind::Normal;
        auto item = readAttributeRequest(r, limits, what);
        if (!item)
            return item.error();
        request.items.push_back(std::move(*item));
        if (!r.atEnd())
            return trailing(what, r);
        return request;
    }
    case 2: {
        const char *what = "GET-Request-Next";
        request.kind = GetRequest::Kind::Next;
        request.blockNumber = r.u32();
        if (r.failed())
            return truncated(what, r, "the block number");
        if (!r.atEnd())
            return trailing(what, r);
        return request;
    }
    case 3: {
        const char *what = "GET-Request-With-List";
        request.kind = GetRequest::Kind::WithList;
        auto items = readListToEnd<AttributeRequest>(r, MinAttributeRequestSize, what,
            [&](ByteReader &in) { return readAttributeRequest(in, limits, what); });
        if (!items)
            return items.error();
        request.items = std::move(*items);
        return request;
    }
    }
    return makeError(ErrorCode::Malformed,
        QStringLiteral("GET-Request: choice %1 is not normal (1), next (2) or with-list (3)")
            .arg(header->kind));
}

void encode(const GetResponse &response, QByteArray &out)
{
    ByteWriter w(out);
    writeHeader(w, GetResponseTag, quint8(response.kind), response.invoke);
    switch (response.kind) {
    case GetResponse::Kind::Normal:
        encodeGetDataResult(response.results.empty() ? DataResult {} : response.results.front(), out);
        break;
    case GetResponse::Kind::WithDatablock:
        w.u8(response.lastBlock ? 1 : 0);
        w.u32(response.blockNumber);
        if (response.blockError) {
            w.u8(0x01);
            w.u8(quint8(*response.blockError));
        } else {
            w.u8(0x00);
            w.berLength(quint32(response.rawData.size()));
            w.bytes(response.rawData);
        }
        break;
    case GetResponse::Kind::WithList:
        encodeDataResultList(response.results, out);
        break;
    }
}

Result<GetResponse> decodeGetResponse(QByteArrayView apdu, const axdr::Limits &limits)
{
    ByteReader r(apdu);
    auto header = readHeader(r, GetResponseTag, "GET-Response");
    if (!header)
        return header.error();
    GetResponse response;
    response.invoke = header->invoke;
    switch (header->kind) {
    case 1: {
        const char *what = "GET-Response-Normal";
        response.kind = GetResponse::Kind::Normal;
        auto result = readDataResult(r, limits, what);
        if (!result)
            return result.error();
        response.results.push_back(std::move(*result));
        if (!r.atEnd())
            return trailing(what, r);
        return response;
    }
    case 2: {
        const char *what = "GET-Response-With-Datablock";
        response.kind = GetResponse::Kind::WithDatablock;
        response.lastBlock = r.u8() != 0;
        response.blockNumber = r.u32();
        const qsizetype choiceAt = r.position();
        const quint8 choice = r.u8();
        if (r.failed())
            return truncated(what, r, "the datablock header");
        if (choice == 0x00) {
            const qsizetype at = r.position();
            const quint8 first = r.peek();
            if (!r.atEnd() && (first == 0x80 || first > 0x84))
                return makeError(ErrorCode::Malformed,
                    QStringLiteral("%1: bad raw-data length form %2 at offset %3")
                        .arg(QLatin1StringView(what), hexByte(first))
                        .arg(at));
            const std::optional<quint32> length = r.berLength();
            if (!length)
                return truncated(what, r, "the raw-data length");
            if (*length > quint64(r.remaining()))
                return makeError(ErrorCode::Truncated,
                    QStringLiteral("%1: raw-data length %2 exceeds the %3 bytes left at offset %4")
                        .arg(QLatin1StringView(what))
                        .arg(*length)
                        .arg(r.remaining())
                        .arg(r.position()));
            response.rawData = r.bytes(qsizetype(*length)).toByteArray();
        } else if (choice == 0x01) {
            response.blockError = DataAccessResult(r.u8());
            if (r.failed())
                return truncated(what, r, "the data-access-result");
        } else {
            return makeError(ErrorCode::Malformed,
                QStringLiteral(
                    "%1: result choice %2 at offset %3 is not raw-data (0) or data-access-result (1)")
                    .arg(QLatin1StringView(what), hexByte(choice))
                    .arg(choiceAt));
        }
        if (!r.atEnd())
            return trailing(what, r);
        return response;
    }
    case 3: {
        const char *what = "GET-Response-With-List";
        response.kind = GetResponse::Kind::WithList;
        auto results = readListToEnd<DataResult>(
            r, MinDataResultSize, what, [&](ByteReader &in) { return readDataResult(in, limits, what); });
        if (!results)
            return results.error();
        response.results = std::move(*results);
        return response;
    }
    }
    return makeError(ErrorCode::Malformed,
        QStringLiteral("GET-Response: choice %1 is not normal (1), with-datablock (2) or with-list (3)")
            .arg(header->kind));
}

void encode(const SetRequest &request, QByteArray &out)
{
    ByteWriter w(out);
    writeHeader(w, SetRequestTag, quint8(request.kind), request.invoke);
    writeAttributeRequest(out, request.item);
    axdr::encode(request.value, out);
}

Result<SetRequest> decodeSetRequest(QByteArrayView apdu, const axdr::Limits &limits)
{
    const char *what = "SET-Request-Normal";
    ByteReader r(apdu);
    auto header = readHeader(r, SetRequestTag, "SET-Request");
    if (!header)
        return header.error();
    if (header->kind != 1)
        return unsupportedKind("SET-Request", header->kind, "normal (1)");
    SetRequest request;
    request.invoke = header->invoke;
    auto item = readAttributeRequest(r, limits, what);
    if (!item)
        return item.error();
    request.item = std::move(*item);
    auto value = axdr::decode(r, limits);
    if (!value)
        return withContext(what, value.error());
    request.value = std::move(*value);
    if (!r.atEnd())
        return trailing(what, r);
    return request;
}

void encode(const SetResponse &response, QByteArray &out)
{
    ByteWriter w(out);
    writeHeader(w, SetResponseTag, quint8(response.kind), response.invoke);
    w.u8(quint8(response.result));
}

Result<SetResponse> decodeSetResponse(QByteArrayView apdu)
{
    const char *what = "SET-Response-Normal";
    ByteReader r(apdu);
    auto header = readHeader(r, SetResponseTag, "SET-Response");
    if (!header)
        return header.error();
    if (header->kind != 1)
        return unsupportedKind("SET-Response", header->kind, "normal (1)");
    SetResponse response;
    response.invoke = header->invoke;
    response.result = DataAccessResult(r.u8());
    if (r.failed())
        return truncated(what, r, "the result");
    if (!r.atEnd())
        return trailing(what, r);
    return response;
}

void encode(const ActionRequest &request, QByteArray &out)
{
    ByteWriter w(out);
    writeHeader(w, ActionRequestTag, quint8(request.kind), request.invoke);
    w.u16(request.method.classId);
    writeObis(w, request.method.instance);
    w.u8(quint8(request.method.methodId));
    if (request.parameters) {
        w.u8(0x01);
        axdr::encode(*request.parameters, out);
    } else {
        w.u8(0x00);
    }
}

Result<ActionRequest> decodeActionRequest(QByteArrayView apdu, const axdr::Limits &limits)
{
    const char *what = "ACTION-Request-Normal";
    ByteReader r(apdu);
    auto header = readHeader(r, ActionRequestTag, "ACTION-Request");
    if (!header)
        return header.error();
    if (header->kind != 1)
        return unsupportedKind("ACTION-Request", header->kind, "normal (1)");
    ActionRequest request;
    request.invoke = header->invoke;
    request.method.classId = r.u16();
    request.method.instance = readObis(r);
    request.method.methodId = qint8(r.u8());
    const qsizetype flagAt = r.position();
    const quint8 present = r.u8();
    if (r.failed())
        return truncated(what, r, "the cosem-method-descriptor");
    if (present == 0x01) {
        auto value = axdr::decode(r, limits);
        if (!value)
            return withContext(what, value.error());
        request.parameters = std::move(*value);
    } else if (present != 0x00) {
        return makeError(ErrorCode::Malformed,
            QStringLiteral("%1: method-invocation-parameters flag %2 at offset %3 is not 0 or 1")
                .arg(QLatin1StringView(what), hexByte(present))
                .arg(flagAt));
    }
    if (!r.atEnd())
        return trailing(what, r);
    return request;
}

void encode(const ActionResponse &response, QByteArray &out)
{
    ByteWriter w(out);
    writeHeader(w, ActionResponseTag, quint8(response.kind), response.invoke);
    w.u8(quint8(response.result));
    if (response.returnParameters) {
        w.u8(0x01);
        encodeGetDataResult(*response.returnParameters, out);
    } else {
        w.u8(0x00);
    }
}

Result<ActionResponse> decodeActionResponse(QByteArrayView apdu, const axdr::Limits &limits)
{
    const char *what = "ACTION-Response-Normal";
    ByteReader r(apdu);
    auto header = readHeader(r, ActionResponseTag, "ACTION-Response");
    if (!header)
        return header.error();
    if (header->kind != 1)
        return unsupportedKind("ACTION-Response", header->kind, "normal (1)");
    ActionResponse response;
    response.invoke = header->invoke;
    response.result = DataAccessResult(r.u8());
    const qsizetype flagAt = r.position();
    const quint8 present = r.u8();
    if (r.failed())
        return truncated(what, r, "the action result");
    if (present == 0x01) {
        auto result = readDataResult(r, limits, what);
        if (!result)
            return result.error();
        response.returnParameters = std::move(*result);
    } else if (present != 0x00) {
        return makeError(ErrorCode::Malformed,
            QStringLiteral("%1: return-parameters flag %2 at offset %3 is not 0 or 1")
                .arg(QLatin1StringView(what), hexByte(present))
                .arg(flagAt));
    }
    if (!r.atEnd())
        return trailing(what, r);
    return response;
}

void encode(const ExceptionResponse &response, QByteArray &out)
{
    ByteWriter w(out);
    w.u8(ExceptionResponseTag);
    w.u8(response.stateError);
    w.u8(response.serviceError);
    if (response.serviceError == InvocationCounterError)
        w.u32(response.invocationCounter);
}

Result<ExceptionResponse> decodeExceptionResponse(QByteArrayView apdu)
{
    const char *what = "EXCEPTION-Response";
    ByteReader r(apdu);
    const quint8 tag = r.u8();
    if (r.failed())
        return makeError(ErrorCode::Truncated, QStringLiteral("EXCEPTION-Response: empty input"));
    if (tag != ExceptionResponseTag)
        return makeError(ErrorCode::UnknownTag,
            QStringLiteral("EXCEPTION-Response: expected tag 0xD8, got %1").arg(hexByte(tag)));
    ExceptionResponse response;
    response.stateError = r.u8();
    response.serviceError = r.u8();
    if (response.serviceError == InvocationCounterError)
        response.invocationCounter = r.u32();
    if (r.failed())
        return truncated(what, r, "the errors");
    if (!r.atEnd())
        return trailing(what, r);
    return response;
}

void encode(const ConfirmedServiceError &error, QByteArray &out)
{
    ByteWriter w(out);
    w.u8(ConfirmedServiceErrorTag);
    w.u8(error.service);
    w.u8(error.errorType);
    w.u8(error.value);
}

Result<ConfirmedServiceError> decodeConfirmedServiceError(QByteArrayView apdu)
{
    const char *what = "Confirmed-Service-Error";
    ByteReader r(apdu);
    const quint8 tag = r.u8();
    if (r.failed())
        return makeError(ErrorCode::Truncated, QStringLiteral("Confirmed-Service-Error: empty input"));
    if (tag != ConfirmedServiceErrorTag)
        return makeError(ErrorCode::UnknownTag,
            QStringLiteral("Confirmed-Service-Error: expected tag 0x0E, got %1").arg(hexByte(tag)));
    ConfirmedServiceError error;
    error.service = r.u8();
    error.errorType = r.u8();
    error.value = r.u8();
    if (r.failed())
        return truncated(what, r, "the error");
    if (!r.atEnd())
        return trailing(what, r);
    return error;
}

} // namespace dlms
