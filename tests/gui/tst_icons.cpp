#include <QtCore/QFile>
#include <QtCore/QXmlStreamReader>
#include <QtGui/QIcon>
#include <QtGui/QImage>
#include <QtGui/QPixmap>
#include <QtTest/QtTest>

using namespace Qt::StringLiterals;

// The fixed icon set every page references; a missing or broken file shows as a blank button.
class TestIcons final : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void iconRenders_data();
    void iconRenders();
    void noStrayIcons();

private:
    static QStringList expectedNames();
};

QStringList TestIcons::expectedNames()
{
    return {u"meters"_s, u"monitoring"_s, u"readings"_s, u"trace"_s, u"commissioning"_s, u"settings"_s,
        u"add"_s, u"edit"_s, u"remove"_s, u"import"_s, u"export"_s, u"open"_s, u"save"_s, u"start"_s,
        u"stop"_s, u"pause"_s, u"resume"_s, u"test"_s, u"clear"_s, u"about"_s, u"state-ok"_s, u"state-busy"_s,
        u"state-warning"_s, u"state-error"_s, u"state-paused"_s, u"state-idle"_s, u"broker"_s, u"database"_s};
}

void TestIcons::iconRenders_data()
{
    QTest::addColumn<QString>("path");
    QTest::addColumn<QString>("viewBox");
    for (const QString &name : expectedNames()) {
        const QString viewBox = name.startsWith(u"state-"_s) ? u"0 0 16 16"_s : u"0 0 24 24"_s;
        QTest::newRow(qPrintable(name)) << u":/icons/%1.svg"_s.arg(name) << viewBox;
    }
    QTest::newRow("application") << u":/dlmsbridge.svg"_s << u"0 0 64 64"_s;
}

void TestIcons::iconRenders()
{
    QFETCH(QString, path);
    QFETCH(QString, viewBox);

    QFile file(path);
    QVERIFY2(file.open(QIODevice::ReadOnly), qPrintable(path));
    const QByteArray bytes = file.readAll();
    QVERIFY(bytes.size() < 4096); // hand-written and small, not an editor export

    QXmlStreamReader xml(bytes);
    QString rootViewBox;
    bool sawRoot = false;
    while (!xml.atEnd()) {
        if (xml.readNext() == QXmlStreamReader::StartElement && !sawRoot) {
            sawRoot = true;
            QCOMPARE(xml.name().toString(), u"svg"_s);
            rootViewBox = xml.attributes().value(u"viewBox"_s).toString();
        }
    }
    QVERIFY2(!xml.hasError(), qPrintable(xml.errorString()));
    QCOMPARE(rootViewBox, viewBox);

    const QIcon icon(path);
    QVERIFY(!icon.isNull());
    for (int size : {16, 24, 48}) {
        const QPixmap pixmap = icon.pixmap(QSize(size, size));
        QVERIFY(!pixmap.isNull());
        const QImage image = pixmap.toImage().convertToFormat(QImage::Format_ARGB32);
        QCOMPARE(image.width(), size);
        int opaque = 0;
        for (int y = 0; y < image.height(); ++y)
            for (int x = 0; x < image.width(); ++x)
                opaque += qAlpha(image.pixel(x, y)) > 0 ? 1 : 0;
        // Some ink, but not a solid square (which is what an unsupported element renders as).
        QVERIFY2(opaque > size, qPrintable(u"%1 at %2 px: %3 pixels"_s.arg(path).arg(size).arg(opaque)));
        QVERIFY(opaque < size * size);
    }
}

void TestIcons::noStrayIcons()
{
    // Every file in :/icons is part of the fixed set, so no page points at an unlisted name.
    const QStringList files = QDir(u":/icons"_s).entryList(QDir::Files, QDir::Name);
    QStringList expected;
    for (const QString &name : expectedNames())
        expected << name + u".svg"_s;
    expected.sort();
    QCOMPARE(files, expected);
}

QTEST_MAIN(TestIcons)
#include "tst_icons.moc"
