#include "commissioningpage.h"

#include "commissioningcomparisonmodel.h"
#include "commissioningmodel.h"
#include "commissioningsessionmodel.h"

#include <bridge.h>
#include <commissioningreport.h>
#include <commissioningrun.h>
#include <commissioningstore.h>
#include <displayformat.h>

#include <QtCore/QDateTime>
#include <QtCore/QDir>
#include <QtCore/QEvent>
#include <QtCore/QFileInfo>
#include <QtCore/QLocale>
#include <QtCore/QSaveFile>
#include <QtCore/QSet>
#include <QtCore/QSettings>
#include <QtCore/QThread>
#include <QtCore/QTimer>
#include <QtWidgets/QFileDialog>
#include <QtWidgets/QFormLayout>
#include <QtWidgets/QGroupBox>
#include <QtWidgets/QHBoxLayout>
#include <QtWidgets/QHeaderView>
#include <QtWidgets/QLabel>
#include <QtWidgets/QLineEdit>
#include <QtWidgets/QListWidget>
#include <QtWidgets/QMessageBox>
#include <QtWidgets/QPlainTextEdit>
#include <QtWidgets/QProgressBar>
#include <QtWidgets/QPushButton>
#include <QtWidgets/QSplitter>
#include <QtWidgets/QTabWidget>
#include <QtWidgets/QTableView>
#include <QtWidgets/QTreeView>
#include <QtWidgets/QVBoxLayout>

#include <algorithm>
#include <atomic>
#include <functional>
#include <optional>

#ifdef Q_OS_UNIX
#include <pwd.h>
#include <unistd.h>
#endif

using namespace Qt::StringLiterals;

namespace {

const QString kTechnicianKey = u"commissioning/technician"_s;
const QString kClockCheck = commissioning::checks::Clock;
const QString kClockSyncCheck = commissioning::checks::ClockSync;
constexpr int kMaxMetersNamed = 5; // in the clock sync question; the rest are counted
constexpr int kMeterIdRole = Qt::UserRole + 1;
constexpr double kMeasuredShare = 0.4; // of the results view, at most, for the Measured column

qint64 nowMs()
{
    return QDateTime::currentMSecsSinceEpoch();
}

QString endpointOf(const polling::MeterConfig &meter)
{
    return u"%1:%2"_s.arg(meter.host).arg(meter.port);
}

// Who checks the meters when nobody said: the account's name, as `dlmsctl commission` does
// ($USER, else the account's own: some sessions leave USER unset).
QString accountName()
{
    QString name = qEnvironmentVariable("USER");
#ifdef Q_OS_UNIX
    if (name.isEmpty()) {
        if (const passwd *account = ::getpwuid(::geteuid()); account && account->pw_name)
            name = QString::fromLocal8Bit(account->pw_name);
    }
#endif
    return name;
}

// Calls back on every resize of the widget it watches (the results view's viewport).
class ResizeWatcher final : public QObject {
public:
    ResizeWatcher(QWidget *watched, std::function<void()> onResize)
        : QObject(watched), m_onResize(std::move(onResize))
    {
        watched->installEventFilter(this);
    }

    bool eventFilter(QObject *watched, QEvent *event) override
    {
        if (event->type() == QEvent::Resize)
            m_onResize();
        return QObject::eventFilter(watched, event);
    }

private:
    std::function<void()> m_onResize;
};

bool isClockCheck(QStringView check)
{
    return check == commissioning::checks::Clock || check == commissioning::checks::ClockSync;
}

// The clock-only run's clock and clock-sync checks replace the meter's; the other checks stay.
// A clock the second run could not read (skipped: not reached) leaves the first reading.
commissioning::MeterReport mergeClockChecks(
    const commissioning::MeterReport &shown, const commissioning::MeterReport &clockRun)
{
    commissioning::MeterReport merged = shown;
    for (const commissioning::CheckResult &check : clockRun.checks) {
        if (!isClockCheck(check.check))
            continue;
        if (check.check == commissioning::checks::Clock
            && check.status == commissioning::CheckStatus::Skipped)
            continue;
        auto found = std::find_if(merged.checks.begin(), merged.checks.end(),
            [&](const commissioning::CheckResult &c) { return c.check == check.check; });
        if (found != merged.checks.end()) {
            *found = check;
            continue;
        }
        // A new clock-sync check goes right after the clock check, where a run makes it.
        auto clock = std::find_if(merged.checks.begin(), merged.checks.end(),
            [](const commissioning::CheckResult &c) { return c.check == commissioning::checks::Clock; });
        merged.checks.insert(clock == merged.checks.end() ? merged.checks.end() : clock + 1, check);
    }
    return merged;
}

} // namespace

struct CommissioningPage::Private {
    QPointer<app::Bridge> bridge;
    QString databasePath;
    QString pendingDatabasePath; // a new path given during a run: the store moves after it
    QString configPath;
    std::unique_ptr<commissioning::Store> store;
    QString storeError; // the last store failure, shown until the next success

    commissioning::Session session; // the one shown
    std::optional<commissioning::Session> previous; // what it is compared with
    std::vector<commissioning::CheckComparison> comparison;

    app::CommissioningRun *run = nullptr;
    bool clockOnly = false;
    QHash<QString, polling::MeterConfig> runMeters; // the run's meters, by id
    QStringList pausedByUs; // meters this page paused and must resume
    // Between beginRun and the run's start: the meters whose Paused state is still to come.
    bool waitingForPause = false;
    QSet<QString> awaitingPause;
    QTimer *pauseWait = nullptr; // the bound on that wait
    QTimer *measuredFit = nullptr; // coalesces the Measured column's fitting
    QStringList syncProblems; // "<meter>: <why>" for clocks a sync run could not set
    int runDone = 0;
    int runTotal = 0;
    bool askClockSync = true;
    QPointer<QMessageBox> clockQuestion;

    QThread *exportThread = nullptr;
    std::shared_ptr<std::atomic_bool> exportCancel;
    // The last export, for its label (rendered again on a language change).
    enum class ExportState : quint8 { None, Writing, Done, Failed };
    ExportState exportState = ExportState::None;
    QString exportPath;
    QString exportError;

    CommissioningModel *model = nullptr;
    CommissioningSessionModel *sessions = nullptr;
    CommissioningComparisonModel *changes = nullptr;

    QGroupBox *sessionGroup = nullptr;
    QLabel *siteLabel = nullptr;
    QLabel *technicianLabel = nullptr;
    QLabel *notesLabel = nullptr;
    QLineEdit *siteEdit = nullptr;
    QLineEdit *technicianEdit = nullptr;
    QPlainTextEdit *notesEdit = nullptr;
    QGroupBox *metersGroup = nullptr;
    QLineEdit *meterSearch = nullptr;
    QListWidget *meterList = nullptr;
    QPushButton *selectAllButton = nullptr;
    QPushButton *selectNoneButton = nullptr;

