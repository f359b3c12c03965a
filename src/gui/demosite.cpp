#include "demosite.h"

#include <simconfig.h>
#include <simulator.h>

#include <QtCore/QCoreApplication>
#include <QtCore/QDir>
#include <QtCore/QFileInfo>
#include <QtCore/QJsonArray>
#include <QtCore/QJsonDocument>
#include <QtCore/QLoggingCategory>
#include <QtCore/QProcess>
#include <QtCore/QStandardPaths>
#include <QtCore/QTemporaryDir>
#include <QtCore/QThread>
#include <QtCore/QTimer>
#include <QtNetwork/QTcpServer>

#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

using namespace Qt::StringLiterals;

Q_LOGGING_CATEGORY(lcDemo, "dlmsbridge.demo")

namespace {

// The meter that misbehaves now and then: healthy for a while, then answering later than the
// poll timeout (so it times out, reconnects and backs off), then healthy again.
constexpr int kFlakyMeter = 2;
constexpr int kFlakyLatencyMs = 4'000;
constexpr int kTimeoutMs = 3'000;
// The meter whose clock runs ten minutes ahead: commissioning shows it as a clock to sync.
constexpr int kClockOffMeter = 3;
constexpr qint64 kClockOffsetSeconds = 600;
// The meter polled with HLS-GMAC and authenticated + encrypted APDUs, so the demo shows a
// secured meter and the trace shows deciphered lines.
constexpr int kSecuredMeter = 1;
// The bridge's own system title towards it ("MMM" and 1, the Green Book's client example).
constexpr char kClientSystemTitle[] = "4D4D4D0000000001";

// Sets a meter's clock `offsetSeconds` ahead of the host's through SET of its Clock object, as
// a technician's tool would: the simulator's MeterSettings are one template for all its meters.
void setClockAhead(sim::MeterModel &meter, qint64 offsetSeconds)
{
    sim::Association technician;
    technician.level = sim::AccessLevel::Low;
    technician.authentication = dlms::Authentication::Low;
    const QDateTime ahead = QDateTime::currentDateTimeUtc().addSecs(offsetSeconds);
    const dlms::DataAccessResult result = meter.set({8, dlms::Obis(0, 0, 1, 0, 0, 255), 2},
        dlms::Value::dateTime(dlms::CosemDateTime::fromQDateTime(ahead)), technician);
    Q_ASSERT(result == dlms::DataAccessResult::Success); // a fixed request: a failure is a bug here
    Q_UNUSED(result);
}

QString findMosquitto(const QString &given)
{
    if (given == u"-")
        return {};
    if (!given.isEmpty())
        return QFileInfo(given).isExecutable() ? given : QString();
    for (const QString &candidate : {u"/usr/sbin/mosquitto"_s, u"/usr/local/sbin/mosquitto"_s}) {
        if (QFileInfo(candidate).isExecutable())
            return candidate;
    }
    return QStandardPaths::findExecutable(u"mosquitto"_s);
}

// A loopback port nothing listens on now (the kernel's choice; the broker binds it next).
quint16 freeLoopbackPort()
{
    QTcpServer probe;
    if (!probe.listen(QHostAddress::LocalHost, 0))
        return 0;
    return probe.serverPort();
}

QString currentUserName()
{
    if (const passwd *entry = getpwuid(getuid()))
        return QString::fromLocal8Bit(entry->pw_name);
    return {};
}

} // namespace

struct DemoSite::Private {
    Options options;
    QThread *thread = nullptr;
    sim::Simulator *wrapperMeters = nullptr; // live in `thread`
    sim::Simulator *hdlcMeter = nullptr;
    QTimer *flakyTimer = nullptr; // in `thread`, toggles the flaky meter's faults
    QProcess *broker = nullptr; // no parent: it outlives stop() until it has exited
    std::unique_ptr<QTemporaryDir> brokerDir;
    quint16 brokerPort = 0;
    bool brokerUp = false;
    QList<quint16> wrapperPorts;
    quint16 hdlcPort = 0;
    QString databasePath;
};

