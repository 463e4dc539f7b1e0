#pragma once
// RetNet multi-scale retention layer (fla's `fla.layers.MultiScaleRetention`, Sun et al.
// 2023): q, k, v projections, rotary embedding on q and k (positions carried in the state),
// the retention op (per-head decay 1 - 2^(-5-h), chunk engine), per-head RMSNorm with a swish
// output gate, o_proj.
// state_dict names: q_proj.weight [key_dim,d], k_proj.weight, v_proj.weight [value_dim,d],
// g_proj.weight [value_dim,d], g_norm_swish_gate.weight [head_v] (g_norm.weight without the
// output gate), o_proj.weight [d,value_dim]. Body: mixers/detail/chunk_layer.hpp.
#include "seqmix/mixers/detail/chunk_layer.hpp"

namespace seqmix::mixers {

struct retnet_config {
  std::size_t d_model = 1024;  // fla: hidden_size
  std::size_t num_heads = 8;
  double expand_k = 1.0;
  double expand_v = 2.0;
  bool use_output_gate = true;
  double norm_eps = 1e-5;
  unsigned seed = 0;
};

template <class T>
class retnet : public chunk_detail::chunk_layer<T> {
 public:
  explicit retnet(const retnet_config& c)
      : chunk_detail::chunk_layer<T>(chunk_detail::chunk_layer_dims{
            chunk_detail::chunk_layer_kind::retnet, index_t(c.d_model), index_t(c.num_heads),
            chunk_detail::expanded(c.d_model, c.expand_k, c.num_heads, "retnet: key_dim"),
            chunk_detail::expanded(c.d_model, c.expand_v, c.num_heads, "retnet: value_dim"), c.use_output_gate, 16, 16, {},
            feature_map::identity, false, 10000, c.norm_eps, c.seed}) {}
};

static_assert(mixer<retnet<float>>);

}  // namespace seqmix::mixers
