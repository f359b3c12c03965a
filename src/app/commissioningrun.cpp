#include "commissioningrun.h"

#include "identityread.h"

#include <cosemdatetime.h>
#include <displayformat.h>
#include <dlmsconnection.h>
#include <mqttclient.h>
#include <objectlist.h>
#include <telemetryformat.h>
#include <units.h>
#include <valuetext.h>

#include <QtCore/QCoreApplication>
#include <QtCore/QDateTime>
#include <QtCore/QElapsedTimer>
#include <QtCore/QLocale>
#include <QtCore/QPointer>
#include <QtCore/QTimer>

#include <algorithm>
#include <cmath>
#include <optional>

using namespace Qt::StringLiterals;

namespace app {

namespace {

using commissioning::CheckResult;
using commissioning::CheckStatus;
using commissioning::MeterReport;
namespace checks = commissioning::checks;

const dlms::AttributeDescriptor kClockTime {8, dlms::Obis(0, 0, 1, 0, 0, 255), 2};
const dlms::AttributeDescriptor kObjectList {15, dlms::Obis(0, 0, 40, 0, 0, 255), 2};

qint64 nowMs()
{
    return QDateTime::currentMSecsSinceEpoch();
}

CheckResult makeResult(const QString &check, CheckStatus status, const QString &measured,
    const QString &explanation, std::optional<double> value = std::nullopt, const QString &unit = {})
{
    CheckResult result;
    result.check = check;
    result.status = status;
    result.value = value;
    result.unit = value ? unit : QString();
    result.measured = measured;
    result.explanation = explanation;
    result.timestampMs = nowMs();
    return result;
}

QString number(double value, int decimals)
{
    return QLocale().toString(value, 'f', decimals);
}

// Range bounds as written in the configuration: "207", "195.5", "0.5".
QString bound(double value)
{
    return QLocale().toString(value, 'g', 15);
}

// "+600.2", "-3.0", "+0.0": the drift always carries its sign.
QString signedSeconds(double seconds)
{
    const double rounded = std::round(seconds * 10) / 10;
    return (rounded < 0 ? u"-"_s : u"+"_s) + number(std::abs(rounded), 1);
}

QString secondsText(double seconds)
{
    return QCoreApplication::translate("app::CommissioningRun", "%1 s").arg(bound(seconds));
}

QString authenticationText(dlms::Authentication authentication)
{
    switch (authentication) {
    case dlms::Authentication::None:
        return QCoreApplication::translate("app::CommissioningRun", "no authentication");
    case dlms::Authentication::Low:
        return u"LLS"_s;
    case dlms::Authentication::HighGmac:
        return u"HLS-GMAC"_s;
    default:
        return dlms::authenticationName(authentication);
    }
}

bool isTraffic(QStringView check)
{
    return check == checks::TrafficBytes || check == checks::TrafficRtt;
}

class MeterCheck;

// What a meter's checks need from the run.
class RunContext {
public:
    virtual ~RunContext() = default;
    virtual const CommissioningOptions &runOptions() const = 0;
    virtual void checkDone(MeterCheck &meter, const CheckResult &result) = 0;
    virtual void meterDone(MeterCheck &meter) = 0;
    // Gateway and plain mode: publish this meter's message on the run's own MQTT connection.
    virtual void publishShared(MeterCheck &meter) = 0;

protected:
    RunContext() = default;
    Q_DISABLE_COPY_MOVE(RunContext)
};

// The checks of one meter: its own DLMS connection, step by step, and its MQTT check beside it.
// Results come out in the documented order: the MQTT result waits until the meter's checks
// reached it, the traffic results wait for the MQTT result.
class MeterCheck final : public QObject {
public:
    MeterCheck(RunContext &run, int index, polling::MeterConfig meter, QObject *parent)
        : QObject(parent), m_run(run), m_index(index), m_meter(std::move(meter))
    {
        const CommissioningOptions &options = m_run.runOptions();
        m_report.meterId = m_meter.id;
        m_report.meterName = m_meter.name;
        m_report.endpoint = m_meter.endpoint();
        m_planned << QString(checks::Tcp) << QString(checks::Association);
        if (!options.clockOnly)
            m_planned << QString(checks::Identity);
        m_planned << QString(checks::Clock);
        if (!options.clockOnly) {
            for (const polling::PollItem &item : m_meter.items)
                m_planned << QString(checks::RegisterPrefix) + item.key;
            m_planned << QString(checks::Objects);
        }
        m_firstTraffic = m_planned.size();
        if (!options.clockOnly)
            m_planned << QString(checks::TrafficBytes) << QString(checks::TrafficRtt);
        m_mqttEmitted = options.clockOnly; // not part of a clock-only pass
        m_scalers.assign(m_meter.items.size(), std::nullopt);
        m_scalerErrors.assign(m_meter.items.size(), QString());
    }

    ~MeterCheck() override { dropConnection(); }
    Q_DISABLE_COPY_MOVE(MeterCheck)

    int index() const { return m_index; }
    const polling::MeterConfig &meter() const { return m_meter; }
    const MeterReport &report() const { return m_report; }
    QString deviceName() const { return m_meter.name.isEmpty() ? m_meter.id : m_meter.name; }

    void start()
    {
        startMqtt();
        if (m_stopped)
            return;
        m_connection = new polling::DlmsConnection(polling::connectionOptions(m_meter), this);
        connect(m_connection, &polling::DlmsConnection::stateChanged, this,
            [this](polling::DlmsConnection::State state) {
                if (state == polling::DlmsConnection::State::Associating && m_step == Step::Connecting)
                    onConnected();
            });
        connect(m_connection, &polling::DlmsConnection::associated, this,
            [this](const dlms::Aare &aare) { onAssociated(aare); });
        connect(m_connection, &polling::DlmsConnection::responseReceived, this,
            [this](const dlms::ClientSession::Response &response) { onResponse(response); });
        connect(m_connection, &polling::DlmsConnection::failed, this,
            [this](const dlms::Error &error) { onFailed(error); });
        connect(m_connection, &polling::DlmsConnection::closed, this, [this] { dlmsFinished(); });
        m_step = Step::Connecting;
        m_timer.start();
        m_connection->open();
    }

    // Cancelled: no more signals; the report gets every check not made as Skipped "cancelled".
    MeterReport stop()
    {
        m_stopped = true;
        dropConnection();
        dropMqttClient();
        const QString why = QCoreApplication::translate("app::CommissioningRun", "cancelled");
        MeterReport report = m_report;
        auto skipped = [&](const QString &check) {
            report.checks.push_back(makeResult(check, CheckStatus::Skipped, {}, why));
        };
        for (qsizetype i = m_next; i < m_firstTraffic; ++i)
            skipped(m_planned[i]);
        if (!m_mqttEmitted) {
            if (m_mqttResult)
                report.checks.push_back(*m_mqttResult);
            else
                skipped(QString(checks::Mqtt));
        }
        for (const CheckResult &held : m_held)
            report.checks.push_back(held);
        for (qsizetype i = std::max(m_next, m_firstTraffic); i < m_planned.size(); ++i)
            skipped(m_planned[i]);
        return report;
    }

    // The MQTT side, driven by the run (gateway and plain mode) or by this meter (device mode).
    void mqttPublished() { m_mqttClock.start(); }

