#pragma once
// Ring attention: softmax attention (causal or not) over a sequence whose tokens are spread
// over the ranks of a communicator. Each rank keeps its queries; the K/V blocks travel around
// the ring (rank r sends to r+1 and receives from r-1, P-1 steps, non-blocking: the next
// block is in flight while the current one is computed) and every rank folds each block into
// a running (max m, denominator l, unnormalised output O) per query with the online-softmax
// rule:  m' = max(m, max_s x_s),  l' = e^{m-m'} l + Σ e^{x_s-m'},  O' = e^{m-m'} O + Σ e^{x_s-m'} v_s.
// Which global positions a rank holds is a ring_layout: contiguous slices (mpi_context's
// offsets), or zig-zag (2P chunks, rank r holds chunks r and 2P-1-r) so that every rank does
// the same causal work. The local tensors' time axis is the concatenation of the rank's
// segments. Blocks that causality hides entirely are skipped (they are still forwarded).
// Communication per rank: (P-1) · T/P · H · (K+V) elements, overlapped with compute.
// Block partials run on the single-process flash tile kernel through its partial-state
// entry (flash_tile_kernel::fold: running max and denominator carried between blocks).
// ring_direction::both_ways (TokenRing-style) sends every block both ways round the ring:
// ceil((P-1)/2) steps instead of P-1, using both links of each rank.
// Varlen: cu_seqlens = the GLOBAL offsets (B == 1); sequences may cross ranks (and zig-zag
// chunks); a query sees only keys of its own sequence. Not supported: sliding window, ALiBi,
// FoX gate, cu_seqlens_k, S != T (option_error).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <span>
#include <utility>
#include <vector>

#include "seqmix/core/options.hpp"
#include "seqmix/core/threading.hpp"
#include "seqmix/distributed/mpi_context.hpp"
#include "seqmix/ops/args/attention.hpp"
#include "seqmix/core/workspace.hpp"
#include "seqmix/kernels/attention/flash.hpp"

namespace seqmix::distributed {

struct segment {
  index_t begin = 0, length = 0;  // global positions [begin, begin + length)
};

// Which global positions each rank holds, in local order.
struct ring_layout {
  std::vector<std::vector<segment>> ranks;

