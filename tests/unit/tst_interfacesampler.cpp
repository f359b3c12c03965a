#include "interfacesampler.h"

#include <QtCore/QDir>
#include <QtCore/QFile>
#include <QtCore/QRandomGenerator>
#include <QtCore/QTemporaryDir>
#include <QtNetwork/QTcpServer>
#include <QtNetwork/QTcpSocket>
#include <QtTest/QSignalSpy>
#include <QtTest/QTest>

#include <limits>
#include <memory>

using namespace Qt::StringLiterals;
using monitor::InterfaceCounters;
using monitor::InterfaceRates;
using monitor::InterfaceSampler;
using monitor::ProcNetDevSource;

namespace {

constexpr quint64 U64Max = std::numeric_limits<quint64>::max();

const QByteArray procHeader
    = "Inter-|   Receive                                                |  Transmit\n"
      " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets "
      "errs drop fifo colls carrier compressed\n";

InterfaceCounters counters(const QString &name, quint64 rxBytes, quint64 rxPackets, quint64 txBytes,
    quint64 txPackets, quint64 rxErrors = 0, quint64 rxDrops = 0, quint64 txErrors = 0, quint64 txDrops = 0)
{
    InterfaceCounters c;
    c.name = name;
    c.rxBytes = rxBytes;
    c.rxPackets = rxPackets;
    c.rxErrors = rxErrors;
    c.rxDrops = rxDrops;
    c.txBytes = txBytes;
    c.txPackets = txPackets;
    c.txErrors = txErrors;
    c.txDrops = txDrops;
    return c;
}

// The kernel's own layout ("%6s:%8llu %7llu …"): a first counter of 8+ digits touches the colon.
// The fifo/frame/compressed/multicast and fifo/colls/carrier/compressed columns get distinct
// values so a wrong column mapping shows.
QByteArray procNetDev(const QList<InterfaceCounters> &interfaces)
{
    QByteArray text = procHeader;
    for (const InterfaceCounters &c : interfaces) {
        text += QString::asprintf(
            "%6s:%8llu %7llu %4llu %4llu %4u %5u %10u %9u %8llu %7llu %4llu %4llu %4u %5u "
            "%7u %10u\n",
            c.name.toLatin1().constData(), c.rxBytes, c.rxPackets, c.rxErrors, c.rxDrops, 91u, 92u, 93u, 94u,
            c.txBytes, c.txPackets, c.txErrors, c.txDrops, 95u, 96u, 97u, 98u)
                    .toLatin1();
    }
    return text;
}

QString describe(const std::vector<InterfaceCounters> &list)
{
    QStringList parts;
    for (const InterfaceCounters &c : list) {
        parts << u"%1 rx=%2/%3/%4/%5 tx=%6/%7/%8/%9"_s.arg(c.name)
                     .arg(c.rxBytes)
                     .arg(c.rxPackets)
                     .arg(c.rxErrors)
                     .arg(c.rxDrops)
                     .arg(c.txBytes)
                     .arg(c.txPackets)
                     .arg(c.txErrors)
                     .arg(c.txDrops);
    }
    return parts.join(u"; "_s);
}

const InterfaceCounters *find(const std::vector<InterfaceCounters> &list, const QString &name)
{
    for (const InterfaceCounters &c : list)
        if (c.name == name)
            return &c;
    return nullptr;
}

// A fixture file the test rewrites between samples, and a clock it moves by hand.
class Fixture {
public:
    Fixture() : m_path(m_dir.filePath(u"dev"_s)) { }

    bool write(const QByteArray &text)
    {
        QFile file(m_path);
        if (!file.open(QIODevice::WriteOnly | QIODevice::Truncate))
            return false;
        return file.write(text) == text.size();
    }
    bool write(const QList<InterfaceCounters> &interfaces) { return write(procNetDev(interfaces)); }
    bool remove() { return QFile::remove(m_path); }
    QString path() const { return m_path; }

