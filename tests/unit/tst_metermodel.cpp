#include "metermodel.h"
#include "testsupport.h"

#include <units.h>

#include <QtCore/QSet>
#include <QtTest/QTest>

#include <memory>

using namespace Qt::StringLiterals;
using dlms::AttributeDescriptor;
using dlms::CaptureObject;
using dlms::CosemDateTime;
using dlms::DataAccessResult;
using dlms::DataType;
using dlms::MethodDescriptor;
using dlms::Obis;
using dlms::SelectiveAccess;
using dlms::Value;
using dlms::ValueList;
using sim::AccessLevel;
using sim::Association;
using sim::MeterModel;
using sim::MeterSettings;

namespace dlms {

inline char *toString(DataAccessResult r)
{
    return qstrdup(dataAccessResultName(quint8(r)).toLatin1().constData());
}

} // namespace dlms

Q_DECLARE_METATYPE(dlms::DataAccessResult)
Q_DECLARE_METATYPE(sim::AccessLevel)

namespace {

const Obis kAssociation(0, 0, 40, 0, 0, 255);
const Obis kClock(0, 0, 1, 0, 0, 255);
const Obis kDeviceName(0, 0, 42, 0, 0, 255);
const Obis kSerial(0, 0, 96, 1, 0, 255);
const Obis kFirmware(1, 0, 0, 2, 0, 255);
const Obis kProfile(1, 0, 99, 1, 0, 255);
const Obis kEnergyImport(1, 0, 1, 8, 0, 255);
const Obis kEnergyExport(1, 0, 2, 8, 0, 255);
const Obis kPowerImport(1, 0, 1, 7, 0, 255);
const Obis kVoltageL1(1, 0, 32, 7, 0, 255);

const CaptureObject kClockColumn {8, kClock, 2, 0};
const CaptureObject kEnergyColumn {3, kEnergyImport, 2, 0};

// 2026-11-23T12:07:30Z, a Monday; the profile's newest automatic row is 12:00:00Z.
const QDateTime kHost(QDate(2026, 11, 23), QTime(12, 7, 30), Qt::UTC);
const QDateTime kLastRow(QDate(2026, 11, 23), QTime(12, 0, 0), Qt::UTC);
const QDateTime kOldestRow = kLastRow.addSecs(-9999LL * 900);

// A model whose host clock the test moves by hand.
struct Meter {
    explicit Meter(MeterSettings settings = {}, QDateTime start = kHost)
        : host(std::make_shared<QDateTime>(std::move(start))),
          model(std::move(settings), [h = host] { return *h; })
    {
    }
    std::shared_ptr<QDateTime> host;
    MeterModel model;
};

MeterSettings settingsFor(int index)
{
    MeterSettings s;
    s.index = index;
    return s;
}

Association associationFor(AccessLevel l)
{
    Association a;
    a.level = l;
    a.authentication = l == AccessLevel::Low ? dlms::Authentication::Low
        : l == AccessLevel::High             ? dlms::Authentication::HighGmac
                                             : dlms::Authentication::None;
    return a;
}

const Association kPublic = associationFor(AccessLevel::Public);
const Association kLow = associationFor(AccessLevel::Low);

dlms::DataResult get(const MeterModel &m, quint16 classId, const Obis &obis, int attribute,
    const std::optional<SelectiveAccess> &access = std::nullopt, const Association &a = kPublic)
{
    return m.get(AttributeDescriptor {classId, obis, qint8(attribute)}, access, a);
}

Value getValue(const MeterModel &m, quint16 classId, const Obis &obis, int attribute)
{
    const dlms::DataResult r = get(m, classId, obis, attribute);
    if (!r.ok())
        qWarning() << "GET" << obis.toString() << attribute
                   << "failed:" << dlms::dataAccessResultName(quint8(r.result));
    return r.value;
}

qint64 registerRaw(const MeterModel &m, const Obis &obis)
{
    return getValue(m, 3, obis, 2).toInt64().value_or(-1);
}

Value clockOctets(const QDateTime &t)
{
    return Value::octetString(CosemDateTime::fromQDateTime(t).toBytes());
}

QDateTime rowTime(const Value &row)
{
    const auto dt = CosemDateTime::fromBytes(row.items().at(0).bytes());
    if (!dt)
        return {};
    return dt->toQDateTime().value_or(QDateTime());
}

SelectiveAccess rangeAccess(
    const Value &from, const Value &to, const std::vector<CaptureObject> &columns = {})
{
    return SelectiveAccess::range(kClockColumn, from, to, columns);
}

dlms::ActionResponse runMethod(MeterModel &m, int method, const Association &a = kLow)
{
    return m.action(MethodDescriptor {7, kProfile, qint8(method)}, Value::integer(0), a);
}

QString attributeRowName(const Obis &obis, int attribute)
{
    return obis.toString() + u':' + QString::number(attribute);
}

// The type each attribute must have, written from the brief rather than from the model.
std::optional<DataType> expectedType(quint16 classId, const Obis &obis, int attribute)
{
    if (attribute == 1)
        return DataType::OctetString;
    switch (classId) {
    case 15: {
        static const DataType types[]
            = {DataType::Array, DataType::Structure, DataType::OctetString, DataType::Structure,
                DataType::OctetString, DataType::NullData, DataType::Enum, DataType::OctetString};
        if (attribute == 7)
            return std::nullopt; // the secret: no access
        return types[attribute - 2];
    }
    case 8: {
        static const DataType types[]
            = {DataType::OctetString, DataType::Long, DataType::Unsigned, DataType::OctetString,
                DataType::OctetString, DataType::Integer, DataType::Boolean, DataType::Enum};
        return types[attribute - 2];
    }
    case 1:
        return obis == kDeviceName ? DataType::OctetString : DataType::VisibleString;
    case 3:
        if (attribute == 3)
            return DataType::Structure;
        if (obis[2] == 32 || obis[2] == 52 || obis[2] == 72 || obis[2] == 31 || obis[2] == 51 || obis[2] == 71
            || obis[2] == 14)
            return DataType::LongUnsigned;
        if (obis[2] == 13)
            return DataType::Long;
        return DataType::DoubleLongUnsigned;
    case 7: {
        static const DataType types[] = {DataType::Array, DataType::Array, DataType::DoubleLongUnsigned,
            DataType::Enum, DataType::Structure, DataType::DoubleLongUnsigned, DataType::DoubleLongUnsigned};
        return types[attribute - 2];
    }
    }
    return std::nullopt;
}

} // namespace

class TestMeterModel : public QObject {
    Q_OBJECT

private slots:
    void catalogue();
    void everyAttributeReadable_data();
    void everyAttributeReadable();
    void identity_data();
    void identity();
    void registerScalerUnitAndRange_data();
    void registerScalerUnitAndRange();
    void currentsFollowPowerAndVoltage();
    void noisePerSecondAndPerMeter();
    void metersDiffer();
    void energyGrowsAtAveragePower();
    void energyRegisterEqualsLastRow_data();
    void energyRegisterEqualsLastRow();
    void profileWhole();
    void instantaneousProfile();
    void profileRowClocksMatchQDateTime();
    void profileAttributes();
    void profileRange_data();
    void profileRange();
    void profileEntry_data();
    void profileEntry();
    void selectionsMatchScan();
    void captureAppendsAndDropsOldest();
    void captureOverflowKeepsNewest();
    void captureAfterClockSetBack();
    void resetEmptiesBuffer();
    void rights_data();
    void rights();
    void addressingErrors_data();
    void addressingErrors();
    void badSelectiveAccess_data();
    void badSelectiveAccess();
    void setClockMovesNow_data();
    void setClockMovesNow();
    void clockOffsetSetting();
    void timeZone();
    void associationAttributes();
    void objectListRightsByLevel();
    void defaultSecurity_data();
    void defaultSecurity();
    void invocationCounters();
    void objectListEncodedSize();
};

void TestMeterModel::catalogue()
{
    Meter m;
    struct Expected {
        quint16 classId;
        quint8 version;
        Obis obis;
    };
    const Expected expected[] = {
        {15, 1, kAssociation},
        {8, 0, kClock},
        {1, 0, kDeviceName},
        {1, 0, kSerial},
        {1, 0, kFirmware},
        {3, 0, kEnergyImport},
        {3, 0, kEnergyExport},
        {3, 0, kPowerImport},
        {3, 0, Obis(1, 0, 2, 7, 0, 255)},
        {3, 0, Obis(1, 0, 21, 7, 0, 255)},
        {3, 0, Obis(1, 0, 41, 7, 0, 255)},
        {3, 0, Obis(1, 0, 61, 7, 0, 255)},
        {3, 0, kVoltageL1},
        {3, 0, Obis(1, 0, 52, 7, 0, 255)},
        {3, 0, Obis(1, 0, 72, 7, 0, 255)},
        {3, 0, Obis(1, 0, 31, 7, 0, 255)},
        {3, 0, Obis(1, 0, 51, 7, 0, 255)},
        {3, 0, Obis(1, 0, 71, 7, 0, 255)},
        {3, 0, Obis(1, 0, 14, 7, 0, 255)},
        {3, 0, Obis(1, 0, 13, 7, 0, 255)},
        {7, 1, kProfile},
        {7, 1, sim::InstantaneousProfileObis},
    };
    const auto &objects = m.model.objects();
    QCOMPARE(objects.size(), std::size(expected));
    for (size_t i = 0; i < objects.size(); ++i) {
        QCOMPARE(objects[i].classId, expected[i].classId);
        QCOMPARE(objects[i].version, expected[i].version);
        QCOMPARE(objects[i].obis, expected[i].obis);
        QCOMPARE(m.model.find(expected[i].classId, expected[i].obis), &objects[i]);
    }
    QVERIFY(!m.model.find(3, kClock));
    QVERIFY(!m.model.find(3, Obis(1, 0, 99, 98, 0, 255)));

    // The object list lists the same objects in the same order.
    const Value list = m.model.objectList(AccessLevel::Public);
    QCOMPARE(list.items().size(), objects.size());
    for (size_t i = 0; i < objects.size(); ++i) {
        const ValueList &entry = list.items()[i].items();
        QCOMPARE(entry.size(), size_t(4));
        QCOMPARE(entry[0], Value::longUnsigned(objects[i].classId));
        QCOMPARE(entry[1], Value::unsigned8(objects[i].version));
        QCOMPARE(entry[2], Value::octetString(objects[i].obis.toBytes()));
        const ValueList &rights = entry[3].items();
        QCOMPARE(rights.at(0).items().size(), size_t(objects[i].attributeCount));
        QCOMPARE(rights.at(1).items().size(), size_t(objects[i].methodCount));
        for (int a = 0; a < objects[i].attributeCount; ++a)
            QCOMPARE(rights[0].items()[size_t(a)].items().at(0), Value::integer(qint8(a + 1)));
    }
}

