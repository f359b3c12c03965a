#pragma once

#include <QtCore/QTranslator>

#include <vector>

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

// A "language" of a few fixed translations, {context, source, translation} each; everything else
// stays untranslated. For tests that look for particular texts after a language change.
class TableTranslator final : public QTranslator {
public:
    struct Row {
        const char *context;
        const char *source;
        QString translation;
    };
    explicit TableTranslator(std::vector<Row> rows) : m_rows(std::move(rows)) { }
    bool isEmpty() const override { return false; }
    QString translate(const char *context, const char *sourceText, const char *, int) const override
    {
        for (const Row &row : m_rows) {
            if (qstrcmp(context, row.context) == 0 && qstrcmp(sourceText, row.source) == 0)
                return row.translation;
        }
        return {};
    }

private:
    std::vector<Row> m_rows;
};
