// HLS-GMAC and suite 0 ciphering end to end: real `dlmsctl simulate` processes (wrapper and
// HDLC) and real `dlmsctl read` / `commission` processes, keys given as env: and file:
// references, the invocation counters in a temporary directory.

#include "clitestsupport.h"

#include <QtCore/QDir>
#include <QtCore/QFile>
#include <QtCore/QJsonArray>
#include <QtCore/QStandardPaths>
#include <QtCore/QTemporaryDir>
#include <QtTest/QtTest>

#include <memory>

using namespace Qt::StringLiterals;
using namespace clitest;

namespace {

// The simulator's documented default keys (sim::defaultSecurity: the Green Book example keys).
const QByteArray kEk = "000102030405060708090A0B0C0D0E0F";
const QByteArray kAk = "D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF";
const QByteArray kWrongKey = "F0E1D2C3B4A5968778695A4B3C2D1E0F";
const QString kTitle = u"4D4D4D0000000001"_s;
const QString kClock = u"0.0.1.0.0.255"_s;
const QString kVoltage = u"1.0.32.7.0.255"_s;

QByteArray readAll(const QString &path)
{
    QFile file(path);
    return file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray();
}

bool writeFile(const QString &path, const QByteArray &content)
{
    QFile file(path);
    return file.open(QIODevice::WriteOnly | QIODevice::Truncate) && file.write(content) == content.size();
}

// Every spelling of a key a program could print: hex in either case, packed or spaced.
bool containsKey(const QString &text, const QByteArray &hex)
{
    const QByteArray bytes = QByteArray::fromHex(hex);
    for (const QByteArray &form : {bytes.toHex(), bytes.toHex(' ')}) {
        if (text.contains(QString::fromLatin1(form), Qt::CaseInsensitive))
            return true;
    }
    return false;
}

// The counter files of a directory and the value each holds (the first one not yet reserved).
QHash<QString, quint64> counterFiles(const QString &directory)
{
    QHash<QString, quint64> files;
    const QStringList names = QDir(directory).entryList({u"*.ic"_s}, QDir::Files);
    for (const QString &name : names)
        files.insert(name, readAll(QDir(directory).filePath(name)).trimmed().toULongLong());
    return files;
}

} // namespace

class tst_DlmsctlSecurity : public QObject {
    Q_OBJECT

private:
    QTemporaryDir m_dir;
    std::unique_ptr<SimulateProcess> m_wrapper;
    std::unique_ptr<SimulateProcess> m_hdlc;
    QString m_akFile;

    SimulateProcess::Meter meterOf(const QString &transport)
    {
        SimulateProcess &simulate = transport == u"hdlc" ? *m_hdlc : *m_wrapper;
        const QList<SimulateProcess::Meter> meters = simulate.meters();
        return meters.isEmpty() ? SimulateProcess::Meter {} : meters.first();
    }

    // A read with HLS-GMAC (or `auth`) and `policy`, the EK from the environment, the AK from a
    // file. The meter keeps the last invocation counter it accepted per client system title:
    // tests that start a counter afresh use a title of their own.
    QStringList secureArgs(const QString &transport, const QString &policy,
        const QString &auth = u"hls-gmac"_s, const QString &title = kTitle)
    {
        const SimulateProcess::Meter meter = meterOf(transport);
        return QStringList {u"read"_s} + connectionArgs(meter.port, transport)
            + QStringList {u"--timeout-ms"_s, u"4000"_s, u"--auth"_s, auth, u"--security"_s, policy,
                u"--system-title"_s, title, u"--ek"_s, u"env:DLMSBRIDGE_TST_EK"_s, u"--ak"_s,
                u"file:"_s + m_akFile};
    }

private Q_SLOTS:
    void initTestCase()
    {
        QStandardPaths::setTestModeEnabled(true);
        QVERIFY(m_dir.isValid());
        QVERIFY(QFileInfo(dlmsctlPath()).isExecutable());
        // Inherited by every dlmsctl started here.
        qputenv("DLMSBRIDGE_COUNTER_DIR", QFile::encodeName(m_dir.filePath(u"counters"_s)));
        qputenv("DLMSBRIDGE_TST_EK", kEk.toLower());
        qputenv("DLMSBRIDGE_TST_WRONG", kWrongKey);
        m_akFile = m_dir.filePath(u"ak.hex"_s);
        QVERIFY(writeFile(m_akFile, kAk + "\n"));

        m_wrapper = std::make_unique<SimulateProcess>(
            QStringList {u"--port"_s, u"0"_s, u"--transport"_s, u"wrapper"_s, u"--rows"_s, u"10"_s});
        m_hdlc = std::make_unique<SimulateProcess>(
            QStringList {u"--port"_s, u"0"_s, u"--transport"_s, u"hdlc"_s, u"--rows"_s, u"10"_s});
        QVERIFY2(m_wrapper->waitReady(), qPrintable(m_wrapper->errorOutput()));
        QVERIFY2(m_hdlc->waitReady(), qPrintable(m_hdlc->errorOutput()));
        QVERIFY(meterOf(u"wrapper"_s).port != 0);
        QVERIFY(meterOf(u"hdlc"_s).port != 0);
    }

