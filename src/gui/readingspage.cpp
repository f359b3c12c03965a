#include "readingspage.h"

#include "readingsmodel.h"
#include "ui_readingspage.h"

#include <displayformat.h>
#include <reader.h>

#include <QtCharts/QChart>
#include <QtCharts/QChartView>
#include <QtCharts/QDateTimeAxis>
#include <QtCharts/QLineSeries>
#include <QtCharts/QValueAxis>
#include <QtCore/QDateTime>
#include <QtCore/QSortFilterProxyModel>
#include <QtCore/QThread>
#include <QtCore/QTimer>
#include <QtWidgets/QHeaderView>

#include <algorithm>
#include <atomic>
#include <memory>
#include <set>

using namespace Qt::StringLiterals;

namespace {

constexpr int MaxPoints = 2000;
constexpr int ApplyIntervalMs = 500; // queued batches reach the model at most this often
constexpr int MaxLiveWhileReading = 1000; // live points kept while a read runs
constexpr int Buckets = MaxPoints / 2; // min and max of each

struct Range {
    const char *name;
    qint64 ms;
    const char *axisFormat;
};
constexpr Range Ranges[] = {
    {QT_TRANSLATE_NOOP("ReadingsPage", "1 hour"), 3'600'000, "HH:mm"},
    {QT_TRANSLATE_NOOP("ReadingsPage", "24 hours"), 86'400'000, "HH:mm"},
    {QT_TRANSLATE_NOOP("ReadingsPage", "7 days"), 7 * 86'400'000LL, "MM-dd HH:mm"},
};
constexpr int DefaultRange = 1;

// Streams (time, value) points into at most MaxPoints: every point while they fit, otherwise
// the minimum and the maximum of each of Buckets equal time slices, so spikes survive. Memory is
// bounded whatever the number of rows.
class Downsampler {
public:
    explicit Downsampler(qint64 toMs) : m_to(toMs), m_buckets(Buckets) { m_raw.reserve(MaxPoints); }

    // Rows come in time order: the slices span from the first one to the end of the range, so
    // a week's range holding one day of data still gets every slice.
    void add(qint64 t, double v)
    {
        if (m_count++ == 0) {
            m_from = t;
            m_span = std::max<qint64>(1, m_to - t);
        }
        m_min = std::min(m_min, v);
        m_max = std::max(m_max, v);
        if (m_count <= MaxPoints)
            m_raw.append(QPointF(double(t), v));
        else if (!m_raw.isEmpty())
            m_raw = QList<QPointF>();
        const qint64 slot = std::clamp<qint64>((t - m_from) * Buckets / m_span, 0, Buckets - 1);
        Bucket &b = m_buckets[size_t(slot)];
        if (b.count++ == 0) {
            b.minT = b.maxT = t;
            b.min = b.max = v;
            return;
        }
        if (v < b.min) {
            b.min = v;
            b.minT = t;
        }
        if (v > b.max) {
            b.max = v;
            b.maxT = t;
        }
    }

    qint64 count() const { return m_count; }
    double min() const { return m_min; }
    double max() const { return m_max; }

