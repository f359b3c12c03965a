#include "cosemdatetime.h"
#include "testsupport.h"

#include <QtCore/QRandomGenerator>
#include <QtCore/QTimeZone>
#include <QtTest/QTest>

using namespace dlms;
using namespace dlms::test;
using namespace Qt::StringLiterals;

namespace {

CosemDateTime make(quint16 year, quint8 month, quint8 day, quint8 dow, quint8 hour, quint8 minute,
                   quint8 second, quint8 hundredths, qint16 deviation, quint8 status)
{
    CosemDateTime dt;
    dt.date = {year, month, day, dow};
    dt.time = {hour, minute, second, hundredths};
    dt.deviation = deviation;
    dt.clockStatus = status;
    return dt;
}

// 2024-03-05 (Tuesday) 14:07:00.00 in Central European Time, UTC+01:00.
CosemDateTime cet() { return make(2024, 3, 5, 2, 14, 7, 0, 0, -60, 0x00); }

} // namespace

class TestCosemDateTime : public QObject {
    Q_OBJECT

private slots:
    void wireFields_data();
    void wireFields();
    void wrongLengths_data();
    void wrongLengths();
    void cetToQDateTime();
    void cetFromQDateTime();
    void westOfUtcBothWays();
    void daylightSavingFromTimeZone();
    void toQDateTime_data();
    void toQDateTime();
    void unspecifiedDeviationUsesAssumedSpec();
    void fromInvalidQDateTime();
    void isFullySpecified_data();
    void isFullySpecified();
    void toString_data();
    void toString();
    void dateAndTimeStrings();
    void randomBytesRoundTrip();
    void randomQDateTimeRoundTrip();
};

void TestCosemDateTime::wireFields_data()
{
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<CosemDateTime>("expected");

    QTest::newRow("cet-dst-flag") << QByteArray::fromHex("07e80305020e070000ffc480")
                                  << make(2024, 3, 5, 2, 14, 7, 0, 0, -60, 0x80);
    QTest::newRow("all-not-specified") << QByteArray::fromHex("ffffffffffffffffff8000ff")
                                       << CosemDateTime{};
    QTest::newRow("dst-begin-last-sunday") << QByteArray::fromHex("fffffefe0702000000800009")
                                           << make(0xFFFF, 0xFE, 0xFE, 7, 2, 0, 0, 0, qint16(-32768), 0x09);
    QTest::newRow("east-of-utc-positive-wire") << QByteArray::fromHex("07e8010a0308000000012c00")
                                               << make(2024, 1, 10, 3, 8, 0, 0, 0, 300, 0);
    QTest::newRow("out-of-range-fields-kept") << QByteArray::fromHex("00001f20631920c8fe0c3c55")
                                              << make(0, 0x1F, 0x20, 0x63, 0x19, 0x20, 0xC8, 0xFE,
                                                      qint16(0x0C3C), 0x55);
}

void TestCosemDateTime::wireFields()
{
    QFETCH(QByteArray, bytes);
    QFETCH(CosemDateTime, expected);
    const auto dt = CosemDateTime::fromBytes(bytes);
    QVERIFY(dt.ok());
    QVERIFY(*dt == expected);
    QCOMPARE(dt->toBytes().toHex(), bytes.toHex());
    QByteArray appended = "ab"_ba;
    expected.appendTo(appended);
    QCOMPARE(appended, "ab"_ba + bytes);
}

void TestCosemDateTime::wrongLengths_data()
{
    QTest::addColumn<QString>("kind");
    QTest::addColumn<int>("size");
    QTest::addColumn<ErrorCode>("code");
    QTest::addColumn<QString>("message");

    QTest::newRow("date-time-0") << u"date-time"_s << 0 << ErrorCode::Truncated
                                 << u"COSEM date-time must be exactly 12 bytes, got 0"_s;
    QTest::newRow("date-time-11") << u"date-time"_s << 11 << ErrorCode::Truncated
                                  << u"COSEM date-time must be exactly 12 bytes, got 11"_s;
    QTest::newRow("date-time-13") << u"date-time"_s << 13 << ErrorCode::Malformed
                                  << u"COSEM date-time must be exactly 12 bytes, got 13"_s;
    QTest::newRow("date-4") << u"date"_s << 4 << ErrorCode::Truncated
                            << u"COSEM date must be exactly 5 bytes, got 4"_s;
    QTest::newRow("date-6") << u"date"_s << 6 << ErrorCode::Malformed
                            << u"COSEM date must be exactly 5 bytes, got 6"_s;
    QTest::newRow("time-3") << u"time"_s << 3 << ErrorCode::Truncated
                            << u"COSEM time must be exactly 4 bytes, got 3"_s;
    QTest::newRow("time-5") << u"time"_s << 5 << ErrorCode::Malformed
                            << u"COSEM time must be exactly 4 bytes, got 5"_s;
}

