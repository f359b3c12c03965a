#include "commissioningsettings.h"

#include <QtTest/QTest>

using namespace Qt::StringLiterals;
using commissioning::CheckStatus;

Q_DECLARE_METATYPE(commissioning::CheckStatus)

namespace {

polling::PollItem item(const QString &key, const char *obis)
{
    polling::PollItem result;
    result.key = key;
    result.obis = *dlms::Obis::parse(QString::fromLatin1(obis));
    return result;
}

app::PlausibilityRange range(
    const QString &match, double min, double max, double warnMin, double warnMax, bool absolute = false)
{
    return app::PlausibilityRange {match, u"label"_s, min, max, warnMin, warnMax, absolute};
}

} // namespace

class tst_CommissioningSettings : public QObject {
    Q_OBJECT

private slots:
    void judge_data()
    {
        QTest::addColumn<double>("min");
        QTest::addColumn<double>("max");
        QTest::addColumn<double>("warnMin");
        QTest::addColumn<double>("warnMax");
        QTest::addColumn<bool>("absolute");
        QTest::addColumn<double>("value");
        QTest::addColumn<CheckStatus>("expected");
        const auto voltage = [](const char *name, double value, CheckStatus expected) {
            QTest::newRow(name) << 207.0 << 253.0 << 195.5 << 264.5 << false << value << expected;
        };
        voltage("voltage-nominal", 230.0, CheckStatus::Pass);
        voltage("voltage-at-min", 207.0, CheckStatus::Pass);
        voltage("voltage-at-max", 253.0, CheckStatus::Pass);
        voltage("voltage-just-below-min", 206.9, CheckStatus::Warn);
        voltage("voltage-just-above-max", 253.1, CheckStatus::Warn);
        voltage("voltage-at-warn-min", 195.5, CheckStatus::Warn);
        voltage("voltage-at-warn-max", 264.5, CheckStatus::Warn);
        voltage("voltage-below-warn-band", 195.4, CheckStatus::Fail);
        voltage("voltage-above-warn-band", 264.6, CheckStatus::Fail);
        voltage("voltage-zero", 0.0, CheckStatus::Fail);
        voltage("voltage-nan", qQNaN(), CheckStatus::Fail);
        voltage("voltage-infinite", qInf(), CheckStatus::Fail);
        const auto pf = [](const char *name, double value, CheckStatus expected) {
            QTest::newRow(name) << 0.5 << 1.0 << 0.0 << 1.0 << true << value << expected;
        };
        pf("pf-absolute-positive", 0.97, CheckStatus::Pass);
        pf("pf-absolute-negative-export", -0.97, CheckStatus::Pass);
        pf("pf-absolute-low", -0.3, CheckStatus::Warn);
        pf("pf-absolute-above-one", 1.2, CheckStatus::Fail);
        pf("pf-absolute-below-minus-one", -1.2, CheckStatus::Fail);
        QTest::newRow("signed-negative-fails")
            << 0.5 << 1.0 << 0.0 << 1.0 << false << -0.97 << CheckStatus::Fail;
        QTest::newRow("no-warn-band") << 10.0 << 20.0 << 10.0 << 20.0 << false << 9.99 << CheckStatus::Fail;
    }

    void judge()
    {
        QFETCH(double, min);
        QFETCH(double, max);
        QFETCH(double, warnMin);
        QFETCH(double, warnMax);
        QFETCH(bool, absolute);
        QFETCH(double, value);
        QFETCH(CheckStatus, expected);
        QCOMPARE(app::judge(range(u"x"_s, min, max, warnMin, warnMax, absolute), value), expected);
    }

