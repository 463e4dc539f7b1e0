// Mamba-1 mixer: splits == one forward == steps == prefill then decode; against a plain
// double-precision re-implementation of mamba_simple.Mamba; parameter names and init.
#include "mamba_support.hpp"
#include "seqmix/mixers/mamba.hpp"

using namespace mamba_test;
namespace sm = seqmix::mixers;

namespace {
// The module's forward, token by token, in double.
tensor<double> plain_mamba(const sm::mamba<double>& m, const tensor<double>& x) {
  const auto& P = m.params();
  const auto& cfg = m.config();
  const index_t L = x.extent(0), d = index_t(cfg.d_model), di = m.d_inner(), N = index_t(cfg.d_state),
                R = index_t(cfg.dt_rank), W = index_t(cfg.d_conv);
  tensor<double> y({L, d});
  std::vector<double> win(std::size_t(di * W), 0.0), h(std::size_t(di * N), 0.0);  // win[c][i]: x_{t-W+1+i}
  for (index_t t = 0; t < L; ++t) {
    const auto xz = matvec(P["in_proj.weight"], x.data() + t * d);
    std::vector<double> u(di);
    for (index_t c = 0; c < di; ++c) {
      for (index_t i = 0; i + 1 < W; ++i) win[c * W + i] = win[c * W + i + 1];
      win[c * W + W - 1] = xz[c];
      double acc = P["conv1d.bias"][c];
      for (index_t i = 0; i < W; ++i) acc += P["conv1d.weight"][c * W + i] * win[c * W + i];
      u[c] = silu(acc);
    }
    const auto xd = matvec(P["x_proj.weight"], u.data());
    const auto dt = matvec(P["dt_proj.weight"], xd.data());
    std::vector<double> ys(di);
    for (index_t c = 0; c < di; ++c) {
      const double delta = softplus(dt[c] + P["dt_proj.bias"][c]);
      double acc = 0;
      for (index_t k = 0; k < N; ++k) {
        const double A = -std::exp(P["A_log"][c * N + k]);
        h[c * N + k] = std::exp(delta * A) * h[c * N + k] + delta * xd[R + k] * u[c];
        acc += xd[R + N + k] * h[c * N + k];
      }
      ys[c] = (acc + P["D"][c] * u[c]) * silu(xz[di + c]);
    }
    const auto out = matvec(P["out_proj.weight"], ys.data());
    std::copy(out.begin(), out.end(), y.data() + t * d);
  }
  return y;
}
}  // namespace

TEMPLATE_TEST_CASE("mamba mixer: splits == one forward == steps == prefill then decode", "[mixers][mamba]", float,
                   double) {
  const double tol = std::is_same_v<TestType, float> ? 2e-5 : 1e-12;
  for (std::size_t d_conv : {4, 2}) {
    CAPTURE(d_conv);
    sm::mamba_config cfg;
    cfg.d_model = 24, cfg.d_state = 16, cfg.d_conv = d_conv, cfg.seed = 3;
    sm::mamba<TestType> m(cfg);
    check_consistency(m, 60, tol);
  }
}

TEST_CASE("mamba mixer matches a plain re-implementation of the module", "[mixers][mamba]") {
  sm::mamba_config cfg;
  cfg.d_model = 20, cfg.d_state = 8, cfg.expand = 2, cfg.dt_rank = 3, cfg.seed = 7;
  sm::mamba<double> md(cfg);
  // perturb A_log and D away from their structured init so a transposed index shows
  auto& A_log = md.params()["A_log"];
  for (index_t i = 0; i < A_log.size(); ++i) A_log[i] += 0.1 * std::sin(double(i));
  auto& D = md.params()["D"];
  for (index_t i = 0; i < D.size(); ++i) D[i] = std::cos(double(i));
  cfg.seed = 99;
  sm::mamba<float> mf(cfg);
  copy_params(md, mf);
  const auto x = normal_tensor<double>({33, 20});
  const auto expect = plain_mamba(md, x);
  CHECK(max_rel_error(forward_whole(md, x).y, expect) < 1e-12);
  CHECK(max_rel_error(forward_whole(mf, cast<float>(x)).y, expect) < 5e-5);
}

TEST_CASE("mamba mixer: parameters are named and initialised as the PyTorch module's", "[mixers][mamba]") {
  sm::mamba_config cfg;
  cfg.d_model = 40, cfg.d_state = 16, cfg.d_conv = 4, cfg.expand = 2;
  sm::mamba<float> m(cfg);
  const index_t di = 80, R = 3;  // dt_rank auto = ceil(40/16)
  const auto& p = m.params();
  CHECK(p.size() == 9);
  CHECK(p["in_proj.weight"].shape() == std::vector<index_t>{2 * di, 40});
  CHECK(p["conv1d.weight"].shape() == std::vector<index_t>{di, 1, 4});
  CHECK(p["conv1d.bias"].shape() == std::vector<index_t>{di});
  CHECK(p["x_proj.weight"].shape() == std::vector<index_t>{R + 32, di});
  CHECK(p["dt_proj.weight"].shape() == std::vector<index_t>{di, R});
  CHECK(p["dt_proj.bias"].shape() == std::vector<index_t>{di});
  CHECK(p["A_log"].shape() == std::vector<index_t>{di, 16});
  CHECK(p["D"].shape() == std::vector<index_t>{di});
  CHECK(p["out_proj.weight"].shape() == std::vector<index_t>{40, di});
  CHECK(p["A_log"][5 * 16 + 3] == Approx(std::log(4.0)));
  CHECK(p["D"][7] == 1.0f);
  for (float b : p["dt_proj.bias"].values()) {  // softplus(bias) in [dt_min, dt_max]
    const double dt = softplus(b);
    CHECK(dt >= 0.001 * 0.999);
    CHECK(dt <= 0.1 * 1.001);
  }
  for (float w : p["dt_proj.weight"].values()) CHECK(std::abs(w) <= 1.0f / std::sqrt(float(R)));
  tensor<float> x({3, 40}), y({3, 41});
  auto s = m.make_state();
  CHECK_THROWS_AS(m.forward(x.cview<2>(), y.view<2>(), s), shape_error);
}