void TestCosemDateTime::wrongLengths()
{
    QFETCH(QString, kind);
    QFETCH(int, size);
    QFETCH(ErrorCode, code);
    QFETCH(QString, message);
    const QByteArray bytes(size, '\x01');
    Error error;
    if (kind == u"date-time"_s) {
        const auto r = CosemDateTime::fromBytes(bytes);
        QVERIFY(!r.ok());
        error = r.error();
    } else if (kind == u"date"_s) {
        const auto r = cosemDateFromBytes(bytes);
        QVERIFY(!r.ok());
        error = r.error();
    } else {
        const auto r = cosemTimeFromBytes(bytes);
        QVERIFY(!r.ok());
        error = r.error();
    }
    QCOMPARE(errorCodeName(error.code), errorCodeName(code));
    QCOMPARE(error.message, message);
}

void TestCosemDateTime::cetToQDateTime()
{
    // Deviation -60 means UTC = local + (-60 min): 14:07 CET is 13:07 UTC.
    const auto dt = CosemDateTime::fromBytes(QByteArray::fromHex("07e80305020e070000ffc400"));
    QVERIFY(dt.ok());
    QCOMPARE(dt->deviation, qint16(-60));
    const auto q = dt->toQDateTime();
    QVERIFY(q.has_value());
    QCOMPARE(q->offsetFromUtc(), 3600);
    QCOMPARE(q->date(), QDate(2024, 3, 5));
    QCOMPARE(q->time(), QTime(14, 7));
    QCOMPARE(q->toUTC(), QDateTime(QDate(2024, 3, 5), QTime(13, 7), Qt::UTC));
    QCOMPARE(q->toSecsSinceEpoch(), qint64(1709644020));
}

void TestCosemDateTime::cetFromQDateTime()
{
    const QDateTime q(QDate(2024, 3, 5), QTime(14, 7, 0), Qt::OffsetFromUTC, 3600);
    const CosemDateTime dt = CosemDateTime::fromQDateTime(q);
    QVERIFY(dt == cet());
    QCOMPARE(dt.toBytes().toHex(), "07e80305020e070000ffc400"_ba);
    QCOMPARE(dt.toString(), u"2024-03-05T14:07:00.00+01:00"_s);

    // The same instant handed over in UTC is encoded as UTC, not as CET.
    const CosemDateTime utc = CosemDateTime::fromQDateTime(q.toUTC());
    QCOMPARE(utc.toBytes().toHex(), "07e80305020d070000000000"_ba);
    QCOMPARE(utc.toQDateTime().value(), q);
}

void TestCosemDateTime::westOfUtcBothWays()
{
    // New York winter time, UTC-05:00: deviation +300 (0x012C).
    const QDateTime q(QDate(2024, 1, 10), QTime(8, 0), Qt::OffsetFromUTC, -5 * 3600);
    const CosemDateTime dt = CosemDateTime::fromQDateTime(q);
    QCOMPARE(dt.deviation, qint16(300));
    QCOMPARE(dt.toBytes().toHex(), "07e8010a0308000000012c00"_ba);
    QCOMPARE(dt.toQDateTime()->toUTC(), QDateTime(QDate(2024, 1, 10), QTime(13, 0), Qt::UTC));
    QCOMPARE(dt.toString(), u"2024-01-10T08:00:00.00-05:00"_s);
}

void TestCosemDateTime::daylightSavingFromTimeZone()
{
    const QTimeZone berlin("Europe/Berlin");
    if (!berlin.isValid())
        QSKIP("no tz database entry for Europe/Berlin");
    const CosemDateTime summer = CosemDateTime::fromQDateTime(QDateTime(QDate(2024, 7, 1), QTime(12, 0), berlin));
    QCOMPARE(summer.deviation, qint16(-120));
    QCOMPARE(summer.clockStatus, quint8(ClockDaylightSavingActive));
    QCOMPARE(summer.date.dayOfWeek, quint8(1));
    const CosemDateTime winter = CosemDateTime::fromQDateTime(QDateTime(QDate(2024, 1, 1), QTime(12, 0), berlin));
    QCOMPARE(winter.deviation, qint16(-60));
    QCOMPARE(winter.clockStatus, quint8(0));
}

