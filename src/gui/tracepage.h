#pragma once

#include <clientsession.h>
#include <security.h>

#include <QtCore/QHash>

#include <QtWidgets/QWidget>

#include <memory>

namespace Ui {
class TracePage;
}
class TraceModel;

// Trace: the live frame log (time, meter, direction, kind, size, hex, one-line decode; the
// selected line's details below), filtered by meter and kind; Capture on/off (asks the bridge
// to trace the filtered meter, or every meter), Pause (the view stops, lines are still
// counted and kept up to the bound), Clear, Save to a text file. Bytes are decoded by one
// dlms::TraceDecoder per meter, which masks an AARQ's LLS password in the hex and the decode, and
// deciphers ciphered APDUs with the meter's keys (setMeterSecurity), marking those lines.
class TracePage final : public QWidget {
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(TracePage)

public:
    explicit TracePage(QWidget *parent = nullptr);
    ~TracePage() override;

    TraceModel *model() const;
    void setMeters(const QStringList &meterIds); // the meter filter's choices
    // The meters' suite 0 material (client system title, EK, AK) by meter id: their decoders
    // decipher ciphered APDUs with it and the lines are marked decrypted. Meters left out
    // decode without keys. Applies to the open decoders and to those created later.
    void setMeterSecurity(const QHash<QString, dlms::SecuritySettings> &security);
    // Bytes as the bridge's traceBytes signal carries them.
    void addBytes(
        const QString &meterId, dlms::Direction direction, const QByteArray &bytes, qint64 timestampMs);

    bool isCapturing() const;
    void setCapturing(bool on); // emits captureRequested
    bool isPaused() const;
    void setPaused(bool paused);
    int visibleRowCount() const; // rows after the filters
    bool saveTo(const QString &fileName, QString *error = nullptr); // the filtered lines, as text

Q_SIGNALS:
    // The meters to trace (empty list = all) and whether to trace them.
    void captureRequested(const QStringList &meterIds, bool on);

protected:
    void changeEvent(QEvent *event) override;
    void showEvent(QShowEvent *event) override; // catches up with what came while hidden

private:
    void flush(); // decoded lines into the model, one insert
    QStringList filteredMeters() const; // what Capture asks for: the filtered meter, or all
    void filtersChanged();
    void updateCount();
    void updateButtons();
    void showDetails();

    struct Private;
    std::unique_ptr<Ui::TracePage> m_ui;
    std::unique_ptr<Private> d;
};
