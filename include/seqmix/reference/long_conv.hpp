#pragma once
// Reference (executable spec) of long_conv: the convolution sum written out, over the
// virtual sequence x = [history; u]. No shape checks (the op did them).
#include "seqmix/ops/args/long_conv.hpp"

namespace seqmix::reference {

template <class T>
void long_conv(const long_conv_args<T>& a) {
  const index_t B = a.u.extent(0), steps = a.u.extent(1), D = a.u.extent(2), L = a.h.extent(1);
  const index_t P = a.history.empty() ? 0 : a.history.extent(1);
  for (index_t b = 0; b < B; ++b)
    for (index_t d = 0; d < D; ++d)
      for (index_t t = 0; t < steps; ++t) {
        const index_t pos = P + t;  // position in [history; u]
        T acc = a.D.empty() ? T(0) : a.D(d) * a.u(b, t, d);
        for (index_t i = 0; i < L && i <= pos; ++i) {
          const index_t s = pos - i;
          const T x = s < P ? a.history(b, s, d) : a.u(b, s - P, d);
          acc += a.h(d, i) * x;
        }
        a.o(b, t, d) = acc;
      }
}

}  // namespace seqmix::reference
