// seqmix-run entries of the RWKV family (rwkv4, rwkv5, rwkv6, rwkv7).
// FLOPs per call (README, section RWKV): rwkv4 16·B·T·D (each exp counted as one);
// rwkv5/rwkv6 7·B·T·H·K·V; rwkv7 9·B·T·H·K·V.
#include <cmath>

#include "../registry.hpp"
#include "seqmix/ops/rwkv4.hpp"
#include "seqmix/ops/rwkv5.hpp"
#include "seqmix/ops/rwkv6.hpp"
#include "seqmix/ops/rwkv7.hpp"

namespace seqmix::tool {
namespace {

SEQMIX_REGISTER_OP(make_entry(
    "rwkv4", "k[B,T,D] v[B,T,D] w[D] (>0) u[D]; optional initial_state[N,3,D] (a, b, p) cu_seqlens[N+1]", "",
    {form::recurrent}, [](auto& in, const run_options& opt) {
      using T = typename std::remove_reference_t<decltype(in)>::value_type;
      rwkv4_args<T> a;
      a.k = in.template required<3>("k");
      a.v = in.template required<3>("v");
      a.w = in.template required<1>("w");
      a.u = in.template required<1>("u");
      a.initial_state = in.template optional<3>("initial_state");
      a.cu_seqlens = in.cu_seqlens();
      const index_t B = a.k.extent(0), L = a.k.extent(1), D = a.k.extent(2);
      a.o = in.template output<3>("o", {B, L, D});
      a.final_state = in.template output<3>("final_state", {in.sequence_count(B), 3, D});
      validate(a);
      return prepared_call<T>{[a, opt] { rwkv4(a, opt); }, 16.0 * B * L * D, double(B * L)};
    }));

SEQMIX_REGISTER_OP(make_entry(
    "rwkv5", "r[B,T,H,K] k[B,T,H,K] v[B,T,H,V] w[H,K] (log decay) u[H,K]; optional initial_state[N,H,K,V] cu_seqlens[N+1]",
    "scale (1)", {form::recurrent, form::chunked, form::parallel}, [](auto& in, const run_options& opt) {
      using T = typename std::remove_reference_t<decltype(in)>::value_type;
      rwkv5_args<T> a;
      a.r = in.template required<4>("r");
      a.k = in.template required<4>("k");
      a.v = in.template required<4>("v");
      a.w = in.template required<2>("w");
      a.u = in.template required<2>("u");
      a.initial_state = in.template optional<4>("initial_state");
      a.cu_seqlens = in.cu_seqlens();
      a.scale = static_cast<T>(in.attr_double("scale", 1.0));
      const index_t B = a.r.extent(0), L = a.r.extent(1), H = a.r.extent(2), K = a.r.extent(3), V = a.v.extent(3);
      a.o = in.template output<4>("o", {B, L, H, V});
      a.final_state = in.template output<4>("final_state", {in.sequence_count(B), H, K, V});
      validate(a);
      return prepared_call<T>{[a, opt] { rwkv5(a, opt); }, 7.0 * B * L * H * K * V, double(B * L)};
    }));

SEQMIX_REGISTER_OP(make_entry(
    "rwkv6", "r[B,T,H,K] k[B,T,H,K] v[B,T,H,V] w[B,T,H,K] (log decay) u[H,K]; optional initial_state[N,H,K,V] cu_seqlens[N+1]",
    "scale (1)", {form::recurrent, form::chunked, form::parallel}, [](auto& in, const run_options& opt) {
      using T = typename std::remove_reference_t<decltype(in)>::value_type;
      rwkv6_args<T> a;
      a.r = in.template required<4>("r");
      a.k = in.template required<4>("k");
      a.v = in.template required<4>("v");
      a.w = in.template required<4>("w");
      a.u = in.template required<2>("u");
      a.initial_state = in.template optional<4>("initial_state");
      a.cu_seqlens = in.cu_seqlens();
      a.scale = static_cast<T>(in.attr_double("scale", 1.0));
      const index_t B = a.r.extent(0), L = a.r.extent(1), H = a.r.extent(2), K = a.r.extent(3), V = a.v.extent(3);
      a.o = in.template output<4>("o", {B, L, H, V});
      a.final_state = in.template output<4>("final_state", {in.sequence_count(B), H, K, V});
      validate(a);
      return prepared_call<T>{[a, opt] { rwkv6(a, opt); }, 7.0 * B * L * H * K * V, double(B * L)};
    }));

SEQMIX_REGISTER_OP(make_entry(
    "rwkv7",
    "r[B,T,H,K] w[B,T,H,K] (log decay) k[B,T,H,K] a[B,T,H,K] b[B,T,H,K] v[B,T,H,V]; optional initial_state[N,H,K,V] "
    "cu_seqlens[N+1]",
    "scale (1/sqrt K)", {form::recurrent}, [](auto& in, const run_options& opt) {
      using T = typename std::remove_reference_t<decltype(in)>::value_type;
      rwkv7_args<T> a;
      a.r = in.template required<4>("r");
      a.w = in.template required<4>("w");
      a.k = in.template required<4>("k");
      a.a = in.template required<4>("a");
      a.b = in.template required<4>("b");
      a.v = in.template required<4>("v");
      a.initial_state = in.template optional<4>("initial_state");
      a.cu_seqlens = in.cu_seqlens();
      const double scale = in.attr_double("scale", NAN);
      if (!std::isnan(scale)) a.scale = static_cast<T>(scale);
      const index_t B = a.r.extent(0), L = a.r.extent(1), H = a.r.extent(2), K = a.r.extent(3), V = a.v.extent(3);
      a.o = in.template output<4>("o", {B, L, H, V});
      a.final_state = in.template output<4>("final_state", {in.sequence_count(B), H, K, V});
      validate(a);
      return prepared_call<T>{[a, opt] { rwkv7(a, opt); }, 9.0 * B * L * H * K * V, double(B * L)};
    }));

}  // namespace
}  // namespace seqmix::tool
