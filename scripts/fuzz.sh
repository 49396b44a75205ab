#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz with clang, AddressSanitizer and UBSan in
# build-fuzz/ and runs each for SECONDS_PER_TARGET (default 60), one process at a time,
# starting from the checked-in seed corpus (tests/fuzz/corpus/<target>; new inputs go to a
# working copy, build-fuzz/fuzz-corpus/<target>, so the checked-in corpus stays small).
# Crashes, leaks, timeouts and out-of-memory inputs are written to
# tests/fuzz/findings/<target>/ (crash-*, leak-*, timeout-*, oom-*); fix the product, keep
# the file, and ctest fuzz/replay_<target> replays it in the normal build. Prints a table:
# target, executions, exec/s, findings.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
#
# Environment: FL_FUZZ_BUILD_DIR (build-fuzz), FL_FUZZ_BUILD_JOBS (1: compile jobs),
# FL_FUZZ_KEEP_GOING=1 (fork mode: keep fuzzing after a finding, -fork=1 -ignore_crashes=1),
# FL_FUZZ_ARGS (more libFuzzer flags). Needs Debian's clang and libclang-rt-14-dev.
set -euo pipefail

secs="${1:-60}"
shift || true
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${FL_FUZZ_BUILD_DIR:-$root/build-fuzz}"
all_targets=(wire secagg_server secagg_client safetensors npy npz nifti image csv config state)
if [ $# -gt 0 ]; then targets=("$@"); else targets=("${all_targets[@]}"); fi

# Longest input per target: a little above the largest seed, so that runs stay fast.
declare -A max_len=(
  [wire]=8192 [secagg_server]=16384 [secagg_client]=16384 [safetensors]=16384 [npy]=4096
  [npz]=16384 [nifti]=8192 [image]=4096 [csv]=4096 [config]=8192 [state]=32768)

# --- the compiler -------------------------------------------------------------------------
if ! command -v clang++ >/dev/null 2>&1; then
  echo "fuzz.sh: clang++ not found; install it with: sudo apt-get install clang libclang-rt-14-dev" >&2
  exit 2
fi
probe="$(mktemp -d)"
trap 'rm -rf "$probe"' EXIT
printf '#include <cstdint>\n#include <cstddef>\nextern "C" int LLVMFuzzerTestOneInput(const uint8_t*, size_t) { return 0; }\n' \
  > "$probe/probe.cc"
if ! clang++ -fsanitize=fuzzer,address,undefined "$probe/probe.cc" -o "$probe/probe" >"$probe/log" 2>&1; then
  cat "$probe/log" >&2
  echo "fuzz.sh: clang cannot link a libFuzzer target; install: sudo apt-get install clang libclang-rt-14-dev" >&2
  exit 2
fi

# --- build --------------------------------------------------------------------------------
mkdir -p "$build"
cmake -S "$root" -B "$build" -G Ninja -DFL_FUZZ=ON -DFL_BUILD_WORKER=OFF -DFL_BUILD_TESTS=ON \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ >"$build/cmake.log" 2>&1 \
  || { cat "$build/cmake.log" >&2; exit 1; }
build_targets=()
for t in "${targets[@]}"; do build_targets+=("fuzz_$t"); done
cmake --build "$build" --target "${build_targets[@]}" -j "${FL_FUZZ_BUILD_JOBS:-1}"

# --- run ----------------------------------------------------------------------------------
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
mkdir -p "$build/fuzz-logs"
rows=()
total_execs=0
total_findings=0
for t in "${targets[@]}"; do
  if [ -z "${max_len[$t]:-}" ]; then echo "fuzz.sh: unknown target $t" >&2; exit 2; fi
  seeds="$root/tests/fuzz/corpus/$t"
  work="$build/fuzz-corpus/$t"
  findings="$root/tests/fuzz/findings/$t"
  log="$build/fuzz-logs/$t.log"
  mkdir -p "$work" "$findings"
  before=$(find "$findings" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)
  mode=()
  if [ "${FL_FUZZ_KEEP_GOING:-0}" = 1 ]; then
    mode=(-fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1)
  fi
  echo "== fuzz_$t for ${secs}s (log: $log)"
  set +e
  # shellcheck disable=SC2086
  "$build/tests/fuzz/fuzz_$t" "$work" "$seeds" "${mode[@]}" -max_total_time="$secs" -max_len="${max_len[$t]}" \
    -timeout=10 -rss_limit_mb=2560 -print_final_stats=1 -artifact_prefix="$findings/" \
    ${FL_FUZZ_ARGS:-} >"$log" 2>&1
  rc=$?
  set -e
  # Executions: libFuzzer's final statistics, else its last status line ("#N ...").
  execs=$(grep -oE 'stat::number_of_executed_units: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+$' || true)
  if [ -z "$execs" ]; then
    execs=$(grep -oE '^#[0-9]+' "$log" | tail -1 | tr -d '#' || true)
  fi
  execs=${execs:-0}
  rate=$(grep -oE 'stat::average_exec_per_sec: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+$' || true)
  if [ -z "$rate" ]; then rate=$(( execs / (secs > 0 ? secs : 1) )); fi
  after=$(find "$findings" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)
  new=$(( after - before ))
  if [ "$rc" -ne 0 ] && [ "$new" -eq 0 ]; then
    echo "fuzz_$t exited with $rc and saved no input; see $log" >&2
    tail -20 "$log" >&2
  fi
  total_execs=$(( total_execs + execs ))
  total_findings=$(( total_findings + new ))
  rows+=("$(printf '%-15s %14s %10s %9s' "$t" "$execs" "$rate" "$new")")
done

echo
printf '%-15s %14s %10s %9s\n' target executions exec/s findings
for r in "${rows[@]}"; do echo "$r"; done
printf '%-15s %14s %10s %9s\n' total "$total_execs" "" "$total_findings"
if [ "$total_findings" -gt 0 ]; then
  echo "findings were saved under tests/fuzz/findings/<target>/ (reproduce: build-fuzz/tests/fuzz/fuzz_<target> FILE)"
  exit 1
fi
