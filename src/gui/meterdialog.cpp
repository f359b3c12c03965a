#include "meterdialog.h"

#include "ui_meterdialog.h"

#include <security.h>

#include <QtCore/QEvent>
#include <QtWidgets/QPushButton>
#include <QtWidgets/QStyle>

#include <algorithm>
#include <iterator>
#include <optional>

using namespace Qt::StringLiterals;

namespace {

// The marker the dialog's style sheet draws a red frame around.
constexpr const char *kInvalidProperty = "invalid";

// The items box as items; the error names the line ("line 2: …").
dlms::Result<std::vector<polling::PollItem>> parseItems(const QString &text)
{
    return polling::parseItemLines(text.split(u'\n'));
}

// The authentication combo's rows.
enum AuthenticationRow { NoAuthentication, LowAuthentication, GmacAuthentication };
// The ciphering combo's rows, in the order of the enum.
constexpr dlms::SecurityPolicy kPolicies[] = {dlms::SecurityPolicy::None, dlms::SecurityPolicy::Authenticated,
    dlms::SecurityPolicy::Encrypted, dlms::SecurityPolicy::AuthenticatedEncrypted};

int authenticationRow(dlms::Authentication mechanism)
{
    switch (mechanism) {
    case dlms::Authentication::Low:
        return LowAuthentication;
    case dlms::Authentication::HighGmac:
        return GmacAuthentication;
    default:
        return NoAuthentication;
    }
}

dlms::SecurityPolicy policyAt(int row)
{
    return row >= 0 && row < int(std::size(kPolicies)) ? kPolicies[row] : dlms::SecurityPolicy::None;
}

// Separators between digits are allowed anywhere ("00 01 02", "00:01:02"): they are removed first.
QString hexDigitsOf(const QString &text)
{
    QString digits = text;
    digits.remove(u' ');
    digits.remove(u':');
    return digits;
}

// Hex text as `size` bytes; nullopt when it is anything else. The text may be a key: nothing of
// it goes into a message.
std::optional<QByteArray> hexBytes(const QString &text, qsizetype size)
{
    auto parsed = dlms::security::parseHexBytes(hexDigitsOf(text), size, QString());
    if (!parsed)
        return std::nullopt;
    return std::move(*parsed);
}

// Why hex text is not `size` bytes, by its digit count only (never its content).
QString hexProblem(const QString &text, qsizetype size)
{
    const QString digits = hexDigitsOf(text);
    for (const QChar c : digits) {
        const char16_t u = c.unicode();
        if (!((u >= u'0' && u <= u'9') || (u >= u'a' && u <= u'f') || (u >= u'A' && u <= u'F')))
            return MeterDialog::tr("must contain only hex digits (0-9, A-F)");
    }
    return MeterDialog::tr("must be %1 hex digits (got %2)").arg(size * 2).arg(digits.size());
}

struct FieldProblem {
    QWidget *widget = nullptr;
    QString label;
    QString why;
};

// The suite 0 fields in the order a person fills them in: what HLS-GMAC or the ciphering needs,
// and hex of the right size. `keepsEk` / `keepsAk`: an empty key field keeps a stored key.
std::optional<FieldProblem> findSecurityFieldProblem(const Ui::MeterDialog &ui, bool keepsEk, bool keepsAk)
{
    const bool gmac = ui.authenticationCombo->currentIndex() == GmacAuthentication;
    const dlms::SecurityPolicy policy = policyAt(ui.policyCombo->currentIndex());
    if (!gmac && policy == dlms::SecurityPolicy::None)
        return std::nullopt;
    const bool authenticated = policy == dlms::SecurityPolicy::Authenticated
        || policy == dlms::SecurityPolicy::AuthenticatedEncrypted;
    const QString needed = gmac ? MeterDialog::tr("is required with HLS-GMAC authentication")
                                : MeterDialog::tr("is required when messages are ciphered");

    const QString title = ui.systemTitleEdit->text().trimmed();
    const QString titleLabel = MeterDialog::tr("System title");
    if (title.isEmpty())
        return FieldProblem {ui.systemTitleEdit, titleLabel, needed};
    if (!hexBytes(title, dlms::security::SystemTitleSize))
        return FieldProblem {
            ui.systemTitleEdit, titleLabel, hexProblem(title, dlms::security::SystemTitleSize)};

    const QString ek = ui.blockCipherKeyEdit->text();
    const QString ekLabel = MeterDialog::tr("Block cipher key");
    if (ek.isEmpty() && !keepsEk)
        return FieldProblem {ui.blockCipherKeyEdit, ekLabel, needed};
    if (!ek.isEmpty() && !hexBytes(ek, dlms::security::KeySize))
        return FieldProblem {ui.blockCipherKeyEdit, ekLabel, hexProblem(ek, dlms::security::KeySize)};

    // The AK enters the GMAC of HLS-GMAC and of every authenticated APDU; encryption alone
    // does without it.
    const QString ak = ui.authenticationKeyEdit->text();
    const QString akLabel = MeterDialog::tr("Authentication key");
    if (ak.isEmpty() && !keepsAk && (gmac || authenticated))
        return FieldProblem {ui.authenticationKeyEdit, akLabel,
            gmac ? needed : MeterDialog::tr("is required when messages are authenticated")};
    if (!ak.isEmpty() && !hexBytes(ak, dlms::security::KeySize))
        return FieldProblem {ui.authenticationKeyEdit, akLabel, hexProblem(ak, dlms::security::KeySize)};
    return std::nullopt;
}

} // namespace

