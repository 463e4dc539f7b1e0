// Mixer-level forward_distributed (wavefront over the layers of a stack / repeat) == one
// single-process forward over the whole sequence: outputs and the final state on every rank.
#include "seqmix/compose/stack.hpp"
#include "seqmix/distributed/mixers.hpp"
#include "seqmix/mixers/attention.hpp"
#include "seqmix/mixers/deltanet.hpp"
#include "seqmix/mixers/gla.hpp"
#include "support/mpi_testing.hpp"

using namespace seqmix;
using namespace seqmix::testing;

namespace {
template <class T>
tensor<T> rows(const tensor<T>& x, index_t b, index_t e) {
  const index_t d = x.extent(1);
  tensor<T> out({e - b, d});
  std::copy(x.data() + b * d, x.data() + e * d, out.data());
  return out;
}
template <class S>
std::vector<char> bytes(S& s) { return distributed::detail::pack_state(s); }
}  // namespace

TEMPLATE_TEST_CASE("forward_distributed: stack of gla + deltanet == single process", "[mpi][mixers]", float, double) {
  using T = TestType;
  const std::size_t D = 32;
  mixers::gla_config gc;
  gc.d_model = D;
  gc.num_heads = 2;
  gc.seed = 3;
  mixers::deltanet_config dc;
  dc.d_model = D;
  dc.num_heads = 2;
  dc.seed = 5;
  const compose::stack<mixers::gla<T>, mixers::deltanet<T>, mixers::gla<T>> net{mixers::gla<T>{gc}, mixers::deltanet<T>{dc},
                                                                                 mixers::gla<T>{gc}};
  const compose::repeat<2, mixers::deltanet<T>> rep([&](std::size_t i) {
    auto c = dc;
    c.seed = unsigned(10 + i);
    return mixers::deltanet<T>(c);
  });
  for (index_t TT : {0, 1, 37})
    for (bool uneven : {false, true})
      for (bool warm : {false, true}) {
        INFO("T=" << TT << " uneven=" << uneven << " warm state=" << warm << " ranks=" << world_size());
        auto check = [&](const auto& m) {
          auto x = random_tensor<T>({TT, index_t(D)});
          auto s = m.make_state();
          if (warm) {  // a non-zero state before the sequence
            auto x0 = random_tensor<T>({5, index_t(D)});
            tensor<T> y0({5, index_t(D)});
            m.forward(x0.template cview<2>(), y0.template view<2>(), s);
          }
          auto sd = s;
          tensor<T> y({TT, index_t(D)});
          m.forward(x.template cview<2>(), y.template view<2>(), s);
          const auto ctx = distributed::make_context(MPI_COMM_WORLD, test_offsets(TT, uneven));
          auto xl = rows(x, ctx.begin, ctx.end);
          tensor<T> yl({ctx.length(), index_t(D)});
          if (ctx.rank > 0) sd = m.make_state();  // only rank 0's incoming state counts
          distributed::forward_distributed(m, xl.template cview<2>(), yl.template view<2>(), sd, ctx);
          double err = max_rel_error(yl, rows(y, ctx.begin, ctx.end));
          const auto a = bytes(s), b = bytes(sd);
          REQUIRE(a.size() == b.size());
          for (std::size_t i = 0; i + sizeof(T) <= a.size(); i += sizeof(T)) {  // states: compare as T values
            T u, v;
            std::memcpy(&u, a.data() + i, sizeof(T));
            std::memcpy(&v, b.data() + i, sizeof(T));
            err = std::max(err, double(std::abs(u - v)) / (1.0 + std::abs(double(u))));
          }
          REQUIRE(global_max(err) <= 8 * tol<T>);
        };
        check(net);
        check(rep);
      }
}

// Softmax attention (KV-cache state, O(T)) is refused at compile time, alone or inside a stack.
static_assert(!distributed::has_distributed_form<mixers::attention<float>>::value);
static_assert(!distributed::has_distributed_form<compose::stack<mixers::gla<float>, mixers::attention<float>>>::value);
static_assert(!distributed::has_distributed_form<compose::repeat<2, mixers::attention<float>>>::value);
static_assert(distributed::has_distributed_form<compose::stack<mixers::gla<float>, mixers::deltanet<float>>>::value);

TEST_CASE("forward_distributed: a state that changes size between ranks throws", "[mpi][mixers]") {
  std::vector<float> grown(3, 1.f), fixed(2, 0.f);
  auto bytes_in = distributed::detail::pack_state(grown);
  int threw = 0;
  try {
    distributed::detail::unpack_state(fixed, bytes_in, "layer 0");
  } catch (const option_error& e) {
    threw = std::string(e.what()).find("no distributed form") != std::string::npos;
  }
  REQUIRE(threw == 1);
}
