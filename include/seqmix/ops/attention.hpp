#pragma once
// The attention op: validates, then dispatches to a kernel form.
//   parallel  : tiled FlashAttention (query tiles × key tiles, online softmax), threads
//               over batch × heads × query tiles with balanced causal work
//   recurrent : the decode path (each query against its cache, split-K over key chunks)
//   auto      : recurrent when there are at most 4 queries per sequence (decode), else parallel
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "seqmix/core/check.hpp"
#include "seqmix/core/options.hpp"
#include "seqmix/core/threading.hpp"
#include "seqmix/core/workspace.hpp"
#include "seqmix/kernels/attention/decode.hpp"
#include "seqmix/kernels/attention/flash.hpp"
#include "seqmix/ops/args/attention.hpp"
#include "seqmix/reference/attention.hpp"

namespace seqmix {

template <class T>
detail::sequences validate(const attention_args<T>& a) {
  constexpr const char* op = "attention";
  detail::check_shape(op, "q", a.q, {-1, -1, -1, -1});
  const index_t B = a.q.extent(0), Tq = a.q.extent(1), HQ = a.q.extent(2), K = a.q.extent(3);
  detail::check_positive(op, "key width K of 'q'", K);
  detail::check_shape(op, "k", a.k, {B, -1, -1, K});
  const index_t S = a.k.extent(1), H = a.k.extent(2);
  detail::check_positive(op, "kv head count H of 'k'", H);
  detail::check_positive(op, "query head count HQ of 'q'", HQ);
  detail::check_divisible(op, "query head count HQ of 'q'", HQ, H);
  if (S < Tq)
    throw_shape_error(op, "k", "has shape " + detail::shape_of(a.k) + ", expected S >= T = " +
                                   std::to_string(Tq) + " key positions");
  detail::check_shape(op, "v", a.v, {B, S, H, -1});
  detail::check_shape(op, "o", a.o, {B, Tq, HQ, a.v.extent(3)});
  detail::check_optional_shape(op, "g", a.g, {B, S, HQ});
  detail::check_optional_shape(op, "alibi_slopes", a.alibi_slopes, {HQ});
  detail::sequences seqs(op, B, Tq, a.cu_seqlens);
  if (!a.cu_seqlens_k.empty()) {
    const auto& ck = a.cu_seqlens_k;
    const std::string arg = "attention: argument 'cu_seqlens_k' ";
    if (!seqs.varlen()) throw shape_error(arg + "needs 'cu_seqlens' (the query offsets)");
    if (ck.size() != a.cu_seqlens.size())
      throw shape_error(arg + "has shape [" + std::to_string(ck.size()) + "], expected [" +
                        std::to_string(a.cu_seqlens.size()) + "] like 'cu_seqlens'");
    if (ck.front() != 0) throw shape_error(arg + "must start at 0, got " + std::to_string(ck.front()));
    for (std::size_t i = 1; i < ck.size(); ++i) {
      if (ck[i] < ck[i - 1])
        throw shape_error(arg + "is not monotone at index " + std::to_string(i) + " (" + std::to_string(ck[i - 1]) +
                          " > " + std::to_string(ck[i]) + ")");
      const auto keys = ck[i] - ck[i - 1], queries = a.cu_seqlens[i] - a.cu_seqlens[i - 1];
      if (keys < queries)
        throw shape_error(arg + "gives sequence " + std::to_string(i - 1) + " " + std::to_string(keys) +
                          " keys for its " + std::to_string(queries) + " queries, expected keys >= queries");
    }
    if (ck.back() != S)
      throw shape_error(arg + "must end at S=" + std::to_string(S) + ", got " + std::to_string(ck.back()));
  } else if (seqs.varlen() && S != Tq) {
    throw_shape_error(op, "k", "has shape " + detail::shape_of(a.k) + ", expected S == T = " + std::to_string(Tq) +
                                   " with cu_seqlens and no key offsets cu_seqlens_k");
  }
  if (a.window < 0)
    throw option_error("attention: attribute 'window' must be >= 0, got " + std::to_string(a.window));
  if (a.scale && !std::isfinite(*a.scale))
    throw option_error("attention: attribute 'scale' must be finite");
  return seqs;
}

// Visible (query, key) pairs per query head, summed over the batch: the FLOP count of
// one call is 2·HQ·(K + V)·pairs (q·k and p·v, one multiply-add each).
template <class T>
double attention_visible_pairs(const attention_args<T>& a) {
  const index_t B = a.q.extent(0), Tq = a.q.extent(1), S = a.k.extent(1);
  auto count = [&](index_t tq, index_t sk) {
    double n = 0;
    for (index_t p = sk - tq; p < sk; ++p) {
      index_t lo = 0, hi = sk - 1;
      if (a.causal) hi = p;
      if (a.window > 0) {
        lo = std::max<index_t>(lo, p - a.window + 1);
        hi = std::min<index_t>(hi, p + a.window - 1);
      }
      n += double(std::max<index_t>(0, hi - lo + 1));
    }
    return n;
  };
  if (a.cu_seqlens.empty()) return double(B) * count(Tq, S);
  double n = 0;
  for (std::size_t i = 0; i + 1 < a.cu_seqlens.size(); ++i) {
    const index_t len = a.cu_seqlens[i + 1] - a.cu_seqlens[i];
    n += count(len, a.cu_seqlens_k.empty() ? len : a.cu_seqlens_k[i + 1] - a.cu_seqlens_k[i]);
  }
  return n;
}

template <class T>
double attention_flops(const attention_args<T>& a) {
  return 2.0 * double(a.q.extent(2)) * double(a.q.extent(3) + a.v.extent(3)) * attention_visible_pairs(a);
}

namespace detail {

// One sequence: batch entry, first query row, first key row, query and key counts.
struct attention_seq {
  index_t b, q0, k0, tq, sk;
};

template <class T>
std::vector<attention_seq> attention_sequences(const attention_args<T>& a) {
  std::vector<attention_seq> seqs;
  const index_t B = a.q.extent(0), Tq = a.q.extent(1), S = a.k.extent(1);
  if (a.cu_seqlens.empty()) {
    for (index_t b = 0; b < B; ++b) seqs.push_back({b, 0, 0, Tq, S});
  } else {
    for (std::size_t i = 0; i + 1 < a.cu_seqlens.size(); ++i) {
      const index_t lo = a.cu_seqlens[i], n = a.cu_seqlens[i + 1] - lo;
      if (a.cu_seqlens_k.empty()) seqs.push_back({0, lo, lo, n, n});
      else seqs.push_back({0, lo, a.cu_seqlens_k[i], n, a.cu_seqlens_k[i + 1] - a.cu_seqlens_k[i]});
    }
  }
  return seqs;
}

// FoX prefix sums in double, per (sequence, query head): cum[(kbase·HQ) + h·sk + x] =
// Σ_{0<j<=x} g_j with kbase = b·S (or the sequence's first key row with cu_seqlens). Empty
// without a gate.
template <class T>
double* attention_cumsum(const attention_args<T>& a, const std::vector<attention_seq>& seqs, int threads) {
  if (a.g.empty()) return nullptr;
  const index_t HQ = a.q.extent(2), S = a.k.extent(1);
  const index_t total = a.cu_seqlens.empty() ? a.q.extent(0) * S * HQ : S * HQ;
  double* cum = thread_workspace(2).template get<double>(std::size_t(total));
  parallel_for(index_t(seqs.size()) * HQ, threads, [&](index_t u) {
    const auto& sq = seqs[std::size_t(u / HQ)];
    const index_t h = u % HQ, kbase = a.cu_seqlens.empty() ? sq.b * S : sq.k0;
    double* c = cum + kbase * HQ + h * sq.sk;
    // g of a sequence's first key never enters a bias (Σ_{j=s+1..p}): left out, so that a
    // NaN there does not reach the outputs through the differences
    double run = 0;
    for (index_t x = 0; x < sq.sk; ++x) c[x] = run += x > 0 ? double(a.g(sq.b, sq.k0 + x, h)) : 0.0;
  });
  return cum;
}

template <class T>
const double* cum_of(const attention_args<T>& a, const double* cum, const attention_seq& sq, index_t h) {
  if (!cum) return nullptr;
  const index_t kbase = a.cu_seqlens.empty() ? sq.b * a.k.extent(1) : sq.k0;
  return cum + kbase * a.q.extent(2) + h * sq.sk;
}

template <class T>
void attention_parallel(const attention_args<T>& a, int threads) {
  using Arch = xsimd::default_arch;
  using sh = kernels::attention::flash_shape<Arch, T>;
  const auto seqs = attention_sequences(a);
  const index_t HQ = a.q.extent(2), H = a.k.extent(2), K = a.q.extent(3), V = a.v.extent(3), group = HQ / H;
  const double scale = a.scale ? *a.scale : 1.0 / std::sqrt(double(K));
  // pack K and V once per (sequence, kv head)
  std::vector<index_t> pack_off(seqs.size() + 1, 0);
  for (std::size_t i = 0; i < seqs.size(); ++i)
    pack_off[i + 1] = pack_off[i] + H * (sh::packed_k(seqs[i].sk, K) + sh::packed_v(seqs[i].sk, V));
  T* packed = thread_workspace(1).template get<T>(std::size_t(std::max<index_t>(pack_off.back(), 1)));
  auto unit_ptr = [&](std::size_t si, index_t kh) {
    const index_t per = sh::packed_k(seqs[si].sk, K) + sh::packed_v(seqs[si].sk, V);
    T* kp = packed + pack_off[si] + kh * per;
    return std::pair<T*, T*>(kp, kp + sh::packed_k(seqs[si].sk, K));
  };
  // in memory order (position-major, all kv heads of a position together): blocks of
  // `pack_block` positions (one block also zero-fills the padding of the last tile)
  constexpr index_t pack_block = 4 * sh::BK;
  std::vector<std::pair<std::size_t, index_t>> blocks;
  for (std::size_t si = 0; si < seqs.size(); ++si)
    for (index_t s0 = 0; s0 < sh::tiles(seqs[si].sk) * sh::BK; s0 += pack_block) blocks.push_back({si, s0});
  parallel_for(index_t(blocks.size()), threads, [&](index_t bi) {
    const auto [si, s0] = blocks[std::size_t(bi)];
    const auto& sq = seqs[si];
    const index_t s1 = std::min(s0 + pack_block, sh::tiles(sq.sk) * sh::BK);
    for (index_t kh = 0; kh < H; ++kh) {
      auto [kp, vp] = unit_ptr(si, kh);
      kernels::attention::flash_pack<Arch, T>(a.k.ptr(sq.b, sq.k0, kh), a.k.stride(1), a.v.ptr(sq.b, sq.k0, kh),
                                              a.v.stride(1), sq.sk, K, V, kp, vp, s0, s1);
    }
  });
  const double* cum = attention_cumsum(a, seqs, threads);
  // work items: (sequence, query head, query tile i, query tile n-1-i): equal causal work
  struct item {
    index_t seq, h, ta, tb;
  };
  std::vector<item> items;
  for (std::size_t si = 0; si < seqs.size(); ++si) {
    const auto& sq = seqs[si];
    if (sq.tq == 0) continue;
    const index_t first = (sq.sk - sq.tq) / sh::BQ, last = (sq.sk - 1) / sh::BQ, n = last - first + 1;
    for (index_t h = 0; h < HQ; ++h)
      for (index_t i = 0; i < (n + 1) / 2; ++i) items.push_back({index_t(si), h, first + i, first + n - 1 - i});
  }
  parallel_for(index_t(items.size()), threads, [&](index_t it) {
    const item& w = items[std::size_t(it)];
    const auto& sq = seqs[std::size_t(w.seq)];
    const index_t kh = w.h / group;
    kernels::attention::head_problem<T> p;
    p.q = a.q.ptr(sq.b, sq.q0, w.h);
    p.ldq = a.q.stride(1);
    p.o = a.o.ptr(sq.b, sq.q0, w.h);
    p.ldo = a.o.stride(1);
    p.queries = sq.tq;
    p.K = K;
    p.V = V;
    p.vis = {a.causal, a.window, sq.sk};
    p.scale = scale;
    p.cum = cum_of(a, cum, sq, w.h);
    p.slope = a.alibi_slopes.empty() ? 0.0 : double(a.alibi_slopes(w.h));
    auto [kp, vp] = unit_ptr(std::size_t(w.seq), kh);
    // query rows [t0, t0 + n) of tile ti of item w
    auto rows_of = [&](const item& x, index_t ti) {
      const auto& s = seqs[std::size_t(x.seq)];
      const index_t off = s.sk - s.tq;
      const index_t P0 = std::max(off, ti * sh::BQ), P1 = std::min(s.sk - 1, ti * sh::BQ + sh::BQ - 1);
      return std::pair<index_t, index_t>(P0 - off, P1 - P0 + 1);
    };
    auto q_of = [&](const item& x, index_t t0) { return a.q.ptr(seqs[std::size_t(x.seq)].b, seqs[std::size_t(x.seq)].q0 + t0, x.h); };
    const auto [ta0, na] = rows_of(w, w.ta);
    if (w.tb == w.ta) {
      kernels::attention::flash_tile_kernel<Arch, T>::run(p, kp, vp, ta0, na);
    } else {
      const auto [tb0, nb] = rows_of(w, w.tb);
      kernels::attention::flash_tile_kernel<Arch, T>::run(p, kp, vp, ta0, na, q_of(w, tb0), a.q.stride(1), nb);
      if (std::size_t(it) + 1 < items.size()) {
        const item& nx = items[std::size_t(it) + 1];
        const auto [tn0, nn] = rows_of(nx, nx.ta);
        kernels::attention::flash_tile_kernel<Arch, T>::run(p, kp, vp, tb0, nb, q_of(nx, tn0), a.q.stride(1), nn);
      } else {
        kernels::attention::flash_tile_kernel<Arch, T>::run(p, kp, vp, tb0, nb);
      }
    }
  });
}

// Keys per split-K chunk of the decode path (fixed, so results do not depend on threads).
inline constexpr index_t decode_chunk = 1024;

template <class T>
void attention_recurrent(const attention_args<T>& a, int threads) {
  using Arch = xsimd::default_arch;
  const auto seqs = attention_sequences(a);
  const index_t HQ = a.q.extent(2), H = a.k.extent(2), K = a.q.extent(3), V = a.v.extent(3);
  const double scale = a.scale ? *a.scale : 1.0 / std::sqrt(double(K));
  const double* cum = attention_cumsum(a, seqs, threads);
  struct item {
    index_t seq, t, s_begin, s_end, row;  // row: index of the query row (for the merge)
  };
  struct row_info {
    index_t seq, t, first_item, items;
  };
  std::vector<item> items;
  std::vector<row_info> rows;
  for (std::size_t si = 0; si < seqs.size(); ++si) {
    const auto& sq = seqs[si];
    const kernels::attention::visibility vis{a.causal, a.window, sq.sk};
    for (index_t t = 0; t < sq.tq; ++t) {
      const index_t p = t + sq.sk - sq.tq, lo = vis.lo(p), hi = vis.hi(p);
      row_info ri{index_t(si), t, index_t(items.size()), 0};
      for (index_t s = lo; s <= hi; s += decode_chunk, ++ri.items)
        items.push_back({index_t(si), t, s, std::min(hi + 1, s + decode_chunk), index_t(rows.size())});
      rows.push_back(ri);
    }
  }
  const index_t part = HQ * (V + 2);
  T* parts = thread_workspace(3).template get<T>(std::size_t(std::max<index_t>(1, index_t(items.size()) * part)));
  parallel_for(index_t(items.size()), threads, [&](index_t it) {
    const item& w = items[std::size_t(it)];
    const auto& sq = seqs[std::size_t(w.seq)];
    kernels::attention::row_problem<T> r;
    r.q = a.q.ptr(sq.b, sq.q0 + w.t);
    r.ldq_h = a.q.stride(2);
    r.k = a.k.ptr(sq.b, sq.k0);
    r.ldk_s = a.k.stride(1);
    r.ldk_h = a.k.stride(2);
    r.v = a.v.ptr(sq.b, sq.k0);
    r.ldv_s = a.v.stride(1);
    r.ldv_h = a.v.stride(2);
    r.HQ = HQ;
    r.H = H;
    r.K = K;
    r.V = V;
    r.scale = scale;
    r.cum = cum_of(a, cum, sq, 0);
    r.ld_cum = sq.sk;
    r.slopes = a.alibi_slopes.empty() ? nullptr : a.alibi_slopes.data();
    r.p = w.t + sq.sk - sq.tq;
    T* m = parts + it * part;
    T* l = m + HQ;
    T* acc = l + HQ;
    std::fill(m, m + HQ, std::numeric_limits<T>::lowest());
    std::fill(l, l + HQ, T(0));
    std::fill(acc, acc + HQ * V, T(0));
    kernels::attention::decode_kernel<Arch, T>::run(r, w.s_begin, w.s_end, m, l, acc);
  });
  // merge the chunks of each row in a fixed order
  parallel_for(index_t(rows.size()), threads, [&](index_t ri) {
    const row_info& row = rows[std::size_t(ri)];
    const auto& sq = seqs[std::size_t(row.seq)];
    for (index_t h = 0; h < HQ; ++h) {
      T* out = a.o.ptr(sq.b, sq.q0 + row.t, h);
      T mx = std::numeric_limits<T>::lowest();
      for (index_t c = 0; c < row.items; ++c) mx = std::max(mx, parts[(row.first_item + c) * part + h]);
      T den = 0;
      for (index_t e = 0; e < V; ++e) out[e] = T(0);
      for (index_t c = 0; c < row.items; ++c) {
        const T* m = parts + (row.first_item + c) * part;
        const T w = kernels::attention::exp2_nonpos(m[h] - mx);
        den += w * m[HQ + h];
        const T* acc = m + 2 * HQ + h * V;
        for (index_t e = 0; e < V; ++e) out[e] += w * acc[e];
      }
      const T inv = T(1) / den;
      for (index_t e = 0; e < V; ++e) out[e] *= inv;
    }
  });
}

}  // namespace detail

template <class T>
void attention(const attention_args<T>& a, const run_options& opt = {}) {
  validate(a);
  switch (opt.kernel_form) {
    case form::auto_:
    case form::parallel:
    case form::recurrent: break;
    default:
      throw option_error("attention: form '" + std::string(to_string(opt.kernel_form)) +
                         "' is not available (forms: parallel, recurrent)");
  }
  if (opt.chunk != 0)
    throw option_error("attention: a chunk size is not an option of this op (tiles are fixed: " +
                       std::to_string(kernels::attention::flash_shape<xsimd::default_arch, T>::BQ) +
                       " queries x " + std::to_string(kernels::attention::flash_shape<xsimd::default_arch, T>::BK) +
                       " keys), got " + std::to_string(opt.chunk));
  if (a.q.extent(1) == 0) return;
  const int threads = resolve_threads(opt);
  form f = opt.kernel_form;
  if (f == form::auto_) {
    const index_t nseq = a.cu_seqlens.empty() ? a.q.extent(0) : index_t(a.cu_seqlens.size()) - 1;
    f = a.q.extent(0) * a.q.extent(1) <= 4 * nseq ? form::recurrent : form::parallel;
  }
  if (f == form::recurrent) detail::attention_recurrent(a, threads);
  else detail::attention_parallel(a, threads);
}

}  // namespace seqmix
