#include "meterspage.h"

#include "metercsvimport.h"
#include "meterdialog.h"
#include "meterlistmodel.h"
#include "ui_meterspage.h"

#include <bridge.h>
#include <connectiontest.h>
#include <displayformat.h>
#include <trafficmonitor.h>

#include <QtCore/QEvent>
#include <QtCore/QFile>
#include <QtCore/QSortFilterProxyModel>
#include <QtCore/QTimer>
#include <QtWidgets/QFileDialog>
#include <QtWidgets/QHeaderView>
#include <QtWidgets/QMessageBox>

#include <optional>

using namespace Qt::StringLiterals;

namespace {

// Filters on name, id and host only (not on the figures, which change every second).
class MeterFilterProxy final : public QSortFilterProxyModel {
public:
    using QSortFilterProxyModel::QSortFilterProxyModel;

    void setNeedle(const QString &needle)
    {
        const QString trimmed = needle.trimmed();
        if (trimmed == m_needle)
            return;
        m_needle = trimmed;
        // Not invalidateFilter(): without a dynamic sort, rows it lets back in are appended
        // unsorted; invalidate() rebuilds the mapping in the current sort order.
        invalidate();
    }

protected:
    bool filterAcceptsRow(int sourceRow, const QModelIndex &sourceParent) const override
    {
        if (m_needle.isEmpty())
            return true;
        const QAbstractItemModel *source = sourceModel();
        const auto contains = [&](int column, int role) {
            return source->index(sourceRow, column, sourceParent)
                .data(role)
                .toString()
                .contains(m_needle, Qt::CaseInsensitive);
        };
        return contains(MeterListModel::Name, Qt::DisplayRole)
            || contains(MeterListModel::Name, MeterListModel::MeterIdRole)
            || contains(MeterListModel::Address, Qt::DisplayRole);
    }

private:
    QString m_needle;
};

constexpr int kMaxProblemsShown = 10;
// A table sorted by a live figure is re-sorted this often (monitor ticks, one a second), so
// rows do not jump under the pointer every second.
constexpr int kLiveSortTicks = 5;

bool isLiveColumn(int column)
{
    return column >= MeterListModel::LastPoll && column < MeterListModel::ColumnCount;
}

} // namespace

struct MetersPage::Private {
    polling::MeterConfig defaults;
    bool refreshQueued = false;
    bool stale = false; // something changed while the page was hidden
    bool rowsArrived = false; // meters were added since the last sort
    int ticksSinceSort = 0;
    QMetaObject::Connection monitorTicks;
    QPointer<app::ConnectionTest> test;
    QString testedId;
    // What the result panel shows, kept so a language switch can render it again.
    enum class Panel : quint8 { Empty, Testing, TestResult, Message };
    Panel panel = Panel::Empty;
    app::ConnectionTestResult lastResult;
    QString message;
    bool messageOk = false;
};