    QTabWidget *tabs = nullptr;
    QPushButton *runButton = nullptr;
    QPushButton *cancelButton = nullptr;
    QPushButton *rerunButton = nullptr;
    QPushButton *syncClocksButton = nullptr;
    QPushButton *exportCsvButton = nullptr;
    QPushButton *exportPdfButton = nullptr;
    QLabel *sessionLabel = nullptr;
    QProgressBar *runProgress = nullptr;
    QLabel *summaryLabel = nullptr;
    QLabel *storeMessage = nullptr;
    QTreeView *resultsTree = nullptr;
    QProgressBar *exportProgress = nullptr;
    QPushButton *exportCancelButton = nullptr;
    QLabel *exportLabel = nullptr;

    QTableView *sessionsTable = nullptr;
    QPushButton *openSessionButton = nullptr;
    QPushButton *refreshSessionsButton = nullptr;

    QLabel *compareLabel = nullptr;
    QTableView *compareTable = nullptr;
};

CommissioningPage::CommissioningPage(app::Bridge *bridge, QWidget *parent)
    : QWidget(parent), d(std::make_unique<Private>())
{
    d->bridge = bridge;
    d->model = new CommissioningModel(this);
    d->sessions = new CommissioningSessionModel(this);
    d->changes = new CommissioningComparisonModel(this);

    // The session form and the meters to check, on the left.
    d->sessionGroup = new QGroupBox(this);
    d->sessionGroup->setObjectName(u"sessionGroup"_s);
    auto *form = new QFormLayout(d->sessionGroup);
    d->siteEdit = new QLineEdit(d->sessionGroup);
    d->siteEdit->setObjectName(u"siteEdit"_s);
    d->technicianEdit = new QLineEdit(d->sessionGroup);
    d->technicianEdit->setObjectName(u"technicianEdit"_s);
    d->technicianEdit->setText(QSettings().value(kTechnicianKey).toString());
    d->notesEdit = new QPlainTextEdit(d->sessionGroup);
    d->notesEdit->setObjectName(u"notesEdit"_s);
    d->notesEdit->setMaximumHeight(d->notesEdit->fontMetrics().lineSpacing() * 4);
    d->notesEdit->setTabChangesFocus(true);
    d->siteLabel = new QLabel(d->sessionGroup);
    d->technicianLabel = new QLabel(d->sessionGroup);
    d->notesLabel = new QLabel(d->sessionGroup);
    d->siteLabel->setBuddy(d->siteEdit);
    d->technicianLabel->setBuddy(d->technicianEdit);
    d->notesLabel->setBuddy(d->notesEdit);
    form->addRow(d->siteLabel, d->siteEdit);
    form->addRow(d->technicianLabel, d->technicianEdit);
    form->addRow(d->notesLabel, d->notesEdit);

    d->metersGroup = new QGroupBox(this);
    d->metersGroup->setObjectName(u"metersGroup"_s);
    auto *metersLayout = new QVBoxLayout(d->metersGroup);
    d->meterSearch = new QLineEdit(d->metersGroup);
    d->meterSearch->setObjectName(u"meterSearch"_s);
    d->meterSearch->setClearButtonEnabled(true);
    d->meterList = new QListWidget(d->metersGroup);
    d->meterList->setObjectName(u"meterList"_s);
    d->meterList->setUniformItemSizes(true);
    d->selectAllButton = new QPushButton(d->metersGroup);
    d->selectAllButton->setObjectName(u"selectAllButton"_s);
    d->selectNoneButton = new QPushButton(d->metersGroup);
    d->selectNoneButton->setObjectName(u"selectNoneButton"_s);
    auto *selectRow = new QHBoxLayout;
    selectRow->addWidget(d->selectAllButton);
    selectRow->addWidget(d->selectNoneButton);
    selectRow->addStretch();
    metersLayout->addWidget(d->meterSearch);
    metersLayout->addWidget(d->meterList, 1);
    metersLayout->addLayout(selectRow);

    auto *left = new QWidget(this);
    auto *leftLayout = new QVBoxLayout(left);
    leftLayout->setContentsMargins(0, 0, 0, 0);
    leftLayout->addWidget(d->sessionGroup);
    leftLayout->addWidget(d->metersGroup, 1);

    // Results, sessions and the comparison, on the right.
    d->tabs = new QTabWidget(this);
    d->tabs->setObjectName(u"tabs"_s);

    auto *results = new QWidget(d->tabs);
    results->setObjectName(u"resultsTab"_s);
    auto *resultsLayout = new QVBoxLayout(results);
    auto *buttons = new QHBoxLayout;
    const auto makeButton = [&](const QString &name, const QString &icon) {
        auto *button = new QPushButton(results);
        button->setObjectName(name);
        if (!icon.isEmpty())
            button->setIcon(QIcon(u":/icons/%1.svg"_s.arg(icon)));
        buttons->addWidget(button);
        return button;
    };
    d->runButton = makeButton(u"runButton"_s, u"start"_s);
    d->cancelButton = makeButton(u"cancelButton"_s, u"stop"_s);
    d->rerunButton = makeButton(u"rerunButton"_s, u"start"_s);
    d->syncClocksButton = makeButton(u"syncClocksButton"_s, u"commissioning"_s);
    buttons->addStretch();
    d->exportCsvButton = makeButton(u"exportCsvButton"_s, u"export"_s);
    d->exportPdfButton = makeButton(u"exportPdfButton"_s, u"export"_s);
    resultsLayout->addLayout(buttons);
    d->sessionLabel = new QLabel(results);
    d->sessionLabel->setObjectName(u"sessionLabel"_s);
    d->sessionLabel->setTextInteractionFlags(Qt::TextSelectableByMouse);
    resultsLayout->addWidget(d->sessionLabel);
    d->runProgress = new QProgressBar(results);
    d->runProgress->setObjectName(u"runProgress"_s);
    d->runProgress->setVisible(false);
    resultsLayout->addWidget(d->runProgress);
    d->summaryLabel = new QLabel(results);
    d->summaryLabel->setObjectName(u"summaryLabel"_s);
    d->summaryLabel->setWordWrap(true);
    resultsLayout->addWidget(d->summaryLabel);
    d->storeMessage = new QLabel(results);
    d->storeMessage->setObjectName(u"storeMessage"_s);
    d->storeMessage->setWordWrap(true);
    d->storeMessage->setStyleSheet(u"color: #c62828;"_s);
    d->storeMessage->setVisible(false);
    resultsLayout->addWidget(d->storeMessage);
    d->resultsTree = new QTreeView(results);
    d->resultsTree->setObjectName(u"resultsTree"_s);
    d->resultsTree->setModel(d->model);
    d->resultsTree->setUniformRowHeights(true);
    d->resultsTree->setAlternatingRowColors(true);
    // Explanation is last and takes what is left; Measured fits its contents up to a share of
    // the view (fitMeasuredColumn); the tooltips carry whatever a cell cuts.
    d->resultsTree->header()->setSectionResizeMode(QHeaderView::Interactive);
    d->resultsTree->header()->setStretchLastSection(true);
    d->resultsTree->setColumnWidth(CommissioningModel::Name, 220);
    d->resultsTree->setColumnWidth(CommissioningModel::Status, 110);
    d->resultsTree->setColumnWidth(CommissioningModel::Measured, 160);
    d->measuredFit = new QTimer(this);
    d->measuredFit->setSingleShot(true);
    d->measuredFit->setInterval(50);
    connect(d->measuredFit, &QTimer::timeout, this, &CommissioningPage::fitMeasuredColumn);
    const auto refit = [this] { d->measuredFit->start(); };
    connect(d->model, &QAbstractItemModel::rowsInserted, this, refit);
    connect(d->model, &QAbstractItemModel::dataChanged, this, refit);
    connect(d->model, &QAbstractItemModel::modelReset, this, refit);
    connect(d->resultsTree, &QTreeView::expanded, this, refit);
    connect(d->resultsTree, &QTreeView::collapsed, this, refit);
    // The cap follows the view's width (also when the page is first shown).
    new ResizeWatcher(d->resultsTree->viewport(), refit);
    resultsLayout->addWidget(d->resultsTree, 1);
    auto *exportRow = new QHBoxLayout;
    d->exportProgress = new QProgressBar(results);
    d->exportProgress->setObjectName(u"exportProgress"_s);
    d->exportProgress->setVisible(false);
    d->exportCancelButton = new QPushButton(results);
    d->exportCancelButton->setObjectName(u"exportCancelButton"_s);
    d->exportCancelButton->setIcon(QIcon(u":/icons/stop.svg"_s));
    d->exportCancelButton->setVisible(false);
    d->exportLabel = new QLabel(results);
    d->exportLabel->setObjectName(u"exportLabel"_s);
    d->exportLabel->setWordWrap(true);
    exportRow->addWidget(d->exportProgress, 1);
    exportRow->addWidget(d->exportCancelButton);
    exportRow->addWidget(d->exportLabel, 2);
    resultsLayout->addLayout(exportRow);
    d->tabs->addTab(results, QIcon(u":/icons/commissioning.svg"_s), QString());

    auto *sessionsTab = new QWidget(d->tabs);
    sessionsTab->setObjectName(u"sessionsTab"_s);
    auto *sessionsLayout = new QVBoxLayout(sessionsTab);
    d->sessionsTable = new QTableView(sessionsTab);
    d->sessionsTable->setObjectName(u"sessionsTable"_s);
    d->sessionsTable->setModel(d->sessions);
    d->sessionsTable->setSelectionBehavior(QAbstractItemView::SelectRows);
    d->sessionsTable->setSelectionMode(QAbstractItemView::SingleSelection);
    d->sessionsTable->setEditTriggers(QAbstractItemView::NoEditTriggers);
    d->sessionsTable->setAlternatingRowColors(true);
    d->sessionsTable->verticalHeader()->setVisible(false);
    d->sessionsTable->horizontalHeader()->setStretchLastSection(true);
    sessionsLayout->addWidget(d->sessionsTable, 1);
    auto *sessionButtons = new QHBoxLayout;
    d->openSessionButton = new QPushButton(sessionsTab);
    d->openSessionButton->setObjectName(u"openSessionButton"_s);
    d->openSessionButton->setIcon(QIcon(u":/icons/open.svg"_s));
    d->refreshSessionsButton = new QPushButton(sessionsTab);
    d->refreshSessionsButton->setObjectName(u"refreshSessionsButton"_s);
    sessionButtons->addWidget(d->openSessionButton);
    sessionButtons->addWidget(d->refreshSessionsButton);
    sessionButtons->addStretch();
    sessionsLayout->addLayout(sessionButtons);
    d->tabs->addTab(sessionsTab, QString());

    auto *compareTab = new QWidget(d->tabs);
    compareTab->setObjectName(u"compareTab"_s);
    auto *compareLayout = new QVBoxLayout(compareTab);
    d->compareLabel = new QLabel(compareTab);
    d->compareLabel->setObjectName(u"compareLabel"_s);
    d->compareLabel->setWordWrap(true);
    compareLayout->addWidget(d->compareLabel);
    d->compareTable = new QTableView(compareTab);
    d->compareTable->setObjectName(u"compareTable"_s);
    d->compareTable->setModel(d->changes);
    d->compareTable->setEditTriggers(QAbstractItemView::NoEditTriggers);
    d->compareTable->setAlternatingRowColors(true);
    d->compareTable->verticalHeader()->setVisible(false);
    d->compareTable->horizontalHeader()->setStretchLastSection(true);
    compareLayout->addWidget(d->compareTable, 1);
    d->tabs->addTab(compareTab, QString());

    auto *splitter = new QSplitter(Qt::Horizontal, this);
    splitter->setObjectName(u"splitter"_s);
    splitter->addWidget(left);
    splitter->addWidget(d->tabs);
    splitter->setStretchFactor(0, 1);
    splitter->setStretchFactor(1, 3);
    splitter->setChildrenCollapsible(false);
    auto *layout = new QVBoxLayout(this);
    layout->addWidget(splitter);

    connect(d->meterSearch, &QLineEdit::textChanged, this, [this](const QString &text) {
        const QString needle = text.trimmed();
        for (int i = 0; i < d->meterList->count(); ++i) {
            QListWidgetItem *item = d->meterList->item(i);
            item->setHidden(!needle.isEmpty() && !item->text().contains(needle, Qt::CaseInsensitive)
                && !item->data(kMeterIdRole).toString().contains(needle, Qt::CaseInsensitive));
        }
    });
    // "All" and "None" act on the meters the search shows.
    const auto checkShown = [this](Qt::CheckState state) {
        for (int i = 0; i < d->meterList->count(); ++i) {
            if (!d->meterList->item(i)->isHidden())
                d->meterList->item(i)->setCheckState(state);
        }
    };
    connect(d->selectAllButton, &QAbstractButton::clicked, this, [checkShown] { checkShown(Qt::Checked); });
    connect(
        d->selectNoneButton, &QAbstractButton::clicked, this, [checkShown] { checkShown(Qt::Unchecked); });
    connect(d->meterList, &QListWidget::itemChanged, this, [this] { updateActions(); });

    connect(d->runButton, &QAbstractButton::clicked, this, [this] {
        QString error;
        if (!startRun({}, &error))
            showError(tr("Commissioning"), error);
    });
    connect(d->cancelButton, &QAbstractButton::clicked, this, &CommissioningPage::cancelRun);
    connect(d->rerunButton, &QAbstractButton::clicked, this, [this] {
        QString error;
        if (!rerunSession(&error))
            showError(tr("Re-run"), error);
    });
    connect(d->syncClocksButton, &QAbstractButton::clicked, this, [this] { askClockSync(); });
    connect(d->exportCsvButton, &QAbstractButton::clicked, this, [this] {
        const QString file = QFileDialog::getSaveFileName(
            this, tr("Export commissioning CSV"), suggestedFileName(u"csv"_s), tr("CSV files (*.csv)"));
        if (file.isEmpty())
            return;
        QString error;
        const bool ok = exportCsv(file, &error);
        d->exportState = ok ? Private::ExportState::Done : Private::ExportState::Failed;
        d->exportPath = file;
        d->exportError = error;
        updateExportLabel();
        if (!ok)
            showError(tr("Export CSV"), error);
    });
    connect(d->exportPdfButton, &QAbstractButton::clicked, this, [this] {
        const QString file = QFileDialog::getSaveFileName(
            this, tr("Export commissioning report"), suggestedFileName(u"pdf"_s), tr("PDF files (*.pdf)"));
        if (!file.isEmpty())
            exportPdf(file);
    });
    connect(d->exportCancelButton, &QAbstractButton::clicked, this, [this] {
        if (d->exportCancel)
            d->exportCancel->store(true);
    });
    connect(this, &CommissioningPage::exportFinished, this,
        [this](const QString &, bool ok, const QString &message) {
            if (!ok)
                showError(tr("Export PDF"), message);
        });

    connect(d->openSessionButton, &QAbstractButton::clicked, this, [this] { openSelectedSession(); });
    connect(d->sessionsTable, &QAbstractItemView::doubleClicked, this, [this] { openSelectedSession(); });
    connect(d->refreshSessionsButton, &QAbstractButton::clicked, this, [this] { reloadSessions(); });
    connect(d->sessionsTable->selectionModel(), &QItemSelectionModel::selectionChanged, this,
        [this] { updateActions(); });
    connect(d->sessions, &QAbstractItemModel::modelReset, this, [this] { updateActions(); });

    d->pauseWait = new QTimer(this);
    d->pauseWait->setSingleShot(true);
    connect(d->pauseWait, &QTimer::timeout, this, &CommissioningPage::startPausedRun);
    if (bridge) {
        connect(bridge, &app::Bridge::meterStateChanged, this,
            [this](const QString &meterId, polling::MeterState state, const QString &) {
                if (state == polling::MeterState::Paused)
                    notePaused(meterId);
            });
    }

    retranslate();
    refreshMeters();
}

