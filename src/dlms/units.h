#pragma once

#include "value.h"

#include <QtCore/QString>

#include <optional>

namespace dlms {

// Register / Extended register attribute 3 (scaler_unit): structure { integer, enum }.
struct ScalerUnit {
    qint8 scaler = 0;
    quint8 unit = 255; // 255 = count (no unit); 254 = "other"
    bool operator==(const ScalerUnit &) const = default;

    static Result<ScalerUnit> fromValue(const Value &value);
    Value toValue() const;
};

// Symbol per the COSEM unit table (IEC 62056-6-2, Table 4): 27 → "W", 30 → "Wh", 35 → "V",
// 33 → "A", 44 → "Hz", 9 → "°C", … ; "" for count/other/unknown codes.
QString unitSymbol(quint8 unit);
// A short English description ("active energy", "voltage", …), or "unit N" when unknown.
QString unitDescription(quint8 unit);

// raw × 10^scaler. std::nullopt for a non-numeric raw value.
std::optional<double> scaledValue(const Value &raw, qint8 scaler);
// The exact decimal text of an integer raw value scaled by 10^scaler, without floating point:
// (123456, -3) → "123.456", (-5, -2) → "-0.05", (12, 2) → "1200". Floats use shortest repr.
QString scaledText(const Value &raw, qint8 scaler);

} // namespace dlms