MetersPage::MetersPage(app::Bridge *bridge, QWidget *parent)
    : QWidget(parent), m_ui(std::make_unique<Ui::MetersPage>()), d(std::make_unique<Private>()),
      m_bridge(bridge)
{
    m_ui->setupUi(this);
    m_model = new MeterListModel({}, this);
    auto *proxy = new MeterFilterProxy(this);
    m_proxy = proxy;
    m_proxy->setSourceModel(m_model);
    m_proxy->setSortRole(MeterListModel::SortRole);
    m_proxy->setSortCaseSensitivity(Qt::CaseInsensitive);
    // Sorted on demand (a header click, new meters, every few ticks for live figures), not on
    // every dataChanged: a dynamic sort re-sorts 2,000 rows each second, as ages change.
    m_proxy->setDynamicSortFilter(false);
    connect(m_model, &QAbstractItemModel::rowsInserted, this, [this] { d->rowsArrived = true; });

    QTableView *table = m_ui->table;
    table->setModel(m_proxy);
    // Unsorted until the user clicks a header: the bridge's configuration order.
    table->horizontalHeader()->setSortIndicator(-1, Qt::AscendingOrder);
    table->setSortingEnabled(true);
    // The view sorts on a header click; a live column waits its full interval from then.
    connect(table->horizontalHeader(), &QHeaderView::sortIndicatorChanged, this,
        [this] { d->ticksSinceSort = 0; });
    table->horizontalHeader()->setSectionResizeMode(QHeaderView::Interactive);
    table->horizontalHeader()->setSectionResizeMode(MeterListModel::State, QHeaderView::Stretch);
    table->horizontalHeader()->setStretchLastSection(false);
    table->verticalHeader()->setSectionResizeMode(QHeaderView::Fixed);

    const struct {
        QAbstractButton *button;
        const char *icon;
    } icons[] = {
        {m_ui->addButton, "add"},
        {m_ui->editButton, "edit"},
        {m_ui->removeButton, "remove"},
        {m_ui->importButton, "import"},
        {m_ui->pauseButton, "pause"},
        {m_ui->resumeButton, "resume"},
        {m_ui->pauseAllButton, "pause"},
        {m_ui->resumeAllButton, "resume"},
        {m_ui->testButton, "test"},
    };
    for (const auto &entry : icons)
        entry.button->setIcon(QIcon(u":/icons/%1.svg"_s.arg(QLatin1StringView(entry.icon))));

    connect(m_ui->addButton, &QAbstractButton::clicked, this, &MetersPage::addMeter);
    connect(m_ui->editButton, &QAbstractButton::clicked, this, &MetersPage::editSelected);
    connect(m_ui->removeButton, &QAbstractButton::clicked, this, &MetersPage::removeSelected);
    connect(m_ui->importButton, &QAbstractButton::clicked, this, [this] { importCsv(); });
    connect(m_ui->pauseButton, &QAbstractButton::clicked, this, [this] { setSelectedPaused(true); });
    connect(m_ui->resumeButton, &QAbstractButton::clicked, this, [this] { setSelectedPaused(false); });
    connect(m_ui->pauseAllButton, &QAbstractButton::clicked, this, [this] { setAllPaused(true); });
    connect(m_ui->resumeAllButton, &QAbstractButton::clicked, this, [this] { setAllPaused(false); });
    connect(m_ui->testButton, &QAbstractButton::clicked, this, &MetersPage::testSelected);
    connect(m_ui->searchEdit, &QLineEdit::textChanged, this,
        [proxy](const QString &text) { proxy->setNeedle(text); });
    connect(table, &QAbstractItemView::doubleClicked, this, [this] { editSelected(); });
    connect(
        table->selectionModel(), &QItemSelectionModel::selectionChanged, this, [this] { updateActions(); });
    connect(m_proxy, &QAbstractItemModel::rowsInserted, this, [this] { updateActions(); });
    connect(m_proxy, &QAbstractItemModel::rowsRemoved, this, [this] { updateActions(); });

    if (m_bridge) {
        connect(m_bridge, &app::Bridge::stateChanged, this, [this] {
            watchMonitor();
            updateActions();
            scheduleRefresh();
        });
        connect(m_bridge, &app::Bridge::meterStateChanged, this, [this] { scheduleRefresh(); });
        watchMonitor();
    }
    showPanel();
    refresh();
    table->resizeColumnsToContents();
}

MetersPage::~MetersPage() = default;

QStringList MetersPage::selectedIds() const
{
    QStringList ids;
    const QModelIndexList rows = m_ui->table->selectionModel()->selectedRows();
    for (const QModelIndex &index : rows)
        ids.append(index.data(MeterListModel::MeterIdRole).toString());
    return ids;
}

