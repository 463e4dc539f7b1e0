#pragma once
// Reference (executable spec) of rwkv4: the running-maximum form of OPS.md, step by step.
// Nothing overflows: every exponent is of a difference against the running maximum.
#include <algorithm>
#include <cmath>

#include "seqmix/core/check.hpp"
#include "seqmix/ops/args/rwkv4.hpp"

namespace seqmix::reference {

template <class T>
void rwkv4(const rwkv4_args<T>& x) {
  const seqmix::detail::sequences seqs("rwkv4", x.k.extent(0), x.k.extent(1), x.cu_seqlens);
  const index_t D = x.k.extent(2);
  for (index_t s = 0; s < seqs.count(); ++s) {
    const auto q = seqs[s];
    for (index_t d = 0; d < D; ++d) {
      T a = 0, b = 0, p = 0;
      if (!x.initial_state.empty()) {
        a = x.initial_state(q.state, 0, d);
        b = x.initial_state(q.state, 1, d);
        p = x.initial_state(q.state, 2, d);
      }
      const T w = x.w(d), u = x.u(d);
      for (index_t t = q.begin; t < q.begin + q.length; ++t) {
        const T kt = x.k(q.batch, t, d), vt = x.v(q.batch, t, d);
        // output: past (a, b)·e^p plus the current token weighted e^{u+k}
        const T m = std::max(p, u + kt);
        const T e_past = std::exp(p - m), e_now = std::exp(u + kt - m);
        x.o(q.batch, t, d) = (e_past * a + e_now * vt) / (e_past * b + e_now);
        // state: decay the past by e^{-w}, add e^{k} v
        const T p2 = std::max(p - w, kt);
        const T f_past = std::exp(p - w - p2), f_now = std::exp(kt - p2);
        a = f_past * a + f_now * vt;
        b = f_past * b + f_now;
        p = p2;
      }
      if (!x.final_state.empty()) {
        x.final_state(q.state, 0, d) = a;
        x.final_state(q.state, 1, d) = b;
        x.final_state(q.state, 2, d) = p;
      }
    }
  }
}

}  // namespace seqmix::reference