MeterDialog::MeterDialog(const polling::MeterConfig &meter, const app::MeterPublishing &publishing,
    const QStringList &takenIds, bool editing, QWidget *parent)
    : QDialog(parent), m_ui(std::make_unique<Ui::MeterDialog>()), m_original(meter),
      m_originalPublishing(publishing), m_takenIds(takenIds), m_editing(editing)
{
    m_ui->setupUi(this);
    setStyleSheet(u"*[invalid=\"true\"] { border: 1px solid #d32f2f; }"_s);
    m_ui->problemLabel->setStyleSheet(u"color: #d32f2f;"_s);
    m_ui->passwordEdit->setEchoMode(QLineEdit::Password);
    m_ui->tokenEdit->setEchoMode(QLineEdit::Password);
    m_ui->blockCipherKeyEdit->setEchoMode(QLineEdit::Password);
    m_ui->authenticationKeyEdit->setEchoMode(QLineEdit::Password);

    m_ui->idEdit->setText(meter.id);
    m_ui->nameEdit->setText(meter.name);
    m_ui->hostEdit->setText(meter.host);
    m_ui->portSpin->setValue(meter.port);
    m_ui->transportCombo->setCurrentIndex(meter.transport == dlms::Transport::Hdlc ? 1 : 0);
    m_ui->clientAddressSpin->setValue(meter.clientAddress);
    m_ui->serverAddressSpin->setValue(meter.serverAddress);
    m_ui->physicalAddressSpin->setValue(meter.physicalAddress);
    m_ui->authenticationCombo->setCurrentIndex(authenticationRow(meter.authentication));
    // Secrets are never prefilled: an empty field on edit keeps them.
    m_ui->passwordEdit->clear();
    m_ui->tokenEdit->clear();
    m_ui->blockCipherKeyEdit->clear();
    m_ui->authenticationKeyEdit->clear();
    // The system title is no secret: the meter sees it in every association request.
    m_ui->policyCombo->setCurrentIndex(
        int(std::find(std::begin(kPolicies), std::end(kPolicies), meter.security.policy)
            - std::begin(kPolicies)));
    m_ui->systemTitleEdit->setText(QString::fromLatin1(meter.security.systemTitle.toHex().toUpper()));
    m_ui->dedicatedKeyCheck->setChecked(meter.security.dedicatedKey);
    m_ui->generalCipheringCheck->setChecked(meter.security.generalCiphering);
    m_ui->intervalSpin->setValue(meter.pollIntervalMs);
    m_ui->connectTimeoutSpin->setValue(meter.connectTimeoutMs);
    m_ui->requestTimeoutSpin->setValue(meter.requestTimeoutMs);
    m_ui->retriesSpin->setValue(meter.retries);
    m_ui->associationCombo->setCurrentIndex(
        meter.associationMode == polling::AssociationMode::PerPoll ? 1 : 0);
    m_ui->itemsEdit->setPlainText(polling::formatItemLines(meter.items).join(u'\n'));
    m_ui->deviceTypeEdit->setText(publishing.deviceType);
    retranslate();

    const auto revalidate = [this] { validate(); };
    for (QLineEdit *edit : {m_ui->idEdit, m_ui->nameEdit, m_ui->hostEdit, m_ui->passwordEdit, m_ui->tokenEdit,
             m_ui->deviceTypeEdit, m_ui->systemTitleEdit, m_ui->blockCipherKeyEdit,
             m_ui->authenticationKeyEdit})
        connect(edit, &QLineEdit::textChanged, this, revalidate);
    for (QSpinBox *spin :
        {m_ui->portSpin, m_ui->clientAddressSpin, m_ui->serverAddressSpin, m_ui->physicalAddressSpin,
            m_ui->intervalSpin, m_ui->connectTimeoutSpin, m_ui->requestTimeoutSpin, m_ui->retriesSpin})
        connect(spin, &QSpinBox::valueChanged, this, revalidate);
    for (QComboBox *combo : {m_ui->transportCombo, m_ui->authenticationCombo, m_ui->associationCombo})
        connect(combo, &QComboBox::currentIndexChanged, this, revalidate);
    for (QComboBox *combo : {m_ui->authenticationCombo, m_ui->policyCombo})
        connect(combo, &QComboBox::currentIndexChanged, this, [this] { updateSecurityFields(); });
    connect(m_ui->policyCombo, &QComboBox::currentIndexChanged, this, revalidate);
    for (QCheckBox *check : {m_ui->dedicatedKeyCheck, m_ui->generalCipheringCheck})
        connect(check, &QCheckBox::toggled, this, revalidate);
    connect(m_ui->itemsEdit, &QPlainTextEdit::textChanged, this, revalidate);
    updateSecurityFields();
    validate();
}

