#include "decodecommand.h"

#include "connectionoptions.h"

#include "tracedecoder.h"

#include <QtCore/QCommandLineParser>
#include <QtCore/QFile>
#include <QtCore/QJsonArray>
#include <QtCore/QJsonDocument>
#include <QtCore/QJsonObject>
#include <QtCore/QRegularExpression>
#include <QtCore/QScopeGuard>
#include <QtCore/QTextStream>

#include <cstdio>
#include <map>

using namespace Qt::StringLiterals;

namespace {

struct Totals {
    int frames[2] = {0, 0};
    qint64 bytes[2] = {0, 0};
    int errors = 0;
};

// One recording line: "> HEX" (client to meter) or "< HEX" (meter to client); '#' comments.
struct RecordedLine {
    dlms::Direction direction;
    QByteArray bytes;
};

bool parseRecording(const QString &name, QIODevice &in, std::vector<RecordedLine> &out, QString &error)
{
    static const QRegularExpression hexOnly(u"^[0-9A-Fa-f\\s:]*$"_s);
    int lineNo = 0;
    while (!in.atEnd()) {
        const QString line = QString::fromUtf8(in.readLine()).trimmed();
        ++lineNo;
        if (line.isEmpty() || line.startsWith(u'#'))
            continue;
        const QChar marker = line.front();
        const QString hex = line.mid(1);
        if ((marker != u'>' && marker != u'<') || !hexOnly.match(hex).hasMatch()) {
            error = u"%1:%2: expected '>' (client to meter) or '<' (meter to client) followed by hex bytes"_s
                        .arg(name)
                        .arg(lineNo);
            return false;
        }
        QByteArray digits = hex.toLatin1();
        digits.replace(' ', QByteArray()).replace('\t', QByteArray()).replace(':', QByteArray());
        if (digits.size() % 2 != 0) {
            error = u"%1:%2: odd number of hex digits"_s.arg(name).arg(lineNo);
            return false;
        }
        out.push_back({marker == u'>' ? dlms::Direction::Sent : dlms::Direction::Received,
            QByteArray::fromHex(digits)});
    }
    return true;
}

void printText(QTextStream &out, const dlms::TraceDecoder::Line &line, int index)
{
    const bool sent = line.direction == dlms::Direction::Sent;
    out << qSetFieldWidth(4) << Qt::right << index << qSetFieldWidth(0) << (sent ? "  > " : "  < ")
        << qSetFieldWidth(5) << line.size << qSetFieldWidth(0) << " B  " << line.summary << '\n';
    if (!line.hex.isEmpty())
        out << "              " << line.hex << '\n';
    for (const QString &detail : line.details)
        out << "              " << detail << '\n';
}

QJsonObject toJson(const dlms::TraceDecoder::Line &line, int index)
{
    QJsonObject o {{u"index"_s, index},
        {u"direction"_s, line.direction == dlms::Direction::Sent ? u"sent"_s : u"received"_s},
        {u"size"_s, line.size}, {u"hex"_s, line.hex}, {u"summary"_s, line.summary},
        {u"error"_s, line.isError}};
    if (line.decrypted)
        o.insert(u"decrypted"_s, true);
    if (!line.details.isEmpty())
        o.insert(u"details"_s, QJsonArray::fromStringList(line.details));
    return o;
}

int decodeOne(const QString &name, QIODevice &in, std::optional<dlms::Transport> transport,
    const dlms::SecuritySettings &security, bool json, QTextStream &out, QTextStream &err)
{
    std::vector<RecordedLine> recorded;
    QString error;
    if (!parseRecording(name, in, recorded, error)) {
        err << "dlmsctl decode: " << error << '\n';
        return 2;
    }
    dlms::TraceDecoder decoder(transport);
    if (!security.blockCipherKey.isEmpty())
        decoder.setSecurity(security);
    Totals totals;
    std::map<QString, int> apdus;
    int index = 0;
    if (!json)
        out << "== " << name << '\n';
    for (const RecordedLine &rec : recorded) {
        for (const auto &line : decoder.feed(rec.direction, rec.bytes)) {
            ++index;
            const int side = line.direction == dlms::Direction::Sent ? 0 : 1;
            if (line.isError) {
                ++totals.errors;
            } else {
                ++totals.frames[side];
                totals.bytes[side] += line.size;
            }
            if (json)
                out << QJsonDocument(toJson(line, index)).toJson(QJsonDocument::Compact) << '\n';
            else
                printText(out, line, index);
        }
    }
    if (!json) {
        out << "   client → meter: " << totals.frames[0] << " frames, " << totals.bytes[0] << " bytes\n"
            << "   meter → client: " << totals.frames[1] << " frames, " << totals.bytes[1] << " bytes\n";
        if (totals.errors)
            out << "   " << totals.errors << " frame(s) could not be decoded\n";
        out << '\n';
    }
    return totals.errors ? 5 : 0;
}

} // namespace

