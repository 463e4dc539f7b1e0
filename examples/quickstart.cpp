// The smallest seqmix program: build a mixer, run a sequence, then continue token by token.
#include <cstdio>

#include <seqmix/seqmix.hpp>

int main() {
  using namespace seqmix;
  mixers::linear_scan_mixer<float> m({.d_model = 16});
  auto state = m.make_state();
  tensor<float> x({32, 16}, 0.5f), y({32, 16});
  m.forward(x.cview<2>(), y.view<2>(), state);  // prefill 32 tokens
  std::vector<float> tok(16, 0.5f), out(16);
  m.step(tok, out, state);                      // decode one more
  std::printf("y[31][0] = %.6f, next y[0] = %.6f\n", y[31 * 16], out[0]);
  return 0;
}
