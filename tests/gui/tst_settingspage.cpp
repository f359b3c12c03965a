#include "markingtranslator.h"

#include <settingspage.h>

#include <bridgeconfig.h>

#include <QtCore/QFile>
#include <QtCore/QJsonArray>
#include <QtCore/QJsonDocument>
#include <QtCore/QSettings>
#include <QtCore/QStandardPaths>
#include <QtCore/QTemporaryDir>
#include <QtTest/QSignalSpy>
#include <QtTest/QtTest>
#include <QtWidgets/QApplication>
#include <QtWidgets/QCheckBox>
#include <QtWidgets/QComboBox>
#include <QtWidgets/QDoubleSpinBox>
#include <QtWidgets/QLabel>
#include <QtWidgets/QLineEdit>
#include <QtWidgets/QPlainTextEdit>
#include <QtWidgets/QPushButton>
#include <QtWidgets/QSpinBox>
#include <QtWidgets/QTabWidget>

using namespace Qt::StringLiterals;

namespace {

// The example's secrets come from these variables; none of the values may ever show up in a widget.
const QByteArray kGatewayToken = "gw-token-5ecret";
const QByteArray kApiToken = "api-token-5ecret";
const QByteArray kMeterPassword = "meter-pass-5ecret";
const QByteArray kMeterToken = "meter-token-5ecret";
const QByteArray kOtherToken = "other-token-5ecret";

QString sourcePath(const QString &relative)
{
    return QStringLiteral(DLMSBRIDGE_SOURCE_DIR) + u'/' + relative;
}

// What a field shows, as text: line edits and editable combos their text, combos their item's
// data, spin boxes their number, check boxes "true"/"false".
QString shown(QWidget *widget)
{
    if (auto *edit = qobject_cast<QLineEdit *>(widget))
        return edit->text();
    if (auto *spin = qobject_cast<QSpinBox *>(widget))
        return QString::number(spin->value());
    if (auto *doubleSpin = qobject_cast<QDoubleSpinBox *>(widget))
        return QString::number(doubleSpin->value());
    if (auto *check = qobject_cast<QCheckBox *>(widget))
        return check->isChecked() ? u"true"_s : u"false"_s;
    if (auto *combo = qobject_cast<QComboBox *>(widget))
        return combo->isEditable() ? combo->currentText() : combo->currentData().toString();
    if (auto *text = qobject_cast<QPlainTextEdit *>(widget))
        return text->toPlainText();
    return u"<unknown widget>"_s;
}

bool setField(QWidget *widget, const QVariant &value)
{
    if (auto *edit = qobject_cast<QLineEdit *>(widget)) {
        edit->setText(value.toString());
    } else if (auto *spin = qobject_cast<QSpinBox *>(widget)) {
        spin->setValue(value.toInt());
    } else if (auto *doubleSpin = qobject_cast<QDoubleSpinBox *>(widget)) {
        doubleSpin->setValue(value.toDouble());
    } else if (auto *check = qobject_cast<QCheckBox *>(widget)) {
        check->setChecked(value.toBool());
    } else if (auto *combo = qobject_cast<QComboBox *>(widget)) {
        if (combo->isEditable()) {
            combo->setEditText(value.toString());
        } else {
            int index = combo->findData(value);
            if (index < 0)
                index = combo->findData(value.toInt());
            if (index < 0)
                return false;
            combo->setCurrentIndex(index);
        }
    } else if (auto *text = qobject_cast<QPlainTextEdit *>(widget)) {
        text->setPlainText(value.toString());
    } else {
        return false;
    }
    return true;
}

void setJsonPath(QJsonObject &object, QStringList path, const QJsonValue &value)
{
    const QString key = path.takeFirst();
    if (path.isEmpty()) {
        object.insert(key, value);
        return;
    }
    QJsonObject child = object.value(key).toObject();
    setJsonPath(child, path, value);
    object.insert(key, child);
}

QJsonObject json(const app::BridgeConfig &config)
{
    return app::bridgeConfigToJson(config, true);
}

} // namespace

class TestSettingsPage final : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void init();

    void showsConfig_data();
    void showsConfig();
    void unchangedEqualsBase();
    void editLandsInConfig_data();
    void editLandsInConfig();
    void invalidValueNamesField_data();
    void invalidValueNamesField();
    void inMemoryDefaultsAccepted();
    void emptyHostAllowedWithMqttOff();
    void applyEmitsWhenValid();
    void revertDropsEdits();
    void fieldsEnabledSensibly();

    void secretsNotPrefilled();
    void emptySecretKeepsItAndItsReference();
    void typedSecretReplacesIt_data();
    void typedSecretReplacesIt();
    void usernameAndPassword();
    void deviceModeDropsBrokerCredentials();
    void secretsNeverShown();

    void meterDefaultsRoundTrip();
    void meterDefaultsEdited();
    void meterDefaultsSettings();

    void languageChosenOnce();
    void setLanguageSilent();
    void retranslateKeepsSelection();

private:
    QWidget *field(const QString &name) const;

    std::unique_ptr<QTemporaryDir> m_dir;
    app::BridgeConfig m_base;
    std::unique_ptr<SettingsPage> m_page;
};

QWidget *TestSettingsPage::field(const QString &name) const
{
    return m_page->findChild<QWidget *>(name);
}