DemoSite::DemoSite(QObject *parent) : DemoSite(Options {}, parent) { }

DemoSite::DemoSite(Options options, QObject *parent) : QObject(parent), d(std::make_unique<Private>())
{
    d->options = std::move(options);
    d->options.meters = std::max(2, d->options.meters);
    d->databasePath = d->options.databasePath.isEmpty()
        ? QFileInfo(app::defaultDatabasePath()).absolutePath() + u"/demo.db"_s
        : d->options.databasePath;
}

DemoSite::~DemoSite()
{
    stop();
}

dlms::Result<void> DemoSite::start()
{
    stop();
    // All meters but the last speak the IEC 62056-47 wrapper; the last speaks HDLC, so the
    // trace and the counters show both transports.
    sim::SimulatorConfig wrapper;
    wrapper.basePort = 0;
    wrapper.meters = d->options.meters - 1;
    wrapper.transport = dlms::Transport::Wrapper;
    auto *wrapperMeters = new sim::Simulator(wrapper);
    if (auto started = wrapperMeters->start(); !started) {
        delete wrapperMeters;
        return dlms::makeError(started.error().code, tr("demo meters: %1").arg(started.error().message));
    }
    sim::SimulatorConfig hdlc;
    hdlc.basePort = 0;
    hdlc.meters = 1;
    hdlc.transport = dlms::Transport::Hdlc;
    hdlc.meter.index = d->options.meters - 1;
    auto *hdlcMeter = new sim::Simulator(hdlc);
    if (auto started = hdlcMeter->start(); !started) {
        delete wrapperMeters;
        delete hdlcMeter;
        return dlms::makeError(started.error().code, tr("demo meters: %1").arg(started.error().message));
    }
    d->wrapperPorts.clear();
    for (int i = 0; i < wrapperMeters->meterCount(); ++i)
        d->wrapperPorts.append(wrapperMeters->port(i));
    d->hdlcPort = hdlcMeter->port(0);
    if (kClockOffMeter < wrapperMeters->meterCount())
        setClockAhead(wrapperMeters->meter(kClockOffMeter), kClockOffsetSeconds);
    else if (kClockOffMeter == d->options.meters - 1)
        setClockAhead(hdlcMeter->meter(0), kClockOffsetSeconds);

    // The meters answer in a thread of their own: the window stays smooth however busy they are.
    d->thread = new QThread(this);
    d->thread->setObjectName(u"demo-meters"_s);
    d->wrapperMeters = wrapperMeters;
    d->hdlcMeter = hdlcMeter;
    wrapperMeters->moveToThread(d->thread);
    hdlcMeter->moveToThread(d->thread);
    d->flakyTimer = new QTimer;
    d->flakyTimer->setSingleShot(true);
    d->flakyTimer->moveToThread(d->thread);
    QObject::connect(d->flakyTimer, &QTimer::timeout, wrapperMeters,
        [wrapperMeters, timer = d->flakyTimer, lateNow = std::make_shared<bool>(false),
            healthyMs = d->options.flakyHealthyMs, lateMs = d->options.flakyLateMs] {
            if (kFlakyMeter >= wrapperMeters->meterCount())
                return;
            const bool late = !*lateNow;
            *lateNow = late;
            sim::FaultConfig faults;
            faults.latencyMs = late ? kFlakyLatencyMs : 0;
            wrapperMeters->setFaults(kFlakyMeter, faults);
            timer->start(late ? lateMs : healthyMs);
        });
    d->thread->start();
    QMetaObject::invokeMethod(
        d->flakyTimer, [timer = d->flakyTimer, ms = d->options.flakyHealthyMs] { timer->start(ms); },
        Qt::QueuedConnection);

    // A local broker when mosquitto is installed; otherwise MQTT points at a closed port and the
    // outbox grows, which is worth seeing too.
    d->brokerPort = freeLoopbackPort();
    const QString mosquitto = findMosquitto(d->options.mosquittoPath);
    if (!mosquitto.isEmpty() && d->brokerPort != 0) {
        d->brokerDir = std::make_unique<QTemporaryDir>();
        const QString conf = d->brokerDir->filePath(u"mosquitto.conf"_s);
        QFile file(conf);
        if (d->brokerDir->isValid() && file.open(QIODevice::WriteOnly | QIODevice::Text)) {
            QStringList lines {u"listener %1 127.0.0.1"_s.arg(d->brokerPort), u"allow_anonymous true"_s,
                u"persistence false"_s, u"log_dest none"_s};
            if (const QString user = currentUserName(); !user.isEmpty())
                lines << u"user %1"_s.arg(user); // as root, mosquitto would switch to its own user
            file.write((lines.join(u'\n') + u'\n').toUtf8());
            file.close();
            // A child in a session of its own: a Ctrl-C in the terminal reaches only the
            // application, which stops the bridge cleanly (publishing what it can) before the
            // broker goes. It dies with the application even when that is killed outright.
            d->broker = new QProcess;
            d->broker->setProgram(mosquitto);
            d->broker->setArguments({u"-c"_s, conf});
            d->broker->setStandardOutputFile(QProcess::nullDevice());
            d->broker->setStandardErrorFile(d->brokerDir->filePath(u"mosquitto.log"_s));
            d->broker->setChildProcessModifier([] {
                ::setsid();
                ::prctl(PR_SET_PDEATHSIG, SIGTERM);
            });
            QObject::connect(d->broker, &QProcess::finished, this, [this] { d->brokerUp = false; });
            d->broker->start();
            // The bridge's MQTT client retries until the broker listens: no need to wait here.
            d->brokerUp = true;
        }
    }
    if (!d->brokerUp)
        qCInfo(lcDemo).noquote() << tr("mosquitto is not installed: MQTT will show as unreachable");
    QDir().mkpath(QFileInfo(d->databasePath).absolutePath());
    return {};
}

