#include "commissioningreport.h"
