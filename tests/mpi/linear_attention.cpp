// Distributed gla / simple_gla / ssd == the single-process op on the whole sequence (same
// precision), even and uneven slices, T not divisible by the rank count, with and without an
// initial state; final_state == the single-process final state on every rank.
#include "seqmix/distributed/linear_attention.hpp"
#include "support/mpi_testing.hpp"

using namespace seqmix;
using namespace seqmix::testing;

namespace {
constexpr index_t lengths[] = {0, 1, 37, 130};
}

TEMPLATE_TEST_CASE("distributed gla == single process", "[mpi][gla]", float, double) {
  using T = TestType;
  const index_t B = 2, H = 3, K = 8, V = 5;
  for (index_t TT : lengths)
    for (bool uneven : {false, true})
      for (bool with_init : {false, true}) {
        auto q = random_tensor<T>({B, TT, H, K}), k = random_tensor<T>({B, TT, H, K});
        auto v = random_tensor<T>({B, TT, H, V}), g = random_tensor<T>({B, TT, H, K}, -0.2, 0.0);
        auto s0 = with_init ? random_tensor<T>({B, H, K, V}) : tensor<T>();
        tensor<T> o({B, TT, H, V}), fs({B, H, K, V});
        gla_args<T> full{cv<4>(q), cv<4>(k), cv<4>(v), cv<4>(g), mv<4>(o), cv<4>(s0), mv<4>(fs)};
        seqmix::gla(full);

        const auto ctx = distributed::make_context(MPI_COMM_WORLD, test_offsets(TT, uneven));
        auto ql = time_slice(q, ctx.begin, ctx.end), kl = time_slice(k, ctx.begin, ctx.end);
        auto vl = time_slice(v, ctx.begin, ctx.end), gl = time_slice(g, ctx.begin, ctx.end);
        tensor<T> ol({B, ctx.length(), H, V}), fsl({B, H, K, V});
        distributed::gla<T>({cv<4>(ql), cv<4>(kl), cv<4>(vl), cv<4>(gl), mv<4>(ol), cv<4>(s0), mv<4>(fsl)}, ctx);
        const double err =
            global_max(std::max(max_rel_error(ol, time_slice(o, ctx.begin, ctx.end)), max_rel_error(fsl, fs)));
        INFO("T=" << TT << " uneven=" << uneven << " init=" << with_init << " ranks=" << ctx.size);
        REQUIRE(err <= 4 * tol<T>);
      }
}

TEMPLATE_TEST_CASE("distributed simple_gla == single process", "[mpi][simple_gla]", float, double) {
  using T = TestType;
  const index_t B = 1, H = 2, K = 6, V = 9;
  for (index_t TT : lengths)
    for (bool uneven : {false, true}) {
      auto q = random_tensor<T>({B, TT, H, K}), k = random_tensor<T>({B, TT, H, K});
      auto v = random_tensor<T>({B, TT, H, V}), g = random_tensor<T>({B, TT, H}, -0.2, 0.0);
      auto s0 = random_tensor<T>({B, H, K, V});
      tensor<T> o({B, TT, H, V}), fs({B, H, K, V});
      seqmix::simple_gla<T>({cv<4>(q), cv<4>(k), cv<4>(v), cv<3>(g), mv<4>(o), cv<4>(s0), mv<4>(fs)});

      const auto ctx = distributed::make_context(MPI_COMM_WORLD, test_offsets(TT, uneven));
      auto ql = time_slice(q, ctx.begin, ctx.end), kl = time_slice(k, ctx.begin, ctx.end);
      auto vl = time_slice(v, ctx.begin, ctx.end), gl = time_slice(g, ctx.begin, ctx.end);
      tensor<T> ol({B, ctx.length(), H, V}), fsl({B, H, K, V});
      distributed::simple_gla<T>({cv<4>(ql), cv<4>(kl), cv<4>(vl), cv<3>(gl), mv<4>(ol), cv<4>(s0), mv<4>(fsl)},
                                 ctx);
      const double err =
          global_max(std::max(max_rel_error(ol, time_slice(o, ctx.begin, ctx.end)), max_rel_error(fsl, fs)));
      INFO("T=" << TT << " uneven=" << uneven << " ranks=" << ctx.size);
      REQUIRE(err <= 4 * tol<T>);
    }
}

