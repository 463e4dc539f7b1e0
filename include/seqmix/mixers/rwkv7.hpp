#pragma once
// RWKV-7 time-mix ("Goose"), after RWKV-LM's RWKV_Tmix_x070, parameters named as its
// state_dict (OPS.md, mixer table):
//   xx = x_{t-1} - x_t (token shift, x_{-1} from the state),  x∗ = x + xx ⊙ x_∗ for ∗ in r,w,k,v,a,g
//   r = receptance(xr), k = key(xk), v = value(xv)
//   log decay = -e^{-1/2} σ(w0 + tanh(xw w1) w2)      (decay e^{-e^{w}} with w soft-clamped to (-inf, -0.5))
//   a = σ(a0 + (xa a1) a2),  g = σ(xg g1) g2
//   κ̂ = normalize_head(k ⊙ k_k),  k ← k ⊙ (1 + (a - 1) ⊙ k_a)
//   v ← v + (v_first - v) ⊙ σ(v0 + (xv v1) v2)        (layers > 0; layer 0 produces v_first = v)
//   o = rwkv7(r, w, k, a = -κ̂, b = κ̂ ⊙ a, v; scale 1)
//   o = GroupNorm_H(o; ln_x, eps 6.4e-4) + (Σ_head r ⊙ k ⊙ r_k) v,   y = output(o ⊙ g)
// v_first is passed explicitly: forward(x, y, s, v_first) with v_first [L, C] written at
// layer 0 (may be absent) and read at other layers; the concept's forward/step use the view
// `state.v_first` (set it to the caller's buffer; one row for step).
#include <algorithm>
#include <cmath>
#include <random>
#include <string>

#include "seqmix/core/check.hpp"
#include "seqmix/core/concepts.hpp"
#include "seqmix/mixers/parameters.hpp"
#include "seqmix/mixers/rwkv_detail.hpp"
#include "seqmix/ops/rwkv7.hpp"

namespace seqmix::mixers {

struct rwkv7_config {
  std::size_t n_embd = 256;
  std::size_t head_size = 64;
  std::size_t n_layer = 2;
  std::size_t layer_id = 0;
  // LoRA sizes; 0 = RWKV-LM's suggestion (multiples of 32 of 2.5·√C, 2.5·√C, 1.7·√C, 5·√C)
  std::size_t d_decay_lora = 0, d_aaa_lora = 0, d_mv_lora = 0, d_gate_lora = 0;
  double ln_x_eps = 6.4e-4;
  unsigned seed = 0;
};

template <class T>
class rwkv7_time_mix {
 public:
  using value_type = T;
  struct state_type {
    tensor<T> shift;                // [1, C]: the previous token
    tensor<T> wkv;                  // [1, H, N, N]
    tensor_view<T, 2> v_first = {};  // [L, C] of the current call (see the header comment)
  };

  explicit rwkv7_time_mix(rwkv7_config cfg) : cfg_(cfg) {
    const index_t C = index_t(cfg.n_embd), N = index_t(cfg.head_size);
    seqmix::detail::check_positive("rwkv7", "head_size", N);
    seqmix::detail::check_divisible("rwkv7", "n_embd", C, N);
    H_ = C / N;
    auto lora = [&](std::size_t given, double f) {
      return given ? index_t(given)
                   : std::max<index_t>(32, index_t(std::lround(f * std::sqrt(double(C)) / 32.0)) * 32);
    };
    const index_t dw = lora(cfg.d_decay_lora, 2.5), da = lora(cfg.d_aaa_lora, 2.5), dv = lora(cfg.d_mv_lora, 1.7),
                  dg = lora(cfg.d_gate_lora, 5.0);
    for (const char* n : {"x_r", "x_w", "x_k", "x_v", "x_a", "x_g", "w0", "a0", "v0", "k_k", "k_a"})
      params_.add(n, {1, 1, C});
    params_.add("w1", {C, dw});
    params_.add("w2", {dw, C});
    params_.add("a1", {C, da});
    params_.add("a2", {da, C});
    params_.add("v1", {C, dv});
    params_.add("v2", {dv, C});
    params_.add("g1", {C, dg});
    params_.add("g2", {dg, C});
    params_.add("r_k", {H_, N});
    for (const char* n : {"receptance.weight", "key.weight", "value.weight", "output.weight"}) params_.add(n, {C, C});
    params_.add("ln_x.weight", {C});
    params_.add("ln_x.bias", {C});
    init_paper();
  }

  std::size_t d_model() const noexcept { return cfg_.n_embd; }
  const rwkv7_config& config() const noexcept { return cfg_; }
  index_t heads() const noexcept { return H_; }
  state_type make_state() const {
    const index_t C = index_t(cfg_.n_embd), N = index_t(cfg_.head_size);
    return {tensor<T>({1, C}), tensor<T>({1, H_, N, N}), {}};
  }
  parameters<T>& params() noexcept { return params_; }
  const parameters<T>& params() const noexcept { return params_; }