void TestMeterModel::everyAttributeReadable_data()
{
    QTest::addColumn<quint16>("classId");
    QTest::addColumn<Obis>("obis");
    QTest::addColumn<int>("attribute");
    Meter m;
    for (const auto &object : m.model.objects()) {
        for (int a = 1; a <= object.attributeCount; ++a)
            QTest::newRow(qPrintable(attributeRowName(object.obis, a))) << object.classId << object.obis << a;
    }
}

void TestMeterModel::everyAttributeReadable()
{
    QFETCH(quint16, classId);
    QFETCH(Obis, obis);
    QFETCH(int, attribute);
    Meter m;
    const auto expected = expectedType(classId, obis, attribute);
    for (const Association &a : {kPublic, kLow}) {
        const dlms::DataResult r = get(m.model, classId, obis, attribute, std::nullopt, a);
        if (!expected) {
            QCOMPARE(r.result, DataAccessResult::ReadWriteDenied);
            continue;
        }
        QCOMPARE(r.result, DataAccessResult::Success);
        QCOMPARE(dlms::dataTypeName(r.value.type()), dlms::dataTypeName(*expected));
        // Everything the model returns must survive the encoder and come back the same.
        const auto decoded = dlms::axdr::decodeAll(dlms::axdr::encode(r.value));
        QVERIFY(decoded.ok());
        QCOMPARE(*decoded, r.value);
    }
    if (attribute == 1)
        QCOMPARE(getValue(m.model, classId, obis, 1).bytes(), obis.toBytes());
}

void TestMeterModel::identity_data()
{
    QTest::addColumn<int>("index");
    QTest::addColumn<QString>("serial");
    QTest::addColumn<QByteArray>("deviceName");
    QTest::newRow("meter-1") << 0 << u"SIM00000001"_s << QByteArrayLiteral("DLB0000000000001");
    QTest::newRow("meter-2") << 1 << u"SIM00000002"_s << QByteArrayLiteral("DLB0000000000002");
    QTest::newRow("meter-1000") << 999 << u"SIM00001000"_s << QByteArrayLiteral("DLB0000000001000");
}

void TestMeterModel::identity()
{
    QFETCH(int, index);
    QFETCH(QString, serial);
    QFETCH(QByteArray, deviceName);
    Meter m(settingsFor(index));
    QCOMPARE(m.model.serialNumber(), serial);
    QCOMPARE(getValue(m.model, 1, kSerial, 2), Value::visibleString(serial.toLatin1()));
    QCOMPARE(m.model.logicalDeviceName(), QString::fromLatin1(deviceName));
    QCOMPARE(getValue(m.model, 1, kDeviceName, 2), Value::octetString(deviceName));
    QCOMPARE(deviceName.size(), 16);
    const Value firmware = getValue(m.model, 1, kFirmware, 2);
    QCOMPARE(firmware.type(), DataType::VisibleString);
    QCOMPARE(firmware.string(), m.model.firmwareVersion());
    QVERIFY(!firmware.bytes().isEmpty());
}

void TestMeterModel::registerScalerUnitAndRange_data()
{
    QTest::addColumn<Obis>("obis");
    QTest::addColumn<int>("scaler");
    QTest::addColumn<int>("unit");
    QTest::addColumn<qint64>("min");
    QTest::addColumn<qint64>("max");
    QTest::newRow("energy-import") << kEnergyImport << 0 << 30 << 1'000'000LL << 4'000'000'000LL;
    QTest::newRow("energy-export") << kEnergyExport << 0 << 30 << 1LL << 4'000'000'000LL;
    QTest::newRow("power-import") << kPowerImport << 0 << 27 << 100LL << 5000LL;
    QTest::newRow("power-export") << Obis(1, 0, 2, 7, 0, 255) << 0 << 27 << 1LL << 5000LL;
    QTest::newRow("power-l1") << Obis(1, 0, 21, 7, 0, 255) << 0 << 27 << 30LL << 2000LL;
    QTest::newRow("power-l2") << Obis(1, 0, 41, 7, 0, 255) << 0 << 27 << 30LL << 2000LL;
    QTest::newRow("power-l3") << Obis(1, 0, 61, 7, 0, 255) << 0 << 27 << 30LL << 2000LL;
    QTest::newRow("voltage-l1") << kVoltageL1 << -1 << 35 << 2280LL << 2320LL;
    QTest::newRow("voltage-l2") << Obis(1, 0, 52, 7, 0, 255) << -1 << 35 << 2280LL << 2320LL;
    QTest::newRow("voltage-l3") << Obis(1, 0, 72, 7, 0, 255) << -1 << 35 << 2280LL << 2320LL;
    QTest::newRow("current-l1") << Obis(1, 0, 31, 7, 0, 255) << -2 << 33 << 10LL << 1000LL;
    QTest::newRow("current-l2") << Obis(1, 0, 51, 7, 0, 255) << -2 << 33 << 10LL << 1000LL;
    QTest::newRow("current-l3") << Obis(1, 0, 71, 7, 0, 255) << -2 << 33 << 10LL << 1000LL;
    QTest::newRow("frequency") << Obis(1, 0, 14, 7, 0, 255) << -2 << 44 << 4995LL << 5005LL;
    QTest::newRow("power-factor") << Obis(1, 0, 13, 7, 0, 255) << -3 << 255 << 950LL << 990LL;
}

void TestMeterModel::registerScalerUnitAndRange()
{
    QFETCH(Obis, obis);
    QFETCH(int, scaler);
    QFETCH(int, unit);
    QFETCH(qint64, min);
    QFETCH(qint64, max);
    for (int index : {0, 1, 7, 499}) {
        Meter m(settingsFor(index));
        const auto su = dlms::ScalerUnit::fromValue(getValue(m.model, 3, obis, 3));
        QVERIFY(su.ok());
        QCOMPARE(*su, (dlms::ScalerUnit {qint8(scaler), quint8(unit)}));
        for (int s = 0; s < 120; ++s) {
            *m.host = kHost.addSecs(s);
            const qint64 raw = registerRaw(m.model, obis);
            if (raw < min || raw > max)
                QFAIL(qPrintable(
                    u"meter %1 second %2: %3 outside [%4, %5]"_s.arg(index).arg(s).arg(raw).arg(min).arg(
                        max)));
        }
    }
}

void TestMeterModel::currentsFollowPowerAndVoltage()
{
    Meter m(settingsFor(3));
    const Obis powers[] = {Obis(1, 0, 21, 7, 0, 255), Obis(1, 0, 41, 7, 0, 255), Obis(1, 0, 61, 7, 0, 255)};
    const Obis volts[] = {kVoltageL1, Obis(1, 0, 52, 7, 0, 255), Obis(1, 0, 72, 7, 0, 255)};
    const Obis amps[] = {Obis(1, 0, 31, 7, 0, 255), Obis(1, 0, 51, 7, 0, 255), Obis(1, 0, 71, 7, 0, 255)};
    for (int s = 0; s < 30; ++s) {
        *m.host = kHost.addSecs(s);
        qint64 phaseSum = 0;
        for (int p = 0; p < 3; ++p) {
            const double watts = double(registerRaw(m.model, powers[p]));
            const double voltsV = double(registerRaw(m.model, volts[p])) / 10;
            const double ampsA = double(registerRaw(m.model, amps[p])) / 100;
            QVERIFY2(qAbs(ampsA * voltsV - watts) <= 0.02 * watts + 3,
                qPrintable(u"phase %1: %2 A × %3 V vs %4 W"_s.arg(p + 1).arg(ampsA).arg(voltsV).arg(watts)));
            phaseSum += qint64(watts);
        }
        const qint64 total = registerRaw(m.model, kPowerImport);
        QVERIFY2(qAbs(phaseSum - total) <= total / 8, qPrintable(u"%1 vs %2"_s.arg(phaseSum).arg(total)));
    }
}

void TestMeterModel::noisePerSecondAndPerMeter()
{
    Meter a(settingsFor(0));
    Meter b(settingsFor(1));
    QSet<qint64> voltages;
    int sameAsOtherMeter = 0;
    for (int s = 0; s < 60; ++s) {
        *a.host = kHost.addSecs(s);
        *b.host = kHost.addSecs(s);
        const qint64 va = registerRaw(a.model, kVoltageL1);
        voltages.insert(va);
        sameAsOtherMeter += va == registerRaw(b.model, kVoltageL1) ? 1 : 0;
        // Within one second the value is stable: every connection sees the same number.
        QCOMPARE(registerRaw(a.model, kVoltageL1), va);
    }
    QVERIFY2(voltages.size() >= 10, qPrintable(QString::number(voltages.size())));
    QVERIFY2(sameAsOtherMeter < 20, qPrintable(QString::number(sameAsOtherMeter)));

    // Deterministic: a second model of the same meter at the same time agrees.
    Meter again(settingsFor(0));
    *again.host = kHost.addSecs(59);
    QCOMPARE(registerRaw(again.model, kVoltageL1), registerRaw(a.model, kVoltageL1));
}

