#include "security.h"

#include "axdr.h"
#include "bytereader.h"
#include "bytewriter.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <climits>
#include <memory>

using namespace Qt::StringLiterals;

namespace dlms {

QString securityPolicyName(SecurityPolicy policy)
{
    switch (policy) {
    case SecurityPolicy::None:
        return u"none"_s;
    case SecurityPolicy::Authenticated:
        return u"auth"_s;
    case SecurityPolicy::Encrypted:
        return u"enc"_s;
    case SecurityPolicy::AuthenticatedEncrypted:
        return u"auth-enc"_s;
    }
    return u"none"_s;
}

std::optional<SecurityPolicy> securityPolicyFromName(QStringView name)
{
    for (const auto policy : {SecurityPolicy::None, SecurityPolicy::Authenticated, SecurityPolicy::Encrypted,
             SecurityPolicy::AuthenticatedEncrypted}) {
        if (name.compare(securityPolicyName(policy), Qt::CaseInsensitive) == 0)
            return policy;
    }
    return std::nullopt;
}

namespace security {

namespace {

// A ciphered APDU claiming more than this is refused outright rather than reported as
// truncated: no DLMS transport carries 16 MiB in one APDU, and a reader must not wait for it.
constexpr quint32 MaxCipheredLength = 0x00FFFFFF;

constexpr quint8 SuiteMask = 0x0F;

struct CipherCtxDeleter {
    void operator()(EVP_CIPHER_CTX *ctx) const { EVP_CIPHER_CTX_free(ctx); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxDeleter>;

const unsigned char *bytesOf(QByteArrayView v)
{
    return reinterpret_cast<const unsigned char *>(v.data());
}

QString hexByte(quint8 b)
{
    return u"0x%1"_s.arg(b, 2, 16, QLatin1Char('0'));
}

void appendU32(QByteArray &out, quint32 v)
{
    ByteWriter(out).u32(v);
}

// The 12-byte GCM IV: the sender's system title and the invocation counter, big endian.
std::array<unsigned char, 12> makeIv(QByteArrayView systemTitle, quint32 invocationCounter)
{
    std::array<unsigned char, 12> iv {};
    std::copy_n(bytesOf(systemTitle), SystemTitleSize, iv.begin());
    iv[8] = quint8(invocationCounter >> 24);
    iv[9] = quint8(invocationCounter >> 16);
    iv[10] = quint8(invocationCounter >> 8);
    iv[11] = quint8(invocationCounter);
    return iv;
}

// What one AES-128-GCM pass needs. The AAD is given in pieces so the AK never has to be
// copied into a scratch buffer.
struct GcmJob {
    bool encrypt = true;
    QByteArrayView key;
    std::array<unsigned char, 12> iv {};
    std::array<QByteArrayView, 3> aad {}; // pieces fed in order; empty pieces are skipped
    QByteArrayView input; // plaintext (encrypt) or ciphertext (decrypt); may be empty for GMAC
    bool withTag = true; // false: encryption only, no tag computed or checked
    QByteArrayView expectedTag; // decrypt with tag: the received (truncated) tag
};

struct GcmOutput {
    QByteArray text;
    QByteArray tag; // encrypt with tag: the truncated tag
};

enum class GcmStatus { Ok, TagMismatch, Failed };

GcmStatus runGcm(const GcmJob &job, GcmOutput &out)
{
    CipherCtx ctx(EVP_CIPHER_CTX_new());
    if (!ctx)
        return GcmStatus::Failed;
    const auto init = job.encrypt ? EVP_EncryptInit_ex : EVP_DecryptInit_ex;
    const auto update = job.encrypt ? EVP_EncryptUpdate : EVP_DecryptUpdate;
    if (init(ctx.get(), EVP_aes_128_gcm(), nullptr, nullptr, nullptr) != 1)
        return GcmStatus::Failed;
    if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, int(job.iv.size()), nullptr) != 1)
        return GcmStatus::Failed;
    if (init(ctx.get(), nullptr, nullptr, bytesOf(job.key), job.iv.data()) != 1)
        return GcmStatus::Failed;
    int len = 0;
    if (job.withTag) {
        for (const QByteArrayView piece : job.aad) {
            if (piece.isEmpty())
                continue;
            if (update(ctx.get(), nullptr, &len, bytesOf(piece), int(piece.size())) != 1)
                return GcmStatus::Failed;
        }
    }
    out.text.resize(job.input.size());
    if (!job.input.isEmpty()) {
        if (update(ctx.get(), reinterpret_cast<unsigned char *>(out.text.data()), &len, bytesOf(job.input),
                int(job.input.size()))
            != 1)
            return GcmStatus::Failed;
    }
    if (!job.withTag)
        return GcmStatus::Ok; // GCM is a stream mode: Update produced all of it
    unsigned char scratch[16];
    if (job.encrypt) {
        if (EVP_EncryptFinal_ex(ctx.get(), scratch, &len) != 1)
            return GcmStatus::Failed;
        out.tag.resize(TagSize);
        if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, int(TagSize), out.tag.data()) != 1)
            return GcmStatus::Failed;
        return GcmStatus::Ok;
    }
    // OpenSSL compares the truncated tag in constant time inside DecryptFinal.
    QByteArray tag = job.expectedTag.toByteArray();
    if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, int(tag.size()), tag.data()) != 1)
        return GcmStatus::Failed;
    if (EVP_DecryptFinal_ex(ctx.get(), scratch, &len) != 1) {
        out.text.fill(0); // never hand out unauthenticated plaintext
        out.text.clear();
        return GcmStatus::TagMismatch;
    }
    return GcmStatus::Ok;
}

