#pragma once

#include <clientsession.h>

#include <QtCore/QAbstractTableModel>
#include <QtCore/QStringList>

#include <deque>
#include <vector>

// What a trace line is about, for the Kind column and the filter.
enum class TraceKind : quint8 { Link, Association, Get, Set, Action, Release, Exception, Error, Other };
QString traceKindName(TraceKind kind); // translated: "Link", "Association", "GET", …
// The kind of a dlms::TraceDecoder line, from its summary: the APDU after " | " decides
// ("HDLC I 16→1 … | GET-Response-Normal …" is Get), a frame without one is Link, "error: …" Error.
TraceKind traceKindFor(QStringView summary);

// One decoded frame (dlms::TraceDecoder::Line) with when and whose.
struct TraceEntry {
    qint64 timestampMs = 0; // UTC ms
    QString meterId;
    dlms::Direction direction = dlms::Direction::Sent;
    TraceKind kind = TraceKind::Other;
    qsizetype size = 0;
    QString hex; // secrets already masked by the decoder
    QString summary;
    QStringList details;
    bool isError = false;
    // The decode shows a ciphered APDU deciphered with the meter's keys: that text was not on
    // the wire in clear (the hex still is what was).
    bool decrypted = false;
};

// The trace log: a bounded ring of entries (capacity lines; the oldest dropped first), oldest
// at the top. Memory is bounded by the capacity and, per entry, by hexLimit and detailsLimit:
// the hex of a longer frame is cut there ("…" appended) and details beyond detailsLimit lines
// become one "… N more lines" line (a technician reads the first ones; a profile generic of
// thousands of entries would otherwise hold megabytes per line). Deciphered lines are tagged
// and tinted in the Decode column, their tooltip says so. Times show in local time: the
// table as hh:mm:ss.zzz, the tooltip, details and saved file as ISO 8601 with the UTC offset.
class TraceModel final : public QAbstractTableModel {
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(TraceModel)

public:
    enum Column { Time, Meter, Direction, Kind, Size, Hex, Decode, ColumnCount };
    enum Role { KindRole = Qt::UserRole + 1, MeterIdRole, DetailsRole, DecryptedRole };

    explicit TraceModel(int capacity = 20'000, QObject *parent = nullptr);

    void append(std::vector<TraceEntry> entries); // one insert (and one remove) per call
    void clear();
    int capacity() const { return m_capacity; }
    qint64 droppedCount() const { return m_dropped; } // entries pushed out by the bound
    const TraceEntry &entry(int row) const;

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

    static constexpr int hexLimit = 1024; // characters of hex kept per entry
    static constexpr int detailsLimit = 64; // detail lines kept per entry (plus the "more" line)
    static void bound(TraceEntry &entry); // cuts hex and details to the limits
    static QString timestampText(qint64 timestampMs); // local ISO 8601 with offset, ms
    static QString directionText(dlms::Direction direction); // "→ meter" / "← meter", translated
    // The Decode column's text: the summary, tagged "[decrypted]" (translated) when it was deciphered.
    static QString decodeText(const TraceEntry &entry);
    static QString decryptedNote(); // "Deciphered with the meter's keys", translated

private:
    int m_capacity;
    std::deque<TraceEntry> m_entries;
    qint64 m_dropped = 0;
};