    QList<QPointF> points() const
    {
        if (m_count <= MaxPoints)
            return m_raw;
        QList<QPointF> out;
        out.reserve(MaxPoints);
        for (const Bucket &b : m_buckets) {
            if (b.count == 0)
                continue;
            if (b.count == 1 || (b.minT == b.maxT && b.min == b.max)) {
                out.append(QPointF(double(b.minT), b.min));
                continue;
            }
            const QPointF low(double(b.minT), b.min);
            const QPointF high(double(b.maxT), b.max);
            if (b.minT <= b.maxT)
                out << low << high;
            else
                out << high << low;
        }
        return out;
    }

private:
    struct Bucket {
        qint64 count = 0;
        qint64 minT = 0;
        qint64 maxT = 0;
        double min = 0;
        double max = 0;
    };
    qint64 m_to;
    qint64 m_from = 0;
    qint64 m_span = 1;
    std::vector<Bucket> m_buckets;
    QList<QPointF> m_raw;
    qint64 m_count = 0;
    double m_min = std::numeric_limits<double>::max();
    double m_max = std::numeric_limits<double>::lowest();
};

// What a history read needs, copied for the worker thread: it holds nothing of the page.
struct HistoryRequest {
    QString databasePath;
    QString meterId;
    QString key;
    qint64 fromMs = 0;
    qint64 toMs = 0; // exclusive
    std::shared_ptr<const std::atomic_bool> cancelled;
};

struct HistoryResult {
    bool ok = false;
    QString error;
    QList<QPointF> points;
    qint64 readings = 0;
    double min = 0;
    double max = 0;
    QString unit;
};

// Runs on the worker thread, with a Reader opened (and closed) there.
HistoryResult readHistory(const HistoryRequest &request)
{
    HistoryResult result;
    auto reader = storage::Reader::open(request.databasePath);
    if (!reader) {
        result.error = reader.error().message;
        return result;
    }
    auto cursor = reader->readings(request.meterId, request.fromMs, request.toMs, request.key);
    if (!cursor) {
        result.error = cursor.error().message;
        return result;
    }
    Downsampler sampler(request.toMs);
    storage::StoredReading row;
    while (cursor->next(row)) {
        if (request.cancelled->load(std::memory_order_relaxed))
            return result; // superseded: nobody reads the result
        if (!polling::isNumericValue(row.value))
            continue;
        if (result.unit.isEmpty())
            result.unit = row.unit;
        sampler.add(row.timestampMs, row.value.toDouble());
    }
    if (const auto error = cursor->error()) {
        result.error = error->message;
        return result;
    }
    result.ok = true;
    result.points = sampler.points();
    result.readings = sampler.count();
    result.min = sampler.min();
    result.max = sampler.max();
    return result;
}

class ReadingsFilter final : public QSortFilterProxyModel {
public:
    using QSortFilterProxyModel::QSortFilterProxyModel;

    void setMeter(const QString &meterId)
    {
        if (meterId == m_meter)
            return;
        m_meter = meterId;
        invalidateFilter();
    }
    void setText(const QString &text)
    {
        if (text == m_text)
            return;
        m_text = text;
        invalidateFilter();
    }

protected:
    bool filterAcceptsRow(int sourceRow, const QModelIndex &sourceParent) const override
    {
        const QAbstractItemModel *source = sourceModel();
        const QModelIndex first = source->index(sourceRow, 0, sourceParent);
        if (!m_meter.isEmpty() && first.data(ReadingsModel::MeterIdRole).toString() != m_meter)
            return false;
        if (m_text.isEmpty())
            return true;
        return first.data(ReadingsModel::KeyRole).toString().contains(m_text, Qt::CaseInsensitive)
            || source->index(sourceRow, ReadingsModel::Obis, sourceParent)
                   .data()
                   .toString()
                   .contains(m_text, Qt::CaseInsensitive);
    }

private:
    QString m_meter;
    QString m_text;
};

} // namespace

struct ReadingsPage::Private {
    // What the status line says, kept as facts so a language change can say it again.
    struct Status {
        enum Kind { Hint, NoDatabase, Loading, Error, Empty, Points } kind = Hint;
        QString text; // Error: the message; Empty: the key
        qint64 points = 0;
        qint64 readings = 0;
        qint64 firstMs = 0;
        qint64 lastMs = 0;
    };

    ReadingsModel *model = nullptr;
    ReadingsFilter *proxy = nullptr;
    QTimer ageTimer;
    std::set<QString> meterIds; // the meter filter's choices

    QString databasePath;

    // Batches not yet in the model: the newest per meter, in order of first arrival.
    std::vector<polling::ReadingsBatch> pending;
    QHash<QString, size_t> pendingIndex;
    QTimer applyTimer;

    struct Read {
        QThread *thread = nullptr;
        std::shared_ptr<std::atomic_bool> cancelled;
    };
    std::vector<Read> reads; // running; only the newest one's result is used
    quint64 generation = 0;
    bool loading = false;
    std::vector<QPointF> liveWhileLoading; // for the plot, newer than the running read
    qint64 readToMs = 0;
    bool rebuildingMeters = false;