Error cryptoFailure()
{
    return makeError(ErrorCode::InvalidArgument, u"security: the AES-GCM operation failed inside OpenSSL"_s);
}

Result<void> checkMaterial(QByteArrayView systemTitle, QByteArrayView blockCipherKey,
    QByteArrayView authenticationKey, bool needAuthenticationKey)
{
    if (systemTitle.size() != SystemTitleSize)
        return makeError(ErrorCode::InvalidArgument,
            u"security: the system title must be %1 bytes (got %2)"_s.arg(SystemTitleSize)
                .arg(systemTitle.size()));
    if (blockCipherKey.size() != KeySize)
        return makeError(ErrorCode::InvalidArgument,
            u"security: the block cipher key (EK) must be %1 bytes (got %2)"_s.arg(KeySize).arg(
                blockCipherKey.size()));
    if (needAuthenticationKey && authenticationKey.size() != KeySize)
        return makeError(ErrorCode::InvalidArgument,
            u"security: the authentication key (AK) must be %1 bytes (got %2)"_s.arg(KeySize).arg(
                authenticationKey.size()));
    return {};
}

// The control byte problems shared by protect() (caller error) and unprotect() (peer error).
std::optional<QString> controlProblem(quint8 control)
{
    if ((control & SuiteMask) != 0)
        return u"security control byte %1 names security suite %2; only suite 0 (AES-GCM-128) is supported"_s
            .arg(hexByte(control))
            .arg(control & SuiteMask);
    if (control & ControlCompressed)
        return u"security control byte %1 asks for compression, which is not supported"_s.arg(
            hexByte(control));
    if ((control & (ControlAuthenticated | ControlEncrypted)) == 0)
        return u"security control byte %1 sets neither authentication nor encryption"_s.arg(hexByte(control));
    return std::nullopt;
}

struct TagPair {
    quint8 plain;
    quint8 glo;
    quint8 ded; // 0: none
};
// Green Book 9.5 xDLMS APDU tags: the LN services' glo- and ded- forms.
constexpr TagPair TagTable[] = {
    {0x01, tag::GloInitiateRequest, 0},
    {0x08, tag::GloInitiateResponse, 0},
    {0x0E, tag::GloConfirmedServiceError, 0},
    {0xC0, tag::GloGetRequest, tag::DedGetRequest},
    {0xC1, tag::GloSetRequest, tag::DedSetRequest},
    {0xC2, tag::GloEventNotification, tag::DedEventNotification},
    {0xC3, tag::GloActionRequest, tag::DedActionRequest},
    {0xC4, tag::GloGetResponse, tag::DedGetResponse},
    {0xC5, tag::GloSetResponse, tag::DedSetResponse},
    {0xC7, tag::GloActionResponse, tag::DedActionResponse},
};

bool isGeneralTag(quint8 t)
{
    return t == tag::GeneralGloCiphering || t == tag::GeneralDedCiphering;
}

