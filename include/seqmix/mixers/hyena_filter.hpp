#pragma once
// The Hyena implicit long filter (Poli et al. 2023, "Hyena Hierarchy"; safari's
// src/models/sequence/hyena.py HyenaFilter), producing h[C, L] for any L <= l_max:
//   z_t   = [t_t, cos(f_b ω_t) (b < B), -sin(f_b ω_t) (b < B)]      pos_emb.z [1, l_max, emb_dim]
//           t_t = t/(l_max-1), ω_t = 2π t / l_max, f = linspace(1e-4, B-1, B), B = (emb_dim-1)/2
//   a     = sin(freq ⊙ (W_0 z_t + b_0)), then num_inner_mlps × a = sin(freq ⊙ (W_k a + b_k))
//   h_t   = W_out a                                                 (no bias)
//   h_t  ⊙= exp(-t_t |δ_c|) + shift (modulate)                       modulation.deltas [1,1,C]
//   δ = linspace(ln(target)/slow_decay_pct, ln(target)/fast_decay_pct, C)
//   normalized: h[c,:] /= Σ_t |h[c,t]| (over the L generated positions)
// Parameter names follow the module's state_dict under a prefix (the mixer uses
// "filter_fn."): bias [C] (the D skip of the convolution), pos_emb.z, pos_emb.t,
// implicit_filter.{0,2,4,..}.weight/.bias, implicit_filter.{1,3,5,..}.freq [1, width]
// (safari shares one Sin module; its state_dict lists the same values under each index),
// implicit_filter.<last>.weight [C, width], modulation.deltas.
// Filters are cached per length; the cache is dropped by invalidate() (the mixer calls it
// whenever its parameters are handed out for writing).
#include <cmath>
#include <map>
#include <memory>
#include <mutex>
#include <numbers>
#include <random>
#include <string>

#include <Eigen/Core>

#include "seqmix/core/error.hpp"
#include "seqmix/mixers/parameters.hpp"

namespace seqmix::mixers {

struct hyena_filter_config {
  std::size_t channels = 64;      // C
  std::size_t l_max = 1024;       // positions with an embedding
  std::size_t emb_dim = 3;        // odd, >= 3
  std::size_t width = 64;         // MLP width (safari: filter_order)
  std::size_t num_inner_mlps = 2;
  double w = 1.0;                 // initial Sin frequency
  double fast_decay_pct = 0.3, slow_decay_pct = 1.5, target = 1e-2, shift = 0.0;
  bool modulate = true;
  bool normalized = false;
};

template <class T>
class hyena_filter {
 public:
  using matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

  hyena_filter(hyena_filter_config cfg, std::string prefix) : cfg_(cfg), prefix_(std::move(prefix)) {
    if (cfg.emb_dim < 3 || cfg.emb_dim % 2 == 0)
      throw std::invalid_argument("hyena_filter: emb_dim must be odd and >= 3, got " + std::to_string(cfg.emb_dim));
    if (cfg.l_max == 0) throw std::invalid_argument("hyena_filter: l_max must be positive");
  }

  const hyena_filter_config& config() const noexcept { return cfg_; }
  const std::string& prefix() const noexcept { return prefix_; }
  // Index (in implicit_filter) of the final linear layer.
  std::size_t last_layer() const noexcept { return 2 + 2 * cfg_.num_inner_mlps; }

  // Declares the parameters in `p` with the module's initialisation (PyTorch Linear:
  // U(±1/sqrt(fan_in)) for weight and bias; bias ~ N(0,1); freq = w).
  template <class Gen>
  void declare(parameters<T>& p, Gen& gen) const {
    const index_t C = index_t(cfg_.channels), Lm = index_t(cfg_.l_max), E = index_t(cfg_.emb_dim),
                  Wd = index_t(cfg_.width);
    std::normal_distribution<double> nrm(0.0, 1.0);
    for (auto& v : p.add(name("bias"), {C}).values()) v = T(nrm(gen));
    // positional embedding
    auto& z = p.add(name("pos_emb.z"), {1, Lm, E});
    auto& tt = p.add(name("pos_emb.t"), {1, Lm, 1});
    const index_t bands = (E - 1) / 2;
    for (index_t t = 0; t < Lm; ++t) {
      const double tn = Lm > 1 ? double(t) / double(Lm - 1) : 0.0;
      const double om = 2.0 * std::numbers::pi * double(t) / double(Lm);
      tt[t] = T(tn);
      z[t * E] = T(tn);
      for (index_t b = 0; b < bands; ++b) {
        const double f = bands > 1 ? 1e-4 + double(b) * (double(bands - 1) - 1e-4) / double(bands - 1) : 1e-4;
        z[t * E + 1 + b] = T(std::cos(f * om));
        z[t * E + 1 + bands + b] = T(-std::sin(f * om));
      }
    }
    auto linear = [&](std::size_t idx, index_t out, index_t in, bool bias) {
      std::uniform_real_distribution<double> u(-1.0 / std::sqrt(double(in)), 1.0 / std::sqrt(double(in)));
      for (auto& v : p.add(layer(idx, "weight"), {out, in}).values()) v = T(u(gen));
      if (bias)
        for (auto& v : p.add(layer(idx, "bias"), {out}).values()) v = T(u(gen));
    };
    linear(0, Wd, E, true);
    for (std::size_t k = 0; k <= cfg_.num_inner_mlps; ++k) {
      for (auto& v : p.add(layer(2 * k + 1, "freq"), {1, Wd}).values()) v = T(cfg_.w);
      if (k < cfg_.num_inner_mlps) linear(2 * k + 2, Wd, Wd, true);
    }
    linear(last_layer(), C, Wd, false);
    auto& d = p.add(name("modulation.deltas"), {1, 1, C});
    const double lo = std::log(cfg_.target) / cfg_.slow_decay_pct, hi = std::log(cfg_.target) / cfg_.fast_decay_pct;
    for (index_t c = 0; c < C; ++c) d[c] = T(C > 1 ? lo + (hi - lo) * double(c) / double(C - 1) : lo);
  }

