// A screenshot of every page, on a real X server (Xvfb, started by ctest through xvfb-run),
// over the demo site with its data moving: written to build/<preset>/screenshots for review
// and for the AppStream metadata. Each image is checked to be a real rendering.

#include <bridge.h>
#include <commissioningpage.h>
#include <demosite.h>
#include <language.h>
#include <mainwindow.h>
#include <monitoringpage.h>
#include <readingsmodel.h>
#include <readingspage.h>
#include <tracemodel.h>
#include <tracepage.h>
#include <trafficchart.h>

#include <QtCore/QDir>
#include <QtCore/QSet>
#include <QtCore/QStandardPaths>
#include <QtCore/QTemporaryDir>
#include <QtGui/QImage>
#include <QtGui/QPixmap>
#include <QtTest/QSignalSpy>
#include <QtTest/QTest>

using namespace Qt::StringLiterals;

namespace {

constexpr int kWaitMs = 20'000;

int distinctColours(const QImage &image)
{
    QSet<QRgb> colours;
    for (int y = 0; y < image.height(); y += 3) {
        for (int x = 0; x < image.width(); x += 3)
            colours.insert(image.pixel(x, y));
    }
    return int(colours.size());
}

} // namespace

class TestScreenshots : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase()
    {
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName(u"dlmsbridge-test"_s);
        QCoreApplication::setApplicationName(u"tst_screenshots"_s);
        // The demo's secured meter keeps its invocation counters here.
        QVERIFY(m_counters.isValid());
        qputenv("DLMSBRIDGE_COUNTER_DIR", QFile::encodeName(m_counters.path()));
        QVERIFY(QDir().mkpath(QStringLiteral(DLMSBRIDGE_SCREENSHOT_DIR)));
    }

    void everyPage()
    {
        QTemporaryDir dir;
        DemoSite::Options options;
        options.meters = 6;
        options.pollIntervalMs = 1000;
        options.databasePath = dir.filePath(u"demo.db"_s);
        options.flakyHealthyMs = 4000; // the flaky meter is backing off by the time of the shots
        DemoSite demo(options);
        QVERIFY(demo.start());
        app::Bridge::Options bridgeOptions;
        bridgeOptions.serveHttp = false;
        app::Bridge bridge(bridgeOptions);
        QVERIFY(bridge.start(demo.config()));
        MainWindow window(&bridge, dir.filePath(u"site.json"_s));
        window.resize(1440, 900);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));

        // Data moving everywhere: charts with some seconds of history, readings of every meter,
        // a trace of one meter, the broker connected.
        auto *chart = window.monitoringPage()->findChild<TrafficChart *>();
        QVERIFY(chart);
        window.setPage(MainWindow::Monitoring);
        QTRY_VERIFY_WITH_TIMEOUT(chart->updateCount() >= 12, kWaitMs);
        QTRY_VERIFY_WITH_TIMEOUT(window.readingsPage()->model()->rowCount() >= 9 * 5, kWaitMs);
        QTRY_COMPARE_WITH_TIMEOUT(bridge.health().mqtt.state, mqtt::PublisherState::Publishing, kWaitMs);
        window.tracePage()->setCapturing(true);
        QTRY_VERIFY_WITH_TIMEOUT(window.tracePage()->model()->rowCount() >= 20, kWaitMs);
        QSignalSpy historyLoaded(window.readingsPage(), &ReadingsPage::historyLoaded);
        window.readingsPage()->showHistory(u"demo-1"_s, u"voltage_l1"_s);
        QVERIFY(historyLoaded.wait(kWaitMs));
        QVERIFY(historyLoaded.last().at(0).toInt() > 0);

        // A commissioning session over the whole site, so its page shows results (the clock of
        // demo-4 is off: no question, the screenshot shows the failure).
        CommissioningPage *commissioning = window.commissioningPage();
        commissioning->setAskClockSync(false);
        QSignalSpy commissioned(commissioning, &CommissioningPage::runFinished);
        QString commissioningError;
        QVERIFY2(commissioning->startRun({}, &commissioningError), qPrintable(commissioningError));
        QVERIFY(commissioned.wait(kWaitMs));
        QCOMPARE(commissioning->currentSession().meters.size(), size_t(6));
        const commissioning::MeterReport *clockOff = commissioning->currentSession().findMeter(u"demo-4");
        QVERIFY(clockOff && clockOff->find(u"clock"));
        QCOMPARE(clockOff->find(u"clock")->status, commissioning::CheckStatus::Fail);
        QCOMPARE(commissioning->metersNeedingClockSync(), QStringList {u"demo-4"_s});

        const QList<std::pair<MainWindow::Page, QString>> pages {{MainWindow::Meters, u"meters"_s},
            {MainWindow::Monitoring, u"monitoring"_s}, {MainWindow::Readings, u"readings"_s},
            {MainWindow::Trace, u"trace"_s}, {MainWindow::Commissioning, u"commissioning"_s},
            {MainWindow::Settings, u"settings"_s}};
        for (const QString &code : {u"en"_s, u"es"_s}) {
            language::install(code);
            QCoreApplication::sendPostedEvents(nullptr, QEvent::LanguageChange);
            for (const auto &[page, name] : pages) {
                window.setPage(page);
                QCoreApplication::processEvents();
                const QImage image = window.grab().toImage();
                QCOMPARE(image.size(), window.size() * window.devicePixelRatio());
                // A blank or single-colour window would be a failed rendering.
                QVERIFY2(distinctColours(image) >= 40,
                    qPrintable(name + u": "_s + QString::number(distinctColours(image))));
                const QString file
                    = QStringLiteral(DLMSBRIDGE_SCREENSHOT_DIR) + u"/%1-%2.png"_s.arg(name, code);
                QVERIFY2(image.save(file), qPrintable(file));
            }
        }
        language::install(u"en"_s);
        window.tracePage()->setCapturing(false);
        QVERIFY(bridge.stopAndWait());
    }

private:
    QTemporaryDir m_counters;
};

QTEST_MAIN(TestScreenshots)
#include "tst_screenshots.moc"
