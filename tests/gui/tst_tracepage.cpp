#include "markingtranslator.h"

#include "tracemodel.h"
#include "tracepage.h"

#include <clientsession.h>
#include <security.h>
#include <serversession.h>

#include <QtCore/QFile>
#include <QtCore/QTemporaryDir>
#include <QtTest/QAbstractItemModelTester>
#include <QtTest/QtTest>
#include <QtWidgets/QComboBox>
#include <QtWidgets/QLabel>
#include <QtWidgets/QPlainTextEdit>
#include <QtWidgets/QTableView>
#include <QtWidgets/QToolButton>

using namespace Qt::StringLiterals;

namespace {

constexpr qint64 T0 = 1'795'000'000'000;
const QByteArray Password = "LLSpass9"_ba;

std::vector<std::pair<dlms::Direction, QByteArray>> recording(const char *name)
{
    std::vector<std::pair<dlms::Direction, QByteArray>> frames;
    QFile file(QStringLiteral(DLMS_RECORDINGS_DIR) + u'/' + QLatin1StringView(name));
    if (!file.open(QIODevice::ReadOnly | QIODevice::Text))
        qFatal("cannot read recording %s", name);
    while (!file.atEnd()) {
        const QByteArray line = file.readLine().trimmed();
        if (line.startsWith("> ") || line.startsWith("< "))
            frames.emplace_back(line[0] == '>' ? dlms::Direction::Sent : dlms::Direction::Received,
                QByteArray::fromHex(line.mid(2)));
    }
    return frames;
}

void feedRecording(TracePage &page, const QString &meterId, const char *name)
{
    qint64 ts = T0;
    for (const auto &[direction, bytes] : recording(name))
        page.addBytes(meterId, direction, bytes, ts += 10);
}

dlms::ClientConfig llsConfig(dlms::Transport transport)
{
    dlms::ClientConfig config;
    config.transport = transport;
    config.authentication = dlms::Authentication::Low;
    config.password = Password;
    return config;
}

// An LLS association as a client sends it: the wrapper AARQ; over HDLC the SNRM, the meter's
// UA (from the recording) and the AARQ in an I frame.
void feedLlsAssociations(TracePage &page)
{
    dlms::ClientSession wrapperClient(llsConfig(dlms::Transport::Wrapper));
    wrapperClient.connect();
    page.addBytes(u"lls-w"_s, dlms::Direction::Sent, wrapperClient.takeOutgoing(), T0 + 1000);

    dlms::ClientSession hdlcClient(llsConfig(dlms::Transport::Hdlc));
    hdlcClient.connect();
    page.addBytes(u"lls-h"_s, dlms::Direction::Sent, hdlcClient.takeOutgoing(), T0 + 2000);
    const QByteArray ua = recording("hdlc-session.txt").at(1).second;
    hdlcClient.feed(ua);
    page.addBytes(u"lls-h"_s, dlms::Direction::Received, ua, T0 + 2010);
    page.addBytes(u"lls-h"_s, dlms::Direction::Sent, hdlcClient.takeOutgoing(), T0 + 2020);
}

// The password as text, as spaced hex, and every 4-byte run of it in hex.
QStringList secretForms()
{
    QStringList forms {QString::fromLatin1(Password), QString::fromLatin1(Password.toHex(' ').toUpper()),
        QString::fromLatin1(Password.toHex().toUpper())};
    for (qsizetype i = 0; i + 4 <= Password.size(); ++i)
        forms << QString::fromLatin1(Password.mid(i, 4).toHex(' ').toUpper());
    return forms;
}

QString leakIn(const QString &text)
{
    for (const QString &form : secretForms()) {
        if (text.contains(form, Qt::CaseInsensitive))
            return form;
    }
    return {};
}

// The client's suite 0 material against a simulated meter: the simulator's default EK and AK.
dlms::SecuritySettings clientSecurity(dlms::SecurityPolicy policy, bool dedicated, bool general)
{
    dlms::SecuritySettings security = sim::defaultSecurity(0);
    security.systemTitle = QByteArray::fromHex("4D4D4D0000000001");
    security.policy = policy;
    security.dedicatedKey = dedicated;
    security.generalCiphering = general;
    return security;
}

struct Chunk {
    dlms::Direction direction;
    QByteArray bytes;
};

// A real HLS-GMAC association with the simulator's server session (sans I/O, over the
// wrapper): AARQ/AARE, the HLS passes, a GET of voltage L1 and the release, as the wire saw them.
std::vector<Chunk> securedSession(const dlms::SecuritySettings &security)
{
    sim::MeterModel model(sim::MeterSettings {});
    sim::ServerSession server(model, dlms::Transport::Wrapper);
    dlms::ClientConfig config;
    config.authentication = dlms::Authentication::HighGmac;
    config.security = security;
    dlms::ClientSession client(config);
    std::vector<Chunk> wire;
    const auto pump = [&] {
        for (int turn = 0; turn < 16; ++turn) {
            const QByteArray request = client.takeOutgoing();
            if (request.isEmpty())
                return;
            wire.push_back({dlms::Direction::Sent, request});
            server.feed(request);
            for (const QByteArray &frame : server.takeOutgoing()) {
                wire.push_back({dlms::Direction::Received, frame});
                client.feed(frame);
            }
        }
    };
    client.connect();
    pump();
    if (client.state() != dlms::ClientSession::State::Ready)
        qFatal("the secured association did not open (state %d)", int(client.state()));
    client.get({3, dlms::Obis(1, 0, 32, 7, 0, 255), 2});
    pump();
    client.release();
    pump();
    return wire;
}

void feedChunks(TracePage &page, const QString &meterId, const std::vector<Chunk> &chunks)
{
    qint64 ts = T0;
    for (const Chunk &chunk : chunks)
        page.addBytes(meterId, chunk.direction, chunk.bytes, ts += 10);
}

// Every 4-byte run of the EK and AK in the trace's hex spelling.
QString keyLeakIn(const QString &text, const dlms::SecuritySettings &security)
{
    for (const QByteArray &key : {security.blockCipherKey, security.authenticationKey}) {
        for (qsizetype i = 0; i + 4 <= key.size(); ++i) {
            for (const QByteArray &form : {key.mid(i, 4).toHex(' '), key.mid(i, 4).toHex()}) {
                if (text.contains(QString::fromLatin1(form), Qt::CaseInsensitive))
                    return QString::fromLatin1(form);
            }
        }
    }
    return {};
}

int decryptedCount(const TraceModel &model, const QString &meterId)
{
    int n = 0;
    for (int row = 0; row < model.rowCount(); ++row)
        n += model.entry(row).meterId == meterId && model.entry(row).decrypted ? 1 : 0;
    return n;
}

int countOf(const TraceModel &model, TraceKind kind)
{
    int n = 0;
    for (int row = 0; row < model.rowCount(); ++row)
        n += model.entry(row).kind == kind ? 1 : 0;
    return n;
}

} // namespace

