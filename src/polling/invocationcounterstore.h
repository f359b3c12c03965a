#pragma once

#include <error.h>
#include <security.h>

#include <QtCore/QString>

#include <memory>

namespace polling {

// The client's invocation counters on disk, so a value is never used twice, across restarts
// and across processes (the GUI, `dlmsctl run` and `dlmsctl read` on the same laptop).
//
// One small file per (block cipher key, client system title) in `directory`, named by
// dlms::security::keyFingerprint(EK) and the title in hex (the key itself is never written).
// Values are reserved in blocks: the file holds the first value not yet reserved; next() hands
// out values from the reserved block and, when it is spent, reserves the next block first
// (under a QLockFile, written with QSaveFile: a crash loses at most the rest of a block, never
// repeats a value). Thread-safe; every counter for the same file in one process is the same
// object (sharedInvocationCounter).
class FileInvocationCounter final : public dlms::InvocationCounter {
public:
    ~FileInvocationCounter() override;

    // Opens (creating the directory 0700 and the file when missing). `floor`: never hand out a
    // value below it (a meter that has already seen higher counters, e.g. from another tool).
    // IoError naming the file when it cannot be read or is corrupt.
    static dlms::Result<std::shared_ptr<FileInvocationCounter>> open(const QString &directory,
        QByteArrayView blockCipherKey, QByteArrayView systemTitle, quint32 floor = 0,
        quint32 blockSize = 256);

    dlms::Result<quint32> next() override;
    // Also how a later caller's floor applies to the one shared object. Stored in the file too.
    void raiseFloor(quint32 floor) override;
    QString fileName() const;

private:
    FileInvocationCounter();
    struct Private;
    std::unique_ptr<Private> d;
};

// $DLMSBRIDGE_COUNTER_DIR when set, else <GenericDataLocation>/dlmsbridge/invocation-counters:
// one place shared by dlmsbridge and dlmsctl.
QString defaultInvocationCounterDirectory();

// The one counter object of this process for (directory, EK, title): MeterSession,
// CommissioningRun, ConnectionTest and dlmsctl all take theirs from here. An error when the
// store cannot be opened.
dlms::Result<std::shared_ptr<dlms::InvocationCounter>> sharedInvocationCounter(
    const QString &directory, QByteArrayView blockCipherKey, QByteArrayView systemTitle, quint32 floor = 0);

} // namespace polling