    void cleanupTestCase()
    {
        if (m_wrapper)
            QCOMPARE(m_wrapper->terminate(), 0);
        if (m_hdlc)
            QCOMPARE(m_hdlc->terminate(), 0);
        qunsetenv("DLMSBRIDGE_COUNTER_DIR");
    }

    void readsWithEachPolicy_data()
    {
        QTest::addColumn<QString>("transport");
        QTest::addColumn<QString>("auth");
        QTest::addColumn<QString>("policy");
        for (const QString &transport : {u"wrapper"_s, u"hdlc"_s}) {
            for (const QString &policy : {u"none"_s, u"auth"_s, u"enc"_s, u"auth-enc"_s})
                QTest::addRow("%s-hls-gmac-%s", qPrintable(transport), qPrintable(policy))
                    << transport << u"hls-gmac"_s << policy;
            // Ciphering without HLS: the keys serve the APDUs only.
            QTest::addRow("%s-no-auth-auth-enc", qPrintable(transport))
                << transport << u"none"_s << u"auth-enc"_s;
        }
    }
    void readsWithEachPolicy()
    {
        QFETCH(QString, transport);
        QFETCH(QString, auth);
        QFETCH(QString, policy);
        const CliRun r = runCli(secureArgs(transport, policy, auth) + QStringList {kClock, kVoltage});
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        QVERIFY2(!itemColumns(r.out, kClock + u":2"_s).isEmpty(), qPrintable(r.describe()));
        const auto voltage = parseQuantity(itemColumns(r.out, kVoltage + u":2"_s).value(2));
        QVERIFY2(voltage && voltage->unit == u"V"_s, qPrintable(r.describe()));
        // References, not literals: no warning about ps.
        QVERIFY2(!r.err.contains(u"visible in ps"_s), qPrintable(r.err));
    }

    // A wrong key ends the association with exit code 4 and a message that says which stage
    // failed: with HLS-GMAC alone (and with enc, whose AARQ carries no tag) the meter refuses
    // our proof, which both keys enter (the GMAC runs under the EK); with an authenticating
    // policy the ciphered AARQ itself does not decipher.
    void wrongKeys_data()
    {
        QTest::addColumn<QString>("transport");
        QTest::addColumn<QString>("auth");
        QTest::addColumn<QString>("policy");
        QTest::addColumn<QString>("wrongKey"); // "--ek" or "--ak"
        QTest::addColumn<QString>("message"); // stderr's first line

        const QString refused = u"dlmsctl: HLS-GMAC authentication failed: the meter refused our proof "
                                "(f(StoC)): wrong AK or EK (other-reason)"_s;
        const QString undeciphered = u"dlmsctl: the meter could not decipher our AARQ: wrong EK or AK, or "
                                     "an invocation counter it has already seen"_s;
        QTest::newRow("wrapper-hls-none-wrong-ak")
            << u"wrapper"_s << u"hls-gmac"_s << u"none"_s << u"--ak"_s << refused;
        QTest::newRow("wrapper-hls-none-wrong-ek")
            << u"wrapper"_s << u"hls-gmac"_s << u"none"_s << u"--ek"_s << refused;
        QTest::newRow("hdlc-hls-none-wrong-ak")
            << u"hdlc"_s << u"hls-gmac"_s << u"none"_s << u"--ak"_s << refused;
        QTest::newRow("wrapper-hls-enc-wrong-ak")
            << u"wrapper"_s << u"hls-gmac"_s << u"enc"_s << u"--ak"_s << refused;
        QTest::newRow("wrapper-hls-auth-enc-wrong-ek")
            << u"wrapper"_s << u"hls-gmac"_s << u"auth-enc"_s << u"--ek"_s << undeciphered;
        QTest::newRow("wrapper-hls-auth-enc-wrong-ak")
            << u"wrapper"_s << u"hls-gmac"_s << u"auth-enc"_s << u"--ak"_s << undeciphered;
        QTest::newRow("hdlc-hls-auth-wrong-ek")
            << u"hdlc"_s << u"hls-gmac"_s << u"auth"_s << u"--ek"_s << undeciphered;
        QTest::newRow("wrapper-no-auth-auth-enc-wrong-ek")
            << u"wrapper"_s << u"none"_s << u"auth-enc"_s << u"--ek"_s << undeciphered;
    }
    void wrongKeys()
    {
        QFETCH(QString, transport);
        QFETCH(QString, auth);
        QFETCH(QString, policy);
        QFETCH(QString, wrongKey);
        QFETCH(QString, message);
        QStringList args = secureArgs(transport, policy, auth);
        args[args.indexOf(wrongKey) + 1] = u"env:DLMSBRIDGE_TST_WRONG"_s;
        const CliRun r = runCli(args + QStringList {kClock});
        QCOMPARE(r.exitCode, 4);
        QCOMPARE(r.errLines().value(0), message);
        for (const QByteArray &key : {kWrongKey, kEk, kAk})
            QVERIFY2(!containsKey(r.out + r.err, key), qPrintable(r.describe()));
    }

