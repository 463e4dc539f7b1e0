#pragma once
// Softmax attention layer (Llama-style, as fla's `Attention` / HF LlamaAttention, with the
// Forgetting Transformer's gate as fla's `ForgettingAttention`):
//   q = x W_qᵀ [HQ·D], k = x W_kᵀ [H·D], v = x W_vᵀ [H·D]     q_proj/k_proj/v_proj.weight
//   RoPE on q and k (rotate-half convention, base `rope_base`, the first
//   rotary_dim = 2·floor(D·rotary_fraction/2) features of each head; position = absolute
//   token index in the stream)
//   FoX (optional): g = logsigmoid(x W_fᵀ + b_f) [HQ]          f_proj.weight [HQ, d_model], f_proj.bias
//   o = attention(q, k_cache, v_cache, g_cache; causal, window) (the attention op)
//   y = o W_oᵀ                                                 o_proj.weight [d_model, HQ·D]
// State: the KV cache (keys after RoPE, values, FoX gates) and the stream position. It
// grows in forward and step. window == 0: capacity max_len tokens; exceeding it throws
// std::length_error. window > 0: a sliding buffer that keeps only the last window-1 tokens
// (compacted in place when full, O(1) amortised per token), so any length streams.
#include <algorithm>
#include <cmath>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "seqmix/core/check.hpp"
#include "seqmix/core/concepts.hpp"
#include "seqmix/mixers/parameters.hpp"
#include "seqmix/ops/attention.hpp"
#include "seqmix/simd/math.hpp"

namespace seqmix::mixers {

struct attention_config {
  std::size_t d_model = 64;
  std::size_t n_heads = 4;       // query heads HQ
  std::size_t n_kv_heads = 0;    // kv heads H (GQA/MQA); 0: n_heads
  std::size_t head_dim = 0;      // D; 0: d_model / n_heads
  bool rope = true;
  double rope_base = 10000.0;
  double rotary_fraction = 1.0;  // partial rotary: fraction of each head's features rotated
  bool forget_gate = false;      // FoX
  std::size_t window = 0;        // sliding window (0: none)
  std::size_t max_len = 4096;    // KV cache capacity when window == 0
  unsigned seed = 0;
};

template <class T>
class attention {
 public:
  using value_type = T;
  struct state_type {
    tensor<T> k, v, g;      // cache rows [capacity, H, D], [capacity, H, D], [capacity, HQ] (FoX)
    index_t length = 0;     // rows of the cache in use
    index_t position = 0;   // tokens seen (the next token's absolute position)
  };

  explicit attention(attention_config cfg) : cfg_(cfg) {
    if (cfg_.n_kv_heads == 0) cfg_.n_kv_heads = cfg_.n_heads;
    if (cfg_.n_heads == 0 || cfg_.n_heads % cfg_.n_kv_heads != 0)
      throw std::invalid_argument("attention mixer: n_heads (" + std::to_string(cfg_.n_heads) +
                                  ") must be a positive multiple of n_kv_heads (" + std::to_string(cfg_.n_kv_heads) + ")");
    if (cfg_.head_dim == 0) cfg_.head_dim = cfg_.d_model / cfg_.n_heads;
    if (cfg_.head_dim == 0) throw std::invalid_argument("attention mixer: head_dim must be positive");
    if (cfg_.window == 0 && cfg_.max_len == 0) throw std::invalid_argument("attention mixer: max_len must be positive");
    const index_t d = index_t(cfg_.d_model), HQ = index_t(cfg_.n_heads), H = index_t(cfg_.n_kv_heads),
                  D = index_t(cfg_.head_dim);
    rotary_ = cfg_.rope ? 2 * index_t(std::floor(double(D) * cfg_.rotary_fraction / 2.0)) : 0;
    rotary_ = std::clamp<index_t>(rotary_, 0, D - D % 2);
    for (index_t i = 0; i < rotary_ / 2; ++i)
      inv_freq_.push_back(std::pow(cfg_.rope_base, -2.0 * double(i) / double(rotary_)));
    std::mt19937_64 gen(cfg_.seed);
    const auto normal = [&](tensor<T>& w, double std) {
      std::normal_distribution<double> n(0.0, std);
      for (auto& x : w.values()) x = T(n(gen));
    };
    normal(params_.add("q_proj.weight", {HQ * D, d}), 1.0 / std::sqrt(double(d)));
    normal(params_.add("k_proj.weight", {H * D, d}), 1.0 / std::sqrt(double(d)));
    normal(params_.add("v_proj.weight", {H * D, d}), 1.0 / std::sqrt(double(d)));
    normal(params_.add("o_proj.weight", {d, HQ * D}), 1.0 / std::sqrt(double(HQ * D)));
    if (cfg_.forget_gate) {
      normal(params_.add("f_proj.weight", {HQ, d}), 1.0 / std::sqrt(double(d)));
      // forget gates start near 1 (sigmoid(3) = 0.95): long memory at initialisation
      for (auto& x : params_.add("f_proj.bias", {HQ}).values()) x = T(3);
    }
  }

