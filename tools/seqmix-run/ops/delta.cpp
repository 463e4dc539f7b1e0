// seqmix-run entries of the delta-rule family: ops delta_rule, gated_delta_rule; mixers
// `--mixer deltanet` and `--mixer gated_deltanet` (fla layers: parameters by state_dict
// name, configuration from metadata).
// FLOPs per call (README): the recurrence count 7·B·T·H·K·V (k_tᵀS, the decayed rank-1
// update, S_tᵀq_t), whatever form runs.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

#include "../registry.hpp"
#include "../mixer_runner.hpp"
#include "../runner.hpp"
#include "seqmix/mixers/deltanet.hpp"
#include "seqmix/mixers/gated_deltanet.hpp"
#include "seqmix/ops/delta_rule.hpp"
#include "seqmix/ops/gated_delta_rule.hpp"

namespace seqmix::tool {
namespace {

template <class Args, class In>
void read_common(Args& a, In& in) {
  a.q = in.template required<4>("q");
  a.k = in.template required<4>("k");
  a.v = in.template required<4>("v");
  a.beta = in.template required<3>("beta");
  a.initial_state = in.template optional<4>("initial_state");
  a.cu_seqlens = in.cu_seqlens();
  a.scale = in.attr_double("scale", a.q.extent(3) > 0 ? 1.0 / std::sqrt(double(a.q.extent(3))) : 1.0);
  const index_t B = a.q.extent(0), L = a.q.extent(1), H = a.q.extent(2), K = a.q.extent(3);
  const index_t V = a.v.extent(3);
  a.o = in.template output<4>("o", {B, L, H, V});
  a.final_state = in.template output<4>("final_state", {in.sequence_count(B), H, K, V});
}

constexpr const char* delta_inputs =
    "q[B,T,H,K] k[B,T,H,K] v[B,T,H,V] beta[B,T,H]; optional initial_state[N,H,K,V] cu_seqlens[N+1]";
constexpr const char* gated_inputs =
    "q[B,T,H,K] k[B,T,H,K] v[B,T,H,V] beta[B,T,H] g[B,T,H]; optional initial_state[N,H,K,V] cu_seqlens[N+1]";

template <class Args>
double delta_flops(const Args& a) {
  return 7.0 * double(a.q.extent(0)) * double(a.q.extent(1)) * double(a.q.extent(2)) * double(a.q.extent(3)) *
         double(a.v.extent(3));
}

SEQMIX_REGISTER_OP(make_entry("delta_rule", delta_inputs, "scale (1/sqrt K)", {form::recurrent, form::chunked},
                              [](auto& in, const run_options& opt) {
                                using T = typename std::remove_reference_t<decltype(in)>::value_type;
                                delta_rule_args<T> a;
                                read_common(a, in);
                                validate(a);
                                return prepared_call<T>{[a, opt] { delta_rule(a, opt); }, delta_flops(a),
                                                        double(a.q.extent(0) * a.q.extent(1))};
                              }));

SEQMIX_REGISTER_OP(make_entry("gated_delta_rule", gated_inputs, "scale (1/sqrt K)", {form::recurrent, form::chunked},
                              [](auto& in, const run_options& opt) {
                                using T = typename std::remove_reference_t<decltype(in)>::value_type;
                                gated_delta_rule_args<T> a;
                                a.g = in.template required<3>("g");
                                read_common(a, in);
                                validate(a);
                                return prepared_call<T>{[a, opt] { gated_delta_rule(a, opt); }, delta_flops(a),
                                                        double(a.q.extent(0) * a.q.extent(1))};
                              }));

// ---- mixers ----------------------------------------------------------------------------

std::size_t model_width(const io::safetensors& in, const std::string& mixer) {
  return meta_size(in, mixer, "hidden_size", meta_size(in, mixer, "d_model", input_width(in, 64)));
}

// Size errors in the metadata surface as shape_error/invalid_argument from the constructors.
template <class F>
void as_option_error(F&& f) {
  try {
    f();
  } catch (const shape_error&) {
    throw;
  } catch (const option_error&) {
    throw;
  } catch (const std::invalid_argument& e) {
    throw option_error(e.what());
  }
}

// Constructor arguments of both fla layers that the seqmix layers do not implement.
void refuse_unsupported_delta_options(const io::safetensors& in, const std::string& n) {
  if (!meta_flag(in, n, "use_short_conv", true))
    throw option_error(n + ": use_short_conv = 0 is not supported (the layer always has its short convolutions)");
}

const bool deltanet_mixer_registered = register_mixer(
    {"deltanet",
     "fla DeltaNet: x[B,T,d_model], state_dict names; metadata hidden_size num_heads expand_k expand_v use_gate "
     "conv_size conv_bias allow_neg_eigval norm_eps (fla's defaults; use_gate 0)",
     [](const io::safetensors& in, io::safetensors& out, bool step, int repeat, std::ostream& report) {
       const std::string n = "deltanet";
       mixers::deltanet_config c;
       c.d_model = model_width(in, n);
       c.num_heads = meta_size(in, n, "num_heads", 4);
       c.expand_k = meta_number(in, n, "expand_k", 1.0);
       c.expand_v = meta_number(in, n, "expand_v", 1.0);
       c.use_gate = meta_flag(in, n, "use_gate", false);  // fla's DeltaNet default
       c.conv_size = meta_size(in, n, "conv_size", 4);
       c.conv_bias = meta_flag(in, n, "conv_bias", false);
       c.allow_neg_eigval = meta_flag(in, n, "allow_neg_eigval", false);
       c.norm_eps = meta_number(in, n, "norm_eps", 1e-5);
       refuse_unsupported_delta_options(in, n);
       if (const auto a = meta_string(in, "qk_activation"); !a.empty() && a != "silu")
         throw option_error("deltanet: qk_activation '" + a + "' is not supported (only silu)");
       if (const auto q = meta_string(in, "qk_norm"); !q.empty() && q != "l2")
         throw option_error("deltanet: qk_norm '" + q + "' is not supported (only l2)");
       if (!meta_flag(in, n, "use_beta", true)) throw option_error("deltanet: use_beta = 0 is not supported");
       as_option_error([&] {
         mixers::deltanet<float> m(c);
         run_mixer_entry(n, m, in, out, step, repeat, report);
       });
     }});

const bool gated_deltanet_mixer_registered = register_mixer(
    {"gated_deltanet",
     "fla GatedDeltaNet: x[B,T,d_model], state_dict names; metadata hidden_size num_heads head_dim expand_v "
     "num_v_heads use_gate conv_size conv_bias allow_neg_eigval norm_eps (fla's defaults)",
     [](const io::safetensors& in, io::safetensors& out, bool step, int repeat, std::ostream& report) {
       const std::string n = "gated_deltanet";
       mixers::gated_deltanet_config c;
       c.d_model = model_width(in, n);
       c.num_heads = meta_size(in, n, "num_heads", 6);  // fla's GatedDeltaNet defaults
       c.head_dim = meta_size(in, n, "head_dim", 256);
       c.expand_v = meta_number(in, n, "expand_v", 2.0);
       c.use_gate = meta_flag(in, n, "use_gate", true);
       c.conv_size = meta_size(in, n, "conv_size", 4);
       c.conv_bias = meta_flag(in, n, "conv_bias", false);
       c.allow_neg_eigval = meta_flag(in, n, "allow_neg_eigval", false);
       c.norm_eps = meta_number(in, n, "norm_eps", 1e-5);
       refuse_unsupported_delta_options(in, n);
       if (meta_size(in, n, "num_v_heads", c.num_heads) != c.num_heads)
         throw option_error("gated_deltanet: num_v_heads != num_heads (grouped value heads) is not supported");
       as_option_error([&] {
         mixers::gated_deltanet<float> m(c);
         run_mixer_entry(n, m, in, out, step, repeat, report);
       });
     }});

}  // namespace
}  // namespace seqmix::tool
