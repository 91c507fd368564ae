#!/usr/bin/env bash
# Here, before one `device_train.sh chunk` call: everything it carries, in one call, so
# that it needs nothing an earlier call left on the machine.
#   bash tools/prepare_chunk.sh COMMIT:PATH     # from a U-Net kept in the history (.xz)
#   bash tools/prepare_chunk.sh FILE            # from a model file here (an earlier chunk's export)
# From the tree's own model file nothing but the data set is carried (the call starts from
# ../data/models/dir7-default.safetensors), and the judges stay in the tree, so that a
# `shiptest` can follow on the same machine without carrying them.
# An init whose text encoder is not the tree's (a whole model file from
# tools/with_text_encoder.py, or such a file kept in the history as .safetensors.xz)
# goes whole in place of the tree's model file for the call instead (slim_tree.sh
# MODEL=), and the call starts from that: INIT=../data/models/dir7-default.safetensors.
# Stages ../.carry-init (the data set's images and the init's U-Net, xz, with manifests),
# ../.carry/meta.json.gz and ../.carry-cc/compile-cache.bin.xz, and slims the tree with
# the judges too (JUDGES=1 tools/slim_tree.sh out: a chunk call only trains), then
# prints the call. Fails when the call would be over the 64 MiB it may carry.
# Put the tree back after the device calls: bash training/tools/slim_tree.sh back
set -eu
cd "$(dirname "$0")/.."
SRC=${1:?"usage: prepare_chunk.sh COMMIT:PATH | MODEL_FILE"}
LIMIT=$((64 * 1024 * 1024))
MARGIN=$((256 * 1024))
mkdir -p cache/chunk
[ -e cache/dataset/meta.json ] || python3 -m data.build_dataset --out cache/dataset
# images.npy.xz takes 100 s at -9e: made once per data set (its sha256 says which; a
# local chunk run's unpack moves a joined copy in, so the file's time says nothing)
sum=$(sha256sum < cache/dataset/images.npy)
if [ ! -e cache/chunk/images.npy.xz ] || [ "$sum" != "$(cat cache/chunk/images.npy.sha256 2>/dev/null)" ]; then
  python3 -m tools.carry pack --dataset cache/dataset
  mv ../.carry/images.npy.xz cache/chunk/images.npy.xz
  echo "$sum" > cache/chunk/images.npy.sha256
