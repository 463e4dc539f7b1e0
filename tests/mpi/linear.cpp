// Distributed linear recurrences == the single-process op on the whole sequence.
#include "seqmix/distributed/linear_scan.hpp"
#include "support/mpi_testing.hpp"

using namespace seqmix;
using namespace seqmix::testing;

TEMPLATE_TEST_CASE("distributed linear_scan == single process", "[mpi][linear_scan]", float, double) {
  using T = TestType;
  for (index_t TT : {0, 1, 7, 61, 256}) {
    for (bool uneven : {false, true}) {
      for (bool with_init : {false, true}) {
        const index_t B = 2, D = 19;
        auto x = random_tensor<T>({B, TT, D});
        auto g = random_tensor<T>({B, TT, D}, -0.3, 0.0);
        auto h0 = with_init ? random_tensor<T>({B, D}) : tensor<T>();
        tensor<T> o({B, TT, D}), fs({B, D});
        seqmix::linear_scan<T>({cv<3>(x), cv<3>(g), mv<3>(o), cv<2>(h0), mv<2>(fs)});

        const auto ctx = distributed::make_context(MPI_COMM_WORLD, test_offsets(TT, uneven));
        auto xl = time_slice(x, ctx.begin, ctx.end), gl = time_slice(g, ctx.begin, ctx.end);
        tensor<T> ol({B, ctx.length(), D}), fsl({B, D});
        distributed::linear_scan<T>({cv<3>(xl), cv<3>(gl), mv<3>(ol), cv<2>(h0), mv<2>(fsl)}, ctx);
        const double err = global_max(std::max(max_rel_error(ol, time_slice(o, ctx.begin, ctx.end)),
                                               max_rel_error(fsl, fs)));
        INFO("T=" << TT << " uneven=" << uneven << " init=" << with_init << " ranks=" << ctx.size);
        REQUIRE(err <= 4 * tol<T>);
      }
    }
  }
}

TEMPLATE_TEST_CASE("distributed linear_scan, varlen across ranks == single process", "[mpi][linear_scan]", float,
                   double) {
  using T = TestType;
  const index_t D = 11;
  const std::vector<std::vector<std::int64_t>> cases = {{0, 5, 5, 40, 41, 130}, {0, 130}, {0, 64, 65, 129, 130}, {0, 0}};
  for (const auto& cu : cases)
    for (bool uneven : {false, true}) {
      const index_t TT = cu.back(), N = index_t(cu.size()) - 1;
      auto x = random_tensor<T>({1, TT, D}), g = random_tensor<T>({1, TT, D}, -0.3, 0.0);
      auto h0 = random_tensor<T>({N, D});
      tensor<T> o({1, TT, D}), fs({N, D});
      seqmix::linear_scan<T>({cv<3>(x), cv<3>(g), mv<3>(o), cv<2>(h0), mv<2>(fs), cu});
      const auto ctx = distributed::make_context(MPI_COMM_WORLD, test_offsets(TT, uneven));
      auto xl = time_slice(x, ctx.begin, ctx.end), gl = time_slice(g, ctx.begin, ctx.end);
      tensor<T> ol({1, ctx.length(), D}), fsl({N, D});
      distributed::linear_scan<T>({cv<3>(xl), cv<3>(gl), mv<3>(ol), cv<2>(h0), mv<2>(fsl), cu}, ctx);
      const double err =
          global_max(std::max(max_rel_error(ol, time_slice(o, ctx.begin, ctx.end)), max_rel_error(fsl, fs)));
      INFO("cu.size=" << cu.size() << " uneven=" << uneven << " ranks=" << ctx.size);
      REQUIRE(err <= 4 * tol<T>);
    }
}

TEST_CASE("distributed linear_scan: a slice that does not match the context throws", "[mpi][linear_scan]") {
  const auto ctx = distributed::make_context(MPI_COMM_WORLD, 10 * world_size());
  tensor<float> x({1, 3, 4}), g({1, 3, 4}), o({1, 3, 4});
  REQUIRE_THROWS_WITH(distributed::linear_scan<float>({cv<3>(x), cv<3>(g), mv<3>(o), {}, {}}, ctx),
                      Catch::Contains("context's slice"));
}
