#pragma once
// Row-major Eigen views of the mixers' [rows, cols] buffers and PyTorch-layout weights.
#include <Eigen/Core>

namespace seqmix::mixers::detail {

template <class T>
using rmat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T>
using rmap = Eigen::Map<rmat<T>, 0, Eigen::OuterStride<>>;
template <class T>
using crmap = Eigen::Map<const rmat<T>, 0, Eigen::OuterStride<>>;

}  // namespace seqmix::mixers::detail
