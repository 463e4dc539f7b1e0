#!/usr/bin/env bash
# Quick start: install dependencies, configure, build, and run the mixer comparison at a
# small default size. Usage: bash tools/quickstart.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release > /dev/null
# the comparison and the runner only; `bash tools/run-tests.sh` builds the tests, and a plain
# `cmake --build build` builds everything (all benchmarks and examples too)
cmake --build build --target bench_compare_mixers seqmix-run -j"$(nproc)"
mkdir -p build/compare
cd build/compare
../bench/bench_compare_mixers --quick --csv compare_mixers.csv --plot compare_mixers.png
echo "seqmix: table above; CSV and plot in build/compare/"
