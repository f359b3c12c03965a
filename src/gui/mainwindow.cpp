#include "mainwindow.h"

#include "commissioningpage.h"
#include "language.h"
#include "meterspage.h"
#include "monitoringpage.h"
#include "readingspage.h"
#include "settingspage.h"
#include "tracepage.h"
#include "ui_mainwindow.h"

#include <bridge.h>
#include <csvexport.h>
#include <displayformat.h>
#include <reader.h>
#include <trafficmonitor.h>

#include <QtCore/QDir>
#include <QtCore/QFileInfo>
#include <QtCore/QSaveFile>
#include <QtCore/QSettings>
#include <QtCore/QThread>
#include <QtCore/QTimer>
#include <QtGui/QCloseEvent>
#include <QtGui/QPixmap>
#include <QtWidgets/QApplication>
#include <QtWidgets/QFileDialog>
#include <QtWidgets/QLabel>
#include <QtWidgets/QMessageBox>

#include <atomic>

using namespace Qt::StringLiterals;

namespace {

const QString kGeometryKey = u"window/geometry"_s;
const QString kStateKey = u"window/state"_s;
const QString kPageKey = u"window/page"_s;

// The icon of each navigation entry, in Page order.
constexpr const char16_t *kPageIcons[] = {u":/icons/meters.svg", u":/icons/monitoring.svg",
    u":/icons/readings.svg", u":/icons/trace.svg", u":/icons/commissioning.svg", u":/icons/settings.svg"};

// For what ends later (an export, a restart on another file): a window-modal box that does not
// block the caller, gone when closed.
void showWarning(QWidget *parent, const QString &title, const QString &text)
{
    auto *box = new QMessageBox(QMessageBox::Warning, title, text, QMessageBox::Ok, parent);
    box->setAttribute(Qt::WA_DeleteOnClose);
    box->open();
}

QString publisherText(mqtt::PublisherState state)
{
    switch (state) {
    case mqtt::PublisherState::Stopped:
        return MainWindow::tr("MQTT: stopped");
    case mqtt::PublisherState::Connecting:
        return MainWindow::tr("MQTT: connecting");
    case mqtt::PublisherState::Publishing:
        return MainWindow::tr("MQTT: connected");
    case mqtt::PublisherState::Failing:
        return MainWindow::tr("MQTT: unreachable");
    }
    return {};
}

} // namespace

struct MainWindow::Private {
    app::Bridge *bridge = nullptr;
    QString configPath;
    MetersPage *meters = nullptr;
    MonitoringPage *monitoring = nullptr;
    ReadingsPage *readings = nullptr;
    TracePage *trace = nullptr;
    CommissioningPage *commissioning = nullptr;
    SettingsPage *settings = nullptr;
    QLabel *brokerLabel = nullptr;
    QLabel *outboxLabel = nullptr;
    QLabel *databaseLabel = nullptr;
    QLabel *rateLabel = nullptr;
    QLabel *errorsLabel = nullptr;
    QTimer statusTimer;
    // Polls completed at the last status update, for the polls/s figure.
    quint64 lastPolls = 0;
    qint64 lastPollsAtMs = 0;
    double pollRate = 0;
    bool closing = false;
    QStringList tracedMeters; // what the trace page asked for (empty + tracingAll = every meter)
    bool tracingAll = false;
    QStringList meterIds; // the trace and readings pages' meters, as last given
    QHash<QString, QString> meterNames;
    QThread *exportThread = nullptr; // the CSV export running, if any
    std::shared_ptr<std::atomic<qint64>> exportRows; // its rows so far
    QTimer exportTicker; // shows them in the status bar
};

