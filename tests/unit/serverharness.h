#pragma once

// A hand-driven client of a sim::ServerSession, shared by tst_serversession and
// tst_serversecurity: APDUs in, APDUs out, over either framing (HDLC through a client-role Link
// that acknowledges segmented answers). It sends what ClientSession would never send.

#include "serversession.h"

#include <apdu.h>
#include <hdlc.h>
#include <wrapper.h>

#include <QtCore/QByteArray>
#include <QtCore/QByteArrayView>

#include <optional>
#include <vector>

namespace dlms::test {

struct ServerHarness {
    ServerHarness(
        sim::ServerSession &s, Transport t, hdlc::Address serverAddress = hdlc::Address::server(1, 0))
        : server(s), transport(t)
    {
        if (transport == Transport::Hdlc)
            link.emplace(hdlc::Link::Role::Client, hdlc::Address::client(16), serverAddress);
    }

    sim::ServerSession &server;
    Transport transport;
    std::optional<hdlc::Link> link;
    hdlc::Deframer hdlcIn;
    wrapper::Deframer wrapperIn;

    // (Re)connects the HDLC link, SNRM → UA, even if it is up; nothing to do over the wrapper.
    bool connectLink()
    {
        if (!link)
            return true;
        link->connect();
        (void)exchange();
        return link->state() == hdlc::Link::State::Connected;
    }

    // Connects the HDLC link unless it is up already.
    bool ensureLinkConnected()
    {
        if (link && link->state() == hdlc::Link::State::Connected)
            return true;
        return connectLink();
    }

    // Sends one APDU over the link as it stands (no connecting); the APDUs the server answered.
    std::vector<QByteArray> send(QByteArrayView apdu)
    {
        if (link) {
            if (!link->sendApdu(apdu))
                return {};
        } else {
            QByteArray frame;
            (void)wrapper::encode(16, 1, apdu, frame);
            server.feed(frame);
        }
        return exchange();
    }

    std::vector<QByteArray> send(const Apdu &apdu) { return send(encodeApdu(apdu)); }

    // Feeds the server until quiet; the complete APDUs it answered.
    std::vector<QByteArray> exchange()
    {
        std::vector<QByteArray> apdus;
        for (int round = 0; round < 100000; ++round) {
            bool sent = false;
            if (link) {
                for (const hdlc::Frame &frame : link->takeOutgoing()) {
                    QByteArray bytes;
                    (void)hdlc::encode(frame, bytes);
                    server.feed(bytes);
                    sent = true;
                }
            }
            const std::vector<QByteArray> frames = server.takeOutgoing();
            for (const QByteArray &bytes : frames) {
                if (link) {
                    hdlcIn.feed(bytes);
                    while (auto next = hdlcIn.next()) {
                        if (!*next)
                            continue;
                        for (const auto &event : link->handleFrame(next->value())) {
                            if (event.kind == hdlc::Link::Event::Kind::Apdu)
                                apdus.push_back(event.apdu);
                        }
                    }
                } else {
                    wrapperIn.feed(bytes);
                    while (auto next = wrapperIn.next()) {
                        if (*next)
                            apdus.push_back((*next)->apdu);
                    }
                }
            }
            if (!sent && frames.empty() && !(link && link->hasOutgoing()))
                break;
        }
        return apdus;
    }
};

} // namespace dlms::test
