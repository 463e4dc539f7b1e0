#pragma once
// Mixer-level sequence parallelism: forward_distributed(mixer, x, y, state, ctx) for any
// mixer, stack<...> or repeat<N, M> (nested too) whose state has a fixed size (recurrent
// and linear mixers: gla, deltanet, mamba, rwkv, ...). x / y: this rank's slice [TL, d_model]
// of the rows (ctx: contiguous slices). `state`: the state before the whole sequence on
// rank 0 (ignored on the other ranks); on return every rank holds the state after the whole
// sequence, so a stream can continue.
//
// Scheme: layer by layer, a wavefront. Rank r runs layer ℓ on its slice once rank r−1 has
// sent layer ℓ's state after its slice (MPI_Isend of the packed state, O(state) bytes),
// then passes on its own. So while rank r runs layer ℓ, rank r−1 runs layer ℓ+1: with L
// layers and P ranks the time is about (L + P − 1) slice-layers instead of L·P, a speed-up
// of P·L / (L + P − 1) (e.g. 2 ranks, 24 layers: 1.92×). Every layer runs the mixer's own
// forward (its fastest single-process ops), and the outputs are exact: each slice starts
// from its true state. (The op-level two-pass functions in this folder parallelise inside
// one layer instead; mixers call the single-process ops directly, so they are not routed
// through them.)
// Softmax attention has no distributed form at mixer level: its state is the KV cache, O(T),
// so passing it along would be a sequential relay of whole caches (use
// distributed::ring_attention at op level). has_distributed_form<M> is false for it (and for
// any stack / repeat containing it) and forward_distributed refuses it at compile time;
// specialise has_distributed_form for other mixers of that kind. A state that changes size
// between ranks is refused at run time (option_error naming the field).
#include <mpi.h>

#include <cstring>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "seqmix/compose/stack.hpp"
#include "seqmix/compose/state_io.hpp"
#include "seqmix/core/concepts.hpp"
#include "seqmix/distributed/mpi_context.hpp"

namespace seqmix::mixers {
template <class T> class attention;
}

namespace seqmix::distributed {

template <class M>
struct has_distributed_form : std::true_type {};
template <class T>
struct has_distributed_form<mixers::attention<T>> : std::false_type {};
template <class... M>
struct has_distributed_form<compose::stack<M...>> : std::bool_constant<(has_distributed_form<M>::value && ...)> {};
template <std::size_t N, class M>
struct has_distributed_form<compose::repeat<N, M>> : has_distributed_form<M> {};

namespace detail {

// A state packed as bytes, field after field (tensors and vectors as their values,
// counters as int64).
template <class S>
std::vector<char> pack_state(S& s) {
  std::vector<char> out;
  visit_state(s, "", [&](const std::string&, auto& v) {
    using V = std::remove_cvref_t<decltype(v)>;
    if constexpr (std::is_arithmetic_v<V>) {
      const std::int64_t x = static_cast<std::int64_t>(v);
      out.insert(out.end(), reinterpret_cast<const char*>(&x), reinterpret_cast<const char*>(&x) + sizeof x);
    } else {
      const auto* p = reinterpret_cast<const char*>(v.data());
      out.insert(out.end(), p, p + v.size() * sizeof(typename V::value_type));
    }
  });
  return out;
}

template <class S>
void unpack_state(S& s, const std::vector<char>& in, const char* what) {
  std::size_t pos = 0;
  visit_state(s, "", [&](const std::string& name, auto& v) {
    using V = std::remove_cvref_t<decltype(v)>;
    std::size_t bytes = 0;
    if constexpr (std::is_arithmetic_v<V>) bytes = sizeof(std::int64_t);
    else bytes = std::size_t(v.size()) * sizeof(typename V::value_type);
    if (pos + bytes > in.size())
      throw option_error(std::string("forward_distributed: ") + what + ": the state field '" + name +
                         "' changes size along the sequence (e.g. a KV cache): this mixer has no distributed form");
    if constexpr (std::is_arithmetic_v<V>) {
      std::int64_t x;
      std::memcpy(&x, in.data() + pos, sizeof x);
      v = static_cast<V>(x);
    } else {
      std::memcpy(reinterpret_cast<char*>(v.data()), in.data() + pos, bytes);
    }
    pos += bytes;
  });
  if (pos != in.size())
    throw option_error(std::string("forward_distributed: ") + what +
                       ": the state changes size along the sequence (e.g. a KV cache): this mixer has no distributed form");
}

// One layer of the wavefront: receive its state from rank − 1 (ranks > 0), run it on the
// slice, send the state on to rank + 1 (kept alive in `sends` until the end).
struct wavefront {
  const mpi_context& ctx;
  int layer = 0;
  std::vector<std::vector<char>> buffers = {};
  std::vector<MPI_Request> requests = {};