void TestSettingsPage::initTestCase()
{
    QStandardPaths::setTestModeEnabled(true);
    qputenv("TB_GATEWAY_TOKEN", kGatewayToken);
    qputenv("DLMSBRIDGE_API_TOKEN", kApiToken);
    qputenv("DLMSBRIDGE_SUBSTATION2_PASSWORD", kMeterPassword);
    qputenv("TB_PV_INVERTER_3_TOKEN", kMeterToken);
    qputenv("DLMSBRIDGE_TEST_OTHER_TOKEN", kOtherToken);
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
    for (const QString &name : {u"ca.pem"_s, u"client.crt"_s, u"client.key"_s}) {
        QFile file(m_dir->filePath(name));
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.write("-----BEGIN TEST-----\n");
    }
    auto loaded = app::loadBridgeConfig(sourcePath(u"packaging/dlmsbridge.example.json"_s));
    QVERIFY2(loaded.ok(), loaded ? "" : qPrintable(loaded.error().message));
    m_base = *loaded;
    // The fixture the rows rely on: a gateway token by reference, TLS off, three meters.
    QCOMPARE(m_base.secretReferences.value(u"mqtt.token"_s), u"env:TB_GATEWAY_TOKEN"_s);
    QCOMPARE(m_base.site.meters.size(), size_t(3));
}

void TestSettingsPage::init()
{
    m_page = std::make_unique<SettingsPage>();
    m_page->setConfig(m_base);
}

void TestSettingsPage::showsConfig_data()
{
    QTest::addColumn<QString>("objectName");
    QTest::addColumn<QString>("expected");
    const QString packaging = sourcePath(u"packaging"_s);
    const std::pair<const char *, QString> rows[] = {{"mqttEnabled", u"true"_s}, {"mqttMode", u"gateway"_s},
        {"mqttHost", u"192.168.10.5"_s}, {"mqttPort", u"1883"_s}, {"mqttProtocol", u"3.1.1"_s},
        {"mqttClientId", u"dlmsbridge-substation-gateway"_s}, {"mqttCredentials", u"1"_s},
        {"mqttToken", QString()}, {"mqttUsername", QString()}, {"mqttPassword", QString()},
        {"tlsEnabled", u"false"_s}, {"tlsCaFile", u"/etc/ssl/certs/ca-certificates.crt"_s},
        {"tlsCertFile", packaging + u"/tls/dlmsbridge-client.crt"_s},
        {"tlsKeyFile", packaging + u"/tls/dlmsbridge-client.key"_s}, {"tlsVerifyPeer", u"true"_s},
        {"mqttKeepalive", u"30"_s}, {"mqttMaxRate", u"100"_s}, {"mqttMaxInflight", u"256"_s},
        {"mqttTopicTemplate", u"meters/{name}/telemetry"_s}, {"mqttDeviceType", u"DLMS meter"_s},
        {"storagePath", u"/var/lib/dlmsbridge/dlmsbridge.db"_s}, {"readingsRetention", u"90"_s},
        {"metricsRetention", u"400"_s}, {"eventsRetention", u"90"_s}, {"maxOutboxMb", u"512"_s},
        {"maxOutboxAgeHours", u"168"_s}, {"pollingWorkers", u"0"_s}, {"monitorInterface", u"eth0"_s},
        {"rollupSeconds", u"60"_s}, {"httpEnabled", u"true"_s}, {"httpAddress", u"127.0.0.1"_s},
        {"httpPort", u"8000"_s}, {"httpToken", QString()}};
    for (const auto &[name, expected] : rows)
        QTest::newRow(name) << QString::fromLatin1(name) << expected;
}

void TestSettingsPage::showsConfig()
{
    QFETCH(QString, objectName);
    QFETCH(QString, expected);
    QWidget *widget = field(objectName);
    QVERIFY2(widget, qPrintable(objectName));
    QCOMPARE(shown(widget), expected);
}

void TestSettingsPage::unchangedEqualsBase()
{
    auto edited = m_page->editedConfig(m_base);
    QVERIFY2(edited.ok(), edited ? "" : qPrintable(edited.error().message));
    QCOMPARE(json(*edited), json(m_base));
    QVERIFY(edited->site.meters == m_base.site.meters);
    QVERIFY(edited->publishing == m_base.publishing);
    QVERIFY(edited->mqtt == m_base.mqtt);
    QCOMPARE(edited->http, m_base.http);
    QCOMPARE(edited->storage, m_base.storage);
    QCOMPARE(edited->monitor, m_base.monitor);
    QCOMPARE(edited->secretReferences, m_base.secretReferences);
    QCOMPARE(edited->fileName, m_base.fileName);
}

