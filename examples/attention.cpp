// Softmax attention layer: grouped-query heads, RoPE, a KV cache that grows in forward and
// step, and a sliding-window variant whose cache is a bounded ring buffer.
#include <cmath>
#include <cstdio>

#include <seqmix/seqmix.hpp>
#include <seqmix/compose/state_io.hpp>

int main() {
  using namespace seqmix;
  const index_t d = 256, prompt = 300, decode = 32;
  mixers::attention<float> gqa({.d_model = 256, .n_heads = 8, .n_kv_heads = 2, .max_len = 512});
  mixers::attention<float> swa({.d_model = 256, .n_heads = 8, .n_kv_heads = 2, .window = 64});
  tensor<float> x({prompt + decode, d}), y({prompt + decode, d});
  for (index_t i = 0; i < x.size(); ++i) x[std::size_t(i)] = std::cos(0.003f * float(i));

  for (auto* layer : {&gqa, &swa}) {
    auto cache = layer->make_state();
    layer->forward(x.cview<2>().slice(0, 0, prompt), y.view<2>().slice(0, 0, prompt), cache);
    for (index_t t = prompt; t < prompt + decode; ++t) layer->step(x.cview<2>().row(t), y.view<2>().row(t), cache);
    std::printf("%s: %ld tokens seen, cache holds %ld rows (%.1f KiB), y[last][0] = %.5f\n",
                layer == &gqa ? "GQA 8q/2kv, full cache " : "GQA + sliding window 64",
                long(cache.position), long(cache.length), seqmix::state_bytes(cache) / 1024.0,
                y[std::size_t((prompt + decode - 1) * d)]);
  }
  // The cache has a maximum length: exceeding it is a clear error, not a silent overwrite.
  mixers::attention<float> small({.d_model = 256, .n_heads = 8, .max_len = 16});
  auto cache = small.make_state();
  try {
    small.forward(x.cview<2>().slice(0, 0, 17), y.view<2>().slice(0, 0, 17), cache);
  } catch (const std::exception& e) {
    std::printf("as expected: %s\n", e.what());
  }
  return 0;
}
