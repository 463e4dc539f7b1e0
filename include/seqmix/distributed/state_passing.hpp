#pragma once
// The exclusive scan over ranks that gives every rank its true initial state, for linear
// recurrences whose transition over a slice is diagonal per row of the state:
//   S_out = Diag(e^{a}) S_in + S_local      (a: the slice's summed log decay per row)
// A slice is summarised by the pair (a [R], S_local [R,C]); pairs compose left-to-right as
//   (a1, S1) ∘ (a2, S2) = (a1 + a2, Diag(e^{a2}) S1 + S2),
// which is associative (not commutative), so MPI_Exscan with a non-commutative user op
// combines them in rank order (log-depth inside the MPI library). Communication per rank:
// O(items · R · (C + 1)) elements, independent of T.
#include <cmath>
#include <cstdint>
#include <algorithm>
#include <cstring>
#include <span>
#include <string>
#include <ctime>
#include <vector>

#include "seqmix/core/options.hpp"
#include "seqmix/distributed/mpi_context.hpp"

namespace seqmix::distributed {

// Wall time of the phases of the last distributed two-pass call on this thread (gla,
// simple_gla, ssd), for benchmarks: compute = pass 1 (the local op and the slice's decay
// sums), communication = the exscan and the final-state broadcast (includes waiting for
// the earlier ranks' pass 1 and the last rank's pass 2), correction = pass 2.
// cpu_*: the same phases in CPU time of the calling thread (threads = 1), which is what
// the phase costs when the rank does not get a whole core.
struct phase_times {
  double compute = 0, correction = 0, communication = 0;
  double cpu_compute = 0, cpu_correction = 0, cpu_communication = 0;
};
inline phase_times& last_phase_times() {
  static thread_local phase_times t;
  return t;
}

}  // namespace seqmix::distributed

