#!/usr/bin/env bash
# Builds (if needed) and runs every test: unit tests in float and double, the long-sequence
# suites at small size, runner vectors, package tests, examples. Then the reliability passes,
# both from ONE clang tree (CMake preset `sanitize`: -O0, ASan+UBSan, build-sanitize/), so the
# op table compiles once for the tests, seqmix-run and the fuzzers:
#   1. the whole test suite again under AddressSanitizer + UndefinedBehaviorSanitizer
#      (labels `long` and `package` excluded; MPI off)
#   2. a bounded libFuzzer run of the safetensors reader and of seqmix-run's input handling
#      (needs clang with libFuzzer; without it the sanitizer pass uses g++ -O1 and fuzzing is
#      skipped with a note)
# Usage: bash tools/run-tests.sh
#   SEQMIX_SANITIZE_PASS=0   skip the sanitizer pass and fuzzing
#   SEQMIX_SANITIZE_AREAS="runner io ..."   only these test areas (tests/<area>/); default all
#   SEQMIX_FUZZ_SECONDS=N    seconds per fuzz target (default 60; 0 skips fuzzing)
#   SEQMIX_FUZZ_TARGETS="safetensors runner"   fuzz targets (default: both)
set -euo pipefail
cd "$(dirname "$0")/.."
jobs="$(nproc)"

cmake -S . -B build -DCMAKE_BUILD_TYPE=Release > /dev/null
cmake --build build --target seqmix_check -j"$jobs"   # tests, examples, seqmix-run (not the benchmarks)
ctest --test-dir build --output-on-failure -j"$jobs"

if [ "${SEQMIX_SANITIZE_PASS:-1}" = "0" ]; then
  echo "seqmix: all tests passed (sanitizer pass and fuzzing skipped)"
  exit 0
fi

# One tree for the sanitizer pass and the fuzzers: clang (-O0 compiles ~4x faster than -O1
# and the tests are small) with libFuzzer when available.
fuzz_seconds="${SEQMIX_FUZZ_SECONDS:-60}"
san_args=()
have_fuzzer=0
if command -v clang++ > /dev/null; then
  if echo 'extern "C" int LLVMFuzzerTestOneInput(const char*, unsigned long) { return 0; }' \
       | clang++ -x c++ -fsanitize=fuzzer,address,undefined -o /dev/null - > /dev/null 2>&1; then
    have_fuzzer=1
  else
    san_args+=(-DSEQMIX_BUILD_FUZZERS=OFF)
  fi
else  # g++ cannot compile xsimd 8.1's AVX-512BW code at -O0
  san_args+=(-DCMAKE_CXX_COMPILER=g++ "-DCMAKE_CXX_FLAGS_DEBUG=-O1 -g1" -DSEQMIX_BUILD_FUZZERS=OFF)
fi
areas="${SEQMIX_SANITIZE_AREAS:-all}"
echo "== seqmix: tests under ASan+UBSan (build-sanitize; areas: $areas) =="
start=$(date +%s)
cmake --preset sanitize "${san_args[@]}" > /dev/null
if [ "$areas" = all ]; then
  cmake --build --preset sanitize -j"$jobs"   # every test, seqmix-run, the fuzzers
  ctest --preset sanitize -j"$jobs"
else
  targets=(seqmix-run)
  for area in $areas; do
    for src in tests/"$area"/*.cpp; do
      [ -e "$src" ] && targets+=("test_${area}_$(basename "$src" .cpp)")
    done
  done
  cmake --build --preset sanitize -j"$jobs" --target "${targets[@]}"
  ctest --preset sanitize -j"$jobs" -L "^($(echo "$areas" | tr ' ' '|'))\$"
fi
echo "== seqmix: sanitizer pass took $(( $(date +%s) - start )) s =="

if [ "$fuzz_seconds" != "0" ]; then
  if [ "$have_fuzzer" = 1 ]; then
    fuzz_targets="${SEQMIX_FUZZ_TARGETS:-safetensors runner}"
    echo "== seqmix: fuzzing, ${fuzz_seconds} s per target ($fuzz_targets; build-sanitize) =="
    build_targets=()
    for target in $fuzz_targets; do build_targets+=("fuzz_$target"); done
    cmake --build --preset sanitize -j"$jobs" --target "${build_targets[@]}"
    export ASAN_OPTIONS="allocator_may_return_null=1:detect_leaks=1"
    export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:suppressions=$PWD/tests/ubsan.supp"
    for target in $fuzz_targets; do
      corpus="build-sanitize/corpus/$target"  # grows here; the committed seeds stay read-only
      log="build-sanitize/fuzz_$target.log"
      mkdir -p "$corpus"
      set +e
      "build-sanitize/tests/fuzz/fuzz_$target" -max_total_time="$fuzz_seconds" -timeout=20 -max_len=16384 \
        -rss_limit_mb=4096 -print_final_stats=1 -artifact_prefix=build-sanitize/ -dict=tests/fuzz/safetensors.dict \
        "$corpus" tests/fuzz/corpus/safetensors tests/vectors/data > "$log" 2>&1
      rc=$?
      set -e
      grep -E "^(stat::number_of_executed_units|Done )" "$log" | sed "s/^/fuzz_$target: /" || true
      if [ "$rc" != "0" ]; then
        tail -40 "$log" >&2
        echo "seqmix: fuzz_$target found a problem (exit $rc; reproducer in build-sanitize/, log $log)" >&2
        exit 1
      fi
    done
  else
    echo "== seqmix: clang with libFuzzer not found: fuzzing skipped (tools/install-deps.sh installs it) =="
  fi
fi
echo "seqmix: all tests passed"
