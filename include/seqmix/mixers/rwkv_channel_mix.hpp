#pragma once
// RWKV channel-mix (RWKV-LM RWKV_CMix_x070, and with `receptance_gate` RWKV_CMix_x060):
//   xx = x_{t-1} - x_t (token shift, x_{-1} from the state),  xk = x + xx ⊙ x_k
//   y = value(relu(key(xk))²)                         (v7)
//   y = σ(receptance(xr)) ⊙ value(relu(key(xk))²),  xr = x + xx ⊙ time_maa_r   (v6)
// Parameters (state_dict names): v7 x_k [1,1,C], key.weight [F,C], value.weight [C,F];
// v6 time_maa_k, time_maa_r [1,1,C], key.weight, value.weight, receptance.weight [C,C].
#include <algorithm>
#include <cmath>
#include <random>

#include "seqmix/core/check.hpp"
#include "seqmix/core/concepts.hpp"
#include "seqmix/mixers/parameters.hpp"
#include "seqmix/mixers/rwkv_detail.hpp"

namespace seqmix::mixers {

struct rwkv_channel_mix_config {
  std::size_t n_embd = 256;
  std::size_t dim_ffn = 0;  // 0: 4·n_embd
  bool receptance_gate = false;  // true: RWKV-6 form (σ(receptance) gate, time_maa_* names)
  std::size_t n_layer = 2;
  std::size_t layer_id = 0;
  unsigned seed = 0;
};

template <class T>
class rwkv_channel_mix {
 public:
  using value_type = T;
  struct state_type {
    tensor<T> shift;  // [1, C]: the previous token
  };

  explicit rwkv_channel_mix(rwkv_channel_mix_config cfg) : cfg_(cfg) {
    const index_t C = index_t(cfg.n_embd), F = index_t(cfg.dim_ffn ? cfg.dim_ffn : 4 * cfg.n_embd);
    seqmix::detail::check_positive("rwkv_channel_mix", "n_embd", C);
    const bool v6 = cfg.receptance_gate;
    params_.add(v6 ? "time_maa_k" : "x_k", {1, 1, C});
    if (v6) params_.add("time_maa_r", {1, 1, C});
    params_.add("key.weight", {F, C});
    params_.add("value.weight", {C, F});
    if (v6) params_.add("receptance.weight", {C, C});
    // RWKV-LM initialisation: lerp 1 - (c/C)^{ratio^4}; key U(±0.5/√C); value (and receptance) 0
    std::mt19937_64 gen(cfg.seed * 7919u + cfg.layer_id + 101);
    const double r10 = 1.0 - double(cfg.layer_id) / double(std::max<std::size_t>(cfg.n_layer, 1));
    for (const char* n : {"x_k", "time_maa_k", "time_maa_r"})
      if (params_.contains(n))
        for (index_t c = 0; c < C; ++c)
          params_.at(n)[c] = static_cast<T>(1.0 - std::pow(double(c) / double(C), std::pow(r10, 4.0)));
    rwkv_detail::fill_uniform(params_.at("key.weight"), -0.5 / std::sqrt(double(C)), 0.5 / std::sqrt(double(C)), gen);
  }

  std::size_t d_model() const noexcept { return cfg_.n_embd; }
  const rwkv_channel_mix_config& config() const noexcept { return cfg_; }
  state_type make_state() const { return {tensor<T>({1, index_t(cfg_.n_embd)})}; }
  parameters<T>& params() noexcept { return params_; }
  const parameters<T>& params() const noexcept { return params_; }

  void forward(seq_cref<T> x, seq_ref<T> y, state_type& s) const {
    using namespace rwkv_detail;
    const index_t L = x.extent(0), C = index_t(cfg_.n_embd), F = params_.at("key.weight").extent(0);
    seqmix::detail::check_shape("rwkv_channel_mix", "x", x, {-1, C});
    seqmix::detail::check_shape("rwkv_channel_mix", "y", y, {L, C});
    seqmix::detail::check_shape("rwkv_channel_mix", "state.shift", s.shift.template view<2>(), {1, C});
    if (L == 0) return;
    const bool v6 = cfg_.receptance_gate;
    const auto X = map_rows(x);
    const mat<T> xx = shift_delta<T>(X, s.shift.data());
    const mat<T> xk = X + (xx.array().rowwise() * vec(params_, v6 ? "time_maa_k" : "x_k").array()).matrix();
    mat<T> k(L, F);
    linear<T>(xk, params_.matrix("key.weight"), k);
    k = k.array().max(T(0)).square().matrix();
    auto Y = map_rows(y);
    linear<T>(k, params_.matrix("value.weight"), Y);
    if (v6) {
      const mat<T> xr = X + (xx.array().rowwise() * vec(params_, "time_maa_r").array()).matrix();
      mat<T> r(L, C);
      linear<T>(xr, params_.matrix("receptance.weight"), r);
      Y.array() *= r.unaryExpr([](T z) { return sigmoid(z); }).array();
    }
  }

  void step(row_cref<T> x, row_ref<T> y, state_type& s) const {
    const index_t C = index_t(cfg_.n_embd);
    forward(seq_cref<T>(x.data(), {1, C}), seq_ref<T>(y.data(), {1, C}), s);
  }

 private:
  rwkv_channel_mix_config cfg_;
  parameters<T> params_;
};

static_assert(mixer<rwkv_channel_mix<float>>);

}  // namespace seqmix::mixers
