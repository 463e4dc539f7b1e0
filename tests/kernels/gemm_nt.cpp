// The packed GEMM C = A Bᵀ against a plain triple loop (double accumulation), for shapes
// with edges in every dimension (M, N not multiples of the 6 × 4-batch tile, K across the
// kc blocking), strided operands, float and double, 1 and 2 threads.
#include "support/testing.hpp"
#include "seqmix/kernels/dense/gemm_nt.hpp"

using namespace seqmix;
using namespace seqmix::testing;

TEMPLATE_TEST_CASE("gemm_nt matches a plain triple loop", "[kernels][gemm]", float, double) {
  using T = TestType;
  for (auto [M, N, K] : std::vector<std::array<index_t, 3>>{{1, 1, 1}, {7, 5, 3}, {6, 64, 16}, {37, 70, 129},
                                                              {130, 200, 1100}, {16, 33, 2500}})
    for (int threads : {1, 2}) {
      CAPTURE(M, N, K, threads);
      const index_t lda = K + 3, ldb = K + 1, ldc = N + 5;
      const auto A = random_tensor<T>({M, lda}), B = random_tensor<T>({N, ldb});
      tensor<T> C({M, ldc}, T(7));
      kernels::dense::gemm_nt(M, N, K, A.data(), lda, B.data(), ldb, C.data(), ldc, threads);
      double err = 0;
      for (index_t i = 0; i < M; ++i) {
        for (index_t j = 0; j < N; ++j) {
          double s = 0;
          for (index_t k = 0; k < K; ++k) s += double(A[i * lda + k]) * double(B[j * ldb + k]);
          err = std::max(err, std::abs(s - double(C[i * ldc + j])) / std::sqrt(double(K)));
        }
        for (index_t j = N; j < ldc; ++j) REQUIRE(C[i * ldc + j] == T(7));  // padding untouched
      }
      CHECK(err < (std::is_same_v<T, float> ? 1e-5 : 1e-13));
    }
}