class tst_TracePage : public QObject {
    Q_OBJECT

private slots:
    void initTestCase()
    {
        QStandardPaths::setTestModeEnabled(true);
        QLocale::setDefault(QLocale(QLocale::English, QLocale::UnitedStates));
        // Local time two hours east of UTC (POSIX spells it "UTC-2"): times must carry "+02:00".
        qputenv("TZ", "UTC-02:00");
    }

    void linesAppearWithTheirKinds()
    {
        TracePage page;
        QAbstractItemModelTester tester(page.model(), QAbstractItemModelTester::FailureReportingMode::QtTest);
        feedRecording(page, u"w-1"_s, "wrapper-session.txt");
        feedRecording(page, u"h-1"_s, "hdlc-session.txt");
        feedLlsAssociations(page);
        // 8 wrapper frames, 14 HDLC frames, 1 wrapper AARQ, SNRM + UA + AARQ over HDLC.
        QTRY_COMPARE(page.model()->rowCount(), 26);
        QCOMPARE(page.visibleRowCount(), 26);
        QCOMPARE(countOf(*page.model(), TraceKind::Association), 6);
        QCOMPARE(countOf(*page.model(), TraceKind::Get), 10);
        QCOMPARE(countOf(*page.model(), TraceKind::Release), 4);
        QCOMPARE(countOf(*page.model(), TraceKind::Link), 6);
        QCOMPARE(page.model()->entry(0).meterId, u"w-1"_s);
        QCOMPARE(page.model()->entry(0).timestampMs, T0 + 10);
        QVERIFY(page.model()->entry(0).summary.contains(u"AARQ"_s));
        QCOMPARE(page.model()->entry(1).direction, dlms::Direction::Received);
        QCOMPARE(page.findChild<QLabel *>(u"countLabel"_s)->text(), u"26 lines, 0 dropped"_s);

        // The meters that sent bytes became filter choices.
        auto *meterFilter = page.findChild<QComboBox *>(u"meterFilter"_s);
        QCOMPARE(meterFilter->count(), 5);
        QCOMPARE(meterFilter->itemText(0), u"All meters"_s);
    }

