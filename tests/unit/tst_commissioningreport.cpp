#include "commissioningreport.h"

#include <commissioning.h>

#include <QtCore/QDir>
#include <QtCore/QFile>
#include <QtCore/QFileInfo>
#include <QtCore/QLocale>
#include <QtCore/QProcess>
#include <QtCore/QRegularExpression>
#include <QtCore/QStandardPaths>
#include <QtCore/QTemporaryDir>
#include <QtCore/QThread>
#include <QtGui/QColor>
#include <QtGui/QImage>
#include <QtGui/QTextDocument>
#include <QtGui/QTextFrame>
#include <QtGui/QTextTable>
#include <QtTest/QtTest>

#include <memory>
#include <optional>
#include <vector>

using namespace Qt::StringLiterals;
using commissioning::CheckResult;
using commissioning::CheckStatus;
using commissioning::MeterReport;
using commissioning::Session;

namespace {

constexpr qint64 kStartMs = 1'717'236'000'000; // 2024-06-01 10:00 UTC

CheckResult check(const QString &id, CheckStatus status, std::optional<double> value, const QString &unit,
    const QString &measured, const QString &explanation)
{
    CheckResult c;
    c.check = id;
    c.status = status;
    c.value = value;
    c.unit = unit;
    c.measured = measured;
    c.explanation = explanation;
    c.timestampMs = kStartMs + 1000;
    return c;
}

QString id(QLatin1StringView checkId)
{
    return checkId;
}

MeterReport meter(const QString &meterId, const QString &name, const QString &serial)
{
    MeterReport m;
    m.meterId = meterId;
    m.meterName = name;
    m.endpoint = u"127.0.0.1:4059"_s;
    m.logicalDeviceName = u"SIM"_s + serial;
    m.serialNumber = serial;
    m.firmwareVersion = u"1.2.3"_s;
    return m;
}

// Every check of a run, all passing, with a traffic baseline.
std::vector<CheckResult> passingChecks(
    double bytesPerPoll, double rttMs, const QString &clock = u"+0.4 s, DST off"_s)
{
    using namespace commissioning::checks;
    return {
        check(id(Tcp), CheckStatus::Pass, 3, u"ms"_s, u"3 ms"_s, u"connected"_s),
        check(id(Association), CheckStatus::Pass, std::nullopt, {}, u"accepted"_s,
            u"AARE result 0, diagnostic 0"_s),
        check(id(Identity), CheckStatus::Pass, std::nullopt, {}, u"read"_s,
            u"logical device name, serial, firmware"_s),
        check(id(Clock), CheckStatus::Pass, 0.4, u"s"_s, clock, u"within 60 s"_s),
        check(
            u"register:voltage_l1"_s, CheckStatus::Pass, 231.4, u"V"_s, u"231.4 V"_s, u"within 180–260 V"_s),
        check(id(Objects), CheckStatus::Pass, std::nullopt, {}, u"12 objects"_s,
            u"every configured item present"_s),
        check(id(Mqtt), CheckStatus::Pass, 8, u"ms"_s, u"8 ms"_s, u"broker acknowledged"_s),
        check(id(TrafficBytes), CheckStatus::Pass, bytesPerPoll, u"B"_s, u"%1 B"_s.arg(bytesPerPoll),
            u"3 polls"_s),
        check(id(TrafficRtt), CheckStatus::Pass, rttMs, u"ms"_s, u"%1 ms"_s.arg(rttMs), u"below 1000 ms"_s),
    };
}

// Three meters: one all-pass, one whose clock is 10 minutes ahead, one flaky that was not
// reached past TCP.
Session handBuiltSession()
{
    using namespace commissioning::checks;
    Session s;
    s.info.id = 7;
    s.info.site = u"Substation Norte"_s;
    s.info.technician = u"Ana Pérez"_s;
    s.info.notes = u"Cabinet 3 opened\nSeal 4471 replaced"_s;
    s.info.startedMs = kStartMs;
    s.info.finishedMs = kStartMs + 95'000;
    s.info.state = commissioning::SessionState::Finished;

    MeterReport good = meter(u"m-good"_s, u"Feeder North"_s, u"SN-10001"_s);
    good.checks = passingChecks(180, 12);
    s.meters.push_back(good);

    MeterReport clock = meter(u"m-clock"_s, u"Transformer Clock"_s, u"SN-10002"_s);
    clock.checks = passingChecks(420, 25);
    clock.checks[3] = check(id(Clock), CheckStatus::Fail, 600, u"s"_s, u"+600.0 s, DST off"_s,
        u"clock 600 s ahead: more than 60 s"_s);
    s.meters.push_back(clock);

    MeterReport flaky = meter(u"m-flaky"_s, u"Pump Flaky"_s, u"SN-10003"_s);
    flaky.logicalDeviceName.clear();
    flaky.firmwareVersion.clear();
    flaky.checks = {
        check(id(Tcp), CheckStatus::Warn, 850, u"ms"_s, u"850 ms"_s, u"slow connect: above 500 ms"_s),
        check(id(Association), CheckStatus::Fail, std::nullopt, {}, u"timeout"_s, u"no AARE within 5 s"_s),
        check(id(Identity), CheckStatus::Skipped, std::nullopt, {}, {}, u"not reached: association failed"_s),
        check(id(Clock), CheckStatus::Skipped, std::nullopt, {}, {}, u"not reached: association failed"_s),
        check(id(TrafficBytes), CheckStatus::Skipped, std::nullopt, {}, {},
            u"not reached: association failed"_s),
        check(
            id(TrafficRtt), CheckStatus::Skipped, std::nullopt, {}, {}, u"not reached: association failed"_s),
    };
    s.meters.push_back(flaky);
    s.updateCounts();
    return s;
}

Session bigSession(int meters)
{
    Session s;
    s.info.site = u"Big Site"_s;
    s.info.technician = u"Ana Pérez"_s;
    s.info.startedMs = kStartMs;
    s.info.finishedMs = kStartMs + 3'600'000;
    s.info.state = commissioning::SessionState::Finished;
    for (int i = 0; i < meters; ++i) {
        MeterReport m
            = meter(u"m%1"_s.arg(i), u"Meter %1"_s.arg(i), u"SN-%1"_s.arg(i, 6, 10, QLatin1Char('0')));
        m.checks = passingChecks(100 + (i * 37) % 400, 5 + i % 40);
        for (int k = 0; m.checks.size() < 15; ++k) {
            m.checks.push_back(
                check(u"register:item_%1"_s.arg(k), k % 5 == 0 ? CheckStatus::Warn : CheckStatus::Pass,
                    230 + k, u"V"_s, u"%1 V"_s.arg(230 + k), u"within range"_s));
        }
        s.meters.push_back(m);
    }
    s.updateCounts();
    return s;
}

bool isBar(QRgb pixel)
{
    // The bars' blue; the RTT markers are orange, text black, grid grey.
    return qBlue(pixel) > qRed(pixel) + 80 && qBlue(pixel) > qGreen(pixel) + 30;
}

int nonWhitePixels(const QImage &image)
{
    int count = 0;
    for (int y = 0; y < image.height(); ++y) {
        for (int x = 0; x < image.width(); ++x) {
            const QRgb p = image.pixel(x, y);
            count += qRed(p) < 235 || qGreen(p) < 235 || qBlue(p) < 235 ? 1 : 0;
        }
    }
    return count;
}

bool hasColorNear(const QImage &image, const QColor &color, int tolerance)
{
    for (int y = 0; y < image.height(); ++y) {
        for (int x = 0; x < image.width(); ++x) {
            const QRgb p = image.pixel(x, y);
            if (std::abs(qRed(p) - color.red()) <= tolerance
                && std::abs(qGreen(p) - color.green()) <= tolerance
                && std::abs(qBlue(p) - color.blue()) <= tolerance)
                return true;
        }
    }
    return false;
}

// The lowest row with bar pixels: the bars' common base.
int barBaseRow(const QImage &image)
{
    for (int y = image.height() - 1; y >= 0; --y) {
        for (int x = 0; x < image.width(); ++x) {
            if (isBar(image.pixel(x, y)))
                return y;
        }
    }
    return -1;
}

// Height of the bar standing on `base` at column x (contiguous bar pixels upwards).
int barHeight(const QImage &image, int x, int base)
{
    int height = 0;
    for (int y = base; y >= 0 && isBar(image.pixel(x, y)); --y)
        ++height;
    return height;
}

struct Run {
    int first;
    int last;
};

std::vector<Run> barRuns(const QImage &image, int base)
{
    std::vector<Run> runs;
    for (int x = 0; x < image.width(); ++x) {
        if (!isBar(image.pixel(x, base)))
            continue;
        if (!runs.empty() && runs.back().last == x - 1)
            runs.back().last = x;
        else
            runs.push_back({x, x});
    }
    return runs;
}

QString toolPath(const QString &name)
{
    return QStandardPaths::findExecutable(name);
}

// Runs a poppler tool; its standard output, or a null array when it failed.
QByteArray runTool(const QString &name, const QStringList &arguments)
{
    QProcess process;
    process.start(toolPath(name), arguments);
    if (!process.waitForFinished(30'000) || process.exitStatus() != QProcess::NormalExit
        || process.exitCode() != 0) {
        qWarning() << name << arguments << process.readAllStandardError();
        return {};
    }
    QByteArray out = process.readAllStandardOutput();
    if (out.isNull())
        out = QByteArray("");
    return out;
}

int pdfPages(const QString &pdf)
{
    const QString info = QString::fromUtf8(runTool(u"pdfinfo"_s, {pdf}));
    const QRegularExpressionMatch match
        = QRegularExpression(u"^Pages:\\s+(\\d+)"_s, QRegularExpression::MultilineOption).match(info);
    return match.hasMatch() ? match.captured(1).toInt() : -1;
}

struct ProgressLog {
    std::vector<std::pair<int, int>> calls;
    report::Progress callback()
    {
        return [this](int done, int total) {
            calls.emplace_back(done, total);
            return true;
        };
    }
    // Monotonic, within bounds, ending at total.
    bool wellFormed() const
    {
        if (calls.empty())
            return false;
        for (std::size_t i = 0; i < calls.size(); ++i) {
            if (calls[i].first < 0 || calls[i].first > calls[i].second)
                return false;
            if (i > 0 && calls[i].first < calls[i - 1].first)
                return false;
        }
        return calls.back().first == calls.back().second;
    }
};

QString plainText(const QString &html)
{
    QTextDocument doc;
    doc.setHtml(html);
    return doc.toPlainText();
}

} // namespace

class TestCommissioningReport : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void pdfText();
    void pdfRendersA4Page();
    void htmlEscapesHostileText_data();
    void htmlEscapesHostileText();
    void htmlSections();
    void comparisonOnlyWithPrevious();
    void chartBarsFollowValues();
    void chartManyMetersSortedWithoutNames();
    void chartEmpty();
    void cancelLeavesNoFile_data();
    void cancelLeavesNoFile();
    void unwritablePathIsNamed();
    void fiveHundredMeters();
    void pdfFromWorkerThread();
    void tableHeaderRepeatsOnEveryPage();
};