CommissioningPage::~CommissioningPage()
{
    // ~QWidget hides the children after d is gone: the views' signals must not reach it.
    delete d->resultsTree->viewport()->findChild<ResizeWatcher *>(QString(), Qt::FindDirectChildrenOnly);
    d->resultsTree->disconnect(this);
    d->model->disconnect(this);
    if (d->bridge)
        d->bridge->disconnect(this);
    if (d->clockQuestion) {
        d->clockQuestion->disconnect(this); // closing it is no answer
        d->clockQuestion->close();
    }
    if (d->run) {
        // Deleted without signals: the page closes the session and gives polling back itself.
        app::CommissioningRun *run = d->run;
        d->run = nullptr;
        delete run;
        // A session left "running" would look like one still going; failure here has no one to
        // tell (the page is going away).
        if (!d->clockOnly && d->store && d->session.info.id > 0)
            (void)d->store->finishSession(
                d->session.info.id, commissioning::SessionState::Cancelled, nowMs());
    }
    resumePolling(d->pausedByUs);
    if (d->exportThread) {
        d->exportCancel->store(true);
        d->exportThread->wait();
        delete d->exportThread;
        d->exportThread = nullptr;
    }
}

void CommissioningPage::setDatabasePath(const QString &path)
{
    if (isRunning()) {
        d->pendingDatabasePath = path;
        return;
    }
    d->pendingDatabasePath.clear();
    if (path == d->databasePath && d->store)
        return;
    d->databasePath = path;
    d->store.reset();
    d->sessions->setSessions({});
    if (!path.isEmpty())
        openStore();
    reloadSessions();
    updateActions();
}