    void passwordAppearsNowhere()
    {
        QTemporaryDir dir;
        TracePage page;
        page.resize(1000, 600);
        page.show();
        QVERIFY(QTest::qWaitForWindowExposed(&page));
        feedLlsAssociations(page);
        feedRecording(page, u"w-1"_s, "wrapper-session.txt");
        QTRY_COMPARE(page.model()->rowCount(), 12);

        // The AARQs are there and say a password was sent, masked.
        int aarqs = 0;
        for (int row = 0; row < page.model()->rowCount(); ++row) {
            const TraceEntry &e = page.model()->entry(row);
            if (e.meterId.startsWith(u"lls") && e.summary.contains(u"AARQ"_s)) {
                ++aarqs;
                QVERIFY2(e.summary.contains(u"password: ***"_s), qPrintable(e.summary));
                QVERIFY2(e.hex.contains(u"** ** **"_s), qPrintable(e.hex)); // masked, not left out
            }
        }
        QCOMPARE(aarqs, 2);

        auto *table = page.findChild<QTableView *>(u"traceTable"_s);
        auto *details = page.findChild<QPlainTextEdit *>(u"detailsView"_s);
        QAbstractItemModel *view = table->model();
        for (int row = 0; row < view->rowCount(); ++row) {
            for (int column = 0; column < view->columnCount(); ++column) {
                const QModelIndex index = view->index(row, column);
                for (int role : {int(Qt::DisplayRole), int(Qt::ToolTipRole)}) {
                    const QString leak = leakIn(index.data(role).toString());
                    QVERIFY2(
                        leak.isEmpty(), qPrintable(u"row %1 column %2: %3"_s.arg(row).arg(column).arg(leak)));
                }
                QVERIFY(leakIn(index.data(TraceModel::DetailsRole).toStringList().join(u'\n')).isEmpty());
            }
            table->setCurrentIndex(view->index(row, 0));
            QVERIFY(!details->toPlainText().isEmpty());
            const QString leak = leakIn(details->toPlainText());
            QVERIFY2(leak.isEmpty(), qPrintable(u"details of row %1: %2"_s.arg(row).arg(leak)));
        }

        const QString file = dir.filePath(u"trace.txt"_s);
        QString error;
        QVERIFY2(page.saveTo(file, &error), qPrintable(error));
        QFile saved(file);
        QVERIFY(saved.open(QIODevice::ReadOnly));
        const QString text = QString::fromUtf8(saved.readAll());
        QVERIFY(text.contains(u"AARQ"_s));
        QVERIFY2(leakIn(text).isEmpty(), qPrintable(leakIn(text)));
    }

    void filtersGiveExactCounts_data()
    {
        QTest::addColumn<QString>("meter");
        QTest::addColumn<int>("kind");
        QTest::addColumn<int>("expected");

        QTest::newRow("all") << QString() << -1 << 26;
        QTest::newRow("wrapper-meter") << u"w-1"_s << -1 << 8;
        QTest::newRow("hdlc-meter") << u"h-1"_s << -1 << 14;
        QTest::newRow("association-kind") << QString() << int(TraceKind::Association) << 6;
        QTest::newRow("get-of-hdlc-meter") << u"h-1"_s << int(TraceKind::Get) << 6;
        QTest::newRow("link-of-wrapper-meter") << u"w-1"_s << int(TraceKind::Link) << 0;
        QTest::newRow("release-kind") << QString() << int(TraceKind::Release) << 4;
    }
    void filtersGiveExactCounts()
    {
        QFETCH(QString, meter);
        QFETCH(int, kind);
        QFETCH(int, expected);
        TracePage page;
        page.setMeters({u"w-1"_s, u"h-1"_s});
        feedRecording(page, u"w-1"_s, "wrapper-session.txt");
        feedRecording(page, u"h-1"_s, "hdlc-session.txt");
        feedLlsAssociations(page);
        auto *meterFilter = page.findChild<QComboBox *>(u"meterFilter"_s);
        auto *kindFilter = page.findChild<QComboBox *>(u"kindFilter"_s);
        QCOMPARE(kindFilter->count(), int(TraceKind::Other) + 2);
        meterFilter->setCurrentIndex(meterFilter->findData(meter));
        kindFilter->setCurrentIndex(kindFilter->findData(kind));
        QCOMPARE(page.visibleRowCount(), expected);
        QCOMPARE(page.findChild<QTableView *>(u"traceTable"_s)->model()->rowCount(), expected);
        if (meter.isEmpty() && kind < 0)
            QCOMPARE(page.findChild<QLabel *>(u"countLabel"_s)->text(), u"26 lines, 0 dropped"_s);
        else
            QCOMPARE(page.findChild<QLabel *>(u"countLabel"_s)->text(),
                u"%1 of 26 lines, 0 dropped"_s.arg(expected));
    }

