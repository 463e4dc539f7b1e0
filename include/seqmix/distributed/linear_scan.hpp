#pragma once
// Distributed linear_scan (h_t = e^{g_t} ⊙ h_{t-1} + x_t, o_t = h_t) over a sequence split in
// contiguous slices of T across the ranks of ctx.comm.
//   args: this rank's slice, x/g/o [B, ctx.length(), D]. initial_state (optional [B,D]) is the
//   state before the whole sequence (read on rank 0 only); final_state (optional [B,D]) gets
//   the state after the whole sequence on every rank.
// Pass 1: the local op from a zero state (rank 0: from initial_state) and the slice's summed
// log decay per channel. Exscan of (decay, state) pairs gives h_in. Pass 2 (ranks > 0):
// o_t += e^{cumsum g up to t} ⊙ h_in. Communication: 2·B·D elements per rank.
#include <algorithm>
#include <type_traits>
#include <vector>

#include "seqmix/distributed/linear_attention.hpp"  // two_pass_varlen
#include "seqmix/distributed/state_passing.hpp"
#include "seqmix/ops/linear_scan.hpp"

namespace seqmix::distributed {

template <class T>
void linear_scan(const linear_scan_args<T>& a, const mpi_context& ctx, const run_options& opt = {}) {
  detail::check_slice<T>("linear_scan", ctx, a.x.extent(1), false);
  const index_t B = a.x.extent(0), TL = a.x.extent(1), D = a.x.extent(2);
  if (!a.cu_seqlens.empty()) {  // varlen across ranks: the [N,1,D,1] state of linear_attention's scheme
    if (B != 1) throw shape_error("distributed::linear_scan: cu_seqlens needs B == 1");
    const index_t N = index_t(a.cu_seqlens.size()) - 1;
    auto as4 = [&](auto v) {
      using V4 = tensor_view<typename std::remove_pointer_t<decltype(v.data())>, 4>;
      return v.empty() ? V4{} : V4(v.data(), {N, 1, D, 1}, {v.stride(0), 0, v.stride(1), 0});
    };
    auto g = a.g;
    auto o = a.o;
    detail::two_pass_varlen<T>(
        ctx, opt, TL, 1, D, 1, a.cu_seqlens, as4(a.initial_state), as4(a.final_state),
        [&](const_view<T, 4> init, tensor_view<T, 4> fin, std::span<const std::int64_t> lcu) {
          const index_t L = init.extent(0);
          linear_scan_args<T> la = a;
          la.initial_state = const_view<T, 2>(init.data(), {L, D});
          la.final_state = tensor_view<T, 2>(fin.data(), {L, D});
          la.cu_seqlens = lcu;
          seqmix::linear_scan(la, opt);
        },
        [g, D](index_t, index_t t, index_t, T* tmp) -> const T* {
          for (index_t d = 0; d < D; ++d) tmp[d] = g(0, t, d);
          return tmp;
        },
        [g, o, D](index_t, index_t, const T* sin, T* cum, index_t t0, index_t rows, std::vector<T>&) {
          for (index_t t = t0; t < t0 + rows; ++t)
            for (index_t d = 0; d < D; ++d) {
              cum[d] += g(0, t, d);
              o(0, t, d) += std::exp(cum[d]) * sin[d];
            }
        },
        /*may_skip=*/false);  // linear_scan's g may be positive
    return;
  }
  // pass 1: the local recurrence; its final state goes into the pair buffer.
  std::vector<T> pairs(static_cast<std::size_t>(B * 2 * D), T(0)), fin(static_cast<std::size_t>(B * D));
  linear_scan_args<T> la = a;
  la.initial_state = ctx.rank == 0 ? a.initial_state : const_view<T, 2>{};
  la.final_state = tensor_view<T, 2>(fin.data(), {B, D});
  seqmix::linear_scan(la, opt);
  parallel_for(B, resolve_threads(opt), [&](index_t b) {
    T* dec = pairs.data() + b * 2 * D;
    std::copy(fin.data() + b * D, fin.data() + (b + 1) * D, dec + D);
    for (index_t t = 0; t < TL; ++t)
      for (index_t d = 0; d < D; ++d) dec[d] += a.g(b, t, d);
  });
  std::vector<T> in;
  detail::exscan_states<T>(ctx, B, D, 1, pairs, in);
  // pass 2: o_t += e^{cumsum g} ⊙ h_in (nothing to do on rank 0), and the final state.
  if (ctx.rank > 0) {
    parallel_for(B, resolve_threads(opt), [&](index_t b) {
      const T* hin = in.data() + b * 2 * D + D;
      std::vector<T> cum(static_cast<std::size_t>(D), T(0));
      for (index_t t = 0; t < TL; ++t)
        for (index_t d = 0; d < D; ++d) {
          cum[d] += a.g(b, t, d);
          a.o(b, t, d) += std::exp(cum[d]) * hin[d];
        }
      const T* dec = pairs.data() + b * 2 * D;
      for (index_t d = 0; d < D; ++d) fin[b * D + d] += std::exp(dec[d]) * hin[d];
    });
  }
  if (!a.final_state.empty()) {
    detail::broadcast_from_last(ctx, fin.data(), B * D);
    for (index_t b = 0; b < B; ++b)
      for (index_t d = 0; d < D; ++d) a.final_state(b, d) = fin[b * D + d];
  }
}

}  // namespace seqmix::distributed
