#pragma once

// Shared by the deframer fuzz targets: each is its own executable, so everything is inline.
#include "error.h"

#include <QtCore/QString>

#include <cstdlib>
#include <vector>

namespace dlms::fuzz {

inline void check(bool condition)
{
    if (!condition)
        std::abort();
}

// One result of Deframer::next(), kept so two feeding strategies can be compared.
template<typename Frame> struct Outcome {
    bool ok = false;
    Frame frame;
    ErrorCode code = ErrorCode::Malformed;
    QString message;
};

template<typename Deframer, typename Frame> void drain(Deframer &d, std::vector<Outcome<Frame>> &out)
{
    while (auto r = d.next()) {
        Outcome<Frame> o;
        o.ok = r->ok();
        if (o.ok) {
            o.frame = std::move(r->value());
        } else {
            o.code = r->error().code;
            o.message = r->error().message;
            check(!o.message.isEmpty()); // every error says what went wrong
        }
        out.push_back(std::move(o));
    }
}

} // namespace dlms::fuzz