MainWindow::MainWindow(app::Bridge *bridge, const QString &configPath, QWidget *parent)
    : QMainWindow(parent), m_ui(std::make_unique<Ui::MainWindow>()), d(std::make_unique<Private>())
{
    d->bridge = bridge;
    d->configPath = configPath;
    m_ui->setupUi(this);
    setWindowIcon(QIcon(u":/dlmsbridge.svg"_s));

    d->meters = new MetersPage(bridge, this);
    d->monitoring = new MonitoringPage(this);
    d->readings = new ReadingsPage(this);
    d->trace = new TracePage(this);
    d->commissioning = new CommissioningPage(bridge, this);
    d->commissioning->setObjectName(u"commissioningPage"_s);
    d->commissioning->setConfigPath(configPath);
    d->settings = new SettingsPage(this);
    for (QWidget *page : {static_cast<QWidget *>(d->meters), static_cast<QWidget *>(d->monitoring),
             static_cast<QWidget *>(d->readings), static_cast<QWidget *>(d->trace),
             static_cast<QWidget *>(d->commissioning), static_cast<QWidget *>(d->settings)}) {
        m_ui->pages->addWidget(page);
    }
    for (int i = 0; i < PageCount; ++i)
        m_ui->navigation->item(i)->setIcon(QIcon(QString::fromUtf16(kPageIcons[i])));
    connect(m_ui->navigation, &QListWidget::currentRowChanged, m_ui->pages, &QStackedWidget::setCurrentIndex);

    m_ui->actionOpen->setIcon(QIcon(u":/icons/open.svg"_s));
    m_ui->actionSave->setIcon(QIcon(u":/icons/save.svg"_s));
    m_ui->actionStartPolling->setIcon(QIcon(u":/icons/start.svg"_s));
    m_ui->actionStopPolling->setIcon(QIcon(u":/icons/stop.svg"_s));
    m_ui->actionSaveAs->setIcon(QIcon(u":/icons/save.svg"_s));
    m_ui->actionExportReadings->setIcon(QIcon(u":/icons/export.svg"_s));
    m_ui->actionExportNetwork->setIcon(QIcon(u":/icons/export.svg"_s));
    m_ui->actionExportChart->setIcon(QIcon(u":/icons/export.svg"_s));
    m_ui->actionAbout->setIcon(QIcon(u":/icons/about.svg"_s));

    d->brokerLabel = new QLabel(this);
    d->outboxLabel = new QLabel(this);
    d->databaseLabel = new QLabel(this);
    d->rateLabel = new QLabel(this);
    d->errorsLabel = new QLabel(this);
    d->brokerLabel->setObjectName(u"statusBroker"_s);
    d->outboxLabel->setObjectName(u"statusOutbox"_s);
    d->databaseLabel->setObjectName(u"statusDatabase"_s);
    d->rateLabel->setObjectName(u"statusRate"_s);
    d->errorsLabel->setObjectName(u"statusErrors"_s);
    for (QLabel *label : {d->brokerLabel, d->outboxLabel, d->databaseLabel, d->rateLabel, d->errorsLabel})
        m_ui->statusBar->addPermanentWidget(label);

    connect(m_ui->actionOpen, &QAction::triggered, this, [this] {
        const QString file = QFileDialog::getOpenFileName(this, tr("Open configuration"),
            QFileInfo(d->configPath).absolutePath(), tr("Configuration (*.json);;All files (*)"));
        if (file.isEmpty())
            return;
        QString error;
        if (!openConfiguration(file, &error))
            QMessageBox::warning(this, tr("Open configuration"), error);
    });
    auto saveAs = [this] {
        const QString file = QFileDialog::getSaveFileName(this, tr("Save configuration"),
            d->configPath.isEmpty() ? app::defaultConfigPath() : d->configPath,
            tr("Configuration (*.json);;All files (*)"));
        if (file.isEmpty())
            return;
        QString error;
        if (!saveConfiguration(file, &error))
            QMessageBox::warning(this, tr("Save configuration"), error);
    };
    connect(m_ui->actionSaveAs, &QAction::triggered, this, saveAs);
    connect(m_ui->actionSave, &QAction::triggered, this, [this, saveAs] {
        if (d->configPath.isEmpty()) {
            saveAs();
            return;
        }
        QString error;
        if (!saveConfiguration(d->configPath, &error))
            QMessageBox::warning(this, tr("Save configuration"), error);
    });
    connect(m_ui->actionQuit, &QAction::triggered, this, &QWidget::close);
    connect(m_ui->actionStartPolling, &QAction::triggered, this, [this] {
        if (auto started = d->bridge->start(d->bridge->config()); !started)
            QMessageBox::warning(this, tr("Start polling"), started.error().message);
    });
    connect(m_ui->actionStopPolling, &QAction::triggered, d->bridge, &app::Bridge::stop);
    auto askFile = [this](const QString &title, const QString &suggested, const QString &filter) {
        return QFileDialog::getSaveFileName(this, title, suggested, filter);
    };
    connect(m_ui->actionExportReadings, &QAction::triggered, this, [this, askFile] {
        const QString file = askFile(tr("Export readings"), u"readings.csv"_s, tr("CSV files (*.csv)"));
        if (!file.isEmpty())
            exportReadingsCsv(file);
    });
    connect(m_ui->actionExportNetwork, &QAction::triggered, this, [this, askFile] {
        const QString file
            = askFile(tr("Export network metrics"), u"network_metrics.csv"_s, tr("CSV files (*.csv)"));
        if (!file.isEmpty())
            exportNetworkCsv(file);
    });
    connect(m_ui->actionExportChart, &QAction::triggered, this, [this, askFile] {
        const QString file = askFile(tr("Export chart"), u"traffic.png"_s, tr("PNG images (*.png)"));
        QString error;
        if (file.isEmpty())
            return;
        if (!exportChartPng(file, &error))
            QMessageBox::warning(this, tr("Export chart"), error);
        else
            statusBar()->showMessage(tr("Exported to %1").arg(QDir::toNativeSeparators(file)), 5000);
    });
    connect(this, &MainWindow::configurationOpened, this,
        [this](const QString &, bool ok, const QString &message) {
            if (!ok)
                showWarning(this, tr("Open configuration"), message);
        });
    connect(this, &MainWindow::exportFinished, this,
        [this](const QString &, bool ok, qint64, const QString &message) {
            if (!ok)
                showWarning(this, tr("Export"), message);
        });
    d->exportTicker.setInterval(500);
    connect(&d->exportTicker, &QTimer::timeout, this, [this] {
        if (d->exportRows)
            statusBar()->showMessage(
                tr("Exporting… %1 rows").arg(monitor::formatCount(quint64(d->exportRows->load()))));
    });
    connect(m_ui->actionAbout, &QAction::triggered, this, [this] {
        QMessageBox::about(this, tr("About DLMS Bridge"),
            tr("<h3>DLMS Bridge %1</h3><p>Polls DLMS/COSEM meters over TCP (HDLC and the IEC 62056-47 "
               "wrapper), publishes their readings to ThingsBoard over MQTT, and shows what that "
               "costs the network.</p><p>Qt %2</p>")
                .arg(QCoreApplication::applicationVersion(), QString::fromLatin1(qVersion())));
    });

    // The bridge's parts reach the pages. The monitor goes away when the bridge stops: the
    // pages let go of it as soon as the stop begins.
    connect(bridge, &app::Bridge::stateChanged, this, &MainWindow::onBridgeState);
    connect(bridge, &app::Bridge::readingsReady, d->readings, &ReadingsPage::addBatch);
    connect(bridge, &app::Bridge::traceBytes, d->trace, &TracePage::addBytes);
    connect(d->trace, &TracePage::captureRequested, this, &MainWindow::setTracing);
    connect(bridge, &app::Bridge::publisherStateChanged, this, [this] { updateStatus(); });
    connect(bridge, &app::Bridge::storageStateChanged, this, [this] { updateStatus(); });
    connect(d->meters, &MetersPage::statusMessage, this,
        [this](const QString &text) { statusBar()->showMessage(text, 5000); });

    connect(d->settings, &SettingsPage::applyRequested, this, [this] { applySettings(); });
    connect(d->settings, &SettingsPage::languageChosen, this, [](const QString &code) {
        language::save(code);
        language::install(code);
    });
    d->settings->setConfig(bridge->config());
    d->settings->setLanguage(language::saved());
    {
        QSettings settings;
        const polling::MeterConfig meterDefaults = SettingsPage::loadMeterDefaults(settings);
        d->settings->setMeterDefaults(meterDefaults);
        d->meters->setMeterDefaults(meterDefaults);
    }

    d->statusTimer.setInterval(1000);
    connect(&d->statusTimer, &QTimer::timeout, this, [this] { updateStatus(); });
    d->statusTimer.start();

    retranslate();
    QSettings settings;
    restoreGeometry(settings.value(kGeometryKey).toByteArray());
    restoreState(settings.value(kStateKey).toByteArray());
    const int page = settings.value(kPageKey, int(Monitoring)).toInt();
    setPage(page >= 0 && page < PageCount ? Page(page) : Monitoring);
    onBridgeState(bridge->state());
}

