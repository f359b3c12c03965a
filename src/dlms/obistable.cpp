#include "obis.h"

#include <algorithm>
#include <iterator>

namespace dlms {

namespace {

constexpr quint16 kData = quint16(InterfaceClass::Data);
constexpr quint16 kRegister = quint16(InterfaceClass::Register);
constexpr quint16 kExtRegister = quint16(InterfaceClass::ExtendedRegister);
constexpr quint16 kProfile = quint16(InterfaceClass::ProfileGeneric);

// Codes per IEC 62056-6-1 / the Blue Book OBIS list. Kept sorted by OBIS (checked below at
// compile time) so lookups can binary-search.
constexpr WellKnownObject kTable[] = {
    {Obis(0, 0, 0, 2, 0, 255), kData, "Active firmware identifier", "firmware_id"},
    {Obis(0, 0, 1, 0, 0, 255), quint16(InterfaceClass::Clock), "Clock", "clock"},
    {Obis(0, 0, 10, 0, 0, 255), quint16(InterfaceClass::ScriptTable), "Global meter reset script table", ""},
    {Obis(0, 0, 10, 0, 1, 255), quint16(InterfaceClass::ScriptTable),
        "MDI reset / end of billing period script table", ""},
    {Obis(0, 0, 10, 0, 100, 255), quint16(InterfaceClass::ScriptTable), "Tariffication script table", ""},
    {Obis(0, 0, 10, 0, 106, 255), quint16(InterfaceClass::ScriptTable), "Disconnect control script table",
        ""},
    {Obis(0, 0, 11, 0, 0, 255), quint16(InterfaceClass::SpecialDaysTable), "Special days table", ""},
    {Obis(0, 0, 13, 0, 0, 255), quint16(InterfaceClass::ActivityCalendar), "Activity calendar", ""},
    {Obis(0, 0, 15, 0, 0, 255), quint16(InterfaceClass::SingleActionSchedule),
        "End of billing period schedule", ""},
    {Obis(0, 0, 17, 0, 0, 255), quint16(InterfaceClass::Limiter), "Limiter", ""},
    {Obis(0, 0, 22, 0, 0, 255), quint16(InterfaceClass::IecHdlcSetup), "IEC HDLC setup", ""},
    {Obis(0, 0, 25, 0, 0, 255), quint16(InterfaceClass::TcpUdpSetup), "TCP-UDP setup", ""},
    {Obis(0, 0, 25, 1, 0, 255), quint16(InterfaceClass::Ipv4Setup), "IPv4 setup", ""},
    {Obis(0, 0, 40, 0, 0, 255), quint16(InterfaceClass::AssociationLN), "Current association", ""},
    {Obis(0, 0, 41, 0, 0, 255), quint16(InterfaceClass::SapAssignment), "SAP assignment", ""},
    {Obis(0, 0, 42, 0, 0, 255), kData, "COSEM logical device name", "logical_device_name"},
    {Obis(0, 0, 43, 0, 0, 255), quint16(InterfaceClass::SecuritySetup), "Security setup", ""},
    {Obis(0, 0, 44, 0, 0, 255), quint16(InterfaceClass::ImageTransfer), "Image transfer", ""},
    {Obis(0, 0, 96, 1, 0, 255), kData, "Device ID 1, manufacturer serial number", "serial_number"},
    {Obis(0, 0, 96, 3, 10, 255), quint16(InterfaceClass::Disconnector), "Disconnect control", "relay_state"},
    {Obis(0, 0, 96, 7, 21, 255), kData, "Number of power failures in any phase", "power_failures"},
    {Obis(0, 0, 96, 14, 0, 255), kData, "Currently active tariff", "active_tariff"},
    {Obis(0, 0, 98, 1, 0, 255), kProfile, "Billing profile (data of billing period 1)", ""},
    {Obis(0, 0, 99, 98, 0, 255), kProfile, "Standard event log", ""},

    {Obis(1, 0, 0, 0, 0, 255), kData, "Electricity ID 1", "meter_id"},
    {Obis(1, 0, 0, 2, 0, 255), kData, "Active firmware identifier (metrology)", "firmware_version"},
    {Obis(1, 0, 1, 6, 0, 255), kExtRegister, "Maximum demand, active power import (+A), total",
        "max_demand_import_w"},
    {Obis(1, 0, 1, 7, 0, 255), kRegister, "Active power import (+P), instantaneous", "power_import_w"},
    {Obis(1, 0, 1, 8, 0, 255), kRegister, "Active energy import (+A), total", "energy_import_wh"},
    {Obis(1, 0, 1, 8, 1, 255), kRegister, "Active energy import (+A), tariff 1", "energy_import_t1_wh"},
    {Obis(1, 0, 1, 8, 2, 255), kRegister, "Active energy import (+A), tariff 2", "energy_import_t2_wh"},
    {Obis(1, 0, 1, 8, 3, 255), kRegister, "Active energy import (+A), tariff 3", "energy_import_t3_wh"},
    {Obis(1, 0, 1, 8, 4, 255), kRegister, "Active energy import (+A), tariff 4", "energy_import_t4_wh"},
    {Obis(1, 0, 2, 6, 0, 255), kExtRegister, "Maximum demand, active power export (-A), total",
        "max_demand_export_w"},
    {Obis(1, 0, 2, 7, 0, 255), kRegister, "Active power export (-P), instantaneous", "power_export_w"},
    {Obis(1, 0, 2, 8, 0, 255), kRegister, "Active energy export (-A), total", "energy_export_wh"},
    {Obis(1, 0, 2, 8, 1, 255), kRegister, "Active energy export (-A), tariff 1", "energy_export_t1_wh"},
    {Obis(1, 0, 2, 8, 2, 255), kRegister, "Active energy export (-A), tariff 2", "energy_export_t2_wh"},
    {Obis(1, 0, 2, 8, 3, 255), kRegister, "Active energy export (-A), tariff 3", "energy_export_t3_wh"},
    {Obis(1, 0, 2, 8, 4, 255), kRegister, "Active energy export (-A), tariff 4", "energy_export_t4_wh"},
    {Obis(1, 0, 3, 7, 0, 255), kRegister, "Reactive power import (+Q), instantaneous",
        "reactive_power_import_var"},
    {Obis(1, 0, 3, 8, 0, 255), kRegister, "Reactive energy import (+R), total",
        "energy_reactive_import_varh"},
    {Obis(1, 0, 4, 7, 0, 255), kRegister, "Reactive power export (-Q), instantaneous",
        "reactive_power_export_var"},
    {Obis(1, 0, 4, 8, 0, 255), kRegister, "Reactive energy export (-R), total",
        "energy_reactive_export_varh"},
    {Obis(1, 0, 9, 7, 0, 255), kRegister, "Apparent power import (+S), instantaneous", "apparent_power_va"},
    {Obis(1, 0, 9, 8, 0, 255), kRegister, "Apparent energy import (+S), total", "energy_apparent_import_vah"},
    {Obis(1, 0, 13, 7, 0, 255), kRegister, "Power factor, total, instantaneous", "power_factor"},
    {Obis(1, 0, 14, 7, 0, 255), kRegister, "Supply frequency, instantaneous", "frequency_hz"},
    {Obis(1, 0, 21, 7, 0, 255), kRegister, "Active power import (+P) L1, instantaneous", "power_import_l1_w"},
    {Obis(1, 0, 22, 7, 0, 255), kRegister, "Active power export (-P) L1, instantaneous", "power_export_l1_w"},
    {Obis(1, 0, 31, 7, 0, 255), kRegister, "Current L1, instantaneous", "current_l1"},
    {Obis(1, 0, 32, 7, 0, 255), kRegister, "Voltage L1, instantaneous", "voltage_l1"},
    {Obis(1, 0, 33, 7, 0, 255), kRegister, "Power factor L1, instantaneous", "power_factor_l1"},
    {Obis(1, 0, 41, 7, 0, 255), kRegister, "Active power import (+P) L2, instantaneous", "power_import_l2_w"},
    {Obis(1, 0, 42, 7, 0, 255), kRegister, "Active power export (-P) L2, instantaneous", "power_export_l2_w"},
    {Obis(1, 0, 51, 7, 0, 255), kRegister, "Current L2, instantaneous", "current_l2"},
    {Obis(1, 0, 52, 7, 0, 255), kRegister, "Voltage L2, instantaneous", "voltage_l2"},
    {Obis(1, 0, 53, 7, 0, 255), kRegister, "Power factor L2, instantaneous", "power_factor_l2"},
    {Obis(1, 0, 61, 7, 0, 255), kRegister, "Active power import (+P) L3, instantaneous", "power_import_l3_w"},
    {Obis(1, 0, 62, 7, 0, 255), kRegister, "Active power export (-P) L3, instantaneous", "power_export_l3_w"},
    {Obis(1, 0, 71, 7, 0, 255), kRegister, "Current L3, instantaneous", "current_l3"},
    {Obis(1, 0, 72, 7, 0, 255), kRegister, "Voltage L3, instantaneous", "voltage_l3"},
    {Obis(1, 0, 73, 7, 0, 255), kRegister, "Power factor L3, instantaneous", "power_factor_l3"},
    {Obis(1, 0, 91, 7, 0, 255), kRegister, "Current neutral, instantaneous", "current_neutral"},
    {Obis(1, 0, 99, 1, 0, 255), kProfile, "Load profile 1", ""},
    {Obis(1, 0, 99, 2, 0, 255), kProfile, "Load profile 2", ""},
    // Some meters keep the metrology firmware under channel 1 rather than 0.
    {Obis(1, 1, 0, 2, 0, 255), kData, "Active firmware identifier (metrology, channel 1)",
        "firmware_version_ch1"},
};

constexpr bool strictlySorted()
{
    for (size_t i = 1; i < std::size(kTable); ++i) {
        if (!(kTable[i - 1].obis < kTable[i].obis))
            return false;
    }
    return true;
}
static_assert(strictlySorted(), "kTable must be sorted by OBIS without duplicates");

} // namespace

std::span<const WellKnownObject> wellKnownObjects()
{
    return kTable;
}

const WellKnownObject *findWellKnown(const Obis &obis)
{
    const auto *it = std::lower_bound(std::begin(kTable), std::end(kTable), obis,
        [](const WellKnownObject &w, const Obis &o) { return w.obis < o; });
    return it != std::end(kTable) && it->obis == obis ? it : nullptr;
}

} // namespace dlms