void CommissioningPage::setConfigPath(const QString &path)
{
    d->configPath = path;
}

void CommissioningPage::refreshMeters()
{
    if (!d->bridge)
        return;
    // Choices survive a refresh; meters new to the list start checked (all by default).
    QHash<QString, bool> checked;
    for (int i = 0; i < d->meterList->count(); ++i) {
        const QListWidgetItem *item = d->meterList->item(i);
        checked.insert(item->data(kMeterIdRole).toString(), item->checkState() == Qt::Checked);
    }
    const QSignalBlocker blocker(d->meterList);
    d->meterList->clear();
    for (const polling::MeterConfig &meter : d->bridge->config().site.meters) {
        auto *item = new QListWidgetItem(d->meterList);
        //: A meter in the commissioning list: "<name> — <host:port>"
        item->setText(tr("%1 — %2").arg(meter.name.isEmpty() ? meter.id : meter.name, endpointOf(meter)));
        item->setToolTip(meter.id);
        item->setData(kMeterIdRole, meter.id);
        item->setFlags(Qt::ItemIsEnabled | Qt::ItemIsUserCheckable | Qt::ItemIsSelectable);
        item->setCheckState(checked.value(meter.id, true) ? Qt::Checked : Qt::Unchecked);
    }
    const QString needle = d->meterSearch->text();
    if (!needle.isEmpty())
        Q_EMIT d->meterSearch->textChanged(needle);
    updateActions();
}

QStringList CommissioningPage::checkedMeterIds() const
{
    QStringList ids;
    for (int i = 0; i < d->meterList->count(); ++i) {
        const QListWidgetItem *item = d->meterList->item(i);
        if (item->checkState() == Qt::Checked)
            ids.append(item->data(kMeterIdRole).toString());
    }
    return ids;
}

bool CommissioningPage::startRun(const QStringList &meterIds, QString *error)
{
    commissioning::SessionInfo info;
    info.site = d->siteEdit->text().trimmed();
    info.technician = d->technicianEdit->text().trimmed();
    info.notes = d->notesEdit->toPlainText().trimmed();
    const bool typedTechnician = !info.technician.isEmpty();
    if (info.site.isEmpty() && !d->configPath.isEmpty())
        info.site = QFileInfo(d->configPath).completeBaseName();
    if (!typedTechnician)
        info.technician = accountName();
    const bool started = beginRun(meterIds.isEmpty() ? checkedMeterIds() : meterIds, info, false, error);
    if (!started)
        return false;
    // The fields show what the session stores; only a typed name is remembered.
    d->siteEdit->setText(info.site);
    d->technicianEdit->setText(info.technician);
    if (typedTechnician)
        QSettings().setValue(kTechnicianKey, info.technician);
    return true;
}