  void forward(seq_cref<T> x, seq_ref<T> y, state_type& s) const { forward(x, y, s, s.v_first); }
  void step(row_cref<T> x, row_ref<T> y, state_type& s) const {
    const index_t C = index_t(cfg_.n_embd);
    forward(seq_cref<T>(x.data(), {1, C}), seq_ref<T>(y.data(), {1, C}), s, s.v_first);
  }

  // v_first [L, C]: written at layer 0 (optional there), read at other layers.
  void forward(seq_cref<T> x, seq_ref<T> y, state_type& s, tensor_view<T, 2> v_first) const {
    using namespace rwkv_detail;
    constexpr const char* op = "rwkv7 mixer";
    const index_t L = x.extent(0), C = index_t(cfg_.n_embd), N = index_t(cfg_.head_size);
    seqmix::detail::check_shape(op, "x", x, {-1, C});
    seqmix::detail::check_shape(op, "y", y, {L, C});
    const bool first = cfg_.layer_id == 0;
    if (!first || !v_first.empty()) seqmix::detail::check_shape(op, "v_first", v_first, {L, C});
    seqmix::detail::check_shape(op, "state.shift", s.shift.template view<2>(), {1, C});
    seqmix::detail::check_shape(op, "state.wkv", s.wkv.template view<4>(), {1, H_, N, N});
    if (L == 0) return;
    const auto& P = params_;
    const auto X = map_rows(x);
    const mat<T> xx = shift_delta<T>(X, s.shift.data());
    auto lerp = [&](const char* name) -> mat<T> {
      return X + (xx.array().rowwise() * vec(P, name).array()).matrix();
    };
    const mat<T> xr = lerp("x_r"), xw = lerp("x_w"), xk = lerp("x_k"), xv = lerp("x_v"), xa = lerp("x_a"),
                 xg = lerp("x_g");
    mat<T> r(L, C), k(L, C), v(L, C);
    linear<T>(xr, P.matrix("receptance.weight"), r);
    linear<T>(xk, P.matrix("key.weight"), k);
    linear<T>(xv, P.matrix("value.weight"), v);
    auto lora = [&](const mat<T>& in, const char* m1, const char* m2, auto&& mid) {
      mat<T> h(L, P.at(m1).extent(1)), out(L, C);
      matmul<T>(in, P.matrix(m1), h);
      h = h.unaryExpr(mid);
      matmul<T>(h, P.matrix(m2), out);
      return out;
    };
    const auto ident = [](T z) { return z; };
    mat<T> w = lora(xw, "w1", "w2", [](T z) { return std::tanh(z); });
    mat<T> a = lora(xa, "a1", "a2", ident);
    mat<T> g = lora(xg, "g1", "g2", [](T z) { return sigmoid(z); });
    const auto w0 = vec(P, "w0"), a0 = vec(P, "a0"), k_k = vec(P, "k_k"), k_a = vec(P, "k_a");
    const T half = T(std::exp(-0.5));
    mat<T> kk(L, C), bb(L, C);
    for (index_t t = 0; t < L; ++t) {
      for (index_t c = 0; c < C; ++c) {
        w(t, c) = -half * sigmoid(w0(c) + w(t, c));  // log decay in (-e^{-1/2}, 0)
        a(t, c) = sigmoid(a0(c) + a(t, c));
        kk(t, c) = k(t, c) * k_k(c);
      }
      for (index_t h = 0; h < H_; ++h) {  // F.normalize: x / max(|x|, 1e-12)
        T n2 = 0;
        for (index_t i = 0; i < N; ++i) n2 += kk(t, h * N + i) * kk(t, h * N + i);
        const T inv = T(1) / std::max(std::sqrt(n2), T(1e-12));
        for (index_t i = 0; i < N; ++i) kk(t, h * N + i) *= inv;
      }
      for (index_t c = 0; c < C; ++c) {
        k(t, c) *= T(1) + (a(t, c) - T(1)) * k_a(c);
        bb(t, c) = kk(t, c) * a(t, c);
        kk(t, c) = -kk(t, c);
      }
    }
    if (first) {
      if (!v_first.empty()) map_rows(v_first) = v;
    } else {
      const mat<T> gate = lora(xv, "v1", "v2", ident);
      const auto v0 = vec(P, "v0");
      const auto VF = map_rows(seq_cref<T>(v_first));
      for (index_t t = 0; t < L; ++t)
        for (index_t c = 0; c < C; ++c) v(t, c) += (VF(t, c) - v(t, c)) * sigmoid(v0(c) + gate(t, c));
    }
    mat<T> o(L, C);
    auto v4 = [&](const mat<T>& m) { return const_view<T, 4>(m.data(), {1, L, H_, N}); };
    rwkv7_args<T> args{v4(r), v4(w), v4(k), v4(kk), v4(bb), v4(v), tensor_view<T, 4>(o.data(), {1, L, H_, N}),
                       s.wkv.template cview<4>(), s.wkv.template view<4>()};
    args.scale = T(1);
    seqmix::rwkv7(args, run_options{form::recurrent, 0, 0});
    group_norm<T>(o, H_, N, P.at("ln_x.weight").data(), P.at("ln_x.bias").data(), T(cfg_.ln_x_eps));
    const T* r_k = P.at("r_k").data();
    for (index_t t = 0; t < L; ++t)
      for (index_t h = 0; h < H_; ++h) {
        T dot = 0;
        for (index_t i = 0; i < N; ++i) dot += r(t, h * N + i) * k(t, h * N + i) * r_k[h * N + i];
        for (index_t i = 0; i < N; ++i) o(t, h * N + i) += dot * v(t, h * N + i);
      }
    o.array() *= g.array();
    auto Y = map_rows(y);
    linear<T>(o, P.matrix("output.weight"), Y);
  }

