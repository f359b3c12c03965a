#include "requestplan.h"

qsizetype accessSelectionSize(const dlms::AttributeRequest &item)
{
    if (!item.access)
        return 0;
    QByteArray parameters;
    dlms::axdr::encode(item.access->parameters, parameters);
    return 1 + parameters.size();
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
    qsizetype accessBytes = 0;
    for (size_t i = 0; i < items.size(); ++i) {
        const qsizetype access = accessSelectionSize(items[i]);
        if (!current.empty()
            && dlms::getWithListRequestSize(qsizetype(current.size()) + 1, accessBytes + access) > limit) {
            batches.push_back(std::move(current));
            current.clear();
            accessBytes = 0;
        }
        current.push_back(i);
        accessBytes += access;
    }
    if (!current.empty())
        batches.push_back(std::move(current));
    return batches;
}
