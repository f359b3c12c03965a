#include "tracemodel.h"

#include <displayformat.h>

#include <QtCore/QCoreApplication>
#include <QtCore/QDateTime>
#include <QtGui/QBrush>
#include <QtGui/QColor>
#include <QtGui/QFontDatabase>

using namespace Qt::StringLiterals;

QString traceKindName(TraceKind kind)
{
    switch (kind) {
    case TraceKind::Link:
        return QCoreApplication::translate("TraceModel", "Link");
    case TraceKind::Association:
        return QCoreApplication::translate("TraceModel", "Association");
    case TraceKind::Get:
        return QCoreApplication::translate("TraceModel", "GET");
    case TraceKind::Set:
        return QCoreApplication::translate("TraceModel", "SET");
    case TraceKind::Action:
        return QCoreApplication::translate("TraceModel", "ACTION");
    case TraceKind::Release:
        return QCoreApplication::translate("TraceModel", "Release");
    case TraceKind::Exception:
        return QCoreApplication::translate("TraceModel", "Exception");
    case TraceKind::Error:
        return QCoreApplication::translate("TraceModel", "Error");
    case TraceKind::Other:
        break;
    }
    return QCoreApplication::translate("TraceModel", "Other");
}

TraceKind traceKindFor(QStringView summary)
{
    if (summary.startsWith(u"error: "))
        return TraceKind::Error;
    // "HDLC I 16→1 N(S)=0 N(R)=0 P/F | AARQ …", "wrapper 16→1 | GET-Request-Normal …": the APDU
    // after the bar decides; a frame without one (SNRM, UA, RR, a middle segment) is the link's.
    const qsizetype bar = summary.indexOf(u" | ");
    if (bar < 0)
        return summary.startsWith(u"HDLC ") ? TraceKind::Link : TraceKind::Other;
    QStringView apdu = summary.sliced(bar + 3);
    // A ciphered APDU ("glo-get-request SC 0x30 …"): its deciphered content decides when the
    // keys were known, else the service its tag names.
    if (apdu.startsWith(u"glo-") || apdu.startsWith(u"ded-") || apdu.startsWith(u"general-")) {
        static constexpr QStringView decrypted = u" | decrypted: ";
        if (const qsizetype plain = apdu.indexOf(decrypted); plain >= 0)
            apdu = apdu.sliced(plain + decrypted.size());
        else if (!apdu.startsWith(u"general-"))
            apdu = apdu.sliced(4);
    }
    struct Prefix {
        QStringView text;
        TraceKind kind;
    };
    // Decoded APDUs (apdu.cpp's describe) and, for undecodable ones, frameKindName's names.
    static constexpr Prefix prefixes[] = {
        {u"AARQ", TraceKind::Association},
        {u"AARE", TraceKind::Association},
        {u"aarq", TraceKind::Association},
        {u"aare", TraceKind::Association},
        {u"GET-", TraceKind::Get},
        {u"get-", TraceKind::Get},
        {u"SET-", TraceKind::Set},
        {u"set-", TraceKind::Set},
        {u"ACTION-", TraceKind::Action},
        {u"action-", TraceKind::Action},
        {u"RLRQ", TraceKind::Release},
        {u"RLRE", TraceKind::Release},
        {u"rlrq", TraceKind::Release},
        {u"rlre", TraceKind::Release},
        {u"EXCEPTION-", TraceKind::Exception},
        {u"Confirmed-Service-Error", TraceKind::Exception},
        {u"exception", TraceKind::Exception},
        {u"confirmed-service-error", TraceKind::Exception},
        {u"initiate-", TraceKind::Association},
        {u"Initiate", TraceKind::Association},
    };
    for (const Prefix &prefix : prefixes) {
        if (apdu.startsWith(prefix.text))
            return prefix.kind;
    }
    return TraceKind::Other;
}

TraceModel::TraceModel(int capacity, QObject *parent)
    : QAbstractTableModel(parent), m_capacity(std::max(1, capacity))
{
}

