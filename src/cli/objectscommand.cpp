#include "objectscommand.h"

#include "connectionoptions.h"
#include "meterclient.h"
#include <objectlist.h>

#include <QtCore/QCommandLineParser>
#include <QtCore/QJsonArray>
#include <QtCore/QJsonDocument>
#include <QtCore/QJsonObject>
#include <QtCore/QTextStream>

#include <cstdio>

using namespace Qt::StringLiterals;

namespace {

void printText(QTextStream &out, const ObjectList &list)
{
    for (const ObjectListEntry &entry : list.entries) {
        QStringList attributes;
        for (const auto &a : entry.attributes)
            attributes << QString::number(a.id) + u':' + accessLetters(a.access);
        QStringList methods;
        for (const auto &m : entry.methods)
            methods << QString::number(m.id) + (m.allowed ? u":x"_s : u":-"_s);
        out << entry.classId << "  " << entry.version << "  " << entry.obis.toString() << "  "
            << objectName(entry.obis, entry.classId) << "  "
            << (attributes.isEmpty() ? u"-"_s : attributes.join(u' ')) << "  "
            << (methods.isEmpty() ? u"-"_s : methods.join(u' ')) << '\n';
    }
}

QJsonDocument toJson(const ObjectList &list)
{
    QJsonArray objects;
    for (const ObjectListEntry &entry : list.entries) {
        QJsonArray attributes;
        for (const auto &a : entry.attributes)
            attributes.append(QJsonObject {{u"id"_s, a.id}, {u"access"_s, accessName(a.access)}});
        QJsonArray methods;
        for (const auto &m : entry.methods)
            methods.append(QJsonObject {{u"id"_s, m.id}, {u"access"_s, m.allowed}});
        objects.append(QJsonObject {{u"class"_s, int(entry.classId)},
            {u"class_name"_s, dlms::interfaceClassName(entry.classId)}, {u"version"_s, int(entry.version)},
            {u"obis"_s, entry.obis.toString()}, {u"name"_s, objectName(entry.obis, entry.classId)},
            {u"attributes"_s, attributes}, {u"methods"_s, methods}});
    }
    return QJsonDocument(QJsonObject {{u"objects"_s, objects}});
}

} // namespace

int runObjectsCommand(const QStringList &arguments)
{
    QTextStream out(stdout);
    QTextStream err(stderr);
    QCommandLineParser parser;
    parser.setApplicationDescription(
        u"List the meter's objects (Association LN 0.0.40.0.0.255, attribute 2: object_list) with\n"
        "the access rights of this association: attributes R / W / RW / -, methods x (allowed) or -.\n\n"_s
        + exitCodesHelp());
    parser.addHelpOption();
    addConnectionOptions(parser);
    if (const auto done = parseVerbArguments(parser, arguments, u"objects"_s, false))
        return *done;
    const auto options = connectionOptions(parser);
    if (!options) {
        err << "dlmsctl: " << options.error().message << '\n';
        return 2;
    }

    MeterClient client(*options, err);
    if (!client.open())
        return client.reportFailure();
    const auto id
        = client.get({quint16(dlms::InterfaceClass::AssociationLN), dlms::Obis(0, 0, 40, 0, 0, 255), 2});
    if (!client.wait({id}))
        return client.reportFailure();
    MeterClient::Response response = client.takeResponse(id);
    client.close();

    QString failure;
    if (response.error)
        failure = response.error->message;
    else if (response.results.size() != 1)
        failure = u"no result in the response"_s;
    else if (!response.results[0].ok())
        failure = dlms::dataAccessResultName(quint8(response.results[0].result));
    if (!failure.isEmpty()) {
        err << "dlmsctl: 0.0.40.0.0.255:2 (object list): " << failure << '\n';
        err.flush();
        client.printStats();
        return 5;
    }

    const ObjectList list = parseObjectList(response.results[0].value);
    if (options->json)
        out << toJson(list).toJson(QJsonDocument::Compact) << '\n';
    else
        printText(out, list);
    out.flush();
    int status = 0;
    if (list.malformed > 0) {
        err << "dlmsctl: " << list.malformed << " object list entries were malformed and skipped\n";
        status = 5;
    }
    err.flush();
    client.printStats();
    return status;
}