    // Literal keys on the command line (lower case): warned about, never printed, not even by
    // --trace, which shows the deciphered APDUs.
    void keysNeverPrinted_data()
    {
        QTest::addColumn<QString>("transport");
        QTest::newRow("wrapper") << u"wrapper"_s;
        QTest::newRow("hdlc") << u"hdlc"_s;
    }
    void keysNeverPrinted()
    {
        QFETCH(QString, transport);
        QStringList args = secureArgs(transport, u"auth-enc"_s);
        args[args.indexOf(u"--ek"_s) + 1] = QString::fromLatin1(kEk.toLower());
        args[args.indexOf(u"--ak"_s) + 1] = QString::fromLatin1(kAk.toLower());
        const CliRun r = runCli(args + QStringList {u"--trace"_s, u"--stats"_s, kClock, kVoltage});
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        QVERIFY2(r.err.contains(u"--ek given on the command line is visible in ps"_s), qPrintable(r.err));
        QVERIFY2(r.err.contains(u"decrypted"_s), qPrintable(r.err));
        for (const QByteArray &key : {kEk, kAk})
            QVERIFY2(!containsKey(r.out + r.err, key), qPrintable(r.describe()));
    }

    void helpNamesTheOptionsWithoutKeys()
    {
        for (const QString &verb : {u"read"_s, u"simulate"_s, u"commission"_s, u"poll"_s}) {
            const CliRun r = runCli({verb, u"--help"_s});
            QCOMPARE(r.exitCode, 0);
            for (const char *option : {"--security", "--ek", "--ak"})
                QVERIFY2(r.out.contains(QLatin1StringView(option)),
                    qPrintable(verb + u": "_s + QLatin1StringView(option)));
            QVERIFY2(!containsKey(r.out, kEk) && !containsKey(r.out, kAk), qPrintable(verb));
        }
    }

    // The counter lives in the directory, one file per EK and title; a second run starts above
    // every value the first one could have used.
    void counterPersistsAcrossRuns()
    {
        const QString directory = m_dir.filePath(u"own-counters"_s);
        const QString title = u"4D4D4D0000000002"_s;
        const QStringList args = secureArgs(u"wrapper"_s, u"auth-enc"_s, u"hls-gmac"_s, title)
            + QStringList {u"--counter-dir"_s, directory, kClock};
        const CliRun first = runCli(args);
        QVERIFY2(first.exitCode == 0, qPrintable(first.describe()));
        const QHash<QString, quint64> afterFirst = counterFiles(directory);
        QCOMPARE(afterFirst.size(), 1);
        const quint64 reservedByFirst = afterFirst.cbegin().value();
        QVERIFY(reservedByFirst > 1);
        // The file is named by a fingerprint of the EK and by the title, never by the key.
        QVERIFY(!containsKey(afterFirst.cbegin().key(), kEk));
        QVERIFY(afterFirst.cbegin().key().contains(title));

        const CliRun second = runCli(args);
        QVERIFY2(second.exitCode == 0, qPrintable(second.describe()));
        const QHash<QString, quint64> afterSecond = counterFiles(directory);
        QCOMPARE(afterSecond.keys(), afterFirst.keys());
        // The second run reserved its own block, from where the first one's ended.
        QCOMPARE(afterSecond.cbegin().value(), reservedByFirst + (reservedByFirst - 1));
    }

