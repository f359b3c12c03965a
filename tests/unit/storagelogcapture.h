#pragma once

#include <QtCore/QMutex>
#include <QtCore/QStringList>
#include <QtCore/QtGlobal>

// Warnings the storage module logs, from any thread: install captureMessages in initTestCase,
// clear in init(), count with warningsContaining().
namespace testsupport {

struct LogCapture {
    QMutex mutex;
    QStringList warnings;
    QtMessageHandler previous = nullptr;
};

inline LogCapture &logCapture()
{
    static LogCapture capture;
    return capture;
}

inline void captureMessages(QtMsgType type, const QMessageLogContext &context, const QString &message)
{
    LogCapture &capture = logCapture();
    if (type == QtWarningMsg && context.category && qstrcmp(context.category, "dlmsbridge.storage") == 0) {
        QMutexLocker lock(&capture.mutex);
        capture.warnings.append(message);
    }
    if (capture.previous)
        capture.previous(type, context, message);
}

inline int warningsContaining(QStringView text)
{
    LogCapture &capture = logCapture();
    QMutexLocker lock(&capture.mutex);
    int count = 0;
    for (const QString &warning : std::as_const(capture.warnings))
        count += warning.contains(text) ? 1 : 0;
    return count;
}

} // namespace testsupport
