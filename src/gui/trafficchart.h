#pragma once

#include <seriesmodel.h>

#include <QtCore/QPointer>
#include <QtWidgets/QWidget>

class QChart;
class QChartView;
class QLineSeries;
class QDateTimeAxis;
class QValueAxis;
class QPainter;

// One chart (bandwidth TX/RX in kbit/s, or packet rate TX/RX in packets/s) over time, fed by a
// monitor::SeriesModel: on each SeriesModel::updated() it hands each of its two series one
// replace() with the model's points and adjusts the axes — no per-point signals, no work when
// hidden (it catches up when shown). The only place that knows QtCharts, so a later switch to
// Qt Graphs stays here.
class TrafficChart final : public QWidget {
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(TrafficChart)

public:
    enum class Kind { Bandwidth, PacketRate };
    Q_ENUM(Kind)

    explicit TrafficChart(Kind kind, QWidget *parent = nullptr);
    ~TrafficChart() override;

    Kind kind() const { return m_kind; }
    void setModel(monitor::SeriesModel *model);
    monitor::SeriesModel *model() const { return m_model; }

    // For tests: how often the series were replaced, and what they hold now.
    int updateCount() const { return m_updates; }
    QList<QPointF> txPoints() const;
    QList<QPointF> rxPoints() const;

protected:
    void changeEvent(QEvent *event) override; // LanguageChange: titles and axis names
    void showEvent(QShowEvent *event) override;

private:
    friend class MonitoringPage; // chartImage() renders the charts, caught up, at any size

    void update();
    void refresh(); // update() regardless of visibility
    // Draws the chart (caught up first) into `target`, laid out at the target's size.
    void renderTo(QPainter *painter, const QRect &target);
    void retranslate();

    Kind m_kind;
    QPointer<monitor::SeriesModel> m_model;
    QChartView *m_view = nullptr;
    QChart *m_chart = nullptr;
    QLineSeries *m_tx = nullptr;
    QLineSeries *m_rx = nullptr;
    QDateTimeAxis *m_timeAxis = nullptr;
    QValueAxis *m_valueAxis = nullptr;
    int m_updates = 0;
    bool m_stale = false; // an update arrived while hidden
};
