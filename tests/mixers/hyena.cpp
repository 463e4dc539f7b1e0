// hyena mixer and its implicit filter: the filter against a hand-derived case; forward ==
// forward over random splits == a loop of step; forward == a plain re-implementation of
// safari's HyenaOperator.forward built on the reference long_conv.
#include "support/testing.hpp"
#include "seqmix/mixers/hyena.hpp"

using namespace seqmix;
using namespace seqmix::testing;
using seqmix::mixers::hyena;
using seqmix::mixers::hyena_config;
using seqmix::mixers::hyena_filter;
using seqmix::mixers::hyena_filter_config;

TEST_CASE("hyena_filter matches a hand-derived case", "[hyena][filter]") {
  // emb_dim 3, width 1, no inner layers, 2 channels, l_max 3. With z_t = (t_t, 0, 0),
  // t = (0, 0.5, 1), W_0 = [1 0 0], b_0 = 0, freq = π/2: a_t = sin(π t_t / 2) = (0, √½, 1).
  // W_out = [2, -1]ᵀ: raw h = (0, √2, 2) and (0, -√½, -1). deltas (ln 2, 0): the window is
  // exp(-t ln 2) = (1, √½, ½) for channel 0 and 1 for channel 1, so
  // h = [[0, 1, 1], [0, -√½, -1]]; normalised (L1 over the 3 taps): [[0, ½, ½], [0, -√½, -1]/(1+√½)].
  hyena_filter_config cfg;
  cfg.channels = 2;
  cfg.l_max = 3;
  cfg.width = 1;
  cfg.num_inner_mlps = 0;
  hyena_filter<double> f(cfg, "filter_fn.");
  parameters<double> p;
  std::mt19937_64 gen(1);
  f.declare(p, gen);
  CHECK(p.contains("filter_fn.implicit_filter.0.weight"));
  CHECK(p.contains("filter_fn.implicit_filter.1.freq"));
  CHECK(p.contains("filter_fn.implicit_filter.2.weight"));
  CHECK_FALSE(p.contains("filter_fn.implicit_filter.2.bias"));
  // the default embedding: t_t = t/(l_max-1), cos/sin of f ω with f = 1e-4
  CHECK(p["filter_fn.pos_emb.z"][3 * 1 + 0] == Approx(0.5));
  CHECK(p["filter_fn.pos_emb.z"][3 * 2 + 1] == Approx(std::cos(1e-4 * 2 * std::numbers::pi * 2 / 3)));
  CHECK(p["filter_fn.pos_emb.z"][3 * 2 + 2] == Approx(-std::sin(1e-4 * 2 * std::numbers::pi * 2 / 3)));
  CHECK(p["filter_fn.modulation.deltas"][0] == Approx(std::log(1e-2) / 1.5));
  CHECK(p["filter_fn.modulation.deltas"][1] == Approx(std::log(1e-2) / 0.3));
  p.assign("filter_fn.pos_emb.z", tensor<double>({1, 3, 3}, {0, 0, 0, 0.5, 0, 0, 1, 0, 0}));
  p.assign("filter_fn.implicit_filter.0.weight", tensor<double>({1, 3}, {1, 0, 0}));
  p.assign("filter_fn.implicit_filter.0.bias", tensor<double>({1}, 0));
  p.assign("filter_fn.implicit_filter.1.freq", tensor<double>({1, 1}, std::numbers::pi / 2));
  p.assign("filter_fn.implicit_filter.2.weight", tensor<double>({2, 1}, {2, -1}));
  p.assign("filter_fn.modulation.deltas", tensor<double>({1, 1, 2}, {std::log(2.0), 0}));
  const auto h = f.generate(p, 3);
  const double r = std::sqrt(0.5);
  const double want[6] = {0, 1, 1, 0, -r, -1};
  for (int i = 0; i < 6; ++i) CHECK(h[i] == Approx(want[i]).margin(1e-15));
  const auto h2 = f.generate(p, 2);  // a prefix
  CHECK(h2[1] == Approx(1.0));
  CHECK(h2[3] == Approx(-r));
  cfg.normalized = true;
  hyena_filter<double> fn(cfg, "filter_fn.");
  const auto hn = fn.generate(p, 3);
  CHECK(hn[1] == Approx(0.5));
  CHECK(hn[2] == Approx(0.5));
  CHECK(hn[4] == Approx(-r / (1 + r)));
  CHECK(hn[5] == Approx(-1 / (1 + r)));
  CHECK_THROWS_AS(f.generate(p, 4), shape_error);
}

