#include "tracemodel.h"

#include <apdu.h>
#include <tracedecoder.h>
#include <wrapper.h>

#include <QtCore/QFile>
#include <QtTest/QAbstractItemModelTester>
#include <QtTest/QtTest>

using namespace Qt::StringLiterals;

Q_DECLARE_METATYPE(TraceKind)

namespace {

TraceEntry numbered(int n)
{
    TraceEntry e;
    e.timestampMs = 1'700'000'000'000 + n;
    e.meterId = u"sim-%1"_s.arg(n % 3);
    e.summary = u"line %1"_s.arg(n);
    e.size = n;
    return e;
}

// The frames of a recording ("> " sent, "< " received, one frame per line).
std::vector<std::pair<dlms::Direction, QByteArray>> recording(const QString &name)
{
    std::vector<std::pair<dlms::Direction, QByteArray>> frames;
    QFile file(QStringLiteral(DLMS_RECORDINGS_DIR) + u'/' + name);
    if (!file.open(QIODevice::ReadOnly | QIODevice::Text))
        return frames;
    while (!file.atEnd()) {
        const QByteArray line = file.readLine().trimmed();
        if (line.startsWith("> ") || line.startsWith("< "))
            frames.emplace_back(line[0] == '>' ? dlms::Direction::Sent : dlms::Direction::Received,
                QByteArray::fromHex(line.mid(2)));
    }
    return frames;
}

QByteArray wrapped(const dlms::Apdu &apdu)
{
    QByteArray wire;
    (void)dlms::wrapper::encode(16, 1, dlms::encodeApdu(apdu), wire);
    return wire;
}

} // namespace

class tst_TraceModel : public QObject {
    Q_OBJECT

private slots:
    void initTestCase() { QLocale::setDefault(QLocale(QLocale::English, QLocale::UnitedStates)); }

    void capacityBoundsRowsAndCountsDrops_data()
    {
        QTest::addColumn<int>("capacity");
        QTest::addColumn<int>("chunk");
        QTest::addColumn<int>("total");

        QTest::newRow("chunks-of-7-into-100") << 100 << 7 << 300;
        QTest::newRow("chunk-larger-than-capacity") << 50 << 120 << 150;
        QTest::newRow("one-at-a-time") << 10 << 1 << 30;
        QTest::newRow("exactly-full") << 20 << 20 << 20;
    }
    void capacityBoundsRowsAndCountsDrops()
    {
        QFETCH(int, capacity);
        QFETCH(int, chunk);
        QFETCH(int, total);

        TraceModel model(capacity);
        QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
        QSignalSpy inserted(&model, &QAbstractItemModel::rowsInserted);
        QSignalSpy removed(&model, &QAbstractItemModel::rowsRemoved);
        int calls = 0;
        int rowsRemovedSum = 0;
        int rowsInsertedSum = 0;
        for (int n = 0; n < total; n += chunk) {
            std::vector<TraceEntry> entries;
            for (int i = n; i < std::min(total, n + chunk); ++i)
                entries.push_back(numbered(i));
            const int before = model.rowCount();
            const int removedBefore = int(removed.size());
            model.append(std::move(entries));
            ++calls;
            // At most one removal (always from the top) and one insertion (at the bottom) per call.
            QVERIFY(removed.size() - removedBefore <= 1);
            if (removed.size() > removedBefore) {
                QCOMPARE(removed.last().at(1).toInt(), 0);
                rowsRemovedSum += removed.last().at(2).toInt() + 1;
            }
            QCOMPARE(inserted.last().at(2).toInt(), model.rowCount() - 1);
            rowsInsertedSum += inserted.last().at(2).toInt() - inserted.last().at(1).toInt() + 1;
            QVERIFY(model.rowCount() >= std::min(before, capacity) || removed.size() > removedBefore);
        }
        QCOMPARE(inserted.size(), calls);
        QCOMPARE(model.rowCount(), std::min(capacity, total));
        QCOMPARE(model.droppedCount(), qint64(std::max(0, total - capacity)));
        QCOMPARE(rowsInsertedSum - rowsRemovedSum, model.rowCount());
        // The newest are kept, oldest first.
        QCOMPARE(model.entry(model.rowCount() - 1).summary, u"line %1"_s.arg(total - 1));
        QCOMPARE(model.entry(0).summary, u"line %1"_s.arg(total - model.rowCount()));

        model.clear();
        QCOMPARE(model.rowCount(), 0);
        QCOMPARE(model.droppedCount(), qint64(0));
    }