    void matches_data()
    {
        QTest::addColumn<QString>("match");
        QTest::addColumn<QString>("key");
        QTest::addColumn<QString>("obis");
        QTest::addColumn<bool>("expected");
        QTest::newRow("key-exact") << u"voltage_l1"_s << u"voltage_l1"_s << u"1.0.32.7.0.255"_s << true;
        QTest::newRow("key-other") << u"voltage_l1"_s << u"voltage_l2"_s << u"1.0.32.7.0.255"_s << false;
        QTest::newRow("key-case-sensitive")
            << u"Voltage_L1"_s << u"voltage_l1"_s << u"1.0.32.7.0.255"_s << false;
        QTest::newRow("key-prefix-is-not-a-match")
            << u"voltage"_s << u"voltage_l1"_s << u"1.0.32.7.0.255"_s << false;
        QTest::newRow("obis-exact") << u"1.0.32.7.0.255"_s << u"whatever"_s << u"1.0.32.7.0.255"_s << true;
        QTest::newRow("obis-other") << u"1.0.32.7.0.255"_s << u"whatever"_s << u"1.0.52.7.0.255"_s << false;
        QTest::newRow("obis-wildcard-c") << u"1.0.*.7.0.255"_s << u"x"_s << u"1.0.52.7.0.255"_s << true;
        QTest::newRow("obis-wildcard-c-other-d")
            << u"1.0.*.7.0.255"_s << u"x"_s << u"1.0.1.8.0.255"_s << false;
        QTest::newRow("obis-all-wildcards") << u"*.*.*.*.*.*"_s << u"x"_s << u"0.0.96.1.0.255"_s << true;
        QTest::newRow("obis-wildcard-f") << u"1.0.14.7.0.*"_s << u"x"_s << u"1.0.14.7.0.1"_s << true;
        QTest::newRow("obis-five-groups-matches-nothing")
            << u"1.0.32.7.0"_s << u"1.0.32.7.0"_s << u"1.0.32.7.0.255"_s << false;
        QTest::newRow("empty-matches-nothing") << QString() << QString() << u"1.0.32.7.0.255"_s << false;
    }

    void matches()
    {
        QFETCH(QString, match);
        QFETCH(QString, key);
        QFETCH(QString, obis);
        QFETCH(bool, expected);
        polling::PollItem polled = item(key, obis.toLatin1().constData());
        QCOMPARE(range(match, 0, 1, 0, 1).matches(polled), expected);
    }

    void validMatch_data()
    {
        QTest::addColumn<QString>("match");
        QTest::addColumn<bool>("valid");
        QTest::newRow("key") << u"voltage_l1"_s << true;
        QTest::newRow("key-with-dash") << u"energy-import"_s << true;
        QTest::newRow("obis") << u"1.0.32.7.0.255"_s << true;
        QTest::newRow("obis-wildcards") << u"1.0.*.7.0.*"_s << true;
        QTest::newRow("empty") << QString() << false;
        QTest::newRow("blank-inside") << u"voltage l1"_s << false;
        QTest::newRow("obis-five-groups") << u"1.0.32.7.0"_s << false;
        QTest::newRow("obis-group-too-large") << u"1.0.256.7.0.255"_s << false;
        QTest::newRow("obis-dash-notation") << u"1-0:32.7.0*255"_s << false;
        QTest::newRow("obis-empty-group") << u"1.0..7.0.255"_s << false;
    }

    void validMatch()
    {
        QFETCH(QString, match);
        QFETCH(bool, valid);
        QCOMPARE(app::isValidRangeMatch(match), valid);
    }