void TestCommissioningReport::initTestCase()
{
    QStandardPaths::setTestModeEnabled(true);
    QLocale::setDefault(QLocale(QLocale::English, QLocale::UnitedStates));
}

void TestCommissioningReport::pdfText()
{
    if (toolPath(u"pdftotext"_s).isEmpty() || toolPath(u"pdfinfo"_s).isEmpty())
        QSKIP("poppler-utils (pdftotext, pdfinfo) not installed");
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString pdf = dir.filePath(u"report.pdf"_s);
    const Session session = handBuiltSession();
    ProgressLog log;
    const dlms::Result<void> result = report::writeCommissioningPdf(session, pdf, {}, log.callback());
    QVERIFY2(result.ok(), qPrintable(result.ok() ? QString() : result.error().message));
    QVERIFY(QFileInfo::exists(pdf));
    QVERIFY(log.wellFormed());

    // The total counts the meters laid out, then the pages printed.
    const int reportedPages = log.calls.back().second - int(session.meters.size());
    QVERIFY(reportedPages >= 1);
    // A start, one call per meter, the total once the pages are known, one per page.
    QCOMPARE(log.calls.size(), std::size_t(1 + 3 + 1 + reportedPages));
    QCOMPARE(pdfPages(pdf), reportedPages);

    const QString info = QString::fromUtf8(runTool(u"pdfinfo"_s, {pdf}));
    QVERIFY2(info.contains(u"DLMS Bridge"_s), qPrintable(info));
    QVERIFY2(info.contains(u"Substation Norte"_s), qPrintable(info)); // the title

    const QByteArray out = runTool(u"pdftotext"_s, {u"-layout"_s, u"-enc"_s, u"UTF-8"_s, pdf, u"-"_s});
    QVERIFY(!out.isNull());
    const QString text = QString::fromUtf8(out);
    const QStringList expected = {
        u"Substation Norte"_s,
        u"Ana Pérez"_s,
        u"Technician: Ana Pérez"_s,
        u"Cabinet 3 opened"_s,
        u"Seal 4471 replaced"_s,
        u"Feeder North"_s,
        u"Transformer Clock"_s,
        u"Pump Flaky"_s,
        u"SN-10001"_s,
        u"SN-10002"_s,
        u"SN-10003"_s,
        u"+600.0 s"_s,
        u"clock 600 s ahead"_s,
        u"231.4 V"_s,
        commissioning::checkStatusText(CheckStatus::Pass),
        commissioning::checkStatusText(CheckStatus::Warn),
        commissioning::checkStatusText(CheckStatus::Fail),
        commissioning::checkStatusText(CheckStatus::Skipped),
        commissioning::checkTitle(id(commissioning::checks::Clock)),
        u"Substation Norte — page 1 of %1"_s.arg(reportedPages),
        u"Signature:"_s,
        u"Customer / witness"_s,
        u"Date:"_s,
        u"Traffic baseline"_s,
    };
    for (const QString &needle : expected)
        QVERIFY2(text.contains(needle), qPrintable(u"missing \"%1\" in:\n%2"_s.arg(needle, text)));
    // The last page says it is the last one.
    QVERIFY(text.contains(u"page %1 of %1"_s.arg(reportedPages)));
}

