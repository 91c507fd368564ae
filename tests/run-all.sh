#!/usr/bin/env bash
# Every test: the C core (meson test) and the Python reference's own tests.
# The reference tests that need PyTorch are skipped where it is not installed;
# the C tests use committed golden vectors and need no Python at all.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
[ -f "$BUILD/build.ninja" ] || meson setup "$BUILD" --buildtype=release
meson compile -C "$BUILD"
meson test -C "$BUILD" --print-errorlogs
# the first Python that has pytest (the system one has it from .ci/run's apt)
PY=
for p in python3 /usr/bin/python3; do
  if command -v "$p" >/dev/null && "$p" -c 'import pytest' 2>/dev/null; then PY=$p; break; fi
done
[ -n "$PY" ] || { echo "run-all: no python3 with pytest (apt-get install python3-pytest)"; exit 1; }
# pytest exits 5 when everything was skipped: that is not a failure here
set +e
(cd training && "$PY" -m pytest -q -rs tests)
rc=$?
set -e
[ "$rc" -eq 0 ] || [ "$rc" -eq 5 ] || exit "$rc"