void TestMeterModel::metersDiffer()
{
    QSet<QString> serials;
    QSet<qint64> energies;
    QSet<qint64> profileEnergies;
    for (int index = 0; index < 50; ++index) {
        Meter m(settingsFor(index));
        serials.insert(m.model.serialNumber());
        energies.insert(registerRaw(m.model, kEnergyImport));
        const Value last = get(m.model, 7, kProfile, 2, SelectiveAccess::entry(10000, 0)).value;
        profileEnergies.insert(last.items().at(0).items().at(1).toInt64().value_or(-1));
    }
    QCOMPARE(serials.size(), 50);
    QCOMPARE(energies.size(), 50);
    QCOMPARE(profileEnergies.size(), 50);

    // Power levels differ too, on average over a minute.
    qint64 sums[2] = {0, 0};
    for (int index : {0, 1}) {
        Meter m(settingsFor(index));
        for (int s = 0; s < 60; ++s) {
            *m.host = kHost.addSecs(s);
            sums[index] += registerRaw(m.model, kPowerImport);
        }
    }
    QVERIFY2(qAbs(sums[0] - sums[1]) > 60 * 20, qPrintable(u"%1 vs %2"_s.arg(sums[0]).arg(sums[1])));
}

void TestMeterModel::energyGrowsAtAveragePower()
{
    Meter m(settingsFor(2));
    const qint64 start = registerRaw(m.model, kEnergyImport);
    const qint64 exportStart = registerRaw(m.model, kEnergyExport);
    qint64 previous = start;
    qint64 powerSum = 0;
    for (int minute = 1; minute <= 60; ++minute) {
        *m.host = kHost.addSecs(minute * 60);
        const qint64 e = registerRaw(m.model, kEnergyImport);
        QVERIFY(e >= previous);
        previous = e;
        powerSum += registerRaw(m.model, kPowerImport);
    }
    const qint64 perHour = previous - start;
    const qint64 meanPower = powerSum / 60;
    QVERIFY2(perHour > 0 && qAbs(perHour - meanPower) <= meanPower / 10,
        qPrintable(u"%1 Wh in an hour at a mean of %2 W"_s.arg(perHour).arg(meanPower)));
    QVERIFY(registerRaw(m.model, kEnergyExport) > exportStart);
}

void TestMeterModel::energyRegisterEqualsLastRow_data()
{
    QTest::addColumn<int>("index");
    QTest::addColumn<QDateTime>("at");
    QTest::newRow("meter-1-aligned") << 0 << kLastRow;
    QTest::newRow("meter-2-aligned") << 1 << kLastRow;
    QTest::newRow("meter-9-midnight") << 8 << QDateTime(QDate(2027, 1, 1), QTime(0, 0), Qt::UTC);
    QTest::newRow("meter-1-leap-day") << 0 << QDateTime(QDate(2028, 2, 29), QTime(23, 45), Qt::UTC);
}

void TestMeterModel::energyRegisterEqualsLastRow()
{
    QFETCH(int, index);
    QFETCH(QDateTime, at);
    Meter m(settingsFor(index), at);
    const Value last = get(m.model, 7, kProfile, 2, SelectiveAccess::entry(0, 0)).value;
    QCOMPARE(last.items().size(), size_t(10000));
    const Value &row = last.items().back();
    QCOMPARE(rowTime(row), at);
    QCOMPARE(row.items().at(1), getValue(m.model, 3, kEnergyImport, 2));

    // Every row holds what the register showed at that row's time.
    for (size_t k : {size_t(0), size_t(1234), size_t(9998)}) {
        Meter then(settingsFor(index), rowTime(last.items()[k]));
        QCOMPARE(last.items()[k].items().at(1), getValue(then.model, 3, kEnergyImport, 2));
    }
}

void TestMeterModel::profileWhole()
{
    Meter m;
    const dlms::DataResult r = get(m.model, 7, kProfile, 2);
    QCOMPARE(r.result, DataAccessResult::Success);
    const ValueList &rows = r.value.items();
    QCOMPARE(rows.size(), size_t(10000));
    QCOMPARE(rowTime(rows.front()), kOldestRow);
    QCOMPARE(rowTime(rows.back()), kLastRow);
    qint64 previous = -1;
    for (size_t k = 0; k < rows.size(); ++k) {
        const ValueList &row = rows[k].items();
        QCOMPARE(row.size(), size_t(2));
        QCOMPARE(row[0].type(), DataType::OctetString);
        QCOMPARE(row[0].bytes().size(), 12);
        QCOMPARE(row[1].type(), DataType::DoubleLongUnsigned);
        const qint64 e = *row[1].toInt64();
        if (e <= previous)
            QFAIL(qPrintable(u"energy not increasing at row %1"_s.arg(k)));
        previous = e;
    }
    QCOMPARE(rowTime(rows[5000]), kOldestRow.addSecs(5000LL * 900));
    QCOMPARE(m.model.profileEntries(), 10000u);
}

void TestMeterModel::instantaneousProfile()
{
    // One row, one column per register in object-list order, equal to each register read at the
    // same instant; capture_objects name them; selective access and methods are refused.
    Meter m;
    const Obis snapshot = sim::InstantaneousProfileObis;
    std::vector<Obis> registers;
    for (const auto &object : m.model.objects())
        if (object.classId == 3)
            registers.push_back(object.obis);
    QCOMPARE(registers.size(), size_t(15));

    const ValueList columns = getValue(m.model, 7, snapshot, 3).items();
    QCOMPARE(columns.size(), registers.size());
    for (size_t i = 0; i < columns.size(); ++i) {
        const auto column = dlms::CaptureObject::fromValue(columns[i]);
        QVERIFY(column.ok());
        QCOMPARE(column->classId, quint16(3));
        QCOMPARE(column->instance, registers[i]);
        QCOMPARE(column->attributeId, qint8(2));
    }

    const dlms::DataResult r = get(m.model, 7, snapshot, 2);
    QCOMPARE(r.result, DataAccessResult::Success);
    QCOMPARE(r.value.items().size(), size_t(1));
    const ValueList &row = r.value.items().front().items();
    QCOMPARE(row.size(), registers.size());
    for (size_t i = 0; i < row.size(); ++i)
        QCOMPARE(row[i], getValue(m.model, 3, registers[i], 2));

    QCOMPARE(getValue(m.model, 7, snapshot, 7).toInt64(), std::optional<qint64>(1));
    QCOMPARE(get(m.model, 7, snapshot, 2, SelectiveAccess::entry(1, 1)).result,
        DataAccessResult::ScopeOfAccessViolated);
    const dlms::ActionResponse capture
        = m.model.action(dlms::MethodDescriptor {7, snapshot, 2}, Value::integer(0), kLow);
    QCOMPARE(capture.result, DataAccessResult::ReadWriteDenied);
}

void TestMeterModel::profileRowClocksMatchQDateTime()
{
    // The rows' clocks are built by integer arithmetic; CosemDateTime::fromQDateTime is the
    // reference, across month, year and leap-day boundaries and with a time zone.
    MeterSettings s;
    s.profileRows = 3000;
    s.profilePeriodSeconds = 3600;
    s.timeZoneMinutes = -60;
    Meter m(s, QDateTime(QDate(2028, 3, 2), QTime(5, 30), Qt::UTC));
    const Value buffer = get(m.model, 7, kProfile, 2).value;
    QCOMPARE(buffer.items().size(), size_t(3000));
    for (const Value &row : buffer.items()) {
        const QDateTime t = rowTime(row);
        QVERIFY(t.isValid());
        const QByteArray reference = CosemDateTime::fromQDateTime(t.toOffsetFromUtc(3600)).toBytes();
        if (row.items()[0].bytes() != reference)
            QFAIL(qPrintable(u"row at %1: %2 vs %3"_s.arg(t.toString(Qt::ISODate),
                QString::fromLatin1(row.items()[0].bytes().toHex(' ')),
                QString::fromLatin1(reference.toHex(' ')))));
    }
    QCOMPARE(rowTime(buffer.items().back()), QDateTime(QDate(2028, 3, 2), QTime(5, 0), Qt::UTC));
}

void TestMeterModel::profileAttributes()
{
    MeterSettings s;
    s.profileRows = 96;
    s.profilePeriodSeconds = 600;
    Meter m(s);
    QCOMPARE(
        getValue(m.model, 7, kProfile, 3), Value::array({kClockColumn.toValue(), kEnergyColumn.toValue()}));
    QCOMPARE(getValue(m.model, 7, kProfile, 4), Value::doubleLongUnsigned(600));
    QCOMPARE(getValue(m.model, 7, kProfile, 5), Value::enumeration(1));
    QCOMPARE(getValue(m.model, 7, kProfile, 6),
        Value::structure({Value::longUnsigned(0), Value::octetString(QByteArray(6, '\0')), Value::integer(0),
            Value::longUnsigned(0)}));
    QCOMPARE(getValue(m.model, 7, kProfile, 7), Value::doubleLongUnsigned(96));
    QCOMPARE(getValue(m.model, 7, kProfile, 8), Value::doubleLongUnsigned(96));
    QCOMPARE(getValue(m.model, 7, kProfile, 2).items().size(), size_t(96));
    QCOMPARE(rowTime(getValue(m.model, 7, kProfile, 2).items().back()),
        QDateTime(QDate(2026, 11, 23), QTime(12, 0), Qt::UTC));
}