TEMPLATE_TEST_CASE("distributed ssd == single process", "[mpi][ssd]", float, double) {
  using T = TestType;
  const index_t B = 2, H = 4, G = 2, P = 5, N = 7;
  for (index_t TT : lengths)
    for (bool uneven : {false, true}) {
      auto x = random_tensor<T>({B, TT, H, P}), dt = random_tensor<T>({B, TT, H}, 0.01, 0.3);
      auto A = random_tensor<T>({H}, -1.0, -0.1), D = random_tensor<T>({H});
      auto Bm = random_tensor<T>({B, TT, G, N}), Cm = random_tensor<T>({B, TT, G, N});
      auto s0 = random_tensor<T>({B, H, P, N});
      tensor<T> o({B, TT, H, P}), fs({B, H, P, N});
      seqmix::ssd<T>({cv<4>(x), cv<3>(dt), cv<1>(A), cv<4>(Bm), cv<4>(Cm), cv<1>(D), mv<4>(o), cv<4>(s0), mv<4>(fs)});

      const auto ctx = distributed::make_context(MPI_COMM_WORLD, test_offsets(TT, uneven));
      auto xl = time_slice(x, ctx.begin, ctx.end), dtl = time_slice(dt, ctx.begin, ctx.end);
      auto Bl = time_slice(Bm, ctx.begin, ctx.end), Cl = time_slice(Cm, ctx.begin, ctx.end);
      tensor<T> ol({B, ctx.length(), H, P}), fsl({B, H, P, N});
      distributed::ssd<T>(
          {cv<4>(xl), cv<3>(dtl), cv<1>(A), cv<4>(Bl), cv<4>(Cl), cv<1>(D), mv<4>(ol), cv<4>(s0), mv<4>(fsl)}, ctx);
      const double err =
          global_max(std::max(max_rel_error(ol, time_slice(o, ctx.begin, ctx.end)), max_rel_error(fsl, fs)));
      INFO("T=" << TT << " uneven=" << uneven << " ranks=" << ctx.size);
      REQUIRE(err <= 4 * tol<T>);
    }
}

TEMPLATE_TEST_CASE("distributed gla, varlen sequences crossing rank boundaries == single process", "[mpi][gla]",
                   float, double) {
  using T = TestType;
  const index_t H = 2, K = 4, V = 3;
  const std::vector<std::vector<std::int64_t>> cases = {
      {0, 5, 5, 40, 41, 130}, {0, 130}, {0, 1, 2, 3, 130}, {0, 64, 65, 129, 130}, {0, 0}};
  for (const auto& cu : cases)
    for (bool uneven : {false, true}) {
      const index_t TT = cu.back(), N = index_t(cu.size()) - 1;
      auto q = random_tensor<T>({1, TT, H, K}), k = random_tensor<T>({1, TT, H, K});
      auto v = random_tensor<T>({1, TT, H, V}), g = random_tensor<T>({1, TT, H, K}, -0.2, 0.0);
      auto s0 = random_tensor<T>({N, H, K, V});
      tensor<T> o({1, TT, H, V}), fs({N, H, K, V});
      gla_args<T> full{cv<4>(q), cv<4>(k), cv<4>(v), cv<4>(g), mv<4>(o), cv<4>(s0), mv<4>(fs), cu};
      seqmix::gla(full);

      const auto ctx = distributed::make_context(MPI_COMM_WORLD, test_offsets(TT, uneven));
      auto ql = time_slice(q, ctx.begin, ctx.end), kl = time_slice(k, ctx.begin, ctx.end);
      auto vl = time_slice(v, ctx.begin, ctx.end), gl = time_slice(g, ctx.begin, ctx.end);
      tensor<T> ol({1, ctx.length(), H, V}), fsl({N, H, K, V});
      distributed::gla<T>({cv<4>(ql), cv<4>(kl), cv<4>(vl), cv<4>(gl), mv<4>(ol), cv<4>(s0), mv<4>(fsl), cu}, ctx);
      const double err =
          global_max(std::max(max_rel_error(ol, time_slice(o, ctx.begin, ctx.end)), max_rel_error(fsl, fs)));
      INFO("cu.size=" << cu.size() << " T=" << TT << " uneven=" << uneven << " ranks=" << ctx.size);
      REQUIRE(err <= 4 * tol<T>);
    }
}

