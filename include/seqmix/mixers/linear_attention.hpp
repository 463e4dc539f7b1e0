#pragma once
// Linear attention layer (fla's `fla.layers.LinearAttention`, Katharopoulos et al. 2020):
// q, k, v projections, a feature map φ on q and k (elu+1 by default; identity, relu), the
// linear_attn op (optionally normalised by φ(q)·Σφ(k)), per-head RMSNorm, o_proj.
// state_dict names: q_proj.weight [key_dim,d], k_proj.weight, v_proj.weight [value_dim,d],
// norm.weight [head_v], o_proj.weight [d,value_dim]. Body: mixers/detail/chunk_layer.hpp.
// Not covered: fla's other feature maps (hedgehog, t2r, dpfp, elementwise_product) and
// grouped kv heads.
#include "seqmix/mixers/detail/chunk_layer.hpp"

namespace seqmix::mixers {

struct linear_attention_config {
  std::size_t d_model = 1024;  // fla: hidden_size
  std::size_t num_heads = 8;
  double expand_k = 1.0;
  double expand_v = 1.0;
  feature_map map = feature_map::elu1;
  bool normalize = false;
  double norm_eps = 1e-5;
  unsigned seed = 0;
};

template <class T>
class linear_attention : public chunk_detail::chunk_layer<T> {
 public:
  explicit linear_attention(const linear_attention_config& c)
      : chunk_detail::chunk_layer<T>(chunk_detail::chunk_layer_dims{
            chunk_detail::chunk_layer_kind::linear_attention, index_t(c.d_model), index_t(c.num_heads),
            chunk_detail::expanded(c.d_model, c.expand_k, c.num_heads, "linear_attention: key_dim"),
            chunk_detail::expanded(c.d_model, c.expand_v, c.num_heads, "linear_attention: value_dim"), false, 16, 16, {},
            c.map, c.normalize, 10000, c.norm_eps, c.seed}) {}
};

static_assert(mixer<linear_attention<float>>);

}  // namespace seqmix::mixers
