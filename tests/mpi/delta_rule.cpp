// Distributed delta rule == the single-process op on the whole sequence (dense K×K transition
// matrices through the exscan).
#include "seqmix/distributed/delta_rule.hpp"
#include "support/mpi_testing.hpp"

using namespace seqmix;
using namespace seqmix::testing;

TEMPLATE_TEST_CASE("distributed delta_rule == single process", "[mpi][delta_rule]", float, double) {
  using T = TestType;
  const index_t B = 2, H = 2, K = 6, V = 5;
  for (index_t TT : {0, 1, 37, 130})
    for (bool uneven : {false, true})
      for (bool with_init : {false, true}) {
        auto q = random_tensor<T>({B, TT, H, K}), k = random_tensor<T>({B, TT, H, K}, -0.4, 0.4);
        auto v = random_tensor<T>({B, TT, H, V}), beta = random_tensor<T>({B, TT, H}, 0.1, 0.9);
        auto s0 = with_init ? random_tensor<T>({B, H, K, V}) : tensor<T>();
        tensor<T> o({B, TT, H, V}), fs({B, H, K, V});
        seqmix::delta_rule<T>({cv<4>(q), cv<4>(k), cv<4>(v), cv<3>(beta), mv<4>(o), cv<4>(s0), mv<4>(fs)});

        const auto ctx = distributed::make_context(MPI_COMM_WORLD, test_offsets(TT, uneven));
        auto sl = [&](const tensor<T>& t) { return time_slice(t, ctx.begin, ctx.end); };
        auto ql = sl(q), kl = sl(k), vl = sl(v), bl = sl(beta);
        tensor<T> ol({B, ctx.length(), H, V}), fsl({B, H, K, V});
        distributed::delta_rule<T>({cv<4>(ql), cv<4>(kl), cv<4>(vl), cv<3>(bl), mv<4>(ol), cv<4>(s0), mv<4>(fsl)}, ctx);
        const double err = global_max(std::max(max_rel_error(ol, sl(o)), max_rel_error(fsl, fs)));
        INFO("T=" << TT << " uneven=" << uneven << " init=" << with_init << " ranks=" << ctx.size);
        REQUIRE(err <= 8 * tol<T>);
      }
}

namespace {
// Runs `full(o, fs, s0)` on the whole sequence and `dist(slice, ol, fsl, s0, ctx)` on this
// rank's slice; returns the max relative error over ranks (outputs and final states).
template <class T, class Full, class Dist>
double compare_dense(index_t TT, bool uneven, index_t B, index_t H, index_t K, index_t V, Full full, Dist dist) {
  auto s0 = random_tensor<T>({B, H, K, V});
  tensor<T> o({B, TT, H, V}), fs({B, H, K, V});
  full(o, fs, s0);
  const auto ctx = distributed::make_context(MPI_COMM_WORLD, test_offsets(TT, uneven));
  auto sl = [&](const tensor<T>& t) { return time_slice(t, ctx.begin, ctx.end); };
  tensor<T> ol({B, ctx.length(), H, V}), fsl({B, H, K, V});
  dist(sl, ol, fsl, s0, ctx);
  return global_max(std::max(max_rel_error(ol, sl(o)), max_rel_error(fsl, fs)));
}
}  // namespace

TEMPLATE_TEST_CASE("distributed gated_delta_rule, rwkv6, rwkv7 == single process", "[mpi][delta_rule][rwkv]", float,
                   double) {
  using T = TestType;
  const index_t B = 1, H = 2, K = 6, V = 5;
  for (index_t TT : {0, 1, 37, 130})
    for (bool uneven : {false, true}) {
      INFO("T=" << TT << " uneven=" << uneven << " ranks=" << world_size());
      auto q = random_tensor<T>({B, TT, H, K}), k = random_tensor<T>({B, TT, H, K}, -0.4, 0.4);
      auto v = random_tensor<T>({B, TT, H, V}), beta = random_tensor<T>({B, TT, H}, 0.1, 0.9);
      auto g = random_tensor<T>({B, TT, H}, -0.2, 0.0), w = random_tensor<T>({B, TT, H, K}, -0.5, -0.1);
      auto u = random_tensor<T>({H, K}), aa = random_tensor<T>({B, TT, H, K}, -0.1, 0.1);
      auto bb = random_tensor<T>({B, TT, H, K}, -0.1, 0.1);
      const double e1 = compare_dense<T>(
          TT, uneven, B, H, K, V,
          [&](tensor<T>& o, tensor<T>& fs, const tensor<T>& s0) {
            seqmix::gated_delta_rule<T>({cv<4>(q), cv<4>(k), cv<4>(v), cv<3>(beta), cv<3>(g), mv<4>(o), cv<4>(s0), mv<4>(fs)});
          },
          [&](auto sl, tensor<T>& ol, tensor<T>& fsl, const tensor<T>& s0, const mpi_context& ctx) {
            auto ql = sl(q), kl = sl(k), vl = sl(v), bl = sl(beta), gl = sl(g);
            distributed::gated_delta_rule<T>(
                {cv<4>(ql), cv<4>(kl), cv<4>(vl), cv<3>(bl), cv<3>(gl), mv<4>(ol), cv<4>(s0), mv<4>(fsl)}, ctx);
          });
      CHECK(e1 <= 8 * tol<T>);
      const double e2 = compare_dense<T>(
          TT, uneven, B, H, K, V,
          [&](tensor<T>& o, tensor<T>& fs, const tensor<T>& s0) {
            seqmix::rwkv6<T>({cv<4>(q), cv<4>(k), cv<4>(v), cv<4>(w), cv<2>(u), mv<4>(o), cv<4>(s0), mv<4>(fs)});
          },
          [&](auto sl, tensor<T>& ol, tensor<T>& fsl, const tensor<T>& s0, const mpi_context& ctx) {
            auto ql = sl(q), kl = sl(k), vl = sl(v), wl = sl(w);
            distributed::rwkv6<T>({cv<4>(ql), cv<4>(kl), cv<4>(vl), cv<4>(wl), cv<2>(u), mv<4>(ol), cv<4>(s0), mv<4>(fsl)},
                                  ctx);
          });
      CHECK(e2 <= 8 * tol<T>);
      const double e3 = compare_dense<T>(
          TT, uneven, B, H, K, V,
          [&](tensor<T>& o, tensor<T>& fs, const tensor<T>& s0) {
            seqmix::rwkv7<T>({cv<4>(q), cv<4>(w), cv<4>(k), cv<4>(aa), cv<4>(bb), cv<4>(v), mv<4>(o), cv<4>(s0), mv<4>(fs), {}, {}});
          },
          [&](auto sl, tensor<T>& ol, tensor<T>& fsl, const tensor<T>& s0, const mpi_context& ctx) {
            auto ql = sl(q), wl = sl(w), kl = sl(k), al = sl(aa), bl = sl(bb), vl = sl(v);
            distributed::rwkv7<T>(
                {cv<4>(ql), cv<4>(wl), cv<4>(kl), cv<4>(al), cv<4>(bl), cv<4>(vl), mv<4>(ol), cv<4>(s0), mv<4>(fsl), {}, {}}, ctx);
          });
      CHECK(e3 <= 8 * tol<T>);
    }
}

