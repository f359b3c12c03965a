#include "requestplan.h"

qsizetype encodedItemSize(const dlms::AttributeRequest &item)
{
    // class-id (2) + instance-id (6) + attribute-id (1) + access-selection present flag (1).
    qsizetype size = 10;
    if (item.access) {
        QByteArray parameters;
        dlms::axdr::encode(item.access->parameters, parameters);
        size += 1 + parameters.size(); // selector + its parameters
    }
    return size;
}

qsizetype withListRequestSize(qsizetype count, qsizetype itemBytes)
{
    // tag, request type, invoke-id-and-priority, then the item count (a BER length).
    QByteArray countBytes;
    dlms::axdr::encodeLength(quint32(count), countBytes);
    return 3 + countBytes.size() + itemBytes;
}

std::vector<RequestBatch> planGetRequests(
    const std::vector<dlms::AttributeRequest> &items, quint16 serverMaxPdu, bool multipleReferences)
{
    std::vector<RequestBatch> batches;
    if (!multipleReferences) {
        for (size_t i = 0; i < items.size(); ++i)
            batches.push_back({i});
        return batches;
    }
    const qsizetype limit = serverMaxPdu == 0 ? 0xFFFF : serverMaxPdu;
    RequestBatch current;
    qsizetype currentBytes = 0;
    for (size_t i = 0; i < items.size(); ++i) {
        const qsizetype size = encodedItemSize(items[i]);
        if (!current.empty()
            && withListRequestSize(qsizetype(current.size()) + 1, currentBytes + size) > limit) {
            batches.push_back(std::move(current));
            current.clear();
            currentBytes = 0;
        }
        current.push_back(i);
        currentBytes += size;
    }
    if (!current.empty())
        batches.push_back(std::move(current));
    return batches;
}
