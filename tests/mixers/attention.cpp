// attention mixer: one forward == forward over random splits carrying the KV cache == a
// loop of step (prefill in pieces then decode); against a plain re-implementation (loops:
// projections, RoPE, softmax over the visible keys, FoX gate) with GQA, partial rotary,
// FoX and a sliding window that outgrows its buffer; the cache-full error.
#include "support/testing.hpp"
#include "seqmix/mixers/attention.hpp"

using namespace seqmix;
using namespace seqmix::testing;

namespace {

template <class T>
using mixer_t = mixers::attention<T>;

template <class T>
tensor<T> run_forward(const mixer_t<T>& m, const tensor<T>& x, const std::vector<index_t>& cuts, bool steps_after = false) {
  const index_t L = x.extent(0), d = x.extent(1);
  tensor<T> y({L, d});
  auto s = m.make_state();
  index_t t0 = 0;
  for (index_t cut : cuts) {
    m.forward(seq_cref<T>(x.data() + t0 * d, {cut - t0, d}), seq_ref<T>(y.data() + t0 * d, {cut - t0, d}), s);
    t0 = cut;
  }
  if (steps_after) {
    for (; t0 < L; ++t0)
      m.step(row_cref<T>(x.data() + t0 * d, std::size_t(d)), row_ref<T>(y.data() + t0 * d, std::size_t(d)), s);
  } else if (t0 < L) {
    m.forward(seq_cref<T>(x.data() + t0 * d, {L - t0, d}), seq_ref<T>(y.data() + t0 * d, {L - t0, d}), s);
  }
  return y;
}

std::vector<index_t> random_cuts(index_t L, int n) {
  std::uniform_int_distribution<index_t> u(1, L - 1);
  std::vector<index_t> c;
  for (int i = 0; i < n; ++i) c.push_back(u(rng()));
  std::sort(c.begin(), c.end());
  c.erase(std::unique(c.begin(), c.end()), c.end());
  return c;
}

// Plain re-implementation, double, straight from the formulas.
tensor<double> plain(const mixers::attention_config& cfg, const parameters<double>& p, const tensor<double>& x) {
  const index_t L = x.extent(0), d = x.extent(1), HQ = index_t(cfg.n_heads), H = index_t(cfg.n_kv_heads ? cfg.n_kv_heads : cfg.n_heads),
                D = index_t(cfg.head_dim ? cfg.head_dim : cfg.d_model / cfg.n_heads);
  auto proj = [&](const std::string& name, index_t rows) {
    const auto& w = p[name];
    std::vector<double> out(std::size_t(L * rows));
    for (index_t t = 0; t < L; ++t)
      for (index_t r = 0; r < rows; ++r) {
        double acc = 0;
        for (index_t c = 0; c < d; ++c) acc += w[std::size_t(r * d + c)] * x[std::size_t(t * d + c)];
        out[std::size_t(t * rows + r)] = acc;
      }
    return out;
  };
  auto q = proj("q_proj.weight", HQ * D), k = proj("k_proj.weight", H * D), v = proj("v_proj.weight", H * D);
  const index_t rot = cfg.rope ? 2 * index_t(std::floor(double(D) * cfg.rotary_fraction / 2)) : 0;
  auto rope = [&](std::vector<double>& a, index_t heads) {
    for (index_t t = 0; t < L; ++t)
      for (index_t h = 0; h < heads; ++h) {
        double* r = a.data() + (t * heads + h) * D;
        std::vector<double> old(r, r + D);
        for (index_t i = 0; i < rot; ++i) {
          const index_t j = i % (rot / 2);
          const double ang = double(t) * std::pow(cfg.rope_base, -2.0 * double(j) / double(rot));
          const double rotated = i < rot / 2 ? -old[std::size_t(i + rot / 2)] : old[std::size_t(i - rot / 2)];
          r[i] = old[std::size_t(i)] * std::cos(ang) + rotated * std::sin(ang);
        }
      }
  };
  rope(q, HQ);
  rope(k, H);
  std::vector<double> g(std::size_t(L * HQ), 0.0);
  if (cfg.forget_gate) {
    g = proj("f_proj.weight", HQ);
    for (index_t t = 0; t < L; ++t)
      for (index_t h = 0; h < HQ; ++h) {
        const double z = g[std::size_t(t * HQ + h)] + p["f_proj.bias"][std::size_t(h)];
        g[std::size_t(t * HQ + h)] = -std::log1p(std::exp(-z));
      }
  }
  std::vector<double> o(std::size_t(L * HQ * D), 0.0);
  for (index_t h = 0; h < HQ; ++h) {
    const index_t kh = h / (HQ / H);
    for (index_t t = 0; t < L; ++t) {
      std::vector<double> w(std::size_t(t + 1), 0.0);
      double mx = -1e300;
      for (index_t s = 0; s <= t; ++s) {
        if (cfg.window > 0 && t - s >= index_t(cfg.window)) continue;
        double dot = 0, bias = 0;
        for (index_t e = 0; e < D; ++e) dot += q[std::size_t((t * HQ + h) * D + e)] * k[std::size_t((s * H + kh) * D + e)];
        for (index_t j = s + 1; j <= t; ++j) bias += g[std::size_t(j * HQ + h)];
        w[std::size_t(s)] = dot / std::sqrt(double(D)) + bias;
        mx = std::max(mx, w[std::size_t(s)]);
      }
      double den = 0;
      for (index_t s = 0; s <= t; ++s) {
        const bool vis = cfg.window == 0 || t - s < index_t(cfg.window);
        w[std::size_t(s)] = vis ? std::exp(w[std::size_t(s)] - mx) : 0.0;
        den += w[std::size_t(s)];
      }
      for (index_t s = 0; s <= t; ++s)
        for (index_t e = 0; e < D; ++e)
          o[std::size_t((t * HQ + h) * D + e)] += w[std::size_t(s)] / den * v[std::size_t((s * H + kh) * D + e)];
    }
  }
  tensor<double> y({L, d});
  const auto& wo = p["o_proj.weight"];
  for (index_t t = 0; t < L; ++t)
    for (index_t r = 0; r < d; ++r) {
      double acc = 0;
      for (index_t c = 0; c < HQ * D; ++c) acc += wo[std::size_t(r * HQ * D + c)] * o[std::size_t(t * HQ * D + c)];
      y[std::size_t(t * d + r)] = acc;
    }
  return y;
}

mixers::attention_config config_variant(int i) {
  mixers::attention_config c;
  c.d_model = 48;
  c.n_heads = 4;
  c.seed = unsigned(10 + i);
  c.max_len = 512;
  switch (i) {
    case 0: break;                                                                 // MHA, full RoPE
    case 1: c.n_kv_heads = 2; c.rotary_fraction = 0.5; c.rope_base = 500; break;   // GQA, partial rotary
    case 2: c.n_kv_heads = 1; c.forget_gate = true; c.rope = false; break;         // MQA, FoX (no RoPE)
    case 3: c.n_kv_heads = 2; c.forget_gate = true; c.window = 7; c.head_dim = 16; break;  // window, D != d/HQ
    default: break;
  }
  return c;
}

}  // namespace

