// Feeds arbitrary bytes to the /proc/net/dev parser and checks what it accepts: every name is a
// plausible interface name, and the counters written back in the kernel's layout parse to the
// same interfaces (the parser reads what it claims to have read, and nothing else).
#include "interfacesampler.h"

#include "fuzzsupport.h"

#include <cstdint>

using namespace dlms::fuzz;

namespace {

QByteArray kernelText(const std::vector<monitor::InterfaceCounters> &interfaces)
{
    QByteArray text = "Inter-|   Receive                                                |  Transmit\n"
                      " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets "
                      "errs drop fifo colls carrier compressed\n";
    for (const monitor::InterfaceCounters &i : interfaces) {
        text += i.name.toUtf8().rightJustified(6, ' ') + ':';
        const quint64 fields[16] = {i.rxBytes, i.rxPackets, i.rxErrors, i.rxDrops, 0, 0, 0, 0, i.txBytes,
            i.txPackets, i.txErrors, i.txDrops, 0, 0, 0, 0};
        for (quint64 f : fields)
            text += ' ' + QByteArray::number(f);
        text += '\n';
    }
    return text;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const QByteArrayView input(reinterpret_cast<const char *>(data), qsizetype(size));
    const std::vector<monitor::InterfaceCounters> parsed = monitor::parseProcNetDev(input);
    // Every accepted line needs at least 16 counters and a colon: more than 33 bytes each.
    check(parsed.size() <= size / 33 + 1);
    for (const monitor::InterfaceCounters &i : parsed) {
        check(!i.name.isEmpty() && i.name.size() <= 15);
        check(!i.name.contains(u':') && !i.name.contains(u' ') && !i.name.contains(u'/'));
    }
    // Names that were not UTF-8 came back with U+FFFD, which re-encodes differently: the round
    // trip is checked on the others.
    std::vector<monitor::InterfaceCounters> clean;
    for (const monitor::InterfaceCounters &i : parsed) {
        if (!i.name.contains(QChar::ReplacementCharacter))
            clean.push_back(i);
    }
    check(monitor::parseProcNetDev(kernelText(clean)) == clean);
    return 0;
}
