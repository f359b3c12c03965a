#pragma once

#include <pollingtypes.h>

#include <QtCore/QHash>
#include <QtWidgets/QWidget>

#include <memory>

namespace Ui {
class ReadingsPage;
}
class ReadingsModel;

// Readings: the latest value of every register of every meter (scaled, with unit and age;
// filter by meter and text) and, for the selected (meter, key), a history plot read from the
// database (readings table) over a chosen range (1 h, 24 h, 7 days). The plot is read on
// selection and range change, on a worker thread with a storage::Reader of its own (a newer
// request supersedes an older one), capped in points (min/max per pixel bucket so spikes
// survive). Batches are queued (the newest per meter) and applied to the model together every
// 500 ms while the page is shown, and on show.
class ReadingsPage final : public QWidget {
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(ReadingsPage)

public:
    explicit ReadingsPage(QWidget *parent = nullptr);
    ~ReadingsPage() override;

    // The model, with the batches queued so far applied first (so a caller sees them all).
    ReadingsModel *model() const;
    void addBatch(const polling::ReadingsBatch &batch);
    void setDatabasePath(const QString &path);
    // The site's meters (id -> name): names for the Meter column; rows of other meters go.
    void setMeters(const QHash<QString, QString> &namesById);

    // Selects the row and plots its history. The read runs on a worker thread: returns -2 when
    // it started (historyLoaded follows), -1 when there is no database to read.
    int showHistory(const QString &meterId, const QString &key);
    int historyPointCount() const;

Q_SIGNALS:
    // A history read finished and is plotted: the points read (-1: the database could not be
    // read, the error is shown in the page). Superseded reads say nothing.
    void historyLoaded(int points);

protected:
    void changeEvent(QEvent *event) override;
    void showEvent(QShowEvent *event) override; // ages tick only while shown
    void hideEvent(QHideEvent *event) override;

private:
    int plot(); // starts reading the selected (meter, key) over the chosen range
    void applyPending(); // queued batches into the model, in one go
    void rebuildMeterFilter();
    void appendLivePoint(qint64 timestampMs, double value);
    void fitValueAxis();
    void renderStatus();

    struct Private;
    std::unique_ptr<Ui::ReadingsPage> m_ui;
    std::unique_ptr<Private> d;
};
