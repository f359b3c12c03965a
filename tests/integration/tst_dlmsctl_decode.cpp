#include "clitestsupport.h"

#include "acse.h"
#include "hdlc.h"
#include "security.h"
#include "wrapper.h"

#include <QtCore/QJsonDocument>
#include <QtCore/QJsonObject>
#include <QtCore/QProcess>
#include <QtCore/QScopeGuard>
#include <QtCore/QTemporaryFile>
#include <QtTest/QtTest>

using namespace Qt::StringLiterals;

namespace {

// Nothing in-process needs the event loop here, but one runner serves every dlmsctl test.
clitest::CliRun dlmsctl(const QStringList &args, const QByteArray &stdinData = {})
{
    return clitest::runCli(args, 30000, stdinData);
}

using clitest::writeTemp;

// The Green Book example keys; titles of a client and a meter.
const QByteArray kEk = QByteArray::fromHex("000102030405060708090A0B0C0D0E0F");
const QByteArray kAk = QByteArray::fromHex("D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF");
const QByteArray kClientTitle = QByteArray::fromHex("4D4D4D0000000001");
const QByteArray kServerTitle = QByteArray::fromHex("4D4D4D0000BC614E");
// GET-Request-Normal of Voltage L1 (class 3, 1.0.32.7.0.255, attribute 2), and its answer
// long-unsigned 2314.
const QByteArray kPlainGet = QByteArray::fromHex("C001C100030100200700FF0200");
const QByteArray kPlainGetResponse = QByteArray::fromHex("C401C10012090A");

// One wrapper frame as a recording line: '>' client to meter, '<' meter to client.
QByteArray recordingLine(bool sent, const QByteArray &apdu)
{
    QByteArray wire;
    if (!dlms::wrapper::encode(sent ? 16 : 1, sent ? 1 : 16, apdu, wire))
        return {};
    return (sent ? "> " : "< ") + wire.toHex(' ') + '\n';
}

// A ciphered exchange as a meter and client would produce it (auth-enc, HLS-GMAC): the AARQ
// with a glo-initiate-request, the AARE with a glo-initiate-response, one glo-get-request and
// its glo-get-response. With `withAssociation` false only the two data APDUs: the titles must
// then come from the options.
// `plain` as the glo- APDU its sender (`title`) sends under auth-enc; empty when it cannot.
QByteArray ciphered(const QByteArray &title, quint32 invocationCounter, const QByteArray &plain)
{
    constexpr quint8 control = dlms::security::ControlAuthenticated | dlms::security::ControlEncrypted;
    const auto apdu
        = dlms::security::encodeServiceCiphered(false, control, title, invocationCounter, kEk, kAk, plain);
    return apdu ? *apdu : QByteArray();
}

QByteArray cipheredRecording(bool withAssociation)
{
    QByteArray recording = "# a ciphered read, recorded\n";
    if (withAssociation) {
        QByteArray initiate;
        dlms::encode(dlms::InitiateRequest {}, initiate);
        dlms::Aarq aarq;
        aarq.ciphered = true;
        aarq.authentication = dlms::Authentication::HighGmac;
        aarq.authenticationValue = QByteArray("K56iVagY");
        aarq.callingApTitle = kClientTitle;
        aarq.cipheredInitiate = ciphered(kClientTitle, 41, initiate);
        QByteArray aarqBytes;
        dlms::encode(aarq, aarqBytes);
        recording += recordingLine(true, aarqBytes);

        dlms::InitiateResponse response;
        response.negotiatedConformance = 0x1C1F;
        response.serverMaxReceivePduSize = 1024;
        QByteArray initiateResponse;
        dlms::encode(response, initiateResponse);
        dlms::Aare aare;
        aare.ciphered = true;
        aare.authentication = dlms::Authentication::HighGmac;
        aare.respondingApTitle = kServerTitle;
        aare.respondingAuthenticationValue = QByteArray("P6wRJ21F");
        aare.cipheredInitiate = ciphered(kServerTitle, 700, initiateResponse);
        QByteArray aareBytes;
        dlms::encode(aare, aareBytes);
        recording += recordingLine(false, aareBytes);
    }
    recording += recordingLine(true, ciphered(kClientTitle, 42, kPlainGet));
    recording += recordingLine(false, ciphered(kServerTitle, 701, kPlainGetResponse));
    return recording;
}

// Every spelling of a key a program could print.
bool containsKey(const QString &text, const QByteArray &key)
{
    return text.contains(QString::fromLatin1(key.toHex()), Qt::CaseInsensitive)
        || text.contains(QString::fromLatin1(key.toHex(' ')), Qt::CaseInsensitive);
}

} // namespace