void TestSettingsPage::editLandsInConfig_data()
{
    QTest::addColumn<QVariantMap>("edits"); // objectName -> value
    QTest::addColumn<QVariantMap>("expected"); // JSON path -> value in bridgeConfigToJson

    QTest::newRow("mqtt-off") << QVariantMap {{u"mqttEnabled"_s, false}}
                              << QVariantMap {{u"mqtt.enabled"_s, false}};
    QTest::newRow("mqtt-mode-plain") << QVariantMap {{u"mqttMode"_s, u"plain"_s}}
                                     << QVariantMap {{u"mqtt.mode"_s, u"plain"_s}};
    QTest::newRow("mqtt-host") << QVariantMap {{u"mqttHost"_s, u"broker.local"_s}}
                               << QVariantMap {{u"mqtt.host"_s, u"broker.local"_s}};
    QTest::newRow("mqtt-port") << QVariantMap {{u"mqttPort"_s, 8883}} << QVariantMap {{u"mqtt.port"_s, 8883}};
    QTest::newRow("mqtt-protocol-5") << QVariantMap {{u"mqttProtocol"_s, u"5"_s}}
                                     << QVariantMap {{u"mqtt.protocol"_s, u"5"_s}};
    QTest::newRow("mqtt-client-id") << QVariantMap {{u"mqttClientId"_s, u"bridge-7"_s}}
                                    << QVariantMap {{u"mqtt.client_id"_s, u"bridge-7"_s}};
    QTest::newRow("mqtt-keepalive") << QVariantMap {{u"mqttKeepalive"_s, 120}}
                                    << QVariantMap {{u"mqtt.keepalive_s"_s, 120}};
    QTest::newRow("mqtt-rate") << QVariantMap {{u"mqttMaxRate"_s, 12.5}}
                               << QVariantMap {{u"mqtt.max_messages_per_s"_s, 12.5}};
    QTest::newRow("mqtt-inflight") << QVariantMap {{u"mqttMaxInflight"_s, 16}}
                                   << QVariantMap {{u"mqtt.max_inflight"_s, 16}};
    QTest::newRow("mqtt-topic-template") << QVariantMap {{u"mqttTopicTemplate"_s, u"site/{id}"_s}}
                                         << QVariantMap {{u"mqtt.topic_template"_s, u"site/{id}"_s}};
    QTest::newRow("mqtt-device-type") << QVariantMap {{u"mqttDeviceType"_s, u"Feeder"_s}}
                                      << QVariantMap {{u"mqtt.device_type"_s, u"Feeder"_s}};
    const QString ca = m_dir->filePath(u"ca.pem"_s);
    const QString cert = m_dir->filePath(u"client.crt"_s);
    const QString key = m_dir->filePath(u"client.key"_s);
    QTest::newRow("tls-on") << QVariantMap {{u"tlsEnabled"_s, true}, {u"tlsCaFile"_s, ca},
        {u"tlsCertFile"_s, cert}, {u"tlsKeyFile"_s, key}, {u"tlsVerifyPeer"_s, false}}
                            << QVariantMap {{u"mqtt.tls.enabled"_s, true}, {u"mqtt.tls.ca_file"_s, ca},
                                   {u"mqtt.tls.cert_file"_s, cert}, {u"mqtt.tls.key_file"_s, key},
                                   {u"mqtt.tls.verify_peer"_s, false}};
    QTest::newRow("storage-path") << QVariantMap {{u"storagePath"_s, u"/tmp/elsewhere/readings.db"_s}}
                                  << QVariantMap {{u"storage.path"_s, u"/tmp/elsewhere/readings.db"_s}};
    QTest::newRow("storage-path-default") << QVariantMap {{u"storagePath"_s, QString()}}
                                          << QVariantMap {{u"storage.path"_s, app::defaultDatabasePath()}};
    QTest::newRow("readings-forever") << QVariantMap {{u"readingsRetention"_s, 0}}
                                      << QVariantMap {{u"storage.readings_retention_days"_s, 0}};
    QTest::newRow("metrics-retention") << QVariantMap {{u"metricsRetention"_s, 30}}
                                       << QVariantMap {{u"storage.metrics_retention_days"_s, 30}};
    QTest::newRow("events-retention")
        << QVariantMap {{u"eventsRetention"_s, 7}} << QVariantMap {{u"storage.events_retention_days"_s, 7}};
    QTest::newRow("outbox-size") << QVariantMap {{u"maxOutboxMb"_s, 64}}
                                 << QVariantMap {{u"storage.max_outbox_mb"_s, 64}};
    QTest::newRow("outbox-age") << QVariantMap {{u"maxOutboxAgeHours"_s, 0}}
                                << QVariantMap {{u"storage.max_outbox_age_hours"_s, 0}};
    QTest::newRow("workers") << QVariantMap {{u"pollingWorkers"_s, 4}}
                             << QVariantMap {{u"polling.workers"_s, 4}};
    QTest::newRow("monitor-interface") << QVariantMap {{u"monitorInterface"_s, u"wlan0"_s}}
                                       << QVariantMap {{u"monitor.interface"_s, u"wlan0"_s}};
    QTest::newRow("monitor-every-interface") << QVariantMap {{u"monitorInterface"_s, QString()}}
                                             << QVariantMap {{u"monitor.interface"_s, QString()}};
    QTest::newRow("rollup") << QVariantMap {{u"rollupSeconds"_s, 300}}
                            << QVariantMap {{u"monitor.rollup_s"_s, 300}};
    QTest::newRow("http-off") << QVariantMap {{u"httpEnabled"_s, false}}
                              << QVariantMap {{u"http.enabled"_s, false}};
    QTest::newRow("http-address-v6") << QVariantMap {{u"httpAddress"_s, u"::1"_s}}
                                     << QVariantMap {{u"http.address"_s, u"::1"_s}};
    QTest::newRow("http-any-port") << QVariantMap {{u"httpPort"_s, 0}} << QVariantMap {{u"http.port"_s, 0}};
}

