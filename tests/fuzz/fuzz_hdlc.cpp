// Feeds arbitrary bytes to the HDLC deframer, once whole and once in chunks whose sizes come
// from the input, checks both agree and that every frame survives encode/decode unchanged,
// then drives a server-role and a client-role Link with the frames (and, without the CRC
// hurdle, with frames described directly by the input) and checks what they send back.
//
// Input: [chunk seed] [mode] stream...
//   mode bits 0-1: max info length 32 << n; bits 2-4: window 1 + n;
//   bit 6: also read the stream as raw frame descriptors; bit 7: keep decoded addresses as is.
#include "hdlc.h"

#include "fuzzsupport.h"

#include <cstdint>
#include <cstdlib>
#include <vector>

using namespace dlms;
using namespace dlms::fuzz;
using namespace dlms::hdlc;
using FrameOutcome = fuzz::Outcome<Frame>;

namespace {

const Address ServerAddress = Address::server(1, 0);
const Address ClientAddress = Address::client(16);

void roundTrip(const Frame &frame)
{
    QByteArray encoded;
    check(encode(frame, encoded).ok());
    check(encoded.size() <= MaxFrameLength + 2);
    Deframer back;
    back.feed(encoded);
    auto r = back.next();
    check(r && r->ok() && r->value() == frame);
    check(!back.next());
    check(back.discardedBytes() == 0);
}

// Whatever a Link queues must be a frame we can put on the wire, within the negotiated size.
void flush(Link &link)
{
    for (const Frame &f : link.takeOutgoing()) {
        roundTrip(f);
        if (f.type() == FrameType::I)
            check(f.info.size() <= link.negotiated().maxInfoTx);
        check(f.type() != FrameType::Unknown);
    }
    const LinkParameters &n = link.negotiated();
    check(n.maxInfoTx >= 1 && n.maxInfoRx >= 1);
    check(n.windowTx >= 1 && n.windowTx <= 7 && n.windowRx >= 1 && n.windowRx <= 7);
}

void checkEvents(const std::vector<Link::Event> &events)
{
    for (const auto &e : events) {
        if (e.kind == Link::Event::Kind::Apdu)
            check(e.apdu.size() <= Link::MaxReassembledApdu);
        if (e.kind == Link::Event::Kind::Error)
            check(!e.error.message.isEmpty());
    }
}

struct Links {
    Link server;
    Link client;
    quint8 mode;

    void drive(const Frame &frame)
    {
        Frame toServer = frame;
        Frame toClient = frame;
        if (!(mode & 0x80)) {
            toServer.destination = ServerAddress;
            toServer.source = ClientAddress;
            toClient.destination = ClientAddress;
            toClient.source = ServerAddress;
        }
        checkEvents(server.handleFrame(toServer));
        flush(server);
        // Let each application answer now and then, to exercise segmentation and windows.
        if (server.state() == Link::State::Connected && (frame.control & 0x40))
            (void)server.sendApdu(QByteArray(frame.info.size() * 7 + (frame.control & 0x0F), 'S'));
        flush(server);

        checkEvents(client.handleFrame(toClient));
        flush(client);
        if (client.state() == Link::State::Connected && (frame.control & 0x20))
            (void)client.sendApdu(QByteArray(frame.info.size() * 5 + (frame.control >> 4), 'C'));
        if (client.state() == Link::State::Disconnected && (frame.control & 0x08))
            client.connect();
        if (frame.control == 0x53 && (frame.info.size() & 1))
            client.disconnect();
        flush(client);
    }
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    const quint32 seed = data[0];
    const quint8 mode = data[1];
    const QByteArrayView stream(reinterpret_cast<const char *>(data + 2), qsizetype(size - 2));

    std::vector<FrameOutcome> whole;
    Deframer one;
    one.feed(stream);
    drain(one, whole);

    std::vector<FrameOutcome> chunked;
    Deframer many;
    quint32 state = seed * 2654435761u + 1;
    const quint32 maxChunk = 1 + seed;
    for (qsizetype pos = 0; pos < stream.size();) {
        state = state * 1103515245u + 12345u;
        const qsizetype n = std::min<qsizetype>(1 + (state >> 16) % maxChunk, stream.size() - pos);
        many.feed(stream.sliced(pos, n));
        pos += n;
        drain(many, chunked);
        // Only an incomplete frame (at most flag + 2047 + flag) may stay buffered.
        check(many.bufferedBytes() <= MaxFrameLength + 2);
    }

    check(whole.size() == chunked.size());
    check(one.discardedBytes() == many.discardedBytes());
    check(one.bufferedBytes() == many.bufferedBytes());
    for (size_t i = 0; i < whole.size(); ++i) {
        check(whole[i].ok == chunked[i].ok);
        if (!whole[i].ok) {
            check(whole[i].code == chunked[i].code);
            check(whole[i].message == chunked[i].message);
            continue;
        }
        check(whole[i].frame == chunked[i].frame);
        roundTrip(whole[i].frame);
        check(whole[i].frame.type() == whole[i].frame.type()); // classification never traps
        (void)frameTypeName(whole[i].frame.type());
        (void)decodeParameters(whole[i].frame.info);
    }

    const LinkParameters proposal {quint16(32 << (mode & 3)), quint16(32 << (mode & 3)),
        1u + ((mode >> 2) & 7u), 1u + ((mode >> 2) & 7u)};
    Links links {Link(Link::Role::Server, ServerAddress, ClientAddress, proposal),
        Link(Link::Role::Client, ClientAddress, ServerAddress, proposal), mode};
    links.client.connect();
    flush(links.client);
    for (const auto &o : whole) {
        if (o.ok)
            links.drive(o.frame);
    }

    if (mode & 0x40) {
        // Raw descriptors: control, flags (bit 0 segmented, bit 1 LLC), info length, info.
        for (qsizetype pos = 0; pos + 3 <= stream.size();) {
            Frame f;
            f.destination = ServerAddress;
            f.source = ClientAddress;
            f.control = quint8(stream[pos]);
            const quint8 flags = quint8(stream[pos + 1]);
            const qsizetype length = std::min<qsizetype>(quint8(stream[pos + 2]), stream.size() - pos - 3);
            f.segmented = flags & 1;
            if (flags & 2)
                f.info = QByteArray(flags & 4 ? LlcResponse : LlcRequest, 3);
            f.info.append(stream.sliced(pos + 3, length));
            pos += 3 + length;
            links.drive(f);
        }
    }
    return 0;
}
