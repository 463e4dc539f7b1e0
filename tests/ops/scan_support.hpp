// Shared test machinery of the scan-family ops (linear_scan, min_gru, min_lstm, lru): each
// op is described by a small traits struct; scan_tests.inc instantiates the common tests.
#pragma once
#include <string>
#include <vector>

#include "support/testing.hpp"
#include "seqmix/ops/linear_scan.hpp"
#include "seqmix/ops/lru.hpp"
#include "seqmix/ops/min_gru.hpp"
#include "seqmix/ops/min_lstm.hpp"

namespace scan_test {
using namespace seqmix;
using namespace seqmix::testing;
using cu_t = std::vector<std::int64_t>;

// Views of test tensors; a tensor with zero elements (T = 0) still gives a present view.
template <std::size_t R, class T>
const_view<T, R> cv(const tensor<T>& t) {
  static const T dummy[1] = {};
  if (t.empty() || t.size() > 0) return t.template view<R>();
  std::array<index_t, R> e{};
  std::copy(t.shape().begin(), t.shape().end(), e.begin());
  return const_view<T, R>(dummy, e);
}
template <std::size_t R, class T>
tensor_view<T, R> mv(tensor<T>& t) {
  static T dummy[1] = {};
  if (t.empty() || t.size() > 0) return t.template view<R>();
  std::array<index_t, R> e{};
  std::copy(t.shape().begin(), t.shape().end(), e.begin());
  return tensor_view<T, R>(dummy, e);
}

// Inputs: rank-3 [B,T,D] tensors first, then per-channel [D] parameters.
struct linear_scan_op {
  static constexpr const char* name = "linear_scan";
  static constexpr int timed = 2;  // number of [B,T,D] inputs
  static std::vector<tensor<double>> inputs(index_t B, index_t T, index_t D) {
    return {random_tensor<double>({B, T, D}), random_tensor<double>({B, T, D}, -1.0, 0.0)};
  }
  static std::vector<index_t> out_shape(index_t B, index_t T, index_t D) { return {B, T, D}; }
  static std::vector<index_t> state_shape(index_t N, index_t D) { return {N, D}; }
  template <class T>
  static void call(const std::vector<tensor<T>>& in, tensor<T>& o, const tensor<T>& h0, tensor<T>& hN, const cu_t& cu,
                   const run_options& opt, bool ref) {
    linear_scan_args<T> a{cv<3>(in[0]), cv<3>(in[1]), mv<3>(o),
                          cv<2>(h0), mv<2>(hN), cu};
    ref ? reference::linear_scan(a) : linear_scan(a, opt);
  }
};

struct min_gru_op {
  static constexpr const char* name = "min_gru";
  static constexpr int timed = 2;
  static std::vector<tensor<double>> inputs(index_t B, index_t T, index_t D) {
    return {normal_tensor<double>({B, T, D}, 0.0, 2.0), normal_tensor<double>({B, T, D}, 0.0, 2.0)};
  }
  static std::vector<index_t> out_shape(index_t B, index_t T, index_t D) { return {B, T, D}; }
  static std::vector<index_t> state_shape(index_t N, index_t D) { return {N, D}; }
  template <class T>
  static void call(const std::vector<tensor<T>>& in, tensor<T>& o, const tensor<T>& h0, tensor<T>& hN, const cu_t& cu,
                   const run_options& opt, bool ref) {
    min_gru_args<T> a{cv<3>(in[0]), cv<3>(in[1]), mv<3>(o),
                      cv<2>(h0), mv<2>(hN), cu};
    ref ? reference::min_gru(a) : min_gru(a, opt);
  }
};

struct min_lstm_op {
  static constexpr const char* name = "min_lstm";
  static constexpr int timed = 3;
  static std::vector<tensor<double>> inputs(index_t B, index_t T, index_t D) {
    return {normal_tensor<double>({B, T, D}, 0.0, 2.0), normal_tensor<double>({B, T, D}, 0.0, 2.0),
            normal_tensor<double>({B, T, D}, 0.0, 2.0)};
  }
  static std::vector<index_t> out_shape(index_t B, index_t T, index_t D) { return {B, T, D}; }
  static std::vector<index_t> state_shape(index_t N, index_t D) { return {N, D}; }
  template <class T>
  static void call(const std::vector<tensor<T>>& in, tensor<T>& o, const tensor<T>& h0, tensor<T>& hN, const cu_t& cu,
                   const run_options& opt, bool ref) {
    min_lstm_args<T> a{cv<3>(in[0]), cv<3>(in[1]), cv<3>(in[2]),
                       mv<3>(o), cv<2>(h0), mv<2>(hN), cu};
    ref ? reference::min_lstm(a) : min_lstm(a, opt);
  }
};

struct lru_op {
  static constexpr const char* name = "lru";
  static constexpr int timed = 2;
  static std::vector<tensor<double>> inputs(index_t B, index_t T, index_t D) {
    // |λ| in [0.5, 0.999] (nu_log = log(-log|λ|)), phase in [0.01, π]
    return {random_tensor<double>({B, T, D}), random_tensor<double>({B, T, D}),
            random_tensor<double>({D}, std::log(-std::log(0.999)), std::log(-std::log(0.5))),
            random_tensor<double>({D}, std::log(0.01), std::log(3.14))};
  }
  static std::vector<index_t> out_shape(index_t B, index_t T, index_t D) { return {B, T, D, 2}; }
  static std::vector<index_t> state_shape(index_t N, index_t D) { return {N, D, 2}; }
  template <class T>
  static void call(const std::vector<tensor<T>>& in, tensor<T>& o, const tensor<T>& h0, tensor<T>& hN, const cu_t& cu,
                   const run_options& opt, bool ref) {
    lru_args<T> a{cv<3>(in[0]), cv<3>(in[1]), cv<1>(in[2]),
                  cv<1>(in[3]), mv<4>(o), cv<3>(h0), mv<3>(hN), cu};
    ref ? reference::lru(a) : lru(a, opt);
  }
};

template <class T>
struct result {
  tensor<T> o, h;
};

// Runs the op (or the reference) in precision T on double inputs.
template <class Op, class T>
result<T> run(const std::vector<tensor<double>>& in, const tensor<double>& h0, const cu_t& cu = {},
              const run_options& opt = {}, bool ref = false) {
  std::vector<tensor<T>> x;
  for (const auto& t : in) x.push_back(cast<T>(t));
  const index_t B = in[0].extent(0), L = in[0].extent(1), D = in[0].extent(2);
  const index_t N = cu.empty() ? B : index_t(cu.size()) - 1;
  result<T> r{tensor<T>(Op::out_shape(B, L, D)), tensor<T>(Op::state_shape(N, D))};
  const auto h0t = cast<T>(h0);
  Op::call(x, r.o, h0t, r.h, cu, opt, ref);
  return r;
}

template <class Op>
result<double> reference_run(const std::vector<tensor<double>>& in, const tensor<double>& h0, const cu_t& cu = {}) {
  return run<Op, double>(in, h0, cu, {}, true);
}

// Steps [t0, t0+len) of batch entry b of the [B,T,...] tensors (the first `timed` inputs);
// the rest (parameters) are copied whole.
inline tensor<double> slice_time(const tensor<double>& t, index_t b, index_t t0, index_t len) {
  std::vector<index_t> shape = t.shape();
  shape[0] = 1;
  shape[1] = len;
  index_t row = 1;
  for (std::size_t i = 2; i < shape.size(); ++i) row *= shape[i];
  tensor<double> out(shape);
  std::copy_n(t.data() + (b * t.extent(1) + t0) * row, len * row, out.data());
  return out;
}
template <class Op>
std::vector<tensor<double>> slice_inputs(const std::vector<tensor<double>>& in, index_t b, index_t t0, index_t len) {
  std::vector<tensor<double>> out;
  for (std::size_t i = 0; i < in.size(); ++i) out.push_back(int(i) < Op::timed ? slice_time(in[i], b, t0, len) : in[i]);
  return out;
}
inline tensor<double> state_row(const tensor<double>& h, index_t s) {
  std::vector<index_t> shape = h.shape();
  shape[0] = 1;
  tensor<double> out(shape);
  const index_t row = h.size() / h.extent(0);
  std::copy_n(h.data() + s * row, row, out.data());
  return out;
}
template <class T>
tensor<double> to_double(const tensor<T>& t) { return cast<double>(t); }

// Long-stream inputs for linear_scan: x ~ U(-1,1), g = log decay in [-0.05, 0].
inline std::vector<tensor<float>> bench_like_inputs(index_t L, index_t D) {
  std::vector<tensor<float>> v{tensor<float>({1, L, D}), tensor<float>({1, L, D})};
  std::mt19937 gen(7);
  std::uniform_real_distribution<float> u(-1.f, 1.f), w(-0.05f, 0.f);
  for (auto& e : v[0].values()) e = u(gen);
  for (auto& e : v[1].values()) e = w(gen);
  return v;
}

inline const std::vector<form>& all_forms() {
  static const std::vector<form> f{form::recurrent, form::chunked, form::parallel, form::auto_};
  return f;
}

}  // namespace scan_test