void TestMeterModel::profileRange_data()
{
    QTest::addColumn<Value>("from");
    QTest::addColumn<Value>("to");
    QTest::addColumn<QList<int>>("columns"); // 0 clock, 1 energy; empty = all
    QTest::addColumn<int>("rows");
    QTest::addColumn<QDateTime>("first");
    QTest::addColumn<QList<int>>("types"); // DataType of each returned column

    const QList<int> both {int(DataType::OctetString), int(DataType::DoubleLongUnsigned)};
    const auto at = [](qint64 secondsFromLast) { return clockOctets(kLastRow.addSecs(secondsFromLast)); };
    QTest::newRow("inclusive-edges") << at(-1800) << at(0) << QList<int> {} << 3 << kLastRow.addSecs(-1800)
                                     << both;
    QTest::newRow("single-row") << at(-900) << at(-900) << QList<int> {} << 1 << kLastRow.addSecs(-900)
                                << both;
    QTest::newRow("between-rows-empty") << at(-899) << at(-1) << QList<int> {} << 0 << QDateTime() << both;
    QTest::newRow("to-before-from") << at(0) << at(-1800) << QList<int> {} << 0 << QDateTime() << both;
    QTest::newRow("one-second-inside-edges")
        << at(-1801) << at(1) << QList<int> {} << 3 << kLastRow.addSecs(-1800) << both;
    QTest::newRow("partly-before-oldest")
        << clockOctets(kOldestRow.addDays(-1)) << clockOctets(kOldestRow.addSecs(900)) << QList<int> {} << 2
        << kOldestRow << both;
    QTest::newRow("partly-after-newest")
        << at(-900) << at(86400) << QList<int> {} << 2 << kLastRow.addSecs(-900) << both;
    QTest::newRow("after-newest-empty") << at(1) << at(86400) << QList<int> {} << 0 << QDateTime() << both;
    QTest::newRow("before-oldest-empty")
        << clockOctets(kOldestRow.addDays(-2)) << clockOctets(kOldestRow.addSecs(-1)) << QList<int> {} << 0
        << QDateTime() << both;
    QTest::newRow("everything") << clockOctets(kOldestRow.addYears(-1)) << at(86400) << QList<int> {} << 10000
                                << kOldestRow << both;
    QTest::newRow("energy-column-only") << at(-900) << at(0) << QList<int> {1} << 2 << QDateTime()
                                        << QList<int> {int(DataType::DoubleLongUnsigned)};
    QTest::newRow("clock-column-only") << at(-900) << at(0) << QList<int> {0} << 2 << kLastRow.addSecs(-900)
                                       << QList<int> {int(DataType::OctetString)};
    QTest::newRow("columns-both-listed")
        << at(-900) << at(0) << QList<int> {0, 1} << 2 << kLastRow.addSecs(-900) << both;
    QTest::newRow("columns-reversed")
        << at(-900) << at(0) << QList<int> {1, 0} << 2 << QDateTime()
        << QList<int> {int(DataType::DoubleLongUnsigned), int(DataType::OctetString)};
    QTest::newRow("date-time-tag") << Value::dateTime(CosemDateTime::fromQDateTime(kLastRow.addSecs(-900)))
                                   << Value::dateTime(CosemDateTime::fromQDateTime(kLastRow)) << QList<int> {}
                                   << 2 << kLastRow.addSecs(-900) << both;
    QTest::newRow("cet-deviation") << clockOctets(kLastRow.addSecs(-900).toOffsetFromUtc(3600))
                                   << clockOctets(kLastRow.addSecs(-900).toOffsetFromUtc(3600))
                                   << QList<int> {} << 1 << kLastRow.addSecs(-900) << both;
    CosemDateTime noDeviation = CosemDateTime::fromQDateTime(kLastRow);
    noDeviation.deviation = CosemDateTime::DeviationNotSpecified;
    QTest::newRow("no-deviation-is-meter-time")
        << Value::octetString(noDeviation.toBytes()) << Value::octetString(noDeviation.toBytes())
        << QList<int> {} << 1 << kLastRow << both;
}

void TestMeterModel::profileRange()
{
    QFETCH(Value, from);
    QFETCH(Value, to);
    QFETCH(QList<int>, columns);
    QFETCH(int, rows);
    QFETCH(QDateTime, first);
    QFETCH(QList<int>, types);
    Meter m;
    std::vector<CaptureObject> selected;
    for (int c : columns)
        selected.push_back(c == 0 ? kClockColumn : kEnergyColumn);
    const dlms::DataResult r = get(m.model, 7, kProfile, 2, rangeAccess(from, to, selected));
    QCOMPARE(r.result, DataAccessResult::Success);
    QCOMPARE(r.value.type(), DataType::Array);
    QCOMPARE(r.value.items().size(), size_t(rows));
    for (const Value &row : r.value.items()) {
        QCOMPARE(row.items().size(), size_t(types.size()));
        for (qsizetype c = 0; c < types.size(); ++c)
            QCOMPARE(int(row.items()[size_t(c)].type()), types[c]);
    }
    if (rows > 0 && first.isValid())
        QCOMPARE(rowTime(r.value.items().front()), first);
    if (rows > 0 && columns == QList<int> {1}) {
        const Value whole = get(m.model, 7, kProfile, 2).value;
        QCOMPARE(r.value.items().back().items().at(0), whole.items().back().items().at(1));
    }
}

void TestMeterModel::profileEntry_data()
{
    QTest::addColumn<uint>("fromEntry");
    QTest::addColumn<uint>("toEntry");
    QTest::addColumn<int>("fromColumn");
    QTest::addColumn<int>("toColumn");
    QTest::addColumn<int>("rows");
    QTest::addColumn<int>("firstEntry"); // 1-based entry of the first returned row
    QTest::addColumn<QList<int>>("types");

    const QList<int> both {int(DataType::OctetString), int(DataType::DoubleLongUnsigned)};
    QTest::newRow("first-10") << 1u << 10u << 1 << 0 << 10 << 1 << both;
    QTest::newRow("last-via-0") << 10000u << 0u << 1 << 0 << 1 << 10000 << both;
    QTest::newRow("all-via-0") << 1u << 0u << 0 << 0 << 10000 << 1 << both;
    QTest::newRow("from-0-counts-as-1") << 0u << 3u << 1 << 2 << 3 << 1 << both;
    QTest::newRow("from-beyond-end") << 10001u << 0u << 1 << 0 << 0 << 0 << both;
    QTest::newRow("to-beyond-end-clipped") << 9995u << 20000u << 1 << 0 << 6 << 9995 << both;
    QTest::newRow("to-before-from") << 10u << 5u << 1 << 0 << 0 << 0 << both;
    QTest::newRow("middle") << 5000u << 5002u << 1 << 2 << 3 << 5000 << both;
    QTest::newRow("column-2-only") << 1u << 5u << 2 << 2 << 5 << 1
                                   << QList<int> {int(DataType::DoubleLongUnsigned)};
    QTest::newRow("column-2-to-last")
        << 1u << 1u << 2 << 0 << 1 << 1 << QList<int> {int(DataType::DoubleLongUnsigned)};
    QTest::newRow("column-1-only") << 1u << 5u << 1 << 1 << 5 << 1 << QList<int> {int(DataType::OctetString)};
    QTest::newRow("to-column-beyond-clipped") << 1u << 2u << 1 << 9 << 2 << 1 << both;
}

void TestMeterModel::profileEntry()
{
    QFETCH(uint, fromEntry);
    QFETCH(uint, toEntry);
    QFETCH(int, fromColumn);
    QFETCH(int, toColumn);
    QFETCH(int, rows);
    QFETCH(int, firstEntry);
    QFETCH(QList<int>, types);
    Meter m;
    const dlms::DataResult r = get(m.model, 7, kProfile, 2,
        SelectiveAccess::entry(fromEntry, toEntry, quint16(fromColumn), quint16(toColumn)));
    QCOMPARE(r.result, DataAccessResult::Success);
    QCOMPARE(r.value.type(), DataType::Array);
    QCOMPARE(r.value.items().size(), size_t(rows));
    if (rows == 0)
        return;
    const Value whole = get(m.model, 7, kProfile, 2).value;
    for (int k = 0; k < rows; ++k) {
        const ValueList &row = r.value.items()[size_t(k)].items();
        const ValueList &reference = whole.items()[size_t(firstEntry - 1 + k)].items();
        QCOMPARE(row.size(), size_t(types.size()));
        for (qsizetype c = 0; c < types.size(); ++c) {
            QCOMPARE(int(row[size_t(c)].type()), types[c]);
            const size_t column = types[c] == int(DataType::OctetString) ? 0 : 1;
            QCOMPARE(row[size_t(c)], reference[column]);
        }
    }
    if (types.first() == int(DataType::OctetString))
        QCOMPARE(rowTime(r.value.items().front()), kOldestRow.addSecs(qint64(firstEntry - 1) * 900));
}

void TestMeterModel::selectionsMatchScan()
{
    // A small profile with automatic rows and manual captures mixed (some at the same instant,
    // one exactly on a period boundary): range and entry selections, computed arithmetically,
    // must equal filtering the whole buffer.
    MeterSettings s;
    s.profileRows = 12;
    s.profilePeriodSeconds = 60;
    const QDateTime start(QDate(2026, 11, 23), QTime(12, 0, 0), Qt::UTC);
    Meter m(s, start);
    const qint64 steps[] = {7, 0, 30, 23, 60, 0, 125, 1};
    for (qint64 step : steps) {
        *m.host = m.host->addSecs(step);
        QCOMPARE(runMethod(m.model, 2).result, DataAccessResult::Success);
    }
    *m.host = m.host->addSecs(61);

    const ValueList whole = get(m.model, 7, kProfile, 2).value.items();
    QCOMPARE(whole.size(), size_t(12));
    QCOMPARE(quint32(getValue(m.model, 7, kProfile, 7).toUInt64().value_or(0)), 12u);
    // The newest 12 of automatic rows (12:00, 12:01, … 12:05) and the eight captures; at equal
    // times the automatic row comes first.
    const qint64 expectedOffsets[] = {7, 37, 60, 60, 120, 120, 120, 180, 240, 245, 246, 300};
    for (size_t k = 0; k < whole.size(); ++k)
        QCOMPARE(rowTime(whole[k]), start.addSecs(expectedOffsets[k]));

    const QDateTime lo = rowTime(whole.front()).addSecs(-70);
    const QDateTime hi = rowTime(whole.back()).addSecs(70);
    int nonEmpty = 0;
    for (QDateTime from = lo; from <= hi; from = from.addSecs(11)) {
        for (QDateTime to = from.addSecs(-20); to <= hi; to = to.addSecs(13)) {
            ValueList expected;
            for (const Value &row : whole) {
                if (rowTime(row) >= from && rowTime(row) <= to)
                    expected.push_back(row);
            }
            const dlms::DataResult r
                = get(m.model, 7, kProfile, 2, rangeAccess(clockOctets(from), clockOctets(to)));
            QCOMPARE(r.result, DataAccessResult::Success);
            if (r.value.items() != expected)
                QFAIL(qPrintable(u"range %1 .. %2: %3 rows, expected %4"_s.arg(from.toString(Qt::ISODate),
                    to.toString(Qt::ISODate), QString::number(r.value.items().size()),
                    QString::number(expected.size()))));
            nonEmpty += expected.empty() ? 0 : 1;
        }
    }
    QVERIFY(nonEmpty > 50);

    for (quint32 from = 0; from <= 14; ++from) {
        for (quint32 to = 0; to <= 14; ++to) {
            const quint32 first = std::max(from, 1u);
            const quint32 last = to == 0 ? 12 : std::min(to, 12u);
            ValueList expected;
            for (quint32 e = first; e <= last; ++e)
                expected.push_back(whole[e - 1]);
            const dlms::DataResult r = get(m.model, 7, kProfile, 2, SelectiveAccess::entry(from, to));
            QCOMPARE(r.value.items(), expected);
        }
    }
}