fi
[ -e ../.carry/meta.json.gz ] || python3 -m tools.carry pack --dataset cache/dataset
# a chunk call carries neither: the evaluation set is a ship-test call's (tools.carry evalset
# makes it again in seconds)
rm -f ../.carry/images.npy.xz ../.carry/evalset.npz ../.carry/evalset-meta.json.gz ../.carry/probe.npz
rm -f cache/chunk/*-unet.safetensors.xz cache/chunk/*-text.safetensors
# an init with a text encoder of its own (tools/with_text_encoder.py; a whole model file,
# here or kept in the history as .xz) goes whole in place of the tree's model file for
# the call (MODEL= tools/slim_tree.sh): the run reads the tree's text encoder
swap=""
tree_init=0
own_text() {   # $1 holds text tensors other than the tree's model file's
  python3 - "$1" <<'PY'
import sys
from dir7.export import read_safetensors
from tools.carry import SHIPPED, other_text_encoder
sys.exit(0 if other_text_encoder(read_safetensors(sys.argv[1])[0], read_safetensors(SHIPPED)[0]) else 1)
PY
}
case "$SRC" in
*:*.safetensors.xz)
  name=$(basename "${SRC#*:}" .safetensors.xz)-text.safetensors
  git show "$SRC" | xz -d > "cache/chunk/$name"
  own_text "cache/chunk/$name" && swap=cache/chunk/$name ;;
*) [ -f "$SRC" ] && own_text "$SRC" && swap=$SRC ;;
esac
if [ -n "$swap" ]; then
  name=""
  if [ -e ../.slim ] && ! cmp -s "$swap" ../data/models/dir7-default.safetensors; then
    echo "prepare_chunk: the tree is slim with another model file: run slim_tree.sh back, then again"; exit 1
  fi
  [ -e ../.slim ] || MODEL=$swap JUDGES=1 bash tools/slim_tree.sh out
else
  case "$SRC" in
  *:*)
    rm -f cache/chunk/*-text.safetensors
    name=$(basename "${SRC#*:}")
    git show "$SRC" > "cache/chunk/$name" ;;
  *)
    if cmp -s "$SRC" ../data/models/dir7-default.safetensors; then
      tree_init=1; name=""   # the call starts from the tree's own file: no U-Net to carry
    else
      # the U-Net tensors alone (unpack adds the tree's text encoder), named after the file
      name=$(basename "$SRC" .safetensors)-unet.safetensors.xz
      python3 - "$SRC" "cache/chunk/${name%.xz}" <<'PY'
import sys
from dir7.export import read_safetensors, write_safetensors
sd, meta = read_safetensors(sys.argv[1])
write_safetensors(sys.argv[2], {k: v.half() for k, v in sd.items() if k.startswith("unet.")}, meta)
PY
      xz -9e -T2 "cache/chunk/${name%.xz}"
    fi ;;
  esac
fi
mkdir -p ../.carry-cc
[ -e ../.carry-cc/compile-cache.bin.xz ] ||
  git show cb03445:training/checkpoints/compile-cache-grown.bin.xz > ../.carry-cc/compile-cache.bin.xz
[ -e ../.slim ] || JUDGES=$((1 - tree_init)) bash tools/slim_tree.sh out
[ $tree_init = 0 ] && [ -e judges ] && { echo "prepare_chunk: the tree is slim without the judges moved: run slim_tree.sh back, then again"; exit 1; }
tree=$(cd .. && git ls-files -co --exclude-standard -z | while IFS= read -r -d '' f; do
  [ -e "$f" ] && printf '%s\0' "$f"; done | du -cb --files0-from=- | tail -n 1 | cut -f 1)
rm -rf ../.carry-init cache/chunk/call
python3 -m tools.carry_parts stage cache/chunk/images.npy.xz ${name:+"cache/chunk/$name"} --room $LIMIT --out cache/chunk/call
init=runs/${name%.xz}
{ [ -n "$swap" ] || [ $tree_init = 1 ]; } && init=../data/models/dir7-default.safetensors
cp -r cache/chunk/call/1 ../.carry-init
carried=$(du -cb ../.carry-init ../.carry ../.carry-cc | tail -n 1 | cut -f 1)
echo "tree $tree + carried $carried = $((tree + carried)) bytes of $LIMIT (margin $MARGIN)"
[ $((tree + carried + MARGIN)) -le $LIMIT ] || { echo "prepare_chunk: over the limit"; exit 1; }
cat <<PLAN
the call: carry [".carry-init", ".carry", ".carry-cc"], timeout_s 600:
  cd training && INIT=$init SPAN=A,B DENOISE_MIN=8 BATCH=512 MIN_SNR=5 EMOJI_WEIGHT=2 \\
    B_ARGS="--prediction v --lr 5e-4 --compile --text-cache-gb 24 --res-blocks 2 --stamp-weight 0" bash tools/device_train.sh chunk
(--stamp-weight 0: Tux Paint's stamps left out; the model card, phase 37, says why)
its export comes back in parts (dir7-chunk.safetensors.part*): cat them into one file, the
next chunk's FILE. After the last device call: bash training/tools/slim_tree.sh back
PLAN
if [ $tree_init = 1 ] && [ -e judges ]; then
  echo "the judges are in the tree: a shiptest can follow on the same machine"
  echo "(copy runs/dir7-chunk.safetensors outside the tree first; training/checkpoints/README.md)"
fi
