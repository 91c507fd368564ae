#!/usr/bin/env bash
# Here, on a fresh checkout, before a device run that goes on from the shipped
# (grown) default model: everything the run's three calls carry, rebuilt from
# Debian packages and git history. Since phase 24 the tree leaves about 9.5 MiB
# a call, so the data set travels in two parts (device_train.sh's header):
#   ../.carry/meta.json.gz             call 2 (with part01)
#   ../.carry-init/images.npy.xz.*     call 1: manifest + part00 (part01 waits in cache/carry-next/)
#   ../.carry-cc/compile-cache.bin.xz  call 3, the bg call (the grown network's kernels, commit cb03445)
set -eu
cd "$(dirname "$0")/.."
[ -e cache/dataset/meta.json ] || python3 -m data.build_dataset --out cache/dataset
python3 -m tools.carry pack --dataset cache/dataset
rm -rf ../.carry-init cache/carry-next
python3 -m tools.carry_parts split ../.carry/images.npy.xz --parts 2
rm ../.carry/images.npy.xz   # rebuilt by pack whenever needed; only its parts travel
mkdir -p cache/carry-next ../.carry-cc
mv ../.carry-init/images.npy.xz.part01 cache/carry-next/
git show cb03445:training/checkpoints/compile-cache-grown.bin.xz > ../.carry-cc/compile-cache.bin.xz
cat <<'PLAN'
calls (carry, command), back to back (a warm machine is given back after 30 s idle):
  1. [".carry-init"]           cd training && python3 -m tools.carry_parts gather
     then here: mv ../.carry-init/images.npy.xz.part00 cache/carry-next/ && mv cache/carry-next/images.npy.xz.part01 ../.carry-init/
  2. [".carry-init", ".carry"] cd training && python3 -m tools.carry_parts gather && python3 -m tools.carry unpack
  3. [".carry-cc"]             cd training && DENOISE_MIN=22 BATCH=512 ANNEAL=1 MIN_SNR=5 EMOJI_WEIGHT=2 \
       B_ARGS="--prediction v --lr 5e-4 --compile --text-cache-gb 24 --res-blocks 2" bash tools/device_train.sh bg 540
  4. snap 520, then snap 570 (evaluation and the ship test against the tree's model)
PLAN
