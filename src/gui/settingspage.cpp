#include "settingspage.h"

#include "ui_settingspage.h"

#include <interfacesampler.h>
#include <obis.h>

#include <QtCore/QEvent>
#include <QtCore/QFileInfo>
#include <QtCore/QHash>
#include <QtCore/QSettings>
#include <QtCore/QSignalBlocker>
#include <QtCore/QSysInfo>
#include <QtWidgets/QFileDialog>

#include <algorithm>

using namespace Qt::StringLiterals;

namespace {

// How the bridge signs in to the broker (the combo's order).
enum class Credentials { None, Token, UsernamePassword };

const QString kTokenSecret = u"mqtt.token"_s;
const QString kUsernameSecret = u"mqtt.username"_s;
const QString kPasswordSecret = u"mqtt.password"_s;
const QString kHttpTokenSecret = u"http.token"_s;
const QString kDefaultsGroup = u"meterDefaults"_s;

// A loaded configuration keeps no flag for "token": a reference says so, and in the
// ThingsBoard modes a username without password is the access token (so it is never shown).
Credentials credentialsOf(const app::BridgeConfig &config)
{
    const mqtt::ClientOptions &client = config.mqtt.client;
    if (config.secretReferences.contains(kTokenSecret))
        return Credentials::Token;
    if (client.username.isEmpty() && client.password.isEmpty()
        && !config.secretReferences.contains(kUsernameSecret)
        && !config.secretReferences.contains(kPasswordSecret))
        return Credentials::None;
    if (client.password.isEmpty() && !config.secretReferences.contains(kPasswordSecret)
        && !config.secretReferences.contains(kUsernameSecret) && config.mqtt.format.mode != mqtt::Mode::Plain)
        return Credentials::Token;
    return Credentials::UsernamePassword;
}

QString itemLines(const std::vector<polling::PollItem> &items)
{
    return polling::formatItemLines(items).join(u'\n');
}

// What new meters start from before the user changes anything: the instantaneous values a
// technician checks first and the import energy register.
polling::MeterConfig builtInMeterDefaults()
{
    polling::MeterConfig config;
    for (const dlms::Obis &obis :
        {dlms::Obis(1, 0, 32, 7, 0, 255), dlms::Obis(1, 0, 31, 7, 0, 255), dlms::Obis(1, 0, 1, 8, 0, 255)})
        config.items.push_back(polling::defaultPollItem(obis));
    return config;
}

// The template checked as a meter: it has no id or host yet, so those rules are satisfied here.
std::optional<polling::MeterConfigProblem> templateProblem(const polling::MeterConfig &defaults)
{
    polling::MeterConfig probe = defaults;
    probe.id = u"template"_s;
    probe.host = u"localhost"_s;
    return polling::findMeterConfigProblem(probe);
}

} // namespace

struct SettingsPage::Private {
    app::BridgeConfig base; // what setConfig() showed: editedConfig() overlays the form on a copy
    polling::MeterConfig defaults = builtInMeterDefaults(); // keeps the fields the page does not show
    Credentials baseCredentials = Credentials::None;
    double shownMaxRate = 0; // the spin box rounds: an untouched value keeps the exact one
    QHash<QString, QWidget *> fieldsByPath; // JSON path in an error -> the widget to point at
};