namespace {

hyena_config small_config(std::size_t order) {
  hyena_config c;
  c.d_model = 24;
  c.l_max = 96;
  c.order = order;
  c.filter_order = 16;
  c.seed = 7;
  return c;
}

template <class T>
tensor<T> run_forward(const hyena<T>& m, const tensor<T>& x, const std::vector<index_t>& cuts) {
  const index_t L = x.extent(0), d = x.extent(1);
  tensor<T> y({L, d});
  auto s = m.make_state();
  index_t b = 0;
  for (index_t e : cuts) {
    m.forward(seq_cref<T>(x.data() + b * d, {e - b, d}), seq_ref<T>(y.data() + b * d, {e - b, d}), s);
    b = e;
  }
  return y;
}

// safari's HyenaOperator.forward written out with plain loops and the reference long_conv.
tensor<double> plain_hyena(const hyena<double>& m, const tensor<double>& x) {
  const auto& c = m.config();
  const index_t L = x.extent(0), d = index_t(c.d_model), N = index_t(c.order), S = (N + 1) * d,
                W = index_t(c.short_filter_order), Lm = index_t(c.l_max);
  const auto& p = m.params();
  std::vector<double> u(L * S), uc(L * S);
  for (index_t t = 0; t < L; ++t)
    for (index_t j = 0; j < S; ++j) {
      double a = p["in_proj.bias"][j];
      for (index_t k = 0; k < d; ++k) a += p["in_proj.weight"][j * d + k] * x[t * d + k];
      u[t * S + j] = a;
    }
  for (index_t t = 0; t < L; ++t)
    for (index_t j = 0; j < S; ++j) {
      double a = p["short_filter.bias"][j];
      for (index_t k = 0; k < W; ++k) {
        const index_t s = t - (W - 1) + k;  // Conv1d, padding W-1, first L outputs
        if (s >= 0) a += p["short_filter.weight"][j * W + k] * u[s * S + j];
      }
      uc[t * S + j] = a;
    }
  const auto h = m.filter_fn().generate(p, Lm);  // [(N-1)d, Lm]
  std::vector<double> z(L * d);
  for (index_t t = 0; t < L; ++t)
    for (index_t k = 0; k < d; ++k) z[t * d + k] = uc[t * S + N * d + k];
  for (index_t o = 0; o + 1 < N; ++o) {
    const index_t xi = N - 1 - o;
    tensor<double> w({1, L, d}), hz({d, Lm}), D({d}), out({1, L, d});
    for (index_t t = 0; t < L; ++t)
      for (index_t k = 0; k < d; ++k) w[t * d + k] = z[t * d + k] * uc[t * S + xi * d + k];
    for (index_t k = 0; k < d; ++k) {
      D[k] = p["filter_fn.bias"][k * (N - 1) + o];
      for (index_t i = 0; i < Lm; ++i) hz[k * Lm + i] = h[(k * (N - 1) + o) * Lm + i];
    }
    long_conv_args<double> a{w.cview<3>(), hz.cview<2>(), D.cview<1>(), out.view<3>(), {}};
    reference::long_conv(a);
    for (index_t i = 0; i < L * d; ++i) z[i] = out[i];
  }
  tensor<double> y({L, d});
  for (index_t t = 0; t < L; ++t)
    for (index_t j = 0; j < d; ++j) {
      double a = p["out_proj.bias"][j];
      for (index_t k = 0; k < d; ++k) a += p["out_proj.weight"][j * d + k] * z[t * d + k] * uc[t * S + k];
      y[t * d + j] = a;
    }
  return y;
}

}  // namespace

TEST_CASE("hyena forward matches a plain re-implementation of safari's operator", "[hyena]") {
  for (std::size_t order : {2, 3}) {
    CAPTURE(order);
    hyena<double> m(small_config(order));
    const auto x = random_tensor<double>({80, 24});
    const auto y = run_forward(m, x, {80});
    CHECK(max_rel_error(y, plain_hyena(m, x)) < 1e-11);
    hyena<float> mf(small_config(order));
    CHECK(max_rel_error(run_forward(mf, cast<float>(x), {80}), y) < 1e-4);
  }
}