MeterDialog::~MeterDialog() = default;

void MeterDialog::setKeepsSecrets(bool keeps)
{
    m_keepsSecrets = keeps;
    retranslate();
    validate();
}

bool MeterDialog::keepsSecrets() const
{
    return m_editing || m_keepsSecrets;
}

polling::MeterConfig MeterDialog::meter() const
{
    // Everything the form does not show (HDLC parameters, backoff, breaker, PDU, snapshot
    // profile…) comes from the meter being edited, or from the defaults for a new one.
    polling::MeterConfig meter = m_original;
    meter.id = m_ui->idEdit->text().trimmed();
    meter.name = m_ui->nameEdit->text().trimmed();
    meter.host = m_ui->hostEdit->text().trimmed();
    meter.port = quint16(qBound(0, m_ui->portSpin->value(), 65535));
    meter.transport
        = m_ui->transportCombo->currentIndex() == 1 ? dlms::Transport::Hdlc : dlms::Transport::Wrapper;
    meter.clientAddress = quint16(m_ui->clientAddressSpin->value());
    meter.serverAddress = quint16(m_ui->serverAddressSpin->value());
    meter.physicalAddress = quint16(m_ui->physicalAddressSpin->value());
    const int authentication = m_ui->authenticationCombo->currentIndex();
    const bool lls = authentication == LowAuthentication;
    meter.authentication = lls                 ? dlms::Authentication::Low
        : authentication == GmacAuthentication ? dlms::Authentication::HighGmac
                                               : dlms::Authentication::None;
    const QString password = m_ui->passwordEdit->text();
    if (!lls)
        meter.password.clear();
    else if (!password.isEmpty())
        meter.password = password.toUtf8();
    else if (!keepsSecrets())
        meter.password.clear();
    meter.security = security();
    meter.pollIntervalMs = m_ui->intervalSpin->value();
    meter.connectTimeoutMs = m_ui->connectTimeoutSpin->value();
    meter.requestTimeoutMs = m_ui->requestTimeoutSpin->value();
    meter.retries = m_ui->retriesSpin->value();
    meter.associationMode = m_ui->associationCombo->currentIndex() == 1 ? polling::AssociationMode::PerPoll
                                                                        : polling::AssociationMode::KeepOpen;
    dlms::Result<std::vector<polling::PollItem>> items = parseItems(m_ui->itemsEdit->toPlainText());
    meter.items = items ? std::move(*items) : std::vector<polling::PollItem> {};
    return meter;
}

namespace {

bool encrypts(dlms::SecurityPolicy policy)
{
    return policy == dlms::SecurityPolicy::Encrypted
        || policy == dlms::SecurityPolicy::AuthenticatedEncrypted;
}

} // namespace