bool CommissioningPage::beginRun(
    const QStringList &meterIds, commissioning::SessionInfo info, bool clockOnly, QString *error)
{
    const auto fail = [error](const QString &message) {
        if (error)
            *error = message;
        return false;
    };
    if (d->run)
        return fail(tr("a commissioning run is in progress"));
    if (!d->bridge)
        return fail(tr("no bridge to take the meters from"));
    if (meterIds.isEmpty())
        return fail(tr("no meter selected"));
    const app::BridgeConfig &config = d->bridge->config();
    for (const QString &id : meterIds) {
        if (!config.findMeter(id))
            return fail(tr("meter %1 is not configured").arg(id));
    }
    // The run follows the configuration's order, as the report lists the site; each meter once.
    const QSet<QString> wanted(meterIds.cbegin(), meterIds.cend());
    QStringList ordered;
    for (const polling::MeterConfig &meter : config.site.meters) {
        if (wanted.contains(meter.id)) // ids are unique in a configuration
            ordered << meter.id;
    }
    app::CommissioningOptions options = app::commissioningOptions(config, ordered);
    options.clockOnly = clockOnly;
    options.syncClock = clockOnly;

    if (!clockOnly) {
        if (!d->store && !openStore())
            return fail(tr("cannot store the session: %1").arg(d->storeError));
        info.startedMs = nowMs();
        info.configFile = d->configPath;
        info.state = commissioning::SessionState::Running;
        auto created = d->store->createSession(info);
        if (!created) {
            setStoreError(created.error().message);
            return fail(tr("cannot store the session: %1").arg(created.error().message));
        }
        setStoreError({});
        info.id = *created;
        d->session = {};
        d->session.info = info;
        d->previous.reset();
        d->comparison.clear();
        d->changes->setComparison({});
        d->model->clear();
    }

    d->clockOnly = clockOnly;
    d->syncProblems.clear();
    d->runMeters.clear();
    QStringList ids;
    for (const polling::MeterConfig &meter : options.meters) {
        d->runMeters.insert(meter.id, meter);
        ids << meter.id;
    }
    d->runDone = 0;
    d->runTotal = int(options.meters.size());
    const QStringList awaited = pausePolling(ids);
    // What the poller's release may take: the request in flight, then the RLRQ, each within
    // the request timeout. Past that the meter is checked anyway.
    int boundMs = 0;
    for (const QString &id : awaited)
        boundMs = std::max(boundMs, 2 * d->runMeters.value(id).requestTimeoutMs);

    d->run = new app::CommissioningRun(std::move(options), this);
    connect(d->run, &app::CommissioningRun::meterStarted, this, &CommissioningPage::onMeterStarted);
    connect(d->run, &app::CommissioningRun::checkFinished, this, &CommissioningPage::onCheckFinished);
    connect(d->run, &app::CommissioningRun::meterFinished, this, &CommissioningPage::onMeterFinished);
    connect(d->run, &app::CommissioningRun::progress, this, [this](int done, int total) {
        d->runDone = done;
        d->runTotal = total;
        updateProgress();
    });
    connect(d->run, &app::CommissioningRun::finished, this, &CommissioningPage::onRunFinished);

    // The run's connections wait for the poller's to go: a meter taking one association at
    // a time would refuse the second.
    d->waitingForPause = !awaited.isEmpty();
    d->awaitingPause = QSet<QString>(awaited.cbegin(), awaited.cend());
    if (d->waitingForPause)
        d->pauseWait->start(std::max(boundMs, 0));
    d->runProgress->setVisible(true);
    updateProgress();
    updateSessionLabel();
    updateSummary();
    updateActions();
    d->tabs->setCurrentIndex(0);
    Q_EMIT runStarted(d->session.info.id);
    if (!d->waitingForPause && d->run)
        d->run->start();
    return true;
}

void CommissioningPage::notePaused(const QString &meterId)
{
    if (!d->waitingForPause || !d->awaitingPause.remove(meterId))
        return;
    if (d->awaitingPause.isEmpty())
        startPausedRun();
}

void CommissioningPage::startPausedRun()
{
    if (!d->waitingForPause)
        return;
    d->waitingForPause = false;
    d->awaitingPause.clear();
    d->pauseWait->stop();
    updateProgress();
    if (d->run)
        d->run->start();
}

void CommissioningPage::onMeterStarted(const QString &meterId)
{
    if (d->clockOnly)
        return; // the meter's row is there already: its clock checks are replaced in place
    const polling::MeterConfig meter = d->runMeters.value(meterId);
    d->model->addMeter(meterId, meter.name.isEmpty() ? meterId : meter.name, endpointOf(meter));
}

void CommissioningPage::onCheckFinished(const QString &meterId, const commissioning::CheckResult &result)
{
    if (d->clockOnly && !isClockCheck(result.check))
        return;
    if (d->clockOnly && result.check == commissioning::checks::Clock
        && result.status == commissioning::CheckStatus::Skipped)
        return;
    d->model->addCheck(meterId, result);
    if (result.status == commissioning::CheckStatus::Fail)
        d->resultsTree->expand(d->model->meterIndex(meterId));
}

void CommissioningPage::onMeterFinished(const commissioning::MeterReport &report)
{
    commissioning::MeterReport stored = report;
    auto shown = std::find_if(d->session.meters.begin(), d->session.meters.end(),
        [&](const commissioning::MeterReport &m) { return m.meterId == report.meterId; });
    if (d->clockOnly) {
        if (shown == d->session.meters.end()) {
            resumePolling({report.meterId});
            return;
        }
        stored = mergeClockChecks(*shown, report);
        noteSyncProblem(report);
    }
    if (shown != d->session.meters.end())
        *shown = stored;
    else
        d->session.meters.push_back(stored);
    d->model->setMeterReport(stored);
    if (stored.overall() == commissioning::CheckStatus::Fail)
        d->resultsTree->expand(d->model->meterIndex(stored.meterId));
    if (d->store && d->session.info.id > 0) {
        if (auto saved = d->store->saveMeter(d->session.info.id, stored); !saved)
            setStoreError(saved.error().message);
    }
    resumePolling({report.meterId});
}

void CommissioningPage::onRunFinished(bool cancelled)
{
    app::CommissioningRun *run = d->run;
    d->run = nullptr;
    if (run)
        run->deleteLater();
    resumePolling(d->pausedByUs);
    const bool clockOnly = d->clockOnly;
    d->clockOnly = false;
    if (!clockOnly) {
        d->session.info.state
            = cancelled ? commissioning::SessionState::Cancelled : commissioning::SessionState::Finished;
        d->session.info.finishedMs = nowMs();
        if (d->store && d->session.info.id > 0) {
            if (auto done = d->store->finishSession(
                    d->session.info.id, d->session.info.state, d->session.info.finishedMs);
                !done)
                setStoreError(done.error().message);
        }
    }
    d->session.updateCounts();
    d->runProgress->setVisible(false);
    if (!d->pendingDatabasePath.isEmpty())
        setDatabasePath(d->pendingDatabasePath);
    reloadSessions();
    loadComparison();
    updateSessionLabel();
    updateSummary();
    updateActions();
    Q_EMIT runFinished(d->session.info.id, cancelled);
    if (clockOnly && !d->syncProblems.isEmpty()) {
        showError(tr("Sync clocks"), tr("Some clocks were not set:\n%1").arg(d->syncProblems.join(u'\n')));
    }
    if (!clockOnly && !cancelled && d->askClockSync && !metersNeedingClockSync().isEmpty())
        askClockSync();
}

