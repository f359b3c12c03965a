#pragma once

#include "bytereader.h"

#include <QtCore/QByteArray>
#include <QtCore/QStringList>

#include <optional>

namespace dlms {

enum class Authentication : quint8 {
    None = 0,
    Low = 1, // LLS: password
    High = 2,
    HighMd5 = 3,
    HighSha1 = 4,
    HighGmac = 5,
    HighSha256 = 6,
    HighEcdsa = 7,
};
QString authenticationName(Authentication mechanism); // "none", "low", "high-gmac", …

// xDLMS conformance block (IEC 62056-5-3, 7.3.1): a 24-bit BIT STRING; bit n of the ASN.1
// string is 1 << (23 - n) here, so the constants below read as the wire bytes 00 7E 1F.
enum Conformance : quint32 {
    ConformanceGeneralProtection = 1u << 22,
    ConformanceGeneralBlockTransfer = 1u << 21,
    ConformanceRead = 1u << 20,
    ConformanceWrite = 1u << 19,
    ConformanceUnconfirmedWrite = 1u << 18,
    ConformanceAttribute0WithSet = 1u << 15,
    ConformancePriorityManagement = 1u << 14,
    ConformanceAttribute0WithGet = 1u << 13,
    ConformanceBlockTransferWithGet = 1u << 12,
    ConformanceBlockTransferWithSet = 1u << 11,
    ConformanceBlockTransferWithAction = 1u << 10,
    ConformanceMultipleReferences = 1u << 9,
    ConformanceInformationReport = 1u << 8,
    ConformanceDataNotification = 1u << 7,
    ConformanceAccess = 1u << 6,
    ConformanceParameterizedAccess = 1u << 5,
    ConformanceGet = 1u << 4,
    ConformanceSet = 1u << 3,
    ConformanceSelectiveAccess = 1u << 2,
    ConformanceEventNotification = 1u << 1,
    ConformanceAction = 1u << 0,
};
// The usual LN client proposal: get, set, action, selective access, event notification,
// block transfer with get/set/action, multiple references, attribute 0 with get,
// priority management (0x007E1F).
inline constexpr quint32 DefaultProposedConformance = 0x007E1F;
QStringList conformanceNames(quint32 conformance); // ["get", "set", …]

// xDLMS InitiateRequest / InitiateResponse, carried in the AARQ/AARE user-information.
struct InitiateRequest {
    QByteArray dedicatedKey; // empty = absent
    bool responseAllowed = true;
    quint8 dlmsVersion = 6;
    quint32 proposedConformance = DefaultProposedConformance;
    quint16 clientMaxReceivePduSize = 0xFFFF;
    bool operator==(const InitiateRequest &) const = default;
};
struct InitiateResponse {
    quint8 dlmsVersion = 6;
    quint32 negotiatedConformance = 0;
    quint16 serverMaxReceivePduSize = 0;
    quint16 vaaName = 0x0007; // LN referencing
    bool operator==(const InitiateResponse &) const = default;
};

enum class AssociationResult : quint8 { Accepted = 0, RejectedPermanent = 1, RejectedTransient = 2 };
enum class DiagnosticSource : quint8 { ServiceUser = 1, ServiceProvider = 2 };

// acse-service-user diagnostics.
enum class AcseUserDiagnostic : quint8 {
    Null = 0,
    NoReasonGiven = 1,
    ApplicationContextNameNotSupported = 2,
    CallingApTitleNotRecognized = 3,
    CallingApInvocationIdentifierNotRecognized = 4,
    CallingAeQualifierNotRecognized = 5,
    CallingAeInvocationIdentifierNotRecognized = 6,
    CalledApTitleNotRecognized = 7,
    CalledApInvocationIdentifierNotRecognized = 8,
    CalledAeQualifierNotRecognized = 9,
    CalledAeInvocationIdentifierNotRecognized = 10,
    AuthenticationMechanismNameNotRecognised = 11,
    AuthenticationMechanismNameRequired = 12,
    AuthenticationFailure = 13,
    AuthenticationRequired = 14,
};

struct Aarq {
    bool ciphered = false; // application context LN-with-ciphering (3) instead of LN (1)
    Authentication authentication = Authentication::None;
    QByteArray authenticationValue; // LLS password or HLS CtoS challenge; a secret
    QByteArray callingApTitle; // system title (HLS / ciphering), empty = absent
    InitiateRequest initiate;
    QByteArray cipheredInitiate; // a glo-initiate-request instead of `initiate` (issue 11)
    bool operator==(const Aarq &) const = default;
};

struct Aare {
    bool ciphered = false;
    AssociationResult result = AssociationResult::Accepted;
    DiagnosticSource diagnosticSource = DiagnosticSource::ServiceUser;
    quint8 diagnostic = 0;
    QByteArray respondingApTitle;
    Authentication authentication = Authentication::None; // mechanism echoed by the server
    QByteArray respondingAuthenticationValue; // HLS StoC challenge
    std::optional<InitiateResponse> initiate;
    // When the server refuses the xDLMS initiate: a ConfirmedServiceError (initiateError).
    std::optional<quint8> initiateErrorType; // ServiceError choice
    std::optional<quint8> initiateErrorValue; // e.g. 1 = dlms-version-too-low, 2 = incompatible-conformance,
                                              // 3 = pdu-size-too-short
    QByteArray cipheredInitiate;
    bool operator==(const Aare &) const = default;

    bool accepted() const { return result == AssociationResult::Accepted && initiate.has_value(); }
    // "rejected-permanent: authentication-failure", "accepted", …
    QString describe() const;
};

// RLRQ / RLRE reason: 0 normal, 1 urgent, 30 user-defined (RLRQ); 0 normal, 1 not-finished,
// 30 user-defined (RLRE).
struct Rlrq {
    std::optional<quint8> reason = quint8(0);
    QByteArray userInformation; // (ciphered) InitiateRequest, optional
    bool operator==(const Rlrq &) const = default;
};
struct Rlre {
    std::optional<quint8> reason = quint8(0);
    QByteArray userInformation;
    bool operator==(const Rlre &) const = default;
};

void encode(const Aarq &aarq, QByteArray &out);
void encode(const Aare &aare, QByteArray &out);
void encode(const Rlrq &rlrq, QByteArray &out);
void encode(const Rlre &rlre, QByteArray &out);
Result<Aarq> decodeAarq(QByteArrayView apdu);
Result<Aare> decodeAare(QByteArrayView apdu);
Result<Rlrq> decodeRlrq(QByteArrayView apdu);
Result<Rlre> decodeRlre(QByteArrayView apdu);

// Where an encoded AARQ carries its calling-authentication-value (the LLS password or HLS
// challenge): the byte range of the AC element's content. std::nullopt when there is none. An
// AARQ that cannot be walked yields everything after its tag, so a caller that masks secrets
// masks too much rather than too little.
struct ByteRange {
    qsizetype offset = 0;
    qsizetype length = 0;
};
std::optional<ByteRange> findAuthenticationValue(QByteArrayView aarq);

void encode(const InitiateRequest &request, QByteArray &out);
void encode(const InitiateResponse &response, QByteArray &out);
Result<InitiateRequest> decodeInitiateRequest(QByteArrayView bytes);
Result<InitiateResponse> decodeInitiateResponse(QByteArrayView bytes);

} // namespace dlms
