#pragma once
// Module header: every mixer. One line per mixer.
#include "seqmix/mixers/linear_scan_mixer.hpp"
#include "seqmix/mixers/hyena.hpp"
#include "seqmix/mixers/min_gru.hpp"
#include "seqmix/mixers/min_lstm.hpp"
#include "seqmix/mixers/lru.hpp"
#include "seqmix/mixers/hgrn.hpp"
#include "seqmix/mixers/mamba.hpp"
#include "seqmix/mixers/attention.hpp"
#include "seqmix/mixers/mamba2.hpp"
#include "seqmix/mixers/deltanet.hpp"
#include "seqmix/mixers/gated_deltanet.hpp"