MainWindow::~MainWindow()
{
    if (d->exportThread) {
        d->exportThread->wait();
        delete d->exportThread;
    }
}

void MainWindow::onBridgeState(app::BridgeState state)
{
    const bool running = state == app::BridgeState::Running;
    d->monitoring->setMonitor(running ? d->bridge->monitor() : nullptr);
    if (running) {
        d->monitoring->setDatabasePath(d->bridge->config().storage.path);
        d->readings->setDatabasePath(d->bridge->config().storage.path);
        d->commissioning->setDatabasePath(d->bridge->config().storage.path);
        updateMeterChoices(true);
        if (d->trace->isCapturing()) // tracing does not survive a restart of the engine
            setTracing(d->tracingAll ? QStringList {} : d->tracedMeters, true);
    }
    m_ui->actionStartPolling->setEnabled(state == app::BridgeState::Stopped);
    m_ui->actionStopPolling->setEnabled(running);
    updateStatus();
    if (state == app::BridgeState::Stopped && d->closing)
        close();
}

void MainWindow::setTracing(const QStringList &ids, bool on)
{
    d->tracingAll = on && ids.isEmpty();
    QStringList targets = ids;
    if (targets.isEmpty()) {
        for (const polling::MeterConfig &meter : d->bridge->config().site.meters)
            targets << meter.id;
    }
    // Whatever was traced before and is not wanted now stops.
    for (const QString &id : std::as_const(d->tracedMeters)) {
        if (!on || !targets.contains(id))
            d->bridge->setTracing(id, false);
    }
    d->tracedMeters.clear();
    if (on) {
        for (const QString &id : std::as_const(targets))
            d->bridge->setTracing(id, true);
        d->tracedMeters = targets;
    }
}