    void mqttAcknowledged()
    {
        if (m_mqttResult)
            return;
        const double ms = double(m_mqttClock.nsecsElapsed()) / 1e6;
        const CommissioningOptions &options = m_run.runOptions();
        QString explanation;
        switch (options.mqtt.format.mode) {
        case mqtt::Mode::Gateway:
            explanation = QCoreApplication::translate(
                "app::CommissioningRun", "broker acknowledged the gateway connect for %1 in %2")
                              .arg(deviceName(), monitor::formatMs(ms));
            break;
        case mqtt::Mode::Device:
            explanation = QCoreApplication::translate(
                "app::CommissioningRun", "broker acknowledged an attribute update of %1 in %2")
                              .arg(deviceName(), monitor::formatMs(ms));
            break;
        case mqtt::Mode::Plain:
            explanation = QCoreApplication::translate(
                "app::CommissioningRun", "broker acknowledged a message on %1 in %2")
                              .arg(QString::fromUtf8(m_mqttTopic), monitor::formatMs(ms));
            break;
        }
        mqttDone(makeResult(
            QString(checks::Mqtt), CheckStatus::Pass, monitor::formatMs(ms), explanation, ms, u"ms"_s));
    }

    void mqttFailed(const QString &why)
    {
        if (m_mqttResult)
            return;
        mqttDone(makeResult(QString(checks::Mqtt), CheckStatus::Fail, {}, why));
    }

    bool mqttPending() const { return !m_mqttResult && !m_mqttEmitted; }
    void setMqttTopic(const QByteArray &topic) { m_mqttTopic = topic; }

private:
    enum class Step : quint8 {
        Idle,
        Connecting,
        Associating,
        Identity,
        Clock,
        ClockSync,
        ClockVerify,
        Registers,
        Objects,
        Baseline,
        Releasing,
        Done,
    };

    struct Request {
        dlms::ClientSession::RequestId id = 0;
        qint64 sentUtcMs = 0; // the clock's reference is taken from it
    };

    // Requests go out through here: a response the connection delivers before get() returns
    // its id (a request refused locally) is held back and handled once the id is known.
    template<typename Send> void issue(Send send)
    {
        m_issuing = true;
        send();
        m_issuing = false;
        std::vector<dlms::ClientSession::Response> deferred = std::exchange(m_deferred, {});
        for (const dlms::ClientSession::Response &response : deferred) {
            if (m_stopped || m_step == Step::Done)
                return;
            onResponse(response);
        }
    }

    void dropConnection()
    {
        if (!m_connection)
            return;
        m_connection->disconnect(this);
        // Deferred: this may run inside one of the connection's own signals.
        m_connection->deleteLater();
        m_connection = nullptr;
    }

    void dropMqttClient()
    {
        if (m_mqttTimer)
            m_mqttTimer->stop();
        if (!m_mqttClient)
            return;
        m_mqttClient->disconnect(this);
        m_mqttClient->disconnectFromHost();
        m_mqttClient->deleteLater();
        m_mqttClient = nullptr;
    }

    // --- ordering -------------------------------------------------------------------------

    bool emitResult(const CheckResult &result)
    {
        m_report.checks.push_back(result);
        m_run.checkDone(*this, result);
        return !m_stopped;
    }

    // A check of the meter itself, in plan order (clock-sync is the one not planned ahead).
    bool add(const CheckResult &result)
    {
        if (m_next < m_planned.size() && result.check == m_planned[m_next])
            ++m_next;
        if (isTraffic(result.check) && !m_mqttEmitted) {
            m_held.push_back(result);
            return true;
        }
        if (!emitResult(result))
            return false;
        return flush();
    }

    bool flush()
    {
        if (!m_mqttEmitted && m_mqttResult && m_next >= m_firstTraffic) {
            m_mqttEmitted = true;
            if (!emitResult(*m_mqttResult))
                return false;
            const std::vector<CheckResult> held = std::exchange(m_held, {});
            for (const CheckResult &result : held)
                if (!emitResult(result))
                    return false;
        }
        maybeFinish();
        return !m_stopped;
    }

    void maybeFinish()
    {
        if (m_finishing || m_stopped || m_step != Step::Done || !m_mqttEmitted || !m_held.empty())
            return;
        m_finishing = true;
        // Queued: the run deletes this meter and starts the next outside the current signal.
        QMetaObject::invokeMethod(
            this,
            [this] {
                if (!m_stopped)
                    m_run.meterDone(*this);
            },
            Qt::QueuedConnection);
    }

    // Everything planned from here on is Skipped because `failedCheck` failed; then the
    // connection is gone and only MQTT may still be under way.
    void skipRest(const QString &failedCheck)
    {
        const QString why = QCoreApplication::translate("app::CommissioningRun", "not reached: %1")
                                .arg(commissioning::checkTitle(failedCheck));
        while (m_next < m_planned.size()) {
            if (!add(makeResult(m_planned[m_next], CheckStatus::Skipped, {}, why)))
                return;
        }
        dlmsFinished();
    }

    void dlmsFinished()
    {
        if (m_step == Step::Done)
            return;
        m_step = Step::Done;
        dropConnection();
        flush();
    }

    void release()
    {
        m_step = Step::Releasing;
        // A meter that does not answer the release was still checked: failed() ends it too.
        m_connection->close();
    }

    // --- TCP and association --------------------------------------------------------------

    void onConnected()
    {
        // Sub-millisecond, as the other timings: elapsed() would show every time as "N.0 ms".
        const double ms = double(m_timer.nsecsElapsed()) / 1e6;
        m_timer.start();
        m_step = Step::Associating;
        add(makeResult(QString(checks::Tcp), CheckStatus::Pass, monitor::formatMs(ms),
            QCoreApplication::translate("app::CommissioningRun", "connected to %1").arg(m_meter.endpoint()),
            ms, u"ms"_s));
    }

    void onAssociated(const dlms::Aare &aare)
    {
        if (m_step != Step::Associating)
            return;
        const double ms = double(m_timer.nsecsElapsed()) / 1e6;
        const quint16 pdu = aare.initiate ? aare.initiate->serverMaxReceivePduSize : 0;
        const QString measured = QCoreApplication::translate("app::CommissioningRun", "accepted (%1, PDU %2)")
                                     .arg(authenticationText(m_meter.authentication))
                                     .arg(pdu);
        if (!add(makeResult(QString(checks::Association), CheckStatus::Pass, measured,
                QCoreApplication::translate("app::CommissioningRun", "associated in %1")
                    .arg(monitor::formatMs(ms)),
                ms, u"ms"_s)))
            return;
        if (m_run.runOptions().clockOnly)
            readClock();
        else
            readIdentity();
    }

    // failed() comes only when no response told of the end first: the connection failed while
    // connecting or associating, or with no request of ours on the wire.
    void onFailed(const dlms::Error &error)
    {
        const Step step = m_step;
        m_connection->disconnect(this);
        switch (step) {
        case Step::Releasing:
        case Step::Done:
            dlmsFinished();
            return;
        case Step::Idle:
        case Step::Connecting:
            if (add(makeResult(QString(checks::Tcp), CheckStatus::Fail, {}, error.message)))
                skipRest(QString(checks::Tcp));
            return;
        case Step::Associating: {
            QString measured;
            QString explanation = error.message;
            if (m_connection->aare() && !m_connection->aare()->accepted()) {
                measured = m_connection->aare()->describe();
                explanation = QCoreApplication::translate(
                    "app::CommissioningRun", "the meter refused the association: %1")
                                  .arg(measured);
            }
            if (add(makeResult(QString(checks::Association), CheckStatus::Fail, measured, explanation)))
                skipRest(QString(checks::Association));
            return;
        }
        default:
            connectionLost(error.message);
            return;
        }
    }

