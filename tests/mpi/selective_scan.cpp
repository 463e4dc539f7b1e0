// Distributed selective scan (Mamba-1) == the single-process op on the whole sequence.
#include "seqmix/distributed/selective_scan.hpp"
#include "support/mpi_testing.hpp"

using namespace seqmix;
using namespace seqmix::testing;

TEMPLATE_TEST_CASE("distributed selective_scan == single process", "[mpi][selective_scan]", float, double) {
  using T = TestType;
  const index_t B = 2, D = 6, N = 4, G = 2;
  for (index_t TT : {0, 1, 37, 130})
    for (bool uneven : {false, true}) {
      auto x = random_tensor<T>({B, TT, D}), dt = random_tensor<T>({B, TT, D}, -2.0, 0.5);
      auto A = random_tensor<T>({D, N}, -1.5, -0.2), Bm = random_tensor<T>({B, TT, G, N});
      auto Cm = random_tensor<T>({B, TT, G, N}), z = random_tensor<T>({B, TT, D});
      auto Dk = random_tensor<T>({D}), bias = random_tensor<T>({D}, -0.5, 0.5), s0 = random_tensor<T>({B, D, N});
      tensor<T> o({B, TT, D}), fs({B, D, N});
      seqmix::selective_scan<T>({cv<3>(x), cv<3>(dt), cv<2>(A), cv<4>(Bm), cv<4>(Cm), mv<3>(o), cv<3>(z), cv<1>(Dk),
                                 cv<1>(bias), cv<3>(s0), mv<3>(fs)});
      const auto ctx = distributed::make_context(MPI_COMM_WORLD, test_offsets(TT, uneven));
      auto sl = [&](const tensor<T>& t) { return time_slice(t, ctx.begin, ctx.end); };
      auto xl = sl(x), dtl = sl(dt), Bl = sl(Bm), Cl = sl(Cm), zl = sl(z);
      tensor<T> ol({B, ctx.length(), D}), fsl({B, D, N});
      distributed::selective_scan<T>({cv<3>(xl), cv<3>(dtl), cv<2>(A), cv<4>(Bl), cv<4>(Cl), mv<3>(ol), cv<3>(zl),
                                      cv<1>(Dk), cv<1>(bias), cv<3>(s0), mv<3>(fsl)},
                                     ctx);
      const double err = global_max(std::max(max_rel_error(ol, sl(o)), max_rel_error(fsl, fs)));
      INFO("T=" << TT << " uneven=" << uneven << " ranks=" << ctx.size);
      REQUIRE(err <= 8 * tol<T>);
    }
}

TEMPLATE_TEST_CASE("distributed selective_scan, varlen sequences crossing rank boundaries == single process",
                   "[mpi][selective_scan][varlen]", float, double) {
  using T = TestType;
  const index_t D = 6, N = 4, G = 2;
  const std::vector<std::vector<std::int64_t>> cases = {
      {0, 5, 5, 40, 41, 131}, {0, 131}, {0, 1, 2, 3, 131}, {0, 64, 65, 129, 131}, {0, 0}};
  for (const auto& cu : cases)
    for (bool uneven : {false, true}) {
      const index_t TT = cu.back(), S = index_t(cu.size()) - 1;
      auto x = random_tensor<T>({1, TT, D}), dt = random_tensor<T>({1, TT, D}, -2.0, 0.5);
      auto A = random_tensor<T>({D, N}, -1.5, -0.2), Bm = random_tensor<T>({1, TT, G, N});
      auto Cm = random_tensor<T>({1, TT, G, N}), z = random_tensor<T>({1, TT, D});
      auto Dk = random_tensor<T>({D}), bias = random_tensor<T>({D}, -0.5, 0.5), s0 = random_tensor<T>({S, D, N});
      tensor<T> o({1, TT, D}), fs({S, D, N});
      seqmix::selective_scan<T>({cv<3>(x), cv<3>(dt), cv<2>(A), cv<4>(Bm), cv<4>(Cm), mv<3>(o), cv<3>(z), cv<1>(Dk),
                                 cv<1>(bias), cv<3>(s0), mv<3>(fs), cu});
      const auto ctx = distributed::make_context(MPI_COMM_WORLD, test_offsets(TT, uneven));
      auto sl = [&](const tensor<T>& t) { return time_slice(t, ctx.begin, ctx.end); };
      auto xl = sl(x), dtl = sl(dt), Bl = sl(Bm), Cl = sl(Cm), zl = sl(z);
      tensor<T> ol({1, ctx.length(), D}), fsl({S, D, N});
      distributed::selective_scan<T>({cv<3>(xl), cv<3>(dtl), cv<2>(A), cv<4>(Bl), cv<4>(Cl), mv<3>(ol), cv<3>(zl),
                                      cv<1>(Dk), cv<1>(bias), cv<3>(s0), mv<3>(fsl), cu},
                                     ctx);
      const double err = global_max(std::max(max_rel_error(ol, sl(o)), max_rel_error(fsl, fs)));
      INFO("cu.size=" << cu.size() << " uneven=" << uneven << " ranks=" << ctx.size);
      REQUIRE(err <= 8 * tol<T>);
    }
}
