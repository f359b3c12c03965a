#pragma once

#include "error.h"

#include <QtCore/QByteArray>
#include <QtCore/QString>

#include <memory>
#include <mutex>
#include <optional>

// DLMS/COSEM security suite 0 (AES-GCM-128, IEC 62056-5-3 / Green Book 9.2.7): the security
// header, the service-specific (glo-/ded-) and general-glo ciphering APDUs, and the GMAC of HLS
// authentication mechanism 5. The cryptography is OpenSSL's EVP AES-128-GCM; nothing here is
// hand-written crypto. Keys are secrets: no function here logs them or puts them in an error.

namespace dlms {

// What suite 0 applies to the xDLMS APDUs of an association.
enum class SecurityPolicy : quint8 {
    None, // plain APDUs
    Authenticated, // plaintext + GMAC tag (SC 0x10)
    Encrypted, // ciphertext, no tag (SC 0x20)
    AuthenticatedEncrypted, // ciphertext + tag (SC 0x30)
};
QString securityPolicyName(SecurityPolicy policy); // "none", "auth", "enc", "auth-enc"
std::optional<SecurityPolicy> securityPolicyFromName(QStringView name); // the inverse

// A client's (or server's) security material for one association: comparable, copyable. Keys
// and the system title are raw bytes; empty means not configured.
struct SecuritySettings {
    SecurityPolicy policy = SecurityPolicy::None;
    QByteArray systemTitle; // our own: 8 bytes (3 manufacturer letters + 5 bytes), sent in the AARQ
    QByteArray blockCipherKey; // EK, the global unicast encryption key: 16 bytes, a secret
    QByteArray authenticationKey; // AK: 16 bytes, a secret
    // A fresh random dedicated key per association, sent inside the ciphered InitiateRequest;
    // the association's data APDUs then use ded- ciphering with it. Needs an encrypting policy
    // (enc or auth-enc): with auth only, the key would travel in clear.
    bool dedicatedKey = false;
    // general-glo-ciphering (tag 0xDB, system title in every APDU) instead of glo-get-request & co.
    bool generalCiphering = false;
    bool operator==(const SecuritySettings &) const = default;

