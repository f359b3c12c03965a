#pragma once

#include <bridgeconfig.h>
#include <error.h>

#include <QtWidgets/QWidget>

#include <memory>

class QSettings;

namespace Ui {
class SettingsPage;
}

// Settings (form ui/settingspage.ui): MQTT (enabled, mode device/gateway, host, port, protocol,
// client id, TLS and its files, token or username/password, rate and in-flight limits),
// storage (database path, retention days, outbox bounds), polling defaults (workers, and the
// template new meters start from: interval, timeouts, retries, transport, items), the
// monitored interface and rollup period, the HTTP API (enabled, address, port, token), and the
// language (system, English, Español). Secrets are shown as dots and never prefilled: an
// empty secret field keeps the secret in force (its env:/file: reference too).
// Apply validates the form (the first bad field is named, nothing applied) and emits
// applyRequested(); MainWindow applies it to the bridge, saves the file and reports back with
// showApplyResult() (the summary, or what needs a restart).
class SettingsPage final : public QWidget {
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(SettingsPage)

public:
    explicit SettingsPage(QWidget *parent = nullptr);
    ~SettingsPage() override;

    void setConfig(const app::BridgeConfig &config);
    // The form over `base` (meters and their publishing kept), or the first invalid field.
    dlms::Result<app::BridgeConfig> editedConfig(const app::BridgeConfig &base) const;
    void showApplyResult(const QString &text, bool ok);

    // New meters start from these (the MeterDialog's and CSV import's defaults); kept in the
    // user's settings (QSettings), not in the bridge's file.
    polling::MeterConfig meterDefaults() const;
    void setMeterDefaults(const polling::MeterConfig &defaults);
    // The template's fields the page edits, kept under "meterDefaults/" (a value that is
    // missing or invalid reads as the built-in template's).
    static polling::MeterConfig loadMeterDefaults(QSettings &settings);
    static void saveMeterDefaults(QSettings &settings, const polling::MeterConfig &defaults);

    QString language() const; // "" = the system's, "en", "es"
    void setLanguage(const QString &code); // the combo only; emits nothing

Q_SIGNALS:
    void applyRequested();
    void languageChosen(const QString &code); // the user picked a language

protected:
    void changeEvent(QEvent *event) override;

private:
    void retranslate(); // the texts set in code (combo items, placeholders)
    void updatePlaceholders();
    void updateEnabled();
    dlms::Result<polling::MeterConfig> formMeterDefaults() const;
    void apply();
    QWidget *fieldOfError(const QString &message) const;
    void clearInvalidMarks();

    struct Private;
    std::unique_ptr<Ui::SettingsPage> m_ui;
    std::unique_ptr<Private> d;
};
