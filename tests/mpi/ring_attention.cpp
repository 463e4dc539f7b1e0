// Ring attention == the single-process attention op on the whole sequence: causal and not,
// GQA, contiguous even / uneven slices and zig-zag, one-way and both-ways (TokenRing) rings,
// T not divisible by the rank count.
#include "seqmix/distributed/ring_attention.hpp"
#include "seqmix/ops/attention.hpp"
#include "support/mpi_testing.hpp"

using namespace seqmix;
using namespace seqmix::testing;

namespace {
// The concatenation of a rank's segments of a [B,T,...] tensor.
template <class T>
tensor<T> gather_segments(const tensor<T>& full, const std::vector<distributed::segment>& segs) {
  std::vector<index_t> shape = full.shape();
  index_t n = 0;
  for (const auto& s : segs) n += s.length;
  const index_t B = shape[0];
  shape[1] = n;
  tensor<T> out(shape);
  const index_t inner = full.size() / std::max<index_t>(1, B * full.extent(1));
  index_t off = 0;
  for (const auto& s : segs) {
    auto part = time_slice(full, s.begin, s.begin + s.length);
    for (index_t b = 0; b < B; ++b)
      std::copy(part.data() + b * s.length * inner, part.data() + (b + 1) * s.length * inner,
                out.data() + (b * n + off) * inner);
    off += s.length;
  }
  return out;
}
}  // namespace

TEMPLATE_TEST_CASE("ring attention == single process", "[mpi][attention]", float, double) {
  using T = TestType;
  const index_t B = 2, HQ = 4, H = 2, K = 8, V = 6;
  const int P = world_size();
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  for (index_t TT : {1, 37, 300})
    for (bool causal : {true, false})
      for (int kind = 0; kind < 5; ++kind) {  // 0 even, 1 uneven, 2 zig-zag; 3, 4: zig-zag, uneven both ways
        auto q = random_tensor<T>({B, TT, HQ, K}, -2, 2), k = random_tensor<T>({B, TT, H, K}, -2, 2);
        auto v = random_tensor<T>({B, TT, H, V});
        tensor<T> o({B, TT, HQ, V});
        attention_args<T> full{cv<4>(q), cv<4>(k), cv<4>(v), mv<4>(o), {}, {}};
        full.causal = causal;
        seqmix::attention(full);

        const auto layout = kind == 2 || kind == 3 ? distributed::zigzag_layout(TT, P)
                                                   : distributed::contiguous_layout(test_offsets(TT, kind == 1 || kind == 4));
        const auto dir = kind >= 3 ? distributed::ring_direction::both_ways : distributed::ring_direction::one_way;
        const auto& segs = layout.ranks[std::size_t(rank)];
        auto ql = gather_segments(q, segs), kl = gather_segments(k, segs), vl = gather_segments(v, segs);
        tensor<T> ol({B, layout.local_length(rank), HQ, V});
        attention_args<T> loc{cv<4>(ql), cv<4>(kl), cv<4>(vl), mv<4>(ol), {}, {}};
        loc.causal = causal;
        distributed::ring_attention(loc, MPI_COMM_WORLD, layout, {}, dir);
        const double err = global_max(max_rel_error(ol, gather_segments(o, segs)));
        INFO("T=" << TT << " causal=" << causal << " layout=" << kind << " ranks=" << P);
        REQUIRE(err <= 4 * tol<T>);
      }
}

TEST_CASE("ring attention over an mpi_context == single process", "[mpi][attention]") {
  const index_t B = 1, H = 3, K = 16, V = 16, TT = 97;
  auto q = random_tensor<double>({B, TT, H, K}), k = random_tensor<double>({B, TT, H, K});
  auto v = random_tensor<double>({B, TT, H, V});
  tensor<double> o({B, TT, H, V});
  seqmix::attention<double>({cv<4>(q), cv<4>(k), cv<4>(v), mv<4>(o), {}, {}});
  const auto ctx = distributed::make_context(MPI_COMM_WORLD, TT);
  auto ql = time_slice(q, ctx.begin, ctx.end), kl = time_slice(k, ctx.begin, ctx.end), vl = time_slice(v, ctx.begin, ctx.end);
  tensor<double> ol({B, ctx.length(), H, V});
  distributed::ring_attention<double>({cv<4>(ql), cv<4>(kl), cv<4>(vl), mv<4>(ol), {}, {}}, ctx);
  REQUIRE(global_max(max_rel_error(ol, time_slice(o, ctx.begin, ctx.end))) <= 1e-11);
}

TEST_CASE("ring attention: unsupported options throw", "[mpi][attention]") {
  const auto ctx = distributed::make_context(MPI_COMM_WORLD, index_t(0));
  tensor<float> q({1, 0, 1, 4}), o({1, 0, 1, 4});
  attention_args<float> a{cv<4>(q), cv<4>(q), cv<4>(q), mv<4>(o), {}, {}};
  a.window = 4;
  REQUIRE_THROWS_WITH(distributed::ring_attention(a, ctx), Catch::Contains("window"));
}

TEMPLATE_TEST_CASE("ring attention, varlen sequences crossing rank boundaries == single process",
                   "[mpi][attention][varlen]", float, double) {
  using T = TestType;
  const index_t HQ = 2, H = 1, K = 8, V = 6;
  const int P = world_size();
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  const std::vector<std::vector<std::int64_t>> cases = {
      {0, 5, 5, 40, 41, 301}, {0, 301}, {0, 1, 2, 3, 301}, {0, 64, 65, 129, 300, 301}};
  for (const auto& cu : cases)
    for (bool causal : {true, false})
      for (int kind = 0; kind < 4; ++kind) {  // 0 even, 1 uneven, 2 zig-zag, 3 zig-zag both ways
        const index_t TT = cu.back();
        auto q = random_tensor<T>({1, TT, HQ, K}, -2, 2), k = random_tensor<T>({1, TT, H, K}, -2, 2);
        auto v = random_tensor<T>({1, TT, H, V});
        tensor<T> o({1, TT, HQ, V});
        attention_args<T> full{cv<4>(q), cv<4>(k), cv<4>(v), mv<4>(o), {}, {}};
        full.causal = causal;
        full.cu_seqlens = cu;
        seqmix::attention(full);

        const auto layout = kind >= 2 ? distributed::zigzag_layout(TT, P) : distributed::contiguous_layout(test_offsets(TT, kind == 1));
        const auto dir = kind == 3 ? distributed::ring_direction::both_ways : distributed::ring_direction::one_way;
        const auto& segs = layout.ranks[std::size_t(rank)];
        auto ql = gather_segments(q, segs), kl = gather_segments(k, segs), vl = gather_segments(v, segs);
        tensor<T> ol({1, layout.local_length(rank), HQ, V});
        attention_args<T> loc{cv<4>(ql), cv<4>(kl), cv<4>(vl), mv<4>(ol), {}, {}};
        loc.causal = causal;
        loc.cu_seqlens = cu;
        distributed::ring_attention(loc, MPI_COMM_WORLD, layout, {}, dir);
        const double err = global_max(max_rel_error(ol, gather_segments(o, segs)));
        INFO("cu.size=" << cu.size() << " causal=" << causal << " layout=" << kind << " ranks=" << P);
        REQUIRE(err <= 4 * tol<T>);
      }
}
