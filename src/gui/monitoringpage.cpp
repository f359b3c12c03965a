#include "monitoringpage.h"

#include "trafficchart.h"
#include "ui_monitoringpage.h"

#include <displayformat.h>
#include <metertablemodel.h>
#include <reader.h>
#include <seriesmodel.h>
#include <trafficmonitor.h>

#include <QtCore/QDateTime>
#include <QtCore/QEvent>
#include <QtCore/QItemSelectionModel>
#include <QtCore/QScopedValueRollback>
#include <QtCore/QSortFilterProxyModel>
#include <QtCore/QTimer>
#include <QtGui/QPainter>
#include <QtGui/QPixmap>
#include <QtWidgets/QHeaderView>
#include <QtWidgets/QStyle>
#include <QtWidgets/QStyledItemDelegate>

#include <optional>

using namespace Qt::StringLiterals;

namespace {

constexpr qint64 kMinuteMs = 60'000;
constexpr qint64 kHourMs = 60 * kMinuteMs;
// History ranges re-read the database at most this often while shown (rollups are per minute).
constexpr qint64 kHistoryRefreshMs = kMinuteMs;
// A chart that was never laid out (page not shown yet) is exported at this size.
constexpr QSize kExportChartSize(900, 320);
// A counters table sorted by a live figure is re-sorted this often (ticks).
constexpr int kLiveSortTicks = 5;

qint64 spanOf(MonitoringPage::Range range)
{
    switch (range) {
    case MonitoringPage::Range::Hour:
        return kHourMs;
    case MonitoringPage::Range::Day:
        return 24 * kHourMs;
    case MonitoringPage::Range::Week:
        return 7 * 24 * kHourMs;
    case MonitoringPage::Range::Live:
        break;
    }
    return 0;
}

// The counters table repaints every visible cell every second: plain text drawn directly costs
// a fraction of the styled path (option set-up from eight roles, eliding, style sub-rects).
// Selected and focused cells keep the style's look.
class CounterDelegate final : public QStyledItemDelegate {
public:
    using QStyledItemDelegate::QStyledItemDelegate;
    void paint(QPainter *painter, const QStyleOptionViewItem &option, const QModelIndex &index) const override
    {
        if (option.state & (QStyle::State_Selected | QStyle::State_HasFocus)) {
            QStyledItemDelegate::paint(painter, option, index);
            return;
        }
        const int margin
            = option.widget ? option.widget->style()->pixelMetric(QStyle::PM_FocusFrameHMargin) + 1 : 3;
        const QRect text = option.rect.adjusted(margin, 0, -margin, 0);
        const auto alignment
            = index.column() == monitor::MeterTableModel::Meter ? Qt::AlignLeft : Qt::AlignRight;
        painter->setPen(option.palette.color(QPalette::Text));
        // Clipped, not elided: eliding lays the text out a second time. Columns are sized for
        // the widest figure.
        painter->drawText(
            text, int(alignment | Qt::AlignVCenter | Qt::TextSingleLine), index.data().toString());
    }
};

void setText(QLabel *label, const QString &text)
{
    // Unchanged texts cost nothing: no relayout, no repaint.
    if (label->text() != text)
        label->setText(text);
}

} // namespace

struct MonitoringPage::Private {
    QPointer<monitor::TrafficMonitor> monitor;
    monitor::SeriesModel *series = nullptr;
    monitor::MeterTableModel *table = nullptr;
    QSortFilterProxyModel *proxy = nullptr;
    TrafficChart *bandwidthChart = nullptr;
    TrafficChart *packetChart = nullptr;
    QList<QLabel *> values; // every figure, for the dashes when there is nothing to show

    QString meter; // empty = all meters
    Range range = Range::Live;

    QString databasePath;
    std::optional<storage::Reader> reader; // opened on first use, dropped on errors
    QString historyError; // the untranslated cause, re-worded on a language change
    bool historyFailed = false;
    qint64 historyLoadedAtMs = 0;