void MetersPage::selectMeter(const QString &meterId)
{
    for (int r = 0; r < m_proxy->rowCount(); ++r) {
        const QModelIndex index = m_proxy->index(r, 0);
        if (index.data(MeterListModel::MeterIdRole).toString() != meterId)
            continue;
        m_ui->table->selectionModel()->select(
            index, QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
        m_ui->table->selectionModel()->setCurrentIndex(index, QItemSelectionModel::NoUpdate);
        m_ui->table->scrollTo(index);
        return;
    }
}

void MetersPage::setMeterDefaults(const polling::MeterConfig &defaults)
{
    d->defaults = defaults;
}

void MetersPage::refresh()
{
    d->stale = false;
    QList<MeterRow> rows;
    if (m_bridge) {
        const QList<app::MeterStatus> meters = m_bridge->meters();
        const monitor::TrafficMonitor *monitor = m_bridge->monitor();
        rows.reserve(meters.size());
        for (const app::MeterStatus &status : meters) {
            MeterRow row;
            row.status = status;
            if (monitor)
                row.stats = monitor->meterSummary(status.id);
            rows.append(std::move(row));
        }
    }
    m_model->setRows(std::move(rows));
    const bool liveDue = isLiveColumn(m_proxy->sortColumn()) && d->ticksSinceSort >= kLiveSortTicks;
    if (d->rowsArrived || liveDue)
        sortTable();
    updateActions();
}

void MetersPage::sortTable()
{
    d->rowsArrived = false;
    d->ticksSinceSort = 0;
    if (m_proxy->sortColumn() >= 0)
        m_proxy->sort(m_proxy->sortColumn(), m_proxy->sortOrder());
}

void MetersPage::addMeter()
{
    if (!m_bridge)
        return;
    polling::MeterConfig meter = d->defaults;
    meter.id.clear();
    meter.name.clear();
    app::MeterPublishing publishing;
    bool refused = false;
    for (;;) {
        MeterDialog dialog(meter, publishing, meterIds(), false, this);
        // After a refusal the secrets passed in are the ones the user typed: keep them.
        dialog.setKeepsSecrets(refused);
        if (dialog.exec() != QDialog::Accepted)
            return;
        meter = dialog.meter();
        publishing = dialog.publishing();
        const dlms::Result<void> added = m_bridge->addMeter(meter, publishing);
        if (added) {
            refresh();
            selectMeter(meter.id);
            showMessage(tr("Meter %1 added.").arg(meter.id), true);
            return;
        }
        // The dialog comes back with what the user typed, and the refusal below the table.
        refused = true;
        showMessage(tr("Meter %1 was not added: %2").arg(meter.id, added.error().message), false);
    }
}

void MetersPage::editSelected()
{
    const QStringList ids = selectedIds();
    if (!m_bridge || ids.size() != 1)
        return;
    const QString id = ids.front();
    const polling::MeterConfig *current = m_bridge->config().findMeter(id);
    if (!current)
        return;
    const polling::MeterConfig original = *current;
    const app::MeterPublishing originalPublishing = m_bridge->config().publishingOf(id);
    QStringList taken = meterIds();
    taken.removeAll(id);

    polling::MeterConfig meter = original;
    app::MeterPublishing publishing = originalPublishing;
    for (;;) {
        MeterDialog dialog(meter, publishing, taken, true, this);
        if (dialog.exec() != QDialog::Accepted)
            return;
        meter = dialog.meter();
        publishing = dialog.publishing();
        // The password and token fields were left empty: keep the stored secrets.
        if (meter.id == id) {
            if (meter == original && publishing == originalPublishing)
                return;
            const dlms::Result<void> updated = m_bridge->updateMeter(meter, publishing);
            if (updated) {
                refresh();
                sortTable(); // the name or address may have moved the row
                showMessage(tr("Meter %1 updated.").arg(id), true);
                return;
            }
            showMessage(tr("Meter %1 was not updated: %2").arg(id, updated.error().message), false);
            continue;
        }
        const auto answer = QMessageBox::question(this, tr("Rename meter"),
            tr("Rename meter %1 to %2?\n\nThe readings and statistics stored so far stay under %1; "
               "new ones are stored under %2.")
                .arg(id, meter.id));
        if (answer != QMessageBox::Yes)
            continue;
        // Add first: when the new id is refused, the old meter is still there.
        const dlms::Result<void> added = m_bridge->addMeter(meter, publishing);
        if (!added) {
            showMessage(tr("Meter %1 was not renamed: %2").arg(id, added.error().message), false);
            continue;
        }
        m_bridge->removeMeter(id);
        refresh();
        selectMeter(meter.id);
        showMessage(tr("Meter %1 renamed to %2.").arg(id, meter.id), true);
        return;
    }
}

void MetersPage::removeSelected()
{
    const QStringList ids = selectedIds();
    if (!m_bridge || ids.isEmpty())
        return;
    const QString question = ids.size() == 1
        ? tr("Remove meter %1?\n\nIts stored readings and statistics stay in the database.").arg(ids.front())
        : tr("Remove %n meters?\n\nTheir stored readings and statistics stay in the database.", nullptr,
            int(ids.size()));
    if (QMessageBox::question(this, tr("Remove meters"), question) != QMessageBox::Yes)
        return;
    int removed = 0;
    for (const QString &id : ids)
        removed += m_bridge->removeMeter(id) ? 1 : 0;
    refresh();
    if (removed == int(ids.size()))
        showMessage(ids.size() == 1 ? tr("Meter %1 removed.").arg(ids.front())
                                    : tr("%n meters removed.", nullptr, removed),
            true);
    else
        showMessage(
            tr("%1 of %2 meters removed; the bridge refused the others.").arg(removed).arg(ids.size()),
            false);
}

bool MetersPage::importCsv(const QString &fileName)
{
    if (!m_bridge)
        return false;
    QString path = fileName;
    if (path.isEmpty()) {
        path = QFileDialog::getOpenFileName(
            this, tr("Import meters"), {}, tr("CSV files (*.csv *.txt);;All files (*)"));
        if (path.isEmpty())
            return false;
    }
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) {
        showMessage(tr("Cannot read %1: %2").arg(path, file.errorString()), false);
        return false;
    }
    // One byte past the parser's cap is enough for it to refuse the file.
    const QByteArray bytes = file.read(16 * 1024 * 1024 + 1);
    const dlms::Result<MeterCsvImport> parsed = parseMeterCsv(bytes, d->defaults, meterIds());
    if (!parsed) {
        showMessage(tr("Nothing imported from %1: %2").arg(path, parsed.error().message), false);
        return false;
    }
    if (!parsed->problems.isEmpty()) {
        QStringList lines = parsed->problems.mid(0, kMaxProblemsShown);
        if (parsed->problems.size() > kMaxProblemsShown)
            lines.append(tr("… and %n more", nullptr, int(parsed->problems.size() - kMaxProblemsShown)));
        showMessage(
            tr("Nothing imported from %1: %n rows have problems.", nullptr, int(parsed->problems.size()))
                    .arg(path)
                + u'\n' + lines.join(u'\n'),
            false);
        return false;
    }
    if (parsed->meters.empty()) {
        showMessage(tr("Nothing imported: %1 lists no meters.").arg(path), false);
        return false;
    }
    QStringList added;
    for (const polling::MeterConfig &meter : parsed->meters) {
        const dlms::Result<void> result = m_bridge->addMeter(meter, {});
        if (result) {
            added.append(meter.id);
            continue;
        }
        // All or nothing: undo the meters of this file already added.
        for (const QString &id : std::as_const(added))
            m_bridge->removeMeter(id);
        refresh();
        showMessage(tr("Nothing imported from %1: %2").arg(path, result.error().message), false);
        return false;
    }
    refresh();
    showMessage(tr("%n meters imported.", nullptr, int(added.size())), true);
    return true;
}