void CommissioningPage::noteSyncProblem(const commissioning::MeterReport &report)
{
    const commissioning::CheckResult *sync = report.find(kClockSyncCheck);
    if (sync && sync->status == commissioning::CheckStatus::Pass)
        return;
    const commissioning::CheckResult *clock = report.find(kClockCheck);
    if (!sync && clock && clock->status == commissioning::CheckStatus::Pass)
        return; // the clock is right now: nothing to set
    // Why: the sync's own explanation, else the first check that failed (not reached, …).
    QString why = sync ? sync->explanation : QString();
    for (const commissioning::CheckResult &check : report.checks) {
        if (!why.isEmpty())
            break;
        if (check.status == commissioning::CheckStatus::Fail
            || check.status == commissioning::CheckStatus::Skipped)
            why = check.explanation;
    }
    const QString name = report.meterName.isEmpty() ? report.meterId : report.meterName;
    //: Why a meter's clock was not set: "<meter>: <reason>"
    d->syncProblems << tr("%1: %2").arg(name, why.isEmpty() ? monitor::noData() : why);
}

void CommissioningPage::cancelRun()
{
    if (d->waitingForPause) {
        // Not started: it has nothing to report and no finished() of its own to send.
        d->waitingForPause = false;
        d->awaitingPause.clear();
        d->pauseWait->stop();
        onRunFinished(true);
        return;
    }
    if (d->run)
        d->run->cancel();
}

bool CommissioningPage::isRunning() const
{
    return d->run != nullptr;
}

bool CommissioningPage::openSession(qint64 sessionId, QString *error)
{
    const auto fail = [error](const QString &message) {
        if (error)
            *error = message;
        return false;
    };
    if (d->run)
        return fail(tr("a commissioning run is in progress"));
    if (!d->store && !openStore())
        return fail(tr("no database: %1").arg(d->storeError));
    auto loaded = d->store->session(sessionId);
    if (!loaded)
        return fail(loaded.error().message);
    d->session = std::move(*loaded);
    d->model->setSession(d->session);
    for (const commissioning::MeterReport &meter : d->session.meters) {
        if (meter.overall() == commissioning::CheckStatus::Fail)
            d->resultsTree->expand(d->model->meterIndex(meter.meterId));
    }
    loadComparison();
    updateSessionLabel();
    updateSummary();
    updateActions();
    Q_EMIT sessionOpened(sessionId);
    return true;
}

void CommissioningPage::openSelectedSession()
{
    const QModelIndexList rows = d->sessionsTable->selectionModel()->selectedRows();
    if (rows.isEmpty())
        return;
    QString error;
    if (openSession(rows.first().data(CommissioningSessionModel::SessionIdRole).toLongLong(), &error))
        d->tabs->setCurrentIndex(0);
    else
        showError(tr("Open session"), error);
}

bool CommissioningPage::rerunSession(QString *error)
{
    if (d->session.info.id == 0) {
        if (error)
            *error = tr("no session is open");
        return false;
    }
    QStringList ids;
    for (const commissioning::MeterReport &meter : d->session.meters) {
        if (d->bridge && d->bridge->config().findMeter(meter.meterId))
            ids << meter.meterId;
    }
    if (ids.isEmpty()) {
        if (error)
            *error = tr("none of the session's meters is configured now");
        return false;
    }
    commissioning::SessionInfo info;
    info.site = d->session.info.site;
    info.technician = d->session.info.technician;
    info.notes = d->session.info.notes;
    info.previousId = d->session.info.id;
    return beginRun(ids, info, false, error);
}

const commissioning::Session &CommissioningPage::currentSession() const
{
    return d->session;
}

std::vector<commissioning::CheckComparison> CommissioningPage::comparison() const
{
    return d->comparison;
}

void CommissioningPage::loadComparison()
{
    d->previous.reset();
    d->comparison.clear();
    if (d->store && d->session.info.id > 0) {
        auto previousId = d->store->previousSessionOf(d->session.info.id);
        if (previousId && *previousId > 0) {
            if (auto previous = d->store->session(*previousId); previous) {
                d->comparison = commissioning::compareSessions(*previous, d->session);
                d->previous = std::move(*previous);
            }
        }
    }
    d->changes->setComparison(d->comparison);
    updateCompareLabel();
}

QStringList CommissioningPage::metersNeedingClockSync() const
{
    QStringList ids;
    for (const commissioning::MeterReport &meter : d->session.meters) {
        const commissioning::CheckResult *clock = meter.find(kClockCheck);
        if (!clock || !clock->value || meter.find(kClockSyncCheck))
            continue;
        if (clock->status == commissioning::CheckStatus::Warn
            || clock->status == commissioning::CheckStatus::Fail)
            ids << meter.meterId;
    }
    return ids;
}

bool CommissioningPage::syncClocks(const QStringList &meterIds, QString *error)
{
    if (d->session.info.id == 0) {
        if (error)
            *error = tr("no session is open");
        return false;
    }
    QStringList ids;
    for (const QString &id : meterIds) {
        if (!d->session.findMeter(id)) {
            if (error)
                *error = tr("meter %1 is not part of the session").arg(id);
            return false;
        }
        ids << id;
    }
    return beginRun(ids, d->session.info, true, error);
}

void CommissioningPage::setAskClockSync(bool ask)
{
    d->askClockSync = ask;
}

void CommissioningPage::askClockSync()
{
    const QStringList ids = metersNeedingClockSync();
    if (ids.isEmpty() || d->run)
        return;
    if (d->clockQuestion)
        d->clockQuestion->close();
    QStringList named;
    for (const QString &id : ids) {
        if (named.size() == kMaxMetersNamed) {
            named << tr("… and %n more", nullptr, int(ids.size()) - kMaxMetersNamed);
            break;
        }
        const commissioning::MeterReport *meter = d->session.findMeter(id);
        const commissioning::CheckResult *clock = meter ? meter->find(kClockCheck) : nullptr;
        const double drift = clock && clock->value ? *clock->value : 0.0;
        const QString seconds = (drift > 0 ? u"+"_s : QString()) + QLocale().toString(drift, 'f', 0);
        //: A meter whose clock is off, in the clock sync question: "demo-4 (+600 s)"
        named << tr("%1 (%2 s)").arg(meter && !meter->meterName.isEmpty() ? meter->meterName : id, seconds);
    }
    const int warnSeconds = d->bridge ? d->bridge->config().commissioning.clockWarnSeconds : 10;
    const QString text = ids.size() == 1
        ? tr("The clock of 1 meter is off by more than %1 s: %2.\nSet it to this computer's time?")
              .arg(warnSeconds)
              .arg(named.join(u", "_s))
        : tr("The clocks of %n meters are off by more than %1 s: %2.\nSet them to this computer's time?",
            nullptr, int(ids.size()))
              .arg(warnSeconds)
              .arg(named.join(u", "_s));
    auto *box = new QMessageBox(
        QMessageBox::Question, tr("Sync clocks"), text, QMessageBox::Yes | QMessageBox::No, this);
    box->setObjectName(u"clockSyncQuestion"_s);
    box->setDefaultButton(QMessageBox::No);
    box->setAttribute(Qt::WA_DeleteOnClose);
    connect(box, &QMessageBox::finished, this, [this, ids](int result) {
        if (result != QMessageBox::Yes)
            return;
        QString error;
        if (!syncClocks(ids, &error))
            showError(tr("Sync clocks"), error);
    });
    d->clockQuestion = box;
    box->open();
}