    // A finished read's result into the plot (only the newest read's).
    void showResult(ReadingsPage &page, const HistoryResult &result, qint64 fromMs, qint64 nowMs)
    {
        loading = false;
        const std::vector<QPointF> live = std::exchange(liveWhileLoading, {});
        status = {};
        if (!result.ok) {
            status.kind = Status::Error;
            status.text = result.error;
            page.renderStatus();
            Q_EMIT page.historyLoaded(-1);
            return;
        }
        plotFromMs = fromMs;
        unit = result.unit;
        timeAxis->setFormat(
            QString::fromLatin1(Ranges[std::max(0, page.m_ui->rangeCombo->currentIndex())].axisFormat));
        timeAxis->setRange(QDateTime::fromMSecsSinceEpoch(fromMs), QDateTime::fromMSecsSinceEpoch(nowMs));
        valueAxis->setTitleText(result.unit.isEmpty() ? plotKey : result.unit);
        status.text = plotKey;
        plotted = true;
        if (result.readings == 0) {
            status.kind = Status::Empty;
            valueAxis->setRange(0, 1);
        } else {
            series->replace(result.points);
            minValue = result.min;
            maxValue = result.max;
            page.fitValueAxis();
            status.kind = Status::Points;
            status.points = result.points.size();
            status.readings = result.readings;
            status.firstMs = qint64(result.points.first().x());
            status.lastMs = qint64(result.points.last().x());
        }
        page.renderStatus();
        for (const QPointF &point : live) {
            if (point.x() >= double(readToMs) && plotted && !loading)
                page.appendLivePoint(qint64(point.x()), point.y());
        }
        Q_EMIT page.historyLoaded(int(result.points.size()));
    }

    QChart *chart = nullptr;
    QLineSeries *series = nullptr;
    QDateTimeAxis *timeAxis = nullptr;
    QValueAxis *valueAxis = nullptr;

    QString plotMeter;
    QString plotKey;
    bool plotted = false; // the series holds the plot's current range (live points may append)
    bool replotOnShow = false; // a batch for the plot came while hidden
    qint64 plotFromMs = 0;
    double minValue = 0;
    double maxValue = 0;
    QString unit;
    Status status;
    bool selecting = false;
};

ReadingsPage::ReadingsPage(QWidget *parent)
    : QWidget(parent), m_ui(std::make_unique<Ui::ReadingsPage>()), d(std::make_unique<Private>())
{
    m_ui->setupUi(this);
    d->model = new ReadingsModel({}, this);
    d->proxy = new ReadingsFilter(this);
    d->proxy->setSourceModel(d->model);
    d->proxy->setSortRole(ReadingsModel::SortRole);
    d->proxy->setSortLocaleAware(true);
    QTableView *table = m_ui->readingsTable;
    table->setModel(d->proxy);
    table->horizontalHeader()->setSortIndicator(-1, Qt::AscendingOrder); // arrival order until a click
    table->verticalHeader()->setSectionResizeMode(QHeaderView::Fixed);
    table->verticalHeader()->setDefaultSectionSize(table->fontMetrics().height() + 6);
    m_ui->splitter->setStretchFactor(0, 3);
    m_ui->splitter->setStretchFactor(1, 2);

    m_ui->meterFilter->addItem(tr("All meters"), QString());
    for (const Range &range : Ranges)
        m_ui->rangeCombo->addItem(tr(range.name), range.ms);
    m_ui->rangeCombo->setCurrentIndex(DefaultRange);

    d->chart = new QChart;
    d->chart->legend()->hide();
    d->chart->setMargins(QMargins(4, 4, 4, 4));
    d->series = new QLineSeries(d->chart);
    d->chart->addSeries(d->series);
    d->timeAxis = new QDateTimeAxis(d->chart);
    d->valueAxis = new QValueAxis(d->chart);
    d->chart->addAxis(d->timeAxis, Qt::AlignBottom);
    d->chart->addAxis(d->valueAxis, Qt::AlignLeft);
    d->series->attachAxis(d->timeAxis);
    d->series->attachAxis(d->valueAxis);
    auto *view = new QChartView(d->chart, m_ui->chartHost);
    view->setObjectName(u"historyChart"_s);
    view->setRenderHint(QPainter::Antialiasing);
    m_ui->chartLayout->addWidget(view);

    d->applyTimer.setSingleShot(true);
    d->applyTimer.setInterval(ApplyIntervalMs);
    connect(&d->applyTimer, &QTimer::timeout, this, &ReadingsPage::applyPending);

    d->ageTimer.setInterval(1000);
    connect(&d->ageTimer, &QTimer::timeout, d->model, &ReadingsModel::refreshAges);

    connect(
        d->model, &QAbstractItemModel::rowsInserted, this, [this](const QModelIndex &, int first, int last) {
            for (int row = first; row <= last; ++row) {
                const QString id = d->model->index(row, 0).data(ReadingsModel::MeterIdRole).toString();
                if (d->meterIds.insert(id).second) {
                    // The choices stay sorted; "All meters" is item 0.
                    const int at = 1 + int(std::distance(d->meterIds.begin(), d->meterIds.find(id)));
                    m_ui->meterFilter->insertItem(at, id, id);
                }
            }
        });
    auto rebuildMeters = [this] {
        if (!d->rebuildingMeters)
            rebuildMeterFilter();
    };
    connect(d->model, &QAbstractItemModel::rowsRemoved, this, rebuildMeters);
    connect(d->model, &QAbstractItemModel::modelReset, this, rebuildMeters);

    connect(m_ui->meterFilter, &QComboBox::currentIndexChanged, this,
        [this] { d->proxy->setMeter(m_ui->meterFilter->currentData().toString()); });
    connect(m_ui->textFilter, &QLineEdit::textChanged, d->proxy, &ReadingsFilter::setText);
    connect(m_ui->rangeCombo, &QComboBox::currentIndexChanged, this, [this] {
        if (!d->plotMeter.isEmpty())
            plot();
    });
    connect(table->selectionModel(), &QItemSelectionModel::currentRowChanged, this,
        [this](const QModelIndex &current) {
            if (d->selecting || !current.isValid())
                return;
            d->plotMeter = current.data(ReadingsModel::MeterIdRole).toString();
            d->plotKey = current.data(ReadingsModel::KeyRole).toString();
            plot();
        });
    renderStatus();
}

