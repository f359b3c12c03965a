#include "commissioningsettings.h"

#include <QtCore/QList>

#include <array>
#include <cmath>

using namespace Qt::StringLiterals;

namespace app {

namespace {

// Six groups, -1 for '*'. std::nullopt when the text is not a dotted OBIS pattern.
using ObisPattern = std::array<int, 6>;

std::optional<ObisPattern> obisPattern(QStringView text)
{
    const QList<QStringView> groups = text.split(u'.');
    if (groups.size() != 6)
        return std::nullopt;
    ObisPattern pattern {};
    for (qsizetype i = 0; i < groups.size(); ++i) {
        const QStringView group = groups[i];
        if (group == u"*") {
            pattern[size_t(i)] = -1;
            continue;
        }
        bool ok = false;
        const uint value = group.toUInt(&ok);
        if (!ok || value > 255 || group.isEmpty() || !group.front().isDigit())
            return std::nullopt;
        pattern[size_t(i)] = int(value);
    }
    return pattern;
}

// Text made only of OBIS characters is meant as an OBIS code, never as a key: "1.0.32.7.0"
// (five groups) is a mistake to report, not a key that matches nothing.
bool looksLikeObis(QStringView text)
{
    for (QChar ch : text)
        if (!ch.isDigit() && ch != u'.' && ch != u'*' && ch != u'-' && ch != u':')
            return false;
    return true;
}

PlausibilityRange makeRange(const char *match, const char *label, double min, double max, double warnMin,
    double warnMax, bool absolute = false)
{
    return PlausibilityRange {
        QString::fromLatin1(match), QString::fromLatin1(label), min, max, warnMin, warnMax, absolute};
}

const std::vector<PlausibilityRange> &builtInRanges()
{
    static const std::vector<PlausibilityRange> ranges = defaultPlausibilityRanges();
    return ranges;
}

} // namespace

bool PlausibilityRange::matches(const polling::PollItem &item) const
{
    if (const auto pattern = obisPattern(match)) {
        for (int i = 0; i < 6; ++i)
            if ((*pattern)[size_t(i)] >= 0 && (*pattern)[size_t(i)] != item.obis[i])
                return false;
        return true;
    }
    return isValidRangeMatch(match) && match == item.key;
}

bool isValidRangeMatch(QStringView match)
{
    if (match.isEmpty())
        return false;
    if (obisPattern(match))
        return true;
    if (looksLikeObis(match))
        return false;
    for (QChar ch : match)
        if (ch.isSpace())
            return false;
    return true;
}

std::vector<PlausibilityRange> defaultPlausibilityRanges()
{
    // 230 V ± 10 % passes (EN 50160), ± 15 % warns; 50 Hz ± 0.5 passes, 47–52 Hz warns.
    return {
        makeRange("1.0.32.7.0.255", "voltage", 207, 253, 195.5, 264.5),
        makeRange("1.0.52.7.0.255", "voltage", 207, 253, 195.5, 264.5),
        makeRange("1.0.72.7.0.255", "voltage", 207, 253, 195.5, 264.5),
        makeRange("1.0.12.7.0.255", "voltage", 207, 253, 195.5, 264.5),
        makeRange("1.0.14.7.0.255", "frequency", 49.5, 50.5, 47, 52),
        makeRange("1.0.13.7.0.255", "power factor", 0.5, 1.0, 0, 1.0, true),
        makeRange("1.0.33.7.0.255", "power factor", 0.5, 1.0, 0, 1.0, true),
        makeRange("1.0.53.7.0.255", "power factor", 0.5, 1.0, 0, 1.0, true),
        makeRange("1.0.73.7.0.255", "power factor", 0.5, 1.0, 0, 1.0, true),
    };
}

const PlausibilityRange *CommissioningSettings::rangeFor(const polling::PollItem &item) const
{
    for (const PlausibilityRange &range : ranges)
        if (range.matches(item))
            return &range;
    for (const PlausibilityRange &range : builtInRanges())
        if (range.matches(item))
            return &range;
    return nullptr;
}

commissioning::CheckStatus judge(const PlausibilityRange &range, double value)
{
    using commissioning::CheckStatus;
    if (!std::isfinite(value))
        return CheckStatus::Fail;
    const double v = range.absolute ? std::abs(value) : value;
    if (v >= range.min && v <= range.max)
        return CheckStatus::Pass;
    if (v >= range.warnMin && v <= range.warnMax)
        return CheckStatus::Warn;
    return CheckStatus::Fail;
}

} // namespace app