    // A counter store that lost its file (another machine, a reinstall) starts at 1: the meter
    // refuses the replayed counters until --invocation-counter puts us above what it has seen.
    void invocationCounterFloor()
    {
        const QString title = u"4D4D4D0000000003"_s;
        const QStringList args = secureArgs(u"hdlc"_s, u"auth"_s, u"hls-gmac"_s, title);
        const CliRun seen = runCli(args + QStringList {kClock});
        QVERIFY2(seen.exitCode == 0, qPrintable(seen.describe()));

        const QString directory = m_dir.filePath(u"floor-counters"_s);
        const CliRun replayed = runCli(args + QStringList {u"--counter-dir"_s, directory, kClock});
        QCOMPARE(replayed.exitCode, 4);
        QVERIFY2(replayed.err.contains(u"decipher"_s, Qt::CaseInsensitive), qPrintable(replayed.describe()));

        const CliRun raised = runCli(args
            + QStringList {u"--counter-dir"_s, directory, u"--invocation-counter"_s, u"70000"_s, kClock});
        QVERIFY2(raised.exitCode == 0, qPrintable(raised.describe()));
        const QHash<QString, quint64> files = counterFiles(directory);
        QCOMPARE(files.size(), 1);
        QVERIFY2(files.cbegin().value() > 70000, qPrintable(QString::number(files.cbegin().value())));
    }

    void usageErrors_data()
    {
        QTest::addColumn<QStringList>("options");
        QTest::addColumn<QString>("message");
        QTest::newRow("hls-without-ak") << QStringList {u"--auth"_s, u"hls-gmac"_s, u"--system-title"_s,
            kTitle, u"--ek"_s, u"env:DLMSBRIDGE_TST_EK"_s}
                                        << u"--ak is required with hls-gmac authentication"_s;
        QTest::newRow("policy-without-title") << QStringList {u"--security"_s, u"enc"_s, u"--ek"_s,
            u"env:DLMSBRIDGE_TST_EK"_s} << u"--system-title is required"_s;
        QTest::newRow("unknown-policy") << QStringList {u"--security"_s, u"strong"_s}
                                        << u"--security must be none, auth, enc or auth-enc"_s;
        QTest::newRow("unsupported-auth") << QStringList {u"--auth"_s, u"hls-md5"_s} << u"--auth must be"_s;
        QTest::newRow("short-key") << QStringList {u"--auth"_s, u"hls-gmac"_s, u"--system-title"_s, kTitle,
            u"--ek"_s, u"C0FFEE"_s, u"--ak"_s, u"env:DLMSBRIDGE_TST_EK"_s}
                                   << u"--ek: the key must be 16 bytes"_s;
        QTest::newRow("dedicated-without-policy")
            << QStringList {u"--dedicated-key"_s} << u"--dedicated-key needs a policy"_s;
        QTest::newRow("counter-dir-under-a-file") << QStringList {u"--auth"_s, u"hls-gmac"_s,
            u"--system-title"_s, kTitle, u"--ek"_s, u"env:DLMSBRIDGE_TST_EK"_s, u"--ak"_s,
            u"env:DLMSBRIDGE_TST_EK"_s, u"--counter-dir"_s, u"@FILE@/counters"_s}
                                                  << u"@FILE@"_s;
    }
    void usageErrors()
    {
        QFETCH(QStringList, options);
        QFETCH(QString, message);
        const QString file = m_dir.filePath(u"a-file"_s);
        QVERIFY(writeFile(file, "x"));
        options.replaceInStrings(u"@FILE@"_s, file);
        message.replace(u"@FILE@"_s, file);
        const CliRun r = runCli(QStringList {u"read"_s, u"--host"_s, u"127.0.0.1"_s, u"--port"_s,
                                    QString::number(meterOf(u"wrapper"_s).port)}
            + options + QStringList {kClock});
        QCOMPARE(r.exitCode, 2);
        QVERIFY2(r.err.contains(message), qPrintable(r.describe()));
        QVERIFY(!r.err.contains(u"C0FFEE"_s));
    }

