// A meter that says anything at all: the input drives a ClientSession through connect,
// requests, release and abort while feeding it arbitrary bytes in arbitrary chunks.
// Invariants checked on every input:
//   - every request gets exactly one Response, whatever the meter sent;
//   - the Sent frame sizes add up to exactly the bytes the session asked to write;
//   - the session ends Idle with nothing pending after abort();
//   - a trace of what it sends (TraceDecoder, as `dlmsctl --trace` prints it) never shows the
//     LLS password, in hex or in the decode.
#include "fuzzsupport.h"

#include "clientsession.h"
#include "tracedecoder.h"

#include <cstdint>
#include <cstdlib>
#include <map>

using namespace dlms;

using fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz::Input in {data, size};
    const uint8_t mode = in.byte();
    ClientConfig config;
    config.transport = (mode & 1) ? Transport::Hdlc : Transport::Wrapper;
    config.authentication = (mode & 2) ? Authentication::Low : Authentication::None;
    config.password = QByteArrayLiteral("secret-pw");
    config.maxResponseSize = 1 << 16;
    config.limits.maxDepth = 16;
    ClientSession session(config);

    std::map<ClientSession::RequestId, int> answered; // id → responses seen
    qint64 written = 0;
    qint64 counted = 0;

    const bool traced = (mode & 4) != 0;
    TraceDecoder tracer(config.transport);
    const QString passwordHex = toHex(config.password);
    auto drain = [&] {
        const QByteArray out = session.takeOutgoing();
        written += out.size();
        if (traced) {
            for (const TraceDecoder::Line &line : tracer.feed(Direction::Sent, out)) {
                check(!line.hex.contains(passwordHex));
                check(!line.summary.contains(QLatin1StringView(config.password)));
            }
        }
        for (const FrameEvent &f : session.takeFrames()) {
            if (f.direction == Direction::Sent)
                counted += f.size;
        }
        for (const auto &event : session.takeEvents()) {
            if (event.type == ClientSession::Event::Type::Response) {
                auto it = answered.find(event.response->id);
                check(it != answered.end());
                check(++it->second == 1);
            }
        }
    };

    session.connect();
    drain();
    const AttributeDescriptor energy {3, Obis {1, 0, 1, 8, 0, 255}, 2};
    while (!in.empty()) {
        const uint8_t op = in.byte();
        switch (op % 8) {
        case 0:
        case 1:
        case 2:
        case 3:
            session.feed(in.take(op / 8 + 1));
            break;
        case 4:
            answered[session.get(energy)] = 0;
            break;
        case 5:
            answered[session.getList({{energy, {}}, {{3, Obis {1, 0, 32, 7, 0, 255}, 2}, {}}})] = 0;
            break;
        case 6:
            if (op & 0x80)
                session.release();
            else
                answered[session.action({7, Obis {1, 0, 99, 1, 0, 255}, 2})] = 0;
            break;
        case 7:
            if (op & 0x80) {
                session.abort(makeError(ErrorCode::Timeout, QStringLiteral("fuzz timeout")));
                session.connect();
            } else {
                answered[session.set({8, Obis {0, 0, 1, 0, 0, 255}, 2}, Value::unsigned8(op))] = 0;
            }
            break;
        }
        drain();
    }

    session.abort(makeError(ErrorCode::Timeout, QStringLiteral("end of input")));
    drain();
    check(session.state() == ClientSession::State::Idle);
    check(session.pendingRequests() == 0);
    for (const auto &[id, count] : answered)
        check(count == 1);
    check(written == counted);
    return 0;
}
