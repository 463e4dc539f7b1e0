#pragma once
// Distributed delta rule, gated delta rule, RWKV-6 and RWKV-7. Delta rule: (S_t = (I - β_t k_t k_tᵀ) S_{t-1} + β_t k_t v_tᵀ, o_t = S_tᵀ(scale·q_t))
// over contiguous slices of T (see mpi_context.hpp); varlen with sequences crossing ranks.
// The slice's transition is a dense K×K matrix M (product of the (I - β k kᵀ) factors), and
// the recurrence is linear in (S, v), so both come from the op itself:
//   pass 1a: the op on the slice from a zero state (rank 0: initial_state) -> o, S_local;
//   pass 1b (ranks > 0): the op with v = 0 and initial state I (V' = K) -> its final state is
//            M and its output is o'_t = M_tᵀ(scale·q_t), M_t the transition up to t;
//   exscan of the pairs (M, S) composed as (M1,S1)∘(M2,S2) = (M2·M1, M2·S1 + S2) -> S_in;
//   pass 2:  o_t += S_inᵀ o'_t (one GEMM per head), final state += M·S_in.
// Ranks > 0 do about twice the work of one slice (pass 1b has width K instead of V);
// communication B·H·K·(K+V) elements per rank, independent of T.
#include <Eigen/Core>
#include <span>
#include <string>
#include <vector>

#include "seqmix/distributed/state_passing.hpp"
#include "seqmix/ops/delta_rule.hpp"
#include "seqmix/ops/gated_delta_rule.hpp"
#include "seqmix/ops/rwkv6.hpp"
#include "seqmix/ops/rwkv7.hpp"

