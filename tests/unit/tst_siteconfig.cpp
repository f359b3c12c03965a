#include "siteconfig.h"
#include "testsupport.h"

#include <QtCore/QJsonArray>
#include <QtCore/QJsonDocument>
#include <QtCore/QScopeGuard>
#include <QtCore/QTemporaryDir>
#include <QtCore/QTemporaryFile>
#include <QtTest/QTest>

#include <limits>

using namespace Qt::StringLiterals;
using polling::MeterConfig;
using polling::PollItem;

Q_DECLARE_METATYPE(polling::MeterConfig)

namespace {

QJsonObject parseObject(const QByteArray &json)
{
    QJsonParseError error;
    const QJsonDocument doc = QJsonDocument::fromJson(json, &error);
    if (error.error != QJsonParseError::NoError)
        qWarning("test JSON does not parse: %s", qPrintable(error.errorString()));
    return doc.object();
}

// Writes `content` to `name` inside `dir` and returns the full path.
QString writeFile(const QTemporaryDir &dir, const QString &name, const QByteArray &content)
{
    const QString path = dir.filePath(name);
    QFile file(path);
    if (!file.open(QIODevice::WriteOnly | QIODevice::Truncate))
        return {};
    file.write(content);
    return path;
}

MeterConfig everythingChanged()
{
    MeterConfig c;
    c.id = u"feeder-7"_s;
    c.name = u"Feeder 7, basement"_s;
    c.host = u"::1"_s;
    c.port = 4061;
    c.transport = dlms::Transport::Hdlc;
    c.clientAddress = 1;
    c.serverAddress = 0x3FFF;
    c.physicalAddress = 17;
    c.authentication = dlms::Authentication::Low;
    c.password = QByteArrayLiteral("pa ss:wörd");
    c.pollIntervalMs = 900'000;
    c.items = {PollItem {u"voltage_l1"_s, dlms::Obis(1, 0, 32, 7, 0, 255), 3, 2},
        PollItem {u"scaler"_s, dlms::Obis(1, 0, 1, 8, 0, 255), 3, 3},
        PollItem {u"clock"_s, dlms::Obis(0, 0, 1, 0, 0, 255), 8, 2},
        PollItem {u"vendor_thing"_s, dlms::Obis(0, 128, 96, 5, 1, 255), 1, 2}};
    c.connectTimeoutMs = 12'000;
    c.requestTimeoutMs = 1;
    c.retries = 10;
    c.associationMode = polling::AssociationMode::PerPoll;
    c.maxPduSize = 64;
    c.maxItemsPerRequest = 5;
    c.hdlc = dlms::hdlc::LinkParameters {2030, 32, 7, 1};
    c.maxRequestsPerSecond = 2.5;
    c.snapshotProfile = dlms::Obis(1, 0, 94, 91, 0, 255);
    c.backoff = polling::BackoffPolicy {250, 120'000, 1.5, 0.35};
    c.breaker = polling::CircuitBreakerPolicy {0, 1000};
    return c;
}

const QByteArray kEk = QByteArray::fromHex("000102030405060708090A0B0C0D0E0F");
const QByteArray kAk = QByteArray::fromHex("D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF");
const QByteArray kTitle = QByteArray::fromHex("4D4D4D0000000001");

MeterConfig secured(dlms::SecurityPolicy policy)
{
    MeterConfig c;
    c.id = u"s1"_s;
    c.name = u"s1"_s;
    c.host = u"127.0.0.1"_s;
    c.items = {PollItem {u"voltage_l1"_s, dlms::Obis(1, 0, 32, 7, 0, 255), 3, 2}};
    c.authentication = dlms::Authentication::HighGmac;
    c.security.policy = policy;
    c.security.systemTitle = kTitle;
    c.security.blockCipherKey = kEk;
    c.security.authenticationKey = kAk;
    return c;
}

} // namespace

class tst_SiteConfig : public QObject {
    Q_OBJECT

private slots:
    void roundTrip_data()
    {
        QTest::addColumn<MeterConfig>("config");
        MeterConfig plain;
        plain.id = u"m1"_s;
        plain.name = u"m1"_s;
        plain.host = u"127.0.0.1"_s;
        plain.items = {PollItem {u"voltage_l1"_s, dlms::Obis(1, 0, 32, 7, 0, 255), 3, 2}};
        QTest::newRow("defaults") << plain;
        QTest::newRow("every-field-changed") << everythingChanged();
        MeterConfig symmetric = everythingChanged();
        symmetric.hdlc = dlms::hdlc::LinkParameters {256, 256, 3, 3};
        QTest::newRow("hdlc-symmetric") << symmetric;
        QTest::newRow("hls-gmac-no-ciphering") << secured(dlms::SecurityPolicy::None);
        QTest::newRow("hls-gmac-auth-enc") << secured(dlms::SecurityPolicy::AuthenticatedEncrypted);
        MeterConfig everything = secured(dlms::SecurityPolicy::Encrypted);
        everything.security.dedicatedKey = true;
        everything.security.generalCiphering = true;
        QTest::newRow("enc-dedicated-general") << everything;
        MeterConfig authGeneral = secured(dlms::SecurityPolicy::Authenticated);
        authGeneral.security.generalCiphering = true;
        QTest::newRow("auth-general") << authGeneral;
        MeterConfig lls = everythingChanged();
        lls.security = secured(dlms::SecurityPolicy::Encrypted).security;
        lls.security.authenticationKey.clear();
        QTest::newRow("lls-with-enc-no-ak") << lls;
    }
    void roundTrip()
    {
        QFETCH(MeterConfig, config);
        const QJsonObject json = polling::meterConfigToJson(config, true);
        QStringList warnings;
        const auto parsed = polling::parseSiteConfig(
            QJsonObject {{u"meters"_s, QJsonArray {json}}}, u"site.json"_s, &warnings);
        QVERIFY2(parsed.ok(), qPrintable(parsed.ok() ? QString() : parsed.error().message));
        QVERIFY2(warnings.isEmpty(), qPrintable(warnings.join(u'\n')));
        QCOMPARE(parsed->meters.size(), size_t(1));
        const MeterConfig &back = parsed->meters.front();
        QCOMPARE(back.id, config.id);
        QCOMPARE(back.hdlc, config.hdlc);
        QCOMPARE(back.items, config.items);
        QVERIFY(back == config);

        // Through text as well: what a saved file holds.
        const QByteArray text = QJsonDocument(QJsonObject {{u"meters"_s, QJsonArray {json}}}).toJson();
        const auto reparsed = polling::parseSiteConfig(parseObject(text), u"site.json"_s);
        QVERIFY(reparsed.ok());
        QVERIFY(reparsed->meters.front() == config);
    }

    void exportWithoutSecrets()
    {
        const MeterConfig config = everythingChanged();
        const QJsonObject json = polling::meterConfigToJson(config, false);
        QVERIFY(!json.contains(u"password"_s));
        QVERIFY(!QJsonDocument(json).toJson().contains(config.password));
        QCOMPARE(json.value(u"auth"_s).toString(), u"low"_s);
        QVERIFY(polling::meterConfigToJson(config, true).contains(u"password"_s));
    }

    void exportWithoutKeys()
    {
        const MeterConfig config = secured(dlms::SecurityPolicy::AuthenticatedEncrypted);
        const QJsonObject json = polling::meterConfigToJson(config, false);
        QCOMPARE(json.value(u"auth"_s).toString(), u"hls-gmac"_s);
        const QJsonObject security = json.value(u"security"_s).toObject();
        QCOMPARE(security.value(u"policy"_s).toString(), u"auth-enc"_s);
        QCOMPARE(security.value(u"system_title"_s).toString(), u"4D4D4D0000000001"_s);
        QVERIFY(!security.contains(u"ek"_s));
        QVERIFY(!security.contains(u"ak"_s));
        const QByteArray text = QJsonDocument(json).toJson();
        for (const QByteArray &key : {kEk, kAk})
            QVERIFY(!text.contains(key.toHex()) && !text.contains(key.toHex().toUpper()));
        const QJsonObject with = polling::meterConfigToJson(config, true).value(u"security"_s).toObject();
        QCOMPARE(with.value(u"ek"_s).toString(), u"000102030405060708090A0B0C0D0E0F"_s);
        QCOMPARE(with.value(u"ak"_s).toString(), u"D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF"_s);
        // A meter without security has no "security" object at all.
        QVERIFY(!polling::meterConfigToJson(everythingChanged(), true).contains(u"security"_s));
    }

