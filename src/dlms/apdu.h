#pragma once

#include "acse.h"
#include "xdlms.h"

#include <variant>

namespace dlms {

// APDU tags (first byte).
namespace tag {
inline constexpr quint8 ConfirmedServiceError = 0x0E;
inline constexpr quint8 Aarq = 0x60;
inline constexpr quint8 Aare = 0x61;
inline constexpr quint8 Rlrq = 0x62;
inline constexpr quint8 Rlre = 0x63;
inline constexpr quint8 GetRequest = 0xC0;
inline constexpr quint8 SetRequest = 0xC1;
inline constexpr quint8 EventNotification = 0xC2;
inline constexpr quint8 ActionRequest = 0xC3;
inline constexpr quint8 GetResponse = 0xC4;
inline constexpr quint8 SetResponse = 0xC5;
inline constexpr quint8 ActionResponse = 0xC7;
inline constexpr quint8 ExceptionResponse = 0xD8;
} // namespace tag

// What a frame carried, for traffic accounting. Cheap: looks at one or two bytes.
enum class FrameKind : quint8 {
    HdlcControl, // SNRM, UA, RR, RNR, DISC, DM, FRMR (I frames carry their APDU's kind)
    Aarq,
    Aare,
    GetRequest,
    GetResponse,
    SetRequest,
    SetResponse,
    ActionRequest,
    ActionResponse,
    Rlrq,
    Rlre,
    Exception, // exception-response or confirmed-service-error
    Other, // anything else (event notification, ciphered APDUs we do not open, discarded bytes)
};
inline constexpr int FrameKindCount = int(FrameKind::Other) + 1;
QString frameKindName(FrameKind kind); // "get-request", "hdlc-control", …
FrameKind classifyApdu(QByteArrayView apdu);
bool isRequestKind(FrameKind kind); // AARQ, GET/SET/ACTION request, RLRQ

using Apdu = std::variant<Aarq, Aare, Rlrq, Rlre, GetRequest, GetResponse, SetRequest, SetResponse,
    ActionRequest, ActionResponse, ExceptionResponse, ConfirmedServiceError>;

// Dispatches on the tag; UnknownTag for anything else.
Result<Apdu> decodeApdu(QByteArrayView apdu, const axdr::Limits &limits = {});
void encode(const Apdu &apdu, QByteArray &out);
QByteArray encodeApdu(const Apdu &apdu);

// One line for a trace: "GET-Request-Normal iid=1 3/1.0.1.8.0.255:2", "AARE accepted, max PDU 1024".
QString describeApdu(const Apdu &apdu);

} // namespace dlms
