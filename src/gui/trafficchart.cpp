#include "trafficchart.h"

#include <seriesmodel.h>

#include <QtCharts/QChart>
#include <QtCharts/QChartView>
#include <QtCharts/QDateTimeAxis>
#include <QtCharts/QLegend>
#include <QtCharts/QLineSeries>
#include <QtCharts/QValueAxis>
#include <QtCore/QDateTime>
#include <QtCore/QEvent>
#include <QtGui/QPainter>
#include <QtWidgets/QGraphicsScene>
#include <QtWidgets/QVBoxLayout>

#include <algorithm>

using namespace Qt::StringLiterals;

namespace {

// An empty chart still shows a sensible time span instead of the epoch.
constexpr qint64 kEmptySpanMs = 60'000;

} // namespace

TrafficChart::TrafficChart(Kind kind, QWidget *parent) : QWidget(parent), m_kind(kind)
{
    m_chart = new QChart;
    m_chart->legend()->setAlignment(Qt::AlignBottom);
    m_chart->setMargins(QMargins(4, 4, 4, 4));
    // Animations would re-layout and repaint for a second after every tick.
    m_chart->setAnimationOptions(QChart::NoAnimation);

    m_tx = new QLineSeries(m_chart);
    m_rx = new QLineSeries(m_chart);
    // OpenGL series do not render into grab() images (chart export) nor offscreen.
    m_tx->setUseOpenGL(false);
    m_rx->setUseOpenGL(false);
    m_chart->addSeries(m_tx);
    m_chart->addSeries(m_rx);

    m_timeAxis = new QDateTimeAxis(m_chart);
    m_timeAxis->setFormat(u"hh:mm:ss"_s);
    m_timeAxis->setTickCount(4); // labels that fit a chart a third of the window wide
    m_valueAxis = new QValueAxis(m_chart);
    m_valueAxis->setLabelFormat(u"%.1f"_s);
    m_valueAxis->setMin(0);
    m_valueAxis->setMax(1);
    m_chart->addAxis(m_timeAxis, Qt::AlignBottom);
    m_chart->addAxis(m_valueAxis, Qt::AlignLeft);
    for (QLineSeries *series : {m_tx, m_rx}) {
        series->attachAxis(m_timeAxis);
        series->attachAxis(m_valueAxis);
    }
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    m_timeAxis->setRange(
        QDateTime::fromMSecsSinceEpoch(now - kEmptySpanMs), QDateTime::fromMSecsSinceEpoch(now));

    m_view = new QChartView(m_chart, this); // takes ownership of the chart
    m_view->setObjectName(kind == Kind::Bandwidth ? u"bandwidthChartView"_s : u"packetRateChartView"_s);
    m_view->setRenderHint(QPainter::Antialiasing);
    m_view->setMinimumHeight(160);
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(m_view);

    retranslate();
}

TrafficChart::~TrafficChart() = default;

void TrafficChart::setModel(monitor::SeriesModel *model)
{
    if (m_model == model)
        return;
    if (m_model)
        disconnect(m_model, nullptr, this, nullptr);
    m_model = model;
    if (m_model) {
        connect(m_model, &monitor::SeriesModel::updated, this, &TrafficChart::update);
        connect(m_model, &QAbstractItemModel::modelReset, this, &TrafficChart::update);
        // A model deleted under the chart leaves it empty rather than showing stale lines.
        connect(m_model, &QObject::destroyed, this, [this] {
            m_model = nullptr;
            update();
        });
    }
    update();
}

QList<QPointF> TrafficChart::txPoints() const
{
    return m_tx->points();
}

QList<QPointF> TrafficChart::rxPoints() const
{
    return m_rx->points();
}

void TrafficChart::changeEvent(QEvent *event)
{
    if (event->type() == QEvent::LanguageChange)
        retranslate();
    QWidget::changeEvent(event);
}

void TrafficChart::showEvent(QShowEvent *event)
{
    QWidget::showEvent(event);
    if (m_stale)
        update();
}

void TrafficChart::update()
{
    // Hidden (another page, a minimised window): replacing the series would relayout a chart
    // nobody sees. One catch-up on show is enough.
    if (!isVisible()) {
        m_stale = true;
        return;
    }
    refresh();
}

void TrafficChart::refresh()
{
    m_stale = false;

    using Column = monitor::SeriesModel::Column;
    const bool bandwidth = m_kind == Kind::Bandwidth;
    const Column txColumn = bandwidth ? monitor::SeriesModel::TxBps : monitor::SeriesModel::TxPps;
    const Column rxColumn = bandwidth ? monitor::SeriesModel::RxBps : monitor::SeriesModel::RxPps;

    QList<QPointF> tx = m_model ? m_model->points(txColumn) : QList<QPointF>();
    QList<QPointF> rx = m_model ? m_model->points(rxColumn) : QList<QPointF>();
    // The model's lists are fresh copies: convert bits/s to kbit/s in place, finding the
    // highest value in the same pass.
    double highest = 0;
    const double scale = bandwidth ? 1000.0 : 1.0;
    for (QList<QPointF> *list : {&tx, &rx}) {
        for (QPointF &p : *list) {
            if (bandwidth)
                p.setY(p.y() / scale);
            highest = std::max(highest, p.y());
        }
    }

    const bool live = !m_model || m_model->isLive();
    m_timeAxis->setFormat(live ? u"hh:mm:ss"_s : u"dd.MM hh:mm"_s);
    qint64 first = 0;
    qint64 last = 0;
    if (!tx.isEmpty()) {
        first = qint64(tx.constFirst().x());
        last = qint64(tx.constLast().x());
    } else if (!rx.isEmpty()) {
        first = qint64(rx.constFirst().x());
        last = qint64(rx.constLast().x());
    } else {
        last = QDateTime::currentMSecsSinceEpoch();
        first = last - kEmptySpanMs;
    }
    if (last <= first)
        last = first + 1000; // one point: a one-second span, so the axis is not degenerate
    m_timeAxis->setRange(QDateTime::fromMSecsSinceEpoch(first), QDateTime::fromMSecsSinceEpoch(last));
    m_valueAxis->setRange(0, std::max(1.0, highest * 1.1));

    m_tx->replace(tx);
    m_rx->replace(rx);
    ++m_updates;
}

void TrafficChart::renderTo(QPainter *painter, const QRect &target)
{
    if (m_stale)
        refresh();
    // Lay the chart out at the image's size for the drawing, then give it back to the view.
    const QRectF onScreen = m_chart->geometry();
    m_chart->setGeometry(QRectF(QPointF(0, 0), QSizeF(target.size())));
    m_view->scene()->render(painter, QRectF(target), m_chart->geometry());
    m_chart->setGeometry(onScreen);
}

void TrafficChart::retranslate()
{
    if (m_kind == Kind::Bandwidth) {
        m_chart->setTitle(tr("Bandwidth"));
        m_valueAxis->setTitleText(tr("kbit/s"));
        m_tx->setName(tr("TX (upload)"));
        m_rx->setName(tr("RX (download)"));
    } else {
        m_chart->setTitle(tr("Packet rate"));
        m_valueAxis->setTitleText(tr("packets/s"));
        m_tx->setName(tr("TX packets"));
        m_rx->setName(tr("RX packets"));
    }
    m_timeAxis->setTitleText(tr("Time"));
}
