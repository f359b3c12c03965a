#pragma once

#include <xdlms.h>

#include <vector>

// How a list of attributes goes on the wire: with multiple-references, GET-with-list requests
// each filled up to the meter's max PDU; without, one GET per attribute.
using RequestBatch = std::vector<size_t>; // indexes into the attribute list

// Bytes an item's selective access adds to a GET-Request-With-List (selector and parameters;
// 0 without): the `accessBytes` of dlms::getWithListRequestSize().
qsizetype accessSelectionSize(const dlms::AttributeRequest &item);

// serverMaxPdu 0 (unknown) is taken as 65535. A batch of one item goes as a GET-Request-Normal.
std::vector<RequestBatch> planGetRequests(
    const std::vector<dlms::AttributeRequest> &items, quint16 serverMaxPdu, bool multipleReferences);
