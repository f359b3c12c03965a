#include <dlmsconnection.h>
#include <invocationcounterstore.h>
#include <security.h>

#include <QtCore/QCoreApplication>
#include <QtCore/QDateTime>
#include <QtCore/QDir>
#include <QtCore/QFile>
#include <QtCore/QFileInfo>
#include <QtCore/QLockFile>
#include <QtCore/QStandardPaths>
#include <QtCore/QTemporaryDir>
#include <QtTest/QTest>

#include <algorithm>
#include <set>
#include <thread>
#include <vector>

#include <sys/stat.h>

using namespace Qt::StringLiterals;
using polling::FileInvocationCounter;

namespace {

const QByteArray kEk = QByteArray::fromHex("000102030405060708090A0B0C0D0E0F");
const QByteArray kOtherEk = QByteArray::fromHex("A0A1A2A3A4A5A6A7A8A9AAABACADAEAF");
const QByteArray kTitle = QByteArray::fromHex("4D4D4D0000000001");

QByteArray readAll(const QString &path)
{
    QFile file(path);
    return file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray();
}

mode_t modeOf(const QString &path)
{
    struct stat st { };
    if (::stat(QFile::encodeName(path).constData(), &st) != 0)
        return 07777;
    return st.st_mode & 07777;
}

bool writeText(const QString &path, const QByteArray &text)
{
    QFile file(path);
    return file.open(QIODevice::WriteOnly | QIODevice::Truncate) && file.write(text) == text.size();
}

} // namespace

