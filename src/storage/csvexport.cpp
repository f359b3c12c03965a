#include "csvexport.h"

#include "metricscolumns.h"

#include <QtCore/QDateTime>
#include <QtCore/QFileDevice>
#include <QtCore/QIODevice>

#include <cmath>
#include <limits>

#include <type_traits>

using namespace Qt::StringLiterals;

namespace storage {

namespace {

// Rows are gathered into chunks of this size before they reach the device: few write calls,
// and memory bounded by one chunk whatever the row count.
constexpr qsizetype ChunkBytes = 64 * 1024;
constexpr qint64 ProgressEveryRows = 10'000;

bool isAsciiDigit(QChar c)
{
    return c.unicode() >= u'0' && c.unicode() <= u'9';
}

// "-12.5", "+3", "1e-3", ".5": what a spreadsheet reads as a number, not as a formula.
bool isPlainNumber(QStringView text)
{
    qsizetype i = 0;
    const qsizetype n = text.size();
    if (i < n && (text[i] == u'+' || text[i] == u'-'))
        ++i;
    qsizetype digits = 0;
    while (i < n && isAsciiDigit(text[i])) {
        ++i;
        ++digits;
    }
    if (i < n && text[i] == u'.') {
        ++i;
        while (i < n && isAsciiDigit(text[i])) {
            ++i;
            ++digits;
        }
    }
    if (digits == 0)
        return false;
    if (i < n && (text[i] == u'e' || text[i] == u'E')) {
        ++i;
        if (i < n && (text[i] == u'+' || text[i] == u'-'))
            ++i;
        qsizetype exponentDigits = 0;
        while (i < n && isAsciiDigit(text[i])) {
            ++i;
            ++exponentDigits;
        }
        if (exponentDigits == 0)
            return false;
    }
    return i == n;
}

void appendField(QByteArray &out, QStringView text)
{
    bool neutralise = false;
    if (!text.isEmpty()) {
        switch (text.front().unicode()) {
        case u'=':
        case u'@':
        case u'\t':
        case u'\r':
            neutralise = true;
            break;
        case u'+':
        case u'-':
            neutralise = !isPlainNumber(text);
            break;
        default:
            break;
        }
    }
    bool quote = false;
    for (const QChar c : text) {
        if (c == u',' || c == u'"' || c == u'\r' || c == u'\n') {
            quote = true;
            break;
        }
    }
    if (!neutralise && !quote) {
        out += text.toUtf8();
        return;
    }
    if (quote)
        out += '"';
    if (neutralise)
        out += '\'';
    const QByteArray utf8 = text.toUtf8();
    for (const char c : utf8) {
        if (c == '"')
            out += '"';
        out += c;
    }
    if (quote)
        out += '"';
}

void appendNumber(QByteArray &out, double value)
{
    // Scaled values are an integer times a power of ten: 15 significant digits print them as
    // the meter meant them ("230.1", not "230.09999999999999").
    if (std::isfinite(value))
        out += QByteArray::number(value, 'g', 15);
}

// Rows of one poll (readings) or one minute (metrics) share a timestamp: format it once.
class TimestampText {
public:
    const QByteArray &operator()(qint64 ms)
    {
        if (ms != m_ms || m_text.isEmpty()) {
            m_ms = ms;
            m_text = QDateTime::fromMSecsSinceEpoch(ms, Qt::UTC).toString(Qt::ISODateWithMs).toLatin1();
        }
        return m_text;
    }

private:
    qint64 m_ms = 0;
    QByteArray m_text;
};

class ChunkedWriter {
public:
    ChunkedWriter(QIODevice &out, const std::function<void(qint64)> &progress)
        : m_out(out), m_progress(progress)
    {
        m_chunk.reserve(ChunkBytes + 4096);
    }

    QByteArray &line() { return m_chunk; }

    // Ends a line (CRLF, as RFC 4180 has it); hands the chunk over once it is full.
    bool endLine(bool dataRow)
    {
        m_chunk += "\r\n";
        if (dataRow) {
            ++m_rows;
            if (m_progress && m_rows % ProgressEveryRows == 0)
                m_progress(m_rows);
        }
        return m_chunk.size() < ChunkBytes || writeChunk();
    }

