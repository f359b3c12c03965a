#pragma once

// The `transport` column of a data-driven test, and its two usual rows.

#include "clientsession.h" // Transport

#include <QtTest/QTest>

namespace dlms::test {

inline void addTransportColumn()
{
    QTest::addColumn<Transport>("transport");
}

inline void addTransportRows()
{
    addTransportColumn();
    QTest::newRow("wrapper") << Transport::Wrapper;
    QTest::newRow("hdlc") << Transport::Hdlc;
}

} // namespace dlms::test
