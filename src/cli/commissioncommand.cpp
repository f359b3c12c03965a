#include "commissioncommand.h"
