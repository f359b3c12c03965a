// The Commissioning page over a real bridge and real simulated meters (in-process, loopback,
// port 0): a healthy meter, one whose clock is ten minutes ahead, one that never answers. Runs
// store their sessions in a real SQLite file; the clock is synced through SET; sessions are
// re-run, compared, reopened, exported (CSV, PDF on the page's worker thread) and cancelled.

#include "commissioningcomparisonmodel.h"
#include "commissioningmodel.h"
#include "commissioningpage.h"
#include "commissioningsessionmodel.h"
#include "markingtranslator.h"

#include <bridge.h>
#include <commissioningstore.h>
#include <simulator.h>

#include <QtCore/QDateTime>
#include <QtCore/QFile>
#include <QtCore/QSettings>
#include <QtCore/QStandardPaths>
#include <QtCore/QTemporaryDir>
#include <QtCore/QTranslator>
#include <QtGui/QFontMetrics>
#include <QtTest/QAbstractItemModelTester>
#include <QtTest/QSignalSpy>
#include <QtTest/QTest>
#include <QtWidgets/QApplication>
#include <QtWidgets/QLabel>
#include <QtWidgets/QLineEdit>
#include <QtWidgets/QListWidget>
#include <QtWidgets/QMessageBox>
#include <QtWidgets/QPlainTextEdit>
#include <QtWidgets/QProgressBar>
#include <QtWidgets/QPushButton>
#include <QtWidgets/QTabWidget>
#include <QtWidgets/QTableView>
#include <QtWidgets/QTreeView>

#include <memory>

using namespace Qt::StringLiterals;

namespace {

constexpr int kWaitMs = 15'000;
const QString kHealthy = u"healthy"_s;
const QString kClock = u"clock-off"_s;
const QString kSilent = u"silent"_s;

class FakeInterfaces final : public monitor::InterfaceCounterSource {
public:
    dlms::Result<std::vector<monitor::InterfaceCounters>> read() override
    {
        return std::vector<monitor::InterfaceCounters> {};
    }
    QString description() const override { return u"fake"_s; }
};

polling::MeterConfig simMeter(const QString &id, quint16 port, int timeoutMs = 2000)
{
    polling::MeterConfig meter;
    meter.id = id;
    meter.name = id + u" meter"_s;
    meter.host = u"127.0.0.1"_s;
    meter.port = port;
    // LLS with the simulator's password: the association may SET the clock.
    meter.authentication = dlms::Authentication::Low;
    meter.password = QByteArrayLiteral("12345678");
    meter.pollIntervalMs = 500;
    meter.connectTimeoutMs = timeoutMs;
    meter.requestTimeoutMs = timeoutMs;
    meter.retries = 0;
    meter.items = {{u"voltage_l1"_s, dlms::Obis(1, 0, 32, 7, 0, 255), 3, 2},
        {u"frequency"_s, dlms::Obis(1, 0, 14, 7, 0, 255), 3, 2}};
    meter.backoff = {100, 200, 2.0, 0.1};
    return meter;
}

std::unique_ptr<sim::Simulator> startSimulator(const sim::MeterSettings &settings)
{
    sim::SimulatorConfig config;
    config.basePort = 0;
    config.meters = 1;
    config.meter = settings;
    auto simulator = std::make_unique<sim::Simulator>(config);
    if (!simulator->start())
        return {};
    return simulator;
}

const commissioning::MeterReport *reportOf(const commissioning::Session &session, const QString &id)
{
    return session.findMeter(id);
}

} // namespace

class tst_CommissioningPage : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void init();
    void cleanup();
    void modelUpdatesLive();
    void runOverThreeMeters();
    void refusesWhatItCannotRun();
    void syncClocksRewritesClockChecks();
    void askedClockSyncRunsOnYes();
    void pollingPausedDuringChecks();
    void pollerLetsGoBeforeRunConnects();
    void cancelWhileWaitingForPause();
    void defaultSiteAndTechnician();
    void resultColumnsFit();
    void rerunComparesWithPrevious();
    void exportCsvRowsPerCheck();
    void exportPdf();
    void exportPdfToUnwritablePathFails();
    void openOldSession();
    void cancelMidRun();
    void retranslates();

private:
    bool runAndWait(const QStringList &ids);
    CommissioningModel *model() const
    {
        return qobject_cast<CommissioningModel *>(m_page->findChild<QTreeView *>(u"resultsTree"_s)->model());
    }
    QString databasePath() const { return m_dir->filePath(u"bridge.db"_s); }

    std::unique_ptr<QTemporaryDir> m_dir;
    std::unique_ptr<sim::Simulator> m_healthy;
    std::unique_ptr<sim::Simulator> m_clockOff;
    std::unique_ptr<sim::Simulator> m_silent;
    std::unique_ptr<app::Bridge> m_bridge;
    std::unique_ptr<CommissioningPage> m_page;
    std::vector<std::unique_ptr<QAbstractItemModelTester>> m_testers;
    QTemporaryDir m_settingsDir; // this process's own QSettings: copies may run side by side
};

void tst_CommissioningPage::initTestCase()
{
    QStandardPaths::setTestModeEnabled(true);
    QCoreApplication::setOrganizationName(u"dlmsbridge-test"_s);
    QCoreApplication::setApplicationName(u"tst_commissioningpage"_s);
    QVERIFY(m_settingsDir.isValid());
    QSettings::setPath(QSettings::NativeFormat, QSettings::UserScope, m_settingsDir.path());
}

