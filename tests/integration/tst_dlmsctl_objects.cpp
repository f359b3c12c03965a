#include "clitestsupport.h"

#include "metermodel.h"
#include "obis.h"

#include <QtTest/QtTest>

#include <map>

using namespace Qt::StringLiterals;
using namespace clitest;

namespace {

const QString kClock = u"0.0.1.0.0.255"_s;

QString accessLetters(sim::AttributeAccess access)
{
    switch (access) {
    case sim::AttributeAccess::None:
        return u"-"_s;
    case sim::AttributeAccess::Read:
        return u"R"_s;
    case sim::AttributeAccess::Write:
        return u"W"_s;
    case sim::AttributeAccess::ReadWrite:
        return u"RW"_s;
    }
    return {};
}

// Text rows by OBIS: only lines whose third column is an OBIS code count as object rows.
QHash<QString, QStringList> objectRows(const QString &out)
{
    QHash<QString, QStringList> rows;
    for (const QString &line : out.split(u'\n', Qt::SkipEmptyParts)) {
        const QStringList cols = columns(line);
        if (cols.size() >= 3 && dlms::Obis::parse(cols.at(2)) && cols.at(2).count(u'.') == 5)
            rows.insert(cols.at(2), cols);
    }
    return rows;
}

} // namespace

class tst_DlmsctlObjects : public QObject {
    Q_OBJECT

    std::unique_ptr<sim::Simulator> m_wrapper;
    std::unique_ptr<sim::Simulator> m_hdlc;

    sim::Simulator &simulator(const QString &transport)
    {
        return transport == u"hdlc" ? *m_hdlc : *m_wrapper;
    }

    static void addTransportAndAuthRows()
    {
        QTest::addColumn<QString>("transport");
        QTest::addColumn<bool>("lls");
        for (const char *transport : {"wrapper", "hdlc"}) {
            QTest::addRow("%s-no-auth", transport) << QString::fromLatin1(transport) << false;
            QTest::addRow("%s-lls", transport) << QString::fromLatin1(transport) << true;
        }
    }

    CliRun objects(const QString &transport, bool lls, const QStringList &extra = {})
    {
        QStringList args = QStringList {u"objects"_s} + connectionArgs(simulator(transport));
        if (lls)
            args << u"--auth"_s << u"low"_s << u"--password"_s << u"12345678"_s;
        return runCli(args + extra);
    }

private slots:
    void initTestCase()
    {
        m_wrapper = startSimulator(dlms::Transport::Wrapper);
        m_hdlc = startSimulator(dlms::Transport::Hdlc);
        QVERIFY(m_wrapper);
        QVERIFY(m_hdlc);
        QVERIFY(m_wrapper->meter(0).objects().size() >= 19);
    }

    void cleanup()
    {
        m_wrapper->setFaults(0, {});
        m_hdlc->setFaults(0, {});
    }

    void helpMentionsConnectionOptions()
    {
        const CliRun r = runCli({u"objects"_s, u"--help"_s});
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        for (const char *option : {"--host", "--port", "--transport", "--client", "--server", "--physical",
                 "--auth", "--password", "--password-file", "--timeout-ms", "--max-pdu", "--hdlc-max-info",
                 "--hdlc-window", "--json", "--trace", "--stats"})
            QVERIFY2(r.out.contains(QLatin1StringView(option)), option);
    }