void TestCosemDateTime::toQDateTime_data()
{
    QTest::addColumn<CosemDateTime>("value");
    QTest::addColumn<QDateTime>("expected"); // invalid: std::nullopt expected

    const QDateTime none;
    QTest::newRow("cet") << cet() << QDateTime(QDate(2024, 3, 5), QTime(13, 7), Qt::UTC);
    QTest::newRow("hundredths-99") << make(2024, 3, 5, 0xFF, 0, 0, 0, 99, 0, 0)
                                   << QDateTime(QDate(2024, 3, 5), QTime(0, 0, 0, 990), Qt::UTC);
    QTest::newRow("hundredths-not-specified-is-0") << make(2024, 3, 5, 0xFF, 1, 2, 3, 0xFF, 0, 0)
                                                   << QDateTime(QDate(2024, 3, 5), QTime(1, 2, 3), Qt::UTC);
    QTest::newRow("weekday-not-needed") << make(2024, 2, 29, 0xFF, 23, 59, 59, 0, 0, 0xFF)
                                        << QDateTime(QDate(2024, 2, 29), QTime(23, 59, 59), Qt::UTC);
    QTest::newRow("deviation-minus-840") << make(2024, 1, 1, 1, 14, 0, 0, 0, -840, 0)
                                         << QDateTime(QDate(2024, 1, 1), QTime(0, 0), Qt::UTC);
    QTest::newRow("year-not-specified") << make(0xFFFF, 3, 5, 2, 14, 7, 0, 0, -60, 0) << none;
    QTest::newRow("month-dst-begin") << make(2024, 0xFE, 5, 2, 14, 7, 0, 0, -60, 0) << none;
    QTest::newRow("month-13") << make(2024, 13, 5, 2, 14, 7, 0, 0, -60, 0) << none;
    QTest::newRow("day-last") << make(2024, 3, 0xFE, 2, 14, 7, 0, 0, -60, 0) << none;
    QTest::newRow("february-30") << make(2024, 2, 30, 2, 14, 7, 0, 0, -60, 0) << none;
    QTest::newRow("february-29-2023") << make(2023, 2, 29, 2, 14, 7, 0, 0, -60, 0) << none;
    QTest::newRow("hour-not-specified") << make(2024, 3, 5, 2, 0xFF, 7, 0, 0, -60, 0) << none;
    QTest::newRow("hour-24") << make(2024, 3, 5, 2, 24, 7, 0, 0, -60, 0) << none;
    QTest::newRow("minute-60") << make(2024, 3, 5, 2, 14, 60, 0, 0, -60, 0) << none;
    QTest::newRow("second-not-specified") << make(2024, 3, 5, 2, 14, 7, 0xFF, 0, -60, 0) << none;
    QTest::newRow("hundredths-100") << make(2024, 3, 5, 2, 14, 7, 0, 100, -60, 0) << none;
    QTest::newRow("deviation-900") << make(2024, 3, 5, 2, 14, 7, 0, 0, 900, 0) << none;
}

void TestCosemDateTime::toQDateTime()
{
    QFETCH(CosemDateTime, value);
    QFETCH(QDateTime, expected);
    const auto q = value.toQDateTime();
    QCOMPARE(q.has_value(), expected.isValid());
    if (q) {
        QCOMPARE(*q, expected);
        QCOMPARE(q->offsetFromUtc(), -int(value.deviation) * 60);
    }
}

void TestCosemDateTime::unspecifiedDeviationUsesAssumedSpec()
{
    CosemDateTime dt = cet();
    dt.deviation = CosemDateTime::DeviationNotSpecified;
    const auto utc = dt.toQDateTime();
    QVERIFY(utc);
    QCOMPARE(utc->timeSpec(), Qt::UTC);
    QCOMPARE(*utc, QDateTime(QDate(2024, 3, 5), QTime(14, 7), Qt::UTC));
    const auto local = dt.toQDateTime(Qt::LocalTime);
    QVERIFY(local);
    QCOMPARE(local->timeSpec(), Qt::LocalTime);
    QCOMPARE(local->date(), QDate(2024, 3, 5));
    QCOMPARE(local->time(), QTime(14, 7));
    QCOMPARE(dt.toQDateTime(Qt::OffsetFromUTC)->timeSpec(), Qt::UTC);
    QCOMPARE(dt.toString(), u"2024-03-05T14:07:00.00"_s);
}

