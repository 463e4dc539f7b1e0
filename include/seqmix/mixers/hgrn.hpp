#pragma once
// HGRN (Qin et al. 2023, "Hierarchically Gated Recurrent Neural Network for Sequence
// Modeling"), as flash-linear-attention's `HGRNAttention` layer:
//   i = x W_iᵀ, f = σ(x W_fᵀ), g = x W_gᵀ                  i_proj/f_proj/g_proj.weight [d_inner, d_model]
//   forget gate with lower bound: λ = lb + (1 - lb) ⊙ f     lower_bound [d_inner]
//   h_t = λ_t ⊙ h_{t-1} + silu(i_t) ⊙ (1 - λ_t)             (linear_scan op, g = log λ)
//   o = RMSNorm(h) ⊙ g_norm.weight ⊙ silu(g)                 g_norm.weight [d_inner], eps norm_eps
//   y = o W_oᵀ                                              o_proj.weight [d_model, d_inner]
// The lower bound is a per-layer quantity of the HGRN model (softmax-cumsum of the model's
// `lower_bounds` over layers; 0 for the first layer); here it is the layer's own parameter
// `lower_bound`, zeros by default. Initialisation as fla: xavier_uniform with gain 2^-2.5
// for the projections, ones for the norm weight.
#include <cmath>
#include <random>

#include "seqmix/kernels/scan/common.hpp"
#include "seqmix/mixers/detail/diagonal_rnn.hpp"
#include "seqmix/ops/linear_scan.hpp"

namespace seqmix::mixers {

struct hgrn_config {
  std::size_t d_model = 64;
  double expand_ratio = 1.0;  // d_inner = round(d_model * expand_ratio)
  double norm_eps = 1e-5;
  unsigned seed = 0;
};

template <class T>
class hgrn : public detail::diagonal_rnn<T, hgrn<T>> {
 public:
  static constexpr const char* name = "hgrn";

  explicit hgrn(hgrn_config cfg) : detail::diagonal_rnn<T, hgrn<T>>(cfg.d_model, cfg.expand_ratio), norm_eps_(cfg.norm_eps) {
    const index_t d = this->d_model_, di = this->d_inner_;
    std::mt19937_64 gen(cfg.seed);
    const auto xavier = [&](tensor<T>& w) {
      const double bound = std::pow(2.0, -2.5) * std::sqrt(6.0 / double(w.extent(0) + w.extent(1)));
      std::uniform_real_distribution<double> u(-bound, bound);
      for (auto& v : w.values()) v = T(u(gen));
    };
    for (const char* name : {"i_proj.weight", "f_proj.weight", "g_proj.weight"}) xavier(this->params_.add(name, {di, d}));
    xavier(this->params_.add("o_proj.weight", {d, di}));
    for (auto& v : this->params_.add("g_norm.weight", {di}).values()) v = T(1);
    this->params_.add("lower_bound", {di});
  }

  void forward(seq_cref<T> x, seq_ref<T> y, typename hgrn::state_type& s) const {
    namespace ks = kernels::scan;
    if (!this->check_forward(x, y, s)) return;
    const index_t L = x.extent(0), di = this->d_inner_;
    const auto& params_ = this->params_;
    // P [L, 3 di]: (i, f, g) projections; H [L, di] the scan output
    T* buf = thread_workspace(mixer_workspace_slot).template get<T>(std::size_t(L) * 4 * di);
    T* hbuf = buf + std::size_t(L) * 3 * di;
    const int threads = this->threads();
    detail::project(x.data(), x.stride(0), L, params_["i_proj.weight"], buf, 3 * di, threads);
    detail::project(x.data(), x.stride(0), L, params_["f_proj.weight"], buf + di, 3 * di, threads);
    detail::project(x.data(), x.stride(0), L, params_["g_proj.weight"], buf + 2 * di, 3 * di, threads);
    const T* lb = params_["lower_bound"].data();
    // in place: i -> silu(i) (1 - λ), f -> log λ, with λ = lb + (1 - lb) σ(f)
    for (index_t t = 0; t < L; ++t) {
      T* row = buf + t * 3 * di;
      ks::for_channels<xsimd::default_arch, T>(0, std::size_t(di), [&](auto tag, std::size_t c) {
        using V = typename decltype(tag)::type;
        const V fr = ks::load_v<V>(row + di + c), l = ks::load_v<V>(lb + c), iv = ks::load_v<V>(row + c);
        const V one_minus = (V(1) - l) * simd::sigmoid(-fr);  // 1 - λ, without cancellation
        const V log_lambda = simd::log(l + (V(1) - l) * simd::sigmoid(fr));
        ks::store_v(row + c, simd::silu(iv) * one_minus);
        ks::store_v(row + di + c, log_lambda);
      });
    }
    const std::array<index_t, 3> st{L * 3 * di, 3 * di, 1};
    linear_scan_args<T> a;
    a.x = const_view<T, 3>(buf, {1, L, di}, st);
    a.g = const_view<T, 3>(buf + di, {1, L, di}, st);
    a.o = tensor_view<T, 3>(hbuf, {1, L, di});
    this->carry_state(a, s);
    seqmix::linear_scan(a, this->opt_);
    // gated RMSNorm over d_inner, in place in H
    const T* w = params_["g_norm.weight"].data();
    for (index_t t = 0; t < L; ++t) {
      T* h = hbuf + t * di;
      const T* g = buf + t * 3 * di + 2 * di;
      double ss = 0;
      for (index_t c = 0; c < di; ++c) ss += double(h[c]) * double(h[c]);
      const T r = T(1.0 / std::sqrt(ss / double(di) + norm_eps_));
      ks::for_channels<xsimd::default_arch, T>(0, std::size_t(di), [&](auto tag, std::size_t c) {
        using V = typename decltype(tag)::type;
        ks::store_v(h + c, ks::load_v<V>(h + c) * V(r) * ks::load_v<V>(w + c) * simd::silu(ks::load_v<V>(g + c)));
      });
    }
    detail::project(hbuf, di, L, params_["o_proj.weight"], y.data(), y.stride(0), threads);
  }

 private:
  double norm_eps_;
};

static_assert(mixer<hgrn<float>>);

}  // namespace seqmix::mixers