void MainWindow::setPage(Page page)
{
    m_ui->navigation->setCurrentRow(int(page));
}

MainWindow::Page MainWindow::page() const
{
    return Page(m_ui->pages->currentIndex());
}

MetersPage *MainWindow::metersPage() const
{
    return d->meters;
}

MonitoringPage *MainWindow::monitoringPage() const
{
    return d->monitoring;
}

ReadingsPage *MainWindow::readingsPage() const
{
    return d->readings;
}

TracePage *MainWindow::tracePage() const
{
    return d->trace;
}

CommissioningPage *MainWindow::commissioningPage() const
{
    return d->commissioning;
}

SettingsPage *MainWindow::settingsPage() const
{
    return d->settings;
}

QString MainWindow::configPath() const
{
    return d->configPath;
}

bool MainWindow::openConfiguration(const QString &fileName, QString *error)
{
    QStringList warnings;
    auto loaded = app::loadBridgeConfig(fileName, &warnings);
    if (!loaded) {
        if (error)
            *error = loaded.error().message;
        return false;
    }
    const app::BridgeConfig previous = d->bridge->config();
    const QString previousPath = d->configPath;
    const app::BridgeConfig next = *loaded;
    // A new file is a new site: the engine restarts on it (storage may move). Only once it runs
    // does the window take the file as its own: when it cannot start, the previous site comes
    // back, and Save still writes the previous file.
    auto startOn = [this, fileName, next, previous, previousPath] {
        if (d->closing)
            return;
        if (auto started = d->bridge->start(next); started) {
            d->configPath = fileName;
            d->commissioning->setConfigPath(fileName);
            setWindowFilePath(fileName);
            d->settings->setConfig(d->bridge->config());
            Q_EMIT configurationOpened(fileName, true, {});
            return;
        } else {
            const QString message = tr("Cannot start on %1: %2\nThe previous configuration is kept.")
                                        .arg(QDir::toNativeSeparators(fileName), started.error().message);
            d->configPath = previousPath;
            setWindowFilePath(previousPath);
            d->settings->setConfig(previous);
            if (auto restarted = d->bridge->start(previous); !restarted)
                statusBar()->showMessage(restarted.error().message);
            Q_EMIT configurationOpened(fileName, false, message);
        }
    };
    if (d->bridge->state() == app::BridgeState::Running) {
        connect(d->bridge, &app::Bridge::stopped, this, startOn, Qt::SingleShotConnection);
        d->bridge->stop();
    } else if (d->bridge->state() == app::BridgeState::Stopped) {
        startOn();
    } else {
        if (error)
            *error = tr("polling is stopping; open the configuration again in a moment");
        return false;
    }
    if (!warnings.isEmpty())
        statusBar()->showMessage(warnings.join(u"; "_s), 10'000);
    return true;
}

bool MainWindow::saveConfiguration(const QString &fileName, QString *error)
{
    if (auto saved = app::saveBridgeConfig(d->bridge->config(), fileName); !saved) {
        if (error)
            *error = saved.error().message;
        return false;
    }
    d->configPath = fileName;
    d->commissioning->setConfigPath(fileName);
    setWindowFilePath(fileName);
    statusBar()->showMessage(tr("Configuration saved to %1").arg(QDir::toNativeSeparators(fileName)), 5000);
    return true;
}

namespace {

// Streams one kind of CSV from the bridge's database into `fileName` (QSaveFile: a failed
// export leaves no half file behind). Runs on the export thread, with a reader of its own.
dlms::Result<qint64> exportToFile(const QString &databasePath, storage::ExportKind kind,
    const QString &fileName, const std::function<void(qint64)> &progress)
{
    auto reader = storage::Reader::open(databasePath);
    if (!reader)
        return reader.error();
    QSaveFile file(fileName);
    if (!file.open(QIODevice::WriteOnly)) {
        return dlms::makeError(dlms::ErrorCode::IoError,
            MainWindow::tr("cannot write %1: %2")
                .arg(QDir::toNativeSeparators(fileName), file.errorString()));
    }
    storage::ExportOptions options;
    options.kind = kind;
    auto written = storage::exportCsv(*reader, options, file, progress);
    if (!written) {
        file.cancelWriting();
        return written;
    }
    if (!file.commit()) {
        return dlms::makeError(dlms::ErrorCode::IoError,
            MainWindow::tr("cannot write %1: %2")
                .arg(QDir::toNativeSeparators(fileName), file.errorString()));
    }
    return written;
}

} // namespace

bool MainWindow::exportReadingsCsv(const QString &fileName)
{
    return startExport(int(storage::ExportKind::Readings), fileName);
}

bool MainWindow::exportNetworkCsv(const QString &fileName)
{
    return startExport(int(storage::ExportKind::Network), fileName);
}

bool MainWindow::isExporting() const
{
    return d->exportThread != nullptr;
}

bool MainWindow::startExport(int kind, const QString &fileName)
{
    if (d->exportThread)
        return false;
    const QString database = d->bridge->config().storage.path;
    auto rows = std::make_shared<std::atomic<qint64>>(0);
    // The thread reports back by a queued call on this window: if the window is gone by then,
    // Qt drops the call (and the destructor joined the thread first).
    QPointer<MainWindow> self(this);
    d->exportThread = QThread::create([self, database, kind, fileName, rows] {
        auto result = exportToFile(database, storage::ExportKind(kind), fileName,
            [rows](qint64 n) { rows->store(n, std::memory_order_relaxed); });
        const bool ok = bool(result);
        const qint64 written = ok ? *result : 0;
        const QString message = ok ? QString() : result.error().message;
        if (self) {
            QMetaObject::invokeMethod(
                self.data(),
                [self, fileName, ok, written, message] {
                    if (self)
                        self->finishExport(fileName, ok, written, message);
                },
                Qt::QueuedConnection);
        }
    });
    d->exportThread->setObjectName(u"export"_s);
    d->exportRows = rows;
    d->exportTicker.start();
    d->exportThread->start();
    m_ui->actionExportReadings->setEnabled(false);
    m_ui->actionExportNetwork->setEnabled(false);
    statusBar()->showMessage(tr("Exporting to %1…").arg(QDir::toNativeSeparators(fileName)));
    return true;
}

void MainWindow::finishExport(const QString &fileName, bool ok, qint64 rows, const QString &message)
{
    if (d->exportThread) {
        d->exportThread->wait(); // it has returned: only its end is left
        delete d->exportThread;
        d->exportThread = nullptr;
    }
    d->exportTicker.stop();
    d->exportRows.reset();
    m_ui->actionExportReadings->setEnabled(true);
    m_ui->actionExportNetwork->setEnabled(true);
    const QString summary = ok
        ? tr("%1 rows exported to %2")
              .arg(monitor::formatCount(quint64(rows)), QDir::toNativeSeparators(fileName))
        : message;
    statusBar()->showMessage(summary, ok ? 10'000 : 0);
    Q_EMIT exportFinished(fileName, ok, rows, summary);
}

bool MainWindow::exportChartPng(const QString &fileName, QString *error)
{
    const QPixmap image = d->monitoring->chartImage();
    if (image.isNull() || !image.save(fileName, "PNG")) {
        if (error)
            *error = tr("cannot write %1").arg(QDir::toNativeSeparators(fileName));
        return false;
    }
    return true;
}

QStringList MainWindow::statusTexts() const
{
    return {d->brokerLabel->text(), d->outboxLabel->text(), d->databaseLabel->text(), d->rateLabel->text(),
        d->errorsLabel->text()};
}

void MainWindow::updateStatus()
{
    const app::BridgeHealth health = d->bridge->health();
    const bool running = health.state == app::BridgeState::Running;

    QString broker;
    if (!health.mqttEnabled)
        broker = tr("MQTT: off");
    else
        broker = publisherText(health.mqtt.state);
    d->brokerLabel->setText(broker);
    d->brokerLabel->setToolTip(health.mqtt.message);
    const storage::OutboxLevel &outbox = health.storage.outbox;
    d->outboxLabel->setText(
        tr("Outbox: %1 (%2)")
            .arg(monitor::formatCount(quint64(outbox.rows)), monitor::formatBytes(double(outbox.bytes))));
    d->outboxLabel->setVisible(health.mqttEnabled || outbox.rows > 0);

    const QString database = QFileInfo(d->bridge->config().storage.path).fileName();
    switch (health.storage.state) {
    case storage::StorageState::Stopped:
        d->databaseLabel->setText(tr("Database: %1").arg(database));
        break;
    case storage::StorageState::Ok:
        d->databaseLabel->setText(tr("Database: %1 — ok").arg(database));
        break;
    case storage::StorageState::Failing:
        d->databaseLabel->setText(tr("Database: %1 — failing").arg(database));
        break;
    }
    d->databaseLabel->setToolTip(QDir::toNativeSeparators(d->bridge->config().storage.path)
        + (health.storage.message.isEmpty() ? QString() : u"\n"_s + health.storage.message));

    const monitor::TrafficMonitor *monitor = running ? d->bridge->monitor() : nullptr;
    if (monitor) {
        const monitor::MeterStats total = monitor->totalStats();
        const polling::TrafficCounters &dlms = total.counters.dlms;
        // The rate is measured over the status timer's seconds only: other refreshes (a state
        // change, a language switch) would measure over a few milliseconds.
        const qint64 nowMs = QDateTime::currentMSecsSinceEpoch();
        if (!d->lastPollsAtMs || nowMs - d->lastPollsAtMs >= 900) {
            if (d->lastPollsAtMs > 0 && dlms.pollsCompleted >= d->lastPolls) {
                d->pollRate
                    = double(dlms.pollsCompleted - d->lastPolls) * 1000.0 / double(nowMs - d->lastPollsAtMs);
            }
            d->lastPolls = dlms.pollsCompleted;
            d->lastPollsAtMs = nowMs;
        }
        d->rateLabel->setText(tr("%1 polls/s").arg(QLocale().toString(d->pollRate, 'f', 1)));
        const quint64 errors = dlms.timeouts + dlms.protocolErrors + dlms.pollsFailed;
        d->errorsLabel->setText(tr("Errors: %1").arg(monitor::formatCount(errors)));
        d->errorsLabel->setToolTip(
            tr("%1 timeouts, %2 protocol errors, %3 failed polls, %4 reconnects; %5 meters failing")
                .arg(monitor::formatCount(dlms.timeouts), monitor::formatCount(dlms.protocolErrors),
                    monitor::formatCount(dlms.pollsFailed), monitor::formatCount(dlms.reconnects))
                .arg(health.metersFailing));
    } else {
        d->lastPolls = 0;
        d->lastPollsAtMs = 0;
        d->pollRate = 0;
        d->rateLabel->setText(tr("Polling stopped"));
        d->errorsLabel->setText(tr("Errors: %1").arg(monitor::noData()));
        d->errorsLabel->setToolTip({});
    }
    d->errorsLabel->setStyleSheet(health.metersFailing > 0 ? u"color: #c62828;"_s : QString());
    d->brokerLabel->setStyleSheet(health.mqttEnabled && health.mqtt.state == mqtt::PublisherState::Failing
            ? u"color: #c62828;"_s
            : QString());

    if (running)
        updateMeterChoices(false);
}

void MainWindow::applySettings()
{
    auto edited = d->settings->editedConfig(d->bridge->config());
    if (!edited) {
        d->settings->showApplyResult(edited.error().message, false);
        return;
    }
    auto changes = d->bridge->applyConfig(*edited);
    // The form shows what is in force now (a reload may keep part of the old settings, or turn
    // MQTT off when neither the new nor the old settings can start).
    d->settings->setConfig(d->bridge->config());
    if (!changes) {
        d->settings->showApplyResult(changes.error().message, false);
        return;
    }
    const polling::MeterConfig defaults = d->settings->meterDefaults();
    d->meters->setMeterDefaults(defaults);
    QSettings settings;
    SettingsPage::saveMeterDefaults(settings, defaults);
    QString text
        = changes->isEmpty() ? tr("Applied: nothing changed.") : tr("Applied: %1.").arg(changes->summary());
    if (!changes->needsRestart.isEmpty())
        text += u' '
            + tr("Takes effect after a restart of polling: %1.").arg(changes->needsRestart.join(u", "_s));
    if (!d->configPath.isEmpty()) {
        if (auto saved = app::saveBridgeConfig(d->bridge->config(), d->configPath); !saved) {
            d->settings->showApplyResult(text + u' ' + tr("Not saved: %1").arg(saved.error().message), false);
            return;
        }
        text += u' ' + tr("Saved to %1.").arg(QDir::toNativeSeparators(d->configPath));
    }
    d->settings->showApplyResult(text, true);
}

void MainWindow::retranslate()
{
    updateStatus();
}

void MainWindow::closeEvent(QCloseEvent *event)
{
    QSettings settings;
    settings.setValue(kGeometryKey, saveGeometry());
    settings.setValue(kStateKey, saveState());
    settings.setValue(kPageKey, int(page()));
    // The bridge stops cleanly first (associations released, stored readings published as far
    // as the broker allows); the window closes when it has.
    if (d->bridge->state() != app::BridgeState::Stopped) {
        d->closing = true;
        statusBar()->showMessage(tr("Stopping…"));
        if (d->bridge->state() == app::BridgeState::Running)
            d->bridge->stop();
        event->ignore();
        return;
    }
    event->accept();
}

void MainWindow::changeEvent(QEvent *event)
{
    if (event->type() == QEvent::LanguageChange) {
        m_ui->retranslateUi(this);
        retranslate();
    }
    QMainWindow::changeEvent(event);
}

void MainWindow::updateMeterChoices(bool force)
{
    QStringList ids;
    QHash<QString, QString> names;
    QHash<QString, dlms::SecuritySettings> security; // the keys the trace deciphers with
    for (const polling::MeterConfig &meter : d->bridge->config().site.meters) {
        ids << meter.id;
        names.insert(meter.id, meter.name);
        if (!meter.security.blockCipherKey.isEmpty())
            security.insert(meter.id, meter.security);
    }
    // Keys change without the ids or names changing: the trace hears of them every time.
    d->trace->setMeterSecurity(security);
    if (!force && ids == d->meterIds && names == d->meterNames)
        return;
    d->meterIds = ids;
    d->meterNames = names;
    d->trace->setMeters(ids);
    d->readings->setMeters(names);
    d->commissioning->refreshMeters();
}