void DemoSite::stop()
{
    if (d->broker) {
        QProcess *broker = d->broker;
        d->broker = nullptr;
        broker->disconnect(this);
        if (broker->state() == QProcess::NotRunning) {
            delete broker;
        } else {
            // SIGTERM is enough for a broker without persistence; the object goes once the
            // process has exited. Until then the application owns it: if it quits first, its
            // destructor deletes the object, which reaps (or ends) the process.
            broker->setParent(QCoreApplication::instance());
            QObject::connect(broker, &QProcess::finished, broker, &QObject::deleteLater);
            broker->terminate();
        }
    }
    d->brokerUp = false;
    d->brokerDir.reset();
    if (d->thread) {
        auto *wrapperMeters = d->wrapperMeters;
        auto *hdlcMeter = d->hdlcMeter;
        auto *timer = d->flakyTimer;
        // Their sockets and timers belong to the thread: delete them there, then end it.
        QMetaObject::invokeMethod(
            wrapperMeters,
            [wrapperMeters, hdlcMeter, timer] {
                delete timer;
                wrapperMeters->stop();
                hdlcMeter->stop();
                delete wrapperMeters;
                delete hdlcMeter;
            },
            Qt::BlockingQueuedConnection);
        d->thread->quit();
        d->thread->wait();
        delete d->thread;
        d->thread = nullptr;
        d->wrapperMeters = nullptr;
        d->hdlcMeter = nullptr;
        d->flakyTimer = nullptr;
    }
}