    // The check whose request is on the wire (or about to be): it gets the failure of the
    // connection, the checks after it are not reached.
    QString checkInFlight() const
    {
        switch (m_step) {
        case Step::Identity:
            return QString(checks::Identity);
        case Step::Clock:
            return QString(checks::Clock);
        case Step::ClockSync:
        case Step::ClockVerify:
            return QString(checks::ClockSync);
        case Step::Registers:
            return QString(checks::RegisterPrefix) + m_meter.items[m_item].key;
        case Step::Objects:
            return QString(checks::Objects);
        case Step::Baseline:
            return QString(checks::TrafficBytes);
        default:
            return {};
        }
    }

    void connectionLost(const QString &why)
    {
        const QString check = checkInFlight();
        if (!add(makeResult(check, CheckStatus::Fail, {}, why)))
            return;
        skipRest(check);
    }

    void onResponse(const dlms::ClientSession::Response &response)
    {
        if (m_issuing) {
            m_deferred.push_back(response);
            return;
        }
        // A request timed out or the connection dropped: the connection is Closed already and
        // delivers the error of every request it held, then failed(). The first such error ends
        // the meter's checks here; sending the next step's request would only be refused.
        if (m_connection && m_connection->state() != polling::DlmsConnection::State::Ready
            && !checkInFlight().isEmpty()) {
            connectionLost(response.error
                    ? response.error->message
                    : QCoreApplication::translate("app::CommissioningRun", "the connection closed"));
            return;
        }
        if (m_step == Step::Identity) {
            if (m_identity.onResponse(response))
                identityDone();
            return;
        }
        if (response.id != m_request.id)
            return; // not the request this step waits for
        switch (m_step) {
        case Step::Clock:
        case Step::ClockVerify:
            clockRead(response);
            break;
        case Step::ClockSync:
            clockSet(response);
            break;
        case Step::Registers:
            registerRead(response);
            break;
        case Step::Objects:
            objectsRead(response);
            break;
        case Step::Baseline:
            baselineResponse(response);
            break;
        default:
            break;
        }
    }

    // --- identity -------------------------------------------------------------------------

    void readIdentity()
    {
        m_step = Step::Identity;
        m_identity = {};
        issue([this] { m_identity.start(*m_connection); });
    }

    void identityDone()
    {
        m_report.logicalDeviceName = m_identity.logicalDeviceName;
        m_report.serialNumber = m_identity.serialNumber;
        m_report.firmwareVersion = m_identity.firmwareVersion;
        QStringList found;
        if (!m_identity.logicalDeviceName.isEmpty())
            found << QCoreApplication::translate("app::CommissioningRun", "LDN %1")
                         .arg(m_identity.logicalDeviceName);
        if (!m_identity.serialNumber.isEmpty())
            found << QCoreApplication::translate("app::CommissioningRun", "serial %1")
                         .arg(m_identity.serialNumber);
        if (!m_identity.firmwareVersion.isEmpty())
            found << QCoreApplication::translate("app::CommissioningRun", "firmware %1")
                         .arg(m_identity.firmwareVersion);
        const QString measured = found.join(u", "_s);
        CheckResult result;
        if (m_identity.answered == 0 && m_identity.refused == 0) {
            result = makeResult(QString(checks::Identity), CheckStatus::Fail, measured,
                QCoreApplication::translate(
                    "app::CommissioningRun", "the identity objects could not be read: %1")
                    .arg(m_identity.lastError));
        } else if (m_identity.serialNumber.isEmpty() && m_identity.logicalDeviceName.isEmpty()) {
            QString explanation = QCoreApplication::translate(
                "app::CommissioningRun", "the meter has no serial number and no logical device name");
            if (!m_identity.unread.empty())
                explanation = QCoreApplication::translate("app::CommissioningRun", "%1; %2")
                                  .arg(explanation, unreadText());
            result = makeResult(QString(checks::Identity), CheckStatus::Warn, measured, explanation);
        } else if (!m_identity.unread.empty()) {
            // Part of the identity is missing: the technician should know which part.
            result = makeResult(QString(checks::Identity), CheckStatus::Warn, measured, unreadText());
        } else {
            result = makeResult(QString(checks::Identity), CheckStatus::Pass, measured,
                QCoreApplication::translate("app::CommissioningRun", "identity read"));
        }
        if (!add(result))
            return;
        readClock();
    }

    // "could not be read: firmware version (object-undefined), …"
    QString unreadText() const
    {
        QStringList parts;
        for (const auto &[field, why] : m_identity.unread) {
            QString name;
            switch (field) {
            case identity::Field::DeviceName:
                name = QCoreApplication::translate("app::CommissioningRun", "logical device name");
                break;
            case identity::Field::Serial:
                name = QCoreApplication::translate("app::CommissioningRun", "serial number");
                break;
            case identity::Field::Firmware:
                name = QCoreApplication::translate("app::CommissioningRun", "firmware version");
                break;
            }
            parts << (why.isEmpty()
                    ? name
                    : QCoreApplication::translate("app::CommissioningRun", "%1 (%2)").arg(name, why));
        }
        return QCoreApplication::translate("app::CommissioningRun", "could not be read: %1")
            .arg(parts.join(u", "_s));
    }

    // --- clock ----------------------------------------------------------------------------

    void readClock()
    {
        m_step = m_step == Step::ClockSync ? Step::ClockVerify : Step::Clock;
        sendGet(kClockTime);
    }

    void sendGet(const dlms::AttributeDescriptor &attribute)
    {
        m_request = {};
        m_request.sentUtcMs = nowMs();
        issue([&] { m_request.id = m_connection->get(attribute); });
    }

    struct ClockReading {
        std::optional<QDateTime> meterTime; // null: not a fully specified date-time
        dlms::CosemDateTime raw;
        double drift = 0; // seconds, meter − reference
        QString error; // the read failed
    };

    ClockReading readingOf(const dlms::ClientSession::Response &response) const
    {
        ClockReading reading;
        // The reference is the laptop's UTC halfway between request and answer.
        const qint64 receivedMs = nowMs();
        const double referenceMs = (double(m_request.sentUtcMs) + double(receivedMs)) / 2;
        if (response.error) {
            reading.error = response.error->message;
            return reading;
        }
        if (response.results.size() != 1 || !response.results.front().ok()) {
            reading.error = response.results.size() == 1
                ? dlms::dataAccessResultName(quint8(response.results.front().result))
                : QCoreApplication::translate("app::CommissioningRun", "no result");
            return reading;
        }
        const auto dateTime = response.results.front().value.asDateTime();
        if (!dateTime)
            return reading;
        reading.raw = *dateTime;
        if (!dateTime->isFullySpecified())
            return reading;
        reading.meterTime = dateTime->toQDateTime(Qt::UTC);
        if (reading.meterTime)
            reading.drift = (double(reading.meterTime->toMSecsSinceEpoch()) - referenceMs) / 1000.0;
        return reading;
    }

