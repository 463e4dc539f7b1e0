#pragma once
// Module header: every op (the functional API). One line per op.
#include "seqmix/ops/linear_scan.hpp"