  std::size_t d_model() const noexcept { return cfg_.d_model; }
  const attention_config& config() const noexcept { return cfg_; }
  index_t rotary_dim() const noexcept { return rotary_; }
  parameters<T>& params() noexcept { return params_; }
  const parameters<T>& params() const noexcept { return params_; }
  run_options& op_options() noexcept { return opt_; }

  // Cache rows: max_len (window == 0) or a sliding buffer of 2·window (at least window + 63).
  index_t capacity() const noexcept {
    return cfg_.window == 0 ? index_t(cfg_.max_len) : std::max<index_t>(2 * index_t(cfg_.window), index_t(cfg_.window) + 63);
  }

  state_type make_state() const {
    const index_t C = capacity(), H = index_t(cfg_.n_kv_heads), D = index_t(cfg_.head_dim);
    state_type s;
    s.k = tensor<T>({C, H, D});
    s.v = tensor<T>({C, H, D});
    if (cfg_.forget_gate) s.g = tensor<T>({C, index_t(cfg_.n_heads)});
    return s;
  }

  void forward(seq_cref<T> x, seq_ref<T> y, state_type& s) const {
    const index_t L = x.extent(0), d = index_t(cfg_.d_model);
    seqmix::detail::check_shape("attention mixer", "x", x, {-1, d});
    seqmix::detail::check_shape("attention mixer", "y", y, {L, d});
    if (s.k.extent(0) != capacity())
      throw shape_error("attention mixer: state was not made by this mixer's make_state()");
    if (L == 0) return;
    if (cfg_.window == 0) {
      if (s.length + L > capacity())
        throw std::length_error("attention mixer: KV cache is full (max_len " + std::to_string(capacity()) + ", " +
                                std::to_string(s.length) + " tokens cached, " + std::to_string(L) +
                                " more requested); raise attention_config::max_len or use a window");
      forward_piece(x, y, s);
      return;
    }
    // sliding window: only the last window-1 cached tokens are ever read again
    const index_t keep = index_t(cfg_.window) - 1, room = capacity() - keep;
    for (index_t t0 = 0; t0 < L;) {
      const index_t n = std::min(room, L - t0);
      if (s.length + n > capacity()) compact(s, keep);
      forward_piece(x.slice(0, t0, n), y.slice(0, t0, n), s);
      t0 += n;
    }
  }

  void step(row_cref<T> x, row_ref<T> y, state_type& s) const {
    const index_t d = index_t(cfg_.d_model);
    if (index_t(x.size()) != d || index_t(y.size()) != d)
      throw shape_error("attention mixer: step needs rows of d_model = " + std::to_string(d));
    forward(seq_cref<T>(x.data(), {1, d}), seq_ref<T>(y.data(), {1, d}), s);
  }