class tst_DlmsctlDecode : public QObject {
    Q_OBJECT

private slots:
    void demoDecodesBothRecordings()
    {
        const clitest::CliRun r = dlmsctl({u"decode"_s, u"--demo"_s});
        QVERIFY2(r.exitCode == 0, qPrintable(r.out + r.err));
        for (const auto &expected : {u"recorded hdlc-session.txt"_s, u"recorded wrapper-session.txt"_s,
                 u"HDLC SNRM"_s, u"HDLC UA"_s, u"AARQ"_s, u"AARE"_s, u"GET-Request"_s, u"GET-Response"_s,
                 u"RLRQ"_s, u"RLRE"_s, u"client → meter"_s,
                 // annotations: names, scaler applied, octet-string clock
                 u"(Voltage L1, instantaneous) = long-unsigned 2314"_s,
                 u"= double-long-unsigned 1234567 → 123456.7 Wh"_s, u"scaler 10^-1, unit Wh"_s,
                 u"→ 2024-01-15T10:30:45.00+01:00"_s})
            QVERIFY2(r.out.contains(expected), qPrintable(expected + u" missing from:\n"_s + r.out));
        QVERIFY2(!r.out.contains(u"error:"_s), qPrintable(r.out));
    }

    void jsonLinesParse()
    {
        const clitest::CliRun r = dlmsctl({u"decode"_s, u"--demo"_s, u"--json"_s});
        QCOMPARE(r.exitCode, 0);
        const QStringList lines = r.out.split(u'\n', Qt::SkipEmptyParts);
        QVERIFY(lines.size() >= 10);
        for (const QString &line : lines) {
            QJsonParseError error;
            const QJsonDocument doc = QJsonDocument::fromJson(line.toUtf8(), &error);
            QVERIFY2(error.error == QJsonParseError::NoError, qPrintable(line));
            QVERIFY(doc.object().contains(u"summary"_s));
            QVERIFY(doc.object().value(u"size"_s).toInt() > 0);
        }
    }

    void badInputLineIsAUsageError()
    {
        QTemporaryFile file;
        const QString name = writeTemp(file, "# comment\n> 7EA0070321930F017E\nthis is not hex\n");
        const clitest::CliRun r = dlmsctl({u"decode"_s, name});
        QCOMPARE(r.exitCode, 2);
        QVERIFY2(r.err.contains(u":3:"_s), qPrintable(r.err));
    }

    void corruptFrameExitsFive()
    {
        QTemporaryFile file;
        // The SNRM with its FCS's last byte changed.
        const QString name = writeTemp(file, "> 7EA0070321930F027E\n");
        const clitest::CliRun r = dlmsctl({u"decode"_s, name});
        QCOMPARE(r.exitCode, 5);
        QVERIFY2(r.out.contains(u"error:"_s), qPrintable(r.out));
    }

    void missingFileAndUnknownCommand()
    {
        QCOMPARE(dlmsctl({u"decode"_s, u"/nonexistent/capture.txt"_s}).exitCode, 2);
        QCOMPARE(dlmsctl({u"frobnicate"_s}).exitCode, 2);
        QCOMPARE(dlmsctl({u"decode"_s}).exitCode, 2);
        QCOMPARE(dlmsctl({u"decode"_s, u"--transport"_s, u"serial"_s, u"--demo"_s}).exitCode, 2);
        const clitest::CliRun help = dlmsctl({u"decode"_s, u"--help"_s});
        QCOMPARE(help.exitCode, 0);
        for (const QString &option : {u"--json"_s, u"--ek"_s, u"--ak"_s, u"--system-title"_s})
            QVERIFY2(help.out.contains(option), qPrintable(option));
        QVERIFY2(help.out.startsWith(u"Usage: dlmsctl decode "_s), qPrintable(help.out));
    }

    // A recorded ciphered exchange deciphered offline with the keys of the shared security
    // options (given as env: and file: references, or literally).
    void decipheredExchange_data()
    {
        QTest::addColumn<bool>("withAssociation");
        QTest::addColumn<QStringList>("options");
        QTest::addColumn<int>("exitCode");
        QTest::addColumn<QStringList>("expected"); // in stdout (stderr for exit code 2)
        QTest::addColumn<QStringList>("absent");

        const QStringList keys {u"--ek"_s, u"env:DLMSBRIDGE_TST_EK"_s, u"--ak"_s, u"file:@AK@"_s};
        QTest::newRow("without-keys")
            << true << QStringList {} << 0
            << QStringList {u"glo-get-request SC 0x30 IC 42"_s, u"glo-get-response SC 0x30 IC 701"_s}
            << QStringList {u"decrypted"_s};
        QTest::newRow("keys-by-reference")
            << true << keys << 0
            << QStringList {u"decrypted: InitiateRequest"_s, u"decrypted: InitiateResponse"_s,
                   u"decrypted: GET-Request"_s, u"decrypted: GET-Response"_s, u"long-unsigned 2314"_s}
            << QStringList {u"cannot decipher"_s};
        QTest::newRow("json") << true << (keys + QStringList {u"--json"_s}) << 0
                              << QStringList {u"\"decrypted\":true"_s} << QStringList {u"cannot decipher"_s};
        QTest::newRow("titles-from-options-no-aare")
            << false << (keys + QStringList {u"--system-title"_s, u"4D4D4D0000000001"_s}) << 0
            << QStringList {u"decrypted: GET-Request"_s, u"the server's system title is not known"_s}
            << QStringList {u"decrypted: GET-Response"_s};
        QTest::newRow("wrong-ek") << true
                                  << QStringList {u"--ek"_s, u"F0E1D2C3B4A5968778695A4B3C2D1E0F"_s, u"--ak"_s,
                                         u"file:@AK@"_s}
                                  << 5 << QStringList {u"cannot decipher"_s}
                                  << QStringList {u"decrypted: GET-Response"_s};
        QTest::newRow("ak-without-ek")
            << true << QStringList {u"--ak"_s, u"file:@AK@"_s} << 2
            << QStringList {u"--ak and --system-title need --ek"_s} << QStringList {};
        QTest::newRow("short-ek") << true << QStringList {u"--ek"_s, u"C0FFEE"_s} << 2
                                  << QStringList {u"--ek: the key must be 16 bytes"_s} << QStringList {};
    }