void TestSettingsPage::editLandsInConfig()
{
    QFETCH(QVariantMap, edits);
    QFETCH(QVariantMap, expected);
    for (auto it = edits.cbegin(); it != edits.cend(); ++it)
        QVERIFY2(setField(field(it.key()), it.value()), qPrintable(it.key()));

    auto edited = m_page->editedConfig(m_base);
    QVERIFY2(edited.ok(), edited ? "" : qPrintable(edited.error().message));
    // Exactly the edited keys changed: the rest of the document, meters and secrets included.
    QJsonObject want = json(m_base);
    for (auto it = expected.cbegin(); it != expected.cend(); ++it)
        setJsonPath(want, it.key().split(u'.'), QJsonValue::fromVariant(it.value()));
    QCOMPARE(json(*edited), want);
    QVERIFY(edited->publishing == m_base.publishing);
    QCOMPARE(edited->mqtt.client.username, QString::fromUtf8(kGatewayToken));
}

void TestSettingsPage::invalidValueNamesField_data()
{
    QTest::addColumn<QVariantMap>("edits");
    QTest::addColumn<QString>("invalidField");
    QTest::addColumn<QString>("path"); // in the message

    QTest::newRow("mqtt-port-0") << QVariantMap {{u"mqttPort"_s, 0}} << u"mqttPort"_s << u"mqtt.port"_s;
    QTest::newRow("mqtt-empty-host") << QVariantMap {{u"mqttHost"_s, u"  "_s}} << u"mqttHost"_s
                                     << u"mqtt.host"_s;
    QTest::newRow("tls-missing-ca") << QVariantMap {{u"tlsEnabled"_s, true},
        {u"tlsCaFile"_s, m_dir->filePath(u"missing-ca.pem"_s)}}
                                    << u"tlsCaFile"_s << u"mqtt.tls.ca_file"_s;
    QTest::newRow("plain-topic-without-placeholder")
        << QVariantMap {{u"mqttMode"_s, u"plain"_s}, {u"mqttTopicTemplate"_s, u"meters/all"_s}}
        << u"mqttTopicTemplate"_s << u"mqtt.topic_template"_s;
    QTest::newRow("topic-wildcard") << QVariantMap {{u"mqttTopicTemplate"_s, u"meters/+/{id}"_s}}
                                    << u"mqttTopicTemplate"_s << u"mqtt.topic_template"_s;
    QTest::newRow("http-address-name")
        << QVariantMap {{u"httpAddress"_s, u"localhost"_s}} << u"httpAddress"_s << u"http.address"_s;
    QTest::newRow("interface-with-space") << QVariantMap {{u"monitorInterface"_s, u"eth 0"_s}}
                                          << u"monitorInterface"_s << u"monitor.interface"_s;
    QTest::newRow("bad-obis-default-item") << QVariantMap {{u"defaultItems"_s, u"1.0.32.7.0.255\n1.0.99"_s}}
                                           << u"defaultItems"_s << u"new_meter.items"_s;
    QTest::newRow("duplicate-default-key")
        << QVariantMap {{u"defaultItems"_s, u"v=1.0.32.7.0.255\nv=1.0.52.7.0.255"_s}} << u"defaultItems"_s
        << u"new_meter.items"_s;
    QTest::newRow("old-default-item-syntax")
        << QVariantMap {{u"defaultItems"_s, u"1.0.32.7.0.255 voltage 3 2"_s}} << u"defaultItems"_s
        << u"new_meter.items"_s;
    QTest::newRow("no-default-items")
        << QVariantMap {{u"defaultItems"_s, u"\n  \n"_s}} << u"defaultItems"_s << u"new_meter.items"_s;
    QTest::newRow("token-missing") << QVariantMap {{u"mqttCredentials"_s, 2}, {u"mqttUsername"_s, QString()}}
                                   << u"mqttUsername"_s << u"mqtt.username"_s;
}

void TestSettingsPage::invalidValueNamesField()
{
    QFETCH(QVariantMap, edits);
    QFETCH(QString, invalidField);
    QFETCH(QString, path);

    QMap<QString, QString> before;
    for (auto it = edits.cbegin(); it != edits.cend(); ++it) {
        before.insert(it.key(), shown(field(it.key())));
        QVERIFY2(setField(field(it.key()), it.value()), qPrintable(it.key()));
    }
    auto edited = m_page->editedConfig(m_base);
    QVERIFY(!edited.ok());
    const QString message = edited.error().message;
    QVERIFY2(message.startsWith(u"settings: "_s + path + u": "_s), qPrintable(message));
    for (const QByteArray &secret : {kGatewayToken, kApiToken, kMeterPassword, kMeterToken})
        QVERIFY(!message.contains(QString::fromUtf8(secret)));

    // Apply refuses it, says why and points at the field.
    QSignalSpy applied(m_page.get(), &SettingsPage::applyRequested);
    m_page->findChild<QPushButton *>(u"applyButton"_s)->click();
    QCOMPARE(applied.count(), 0);
    QCOMPARE(m_page->findChild<QLabel *>(u"applyResult"_s)->text(), message);
    QCOMPARE(field(invalidField)->property("invalid").toBool(), true);
    QVERIFY(m_page->findChild<QTabWidget *>(u"tabs"_s)->currentWidget()->isAncestorOf(field(invalidField)));

    // Nothing else moved: putting the edited fields back gives the configuration in force.
    for (auto it = before.cbegin(); it != before.cend(); ++it)
        QVERIFY(setField(field(it.key()), it.value()));
    auto fixed = m_page->editedConfig(m_base);
    QVERIFY2(fixed.ok(), fixed ? "" : qPrintable(fixed.error().message));
    QCOMPARE(json(*fixed), json(m_base));
    m_page->findChild<QPushButton *>(u"applyButton"_s)->click();
    QCOMPARE(applied.count(), 1);
    QCOMPARE(field(invalidField)->property("invalid").toBool(), false);
}