    void pauseBuffersAndResumeAppendsEverything()
    {
        TracePage page;
        QAbstractItemModelTester tester(page.model(), QAbstractItemModelTester::FailureReportingMode::QtTest);
        feedRecording(page, u"w-1"_s, "wrapper-session.txt");
        page.findChild<QToolButton *>(u"pauseButton"_s)->click(); // what came before is shown
        QVERIFY(page.isPaused());
        QCOMPARE(page.model()->rowCount(), 8);
        QSignalSpy inserted(page.model(), &QAbstractItemModel::rowsInserted);
        feedRecording(page, u"h-1"_s, "hdlc-session.txt");
        QCOMPARE(page.visibleRowCount(), 8);
        QCOMPARE(page.model()->rowCount(), 8);
        QCOMPARE(inserted.size(), 0);
        QCOMPARE(
            page.findChild<QLabel *>(u"countLabel"_s)->text(), u"8 lines, 0 dropped, 14 held while paused"_s);
        QCOMPARE(page.findChild<QToolButton *>(u"pauseButton"_s)->text(), u"Resume"_s);
        page.setPaused(false);
        QVERIFY(!page.findChild<QToolButton *>(u"pauseButton"_s)->isChecked());
        QCOMPARE(inserted.size(), 1); // the held lines in one insert
        QCOMPARE(page.model()->rowCount(), 22);
        QCOMPARE(page.model()->entry(8).meterId, u"h-1"_s);
        QVERIFY(page.model()->entry(8).summary.contains(u"SNRM"_s));
        QCOMPARE(page.findChild<QLabel *>(u"countLabel"_s)->text(), u"22 lines, 0 dropped"_s);
    }

    void pauseIsBoundedByTheCapacity()
    {
        TracePage page;
        const int capacity = page.model()->capacity();
        page.setPaused(true);
        // RLRQs: one complete wrapper frame each.
        const QByteArray rlrq = QByteArray::fromHex("00010010000100056203800100");
        for (int i = 0; i < capacity + 5; ++i)
            page.addBytes(u"w-1"_s, dlms::Direction::Sent, rlrq, T0 + i);
        QCOMPARE(page.model()->rowCount(), 0);
        page.setPaused(false);
        QCOMPARE(page.model()->rowCount(), capacity);
        QCOMPARE(page.model()->entry(capacity - 1).timestampMs, T0 + capacity + 4); // the newest kept
        QCOMPARE(page.findChild<QLabel *>(u"countLabel"_s)->text(),
            u"%1 lines, 5 dropped"_s.arg(QLocale().toString(capacity)));
    }

