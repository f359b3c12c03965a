#include "clitestsupport.h"

#include "acse.h"
#include "hdlc.h"
#include "wrapper.h"

#include <QtCore/QJsonDocument>
#include <QtCore/QJsonObject>
#include <QtCore/QProcess>
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
        QVERIFY(help.out.contains(u"--json"_s));
        QVERIFY2(help.out.startsWith(u"Usage: dlmsctl decode "_s), qPrintable(help.out));
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