    std::unique_ptr<InterfaceSampler> sampler(const QString &interfaceName = {})
    {
        InterfaceSampler::Options options;
        options.interfaceName = interfaceName;
        options.autoSample = false;
        options.clock = [this] { return nowMs + utcStepMs; };
        options.monotonicClock = [this] { return nowMs - 1'699'999'000'000; };
        return std::make_unique<InterfaceSampler>(options, std::make_unique<ProcNetDevSource>(m_path));
    }

    // Time passing moves nowMs (both clocks); utcStepMs sets the wall clock alone.
    qint64 nowMs = 1'700'000'000'000;
    qint64 utcStepMs = 0;

private:
    QTemporaryDir m_dir;
    QString m_path;
};

InterfaceRates ratesAt(const QSignalSpy &spy, qsizetype index)
{
    return spy.at(index).at(0).value<InterfaceRates>();
}

} // namespace

class tst_InterfaceSampler : public QObject {
    Q_OBJECT

private slots:
    void parse_data()
    {
        QTest::addColumn<QByteArray>("text");
        QTest::addColumn<QString>("expected"); // describe() of the parsed list

        QTest::newRow("linux-normal")
            << procHeader
                + "    lo:  713691 6092    0  196    0     0          0         0   713691    6092    0    "
                  "0    0     0       0          0\n"
                  "  eth0: 123 4 5 6 0 0 0 0 567 8 9 10 0 0 0 0\n"
            << u"lo rx=713691/6092/0/196 tx=713691/6092/0/0; eth0 rx=123/4/5/6 tx=567/8/9/10"_s;
        QTest::newRow("glued-large-number")
            << QByteArray("  eth0:123456789 4 0 0 0 0 0 0 567 8 0 0 0 0 0 0\n")
            << u"eth0 rx=123456789/4/0/0 tx=567/8/0/0"_s;
        QTest::newRow("kernel-format-glued")
            << procNetDev({counters(u"enp3s0"_s, 1234567890123ULL, 77, 98765432109ULL, 66, 1, 2, 3, 4)})
            << u"enp3s0 rx=1234567890123/77/1/2 tx=98765432109/66/3/4"_s;
        QTest::newRow("tabs-and-crlf")
            << QByteArray("eth0:\t1\t2\t3\t4\t5\t6\t7\t8\t9\t10\t11\t12\t13\t14\t15\t16\r\n")
            << u"eth0 rx=1/2/3/4 tx=9/10/11/12"_s;
        QTest::newRow("no-final-newline") << QByteArray("eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16")
                                          << u"eth0 rx=1/2/3/4 tx=9/10/11/12"_s;
        QTest::newRow("extra-columns-ignored")
            << QByteArray("eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18\n")
            << u"eth0 rx=1/2/3/4 tx=9/10/11/12"_s;
        QTest::newRow("short-line") << QByteArray("eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15\n"
                                                  "eth1: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n")
                                    << u"eth1 rx=1/2/3/4 tx=9/10/11/12"_s;
        QTest::newRow("name-only") << QByteArray("eth0:\neth1:") << QString();
        QTest::newRow("headers-only") << procHeader << QString();
        QTest::newRow("empty") << QByteArray() << QString();
        QTest::newRow("newlines-only") << QByteArray("\n\n\n") << QString();
        QTest::newRow("garbage") << QByteArray(
            "hello world\n:::\n: 1 2 3\n eth0: a b c\nfoo: 1 2 3 4 5 6 7 8 9 x "
            "11 12 13 14 15 16\n")
                                 << QString();
        QTest::newRow("negative-number")
            << QByteArray("eth0: -1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n") << QString();
        QTest::newRow("plus-sign") << QByteArray("eth0: +1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n")
                                   << QString();
        QTest::newRow("binary-bytes")
            << QByteArrayLiteral("eth\x00\xff: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n"
                                 "eth0: 1 2\x00 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n"
                                 "\x80\x81\xfe\n"
                                 "eth1: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n")
            << u"eth1 rx=1/2/3/4 tx=9/10/11/12"_s;
        QTest::newRow("u64-max") << QByteArray(
            "eth0: 18446744073709551615 1 2 3 0 0 0 0 18446744073709551615 "
            "18446744073709551614 4 5 0 0 0 0\n")
                                 << u"eth0 rx=%1/1/2/3 tx=%1/%2/4/5"_s.arg(U64Max).arg(U64Max - 1);
        QTest::newRow("u64-overflow")
            << QByteArray("eth0: 18446744073709551616 1 2 3 0 0 0 0 1 1 1 1 0 0 0 0\n") << QString();
        QTest::newRow("huge-digit-run")
            << QByteArray("eth0: " + QByteArray(5000, '9') + " 1 2 3 0 0 0 0 1 1 1 1 0 0 0 0\n") << QString();
        QTest::newRow("name-too-long")
            << QByteArray("abcdefghijklmnop: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n"
                          "abcdefghijklmno: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n")
            << u"abcdefghijklmno rx=1/2/3/4 tx=9/10/11/12"_s;
        QTest::newRow("empty-name") << QByteArray("   : 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n")
                                    << QString();
        QTest::newRow("name-with-space")
            << QByteArray("et h0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n") << QString();
        QTest::newRow("second-colon-in-numbers")
            << QByteArray("eth0: 1 2 3 4 5 6 7 8:9 10 11 12 13 14 15 16\n") << QString();
    }
    void parse()
    {
        QFETCH(QByteArray, text);
        QFETCH(QString, expected);
        QCOMPARE(describe(monitor::parseProcNetDev(text)), expected);
    }

