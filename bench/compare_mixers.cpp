// The mixer comparison: every mixer family at equal d_model, B=1, over sequence lengths.
// For each (mixer, T): prefill time (forward over T tokens from a fresh state), tokens/s,
// GFLOP/s, state (or KV-cache) memory after T tokens, and decode tokens/s (one `step` after
// the prefill). Prints one table, writes CSV and (with gnuplot) a log-log PNG plot.
//
//   bench_compare_mixers [--quick] [--d_model N] [--lengths 256,1024,...] [--budget_s S]
//                        [--csv FILE] [--plot FILE] [--only NAME,...] [google-benchmark flags]
//
// FLOPs per mixer = 2·(parameter count)·T for the projections + the mixer's core FLOPs
// (the op's formula, as in the README). A (mixer, T) whose predicted time exceeds the budget
// (extrapolated from the previous length) is skipped and shown as "-".
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "compare/registry.hpp"

using namespace seqmix;
using namespace seqmix::bench;

namespace {

struct settings {
  std::size_t d_model = 512;
  std::vector<index_t> lengths{256, 1024, 4096, 16384, 65536};
  double budget_s = 20.0;
  std::string csv = "compare_mixers.csv", plot = "compare_mixers.png";
  std::vector<std::string> only;
};

struct result {
  double prefill_ms = NAN, decode_tokens_per_s = NAN, state_bytes = NAN, gflops = NAN;
};

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, ',');) out.push_back(item);
  return out;
}

