#pragma once
// Shared validation and form handling of the chunk-engine ops (linear_attn, retention,
// simple_gla, gla, ssd).
#include <string>
#include <string_view>

#include "seqmix/core/check.hpp"
#include "seqmix/core/options.hpp"
#include "seqmix/core/tensor.hpp"
#include "seqmix/core/threading.hpp"
#include "seqmix/core/workspace.hpp"
#include "seqmix/kernels/chunk/engine.hpp"

namespace seqmix::detail {

// q,k [B,T,H,K], v,o [B,T,H,V], states [N,H,K,V]; returns the sequence layout.
template <class T>
sequences validate_qkv(std::string_view op, const const_view<T, 4>& q, const const_view<T, 4>& k,
                       const const_view<T, 4>& v, const tensor_view<T, 4>& o, const const_view<T, 4>& s0,
                       const tensor_view<T, 4>& s1, std::span<const std::int64_t> cu) {
  check_shape(op, "q", q, {-1, -1, -1, -1});
  const index_t B = q.extent(0), L = q.extent(1), H = q.extent(2), K = q.extent(3);
  check_same_shape(op, "k", k, "q", q);
  check_shape(op, "v", v, {B, L, H, -1});
  check_same_shape(op, "o", o, "v", v);
  check_positive(op, "head count H (q.shape[2])", H);
  check_positive(op, "K (q.shape[3])", K);
  check_positive(op, "V (v.shape[3])", v.extent(3));
  sequences seqs(op, B, L, cu);
  check_optional_shape(op, "initial_state", s0, {seqs.count(), H, K, v.extent(3)});
  check_optional_shape(op, "final_state", s1, {seqs.count(), H, K, v.extent(3)});
  return seqs;
}

// The chunk ops have the forms recurrent, chunked, parallel; chunk sizes 16..256.
inline void check_chunk_form(std::string_view op, const run_options& opt) {
  switch (opt.kernel_form) {
    case form::auto_:
    case form::recurrent:
    case form::chunked:
    case form::parallel: break;
    default:
      throw option_error(std::string(op) + ": form '" + std::string(to_string(opt.kernel_form)) +
                         "' is not available (forms: recurrent, chunked, parallel)");
  }
  if (opt.chunk != 0 && (opt.chunk < 16 || opt.chunk > 256 || opt.chunk % 16 != 0))
    throw option_error(std::string(op) + ": chunk size " + std::to_string(opt.chunk) +
                       " is not supported (a multiple of 16 in [16, 256])");
}

// Runs a chunk-engine op over (sequence, head) items. The working state of an item lives in
// its slot of thread_workspace(1) (read from s0 before, written to s1 after: they may alias;
// a thread has up to `slots` items live at once, see kernels::chunk::run_heads), followed by
// `extra_per_step`·length + `extra` scratch values handed to prep/post.
//   prep(problem&, sequence_span, h, T* scratch)        fills pointers/attributes
//   post(const problem&, sequence_span, h, T* scratch)  e.g. skip terms, normalisers
// `transposed` states are stored [V,K] (SSD's [P,N]) instead of [K,V].
template <kernels::chunk::decay_kind D, class T, class Prep, class Post>
void run_chunk_op(const sequences& seqs, index_t H, index_t K, index_t V, index_t extra_per_step, index_t extra,
                  const const_view<T, 4>& s0, const tensor_view<T, 4>& s1, bool transposed, const run_options& opt,
                  Prep&& prep, Post&& post) {
  index_t max_len = 0;
  for (index_t s = 0; s < seqs.count(); ++s) max_len = std::max(max_len, seqs[s].length);
  auto state_at = [&](const auto& view, const sequence_span& sq, index_t h, index_t i, index_t j) -> decltype(auto) {
    return transposed ? view(sq.state, h, j, i) : view(sq.state, h, i, j);
  };
  kernels::chunk::run_heads<D>(
      seqs.count() * H, max_len, K, V, opt, resolve_threads(opt),
      [&](index_t it, index_t slot, index_t slots) {
        const auto sq = seqs[it / H];
        const index_t h = it % H;
        const index_t per = (K * V + extra_per_step * max_len + extra + 16 + 15) / 16 * 16;
        T* mem = thread_workspace(1).template get<T>(std::size_t(slots * per)) + slot * per;
        kernels::chunk::problem<T> p;
        p.steps = sq.length;
        p.K = K;
        p.V = V;
        p.state = mem;
        for (index_t i = 0; i < K; ++i)
          for (index_t j = 0; j < V; ++j) mem[i * V + j] = s0.empty() ? T(0) : state_at(s0, sq, h, i, j);
        prep(p, sq, h, mem + K * V);
        return p;
      },
      [&](index_t it, const kernels::chunk::problem<T>& p) {
        const auto sq = seqs[it / H];
        const index_t h = it % H;
        post(p, sq, h, p.state + K * V);
        if (!s1.empty())
          for (index_t i = 0; i < K; ++i)
            for (index_t j = 0; j < V; ++j) state_at(s1, sq, h, i, j) = p.state[i * V + j];
      });
}

// Points a problem's q, k, v, o at head h of rows [sq.begin, ...) of [B,T,H,D] views.
template <class T>
void bind_qkvo(kernels::chunk::problem<T>& p, const const_view<T, 4>& q, const const_view<T, 4>& k,
               const const_view<T, 4>& v, const tensor_view<T, 4>& o, const sequence_span& sq, index_t h) {
  p.q = q.ptr(sq.batch, sq.begin, h);
  p.ldq = q.stride(1);
  p.k = k.ptr(sq.batch, sq.begin, h);
  p.ldk = k.stride(1);
  p.v = v.ptr(sq.batch, sq.begin, h);
  p.ldv = v.stride(1);
  p.o = o.ptr(sq.batch, sq.begin, h);
  p.ldo = o.stride(1);
}

}  // namespace seqmix::detail