void TestMeterModel::captureAppendsAndDropsOldest()
{
    Meter m;
    const dlms::ActionResponse response = runMethod(m.model, 2);
    QCOMPARE(response.result, DataAccessResult::Success);
    QVERIFY(!response.returnParameters);
    QCOMPARE(m.model.profileEntries(), 10000u);
    QCOMPARE(getValue(m.model, 7, kProfile, 7), Value::doubleLongUnsigned(10000));

    const ValueList rows = get(m.model, 7, kProfile, 2).value.items();
    QCOMPARE(rows.size(), size_t(10000));
    QCOMPARE(rowTime(rows.back()), kHost);
    QCOMPARE(rows.back().items().at(1), getValue(m.model, 3, kEnergyImport, 2));
    QCOMPARE(rowTime(rows[rows.size() - 2]), kLastRow);
    QCOMPARE(rowTime(rows.front()), kOldestRow.addSecs(900));

    // Time goes on: the next automatic row comes after the captured one, still 10000 in all.
    *m.host = kHost.addSecs(450);
    const ValueList later = get(m.model, 7, kProfile, 2).value.items();
    QCOMPARE(later.size(), size_t(10000));
    QCOMPARE(rowTime(later.back()), kLastRow.addSecs(900));
    QCOMPARE(rowTime(later[later.size() - 2]), kHost);
    QCOMPARE(rowTime(later.front()), kOldestRow.addSecs(1800));
    // The range selector sees the captured row between the automatic ones.
    const Value range
        = get(m.model, 7, kProfile, 2, rangeAccess(clockOctets(kLastRow), clockOctets(kHost.addSecs(450))))
              .value;
    QCOMPARE(range.items().size(), size_t(3));
    QCOMPARE(rowTime(range.items()[1]), kHost);
}

void TestMeterModel::captureOverflowKeepsNewest()
{
    MeterSettings s;
    s.profileRows = 3;
    s.profilePeriodSeconds = 3600;
    Meter m(s, kLastRow.addSecs(60));
    for (int i = 0; i < 5; ++i) {
        *m.host = m.host->addSecs(1);
        QCOMPARE(runMethod(m.model, 2).result, DataAccessResult::Success);
        QVERIFY(m.model.profileEntries() <= 3u);
    }
    const ValueList rows = get(m.model, 7, kProfile, 2).value.items();
    QCOMPARE(rows.size(), size_t(3));
    QCOMPARE(rowTime(rows[0]), kLastRow.addSecs(63));
    QCOMPARE(rowTime(rows[2]), kLastRow.addSecs(65));
}

void TestMeterModel::captureAfterClockSetBack()
{
    MeterSettings s;
    s.profileRows = 4;
    s.profilePeriodSeconds = 900;
    Meter m(s);
    QCOMPARE(runMethod(m.model, 2).result, DataAccessResult::Success);
    const QDateTime earlier = kHost.addSecs(-3000);
    QCOMPARE(m.model.set(AttributeDescriptor {8, kClock, 2}, clockOctets(earlier), kLow),
        DataAccessResult::Success);
    QCOMPARE(runMethod(m.model, 2).result, DataAccessResult::Success);

    // Rows stay in time order: the second capture sorts before the first, which the meter keeps
    // although its clock is now behind it.
    const ValueList rows = get(m.model, 7, kProfile, 2).value.items();
    QCOMPARE(rows.size(), size_t(4));
    QCOMPARE(rowTime(rows[0]), kLastRow.addSecs(-3600));
    QCOMPARE(rowTime(rows[1]), kLastRow.addSecs(-2700));
    QCOMPARE(rowTime(rows[2]), earlier);
    QCOMPARE(rowTime(rows[3]), kHost);
    const Value range
        = get(m.model, 7, kProfile, 2, rangeAccess(clockOctets(earlier), clockOctets(earlier))).value;
    QCOMPARE(range.items().size(), size_t(1));
    QCOMPARE(rowTime(range.items()[0]), earlier);
}

void TestMeterModel::resetEmptiesBuffer()
{
    Meter m;
    QCOMPARE(runMethod(m.model, 1).result, DataAccessResult::Success);
    QCOMPARE(m.model.profileEntries(), 0u);
    QCOMPARE(getValue(m.model, 7, kProfile, 7), Value::doubleLongUnsigned(0));
    QCOMPARE(getValue(m.model, 7, kProfile, 2), Value::array({}));
    QCOMPARE(get(m.model, 7, kProfile, 2, SelectiveAccess::entry(1, 0)).value, Value::array({}));
    QCOMPARE(get(m.model, 7, kProfile, 2, rangeAccess(clockOctets(kOldestRow), clockOctets(kHost))).value,
        Value::array({}));
    QCOMPARE(getValue(m.model, 7, kProfile, 8), Value::doubleLongUnsigned(10000));

    *m.host = kHost.addSecs(5);
    QCOMPARE(runMethod(m.model, 2).result, DataAccessResult::Success);
    ValueList rows = get(m.model, 7, kProfile, 2).value.items();
    QCOMPARE(rows.size(), size_t(1));
    QCOMPARE(rowTime(rows[0]), kHost.addSecs(5));

    // Automatic captures resume at the next period boundaries.
    *m.host = kLastRow.addSecs(1800);
    rows = get(m.model, 7, kProfile, 2).value.items();
    QCOMPARE(rows.size(), size_t(3));
    QCOMPARE(rowTime(rows[1]), kLastRow.addSecs(900));
    QCOMPARE(rowTime(rows[2]), kLastRow.addSecs(1800));
}

