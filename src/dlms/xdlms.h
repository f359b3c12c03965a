#pragma once

#include "axdr.h"
#include "obis.h"

#include <QtCore/QByteArray>

#include <optional>
#include <vector>

namespace dlms {

// Invoke-Id-And-Priority (IEC 62056-5-3): bits 0-3 invoke id, bit 6 confirmed, bit 7 high priority.
struct InvokeIdAndPriority {
    quint8 invokeId = 1; // 0..15
    bool confirmed = true;
    bool highPriority = true;

    quint8 toByte() const
    {
        return quint8((invokeId & 0x0F) | (confirmed ? 0x40 : 0) | (highPriority ? 0x80 : 0));
    }
    static InvokeIdAndPriority fromByte(quint8 b)
    {
        return {quint8(b & 0x0F), (b & 0x40) != 0, (b & 0x80) != 0};
    }
    bool operator==(const InvokeIdAndPriority &) const = default;
};

struct AttributeDescriptor {
    quint16 classId = 0;
    Obis instance;
    qint8 attributeId = 2;
    bool operator==(const AttributeDescriptor &) const = default;
};

struct MethodDescriptor {
    quint16 classId = 0;
    Obis instance;
    qint8 methodId = 1;
    bool operator==(const MethodDescriptor &) const = default;
};

// A Profile Generic capture-object definition (restricting object / selected columns).
struct CaptureObject {
    quint16 classId = 0;
    Obis instance;
    qint8 attributeId = 2;
    quint16 dataIndex = 0;
    bool operator==(const CaptureObject &) const = default;
    Value toValue() const;
    static Result<CaptureObject> fromValue(const Value &value);
};

struct SelectiveAccess {
    quint8 selector = 1; // 1 = range descriptor, 2 = entry descriptor (Profile Generic)
    Value parameters;
    bool operator==(const SelectiveAccess &) const = default;