    bool figuresStale = true; // a tick came while hidden
    bool historyStale = false;
    bool syncing = false; // combo ↔ table selection, so neither echoes the other
    bool removingRows = false;
    bool sortPending = false;
    int ticksSinceSort = 0;
};

MonitoringPage::MonitoringPage(QWidget *parent)
    : QWidget(parent), m_ui(std::make_unique<Ui::MonitoringPage>()), d(std::make_unique<Private>())
{
    m_ui->setupUi(this);
    m_ui->historyError->hide();

    d->bandwidthChart = new TrafficChart(TrafficChart::Kind::Bandwidth, m_ui->chartsContainer);
    d->bandwidthChart->setObjectName(u"bandwidthChart"_s);
    d->packetChart = new TrafficChart(TrafficChart::Kind::PacketRate, m_ui->chartsContainer);
    d->packetChart->setObjectName(u"packetRateChart"_s);
    m_ui->chartsLayout->addWidget(d->bandwidthChart);
    m_ui->chartsLayout->addWidget(d->packetChart);
    m_ui->chartsSplitter->setStretchFactor(0, 3);
    m_ui->chartsSplitter->setStretchFactor(1, 2);
    // The counters table's size hint (19 columns) would otherwise squeeze the charts: start at
    // 3:2, the user's drag decides from then on.
    m_ui->chartsSplitter->setSizes({3000, 2000});
    m_ui->rangeCombo->setSizeAdjustPolicy(QComboBox::AdjustToContents);
    m_ui->meterCombo->setSizeAdjustPolicy(QComboBox::AdjustToContents);

    d->values = findChildren<QLabel *>();
    d->values.removeIf([](const QLabel *label) { return !label->objectName().startsWith(u"value"_s); });

    m_ui->rangeCombo->setItemData(0, QVariant::fromValue(Range::Live));
    m_ui->rangeCombo->setItemData(1, QVariant::fromValue(Range::Hour));
    m_ui->rangeCombo->setItemData(2, QVariant::fromValue(Range::Day));
    m_ui->rangeCombo->setItemData(3, QVariant::fromValue(Range::Week));
    m_ui->meterCombo->addItem(tr("All meters"), QString());

    d->proxy = new QSortFilterProxyModel(this);
    d->proxy->setSortRole(monitor::MeterTableModel::SortRole);
    // Sorted on demand, not on every dataChanged: a dynamic sort re-sorts 2,000 rows each
    // second and relayouts the view. New rows are sorted in at once; rows sorted by a live
    // figure are re-sorted every few seconds, so they do not jump under the pointer.
    d->proxy->setDynamicSortFilter(false);
    d->proxy->setSortCaseSensitivity(Qt::CaseInsensitive);
    QTableView *table = m_ui->countersTable;
    table->setModel(d->proxy);
    table->setItemDelegate(new CounterDelegate(table));
    // Fixed sizes: measuring 2,000 rows' contents on every tick would cost more than the tick.
    table->verticalHeader()->setSectionResizeMode(QHeaderView::Fixed);
    table->verticalHeader()->setDefaultSectionSize(table->fontMetrics().height() + 6);
    table->horizontalHeader()->setSectionResizeMode(QHeaderView::Interactive);
    table->horizontalHeader()->setDefaultSectionSize(
        table->fontMetrics().horizontalAdvance(u"0000.0 kbit/s"_s));
    table->horizontalHeader()->setStretchLastSection(false);
    table->sortByColumn(monitor::MeterTableModel::Meter, Qt::AscendingOrder);
    connect(table->selectionModel(), &QItemSelectionModel::selectionChanged, this, [this] {
        if (d->syncing || d->removingRows)
            return;
        const QModelIndexList rows = m_ui->countersTable->selectionModel()->selectedRows();
        if (rows.size() == 1)
            setMeter(rows.first().data(monitor::MeterTableModel::MeterIdRole).toString());
    });

    connect(m_ui->meterCombo, &QComboBox::currentIndexChanged, this, [this](int index) {
        if (d->syncing || index < 0)
            return;
        setMeter(m_ui->meterCombo->itemData(index).toString());
    });
    connect(m_ui->rangeCombo, &QComboBox::currentIndexChanged, this, [this](int index) {
        if (index >= 0)
            setRange(m_ui->rangeCombo->itemData(index).value<Range>());
    });

    setMonitor(nullptr);
}