    // Whether anything of suite 0 is in use (ciphering, or the keys HLS-GMAC needs).
    bool ciphered() const { return policy != SecurityPolicy::None; }
};

namespace security {

inline constexpr qsizetype SystemTitleSize = 8;
inline constexpr qsizetype KeySize = 16; // AES-128
inline constexpr qsizetype TagSize = 12; // GCM tag, truncated as suite 0 requires
inline constexpr qsizetype HeaderSize = 5; // security control byte + invocation counter

// Security control byte (Green Book 9.2.7.2.4.2): bits 0-3 suite id, bit 4 authentication,
// bit 5 encryption, bit 6 broadcast key, bit 7 compression.
inline constexpr quint8 ControlAuthenticated = 0x10;
inline constexpr quint8 ControlEncrypted = 0x20;
inline constexpr quint8 ControlBroadcastKey = 0x40;
inline constexpr quint8 ControlCompressed = 0x80;
quint8 securityControl(SecurityPolicy policy); // suite 0: 0x00, 0x10, 0x20, 0x30
SecurityPolicy policyOf(quint8 control); // from bits 4 and 5

// Ciphered APDU tags.
namespace tag {
inline constexpr quint8 GloInitiateRequest = 0x21;
inline constexpr quint8 GloInitiateResponse = 0x28;
inline constexpr quint8 GloConfirmedServiceError = 0x2E;
inline constexpr quint8 GloGetRequest = 0xC8;
inline constexpr quint8 GloSetRequest = 0xC9;
inline constexpr quint8 GloEventNotification = 0xCA;
inline constexpr quint8 GloActionRequest = 0xCB;
inline constexpr quint8 GloGetResponse = 0xCC;
inline constexpr quint8 GloSetResponse = 0xCD;
inline constexpr quint8 GloActionResponse = 0xCF;
inline constexpr quint8 DedGetRequest = 0xD0;
inline constexpr quint8 DedSetRequest = 0xD1;
inline constexpr quint8 DedEventNotification = 0xD2;
inline constexpr quint8 DedActionRequest = 0xD3;
inline constexpr quint8 DedGetResponse = 0xD4;
inline constexpr quint8 DedSetResponse = 0xD5;
inline constexpr quint8 DedActionResponse = 0xD7;
inline constexpr quint8 GeneralGloCiphering = 0xDB;
inline constexpr quint8 GeneralDedCiphering = 0xDC;
} // namespace tag

// The glo- / ded- tag that protects an APDU whose plain tag is `plainTag` (0x01 initiate-request
// → 0x21, 0xC0 get-request → 0xC8 / 0xD0, …); nullopt when the APDU has no such tag (AARQ,
// RLRQ, exception-response: those go unprotected or in general-glo-ciphering). Initiate
// request/response and confirmed-service-error have no ded- form.
std::optional<quint8> gloTag(quint8 plainTag);
std::optional<quint8> dedTag(quint8 plainTag);
// The plain tag a glo-/ded- tag protects; nullopt for the general ciphering tags and non-ciphered tags.
std::optional<quint8> plainTagOf(quint8 cipheredTag);
bool isCipheredTag(quint8 tag); // glo-, ded- and general-(glo|ded)-ciphering
bool isDedicatedTag(quint8 tag); // ded- and general-ded-ciphering
// "glo-get-request", "ded-action-response", "general-glo-ciphering", … ("ciphered APDU 0xNN" otherwise).
QString cipheredApduName(quint8 tag);

// Protects an xDLMS APDU: SC || IC || (P or C) [|| T]. The IV is systemTitle || IC; the AAD
// is SC || AK (|| P when only authenticated). InvalidArgument for a key or title of the wrong
// size, or a control byte with a suite other than 0, or compression.
Result<QByteArray> protect(quint8 control, QByteArrayView systemTitle, quint32 invocationCounter,
    QByteArrayView blockCipherKey, QByteArrayView authenticationKey, QByteArrayView plaintext);

struct Unprotected {
    quint8 control = 0;
    quint32 invocationCounter = 0;
    QByteArray plaintext;
};
// The inverse of protect(): `protectedText` is SC || IC || … as protect() returns it; the
// system title is the sender's. Errors:
//  - DecryptionFailed: the tag does not verify ("the authentication tag does not verify: wrong
//    key or system title, or the APDU was altered");
//  - Truncated / Malformed: shorter than the header (+ tag), security control byte of another
//    suite, compression, or neither A nor E set;
//  - InvalidArgument: a key or title of the wrong size.
// Encrypted-only text cannot be checked; a wrong key shows as a plaintext that does not decode.
Result<Unprotected> unprotect(QByteArrayView systemTitle, QByteArrayView blockCipherKey,
    QByteArrayView authenticationKey, QByteArrayView protectedText);

// One ciphered APDU, framing only (no cryptography): service-specific glo-/ded- APDUs are
// tag || length || SC || IC || C || T; general-glo/ded-ciphering (Green Book 9.5, 0xDB/0xDC) is
// tag || system-title || length || SC || IC || C || T (each octet string with an A-XDR length).
// The transaction-id/recipient/date-time fields belong to general-ciphering (0xDD), not handled.
struct CipheredApdu {
    quint8 tag = 0;
    QByteArray transactionId; // general-ciphering (0xDD) only: stays empty for 0xDB/0xDC
    QByteArray systemTitle; // general-glo/ded-ciphering only: the originator's system title
    QByteArray recipientSystemTitle; // general-ciphering (0xDD) only: stays empty for 0xDB/0xDC
    QByteArray protectedText; // SC || IC || C [|| T], for unprotect()
    quint8 control() const { return protectedText.isEmpty() ? 0 : quint8(protectedText[0]); }
    quint32 invocationCounter() const; // 0 when the header is incomplete
};
// Malformed / Truncated / LengthTooLarge on bad framing; UnknownTag for a tag that is not a
// ciphering tag. Never allocates more than the input holds.
Result<CipheredApdu> decodeCipheredApdu(QByteArrayView apdu);
void encode(const CipheredApdu &apdu, QByteArray &out);

// Protects `plainApdu` (its first byte is its tag) as the glo- (or, `dedicated`, ded-) APDU for
// its tag: InvalidArgument when that tag has none.
Result<QByteArray> encodeServiceCiphered(bool dedicated, quint8 control, QByteArrayView systemTitle,
    quint32 invocationCounter, QByteArrayView blockCipherKey, QByteArrayView authenticationKey,
    QByteArrayView plainApdu);
// Protects any APDU in general-glo-ciphering (general-ded-ciphering when `dedicated`), with our
// system title as the originator's.
Result<QByteArray> encodeGeneralCiphered(bool dedicated, quint8 control, QByteArrayView systemTitle,
    quint32 invocationCounter, QByteArrayView blockCipherKey, QByteArrayView authenticationKey,
    QByteArrayView plainApdu);

// HLS authentication mechanism 5 (GMAC): f(challenge) = SC || IC || GMAC(SC || AK || challenge),
// SC = 0x10, IV = systemTitle || IC, the 12-byte tag. 17 bytes.
Result<QByteArray> gmacResponse(QByteArrayView systemTitle, quint32 invocationCounter,
    QByteArrayView blockCipherKey, QByteArrayView authenticationKey, QByteArrayView challenge);
// Checks a peer's f(challenge) computed with the peer's system title; the IC it used on
// success. AuthenticationFailed when it does not verify or is not 17 bytes with SC 0x10.
Result<quint32> verifyGmacResponse(QByteArrayView peerSystemTitle, QByteArrayView blockCipherKey,
    QByteArrayView authenticationKey, QByteArrayView challenge, QByteArrayView response);

// Overwrites a secret this buffer alone holds (OPENSSL_cleanse), then empties it. A shared
// buffer is only emptied: writing to it would detach and wipe a fresh copy instead.
void wipe(QByteArray &secret);

// Cryptographically random bytes (OpenSSL RAND_bytes): HLS challenges, dedicated keys.
QByteArray randomBytes(qsizetype count);
// A stable, non-reversible name for a key (the first 8 bytes of SHA-256("dlmsbridge-ic" || key),
// hex): what invocation counters are filed under, so the key itself is never written.
QString keyFingerprint(QByteArrayView key);

// Hex text to bytes: "000102…0F", spaces and ':' allowed between byte pairs. InvalidArgument
// ("<what> must be 16 bytes of hex (got 15)") without echoing the text, which may be a key.
Result<QByteArray> parseHexBytes(QStringView text, qsizetype size, const QString &what);

} // namespace security

// The client's invocation counter for one block cipher key and system title: each value is
// handed out once, ever (a GCM IV must never repeat under one key). Thread-safe.
class InvocationCounter {
public:
    virtual ~InvocationCounter() = default;
    // The next unused value. An error when none can be guaranteed unused (the store cannot be
    // written, or the counter reached 0xFFFFFFFF): the caller must not send.
    virtual Result<quint32> next() = 0;
    // Never hand out a value below `floor` from now on: a meter answered invocation-counter-error
    // with the lowest value it accepts (another installation used ours). No-op by default.
    virtual void raiseFloor(quint32 floor) { (void)floor; }
};

// Counts in memory from `first`: for tests, the simulator and one-shot tools.
class MemoryInvocationCounter final : public InvocationCounter {
public:
    explicit MemoryInvocationCounter(quint32 first = 1) : m_next(first) { }
    Result<quint32> next() override;
    void raiseFloor(quint32 floor) override;
    quint32 peek() const;

private:
    mutable std::mutex m_mutex;
    quint64 m_next;
};

} // namespace dlms
