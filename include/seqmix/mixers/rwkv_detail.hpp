#pragma once
// Pieces shared by the RWKV mixers (rwkv6, rwkv7 time-mix; channel-mix): token shift,
// projections that use GEMV for a single token, per-head group norm, initialisers.
#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include <Eigen/Core>
#include <Eigen/QR>

#include "seqmix/core/tensor.hpp"
#include "seqmix/mixers/parameters.hpp"

namespace seqmix::mixers::rwkv_detail {

template <class T>
using mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T>
using row_vec = Eigen::Matrix<T, 1, Eigen::Dynamic>;

// X [L, C] as an Eigen map (row stride of the view).
template <class T>
auto map_rows(const seq_cref<T>& x) {
  return Eigen::Map<const mat<T>, 0, Eigen::OuterStride<>>(x.data(), x.extent(0), x.extent(1),
                                                           Eigen::OuterStride<>(x.stride(0)));
}
template <class T>
auto map_rows(const seq_ref<T>& x) {
  return Eigen::Map<mat<T>, 0, Eigen::OuterStride<>>(x.data(), x.extent(0), x.extent(1),
                                                     Eigen::OuterStride<>(x.stride(0)));
}

// Y = X Wᵀ for a torch Linear weight W [out, in]. One token: a GEMV over W's rows (reads W
// once, no packing).
template <class T, class XE, class YE>
void linear(const XE& X, const const_matrix_map<T>& W, YE& Y) {
  if (X.rows() == 1) Y.row(0).transpose().noalias() = W * X.row(0).transpose();
  else Y.noalias() = X * W.transpose();
}
// Y = X M for an "x @ M" parameter M [in, out].
template <class T, class XE, class YE>
void matmul(const XE& X, const const_matrix_map<T>& M, YE& Y) {
  if (X.rows() == 1) Y.row(0).transpose().noalias() = M.transpose() * X.row(0).transpose();
  else Y.noalias() = X * M;
}

// The row of a [1,1,C] (or [C]) parameter.
template <class T>
Eigen::Map<const row_vec<T>> vec(const parameters<T>& p, const std::string& name) {
  const auto& t = p.at(name);
  return Eigen::Map<const row_vec<T>>(t.data(), t.size());
}

// xx_t = x_{t-1} - x_t with x_{-1} = prev; prev becomes x_{L-1}.
template <class T, class XE>
mat<T> shift_delta(const XE& X, T* prev) {
  const index_t L = X.rows(), C = X.cols();
  mat<T> xx(L, C);
  for (index_t t = 0; t < L; ++t)
    for (index_t c = 0; c < C; ++c) xx(t, c) = (t == 0 ? prev[c] : X(t - 1, c)) - X(t, c);
  for (index_t c = 0; c < C; ++c) prev[c] = X(L - 1, c);
  return xx;
}

// Group norm over heads: each (row, head) of N values normalised (biased variance), then
// per-channel weight and bias.
template <class T>
void group_norm(mat<T>& O, index_t H, index_t N, const T* weight, const T* bias, T eps) {
  for (index_t t = 0; t < O.rows(); ++t)
    for (index_t h = 0; h < H; ++h) {
      T* x = O.data() + t * O.cols() + h * N;
      T mean = 0;
      for (index_t i = 0; i < N; ++i) mean += x[i];
      mean /= T(N);
      T var = 0;
      for (index_t i = 0; i < N; ++i) var += (x[i] - mean) * (x[i] - mean);
      var /= T(N);
      const T inv = T(1) / std::sqrt(var + eps);
      for (index_t i = 0; i < N; ++i) x[i] = (x[i] - mean) * inv * weight[h * N + i] + bias[h * N + i];
    }
}

// Initialisers (seeded).
template <class T>
void fill_uniform(tensor<T>& t, double lo, double hi, std::mt19937_64& g) {
  std::uniform_real_distribution<double> u(lo, hi);
  for (auto& v : t.values()) v = static_cast<T>(u(g));
}
// torch.nn.init.orthogonal_ with gain, for a [rows, cols] matrix.
template <class T>
void fill_orthogonal(tensor<T>& t, double gain, std::mt19937_64& g) {
  const index_t rows = t.extent(0), cols = t.extent(1);
  const index_t big = std::max(rows, cols), small = std::min(rows, cols);
  Eigen::MatrixXd a(big, small);
  std::normal_distribution<double> n(0.0, 1.0);
  for (index_t i = 0; i < a.size(); ++i) a.data()[i] = n(g);
  Eigen::HouseholderQR<Eigen::MatrixXd> qr(a);
  Eigen::MatrixXd q = qr.householderQ() * Eigen::MatrixXd::Identity(big, small);
  for (index_t i = 0; i < rows; ++i)
    for (index_t j = 0; j < cols; ++j) t[i * cols + j] = static_cast<T>(gain * (rows >= cols ? q(i, j) : q(j, i)));
}

template <class T>
T sigmoid(T x) {
  return T(1) / (T(1) + std::exp(-x));
}

}  // namespace seqmix::mixers::rwkv_detail
