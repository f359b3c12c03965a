#include "markingtranslator.h"
#include "meterdialog.h"

#include <QtCore/QTranslator>
#include <QtGui/QClipboard>
#include <QtTest/QTest>
#include <QtWidgets/QApplication>
#include <QtWidgets/QCheckBox>
#include <QtWidgets/QComboBox>
#include <QtWidgets/QDialogButtonBox>
#include <QtWidgets/QLabel>
#include <QtWidgets/QLineEdit>
#include <QtWidgets/QPlainTextEdit>
#include <QtWidgets/QPushButton>
#include <QtWidgets/QSpinBox>

using namespace Qt::StringLiterals;

namespace {

polling::MeterConfig validMeter()
{
    polling::MeterConfig meter;
    meter.id = u"m1"_s;
    meter.name = u"Feeder 1"_s;
    meter.host = u"127.0.0.1"_s;
    meter.items = {{u"voltage_l1"_s, dlms::Obis(1, 0, 32, 7, 0, 255), 3, 2}};
    return meter;
}

// Sets a form field by objectName, whatever kind of widget it is.
void setField(QDialog &dialog, const QString &name, const QVariant &value)
{
    QWidget *widget = dialog.findChild<QWidget *>(name);
    QVERIFY2(widget, qPrintable(name));
    if (auto *edit = qobject_cast<QLineEdit *>(widget))
        edit->setText(value.toString());
    else if (auto *spin = qobject_cast<QSpinBox *>(widget))
        spin->setValue(value.toInt());
    else if (auto *combo = qobject_cast<QComboBox *>(widget))
        combo->setCurrentIndex(value.toInt());
    else if (auto *text = qobject_cast<QPlainTextEdit *>(widget))
        text->setPlainText(value.toString());
    else if (auto *check = qobject_cast<QCheckBox *>(widget))
        check->setChecked(value.toBool());
    else
        QFAIL(qPrintable(u"no setter for "_s + name));
}

bool okEnabled(QDialog &dialog)
{
    return dialog.findChild<QDialogButtonBox *>(u"buttonBox"_s)->button(QDialogButtonBox::Ok)->isEnabled();
}

QString problemText(QDialog &dialog)
{
    return dialog.findChild<QLabel *>(u"problemLabel"_s)->text();
}

// Distinctive keys, so a leak of any part of them is found. Combo rows: authentication
// 0 none, 1 LLS, 2 HLS-GMAC; ciphering 0 none, 1 auth, 2 enc, 3 auth-enc.
const QString kEk = u"A1B2C3D4E5F60718293A4B5C6D7E8F90"_s;
const QString kAk = u"0F1E2D3C4B5A69788796A5B4C3D2E1F0"_s;
const QString kTitle = u"4D4D4D0000000001"_s;
constexpr int kGmac = 2;
constexpr int kAuthEnc = 3;

QByteArray bytes(const QString &hex)
{
    return QByteArray::fromHex(hex.toLatin1());
}

// A meter that uses everything of suite 0, as the site file would give it.
polling::MeterConfig securedMeter()
{
    polling::MeterConfig meter = validMeter();
    meter.authentication = dlms::Authentication::HighGmac;
    meter.security.policy = dlms::SecurityPolicy::AuthenticatedEncrypted;
    meter.security.systemTitle = bytes(kTitle);
    meter.security.blockCipherKey = bytes(kEk);
    meter.security.authenticationKey = bytes(kAk);
    meter.security.dedicatedKey = true;
    return meter;
}

// Every 8-digit run of a key, in either case and with or without spaces between bytes.
QString keyLeakIn(const QString &text)
{
    for (const QString &key : {kEk, kAk}) {
        const QByteArray raw = bytes(key);
        for (qsizetype i = 0; i + 4 <= raw.size(); ++i) {
            const QByteArray part = raw.mid(i, 4);
            for (const QByteArray &form : {part.toHex(), part.toHex(' ')}) {
                if (text.contains(QString::fromLatin1(form), Qt::CaseInsensitive))
                    return QString::fromLatin1(form);
            }
        }
    }
    return {};
}

// Every text a widget of the dialog shows or offers, for leak checks.
QString everyText(MeterDialog &dialog)
{
    QString all;
    const QList<QWidget *> widgets = dialog.findChildren<QWidget *>();
    for (QWidget *widget : widgets) {
        for (const char *property : {"plainText", "toolTip", "placeholderText", "windowTitle", "statusTip",
                 "whatsThis", "accessibleName", "accessibleDescription"})
            all += widget->property(property).toString() + u'\n';
        if (auto *edit = qobject_cast<QLineEdit *>(widget))
            all += edit->displayText() + u'\n';
        else
            all += widget->property("text").toString() + u'\n';
    }
    return all + dialog.problem();
}

} // namespace

class tst_MeterDialog : public QObject {
    Q_OBJECT

private slots:
    void validFormHasNoProblem();
    void invalidField_data();
    void invalidField();
    void validFormBuildsMeter();
    void editKeepsHiddenFieldsAndSecrets();
    void typedPasswordAndTokenReplace();
    void addWithLlsNeedsPassword();
    void secretsNeverPrefilled();
    void refusedAddKeepsTypedSecrets();
    void itemsRoundTrip();
    void retranslates();
    void securityRoundTrip_data();
    void securityRoundTrip();
    void invalidSecurityField_data();
    void invalidSecurityField();
    void unchangedKeysAreKept();
    void securityFieldsEnableWhenTheyMatter_data();
    void securityFieldsEnableWhenTheyMatter();
    void keysNeverShownOrCopied();
    void securityTextsRetranslate();
};