    void text_data() { addTransportAndAuthRows(); }
    void text()
    {
        QFETCH(QString, transport);
        QFETCH(bool, lls);
        const sim::MeterModel &meter = simulator(transport).meter(0);
        const sim::AccessLevel level = lls ? sim::AccessLevel::Low : sim::AccessLevel::Public;
        const CliRun r = objects(transport, lls);
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        const QHash<QString, QStringList> rows = objectRows(r.out);
        QVERIFY2(rows.size() >= 19, qPrintable(r.out));
        QCOMPARE(rows.size(), qsizetype(meter.objects().size()));

        // Every object of the meter, with its class, version and rights as the meter grants them.
        for (const sim::MeterModel::ObjectInfo &object : meter.objects()) {
            const QStringList cols = rows.value(object.obis.toString());
            // Six columns; an object without methods may leave the last one empty.
            QVERIFY2(cols.size() == 6 || (cols.size() == 5 && object.methodCount == 0),
                qPrintable(object.obis.toString() + u" in\n"_s + r.out));
            QCOMPARE(cols.at(0), QString::number(object.classId));
            QCOMPARE(cols.at(1), QString::number(object.version));
            QVERIFY(!cols.at(3).isEmpty());
            const QStringList attributes = cols.at(4).split(u' ', Qt::SkipEmptyParts);
            QCOMPARE(attributes.size(), qsizetype(object.attributeCount));
            for (int id = 1; id <= object.attributeCount; ++id) {
                const QString expected
                    = u"%1:%2"_s.arg(id).arg(accessLetters(meter.attributeAccess(object, id, level)));
                QVERIFY2(attributes.at(id - 1) == expected, qPrintable(cols.join(u" | "_s)));
            }
            const QStringList methods = cols.value(5).split(u' ', Qt::SkipEmptyParts);
            if (object.methodCount == 0) {
                QVERIFY2(
                    methods.size() <= 1 && !cols.value(5).contains(u'x'), qPrintable(cols.join(u" | "_s)));
                continue;
            }
            QCOMPARE(methods.size(), qsizetype(object.methodCount));
            for (int id = 1; id <= object.methodCount; ++id) {
                const QString expected
                    = u"%1:%2"_s.arg(id).arg(meter.methodAllowed(object, id, level) ? u"x"_s : u"-"_s);
                QVERIFY2(methods.at(id - 1) == expected, qPrintable(cols.join(u" | "_s)));
            }
        }

        // The clock, spelled out: read-only without authentication, writable with LLS.
        const QStringList clock = rows.value(kClock);
        QCOMPARE(clock.value(0), u"8"_s);
        QCOMPARE(clock.value(1), u"0"_s);
        QVERIFY2(clock.value(3).contains(u"Clock"_s), qPrintable(clock.join(u" | "_s)));
        const QStringList clockAttributes = clock.value(4).split(u' ');
        QVERIFY2(clockAttributes.contains(lls ? u"2:RW"_s : u"2:R"_s), qPrintable(clock.join(u" | "_s)));
        QVERIFY2(!clockAttributes.contains(lls ? u"2:R"_s : u"2:RW"_s), qPrintable(clock.join(u" | "_s)));
    }