void tst_CommissioningPage::init()
{
    QSettings().clear();
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
    sim::MeterSettings settings;
    m_healthy = startSimulator(settings);
    settings.clockOffsetSeconds = 600;
    m_clockOff = startSimulator(settings);
    settings.clockOffsetSeconds = 0;
    settings.faults.silent = true;
    m_silent = startSimulator(settings);
    QVERIFY(m_healthy && m_clockOff && m_silent);

    app::BridgeConfig config;
    config.site.workers = 1;
    config.site.meters = {simMeter(kHealthy, m_healthy->port(0)), simMeter(kClock, m_clockOff->port(0)),
        simMeter(kSilent, m_silent->port(0), 800)};
    config.mqtt.enabled = false;
    config.http.enabled = false;
    config.storage.path = databasePath();
    config.commissioning.baselinePolls = 2;
    app::Bridge::Options options;
    options.serveHttp = false;
    options.stopTimeoutMs = 1000;
    options.interfaceSource = [] { return std::make_unique<FakeInterfaces>(); };
    m_bridge = std::make_unique<app::Bridge>(options);
    const dlms::Result<void> started = m_bridge->start(config);
    QVERIFY2(started.ok(), started.ok() ? "" : qPrintable(started.error().message));

    m_page = std::make_unique<CommissioningPage>(m_bridge.get());
    m_page->setAskClockSync(false);
    m_page->setDatabasePath(databasePath());
    m_page->setConfigPath(m_dir->filePath(u"site.json"_s));
    m_page->refreshMeters();
    m_testers.clear();
    for (QAbstractItemView *view : m_page->findChildren<QAbstractItemView *>()) {
        if (view->objectName() == u"resultsTree" || view->objectName() == u"sessionsTable"
            || view->objectName() == u"compareTable") {
            m_testers.push_back(std::make_unique<QAbstractItemModelTester>(
                view->model(), QAbstractItemModelTester::FailureReportingMode::QtTest));
        }
    }
    QCOMPARE(m_testers.size(), size_t(3));
    m_page->resize(1200, 700);
    m_page->show();
    QVERIFY(QTest::qWaitForWindowExposed(m_page.get()));
}

