#pragma once
// Module header: every mixer. One line per mixer.
#include "seqmix/mixers/linear_scan_mixer.hpp"
#include "seqmix/mixers/hyena.hpp"