dlms::SecuritySettings MeterDialog::security() const
{
    // Nothing of suite 0 in use: no keys are kept for it, as the password goes without LLS.
    dlms::SecuritySettings security;
    const bool gmac = m_ui->authenticationCombo->currentIndex() == GmacAuthentication;
    const dlms::SecurityPolicy policy = policyAt(m_ui->policyCombo->currentIndex());
    if (!gmac && policy == dlms::SecurityPolicy::None)
        return security;
    const bool ciphered = policy != dlms::SecurityPolicy::None;
    security.policy = policy;
    security.systemTitle = hexBytes(m_ui->systemTitleEdit->text().trimmed(), dlms::security::SystemTitleSize)
                               .value_or(QByteArray());
    const auto key = [this](const QLineEdit *edit, const QByteArray &stored) {
        if (!edit->text().isEmpty())
            return hexBytes(edit->text(), dlms::security::KeySize).value_or(QByteArray());
        return keepsSecrets() ? stored : QByteArray();
    };
    security.blockCipherKey = key(m_ui->blockCipherKeyEdit, m_original.security.blockCipherKey);
    security.authenticationKey = key(m_ui->authenticationKeyEdit, m_original.security.authenticationKey);
    // The dedicated key travels inside the InitiateRequest: only an encrypting policy hides it.
    security.dedicatedKey = encrypts(policy) && m_ui->dedicatedKeyCheck->isChecked();
    security.generalCiphering = ciphered && m_ui->generalCipheringCheck->isChecked();
    return security;
}

void MeterDialog::updateSecurityFields()
{
    const bool gmac = m_ui->authenticationCombo->currentIndex() == GmacAuthentication;
    const bool ciphered = policyAt(m_ui->policyCombo->currentIndex()) != dlms::SecurityPolicy::None;
    for (QWidget *widget : {static_cast<QWidget *>(m_ui->systemTitleLabel),
             static_cast<QWidget *>(m_ui->systemTitleEdit), static_cast<QWidget *>(m_ui->blockCipherKeyLabel),
             static_cast<QWidget *>(m_ui->blockCipherKeyEdit),
             static_cast<QWidget *>(m_ui->authenticationKeyLabel),
             static_cast<QWidget *>(m_ui->authenticationKeyEdit)})
        widget->setEnabled(gmac || ciphered);
    m_ui->dedicatedKeyCheck->setEnabled(encrypts(policyAt(m_ui->policyCombo->currentIndex())));
    m_ui->generalCipheringCheck->setEnabled(ciphered);
    const bool lls = m_ui->authenticationCombo->currentIndex() == LowAuthentication;
    m_ui->passwordLabel->setEnabled(lls);
    m_ui->passwordEdit->setEnabled(lls);
}

app::MeterPublishing MeterDialog::publishing() const
{
    app::MeterPublishing publishing = m_originalPublishing;
    if (const QString token = m_ui->tokenEdit->text().trimmed(); !token.isEmpty())
        publishing.accessToken = token;
    publishing.deviceType = m_ui->deviceTypeEdit->text().trimmed();
    return publishing;
}

QString MeterDialog::problem() const
{
    return m_problem;
}

void MeterDialog::changeEvent(QEvent *event)
{
    if (event->type() == QEvent::LanguageChange) {
        m_ui->retranslateUi(this);
        retranslate();
        validate();
    }
    QDialog::changeEvent(event);
}

void MeterDialog::retranslate()
{
    setWindowTitle(m_editing ? tr("Edit meter %1").arg(m_original.id) : tr("Add meter"));
    const bool hasPassword = keepsSecrets() && !m_original.password.isEmpty();
    m_ui->passwordEdit->setPlaceholderText(hasPassword ? tr("unchanged") : QString());
    const bool hasToken = keepsSecrets() && !m_originalPublishing.accessToken.isEmpty();
    m_ui->tokenEdit->setPlaceholderText(hasToken ? tr("unchanged") : tr("none"));
    const bool hasEk = keepsSecrets() && !m_original.security.blockCipherKey.isEmpty();
    m_ui->blockCipherKeyEdit->setPlaceholderText(hasEk ? tr("unchanged") : tr("32 hex digits"));
    const bool hasAk = keepsSecrets() && !m_original.security.authenticationKey.isEmpty();
    m_ui->authenticationKeyEdit->setPlaceholderText(hasAk ? tr("unchanged") : tr("32 hex digits"));
}