    void decipheredExchange()
    {
        QFETCH(bool, withAssociation);
        QFETCH(QStringList, options);
        QFETCH(int, exitCode);
        QFETCH(QStringList, expected);
        QFETCH(QStringList, absent);
        QTemporaryFile akFile;
        const QString akPath = writeTemp(akFile, kAk.toHex() + '\n');
        QVERIFY(!akPath.isEmpty());
        options.replaceInStrings(u"@AK@"_s, akPath);
        QTemporaryFile recordingFile;
        const QString recording = writeTemp(recordingFile, cipheredRecording(withAssociation));
        QVERIFY(!recording.isEmpty());
        qputenv("DLMSBRIDGE_TST_EK", kEk.toHex());
        const auto unset = qScopeGuard([] { qunsetenv("DLMSBRIDGE_TST_EK"); });

        const clitest::CliRun r = dlmsctl(QStringList {u"decode"_s, recording} + options);
        QVERIFY2(r.exitCode == exitCode, qPrintable(r.out + r.err));
        const QString shown = exitCode == 2 ? r.err : r.out;
        for (const QString &text : std::as_const(expected))
            QVERIFY2(shown.contains(text), qPrintable(text + u" missing from:\n"_s + r.out + r.err));
        for (const QString &text : std::as_const(absent))
            QVERIFY2(!shown.contains(text), qPrintable(text + u" shown in:\n"_s + r.out + r.err));
        for (const QByteArray &key : {kEk, kAk})
            QVERIFY2(!containsKey(r.out + r.err, key), qPrintable(r.out + r.err));
    }

    void passwordNeverPrinted_data()
    {
        QTest::addColumn<bool>("hdlc");
        QTest::newRow("wrapper") << false;
        QTest::newRow("hdlc") << true;
    }

    void passwordNeverPrinted()
    {
        QFETCH(bool, hdlc);
        const QByteArray password = "Pa55w0rdXYZ"_ba;
        dlms::Aarq aarq;
        aarq.authentication = dlms::Authentication::Low;
        aarq.authenticationValue = password;
        QByteArray apdu;
        dlms::encode(aarq, apdu);
        QByteArray wire;
        if (hdlc) {
            dlms::hdlc::Frame frame;
            frame.destination = dlms::hdlc::Address::server(1, 0);
            frame.source = dlms::hdlc::Address::client(16);
            frame.control = dlms::hdlc::control::i(0, 0, true);
            frame.info = QByteArray(dlms::hdlc::LlcRequest, 3) + apdu;
            QVERIFY(dlms::hdlc::encode(frame, wire));
        } else {
            QVERIFY(dlms::wrapper::encode(16, 1, apdu, wire));
        }
        const QByteArray recording = "> " + wire.toHex(' ') + '\n';
        for (const QStringList &extra : {QStringList {}, QStringList {u"--json"_s}}) {
            const clitest::CliRun r = dlmsctl(QStringList {u"decode"_s, u"-"_s} + extra, recording);
            QVERIFY2(r.exitCode == 0, qPrintable(r.out + r.err));
            QVERIFY(r.out.contains(u"AARQ"_s));
            const QString all = r.out + r.err;
            QVERIFY2(!all.contains(QString::fromLatin1(password)), qPrintable(all));
            QVERIFY2(!all.contains(QString::fromLatin1(password.toHex(' ')), Qt::CaseInsensitive),
                qPrintable(all));
            QVERIFY2(
                !all.contains(QString::fromLatin1(password.toHex()), Qt::CaseInsensitive), qPrintable(all));
        }
    }
};

QTEST_GUILESS_MAIN(tst_DlmsctlDecode)
#include "tst_dlmsctl_decode.moc"
