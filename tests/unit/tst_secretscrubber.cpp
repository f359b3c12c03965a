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

    // A meter key comes from configSecrets() as hex text; frames show its bytes in any case and
    // spacing.
    void scrubsKeys_data()
    {
        QTest::addColumn<QString>("text");
        QTest::addColumn<QString>("expected");
        QTest::newRow("hex-lower") << u"ek 000102030405060708090a0b0c0d0e0f!"_s << u"ek ***!"_s;
        QTest::newRow("hex-upper") << u"ek=000102030405060708090A0B0C0D0E0F"_s << u"ek=***"_s;
        QTest::newRow("hex-mixed") << u"000102030405060708090a0B0c0D0e0F"_s << u"***"_s;
        QTest::newRow("spaced-upper-in-frame")
            << u"7E A0 00 01 02 03 04 05 06 07 08 09 0A 0B 0C 0D 0E 0F 7E"_s << u"7E A0 *** 7E"_s;
        QTest::newRow("spaced-lower") << u"00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f"_s << u"***"_s;
        QTest::newRow("ak-spaced") << u"D0 D1 D2 D3 D4 D5 D6 D7 D8 D9 DA DB DC DD DE DF"_s << u"***"_s;
        QTest::newRow("ak-lower") << u"d0d1d2d3d4d5d6d7d8d9dadbdcdddedf"_s << u"***"_s;
        QTest::newRow("part-of-key-kept") << u"00 01 02 03 04 05 06 07"_s << u"00 01 02 03 04 05 06 07"_s;
        QTest::newRow("other-bytes-kept")
            << u"C0 01 00 00 08 00 00 01 00 00 FF 02 00"_s << u"C0 01 00 00 08 00 00 01 00 00 FF 02 00"_s;
    }
    void scrubsKeys()
    {
        QFETCH(QString, text);
        QFETCH(QString, expected);
        app::BridgeConfig config;
        polling::MeterConfig meter;
        meter.id = u"m1"_s;
        meter.security.blockCipherKey = QByteArray::fromHex("000102030405060708090A0B0C0D0E0F");
        meter.security.authenticationKey = QByteArray::fromHex("D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF");
        config.site.meters.push_back(meter);
        SecretScrubber scrub;
        scrub.add(::configSecrets(config));
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
        polling::MeterConfig secured;
        secured.id = u"m2"_s;
        secured.security.blockCipherKey = QByteArray::fromHex("000102030405060708090A0B0C0D0E0F");
        secured.security.authenticationKey = QByteArray::fromHex("D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF");
        config.site.meters.push_back(secured);
        config.publishing.insert(u"m1"_s, app::MeterPublishing {u"device-token"_s, {}, {}});
        QStringList expected {u"http-token"_s, u"meter-pw"_s, u"device-token"_s,
            u"000102030405060708090a0b0c0d0e0f"_s, u"000102030405060708090A0B0C0D0E0F"_s,
            u"d0d1d2d3d4d5d6d7d8d9dadbdcdddedf"_s, u"D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF"_s};
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
