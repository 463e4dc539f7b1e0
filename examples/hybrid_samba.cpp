// Samba-like hybrid (Ren et al. 2024): Mamba -> MLP -> sliding-window attention -> MLP,
// repeated. The window bounds the attention cache, so decode memory stays constant.
#include <cstdio>

#include <seqmix/seqmix.hpp>
#include <seqmix/compose/state_io.hpp>

int main() {
  using namespace seqmix;
  using namespace seqmix::compose;
  constexpr std::size_t d = 128;
  using samba_unit = stack<residual<rms_norm, mixers::mamba<float>>, residual<rms_norm, swiglu<float>>,
                           residual<rms_norm, mixers::attention<float>>, residual<rms_norm, swiglu<float>>>;
  repeat<2, samba_unit> model([](std::size_t i) {
    const unsigned s = unsigned(4 * i);
    return samba_unit(residual<rms_norm, mixers::mamba<float>>(mixers::mamba<float>({.d_model = d, .seed = s})),
                      residual<rms_norm, swiglu<float>>(swiglu<float>({.d_model = d, .seed = s + 1})),
                      residual<rms_norm, mixers::attention<float>>(
                          mixers::attention<float>({.d_model = d, .n_heads = 4, .window = 128, .seed = s + 2})),
                      residual<rms_norm, swiglu<float>>(swiglu<float>({.d_model = d, .seed = s + 3})));
  });
  static_assert(mixer<decltype(model)>);
  tensor<float> x({128, d}), y({128, d});
  auto state = model.make_state();
  for (int piece = 0; piece < 8; ++piece) {  // 1024 tokens streamed in pieces
    for (index_t i = 0; i < x.size(); ++i) x[std::size_t(i)] = float(((i + piece) * 31) % 17) / 17.0f - 0.5f;
    model.forward(x.cview<2>(), y.view<2>(), state);
    if (piece == 0 || piece == 7)
      std::printf("after %4d tokens: state %.1f KiB (bounded by the window)\n", (piece + 1) * 128, state_bytes(state) / 1024.0);
  }
  return 0;
}