    void captureRequestsTheFilteredMeters()
    {
        TracePage page;
        page.setMeters({u"w-1"_s, u"h-1"_s});
        QSignalSpy requested(&page, &TracePage::captureRequested);
        auto *capture = page.findChild<QToolButton *>(u"captureButton"_s);
        capture->click();
        QVERIFY(page.isCapturing());
        QCOMPARE(requested.size(), 1);
        QCOMPARE(requested.at(0).at(0).toStringList(), QStringList());
        QCOMPARE(requested.at(0).at(1).toBool(), true);

        // Narrowing the meter filter while capturing moves the capture to that meter.
        auto *meterFilter = page.findChild<QComboBox *>(u"meterFilter"_s);
        meterFilter->setCurrentIndex(meterFilter->findData(u"h-1"_s));
        QCOMPARE(requested.size(), 3);
        QCOMPARE(requested.at(1).at(0).toStringList(), QStringList());
        QCOMPARE(requested.at(1).at(1).toBool(), false);
        QCOMPARE(requested.at(2).at(0).toStringList(), QStringList {u"h-1"_s});
        QCOMPARE(requested.at(2).at(1).toBool(), true);

        page.setCapturing(false);
        QVERIFY(!capture->isChecked());
        QCOMPARE(requested.size(), 4);
        QCOMPARE(requested.at(3).at(0).toStringList(), QStringList {u"h-1"_s});
        QCOMPARE(requested.at(3).at(1).toBool(), false);
        page.setCapturing(false); // no change, no request
        QCOMPARE(requested.size(), 4);
    }

    void saveWritesTheFilteredLines()
    {
        QTemporaryDir dir;
        TracePage page;
        feedRecording(page, u"w-1"_s, "wrapper-session.txt");
        feedRecording(page, u"h-1"_s, "hdlc-session.txt");
        auto *meterFilter = page.findChild<QComboBox *>(u"meterFilter"_s);
        meterFilter->setCurrentIndex(meterFilter->findData(u"w-1"_s));
        const QString file = dir.filePath(u"w-1.txt"_s);
        QString error;
        QVERIFY2(page.saveTo(file, &error), qPrintable(error));
        QFile saved(file);
        QVERIFY(saved.open(QIODevice::ReadOnly | QIODevice::Text));
        const QStringList lines = QString::fromUtf8(saved.readAll()).split(u'\n', Qt::SkipEmptyParts);
        QStringList frames;
        QStringList details;
        for (const QString &line : lines)
            (line.startsWith(u"    "_s) ? details : frames) << line;
        QCOMPARE(frames.size(), 8);
        const QString first = u"2026-11-18T13:06:40.010+02:00"_s; // T0 + 10 ms in local time
        QVERIFY2(frames.at(0).startsWith(first + u" w-1 → wrapper 16→1 | AARQ"_s), qPrintable(frames.at(0)));
        QVERIFY2(
            frames.at(0).endsWith(
                u" | 00 01 00 10 00 01 00 1F 60 1D A1 09 06 07 60 85 74 05 08 01 01 BE 10 04 0E 01 00 00 00 06 5F 1F 04 00 00 7E 1F 04 B0"_s),
            qPrintable(frames.at(0)));
        QVERIFY(frames.at(1).contains(u" w-1 ← "_s));
        for (const QString &frame : frames)
            QVERIFY(!frame.contains(u" h-1 "_s));
        // The GET responses' values and the AARE's conformance, indented below their lines.
        QVERIFY2(details.size() >= 3, qPrintable(details.join(u'\n')));
        QVERIFY(std::any_of(
            details.begin(), details.end(), [](const QString &d) { return d.contains(u"123456.7"_s); }));

        QVERIFY(!page.saveTo(dir.filePath(u"missing/dir/x.txt"_s), &error));
        QVERIFY(!error.isEmpty());

        // The table, the details pane and the file agree on the time: local, with the offset.
        auto *table = page.findChild<QTableView *>(u"traceTable"_s);
        table->setCurrentIndex(table->model()->index(0, TraceModel::Decode));
        QCOMPARE(table->model()->index(0, TraceModel::Time).data().toString(), u"13:06:40.010"_s);
        const QString pane = page.findChild<QPlainTextEdit *>(u"detailsView"_s)->toPlainText();
        QVERIFY2(pane.startsWith(first + u"  w-1  "_s), qPrintable(pane));
    }

