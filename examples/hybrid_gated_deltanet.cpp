// Gated DeltaNet + attention hybrid (Yang et al. 2024, "Gated Delta Networks": the H1/H2
// hybrids interleave Gated DeltaNet with attention layers): 3 Gated DeltaNet : 1 attention.
#include <cmath>
#include <cstdio>

#include <seqmix/seqmix.hpp>

int main() {
  using namespace seqmix;
  using namespace seqmix::compose;
  constexpr std::size_t d = 128;
  using gdn = residual<rms_norm, mixers::gated_deltanet<float>>;
  using attn = residual<rms_norm, mixers::attention<float>>;
  using ffn = residual<rms_norm, swiglu<float>>;
  using model_t = stack<gdn, ffn, gdn, ffn, gdn, ffn, attn, ffn>;
  auto g = [](unsigned s) { return gdn(mixers::gated_deltanet<float>({.d_model = d, .num_heads = 2, .head_dim = 64, .seed = s})); };
  auto f = [](unsigned s) { return ffn(swiglu<float>({.d_model = d, .seed = s})); };
  model_t model(g(0), f(1), g(2), f(3), g(4), f(5), attn(mixers::attention<float>({.d_model = d, .n_heads = 4, .max_len = 512})), f(7));
  static_assert(mixer<model_t>);

  tensor<float> x({200, d}), y({200, d}), y_split({200, d});
  for (index_t i = 0; i < x.size(); ++i) x[std::size_t(i)] = float((i * 13) % 29) / 29.0f - 0.5f;
  auto s1 = model.make_state();
  model.forward(x.cview<2>(), y.view<2>(), s1);
  auto s2 = model.make_state();  // the same tokens in two pieces give the same result
  model.forward(x.cview<2>().slice(0, 0, 77), y_split.view<2>().slice(0, 0, 77), s2);
  model.forward(x.cview<2>().slice(0, 77, 123), y_split.view<2>().slice(0, 77, 123), s2);
  double err = 0;
  for (index_t i = 0; i < y.size(); ++i) err = std::max(err, double(std::abs(y[std::size_t(i)] - y_split[std::size_t(i)])));
  std::printf("gated deltanet + attention (3:1): y[199][0] = %+.5f, split vs one call max diff %.2e\n", y[199 * d], err);
  return err < 1e-3 ? 0 : 1;
}
