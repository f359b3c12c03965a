#include "tracedecoder.h"

using namespace Qt::StringLiterals;

namespace dlms {

QString toHex(QByteArrayView bytes)
{
    return QString::fromLatin1(bytes.toByteArray().toHex(' ').toUpper());
}

namespace {

QString hdlcSummary(const hdlc::Frame &frame)
{
    QString text = u"HDLC "_s + hdlc::frameTypeName(frame.type()) + u' ' + frame.source.toString() + u"→"_s
        + frame.destination.toString();
    const hdlc::FrameType type = frame.type();
    if (type == hdlc::FrameType::I)
        text += QStringLiteral(" N(S)=%1 N(R)=%2").arg(frame.sendSeq()).arg(frame.recvSeq());
    else if (type == hdlc::FrameType::RR || type == hdlc::FrameType::RNR)
        text += QStringLiteral(" N(R)=%1").arg(frame.recvSeq());
    if (frame.pollFinal())
        text += u" P/F"_s;
    if (frame.segmented)
        text += u" segment"_s;
    if ((type == hdlc::FrameType::SNRM || type == hdlc::FrameType::UA) && !frame.info.isEmpty()) {
        if (const auto params = hdlc::decodeParameters(frame.info)) {
            text += QStringLiteral(" max-info tx %1 rx %2, window tx %3 rx %4")
                        .arg(params->maxInfoTx)
                        .arg(params->maxInfoRx)
                        .arg(params->windowTx)
                        .arg(params->windowRx);
        }
    }
    return text;
}

bool hasScalerUnit(const AttributeDescriptor &a)
{
    // Register, Extended register and Demand register carry scaler_unit in attribute 3 (4 for
    // the demand register).
    return (a.classId == 3 && a.attributeId == 3) || (a.classId == 4 && a.attributeId == 3)
        || (a.classId == 5 && a.attributeId == 4);
}

bool isScaledValue(const AttributeDescriptor &a)
{
    return (a.classId == 3 || a.classId == 4) ? a.attributeId == 2
                                              : a.classId == 5 && (a.attributeId == 2 || a.attributeId == 3);
}

// The part of `wire` that carries stream bytes [secret.offset, +length), given that the frame's
// information field starts at `infoAt` in `wire` and at `streamAt` in the stream: overwritten
// with zeros, and returned as [from, to) within `wire` (empty when the frame carries none of it).
struct WireSpan {
    qsizetype from = 0;
    qsizetype to = 0;
};

WireSpan maskRange(
    QByteArray &wire, qsizetype infoAt, qsizetype infoSize, qsizetype streamAt, const ByteRange &secret)
{
    const qsizetype from = std::max(secret.offset, streamAt);
    const qsizetype to = std::min(secret.offset + secret.length, streamAt + infoSize);
    if (from >= to)
        return {};
    std::fill_n(wire.data() + infoAt + (from - streamAt), to - from, '\0');
    return {infoAt + (from - streamAt), infoAt + (to - streamAt)};
}

// Hex of a frame whose masked bytes show as "**", so a reader sees a secret was there and can
// never mistake it for data.
QString maskedHex(const QByteArray &wire, WireSpan masked)
{
    QString hex = toHex(wire);
    for (qsizetype i = masked.from; i < masked.to; ++i) {
        hex[3 * i] = u'*';
        hex[3 * i + 1] = u'*';
    }
    return hex;
}

// Association LN (class 15, 0.0.40.0.0.255) method 1: HLS pass 3.
bool isHlsReply(const MethodDescriptor &m)
{
    return m.classId == 15 && m.instance == Obis(0, 0, 40, 0, 0, 255) && m.methodId == 1;
}

QString hexBytes(quint32 v, int bytes)
{
    QString s;
    for (int i = bytes - 1; i >= 0; --i)
        s += (s.isEmpty() ? QString() : u" "_s)
            + u"%1"_s.arg((v >> (8 * i)) & 0xFF, 2, 16, QLatin1Char('0')).toUpper();
    return s;
}

} // namespace

TraceDecoder::Keys::~Keys()
{
    security::wipe(blockCipherKey);
    security::wipe(authenticationKey);
    security::wipe(dedicatedKey);
}

TraceDecoder::TraceDecoder(std::optional<Transport> transport) : m_transport(transport) { }

void TraceDecoder::setSecurity(const SecuritySettings &security)
{
    security::wipe(m_keys.blockCipherKey);
    security::wipe(m_keys.authenticationKey);
    m_keys.blockCipherKey = security.blockCipherKey;
    m_keys.authenticationKey = security.authenticationKey;
    m_keys.clientTitle = security.systemTitle;
}

QString TraceDecoder::describeResult(const DataResult &result, const AttributeDescriptor *attribute) const
{
    QString text;
    if (attribute) {
        text = attribute->instance.toString() + u':' + QString::number(attribute->attributeId);
        if (const WellKnownObject *known = findWellKnown(attribute->instance))
            text += u" ("_s + QLatin1StringView(known->name) + u')';
        text += u" = "_s;
    }
    if (!result.ok())
        return text + u"data-access-result: "_s + dataAccessResultName(quint8(result.result));
    text += dataTypeName(result.value.type()) + u' ' + result.value.toText();
    if (attribute && hasScalerUnit(*attribute)) {
        if (const auto su = ScalerUnit::fromValue(result.value)) {
            text += QStringLiteral(" → scaler 10^%1, unit %2").arg(su->scaler).arg(unitSymbol(su->unit));
        }
    } else if (attribute && isScaledValue(*attribute) && result.value.isNumber()) {
        if (const auto it = m_scalers.find(attribute->instance); it != m_scalers.end())
            text += u" → "_s + scaledText(result.value, it->second.scaler) + u' '
                + unitSymbol(it->second.unit);
    }
    if (result.value.type() == DataType::OctetString) {
        if (const auto dt = result.value.asDateTime(); dt && dt->toQDateTime())
            text += u" → "_s + dt->toString();
    }
    return text;
}

void TraceDecoder::describeApdu(QByteArrayView apdu, Line &line)
{
    if (!apdu.isEmpty() && security::isCipheredTag(quint8(apdu[0])))
        describeCiphered(apdu, line);
    else
        describePlain(apdu, line, QString());
}

void TraceDecoder::describeCiphered(QByteArrayView apdu, Line &line)
{
    const QString separator = line.summary.isEmpty() ? QString() : u" | "_s;
    const quint8 cipheredTag = apdu.isEmpty() ? 0 : quint8(apdu[0]);
    const auto framed = security::decodeCipheredApdu(apdu);
    if (!framed) {
        line.summary += separator + security::cipheredApduName(cipheredTag) + u" (undecodable: "_s
            + framed.error().message + u')';
        line.isError = true;
        return;
    }
    line.summary += separator
        + u"%1 SC 0x%2 IC %3, %4 bytes ciphered"_s.arg(security::cipheredApduName(framed->tag))
              .arg(framed->control(), 2, 16, QLatin1Char('0'))
              .arg(framed->invocationCounter())
              .arg(framed->protectedText.size());
    if (m_keys.blockCipherKey.isEmpty())
        return;

    // The IV carries the sender's title: the general-ciphering originator, else the side's own.
    QByteArray title = framed->systemTitle;
    if (title.isEmpty()) {
        if (line.direction == Direction::Sent)
            title = m_keys.announcedClientTitle.isEmpty() ? m_keys.clientTitle : m_keys.announcedClientTitle;
        else
            title = m_keys.serverTitle;
    }
    if (title.isEmpty()) {
        line.details << u"not deciphered: the server's system title is not known (no AARE seen)"_s;
        return;
    }
    const bool dedicated = security::isDedicatedTag(framed->tag);
    if (dedicated && m_keys.dedicatedKey.isEmpty()) {
        line.details << u"not deciphered: no dedicated key seen in this trace"_s;
        return;
    }
    const auto plain = security::unprotect(title, dedicated ? m_keys.dedicatedKey : m_keys.blockCipherKey,
        m_keys.authenticationKey, framed->protectedText);
    if (!plain) {
        line.summary += u" | cannot decipher: "_s + plain.error().message;
        line.isError = true;
        return;
    }
    line.decrypted = true;
    describePlain(plain->plaintext, line, u"decrypted: "_s);
}

void TraceDecoder::describePlain(QByteArrayView apdu, Line &line, const QString &prefix)
{
    const QString separator = line.summary.isEmpty() ? QString() : u" | "_s;
    // The InitiateRequest/Response only travel bare inside a ciphered AARQ/AARE.
    if (!apdu.isEmpty() && quint8(apdu[0]) == 0x01) {
        const auto initiate = decodeInitiateRequest(apdu);
        if (!initiate) {
            line.summary
                += separator + prefix + u"InitiateRequest (undecodable: "_s + initiate.error().message + u')';
            line.isError = true;
            return;
        }
        line.summary += separator + prefix
            + u"InitiateRequest conformance %1, client max PDU %2"_s
                  .arg(hexBytes(initiate->proposedConformance, 3))
                  .arg(initiate->clientMaxReceivePduSize);
        if (!initiate->dedicatedKey.isEmpty())
            line.summary += u", dedicated key: (masked)"_s;
        line.details << u"conformance: "_s + conformanceNames(initiate->proposedConformance).join(u", "_s);
        security::wipe(m_keys.dedicatedKey);
        m_keys.dedicatedKey = initiate->dedicatedKey;
        return;
    }
    if (!apdu.isEmpty() && quint8(apdu[0]) == 0x08) {
        const auto initiate = decodeInitiateResponse(apdu);
        if (!initiate) {
            line.summary += separator + prefix + u"InitiateResponse (undecodable: "_s
                + initiate.error().message + u')';
            line.isError = true;
            return;
        }
        line.summary += separator + prefix
            + u"InitiateResponse conformance %1, server max PDU %2"_s
                  .arg(hexBytes(initiate->negotiatedConformance, 3))
                  .arg(initiate->serverMaxReceivePduSize);
        line.details << u"conformance: "_s + conformanceNames(initiate->negotiatedConformance).join(u", "_s);
        return;
    }

    const auto decoded = decodeApdu(apdu);
    if (!decoded) {
        line.summary += separator + prefix + frameKindName(classifyApdu(apdu)) + u" (undecodable: "_s
            + decoded.error().message + u')';
        line.isError = true;
        return;
    }
    line.summary += separator + prefix + dlms::describeApdu(*decoded);
    if (const auto *aarq = std::get_if<Aarq>(&*decoded)) {
        // A new association: what the last one taught no longer holds.
        m_keys.announcedClientTitle
            = aarq->callingApTitle.size() == security::SystemTitleSize ? aarq->callingApTitle : QByteArray();
        m_keys.serverTitle.clear();
        security::wipe(m_keys.dedicatedKey);
        m_pendingHlsReply.reset();
        if (aarq->authentication == Authentication::HighGmac)
            line.details << u"HLS-GMAC pass 1: CtoS challenge of %1 bytes"_s.arg(
                aarq->authenticationValue.size());
        if (!aarq->cipheredInitiate.isEmpty())
            describeCiphered(aarq->cipheredInitiate, line);
    } else if (const auto *aare = std::get_if<Aare>(&*decoded)) {
        if (aare->respondingApTitle.size() == security::SystemTitleSize)
            m_keys.serverTitle = aare->respondingApTitle;
        if (aare->authentication == Authentication::HighGmac
            && !aare->respondingAuthenticationValue.isEmpty())
            line.details << u"HLS-GMAC pass 2: StoC challenge of %1 bytes"_s.arg(
                aare->respondingAuthenticationValue.size());
        if (aare->initiate)
            line.details << u"conformance: "_s
                    + conformanceNames(aare->initiate->negotiatedConformance).join(u", "_s);
        if (!aare->cipheredInitiate.isEmpty())
            describeCiphered(aare->cipheredInitiate, line);
    } else if (const auto *request = std::get_if<GetRequest>(&*decoded)) {
        if (request->kind != GetRequest::Kind::Next) {
            std::vector<AttributeDescriptor> attributes;
            for (const AttributeRequest &item : request->items)
                attributes.push_back(item.attribute);
            m_pendingGets[request->invoke.invokeId] = std::move(attributes);
        }
    } else if (const auto *get = std::get_if<GetResponse>(&*decoded)) {
        const auto pending = m_pendingGets.find(get->invoke.invokeId);
        const std::vector<AttributeDescriptor> *attributes
            = pending != m_pendingGets.end() && pending->second.size() == get->results.size()
            ? &pending->second
            : nullptr;
        // Learn scalers first, so a with-list reading value and scaler together shows both.
        for (size_t i = 0; attributes && i < get->results.size(); ++i) {
            if (hasScalerUnit((*attributes)[i]) && get->results[i].ok()) {
                if (const auto su = ScalerUnit::fromValue(get->results[i].value))
                    m_scalers[(*attributes)[i].instance] = *su;
            }
        }
        for (size_t i = 0; i < get->results.size(); ++i)
            line.details << QStringLiteral("[%1] ").arg(i + 1)
                    + describeResult(get->results[i], attributes ? &(*attributes)[i] : nullptr);
        if (get->kind != GetResponse::Kind::WithDatablock && pending != m_pendingGets.end())
            m_pendingGets.erase(pending);
    } else if (const auto *actionRequest = std::get_if<ActionRequest>(&*decoded)) {
        if (isHlsReply(actionRequest->method)) {
            m_pendingHlsReply = actionRequest->invoke.invokeId;
            QString proof;
            if (actionRequest->parameters && actionRequest->parameters->type() == DataType::OctetString)
                proof = u", f(StoC) "_s + toHex(actionRequest->parameters->bytes());
            line.details << u"HLS-GMAC pass 3: reply_to_HLS_authentication"_s + proof;
        }
    } else if (const auto *action = std::get_if<ActionResponse>(&*decoded)) {
        if (m_pendingHlsReply && *m_pendingHlsReply == action->invoke.invokeId) {
            m_pendingHlsReply.reset();
            if (action->result != DataAccessResult::Success) {
                line.details << u"HLS-GMAC pass 4: the server refused f(StoC) ("_s
                        + dataAccessResultName(quint8(action->result)) + u')';
            } else if (action->returnParameters && action->returnParameters->ok()
                && action->returnParameters->value.type() == DataType::OctetString) {
                line.details << u"HLS-GMAC pass 4: accepted, f(CtoS) "_s
                        + toHex(action->returnParameters->value.bytes());
            } else {
                line.details << u"HLS-GMAC pass 4: accepted, without f(CtoS)"_s;
            }
        }
        if (action->returnParameters)
            line.details << u"return: "_s + describeResult(*action->returnParameters, nullptr);
    }
}

std::vector<TraceDecoder::Line> TraceDecoder::feed(Direction direction, QByteArrayView bytes)
{
    std::vector<Line> lines;
    if (bytes.isEmpty())
        return lines;
    if (!m_transport)
        m_transport = quint8(bytes[0]) == hdlc::Flag ? Transport::Hdlc : Transport::Wrapper;
    Side &side = m_sides[direction == Direction::Sent ? 0 : 1];

    auto errorLine = [&](const QString &message) {
        Line line;
        line.direction = direction;
        line.summary = u"error: "_s + message;
        line.isError = true;
        lines.push_back(std::move(line));
    };

    if (*m_transport == Transport::Wrapper) {
        side.wrapper.feed(bytes);
        while (auto next = side.wrapper.next()) {
            if (!*next) {
                errorLine(next->error().message);
                continue;
            }
            Line line;
            line.direction = direction;
            QByteArray wire;
            (void)wrapper::encode((*next)->sourcePort, (*next)->destinationPort, (*next)->apdu, wire);
            line.size = wire.size();
            line.summary
                = QStringLiteral("wrapper %1→%2").arg((*next)->sourcePort).arg((*next)->destinationPort);
            describeApdu((*next)->apdu, line);
            WireSpan masked;
            if (const auto secret = findAuthenticationValue((*next)->apdu))
                masked = maskRange(wire, wrapper::HeaderSize, (*next)->apdu.size(), 0, *secret);
            line.hex = maskedHex(wire, masked);
            lines.push_back(std::move(line));
        }
        return lines;
    }

    // Segments of an AARQ are held back until the whole APDU shows where its secret lies, then
    // masked by position in every segment that carries part of it. (They are printed after any
    // frames of the other direction that came in between: a rare reordering, for a rare case.)
    auto flushHeld = [&](const std::optional<ByteRange> &secret) {
        for (HeldSegment &held : side.held) {
            WireSpan masked;
            if (secret)
                masked = maskRange(held.wire, held.infoAt, held.infoSize, held.streamAt, *secret);
            held.line.hex = maskedHex(held.wire, masked);
            lines.push_back(std::move(held.line));
        }
        side.held.clear();
    };

    side.hdlc.feed(bytes);
    while (auto next = side.hdlc.next()) {
        if (!*next) {
            errorLine(next->error().message);
            continue;
        }
        const hdlc::Frame &frame = next->value();
        HeldSegment segment;
        segment.line.direction = direction;
        (void)hdlc::encode(frame, segment.wire);
        segment.line.size = segment.wire.size();
        segment.line.summary = hdlcSummary(frame);
        if (frame.type() != hdlc::FrameType::I && frame.type() != hdlc::FrameType::UI) {
            segment.line.hex = toHex(segment.wire);
            lines.push_back(std::move(segment.line));
            continue;
        }
        segment.infoSize = frame.info.size();
        segment.infoAt = segment.wire.size() - 3 - segment.infoSize; // before FCS and flag
        segment.streamAt = side.assembly.size();
        side.assembly.append(frame.info);
        // LLC header, if the peer sent one (an empty or short I frame has none).
        const qsizetype llc = side.assembly.size() >= 3 && quint8(side.assembly[0]) == 0xE6 ? 3 : 0;
        const bool isAarq = side.assembly.size() > llc && quint8(side.assembly[llc]) == tag::Aarq;

        if (side.assembly.size() > hdlc::Link::MaxReassembledApdu) {
            // Never completed: give up on it, and mask all of it if it claimed to be an AARQ.
            side.held.push_back(std::move(segment));
            flushHeld(isAarq ? std::optional<ByteRange>(ByteRange {0, side.assembly.size()}) : std::nullopt);
            side.assembly.clear();
            errorLine(QStringLiteral("HDLC: segmented APDU exceeds %1 bytes without a last segment; dropped")
                          .arg(hdlc::Link::MaxReassembledApdu));
            continue;
        }
        if (frame.segmented) {
            if (isAarq) {
                side.held.push_back(std::move(segment));
            } else {
                segment.line.hex = toHex(segment.wire);
                lines.push_back(std::move(segment.line));
            }
            continue;
        }
        const QByteArray apdu = std::exchange(side.assembly, QByteArray()).sliced(llc);
        describeApdu(apdu, segment.line);
        std::optional<ByteRange> secret = findAuthenticationValue(apdu);
        if (secret)
            secret->offset += llc;
        side.held.push_back(std::move(segment));
        flushHeld(secret);
    }
    return lines;
}

} // namespace dlms