void tst_MeterDialog::validFormHasNoProblem()
{
    MeterDialog dialog(validMeter(), {}, {u"other"_s}, false);
    QVERIFY(dialog.problem().isEmpty());
    QVERIFY(okEnabled(dialog));
    QVERIFY(problemText(dialog).isEmpty());
    QCOMPARE(dialog.windowTitle(), u"Add meter"_s);
}

void tst_MeterDialog::invalidField_data()
{
    QTest::addColumn<QVariantMap>("fields");
    QTest::addColumn<QString>("culprit");
    QTest::addColumn<QString>("problemStart");

    QTest::newRow("empty-id") << QVariantMap {{u"idEdit"_s, u"  "_s}} << u"idEdit"_s
                              << u"Id: must not be empty"_s;
    QTest::newRow("duplicate-id") << QVariantMap {{u"idEdit"_s, u"taken"_s}} << u"idEdit"_s
                                  << u"Id: \"taken\" is already used"_s;
    QTest::newRow("reserved-id") << QVariantMap {{u"idEdit"_s, u"*"_s}} << u"idEdit"_s
                                 << u"Id: '*' is reserved"_s;
    QTest::newRow("empty-host") << QVariantMap {{u"hostEdit"_s, QString()}} << u"hostEdit"_s << u"Host:"_s;
    QTest::newRow("port-0") << QVariantMap {{u"portSpin"_s, 0}} << u"portSpin"_s
                            << u"Port: must be from 1 to 65535 (got 0)"_s;
    QTest::newRow("port-70000") << QVariantMap {{u"portSpin"_s, 70000}} << u"portSpin"_s
                                << u"Port: must be from 1 to 65535 (got 70000)"_s;
    QTest::newRow("bad-obis-line") << QVariantMap {{u"itemsEdit"_s, u"1.0.32.7.0.255\nnot-obis"_s}}
                                   << u"itemsEdit"_s << u"Items: line 2: \"not-obis\" is not an OBIS code"_s;
    QTest::newRow("empty-key") << QVariantMap {{u"itemsEdit"_s, u" =1.0.32.7.0.255"_s}} << u"itemsEdit"_s
                               << u"Items: line 1:"_s;
    QTest::newRow("no-items") << QVariantMap {{u"itemsEdit"_s, u"\n \n"_s}} << u"itemsEdit"_s << u"Items:"_s;
    QTest::newRow("duplicate-key") << QVariantMap {{u"itemsEdit"_s, u"a=1.0.32.7.0.255\na=1.0.31.7.0.255"_s}}
                                   << u"itemsEdit"_s
                                   << u"Items: line 2: duplicate key \"a\" (also on line 1)"_s;
    QTest::newRow("attribute-0") << QVariantMap {{u"itemsEdit"_s, u"1.0.32.7.0.255 3:0"_s}} << u"itemsEdit"_s
                                 << u"Items: line 1: the attribute must be from 1 to 127 (got 0)"_s;
    QTest::newRow("not-class-attribute") << QVariantMap {{u"itemsEdit"_s, u"1.0.32.7.0.255 voltage"_s}}
                                         << u"itemsEdit"_s << u"Items: line 1: expected class:attribute"_s;
    QTest::newRow("lls-without-password")
        << QVariantMap {{u"authenticationCombo"_s, 1}} << u"passwordEdit"_s << u"Password:"_s;
    QTest::newRow("interval-below-minimum") << QVariantMap {{u"intervalSpin"_s, 0}} << u"intervalSpin"_s
                                            << u"Poll interval: must be at least 1 (got 0)"_s;
    QTest::newRow("connect-timeout-0")
        << QVariantMap {{u"connectTimeoutSpin"_s, 0}} << u"connectTimeoutSpin"_s << u"Connect timeout:"_s;
    QTest::newRow("request-timeout-0")
        << QVariantMap {{u"requestTimeoutSpin"_s, 0}} << u"requestTimeoutSpin"_s << u"Request timeout:"_s;
    QTest::newRow("retries-11") << QVariantMap {{u"retriesSpin"_s, 11}} << u"retriesSpin"_s << u"Retries:"_s;
    QTest::newRow("server-address-0")
        << QVariantMap {{u"serverAddressSpin"_s, 0}} << u"serverAddressSpin"_s << u"Server address:"_s;
    QTest::newRow("hdlc-client-address-200")
        << QVariantMap {{u"transportCombo"_s, 1}, {u"clientAddressSpin"_s, 200}} << u"clientAddressSpin"_s
        << u"Client address: must be from 1 to 127 with HDLC (got 200)"_s;
    QTest::newRow("physical-address-too-big") << QVariantMap {{u"physicalAddressSpin"_s, 20000}}
                                              << u"physicalAddressSpin"_s << u"Physical address:"_s;
}

