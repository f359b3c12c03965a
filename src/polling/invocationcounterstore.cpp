#include "invocationcounterstore.h"

#include <QtCore/QDir>
#include <QtCore/QFile>
#include <QtCore/QFileInfo>
#include <QtCore/QLockFile>
#include <QtCore/QSaveFile>
#include <QtCore/QStandardPaths>

#include <algorithm>
#include <map>
#include <mutex>

#ifdef Q_OS_UNIX
#include <cerrno>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#endif

using namespace Qt::StringLiterals;

namespace polling {

namespace {

// The file holds one decimal line: the first value not yet reserved by anyone, at most 2^32
// (every value handed out). A value of 2^32 means the counter is spent.
constexpr quint64 kEnd = quint64(0xFFFFFFFF) + 1;
constexpr qint64 kMaxFileBytes = 64;
// Stale only when its PID is gone: a live but slow holder must keep the lock, or two processes
// would reserve the same block.
constexpr int kStaleLockMs = 0;
// The lock is held for one small read and write: waiting longer means something is wrong.
constexpr int kLockWaitMs = 3000;

dlms::Error ioError(const QString &message)
{
    return dlms::makeError(dlms::ErrorCode::IoError, message);
}

// Creates `directory` and any missing parent, each 0700: the files say which meters we talk to.
dlms::Result<void> makeDirectory(const QString &directory)
{
    QStringList missing;
    QString existing = QDir::cleanPath(directory);
    while (!QFileInfo::exists(existing) && QFileInfo(existing).path() != existing) {
        missing.prepend(existing);
        existing = QFileInfo(existing).path();
    }
    if (!QFileInfo(existing).isDir())
        return ioError(u"cannot create the invocation counter directory %1: %2 is not a directory"_s.arg(
            QDir::cleanPath(directory), existing));
    for (const QString &dir : std::as_const(missing)) {
#ifdef Q_OS_UNIX
        if (::mkdir(QFile::encodeName(dir).constData(), S_IRWXU) != 0 && errno != EEXIST)
            return ioError(
                u"cannot create the invocation counter directory %1: %2"_s.arg(dir, qt_error_string(errno)));
#else
        if (!QDir().mkdir(dir, QFileDevice::ReadOwner | QFileDevice::WriteOwner | QFileDevice::ExeOwner))
            return ioError(u"cannot create the invocation counter directory %1"_s.arg(dir));
#endif
    }
    return {};
}

QString counterFileName(QByteArrayView blockCipherKey, QByteArrayView systemTitle)
{
    return dlms::security::keyFingerprint(blockCipherKey) + u'-'
        + QString::fromLatin1(systemTitle.toByteArray().toHex().toUpper()) + u".ic"_s;
}

// The stored value; nullopt when the file does not exist.
dlms::Result<std::optional<quint64>> readValue(const QString &path)
{
    QFile file(path);
    if (!file.exists())
        return std::optional<quint64> {};
    if (!file.open(QIODevice::ReadOnly))
        return ioError(u"cannot read the invocation counter file %1: %2"_s.arg(path, file.errorString()));
    const QByteArray text = file.read(kMaxFileBytes + 1).trimmed();
    bool ok = false;
    const quint64 value = text.toULongLong(&ok);
    const bool digits = !text.isEmpty()
        && std::all_of(text.cbegin(), text.cend(), [](char c) { return c >= '0' && c <= '9'; });
    if (!ok || !digits || text.size() > kMaxFileBytes || value < 1 || value > kEnd)
        return ioError(
            u"the invocation counter file %1 is corrupt (expected one decimal number from 1 "
            "to 4294967296); move it aside only if no value it reserved can be reused"_s.arg(path));
    return std::optional<quint64> {value};
}

dlms::Result<void> writeValue(const QString &path, quint64 value)
{
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly))
        return ioError(u"cannot write the invocation counter file %1: %2"_s.arg(path, file.errorString()));
#ifdef Q_OS_UNIX
    const bool restricted = ::fchmod(file.handle(), S_IRUSR | S_IWUSR) == 0;
    const QString reason = restricted ? QString() : qt_error_string(errno);
#else
    const bool restricted = file.setPermissions(QFileDevice::ReadOwner | QFileDevice::WriteOwner);
    const QString reason = restricted ? QString() : file.errorString();
#endif
    if (!restricted) {
        file.cancelWriting();
        return ioError(u"cannot write the invocation counter file %1: %2"_s.arg(path, reason));
    }
    const QByteArray text = QByteArray::number(value) + '\n';
    if (file.write(text) != text.size() || !file.commit())
        return ioError(u"cannot write the invocation counter file %1: %2"_s.arg(path, file.errorString()));
#ifdef Q_OS_UNIX
    // commit() syncs the file, not the rename: without this a power loss can bring back the old
    // file, and with it values already handed out.
    const QByteArray directory = QFile::encodeName(QFileInfo(path).absolutePath());
    const int fd = ::open(directory.constData(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    // EINVAL: a file system that cannot sync a directory; the rename is all it offers.
    const bool synced = fd >= 0 && (::fsync(fd) == 0 || errno == EINVAL);
    const QString syncError = synced ? QString() : qt_error_string(errno);
    if (fd >= 0)
        ::close(fd);
    if (!synced)
        return ioError(
            u"cannot sync the directory of the invocation counter file %1: %2"_s.arg(path, syncError));
#endif
    return {};
}

} // namespace

struct FileInvocationCounter::Private {
    QString path;
    quint32 blockSize = 256;
    std::mutex mutex;
    quint64 floor = 1;
    quint64 next = 0; // next value to hand out from the reserved block
    quint64 blockEnd = 0; // one past the reserved block

