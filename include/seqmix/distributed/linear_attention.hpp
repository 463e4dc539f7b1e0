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
#include <vector>

#include "seqmix/distributed/state_passing.hpp"
#include "seqmix/ops/gla.hpp"
#include "seqmix/ops/simple_gla.hpp"
#include "seqmix/ops/ssd.hpp"

namespace seqmix::distributed {
namespace detail {

template <class T>
using row_major = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T>
using strided_map = Eigen::Map<row_major<T>, 0, Eigen::OuterStride<>>;

inline constexpr index_t correction_rows = 256;  // time rows per correction GEMM (stays in L2)

// The whole two-pass scheme for a state of R×C per item (items = B·H, item = b·H + h).
//   run_local(init [B,H,R,C] view or empty, final [B,H,R,C] view): pass 1 of the op.
//   logdecay(b, t, h, r): the log decay of row r at local time t.
//   correct(b, h, S_in (R×C row-major), cum (R), t0, rows, lhs scratch): adds the correction
//     to rows [t0, t0+rows) of o; cum holds the cumulative log decay before t0 on entry and
//     must be advanced over the rows.
template <class T, class RunLocal, class LogDecay, class Correct>
void two_pass(const mpi_context& ctx, const run_options& opt, index_t B, index_t TL, index_t H, index_t R, index_t C,
              const const_view<T, 4>& initial_state, const tensor_view<T, 4>& final_state, RunLocal&& run_local,
              LogDecay&& logdecay, Correct&& correct) {
  const index_t n = R + R * C, items = B * H;
  std::vector<T> fin(static_cast<std::size_t>(items * R * C));
  run_local(ctx.rank == 0 ? initial_state : const_view<T, 4>{}, tensor_view<T, 4>(fin.data(), {B, H, R, C}));
  std::vector<T> pairs(static_cast<std::size_t>(items * n), T(0));
  const int threads = resolve_threads(opt);
  parallel_for(items, threads, [&](index_t it) {
    const index_t b = it / H, h = it % H;
    T* p = pairs.data() + it * n;
    for (index_t t = 0; t < TL; ++t)
      for (index_t r = 0; r < R; ++r) p[r] += logdecay(b, t, h, r);
    std::copy(fin.data() + it * R * C, fin.data() + (it + 1) * R * C, p + R);
  });
  std::vector<T> in;
  exscan_states<T>(ctx, items, R, C, pairs, in);
  if (ctx.rank > 0) {
    parallel_for(items, threads, [&](index_t it) {
      const index_t b = it / H, h = it % H;
      const T* sin = in.data() + it * n + R;
      std::vector<T> cum(static_cast<std::size_t>(R), T(0)), scratch;
      for (index_t t0 = 0; t0 < TL; t0 += correction_rows)
        correct(b, h, sin, cum.data(), t0, std::min(correction_rows, TL - t0), scratch);
      const T* a = pairs.data() + it * n;
      T* f = fin.data() + it * R * C;
      for (index_t r = 0; r < R; ++r) {
        const T d = std::exp(a[r]);
        for (index_t c = 0; c < C; ++c) f[r * C + c] += d * sin[r * C + c];
      }
    });
  }
  if (!final_state.empty()) {
    broadcast_from_last(ctx, fin.data(), items * R * C);
    for (index_t b = 0; b < B; ++b)
      for (index_t h = 0; h < H; ++h)
        for (index_t r = 0; r < R; ++r)
          for (index_t c = 0; c < C; ++c) final_state(b, h, r, c) = fin[((b * H + h) * R + r) * C + c];
  }
}

// Varlen (B == 1, cu_seqlens = the GLOBAL offsets [N+1]; sequences may cross rank
// boundaries). A slice that contains a sequence start passes on a = -inf (the state of the
// open sequence does not depend on what came before), so the same exscan works. The first
// local piece of a sequence that began on an earlier rank starts from zero and is corrected;
// the final state of each sequence is written by the rank where it ends and summed over ranks
// (MPI_Allreduce, N·H·R·C elements).
template <class T, class RunLocal, class LogDecay, class Correct>
void two_pass_varlen(const mpi_context& ctx, const run_options& opt, index_t TL, index_t H, index_t R, index_t C,
                     std::span<const std::int64_t> cu, const const_view<T, 4>& initial_state,
                     const tensor_view<T, 4>& final_state, RunLocal&& run_local, LogDecay&& logdecay,
                     Correct&& correct) {
  const index_t N = index_t(cu.size()) - 1, hs = H * R * C, n = R + R * C;
  if (N < 0 || cu.front() != 0 || cu.back() != ctx.total)
    throw shape_error("distributed: cu_seqlens must run from 0 to the total length " + std::to_string(ctx.total));
  struct piece {
    index_t seq, lb, le;  // local rows [lb, le)
    bool continues;       // began on an earlier rank
  };
  std::vector<piece> pieces;
  std::vector<std::int64_t> lcu{0};
  for (index_t s = 0; s < N; ++s) {
    const index_t b = std::max<index_t>(cu[s], ctx.begin), e = std::min<index_t>(cu[s + 1], ctx.end);
    if (cu[s] > cu[s + 1]) throw shape_error("distributed: cu_seqlens must not decrease");
    if (e <= b) continue;
    pieces.push_back({s, b - ctx.begin, e - ctx.begin, cu[s] < ctx.begin});
    lcu.push_back(e - ctx.begin);
  }
  const index_t L = index_t(pieces.size());
  std::vector<T> init(std::size_t(std::max<index_t>(L, 1) * hs), T(0)), fin(std::size_t(std::max<index_t>(L, 1) * hs));
  for (index_t i = 0; i < L; ++i)
    if (!pieces[i].continues && !initial_state.empty())
      for (index_t h = 0; h < H; ++h)
        for (index_t r = 0; r < R; ++r)
          for (index_t c = 0; c < C; ++c) init[((i * H + h) * R + r) * C + c] = initial_state(pieces[i].seq, h, r, c);
  if (L > 0)
    run_local(const_view<T, 4>(init.data(), {L, H, R, C}), tensor_view<T, 4>(fin.data(), {L, H, R, C}),
              std::span<const std::int64_t>(lcu));
  const bool first_continues = L > 0 && pieces[0].continues;
  const bool reset = L > 0 && !(L == 1 && first_continues);
  const T ninf = -std::numeric_limits<T>::infinity();
  std::vector<T> pairs(std::size_t(H * n), T(0)), afirst(std::size_t(H * R), T(0));
  const int threads = resolve_threads(opt);
  parallel_for(H, threads, [&](index_t h) {
    T* p = pairs.data() + h * n;
    if (first_continues)
      for (index_t t = pieces[0].lb; t < pieces[0].le; ++t)
        for (index_t r = 0; r < R; ++r) afirst[h * R + r] += logdecay(0, t, h, r);
    for (index_t r = 0; r < R; ++r) p[r] = reset ? ninf : afirst[h * R + r];
    if (L > 0) std::copy(fin.data() + ((L - 1) * H + h) * R * C, fin.data() + ((L - 1) * H + h + 1) * R * C, p + R);
  });
  std::vector<T> in;
  exscan_states<T>(ctx, H, R, C, pairs, in);
  if (first_continues) {
    parallel_for(H, threads, [&](index_t h) {
      const T* sin = in.data() + h * n + R;
      std::vector<T> cum(std::size_t(R), T(0)), scratch;
      for (index_t t0 = pieces[0].lb; t0 < pieces[0].le; t0 += correction_rows)
        correct(0, h, sin, cum.data(), t0, std::min(correction_rows, pieces[0].le - t0), scratch);
      T* f = fin.data() + h * R * C;
      for (index_t r = 0; r < R; ++r) {
        const T d = std::exp(afirst[h * R + r]);
        for (index_t c = 0; c < C; ++c) f[r * C + c] += d * sin[r * C + c];
      }
    });
  }
  if (!final_state.empty()) {
    std::vector<T> all(std::size_t(std::max<index_t>(N, 1) * hs), T(0));
    for (index_t i = 0; i < L; ++i)
      if (cu[pieces[i].seq + 1] <= ctx.end)  // the sequence ends on this rank
        std::copy(fin.data() + i * hs, fin.data() + (i + 1) * hs, all.data() + pieces[i].seq * hs);
    if (ctx.rank == 0)  // empty sequences keep their initial state
      for (index_t s = 0; s < N; ++s)
        if (cu[s] == cu[s + 1] && !initial_state.empty())
          for (index_t h = 0; h < H; ++h)
            for (index_t r = 0; r < R; ++r)
              for (index_t c = 0; c < C; ++c) all[((s * H + h) * R + r) * C + c] = initial_state(s, h, r, c);
    if (ctx.size > 1 && N > 0)
      MPI_Allreduce(MPI_IN_PLACE, all.data(), int(N * hs), mpi_type<T>(), MPI_SUM, ctx.comm);
    for (index_t s = 0; s < N; ++s)
      for (index_t h = 0; h < H; ++h)
        for (index_t r = 0; r < R; ++r)
          for (index_t c = 0; c < C; ++c) final_state(s, h, r, c) = all[((s * H + h) * R + r) * C + c];
  }
}

// gla / simple_gla correction: o[t0:t0+rows] += (scale · q ⊙ e^{cum}) S_in.
template <class T, class LogDecay>
auto qk_correction(const const_view<T, 4>& q, const tensor_view<T, 4>& o, T scale, index_t K, index_t V,
                   LogDecay logdecay) {
  return [=](index_t b, index_t h, const T* sin, T* cum, index_t t0, index_t rows, std::vector<T>& lhs) {
    lhs.resize(static_cast<std::size_t>(rows * K));
    using arr = Eigen::Array<T, 1, Eigen::Dynamic>;
    Eigen::Map<arr> c(cum, K);
    for (index_t t = 0; t < rows; ++t) {
      for (index_t i = 0; i < K; ++i) c[i] += logdecay(b, t0 + t, h, i);
      Eigen::Map<arr>(lhs.data() + t * K, K) = c.exp() * scale;  // vectorised exp
      for (index_t i = 0; i < K; ++i) lhs[t * K + i] *= q(b, t0 + t, h, i);
    }
    Eigen::Map<const row_major<T>> L(lhs.data(), rows, K), S(sin, K, V);
    strided_map<T> O(o.ptr(b, t0, h), rows, V, Eigen::OuterStride<>(o.stride(1)));
    O.noalias() += L * S;
  };
}

}  // namespace detail

template <class T>
void gla(const gla_args<T>& a, const mpi_context& ctx, const run_options& opt = {}) {
  detail::check_slice<T>("gla", ctx, a.q.extent(1), false);
  const index_t B = a.q.extent(0), TL = a.q.extent(1), H = a.q.extent(2), K = a.q.extent(3), V = a.v.extent(3);
  const T scale = a.scale ? T(*a.scale) : T(1) / std::sqrt(T(K));
  auto g = a.g;
  auto logdecay = [g](index_t b, index_t t, index_t h, index_t i) { return g(b, t, h, i); };
  if (!a.cu_seqlens.empty()) {
    if (B != 1) throw shape_error("distributed::gla: cu_seqlens needs B == 1");
    detail::two_pass_varlen<T>(
        ctx, opt, TL, H, K, V, a.cu_seqlens, a.initial_state, a.final_state,
        [&](const_view<T, 4> init, tensor_view<T, 4> fin, std::span<const std::int64_t> lcu) {
          gla_args<T> la = a;
          la.initial_state = init;
          la.final_state = fin;
          la.cu_seqlens = lcu;
          seqmix::gla(la, opt);
        },
        logdecay, detail::qk_correction<T>(a.q, a.o, scale, K, V, logdecay));
    return;
  }
  detail::two_pass<T>(
      ctx, opt, B, TL, H, K, V, a.initial_state, a.final_state,
      [&](const_view<T, 4> init, tensor_view<T, 4> fin) {
        gla_args<T> la = a;
        la.initial_state = init;
        la.final_state = fin;
        seqmix::gla(la, opt);
      },
      logdecay, detail::qk_correction<T>(a.q, a.o, scale, K, V, logdecay));
}

template <class T>
void simple_gla(const simple_gla_args<T>& a, const mpi_context& ctx, const run_options& opt = {}) {
  detail::check_slice<T>("simple_gla", ctx, a.q.extent(1), false);
  const index_t B = a.q.extent(0), TL = a.q.extent(1), H = a.q.extent(2), K = a.q.extent(3), V = a.v.extent(3);
  const T scale = a.scale ? T(*a.scale) : T(1) / std::sqrt(T(K));
  auto g = a.g;
  auto logdecay = [g](index_t b, index_t t, index_t h, index_t) { return g(b, t, h); };
  if (!a.cu_seqlens.empty()) {
    if (B != 1) throw shape_error("distributed::simple_gla: cu_seqlens needs B == 1");
    detail::two_pass_varlen<T>(
        ctx, opt, TL, H, K, V, a.cu_seqlens, a.initial_state, a.final_state,
        [&](const_view<T, 4> init, tensor_view<T, 4> fin, std::span<const std::int64_t> lcu) {
          simple_gla_args<T> la = a;
          la.initial_state = init;
          la.final_state = fin;
          la.cu_seqlens = lcu;
          seqmix::simple_gla(la, opt);
        },
        logdecay, detail::qk_correction<T>(a.q, a.o, scale, K, V, logdecay));
    return;
  }
  detail::two_pass<T>(
      ctx, opt, B, TL, H, K, V, a.initial_state, a.final_state,
      [&](const_view<T, 4> init, tensor_view<T, 4> fin) {
        simple_gla_args<T> la = a;
        la.initial_state = init;
        la.final_state = fin;
        seqmix::simple_gla(la, opt);
      },
      logdecay, detail::qk_correction<T>(a.q, a.o, scale, K, V, logdecay));
}

template <class T>
void ssd(const ssd_args<T>& a, const mpi_context& ctx, const run_options& opt = {}) {
  detail::check_slice<T>("ssd", ctx, a.x.extent(1), false);
  const index_t B = a.x.extent(0), TL = a.x.extent(1), H = a.x.extent(2), P = a.x.extent(3);
  const index_t G = a.B.extent(2), N = a.B.extent(3), heads_per_group = G > 0 ? H / G : 1;
  auto dt = a.dt;
  auto A = a.A;
  auto Cm = a.C;
  auto o = a.o;
  auto logdecay = [dt, A](index_t b, index_t t, index_t h, index_t) { return dt(b, t, h) * A(h); };
  auto corr = [=](index_t b, index_t h, const T* sin, T* cum, index_t t0, index_t rows, std::vector<T>& lhs) {
        // o_t += e^{cum_t} S_in C_t: rows of (e^{cum} ⊙ C) [rows,N] times S_inᵀ [N,P].
        const index_t gi = h / heads_per_group;
        lhs.resize(static_cast<std::size_t>(rows * N));
        for (index_t t = 0; t < rows; ++t) {
          cum[0] += logdecay(b, t0 + t, h, 0);
          const T e = std::exp(cum[0]);
          for (index_t j = 0; j < N; ++j) lhs[t * N + j] = e * Cm(b, t0 + t, gi, j);
        }
        for (index_t r = 1; r < P; ++r) cum[r] = cum[0];
        Eigen::Map<const detail::row_major<T>> L(lhs.data(), rows, N), S(sin, P, N);
        detail::strided_map<T> O(o.ptr(b, t0, h), rows, P, Eigen::OuterStride<>(o.stride(1)));
        O.noalias() += L * S.transpose();
      };
  if (!a.cu_seqlens.empty()) {
    if (B != 1) throw shape_error("distributed::ssd: cu_seqlens needs B == 1");
    detail::two_pass_varlen<T>(
        ctx, opt, TL, H, P, N, a.cu_seqlens, a.initial_state, a.final_state,
        [&](const_view<T, 4> init, tensor_view<T, 4> fin, std::span<const std::int64_t> lcu) {
          ssd_args<T> la = a;
          la.initial_state = init;
          la.final_state = fin;
          la.cu_seqlens = lcu;
          seqmix::ssd(la, opt);
        },
        logdecay, corr);
    return;
  }
  detail::two_pass<T>(
      ctx, opt, B, TL, H, P, N, a.initial_state, a.final_state,
      [&](const_view<T, 4> init, tensor_view<T, 4> fin) {
        ssd_args<T> la = a;
        la.initial_state = init;
        la.final_state = fin;
        seqmix::ssd(la, opt);
      },
      logdecay, corr);
}

}  // namespace seqmix::distributed