app::BridgeConfig DemoSite::config() const
{
    QJsonArray meters;
    const QStringList names {tr("Substation A — feeder 1"), tr("Substation A — feeder 2"),
        tr("Workshop (flaky)"), tr("Pumping station"), tr("Office block"), tr("Car park")};
    auto meterName = [&](int i) { return i < names.size() ? names.at(i) : tr("Demo meter %1").arg(i + 1); };
    for (int i = 0; i < d->wrapperPorts.size(); ++i) {
        meters.append(QJsonObject {{u"id"_s, u"demo-%1"_s.arg(i + 1)}, {u"name"_s, meterName(i)},
            {u"port"_s, d->wrapperPorts.at(i)}});
    }
    const int last = int(d->wrapperPorts.size());
    meters.append(QJsonObject {{u"id"_s, u"demo-%1"_s.arg(last + 1)}, {u"name"_s, tr("HDLC meter")},
        {u"port"_s, d->hdlcPort}, {u"transport"_s, u"hdlc"_s}});
    // Every simulated meter speaks HLS-GMAC with the simulator's example keys (public test
    // vectors, not secrets worth a reference): the client uses the same EK and AK.
    if (kSecuredMeter < meters.size()) {
        const dlms::SecuritySettings keys = sim::defaultSecurity(kSecuredMeter);
        QJsonObject secured = meters.at(kSecuredMeter).toObject();
        secured.insert(u"auth"_s, u"hls-gmac"_s);
        // A new association per poll: a trace started at any time shows the HLS-GMAC passes and
        // the AARE whose server system title the responses are deciphered with.
        secured.insert(u"association"_s, u"per-poll"_s);
        secured.insert(u"security"_s,
            QJsonObject {
                {u"policy"_s, dlms::securityPolicyName(dlms::SecurityPolicy::AuthenticatedEncrypted)},
                {u"system_title"_s, QString::fromLatin1(kClientSystemTitle)},
                {u"ek"_s, QString::fromLatin1(keys.blockCipherKey.toHex().toUpper())},
                {u"ak"_s, QString::fromLatin1(keys.authenticationKey.toHex().toUpper())},
            });
        meters.replace(kSecuredMeter, secured);
    }
    const QJsonObject root {
        {u"polling"_s,
            QJsonObject {{u"host"_s, u"127.0.0.1"_s}, {u"interval_ms"_s, d->options.pollIntervalMs},
                {u"timeout_ms"_s, kTimeoutMs},
                {u"backoff"_s, QJsonObject {{u"initial_ms"_s, 1000}, {u"max_ms"_s, 10'000}}},
                {u"items"_s,
                    QJsonArray {u"1.0.1.8.0.255"_s, u"1.0.2.8.0.255"_s, u"1.0.32.7.0.255"_s,
                        u"1.0.52.7.0.255"_s, u"1.0.72.7.0.255"_s, u"1.0.31.7.0.255"_s, u"1.0.1.7.0.255"_s,
                        u"1.0.14.7.0.255"_s, u"1.0.13.7.0.255"_s}}}},
        {u"meters"_s, meters},
        {u"mqtt"_s,
            QJsonObject {{u"enabled"_s, true}, {u"mode"_s, u"gateway"_s}, {u"host"_s, u"127.0.0.1"_s},
                {u"port"_s, d->brokerPort == 0 ? 1 : d->brokerPort}, {u"client_id"_s, u"dlmsbridge-demo"_s}}},
        {u"storage"_s, QJsonObject {{u"path"_s, d->databasePath}}},
        // The demo's traffic is on loopback: that is the interface worth charting.
        {u"monitor"_s, QJsonObject {{u"interface"_s, u"lo"_s}}},
        {u"http"_s, QJsonObject {{u"enabled"_s, false}}},
    };
    auto parsed = app::parseBridgeConfig(root, tr("demo"), QFileInfo(d->databasePath).absolutePath());
    Q_ASSERT(parsed); // built here: a failure is a bug in this function, caught by its test
    return parsed ? *parsed : app::BridgeConfig {};
}

QString DemoSite::flakyMeterId()
{
    return u"demo-%1"_s.arg(kFlakyMeter + 1);
}

QString DemoSite::securedMeterId()
{
    return u"demo-%1"_s.arg(kSecuredMeter + 1);
}

bool DemoSite::brokerRunning() const
{
    return d->brokerUp;
}

quint16 DemoSite::brokerPort() const
{
    return d->brokerPort;
}

QList<quint16> DemoSite::meterPorts() const
{
    QList<quint16> ports = d->wrapperPorts;
    if (d->hdlcPort != 0)
        ports.append(d->hdlcPort);
    return ports;
}
