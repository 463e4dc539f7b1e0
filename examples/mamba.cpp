// Mamba-1 and Mamba-2 layers: prefill a prompt, then decode token by token with the O(1)
// recurrent state (conv window + SSM state), and check decode continues the prefill.
#include <chrono>
#include <cmath>
#include <cstdio>

#include <seqmix/seqmix.hpp>

template <class Layer>
void run(const char* name, const Layer& layer, seqmix::index_t prompt, int decode) {
  using namespace seqmix;
  const index_t d = index_t(layer.d_model());
  tensor<float> x({prompt + decode, d}), y({prompt + decode, d}), y_ref({prompt + decode, d});
  for (index_t i = 0; i < x.size(); ++i) x[std::size_t(i)] = std::sin(0.01f * float(i));
  auto state = layer.make_state();
  const auto t0 = std::chrono::steady_clock::now();
  layer.forward(x.cview<2>().slice(0, 0, prompt), y.view<2>().slice(0, 0, prompt), state);  // prefill
  const auto t1 = std::chrono::steady_clock::now();
  for (index_t t = prompt; t < prompt + decode; ++t) layer.step(x.cview<2>().row(t), y.view<2>().row(t), state);
  const auto t2 = std::chrono::steady_clock::now();
  auto fresh = layer.make_state();
  layer.forward(x.cview<2>(), y_ref.view<2>(), fresh);  // one call over everything
  double err = 0;
  for (index_t i = 0; i < y.size(); ++i) err = std::max(err, double(std::abs(y[std::size_t(i)] - y_ref[std::size_t(i)])));
  std::printf("%-7s prefill %ld tokens: %7.2f ms | decode %d tokens: %8.0f tok/s | max |prefill+decode - forward| = %.2e\n",
              name, long(prompt), std::chrono::duration<double, std::milli>(t1 - t0).count(), decode,
              decode / std::chrono::duration<double>(t2 - t1).count(), err);
}

int main() {
  using namespace seqmix;
  run("mamba", mixers::mamba<float>({.d_model = 256, .d_state = 16}), 512, 64);
  run("mamba2", mixers::mamba2<float>({.d_model = 256, .d_state = 64, .headdim = 64}), 512, 64);
  return 0;
}