void TestCosemDateTime::fromInvalidQDateTime()
{
    QVERIFY(CosemDateTime::fromQDateTime(QDateTime()) == CosemDateTime{});
    QVERIFY(CosemDateTime::fromQDateTime(QDateTime(QDate(-5, 1, 1), QTime(0, 0), Qt::UTC)) == CosemDateTime{});
    const CosemDateTime ms = CosemDateTime::fromQDateTime(QDateTime(QDate(2024, 12, 31), QTime(23, 59, 59, 999), Qt::UTC));
    QCOMPARE(ms.time.hundredths, quint8(99));
    QCOMPARE(ms.date.dayOfWeek, quint8(2));
    QCOMPARE(ms.deviation, qint16(0));
    QCOMPARE(ms.toString(), u"2024-12-31T23:59:59.99Z"_s);
}

void TestCosemDateTime::isFullySpecified_data()
{
    QTest::addColumn<CosemDateTime>("value");
    QTest::addColumn<bool>("full");

    QTest::newRow("cet") << cet() << true;
    QTest::newRow("no-weekday-no-hundredths-no-deviation")
        << make(2024, 3, 5, 0xFF, 14, 7, 0, 0xFF, qint16(-32768), 0xFF) << true;
    QTest::newRow("default") << CosemDateTime{} << false;
    QTest::newRow("year") << make(0xFFFF, 3, 5, 2, 14, 7, 0, 0, -60, 0) << false;
    QTest::newRow("month-dst-end") << make(2024, 0xFD, 5, 2, 14, 7, 0, 0, -60, 0) << false;
    QTest::newRow("day-second-last") << make(2024, 3, 0xFD, 2, 14, 7, 0, 0, -60, 0) << false;
    QTest::newRow("day-0") << make(2024, 3, 0, 2, 14, 7, 0, 0, -60, 0) << false;
    QTest::newRow("minute") << make(2024, 3, 5, 2, 14, 0xFF, 0, 0, -60, 0) << false;
    QTest::newRow("second") << make(2024, 3, 5, 2, 14, 7, 0xFF, 0, -60, 0) << false;
}

void TestCosemDateTime::isFullySpecified()
{
    QFETCH(CosemDateTime, value);
    QFETCH(bool, full);
    QCOMPARE(value.isFullySpecified(), full);
}

void TestCosemDateTime::toString_data()
{
    QTest::addColumn<CosemDateTime>("value");
    QTest::addColumn<QString>("text");

    QTest::newRow("cet") << cet() << u"2024-03-05T14:07:00.00+01:00"_s;
    QTest::newRow("all-not-specified") << CosemDateTime{} << u"****-**-**T**:**:**.**"_s;
    QTest::newRow("utc-is-z") << make(2024, 3, 5, 2, 14, 7, 0, 5, 0, 0) << u"2024-03-05T14:07:00.05Z"_s;
    QTest::newRow("india-plus-05-30") << make(2024, 3, 5, 2, 14, 7, 0, 0, -330, 0) << u"2024-03-05T14:07:00.00+05:30"_s;
    QTest::newRow("minus-00-30") << make(2024, 3, 5, 2, 14, 7, 0, 0, 30, 0) << u"2024-03-05T14:07:00.00-00:30"_s;
    QTest::newRow("dst-begin-last-sunday")
        << make(0xFFFF, 0xFE, 0xFE, 7, 2, 0, 0, 0, qint16(-32768), 0) << u"****-DB-LD(Sun)T02:00:00.00"_s;
    QTest::newRow("dst-end-second-last-day")
        << make(0xFFFF, 0xFD, 0xFD, 0xFF, 3, 0, 0xFF, 0xFF, qint16(-32768), 0) << u"****-DE-L2T03:00:**.**"_s;
    QTest::newRow("every-wednesday") << make(0xFFFF, 0xFF, 0xFF, 3, 6, 30, 0, 0, -60, 0)
                                     << u"****-**-**(Wed)T06:30:00.00+01:00"_s;
    QTest::newRow("every-month-first") << make(0xFFFF, 0xFF, 1, 0xFF, 0, 0, 0, 0, qint16(-32768), 0)
                                       << u"****-**-01T00:00:00.00"_s;
    QTest::newRow("year-99-padded") << make(99, 1, 2, 0xFF, 3, 4, 5, 6, qint16(-32768), 0)
                                    << u"0099-01-02T03:04:05.06"_s;
    QTest::newRow("raw-out-of-range-kept") << make(2024, 14, 0, 9, 200, 7, 0, 0, qint16(-32768), 0)
                                           << u"2024-14-00(9)T200:07:00.00"_s;
}