// An A-XDR length-prefixed octet string, bounded by the input.
Result<QByteArrayView> readOctetString(ByteReader &reader, const QString &what)
{
    const auto length = axdr::decodeLength(reader);
    if (!length)
        return makeError(length.error().code, u"%1: %2"_s.arg(what, length.error().message));
    if (*length > MaxCipheredLength)
        return makeError(ErrorCode::LengthTooLarge,
            u"%1 claims %2 bytes, more than any ciphered APDU may hold"_s.arg(what).arg(*length));
    if (!reader.has(qsizetype(*length)))
        return makeError(ErrorCode::Truncated,
            u"%1 claims %2 bytes but only %3 are left"_s.arg(what).arg(*length).arg(reader.remaining()));
    return reader.bytes(qsizetype(*length));
}

} // namespace

quint8 securityControl(SecurityPolicy policy)
{
    switch (policy) {
    case SecurityPolicy::None:
        return 0x00;
    case SecurityPolicy::Authenticated:
        return ControlAuthenticated;
    case SecurityPolicy::Encrypted:
        return ControlEncrypted;
    case SecurityPolicy::AuthenticatedEncrypted:
        return ControlAuthenticated | ControlEncrypted;
    }
    return 0x00;
}

SecurityPolicy policyOf(quint8 control)
{
    const bool a = control & ControlAuthenticated;
    const bool e = control & ControlEncrypted;
    if (a && e)
        return SecurityPolicy::AuthenticatedEncrypted;
    if (a)
        return SecurityPolicy::Authenticated;
    if (e)
        return SecurityPolicy::Encrypted;
    return SecurityPolicy::None;
}

std::optional<quint8> gloTag(quint8 plainTag)
{
    for (const auto &pair : TagTable) {
        if (pair.plain == plainTag)
            return pair.glo;
    }
    return std::nullopt;
}

std::optional<quint8> dedTag(quint8 plainTag)
{
    for (const auto &pair : TagTable) {
        if (pair.plain == plainTag && pair.ded != 0)
            return pair.ded;
    }
    return std::nullopt;
}

std::optional<quint8> plainTagOf(quint8 cipheredTag)
{
    for (const auto &pair : TagTable) {
        if (pair.glo == cipheredTag || (pair.ded != 0 && pair.ded == cipheredTag))
            return pair.plain;
    }
    return std::nullopt;
}

bool isCipheredTag(quint8 t)
{
    return isGeneralTag(t) || plainTagOf(t).has_value();
}

bool isDedicatedTag(quint8 t)
{
    if (t == tag::GeneralDedCiphering)
        return true;
    for (const auto &pair : TagTable) {
        if (pair.ded != 0 && pair.ded == t)
            return true;
    }
    return false;
}

Result<QByteArray> protect(quint8 control, QByteArrayView systemTitle, quint32 invocationCounter,
    QByteArrayView blockCipherKey, QByteArrayView authenticationKey, QByteArrayView plaintext)
{
    if (const auto problem = controlProblem(control))
        return makeError(ErrorCode::InvalidArgument, u"security: "_s + *problem);
    const bool authenticated = control & ControlAuthenticated;
    const bool encrypted = control & ControlEncrypted;
    if (auto ok = checkMaterial(systemTitle, blockCipherKey, authenticationKey, authenticated); !ok)
        return ok.error();
    if (plaintext.size() > INT_MAX - 64)
        return makeError(ErrorCode::InvalidArgument, u"security: the APDU is too large to protect"_s);

    const char sc = char(control);
    GcmJob job;
    job.encrypt = true;
    job.key = blockCipherKey;
    job.iv = makeIv(systemTitle, invocationCounter);
    job.withTag = authenticated;
    const QByteArrayView scView(&sc, 1);
    if (encrypted) {
        job.aad = {scView, authenticationKey, {}};
        job.input = plaintext;
    } else {
        // Authentication only: the plaintext travels in clear and is all AAD (a GMAC).
        job.aad = {scView, authenticationKey, plaintext};
    }
    GcmOutput out;
    if (runGcm(job, out) != GcmStatus::Ok)
        return cryptoFailure();

    QByteArray result;
    result.reserve(HeaderSize + plaintext.size() + TagSize);
    result.append(sc);
    appendU32(result, invocationCounter);
    result.append(encrypted ? QByteArrayView(out.text) : plaintext);
    if (authenticated)
        result.append(out.tag);
    return result;
}