    void json_data() { addTransportAndAuthRows(); }
    void json()
    {
        QFETCH(QString, transport);
        QFETCH(bool, lls);
        const sim::MeterModel &meter = simulator(transport).meter(0);
        const sim::AccessLevel level = lls ? sim::AccessLevel::Low : sim::AccessLevel::Public;
        const CliRun r = objects(transport, lls, {u"--json"_s});
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        QString error;
        const QJsonObject doc = parseJsonObject(r.out, &error);
        QVERIFY2(error.isEmpty(), qPrintable(error + u'\n' + r.out));
        const QJsonArray list = doc.value(u"objects"_s).toArray();
        QCOMPARE(list.size(), qsizetype(meter.objects().size()));

        QHash<QString, QJsonObject> byObis;
        for (const QJsonValue &v : list)
            byObis.insert(v.toObject().value(u"obis"_s).toString(), v.toObject());
        // One JSON access name per access mode, and distinct modes never share a name.
        std::map<sim::AttributeAccess, QString> names;
        for (const sim::MeterModel::ObjectInfo &object : meter.objects()) {
            const QJsonObject o = byObis.value(object.obis.toString());
            const QString context = QString::fromUtf8(QJsonDocument(o).toJson(QJsonDocument::Compact));
            QVERIFY2(!o.isEmpty(), qPrintable(object.obis.toString()));
            QCOMPARE(o.value(u"class"_s).toInt(), int(object.classId));
            QCOMPARE(o.value(u"class_name"_s).toString(), dlms::interfaceClassName(object.classId));
            QCOMPARE(o.value(u"version"_s).toInt(), int(object.version));
            QVERIFY2(o.value(u"name"_s).isString() && !o.value(u"name"_s).toString().isEmpty(),
                qPrintable(context));
            const QJsonArray attributes = o.value(u"attributes"_s).toArray();
            QCOMPARE(attributes.size(), qsizetype(object.attributeCount));
            for (int i = 0; i < attributes.size(); ++i) {
                const QJsonObject a = attributes.at(i).toObject();
                QCOMPARE(a.value(u"id"_s).toInt(), i + 1);
                QVERIFY2(a.value(u"access"_s).isString(), qPrintable(context));
                const sim::AttributeAccess access = meter.attributeAccess(object, i + 1, level);
                const auto [it, inserted] = names.emplace(access, a.value(u"access"_s).toString());
                QVERIFY2(it->second == a.value(u"access"_s).toString(), qPrintable(context));
                Q_UNUSED(inserted);
            }
            const QJsonArray methods = o.value(u"methods"_s).toArray();
            QCOMPARE(methods.size(), qsizetype(object.methodCount));
            for (int i = 0; i < methods.size(); ++i) {
                const QJsonObject m = methods.at(i).toObject();
                QCOMPARE(m.value(u"id"_s).toInt(), i + 1);
                QVERIFY2(m.value(u"access"_s).isBool(), qPrintable(context));
                QCOMPARE(m.value(u"access"_s).toBool(), meter.methodAllowed(object, i + 1, level));
            }
        }
        QSet<QString> distinct;
        for (const auto &[access, name] : names)
            distinct.insert(name);
        QCOMPARE(distinct.size(), qsizetype(names.size()));

        const QJsonObject clock = byObis.value(kClock);
        QCOMPARE(clock.value(u"class"_s).toInt(), 8);
        QCOMPARE(clock.value(u"class_name"_s).toString(), u"Clock"_s);
        QCOMPARE(clock.value(u"name"_s).toString(), u"Clock"_s);
        const QString clockTime
            = clock.value(u"attributes"_s).toArray().at(1).toObject().value(u"access"_s).toString();
        if (lls)
            QCOMPARE(clockTime, u"read-write"_s);
        else
            QVERIFY2(clockTime != u"read-write" && clockTime.startsWith(u"read"_s), qPrintable(clockTime));
    }