void tst_MeterDialog::invalidField()
{
    QFETCH(QVariantMap, fields);
    QFETCH(QString, culprit);
    QFETCH(QString, problemStart);
    MeterDialog dialog(validMeter(), {}, {u"taken"_s}, false);
    QVERIFY(okEnabled(dialog));
    for (auto it = fields.cbegin(); it != fields.cend(); ++it)
        setField(dialog, it.key(), it.value());
    QVERIFY(!okEnabled(dialog));
    QVERIFY2(problemText(dialog).startsWith(problemStart), qPrintable(problemText(dialog)));
    QCOMPARE(dialog.problem(), problemText(dialog));
    QVERIFY(dialog.findChild<QLabel *>(u"problemLabel"_s)->isVisibleTo(&dialog));
    // Only the offending field is marked.
    QVERIFY(dialog.findChild<QWidget *>(culprit)->property("invalid").toBool());
    const QString other = culprit == u"hostEdit"_s ? u"idEdit"_s : u"hostEdit"_s;
    QVERIFY(!dialog.findChild<QWidget *>(other)->property("invalid").toBool());

    // Back to the valid value: OK again, nothing marked.
    const polling::MeterConfig valid = validMeter();
    setField(dialog, u"idEdit"_s, valid.id);
    setField(dialog, u"hostEdit"_s, valid.host);
    setField(dialog, u"portSpin"_s, valid.port);
    setField(dialog, u"itemsEdit"_s, u"1.0.32.7.0.255"_s);
    setField(dialog, u"authenticationCombo"_s, 0);
    setField(dialog, u"transportCombo"_s, 0);
    setField(dialog, u"clientAddressSpin"_s, valid.clientAddress);
    setField(dialog, u"serverAddressSpin"_s, valid.serverAddress);
    setField(dialog, u"physicalAddressSpin"_s, valid.physicalAddress);
    setField(dialog, u"intervalSpin"_s, valid.pollIntervalMs);
    setField(dialog, u"connectTimeoutSpin"_s, valid.connectTimeoutMs);
    setField(dialog, u"requestTimeoutSpin"_s, valid.requestTimeoutMs);
    setField(dialog, u"retriesSpin"_s, valid.retries);
    QVERIFY2(okEnabled(dialog), qPrintable(dialog.problem()));
    QVERIFY(dialog.problem().isEmpty());
    QVERIFY(!dialog.findChild<QWidget *>(culprit)->property("invalid").toBool());
}

void tst_MeterDialog::validFormBuildsMeter()
{
    polling::MeterConfig defaults;
    defaults.hdlc.maxInfoRx = 256;
    defaults.maxPduSize = 1024;
    MeterDialog dialog(defaults, {}, {}, false);
    setField(dialog, u"idEdit"_s, u" north-1 "_s);
    setField(dialog, u"nameEdit"_s, u"North feeder"_s);
    setField(dialog, u"hostEdit"_s, u"::1"_s);
    setField(dialog, u"portSpin"_s, 4061);
    setField(dialog, u"transportCombo"_s, 1);
    setField(dialog, u"clientAddressSpin"_s, 1);
    setField(dialog, u"serverAddressSpin"_s, 17);
    setField(dialog, u"physicalAddressSpin"_s, 33);
    setField(dialog, u"authenticationCombo"_s, 1);
    setField(dialog, u"passwordEdit"_s, u"pässword"_s);
    setField(dialog, u"intervalSpin"_s, 2500);
    setField(dialog, u"connectTimeoutSpin"_s, 3000);
    setField(dialog, u"requestTimeoutSpin"_s, 1500);
    setField(dialog, u"retriesSpin"_s, 2);
    setField(dialog, u"associationCombo"_s, 1);
    setField(dialog, u"itemsEdit"_s, u"1.0.32.7.0.255\n\n  energy = 1-0:1.8.0*255 \n0.0.96.1.0.255"_s);
    setField(dialog, u"tokenEdit"_s, u"tb-token"_s);
    setField(dialog, u"deviceTypeEdit"_s, u"Three-phase meter"_s);
    QVERIFY2(dialog.problem().isEmpty(), qPrintable(dialog.problem()));
    QVERIFY(okEnabled(dialog));

    polling::MeterConfig expected = defaults;
    expected.id = u"north-1"_s;
    expected.name = u"North feeder"_s;
    expected.host = u"::1"_s;
    expected.port = 4061;
    expected.transport = dlms::Transport::Hdlc;
    expected.clientAddress = 1;
    expected.serverAddress = 17;
    expected.physicalAddress = 33;
    expected.authentication = dlms::Authentication::Low;
    expected.password = u"pässword"_s.toUtf8();
    expected.pollIntervalMs = 2500;
    expected.connectTimeoutMs = 3000;
    expected.requestTimeoutMs = 1500;
    expected.retries = 2;
    expected.associationMode = polling::AssociationMode::PerPoll;
    const dlms::Obis voltage(1, 0, 32, 7, 0, 255);
    const dlms::Obis serial(0, 0, 96, 1, 0, 255);
    expected.items
        = {{polling::defaultTelemetryKey(voltage), voltage, dlms::findWellKnown(voltage)->classId, 2},
            {u"energy"_s, dlms::Obis(1, 0, 1, 8, 0, 255), 3, 2},
            {polling::defaultTelemetryKey(serial), serial, 1, 2}};

    const polling::MeterConfig meter = dialog.meter();
    QCOMPARE(meter.id, expected.id);
    QCOMPARE(meter.name, expected.name);
    QCOMPARE(meter.host, expected.host);
    QCOMPARE(meter.port, expected.port);
    QCOMPARE(meter.transport, expected.transport);
    QCOMPARE(meter.clientAddress, expected.clientAddress);
    QCOMPARE(meter.serverAddress, expected.serverAddress);
    QCOMPARE(meter.physicalAddress, expected.physicalAddress);
    QCOMPARE(meter.authentication, expected.authentication);
    QCOMPARE(meter.password, expected.password);
    QCOMPARE(meter.pollIntervalMs, expected.pollIntervalMs);
    QCOMPARE(meter.connectTimeoutMs, expected.connectTimeoutMs);
    QCOMPARE(meter.requestTimeoutMs, expected.requestTimeoutMs);
    QCOMPARE(meter.retries, expected.retries);
    QCOMPARE(meter.associationMode, expected.associationMode);
    QCOMPARE(meter.items, expected.items);
    QCOMPARE(meter.hdlc, expected.hdlc);
    QCOMPARE(meter.maxPduSize, expected.maxPduSize);
    QVERIFY(meter == expected);
    QCOMPARE(dialog.publishing().accessToken, u"tb-token"_s);
    QCOMPARE(dialog.publishing().deviceType, u"Three-phase meter"_s);
}

