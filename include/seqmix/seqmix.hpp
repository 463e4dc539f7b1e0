#pragma once
// Umbrella header: the whole library. Prefer the module headers (seqmix/core.hpp, ...) or
// single op/mixer headers in translation units where compile time matters.
#include "seqmix/core.hpp"
#include "seqmix/simd.hpp"
#include "seqmix/ops.hpp"
#include "seqmix/mixers.hpp"
#include "seqmix/compose.hpp"