SettingsPage::SettingsPage(QWidget *parent)
    : QWidget(parent), m_ui(std::make_unique<Ui::SettingsPage>()), d(std::make_unique<Private>())
{
    m_ui->setupUi(this);

    for (const QString &mode : {u"gateway"_s, u"device"_s, u"plain"_s})
        m_ui->mqttMode->addItem(QString(), mode);
    m_ui->mqttProtocol->addItem(u"MQTT 3.1.1"_s, u"3.1.1"_s);
    m_ui->mqttProtocol->addItem(u"MQTT 5"_s, u"5"_s);
    for (Credentials kind : {Credentials::None, Credentials::Token, Credentials::UsernamePassword})
        m_ui->mqttCredentials->addItem(QString(), int(kind));
    m_ui->defaultTransport->addItem(QString(), dlms::transportName(dlms::Transport::Wrapper));
    m_ui->defaultTransport->addItem(QString(), dlms::transportName(dlms::Transport::Hdlc));
    // Native names: a user who cannot read the current language still finds their own.
    m_ui->languageCombo->addItem(QString(), QString());
    m_ui->languageCombo->addItem(u"English"_s, u"en"_s);
    m_ui->languageCombo->addItem(u"Español"_s, u"es"_s);

    // The interfaces present now; the combo stays editable for one that comes and goes (a VPN).
    if (auto source = monitor::makeDefaultInterfaceSource()) {
        if (auto counters = source->read()) {
            QStringList names;
            for (const monitor::InterfaceCounters &interface : *counters)
                if (interface.name != u"lo"_s)
                    names << interface.name;
            names.sort();
            m_ui->monitorInterface->addItems(names);
        }
    }
    m_ui->monitorInterface->setCurrentIndex(-1);
    m_ui->monitorInterface->setEditText(QString());

    d->fieldsByPath = {{u"mqtt.enabled"_s, m_ui->mqttEnabled}, {u"mqtt.mode"_s, m_ui->mqttMode},
        {u"mqtt.host"_s, m_ui->mqttHost}, {u"mqtt.port"_s, m_ui->mqttPort},
        {u"mqtt.protocol"_s, m_ui->mqttProtocol}, {u"mqtt.client_id"_s, m_ui->mqttClientId},
        {u"mqtt.token"_s, m_ui->mqttToken}, {u"mqtt.username"_s, m_ui->mqttUsername},
        {u"mqtt.password"_s, m_ui->mqttPassword}, {u"mqtt.tls.enabled"_s, m_ui->tlsEnabled},
        {u"mqtt.tls.ca_file"_s, m_ui->tlsCaFile}, {u"mqtt.tls.cert_file"_s, m_ui->tlsCertFile},
        {u"mqtt.tls.key_file"_s, m_ui->tlsKeyFile}, {u"mqtt.tls.verify_peer"_s, m_ui->tlsVerifyPeer},
        {u"mqtt.keepalive_s"_s, m_ui->mqttKeepalive}, {u"mqtt.max_messages_per_s"_s, m_ui->mqttMaxRate},
        {u"mqtt.max_inflight"_s, m_ui->mqttMaxInflight}, {u"mqtt.topic_template"_s, m_ui->mqttTopicTemplate},
        {u"mqtt.device_type"_s, m_ui->mqttDeviceType}, {u"storage.path"_s, m_ui->storagePath},
        {u"storage.readings_retention_days"_s, m_ui->readingsRetention},
        {u"storage.metrics_retention_days"_s, m_ui->metricsRetention},
        {u"storage.events_retention_days"_s, m_ui->eventsRetention},
        {u"storage.max_outbox_mb"_s, m_ui->maxOutboxMb},
        {u"storage.max_outbox_age_hours"_s, m_ui->maxOutboxAgeHours},
        {u"polling.workers"_s, m_ui->pollingWorkers}, {u"http.enabled"_s, m_ui->httpEnabled},
        {u"http.address"_s, m_ui->httpAddress}, {u"http.port"_s, m_ui->httpPort},
        {u"http.token"_s, m_ui->httpToken}, {u"monitor.interface"_s, m_ui->monitorInterface},
        {u"monitor.rollup_s"_s, m_ui->rollupSeconds}, {u"new_meter.interval_ms"_s, m_ui->defaultInterval},
        {u"new_meter.connect_timeout_ms"_s, m_ui->defaultConnectTimeout},
        {u"new_meter.timeout_ms"_s, m_ui->defaultRequestTimeout},
        {u"new_meter.retries"_s, m_ui->defaultRetries}, {u"new_meter.items"_s, m_ui->defaultItems}};

    m_ui->tlsCaBrowse->setIcon(QIcon(u":/icons/open.svg"_s));
    m_ui->tlsCertBrowse->setIcon(QIcon(u":/icons/open.svg"_s));
    m_ui->tlsKeyBrowse->setIcon(QIcon(u":/icons/open.svg"_s));
    m_ui->storageBrowse->setIcon(QIcon(u":/icons/open.svg"_s));
    m_ui->applyButton->setIcon(QIcon(u":/icons/save.svg"_s));
    m_ui->tabs->setTabIcon(m_ui->tabs->indexOf(m_ui->mqttTab), QIcon(u":/icons/broker.svg"_s));
    m_ui->tabs->setTabIcon(m_ui->tabs->indexOf(m_ui->storageTab), QIcon(u":/icons/database.svg"_s));
    m_ui->tabs->setTabIcon(m_ui->tabs->indexOf(m_ui->pollingTab), QIcon(u":/icons/meters.svg"_s));
    m_ui->tabs->setTabIcon(m_ui->tabs->indexOf(m_ui->networkTab), QIcon(u":/icons/monitoring.svg"_s));
    m_ui->tabs->setTabIcon(m_ui->tabs->indexOf(m_ui->languageTab), QIcon(u":/icons/settings.svg"_s));

    auto update = [this] { updateEnabled(); };
    connect(m_ui->mqttEnabled, &QCheckBox::toggled, this, update);
    connect(m_ui->tlsEnabled, &QCheckBox::toggled, this, update);
    connect(m_ui->httpEnabled, &QCheckBox::toggled, this, update);
    connect(m_ui->mqttCredentials, &QComboBox::currentIndexChanged, this, update);
    connect(m_ui->mqttMode, &QComboBox::currentIndexChanged, this, [this] {
        // Device mode signs in with each meter's own token: broker credentials are refused.
        if (m_ui->mqttMode->currentData().toString() == mqtt::modeName(mqtt::Mode::Device))
            m_ui->mqttCredentials->setCurrentIndex(int(Credentials::None));
        updateEnabled();
    });
    connect(m_ui->languageCombo, &QComboBox::currentIndexChanged, this,
        [this] { Q_EMIT languageChosen(language()); });

    auto browse = [this](QLineEdit *edit, const char *title) {
        const QString file = QFileDialog::getOpenFileName(this, tr(title), edit->text(),
            tr("Certificates and keys (*.pem *.crt *.cer *.key);;All files (*)"));
        if (!file.isEmpty())
            edit->setText(file);
    };
    connect(m_ui->tlsCaBrowse, &QToolButton::clicked, this,
        [this, browse] { browse(m_ui->tlsCaFile, QT_TR_NOOP("CA certificates")); });
    connect(m_ui->tlsCertBrowse, &QToolButton::clicked, this,
        [this, browse] { browse(m_ui->tlsCertFile, QT_TR_NOOP("Client certificate")); });
    connect(m_ui->tlsKeyBrowse, &QToolButton::clicked, this,
        [this, browse] { browse(m_ui->tlsKeyFile, QT_TR_NOOP("Client key")); });
    connect(m_ui->storageBrowse, &QToolButton::clicked, this, [this] {
        const QString file = QFileDialog::getSaveFileName(this, tr("Database file"),
            m_ui->storagePath->text(), tr("SQLite databases (*.db *.sqlite);;All files (*)"), nullptr,
            QFileDialog::DontConfirmOverwrite);
        if (!file.isEmpty())
            m_ui->storagePath->setText(file);
    });
    connect(m_ui->applyButton, &QPushButton::clicked, this, &SettingsPage::apply);
    connect(m_ui->revertButton, &QPushButton::clicked, this, [this] {
        setConfig(d->base);
        setMeterDefaults(d->defaults);
        m_ui->applyResult->clear();
    });

    retranslate();
    setConfig(app::BridgeConfig {});
    setMeterDefaults(d->defaults);
}

