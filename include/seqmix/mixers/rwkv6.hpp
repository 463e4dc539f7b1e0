#pragma once
// RWKV-6 time-mix ("Finch"), after RWKV-LM's RWKV_Tmix_x060, parameters named as its
// state_dict:
//   xx = x_{t-1} - x_t,  xxx = x + xx ⊙ time_maa_x
//   (m_w, m_k, m_v, m_r, m_g) = tanh(xxx time_maa_w1) split in 5 × D_MIX, each @ time_maa_w2[i]
//   x∗ = x + xx ⊙ (time_maa_∗ + m_∗)                       (data-dependent lerp)
//   r = receptance(xr), k = key(xk), v = value(xv), g = silu(gate(xg))
//   log decay = -exp(time_decay + tanh(xw time_decay_w1) time_decay_w2)
//   o = rwkv6(r, k, v, w, u = time_faaaa; scale 1)
//   y = output(GroupNorm_H(o; ln_x, eps 1e-5·head_size_divisor²) ⊙ g)
// Parameters: time_maa_{x,w,k,v,r,g} [1,1,C]; time_maa_w1 [C, 5·D_MIX]; time_maa_w2
// [5, D_MIX, C]; time_decay [1,1,C]; time_decay_w1 [C, D_DECAY]; time_decay_w2 [D_DECAY, C];
// time_faaaa [H, N]; receptance, key, value, gate, output .weight [C,C]; ln_x.weight/bias [C].
#include <algorithm>
#include <cmath>
#include <random>

#include "seqmix/core/check.hpp"
#include "seqmix/core/concepts.hpp"
#include "seqmix/mixers/parameters.hpp"
#include "seqmix/mixers/rwkv_detail.hpp"
#include "seqmix/ops/rwkv6.hpp"

namespace seqmix::mixers {

struct rwkv6_config {
  std::size_t n_embd = 256;
  std::size_t head_size = 64;
  std::size_t n_layer = 2;
  std::size_t layer_id = 0;
  std::size_t d_mix_lora = 32;
  std::size_t d_decay_lora = 64;
  double head_size_divisor = 8;  // ln_x eps = 1e-5 · divisor²
  unsigned seed = 0;
};

template <class T>
class rwkv6_time_mix {
 public:
  using value_type = T;
  struct state_type {
    tensor<T> shift;  // [1, C]
    tensor<T> wkv;    // [1, H, N, N]
  };

  explicit rwkv6_time_mix(rwkv6_config cfg) : cfg_(cfg) {
    const index_t C = index_t(cfg.n_embd), N = index_t(cfg.head_size);
    seqmix::detail::check_positive("rwkv6", "head_size", N);
    seqmix::detail::check_divisible("rwkv6", "n_embd", C, N);
    H_ = C / N;
    const index_t dm = index_t(cfg.d_mix_lora), dd = index_t(cfg.d_decay_lora);
    for (const char* n : {"time_maa_x", "time_maa_w", "time_maa_k", "time_maa_v", "time_maa_r", "time_maa_g",
                          "time_decay"})
      params_.add(n, {1, 1, C});
    params_.add("time_maa_w1", {C, 5 * dm});
    params_.add("time_maa_w2", {5, dm, C});
    params_.add("time_decay_w1", {C, dd});
    params_.add("time_decay_w2", {dd, C});
    params_.add("time_faaaa", {H_, N});
    for (const char* n : {"receptance.weight", "key.weight", "value.weight", "gate.weight", "output.weight"})
      params_.add(n, {C, C});
    params_.add("ln_x.weight", {C});
    params_.add("ln_x.bias", {C});
    init_paper();
  }

  std::size_t d_model() const noexcept { return cfg_.n_embd; }
  const rwkv6_config& config() const noexcept { return cfg_; }
  state_type make_state() const {
    const index_t C = index_t(cfg_.n_embd), N = index_t(cfg_.head_size);
    return {tensor<T>({1, C}), tensor<T>({1, H_, N, N})};
  }
  parameters<T>& params() noexcept { return params_; }
  const parameters<T>& params() const noexcept { return params_; }

