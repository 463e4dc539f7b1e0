#pragma once
// Gated Linear Attention layer (fla's `fla.layers.GatedLinearAttention`, Yang et al. 2024):
// q, k, v projections, a low-rank data-dependent gate g = logsigmoid(gk_proj(x))/16 per key
// channel, the gla op (chunk engine), per-head RMSNorm with a swish output gate, o_proj.
// state_dict names: q_proj.weight [key_dim,d], k_proj.weight, v_proj.weight [value_dim,d],
// gk_proj.0.weight [rank,d], gk_proj.1.weight [key_dim,rank], gk_proj.1.bias [key_dim],
// g_proj.weight [value_dim,d], g_norm_swish_gate.weight [head_v] (g_norm.weight without the
// output gate), o_proj.weight [d,value_dim]. Body: mixers/detail/chunk_layer.hpp.
// Not covered: fla's short convolutions, feature maps and grouped kv heads of this layer.
#include "seqmix/mixers/detail/chunk_layer.hpp"

namespace seqmix::mixers {

struct gla_config {
  std::size_t d_model = 1024;  // fla: hidden_size
  std::size_t num_heads = 4;
  double expand_k = 0.5;
  double expand_v = 1.0;
  std::size_t gate_low_rank_dim = 16;
  double gate_logit_normalizer = 16;
  std::optional<double> clamp_min = {};
  bool use_output_gate = true;
  double norm_eps = 1e-5;
  unsigned seed = 0;
};

template <class T>
class gla : public chunk_detail::chunk_layer<T> {
 public:
  explicit gla(const gla_config& c)
      : chunk_detail::chunk_layer<T>(chunk_detail::chunk_layer_dims{
            chunk_detail::chunk_layer_kind::gla, index_t(c.d_model), index_t(c.num_heads),
            chunk_detail::expanded(c.d_model, c.expand_k, c.num_heads, "gla: key_dim"),
            chunk_detail::expanded(c.d_model, c.expand_v, c.num_heads, "gla: value_dim"), c.use_output_gate,
            index_t(c.gate_low_rank_dim), c.gate_logit_normalizer, c.clamp_min, feature_map::identity, false, 10000,
            c.norm_eps, c.seed}) {}
};

static_assert(mixer<gla<float>>);

}  // namespace seqmix::mixers
