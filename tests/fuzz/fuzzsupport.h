#pragma once

// Shared by the fuzz targets: each is its own executable, so everything is inline.
#include "error.h"

#include <QtCore/QByteArrayView>
#include <QtCore/QString>

#include <algorithm>
#include <cstdint>

#include <cstdlib>
#include <vector>

namespace dlms::fuzz {

// The fuzzer's bytes read as a script: op codes and chunks, zeros once it runs out.
struct Input {
    const uint8_t *data;
    size_t size;
    size_t pos = 0;
    bool empty() const { return pos >= size; }
    uint8_t byte() { return empty() ? 0 : data[pos++]; }
    QByteArrayView take(size_t n)
    {
        n = std::min(n, size - pos);
        QByteArrayView v(reinterpret_cast<const char *>(data + pos), qsizetype(n));
        pos += n;
        return v;
    }
};

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
