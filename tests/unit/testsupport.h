#pragma once

// Helpers shared by the unit tests and the benchmarks. QtCore and the library only (no QtTest),
// so a benchmark can include it too; the toString() printers need nothing from QtTest but to be
// declared before QCOMPARE is instantiated.

#include "axdr.h"
#include "cosemdatetime.h"
#include "error.h"
#include "hdlc.h"
#include "obis.h"
#include "units.h"
#include "value.h"
#include "wrapper.h"

#include <QtCore/QByteArray>
#include <QtCore/QList>
#include <QtCore/QMetaType>
#include <QtCore/QRandomGenerator>
#include <QtCore/QString>

#include <algorithm>
#include <type_traits>
#include <utility>
#include <vector>

// QCOMPARE finds these by argument-dependent lookup, so they live in the types' namespaces.
namespace dlms {

inline char *toString(const Obis &o)
{
    return qstrdup(o.toString().toLatin1().constData());
}

inline char *toString(const ScalerUnit &su)
{
    return qstrdup(QByteArray("{scaler " + QByteArray::number(su.scaler) + ", unit " + QByteArray::number(su.unit)
                              + '}')
                       .constData());
}

} // namespace dlms

namespace dlms::hdlc {

inline char *toString(const Frame &f)
{
    const QString s = QStringLiteral("Frame(%1 -> %2, control 0x%3 %4%5, info %6)")
                          .arg(f.source.toString(), f.destination.toString())
                          .arg(f.control, 2, 16, QLatin1Char('0'))
                          .arg(frameTypeName(f.type()), f.segmented ? QStringLiteral(" segmented") : QString(),
                               QString::fromLatin1(f.info.toHex(' ')));
    return qstrdup(s.toUtf8().constData());
}

inline char *toString(const Address &a)
{
    return qstrdup(QStringLiteral("Address(%1/%2, %3 bytes)").arg(a.upper).arg(a.lower).arg(a.size).toUtf8().constData());
}

inline char *toString(const LinkParameters &p)
{
    return qstrdup(QStringLiteral("LinkParameters(tx %1, rx %2, wtx %3, wrx %4)")
                       .arg(p.maxInfoTx)
                       .arg(p.maxInfoRx)
                       .arg(p.windowTx)
                       .arg(p.windowRx)
                       .toUtf8()
                       .constData());
}

} // namespace dlms::hdlc

namespace dlms::wrapper {

inline char *toString(const Frame &f)
{
    return qstrdup(QStringLiteral("Frame(%1 -> %2, %3)")
                       .arg(f.sourcePort)
                       .arg(f.destinationPort)
                       .arg(QString::fromLatin1(f.apdu.toHex(' ')))
                       .toUtf8()
                       .constData());
}

} // namespace dlms::wrapper

Q_DECLARE_METATYPE(dlms::Value)
Q_DECLARE_METATYPE(dlms::DataType)
Q_DECLARE_METATYPE(dlms::ErrorCode)
Q_DECLARE_METATYPE(dlms::CosemDateTime)
Q_DECLARE_METATYPE(dlms::hdlc::Frame)
Q_DECLARE_METATYPE(dlms::hdlc::Address)
Q_DECLARE_METATYPE(dlms::hdlc::FrameType)
Q_DECLARE_METATYPE(dlms::hdlc::LinkParameters)

