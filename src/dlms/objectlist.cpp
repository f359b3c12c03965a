#include "objectlist.h"

using namespace Qt::StringLiterals;

namespace {

std::optional<qint64> integer(const dlms::Value &value)
{
    return value.toInt64();
}

} // namespace

QString objectName(const dlms::Obis &obis, std::optional<quint16> classId)
{
    const dlms::WellKnownObject *known = dlms::findWellKnown(obis);
    if (known && (!classId || *classId == known->classId))
        return QString::fromLatin1(known->name);
    return classId ? dlms::interfaceClassName(*classId) : QString();
}

ObjectList parseObjectList(const dlms::Value &value)
{
    ObjectList list;
    if (value.type() != dlms::DataType::Array) {
        list.malformed = 1;
        return list;
    }
    list.entries.reserve(value.items().size());
    for (const dlms::Value &item : value.items()) {
        const dlms::ValueList &fields = item.items();
        if (item.type() != dlms::DataType::Structure || fields.size() < 3) {
            ++list.malformed;
            continue;
        }
        const auto classId = integer(fields[0]);
        const auto version = integer(fields[1]);
        const auto obis = dlms::Obis::fromBytes(fields[2].bytes());
        if (!classId || *classId < 0 || *classId > 0xFFFF || !version || *version < 0 || *version > 0xFF
            || fields[2].type() != dlms::DataType::OctetString || !obis) {
            ++list.malformed;
            continue;
        }
        ObjectListEntry entry;
        entry.classId = quint16(*classId);
        entry.version = quint8(*version);
        entry.obis = *obis;
        if (fields.size() >= 4 && fields[3].type() == dlms::DataType::Structure) {
            const dlms::ValueList &rights = fields[3].items();
            if (!rights.empty()) {
                for (const dlms::Value &a : rights[0].items()) {
                    if (a.items().size() < 2)
                        continue;
                    const auto id = integer(a.items()[0]);
                    const auto mode = integer(a.items()[1]);
                    if (id && mode)
                        entry.attributes.push_back({int(*id), int(*mode)});
                }
            }
            if (rights.size() >= 2) {
                for (const dlms::Value &m : rights[1].items()) {
                    if (m.items().size() < 2)
                        continue;
                    const auto id = integer(m.items()[0]);
                    // Version 0 of the class says boolean, later versions an enum (0 = no access).
                    const auto mode = m.items()[1].type() == dlms::DataType::Boolean
                        ? std::optional<qint64>(m.items()[1].toBool().value_or(false) ? 1 : 0)
                        : integer(m.items()[1]);
                    if (id && mode)
                        entry.methods.push_back({int(*id), *mode != 0});
                }
            }
        }
        list.entries.push_back(std::move(entry));
    }
    return list;
}

QString accessLetters(int access)
{
    switch (access) {
    case 1:
    case 4:
        return u"R"_s;
    case 2:
    case 5:
        return u"W"_s;
    case 3:
    case 6:
        return u"RW"_s;
    default:
        return u"-"_s;
    }
}

QString accessName(int access)
{
    switch (access) {
    case 0:
        return u"none"_s;
    case 1:
        return u"read"_s;
    case 2:
        return u"write"_s;
    case 3:
        return u"read-write"_s;
    case 4:
        return u"authenticated-read"_s;
    case 5:
        return u"authenticated-write"_s;
    case 6:
        return u"authenticated-read-write"_s;
    default:
        return u"access-mode-%1"_s.arg(access);
    }
}