    bool finish()
    {
        if (!writeChunk())
            return false;
        // A file device buffers: its write errors (a full disk) show when it is flushed.
        if (auto *file = qobject_cast<QFileDevice *>(&m_out); file && !file->flush()) {
            m_error = file->errorString();
            return false;
        }
        if (m_progress)
            m_progress(m_rows);
        return true;
    }

    qint64 rows() const { return m_rows; }
    dlms::Error error() const
    {
        return {dlms::ErrorCode::IoError, u"CSV output: write failed: "_s + m_error};
    }

private:
    bool writeChunk()
    {
        if (m_chunk.isEmpty())
            return true;
        if (m_out.write(m_chunk) != m_chunk.size()) {
            m_error = m_out.errorString();
            return false;
        }
        m_chunk.resize(0);
        return true;
    }

    QIODevice &m_out;
    const std::function<void(qint64)> &m_progress;
    QByteArray m_chunk;
    qint64 m_rows = 0;
    QString m_error;
};

dlms::Result<qint64> exportReadings(
    Reader &reader, const ExportOptions &options, qint64 toMs, ChunkedWriter &writer)
{
    auto cursor = reader.readings(options.meterId, options.fromMs, toMs);
    if (!cursor)
        return cursor.error();
    writer.line() += "timestamp,meter_id,key,obis,value,unit,quality";
    if (!writer.endLine(false))
        return writer.error();
    TimestampText timestamp;
    StoredReading row;
    while (cursor->next(row)) {
        QByteArray &out = writer.line();
        out += timestamp(row.timestampMs);
        out += ',';
        appendField(out, row.meterId);
        out += ',';
        appendField(out, row.key);
        out += ',';
        appendField(out, row.obis);
        out += ',';
        if (row.value.typeId() == QMetaType::Double)
            appendNumber(out, row.value.toDouble());
        else if (!row.value.isNull())
            appendField(out, row.value.toString());
        out += ',';
        appendField(out, row.unit);
        out += ',';
        appendField(out, row.quality);
        if (!writer.endLine(true))
            return writer.error();
    }
    if (const auto error = cursor->error())
        return *error;
    if (!writer.finish())
        return writer.error();
    return writer.rows();
}

dlms::Result<qint64> exportNetwork(
    Reader &reader, const ExportOptions &options, qint64 toMs, ChunkedWriter &writer)
{
    auto cursor = reader.metricsRows(options.meterId, options.fromMs, toMs);
    if (!cursor)
        return cursor.error();
    QByteArray &header = writer.line();
    header += "timestamp,meter_id,period_s";
    for (const detail::MetricsColumn &column : detail::metricsColumns()) {
        header += ',';
        header += column.name.latin1();
    }
    if (!writer.endLine(false))
        return writer.error();
    TimestampText timestamp;
    monitor::MetricsRow row;
    while (cursor->next(row)) {
        QByteArray &out = writer.line();
        out += timestamp(row.timestampMs);
        out += ',';
        appendField(out, row.meterId);
        out += ',';
        appendNumber(out, row.periodS);
        for (const detail::MetricsColumn &column : detail::metricsColumns()) {
            out += ',';
            detail::visitColumn(column, row, [&out](const auto &value) {
                if constexpr (std::is_floating_point_v<std::decay_t<decltype(value)>>)
                    appendNumber(out, value);
                else
                    out += QByteArray::number(value);
            });
        }
        if (!writer.endLine(true))
            return writer.error();
    }
    if (const auto error = cursor->error())
        return *error;
    if (!writer.finish())
        return writer.error();
    return writer.rows();
}

} // namespace

QByteArray csvField(QStringView text)
{
    QByteArray out;
    appendField(out, text);
    return out;
}

dlms::Result<qint64> exportCsv(
    Reader &reader, const ExportOptions &options, QIODevice &out, const std::function<void(qint64)> &progress)
{
    if (!out.isWritable())
        return dlms::Error {
            dlms::ErrorCode::InvalidArgument, u"CSV output: the device is not open for writing"_s};
    const qint64 toMs = options.toMs != 0 ? options.toMs : std::numeric_limits<qint64>::max();
    ChunkedWriter writer(out, progress);
    switch (options.kind) {
    case ExportKind::Readings:
        return exportReadings(reader, options, toMs, writer);
    case ExportKind::Network:
        return exportNetwork(reader, options, toMs, writer);
    }
    return dlms::Error {dlms::ErrorCode::InvalidArgument, u"CSV export: unknown kind"_s};
}

} // namespace storage
