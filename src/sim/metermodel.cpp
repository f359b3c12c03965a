#include "metermodel.h"

#include <units.h>

#include <QtCore/QDate>

#include <algorithm>
#include <limits>

using namespace Qt::StringLiterals;

// Result codes where the brief leaves a choice:
// - selective access on an attribute that has no access selectors, or with a selector the
//   attribute does not list (only 1 and 2 on the profile buffer): scope-of-access-violated;
// - selective-access parameters of the wrong shape or type (not a 4-element structure, a field
//   that is not an integer, a date that is not a point in time): type-unmatched;
// - well-formed parameters naming something the profile does not capture (restricting object
//   other than the clock column, an unknown selected column, a column range outside 1..2):
//   other-reason;
// - ACTION on a method the object has but nobody may run (clock 1..6, register reset,
//   association 1..4): read-write-denied; a method number beyond the class: object-undefined.

namespace sim {

namespace {

using dlms::DataAccessResult;
using dlms::DataType;
using dlms::Obis;
using dlms::Value;
using dlms::ValueList;

constexpr Obis kAssociationObis(0, 0, 40, 0, 0, 255);
constexpr Obis kClockObis(0, 0, 1, 0, 0, 255);
constexpr Obis kDeviceNameObis(0, 0, 42, 0, 0, 255);
constexpr Obis kSerialObis(0, 0, 96, 1, 0, 255);
constexpr Obis kFirmwareObis(1, 0, 0, 2, 0, 255);
constexpr Obis kProfileObis(1, 0, 99, 1, 0, 255);
constexpr Obis kEnergyImportObis(1, 0, 1, 8, 0, 255);
// Association LN attribute 9 names it; the object itself is not modelled (the keys are settings).
constexpr Obis kSecuritySetupObis(0, 0, 43, 0, 0, 255);

constexpr quint16 kClassData = 1;
constexpr quint16 kClassRegister = 3;
constexpr quint16 kClassProfile = 7;
constexpr quint16 kClassClock = 8;
constexpr quint16 kClassAssociation = 15;

// Energy registers count from here, so E(t) is a small, exact function of t.
constexpr qint64 kEnergyEpochSeconds = 1577836800; // 2020-01-01T00:00:00Z
constexpr qint64 kUnixEpochJulianDay = 2440588;
constexpr int kMaxTimeZoneMinutes = 14 * 60;

enum class Quantity : quint8 {
    EnergyImport,
    EnergyExport,
    PowerImport,
    PowerExport,
    PowerL1,
    PowerL2,
    PowerL3,
    VoltageL1,
    VoltageL2,
    VoltageL3,
    CurrentL1,
    CurrentL2,
    CurrentL3,
    Frequency,
    PowerFactor,
};

struct RegisterSpec {
    Obis obis;
    Quantity quantity;
    DataType type;
    qint8 scaler;
    quint8 unit;
};

// Object-list order of the registers.
constexpr RegisterSpec kRegisters[] = {
    {kEnergyImportObis, Quantity::EnergyImport, DataType::DoubleLongUnsigned, 0, 30},
    {Obis(1, 0, 2, 8, 0, 255), Quantity::EnergyExport, DataType::DoubleLongUnsigned, 0, 30},
    {Obis(1, 0, 1, 7, 0, 255), Quantity::PowerImport, DataType::DoubleLongUnsigned, 0, 27},
    {Obis(1, 0, 2, 7, 0, 255), Quantity::PowerExport, DataType::DoubleLongUnsigned, 0, 27},
    {Obis(1, 0, 21, 7, 0, 255), Quantity::PowerL1, DataType::DoubleLongUnsigned, 0, 27},
    {Obis(1, 0, 41, 7, 0, 255), Quantity::PowerL2, DataType::DoubleLongUnsigned, 0, 27},
    {Obis(1, 0, 61, 7, 0, 255), Quantity::PowerL3, DataType::DoubleLongUnsigned, 0, 27},
    {Obis(1, 0, 32, 7, 0, 255), Quantity::VoltageL1, DataType::LongUnsigned, -1, 35},
    {Obis(1, 0, 52, 7, 0, 255), Quantity::VoltageL2, DataType::LongUnsigned, -1, 35},
    {Obis(1, 0, 72, 7, 0, 255), Quantity::VoltageL3, DataType::LongUnsigned, -1, 35},
    {Obis(1, 0, 31, 7, 0, 255), Quantity::CurrentL1, DataType::LongUnsigned, -2, 33},
    {Obis(1, 0, 51, 7, 0, 255), Quantity::CurrentL2, DataType::LongUnsigned, -2, 33},
    {Obis(1, 0, 71, 7, 0, 255), Quantity::CurrentL3, DataType::LongUnsigned, -2, 33},
    {Obis(1, 0, 14, 7, 0, 255), Quantity::Frequency, DataType::LongUnsigned, -2, 44},
    {Obis(1, 0, 13, 7, 0, 255), Quantity::PowerFactor, DataType::Long, -3, 255},
};

const RegisterSpec &spec(Quantity q)
{
    return kRegisters[int(q)];
}

// Profile columns: {clock, energy import}.
const dlms::CaptureObject kClockColumn {kClassClock, kClockObis, 2, 0};
const dlms::CaptureObject kEnergyColumn {kClassRegister, kEnergyImportObis, 2, 0};
constexpr int kProfileColumns = 2;

qint64 floorDiv(qint64 a, qint64 b)
{
    const qint64 q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

qint64 ceilDiv(qint64 a, qint64 b)
{
    return -floorDiv(-a, b);
}

qint64 clampCount(qint64 v, qint64 max)
{
    return std::clamp<qint64>(v, 0, max);
}

// A small integer mixer (xor-shift-multiply): meters and seconds get independent-looking noise
// without any shared random generator, so every run and every connection sees the same values.
quint32 mix(quint32 h)
{
    h ^= h >> 16;
    h *= 0x7FEB352Du;
    h ^= h >> 15;
    h *= 0x846CA68Bu;
    h ^= h >> 16;
    return h;
}

// Deterministic noise in [-range, range] for (meter, OBIS, second).
int noise(int index, const Obis &obis, qint64 second, int range)
{
    quint32 h = mix(quint32(index) * 0x9E3779B9u + 0x85EBCA6Bu);
    for (quint8 g : obis.groups())
        h = mix(h ^ g);
    h = mix(h ^ quint32(second));
    h = mix(h ^ quint32(quint64(second) >> 32));
    return int(h % quint32(2 * range + 1)) - range;
}

// Per-meter levels; the multipliers are coprime with the moduli, so the first thousands of
// meters all differ.
qint64 importPowerW(int index)
{
    return 600 + (qint64(index) * 97) % 2000;
}
qint64 exportPowerW(int index)
{
    return 50 + (qint64(index) * 53) % 400;
}
qint64 importBaseWh(int index)
{
    return 2'000'000 + (qint64(index) * 104'729) % 50'000'000;
}
qint64 exportBaseWh(int index)
{
    return 100'000 + (qint64(index) * 7'919) % 5'000'000;
}

qint64 energyWh(qint64 base, qint64 powerW, qint64 ms)
{
    const qint64 seconds = std::max<qint64>(0, floorDiv(ms, 1000) - kEnergyEpochSeconds);
    return base + powerW * seconds / 3600;
}

// A 12-byte COSEM date-time of `ms` (UTC) in local time with `deviation` (Blue Book sign), made
// with integer arithmetic: the profile encodes ten thousand of them per GET.
QByteArray clockBytes(qint64 ms, qint16 deviation)
{
    const qint64 localMs = ms - qint64(deviation) * 60'000;
    const qint64 days = floorDiv(localMs, 86'400'000);
    const qint64 msOfDay = localMs - days * 86'400'000;
    const QDate date = QDate::fromJulianDay(days + kUnixEpochJulianDay);
    int year = 0;
    int month = 0;
    int day = 0;
    date.getDate(&year, &month, &day);
    const char bytes[12]
        = {char(quint16(year) >> 8), char(year & 0xFF), char(month), char(day), char(date.dayOfWeek()),
            char(msOfDay / 3'600'000), char(msOfDay / 60'000 % 60), char(msOfDay / 1000 % 60),
            char(msOfDay % 1000 / 10), char(quint16(deviation) >> 8), char(quint16(deviation) & 0xFF), 0};
    return QByteArray(bytes, 12);
}

Value attributeRights(int id, AttributeAccess access, bool selectors)
{
    return Value::structure({Value::integer(qint8(id)), Value::enumeration(quint8(access)),
        selectors ? Value::array({Value::integer(1), Value::integer(2)}) : Value::null()});
}

std::optional<quint64> unsignedField(const Value &v)
{
    if (!v.isInteger() || v.type() == DataType::Bcd)
        return std::nullopt;
    return v.toUInt64();
}

// Matches a capture-object definition against the profile's columns; -1 when it is none of them.
int columnOf(const dlms::CaptureObject &object)
{
    const dlms::CaptureObject columns[kProfileColumns] = {kClockColumn, kEnergyColumn};
    for (int i = 0; i < kProfileColumns; ++i) {
        const dlms::CaptureObject &c = columns[i];
        if (object.classId == c.classId && object.instance == c.instance
            && object.attributeId == c.attributeId && object.dataIndex == 0)
            return i;
    }
    return -1;
}

} // namespace

// The buffer as it stands: the newest `profileRows` of (automatic captures at every period
// boundary up to now, after the last reset) merged with the manual captures. Automatic rows are
// j·period for j in [autoFirst, autoFirst + autoCount); manual rows sit at `manualPos`.
struct MeterModel::ProfileWindow {
    qint64 periodMs = 0;
    qint64 autoFirst = 0;
    qint64 autoCount = 0;
    std::vector<qint64> manual;
    std::vector<qint64> manualPos;

    qint64 size() const { return autoCount + qint64(manual.size()); }
    // Rows strictly before `ms`, or at or before it when `inclusive`.
    qint64 rowsBefore(qint64 ms, bool inclusive) const
    {
        qint64 autos = 0;
        if (periodMs > 0) {
            autos = inclusive ? clampCount(floorDiv(ms, periodMs) - autoFirst + 1, autoCount)
                              : clampCount(ceilDiv(ms, periodMs) - autoFirst, autoCount);
        }
        const auto it = inclusive ? std::upper_bound(manual.begin(), manual.end(), ms)
                                  : std::lower_bound(manual.begin(), manual.end(), ms);
        return autos + qint64(it - manual.begin());
    }
};

// Rows [first, last) and which columns, in order.
struct MeterModel::RowSelection {
    qint64 first = 0;
    qint64 last = 0;
    std::vector<int> columns {0, 1};
};

dlms::SecuritySettings defaultSecurity(int index)
{
    dlms::SecuritySettings security;
    const quint64 n = quint64(quint32(index));
    const char title[8] = {'S', 'I', 'M', char(n >> 32), char(n >> 24), char(n >> 16), char(n >> 8), char(n)};
    security.systemTitle = QByteArray(title, 8);
    security.blockCipherKey = QByteArray::fromHex("000102030405060708090A0B0C0D0E0F");
    security.authenticationKey = QByteArray::fromHex("D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF");
    return security;
}

MeterModel::MeterModel(MeterSettings settings, ClockSource clock)
    : m_settings(std::move(settings)), m_clock(std::move(clock))
{
    dlms::SecuritySettings &security = m_settings.security;
    if (security.systemTitle.isEmpty() || security.blockCipherKey.isEmpty()
        || security.authenticationKey.isEmpty()) {
        const dlms::SecuritySettings defaults = defaultSecurity(m_settings.index);
        if (security.systemTitle.isEmpty())
            security.systemTitle = defaults.systemTitle;
        if (security.blockCipherKey.isEmpty())
            security.blockCipherKey = defaults.blockCipherKey;
        if (security.authenticationKey.isEmpty())
            security.authenticationKey = defaults.authenticationKey;
    }
    auto add = [this](quint16 classId, quint8 version, const Obis &obis, int attributes, int methods,
                   Kind kind, int registerSpec = -1) {
        m_index.insert(obis, int(m_objects.size()));
        m_objects.push_back({classId, version, obis, attributes, methods});
        m_slots.push_back({kind, registerSpec});
    };
    // Class 15 version 1: 9 attributes (9 security_setup_reference); methods 1 reply_to_HLS_authentication,
    // 2 change_HLS_secret, 3 add_object, 4 remove_object, none of them allowed.
    add(kClassAssociation, 1, kAssociationObis, 9, 4, Kind::Association);
    add(kClassClock, 0, kClockObis, 9, 6, Kind::Clock);
    add(kClassData, 0, kDeviceNameObis, 2, 0, Kind::DeviceName);
    add(kClassData, 0, kSerialObis, 2, 0, Kind::SerialNumber);
    add(kClassData, 0, kFirmwareObis, 2, 0, Kind::Firmware);
    for (int i = 0; i < int(std::size(kRegisters)); ++i)
        add(kClassRegister, 0, kRegisters[i].obis, 3, 1, Kind::Register, i);
    add(kClassProfile, 1, kProfileObis, 8, 2, Kind::Profile);
    add(kClassProfile, 1, InstantaneousProfileObis, 8, 2, Kind::Snapshot);
}

QString MeterModel::serialNumber() const
{
    return u"SIM%1"_s.arg(m_settings.index + 1, 8, 10, QLatin1Char('0'));
}

QString MeterModel::logicalDeviceName() const
{
    return u"DLB%1"_s.arg(qint64(m_settings.index) + 1, 13, 10, QLatin1Char('0'));
}

QString MeterModel::firmwareVersion() const
{
    return u"DLB-SIM 1.0.0"_s;
}

qint64 MeterModel::nowMs() const
{
    const QDateTime host = m_clock ? m_clock() : QDateTime::currentDateTimeUtc();
    return host.toMSecsSinceEpoch() + m_settings.clockOffsetSeconds * 1000 + m_clockAdjustMs;
}

QDateTime MeterModel::now() const
{
    return QDateTime::fromMSecsSinceEpoch(nowMs(), Qt::UTC);
}

int MeterModel::indexOf(const Obis &obis) const
{
    return m_index.value(obis, -1);
}

const MeterModel::ObjectInfo *MeterModel::find(quint16 classId, const Obis &obis) const
{
    const int i = indexOf(obis);
    if (i < 0 || m_objects[size_t(i)].classId != classId)
        return nullptr;
    return &m_objects[size_t(i)];
}

AttributeAccess MeterModel::attributeAccess(const ObjectInfo &object, int attribute, AccessLevel level) const
{
    if (attribute < 1 || attribute > object.attributeCount)
        return AttributeAccess::None;
    if (object.classId == kClassAssociation && attribute == 7)
        return AttributeAccess::None; // the secret
    if (object.classId == kClassClock && (attribute == 2 || attribute == 3) && level != AccessLevel::Public)
        return AttributeAccess::ReadWrite;
    return AttributeAccess::Read;
}

bool MeterModel::methodAllowed(const ObjectInfo &object, int method, AccessLevel level) const
{
    if (method < 1 || method > object.methodCount)
        return false;
    // The instantaneous profile captures on every read: nothing to reset or trigger.
    return object.classId == kClassProfile && object.obis == kProfileObis && level != AccessLevel::Public;
}

Value MeterModel::objectList(AccessLevel level) const
{
    ValueList list;
    list.reserve(m_objects.size());
    for (const ObjectInfo &object : m_objects) {
        ValueList attributes;
        attributes.reserve(size_t(object.attributeCount));
        for (int a = 1; a <= object.attributeCount; ++a) {
            const bool selectors = object.obis == kProfileObis && a == 2;
            attributes.push_back(attributeRights(a, attributeAccess(object, a, level), selectors));
        }
        ValueList methods;
        methods.reserve(size_t(object.methodCount));
        for (int m = 1; m <= object.methodCount; ++m) {
            methods.push_back(Value::structure(
                {Value::integer(qint8(m)), Value::enumeration(methodAllowed(object, m, level) ? 1 : 0)}));
        }
        list.push_back(Value::structure({Value::longUnsigned(object.classId),
            Value::unsigned8(object.version), Value::octetString(object.obis.toBytes()),
            Value::structure({Value::array(std::move(attributes)), Value::array(std::move(methods))})}));
    }
    return Value::array(std::move(list));
}

Value MeterModel::clockValue(qint64 ms) const
{
    return Value::octetString(clockBytes(ms, m_settings.timeZoneMinutes));
}

Value MeterModel::registerValue(int specIndex, qint64 ms) const
{
    const RegisterSpec &s = kRegisters[specIndex];
    const int index = m_settings.index;
    const qint64 second = floorDiv(ms, 1000);
    auto powerImport = [&] {
        const qint64 avg = importPowerW(index);
        return avg + noise(index, spec(Quantity::PowerImport).obis, second, int(avg / 10));
    };
    auto phasePower = [&](Quantity q) {
        const qint64 third = powerImport() / 3;
        return std::max<qint64>(0, third + noise(index, spec(q).obis, second, int(third / 10)));
    };
    auto voltage = [&](Quantity q) { return qint64(2300 + noise(index, spec(q).obis, second, 20)); };
    auto current = [&](Quantity power, Quantity volts) {
        return (phasePower(power) * 1000 + voltage(volts) / 2) / voltage(volts);
    };

    qint64 raw = 0;
    switch (s.quantity) {
    case Quantity::EnergyImport:
        raw = energyWh(importBaseWh(index), importPowerW(index), ms);
        break;
    case Quantity::EnergyExport:
        raw = energyWh(exportBaseWh(index), exportPowerW(index), ms);
        break;
    case Quantity::PowerImport:
        raw = powerImport();
        break;
    case Quantity::PowerExport: {
        const qint64 avg = exportPowerW(index);
        raw = avg + noise(index, s.obis, second, int(avg / 10));
        break;
    }
    case Quantity::PowerL1:
    case Quantity::PowerL2:
    case Quantity::PowerL3:
        raw = phasePower(s.quantity);
        break;
    case Quantity::VoltageL1:
    case Quantity::VoltageL2:
    case Quantity::VoltageL3:
        raw = voltage(s.quantity);
        break;
    case Quantity::CurrentL1:
        raw = current(Quantity::PowerL1, Quantity::VoltageL1);
        break;
    case Quantity::CurrentL2:
        raw = current(Quantity::PowerL2, Quantity::VoltageL2);
        break;
    case Quantity::CurrentL3:
        raw = current(Quantity::PowerL3, Quantity::VoltageL3);
        break;
    case Quantity::Frequency:
        raw = 5000 + noise(index, s.obis, second, 5);
        break;
    case Quantity::PowerFactor:
        raw = 970 + noise(index, s.obis, second, 20);
        break;
    }
    switch (s.type) {
    case DataType::LongUnsigned:
        return Value::longUnsigned(quint16(raw));
    case DataType::Long:
        return Value::long16(qint16(raw));
    default:
        return Value::doubleLongUnsigned(quint32(raw)); // wraps like a real register would
    }
}

Value MeterModel::attributeValue(int index, int attribute, const Association &association) const
{
    const ObjectInfo &object = m_objects[size_t(index)];
    const Slot &slot = m_slots[size_t(index)];
    if (attribute == 1)
        return Value::octetString(object.obis.toBytes());
    switch (slot.kind) {
    case Kind::Association:
        switch (attribute) {
        case 2:
            return objectList(association.level);
        case 3:
            return Value::structure(
                {Value::integer(qint8(association.clientSap)), Value::longUnsigned(association.serverSap)});
        case 4: {
            QByteArray context = QByteArrayLiteral("\x60\x85\x74\x05\x08\x01");
            context.append(char(association.ciphered ? 3 : 1));
            return Value::octetString(context);
        }
        case 5: {
            const quint32 c = association.conformance;
            dlms::BitString conformance;
            const char bytes[3] = {char(c >> 16), char(c >> 8), char(c)};
            conformance.bits = QByteArray(bytes, 3);
            conformance.length = 24;
            return Value::structure({Value::bitString(std::move(conformance)),
                Value::longUnsigned(association.serverMaxPdu), Value::longUnsigned(association.clientMaxPdu),
                Value::unsigned8(6), Value::integer(0), Value::octetString({})});
        }
        case 6: {
            QByteArray name = QByteArrayLiteral("\x60\x85\x74\x05\x08\x02");
            name.append(char(association.authentication));
            return Value::octetString(name);
        }
        case 9:
            return Value::octetString(kSecuritySetupObis.toBytes());
        default:
            return Value::enumeration(2); // 8: associated
        }
    case Kind::Clock:
        switch (attribute) {
        case 2:
            return clockValue(nowMs());
        case 3:
            return Value::long16(m_settings.timeZoneMinutes);
        case 4:
            return Value::unsigned8(0);
        case 5:
        case 6:
            return Value::octetString(dlms::CosemDateTime().toBytes());
        case 7:
            return Value::integer(0);
        case 8:
            return Value::boolean(false);
        default:
            return Value::enumeration(1); // 9: internal crystal
        }
    case Kind::DeviceName:
        return Value::octetString(logicalDeviceName().toLatin1());
    case Kind::SerialNumber:
        return Value::visibleString(serialNumber().toLatin1());
    case Kind::Firmware:
        return Value::visibleString(firmwareVersion().toLatin1());
    case Kind::Register:
        if (attribute == 3)
            return dlms::ScalerUnit {kRegisters[slot.spec].scaler, kRegisters[slot.spec].unit}.toValue();
        return registerValue(slot.spec, nowMs());
    case Kind::Profile:
        switch (attribute) {
        case 3:
            return Value::array({kClockColumn.toValue(), kEnergyColumn.toValue()});
        case 4:
            return Value::doubleLongUnsigned(m_settings.profilePeriodSeconds);
        case 5:
            return Value::enumeration(1); // fifo
        case 6:
            return dlms::CaptureObject {0, Obis(), 0, 0}.toValue();
        case 7:
            return Value::doubleLongUnsigned(profileEntries());
        default:
            return Value::doubleLongUnsigned(m_settings.profileRows); // 8
        }
    case Kind::Snapshot:
        switch (attribute) {
        case 2: {
            const qint64 now = nowMs();
            ValueList row;
            row.reserve(std::size(kRegisters));
            for (int i = 0; i < int(std::size(kRegisters)); ++i)
                row.push_back(registerValue(i, now));
            return Value::array({Value::structure(std::move(row))});
        }
        case 3: {
            ValueList columns;
            columns.reserve(std::size(kRegisters));
            for (const RegisterSpec &r : kRegisters)
                columns.push_back(dlms::CaptureObject {kClassRegister, r.obis, 2, 0}.toValue());
            return Value::array(std::move(columns));
        }
        case 4:
            return Value::doubleLongUnsigned(0); // captured on demand, not periodically
        case 5:
            return Value::enumeration(1); // fifo
        case 6:
            return dlms::CaptureObject {0, Obis(), 0, 0}.toValue();
        default:
            return Value::doubleLongUnsigned(1); // 7 entries_in_use, 8 profile_entries
        }
    }
    return {};
}

MeterModel::ProfileWindow MeterModel::profileWindow() const
{
    ProfileWindow w;
    const qint64 rows = m_settings.profileRows;
    w.periodMs = qint64(m_settings.profilePeriodSeconds) * 1000;
    const qint64 now = nowMs();
    qint64 jHi = 0;
    qint64 jLo = std::numeric_limits<qint64>::min();
    qint64 available = 0;
    if (w.periodMs > 0) {
        jHi = floorDiv(now, w.periodMs);
        if (m_profileResetMs) {
            jLo = floorDiv(*m_profileResetMs, w.periodMs) + 1;
            available = std::max<qint64>(0, jHi - jLo + 1);
        } else {
            available = rows;
        }
    }
    // Automatic rows strictly after `ms`: ties sort automatic first, manual second.
    auto autosAfter = [&](qint64 ms) -> qint64 {
        if (w.periodMs <= 0)
            return 0;
        const qint64 from = std::max(jLo, floorDiv(ms, w.periodMs) + 1);
        return std::max<qint64>(0, jHi - from + 1);
    };
    const qint64 m = qint64(m_captures.size());
    qint64 firstManual = m;
    for (qint64 i = m - 1; i >= 0; --i) {
        if ((m - 1 - i) + autosAfter(m_captures[size_t(i)]) >= rows)
            break;
        firstManual = i;
    }
    w.manual.assign(m_captures.begin() + firstManual, m_captures.end());
    w.autoCount = std::min(available, rows - qint64(w.manual.size()));
    w.autoFirst = jHi - w.autoCount + 1;
    w.manualPos.reserve(w.manual.size());
    for (size_t q = 0; q < w.manual.size(); ++q) {
        const qint64 autosUpTo = w.periodMs > 0
            ? clampCount(floorDiv(w.manual[q], w.periodMs) - w.autoFirst + 1, w.autoCount)
            : 0;
        w.manualPos.push_back(qint64(q) + autosUpTo);
    }
    return w;
}

quint32 MeterModel::profileEntries() const
{
    return quint32(profileWindow().size());
}

std::optional<quint32> MeterModel::takeInvocationCounter()
{
    if (m_invocationCounterSpent)
        return std::nullopt;
    const quint32 value = m_invocationCounter;
    if (value == std::numeric_limits<quint32>::max())
        m_invocationCounterSpent = true;
    else
        ++m_invocationCounter;
    return value;
}

std::optional<quint32> MeterModel::lastClientInvocationCounter(const QByteArray &systemTitle) const
{
    const auto it = m_clientCounters.constFind(systemTitle);
    if (it == m_clientCounters.constEnd())
        return std::nullopt;
    return *it;
}

bool MeterModel::clientInvocationCounterFresh(const QByteArray &systemTitle, quint32 value) const
{
    const auto last = lastClientInvocationCounter(systemTitle);
    return !last || value > *last;
}

void MeterModel::acceptClientInvocationCounter(const QByteArray &systemTitle, quint32 value)
{
    quint32 &last = m_clientCounters[systemTitle];
    last = std::max(last, value);
}

std::optional<qint64> MeterModel::meterTimeToMs(const Value &value) const
{
    const auto dt = value.asDateTime();
    if (!dt)
        return std::nullopt;
    if (dt->deviation != dlms::CosemDateTime::DeviationNotSpecified) {
        const auto t = dt->toQDateTime();
        if (!t)
            return std::nullopt;
        return t->toMSecsSinceEpoch();
    }
    // No deviation: the meter's own local time.
    const auto t = dt->toQDateTime(Qt::UTC);
    if (!t)
        return std::nullopt;
    return t->toMSecsSinceEpoch() + qint64(m_settings.timeZoneMinutes) * 60'000;
}

dlms::DataResult MeterModel::profileBuffer(const std::optional<dlms::SelectiveAccess> &access) const
{
    const ProfileWindow w = profileWindow();
    RowSelection sel;
    sel.last = w.size();
    if (access) {
        const Value &p = access->parameters;
        if (p.type() != DataType::Structure || p.items().size() != 4)
            return {DataAccessResult::TypeUnmatched, {}};
        const ValueList &f = p.items();
        if (access->selector == 1) {
            const auto restricting = dlms::CaptureObject::fromValue(f[0]);
            const auto from = meterTimeToMs(f[1]);
            const auto to = meterTimeToMs(f[2]);
            if (!restricting || !from || !to || f[3].type() != DataType::Array)
                return {DataAccessResult::TypeUnmatched, {}};
            if (columnOf(*restricting) != 0)
                return {DataAccessResult::OtherReason, {}};
            const ValueList &selected = f[3].items();
            if (selected.size() > size_t(kProfileColumns))
                return {DataAccessResult::OtherReason, {}};
            if (!selected.empty()) {
                sel.columns.clear();
                for (const Value &v : selected) {
                    const auto column = dlms::CaptureObject::fromValue(v);
                    if (!column)
                        return {DataAccessResult::TypeUnmatched, {}};
                    const int c = columnOf(*column);
                    if (c < 0)
                        return {DataAccessResult::OtherReason, {}};
                    sel.columns.push_back(c);
                }
            }
            sel.first = w.rowsBefore(*from, false);
            sel.last = std::max(sel.first, w.rowsBefore(*to, true));
        } else {
            std::optional<quint64> n[4];
            for (int i = 0; i < 4; ++i) {
                n[i] = unsignedField(f[size_t(i)]);
                if (!n[i])
                    return {DataAccessResult::TypeUnmatched, {}};
            }
            const quint64 size = quint64(w.size());
            const quint64 fromEntry = std::max<quint64>(1, *n[0]);
            const quint64 toEntry = *n[1] == 0 ? size : std::min(*n[1], size);
            const quint64 fromColumn = std::max<quint64>(1, *n[2]);
            const quint64 toColumn = *n[3] == 0 ? kProfileColumns : std::min<quint64>(*n[3], kProfileColumns);
            if (fromColumn > toColumn)
                return {DataAccessResult::OtherReason, {}};
            sel.columns.clear();
            for (quint64 c = fromColumn; c <= toColumn; ++c)
                sel.columns.push_back(int(c - 1));
            if (fromEntry > toEntry) {
                sel.first = sel.last = 0;
            } else {
                sel.first = qint64(fromEntry - 1);
                sel.last = qint64(toEntry);
            }
        }
    }

    const qint16 deviation = m_settings.timeZoneMinutes;
    const int index = m_settings.index;
    ValueList rows;
    rows.reserve(size_t(sel.last - sel.first));
    // Walk the merged sequence from row `first`: manual rows at their positions, automatic
    // rows in between.
    size_t q
        = size_t(std::lower_bound(w.manualPos.begin(), w.manualPos.end(), sel.first) - w.manualPos.begin());
    qint64 autoIndex = sel.first - qint64(q);
    for (qint64 k = sel.first; k < sel.last; ++k) {
        qint64 ms = 0;
        if (q < w.manualPos.size() && w.manualPos[q] == k) {
            ms = w.manual[q++];
        } else {
            ms = (w.autoFirst + autoIndex++) * w.periodMs;
        }
        ValueList row;
        row.reserve(sel.columns.size());
        for (int c : sel.columns) {
            if (c == 0)
                row.push_back(Value::octetString(clockBytes(ms, deviation)));
            else
                row.push_back(Value::doubleLongUnsigned(
                    quint32(energyWh(importBaseWh(index), importPowerW(index), ms))));
        }
        rows.push_back(Value::structure(std::move(row)));
    }
    return {DataAccessResult::Success, Value::array(std::move(rows))};
}

dlms::DataResult MeterModel::get(const dlms::AttributeDescriptor &attribute,
    const std::optional<dlms::SelectiveAccess> &access, const Association &association) const
{
    const int index = indexOf(attribute.instance);
    if (index < 0)
        return {DataAccessResult::ObjectUndefined, {}};
    const ObjectInfo &object = m_objects[size_t(index)];
    if (object.classId != attribute.classId)
        return {DataAccessResult::ObjectClassInconsistent, {}};
    const int id = attribute.attributeId;
    if (id < 1 || id > object.attributeCount)
        return {DataAccessResult::ObjectUndefined, {}};
    const AttributeAccess rights = attributeAccess(object, id, association.level);
    if (rights != AttributeAccess::Read && rights != AttributeAccess::ReadWrite)
        return {DataAccessResult::ReadWriteDenied, {}};
    const bool isBuffer = m_slots[size_t(index)].kind == Kind::Profile && id == 2;
    if (access && (!isBuffer || (access->selector != 1 && access->selector != 2)))
        return {DataAccessResult::ScopeOfAccessViolated, {}};
    if (isBuffer)
        return profileBuffer(access);
    return {DataAccessResult::Success, attributeValue(index, id, association)};
}

dlms::DataAccessResult MeterModel::setClock(int attribute, const Value &value)
{
    if (attribute == 2) {
        const auto target = meterTimeToMs(value);
        if (!target)
            return DataAccessResult::TypeUnmatched;
        m_clockAdjustMs += *target - nowMs();
        return DataAccessResult::Success;
    }
    // Attribute 3: the time zone, in minutes with the Blue Book sign.
    if (!value.isInteger() || value.type() == DataType::Bcd)
        return DataAccessResult::TypeUnmatched;
    const auto minutes = value.toInt64();
    if (!minutes || *minutes < -kMaxTimeZoneMinutes || *minutes > kMaxTimeZoneMinutes)
        return DataAccessResult::TypeUnmatched;
    m_settings.timeZoneMinutes = qint16(*minutes);
    return DataAccessResult::Success;
}

dlms::DataAccessResult MeterModel::set(
    const dlms::AttributeDescriptor &attribute, const Value &value, const Association &association)
{
    const int index = indexOf(attribute.instance);
    if (index < 0)
        return DataAccessResult::ObjectUndefined;
    const ObjectInfo &object = m_objects[size_t(index)];
    if (object.classId != attribute.classId)
        return DataAccessResult::ObjectClassInconsistent;
    const int id = attribute.attributeId;
    if (id < 1 || id > object.attributeCount)
        return DataAccessResult::ObjectUndefined;
    const AttributeAccess rights = attributeAccess(object, id, association.level);
    if (rights != AttributeAccess::Write && rights != AttributeAccess::ReadWrite)
        return DataAccessResult::ReadWriteDenied;
    // attributeAccess grants writes on the clock's time and time zone only.
    return setClock(id, value);
}

dlms::ActionResponse MeterModel::action(const dlms::MethodDescriptor &method,
    const std::optional<Value> &parameters, const Association &association)
{
    dlms::ActionResponse response;
    const int index = indexOf(method.instance);
    if (index < 0) {
        response.result = DataAccessResult::ObjectUndefined;
        return response;
    }
    const ObjectInfo &object = m_objects[size_t(index)];
    const int id = method.methodId;
    if (object.classId != method.classId) {
        response.result = DataAccessResult::ObjectClassInconsistent;
    } else if (id < 1 || id > object.methodCount) {
        response.result = DataAccessResult::ObjectUndefined;
    } else if (!methodAllowed(object, id, association.level)) {
        response.result = DataAccessResult::ReadWriteDenied;
    } else if (parameters && !parameters->isNull() && parameters->type() != DataType::Integer) {
        response.result = DataAccessResult::TypeUnmatched;
    } else if (id == 1) {
        // methodAllowed grants the profile's reset (1) and capture (2) only.
        m_profileResetMs = nowMs();
        m_captures.clear();
    } else {
        const qint64 now = nowMs();
        m_captures.insert(std::upper_bound(m_captures.begin(), m_captures.end(), now), now);
        // Older captures than the buffer can hold never come back.
        if (m_captures.size() > m_settings.profileRows)
            m_captures.erase(m_captures.begin(), m_captures.end() - qint64(m_settings.profileRows));
    }
    return response;
}

} // namespace sim