    void cutsLongHex()
    {
        TraceModel model;
        QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
        TraceEntry shortEntry = numbered(1);
        shortEntry.hex = u"7E A0 07"_s;
        TraceEntry exact = numbered(2);
        exact.hex = QString(TraceModel::hexLimit, u'A');
        TraceEntry longEntry = numbered(3);
        longEntry.hex = dlms::toHex(QByteArray(2000, '\x5A'));
        model.append({shortEntry, exact, longEntry});
        QCOMPARE(model.index(0, TraceModel::Hex).data().toString(), u"7E A0 07"_s);
        QCOMPARE(model.entry(1).hex.size(), TraceModel::hexLimit);
        const QString cut = model.index(2, TraceModel::Hex).data().toString();
        QCOMPARE(cut.size(), TraceModel::hexLimit + 1);
        QVERIFY(cut.endsWith(u'…'));
        QVERIFY(cut.startsWith(u"5A 5A 5A"_s));
    }

    void columnsAndRoles()
    {
        TraceModel model;
        TraceEntry e;
        e.timestampMs = QDateTime(QDate(2026, 11, 24), QTime(10, 0, 1, 23)).toMSecsSinceEpoch();
        e.meterId = u"sim-1"_s;
        e.direction = dlms::Direction::Received;
        e.kind = TraceKind::Get;
        e.size = 1234;
        e.hex = u"7E"_s;
        e.summary = u"wrapper 1→16 | GET-Response-Normal"_s;
        e.details = QStringList {u"[1] long-unsigned 2314"_s, u"[2] long-unsigned 2319"_s};
        e.isError = true;
        model.append({e});
        QCOMPARE(model.index(0, TraceModel::Time).data().toString(), u"10:00:01.023"_s);
        QCOMPARE(model.index(0, TraceModel::Meter).data().toString(), u"sim-1"_s);
        QCOMPARE(model.index(0, TraceModel::Direction).data().toString(), u"← meter"_s);
        QCOMPARE(model.index(0, TraceModel::Kind).data().toString(), u"GET"_s);
        QCOMPARE(model.index(0, TraceModel::Size).data().toString(), u"1,234"_s);
        QCOMPARE(model.index(0, TraceModel::Decode).data().toString(), e.summary);
        QCOMPARE(model.index(0, TraceModel::Decode).data(Qt::ToolTipRole).toString(),
            u"[1] long-unsigned 2314\n[2] long-unsigned 2319"_s);
        QCOMPARE(model.index(0, TraceModel::Decode).data(Qt::ForegroundRole).value<QBrush>().color(),
            QColor(0xC0, 0x1C, 0x28));
        QCOMPARE(model.index(0, TraceModel::Kind).data(TraceModel::KindRole).toInt(), int(TraceKind::Get));
        QCOMPARE(model.index(0, TraceModel::Hex).data(TraceModel::MeterIdRole).toString(), u"sim-1"_s);
        QCOMPARE(model.index(0, 0).data(TraceModel::DetailsRole).toStringList(), e.details);
        QVERIFY(model.index(0, TraceModel::Hex).data(Qt::FontRole).value<QFont>().fixedPitch()
            || QFontInfo(model.index(0, TraceModel::Hex).data(Qt::FontRole).value<QFont>()).fixedPitch());
        e.isError = false;
        e.direction = dlms::Direction::Sent;
        model.append({e});
        QVERIFY(!model.index(1, TraceModel::Decode).data(Qt::ForegroundRole).isValid());
        QCOMPARE(model.index(1, TraceModel::Direction).data().toString(), u"→ meter"_s);
        QCOMPARE(model.headerData(TraceModel::Decode, Qt::Horizontal).toString(), u"Decode"_s);
    }

