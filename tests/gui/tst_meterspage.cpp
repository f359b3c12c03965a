#include "markingtranslator.h"
#include "meterdialog.h"
#include "meterlistmodel.h"
#include "meterspage.h"

#include <bridge.h>
#include <simulator.h>
#include <trafficmonitor.h>

#include <QtCore/QSortFilterProxyModel>
#include <QtCore/QStandardPaths>
#include <QtCore/QTemporaryDir>
#include <QtCore/QTimer>
#include <QtCore/QTranslator>
#include <QtNetwork/QTcpServer>
#include <QtTest/QAbstractItemModelTester>
#include <QtTest/QSignalSpy>
#include <QtTest/QTest>
#include <QtWidgets/QApplication>
#include <QtWidgets/QComboBox>
#include <QtWidgets/QDialogButtonBox>
#include <QtWidgets/QHeaderView>
#include <QtWidgets/QLabel>
#include <QtWidgets/QLineEdit>
#include <QtWidgets/QMessageBox>
#include <QtWidgets/QPlainTextEdit>
#include <QtWidgets/QPushButton>
#include <QtWidgets/QSpinBox>
#include <QtWidgets/QTableView>
#include <QtWidgets/QToolButton>

#include <functional>
#include <memory>

using namespace Qt::StringLiterals;

namespace {

class FakeInterfaces final : public monitor::InterfaceCounterSource {
public:
    dlms::Result<std::vector<monitor::InterfaceCounters>> read() override
    {
        return std::vector<monitor::InterfaceCounters> {};
    }
    QString description() const override { return u"fake"_s; }
};

polling::MeterConfig simMeter(const QString &id, quint16 port)
{
    polling::MeterConfig meter;
    meter.id = id;
    meter.name = id;
    meter.host = u"127.0.0.1"_s;
    meter.port = port;
    meter.pollIntervalMs = 300;
    meter.connectTimeoutMs = 2000;
    meter.requestTimeoutMs = 2000;
    meter.items = {{u"voltage_l1"_s, dlms::Obis(1, 0, 32, 7, 0, 255), 3, 2}};
    meter.backoff = {100, 200, 2.0, 0.1};
    return meter;
}

// Runs `action` on the next modal dialog as soon as it is open (the page opens them with exec()).
void whenModal(std::function<void(QWidget *)> action)
{
    auto *timer = new QTimer;
    timer->setInterval(5);
    QObject::connect(timer, &QTimer::timeout, timer, [timer, action = std::move(action)] {
        QWidget *modal = QApplication::activeModalWidget();
        if (!modal)
            return;
        timer->stop();
        timer->deleteLater();
        action(modal);
    });
    timer->start();
}

void answerYes(QWidget *modal)
{
    auto *box = qobject_cast<QMessageBox *>(modal);
    QVERIFY(box);
    box->button(QMessageBox::Yes)->click();
}

bool isUp(const QVariant &state)
{
    const auto s = polling::MeterState(state.toInt());
    return s == polling::MeterState::Polling || s == polling::MeterState::Associated;
}

} // namespace

class tst_MetersPage : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void init();
    void cleanup();
    void tableFillsAndPolls();
    void pauseAndResumeSelected();
    void pauseAndResumeAll();
    void addThroughDialog();
    void refusedAddKeepsTypedSecrets();
    void editRenamesAfterAsking();
    void importCsv();
    void importCsvWithBadRowAddsNothing();
    void removeAsksFirst();
    void testConnectionShowsSerial();
    void testConnectionToClosedPortFails();
    void searchFilters();
    void sortsOnHeaderClickAndNewMeters();
    void liveColumnResortsEveryFewTicks();
    void searchKeepsSortOrder();
    void hiddenPageCatchesUpOnShow();
    void buttonsFollowSelectionAndState();
    void retranslates();

private:
    int sourceRowOf(const QString &id) const;
    QVariant cell(const QString &id, int column, int role = Qt::DisplayRole) const;
    QStringList shownIds() const; // the table's rows, top to bottom
    void clickHeader(int column);
    QLabel *testResult() const { return m_page->findChild<QLabel *>(u"testResult"_s); }
    QString writeFile(const QString &name, const QByteArray &bytes);

    std::unique_ptr<QTemporaryDir> m_dir;
    std::unique_ptr<sim::Simulator> m_simulator;
    std::unique_ptr<app::Bridge> m_bridge;
    std::unique_ptr<MetersPage> m_page;
    std::unique_ptr<QAbstractItemModelTester> m_tester;
};