    void setMetersDropsDecodersOfGoneMeters()
    {
        const auto frames = recording("hdlc-session.txt");
        const QByteArray snrm = frames.at(0).second;
        const qsizetype half = snrm.size() / 2;
        auto summaries = [](TracePage &page) {
            page.visibleRowCount(); // flushes
            QStringList out;
            for (int row = 0; row < page.model()->rowCount(); ++row)
                out << page.model()->entry(row).summary;
            return out;
        };

        // Kept: the two halves make one frame; the meter keeps its lines and its filter choice.
        TracePage kept;
        kept.setMeters({u"w-1"_s, u"h-1"_s});
        kept.addBytes(u"h-1"_s, dlms::Direction::Sent, snrm.first(half), T0);
        kept.setMeters({u"w-1"_s, u"h-1"_s});
        kept.addBytes(u"h-1"_s, dlms::Direction::Sent, snrm.sliced(half), T0 + 1);
        const QStringList whole = summaries(kept);
        QCOMPARE(whole.size(), 1);
        QVERIFY2(whole.at(0).startsWith(u"HDLC "_s), qPrintable(whole.at(0)));
        kept.setMeters({u"w-1"_s});
        auto *keptFilter = kept.findChild<QComboBox *>(u"meterFilter"_s);
        QVERIFY(keptFilter->findData(u"h-1"_s) > 0); // it has lines
        QCOMPARE(kept.model()->rowCount(), 1); // rows stay

        // Dropped between the halves: the second half alone is not that frame.
        TracePage dropped;
        dropped.setMeters({u"w-1"_s, u"h-1"_s});
        dropped.addBytes(u"h-1"_s, dlms::Direction::Sent, snrm.first(half), T0);
        dropped.setMeters({u"w-1"_s});
        auto *droppedFilter = dropped.findChild<QComboBox *>(u"meterFilter"_s);
        QCOMPARE(droppedFilter->findData(u"h-1"_s), -1); // no lines: not a choice any more
        dropped.addBytes(u"h-1"_s, dlms::Direction::Sent, snrm.sliced(half), T0 + 1);
        QVERIFY(!summaries(dropped).contains(whole.at(0)));
    }

    void retranslatesOnLanguageChange()
    {
        TracePage page;
        feedRecording(page, u"w-1"_s, "wrapper-session.txt");
        QCOMPARE(page.visibleRowCount(), 8);
        MarkingTranslator translator;
        QVERIFY(QCoreApplication::installTranslator(&translator));
        auto *table = page.findChild<QTableView *>(u"traceTable"_s);
        QTRY_COMPARE(page.findChild<QToolButton *>(u"pauseButton"_s)->text(),
            u"«Pause»"_s); // LanguageChange is posted
        QCOMPARE(page.findChild<QToolButton *>(u"captureButton"_s)->text(), u"«Capture»"_s);
        QCOMPARE(page.findChild<QComboBox *>(u"meterFilter"_s)->itemText(0), u"«All meters»"_s);
        QCOMPARE(page.findChild<QComboBox *>(u"kindFilter"_s)->itemText(0), u"«All kinds»"_s);
        QCOMPARE(page.findChild<QComboBox *>(u"kindFilter"_s)->itemText(3), u"«GET»"_s);
        QCOMPARE(page.findChild<QLabel *>(u"countLabel"_s)->text(), u"«8 lines, 0 dropped»"_s);
        QCOMPARE(table->model()->headerData(TraceModel::Time, Qt::Horizontal).toString(), u"«Time»"_s);
        QCOMPARE(table->model()->index(0, TraceModel::Direction).data().toString(), u"«→ meter»"_s);
        QVERIFY(QCoreApplication::removeTranslator(&translator));
        QTRY_COMPARE(page.findChild<QToolButton *>(u"pauseButton"_s)->text(), u"Pause"_s);
        QCOMPARE(page.findChild<QLabel *>(u"countLabel"_s)->text(), u"8 lines, 0 dropped"_s);
    }

    void decryptedLinesAreMarked_data()
    {
        QTest::addColumn<dlms::SecuritySettings>("security");
        using P = dlms::SecurityPolicy;
        QTest::newRow("auth-enc") << clientSecurity(P::AuthenticatedEncrypted, false, false);
        QTest::newRow("auth-only") << clientSecurity(P::Authenticated, false, false);
        QTest::newRow("enc-only") << clientSecurity(P::Encrypted, false, false);
        QTest::newRow("auth-enc-general-ciphering") << clientSecurity(P::AuthenticatedEncrypted, false, true);
        QTest::newRow("auth-enc-dedicated-key") << clientSecurity(P::AuthenticatedEncrypted, true, false);
        QTest::newRow("hls-gmac-without-ciphering") << clientSecurity(P::None, false, false);
    }

