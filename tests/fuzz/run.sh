#!/usr/bin/env bash
# Fuzzes the model-file loader and the prompt path with libFuzzer, under
# AddressSanitizer (leaks included) and UBSan, for a fixed time each, starting
# from the committed seed corpora in fuzz/corpus/. Fails on any crash, leak,
# UB report, timeout or out-of-memory; the input that did it is left in
# $BUILD/fuzz-artifacts/ (replay: $BUILD/fuzz/fuzz-NAME FILE).
#
#   tests/fuzz/run.sh                 60 s per harness
#   FUZZ_SECONDS=600 tests/fuzz/run.sh
#
# Needs clang with compiler-rt (Debian: clang-14 libclang-rt-14-dev).
# Environment: CC (default clang-14, else clang), BUILD (default build-fuzz),
# FUZZ_SECONDS (default 60).
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build-fuzz}
SECONDS_EACH=${FUZZ_SECONDS:-60}
if [ -z "${CC:-}" ]; then
  CC=clang-14
  command -v "$CC" >/dev/null || CC=clang
fi
export CC

if [ ! -f "$BUILD/build.ninja" ]; then
  meson setup "$BUILD" --buildtype=debugoptimized -Dfuzzing=true \
    -Db_sanitize=address,undefined -Db_lundef=false \
    -Dc_args=-fno-sanitize-recover=all -Dplugin=disabled
fi
meson compile -C "$BUILD" fuzz/fuzz-model-load fuzz/fuzz-prompt

# one thread: reproducible, and the machine's cores go to the fuzzers
export OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

status=0
summary=
for name in model-load prompt; do
  seeds=fuzz/corpus/${name//-/_}
  work=$BUILD/fuzz-corpus/$name            # what the fuzzer finds: not committed
  artifacts=$BUILD/fuzz-artifacts
  mkdir -p "$work" "$artifacts"
  case $name in
    model-load) max_len=65536 ;;             # the seed models are ~50 KB
    prompt) max_len=1024 ;;
  esac
  log=$BUILD/fuzz-$name.log
  echo "== fuzz-$name: $SECONDS_EACH s from $seeds"
  set +e
  "$BUILD/fuzz/fuzz-$name" "$work" "$seeds" \
    -max_total_time="$SECONDS_EACH" -timeout=20 \
    -rss_limit_mb=2048 -malloc_limit_mb=1024 -max_len=$max_len \
    -detect_leaks=1 -print_final_stats=1 \
    -artifact_prefix="$artifacts/$name-" >"$log" 2>&1
  rc=$?
  set -e
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
  units=$(sed -n 's/^stat::new_units_added: *//p' "$log")
  if [ "$rc" -ne 0 ]; then
    echo "FAIL fuzz-$name (exit $rc): the last lines of $log:"
    tail -n 60 "$log"
    ls -l "$artifacts" || true
    status=1
    summary+="FAIL fuzz-$name"$'\n'
  else
    line="PASS fuzz-$name: ${runs:-?} inputs in $SECONDS_EACH s (${rate:-?}/s), ${units:-?} new coverage units"
    echo "$line"
    summary+="$line"$'\n'
  fi
done
printf '%s' "$summary"
exit $status