Result<Unprotected> unprotect(QByteArrayView systemTitle, QByteArrayView blockCipherKey,
    QByteArrayView authenticationKey, QByteArrayView protectedText)
{
    if (protectedText.size() < HeaderSize)
        return makeError(ErrorCode::Truncated,
            u"security: %1 bytes of ciphered content, shorter than the %2-byte security header"_s
                .arg(protectedText.size())
                .arg(HeaderSize));
    ByteReader reader(protectedText);
    const quint8 control = reader.u8();
    const quint32 ic = reader.u32();
    if (const auto problem = controlProblem(control))
        return makeError(ErrorCode::Malformed, u"security: "_s + *problem);
    const bool authenticated = control & ControlAuthenticated;
    const bool encrypted = control & ControlEncrypted;
    if (authenticated && reader.remaining() < TagSize)
        return makeError(ErrorCode::Truncated,
            u"security: the ciphered content has %1 bytes after the header, fewer than the %2-byte tag"_s
                .arg(reader.remaining())
                .arg(TagSize));
    if (auto ok = checkMaterial(systemTitle, blockCipherKey, authenticationKey, authenticated); !ok)
        return ok.error();

    const QByteArrayView body = reader.bytes(reader.remaining() - (authenticated ? TagSize : 0));
    const QByteArrayView receivedTag = authenticated ? reader.rest() : QByteArrayView();
    const char sc = char(control);
    const QByteArrayView scView(&sc, 1);
    GcmJob job;
    job.encrypt = false;
    job.key = blockCipherKey;
    job.iv = makeIv(systemTitle, ic);
    job.withTag = authenticated;
    job.expectedTag = receivedTag;
    if (encrypted) {
        job.aad = {scView, authenticationKey, {}};
        job.input = body;
    } else {
        job.aad = {scView, authenticationKey, body};
    }
    GcmOutput out;
    switch (runGcm(job, out)) {
    case GcmStatus::Ok:
        break;
    case GcmStatus::TagMismatch:
        return makeError(ErrorCode::DecryptionFailed,
            u"the authentication tag does not verify: wrong key or system title, or the APDU was altered"_s);
    case GcmStatus::Failed:
        return cryptoFailure();
    }
    Unprotected result;
    result.control = control;
    result.invocationCounter = ic;
    result.plaintext = encrypted ? std::move(out.text) : body.toByteArray();
    return result;
}

quint32 CipheredApdu::invocationCounter() const
{
    if (protectedText.size() < HeaderSize)
        return 0;
    ByteReader reader(protectedText);
    reader.skip(1);
    return reader.u32();
}

Result<CipheredApdu> decodeCipheredApdu(QByteArrayView apdu)
{
    if (apdu.isEmpty())
        return makeError(ErrorCode::Truncated, u"ciphered APDU: empty input"_s);
    ByteReader reader(apdu);
    CipheredApdu result;
    result.tag = reader.u8();
    if (!isCipheredTag(result.tag))
        return makeError(ErrorCode::UnknownTag,
            u"ciphered APDU: tag %1 is not a ciphering tag"_s.arg(hexByte(result.tag)));
    if (isGeneralTag(result.tag)) {
        // general-glo/ded-ciphering (Green Book 9.5): system-title, ciphered-content.
        const auto title = readOctetString(reader, u"general ciphering: system title"_s);
        if (!title)
            return title.error();
        result.systemTitle = title->toByteArray();
    }
    const auto content = readOctetString(reader, u"ciphered APDU: ciphered content"_s);
    if (!content)
        return content.error();
    if (!reader.atEnd())
        return makeError(ErrorCode::Malformed,
            u"ciphered APDU: %1 bytes after the ciphered content"_s.arg(reader.remaining()));
    if (content->size() < HeaderSize)
        return makeError(ErrorCode::Malformed,
            u"ciphered APDU: the ciphered content has %1 bytes, fewer than the %2-byte security header"_s
                .arg(content->size())
                .arg(HeaderSize));
    result.protectedText = content->toByteArray();
    return result;
}

void encode(const CipheredApdu &apdu, QByteArray &out)
{
    out.append(char(apdu.tag));
    if (isGeneralTag(apdu.tag)) {
        axdr::encodeLength(quint32(apdu.systemTitle.size()), out);
        out.append(apdu.systemTitle);
    }
    axdr::encodeLength(quint32(apdu.protectedText.size()), out);
    out.append(apdu.protectedText);
}