namespace seqmix::distributed {
namespace detail {

inline thread_local index_t g_dense_k = 0, g_dense_v = 0;

template <class T>
void combine_dense_pairs(void* in, void* inout, int* len, MPI_Datatype*) {
  using mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  const index_t K = g_dense_k, V = g_dense_v, n = K * K + K * V;
  const T* x = static_cast<const T*>(in);  // earlier ranks
  T* y = static_cast<T*>(inout);           // later ranks; result here
  for (int it = 0; it < *len; ++it, x += n, y += n) {
    Eigen::Map<const mat> M1(x, K, K), S1(x + K * K, K, V);
    Eigen::Map<mat> M2(y, K, K), S2(y + K * K, K, V);
    S2.noalias() += M2 * S1;
    const mat M = M2 * M1;
    M2 = M;
  }
}

// Exclusive scan of `items` packed pairs [M (K×K) | S (K×V)] over the ranks (rank 0: zeros).
template <class T>
std::vector<T> dense_exscan(const mpi_context& ctx, index_t items, index_t K, index_t V, const std::vector<T>& pairs) {
  const index_t n = K * K + K * V;
  std::vector<T> in(std::size_t(items * n), T(0));
  if (ctx.size > 1 && items > 0) {
    MPI_Datatype pair_type;
    MPI_Type_contiguous(int(n), mpi_type<T>(), &pair_type);
    MPI_Type_commit(&pair_type);
    MPI_Op op;
    MPI_Op_create(&combine_dense_pairs<T>, /*commute=*/0, &op);
    g_dense_k = K;
    g_dense_v = V;
    MPI_Exscan(pairs.data(), in.data(), int(items), pair_type, op, ctx.comm);
    if (ctx.rank == 0) std::fill(in.begin(), in.end(), T(0));
    MPI_Op_free(&op);
    MPI_Type_free(&pair_type);
  }
  return in;
}

}  // namespace detail

namespace detail {

// Varlen (B == 1, cu_seqlens = the GLOBAL offsets; sequences may cross rank boundaries).
// Pass 1a: the op over the local pieces (local cu_seqlens; a piece that continues from an
// earlier rank starts from zero). Pass 1b (when the first piece continues): the op with
// v = 0 from I for every piece; piece 0's final state is its transition M and its output o'.
// A slice containing a sequence start passes on M = 0 (the state after it does not depend on
// what came before): (M1,S1)∘(0,S2) = (0, S2). Pass 2 corrects piece 0; the final states
// come from the ranks where the sequences end.
template <class T, class Args, class Run>
void dense_two_pass_varlen(const char* name, const Args& a, const mpi_context& ctx, const run_options& opt, Run&& run) {
  using mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  check_slice<T>(name, ctx, a.v.extent(1), false);
  if (a.v.extent(0) != 1) throw shape_error(std::string("distributed::") + name + ": cu_seqlens needs B == 1");
  const index_t TL = a.v.extent(1), H = a.v.extent(2), K = a.k.extent(3), V = a.v.extent(3), n = K * K + K * V;
  const auto lp = local_pieces(ctx, a.cu_seqlens);
  const auto& pieces = lp.pieces;
  const index_t L = index_t(pieces.size());
  const std::span<const std::int64_t> lcu(lp.lcu);
  std::vector<T> fin(std::size_t(std::max<index_t>(L, 1) * H * K * V));
  const std::vector<T> init = piece_initial_states<T>(pieces, a.initial_state, H, K, V);
  if (L > 0) {  // pass 1a
    Args la = a;
    la.initial_state = const_view<T, 4>(init.data(), {L, H, K, V});
    la.final_state = tensor_view<T, 4>(fin.data(), {L, H, K, V});
    la.cu_seqlens = lcu;
    run(la);
  }
  const bool first_continues = L > 0 && pieces[0].continues;
  const bool reset = L > 0 && !(L == 1 && first_continues);
  std::vector<T> oprime, M(std::size_t(std::max<index_t>(L, 1) * H * K * K), T(0));
  if (first_continues) {  // pass 1b
    std::vector<T> zeros(std::size_t(TL * H * K), T(0)), eye(M.size(), T(0));
    for (index_t i = 0; i < L * H; ++i)
      for (index_t j = 0; j < K; ++j) eye[std::size_t((i * K + j) * K + j)] = T(1);
    oprime.assign(std::size_t(TL * H * K), T(0));
    Args lb = a;
    lb.v = const_view<T, 4>(zeros.data(), {1, TL, H, K});
    lb.o = tensor_view<T, 4>(oprime.data(), {1, TL, H, K});
    lb.initial_state = const_view<T, 4>(eye.data(), {L, H, K, K});
    lb.final_state = tensor_view<T, 4>(M.data(), {L, H, K, K});
    lb.cu_seqlens = lcu;
    run(lb);
  }
  std::vector<T> pairs(std::size_t(H * n), T(0));
  for (index_t h = 0; h < H; ++h) {
    T* p = pairs.data() + h * n;
    if (L == 0)  // empty slice: the identity
      for (index_t j = 0; j < K; ++j) p[j * K + j] = T(1);
    else if (!reset)
      std::copy(M.data() + h * K * K, M.data() + (h + 1) * K * K, p);
    if (L > 0) std::copy(fin.data() + ((L - 1) * H + h) * K * V, fin.data() + ((L - 1) * H + h + 1) * K * V, p + K * K);
  }
  const std::vector<T> in = dense_exscan<T>(ctx, H, K, V, pairs);
  if (first_continues) {
    const index_t lb = pieces[0].lb, rows = pieces[0].le - pieces[0].lb;
    parallel_for(H, resolve_threads(opt), [&](index_t h) {
      Eigen::Map<const mat> Sin(in.data() + h * n + K * K, K, V), Mi(M.data() + h * K * K, K, K);
      Eigen::Map<const mat, 0, Eigen::OuterStride<>> Op(oprime.data() + (lb * H + h) * K, rows, K,
                                                        Eigen::OuterStride<>(H * K));
      Eigen::Map<mat, 0, Eigen::OuterStride<>> O(a.o.ptr(0, lb, h), rows, V, Eigen::OuterStride<>(a.o.stride(1)));
      O.noalias() += Op * Sin;
      Eigen::Map<mat> F(fin.data() + h * K * V, K, V);
      F.noalias() += Mi * Sin;
    });
  }
  gather_final_states<T>(ctx, a.cu_seqlens, pieces, fin.data(), H, K, V, a.initial_state, a.final_state);
}

// The scheme for any op that is linear in (initial state, v) with a transition acting on the
// K rows of the state and a readout o_t = X_tᵀ(·) of the state X: Args has k [B,T,H,K],
// v [B,T,H,V], o, initial_state, final_state, cu_seqlens; run(args) calls the op.
template <class T, class Args, class Run>
void dense_two_pass(const char* name, const Args& a, const mpi_context& ctx, const run_options& opt, Run&& run) {
  using mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  if (!a.cu_seqlens.empty()) {
    dense_two_pass_varlen<T>(name, a, ctx, opt, run);
    return;
  }
  check_slice<T>(name, ctx, a.v.extent(1), false);
  const index_t B = a.v.extent(0), TL = a.v.extent(1), H = a.v.extent(2), K = a.k.extent(3), V = a.v.extent(3);
  const index_t items = B * H, n = K * K + K * V;
  std::vector<T> fin(std::size_t(items * K * V)), pairs(std::size_t(items * n), T(0));
  {  // pass 1a
    Args la = a;
    la.initial_state = ctx.rank == 0 ? a.initial_state : const_view<T, 4>{};
    la.final_state = tensor_view<T, 4>(fin.data(), {B, H, K, V});
    run(la);
  }
  std::vector<T> oprime, M(std::size_t(items * K * K), T(0));
  for (index_t it = 0; it < items; ++it)
    for (index_t i = 0; i < K; ++i) M[std::size_t((it * K + i) * K + i)] = T(1);
  if (ctx.rank > 0 && TL > 0) {  // pass 1b: transition matrices and o' = M_tᵀ(scale q_t)
    std::vector<T> zeros(std::size_t(B * TL * H * K), T(0));
    oprime.assign(std::size_t(B * TL * H * K), T(0));
    const std::vector<T> eye = M;
    Args lb = a;
    lb.v = const_view<T, 4>(zeros.data(), {B, TL, H, K});
    lb.o = tensor_view<T, 4>(oprime.data(), {B, TL, H, K});
    lb.initial_state = const_view<T, 4>(eye.data(), {B, H, K, K});
    lb.final_state = tensor_view<T, 4>(M.data(), {B, H, K, K});
    run(lb);
  }
  for (index_t it = 0; it < items; ++it) {
    std::copy(M.data() + it * K * K, M.data() + (it + 1) * K * K, pairs.data() + it * n);
    std::copy(fin.data() + it * K * V, fin.data() + (it + 1) * K * V, pairs.data() + it * n + K * K);
  }
  const std::vector<T> in = dense_exscan<T>(ctx, items, K, V, pairs);
  if (ctx.rank > 0) {
    parallel_for(items, resolve_threads(opt), [&](index_t it) {
      const index_t b = it / H, h = it % H;
      Eigen::Map<const mat> Sin(in.data() + it * n + K * K, K, V), Mi(M.data() + it * K * K, K, K);
      if (TL > 0) {
        Eigen::Map<const mat, 0, Eigen::OuterStride<>> Op(oprime.data() + (b * TL * H + h) * K, TL, K,
                                                          Eigen::OuterStride<>(H * K));
        Eigen::Map<mat, 0, Eigen::OuterStride<>> O(a.o.ptr(b, 0, h), TL, V, Eigen::OuterStride<>(a.o.stride(1)));
        O.noalias() += Op * Sin;
      }
      Eigen::Map<mat> F(fin.data() + it * K * V, K, V);
      F.noalias() += Mi * Sin;
    });
  }
  if (!a.final_state.empty()) {
    broadcast_from_last(ctx, fin.data(), items * K * V);
    for (index_t b = 0; b < B; ++b)
      for (index_t h = 0; h < H; ++h)
        for (index_t i = 0; i < K; ++i)
          for (index_t j = 0; j < V; ++j) a.final_state(b, h, i, j) = fin[std::size_t(((b * H + h) * K + i) * V + j)];
  }
}


}  // namespace detail

template <class T>
void delta_rule(const delta_rule_args<T>& a, const mpi_context& ctx, const run_options& opt = {}) {
  detail::dense_two_pass<T>("delta_rule", a, ctx, opt, [&](const delta_rule_args<T>& x) { seqmix::delta_rule(x, opt); });
}

// S_t = e^{g_t}(I - β_t k_t k_tᵀ) S_{t-1} + β_t k_t v_tᵀ: the same scheme (the gate is in M).
template <class T>
void gated_delta_rule(const gated_delta_rule_args<T>& a, const mpi_context& ctx, const run_options& opt = {}) {
  detail::dense_two_pass<T>("gated_delta_rule", a, ctx, opt,
                            [&](const gated_delta_rule_args<T>& x) { seqmix::gated_delta_rule(x, opt); });
}

// RWKV-6: diagonal transition, but the bonus term makes the readout use S_{t-1}; the generic
// scheme handles it (o' comes from the op itself).
template <class T>
void rwkv6(const rwkv6_args<T>& a, const mpi_context& ctx, const run_options& opt = {}) {
  detail::dense_two_pass<T>("rwkv6", a, ctx, opt, [&](const rwkv6_args<T>& x) { seqmix::rwkv6(x, opt); });
}

// RWKV-7: transition diag(e^{w}) + a bᵀ on the K rows (dense).
template <class T>
void rwkv7(const rwkv7_args<T>& a, const mpi_context& ctx, const run_options& opt = {}) {
  detail::dense_two_pass<T>("rwkv7", a, ctx, opt, [&](const rwkv7_args<T>& x) { seqmix::rwkv7(x, opt); });
}

}  // namespace seqmix::distributed