    // poll: the options override the file's meters (a plain one here).
    void pollWithOverrides()
    {
        const SimulateProcess::Meter meter = meterOf(u"hdlc"_s);
        const QJsonObject site {{u"meters"_s,
            QJsonArray {QJsonObject {{u"id"_s, u"plain-1"_s}, {u"host"_s, u"127.0.0.1"_s},
                {u"port"_s, meter.port}, {u"transport"_s, u"hdlc"_s}, {u"interval_ms"_s, 300},
                {u"items"_s, QJsonArray {kVoltage}}}}}};
        const QString config = m_dir.filePath(u"poll-site.json"_s);
        QVERIFY(writeFile(config, QJsonDocument(site).toJson()));
        const QString counters = m_dir.filePath(u"poll-counters"_s);
        const CliRun r
            = runCli({u"poll"_s, u"--config"_s, config, u"--seconds"_s, u"1"_s, u"--auth"_s, u"hls-gmac"_s,
                u"--security"_s, u"auth-enc"_s, u"--system-title"_s, u"4D4D4D0000000005"_s, u"--ek"_s,
                u"env:DLMSBRIDGE_TST_EK"_s, u"--ak"_s, u"file:"_s + m_akFile, u"--counter-dir"_s, counters});
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        QVERIFY2(r.out.contains(u"voltage_l1"_s), qPrintable(r.describe()));
        QCOMPARE(counterFiles(counters).size(), 1);
        QVERIFY(!containsKey(r.out + r.err, kEk) && !containsKey(r.out + r.err, kAk));
    }

    // A site whose meter uses HLS-GMAC and auth-enc, keys by reference: commissioning
    // associates (and reads through the ciphered association).
    void commissionAssociates()
    {
        const SimulateProcess::Meter meter = meterOf(u"wrapper"_s);
        // A title of its own: the counters start afresh in their own directory.
        const QJsonObject security {{u"policy"_s, u"auth-enc"_s}, {u"system_title"_s, u"4D4D4D0000000004"_s},
            {u"ek"_s, u"env:DLMSBRIDGE_TST_EK"_s}, {u"ak"_s, u"file:ak.hex"_s}};
        const QJsonObject site {
            {u"polling"_s,
                QJsonObject {{u"timeout_ms"_s, 4000}, {u"connect_timeout_ms"_s, 4000}, {u"retries"_s, 0}}},
            {u"meters"_s,
                QJsonArray {QJsonObject {{u"id"_s, u"secure-1"_s}, {u"host"_s, u"127.0.0.1"_s},
                    {u"port"_s, meter.port}, {u"auth"_s, u"hls-gmac"_s}, {u"security"_s, security},
                    {u"items"_s, QJsonArray {kVoltage}}}}},
            {u"mqtt"_s, QJsonObject {{u"enabled"_s, false}}},
            {u"http"_s, QJsonObject {{u"enabled"_s, false}}},
            {u"storage"_s, QJsonObject {{u"path"_s, m_dir.filePath(u"commission.db"_s)}}},
            {u"commissioning"_s, QJsonObject {{u"baseline_polls"_s, 1}}}};
        const QString config = m_dir.filePath(u"secure-site.json"_s);
        QVERIFY(writeFile(config, QJsonDocument(site).toJson()));

        // --counter-dir reaches the engine's counters too.
        const QString counters = m_dir.filePath(u"commission-counters"_s);
        const CliRun r = runCli(
            {u"commission"_s, u"--config"_s, config, u"--no-store"_s, u"--counter-dir"_s, counters}, 20000);
        bool associated = false;
        bool registerRead = false;
        for (const QString &line : r.lines()) {
            const QStringList cols = columns(line);
            associated = associated || (cols.value(0) == u"pass"_s && cols.value(1) == u"Association"_s);
            registerRead
                = registerRead || (cols.value(0) == u"pass"_s && cols.value(1).startsWith(u"Register"_s));
        }
        QVERIFY2(associated, qPrintable(r.describe()));
        QVERIFY2(registerRead, qPrintable(r.describe()));
        QVERIFY(!containsKey(r.out + r.err, kEk) && !containsKey(r.out + r.err, kAk));
        QCOMPARE(counterFiles(counters).size(), 1);
    }
};

QTEST_GUILESS_MAIN(tst_DlmsctlSecurity)
#include "tst_dlmsctl_security.moc"