SettingsPage::~SettingsPage() = default;

void SettingsPage::setConfig(const app::BridgeConfig &config)
{
    d->base = config;
    d->baseCredentials = credentialsOf(config);
    const app::MqttSettings &mqttSettings = config.mqtt;
    const mqtt::ClientOptions &client = mqttSettings.client;

    clearInvalidMarks();
    m_ui->mqttEnabled->setChecked(mqttSettings.enabled);
    m_ui->mqttMode->setCurrentIndex(m_ui->mqttMode->findData(mqtt::modeName(mqttSettings.format.mode)));
    m_ui->mqttHost->setText(client.host);
    m_ui->mqttPort->setValue(client.port);
    m_ui->mqttProtocol->setCurrentIndex(client.version == mqtt::ProtocolVersion::V5 ? 1 : 0);
    m_ui->mqttClientId->setText(client.clientId == app::defaultClientId() ? QString() : client.clientId);
    m_ui->mqttKeepalive->setValue(client.keepAliveS);
    m_ui->mqttMaxRate->setValue(mqttSettings.maxMessagesPerSecond);
    d->shownMaxRate = m_ui->mqttMaxRate->value();
    m_ui->mqttMaxInflight->setValue(mqttSettings.maxInflightMessages);
    m_ui->mqttTopicTemplate->setText(mqttSettings.format.topicTemplate);
    m_ui->mqttDeviceType->setText(mqttSettings.format.deviceType);

    m_ui->mqttCredentials->setCurrentIndex(int(d->baseCredentials));
    m_ui->mqttToken->clear();
    m_ui->mqttPassword->clear();
    // A username is shown only when it was written as itself; from env:/file: it stays hidden.
    const bool usernameShown = d->baseCredentials == Credentials::UsernamePassword
        && !config.secretReferences.contains(kUsernameSecret);
    m_ui->mqttUsername->setText(usernameShown ? client.username : QString());

    m_ui->tlsEnabled->setChecked(client.tls.enabled);
    m_ui->tlsCaFile->setText(client.tls.caFile);
    m_ui->tlsCertFile->setText(client.tls.certFile);
    m_ui->tlsKeyFile->setText(client.tls.keyFile);
    m_ui->tlsVerifyPeer->setChecked(client.tls.verifyPeer);

    const app::StorageSettings &storage = config.storage;
    m_ui->storagePath->setText(storage.path);
    m_ui->readingsRetention->setValue(storage.readingsRetentionDays);
    m_ui->metricsRetention->setValue(storage.metricsRetentionDays);
    m_ui->eventsRetention->setValue(storage.eventsRetentionDays);
    m_ui->maxOutboxMb->setValue(int(storage.maxOutboxBytes / (1024 * 1024)));
    m_ui->maxOutboxAgeHours->setValue(storage.maxOutboxAgeHours);

    m_ui->pollingWorkers->setValue(config.site.workers);

    m_ui->monitorInterface->setEditText(config.monitor.interfaceName);
    m_ui->rollupSeconds->setValue(config.monitor.rollupSeconds);

    m_ui->httpEnabled->setChecked(config.http.enabled);
    m_ui->httpAddress->setText(config.http.address);
    m_ui->httpPort->setValue(config.http.port);
    m_ui->httpToken->clear();

    updatePlaceholders();
    updateEnabled();
}

