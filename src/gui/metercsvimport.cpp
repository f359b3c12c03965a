#include "metercsvimport.h"

#include <QtCore/QCoreApplication>
#include <QtCore/QHash>
#include <QtCore/QRegularExpression>
#include <QtCore/QSet>
#include <QtCore/QStringDecoder>

#include <optional>

using namespace Qt::StringLiterals;

namespace {

constexpr qsizetype kMaxBytes = 16 * 1024 * 1024;

struct Record {
    int line = 0; // 1-based line the record starts on
    QStringList fields;
    bool quoted = false; // any field was quoted (a quoted empty field is not a blank line)
    bool unterminated = false;
};

// The separator of the header line: the one of ',' and ';' it has more of outside quotes.
QChar detectSeparator(QStringView text)
{
    int commas = 0;
    int semicolons = 0;
    bool inQuotes = false;
    for (QChar c : text) {
        if (c == u'"')
            inQuotes = !inQuotes;
        else if (!inQuotes && (c == u'\n' || c == u'\r')) {
            if (commas + semicolons > 0)
                break;
        } else if (!inQuotes && c == u',')
            ++commas;
        else if (!inQuotes && c == u';')
            ++semicolons;
    }
    return semicolons > commas ? u';' : u',';
}

// RFC 4180: fields separated by `separator`, records by CRLF, LF or CR; a field in double
// quotes may hold separators, line breaks and "" for a quote. Lenient where it costs nothing:
// text after a closing quote is kept.
std::vector<Record> splitRecords(QStringView text, QChar separator)
{
    std::vector<Record> records;
    Record record;
    QString field;
    bool inQuotes = false;
    bool fieldStarted = false;
    int line = 1;
    record.line = 1;
    const auto endField = [&] {
        record.fields.append(field);
        field.clear();
        fieldStarted = false;
    };
    const auto endRecord = [&] {
        endField();
        records.push_back(std::move(record));
        record = Record {};
        record.line = line;
    };
    const qsizetype size = text.size();
    for (qsizetype i = 0; i < size; ++i) {
        const QChar c = text[i];
        if (inQuotes) {
            if (c == u'"') {
                if (i + 1 < size && text[i + 1] == u'"') {
                    field.append(u'"');
                    ++i;
                } else {
                    inQuotes = false;
                }
            } else if (c == u'\r') {
                if (i + 1 < size && text[i + 1] == u'\n')
                    ++i;
                field.append(u'\n');
                ++line;
            } else {
                if (c == u'\n')
                    ++line;
                field.append(c);
            }
            continue;
        }
        if (c == u'"' && !fieldStarted) {
            inQuotes = true;
            fieldStarted = true;
            record.quoted = true;
        } else if (c == separator) {
            endField();
        } else if (c == u'\r' || c == u'\n') {
            if (c == u'\r' && i + 1 < size && text[i + 1] == u'\n')
                ++i;
            ++line;
            endRecord();
        } else {
            field.append(c);
            fieldStarted = true;
        }
    }
    if (inQuotes)
        record.unterminated = true;
    if (inQuotes || fieldStarted || !record.fields.isEmpty() || !field.isEmpty())
        endRecord();
    return records;
}

bool isBlank(const Record &record)
{
    if (record.quoted)
        return false;
    for (const QString &field : record.fields) {
        if (!field.trimmed().isEmpty())
            return false;
    }
    return true;
}

enum class Column : quint8 {
    Id,
    Host,
    Name,
    Port,
    Transport,
    ClientAddress,
    ServerAddress,
    PhysicalAddress,
    Authentication,
    Password,
    IntervalMs,
    TimeoutMs,
    Items,
};

std::optional<Column> columnOf(const QString &name)
{
    static const QHash<QString, Column> columns = {
        {u"id"_s, Column::Id},
        {u"host"_s, Column::Host},
        {u"name"_s, Column::Name},
        {u"port"_s, Column::Port},
        {u"transport"_s, Column::Transport},
        {u"client_address"_s, Column::ClientAddress},
        {u"server_address"_s, Column::ServerAddress},
        {u"physical_address"_s, Column::PhysicalAddress},
        {u"authentication"_s, Column::Authentication},
        {u"password"_s, Column::Password},
        {u"interval_ms"_s, Column::IntervalMs},
        {u"timeout_ms"_s, Column::TimeoutMs},
        {u"items"_s, Column::Items},
    };
    const auto it = columns.constFind(name);
    if (it == columns.cend())
        return std::nullopt;
    return it.value();
}

QString lineProblem(int line, const QString &field, const QString &problem)
{
    return QCoreApplication::translate("MeterCsvImport", "line %1: %2: %3").arg(line).arg(field, problem);
}

// The items of a cell: separated by ';' or by runs of white space, where a "class:attribute"
// after white space belongs to the item before it ("v=1.0.32.7.0.255 3:2; 1.0.1.8.0.255").
QStringList itemTexts(const QString &cell)
{
    static const QRegularExpression space(u"\\s+"_s);
    static const QRegularExpression classAttribute(u"^\\d+:\\d+$"_s);
    QStringList texts;
    for (const QString &group : cell.split(u';')) {
        const QStringList tokens = group.split(space, Qt::SkipEmptyParts);
        for (qsizetype i = 0; i < tokens.size(); ++i) {
            if (i > 0 && classAttribute.match(tokens[i]).hasMatch())
                texts.last() += u' ' + tokens[i];
            else
                texts.append(tokens[i]);
        }
    }
    return texts;
}

std::optional<qint64> parseInteger(const QString &text)
{
    bool ok = false;
    const qint64 value = text.toLongLong(&ok);
    return ok ? std::optional<qint64>(value) : std::nullopt;
}

// A cell into the meter; returns the problem ("must be …"), empty when the cell is fine.
QString applyCell(polling::MeterConfig &meter, Column column, const QString &cell)
{
    const auto integer = [&](qint64 min, qint64 max, auto assign) -> QString {
        const std::optional<qint64> value = parseInteger(cell);
        if (!value || *value < min || *value > max)
            return QCoreApplication::translate("MeterCsvImport", "must be an integer from %1 to %2 (got %3)")
                .arg(min)
                .arg(max)
                .arg(cell.left(40));
        assign(*value);
        return {};
    };
    switch (column) {
    case Column::Id:
        meter.id = cell;
        return {};
    case Column::Host:
        meter.host = cell;
        return {};
    case Column::Name:
        meter.name = cell;
        return {};
    case Column::Port:
        return integer(1, 65535, [&](qint64 v) { meter.port = quint16(v); });
    case Column::Transport:
        if (const auto transport = dlms::transportFromName(cell.toLower())) {
            meter.transport = *transport;
            return {};
        }
        return QCoreApplication::translate("MeterCsvImport", "must be wrapper or hdlc (got %1)")
            .arg(cell.left(40));
    case Column::ClientAddress:
        return integer(0, 65535, [&](qint64 v) { meter.clientAddress = quint16(v); });
    case Column::ServerAddress:
        return integer(0, 65535, [&](qint64 v) { meter.serverAddress = quint16(v); });
    case Column::PhysicalAddress:
        return integer(0, 65535, [&](qint64 v) { meter.physicalAddress = quint16(v); });
    case Column::Authentication: {
        const QString mode = cell.toLower();
        if (mode == u"none"_s)
            meter.authentication = dlms::Authentication::None;
        else if (mode == u"low"_s || mode == u"lls"_s)
            meter.authentication = dlms::Authentication::Low;
        else
            return QCoreApplication::translate("MeterCsvImport", "must be none or low (got %1)")
                .arg(cell.left(40));
        return {};
    }
    case Column::Password:
        // Never echoed in a problem: the value is a secret.
        meter.password = cell.toUtf8();
        return {};
    case Column::IntervalMs:
        return integer(1, 7LL * 24 * 3600 * 1000, [&](qint64 v) { meter.pollIntervalMs = int(v); });
    case Column::TimeoutMs:
        return integer(1, 3600 * 1000, [&](qint64 v) { meter.requestTimeoutMs = int(v); });
    case Column::Items: {
        std::vector<polling::PollItem> items;
        for (const QString &text : itemTexts(cell)) {
            dlms::Result<polling::PollItem> item = polling::parseItemLine(text);
            if (!item)
                return item.error().message;
            items.push_back(std::move(*item));
        }
        // Duplicate keys are left to findMeterConfigProblem, which names the item.
        meter.items = std::move(items);
        return {};
    }
    }
    return {};
}

QString columnName(Column column)
{
    switch (column) {
    case Column::Id:
        return u"id"_s;
    case Column::Host:
        return u"host"_s;
    case Column::Name:
        return u"name"_s;
    case Column::Port:
        return u"port"_s;
    case Column::Transport:
        return u"transport"_s;
    case Column::ClientAddress:
        return u"client_address"_s;
    case Column::ServerAddress:
        return u"server_address"_s;
    case Column::PhysicalAddress:
        return u"physical_address"_s;
    case Column::Authentication:
        return u"authentication"_s;
    case Column::Password:
        return u"password"_s;
    case Column::IntervalMs:
        return u"interval_ms"_s;
    case Column::TimeoutMs:
        return u"timeout_ms"_s;
    case Column::Items:
        return u"items"_s;
    }
    return {};
}

} // namespace