int runDecodeCommand(const QStringList &arguments)
{
    QTextStream out(stdout);
    QTextStream err(stderr);
    QCommandLineParser parser;
    parser.setApplicationDescription(
        u"Decode a recorded DLMS/COSEM exchange frame by frame.\n\n"
        "Each input line is '> HEX' (client to meter) or '< HEX' (meter to client); blank lines and\n"
        "lines starting with '#' are ignored. Use '-' to read standard input.\n\n"
        "Ciphered APDUs (suite 0) are deciphered when --ek is given (and --ak for authenticated\n"
        "ones), marked 'decrypted'; the client's system title comes from the recorded AARQ, else\n"
        "--system-title, the meter's from the recorded AARE.\n\n"
        "Exit codes: 0 every frame decoded, 2 usage or input error, 5 some frames undecodable\n"
        "(including ciphered APDUs that do not decipher with the keys given)."_s);
    parser.addHelpOption();
    const QCommandLineOption demo(u"demo"_s, u"Decode the embedded recorded sessions (HDLC and wrapper)."_s);
    const QCommandLineOption transportOpt(
        u"transport"_s, u"Framing: auto (default), hdlc or wrapper."_s, u"name"_s, u"auto"_s);
    const QCommandLineOption jsonOpt(u"json"_s, u"One JSON object per frame."_s);
    parser.addOptions({demo, transportOpt, jsonOpt});
    addKeyOptions(parser);
    parser.addPositionalArgument(
        u"file"_s, u"Recording to decode ('-' for standard input)."_s, u"[file...]"_s);
    if (!parser.parse(arguments)) {
        err << "dlmsctl decode: " << parser.errorText() << '\n';
        return 2;
    }
    if (parser.isSet(u"help"_s)) {
        out << verbHelpText(parser, u"decode"_s);
        return 0;
    }

    std::optional<dlms::Transport> transport;
    const QString t = parser.value(transportOpt);
    if (t == u"hdlc")
        transport = dlms::Transport::Hdlc;
    else if (t == u"wrapper")
        transport = dlms::Transport::Wrapper;
    else if (t != u"auto") {
        err << "dlmsctl decode: --transport must be auto, hdlc or wrapper (got '" << t << "')\n";
        return 2;
    }

    auto keys = securityOverrides(parser);
    if (!keys) {
        err << "dlmsctl decode: " << keys.error().message << '\n';
        return 2;
    }
    if (!keys->blockCipherKey && (keys->authenticationKey || keys->systemTitle)) {
        err << "dlmsctl decode: --ak and --system-title need --ek (the key that deciphers)\n";
        return 2;
    }
    dlms::SecuritySettings security;
    security.systemTitle = keys->systemTitle.value_or(QByteArray());
    // Moved, not copied: the one copy of each key this command holds, zeroed at the end.
    security.blockCipherKey = std::move(keys->blockCipherKey).value_or(QByteArray());
    security.authenticationKey = std::move(keys->authenticationKey).value_or(QByteArray());
    keys->blockCipherKey.reset();
    keys->authenticationKey.reset();
    const auto wipeKeys = qScopeGuard([&security] {
        for (QByteArray *key : {&security.blockCipherKey, &security.authenticationKey}) {
            if (key->isDetached())
                key->fill('\0');
        }
    });

    QStringList files = parser.positionalArguments();
    if (parser.isSet(demo))
        files = {u":/recordings/hdlc-session.txt"_s, u":/recordings/wrapper-session.txt"_s};
    if (files.isEmpty()) {
        err << "dlmsctl decode: give a recording file, '-' for standard input, or --demo\n";
        return 2;
    }

    int status = 0;
    const bool json = parser.isSet(jsonOpt);
    for (const QString &name : std::as_const(files)) {
        QFile file;
        bool opened = false;
        if (name == u"-") {
            opened = file.open(stdin, QIODevice::ReadOnly);
        } else {
            file.setFileName(name);
            opened = file.open(QIODevice::ReadOnly);
        }
        if (!opened) {
            err << "dlmsctl decode: cannot open " << name << ": " << file.errorString() << '\n';
            return 2;
        }
        const QString shown = name.startsWith(u":/recordings/") ? u"recorded "_s + name.mid(13) : name;
        const int rc = decodeOne(shown, file, transport, security, json, out, err);
        if (rc == 2)
            return rc;
        status = std::max(status, rc);
    }
    return status;
}
