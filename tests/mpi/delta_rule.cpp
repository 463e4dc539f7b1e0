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
