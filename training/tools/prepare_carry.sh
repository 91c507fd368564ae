#!/usr/bin/env bash
# Here, before a device run that goes on from the shipped (grown) default model or
# from a U-Net kept in the history: everything the run's calls carry, rebuilt from
# Debian packages and git history, and the calls to make.
#   bash tools/prepare_carry.sh                 # from the shipped file
#   bash tools/prepare_carry.sh COMMIT:PATH     # from that U-Net (.xz; training/checkpoints/README.md)
# Since phase 24 the tree leaves under 10 MiB a call, so the data set (and such a
# U-Net) travel in parts over several calls (tools/carry_parts.py stage). SLIM=1 (the
# default) first moves the tracked folders no device run reads out of the tree
# (tools/slim_tree.sh; put them back after the run's last call): then a call has room
# for about 31 MiB, and the run needs two calls before it trains, not five:
#   cache/carry-calls/N/               call N's parts: copied to ../.carry-init before it
#   ../.carry/meta.json.gz             carried once, in call 1 (every call keeps room for it)
#   ../.carry-cc/compile-cache.bin.xz  the bg call, the last one when it fits (the kernels of commit cb03445)
# The device keeps ignored paths between calls, so the bg call finds what earlier
# calls left: carry unpack takes the gathered images and meta.json.gz, INIT the U-Net.
# Since phase 28, prefer tools/prepare_chunk.sh: each call carries all it needs
# (device_train.sh chunk), so a machine taken back loses one call, not the run.
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
if [ "${SLIM:-1}" = 1 ] && [ ! -e ../.slim ]; then
  bash tools/slim_tree.sh out
fi
# what travels without carry: tracked and untracked-not-ignored files (those slim_tree
# moved out are not in the working tree, and do not count)
tree=$(cd .. && git ls-files -co --exclude-standard -z | while IFS= read -r -d '' f; do
  [ -e "$f" ] && printf '%s\0' "$f"; done | du -cb --files0-from=- | tail -n 1 | cut -f 1)
room=$((LIMIT - tree - MARGIN))
cc=$(stat -c %s ../.carry-cc/compile-cache.bin.xz)
meta=$(stat -c %s ../.carry/meta.json.gz)
[ "$cc" -le "$room" ] || { echo "prepare_carry: the compile cache ($cc bytes) does not fit the room ($room)"; exit 1; }
rm -rf ../.carry-init cache/carry-calls
# meta.json.gz travels beside call 1's parts: every call keeps room for it
python3 -m tools.carry_parts stage "${files[@]}" --room $((room - meta)) --out cache/carry-calls
rm ../.carry/images.npy.xz   # rebuilt by pack whenever needed; only its parts travel
rm -rf cache/init
n_calls=$(ls cache/carry-calls | wc -l)
last_used=$(du -cb cache/carry-calls/$n_calls/* | tail -n 1 | cut -f 1)
bg="INIT=$init DENOISE_MIN=22 BATCH=512 ANNEAL=1 MIN_SNR=5 EMOJI_WEIGHT=2 \\
       B_ARGS=\"--prediction v --lr 5e-4 --compile --text-cache-gb 24 --res-blocks 2\" bash tools/device_train.sh bg 540"
echo "tree $tree bytes, room $room a call"
echo "calls (carry, command), back to back (a warm machine is given back after 30 s idle);"
echo "before call N, in the repository root: rm -rf .carry-init && cp -r training/cache/carry-calls/N .carry-init"
for n in $(seq 1 "$n_calls"); do
  items='".carry-init"'; extra=0
  [ "$n" = 1 ] && { items="$items, \".carry\""; extra=$meta; }
  if [ "$n" = "$n_calls" ] && [ $((last_used + extra + cc)) -le "$room" ]; then   # the bg call too
    echo "  $n. [$items, \".carry-cc\"]  cd training && python3 -m tools.carry_parts gather && $bg"
    n_calls=0
  else
    echo "  $n. [$items]  cd training && python3 -m tools.carry_parts gather"
  fi
done
[ "$n_calls" = 0 ] || echo "  then [\".carry-cc\"]  cd training && $bg"
cat <<PLAN
  then snap 520, then snap 570 (evaluation and the ship test against the tree's model; keep the
  budget: snap N's N plus about 380 s for the last one)
Keep the machine busy: it goes back after 30 s with no call in flight, and the run with it
(phase 26 lost its run so, between bg and the first snap). Issue each call the moment the
last returns; check a call's result before the next (a refused start or a fresh machine
means the gathered files are gone). The run needs DENOISE_MIN x 60 s plus about 150 s
(export, evaluation, ship test) from the bg call's start: with 22 minutes, start bg with at
least 1,500 s of the budget left, or lower DENOISE_MIN.
PLAN
[ -e ../.slim ] && echo "The tree is slim: after the last device call, before any commit: bash training/tools/slim_tree.sh back"
exit 0
