#pragma once
// Module header: the SIMD layer over xsimd.
#include "seqmix/simd/math.hpp"
