#!/usr/bin/env bash
# Here: gathers what bench/run_device.sh needs into .carry-bench/ (ignored by
# git): bench-opencl from BUILD, its shared libraries but glibc's, and fla's
# wheels from PyPI.
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
C=.carry-bench
rm -rf $C && mkdir -p $C/lib $C/whl
cp "$BUILD/bench/bench-opencl" $C/
ldd "$BUILD/bench/bench-opencl" | awk '/=> \// {print $3}' |
  grep -vE '/(libc|libm|libpthread|libdl|librt|ld-linux[^/]*)\.so' | xargs -I{} cp -L {} $C/lib/
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform any -d $C/whl fla-core==0.6.0
du -sh $C
