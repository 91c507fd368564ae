#!/usr/bin/env bash
# The whole meson test suite under AddressSanitizer (leaks included) and
# UndefinedBehaviorSanitizer, any report fatal; then valgrind memcheck of
# small CLI runs (generate, inpaint, a damaged model file) in a plain build,
# with zero errors and no definite or indirect leaks allowed.
#
#   tests/sanitize/run.sh             both
#   tests/sanitize/run.sh asan        only the sanitizer suite
#   tests/sanitize/run.sh valgrind    only valgrind
#
# Needs gcc (or CC=clang-14 with libclang-rt-14-dev) and valgrind.
# Environment: BUILD_SAN (default build-san), BUILD_VG (default build-valgrind).
set -euo pipefail
cd "$(dirname "$0")/../.."
what=${1:-all}
BUILD_SAN=${BUILD_SAN:-build-san}
BUILD_VG=${BUILD_VG:-build-valgrind}
MODEL=tests/golden/tiny-state.safetensors
# GLib < 2.76 keeps freed blocks in GSlice magazines: plain malloc instead
export G_SLICE=always-malloc G_DEBUG=gc-friendly
export OMP_WAIT_POLICY=PASSIVE

if [ "$what" = all ] || [ "$what" = asan ]; then
  t0=$(date +%s)
  if [ ! -f "$BUILD_SAN/build.ninja" ]; then
    # b_lundef=false: a clang ASan shared library leaves the runtime to the
    # executable. -fno-sanitize-recover: UBSan errors abort, so tests fail.
    meson setup "$BUILD_SAN" --buildtype=debugoptimized \
      -Db_sanitize=address,undefined -Db_lundef=false \
      -Dc_args=-fno-sanitize-recover=all -Dplugin=disabled
  fi
  meson compile -C "$BUILD_SAN"
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:halt_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  export LSAN_OPTIONS=print_suppressions=0
  # the sanitizers make the golden tests 3-5x slower
  meson test -C "$BUILD_SAN" --print-errorlogs --timeout-multiplier 4
  unset ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS
  echo "sanitize: ASan+UBSan suite passed in $(( $(date +%s) - t0 )) s"
fi

if [ "$what" = all ] || [ "$what" = valgrind ]; then
  t0=$(date +%s)
  [ -f "$BUILD_VG/build.ninja" ] || meson setup "$BUILD_VG" --buildtype=debugoptimized -Dplugin=disabled
  meson compile -C "$BUILD_VG" cli/dir7
  TMP=$(mktemp -d)
  trap 'rm -rf "$TMP"' EXIT
  VG=(valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect
      --show-leak-kinds=definite,indirect --track-origins=yes --num-callers=30)
  DIR7=$BUILD_VG/cli/dir7
  run () {   # run NAME EXPECTED_EXIT -- command...
    local name=$1 want=$2; shift 3
    local rc=0
    "${VG[@]}" "$@" >"$TMP/out" 2>"$TMP/err" || rc=$?
    if [ "$rc" -ne "$want" ]; then
      echo "FAIL valgrind $name: exit $rc (wanted $want; 99 = memcheck errors)"
      cat "$TMP/err"
      exit 1
    fi
    echo "PASS valgrind $name"
  }
  # --device cpu: our code, not the OpenCL driver's (PoCL's own dlopen and
  # LLVM trip memcheck; the ASan suite above covers the OpenCL backend)
  run "generate 16x16, 2 steps" 0 -- "$DIR7" generate "a red apple" --model "$MODEL" \
    --device cpu --steps 2 --seed 1 -o "$TMP/a.png" --quiet
  run "inpaint 16x16, 2 steps" 0 -- "$DIR7" inpaint "a pear" --init "$TMP/a.png" --mask "$TMP/a.png" \
    --model "$MODEL" --device cpu --steps 2 --sampler ddpm --seed 2 -o "$TMP/b.png" --quiet
  head -c 100000 "$MODEL" > "$TMP/cut.safetensors"
  run "a truncated model file" 1 -- "$DIR7" generate x --model "$TMP/cut.safetensors" -o "$TMP/c.png" --quiet
  run "a size over the memory limit" 1 -- env DIR7_MEMORY_LIMIT_MB=64 "$DIR7" generate x \
    --model "$MODEL" --width 512 --height 512 -o "$TMP/d.png" --quiet
  echo "sanitize: valgrind runs passed in $(( $(date +%s) - t0 )) s"
fi
