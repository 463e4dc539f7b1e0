#pragma once
// Distributed selective scan (Mamba-1) over contiguous slices of T; varlen (B == 1, global
// cu_seqlens) with sequences crossing rank boundaries. The transition is diagonal per state element (d, n), e^{Σ Δ_t[d] A[d,n]},
// and the op is linear in (state, x) (the gate silu(z) multiplies the whole readout), so:
//   pass 1: the op on the slice from a zero state (rank 0: initial_state) -> o, S_local; ranks > 0
//           also run it with x = 0 from a state of ones: its final state is the slice's decay
//           product P (log P goes through the exscan, P = 0 gives -inf, which composes);
//   exscan of (log P, S) pairs (state_passing.hpp) -> h_in;
//   pass 2 (ranks > 0): the op with x = 0 from h_in; its output is the correction
//           (Σ_n C_t[n] e^{b_t[d,n]} h_in[d,n]) · silu(z_t) and its final state P ⊙ h_in.
// Ranks > 0 run the op three times (the exps of Δ·A are per (t, d, n), so a hand-written
// correction would cost about as much); communication 2·B·D·N elements per rank.
#include <algorithm>
#include <cmath>
#include <limits>
#include <span>
#include <type_traits>
#include <vector>

#include "seqmix/distributed/state_passing.hpp"
#include "seqmix/ops/selective_scan.hpp"