  index_t local_length(int r) const {
    index_t n = 0;
    for (const auto& s : ranks[std::size_t(r)]) n += s.length;
    return n;
  }
  index_t max_local_length() const {
    index_t n = 0;
    for (int r = 0; r < int(ranks.size()); ++r) n = std::max(n, local_length(r));
    return n;
  }
};

// Contiguous slices from offsets (size + 1 entries), e.g. even_offsets / weighted_offsets.
inline ring_layout contiguous_layout(const std::vector<index_t>& off) {
  ring_layout l;
  for (std::size_t r = 0; r + 1 < off.size(); ++r) l.ranks.push_back({segment{off[r], off[r + 1] - off[r]}});
  return l;
}
inline ring_layout contiguous_layout(const mpi_context& ctx) {
  std::vector<index_t> be(std::size_t(2 * ctx.size));
  index_t mine[2] = {ctx.begin, ctx.end};
  MPI_Allgather(mine, 2, MPI_INT64_T, be.data(), 2, MPI_INT64_T, ctx.comm);
  ring_layout l;
  for (int r = 0; r < ctx.size; ++r) l.ranks.push_back({segment{be[2 * r], be[2 * r + 1] - be[2 * r]}});
  return l;
}

// Zig-zag: `total` split in 2·parts near-even chunks; rank r holds chunks r and 2·parts-1-r,
// so every rank has one early and one late chunk (equal causal work).
inline ring_layout zigzag_layout(index_t total, int parts) {
  const auto off = even_offsets(total, 2 * parts);
  ring_layout l;
  for (int r = 0; r < parts; ++r) {
    const int a = r, b = 2 * parts - 1 - r;
    l.ranks.push_back({segment{off[a], off[a + 1] - off[a]}, segment{off[b], off[b + 1] - off[b]}});
  }
  return l;
}

namespace detail {

// Folds the keys of one segment `ks` of a K/V block (rows `ld` apart, k and v interleaved as
// the ring sends them) into the partial softmax state of one query segment `qs`, for one
// (batch, query head). Segments of different ranks are disjoint, so each pair is either the
// same positions (causal: the diagonal problem), keys all before the queries (all visible),
// or keys all after them (none visible when causal). Varlen splits the pair per sequence.
// The tiles run on the single-process flash kernel (packed K/V, register-blocked products,
// exp2) through its partial-state entry. Uses thread workspace slot 1 (and the kernel's 0).
template <class T>
void fold_segment(const T* q, index_t ldq, const segment& qs, const T* k, const T* v, index_t ld, const segment& ks,
                  index_t K, index_t V, double scale, bool causal,
                  const typename kernels::attention::flash_tile_kernel<xsimd::default_arch, T>::partial& acc,
                  std::span<const std::int64_t> cu) {
  using Arch = xsimd::default_arch;
  using sh = kernels::attention::flash_shape<Arch, T>;
  using kernel = kernels::attention::flash_tile_kernel<Arch, T>;
  if (qs.length <= 0 || ks.length <= 0) return;
  const bool same = ks.begin == qs.begin;
  if (causal && !same && ks.begin > qs.begin) return;  // keys in the future of every query
  auto sub = [&](index_t qa, index_t qb, index_t ka, index_t kb) {  // local rows of qs and ks
    const index_t nq = qb - qa, nk = kb - ka;
    if (nq <= 0 || nk <= 0) return;
    T* kp = thread_workspace(1).template get<T>(std::size_t(sh::packed_k(nk, K) + sh::packed_v(nk, V)));
    T* vp = kp + sh::packed_k(nk, K);
    kernels::attention::flash_pack<Arch, T>(k + ka * ld, ld, v + ka * ld, ld, nk, K, V, kp, vp);
    kernels::attention::head_problem<T> h;
    h.q = q + qa * ldq;
    h.ldq = ldq;
    h.o = acc.o + qa * acc.ldo;  // prefetched by the kernel, written through `acc`
    h.ldo = acc.ldo;
    h.queries = nq;
    h.K = K;
    h.V = V;
    h.vis = {same && causal, 0, nk};  // diagonal: queries == keys, offset 0
    h.scale = scale;
    for (index_t t0 = 0; t0 < nq; t0 += sh::BQ) {
      const index_t r = qa + t0;
      kernel::fold(h, kp, vp, t0, std::min(sh::BQ, nq - t0),
                   {acc.m + r, acc.l + r, acc.o + r * acc.ldo, acc.ldo});
    }
  };
  if (cu.empty()) return sub(0, qs.length, 0, ks.length);
  // sequences [cu[s], cu[s+1]) meeting the query segment
  const index_t q_end = qs.begin + qs.length, k_end = ks.begin + ks.length;
  auto s = std::size_t(std::upper_bound(cu.begin(), cu.end(), std::int64_t(qs.begin)) - cu.begin());
  for (; s < cu.size() && index_t(cu[s - 1]) < q_end; ++s) {
    const index_t lo = index_t(cu[s - 1]), hi = index_t(cu[s]);
    sub(std::max(lo, qs.begin) - qs.begin, std::min(hi, q_end) - qs.begin, std::max(lo, ks.begin) - ks.begin,
        std::min(hi, k_end) - ks.begin);
  }
}

}  // namespace detail

// a: this rank's tokens (time axis = the concatenation of layout.ranks[rank]'s segments);
// q [B,TL,HQ,K], k/v [B,TL,H,*], o [B,TL,HQ,V]. Collective over comm.
enum class ring_direction { one_way, both_ways };

template <class T>
void ring_attention(const attention_args<T>& a, MPI_Comm comm, const ring_layout& layout, const run_options& opt = {},
                    ring_direction dir = ring_direction::one_way) {
  int rank = 0, P = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &P);
  if (int(layout.ranks.size()) != P)
    throw option_error("distributed::ring_attention: the layout has " + std::to_string(layout.ranks.size()) +
                       " ranks, the communicator " + std::to_string(P));
  if (a.window != 0 || !a.alibi_slopes.empty() || !a.g.empty() || !a.cu_seqlens_k.empty())
    throw option_error("distributed::ring_attention: window, alibi_slopes, g and cu_seqlens_k are not supported");
  if (!a.cu_seqlens.empty() && a.q.extent(0) != 1)
    throw shape_error("distributed::ring_attention: cu_seqlens (the GLOBAL offsets) needs B == 1");
  const std::span<const std::int64_t> cu = a.cu_seqlens;
  const index_t B = a.q.extent(0), TL = a.q.extent(1), HQ = a.q.extent(2), K = a.q.extent(3);
  const index_t H = a.k.extent(2), V = a.v.extent(3);
  if (TL != layout.local_length(rank) || a.k.extent(1) != TL || a.v.extent(1) != TL || a.o.extent(1) != TL ||
      a.k.extent(3) != K || a.o.extent(3) != V || a.o.extent(2) != HQ || H <= 0 || HQ % H != 0)
    throw shape_error("distributed::ring_attention: q " + std::to_string(TL) + " local positions, k/v/o must match (layout says " +
                      std::to_string(layout.local_length(rank)) + ") and HQ % H == 0");
  const double scale = a.scale ? double(*a.scale) : 1.0 / std::sqrt(double(K));
  const index_t group = HQ / H, Lmax = layout.max_local_length();
  const index_t per_pos = H * (K + V), block_elems = B * Lmax * per_pos;
  // K/V buffers [B, Lmax, H, K+V]: per direction the block being computed and the one in
  // flight (buf[0] starts with this rank's own block; buf[2], buf[3] only for both_ways)
  // (buffers and the partial state live in the calling thread's workspace slots 2 and 3:
  // no allocation or page faults on repeated calls)
  const int nbuf = dir == ring_direction::both_ways ? 4 : P == 1 ? 1 : 2;
  const index_t buf_stride = (std::max<index_t>(block_elems, 1) + 15) / 16 * 16;  // 64-byte multiple
  T* const buf_base = thread_workspace(2).template get<T>(std::size_t(nbuf * buf_stride));
  auto buf = [&](int i) { return buf_base + i * buf_stride; };
  for (index_t b = 0; b < B; ++b)
    for (index_t t = 0; t < TL; ++t)
      for (index_t h = 0; h < H; ++h) {
        T* dst = buf(0) + ((b * Lmax + t) * H + h) * (K + V);
        std::memcpy(dst, a.k.ptr(b, t, h), sizeof(T) * std::size_t(K));
        std::memcpy(dst + K, a.v.ptr(b, t, h), sizeof(T) * std::size_t(V));
      }
  const index_t items = B * HQ;
  T* const m = thread_workspace(3).template get<T>(std::size_t(items * TL * (V + 2)));
  T* const l = m + items * TL;
  T* const O = l + items * TL;
  std::fill(m, l, std::numeric_limits<T>::lowest());
  std::fill(l, O + items * TL * V, T(0));
  const int threads = resolve_threads(opt);
  const auto& qsegs = layout.ranks[std::size_t(rank)];
  const int next = (rank + 1) % P, prev = (rank + P - 1) % P;
  // fold the K/V blocks (source rank, buffer) into the running state of every query
  auto fold = [&](const std::vector<std::pair<int, const T*>>& blocks) {
    std::vector<std::pair<int, const T*>> live;
    for (const auto& [src, cur] : blocks) {
      bool any = false;  // causal: skip blocks entirely in the future of every local query
      for (const auto& qs : qsegs)
        for (const auto& ks : layout.ranks[std::size_t(src)])
          if (qs.length > 0 && ks.length > 0 && (!a.causal || ks.begin <= qs.begin + qs.length - 1)) any = true;
      if (any) live.push_back({src, cur});
    }
    if (live.empty()) return;
    parallel_for(items, threads, [&](index_t it) {
      const index_t b = it / HQ, hq = it % HQ, kh = hq / group;
      for (const auto& [src, cur] : live) {
        index_t qoff = 0;
        for (const auto& qs : qsegs) {
          index_t koff = 0;
          for (const auto& ks : layout.ranks[std::size_t(src)]) {
            const T* kp = cur + ((b * Lmax + koff) * H + kh) * (K + V);
            const index_t row = it * TL + qoff;
            detail::fold_segment<T>(a.q.ptr(b, qoff, hq), a.q.stride(1), qs, kp, kp + K, per_pos, ks, K, V, scale,
                                    a.causal, {m + row, l + row, O + row * V, V}, cu);
            koff += ks.length;
          }
          qoff += qs.length;
        }
      }
    });
  };
  const int count = int(block_elems);
  if (dir == ring_direction::one_way) {
    for (int step = 0; step < P; ++step) {
      const int src = (rank - step + P) % P;  // whose K/V block buf[step % 2] holds
      T* cur = buf(step % 2);
      MPI_Request req[2];
      int nreq = 0;
      if (step + 1 < P) {  // pass the current block on while computing with it
        MPI_Irecv(buf((step + 1) % 2), count, detail::mpi_type<T>(), prev, step, comm, &req[nreq++]);
        MPI_Isend(cur, count, detail::mpi_type<T>(), next, step, comm, &req[nreq++]);
      }
      fold({{src, cur}});
      if (nreq) MPI_Waitall(nreq, req, MPI_STATUSES_IGNORE);
    }
  } else {
    // TokenRing-style: blocks travel both ways, rank r sees r-s and r+s at step s, so the
    // P-1 foreign blocks arrive in ceil((P-1)/2) steps over both links of each rank.
    const int nf = P / 2, nb = (P - 1) / 2;
    T* cur_f = buf(0);
    T* nxt_f = buf(1);
    T* cur_b = buf(0);
    T* nxt_b = buf(3);
    T* spare_b = buf(2);
    for (int s = 0; s <= nf; ++s) {
      MPI_Request req[4];
      int nreq = 0;
      if (s < nf) {
        MPI_Irecv(nxt_f, count, detail::mpi_type<T>(), prev, 2 * s, comm, &req[nreq++]);
        MPI_Isend(cur_f, count, detail::mpi_type<T>(), next, 2 * s, comm, &req[nreq++]);
      }
      if (s < nb) {
        MPI_Irecv(nxt_b, count, detail::mpi_type<T>(), next, 2 * s + 1, comm, &req[nreq++]);
        MPI_Isend(cur_b, count, detail::mpi_type<T>(), prev, 2 * s + 1, comm, &req[nreq++]);
      }
      if (s == 0) fold({{rank, cur_f}});
      else {
        std::vector<std::pair<int, const T*>> blocks{{(rank - s + P) % P, cur_f}};
        if (s <= nb) blocks.push_back({(rank + s) % P, cur_b});
        fold(blocks);
      }
      if (nreq) MPI_Waitall(nreq, req, MPI_STATUSES_IGNORE);
      std::swap(cur_f, nxt_f);
      if (s == 0) {  // buf[0] (own block) was sent both ways; from now on each direction has its pair
        cur_b = nxt_b;
        nxt_b = spare_b;
      } else {
        std::swap(cur_b, nxt_b);
      }
    }
  }
  parallel_for(items, threads, [&](index_t it) {
    const index_t b = it / HQ, hq = it % HQ;
    for (index_t t = 0; t < TL; ++t) {
      const T inv = l[it * TL + t] > T(0) ? T(1) / l[it * TL + t] : T(0);
      for (index_t j = 0; j < V; ++j) a.o(b, t, hq, j) = O[(it * TL + t) * V + j] * inv;
    }
  });
}

// Contiguous slices given by the context (every rank's [begin, end)).
template <class T>
void ring_attention(const attention_args<T>& a, const mpi_context& ctx, const run_options& opt = {}) {
  ring_attention(a, ctx.comm, contiguous_layout(ctx), opt);
}

}  // namespace seqmix::distributed