dlms::Result<app::BridgeConfig> SettingsPage::editedConfig(const app::BridgeConfig &base) const
{
    const QString source = tr("settings");
    auto fieldError = [&source](const QString &path, const QString &problem) {
        return dlms::makeError(dlms::ErrorCode::InvalidArgument, u"%1: %2: %3"_s.arg(source, path, problem));
    };

    // The polling template is not part of the file, but a bad one is refused all the same.
    auto defaults = formMeterDefaults();
    if (!defaults)
        return defaults.error();

    app::BridgeConfig result = base;
    app::MqttSettings &mqttSettings = result.mqtt;
    mqtt::ClientOptions &client = mqttSettings.client;
    QHash<QString, QString> &references = result.secretReferences;

    mqttSettings.enabled = m_ui->mqttEnabled->isChecked();
    const auto mode = mqtt::modeFromName(m_ui->mqttMode->currentData().toString());
    mqttSettings.format.mode = mode.value_or(mqtt::Mode::Gateway);
    const QString host = m_ui->mqttHost->text().trimmed();
    // A switched-off broker may keep its address; an empty one is only refused when in use.
    if (!host.isEmpty() || mqttSettings.enabled)
        client.host = host;
    client.port = quint16(m_ui->mqttPort->value());
    client.version = m_ui->mqttProtocol->currentData().toString() == u"5"_s ? mqtt::ProtocolVersion::V5
                                                                            : mqtt::ProtocolVersion::V311;
    const QString clientId = m_ui->mqttClientId->text().trimmed();
    client.clientId = clientId.isEmpty() ? app::defaultClientId() : clientId;
    client.keepAliveS = m_ui->mqttKeepalive->value();
    if (m_ui->mqttMaxRate->value() != d->shownMaxRate)
        mqttSettings.maxMessagesPerSecond = m_ui->mqttMaxRate->value();
    mqttSettings.maxInflightMessages = m_ui->mqttMaxInflight->value();
    mqttSettings.format.topicTemplate = m_ui->mqttTopicTemplate->text().trimmed();
    mqttSettings.format.deviceType = m_ui->mqttDeviceType->text().trimmed();

    // Secrets: an empty field keeps the one in force (and its reference), a typed one replaces
    // it; a typed env:/file: reference is resolved by the parser below.
    auto setSecret = [&references](const QString &name, const QString &typed, QString &value) {
        references.remove(name);
        value.clear();
        if (app::isSecretReference(typed))
            references.insert(name, typed);
        else
            value = typed;
    };
    const Credentials kind = mqttSettings.format.mode == mqtt::Mode::Device
        ? Credentials::None
        : Credentials(m_ui->mqttCredentials->currentData().toInt());
    const Credentials baseKind = credentialsOf(base);
    if (kind != baseKind) {
        client.username.clear();
        client.password.clear();
        references.remove(kTokenSecret);
        references.remove(kUsernameSecret);
        references.remove(kPasswordSecret);
    }
    if (kind == Credentials::Token) {
        const QString token = m_ui->mqttToken->text();
        if (!token.isEmpty())
            setSecret(kTokenSecret, token, client.username);
        else if (kind != baseKind)
            return fieldError(u"mqtt.token"_s, tr("must not be empty with sign-in by access token"));
    } else if (kind == Credentials::UsernamePassword) {
        const QString username = m_ui->mqttUsername->text();
        const bool usernameHidden = baseKind == kind && base.secretReferences.contains(kUsernameSecret);
        if (!username.isEmpty())
            setSecret(kUsernameSecret, username, client.username);
        else if (!usernameHidden)
            setSecret(kUsernameSecret, QString(), client.username);
        const QString password = m_ui->mqttPassword->text();
        if (!password.isEmpty())
            setSecret(kPasswordSecret, password, client.password);
        if (client.username.isEmpty() && !references.contains(kUsernameSecret) && client.password.isEmpty()
            && !references.contains(kPasswordSecret))
            return fieldError(
                u"mqtt.username"_s, tr("must not be empty with sign-in by username and password"));
    }

    mqtt::TlsOptions &tls = client.tls;
    tls.enabled = m_ui->tlsEnabled->isChecked();
    tls.caFile = m_ui->tlsCaFile->text().trimmed();
    tls.certFile = m_ui->tlsCertFile->text().trimmed();
    tls.keyFile = m_ui->tlsKeyFile->text().trimmed();
    tls.verifyPeer = m_ui->tlsVerifyPeer->isChecked();

    app::StorageSettings &storage = result.storage;
    // As in the file: no path is the default database.
    storage.path = m_ui->storagePath->text().trimmed();
    if (storage.path.isEmpty())
        storage.path = app::defaultDatabasePath();
    storage.readingsRetentionDays = m_ui->readingsRetention->value();
    storage.metricsRetentionDays = m_ui->metricsRetention->value();
    storage.eventsRetentionDays = m_ui->eventsRetention->value();
    storage.maxOutboxBytes = qint64(m_ui->maxOutboxMb->value()) * 1024 * 1024;
    storage.maxOutboxAgeHours = m_ui->maxOutboxAgeHours->value();

    result.site.workers = m_ui->pollingWorkers->value();

    result.monitor.interfaceName = m_ui->monitorInterface->currentText().trimmed();
    result.monitor.rollupSeconds = m_ui->rollupSeconds->value();

    result.http.enabled = m_ui->httpEnabled->isChecked();
    result.http.address = m_ui->httpAddress->text().trimmed();
    result.http.port = quint16(m_ui->httpPort->value());
    if (const QString token = m_ui->httpToken->text(); !token.isEmpty()) {
        QString literal;
        setSecret(kHttpTokenSecret, token, literal);
        result.http.token = literal.toUtf8();
    }

    // The file parser is the one judge of a configuration: what it would refuse on the next
    // start is refused now, with its message (the JSON path first).
    const QString baseDirectory
        = base.fileName.isEmpty() ? QString() : QFileInfo(base.fileName).absolutePath();
    auto parsed = app::parseBridgeConfig(app::bridgeConfigToJson(result, true), source, baseDirectory);
    if (!parsed)
        return parsed.error();
    parsed->fileName = base.fileName;
    return parsed;
}