    void clockRead(const dlms::ClientSession::Response &response)
    {
        const ClockReading reading = readingOf(response);
        if (m_step == Step::ClockVerify) {
            clockVerified(reading);
            return;
        }
        const CommissioningSettings &settings = m_run.runOptions().settings;
        const QString id = QString(checks::Clock);
        CheckResult result;
        if (!reading.error.isEmpty()) {
            result = makeResult(id, CheckStatus::Fail, reading.error,
                QCoreApplication::translate("app::CommissioningRun", "the clock could not be read: %1")
                    .arg(reading.error));
        } else if (!reading.meterTime) {
            result = makeResult(id, CheckStatus::Fail, reading.raw.toString(),
                QCoreApplication::translate("app::CommissioningRun", "the meter's clock is not set"));
        } else {
            const double drift = std::round(reading.drift * 10) / 10;
            const double magnitude = std::abs(drift);
            const quint8 status = reading.raw.clockStatus;
            const bool statusKnown = status != dlms::CosemDateTime::ClockStatusNotSpecified;
            QString dst = QCoreApplication::translate("app::CommissioningRun", "DST not specified");
            if (statusKnown)
                dst = (status & dlms::ClockDaylightSavingActive)
                    ? QCoreApplication::translate("app::CommissioningRun", "DST on")
                    : QCoreApplication::translate("app::CommissioningRun", "DST off");
            QString offset = QCoreApplication::translate("app::CommissioningRun", "no deviation");
            if (reading.raw.deviation != dlms::CosemDateTime::DeviationNotSpecified) {
                const int minutes = reading.meterTime->offsetFromUtc() / 60;
                offset = (minutes < 0 ? u"-"_s : u"+"_s)
                    + u"%1:%2"_s.arg(std::abs(minutes) / 60, 2, 10, QLatin1Char('0'))
                          .arg(std::abs(minutes) % 60, 2, 10, QLatin1Char('0'));
            }
            const QString measured
                = QCoreApplication::translate("app::CommissioningRun", "%1 s (meter %2 %3, %4)")
                      .arg(signedSeconds(drift), reading.meterTime->toString(u"yyyy-MM-dd HH:mm:ss"_s),
                          offset, dst);
            CheckStatus verdict = CheckStatus::Pass;
            QString explanation;
            const QString amount = number(magnitude, 1);
            if (magnitude > settings.clockFailSeconds || magnitude > settings.clockWarnSeconds) {
                verdict = magnitude > settings.clockFailSeconds ? CheckStatus::Fail : CheckStatus::Warn;
                const int limit
                    = verdict == CheckStatus::Fail ? settings.clockFailSeconds : settings.clockWarnSeconds;
                explanation = drift > 0 ? QCoreApplication::translate("app::CommissioningRun",
                                  "clock %1 s ahead of the laptop's UTC: more than %2 s")
                                              .arg(amount)
                                              .arg(limit)
                                        : QCoreApplication::translate("app::CommissioningRun",
                                            "clock %1 s behind the laptop's UTC: more than %2 s")
                                              .arg(amount)
                                              .arg(limit);
            } else {
                explanation
                    = QCoreApplication::translate("app::CommissioningRun", "within %1 s of the laptop's UTC")
                          .arg(settings.clockWarnSeconds);
            }
            if (statusKnown && (status & (dlms::ClockInvalidValue | dlms::ClockDoubtfulValue))) {
                verdict = commissioning::worse(verdict, CheckStatus::Warn);
                const QString flag = (status & dlms::ClockInvalidValue)
                    ? QCoreApplication::translate(
                        "app::CommissioningRun", "the meter flags its clock as invalid")
                    : QCoreApplication::translate(
                        "app::CommissioningRun", "the meter flags its clock as doubtful");
                explanation
                    = QCoreApplication::translate("app::CommissioningRun", "%1; %2").arg(explanation, flag);
            }
            result = makeResult(id, verdict, measured, explanation, drift, u"s"_s);
            m_clock = reading;
            m_clockDrift = drift;
        }
        if (!add(result))
            return;
        const CommissioningOptions &options = m_run.runOptions();
        if (options.syncClock && reading.meterTime && std::abs(m_clockDrift) > settings.clockWarnSeconds)
            setClock();
        else
            afterClock();
    }

    void setClock()
    {
        // The laptop's UTC in the meter's own deviation (UTC when it gave none), DST bit kept.
        const bool hasDeviation = m_clock.raw.deviation != dlms::CosemDateTime::DeviationNotSpecified;
        const int offsetSeconds = hasDeviation ? m_clock.meterTime->offsetFromUtc() : 0;
        dlms::CosemDateTime target = dlms::CosemDateTime::fromQDateTime(
            QDateTime::currentDateTimeUtc().toOffsetFromUtc(offsetSeconds));
        const quint8 status = m_clock.raw.clockStatus;
        target.clockStatus = status != dlms::CosemDateTime::ClockStatusNotSpecified
                && (status & dlms::ClockDaylightSavingActive)
            ? quint8(dlms::ClockDaylightSavingActive)
            : quint8(0);
        m_step = Step::ClockSync;
        m_request = {};
        issue([&] {
            m_request.id = m_connection->set(kClockTime, dlms::Value::octetString(target.toBytes()));
        });
    }

    void clockSet(const dlms::ClientSession::Response &response)
    {
        const QString id = QString(checks::ClockSync);
        QString refusal;
        if (response.error)
            refusal = response.error->message;
        else if (response.results.size() != 1)
            refusal = QCoreApplication::translate("app::CommissioningRun", "no result");
        else if (!response.results.front().ok())
            refusal = dlms::dataAccessResultName(quint8(response.results.front().result));
        if (!refusal.isEmpty()) {
            const QString explanation = QCoreApplication::translate(
                "app::CommissioningRun", "%1: the meter refuses the clock SET for this client/authentication")
                                            .arg(refusal);
            if (!add(makeResult(id, CheckStatus::Fail, refusal, explanation)))
                return;
            afterClock();
            return;
        }
        readClock(); // Step::ClockSync → ClockVerify
    }

    void clockVerified(const ClockReading &reading)
    {
        const QString id = QString(checks::ClockSync);
        const int warnSeconds = m_run.runOptions().settings.clockWarnSeconds;
        CheckResult result;
        if (!reading.meterTime) {
            const QString why = reading.error.isEmpty()
                ? QCoreApplication::translate("app::CommissioningRun", "the meter's clock is not set")
                : reading.error;
            result = makeResult(id, CheckStatus::Fail, {},
                QCoreApplication::translate(
                    "app::CommissioningRun", "the clock could not be read after the SET: %1")
                    .arg(why));
        } else {
            const double drift = std::round(reading.drift * 10) / 10;
            const QString measured = QCoreApplication::translate("app::CommissioningRun", "%1 s → %2 s")
                                         .arg(signedSeconds(m_clockDrift), signedSeconds(drift));
            if (std::abs(drift) <= warnSeconds)
                result = makeResult(id, CheckStatus::Pass, measured,
                    QCoreApplication::translate("app::CommissioningRun", "clock set to the laptop's UTC"),
                    drift, u"s"_s);
            else
                result = makeResult(id, CheckStatus::Fail, measured,
                    QCoreApplication::translate(
                        "app::CommissioningRun", "still more than %1 s off after the SET")
                        .arg(warnSeconds),
                    drift, u"s"_s);
        }
        if (!add(result))
            return;
        afterClock();
    }

    void afterClock()
    {
        if (m_run.runOptions().clockOnly) {
            release();
            return;
        }
        m_item = 0;
        m_readingScaler = false;
        nextRegister();
    }

    // --- registers ------------------------------------------------------------------------

    void nextRegister()
    {
        if (m_item >= m_meter.items.size()) {
            readObjects();
            return;
        }
        const polling::PollItem &item = m_meter.items[m_item];
        m_step = Step::Registers;
        if (item.isScaled() && !m_readingScaler && !m_valueRead) {
            m_readingScaler = true;
            sendGet({item.classId, item.obis, item.scalerAttribute()});
            return;
        }
        m_readingScaler = false;
        m_valueRead = true;
        sendGet({item.classId, item.obis, item.attribute});
    }

