#!/usr/bin/env bash
# Builds (if needed) and runs every test: unit tests in float and double, the long-sequence
# suites at small size, runner vectors, package tests, examples. Then the reliability passes:
#   1. the test suite again under AddressSanitizer + UndefinedBehaviorSanitizer
#      (CMake preset `sanitize`: tests and tools at -O1, labels `long` and `package` excluded)
#   2. a bounded libFuzzer run of the safetensors reader and of seqmix-run's input handling
#      (preset `fuzz`, needs clang with libFuzzer; skipped with a note otherwise)
# Usage: bash tools/run-tests.sh
#   SEQMIX_SANITIZE_PASS=0   skip the sanitizer pass
#   SEQMIX_SANITIZE_AREAS="runner io ..." | all   test areas (tests/<area>/) under the sanitizers
#   SEQMIX_FUZZ_SECONDS=N    seconds per fuzz target (default 30; 0 skips fuzzing)
#   SEQMIX_FUZZ_TARGETS="safetensors runner"   fuzz targets (default: safetensors; the runner
#                            target compiles the whole op table under clang+ASan, ~15 min on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/.."
jobs="$(nproc)"

cmake -S . -B build -DCMAKE_BUILD_TYPE=Release > /dev/null
cmake --build build --target seqmix_check -j"$jobs"   # tests, examples, seqmix-run (not the benchmarks)
ctest --test-dir build --output-on-failure -j"$jobs"

# The sanitizer pass builds and runs the test areas in SEQMIX_SANITIZE_AREAS (default: the
# op table through the runner tests -- every op and form at small sizes, bad inputs, NaN,
# determinism -- plus io, simd, core, kernels; "all" = every test file, which takes about
# three times as long on 2 cores). Labels `long` and `package` are always excluded.
if [ "${SEQMIX_SANITIZE_PASS:-1}" != "0" ]; then
  areas="${SEQMIX_SANITIZE_AREAS:-runner io simd core kernels}"
  echo "== seqmix: tests under ASan+UBSan (build-sanitize; areas: $areas) =="
  start=$(date +%s)
  cmake --preset sanitize > /dev/null
  if [ "$areas" = all ]; then
    cmake --build --preset sanitize -j"$jobs"
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
fi

fuzz_seconds="${SEQMIX_FUZZ_SECONDS:-30}"
if [ "$fuzz_seconds" != "0" ]; then
  if command -v clang++ > /dev/null && echo 'extern "C" int LLVMFuzzerTestOneInput(const char*, unsigned long) { return 0; }' \
       | clang++ -x c++ -fsanitize=fuzzer,address,undefined -o /dev/null - > /dev/null 2>&1; then
    echo "== seqmix: fuzzing, ${fuzz_seconds} s per target (build-fuzz) =="
    cmake --preset fuzz > /dev/null
    fuzz_targets="${SEQMIX_FUZZ_TARGETS:-safetensors}"
    build_targets=()
    for target in $fuzz_targets; do build_targets+=("fuzz_$target"); done
    cmake --build --preset fuzz -j"$jobs" --target "${build_targets[@]}"
    export ASAN_OPTIONS="allocator_may_return_null=1:detect_leaks=1"
    export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:suppressions=$PWD/tests/ubsan.supp"
    for target in $fuzz_targets; do
      corpus="build-fuzz/corpus/$target"  # grows here; the committed seeds stay read-only
      log="build-fuzz/fuzz_$target.log"
      mkdir -p "$corpus"
      extra=()
      [ "$target" = safetensors ] && extra=(-dict=tests/fuzz/safetensors.dict)
      set +e
      "build-fuzz/tests/fuzz/fuzz_$target" -max_total_time="$fuzz_seconds" -timeout=20 -max_len=16384 \
        -rss_limit_mb=4096 -print_final_stats=1 -artifact_prefix=build-fuzz/ "${extra[@]}" \
        "$corpus" tests/fuzz/corpus/safetensors tests/vectors/data > "$log" 2>&1
      rc=$?
      set -e
      grep -E "^(stat::number_of_executed_units|Done )" "$log" | sed "s/^/fuzz_$target: /" || true
      if [ "$rc" != "0" ]; then
        tail -40 "$log" >&2
        echo "seqmix: fuzz_$target found a problem (exit $rc; reproducer in build-fuzz/, log $log)" >&2
        exit 1
      fi
    done
  else
    echo "== seqmix: clang with libFuzzer not found: fuzzing skipped (tools/install-deps.sh installs it) =="
  fi
fi
echo "seqmix: all tests passed"
