#pragma once
// Reference (executable spec) of lru: complex diagonal recurrence, plain loops.
#include <cmath>
#include <complex>

#include "seqmix/core/check.hpp"
#include "seqmix/ops/args/lru.hpp"

namespace seqmix::reference {

template <class T>
void lru(const lru_args<T>& a) {
  const detail::sequences seqs("lru", a.x_re.extent(0), a.x_re.extent(1), a.cu_seqlens);
  const index_t D = a.x_re.extent(2);
  for (index_t s = 0; s < seqs.count(); ++s) {
    const auto q = seqs[s];
    for (index_t d = 0; d < D; ++d) {
      const std::complex<T> lambda =
          std::exp(std::complex<T>(-std::exp(a.nu_log(d)), std::exp(a.theta_log(d))));
      const T gamma = std::sqrt(T(1) - std::norm(lambda));
      std::complex<T> h = a.initial_state.empty()
                              ? std::complex<T>(0)
                              : std::complex<T>(a.initial_state(q.state, d, 0), a.initial_state(q.state, d, 1));
      for (index_t t = q.begin; t < q.begin + q.length; ++t) {
        h = lambda * h + gamma * std::complex<T>(a.x_re(q.batch, t, d), a.x_im(q.batch, t, d));
        a.o(q.batch, t, d, 0) = h.real();
        a.o(q.batch, t, d, 1) = h.imag();
      }
      if (!a.final_state.empty()) {
        a.final_state(q.state, d, 0) = h.real();
        a.final_state(q.state, d, 1) = h.imag();
      }
    }
  }
}

}  // namespace seqmix::reference
