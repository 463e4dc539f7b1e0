// seqmix-run entries of the softmax attention family: op `attention`, mixer
// `--mixer attention` (parameters by state_dict name, config from metadata).
#include <algorithm>
#include <ostream>

#include "../mixer_runner.hpp"
#include "../registry.hpp"
#include "../runner.hpp"
#include "seqmix/mixers/attention.hpp"
#include "seqmix/ops/attention.hpp"

namespace seqmix::tool {
namespace {

SEQMIX_REGISTER_OP(make_entry(
    "attention",
    "q[B,T,HQ,K] k[B,S,H,K] v[B,S,H,V] (S >= T); optional g[B,S,HQ] alibi_slopes[HQ] cu_seqlens[N+1] (query "
    "offsets into T) cu_seqlens_k[N+1] (key offsets into S; without it S == T)",
    "scale (1/sqrt K), causal (1), window (0 = none)", {form::parallel, form::recurrent},
    [](auto& in, const run_options& opt) {
      using T = typename std::remove_reference_t<decltype(in)>::value_type;
      attention_args<T> a;
      a.q = in.template required<4>("q");
      a.k = in.template required<4>("k");
      a.v = in.template required<4>("v");
      a.g = in.template optional<3>("g");
      a.alibi_slopes = in.template optional<1>("alibi_slopes");
      a.cu_seqlens = in.cu_seqlens();
      a.cu_seqlens_k = in.offsets("cu_seqlens_k");
      // absent: the default 1/sqrt K; present, it must be a number (an empty string is an error)
      if (in.has_attr("scale")) a.scale = in.attr_double("scale", 0.0);
      const auto causal = in.attr_int("causal", 1);
      if (causal != 0 && causal != 1)
        throw option_error("attention: attribute 'causal' must be 0 or 1, got " + std::to_string(causal));
      a.causal = causal != 0;
      a.window = in.attr_int("window", 0);
      const index_t B = a.q.extent(0), L = a.q.extent(1), HQ = a.q.extent(2);
      a.o = in.template output<4>("o", {B, L, HQ, a.v.empty() ? 0 : a.v.extent(3)});
      validate(a);  // errors surface before anything runs
      return prepared_call<T>{[a, opt] { attention(a, opt); }, attention_flops(a), double(B * L)};
    }));

// ---- mixer: seqmix-run --mixer attention ------------------------------------------------

// A metadata number that must not be negative (RoPE base and fraction).
double non_negative(const io::safetensors& in, const std::string& key, double def) {
  const double d = meta_number(in, "attention", key, def);
  if (d < 0) throw option_error("attention: metadata '" + key + "' must be non-negative, got '" + meta_string(in, key) + "'");
  return d;
}

const bool attention_mixer_registered = register_mixer(
    {"attention",
     "fla Attention / ForgettingAttention: x[B,T,d_model], q_proj k_proj v_proj o_proj (f_proj) .weight; metadata "
     "hidden_size num_heads num_kv_heads head_dim rope_theta partial_rotary_factor rope forget_gate window_size "
     "max_position_embeddings",
     [](const io::safetensors& in, io::safetensors& out, bool step, int repeat, std::ostream& report) {
       const std::string n = "attention";
       mixers::attention_config c;
       c.d_model = meta_size(in, n, "hidden_size", input_width(in, 64));
       c.n_heads = meta_size(in, n, "num_heads", 4);
       c.n_kv_heads = meta_size(in, n, "num_kv_heads", 0);
       c.head_dim = meta_size(in, n, "head_dim", 0);
       c.rope_base = non_negative(in, "rope_theta", 10000.0);
       c.rotary_fraction = non_negative(in, "partial_rotary_factor", 1.0);
       c.rope = meta_flag(in, n, "rope", true);
       c.forget_gate = meta_flag(in, n, "forget_gate", false);
       c.window = meta_size(in, n, "window_size", 0);
       // default cache: the input's length
       const auto* x = in.contains("x") ? &in.tensors.at("x") : nullptr;
       const std::size_t len = x && x->shape.size() == 3 ? std::size_t(std::max<index_t>(1, x->shape[1])) : 1;
       c.max_len = meta_size(in, n, "max_position_embeddings", len);
       if (meta_flag(in, n, "qkv_bias", false) || meta_flag(in, n, "qk_norm", false))
         throw option_error("attention: qkv_bias and qk_norm are not supported");
       try {
         mixers::attention<float> m(c);
         run_mixer_entry(n, m, in, out, step, repeat, report);
       } catch (const shape_error&) {
         throw;
       } catch (const option_error&) {
         throw;
       } catch (const std::invalid_argument& e) {  // the constructor's configuration checks
         throw option_error(e.what());
       } catch (const std::length_error& e) {  // the KV cache is full (max_position_embeddings)
         throw option_error(e.what());
       }
     }});

}  // namespace
}  // namespace seqmix::tool