    // Range: rows whose restricting object lies in [from, to]; empty `columns` = all columns.
    static SelectiveAccess range(const CaptureObject &restrictingObject, const Value &from, const Value &to,
        const std::vector<CaptureObject> &columns = {});
    // Entry: rows fromEntry..toEntry (1-based, 0 = last), columns fromColumn..toColumn (0 = last).
    static SelectiveAccess entry(
        quint32 fromEntry, quint32 toEntry, quint16 fromColumn = 1, quint16 toColumn = 0);
};

enum class DataAccessResult : quint8 {
    Success = 0,
    HardwareFault = 1,
    TemporaryFailure = 2,
    ReadWriteDenied = 3,
    ObjectUndefined = 4,
    ObjectClassInconsistent = 9,
    ObjectUnavailable = 11,
    TypeUnmatched = 12,
    ScopeOfAccessViolated = 13,
    DataBlockUnavailable = 14,
    LongGetAborted = 15,
    NoLongGetInProgress = 16,
    LongSetAborted = 17,
    NoLongSetInProgress = 18,
    DataBlockNumberInvalid = 19,
    OtherReason = 250,
};
// "object-undefined", "read-write-denied", …; "data-access-result N" when unknown.
QString dataAccessResultName(quint8 result);

// One Get-Data-Result: a value, or the reason there is none.
struct DataResult {
    DataAccessResult result = DataAccessResult::Success;
    Value value;
    bool ok() const { return result == DataAccessResult::Success; }
    bool operator==(const DataResult &) const = default;
};

struct AttributeRequest {
    AttributeDescriptor attribute;
    std::optional<SelectiveAccess> access;
    bool operator==(const AttributeRequest &) const = default;
};

struct GetRequest {
    enum class Kind : quint8 { Normal = 1, Next = 2, WithList = 3 };
    Kind kind = Kind::Normal;
    InvokeIdAndPriority invoke;
    std::vector<AttributeRequest> items; // Normal: exactly one
    quint32 blockNumber = 0; // Next: the block being acknowledged
    bool operator==(const GetRequest &) const = default;
};

struct GetResponse {
    enum class Kind : quint8 { Normal = 1, WithDatablock = 2, WithList = 3 };
    Kind kind = Kind::Normal;
    InvokeIdAndPriority invoke;
    std::vector<DataResult> results; // Normal: exactly one; WithList: one per requested item
    // WithDatablock:
    bool lastBlock = false;
    quint32 blockNumber = 0;
    QByteArray rawData; // this block's bytes (the concatenation is the encoded result)
    std::optional<DataAccessResult> blockError; // raw-data replaced by a data-access-result
    bool operator==(const GetResponse &) const = default;
};

// Decoding reassembled block-transfer data: for a Normal request the blocks concatenate to
// one A-XDR Data; for WithList they concatenate to a count followed by Get-Data-Results.
Result<DataResult> decodeBlockData(QByteArrayView data, const axdr::Limits &limits = {});
Result<std::vector<DataResult>> decodeBlockDataList(QByteArrayView data, const axdr::Limits &limits = {});
// Server side: the encoded result that block transfer will slice.
void encodeDataResult(const DataResult &result, QByteArray &out);
void encodeDataResultList(const std::vector<DataResult> &results, QByteArray &out);
// One Get-Data-Result of a with-list answer: choice 0 + Data, or choice 1 + data-access-result
// (a server that encodes results one at a time as it evaluates them).
void encodeGetDataResult(const DataResult &result, QByteArray &out);

struct SetRequest {
    enum class Kind : quint8 { Normal = 1 };
    Kind kind = Kind::Normal;
    InvokeIdAndPriority invoke;
    AttributeRequest item;
    Value value;
    bool operator==(const SetRequest &) const = default;
};

struct SetResponse {
    enum class Kind : quint8 { Normal = 1 };
    Kind kind = Kind::Normal;
    InvokeIdAndPriority invoke;
    DataAccessResult result = DataAccessResult::Success;
    bool operator==(const SetResponse &) const = default;
};

struct ActionRequest {
    enum class Kind : quint8 { Normal = 1 };
    Kind kind = Kind::Normal;
    InvokeIdAndPriority invoke;
    MethodDescriptor method;
    std::optional<Value> parameters;
    bool operator==(const ActionRequest &) const = default;
};

struct ActionResponse {
    enum class Kind : quint8 { Normal = 1 };
    Kind kind = Kind::Normal;
    InvokeIdAndPriority invoke;
    DataAccessResult result = DataAccessResult::Success; // action-result shares these codes
    std::optional<DataResult> returnParameters;
    bool operator==(const ActionResponse &) const = default;
};

// EXCEPTION-Response (tag 0xD8): state-error and service-error.
struct ExceptionResponse {
    quint8 stateError = 0; // 1 service-not-allowed, 2 service-unknown
    quint8 serviceError = 0; // 1 operation-not-possible, 2 service-not-supported, 3 other-reason, …
    quint32 invocationCounter = 0; // only with service-error 6 invocation-counter-error (Unsigned32)
    bool operator==(const ExceptionResponse &) const = default;
    QString describe() const; // "service-not-allowed / operation-not-possible"
};

// ConfirmedServiceError (tag 0x0E): which service failed, and a ServiceError choice + value.
struct ConfirmedServiceError {
    quint8 service = 0; // 1 initiateError, 2 getStatus, … 5 read, 6 write, …
    quint8 errorType = 0; // 0 application-reference, 1 hardware-resource, 2 vde-state-error,
                          // 3 service, 4 definition, 5 access, 6 initiate, 7 load-data-set, 9 task, 10 other
    quint8 value = 0;
    bool operator==(const ConfirmedServiceError &) const = default;
    QString describe() const; // "initiateError: initiate / dlms-version-too-low"
};

// Bytes of a GET-Request-With-List APDU of `count` attributes: header, item count (a BER
// length), and 10 bytes per attribute (descriptor and access-selection flag). `accessBytes`
// adds the selective access of the items that have one (selector + encoded parameters each).
qsizetype getWithListRequestSize(qsizetype count, qsizetype accessBytes = 0);

void encode(const GetRequest &request, QByteArray &out);
void encode(const GetResponse &response, QByteArray &out);
void encode(const SetRequest &request, QByteArray &out);
void encode(const SetResponse &response, QByteArray &out);
void encode(const ActionRequest &request, QByteArray &out);
void encode(const ActionResponse &response, QByteArray &out);
void encode(const ExceptionResponse &response, QByteArray &out);
void encode(const ConfirmedServiceError &error, QByteArray &out);

Result<GetRequest> decodeGetRequest(QByteArrayView apdu, const axdr::Limits &limits = {});
Result<GetResponse> decodeGetResponse(QByteArrayView apdu, const axdr::Limits &limits = {});
Result<SetRequest> decodeSetRequest(QByteArrayView apdu, const axdr::Limits &limits = {});
Result<SetResponse> decodeSetResponse(QByteArrayView apdu);
Result<ActionRequest> decodeActionRequest(QByteArrayView apdu, const axdr::Limits &limits = {});
Result<ActionResponse> decodeActionResponse(QByteArrayView apdu, const axdr::Limits &limits = {});
Result<ExceptionResponse> decodeExceptionResponse(QByteArrayView apdu);
Result<ConfirmedServiceError> decodeConfirmedServiceError(QByteArrayView apdu);

} // namespace dlms
