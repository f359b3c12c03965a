#include "apdu.h"

#include "security.h"

#include <algorithm>

namespace dlms {

namespace {

// Values are summarised, not dumped: a load-profile buffer would otherwise flood the trace.
constexpr qsizetype MaxValueText = 64;
// Strings longer than fits in MaxValueText show their first bytes and their size.
constexpr qsizetype MaxShownOctets = 16; // "0A 1B …": 3 characters a byte
constexpr qsizetype MaxShownCharacters = 24; // of a visible-string or utf8-string
constexpr int MaxListedItems = 4;

template<typename... F> struct Overloaded : F... {
    using F::operator()...;
};
template<typename... F> Overloaded(F...) -> Overloaded<F...>;

QString hexBytes(quint32 v, int bytes)
{
    QString s;
    for (int i = bytes - 1; i >= 0; --i) {
        if (!s.isEmpty())
            s += u' ';
        s += QString::number((v >> (8 * i)) & 0xFF, 16).rightJustified(2, u'0').toUpper();
    }
    return s;
}

QString invokeText(const InvokeIdAndPriority &invoke)
{
    return QStringLiteral("iid=%1").arg(invoke.invokeId);
}

QString attributeText(const AttributeDescriptor &a)
{
    return QStringLiteral("class=%1 %2 attr=%3").arg(a.classId).arg(a.instance.toString()).arg(a.attributeId);
}

QString accessText(const std::optional<SelectiveAccess> &access)
{
    if (!access)
        return {};
    switch (access->selector) {
    case 1:
        return QStringLiteral(" access=range");
    case 2:
        return QStringLiteral(" access=entry");
    }
    return QStringLiteral(" access=%1").arg(access->selector);
}

// Bounded work, not just bounded output: rendering a 16 MB octet-string in full to keep 64
// characters of it would build a ~48 MB string for one trace line.
QString valueText(const Value &value)
{
    const QString type = dataTypeName(value.type()) + u' ';
    switch (value.type()) {
    case DataType::Array:
    case DataType::Structure:
        return type + QStringLiteral("of %1").arg(value.items().size());
    case DataType::CompactArray: {
        const CompactArrayData *data = value.compactArray();
        return type + QStringLiteral("of %1").arg(data ? data->elements.size() : 0);
    }
    case DataType::OctetString: {
        const QByteArray &bytes = value.bytes();
        if (bytes.size() * 3 - 1 <= MaxValueText)
            break;
        return type + Value::octetString(bytes.first(MaxShownOctets)).toText()
            + QStringLiteral("… (%1 bytes)").arg(bytes.size());
    }
    case DataType::VisibleString: {
        const QByteArray &bytes = value.bytes();
        if (bytes.size() + 2 <= MaxValueText)
            break;
        // Escaped control characters take 4 characters each: the head is clipped as well.
        return type + Value::visibleString(bytes.first(MaxShownCharacters)).toText().left(MaxValueText)
            + QStringLiteral("… (%1 bytes)").arg(bytes.size());
    }
    case DataType::Utf8String: {
        const QString text = value.string(); // implicitly shared: no copy of the characters
        if (text.size() + 2 <= MaxValueText)
            break;
        // Never end on half a surrogate pair.
        const qsizetype cut
            = text[MaxShownCharacters - 1].isHighSurrogate() ? MaxShownCharacters - 1 : MaxShownCharacters;
        return type + Value::utf8String(text.first(cut)).toText().left(MaxValueText)
            + QStringLiteral("… (%1 characters)").arg(text.size());
    }
    case DataType::BitString: {
        const BitString &bits = *value.bitString();
        if (bits.length <= quint32(MaxValueText))
            break;
        const BitString head {bits.bits.left(MaxValueText / 8), quint32(MaxValueText)};
        return type + head.toString() + QStringLiteral("… (%1 bits)").arg(bits.length);
    }
    default:
        break;
    }
    // What is left is short by construction (numbers, dates, short strings).
    QString text = value.toText();
    if (text.size() > MaxValueText)
        text = text.left(MaxValueText) + QStringLiteral("…");
    return type + text;
}

QString dataResultText(const DataResult &r)
{
    if (!r.ok())
        return dataAccessResultName(quint8(r.result));
    if (r.value.isNull())
        return dataTypeName(r.value.type());
    return valueText(r.value);
}

QString releaseReasonText(const std::optional<quint8> &reason, bool request)
{
    if (!reason)
        return QStringLiteral("no reason");
    switch (*reason) {
    case 0:
        return QStringLiteral("reason normal");
    case 1:
        return request ? QStringLiteral("reason urgent") : QStringLiteral("reason not-finished");
    case 30:
        return QStringLiteral("reason user-defined");
    }
    return QStringLiteral("reason %1").arg(*reason);
}

QString describe(const Aarq &a)
{
    QString text = QStringLiteral("AARQ ")
        + (a.ciphered ? QStringLiteral("LN-ciphered") : QStringLiteral("LN")) + QStringLiteral(", auth ")
        + authenticationName(a.authentication);
    // The authentication value is a password (LLS) or a challenge (HLS): never in a trace.
    if (!a.authenticationValue.isEmpty())
        text += a.authentication == Authentication::Low || a.authentication == Authentication::None
            ? QStringLiteral(", password: ***")
            : QStringLiteral(", challenge: ***");
    if (!a.callingApTitle.isEmpty())
        text
            += QStringLiteral(", system title ") + QString::fromLatin1(a.callingApTitle.toHex(' ').toUpper());
    if (!a.cipheredInitiate.isEmpty())
        return text + QStringLiteral(", ciphered initiate (%1 bytes)").arg(a.cipheredInitiate.size());
    return text
        + QStringLiteral(", conformance %1, client max PDU %2")
              .arg(hexBytes(a.initiate.proposedConformance, 3))
              .arg(a.initiate.clientMaxReceivePduSize);
}

QString describe(const Aare &a)
{
    QString text = QStringLiteral("AARE ") + a.describe();
    if (a.authentication != Authentication::None)
        text += QStringLiteral(", auth ") + authenticationName(a.authentication);
    if (a.initiate)
        text += QStringLiteral(", conformance %1, server max PDU %2")
                    .arg(hexBytes(a.initiate->negotiatedConformance, 3))
                    .arg(a.initiate->serverMaxReceivePduSize);
    else if (!a.cipheredInitiate.isEmpty())
        text += QStringLiteral(", ciphered initiate (%1 bytes)").arg(a.cipheredInitiate.size());
    return text;
}

QString describe(const GetRequest &g)
{
    switch (g.kind) {
    case GetRequest::Kind::Normal: {
        QString text = QStringLiteral("GET-Request-Normal ") + invokeText(g.invoke);
        if (!g.items.empty())
            text += u' ' + attributeText(g.items.front().attribute) + accessText(g.items.front().access);
        return text;
    }
    case GetRequest::Kind::Next:
        return QStringLiteral("GET-Request-Next %1 block=%2").arg(invokeText(g.invoke)).arg(g.blockNumber);
    case GetRequest::Kind::WithList: {
        QString text
            = QStringLiteral("GET-Request-With-List %1 n=%2").arg(invokeText(g.invoke)).arg(g.items.size());
        for (size_t i = 0; i < g.items.size() && i < size_t(MaxListedItems); ++i)
            text += (i == 0 ? QStringLiteral(": ") : QStringLiteral(", "))
                + attributeText(g.items[i].attribute) + accessText(g.items[i].access);
        if (g.items.size() > size_t(MaxListedItems))
            text += QStringLiteral(", …");
        return text;
    }
    }
    return QStringLiteral("GET-Request");
}

QString describe(const GetResponse &g)
{
    switch (g.kind) {
    case GetResponse::Kind::Normal:
        return QStringLiteral("GET-Response-Normal ") + invokeText(g.invoke) + u' '
            + (g.results.empty() ? QStringLiteral("(empty)") : dataResultText(g.results.front()));
    case GetResponse::Kind::WithDatablock: {
        QString text = QStringLiteral("GET-Response-With-Datablock %1 block=%2%3")
                           .arg(invokeText(g.invoke))
                           .arg(g.blockNumber)
                           .arg(g.lastBlock ? QStringLiteral(" last") : QString());
        if (g.blockError)
            return text + u' ' + dataAccessResultName(quint8(*g.blockError));
        return text + QStringLiteral(" %1 bytes").arg(g.rawData.size());
    }
    case GetResponse::Kind::WithList: {
        const auto failed
            = std::count_if(g.results.begin(), g.results.end(), [](const DataResult &r) { return !r.ok(); });
        QString text = QStringLiteral("GET-Response-With-List %1 n=%2")
                           .arg(invokeText(g.invoke))
                           .arg(g.results.size());
        if (failed)
            text += QStringLiteral(" (%1 failed)").arg(failed);
        return text;
    }
    }
    return QStringLiteral("GET-Response");
}

QString describe(const SetRequest &s)
{
    return QStringLiteral("SET-Request-Normal ") + invokeText(s.invoke) + u' '
        + attributeText(s.item.attribute) + accessText(s.item.access) + QStringLiteral(" value=")
        + dataTypeName(s.value.type());
}

QString describe(const SetResponse &s)
{
    return QStringLiteral("SET-Response-Normal ") + invokeText(s.invoke) + u' '
        + dataAccessResultName(quint8(s.result));
}

QString describe(const ActionRequest &a)
{
    QString text = QStringLiteral("ACTION-Request-Normal %1 class=%2 %3 method=%4")
                       .arg(invokeText(a.invoke))
                       .arg(a.method.classId)
                       .arg(a.method.instance.toString())
                       .arg(a.method.methodId);
    if (a.parameters)
        text += QStringLiteral(" parameters=") + dataTypeName(a.parameters->type());
    return text;
}

QString describe(const ActionResponse &a)
{
    QString text = QStringLiteral("ACTION-Response-Normal ") + invokeText(a.invoke) + u' '
        + dataAccessResultName(quint8(a.result));
    if (a.returnParameters)
        text += QStringLiteral(", returned ") + dataResultText(*a.returnParameters);
    return text;
}

} // namespace

QString frameKindName(FrameKind kind)
{
    switch (kind) {
    case FrameKind::HdlcControl:
        return QStringLiteral("hdlc-control");
    case FrameKind::Aarq:
        return QStringLiteral("aarq");
    case FrameKind::Aare:
        return QStringLiteral("aare");
    case FrameKind::GetRequest:
        return QStringLiteral("get-request");
    case FrameKind::GetResponse:
        return QStringLiteral("get-response");
    case FrameKind::SetRequest:
        return QStringLiteral("set-request");
    case FrameKind::SetResponse:
        return QStringLiteral("set-response");
    case FrameKind::ActionRequest:
        return QStringLiteral("action-request");
    case FrameKind::ActionResponse:
        return QStringLiteral("action-response");
    case FrameKind::Rlrq:
        return QStringLiteral("rlrq");
    case FrameKind::Rlre:
        return QStringLiteral("rlre");
    case FrameKind::Exception:
        return QStringLiteral("exception");
    case FrameKind::Other:
        return QStringLiteral("other");
    }
    return QStringLiteral("other");
}

FrameKind classifyApdu(QByteArrayView apdu)
{
    if (apdu.isEmpty())
        return FrameKind::Other;
    quint8 first = quint8(apdu[0]);
    // A glo-/ded- APDU counts as the service it protects, so traffic by kind stays right when
    // ciphered; general ciphering hides the service and stays Other.
    if (const auto plain = security::plainTagOf(first))
        first = *plain;
    switch (first) {
    case tag::Aarq:
        return FrameKind::Aarq;
    case tag::Aare:
        return FrameKind::Aare;
    case tag::Rlrq:
        return FrameKind::Rlrq;
    case tag::Rlre:
        return FrameKind::Rlre;
    case tag::GetRequest:
        return FrameKind::GetRequest;
    case tag::GetResponse:
        return FrameKind::GetResponse;
    case tag::SetRequest:
        return FrameKind::SetRequest;
    case tag::SetResponse:
        return FrameKind::SetResponse;
    case tag::ActionRequest:
        return FrameKind::ActionRequest;
    case tag::ActionResponse:
        return FrameKind::ActionResponse;
    case tag::ExceptionResponse:
    case tag::ConfirmedServiceError:
        return FrameKind::Exception;
    }
    return FrameKind::Other;
}

bool isRequestKind(FrameKind kind)
{
    switch (kind) {
    case FrameKind::Aarq:
    case FrameKind::GetRequest:
    case FrameKind::SetRequest:
    case FrameKind::ActionRequest:
    case FrameKind::Rlrq:
        return true;
    default:
        return false;
    }
}

namespace {

template<typename T> Result<Apdu> wrap(Result<T> &&decoded)
{
    if (!decoded)
        return decoded.error();
    return Apdu(std::move(*decoded));
}

} // namespace

Result<Apdu> decodeApdu(QByteArrayView apdu, const axdr::Limits &limits)
{
    if (apdu.isEmpty())
        return makeError(ErrorCode::Truncated, QStringLiteral("APDU: empty input"));
    const quint8 first = quint8(apdu[0]);
    switch (first) {
    case tag::Aarq:
        return wrap(decodeAarq(apdu));
    case tag::Aare:
        return wrap(decodeAare(apdu));
    case tag::Rlrq:
        return wrap(decodeRlrq(apdu));
    case tag::Rlre:
        return wrap(decodeRlre(apdu));
    case tag::GetRequest:
        return wrap(decodeGetRequest(apdu, limits));
    case tag::GetResponse:
        return wrap(decodeGetResponse(apdu, limits));
    case tag::SetRequest:
        return wrap(decodeSetRequest(apdu, limits));
    case tag::SetResponse:
        return wrap(decodeSetResponse(apdu));
    case tag::ActionRequest:
        return wrap(decodeActionRequest(apdu, limits));
    case tag::ActionResponse:
        return wrap(decodeActionResponse(apdu, limits));
    case tag::ExceptionResponse:
        return wrap(decodeExceptionResponse(apdu));
    case tag::ConfirmedServiceError:
        return wrap(decodeConfirmedServiceError(apdu));
    }
    return makeError(ErrorCode::UnknownTag,
        QStringLiteral("APDU: unknown tag 0x%1")
            .arg(QString::number(first, 16).rightJustified(2, u'0').toUpper()));
}

void encode(const Apdu &apdu, QByteArray &out)
{
    std::visit([&out](const auto &a) { encode(a, out); }, apdu);
}

QByteArray encodeApdu(const Apdu &apdu)
{
    QByteArray out;
    encode(apdu, out);
    return out;
}

QString describeApdu(const Apdu &apdu)
{
    return std::visit(Overloaded {
                          [](const Rlrq &r) -> QString {
                              return QStringLiteral("RLRQ ") + releaseReasonText(r.reason, true);
                          },
                          [](const Rlre &r) -> QString {
                              return QStringLiteral("RLRE ") + releaseReasonText(r.reason, false);
                          },
                          [](const ExceptionResponse &e) -> QString {
                              return QStringLiteral("EXCEPTION-Response ") + e.describe();
                          },
                          [](const ConfirmedServiceError &e) -> QString {
                              return QStringLiteral("Confirmed-Service-Error ") + e.describe();
                          },
                          [](const auto &a) -> QString { return describe(a); },
                      },
        apdu);
}

} // namespace dlms
