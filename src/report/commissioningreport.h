#pragma once

#include <commissioning.h>
#include <error.h>

#include <QtCore/QSize>
#include <QtCore/QString>
#include <QtGui/QImage>

#include <functional>
#include <optional>

// The commissioning report as a PDF (QPdfWriter + QTextDocument): needs a QGuiApplication
// (dlmsctl makes one on the offscreen platform for --pdf). Safe to call from a worker thread
// (it paints on the PDF and on QImages only), one report per call.
namespace report {

// Called as the report is produced: `done` of `total` steps (meters laid out, then pages
// printed). Return false to cancel (the function then fails with Cancelled-like IoError and
// leaves no file).
using Progress = std::function<bool(int done, int total)>;

struct PdfOptions {
    // The session to compare with ("compare with the previous run" section); none = no section.
    std::optional<commissioning::Session> previous;
    // Override of the generated-at time (tests); invalid = now.
    qint64 generatedAtMs = 0;
    int resolutionDpi = 300;
};

// The traffic chart of a session: per meter, DLMS bytes per poll (bars, left axis) and the
// average request round trip (points, right axis), from the traffic-bytes / traffic-rtt
// checks; meters without a baseline are left out. Many meters (more than 60): sorted bars
// without names. A titled empty chart ("no traffic baseline") when no meter has one.
QImage trafficChartImage(const commissioning::Session &session, QSize size = QSize(1800, 800));

// Written through QSaveFile (a failed or cancelled report leaves nothing behind). Pages: A4,
// margins 15 mm, a footer "site — page n of m" on every page. Content, in order: title, site,
// technician, date and times (local time with offset), notes; a summary table (meters,
// pass/warn/fail counts; one line per meter: name, endpoint, serial, overall status and the
// count of warnings and failures); the traffic chart; per-meter details (identity, then every
// check: title, status, measured, explanation); the comparison with `previous` when given
// (what changed only); a signature block (technician, date, signature line). Status cells
// are coloured and spelled out (colour is never the only carrier). Texts are translated
// (context "report::Commissioning"); measured values and explanations as stored.
dlms::Result<void> writeCommissioningPdf(const commissioning::Session &session, const QString &path,
    const PdfOptions &options = {}, const Progress &progress = {});

// The HTML the PDF is laid out from (tests look at it; the chart is referenced as
// "chart.png", added to the document as a resource by writeCommissioningPdf).
QString commissioningHtml(const commissioning::Session &session, const PdfOptions &options = {});

} // namespace report
