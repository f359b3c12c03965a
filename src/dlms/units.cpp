#include "units.h"

#include <array>
#include <charconv>
#include <cmath>
#include <limits>

using namespace Qt::StringLiterals;

namespace dlms {

namespace {

struct UnitInfo {
    quint8 code;
    const char16_t *symbol;
    const char *description;
};

// IEC 62056-6-2 / Blue Book "enumerated values for physical units". Codes 13/14, 15/16 and
// 17/18 share a symbol: the standard tells them apart by quantity (corrected volume), not unit.
constexpr UnitInfo kUnits[] = {
    {1, u"a", "time (year)"},
    {2, u"mo", "time (month)"},
    {3, u"wk", "time (week)"},
    {4, u"d", "time (day)"},
    {5, u"h", "time (hour)"},
    {6, u"min", "time (minute)"},
    {7, u"s", "time (second)"},
    {8, u"°", "phase angle"},
    {9, u"°C", "temperature"},
    {10, u"currency", "local currency"},
    {11, u"m", "length"},
    {12, u"m/s", "speed"},
    {13, u"m³", "volume"},
    {14, u"m³", "corrected volume"},
    {15, u"m³/h", "volume flux"},
    {16, u"m³/h", "corrected volume flux"},
    {17, u"m³/d", "volume flux"},
    {18, u"m³/d", "corrected volume flux"},
    {19, u"l", "volume"},
    {20, u"kg", "mass"},
    {21, u"N", "force"},
    {22, u"Nm", "energy"},
    {23, u"Pa", "pressure"},
    {24, u"bar", "pressure"},
    {25, u"J", "energy"},
    {26, u"J/h", "thermal power"},
    {27, u"W", "active power"},
    {28, u"VA", "apparent power"},
    {29, u"var", "reactive power"},
    {30, u"Wh", "active energy"},
    {31, u"VAh", "apparent energy"},
    {32, u"varh", "reactive energy"},
    {33, u"A", "current"},
    {34, u"C", "electrical charge"},
    {35, u"V", "voltage"},
    {36, u"V/m", "electric field strength"},
    {37, u"F", "capacitance"},
    {38, u"Ω", "resistance"},
    {39, u"Ωm²/m", "resistivity"},
    {40, u"Wb", "magnetic flux"},
    {41, u"T", "magnetic flux density"},
    {42, u"A/m", "magnetic field strength"},
    {43, u"H", "inductance"},
    {44, u"Hz", "frequency"},
    {45, u"1/(Wh)", "active energy meter constant"},
    {46, u"1/(varh)", "reactive energy meter constant"},
    {47, u"1/(VAh)", "apparent energy meter constant"},
    {48, u"V²h", "volt-squared hours"},
    {49, u"A²h", "ampere-squared hours"},
    {50, u"kg/s", "mass flux"},
    {51, u"S", "conductance"},
    {52, u"K", "temperature"},
    {53, u"1/(V²h)", "volt-squared hour meter constant"},
    {54, u"1/(A²h)", "ampere-squared hour meter constant"},
    {55, u"1/m³", "volume meter constant"},
    {56, u"%", "percentage"},
    {57, u"Ah", "ampere-hours"},
    {60, u"Wh/m³", "energy per volume"},
    {61, u"J/m³", "calorific value"},
    {62, u"mol %", "molar fraction"},
    {63, u"g/m³", "mass density"},
    {64, u"Pa s", "dynamic viscosity"},
    {65, u"J/kg", "specific energy"},
    {66, u"g/cm²", "pressure"},
    {67, u"atm", "pressure"},
    {70, u"dBm", "signal strength"},
    {71, u"dBµV", "signal strength"},
    {72, u"dB", "logarithmic ratio"},
    {128, u"in", "length (inch)"},
    {129, u"ft", "length (foot)"},
    {130, u"lb", "mass (pound)"},
    {131, u"°F", "temperature (Fahrenheit)"},
    {132, u"°R", "temperature (Rankine)"},
    {133, u"sq in", "area (square inch)"},
    {134, u"sq ft", "area (square foot)"},
    {135, u"ac", "area (acre)"},
    {136, u"cu in", "volume (cubic inch)"},
    {137, u"cu ft", "volume (cubic foot)"},
    {138, u"ac ft", "volume (acre-foot)"},
    {139, u"gal (imp)", "volume (imperial gallon)"},
    {140, u"gal (US)", "volume (US gallon)"},
    {141, u"lbf", "force (pound-force)"},
    {142, u"psi", "pressure (pound-force per square inch)"},
    {143, u"lb/cu ft", "density (pound per cubic foot)"},
    {144, u"lb/(ft s)", "dynamic viscosity (pound per foot second)"},
    {145, u"sq ft/s", "kinematic viscosity (square foot per second)"},
    {146, u"Btu", "energy (British thermal unit)"},
    {147, u"thm (EU)", "energy (therm, EU)"},
    {148, u"thm (US)", "energy (therm, US)"},
    {149, u"Btu/lb", "specific energy (Btu per pound)"},
    {150, u"Btu/cu ft", "calorific value (Btu per cubic foot)"},
    {151, u"cu ft", "volume (cubic feet)"},
    {152, u"ft/s", "speed (foot per second)"},
    {153, u"cu ft/s", "volume flux (cubic foot per second)"},
    {154, u"cu ft/min", "volume flux (cubic foot per minute)"},
    {155, u"cu ft/h", "volume flux (cubic foot per hour)"},
    {156, u"cu ft/d", "volume flux (cubic foot per day)"},
    {157, u"ac ft/s", "volume flux (acre-foot per second)"},
    {158, u"ac ft/min", "volume flux (acre-foot per minute)"},
    {159, u"ac ft/h", "volume flux (acre-foot per hour)"},
    {160, u"ac ft/d", "volume flux (acre-foot per day)"},
    {161, u"imp gal", "volume (imperial gallon)"},
    {162, u"imp gal/s", "volume flux (imperial gallon per second)"},
    {163, u"imp gal/min", "volume flux (imperial gallon per minute)"},
    {164, u"imp gal/h", "volume flux (imperial gallon per hour)"},
    {165, u"imp gal/d", "volume flux (imperial gallon per day)"},
    {166, u"US gal", "volume (US gallon)"},
    {167, u"US gal/s", "volume flux (US gallon per second)"},
    {168, u"US gal/min", "volume flux (US gallon per minute)"},
    {169, u"US gal/h", "volume flux (US gallon per hour)"},
    {170, u"US gal/d", "volume flux (US gallon per day)"},
    {171, u"Btu/s", "power (Btu per second)"},
    {172, u"Btu/min", "power (Btu per minute)"},
    {173, u"Btu/h", "power (Btu per hour)"},
    {174, u"Btu/d", "power (Btu per day)"},
    {254, u"", "other unit"},
    {255, u"", "count (no unit)"},
};

// Direct index by code; codes the table does not list stay null.
constexpr std::array<const UnitInfo *, 256> kUnitIndex = [] {
    std::array<const UnitInfo *, 256> index {};
    for (const UnitInfo &u : kUnits)
        index[u.code] = &u;
    return index;
}();

bool isIntegerType(DataType t)
{
    switch (t) {
    case DataType::Integer:
    case DataType::Long:
    case DataType::DoubleLong:
    case DataType::Long64:
    case DataType::Unsigned:
    case DataType::LongUnsigned:
    case DataType::DoubleLongUnsigned:
    case DataType::Long64Unsigned:
        return true;
    default:
        return false;
    }
}

constexpr std::array<double, 23> kExactPowers = [] {
    std::array<double, 23> p {};
    double x = 1.0;
    for (double &e : p) {
        e = x;
        x *= 10.0;
    }
    return p;
}();

// 10^n is exact in a double up to 1e22; dividing by an exact power (rather than multiplying by
// an inexact 1e-3) keeps (5, -3) at 0.005 and not 0.005000000000000001.
double applyScaler(double v, int scaler)
{
    const int mag = scaler < 0 ? -scaler : scaler;
    const double p = mag < int(kExactPowers.size()) ? kExactPowers[size_t(mag)] : std::pow(10.0, mag);
    return scaler < 0 ? v / p : v * p;
}

QString floatText(double v, bool single)
{
    // Narrow first: a float32 scaled past its range is infinite, whatever the double says.
    // (Converting an out-of-range double to float is undefined, hence the explicit test.)
    constexpr double floatMax = std::numeric_limits<float>::max();
    const float f = std::isfinite(v) && std::abs(v) > floatMax
        ? (v < 0 ? -std::numeric_limits<float>::infinity() : std::numeric_limits<float>::infinity())
        : float(v);
    const double shown = single ? double(f) : v;
    if (std::isnan(shown))
        return u"NaN"_s;
    if (std::isinf(shown))
        return shown < 0 ? u"-Infinity"_s : u"Infinity"_s;
    char buf[64];
    const auto res
        = single ? std::to_chars(buf, buf + sizeof buf, f) : std::to_chars(buf, buf + sizeof buf, v);
    return QString::fromLatin1(buf, res.ptr - buf);
}

} // namespace

Result<ScalerUnit> ScalerUnit::fromValue(const Value &value)
{
    if (value.type() != DataType::Structure)
        return makeError(ErrorCode::Malformed,
            u"scaler_unit: expected a structure of 2 elements, got %1"_s.arg(dataTypeName(value.type())));
    const ValueList &items = value.items();
    if (items.size() != 2)
        return makeError(
            ErrorCode::Malformed, u"scaler_unit: structure has %1 elements, expected 2"_s.arg(items.size()));
    const Value &scaler = items[0];
    const Value &unit = items[1];
    if (!isIntegerType(scaler.type()))
        return makeError(ErrorCode::Malformed,
            u"scaler_unit: scaler is %1, expected an integer"_s.arg(dataTypeName(scaler.type())));
    const auto s = scaler.toInt64();
    if (!s || *s < -128 || *s > 127) {
        const QString text = s ? QString::number(*s) : QString::number(*scaler.toUInt64());
        return makeError(
            ErrorCode::Malformed, u"scaler_unit: scaler %1 is out of range -128..127"_s.arg(text));
    }
    if (unit.type() != DataType::Enum)
        return makeError(
            ErrorCode::Malformed, u"scaler_unit: unit is %1, expected enum"_s.arg(dataTypeName(unit.type())));
    ScalerUnit su;
    su.scaler = qint8(*s);
    su.unit = quint8(*unit.toUInt64());
    return su;
}

Value ScalerUnit::toValue() const
{
    ValueList items;
    items.reserve(2);
    items.push_back(Value::integer(scaler));
    items.push_back(Value::enumeration(unit));
    return Value::structure(std::move(items));
}

QString unitSymbol(quint8 unit)
{
    const UnitInfo *u = kUnitIndex[unit];
    return u ? QString::fromUtf16(u->symbol) : QString();
}

QString unitDescription(quint8 unit)
{
    const UnitInfo *u = kUnitIndex[unit];
    return u ? QString::fromLatin1(u->description) : u"unit %1"_s.arg(unit);
}

std::optional<double> scaledValue(const Value &raw, qint8 scaler)
{
    if (!raw.isNumber())
        return std::nullopt;
    const auto v = raw.toDouble();
    if (!v)
        return std::nullopt;
    return applyScaler(*v, scaler);
}

QString scaledText(const Value &raw, qint8 scaler)
{
    if (raw.type() == DataType::Float32 || raw.type() == DataType::Float64) {
        const auto v = raw.toDouble();
        return floatText(applyScaler(v.value_or(0.0), scaler), raw.type() == DataType::Float32);
    }
    if (!raw.isInteger())
        return raw.toText();

    bool negative = false;
    quint64 magnitude = 0;
    if (const auto s = raw.toInt64()) {
        negative = *s < 0;
        // Two's complement negation in unsigned arithmetic: exact even for INT64_MIN.
        magnitude = negative ? quint64(0) - quint64(*s) : quint64(*s);
    } else if (const auto u = raw.toUInt64()) {
        magnitude = *u;
    }
    if (magnitude == 0)
        return u"0"_s;

    // Digits are built as text so a scaler of ±127 never overflows anything.
    char digits[24];
    const auto res = std::to_chars(digits, digits + sizeof digits, magnitude);
    const int n = int(res.ptr - digits);

    QString out;
    out.reserve(n + (scaler < 0 ? -scaler : scaler) + 3);
    if (negative)
        out += u'-';
    if (scaler >= 0) {
        out += QLatin1StringView(digits, n);
        out += QString(scaler, u'0');
        return out;
    }

    // Trailing zeros of the fraction carry no information: (1200, -2) is "12", not "12.00".
    int fracDigits = -scaler;
    int end = n;
    while (fracDigits > 0 && end > 0 && digits[end - 1] == '0') {
        --end;
        --fracDigits;
    }
    if (fracDigits == 0) {
        out += QLatin1StringView(digits, end);
        return out;
    }
    // Value = digits[0..end) × 10^-fracDigits.
    if (end > fracDigits) {
        out += QLatin1StringView(digits, end - fracDigits);
        out += u'.';
        out += QLatin1StringView(digits + end - fracDigits, fracDigits);
    } else {
        out += u"0."_s;
        out += QString(fracDigits - end, u'0');
        out += QLatin1StringView(digits, end);
    }
    return out;
}

} // namespace dlms
