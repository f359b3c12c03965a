#include "commissioningreport.h"

#include <displayformat.h>

#include <QtCore/QCoreApplication>
#include <QtCore/QDateTime>
#include <QtCore/QDir>
#include <QtCore/QLocale>
#include <QtCore/QMarginsF>
#include <QtCore/QRectF>
#include <QtCore/QSaveFile>
#include <QtCore/QUrl>
#include <QtGui/QAbstractTextDocumentLayout>
#include <QtGui/QFont>
#include <QtGui/QFontMetricsF>
#include <QtGui/QGuiApplication>
#include <QtGui/QPageLayout>
#include <QtGui/QPageSize>
#include <QtGui/QPainter>
#include <QtGui/QPdfWriter>
#include <QtGui/QTextDocument>

#include <algorithm>
#include <cmath>

using namespace Qt::StringLiterals;

namespace report {

namespace {

// lupdate reads Tr::tr() calls with this context, so every report text lands in the .ts file.
struct Tr {
    Q_DECLARE_TR_FUNCTIONS(report::Commissioning)
};

constexpr double kMarginMm = 15.0;
const QColor kBarColor(0x1f, 0x77, 0xb4);
const QColor kRttColor(0xff, 0x7f, 0x0e);
const QColor kGridColor(0xdd, 0xdd, 0xdd);
const QColor kAxisColor(0x55, 0x55, 0x55);
// More bars than this and names no longer fit under them: sorted bars, no names.
constexpr int kMaxNamedBars = 60;
// The chart as the PDF embeds it (the header's default size).
constexpr QSize kChartSize(1800, 800);

QPageLayout a4Layout()
{
    return QPageLayout(QPageSize(QPageSize::A4), QPageLayout::Portrait,
        QMarginsF(kMarginMm, kMarginMm, kMarginMm, kMarginMm), QPageLayout::Millimeter);
}

// The chart's width in the HTML, in CSS pixels (96 dpi): the full text width of the A4 page.
int chartHtmlWidth()
{
    return qRound(a4Layout().paintRect(QPageLayout::Inch).width() * 96.0);
}

// A letter spacing other than zero turns ligatures off: "ﬃ" in "Traffic" would otherwise reach
// the PDF's text as one character, and a search or copy of the report would miss the word.
QFont textFont()
{
    QFont font;
    font.setLetterSpacing(QFont::AbsoluteSpacing, 0.02);
    return font;
}

QString esc(const QString &text)
{
    return text.toHtmlEscaped();
}

// Escaped, with the line breaks the technician typed kept.
QString escMultiline(const QString &text)
{
    return esc(text).replace(u"\r\n"_s, u"<br/>"_s).replace(u'\n', u"<br/>"_s);
}

QString orNoData(const QString &text)
{
    return text.isEmpty() ? monitor::noData() : text;
}

QString formatDateTime(qint64 utcMs)
{
    if (utcMs <= 0)
        return monitor::noData();
    const QDateTime local = QDateTime::fromMSecsSinceEpoch(utcMs).toLocalTime();
    const int offset = local.offsetFromUtc();
    const int abs = std::abs(offset);
    const QString utc = u"UTC%1%2:%3"_s.arg(QChar(offset < 0 ? u'-' : u'+'))
                            .arg(abs / 3600, 2, 10, QLatin1Char('0'))
                            .arg((abs % 3600) / 60, 2, 10, QLatin1Char('0'));
    const QString text = QLocale().toString(local, QLocale::ShortFormat);
    return Tr::tr("%1 (%2)", "date and time (UTC offset)").arg(text, utc);
}

QString formatDuration(qint64 ms)
{
    const qint64 s = std::max<qint64>(0, ms) / 1000;
    if (s < 60)
        return Tr::tr("%n s", "duration", int(s));
    if (s < 3600)
        return Tr::tr("%1 min %2 s", "duration").arg(s / 60).arg(s % 60);
    return Tr::tr("%1 h %2 min", "duration").arg(s / 3600).arg((s % 3600) / 60);
}

QString stateText(commissioning::SessionState state)
{
    switch (state) {
    case commissioning::SessionState::Running:
        return Tr::tr("Running");
    case commissioning::SessionState::Finished:
        return Tr::tr("Finished");
    case commissioning::SessionState::Cancelled:
        break;
    }
    return Tr::tr("Cancelled");
}

QString changeText(commissioning::CheckComparison::Change change)
{
    using Change = commissioning::CheckComparison::Change;
    switch (change) {
    case Change::Same:
        return Tr::tr("Same");
    case Change::Changed:
        return Tr::tr("Changed");
    case Change::Better:
        return Tr::tr("Better");
    case Change::Worse:
        return Tr::tr("Worse");
    case Change::Added:
        return Tr::tr("Added");
    case Change::Removed:
        break;
    }
    return Tr::tr("Removed");
}

struct StatusColors {
    const char *background;
    const char *text;
};

StatusColors statusColors(commissioning::CheckStatus status)
{
    switch (status) {
    case commissioning::CheckStatus::Pass:
        return {"#d4edda", "#155724"};
    case commissioning::CheckStatus::Warn:
        return {"#ffe8b3", "#7a4f01"};
    case commissioning::CheckStatus::Fail:
        return {"#f8d7da", "#8b1a1a"};
    case commissioning::CheckStatus::Skipped:
        break;
    }
    return {"#e2e3e5", "#383d41"};
}

// A table cell with the status spelled out on its colour: colour is never the only carrier.
QString statusCell(commissioning::CheckStatus status)
{
    const StatusColors c = statusColors(status);
    return u"<td bgcolor=\"%1\"><span style=\"color:%2; font-weight:bold\">%3</span></td>"_s.arg(
        QLatin1StringView(c.background), QLatin1StringView(c.text),
        esc(commissioning::checkStatusText(status)));
}

QString headerCell(const QString &text)
{
    return u"<th bgcolor=\"#e9ecef\" align=\"left\">%1</th>"_s.arg(esc(text));
}

QString cell(const QString &text)
{
    return u"<td>%1</td>"_s.arg(esc(text));
}

QString tableStart()
{
    return u"<table border=\"1\" cellspacing=\"0\" cellpadding=\"3\" width=\"100%\" "
           "style=\"border-collapse: collapse; border-color: #9a9a9a\">"_s;
}

QString measuredText(const commissioning::CheckResult &check)
{
    if (!check.measured.isEmpty())
        return check.measured;
    if (check.value)
        return QString(QLocale().toString(*check.value, 'g', 15) + u' ' + check.unit).trimmed();
    return monitor::noData();
}

struct Counts {
    int passed = 0;
    int warned = 0;
    int failed = 0;
    int skipped = 0;
};

Counts countMeters(const commissioning::Session &session)
{
    Counts counts;
    for (const commissioning::MeterReport &meter : session.meters) {
        switch (meter.overall()) {
        case commissioning::CheckStatus::Pass:
            ++counts.passed;
            break;
        case commissioning::CheckStatus::Warn:
            ++counts.warned;
            break;
        case commissioning::CheckStatus::Fail:
            ++counts.failed;
            break;
        case commissioning::CheckStatus::Skipped:
            ++counts.skipped;
            break;
        }
    }
    return counts;
}

QString infoRow(const QString &label, const QString &valueHtml)
{
    return u"<tr><td width=\"22%\"><b>%1</b></td><td>%2</td></tr>"_s.arg(esc(label), valueHtml);
}

QString meterDisplayName(const commissioning::MeterReport &meter)
{
    return meter.meterName.isEmpty() ? meter.meterId : meter.meterName;
}

QString beforeAfter(const QString &before, const QString &after)
{
    return Tr::tr("%1 → %2", "before → after").arg(before, after);
}

QString comparisonSection(const commissioning::Session &previous, const commissioning::Session &current)
{
    QString html;
    html += u"<h2>%1</h2>"_s.arg(esc(Tr::tr("Comparison with the previous run")));
    html += u"<p>%1</p>"_s.arg(
        esc(Tr::tr("Previous run: session %1, started %2")
                .arg(QLocale().toString(previous.info.id), formatDateTime(previous.info.startedMs))));
    const std::vector<commissioning::CheckComparison> all = commissioning::compareSessions(previous, current);
    std::vector<const commissioning::CheckComparison *> changed;
    for (const commissioning::CheckComparison &c : all) {
        if (c.change != commissioning::CheckComparison::Change::Same)
            changed.push_back(&c);
    }
    if (changed.empty()) {
        html += u"<p>%1</p>"_s.arg(esc(Tr::tr("Nothing changed since the previous run.")));
        return html;
    }
    html += tableStart() + u"<thead><tr>"_s + headerCell(Tr::tr("Meter")) + headerCell(Tr::tr("Check"))
        + headerCell(Tr::tr("Change")) + headerCell(Tr::tr("Status")) + headerCell(Tr::tr("Measured"))
        + u"</tr></thead>"_s;
    for (const commissioning::CheckComparison *c : changed) {
        const QString beforeStatus
            = c->previous ? commissioning::checkStatusText(c->previous->status) : monitor::noData();
        const QString afterStatus
            = c->current ? commissioning::checkStatusText(c->current->status) : monitor::noData();
        const QString beforeMeasured = c->previous ? measuredText(*c->previous) : monitor::noData();
        const QString afterMeasured = c->current ? measuredText(*c->current) : monitor::noData();
        html += u"<tr>"_s + cell(c->meterName.isEmpty() ? c->meterId : c->meterName)
            + cell(commissioning::checkTitle(c->check)) + cell(changeText(c->change))
            + cell(beforeAfter(beforeStatus, afterStatus)) + cell(beforeAfter(beforeMeasured, afterMeasured))
            + u"</tr>"_s;
    }
    html += u"</table>"_s;
    return html;
}

QString signatureBlock(const commissioning::Session &session, qint64 generatedAtMs)
{
    const QString line = u"______________________________"_s;
    QString html = u"<h2>%1</h2>"_s.arg(esc(Tr::tr("Sign-off")));
    html += u"<table cellspacing=\"0\" cellpadding=\"6\" width=\"100%\"><tr><td width=\"50%\">"_s;
    html += u"<p><b>%1</b></p>"_s.arg(esc(Tr::tr("Commissioned by")));
    html += u"<p>%1</p>"_s.arg(esc(Tr::tr("Technician: %1").arg(session.info.technician)));
    html += u"<p>%1</p>"_s.arg(esc(Tr::tr("Date: %1").arg(formatDateTime(generatedAtMs))));
    html += u"<p><br/>%1</p>"_s.arg(esc(Tr::tr("Signature: %1").arg(line)));
    html += u"</td><td width=\"50%\">"_s;
    html += u"<p><b>%1</b></p>"_s.arg(esc(Tr::tr("Customer / witness")));
    html += u"<p>%1</p>"_s.arg(esc(Tr::tr("Name: %1").arg(line)));
    html += u"<p>%1</p>"_s.arg(esc(Tr::tr("Date: %1").arg(line)));
    html += u"<p><br/>%1</p>"_s.arg(esc(Tr::tr("Signature: %1").arg(line)));
    html += u"</td></tr></table>"_s;
    return html;
}

// The whole HTML; `meterDone` is called after each meter's details (false = stop: nullopt).
std::optional<QString> buildHtml(const commissioning::Session &session, const PdfOptions &options,
    const std::function<bool(int)> &meterDone)
{
    const qint64 generatedAtMs
        = options.generatedAtMs > 0 ? options.generatedAtMs : QDateTime::currentMSecsSinceEpoch();
    const commissioning::SessionInfo &info = session.info;
    QString html;
    html.reserve(4096 + int(session.meters.size()) * 3000);
    html += u"<html><body>"_s;
    html += u"<h1>%1</h1>"_s.arg(esc(Tr::tr("Commissioning report")));

    html += u"<table cellspacing=\"0\" cellpadding=\"2\" width=\"100%\">"_s;
    html += infoRow(Tr::tr("Site"), esc(orNoData(info.site)));
    html += infoRow(Tr::tr("Technician"), esc(orNoData(info.technician)));
    html += infoRow(Tr::tr("Started"), esc(formatDateTime(info.startedMs)));
    html += infoRow(Tr::tr("Finished"), esc(formatDateTime(info.finishedMs)));
    if (info.startedMs > 0 && info.finishedMs >= info.startedMs)
        html += infoRow(Tr::tr("Duration"), esc(formatDuration(info.finishedMs - info.startedMs)));
    html += infoRow(Tr::tr("State"), esc(stateText(info.state)));
    if (info.id > 0)
        html += infoRow(Tr::tr("Session"), esc(QLocale().toString(info.id)));
    html += infoRow(Tr::tr("Report generated"), esc(formatDateTime(generatedAtMs)));
    html
        += infoRow(Tr::tr("Notes"), info.notes.isEmpty() ? esc(monitor::noData()) : escMultiline(info.notes));
    html += u"</table>"_s;

    const Counts counts = countMeters(session);
    html += u"<h2>%1</h2>"_s.arg(esc(Tr::tr("Summary")));
    html += u"<p>%1</p>"_s.arg(
        esc(Tr::tr("Meters: %1 — passed: %2, warnings: %3, failed: %4, not checked: %5")
                .arg(monitor::formatCount(session.meters.size()), monitor::formatCount(counts.passed),
                    monitor::formatCount(counts.warned), monitor::formatCount(counts.failed),
                    monitor::formatCount(counts.skipped))));
    if (!session.meters.empty()) {
        html += tableStart() + u"<thead><tr>"_s + headerCell(Tr::tr("Meter")) + headerCell(Tr::tr("Endpoint"))
            + headerCell(Tr::tr("Serial number")) + headerCell(Tr::tr("Status"))
            + headerCell(Tr::tr("Warnings")) + headerCell(Tr::tr("Failures")) + u"</tr></thead>"_s;
        for (const commissioning::MeterReport &meter : session.meters) {
            int warnings = 0;
            int failures = 0;
            for (const commissioning::CheckResult &check : meter.checks) {
                warnings += check.status == commissioning::CheckStatus::Warn ? 1 : 0;
                failures += check.status == commissioning::CheckStatus::Fail ? 1 : 0;
            }
            html += u"<tr>"_s + cell(meterDisplayName(meter)) + cell(orNoData(meter.endpoint))
                + cell(orNoData(meter.serialNumber)) + statusCell(meter.overall())
                + cell(monitor::formatCount(warnings)) + cell(monitor::formatCount(failures)) + u"</tr>"_s;
        }
        html += u"</table>"_s;
    }

    const int chartWidth = chartHtmlWidth();
    html += u"<h2>%1</h2>"_s.arg(esc(Tr::tr("Traffic baseline")));
    html += u"<p><img src=\"chart.png\" width=\"%1\" height=\"%2\"/></p>"_s.arg(chartWidth)
                .arg(qRound(chartWidth * double(kChartSize.height()) / kChartSize.width()));

    html += u"<h2>%1</h2>"_s.arg(esc(Tr::tr("Meter details")));
    for (std::size_t i = 0; i < session.meters.size(); ++i) {
        const commissioning::MeterReport &meter = session.meters[i];
        const QString heading = meter.meterName.isEmpty()
            ? meter.meterId
            : Tr::tr("%1 (%2)", "meter name (id)").arg(meter.meterName, meter.meterId);
        html += u"<h3>%1</h3>"_s.arg(esc(heading));
        html += u"<p>%1<br/>%2<br/>%3<br/>%4</p>"_s.arg(
            esc(Tr::tr("Endpoint: %1").arg(orNoData(meter.endpoint))),
            esc(Tr::tr("Logical device name: %1").arg(orNoData(meter.logicalDeviceName))),
            esc(Tr::tr("Serial number: %1").arg(orNoData(meter.serialNumber))),
            esc(Tr::tr("Firmware: %1").arg(orNoData(meter.firmwareVersion))));
        if (meter.checks.empty()) {
            html += u"<p>%1</p>"_s.arg(esc(Tr::tr("No check was made.")));
        } else {
            html += tableStart() + u"<thead><tr>"_s + headerCell(Tr::tr("Check"))
                + headerCell(Tr::tr("Status")) + headerCell(Tr::tr("Measured"))
                + headerCell(Tr::tr("Explanation")) + u"</tr></thead>"_s;
            for (const commissioning::CheckResult &check : meter.checks) {
                html += u"<tr>"_s + cell(commissioning::checkTitle(check.check)) + statusCell(check.status)
                    + cell(measuredText(check)) + cell(orNoData(check.explanation)) + u"</tr>"_s;
            }
            html += u"</table>"_s;
        }
        if (meterDone && !meterDone(int(i) + 1))
            return std::nullopt;
    }

    if (options.previous)
        html += comparisonSection(*options.previous, session);
    html += signatureBlock(session, generatedAtMs);
    html += u"</body></html>"_s;
    return html;
}

double niceStep(double roughStep)
{
    if (!(roughStep > 0))
        return 1;
    const double magnitude = std::pow(10.0, std::floor(std::log10(roughStep)));
    const double f = roughStep / magnitude;
    const double nice = f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10;
    return nice * magnitude;
}

// The fewest decimals that show the step exactly (0.25 → 2, 5 → 0).
int decimalsFor(double step)
{
    int decimals = 0;
    double scaled = step;
    while (decimals < 6 && std::abs(scaled - std::round(scaled)) > 1e-6 * std::max(1.0, scaled)) {
        scaled *= 10;
        ++decimals;
    }
    return decimals;
}

struct ChartEntry {
    QString name;
    double bytes = 0;
    std::optional<double> rtt;
};

void drawCentered(QPainter &p, const QRectF &rect, const QString &text)
{
    p.drawText(rect, Qt::AlignCenter, text);
}

} // namespace

QImage trafficChartImage(const commissioning::Session &session, QSize size)
{
    size = size.expandedTo(QSize(200, 120));
    QImage image(size, QImage::Format_RGB32);
    image.fill(Qt::white);
    QPainter p(&image);
    p.setRenderHint(QPainter::Antialiasing);
    p.setRenderHint(QPainter::TextAntialiasing);

    const double w = size.width();
    const double h = size.height();
    const double unit = std::max(8.0, h / 34.0); // the text size; everything else scales with it
    QFont font;
    font.setPixelSize(qRound(unit));
    QFont titleFont = font;
    titleFont.setPixelSize(qRound(unit * 1.35));
    titleFont.setBold(true);

    // find() takes a QStringView; the check ids are Latin-1 constants.
    const QString bytesId = commissioning::checks::TrafficBytes;
    const QString rttId = commissioning::checks::TrafficRtt;
    std::vector<ChartEntry> entries;
    for (const commissioning::MeterReport &meter : session.meters) {
        const commissioning::CheckResult *bytes = meter.find(bytesId);
        const commissioning::CheckResult *rtt = meter.find(rttId);
        const bool hasBytes = bytes && bytes->value;
        const bool hasRtt = rtt && rtt->value;
        if (!hasBytes && !hasRtt)
            continue;
        entries.push_back({meterDisplayName(meter), hasBytes ? std::max(0.0, *bytes->value) : 0.0,
            hasRtt ? std::optional<double>(std::max(0.0, *rtt->value)) : std::nullopt});
    }

    p.setPen(Qt::black);
    p.setFont(titleFont);
    const QRectF titleRect(0, unit * 0.4, w, unit * 2);
    drawCentered(p, titleRect, Tr::tr("Traffic baseline per meter"));

    if (entries.empty()) {
        p.setFont(font);
        p.setPen(kAxisColor);
        drawCentered(p, QRectF(0, titleRect.bottom(), w, h - titleRect.bottom()),
            Tr::tr("No traffic baseline in this session"));
        return image;
    }

    const bool named = int(entries.size()) <= kMaxNamedBars;
    if (!named) {
        std::stable_sort(entries.begin(), entries.end(),
            [](const ChartEntry &a, const ChartEntry &b) { return a.bytes > b.bytes; });
    }

    // The legend, under the title.
    p.setFont(font);
    const QFontMetricsF fm(font);
    const QString barLabel = Tr::tr("DLMS bytes per poll");
    const QString rttLabel = Tr::tr("Average RTT (ms)");
    const double swatch = unit * 0.8;
    const double legendY = titleRect.bottom() + unit * 0.3;
    const double legendWidth = swatch + unit * 0.4 + fm.horizontalAdvance(barLabel) + unit * 1.5 + swatch
        + unit * 0.4 + fm.horizontalAdvance(rttLabel);
    double lx = (w - legendWidth) / 2;
    p.fillRect(QRectF(lx, legendY + (fm.height() - swatch) / 2, swatch, swatch), kBarColor);
    lx += swatch + unit * 0.4;
    p.setPen(Qt::black);
    p.drawText(QRectF(lx, legendY, fm.horizontalAdvance(barLabel) + 2, fm.height()),
        Qt::AlignLeft | Qt::AlignVCenter, barLabel);
    lx += fm.horizontalAdvance(barLabel) + unit * 1.5;
    p.setBrush(kRttColor);
    p.setPen(QPen(kRttColor.darker(140), std::max(1.0, unit / 12)));
    p.drawEllipse(QPointF(lx + swatch / 2, legendY + fm.height() / 2), swatch / 2.4, swatch / 2.4);
    lx += swatch + unit * 0.4;
    p.setPen(Qt::black);
    p.drawText(QRectF(lx, legendY, fm.horizontalAdvance(rttLabel) + 2, fm.height()),
        Qt::AlignLeft | Qt::AlignVCenter, rttLabel);

    // Axes: nice round steps on the left; the right axis shares the gridlines.
    double maxBytes = 0;
    double maxRtt = 0;
    for (const ChartEntry &e : entries) {
        maxBytes = std::max(maxBytes, e.bytes);
        if (e.rtt)
            maxRtt = std::max(maxRtt, *e.rtt);
    }
    const double bytesStep = niceStep(std::max(maxBytes, 1.0) / 5);
    const int intervals = std::max(1, int(std::ceil(std::max(maxBytes, 1.0) / bytesStep - 1e-9)));
    const double bytesTop = bytesStep * intervals;
    const double rttStep = niceStep(std::max(maxRtt, 0.001) / intervals);
    const double rttTop = rttStep * intervals;
    const int rttDecimals = decimalsFor(rttStep);

    QStringList leftLabels;
    QStringList rightLabels;
    double leftLabelWidth = 0;
    double rightLabelWidth = 0;
    for (int i = 0; i <= intervals; ++i) {
        leftLabels << monitor::formatBytes(bytesStep * i);
        rightLabels << QLocale().toString(rttStep * i, 'f', rttDecimals);
        leftLabelWidth = std::max(leftLabelWidth, fm.horizontalAdvance(leftLabels.back()));
        rightLabelWidth = std::max(rightLabelWidth, fm.horizontalAdvance(rightLabels.back()));
    }

    // Names under the bars: horizontal while they fit, rotated otherwise.
    const double axisTitleSpace = fm.height() * 1.6;
    const double plotLeft = axisTitleSpace + leftLabelWidth + unit * 0.6;
    const double plotRight = w - (axisTitleSpace + rightLabelWidth + unit * 0.6);
    const double plotTop = legendY + fm.height() + unit * 1.2;
    const double plotWidth = std::max(10.0, plotRight - plotLeft);
    const double slot = plotWidth / double(entries.size());
    double maxNameWidth = 0;
    for (const ChartEntry &e : entries)
        maxNameWidth = std::max(maxNameWidth, fm.horizontalAdvance(e.name));
    const bool rotated = named && maxNameWidth > slot * 0.95;
    const double nameSpace = !named ? fm.height() * 1.6
        : rotated                   ? std::min(h * 0.28, maxNameWidth * 0.72 + fm.height())
                                    : fm.height() * 1.4;
    const double plotBottom = std::max(plotTop + 10, h - nameSpace - unit * 0.4);
    const double plotHeight = plotBottom - plotTop;

    p.setPen(QPen(kGridColor, 1));
    p.setBrush(Qt::NoBrush);
    for (int i = 0; i <= intervals; ++i) {
        const double y = std::round(plotBottom - plotHeight * i / intervals) + 0.5;
        p.setPen(QPen(kGridColor, 1));
        p.drawLine(QPointF(plotLeft, y), QPointF(plotRight, y));
        p.setPen(Qt::black);
        p.drawText(
            QRectF(plotLeft - unit * 0.4 - leftLabelWidth, y - fm.height() / 2, leftLabelWidth, fm.height()),
            Qt::AlignRight | Qt::AlignVCenter, leftLabels[i]);
        p.drawText(QRectF(plotRight + unit * 0.4, y - fm.height() / 2, rightLabelWidth, fm.height()),
            Qt::AlignLeft | Qt::AlignVCenter, rightLabels[i]);
    }

    // Axis titles, rotated along the axes.
    const QString leftTitle = Tr::tr("bytes per poll");
    const QString rightTitle = Tr::tr("average RTT (ms)");
    p.setPen(kAxisColor);
    p.save();
    p.translate(fm.height() * 0.2, plotTop + plotHeight / 2);
    p.rotate(-90);
    p.drawText(QRectF(-plotHeight / 2, 0, plotHeight, fm.height() * 1.2), Qt::AlignCenter, leftTitle);
    p.restore();
    p.save();
    p.translate(w - fm.height() * 0.2, plotTop + plotHeight / 2);
    p.rotate(90);
    p.drawText(QRectF(-plotHeight / 2, 0, plotHeight, fm.height() * 1.2), Qt::AlignCenter, rightTitle);
    p.restore();

    // Bars snapped to whole pixels, so they read crisp and a bar's colour is exact inside.
    p.setRenderHint(QPainter::Antialiasing, false);
    std::vector<QPointF> rttPoints;
    rttPoints.reserve(entries.size());
    for (std::size_t i = 0; i < entries.size(); ++i) {
        const ChartEntry &e = entries[i];
        const double x0 = plotLeft + slot * double(i);
        const double gap = named ? slot * 0.2 : slot * 0.1;
        const int left = int(std::round(x0 + gap));
        const int right = std::max(left + 1, int(std::round(x0 + slot - gap)));
        const int top = int(std::round(plotBottom - plotHeight * e.bytes / bytesTop));
        const int bottom = int(std::round(plotBottom));
        if (bottom > top)
            p.fillRect(QRect(QPoint(left, top), QPoint(right - 1, bottom)), kBarColor);
        if (e.rtt)
            rttPoints.emplace_back(x0 + slot / 2, plotBottom - plotHeight * *e.rtt / rttTop);
    }
    p.setRenderHint(QPainter::Antialiasing, true);

    p.setPen(QPen(kAxisColor, std::max(1.0, unit / 14)));
    p.drawLine(QPointF(plotLeft, plotBottom + 0.5), QPointF(plotRight, plotBottom + 0.5));
    p.drawLine(QPointF(plotLeft, plotTop), QPointF(plotLeft, plotBottom + 0.5));
    p.drawLine(QPointF(plotRight, plotTop), QPointF(plotRight, plotBottom + 0.5));

    const double radius = std::clamp(slot * 0.3, unit * 0.15, unit * 0.3);
    p.setBrush(kRttColor);
    p.setPen(QPen(kRttColor.darker(140), std::max(1.0, unit / 14)));
    for (const QPointF &point : rttPoints)
        p.drawEllipse(point, radius, radius);

    p.setPen(Qt::black);
    if (!named) {
        p.setPen(kAxisColor);
        p.drawText(QRectF(plotLeft, plotBottom + unit * 0.2, plotWidth, nameSpace),
            Qt::AlignHCenter | Qt::AlignTop,
            Tr::tr("%n meters, sorted by bytes per poll", nullptr, int(entries.size())));
    } else if (!rotated) {
        for (std::size_t i = 0; i < entries.size(); ++i) {
            const QRectF r(plotLeft + slot * double(i), plotBottom + unit * 0.3, slot, fm.height());
            p.drawText(r, Qt::AlignHCenter | Qt::AlignTop,
                fm.elidedText(entries[i].name, Qt::ElideMiddle, slot * 0.95));
        }
    } else {
        // Names at 45 degrees, ending under their bar, kept inside the image on the left;
        // elided in the middle, as names often differ only in a trailing number.
        const double maxLength = (nameSpace - fm.height() * 0.5) / 0.7071;
        for (std::size_t i = 0; i < entries.size(); ++i) {
            const double x = plotLeft + slot * (double(i) + 0.5);
            const double room = std::min(maxLength, (x - unit * 0.3) / 0.7071 - fm.height() * 0.5);
            const QString name = fm.elidedText(entries[i].name, Qt::ElideMiddle, room);
            p.save();
            p.translate(x, plotBottom + unit * 0.3);
            p.rotate(-45);
            const double length = fm.horizontalAdvance(name);
            p.drawText(QRectF(-length - fm.height() * 0.2, 0, length, fm.height()),
                Qt::AlignRight | Qt::AlignTop, name);
            p.restore();
        }
    }
    p.end();
    return image;
}

QString commissioningHtml(const commissioning::Session &session, const PdfOptions &options)
{
    return buildHtml(session, options, {}).value_or(QString());
}

dlms::Result<void> writeCommissioningPdf(const commissioning::Session &session, const QString &path,
    const PdfOptions &options, const Progress &progress)
{
    const auto cancelled = [&path] {
        return dlms::makeError(dlms::ErrorCode::IoError,
            Tr::tr("Report %1 cancelled: nothing was written").arg(QDir::toNativeSeparators(path)));
    };
    // Fonts and the PDF engine need the platform integration a QGuiApplication brings up.
    if (!qobject_cast<QGuiApplication *>(QCoreApplication::instance())) {
        return dlms::makeError(
            dlms::ErrorCode::InvalidArgument, u"writeCommissioningPdf needs a QGuiApplication"_s);
    }
    const int meterCount = int(session.meters.size());
    // Pages are known only once laid out: until then the total counts an estimate of them.
    int checkRows = 0;
    for (const commissioning::MeterReport &meter : session.meters)
        checkRows += int(meter.checks.size());
    int total = meterCount + std::max(1, 2 + (checkRows + meterCount * 8) / 50);
    if (progress && !progress(0, total))
        return cancelled();

    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly)) {
        return dlms::makeError(dlms::ErrorCode::IoError,
            Tr::tr("Cannot write the report %1: %2").arg(QDir::toNativeSeparators(path), file.errorString()));
    }

    const std::optional<QString> html
        = buildHtml(session, options, [&](int done) { return !progress || progress(done, total); });
    if (!html) {
        file.cancelWriting();
        return cancelled();
    }

    QPdfWriter writer(&file);
    writer.setResolution(std::max(72, options.resolutionDpi));
    writer.setPageLayout(a4Layout());
    writer.setTitle(Tr::tr("Commissioning report — %1").arg(session.info.site));
    writer.setCreator(u"DLMS Bridge"_s);

    const int dpi = writer.resolution();
    const QRectF paintRect = writer.pageLayout().paintRectPixels(dpi);

    QFont bodyFont = textFont();
    bodyFont.setPointSizeF(9);
    QFont marginFont = textFont();
    marginFont.setPointSizeF(7.5);
    const QFontMetricsF marginMetrics(marginFont, &writer);
    const double headerHeight = marginMetrics.height() * 2.2;
    const double footerHeight = marginMetrics.height() * 2.2;
    const double bodyHeight = paintRect.height() - headerHeight - footerHeight;

    QTextDocument doc;
    doc.setDocumentMargin(0);
    doc.setDefaultFont(bodyFont);
    doc.documentLayout()->setPaintDevice(&writer);
    doc.setPageSize(QSizeF(paintRect.width(), bodyHeight));
    doc.addResource(
        QTextDocument::ImageResource, QUrl(u"chart.png"_s), trafficChartImage(session, kChartSize));
    doc.setHtml(*html);
    const int pages = std::max(1, doc.pageCount());
    total = meterCount + pages;
    if (progress && !progress(meterCount, total)) {
        file.cancelWriting();
        return cancelled();
    }

    const QString site = session.info.site.isEmpty() ? Tr::tr("Commissioning report") : session.info.site;
    const QString headerText = Tr::tr("DLMS Bridge — commissioning report");
    const QString generated = formatDateTime(
        options.generatedAtMs > 0 ? options.generatedAtMs : QDateTime::currentMSecsSinceEpoch());
    const double hairline = std::max(1.0, dpi / 150.0);

    QPainter painter;
    if (!painter.begin(&writer)) {
        file.cancelWriting();
        return dlms::makeError(dlms::ErrorCode::IoError,
            Tr::tr("Cannot write the report %1").arg(QDir::toNativeSeparators(path)));
    }
    for (int page = 0; page < pages; ++page) {
        if (page > 0)
            writer.newPage();
        painter.setFont(marginFont);
        painter.setPen(QColor(0x44, 0x44, 0x44));
        const QRectF headerRect(0, 0, paintRect.width(), marginMetrics.height());
        painter.drawText(headerRect, Qt::AlignLeft | Qt::AlignVCenter, headerText);
        painter.drawText(headerRect, Qt::AlignRight | Qt::AlignVCenter, generated);
        painter.setPen(QPen(QColor(0x99, 0x99, 0x99), hairline));
        painter.drawLine(QPointF(0, marginMetrics.height() * 1.4),
            QPointF(paintRect.width(), marginMetrics.height() * 1.4));

        painter.save();
        painter.translate(0, headerHeight - page * bodyHeight);
        doc.drawContents(&painter, QRectF(0, page * bodyHeight, paintRect.width(), bodyHeight));
        painter.restore();

        const double footerTop = paintRect.height() - footerHeight;
        painter.setPen(QPen(QColor(0x99, 0x99, 0x99), hairline));
        painter.drawLine(QPointF(0, footerTop + marginMetrics.height() * 0.6),
            QPointF(paintRect.width(), footerTop + marginMetrics.height() * 0.6));
        painter.setPen(QColor(0x44, 0x44, 0x44));
        painter.drawText(
            QRectF(0, footerTop + marginMetrics.height(), paintRect.width(), marginMetrics.height()),
            Qt::AlignHCenter | Qt::AlignVCenter,
            Tr::tr("%1 — page %2 of %3")
                .arg(site, monitor::formatCount(quint64(page) + 1), monitor::formatCount(quint64(pages))));

        if (progress && !progress(meterCount + page + 1, total)) {
            painter.end();
            file.cancelWriting();
            return cancelled();
        }
    }
    painter.end();

    if (!file.commit()) {
        return dlms::makeError(dlms::ErrorCode::IoError,
            Tr::tr("Cannot write the report %1: %2").arg(QDir::toNativeSeparators(path), file.errorString()));
    }
    return {};
}

} // namespace report