TEMPLATE_TEST_CASE("hyena: forward over splits == one forward == a loop of step", "[hyena]", float, double) {
  const double tol = std::is_same_v<TestType, float> ? 2e-5 : 1e-12;
  for (std::size_t order : {2, 3}) {
    hyena<TestType> m(small_config(order));
    const index_t L = 96;  // = l_max: the history reaches its cap
    const auto x = cast<TestType>(random_tensor<double>({L, 24}));
    const auto whole = run_forward(m, x, {L});
    std::uniform_int_distribution<index_t> cut(1, L - 1);
    for (int trial = 0; trial < 4; ++trial) {
      std::vector<index_t> cuts{cut(rng()), cut(rng()), cut(rng())};
      cuts.push_back(L);
      std::sort(cuts.begin(), cuts.end());
      CAPTURE(order, cuts);
      CHECK(max_rel_error(run_forward(m, x, cuts), whole) < tol);
    }
    // prefill 50 tokens, then decode the rest
    tensor<TestType> y({L, 24});
    auto s = m.make_state();
    m.forward(seq_cref<TestType>(x.data(), {50, 24}), seq_ref<TestType>(y.data(), {50, 24}), s);
    for (index_t t = 50; t < L; ++t)
      m.step(row_cref<TestType>(x.data() + t * 24, 24), row_ref<TestType>(y.data() + t * 24, 24), s);
    CHECK(max_rel_error(y, whole) < tol);
    // every form of the long convolution gives the same layer output
    for (form f : {form::direct, form::fft, form::blocked}) {
      hyena<TestType> mf(small_config(order));
      mf.conv_options().kernel_form = f;
      CAPTURE(to_string(f));
      CHECK(max_rel_error(run_forward(mf, x, {30, L}), whole) < tol);
    }
  }
}

TEST_CASE("hyena: sequences longer than l_max and T = 0", "[hyena]") {
  hyena<double> m(small_config(2));
  const auto x = random_tensor<double>({150, 24});
  const auto whole = run_forward(m, x, {150});
  CHECK(max_rel_error(run_forward(m, x, {0, 70, 71, 150}), whole) < 1e-12);
  CHECK(max_rel_error(whole, plain_hyena(m, x)) < 1e-11);
  CHECK(all_finite(whole));
}

TEST_CASE("hyena: parameters follow safari's state_dict", "[hyena]") {
  hyena<float> m(small_config(3));
  const auto& p = m.params();
  CHECK(p["in_proj.weight"].shape() == std::vector<index_t>{96, 24});
  CHECK(p["short_filter.weight"].shape() == std::vector<index_t>{96, 1, 3});
  CHECK(p["filter_fn.bias"].shape() == std::vector<index_t>{48});
  CHECK(p["filter_fn.implicit_filter.6.weight"].shape() == std::vector<index_t>{48, 16});
  CHECK(p["filter_fn.modulation.deltas"].shape() == std::vector<index_t>{1, 1, 48});
  CHECK(p["out_proj.bias"].shape() == std::vector<index_t>{24});
  // writing parameters drops the cached filter
  hyena<double> md(small_config(2));
  const auto x = random_tensor<double>({20, 24});
  const auto y0 = run_forward(md, x, {20});
  for (auto& v : md.params()["filter_fn.implicit_filter.6.weight"].values()) v *= 2;
  const auto y1 = run_forward(md, x, {20});
  CHECK(max_rel_error(y1, y0) > 1e-3);
  CHECK(max_rel_error(y1, plain_hyena(md, x)) < 1e-11);
}

TEST_CASE("hyena: a long decode with a short l_max (history ring compaction)", "[hyena]") {
  auto cfg = small_config(3);
  cfg.l_max = 8;
  hyena<double> m(cfg);
  const index_t L = 60;
  const auto x = random_tensor<double>({L, 24});
  const auto whole = run_forward(m, x, {L});
  CHECK(max_rel_error(whole, plain_hyena(m, x)) < 1e-11);
  tensor<double> y({L, 24});
  auto s = m.make_state();
  m.forward(seq_cref<double>(x.data(), {3, 24}), seq_ref<double>(y.data(), {3, 24}), s);
  for (index_t t = 3; t < 40; ++t)
    m.step(row_cref<double>(x.data() + t * 24, 24), row_ref<double>(y.data() + t * 24, 24), s);
  m.forward(seq_cref<double>(x.data() + 40 * 24, {5, 24}), seq_ref<double>(y.data() + 40 * 24, {5, 24}), s);
  m.forward(seq_cref<double>(x.data() + 45 * 24, {15, 24}), seq_ref<double>(y.data() + 45 * 24, {15, 24}), s);
  CHECK(max_rel_error(y, whole) < 1e-12);
}