void tst_MeterDialog::editKeepsHiddenFieldsAndSecrets()
{
    polling::MeterConfig original = validMeter();
    original.authentication = dlms::Authentication::Low;
    original.password = "stored-secret";
    original.hdlc = {256, 512, 3, 4};
    original.backoff = {500, 9000, 1.5, 0.1};
    original.breaker = {7, 60000};
    original.snapshotProfile = dlms::Obis(1, 0, 94, 91, 0, 255);
    original.maxPduSize = 512;
    original.maxItemsPerRequest = 8;
    original.maxRequestsPerSecond = 2.5;
    // A demand register read at attribute 3 under its own key: the text shows all three.
    original.items.push_back({u"demand_last"_s, dlms::Obis(1, 0, 1, 4, 0, 255), 5, 3});
    app::MeterPublishing publishing;
    publishing.accessToken = u"stored-token"_s;
    publishing.deviceType = u"old type"_s;
    publishing.attributes = {{u"feeder"_s, u"north"_s}};

    MeterDialog dialog(original, publishing, {u"other"_s}, true);
    QVERIFY2(dialog.problem().isEmpty(), qPrintable(dialog.problem()));
    QVERIFY(okEnabled(dialog));
    QCOMPARE(dialog.windowTitle(), u"Edit meter m1"_s);
    QVERIFY(dialog.meter() == original);
    QCOMPARE(dialog.findChild<QPlainTextEdit *>(u"itemsEdit"_s)->toPlainText().split(u'\n').last(),
        u"demand_last=1.0.1.4.0.255 5:3"_s);

    setField(dialog, u"nameEdit"_s, u"Renamed"_s);
    setField(dialog, u"deviceTypeEdit"_s, u"new type"_s);
    polling::MeterConfig expected = original;
    expected.name = u"Renamed"_s;
    QVERIFY(dialog.meter() == expected);
    QCOMPARE(dialog.meter().password, QByteArray("stored-secret"));
    QCOMPARE(dialog.meter().items.back().classId, quint16(5));
    QCOMPARE(dialog.meter().items.back().attribute, qint8(3));
    QCOMPARE(dialog.publishing().accessToken, u"stored-token"_s);
    QCOMPARE(dialog.publishing().deviceType, u"new type"_s);
    QCOMPARE(dialog.publishing().attributes, publishing.attributes);

    // Switching authentication off drops the secret.
    setField(dialog, u"authenticationCombo"_s, 0);
    QVERIFY(dialog.meter().password.isEmpty());
    QCOMPARE(dialog.meter().authentication, dlms::Authentication::None);
}

void tst_MeterDialog::typedPasswordAndTokenReplace()
{
    polling::MeterConfig original = validMeter();
    original.authentication = dlms::Authentication::Low;
    original.password = "old";
    MeterDialog dialog(original, {u"old-token"_s, {}, {}}, {}, true);
    setField(dialog, u"passwordEdit"_s, u"new-secret"_s);
    setField(dialog, u"tokenEdit"_s, u"new-token"_s);
    QCOMPARE(dialog.meter().password, QByteArray("new-secret"));
    QCOMPARE(dialog.publishing().accessToken, u"new-token"_s);
}

void tst_MeterDialog::addWithLlsNeedsPassword()
{
    // Defaults carrying a password do not count: the user cannot see what would be used.
    polling::MeterConfig defaults = validMeter();
    defaults.authentication = dlms::Authentication::Low;
    defaults.password = "default-secret";
    MeterDialog dialog(defaults, {}, {}, false);
    QVERIFY(!okEnabled(dialog));
    QVERIFY(dialog.problem().startsWith(u"Password:"_s));
    setField(dialog, u"passwordEdit"_s, u"typed"_s);
    QVERIFY(okEnabled(dialog));
    QCOMPARE(dialog.meter().password, QByteArray("typed"));

    // An edited meter without a stored password needs one too.
    polling::MeterConfig none = validMeter();
    MeterDialog edit(none, {}, {}, true);
    setField(edit, u"authenticationCombo"_s, 1);
    QVERIFY(!okEnabled(edit));
    QVERIFY(edit.problem().startsWith(u"Password:"_s));
}

void tst_MeterDialog::secretsNeverPrefilled()
{
    polling::MeterConfig original = validMeter();
    original.authentication = dlms::Authentication::Low;
    original.password = "stored-secret";
    MeterDialog dialog(original, {u"stored-token"_s, {}, {}}, {}, true);
    for (const QString &name : {u"passwordEdit"_s, u"tokenEdit"_s}) {
        auto *edit = dialog.findChild<QLineEdit *>(name);
        QVERIFY(edit);
        QVERIFY(edit->text().isEmpty());
        QCOMPARE(edit->echoMode(), QLineEdit::Password);
        QVERIFY(!edit->placeholderText().contains(u"stored"_s));
    }
    // No widget of the dialog shows the secrets anywhere.
    const QList<QWidget *> widgets = dialog.findChildren<QWidget *>();
    for (QWidget *widget : widgets) {
        for (const char *property : {"text", "plainText", "toolTip", "placeholderText"}) {
            const QString value = widget->property(property).toString();
            QVERIFY(!value.contains(u"stored-secret"_s));
            QVERIFY(!value.contains(u"stored-token"_s));
        }
    }
}

