#pragma once

#include <QtCore/QtGlobal>

#include <cstddef>
#include <vector>

namespace monitor {

// A fixed-capacity ring of the last N values, oldest first. Storage is allocated once; push()
// overwrites the oldest value when full, so the per-second hot path never allocates.
template<typename T> class HistoryRing {
public:
    explicit HistoryRing(std::size_t capacity = 0) : m_items(capacity) { }

    std::size_t capacity() const { return m_items.size(); }
    std::size_t size() const { return m_size; }
    bool empty() const { return m_size == 0; }

    void push(const T &value)
    {
        if (m_items.empty())
            return;
        m_items[m_head] = value;
        m_head = (m_head + 1) % m_items.size();
        if (m_size < m_items.size())
            ++m_size;
    }

    // 0 is the oldest value kept, size() - 1 the newest.
    const T &at(std::size_t index) const
    {
        Q_ASSERT(index < m_size);
        const std::size_t first = (m_head + m_items.size() - m_size) % m_items.size();
        return m_items[(first + index) % m_items.size()];
    }
    const T &newest() const { return at(m_size - 1); }

    void clear()
    {
        m_head = 0;
        m_size = 0;
    }

    template<typename F> void forEach(F &&f) const
    {
        for (std::size_t i = 0; i < m_size; ++i)
            f(at(i));
    }

private:
    std::vector<T> m_items;
    std::size_t m_head = 0; // where the next push goes
    std::size_t m_size = 0;
};

} // namespace monitor
