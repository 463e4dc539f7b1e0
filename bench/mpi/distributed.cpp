// Strong scaling of the distributed ops: every rank builds random inputs for its slice, then
// the op runs `reps` times between barriers; rank 0 prints the best wall time.
//   mpirun -np N bench_mpi_distributed gla|simple_gla|attention|attention_zigzag|attention_single T [H] [reps]
// (K = V = 64; attention: causal, HQ = H; attention_single = the single-process flash op on
// the whole sequence, run with -np 1, for reference). One thread per rank; FLOPs: gla 4·T·H·K·V (state update + readout, the chunk engine's extra
// intra-chunk work not counted), causal attention 2·T²·H·(K+V)·½.
#include <mpi.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>
#include <string>

#include "seqmix/distributed/linear_attention.hpp"
#include "seqmix/distributed/ring_attention.hpp"
#include "seqmix/ops/attention.hpp"

using namespace seqmix;

namespace {
tensor<float> rnd(std::vector<index_t> shape, unsigned seed, float lo, float hi) {
  tensor<float> t(std::move(shape));
  std::mt19937 g(seed);
  std::uniform_real_distribution<float> u(lo, hi);
  for (auto& x : t.values()) x = u(g);
  return t;
}
}  // namespace

int main(int argc, char** argv) {
  Eigen::setNbThreads(1);  // one thread per rank (Eigen's GEMMs would spawn OpenMP threads)
  MPI_Init(&argc, &argv);
  int rank = 0, P = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &P);
  if (argc < 3) {
    if (rank == 0) std::fprintf(stderr, "usage: %s gla|simple_gla|attention|attention_zigzag|attention_single T [H] [reps]\n", argv[0]);
    MPI_Finalize();
    return 2;
  }
  const std::string op = argv[1];
  const index_t TT = std::atoll(argv[2]), H = argc > 3 ? std::atoll(argv[3]) : 16, K = 64, V = 64;
  const int reps = argc > 4 ? std::atoi(argv[4]) : 3;
  const unsigned seed = 1234u + unsigned(rank);
  run_options opt;
  opt.threads = 1;
  const auto ctx = distributed::make_context(MPI_COMM_WORLD, TT);
  const auto layout = op == "attention_zigzag" ? distributed::zigzag_layout(TT, P) : distributed::contiguous_layout(ctx);
  const index_t TL = op == "attention_single" ? TT : layout.local_length(rank);
  double flops = 0;
  auto q = rnd({1, TL, H, K}, seed, -1, 1), k = rnd({1, TL, H, K}, seed + 100, -1, 1), v = rnd({1, TL, H, V}, seed + 200, -1, 1);
  tensor<float> o({1, TL, H, V}), fs({1, H, K, V});
  tensor<float> g = op == "gla" ? rnd({1, TL, H, K}, seed + 300, -0.1f, 0) : rnd({1, TL, H}, seed + 300, -0.1f, 0);
  std::function<void()> run;
  if (op == "gla") {
    flops = 4.0 * TT * H * K * V;
    run = [&] { distributed::gla<float>({q.cview<4>(), k.cview<4>(), v.cview<4>(), g.cview<4>(), o.view<4>(), {}, fs.view<4>()}, ctx, opt); };
  } else if (op == "simple_gla") {
    flops = 4.0 * TT * H * K * V;
    run = [&] { distributed::simple_gla<float>({q.cview<4>(), k.cview<4>(), v.cview<4>(), g.cview<3>(), o.view<4>(), {}, fs.view<4>()}, ctx, opt); };
  } else if (op == "attention" || op == "attention_zigzag" || op == "attention_single") {
    flops = double(TT) * TT * H * (K + V);
    run = [&] {
      attention_args<float> a{q.cview<4>(), k.cview<4>(), v.cview<4>(), o.view<4>(), {}, {}};
      if (op == "attention_single") seqmix::attention(a, opt);
      else distributed::ring_attention(a, MPI_COMM_WORLD, layout, opt);
    };
  } else {
    if (rank == 0) std::fprintf(stderr, "unknown op %s\n", op.c_str());
    MPI_Finalize();
    return 2;
  }
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    MPI_Barrier(MPI_COMM_WORLD);
    const double t0 = MPI_Wtime();
    run();
    MPI_Barrier(MPI_COMM_WORLD);
    best = std::min(best, MPI_Wtime() - t0);
  }
  if (rank == 0)
    std::printf("%-17s ranks=%d T=%lld H=%lld K=V=64: %.1f ms, %.1f GFLOP/s total, %.1f GFLOP/s per rank\n", op.c_str(), P,
                (long long)TT, (long long)H, best * 1e3, flops / best * 1e-9, flops / best * 1e-9 / P);
  MPI_Finalize();
  return 0;
}