void TestSettingsPage::inMemoryDefaultsAccepted()
{
    // What the demo builds without a file: every default, no storage path yet.
    const app::BridgeConfig defaults;
    m_page->setConfig(defaults);
    auto edited = m_page->editedConfig(defaults);
    QVERIFY2(edited.ok(), edited ? "" : qPrintable(edited.error().message));
    QCOMPARE(edited->storage.path, app::defaultDatabasePath());
    QCOMPARE(edited->http, defaults.http);
    QCOMPARE(edited->monitor, defaults.monitor);
    QVERIFY(edited->mqtt.client.username.isEmpty());
}

void TestSettingsPage::emptyHostAllowedWithMqttOff()
{
    setField(field(u"mqttEnabled"_s), false);
    setField(field(u"mqttHost"_s), QString());
    auto edited = m_page->editedConfig(m_base);
    QVERIFY2(edited.ok(), edited ? "" : qPrintable(edited.error().message));
    QCOMPARE(edited->mqtt.enabled, false);
    QCOMPARE(edited->mqtt.client.host, m_base.mqtt.client.host);
}

void TestSettingsPage::applyEmitsWhenValid()
{
    QSignalSpy applied(m_page.get(), &SettingsPage::applyRequested);
    setField(field(u"mqttPort"_s), 1884);
    m_page->findChild<QPushButton *>(u"applyButton"_s)->click();
    QCOMPARE(applied.count(), 1);
    auto *result = m_page->findChild<QLabel *>(u"applyResult"_s);
    QVERIFY(result->text().isEmpty());
    m_page->showApplyResult(u"Applied; the HTTP API restarts."_s, true);
    QCOMPARE(result->text(), u"Applied; the HTTP API restarts."_s);
    QCOMPARE(result->property("ok").toBool(), true);
    m_page->showApplyResult(u"cannot save"_s, false);
    QCOMPARE(result->property("ok").toBool(), false);
}

void TestSettingsPage::revertDropsEdits()
{
    setField(field(u"mqttHost"_s), u"elsewhere"_s);
    setField(field(u"httpToken"_s), u"typed"_s);
    setField(field(u"rollupSeconds"_s), 5);
    polling::MeterConfig defaults = m_page->meterDefaults();
    defaults.retries = 7;
    m_page->setMeterDefaults(defaults);
    setField(field(u"defaultRetries"_s), 3);
    setField(field(u"defaultItems"_s), u"1.0.1.8.0.255"_s);
    QCOMPARE(m_page->meterDefaults().retries, 3);

    m_page->findChild<QPushButton *>(u"revertButton"_s)->click();
    QCOMPARE(shown(field(u"mqttHost"_s)), u"192.168.10.5"_s);
    QCOMPARE(shown(field(u"httpToken"_s)), QString());
    QCOMPARE(m_page->meterDefaults(), defaults);
    auto edited = m_page->editedConfig(m_base);
    QVERIFY(edited.ok());
    QCOMPARE(json(*edited), json(m_base));
}

void TestSettingsPage::fieldsEnabledSensibly()
{
    auto enabled = [this](const char *name) { return field(QString::fromLatin1(name))->isEnabled(); };
    // TLS files only with TLS on.
    QVERIFY(!enabled("tlsCaFile"));
    QVERIFY(!enabled("tlsKeyBrowse"));
    setField(field(u"tlsEnabled"_s), true);
    QVERIFY(enabled("tlsCaFile"));
    QVERIFY(enabled("tlsKeyBrowse"));
    // Token or username/password, never both.
    QVERIFY(enabled("mqttToken"));
    QVERIFY(!enabled("mqttUsername"));
    QVERIFY(!enabled("mqttPassword"));
    setField(field(u"mqttCredentials"_s), 2);
    QVERIFY(!enabled("mqttToken"));
    QVERIFY(enabled("mqttUsername"));
    QVERIFY(enabled("mqttPassword"));
    // The topic template is a plain-mode thing, the device type a gateway one.
    QVERIFY(!enabled("mqttTopicTemplate"));
    QVERIFY(enabled("mqttDeviceType"));
    setField(field(u"mqttMode"_s), u"plain"_s);
    QVERIFY(enabled("mqttTopicTemplate"));
    QVERIFY(!enabled("mqttDeviceType"));
    // MQTT off switches its whole group off; the API likewise.
    setField(field(u"mqttEnabled"_s), false);
    QVERIFY(!enabled("mqttHost"));
    QVERIFY(!enabled("mqttUsername"));
    QVERIFY(!enabled("tlsCaFile"));
    QVERIFY(enabled("mqttEnabled"));
    QVERIFY(enabled("httpToken"));
    setField(field(u"httpEnabled"_s), false);
    QVERIFY(!enabled("httpToken"));
    QVERIFY(!enabled("httpPort"));
}

