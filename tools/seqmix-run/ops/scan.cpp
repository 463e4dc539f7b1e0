// seqmix-run entries of the scan family: linear_scan, min_gru, min_lstm, lru.
// FLOPs per call (README, scan section): linear_scan 2·B·T·D, min_gru 6·B·T·D,
// min_lstm 10·B·T·D, lru 10·B·T·D (exp/log/div counted as one FLOP each).
#include "../registry.hpp"
#include "seqmix/ops/linear_scan.hpp"
#include "seqmix/ops/lru.hpp"
#include "seqmix/ops/min_gru.hpp"
#include "seqmix/ops/min_lstm.hpp"

namespace seqmix::tool {
namespace {

const std::vector<form> scan_forms{form::recurrent, form::chunked, form::parallel};

SEQMIX_REGISTER_OP(make_entry(
    "linear_scan", "x[B,T,D] g[B,T,D]; optional initial_state[N,D] cu_seqlens[N+1]", "", scan_forms,
    [](auto& in, const run_options& opt) {
      using T = typename std::remove_reference_t<decltype(in)>::value_type;
      linear_scan_args<T> a;
      a.x = in.template required<3>("x");
      a.g = in.template required<3>("g");
      a.initial_state = in.template optional<2>("initial_state");
      a.cu_seqlens = in.cu_seqlens();
      const index_t B = a.x.extent(0), L = a.x.extent(1), D = a.x.extent(2);
      a.o = in.template output<3>("o", {B, L, D});
      a.final_state = in.template output<2>("final_state", {in.sequence_count(B), D});
      validate(a);  // errors surface before anything runs
      return prepared_call<T>{[a, opt] { linear_scan(a, opt); }, 2.0 * B * L * D, double(B * L)};
    }));

SEQMIX_REGISTER_OP(make_entry(
    "min_gru", "z_raw[B,T,D] h_raw[B,T,D]; optional initial_state[N,D] cu_seqlens[N+1]", "", scan_forms,
    [](auto& in, const run_options& opt) {
      using T = typename std::remove_reference_t<decltype(in)>::value_type;
      min_gru_args<T> a;
      a.z_raw = in.template required<3>("z_raw");
      a.h_raw = in.template required<3>("h_raw");
      a.initial_state = in.template optional<2>("initial_state");
      a.cu_seqlens = in.cu_seqlens();
      const index_t B = a.z_raw.extent(0), L = a.z_raw.extent(1), D = a.z_raw.extent(2);
      a.o = in.template output<3>("o", {B, L, D});
      a.final_state = in.template output<2>("final_state", {in.sequence_count(B), D});
      validate(a);
      return prepared_call<T>{[a, opt] { min_gru(a, opt); }, 6.0 * B * L * D, double(B * L)};
    }));

SEQMIX_REGISTER_OP(make_entry(
    "min_lstm", "f_raw[B,T,D] i_raw[B,T,D] h_raw[B,T,D]; optional initial_state[N,D] cu_seqlens[N+1]", "",
    scan_forms, [](auto& in, const run_options& opt) {
      using T = typename std::remove_reference_t<decltype(in)>::value_type;
      min_lstm_args<T> a;
      a.f_raw = in.template required<3>("f_raw");
      a.i_raw = in.template required<3>("i_raw");
      a.h_raw = in.template required<3>("h_raw");
      a.initial_state = in.template optional<2>("initial_state");
      a.cu_seqlens = in.cu_seqlens();
      const index_t B = a.f_raw.extent(0), L = a.f_raw.extent(1), D = a.f_raw.extent(2);
      a.o = in.template output<3>("o", {B, L, D});
      a.final_state = in.template output<2>("final_state", {in.sequence_count(B), D});
      validate(a);
      return prepared_call<T>{[a, opt] { min_lstm(a, opt); }, 10.0 * B * L * D, double(B * L)};
    }));

SEQMIX_REGISTER_OP(make_entry(
    "lru", "x_re[B,T,D] x_im[B,T,D] nu_log[D] theta_log[D]; optional initial_state[N,D,2] cu_seqlens[N+1]", "",
    scan_forms, [](auto& in, const run_options& opt) {
      using T = typename std::remove_reference_t<decltype(in)>::value_type;
      lru_args<T> a;
      a.x_re = in.template required<3>("x_re");
      a.x_im = in.template required<3>("x_im");
      a.nu_log = in.template required<1>("nu_log");
      a.theta_log = in.template required<1>("theta_log");
      a.initial_state = in.template optional<3>("initial_state");
      a.cu_seqlens = in.cu_seqlens();
      const index_t B = a.x_re.extent(0), L = a.x_re.extent(1), D = a.x_re.extent(2);
      a.o = in.template output<4>("o", {B, L, D, 2});
      a.final_state = in.template output<3>("final_state", {in.sequence_count(B), D, 2});
      validate(a);
      return prepared_call<T>{[a, opt] { lru(a, opt); }, 10.0 * B * L * D, double(B * L)};
    }));

}  // namespace
}  // namespace seqmix::tool