void tst_MetersPage::initTestCase()
{
    QStandardPaths::setTestModeEnabled(true);
}

void tst_MetersPage::init()
{
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
    sim::SimulatorConfig simConfig;
    simConfig.basePort = 0;
    simConfig.meters = 3;
    simConfig.meter.profileRows = 10;
    m_simulator = std::make_unique<sim::Simulator>(simConfig);
    QVERIFY(m_simulator->start().ok());

    app::BridgeConfig config;
    config.site.workers = 1;
    for (int i = 0; i < 2; ++i)
        config.site.meters.push_back(simMeter(u"sim-%1"_s.arg(i + 1), m_simulator->port(i)));
    config.mqtt.enabled = false;
    config.http.enabled = false;
    config.storage.path = m_dir->filePath(u"bridge.db"_s);
    app::Bridge::Options options;
    options.serveHttp = false;
    options.stopTimeoutMs = 1000;
    options.interfaceSource = [] { return std::make_unique<FakeInterfaces>(); };
    m_bridge = std::make_unique<app::Bridge>(options);
    const dlms::Result<void> started = m_bridge->start(config);
    QVERIFY2(started.ok(), started.ok() ? "" : qPrintable(started.error().message));

    m_page = std::make_unique<MetersPage>(m_bridge.get());
    m_tester = std::make_unique<QAbstractItemModelTester>(
        m_page->model(), QAbstractItemModelTester::FailureReportingMode::QtTest);
    m_page->resize(1000, 500);
    m_page->show();
    QVERIFY(QTest::qWaitForWindowExposed(m_page.get()));
}