    // Random bytes and random damage to a real-looking file: never a crash, and whatever is
    // accepted has a plausible interface name.
    void parseNeverCrashes()
    {
        QRandomGenerator rng(20261124);
        const QByteArray valid = procNetDev({counters(u"lo"_s, 1, 2, 3, 4), counters(u"eth0"_s, 5, 6, 7, 8)});
        qsizetype accepted = 0;
        for (int round = 0; round < 3000; ++round) {
            QByteArray text;
            if (round % 2 == 0) {
                text.resize(rng.bounded(0, 400));
                for (char &c : text)
                    c = char(rng.bounded(256));
            } else {
                text = valid;
                for (int i = rng.bounded(1, 8); i > 0; --i)
                    text[rng.bounded(text.size())] = char(rng.bounded(256));
            }
            const auto parsed = monitor::parseProcNetDev(text);
            for (const InterfaceCounters &c : parsed) {
                QVERIFY(!c.name.isEmpty());
                QVERIFY(c.name.toUtf8().size() <= 15 * 3);
                QVERIFY(!c.name.contains(u':') && !c.name.contains(u' '));
            }
            accepted += qsizetype(parsed.size());
        }
        QVERIFY(accepted > 0); // the mutated files still parse most of the time
    }

    void sourceReadsFile()
    {
        Fixture f;
        QVERIFY(f.write({counters(u"lo"_s, 10, 1, 10, 1), counters(u"eth0"_s, 100, 2, 200, 3)}));
        ProcNetDevSource source(f.path());
        QCOMPARE(source.description(), f.path());
        const auto read = source.read();
        QVERIFY2(read.ok(), qPrintable(read.ok() ? QString() : read.error().message));
        QCOMPARE(describe(*read), u"lo rx=10/1/0/0 tx=10/1/0/0; eth0 rx=100/2/0/0 tx=200/3/0/0"_s);
        QCOMPARE(monitor::makeDefaultInterfaceSource()->description(), u"/proc/net/dev"_s);
    }

    void sourceErrors_data()
    {
        QTest::addColumn<QString>("relativePath");
        QTest::newRow("missing-file") << u"no/such/file"_s;
        QTest::newRow("directory") << u"."_s;
    }
    void sourceErrors()
    {
        QFETCH(QString, relativePath);
        QTemporaryDir dir;
        const QString path = QDir::cleanPath(dir.filePath(relativePath));
        ProcNetDevSource source(path);
        const auto read = source.read();
        QVERIFY(!read.ok());
        QCOMPARE(read.error().code, dlms::ErrorCode::IoError);
        QVERIFY2(read.error().message.startsWith(u"cannot read "_s + path + u": "_s),
            qPrintable(read.error().message));
    }

