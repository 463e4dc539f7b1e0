// The chunked linear-attention engine at the op level (one engine, several decays) and as
// layers (GLA, RetNet). The same op runs in three forms that agree to rounding.
#include <cmath>
#include <cstdio>
#include <random>

#include <seqmix/seqmix.hpp>

int main() {
  using namespace seqmix;
  const index_t B = 1, T = 500, H = 4, K = 64, V = 64;
  std::mt19937 gen(1);
  std::uniform_real_distribution<float> u(-1, 1), gate(-0.2f, 0.0f);
  tensor<float> q({B, T, H, K}), k({B, T, H, K}), v({B, T, H, V}), g({B, T, H, K});
  for (auto* t : {&q, &k, &v}) for (auto& e : t->values()) e = u(gen);
  for (auto& e : g.values()) e = gate(gen);

  tensor<float> o_ref;
  for (form f : {form::recurrent, form::chunked, form::parallel}) {
    tensor<float> o({B, T, H, V}), state({B, H, K, V});
    gla_args<float> a;
    a.q = q.cview<4>(); a.k = k.cview<4>(); a.v = v.cview<4>(); a.g = g.cview<4>();
    a.o = o.view<4>(); a.final_state = state.view<4>();
    gla(a, {.kernel_form = f, .chunk = 64, .threads = 1});
    if (o_ref.empty()) o_ref = o;
    double err = 0;
    for (index_t i = 0; i < o.size(); ++i) err = std::max(err, double(std::abs(o[std::size_t(i)] - o_ref[std::size_t(i)])));
    std::printf("gla op, form %-9s: o[0] = %+.5f, max diff to recurrent %.2e\n", std::string(to_string(f)).c_str(),
                o[0], err);
  }

  // Layers: fla's GLA and RetNet, forward then decode.
  const index_t d = 256;
  tensor<float> x({64, d}), y({64, d});
  for (index_t i = 0; i < x.size(); ++i) x[std::size_t(i)] = std::sin(0.02f * float(i));
  mixers::gla<float> gla_layer({.d_model = std::size_t(d), .num_heads = 4});
  mixers::retnet<float> retnet_layer({.d_model = std::size_t(d), .num_heads = 2});
  auto s1 = gla_layer.make_state();
  auto s2 = retnet_layer.make_state();
  gla_layer.forward(x.cview<2>(), y.view<2>(), s1);
  std::printf("gla layer y[63][0] = %+.5f\n", y[std::size_t(63 * d)]);
  retnet_layer.forward(x.cview<2>(), y.view<2>(), s2);
  std::printf("retnet layer y[63][0] = %+.5f\n", y[std::size_t(63 * d)]);
  return 0;
}