void TestSettingsPage::secretsNotPrefilled()
{
    for (const char *name : {"mqttToken", "mqttPassword", "httpToken"}) {
        auto *edit = qobject_cast<QLineEdit *>(field(QString::fromLatin1(name)));
        QVERIFY(edit);
        QVERIFY(edit->text().isEmpty());
        QCOMPARE(edit->echoMode(), QLineEdit::Password);
    }
    // Set secrets say so (with their reference, which is not a secret).
    auto *token = qobject_cast<QLineEdit *>(field(u"mqttToken"_s));
    QCOMPARE(token->placeholderText(), u"unchanged (env:TB_GATEWAY_TOKEN)"_s);
    auto *httpToken = qobject_cast<QLineEdit *>(field(u"httpToken"_s));
    QCOMPARE(httpToken->placeholderText(), u"unchanged (env:DLMSBRIDGE_API_TOKEN)"_s);
    // A literal secret: "unchanged" alone.
    app::BridgeConfig literal = m_base;
    literal.secretReferences.remove(u"http.token"_s);
    m_page->setConfig(literal);
    QCOMPARE(httpToken->placeholderText(), u"unchanged"_s);
    QVERIFY(httpToken->text().isEmpty());
    // No secret: no "unchanged".
    literal.http.token.clear();
    m_page->setConfig(literal);
    QVERIFY(!httpToken->placeholderText().contains(u"unchanged"_s));
}

void TestSettingsPage::emptySecretKeepsItAndItsReference()
{
    auto edited = m_page->editedConfig(m_base);
    QVERIFY(edited.ok());
    QCOMPARE(edited->mqtt.client.username, QString::fromUtf8(kGatewayToken));
    QCOMPARE(edited->secretReferences.value(u"mqtt.token"_s), u"env:TB_GATEWAY_TOKEN"_s);
    QCOMPARE(edited->http.token, kApiToken);
    QCOMPARE(edited->secretReferences.value(u"http.token"_s), u"env:DLMSBRIDGE_API_TOKEN"_s);
    const QJsonObject document = json(*edited);
    QCOMPARE(document.value(u"mqtt"_s).toObject().value(u"token"_s).toString(), u"env:TB_GATEWAY_TOKEN"_s);
    QCOMPARE(
        document.value(u"http"_s).toObject().value(u"token"_s).toString(), u"env:DLMSBRIDGE_API_TOKEN"_s);
}

void TestSettingsPage::typedSecretReplacesIt_data()
{
    QTest::addColumn<QString>("objectName");
    QTest::addColumn<QString>("typed");
    QTest::addColumn<QString>("referenceName");
    QTest::addColumn<QString>("reference"); // expected afterwards, empty = none
    QTest::addColumn<QByteArray>("value"); // expected resolved value

    QTest::newRow("mqtt-token-literal")
        << u"mqttToken"_s << u"typed-token"_s << u"mqtt.token"_s << QString() << QByteArray("typed-token");
    QTest::newRow("mqtt-token-reference")
        << u"mqttToken"_s << u"env:DLMSBRIDGE_TEST_OTHER_TOKEN"_s << u"mqtt.token"_s
        << u"env:DLMSBRIDGE_TEST_OTHER_TOKEN"_s << kOtherToken;
    QTest::newRow("http-token-literal")
        << u"httpToken"_s << u"typed-api"_s << u"http.token"_s << QString() << QByteArray("typed-api");
    QTest::newRow("http-token-reference")
        << u"httpToken"_s << u"env:DLMSBRIDGE_TEST_OTHER_TOKEN"_s << u"http.token"_s
        << u"env:DLMSBRIDGE_TEST_OTHER_TOKEN"_s << kOtherToken;
}

void TestSettingsPage::typedSecretReplacesIt()
{
    QFETCH(QString, objectName);
    QFETCH(QString, typed);
    QFETCH(QString, referenceName);
    QFETCH(QString, reference);
    QFETCH(QByteArray, value);

    setField(field(objectName), typed);
    auto edited = m_page->editedConfig(m_base);
    QVERIFY2(edited.ok(), edited ? "" : qPrintable(edited.error().message));
    QCOMPARE(edited->secretReferences.value(referenceName), reference);
    const QByteArray actual
        = referenceName == u"http.token"_s ? edited->http.token : edited->mqtt.client.username.toUtf8();
    QCOMPARE(actual, value);
    // The other secrets are untouched.
    QCOMPARE(edited->publishing, m_base.publishing);
    QCOMPARE(edited->findMeter(u"substation-2"_s)->password, kMeterPassword);
    if (referenceName == u"http.token"_s)
        QCOMPARE(edited->mqtt.client.username, m_base.mqtt.client.username);
    else
        QCOMPARE(edited->http.token, m_base.http.token);
    // Applied and shown again: still not prefilled.
    m_page->setConfig(*edited);
    QVERIFY(shown(field(objectName)).isEmpty());
}

void TestSettingsPage::usernameAndPassword()
{
    setField(field(u"mqttCredentials"_s), 2);
    setField(field(u"mqttUsername"_s), u"bridge"_s);
    setField(field(u"mqttPassword"_s), u"pa55"_s);
    auto edited = m_page->editedConfig(m_base);
    QVERIFY2(edited.ok(), edited ? "" : qPrintable(edited.error().message));
    QCOMPARE(edited->mqtt.client.username, u"bridge"_s);
    QCOMPARE(edited->mqtt.client.password, u"pa55"_s);
    QVERIFY(!edited->secretReferences.contains(u"mqtt.token"_s));

    // Shown again: the username (not a secret when written as itself), never the password; an
    // empty password field keeps it.
    m_page->setConfig(*edited);
    QCOMPARE(shown(field(u"mqttCredentials"_s)), u"2"_s);
    QCOMPARE(shown(field(u"mqttUsername"_s)), u"bridge"_s);
    QCOMPARE(shown(field(u"mqttPassword"_s)), QString());
    QCOMPARE(qobject_cast<QLineEdit *>(field(u"mqttPassword"_s))->placeholderText(), u"unchanged"_s);
    auto again = m_page->editedConfig(*edited);
    QVERIFY(again.ok());
    QCOMPARE(again->mqtt.client.password, u"pa55"_s);
    QCOMPARE(json(*again), json(*edited));

    // Back to no credentials: both gone.
    setField(field(u"mqttCredentials"_s), 0);
    auto none = m_page->editedConfig(*edited);
    QVERIFY(none.ok());
    QVERIFY(none->mqtt.client.username.isEmpty());
    QVERIFY(none->mqtt.client.password.isEmpty());
}