    void registerRead(const dlms::ClientSession::Response &response)
    {
        const polling::PollItem &item = m_meter.items[m_item];
        if (m_readingScaler) {
            // The value is read next either way; without a scaler_unit it is judged unscaled.
            if (response.error)
                m_scalerErrors[m_item] = response.error->message;
            else if (response.results.size() != 1 || !response.results.front().ok())
                m_scalerErrors[m_item] = response.results.size() == 1
                    ? dlms::dataAccessResultName(quint8(response.results.front().result))
                    : QCoreApplication::translate("app::CommissioningRun", "no result");
            else if (const auto scalerUnit = dlms::ScalerUnit::fromValue(response.results.front().value))
                m_scalers[m_item] = *scalerUnit;
            else
                m_scalerErrors[m_item] = scalerUnit.error().message;
            m_readingScaler = false;
            m_valueRead = true;
            sendGet({item.classId, item.obis, item.attribute});
            return;
        }
        if (!add(registerResult(item, response)))
            return;
        ++m_item;
        m_valueRead = false;
        nextRegister();
    }

    CheckResult registerResult(
        const polling::PollItem &item, const dlms::ClientSession::Response &response) const
    {
        const QString id = QString(checks::RegisterPrefix) + item.key;
        if (response.error)
            return makeResult(id, CheckStatus::Fail, {},
                QCoreApplication::translate("app::CommissioningRun", "read failed: %1")
                    .arg(response.error->message));
        if (response.results.size() != 1)
            return makeResult(id, CheckStatus::Fail, {},
                QCoreApplication::translate("app::CommissioningRun", "read failed: %1")
                    .arg(QCoreApplication::translate("app::CommissioningRun", "no result")));
        const dlms::DataResult &data = response.results.front();
        if (!data.ok()) {
            const QString name = dlms::dataAccessResultName(quint8(data.result));
            return makeResult(id, CheckStatus::Fail, name,
                QCoreApplication::translate("app::CommissioningRun", "read failed: %1").arg(name));
        }
        const dlms::Value &value = data.value;
        const std::optional<dlms::ScalerUnit> &scaler = m_scalers[m_item];
        const QString unit = scaler ? dlms::unitSymbol(scaler->unit) : QString();
        const PlausibilityRange *range = m_run.runOptions().settings.rangeFor(item);
        auto span = [&](double low, double high) {
            const QString text = range->absolute
                ? QCoreApplication::translate("app::CommissioningRun", "±%1–%2").arg(bound(low), bound(high))
                : QCoreApplication::translate("app::CommissioningRun", "%1–%2").arg(bound(low), bound(high));
            return unit.isEmpty()
                ? text
                : QCoreApplication::translate("app::CommissioningRun", "%1 %2").arg(text, unit);
        };
        auto passBand = [&] {
            return range->label.isEmpty() ? span(range->min, range->max)
                                          : QCoreApplication::translate("app::CommissioningRun", "%1 (%2)")
                                                .arg(span(range->min, range->max), range->label);
        };

        if (!value.isNumber()) {
            const bool clock = item.classId == 8 && item.attribute == 2;
            const QString text = identity::capped(dlms::valueText(value, clock));
            if (range)
                return makeResult(id, CheckStatus::Warn, text,
                    QCoreApplication::translate(
                        "app::CommissioningRun", "not a number: cannot check against %1")
                        .arg(passBand()));
            return makeResult(id, CheckStatus::Pass, text,
                QCoreApplication::translate("app::CommissioningRun", "read; not a number"));
        }
        // A number the scaler cannot turn into a finite value is no reading: judging it as 0
        // (or infinity) against a range would pass or fail it for the wrong reason.
        const std::optional<double> raw = value.toDouble();
        const std::optional<double> scaled = scaler && raw ? dlms::scaledValue(value, scaler->scaler) : raw;
        if (!scaled || !std::isfinite(*scaled)) {
            const QString text = identity::capped(value.toText());
            QString why;
            if (!raw || !std::isfinite(*raw))
                why = QCoreApplication::translate("app::CommissioningRun", "%1 is not a finite number")
                          .arg(text);
            else
                why = QCoreApplication::translate(
                    "app::CommissioningRun", "%1 with scaler %2 is out of the range of a number")
                          .arg(text)
                          .arg(scaler->scaler);
            return makeResult(id, CheckStatus::Fail, text,
                QCoreApplication::translate("app::CommissioningRun", "cannot scale: %1").arg(why));
        }
        if (item.isScaled() && !scaler) {
            return makeResult(id, CheckStatus::Warn, bound(*raw),
                QCoreApplication::translate(
                    "app::CommissioningRun", "read unscaled: the scaler_unit could not be read (%1)")
                    .arg(m_scalerErrors[m_item]),
                *raw);
        }
        const int decimals = value.isInteger() && scaler && scaler->scaler < 0 ? -scaler->scaler : 0;
        const QString figure = value.isInteger() ? number(*scaled, decimals) : bound(*scaled);
        const QString measured = unit.isEmpty()
            ? figure
            : QCoreApplication::translate("app::CommissioningRun", "%1 %2").arg(figure, unit);

        if (!range)
            return makeResult(id, CheckStatus::Pass, measured,
                QCoreApplication::translate("app::CommissioningRun", "read; no plausibility range"), *scaled,
                unit);
        const CheckStatus verdict = judge(*range, *scaled);
        QString explanation;
        switch (verdict) {
        case CheckStatus::Pass:
            explanation = QCoreApplication::translate("app::CommissioningRun", "within %1").arg(passBand());
            break;
        case CheckStatus::Warn:
            explanation
                = QCoreApplication::translate("app::CommissioningRun", "outside %1, within the tolerance %2")
                      .arg(passBand(), span(range->warnMin, range->warnMax));
            break;
        default:
            explanation = QCoreApplication::translate("app::CommissioningRun", "outside %1").arg(passBand());
            break;
        }
        return makeResult(id, verdict, measured, explanation, *scaled, unit);
    }

    // --- object list ----------------------------------------------------------------------

    void readObjects()
    {
        m_step = Step::Objects;
        sendGet(kObjectList);
    }