bool CommissioningPage::exportCsv(const QString &path, QString *error)
{
    const auto fail = [error](const QString &message) {
        if (error)
            *error = message;
        return false;
    };
    if (d->session.info.id == 0)
        return fail(tr("no session to export"));
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly))
        return fail(tr("cannot write %1: %2").arg(QDir::toNativeSeparators(path), file.errorString()));
    auto written = commissioning::writeCommissioningCsv(d->session, file);
    if (!written) {
        file.cancelWriting();
        return fail(written.error().message);
    }
    if (!file.commit())
        return fail(tr("cannot write %1: %2").arg(QDir::toNativeSeparators(path), file.errorString()));
    return true;
}

bool CommissioningPage::exportPdf(const QString &path)
{
    if (d->exportThread || d->session.info.id == 0)
        return false;
    const commissioning::Session session = d->session;
    report::PdfOptions options;
    options.previous = d->previous;
    auto cancel = std::make_shared<std::atomic_bool>(false);
    d->exportCancel = cancel;
    // The thread reports through queued calls on the page; the destructor joins it first, so
    // the page is alive for every call it posts.
    d->exportThread = QThread::create([this, session, options, path, cancel] {
        auto written
            = report::writeCommissioningPdf(session, path, options, [this, cancel](int done, int total) {
                  QMetaObject::invokeMethod(
                      this, [this, done, total] { onExportProgress(done, total); }, Qt::QueuedConnection);
                  return !cancel->load();
              });
        const bool ok = bool(written);
        const QString message = ok ? QString() : written.error().message;
        QMetaObject::invokeMethod(
            this, [this, path, ok, message] { onExportFinished(path, ok, message); }, Qt::QueuedConnection);
    });
    d->exportThread->setObjectName(u"report"_s);
    d->exportProgress->setRange(0, 0);
    d->exportProgress->setVisible(true);
    d->exportCancelButton->setVisible(true);
    d->exportState = Private::ExportState::Writing;
    d->exportPath = path;
    d->exportError.clear();
    updateExportLabel();
    d->exportThread->start();
    updateActions();
    return true;
}

void CommissioningPage::onExportProgress(int done, int total)
{
    if (!d->exportThread)
        return;
    d->exportProgress->setRange(0, std::max(total, 1));
    d->exportProgress->setValue(std::min(done, std::max(total, 1)));
    Q_EMIT exportProgress(done, total);
}

void CommissioningPage::onExportFinished(const QString &path, bool ok, const QString &message)
{
    if (d->exportThread) {
        d->exportThread->wait(); // it has returned: only its end is left
        delete d->exportThread;
        d->exportThread = nullptr;
    }
    d->exportCancel.reset();
    d->exportProgress->setVisible(false);
    d->exportCancelButton->setVisible(false);
    d->exportState = ok ? Private::ExportState::Done : Private::ExportState::Failed;
    d->exportPath = path;
    d->exportError = message;
    updateExportLabel();
    updateActions();
    Q_EMIT exportFinished(path, ok, ok ? d->exportLabel->text() : message);
}

bool CommissioningPage::isExporting() const
{
    return d->exportThread != nullptr;
}

bool CommissioningPage::openStore()
{
    if (d->databasePath.isEmpty()) {
        setStoreError(tr("no database file is set"));
        return false;
    }
    auto opened = commissioning::Store::open(d->databasePath);
    if (!opened) {
        setStoreError(opened.error().message);
        return false;
    }
    d->store = std::move(*opened);
    setStoreError({});
    return true;
}

void CommissioningPage::reloadSessions()
{
    if (!d->store) {
        d->sessions->setSessions({});
        return;
    }
    auto listed = d->store->sessions();
    if (!listed) {
        setStoreError(listed.error().message);
        return;
    }
    const qint64 selected = [this] {
        const QModelIndexList rows = d->sessionsTable->selectionModel()->selectedRows();
        return rows.isEmpty() ? qint64(0)
                              : rows.first().data(CommissioningSessionModel::SessionIdRole).toLongLong();
    }();
    d->sessions->setSessions(std::move(*listed));
    if (const int row = d->sessions->rowOf(selected); row >= 0)
        d->sessionsTable->selectRow(row);
}

void CommissioningPage::setStoreError(const QString &message)
{
    d->storeError = message;
    d->storeMessage->setText(message.isEmpty() ? QString() : tr("Database: %1").arg(message));
    d->storeMessage->setVisible(!message.isEmpty());
}

QStringList CommissioningPage::pausePolling(const QStringList &meterIds)
{
    QStringList awaited;
    if (!d->bridge)
        return awaited;
    for (const QString &id : meterIds) {
        const std::optional<app::MeterStatus> status = d->bridge->meter(id);
        // A meter the technician paused stays theirs: it is not resumed after the checks.
        if (!status || status->paused || d->pausedByUs.contains(id))
            continue;
        if (d->bridge->setPaused(id, true)) {
            d->pausedByUs << id;
            awaited << id;
        }
    }
    return awaited;
}

void CommissioningPage::resumePolling(const QStringList &meterIds)
{
    const QStringList ids = meterIds; // may be d->pausedByUs itself
    for (const QString &id : ids) {
        if (!d->pausedByUs.removeOne(id))
            continue;
        if (d->bridge)
            d->bridge->setPaused(id, false);
    }
}

void CommissioningPage::updateProgress()
{
    d->runProgress->setRange(0, std::max(d->runTotal, 1));
    d->runProgress->setValue(std::min(d->runDone, std::max(d->runTotal, 1)));
    d->runProgress->setFormat(d->waitingForPause ? tr("Waiting for polling to pause…")
                                                 : tr("%1 of %2 meters").arg(d->runDone).arg(d->runTotal));
}

void CommissioningPage::fitMeasuredColumn()
{
    QTreeView *tree = d->resultsTree;
    if (!tree->isVisible())
        return; // its width means nothing yet: the resize on show fits it
    // Public in QAbstractItemView (QTreeView's override is protected); it looks at the rows shown.
    const QAbstractItemView *view = tree;
    const int contents = std::max(view->sizeHintForColumn(CommissioningModel::Measured),
        tree->header()->sectionSizeHint(CommissioningModel::Measured));
    // At most a share of the view, and never more than Explanation gets of what is left.
    const int viewWidth = tree->viewport()->width();
    const int left = viewWidth - tree->columnWidth(CommissioningModel::Name)
        - tree->columnWidth(CommissioningModel::Status);
    const int cap = std::min(int(viewWidth * kMeasuredShare), left / 2);
    const int width = std::max(std::min(contents, cap), tree->header()->minimumSectionSize());
    if (width != tree->columnWidth(CommissioningModel::Measured))
        tree->setColumnWidth(CommissioningModel::Measured, width);
}