void TestCosemDateTime::toString()
{
    QFETCH(CosemDateTime, value);
    QFETCH(QString, text);
    QCOMPARE(value.toString(), text);
}

void TestCosemDateTime::dateAndTimeStrings()
{
    const auto date = cosemDateFromBytes(QByteArray::fromHex("07e8030502"));
    QVERIFY(date.ok());
    QVERIFY(*date == (CosemDate{2024, 3, 5, 2}));
    QCOMPARE(cosemDateToString(*date), u"2024-03-05"_s);
    QByteArray out;
    appendCosemDate(*date, out);
    QCOMPARE(out.toHex(), "07e8030502"_ba);

    const auto time = cosemTimeFromBytes(QByteArray::fromHex("0e07ffff"));
    QVERIFY(time.ok());
    QVERIFY(*time == (CosemTime{14, 7, 0xFF, 0xFF}));
    QCOMPARE(cosemTimeToString(*time), u"14:07:**.**"_s);
    out.clear();
    appendCosemTime(*time, out);
    QCOMPARE(out.toHex(), "0e07ffff"_ba);
}

void TestCosemDateTime::randomBytesRoundTrip()
{
    constexpr quint32 seed = 0xC05E3;
    QRandomGenerator rng(seed);
    for (int i = 0; i < 2000; ++i) {
        const QByteArray b = randomBytes(rng, 12);
        const auto dt = CosemDateTime::fromBytes(b);
        QVERIFY2(dt.ok() && dt->toBytes() == b,
                 qPrintable(u"seed 0x%1 iteration %2: %3"_s.arg(seed, 0, 16).arg(i).arg(QString::fromLatin1(b.toHex()))));
        QCOMPARE(cosemDateFromBytes(QByteArrayView(b).first(5))->year, dt->date.year);
        QByteArray d;
        appendCosemDate(*cosemDateFromBytes(QByteArrayView(b).first(5)), d);
        appendCosemTime(*cosemTimeFromBytes(QByteArrayView(b).sliced(5, 4)), d);
        QCOMPARE(d, b.left(9));
    }
}

void TestCosemDateTime::randomQDateTimeRoundTrip()
{
    constexpr quint32 seed = 0xDA7E;
    QRandomGenerator rng(seed);
    const qint64 start = QDateTime(QDate(1990, 1, 1), QTime(0, 0), Qt::UTC).toMSecsSinceEpoch();
    const qint64 end = QDateTime(QDate(2100, 1, 1), QTime(0, 0), Qt::UTC).toMSecsSinceEpoch();
    for (int i = 0; i < 2000; ++i) {
        const qint64 ms = start + qint64(rng.bounded(double(end - start))) / 10 * 10;
        const int offset = (int(rng.bounded(14 * 4 * 2 + 1)) - 14 * 4) * 15 * 60; // quarter hours
        const QDateTime q = QDateTime::fromMSecsSinceEpoch(ms, Qt::OffsetFromUTC, offset);
        const CosemDateTime dt = CosemDateTime::fromQDateTime(q);
        const auto back = dt.toQDateTime();
        const QString context = u"seed 0x%1 iteration %2: %3"_s.arg(seed, 0, 16).arg(i).arg(q.toString(Qt::ISODateWithMs));
        QVERIFY2(back.has_value(), qPrintable(context));
        QVERIFY2(*back == q && back->offsetFromUtc() == offset, qPrintable(context));
        QVERIFY2(dt.date.dayOfWeek == q.date().dayOfWeek(), qPrintable(context));
        QVERIFY2(CosemDateTime::fromBytes(dt.toBytes()).value() == dt, qPrintable(context));
    }
}

QTEST_GUILESS_MAIN(TestCosemDateTime)
#include "tst_cosemdatetime.moc"