    void objectsRead(const dlms::ClientSession::Response &response)
    {
        const QString id = QString(checks::Objects);
        QString unreadable;
        if (response.error)
            unreadable = response.error->message;
        else if (response.results.size() != 1)
            unreadable = QCoreApplication::translate("app::CommissioningRun", "no result");
        else if (!response.results.front().ok())
            unreadable = dlms::dataAccessResultName(quint8(response.results.front().result));
        if (!unreadable.isEmpty()) {
            if (!add(makeResult(id, CheckStatus::Warn, {},
                    QCoreApplication::translate("app::CommissioningRun", "the object list cannot be read: %1")
                        .arg(unreadable))))
                return;
            startBaseline();
            return;
        }
        const ObjectList list = parseObjectList(response.results.front().value);
        QStringList missing;
        QStringList doubts;
        int present = 0;
        for (const polling::PollItem &item : m_meter.items) {
            const auto entry = std::find_if(list.entries.cbegin(), list.entries.cend(),
                [&](const ObjectListEntry &e) { return e.obis == item.obis; });
            if (entry == list.entries.cend()) {
                missing << QCoreApplication::translate("app::CommissioningRun", "%1 (%2)")
                               .arg(item.key, item.obis.toString());
                continue;
            }
            ++present;
            if (entry->classId != item.classId) {
                doubts << QCoreApplication::translate(
                    "app::CommissioningRun", "%1: class %2 in the list, %3 configured")
                              .arg(item.key)
                              .arg(entry->classId)
                              .arg(item.classId);
                continue;
            }
            for (const ObjectListEntry::Attribute &attribute : entry->attributes) {
                if (attribute.id == item.attribute && attribute.access == 0)
                    doubts << QCoreApplication::translate(
                        "app::CommissioningRun", "%1: attribute %2 not readable for this association")
                                  .arg(item.key)
                                  .arg(item.attribute);
            }
        }
        const QString measured = QCoreApplication::translate(
            "app::CommissioningRun", "%1 of %2 configured objects (%3 in the list)")
                                     .arg(present)
                                     .arg(m_meter.items.size())
                                     .arg(list.entries.size());
        CheckStatus verdict = CheckStatus::Pass;
        QStringList why;
        if (!missing.isEmpty()) {
            verdict = CheckStatus::Fail;
            why << QCoreApplication::translate("app::CommissioningRun", "missing: %1")
                       .arg(missing.join(u", "_s));
        }
        if (!doubts.isEmpty()) {
            verdict = commissioning::worse(verdict, CheckStatus::Warn);
            why << doubts;
        }
        const QString explanation = why.isEmpty()
            ? QCoreApplication::translate("app::CommissioningRun", "every configured object is in the list")
            : why.join(u"; "_s);
        if (!add(makeResult(id, verdict, measured, explanation, double(present))))
            return;
        startBaseline();
    }

    // --- traffic baseline -----------------------------------------------------------------

    struct Chunk {
        size_t begin = 0;
        size_t end = 0;
    };

    void startBaseline()
    {
        if (m_meter.items.empty()) {
            const QString why
                = QCoreApplication::translate("app::CommissioningRun", "no configured items to poll");
            if (!add(makeResult(QString(checks::TrafficBytes), CheckStatus::Skipped, {}, why)))
                return;
            if (!add(makeResult(QString(checks::TrafficRtt), CheckStatus::Skipped, {}, why)))
                return;
            release();
            return;
        }
        // As the poller reads: GET-with-list in chunks when the meter offers it, else one GET each.
        const bool list = m_connection->session().supports(dlms::ConformanceMultipleReferences);
        const size_t perRequest = list ? size_t(std::max(1, m_meter.maxItemsPerRequest)) : 1;
        m_chunks.clear();
        for (size_t begin = 0; begin < m_meter.items.size(); begin += perRequest)
            m_chunks.push_back({begin, std::min(m_meter.items.size(), begin + perRequest)});
        m_step = Step::Baseline;
        m_startCounters = m_connection->counters();
        m_poll = 0;
        m_chunk = 0;
        sendChunk();
    }

    void sendChunk()
    {
        const Chunk chunk = m_chunks[m_chunk];
        m_request = {};
        m_rttClock.start();
        if (chunk.end - chunk.begin == 1) {
            const polling::PollItem &item = m_meter.items[chunk.begin];
            issue([&] { m_request.id = m_connection->get({item.classId, item.obis, item.attribute}); });
            return;
        }
        std::vector<dlms::AttributeRequest> items;
        for (size_t i = chunk.begin; i < chunk.end; ++i) {
            const polling::PollItem &item = m_meter.items[i];
            items.push_back({{item.classId, item.obis, item.attribute}, std::nullopt});
        }
        issue([&] { m_request.id = m_connection->getList(std::move(items)); });
    }

    void baselineResponse(const dlms::ClientSession::Response &response)
    {
        const double ms = double(m_rttClock.nsecsElapsed()) / 1e6;
        ++m_baselineRequests;
        if (response.error) {
            // No answer to time (exception, service error): it would skew the average.
            ++m_responseErrors;
        } else {
            ++m_rttCount;
            m_rttSumMs += ms;
            m_rttMaxMs = std::max(m_rttMaxMs, ms);
            for (const dlms::DataResult &result : response.results)
                if (!result.ok())
                    ++m_failedReads;
        }
        if (++m_chunk >= m_chunks.size()) {
            m_chunk = 0;
            if (++m_poll >= m_run.runOptions().settings.baselinePolls) {
                baselineDone();
                return;
            }
        }
        sendChunk();
    }

    void baselineDone()
    {
        const polling::DlmsConnection::Counters &now = m_connection->counters();
        const int polls = m_run.runOptions().settings.baselinePolls;
        const double sent = double(now.bytesSent - m_startCounters.bytesSent) / polls;
        const double received = double(now.bytesReceived - m_startCounters.bytesReceived) / polls;
        const quint64 protocolErrors = now.protocolErrors - m_startCounters.protocolErrors;
        const double perPoll = sent + received;
        auto bytes = [](double value) { return monitor::formatBytes(value, value != std::floor(value)); };
        const QString bytesMeasured = QCoreApplication::translate(
            "app::CommissioningRun", "%1 per poll (%2 sent, %3 received, %4 polls)")
                                          .arg(bytes(perPoll), bytes(sent), bytes(received))
                                          .arg(polls);
        CheckResult bytesResult;
        if (m_failedReads > 0 || m_responseErrors > 0 || protocolErrors > 0)
            bytesResult = makeResult(QString(checks::TrafficBytes), CheckStatus::Warn, bytesMeasured,
                QCoreApplication::translate("app::CommissioningRun",
                    "%1 failed reads, %2 failed requests and %3 protocol errors during the baseline")
                    .arg(m_failedReads)
                    .arg(m_responseErrors)
                    .arg(protocolErrors),
                perPoll, u"B"_s);
        else
            bytesResult = makeResult(QString(checks::TrafficBytes), CheckStatus::Pass, bytesMeasured,
                QCoreApplication::translate(
                    "app::CommissioningRun", "%1 requests per poll, every read answered")
                    .arg(m_chunks.size()),
                perPoll, u"B"_s);

        const int warnMs = m_run.runOptions().settings.rttWarnMs;
        CheckResult rttResult;
        if (m_rttCount == 0) {
            rttResult = makeResult(QString(checks::TrafficRtt), CheckStatus::Fail,
                QCoreApplication::translate("app::CommissioningRun", "none of %1 requests answered")
                    .arg(m_baselineRequests),
                QCoreApplication::translate("app::CommissioningRun", "no request answered"));
        } else {
            const double average = m_rttSumMs / double(m_rttCount);
            const QString rttMeasured = m_rttCount == m_baselineRequests
                ? QCoreApplication::translate("app::CommissioningRun", "average %1, max %2 (%3 requests)")
                      .arg(monitor::formatMs(average), monitor::formatMs(m_rttMaxMs))
                      .arg(m_rttCount)
                : QCoreApplication::translate(
                    "app::CommissioningRun", "average %1, max %2 (%3 of %4 requests answered)")
                      .arg(monitor::formatMs(average), monitor::formatMs(m_rttMaxMs))
                      .arg(m_rttCount)
                      .arg(m_baselineRequests);
            rttResult = average > warnMs
                ? makeResult(QString(checks::TrafficRtt), CheckStatus::Warn, rttMeasured,
                    QCoreApplication::translate("app::CommissioningRun", "average round trip above %1")
                        .arg(monitor::formatMs(warnMs)),
                    average, u"ms"_s)
                : makeResult(QString(checks::TrafficRtt), CheckStatus::Pass, rttMeasured,
                    QCoreApplication::translate("app::CommissioningRun", "average round trip within %1")
                        .arg(monitor::formatMs(warnMs)),
                    average, u"ms"_s);
        }
        if (!add(bytesResult) || !add(rttResult))
            return;
        release();
    }

