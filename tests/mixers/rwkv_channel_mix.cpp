// RWKV channel-mix (v7 and v6 forms): splits == one forward == steps, and equality with a
// plain per-token form (token shift, squared relu, optional receptance gate).
#include "support/testing.hpp"
#include "seqmix/mixers/rwkv_channel_mix.hpp"

using namespace seqmix;
using namespace seqmix::testing;
using seqmix::mixers::rwkv_channel_mix;
using seqmix::mixers::rwkv_channel_mix_config;

namespace {
template <class T>
rwkv_channel_mix<T> make(bool v6) {
  rwkv_channel_mix_config c;
  c.n_embd = 24;
  c.dim_ffn = 40;
  c.receptance_gate = v6;
  rwkv_channel_mix<T> m(c);
  std::mt19937_64 g(17);
  std::uniform_real_distribution<double> u(-0.5, 0.5);
  for (auto& [name, t] : m.params())
    for (auto& v : t.values()) v = static_cast<T>(u(g));
  return m;
}

tensor<double> plain(const rwkv_channel_mix<double>& m, const tensor<double>& x) {
  const auto& P = m.params();
  const bool v6 = m.config().receptance_gate;
  const index_t L = x.extent(0), C = x.extent(1), F = P.at("key.weight").extent(0);
  tensor<double> y({L, C});
  for (index_t t = 0; t < L; ++t) {
    std::vector<double> xk(C), xr(C), k(F, 0.0);
    for (index_t c = 0; c < C; ++c) {
      const double prev = t ? x[(t - 1) * C + c] : 0.0, xx = prev - x[t * C + c];
      xk[c] = x[t * C + c] + xx * P.at(v6 ? "time_maa_k" : "x_k")[c];
      if (v6) xr[c] = x[t * C + c] + xx * P.at("time_maa_r")[c];
    }
    for (index_t f = 0; f < F; ++f) {
      for (index_t c = 0; c < C; ++c) k[f] += P.at("key.weight")[f * C + c] * xk[c];
      k[f] = std::max(k[f], 0.0) * std::max(k[f], 0.0);
    }
    for (index_t c = 0; c < C; ++c) {
      double o = 0;
      for (index_t f = 0; f < F; ++f) o += P.at("value.weight")[c * F + f] * k[f];
      if (v6) {
        double r = 0;
        for (index_t j = 0; j < C; ++j) r += P.at("receptance.weight")[c * C + j] * xr[j];
        o *= 1.0 / (1.0 + std::exp(-r));
      }
      y[t * C + c] = o;
    }
  }
  return y;
}

template <class T>
tensor<T> run_split(const rwkv_channel_mix<T>& m, const tensor<T>& x, std::vector<index_t> cuts, bool steps) {
  const index_t L = x.extent(0), C = x.extent(1);
  tensor<T> y({L, C});
  auto s = m.make_state();
  if (steps) {
    for (index_t t = 0; t < L; ++t)
      m.step(std::span<const T>(x.data() + t * C, C), std::span<T>(y.data() + t * C, C), s);
    return y;
  }
  for (std::size_t i = 0; i + 1 < cuts.size(); ++i) {
    const index_t t0 = cuts[i], n = cuts[i + 1] - cuts[i];
    m.forward(seq_cref<T>(x.data() + t0 * C, {n, C}), seq_ref<T>(y.data() + t0 * C, {n, C}), s);
  }
  return y;
}
}  // namespace

TEMPLATE_TEST_CASE("rwkv channel-mix: splits == forward == steps == plain", "[rwkv][mixer]", float, double) {
  const double tol = std::is_same_v<TestType, float> ? 2e-5 : 1e-12;
  for (bool v6 : {false, true}) {
    CAPTURE(v6);
    const auto md = make<double>(v6);
    const auto m = make<TestType>(v6);
    const auto xd = random_tensor<double>({19, 24});
    const auto x = cast<TestType>(xd);
    const auto whole = run_split(m, x, {0, 19}, false);
    CHECK(max_rel_error(run_split(m, x, {0, 7, 8, 19}, false), whole) < tol);
    CHECK(max_rel_error(run_split(m, x, {}, true), whole) < tol);
    CHECK(max_rel_error(whole, plain(md, xd)) < tol);
  }
}

TEST_CASE("rwkv channel-mix: parameters and errors", "[rwkv][mixer]") {
  rwkv_channel_mix_config c;
  c.n_embd = 32;
  rwkv_channel_mix<float> m(c);
  CHECK(m.params().at("key.weight").shape() == std::vector<index_t>{128, 32});
  CHECK(m.params().at("value.weight").shape() == std::vector<index_t>{32, 128});
  CHECK(m.params().contains("x_k"));
  CHECK_FALSE(m.params().contains("receptance.weight"));
  auto s = m.make_state();
  tensor<float> x({2, 31}), y({2, 32});
  CHECK_THROWS_AS(m.forward(x.cview<2>(), y.view<2>(), s), shape_error);
}