ReadingsPage::~ReadingsPage()
{
    // The reads hold nothing of the page; they stop at their next row and are joined here.
    for (const Private::Read &read : d->reads)
        read.cancelled->store(true);
    for (const Private::Read &read : d->reads) {
        read.thread->wait();
        delete read.thread;
    }
}

ReadingsModel *ReadingsPage::model() const
{
    const_cast<ReadingsPage *>(this)->applyPending();
    return d->model;
}

void ReadingsPage::addBatch(const polling::ReadingsBatch &batch)
{
    // The newest batch per meter is all the table shows: memory stays one batch per meter.
    if (const auto it = d->pendingIndex.constFind(batch.meterId); it != d->pendingIndex.constEnd()) {
        d->pending[*it] = batch;
    } else {
        d->pendingIndex.insert(batch.meterId, d->pending.size());
        d->pending.push_back(batch);
    }
    if (isVisible() && !d->applyTimer.isActive())
        d->applyTimer.start();

    if ((!d->plotted && !d->loading) || batch.meterId != d->plotMeter)
        return;
    const auto reading = std::find_if(batch.readings.begin(), batch.readings.end(),
        [this](const polling::Reading &r) { return r.key == d->plotKey; });
    if (reading == batch.readings.end() || reading->quality == polling::Quality::Failed
        || !polling::isNumericValue(reading->value))
        return;
    if (!isVisible()) {
        d->replotOnShow = true;
        return;
    }
    if (d->loading) {
        // Appended once the read is plotted, if newer than what it read.
        if (d->liveWhileLoading.size() >= size_t(MaxLiveWhileReading))
            d->liveWhileLoading.erase(d->liveWhileLoading.begin());
        d->liveWhileLoading.emplace_back(double(batch.timestampMs), reading->value.toDouble());
        return;
    }
    appendLivePoint(batch.timestampMs, reading->value.toDouble());
}

void ReadingsPage::applyPending()
{
    d->applyTimer.stop();
    if (d->pending.empty())
        return;
    const std::vector<polling::ReadingsBatch> batches = std::exchange(d->pending, {});
    d->pendingIndex.clear();
    d->model->addBatches(batches);
}

void ReadingsPage::setMeters(const QHash<QString, QString> &namesById)
{
    d->model->setMeterNames(namesById);
    QSet<QString> gone;
    for (const QString &id : d->meterIds) {
        if (!namesById.contains(id))
            gone.insert(id);
    }
    for (const polling::ReadingsBatch &batch : d->pending) {
        if (!namesById.contains(batch.meterId))
            gone.insert(batch.meterId);
    }
    if (gone.isEmpty())
        return;
    std::erase_if(d->pending, [&](const polling::ReadingsBatch &b) { return gone.contains(b.meterId); });
    d->pendingIndex.clear();
    for (size_t i = 0; i < d->pending.size(); ++i)
        d->pendingIndex.insert(d->pending[i].meterId, i);
    // One filter rebuild for the whole removal, not one per run of rows.
    d->rebuildingMeters = true;
    d->model->removeMeters(gone);
    d->rebuildingMeters = false;
    rebuildMeterFilter();
}

