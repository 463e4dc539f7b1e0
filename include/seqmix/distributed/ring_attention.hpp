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
// Block partials are computed here with Eigen GEMMs in tiles (the single-process attention
// kernel does not expose its running max / denominator).
// ring_direction::both_ways (TokenRing-style) sends every block both ways round the ring:
// ceil((P-1)/2) steps instead of P-1, using both links of each rank.
// Varlen: cu_seqlens = the GLOBAL offsets (B == 1); sequences may cross ranks (and zig-zag
// chunks); a query sees only keys of its own sequence. Not supported: sliding window, ALiBi,
// FoX gate, cu_seqlens_k, S != T (option_error).
#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <utility>
#include <vector>

#include "seqmix/core/options.hpp"
#include "seqmix/core/threading.hpp"
#include "seqmix/distributed/mpi_context.hpp"
#include "seqmix/ops/args/attention.hpp"
#include "seqmix/simd/math.hpp"

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

template <class T>
using rm_matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

inline constexpr index_t ring_bq = 64;   // query rows per tile
inline constexpr index_t ring_bk = 256;  // keys per tile

// Folds keys [0, nk) of a K/V block (rows strided by ldk / ldv) into the running state of
// queries [0, nq) (q rows strided by ldq; O rows contiguous, V wide). qpos / kpos: global
// position of the first query / key (positions are consecutive inside a segment).
// cu: the global cu_seqlens for varlen (empty: one sequence): a query sees only keys of its
// own sequence (and, causal, not after itself).
template <class T>
void fold_block(const T* q, index_t ldq, index_t nq, index_t qpos, const T* k, index_t ldk, const T* v, index_t ldv,
                index_t nk, index_t kpos, index_t K, index_t V, T scale, bool causal, T* m, T* l, T* O,
                rm_matrix<T>& S, std::span<const std::int64_t> cu = {}) {
  using map_c = Eigen::Map<const rm_matrix<T>, 0, Eigen::OuterStride<>>;
  const T ninf = -std::numeric_limits<T>::infinity();
  index_t lo[ring_bq], hi[ring_bq];  // visible global key range [lo, hi] of each query row
  for (index_t i0 = 0; i0 < nq; i0 += ring_bq) {
    const index_t ni = std::min(ring_bq, nq - i0);
    const index_t qlast = qpos + i0 + ni - 1;
    index_t lo_min = std::numeric_limits<index_t>::max(), hi_max = -1;
    for (index_t i = 0; i < ni; ++i) {
      const index_t p = qpos + i0 + i;
      lo[i] = 0;
      hi[i] = causal ? p : std::numeric_limits<index_t>::max();
      if (!cu.empty()) {
        const auto it = std::upper_bound(cu.begin(), cu.end(), std::int64_t(p));  // cu[s] <= p < cu[s+1]
        lo[i] = index_t(*(it - 1));
        hi[i] = std::min<index_t>(hi[i], index_t(*it) - 1);
      }
      lo_min = std::min(lo_min, lo[i]);
      hi_max = std::max(hi_max, hi[i]);
    }
    map_c Q(q + i0 * ldq, ni, K, Eigen::OuterStride<>(ldq));
    Eigen::Map<rm_matrix<T>> Ot(O + i0 * V, ni, V);
    for (index_t j0 = 0; j0 < nk; j0 += ring_bk) {
      const index_t nj = std::min(ring_bk, nk - j0), kfirst = kpos + j0, klast = kpos + j0 + nj - 1;
      if (causal && kfirst > qlast) break;  // this and later key tiles are in the future
      if (kfirst > hi_max || klast < lo_min) continue;  // no query of the tile sees these keys
      map_c Kt(k + j0 * ldk, nj, K, Eigen::OuterStride<>(ldk));
      map_c Vt(v + j0 * ldv, nj, V, Eigen::OuterStride<>(ldv));
      S.resize(ni, nj);
      S.noalias() = (Q * Kt.transpose()) * scale;
      for (index_t i = 0; i < ni; ++i) {
        T* s = S.data() + i * nj;
        if (lo[i] > kfirst || hi[i] < klast) {  // mask keys outside [lo, hi]
          const index_t a = std::clamp<index_t>(lo[i] - kfirst, 0, nj);
          const index_t b = hi[i] < kfirst ? 0 : std::clamp<index_t>(hi[i] - kfirst + 1, 0, nj);
          for (index_t j = 0; j < std::min(a, nj); ++j) s[j] = ninf;
          for (index_t j = std::max(a, b); j < nj; ++j) s[j] = ninf;
          if (b <= a)
            for (index_t j = 0; j < nj; ++j) s[j] = ninf;
        }
        T mx = m[i0 + i];
        for (index_t j = 0; j < nj; ++j) mx = std::max(mx, s[j]);
        const T shift = mx == ninf ? T(0) : mx;  // a fully masked row stays empty
        const T alpha = m[i0 + i] == ninf ? T(0) : std::exp(m[i0 + i] - shift);
        m[i0 + i] = mx;
        l[i0 + i] *= alpha;
        Ot.row(i) *= alpha;
        // s_j = e^{s_j - shift} and their sum, with the SIMD exp (Eigen's Array::exp went to
        // scalar expf here)
        using Bt = xsimd::batch<T>;
        constexpr index_t L = index_t(Bt::size);
        const Bt vs(shift);
        Bt acc(T(0));
        index_t j = 0;
        for (; j + L <= nj; j += L) {
          const Bt e = simd::exp(Bt::load_unaligned(s + j) - vs);
          e.store_unaligned(s + j);
          acc += e;
        }
        T sum = simd::reduce_add(acc);
        for (; j < nj; ++j) sum += (s[j] = std::exp(s[j] - shift));
        l[i0 + i] += sum;
      }
      Ot.noalias() += S * Vt;
    }
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
  const T scale = a.scale ? T(*a.scale) : T(1) / std::sqrt(T(K));
  const index_t group = HQ / H, Lmax = layout.max_local_length();
  const index_t per_pos = H * (K + V), block_elems = B * Lmax * per_pos;
  // K/V buffers [B, Lmax, H, K+V]: per direction the block being computed and the one in
  // flight (buf[0] starts with this rank's own block; buf[2], buf[3] only for both_ways)
  const int nbuf = dir == ring_direction::both_ways ? 4 : 2;
  std::vector<std::vector<T>> buf(std::size_t(nbuf), std::vector<T>(std::size_t(std::max<index_t>(block_elems, 1))));
  for (index_t b = 0; b < B; ++b)
    for (index_t t = 0; t < TL; ++t)
      for (index_t h = 0; h < H; ++h) {
        T* dst = buf[0].data() + ((b * Lmax + t) * H + h) * (K + V);
        for (index_t i = 0; i < K; ++i) dst[i] = a.k(b, t, h, i);
        for (index_t j = 0; j < V; ++j) dst[K + j] = a.v(b, t, h, j);
      }
  const index_t items = B * HQ;
  std::vector<T> m(std::size_t(items * TL), -std::numeric_limits<T>::infinity()), l(std::size_t(items * TL), T(0));
  std::vector<T> O(std::size_t(items * TL * V), T(0));
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
      detail::rm_matrix<T> S;
      for (const auto& [src, cur] : live) {
        index_t qoff = 0;
        for (const auto& qs : qsegs) {
          index_t koff = 0;
          for (const auto& ks : layout.ranks[std::size_t(src)]) {
            if (qs.length > 0 && ks.length > 0) {
              const T* kp = cur + ((b * Lmax + koff) * H + kh) * (K + V);
              const index_t row = it * TL + qoff;
              detail::fold_block<T>(a.q.ptr(b, qoff, hq), a.q.stride(1), qs.length, qs.begin, kp, per_pos, kp + K,
                                    per_pos, ks.length, ks.begin, K, V, scale, a.causal, m.data() + row,
                                    l.data() + row, O.data() + row * V, S, cu);
            }
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
      T* cur = buf[std::size_t(step % 2)].data();
      MPI_Request req[2];
      int nreq = 0;
      if (step + 1 < P) {  // pass the current block on while computing with it
        MPI_Irecv(buf[std::size_t((step + 1) % 2)].data(), count, detail::mpi_type<T>(), prev, step, comm, &req[nreq++]);
        MPI_Isend(cur, count, detail::mpi_type<T>(), next, step, comm, &req[nreq++]);
      }
      fold({{src, cur}});
      if (nreq) MPI_Waitall(nreq, req, MPI_STATUSES_IGNORE);
    }
  } else {
    // TokenRing-style: blocks travel both ways, rank r sees r-s and r+s at step s, so the
    // P-1 foreign blocks arrive in ceil((P-1)/2) steps over both links of each rank.
    const int nf = P / 2, nb = (P - 1) / 2;
    T* cur_f = buf[0].data();
    T* nxt_f = buf[1].data();
    T* cur_b = buf[0].data();
    T* nxt_b = buf[3].data();
    T* spare_b = buf[2].data();
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
      const T inv = l[std::size_t(it * TL + t)] > T(0) ? T(1) / l[std::size_t(it * TL + t)] : T(0);
      for (index_t j = 0; j < V; ++j) a.o(b, t, hq, j) = O[std::size_t((it * TL + t) * V + j)] * inv;
    }
  });
}

// Contiguous slices given by the context (every rank's [begin, end)).
template <class T>
void ring_attention(const attention_args<T>& a, const mpi_context& ctx, const run_options& opt = {}) {
  ring_attention(a, ctx.comm, contiguous_layout(ctx), opt);
}

}  // namespace seqmix::distributed