void TestCommissioningReport::pdfRendersA4Page()
{
    if (toolPath(u"pdftoppm"_s).isEmpty())
        QSKIP("poppler-utils (pdftoppm) not installed");
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString pdf = dir.filePath(u"report.pdf"_s);
    QVERIFY(report::writeCommissioningPdf(handBuiltSession(), pdf).ok());

    const QString prefix = dir.filePath(u"page"_s);
    QVERIFY(
        !runTool(u"pdftoppm"_s, {u"-r"_s, u"40"_s, u"-png"_s, u"-f"_s, u"1"_s, u"-l"_s, u"1"_s, pdf, prefix})
             .isNull());
    // pdftoppm pads the page number to the width of the page count.
    const QStringList pngs = QDir(dir.path()).entryList({u"page*.png"_s}, QDir::Files);
    QCOMPARE(pngs.size(), 1);
    QImage page;
    QVERIFY(page.load(dir.filePath(pngs.first())));
    QVERIFY(page.width() > 250);
    QCOMPARE_LE(std::abs(double(page.height()) / page.width() - 297.0 / 210.0), 0.02);
    const int ink = nonWhitePixels(page);
    QVERIFY2(ink > page.width() * page.height() / 50, qPrintable(QString::number(ink)));
    // The status cells carry their colours: pass green and fail red are on the first page.
    QVERIFY(hasColorNear(page, QColor(0xd4, 0xed, 0xda), 6));
    QVERIFY(hasColorNear(page, QColor(0xf8, 0xd7, 0xda), 6));
}

