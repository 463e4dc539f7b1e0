#pragma once
// Gated DeltaNet layer (fla's `fla.layers.GatedDeltaNet`, Yang et al. 2025): DeltaNet's
// structure (mixers/deltanet.hpp) with the per-head decay g = -exp(A_log)·softplus(W_a x +
// dt_bias) and the gated_delta_rule op. head_k_dim = head_dim, head_v_dim =
// head_dim·expand_v; parameters a_proj.weight [H, d_model], A_log [H], dt_bias [H] on top of
// DeltaNet's.
#include "seqmix/mixers/deltanet.hpp"

namespace seqmix::mixers {

struct gated_deltanet_config {
  std::size_t d_model = 64;  // fla: hidden_size
  std::size_t num_heads = 2;
  std::size_t head_dim = 32;
  double expand_v = 2.0;
  bool use_gate = true;
  std::size_t conv_size = 4;
  bool conv_bias = false;
  bool allow_neg_eigval = false;
  double norm_eps = 1e-5;
  unsigned seed = 0;
};

template <class T>
class gated_deltanet : public detail::delta_layer<T> {
 public:
  using value_type = T;
  using state_type = typename detail::delta_layer<T>::state_type;
  explicit gated_deltanet(const gated_deltanet_config& c) : detail::delta_layer<T>(dims(c)), cfg_(c) {}
  const gated_deltanet_config& config() const noexcept { return cfg_; }

 private:
  static detail::delta_layer_dims dims(const gated_deltanet_config& c) {
    const auto hk = static_cast<index_t>(c.head_dim);
    const auto hv = static_cast<index_t>(double(c.head_dim) * c.expand_v);
    return {static_cast<index_t>(c.d_model), static_cast<index_t>(c.num_heads), hk, hv,
            static_cast<index_t>(c.conv_size), true, c.use_gate, c.conv_bias, c.allow_neg_eigval, c.norm_eps, c.seed};
  }
  gated_deltanet_config cfg_;
};

static_assert(mixer<gated_deltanet<float>>);

}  // namespace seqmix::mixers