void SettingsPage::showApplyResult(const QString &text, bool ok)
{
    m_ui->applyResult->setText(text);
    QPalette palette = m_ui->applyResult->palette();
    palette.setColor(QPalette::WindowText, ok ? QColor(0x2e, 0x7d, 0x32) : QColor(0xc6, 0x28, 0x28));
    m_ui->applyResult->setPalette(palette);
    m_ui->applyResult->setProperty("ok", ok);
}

polling::MeterConfig SettingsPage::meterDefaults() const
{
    auto defaults = formMeterDefaults();
    return defaults ? *defaults : d->defaults;
}

void SettingsPage::setMeterDefaults(const polling::MeterConfig &defaults)
{
    d->defaults = defaults;
    m_ui->defaultInterval->setValue(defaults.pollIntervalMs);
    m_ui->defaultConnectTimeout->setValue(defaults.connectTimeoutMs);
    m_ui->defaultRequestTimeout->setValue(defaults.requestTimeoutMs);
    m_ui->defaultRetries->setValue(defaults.retries);
    m_ui->defaultTransport->setCurrentIndex(
        m_ui->defaultTransport->findData(dlms::transportName(defaults.transport)));
    m_ui->defaultItems->setPlainText(itemLines(defaults.items));
}

polling::MeterConfig SettingsPage::loadMeterDefaults(QSettings &settings)
{
    polling::MeterConfig defaults = builtInMeterDefaults();
    settings.beginGroup(kDefaultsGroup);
    // Each value on its own: one bad entry (an edited file) must not discard the rest.
    auto readInt = [&settings](const QString &key, int min, int max, int &out) {
        bool ok = false;
        const int value = settings.value(key).toInt(&ok);
        if (ok && value >= min && value <= max)
            out = value;
    };
    readInt(u"intervalMs"_s, 1, 86'400'000, defaults.pollIntervalMs);
    readInt(u"connectTimeoutMs"_s, 1, 600'000, defaults.connectTimeoutMs);
    readInt(u"requestTimeoutMs"_s, 1, 600'000, defaults.requestTimeoutMs);
    readInt(u"retries"_s, 0, 10, defaults.retries);
    if (const auto transport = dlms::transportFromName(settings.value(u"transport"_s).toString()))
        defaults.transport = *transport;
    if (settings.contains(u"items"_s)) {
        auto items = polling::parseItemLines(settings.value(u"items"_s).toStringList());
        if (items && !items->empty()) {
            polling::MeterConfig candidate = defaults;
            candidate.items = *items;
            if (!templateProblem(candidate))
                defaults = candidate;
        }
    }
    settings.endGroup();
    return defaults;
}

void SettingsPage::saveMeterDefaults(QSettings &settings, const polling::MeterConfig &defaults)
{
    settings.beginGroup(kDefaultsGroup);
    settings.setValue(u"intervalMs"_s, defaults.pollIntervalMs);
    settings.setValue(u"connectTimeoutMs"_s, defaults.connectTimeoutMs);
    settings.setValue(u"requestTimeoutMs"_s, defaults.requestTimeoutMs);
    settings.setValue(u"retries"_s, defaults.retries);
    settings.setValue(u"transport"_s, dlms::transportName(defaults.transport));
    settings.setValue(u"items"_s, polling::formatItemLines(defaults.items));
    settings.endGroup();
}

QString SettingsPage::language() const
{
    return m_ui->languageCombo->currentData().toString();
}

void SettingsPage::setLanguage(const QString &code)
{
    const QSignalBlocker blocker(m_ui->languageCombo);
    m_ui->languageCombo->setCurrentIndex(std::max(0, m_ui->languageCombo->findData(code)));
}

void SettingsPage::changeEvent(QEvent *event)
{
    if (event->type() == QEvent::LanguageChange) {
        m_ui->retranslateUi(this);
        retranslate();
    }
    QWidget::changeEvent(event);
}

void SettingsPage::retranslate()
{
    // setItemText keeps the current index, so no selection changes and no signal.
    m_ui->mqttMode->setItemText(0, tr("ThingsBoard gateway (one connection for every meter)"));
    m_ui->mqttMode->setItemText(1, tr("ThingsBoard devices (one connection per meter)"));
    m_ui->mqttMode->setItemText(2, tr("Plain MQTT (a topic per meter)"));
    m_ui->mqttCredentials->setItemText(int(Credentials::None), tr("No credentials"));
    m_ui->mqttCredentials->setItemText(int(Credentials::Token), tr("Access token"));
    m_ui->mqttCredentials->setItemText(int(Credentials::UsernamePassword), tr("Username and password"));
    m_ui->defaultTransport->setItemText(0, tr("TCP (IEC 62056-47 wrapper)"));
    m_ui->defaultTransport->setItemText(1, tr("HDLC over TCP"));
    m_ui->languageCombo->setItemText(0, tr("System default"));
    m_ui->monitorInterface->lineEdit()->setPlaceholderText(tr("every interface but loopback"));
    m_ui->defaultItems->setPlaceholderText(tr("1.0.32.7.0.255\nenergy_import_wh=1.0.1.8.0.255 3:2"));
    updatePlaceholders();
}

void SettingsPage::updatePlaceholders()
{
    const app::BridgeConfig &base = d->base;
    auto placeholder = [this](bool set, const QString &reference, const QString &unset) {
        if (!set)
            return unset;
        return reference.isEmpty() ? tr("unchanged") : tr("unchanged (%1)").arg(reference);
    };
    const Credentials kind = d->baseCredentials;
    const mqtt::ClientOptions &client = base.mqtt.client;
    m_ui->mqttToken->setPlaceholderText(placeholder(kind == Credentials::Token,
        base.secretReferences.value(kTokenSecret), tr("the gateway's access token")));
    const bool usernameHidden
        = kind == Credentials::UsernamePassword && base.secretReferences.contains(kUsernameSecret);
    m_ui->mqttUsername->setPlaceholderText(
        placeholder(usernameHidden, base.secretReferences.value(kUsernameSecret), QString()));
    const bool passwordSet = kind == Credentials::UsernamePassword
        && (!client.password.isEmpty() || base.secretReferences.contains(kPasswordSecret));
    m_ui->mqttPassword->setPlaceholderText(
        placeholder(passwordSet, base.secretReferences.value(kPasswordSecret), tr("none")));
    const bool httpTokenSet = !base.http.token.isEmpty() || base.secretReferences.contains(kHttpTokenSecret);
    m_ui->httpToken->setPlaceholderText(placeholder(
        httpTokenSet, base.secretReferences.value(kHttpTokenSecret), tr("none: no authentication")));
    m_ui->mqttClientId->setPlaceholderText(app::defaultClientId());
    m_ui->storagePath->setPlaceholderText(app::defaultDatabasePath());
}

void SettingsPage::updateEnabled()
{
    const bool mqttOn = m_ui->mqttEnabled->isChecked();
    const QString mode = m_ui->mqttMode->currentData().toString();
    const bool device = mode == mqtt::modeName(mqtt::Mode::Device);
    const auto kind = Credentials(m_ui->mqttCredentials->currentData().toInt());
    const QList<QWidget *> broker {m_ui->mqttMode, m_ui->mqttModeLabel, m_ui->mqttHost, m_ui->mqttHostLabel,
        m_ui->mqttPort, m_ui->mqttPortLabel, m_ui->mqttProtocol, m_ui->mqttProtocolLabel, m_ui->mqttClientId,
        m_ui->mqttClientIdLabel, m_ui->mqttKeepalive, m_ui->mqttKeepaliveLabel, m_ui->mqttMaxRate,
        m_ui->mqttMaxRateLabel, m_ui->mqttMaxInflight, m_ui->mqttMaxInflightLabel, m_ui->credentialsGroup,
        m_ui->tlsGroup};
    for (QWidget *widget : broker)
        widget->setEnabled(mqttOn);
    const bool plain = mode == mqtt::modeName(mqtt::Mode::Plain);
    m_ui->mqttTopicTemplate->setEnabled(mqttOn && plain);
    m_ui->mqttTopicTemplateLabel->setEnabled(mqttOn && plain);
    const bool gateway = mode == mqtt::modeName(mqtt::Mode::Gateway);
    m_ui->mqttDeviceType->setEnabled(mqttOn && gateway);
    m_ui->mqttDeviceTypeLabel->setEnabled(mqttOn && gateway);

    m_ui->mqttCredentials->setEnabled(!device);
    m_ui->mqttCredentialsLabel->setEnabled(!device);
    const bool token = !device && kind == Credentials::Token;
    const bool password = !device && kind == Credentials::UsernamePassword;
    m_ui->mqttToken->setEnabled(token);
    m_ui->mqttTokenLabel->setEnabled(token);
    for (QWidget *widget :
        {static_cast<QWidget *>(m_ui->mqttUsername), static_cast<QWidget *>(m_ui->mqttPassword),
            static_cast<QWidget *>(m_ui->mqttUsernameLabel), static_cast<QWidget *>(m_ui->mqttPasswordLabel)})
        widget->setEnabled(password);

    const bool tls = m_ui->tlsEnabled->isChecked();
    for (QWidget *widget :
        {static_cast<QWidget *>(m_ui->tlsCaFile), static_cast<QWidget *>(m_ui->tlsCaBrowse),
            static_cast<QWidget *>(m_ui->tlsCaFileLabel), static_cast<QWidget *>(m_ui->tlsCertFile),
            static_cast<QWidget *>(m_ui->tlsCertBrowse), static_cast<QWidget *>(m_ui->tlsCertFileLabel),
            static_cast<QWidget *>(m_ui->tlsKeyFile), static_cast<QWidget *>(m_ui->tlsKeyBrowse),
            static_cast<QWidget *>(m_ui->tlsKeyFileLabel), static_cast<QWidget *>(m_ui->tlsVerifyPeer)})
        widget->setEnabled(tls);

    const bool http = m_ui->httpEnabled->isChecked();
    for (QWidget *widget :
        {static_cast<QWidget *>(m_ui->httpAddress), static_cast<QWidget *>(m_ui->httpAddressLabel),
            static_cast<QWidget *>(m_ui->httpPort), static_cast<QWidget *>(m_ui->httpPortLabel),
            static_cast<QWidget *>(m_ui->httpToken), static_cast<QWidget *>(m_ui->httpTokenLabel)})
        widget->setEnabled(http);
}

dlms::Result<polling::MeterConfig> SettingsPage::formMeterDefaults() const
{
    const QString source = tr("settings");
    auto fieldError = [&source](const QString &path, const QString &problem) {
        return dlms::makeError(dlms::ErrorCode::InvalidArgument, u"%1: %2: %3"_s.arg(source, path, problem));
    };
    polling::MeterConfig defaults = d->defaults;
    defaults.pollIntervalMs = m_ui->defaultInterval->value();
    defaults.connectTimeoutMs = m_ui->defaultConnectTimeout->value();
    defaults.requestTimeoutMs = m_ui->defaultRequestTimeout->value();
    defaults.retries = m_ui->defaultRetries->value();
    defaults.transport = dlms::transportFromName(m_ui->defaultTransport->currentData().toString())
                             .value_or(dlms::Transport::Wrapper);
    auto items = polling::parseItemLines(m_ui->defaultItems->toPlainText().split(u'\n'));
    if (!items)
        return fieldError(u"new_meter.items"_s, items.error().message);
    defaults.items = std::move(*items);
    if (const auto problem = templateProblem(defaults)) {
        // "items[2].key" -> the items box; the other fields keep their site-file key.
        const QString field = problem->field.startsWith(u"items"_s) ? u"items"_s : problem->field;
        const QString detail
            = field == problem->field ? problem->problem : problem->field + u' ' + problem->problem;
        return fieldError(u"new_meter."_s + field, detail);
    }
    return defaults;
}

void SettingsPage::apply()
{
    clearInvalidMarks();
    const auto edited = editedConfig(d->base);
    if (!edited) {
        const QString message = edited.error().message;
        showApplyResult(message, false);
        if (QWidget *field = fieldOfError(message)) {
            field->setProperty("invalid", true);
            for (QWidget *tab = field; tab; tab = tab->parentWidget()) {
                if (m_ui->tabs->indexOf(tab) >= 0) {
                    m_ui->tabs->setCurrentWidget(tab);
                    break;
                }
            }
            field->setFocus(Qt::OtherFocusReason);
        }
        return;
    }
    m_ui->applyResult->clear();
    Q_EMIT applyRequested();
}

QWidget *SettingsPage::fieldOfError(const QString &message) const
{
    // "<source>: <json path>: <problem>"
    const QString prefix = tr("settings") + u": "_s;
    if (!message.startsWith(prefix))
        return nullptr;
    const qsizetype end = message.indexOf(u": "_s, prefix.size());
    if (end < 0)
        return nullptr;
    return d->fieldsByPath.value(message.mid(prefix.size(), end - prefix.size()));
}

void SettingsPage::clearInvalidMarks()
{
    for (QWidget *field : std::as_const(d->fieldsByPath))
        field->setProperty("invalid", QVariant());
}
