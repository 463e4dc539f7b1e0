// Bring your own mixer: what a type must provide to be a seqmix::mixer, and how it then
// composes with the library's blocks. Here: an exponential moving average token mixer,
//   h_t = a ⊙ h_{t-1} + (1 - a) ⊙ x_t,  y_t = h_t,  with a learned per-channel rate.
#include <cmath>
#include <cstdio>
#include <vector>

#include <seqmix/seqmix.hpp>

template <class T>
class ema_mixer {
 public:
  using value_type = T;                        // 1. the scalar type
  struct state_type { std::vector<T> h; };     // 2. the recurrent state (one sequence)

  explicit ema_mixer(std::size_t d) : d_(d) { params_.add("rate", {seqmix::index_t(d)}, T(0.9)); }

  std::size_t d_model() const noexcept { return d_; }                // 3. width
  state_type make_state() const { return {std::vector<T>(d_, T(0))}; }  // 4. fresh state
  seqmix::parameters<T>& params() noexcept { return params_; }       // (optional) named weights

  // 5. forward over T tokens [T, d_model], continuing from s and leaving s at the end
  void forward(seqmix::seq_cref<T> x, seqmix::seq_ref<T> y, state_type& s) const {
    for (seqmix::index_t t = 0; t < x.extent(0); ++t) step(x.row(t), y.row(t), s);
  }
  // 6. one token (decode)
  void step(seqmix::row_cref<T> x, seqmix::row_ref<T> y, state_type& s) const {
    const T* a = params_.at("rate").data();
    for (std::size_t i = 0; i < d_; ++i) y[i] = s.h[i] = a[i] * s.h[i] + (T(1) - a[i]) * x[i];
  }

 private:
  std::size_t d_;
  seqmix::parameters<T> params_;
};

// The concept check a user gets for free: a clear compile error if anything is missing.
static_assert(seqmix::mixer<ema_mixer<float>>);

int main() {
  using namespace seqmix;
  using namespace seqmix::compose;
  constexpr std::size_t d = 32;
  // It composes like any library mixer: pre-norm residual blocks in a stack.
  stack<residual<rms_norm, ema_mixer<float>>, residual<rms_norm, swiglu<float>>> model(
      residual<rms_norm, ema_mixer<float>>(ema_mixer<float>(d)),
      residual<rms_norm, swiglu<float>>(swiglu<float>({.d_model = d})));
  static_assert(mixer<decltype(model)>);

  tensor<float> x({16, d}, 0.25f), y({16, d});
  auto state = model.make_state();
  model.forward(x.cview<2>(), y.view<2>(), state);
  std::printf("ema stack: y[15][0] = %.6f\n", y[15 * d]);

  // Its parameters are named ("layers.0.mixer.rate", ...) and save/load like the others.
  std::size_t n = 0;
  visit_parameters(model, "", [&](const std::string& name, const auto& t) {
    std::printf("  %-28s %ld values\n", name.c_str(), long(t.size()));
    n += std::size_t(t.size());
  });
  std::printf("%zu parameters\n", n);
  return 0;
}