    void decryptedLinesAreMarked()
    {
        QFETCH(dlms::SecuritySettings, security);
        const std::vector<Chunk> wire = securedSession(security);
        const bool ciphered = security.policy != dlms::SecurityPolicy::None;

        TracePage page;
        page.resize(1000, 600);
        page.show();
        QVERIFY(QTest::qWaitForWindowExposed(&page));
        // The same bytes for a meter whose keys the page has and for one it does not.
        page.setMeters({u"keyed"_s, u"keyless"_s});
        page.setMeterSecurity({{u"keyed"_s, security}});
        feedChunks(page, u"keyed"_s, wire);
        feedChunks(page, u"keyless"_s, wire);
        const int rows = page.visibleRowCount();
        QCOMPARE(rows, int(wire.size()) * 2);

        const TraceModel &model = *page.model();
        QCOMPARE(decryptedCount(model, u"keyless"_s), 0);
        // Ciphered: the ciphered GET and its response and the InitiateRequest/Response at least;
        // HLS-GMAC alone ciphers nothing but the AARQ/AARE stays readable anyway.
        if (ciphered)
            QVERIFY2(decryptedCount(model, u"keyed"_s) >= 2,
                qPrintable(QString::number(decryptedCount(model, u"keyed"_s))));
        else
            QCOMPARE(decryptedCount(model, u"keyed"_s), 0);

        int decryptedGets = 0;
        for (int row = 0; row < model.rowCount(); ++row) {
            const TraceEntry &e = model.entry(row);
            const QModelIndex decode = model.index(row, TraceModel::Decode);
            const QString shown = decode.data().toString();
            QCOMPARE(decode.data(TraceModel::DecryptedRole).toBool(), e.decrypted);
            if (e.decrypted) {
                QCOMPARE(e.meterId, u"keyed"_s);
                QVERIFY2(shown.startsWith(u"[decrypted] "_s), qPrintable(shown));
                QVERIFY(decode.data(Qt::ToolTipRole)
                            .toString()
                            .startsWith(u"Deciphered with the meter's keys\n"_s));
                QVERIFY(!e.isError);
                QCOMPARE(decode.data(Qt::ForegroundRole).value<QBrush>().color(), QColor(0x00, 0x69, 0x5C));
                if (e.kind == TraceKind::Get && e.summary.contains(u"GET-Response-Normal"_s)) {
                    ++decryptedGets;
                    QVERIFY2(e.details.join(u'\n').contains(u"1.0.32.7.0.255"_s),
                        qPrintable(e.details.join(u'\n')));
                }
            } else {
                QVERIFY2(!shown.contains(u"[decrypted]"_s), qPrintable(shown));
                QVERIFY(!decode.data(Qt::ToolTipRole).toString().contains(u"Deciphered"_s));
                QVERIFY2(
                    !e.isError, qPrintable(e.summary)); // without keys: shown as ciphered, not as an error
            }
            // Neither the keys nor any part of them, with keys or without.
            const QString all = e.hex + u'\n' + e.summary + u'\n' + e.details.join(u'\n');
            QVERIFY2(keyLeakIn(all, security).isEmpty(), qPrintable(keyLeakIn(all, security)));
        }
        QCOMPARE(decryptedGets, ciphered ? 1 : 0);

        // The GET request and response count as GET: deciphered, or by their glo-/ded- tag;
        // general ciphering hides the service from whoever has no keys.
        QMap<QString, int> gets;
        for (int row = 0; row < model.rowCount(); ++row)
            gets[model.entry(row).meterId] += model.entry(row).kind == TraceKind::Get ? 1 : 0;
        QCOMPARE(gets.value(u"keyed"_s), 2);
        QCOMPARE(gets.value(u"keyless"_s), security.generalCiphering ? 0 : 2);

        if (!ciphered)
            return;
        // The details pane and the saved file carry the mark too.
        int firstDecrypted = -1;
        for (int row = 0; row < model.rowCount() && firstDecrypted < 0; ++row)
            firstDecrypted = model.entry(row).decrypted ? row : -1;
        auto *table = page.findChild<QTableView *>(u"traceTable"_s);
        table->setCurrentIndex(table->model()->index(firstDecrypted, TraceModel::Decode));
        const QString pane = page.findChild<QPlainTextEdit *>(u"detailsView"_s)->toPlainText();
        QVERIFY2(pane.contains(u"[decrypted] "_s) && pane.contains(u"Deciphered with the meter's keys"_s),
            qPrintable(pane));
        QTemporaryDir dir;
        QVERIFY(page.saveTo(dir.filePath(u"trace.txt"_s)));
        QFile saved(dir.filePath(u"trace.txt"_s));
        QVERIFY(saved.open(QIODevice::ReadOnly | QIODevice::Text));
        const QString text = QString::fromUtf8(saved.readAll());
        QCOMPARE(text.count(u"[decrypted] "_s), decryptedCount(model, u"keyed"_s));
        QVERIFY(keyLeakIn(text, security).isEmpty());
    }

