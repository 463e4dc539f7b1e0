#pragma once
// The selective_scan op (Mamba-1): validates, then dispatches to a kernel form.
#include <algorithm>
#include <cstring>
#include <string>

#include "seqmix/core/check.hpp"
#include "seqmix/core/options.hpp"
#include "seqmix/core/threading.hpp"
#include "seqmix/core/workspace.hpp"
#include "seqmix/kernels/scan/selective_scan.hpp"
#include "seqmix/ops/args/selective_scan.hpp"
#include "seqmix/reference/selective_scan.hpp"

namespace seqmix {

template <class T>
detail::sequences validate(const selective_scan_args<T>& a) {
  constexpr const char* op = "selective_scan";
  detail::check_shape(op, "x", a.x, {-1, -1, -1});
  const index_t Bt = a.x.extent(0), L = a.x.extent(1), D = a.x.extent(2);
  detail::check_same_shape(op, "dt", a.dt, "x", a.x);
  detail::check_shape(op, "A", a.A, {D, -1});
  const index_t N = a.A.extent(1);
  detail::check_shape(op, "B", a.B, {Bt, L, -1, N});
  const index_t G = a.B.extent(2);
  detail::check_positive(op, "number of groups G of 'B'", G);
  detail::check_divisible(op, "channels D of 'x'", D, G);
  detail::check_shape(op, "C", a.C, {Bt, L, G, N});
  detail::check_same_shape(op, "o", a.o, "x", a.x);
  if (!a.z.empty()) detail::check_same_shape(op, "z", a.z, "x", a.x);
  detail::check_optional_shape(op, "D", a.D, {D});
  detail::check_optional_shape(op, "dt_bias", a.dt_bias, {D});
  detail::sequences seqs(op, Bt, L, a.cu_seqlens);
  detail::check_optional_shape(op, "initial_state", a.initial_state, {seqs.count(), D, N});
  detail::check_optional_shape(op, "final_state", a.final_state, {seqs.count(), D, N});
  return seqs;
}

namespace detail {

// The blocks of channels a selective scan runs on: lanes-wide blocks inside each group
// (channels of a block share B_t, C_t), the last block of a group possibly narrower.
template <class T>
struct selective_scan_plan {
  const selective_scan_args<T>& a;
  const sequences& seqs;
  index_t D, N, G, per_group, blocks_per_group, blocks;
  static constexpr index_t lanes = static_cast<index_t>(kernels::selective_scan_lanes<T>);

  selective_scan_plan(const selective_scan_args<T>& args, const sequences& s)
      : a(args), seqs(s), D(args.x.extent(2)), N(args.A.extent(1)), G(args.B.extent(2)), per_group(D / G),
        blocks_per_group((per_group + lanes - 1) / lanes), blocks(G * blocks_per_group) {}

  index_t first_channel(index_t blk) const {
    return (blk / blocks_per_group) * per_group + (blk % blocks_per_group) * lanes;
  }
  index_t width(index_t blk) const { return std::min(lanes, per_group - (blk % blocks_per_group) * lanes); }

