// Diagonal linear recurrences (LRU, minGRU, minLSTM, HGRN): the cheapest mixers. All run
// on the shared first-order scan kernel; state is one vector per layer.
#include <chrono>
#include <cmath>
#include <cstdio>

#include <seqmix/seqmix.hpp>
#include <seqmix/compose/state_io.hpp>

template <class Layer>
void run(const char* name, const Layer& layer) {
  using namespace seqmix;
  const index_t d = index_t(layer.d_model()), T = 2048;
  tensor<float> x({T, d}), y({T, d});
  for (index_t i = 0; i < x.size(); ++i) x[std::size_t(i)] = std::sin(0.001f * float(i));
  auto s = layer.make_state();
  const auto t0 = std::chrono::steady_clock::now();
  layer.forward(x.cview<2>(), y.view<2>(), s);
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  std::printf("%-9s T=%ld d=%ld: %7.2f ms (%.0f tokens/s), state %5.1f KiB, y[last][0] = %+.5f\n", name, long(T),
              long(d), ms, T / (ms * 1e-3), seqmix::state_bytes(s) / 1024.0, y[std::size_t((T - 1) * d)]);
}

int main() {
  using namespace seqmix::mixers;
  run("lru", lru<float>({.d_model = 256}));
  run("min_gru", min_gru<float>({.d_model = 256}));
  run("min_lstm", min_lstm<float>({.d_model = 256}));
  run("hgrn", hgrn<float>({.d_model = 256}));
  return 0;
}
