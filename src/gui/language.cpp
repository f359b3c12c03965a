#include "language.h"

#include <QtCore/QCoreApplication>
#include <QtCore/QLibraryInfo>
#include <QtCore/QLocale>
#include <QtCore/QSettings>
#include <QtCore/QTranslator>

#include <memory>

using namespace Qt::StringLiterals;

namespace language {

namespace {

struct Installed {
    QString code = u"en"_s;
    std::unique_ptr<QTranslator> application;
    std::unique_ptr<QTranslator> qt;
};

Installed &installed()
{
    static Installed state;
    return state;
}

const QString kSettingsKey = u"ui/language"_s;

QString effectiveCode(const QString &code)
{
    if (available().contains(code))
        return code;
    return QLocale::system().language() == QLocale::Spanish ? u"es"_s : u"en"_s;
}

} // namespace

QStringList available()
{
    return {u"en"_s, u"es"_s};
}

QString nativeName(const QString &code)
{
    if (code == u"es")
        return u"Espa\u00f1ol"_s;
    if (code == u"en")
        return u"English"_s;
    return code;
}

QString install(const QString &code)
{
    Installed &state = installed();
    const QString wanted = effectiveCode(code);
    // Removing sends LanguageChange too: install the new ones first, so widgets retranslate
    // once into the new language rather than through English.
    auto application = std::make_unique<QTranslator>();
    auto qt = std::make_unique<QTranslator>();
    bool haveApplication = false;
    bool haveQt = false;
    if (wanted != u"en") {
        haveApplication = application->load(u":/i18n/dlmsbridge_%1.qm"_s.arg(wanted));
        haveQt = qt->load(u"qtbase_%1"_s.arg(wanted), QLibraryInfo::path(QLibraryInfo::TranslationsPath));
    }
    if (state.application)
        QCoreApplication::removeTranslator(state.application.get());
    if (state.qt)
        QCoreApplication::removeTranslator(state.qt.get());
    state.application.reset();
    state.qt.reset();
    if (haveQt) {
        QCoreApplication::installTranslator(qt.get());
        state.qt = std::move(qt);
    }
    if (haveApplication) {
        QCoreApplication::installTranslator(application.get());
        state.application = std::move(application);
    }
    state.code = haveApplication ? wanted : u"en"_s;
    // Numbers follow the language: "1,2 KB" in Spanish. The system's own locale is kept when
    // it speaks the chosen language (es_MX keeps its own conventions).
    const QLocale system = QLocale::system();
    if (state.code == u"es")
        QLocale::setDefault(
            system.language() == QLocale::Spanish ? system : QLocale(QLocale::Spanish, QLocale::Spain));
    else
        QLocale::setDefault(system.language() == QLocale::English
                ? system
                : QLocale(QLocale::English, QLocale::UnitedStates));
    return state.code;
}

QString current()
{
    return installed().code;
}

QString saved()
{
    return QSettings().value(kSettingsKey).toString();
}

void save(const QString &code)
{
    QSettings settings;
    if (code.isEmpty())
        settings.remove(kSettingsKey);
    else
        settings.setValue(kSettingsKey, code);
}

} // namespace language
