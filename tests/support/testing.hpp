#pragma once
// Shared test helpers: random tensors, precision casts, error measures, tolerances.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "seqmix/core.hpp"

namespace seqmix::testing {

// Deterministic per test: the seed is fixed, so failures reproduce.
inline std::mt19937_64& rng() {
  static std::mt19937_64 g(20261123);
  return g;
}

template <class T>
tensor<T> random_tensor(std::vector<index_t> shape, double lo = -1.0, double hi = 1.0) {
  tensor<T> t(std::move(shape));
  std::uniform_real_distribution<double> u(lo, hi);
  for (auto& v : t.values()) v = static_cast<T>(u(rng()));
  return t;
}

template <class T>
tensor<T> normal_tensor(std::vector<index_t> shape, double mean = 0.0, double stddev = 1.0) {
  tensor<T> t(std::move(shape));
  std::normal_distribution<double> n(mean, stddev);
  for (auto& v : t.values()) v = static_cast<T>(n(rng()));
  return t;
}

template <class To, class From>
tensor<To> cast(const tensor<From>& t) { return t.template cast<To>(); }

// max |a - b| / max(max|b|, floor): a relative error over the whole tensor, robust to
// entries near zero. Shapes must agree.
template <class A, class B>
double max_rel_error(const tensor<A>& a, const tensor<B>& b, double floor = 1e-6) {
  REQUIRE(a.shape() == b.shape());
  double num = 0, den = floor;
  for (index_t i = 0; i < a.size(); ++i) {
    const double x = static_cast<double>(a[i]), y = static_cast<double>(b[i]);
    if (std::isnan(x) != std::isnan(y)) return INFINITY;
    num = std::max(num, std::abs(x - y));
    den = std::max(den, std::abs(y));
  }
  return num / den;
}

template <class A, class B>
bool bitwise_equal(const tensor<A>& a, const tensor<B>& b) {
  static_assert(std::is_same_v<A, B>);
  return a.shape() == b.shape() &&
         std::equal(a.values().begin(), a.values().end(), b.values().begin(),
                    [](A x, A y) { return std::memcmp(&x, &y, sizeof(A)) == 0; });
}

template <class T>
bool all_finite(const tensor<T>& t) {
  return std::all_of(t.values().begin(), t.values().end(), [](T v) { return std::isfinite(v); });
}

// Default tolerance of a kernel in precision T against the double reference.
template <class T> constexpr double tol = std::is_same_v<T, float> ? 2e-5 : 1e-11;

// Size multiplier for [.long] tests: small by default (CI), SEQMIX_TEST_SCALE=full for the
// sizes the issues name.
inline bool full_scale() {
  const char* s = std::getenv("SEQMIX_TEST_SCALE");
  return s && std::string(s) == "full";
}

}  // namespace seqmix::testing
