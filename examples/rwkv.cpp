// RWKV-7 ("Goose") block: time-mix (generalised delta rule with a diagonal-plus-low-rank
// transition) followed by the channel-mix, as pre-norm residual blocks; the first layer's
// value (v_first) is produced at layer 0 and would be fed to later layers. Then RWKV-6.
#include <cmath>
#include <cstdio>

#include <seqmix/seqmix.hpp>

int main() {
  using namespace seqmix;
  const std::size_t C = 256;
  const index_t T = 256;
  mixers::rwkv7_time_mix<float> tmix({.n_embd = C, .head_size = 64, .n_layer = 2, .layer_id = 0});
  mixers::rwkv_channel_mix<float> cmix({.n_embd = C, .n_layer = 2, .layer_id = 0});
  tensor<float> x({T, index_t(C)}), y({T, index_t(C)}), z({T, index_t(C)}), v_first({T, index_t(C)});
  for (index_t i = 0; i < x.size(); ++i) x[std::size_t(i)] = std::sin(0.011f * float(i));
  // RWKV-LM initialises the output projections to zero (the block starts as identity in
  // a residual stream); give them values so the demo shows a signal.
  auto fill = [](tensor<float>& w, float amp) {
    for (index_t i = 0; i < w.size(); ++i) w[std::size_t(i)] = amp * std::sin(0.7f * float(i));
  };
  fill(tmix.params()["output.weight"], 0.05f);
  fill(cmix.params()["value.weight"], 0.05f);
  auto st = tmix.make_state();
  auto sc = cmix.make_state();
  tmix.forward(x.cview<2>(), y.view<2>(), st, v_first.view<2>());  // layer 0 writes v_first
  cmix.forward(y.cview<2>(), z.view<2>(), sc);
  auto rms = [](const tensor<float>& t) {
    double s = 0;
    for (float v : t.values()) s += double(v) * v;
    return std::sqrt(s / double(t.size()));
  };
  std::printf("rwkv7 time-mix + channel-mix: rms(time-mix out) = %.5f, rms(channel-mix out) = %.3e, rms(v_first) = %.5f\n",
              rms(y), rms(z), rms(v_first));

  mixers::rwkv6_time_mix<float> r6({.n_embd = C});
  fill(r6.params()["output.weight"], 0.05f);
  auto s6 = r6.make_state();
  r6.forward(x.cview<2>(), y.view<2>(), s6);
  std::printf("rwkv6 time-mix: y[last][0] = %+.5f\n", y[std::size_t((T - 1) * C)]);
  return 0;
}