    void detailsAreCapped_data()
    {
        QTest::addColumn<int>("lines");
        QTest::addColumn<int>("kept"); // detail lines in the model, the "more" line included
        QTest::newRow("none") << 0 << 0;
        QTest::newRow("at-the-limit") << TraceModel::detailsLimit << TraceModel::detailsLimit;
        QTest::newRow("one-over") << TraceModel::detailsLimit + 1 << TraceModel::detailsLimit + 1;
        QTest::newRow("profile-of-thousands") << 5000 << TraceModel::detailsLimit + 1;
    }

    void detailsAreCapped()
    {
        QFETCH(int, lines);
        QFETCH(int, kept);
        TraceModel model;
        TraceEntry e;
        e.summary = u"wrapper 1→16 | GET-Response-Normal"_s;
        for (int i = 0; i < lines; ++i)
            e.details.append(u"[%1] long-unsigned %2"_s.arg(i).arg(2300 + i));
        model.append({e});
        const QStringList details = model.index(0, 0).data(TraceModel::DetailsRole).toStringList();
        QCOMPARE(details.size(), kept);
        if (lines > TraceModel::detailsLimit) {
            QCOMPARE(details.at(TraceModel::detailsLimit - 1), e.details.at(TraceModel::detailsLimit - 1));
            QCOMPARE(details.last(), u"… %1 more lines"_s.arg(lines - TraceModel::detailsLimit));
        } else {
            QCOMPARE(details, e.details);
        }
    }

    void timesAreLocalWithOffset()
    {
        // Any zone east of UTC shows an offset that differs from "Z"; POSIX spells UTC+2 "UTC-2".
        const QByteArray oldTz = qgetenv("TZ");
        qputenv("TZ", "UTC-02:00");
        const auto restore = qScopeGuard([&] {
            if (oldTz.isNull())
                qunsetenv("TZ");
            else
                qputenv("TZ", oldTz);
        });
        TraceModel model;
        TraceEntry e;
        e.timestampMs = QDateTime(QDate(2026, 11, 24), QTime(8, 0, 1, 23), Qt::UTC).toMSecsSinceEpoch();
        model.append({e});
        QCOMPARE(model.index(0, TraceModel::Time).data().toString(), u"10:00:01.023"_s);
        QCOMPARE(model.index(0, TraceModel::Time).data(Qt::ToolTipRole).toString(),
            u"2026-11-24T10:00:01.023+02:00"_s);
        QCOMPARE(TraceModel::timestampText(e.timestampMs), u"2026-11-24T10:00:01.023+02:00"_s);
        qputenv("TZ", "UTC");
        // Qt spells a zero offset "Z", which ISO 8601 reads as +00:00.
        QCOMPARE(TraceModel::timestampText(e.timestampMs), u"2026-11-24T08:00:01.023Z"_s);
    }