    void keysFollowTheConfiguration()
    {
        const dlms::SecuritySettings security
            = clientSecurity(dlms::SecurityPolicy::AuthenticatedEncrypted, false, false);
        const std::vector<Chunk> wire = securedSession(security);
        TracePage page;
        // The decoder exists before the keys arrive (bytes came first): it gets them.
        page.addBytes(u"m1"_s, dlms::Direction::Sent, {}, T0);
        page.setMeterSecurity({{u"m1"_s, security}});
        feedChunks(page, u"m1"_s, wire);
        page.visibleRowCount();
        const int withKeys = decryptedCount(*page.model(), u"m1"_s);
        QVERIFY(withKeys >= 2);
        // The configuration drops the keys: the next association shows ciphered only.
        page.setMeterSecurity({});
        feedChunks(page, u"m1"_s, wire);
        page.visibleRowCount();
        QCOMPARE(decryptedCount(*page.model(), u"m1"_s), withKeys);
        QCOMPARE(page.model()->rowCount(), int(wire.size()) * 2);
    }

    void decryptedMarkRetranslates()
    {
        const dlms::SecuritySettings security
            = clientSecurity(dlms::SecurityPolicy::AuthenticatedEncrypted, false, false);
        TracePage page;
        page.setMeterSecurity({{u"m1"_s, security}});
        feedChunks(page, u"m1"_s, securedSession(security));
        page.visibleRowCount();
        int row = -1;
        for (int r = 0; r < page.model()->rowCount() && row < 0; ++r)
            row = page.model()->entry(r).decrypted ? r : -1;
        QVERIFY(row >= 0);
        auto *table = page.findChild<QTableView *>(u"traceTable"_s);
        table->setCurrentIndex(table->model()->index(row, TraceModel::Decode));
        const QString summary = page.model()->entry(row).summary;
        TableTranslator spanish({{"TraceModel", "[decrypted] %1", u"[descifrado] %1"_s},
            {"TraceModel", "Deciphered with the meter's keys", u"Descifrado con las claves del medidor"_s}});
        QVERIFY(QCoreApplication::installTranslator(&spanish));
        QSignalSpy changed(page.model(), &QAbstractItemModel::dataChanged);
        QTRY_VERIFY(page.findChild<QPlainTextEdit *>(u"detailsView"_s)
                        ->toPlainText()
                        .contains(u"Descifrado con las claves del medidor"_s));
        QVERIFY(!changed.isEmpty()); // the views were told to repaint the Decode column
        QCOMPARE(changed.last().at(1).toModelIndex().column(), int(TraceModel::Decode));
        QCOMPARE(
            table->model()->index(row, TraceModel::Decode).data().toString(), u"[descifrado] "_s + summary);
        QVERIFY(table->model()
                    ->index(row, TraceModel::Decode)
                    .data(Qt::ToolTipRole)
                    .toString()
                    .startsWith(u"Descifrado con las claves del medidor"_s));
        QVERIFY(QCoreApplication::removeTranslator(&spanish));
        QTRY_COMPARE(
            table->model()->index(row, TraceModel::Decode).data().toString(), u"[decrypted] "_s + summary);
    }

    void clearEmptiesTheLog()
    {
        TracePage page;
        feedRecording(page, u"w-1"_s, "wrapper-session.txt");
        QCOMPARE(page.visibleRowCount(), 8);
        page.findChild<QToolButton *>(u"clearButton"_s)->click();
        QCOMPARE(page.model()->rowCount(), 0);
        QCOMPARE(page.findChild<QLabel *>(u"countLabel"_s)->text(), u"0 lines, 0 dropped"_s);
    }
};

QTEST_MAIN(tst_TracePage)
#include "tst_tracepage.moc"