  template <class M>
  void run(const M& m, seq_cref<typename M::value_type> x, seq_ref<typename M::value_type> y,
           typename M::state_type& s) {
    const int tag = layer++;
    if (ctx.rank > 0) {
      MPI_Status st;
      MPI_Probe(ctx.rank - 1, tag, ctx.comm, &st);
      int count = 0;
      MPI_Get_count(&st, MPI_BYTE, &count);
      std::vector<char> in(static_cast<std::size_t>(count));
      MPI_Recv(in.data(), count, MPI_BYTE, ctx.rank - 1, tag, ctx.comm, MPI_STATUS_IGNORE);
      unpack_state(s, in, ("layer " + std::to_string(tag)).c_str());
    }
    if (x.extent(0) > 0) m.forward(x, y, s);
    if (ctx.rank + 1 < ctx.size) {
      buffers.push_back(pack_state(s));
      requests.emplace_back();
      MPI_Isend(buffers.back().data(), int(buffers.back().size()), MPI_BYTE, ctx.rank + 1, tag, ctx.comm,
                &requests.back());
    }
  }
  void finish() {
    if (!requests.empty()) MPI_Waitall(int(requests.size()), requests.data(), MPI_STATUSES_IGNORE);
  }
};

template <class M>
struct layered : std::false_type {};
template <class... M>
struct layered<compose::stack<M...>> : std::true_type {};
template <std::size_t N, class M>
struct layered<compose::repeat<N, M>> : std::true_type {};

// Runs mixer m (a stack / repeat layer by layer, recursively) through the wavefront.
template <class M>
void run_layers(wavefront& w, const M& m, seq_cref<typename M::value_type> x, seq_ref<typename M::value_type> y,
                typename M::state_type& s) {
  using T = typename M::value_type;
  if constexpr (!layered<M>::value) {
    w.run(m, x, y, s);
  } else {
    const index_t L = x.extent(0), d = index_t(m.d_model());
    tensor<T> buf[2] = {tensor<T>({L, d}), tensor<T>({L, d})};
    seq_cref<T> in = x;
    auto one = [&](const auto& layer, auto& st, std::size_t i, bool last) {
      if (last) {
        run_layers(w, layer, in, y, st);
      } else {
        run_layers(w, layer, in, buf[i % 2].template view<2>(), st);
        in = buf[i % 2].template cview<2>();
      }
    };
    if constexpr (requires { m.template layer<0>(); }) {  // stack<M...>
      [&]<std::size_t... I>(std::index_sequence<I...>) {
        (one(m.template layer<I>(), std::get<I>(s), I, I + 1 == M::depth), ...);
      }(std::make_index_sequence<M::depth>{});
    } else {  // repeat<N, M>
      for (std::size_t i = 0; i < M::depth; ++i) one(m.layer(i), s[i], i, i + 1 == M::depth);
    }
  }
}

template <class S>
void broadcast_state_from_last(const mpi_context& ctx, S& s) {
  if (ctx.size == 1) return;
  std::vector<char> bytes;
  if (ctx.rank == ctx.size - 1) bytes = pack_state(s);
  long long n = static_cast<long long>(bytes.size());
  MPI_Bcast(&n, 1, MPI_LONG_LONG, ctx.size - 1, ctx.comm);
  bytes.resize(static_cast<std::size_t>(n));
  MPI_Bcast(bytes.data(), int(n), MPI_BYTE, ctx.size - 1, ctx.comm);
  if (ctx.rank != ctx.size - 1) unpack_state(s, bytes, "final state");
}

}  // namespace detail

template <class M>
  requires mixer<M>
void forward_distributed(const M& m, seq_cref<typename M::value_type> x, seq_ref<typename M::value_type> y,
                         typename M::state_type& s, const mpi_context& ctx) {
  static_assert(has_distributed_form<M>::value,
                "forward_distributed: a layer is softmax attention (its state, the KV cache, is O(T)); it has no "
                "mixer-level distributed form: use distributed::ring_attention at op level");
  const index_t d = index_t(m.d_model());
  seqmix::detail::check_shape("forward_distributed", "x", x, {ctx.length(), d});
  seqmix::detail::check_shape("forward_distributed", "y", y, {ctx.length(), d});
  detail::wavefront w{ctx};
  detail::run_layers(w, m, x, y, s);
  w.finish();
  detail::broadcast_state_from_last(ctx, s);
}

}  // namespace seqmix::distributed