  // Kernel arguments of block `blk` of sequence `q`; At: [N][lanes] scratch, filled here
  // with A·log2(e) (the kernel computes decays as powers of 2).
  kernels::selective_scan_block<T> block(const sequence_span& q, index_t blk, T* At) const {
    const index_t c0 = first_channel(blk), w = width(blk), g = blk / blocks_per_group;
    const T log2e = static_cast<T>(1.4426950408889634073599246810019);
    for (index_t n = 0; n < N; ++n)
      for (index_t j = 0; j < lanes; ++j) At[n * lanes + j] = j < w ? a.A(c0 + j, n) * log2e : T(0);
    kernels::selective_scan_block<T> p;
    p.x = a.x.ptr(q.batch, q.begin) + c0;
    p.dt = a.dt.ptr(q.batch, q.begin) + c0;
    p.z = a.z.empty() ? nullptr : a.z.ptr(q.batch, q.begin) + c0;
    p.o = a.o.ptr(q.batch, q.begin) + c0;
    p.B = a.B.ptr(q.batch, q.begin, g);
    p.C = a.C.ptr(q.batch, q.begin, g);
    p.At = At;
    p.Dskip = a.D.empty() ? nullptr : a.D.data() + c0;
    p.dt_bias = a.dt_bias.empty() ? nullptr : a.dt_bias.data() + c0;
    p.ld = a.x.stride(1), p.ld_dt = a.dt.stride(1), p.ld_z = a.z.empty() ? 0 : a.z.stride(1);
    p.ld_o = a.o.stride(1), p.ld_b = a.B.stride(1), p.ld_c = a.C.stride(1);
    p.width = static_cast<std::size_t>(w);
    p.N = static_cast<std::size_t>(N);
    p.softplus = a.dt_softplus;
    return p;
  }
  void load_state(const sequence_span& q, index_t blk, T* h) const {
    const index_t c0 = first_channel(blk), w = width(blk);
    for (index_t n = 0; n < N; ++n)
      for (index_t j = 0; j < lanes; ++j)
        h[n * lanes + j] = j < w && !a.initial_state.empty() ? a.initial_state(q.state, c0 + j, n) : T(0);
  }
  void store_state(const sequence_span& q, index_t blk, const T* h) const {
    if (a.final_state.empty()) return;
    const index_t c0 = first_channel(blk), w = width(blk);
    for (index_t j = 0; j < w; ++j)
      for (index_t n = 0; n < N; ++n) a.final_state(q.state, c0 + j, n) = h[n * lanes + j];
  }
};

// Recurrent form: one work item per (sequence, block), the whole sequence in one pass.
template <class T>
void selective_scan_recurrent(const selective_scan_plan<T>& plan, int threads) {
  const index_t L = plan.lanes, N = plan.N;
  parallel_for(plan.seqs.count() * plan.blocks, threads, [&](index_t item) {
    const auto q = plan.seqs[item / plan.blocks];
    const index_t blk = item % plan.blocks;
    T* At = thread_workspace().template get<T>(static_cast<std::size_t>(2 * N * L));
    T* h = At + N * L;
    const auto p = plan.block(q, blk, At);
    plan.load_state(q, blk, h);
    kernels::selective_scan(p, 0, q.length, h);
    plan.store_state(q, blk, h);
  });
}

// Chunked form (time-parallel two-pass scan, for when there are few (sequence, block)
// items): pass 1 scans chunk 0 exactly and summarises chunks 1..n-2 from a zero state
// (local end state and ΣΔ); a short sequential carry gives every chunk's entering state;
// pass 2 scans chunks 1..n-1 exactly. Chunks depend on `chunk` only: results are bitwise
// identical for any thread count.
template <class T>
void selective_scan_chunked(const selective_scan_plan<T>& plan, index_t chunk, int threads) {
  const index_t L = plan.lanes, N = plan.N, NL = N * L, nseq = plan.seqs.count(), nb = plan.blocks;
  const auto chunks = [&](index_t s) { return std::max<index_t>(1, (plan.seqs[s].length + chunk - 1) / chunk); };
  // Shared scratch in the calling thread's workspace (slot 1): per (sequence, block, chunk)
  // the entering state [N][L] and the summary (local state [N][L], ΣΔ [L]); prefix counts.
  index_t total = 0;
  for (index_t s = 0; s < nseq; ++s) total += nb * chunks(s);
  const std::size_t per = static_cast<std::size_t>(2 * NL + L);
  const std::size_t floats = (static_cast<std::size_t>(total) * per + 15) / 16 * 16;
  auto* ws = static_cast<unsigned char*>(thread_workspace(1).reserve(
      floats * sizeof(T) + static_cast<std::size_t>(3 * (nseq + 1)) * sizeof(index_t)));
  T* scratch = reinterpret_cast<T*>(ws);
  index_t* base = reinterpret_cast<index_t*>(ws + floats * sizeof(T));  // first (s, 0, 0) slot
  index_t* first1 = base + (nseq + 1);                                  // first pass-1 item of s
  index_t* first2 = first1 + (nseq + 1);                                // first pass-2 item of s
  base[0] = first1[0] = first2[0] = 0;
  for (index_t s = 0; s < nseq; ++s) {
    const index_t n = chunks(s);
    base[s + 1] = base[s] + nb * n;
    first1[s + 1] = first1[s] + nb * std::max<index_t>(1, n - 1);
    first2[s + 1] = first2[s] + nb * (n - 1);
  }
  const auto carry = [&](index_t s, index_t blk, index_t k) { return scratch + (base[s] + blk * chunks(s) + k) * per; };
  const auto locate = [&](const index_t* first, index_t item) {
    return static_cast<index_t>(std::upper_bound(first, first + nseq + 1, item) - first) - 1;
  };
  // pass 1
  parallel_for(first1[nseq], threads, [&](index_t item) {
    const index_t s = locate(first1, item), n = chunks(s), m = std::max<index_t>(1, n - 1);
    const index_t blk = (item - first1[s]) / m, k = (item - first1[s]) % m;
    const auto q = plan.seqs[s];
    T* At = thread_workspace().template get<T>(static_cast<std::size_t>(NL));
    const auto p = plan.block(q, blk, At);
    const index_t t0 = k * chunk, t1 = std::min(q.length, t0 + chunk);
    if (k == 0) {
      T* h = carry(s, blk, 0);
      plan.load_state(q, blk, h);
      kernels::selective_scan(p, t0, t1, h);
      if (n == 1) plan.store_state(q, blk, h);
      else std::memcpy(carry(s, blk, 1), h, static_cast<std::size_t>(NL) * sizeof(T));
    } else {
      T* sum = carry(s, blk, k) + NL;  // hloc [N][L], then ΣΔ [L]
      std::fill(sum, sum + NL, T(0));
      kernels::selective_scan_summarize(p, t0, t1, sum, sum + NL);
    }
  });
  // carry: the state entering chunk k+1 from the state entering chunk k
  parallel_for(nseq * nb, threads, [&](index_t item) {
    const index_t s = item / nb, blk = item % nb, n = chunks(s);
    if (n < 3) return;
    T* At = thread_workspace().template get<T>(static_cast<std::size_t>(NL));
    plan.block(plan.seqs[s], blk, At);
    for (index_t k = 1; k + 1 < n; ++k) {
      T* next = carry(s, blk, k + 1);
      std::memcpy(next, carry(s, blk, k), static_cast<std::size_t>(NL) * sizeof(T));
      const T* sum = carry(s, blk, k) + NL;
      kernels::selective_scan_apply(At, sum, sum + NL, next, static_cast<std::size_t>(N),
                                    static_cast<std::size_t>(plan.width(blk)));
    }
  });
  // pass 2
  parallel_for(first2[nseq], threads, [&](index_t item) {
    const index_t s = locate(first2, item), n = chunks(s);
    const index_t blk = (item - first2[s]) / (n - 1), k = 1 + (item - first2[s]) % (n - 1);
    const auto q = plan.seqs[s];
    T* At = thread_workspace().template get<T>(static_cast<std::size_t>(NL));
    const auto p = plan.block(q, blk, At);
    T* h = carry(s, blk, k);
    kernels::selective_scan(p, k * chunk, std::min(q.length, (k + 1) * chunk), h);
    if (k == n - 1) plan.store_state(q, blk, h);
  });
}

}  // namespace detail

template <class T>
void selective_scan(const selective_scan_args<T>& a, const run_options& opt = {}) {
  validate(a);
  switch (opt.kernel_form) {
    case form::auto_:
    case form::recurrent:
    case form::chunked: break;
    default:
      throw option_error("selective_scan: form '" + std::string(to_string(opt.kernel_form)) +
                         "' is not available (forms: recurrent, chunked)");
  }
  if (opt.chunk < 0) throw option_error("selective_scan: chunk size must be positive, got " + std::to_string(opt.chunk));
  const auto seqs = detail::sequences("selective_scan", a.x.extent(0), a.x.extent(1), a.cu_seqlens);
  const detail::selective_scan_plan<T> plan(a, seqs);
  const index_t chunk = opt.chunk > 0 ? opt.chunk : 128;
  // auto: the chunked form (about 2x the work, spread over time chunks) only when a single
  // (sequence, block) item would leave every other thread idle; decided by shape alone so
  // results never depend on the thread count.
  bool chunked = opt.kernel_form == form::chunked;
  if (opt.kernel_form == form::auto_) chunked = seqs.count() * plan.blocks < 2 && a.x.extent(1) >= 4 * chunk;
  if (chunked) detail::selective_scan_chunked(plan, chunk, resolve_threads(opt));
  else detail::selective_scan_recurrent(plan, resolve_threads(opt));
}

}  // namespace seqmix
