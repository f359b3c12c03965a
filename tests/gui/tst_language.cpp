// Spanish: the translation is complete (every string lupdate finds in the sources has a
// finished translation), and switching the language at run time changes what the window shows.

#include <bridge.h>
#include <language.h>
#include <mainwindow.h>

#include <QtCore/QDir>
#include <QtCore/QDirIterator>
#include <QtCore/QJsonArray>
#include <QtCore/QJsonObject>
#include <QtCore/QLocale>
#include <QtCore/QProcess>
#include <QtCore/QRegularExpression>
#include <QtCore/QStandardPaths>
#include <QtCore/QTemporaryDir>
#include <QtCore/QXmlStreamReader>
#include <QtTest/QTest>
#include <QtWidgets/QAbstractButton>
#include <QtWidgets/QGroupBox>
#include <QtWidgets/QHeaderView>
#include <QtWidgets/QLabel>
#include <QtWidgets/QListWidget>
#include <QtWidgets/QMenuBar>
#include <QtWidgets/QTabWidget>
#include <QtWidgets/QTableView>

using namespace Qt::StringLiterals;

namespace {

struct TsCounts {
    int messages = 0;
    int unfinished = 0;
    int empty = 0;
    QStringList unfinishedSources;
};

TsCounts countTs(const QString &path)
{
    TsCounts counts;
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return counts;
    QXmlStreamReader xml(&file);
    QString source;
    while (!xml.atEnd()) {
        xml.readNext();
        if (!xml.isStartElement())
            continue;
        if (xml.name() == u"message")
            ++counts.messages;
        else if (xml.name() == u"source")
            source = xml.readElementText();
        else if (xml.name() == u"translation") {
            const bool unfinished = xml.attributes().value(u"type"_s) == u"unfinished";
            const bool numerus = xml.attributes().hasAttribute(u"numerus"_s);
            const QString text
                = numerus ? u"x"_s : xml.readElementText(QXmlStreamReader::IncludeChildElements);
            if (unfinished) {
                ++counts.unfinished;
                counts.unfinishedSources << source;
            } else if (text.trimmed().isEmpty()) {
                ++counts.empty;
            }
        }
    }
    return counts;
}

// Everything translatable the window shows, keyed by where it is shown.
QMap<QString, QString> visibleTexts(MainWindow &window)
{
    QMap<QString, QString> texts;
    auto key = [](const QObject *object, const QString &what) -> QString {
        QStringList path;
        for (const QObject *o = object; o; o = o->parent())
            path.prepend(o->objectName().isEmpty() ? QString::fromLatin1(o->metaObject()->className())
                                                   : o->objectName());
        return path.join(u'/') + u':' + what + u'@' + QString::number(quintptr(object), 16);
    };
    for (QLabel *label : window.findChildren<QLabel *>()) {
        if (!label->text().isEmpty() && !label->text().startsWith(u'<'))
            texts.insert(key(label, u"text"_s), label->text());
    }
    for (QAbstractButton *button : window.findChildren<QAbstractButton *>()) {
        if (!button->text().isEmpty())
            texts.insert(key(button, u"text"_s), button->text());
    }
    for (QGroupBox *box : window.findChildren<QGroupBox *>()) {
        if (!box->title().isEmpty())
            texts.insert(key(box, u"title"_s), box->title());
    }
    for (QTabWidget *tabs : window.findChildren<QTabWidget *>()) {
        for (int i = 0; i < tabs->count(); ++i)
            texts.insert(key(tabs, u"tab%1"_s.arg(i)), tabs->tabText(i));
    }
    for (QTableView *table : window.findChildren<QTableView *>()) {
        if (!table->model())
            continue;
        for (int c = 0; c < table->model()->columnCount(); ++c)
            texts.insert(
                key(table, u"header%1"_s.arg(c)), table->model()->headerData(c, Qt::Horizontal).toString());
    }
    for (QAction *action : window.findChildren<QAction *>()) {
        if (!action->text().isEmpty() && !action->isSeparator())
            texts.insert(key(action, u"action"_s), action->text());
    }
    for (QMenu *menu : window.menuBar()->findChildren<QMenu *>())
        texts.insert(key(menu, u"title"_s), menu->title());
    auto *navigation = window.findChild<QListWidget *>(u"navigation"_s);
    for (int i = 0; navigation && i < navigation->count(); ++i)
        texts.insert(key(navigation, u"item%1"_s.arg(i)), navigation->item(i)->text());
    return texts;
}

// Texts that read the same in both languages: names, protocols, units, figures.
bool sameInBothLanguages(const QString &text)
{
    static const QRegularExpression noWords(u"^[^A-Za-z]*$"_s);
    static const QStringList names {u"DLMS Bridge"_s, u"MQTT"_s, u"TLS"_s, u"HTTP"_s, u"OBIS"_s, u"HDLC"_s,
        u"ID"_s, u"Id"_s, u"Hex"_s, u"RTT p95"_s, u"Token"_s, u"Total"_s, u"Error"_s, u"Errors"_s, u"RTT"_s,
        u"TX"_s, u"RX"_s, u"English"_s, u"Espa\u00f1ol"_s, u"OK"_s, u"Wrapper"_s, u"Gateway"_s, u"Device"_s,
        u"3.1.1"_s, u"5"_s, u"Host"_s, u"Client ID"_s};
    return noWords.match(text).hasMatch() || names.contains(QString(text).remove(u'&'))
        || text.contains(QRegularExpression(u"^demo-\\d"_s)) || text.endsWith(u".db"_s);
}

} // namespace

