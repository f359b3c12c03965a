#include "commissioningstore.h"