void tst_MetersPage::cleanup()
{
    m_tester.reset();
    m_page.reset();
    if (m_bridge)
        QVERIFY(m_bridge->stopAndWait(10'000));
    m_bridge.reset();
    m_simulator.reset();
    m_dir.reset();
}

int tst_MetersPage::sourceRowOf(const QString &id) const
{
    const MeterListModel *model = m_page->model();
    for (int r = 0; r < model->rowCount(); ++r) {
        if (model->index(r, 0).data(MeterListModel::MeterIdRole).toString() == id)
            return r;
    }
    return -1;
}

QVariant tst_MetersPage::cell(const QString &id, int column, int role) const
{
    const int row = sourceRowOf(id);
    return row < 0 ? QVariant() : m_page->model()->index(row, column).data(role);
}

QStringList tst_MetersPage::shownIds() const
{
    const QAbstractItemModel *shown = m_page->findChild<QTableView *>(u"table"_s)->model();
    QStringList ids;
    for (int r = 0; r < shown->rowCount(); ++r)
        ids.append(shown->index(r, 0).data(MeterListModel::MeterIdRole).toString());
    return ids;
}

void tst_MetersPage::clickHeader(int column)
{
    QHeaderView *header = m_page->findChild<QTableView *>(u"table"_s)->horizontalHeader();
    const int x = header->sectionViewportPosition(column) + header->sectionSize(column) / 2;
    QTest::mouseClick(header->viewport(), Qt::LeftButton, {}, QPoint(x, header->height() / 2));
}

QString tst_MetersPage::writeFile(const QString &name, const QByteArray &bytes)
{
    const QString path = m_dir->filePath(name);
    QFile file(path);
    if (!file.open(QIODevice::WriteOnly) || file.write(bytes) != bytes.size())
        return {};
    return path;
}

void tst_MetersPage::tableFillsAndPolls()
{
    QCOMPARE(m_page->model()->rowCount(), 2);
    QTRY_VERIFY(isUp(cell(u"sim-1"_s, MeterListModel::State, MeterListModel::StateRole)));
    QTRY_VERIFY(isUp(cell(u"sim-2"_s, MeterListModel::State, MeterListModel::StateRole)));
    // The monitor's ticks bring the figures in.
    QTRY_VERIFY(cell(u"sim-1"_s, MeterListModel::DlmsBytes, MeterListModel::SortRole).toULongLong() > 0);
    QTRY_VERIFY(cell(u"sim-1"_s, MeterListModel::LastPoll).toString().endsWith(u"ago"_s));
    QCOMPARE(
        cell(u"sim-2"_s, MeterListModel::Address).toString(), u"127.0.0.1:%1"_s.arg(m_simulator->port(1)));
    auto *table = m_page->findChild<QTableView *>(u"table"_s);
    QVERIFY(table);
    QCOMPARE(table->model()->rowCount(), 2);
    QVERIFY(table->isSortingEnabled());
    QVERIFY(table->alternatingRowColors());
}

void tst_MetersPage::pauseAndResumeSelected()
{
    QTRY_VERIFY(isUp(cell(u"sim-2"_s, MeterListModel::State, MeterListModel::StateRole)));
    QSignalSpy status(m_page.get(), &MetersPage::statusMessage);
    m_page->selectMeter(u"sim-2"_s);
    QCOMPARE(m_page->selectedIds(), QStringList {u"sim-2"_s});
    m_page->findChild<QToolButton *>(u"pauseButton"_s)->click();
    QTRY_COMPARE(cell(u"sim-2"_s, MeterListModel::State, MeterListModel::StateRole).toInt(),
        int(polling::MeterState::Paused));
    QCOMPARE(cell(u"sim-2"_s, MeterListModel::State).toString(), u"Paused"_s);
    QVERIFY(m_bridge->meter(u"sim-2"_s)->paused);
    QVERIFY(!m_bridge->meter(u"sim-1"_s)->paused);
    QCOMPARE(status.count(), 1);
    QCOMPARE(status.at(0).at(0).toString(), u"sim-2 paused"_s);

    m_page->setSelectedPaused(false);
    QVERIFY(!m_bridge->meter(u"sim-2"_s)->paused);
    QTRY_VERIFY(isUp(cell(u"sim-2"_s, MeterListModel::State, MeterListModel::StateRole)));
}

void tst_MetersPage::pauseAndResumeAll()
{
    m_page->setAllPaused(true);
    QVERIFY(m_bridge->meter(u"sim-1"_s)->paused);
    QVERIFY(m_bridge->meter(u"sim-2"_s)->paused);
    QTRY_COMPARE(cell(u"sim-1"_s, MeterListModel::State, MeterListModel::StateRole).toInt(),
        int(polling::MeterState::Paused));
    m_page->setAllPaused(false);
    QTRY_VERIFY(isUp(cell(u"sim-1"_s, MeterListModel::State, MeterListModel::StateRole)));
    QTRY_VERIFY(isUp(cell(u"sim-2"_s, MeterListModel::State, MeterListModel::StateRole)));
}

void tst_MetersPage::addThroughDialog()
{
    const quint16 port = m_simulator->port(2);
    bool sawDialog = false;
    whenModal([&](QWidget *modal) {
        auto *dialog = qobject_cast<MeterDialog *>(modal);
        QVERIFY(dialog);
        sawDialog = true;
        dialog->findChild<QLineEdit *>(u"idEdit"_s)->setText(u"sim-3"_s);
        dialog->findChild<QLineEdit *>(u"nameEdit"_s)->setText(u"Third"_s);
        dialog->findChild<QLineEdit *>(u"hostEdit"_s)->setText(u"127.0.0.1"_s);
        dialog->findChild<QSpinBox *>(u"portSpin"_s)->setValue(port);
        dialog->findChild<QSpinBox *>(u"intervalSpin"_s)->setValue(300);
        dialog->findChild<QPlainTextEdit *>(u"itemsEdit"_s)->setPlainText(u"1.0.32.7.0.255"_s);
        auto *ok = dialog->findChild<QDialogButtonBox *>(u"buttonBox"_s)->button(QDialogButtonBox::Ok);
        QVERIFY2(ok->isEnabled(), qPrintable(dialog->problem()));
        ok->click();
    });
    m_page->addMeter();
    QVERIFY(sawDialog);
    const polling::MeterConfig *added = m_bridge->config().findMeter(u"sim-3"_s);
    QVERIFY(added);
    QCOMPARE(added->name, u"Third"_s);
    QCOMPARE(added->port, port);
    QCOMPARE(m_page->model()->rowCount(), 3);
    QCOMPARE(m_page->selectedIds(), QStringList {u"sim-3"_s});
    QTRY_VERIFY(isUp(cell(u"sim-3"_s, MeterListModel::State, MeterListModel::StateRole)));
    QVERIFY(testResult()->text().contains(u"sim-3"_s));
}

void tst_MetersPage::refusedAddKeepsTypedSecrets()
{
    const quint16 port = m_simulator->port(2);
    int dialogs = 0;
    whenModal([&](QWidget *modal) {
        auto *dialog = qobject_cast<MeterDialog *>(modal);
        QVERIFY(dialog);
        ++dialogs;
        dialog->findChild<QLineEdit *>(u"idEdit"_s)->setText(u"late"_s);
        dialog->findChild<QLineEdit *>(u"hostEdit"_s)->setText(u"127.0.0.1"_s);
        dialog->findChild<QSpinBox *>(u"portSpin"_s)->setValue(port);
        dialog->findChild<QPlainTextEdit *>(u"itemsEdit"_s)->setPlainText(u"1.0.32.7.0.255"_s);
        dialog->findChild<QComboBox *>(u"authenticationCombo"_s)->setCurrentIndex(1);
        dialog->findChild<QLineEdit *>(u"passwordEdit"_s)->setText(u"typed-pass"_s);
        dialog->findChild<QLineEdit *>(u"tokenEdit"_s)->setText(u"typed-token"_s);
        auto *ok = dialog->findChild<QDialogButtonBox *>(u"buttonBox"_s)->button(QDialogButtonBox::Ok);
        QVERIFY2(ok->isEnabled(), qPrintable(dialog->problem()));
        // Meanwhile the id is taken (another window, the HTTP API): the bridge refuses the add.
        QVERIFY(m_bridge->addMeter(simMeter(u"late"_s, port)).ok());
        whenModal([&](QWidget *again) {
            auto *reopened = qobject_cast<MeterDialog *>(again);
            QVERIFY(reopened);
            ++dialogs;
            QCOMPARE(reopened->windowTitle(), u"Add meter"_s);
            QCOMPARE(reopened->findChild<QLineEdit *>(u"idEdit"_s)->text(), u"late"_s);
            QVERIFY2(reopened->problem().contains(u"already used"_s), qPrintable(reopened->problem()));
            // The secrets are not shown again, but kept, and the fields say so.
            for (const QString &name : {u"passwordEdit"_s, u"tokenEdit"_s}) {
                auto *edit = reopened->findChild<QLineEdit *>(name);
                QVERIFY(edit->text().isEmpty());
                QCOMPARE(edit->placeholderText(), u"unchanged"_s);
            }
            reopened->findChild<QLineEdit *>(u"idEdit"_s)->setText(u"late-2"_s);
            auto *okAgain
                = reopened->findChild<QDialogButtonBox *>(u"buttonBox"_s)->button(QDialogButtonBox::Ok);
            QVERIFY2(okAgain->isEnabled(), qPrintable(reopened->problem()));
            okAgain->click();
        });
        ok->click();
    });
    m_page->addMeter();
    QCOMPARE(dialogs, 2);
    const polling::MeterConfig *added = m_bridge->config().findMeter(u"late-2"_s);
    QVERIFY(added);
    QCOMPARE(added->authentication, dlms::Authentication::Low);
    QCOMPARE(added->password, QByteArray("typed-pass"));
    QCOMPARE(m_bridge->config().publishingOf(u"late-2"_s).accessToken, u"typed-token"_s);
    QVERIFY(testResult()->text().contains(u"late-2"_s));
    QCOMPARE(m_page->selectedIds(), QStringList {u"late-2"_s});
}

void tst_MetersPage::editRenamesAfterAsking()
{
    m_page->selectMeter(u"sim-2"_s);
    whenModal([](QWidget *modal) {
        auto *dialog = qobject_cast<MeterDialog *>(modal);
        QVERIFY(dialog);
        // The password field is never prefilled; the id and name are.
        QCOMPARE(dialog->findChild<QLineEdit *>(u"idEdit"_s)->text(), u"sim-2"_s);
        dialog->findChild<QLineEdit *>(u"idEdit"_s)->setText(u"feeder-2"_s);
        dialog->findChild<QLineEdit *>(u"nameEdit"_s)->setText(u"Feeder two"_s);
        whenModal(answerYes);
        dialog->findChild<QDialogButtonBox *>(u"buttonBox"_s)->button(QDialogButtonBox::Ok)->click();
    });
    m_page->editSelected();
    QVERIFY(!m_bridge->config().findMeter(u"sim-2"_s));
    const polling::MeterConfig *renamed = m_bridge->config().findMeter(u"feeder-2"_s);
    QVERIFY(renamed);
    QCOMPARE(renamed->name, u"Feeder two"_s);
    QCOMPARE(renamed->port, m_simulator->port(1));
    QCOMPARE(sourceRowOf(u"sim-2"_s), -1);
    QVERIFY(sourceRowOf(u"feeder-2"_s) >= 0);
    QTRY_VERIFY(isUp(cell(u"feeder-2"_s, MeterListModel::State, MeterListModel::StateRole)));
}

void tst_MetersPage::importCsv()
{
    const QByteArray csv = "id;host;port;interval_ms;items\n"
                           "imp-1;127.0.0.1;"
        + QByteArray::number(m_simulator->port(2))
        + ";300;1.0.32.7.0.255\n"
          "imp-2;127.0.0.1;"
        + QByteArray::number(m_simulator->port(0)) + ";300;1.0.32.7.0.255\n";
    QSignalSpy status(m_page.get(), &MetersPage::statusMessage);
    QVERIFY(m_page->importCsv(writeFile(u"meters.csv"_s, csv)));
    QVERIFY(m_bridge->config().findMeter(u"imp-1"_s));
    QVERIFY(m_bridge->config().findMeter(u"imp-2"_s));
    QCOMPARE(m_page->model()->rowCount(), 4);
    QCOMPARE(status.count(), 1);
    QCOMPARE(status.at(0).at(0).toString(), u"2 meters imported."_s);
    QTRY_VERIFY(isUp(cell(u"imp-1"_s, MeterListModel::State, MeterListModel::StateRole)));
}

void tst_MetersPage::importCsvWithBadRowAddsNothing()
{
    const QByteArray csv
        = "id,host,port\nimp-1,127.0.0.1,4059\nimp-2,127.0.0.1,70000\nsim-1,127.0.0.1,4059\n";
    QVERIFY(!m_page->importCsv(writeFile(u"bad.csv"_s, csv)));
    QVERIFY(!m_bridge->config().findMeter(u"imp-1"_s));
    QCOMPARE(m_bridge->config().site.meters.size(), size_t(2));
    QCOMPARE(m_page->model()->rowCount(), 2);
    const QString shown = testResult()->text();
    QVERIFY2(shown.contains(u"line 3: port"_s), qPrintable(shown));
    QVERIFY2(shown.contains(u"line 4: id"_s), qPrintable(shown));

    // A missing file and a file without an id column are errors too, shown the same way.
    QVERIFY(!m_page->importCsv(m_dir->filePath(u"missing.csv"_s)));
    QVERIFY(testResult()->text().contains(u"missing.csv"_s));
    QVERIFY(!m_page->importCsv(writeFile(u"noid.csv"_s, "host\n127.0.0.1\n")));
    QVERIFY(testResult()->text().contains(u"\"id\""_s));
    QCOMPARE(m_bridge->config().site.meters.size(), size_t(2));
}

void tst_MetersPage::removeAsksFirst()
{
    m_page->selectMeter(u"sim-1"_s);
    // Declined: nothing happens.
    whenModal([](QWidget *modal) {
        auto *box = qobject_cast<QMessageBox *>(modal);
        QVERIFY(box);
        QVERIFY(box->text().contains(u"sim-1"_s));
        box->button(QMessageBox::No)->click();
    });
    m_page->removeSelected();
    QVERIFY(m_bridge->config().findMeter(u"sim-1"_s));

    whenModal(answerYes);
    m_page->removeSelected();
    QVERIFY(!m_bridge->config().findMeter(u"sim-1"_s));
    QCOMPARE(sourceRowOf(u"sim-1"_s), -1);
    QCOMPARE(m_page->model()->rowCount(), 1);
}

void tst_MetersPage::testConnectionShowsSerial()
{
    m_page->selectMeter(u"sim-2"_s);
    auto *button = m_page->findChild<QToolButton *>(u"testButton"_s);
    QVERIFY(button->isEnabled());
    button->click();
    QVERIFY(testResult()->text().contains(u"sim-2"_s));
    QVERIFY(!button->isEnabled()); // one test at a time
    const QString serial = m_simulator->meter(1).serialNumber();
    QTRY_VERIFY2(testResult()->text().contains(serial), qPrintable(testResult()->text()));
    QVERIFY(testResult()->styleSheet().contains(u"#2e7d32"_s)); // green
    QVERIFY(button->isEnabled());
    QVERIFY(!testResult()->toolTip().isEmpty());
}

void tst_MetersPage::testConnectionToClosedPortFails()
{
    quint16 closedPort = 0;
    {
        QTcpServer server;
        QVERIFY(server.listen(QHostAddress::LocalHost, 0));
        closedPort = server.serverPort();
    }
    QVERIFY(m_bridge->addMeter(simMeter(u"dead"_s, closedPort)).ok());
    m_page->refresh();
    m_page->selectMeter(u"dead"_s);
    m_page->testSelected();
    QTRY_VERIFY2(testResult()->text().contains(u"Cannot connect"_s), qPrintable(testResult()->text()));
    QVERIFY(testResult()->styleSheet().contains(u"#c62828"_s)); // red
}

void tst_MetersPage::searchFilters()
{
    auto *search = m_page->findChild<QLineEdit *>(u"searchEdit"_s);
    auto *table = m_page->findChild<QTableView *>(u"table"_s);
    QVERIFY(search && table);
    search->setText(u"SIM-2"_s);
    QCOMPARE(table->model()->rowCount(), 1);
    QCOMPARE(table->model()->index(0, 0).data(MeterListModel::MeterIdRole).toString(), u"sim-2"_s);
    search->setText(QString::number(m_simulator->port(0)));
    QCOMPARE(table->model()->rowCount(), 1);
    QCOMPARE(table->model()->index(0, 0).data(MeterListModel::MeterIdRole).toString(), u"sim-1"_s);
    search->setText(u"127.0.0.1"_s);
    QCOMPARE(table->model()->rowCount(), 2);
    search->setText(u"nothing like it"_s);
    QCOMPARE(table->model()->rowCount(), 0);
    search->clear();
    QCOMPARE(table->model()->rowCount(), 2);
}

void tst_MetersPage::sortsOnHeaderClickAndNewMeters()
{
    // The bridge's configuration order until a header is clicked.
    QCOMPARE(shownIds(), (QStringList {u"sim-1"_s, u"sim-2"_s}));
    auto *table = m_page->findChild<QTableView *>(u"table"_s);
    auto *proxy = qobject_cast<QSortFilterProxyModel *>(table->model());
    QVERIFY(proxy);
    QVERIFY(!proxy->dynamicSortFilter());
    clickHeader(MeterListModel::Name);
    QCOMPARE(proxy->sortColumn(), int(MeterListModel::Name));
    const Qt::SortOrder first = proxy->sortOrder();
    QCOMPARE(shownIds(),
        first == Qt::AscendingOrder ? (QStringList {u"sim-1"_s, u"sim-2"_s})
                                    : (QStringList {u"sim-2"_s, u"sim-1"_s}));
    clickHeader(MeterListModel::Name);
    QVERIFY(proxy->sortOrder() != first);
    if (proxy->sortOrder() == Qt::AscendingOrder)
        clickHeader(MeterListModel::Name);
    QCOMPARE(proxy->sortOrder(), Qt::DescendingOrder);
    QCOMPARE(shownIds(), (QStringList {u"sim-2"_s, u"sim-1"_s}));

    // New meters are sorted in at once, wherever the configuration puts them.
    QVERIFY(m_bridge->addMeter(simMeter(u"sim-15"_s, m_simulator->port(2))).ok());
    QVERIFY(m_bridge->addMeter(simMeter(u"a-first"_s, m_simulator->port(2))).ok());
    QVERIFY(m_bridge->addMeter(simMeter(u"z-last"_s, m_simulator->port(2))).ok());
    m_page->refresh();
    QCOMPARE(shownIds(), (QStringList {u"z-last"_s, u"sim-2"_s, u"sim-15"_s, u"sim-1"_s, u"a-first"_s}));

    // Removed: the rest keep their order.
    QVERIFY(m_bridge->removeMeter(u"sim-2"_s));
    m_page->refresh();
    QCOMPARE(shownIds(), (QStringList {u"z-last"_s, u"sim-15"_s, u"sim-1"_s, u"a-first"_s}));
}

void tst_MetersPage::liveColumnResortsEveryFewTicks()
{
    auto *table = m_page->findChild<QTableView *>(u"table"_s);
    QAbstractItemModel *proxy = table->model();
    monitor::TrafficMonitor *monitor = m_bridge->monitor();
    QVERIFY(monitor);
    // The ticks below are emitted here and the page refreshed by hand, without an event loop in
    // between: no real tick can slip in, so the counts are exact.
    table->sortByColumn(MeterListModel::Name, Qt::AscendingOrder);
    QSignalSpy sorted(proxy, &QAbstractItemModel::layoutChanged);
    for (int i = 0; i < 12; ++i) {
        emit monitor->ticked(0);
        m_page->refresh();
    }
    QCOMPARE(sorted.count(), 0); // names do not change with time: never re-sorted

    table->sortByColumn(MeterListModel::DlmsBytes, Qt::DescendingOrder);
    QVERIFY(sorted.count() >= 1); // sorted at once (QTableView may sort twice)
    const qsizetype clicked = sorted.count();
    for (int i = 0; i < 4; ++i) {
        emit monitor->ticked(0);
        m_page->refresh();
    }
    QCOMPARE(sorted.count(), clicked); // not on every tick
    emit monitor->ticked(0);
    m_page->refresh();
    QCOMPARE(sorted.count(), clicked + 1); // the fifth
    const auto bytes = [&](int row) {
        return proxy->index(row, MeterListModel::DlmsBytes).data(MeterListModel::SortRole).toULongLong();
    };
    QVERIFY(bytes(0) >= bytes(1));
    for (int i = 0; i < 4; ++i) {
        emit monitor->ticked(0);
        m_page->refresh();
    }
    QCOMPARE(sorted.count(), clicked + 1);

    // With real ticks: the order follows the figures within a few seconds.
    QTRY_VERIFY_WITH_TIMEOUT(sorted.count() >= clicked + 2, 10'000);
    QVERIFY(bytes(0) >= bytes(1));
}

void tst_MetersPage::searchKeepsSortOrder()
{
    QVERIFY(m_bridge->addMeter(simMeter(u"sim-3"_s, m_simulator->port(2))).ok());
    m_page->refresh();
    auto *table = m_page->findChild<QTableView *>(u"table"_s);
    auto *search = m_page->findChild<QLineEdit *>(u"searchEdit"_s);
    table->sortByColumn(MeterListModel::Name, Qt::DescendingOrder);
    QCOMPARE(shownIds(), (QStringList {u"sim-3"_s, u"sim-2"_s, u"sim-1"_s}));
    search->setText(u"sim-2"_s);
    QCOMPARE(shownIds(), QStringList {u"sim-2"_s});
    search->setText(u"sim"_s);
    QCOMPARE(shownIds(), (QStringList {u"sim-3"_s, u"sim-2"_s, u"sim-1"_s}));
    search->clear();
    QCOMPARE(shownIds(), (QStringList {u"sim-3"_s, u"sim-2"_s, u"sim-1"_s}));
    // A meter added while filtered is filtered too, and sorted in once shown.
    search->setText(u"sim"_s);
    QVERIFY(m_bridge->addMeter(simMeter(u"other"_s, m_simulator->port(2))).ok());
    QVERIFY(m_bridge->addMeter(simMeter(u"sim-4"_s, m_simulator->port(2))).ok());
    m_page->refresh();
    QCOMPARE(shownIds(), (QStringList {u"sim-4"_s, u"sim-3"_s, u"sim-2"_s, u"sim-1"_s}));
    search->clear();
    QCOMPARE(shownIds(), (QStringList {u"sim-4"_s, u"sim-3"_s, u"sim-2"_s, u"sim-1"_s, u"other"_s}));
}

void tst_MetersPage::hiddenPageCatchesUpOnShow()
{
    QTRY_VERIFY(isUp(cell(u"sim-1"_s, MeterListModel::State, MeterListModel::StateRole)));
    m_page->hide();
    QSignalSpy changed(m_page->model(), &QAbstractItemModel::dataChanged);
    QVERIFY(m_bridge->setPaused(u"sim-1"_s, true));
    // Ticks and state changes arrive, but a hidden page does not refresh.
    QSignalSpy ticks(m_bridge->monitor(), &monitor::TrafficMonitor::ticked);
    QVERIFY(ticks.wait(3000));
    // A second tick: any refresh the first one could have queued has had its turn.
    QVERIFY(ticks.wait(3000));
    QCOMPARE(changed.count(), 0);
    QVERIFY(isUp(cell(u"sim-1"_s, MeterListModel::State, MeterListModel::StateRole)));
    m_page->show();
    QCOMPARE(cell(u"sim-1"_s, MeterListModel::State, MeterListModel::StateRole).toInt(),
        int(polling::MeterState::Paused));
}

void tst_MetersPage::buttonsFollowSelectionAndState()
{
    const auto button
        = [&](const char *name) { return m_page->findChild<QToolButton *>(QLatin1StringView(name)); };
    m_page->findChild<QTableView *>(u"table"_s)->clearSelection();
    QVERIFY(button("addButton")->isEnabled());
    QVERIFY(button("importButton")->isEnabled());
    QVERIFY(!button("editButton")->isEnabled());
    QVERIFY(!button("removeButton")->isEnabled());
    QVERIFY(!button("pauseButton")->isEnabled());
    QVERIFY(!button("testButton")->isEnabled());
    QVERIFY(button("pauseAllButton")->isEnabled());
    m_page->selectMeter(u"sim-1"_s);
    QVERIFY(button("editButton")->isEnabled());
    QVERIFY(button("removeButton")->isEnabled());
    QVERIFY(button("pauseButton")->isEnabled());
    QVERIFY(!button("resumeButton")->isEnabled());
    QVERIFY(button("testButton")->isEnabled());
    for (const char *name : {"addButton", "editButton", "removeButton", "importButton", "pauseButton",
             "resumeButton", "pauseAllButton", "resumeAllButton", "testButton"}) {
        QVERIFY2(!button(name)->icon().isNull(), name);
        QVERIFY2(!button(name)->toolTip().isEmpty(), name);
    }

    // Stopped: pausing needs a running bridge; editing the configuration still works.
    QVERIFY(m_bridge->stopAndWait(10'000));
    QTRY_VERIFY(!button("pauseButton")->isEnabled());
    QVERIFY(!button("pauseAllButton")->isEnabled());
    QVERIFY(button("addButton")->isEnabled());
    QVERIFY(button("editButton")->isEnabled());
    QVERIFY(m_bridge->addMeter(simMeter(u"later"_s, 1)).ok());
    m_page->refresh();
    QVERIFY(sourceRowOf(u"later"_s) >= 0);
}

void tst_MetersPage::retranslates()
{
    QTRY_VERIFY(isUp(cell(u"sim-1"_s, MeterListModel::State, MeterListModel::StateRole)));
    m_page->setAllPaused(false);
    auto *add = m_page->findChild<QToolButton *>(u"addButton"_s);
    QCOMPARE(add->text(), u"&Add…"_s);
    TableTranslator spanish({{"MetersPage", "&Add…", u"&Añadir…"_s}, {"MeterListModel", "State", u"Estado"_s},
        {"MeterListModel", "Polling", u"Sondeando"_s}});
    QCoreApplication::installTranslator(&spanish);
    // LanguageChange is posted to the page.
    QTRY_COMPARE(add->text(), u"&Añadir…"_s);
    QCOMPARE(m_page->model()->headerData(MeterListModel::State, Qt::Horizontal).toString(), u"Estado"_s);
    QCoreApplication::removeTranslator(&spanish);
    QTRY_COMPARE(add->text(), u"&Add…"_s);
    QCOMPARE(m_page->model()->headerData(MeterListModel::State, Qt::Horizontal).toString(), u"State"_s);
}

QTEST_MAIN(tst_MetersPage)
#include "tst_meterspage.moc"
