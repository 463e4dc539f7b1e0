#pragma once
// Sequence parallelism over MPI: the context every distributed op takes. Each rank holds a
// contiguous slice [begin, end) of the time axis of length `total`. This header (and the
// rest of include/seqmix/distributed/) is the only part of seqmix that includes mpi.h; link
// `seqmix::distributed` (CMake option SEQMIX_MPI) to use it.
#include <mpi.h>

#include <string>
#include <vector>

#include "seqmix/core/error.hpp"
#include "seqmix/core/options.hpp"
#include "seqmix/core/tensor.hpp"

namespace seqmix {

struct mpi_context {
  MPI_Comm comm = MPI_COMM_WORLD;
  int rank = 0;
  int size = 1;
  index_t begin = 0;  // this rank's slice of the time axis: [begin, end)
  index_t end = 0;
  index_t total = 0;  // T of the whole sequence

  index_t length() const noexcept { return end - begin; }
};

namespace distributed {

// Slice offsets [o_0 = 0, o_1, ..., o_P = total] of `total` positions over `parts` ranks, as
// even as possible (the first total % parts slices get one more).
inline std::vector<index_t> even_offsets(index_t total, int parts) {
  std::vector<index_t> off(static_cast<std::size_t>(parts) + 1, 0);
  for (int r = 0; r < parts; ++r)
    off[r + 1] = off[r] + total / parts + (r < total % parts ? 1 : 0);
  return off;
}

// Slice offsets proportional to `weights` (one per rank, >= 0, not all 0): uneven slices,
// e.g. for ranks of different speed. Rounds so the slices sum to `total`.
inline std::vector<index_t> weighted_offsets(index_t total, const std::vector<double>& weights) {
  double sum = 0;
  for (double w : weights) {
    if (!(w >= 0)) throw option_error("mpi_context: slice weights must be >= 0");
    sum += w;
  }
  if (weights.empty() || sum <= 0) throw option_error("mpi_context: slice weights must not all be 0");
  std::vector<index_t> off(weights.size() + 1, 0);
  double acc = 0;
  for (std::size_t r = 0; r < weights.size(); ++r) {
    acc += weights[r];
    off[r + 1] = r + 1 == weights.size() ? total : static_cast<index_t>(total * (acc / sum) + 0.5);
  }
  return off;
}

// The context of the calling rank of `comm` for the slice offsets `off` (size + 1 entries).
inline mpi_context make_context(MPI_Comm comm, const std::vector<index_t>& off) {
  mpi_context c;
  c.comm = comm;
  MPI_Comm_rank(comm, &c.rank);
  MPI_Comm_size(comm, &c.size);
  if (static_cast<int>(off.size()) != c.size + 1)
    throw option_error("mpi_context: " + std::to_string(off.size()) + " slice offsets for " +
                       std::to_string(c.size) + " ranks (need size + 1)");
  for (int r = 0; r < c.size; ++r)
    if (off[r + 1] < off[r]) throw option_error("mpi_context: slice offsets must not decrease");
  c.begin = off[c.rank];
  c.end = off[c.rank + 1];
  c.total = off.back();
  return c;
}

// Even slices of `total` positions over the ranks of `comm`.
inline mpi_context make_context(MPI_Comm comm, index_t total) {
  int size = 1;
  MPI_Comm_size(comm, &size);
  return make_context(comm, even_offsets(total, size));
}

namespace detail {
template <class T> inline MPI_Datatype mpi_type();
template <> inline MPI_Datatype mpi_type<float>() { return MPI_FLOAT; }
template <> inline MPI_Datatype mpi_type<double>() { return MPI_DOUBLE; }
}  // namespace detail

}  // namespace distributed
}  // namespace seqmix
