// svgtopng: renders an SVG into square PNGs at the given sizes, for the hicolor icon theme
// (build time only, never installed). Usage: svgtopng INPUT.svg SIZE OUTPUT.png [SIZE OUTPUT.png]...

#include <QtCore/QStringList>
#include <QtGui/QGuiApplication>
#include <QtGui/QImage>
#include <QtGui/QPainter>
#include <QtSvg/QSvgRenderer>

#include <cstdio>

int main(int argc, char *argv[])
{
    // No display at build time; the caller's QT_QPA_PLATFORM wins when it is set.
    if (!qEnvironmentVariableIsSet("QT_QPA_PLATFORM"))
        qputenv("QT_QPA_PLATFORM", "offscreen");
    QGuiApplication application(argc, argv);

    const QStringList arguments = QCoreApplication::arguments().mid(1);
    if (arguments.size() < 3 || arguments.size() % 2 == 0) {
        std::fprintf(stderr, "usage: svgtopng INPUT.svg SIZE OUTPUT.png [SIZE OUTPUT.png]...\n");
        return 2;
    }

    QSvgRenderer renderer(arguments.first());
    if (!renderer.isValid()) {
        std::fprintf(stderr, "svgtopng: %s: not a valid SVG\n", qPrintable(arguments.first()));
        return 1;
    }

    for (qsizetype i = 1; i < arguments.size(); i += 2) {
        bool sizeOk = false;
        const int size = arguments.at(i).toInt(&sizeOk);
        if (!sizeOk || size < 1 || size > 4096) {
            std::fprintf(stderr, "svgtopng: %s: the size must be an integer from 1 to 4096\n",
                qPrintable(arguments.at(i)));
            return 2;
        }
        QImage image(size, size, QImage::Format_ARGB32_Premultiplied);
        image.fill(Qt::transparent);
        {
            // The painter must end before the image is saved.
            QPainter painter(&image);
            painter.setRenderHint(QPainter::Antialiasing);
            painter.setRenderHint(QPainter::SmoothPixmapTransform);
            renderer.render(&painter, QRectF(0, 0, size, size));
        }
        const QString &output = arguments.at(i + 1);
        if (!image.save(output, "PNG")) {
            std::fprintf(stderr, "svgtopng: %s: cannot write\n", qPrintable(output));
            return 1;
        }
    }
    return 0;
}