void tst_MeterDialog::refusedAddKeepsTypedSecrets()
{
    // What the page passes back after Bridge::addMeter refused the user's meter.
    polling::MeterConfig typed = validMeter();
    typed.authentication = dlms::Authentication::Low;
    typed.password = "typed-secret";
    const app::MeterPublishing publishing {u"typed-token"_s, {}, {}};
    MeterDialog dialog(typed, publishing, {}, false);
    // Without the flag an add never trusts secrets passed in (defaults carrying one).
    QVERIFY(dialog.meter().password.isEmpty());
    QCOMPARE(dialog.findChild<QLineEdit *>(u"tokenEdit"_s)->placeholderText(), u"none"_s);
    dialog.setKeepsSecrets(true);
    QCOMPARE(dialog.windowTitle(), u"Add meter"_s);
    QVERIFY2(okEnabled(dialog), qPrintable(dialog.problem()));
    for (const QString &name : {u"passwordEdit"_s, u"tokenEdit"_s}) {
        auto *edit = dialog.findChild<QLineEdit *>(name);
        QVERIFY(edit->text().isEmpty());
        QCOMPARE(edit->placeholderText(), u"unchanged"_s);
    }
    QCOMPARE(dialog.meter().password, QByteArray("typed-secret"));
    QCOMPARE(dialog.publishing().accessToken, u"typed-token"_s);
    // Typing again replaces them.
    setField(dialog, u"passwordEdit"_s, u"second"_s);
    QCOMPARE(dialog.meter().password, QByteArray("second"));
}

void tst_MeterDialog::itemsRoundTrip()
{
    polling::MeterConfig original = validMeter();
    original.items = {{u"voltage_l1"_s, dlms::Obis(1, 0, 32, 7, 0, 255), 3, 2},
        {u"energy"_s, dlms::Obis(1, 0, 1, 8, 0, 255), 3, 2},
        {u"scaler"_s, dlms::Obis(1, 0, 1, 8, 0, 255), 3, 3}};
    MeterDialog dialog(original, {}, {}, true);
    const QString text = dialog.findChild<QPlainTextEdit *>(u"itemsEdit"_s)->toPlainText();
    QCOMPARE(text,
        polling::defaultTelemetryKey(dlms::Obis(1, 0, 32, 7, 0, 255)) == u"voltage_l1"_s
            ? u"1.0.32.7.0.255\nenergy=1.0.1.8.0.255\nscaler=1.0.1.8.0.255 3:3"_s
            : u"voltage_l1=1.0.32.7.0.255\nenergy=1.0.1.8.0.255\nscaler=1.0.1.8.0.255 3:3"_s);
    QVERIFY(dialog.meter().items == original.items);
}

void tst_MeterDialog::retranslates()
{
    MeterDialog dialog(validMeter(), {}, {}, false);
    setField(dialog, u"hostEdit"_s, QString());
    QVERIFY(dialog.problem().startsWith(u"Host:"_s));
    TableTranslator spanish(
        {{"MeterDialog", "Add meter", u"Añadir medidor"_s}, {"MeterDialog", "Host", u"Equipo"_s}});
    QCoreApplication::installTranslator(&spanish);
    // LanguageChange is posted.
    QTRY_COMPARE(dialog.windowTitle(), u"Añadir medidor"_s);
    QVERIFY2(dialog.problem().startsWith(u"Equipo:"_s), qPrintable(dialog.problem()));
    QCoreApplication::removeTranslator(&spanish);
    QTRY_COMPARE(dialog.windowTitle(), u"Add meter"_s);
    QVERIFY(dialog.problem().startsWith(u"Host:"_s));
}

void tst_MeterDialog::securityRoundTrip_data()
{
    QTest::addColumn<int>("authentication");
    QTest::addColumn<int>("policy");
    QTest::addColumn<QString>("ak"); // typed; may be empty where the AK is optional
    QTest::addColumn<bool>("dedicated");
    QTest::addColumn<bool>("general");

    QTest::newRow("hls-gmac-auth-enc-dedicated-general") << kGmac << kAuthEnc << kAk << true << true;
    QTest::newRow("hls-gmac-auth-enc") << kGmac << kAuthEnc << kAk << false << false;
    QTest::newRow("hls-gmac-without-ciphering") << kGmac << 0 << kAk << false << false;
    QTest::newRow("lls-with-authenticated-apdus") << 1 << 1 << kAk << false << true;
    QTest::newRow("no-auth-encrypted-only-without-ak") << 0 << 2 << QString() << true << false;
}

