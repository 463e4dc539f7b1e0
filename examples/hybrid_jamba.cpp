// Jamba-like hybrid (Lieber et al. 2024): Mamba and attention layers at 7:1, each followed
// by a SwiGLU channel mixer, all pre-norm residual blocks, composed at compile time.
#include <cstdio>

#include <seqmix/seqmix.hpp>
#include <seqmix/compose/state_io.hpp>

int main() {
  using namespace seqmix;
  using namespace seqmix::compose;
  constexpr std::size_t d = 128;
  using mamba_layer = stack<residual<rms_norm, mixers::mamba<float>>, residual<rms_norm, swiglu<float>>>;
  using attn_layer = stack<residual<rms_norm, mixers::attention<float>>, residual<rms_norm, swiglu<float>>>;
  using jamba_block = stack<repeat<7, mamba_layer>, attn_layer>;  // 7 Mamba : 1 attention
  static_assert(mixer<jamba_block>);

  jamba_block model(
      repeat<7, mamba_layer>([](std::size_t i) {
        return mamba_layer(residual<rms_norm, mixers::mamba<float>>(mixers::mamba<float>({.d_model = d, .seed = unsigned(i)})),
                           residual<rms_norm, swiglu<float>>(swiglu<float>({.d_model = d, .seed = unsigned(i)})));
      }),
      attn_layer(residual<rms_norm, mixers::attention<float>>(mixers::attention<float>({.d_model = d, .n_heads = 4, .n_kv_heads = 1, .max_len = 1024})),
                 residual<rms_norm, swiglu<float>>(swiglu<float>({.d_model = d, .seed = 99}))));

  tensor<float> x({256, d}), y({256, d});
  for (index_t i = 0; i < x.size(); ++i) x[std::size_t(i)] = float((i * 7919) % 1000) / 1000.0f - 0.5f;
  auto state = model.make_state();
  model.forward(x.cview<2>(), y.view<2>(), state);
  std::vector<float> tok(d, 0.1f), out(d);
  model.step(tok, out, state);
  std::size_t params = 0;
  visit_parameters(model, "", [&](const std::string&, const auto& t) { params += std::size_t(t.size()); });
  std::printf("jamba-like block (7 mamba : 1 attention): %zu parameters, state after 257 tokens %.1f KiB, y[255][0] = %+.5f\n",
              params, state_bytes(state) / 1024.0, y[255 * d]);
  return 0;
}