    void kindsOfDecodedLines_data()
    {
        QTest::addColumn<QString>("summary");
        QTest::addColumn<TraceKind>("kind");

        // Every line of both recordings, through the real decoder, with its expected kind.
        const std::pair<const char *, std::vector<TraceKind>> sessions[] = {
            {"wrapper-session.txt",
                {TraceKind::Association, TraceKind::Association, TraceKind::Get, TraceKind::Get,
                    TraceKind::Get, TraceKind::Get, TraceKind::Release, TraceKind::Release}},
            {"hdlc-session.txt",
                {TraceKind::Link, TraceKind::Link, TraceKind::Association, TraceKind::Association,
                    TraceKind::Get, TraceKind::Get, TraceKind::Get, TraceKind::Get, TraceKind::Get,
                    TraceKind::Get, TraceKind::Release, TraceKind::Release, TraceKind::Link,
                    TraceKind::Link}},
        };
        for (const auto &[file, kinds] : sessions) {
            dlms::TraceDecoder decoder;
            std::vector<dlms::TraceDecoder::Line> lines;
            for (const auto &[direction, bytes] : recording(QString::fromLatin1(file))) {
                for (auto &line : decoder.feed(direction, bytes))
                    lines.push_back(std::move(line));
            }
            QCOMPARE(lines.size(), kinds.size());
            for (size_t i = 0; i < lines.size(); ++i) {
                const QString &s = lines[i].summary;
                const QString what = s.contains(u" | "_s) ? s.section(u" | "_s, 1).section(u' ', 0, 0)
                                                          : s.section(u' ', 0, 1);
                QTest::addRow("%s-%02d-%s", file, int(i), qPrintable(what)) << s << kinds[i];
            }
        }

        // Services the recordings do not hold, encoded by the library and decoded back.
        const std::pair<const char *, std::pair<dlms::Apdu, TraceKind>> apdus[] = {
            {"set-request", {dlms::SetRequest {}, TraceKind::Set}},
            {"set-response", {dlms::SetResponse {}, TraceKind::Set}},
            {"action-request", {dlms::ActionRequest {}, TraceKind::Action}},
            {"action-response", {dlms::ActionResponse {}, TraceKind::Action}},
            {"exception-response", {dlms::ExceptionResponse {}, TraceKind::Exception}},
            {"confirmed-service-error", {dlms::ConfirmedServiceError {}, TraceKind::Exception}},
        };
        for (const auto &[name, pair] : apdus) {
            dlms::TraceDecoder decoder;
            const auto lines = decoder.feed(dlms::Direction::Received, wrapped(pair.first));
            QCOMPARE(lines.size(), size_t(1));
            QTest::newRow(name) << lines[0].summary << pair.second;
        }

        dlms::TraceDecoder garbage(dlms::Transport::Hdlc);
        const auto bad = garbage.feed(dlms::Direction::Received, "\x7E\xA0\x07\x03\x21\x93\x00\x00\x7E"_ba);
        QVERIFY(!bad.empty());
        QTest::newRow("hdlc-bad-checksum-error") << bad.front().summary << TraceKind::Error;

        QByteArray truncated;
        (void)dlms::wrapper::encode(1, 16, "\xC4\x01"_ba, truncated);
        dlms::TraceDecoder undecodable;
        const auto partial = undecodable.feed(dlms::Direction::Received, truncated);
        QCOMPARE(partial.size(), size_t(1));
        QVERIFY(partial[0].isError);
        QTest::newRow("undecodable-get-response") << partial[0].summary << TraceKind::Get;
        QTest::newRow("not-a-decoder-line") << u"something else"_s << TraceKind::Other;

        // Ciphered APDUs (suite 0): the deciphered content decides, else the glo-/ded- tag's service.
        QTest::newRow("glo-get-request-decrypted")
            << u"wrapper 16→1 | glo-get-request SC 0x30 IC 4, 30 bytes ciphered | decrypted: GET-Request-Normal iid=2"_s
            << TraceKind::Get;
        QTest::newRow("glo-get-response-cannot-decipher")
            << u"wrapper 1→16 | glo-get-response SC 0x30 IC 9, 24 bytes ciphered | cannot decipher: wrong key"_s
            << TraceKind::Get;
        QTest::newRow("ded-set-response-without-keys")
            << u"wrapper 1→16 | ded-set-response SC 0x30 IC 5, 20 bytes ciphered"_s << TraceKind::Set;
        QTest::newRow("glo-action-request-without-keys")
            << u"HDLC I 16→1 N(S)=1 N(R)=1 P/F | glo-action-request SC 0x10 IC 3, 49 bytes ciphered"_s
            << TraceKind::Action;
        QTest::newRow("general-glo-ciphering-decrypted-action")
            << u"wrapper 16→1 | general-glo-ciphering SC 0x30 IC 3, 49 bytes ciphered | decrypted: ACTION-Request-Normal iid=1"_s
            << TraceKind::Action;
        QTest::newRow("general-glo-ciphering-without-keys")
            << u"wrapper 16→1 | general-glo-ciphering SC 0x30 IC 3, 49 bytes ciphered"_s << TraceKind::Other;
        QTest::newRow("aarq-with-glo-initiate-request")
            << u"wrapper 16→1 | AARQ LN-ciphered, auth high-gmac | glo-initiate-request SC 0x30 IC 1 | decrypted: InitiateRequest conformance 00 7E 1F"_s
            << TraceKind::Association;
        QTest::newRow("glo-initiate-response-alone")
            << u"wrapper 1→16 | glo-initiate-response SC 0x30 IC 1, 31 bytes ciphered"_s
            << TraceKind::Association;
        QTest::newRow("glo-confirmed-service-error")
            << u"wrapper 1→16 | glo-confirmed-service-error SC 0x30 IC 2, 10 bytes ciphered"_s
            << TraceKind::Exception;
    }
    void kindsOfDecodedLines()
    {
        QFETCH(QString, summary);
        QFETCH(TraceKind, kind);
        QCOMPARE(traceKindFor(summary), kind);
    }

