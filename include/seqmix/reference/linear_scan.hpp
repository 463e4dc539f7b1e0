#pragma once
// Reference (executable spec) of linear_scan: plain loops, no shape checks (the op did
// them), T may be float or double.
#include <cmath>

#include "seqmix/core/check.hpp"
#include "seqmix/ops/args/linear_scan.hpp"

namespace seqmix::reference {

template <class T>
void linear_scan(const linear_scan_args<T>& a) {
  const detail::sequences seqs("linear_scan", a.x.extent(0), a.x.extent(1), a.cu_seqlens);
  const index_t D = a.x.extent(2);
  for (index_t s = 0; s < seqs.count(); ++s) {
    const auto q = seqs[s];
    for (index_t d = 0; d < D; ++d) {
      T h = a.initial_state.empty() ? T(0) : a.initial_state(q.state, d);
      for (index_t t = q.begin; t < q.begin + q.length; ++t) {
        h = std::exp(a.g(q.batch, t, d)) * h + a.x(q.batch, t, d);
        a.o(q.batch, t, d) = h;
      }
      if (!a.final_state.empty()) a.final_state(q.state, d) = h;
    }
  }
}

}  // namespace seqmix::reference
