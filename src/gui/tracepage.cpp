#include "tracepage.h"

#include "tracemodel.h"
#include "ui_tracepage.h"

#include <displayformat.h>
#include <tracedecoder.h>

#include <QtCore/QDateTime>
#include <QtCore/QDir>
#include <QtCore/QSaveFile>
#include <QtCore/QSet>
#include <QtCore/QSortFilterProxyModel>
#include <QtCore/QStandardPaths>
#include <QtCore/QTimer>
#include <QtGui/QFontDatabase>
#include <QtGui/QIcon>
#include <QtWidgets/QFileDialog>
#include <QtWidgets/QHeaderView>
#include <QtWidgets/QMessageBox>
#include <QtWidgets/QScrollBar>

#include <deque>
#include <map>

using namespace Qt::StringLiterals;

namespace {

constexpr int FlushIntervalMs = 100; // lines arriving within this are inserted together
constexpr TraceKind Kinds[] = {TraceKind::Link, TraceKind::Association, TraceKind::Get, TraceKind::Set,
    TraceKind::Action, TraceKind::Release, TraceKind::Exception, TraceKind::Error, TraceKind::Other};

class TraceFilter final : public QSortFilterProxyModel {
public:
    using QSortFilterProxyModel::QSortFilterProxyModel;

    void setFilter(const QString &meterId, int kind)
    {
        if (meterId == m_meter && kind == m_kind)
            return;
        m_meter = meterId;
        m_kind = kind;
        invalidateFilter();
    }
    bool isFiltering() const { return !m_meter.isEmpty() || m_kind >= 0; }

protected:
    bool filterAcceptsRow(int sourceRow, const QModelIndex &) const override
    {
        if (!isFiltering())
            return true;
        const TraceEntry &e = static_cast<const TraceModel *>(sourceModel())->entry(sourceRow);
        return (m_meter.isEmpty() || e.meterId == m_meter) && (m_kind < 0 || int(e.kind) == m_kind);
    }

private:
    QString m_meter;
    int m_kind = -1;
};

} // namespace

struct TracePage::Private {
    TraceModel *model = nullptr;
    TraceFilter *proxy = nullptr;
    std::map<QString, dlms::TraceDecoder> decoders; // one per meter: each keeps its reassembly
    QHash<QString, dlms::SecuritySettings> security; // the meters' keys, for their decoders
    QStringList meters; // the meter filter's choices
    std::vector<TraceEntry> incoming; // decoded, waiting for the next flush
    std::deque<TraceEntry> held; // arrived while paused
    qint64 droppedHere = 0; // lines the page's own bounds pushed out before reaching the model
    QTimer flushTimer;
    bool capturing = false;
    QStringList captureIds;
    bool paused = false;
    bool scrollOnShow = false; // lines came while hidden and the view was following the tail

    void bound(auto &buffer)
    {
        const auto excess = qsizetype(buffer.size()) - model->capacity();
        if (excess <= 0)
            return;
        buffer.erase(buffer.begin(), buffer.begin() + excess);
        droppedHere += excess;
    }
};