void TestSettingsPage::deviceModeDropsBrokerCredentials()
{
    setField(field(u"mqttMode"_s), u"device"_s);
    QCOMPARE(shown(field(u"mqttCredentials"_s)), u"0"_s);
    QVERIFY(!field(u"mqttCredentials"_s)->isEnabled());
    QVERIFY(!field(u"mqttToken"_s)->isEnabled());
    auto edited = m_page->editedConfig(m_base);
    QVERIFY2(edited.ok(), edited ? "" : qPrintable(edited.error().message));
    QCOMPARE(edited->mqtt.format.mode, mqtt::Mode::Device);
    QVERIFY(edited->mqtt.client.username.isEmpty());
    QVERIFY(!edited->secretReferences.contains(u"mqtt.token"_s));
    // The meters' own tokens are what Device mode uses: kept.
    QCOMPARE(edited->publishing, m_base.publishing);
    QCOMPARE(edited->secretReferences.value(u"meters/pv-inverter-3/mqtt.token"_s),
        u"env:TB_PV_INVERTER_3_TOKEN"_s);
}

void TestSettingsPage::secretsNeverShown()
{
    // With every kind of secret in force, and after a round of edits and a revert.
    setField(field(u"mqttCredentials"_s), 2);
    m_page->findChild<QPushButton *>(u"revertButton"_s)->click();
    const auto edits = m_page->findChildren<QLineEdit *>();
    QVERIFY(edits.size() > 10);
    for (const QLineEdit *edit : edits) {
        for (const QByteArray &secret : {kGatewayToken, kApiToken, kMeterPassword, kMeterToken}) {
            QVERIFY2(!edit->text().contains(QString::fromUtf8(secret)), qPrintable(edit->objectName()));
            QVERIFY(!edit->placeholderText().contains(QString::fromUtf8(secret)));
        }
    }
}

void TestSettingsPage::meterDefaultsRoundTrip()
{
    polling::MeterConfig defaults;
    defaults.pollIntervalMs = 15000;
    defaults.connectTimeoutMs = 3000;
    defaults.requestTimeoutMs = 7000;
    defaults.retries = 2;
    defaults.transport = dlms::Transport::Hdlc;
    defaults.clientAddress = 32; // not on the page: must survive
    polling::PollItem voltage {u"voltage_l1"_s, dlms::Obis(1, 0, 32, 7, 0, 255), 3, 2};
    polling::PollItem renamed {u"import_wh"_s, dlms::Obis(1, 0, 1, 8, 0, 255), 3, 2};
    polling::PollItem custom {u"status"_s, dlms::Obis(0, 0, 96, 5, 0, 255), 1, 2};
    polling::PollItem scaler {u"scaler"_s, dlms::Obis(1, 0, 31, 7, 0, 255), 3, 3};
    defaults.items = {voltage, renamed, custom, scaler};
    m_page->setMeterDefaults(defaults);

    QCOMPARE(shown(field(u"defaultInterval"_s)), u"15000"_s);
    QCOMPARE(shown(field(u"defaultConnectTimeout"_s)), u"3000"_s);
    QCOMPARE(shown(field(u"defaultRequestTimeout"_s)), u"7000"_s);
    QCOMPARE(shown(field(u"defaultRetries"_s)), u"2"_s);
    QCOMPARE(shown(field(u"defaultTransport"_s)), u"hdlc"_s);
    const QStringList itemLines = shown(field(u"defaultItems"_s)).split(u'\n');
    QCOMPARE(itemLines.first(), u"1.0.32.7.0.255"_s);
    QCOMPARE(itemLines.at(1), u"import_wh=1.0.1.8.0.255"_s);
    QCOMPARE(itemLines.last(), u"scaler=1.0.31.7.0.255 3:3"_s);
    QCOMPARE(m_page->meterDefaults(), defaults);
}

void TestSettingsPage::meterDefaultsEdited()
{
    setField(field(u"defaultInterval"_s), 60000);
    setField(field(u"defaultTransport"_s), u"hdlc"_s);
    setField(field(u"defaultItems"_s),
        u"1-0:1.8.0*255\n\n export_wh = 1.0.2.8.0.255 \nserial=0.0.96.1.0.255 1:3"_s);
    const polling::MeterConfig defaults = m_page->meterDefaults();
    QCOMPARE(defaults.pollIntervalMs, 60000);
    QCOMPARE(defaults.transport, dlms::Transport::Hdlc);
    QVERIFY(defaults.host.isEmpty());
    QCOMPARE(defaults.items.size(), size_t(3));
    QCOMPARE(defaults.items[0].obis, dlms::Obis(1, 0, 1, 8, 0, 255));
    QCOMPARE(defaults.items[0].classId, quint16(3)); // from the well-known table
    QCOMPARE(defaults.items[1].key, u"export_wh"_s);
    QCOMPARE(defaults.items[2].classId, quint16(1));
    QCOMPARE(defaults.items[2].key, u"serial"_s);
    QCOMPARE(defaults.items[2].attribute, qint8(3));
    // The configuration is not touched by the template.
    auto edited = m_page->editedConfig(m_base);
    QVERIFY(edited.ok());
    QCOMPARE(json(*edited), json(m_base));
}

