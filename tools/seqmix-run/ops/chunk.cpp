// seqmix-run entries of the chunk family (linear_attn, retention, simple_gla, gla, ssd) and
// `--mixer gla` (fla's GatedLinearAttention layer: parameters by state_dict name, its
// constructor arguments as metadata).
// FLOPs per call (the recurrence count, see README): 5·B·T·H·K·V (ssd: 5·B·T·H·P·N).
#include "../mixer_runner.hpp"
#include "../registry.hpp"
#include "../runner.hpp"
#include "seqmix/mixers/gla.hpp"
#include "seqmix/ops/gla.hpp"
#include "seqmix/ops/linear_attn.hpp"
#include "seqmix/ops/retention.hpp"
#include "seqmix/ops/simple_gla.hpp"
#include "seqmix/ops/ssd.hpp"

namespace seqmix::tool {
namespace {

const std::vector<form> chunk_forms{form::recurrent, form::chunked, form::parallel};
constexpr const char* qkv_inputs = "q[B,T,H,K] k[B,T,H,K] v[B,T,H,V]";
constexpr const char* state_inputs = "optional initial_state[N,H,K,V] cu_seqlens[N+1]";

// Reads q, k, v, initial_state, cu_seqlens, scale; creates o and final_state.
template <class Args, class In>
void read_qkv(Args& a, In& in) {
  a.q = in.template required<4>("q");
  a.k = in.template required<4>("k");
  a.v = in.template required<4>("v");
  a.initial_state = in.template optional<4>("initial_state");
  a.cu_seqlens = in.cu_seqlens();
  if (in.attr("scale", "") != "") a.scale = in.attr_double("scale", 0.0);
  const index_t B = a.q.extent(0), L = a.q.extent(1), H = a.q.extent(2), K = a.q.extent(3);
  const index_t V = a.v.extent(3);
  a.o = in.template output<4>("o", {B, L, H, V});
  a.final_state = in.template output<4>("final_state", {in.sequence_count(B), H, K, V});
}

template <class Args>
double qkv_flops(const Args& a) {
  return 5.0 * double(a.q.extent(0)) * double(a.q.extent(1)) * double(a.q.extent(2)) * double(a.q.extent(3)) *
         double(a.v.extent(3));
}

SEQMIX_REGISTER_OP(make_entry(
    "linear_attn", std::string(qkv_inputs) + "; " + state_inputs + " initial_normalizer[N,H,K]",
    "scale (1/sqrt K), feature_map (identity|elu1|relu; identity), normalize (0)", chunk_forms,
    [](auto& in, const run_options& opt) {
      using T = typename std::remove_reference_t<decltype(in)>::value_type;
      linear_attn_args<T> a;
      read_qkv(a, in);
      const std::string fm = in.attr("feature_map", "identity");
      if (fm == "identity") a.map = feature_map::identity;
      else if (fm == "elu1") a.map = feature_map::elu1;
      else if (fm == "relu") a.map = feature_map::relu;
      else throw option_error("linear_attn: attribute 'feature_map' must be identity, elu1 or relu, got '" + fm + "'");
      const auto norm = in.attr_int("normalize", 0);
      if (norm != 0 && norm != 1)
        throw option_error("linear_attn: attribute 'normalize' must be 0 or 1, got " + std::to_string(norm));
      a.normalize = norm == 1;
      if (a.normalize) {
        a.initial_normalizer = in.template optional<3>("initial_normalizer");
        a.final_normalizer = in.template output<3>(
            "final_normalizer", {in.sequence_count(a.q.extent(0)), a.q.extent(2), a.q.extent(3)});
      }
      validate(a);
      return prepared_call<T>{[a, opt] { linear_attn(a, opt); }, qkv_flops(a), double(a.q.extent(0) * a.q.extent(1))};
    }));

SEQMIX_REGISTER_OP(make_entry(
    "retention", std::string(qkv_inputs) + "; " + state_inputs, "scale (1/sqrt K); decay 1 - 2^(-5-h)", chunk_forms,
    [](auto& in, const run_options& opt) {
      using T = typename std::remove_reference_t<decltype(in)>::value_type;
      retention_args<T> a;
      read_qkv(a, in);
      validate(a);
      return prepared_call<T>{[a, opt] { retention(a, opt); }, qkv_flops(a), double(a.q.extent(0) * a.q.extent(1))};
    }));

SEQMIX_REGISTER_OP(make_entry(
    "simple_gla", std::string(qkv_inputs) + " g[B,T,H]; " + state_inputs, "scale (1/sqrt K)", chunk_forms,
    [](auto& in, const run_options& opt) {
      using T = typename std::remove_reference_t<decltype(in)>::value_type;
      simple_gla_args<T> a;
      a.g = in.template required<3>("g");
      read_qkv(a, in);
      validate(a);
      return prepared_call<T>{[a, opt] { simple_gla(a, opt); }, qkv_flops(a), double(a.q.extent(0) * a.q.extent(1))};
    }));

SEQMIX_REGISTER_OP(make_entry(
    "gla", std::string(qkv_inputs) + " g[B,T,H,K]; " + state_inputs, "scale (1/sqrt K)", chunk_forms,
    [](auto& in, const run_options& opt) {
      using T = typename std::remove_reference_t<decltype(in)>::value_type;
      gla_args<T> a;
      a.g = in.template required<4>("g");
      read_qkv(a, in);
      validate(a);
      return prepared_call<T>{[a, opt] { gla(a, opt); }, qkv_flops(a), double(a.q.extent(0) * a.q.extent(1))};
    }));

SEQMIX_REGISTER_OP(make_entry(
    "ssd", "x[B,T,H,P] dt[B,T,H] A[H] B[B,T,G,N] C[B,T,G,N]; optional D[H] initial_state[N,H,P,N] cu_seqlens[N+1]",
    "", chunk_forms, [](auto& in, const run_options& opt) {
      using T = typename std::remove_reference_t<decltype(in)>::value_type;
      ssd_args<T> a;
      a.x = in.template required<4>("x");
      a.dt = in.template required<3>("dt");
      a.A = in.template required<1>("A");
      a.B = in.template required<4>("B");
      a.C = in.template required<4>("C");
      a.D = in.template optional<1>("D");
      a.initial_state = in.template optional<4>("initial_state");
      a.cu_seqlens = in.cu_seqlens();
      const index_t Bt = a.x.extent(0), L = a.x.extent(1), H = a.x.extent(2), P = a.x.extent(3);
      const index_t N = a.B.empty() ? 0 : a.B.extent(3);
      a.o = in.template output<4>("o", {Bt, L, H, P});
      a.final_state = in.template output<4>("final_state", {in.sequence_count(Bt), H, P, N});
      validate(a);
      return prepared_call<T>{[a, opt] { ssd(a, opt); }, 5.0 * double(Bt) * double(L) * double(H) * double(P) * double(N),
                              double(Bt * L)};
    }));

// ---- mixers ----------------------------------------------------------------------------

// fla.layers.GatedLinearAttention at its defaults except where the metadata (the constructor's
// argument names) says otherwise; what the seqmix layer does not cover is refused by name.
const bool gla_mixer_registered = register_mixer(
    {"gla",
     "fla GatedLinearAttention: x[B,T,hidden_size], state_dict names; metadata hidden_size num_heads expand_k "
     "expand_v gate_low_rank_dim gate_logit_normalizer clamp_min use_output_gate norm_eps",
     [](const io::safetensors& in, io::safetensors& out, bool step, int repeat, std::ostream& report) {
       const std::string n = "gla";
       mixers::gla_config c;
       c.d_model = meta_size(in, n, "hidden_size", meta_size(in, n, "d_model", input_width(in, 1024)));
       c.num_heads = meta_size(in, n, "num_heads", 4);
       c.expand_k = meta_number(in, n, "expand_k", 0.5);
       c.expand_v = meta_number(in, n, "expand_v", 1.0);
       c.gate_low_rank_dim = meta_size(in, n, "gate_low_rank_dim", 16);
       c.gate_logit_normalizer = meta_number(in, n, "gate_logit_normalizer", 16);
       if (c.gate_logit_normalizer == 0) throw option_error("gla: metadata 'gate_logit_normalizer' must not be 0");
       if (const auto cm = meta_string(in, "clamp_min"); !cm.empty())
         c.clamp_min = meta_number(in, n, "clamp_min", 0.0);
       c.use_output_gate = meta_flag(in, n, "use_output_gate", true);
       c.norm_eps = meta_number(in, n, "norm_eps", 1e-5);
       // options of the fla layer that the seqmix layer does not implement
       if (meta_size(in, n, "num_kv_heads", c.num_heads) != c.num_heads)
         throw option_error("gla: num_kv_heads != num_heads (grouped kv heads) is not supported");
       if (const auto fm = meta_string(in, "feature_map"); !fm.empty())
         throw option_error("gla: feature_map '" + fm + "' is not supported (only None)");
       if (meta_flag(in, n, "use_short_conv", false))
         throw option_error("gla: use_short_conv = 1 is not supported");
       if (const auto gf = meta_string(in, "gate_fn"); !gf.empty() && gf != "swish")
         throw option_error("gla: gate_fn '" + gf + "' is not supported (only swish)");
       if (!meta_flag(in, n, "elementwise_affine", true))
         throw option_error("gla: elementwise_affine = 0 is not supported");
       if (c.use_output_gate && !meta_flag(in, n, "fuse_norm", true))
         throw option_error("gla: fuse_norm = 0 (g_norm + gate_fn) is not supported; export with fuse_norm = 1");
       if (const auto mode = meta_string(in, "mode"); !mode.empty() && mode != "chunk" && mode != "fused_recurrent" &&
                                                    mode != "fused_chunk")
         throw option_error("gla: mode '" + mode + "' is not an fla GLA mode");
       try {
         mixers::gla<float> m(c);
         run_mixer_entry(n, m, in, out, step, repeat, report);
       } catch (const shape_error&) {
         throw;
       } catch (const std::invalid_argument& e) {  // sizes in the metadata that do not fit together
         throw option_error(e.what());
       }
     }});

}  // namespace
}  // namespace seqmix::tool