void TestCommissioningReport::htmlEscapesHostileText_data()
{
    QTest::addColumn<QString>("hostile");
    QTest::newRow("bold-tag-and-ampersand") << u"<b>&"_s;
    QTest::newRow("script-element") << u"<script>alert(1)</script>"_s;
    QTest::newRow("quotes-and-entity") << u"\"x\" & 'y' &amp;"_s;
    QTest::newRow("image-tag") << u"<img src=\"chart.png\">"_s;
    // Placeholders in a name must not take the next argument of a translated template.
    QTest::newRow("arg-placeholders") << u"%1 %2 %n &lt;"_s;
}

void TestCommissioningReport::htmlEscapesHostileText()
{
    QFETCH(QString, hostile);
    Session session = handBuiltSession();
    session.info.site = u"Site "_s + hostile;
    session.info.technician = u"Tech "_s + hostile;
    session.info.notes = u"Note "_s + hostile;
    session.meters[0].meterName = u"Meter "_s + hostile;
    session.meters[0].serialNumber = u"Serial "_s + hostile;
    session.meters[1].checks[3].measured = u"Measured "_s + hostile;
    session.meters[1].checks[3].explanation = u"Why "_s + hostile;

    const QString html = report::commissioningHtml(session);
    QVERIFY(!html.contains(hostile));
    QVERIFY(html.contains(hostile.toHtmlEscaped()));
    // Read back as a document, every text is the literal one.
    const QString text = plainText(html);
    for (const QString &prefix :
        {u"Site "_s, u"Tech "_s, u"Note "_s, u"Meter "_s, u"Serial "_s, u"Measured "_s, u"Why "_s})
        QVERIFY2(text.contains(prefix + hostile), qPrintable(prefix));
    // Exactly one image: the chart, not one smuggled in through a name.
    QCOMPARE(html.count(u"<img"_s), 1);
}

