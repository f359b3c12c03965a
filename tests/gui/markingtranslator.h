#pragma once

#include <QtCore/QTranslator>

// A "language" that marks every string it translates — «text» by default, or prefix + text —
// optionally only in one context, so a test sees which texts were retranslated at run time
// without depending on the Spanish file.
class MarkingTranslator final : public QTranslator {
public:
    explicit MarkingTranslator(const char *context = nullptr, QString prefix = QStringLiteral("\u00ab"),
        QString suffix = QStringLiteral("\u00bb"))
        : m_context(context), m_prefix(std::move(prefix)), m_suffix(std::move(suffix))
    {
    }
    bool isEmpty() const override { return false; }
    QString translate(const char *context, const char *sourceText, const char *, int) const override
    {
        if (m_context && qstrcmp(context, m_context) != 0)
            return {};
        return m_prefix + QString::fromUtf8(sourceText) + m_suffix;
    }

private:
    const char *m_context;
    QString m_prefix;
    QString m_suffix;
};