MonitoringPage::~MonitoringPage()
{
    // The charts hold the series model: let them drop it before it goes.
    d->bandwidthChart->setModel(nullptr);
    d->packetChart->setModel(nullptr);
}

void MonitoringPage::setMonitor(monitor::TrafficMonitor *monitor)
{
    if (d->monitor && d->monitor == monitor)
        return;
    if (d->monitor)
        disconnect(d->monitor, nullptr, this, nullptr);
    d->monitor = monitor;

    // New models on the new source; the old ones go once nothing shows them any more.
    monitor::SeriesModel *oldSeries = d->series;
    monitor::MeterTableModel *oldTable = d->table;
    d->series = new monitor::SeriesModel(monitor, this);
    d->table = new monitor::MeterTableModel(monitor, this);
    d->bandwidthChart->setModel(d->series);
    d->packetChart->setModel(d->series);
    // While rows go, the view moves its selection to a neighbour: no choice of the user's.
    connect(d->table, &QAbstractItemModel::rowsAboutToBeRemoved, this, [this] { d->removingRows = true; });
    d->proxy->setSourceModel(d->table);
    connect(d->table, &QAbstractItemModel::rowsRemoved, this, [this] { d->removingRows = false; });
    connect(d->table, &QAbstractItemModel::rowsInserted, this, &MonitoringPage::scheduleSort);
    delete oldSeries;
    delete oldTable;

    if (monitor) {
        connect(monitor, &monitor::TrafficMonitor::ticked, this, [this] {
            refreshFigures();
            if (d->proxy->sortColumn() > monitor::MeterTableModel::Meter && isVisible()
                && ++d->ticksSinceSort >= kLiveSortTicks)
                sortTable();
            if (d->range != Range::Live && isVisible() && nowMs() - d->historyLoadedAtMs >= kHistoryRefreshMs)
                loadHistory();
        });
        connect(monitor, &monitor::TrafficMonitor::meterAdded, this, [this](int index, const QString &id) {
            const QSignalBlocker blocker(m_ui->meterCombo);
            m_ui->meterCombo->insertItem(index + 1, id, id);
        });
        connect(monitor, &monitor::TrafficMonitor::meterRemoved, this, [this](int, const QString &id) {
            if (id == d->meter)
                setMeter(QString());
            const int item = m_ui->meterCombo->findData(id);
            if (item > 0) {
                const QSignalBlocker blocker(m_ui->meterCombo);
                m_ui->meterCombo->removeItem(item);
            }
        });
        // The bridge stopped: dashes and history only, like a page given no monitor.
        connect(monitor, &QObject::destroyed, this, [this] { setMonitor(nullptr); });
    }

    rebuildMeterCombo();
    applySelection();
}

void MonitoringPage::setDatabasePath(const QString &path)
{
    if (path == d->databasePath)
        return;
    d->databasePath = path;
    d->reader.reset();
    if (!d->monitor)
        rebuildMeterCombo();
    if (d->range != Range::Live)
        loadHistory();
}

void MonitoringPage::setMeter(const QString &meterId)
{
    const int item = meterId.isEmpty() ? 0 : m_ui->meterCombo->findData(meterId);
    // A meter the page does not list (unknown to the monitor and the database): all meters.
    const QString id = item > 0 ? meterId : QString();
    {
        const QScopedValueRollback guard(d->syncing, true);
        m_ui->meterCombo->setCurrentIndex(std::max(0, item));
        selectTableRow(id);
    }
    if (id == d->meter)
        return;
    d->meter = id;
    applySelection();
}

QString MonitoringPage::meter() const
{
    return d->meter;
}

