#pragma once

#include <commissioning.h>

#include <QtCore/QPointer>
#include <QtCore/QStringList>
#include <QtWidgets/QWidget>

#include <memory>

namespace app {
class Bridge;
class CommissioningRun;
} // namespace app

// The Commissioning page: the technician picks meters (all by default), fills site,
// technician and notes, and runs the checks (app::CommissioningRun) on the bridge's meter
// configuration. Results appear live in a tree (meter → checks: status icon and word,
// measured, explanation), with a progress bar "n of m meters". Every meter's report is stored
// in the bridge's database as it finishes (commissioning::Store, opened on the GUI thread).
// Past sessions are listed (date, site, technician, counts); one can be reopened, re-run (a
// new session with the same meters, site, technician, notes; previousId = the old one) and
// compared with its previous run (a table of what changed: better, worse, changed, added,
// removed). Exports: CSV (synchronous: small) and PDF (report::writeCommissioningPdf on a
// worker thread, with progress and Cancel).
//
// While a meter is checked its polling is paused (unless the technician had paused it
// already) and resumed when its checks end: meters that take one association at a time
// would otherwise refuse one of the two. The run starts once the bridge reports every meter
// it paused as Paused (the poller lets its association go on its own thread), or after what
// their release may take (twice the longest request timeout), whichever comes first.
//
// An empty Site becomes the configuration file's base name and an empty Technician the
// account's name ($USER), as `dlmsctl commission` does; the fields show what was used.
//
// After a run, meters whose clock drift is above the warning threshold and that were not
// synced are offered a clock sync (a question; Yes runs a clock-only run with syncClock on
// those meters and rewrites their clock checks in the same session).
class CommissioningPage final : public QWidget {
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(CommissioningPage)

public:
    explicit CommissioningPage(app::Bridge *bridge, QWidget *parent = nullptr);
    ~CommissioningPage() override; // cancels a run and joins the export thread

    // Where sessions are stored (the bridge's storage.path) and the configuration file (saved
    // with each session). Reopening the database lists its sessions.
    void setDatabasePath(const QString &path);
    void setConfigPath(const QString &path);
    // The meter list follows the bridge's configuration (call after meters change).
    void refreshMeters();

    // Starts a run on these meters (empty = those checked in the list); false with the reason
    // in *error when one is running, no meter is selected, or the session cannot be stored.
    bool startRun(const QStringList &meterIds = {}, QString *error = nullptr);
    void cancelRun();
    bool isRunning() const;

    // Loads a stored session into the results view. False with the reason when it cannot.
    bool openSession(qint64 sessionId, QString *error = nullptr);
    // A new run of the open session's meters (those still configured), site, technician and
    // notes; false as startRun().
    bool rerunSession(QString *error = nullptr);
    // The session shown (the running one, or the one opened); info.id 0 when none.
    const commissioning::Session &currentSession() const;
    // The comparison of the open session with its previous run (Store::previousSessionOf);
    // empty when there is none. Also shown in the Compare tab.
    std::vector<commissioning::CheckComparison> comparison() const;

    // Meters of the shown session whose clock check warned or failed on drift and that have
    // no clock-sync check yet.
    QStringList metersNeedingClockSync() const;
    // Sync the clocks of these meters (a clock-only run with syncClock); false as startRun().
    bool syncClocks(const QStringList &meterIds, QString *error = nullptr);
    // Ask after each run whether to sync the clocks that are off (on by default; tests turn it
    // off and call syncClocks()).
    void setAskClockSync(bool ask);

    // CSV of the shown session: synchronous, through QSaveFile. False with the reason.
    bool exportCsv(const QString &path, QString *error = nullptr);
    // PDF of the shown session (with its comparison) on a worker thread: false when an export
    // is running or there is no session; exportFinished() follows.
    bool exportPdf(const QString &path);
    bool isExporting() const;

Q_SIGNALS:
    void runStarted(qint64 sessionId);
    void runFinished(qint64 sessionId, bool cancelled);
    void sessionOpened(qint64 sessionId);
    void exportProgress(int done, int total);
    void exportFinished(const QString &path, bool ok, const QString &message);

protected:
    void changeEvent(QEvent *event) override;

private:
    QStringList checkedMeterIds() const;
    bool beginRun(
        const QStringList &meterIds, commissioning::SessionInfo info, bool clockOnly, QString *error);
    void onMeterStarted(const QString &meterId);
    void onCheckFinished(const QString &meterId, const commissioning::CheckResult &result);
    void onMeterFinished(const commissioning::MeterReport &report);
    void onRunFinished(bool cancelled);
    void noteSyncProblem(const commissioning::MeterReport &report); // after a clock-only run
    void onExportProgress(int done, int total);
    void onExportFinished(const QString &path, bool ok, const QString &message);
    void openSelectedSession();
    void loadComparison(); // the previous run of the shown session, and what changed
    void askClockSync(); // the non-blocking question, for metersNeedingClockSync()
    bool openStore();
    void reloadSessions();
    void setStoreError(const QString &message); // empty = no error
    // Pauses the meters and returns those whose Paused state is still to come.
    QStringList pausePolling(const QStringList &meterIds);
    void notePaused(const QString &meterId); // the bridge reported it Paused
    void startPausedRun(); // every meter paused, or the wait's bound passed
    void fitMeasuredColumn(); // to its contents, capped so Explanation keeps room
    void resumePolling(const QStringList &meterIds); // only those this page paused
    void updateProgress();
    void updateSummary();
    void updateSessionLabel();
    void updateCompareLabel();
    void updateExportLabel();
    void updateActions();
    QString suggestedFileName(const QString &suffix) const;
    void showError(const QString &title, const QString &message);
    void retranslate();

    struct Private;
    std::unique_ptr<Private> d;
};