namespace seqmix::distributed::detail {

// Accumulates the phases of one call into last_phase_times() (reset on construction).
struct phase_clock {
  phase_times& times = last_phase_times();
  double t0 = MPI_Wtime(), c0 = thread_cpu();
  phase_clock() { times = {}; }
  static double thread_cpu() {
    timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
  }
  void lap(double phase_times::*wall, double phase_times::*cpu) {
    const double t = MPI_Wtime(), c = thread_cpu();
    times.*wall += t - t0;
    times.*cpu += c - c0;
    t0 = t;
    c0 = c;
  }
  void compute() { lap(&phase_times::compute, &phase_times::cpu_compute); }
  void correction() { lap(&phase_times::correction, &phase_times::cpu_correction); }
  void communication() { lap(&phase_times::communication, &phase_times::cpu_communication); }
};

// Geometry of the pair being combined (MPI user ops get no context pointer). Set by
// exscan_states just before the collective; the collective is blocking, so one call at a
// time per thread.
struct pair_geometry {
  index_t rows = 0, cols = 0;
};
inline thread_local pair_geometry g_pair;

template <class T>
void combine_pairs(void* in, void* inout, int* len, MPI_Datatype*) {
  const index_t R = g_pair.rows, C = g_pair.cols, n = R + R * C;
  const T* x = static_cast<const T*>(in);      // earlier ranks (left)
  T* y = static_cast<T*>(inout);               // later ranks (right); result goes here
  for (int it = 0; it < *len; ++it, x += n, y += n) {
    for (index_t r = 0; r < R; ++r) {
      const T d = std::exp(y[r]);  // e^{a2} <= 1 (log decays are <= 0)
      const T* s1 = x + R + r * C;
      T* s2 = y + R + r * C;
      for (index_t c = 0; c < C; ++c) s2[c] += d * s1[c];
      y[r] += x[r];
    }
  }
}

// pairs: `items` packed pairs [a (R) | S (R·C)] of this rank's slice. On return `incoming`
// (same layout) holds the composition of all earlier ranks' pairs (rank 0: zeros = the
// identity). Only the S part of `incoming` is meaningful to callers.
template <class T>
void exscan_states(const mpi_context& ctx, index_t items, index_t R, index_t C, const std::vector<T>& pairs,
                   std::vector<T>& incoming) {
  const index_t n = R + R * C;
  incoming.assign(static_cast<std::size_t>(items * n), T(0));
  if (ctx.size == 1 || items == 0) return;
  MPI_Datatype pair_type;
  MPI_Type_contiguous(static_cast<int>(n), mpi_type<T>(), &pair_type);
  MPI_Type_commit(&pair_type);
  MPI_Op op;
  MPI_Op_create(&combine_pairs<T>, /*commute=*/0, &op);
  g_pair = {R, C};
  MPI_Exscan(pairs.data(), incoming.data(), static_cast<int>(items), pair_type, op, ctx.comm);
  if (ctx.rank == 0) std::fill(incoming.begin(), incoming.end(), T(0));  // Exscan leaves it undefined
  MPI_Op_free(&op);
  MPI_Type_free(&pair_type);
}

// The global final state: the last rank's (corrected) final state, sent to every rank.
template <class T>
void broadcast_from_last(const mpi_context& ctx, T* data, index_t count) {
  if (ctx.size == 1 || count == 0) return;
  MPI_Bcast(data, static_cast<int>(count), mpi_type<T>(), ctx.size - 1, ctx.comm);
}

// Varlen across ranks (B == 1, cu = the GLOBAL offsets [N+1]): the pieces of the sequences
// on this rank's slice, in order, and their local offsets (cu_seqlens for the local op).
struct piece {
  index_t seq, lb, le;  // sequence, local rows [lb, le)
  bool continues;       // began on an earlier rank
};
struct local_pieces_t {
  std::vector<piece> pieces;
  std::vector<std::int64_t> lcu;
};
inline local_pieces_t local_pieces(const mpi_context& ctx, std::span<const std::int64_t> cu) {
  const index_t N = index_t(cu.size()) - 1;
  if (N < 0 || cu.front() != 0 || cu.back() != ctx.total)
    throw shape_error("distributed: cu_seqlens must run from 0 to the total length " + std::to_string(ctx.total));
  local_pieces_t r;
  r.lcu.push_back(0);
  for (index_t s = 0; s < N; ++s) {
    if (cu[s] > cu[s + 1]) throw shape_error("distributed: cu_seqlens must not decrease");
    const index_t b = std::max<index_t>(cu[s], ctx.begin), e = std::min<index_t>(cu[s + 1], ctx.end);
    if (e <= b) continue;
    r.pieces.push_back({s, b - ctx.begin, e - ctx.begin, cu[s] < ctx.begin});
    r.lcu.push_back(e - ctx.begin);
  }
  return r;
}

// The initial states of the local pieces [max(L,1),H,R,C]: the sequence's initial state for
// pieces that start here, zero for a piece that continues from an earlier rank.
template <class T>
std::vector<T> piece_initial_states(const std::vector<piece>& pieces, const const_view<T, 4>& initial_state, index_t H,
                                    index_t R, index_t C) {
  const index_t L = index_t(pieces.size());
  std::vector<T> init(std::size_t(std::max<index_t>(L, 1) * H * R * C), T(0));
  for (index_t i = 0; i < L; ++i)
    if (!pieces[i].continues && !initial_state.empty())
      for (index_t h = 0; h < H; ++h)
        for (index_t r = 0; r < R; ++r)
          for (index_t c = 0; c < C; ++c) init[((i * H + h) * R + r) * C + c] = initial_state(pieces[i].seq, h, r, c);
  return init;
}

// The final state of every sequence [N,H,R,C], on every rank: written by the rank where the
// sequence ends (fin: the pieces' corrected final states, [L,H,R,C]), empty sequences keep
// their initial state, summed over ranks (MPI_Allreduce, N·H·R·C elements).
template <class T>
void gather_final_states(const mpi_context& ctx, std::span<const std::int64_t> cu, const std::vector<piece>& pieces,
                         const T* fin, index_t H, index_t R, index_t C, const const_view<T, 4>& initial_state,
                         const tensor_view<T, 4>& final_state) {
  if (final_state.empty()) return;
  const index_t N = index_t(cu.size()) - 1, hs = H * R * C;
  std::vector<T> all(std::size_t(std::max<index_t>(N, 1) * hs), T(0));
  for (std::size_t i = 0; i < pieces.size(); ++i)
    if (cu[pieces[i].seq + 1] <= ctx.end)  // the sequence ends on this rank
      std::copy(fin + index_t(i) * hs, fin + index_t(i + 1) * hs, all.data() + pieces[i].seq * hs);
  if (ctx.rank == 0)
    for (index_t s = 0; s < N; ++s)
      if (cu[s] == cu[s + 1] && !initial_state.empty())
        for (index_t h = 0; h < H; ++h)
          for (index_t r = 0; r < R; ++r)
            for (index_t c = 0; c < C; ++c) all[((s * H + h) * R + r) * C + c] = initial_state(s, h, r, c);
  if (ctx.size > 1 && N > 0) MPI_Allreduce(MPI_IN_PLACE, all.data(), int(N * hs), mpi_type<T>(), MPI_SUM, ctx.comm);
  for (index_t s = 0; s < N; ++s)
    for (index_t h = 0; h < H; ++h)
      for (index_t r = 0; r < R; ++r)
        for (index_t c = 0; c < C; ++c) final_state(s, h, r, c) = all[((s * H + h) * R + r) * C + c];
}

template <class T>
void check_slice(const char* op, const mpi_context& ctx, index_t local_T, bool varlen) {
  if (varlen)
    throw option_error(std::string("distributed::") + op + ": cu_seqlens (varlen) is not supported yet");
  if (local_T != ctx.length())
    throw shape_error(std::string("distributed::") + op + ": the local slice has T = " + std::to_string(local_T) +
                      " but the context's slice [" + std::to_string(ctx.begin) + ", " + std::to_string(ctx.end) +
                      ") has " + std::to_string(ctx.length()));
}

}  // namespace seqmix::distributed::detail