    void decryptedEntriesAreMarked()
    {
        TraceModel model;
        QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
        TraceEntry plain;
        plain.summary = u"wrapper 16→1 | glo-get-request SC 0x30 IC 4, 30 bytes ciphered"_s;
        TraceEntry decrypted = plain;
        decrypted.summary += u" | decrypted: GET-Request-Normal iid=2"_s;
        decrypted.details = {u"1.0.32.7.0.255:2"_s};
        decrypted.decrypted = true;
        TraceEntry failed = decrypted;
        failed.isError = true;
        model.append({plain, decrypted, failed});

        QCOMPARE(model.index(0, TraceModel::Decode).data().toString(), plain.summary);
        QVERIFY(!model.index(0, TraceModel::Decode).data(TraceModel::DecryptedRole).toBool());
        QVERIFY(!model.index(0, TraceModel::Decode).data(Qt::ForegroundRole).isValid());
        QCOMPARE(model.index(0, TraceModel::Decode).data(Qt::ToolTipRole).toString(), plain.summary);

        QCOMPARE(model.index(1, TraceModel::Decode).data().toString(), u"[decrypted] "_s + decrypted.summary);
        QVERIFY(model.index(1, TraceModel::Decode).data(TraceModel::DecryptedRole).toBool());
        QCOMPARE(model.index(1, TraceModel::Decode).data(Qt::ToolTipRole).toString(),
            u"Deciphered with the meter's keys\n1.0.32.7.0.255:2"_s);
        QCOMPARE(model.index(1, TraceModel::Decode).data(Qt::ForegroundRole).value<QBrush>().color(),
            QColor(0x00, 0x69, 0x5C));
        // Only the Decode column is tinted; an error keeps its red.
        QVERIFY(!model.index(1, TraceModel::Hex).data(Qt::ForegroundRole).isValid());
        QCOMPARE(model.index(2, TraceModel::Decode).data(Qt::ForegroundRole).value<QBrush>().color(),
            QColor(0xC0, 0x1C, 0x28));
        QCOMPARE(TraceModel::decodeText(decrypted), u"[decrypted] "_s + decrypted.summary);
        QCOMPARE(TraceModel::decodeText(plain), plain.summary);
    }

    void kindNamesAreDistinct()
    {
        QSet<QString> names;
        for (int k = 0; k <= int(TraceKind::Other); ++k)
            names.insert(traceKindName(TraceKind(k)));
        QCOMPARE(names.size(), int(TraceKind::Other) + 1);
        QVERIFY(!names.contains(QString()));
    }
};

QTEST_MAIN(tst_TraceModel)
#include "tst_tracemodel.moc"
