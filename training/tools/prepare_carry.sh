#!/usr/bin/env bash
# Here, before a device run that goes on from the shipped (grown) default model or
# from a U-Net kept in the history: everything the run's calls carry, rebuilt from
# Debian packages and git history, and the calls to make.
#   bash tools/prepare_carry.sh                 # from the shipped file
#   bash tools/prepare_carry.sh COMMIT:PATH     # from that U-Net (.xz; training/checkpoints/README.md)
# Since phase 24 the tree leaves under 10 MiB a call, so the data set (and such a
# U-Net) travel in parts over several calls (tools/carry_parts.py stage):
#   cache/carry-calls/N/               call N's parts: copied to ../.carry-init before it
#   ../.carry/meta.json.gz             carried once, in the first call with room for it
#   ../.carry-cc/compile-cache.bin.xz  the bg call (the grown network's kernels, commit cb03445)
# The device keeps ignored paths between calls, so the bg call finds what earlier
# calls left: carry unpack takes the gathered images and meta.json.gz, INIT the U-Net.
set -eu
cd "$(dirname "$0")/.."
INIT_FROM=${1:-}
LIMIT=$((64 * 1024 * 1024))
MARGIN=$((256 * 1024))   # the docs a session adds before its run
[ -e cache/dataset/meta.json ] || python3 -m data.build_dataset --out cache/dataset
python3 -m tools.carry pack --dataset cache/dataset
files=(../.carry/images.npy.xz)
init=../data/models/dir7-default.safetensors
if [ -n "$INIT_FROM" ]; then
  name=$(basename "${INIT_FROM#*:}")
  mkdir -p cache/init
  git show "$INIT_FROM" > "cache/init/$name"
  files+=("cache/init/$name")
  init=runs/${name%.xz}
fi
mkdir -p ../.carry-cc
git show cb03445:training/checkpoints/compile-cache-grown.bin.xz > ../.carry-cc/compile-cache.bin.xz
# what travels without carry: tracked and untracked-not-ignored files
tree=$(cd .. && git ls-files -co --exclude-standard -z | du -cb --files0-from=- | tail -n 1 | cut -f 1)
room=$((LIMIT - tree - MARGIN))
cc=$(stat -c %s ../.carry-cc/compile-cache.bin.xz)
[ "$cc" -le "$room" ] || { echo "prepare_carry: the compile cache ($cc bytes) does not fit the room ($room)"; exit 1; }
rm -rf ../.carry-init cache/carry-calls
python3 -m tools.carry_parts stage "${files[@]}" --room "$room" --out cache/carry-calls
rm ../.carry/images.npy.xz   # rebuilt by pack whenever needed; only its parts travel
rm -rf cache/init
meta=$(stat -c %s ../.carry/meta.json.gz)
n_calls=$(ls cache/carry-calls | wc -l)
echo "calls (carry, command), back to back (a warm machine is given back after 30 s idle);"
echo "before call N, in the repository root: rm -rf .carry-init && cp -r training/cache/carry-calls/N .carry-init"
meta_call=""
for n in $(seq 1 "$n_calls"); do
  used=$(du -cb cache/carry-calls/$n/* | tail -n 1 | cut -f 1)
  carry='[".carry-init"]'
  if [ -z "$meta_call" ] && [ $((used + meta)) -le "$room" ]; then
    carry='[".carry-init", ".carry"]'; meta_call=$n
  fi
  echo "  $n. $carry  cd training && python3 -m tools.carry_parts gather"
done
if [ -z "$meta_call" ]; then
  echo "  $((n_calls + 1)). [\".carry\"]  true   (meta.json.gz alone)"
fi
cat <<PLAN
  then [".carry-cc"]  cd training && INIT=$init DENOISE_MIN=22 BATCH=512 ANNEAL=1 MIN_SNR=5 EMOJI_WEIGHT=2 \\
       B_ARGS="--prediction v --lr 5e-4 --compile --text-cache-gb 24 --res-blocks 2" bash tools/device_train.sh bg 540
  then snap 520, then snap 570 (evaluation and the ship test against the tree's model; keep the
  budget: snap N's N plus about 380 s for the last one)
Keep the machine busy: it goes back after 30 s with no call in flight, and the run with it
(phase 26 lost its run so, between bg and the first snap). Issue each call the moment the
last returns; check a call's result before the next (a refused start or a fresh machine
means the gathered files are gone). The run needs DENOISE_MIN x 60 s plus about 150 s
(export, evaluation, ship test) from the bg call's start: with 22 minutes, start bg with at
least 1,500 s of the budget left, or lower DENOISE_MIN.
PLAN