TEMPLATE_TEST_CASE("distributed simple_gla and ssd, varlen across ranks == single process", "[mpi][simple_gla][ssd]",
                   float, double) {
  using T = TestType;
  const index_t H = 2, K = 4, V = 3, G = 1;
  const std::vector<std::vector<std::int64_t>> cases = {{0, 5, 5, 40, 41, 130}, {0, 130}, {0, 64, 65, 129, 130}};
  for (const auto& cu : cases)
    for (bool uneven : {false, true}) {
      const index_t TT = cu.back(), N = index_t(cu.size()) - 1;
      const auto ctx = distributed::make_context(MPI_COMM_WORLD, test_offsets(TT, uneven));
      auto sl = [&](const tensor<T>& t) { return time_slice(t, ctx.begin, ctx.end); };
      auto q = random_tensor<T>({1, TT, H, K}), k = random_tensor<T>({1, TT, H, K});
      auto v = random_tensor<T>({1, TT, H, V}), g = random_tensor<T>({1, TT, H}, -0.2, 0.0);
      auto s0 = random_tensor<T>({N, H, K, V});
      {
        tensor<T> o({1, TT, H, V}), fs({N, H, K, V});
        seqmix::simple_gla<T>({cv<4>(q), cv<4>(k), cv<4>(v), cv<3>(g), mv<4>(o), cv<4>(s0), mv<4>(fs), cu});
        auto ql = sl(q), kl = sl(k), vl = sl(v), gl = sl(g);
        tensor<T> ol({1, ctx.length(), H, V}), fsl({N, H, K, V});
        distributed::simple_gla<T>({cv<4>(ql), cv<4>(kl), cv<4>(vl), cv<3>(gl), mv<4>(ol), cv<4>(s0), mv<4>(fsl), cu}, ctx);
        const double err = global_max(std::max(max_rel_error(ol, sl(o)), max_rel_error(fsl, fs)));
        INFO("simple_gla cu.size=" << cu.size() << " uneven=" << uneven << " ranks=" << ctx.size);
        REQUIRE(err <= 4 * tol<T>);
      }
      {  // ssd: x = v (P = V), B = k, C = q (N = K), dt = -g + 0.01
        auto dt = g;
        for (auto& x : dt.values()) x = T(0.01) - x;
        auto A = random_tensor<T>({H}, -1.0, -0.1), D = random_tensor<T>({H});
        auto Bm = random_tensor<T>({1, TT, G, K}), Cm = random_tensor<T>({1, TT, G, K});
        auto st = random_tensor<T>({N, H, V, K});
        tensor<T> o({1, TT, H, V}), fs({N, H, V, K});
        seqmix::ssd<T>({cv<4>(v), cv<3>(dt), cv<1>(A), cv<4>(Bm), cv<4>(Cm), cv<1>(D), mv<4>(o), cv<4>(st), mv<4>(fs), cu});
        auto vl = sl(v), dtl = sl(dt), Bl = sl(Bm), Cl = sl(Cm);
        tensor<T> ol({1, ctx.length(), H, V}), fsl({N, H, V, K});
        distributed::ssd<T>(
            {cv<4>(vl), cv<3>(dtl), cv<1>(A), cv<4>(Bl), cv<4>(Cl), cv<1>(D), mv<4>(ol), cv<4>(st), mv<4>(fsl), cu}, ctx);
        const double err = global_max(std::max(max_rel_error(ol, sl(o)), max_rel_error(fsl, fs)));
        INFO("ssd cu.size=" << cu.size() << " uneven=" << uneven << " ranks=" << ctx.size);
        REQUIRE(err <= 4 * tol<T>);
      }
    }
}

TEMPLATE_TEST_CASE("distributed gla: strong decays (the correction stops once the state is forgotten) == single process",
                   "[mpi][gla]", float, double) {
  using T = TestType;
  const index_t B = 1, H = 2, K = 4, V = 3, TT = 1000;  // cum reaches -760 within ~400 rows
  auto q = random_tensor<T>({B, TT, H, K}), k = random_tensor<T>({B, TT, H, K});
  auto v = random_tensor<T>({B, TT, H, V}), g = random_tensor<T>({B, TT, H, K}, -4.0, -1.0);
  auto s0 = random_tensor<T>({B, H, K, V});
  tensor<T> o({B, TT, H, V}), fs({B, H, K, V});
  seqmix::gla<T>({cv<4>(q), cv<4>(k), cv<4>(v), cv<4>(g), mv<4>(o), cv<4>(s0), mv<4>(fs)});
  const auto ctx = distributed::make_context(MPI_COMM_WORLD, TT);
  auto sl = [&](const tensor<T>& t) { return time_slice(t, ctx.begin, ctx.end); };
  auto ql = sl(q), kl = sl(k), vl = sl(v), gl = sl(g);
  tensor<T> ol({B, ctx.length(), H, V}), fsl({B, H, K, V});
  distributed::gla<T>({cv<4>(ql), cv<4>(kl), cv<4>(vl), cv<4>(gl), mv<4>(ol), cv<4>(s0), mv<4>(fsl)}, ctx);
  REQUIRE(global_max(std::max(max_rel_error(ol, sl(o)), max_rel_error(fsl, fs))) <= 4 * tol<T>);
}