void tst_MeterDialog::securityRoundTrip()
{
    QFETCH(int, authentication);
    QFETCH(int, policy);
    QFETCH(QString, ak);
    QFETCH(bool, dedicated);
    QFETCH(bool, general);
    const dlms::SecurityPolicy policies[] = {dlms::SecurityPolicy::None, dlms::SecurityPolicy::Authenticated,
        dlms::SecurityPolicy::Encrypted, dlms::SecurityPolicy::AuthenticatedEncrypted};
    const dlms::Authentication mechanisms[]
        = {dlms::Authentication::None, dlms::Authentication::Low, dlms::Authentication::HighGmac};

    MeterDialog add(validMeter(), {}, {}, false);
    setField(add, u"authenticationCombo"_s, authentication);
    if (authentication == 1)
        setField(add, u"passwordEdit"_s, u"lls-secret"_s);
    setField(add, u"policyCombo"_s, policy);
    // Lower case with spaces and colons: the dialog takes hex as people paste it.
    setField(add, u"systemTitleEdit"_s, u"4d:4d:4d:00:00:00:00:01"_s);
    setField(add, u"blockCipherKeyEdit"_s, u"a1b2 c3d4 e5f6 0718 293a 4b5c 6d7e 8f90"_s);
    setField(add, u"authenticationKeyEdit"_s, ak);
    setField(add, u"dedicatedKeyCheck"_s, dedicated);
    setField(add, u"generalCipheringCheck"_s, general);
    QVERIFY2(add.problem().isEmpty(), qPrintable(add.problem()));
    QVERIFY(okEnabled(add));

    polling::MeterConfig expected = validMeter();
    expected.authentication = mechanisms[authentication];
    if (authentication == 1)
        expected.password = "lls-secret";
    expected.security.policy = policies[policy];
    expected.security.systemTitle = bytes(kTitle);
    expected.security.blockCipherKey = bytes(kEk);
    expected.security.authenticationKey = bytes(ak);
    // The flags mean nothing without a ciphering policy: the dialog leaves them off then.
    expected.security.dedicatedKey = policy != 0 && dedicated;
    expected.security.generalCiphering = policy != 0 && general;
    const polling::MeterConfig meter = add.meter();
    QCOMPARE(meter.authentication, expected.authentication);
    QCOMPARE(meter.security.policy, expected.security.policy);
    QCOMPARE(meter.security.systemTitle.toHex(), expected.security.systemTitle.toHex());
    QVERIFY(meter.security.blockCipherKey == expected.security.blockCipherKey);
    QVERIFY(meter.security.authenticationKey == expected.security.authenticationKey);
    QCOMPARE(meter.security.dedicatedKey, expected.security.dedicatedKey);
    QCOMPARE(meter.security.generalCiphering, expected.security.generalCiphering);
    QVERIFY(meter == expected);
    QVERIFY(!polling::findMeterConfigProblem(meter));

    // Opened again for editing: the same form, the keys behind "unchanged", the same meter back.
    MeterDialog edit(meter, {}, {}, true);
    QVERIFY2(edit.problem().isEmpty(), qPrintable(edit.problem()));
    QCOMPARE(edit.findChild<QComboBox *>(u"authenticationCombo"_s)->currentIndex(), authentication);
    QCOMPARE(edit.findChild<QComboBox *>(u"policyCombo"_s)->currentIndex(), policy);
    QCOMPARE(edit.findChild<QLineEdit *>(u"systemTitleEdit"_s)->text(), kTitle);
    QVERIFY(edit.findChild<QLineEdit *>(u"blockCipherKeyEdit"_s)->text().isEmpty());
    QCOMPARE(
        edit.findChild<QCheckBox *>(u"dedicatedKeyCheck"_s)->isChecked(), expected.security.dedicatedKey);
    QCOMPARE(edit.findChild<QCheckBox *>(u"generalCipheringCheck"_s)->isChecked(),
        expected.security.generalCiphering);
    QVERIFY(edit.meter() == meter);
}

void tst_MeterDialog::invalidSecurityField_data()
{
    QTest::addColumn<QVariantMap>("fields");
    QTest::addColumn<QString>("culprit");
    QTest::addColumn<QString>("problem");

    const QVariantMap gmac {{u"authenticationCombo"_s, kGmac}, {u"policyCombo"_s, kAuthEnc},
        {u"systemTitleEdit"_s, kTitle}, {u"blockCipherKeyEdit"_s, kEk}, {u"authenticationKeyEdit"_s, kAk}};
    const auto with = [&](const QString &field, const QVariant &value) {
        QVariantMap fields = gmac;
        fields.insert(field, value);
        return fields;
    };
    QTest::newRow("gmac-without-title") << with(u"systemTitleEdit"_s, QString()) << u"systemTitleEdit"_s
                                        << u"System title: is required with HLS-GMAC authentication"_s;
    QTest::newRow("title-15-digits") << with(u"systemTitleEdit"_s, kTitle.chopped(1)) << u"systemTitleEdit"_s
                                     << u"System title: must be 16 hex digits (got 15)"_s;
    QTest::newRow("title-not-hex") << with(u"systemTitleEdit"_s, u"MMM0000000000001"_s)
                                   << u"systemTitleEdit"_s
                                   << u"System title: must contain only hex digits (0-9, A-F)"_s;
    QTest::newRow("gmac-without-ek") << with(u"blockCipherKeyEdit"_s, QString()) << u"blockCipherKeyEdit"_s
                                     << u"Block cipher key: is required with HLS-GMAC authentication"_s;
    QTest::newRow("ek-31-digits") << with(u"blockCipherKeyEdit"_s, kEk.chopped(1)) << u"blockCipherKeyEdit"_s
                                  << u"Block cipher key: must be 32 hex digits (got 31)"_s;
    QTest::newRow("ek-not-hex") << with(u"blockCipherKeyEdit"_s, QString(kEk.chopped(1) + u'g'))
                                << u"blockCipherKeyEdit"_s
                                << u"Block cipher key: must contain only hex digits (0-9, A-F)"_s;
    QTest::newRow("gmac-without-ak") << with(u"authenticationKeyEdit"_s, QString())
                                     << u"authenticationKeyEdit"_s
                                     << u"Authentication key: is required with HLS-GMAC authentication"_s;
    QTest::newRow("ak-34-digits") << with(u"authenticationKeyEdit"_s, QString(kAk + u"AB"_s))
                                  << u"authenticationKeyEdit"_s
                                  << u"Authentication key: must be 32 hex digits (got 34)"_s;
    QVariantMap authOnly = with(u"authenticationCombo"_s, 0);
    authOnly.insert(u"policyCombo"_s, 1);
    authOnly.insert(u"authenticationKeyEdit"_s, QString());
    QTest::newRow("authenticated-policy-without-ak")
        << authOnly << u"authenticationKeyEdit"_s
        << u"Authentication key: is required when messages are authenticated"_s;
    QVariantMap encOnly = with(u"authenticationCombo"_s, 0);
    encOnly.insert(u"policyCombo"_s, 2);
    encOnly.insert(u"blockCipherKeyEdit"_s, QString());
    QTest::newRow("encrypted-policy-without-ek")
        << encOnly << u"blockCipherKeyEdit"_s
        << u"Block cipher key: is required when messages are ciphered"_s;
}

