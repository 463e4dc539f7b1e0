#!/usr/bin/env bash
# Quick start: install dependencies, configure, build, and run the mixer comparison at a
# small default size. Usage: bash tools/quickstart.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release > /dev/null
cmake --build build -j"$(nproc)"
if [ -x build/bench/bench_compare_mixers ]; then
  build/bench/bench_compare_mixers --quick
else
  build/examples/example_quickstart
fi