void TestCommissioningReport::htmlSections()
{
    const QString text = plainText(report::commissioningHtml(handBuiltSession()));
    // The sections, in the order the header promises.
    const QStringList order = {u"Commissioning report"_s, u"Substation Norte"_s, u"Ana Pérez"_s,
        u"Seal 4471 replaced"_s, u"Summary"_s, u"Traffic baseline"_s, u"Meter details"_s, u"Sign-off"_s};
    qsizetype at = -1;
    for (const QString &section : order) {
        const qsizetype next = text.indexOf(section, at + 1);
        QVERIFY2(next > at, qPrintable(section));
        at = next;
    }
    QVERIFY(text.contains(u"Meters: 3 — passed: 1, warnings: 0, failed: 2, not checked: 0"_s));
    // The notes keep their line break.
    QVERIFY(text.contains(u"Cabinet 3 opened\u2028Seal 4471 replaced"_s)
        || text.contains(u"Cabinet 3 opened\nSeal 4471 replaced"_s));
    QVERIFY(text.contains(u"Technician: Ana Pérez"_s));
    QVERIFY(text.contains(u"Customer / witness"_s));
    QVERIFY(text.contains(u"UTC"_s)); // dates carry their offset
}

void TestCommissioningReport::comparisonOnlyWithPrevious()
{
    const Session current = handBuiltSession();
    const QString heading = u"Comparison with the previous run"_s;
    QVERIFY(!plainText(report::commissioningHtml(current)).contains(heading));

    // Before: the clock meter had passed, and a fourth meter was there.
    Session previous = handBuiltSession();
    previous.info.id = 6;
    using namespace commissioning::checks;
    previous.meters[1].checks[3]
        = check(id(Clock), CheckStatus::Pass, 0.2, u"s"_s, u"+0.2 s, DST off"_s, u"ok"_s);
    // And the good meter's clock had failed: that one improved.
    previous.meters[0].checks[3]
        = check(id(Clock), CheckStatus::Fail, -300, u"s"_s, u"-300.0 s, DST off"_s, u"behind"_s);
    MeterReport gone = meter(u"m-gone"_s, u"Removed Meter"_s, u"SN-9"_s);
    gone.checks = passingChecks(100, 10);
    previous.meters.push_back(gone);

    report::PdfOptions options;
    options.previous = previous;
    const QString text = plainText(report::commissioningHtml(current, options));
    QVERIFY(text.contains(heading));
    QVERIFY2(text.contains(u"fail → pass"_s, Qt::CaseInsensitive), qPrintable(text));
    QVERIFY(text.contains(u"pass → fail"_s, Qt::CaseInsensitive));
    QVERIFY(text.contains(u"-300.0 s, DST off → +0.4 s, DST off"_s));
    QVERIFY(text.contains(u"Better"_s));
    QVERIFY(text.contains(u"Worse"_s));
    QVERIFY(text.contains(u"Removed"_s));
    QVERIFY(text.contains(u"Removed Meter"_s));
    // What did not change is not listed: the flaky meter's TCP warning is the same.
    const qsizetype section = text.indexOf(heading);
    QVERIFY(!text.mid(section).contains(u"slow connect"_s));
    QVERIFY(!text.mid(section).contains(u"Pump Flaky"_s));

    // Nothing changed: the section says so.
    options.previous = current;
    QVERIFY(plainText(report::commissioningHtml(current, options))
                .contains(u"Nothing changed since the previous run."_s));
}