void MeterDialog::validate()
{
    QWidget *culprit = nullptr;
    QString label;
    QString why;
    const auto fail = [&](QWidget *widget, const QString &fieldLabel, const QString &text) {
        culprit = widget;
        label = fieldLabel;
        why = text;
    };

    const QString id = m_ui->idEdit->text().trimmed();
    const auto items = parseItems(m_ui->itemsEdit->toPlainText());
    const bool lls = m_ui->authenticationCombo->currentIndex() == LowAuthentication;
    const bool keepsPassword = keepsSecrets() && !m_original.password.isEmpty();
    const int port = m_ui->portSpin->value();

    if (id.isEmpty())
        fail(m_ui->idEdit, tr("Id"), tr("must not be empty"));
    else if (m_takenIds.contains(id))
        fail(m_ui->idEdit, tr("Id"), tr("\"%1\" is already used by another meter").arg(id));
    else if (m_ui->hostEdit->text().trimmed().isEmpty())
        fail(m_ui->hostEdit, tr("Host"), tr("must not be empty"));
    else if (port < 1 || port > 65535)
        fail(m_ui->portSpin, tr("Port"), tr("must be from 1 to 65535 (got %1)").arg(port));
    else if (!items)
        fail(m_ui->itemsEdit, tr("Items"), items.error().message);
    else if (items->empty())
        fail(m_ui->itemsEdit, tr("Items"), tr("name at least one value to read"));
    else if (lls && m_ui->passwordEdit->text().isEmpty() && !keepsPassword)
        fail(m_ui->passwordEdit, tr("Password"), tr("is required with low-level security (LLS)"));
    else if (const auto security
        = findSecurityFieldProblem(*m_ui, keepsSecrets() && !m_original.security.blockCipherKey.isEmpty(),
            keepsSecrets() && !m_original.security.authenticationKey.isEmpty()))
        fail(security->widget, security->label, security->why);
    else if (const auto problem = polling::findMeterConfigProblem(meter())) {
        // The engine's own rules, named by the form's labels where the form shows the field.
        struct Field {
            const char *key;
            QWidget *widget;
            QString label;
        };
        const Field fields[] = {
            {"id", m_ui->idEdit, tr("Id")},
            {"host", m_ui->hostEdit, tr("Host")},
            {"port", m_ui->portSpin, tr("Port")},
            {"client_address", m_ui->clientAddressSpin, tr("Client address")},
            {"server_address", m_ui->serverAddressSpin, tr("Server address")},
            {"physical_address", m_ui->physicalAddressSpin, tr("Physical address")},
            {"password", m_ui->passwordEdit, tr("Password")},
            {"auth", m_ui->authenticationCombo, tr("Authentication")},
            {"security.system_title", m_ui->systemTitleEdit, tr("System title")},
            {"security.ek", m_ui->blockCipherKeyEdit, tr("Block cipher key")},
            {"security.ak", m_ui->authenticationKeyEdit, tr("Authentication key")},
            {"security.dedicated_key", m_ui->dedicatedKeyCheck, tr("Dedicated key per association")},
            {"security.general_ciphering", m_ui->generalCipheringCheck, tr("General ciphering")},
            {"interval_ms", m_ui->intervalSpin, tr("Poll interval")},
            {"connect_timeout_ms", m_ui->connectTimeoutSpin, tr("Connect timeout")},
            {"timeout_ms", m_ui->requestTimeoutSpin, tr("Request timeout")},
            {"retries", m_ui->retriesSpin, tr("Retries")},
        };
        fail(nullptr, problem->field, problem->problem);
        for (const Field &field : fields) {
            if (problem->field == QLatin1StringView(field.key)) {
                fail(field.widget, field.label, problem->problem);
                break;
            }
        }
        if (problem->field.startsWith(u"items"_s))
            fail(m_ui->itemsEdit, tr("Items"), problem->field + u' ' + problem->problem);
    }

    m_problem = label.isEmpty() ? QString() : tr("%1: %2").arg(label, why);
    m_ui->problemLabel->setText(m_problem);
    m_ui->problemLabel->setVisible(!m_problem.isEmpty());
    m_ui->buttonBox->button(QDialogButtonBox::Ok)->setEnabled(m_problem.isEmpty());

    const QList<QWidget *> fields = {m_ui->idEdit, m_ui->hostEdit, m_ui->portSpin, m_ui->clientAddressSpin,
        m_ui->serverAddressSpin, m_ui->physicalAddressSpin, m_ui->passwordEdit, m_ui->authenticationCombo,
        m_ui->systemTitleEdit, m_ui->blockCipherKeyEdit, m_ui->authenticationKeyEdit, m_ui->dedicatedKeyCheck,
        m_ui->generalCipheringCheck, m_ui->intervalSpin, m_ui->connectTimeoutSpin, m_ui->requestTimeoutSpin,
        m_ui->retriesSpin, m_ui->itemsEdit};
    for (QWidget *widget : fields) {
        const bool invalid = widget == culprit;
        if (widget->property(kInvalidProperty).toBool() == invalid)
            continue;
        widget->setProperty(kInvalidProperty, invalid);
        // A dynamic property does not restyle by itself.
        widget->style()->unpolish(widget);
        widget->style()->polish(widget);
    }
}