    void ratesAreExact()
    {
        Fixture f;
        auto sampler = f.sampler();
        QSignalSpy sampled(sampler.get(), &InterfaceSampler::sampled);
        QSignalSpy errors(sampler.get(), &InterfaceSampler::errorOccurred);

        QVERIFY(f.write(
            {counters(u"lo"_s, 1000, 10, 1000, 10), counters(u"eth0"_s, 5000, 50, 7000, 70, 1, 2, 3, 4)}));
        sampler->sample(); // the baseline
        QCOMPARE(sampled.size(), 0);
        QVERIFY(!sampler->lastRates());

        f.nowMs += 2000;
        QVERIFY(f.write({counters(u"lo"_s, 900'000, 900, 900'000, 900),
            counters(u"eth0"_s, 5000 + 1500, 50 + 30, 7000 + 3000, 70 + 10, 1 + 5, 2 + 6, 3 + 7, 4 + 8)}));
        sampler->sample();
        QCOMPARE(sampled.size(), 1);
        const InterfaceRates r = ratesAt(sampled, 0);
        QCOMPARE(r.timestampMs, f.nowMs);
        QCOMPARE(r.intervalS, 2.0);
        QCOMPARE(r.interfaces, QStringList {u"eth0"_s});
        QCOMPARE(r.rxBps, 1500 * 8 / 2.0);
        QCOMPARE(r.txBps, 3000 * 8 / 2.0);
        QCOMPARE(r.rxPps, 15.0);
        QCOMPARE(r.txPps, 5.0);
        QCOMPARE(r.rxErrors, quint64(5));
        QCOMPARE(r.rxDrops, quint64(6));
        QCOMPARE(r.txErrors, quint64(7));
        QCOMPARE(r.txDrops, quint64(8));
        QVERIFY(sampler->lastRates());
        QCOMPARE(sampler->lastRates()->txBps, r.txBps);

        // The real elapsed time counts, not the nominal interval: 250 ms → four times the rate.
        f.nowMs += 250;
        QVERIFY(f.write({counters(u"lo"_s, 900'000, 900, 900'000, 900),
            counters(u"eth0"_s, 6500 + 1000, 80 + 1, 10000 + 2000, 80 + 2, 6, 8, 10, 12)}));
        sampler->sample();
        QCOMPARE(sampled.size(), 2);
        const InterfaceRates quarter = ratesAt(sampled, 1);
        QCOMPARE(quarter.intervalS, 0.25);
        QCOMPARE(quarter.rxBps, 32000.0);
        QCOMPARE(quarter.txBps, 64000.0);
        QCOMPARE(quarter.rxPps, 4.0);
        QCOMPARE(quarter.txPps, 8.0);
        QCOMPARE(quarter.rxErrors + quarter.txErrors + quarter.rxDrops + quarter.txDrops, quint64(0));
        QCOMPARE(errors.size(), 0);
    }

