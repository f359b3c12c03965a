#pragma once

#include "meterconfig.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

namespace polling {

// The wait before the next connection attempt after `failures` failures in a row (1 = the
// first): initialMs × multiplier^(failures - 1), capped at maxMs, then spread by a factor drawn
// uniformly from [1 - jitter, 1 + jitter] so meters that failed together do not retry together.
// Deterministic for a given generator state (tests seed it).
inline int backoffDelayMs(const BackoffPolicy &policy, int failures, std::mt19937 &random)
{
    const double initial = std::max(0, policy.initialMs);
    const double cap = std::max(initial, double(policy.maxMs));
    const double multiplier = std::isfinite(policy.multiplier) ? std::max(1.0, policy.multiplier) : 1.0;
    // Past the cap the power only overflows: stop raising once it is reached.
    double delay = initial;
    if (multiplier > 1.0 && initial > 0) {
        for (int i = 1; i < failures && delay < cap; ++i)
            delay *= multiplier;
    }
    delay = std::min(delay, cap);
    const double jitter = std::isfinite(policy.jitter) ? std::clamp(policy.jitter, 0.0, 1.0) : 0.0;
    if (jitter > 0) {
        std::uniform_real_distribution<double> spread(1.0 - jitter, 1.0 + jitter);
        delay *= spread(random);
    }
    return int(std::lround(std::clamp(delay, 0.0, double(std::numeric_limits<int>::max()))));
}

} // namespace polling