void MetersPage::setSelectedPaused(bool paused)
{
    const QStringList ids = selectedIds();
    if (!m_bridge || ids.isEmpty())
        return;
    int changed = 0;
    for (const QString &id : ids)
        changed += m_bridge->setPaused(id, paused) ? 1 : 0;
    refresh();
    if (changed == 0) {
        showMessage(tr("Polling is not running: start it first."), false);
        return;
    }
    if (ids.size() == 1)
        emit statusMessage(paused ? tr("%1 paused").arg(ids.front()) : tr("%1 resumed").arg(ids.front()));
    else
        emit statusMessage(
            paused ? tr("%n meters paused", nullptr, changed) : tr("%n meters resumed", nullptr, changed));
}

void MetersPage::setAllPaused(bool paused)
{
    if (!m_bridge)
        return;
    int changed = 0;
    for (const QString &id : meterIds())
        changed += m_bridge->setPaused(id, paused) ? 1 : 0;
    refresh();
    emit statusMessage(
        paused ? tr("%n meters paused", nullptr, changed) : tr("%n meters resumed", nullptr, changed));
}

void MetersPage::testSelected()
{
    const QStringList ids = selectedIds();
    if (!m_bridge || ids.isEmpty() || d->test)
        return;
    const polling::MeterConfig *meter = m_bridge->config().findMeter(ids.front());
    if (!meter)
        return;
    d->testedId = meter->id;
    auto *test = new app::ConnectionTest(*meter, this);
    d->test = test;
    connect(
        test, &app::ConnectionTest::finished, this, [this, test](const app::ConnectionTestResult &result) {
            test->deleteLater();
            d->test.clear();
            d->lastResult = result;
            d->panel = Private::Panel::TestResult;
            showPanel();
            updateActions();
            emit statusMessage(tr("Test of %1: %2").arg(d->testedId, result.summary()));
        });
    d->panel = Private::Panel::Testing;
    showPanel();
    updateActions();
    test->start();
}