  void forward(seq_cref<T> x, seq_ref<T> y, state_type& s) const {
    using namespace rwkv_detail;
    constexpr const char* op = "rwkv6 mixer";
    const index_t L = x.extent(0), C = index_t(cfg_.n_embd), N = index_t(cfg_.head_size);
    const index_t dm = index_t(cfg_.d_mix_lora);
    seqmix::detail::check_shape(op, "x", x, {-1, C});
    seqmix::detail::check_shape(op, "y", y, {L, C});
    seqmix::detail::check_shape(op, "state.shift", s.shift.template view<2>(), {1, C});
    seqmix::detail::check_shape(op, "state.wkv", s.wkv.template view<4>(), {1, H_, N, N});
    if (L == 0) return;
    const auto& P = params_;
    const auto X = map_rows(x);
    const mat<T> xx = shift_delta<T>(X, s.shift.data());
    const mat<T> xxx = X + (xx.array().rowwise() * vec(P, "time_maa_x").array()).matrix();
    mat<T> m(L, 5 * dm);
    matmul<T>(xxx, P.matrix("time_maa_w1"), m);
    m = m.unaryExpr([](T z) { return std::tanh(z); });
    const T* w2 = P.at("time_maa_w2").data();
    auto mixed = [&](int i, const char* maa) -> mat<T> {  // x + xx ⊙ (maa + m_i w2[i])
      const const_matrix_map<T> W2(w2 + i * dm * C, dm, C);
      mat<T> mi(L, C);
      const mat<T> part = m.middleCols(i * dm, dm);
      matmul<T>(part, W2, mi);
      mi.rowwise() += vec(P, maa);
      return X + (xx.array() * mi.array()).matrix();
    };
    const mat<T> xw = mixed(0, "time_maa_w"), xk = mixed(1, "time_maa_k"), xv = mixed(2, "time_maa_v"),
                 xr = mixed(3, "time_maa_r"), xg = mixed(4, "time_maa_g");
    mat<T> r(L, C), k(L, C), v(L, C), g(L, C), w(L, C), hd(L, index_t(cfg_.d_decay_lora));
    linear<T>(xr, P.matrix("receptance.weight"), r);
    linear<T>(xk, P.matrix("key.weight"), k);
    linear<T>(xv, P.matrix("value.weight"), v);
    linear<T>(xg, P.matrix("gate.weight"), g);
    g = g.unaryExpr([](T z) { return z * sigmoid(z); });
    matmul<T>(xw, P.matrix("time_decay_w1"), hd);
    hd = hd.unaryExpr([](T z) { return std::tanh(z); });
    matmul<T>(hd, P.matrix("time_decay_w2"), w);
    w.rowwise() += vec(P, "time_decay");
    w = w.unaryExpr([](T z) { return -std::exp(z); });  // log decay (decay e^{-e^{w}})
    mat<T> o(L, C);
    auto v4 = [&](const mat<T>& mm) { return const_view<T, 4>(mm.data(), {1, L, H_, N}); };
    rwkv6_args<T> args{v4(r), v4(k), v4(v), v4(w), P.at("time_faaaa").template cview<2>(),
                       tensor_view<T, 4>(o.data(), {1, L, H_, N}), s.wkv.template cview<4>(), s.wkv.template view<4>()};
    args.scale = T(1);
    seqmix::rwkv6(args, run_options{form::recurrent, 0, 0});
    const T eps = T(1e-5 * cfg_.head_size_divisor * cfg_.head_size_divisor);
    group_norm<T>(o, H_, N, P.at("ln_x.weight").data(), P.at("ln_x.bias").data(), eps);
    o.array() *= g.array();
    auto Y = map_rows(y);
    linear<T>(o, P.matrix("output.weight"), Y);
  }

  void step(row_cref<T> x, row_ref<T> y, state_type& s) const {
    const index_t C = index_t(cfg_.n_embd);
    forward(seq_cref<T>(x.data(), {1, C}), seq_ref<T>(y.data(), {1, C}), s);
  }

 private:
  // RWKV-LM's initialisation of RWKV_Tmix_x060 (layer_id, n_layer), seeded. Linear layers:
  // U(±1/√C) (torch's default for nn.Linear); output 0 as RWKV-LM's init.
  void init_paper() {
    using namespace rwkv_detail;
    std::mt19937_64 gen(cfg_.seed * 7919u + cfg_.layer_id + 7);
    const index_t C = index_t(cfg_.n_embd), N = index_t(cfg_.head_size);
    const double nl = double(std::max<std::size_t>(cfg_.n_layer, 2));
    const double r01 = double(cfg_.layer_id) / (nl - 1), r10 = 1.0 - double(cfg_.layer_id) / nl;
    auto set = [&](const char* name, auto f) {
      auto& t = params_.at(name);
      for (index_t c = 0; c < C; ++c) t[c] = static_cast<T>(f(double(c) / double(C), c));
    };
    set("time_maa_x", [&](double d, index_t) { return 1.0 - std::pow(d, r10); });
    set("time_maa_w", [&](double d, index_t) { return 1.0 - std::pow(d, r10); });
    set("time_maa_k", [&](double d, index_t) { return 1.0 - std::pow(d, r10); });
    set("time_maa_v", [&](double d, index_t) { return 1.0 - (std::pow(d, r10) + 0.3 * r01); });
    set("time_maa_r", [&](double d, index_t) { return 1.0 - std::pow(d, 0.5 * r10); });
    set("time_maa_g", [&](double d, index_t) { return 1.0 - std::pow(d, 0.5 * r10); });
    set("time_decay", [&](double, index_t c) {
      return -6.0 + 5.0 * std::pow(double(c) / double(C - 1), 0.7 + 1.3 * r01);
    });
    fill_uniform(params_.at("time_maa_w2"), -0.01, 0.01, gen);
    fill_uniform(params_.at("time_decay_w2"), -0.01, 0.01, gen);
    auto& u = params_.at("time_faaaa");
    for (index_t c = 0; c < C; ++c) {
      const double zigzag = double((c + 1) % 3 - 1) * 0.1;
      u[c] = static_cast<T>(r01 * (1.0 - double(c) / double(C - 1)) + zigzag);
    }
    const double s = 1.0 / std::sqrt(double(C));
    for (const char* n : {"receptance.weight", "key.weight", "value.weight", "gate.weight"})
      fill_uniform(params_.at(n), -s, s, gen);
    for (auto& v : params_.at("ln_x.weight").values()) v = T(1);
    (void)N;
  }

  rwkv6_config cfg_;
  index_t H_ = 0;
  parameters<T> params_;
};

static_assert(mixer<rwkv6_time_mix<float>>);

}  // namespace seqmix::mixers