    // --- MQTT -----------------------------------------------------------------------------

    void startMqtt()
    {
        const CommissioningOptions &options = m_run.runOptions();
        if (options.clockOnly)
            return;
        if (!options.mqtt.enabled) {
            m_mqttResult = makeResult(QString(checks::Mqtt), CheckStatus::Skipped, {},
                QCoreApplication::translate("app::CommissioningRun", "MQTT publishing is off"));
            return;
        }
        // Bounded whatever the broker does: the client's connect timeout plus one request.
        m_mqttTimer = new QTimer(this);
        m_mqttTimer->setSingleShot(true);
        const int budget = options.mqtt.client.connectTimeoutMs + m_meter.requestTimeoutMs;
        connect(m_mqttTimer, &QTimer::timeout, this, [this, budget] {
            mqttFailed(QCoreApplication::translate(
                "app::CommissioningRun", "no acknowledgement from the broker within %1")
                           .arg(secondsText(budget / 1000.0)));
        });
        m_mqttTimer->start(budget);
        if (options.mqtt.format.mode != mqtt::Mode::Device) {
            m_run.publishShared(*this);
            return;
        }
        const QString token = options.publishing.value(m_meter.id).accessToken;
        if (token.isEmpty()) {
            mqttFailed(QCoreApplication::translate("app::CommissioningRun",
                "no access token for this meter: Device mode publishes nothing for it"));
            return;
        }
        mqtt::ClientOptions client = options.mqtt.client;
        client.clientId = client.clientId + u"-commissioning-"_s + m_meter.id;
        client.username = token;
        client.password.clear();
        client.autoReconnect = false;
        m_mqttClient = new mqtt::MqttClient(client, this);
        connect(m_mqttClient, &mqtt::MqttClient::connected, this, [this] {
            const QByteArray payload = R"({"commissioning":)"_ba
                + mqtt::jsonString(QDateTime::currentDateTimeUtc().toString(Qt::ISODateWithMs)) + '}';
            m_mqttTopic = QByteArray(mqtt::DeviceAttributesTopic.data(), mqtt::DeviceAttributesTopic.size());
            mqttPublished();
            m_mqttMessage = m_mqttClient->publish(m_mqttTopic, payload, 1);
            if (m_mqttMessage < 0 && !m_mqttResult)
                mqttFailed(m_mqttError.isEmpty() ? QCoreApplication::translate(
                               "app::CommissioningRun", "the broker connection refused the message")
                                                 : m_mqttError);
        });
        connect(m_mqttClient, &mqtt::MqttClient::messageAcknowledged, this, [this](int id) {
            if (id == m_mqttMessage)
                mqttAcknowledged();
        });
        connect(m_mqttClient, &mqtt::MqttClient::messageFailed, this,
            [this](int id, const mqtt::ClientError &error) {
                if (id == m_mqttMessage)
                    mqttFailed(error.message);
            });
        connect(m_mqttClient, &mqtt::MqttClient::errorOccurred, this, [this](const mqtt::ClientError &error) {
            m_mqttError = error.message;
            if (error.code != mqtt::ClientErrorCode::PublishFailed)
                mqttFailed(error.message);
        });
        m_mqttClient->connectToHost();
    }

    void mqttDone(const CheckResult &result)
    {
        m_mqttResult = result;
        dropMqttClient();
        flush();
    }

    RunContext &m_run;
    const int m_index;
    const polling::MeterConfig m_meter;
    MeterReport m_report;
    QStringList m_planned; // the meter's own checks in order (clock-sync is added when made)
    qsizetype m_next = 0; // planned checks already made
    qsizetype m_firstTraffic = 0; // where the MQTT result goes
    std::vector<CheckResult> m_held; // traffic results waiting for the MQTT result
    std::optional<CheckResult> m_mqttResult;
    bool m_mqttEmitted = false;
    bool m_finishing = false;
    bool m_stopped = false;

    polling::DlmsConnection *m_connection = nullptr;
    Step m_step = Step::Idle;
    QElapsedTimer m_timer;
    bool m_issuing = false;
    std::vector<dlms::ClientSession::Response> m_deferred;
    Request m_request; // the request on the wire
    identity::Read m_identity;
    ClockReading m_clock;
    double m_clockDrift = 0;
    size_t m_item = 0;
    bool m_readingScaler = false;
    bool m_valueRead = false;
    std::vector<std::optional<dlms::ScalerUnit>> m_scalers;
    std::vector<QString> m_scalerErrors;
    std::vector<Chunk> m_chunks;
    size_t m_chunk = 0;
    int m_poll = 0;
    polling::DlmsConnection::Counters m_startCounters;
    QElapsedTimer m_rttClock;
    quint64 m_baselineRequests = 0; // sent and ended, answered or not
    quint64 m_rttCount = 0; // answered: the round trips the average is made of
    double m_rttSumMs = 0;
    double m_rttMaxMs = 0;
    quint64 m_failedReads = 0;
    quint64 m_responseErrors = 0;

    QTimer *m_mqttTimer = nullptr;
    mqtt::MqttClient *m_mqttClient = nullptr; // Device mode: this meter's own connection
    int m_mqttMessage = -1;
    QString m_mqttError;
    QByteArray m_mqttTopic;
    QElapsedTimer m_mqttClock;
};

} // namespace

struct CommissioningRun::Private final : RunContext {
    CommissioningRun *q = nullptr;
    std::vector<std::optional<MeterReport>> reports;
    std::vector<MeterCheck *> active;
    size_t nextMeter = 0;
    int done = 0;
    bool started = false;
    bool running = false;

    // Gateway and plain mode: one connection for the whole run.
    enum class Shared : quint8 { Off, Connecting, Connected, Failed };
    mqtt::MqttClient *shared = nullptr;
    Shared sharedState = Shared::Off;
    QString sharedError;
    QString lastPublishError;
    std::vector<int> waiting; // meter indexes waiting for the connection
    QHash<int, int> acks; // message id → meter index

    const CommissioningOptions &runOptions() const override { return q->m_options; }

    MeterCheck *find(int index) const
    {
        for (MeterCheck *meter : active)
            if (meter->index() == index)
                return meter;
        return nullptr;
    }

    void checkDone(MeterCheck &meter, const CheckResult &result) override
    {
        emit q->checkFinished(meter.meter().id, result);
    }

    void meterDone(MeterCheck &meter) override
    {
        const auto it = std::find(active.begin(), active.end(), &meter);
        if (it == active.end())
            return;
        active.erase(it);
        const MeterReport report = meter.report();
        reports[size_t(meter.index())] = report;
        ++done;
        meter.deleteLater();
        QPointer<CommissioningRun> guard(q);
        emit q->meterFinished(report);
        if (!guard || !running)
            return;
        emit q->progress(done, q->metersTotal());
        if (!guard || !running)
            return;
        startMeters();
    }

    void startMeters()
    {
        const size_t parallel = size_t(std::max(1, runOptions().settings.parallelMeters));
        while (running && active.size() < parallel && nextMeter < runOptions().meters.size()) {
            const int index = int(nextMeter++);
            auto *meter = new MeterCheck(*this, index, runOptions().meters[size_t(index)], q);
            active.push_back(meter);
            QPointer<CommissioningRun> guard(q);
            emit q->meterStarted(meter->meter().id);
            if (!guard || !running)
                return;
            meter->start();
        }
        if (running && active.empty() && nextMeter >= runOptions().meters.size())
            finish(false);
    }