std::string human_bytes(double b) {
  if (std::isnan(b)) return "-";
  char buf[32];
  const char* unit[] = {"B", "KiB", "MiB", "GiB"};
  int u = 0;
  while (b >= 1024 && u < 3) b /= 1024, ++u;
  std::snprintf(buf, sizeof buf, "%.1f %s", b, unit[u]);
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  settings cfg;
  std::vector<char*> bm_args{argv[0]};
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) { std::fprintf(stderr, "%s needs a value\n", a.c_str()); std::exit(2); }
      return argv[++i];
    };
    if (a == "--quick") cfg.lengths = {256, 1024}, cfg.budget_s = 5;
    else if (a == "--d_model") cfg.d_model = std::stoul(next());
    else if (a == "--lengths") { cfg.lengths.clear(); for (auto& s : split(next())) cfg.lengths.push_back(std::stol(s)); }
    else if (a == "--budget_s") cfg.budget_s = std::stod(next());
    else if (a == "--csv") cfg.csv = next();
    else if (a == "--plot") cfg.plot = next();
    else if (a == "--only") cfg.only = split(next());
    else bm_args.push_back(argv[i]);
  }
  int bm_argc = static_cast<int>(bm_args.size());
  benchmark::Initialize(&bm_argc, bm_args.data());

  auto cases = compare::all_cases(cfg.d_model, *std::max_element(cfg.lengths.begin(), cfg.lengths.end()) + 64);
  if (!cfg.only.empty())
    std::erase_if(cases, [&](const auto& c) { return std::find(cfg.only.begin(), cfg.only.end(), c.name) == cfg.only.end(); });

  std::map<std::string, std::map<index_t, result>> results;
  for (auto& c : cases) {
    double last_ms = 0;
    index_t last_T = 0;
    for (index_t T : cfg.lengths) {
      // predicted time from the previous length at the mixer's scaling (quadratic or linear)
      const double predicted_s = last_T ? last_ms * 1e-3 * std::pow(double(T) / last_T, c.quadratic ? 2.0 : 1.0) : 0;
      if (predicted_s > cfg.budget_s) continue;
      auto inst = c.make();
      auto x = uniform<float>({T, index_t(cfg.d_model)}, -1, 1, 7);
      tensor<float> y({T, index_t(cfg.d_model)});
      result r;
      const std::string bname = c.name + "/prefill/T:" + std::to_string(T);
      auto* b = benchmark::RegisterBenchmark(bname.c_str(), [&](benchmark::State& st) {
        for (auto _ : st) {
          st.PauseTiming();
          inst->reset();  // a fresh state (e.g. an empty KV cache) is not part of prefill
          st.ResumeTiming();
          inst->forward(x.cview<2>(), y.view<2>());
        }
        const double flops = 2.0 * double(inst->parameter_count()) * double(T) + c.core_flops(T);
        report(st, double(T), flops);
      });
      b->Unit(benchmark::kMillisecond);
      if (T >= 16384) b->Iterations(1);  // long prefills: one timed run (Google Benchmark allows one of the two)
      else b->MinTime(0.05);
      // Run just this benchmark now, then read the timing back through a reporter.
      struct capture : benchmark::ConsoleReporter {
        result* r; double flops;
        void ReportRuns(const std::vector<Run>& runs) override {
          benchmark::ConsoleReporter::ReportRuns(runs);
          for (const auto& run : runs) r->prefill_ms = run.GetAdjustedRealTime();
        }
      } rep;
      rep.r = &r;
      benchmark::RunSpecifiedBenchmarks(&rep, "^" + bname + "(/|$)");
      benchmark::ClearRegisteredBenchmarks();
      r.gflops = (2.0 * double(inst->parameter_count()) * double(T) + c.core_flops(T)) / (r.prefill_ms * 1e6);
      r.state_bytes = inst->state_bytes();
      // decode: steps continuing from the prefilled state
      const int steps = 16;
      std::vector<float> tok(cfg.d_model, 0.1f), out(cfg.d_model);
      const auto t0 = std::chrono::steady_clock::now();
      for (int i = 0; i < steps; ++i) inst->step(tok, out);
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      r.decode_tokens_per_s = steps / s;
      results[c.name][T] = r;
      last_ms = r.prefill_ms;
      last_T = T;
    }
  }

  // table
  std::printf("\nseqmix mixer comparison: d_model=%zu, B=1, fp32, threads=%d\n\n", cfg.d_model, seqmix::num_threads());
  std::printf("| mixer | family | params |");
  for (auto T : cfg.lengths) std::printf(" T=%ld ms |", long(T));
  std::printf(" GFLOP/s (T=%ld) | state @T=%ld | decode tok/s |\n|---|---|---:|", long(cfg.lengths.back()),
              long(cfg.lengths.back()));
  for (std::size_t i = 0; i < cfg.lengths.size(); ++i) std::printf("---:|");
  std::printf("---:|---:|---:|\n");
  std::ofstream csv(cfg.csv);
  csv << "mixer,family,params,T,prefill_ms,tokens_per_s,gflops,state_bytes,decode_tokens_per_s\n";
  for (auto& c : cases) {
    auto inst = c.make();
    std::printf("| %s | %s | %.2fM |", c.name.c_str(), c.family.c_str(), double(inst->parameter_count()) * 1e-6);
    const result* last = nullptr;
    for (auto T : cfg.lengths) {
      auto it = results[c.name].find(T);
      if (it == results[c.name].end()) { std::printf(" - |"); continue; }
      const auto& r = it->second;
      last = &r;
      std::printf(" %.2f |", r.prefill_ms);
      csv << c.name << ',' << c.family << ',' << inst->parameter_count() << ',' << T << ',' << r.prefill_ms << ','
          << T / (r.prefill_ms * 1e-3) << ',' << r.gflops << ',' << r.state_bytes << ',' << r.decode_tokens_per_s << '\n';
    }
    if (last)
      std::printf(" %.1f | %s | %.0f |\n", last->gflops, human_bytes(last->state_bytes).c_str(), last->decode_tokens_per_s);
    else
      std::printf(" - | - | - |\n");
  }
  csv.close();
  std::printf("\nCSV: %s\n", cfg.csv.c_str());

  // plot with gnuplot when available
  if (std::system("command -v gnuplot > /dev/null 2>&1") == 0) {
    std::ofstream gp("compare_mixers.gp");
    gp << "set datafile separator ','\nset terminal pngcairo size 1000,640 noenhanced\nset output '" << cfg.plot << "'\n"
       << "set logscale xy\nset xlabel 'sequence length T'\nset ylabel 'prefill time (ms)'\nset key outside right\n"
       << "set title 'seqmix prefill time, d_model=" << cfg.d_model << ", B=1, fp32'\nset grid\nplot ";
    for (std::size_t i = 0; i < cases.size(); ++i)
      gp << (i ? ", " : "") << "'" << cfg.csv << "' using (stringcolumn(1) eq '" << cases[i].name
         << "' ? $4 : 1/0):5 with linespoints title '" << cases[i].name << "'";
    gp << "\n";
    gp.close();
    if (std::system("gnuplot compare_mixers.gp 2> /dev/null") == 0) std::printf("plot: %s\n", cfg.plot.c_str());
  }
  return 0;
}