  // h [C, L] (channel-major, as long_conv takes it) for the first L <= l_max positions.
  tensor<T> generate(const parameters<T>& p, index_t L) const {
    const index_t C = index_t(cfg_.channels), E = index_t(cfg_.emb_dim), Lm = index_t(cfg_.l_max);
    if (L < 0 || L > Lm)
      throw shape_error("hyena_filter: length " + std::to_string(L) + " exceeds l_max " + std::to_string(Lm));
    tensor<T> out({C, L});
    if (L == 0) return out;
    using cmap = Eigen::Map<const matrix>;
    const cmap Z(p.at(name("pos_emb.z")).data(), L, E);  // first L rows of [l_max, E]
    auto act = [&](const matrix& pre, std::size_t idx) {
      const auto& fr = p.at(layer(idx, "freq"));
      matrix a(pre.rows(), pre.cols());
      for (index_t i = 0; i < pre.rows(); ++i)
        for (index_t j = 0; j < pre.cols(); ++j) a(i, j) = std::sin(fr[j] * pre(i, j));
      return a;
    };
    auto affine = [&](const matrix& in, std::size_t idx) {
      matrix pre = in * p.matrix(layer(idx, "weight")).transpose();
      const auto& b = p.at(layer(idx, "bias"));
      for (index_t i = 0; i < pre.rows(); ++i)
        for (index_t j = 0; j < pre.cols(); ++j) pre(i, j) += b[j];
      return pre;
    };
    matrix a = act(affine(matrix(Z), 0), 1);
    for (std::size_t k = 0; k < cfg_.num_inner_mlps; ++k) a = act(affine(a, 2 * k + 2), 2 * k + 3);
    const matrix h = a * p.matrix(layer(last_layer(), "weight")).transpose();  // [L, C]
    const auto& tt = p.at(name("pos_emb.t"));
    const auto& dl = p.at(name("modulation.deltas"));
    for (index_t c = 0; c < C; ++c) {
      T norm = 0;
      for (index_t t = 0; t < L; ++t) {
        T v = h(t, c);
        if (cfg_.modulate) v *= std::exp(-tt[t] * std::abs(dl[c])) + T(cfg_.shift);  // exponent <= 0
        out[c * L + t] = v;
        norm += std::abs(v);
      }
      if (cfg_.normalized && norm > 0)
        for (index_t t = 0; t < L; ++t) out[c * L + t] /= norm;
    }
    return out;
  }

  // The cached filter of length L (computed on first use).
  const tensor<T>& filter(const parameters<T>& p, index_t L) const {
    std::lock_guard<std::mutex> lock(cache_->mu);
    auto it = cache_->by_length.find(L);
    if (it == cache_->by_length.end()) it = cache_->by_length.emplace(L, generate(p, L)).first;
    return it->second;
  }
  void invalidate() const {
    std::lock_guard<std::mutex> lock(cache_->mu);
    cache_->by_length.clear();
  }

  std::string name(const std::string& n) const { return prefix_ + n; }
  std::string layer(std::size_t idx, const std::string& what) const {
    return prefix_ + "implicit_filter." + std::to_string(idx) + "." + what;
  }

 private:
  struct cache_type {
    std::mutex mu;
    std::map<index_t, tensor<T>> by_length;
  };
  // A copy of the filter starts with an empty cache (its parameters may diverge).
  struct cache_holder {
    std::unique_ptr<cache_type> p = std::make_unique<cache_type>();
    cache_holder() = default;
    cache_holder(const cache_holder&) : p(std::make_unique<cache_type>()) {}
    cache_holder& operator=(const cache_holder&) {
      p = std::make_unique<cache_type>();
      return *this;
    }
    cache_holder(cache_holder&&) noexcept = default;
    cache_holder& operator=(cache_holder&&) noexcept = default;
    cache_type* operator->() const noexcept { return p.get(); }
  };
  hyena_filter_config cfg_;
  std::string prefix_;
  cache_holder cache_;
};

}  // namespace seqmix::mixers