namespace dlms::test {

// fromHex() skips spaces, so vectors may be grouped for reading ("0202 090c").
inline QByteArray hex(const char *text)
{
    return QByteArray::fromHex(QByteArray(text));
}

// The wire bytes of any APDU with an `encode(apdu, out)` overload (found by ADL).
inline QByteArray encoded(const auto &apdu)
{
    QByteArray out;
    encode(apdu, out);
    return out;
}

inline QByteArray randomBytes(QRandomGenerator &rng, qsizetype size)
{
    QByteArray b(size, Qt::Uninitialized);
    for (char &c : b)
        c = char(rng.bounded(256));
    return b;
}

// 2024-03-05 (Tuesday) 14:07:00.00, UTC+01:00, daylight saving flag set.
inline CosemDateTime cetClock()
{
    CosemDateTime dt;
    dt.date = {2024, 3, 5, 2};
    dt.time = {14, 7, 0, 0};
    dt.deviation = -60;
    dt.clockStatus = 0x80;
    return dt;
}

inline TypeDescription leafType(DataType t)
{
    TypeDescription d;
    d.type = t;
    return d;
}

enum class ProfileClock { DateTime, OctetString };

// A Profile Generic buffer as meters send it: `rows` rows of {clock, double-long-unsigned}, a
// quarter-hour apart. The clock is tagged date-time (0x19) or, as most meters do, octet-string(12).
inline QByteArray profileBuffer(int rows, ProfileClock clockTag)
{
    QByteArray out;
    out.reserve(qsizetype(rows) * 21 + 8);
    out.append(char(DataType::Array));
    axdr::encodeLength(quint32(rows), out);
    CosemDateTime clock;
    clock.date = {2024, 3, 5, 2};
    clock.time = {0, 0, 0, 0};
    clock.deviation = -60;
    clock.clockStatus = 0;
    for (int i = 0; i < rows; ++i) {
        clock.time.hour = quint8((i / 4) % 24);
        clock.time.minute = quint8((i % 4) * 15);
        out.append(char(DataType::Structure));
        out.append(char(2));
        if (clockTag == ProfileClock::DateTime) {
            out.append(char(DataType::DateTime));
        } else {
            out.append(char(DataType::OctetString));
            out.append(char(12));
        }
        clock.appendTo(out);
        out.append(char(DataType::DoubleLongUnsigned));
        const quint32 energy = 1000000u + quint32(i) * 37u;
        const char b[4] = {char(energy >> 24), char(energy >> 16), char(energy >> 8), char(energy)};
        out.append(b, 4);
    }
    return out;
}

inline hdlc::Frame makeFrame(const hdlc::Address &destination, const hdlc::Address &source, quint8 control,
                             QByteArray info = {}, bool segmented = false)
{
    hdlc::Frame f;
    f.destination = destination;
    f.source = source;
    f.control = control;
    f.info = std::move(info);
    f.segmented = segmented;
    return f;
}

// What a deframer (hdlc::Deframer, wrapper::Deframer) hands out: Result<Frame>, and the Frame.
template<typename Deframer>
using DeframedResult = typename decltype(std::declval<Deframer &>().next())::value_type;
template<typename Deframer>
using DeframedFrame = std::remove_cvref_t<decltype(std::declval<DeframedResult<Deframer> &>().value())>;

template<typename Deframer>
inline std::vector<DeframedResult<Deframer>> drain(Deframer &d)
{
    std::vector<DeframedResult<Deframer>> out;
    while (auto r = d.next())
        out.push_back(std::move(*r));
    return out;
}

// Feeds `wire` in the given chunk sizes (the last chunk takes the rest), collecting results.
template<typename Deframer>
inline std::vector<DeframedResult<Deframer>> feedChunks(const QByteArray &wire, const QList<qsizetype> &cuts)
{
    Deframer d;
    std::vector<DeframedResult<Deframer>> out;
    qsizetype pos = 0;
    for (qsizetype cut : cuts) {
        d.feed(QByteArrayView(wire).sliced(pos, cut - pos));
        pos = cut;
        for (auto &r : drain(d))
            out.push_back(std::move(r));
    }
    d.feed(QByteArrayView(wire).sliced(pos));
    for (auto &r : drain(d))
        out.push_back(std::move(r));
    return out;
}

// Feeds `stream` in random chunks of 1 to maxChunk - 1 bytes; the frames, or the first error.
template<typename Deframer>
inline Result<std::vector<DeframedFrame<Deframer>>> deframeInRandomChunks(const QByteArray &stream,
                                                                          QRandomGenerator &rng, int maxChunk)
{
    Deframer d;
    std::vector<DeframedFrame<Deframer>> got;
    for (qsizetype pos = 0; pos < stream.size();) {
        const qsizetype n = std::min<qsizetype>(rng.bounded(1, maxChunk), stream.size() - pos);
        d.feed(QByteArrayView(stream).sliced(pos, n));
        pos += n;
        while (auto r = d.next()) {
            if (!r->ok())
                return r->error();
            got.push_back(r->value());
        }
    }
    return got;
}

} // namespace dlms::test
