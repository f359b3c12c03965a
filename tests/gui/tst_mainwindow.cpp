// The main window over a real bridge on the demo site (simulated meters in-process, a real
// mosquitto): navigation, the status bar, pages fed by the bridge, exports, configuration
// files, settings, closing.

#include <bridge.h>
#include <commissioningpage.h>
#include <demosite.h>
#include <mainwindow.h>
#include <meterspage.h>
#include <monitoringpage.h>
#include <readingsmodel.h>
#include <readingspage.h>
#include <settingspage.h>
#include <tracemodel.h>
#include <tracepage.h>

#include <QtCore/QFile>
#include <QtCore/QJsonArray>
#include <QtCore/QJsonDocument>
#include <QtCore/QSettings>
#include <QtCore/QStandardPaths>
#include <QtCore/QTemporaryDir>
#include <QtGui/QImage>
#include <QtTest/QSignalSpy>
#include <QtTest/QTest>
#include <QtWidgets/QLabel>
#include <QtWidgets/QListWidget>
#include <QtWidgets/QStackedWidget>

#include <sys/stat.h>

#include <memory>

using namespace Qt::StringLiterals;

namespace {

constexpr int kWaitMs = 15'000;

// One demo site, bridge and window per test.
struct Rig {
    QTemporaryDir dir;
    std::unique_ptr<DemoSite> demo;
    std::unique_ptr<app::Bridge> bridge;
    std::unique_ptr<MainWindow> window;

    explicit Rig(const QString &mosquitto = {})
    {
        DemoSite::Options options;
        options.meters = 3;
        options.pollIntervalMs = 500;
        options.databasePath = dir.filePath(u"demo.db"_s);
        options.mosquittoPath = mosquitto;
        demo = std::make_unique<DemoSite>(options);
        app::Bridge::Options bridgeOptions;
        bridgeOptions.serveHttp = false;
        bridge = std::make_unique<app::Bridge>(bridgeOptions);
    }
    bool start(int rollupSeconds = 60)
    {
        if (!demo->start())
            return false;
        app::BridgeConfig config = demo->config();
        config.monitor.rollupSeconds = rollupSeconds;
        if (!bridge->start(config))
            return false;
        window = std::make_unique<MainWindow>(bridge.get(), dir.filePath(u"site.json"_s));
        window->show();
        return true;
    }
    ~Rig()
    {
        window.reset();
        if (bridge->state() != app::BridgeState::Stopped)
            bridge->stopAndWait();
    }
};

QStringList linesOf(const QString &path)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return {};
    return QString::fromUtf8(file.readAll()).split(u"\r\n"_s, Qt::SkipEmptyParts);
}

} // namespace

