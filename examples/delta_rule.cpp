// DeltaNet and Gated DeltaNet layers (fla's structure: short convs, L2-normalised q/k,
// β = sigmoid, output gate + RMSNorm): a long stream stays bounded, decode continues prefill.
#include <cmath>
#include <cstdio>

#include <seqmix/seqmix.hpp>
#include <seqmix/compose/state_io.hpp>

template <class Layer>
void stream(const char* name, const Layer& layer) {
  using namespace seqmix;
  const index_t d = index_t(layer.d_model()), piece = 256;
  tensor<float> x({piece, d}), y({piece, d});
  auto state = layer.make_state();
  double norm = 0;
  for (int round = 0; round < 16; ++round) {  // 4096 tokens in pieces
    for (index_t i = 0; i < x.size(); ++i) x[std::size_t(i)] = std::sin(0.37f * float(i + round * x.size()));
    layer.forward(x.cview<2>(), y.view<2>(), state);
    norm = 0;
    for (float s : state.S.values()) norm += double(s) * s;
  }
  std::printf("%-15s after 4096 tokens: |S|_F = %.3f, y[last][0] = %+.5f, state %.1f KiB\n", name, std::sqrt(norm),
              y[std::size_t((piece - 1) * d)], seqmix::state_bytes(state) / 1024.0);
}

int main() {
  stream("deltanet", seqmix::mixers::deltanet<float>({.d_model = 256, .num_heads = 4}));
  stream("gated_deltanet", seqmix::mixers::gated_deltanet<float>({.d_model = 256, .num_heads = 2, .head_dim = 64}));
  return 0;
}