    void listArrivesByBlockTransfer_data()
    {
        QTest::addColumn<QString>("transport");
        QTest::newRow("wrapper") << u"wrapper"_s;
        QTest::newRow("hdlc") << u"hdlc"_s;
    }
    void listArrivesByBlockTransfer()
    {
        QFETCH(QString, transport);
        QCOMPARE(simulator(transport).meter(0).settings().maxPduSize, quint16(1024));
        const CliRun r = objects(transport, false, {u"--trace"_s, u"--stats"_s});
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe()));
        QCOMPARE(objectRows(r.out).size(), qsizetype(simulator(transport).meter(0).objects().size()));
        QVERIFY2(r.err.count(u"GET-Response-With-Datablock"_s) >= 2, qPrintable(r.err));
        // Each block after the first is asked for with a GET-Request-Next.
        QVERIFY2(r.err.count(u"GET-Request-Next"_s) >= 1, qPrintable(r.err));
        const QHash<QString, qint64> stats = parseStats(r.err);
        QVERIFY2(stats.value(u"requests"_s) >= 4, qPrintable(r.err)); // AARQ, GET, GET-next…, RLRQ
        QCOMPARE(stats.value(u"responses"_s), stats.value(u"requests"_s));
        QVERIFY2(!r.out.contains(u"GET-"_s), qPrintable(r.out));
    }

    void linkLimitsAreHonoured_data()
    {
        QTest::addColumn<QString>("transport");
        QTest::addColumn<QString>("option");
        QTest::addColumn<int>("limit");
        QTest::addColumn<int>("overhead"); // received frame bytes around the limited part
        QTest::addColumn<QString>("counter"); // the --stats counter the limit drives up
        // Client max receive PDU: the meter sends smaller blocks, so more of them.
        QTest::newRow("wrapper-max-pdu-128") << u"wrapper"_s << u"--max-pdu"_s << 128 << 8 << u"requests"_s;
        // HDLC max information field: more, smaller frames (11..14 bytes of framing each).
        QTest::newRow("hdlc-max-info-32")
            << u"hdlc"_s << u"--hdlc-max-info"_s << 32 << 14 << u"frames_received"_s;
    }
    void linkLimitsAreHonoured()
    {
        QFETCH(QString, transport);
        QFETCH(QString, option);
        QFETCH(int, limit);
        QFETCH(int, overhead);
        QFETCH(QString, counter);
        const qsizetype expectedRows = qsizetype(simulator(transport).meter(0).objects().size());
        const CliRun plain = objects(transport, false, {u"--stats"_s});
        QVERIFY2(plain.exitCode == 0, qPrintable(plain.describe()));
        const CliRun limited
            = objects(transport, false, {u"--stats"_s, u"--trace"_s, option, QString::number(limit)});
        QVERIFY2(limited.exitCode == 0, qPrintable(limited.describe()));
        QCOMPARE(objectRows(limited.out).size(), expectedRows);
        QVERIFY2(parseStats(limited.err).value(counter) > parseStats(plain.err).value(counter),
            qPrintable(plain.err.right(300) + u'\n' + limited.err.right(300)));
        static const QRegularExpression received(u"^\\S+ < (\\d+) B  "_s);
        int frames = 0;
        for (const QString &line : limited.errLines()) {
            if (const auto m = received.match(line); m.hasMatch()) {
                ++frames;
                QVERIFY2(m.captured(1).toInt() <= limit + overhead, qPrintable(line));
            }
        }
        QVERIFY(frames > 3);
    }

    void errors_data()
    {
        QTest::addColumn<QString>("transport");
        QTest::addColumn<QString>("situation");
        QTest::addColumn<int>("exitCode");
        for (const char *transport : {"wrapper", "hdlc"}) {
            const QString t = QString::fromLatin1(transport);
            QTest::addRow("%s-refused", transport) << t << u"refused"_s << 3;
            QTest::addRow("%s-rejected", transport) << t << u"rejected"_s << 4;
            QTest::addRow("%s-wrong-password", transport) << t << u"wrong-password"_s << 4;
            QTest::addRow("%s-silent", transport) << t << u"silent"_s << 3;
            QTest::addRow("%s-exceptions", transport) << t << u"exceptions"_s << 5;
        }
        QTest::newRow("no-host") << u"wrapper"_s << u"no-host"_s << 2;
        QTest::newRow("unknown-option") << u"wrapper"_s << u"unknown-option"_s << 2;
        QTest::newRow("auth-low-without-password") << u"wrapper"_s << u"auth-low-without-password"_s << 2;
    }
    void errors()
    {
        QFETCH(QString, transport);
        QFETCH(QString, situation);
        QFETCH(int, exitCode);
        sim::Simulator &meter = simulator(transport);
        QStringList args
            = QStringList {u"objects"_s} + connectionArgs(meter) + QStringList {u"--timeout-ms"_s, u"500"_s};
        sim::FaultConfig faults;
        if (situation == u"refused")
            args = QStringList {u"objects"_s} + connectionArgs(unusedPort(), transport);
        else if (situation == u"rejected")
            faults.rejectAssociation = true;
        else if (situation == u"wrong-password")
            args << u"--auth"_s << u"low"_s << u"--password"_s << u"nope"_s;
        else if (situation == u"silent")
            faults.silent = true;
        else if (situation == u"exceptions")
            faults.exceptionResponses = true;
        else if (situation == u"no-host")
            args = {u"objects"_s, u"--port"_s, QString::number(meter.port(0))};
        else if (situation == u"unknown-option")
            args << u"--frobnicate"_s;
        else if (situation == u"auth-low-without-password")
            args << u"--auth"_s << u"low"_s;
        meter.setFaults(0, faults);
        const CliRun r = runCli(args);
        QVERIFY2(r.exitCode == exitCode, qPrintable(r.describe()));
        QVERIFY2(r.err.contains(u"dlmsctl: "_s) && !r.err.contains(u"unknown command"_s),
            qPrintable(r.describe()));
        if (exitCode != 5)
            QVERIFY2(objectRows(r.out).isEmpty(), qPrintable(r.describe()));
        if (situation == u"wrong-password")
            QVERIFY2(r.err.contains(u"authentication-failure"_s), qPrintable(r.describe()));
    }
};

QTEST_GUILESS_MAIN(tst_DlmsctlObjects)
#include "tst_dlmsctl_objects.moc"