dlms::Result<MeterCsvImport> parseMeterCsv(
    const QByteArray &csv, const polling::MeterConfig &defaults, const QStringList &takenIds)
{
    const auto fileError
        = [](const QString &message) { return dlms::makeError(dlms::ErrorCode::Malformed, message); };
    if (csv.size() > kMaxBytes)
        return dlms::makeError(dlms::ErrorCode::LengthTooLarge,
            QCoreApplication::translate("MeterCsvImport", "the file is larger than 16 MiB"));

    QByteArrayView bytes = csv;
    if (bytes.startsWith("\xEF\xBB\xBF"))
        bytes = bytes.sliced(3);
    QStringDecoder decoder(QStringDecoder::Utf8, QStringDecoder::Flag::Stateless);
    const QString text = decoder.decode(bytes);
    if (decoder.hasError())
        return fileError(QCoreApplication::translate("MeterCsvImport", "the file is not UTF-8 text"));

    std::vector<Record> records = splitRecords(text, detectSeparator(text));
    auto record = records.begin();
    while (record != records.end() && isBlank(*record))
        ++record;
    if (record == records.end())
        return fileError(QCoreApplication::translate("MeterCsvImport", "the file has no header row"));

    // Header: which cell feeds which setting; unknown columns are ignored.
    const Record &header = *record++;
    QList<std::optional<Column>> columns;
    QHash<int, int> seen; // Column -> header position
    for (qsizetype i = 0; i < header.fields.size(); ++i) {
        const QString name = header.fields[i].trimmed().toLower();
        const std::optional<Column> column = columnOf(name);
        if (column && seen.contains(int(*column)))
            return fileError(
                QCoreApplication::translate("MeterCsvImport", "the column \"%1\" appears twice").arg(name));
        if (column)
            seen.insert(int(*column), int(i));
        columns.append(column);
    }
    if (!seen.contains(int(Column::Id)))
        return fileError(QCoreApplication::translate("MeterCsvImport", "the header has no \"id\" column"));
    if (!seen.contains(int(Column::Host)))
        return fileError(QCoreApplication::translate("MeterCsvImport", "the header has no \"host\" column"));

    const QSet<QString> taken(takenIds.cbegin(), takenIds.cend());
    MeterCsvImport result;
    QHash<QString, int> idLines; // ids of this file -> their line
    for (; record != records.end(); ++record) {
        if (isBlank(*record))
            continue;
        const int line = record->line;
        if (record->unterminated) {
            result.problems.append(
                QCoreApplication::translate("MeterCsvImport", "line %1: a quoted field is not closed")
                    .arg(line));
            continue;
        }
        if (record->fields.size() > columns.size()) {
            bool extra = false;
            for (qsizetype i = columns.size(); i < record->fields.size(); ++i)
                extra = extra || !record->fields[i].trimmed().isEmpty();
            if (extra) {
                result.problems.append(QCoreApplication::translate(
                    "MeterCsvImport", "line %1: %2 fields, but the header names %3")
                                           .arg(line)
                                           .arg(record->fields.size())
                                           .arg(columns.size()));
                continue;
            }
        }

        polling::MeterConfig meter = defaults;
        meter.id.clear();
        meter.name.clear();
        QString problem;
        for (qsizetype i = 0; i < columns.size() && i < record->fields.size() && problem.isEmpty(); ++i) {
            if (!columns[i])
                continue;
            // Passwords keep their spaces; every other cell is trimmed.
            const QString cell
                = *columns[i] == Column::Password ? record->fields[i] : record->fields[i].trimmed();
            if (cell.isEmpty() && *columns[i] != Column::Id)
                continue; // the default
            if (const QString why = applyCell(meter, *columns[i], cell); !why.isEmpty())
                problem = lineProblem(line, columnName(*columns[i]), why);
        }
        if (problem.isEmpty() && meter.name.isEmpty())
            meter.name = meter.id;
        if (problem.isEmpty() && !meter.id.isEmpty()) {
            if (const auto it = idLines.constFind(meter.id); it != idLines.cend())
                problem = lineProblem(line, u"id"_s,
                    QCoreApplication::translate("MeterCsvImport", "\"%1\" is already used on line %2")
                        .arg(meter.id)
                        .arg(it.value()));
            else if (taken.contains(meter.id))
                problem = lineProblem(line, u"id"_s,
                    QCoreApplication::translate("MeterCsvImport", "\"%1\" is already used by another meter")
                        .arg(meter.id));
        }
        if (problem.isEmpty()) {
            if (const auto invalid = polling::findMeterConfigProblem(meter))
                problem = lineProblem(line, invalid->field, invalid->problem);
        }
        if (!meter.id.isEmpty() && !idLines.contains(meter.id))
            idLines.insert(meter.id, line);
        if (!problem.isEmpty()) {
            result.problems.append(problem);
            continue;
        }
        result.meters.push_back(std::move(meter));
    }
    return result;
}