void MonitoringPage::setRange(Range range)
{
    const int item = m_ui->rangeCombo->findData(QVariant::fromValue(range));
    if (item >= 0 && item != m_ui->rangeCombo->currentIndex()) {
        const QSignalBlocker blocker(m_ui->rangeCombo);
        m_ui->rangeCombo->setCurrentIndex(item);
    }
    if (range == d->range)
        return;
    d->range = range;
    applySelection();
}

MonitoringPage::Range MonitoringPage::range() const
{
    return d->range;
}

QPixmap MonitoringPage::chartImage() const
{
    auto sizeOf = [](const TrafficChart *chart) {
        return chart->isVisible() && !chart->size().isEmpty() ? chart->size() : kExportChartSize;
    };
    const QSize top = sizeOf(d->bandwidthChart);
    const QSize bottom = sizeOf(d->packetChart);
    const int width = std::max(top.width(), bottom.width());
    QPixmap image(width, top.height() + bottom.height());
    image.fill(Qt::white);
    QPainter painter(&image);
    painter.setRenderHint(QPainter::Antialiasing);
    d->bandwidthChart->renderTo(&painter, QRect(QPoint(0, 0), QSize(width, top.height())));
    d->packetChart->renderTo(&painter, QRect(QPoint(0, top.height()), QSize(width, bottom.height())));
    painter.end();
    return image;
}

void MonitoringPage::changeEvent(QEvent *event)
{
    if (event->type() == QEvent::LanguageChange) {
        m_ui->retranslateUi(this);
        m_ui->meterCombo->setItemText(0, tr("All meters"));
        showHistoryError();
        d->figuresStale = true;
        refreshFigures();
    }
    QWidget::changeEvent(event);
}

void MonitoringPage::showEvent(QShowEvent *event)
{
    QWidget::showEvent(event);
    if (d->figuresStale)
        refreshFigures();
    if (d->range != Range::Live && (d->historyStale || nowMs() - d->historyLoadedAtMs >= kHistoryRefreshMs))
        loadHistory();
}

qint64 MonitoringPage::nowMs() const
{
    // The monitor's clock when it has one, so a scripted monitor and its history agree.
    if (d->monitor && d->monitor->options().clock)
        return d->monitor->options().clock();
    return QDateTime::currentMSecsSinceEpoch();
}

void MonitoringPage::rebuildMeterCombo()
{
    QStringList ids;
    if (d->monitor) {
        ids = d->monitor->meterIds();
    } else if (storage::Reader *reader = openReader()) {
        // No bridge running: the meters the database knows, for their history.
        if (auto stored = reader->meterIds())
            ids = *stored;
    }
    {
        const QScopedValueRollback guard(d->syncing, true);
        const QSignalBlocker blocker(m_ui->meterCombo);
        QComboBox *combo = m_ui->meterCombo;
        while (combo->count() > 1)
            combo->removeItem(combo->count() - 1);
        for (const QString &id : std::as_const(ids))
            combo->addItem(id, id);
        const int item = d->meter.isEmpty() ? 0 : combo->findData(d->meter);
        if (item < 0)
            d->meter.clear();
        combo->setCurrentIndex(std::max(0, item));
    }
}