    // Default: every interface but lo, summed; a name picks exactly one (lo included).
    void interfaceSelection_data()
    {
        QTest::addColumn<QString>("name");
        QTest::addColumn<QStringList>("summed");
        QTest::addColumn<double>("rxBps");
        QTest::addColumn<double>("txPps");
        QTest::newRow("all-but-lo") << QString() << QStringList {u"eth0"_s, u"wlan0"_s, u"docker0"_s}
                                    << (100.0 + 20.0 + 3.0) * 8 << (1.0 + 2.0 + 4.0);
        QTest::newRow("named-wlan0") << u"wlan0"_s << QStringList {u"wlan0"_s} << 20.0 * 8 << 2.0;
        QTest::newRow("named-lo") << u"lo"_s << QStringList {u"lo"_s} << 1000.0 * 8 << 1000.0;
    }
    void interfaceSelection()
    {
        QFETCH(QString, name);
        QFETCH(QStringList, summed);
        QFETCH(double, rxBps);
        QFETCH(double, txPps);
        Fixture f;
        auto sampler = f.sampler(name);
        QSignalSpy sampled(sampler.get(), &InterfaceSampler::sampled);
        QVERIFY(f.write({counters(u"eth0"_s, 0, 0, 0, 0), counters(u"lo"_s, 0, 0, 0, 0),
            counters(u"wlan0"_s, 0, 0, 0, 0), counters(u"docker0"_s, 0, 0, 0, 0)}));
        sampler->sample();
        f.nowMs += 1000;
        QVERIFY(f.write({counters(u"eth0"_s, 100, 1, 0, 1), counters(u"lo"_s, 1000, 1000, 1000, 1000),
            counters(u"wlan0"_s, 20, 1, 0, 2), counters(u"docker0"_s, 3, 1, 0, 4)}));
        sampler->sample();
        QCOMPARE(sampled.size(), 1);
        const InterfaceRates r = ratesAt(sampled, 0);
        QCOMPARE(r.interfaces, summed);
        QCOMPARE(r.rxBps, rxBps);
        QCOMPARE(r.txPps, txPps);
    }

