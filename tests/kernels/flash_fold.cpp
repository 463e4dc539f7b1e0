// The flash tile kernel's partial-state entry (fold / finish, used by ring attention): the
// keys of a sequence folded in blocks — blocks entirely before the queries (every key
// visible) in several pieces, then the causal diagonal block — equal the double reference
// over all the keys at once; float and double, query counts that do not fill a tile, key
// blocks of 1 key and of several tiles.
#include "support/testing.hpp"
#include "seqmix/kernels/attention/flash.hpp"
#include "seqmix/reference/attention.hpp"

using namespace seqmix;
using namespace seqmix::testing;

TEMPLATE_TEST_CASE("flash fold over key blocks == reference attention", "[kernels][attention]", float, double) {
  using T = TestType;
  using Arch = xsimd::default_arch;
  using sh = kernels::attention::flash_shape<Arch, T>;
  using kernel = kernels::attention::flash_tile_kernel<Arch, T>;
  const index_t K = 24, V = 13;
  // (first query position = keys before the diagonal block, queries, the cuts of the keys before)
  struct split_case {
    index_t before, queries;
    std::vector<index_t> cuts;
  };
  for (const auto& sc : std::vector<split_case>{{0, 5, {}}, {1, 7, {}}, {70, 100, {1, 33}}, {150, 2 * sh::BQ + 3, {64, 65}}}) {
    const index_t TT = sc.before + sc.queries;
    CAPTURE(sc.before, sc.queries);
    auto q = random_tensor<T>({1, TT, 1, K}, -2, 2), k = random_tensor<T>({1, TT, 1, K}, -2, 2);
    auto v = random_tensor<T>({1, TT, 1, V});
    tensor<double> expect({1, TT, 1, V});
    auto qd = cast<double>(q), kd = cast<double>(k), vd = cast<double>(v);
    reference::attention<double>({qd.template cview<4>(), kd.template cview<4>(), vd.template cview<4>(),
                                  expect.template view<4>(), {}, {}});

    const index_t nq = sc.queries;
    std::vector<T> m(std::size_t(nq), std::numeric_limits<T>::lowest()), l(std::size_t(nq), T(0));
    std::vector<T> O(std::size_t(nq * V), T(0));
    auto fold_block = [&](index_t k0, index_t nk, bool diagonal) {
      std::vector<T> kp(std::size_t(sh::packed_k(nk, K))), vp(std::size_t(sh::packed_v(nk, V)));
      kernels::attention::flash_pack<Arch, T>(k.data() + k0 * K, K, v.data() + k0 * V, V, nk, K, V, kp.data(), vp.data());
      kernels::attention::head_problem<T> h;
      h.q = q.data() + sc.before * K;
      h.ldq = K;
      h.o = O.data();
      h.ldo = V;
      h.queries = nq;
      h.K = K;
      h.V = V;
      h.vis = {diagonal, 0, nk};
      h.scale = 1.0 / std::sqrt(double(K));
      for (index_t t0 = 0; t0 < nq; t0 += sh::BQ)
        kernel::fold(h, kp.data(), vp.data(), t0, std::min(sh::BQ, nq - t0),
                     {m.data() + t0, l.data() + t0, O.data() + t0 * V, V});
    };
    std::vector<index_t> edges{0};
    for (index_t c : sc.cuts) edges.push_back(c);
    edges.push_back(sc.before);
    for (std::size_t i = 0; i + 1 < edges.size(); ++i)
      if (edges[i + 1] > edges[i]) fold_block(edges[i], edges[i + 1] - edges[i], false);
    fold_block(sc.before, nq, true);
    tensor<T> o({1, nq, 1, V});
    kernel::finish({m.data(), l.data(), O.data(), V}, nq, V, o.data(), V);
    tensor<double> expect_rows({1, nq, 1, V});
    std::copy(expect.data() + sc.before * V, expect.data() + TT * V, expect_rows.data());
    REQUIRE(max_rel_error(o, expect_rows) <= 4 * tol<T>);
  }
}