Result<QByteArray> encodeServiceCiphered(bool dedicated, quint8 control, QByteArrayView systemTitle,
    quint32 invocationCounter, QByteArrayView blockCipherKey, QByteArrayView authenticationKey,
    QByteArrayView plainApdu)
{
    if (plainApdu.isEmpty())
        return makeError(ErrorCode::InvalidArgument, u"security: cannot cipher an empty APDU"_s);
    const quint8 plainTag = quint8(plainApdu[0]);
    const auto cipheredTag = dedicated ? dedTag(plainTag) : gloTag(plainTag);
    if (!cipheredTag)
        return makeError(ErrorCode::InvalidArgument,
            u"security: APDU tag %1 has no %2 ciphered form"_s.arg(
                hexByte(plainTag), dedicated ? u"ded-"_s : u"glo-"_s));
    auto protectedText
        = protect(control, systemTitle, invocationCounter, blockCipherKey, authenticationKey, plainApdu);
    if (!protectedText)
        return protectedText.error();
    CipheredApdu apdu;
    apdu.tag = *cipheredTag;
    apdu.protectedText = std::move(*protectedText);
    QByteArray out;
    encode(apdu, out);
    return out;
}

Result<QByteArray> encodeGeneralCiphered(bool dedicated, quint8 control, QByteArrayView systemTitle,
    quint32 invocationCounter, QByteArrayView blockCipherKey, QByteArrayView authenticationKey,
    QByteArrayView plainApdu)
{
    auto protectedText
        = protect(control, systemTitle, invocationCounter, blockCipherKey, authenticationKey, plainApdu);
    if (!protectedText)
        return protectedText.error();
    CipheredApdu apdu;
    apdu.tag = dedicated ? tag::GeneralDedCiphering : tag::GeneralGloCiphering;
    apdu.systemTitle = systemTitle.toByteArray();
    apdu.protectedText = std::move(*protectedText);
    QByteArray out;
    encode(apdu, out);
    return out;
}

Result<QByteArray> gmacResponse(QByteArrayView systemTitle, quint32 invocationCounter,
    QByteArrayView blockCipherKey, QByteArrayView authenticationKey, QByteArrayView challenge)
{
    if (auto ok = checkMaterial(systemTitle, blockCipherKey, authenticationKey, true); !ok)
        return ok.error();
    const char sc = char(ControlAuthenticated);
    GcmJob job;
    job.encrypt = true;
    job.key = blockCipherKey;
    job.iv = makeIv(systemTitle, invocationCounter);
    job.aad = {QByteArrayView(&sc, 1), authenticationKey, challenge};
    GcmOutput out;
    if (runGcm(job, out) != GcmStatus::Ok)
        return cryptoFailure();
    QByteArray result;
    result.reserve(HeaderSize + TagSize);
    result.append(sc);
    appendU32(result, invocationCounter);
    result.append(out.tag);
    return result;
}

Result<quint32> verifyGmacResponse(QByteArrayView peerSystemTitle, QByteArrayView blockCipherKey,
    QByteArrayView authenticationKey, QByteArrayView challenge, QByteArrayView response)
{
    if (auto ok = checkMaterial(peerSystemTitle, blockCipherKey, authenticationKey, true); !ok)
        return ok.error();
    if (response.size() != HeaderSize + TagSize || quint8(response[0]) != ControlAuthenticated)
        return makeError(ErrorCode::AuthenticationFailed,
            u"HLS-GMAC: the peer's response is not a %1-byte f(challenge) with security control 0x10"_s.arg(
                HeaderSize + TagSize));
    ByteReader reader(response);
    reader.skip(1);
    const quint32 ic = reader.u32();
    const auto expected = gmacResponse(peerSystemTitle, ic, blockCipherKey, authenticationKey, challenge);
    if (!expected)
        return expected.error();
    if (CRYPTO_memcmp(expected->constData(), response.data(), size_t(response.size())) != 0)
        return makeError(ErrorCode::AuthenticationFailed,
            u"HLS-GMAC: the peer's response to the challenge does not verify: wrong authentication or block "
            u"cipher key, or wrong system title"_s);
    return ic;
}

// An empty result means RAND_bytes failed (no entropy source): callers treat it as failure
// rather than fall back to anything weaker.
QByteArray randomBytes(qsizetype count)
{
    if (count <= 0 || count > INT_MAX)
        return {};
    QByteArray out(count, Qt::Uninitialized);
    if (RAND_bytes(reinterpret_cast<unsigned char *>(out.data()), int(count)) != 1)
        return {};
    return out;
}

QString keyFingerprint(QByteArrayView key)
{
    static constexpr char Prefix[] = "dlmsbridge-ic";
    QByteArray input;
    input.reserve(qsizetype(sizeof(Prefix) - 1) + key.size());
    input.append(Prefix, qsizetype(sizeof(Prefix) - 1));
    input.append(key);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int digestSize = 0;
    const int ok
        = EVP_Digest(input.constData(), size_t(input.size()), digest, &digestSize, EVP_sha256(), nullptr);
    OPENSSL_cleanse(input.data(), size_t(input.size()));
    if (ok != 1 || digestSize < 8)
        return {};
    const QByteArray head(reinterpret_cast<const char *>(digest), 8);
    return QString::fromLatin1(head.toHex());
}

