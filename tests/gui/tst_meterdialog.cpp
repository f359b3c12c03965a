#include "markingtranslator.h"
#include "meterdialog.h"

#include <QtCore/QTranslator>
#include <QtTest/QTest>
#include <QtWidgets/QApplication>
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

QTEST_MAIN(tst_MeterDialog)
#include "tst_meterdialog.moc"