 private:
  // RWKV-LM's initialisation of RWKV_Tmix_x070 (layer_id, n_layer), seeded.
  void init_paper() {
    using namespace rwkv_detail;
    std::mt19937_64 gen(cfg_.seed * 7919u + cfg_.layer_id);
    const index_t C = index_t(cfg_.n_embd), N = index_t(cfg_.head_size);
    const double nl = double(std::max<std::size_t>(cfg_.n_layer, 2));
    const double r01 = double(cfg_.layer_id) / (nl - 1), r10 = 1.0 - double(cfg_.layer_id) / nl;
    auto set = [&](const char* name, auto f) {
      auto& t = params_.at(name);
      for (index_t c = 0; c < C; ++c) t[c] = static_cast<T>(f(c));
    };
    auto ddd = [&](index_t c) { return double(c) / double(C); };
    set("x_r", [&](index_t c) { return 1.0 - std::pow(ddd(c), 0.2 * r10); });
    set("x_w", [&](index_t c) { return 1.0 - std::pow(ddd(c), 0.9 * r10); });
    set("x_k", [&](index_t c) { return 1.0 - std::pow(ddd(c), 0.7 * r10); });
    set("x_v", [&](index_t c) { return 1.0 - std::pow(ddd(c), 0.7 * r10); });
    set("x_a", [&](index_t c) { return 1.0 - std::pow(ddd(c), 0.9 * r10); });
    set("x_g", [&](index_t c) { return 1.0 - std::pow(ddd(c), 0.2 * r10); });
    auto linear_c = [&](index_t c) { return double(c) / double(C - 1) - 0.5; };
    auto zigzag = [&](index_t c) {
      const double z = (double(c % N) - (N - 1) / 2.0) / ((N - 1) / 2.0);
      return z * std::abs(z);
    };
    set("w0", [&](index_t c) {
      return -6.0 + 6.0 * std::pow(double(c) / double(C - 1), 1.0 + std::pow(r01, 0.3)) + 0.5 + zigzag(c) * 2.5;
    });
    set("a0", [&](index_t c) { return -0.19 + zigzag(c) * 0.3 + linear_c(c) * 0.4; });
    set("v0", [&](index_t c) { return 0.73 - linear_c(c) * 0.4; });
    set("k_k", [&](index_t c) { return 0.71 - linear_c(c) * 0.1; });
    set("k_a", [&](index_t) { return 1.02; });
    for (auto& v : params_.at("r_k").values()) v = T(-0.04);
    for (const char* n : {"w2", "a2", "v2", "g2"}) fill_orthogonal(params_.at(n), 0.1, gen);
    // w1, a1, v1, g1 start at zero (as in RWKV-LM)
    const double s = 1.0 / std::sqrt(double(C));
    fill_uniform(params_.at("receptance.weight"), -0.5 * s, 0.5 * s, gen);
    fill_uniform(params_.at("key.weight"), -0.05 * s, 0.05 * s, gen);
    fill_uniform(params_.at("value.weight"), -0.5 * s, 0.5 * s, gen);
    // output.weight starts at zero (as in RWKV-LM)
    for (auto& v : params_.at("ln_x.weight").values()) v = T(1);
  }

  rwkv7_config cfg_;
  index_t H_ = 0;
  parameters<T> params_;
};

static_assert(mixer<rwkv7_time_mix<float>>);

}  // namespace seqmix::mixers