TracePage::TracePage(QWidget *parent)
    : QWidget(parent), m_ui(std::make_unique<Ui::TracePage>()), d(std::make_unique<Private>())
{
    m_ui->setupUi(this);
    d->model = new TraceModel(20'000, this);
    d->proxy = new TraceFilter(this);
    d->proxy->setSourceModel(d->model);

    QTableView *table = m_ui->traceTable;
    table->setModel(d->proxy);
    // Fixed row heights and column widths: no per-row measuring, whatever the number of lines.
    table->verticalHeader()->setSectionResizeMode(QHeaderView::Fixed);
    table->verticalHeader()->setDefaultSectionSize(table->fontMetrics().height() + 4);
    const int em = table->fontMetrics().horizontalAdvance(u'M');
    QHeaderView *header = table->horizontalHeader();
    header->resizeSection(TraceModel::Time, em * 8);
    header->resizeSection(TraceModel::Meter, em * 7);
    header->resizeSection(TraceModel::Direction, em * 6);
    header->resizeSection(TraceModel::Kind, em * 7);
    header->resizeSection(TraceModel::Size, em * 4);
    header->resizeSection(TraceModel::Hex, em * 22);
    m_ui->detailsView->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    m_ui->splitter->setStretchFactor(0, 4);
    m_ui->splitter->setStretchFactor(1, 1);

    m_ui->captureButton->setIcon(QIcon(u":/icons/start.svg"_s));
    m_ui->clearButton->setIcon(QIcon(u":/icons/clear.svg"_s));
    m_ui->saveButton->setIcon(QIcon(u":/icons/save.svg"_s));
    m_ui->meterFilter->addItem(tr("All meters"), QString());
    m_ui->kindFilter->addItem(tr("All kinds"), -1);
    for (TraceKind kind : Kinds)
        m_ui->kindFilter->addItem(traceKindName(kind), int(kind));

    d->flushTimer.setSingleShot(true);
    d->flushTimer.setInterval(FlushIntervalMs);
    connect(&d->flushTimer, &QTimer::timeout, this, [this] { flush(); });

    connect(m_ui->meterFilter, &QComboBox::currentIndexChanged, this, [this] { filtersChanged(); });
    connect(m_ui->kindFilter, &QComboBox::currentIndexChanged, this, [this] { filtersChanged(); });
    connect(m_ui->captureButton, &QToolButton::toggled, this, &TracePage::setCapturing);
    connect(m_ui->pauseButton, &QToolButton::toggled, this, &TracePage::setPaused);
    connect(m_ui->clearButton, &QToolButton::clicked, this, [this] {
        d->model->clear();
        d->incoming.clear();
        d->held.clear();
        d->droppedHere = 0;
        m_ui->detailsView->clear();
        updateCount();
    });
    connect(m_ui->saveButton, &QToolButton::clicked, this, [this] {
        const QString dir = QStandardPaths::writableLocation(QStandardPaths::DocumentsLocation);
        const QString name = QDateTime::currentDateTime().toString(u"'trace-'yyyyMMdd-HHmmss'.txt'"_s);
        const QString fileName = QFileDialog::getSaveFileName(
            this, tr("Save trace"), QDir(dir).filePath(name), tr("Text files (*.txt);;All files (*)"));
        if (fileName.isEmpty())
            return;
        QString error;
        if (!saveTo(fileName, &error))
            QMessageBox::warning(
                this, tr("Save trace"), tr("Cannot save the trace to %1: %2").arg(fileName, error));
    });
    connect(
        table->selectionModel(), &QItemSelectionModel::currentRowChanged, this, [this] { showDetails(); });
    connect(d->proxy, &QAbstractItemModel::modelReset, this, [this] { showDetails(); });
    updateButtons();
    updateCount();
}

TracePage::~TracePage() = default;

TraceModel *TracePage::model() const
{
    return d->model;
}

void TracePage::setMeters(const QStringList &meterIds)
{
    // A meter the configuration dropped has no more bytes coming: its decoder (and whatever
    // half frame it holds) goes; a meter of the same id later starts afresh.
    std::erase_if(d->decoders, [&](const auto &item) { return !meterIds.contains(item.first); });
    QStringList meters = meterIds;
    // Meters that already have lines stay selectable even when the configuration drops them.
    QSet<QString> withLines;
    for (int row = 0; row < d->model->rowCount(); ++row)
        withLines.insert(d->model->entry(row).meterId);
    for (const TraceEntry &e : d->incoming)
        withLines.insert(e.meterId);
    for (const TraceEntry &e : d->held)
        withLines.insert(e.meterId);
    for (const QString &id : std::as_const(d->meters)) {
        if (!meters.contains(id) && withLines.contains(id))
            meters.append(id);
    }
    if (meters == d->meters)
        return;
    d->meters = meters;
    const QString current = m_ui->meterFilter->currentData().toString();
    {
        QSignalBlocker block(m_ui->meterFilter);
        while (m_ui->meterFilter->count() > 1)
            m_ui->meterFilter->removeItem(1);
        for (const QString &id : std::as_const(d->meters))
            m_ui->meterFilter->addItem(id, id);
        m_ui->meterFilter->setCurrentIndex(std::max(0, m_ui->meterFilter->findData(current)));
    }
    filtersChanged();
}

void TracePage::setMeterSecurity(const QHash<QString, dlms::SecuritySettings> &security)
{
    if (security == d->security)
        return;
    // Only decoders whose keys changed are told: the others keep their state as it is.
    for (auto &[id, decoder] : d->decoders) {
        const dlms::SecuritySettings now = security.value(id);
        if (now != d->security.value(id))
            decoder.setSecurity(now);
    }
    d->security = security;
}

void TracePage::addBytes(
    const QString &meterId, dlms::Direction direction, const QByteArray &bytes, qint64 timestampMs)
{
    auto [decoder, isNew] = d->decoders.try_emplace(meterId);
    if (isNew) {
        if (const auto keys = d->security.constFind(meterId); keys != d->security.cend())
            decoder->second.setSecurity(*keys);
    }
    if (isNew && !d->meters.contains(meterId)) {
        d->meters.append(meterId);
        QSignalBlocker block(m_ui->meterFilter);
        m_ui->meterFilter->addItem(meterId, meterId);
    }
    std::vector<dlms::TraceDecoder::Line> lines = decoder->second.feed(direction, bytes);
    if (lines.empty())
        return;
    for (dlms::TraceDecoder::Line &line : lines) {
        TraceEntry entry;
        entry.timestampMs = timestampMs;
        entry.meterId = meterId;
        entry.direction = line.direction;
        entry.kind = traceKindFor(line.summary);
        entry.size = line.size;
        entry.hex = std::move(line.hex);
        entry.summary = std::move(line.summary);
        entry.details = std::move(line.details);
        entry.isError = line.isError;
        entry.decrypted = line.decrypted;
        TraceModel::bound(entry); // held and queued lines are bounded too
        if (d->paused)
            d->held.push_back(std::move(entry));
        else
            d->incoming.push_back(std::move(entry));
    }
    if (d->paused)
        d->bound(d->held);
    else
        d->bound(d->incoming);
    if (!d->flushTimer.isActive())
        d->flushTimer.start();
}

bool TracePage::isCapturing() const
{
    return d->capturing;
}

void TracePage::setCapturing(bool on)
{
    if (on == d->capturing)
        return;
    d->capturing = on;
    {
        QSignalBlocker block(m_ui->captureButton);
        m_ui->captureButton->setChecked(on);
    }
    if (on)
        d->captureIds = filteredMeters();
    updateButtons();
    Q_EMIT captureRequested(d->captureIds, on);
}

bool TracePage::isPaused() const
{
    return d->paused;
}

void TracePage::setPaused(bool paused)
{
    if (paused == d->paused)
        return;
    if (paused)
        flush(); // what arrived before the pause is shown
    d->paused = paused;
    {
        QSignalBlocker block(m_ui->pauseButton);
        m_ui->pauseButton->setChecked(paused);
    }
    if (!paused) {
        // Everything held, in one insert, then whatever came since the last flush.
        std::vector<TraceEntry> entries;
        entries.reserve(d->held.size() + d->incoming.size());
        std::move(d->held.begin(), d->held.end(), std::back_inserter(entries));
        std::move(d->incoming.begin(), d->incoming.end(), std::back_inserter(entries));
        d->held.clear();
        d->incoming = std::move(entries);
        flush();
    }
    updateButtons();
    updateCount();
}

int TracePage::visibleRowCount() const
{
    const_cast<TracePage *>(this)->flush();
    return d->proxy->rowCount();
}

bool TracePage::saveTo(const QString &fileName, QString *error)
{
    flush();
    QSaveFile file(fileName);
    if (!file.open(QIODevice::WriteOnly | QIODevice::Text)) {
        if (error)
            *error = file.errorString();
        return false;
    }
    QByteArray chunk;
    for (int row = 0; row < d->proxy->rowCount(); ++row) {
        const TraceEntry &e = d->model->entry(d->proxy->mapToSource(d->proxy->index(row, 0)).row());
        QString line = TraceModel::timestampText(e.timestampMs) + u' ' + e.meterId + u' '
            + (e.direction == dlms::Direction::Sent ? u"→"_s : u"←"_s) + u' ' + TraceModel::decodeText(e);
        if (!e.hex.isEmpty())
            line += u" | "_s + e.hex;
        line += u'\n';
        for (const QString &detail : e.details)
            line += u"    "_s + detail + u'\n';
        chunk += line.toUtf8();
        if (chunk.size() > 64 * 1024) {
            file.write(chunk);
            chunk.clear();
        }
    }
    file.write(chunk);
    if (!file.commit()) {
        if (error)
            *error = file.errorString();
        return false;
    }
    return true;
}

void TracePage::flush()
{
    d->flushTimer.stop();
    if (d->paused || d->incoming.empty()) {
        updateCount();
        return;
    }
    QScrollBar *bar = m_ui->traceTable->verticalScrollBar();
    // Follow the tail unless the user scrolled up to read something.
    const bool follow = bar->value() >= bar->maximum();
    d->model->append(std::exchange(d->incoming, {}));
    if (follow && isVisible())
        m_ui->traceTable->scrollToBottom();
    else if (follow)
        d->scrollOnShow = true;
    updateCount();
}

QStringList TracePage::filteredMeters() const
{
    const QString id = m_ui->meterFilter->currentData().toString();
    return id.isEmpty() ? QStringList() : QStringList {id};
}

void TracePage::filtersChanged()
{
    d->proxy->setFilter(m_ui->meterFilter->currentData().toString(), m_ui->kindFilter->currentData().toInt());
    // Capture follows the meter filter: the bridge traces what the page shows.
    if (d->capturing) {
        const QStringList ids = filteredMeters();
        if (ids != d->captureIds) {
            Q_EMIT captureRequested(d->captureIds, false);
            d->captureIds = ids;
            Q_EMIT captureRequested(d->captureIds, true);
        }
    }
    updateCount();
    if (isVisible())
        m_ui->traceTable->scrollToBottom();
}

void TracePage::updateCount()
{
    const auto total = quint64(d->model->rowCount());
    const auto dropped = quint64(d->model->droppedCount() + d->droppedHere);
    QString text;
    if (d->paused)
        text = tr("%1 lines, %2 dropped, %3 held while paused")
                   .arg(monitor::formatCount(total), monitor::formatCount(dropped),
                       monitor::formatCount(quint64(d->held.size())));
    else if (d->proxy->isFiltering())
        text = tr("%1 of %2 lines, %3 dropped")
                   .arg(monitor::formatCount(quint64(d->proxy->rowCount())), monitor::formatCount(total),
                       monitor::formatCount(dropped));
    else
        text = tr("%1 lines, %2 dropped").arg(monitor::formatCount(total), monitor::formatCount(dropped));
    m_ui->countLabel->setText(text);
}

void TracePage::updateButtons()
{
    m_ui->pauseButton->setText(d->paused ? tr("Resume") : tr("Pause"));
    m_ui->pauseButton->setIcon(QIcon(d->paused ? u":/icons/resume.svg"_s : u":/icons/pause.svg"_s));
    m_ui->captureButton->setIcon(QIcon(d->capturing ? u":/icons/stop.svg"_s : u":/icons/start.svg"_s));
}

void TracePage::showDetails()
{
    const QModelIndex current = m_ui->traceTable->selectionModel()->currentIndex();
    if (!current.isValid()) {
        m_ui->detailsView->clear();
        return;
    }
    const TraceEntry &e = d->model->entry(d->proxy->mapToSource(current).row());
    QString text = tr("%1  %2  %3  %4  %5 bytes")
                       .arg(TraceModel::timestampText(e.timestampMs), e.meterId,
                           TraceModel::directionText(e.direction), traceKindName(e.kind),
                           monitor::formatCount(quint64(e.size)))
        + u"\n\n"_s + TraceModel::decodeText(e) + u'\n';
    if (e.decrypted)
        text += TraceModel::decryptedNote() + u'\n';
    for (const QString &detail : e.details)
        text += u"    "_s + detail + u'\n';
    if (!e.hex.isEmpty())
        text += u'\n' + e.hex + u'\n';
    m_ui->detailsView->setPlainText(text);
}

void TracePage::changeEvent(QEvent *event)
{
    if (event->type() == QEvent::LanguageChange) {
        m_ui->retranslateUi(this);
        m_ui->meterFilter->setItemText(0, tr("All meters"));
        m_ui->kindFilter->setItemText(0, tr("All kinds"));
        for (int i = 1; i < m_ui->kindFilter->count(); ++i)
            m_ui->kindFilter->setItemText(i, traceKindName(TraceKind(m_ui->kindFilter->itemData(i).toInt())));
        Q_EMIT d->model->headerDataChanged(Qt::Horizontal, 0, TraceModel::ColumnCount - 1);
        if (d->model->rowCount() > 0)
            Q_EMIT d->model->dataChanged(d->model->index(0, TraceModel::Direction),
                d->model->index(d->model->rowCount() - 1, TraceModel::Decode));
        updateButtons();
        updateCount();
        showDetails();
    }
    QWidget::changeEvent(event);
}

void TracePage::showEvent(QShowEvent *event)
{
    QWidget::showEvent(event);
    flush();
    if (std::exchange(d->scrollOnShow, false))
        m_ui->traceTable->scrollToBottom();
}
