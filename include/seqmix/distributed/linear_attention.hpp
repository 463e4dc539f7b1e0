#pragma once
// Distributed gated linear attention: gla, simple_gla and ssd over a sequence split in
// contiguous slices of T across the ranks of ctx.comm (see mpi_context.hpp).
//   args: this rank's slice (time axis of length ctx.length()). initial_state is the state
//   before the whole sequence (read on rank 0 only); final_state gets the state after the
//   whole sequence on every rank. cu_seqlens (B == 1, global offsets; sequences may cross
//   rank boundaries): a slice containing a sequence start passes on a = -inf.
// The transition of a slice is Diag(e^{a}) per key row (a = the slice's summed log decay),
// so (a, S) pairs compose by state_passing.hpp's exscan. Pass 1: the local op from a zero
// state (rank 0: from initial_state). Pass 2 (ranks > 0), per (batch, head), a GEMM:
//   gla/simple_gla: o_t += S_inᵀ (scale · q_t ⊙ e^{b_t}),   b_t = Σ_{s<=t in slice} g_s
//   ssd:            o_t += e^{b_t} · S_in C_t,               b_t = Σ dt_s A_h
// (2·T·K·V flops per head, against ~4·T·K·V + chunk work of the op itself). Communication:
// B·H·K·(V+1) elements per rank through MPI_Exscan plus one broadcast of the final state.
#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <limits>
#include <span>
#include <type_traits>
#include <vector>
#include <xsimd/xsimd.hpp>

#include "seqmix/kernels/chunk/block_gemm.hpp"
#include "seqmix/distributed/state_passing.hpp"
#include "seqmix/simd/math.hpp"
#include "seqmix/ops/gla.hpp"
#include "seqmix/ops/simple_gla.hpp"
#include "seqmix/ops/ssd.hpp"

