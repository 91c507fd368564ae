#!/usr/bin/env bash
# Here, before one `device_train.sh chunk` call: everything it carries, in one call, so
# that it needs nothing an earlier call left on the machine.
#   bash tools/prepare_chunk.sh COMMIT:PATH     # from a U-Net kept in the history (.xz)
#   bash tools/prepare_chunk.sh FILE            # from a model file here (an earlier chunk's export)
# From the tree's own model file nothing but the data set is carried (the call starts from
# ../data/models/dir7-default.safetensors), and the judges stay in the tree, so that a
# `shiptest` can follow on the same machine without carrying them.
# Any other init (a U-Net kept in the history, an export, a file with a text encoder of
# its own) goes whole, F16, in place of the tree's model file for the call (slim_tree.sh
# MODEL=), and the call starts from that: INIT=../data/models/dir7-default.safetensors.
# Stages ../.carry-init (the data set's images, xz, with a manifest), ../.carry/meta.json.gz
# and ../.carry-cc/compile-cache.bin.xz (the kept kernels for the init's ResBlocks a level,
# an H100's beside them in compile-cache-h100.bin.xz),
# and slims the tree with the judges too (JUDGES=1 tools/slim_tree.sh out: a chunk call
# only trains), then prints the call. Fails when the call would be over the 64 MiB it may
# carry.
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
rm -f cache/chunk/*-unet.safetensors.xz cache/chunk/*-text.safetensors cache/chunk/*-whole.safetensors \
  cache/chunk/rev-*.safetensors
# Any init but the tree's own file goes whole, F16, in place of the tree's model file for
# the call (MODEL= tools/slim_tree.sh), and the call starts from there: a U-Net kept alone
# gets the tree's text encoder and config (tools.carry whole), an init with an encoder of
# its own keeps it (the run reads the tree's). That costs the call the file's size less the
# tree's file: nothing for p31's shape, 5.7 MB for three ResBlocks a level, where its U-Net
# beside the tree's file cost 17 to 22 MB (xz) and put the grown one over (phase 39).
tree_init=0
swap=""
case "$SRC" in
*:*.xz) src=cache/chunk/rev-$(basename "${SRC#*:}" .xz); git show "$SRC" | xz -d > "$src" ;;
*:*) src=cache/chunk/rev-$(basename "${SRC#*:}"); git show "$SRC" > "$src" ;;
*) src=$SRC ;;
esac
[ -f "$src" ] || { echo "prepare_chunk: $src is not a file"; exit 1; }
tree_model=../data/models/dir7-default.safetensors
[ -e ../.slim/data/models/dir7-default.safetensors ] && tree_model=../.slim/data/models/dir7-default.safetensors
if cmp -s "$src" "$tree_model"; then
  tree_init=1   # the call starts from the tree's own file: nothing but the data set carried
  [ "$tree_model" = ../data/models/dir7-default.safetensors ] ||
    { echo "prepare_chunk: the tree holds another model file: run slim_tree.sh back, then again"; exit 1; }
else
  swap=cache/chunk/$(basename "$src" .safetensors)-whole.safetensors
  [ -e ../.slim ] && { echo "prepare_chunk: the tree is slim: run slim_tree.sh back, then again"; exit 1; }
  python3 -m tools.carry whole --init "$src" --out "$swap"
  MODEL=$swap JUDGES=1 bash tools/slim_tree.sh out
fi
# torch.compile's kernels for the init's network (ResBlocks a level), kept in the history:
# an H200's, and beside them what an H100 compiled for the same network (phase 43: the
# H200's alone left an H100's first step at 225 s; phase 44: 219 s for three ResBlocks),
# carried when it fits
res=$(python3 -c "import sys; from dir7.export import read_safetensors; from dir7.config import Dir7Config
print(Dir7Config.from_json(read_safetensors(sys.argv[1])[1]['dir7.config']).unet.num_res_blocks)" "${swap:-$tree_model}")
also=""
case $res in
2) cache=cb03445:training/checkpoints/compile-cache-grown.bin.xz
   also=b054704:training/checkpoints/compile-cache-grown-h100.bin.xz ;;
3) cache=6ee3def:training/checkpoints/compile-cache-r3.bin.xz
   also=90ebd4b:training/checkpoints/compile-cache-r3-h100.bin.xz ;;
*) cache="" ;;
esac
# KERNELS=FILE: other kernels (a chunk's compile-cache.bin.xz parts, joined) instead
mkdir -p ../.carry-cc
rm -f ../.carry-cc/compile-cache.bin.xz ../.carry-cc/compile-cache-*.bin.xz
if [ -n "${KERNELS:-}" ]; then cp "$KERNELS" ../.carry-cc/compile-cache.bin.xz
elif [ -n "$cache" ]; then
  git show "$cache" > ../.carry-cc/compile-cache.bin.xz
  [ -z "$also" ] || git show "$also" > ../.carry-cc/compile-cache-h100.bin.xz
else echo "prepare_chunk: no kept kernels for $res ResBlocks a level: the call compiles cold (about 250 s)"
fi
[ -e ../.slim ] || JUDGES=$((1 - tree_init)) bash tools/slim_tree.sh out
[ $tree_init = 0 ] && [ -e judges ] && { echo "prepare_chunk: the tree is slim without the judges moved: run slim_tree.sh back, then again"; exit 1; }
tree=$(cd .. && git ls-files -co --exclude-standard -z | while IFS= read -r -d '' f; do
  [ -e "$f" ] && printf '%s\0' "$f"; done | du -cb --files0-from=- | tail -n 1 | cut -f 1)
rm -rf ../.carry-init cache/chunk/call
python3 -m tools.carry_parts stage cache/chunk/images.npy.xz --room $LIMIT --out cache/chunk/call
init=../data/models/dir7-default.safetensors
cp -r cache/chunk/call/1 ../.carry-init
carried=$(du -cb ../.carry-init ../.carry ../.carry-cc | tail -n 1 | cut -f 1)
if [ $((tree + carried + MARGIN)) -gt $LIMIT ] && [ -e ../.carry-cc/compile-cache-h100.bin.xz ]; then
  echo "prepare_chunk: the H100's kernels left out (over the limit with them): an H100 compiles cold"
  rm ../.carry-cc/compile-cache-h100.bin.xz
  carried=$(du -cb ../.carry-init ../.carry ../.carry-cc | tail -n 1 | cut -f 1)
fi
echo "tree $tree + carried $carried = $((tree + carried)) bytes of $LIMIT (margin $MARGIN)"
[ $((tree + carried + MARGIN)) -le $LIMIT ] || { echo "prepare_chunk: over the limit"; exit 1; }
cat <<PLAN
the call: carry [".carry-init", ".carry", ".carry-cc"], timeout_s 600:
  cd training && INIT=$init SPAN=A,B DENOISE_MIN=8 BATCH=512 MIN_SNR=5 EMOJI_WEIGHT=2 \\
    B_ARGS="--prediction v --lr 5e-4 --compile --text-cache-gb 24 --res-blocks $res --stamp-weight 0" bash tools/device_train.sh chunk
(--stamp-weight 0: Tux Paint's stamps left out; the training log, phase 37, says why)
its export comes back in parts (dir7-chunk.safetensors.part*): cat them into one file, the
next chunk's FILE. After the last device call: bash training/tools/slim_tree.sh back
PLAN
if [ $tree_init = 0 ]; then
  # the tree holds another model file and no judges; a shiptest's baseline is the tree's
  # file and it needs the judges, in a tree still small enough to carry (phase 44)
  echo "before a shiptest call: bash training/tools/slim_tree.sh back && bash training/tools/slim_tree.sh out"
fi
if [ $tree_init = 1 ] && [ -e judges ]; then
  echo "the judges are in the tree: a shiptest can follow on the same machine"
  echo "(copy runs/dir7-chunk.safetensors outside the tree first; training/checkpoints/README.md)"
fi
