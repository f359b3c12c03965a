#include "meterdialog.h"

#include "ui_meterdialog.h"

#include <QtCore/QEvent>
#include <QtWidgets/QPushButton>
#include <QtWidgets/QStyle>

using namespace Qt::StringLiterals;

namespace {

// The marker the dialog's style sheet draws a red frame around.
constexpr const char *kInvalidProperty = "invalid";

// The items box as items; the error names the line ("line 2: …").
dlms::Result<std::vector<polling::PollItem>> parseItems(const QString &text)
{
    return polling::parseItemLines(text.split(u'\n'));
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

    m_ui->idEdit->setText(meter.id);
    m_ui->nameEdit->setText(meter.name);
    m_ui->hostEdit->setText(meter.host);
    m_ui->portSpin->setValue(meter.port);
    m_ui->transportCombo->setCurrentIndex(meter.transport == dlms::Transport::Hdlc ? 1 : 0);
    m_ui->clientAddressSpin->setValue(meter.clientAddress);
    m_ui->serverAddressSpin->setValue(meter.serverAddress);
    m_ui->physicalAddressSpin->setValue(meter.physicalAddress);
    m_ui->authenticationCombo->setCurrentIndex(meter.authentication == dlms::Authentication::Low ? 1 : 0);
    // Secrets are never prefilled: an empty field on edit keeps them.
    m_ui->passwordEdit->clear();
    m_ui->tokenEdit->clear();
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
             m_ui->deviceTypeEdit})
        connect(edit, &QLineEdit::textChanged, this, revalidate);
    for (QSpinBox *spin :
        {m_ui->portSpin, m_ui->clientAddressSpin, m_ui->serverAddressSpin, m_ui->physicalAddressSpin,
            m_ui->intervalSpin, m_ui->connectTimeoutSpin, m_ui->requestTimeoutSpin, m_ui->retriesSpin})
        connect(spin, &QSpinBox::valueChanged, this, revalidate);
    for (QComboBox *combo : {m_ui->transportCombo, m_ui->authenticationCombo, m_ui->associationCombo})
        connect(combo, &QComboBox::currentIndexChanged, this, revalidate);
    connect(m_ui->itemsEdit, &QPlainTextEdit::textChanged, this, revalidate);
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
    const bool lls = m_ui->authenticationCombo->currentIndex() == 1;
    meter.authentication = lls ? dlms::Authentication::Low : dlms::Authentication::None;
    const QString password = m_ui->passwordEdit->text();
    if (!lls)
        meter.password.clear();
    else if (!password.isEmpty())
        meter.password = password.toUtf8();
    else if (!keepsSecrets())
        meter.password.clear();
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
    const bool lls = m_ui->authenticationCombo->currentIndex() == 1;
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
        m_ui->serverAddressSpin, m_ui->physicalAddressSpin, m_ui->passwordEdit, m_ui->intervalSpin,
        m_ui->connectTimeoutSpin, m_ui->requestTimeoutSpin, m_ui->retriesSpin, m_ui->itemsEdit};
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
