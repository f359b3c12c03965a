#pragma once

#include <obis.h>
#include <value.h>

#include <QtCore/QString>

#include <optional>
#include <vector>

// One entry of an Association LN object_list (IEC 62056-6-2, 4.4.3, attribute 2).
struct ObjectListEntry {
    struct Attribute {
        int id = 0;
        int access = 0; // 0 none, 1 read, 2 write, 3 read-write, 4..6 the authenticated forms
    };
    struct Method {
        int id = 0;
        bool allowed = false;
    };
    quint16 classId = 0;
    quint8 version = 0;
    dlms::Obis obis;
    std::vector<Attribute> attributes;
    std::vector<Method> methods;
};

struct ObjectList {
    std::vector<ObjectListEntry> entries;
    int malformed = 0; // entries skipped because they did not have the standard shape
};

// Never fails outright: entries that do not parse are counted and skipped.
ObjectList parseObjectList(const dlms::Value &value);

// How dlmsctl names an object: its well-known name when the class agrees with the table (or is
// not known), else the interface class name ("Register"); empty when neither is known.
QString objectName(const dlms::Obis &obis, std::optional<quint16> classId);

QString accessLetters(int access); // "R", "W", "RW", "-"
QString accessName(int access); // "read", "write", "read-write", "none", "authenticated-read", …
