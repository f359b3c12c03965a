#include "readcommand.h"

#include "connectionoptions.h"
#include "meterclient.h"
#include <objectlist.h>
#include "readitem.h"
#include "requestplan.h"
#include "valueformat.h"

#include <units.h>

#include <QtCore/QCommandLineParser>
#include <QtCore/QHash>
#include <QtCore/QJsonArray>
#include <QtCore/QJsonDocument>
#include <QtCore/QJsonObject>
#include <QtCore/QTextStream>

#include <cstdio>

using namespace Qt::StringLiterals;

namespace {

const dlms::Obis kCurrentAssociation(0, 0, 40, 0, 0, 255);

// What one requested attribute gave: a value, or why not (a data-access-result name or the
// reason the whole request failed).
struct Outcome {
    bool ok = false;
    dlms::Value value;
    QString error;
};

struct ProfileColumn {
    dlms::CaptureObject object;
    bool clock = false;
    bool scaled = false; // a register value: its scaler_unit was asked for
    std::optional<dlms::ScalerUnit> scalerUnit;
    QString header;
};

struct Item {
    ReadItem spec;
    std::optional<quint16> classId;
    bool profile = false;
    std::optional<QString> error;
    dlms::Value value;
    std::optional<dlms::ScalerUnit> scalerUnit; // registers
    std::vector<ProfileColumn> columns; // profile
    size_t valueSlot = 0, scalerSlot = 0; // positions in the first round of requests