class TestLanguage : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase()
    {
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName(u"dlmsbridge-test"_s);
        QCoreApplication::setApplicationName(u"tst_language"_s);
    }
    void cleanup() { language::install(u"en"_s); }

    void committedTranslationIsComplete()
    {
        const TsCounts counts
            = countTs(QStringLiteral(DLMSBRIDGE_SOURCE_DIR "/translations/dlmsbridge_es.ts"));
        QVERIFY2(counts.messages >= 200, qPrintable(QString::number(counts.messages)));
        QVERIFY2(counts.unfinished == 0, qPrintable(counts.unfinishedSources.mid(0, 20).join(u" | "_s)));
        QCOMPARE(counts.empty, 0);
    }

    void everySourceStringIsTranslated()
    {
        // lupdate over today's sources, into a copy: any string added without a translation
        // shows up as unfinished there.
        QTemporaryDir dir;
        const QString copy = dir.filePath(u"check_es.ts"_s);
        QVERIFY(QFile::copy(QStringLiteral(DLMSBRIDGE_SOURCE_DIR "/translations/dlmsbridge_es.ts"), copy));
        QFile::setPermissions(copy, QFile::ReadOwner | QFile::WriteOwner);
        QStringList files;
        const QString root = QStringLiteral(DLMSBRIDGE_SOURCE_DIR);
        for (const auto &[directory, filters] :
            {std::pair {u"/src/gui"_s, QStringList {u"*.cpp"_s, u"*.h"_s}},
                std::pair {u"/ui"_s, QStringList {u"*.ui"_s}},
                std::pair {u"/src/monitor"_s, QStringList {u"*.cpp"_s}},
                std::pair {u"/src/report"_s, QStringList {u"*.cpp"_s}},
                std::pair {u"/src/app"_s, QStringList {u"commissioning*.cpp"_s}}}) {
            QDirIterator it(root + directory, filters, QDir::Files);
            while (it.hasNext())
                files << it.next();
        }
        // As src/gui/CMakeLists.txt lists them for qt_add_translations.
        files << root + u"/src/app/connectiontest.cpp"_s << root + u"/src/storage/commissioning.cpp"_s;
        QProcess lupdate;
        lupdate.start(QStringLiteral(LUPDATE_PATH),
            QStringList {u"-no-obsolete"_s, u"-locations"_s, u"none"_s, u"-silent"_s} + files
                + QStringList {u"-ts"_s, copy});
        QVERIFY(lupdate.waitForFinished(60'000));
        QCOMPARE(lupdate.exitCode(), 0);
        const TsCounts counts = countTs(copy);
        QVERIFY2(counts.unfinished == 0,
            qPrintable(u"%1 untranslated: "_s.arg(counts.unfinished)
                + counts.unfinishedSources.mid(0, 20).join(u" | "_s)));
        QCOMPARE(counts.messages,
            countTs(QStringLiteral(DLMSBRIDGE_SOURCE_DIR "/translations/dlmsbridge_es.ts")).messages);
    }

    void installFollowsTheChoice()
    {
        QCOMPARE(language::install(u"es"_s), u"es"_s);
        QCOMPARE(language::current(), u"es"_s);
        QCOMPARE(QLocale().language(), QLocale::Spanish);
        QCOMPARE(QCoreApplication::translate("MainWindow", "Meters"), u"Medidores"_s);
        QCOMPARE(language::install(u"en"_s), u"en"_s);
        QCOMPARE(QLocale().language(), QLocale::English);
        QCOMPARE(QCoreApplication::translate("MainWindow", "Meters"), u"Meters"_s);
        QCOMPARE(language::nativeName(u"es"_s), u"Espa\u00f1ol"_s);
        language::save(u"es"_s);
        QCOMPARE(language::saved(), u"es"_s);
        language::save({});
        QCOMPARE(language::saved(), QString());
    }

    void switchingToSpanishChangesVisibleTexts()
    {
        QTemporaryDir dir;
        app::Bridge::Options options;
        options.serveHttp = false;
        app::Bridge bridge(options);
        // Two meters in the configuration, polling stopped: every page has something to show.
        QJsonArray meters;
        meters.append(QJsonObject {{u"id"_s, u"m1"_s}, {u"host"_s, u"127.0.0.1"_s}, {u"port"_s, 1}});
        meters.append(QJsonObject {{u"id"_s, u"m2"_s}, {u"host"_s, u"127.0.0.1"_s}, {u"port"_s, 2}});
        QJsonObject root;
        root[u"meters"_s] = meters;
        root[u"polling"_s] = QJsonObject {{u"items"_s, QJsonArray {u"1.0.32.7.0.255"_s}}};
        root[u"storage"_s] = QJsonObject {{u"path"_s, dir.filePath(u"x.db"_s)}};
        auto config = app::parseBridgeConfig(root, u"test"_s, dir.path());
        QVERIFY2(config, config ? "" : qPrintable(config.error().message));
        QVERIFY(bridge.applyConfig(*config));
        MainWindow window(&bridge, {});
        window.show();
        language::install(u"en"_s);
        QCoreApplication::sendPostedEvents(nullptr, QEvent::LanguageChange);
        const QMap<QString, QString> english = visibleTexts(window);
        QVERIFY(english.size() >= 100);

        QCOMPARE(language::install(u"es"_s), u"es"_s);
        // QApplication posts LanguageChange to the windows; they pass it to their children.
        QCoreApplication::sendPostedEvents(nullptr, QEvent::LanguageChange);
        const QMap<QString, QString> spanish = visibleTexts(window);
        QStringList unchanged;
        int translatable = 0;
        for (auto it = english.cbegin(); it != english.cend(); ++it) {
            if (sameInBothLanguages(it.value()))
                continue;
            ++translatable;
            if (spanish.value(it.key()) == it.value())
                unchanged << it.key().section(u'@', 0, 0) + u" = "_s + it.value();
        }
        QVERIFY2(unchanged.isEmpty(),
            qPrintable(
                u"%1 of %2 unchanged:\n"_s.arg(unchanged.size()).arg(translatable) + unchanged.join(u'\n')));
        auto *navigation = window.findChild<QListWidget *>(u"navigation"_s);
        QCOMPARE(navigation->item(MainWindow::Meters)->text(), u"Medidores"_s);
        QCOMPARE(navigation->item(MainWindow::Settings)->text(), u"Configuraci\u00f3n"_s);

        // And back.
        language::install(u"en"_s);
        QCoreApplication::sendPostedEvents(nullptr, QEvent::LanguageChange);
        QCOMPARE(visibleTexts(window), english);
    }
};

QTEST_MAIN(TestLanguage)
#include "tst_language.moc"