    // A counter that went backwards counts its new value (restarted from zero); the interface's
    // other counters go on normally.
    void counterReset()
    {
        Fixture f;
        auto sampler = f.sampler();
        QSignalSpy sampled(sampler.get(), &InterfaceSampler::sampled);
        QVERIFY(f.write({counters(u"eth0"_s, 1'000'000, 500, 4'000'000'000ULL, 900, 7, 7, 7, 7)}));
        sampler->sample();
        f.nowMs += 1000;
        QVERIFY(f.write({counters(u"eth0"_s, 400, 3, 4'000'000'100ULL, 901, 2, 7, 7, 9)}));
        sampler->sample();
        QCOMPARE(sampled.size(), 1);
        const InterfaceRates r = ratesAt(sampled, 0);
        QCOMPARE(r.rxBps, 400.0 * 8);
        QCOMPARE(r.rxPps, 3.0);
        QCOMPARE(r.txBps, 100.0 * 8);
        QCOMPARE(r.txPps, 1.0);
        QCOMPARE(r.rxErrors, quint64(2));
        QCOMPARE(r.rxDrops, quint64(0));
        QCOMPARE(r.txDrops, quint64(2));
        // A 64-bit counter at its maximum that wraps to a small value: no 2^64 spike either.
        QVERIFY(f.write({counters(u"eth0"_s, U64Max, 3, 0, 901)}));
        f.nowMs += 1000;
        sampler->sample();
        QVERIFY(f.write({counters(u"eth0"_s, 10, 4, 0, 901)}));
        f.nowMs += 1000;
        sampler->sample();
        QCOMPARE(sampled.size(), 3);
        QCOMPARE(ratesAt(sampled, 2).rxBps, 80.0);
    }

    void interfaceAppearsAndDisappears()
    {
        Fixture f;
        auto sampler = f.sampler();
        QSignalSpy sampled(sampler.get(), &InterfaceSampler::sampled);
        QVERIFY(f.write({counters(u"eth0"_s, 0, 0, 0, 0)}));
        sampler->sample();

        // eth1 appears with counters already high: its first read is only its baseline.
        f.nowMs += 1000;
        QVERIFY(f.write({counters(u"eth0"_s, 10, 1, 0, 0), counters(u"eth1"_s, 1'000'000, 1000, 0, 0)}));
        sampler->sample();
        QCOMPARE(sampled.size(), 1);
        QCOMPARE(ratesAt(sampled, 0).interfaces, QStringList {u"eth0"_s});
        QCOMPARE(ratesAt(sampled, 0).rxBps, 80.0);

        f.nowMs += 1000;
        QVERIFY(f.write({counters(u"eth0"_s, 20, 2, 0, 0), counters(u"eth1"_s, 1'000'100, 1001, 0, 0)}));
        sampler->sample();
        QCOMPARE(sampled.size(), 2);
        QCOMPARE(ratesAt(sampled, 1).interfaces, (QStringList {u"eth0"_s, u"eth1"_s}));
        QCOMPARE(ratesAt(sampled, 1).rxBps, 110.0 * 8);
        QCOMPARE(ratesAt(sampled, 1).rxPps, 2.0);

        // eth0 disappears: dropped from the sum, nothing negative or stale counted.
        f.nowMs += 1000;
        QVERIFY(f.write({counters(u"eth1"_s, 1'000'200, 1002, 0, 0)}));
        sampler->sample();
        QCOMPARE(sampled.size(), 3);
        QCOMPARE(ratesAt(sampled, 2).interfaces, QStringList {u"eth1"_s});
        QCOMPARE(ratesAt(sampled, 2).rxBps, 800.0);

        // Back again (re-created, counters from zero): baseline first, then counted.
        f.nowMs += 1000;
        QVERIFY(f.write({counters(u"eth0"_s, 5, 1, 0, 0), counters(u"eth1"_s, 1'000'200, 1002, 0, 0)}));
        sampler->sample();
        QCOMPARE(ratesAt(sampled, 3).interfaces, QStringList {u"eth1"_s});
        QCOMPARE(ratesAt(sampled, 3).rxBps, 0.0);
        f.nowMs += 1000;
        QVERIFY(f.write({counters(u"eth0"_s, 10, 2, 0, 0), counters(u"eth1"_s, 1'000'200, 1002, 0, 0)}));
        sampler->sample();
        QCOMPARE(ratesAt(sampled, 4).interfaces, (QStringList {u"eth0"_s, u"eth1"_s}));
        QCOMPARE(ratesAt(sampled, 4).rxBps, 40.0);
    }

    void missingNamedInterface()
    {
        Fixture f;
        auto sampler = f.sampler(u"eth9"_s);
        QSignalSpy sampled(sampler.get(), &InterfaceSampler::sampled);
        QSignalSpy errors(sampler.get(), &InterfaceSampler::errorOccurred);
        QVERIFY(f.write({counters(u"lo"_s, 0, 0, 0, 0), counters(u"eth0"_s, 0, 0, 0, 0)}));
        for (int i = 0; i < 3; ++i) {
            sampler->sample();
            f.nowMs += 1000;
        }
        QCOMPARE(errors.size(), 1); // once, not every second
        QCOMPARE(errors.at(0).at(0).toString(), u"interface eth9 not found; present: lo, eth0"_s);
        QCOMPARE(sampled.size(), 0);
        QVERIFY(!sampler->lastRates());

        // It appears: its first read is the baseline, the next one gives rates.
        QVERIFY(f.write({counters(u"lo"_s, 0, 0, 0, 0), counters(u"eth9"_s, 100, 1, 0, 0)}));
        sampler->sample();
        QCOMPARE(sampled.size(), 0);
        f.nowMs += 1000;
        QVERIFY(f.write({counters(u"lo"_s, 0, 0, 0, 0), counters(u"eth9"_s, 300, 3, 0, 0)}));
        sampler->sample();
        QCOMPARE(sampled.size(), 1);
        QCOMPARE(ratesAt(sampled, 0).rxBps, 1600.0);

        // Gone again: reported again (the trouble is new), still once.
        QVERIFY(f.write({counters(u"lo"_s, 0, 0, 0, 0)}));
        for (int i = 0; i < 2; ++i) {
            f.nowMs += 1000;
            sampler->sample();
        }
        QCOMPARE(errors.size(), 2);
        QCOMPARE(errors.at(1).at(0).toString(), u"interface eth9 not found; present: lo"_s);
        QCOMPARE(sampled.size(), 1);
    }

    void unreadableFile()
    {
        Fixture f;
        auto sampler = f.sampler();
        QSignalSpy sampled(sampler.get(), &InterfaceSampler::sampled);
        QSignalSpy errors(sampler.get(), &InterfaceSampler::errorOccurred);
        sampler->sample();
        f.nowMs += 1000;
        sampler->sample();
        QCOMPARE(errors.size(), 1);
        QVERIFY2(errors.at(0).at(0).toString().startsWith(u"cannot read "_s + f.path() + u": "_s),
            qPrintable(errors.at(0).at(0).toString()));
        QCOMPARE(sampled.size(), 0);

        QVERIFY(f.write({counters(u"eth0"_s, 0, 0, 0, 0)}));
        f.nowMs += 1000;
        sampler->sample(); // the first good read is the baseline
        QCOMPARE(sampled.size(), 0);
        f.nowMs += 1000;
        QVERIFY(f.write({counters(u"eth0"_s, 50, 5, 0, 0)}));
        sampler->sample();
        QCOMPARE(sampled.size(), 1);

        // A failed read in between keeps the baseline: the next rates cover the whole gap.
        QVERIFY(f.remove());
        f.nowMs += 1000;
        sampler->sample();
        QCOMPARE(errors.size(), 2);
        QVERIFY(f.write({counters(u"eth0"_s, 50 + 400, 5 + 4, 0, 0)}));
        f.nowMs += 1000;
        sampler->sample();
        QCOMPARE(sampled.size(), 2);
        QCOMPARE(ratesAt(sampled, 1).intervalS, 2.0);
        QCOMPARE(ratesAt(sampled, 1).rxBps, 1600.0);
        QCOMPARE(ratesAt(sampled, 1).rxPps, 2.0);
    }

    // Same millisecond: no rates, and the bytes wait for the next sample. An injected monotonic
    // clock that went back: no rates, the read becomes the new baseline.
    void clockThatDoesNotAdvance()
    {
        Fixture f;
        auto sampler = f.sampler();
        QSignalSpy sampled(sampler.get(), &InterfaceSampler::sampled);
        QVERIFY(f.write({counters(u"eth0"_s, 0, 0, 0, 0)}));
        sampler->sample();
        QVERIFY(f.write({counters(u"eth0"_s, 100, 1, 0, 0)}));
        sampler->sample();
        QCOMPARE(sampled.size(), 0);
        f.nowMs += 1000;
        QVERIFY(f.write({counters(u"eth0"_s, 200, 2, 0, 0)}));
        sampler->sample();
        QCOMPARE(sampled.size(), 1);
        QCOMPARE(ratesAt(sampled, 0).rxBps, 1600.0);

        f.nowMs -= 60'000;
        QVERIFY(f.write({counters(u"eth0"_s, 300, 3, 0, 0)}));
        sampler->sample();
        QCOMPARE(sampled.size(), 1);
        f.nowMs += 500;
        QVERIFY(f.write({counters(u"eth0"_s, 350, 4, 0, 0)}));
        sampler->sample();
        QCOMPARE(sampled.size(), 2);
        QCOMPARE(ratesAt(sampled, 1).intervalS, 0.5);
        QCOMPARE(ratesAt(sampled, 1).rxBps, 800.0);
    }

    // Setting the wall clock back or forward changes no rate: intervals are monotonic, only
    // the timestamps follow the wall clock.
    void wallClockStepsKeepRates_data()
    {
        QTest::addColumn<qint64>("stepMs");
        QTest::newRow("utc-back-10s") << qint64(-10'000);
        QTest::newRow("utc-forward-10min") << qint64(600'000);
    }

    void wallClockStepsKeepRates()
    {
        QFETCH(qint64, stepMs);
        Fixture f;
        auto sampler = f.sampler();
        QSignalSpy sampled(sampler.get(), &InterfaceSampler::sampled);
        quint64 rx = 0;
        quint64 tx = 0;
        for (int i = 0; i <= 6; ++i) {
            QVERIFY(f.write({counters(u"eth0"_s, rx, rx / 100, tx, tx / 100)}));
            sampler->sample();
            rx += 12'500; // 100 kbit/s
            tx += 2500; // 20 kbit/s
            if (i == 3)
                f.utcStepMs += stepMs;
            f.nowMs += 1000;
        }
        QCOMPARE(sampled.size(), 6);
        for (qsizetype i = 0; i < sampled.size(); ++i) {
            const InterfaceRates r = ratesAt(sampled, i);
            QCOMPARE(r.intervalS, 1.0);
            QCOMPARE(r.rxBps, 100'000.0);
            QCOMPARE(r.txBps, 20'000.0);
            QCOMPARE(r.rxPps, 125.0);
            QCOMPARE(r.txPps, 25.0);
        }
        // The labels are wall-clock time, step included.
        QCOMPARE(ratesAt(sampled, 2).timestampMs, 1'700'000'003'000);
        QCOMPARE(ratesAt(sampled, 3).timestampMs, 1'700'000'004'000 + stepMs);
    }

    // start() takes a fresh baseline (even after earlier samples), and the timer samples.
    void startAndTimer()
    {
        Fixture f;
        QVERIFY(f.write({counters(u"eth0"_s, 0, 0, 0, 0)}));
        {
            auto manual = f.sampler();
            QSignalSpy sampled(manual.get(), &InterfaceSampler::sampled);
            manual->sample();
            f.nowMs += 1000;
            manual->start();
            QCOMPARE(sampled.size(), 0);
            f.nowMs += 1000;
            manual->sample();
            QCOMPARE(sampled.size(), 1);
        }
        InterfaceSampler::Options options;
        options.intervalMs = 20;
        InterfaceSampler timed(options, std::make_unique<ProcNetDevSource>(f.path()));
        QSignalSpy sampled(&timed, &InterfaceSampler::sampled);
        timed.start();
        QVERIFY(sampled.wait(10000));
        QCOMPARE(ratesAt(sampled, 0).interfaces, QStringList {u"eth0"_s});
        timed.stop();
    }

    // The real thing: lo is listed, and bytes sent over a loopback connection show in its
    // counters (other traffic on lo can only add to them).
    void realLoopbackCounters()
    {
        if (!QFile::exists(u"/proc/net/dev"_s))
            QSKIP("no /proc/net/dev on this system");
        ProcNetDevSource source;
        const auto before = source.read();
        QVERIFY2(before.ok(), qPrintable(before.ok() ? QString() : before.error().message));
        const InterfaceCounters *loBefore = find(*before, u"lo"_s);
        QVERIFY2(loBefore, qPrintable(describe(*before)));
        const InterfaceCounters lo0 = *loBefore;

        constexpr qint64 N = 1 << 20;
        QTcpServer server;
        QVERIFY(server.listen(QHostAddress::LocalHost, 0));
        QTcpSocket client;
        QSignalSpy connected(&client, &QTcpSocket::connected);
        QSignalSpy incoming(&server, &QTcpServer::newConnection);
        client.connectToHost(QHostAddress::LocalHost, server.serverPort());
        QVERIFY(connected.wait(10000));
        QTRY_VERIFY_WITH_TIMEOUT(server.hasPendingConnections(), 10000);
        std::unique_ptr<QTcpSocket> peer(server.nextPendingConnection());
        client.write(QByteArray(N, 'x'));
        QSignalSpy readyRead(peer.get(), &QTcpSocket::readyRead);
        qint64 received = 0;
        for (;;) {
            received += peer->readAll().size();
            if (received >= N || !readyRead.wait(10000))
                break;
        }
        QCOMPARE(received, N);

        const auto after = source.read();
        QVERIFY(after.ok());
        const InterfaceCounters *lo1 = find(*after, u"lo"_s);
        QVERIFY(lo1);
        QVERIFY2(lo1->rxBytes - lo0.rxBytes >= quint64(N), qPrintable(describe(*after)));
        QVERIFY2(lo1->txBytes - lo0.txBytes >= quint64(N), qPrintable(describe(*after)));
        QVERIFY(lo1->rxPackets > lo0.rxPackets);
        QVERIFY(lo1->txPackets > lo0.txPackets);
    }
};

QTEST_GUILESS_MAIN(tst_InterfaceSampler)
#include "tst_interfacesampler.moc"
