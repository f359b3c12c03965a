#pragma once

#include <QtCore/QString>

// How figures read on screen, one way everywhere (the counters table, the Monitoring page, the
// status bar, reports). Decimal (SI, 1000-based) units, as network figures are quoted:
// "1.2 KB" = 1,200 bytes. Numbers in the default QLocale (the language chosen: "1,2 KB" in
// Spanish); unit names translated in the context "monitor::Format".

namespace monitor {

QString formatBytes(double bytes, bool fractional = false); // "512 B", "12.5 B", "1.2 KB", "3.4 MB"
QString formatBitRate(double bitsPerSecond); // "800 bit/s", "12.3 kbit/s", "1.5 Mbit/s"
QString formatByteRate(double bytesPerSecond); // "0.0 KB/s", "12.3 KB/s", "1.5 MB/s"
QString formatPacketRate(double packetsPerSecond); // "12.3 pkt/s"
QString formatPercent(double fraction); // 0.985 -> "98.5 %"
QString formatMs(double ms); // "12.3 ms"
QString formatCount(quint64 count); // "1,234,567" in the current locale
QString formatAge(qint64 ageMs); // "4 s ago", "3 min ago", "2 h ago", "5 d ago" (negative = 0)
// A number that changes exactly when formatAge()'s text does (same unit and count), so a view
// can tell whether an age cell needs repainting without formatting it.
qint64 ageBucket(qint64 ageMs);
QString noData(); // an em dash: a figure that does not exist yet

} // namespace monitor