void TestCommissioningReport::chartBarsFollowValues()
{
    Session session;
    const std::vector<double> bytes = {120, 480, 300, 60};
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        MeterReport m = meter(u"m%1"_s.arg(i), u"Meter %1"_s.arg(i), u"SN-%1"_s.arg(i));
        m.checks = passingChecks(bytes[i], 10.0 + double(i) * 20);
        session.meters.push_back(m);
    }
    // A meter without a baseline is left out.
    MeterReport none = meter(u"m-none"_s, u"No Baseline"_s, u"SN-X"_s);
    none.checks
        = {check(id(commissioning::checks::Tcp), CheckStatus::Fail, std::nullopt, {}, u"refused"_s, {})};
    session.meters.push_back(none);

    const QSize size(1200, 600);
    const QImage image = report::trafficChartImage(session, size);
    QCOMPARE(image.size(), size);
    QVERIFY(nonWhitePixels(image) > size.width() * size.height() / 50);
    QVERIFY(hasColorNear(image, QColor(0xff, 0x7f, 0x0e), 10)); // the RTT markers

    const int base = barBaseRow(image);
    QVERIFY(base > size.height() / 2);
    const std::vector<Run> runs = barRuns(image, base);
    QCOMPARE(runs.size(), bytes.size());
    std::vector<int> heights;
    for (const Run &run : runs) {
        QVERIFY(run.last - run.first > 10);
        // Near the bar's edge, clear of the RTT marker at its centre.
        heights.push_back(barHeight(image, run.first + 2, base));
    }
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        for (std::size_t j = 0; j < bytes.size(); ++j) {
            if (bytes[i] < bytes[j])
                QVERIFY2(heights[i] < heights[j], qPrintable(u"bar %1 vs %2"_s.arg(i).arg(j)));
        }
        // Heights proportional to the values (a linear axis from zero).
        QCOMPARE_LE(std::abs(heights[i] / double(heights[1]) - bytes[i] / bytes[1]), 0.02);
    }
}