Result<QByteArray> parseHexBytes(QStringView text, qsizetype size, const QString &what)
{
    const auto fail = [&](QByteArray &partial, const QString &why) -> Error {
        partial.fill(0);
        return makeError(
            ErrorCode::InvalidArgument, u"%1 must be %2 bytes of hex (%3)"_s.arg(what).arg(size).arg(why));
    };
    QByteArray out;
    out.reserve(size > 0 ? size : text.size() / 2);
    int pending = -1; // the high nibble of a byte half read
    for (const QChar ch : text) {
        const char16_t c = ch.unicode();
        if (c == u' ' || c == u':') {
            if (pending >= 0)
                return fail(out, u"a separator splits a byte"_s);
            continue;
        }
        int nibble = -1;
        if (c >= u'0' && c <= u'9')
            nibble = c - u'0';
        else if (c >= u'a' && c <= u'f')
            nibble = c - u'a' + 10;
        else if (c >= u'A' && c <= u'F')
            nibble = c - u'A' + 10;
        if (nibble < 0)
            return fail(out, u"it contains a character that is not a hex digit"_s);
        if (pending < 0) {
            pending = nibble;
        } else {
            out.append(char((pending << 4) | nibble));
            pending = -1;
        }
    }
    if (pending >= 0)
        return fail(out, u"it has an odd number of hex digits"_s);
    if (out.size() != size)
        return fail(out, u"got %1"_s.arg(out.size()));
    return out;
}

QString cipheredApduName(quint8 t)
{
    namespace ct = tag;
    switch (t) {
    case ct::GloInitiateRequest:
        return u"glo-initiate-request"_s;
    case ct::GloInitiateResponse:
        return u"glo-initiate-response"_s;
    case ct::GloConfirmedServiceError:
        return u"glo-confirmed-service-error"_s;
    case ct::GloGetRequest:
        return u"glo-get-request"_s;
    case ct::GloSetRequest:
        return u"glo-set-request"_s;
    case ct::GloEventNotification:
        return u"glo-event-notification"_s;
    case ct::GloActionRequest:
        return u"glo-action-request"_s;
    case ct::GloGetResponse:
        return u"glo-get-response"_s;
    case ct::GloSetResponse:
        return u"glo-set-response"_s;
    case ct::GloActionResponse:
        return u"glo-action-response"_s;
    case ct::DedGetRequest:
        return u"ded-get-request"_s;
    case ct::DedSetRequest:
        return u"ded-set-request"_s;
    case ct::DedEventNotification:
        return u"ded-event-notification"_s;
    case ct::DedActionRequest:
        return u"ded-action-request"_s;
    case ct::DedGetResponse:
        return u"ded-get-response"_s;
    case ct::DedSetResponse:
        return u"ded-set-response"_s;
    case ct::DedActionResponse:
        return u"ded-action-response"_s;
    case ct::GeneralGloCiphering:
        return u"general-glo-ciphering"_s;
    case ct::GeneralDedCiphering:
        return u"general-ded-ciphering"_s;
    }
    return u"ciphered APDU 0x%1"_s.arg(t, 2, 16, QLatin1Char('0'));
}

void wipe(QByteArray &secret)
{
    if (!secret.isEmpty() && secret.isDetached())
        OPENSSL_cleanse(secret.data(), size_t(secret.size()));
    secret.clear();
}

} // namespace security

Result<quint32> MemoryInvocationCounter::next()
{
    std::lock_guard lock(m_mutex);
    if (m_next > 0xFFFFFFFFu)
        return makeError(ErrorCode::InvalidArgument, u"invocation counter exhausted: a new key is needed"_s);
    return quint32(m_next++);
}

void MemoryInvocationCounter::raiseFloor(quint32 floor)
{
    std::lock_guard lock(m_mutex);
    m_next = std::max<quint64>(m_next, floor);
}

// Once exhausted, the counter stays at its last value rather than wrapping to 0.
quint32 MemoryInvocationCounter::peek() const
{
    std::lock_guard lock(m_mutex);
    return quint32(std::min<quint64>(m_next, 0xFFFFFFFFu));
}

} // namespace dlms
