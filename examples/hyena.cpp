// Hyena: an order-2 operator whose long convolution filters are generated implicitly (sine
// features -> MLP -> decaying window) and applied by FFT; a decode step uses the cached inputs.
#include <cmath>
#include <cstdio>

#include <seqmix/seqmix.hpp>

int main() {
  using namespace seqmix;
  const index_t d = 128, T = 2048;
  mixers::hyena<float> layer({.d_model = std::size_t(d), .l_max = std::size_t(T) + 8});
  tensor<float> x({T + 8, d}), y({T + 8, d});
  for (index_t i = 0; i < x.size(); ++i) x[std::size_t(i)] = std::sin(0.005f * float(i));
  auto s = layer.make_state();
  layer.forward(x.cview<2>().slice(0, 0, T), y.view<2>().slice(0, 0, T), s);
  for (index_t t = T; t < T + 8; ++t) layer.step(x.cview<2>().row(t), y.view<2>().row(t), s);
  std::printf("hyena d=%ld: prefill %ld tokens then 8 decode steps, y[last][0] = %+.6f\n", long(d), long(T),
              y[std::size_t((T + 7) * d)]);
  return 0;
}