    void rangeForPrefersTheFile()
    {
        app::CommissioningSettings settings;
        const polling::PollItem voltage = item(u"voltage_l1"_s, "1.0.32.7.0.255");

        const app::PlausibilityRange *builtIn = settings.rangeFor(voltage);
        QVERIFY(builtIn);
        QCOMPARE(builtIn->label, u"voltage"_s);
        QCOMPARE(builtIn->min, 207.0);

        // The file's ranges come first, in their order: the first match wins.
        settings.ranges.push_back(range(u"voltage_l2"_s, 1, 2, 1, 2));
        settings.ranges.push_back(range(u"1.0.*.7.0.255"_s, 220, 240, 210, 250));
        settings.ranges.push_back(range(u"voltage_l1"_s, 100, 110, 90, 120));
        const app::PlausibilityRange *fromFile = settings.rangeFor(voltage);
        QVERIFY(fromFile);
        QCOMPARE(fromFile, &settings.ranges[1]);
        QCOMPARE(fromFile->min, 220.0);

        // No range anywhere.
        QCOMPARE(app::CommissioningSettings().rangeFor(item(u"energy"_s, "1.0.1.8.0.255")), nullptr);
        // A file range that does not match leaves the built-in one.
        app::CommissioningSettings other;
        other.ranges.push_back(range(u"energy"_s, 0, 1, 0, 1));
        QCOMPARE(other.rangeFor(item(u"f"_s, "1.0.14.7.0.255"))->label, u"frequency"_s);
    }

    void defaults_data()
    {
        QTest::addColumn<QString>("obis");
        QTest::addColumn<QString>("label");
        QTest::addColumn<double>("min");
        QTest::addColumn<double>("max");
        QTest::addColumn<double>("warnMin");
        QTest::addColumn<double>("warnMax");
        QTest::addColumn<bool>("absolute");
        for (const char *obis : {"1.0.32.7.0.255", "1.0.52.7.0.255", "1.0.72.7.0.255", "1.0.12.7.0.255"})
            QTest::newRow(obis) << QString::fromLatin1(obis) << u"voltage"_s << 207.0 << 253.0 << 195.5
                                << 264.5 << false;
        QTest::newRow("1.0.14.7.0.255")
            << u"1.0.14.7.0.255"_s << u"frequency"_s << 49.5 << 50.5 << 47.0 << 52.0 << false;
        for (const char *obis : {"1.0.13.7.0.255", "1.0.33.7.0.255", "1.0.53.7.0.255", "1.0.73.7.0.255"})
            QTest::newRow(obis) << QString::fromLatin1(obis) << u"power factor"_s << 0.5 << 1.0 << 0.0 << 1.0
                                << true;
    }

    void defaults()
    {
        QFETCH(QString, obis);
        QFETCH(QString, label);
        QFETCH(double, min);
        QFETCH(double, max);
        QFETCH(double, warnMin);
        QFETCH(double, warnMax);
        QFETCH(bool, absolute);
        const app::PlausibilityRange *found
            = app::CommissioningSettings().rangeFor(item(u"any_key"_s, obis.toLatin1().constData()));
        QVERIFY(found);
        QCOMPARE(found->label, label);
        QCOMPARE(found->min, min);
        QCOMPARE(found->max, max);
        QCOMPARE(found->warnMin, warnMin);
        QCOMPARE(found->warnMax, warnMax);
        QCOMPARE(found->absolute, absolute);
    }

    void defaultsAreConsistent()
    {
        const std::vector<app::PlausibilityRange> ranges = app::defaultPlausibilityRanges();
        QCOMPARE(ranges.size(), size_t(9));
        for (const app::PlausibilityRange &r : ranges) {
            QVERIFY2(app::isValidRangeMatch(r.match), qPrintable(r.match));
            QVERIFY(r.warnMin <= r.min);
            QVERIFY(r.min <= r.max);
            QVERIFY(r.max <= r.warnMax);
        }
        const app::CommissioningSettings settings;
        QCOMPARE(settings.clockWarnSeconds, 10);
        QCOMPARE(settings.clockFailSeconds, 60);
        QCOMPARE(settings.baselinePolls, 3);
        QCOMPARE(settings.rttWarnMs, 1000);
        QCOMPARE(settings.parallelMeters, 8);
        QVERIFY(settings.ranges.empty());
    }
};

QTEST_GUILESS_MAIN(tst_CommissioningSettings)
#include "tst_commissioningsettings.moc"
