#include "commissioningsettings.h"