TEMPLATE_TEST_CASE("distributed delta_rule family, varlen sequences crossing rank boundaries == single process",
                   "[mpi][delta_rule][varlen]", float, double) {
  using T = TestType;
  const index_t H = 2, K = 5, V = 3;
  const std::vector<std::vector<std::int64_t>> cases = {
      {0, 5, 5, 40, 41, 131}, {0, 131}, {0, 1, 2, 3, 131}, {0, 64, 65, 129, 131}, {0, 0}};
  for (const auto& cu : cases)
    for (bool uneven : {false, true}) {
      const index_t TT = cu.back(), N = index_t(cu.size()) - 1;
      INFO("cu.size=" << cu.size() << " T=" << TT << " uneven=" << uneven << " ranks=" << world_size());
      auto q = random_tensor<T>({1, TT, H, K}), k = random_tensor<T>({1, TT, H, K}, -0.4, 0.4);
      auto v = random_tensor<T>({1, TT, H, V}), beta = random_tensor<T>({1, TT, H}, 0.1, 0.9);
      auto g = random_tensor<T>({1, TT, H}, -0.2, 0.0), w = random_tensor<T>({1, TT, H, K}, -0.5, -0.1);
      auto u = random_tensor<T>({H, K});
      auto s0 = random_tensor<T>({N, H, K, V});
      const auto ctx = distributed::make_context(MPI_COMM_WORLD, test_offsets(TT, uneven));
      auto sl = [&](const tensor<T>& t) { return time_slice(t, ctx.begin, ctx.end); };
      auto ql = sl(q), kl = sl(k), vl = sl(v), bl = sl(beta), gl = sl(g), wl = sl(w);
      auto check = [&](auto full, auto dist) {
        tensor<T> o({1, TT, H, V}), fs({N, H, K, V}), ol({1, ctx.length(), H, V}), fsl({N, H, K, V});
        full(o, fs);
        dist(ol, fsl);
        return global_max(std::max(max_rel_error(ol, sl(o)), max_rel_error(fsl, fs)));
      };
      const double e1 = check(
          [&](tensor<T>& o, tensor<T>& fs) {
            seqmix::delta_rule<T>({cv<4>(q), cv<4>(k), cv<4>(v), cv<3>(beta), mv<4>(o), cv<4>(s0), mv<4>(fs), cu});
          },
          [&](tensor<T>& ol, tensor<T>& fsl) {
            distributed::delta_rule<T>({cv<4>(ql), cv<4>(kl), cv<4>(vl), cv<3>(bl), mv<4>(ol), cv<4>(s0), mv<4>(fsl), cu}, ctx);
          });
      CHECK(e1 <= 8 * tol<T>);
      const double e2 = check(
          [&](tensor<T>& o, tensor<T>& fs) {
            seqmix::gated_delta_rule<T>(
                {cv<4>(q), cv<4>(k), cv<4>(v), cv<3>(beta), cv<3>(g), mv<4>(o), cv<4>(s0), mv<4>(fs), cu});
          },
          [&](tensor<T>& ol, tensor<T>& fsl) {
            distributed::gated_delta_rule<T>(
                {cv<4>(ql), cv<4>(kl), cv<4>(vl), cv<3>(bl), cv<3>(gl), mv<4>(ol), cv<4>(s0), mv<4>(fsl), cu}, ctx);
          });
      CHECK(e2 <= 8 * tol<T>);
      const double e3 = check(
          [&](tensor<T>& o, tensor<T>& fs) {
            seqmix::rwkv6<T>({cv<4>(q), cv<4>(k), cv<4>(v), cv<4>(w), cv<2>(u), mv<4>(o), cv<4>(s0), mv<4>(fs), cu});
          },
          [&](tensor<T>& ol, tensor<T>& fsl) {
            distributed::rwkv6<T>({cv<4>(ql), cv<4>(kl), cv<4>(vl), cv<4>(wl), cv<2>(u), mv<4>(ol), cv<4>(s0), mv<4>(fsl), cu},
                                  ctx);
          });
      CHECK(e3 <= 8 * tol<T>);
    }
}
