#!/usr/bin/env bash
# Builds (if needed) and runs every test: unit tests in float and double, the long-sequence
# suites at small size, runner vectors, package tests, examples.
# Usage: bash tools/run-tests.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release > /dev/null
cmake --build build -j"$(nproc)"
ctest --test-dir build --output-on-failure -j"$(nproc)"