void TestSettingsPage::meterDefaultsSettings()
{
    const QString path = m_dir->filePath(u"defaults.ini"_s);
    QSettings empty(m_dir->filePath(u"empty.ini"_s), QSettings::IniFormat);
    const polling::MeterConfig builtIn = SettingsPage::loadMeterDefaults(empty);
    QVERIFY(!builtIn.items.empty()); // the built-in template reads something
    polling::MeterConfig defaults = builtIn;
    defaults.pollIntervalMs = 20000;
    defaults.retries = 4;
    defaults.transport = dlms::Transport::Hdlc;
    defaults.items.push_back({u"frequency_hz"_s, dlms::Obis(1, 0, 14, 7, 0, 255), 3, 2});
    {
        QSettings settings(path, QSettings::IniFormat);
        SettingsPage::saveMeterDefaults(settings, defaults);
    }
    QSettings settings(path, QSettings::IniFormat);
    QCOMPARE(SettingsPage::loadMeterDefaults(settings), defaults);

    // A damaged entry falls back on its own, the rest still loads.
    settings.setValue(u"meterDefaults/retries"_s, u"many"_s);
    settings.setValue(u"meterDefaults/items"_s, QStringList {u"not obis"_s});
    const polling::MeterConfig damaged = SettingsPage::loadMeterDefaults(settings);
    QCOMPARE(damaged.pollIntervalMs, 20000);
    QCOMPARE(damaged.transport, dlms::Transport::Hdlc);
    QCOMPARE(damaged.retries, builtIn.retries);
    QCOMPARE(damaged.items, builtIn.items);
}

void TestSettingsPage::languageChosenOnce()
{
    auto *combo = qobject_cast<QComboBox *>(field(u"languageCombo"_s));
    QVERIFY(combo);
    QCOMPARE(combo->count(), 3);
    QStringList codes;
    for (int i = 0; i < combo->count(); ++i)
        codes << combo->itemData(i).toString();
    QCOMPARE(codes, (QStringList {QString(), u"en"_s, u"es"_s}));
    QCOMPARE(combo->itemText(2), u"Español"_s);

    QSignalSpy chosen(m_page.get(), &SettingsPage::languageChosen);
    combo->setCurrentIndex(combo->findData(u"es"_s));
    QCOMPARE(chosen.count(), 1);
    QCOMPARE(chosen.at(0).at(0).toString(), u"es"_s);
    QCOMPARE(m_page->language(), u"es"_s);
    combo->setCurrentIndex(0);
    QCOMPARE(chosen.count(), 2);
    QCOMPARE(chosen.at(1).at(0).toString(), QString());
}

void TestSettingsPage::setLanguageSilent()
{
    QSignalSpy chosen(m_page.get(), &SettingsPage::languageChosen);
    m_page->setLanguage(u"es"_s);
    QCOMPARE(m_page->language(), u"es"_s);
    m_page->setLanguage(u"en"_s);
    QCOMPARE(m_page->language(), u"en"_s);
    m_page->setLanguage(u"xx"_s); // unknown: the system's
    QCOMPARE(m_page->language(), QString());
    QCOMPARE(chosen.count(), 0);
}

void TestSettingsPage::retranslateKeepsSelection()
{
    m_page->setLanguage(u"es"_s);
    setField(field(u"mqttCredentials"_s), 2);
    setField(field(u"mqttHost"_s), u"edited.host"_s);
    QSignalSpy chosen(m_page.get(), &SettingsPage::languageChosen);
    auto *language = qobject_cast<QComboBox *>(field(u"languageCombo"_s));
    auto *mode = qobject_cast<QComboBox *>(field(u"mqttMode"_s));
    const QString modeText = mode->currentText();

    MarkingTranslator translator("SettingsPage");
    QVERIFY(QCoreApplication::installTranslator(&translator));
    // Texts from the form, from code, and placeholders all follow (LanguageChange is posted).
    QTRY_COMPARE(language->itemText(0), u"«System default»"_s);
    QCOMPARE(mode->currentText(), u"«"_s + modeText + u"»"_s);
    QCOMPARE(m_page->findChild<QPushButton *>(u"applyButton"_s)->text(), u"«A&pply»"_s);
    QCOMPARE(qobject_cast<QLineEdit *>(field(u"httpToken"_s))->placeholderText(),
        u"«unchanged (%1)»"_s.arg(u"env:DLMSBRIDGE_API_TOKEN"_s));
    // Selections and edits stay; nothing is "chosen".
    QCOMPARE(m_page->language(), u"es"_s);
    QCOMPARE(language->currentText(), u"Español"_s);
    QCOMPARE(shown(field(u"mqttCredentials"_s)), u"2"_s);
    QCOMPARE(shown(field(u"mqttHost"_s)), u"edited.host"_s);
    QCOMPARE(chosen.count(), 0);

    QVERIFY(QCoreApplication::removeTranslator(&translator));
    QTRY_COMPARE(language->itemText(0), u"System default"_s);
    QCOMPARE(mode->currentText(), modeText);
}

QTEST_MAIN(TestSettingsPage)
#include "tst_settingspage.moc"