void TestMeterModel::rights_data()
{
    QTest::addColumn<AccessLevel>("level");
    QTest::addColumn<QString>("service");
    QTest::addColumn<int>("classId");
    QTest::addColumn<Obis>("obis");
    QTest::addColumn<int>("id");
    QTest::addColumn<Value>("value"); // null-data with `hasValue` false = no parameters
    QTest::addColumn<bool>("hasValue");
    QTest::addColumn<DataAccessResult>("expected");

    const Value newTime = clockOctets(kHost.addDays(1));
    const auto P = AccessLevel::Public;
    const auto L = AccessLevel::Low;
    const auto ok = DataAccessResult::Success;
    const auto denied = DataAccessResult::ReadWriteDenied;
    const auto unmatched = DataAccessResult::TypeUnmatched;
    QTest::newRow("public-set-clock") << P << u"set"_s << 8 << kClock << 2 << newTime << true << denied;
    QTest::newRow("low-set-clock") << L << u"set"_s << 8 << kClock << 2 << newTime << true << ok;
    QTest::newRow("public-set-time-zone")
        << P << u"set"_s << 8 << kClock << 3 << Value::long16(-60) << true << denied;
    QTest::newRow("low-set-time-zone")
        << L << u"set"_s << 8 << kClock << 3 << Value::long16(-60) << true << ok;
    QTest::newRow("low-set-clock-status")
        << L << u"set"_s << 8 << kClock << 4 << Value::unsigned8(0) << true << denied;
    QTest::newRow("low-set-clock-wrong-type")
        << L << u"set"_s << 8 << kClock << 2 << Value::visibleString("tomorrow") << true << unmatched;
    QTest::newRow("low-set-clock-11-bytes")
        << L << u"set"_s << 8 << kClock << 2 << Value::octetString(QByteArray(11, '\0')) << true << unmatched;
    QTest::newRow("low-set-clock-unspecified")
        << L << u"set"_s << 8 << kClock << 2 << Value::octetString(CosemDateTime().toBytes()) << true
        << unmatched;
    QTest::newRow("low-set-time-zone-out-of-range")
        << L << u"set"_s << 8 << kClock << 3 << Value::long16(2000) << true << unmatched;
    QTest::newRow("low-set-time-zone-string")
        << L << u"set"_s << 8 << kClock << 3 << Value::visibleString("CET") << true << unmatched;
    QTest::newRow("low-set-register")
        << L << u"set"_s << 3 << kEnergyImport << 2 << Value::doubleLongUnsigned(0) << true << denied;
    QTest::newRow("low-set-scaler-unit")
        << L << u"set"_s << 3 << kVoltageL1 << 3 << dlms::ScalerUnit {0, 35}.toValue() << true << denied;
    QTest::newRow("low-set-serial") << L << u"set"_s << 1 << kSerial << 2 << Value::visibleString("X") << true
                                    << denied;
    QTest::newRow("low-set-capture-period")
        << L << u"set"_s << 7 << kProfile << 4 << Value::doubleLongUnsigned(60) << true << denied;
    QTest::newRow("public-get-secret")
        << P << u"get"_s << 15 << kAssociation << 7 << Value() << false << denied;
    QTest::newRow("low-get-secret") << L << u"get"_s << 15 << kAssociation << 7 << Value() << false << denied;
    QTest::newRow("low-set-secret") << L << u"set"_s << 15 << kAssociation << 7 << Value::octetString("x")
                                    << true << denied;
    QTest::newRow("public-get-clock") << P << u"get"_s << 8 << kClock << 2 << Value() << false << ok;
    QTest::newRow("public-capture") << P << u"action"_s << 7 << kProfile << 2 << Value::integer(0) << true
                                    << denied;
    QTest::newRow("low-capture") << L << u"action"_s << 7 << kProfile << 2 << Value::integer(0) << true << ok;
    QTest::newRow("public-reset") << P << u"action"_s << 7 << kProfile << 1 << Value::integer(0) << true
                                  << denied;
    QTest::newRow("low-reset") << L << u"action"_s << 7 << kProfile << 1 << Value::integer(0) << true << ok;
    QTest::newRow("low-capture-null-data") << L << u"action"_s << 7 << kProfile << 2 << Value() << true << ok;
    QTest::newRow("low-capture-no-parameters")
        << L << u"action"_s << 7 << kProfile << 2 << Value() << false << ok;
    QTest::newRow("low-capture-string-parameter")
        << L << u"action"_s << 7 << kProfile << 2 << Value::visibleString("now") << true << unmatched;
    QTest::newRow("low-clock-method-1")
        << L << u"action"_s << 8 << kClock << 1 << Value::integer(0) << true << denied;
    QTest::newRow("low-register-reset")
        << L << u"action"_s << 3 << kEnergyImport << 1 << Value::integer(0) << true << denied;
    QTest::newRow("low-hls-reply") << L << u"action"_s << 15 << kAssociation << 1 << Value::octetString("x")
                                   << true << denied;
    QTest::newRow("low-change-hls-secret")
        << L << u"action"_s << 15 << kAssociation << 2 << Value::octetString("x") << true << denied;
    QTest::newRow("low-add-object") << L << u"action"_s << 15 << kAssociation << 3 << Value::integer(0)
                                    << true << denied;
    QTest::newRow("low-remove-object")
        << L << u"action"_s << 15 << kAssociation << 4 << Value::integer(0) << true << denied;
    QTest::newRow("public-get-security-setup-reference")
        << P << u"get"_s << 15 << kAssociation << 9 << Value() << false << ok;
    QTest::newRow("low-set-security-setup-reference")
        << L << u"set"_s << 15 << kAssociation << 9 << Value::octetString("x") << true << denied;
    // HLS-GMAC after pass 4 may do everything LLS may, and no more.
    const auto H = AccessLevel::High;
    QTest::newRow("high-set-clock") << H << u"set"_s << 8 << kClock << 2 << newTime << true << ok;
    QTest::newRow("high-set-time-zone")
        << H << u"set"_s << 8 << kClock << 3 << Value::long16(-60) << true << ok;
    QTest::newRow("high-capture") << H << u"action"_s << 7 << kProfile << 2 << Value::integer(0) << true
                                  << ok;
    QTest::newRow("high-reset") << H << u"action"_s << 7 << kProfile << 1 << Value::integer(0) << true << ok;
    QTest::newRow("high-get-secret") << H << u"get"_s << 15 << kAssociation << 7 << Value() << false
                                     << denied;
    QTest::newRow("high-set-register")
        << H << u"set"_s << 3 << kEnergyImport << 2 << Value::doubleLongUnsigned(0) << true << denied;
    // reply_to_HLS_authentication belongs to the session's pass 3; the model never runs it.
    QTest::newRow("high-hls-reply") << H << u"action"_s << 15 << kAssociation << 1 << Value::octetString("x")
                                    << true << denied;
}

void TestMeterModel::rights()
{
    QFETCH(AccessLevel, level);
    QFETCH(QString, service);
    QFETCH(int, classId);
    QFETCH(Obis, obis);
    QFETCH(int, id);
    QFETCH(Value, value);
    QFETCH(bool, hasValue);
    QFETCH(DataAccessResult, expected);
    Meter m;
    const Association association = associationFor(level);
    const QDateTime before = m.model.now();
    const quint32 entriesBefore = m.model.profileEntries();
    DataAccessResult result = DataAccessResult::OtherReason;
    if (service == u"get") {
        result = get(m.model, quint16(classId), obis, id, std::nullopt, association).result;
    } else if (service == u"set") {
        result = m.model.set(AttributeDescriptor {quint16(classId), obis, qint8(id)}, value, association);
    } else {
        result = m.model
                     .action(MethodDescriptor {quint16(classId), obis, qint8(id)},
                         hasValue ? std::optional<Value>(value) : std::nullopt, association)
                     .result;
    }
    QCOMPARE(result, expected);
    // Refusals change nothing; successes change what they should.
    if (service == u"set" && obis == kClock && id == 2)
        QCOMPARE(m.model.now(), expected == DataAccessResult::Success ? kHost.addDays(1) : before);
    if (service == u"set" && obis == kClock && id == 3)
        QCOMPARE(int(m.model.settings().timeZoneMinutes), expected == DataAccessResult::Success ? -60 : 0);
    if (service == u"action" && obis == kProfile) {
        const quint32 after = m.model.profileEntries();
        if (expected == DataAccessResult::Success && id == 1)
            QCOMPARE(after, 0u);
        else
            QCOMPARE(after, entriesBefore);
    }
}

void TestMeterModel::addressingErrors_data()
{
    QTest::addColumn<QString>("service");
    QTest::addColumn<int>("classId");
    QTest::addColumn<Obis>("obis");
    QTest::addColumn<int>("id");
    QTest::addColumn<DataAccessResult>("expected");
    const auto undefined = DataAccessResult::ObjectUndefined;
    const auto inconsistent = DataAccessResult::ObjectClassInconsistent;
    const Obis unknown(1, 0, 99, 98, 0, 255);
    for (const QString &service : {u"get"_s, u"set"_s, u"action"_s}) {
        const auto row = [&](const char *name) -> QTestData & {
            return QTest::newRow(qPrintable(service + u'-' + QLatin1StringView(name))) << service;
        };
        row("unknown-obis") << 3 << unknown << 2 << undefined;
        row("unknown-obis-right-class-elsewhere") << 8 << Obis(0, 0, 1, 0, 0, 0) << 2 << undefined;
        row("register-asked-as-data") << 1 << kEnergyImport << 2 << inconsistent;
        row("clock-asked-as-register") << 3 << kClock << 2 << inconsistent;
        row("profile-asked-as-class-0") << 0 << kProfile << 2 << inconsistent;
        row("id-0") << 8 << kClock << 0 << undefined;
        row("id-negative") << 8 << kClock << -1 << undefined;
        row("id-beyond-class") << 8 << kClock << (service == u"action" ? 7 : 10) << undefined;
        row("data-id-3") << 1 << kSerial << (service == u"action" ? 1 : 3) << undefined;
        row("profile-id-beyond") << 7 << kProfile << (service == u"action" ? 3 : 9) << undefined;
    }
}

void TestMeterModel::addressingErrors()
{
    QFETCH(QString, service);
    QFETCH(int, classId);
    QFETCH(Obis, obis);
    QFETCH(int, id);
    QFETCH(DataAccessResult, expected);
    Meter m;
    DataAccessResult result = DataAccessResult::Success;
    if (service == u"get") {
        const dlms::DataResult r = get(m.model, quint16(classId), obis, id, std::nullopt, kLow);
        QVERIFY(r.value.isNull());
        result = r.result;
    } else if (service == u"set") {
        result
            = m.model.set(AttributeDescriptor {quint16(classId), obis, qint8(id)}, Value::integer(0), kLow);
    } else {
        result = m.model.action(MethodDescriptor {quint16(classId), obis, qint8(id)}, Value::integer(0), kLow)
                     .result;
    }
    QCOMPARE(result, expected);
}