class TestMainWindow : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase()
    {
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName(u"dlmsbridge-test"_s);
        QCoreApplication::setApplicationName(u"tst_mainwindow"_s);
        QSettings().clear();
        // The demo's secured meter keeps its invocation counters here.
        QVERIFY(m_counters.isValid());
        qputenv("DLMSBRIDGE_COUNTER_DIR", QFile::encodeName(m_counters.path()));
    }

    void navigationShowsEachPage()
    {
        Rig rig;
        QVERIFY(rig.start());
        auto *navigation = rig.window->findChild<QListWidget *>(u"navigation"_s);
        auto *pages = rig.window->findChild<QStackedWidget *>(u"pages"_s);
        QVERIFY(navigation && pages);
        QCOMPARE(navigation->count(), int(MainWindow::PageCount));
        QCOMPARE(pages->count(), int(MainWindow::PageCount));
        const QList<QWidget *> expected {static_cast<QWidget *>(rig.window->metersPage()),
            static_cast<QWidget *>(rig.window->monitoringPage()),
            static_cast<QWidget *>(rig.window->readingsPage()),
            static_cast<QWidget *>(rig.window->tracePage()),
            static_cast<QWidget *>(rig.window->commissioningPage()),
            static_cast<QWidget *>(rig.window->settingsPage())};
        for (int i = 0; i < navigation->count(); ++i) {
            QVERIFY(!navigation->item(i)->icon().isNull());
            navigation->setCurrentRow(i);
            QCOMPARE(pages->currentWidget(), expected.at(i));
            QCOMPARE(int(rig.window->page()), i);
        }
        // The Commissioning page is the real one, fed with the site's meters.
        QCOMPARE(rig.window->findChild<QWidget *>(u"commissioningPage"_s),
            static_cast<QWidget *>(rig.window->commissioningPage()));
        auto *commissioningMeters = rig.window->commissioningPage()->findChild<QListWidget *>(u"meterList"_s);
        QVERIFY(commissioningMeters);
        QCOMPARE(commissioningMeters->count(), 3);
        rig.window->setPage(MainWindow::Readings);
        QCOMPARE(navigation->currentRow(), int(MainWindow::Readings));
        QCOMPARE(pages->currentWidget(), rig.window->readingsPage());
    }

    void statusBarFollowsTheBridge()
    {
        Rig rig;
        QVERIFY(rig.start());
        QTRY_COMPARE_WITH_TIMEOUT(rig.window->statusTexts().at(0), u"MQTT: connected"_s, kWaitMs);
        QTRY_VERIFY_WITH_TIMEOUT(rig.window->statusTexts().at(2).contains(u"demo.db \u2014 ok"_s), kWaitMs);
        // Three meters every 0.5 s: some polls per second once the first second is measured.
        QTRY_VERIFY_WITH_TIMEOUT(rig.window->statusTexts().at(3).endsWith(u" polls/s"_s)
                && !rig.window->statusTexts().at(3).startsWith(u"0.0"_s),
            kWaitMs);
        QVERIFY(rig.window->statusTexts().at(1).startsWith(u"Outbox: "_s));
        QVERIFY(rig.window->statusTexts().at(4).startsWith(u"Errors: "_s));

        QVERIFY(rig.bridge->stopAndWait());
        QTRY_COMPARE_WITH_TIMEOUT(rig.window->statusTexts().at(3), u"Polling stopped"_s, kWaitMs);
        QCOMPARE(rig.window->statusTexts().at(0), u"MQTT: stopped"_s);
    }

    void brokerMissingShowsUnreachable()
    {
        Rig rig(u"-"_s);
        QVERIFY(rig.start());
        QTRY_VERIFY_WITH_TIMEOUT(rig.window->statusTexts().at(0) == u"MQTT: unreachable"_s
                || rig.window->statusTexts().at(0) == u"MQTT: connecting"_s,
            kWaitMs);
        // The outbox grows visibly in the status bar.
        QTRY_VERIFY_WITH_TIMEOUT(!rig.window->statusTexts().at(1).startsWith(u"Outbox: 0 "_s), kWaitMs);
    }

    void readingsAndTraceReachThePages()
    {
        Rig rig;
        QVERIFY(rig.start());
        QTRY_VERIFY_WITH_TIMEOUT(rig.window->readingsPage()->model()->rowCount() >= 9, kWaitMs);
        QCOMPARE(rig.window->tracePage()->model()->rowCount(), 0);
        rig.window->tracePage()->setCapturing(true);
        QTRY_VERIFY_WITH_TIMEOUT(rig.window->tracePage()->model()->rowCount() >= 4, kWaitMs);
        // Every meter was asked to trace: lines from more than one meter arrive.
        QSet<QString> meters;
        QTRY_VERIFY_WITH_TIMEOUT(
            [&] {
                TraceModel *model = rig.window->tracePage()->model();
                for (int row = 0; row < model->rowCount(); ++row)
                    meters.insert(model->entry(row).meterId);
                return meters.size() >= 2;
            }(),
            kWaitMs);
        rig.window->tracePage()->setCapturing(false);
    }

    void traceDecipheredWithTheMetersKeys()
    {
        Rig rig(u"-"_s);
        QVERIFY(rig.start());
        TracePage *trace = rig.window->tracePage();
        trace->setCapturing(true);
        // The window handed the secured meter's keys to the trace: its GET responses arrive
        // deciphered and marked; the other meters' lines are never marked.
        const QString secured = DemoSite::securedMeterId();
        const auto decryptedResponse = [&] {
            trace->visibleRowCount(); // flushes
            const TraceModel *model = trace->model();
            for (int row = 0; row < model->rowCount(); ++row) {
                const TraceEntry &e = model->entry(row);
                if (e.decrypted && e.meterId == secured && e.direction == dlms::Direction::Received
                    && e.summary.contains(u"GET-Response"_s))
                    return true;
            }
            return false;
        };
        QTRY_VERIFY_WITH_TIMEOUT(decryptedResponse(), kWaitMs);
        const TraceModel *model = trace->model();
        for (int row = 0; row < model->rowCount(); ++row) {
            const TraceEntry &e = model->entry(row);
            QVERIFY2(!e.decrypted || e.meterId == secured, qPrintable(e.meterId));
            QVERIFY2(!e.isError || e.meterId != secured, qPrintable(e.summary));
        }
        trace->setCapturing(false);
    }

    void exports()
    {
        Rig rig;
        QVERIFY(rig.start(1)); // one-second rollups: network_metrics rows at once
        QTRY_VERIFY_WITH_TIMEOUT(rig.bridge->health().storage.readingsWritten >= 18, kWaitMs);
        QTRY_VERIFY_WITH_TIMEOUT(rig.bridge->health().storage.metricsRowsWritten >= 4, kWaitMs);

        QSignalSpy finished(rig.window.get(), &MainWindow::exportFinished);
        const QString readings = rig.dir.filePath(u"readings.csv"_s);
        QVERIFY(rig.window->exportReadingsCsv(readings));
        QVERIFY(rig.window->isExporting());
        QVERIFY(!rig.window->exportNetworkCsv(rig.dir.filePath(u"other.csv"_s))); // one at a time
        QVERIFY(finished.wait(kWaitMs));
        QCOMPARE(finished.last().at(0).toString(), readings);
        QVERIFY2(finished.last().at(1).toBool(), qPrintable(finished.last().at(3).toString()));
        QStringList lines = linesOf(readings);
        QCOMPARE(finished.last().at(2).toLongLong(), qint64(lines.size() - 1));
        QVERIFY(lines.size() >= 19);
        QVERIFY(lines.at(0).contains(u"meter_id"_s));
        QVERIFY(lines.at(1).contains(u"demo-"_s));
        QVERIFY(!rig.window->isExporting());

        const QString network = rig.dir.filePath(u"network.csv"_s);
        QVERIFY(rig.window->exportNetworkCsv(network));
        QVERIFY(finished.wait(kWaitMs));
        QVERIFY2(finished.last().at(1).toBool(), qPrintable(finished.last().at(3).toString()));
        lines = linesOf(network);
        QVERIFY(lines.size() >= 5);
        QVERIFY(lines.at(0).contains(u"dlms_bytes_sent"_s));

        QString error;
        const QString chart = rig.dir.filePath(u"chart.png"_s);
        QVERIFY2(rig.window->exportChartPng(chart, &error), qPrintable(error));
        const QImage image(chart);
        QVERIFY(!image.isNull());
        QVERIFY(image.width() > 100 && image.height() > 100);

        // An unwritable target is an error, names the file, and leaves nothing behind.
        const QString nowhere = rig.dir.filePath(u"missing/dir/readings.csv"_s);
        QVERIFY(rig.window->exportReadingsCsv(nowhere));
        QVERIFY(finished.wait(kWaitMs));
        QVERIFY(!finished.last().at(1).toBool());
        QVERIFY2(finished.last().at(3).toString().contains(u"readings.csv"_s),
            qPrintable(finished.last().at(3).toString()));
        QVERIFY(!QFile::exists(nowhere));
        QVERIFY(!rig.window->exportChartPng(nowhere, &error));
    }

    void closingWhileExportingIsSafe()
    {
        Rig rig;
        QVERIFY(rig.start());
        QTRY_VERIFY_WITH_TIMEOUT(rig.bridge->health().storage.readingsWritten >= 9, kWaitMs);
        QVERIFY(rig.window->exportReadingsCsv(rig.dir.filePath(u"readings.csv"_s)));
        rig.window.reset(); // the destructor joins the export; its report is dropped
        QVERIFY(QFile::exists(rig.dir.filePath(u"readings.csv"_s)));
    }

    void saveAndOpenConfiguration()
    {
        Rig rig;
        QVERIFY(rig.start());
        const QString path = rig.dir.filePath(u"saved.json"_s);
        QString error;
        QVERIFY2(rig.window->saveConfiguration(path, &error), qPrintable(error));
        QCOMPARE(rig.window->configPath(), path);
        struct stat info { };
        QCOMPARE(::stat(QFile::encodeName(path).constData(), &info), 0);
        QCOMPARE(info.st_mode & 0777, mode_t(0600));
        auto loaded = app::loadBridgeConfig(path);
        QVERIFY(loaded);
        QCOMPARE(loaded->site.meters.size(), size_t(3));

        // The same file without its last meter: opening it restarts the bridge on it.
        QFile file(path);
        QVERIFY(file.open(QIODevice::ReadOnly));
        QJsonObject root = QJsonDocument::fromJson(file.readAll()).object();
        file.close();
        QJsonArray meters = root.value(u"meters"_s).toArray();
        meters.removeLast();
        root[u"meters"_s] = meters;
        const QString smaller = rig.dir.filePath(u"smaller.json"_s);
        QFile out(smaller);
        QVERIFY(out.open(QIODevice::WriteOnly));
        out.write(QJsonDocument(root).toJson());
        out.close();
        QSignalSpy opened(rig.window.get(), &MainWindow::configurationOpened);
        QVERIFY2(rig.window->openConfiguration(smaller, &error), qPrintable(error));
        QVERIFY(opened.wait(kWaitMs));
        QVERIFY(opened.last().at(1).toBool());
        QCOMPARE(rig.window->configPath(), smaller);
        QCOMPARE(rig.bridge->state(), app::BridgeState::Running);
        QCOMPARE(rig.bridge->config().site.meters.size(), size_t(2));

        // A file that parses but cannot start (its database cannot be created) brings the
        // previous site back, and Save keeps writing the previous file.
        root[u"storage"_s] = QJsonObject {{u"path"_s, u"/proc/dlmsbridge-cannot/x.db"_s}};
        const QString unstartable = rig.dir.filePath(u"unstartable.json"_s);
        QFile third(unstartable);
        QVERIFY(third.open(QIODevice::WriteOnly));
        third.write(QJsonDocument(root).toJson());
        third.close();
        QVERIFY2(rig.window->openConfiguration(unstartable, &error), qPrintable(error));
        QVERIFY(opened.wait(kWaitMs));
        QVERIFY(!opened.last().at(1).toBool());
        QVERIFY(opened.last().at(2).toString().contains(u"unstartable.json"_s));
        QCOMPARE(rig.window->configPath(), smaller);
        QCOMPARE(rig.bridge->state(), app::BridgeState::Running);
        QCOMPARE(rig.bridge->config().site.meters.size(), size_t(2));
        QCOMPARE(rig.bridge->config().storage.path, rig.dir.filePath(u"demo.db"_s));

        // A broken file changes nothing and says where it is broken.
        const QString broken = rig.dir.filePath(u"broken.json"_s);
        QFile bad(broken);
        QVERIFY(bad.open(QIODevice::WriteOnly));
        bad.write("{\"meters\": [ {\"id\": \"x\", \"port\": 70000} ]}");
        bad.close();
        QVERIFY(!rig.window->openConfiguration(broken, &error));
        QVERIFY2(error.contains(u"broken.json"_s) && error.contains(u"port"_s), qPrintable(error));
        QCOMPARE(rig.window->configPath(), smaller);
        QCOMPARE(rig.bridge->state(), app::BridgeState::Running);
        QCOMPARE(rig.bridge->config().site.meters.size(), size_t(2));
    }

    void settingsApplyReportsBack()
    {
        Rig rig;
        QVERIFY(rig.start());
        Q_EMIT rig.window->settingsPage()->applyRequested();
        auto *result = rig.window->settingsPage()->findChild<QLabel *>(u"applyResult"_s);
        QVERIFY(result);
        QVERIFY2(result->text().contains(u"nothing changed"_s), qPrintable(result->text()));
        // Applying saved the file the window was opened with.
        QVERIFY(QFile::exists(rig.window->configPath()));
        QVERIFY(app::loadBridgeConfig(rig.window->configPath()));
    }

    void closingStopsTheBridgeAndRemembersThePage()
    {
        {
            Rig rig;
            QVERIFY(rig.start());
            rig.window->setPage(MainWindow::Trace);
            QTRY_VERIFY_WITH_TIMEOUT(rig.bridge->health().metersAssociated >= 1, kWaitMs);
            QSignalSpy stopped(rig.bridge.get(), &app::Bridge::stopped);
            QVERIFY(!rig.window->close()); // not yet: the bridge stops first
            QCOMPARE(rig.bridge->state(), app::BridgeState::Stopping);
            QVERIFY(stopped.wait(kWaitMs));
            QTRY_VERIFY_WITH_TIMEOUT(!rig.window->isVisible(), kWaitMs);
            QVERIFY(rig.bridge->lastStopComplete());
        }
        Rig again;
        QVERIFY(again.start());
        QCOMPARE(again.window->page(), MainWindow::Trace);
    }

private:
    QTemporaryDir m_counters;
};

QTEST_MAIN(TestMainWindow)
#include "tst_mainwindow.moc"
