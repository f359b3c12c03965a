#pragma once

#include <bridgeconfig.h>
#include <meterconfig.h>

#include <QtWidgets/QDialog>

#include <memory>

namespace Ui {
class MeterDialog;
}

// Add or edit one meter (form ui/meterdialog.ui): id, name, host, port, transport, client /
// server / physical address, authentication (none, LLS, HLS-GMAC) and password, suite 0 security (ciphering
// policy, client system title, EK and AK, dedicated key, general ciphering), poll interval, timeouts,
// retries, association mode, items (one per line, "[key=]OBIS [class:attribute]": polling::parseItemLines),
// and the meter's ThingsBoard token and device type. Validated as the user types: the OK button is enabled
// only when every field is valid, and the first problem is shown under the form, naming the field (the same
// rules as the site file: polling::findMeterConfigProblem, ids unique). The password, EK and AK fields show
// dots and are never prefilled with the stored secrets: left empty when editing, the meter keeps them.
class MeterDialog final : public QDialog {
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(MeterDialog)

public:
    // `takenIds`: ids the new or renamed meter may not use (the other meters').
    MeterDialog(const polling::MeterConfig &meter, const app::MeterPublishing &publishing,
        const QStringList &takenIds, bool editing, QWidget *parent = nullptr);
    ~MeterDialog() override;

    polling::MeterConfig meter() const; // the form's meter (valid when problem() is empty)
    app::MeterPublishing publishing() const;
    QString problem() const; // the first invalid field and why; empty when valid
    // The password and token passed in are the user's own (a refused add coming back): keep
    // them when their fields are left empty, as an edit does. Editing always keeps them.
    void setKeepsSecrets(bool keeps);

protected:
    void changeEvent(QEvent *event) override;

private:
    void validate();
    void retranslate(); // the texts set in code
    bool keepsSecrets() const;
    dlms::SecuritySettings security() const; // the form's suite 0 settings (meter().security)
    void updateSecurityFields(); // enables the fields the authentication and ciphering use

    std::unique_ptr<Ui::MeterDialog> m_ui;
    polling::MeterConfig m_original;
    app::MeterPublishing m_originalPublishing;
    QStringList m_takenIds;
    bool m_editing = false;
    bool m_keepsSecrets = false;
    QString m_problem;
};
