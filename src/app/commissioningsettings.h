#pragma once

#include <commissioning.h>
#include <meterconfig.h>

#include <QtCore/QString>

#include <optional>
#include <vector>

namespace app {

// The plausible values of a register, for the commissioning check of each configured item.
// A value inside [min, max] passes; outside but inside [warnMin, warnMax] warns; anything else
// fails. `absolute` compares |value| (power factor: the sign is the direction of energy).
struct PlausibilityRange {
    // Which items it applies to: a telemetry key ("voltage_l1"), or an OBIS code whose groups
    // may each be '*' ("1.0.*.7.0.255" matches 1.0.32.7.0.255). Keys are compared exactly.
    QString match;
    QString label; // what it is for the report ("voltage", "frequency", …); may be empty
    double min = 0;
    double max = 0;
    double warnMin = 0; // ≤ min
    double warnMax = 0; // ≥ max
    bool absolute = false;
    bool operator==(const PlausibilityRange &) const = default;

    bool matches(const polling::PollItem &item) const;
};

// Built in, after whatever the configuration lists (the first match wins):
//   voltage L1/L2/L3 and average (1.0.32/52/72/12.7.0.255): pass 207–253 V (230 V ± 10 %,
//       EN 50160), warn 195.5–264.5 V (± 15 %);
//   frequency (1.0.14.7.0.255): pass 49.5–50.5 Hz, warn 47–52 Hz (a 60 Hz site lists its own);
//   power factor (1.0.13/33/53/73.7.0.255): |pf| pass 0.5–1.0, warn 0–1.0 (above 1 is wrong
//       scaling: fail).
std::vector<PlausibilityRange> defaultPlausibilityRanges();

// The "commissioning" section of the configuration file:
//   "commissioning": { "clock_warn_s": 10, "clock_fail_s": 60, "baseline_polls": 3,
//                      "rtt_warn_ms": 1000, "parallel_meters": 8,
//                      "ranges": [ { "match": "voltage_l1", "label": "voltage", "min": 220,
//                                    "max": 240, "warn_min": 210, "warn_max": 250,
//                                    "absolute": false } ] }
// "warn_min"/"warn_max" default to min/max; ranges listed come before the built-in ones.
struct CommissioningSettings {
    int clockWarnSeconds = 10; // |drift| above: warn (and offered for a clock sync)
    int clockFailSeconds = 60; // |drift| above: fail
    int baselinePolls = 3; // polls of the configured items for the traffic baseline (1..100)
    int rttWarnMs = 1000; // average request round trip above: warn
    int parallelMeters = 8; // meters checked at the same time (1..64)
    std::vector<PlausibilityRange> ranges; // from the file only; defaults are added at lookup
    bool operator==(const CommissioningSettings &) const = default;

    // The range for an item: the file's first, then the built-in ones; nullptr when none.
    // The returned pointer is into `ranges` or into a static table.
    const PlausibilityRange *rangeFor(const polling::PollItem &item) const;
};

// Pass / warn / fail of a measured register value against a range.
commissioning::CheckStatus judge(const PlausibilityRange &range, double value);

// Whether a range's "match" can match anything: a key (no blanks) or an OBIS code of six
// dot-separated groups, each 0..255 or '*'. The configuration parser refuses anything else.
bool isValidRangeMatch(QStringView match);

} // namespace app
