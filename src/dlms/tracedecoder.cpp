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

} // namespace

TraceDecoder::TraceDecoder(std::optional<Transport> transport) : m_transport(transport) { }

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
    const auto decoded = decodeApdu(apdu);
    if (!decoded) {
        line.summary += u" | "_s + frameKindName(classifyApdu(apdu)) + u" (undecodable: "_s
            + decoded.error().message + u')';
        line.isError = true;
        return;
    }
    line.summary += (line.summary.isEmpty() ? QString() : u" | "_s) + dlms::describeApdu(*decoded);
    if (const auto *aare = std::get_if<Aare>(&*decoded)) {
        if (aare->initiate)
            line.details << u"conformance: "_s
                    + conformanceNames(aare->initiate->negotiatedConformance).join(u", "_s);
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
    } else if (const auto *action = std::get_if<ActionResponse>(&*decoded)) {
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