void TraceModel::append(std::vector<TraceEntry> entries)
{
    if (entries.empty())
        return;
    // More than fit: the oldest of the new ones never make it in.
    auto first = entries.begin();
    if (entries.size() > size_t(m_capacity)) {
        const auto skipped = qsizetype(entries.size()) - m_capacity;
        m_dropped += skipped;
        first += skipped;
    }
    const auto incoming = qsizetype(entries.end() - first);
    const qsizetype overflow = qsizetype(m_entries.size()) + incoming - m_capacity;
    if (overflow > 0) {
        beginRemoveRows({}, 0, int(overflow) - 1);
        m_entries.erase(m_entries.begin(), m_entries.begin() + overflow);
        m_dropped += overflow;
        endRemoveRows();
    }
    const int begin = int(m_entries.size());
    beginInsertRows({}, begin, begin + int(incoming) - 1);
    for (auto it = first; it != entries.end(); ++it) {
        bound(*it);
        m_entries.push_back(std::move(*it));
    }
    endInsertRows();
}

void TraceModel::bound(TraceEntry &entry)
{
    if (entry.hex.size() > hexLimit) {
        entry.hex.truncate(hexLimit);
        entry.hex.append(u'…');
        entry.hex.squeeze();
    }
    if (entry.details.size() > detailsLimit) {
        const auto more = int(entry.details.size() - detailsLimit);
        entry.details.resize(detailsLimit);
        entry.details.append(tr("… %n more lines", nullptr, more));
        entry.details.squeeze();
    }
}

QString TraceModel::timestampText(qint64 timestampMs)
{
    // An explicit offset (not Qt::LocalTime) so the text always carries it ("Z" when zero).
    const QDateTime local = QDateTime::fromMSecsSinceEpoch(timestampMs, Qt::UTC).toLocalTime();
    return local.toOffsetFromUtc(local.offsetFromUtc()).toString(Qt::ISODateWithMs);
}

void TraceModel::clear()
{
    beginResetModel();
    m_entries.clear();
    m_dropped = 0;
    endResetModel();
}

const TraceEntry &TraceModel::entry(int row) const
{
    return m_entries.at(size_t(row));
}

int TraceModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_entries.size());
}

int TraceModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QString TraceModel::directionText(dlms::Direction direction)
{
    return direction == dlms::Direction::Sent ? tr("→ meter") : tr("← meter");
}

QString TraceModel::decodeText(const TraceEntry &entry)
{
    return entry.decrypted ? tr("[decrypted] %1").arg(entry.summary) : entry.summary;
}

QString TraceModel::decryptedNote()
{
    return tr("Deciphered with the meter's keys");
}

QVariant TraceModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const TraceEntry &e = m_entries[size_t(index.row())];
    switch (role) {
    case Qt::DisplayRole:
        switch (Column(index.column())) {
        case Time:
            return QDateTime::fromMSecsSinceEpoch(e.timestampMs, Qt::UTC)
                .toLocalTime()
                .toString(u"hh:mm:ss.zzz"_s);
        case Meter:
            return e.meterId;
        case Direction:
            return directionText(e.direction);
        case Kind:
            return traceKindName(e.kind);
        case Size:
            return monitor::formatCount(quint64(e.size));
        case Hex:
            return e.hex;
        case Decode:
            return decodeText(e);
        case ColumnCount:
            break;
        }
        return {};
    case Qt::ToolTipRole:
        if (index.column() == Decode) {
            const QString text = e.details.isEmpty() ? e.summary : e.details.join(u'\n');
            return e.decrypted ? decryptedNote() + u'\n' + text : text;
        }
        if (index.column() == Time)
            return timestampText(e.timestampMs);
        return {};
    case Qt::ForegroundRole:
        if (e.isError)
            return QBrush(QColor(0xC0, 0x1C, 0x28));
        if (e.decrypted && index.column() == Decode)
            return QBrush(QColor(0x00, 0x69, 0x5C)); // teal: readable, and unlike the error red
        return {};
    case Qt::FontRole:
        if (index.column() == Hex)
            return QFontDatabase::systemFont(QFontDatabase::FixedFont);
        return {};
    case Qt::TextAlignmentRole:
        if (index.column() == Size)
            return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
        return {};
    case KindRole:
        return int(e.kind);
    case MeterIdRole:
        return e.meterId;
    case DetailsRole:
        return e.details;
    case DecryptedRole:
        return e.decrypted;
    default:
        return {};
    }
}

QVariant TraceModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return QAbstractTableModel::headerData(section, orientation, role);
    switch (Column(section)) {
    case Time:
        return tr("Time");
    case Meter:
        return tr("Meter");
    case Direction:
        return tr("Direction");
    case Kind:
        return tr("Kind");
    case Size:
        return tr("Size");
    case Hex:
        return tr("Hex");
    case Decode:
        return tr("Decode");
    case ColumnCount:
        break;
    }
    return {};
}
