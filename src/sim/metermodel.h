#pragma once

#include "simconfig.h"

#include <xdlms.h>

#include <QtCore/QByteArray>
#include <QtCore/QHash>

#include <optional>
#include <vector>

namespace sim {

// Profile Generic whose buffer is a single row with the current value of every register, in
// object-list order: one GET reads them all (the instantaneous profile of IS 15959 meters).
inline constexpr dlms::Obis InstantaneousProfileObis(1, 0, 94, 91, 0, 255);

// Which association asks: rights in the object list and on SET/ACTION depend on it.
enum class AccessLevel : quint8 {
    Public, // no authentication: read-only
    Low, // LLS: also writes the clock and runs methods
    High, // HLS-GMAC: everything Low may, once pass 4 is done
};

// The association a request arrives on (one per connection); attributes 3..8 of the current
// association object 0.0.40.0.0.255 report it.
struct Association {
    AccessLevel level = AccessLevel::Public;
    quint16 clientSap = 16;
    quint16 serverSap = 1;
    dlms::Authentication authentication = dlms::Authentication::None;
    bool ciphered = false; // application context LN-with-ciphering
    quint32 conformance = 0;
    quint16 clientMaxPdu = 0;
    quint16 serverMaxPdu = 0;
};

// Attribute access modes (Association LN object_list, IEC 62056-6-2 4.4.3).
enum class AttributeAccess : quint8 { None = 0, Read = 1, Write = 2, ReadWrite = 3 };

// The COSEM object model of one three-phase meter: clock 0.0.1.0.0.255, logical device name
// 0.0.42.0.0.255, serial number 0.0.96.1.0.255, firmware 1.0.0.2.0.255, registers with
// scaler/unit (energy ±A growing with time, power, voltages ≈230 V with noise, currents,
// frequency, power factor), the load profile 1.0.99.1.0.255 capturing {clock, 1.0.1.8.0.255},
// the instantaneous values profile 1.0.94.91.0.255 (IS 15959 style: its buffer is one row of
// every register's value, captured when read) and the current association 0.0.40.0.0.255 with
// its object_list. Values are a deterministic
// function of the meter index and the (meter's) time, so meters differ and the profile agrees
// with the energy register. Single-threaded; shared by every connection to the same meter.
class MeterModel {
public:
    // Empty parts of settings.security are filled from defaultSecurity(settings.index).
    explicit MeterModel(MeterSettings settings, ClockSource clock = {});

    const MeterSettings &settings() const { return m_settings; }
    FaultConfig &faults() { return m_settings.faults; }
    const FaultConfig &faults() const { return m_settings.faults; }

    QString serialNumber() const; // e.g. "SIM00000001" (index 0)
    QString logicalDeviceName() const; // e.g. "DLB0000000000001" (16 chars, FLAG-style)
    QString firmwareVersion() const;

    // The meter's own clock: host clock + clockOffsetSeconds (+ whatever SET changed).
    QDateTime now() const;

    struct ObjectInfo {
        quint16 classId = 0;
        quint8 version = 0;
        dlms::Obis obis;
        int attributeCount = 0;
        int methodCount = 0;
    };
    const std::vector<ObjectInfo> &objects() const { return m_objects; }
    const ObjectInfo *find(quint16 classId, const dlms::Obis &obis) const;
    AttributeAccess attributeAccess(const ObjectInfo &object, int attribute, AccessLevel level) const;
    bool methodAllowed(const ObjectInfo &object, int method, AccessLevel level) const;

    // The services. Unknown object → object-undefined; class mismatch → object-class-inconsistent;
    // attribute beyond the class → object-undefined; no right → read-write-denied; selective
    // access on anything but the profile buffer (or a selector other than 1/2) →
    // scope-of-access-violated; parameters of the wrong shape or type → type-unmatched; a
    // restricting object or column the profile does not capture → other-reason.
    dlms::DataResult get(const dlms::AttributeDescriptor &attribute,
        const std::optional<dlms::SelectiveAccess> &access, const Association &association) const;
    dlms::DataAccessResult set(
        const dlms::AttributeDescriptor &attribute, const dlms::Value &value, const Association &association);
    // Result plus optional return parameters. Profile method 1 reset, 2 capture.
    dlms::ActionResponse action(const dlms::MethodDescriptor &method,
        const std::optional<dlms::Value> &parameters, const Association &association);

    // Association LN object_list (attribute 2) as seen by an association of `level`.
    dlms::Value objectList(AccessLevel level) const;

    // Load profile rows currently in the buffer (virtual rows plus captured ones).
    quint32 profileEntries() const;

    // Suite 0 state shared by every connection to this meter. The meter's own invocation
    // counter: every APDU it protects and every f(CtoS) takes the next value.
    quint32 nextInvocationCounter() const { return m_invocationCounter; }
    void setNextInvocationCounter(quint32 value) // test hook
    {
        m_invocationCounter = value;
        m_invocationCounterSpent = false;
    }
    // nullopt once 0xFFFFFFFF is spent: a GCM IV must never repeat, so the meter stops protecting.
    std::optional<quint32> takeInvocationCounter();
    // The highest invocation counter accepted so far from the client with this system title;
    // a ciphered request must carry a higher one (replay protection).
    std::optional<quint32> lastClientInvocationCounter(const QByteArray &systemTitle) const;
    bool clientInvocationCounterFresh(const QByteArray &systemTitle, quint32 value) const;
    void acceptClientInvocationCounter(const QByteArray &systemTitle, quint32 value);

private:
    // What an object is, beside its ObjectInfo (same position in m_kinds as in m_objects).
    enum class Kind : quint8 {
        Association,
        Clock,
        DeviceName,
        SerialNumber,
        Firmware,
        Register,
        Profile,
        Snapshot,
    };
    struct Slot {
        Kind kind = Kind::Register;
        int spec = -1; // registers: index into the register table of metermodel.cpp
    };
    struct ProfileWindow;
    struct RowSelection;

    qint64 nowMs() const;
    int indexOf(const dlms::Obis &obis) const;
    dlms::Value attributeValue(int index, int attribute, const Association &association) const;
    dlms::Value registerValue(int spec, qint64 ms) const;
    dlms::Value clockValue(qint64 ms) const;
    ProfileWindow profileWindow() const;
    dlms::DataResult profileBuffer(const std::optional<dlms::SelectiveAccess> &access) const;
    dlms::DataAccessResult setClock(int attribute, const dlms::Value &value);
    std::optional<qint64> meterTimeToMs(const dlms::Value &value) const;

    MeterSettings m_settings;
    ClockSource m_clock;
    std::vector<ObjectInfo> m_objects;
    std::vector<Slot> m_slots;
    QHash<dlms::Obis, int> m_index;
    qint64 m_clockAdjustMs = 0; // what SET of the clock added to host clock + clockOffsetSeconds
    std::optional<qint64> m_profileResetMs; // automatic rows start after the last reset
    std::vector<qint64> m_captures; // manual captures (method 2), meter UTC ms, ascending
    quint32 m_invocationCounter = 1;
    bool m_invocationCounterSpent = false;
    QHash<QByteArray, quint32> m_clientCounters; // client system title → last accepted IC
};

} // namespace sim