namespace seqmix::distributed {
namespace detail {

template <class T>
using row_major = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T>
using strided_map = Eigen::Map<row_major<T>, 0, Eigen::OuterStride<>>;

inline constexpr index_t correction_rows = 16;  // time rows per correction tile (all heads' rows stay in L2)

// Adds the R log decays of (b, t, h) to acc. decay_row(b, t, h, tmp) returns a pointer to
// them (into the op's tensor when its last dimension is contiguous, else filled into tmp).
template <class T, class DecayRow>
SEQMIX_INLINE void add_decay_row(DecayRow& decay_row, index_t b, index_t t, index_t h, index_t R, T* tmp, T* acc) {
  const T* d = decay_row(b, t, h, tmp);
  using B = xsimd::batch<T>;
  constexpr index_t L = index_t(B::size);
  index_t r = 0;
  for (; r + L <= R; r += L) (B::load_unaligned(acc + r) + B::load_unaligned(d + r)).store_unaligned(acc + r);
  for (; r < R; ++r) acc[r] += d[r];
}

// Below this cumulative log decay e^{x} is 0 in T (float: e^{-104} is under half the smallest
// subnormal; double: e^{-746}), with libm's and the SIMD exp alike.
template <class T>
inline constexpr T forgotten = sizeof(T) == 4 ? T(-110) : T(-760);

// Items [0, items) in min(items, threads) contiguous groups, f(first, last) per group. The
// loops below walk time tiles outermost and the group's heads inside, so that they sweep
// memory in order (a head's rows are H·V apart: one head at a time over all of T touches a
// new 4 KiB page every row, which the prefetchers do not follow). Per item the arithmetic
// is the same for any grouping, so results stay bitwise identical for any thread count.
template <class F>
void for_item_groups(index_t items, int threads, F&& f) {
  const index_t groups = std::max<index_t>(1, std::min<index_t>(items, threads));
  parallel_for(groups, threads, [&](index_t g) { f(g * items / groups, (g + 1) * items / groups); });
}

// Pass 2 of items [i0, i1) (item = b·H + h) over local rows [lb, le): the correction in
// tiles of correction_rows, then each slice's final state f += Diag(e^{a}) S_in. sin, a, f:
// item it's data at it·(R + R·C) (the pair layout), it·(R + R·C), it·R·C.
template <class T, class Correct>
void correct_items(Correct& correct, index_t i0, index_t i1, index_t H, index_t R, index_t C, const T* sin,
                   const T* a, T* f, index_t lb, index_t le, bool may_skip = true) {
  const index_t n = R + R * C;
  std::vector<T> cum(static_cast<std::size_t>((i1 - i0) * R), T(0)), scratch;
  std::vector<char> done(static_cast<std::size_t>(i1 - i0), 0);
  for (index_t t0 = lb; t0 < le; t0 += correction_rows)
    for (index_t it = i0; it < i1; ++it) {
      if (done[it - i0]) continue;
      T* c = cum.data() + (it - i0) * R;
      correct(it / H, it % H, sin + it * n, c, t0, std::min(correction_rows, le - t0), scratch);
      // Log decays are <= 0, so cum only falls: once every entry is below forgotten<T>, e^{cum}
      // is exactly 0 in T for all later rows and their correction adds exactly 0 (skipped;
      // the result is the same bit for bit). Decays near 0 (long memory) never get here.
      done[it - i0] = may_skip && *std::max_element(c, c + R) < forgotten<T>;
    }
  for (index_t it = i0; it < i1; ++it)
    for (index_t r = 0; r < R; ++r) {
      const T d = std::exp(a[it * n + r]);
      for (index_t c = 0; c < C; ++c) f[it * R * C + r * C + c] += d * sin[it * n + r * C + c];
    }
}

// The whole two-pass scheme for a state of R×C per item (items = B·H, item = b·H + h).
//   run_local(init [B,H,R,C] view or empty, final [B,H,R,C] view): pass 1 of the op.
//   decay_row(b, t, h, tmp): the R log decays at local time t (see add_decay_row).
//   correct(b, h, S_in (R×C row-major), cum (R), t0, rows, lhs scratch): adds the correction
//     to rows [t0, t0+rows) of o; cum holds the cumulative log decay before t0 on entry and
//     must be advanced over the rows.
// Times the phases into last_phase_times().
template <class T, class RunLocal, class DecayRow, class Correct>
void two_pass(const mpi_context& ctx, const run_options& opt, index_t B, index_t TL, index_t H, index_t R, index_t C,
              const const_view<T, 4>& initial_state, const tensor_view<T, 4>& final_state, RunLocal&& run_local,
              DecayRow&& decay_row, Correct&& correct) {
  phase_clock clock;
  const index_t n = R + R * C, items = B * H;
  std::vector<T> fin(static_cast<std::size_t>(items * R * C));
  run_local(ctx.rank == 0 ? initial_state : const_view<T, 4>{}, tensor_view<T, 4>(fin.data(), {B, H, R, C}));
  std::vector<T> pairs(static_cast<std::size_t>(items * n), T(0));
  const int threads = resolve_threads(opt);
  if (ctx.size > 1)  // the slice's decay sums (one rank: nothing to pass on)
    for_item_groups(items, threads, [&](index_t i0, index_t i1) {
      std::vector<T> tmp(static_cast<std::size_t>(R));
      for (index_t t = 0; t < TL; ++t)
        for (index_t it = i0; it < i1; ++it) add_decay_row(decay_row, it / H, t, it % H, R, tmp.data(), &pairs[it * n]);
      for (index_t it = i0; it < i1; ++it)
        std::copy(fin.data() + it * R * C, fin.data() + (it + 1) * R * C, pairs.data() + it * n + R);
    });
  clock.compute();
  std::vector<T> in;
  exscan_states<T>(ctx, items, R, C, pairs, in);
  clock.communication();
  if (ctx.rank > 0)
    for_item_groups(items, threads, [&](index_t i0, index_t i1) {
      correct_items<T>(correct, i0, i1, H, R, C, in.data() + R, pairs.data(), fin.data(), 0, TL);
    });
  clock.correction();
  if (!final_state.empty()) {
    broadcast_from_last(ctx, fin.data(), items * R * C);
    for (index_t b = 0; b < B; ++b)
      for (index_t h = 0; h < H; ++h)
        for (index_t r = 0; r < R; ++r)
          for (index_t c = 0; c < C; ++c) final_state(b, h, r, c) = fin[((b * H + h) * R + r) * C + c];
  }
  clock.communication();
}

// Varlen (B == 1, cu_seqlens = the GLOBAL offsets [N+1]; sequences may cross rank
// boundaries). A slice that contains a sequence start passes on a = -inf (the state of the
// open sequence does not depend on what came before), so the same exscan works. The first
// local piece of a sequence that began on an earlier rank starts from zero and is corrected;
// the final state of each sequence is written by the rank where it ends and summed over ranks
// (MPI_Allreduce, N·H·R·C elements).
template <class T, class RunLocal, class DecayRow, class Correct>
void two_pass_varlen(const mpi_context& ctx, const run_options& opt, index_t TL, index_t H, index_t R, index_t C,
                     std::span<const std::int64_t> cu, const const_view<T, 4>& initial_state,
                     const tensor_view<T, 4>& final_state, RunLocal&& run_local, DecayRow&& decay_row,
                     Correct&& correct, bool may_skip = true) {
  const index_t hs = H * R * C, n = R + R * C;
  const auto lp = local_pieces(ctx, cu);
  const auto& pieces = lp.pieces;
  const auto& lcu = lp.lcu;
  const index_t L = index_t(pieces.size());
  std::vector<T> fin(std::size_t(std::max<index_t>(L, 1) * hs));
  const std::vector<T> init = piece_initial_states<T>(pieces, initial_state, H, R, C);
  if (L > 0)
    run_local(const_view<T, 4>(init.data(), {L, H, R, C}), tensor_view<T, 4>(fin.data(), {L, H, R, C}),
              std::span<const std::int64_t>(lcu));
  const bool first_continues = L > 0 && pieces[0].continues;
  const bool reset = L > 0 && !(L == 1 && first_continues);
  const T ninf = -std::numeric_limits<T>::infinity();
  // afirst: the decay sums of the continuing piece, in the pair layout (it·n)
  std::vector<T> pairs(std::size_t(H * n), T(0)), afirst(std::size_t(H * n), T(0));
  const int threads = resolve_threads(opt);
  for_item_groups(H, threads, [&](index_t h0, index_t h1) {
    std::vector<T> tmp(static_cast<std::size_t>(R));
    if (first_continues)
      for (index_t t = pieces[0].lb; t < pieces[0].le; ++t)
        for (index_t h = h0; h < h1; ++h) add_decay_row(decay_row, 0, t, h, R, tmp.data(), &afirst[h * n]);
    for (index_t h = h0; h < h1; ++h) {
      T* p = pairs.data() + h * n;
      for (index_t r = 0; r < R; ++r) p[r] = reset ? ninf : afirst[h * n + r];
      if (L > 0) std::copy(fin.data() + ((L - 1) * H + h) * R * C, fin.data() + ((L - 1) * H + h + 1) * R * C, p + R);
    }
  });
  std::vector<T> in;
  exscan_states<T>(ctx, H, R, C, pairs, in);
  if (first_continues)
    for_item_groups(H, threads, [&](index_t h0, index_t h1) {
      correct_items<T>(correct, h0, h1, H, R, C, in.data() + R, afirst.data(), fin.data(), pieces[0].lb, pieces[0].le,
                       may_skip);
    });
  gather_final_states<T>(ctx, cu, pieces, fin.data(), H, R, C, initial_state, final_state);
}

// One distributed op: op(args, opt) is the single-process op on this rank's slice; varlen or
// not, pass 1 runs it with the initial/final state (and local cu_seqlens) swapped in.
template <class T, class Args, class Op, class DecayRow, class Correct>
void run_distributed(const char* name, const Args& a, const mpi_context& ctx, const run_options& opt, index_t B,
                     index_t TL, index_t H, index_t R, index_t C, Op op, DecayRow decay_row, Correct correct) {
  check_slice<T>(name, ctx, TL, false);
  if (!a.cu_seqlens.empty()) {
    if (B != 1) throw shape_error(std::string("distributed::") + name + ": cu_seqlens needs B == 1");
    two_pass_varlen<T>(
        ctx, opt, TL, H, R, C, a.cu_seqlens, a.initial_state, a.final_state,
        [&](const_view<T, 4> init, tensor_view<T, 4> fin, std::span<const std::int64_t> lcu) {
          Args la = a;
          la.initial_state = init;
          la.final_state = fin;
          la.cu_seqlens = lcu;
          op(la, opt);
        },
        decay_row, correct);
    return;
  }
  two_pass<T>(
      ctx, opt, B, TL, H, R, C, a.initial_state, a.final_state,
      [&](const_view<T, 4> init, tensor_view<T, 4> fin) {
        Args la = a;
        la.initial_state = init;
        la.final_state = fin;
        op(la, opt);
      },
      decay_row, correct);
}


// gla / simple_gla correction: o[t0:t0+rows] += (scale · q ⊙ e^{cum}) S_in.
template <class T, class DecayRow>
auto qk_correction(const const_view<T, 4>& q, const tensor_view<T, 4>& o, T scale, index_t K, index_t V,
                   DecayRow decay_row) {
  return [=](index_t b, index_t h, const T* sin, T* cum, index_t t0, index_t rows, std::vector<T>& lhs) mutable {
    lhs.resize(static_cast<std::size_t>(rows * K + 2 * K));
    T* tmp = lhs.data() + rows * K;
    T* qt = tmp + K;
    using B = xsimd::batch<T>;
    constexpr index_t L = index_t(B::size);
    for (index_t t = 0; t < rows; ++t) {
      // lhs_t = scale · q_t ⊙ e^{cum_t}, cum_t = cum_{t-1} + g_t (vectorised, one pass)
      const T* d = decay_row(b, t0 + t, h, tmp);
      const T* qr = q.ptr(b, t0 + t, h);
      if (q.stride(3) != 1) {
        for (index_t i = 0; i < K; ++i) qt[i] = q(b, t0 + t, h, i);
        qr = qt;
      }
      T* out = lhs.data() + t * K;
      index_t i = 0;
      for (; i + L <= K; i += L) {
        const B c = B::load_unaligned(cum + i) + B::load_unaligned(d + i);
        c.store_unaligned(cum + i);
        (simd::exp(c) * B(scale) * B::load_unaligned(qr + i)).store_unaligned(out + i);
      }
      for (; i < K; ++i) {
        cum[i] += d[i];
        out[i] = std::exp(cum[i]) * scale * qr[i];
      }
    }
    if (o.stride(3) == 1) {
      // O += lhs · S_in with the chunk engine's register-blocked kernel (S_in stays in L1;
      // Eigen's GEMM at this shape, output rows 4 KiB apart, ran at ~16 GFLOP/s)
      namespace blk = kernels::chunk::blk;
      blk::product<blk::epi::decay, xsimd::default_arch>(rows, V, o.ptr(b, t0, h), o.stride(1),
                                                          static_cast<const T*>(nullptr),
                                                          blk::operand<T>{lhs.data(), K, sin, V}, K);
      return;
    }
    Eigen::Map<const row_major<T>> Lm(lhs.data(), rows, K), S(sin, K, V);
    Eigen::Map<row_major<T>, 0, Eigen::Stride<Eigen::Dynamic, Eigen::Dynamic>> O(
        o.ptr(b, t0, h), rows, V, Eigen::Stride<Eigen::Dynamic, Eigen::Dynamic>(o.stride(1), o.stride(3)));
    O.noalias() += Lm * S;
  };
}

}  // namespace detail

namespace detail {
// gla and simple_gla: q·k readout with scale, decay rows from the op's g (row(b, t, h, tmp)).
template <class T, class Args, class Op, class Row>
void gla_like(const char* name, const Args& a, const mpi_context& ctx, const run_options& opt, Op op, Row row) {
  const index_t K = a.q.extent(3), V = a.v.extent(3);
  const T scale = a.scale ? T(*a.scale) : T(1) / std::sqrt(T(K));
  run_distributed<T>(name, a, ctx, opt, a.q.extent(0), a.q.extent(1), a.q.extent(2), K, V, op, row,
                     qk_correction<T>(a.q, a.o, scale, K, V, row));
}
}  // namespace detail

template <class T>
void gla(const gla_args<T>& a, const mpi_context& ctx, const run_options& opt = {}) {
  const auto g = a.g;
  const index_t K = a.q.extent(3);
  detail::gla_like<T>(
      "gla", a, ctx, opt, [](const gla_args<T>& la, const run_options& o) { seqmix::gla(la, o); },
      [g, K](index_t b, index_t t, index_t h, T* tmp) -> const T* {
        if (g.stride(3) == 1) return g.ptr(b, t, h);
        for (index_t i = 0; i < K; ++i) tmp[i] = g(b, t, h, i);
        return tmp;
      });
}

template <class T>
void simple_gla(const simple_gla_args<T>& a, const mpi_context& ctx, const run_options& opt = {}) {
  const auto g = a.g;
  const index_t K = a.q.extent(3);
  detail::gla_like<T>(
      "simple_gla", a, ctx, opt, [](const simple_gla_args<T>& la, const run_options& o) { seqmix::simple_gla(la, o); },
      [g, K](index_t b, index_t t, index_t h, T* tmp) -> const T* {
        std::fill(tmp, tmp + K, g(b, t, h));
        return tmp;
      });
}

template <class T>
void ssd(const ssd_args<T>& a, const mpi_context& ctx, const run_options& opt = {}) {
  const index_t P = a.x.extent(3), G = a.B.extent(2), N = a.B.extent(3), H = a.x.extent(2);
  const index_t heads_per_group = G > 0 ? H / G : 1;
  auto dt = a.dt;
  auto A = a.A;
  auto Cm = a.C;
  auto o = a.o;
  auto row = [dt, A, P](index_t b, index_t t, index_t h, T* tmp) -> const T* {
    std::fill(tmp, tmp + P, dt(b, t, h) * A(h));
    return tmp;
  };
  // o_t += e^{cum_t} S_in C_t: rows of (e^{cum} ⊙ C) [rows,N] times S_inᵀ [N,P].
  auto corr = [=](index_t b, index_t h, const T* sin, T* cum, index_t t0, index_t rows, std::vector<T>& lhs) {
    const index_t gi = h / heads_per_group;
    lhs.resize(static_cast<std::size_t>(rows * N));
    for (index_t t = 0; t < rows; ++t) {
      cum[0] += dt(b, t0 + t, h) * A(h);
      const T e = std::exp(cum[0]);
      for (index_t j = 0; j < N; ++j) lhs[t * N + j] = e * Cm(b, t0 + t, gi, j);
    }
    for (index_t r = 1; r < P; ++r) cum[r] = cum[0];
    Eigen::Map<const detail::row_major<T>> L(lhs.data(), rows, N), S(sin, P, N);
    detail::strided_map<T> O(o.ptr(b, t0, h), rows, P, Eigen::OuterStride<>(o.stride(1)));
    O.noalias() += L * S.transpose();
  };
  detail::run_distributed<T>("ssd", a, ctx, opt, a.x.extent(0), a.x.extent(1), H, P, N,
                             [](const ssd_args<T>& la, const run_options& o) { seqmix::ssd(la, o); }, row, corr);
}

}  // namespace seqmix::distributed