    bool isRegister() const
    {
        return !profile && classId && (*classId == 3 || *classId == 4) && spec.attribute == 2;
    }
    bool isClockAttribute() const
    {
        return classId == quint16(dlms::InterfaceClass::Clock)
            && (spec.attribute == 2 || spec.attribute == 5 || spec.attribute == 6);
    }
    QString name() const { return objectName(spec.obis, classId); }
    QString key() const
    {
        const dlms::WellKnownObject *known = dlms::findWellKnown(spec.obis);
        return known ? QString::fromLatin1(known->telemetryKey) : QString();
    }
};

struct ProfileSelection {
    std::optional<std::pair<QDateTime, QDateTime>> range;
    std::optional<std::pair<quint32, quint32>> entries;
};

dlms::Result<ProfileSelection> profileSelection(const QCommandLineParser &parser)
{
    ProfileSelection selection;
    const bool range = parser.isSet(u"from"_s) || parser.isSet(u"to"_s);
    const bool entries = parser.isSet(u"from-entry"_s) || parser.isSet(u"to-entry"_s);
    if (range && entries)
        return usageError(u"give either --from/--to or --from-entry/--to-entry, not both"_s);
    if (range) {
        if (!parser.isSet(u"from"_s) || !parser.isSet(u"to"_s))
            return usageError(u"--from and --to go together"_s);
        const auto from = parseTimestamp(parser.value(u"from"_s));
        if (!from)
            return usageError(u"--from: "_s + from.error().message);
        const auto to = parseTimestamp(parser.value(u"to"_s));
        if (!to)
            return usageError(u"--to: "_s + to.error().message);
        if (*to < *from)
            return usageError(u"--to is before --from"_s);
        selection.range = std::pair(*from, *to);
    }
    if (entries) {
        qint64 from = 1;
        qint64 to = 0;
        if (parser.isSet(u"from-entry"_s)) {
            const auto n = integerOption(u"from-entry"_s, parser.value(u"from-entry"_s), 1, 0xFFFFFFFF);
            if (!n)
                return n.error();
            from = *n;
        }
        if (parser.isSet(u"to-entry"_s)) {
            const auto n = integerOption(u"to-entry"_s, parser.value(u"to-entry"_s), 0, 0xFFFFFFFF);
            if (!n)
                return n.error();
            to = *n;
        }
        if (to != 0 && to < from)
            return usageError(u"--to-entry is before --from-entry"_s);
        selection.entries = std::pair(quint32(from), quint32(to));
    }
    return selection;
}

// Sends the attributes in as few GETs as the association allows and waits for all of them;
// std::nullopt when the connection failed meanwhile.
std::optional<std::vector<Outcome>> fetch(
    MeterClient &client, const std::vector<dlms::AttributeRequest> &requests)
{
    std::vector<Outcome> outcomes(requests.size());
    if (requests.empty())
        return outcomes;
    const std::vector<RequestBatch> batches
        = planGetRequests(requests, client.serverMaxPdu(), client.supportsMultipleReferences());
    std::vector<MeterClient::RequestId> ids;
    ids.reserve(batches.size());
    for (const RequestBatch &batch : batches) {
        if (batch.size() == 1) {
            ids.push_back(client.get(requests[batch[0]].attribute, requests[batch[0]].access));
            continue;
        }
        std::vector<dlms::AttributeRequest> items;
        items.reserve(batch.size());
        for (size_t index : batch)
            items.push_back(requests[index]);
        ids.push_back(client.getList(std::move(items)));
    }
    if (!client.wait(ids))
        return std::nullopt;
    for (size_t b = 0; b < batches.size(); ++b) {
        MeterClient::Response response = client.takeResponse(ids[b]);
        const RequestBatch &batch = batches[b];
        for (size_t i = 0; i < batch.size(); ++i) {
            Outcome &outcome = outcomes[batch[i]];
            if (response.error) {
                outcome.error = response.error->message;
            } else if (i >= response.results.size()) {
                outcome.error = u"no result in the response"_s;
            } else if (!response.results[i].ok()) {
                outcome.error = dlms::dataAccessResultName(quint8(response.results[i].result));
            } else {
                outcome.ok = true;
                outcome.value = std::move(response.results[i].value);
            }
        }
    }
    return outcomes;
}

QString columnHeader(const ProfileColumn &column)
{
    if (column.clock)
        return u"clock"_s;
    QString header = column.object.instance.toString();
    if (column.object.attributeId != 2)
        header += u':' + QString::number(column.object.attributeId);
    if (column.scalerUnit) {
        const QString unit = dlms::unitSymbol(column.scalerUnit->unit);
        if (!unit.isEmpty())
            header += u" ["_s + unit + u']';
    }
    return header;
}

QString cellText(const ProfileColumn &column, const dlms::Value &value)
{
    if (value.isNull())
        return {};
    if (column.clock) {
        if (const auto dt = value.asDateTime())
            return dlms::isoDateTime(*dt);
    }
    if (column.scalerUnit && value.isNumber())
        return dlms::scaledText(value, column.scalerUnit->scaler);
    return plainValueText(value, column.clock);
}

// A scaled number for JSON, through its exact decimal text, so 2301 × 10^-1 is 230.1 and not
// the 230.10000000000002 that multiplying in binary floating point gives.
QJsonValue scaledJson(const dlms::Value &value, qint8 scaler)
{
    return value.isNumber() ? QJsonValue(dlms::scaledText(value, scaler).toDouble()) : value.toJson();
}

QJsonValue cellJson(const ProfileColumn &column, const dlms::Value &value)
{
    if (value.isNull())
        return QJsonValue(QJsonValue::Null);
    if (column.clock) {
        if (const auto dt = value.asDateTime())
            return dlms::isoDateTime(*dt);
    }
    if (column.scalerUnit)
        return scaledJson(value, column.scalerUnit->scaler);
    return value.toJson();
}

QString registerText(const Item &item)
{
    QString text = dlms::scaledText(item.value, item.scalerUnit->scaler);
    const QString unit = dlms::unitSymbol(item.scalerUnit->unit);
    if (!unit.isEmpty())
        text += u' ' + unit;
    return text;
}

void printProfileCsv(QTextStream &out, const Item &item)
{
    for (size_t c = 0; c < item.columns.size(); ++c)
        out << (c ? "," : "") << csvField(item.columns[c].header);
    out << '\n';
    for (const dlms::Value &row : item.value.items()) {
        const dlms::ValueList &cells = row.items();
        for (size_t c = 0; c < item.columns.size(); ++c) {
            if (c)
                out << ',';
            if (c < cells.size())
                out << csvField(cellText(item.columns[c], cells[c]));
        }
        out << '\n';
    }
}

void printText(QTextStream &out, const std::vector<Item> &items)
{
    for (const Item &item : items) {
        if (item.error) {
            out << item.spec.label() << "  error: " << *item.error << '\n';
        } else if (item.profile) {
            printProfileCsv(out, item);
        } else {
            const QString text = item.isRegister() ? registerText(item)
                                                   : plainValueText(item.value, item.isClockAttribute());
            out << item.spec.label() << "  " << item.name() << "  " << text << '\n';
        }
    }
}

QJsonObject itemJson(const Item &item)
{
    QJsonObject o {{u"item"_s, item.spec.label()},
        {u"class"_s, item.classId ? QJsonValue(int(*item.classId)) : QJsonValue(QJsonValue::Null)},
        {u"obis"_s, item.spec.obis.toString()}, {u"attribute"_s, int(item.spec.attribute)},
        {u"name"_s, item.name()}, {u"key"_s, item.key()}, {u"ok"_s, !item.error}};
    if (item.error) {
        o.insert(u"error"_s, *item.error);
        return o;
    }
    if (item.profile) {
        QJsonArray columns;
        for (const ProfileColumn &column : item.columns)
            columns.append(column.header);
        QJsonArray rows;
        for (const dlms::Value &row : item.value.items()) {
            QJsonArray cells;
            const dlms::ValueList &values = row.items();
            for (size_t c = 0; c < item.columns.size() && c < values.size(); ++c)
                cells.append(cellJson(item.columns[c], values[c]));
            rows.append(cells);
        }
        o.insert(u"profile"_s, QJsonObject {{u"columns"_s, columns}, {u"rows"_s, rows}});
        return o;
    }
    if (item.isRegister()) {
        o.insert(u"value"_s, scaledJson(item.value, item.scalerUnit->scaler));
        o.insert(u"raw"_s, item.value.toJson());
        o.insert(u"scaler"_s, int(item.scalerUnit->scaler));
        o.insert(u"unit"_s, dlms::unitSymbol(item.scalerUnit->unit));
        o.insert(u"text"_s, registerText(item));
        return o;
    }
    o.insert(u"value"_s, item.value.toJson());
    o.insert(u"text"_s, plainValueText(item.value, item.isClockAttribute()));
    return o;
}

// Capture objects → columns, then the columns' scalers and the buffer. Sets item.error or
// item.columns + item.value; false when the connection failed.
bool readProfile(
    MeterClient &client, Item &item, const Outcome &captureObjects, const ProfileSelection &selection)
{
    if (!captureObjects.ok) {
        item.error = captureObjects.error;
        return true;
    }
    if (captureObjects.value.type() != dlms::DataType::Array) {
        item.error = u"capture_objects is not an array"_s;
        return true;
    }
    for (const dlms::Value &v : captureObjects.value.items()) {
        auto object = dlms::CaptureObject::fromValue(v);
        if (!object) {
            item.error = u"malformed capture_objects: "_s + object.error().message;
            return true;
        }
        ProfileColumn column;
        column.object = *object;
        column.clock = object->classId == quint16(dlms::InterfaceClass::Clock) && object->attributeId == 2;
        column.scaled = (object->classId == 3 || object->classId == 4) && object->attributeId == 2;
        item.columns.push_back(std::move(column));
    }

    std::vector<dlms::AttributeRequest> requests;
    std::vector<size_t> scaledColumns;
    for (size_t c = 0; c < item.columns.size(); ++c) {
        if (!item.columns[c].scaled)
            continue;
        const dlms::CaptureObject &o = item.columns[c].object;
        requests.push_back({{o.classId, o.instance, 3}, std::nullopt});
        scaledColumns.push_back(c);
    }

    std::optional<dlms::SelectiveAccess> access;
    if (selection.range) {
        const auto clock
            = std::find_if(item.columns.begin(), item.columns.end(), [](const auto &c) { return c.clock; });
        if (clock == item.columns.end()) {
            item.error = u"the profile has no clock column to select a time range on"_s;
            return true;
        }
        auto bound = [](const QDateTime &t) {
            return dlms::Value::octetString(dlms::CosemDateTime::fromQDateTime(t).toBytes());
        };
        access = dlms::SelectiveAccess::range(
            clock->object, bound(selection.range->first), bound(selection.range->second));
    } else if (selection.entries) {
        access = dlms::SelectiveAccess::entry(selection.entries->first, selection.entries->second);
    }
    // The buffer goes on its own: it is the big one, and block transfer handles its size.
    const auto scalers = fetch(client, requests);
    if (!scalers)
        return false;
    const MeterClient::RequestId bufferId
        = client.get({quint16(dlms::InterfaceClass::ProfileGeneric), item.spec.obis, 2}, std::move(access));
    if (!client.wait({bufferId}))
        return false;

    for (size_t i = 0; i < scaledColumns.size(); ++i) {
        if ((*scalers)[i].ok) {
            if (const auto su = dlms::ScalerUnit::fromValue((*scalers)[i].value))
                item.columns[scaledColumns[i]].scalerUnit = *su;
        }
    }
    for (ProfileColumn &column : item.columns)
        column.header = columnHeader(column);

    MeterClient::Response buffer = client.takeResponse(bufferId);
    if (buffer.error) {
        item.error = buffer.error->message;
    } else if (buffer.results.size() != 1) {
        item.error = u"no result in the response"_s;
    } else if (!buffer.results[0].ok()) {
        item.error = dlms::dataAccessResultName(quint8(buffer.results[0].result));
    } else if (buffer.results[0].value.type() != dlms::DataType::Array) {
        item.error = u"the buffer is not an array"_s;
    } else {
        item.value = std::move(buffer.results[0].value);
    }
    return true;
}

} // namespace