void CommissioningPage::updateSummary()
{
    const commissioning::SessionInfo &info = d->session.info;
    QString text;
    if (info.id == 0) {
        text = tr("Choose the meters, fill in the session and press Run.");
    } else if (d->run) {
        text = d->clockOnly ? tr("Setting the clocks…") : tr("Checking the meters…");
    } else {
        commissioning::Session counted = d->session;
        counted.updateCounts();
        const commissioning::SessionInfo &c = counted.info;
        // Singular spelled out: English has no .qm to pick the plural form of "%n".
        const QString counts
            = (c.meters == 1 ? tr("1 meter: %1 passed, %2 with warnings, %3 failed")
                             : tr("%n meters: %1 passed, %2 with warnings, %3 failed", nullptr, c.meters))
                  .arg(c.passed)
                  .arg(c.warned)
                  .arg(c.failed);
        switch (info.state) {
        case commissioning::SessionState::Cancelled:
            text = tr("Cancelled. %1").arg(counts);
            break;
        case commissioning::SessionState::Running:
            text = tr("Not finished. %1").arg(counts);
            break;
        case commissioning::SessionState::Finished:
            text = counts;
            break;
        }
    }
    d->summaryLabel->setText(text);
}

void CommissioningPage::updateSessionLabel()
{
    const commissioning::SessionInfo &info = d->session.info;
    if (info.id == 0) {
        d->sessionLabel->setText(tr("No session open."));
        return;
    }
    // Sessions stored before site and technician had defaults may lack them: left out.
    const QString started = CommissioningSessionModel::startedText(info.startedMs);
    QString text;
    if (!info.site.isEmpty() && !info.technician.isEmpty()) {
        text = tr("Session %1 · %2 · %3 · started %4").arg(info.id).arg(info.site, info.technician, started);
    } else if (info.site.isEmpty() && info.technician.isEmpty()) {
        text = tr("Session %1 · started %2").arg(info.id).arg(started);
    } else {
        //: A session's line when only its site or only its technician is known
        text = tr("Session %1 · %2 · started %3")
                   .arg(info.id)
                   .arg(info.site.isEmpty() ? info.technician : info.site, started);
    }
    d->sessionLabel->setText(text);
}

void CommissioningPage::updateCompareLabel()
{
    if (d->session.info.id == 0) {
        d->compareLabel->setText(tr("No session open."));
    } else if (!d->previous) {
        d->compareLabel->setText(tr("No previous run to compare with."));
    } else {
        const QString with = tr("Compared with session %1, %2")
                                 .arg(d->previous->info.id)
                                 .arg(CommissioningSessionModel::startedText(d->previous->info.startedMs));
        const int changed = d->changes->rowCount();
        if (changed == 0)
            d->compareLabel->setText(tr("%1: nothing changed.").arg(with));
        else if (changed == 1)
            d->compareLabel->setText(tr("%1: 1 change.").arg(with));
        else
            d->compareLabel->setText(tr("%1: %n changes.", nullptr, changed).arg(with));
    }
}

void CommissioningPage::updateExportLabel()
{
    const QString file = QDir::toNativeSeparators(d->exportPath);
    switch (d->exportState) {
    case Private::ExportState::None:
        d->exportLabel->clear();
        break;
    case Private::ExportState::Writing:
        d->exportLabel->setText(tr("Writing %1…").arg(file));
        break;
    case Private::ExportState::Done:
        d->exportLabel->setText(tr("Exported to %1").arg(file));
        break;
    case Private::ExportState::Failed:
        d->exportLabel->setText(tr("Export failed: %1").arg(d->exportError));
        break;
    }
}

void CommissioningPage::updateActions()
{
    const bool running = d->run != nullptr;
    const bool haveSession = d->session.info.id > 0;
    d->runButton->setEnabled(!running && d->bridge && !checkedMeterIds().isEmpty());
    d->cancelButton->setEnabled(running);
    d->rerunButton->setEnabled(!running && haveSession);
    d->syncClocksButton->setEnabled(!running && !metersNeedingClockSync().isEmpty());
    d->exportCsvButton->setEnabled(!running && haveSession);
    d->exportPdfButton->setEnabled(!running && haveSession && !d->exportThread);
    d->openSessionButton->setEnabled(!running && d->sessionsTable->selectionModel()->hasSelection());
    d->refreshSessionsButton->setEnabled(d->store != nullptr);
    d->siteEdit->setReadOnly(running);
    d->technicianEdit->setReadOnly(running);
}

QString CommissioningPage::suggestedFileName(const QString &suffix) const
{
    const QString day = QDateTime::fromMSecsSinceEpoch(d->session.info.startedMs, Qt::UTC)
                            .toLocalTime()
                            .toString(u"yyyyMMdd-HHmm"_s);
    return u"commissioning-%1-%2.%3"_s.arg(d->session.info.id).arg(day, suffix);
}

void CommissioningPage::showError(const QString &title, const QString &message)
{
    auto *box = new QMessageBox(QMessageBox::Warning, title, message, QMessageBox::Ok, this);
    box->setAttribute(Qt::WA_DeleteOnClose);
    box->open();
}

void CommissioningPage::retranslate()
{
    d->sessionGroup->setTitle(tr("Session"));
    d->siteLabel->setText(tr("&Site:"));
    d->technicianLabel->setText(tr("&Technician:"));
    d->notesLabel->setText(tr("&Notes:"));
    d->siteEdit->setPlaceholderText(tr("Where the meters are"));
    d->technicianEdit->setPlaceholderText(tr("Who checks them"));
    d->notesEdit->setPlaceholderText(tr("Anything the report should say"));
    d->metersGroup->setTitle(tr("Meters to check"));
    d->meterSearch->setPlaceholderText(tr("Search meters"));
    d->selectAllButton->setText(tr("&All"));
    d->selectNoneButton->setText(tr("N&one"));
    d->runButton->setText(tr("&Run"));
    d->runButton->setToolTip(tr("Check the selected meters and store the session"));
    d->cancelButton->setText(tr("&Cancel"));
    d->rerunButton->setText(tr("R&e-run"));
    d->rerunButton->setToolTip(tr("Check the open session's meters again, as a new session"));
    d->syncClocksButton->setText(tr("Sync c&locks…"));
    d->syncClocksButton->setToolTip(tr("Set the clocks that are off to this computer's time"));
    d->exportCsvButton->setText(tr("Export CS&V…"));
    d->exportPdfButton->setText(tr("Export &PDF…"));
    d->exportCancelButton->setText(tr("Cancel export"));
    d->openSessionButton->setText(tr("&Open"));
    d->refreshSessionsButton->setText(tr("Refresh"));
    d->tabs->setTabText(0, tr("Results"));
    d->tabs->setTabText(1, tr("Sessions"));
    d->tabs->setTabText(2, tr("Compare"));
    d->model->retranslate();
    d->sessions->retranslate();
    d->changes->retranslate();
    if (d->run)
        updateProgress();
    if (!d->storeError.isEmpty())
        setStoreError(d->storeError);
    updateExportLabel();
    updateSessionLabel();
    updateSummary();
    updateCompareLabel();
}

void CommissioningPage::changeEvent(QEvent *event)
{
    if (event->type() == QEvent::LanguageChange)
        retranslate();
    QWidget::changeEvent(event);
}
