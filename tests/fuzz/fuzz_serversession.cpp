// A client that sends anything at all to a simulated meter: the input interleaves well-formed
// requests from a real ClientSession (so the server gets past SNRM/AARQ and into its services)
// with arbitrary bytes, in arbitrary chunks (up to 2 KiB, so whole hostile requests such as a
// GET-with-list naming the load profile a hundred times fit), in both directions' framing.
// With bit 7 of the mode byte, a second byte puts both sides on suite 0 (the simulator's default
// keys): HLS-GMAC, a security policy, dedicated key and general ciphering, so the ciphered AARQ,
// the HLS passes and the glo-/ded-/general-glo paths are reached, and raw bytes hit them too.
// Invariants checked on every input:
//   - the server never crashes or hangs (libFuzzer's timeout), whatever it is fed;
//   - everything it sends is a whole, valid frame of its transport (checksums included) whose
//     APDU (wrapper) or information field (HDLC) fits the meter's own limit;
//   - what the server emits in answer to one chunk stays under 16 MiB. Memory is bounded only by
//     libFuzzer's -rss_limit_mb, not by a check here.
#include "fuzzsupport.h"

#include "clientsession.h"
#include "serversession.h"

#include <QtCore/QDateTime>

#include <cstdint>

using namespace dlms;

namespace {

// Every element the server hands out must deframe to exactly one frame and nothing else.
// Bytes one feed may make the server emit: its answer cap plus framing and HDLC overhead.
constexpr qsizetype MaxBytesPerFeed = 16 * 1024 * 1024;

void checkFrame(Transport transport, const sim::MeterSettings &settings, const QByteArray &bytes)
{
    fuzz::check(!bytes.isEmpty());
    if (transport == Transport::Wrapper) {
        wrapper::Deframer d;
        d.feed(bytes);
        auto frame = d.next();
        fuzz::check(frame.has_value() && frame->ok());
        fuzz::check(!d.next().has_value() && d.bufferedBytes() == 0);
        fuzz::check(frame->value().apdu.size() <= settings.maxPduSize);
    } else {
        hdlc::Deframer d;
        d.feed(bytes);
        auto frame = d.next();
        fuzz::check(frame.has_value() && frame->ok());
        // Negotiation takes the minimum, so whatever SNRM the client sent, no I frame may carry
        // more than the meter's own proposal.
        fuzz::check(frame->value().info.size() <= settings.hdlc.maxInfoTx);
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz::Input in {data, size};
    const uint8_t mode = in.byte();
    const Transport transport = (mode & 1) ? Transport::Hdlc : Transport::Wrapper;

    sim::MeterSettings settings;
    settings.profileRows = 40 + (mode >> 4);
    settings.maxPduSize = (mode & 8) ? 256 : 1024;
    const uint8_t secure = (mode & 0x80) ? in.byte() : 0;
    const auto policy = SecurityPolicy((secure >> 1) & 3);
    if (secure & 0x20)
        settings.security.policy = policy;
    sim::MeterModel model(settings, [] { return QDateTime(QDate(2026, 11, 23), QTime(12, 7, 30), Qt::UTC); });
    sim::ServerSession server(model, transport);
    // Small enough that a with-list of 40-row profiles reaches it.
    server.setMaxResponseBytes((mode & 0x40) ? 64 * 1024 : sim::ServerSession::MaxResponseBytes);

    ClientConfig config;
    config.transport = transport;
    config.authentication = (mode & 2) ? Authentication::Low : Authentication::None;
    config.password = (mode & 4) ? QByteArrayLiteral("12345678") : QByteArrayLiteral("wrong");
    config.maxResponseSize = 1 << 20;
    if (mode & 0x80) {
        config.security = sim::defaultSecurity(0);
        config.security.systemTitle = QByteArrayLiteral("CLI\x00\x00\x00\x00\x01");
        config.security.policy = policy;
        config.security.dedicatedKey = (secure & 8) && policy != SecurityPolicy::None;
        config.security.generalCiphering = (secure & 0x10) != 0;
        if (secure & 1)
            config.authentication = Authentication::HighGmac;
        // A wrong EK or AK now and then: the refusal paths of both sides.
        if (secure & 0x40)
            config.security.authenticationKey[0] = char(config.security.authenticationKey[0] ^ 1);
    }
    ClientSession client(config);

    auto pump = [&] {
        // Bounded: a conversation between two correct peers settles in a few exchanges per op.
        for (int round = 0; round < 64; ++round) {
            const QByteArray request = client.takeOutgoing();
            if (!request.isEmpty())
                server.feed(request);
            bool any = !request.isEmpty();
            qsizetype emitted = 0;
            for (const QByteArray &frame : server.takeOutgoing()) {
                checkFrame(transport, settings, frame);
                emitted += frame.size();
                client.feed(frame);
                any = true;
            }
            fuzz::check(emitted <= MaxBytesPerFeed);
            (void)client.takeEvents();
            (void)client.takeFrames();
            if (!any)
                break;
        }
    };

    client.connect();
    pump();
    const AttributeDescriptor profile {7, Obis {1, 0, 99, 1, 0, 255}, 2};
    while (!in.empty()) {
        const uint8_t op = in.byte();
        switch (op % 8) {
        case 0:
        case 1:
        case 2: {
            // Raw bytes straight into the server; its answers go to the client, as on a wire.
            // 0xF8 is followed by a big-endian length (up to 2 KiB), the rest by op / 8 + 1 bytes.
            size_t n = op / 8 + 1;
            if (op == 0xF8) {
                const size_t high = in.byte();
                n = ((high << 8) | in.byte()) % 2048 + 1;
            }
            server.feed(in.take(n));
            break;
        }
        case 3:
            client.get({uint16_t(in.byte() % 16), Obis {in.byte(), 0, in.byte(), in.byte(), 0, 255},
                qint8(in.byte() % 12)});
            break;
        case 4:
            client.get(profile, SelectiveAccess::entry(in.byte(), in.byte(), in.byte() % 4, in.byte() % 4));
            break;
        case 5:
            client.getList({{{3, Obis {1, 0, 32, 7, 0, 255}, 2}, {}},
                {{3, Obis {1, 0, 32, 7, 0, 255}, 3}, {}}, {{15, Obis {0, 0, 40, 0, 0, 255}, 2}, {}}});
            break;
        case 6:
            if (op & 0x80)
                client.release();
            else
                client.action({7, Obis {1, 0, 99, 1, 0, 255}, qint8(op % 4)}, Value::integer(0));
            break;
        case 7:
            if (op & 0x80) {
                client.abort(makeError(ErrorCode::Timeout, QStringLiteral("fuzz timeout")));
                client.connect();
            } else {
                client.set({8, Obis {0, 0, 1, 0, 0, 255}, 2}, Value::octetString(in.take(12).toByteArray()));
            }
            break;
        }
        pump();
    }
    return 0;
}