    void securityKeysResolved_data()
    {
        QTest::addColumn<QString>("ek"); // as written in the file; @DIR@ = the file's directory
        QTest::newRow("literal-upper") << u"000102030405060708090A0B0C0D0E0F"_s;
        QTest::newRow("literal-lower-spaced") << u"00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f"_s;
        QTest::newRow("literal-colons") << u"00:01:02:03:04:05:06:07:08:09:0A:0B:0C:0D:0E:0F"_s;
        QTest::newRow("env") << u"env:DLMSBRIDGE_TST_EK"_s;
        QTest::newRow("file-absolute") << u"file:@DIR@/ek.hex"_s;
        QTest::newRow("file-relative") << u"file:ek.hex"_s;
    }
    void securityKeysResolved()
    {
        QFETCH(QString, ek);
        qputenv("DLMSBRIDGE_TST_EK", "000102030405060708090a0b0c0d0e0f");
        const auto unset = qScopeGuard([] { qunsetenv("DLMSBRIDGE_TST_EK"); });
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        writeFile(dir, u"ek.hex"_s, "000102030405060708090A0B0C0D0E0F\nsecond line\n");
        ek.replace(u"@DIR@"_s, dir.path());
        QByteArray json = R"({"meters":[{"id":"m1","host":"h","items":["1.0.1.8.0.255"],"auth":"hls-gmac",
            "security":{"policy":"auth-enc","system_title":"4d4d4d0000000001","ek":"@EK@",
                        "ak":"D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF"}}]})";
        json.replace("@EK@", ek.toUtf8());
        const QString path = writeFile(dir, u"site.json"_s, json);
        QStringList warnings;
        const auto site = polling::loadSiteConfig(path, &warnings);
        QVERIFY2(site.ok(), qPrintable(site.ok() ? QString() : site.error().message));
        QVERIFY2(warnings.isEmpty(), qPrintable(warnings.join(u'\n')));
        const MeterConfig &m = site->meters.front();
        QCOMPARE(m.authentication, dlms::Authentication::HighGmac);
        QCOMPARE(m.security.policy, dlms::SecurityPolicy::AuthenticatedEncrypted);
        QCOMPARE(m.security.systemTitle, kTitle);
        QCOMPARE(m.security.blockCipherKey, kEk);
        QCOMPARE(m.security.authenticationKey, kAk);
        QVERIFY(!m.security.dedicatedKey);
        QVERIFY(!m.security.generalCiphering);
        // The client configuration carries them to the session.
        QCOMPARE(m.clientConfig().security, m.security);
    }

    // New keys or another policy mean a new AARQ; the client configuration carries them.
    void securityNeedsReconnect_data()
    {
        QTest::addColumn<MeterConfig>("changed");
        QTest::addColumn<bool>("reconnect");
        const MeterConfig base = secured(dlms::SecurityPolicy::Authenticated);
        MeterConfig c = base;
        c.security.policy = dlms::SecurityPolicy::AuthenticatedEncrypted;
        QTest::newRow("policy") << c << true;
        c = base;
        c.security.blockCipherKey[0] = '\x7f';
        QTest::newRow("ek") << c << true;
        c = base;
        c.security.authenticationKey[15] = '\x01';
        QTest::newRow("ak") << c << true;
        c = base;
        c.security.systemTitle[7] = '\x02';
        QTest::newRow("title") << c << true;
        c = base;
        c.security.dedicatedKey = true;
        QTest::newRow("dedicated-key") << c << true;
        c = base;
        c.authentication = dlms::Authentication::None;
        QTest::newRow("auth") << c << true;
        c = base;
        c.pollIntervalMs = 1000;
        QTest::newRow("interval-only") << c << false;
    }
    void securityNeedsReconnect()
    {
        QFETCH(MeterConfig, changed);
        QFETCH(bool, reconnect);
        const MeterConfig base = secured(dlms::SecurityPolicy::Authenticated);
        QCOMPARE(changed.needsReconnect(base), reconnect);
        QCOMPARE(changed.clientConfig().security, changed.security);
        QCOMPARE(changed.clientConfig().authentication, changed.authentication);
    }

    void securityFromPollingDefaults()
    {
        qputenv("DLMSBRIDGE_TST_EK", "000102030405060708090A0B0C0D0E0F");
        const auto unset = qScopeGuard([] { qunsetenv("DLMSBRIDGE_TST_EK"); });
        const QJsonObject root = parseObject(R"({
            "polling": { "host": "10.0.0.5", "items": [ "1.0.1.8.0.255" ], "auth": "hls-gmac",
                         "security": { "policy": "auth", "system_title": "4D4D4D0000000001",
                                       "ek": "env:DLMSBRIDGE_TST_EK",
                                       "ak": "D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF" } },
            "meters": [
                { "id": "a" },
                { "id": "b", "security": { "policy": "auth-enc", "dedicated_key": true } },
                { "id": "c", "auth": "none", "security": { "policy": "none", "ek": "env:DLMSBRIDGE_TST_UNSET" } }
            ]
        })");
        const auto site = polling::parseSiteConfig(root, u"site.json"_s);
        QVERIFY2(site.ok(), qPrintable(site.ok() ? QString() : site.error().message));
        const MeterConfig &a = site->meters[0];
        QCOMPARE(a.authentication, dlms::Authentication::HighGmac);
        QCOMPARE(a.security.policy, dlms::SecurityPolicy::Authenticated);
        QCOMPARE(a.security.blockCipherKey, kEk);
        QCOMPARE(a.security.authenticationKey, kAk);
        // Key by key over the defaults.
        const MeterConfig &b = site->meters[1];
        QCOMPARE(b.security.policy, dlms::SecurityPolicy::AuthenticatedEncrypted);
        QVERIFY(b.security.dedicatedKey);
        QCOMPARE(b.security.systemTitle, kTitle);
        QCOMPARE(b.security.blockCipherKey, kEk);
        // A meter that uses no security does not resolve (or keep) keys.
        const MeterConfig &c = site->meters[2];
        QCOMPARE(c.authentication, dlms::Authentication::None);
        QVERIFY(c.security.blockCipherKey.isEmpty());
        QVERIFY(c.security.authenticationKey.isEmpty());
        QVERIFY(!c.security.ciphered());
    }

    void loadsAValidFile()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString path = writeFile(dir, u"site.json"_s, R"({
            "mqtt": { "host": "broker" },
            "polling": { "workers": 3, "interval_ms": 1000, "timeout_ms": 2500 },
            "meters": [
                { "id": "m1", "name": "Feeder 1", "host": "127.0.0.1", "port": 4059,
                  "items": [ "1.0.32.7.0.255", "1-0:1.8.0", "0.0.1.0.0.255", "1.0.99.98.0.255",
                             { "obis": "1-0:14.7.0*255", "key": "f", "class": 4, "attribute": 3 } ] },
                { "host": "127.0.0.1", "port": 4060, "transport": "hdlc", "interval_ms": 500,
                  "items": [ { "obis": "1.0.32.7.0.255" } ] },
                { "name": "North", "host": "::1", "items": [ "1.0.32.7.0.255" ] }
            ]
        })");
        QStringList warnings;
        const auto site = polling::loadSiteConfig(path, &warnings);
        QVERIFY2(site.ok(), qPrintable(site.ok() ? QString() : site.error().message));
        QVERIFY2(warnings.isEmpty(), qPrintable(warnings.join(u'\n'))); // "mqtt" belongs to someone else
        QCOMPARE(site->workers, 3);
        QCOMPARE(site->meters.size(), size_t(3));

        const MeterConfig &m1 = site->meters[0];
        QCOMPARE(m1.id, u"m1"_s);
        QCOMPARE(m1.name, u"Feeder 1"_s);
        QCOMPARE(m1.pollIntervalMs, 1000);
        QCOMPARE(m1.requestTimeoutMs, 2500);
        QCOMPARE(m1.connectTimeoutMs, MeterConfig {}.connectTimeoutMs);
        QCOMPARE(m1.items.size(), size_t(5));
        QCOMPARE(m1.items[0], (PollItem {u"voltage_l1"_s, dlms::Obis(1, 0, 32, 7, 0, 255), 3, 2}));
        QCOMPARE(m1.items[1], (PollItem {u"energy_import_wh"_s, dlms::Obis(1, 0, 1, 8, 0, 255), 3, 2}));
        QCOMPARE(m1.items[2], (PollItem {u"clock"_s, dlms::Obis(0, 0, 1, 0, 0, 255), 8, 2}));
        // Not in the table: Data, and a key made of the code.
        QCOMPARE(m1.items[3], (PollItem {u"obis_1_0_99_98_0_255"_s, dlms::Obis(1, 0, 99, 98, 0, 255), 1, 2}));
        QCOMPARE(m1.items[4], (PollItem {u"f"_s, dlms::Obis(1, 0, 14, 7, 0, 255), 4, 3}));

        // No id: the name; no name: host:port.
        const MeterConfig &second = site->meters[1];
        QCOMPARE(second.name, u"127.0.0.1:4060"_s);
        QCOMPARE(second.id, u"127.0.0.1:4060"_s);
        QCOMPARE(second.transport, dlms::Transport::Hdlc);
        QCOMPARE(second.pollIntervalMs, 500);
        QCOMPARE(second.items[0].classId, quint16(3));
        QCOMPARE(site->meters[2].id, u"North"_s);
        QCOMPARE(site->meters[2].port, quint16(4059));
    }

    void pollingDefaultsApplied()
    {
        qputenv("DLMSBRIDGE_TST_SITE_PW", "from-the-environment");
        const auto unset = qScopeGuard([] { qunsetenv("DLMSBRIDGE_TST_SITE_PW"); });
        const QJsonObject root = parseObject(R"({
            "polling": { "host": "10.0.0.5", "interval_ms": 60000, "retries": 3, "auth": "low",
                         "password": "env:DLMSBRIDGE_TST_SITE_PW", "association": "per-poll",
                         "hdlc": { "max_info": 256, "window": 2 },
                         "backoff": { "initial_ms": 500, "jitter": 0 },
                         "breaker": { "failures": 2 },
                         "items": [ "1.0.32.7.0.255", "1.0.1.8.0.255" ] },
            "meters": [
                { "id": "a", "port": 4100 },
                { "id": "b", "port": 4101, "retries": 0, "auth": "none", "hdlc": { "window": 1 },
                  "backoff": { "max_ms": 5000 }, "items": [ "1.0.14.7.0.255" ] }
            ]
        })");
        const auto site = polling::parseSiteConfig(root, u"site.json"_s);
        QVERIFY2(site.ok(), qPrintable(site.ok() ? QString() : site.error().message));
        const MeterConfig &a = site->meters[0];
        QCOMPARE(a.host, u"10.0.0.5"_s);
        QCOMPARE(a.pollIntervalMs, 60000);
        QCOMPARE(a.retries, 3);
        QCOMPARE(a.authentication, dlms::Authentication::Low);
        QCOMPARE(a.password, QByteArrayLiteral("from-the-environment"));
        QCOMPARE(a.associationMode, polling::AssociationMode::PerPoll);
        QCOMPARE(a.hdlc, (dlms::hdlc::LinkParameters {256, 256, 2, 2}));
        QCOMPARE(a.backoff, (polling::BackoffPolicy {500, 60000, 2.0, 0.0}));
        QCOMPARE(a.breaker.failureThreshold, 2);
        QCOMPARE(a.items.size(), size_t(2));

        // A meter's own keys win, key by key inside nested objects; its items replace the defaults.
        const MeterConfig &b = site->meters[1];
        QCOMPARE(b.retries, 0);
        QCOMPARE(b.authentication, dlms::Authentication::None);
        QVERIFY(b.password.isEmpty());
        QCOMPARE(b.hdlc, (dlms::hdlc::LinkParameters {256, 256, 1, 1}));
        QCOMPARE(b.backoff, (polling::BackoffPolicy {500, 5000, 2.0, 0.0}));
        QCOMPARE(b.items.size(), size_t(1));
        QCOMPARE(b.items[0].key, u"frequency_hz"_s);
        QCOMPARE(b.pollIntervalMs, 60000);
    }

    void errors_data()
    {
        QTest::addColumn<QByteArray>("json");
        QTest::addColumn<QString>("path"); // the JSON path the message must name
        QTest::addColumn<QString>("fragment"); // and something of the reason

        auto meter = [](const QByteArray &keys) -> QByteArray {
            return R"({"meters":[{"id":"m1","host":"127.0.0.1","items":["1.0.32.7.0.255"])"
                + (keys.isEmpty() ? QByteArray() : ',' + keys) + "}]}";
        };
        QTest::newRow("port-too-large") << meter(R"("port":70000)") << u"meters[0].port"_s << u"1 to 65535"_s;
        QTest::newRow("snapshot-not-obis") << meter(R"("snapshot_profile":"instant")")
                                           << u"meters[0].snapshot_profile"_s << u"not an OBIS code"_s;
        QTest::newRow("port-zero") << meter(R"("port":0)") << u"meters[0].port"_s << u"got 0"_s;
        QTest::newRow("port-fractional") << meter(R"("port":4059.5)") << u"meters[0].port"_s << u"integer"_s;
        QTest::newRow("port-string") << meter(R"("port":"4059")") << u"meters[0].port"_s
                                     << u"(got the string '4059')"_s;
        QTest::newRow("transport-unknown")
            << meter(R"("transport":"serial")") << u"meters[0].transport"_s << u"wrapper or hdlc"_s;
        QTest::newRow("auth-unknown") << meter(R"("auth":"high")") << u"meters[0].auth"_s << u"none, low"_s;
        QTest::newRow("auth-hls-md5")
            << meter(R"("auth":"hls-md5")") << u"meters[0].auth"_s << u"\"hls-md5\" is not supported"_s;
        QTest::newRow("auth-hls-sha256")
            << meter(R"("auth":"hls-sha256")") << u"meters[0].auth"_s << u"not supported"_s;
        QTest::newRow("security-not-object")
            << meter(R"("security":"auth-enc")") << u"meters[0].security"_s << u"an object"_s;
        QTest::newRow("security-policy-unknown")
            << meter(R"("security":{"policy":"full"})") << u"meters[0].security.policy"_s << u"auth-enc"_s;
        QTest::newRow("security-title-short") << meter(R"("security":{"system_title":"4D4D4D"})")
                                              << u"meters[0].security.system_title"_s << u"8 bytes"_s;
        QTest::newRow("security-title-not-hex") << meter(R"("security":{"system_title":"XYZ0000000000001"})")
                                                << u"meters[0].security.system_title"_s << u"hex"_s;
        QTest::newRow("security-title-number") << meter(R"("security":{"system_title":42})")
                                               << u"meters[0].security.system_title"_s << u"a number"_s;
        QTest::newRow("security-ek-short") << meter(
            R"("auth":"hls-gmac","security":{"system_title":"4D4D4D0000000001","ek":"0001","ak":"D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF"})")
                                           << u"meters[0].security.ek"_s << u"16 bytes of hex (got 2)"_s;
        QTest::newRow("security-ak-not-hex") << meter(
            R"("security":{"policy":"auth","system_title":"4D4D4D0000000001","ek":"000102030405060708090A0B0C0D0E0F","ak":"zz"})")
                                             << u"meters[0].security.ak"_s << u"not a hex digit"_s;
        QTest::newRow("security-ek-empty")
            << meter(R"("security":{"ek":""})") << u"meters[0].security.ek"_s << u"non-empty string"_s;
        QTest::newRow("security-ek-env-unset") << meter(
            R"("security":{"policy":"enc","system_title":"4D4D4D0000000001","ek":"env:DLMSBRIDGE_TST_UNSET"})")
                                               << u"meters[0].security.ek"_s
                                               << u"DLMSBRIDGE_TST_UNSET is not set"_s;
        QTest::newRow("security-ek-file-missing") << meter(
            R"("security":{"policy":"enc","system_title":"4D4D4D0000000001","ek":"file:/nonexistent/dlmsbridge-ek"})")
                                                  << u"meters[0].security.ek"_s
                                                  << u"cannot read secret file"_s;
        QTest::newRow("hls-without-title")
            << meter(R"("auth":"hls-gmac")") << u"meters[0].security.system_title"_s
            << u"is required with hls-gmac authentication"_s;
        QTest::newRow("hls-without-ak") << meter(
            R"("auth":"hls-gmac","security":{"system_title":"4D4D4D0000000001","ek":"000102030405060708090A0B0C0D0E0F"})")
                                        << u"meters[0].security.ak"_s << u"is required with hls-gmac"_s;
        QTest::newRow("policy-without-ek")
            << meter(R"("security":{"policy":"enc","system_title":"4D4D4D0000000001"})")
            << u"meters[0].security.ek"_s << u"is required with the \"enc\" policy"_s;
        QTest::newRow("auth-policy-without-ak") << meter(
            R"("security":{"policy":"auth-enc","system_title":"4D4D4D0000000001","ek":"000102030405060708090A0B0C0D0E0F"})")
                                                << u"meters[0].security.ak"_s << u"\"auth-enc\" policy"_s;
        QTest::newRow("dedicated-key-without-policy")
            << meter(R"("security":{"dedicated_key":true})") << u"meters[0].security.dedicated_key"_s
            << u"needs a policy other than \"none\""_s;
        QTest::newRow("general-ciphering-not-bool")
            << meter(R"("security":{"general_ciphering":"yes"})") << u"meters[0].security.general_ciphering"_s
            << u"true or false"_s;
        QTest::newRow("polling-security-ek-env-unset") << QByteArray(
            R"({"polling":{"auth":"hls-gmac","security":{"system_title":"4D4D4D0000000001","ek":"env:DLMSBRIDGE_TST_UNSET","ak":"env:DLMSBRIDGE_TST_UNSET"}},"meters":[{"id":"m1","host":"h","items":["1.0.1.8.0.255"]}]})")
                                                       << u"polling.security.ek"_s << u"is not set"_s;
        QTest::newRow("polling-hls-meter-without-ak") << QByteArray(
            R"({"polling":{"auth":"hls-gmac","security":{"system_title":"4D4D4D0000000001"}},"meters":[{"id":"m1","host":"h","items":["1.0.1.8.0.255"],"security":{"ek":"000102030405060708090A0B0C0D0E0F"}}]})")
                                                      << u"meters[0].security.ak"_s << u"is required"_s;
        QTest::newRow("auth-low-without-password")
            << meter(R"("auth":"low")") << u"meters[0].auth"_s << u"needs a \"password\""_s;
        QTest::newRow("password-empty")
            << meter(R"("auth":"low","password":"")") << u"meters[0].password"_s << u"non-empty"_s;
        QTest::newRow("password-env-unset")
            << meter(R"("auth":"low","password":"env:DLMSBRIDGE_TST_UNSET")") << u"meters[0].password"_s
            << u"DLMSBRIDGE_TST_UNSET is not set"_s;
        QTest::newRow("password-file-missing")
            << meter(R"("auth":"low","password":"file:/nonexistent/dlmsbridge-pw")")
            << u"meters[0].password"_s << u"/nonexistent/dlmsbridge-pw"_s;
        QTest::newRow("client-address-zero")
            << meter(R"("client_address":0)") << u"meters[0].client_address"_s << u"1 to 65535"_s;
        QTest::newRow("client-address-hdlc") << meter(R"("transport":"hdlc","client_address":128)")
                                             << u"meters[0].client_address"_s << u"1 to 127 with HDLC"_s;
        QTest::newRow("server-address-hdlc") << meter(R"("transport":"hdlc","server_address":16384)")
                                             << u"meters[0].server_address"_s << u"16383"_s;
        QTest::newRow("physical-address")
            << meter(R"("physical_address":16384)") << u"meters[0].physical_address"_s << u"0 to 16383"_s;
        QTest::newRow("interval-too-short")
            << meter(R"("interval_ms":99)") << u"meters[0].interval_ms"_s << u"100 to 86400000"_s;
        QTest::newRow("timeout-zero") << meter(R"("timeout_ms":0)") << u"meters[0].timeout_ms"_s << u"1 to"_s;
        QTest::newRow("connect-timeout-negative")
            << meter(R"("connect_timeout_ms":-5)") << u"meters[0].connect_timeout_ms"_s << u"1 to"_s;
        QTest::newRow("retries-11") << meter(R"("retries":11)") << u"meters[0].retries"_s << u"0 to 10"_s;
        QTest::newRow("association-unknown") << meter(R"("association":"sometimes")")
                                             << u"meters[0].association"_s << u"keep-open or per-poll"_s;
        QTest::newRow("max-pdu-63") << meter(R"("max_pdu":63)") << u"meters[0].max_pdu"_s << u"64 to 65535"_s;
        QTest::newRow("max-items-zero")
            << meter(R"("max_items_per_request":0)") << u"meters[0].max_items_per_request"_s << u"1 to"_s;
        QTest::newRow("rate-negative")
            << meter(R"("max_requests_per_s":-1)") << u"meters[0].max_requests_per_s"_s << u"0 to"_s;
        QTest::newRow("hdlc-not-object") << meter(R"("hdlc":128)") << u"meters[0].hdlc"_s << u"an object"_s;
        QTest::newRow("hdlc-max-info-2031")
            << meter(R"("hdlc":{"max_info":2031})") << u"meters[0].hdlc.max_info"_s << u"32 to 2030"_s;
        QTest::newRow("hdlc-max-info-31")
            << meter(R"("hdlc":{"max_info":31})") << u"meters[0].hdlc.max_info"_s << u"32 to 2030"_s;
        QTest::newRow("hdlc-window-8")
            << meter(R"("hdlc":{"window":8})") << u"meters[0].hdlc.window"_s << u"1 to 7"_s;
        QTest::newRow("jitter-above-1")
            << meter(R"("backoff":{"jitter":1.5})") << u"meters[0].backoff.jitter"_s << u"0 to 1"_s;
        QTest::newRow("multiplier-below-1")
            << meter(R"("backoff":{"multiplier":0.5})") << u"meters[0].backoff.multiplier"_s << u"1 to 100"_s;
        QTest::newRow("backoff-max-below-initial") << meter(R"("backoff":{"initial_ms":5000,"max_ms":1000})")
                                                   << u"meters[0].backoff.max_ms"_s << u"initial_ms"_s;
        QTest::newRow("breaker-failures-negative")
            << meter(R"("breaker":{"failures":-1})") << u"meters[0].breaker.failures"_s << u"0 to 1000"_s;
        QTest::newRow("id-empty") << QByteArray(
            R"({"meters":[{"id":" ","host":"h","items":["1.0.1.8.0.255"]}]})")
                                  << u"meters[0].id"_s << u"empty"_s;
        QTest::newRow("id-reserved-system")
            << QByteArray(R"({"meters":[{"id":"*","host":"h","items":["1.0.1.8.0.255"]}]})")
            << u"meters[0].id"_s << u"reserved"_s;
        QTest::newRow("host-missing") << QByteArray(R"({"meters":[{"id":"m1","items":["1.0.1.8.0.255"]}]})")
                                      << u"meters[0].host"_s << u"required"_s;
        QTest::newRow("items-missing")
            << QByteArray(R"({"meters":[{"id":"m1","host":"h"}]})") << u"meters[0].items"_s << u"required"_s;
        QTest::newRow("items-empty") << QByteArray(R"({"meters":[{"id":"m1","host":"h","items":[]}]})")
                                     << u"meters[0].items"_s << u"at least one"_s;
        QTest::newRow("items-not-array")
            << QByteArray(R"({"meters":[{"id":"m1","host":"h","items":"1.0.1.8.0.255"}]})")
            << u"meters[0].items"_s << u"an array"_s;
        QTest::newRow("item-bad-obis")
            << QByteArray(R"({"meters":[{"id":"m1","host":"h","items":["1.0.1.8.0.255","1.0.x"]}]})")
            << u"meters[0].items[1]"_s << u"'1.0.x' is not an OBIS code"_s;
        QTest::newRow("item-number") << QByteArray(R"({"meters":[{"id":"m1","host":"h","items":[42]}]})")
                                     << u"meters[0].items[0]"_s << u"a number"_s;
        QTest::newRow("item-without-obis")
            << QByteArray(R"({"meters":[{"id":"m1","host":"h","items":[{"key":"x"}]}]})")
            << u"meters[0].items[0].obis"_s << u"required"_s;
        QTest::newRow("item-attribute-0") << QByteArray(
            R"({"meters":[{"id":"m1","host":"h","items":[{"obis":"1.0.1.8.0.255","attribute":0}]}]})")
                                          << u"meters[0].items[0].attribute"_s << u"1 to 127"_s;
        QTest::newRow("item-class-0") << QByteArray(
            R"({"meters":[{"id":"m1","host":"h","items":[{"obis":"1.0.1.8.0.255","class":0}]}]})")
                                      << u"meters[0].items[0].class"_s << u"1 to 65535"_s;
        QTest::newRow("duplicate-key-bare")
            << QByteArray(R"({"meters":[{"id":"m1","host":"h","items":["1.0.1.8.0.255","1-0:1.8.0"]}]})")
            << u"meters[0].items[1]"_s << u"duplicate key 'energy_import_wh' (also meters[0].items[0])"_s;
        QTest::newRow("duplicate-key-explicit") << QByteArray(
            R"({"meters":[{"id":"m1","host":"h","items":["1.0.32.7.0.255",{"obis":"1.0.52.7.0.255","key":"voltage_l1"}]}]})")
                                                << u"meters[0].items[1].key"_s
                                                << u"duplicate key 'voltage_l1'"_s;
        QTest::newRow("duplicate-id") << QByteArray(R"({"meters":[
                {"id":"m1","host":"h","items":["1.0.1.8.0.255"]},
                {"id":"m2","host":"h","items":["1.0.1.8.0.255"]},
                {"id":"m1","host":"h","port":4060,"items":["1.0.1.8.0.255"]}]})")
                                      << u"meters[2].id"_s << u"duplicate id 'm1' (also meters[0])"_s;
        QTest::newRow("duplicate-id-from-defaults") << QByteArray(R"({"meters":[
                {"host":"h","items":["1.0.1.8.0.255"]},
                {"host":"h","items":["1.0.1.8.0.255"]}]})")
                                                    << u"meters[1].id"_s << u"duplicate id 'h:4059'"_s;
        QTest::newRow("meter-not-object")
            << QByteArray(R"({"meters":[{"id":"m1","host":"h","items":["1.0.1.8.0.255"]}, 7]})")
            << u"meters[1]"_s << u"must be an object"_s;
        QTest::newRow("meters-not-array")
            << QByteArray(R"({"meters":{"id":"m1"}})") << u"meters"_s << u"must be an array"_s;
        QTest::newRow("polling-not-object")
            << QByteArray(R"({"polling":[]})") << u"polling"_s << u"an object"_s;
        QTest::newRow("polling-default-bad")
            << QByteArray(R"({"polling":{"port":0},"meters":[]})") << u"polling.port"_s << u"1 to 65535"_s;
        QTest::newRow("polling-workers-negative")
            << QByteArray(R"({"polling":{"workers":-1}})") << u"polling.workers"_s << u"0 to 1024"_s;
        QTest::newRow("polling-items-bad") << QByteArray(R"({"polling":{"items":["nope"]},"meters":[]})")
                                           << u"polling.items[0]"_s << u"not an OBIS code"_s;
        QTest::newRow("polling-auth-without-password") << QByteArray(
            R"({"polling":{"auth":"low"},"meters":[{"id":"m1","host":"h","items":["1.0.1.8.0.255"]}]})")
                                                       << u"polling.auth"_s << u"needs a \"password\""_s;
        // Rules of validateMeterConfig(), named by where the value was written.
        QTest::newRow("backoff-initial-1")
            << meter(R"("backoff":{"initial_ms":1})") << u"meters[0].backoff.initial_ms"_s
            << u"must be at least 100 (got 1)"_s;
        QTest::newRow("backoff-max-1") << meter(R"("backoff":{"initial_ms":100,"max_ms":1})")
                                       << u"meters[0].backoff.max_ms"_s << u"initial_ms"_s;
        QTest::newRow("breaker-open-1")
            << meter(R"("breaker":{"open_ms":1})") << u"meters[0].breaker.open_ms"_s
            << u"must be at least 1000 (got 1)"_s;
        QTest::newRow("polling-backoff-initial") << QByteArray(
            R"({"polling":{"backoff":{"initial_ms":50}},"meters":[{"id":"m1","host":"h","items":["1.0.1.8.0.255"]}]})")
                                                 << u"polling.backoff.initial_ms"_s << u"at least 100"_s;
        QTest::newRow("polling-breaker-open") << QByteArray(
            R"({"polling":{"breaker":{"open_ms":10}},"meters":[{"id":"m1","host":"h","items":["1.0.1.8.0.255"]}]})")
                                              << u"polling.breaker.open_ms"_s << u"at least 1000"_s;
        QTest::newRow("polling-client-address-hdlc-meter") << QByteArray(
            R"({"polling":{"client_address":200},"meters":[{"id":"m1","host":"h","transport":"hdlc","items":["1.0.1.8.0.255"]}]})")
                                                           << u"polling.client_address"_s
                                                           << u"1 to 127 with HDLC (got 200)"_s;
        QTest::newRow("polling-hdlc-server-default") << QByteArray(
            R"({"polling":{"transport":"hdlc"},"meters":[{"id":"m1","host":"h","server_address":20000,"items":["1.0.1.8.0.255"]}]})")
                                                     << u"meters[0].server_address"_s
                                                     << u"1 to 16383 with HDLC"_s;
    }
    void errors()
    {
        QFETCH(QByteArray, json);
        QFETCH(QString, path);
        QFETCH(QString, fragment);
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString file = writeFile(dir, u"site.json"_s, json);
        const auto site = polling::loadSiteConfig(file);
        QVERIFY2(!site.ok(), "accepted");
        const QString message = site.error().message;
        QVERIFY2(message.startsWith(file + u": "_s + path + u": "_s), qPrintable(message));
        QVERIFY2(message.contains(fragment), qPrintable(message));
    }

    void meterRules_data()
    {
        QTest::addColumn<MeterConfig>("config");
        QTest::addColumn<QString>("field"); // named in the message; empty: valid

        MeterConfig good;
        good.id = u"m7"_s;
        good.host = u"127.0.0.1"_s;
        good.items = {PollItem {u"voltage_l1"_s, dlms::Obis(1, 0, 32, 7, 0, 255), 3, 2}};
        QTest::newRow("defaults") << good << QString();
        QTest::newRow("every-field-changed") << everythingChanged() << QString();
        MeterConfig c = good;
        c.backoff.initialMs = polling::MinBackoffMs;
        c.backoff.maxMs = polling::MinBackoffMs;
        c.breaker.openMs = polling::MinBreakerOpenMs;
        QTest::newRow("at-the-minimums") << c << QString();
        c = good;
        c.transport = dlms::Transport::Hdlc;
        c.clientAddress = 0x7F;
        c.serverAddress = 0x3FFF;
        c.physicalAddress = 0x3FFF;
        QTest::newRow("hdlc-address-maximums") << c << QString();

        // Everything PollScheduler::validate() rejected before these rules had one home.
        c = good;
        c.id.clear();
        c.name = u"Feeder"_s;
        QTest::newRow("empty-id") << c << u"id"_s;
        c = good;
        c.host.clear();
        QTest::newRow("empty-host") << c << u"host"_s;
        c = good;
        c.port = 0;
        QTest::newRow("port-zero") << c << u"port"_s;
        c = good;
        c.items.clear();
        QTest::newRow("no-items") << c << u"items"_s;
        c = good;
        c.pollIntervalMs = 0;
        QTest::newRow("zero-interval") << c << u"interval_ms"_s;
        c = good;
        c.connectTimeoutMs = -1;
        QTest::newRow("negative-connect-timeout") << c << u"connect_timeout_ms"_s;
        c = good;
        c.requestTimeoutMs = 0;
        QTest::newRow("zero-request-timeout") << c << u"timeout_ms"_s;
        c = good;
        c.retries = -1;
        QTest::newRow("negative-retries") << c << u"retries"_s;
        c.retries = 11;
        QTest::newRow("retries-11") << c << u"retries"_s;
        c = good;
        c.maxItemsPerRequest = 0;
        QTest::newRow("zero-max-items") << c << u"max_items_per_request"_s;
        c = good;
        c.authentication = dlms::Authentication::Low;
        QTest::newRow("lls-without-password") << c << u"password"_s;
        c = good;
        c.maxRequestsPerSecond = -1;
        QTest::newRow("negative-rate-cap") << c << u"max_requests_per_s"_s;
        c.maxRequestsPerSecond = std::numeric_limits<double>::quiet_NaN();
        QTest::newRow("nan-rate-cap") << c << u"max_requests_per_s"_s;
        c.maxRequestsPerSecond = std::numeric_limits<double>::infinity();
        QTest::newRow("infinite-rate-cap") << c << u"max_requests_per_s"_s;

        // Rules the site file had alone, or nobody.
        c = good;
        c.items.push_back(c.items.front());
        QTest::newRow("duplicate-item-key") << c << u"items[1].key"_s;
        c = good;
        c.items.front().key.clear();
        QTest::newRow("empty-item-key") << c << u"items[0].key"_s;
        c = good;
        c.items.front().attribute = 0;
        QTest::newRow("item-attribute-0") << c << u"items[0].attribute"_s;
        c = good;
        c.items.front().classId = 0;
        QTest::newRow("item-class-0") << c << u"items[0].class"_s;
        c = good;
        c.clientAddress = 0;
        QTest::newRow("client-address-0") << c << u"client_address"_s;
        c = good;
        c.serverAddress = 0;
        QTest::newRow("server-address-0") << c << u"server_address"_s;
        c = good;
        c.transport = dlms::Transport::Hdlc;
        c.clientAddress = 0x80;
        QTest::newRow("hdlc-client-address-128") << c << u"client_address"_s;
        c.clientAddress = 16;
        c.serverAddress = 0x4000;
        QTest::newRow("hdlc-server-address-16384") << c << u"server_address"_s;
        c = good;
        c.physicalAddress = 0x4000;
        QTest::newRow("physical-address-16384") << c << u"physical_address"_s;
        c = good;
        c.maxPduSize = 63;
        QTest::newRow("pdu-63") << c << u"max_pdu"_s;
        c = good;
        c.hdlc.maxInfoRx = 31;
        QTest::newRow("hdlc-max-info-rx-31") << c << u"hdlc.max_info_rx"_s;
        c = good;
        c.hdlc.windowTx = 0;
        QTest::newRow("hdlc-window-tx-0") << c << u"hdlc.window_tx"_s;
        c = good;
        c.backoff.initialMs = polling::MinBackoffMs - 1;
        QTest::newRow("backoff-initial-99") << c << u"backoff.initial_ms"_s;
        c = good;
        c.backoff = {1000, 999, 2.0, 0.2};
        QTest::newRow("backoff-max-below-initial") << c << u"backoff.max_ms"_s;
        c = good;
        c.backoff.multiplier = std::numeric_limits<double>::quiet_NaN();
        QTest::newRow("backoff-multiplier-nan") << c << u"backoff.multiplier"_s;
        c = good;
        c.backoff.jitter = 1.5;
        QTest::newRow("backoff-jitter-1.5") << c << u"backoff.jitter"_s;
        c = good;
        c.breaker.openMs = polling::MinBreakerOpenMs - 1;
        QTest::newRow("breaker-open-999") << c << u"breaker.open_ms"_s;
        c.breaker.openMs = -1;
        QTest::newRow("breaker-open-negative") << c << u"breaker.open_ms"_s;
        c = good;
        c.breaker.failureThreshold = -1;
        QTest::newRow("breaker-failures-negative") << c << u"breaker.failures"_s;

        for (const auto policy : {dlms::SecurityPolicy::None, dlms::SecurityPolicy::Authenticated,
                 dlms::SecurityPolicy::Encrypted, dlms::SecurityPolicy::AuthenticatedEncrypted})
            QTest::addRow("hls-gmac-%s", qPrintable(dlms::securityPolicyName(policy)))
                << secured(policy) << QString();
        c = secured(dlms::SecurityPolicy::Encrypted);
        c.authentication = dlms::Authentication::None;
        c.security.authenticationKey.clear();
        QTest::newRow("enc-without-ak") << c << QString();
        c = secured(dlms::SecurityPolicy::None);
        c.security.systemTitle.chop(1);
        QTest::newRow("title-7-bytes") << c << u"security.system_title"_s;
        c = secured(dlms::SecurityPolicy::None);
        c.security.blockCipherKey.append('x');
        QTest::newRow("ek-17-bytes") << c << u"security.ek"_s;
        c = secured(dlms::SecurityPolicy::None);
        c.security.authenticationKey.chop(8);
        QTest::newRow("ak-8-bytes") << c << u"security.ak"_s;
        c = secured(dlms::SecurityPolicy::None);
        c.security.systemTitle.clear();
        QTest::newRow("hls-without-title") << c << u"security.system_title"_s;
        c = secured(dlms::SecurityPolicy::None);
        c.security.blockCipherKey.clear();
        QTest::newRow("hls-without-ek") << c << u"security.ek"_s;
        c = secured(dlms::SecurityPolicy::None);
        c.security.authenticationKey.clear();
        QTest::newRow("hls-without-ak") << c << u"security.ak"_s;
        c = secured(dlms::SecurityPolicy::Authenticated);
        c.authentication = dlms::Authentication::None;
        c.security.authenticationKey.clear();
        QTest::newRow("auth-without-ak") << c << u"security.ak"_s;
        c = secured(dlms::SecurityPolicy::Encrypted);
        c.authentication = dlms::Authentication::None;
        c.security.blockCipherKey.clear();
        QTest::newRow("enc-without-ek") << c << u"security.ek"_s;
        c = secured(dlms::SecurityPolicy::None);
        c.security.dedicatedKey = true;
        QTest::newRow("dedicated-key-without-policy") << c << u"security.dedicated_key"_s;
        c = secured(dlms::SecurityPolicy::Authenticated);
        c.security.dedicatedKey = true;
        QTest::newRow("dedicated-key-sent-in-clear") << c << u"security.dedicated_key"_s;
        c = secured(dlms::SecurityPolicy::None);
        c.security.generalCiphering = true;
        QTest::newRow("general-ciphering-without-policy") << c << u"security.general_ciphering"_s;
        for (const auto mechanism :
            {dlms::Authentication::High, dlms::Authentication::HighMd5, dlms::Authentication::HighSha1,
                dlms::Authentication::HighSha256, dlms::Authentication::HighEcdsa}) {
            c = secured(dlms::SecurityPolicy::None);
            c.authentication = mechanism;
            QTest::addRow("unsupported-%s", qPrintable(polling::authenticationKeyName(mechanism)))
                << c << u"auth"_s;
        }
    }
    void meterRules()
    {
        QFETCH(MeterConfig, config);
        QFETCH(QString, field);
        const auto result = polling::validateMeterConfig(config);
        const auto problem = polling::findMeterConfigProblem(config);
        if (field.isEmpty()) {
            QVERIFY2(result.ok(), qPrintable(result.ok() ? QString() : result.error().message));
            QVERIFY(!problem);
            return;
        }
        QVERIFY(!result.ok());
        QVERIFY(problem);
        QCOMPARE(problem->field, field);
        QCOMPARE(result.error().code, dlms::ErrorCode::InvalidArgument);
        // Which meter (its name when the id is what is missing), which field, and why.
        const QString who = config.id.isEmpty() ? config.name : config.id;
        QCOMPARE(result.error().message, u"meter \"%1\": %2 %3"_s.arg(who, field, problem->problem));
    }

    void endpoint_data()
    {
        QTest::addColumn<QString>("host");
        QTest::addColumn<int>("port");
        QTest::addColumn<QString>("expected");
        QTest::newRow("ipv4") << u"127.0.0.1"_s << 4059 << u"127.0.0.1:4059"_s;
        QTest::newRow("ipv6") << u"::1"_s << 4061 << u"[::1]:4061"_s;
        QTest::newRow("name") << u"meter-7.local"_s << 1 << u"meter-7.local:1"_s;
    }
    void endpoint()
    {
        QFETCH(QString, host);
        QFETCH(int, port);
        QFETCH(QString, expected);
        QCOMPARE(polling::formatEndpoint(host, quint16(port)), expected);
        MeterConfig config;
        config.host = host;
        config.port = quint16(port);
        QCOMPARE(config.endpoint(), expected);
    }

    void malformedJson_data()
    {
        QTest::addColumn<QByteArray>("json");
        QTest::addColumn<QString>("fragment");
        // The offset Qt reports for these (where it noticed the problem), and its line/column.
        QTest::newRow("trailing-comma")
            << QByteArray("{\"meters\": [\n  {\"id\": \"a\", }\n]}") << u"at byte 28 (line 2, column 16)"_s;
        QTest::newRow("truncated") << QByteArray("{\"meters\": [") << u"at byte 12 (line 1, column 13)"_s;
        QTest::newRow("empty") << QByteArray() << u"at byte 0 (line 1, column 1)"_s;
    }
    void malformedJson()
    {
        QFETCH(QByteArray, json);
        QFETCH(QString, fragment);
        QTemporaryDir dir;
        const QString file = writeFile(dir, u"broken.json"_s, json);
        const auto site = polling::loadSiteConfig(file);
        QVERIFY(!site.ok());
        QVERIFY2(
            site.error().message.startsWith(file + u": invalid JSON "_s), qPrintable(site.error().message));
        QVERIFY2(site.error().message.contains(fragment), qPrintable(site.error().message));
    }

    void notAnObjectOrNoFile()
    {
        QTemporaryDir dir;
        const QString array = writeFile(dir, u"array.json"_s, "[1, 2]");
        const auto notObject = polling::loadSiteConfig(array);
        QVERIFY(!notObject.ok());
        QCOMPARE(notObject.error().message, array + u": the top level must be a JSON object"_s);

        const QString missing = dir.filePath(u"missing.json"_s);
        const auto absent = polling::loadSiteConfig(missing);
        QVERIFY(!absent.ok());
        QVERIFY2(absent.error().message.startsWith(u"cannot read "_s + missing + u": "_s),
            qPrintable(absent.error().message));
    }

    void emptySite()
    {
        const auto site = polling::parseSiteConfig(QJsonObject {{u"storage"_s, QJsonObject {}}}, u"s.json"_s);
        QVERIFY(site.ok());
        QVERIFY(site->meters.empty());
        QCOMPARE(site->workers, 0);
    }

    void warnings()
    {
        const QJsonObject root = parseObject(R"({
            "http": { "port": 8080 },
            "polling": { "colour": "red", "id": "x", "name": "y", "hdlc": { "max_info": 128, "speed": 9600 } },
            "meters": [
                { "id": "m1", "host": "h", "workers": 2, "colour": "blue",
                  "backoff": { "initial_ms": 100, "ceiling": 1 }, "breaker": { "open_ms": 1000, "x": 1 },
                  "items": [ { "obis": "1.0.1.8.0.255", "scaler": -1 } ] }
            ]
        })");
        QStringList warnings;
        const auto site = polling::parseSiteConfig(root, u"site.json"_s, &warnings);
        QVERIFY2(site.ok(), qPrintable(site.ok() ? QString() : site.error().message));
        warnings.sort();
        QStringList expected {
            u"site.json: meters[0].backoff.ceiling: unknown key, ignored"_s,
            u"site.json: meters[0].breaker.x: unknown key, ignored"_s,
            u"site.json: meters[0].colour: unknown key, ignored"_s,
            u"site.json: meters[0].items[0].scaler: unknown key, ignored"_s,
            u"site.json: meters[0].workers: only valid in \"polling\", ignored"_s,
            u"site.json: polling.colour: unknown key, ignored"_s,
            u"site.json: polling.hdlc.speed: unknown key, ignored"_s,
            u"site.json: polling.id: names one meter, not a default; ignored"_s,
            u"site.json: polling.name: names one meter, not a default; ignored"_s,
        };
        expected.sort();
        QCOMPARE(warnings, expected);
        // The ignored keys changed nothing.
        QCOMPARE(site->meters.front().id, u"m1"_s);
        QCOMPARE(site->meters.front().backoff.initialMs, 100);
        QCOMPARE(site->workers, 0);
    }

    void secrets_data()
    {
        QTest::addColumn<QString>("reference");
        QTest::addColumn<bool>("ok");
        QTest::addColumn<QByteArray>("value"); // when ok
        QTest::addColumn<QString>("names"); // what the error names, when not ok

        QTest::newRow("literal") << u"12345678"_s << true << QByteArray("12345678") << QString();
        QTest::newRow("env") << u"env:DLMSBRIDGE_TST_SECRET"_s << true << QByteArray("s3cret env")
                             << QString();
        QTest::newRow("file") << u"file:@FILE@"_s << true << QByteArray("s3cret file") << QString();
        QTest::newRow("env-unset") << u"env:DLMSBRIDGE_TST_NOT_SET"_s << false << QByteArray()
                                   << u"environment variable DLMSBRIDGE_TST_NOT_SET is not set"_s;
        QTest::newRow("env-empty") << u"env:DLMSBRIDGE_TST_EMPTY"_s << false << QByteArray()
                                   << u"environment variable DLMSBRIDGE_TST_EMPTY is empty"_s;
        QTest::newRow("env-no-name") << u"env:"_s << false << QByteArray() << u"variable name"_s;
        QTest::newRow("file-missing") << u"file:/nonexistent/dlmsbridge/secret"_s << false << QByteArray()
                                      << u"cannot read secret file /nonexistent/dlmsbridge/secret"_s;
        QTest::newRow("file-empty-line")
            << u"file:@EMPTY@"_s << false << QByteArray() << u"empty first line"_s;
    }
    void secrets()
    {
        QFETCH(QString, reference);
        QFETCH(bool, ok);
        QFETCH(QByteArray, value);
        QFETCH(QString, names);
        qputenv("DLMSBRIDGE_TST_SECRET", "s3cret env");
        qputenv("DLMSBRIDGE_TST_EMPTY", "");
        const auto unset = qScopeGuard([] {
            qunsetenv("DLMSBRIDGE_TST_SECRET");
            qunsetenv("DLMSBRIDGE_TST_EMPTY");
        });
        QTemporaryDir dir;
        const QString secretFile = writeFile(dir, u"pw"_s, "s3cret file\r\nsecond line\n");
        const QString emptyFile = writeFile(dir, u"empty"_s, "\nlater s3cret\n");
        reference.replace(u"@FILE@"_s, secretFile).replace(u"@EMPTY@"_s, emptyFile);
        names.replace(u"@FILE@"_s, secretFile);

        const auto secret = polling::resolveSecret(reference);
        QCOMPARE(secret.ok(), ok);
        if (ok) {
            QCOMPARE(*secret, value);
            return;
        }
        QVERIFY2(secret.error().message.contains(names), qPrintable(secret.error().message));
        QVERIFY(!secret.error().message.contains(u"s3cret"_s));
    }

    // The one key resolution the site file and dlmsctl's --ek/--ak share.
    void keys_data()
    {
        QTest::addColumn<QString>("reference");
        QTest::addColumn<bool>("ok");
        QTest::addColumn<QString>("names"); // what the error says, when not ok

        QTest::newRow("literal") << u"C0FFEE0102030405060708090A0B0C0D"_s << true << QString();
        QTest::newRow("literal-lower-spaced")
            << u"c0 ff ee 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d"_s << true << QString();
        QTest::newRow("env") << u"env:DLMSBRIDGE_TST_KEY"_s << true << QString();
        QTest::newRow("file-relative") << u"file:ek.hex"_s << true << QString();
        QTest::newRow("literal-short")
            << u"C0FFEE0102030405060708090A0B0C"_s << false << u"the key must be 16 bytes of hex"_s;
        QTest::newRow("env-not-hex") << u"env:DLMSBRIDGE_TST_BAD_KEY"_s << false
                                     << u"the key in env:DLMSBRIDGE_TST_BAD_KEY must be 16 bytes of hex"_s;
        QTest::newRow("env-unset") << u"env:DLMSBRIDGE_TST_NOT_SET"_s << false
                                   << u"environment variable DLMSBRIDGE_TST_NOT_SET is not set"_s;
        QTest::newRow("file-short") << u"file:short.hex"_s << false
                                    << u"the key in file:short.hex must be 16 bytes of hex"_s;
    }
    void keys()
    {
        QFETCH(QString, reference);
        QFETCH(bool, ok);
        QFETCH(QString, names);
        qputenv("DLMSBRIDGE_TST_KEY", "C0FFEE0102030405060708090A0B0C0D");
        qputenv("DLMSBRIDGE_TST_BAD_KEY", "C0FFEE-s3cret-0102030405060708090A");
        const auto unset = qScopeGuard([] {
            qunsetenv("DLMSBRIDGE_TST_KEY");
            qunsetenv("DLMSBRIDGE_TST_BAD_KEY");
        });
        QTemporaryDir dir;
        QVERIFY(!writeFile(dir, u"ek.hex"_s, "C0FFEE0102030405060708090A0B0C0D\nrest\n").isEmpty());
        QVERIFY(!writeFile(dir, u"short.hex"_s, "C0FFEE01\n").isEmpty());

        const auto key = polling::resolveKey(reference, dir.path());
        QCOMPARE(key.ok(), ok);
        if (ok) {
            QCOMPARE(*key, QByteArray::fromHex("C0FFEE0102030405060708090A0B0C0D"));
            return;
        }
        const QString message = key.error().message;
        QVERIFY2(message.contains(names), qPrintable(message));
        for (const QString &fragment : {u"C0FFEE"_s, u"c0ffee"_s, u"s3cret"_s})
            QVERIFY2(!message.contains(fragment), qPrintable(message));
    }

    void messagesNeverShowThePassword_data()
    {
        QTest::addColumn<QByteArray>("json");
        // A literal secret in a file with another mistake.
        QTest::newRow("literal-other-error") << QByteArray(
            R"({"meters":[{"id":"m1","host":"h","auth":"low","password":"Hunter2-s3cret","port":0,"items":["1.0.1.8.0.255"]}]})");
        // A secret of the wrong type is not echoed.
        QTest::newRow("password-number") << QByteArray(
            R"({"meters":[{"id":"m1","host":"h","auth":"low","password":7654321,"items":["1.0.1.8.0.255"]}]})");
        // A secret file whose first line is empty but the rest is not.
        QTest::newRow("file-secret-empty-line") << QByteArray(
            R"({"meters":[{"id":"m1","host":"h","auth":"low","password":"file:@EMPTY@","items":["1.0.1.8.0.255"]}]})");
    }
    // Keys given literally in a file with a mistake, or of the wrong size: never echoed.
    void messagesNeverShowTheKeys_data()
    {
        QTest::addColumn<QByteArray>("json");
        QTest::newRow("key-other-error") << QByteArray(
            R"({"meters":[{"id":"m1","host":"h","port":0,"auth":"hls-gmac","items":["1.0.1.8.0.255"],
                "security":{"system_title":"4D4D4D0000000001","ek":"C0FFEE0102030405060708090A0B0C0D","ak":"C0FFEE0102030405060708090A0B0C0D"}}]})");
        QTest::newRow("key-too-long") << QByteArray(
            R"({"meters":[{"id":"m1","host":"h","auth":"hls-gmac","items":["1.0.1.8.0.255"],
                "security":{"system_title":"4D4D4D0000000001","ek":"C0FFEE0102030405060708090A0B0C0D0E","ak":"C0FFEE0102030405060708090A0B0C0D"}}]})");
        QTest::newRow("key-not-hex") << QByteArray(
            R"({"meters":[{"id":"m1","host":"h","auth":"hls-gmac","items":["1.0.1.8.0.255"],
                "security":{"system_title":"4D4D4D0000000001","ek":"C0FFEE-s3cret-key-0A0B0C0D0E0F","ak":"C0FFEE0102030405060708090A0B0C0D"}}]})");
        QTest::newRow("key-file-bad") << QByteArray(
            R"({"meters":[{"id":"m1","host":"h","auth":"hls-gmac","items":["1.0.1.8.0.255"],
                "security":{"system_title":"4D4D4D0000000001","ek":"file:@KEY@","ak":"C0FFEE0102030405060708090A0B0C0D"}}]})");
        QTest::newRow("key-number") << QByteArray(
            R"({"meters":[{"id":"m1","host":"h","auth":"hls-gmac","items":["1.0.1.8.0.255"],
                "security":{"system_title":"4D4D4D0000000001","ek":12648430,"ak":"C0FFEE0102030405060708090A0B0C0D"}}]})");
    }
    void messagesNeverShowTheKeys()
    {
        QFETCH(QByteArray, json);
        QTemporaryDir dir;
        const QString keyFile = writeFile(dir, u"ek"_s, "C0FFEE0102030405060708090A0B0C\n");
        json.replace("@KEY@", keyFile.toUtf8());
        const auto site = polling::parseSiteConfig(parseObject(json), u"site.json"_s);
        QVERIFY(!site.ok());
        const QString message = site.error().message;
        QVERIFY2(message.startsWith(u"site.json: meters[0]."_s), qPrintable(message));
        for (const QString &fragment : {u"C0FFEE"_s, u"c0ffee"_s, u"s3cret"_s, u"12648430"_s})
            QVERIFY2(!message.contains(fragment), qPrintable(message));
    }

    void messagesNeverShowThePassword()
    {
        QFETCH(QByteArray, json);
        QTemporaryDir dir;
        const QString emptyFile = writeFile(dir, u"empty"_s, "\nHunter2-s3cret\n");
        json.replace("@EMPTY@", emptyFile.toUtf8());
        QStringList warnings;
        const auto site = polling::parseSiteConfig(parseObject(json), u"site.json"_s, &warnings);
        QVERIFY(!site.ok());
        const QString message = site.error().message;
        QVERIFY2(message.startsWith(u"site.json: meters[0]."_s), qPrintable(message));
        QVERIFY2(!message.contains(u"Hunter2"_s) && !message.contains(u"7654321"_s), qPrintable(message));
        QVERIFY(!warnings.join(u' ').contains(u"Hunter2"_s));
    }
};

QTEST_GUILESS_MAIN(tst_SiteConfig)
#include "tst_siteconfig.moc"
