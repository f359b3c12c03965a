#include "acse.h"

#include "bytewriter.h"

#include <iterator>

namespace dlms {

namespace {

// {joint-iso-ccitt(2) country(16) country-name(756) identified-organization(5) DLMS-UA(8)}:
// every application context name and mechanism name continues with an arc and an id.
constexpr char DlmsUaOid[] = {0x60, char(0x85), 0x74, 0x05, 0x08};
constexpr quint8 ApplicationContextArc = 1;
constexpr quint8 MechanismNameArc = 2;
constexpr quint8 ContextLn = 1;
constexpr quint8 ContextLnCiphered = 3;

// xDLMS APDUs that may sit in user-information instead of a plain initiate.
constexpr quint8 InitiateRequestTag = 0x01;
constexpr quint8 InitiateResponseTag = 0x08;
constexpr quint8 ConfirmedServiceErrorTag = 0x0E;
constexpr quint8 GloInitiateRequestTag = 0x21;
constexpr quint8 GloInitiateResponseTag = 0x28;
constexpr quint8 DedInitiateRequestTag = 0x41;
constexpr quint8 DedInitiateResponseTag = 0x48;
constexpr quint8 GeneralGloCipheringTag = 0xDB;
constexpr quint8 GeneralDedCipheringTag = 0xDC;
constexpr quint8 GeneralCipheringTag = 0xDD;

constexpr quint8 ConformanceTag[] = {0x5F, 0x1F}; // [APPLICATION 31] IMPLICIT BIT STRING

QString hexByte(quint8 b)
{
    return QStringLiteral("0x") + QString::number(b, 16).rightJustified(2, u'0').toUpper();
}

int berLengthSize(quint32 n)
{
    if (n < 0x80)
        return 1;
    if (n <= 0xFF)
        return 2;
    if (n <= 0xFFFF)
        return 3;
    if (n <= 0xFFFFFF)
        return 4;
    return 5;
}

// tag, length, inner tag, length, bytes: the shape of every wrapped octet string in ACSE
// (AP titles, authentication values, user-information).
void appendWrapped(ByteWriter &w, quint8 outerTag, quint8 innerTag, QByteArrayView bytes)
{
    const auto n = quint32(bytes.size());
    w.u8(outerTag);
    w.berLength(quint32(1 + berLengthSize(n)) + n);
    w.u8(innerTag);
    w.berLength(n);
    w.bytes(bytes);
}

void appendOid(ByteWriter &w, quint8 arc, quint8 id)
{
    w.bytes(QByteArrayView(DlmsUaOid, sizeof DlmsUaOid));
    w.u8(arc);
    w.u8(id);
}

void appendApplicationContext(ByteWriter &w, bool ciphered)
{
    w.u8(0xA1);
    w.u8(0x09);
    w.u8(0x06); // OBJECT IDENTIFIER
    w.u8(0x07);
    appendOid(w, ApplicationContextArc, ciphered ? ContextLnCiphered : ContextLn);
}

// Requirements bit string "authentication" and the mechanism name, for AARQ (8A/8B) and
// AARE (88/89).
void appendAuthentication(
    ByteWriter &w, quint8 requirementsTag, quint8 mechanismTag, Authentication mechanism)
{
    w.u8(requirementsTag);
    w.u8(0x02);
    w.u8(0x07); // seven unused bits: only bit 0 (authentication) is defined
    w.u8(0x80);
    w.u8(mechanismTag);
    w.u8(0x07);
    appendOid(w, MechanismNameArc, quint8(mechanism));
}

// INTEGER 0..255 in its shortest two's-complement form.
void appendSmallInteger(ByteWriter &w, quint8 v)
{
    w.u8(0x02);
    if (v < 0x80) {
        w.u8(0x01);
    } else {
        w.u8(0x02);
        w.u8(0x00);
    }
    w.u8(v);
}

int smallIntegerSize(quint8 v)
{
    return v < 0x80 ? 3 : 4;
}

void appendConformance(ByteWriter &w, quint32 conformance)
{
    w.u8(ConformanceTag[0]);
    w.u8(ConformanceTag[1]);
    w.u8(0x04);
    w.u8(0x00); // no unused bits: all 24 are defined
    w.u8(quint8(conformance >> 16));
    w.u8(quint8(conformance >> 8));
    w.u8(quint8(conformance));
}

// Prepends tag and BER length to a finished body.
void appendApdu(QByteArray &out, quint8 tag, const QByteArray &body)
{
    ByteWriter w(out);
    w.u8(tag);
    w.berLength(quint32(body.size()));
    w.bytes(body);
}

// One BER TLV, positioned within the APDU for error messages.
struct Element {
    quint8 tag = 0; // first identifier byte; high-tag-number forms keep only it (never ours)
    QByteArrayView content;
    qsizetype offset = 0; // of the identifier byte
    qsizetype contentOffset = 0; // of the first content byte
};

Error truncatedAt(const char *what, qsizetype offset)
{
    return makeError(ErrorCode::Truncated,
        QStringLiteral("%1: input ends inside an element at offset %2")
            .arg(QLatin1StringView(what))
            .arg(offset));
}

// Reads one TLV from `r`, whose data starts at `base` within the APDU. The length is checked
// against what the enclosing element holds, never trusted beyond it.
Result<Element> readElement(ByteReader &r, qsizetype base, const char *what)
{
    Element e;
    e.offset = base + r.position();
    e.tag = r.u8();
    if (r.failed())
        return truncatedAt(what, e.offset);
    if ((e.tag & 0x1F) == 0x1F) {
        // High tag number: subsequent bytes carry 7 bits each until one has bit 8 clear.
        int count = 0;
        quint8 b = 0;
        do {
            b = r.u8();
            if (r.failed())
                return truncatedAt(what, e.offset);
            if (++count > 4)
                return makeError(ErrorCode::Malformed,
                    QStringLiteral("%1: tag at offset %2 is longer than 5 bytes")
                        .arg(QLatin1StringView(what))
                        .arg(e.offset));
        } while (b & 0x80);
    }
    const qsizetype lengthAt = base + r.position();
    const quint8 first = r.peek();
    if (r.atEnd())
        return truncatedAt(what, lengthAt);
    if (first == 0x80 || first > 0x84)
        return makeError(ErrorCode::Malformed,
            QStringLiteral(
                "%1: unsupported BER length form %2 at offset %3 (only definite lengths of up to 4 bytes)")
                .arg(QLatin1StringView(what), hexByte(first))
                .arg(lengthAt));
    const std::optional<quint32> length = r.berLength();
    if (!length)
        return truncatedAt(what, lengthAt);
    if (*length > quint64(r.remaining()))
        return makeError(ErrorCode::LengthTooLarge,
            QStringLiteral("%1: element %2 at offset %3 claims %4 bytes but only %5 are left")
                .arg(QLatin1StringView(what), hexByte(e.tag))
                .arg(e.offset)
                .arg(*length)
                .arg(r.remaining()));
    e.contentOffset = base + r.position();
    e.content = r.bytes(qsizetype(*length));
    return e;
}

// Checks the APDU tag and outer length; returns the content and its offset (after the header).
struct Outer {
    QByteArrayView content;
    qsizetype offset = 0;
};

Result<Outer> openApdu(QByteArrayView apdu, quint8 expectedTag, const char *what)
{
    if (apdu.isEmpty())
        return makeError(
            ErrorCode::Truncated, QStringLiteral("%1: empty input").arg(QLatin1StringView(what)));
    if (quint8(apdu[0]) != expectedTag)
        return makeError(ErrorCode::UnknownTag,
            QStringLiteral("%1: expected tag %2, got %3")
                .arg(QLatin1StringView(what), hexByte(expectedTag), hexByte(quint8(apdu[0]))));
    ByteReader r(apdu);
    r.skip(1);
    const quint8 first = r.peek();
    if (r.atEnd())
        return truncatedAt(what, 1);
    if (first == 0x80 || first > 0x84)
        return makeError(ErrorCode::Malformed,
            QStringLiteral("%1: unsupported BER length form %2 at offset 1")
                .arg(QLatin1StringView(what), hexByte(first)));
    const std::optional<quint32> length = r.berLength();
    if (!length)
        return truncatedAt(what, 1);
    if (*length > quint64(r.remaining()))
        return makeError(ErrorCode::Truncated,
            QStringLiteral("%1: length %2 exceeds the %3 bytes left at offset %4")
                .arg(QLatin1StringView(what))
                .arg(*length)
                .arg(r.remaining())
                .arg(r.position()));
    if (*length < quint64(r.remaining()))
        return makeError(ErrorCode::Malformed,
            QStringLiteral("%1: %2 trailing bytes after the APDU at offset %3")
                .arg(QLatin1StringView(what))
                .arg(r.remaining() - qsizetype(*length))
                .arg(r.position() + qsizetype(*length)));
    Outer o;
    o.offset = r.position();
    o.content = r.rest();
    return o;
}

// The single inner TLV of a constructed element (e.g. A6 { 04 len title }), which must fill it.
Result<QByteArrayView> innerValue(const Element &outer, quint8 innerTag, const char *what)
{
    ByteReader r(outer.content);
    auto inner = readElement(r, outer.contentOffset, what);
    if (!inner)
        return inner.error();
    if (inner->tag != innerTag)
        return makeError(ErrorCode::Malformed,
            QStringLiteral("%1: element %2 at offset %3 should hold %4, found %5")
                .arg(QLatin1StringView(what), hexByte(outer.tag))
                .arg(outer.offset)
                .arg(hexByte(innerTag), hexByte(inner->tag)));
    if (!r.atEnd())
        return makeError(ErrorCode::Malformed,
            QStringLiteral("%1: %2 trailing bytes inside element %3 at offset %4")
                .arg(QLatin1StringView(what))
                .arg(r.remaining())
                .arg(hexByte(outer.tag))
                .arg(outer.offset));
    return inner->content;
}

// Application context name: returns the context id (1 LN, 3 LN with ciphering).
Result<bool> parseApplicationContext(const Element &e, const char *what)
{
    auto oid = innerValue(e, 0x06, what);
    if (!oid)
        return oid.error();
    const QByteArrayView prefix(DlmsUaOid, sizeof DlmsUaOid);
    if (oid->size() != 7 || !oid->startsWith(prefix) || quint8((*oid)[5]) != ApplicationContextArc)
        return makeError(ErrorCode::Malformed,
            QStringLiteral(
                "%1: application context name at offset %2 is not a DLMS UA context (2.16.756.5.8.1.x)")
                .arg(QLatin1StringView(what))
                .arg(e.offset));
    const quint8 id = quint8((*oid)[6]);
    if (id == ContextLn)
        return false;
    if (id == ContextLnCiphered)
        return true;
    if (id == 2 || id == 4)
        return makeError(ErrorCode::Unsupported,
            QStringLiteral("%1: application context %2 uses short-name referencing, which is not supported")
                .arg(QLatin1StringView(what))
                .arg(id));
    return makeError(ErrorCode::Malformed,
        QStringLiteral("%1: unknown application context id %2").arg(QLatin1StringView(what)).arg(id));
}

Result<Authentication> parseMechanism(const Element &e, const char *what)
{
    const QByteArrayView prefix(DlmsUaOid, sizeof DlmsUaOid);
    if (e.content.size() != 7 || !e.content.startsWith(prefix) || quint8(e.content[5]) != MechanismNameArc)
        return makeError(ErrorCode::Malformed,
            QStringLiteral("%1: mechanism name at offset %2 is not a DLMS UA mechanism (2.16.756.5.8.2.x)")
                .arg(QLatin1StringView(what))
                .arg(e.offset));
    const quint8 id = quint8(e.content[6]);
    if (id > quint8(Authentication::HighEcdsa))
        return makeError(ErrorCode::Unsupported,
            QStringLiteral("%1: authentication mechanism %2 is not supported")
                .arg(QLatin1StringView(what))
                .arg(id));
    return Authentication(id);
}

// INTEGER 0..255 (one byte, or 00 + one byte).
Result<quint8> parseSmallInteger(const Element &e, const char *what, const char *field)
{
    auto v = innerValue(e, 0x02, what);
    if (!v)
        return v.error();
    if (v->size() == 1)
        return quint8((*v)[0]);
    if (v->size() == 2 && (*v)[0] == 0 && quint8((*v)[1]) >= 0x80)
        return quint8((*v)[1]);
    return makeError(ErrorCode::Malformed,
        QStringLiteral("%1: %2 at offset %3 is not an INTEGER in 0..255")
            .arg(QLatin1StringView(what), QLatin1StringView(field))
            .arg(e.offset));
}

bool isCipheredInitiateRequest(quint8 tag)
{
    return tag == GloInitiateRequestTag || tag == DedInitiateRequestTag || tag == GeneralGloCipheringTag
        || tag == GeneralDedCipheringTag || tag == GeneralCipheringTag;
}

bool isCipheredInitiateResponse(quint8 tag)
{
    return tag == GloInitiateResponseTag || tag == DedInitiateResponseTag || tag == GeneralGloCipheringTag
        || tag == GeneralDedCipheringTag || tag == GeneralCipheringTag;
}

QString userDiagnosticName(quint8 d)
{
    switch (AcseUserDiagnostic(d)) {
    case AcseUserDiagnostic::Null:
        return QStringLiteral("null");
    case AcseUserDiagnostic::NoReasonGiven:
        return QStringLiteral("no-reason-given");
    case AcseUserDiagnostic::ApplicationContextNameNotSupported:
        return QStringLiteral("application-context-name-not-supported");
    case AcseUserDiagnostic::CallingApTitleNotRecognized:
        return QStringLiteral("calling-AP-title-not-recognized");
    case AcseUserDiagnostic::CallingApInvocationIdentifierNotRecognized:
        return QStringLiteral("calling-AP-invocation-identifier-not-recognized");
    case AcseUserDiagnostic::CallingAeQualifierNotRecognized:
        return QStringLiteral("calling-AE-qualifier-not-recognized");
    case AcseUserDiagnostic::CallingAeInvocationIdentifierNotRecognized:
        return QStringLiteral("calling-AE-invocation-identifier-not-recognized");
    case AcseUserDiagnostic::CalledApTitleNotRecognized:
        return QStringLiteral("called-AP-title-not-recognized");
    case AcseUserDiagnostic::CalledApInvocationIdentifierNotRecognized:
        return QStringLiteral("called-AP-invocation-identifier-not-recognized");
    case AcseUserDiagnostic::CalledAeQualifierNotRecognized:
        return QStringLiteral("called-AE-qualifier-not-recognized");
    case AcseUserDiagnostic::CalledAeInvocationIdentifierNotRecognized:
        return QStringLiteral("called-AE-invocation-identifier-not-recognized");
    case AcseUserDiagnostic::AuthenticationMechanismNameNotRecognised:
        return QStringLiteral("authentication-mechanism-name-not-recognised");
    case AcseUserDiagnostic::AuthenticationMechanismNameRequired:
        return QStringLiteral("authentication-mechanism-name-required");
    case AcseUserDiagnostic::AuthenticationFailure:
        return QStringLiteral("authentication-failure");
    case AcseUserDiagnostic::AuthenticationRequired:
        return QStringLiteral("authentication-required");
    }
    return QStringLiteral("acse-service-user diagnostic %1").arg(d);
}

QString providerDiagnosticName(quint8 d)
{
    switch (d) {
    case 0:
        return QStringLiteral("provider null");
    case 1:
        return QStringLiteral("provider no-reason-given");
    case 2:
        return QStringLiteral("no-common-acse-version");
    }
    return QStringLiteral("acse-service-provider diagnostic %1").arg(d);
}

QString associationResultName(AssociationResult r)
{
    switch (r) {
    case AssociationResult::Accepted:
        return QStringLiteral("accepted");
    case AssociationResult::RejectedPermanent:
        return QStringLiteral("rejected-permanent");
    case AssociationResult::RejectedTransient:
        return QStringLiteral("rejected-transient");
    }
    return QStringLiteral("association-result %1").arg(int(r));
}

QString initiateErrorName(quint8 v)
{
    switch (v) {
    case 0:
        return QStringLiteral("other");
    case 1:
        return QStringLiteral("dlms-version-too-low");
    case 2:
        return QStringLiteral("incompatible-conformance");
    case 3:
        return QStringLiteral("pdu-size-too-short");
    case 4:
        return QStringLiteral("refused-by-the-VDE-Handler");
    }
    return QStringLiteral("initiate error %1").arg(v);
}

// ServiceError application-reference values: what a meter puts in a rejected AARE when the
// trouble is the ciphered user-information rather than the xDLMS initiate itself.
QString applicationReferenceErrorName(quint8 v)
{
    static const char *const names[]
        = {"other", "time-elapsed", "application-unreachable", "application-reference-invalid",
            "application-context-unsupported", "provider-communication-error", "deciphering-error"};
    if (v < std::size(names))
        return QLatin1StringView(names[v]);
    return QStringLiteral("application-reference error %1").arg(v);
}

} // namespace

QString authenticationName(Authentication mechanism)
{
    switch (mechanism) {
    case Authentication::None:
        return QStringLiteral("none");
    case Authentication::Low:
        return QStringLiteral("low");
    case Authentication::High:
        return QStringLiteral("high");
    case Authentication::HighMd5:
        return QStringLiteral("high-md5");
    case Authentication::HighSha1:
        return QStringLiteral("high-sha1");
    case Authentication::HighGmac:
        return QStringLiteral("high-gmac");
    case Authentication::HighSha256:
        return QStringLiteral("high-sha256");
    case Authentication::HighEcdsa:
        return QStringLiteral("high-ecdsa");
    }
    return QStringLiteral("mechanism %1").arg(int(mechanism));
}

QStringList conformanceNames(quint32 conformance)
{
    // Blue Book names in bit order (bit 0 is the first bit of the ASN.1 BIT STRING).
    static const char *const names[24] = {
        "reserved-zero",
        "general-protection",
        "general-block-transfer",
        "read",
        "write",
        "unconfirmed-write",
        "delta-value-encoding",
        "reserved-seven",
        "attribute0-supported-with-set",
        "priority-mgmt-supported",
        "attribute0-supported-with-get",
        "block-transfer-with-get-or-read",
        "block-transfer-with-set-or-write",
        "block-transfer-with-action",
        "multiple-references",
        "information-report",
        "data-notification",
        "access",
        "parameterized-access",
        "get",
        "set",
        "selective-access",
        "event-notification",
        "action",
    };
    QStringList out;
    for (int bit = 0; bit < 24; ++bit) {
        if (conformance & (1u << (23 - bit)))
            out.append(QLatin1StringView(names[bit]));
    }
    return out;
}

QString Aare::describe() const
{
    QString text = associationResultName(result);
    const bool userSource = diagnosticSource == DiagnosticSource::ServiceUser;
    if (!(userSource && diagnostic == 0))
        text += QStringLiteral(": ")
            + (userSource ? userDiagnosticName(diagnostic) : providerDiagnosticName(diagnostic));
    if (initiateErrorType || initiateErrorValue) {
        const quint8 type = initiateErrorType.value_or(0);
        const quint8 value = initiateErrorValue.value_or(0);
        if (type == 6)
            text += QStringLiteral(" (initiate error: %1)").arg(initiateErrorName(value));
        else if (type == 0 && value == 6)
            text += QStringLiteral(" (application-reference: deciphering-error, the meter could not decipher "
                                   "the AARQ)");
        else if (type == 0)
            text += QStringLiteral(" (application-reference: %1)").arg(applicationReferenceErrorName(value));
        else
            text += QStringLiteral(" (service error %1/%2)").arg(type).arg(value);
    } else if (result == AssociationResult::Accepted && !initiate && cipheredInitiate.isEmpty()) {
        text += QStringLiteral(" (no xDLMS initiate response)");
    }
    return text;
}

void encode(const InitiateRequest &request, QByteArray &out)
{
    ByteWriter w(out);
    w.u8(InitiateRequestTag);
    if (request.dedicatedKey.isEmpty()) {
        w.u8(0x00);
    } else {
        w.u8(0x01);
        w.berLength(quint32(request.dedicatedKey.size()));
        w.bytes(request.dedicatedKey);
    }
    // response-allowed is BOOLEAN DEFAULT TRUE: 00 means "the default".
    if (request.responseAllowed) {
        w.u8(0x00);
    } else {
        w.u8(0x01);
        w.u8(0x00);
    }
    w.u8(0x00); // proposed-quality-of-service absent
    w.u8(request.dlmsVersion);
    appendConformance(w, request.proposedConformance);
    w.u16(request.clientMaxReceivePduSize);
}

void encode(const InitiateResponse &response, QByteArray &out)
{
    ByteWriter w(out);
    w.u8(InitiateResponseTag);
    w.u8(0x00); // negotiated-quality-of-service absent
    w.u8(response.dlmsVersion);
    appendConformance(w, response.negotiatedConformance);
    w.u16(response.serverMaxReceivePduSize);
    w.u16(response.vaaName);
}

namespace {

Result<quint32> readConformance(ByteReader &r, const char *what)
{
    const qsizetype at = r.position();
    const quint8 t0 = r.u8();
    const quint8 t1 = r.u8();
    const quint8 len = r.u8();
    r.u8(); // unused-bits count: always 0 for SIZE(24), tolerated otherwise
    const quint32 bits = (quint32(r.u8()) << 16) | (quint32(r.u8()) << 8) | r.u8();
    if (r.failed())
        return makeError(ErrorCode::Truncated,
            QStringLiteral("%1: input ends inside the conformance block at offset %2")
                .arg(QLatin1StringView(what))
                .arg(at));
    if (t0 != ConformanceTag[0] || t1 != ConformanceTag[1] || len != 0x04)
        return makeError(ErrorCode::Malformed,
            QStringLiteral("%1: conformance block at offset %2 should start 5F 1F 04")
                .arg(QLatin1StringView(what))
                .arg(at));
    return bits;
}

Error truncatedInitiate(const char *what, qsizetype size)
{
    return makeError(ErrorCode::Truncated,
        QStringLiteral("%1: input ends after %2 bytes").arg(QLatin1StringView(what)).arg(size));
}

} // namespace

Result<InitiateRequest> decodeInitiateRequest(QByteArrayView bytes)
{
    const char *what = "InitiateRequest";
    ByteReader r(bytes);
    const quint8 tag = r.u8();
    if (r.failed())
        return truncatedInitiate(what, 0);
    if (tag != InitiateRequestTag)
        return makeError(ErrorCode::UnknownTag,
            QStringLiteral("InitiateRequest: expected tag 0x01, got %1").arg(hexByte(tag)));
    InitiateRequest req;
    const quint8 keyPresent = r.u8();
    if (keyPresent == 0x01) {
        const qsizetype at = r.position();
        const quint8 first = r.peek();
        if (!r.atEnd() && (first == 0x80 || first > 0x84))
            return makeError(ErrorCode::Malformed,
                QStringLiteral("InitiateRequest: bad dedicated-key length form %1 at offset %2")
                    .arg(hexByte(first))
                    .arg(at));
        const std::optional<quint32> len = r.berLength();
        if (!len)
            return truncatedInitiate(what, bytes.size());
        if (*len > quint64(r.remaining()))
            return makeError(ErrorCode::LengthTooLarge,
                QStringLiteral(
                    "InitiateRequest: dedicated-key length %1 exceeds the %2 bytes left at offset %3")
                    .arg(*len)
                    .arg(r.remaining())
                    .arg(at));
        req.dedicatedKey = r.bytes(qsizetype(*len)).toByteArray();
    } else if (keyPresent != 0x00 && !r.failed()) {
        return makeError(ErrorCode::Malformed,
            QStringLiteral("InitiateRequest: dedicated-key presence flag %1 at offset 1 is not 0 or 1")
                .arg(hexByte(keyPresent)));
    }
    const qsizetype allowedAt = r.position();
    const quint8 allowedPresent = r.u8();
    if (allowedPresent == 0x01)
        req.responseAllowed = r.u8() != 0;
    else if (allowedPresent != 0x00 && !r.failed())
        return makeError(ErrorCode::Malformed,
            QStringLiteral("InitiateRequest: response-allowed flag %1 at offset %2 is not 0 or 1")
                .arg(hexByte(allowedPresent))
                .arg(allowedAt));
    const qsizetype qosAt = r.position();
    const quint8 qosPresent = r.u8();
    if (qosPresent == 0x01)
        r.u8(); // proposed QoS: not used by DLMS/COSEM, accepted and dropped
    else if (qosPresent != 0x00 && !r.failed())
        return makeError(ErrorCode::Malformed,
            QStringLiteral("InitiateRequest: quality-of-service flag %1 at offset %2 is not 0 or 1")
                .arg(hexByte(qosPresent))
                .arg(qosAt));
    req.dlmsVersion = r.u8();
    if (r.failed())
        return truncatedInitiate(what, bytes.size());
    auto conformance = readConformance(r, what);
    if (!conformance)
        return conformance.error();
    req.proposedConformance = *conformance;
    req.clientMaxReceivePduSize = r.u16();
    if (r.failed())
        return truncatedInitiate(what, bytes.size());
    if (!r.atEnd())
        return makeError(ErrorCode::Malformed,
            QStringLiteral("InitiateRequest: %1 trailing bytes at offset %2")
                .arg(r.remaining())
                .arg(r.position()));
    return req;
}

Result<InitiateResponse> decodeInitiateResponse(QByteArrayView bytes)
{
    const char *what = "InitiateResponse";
    ByteReader r(bytes);
    const quint8 tag = r.u8();
    if (r.failed())
        return truncatedInitiate(what, 0);
    if (tag != InitiateResponseTag)
        return makeError(ErrorCode::UnknownTag,
            QStringLiteral("InitiateResponse: expected tag 0x08, got %1").arg(hexByte(tag)));
    InitiateResponse resp;
    const quint8 qosPresent = r.u8();
    if (qosPresent == 0x01)
        r.u8(); // negotiated QoS: dropped, see InitiateRequest
    else if (qosPresent != 0x00 && !r.failed())
        return makeError(ErrorCode::Malformed,
            QStringLiteral("InitiateResponse: quality-of-service flag %1 at offset 1 is not 0 or 1")
                .arg(hexByte(qosPresent)));
    resp.dlmsVersion = r.u8();
    if (r.failed())
        return truncatedInitiate(what, bytes.size());
    auto conformance = readConformance(r, what);
    if (!conformance)
        return conformance.error();
    resp.negotiatedConformance = *conformance;
    resp.serverMaxReceivePduSize = r.u16();
    resp.vaaName = r.u16();
    if (r.failed())
        return truncatedInitiate(what, bytes.size());
    if (!r.atEnd())
        return makeError(ErrorCode::Malformed,
            QStringLiteral("InitiateResponse: %1 trailing bytes at offset %2")
                .arg(r.remaining())
                .arg(r.position()));
    return resp;
}

void encode(const Aarq &aarq, QByteArray &out)
{
    QByteArray body;
    body.reserve(
        64 + aarq.authenticationValue.size() + aarq.callingApTitle.size() + aarq.cipheredInitiate.size());
    ByteWriter w(body);
    appendApplicationContext(w, aarq.ciphered);
    if (!aarq.callingApTitle.isEmpty())
        appendWrapped(w, 0xA6, 0x04, aarq.callingApTitle);
    if (aarq.authentication != Authentication::None)
        appendAuthentication(w, 0x8A, 0x8B, aarq.authentication);
    if (!aarq.authenticationValue.isEmpty())
        appendWrapped(w, 0xAC, 0x80, aarq.authenticationValue); // charstring [0]
    if (aarq.cipheredInitiate.isEmpty()) {
        QByteArray initiate;
        encode(aarq.initiate, initiate);
        appendWrapped(w, 0xBE, 0x04, initiate);
    } else {
        appendWrapped(w, 0xBE, 0x04, aarq.cipheredInitiate);
    }
    appendApdu(out, 0x60, body);
}

void encode(const Aare &aare, QByteArray &out)
{
    QByteArray body;
    body.reserve(64 + aare.respondingApTitle.size() + aare.respondingAuthenticationValue.size()
        + aare.cipheredInitiate.size());
    ByteWriter w(body);
    appendApplicationContext(w, aare.ciphered);
    w.u8(0xA2);
    w.u8(quint8(smallIntegerSize(quint8(aare.result))));
    appendSmallInteger(w, quint8(aare.result));
    const int diagSize = smallIntegerSize(aare.diagnostic);
    w.u8(0xA3);
    w.u8(quint8(diagSize + 2));
    w.u8(aare.diagnosticSource == DiagnosticSource::ServiceProvider ? 0xA2 : 0xA1);
    w.u8(quint8(diagSize));
    appendSmallInteger(w, aare.diagnostic);
    if (!aare.respondingApTitle.isEmpty())
        appendWrapped(w, 0xA4, 0x04, aare.respondingApTitle);
    if (aare.authentication != Authentication::None)
        appendAuthentication(w, 0x88, 0x89, aare.authentication);
    if (!aare.respondingAuthenticationValue.isEmpty())
        appendWrapped(w, 0xAA, 0x80, aare.respondingAuthenticationValue);
    if (!aare.cipheredInitiate.isEmpty()) {
        appendWrapped(w, 0xBE, 0x04, aare.cipheredInitiate);
    } else if (aare.initiate) {
        QByteArray initiate;
        encode(*aare.initiate, initiate);
        appendWrapped(w, 0xBE, 0x04, initiate);
    } else if (aare.initiateErrorType || aare.initiateErrorValue) {
        const char error[] = {char(ConfirmedServiceErrorTag), 0x01 /* initiateError */,
            char(aare.initiateErrorType.value_or(6)), char(aare.initiateErrorValue.value_or(0))};
        appendWrapped(w, 0xBE, 0x04, QByteArrayView(error, sizeof error));
    }
    appendApdu(out, 0x61, body);
}

namespace {

// BE { 04 len bytes }: the user-information octet string's content.
Result<QByteArrayView> userInformation(const Element &e, const char *what)
{
    auto bytes = innerValue(e, 0x04, what);
    if (bytes && bytes->isEmpty())
        return makeError(ErrorCode::Malformed,
            QStringLiteral("%1: empty user-information at offset %2")
                .arg(QLatin1StringView(what))
                .arg(e.offset));
    return bytes;
}

Error prefixed(const char *what, const Error &inner)
{
    return makeError(
        inner.code, QStringLiteral("%1 user-information: %2").arg(QLatin1StringView(what), inner.message));
}

} // namespace

std::optional<ByteRange> findAuthenticationValue(QByteArrayView aarq)
{
    if (aarq.isEmpty() || quint8(aarq[0]) != 0x60)
        return std::nullopt;
    const ByteRange everything {1, aarq.size() - 1};
    auto outer = openApdu(aarq, 0x60, "AARQ");
    if (!outer)
        return everything;
    ByteReader r(outer->content);
    while (!r.atEnd()) {
        auto e = readElement(r, outer->offset, "AARQ");
        if (!e)
            return everything;
        if (e->tag == 0xAC)
            return ByteRange {e->contentOffset, e->content.size()};
    }
    return std::nullopt;
}

Result<Aarq> decodeAarq(QByteArrayView apdu)
{
    const char *what = "AARQ";
    auto outer = openApdu(apdu, 0x60, what);
    if (!outer)
        return outer.error();
    Aarq aarq;
    bool haveContext = false;
    bool haveUserInformation = false;
    ByteReader r(outer->content);
    while (!r.atEnd()) {
        auto e = readElement(r, outer->offset, what);
        if (!e)
            return e.error();
        switch (e->tag) {
        case 0xA1: {
            auto ciphered = parseApplicationContext(*e, what);
            if (!ciphered)
                return ciphered.error();
            aarq.ciphered = *ciphered;
            haveContext = true;
            break;
        }
        case 0xA6: {
            auto title = innerValue(*e, 0x04, what);
            if (!title)
                return title.error();
            aarq.callingApTitle = title->toByteArray();
            break;
        }
        case 0x8B: {
            auto mechanism = parseMechanism(*e, what);
            if (!mechanism)
                return mechanism.error();
            aarq.authentication = *mechanism;
            break;
        }
        case 0xAC: {
            auto value = innerValue(*e, 0x80, what);
            if (!value)
                return value.error();
            aarq.authenticationValue = value->toByteArray();
            break;
        }
        case 0xBE: {
            auto info = userInformation(*e, what);
            if (!info)
                return info.error();
            const quint8 tag = quint8(info->front());
            if (tag == InitiateRequestTag) {
                auto initiate = decodeInitiateRequest(*info);
                if (!initiate)
                    return prefixed(what, initiate.error());
                aarq.initiate = *initiate;
                aarq.cipheredInitiate.clear();
            } else if (isCipheredInitiateRequest(tag)) {
                aarq.cipheredInitiate = info->toByteArray();
                aarq.initiate = {};
            } else {
                return makeError(ErrorCode::UnknownTag,
                    QStringLiteral("AARQ: user-information at offset %1 holds tag %2, not an InitiateRequest")
                        .arg(e->offset)
                        .arg(hexByte(tag)));
            }
            haveUserInformation = true;
            break;
        }
        default:
            // protocol-version, called-*, calling-AE-*, sender-acse-requirements (implied by the
            // mechanism name), implementation-information and anything newer: not needed.
            break;
        }
    }
    if (!haveContext)
        return makeError(ErrorCode::Malformed, QStringLiteral("AARQ: application-context-name (A1) missing"));
    if (!haveUserInformation)
        return makeError(ErrorCode::Malformed,
            QStringLiteral("AARQ: user-information (BE) with the xDLMS InitiateRequest missing"));
    return aarq;
}

Result<Aare> decodeAare(QByteArrayView apdu)
{
    const char *what = "AARE";
    auto outer = openApdu(apdu, 0x61, what);
    if (!outer)
        return outer.error();
    Aare aare;
    bool haveContext = false;
    bool haveResult = false;
    ByteReader r(outer->content);
    while (!r.atEnd()) {
        auto e = readElement(r, outer->offset, what);
        if (!e)
            return e.error();
        switch (e->tag) {
        case 0xA1: {
            auto ciphered = parseApplicationContext(*e, what);
            if (!ciphered)
                return ciphered.error();
            aare.ciphered = *ciphered;
            haveContext = true;
            break;
        }
        case 0xA2: {
            auto result = parseSmallInteger(*e, what, "result");
            if (!result)
                return result.error();
            if (*result > 2)
                return makeError(ErrorCode::Malformed,
                    QStringLiteral("AARE: association-result %1 is not accepted(0), rejected-permanent(1) or "
                                   "rejected-transient(2)")
                        .arg(*result));
            aare.result = AssociationResult(*result);
            haveResult = true;
            break;
        }
        case 0xA3: {
            ByteReader inner(e->content);
            auto choice = readElement(inner, e->contentOffset, what);
            if (!choice)
                return choice.error();
            if (!inner.atEnd() || (choice->tag != 0xA1 && choice->tag != 0xA2))
                return makeError(ErrorCode::Malformed,
                    QStringLiteral("AARE: result-source-diagnostic at offset %1 is not acse-service-user "
                                   "(A1) or acse-service-provider (A2)")
                        .arg(e->offset));
            auto diagnostic = parseSmallInteger(*choice, what, "result-source-diagnostic");
            if (!diagnostic)
                return diagnostic.error();
            aare.diagnosticSource
                = choice->tag == 0xA1 ? DiagnosticSource::ServiceUser : DiagnosticSource::ServiceProvider;
            aare.diagnostic = *diagnostic;
            break;
        }
        case 0xA4: {
            auto title = innerValue(*e, 0x04, what);
            if (!title)
                return title.error();
            aare.respondingApTitle = title->toByteArray();
            break;
        }
        case 0x89: {
            auto mechanism = parseMechanism(*e, what);
            if (!mechanism)
                return mechanism.error();
            aare.authentication = *mechanism;
            break;
        }
        case 0xAA: {
            auto value = innerValue(*e, 0x80, what);
            if (!value)
                return value.error();
            aare.respondingAuthenticationValue = value->toByteArray();
            break;
        }
        case 0xBE: {
            auto info = userInformation(*e, what);
            if (!info)
                return info.error();
            aare.initiate.reset();
            aare.initiateErrorType.reset();
            aare.initiateErrorValue.reset();
            aare.cipheredInitiate.clear();
            const quint8 tag = quint8(info->front());
            if (tag == InitiateResponseTag) {
                auto initiate = decodeInitiateResponse(*info);
                if (!initiate)
                    return prefixed(what, initiate.error());
                aare.initiate = *initiate;
            } else if (tag == ConfirmedServiceErrorTag) {
                // 0E service(initiateError) ServiceError-choice value
                if (info->size() != 4)
                    return makeError(info->size() < 4 ? ErrorCode::Truncated : ErrorCode::Malformed,
                        QStringLiteral("AARE: confirmed-service-error in user-information at offset %1 is %2 "
                                       "bytes, expected 4")
                            .arg(e->offset)
                            .arg(info->size()));
                aare.initiateErrorType = quint8((*info)[2]);
                aare.initiateErrorValue = quint8((*info)[3]);
            } else if (isCipheredInitiateResponse(tag)) {
                aare.cipheredInitiate = info->toByteArray();
            } else {
                return makeError(ErrorCode::UnknownTag,
                    QStringLiteral(
                        "AARE: user-information at offset %1 holds tag %2, not an InitiateResponse")
                        .arg(e->offset)
                        .arg(hexByte(tag)));
            }
            break;
        }
        default:
            // protocol-version, responding-AE-*, responder-acse-requirements, implementation-
            // information and anything newer: not needed.
            break;
        }
    }
    if (!haveContext)
        return makeError(ErrorCode::Malformed, QStringLiteral("AARE: application-context-name (A1) missing"));
    if (!haveResult)
        return makeError(ErrorCode::Malformed, QStringLiteral("AARE: result (A2) missing"));
    return aare;
}

namespace {

template<typename Release> void encodeRelease(const Release &release, quint8 tag, QByteArray &out)
{
    QByteArray body;
    ByteWriter w(body);
    if (release.reason) {
        w.u8(0x80);
        w.u8(0x01);
        w.u8(*release.reason);
    }
    if (!release.userInformation.isEmpty())
        appendWrapped(w, 0xBE, 0x04, release.userInformation);
    appendApdu(out, tag, body);
}

template<typename Release> Result<Release> decodeRelease(QByteArrayView apdu, quint8 tag, const char *what)
{
    auto outer = openApdu(apdu, tag, what);
    if (!outer)
        return outer.error();
    Release release;
    release.reason.reset();
    ByteReader r(outer->content);
    while (!r.atEnd()) {
        auto e = readElement(r, outer->offset, what);
        if (!e)
            return e.error();
        if (e->tag == 0x80) {
            if (e->content.size() != 1)
                return makeError(ErrorCode::Malformed,
                    QStringLiteral("%1: reason at offset %2 is %3 bytes, expected 1")
                        .arg(QLatin1StringView(what))
                        .arg(e->offset)
                        .arg(e->content.size()));
            release.reason = quint8(e->content[0]);
        } else if (e->tag == 0xBE) {
            auto info = userInformation(*e, what);
            if (!info)
                return info.error();
            release.userInformation = info->toByteArray();
        }
    }
    return release;
}

} // namespace

void encode(const Rlrq &rlrq, QByteArray &out)
{
    encodeRelease(rlrq, 0x62, out);
}

void encode(const Rlre &rlre, QByteArray &out)
{
    encodeRelease(rlre, 0x63, out);
}

Result<Rlrq> decodeRlrq(QByteArrayView apdu)
{
    return decodeRelease<Rlrq>(apdu, 0x62, "RLRQ");
}

Result<Rlre> decodeRlre(QByteArrayView apdu)
{
    return decodeRelease<Rlre>(apdu, 0x63, "RLRE");
}

} // namespace dlms