void TestCommissioningReport::chartManyMetersSortedWithoutNames()
{
    Session session;
    const int count = 120;
    for (int i = 0; i < count; ++i) {
        MeterReport m = meter(u"m%1"_s.arg(i), u"A rather long meter name %1"_s.arg(i), u"SN-%1"_s.arg(i));
        // Bytes only (no RTT markers over the bars), in a scrambled order.
        m.checks = {check(id(commissioning::checks::TrafficBytes), CheckStatus::Pass,
            50 + (i * 53) % count * 4, u"B"_s, {}, {})};
        session.meters.push_back(m);
    }
    const QImage image = report::trafficChartImage(session);
    QCOMPARE(image.size(), QSize(1800, 800));
    const int base = barBaseRow(image);
    QVERIFY(base > 0);
    std::vector<int> heights;
    for (int x = 0; x < image.width(); ++x) {
        if (isBar(image.pixel(x, base)))
            heights.push_back(barHeight(image, x, base));
    }
    QVERIFY(heights.size() >= std::size_t(count));
    // Sorted: tallest first, never growing again (a pixel of rounding allowed).
    QVERIFY(heights.front() > heights.back() * 5);
    for (std::size_t i = 1; i < heights.size(); ++i)
        QVERIFY2(heights[i] <= heights[i - 1] + 1, qPrintable(QString::number(i)));
    // The bars' region below the base holds the "n meters" note, not 120 names: the rows under
    // the base hold far less ink than they would with a name under every bar.
    int inkBelow = 0;
    for (int y = base + 2; y < image.height(); ++y) {
        for (int x = 0; x < image.width(); ++x)
            inkBelow += qGray(image.pixel(x, y)) < 128 ? 1 : 0;
    }
    QVERIFY2(inkBelow < image.width() * 6, qPrintable(QString::number(inkBelow)));
    QVERIFY(inkBelow > 0);
}

void TestCommissioningReport::chartEmpty()
{
    Session session = handBuiltSession();
    for (MeterReport &m : session.meters) {
        std::erase_if(m.checks, [](const CheckResult &c) {
            return c.check == commissioning::checks::TrafficBytes
                || c.check == commissioning::checks::TrafficRtt;
        });
    }
    const QImage image = report::trafficChartImage(session, QSize(900, 400));
    QCOMPARE(image.size(), QSize(900, 400));
    QCOMPARE(barBaseRow(image), -1);
    const int ink = nonWhitePixels(image);
    QVERIFY(ink > 100); // the title and the "no baseline" line
    QVERIFY(ink < 900 * 400 / 10);

    const QImage none = report::trafficChartImage(Session {}, QSize(900, 400));
    QCOMPARE(none.size(), QSize(900, 400));
    QCOMPARE(barBaseRow(none), -1);
    QVERIFY(nonWhitePixels(none) > 100);
}

void TestCommissioningReport::cancelLeavesNoFile_data()
{
    QTest::addColumn<int>("cancelAtCall");
    QTest::newRow("before-anything") << 0;
    QTest::newRow("while-laying-out-meters") << 2;
    QTest::newRow("after-layout") << 4; // calls: 0, meters 1..3, then the page total
    QTest::newRow("while-printing-pages") << 5;
}

void TestCommissioningReport::cancelLeavesNoFile()
{
    QFETCH(int, cancelAtCall);
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString pdf = dir.filePath(u"cancelled.pdf"_s);
    int calls = 0;
    const dlms::Result<void> result = report::writeCommissioningPdf(
        handBuiltSession(), pdf, {}, [&](int, int) { return calls++ != cancelAtCall; });
    QVERIFY(!result.ok());
    QCOMPARE(result.error().code, dlms::ErrorCode::IoError);
    QCOMPARE(calls, cancelAtCall + 1); // nothing more asked after the refusal
    QVERIFY(!QFileInfo::exists(pdf));
    QVERIFY(QDir(dir.path()).entryList(QDir::Files | QDir::Hidden).isEmpty()); // no temp file either
}

void TestCommissioningReport::unwritablePathIsNamed()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString pdf = dir.filePath(u"no-such-dir/report.pdf"_s);
    const dlms::Result<void> result = report::writeCommissioningPdf(handBuiltSession(), pdf);
    QVERIFY(!result.ok());
    QCOMPARE(result.error().code, dlms::ErrorCode::IoError);
    QVERIFY2(
        result.error().message.contains(QDir::toNativeSeparators(pdf)), qPrintable(result.error().message));
    QVERIFY(!QFileInfo::exists(pdf));
    QVERIFY(QDir(dir.path()).entryList(QDir::Files | QDir::Hidden).isEmpty());
}

