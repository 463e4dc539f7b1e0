// seqmix-run entries of the chunk family (linear_attn, retention, simple_gla, gla, ssd).
// FLOPs per call (the recurrence count, see README): 5·B·T·H·K·V (ssd: 5·B·T·H·P·N).
#include "../registry.hpp"
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

}  // namespace
}  // namespace seqmix::tool
