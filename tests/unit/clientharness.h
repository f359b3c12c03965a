#pragma once

// What a ClientSession reported during a test, shared by tst_clientsession and
// tst_clientsecurity: their harnesses pump bytes differently but record frames and events alike.

#include "clientsession.h"

#include <algorithm>
#include <utility>
#include <vector>

namespace dlms::test {

struct ClientEventLog {
    std::vector<FrameEvent> frames;
    std::vector<ClientSession::Event> events;

    // Takes the frames and events the client has reported since the last call.
    void collectFrom(ClientSession &client)
    {
        for (auto &f : client.takeFrames())
            frames.push_back(std::move(f));
        for (auto &e : client.takeEvents())
            events.push_back(std::move(e));
    }

    std::vector<ClientSession::Response> responses() const
    {
        std::vector<ClientSession::Response> out;
        for (const auto &e : events)
            if (e.type == ClientSession::Event::Type::Response)
                out.push_back(*e.response);
        return out;
    }

    std::vector<Error> errors() const
    {
        std::vector<Error> out;
        for (const auto &e : events)
            if (e.type == ClientSession::Event::Type::Error)
                out.push_back(*e.error);
        return out;
    }

    bool has(ClientSession::Event::Type type) const
    {
        return std::any_of(events.begin(), events.end(), [type](const auto &e) { return e.type == type; });
    }
};

} // namespace dlms::test