namespace seqmix::distributed {

namespace detail {

// [N,D,N'] state views seen as [N,1,D,N'] (the H = 1 layout of the shared varlen helpers).
template <class V>
auto as_heads(const V& v) {
  using E = std::remove_pointer_t<decltype(v.data())>;
  return v.empty() ? tensor_view<E, 4>{}
                   : tensor_view<E, 4>(v.data(), {v.extent(0), 1, v.extent(1), v.extent(2)},
                                       {v.stride(0), 0, v.stride(1), v.stride(2)});
}

// Varlen: pass 1 over the local pieces; when the first piece continues from an earlier rank,
// its decay product P (x = 0 from ones) and its correction (x = 0 from h_in; the other pieces
// start from 0 there and add nothing) as in the contiguous case. A slice containing a sequence
// start passes on log P = -inf. Final states from the ranks where the sequences end.
template <class T>
void selective_scan_varlen(const selective_scan_args<T>& a, const mpi_context& ctx, const run_options& opt) {
  check_slice<T>("selective_scan", ctx, a.x.extent(1), false);
  if (a.x.extent(0) != 1) throw shape_error("distributed::selective_scan: cu_seqlens needs B == 1");
  const index_t TL = a.x.extent(1), D = a.x.extent(2), N = a.A.extent(1), R = D * N;
  const auto lp = local_pieces(ctx, a.cu_seqlens);
  const auto& pieces = lp.pieces;
  const index_t L = index_t(pieces.size());
  const std::span<const std::int64_t> lcu(lp.lcu);
  std::vector<T> fin(std::size_t(std::max<index_t>(L, 1) * R), T(0));
  const std::vector<T> init = piece_initial_states<T>(pieces, as_heads(a.initial_state), 1, D, N);
  auto run = [&](const T* x, T* o, const T* s0, T* s1) {
    selective_scan_args<T> la = a;
    if (x) la.x = const_view<T, 3>(x, {1, TL, D});
    if (o) la.o = tensor_view<T, 3>(o, {1, TL, D});
    la.initial_state = const_view<T, 3>(s0, {L, D, N});
    la.final_state = tensor_view<T, 3>(s1, {L, D, N});
    la.cu_seqlens = lcu;
    seqmix::selective_scan(la, opt);
  };
  if (L > 0) run(nullptr, nullptr, init.data(), fin.data());
  const bool first_continues = L > 0 && pieces[0].continues;
  const bool reset = L > 0 && !(L == 1 && first_continues);
  std::vector<T> zeros, scratch, prod(std::size_t(std::max<index_t>(L, 1) * R), T(1));
  if (first_continues) {
    zeros.assign(std::size_t(TL * D), T(0));
    scratch.assign(std::size_t(TL * D), T(0));
    const std::vector<T> ones(prod.size(), T(1));
    run(zeros.data(), scratch.data(), ones.data(), prod.data());
  }
  std::vector<T> pairs(std::size_t(2 * R), T(0));
  for (index_t r = 0; r < R && L > 0; ++r) {
    pairs[std::size_t(r)] = reset ? -std::numeric_limits<T>::infinity() : std::log(prod[std::size_t(r)]);
    pairs[std::size_t(R + r)] = fin[std::size_t((L - 1) * R + r)];
  }
  std::vector<T> in;
  exscan_states<T>(ctx, 1, R, 1, pairs, in);
  if (first_continues) {
    std::vector<T> hin(prod.size(), T(0)), fin2(prod.size());
    std::copy(in.begin() + R, in.begin() + 2 * R, hin.begin());
    run(zeros.data(), scratch.data(), hin.data(), fin2.data());
    for (index_t t = pieces[0].lb; t < pieces[0].le; ++t)
      for (index_t d = 0; d < D; ++d) a.o(0, t, d) += scratch[std::size_t(t * D + d)];
    for (index_t r = 0; r < R; ++r) fin[std::size_t(r)] += fin2[std::size_t(r)];
  }
  gather_final_states<T>(ctx, a.cu_seqlens, pieces, fin.data(), 1, D, N, as_heads(a.initial_state),
                         as_heads(a.final_state));
}

}  // namespace detail

template <class T>
void selective_scan(const selective_scan_args<T>& a, const mpi_context& ctx, const run_options& opt = {}) {
  if (!a.cu_seqlens.empty()) {
    detail::selective_scan_varlen(a, ctx, opt);
    return;
  }
  detail::check_slice<T>("selective_scan", ctx, a.x.extent(1), false);
  const index_t B = a.x.extent(0), TL = a.x.extent(1), D = a.x.extent(2), N = a.A.extent(1), R = D * N;
  std::vector<T> fin(std::size_t(B * R), T(0)), prod(std::size_t(B * R), T(1));
  {
    selective_scan_args<T> la = a;
    la.initial_state = ctx.rank == 0 ? a.initial_state : const_view<T, 3>{};
    la.final_state = tensor_view<T, 3>(fin.data(), {B, D, N});
    seqmix::selective_scan(la, opt);
  }
  std::vector<T> zeros, scratch;
  const bool correct = ctx.rank > 0 && TL > 0;
  if (correct) {
    zeros.assign(std::size_t(B * TL * D), T(0));
    scratch.assign(std::size_t(B * TL * D), T(0));
    const std::vector<T> ones(std::size_t(B * R), T(1));
    selective_scan_args<T> lb = a;
    lb.x = const_view<T, 3>(zeros.data(), {B, TL, D});
    lb.o = tensor_view<T, 3>(scratch.data(), {B, TL, D});
    lb.initial_state = const_view<T, 3>(ones.data(), {B, D, N});
    lb.final_state = tensor_view<T, 3>(prod.data(), {B, D, N});
    seqmix::selective_scan(lb, opt);
  }
  std::vector<T> pairs(std::size_t(B * 2 * R));
  for (index_t b = 0; b < B; ++b)
    for (index_t r = 0; r < R; ++r) {
      pairs[std::size_t(b * 2 * R + r)] = std::log(prod[std::size_t(b * R + r)]);
      pairs[std::size_t(b * 2 * R + R + r)] = fin[std::size_t(b * R + r)];
    }
  std::vector<T> in;
  detail::exscan_states<T>(ctx, B, R, 1, pairs, in);
  if (correct) {
    std::vector<T> hin(std::size_t(B * R)), fin2(std::size_t(B * R));
    for (index_t b = 0; b < B; ++b)
      for (index_t r = 0; r < R; ++r) hin[std::size_t(b * R + r)] = in[std::size_t(b * 2 * R + R + r)];
    selective_scan_args<T> lc = a;
    lc.x = const_view<T, 3>(zeros.data(), {B, TL, D});
    lc.o = tensor_view<T, 3>(scratch.data(), {B, TL, D});
    lc.initial_state = const_view<T, 3>(hin.data(), {B, D, N});
    lc.final_state = tensor_view<T, 3>(fin2.data(), {B, D, N});
    seqmix::selective_scan(lc, opt);
    for (index_t b = 0; b < B; ++b)
      for (index_t t = 0; t < TL; ++t)
        for (index_t d = 0; d < D; ++d) a.o(b, t, d) += scratch[std::size_t((b * TL + t) * D + d)];
    for (std::size_t i = 0; i < fin.size(); ++i) fin[i] += fin2[i];
  } else if (ctx.rank > 0) {  // an empty slice passes the incoming state through
    for (index_t b = 0; b < B; ++b)
      for (index_t r = 0; r < R; ++r) fin[std::size_t(b * R + r)] = in[std::size_t(b * 2 * R + R + r)];
  }
  if (!a.final_state.empty()) {
    detail::broadcast_from_last(ctx, fin.data(), B * R);
    for (index_t b = 0; b < B; ++b)
      for (index_t d = 0; d < D; ++d)
        for (index_t n = 0; n < N; ++n) a.final_state(b, d, n) = fin[std::size_t((b * D + d) * N + n)];
  }
}

}  // namespace seqmix::distributed
