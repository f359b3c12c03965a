#include <bridgeconfig.h>
#include <secretscrubber.h>

#include <QtTest/QtTest>

using namespace Qt::StringLiterals;

class tst_SecretScrubber : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void scrubs_data()
    {
        QTest::addColumn<QString>("text");
        QTest::addColumn<QString>("expected");
        QTest::newRow("plain") << u"password s3cret-pw used"_s << u"password *** used"_s;
        QTest::newRow("hex") << u"AARQ ac0a80087333637265742d7077"_s << u"AARQ ac0a8008***"_s;
        QTest::newRow("hex upper case") << u"7333637265742D7077"_s << u"***"_s;
        QTest::newRow("spaced hex") << u"73 33 63 72 65 74 2d 70 77 be"_s << u"*** be"_s;
        QTest::newRow("longest first") << u"token tb-token-long"_s << u"token ***"_s;
        QTest::newRow("plain is case-sensitive") << u"S3CRET-PW"_s << u"S3CRET-PW"_s;
        QTest::newRow("short secret kept") << u"at 12:00"_s << u"at 12:00"_s;
        QTest::newRow("nothing to scrub") << u"meter m1: associated"_s << u"meter m1: associated"_s;
    }

    void scrubs()
    {
        QFETCH(QString, text);
        QFETCH(QString, expected);
        SecretScrubber scrub;
        scrub.add({u"s3cret-pw"_s, u"tb-token"_s, u"tb-token-long"_s, u"12"_s, QString()});
        scrub.add({u"s3cret-pw"_s}); // again: no effect
        QCOMPARE(scrub(text), expected);
    }

    void configSecrets_data()
    {
        QTest::addColumn<bool>("tokenAsUsername");
        QTest::newRow("token") << true;
        QTest::newRow("username and password") << false;
    }

    void configSecrets()
    {
        QFETCH(bool, tokenAsUsername);
        app::BridgeConfig config;
        config.mqtt.client.username = u"gateway-user"_s;
        if (!tokenAsUsername)
            config.mqtt.client.password = u"mqtt-password"_s;
        config.http.token = "http-token";
        polling::MeterConfig meter;
        meter.id = u"m1"_s;
        meter.password = "meter-pw";
        config.site.meters.push_back(meter);
        config.publishing.insert(u"m1"_s, app::MeterPublishing {u"device-token"_s, {}, {}});
        QStringList expected {u"http-token"_s, u"meter-pw"_s, u"device-token"_s};
        expected << (tokenAsUsername ? u"gateway-user"_s : u"mqtt-password"_s);
        QStringList secrets = ::configSecrets(config);
        secrets.sort();
        expected.sort();
        QCOMPARE(secrets, expected);
    }

    void terminalSafe()
    {
        const QString text = u"a\u001b[31mb\tc\nd\u009be"_s;
        QCOMPARE(::terminalSafe(text), u"a?[31mb?c?d?e"_s);
        QCOMPARE(::terminalSafe(text, true), u"a?[31mb c d?e"_s);
        QCOMPARE(::terminalSafe(u"Subestación — ok"_s), u"Subestación — ok"_s);
    }
};

QTEST_GUILESS_MAIN(tst_SecretScrubber)
#include "tst_secretscrubber.moc"
