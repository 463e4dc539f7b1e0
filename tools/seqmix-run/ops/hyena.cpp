// seqmix-run entries of the Hyena family: long_conv.
// FLOPs (direct-equivalent, the same for every form): 2·B·D·Σ_{t<T} min(P+t+1, L)
// multiply-adds of the convolution, plus 2·B·T·D for the D skip when given.
#include "../registry.hpp"
#include "seqmix/ops/long_conv.hpp"

namespace seqmix::tool {
namespace {

inline double long_conv_flops(index_t B, index_t T, index_t D, index_t L, index_t P, bool skip) {
  double taps = 0;  // Σ_t min(P+t+1, L)
  for (index_t t = 0; t < T; ++t) taps += double(std::min<index_t>(P + t + 1, L));
  return 2.0 * double(B) * double(D) * taps + (skip ? 2.0 * double(B * T * D) : 0.0);
}

SEQMIX_REGISTER_OP(make_entry(
    "long_conv", "u[B,T,D] h[D,L]; optional D[D] history[B,P,D]", "", {form::direct, form::fft, form::blocked},
    [](auto& in, const run_options& opt) {
      using T = typename std::remove_reference_t<decltype(in)>::value_type;
      long_conv_args<T> a;
      a.u = in.template required<3>("u");
      a.h = in.template required<2>("h");
      a.D = in.template optional<1>("D");
      a.history = in.template optional<3>("history");
      const index_t B = a.u.extent(0), L = a.u.extent(1), D = a.u.extent(2);
      a.o = in.template output<3>("o", {B, L, D});
      validate(a);  // errors surface before anything runs
      const index_t P = a.history.empty() ? 0 : a.history.extent(1);
      return prepared_call<T>{[a, opt] { long_conv(a, opt); },
                              long_conv_flops(B, L, D, a.h.extent(1), P, !a.D.empty()), double(B * L)};
    }));

}  // namespace
}  // namespace seqmix::tool
