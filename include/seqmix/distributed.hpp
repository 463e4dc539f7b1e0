#pragma once
// Sequence parallelism over MPI (optional part of seqmix: link seqmix::distributed, CMake
// option SEQMIX_MPI). The only seqmix headers that include mpi.h.
#include "seqmix/distributed/mpi_context.hpp"
#include "seqmix/distributed/state_passing.hpp"
#include "seqmix/distributed/linear_scan.hpp"
#include "seqmix/distributed/linear_attention.hpp"
#include "seqmix/distributed/ring_attention.hpp"
#include "seqmix/distributed/delta_rule.hpp"
#include "seqmix/distributed/selective_scan.hpp"
#include "seqmix/distributed/mixers.hpp"