    // Under the file lock: reads the first unreserved value, writes it `count` further on.
    // Returns the first value of the reserved block.
    dlms::Result<quint64> reserve(quint64 count, bool createOnly)
    {
        QLockFile lock(path + u".lock"_s);
        lock.setStaleLockTime(kStaleLockMs);
        if (!lock.tryLock(kLockWaitMs))
            return ioError(u"cannot lock the invocation counter file %1 (%2)"_s.arg(path,
                lock.error() == QLockFile::LockFailedError ? u"another process holds it"_s
                                                           : u"cannot create the lock file"_s));
        const auto stored = readValue(path);
        if (!stored)
            return stored.error();
        // Never below what this object has already reserved: the file may have been removed.
        const quint64 first = std::max({stored->value_or(1), floor, blockEnd});
        if (createOnly) {
            if (!stored->has_value())
                if (auto written = writeValue(path, first); !written)
                    return written.error();
            return first;
        }
        if (first >= kEnd)
            return ioError(u"the invocation counter of %1 is spent (4294967295 reached): the key must "
                           "be changed"_s.arg(path));
        const quint64 end = std::min(first + count, kEnd);
        if (auto written = writeValue(path, end); !written)
            return written.error();
        return first;
    }
};

FileInvocationCounter::FileInvocationCounter() : d(std::make_unique<Private>()) { }

FileInvocationCounter::~FileInvocationCounter() = default;

dlms::Result<std::shared_ptr<FileInvocationCounter>> FileInvocationCounter::open(const QString &directory,
    QByteArrayView blockCipherKey, QByteArrayView systemTitle, quint32 floor, quint32 blockSize)
{
    if (blockCipherKey.size() != dlms::security::KeySize)
        return dlms::makeError(dlms::ErrorCode::InvalidArgument,
            u"an invocation counter needs a 16-byte block cipher key (got %1 bytes)"_s.arg(
                blockCipherKey.size()));
    if (systemTitle.size() != dlms::security::SystemTitleSize)
        return dlms::makeError(dlms::ErrorCode::InvalidArgument,
            u"an invocation counter needs an 8-byte system title (got %1 bytes)"_s.arg(systemTitle.size()));
    if (directory.isEmpty())
        return dlms::makeError(
            dlms::ErrorCode::InvalidArgument, u"no directory given for the invocation counters"_s);
    if (auto made = makeDirectory(directory); !made)
        return made.error();

    std::shared_ptr<FileInvocationCounter> counter(new FileInvocationCounter);
    Private &p = *counter->d;
    p.path = QDir(directory).absoluteFilePath(counterFileName(blockCipherKey, systemTitle));
    p.blockSize = std::max<quint32>(1, blockSize);
    p.floor = std::max<quint64>(1, floor);
    if (auto checked = p.reserve(0, true); !checked)
        return checked.error();
    return counter;
}

dlms::Result<quint32> FileInvocationCounter::next()
{
    const std::lock_guard lock(d->mutex);
    d->next = std::max(d->next, d->floor);
    if (d->next >= d->blockEnd) {
        const auto first = d->reserve(d->blockSize, false);
        if (!first)
            return first.error();
        d->next = *first;
        d->blockEnd = std::min(*first + d->blockSize, kEnd);
    }
    return quint32(d->next++);
}

QString FileInvocationCounter::fileName() const
{
    return d->path;
}

void FileInvocationCounter::raiseFloor(quint32 floor)
{
    const std::lock_guard lock(d->mutex);
    if (floor <= d->floor)
        return;
    d->floor = floor;
    // Written at once (best effort: next() writes it anyway when it reserves), so the other
    // processes sharing the file skip the values the meter refuses too.
    if (floor > d->blockEnd)
        (void)d->reserve(0, false);
}

QString defaultInvocationCounterDirectory()
{
    const QString configured = qEnvironmentVariable("DLMSBRIDGE_COUNTER_DIR");
    if (!configured.isEmpty())
        return configured;
    return QStandardPaths::writableLocation(QStandardPaths::GenericDataLocation)
        + u"/dlmsbridge/invocation-counters"_s;
}

dlms::Result<std::shared_ptr<dlms::InvocationCounter>> sharedInvocationCounter(
    const QString &directory, QByteArrayView blockCipherKey, QByteArrayView systemTitle, quint32 floor)
{
    static std::mutex mutex;
    static std::map<QString, std::weak_ptr<FileInvocationCounter>> registry;

    // Keyed by the file the counter lives in: directory + fingerprint + title.
    const QString key = QDir::cleanPath(QDir(directory).absolutePath()) + u'/'
        + (blockCipherKey.size() == dlms::security::KeySize ? counterFileName(blockCipherKey, systemTitle)
                                                            : QString());
    const std::lock_guard lock(mutex);
    if (const auto it = registry.find(key); it != registry.end()) {
        if (std::shared_ptr<FileInvocationCounter> existing = it->second.lock()) {
            existing->raiseFloor(floor);
            return std::shared_ptr<dlms::InvocationCounter>(std::move(existing));
        }
    }
    auto opened = FileInvocationCounter::open(directory, blockCipherKey, systemTitle, floor);
    if (!opened)
        return opened.error();
    // Drop the entries of counters nobody holds any more, so the map does not only grow.
    std::erase_if(registry, [](const auto &entry) { return entry.second.expired(); });
    registry[key] = *opened;
    return std::shared_ptr<dlms::InvocationCounter>(std::move(*opened));
}

} // namespace polling
