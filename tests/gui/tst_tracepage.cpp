#include "markingtranslator.h"

#include "tracemodel.h"
#include "tracepage.h"

#include <clientsession.h>

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