void TestMeterModel::badSelectiveAccess_data()
{
    QTest::addColumn<int>("classId");
    QTest::addColumn<Obis>("obis");
    QTest::addColumn<int>("attribute");
    QTest::addColumn<int>("selector");
    QTest::addColumn<Value>("parameters");
    QTest::addColumn<DataAccessResult>("expected");

    const auto scope = DataAccessResult::ScopeOfAccessViolated;
    const auto unmatched = DataAccessResult::TypeUnmatched;
    const auto other = DataAccessResult::OtherReason;
    const Value from = clockOctets(kLastRow.addSecs(-900));
    const Value to = clockOctets(kLastRow);
    const Value goodEntry = SelectiveAccess::entry(1, 2).parameters;
    const auto range = [&](const Value &restricting, const Value &f, const Value &t, const Value &selected) {
        return Value::structure({restricting, f, t, selected});
    };
    const Value noColumns = Value::array({});
    const CaptureObject voltage {3, kVoltageL1, 2, 0};

    QTest::newRow("selector-on-register") << 3 << kEnergyImport << 2 << 2 << goodEntry << scope;
    QTest::newRow("selector-on-capture-objects") << 7 << kProfile << 3 << 2 << goodEntry << scope;
    QTest::newRow("selector-on-object-list") << 15 << kAssociation << 2 << 1 << goodEntry << scope;
    QTest::newRow("selector-3-on-buffer") << 7 << kProfile << 2 << 3 << goodEntry << scope;
    QTest::newRow("selector-0-on-buffer") << 7 << kProfile << 2 << 0 << goodEntry << scope;
    QTest::newRow("range-parameters-integer") << 7 << kProfile << 2 << 1 << Value::integer(1) << unmatched;
    QTest::newRow("range-three-fields")
        << 7 << kProfile << 2 << 1 << Value::structure({kClockColumn.toValue(), from, to}) << unmatched;
    QTest::newRow("range-restricting-not-capture-object")
        << 7 << kProfile << 2 << 1 << range(Value::integer(8), from, to, noColumns) << unmatched;
    QTest::newRow("range-from-visible-string")
        << 7 << kProfile << 2 << 1
        << range(kClockColumn.toValue(), Value::visibleString("yesterday"), to, noColumns) << unmatched;
    QTest::newRow("range-to-unspecified")
        << 7 << kProfile << 2 << 1
        << range(kClockColumn.toValue(), from, Value::octetString(CosemDateTime().toBytes()), noColumns)
        << unmatched;
    QTest::newRow("range-selected-not-array")
        << 7 << kProfile << 2 << 1 << range(kClockColumn.toValue(), from, to, kEnergyColumn.toValue())
        << unmatched;
    QTest::newRow("range-selected-not-capture-object")
        << 7 << kProfile << 2 << 1
        << range(kClockColumn.toValue(), from, to, Value::array({Value::integer(2)})) << unmatched;
    QTest::newRow("range-restricting-energy-column")
        << 7 << kProfile << 2 << 1
        << range(kEnergyColumn.toValue(), Value::doubleLongUnsigned(0),
               Value::doubleLongUnsigned(1'000'000'000), noColumns)
        << unmatched;
    QTest::newRow("range-restricting-energy-column-with-dates")
        << 7 << kProfile << 2 << 1 << range(kEnergyColumn.toValue(), from, to, noColumns) << other;
    QTest::newRow("range-restricting-clock-attribute-3")
        << 7 << kProfile << 2 << 1 << range(CaptureObject {8, kClock, 3, 0}.toValue(), from, to, noColumns)
        << other;
    QTest::newRow("range-unknown-column")
        << 7 << kProfile << 2 << 1
        << range(kClockColumn.toValue(), from, to, Value::array({voltage.toValue()})) << other;
    QTest::newRow("range-too-many-columns")
        << 7 << kProfile << 2 << 1
        << range(kClockColumn.toValue(), from, to,
               Value::array({kClockColumn.toValue(), kEnergyColumn.toValue(), kClockColumn.toValue()}))
        << other;
    QTest::newRow("entry-string-field")
        << 7 << kProfile << 2 << 2
        << Value::structure({Value::visibleString("1"), Value::doubleLongUnsigned(0), Value::longUnsigned(1),
               Value::longUnsigned(0)})
        << unmatched;
    QTest::newRow("entry-two-fields")
        << 7 << kProfile << 2 << 2
        << Value::structure({Value::doubleLongUnsigned(1), Value::doubleLongUnsigned(0)}) << unmatched;
    QTest::newRow("entry-array-instead-of-structure")
        << 7 << kProfile << 2 << 2
        << Value::array({Value::doubleLongUnsigned(1), Value::doubleLongUnsigned(0), Value::longUnsigned(1),
               Value::longUnsigned(0)})
        << unmatched;
    QTest::newRow("entry-negative-field")
        << 7 << kProfile << 2 << 2
        << Value::structure({Value::doubleLong(-1), Value::doubleLongUnsigned(0), Value::longUnsigned(1),
               Value::longUnsigned(0)})
        << unmatched;
    QTest::newRow("entry-from-column-3")
        << 7 << kProfile << 2 << 2 << SelectiveAccess::entry(1, 0, 3, 0).parameters << other;
    QTest::newRow("entry-columns-reversed")
        << 7 << kProfile << 2 << 2 << SelectiveAccess::entry(1, 0, 2, 1).parameters << other;
}

void TestMeterModel::badSelectiveAccess()
{
    QFETCH(int, classId);
    QFETCH(Obis, obis);
    QFETCH(int, attribute);
    QFETCH(int, selector);
    QFETCH(Value, parameters);
    QFETCH(DataAccessResult, expected);
    Meter m;
    SelectiveAccess access;
    access.selector = quint8(selector);
    access.parameters = parameters;
    const dlms::DataResult r = get(m.model, quint16(classId), obis, attribute, access);
    QCOMPARE(r.result, expected);
    QVERIFY(r.value.isNull());
}

void TestMeterModel::setClockMovesNow_data()
{
    QTest::addColumn<int>("timeZone");
    QTest::addColumn<Value>("value");
    QTest::addColumn<QDateTime>("expected"); // UTC

    const QDateTime newYear(QDate(2027, 1, 1), QTime(0, 0), Qt::UTC);
    QTest::newRow("octets-utc") << 0 << clockOctets(newYear) << newYear;
    QTest::newRow("octets-with-cet-deviation") << 0 << clockOctets(newYear.toOffsetFromUtc(3600)) << newYear;
    QTest::newRow("date-time-tag") << 0 << Value::dateTime(CosemDateTime::fromQDateTime(newYear)) << newYear;
    QTest::newRow("backwards") << 0 << clockOctets(kHost.addYears(-3)) << kHost.addYears(-3);
    CosemDateTime local = CosemDateTime::fromQDateTime(newYear.toOffsetFromUtc(3600));
    local.deviation = CosemDateTime::DeviationNotSpecified;
    QTest::newRow("no-deviation-is-meter-local") << -60 << Value::octetString(local.toBytes()) << newYear;
    CosemDateTime withHundredths = CosemDateTime::fromQDateTime(newYear);
    withHundredths.time.hundredths = 50;
    QTest::newRow("hundredths") << 0 << Value::octetString(withHundredths.toBytes()) << newYear.addMSecs(500);
}

void TestMeterModel::setClockMovesNow()
{
    QFETCH(int, timeZone);
    QFETCH(Value, value);
    QFETCH(QDateTime, expected);
    MeterSettings s;
    s.timeZoneMinutes = qint16(timeZone);
    Meter m(s);
    QCOMPARE(m.model.set(AttributeDescriptor {8, kClock, 2}, value, kLow), DataAccessResult::Success);
    QCOMPARE(m.model.now(), expected);
    const auto shown = getValue(m.model, 8, kClock, 2).asDateTime();
    QVERIFY(shown);
    QCOMPARE(shown->toQDateTime(), expected);

    // The meter's clock keeps running from where it was set, and the profile follows it.
    *m.host = kHost.addSecs(3600);
    QCOMPARE(m.model.now(), expected.addSecs(3600));
    const qint64 nowSecs = expected.addSecs(3600).toSecsSinceEpoch();
    const QDateTime lastRow = QDateTime::fromSecsSinceEpoch(nowSecs - nowSecs % 900, Qt::UTC);
    const Value last = get(m.model, 7, kProfile, 2, SelectiveAccess::entry(10000, 0)).value;
    QCOMPARE(rowTime(last.items().at(0)), lastRow);
}

void TestMeterModel::clockOffsetSetting()
{
    MeterSettings s;
    s.clockOffsetSeconds = -90;
    Meter m(s);
    QCOMPARE(m.model.now(), kHost.addSecs(-90));
    QCOMPARE(getValue(m.model, 8, kClock, 2).asDateTime()->toQDateTime(), kHost.addSecs(-90));

    // The default clock source is the host's real clock.
    MeterModel real(MeterSettings {});
    const QDateTime before = QDateTime::currentDateTimeUtc();
    const QDateTime now = real.now();
    QVERIFY(now >= before.addSecs(-60) && now <= QDateTime::currentDateTimeUtc().addSecs(60));
    QCOMPARE(now.timeSpec(), Qt::UTC);
}

void TestMeterModel::timeZone()
{
    MeterSettings s;
    s.timeZoneMinutes = -60; // CET, Blue Book sign
    Meter m(s);
    const Value clock = getValue(m.model, 8, kClock, 2);
    QCOMPARE(clock.bytes().size(), 12);
    const CosemDateTime dt = *clock.asDateTime();
    QCOMPARE(dt.date, (dlms::CosemDate {2026, 11, 23, 1}));
    QCOMPARE(dt.time, (dlms::CosemTime {13, 7, 30, 0}));
    QCOMPARE(dt.deviation, qint16(-60));
    QCOMPARE(dt.clockStatus, quint8(0));
    QCOMPARE(getValue(m.model, 8, kClock, 3), Value::long16(-60));
    QCOMPARE(getValue(m.model, 8, kClock, 4), Value::unsigned8(0));
    QCOMPARE(getValue(m.model, 8, kClock, 5), Value::octetString(CosemDateTime().toBytes()));
    QCOMPARE(getValue(m.model, 8, kClock, 6), Value::octetString(CosemDateTime().toBytes()));
    QCOMPARE(getValue(m.model, 8, kClock, 7), Value::integer(0));
    QCOMPARE(getValue(m.model, 8, kClock, 8), Value::boolean(false));
    QCOMPARE(getValue(m.model, 8, kClock, 9), Value::enumeration(1));

    // Profile rows carry the same local time and deviation.
    const Value last = get(m.model, 7, kProfile, 2, SelectiveAccess::entry(10000, 0)).value;
    const CosemDateTime row = *last.items().at(0).items().at(0).asDateTime();
    QCOMPARE(row.time, (dlms::CosemTime {13, 0, 0, 0}));
    QCOMPARE(row.deviation, qint16(-60));
    QCOMPARE(rowTime(last.items().at(0)), kLastRow);

    // SET of the time zone changes the local time shown, not the instant.
    QCOMPARE(
        m.model.set(AttributeDescriptor {8, kClock, 3}, Value::long16(120), kLow), DataAccessResult::Success);
    const CosemDateTime west = *getValue(m.model, 8, kClock, 2).asDateTime();
    QCOMPARE(west.time, (dlms::CosemTime {10, 7, 30, 0}));
    QCOMPARE(west.toQDateTime(), kHost);
    QCOMPARE(m.model.now(), kHost);
}

void TestMeterModel::associationAttributes()
{
    Meter m;
    Association a;
    a.level = AccessLevel::Low;
    a.clientSap = 32;
    a.serverSap = 1;
    a.authentication = dlms::Authentication::Low;
    a.conformance = 0x001E1D;
    a.clientMaxPdu = 65535;
    a.serverMaxPdu = 1024;
    auto attribute = [&](int id) { return get(m.model, 15, kAssociation, id, std::nullopt, a).value; };
    QCOMPARE(attribute(3), Value::structure({Value::integer(32), Value::longUnsigned(1)}));
    QCOMPARE(attribute(4).bytes(), dlms::test::hex("60857405080101"));
    dlms::BitString conformance;
    conformance.bits = dlms::test::hex("001E1D");
    conformance.length = 24;
    QCOMPARE(attribute(5),
        Value::structure({Value::bitString(conformance), Value::longUnsigned(1024),
            Value::longUnsigned(65535), Value::unsigned8(6), Value::integer(0), Value::octetString({})}));
    QCOMPARE(attribute(6).bytes(), dlms::test::hex("60857405080201"));
    QCOMPARE(attribute(8), Value::enumeration(2));
    QCOMPARE(attribute(9).bytes(), dlms::test::hex("00002B0000FF")); // security setup 0.0.43.0.0.255
    QCOMPARE(get(m.model, 15, kAssociation, 10, std::nullopt, a).result, DataAccessResult::ObjectUndefined);
    QCOMPARE(attribute(2), m.model.objectList(AccessLevel::Low));

    a.level = AccessLevel::Public;
    a.authentication = dlms::Authentication::None;
    a.clientSap = 16;
    QCOMPARE(attribute(3), Value::structure({Value::integer(16), Value::longUnsigned(1)}));
    QCOMPARE(attribute(6).bytes(), dlms::test::hex("60857405080200"));
    QCOMPARE(attribute(2), m.model.objectList(AccessLevel::Public));

    // An HLS-GMAC association over LN-with-ciphering reports both.
    a.level = AccessLevel::High;
    a.authentication = dlms::Authentication::HighGmac;
    a.ciphered = true;
    QCOMPARE(attribute(4).bytes(), dlms::test::hex("60857405080103"));
    QCOMPARE(attribute(6).bytes(), dlms::test::hex("60857405080205"));
    QCOMPARE(attribute(2), m.model.objectList(AccessLevel::High));
}

void TestMeterModel::defaultSecurity_data()
{
    QTest::addColumn<int>("index");
    QTest::addColumn<QByteArray>("title");
    QTest::newRow("meter-0") << 0 << dlms::test::hex("53494D0000000000");
    QTest::newRow("meter-1") << 1 << dlms::test::hex("53494D0000000001");
    QTest::newRow("meter-65536") << 65536 << dlms::test::hex("53494D0000010000");
}

void TestMeterModel::defaultSecurity()
{
    QFETCH(int, index);
    QFETCH(QByteArray, title);
    const dlms::SecuritySettings defaults = sim::defaultSecurity(index);
    QCOMPARE(defaults.systemTitle, title);
    QCOMPARE(defaults.blockCipherKey, dlms::test::hex("000102030405060708090A0B0C0D0E0F"));
    QCOMPARE(defaults.authenticationKey, dlms::test::hex("D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF"));
    QCOMPARE(defaults.policy, dlms::SecurityPolicy::None);

    // Empty parts are filled, configured ones kept.
    MeterSettings settings = settingsFor(index);
    Meter filled(settings);
    QCOMPARE(filled.model.settings().security.systemTitle, title);
    QCOMPARE(filled.model.settings().security.blockCipherKey, defaults.blockCipherKey);
    settings.security.systemTitle = dlms::test::hex("4D4D4D0000BC614E");
    settings.security.authenticationKey = QByteArray(16, '\x42');
    settings.security.policy = dlms::SecurityPolicy::Authenticated;
    Meter configured(settings);
    QCOMPARE(configured.model.settings().security.systemTitle, dlms::test::hex("4D4D4D0000BC614E"));
    QCOMPARE(configured.model.settings().security.authenticationKey, QByteArray(16, '\x42'));
    QCOMPARE(configured.model.settings().security.blockCipherKey, defaults.blockCipherKey);
    QCOMPARE(configured.model.settings().security.policy, dlms::SecurityPolicy::Authenticated);
}

void TestMeterModel::invocationCounters()
{
    Meter m;
    QCOMPARE(m.model.nextInvocationCounter(), 1u);
    QCOMPARE(m.model.takeInvocationCounter(), std::optional<quint32>(1));
    QCOMPARE(m.model.takeInvocationCounter(), std::optional<quint32>(2));
    // The last value is handed out once, then none: an IV never repeats.
    m.model.setNextInvocationCounter(0xFFFFFFFE);
    QCOMPARE(m.model.takeInvocationCounter(), std::optional<quint32>(0xFFFFFFFE));
    QCOMPARE(m.model.takeInvocationCounter(), std::optional<quint32>(0xFFFFFFFF));
    QCOMPARE(m.model.takeInvocationCounter(), std::nullopt);
    QCOMPARE(m.model.takeInvocationCounter(), std::nullopt);

    // Per client title: anything is fresh until a value is accepted, then only higher ones.
    const QByteArray a = dlms::test::hex("4D4D4D0000000001");
    const QByteArray b = dlms::test::hex("4D4D4D0000000002");
    QVERIFY(m.model.clientInvocationCounterFresh(a, 0));
    QCOMPARE(m.model.lastClientInvocationCounter(a), std::nullopt);
    m.model.acceptClientInvocationCounter(a, 10);
    QCOMPARE(m.model.lastClientInvocationCounter(a), std::optional<quint32>(10));
    QVERIFY(!m.model.clientInvocationCounterFresh(a, 10));
    QVERIFY(!m.model.clientInvocationCounterFresh(a, 9));
    QVERIFY(m.model.clientInvocationCounterFresh(a, 11));
    QVERIFY(m.model.clientInvocationCounterFresh(b, 1));
    // Accepting never moves a counter back.
    m.model.acceptClientInvocationCounter(a, 5);
    QCOMPARE(m.model.lastClientInvocationCounter(a), std::optional<quint32>(10));
}

void TestMeterModel::objectListRightsByLevel()
{
    Meter m;
    const auto rightsOf = [&](AccessLevel l, const Obis &obis) {
        const Value list = m.model.objectList(l);
        for (const Value &entry : list.items()) {
            if (entry.items().at(2).bytes() == obis.toBytes())
                return entry.items().at(3);
        }
        return Value();
    };
    const auto attributeMode = [](const Value &rights, int id) {
        return rights.items().at(0).items().at(size_t(id - 1)).items().at(1);
    };
    const auto methodMode = [](const Value &rights, int id) {
        return rights.items().at(1).items().at(size_t(id - 1)).items().at(1);
    };

    const Value clockPublic = rightsOf(AccessLevel::Public, kClock);
    const Value clockLow = rightsOf(AccessLevel::Low, kClock);
    QCOMPARE(attributeMode(clockPublic, 2), Value::enumeration(1));
    QCOMPARE(attributeMode(clockLow, 2), Value::enumeration(3));
    QCOMPARE(attributeMode(clockPublic, 3), Value::enumeration(1));
    QCOMPARE(attributeMode(clockLow, 3), Value::enumeration(3));
    QCOMPARE(attributeMode(clockLow, 4), Value::enumeration(1));
    QCOMPARE(methodMode(clockLow, 1), Value::enumeration(0));

    const Value profilePublic = rightsOf(AccessLevel::Public, kProfile);
    const Value profileLow = rightsOf(AccessLevel::Low, kProfile);
    QCOMPARE(methodMode(profilePublic, 1), Value::enumeration(0));
    QCOMPARE(methodMode(profilePublic, 2), Value::enumeration(0));
    QCOMPARE(methodMode(profileLow, 1), Value::enumeration(1));
    QCOMPARE(methodMode(profileLow, 2), Value::enumeration(1));
    // Access selectors 1 and 2 on the buffer, none elsewhere.
    QCOMPARE(profileLow.items().at(0).items().at(1).items().at(2),
        Value::array({Value::integer(1), Value::integer(2)}));
    QCOMPARE(profileLow.items().at(0).items().at(2).items().at(2), Value());

    for (AccessLevel l : {AccessLevel::Public, AccessLevel::Low}) {
        const Value association = rightsOf(l, kAssociation);
        QCOMPARE(attributeMode(association, 7), Value::enumeration(0));
        QCOMPARE(attributeMode(association, 2), Value::enumeration(1));
        // Class 15 version 1: 9 attributes (9 readable), 4 methods, none allowed.
        QCOMPARE(association.items().at(0).items().size(), size_t(9));
        QCOMPARE(association.items().at(1).items().size(), size_t(4));
        QCOMPARE(attributeMode(association, 9), Value::enumeration(1));
        for (int id = 1; id <= 4; ++id)
            QCOMPARE(methodMode(association, id), Value::enumeration(0));
        QCOMPARE(attributeMode(rightsOf(l, kEnergyImport), 2), Value::enumeration(1));
    }
    QVERIFY(m.model.objectList(AccessLevel::Public) != m.model.objectList(AccessLevel::Low));

    // The list and the services agree, for every attribute and method at both levels.
    for (AccessLevel l : {AccessLevel::Public, AccessLevel::Low, AccessLevel::High}) {
        for (const auto &object : m.model.objects()) {
            const Value rights = rightsOf(l, object.obis);
            for (int a = 1; a <= object.attributeCount; ++a)
                QCOMPARE(attributeMode(rights, a),
                    Value::enumeration(quint8(m.model.attributeAccess(object, a, l))));
            for (int id = 1; id <= object.methodCount; ++id)
                QCOMPARE(
                    methodMode(rights, id), Value::enumeration(m.model.methodAllowed(object, id, l) ? 1 : 0));
        }
    }
}

void TestMeterModel::objectListEncodedSize()
{
    Meter m;
    for (AccessLevel l : {AccessLevel::Public, AccessLevel::Low}) {
        const QByteArray encoded = dlms::axdr::encode(m.model.objectList(l));
        QVERIFY2(encoded.size() > 1024, qPrintable(QString::number(encoded.size())));
        const auto decoded = dlms::axdr::decodeAll(encoded);
        QVERIFY(decoded.ok());
        QCOMPARE(decoded->items().size(), m.model.objects().size());
    }
}

QTEST_GUILESS_MAIN(TestMeterModel)
#include "tst_metermodel.moc"
