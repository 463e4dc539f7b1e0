// seqmix-run entries of the scan family.
#include "../registry.hpp"
#include "seqmix/ops/linear_scan.hpp"

namespace seqmix::tool {
namespace {

SEQMIX_REGISTER_OP(make_entry(
    "linear_scan", "x[B,T,D] g[B,T,D]; optional initial_state[N,D] cu_seqlens[N+1]", "", {form::recurrent},
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

}  // namespace
}  // namespace seqmix::tool