void MonitoringPage::selectTableRow(const QString &meterId)
{
    QItemSelectionModel *selection = m_ui->countersTable->selectionModel();
    const int row = d->monitor && !meterId.isEmpty() ? d->monitor->indexOf(meterId) : -1;
    if (row < 0 || row >= d->table->rowCount()) {
        selection->clear();
        return;
    }
    const QModelIndex index = d->proxy->mapFromSource(d->table->index(row, 0));
    selection->setCurrentIndex(index, QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
    m_ui->countersTable->scrollTo(index);
}

void MonitoringPage::scheduleSort()
{
    // Meters arrive in bursts (a configuration of 2,000 at start-up): one sort for the burst.
    if (d->sortPending)
        return;
    d->sortPending = true;
    QTimer::singleShot(0, this, &MonitoringPage::sortTable);
}

void MonitoringPage::sortTable()
{
    d->sortPending = false;
    d->ticksSinceSort = 0;
    if (d->proxy->sortColumn() >= 0)
        d->proxy->sort(d->proxy->sortColumn(), d->proxy->sortOrder());
}

void MonitoringPage::applySelection()
{
    if (d->range == Range::Live) {
        d->historyFailed = false;
        showHistoryError();
        d->series->setMeter(d->meter);
    } else {
        loadHistory();
    }
    d->figuresStale = true;
    refreshFigures();
}

storage::Reader *MonitoringPage::openReader()
{
    if (d->reader)
        return &*d->reader;
    if (d->databasePath.isEmpty()) {
        d->historyError = tr("no database is configured");
        return nullptr;
    }
    auto opened = storage::Reader::open(d->databasePath);
    if (!opened) {
        d->historyError = opened.error().message;
        return nullptr;
    }
    d->reader.emplace(std::move(*opened));
    return &*d->reader;
}

void MonitoringPage::loadHistory()
{
    if (d->range == Range::Live)
        return;
    if (!isVisible() && d->historyLoadedAtMs != 0) {
        // Read again when shown: nobody looks at it now.
        d->historyStale = true;
        return;
    }
    d->historyStale = false;
    const qint64 to = nowMs() + 1;
    d->historyLoadedAtMs = to - 1;
    const qint64 from = to - spanOf(d->range);
    const QString meterId = d->meter.isEmpty() ? QString(monitor::SystemMeterId) : d->meter;

    std::vector<monitor::MetricsRow> rows;
    d->historyFailed = true;
    if (storage::Reader *reader = openReader()) {
        auto result = reader->metrics(meterId, from, to);
        if (result) {
            rows = std::move(*result);
            d->historyFailed = false;
        } else {
            d->historyError = result.error().message;
            d->reader.reset(); // a fresh connection next time (file replaced, I/O error)
        }
    }
    showHistoryError();
    d->series->setHistory(rows);
}

void MonitoringPage::showHistoryError()
{
    QLabel *label = m_ui->historyError;
    if (!d->historyFailed || d->range == Range::Live) {
        label->hide();
        label->clear();
        return;
    }
    label->setText(tr("History unavailable: %1").arg(d->historyError));
    label->show();
}

void MonitoringPage::refreshFigures()
{
    if (!isVisible()) {
        d->figuresStale = true;
        return;
    }
    d->figuresStale = false;
    Ui::MonitoringPage &ui = *m_ui;
    const bool all = d->meter.isEmpty();
    // What exists only for the whole site (the interface, the outbox) is hidden for a meter.
    ui.reliabilityForm->setRowVisible(ui.valueOutbox, all);
    ui.issuesForm->setRowVisible(ui.valueIfErrors, all);
    ui.issuesForm->setRowVisible(ui.valueIfDrops, all);

    monitor::MeterStats s;
    if (d->monitor)
        s = all ? d->monitor->totalStats() : d->monitor->meterStats(d->meter);
    if (s.meterId.isEmpty()) {
        for (QLabel *label : std::as_const(d->values))
            setText(label, monitor::noData());
        ui.issuesGroup->setVisible(false);
        return;
    }

    using monitor::formatBitRate;
    using monitor::formatByteRate;
    using monitor::formatBytes;
    using monitor::formatCount;
    using monitor::formatMs;
    using monitor::formatPacketRate;
    using monitor::formatPercent;
    using monitor::noData;
    const polling::TrafficCounters &dlms = s.counters.dlms;
    const monitor::MeterCounters &c = s.counters;

    // A. The last complete second, in bytes per second as the seed showed it.
    setText(ui.valueUpload, formatByteRate(s.current.txBps / 8));
    setText(ui.valueDownload, formatByteRate(s.current.rxBps / 8));
    setText(ui.valueTotal, formatByteRate((s.current.txBps + s.current.rxBps) / 8));
    setText(ui.valuePacketsTx, formatPacketRate(s.current.txPps));
    setText(ui.valuePacketsRx, formatPacketRate(s.current.rxPps));

    // B.
    setText(ui.valueRequests, formatCount(dlms.requestsSent));
    setText(ui.valueResponses, formatCount(dlms.responsesReceived));
    setText(ui.valueAvgPayload, dlms.framesSent > 0 ? formatBytes(s.avgRequestBytes, true) : noData());
    setText(ui.valueMqttMessages, formatCount(c.mqttMessages));

    // C. MQTT counted as whole PUBLISH packets: what the network carried.
    setText(ui.valueDlmsSent, formatBytes(double(dlms.bytesSent)));
    setText(ui.valueDlmsReceived, formatBytes(double(dlms.bytesReceived)));
    setText(ui.valueMqttSent, formatBytes(double(c.mqttPacketBytes)));
    setText(ui.valueTotalData, formatBytes(double(dlms.bytesSent + dlms.bytesReceived + c.mqttPacketBytes)));

    // D. Over the live window (the seed's 300 samples).
    setText(ui.valueAvgUpload, formatBitRate(s.windowAverage.txBps));
    setText(ui.valuePeakUpload, formatBitRate(s.windowPeak.txBps));
    setText(ui.valueAvgDownload, formatBitRate(s.windowAverage.rxBps));
    setText(ui.valuePeakDownload, formatBitRate(s.windowPeak.rxBps));
    setText(ui.valueBytesPerReading, dlms.valuesRead > 0 ? formatBytes(s.dlmsBytesPerValue, true) : noData());
    setText(
        ui.valueMqttBytesPerReading, c.mqttValues > 0 ? formatBytes(s.mqttBytesPerValue, true) : noData());

    // Latency and reliability.
    const bool rtt = dlms.rttCount > 0;
    setText(ui.valueRttAvg, rtt ? formatMs(s.rttAvgMs) : noData());
    setText(ui.valueRttP95, rtt ? formatMs(s.rttP95Ms) : noData());
    setText(ui.valueRttMax, rtt ? formatMs(s.rttMaxMs) : noData());
    setText(ui.valueSuccessRate, s.pollSuccessRate >= 0 ? formatPercent(s.pollSuccessRate) : noData());
    const monitor::OutboxStatus outbox = d->monitor->outboxStatus();
    setText(ui.valueOutbox,
        all ? tr("%1 waiting, %2")
                  .arg(formatCount(quint64(std::max<qint64>(0, outbox.messages))),
                      formatBytes(double(std::max<qint64>(0, outbox.bytes))))
            : noData());

    // E. Shown only when something went wrong.
    const quint64 ifErrors = all ? c.ifRxErrors + c.ifTxErrors : 0;
    const quint64 ifDrops = all ? c.ifRxDrops + c.ifTxDrops : 0;
    setText(ui.valueIfErrors, formatCount(ifErrors));
    setText(ui.valueIfDrops, formatCount(ifDrops));
    setText(ui.valueTimeouts, formatCount(dlms.timeouts));
    setText(ui.valueReconnects, formatCount(dlms.reconnects));
    setText(ui.valueProtocolErrors, formatCount(dlms.protocolErrors));
    setText(ui.valuePublishFailures, formatCount(c.mqttPublishFailures));
    ui.valueIfErrors->setToolTip(
        tr("Received: %1, sent: %2").arg(formatCount(c.ifRxErrors), formatCount(c.ifTxErrors)));
    ui.valueIfDrops->setToolTip(
        tr("Received: %1, sent: %2").arg(formatCount(c.ifRxDrops), formatCount(c.ifTxDrops)));
    const bool issues
        = ifErrors + ifDrops + dlms.timeouts + dlms.reconnects + dlms.protocolErrors + c.mqttPublishFailures
        > 0;
    if (ui.issuesGroup->isVisibleTo(this) != issues)
        ui.issuesGroup->setVisible(issues);
}
