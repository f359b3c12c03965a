#include "commissioningrun.h"

namespace app {

struct CommissioningRun::Private {
};

CommissioningRun::CommissioningRun(CommissioningOptions options, QObject *parent)
    : QObject(parent), d(std::make_unique<Private>()), m_options(std::move(options))
{
}

CommissioningRun::~CommissioningRun() = default;

} // namespace app