class tst_InvocationCounterStore : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase() { QStandardPaths::setTestModeEnabled(true); }

    void firstValueAndFile_data()
    {
        QTest::addColumn<quint32>("floor");
        QTest::addColumn<quint32>("first");
        QTest::newRow("no-floor") << 0u << 1u;
        QTest::newRow("floor-1") << 1u << 1u;
        QTest::newRow("floor-1000") << 1000u << 1000u;
        QTest::newRow("floor-near-end") << 0xFFFFFFF0u << 0xFFFFFFF0u;
    }
    void firstValueAndFile()
    {
        QFETCH(quint32, floor);
        QFETCH(quint32, first);
        QTemporaryDir tmp;
        QVERIFY(tmp.isValid());
        const QString dir = tmp.filePath(u"a/b/counters"_s);
        auto counter = FileInvocationCounter::open(dir, kEk, kTitle, floor, 16);
        QVERIFY2(counter.ok(), qPrintable(counter.ok() ? QString() : counter.error().message));
        const auto value = (*counter)->next();
        QVERIFY(value.ok());
        QCOMPARE(*value, first);

        const QString file = (*counter)->fileName();
        QCOMPARE(QFileInfo(file).absolutePath(), QDir(dir).absolutePath());
        QCOMPARE(modeOf(dir), mode_t(0700));
        QCOMPARE(modeOf(tmp.filePath(u"a"_s)), mode_t(0700));
        QCOMPARE(modeOf(file), mode_t(0600));
        // One decimal line: the first value of the next block.
        QCOMPARE(readAll(file), QByteArray::number(quint64(first) + 16) + '\n');
    }

    void increasesAcrossBlocks()
    {
        QTemporaryDir tmp;
        QVERIFY(tmp.isValid());
        constexpr quint32 blockSize = 8;
        auto counter = FileInvocationCounter::open(tmp.path(), kEk, kTitle, 0, blockSize);
        QVERIFY(counter.ok());
        quint32 previous = 0;
        for (quint32 i = 0; i < 3 * blockSize + 1; ++i) {
            const auto value = (*counter)->next();
            QVERIFY(value.ok());
            QVERIFY2(*value > previous, qPrintable(u"%1 after %2"_s.arg(*value).arg(previous)));
            previous = *value;
        }
        QCOMPARE(previous, 3 * blockSize + 1);
        QCOMPARE(readAll((*counter)->fileName()).trimmed(), QByteArray::number(4 * blockSize + 1));
    }

    // A second object on the same file is what a restart or another process sees.
    void reopenedNeverRepeats_data()
    {
        QTest::addColumn<quint32>("blockSize");
        QTest::newRow("block-1") << 1u;
        QTest::newRow("block-5") << 5u;
        QTest::newRow("block-256") << 256u;
    }
    void reopenedNeverRepeats()
    {
        QFETCH(quint32, blockSize);
        QTemporaryDir tmp;
        QVERIFY(tmp.isValid());
        auto first = FileInvocationCounter::open(tmp.path(), kEk, kTitle, 0, blockSize);
        QVERIFY(first.ok());
        std::set<quint32> seen;
        auto take = [&](FileInvocationCounter &counter) {
            const auto value = counter.next();
            QVERIFY(value.ok());
            QVERIFY2(seen.insert(*value).second, qPrintable(u"value %1 handed out twice"_s.arg(*value)));
        };
        for (int i = 0; i < 7; ++i)
            take(**first);
        auto second = FileInvocationCounter::open(tmp.path(), kEk, kTitle, 0, blockSize);
        QVERIFY(second.ok());
        QCOMPARE((*second)->fileName(), (*first)->fileName());
        // Every reservation is an fsync'ed file: few enough to stay fast with blocks of 1.
        for (int i = 0; i < 120; ++i)
            take(i % 3 == 0 ? **first : **second);
        QCOMPARE(seen.size(), size_t(127));
        // A restart after both: above everything either handed out.
        const quint32 highest = *seen.rbegin();
        first->reset();
        second->reset();
        auto third = FileInvocationCounter::open(tmp.path(), kEk, kTitle, 0, blockSize);
        QVERIFY(third.ok());
        const auto value = (*third)->next();
        QVERIFY(value.ok());
        QVERIFY2(*value > highest, qPrintable(u"%1 not above %2"_s.arg(*value).arg(highest)));
    }

    void floorRespectedOnExistingFile()
    {
        QTemporaryDir tmp;
        QVERIFY(tmp.isValid());
        auto counter = FileInvocationCounter::open(tmp.path(), kEk, kTitle, 0, 4);
        QVERIFY(counter.ok());
        QCOMPARE(*(*counter)->next(), 1u);
        // The meter has seen up to 4999 from another tool.
        auto raised = FileInvocationCounter::open(tmp.path(), kEk, kTitle, 5000, 4);
        QVERIFY(raised.ok());
        QCOMPARE(*(*raised)->next(), 5000u);
        // The first object's next block starts above what the raised one reserved.
        for (int i = 0; i < 3; ++i)
            QVERIFY((*counter)->next().ok());
        QVERIFY(*(*counter)->next() > 5000u);
    }

    void raiseFloorFromMeter_data()
    {
        QTest::addColumn<quint32>("used"); // values handed out before the meter's answer
        QTest::addColumn<quint32>("floor");
        QTest::addColumn<quint32>("expected"); // this object's next value
        QTest::newRow("above-the-block") << 1u << 5000u << 5004u; // the other took 5000..5003
        QTest::newRow("inside-the-block") << 1u << 3u << 3u;
        QTest::newRow("below-what-is-used") << 3u << 2u << 4u;
    }
    void raiseFloorFromMeter()
    {
        QFETCH(quint32, used);
        QFETCH(quint32, floor);
        QFETCH(quint32, expected);
        QTemporaryDir tmp;
        QVERIFY(tmp.isValid());
        auto opened = FileInvocationCounter::open(tmp.path(), kEk, kTitle, 0, 4);
        QVERIFY(opened.ok());
        // Through the base class, the way ClientSession reaches it.
        std::shared_ptr<dlms::InvocationCounter> counter = *opened;
        for (quint32 i = 1; i <= used; ++i)
            QCOMPARE(*counter->next(), i);
        counter->raiseFloor(floor);
        // Another process opening the file now starts above the floor and this object's block.
        auto other = FileInvocationCounter::open(tmp.path(), kEk, kTitle, 0, 4);
        QVERIFY(other.ok());
        const quint32 otherFirst = *(*other)->next();
        QVERIFY2(otherFirst >= std::max(floor, 5u), qPrintable(QString::number(otherFirst)));
        const auto next = counter->next();
        QVERIFY(next.ok());
        QCOMPARE(*next, expected);
        QVERIFY(*next != otherFirst);
    }

    void separateFilesPerKeyAndTitle()
    {
        QTemporaryDir tmp;
        QVERIFY(tmp.isValid());
        auto a = FileInvocationCounter::open(tmp.path(), kEk, kTitle);
        auto b = FileInvocationCounter::open(tmp.path(), kOtherEk, kTitle);
        auto c = FileInvocationCounter::open(tmp.path(), kEk, QByteArray::fromHex("4D4D4D0000000002"));
        QVERIFY(a.ok() && b.ok() && c.ok());
        QVERIFY((*a)->fileName() != (*b)->fileName());
        QVERIFY((*a)->fileName() != (*c)->fileName());
        QCOMPARE(*(*a)->next(), 1u);
        QCOMPARE(*(*b)->next(), 1u);
        QCOMPARE(*(*c)->next(), 1u);
    }

    void keyNeverWritten()
    {
        QTemporaryDir tmp;
        QVERIFY(tmp.isValid());
        auto counter = FileInvocationCounter::open(tmp.path(), kEk, kTitle);
        QVERIFY(counter.ok());
        QVERIFY((*counter)->next().ok());
        const QString name = QFileInfo((*counter)->fileName()).fileName();
        const QByteArray content = readAll((*counter)->fileName());
        QVERIFY(!content.isEmpty());
        for (const QByteArray &form : {kEk.toHex(), kEk.toHex().toUpper(), kEk}) {
            QVERIFY2(!name.toLatin1().contains(form), qPrintable(name));
            QVERIFY(!content.contains(form));
        }
        // Named by the key's fingerprint and the title, so an operator can tell them apart.
        QVERIFY2(name.startsWith(dlms::security::keyFingerprint(kEk)), qPrintable(name));
        QVERIFY2(name.contains(QString::fromLatin1(kTitle.toHex().toUpper())), qPrintable(name));
        // Nothing else (lock files are removed after each reservation).
        const QStringList entries = QDir(tmp.path()).entryList(QDir::Files | QDir::Hidden);
        QCOMPARE(entries, QStringList {name});
    }

    void corruptFile_data()
    {
        QTest::addColumn<QByteArray>("content");
        QTest::newRow("text") << QByteArray("not a number\n");
        QTest::newRow("empty") << QByteArray();
        QTest::newRow("zero") << QByteArray("0\n");
        QTest::newRow("negative") << QByteArray("-5\n");
        QTest::newRow("above-2^32") << QByteArray("4294967297\n");
        QTest::newRow("trailing-garbage") << QByteArray("12x\n");
        QTest::newRow("huge") << QByteArray(10000, '7');
    }
    void corruptFile()
    {
        QFETCH(QByteArray, content);
        QTemporaryDir tmp;
        QVERIFY(tmp.isValid());
        QString path;
        {
            auto counter = FileInvocationCounter::open(tmp.path(), kEk, kTitle);
            QVERIFY(counter.ok());
            path = (*counter)->fileName();
        }
        QVERIFY(writeText(path, content));
        const auto reopened = FileInvocationCounter::open(tmp.path(), kEk, kTitle);
        QVERIFY(!reopened.ok());
        QCOMPARE(reopened.error().code, dlms::ErrorCode::IoError);
        QVERIFY2(reopened.error().message.contains(path), qPrintable(reopened.error().message));
        QVERIFY2(reopened.error().message.contains(u"corrupt"_s), qPrintable(reopened.error().message));

        // Corrupted under an open counter: its next block cannot be reserved.
        QVERIFY(writeText(path, "1\n"));
        auto counter = FileInvocationCounter::open(tmp.path(), kEk, kTitle, 0, 1);
        QVERIFY(counter.ok());
        QVERIFY((*counter)->next().ok());
        QVERIFY(writeText(path, content));
        const auto next = (*counter)->next();
        QVERIFY(!next.ok());
        QCOMPARE(next.error().code, dlms::ErrorCode::IoError);
        QVERIFY2(next.error().message.contains(path), qPrintable(next.error().message));
    }

    void unwritableDirectory_data()
    {
        QTest::addColumn<QString>("relative"); // under the temporary directory; "/proc…" is absolute
        QTest::newRow("below-a-regular-file") << u"file/dir"_s;
        QTest::newRow("proc") << u"/proc/dlmsbridge-counters"_s;
    }
    void unwritableDirectory()
    {
        QFETCH(QString, relative);
        QTemporaryDir tmp;
        QVERIFY(tmp.isValid());
        QVERIFY(writeText(tmp.filePath(u"file"_s), "x"));
        const QString dir = relative.startsWith(u'/') ? relative : tmp.filePath(relative);
        const auto counter = FileInvocationCounter::open(dir, kEk, kTitle);
        QVERIFY(!counter.ok());
        QCOMPARE(counter.error().code, dlms::ErrorCode::IoError);
        QVERIFY2(counter.error().message.contains(dir), qPrintable(counter.error().message));
        const auto shared = polling::sharedInvocationCounter(dir, kEk, kTitle);
        QVERIFY(!shared.ok());
    }

    // The block is spent: no value can be written anywhere, so next() fails instead of reusing.
    void writeFailureStopsNext()
    {
        QTemporaryDir tmp;
        QVERIFY(tmp.isValid());
        const QString dir = tmp.filePath(u"counters"_s);
        auto counter = FileInvocationCounter::open(dir, kEk, kTitle, 0, 2);
        QVERIFY(counter.ok());
        QCOMPARE(*(*counter)->next(), 1u);
        QCOMPARE(*(*counter)->next(), 2u);
        // The directory replaced by a file: neither the lock nor the counter can be written.
        QVERIFY(QDir(dir).removeRecursively());
        QVERIFY(writeText(dir, "x"));
        const auto next = (*counter)->next();
        QVERIFY(!next.ok());
        QCOMPARE(next.error().code, dlms::ErrorCode::IoError);
    }

    // A holder that is alive keeps its lock however old the lock file: the lock file of this
    // (live) process written by hand, without the native lock a file system may not offer, an
    // hour old. Taking it as stale would let two processes reserve the same block.
    void liveLockHolderKeepsTheLock()
    {
        QTemporaryDir tmp;
        QVERIFY(tmp.isValid());
        auto counter = FileInvocationCounter::open(tmp.path(), kEk, kTitle, 0, 1);
        QVERIFY(counter.ok());
        QCOMPARE(*(*counter)->next(), 1u);

        const QString lockPath = (*counter)->fileName() + u".lock"_s;
        QByteArray contents;
        {
            QLockFile real(lockPath);
            QVERIFY(real.tryLock(0));
            contents = readAll(lockPath);
        }
        QVERIFY(
            contents.startsWith(QByteArray(QByteArray::number(QCoreApplication::applicationPid()) + '\n')));
        QVERIFY(writeText(lockPath, contents));
        QFile lockFile(lockPath);
        QVERIFY(lockFile.open(QIODevice::ReadWrite));
        QVERIFY(lockFile.setFileTime(
            QDateTime::currentDateTimeUtc().addSecs(-3600), QFileDevice::FileModificationTime));
        lockFile.close();

        const auto blocked = (*counter)->next();
        QVERIFY(!blocked.ok());
        QVERIFY2(blocked.error().message.contains(u"another process holds it"_s),
            qPrintable(blocked.error().message));
        QCOMPARE(readAll((*counter)->fileName()).trimmed(), QByteArray("2"));

        // Released: the next value is the one the blocked call could not reserve.
        QVERIFY(QFile::remove(lockPath));
        QCOMPARE(*(*counter)->next(), 2u);
    }

    void exhausted()
    {
        QTemporaryDir tmp;
        QVERIFY(tmp.isValid());
        auto counter = FileInvocationCounter::open(tmp.path(), kEk, kTitle, 0xFFFFFFFE, 256);
        QVERIFY(counter.ok());
        QCOMPARE(*(*counter)->next(), 0xFFFFFFFEu);
        QCOMPARE(*(*counter)->next(), 0xFFFFFFFFu);
        const auto spent = (*counter)->next();
        QVERIFY(!spent.ok());
        QVERIFY2(spent.error().message.contains(u"spent"_s), qPrintable(spent.error().message));
        // And after a restart.
        auto reopened = FileInvocationCounter::open(tmp.path(), kEk, kTitle);
        QVERIFY(reopened.ok());
        QVERIFY(!(*reopened)->next().ok());
    }

    void threadsGetDistinctValues()
    {
        QTemporaryDir tmp;
        QVERIFY(tmp.isValid());
        auto counter = FileInvocationCounter::open(tmp.path(), kEk, kTitle, 0, 64);
        QVERIFY(counter.ok());
        std::shared_ptr<FileInvocationCounter> shared = *counter;
        constexpr int threads = 4;
        constexpr int perThread = 1000;
        std::vector<std::vector<quint32>> values(threads);
        std::vector<std::thread> workers;
        for (int t = 0; t < threads; ++t) {
            workers.emplace_back([&, t] {
                for (int i = 0; i < perThread; ++i) {
                    const auto value = shared->next();
                    values[size_t(t)].push_back(value.ok() ? *value : 0);
                }
            });
        }
        for (std::thread &worker : workers)
            worker.join();
        std::set<quint32> all;
        for (const std::vector<quint32> &list : values) {
            QVERIFY(std::is_sorted(list.cbegin(), list.cend())); // each thread sees them rise
            all.insert(list.cbegin(), list.cend());
        }
        QVERIFY(!all.contains(0));
        QCOMPARE(all.size(), size_t(threads * perThread));
    }

    void sharedCounterIsOneObject()
    {
        QTemporaryDir tmp;
        QVERIFY(tmp.isValid());
        auto a = polling::sharedInvocationCounter(tmp.path(), kEk, kTitle);
        auto b = polling::sharedInvocationCounter(tmp.path() + u"/./"_s, kEk, kTitle);
        auto other = polling::sharedInvocationCounter(tmp.path(), kOtherEk, kTitle);
        QVERIFY(a.ok() && b.ok() && other.ok());
        QCOMPARE(a->get(), b->get());
        QVERIFY(a->get() != other->get());
        QCOMPARE(*(*a)->next(), 1u);
        QCOMPARE(*(*b)->next(), 2u);
        // A later floor reaches the same object.
        auto raised = polling::sharedInvocationCounter(tmp.path(), kEk, kTitle, 100);
        QVERIFY(raised.ok());
        QCOMPARE(raised->get(), a->get());
        QCOMPARE(*(*a)->next(), 100u);
        // Once nobody holds it, a new object continues above everything reserved.
        a->reset();
        b->reset();
        raised->reset();
        auto fresh = polling::sharedInvocationCounter(tmp.path(), kEk, kTitle);
        QVERIFY(fresh.ok());
        QVERIFY(*(*fresh)->next() > 100u);
    }

    void badArguments_data()
    {
        QTest::addColumn<QByteArray>("key");
        QTest::addColumn<QByteArray>("title");
        QTest::newRow("short-key") << kEk.left(15) << kTitle;
        QTest::newRow("empty-key") << QByteArray() << kTitle;
        QTest::newRow("long-title") << kEk << kTitle + 'x';
    }
    void badArguments()
    {
        QFETCH(QByteArray, key);
        QFETCH(QByteArray, title);
        QTemporaryDir tmp;
        QVERIFY(tmp.isValid());
        const auto counter = FileInvocationCounter::open(tmp.path(), key, title);
        QVERIFY(!counter.ok());
        QCOMPARE(counter.error().code, dlms::ErrorCode::InvalidArgument);
        QVERIFY(QDir(tmp.path()).isEmpty());
    }

    // What every connection to a configured meter gets: the shared counter when the meter uses
    // suite 0, nothing otherwise, and a counter that refuses when the store cannot be opened.
    void meterConnectionOptions_data()
    {
        QTest::addColumn<int>("authentication");
        QTest::addColumn<int>("policy");
        QTest::addColumn<bool>("usable"); // the directory can be created
        QTest::addColumn<bool>("counter"); // a counter is installed
        QTest::newRow("plain") << int(dlms::Authentication::None) << int(dlms::SecurityPolicy::None) << true
                               << false;
        QTest::newRow("lls") << int(dlms::Authentication::Low) << int(dlms::SecurityPolicy::None) << true
                             << false;
        QTest::newRow("hls-gmac") << int(dlms::Authentication::HighGmac) << int(dlms::SecurityPolicy::None)
                                  << true << true;
        QTest::newRow("enc-only") << int(dlms::Authentication::None) << int(dlms::SecurityPolicy::Encrypted)
                                  << true << true;
        QTest::newRow("hls-gmac-store-unusable")
            << int(dlms::Authentication::HighGmac) << int(dlms::SecurityPolicy::AuthenticatedEncrypted)
            << false << true;
    }
    void meterConnectionOptions()
    {
        QFETCH(int, authentication);
        QFETCH(int, policy);
        QFETCH(bool, usable);
        QFETCH(bool, counter);
        QTemporaryDir tmp;
        QVERIFY(tmp.isValid());
        QVERIFY(writeText(tmp.filePath(u"file"_s), "x"));
        const QString dir = tmp.filePath(usable ? u"counters"_s : u"file/counters"_s);
        const QByteArray saved = qgetenv("DLMSBRIDGE_COUNTER_DIR");
        qputenv("DLMSBRIDGE_COUNTER_DIR", QFile::encodeName(dir));
        polling::MeterConfig meter;
        meter.id = u"m1"_s;
        meter.host = u"127.0.0.1"_s;
        meter.authentication = dlms::Authentication(authentication);
        meter.password = "12345678";
        meter.security.policy = dlms::SecurityPolicy(policy);
        meter.security.systemTitle = kTitle;
        meter.security.blockCipherKey = kEk;
        meter.security.authenticationKey = kEk;
        const polling::DlmsConnection::Options options = polling::connectionOptions(meter);
        if (saved.isEmpty())
            qunsetenv("DLMSBRIDGE_COUNTER_DIR");
        else
            qputenv("DLMSBRIDGE_COUNTER_DIR", saved);

        QCOMPARE(options.client.security, meter.security);
        QCOMPARE(bool(options.client.invocationCounter), counter);
        if (!counter)
            return;
        const auto value = options.client.invocationCounter->next();
        QCOMPARE(value.ok(), usable);
        if (usable) {
            QCOMPARE(*value, 1u);
            QCOMPARE(QDir(dir).entryList({u"*.ic"_s}, QDir::Files).size(), 1);
            // The same object as anyone else's for this key and title.
            const auto shared = polling::sharedInvocationCounter(dir, kEk, kTitle);
            QVERIFY(shared.ok());
            QCOMPARE(shared->get(), options.client.invocationCounter.get());
        } else {
            QCOMPARE(value.error().code, dlms::ErrorCode::IoError);
            QVERIFY2(value.error().message.contains(dir), qPrintable(value.error().message));
        }
    }

    void defaultDirectory()
    {
        const QByteArray saved = qgetenv("DLMSBRIDGE_COUNTER_DIR");
        qputenv("DLMSBRIDGE_COUNTER_DIR", "/tmp/dlmsbridge-test-counters");
        QCOMPARE(polling::defaultInvocationCounterDirectory(), u"/tmp/dlmsbridge-test-counters"_s);
        qunsetenv("DLMSBRIDGE_COUNTER_DIR");
        QVERIFY2(polling::defaultInvocationCounterDirectory().endsWith(u"/dlmsbridge/invocation-counters"_s),
            qPrintable(polling::defaultInvocationCounterDirectory()));
        if (!saved.isEmpty())
            qputenv("DLMSBRIDGE_COUNTER_DIR", saved);
    }
};

QTEST_GUILESS_MAIN(tst_InvocationCounterStore)
#include "tst_invocationcounterstore.moc"