void tst_MeterDialog::invalidSecurityField()
{
    QFETCH(QVariantMap, fields);
    QFETCH(QString, culprit);
    QFETCH(QString, problem);
    MeterDialog dialog(validMeter(), {}, {}, false);
    // Set in a fixed order: the combos first, so the fields are enabled when typed into.
    for (const QString &name : {u"authenticationCombo"_s, u"policyCombo"_s, u"systemTitleEdit"_s,
             u"blockCipherKeyEdit"_s, u"authenticationKeyEdit"_s})
        setField(dialog, name, fields.value(name));
    QVERIFY(!okEnabled(dialog));
    QCOMPARE(dialog.problem(), problem);
    QCOMPARE(problemText(dialog), problem);
    QVERIFY(dialog.findChild<QWidget *>(culprit)->property("invalid").toBool());
    for (const QString &other : {u"systemTitleEdit"_s, u"blockCipherKeyEdit"_s, u"authenticationKeyEdit"_s}) {
        if (other != culprit)
            QVERIFY(!dialog.findChild<QWidget *>(other)->property("invalid").toBool());
    }
    // Whatever was typed, no part of a key is in the message.
    QVERIFY2(keyLeakIn(dialog.problem()).isEmpty(), qPrintable(keyLeakIn(dialog.problem())));

    // Fixed, the form is valid again and nothing is marked.
    setField(dialog, u"systemTitleEdit"_s, kTitle);
    setField(dialog, u"blockCipherKeyEdit"_s, kEk);
    setField(dialog, u"authenticationKeyEdit"_s, kAk);
    QVERIFY2(okEnabled(dialog), qPrintable(dialog.problem()));
    QVERIFY(!dialog.findChild<QWidget *>(culprit)->property("invalid").toBool());
}

void tst_MeterDialog::unchangedKeysAreKept()
{
    const polling::MeterConfig original = securedMeter();
    MeterDialog edit(original, {}, {}, true);
    for (const QString &name : {u"blockCipherKeyEdit"_s, u"authenticationKeyEdit"_s}) {
        auto *field = edit.findChild<QLineEdit *>(name);
        QVERIFY(field->text().isEmpty());
        QCOMPARE(field->placeholderText(), u"unchanged"_s);
    }
    QVERIFY2(okEnabled(edit), qPrintable(edit.problem()));
    QVERIFY(edit.meter() == original);

    // A new EK replaces that key only.
    const QString newEk = u"00112233445566778899AABBCCDDEEFF"_s;
    setField(edit, u"blockCipherKeyEdit"_s, newEk);
    QVERIFY(edit.meter().security.blockCipherKey == bytes(newEk));
    QVERIFY(edit.meter().security.authenticationKey == original.security.authenticationKey);
    // Security switched off drops the keys, as LLS off drops the password.
    setField(edit, u"authenticationCombo"_s, 0);
    setField(edit, u"policyCombo"_s, 0);
    QVERIFY(edit.meter().security == dlms::SecuritySettings {});
    QCOMPARE(edit.meter().authentication, dlms::Authentication::None);

    // An add does not trust keys passed in (defaults carrying them) until told they are the user's.
    MeterDialog add(original, {}, {}, false);
    QVERIFY(!okEnabled(add));
    QCOMPARE(add.problem(), u"Block cipher key: is required with HLS-GMAC authentication"_s);
    QCOMPARE(add.findChild<QLineEdit *>(u"blockCipherKeyEdit"_s)->placeholderText(), u"32 hex digits"_s);
    add.setKeepsSecrets(true);
    QVERIFY2(okEnabled(add), qPrintable(add.problem()));
    QCOMPARE(add.findChild<QLineEdit *>(u"authenticationKeyEdit"_s)->placeholderText(), u"unchanged"_s);
    QVERIFY(add.meter().security == original.security);
}

void tst_MeterDialog::securityFieldsEnableWhenTheyMatter_data()
{
    QTest::addColumn<int>("authentication");
    QTest::addColumn<int>("policy");
    QTest::addColumn<bool>("keys"); // title, EK, AK
    QTest::addColumn<bool>("dedicated"); // only an encrypting policy hides the dedicated key
    QTest::addColumn<bool>("general");
    QTest::addColumn<bool>("password");

    QTest::newRow("none-none") << 0 << 0 << false << false << false << false;
    QTest::newRow("lls-none") << 1 << 0 << false << false << false << true;
    QTest::newRow("gmac-none") << kGmac << 0 << true << false << false << false;
    QTest::newRow("none-auth") << 0 << 1 << true << false << true << false;
    QTest::newRow("lls-enc") << 1 << 2 << true << true << true << true;
    QTest::newRow("gmac-auth-enc") << kGmac << kAuthEnc << true << true << true << false;
}