void tst_CommissioningPage::cleanup()
{
    m_testers.clear();
    m_page.reset();
    if (m_bridge)
        QVERIFY(m_bridge->stopAndWait(10'000));
    m_bridge.reset();
    m_healthy.reset();
    m_clockOff.reset();
    m_silent.reset();
    m_dir.reset();
}

bool tst_CommissioningPage::runAndWait(const QStringList &ids)
{
    QSignalSpy finished(m_page.get(), &CommissioningPage::runFinished);
    QString error;
    if (!m_page->startRun(ids, &error)) {
        qWarning("startRun: %s", qPrintable(error));
        return false;
    }
    return finished.wait(kWaitMs) && !finished.last().at(1).toBool();
}

void tst_CommissioningPage::modelUpdatesLive()
{
    CommissioningModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    QSignalSpy resets(&model, &QAbstractItemModel::modelReset);
    QSignalSpy inserted(&model, &QAbstractItemModel::rowsInserted);
    QSignalSpy changed(&model, &QAbstractItemModel::dataChanged);
    model.addMeter(u"m1"_s, u"Meter 1"_s, u"127.0.0.1:4059"_s);
    commissioning::CheckResult tcp {
        u"tcp"_s, commissioning::CheckStatus::Pass, 3.0, u"ms"_s, u"3 ms"_s, u"ok"_s, 1};
    commissioning::CheckResult clock {
        u"clock"_s, commissioning::CheckStatus::Fail, 600.0, u"s"_s, u"+600 s"_s, u"ahead"_s, 2};
    model.addCheck(u"m1"_s, tcp);
    model.addCheck(u"m1"_s, clock);
    model.addCheck(u"nobody"_s, tcp); // unknown meters are ignored
    QCOMPARE(model.rowCount(), 1);
    const QModelIndex meter = model.index(0, 0);
    QCOMPARE(model.rowCount(meter), 2);
    QCOMPARE(inserted.size(), 3); // the meter, then each check
    QCOMPARE(resets.size(), 0);
    QCOMPARE(model.index(0, CommissioningModel::Status).data().toString(),
        commissioning::checkStatusText(commissioning::CheckStatus::Fail));
    QCOMPARE(model.index(0, CommissioningModel::Explanation).data().toString(), u"1 failure"_s);
    QCOMPARE(model.index(1, CommissioningModel::Measured, meter).data().toString(), u"+600 s"_s);
    QCOMPARE(model.index(1, 0, meter).data(CommissioningModel::CheckIdRole).toString(), u"clock"_s);
    // No column is empty on every check row: the meter's endpoint is in its Measured cell, the
    // last column (the one that stretches) is Explanation, and the tips carry the whole texts.
    QCOMPARE(model.columnCount(), 4);
    QCOMPARE(model.headerData(model.columnCount() - 1, Qt::Horizontal).toString(), u"Explanation"_s);
    QCOMPARE(model.index(0, CommissioningModel::Measured).data().toString(), u"127.0.0.1:4059"_s);
    QCOMPARE(
        model.index(1, CommissioningModel::Measured, meter).data(Qt::ToolTipRole).toString(), u"+600 s"_s);
    QCOMPARE(
        model.index(1, CommissioningModel::Explanation, meter).data(Qt::ToolTipRole).toString(), u"ahead"_s);

    // The same check again updates its row in place.
    changed.clear();
    clock.status = commissioning::CheckStatus::Warn;
    model.addCheck(u"m1"_s, clock);
    QCOMPARE(model.rowCount(meter), 2);
    QCOMPARE(inserted.size(), 3);
    QVERIFY(changed.size() >= 1);
    QCOMPARE(model.index(0, CommissioningModel::Explanation).data().toString(), u"1 warning"_s);

    // The final report replaces the checks (another set: children replaced, the row stays).
    commissioning::MeterReport report;
    report.meterId = u"m1"_s;
    report.meterName = u"Meter 1"_s;
    report.serialNumber = u"SIM1"_s;
    report.endpoint = u"127.0.0.1:4059"_s;
    report.checks = {tcp, clock, clock};
    report.checks[2].check = u"clock-sync"_s;
    model.setMeterReport(report);
    QCOMPARE(model.rowCount(meter), 3);
    QCOMPARE(model.index(0, CommissioningModel::Measured).data().toString(), u"SIM1 · 127.0.0.1:4059"_s);
    QCOMPARE(model.index(0, CommissioningModel::Measured).data(Qt::ToolTipRole).toString(),
        u"SIM1 · 127.0.0.1:4059"_s);
    QCOMPARE(model.index(0, CommissioningModel::Explanation).data().toString(), u"2 warnings"_s);
    QCOMPARE(resets.size(), 0);
}

void tst_CommissioningPage::runOverThreeMeters()
{
    QSignalSpy started(m_page.get(), &CommissioningPage::runStarted);
    QSignalSpy finished(m_page.get(), &CommissioningPage::runFinished);
    QSignalSpy resets(model(), &QAbstractItemModel::modelReset);
    QSignalSpy inserted(model(), &QAbstractItemModel::rowsInserted);
    m_page->findChild<QLineEdit *>(u"siteEdit"_s)->setText(u"Substation 9"_s);
    m_page->findChild<QLineEdit *>(u"technicianEdit"_s)->setText(u"Ana"_s);
    m_page->findChild<QPlainTextEdit *>(u"notesEdit"_s)->setPlainText(u"first visit"_s);
    QString error;
    QVERIFY2(m_page->startRun({}, &error), qPrintable(error)); // every meter is checked by default
    QVERIFY(m_page->isRunning());
    QCOMPARE(started.size(), 1);
    const qint64 id = started.at(0).at(0).toLongLong();
    QVERIFY(id > 0);
    QVERIFY(finished.wait(kWaitMs));
    QCOMPARE(finished.at(0).at(0).toLongLong(), id);
    QCOMPARE(finished.at(0).at(1).toBool(), false);
    QVERIFY(!m_page->isRunning());

    // Live: one reset when the run began, then rows inserted meter by meter and check by check.
    QVERIFY(resets.size() <= 1);
    QVERIFY(inserted.size() >= 3 + 3);
    CommissioningModel *results = model();
    QCOMPARE(results->rowCount(), 3);
    const commissioning::Session &session = m_page->currentSession();
    QCOMPARE(session.info.id, id);
    QCOMPARE(session.info.state, commissioning::SessionState::Finished);
    QCOMPARE(session.meters.size(), size_t(3));
    const auto *healthy = reportOf(session, kHealthy);
    const auto *clock = reportOf(session, kClock);
    const auto *silent = reportOf(session, kSilent);
    QVERIFY(healthy && clock && silent);
    QCOMPARE(healthy->overall(), commissioning::CheckStatus::Pass);
    QVERIFY(!healthy->serialNumber.isEmpty());
    QCOMPARE(clock->overall(), commissioning::CheckStatus::Fail);
    QVERIFY(clock->find(u"clock"));
    QCOMPARE(clock->find(u"clock")->status, commissioning::CheckStatus::Fail);
    QCOMPARE(silent->overall(), commissioning::CheckStatus::Fail);
    QVERIFY(silent->find(u"association"));
    QCOMPARE(silent->find(u"association")->status, commissioning::CheckStatus::Fail);

    // The tree: status words, the clock check's row under its meter, failures expanded.
    auto *tree = m_page->findChild<QTreeView *>(u"resultsTree"_s);
    const QModelIndex clockRow = results->meterIndex(kClock);
    QCOMPARE(clockRow.siblingAtColumn(CommissioningModel::Status).data().toString(),
        commissioning::checkStatusText(commissioning::CheckStatus::Fail));
    QCOMPARE(results->meterIndex(kHealthy, CommissioningModel::Status).data().toString(),
        commissioning::checkStatusText(commissioning::CheckStatus::Pass));
    QCOMPARE(results->rowCount(clockRow), int(clock->checks.size()));
    bool clockChildFails = false;
    for (int r = 0; r < results->rowCount(clockRow); ++r) {
        const QModelIndex child = results->index(r, 0, clockRow);
        if (child.data(CommissioningModel::CheckIdRole).toString() == u"clock")
            clockChildFails
                = child.data(CommissioningModel::StatusRole).toInt() == int(commissioning::CheckStatus::Fail);
    }
    QVERIFY(clockChildFails);
    QVERIFY(tree->isExpanded(clockRow));
    QVERIFY(tree->isExpanded(results->meterIndex(kSilent)));
    QVERIFY(!tree->isExpanded(results->meterIndex(kHealthy)));
    QCOMPARE(m_page->findChild<QLabel *>(u"summaryLabel"_s)->text(),
        u"3 meters: 1 passed, 0 with warnings, 2 failed"_s);

    // The same session is in the database, and in the sessions list.
    auto store = commissioning::Store::open(databasePath());
    QVERIFY(store);
    auto stored = (*store)->session(id);
    QVERIFY(stored);
    QCOMPARE(stored->info.state, commissioning::SessionState::Finished);
    QCOMPARE(stored->info.configFile, m_dir->filePath(u"site.json"_s));
    QCOMPARE(stored->info.site, u"Substation 9"_s);
    QCOMPARE(stored->info.technician, u"Ana"_s);
    QCOMPARE(stored->info.notes, u"first visit"_s);
    // The technician is remembered for the next session.
    CommissioningPage another(m_bridge.get());
    QCOMPARE(another.findChild<QLineEdit *>(u"technicianEdit"_s)->text(), u"Ana"_s);
    QCOMPARE(stored->meters.size(), session.meters.size());
    for (const commissioning::MeterReport &meter : session.meters) {
        const commissioning::MeterReport *saved = stored->findMeter(meter.meterId);
        QVERIFY(saved);
        QCOMPARE(saved->checks.size(), meter.checks.size());
        for (size_t i = 0; i < meter.checks.size(); ++i) {
            QCOMPARE(saved->checks[i].check, meter.checks[i].check);
            QCOMPARE(saved->checks[i].status, meter.checks[i].status);
        }
    }
    auto *sessions = m_page->findChild<QTableView *>(u"sessionsTable"_s)->model();
    QCOMPARE(sessions->rowCount(), 1);
    QCOMPARE(sessions->index(0, 0).data(CommissioningSessionModel::SessionIdRole).toLongLong(), id);
    QCOMPARE(sessions->index(0, CommissioningSessionModel::Failed).data().toString(), u"2"_s);
    QVERIFY(m_page->comparison().empty()); // a first run
    QCOMPARE(m_page->findChild<QLabel *>(u"compareLabel"_s)->text(), u"No previous run to compare with."_s);
}

void tst_CommissioningPage::refusesWhatItCannotRun()
{
    QString error;
    m_page->findChild<QPushButton *>(u"selectNoneButton"_s)->click();
    QVERIFY(!m_page->findChild<QPushButton *>(u"runButton"_s)->isEnabled());
    QVERIFY(!m_page->startRun({}, &error));
    QCOMPARE(error, u"no meter selected"_s);
    QVERIFY(!m_page->startRun({u"nobody"_s}, &error));
    QVERIFY(error.contains(u"nobody"_s));
    QVERIFY(!m_page->rerunSession(&error));
    QVERIFY(!m_page->syncClocks({kClock}, &error));
    QVERIFY(!m_page->exportCsv(m_dir->filePath(u"none.csv"_s), &error));
    QVERIFY(!m_page->exportPdf(m_dir->filePath(u"none.pdf"_s)));

    // The search narrows what "All" checks.
    m_page->findChild<QLineEdit *>(u"meterSearch"_s)->setText(u"healthy"_s);
    m_page->findChild<QPushButton *>(u"selectAllButton"_s)->click();
    auto *list = m_page->findChild<QListWidget *>(u"meterList"_s);
    QCOMPARE(list->count(), 3);
    int checked = 0;
    for (int i = 0; i < list->count(); ++i)
        checked += list->item(i)->checkState() == Qt::Checked ? 1 : 0;
    QCOMPARE(checked, 1);

    QSignalSpy finished(m_page.get(), &CommissioningPage::runFinished);
    QVERIFY(m_page->startRun({}, &error));
    QVERIFY(!m_page->startRun({kClock}, &error));
    QCOMPARE(error, u"a commissioning run is in progress"_s);
    QVERIFY(!m_page->openSession(m_page->currentSession().info.id, &error));
    QVERIFY(finished.wait(kWaitMs));
    QCOMPARE(m_page->currentSession().meters.size(), size_t(1));
    QVERIFY(!m_page->openSession(9999, &error));
}

void tst_CommissioningPage::syncClocksRewritesClockChecks()
{
    QVERIFY(runAndWait({kHealthy, kClock}));
    QCOMPARE(m_page->metersNeedingClockSync(), QStringList {kClock});
    QVERIFY(m_page->findChild<QPushButton *>(u"syncClocksButton"_s)->isEnabled());
    const qint64 id = m_page->currentSession().info.id;
    const commissioning::MeterReport before = *reportOf(m_page->currentSession(), kClock);
    const commissioning::MeterReport healthyBefore = *reportOf(m_page->currentSession(), kHealthy);
    QVERIFY(!before.find(u"clock-sync"));

    QSignalSpy finished(m_page.get(), &CommissioningPage::runFinished);
    QString error;
    QVERIFY2(m_page->syncClocks({kClock}, &error), qPrintable(error));
    QVERIFY(finished.wait(kWaitMs));
    QCOMPARE(finished.last().at(0).toLongLong(), id); // the same session

    const commissioning::Session &session = m_page->currentSession();
    QCOMPARE(session.info.id, id);
    const commissioning::MeterReport *after = reportOf(session, kClock);
    QVERIFY(after);
    const commissioning::CheckResult *sync = after->find(u"clock-sync");
    QVERIFY(sync);
    QCOMPARE(sync->status, commissioning::CheckStatus::Pass);
    // The other checks stay; clock-sync comes right after the clock check.
    QCOMPARE(after->checks.size(), before.checks.size() + 1);
    for (const commissioning::CheckResult &check : before.checks) {
        if (check.check != u"clock")
            QCOMPARE(*after->find(check.check), check);
    }
    for (size_t i = 0; i + 1 < after->checks.size(); ++i) {
        if (after->checks[i].check == u"clock")
            QCOMPARE(after->checks[i + 1].check, u"clock-sync"_s);
    }
    QCOMPARE(*reportOf(session, kHealthy), healthyBefore);
    QVERIFY(m_page->metersNeedingClockSync().isEmpty());
    QVERIFY(!m_page->findChild<QPushButton *>(u"syncClocksButton"_s)->isEnabled());

    // The tree and the store say the same.
    CommissioningModel *results = model();
    QCOMPARE(results->rowCount(), 2);
    QCOMPARE(results->rowCount(results->meterIndex(kClock)), int(after->checks.size()));
    auto store = commissioning::Store::open(databasePath());
    QVERIFY(store);
    auto stored = (*store)->session(id);
    QVERIFY(stored);
    QCOMPARE(stored->findMeter(kClock)->checks.size(), after->checks.size());
    QVERIFY(stored->findMeter(kClock)->find(u"clock-sync"));
    QCOMPARE(stored->info.state, commissioning::SessionState::Finished);

    // The simulated meter's clock is the host's again.
    const qint64 drift = m_clockOff->meter(0).now().msecsTo(QDateTime::currentDateTimeUtc());
    QVERIFY2(qAbs(drift) <= 2000, qPrintable(QString::number(drift)));
}

void tst_CommissioningPage::askedClockSyncRunsOnYes()
{
    m_page->setAskClockSync(true);
    QSignalSpy started(m_page.get(), &CommissioningPage::runStarted);
    QVERIFY(runAndWait({kClock}));
    // The question is open (not exec'd): the test goes on and answers it.
    QMessageBox *question = nullptr;
    QTRY_VERIFY((question = m_page->findChild<QMessageBox *>(u"clockSyncQuestion"_s)) != nullptr);
    QVERIFY(question->isVisible());
    QVERIFY2(question->text().contains(u"clock-off meter (+60"_s), qPrintable(question->text()));
    QVERIFY(question->text().contains(u"more than 10 s"_s));
    QSignalSpy finished(m_page.get(), &CommissioningPage::runFinished);
    question->button(QMessageBox::Yes)->click();
    QCOMPARE(started.size(), 2);
    QVERIFY(finished.wait(kWaitMs));
    QVERIFY(reportOf(m_page->currentSession(), kClock)->find(u"clock-sync"));
    // A sync run does not ask again (the answered box may still await its deferred delete).
    for (QMessageBox *box : m_page->findChildren<QMessageBox *>(u"clockSyncQuestion"_s))
        QVERIFY(!box->isVisible());
}

void tst_CommissioningPage::pollingPausedDuringChecks()
{
    QVERIFY(m_bridge->setPaused(kSilent, true)); // the technician's own pause
    QHash<QString, bool> pausedAtStart;
    QObject scope; // the lambda captures locals: its connection ends with this function
    connect(m_page.get(), &CommissioningPage::runStarted, &scope, [&] {
        for (const QString &id : {kHealthy, kClock, kSilent})
            pausedAtStart.insert(id, m_bridge->meter(id)->paused);
    });
    QSignalSpy finished(m_page.get(), &CommissioningPage::runFinished);
    QString error;
    QVERIFY(m_page->startRun({kHealthy, kClock, kSilent}, &error));
    QCOMPARE(pausedAtStart.value(kHealthy), true);
    QCOMPARE(pausedAtStart.value(kClock), true);
    QCOMPARE(pausedAtStart.value(kSilent), true);
    QVERIFY(finished.wait(kWaitMs));
    QCOMPARE(m_bridge->meter(kHealthy)->paused, false);
    QCOMPARE(m_bridge->meter(kClock)->paused, false);
    QCOMPARE(m_bridge->meter(kSilent)->paused, true);
    // Polling goes on after the checks.
    const quint64 batches = m_bridge->meter(kHealthy)->batches;
    QTRY_VERIFY_WITH_TIMEOUT(m_bridge->meter(kHealthy)->batches > batches, kWaitMs);
}

void tst_CommissioningPage::pollerLetsGoBeforeRunConnects()
{
    // The poller holds an association with the meter (keep-open) when the run is asked for.
    QTRY_VERIFY_WITH_TIMEOUT(m_bridge->meter(kHealthy)->batches > 0, kWaitMs);
    QCOMPARE(m_healthy->connectionCount(), 1);
    QStringList events; // "open <other connections then open>" / "close", in order
    // The lambdas capture locals: their connections end with this function (cleanup() closes
    // the simulator's connections after it has returned).
    QObject scope;
    connect(m_healthy.get(), &sim::Simulator::connectionOpened, &scope,
        [&] { events << u"open %1"_s.arg(m_healthy->connectionCount() - 1); });
    connect(m_healthy.get(), &sim::Simulator::connectionClosed, &scope, [&] { events << u"close"_s; });
    QSignalSpy finished(m_page.get(), &CommissioningPage::runFinished);
    QString error;
    QVERIFY2(m_page->startRun({kHealthy}, &error), qPrintable(error));
    auto *progress = m_page->findChild<QProgressBar *>(u"runProgress"_s);
    QCOMPARE(progress->format(), u"Waiting for polling to pause…"_s);
    QVERIFY(events.isEmpty()); // nothing opened before the bridge reports the meter paused
    QVERIFY(finished.wait(kWaitMs));
    QCOMPARE(finished.last().at(1).toBool(), false);
    QCOMPARE(reportOf(m_page->currentSession(), kHealthy)->overall(), commissioning::CheckStatus::Pass);
    // The poller's connection closed first; the run's connection was then the only one.
    QVERIFY2(events.size() >= 2, qPrintable(events.join(u", "_s)));
    QCOMPARE(events.at(0), u"close"_s);
    QCOMPARE(events.at(1), u"open 0"_s);
}

void tst_CommissioningPage::cancelWhileWaitingForPause()
{
    QTRY_VERIFY_WITH_TIMEOUT(m_bridge->meter(kHealthy)->batches > 0, kWaitMs);
    QSignalSpy opened(m_healthy.get(), &sim::Simulator::connectionOpened);
    QSignalSpy finished(m_page.get(), &CommissioningPage::runFinished);
    QString error;
    QVERIFY(m_page->startRun({kHealthy}, &error));
    const qint64 id = m_page->currentSession().info.id;
    QVERIFY(m_page->isRunning());
    m_page->findChild<QPushButton *>(u"cancelButton"_s)->click();
    QCOMPARE(finished.size(), 1); // at once: nothing had started
    QCOMPARE(finished.at(0).at(0).toLongLong(), id);
    QCOMPARE(finished.at(0).at(1).toBool(), true);
    QVERIFY(!m_page->isRunning());
    QCOMPARE(m_page->currentSession().info.state, commissioning::SessionState::Cancelled);
    QCOMPARE(m_bridge->meter(kHealthy)->paused, false);
    // The run never connects: the only connection opened is the poller's own, once resumed.
    QTRY_VERIFY_WITH_TIMEOUT(m_bridge->meter(kHealthy)->state == polling::MeterState::Associated, kWaitMs);
    QVERIFY(opened.size() <= 1);
    QCOMPARE(m_page->findChild<QTreeView *>(u"resultsTree"_s)->model()->rowCount(), 0);
}

void tst_CommissioningPage::defaultSiteAndTechnician()
{
    qputenv("USER", "field-tech");
    QSettings().remove(u"commissioning/technician"_s);
    auto *site = m_page->findChild<QLineEdit *>(u"siteEdit"_s);
    auto *technician = m_page->findChild<QLineEdit *>(u"technicianEdit"_s);
    site->clear();
    technician->clear();
    QVERIFY(runAndWait({kHealthy}));
    // As `dlmsctl commission`: the configuration's base name and the account's name.
    QCOMPARE(m_page->currentSession().info.site, u"site"_s);
    QCOMPARE(m_page->currentSession().info.technician, u"field-tech"_s);
    QCOMPARE(site->text(), u"site"_s);
    QCOMPARE(technician->text(), u"field-tech"_s);
    const QString line = m_page->findChild<QLabel *>(u"sessionLabel"_s)->text();
    QVERIFY2(
        line.startsWith(u"Session %1 · site · field-tech · started "_s.arg(m_page->currentSession().info.id)),
        qPrintable(line));
    QVERIFY(!QSettings().contains(u"commissioning/technician"_s)); // only a typed name is kept
    auto store = commissioning::Store::open(databasePath());
    QVERIFY(store);
    auto stored = (*store)->session(m_page->currentSession().info.id);
    QVERIFY(stored);
    QCOMPARE(stored->info.site, u"site"_s);
    QCOMPARE(stored->info.technician, u"field-tech"_s);

    // A session stored without them (an older one) leaves them out of its line.
    commissioning::SessionInfo bare;
    bare.startedMs = QDateTime::currentMSecsSinceEpoch();
    auto created = (*store)->createSession(bare);
    QVERIFY(created);
    QVERIFY((*store)->finishSession(*created, commissioning::SessionState::Finished, bare.startedMs + 1));
    QVERIFY(m_page->openSession(*created));
    const QString bareLine = m_page->findChild<QLabel *>(u"sessionLabel"_s)->text();
    QVERIFY2(bareLine.startsWith(u"Session %1 · started "_s.arg(*created)), qPrintable(bareLine));
    QVERIFY(!bareLine.contains(u"—"_s));
}

void tst_CommissioningPage::resultColumnsFit()
{
    QVERIFY(runAndWait({kHealthy, kClock, kSilent}));
    auto *tree = m_page->findChild<QTreeView *>(u"resultsTree"_s);
    for (int row = 0; row < model()->rowCount(); ++row)
        tree->expand(model()->index(row, 0));
    const int viewWidth = tree->viewport()->width();
    // Measured fits what it shows, up to 40 % of the view and never more than Explanation gets;
    // Explanation (last) takes the rest.
    const auto capOf = [tree] {
        const int width = tree->viewport()->width();
        const int left = width - tree->columnWidth(CommissioningModel::Name)
            - tree->columnWidth(CommissioningModel::Status);
        return std::min(int(width * 0.4), left / 2);
    };
    QTRY_VERIFY(tree->columnWidth(CommissioningModel::Measured) != 160);
    const int measured = tree->columnWidth(CommissioningModel::Measured);
    QVERIFY2(measured <= capOf(), qPrintable(u"%1, cap %2"_s.arg(measured).arg(capOf())));
    const QFontMetrics metrics(tree->font());
    const QString endpoint = model()->meterIndex(kHealthy, CommissioningModel::Measured).data().toString();
    QVERIFY(endpoint.endsWith(u"127.0.0.1:%1"_s.arg(m_healthy->port(0))));
    QVERIFY(measured >= std::min(metrics.horizontalAdvance(endpoint), capOf()));
    int used = 0;
    for (int column = 0; column < model()->columnCount(); ++column)
        used += tree->columnWidth(column);
    QVERIFY2(qAbs(used - viewWidth) <= 2, qPrintable(u"%1 of %2"_s.arg(used).arg(viewWidth)));
    QVERIFY(tree->columnWidth(CommissioningModel::Explanation) >= measured - 1);

    // A narrower page narrows the cap.
    m_page->resize(800, 600);
    QTRY_VERIFY(tree->columnWidth(CommissioningModel::Measured) <= capOf());
    QVERIFY(tree->columnWidth(CommissioningModel::Measured) < measured);
}

void tst_CommissioningPage::rerunComparesWithPrevious()
{
    QVERIFY(runAndWait({kHealthy, kClock}));
    const qint64 first = m_page->currentSession().info.id;
    QSignalSpy finished(m_page.get(), &CommissioningPage::runFinished);
    QVERIFY(m_page->syncClocks({kClock}));
    QVERIFY(finished.wait(kWaitMs));

    QString error;
    QVERIFY2(m_page->rerunSession(&error), qPrintable(error));
    QVERIFY(finished.wait(kWaitMs));
    const commissioning::Session &second = m_page->currentSession();
    QVERIFY(second.info.id > first);
    QCOMPARE(second.info.previousId, first);
    QCOMPARE(second.meters.size(), size_t(2));
    QCOMPARE(reportOf(second, kClock)->find(u"clock")->status, commissioning::CheckStatus::Pass);

    const std::vector<commissioning::CheckComparison> changes = m_page->comparison();
    QVERIFY(!changes.empty());
    const auto find
        = [&](const QString &meter, const QString &check) -> const commissioning::CheckComparison * {
        for (const commissioning::CheckComparison &c : changes) {
            if (c.meterId == meter && c.check == check)
                return &c;
        }
        return nullptr;
    };
    QVERIFY(find(kClock, u"clock"_s));
    QCOMPARE(find(kClock, u"clock"_s)->change, commissioning::CheckComparison::Change::Better);
    QVERIFY(find(kClock, u"clock-sync"_s));
    QCOMPARE(find(kClock, u"clock-sync"_s)->change, commissioning::CheckComparison::Change::Removed);

    // The Compare tab shows what changed, and with which session.
    auto *table = m_page->findChild<QTableView *>(u"compareTable"_s);
    QVERIFY(table->model()->rowCount() >= 2);
    for (int r = 0; r < table->model()->rowCount(); ++r) {
        QVERIFY(table->model()->index(r, 0).data(CommissioningComparisonModel::ChangeRole).toInt()
            != int(commissioning::CheckComparison::Change::Same));
    }
    const QString label = m_page->findChild<QLabel *>(u"compareLabel"_s)->text();
    QVERIFY2(label.startsWith(u"Compared with session %1, "_s.arg(first)), qPrintable(label));
    QCOMPARE(m_page->findChild<QTableView *>(u"sessionsTable"_s)->model()->rowCount(), 2);
}

void tst_CommissioningPage::exportCsvRowsPerCheck()
{
    QVERIFY(runAndWait({kHealthy, kClock}));
    const QString path = m_dir->filePath(u"session.csv"_s);
    QString error;
    QVERIFY2(m_page->exportCsv(path, &error), qPrintable(error));
    QFile file(path);
    QVERIFY(file.open(QIODevice::ReadOnly));
    const QStringList lines = QString::fromUtf8(file.readAll()).split(u"\r\n"_s, Qt::SkipEmptyParts);
    size_t checks = 0;
    for (const commissioning::MeterReport &meter : m_page->currentSession().meters)
        checks += meter.checks.size();
    QCOMPARE(size_t(lines.size()), checks + 1);
    QCOMPARE(lines.first().toUtf8(), commissioning::commissioningCsvHeader());
    QVERIFY(lines.at(1).startsWith(QString::number(m_page->currentSession().info.id) + u','));

    QVERIFY(!m_page->exportCsv(m_dir->filePath(u"missing/dir/x.csv"_s), &error));
    QVERIFY(!error.isEmpty());
    QVERIFY(!QFile::exists(m_dir->filePath(u"missing/dir/x.csv"_s)));
}

void tst_CommissioningPage::exportPdf()
{
    QVERIFY(runAndWait({kHealthy, kClock}));
    const QString path = m_dir->filePath(u"report.pdf"_s);
    QSignalSpy finished(m_page.get(), &CommissioningPage::exportFinished);
    QSignalSpy progress(m_page.get(), &CommissioningPage::exportProgress);
    QVERIFY(m_page->exportPdf(path));
    QVERIFY(m_page->isExporting());
    QVERIFY(!m_page->exportPdf(m_dir->filePath(u"second.pdf"_s))); // one at a time
    QVERIFY(m_page->findChild<QProgressBar *>(u"exportProgress"_s)->isVisible());
    QVERIFY(finished.wait(kWaitMs));
    QCOMPARE(finished.at(0).at(0).toString(), path);
    QVERIFY2(finished.at(0).at(1).toBool(), qPrintable(finished.at(0).at(2).toString()));
    QVERIFY(!m_page->isExporting());
    QVERIFY(progress.size() > 0);
    QFile file(path);
    QVERIFY(file.open(QIODevice::ReadOnly));
    QVERIFY(file.read(4) == "%PDF");
    QVERIFY(!QFile::exists(m_dir->filePath(u"second.pdf"_s)));
    QVERIFY(!m_page->findChild<QProgressBar *>(u"exportProgress"_s)->isVisible());
}

void tst_CommissioningPage::exportPdfToUnwritablePathFails()
{
    QVERIFY(runAndWait({kHealthy}));
    const QString path = m_dir->filePath(u"missing/dir/report.pdf"_s);
    QSignalSpy finished(m_page.get(), &CommissioningPage::exportFinished);
    QVERIFY(m_page->exportPdf(path));
    QVERIFY(finished.wait(kWaitMs));
    QCOMPARE(finished.at(0).at(1).toBool(), false);
    QVERIFY(!finished.at(0).at(2).toString().isEmpty());
    QVERIFY(!QFile::exists(path));
    // The error box is not modal for the test: close what the page opened.
    for (QMessageBox *box : m_page->findChildren<QMessageBox *>())
        box->close();
}

void tst_CommissioningPage::openOldSession()
{
    QVERIFY(runAndWait({kHealthy, kClock}));
    const qint64 first = m_page->currentSession().info.id;
    QVERIFY(runAndWait({kHealthy}));
    QCOMPARE(model()->rowCount(), 1);

    QSignalSpy opened(m_page.get(), &CommissioningPage::sessionOpened);
    QString error;
    QVERIFY2(m_page->openSession(first, &error), qPrintable(error));
    QCOMPARE(opened.size(), 1);
    QCOMPARE(opened.at(0).at(0).toLongLong(), first);
    QCOMPARE(m_page->currentSession().info.id, first);
    QCOMPARE(model()->rowCount(), 2);
    QVERIFY(m_page->findChild<QTreeView *>(u"resultsTree"_s)->isExpanded(model()->meterIndex(kClock)));

    // Through the Sessions tab: select the newest, Open.
    auto *table = m_page->findChild<QTableView *>(u"sessionsTable"_s);
    QCOMPARE(table->model()->rowCount(), 2);
    table->selectRow(0);
    const qint64 newest
        = table->model()->index(0, 0).data(CommissioningSessionModel::SessionIdRole).toLongLong();
    QVERIFY(newest != first);
    m_page->findChild<QPushButton *>(u"openSessionButton"_s)->click();
    QCOMPARE(m_page->currentSession().info.id, newest);
    QCOMPARE(model()->rowCount(), 1);
}

void tst_CommissioningPage::cancelMidRun()
{
    QSignalSpy finished(m_page.get(), &CommissioningPage::runFinished);
    QString error;
    QVERIFY(m_page->startRun({kSilent, kHealthy, kClock}, &error));
    const qint64 id = m_page->currentSession().info.id;
    QTRY_VERIFY_WITH_TIMEOUT(model()->rowCount() >= 1, kWaitMs);
    QVERIFY(m_page->isRunning());
    m_page->findChild<QPushButton *>(u"cancelButton"_s)->click();
    QTRY_COMPARE_WITH_TIMEOUT(finished.size(), 1, kWaitMs);
    QCOMPARE(finished.at(0).at(0).toLongLong(), id);
    QCOMPARE(finished.at(0).at(1).toBool(), true);
    QCOMPARE(m_page->currentSession().info.state, commissioning::SessionState::Cancelled);
    QVERIFY(m_page->findChild<QLabel *>(u"summaryLabel"_s)->text().startsWith(u"Cancelled."_s));
    auto store = commissioning::Store::open(databasePath());
    QVERIFY(store);
    auto stored = (*store)->session(id);
    QVERIFY(stored);
    QCOMPARE(stored->info.state, commissioning::SessionState::Cancelled);
    for (const QString &meter : {kHealthy, kClock, kSilent})
        QCOMPARE(m_bridge->meter(meter)->paused, false);
}

void tst_CommissioningPage::retranslates()
{
    QVERIFY(runAndWait({kHealthy}));
    auto *run = m_page->findChild<QPushButton *>(u"runButton"_s);
    auto *tabs = m_page->findChild<QTabWidget *>(u"tabs"_s);
    QCOMPARE(run->text(), u"&Run"_s);
    QCOMPARE(tabs->tabText(1), u"Sessions"_s);
    QCOMPARE(
        model()->headerData(CommissioningModel::Explanation, Qt::Horizontal).toString(), u"Explanation"_s);
    QSignalSpy headers(model(), &QAbstractItemModel::headerDataChanged);
    TableTranslator spanish(
        {{"CommissioningPage", "&Run", u"&Ejecutar"_s}, {"CommissioningPage", "Sessions", u"Sesiones"_s},
            {"CommissioningModel", "Explanation", u"Explicación"_s}});
    QCoreApplication::installTranslator(&spanish);
    QTRY_COMPARE(run->text(), u"&Ejecutar"_s);
    QCOMPARE(tabs->tabText(1), u"Sesiones"_s);
    QVERIFY(headers.size() >= 1);
    QCOMPARE(
        model()->headerData(CommissioningModel::Explanation, Qt::Horizontal).toString(), u"Explicación"_s);
    QCoreApplication::removeTranslator(&spanish);
    QTRY_COMPARE(run->text(), u"&Run"_s);
}

QTEST_MAIN(tst_CommissioningPage)
#include "tst_commissioningpage.moc"