    void finish(bool cancelled)
    {
        running = false;
        stopShared();
        // Queued: a slot may delete the run, which must not happen inside a meter's signal.
        QMetaObject::invokeMethod(
            q, [run = q, cancelled] { emit run->finished(cancelled); }, Qt::QueuedConnection);
    }

    // --- the shared MQTT connection --------------------------------------------------------

    void startShared()
    {
        const CommissioningOptions &options = runOptions();
        if (options.clockOnly || !options.mqtt.enabled || options.mqtt.format.mode == mqtt::Mode::Device
            || options.meters.empty())
            return;
        mqtt::ClientOptions client = options.mqtt.client;
        // The bridge's own id would make the broker drop the bridge's connection.
        client.clientId = client.clientId + u"-commissioning"_s;
        client.autoReconnect = false;
        shared = new mqtt::MqttClient(client, q);
        sharedState = Shared::Connecting;
        QObject::connect(shared, &mqtt::MqttClient::connected, q, [this] {
            sharedState = Shared::Connected;
            const std::vector<int> queue = std::exchange(waiting, {});
            for (int index : queue)
                if (MeterCheck *meter = find(index))
                    publish(*meter);
        });
        QObject::connect(shared, &mqtt::MqttClient::messageAcknowledged, q, [this](int id) {
            const auto it = acks.constFind(id);
            if (it == acks.cend())
                return;
            const int index = it.value();
            acks.erase(it);
            if (MeterCheck *meter = find(index))
                meter->mqttAcknowledged();
        });
        QObject::connect(
            shared, &mqtt::MqttClient::messageFailed, q, [this](int id, const mqtt::ClientError &error) {
                const auto it = acks.constFind(id);
                if (it == acks.cend())
                    return;
                const int index = it.value();
                acks.erase(it);
                if (MeterCheck *meter = find(index))
                    meter->mqttFailed(error.message);
            });
        QObject::connect(shared, &mqtt::MqttClient::errorOccurred, q, [this](const mqtt::ClientError &error) {
            if (error.code == mqtt::ClientErrorCode::PublishFailed) {
                lastPublishError = error.message;
                return;
            }
            // No reconnect: every meter waiting, and every meter after, fails with this.
            sharedState = Shared::Failed;
            sharedError = error.message;
            std::vector<int> affected = std::exchange(waiting, {});
            for (auto it = acks.cbegin(); it != acks.cend(); ++it)
                affected.push_back(it.value());
            acks.clear();
            for (int index : affected)
                if (MeterCheck *meter = find(index))
                    meter->mqttFailed(error.message);
        });
        shared->connectToHost();
    }

    void stopShared()
    {
        if (!shared)
            return;
        shared->disconnect(q);
        shared->disconnectFromHost();
        shared->deleteLater();
        shared = nullptr;
        waiting.clear();
        acks.clear();
    }

    void publishShared(MeterCheck &meter) override
    {
        switch (sharedState) {
        case Shared::Connected:
            publish(meter);
            break;
        case Shared::Failed:
            meter.mqttFailed(sharedError);
            break;
        case Shared::Connecting:
            waiting.push_back(meter.index());
            break;
        case Shared::Off:
            meter.mqttFailed(QCoreApplication::translate("app::CommissioningRun", "no broker connection"));
            break;
        }
    }

    void publish(MeterCheck &meter)
    {
        const CommissioningOptions &options = runOptions();
        QByteArray topic;
        QByteArray payload;
        if (options.mqtt.format.mode == mqtt::Mode::Gateway) {
            topic = QByteArray(mqtt::GatewayConnectTopic.data(), mqtt::GatewayConnectTopic.size());
            QString type = options.publishing.value(meter.meter().id).deviceType;
            if (type.isEmpty())
                type = options.mqtt.format.deviceType;
            payload = mqtt::gatewayConnectPayload(meter.deviceName(), type);
        } else {
            topic = mqtt::plainTopic(options.mqtt.format.topicTemplate, meter.meter().id, meter.meter().name)
                + "/commissioning";
            payload = R"({"ts":)"_ba + QByteArray::number(nowMs()) + R"(,"commissioning":true})"_ba;
        }
        meter.setMqttTopic(topic);
        meter.mqttPublished();
        lastPublishError.clear();
        const int id = shared->publish(topic, payload, 1);
        if (id < 0) {
            meter.mqttFailed(lastPublishError.isEmpty() ? QCoreApplication::translate(
                                 "app::CommissioningRun", "the broker connection refused the message")
                                                        : lastPublishError);
            return;
        }
        acks.insert(id, meter.index());
    }
};

CommissioningRun::CommissioningRun(CommissioningOptions options, QObject *parent)
    : QObject(parent), d(std::make_unique<Private>()), m_options(std::move(options))
{
    d->q = this;
    d->reports.resize(m_options.meters.size());
    qRegisterMetaType<commissioning::CheckResult>();
    qRegisterMetaType<commissioning::MeterReport>();
}

CommissioningRun::~CommissioningRun()
{
    // Without signals: the meters' connections and MQTT clients go with them.
    for (MeterCheck *meter : d->active) {
        meter->stop();
        delete meter;
    }
    d->active.clear();
    d->running = false;
    d->stopShared();
}

void CommissioningRun::start()
{
    if (d->started)
        return;
    d->started = true;
    d->running = true;
    d->startShared();
    d->startMeters();
}

void CommissioningRun::cancel()
{
    if (!d->running)
        return;
    d->running = false;
    const std::vector<MeterCheck *> dropped = std::exchange(d->active, {});
    std::vector<MeterReport> cut;
    for (MeterCheck *meter : dropped) {
        cut.push_back(meter->stop());
        d->reports[size_t(meter->index())] = cut.back();
        ++d->done;
        // Later: cancel() may be called from inside one of this meter's own signals.
        meter->deleteLater();
    }
    d->finish(true);
    QPointer<CommissioningRun> guard(this);
    for (const MeterReport &report : cut) {
        emit meterFinished(report);
        if (!guard)
            return;
    }
}

bool CommissioningRun::isRunning() const
{
    return d->running;
}

std::vector<commissioning::MeterReport> CommissioningRun::reports() const
{
    std::vector<commissioning::MeterReport> result;
    for (const std::optional<MeterReport> &report : d->reports)
        if (report)
            result.push_back(*report);
    return result;
}

int CommissioningRun::metersDone() const
{
    return d->done;
}

CommissioningOptions commissioningOptions(const BridgeConfig &config, const QStringList &meterIds)
{
    CommissioningOptions options;
    const auto take = [&](const polling::MeterConfig &meter) {
        options.meters.push_back(meter);
        // Only the selected meters' publishing: a run never carries other meters' tokens.
        const auto it = config.publishing.constFind(meter.id);
        if (it != config.publishing.constEnd())
            options.publishing.insert(meter.id, *it);
    };
    if (meterIds.isEmpty()) {
        for (const polling::MeterConfig &meter : config.site.meters)
            take(meter);
    } else {
        for (const QString &id : meterIds) {
            if (const polling::MeterConfig *meter = config.findMeter(id))
                take(*meter);
        }
    }
    options.mqtt = config.mqtt;
    options.settings = config.commissioning;
    return options;
}

} // namespace app
