#include "commissioningpage.h"

struct CommissioningPage::Private {
};

CommissioningPage::CommissioningPage(app::Bridge *, QWidget *parent)
    : QWidget(parent), d(std::make_unique<Private>())
{
}

CommissioningPage::~CommissioningPage() = default;

void CommissioningPage::changeEvent(QEvent *event)
{
    QWidget::changeEvent(event);
}