int runReadCommand(const QStringList &arguments)
{
    QTextStream out(stdout);
    QTextStream err(stderr);
    QCommandLineParser parser;
    parser.setApplicationDescription(
        u"Read attributes from a DLMS/COSEM meter.\n\n"
        "ITEM is [CLASS/]OBIS[:ATTR]: OBIS as 1.0.32.7.0.255, 1-0:32.7.0*255 or 1-0:32.7.0; ATTR\n"
        "defaults to 2; CLASS comes from the well-known table or the meter's object list.\n"
        "Registers (class 3, 4) are printed scaled with their unit. A Profile Generic buffer\n"
        "(class 7, attribute 2) is printed as CSV (one profile item per command).\n\n"_s
        + exitCodesHelp());
    parser.addHelpOption();
    addConnectionOptions(parser);
    parser.addOptions({
        {u"from"_s, u"Profile: first capture time (ISO 8601; no offset = UTC)."_s, u"T"_s},
        {u"to"_s, u"Profile: last capture time (ISO 8601; no offset = UTC)."_s, u"T"_s},
        {u"from-entry"_s, u"Profile: first entry (1-based)."_s, u"N"_s},
        {u"to-entry"_s, u"Profile: last entry (0 = the last one)."_s, u"M"_s},
    });
    parser.addPositionalArgument(u"ITEM"_s, u"Attribute to read: [CLASS/]OBIS[:ATTR]."_s, u"ITEM..."_s);
    if (const auto done = parseVerbArguments(parser, arguments, u"read"_s, true))
        return *done;
    const auto options = connectionOptions(parser);
    if (!options) {
        err << "dlmsctl: " << options.error().message << '\n';
        return 2;
    }
    const auto selection = profileSelection(parser);
    if (!selection) {
        err << "dlmsctl: " << selection.error().message << '\n';
        return 2;
    }
    const QStringList positional = parser.positionalArguments();
    if (positional.isEmpty()) {
        err << "dlmsctl: give at least one ITEM to read, e.g. 1.0.32.7.0.255\n";
        return 2;
    }

    std::vector<Item> items;
    for (const QString &text : positional) {
        auto spec = parseReadItem(text);
        if (!spec) {
            err << "dlmsctl: " << spec.error().message << '\n';
            return 2;
        }
        Item item;
        item.spec = std::move(*spec);
        item.classId = item.spec.classId;
        if (!item.classId) {
            if (const dlms::WellKnownObject *known = dlms::findWellKnown(item.spec.obis))
                item.classId = known->classId;
        }
        items.push_back(std::move(item));
    }
    auto countProfiles = [&] {
        return std::count_if(items.begin(), items.end(), [](const Item &i) {
            return i.classId == quint16(dlms::InterfaceClass::ProfileGeneric) && i.spec.attribute == 2;
        });
    };
    // Text output of a profile is CSV: anything else on stdout would break the CSV.
    const bool selects = selection->range || selection->entries;
    auto profileUsage = [&]() -> QString {
        const auto profiles = countProfiles();
        if (profiles > 1)
            return u"only one profile buffer (class 7, attribute 2) per command"_s;
        // Items of unknown class might still be the profile until the object list says.
        if (profiles == 0 && selects
            && std::all_of(items.begin(), items.end(), [](const Item &i) { return i.classId || i.error; }))
            return u"--from/--to and --from-entry/--to-entry select profile entries: give a profile "
                   "buffer item (class 7, attribute 2)"_s;
        if (profiles == 1 && items.size() > 1 && !options->json)
            return u"a profile buffer prints as CSV: read it on its own, or use --json"_s;
        return {};
    };
    if (const QString problem = profileUsage(); !problem.isEmpty()) {
        err << "dlmsctl: " << problem << '\n';
        return 2;
    }

    MeterClient client(*options, err);
    if (!client.open())
        return client.reportFailure();

    // Classes the table does not know come from the meter's object list, read once.
    if (std::any_of(items.begin(), items.end(), [](const Item &i) { return !i.classId; })) {
        const auto list = fetch(
            client, {{{quint16(dlms::InterfaceClass::AssociationLN), kCurrentAssociation, 2}, std::nullopt}});
        if (!list)
            return client.reportFailure();
        const Outcome &listRead = list->front();
        QHash<dlms::Obis, quint16> classes;
        if (listRead.ok) {
            for (const ObjectListEntry &entry : parseObjectList(listRead.value).entries)
                classes.insert(entry.obis, entry.classId);
        }
        for (Item &item : items) {
            if (item.classId)
                continue;
            if (const auto it = classes.constFind(item.spec.obis); it != classes.constEnd())
                item.classId = *it;
            else if (!listRead.ok) // the class is unknown because the list could not be read
                item.error = u"object list: "_s + listRead.error;
            else
                item.error = dlms::dataAccessResultName(quint8(dlms::DataAccessResult::ObjectUndefined));
        }
        if (const QString problem = profileUsage(); !problem.isEmpty()) {
            client.close();
            err << "dlmsctl: " << problem << '\n';
            client.printStats();
            return 2;
        }
    }

    // Every plain attribute (with the scaler_unit of registers) and the profile's capture
    // objects go in the first round.
    std::vector<dlms::AttributeRequest> requests;
    Item *profile = nullptr;
    size_t captureSlot = 0;
    for (Item &item : items) {
        if (item.error)
            continue;
        item.profile
            = *item.classId == quint16(dlms::InterfaceClass::ProfileGeneric) && item.spec.attribute == 2;
        if (item.profile) {
            profile = &item;
            captureSlot = requests.size();
            requests.push_back({{*item.classId, item.spec.obis, 3}, std::nullopt});
            continue;
        }
        item.valueSlot = requests.size();
        requests.push_back({{*item.classId, item.spec.obis, item.spec.attribute}, std::nullopt});
        if (item.isRegister()) {
            item.scalerSlot = requests.size();
            requests.push_back({{*item.classId, item.spec.obis, 3}, std::nullopt});
        }
    }
    auto outcomes = fetch(client, requests);
    if (!outcomes)
        return client.reportFailure();
    for (Item &item : items) {
        if (item.error || item.profile)
            continue;
        Outcome &value = (*outcomes)[item.valueSlot];
        if (!value.ok) {
            item.error = value.error;
            continue;
        }
        item.value = std::move(value.value);
        if (item.isRegister()) {
            const Outcome &scaler = (*outcomes)[item.scalerSlot];
            if (!scaler.ok) {
                item.error = u"scaler_unit: "_s + scaler.error;
                continue;
            }
            const auto su = dlms::ScalerUnit::fromValue(scaler.value);
            if (!su) {
                item.error = u"scaler_unit: "_s + su.error().message;
                continue;
            }
            item.scalerUnit = *su;
        }
    }
    if (profile && !readProfile(client, *profile, (*outcomes)[captureSlot], *selection))
        return client.reportFailure();

    client.close();

    if (options->json) {
        QJsonArray array;
        for (const Item &item : items)
            array.append(itemJson(item));
        const QJsonObject document {{u"host"_s, options->connection.host},
            {u"port"_s, int(options->connection.port)}, {u"items"_s, array}};
        out << QJsonDocument(document).toJson(QJsonDocument::Compact) << '\n';
    } else {
        printText(out, items);
    }
    out.flush();

    int failures = 0;
    for (const Item &item : items) {
        if (item.error) {
            ++failures;
            err << "dlmsctl: " << item.spec.label() << ": " << *item.error << '\n';
        }
    }
    err.flush();
    client.printStats();
    return failures ? 5 : 0;
}
