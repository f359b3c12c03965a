#pragma once

#include "error.h"

#include <QtCore/QByteArrayView>
#include <QtCore/QHashFunctions>
#include <QtCore/QString>

#include <array>
#include <compare>
#include <span>

namespace dlms {

// An OBIS code / COSEM logical name: six value groups A..F (IEC 62056-6-1).
class Obis {
public:
    constexpr Obis() = default;
    constexpr Obis(quint8 a, quint8 b, quint8 c, quint8 d, quint8 e, quint8 f) : m_g {a, b, c, d, e, f} { }

    // Accepts "1.0.1.8.0.255", "1-0:1.8.0*255", "1-0:1.8.0.255", and the five-group forms
    // "1.0.1.8.0" / "1-0:1.8.0" (F defaults to 255). Whitespace around is ignored.
    static Result<Obis> parse(QStringView text);
    // Exactly six bytes (an octet-string logical name).
    static Result<Obis> fromBytes(QByteArrayView bytes);

    constexpr quint8 operator[](int i) const { return m_g[size_t(i)]; }
    constexpr const std::array<quint8, 6> &groups() const { return m_g; }
    QByteArray toBytes() const;
    void appendTo(QByteArray &out) const;

    QString toString() const; // "1.0.1.8.0.255"
    QString toIecString() const; // "1-0:1.8.0*255"

    constexpr auto operator<=>(const Obis &) const = default;
    constexpr bool operator==(const Obis &) const = default;

private:
    std::array<quint8, 6> m_g {};
};

inline size_t qHash(const Obis &o, size_t seed = 0) noexcept
{
    quint64 v = 0;
    for (quint8 g : o.groups())
        v = (v << 8) | g;
    return ::qHash(v, seed);
}

// COSEM interface classes we name.
enum class InterfaceClass : quint16 {
    Data = 1,
    Register = 3,
    ExtendedRegister = 4,
    DemandRegister = 5,
    RegisterActivation = 6,
    ProfileGeneric = 7,
    Clock = 8,
    ScriptTable = 9,
    Schedule = 10,
    SpecialDaysTable = 11,
    AssociationSN = 12,
    AssociationLN = 15,
    SapAssignment = 17,
    ImageTransfer = 18,
    ActivityCalendar = 20,
    RegisterMonitor = 21,
    SingleActionSchedule = 22,
    IecHdlcSetup = 23,
    TcpUdpSetup = 41,
    Ipv4Setup = 42,
    SecuritySetup = 64,
    Disconnector = 70,
    Limiter = 71,
};

// "Register", "Profile generic", …; "class N" for ones we do not name.
QString interfaceClassName(quint16 classId);

struct WellKnownObject {
    Obis obis;
    quint16 classId; // the usual interface class for this code
    const char *name; // English, e.g. "Active energy import (+A), total"
    const char *telemetryKey; // a default key for telemetry, e.g. "energy_import_wh"; may be ""
};

// The table of codes a technician meets every day (energy ±A ±R, power ±P ±Q, per-phase
// voltage/current/power factor, frequency, clock, serial number, logical device name, firmware,
// association, load profiles, …), sorted by OBIS.
std::span<const WellKnownObject> wellKnownObjects();
// Exact match first; otherwise nullptr. O(log n).
const WellKnownObject *findWellKnown(const Obis &obis);

} // namespace dlms
