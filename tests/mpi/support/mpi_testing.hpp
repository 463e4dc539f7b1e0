#pragma once
// Helpers of the MPI tests: every rank builds the same full inputs (fixed seed), computes the
// single-process result, runs the distributed op on its slice and compares its slice of the
// output; errors are reduced over ranks (max) so every rank REQUIREs the same thing.
#include <mpi.h>

#include <algorithm>
#include <vector>

#include "seqmix/distributed/mpi_context.hpp"
#include "support/testing.hpp"

namespace seqmix::testing {

// Views without the `.template` noise in templated tests.
template <std::size_t R, class T> const_view<T, R> cv(const tensor<T>& t) { return t.template cview<R>(); }
template <std::size_t R, class T> tensor_view<T, R> mv(tensor<T>& t) { return t.template view<R>(); }

inline int world_size() {
  int n = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &n);
  return n;
}

inline double global_max(double x) {
  double y = x;
  MPI_Allreduce(&x, &y, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  return y;
}

// Rows [begin, end) of dimension 1 of a tensor (time axis of [B,T,...]).
template <class T>
tensor<T> time_slice(const tensor<T>& full, index_t begin, index_t end) {
  std::vector<index_t> shape = full.shape();
  const index_t B = shape[0], TT = shape[1];
  index_t inner = 1;
  for (std::size_t i = 2; i < shape.size(); ++i) inner *= shape[i];
  shape[1] = end - begin;
  tensor<T> out(shape);
  for (index_t b = 0; b < B; ++b)
    std::copy(full.data() + (b * TT + begin) * inner, full.data() + (b * TT + end) * inner,
              out.data() + b * (end - begin) * inner);
  return out;
}

// The slice offsets the tests use: even, or uneven (rank r gets a share ∝ r + 1, so rank 0
// has the smallest slice; with enough ranks some slices may be empty).
inline std::vector<index_t> test_offsets(index_t total, bool uneven) {
  const int P = world_size();
  if (!uneven) return distributed::even_offsets(total, P);
  std::vector<double> w;
  for (int r = 0; r < P; ++r) w.push_back(r + 1);
  return distributed::weighted_offsets(total, w);
}

}  // namespace seqmix::testing