void MetersPage::changeEvent(QEvent *event)
{
    if (event->type() == QEvent::LanguageChange) {
        m_ui->retranslateUi(this);
        showPanel();
        // The model translates when read: repaint the cells and headers.
        m_ui->table->viewport()->update();
        m_ui->table->horizontalHeader()->viewport()->update();
    }
    QWidget::changeEvent(event);
}

void MetersPage::showEvent(QShowEvent *event)
{
    QWidget::showEvent(event);
    if (d->stale)
        refresh();
}

void MetersPage::scheduleRefresh()
{
    if (!isVisible()) {
        d->stale = true;
        return;
    }
    if (d->refreshQueued)
        return;
    d->refreshQueued = true;
    QTimer::singleShot(0, this, [this] {
        d->refreshQueued = false;
        if (isVisible())
            refresh();
        else
            d->stale = true;
    });
}

void MetersPage::watchMonitor()
{
    disconnect(d->monitorTicks);
    if (monitor::TrafficMonitor *monitor = m_bridge ? m_bridge->monitor() : nullptr)
        d->monitorTicks = connect(monitor, &monitor::TrafficMonitor::ticked, this, [this] {
            ++d->ticksSinceSort;
            scheduleRefresh();
        });
}

QStringList MetersPage::meterIds() const
{
    QStringList ids;
    if (!m_bridge)
        return ids;
    for (const polling::MeterConfig &meter : m_bridge->config().site.meters)
        ids.append(meter.id);
    return ids;
}

void MetersPage::updateActions()
{
    const QStringList ids = selectedIds();
    const app::BridgeState state = m_bridge ? m_bridge->state() : app::BridgeState::Stopping;
    const bool editable = m_bridge && state != app::BridgeState::Stopping;
    const bool running = state == app::BridgeState::Running;
    bool anyPaused = false;
    bool anyActive = false;
    for (const QString &id : ids) {
        if (const MeterRow *row = m_model->row(id))
            (row->status.paused ? anyPaused : anyActive) = true;
    }
    m_ui->addButton->setEnabled(editable);
    m_ui->importButton->setEnabled(editable);
    m_ui->editButton->setEnabled(editable && ids.size() == 1);
    m_ui->removeButton->setEnabled(editable && !ids.isEmpty());
    m_ui->pauseButton->setEnabled(running && anyActive);
    m_ui->resumeButton->setEnabled(running && anyPaused);
    m_ui->pauseAllButton->setEnabled(running && m_model->rowCount() > 0);
    m_ui->resumeAllButton->setEnabled(running && m_model->rowCount() > 0);
    m_ui->testButton->setEnabled(m_bridge && !ids.isEmpty() && !d->test);
}

void MetersPage::showMessage(const QString &text, bool ok)
{
    d->panel = Private::Panel::Message;
    d->message = text;
    d->messageOk = ok;
    showPanel();
    emit statusMessage(text.section(u'\n', 0, 0));
}

void MetersPage::showPanel()
{
    QLabel *label = m_ui->testResult;
    m_ui->testBusy->setVisible(d->panel == Private::Panel::Testing);
    const auto colour = [label](std::optional<bool> ok) {
        label->setStyleSheet(!ok ? QString() : *ok ? u"color: #2e7d32;"_s : u"color: #c62828;"_s);
    };
    switch (d->panel) {
    case Private::Panel::Empty:
        label->clear();
        label->setToolTip({});
        colour(std::nullopt);
        break;
    case Private::Panel::Testing:
        label->setText(tr("Testing %1…").arg(d->testedId));
        label->setToolTip({});
        colour(std::nullopt);
        break;
    case Private::Panel::TestResult: {
        const app::ConnectionTestResult &r = d->lastResult;
        label->setText(tr("%1: %2").arg(d->testedId, r.summary()));
        const auto ms
            = [](qint64 value) { return value < 0 ? monitor::noData() : monitor::formatMs(double(value)); };
        label->setToolTip(tr("TCP connect: %1\nAssociation: %2\nIdentity read: %3\nServer max PDU: %4\n"
                             "Sent: %5, received: %6")
                              .arg(ms(r.connectMs), ms(r.associateMs), ms(r.identityMs),
                                  r.negotiatedPdu ? monitor::formatCount(r.negotiatedPdu) : monitor::noData(),
                                  monitor::formatBytes(double(r.bytesSent)),
                                  monitor::formatBytes(double(r.bytesReceived))));
        colour(r.ok);
        break;
    }
    case Private::Panel::Message:
        label->setText(d->message);
        label->setToolTip({});
        colour(d->messageOk);
        break;
    }
}