void TestCommissioningReport::fiveHundredMeters()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString pdf = dir.filePath(u"big.pdf"_s);
    const Session session = bigSession(500);
    QCOMPARE(session.meters.front().checks.size(), std::size_t(15));
    ProgressLog log;
    const dlms::Result<void> result = report::writeCommissioningPdf(session, pdf, {}, log.callback());
    QVERIFY2(result.ok(), qPrintable(result.ok() ? QString() : result.error().message));
    QVERIFY(QFileInfo(pdf).size() > 10'000);
    QVERIFY(log.wellFormed());
    const int pages = log.calls.back().second - 500;
    QVERIFY(pages > 1);
    if (!toolPath(u"pdfinfo"_s).isEmpty())
        QCOMPARE(pdfPages(pdf), pages);
}

void TestCommissioningReport::pdfFromWorkerThread()
{
    // The GUI exports on a worker thread: the report must not need the GUI thread.
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString pdf = dir.filePath(u"worker.pdf"_s);
    Session session = handBuiltSession();
    session.info.site = u"Lot %2 %1"_s; // the footer's template must not fill these in
    std::optional<dlms::Result<void>> result;
    Qt::HANDLE workerId = nullptr;
    std::unique_ptr<QThread> thread(QThread::create([&] {
        workerId = QThread::currentThreadId();
        result = report::writeCommissioningPdf(session, pdf);
    }));
    QSignalSpy finished(thread.get(), &QThread::finished);
    thread->start();
    QVERIFY(finished.wait(20'000));
    QVERIFY(workerId != QThread::currentThreadId());
    QVERIFY(result.has_value());
    QVERIFY2(result->ok(), qPrintable(result->ok() ? QString() : result->error().message));
    QVERIFY(QFileInfo(pdf).size() > 1000);
    if (toolPath(u"pdftotext"_s).isEmpty())
        return;
    const QString text = QString::fromUtf8(runTool(u"pdftotext"_s, {u"-layout"_s, pdf, u"-"_s}));
    QVERIFY2(text.contains(u"Lot %2 %1 — page 1 of"_s), qPrintable(text));
}

void TestCommissioningReport::tableHeaderRepeatsOnEveryPage()
{
    // One meter with 150 registers: its checks table runs over several pages, and a page that
    // continues it starts with the column names again.
    Session session = handBuiltSession();
    session.meters.resize(1);
    for (int i = 0; i < 150; ++i)
        session.meters[0].checks.push_back(check(u"register:value_%1"_s.arg(i), CheckStatus::Pass, i, u"V"_s,
            u"%1 V"_s.arg(i), u"read; no plausibility range"_s));
    QTextDocument document;
    document.setHtml(report::commissioningHtml(session));
    int checkTables = 0;
    for (QTextFrame *frame : document.rootFrame()->childFrames()) {
        auto *table = qobject_cast<QTextTable *>(frame);
        if (table && table->rows() > 100) {
            QCOMPARE(table->format().headerRowCount(), 1);
            ++checkTables;
        }
    }
    QCOMPARE(checkTables, 1);

    if (toolPath(u"pdftotext"_s).isEmpty())
        QSKIP("poppler-utils (pdftotext) not installed");
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString pdf = dir.filePath(u"long.pdf"_s);
    const dlms::Result<void> result = report::writeCommissioningPdf(session, pdf);
    QVERIFY2(result.ok(), qPrintable(result.ok() ? QString() : result.error().message));
    const int pages = pdfPages(pdf);
    QVERIFY(pages >= 3);
    for (int page = 3; page <= pages; ++page) {
        const QString text = QString::fromUtf8(runTool(u"pdftotext"_s,
            {u"-layout"_s, u"-f"_s, QString::number(page), u"-l"_s, QString::number(page), pdf, u"-"_s}));
        if (!text.contains(u"value_"_s))
            continue; // past the table (signature page)
        QVERIFY2(text.contains(u"Explanation"_s), qPrintable(u"page %1:\n"_s.arg(page) + text.left(400)));
    }
}

QTEST_MAIN(TestCommissioningReport)
#include "tst_commissioningreport.moc"
