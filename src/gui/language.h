#pragma once

#include <QtCore/QString>
#include <QtCore/QStringList>

// The user interface language: the application's own translation (embedded, :/i18n) and Qt's
// (qtbase, from the system's Qt translations directory when present). Installing a language
// sends QEvent::LanguageChange to every widget, which retranslates itself.
namespace language {

QStringList available(); // "en", "es"
QString nativeName(const QString &code); // "English", "Español"
// "" follows the system locale (Spanish for any es_* locale, else English). Returns the code
// actually installed ("en" or "es").
QString install(const QString &code);
QString current();
// The user's choice as kept in QSettings ("" = the system's).
QString saved();
void save(const QString &code);

} // namespace language
