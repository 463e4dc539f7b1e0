// Strong scaling of the distributed ops: every rank builds random inputs for its slice, then
// the op runs `reps` times between barriers; rank 0 prints the best wall time, and for every
// rank its CPU time and (gla, simple_gla) the phase split of that best run.
//   mpirun -np N bench_mpi_distributed OP T [H] [reps] [balance]
// OP: gla | simple_gla | attention | attention_zigzag   (the distributed ops; any N)
//     gla_single | simple_gla_single | attention_single (the plain single-process op on the
//     whole sequence, one thread: the 1-rank baseline; run with -np 1)
// balance (gla, simple_gla): rank 0's slice weight is 1 + balance (others 1), because rank 0
// has no correction pass; balance ≈ correction / compute time of rank 1 evens the ranks out.
// K = V = 64; attention: causal, HQ = H. One thread per rank (run_options::threads = 1 and
// Eigen::setNbThreads(1); set OMP_NUM_THREADS=1 OMP_WAIT_POLICY=passive too, and
// `--mca mpi_yield_when_idle 1` so waiting ranks yield their core). FLOPs: gla 4·T·H·K·V
// (state update + readout, the chunk engine's extra intra-chunk work not counted), causal
// attention 2·T²·H·(K+V)·½.
#include <mpi.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>
#include <ctime>
#include <vector>
#include <string>

#include "seqmix/distributed/linear_attention.hpp"
#include "seqmix/distributed/ring_attention.hpp"
#include "seqmix/ops/attention.hpp"
#include "seqmix/ops/gla.hpp"
#include "seqmix/ops/simple_gla.hpp"

using namespace seqmix;

namespace {
tensor<float> rnd(std::vector<index_t> shape, unsigned seed, float lo, float hi) {
  tensor<float> t(std::move(shape));
  std::mt19937 g(seed);
  std::uniform_real_distribution<float> u(lo, hi);
  for (auto& x : t.values()) x = u(g);
  return t;
}
double cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}
}  // namespace

int main(int argc, char** argv) {
  Eigen::setNbThreads(1);  // one thread per rank (Eigen's GEMMs would spawn OpenMP threads)
  MPI_Init(&argc, &argv);
  int rank = 0, P = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &P);
  if (argc < 3) {
    if (rank == 0) std::fprintf(stderr, "usage: %s gla|simple_gla|attention|attention_zigzag|gla_single|simple_gla_single|attention_single T [H] [reps] [balance]\n", argv[0]);
    MPI_Finalize();
    return 2;
  }
  const std::string op = argv[1];
  const index_t TT = std::atoll(argv[2]), H = argc > 3 ? std::atoll(argv[3]) : 16, K = 64, V = 64;
  const int reps = argc > 4 ? std::atoi(argv[4]) : 3;
  const unsigned seed = 1234u + unsigned(rank);
  run_options opt;
  opt.threads = 1;
  const double balance = argc > 5 ? std::atof(argv[5]) : 0.0;
  const bool single = op.size() > 7 && op.substr(op.size() - 7) == "_single";
  if (single && P != 1) {
    if (rank == 0) std::fprintf(stderr, "%s is the single-process baseline: run it with -np 1\n", op.c_str());
    MPI_Finalize();
    return 2;
  }
  std::vector<double> w(std::size_t(P), 1.0);
  w[0] += balance;
  const auto ctx = distributed::make_context(MPI_COMM_WORLD, distributed::weighted_offsets(TT, w));
  const auto layout = op == "attention_zigzag" ? distributed::zigzag_layout(TT, P) : distributed::contiguous_layout(ctx);
  const index_t TL = single ? TT : layout.local_length(rank);
  double flops = 0;
  auto q = rnd({1, TL, H, K}, seed, -1, 1), k = rnd({1, TL, H, K}, seed + 100, -1, 1), v = rnd({1, TL, H, V}, seed + 200, -1, 1);
  tensor<float> o({1, TL, H, V}), fs({1, H, K, V});
  tensor<float> g = op.rfind("gla", 0) == 0 ? rnd({1, TL, H, K}, seed + 300, -0.1f, 0) : rnd({1, TL, H}, seed + 300, -0.1f, 0);
  std::function<void()> run;
  if (op == "gla" || op == "gla_single") {
    flops = 4.0 * TT * H * K * V;
    run = [&] {
      gla_args<float> a{q.cview<4>(), k.cview<4>(), v.cview<4>(), g.cview<4>(), o.view<4>(), {}, fs.view<4>()};
      if (single) seqmix::gla(a, opt);
      else distributed::gla<float>(a, ctx, opt);
    };
  } else if (op == "simple_gla" || op == "simple_gla_single") {
    flops = 4.0 * TT * H * K * V;
    run = [&] {
      simple_gla_args<float> a{q.cview<4>(), k.cview<4>(), v.cview<4>(), g.cview<3>(), o.view<4>(), {}, fs.view<4>()};
      if (single) seqmix::simple_gla(a, opt);
      else distributed::simple_gla<float>(a, ctx, opt);
    };
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
  double best = 1e30, best_cpu = 0;
  distributed::phase_times best_phases;
  for (int r = 0; r < reps; ++r) {
    MPI_Barrier(MPI_COMM_WORLD);
    const double t0 = MPI_Wtime(), c0 = cpu_seconds();
    run();
    const double c1 = cpu_seconds();
    MPI_Barrier(MPI_COMM_WORLD);
    const double wall = MPI_Wtime() - t0;
    if (wall < best) {
      best = wall;
      best_cpu = c1 - c0;
      best_phases = distributed::last_phase_times();
    }
  }
  // per rank: slice length, CPU s, pass-1 compute, correction, communication (incl. waiting)
  const auto& ph = best_phases;
  double mine[8] = {double(TL), best_cpu, ph.compute, ph.correction, ph.communication, ph.cpu_compute, ph.cpu_correction, ph.cpu_communication};
  std::vector<double> all(std::size_t(8 * P));
  MPI_Gather(mine, 8, MPI_DOUBLE, all.data(), 8, MPI_DOUBLE, 0, MPI_COMM_WORLD);
  if (rank == 0) {
    std::printf("%-17s ranks=%d T=%lld H=%lld K=V=64 balance=%.2f: %.1f ms wall (best of %d), %.1f GFLOP/s total, %.1f GFLOP/s per rank\n",
                op.c_str(), P, (long long)TT, (long long)H, balance, best * 1e3, reps, flops / best * 1e-9, flops / best * 1e-9 / P);
    for (int r = 0; r < P; ++r) {
      const double* x = all.data() + 8 * r;
      std::printf("  rank %d: T_local=%.0f  cpu %.1f ms (%.0f%% of wall)", r, x[0], x[1] * 1e3, 100 * x[1] / best);
      if (x[2] + x[3] + x[4] > 0)
        std::printf("\n          wall/cpu ms: pass-1 compute %.1f/%.1f, correction %.1f/%.1f, communication+wait %.1f/%.1f",
                    x[2] * 1e3, x[5] * 1e3, x[3] * 1e3, x[6] * 1e3, x[4] * 1e3, x[7] * 1e3);
      std::printf("\n");
    }
  }
  MPI_Finalize();
  return 0;
}
