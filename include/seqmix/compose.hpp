#pragma once
// Module header: composition (norms, channel mixers, residual blocks, stacks, models).
#include "seqmix/compose/channel_mixers.hpp"
#include "seqmix/compose/norms.hpp"
#include "seqmix/compose/residual.hpp"
#include "seqmix/compose/sequence_model.hpp"
#include "seqmix/compose/stack.hpp"
#include "seqmix/compose/visit.hpp"