void tst_MeterDialog::securityFieldsEnableWhenTheyMatter()
{
    QFETCH(int, authentication);
    QFETCH(int, policy);
    QFETCH(bool, keys);
    QFETCH(bool, dedicated);
    QFETCH(bool, general);
    QFETCH(bool, password);
    // From the opposite state, so every field has to change.
    polling::MeterConfig start = keys ? validMeter() : securedMeter();
    if (!password)
        start.authentication = dlms::Authentication::Low;
    MeterDialog dialog(start, {}, {}, true);
    setField(dialog, u"authenticationCombo"_s, authentication);
    setField(dialog, u"policyCombo"_s, policy);
    for (const QString &name : {u"systemTitleEdit"_s, u"blockCipherKeyEdit"_s, u"authenticationKeyEdit"_s,
             u"systemTitleLabel"_s, u"blockCipherKeyLabel"_s, u"authenticationKeyLabel"_s})
        QVERIFY2(dialog.findChild<QWidget *>(name)->isEnabled() == keys, qPrintable(name));
    QCOMPARE(dialog.findChild<QWidget *>(u"dedicatedKeyCheck"_s)->isEnabled(), dedicated);
    QCOMPARE(dialog.findChild<QWidget *>(u"generalCipheringCheck"_s)->isEnabled(), general);
    QCOMPARE(dialog.findChild<QWidget *>(u"passwordEdit"_s)->isEnabled(), password);
    QVERIFY(dialog.findChild<QWidget *>(u"policyCombo"_s)->isEnabled());
}

void tst_MeterDialog::keysNeverShownOrCopied()
{
    MeterDialog edit(securedMeter(), {}, {}, true);
    QVERIFY2(keyLeakIn(everyText(edit)).isEmpty(), qPrintable(keyLeakIn(everyText(edit))));

    MeterDialog dialog(validMeter(), {}, {}, false);
    setField(dialog, u"authenticationCombo"_s, kGmac);
    setField(dialog, u"systemTitleEdit"_s, kTitle);
    setField(dialog, u"blockCipherKeyEdit"_s, kEk);
    setField(dialog, u"authenticationKeyEdit"_s, kAk);
    QVERIFY2(okEnabled(dialog), qPrintable(dialog.problem()));
    QClipboard *clipboard = QGuiApplication::clipboard();
    clipboard->setText(u"before"_s);
    for (const QString &name : {u"blockCipherKeyEdit"_s, u"authenticationKeyEdit"_s}) {
        auto *field = dialog.findChild<QLineEdit *>(name);
        QCOMPARE(field->echoMode(), QLineEdit::Password);
        // Selected and copied, by the action and by the keyboard: the clipboard keeps its text.
        field->selectAll();
        field->copy();
        QTest::keyClick(field, Qt::Key_C, Qt::ControlModifier);
        QCOMPARE(clipboard->text(), u"before"_s);
        QVERIFY(field->hasSelectedText());
        field->cut(); // deletes the selection, copies nothing
        QCOMPARE(clipboard->text(), u"before"_s);
        QVERIFY(field->text().isEmpty());
        field->setText(name == u"blockCipherKeyEdit"_s ? kEk : kAk);
    }
    // Typed keys show as dots only, and never reach a tooltip, a placeholder or the problem line.
    QVERIFY2(keyLeakIn(everyText(dialog)).isEmpty(), qPrintable(keyLeakIn(everyText(dialog))));
    setField(dialog, u"blockCipherKeyEdit"_s, kEk.chopped(2));
    QVERIFY(!okEnabled(dialog));
    QVERIFY2(keyLeakIn(everyText(dialog)).isEmpty(), qPrintable(keyLeakIn(everyText(dialog))));
}

void tst_MeterDialog::securityTextsRetranslate()
{
    MeterDialog dialog(securedMeter(), {}, {}, true);
    setField(dialog, u"systemTitleEdit"_s, QString());
    QCOMPARE(dialog.problem(), u"System title: is required with HLS-GMAC authentication"_s);
    auto *authentication = dialog.findChild<QComboBox *>(u"authenticationCombo"_s);
    auto *policy = dialog.findChild<QComboBox *>(u"policyCombo"_s);
    auto *ek = dialog.findChild<QLineEdit *>(u"blockCipherKeyEdit"_s);
    QCOMPARE(authentication->currentText(), u"HLS-GMAC (high security)"_s);
    QCOMPARE(policy->currentText(), u"Authenticated and encrypted"_s);

    TableTranslator spanish({{"MeterDialog", "HLS-GMAC (high security)", u"HLS-GMAC (alta seguridad)"_s},
        {"MeterDialog", "Authenticated and encrypted", u"Autenticado y cifrado"_s},
        {"MeterDialog", "System title", u"Título del sistema"_s},
        {"MeterDialog", "is required with HLS-GMAC authentication", u"es obligatorio con HLS-GMAC"_s},
        {"MeterDialog", "unchanged", u"sin cambios"_s},
        {"MeterDialog", "&Dedicated key per association", u"Clave &dedicada por asociación"_s}});
    QCoreApplication::installTranslator(&spanish);
    QTRY_COMPARE(authentication->currentText(), u"HLS-GMAC (alta seguridad)"_s);
    QCOMPARE(authentication->currentIndex(), kGmac);
    QCOMPARE(policy->currentText(), u"Autenticado y cifrado"_s);
    QCOMPARE(dialog.problem(), u"Título del sistema: es obligatorio con HLS-GMAC"_s);
    QCOMPARE(ek->placeholderText(), u"sin cambios"_s);
    QCOMPARE(
        dialog.findChild<QCheckBox *>(u"dedicatedKeyCheck"_s)->text(), u"Clave &dedicada por asociación"_s);
    QCoreApplication::removeTranslator(&spanish);
    QTRY_COMPARE(authentication->currentText(), u"HLS-GMAC (high security)"_s);
    QCOMPARE(ek->placeholderText(), u"unchanged"_s);
    QCOMPARE(dialog.problem(), u"System title: is required with HLS-GMAC authentication"_s);
}

QTEST_MAIN(tst_MeterDialog)
#include "tst_meterdialog.moc"