TEMPLATE_TEST_CASE("attention mixer: splits and steps equal one forward", "[mixer][attention]", float, double) {
  const double tol = std::is_same_v<TestType, float> ? 2e-5 : 1e-12;
  for (int variant = 0; variant < 4; ++variant) {
    CAPTURE(variant);
    const mixer_t<TestType> m(config_variant(variant));
    const index_t L = 150;
    const auto x = random_tensor<TestType>({L, 48});
    const auto whole = run_forward(m, x, {});
    for (int trial = 0; trial < 3; ++trial) {
      const auto cuts = random_cuts(L, 4);
      CHECK(max_rel_error(run_forward(m, x, cuts), whole) < tol);
    }
    // prefill in pieces, then decode token by token
    CHECK(max_rel_error(run_forward(m, x, {40, 77, 100}, true), whole) < tol);
    // all steps
    CHECK(max_rel_error(run_forward(m, x, {}, true), whole) < tol);
  }
}

TEST_CASE("attention mixer matches a plain re-implementation", "[mixer][attention]") {
  for (int variant = 0; variant < 4; ++variant) {
    CAPTURE(variant);
    const auto cfg = config_variant(variant);
    const mixer_t<double> m(cfg);
    const index_t L = variant == 3 ? 200 : 90;  // the window variant outgrows its buffer
    const auto x = random_tensor<double>({L, 48});
    const auto ref = plain(cfg, m.params(), x);
    CHECK(max_rel_error(run_forward(m, x, {}), ref) < 1e-12);
    CHECK(max_rel_error(run_forward(m, x, random_cuts(L, 5), true), ref) < 1e-12);
    const mixer_t<float> mf(cfg);
    CHECK(max_rel_error(run_forward(mf, cast<float>(x), random_cuts(L, 3)), ref) < 1e-4);
  }
}

TEST_CASE("attention mixer: a full KV cache throws, a window streams", "[mixer][attention]") {
  auto cfg = config_variant(0);
  cfg.max_len = 10;
  const mixer_t<float> m(cfg);
  auto s = m.make_state();
  const auto x = random_tensor<float>({8, 48});
  tensor<float> y({8, 48});
  m.forward(x.cview<2>(), y.view<2>(), s);
  CHECK(s.length == 8);
  const auto x3 = random_tensor<float>({3, 48});
  tensor<float> y3({3, 48});
  CHECK_THROWS_AS(m.forward(x3.cview<2>(), y3.view<2>(), s), std::length_error);
  CHECK_THROWS_WITH(m.forward(x3.cview<2>(), y3.view<2>(), s), Catch::Contains("KV cache is full (max_len 10"));
  CHECK(s.length == 8);  // unchanged by the failed call
  m.step(row_cref<float>(x3.data(), 48), row_ref<float>(y3.data(), 48), s);
  m.step(row_cref<float>(x3.data(), 48), row_ref<float>(y3.data(), 48), s);
  CHECK(s.length == 10);
  CHECK_THROWS_AS(m.step(row_cref<float>(x3.data(), 48), row_ref<float>(y3.data(), 48), s), std::length_error);
  // a window keeps memory bounded however long the stream
  cfg.window = 4;
  const mixer_t<float> w(cfg);
  auto ws = w.make_state();
  for (int i = 0; i < 500; ++i) w.step(row_cref<float>(x3.data(), 48), row_ref<float>(y3.data(), 48), ws);
  CHECK(ws.length <= w.capacity());
  CHECK(ws.position == 500);
  CHECK(all_finite(y3));
}

static_assert(mixer<mixers::attention<double>>);