void ReadingsPage::rebuildMeterFilter()
{
    std::set<QString> ids;
    for (int row = 0; row < d->model->rowCount(); ++row)
        ids.insert(d->model->index(row, 0).data(ReadingsModel::MeterIdRole).toString());
    if (ids == d->meterIds)
        return;
    const QString current = m_ui->meterFilter->currentData().toString();
    d->meterIds = std::move(ids);
    QSignalBlocker block(m_ui->meterFilter);
    while (m_ui->meterFilter->count() > 1)
        m_ui->meterFilter->removeItem(1);
    for (const QString &id : d->meterIds)
        m_ui->meterFilter->addItem(id, id);
    const int at = m_ui->meterFilter->findData(current);
    m_ui->meterFilter->setCurrentIndex(std::max(0, at));
    d->proxy->setMeter(m_ui->meterFilter->currentData().toString());
}

void ReadingsPage::setDatabasePath(const QString &path)
{
    if (path == d->databasePath)
        return;
    d->databasePath = path;
    if (!d->plotMeter.isEmpty())
        plot();
}

int ReadingsPage::showHistory(const QString &meterId, const QString &key)
{
    applyPending();
    d->plotMeter = meterId;
    d->plotKey = key;
    // Select the row too (when the filters show it), without plotting twice.
    for (int row = 0; row < d->model->rowCount(); ++row) {
        const QModelIndex index = d->model->index(row, 0);
        if (index.data(ReadingsModel::MeterIdRole).toString() != meterId
            || index.data(ReadingsModel::KeyRole).toString() != key)
            continue;
        const QModelIndex shown = d->proxy->mapFromSource(index);
        if (shown.isValid()) {
            d->selecting = true;
            m_ui->readingsTable->selectionModel()->setCurrentIndex(
                shown, QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
            m_ui->readingsTable->scrollTo(shown);
            d->selecting = false;
        }
        break;
    }
    return plot();
}

int ReadingsPage::historyPointCount() const
{
    return int(d->series->count());
}

int ReadingsPage::plot()
{
    d->plotted = false;
    d->replotOnShow = false;
    d->series->clear();
    d->liveWhileLoading.clear();
    ++d->generation;
    for (const Private::Read &read : d->reads)
        read.cancelled->store(true);
    if (d->databasePath.isEmpty()) {
        d->loading = false;
        d->status = {};
        d->status.kind = Private::Status::NoDatabase;
        renderStatus();
        Q_EMIT historyLoaded(-1);
        return -1;
    }

    const qint64 rangeMs = m_ui->rangeCombo->currentData().toLongLong();
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    HistoryRequest request;
    request.databasePath = d->databasePath;
    request.meterId = d->plotMeter;
    request.key = d->plotKey;
    request.fromMs = now - rangeMs;
    request.toMs = now + 1;
    auto cancelled = std::make_shared<std::atomic_bool>(false);
    request.cancelled = cancelled;
    auto result = std::make_shared<HistoryResult>();
    QThread *thread = QThread::create([request, result] { *result = readHistory(request); });
    thread->setObjectName(u"history"_s);
    // Queued to the page's thread; deleting the page drops the connection and joins the thread.
    connect(
        thread, &QThread::finished, this,
        [this, thread, result, generation = d->generation, from = request.fromMs, now] {
            thread->wait();
            std::erase_if(d->reads, [thread](const Private::Read &read) { return read.thread == thread; });
            delete thread;
            if (generation == d->generation)
                d->showResult(*this, *result, from, now);
        },
        Qt::QueuedConnection);
    d->reads.push_back({thread, cancelled});
    d->loading = true;
    d->readToMs = request.toMs;
    d->status = {};
    d->status.kind = Private::Status::Loading;
    renderStatus();
    thread->start();
    return -2;
}

void ReadingsPage::appendLivePoint(qint64 timestampMs, double value)
{
    const qint64 rangeMs = m_ui->rangeCombo->currentData().toLongLong();
    const qint64 end = std::max(timestampMs, QDateTime::currentMSecsSinceEpoch());
    d->plotFromMs = end - rangeMs;
    d->series->append(double(timestampMs), value);
    // The window slides: points that left it go, so a long session stays within the cap.
    int old = 0;
    while (old < d->series->count() && d->series->at(old).x() < double(d->plotFromMs))
        ++old;
    if (old > 0)
        d->series->removePoints(0, old);
    if (d->series->count() > MaxPoints + Buckets) {
        plot(); // downsample again rather than grow
        return;
    }
    d->timeAxis->setRange(QDateTime::fromMSecsSinceEpoch(d->plotFromMs), QDateTime::fromMSecsSinceEpoch(end));
    if (d->status.kind != Private::Status::Points) {
        d->status.kind = Private::Status::Points;
        d->status.firstMs = timestampMs;
        d->minValue = d->maxValue = value;
    }
    d->minValue = std::min(d->minValue, value);
    d->maxValue = std::max(d->maxValue, value);
    fitValueAxis();
    d->status.points = d->series->count();
    d->status.readings = std::max(d->status.readings - old, qint64(0)) + 1;
    d->status.firstMs = qint64(d->series->at(0).x());
    d->status.lastMs = timestampMs;
    renderStatus();
}

void ReadingsPage::fitValueAxis()
{
    double low = d->minValue;
    double high = d->maxValue;
    const double margin = high > low ? (high - low) * 0.05 : std::max(1.0, std::abs(high) * 0.05);
    d->valueAxis->setRange(low - margin, high + margin);
}

void ReadingsPage::renderStatus()
{
    const Private::Status &s = d->status;
    QString text;
    switch (s.kind) {
    case Private::Status::Hint:
        text = tr("Select a reading to plot its history.");
        break;
    case Private::Status::NoDatabase:
        text = tr("No database: readings history is not available.");
        break;
    case Private::Status::Loading:
        text = tr("Reading…");
        break;
    case Private::Status::Error:
        text = tr("Cannot read the database: %1").arg(s.text);
        break;
    case Private::Status::Empty:
        text = tr("No stored readings of %1 in this range").arg(s.text);
        break;
    case Private::Status::Points: {
        const QDateTime first = QDateTime::fromMSecsSinceEpoch(s.firstMs);
        const QDateTime last = QDateTime::fromMSecsSinceEpoch(s.lastMs);
        const QString from = first.toString(u"yyyy-MM-dd HH:mm"_s);
        const QString to = last.toString(first.date() == last.date() ? u"HH:mm"_s : u"yyyy-MM-dd HH:mm"_s);
        text = s.points < s.readings
            ? tr("%1 points (of %2 readings) from %3 to %4")
                  .arg(monitor::formatCount(quint64(s.points)), monitor::formatCount(quint64(s.readings)),
                      from, to)
            : tr("%1 points from %2 to %3").arg(monitor::formatCount(quint64(s.points)), from, to);
        break;
    }
    }
    m_ui->historyStatus->setText(text);
    m_ui->historyStatus->setProperty("error", s.kind == Private::Status::Error);
}

void ReadingsPage::changeEvent(QEvent *event)
{
    if (event->type() == QEvent::LanguageChange) {
        m_ui->retranslateUi(this);
        m_ui->meterFilter->setItemText(0, tr("All meters"));
        for (int i = 0; i < m_ui->rangeCombo->count() && i < int(std::size(Ranges)); ++i)
            m_ui->rangeCombo->setItemText(i, tr(Ranges[i].name));
        // The model's texts (headers, quality, ages) come from tr() when asked: ask again.
        Q_EMIT d->model->headerDataChanged(Qt::Horizontal, 0, ReadingsModel::ColumnCount - 1);
        if (d->model->rowCount() > 0)
            Q_EMIT d->model->dataChanged(d->model->index(0, 0),
                d->model->index(d->model->rowCount() - 1, ReadingsModel::ColumnCount - 1));
        renderStatus();
    }
    QWidget::changeEvent(event);
}

void ReadingsPage::showEvent(QShowEvent *event)
{
    QWidget::showEvent(event);
    d->model->refreshAges();
    d->ageTimer.start();
    applyPending();
    if (d->replotOnShow)
        plot();
}

void ReadingsPage::hideEvent(QHideEvent *event)
{
    d->ageTimer.stop();
    QWidget::hideEvent(event);
}
