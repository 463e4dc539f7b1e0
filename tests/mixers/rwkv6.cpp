// rwkv6 time-mix: forward over splits == one forward == a loop of step (float, double),
// and one forward == a plain per-token re-implementation of RWKV_Tmix_x060 (RWKV-LM's RNN
// form, state V×K: out = r·(u⊙k ⊗ v + S), S ← w⊙S + k ⊗ v).
#include "support/testing.hpp"
#include "seqmix/mixers/rwkv6.hpp"

using namespace seqmix;
using namespace seqmix::testing;
using seqmix::mixers::rwkv6_config;
using seqmix::mixers::rwkv6_time_mix;

namespace {
rwkv6_config small_config() {
  rwkv6_config c;
  c.n_embd = 48;
  c.head_size = 16;
  c.d_mix_lora = 4;
  c.d_decay_lora = 8;
  c.seed = 5;
  return c;
}

template <class T>
void randomize(rwkv6_time_mix<T>& m) {
  std::mt19937_64 g(13);
  for (auto& [name, t] : m.params()) {
    std::uniform_real_distribution<double> u(-0.4, 0.4);
    for (auto& v : t.values()) v = static_cast<T>(u(g) + (name == "ln_x.weight" ? 1.0 : 0.0));
  }
}

double sig(double x) { return 1.0 / (1.0 + std::exp(-x)); }

tensor<double> plain_forward(const rwkv6_time_mix<double>& m, const tensor<double>& x) {
  const auto& P = m.params();
  const index_t L = x.extent(0), C = x.extent(1), N = index_t(m.config().head_size), H = C / N;
  const index_t dm = index_t(m.config().d_mix_lora), dd = index_t(m.config().d_decay_lora);
  auto p = [&](const char* n, index_t i) { return P.at(n)[i]; };
  auto lin = [&](const char* n, const std::vector<double>& in) {  // W [C,C] · in
    std::vector<double> out(C, 0.0);
    for (index_t o = 0; o < C; ++o)
      for (index_t i = 0; i < C; ++i) out[o] += P.at(n)[o * C + i] * in[i];
    return out;
  };
  std::vector<double> prev(C, 0.0), S(H * N * N, 0.0);
  tensor<double> y({L, C});
  for (index_t t = 0; t < L; ++t) {
    std::vector<double> xt(x.data() + t * C, x.data() + (t + 1) * C), xx(C), xxx(C);
    for (index_t c = 0; c < C; ++c) {
      xx[c] = prev[c] - xt[c];
      xxx[c] = xt[c] + xx[c] * p("time_maa_x", c);
    }
    prev = xt;
    std::vector<double> mm(5 * dm, 0.0);
    for (index_t j = 0; j < 5 * dm; ++j) {
      for (index_t c = 0; c < C; ++c) mm[j] += xxx[c] * P.at("time_maa_w1")[c * 5 * dm + j];
      mm[j] = std::tanh(mm[j]);
    }
    const char* maa[5] = {"time_maa_w", "time_maa_k", "time_maa_v", "time_maa_r", "time_maa_g"};
    std::vector<std::vector<double>> xs(5, std::vector<double>(C));
    for (int i = 0; i < 5; ++i)
      for (index_t c = 0; c < C; ++c) {
        double mi = 0;
        for (index_t j = 0; j < dm; ++j) mi += mm[i * dm + j] * P.at("time_maa_w2")[(i * dm + j) * C + c];
        xs[i][c] = xt[c] + xx[c] * (p(maa[i], c) + mi);
      }
    auto r = lin("receptance.weight", xs[3]), k = lin("key.weight", xs[1]), v = lin("value.weight", xs[2]),
         g = lin("gate.weight", xs[4]);
    for (auto& z : g) z = z * sig(z);
    std::vector<double> hd(dd, 0.0), w(C);
    for (index_t j = 0; j < dd; ++j) {
      for (index_t c = 0; c < C; ++c) hd[j] += xs[0][c] * P.at("time_decay_w1")[c * dd + j];
      hd[j] = std::tanh(hd[j]);
    }
    for (index_t c = 0; c < C; ++c) {
      double z = p("time_decay", c);
      for (index_t j = 0; j < dd; ++j) z += hd[j] * P.at("time_decay_w2")[j * C + c];
      w[c] = std::exp(-std::exp(z));
    }
    std::vector<double> out(C);
    for (index_t h = 0; h < H; ++h) {
      double* s = S.data() + h * N * N;  // s[i*N + j]: value i, key j
      for (index_t i = 0; i < N; ++i) {
        double o = 0;
        for (index_t j = 0; j < N; ++j)
          o += r[h * N + j] * (p("time_faaaa", h * N + j) * k[h * N + j] * v[h * N + i] + s[i * N + j]);
        out[h * N + i] = o;
      }
      for (index_t i = 0; i < N; ++i)
        for (index_t j = 0; j < N; ++j) s[i * N + j] = w[h * N + j] * s[i * N + j] + k[h * N + j] * v[h * N + i];
      double mean = 0, var = 0;
      for (index_t i = 0; i < N; ++i) mean += out[h * N + i] / double(N);
      for (index_t i = 0; i < N; ++i) var += (out[h * N + i] - mean) * (out[h * N + i] - mean) / double(N);
      for (index_t i = 0; i < N; ++i) {
        const index_t c = h * N + i;
        out[c] = ((out[c] - mean) / std::sqrt(var + 6.4e-4) * p("ln_x.weight", c) + p("ln_x.bias", c)) * g[c];
      }
    }
    auto yt = lin("output.weight", out);
    for (index_t c = 0; c < C; ++c) y[t * C + c] = yt[c];
  }
  return y;
}

template <class T>
tensor<T> run_split(const rwkv6_time_mix<T>& m, const tensor<T>& x, std::vector<index_t> cuts, bool steps) {
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

TEMPLATE_TEST_CASE("rwkv6 mixer: splits == one forward == steps", "[rwkv6][mixer]", float, double) {
  const double tol = std::is_same_v<TestType, float> ? 2e-5 : 1e-12;
  rwkv6_time_mix<TestType> m(small_config());
  randomize(m);
  const index_t L = 41, C = 48;
  const auto x = cast<TestType>(random_tensor<double>({L, C}));
  const auto whole = run_split(m, x, {0, L}, false);
  CHECK(max_rel_error(run_split(m, x, {0, 3, 4, 30, L}, false), whole) < tol);
  CHECK(max_rel_error(run_split(m, x, {}, true), whole) < tol);
  CHECK(all_finite(whole));
  // prefill in two chunks, then decode token by token
  auto s = m.make_state();
  tensor<TestType> y({L, C});
  for (auto [t0, n] : {std::pair<index_t, index_t>{0, 10}, {10, 15}})
    m.forward(seq_cref<TestType>(x.data() + t0 * C, {n, C}), seq_ref<TestType>(y.data() + t0 * C, {n, C}), s);
  for (index_t t = 25; t < L; ++t)
    m.step(std::span<const TestType>(x.data() + t * C, C), std::span<TestType>(y.data() + t * C, C), s);
  CHECK(max_rel_error(y, whole) < tol);
}

TEMPLATE_TEST_CASE("rwkv6 mixer equals a plain per-token RWKV_Tmix_x060", "[rwkv6][mixer]", float, double) {
  const double tol = std::is_same_v<TestType, float> ? 1e-4 : 1e-10;
  rwkv6_time_mix<double> md(small_config());
  randomize(md);
  rwkv6_time_mix<TestType> m(small_config());
  for (auto& [name, t] : md.params()) m.params().assign(name, cast<TestType>(t));
  const auto x = random_tensor<double>({25, 48});
  CHECK(max_rel_error(run_split(m, cast<TestType>(x), {0, 25}, false), plain_forward(md, x)) < tol);
}

TEST_CASE("rwkv6 mixer: parameters and paper init", "[rwkv6][mixer]") {
  rwkv6_config c;
  c.n_embd = 128;
  c.head_size = 64;
  c.n_layer = 4;
  c.layer_id = 1;
  rwkv6_time_mix<float> m(c);
  CHECK(m.params().at("time_maa_w2").shape() == std::vector<index_t>{5, 32, 128});
  CHECK(m.params().at("time_faaaa").shape() == std::vector<index_t>{2, 64});
  CHECK(m.params().at("time_decay")[0] == Approx(-6.0));
  CHECK(m.params().at("time_decay")[127] == Approx(-1.0));
  auto s = m.make_state();
  tensor<float> x({2, 128}), y({2, 128}), bad({2, 127});
  CHECK_NOTHROW(m.forward(x.cview<2>(), y.view<2>(), s));
  CHECK_THROWS_AS(m.forward(bad.cview<2>(), y.view<2>(), s), shape_error);
}