  // RoPE in place on `heads` heads of width D per row, rows at positions pos0 + t.
  void apply_rope(T* data, index_t rows, index_t heads, index_t pos0) const {
    const index_t D = index_t(cfg_.head_dim), half = rotary_ / 2;
    if (half == 0) return;
    std::vector<T> cs(std::size_t(2 * half));
    for (index_t t = 0; t < rows; ++t) {
      for (index_t i = 0; i < half; ++i) {
        const double ang = double(pos0 + t) * inv_freq_[std::size_t(i)];
        cs[std::size_t(i)] = T(std::cos(ang));
        cs[std::size_t(half + i)] = T(std::sin(ang));
      }
      for (index_t h = 0; h < heads; ++h) {
        T* r = data + (t * heads + h) * D;
        for (index_t i = 0; i < half; ++i) {
          const T c = cs[std::size_t(i)], sn = cs[std::size_t(half + i)], x1 = r[i], x2 = r[i + half];
          r[i] = x1 * c - x2 * sn;
          r[i + half] = x2 * c + x1 * sn;
        }
      }
    }
  }

 private:
  using mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

  static void compact(state_type& s, index_t keep) {
    const index_t from = std::max<index_t>(0, s.length - keep), n = s.length - from;
    auto move_rows = [&](tensor<T>& t) {
      if (t.empty()) return;
      const index_t w = t.size() / t.extent(0);
      std::copy(t.data() + from * w, t.data() + (from + n) * w, t.data());
    };
    move_rows(s.k);
    move_rows(s.v);
    move_rows(s.g);
    s.length = n;
  }

  // L tokens that fit in the cache.
  void forward_piece(seq_cref<T> x, seq_ref<T> y, state_type& s) const {
    const index_t L = x.extent(0), d = index_t(cfg_.d_model), HQ = index_t(cfg_.n_heads),
                  H = index_t(cfg_.n_kv_heads), D = index_t(cfg_.head_dim);
    const auto X = Eigen::Map<const mat, 0, Eigen::OuterStride<>>(x.data(), L, d, Eigen::OuterStride<>(x.stride(0)));
    mat q = X * params_.matrix("q_proj.weight").transpose();
    const index_t row0 = s.length;
    T* kc = s.k.data() + row0 * H * D;
    T* vc = s.v.data() + row0 * H * D;
    Eigen::Map<mat>(kc, L, H * D).noalias() = X * params_.matrix("k_proj.weight").transpose();
    Eigen::Map<mat>(vc, L, H * D).noalias() = X * params_.matrix("v_proj.weight").transpose();
    apply_rope(q.data(), L, HQ, s.position);
    apply_rope(kc, L, H, s.position);
    if (cfg_.forget_gate) {
      T* gc = s.g.data() + row0 * HQ;
      auto G = Eigen::Map<mat>(gc, L, HQ);
      G.noalias() = X * params_.matrix("f_proj.weight").transpose();
      const auto& bias = params_["f_proj.bias"];
      for (index_t t = 0; t < L; ++t)
        for (index_t h = 0; h < HQ; ++h) G(t, h) = simd::log_sigmoid(G(t, h) + bias[std::size_t(h)]);
    }
    const index_t S = row0 + L;
    mat o(L, HQ * D);
    attention_args<T> a;
    a.q = const_view<T, 4>(q.data(), {1, L, HQ, D});
    a.k = const_view<T, 4>(s.k.data(), {1, S, H, D});
    a.v = const_view<T, 4>(s.v.data(), {1, S, H, D});
    a.o = tensor_view<T, 4>(o.data(), {1, L, HQ, D});
    if (cfg_.forget_gate) a.g = const_view<T, 3>(s.g.data(), {1, S, HQ});
    a.causal = true;
    a.window = index_t(cfg_.window);
    seqmix::attention(a, opt_);
    auto Y = Eigen::Map<mat, 0, Eigen::OuterStride<>>(y.data(), L, d, Eigen::OuterStride<>(y.stride(0)));
    Y.noalias() = o * params_.matrix("o_proj.weight").transpose();
    s.length = S;
    s.position += L;
  }

  attention_config cfg_;
  index_t rotary_ = 0;
  std::vector<double> inv_freq_;
  parameters<T> params_;
  run_options opt_;
};

static_assert(mixer<attention<float>>);

}  // namespace seqmix::mixers
