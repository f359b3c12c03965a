// dlmsbridge: the desktop application. The same engine as `dlmsctl run` (app::Bridge), with
// the meters, monitoring, readings, trace and settings pages around it.

#include "demosite.h"
#include "language.h"
#include "mainwindow.h"

#include <bridge.h>
#include <bridgeconfig.h>
#include <processlimits.h>

#include <QtCore/QCommandLineParser>
#include <QtCore/QFileInfo>
#include <QtCore/QTimer>
#include <QtWidgets/QApplication>
#include <QtWidgets/QMessageBox>

#include <cstdio>
#include <optional>

using namespace Qt::StringLiterals;

int main(int argc, char *argv[])
{
    QApplication application(argc, argv);
    QCoreApplication::setOrganizationName(u"dlmsbridge"_s);
    QCoreApplication::setApplicationName(u"dlmsbridge"_s);
    QCoreApplication::setApplicationVersion(QStringLiteral(DLMSBRIDGE_VERSION));
    QGuiApplication::setApplicationDisplayName(u"DLMS Bridge"_s);
    QGuiApplication::setDesktopFileName(u"io.github.dlmsbridge.DlmsBridge"_s);
    QGuiApplication::setWindowIcon(QIcon(u":/dlmsbridge.svg"_s));

    QCommandLineParser parser;
    parser.setApplicationDescription(QCoreApplication::translate("main",
        "DLMS Bridge: polls DLMS/COSEM meters, publishes their readings to ThingsBoard over MQTT, and "
        "shows what that costs the network."));
    parser.addHelpOption();
    parser.addVersionOption();
    const QCommandLineOption demoOption(u"demo"_s,
        QCoreApplication::translate("main",
            "Run on the embedded demo: simulated meters on loopback (one of them flaky), a local "
            "mosquitto broker when installed, and a demo database in the user's data directory."));
    const QCommandLineOption metersOption(u"demo-meters"_s,
        QCoreApplication::translate("main", "How many simulated meters the demo runs (2-200, default 5)."),
        u"count"_s, u"5"_s);
    const QCommandLineOption configOption(u"config"_s,
        QCoreApplication::translate("main", "The configuration file (default: %1).")
            .arg(app::defaultConfigPath()),
        u"file"_s);
    const QCommandLineOption languageOption(u"language"_s,
        QCoreApplication::translate(
            "main", "The interface language: en or es (default: the saved choice, else the system's)."),
        u"code"_s);
    parser.addOptions({demoOption, metersOption, configOption, languageOption});
    parser.process(application);

    language::install(parser.isSet(languageOption) ? parser.value(languageOption) : language::saved());

    bool metersOk = false;
    const int demoMeters = parser.value(metersOption).toInt(&metersOk);
    if (!metersOk || demoMeters < 2 || demoMeters > 200) {
        std::fprintf(stderr, "dlmsbridge: --demo-meters: must be an integer from 2 to 200\n");
        return 2;
    }

    // Declared in this order so they end in reverse: the window first, then the bridge (which
    // stops cleanly from the window's close), then the demo's meters and broker.
    std::optional<DemoSite> demo;
    app::Bridge bridge;
    app::BridgeConfig config;
    QString configPath;
    QString startupProblem;
    if (parser.isSet(demoOption)) {
        DemoSite::Options options;
        options.meters = demoMeters;
        demo.emplace(options);
        if (auto started = demo->start(); !started) {
            std::fprintf(stderr, "dlmsbridge: %s\n", qPrintable(started.error().message));
            return 3;
        }
        config = demo->config();
        if (!demo->brokerRunning()) {
            startupProblem = QCoreApplication::translate("main",
                "mosquitto is not installed: the demo's MQTT broker is unreachable and the outbox grows "
                "until one is (apt install mosquitto).");
        }
    } else {
        configPath = parser.isSet(configOption) ? parser.value(configOption) : app::defaultConfigPath();
        if (QFileInfo::exists(configPath)) {
            QStringList warnings;
            if (auto loaded = app::loadBridgeConfig(configPath, &warnings)) {
                config = *loaded;
                if (!warnings.isEmpty())
                    startupProblem = warnings.join(u'\n');
            } else {
                // The broken file is left alone (Save will not overwrite it): the window opens on
                // an empty site and says why.
                startupProblem = loaded.error().message;
                configPath.clear();
            }
        } else if (parser.isSet(configOption)) {
            std::fprintf(stderr, "dlmsbridge: %s: no such file\n", qPrintable(configPath));
            return 2;
        }
        if (config.fileName.isEmpty()) {
            // A first start: every default, an empty site, and MQTT off until a broker is set.
            auto defaults
                = app::parseBridgeConfig(QJsonObject {{u"mqtt"_s, QJsonObject {{u"enabled"_s, false}}},
                                             {u"http"_s, QJsonObject {{u"enabled"_s, false}}}},
                    u"dlmsbridge"_s, {});
            if (defaults)
                config = *defaults;
        }
    }

    MainWindow window(&bridge, configPath);
    if (auto started = bridge.start(config); !started) {
        // Kept in the pages, ready to fix in Settings and start again.
        if (auto kept = bridge.applyConfig(config); !kept)
            startupProblem += kept.error().message + u'\n';
        startupProblem += (startupProblem.isEmpty() ? QString() : u"\n\n"_s) + started.error().message;
    }
    // SIGTERM / Ctrl-C close the window as its Quit does: the bridge stops cleanly first (the
    // demo's broker and meters after it). A second signal does not wait for the network.
    int signalsSeen = 0;
    onTerminationSignal(&window, [&] {
        if (++signalsSeen == 1) {
            window.close();
            return;
        }
        bridge.abort();
        QCoreApplication::quit();
    });
    if (demo)
        window.setPage(MainWindow::Monitoring);
    window.show();
    if (!startupProblem.isEmpty()) {
        QTimer::singleShot(0, &window, [&window, startupProblem] {
            QMessageBox::warning(&window, QCoreApplication::translate("main", "DLMS Bridge"), startupProblem);
        });
    }
    return application.exec();
}
