#!/usr/bin/env bash
# The default model's training on the device machine, in phases that fit its
# per-command limit (the machine must stay held between them):
#   start  - unpack the carried data set, start CLIP then both denoisers
#            (state and paper mode, concurrently, equal minutes) in the background
#   wait   - sleep, then show the logs
#   finish - wait for training, export both models, evaluate both, copy to $OUT
#   bg     - (one long run per lent machine) resume the state-mode model from $INIT
#            in the background for DENOISE_MIN minutes, checkpointing every 3 min;
#            then as snap
#   chunk  - one self-contained call: gather the carried parts, train from $INIT for what
#            the call has left as the part SPAN of one cosine, export to $OUT
#            (tools/prepare_chunk.sh stages the call); CHUNK_RAW=1: the raw weights too
#   dataset - one short call: gather the carried parts and unpack the data set into
#            cache/dataset, nothing trained; shiptest calls on the same warm machine then get
#            the drawn measures, which need the data set's images, without a chunk call first
#            (stop 55: no machine came for two hours, and a test alone was all the time left)
#   shiptest - one call: the ship test of the carried model file $CAND against the tree's
#            model file; with the held-out images carried too (tools.carry evalset), then
#            the one-draw test of both files (onedraw_run)
#   onedraw - one short call: the one-draw test alone (onedraw_run) of the tree's model file
#            with the carried model file $CAND beside it (after shipping, CAND = the file it
#            replaced); needs the evalset files in ../.carry (tools.carry evalset); filed here by
#            tools/file_onedraw.sh
#   clip   - one call: the tree's CLIP (its text encoder) continued for CLIP_MIN minutes,
#            its retrieval against the old one's, its weights to $OUT
#   judge  - the same for the measuring judge (judges/measuring-clip.pt)
#   snap   - wait until the background run ends or $2 seconds have passed since the
#            call began, export its newest checkpoint to $OUT, and evaluate it
#            once the run has ended (evaluate.py, then the ship test, tools/paired_eval.py,
#            against the working tree's model file); call it again and again while the run goes on
# Env: CLIP_MIN, DENOISE_MIN, BATCH (defaults below); INIT (continue, bg);
# ANNEAL=1 (bg: cosine lr decay over the run); MIN_SNR, EMOJI_WEIGHT (bg: train.py's
# --min-snr, --emoji-weight); EVAL_CLIP_MIN (bg: also train a measuring CLIP that long);
# B_ARGS (bg: more train.py arguments for runs/b; its model is named B_NAME, default state);
# SIDE_ARGS (bg: beside runs/b, an equal run in runs/s with these arguments added, named
# SIDE_NAME, default side; e.g. SIDE_ARGS="--dir7-levels 0,1,1" SIDE_NAME=grown). A run
# with --probe N in its arguments trains on those N emoji alone; its last snap also
# runs tools/probe_fit.py on it and on $INIT (a probe longer than one command).
# JUDGE_MIN (bg: also train, for that long, an image tower for the shipped text encoder
# with train.py clip --freeze-text, when none is carried; it becomes runs/b's judge);
# BASELINE=1 (bg: evaluate the shipped model too, with the same judges, in the same run);
# EVAL_STEPS (sampler steps of those evaluations, default 20; fewer for a quick check).
# --compile in B_ARGS: the first snap after the first step brings torch.compile's kernels
# back ($OUT/compile-cache.bin.xz.part*); here `cat parts > ../.carry-cc/compile-cache.bin.xz`,
# and a later bg that finds it starts from them.
# Since phase 24 (the 21 MB grown default model) the tree leaves under 10 MiB a call, too little
# for the data set's 15.9 MiB: `bash tools/prepare_carry.sh [COMMIT:PATH]` slims the tree
# (tools/slim_tree.sh) and stages the data set, and the parts of a U-Net kept in the history
# to go on from, into calls that each run `python3 -m tools.carry_parts gather`; the last
# also carries .carry-cc and runs bg with INIT=runs/FILE when there is room (U-Net tensors
# alone: unpack adds the shipped text encoder, and keeps the data set already there).
# Evaluation also uses the measuring CLIP: runs/eval-clip/clip.pt after EVAL_CLIP_MIN, else
# judges/measuring-clip.pt (committed, fp16; continued in phase 30, judges/README.md).
#   textenc - a longer-trained CLIP from the shipped text encoder (CLIP_MIN minutes), its
#            retrieval (tools/clip_retrieval.py), then as bg with that text encoder; the old
#            CLIP stays the judge in runs/judge, the new one judges too
#   probe  - train from $INIT on N emoji only (PROBES="64 512": one run per N, side by side;
#            PROBE_SIDE_ARGS: a second run per N with these train.py arguments added),
#            then how closely each draws its N images (tools/probe_fit.py); carrying only
#            .carry/probe.npz and meta.json.gz (tools.carry evalset, PROBES=128, or
#            --probe-images N with PROBES=N) instead of the data set, it trains on those
#            emoji (runs/probe-data); PROBE_SIDE_INIT: the side run's own init;
#            PROBE_RAW=1: each run's raw (not EMA) weights scored too
set -u
cd "$(dirname "$0")/.."
CLIP_MIN=${CLIP_MIN:-3}
DENOISE_MIN=${DENOISE_MIN:-12}
BATCH=${BATCH:-256}
export PYTHONUNBUFFERED=1
# train.py's denoiser runs (chunk, bg, continue) go through torchrun over every GPU the
# machine has when it has several (a multi-GPU kind; GPUS=N for N of them, GPUS=1 for one
# plain process). --batch is each GPU's, so a step draws BATCH x GPUs images; the ranks share
# one clock (dir7/ranks.py). "--": torchrun would take train.py's --run for its --run-path.
GPUS=${GPUS:-$(nvidia-smi -L 2>/dev/null | grep -c '^GPU')}
if [ "${GPUS:-0}" -gt 1 ]; then
  TRAIN_DENOISER="torchrun --standalone --nproc_per_node $GPUS -- train.py denoiser"
else
  TRAIN_DENOISER="python3 train.py denoiser"
fi

# a CLIP checkpoint $1 -> its weights alone, in float16, at $2 (to bring back)
half_clip() {
  python3 -c "import sys, torch; ck = torch.load(sys.argv[1]); torch.save({'model': {k: v.half().cpu() for k, v in \
ck['model'].items()}, 'config': ck['config'], 'step': ck['step']}, sys.argv[2])" "$1" "$2"
}
export -f half_clip

# evaluate runs/dir7-$2.safetensors (or the model file $3) with runs/b's CLIP (with the
# old one in runs/judge after textenc, so the figures stay comparable); metrics and grid
# to $OUT, but only into metrics-measuring.txt for a model given as $3 ($OUT takes 8 files)
evaluate_run() {
  local judge=runs/b/clip.pt model=${3:-runs/dir7-$2.safetensors}
  [ -e runs/judge/clip.pt ] && judge=runs/judge/clip.pt
  python3 evaluate.py --model "$model" --clip $judge --data cache/dataset --steps "${EVAL_STEPS:-20}" \
    --out runs/eval-$1 > runs/eval-$1.log 2>&1 || tail -n 20 runs/eval-$1.log
  # each prompt's rank and score, for tools/compare_eval.py (back in snap's tar)
  cp runs/eval-$1/per-prompt.jsonl "runs/per-prompt-$2.jsonl"
  if [ -z "${3:-}" ]; then
    # grids go back in one tar at the end of snap ($OUT returns 8 files)
    cp runs/eval-$1/metrics.json "$OUT/metrics-$2.json"; cp runs/eval-$1/samples.png "runs/samples-$2.png"
    cat "$OUT/metrics-$2.json"
  else
    { echo "$2, judged by $judge:"; cat runs/eval-$1/metrics.json; } | tee -a "$OUT/metrics-measuring.txt"
  fi
  # the measuring CLIP, and the new CLIP after textenc: one file for all runs
  local judges="" measuring=judges/measuring-clip.pt
  [ -e runs/eval-clip/clip.pt ] && measuring=runs/eval-clip/clip.pt
  [ -e "$measuring" ] && judges=$measuring
  [ "$judge" = runs/judge/clip.pt ] && judges="$judges runs/b/clip.pt"
  for c in $judges; do
    python3 evaluate.py --model "$model" --clip "$c" --data cache/dataset --languages '' --steps "${EVAL_STEPS:-20}" \
      --out runs/measure-$1 > runs/measure-$1.log 2>&1 || tail -n 20 runs/measure-$1.log
    cp runs/measure-$1/per-prompt.jsonl "runs/per-prompt-$2-$(basename "$c" .pt).jsonl"
    { echo "$2, judged by $c:"; cat runs/measure-$1/metrics.json; } | tee -a "$OUT/metrics-measuring.txt"
  done
}

# export runs/$1's newest checkpoint to runs/dir7-$2.safetensors (where evaluate_run
# reads it) and to $OUT, split in parts there when over 16 MiB (what $OUT returns);
# $3 = raw: the optimiser's own weights instead of the EMA's
export_run() {
  python3 train.py export --run "runs/$1" --cross-mode state --weights "${3:-ema}" \
    --out "runs/dir7-$2.safetensors" || return 1
  if [ "$(stat -c %s "runs/dir7-$2.safetensors")" -gt 16000000 ]; then
    split -b 15000000 -d "runs/dir7-$2.safetensors" "$OUT/dir7-$2.safetensors.part"
  else
    cp "runs/dir7-$2.safetensors" "$OUT/"
  fi
}

# the ship test (training log, phase 20): runs/dir7-$1.safetensors against the working tree's
# model file (the shipped one, unless copied over for the call) by tools/paired_eval.py,
# 379 English prompts x PAIRED_DRAWS noise draws (default 8; 0: skip), both committed judges,
# about 85 s on an H200; PAIRED_ARGS: more paired_eval arguments (a dry run: --limit 4 --steps 2);
# EXTRA_JUDGES: more CLIP checkpoints to judge by (a candidate's own CLIP, with its text tower).
# A_ROWS=DIR: the tree's file's rows from DIR (tools/stage_a_rows.py: its filed rows of the
# same test, carried in ../.carry/a-rows/SET) instead of drawn again: the candidate alone is
# drawn (paired_eval --a-rows), about half the time.
# On several GPUs each takes its share of the draws (paired_eval --shard, in runs/shards-$1),
# and --merge sums them into the files one run writes, to the bit (tests/test_paired_eval.py).
# Its per-prompt files and verdicts go back in snap's tar (runs/paired-$1/)
paired_run() {
  local draws=${PAIRED_DRAWS:-8} k pids=""
  [ "$draws" -gt 0 ] || return 0
  local args="--a ../data/models/dir7-default.safetensors --b runs/dir7-$1.safetensors \
    --clip judges/clip-image.pt judges/measuring-clip.pt ${EXTRA_JUDGES:-} --draws $draws ${PAIRED_ARGS:-} \
    ${A_ROWS:+--a-rows $A_ROWS}"
  local n=$(( ${GPUS:-0} < draws ? ${GPUS:-0} : draws ))
  rm -rf "runs/paired-$1" "runs/shards-$1"
  if [ "$n" -gt 1 ]; then   # several GPUs: each draws its share of the draws, then one sum in draw order
    for k in $(seq 0 $(( n - 1 ))); do
      CUDA_VISIBLE_DEVICES=$k python3 -m tools.paired_eval $args --shard "$k/$n" --out "runs/shards-$1/$k" \
        > "runs/paired-$1-$k.log" 2>&1 &
      pids="$pids $!"
    done
    wait $pids
    python3 -m tools.paired_eval --merge runs/shards-$1/* ${A_ROWS:+--a-rows $A_ROWS} --out "runs/paired-$1" \
      > "runs/paired-$1.log" 2>&1 ||
      tail -n 20 runs/paired-$1*.log
  else
    python3 -m tools.paired_eval $args --out "runs/paired-$1" > "runs/paired-$1.log" 2>&1 ||
      tail -n 20 "runs/paired-$1.log"
  fi
  cat runs/paired-$1/compare-*.md | sed "s|^|paired, $1 - tree's model file, |" | tee -a "$OUT/metrics-measuring.txt"
}

# the one-draw test (evaluate.py; EVAL_LANGUAGES, default every emoji language) of the
# tree's model file and the model file $1 by both committed judges, on the held-out images
# carried in ../.carry (tools.carry evalset), unpacked apart from cache/dataset (a later
# call on this machine may keep that as its training set), then tools/probe_fit.py of both
# on evalset's 128 probe images; to $OUT/onedraw.tar, written again after each run so
# that a call cut short keeps the runs it finished
onedraw_run() {
  rm -rf runs/eval-data runs/onedraw; mkdir -p runs/onedraw
  python3 -m tools.carry unpack-eval --dest runs/eval-data || return 1
  local m c n
  for m in ../data/models/dir7-default.safetensors "$1"; do
    for c in judges/clip-image.pt judges/measuring-clip.pt; do
      n=$(basename "$m" .safetensors)-$(basename "$c" .pt)
      python3 evaluate.py --model "$m" --clip "$c" --data runs/eval-data --steps "${EVAL_STEPS:-20}" \
        --languages "${EVAL_LANGUAGES-en,zh,es,fr}" --out "runs/onedraw/$n" > "runs/onedraw/$n.log" 2>&1 ||
        tail -n 20 "runs/onedraw/$n.log"
      echo "one draw, $n: $(tr -d '\n' < "runs/onedraw/$n/metrics.json" 2>/dev/null | head -c 300)"
      (cd runs && tar cf "$OUT/onedraw.tar" onedraw)
    done
  done
  # the seen-concept measure that the judges do not saturate (training log, phase 32): the
  # 128 training emoji drawn from their names, nearest real image by the measuring judge
  [ -e ../.carry/probe.npz ] || return 0
  python3 -m tools.carry unpack-probe --dest runs/probe-data || return 1
  for m in ../data/models/dir7-default.safetensors "$1"; do
    draw_probe "$m" judges/measuring-clip.pt runs/probe-data 128 "runs/onedraw/drawn-128-$(basename "$m" .safetensors)"
    (cd runs && tar cf "$OUT/onedraw.tar" onedraw)
  done
}

# tools/probe_fit.py: model $1 draws the $4 probe images of data set $3 from their names,
# judged by CLIP $2; figures to $5.json (and one line on stdout), grid $5.png, log $5.log
draw_probe() {
  python3 -m tools.probe_fit --model "$1" --clip "$2" --data "$3" --images "$4" --steps "${EVAL_STEPS:-20}" \
    --grid "$5.png" --out "$5.json" > "$5.log" 2>&1 || tail -n 20 "$5.log"
  echo "$(basename "$5"): $(tr -d '\n' < "$5.json" 2>/dev/null)"
}

# how closely runs/dir7-$1.safetensors and its init draw the $2 probe images of data set
# ${3:-cache/dataset}: figures appended to $OUT/probe-fit.txt, grids in runs/fit-$2-*.png;
# judged by the measuring judge where the tree has it (phase 32's drawn measure), else by
# runs/b/clip.pt's image tower (a chunk call's is untrained: figures then mean nothing)
fit_probe() {   # $4 = noinit: the run alone (its init was scored beside another run)
  local m models="runs/dir7-$1.safetensors runs/init.safetensors" judge=judges/measuring-clip.pt
  [ -e $judge ] || judge=runs/b/clip.pt
  [ "${4:-}" = noinit ] && models=runs/dir7-$1.safetensors
  echo "fit_probe: judge $judge" | tee -a "$OUT/probe-fit.txt"
  for m in $models; do
    draw_probe $m $judge "${3:-cache/dataset}" $2 "runs/fit-$2-$(basename $m .safetensors)" | tee -a "$OUT/probe-fit.txt"
  done
}

# the carried data set and INIT into runs/; without them nothing may start (phase 26's
# first bg call went on to train and export with neither, and failed only there)
unpack_or_stop() {   # "$@": more unpack arguments (--no-data)
  python3 -m tools.carry unpack --init "$INIT" "$@" || stop_setup
}

stop_setup() {
  echo "device_train.sh: set-up failed (above); nothing started" >&2
  exit 1
}

# torch.compile's kernels from ../.carry-cc/compile-cache.bin.xz, when carried, into
# runs/$1/compile-cache.bin (train.py --compile-cache; a missing file compiles afresh),
# marked as carried (snap sends back only a cache train.py wrote after that)
carried_compile_cache() {
  local f
  # another GPU's kernels beside them (compile-cache-h100.bin.xz: what an H100 compiled
  # that the H200's cache lacked, phase 43): loaded too (--compile-cache-also), never written
  for f in ../.carry-cc/compile-cache-*.bin.xz; do
    [ -e "$f" ] && xz -d -c "$f" > "runs/$1/$(basename "$f" .xz)"
  done
  [ -e ../.carry-cc/compile-cache.bin.xz ] || return 0
  xz -d -c ../.carry-cc/compile-cache.bin.xz > runs/$1/compile-cache.bin && touch runs/$1/compile-cache.bin.carried
}

# train.py's --compile-cache-also for each other GPU's kernels that carried_compile_cache unpacked
compile_cache_also() {
  local f
  for f in runs/$1/compile-cache-*.bin; do [ -e "$f" ] && printf -- '--compile-cache-also %s ' "$f"; done
  return 0
}

# the compiled kernels into $OUT, once, unless the carried ones held every graph (train.py
# then writes none, and the file stays older than its .carried mark): xz-compressed, in
# parts of 15 MB ($OUT returns 16 MiB a file); here: cat the parts > ../.carry-cc/compile-cache.bin.xz
send_compile_cache() {
  local cc=runs/b/compile-cache.bin
  if [ -e $cc ] && { [ ! -e $cc.carried ] || [ $cc -nt $cc.carried ]; } && { [ ! -e $cc.sent ] || [ $cc -nt $cc.sent ]; }; then
    xz -6 -T0 -c $cc | split -b 15000000 -d - "$OUT/compile-cache.bin.xz.part" \
      && touch $cc.sent && ls -l "$OUT"/compile-cache.bin.xz.part*
  fi
  return 0
}

# start train.py denoiser in the background in runs/$1 from runs/init.safetensors for
# DENOISE_MIN minutes; the rest of the arguments go to train.py; runs/$1.done at the end.
# With --compile: torch.compile's kernels from ../.carry-cc/compile-cache.bin.xz when carried
# (an earlier snap brought them back), else written to runs/$1/compile-cache.bin after the
# first step, for snap to bring back
bg_run() {
  local r=$1; shift
  echo "$*" > runs/$r.args   # snap reads --probe N from here
  carried_compile_cache $r
  setsid nohup bash -c "$TRAIN_DENOISER --run runs/$r --cross-mode state --minutes $DENOISE_MIN \
    --lr 1e-4 --batch $BATCH --save-minutes 3 ${ANNEAL:+--anneal} --init-model runs/init.safetensors \
    --compile-cache runs/$r/compile-cache.bin $(compile_cache_also $r) \
    --min-snr ${MIN_SNR:-0} --emoji-weight ${EMOJI_WEIGHT:-1} $* > runs/$r.log 2>&1; touch runs/$r.done" \
    > /dev/null 2>&1 < /dev/null &
}

# the CLIP $1 (default runs/b/clip.pt, unpack's: the tree's text encoder and its judge
# image tower) continued in runs/t for CLIP_MIN minutes of one cosine (train.py warms its
# fresh Adam up); the old one kept as runs/judge/clip.pt; the retrieval of both (and of the
# measuring CLIP) to $OUT/clip-retrieval.json, the new weights in float16 to $OUT/clip-weights.pt
continue_clip() {
  local from=${1:-runs/b/clip.pt}
  mkdir -p runs/judge runs/t; cp "$from" runs/judge/clip.pt
  python3 train.py clip --run runs/t --minutes "$CLIP_MIN" --batch 256 --anneal --init-clip "$from" \
    --save-minutes 2 > runs/t.log 2>&1 || { tail -n 20 runs/t.log; return 1; }
  grep -E "steps|initialised|step [0-9]*00 " runs/t.log | tail -n 4
  measures=""; [ -e ../.carry/eval-clip.pt ] && measures="--clip ../.carry/eval-clip.pt"
  [ -z "$measures" ] && [ -e judges/measuring-clip.pt ] && [ "$from" != judges/measuring-clip.pt ] &&
    measures="--clip judges/measuring-clip.pt"
  python3 -m tools.clip_retrieval --clip runs/judge/clip.pt $(ls runs/t/clip-*.pt 2>/dev/null | sed 's/^/--clip /') \
    --clip runs/t/clip.pt $measures --out "$OUT/clip-retrieval.json"
  grep -E "steps" runs/t.log > "$OUT/train-log.txt"
  half_clip runs/t/clip.pt "$OUT/clip-weights.pt"
}

case "$1" in
start)
  mkdir -p cache/dataset runs
  python3 -c "import numpy as np; np.save('cache/dataset/images.npy', np.load('../.carry/ds.npz')['images'])"
  cp ../.carry/meta.json cache/dataset/
  setsid nohup bash -c "
    python3 train.py clip --run runs/a --minutes $CLIP_MIN --batch 256 > runs/clip.log 2>&1
    python3 train.py denoiser --run runs/a --cross-mode state --minutes $DENOISE_MIN --lr 2e-4 --batch $BATCH > runs/state.log 2>&1 &
    python3 train.py denoiser --run runs/a --cross-mode paper --minutes $DENOISE_MIN --lr 2e-4 --batch $BATCH > runs/paper.log 2>&1
    wait
    touch runs/done" > runs/all.log 2>&1 < /dev/null &
  sleep "${2:-5}"
  tail -n 2 runs/*.log
  ;;
wait)
  sleep "${2:-540}"
  tail -n 2 runs/*.log
  nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv
  ;;
continue)
  # one command: resume the state-mode model from $INIT (default: the shipped
  # file) for DENOISE_MIN minutes, export, evaluate, copy to $OUT, with GPU
  # utilisation sampled every 20 s into $OUT/gpu-util.txt. The carried files
  # (../.carry/, see tools/carry.py): images.npy.xz or ds.npz, meta.json.gz,
  # clip-image.pt or clip-weights.pt; chain chunks with
  # `python3 -m tools.carry pack --model <last chunk's export>` here and
  # INIT=../.carry/init-unet.safetensors there.
  INIT=${INIT:-../data/models/dir7-default.safetensors}
  T0=$(date +%s)
  nvidia-smi --query-gpu=timestamp,utilization.gpu,memory.used --format=csv -l 20 > "$OUT/gpu-util.txt" 2>&1 &
  SMI=$!
  rm -f runs/b/denoiser-state.pt   # a warm machine keeps runs/: INIT, not the last checkpoint, is the start
  unpack_or_stop
  echo "setup done at $(( $(date +%s) - T0 )) s; init $INIT"
  $TRAIN_DENOISER --run runs/b --cross-mode state --minutes "$DENOISE_MIN" --lr 1e-4 --batch "$BATCH" \
    --init-model runs/init.safetensors > runs/b.log 2>&1
  tail -n 3 runs/b.log
  echo "training done at $(( $(date +%s) - T0 )) s"
  kill "$SMI" 2>/dev/null
  export_run b state
  T1=$(date +%s)
  grep -E "steps|step [0-9]*00 " runs/b.log > "$OUT/train-log.txt"
  evaluate_run b state
  cp runs/samples-state.png "$OUT/"
  echo "evaluation took $(( $(date +%s) - T1 )) s; all done at $(( $(date +%s) - T0 )) s"
  ;;
chunk)
  INIT=${INIT:-../data/models/dir7-default.safetensors}
  # one call that needs nothing from an earlier one (a lent machine can go back between
  # calls, or mid-call, and a run spread over calls went with it twice): gather the
  # carried parts (the data set: tools/prepare_chunk.sh, which puts an init other than the
  # tree's file in the tree's place, or a U-Net's parts where carried), train from
  # $INIT in the foreground for the time the call has left (at most DENOISE_MIN minutes)
  # as the part SPAN (A,B) of one cosine, export to $OUT. The next chunk starts from
  # this one's export with a fresh Adam (train.py warms its lr up over 200 steps).
  # CALL_S: the call's limit in seconds (default 590; the device's is 600).
  T0=$(date +%s)
  rm -rf runs/b runs/b.* runs/stash runs/*.safetensors   # a warm machine keeps runs/: start clean
  python3 -m tools.carry_parts gather || exit 1
  unpack_or_stop
  carried_compile_cache b
  # train.py's start (data set, model, compile cache) and the export after it take about
  # 60 s; what is left of the call trains
  left=$(( ${CALL_S:-590} - ($(date +%s) - T0) - 75 ))
  minutes=$(python3 -c "print(round(min($DENOISE_MIN, $left / 60), 2))")
  # a set-up that ate the call would train nothing and export the init as if trained
  [ "$left" -ge 60 ] || { echo "device_train.sh: set-up took $(( $(date +%s) - T0 )) s; no time left to train" >&2; exit 1; }
  echo "setup done at $(( $(date +%s) - T0 )) s; init $INIT; training $minutes min, span ${SPAN:-0,1}; ${TRAIN_DENOISER% denoiser}"
  $TRAIN_DENOISER --run runs/b --cross-mode state --minutes "$minutes" --lr 1e-4 --batch "$BATCH" \
    --anneal --anneal-span "${SPAN:-0,1}" --init-model runs/init.safetensors --compile-cache runs/b/compile-cache.bin $(compile_cache_also b) \
    --min-snr "${MIN_SNR:-0}" --emoji-weight "${EMOJI_WEIGHT:-1}" ${B_ARGS:-} > runs/b.log 2>&1
  grep -E "steps|initialised|first step|compile cache|focus|step [0-9]*00 " runs/b.log > "$OUT/train-log.txt"
  tail -n 3 runs/b.log
  echo "training done at $(( $(date +%s) - T0 )) s"
  export_run b "${B_NAME:-chunk}" || { tail -n 20 runs/b.log; exit 1; }
  # CHUNK_RAW=1: the raw weights too (training log, phase 36: after a 450-step call the EMA
  # still held 64% of its start and hid most of what the optimiser fitted)
  if [ -n "${CHUNK_RAW:-}" ]; then export_run b "${B_NAME:-chunk}-raw" raw || exit 1; fi
  # a graph the carried cache lacked (a grown network) compiles cold, about 225 s (phase 23):
  # its kernels come back, for the next session's .carry-cc
  send_compile_cache
  ls -l "$OUT"
  echo "chunk done at $(( $(date +%s) - T0 )) s"
  ;;
dataset)
  # the data set alone, for the shiptest calls after it on this warm machine (its INIT is
  # only unpack's check; the tree's file is the ship test's baseline either way)
  INIT=${INIT:-../data/models/dir7-default.safetensors}
  python3 -m tools.carry_parts gather || exit 1
  unpack_or_stop
  ls -l cache/dataset
  ;;
shiptest)
  # the ship test alone, in one call (after chunk calls, whose tree had no judges): the
  # carried model file $CAND against the tree's by paired_run; the prompts come from the
  # carried meta.json.gz. On a machine still warm from a chunk call, cache/dataset holds
  # that data set's images too, and paired_eval reads it for the drawn measure (each
  # prompt's image); elsewhere the carried evalset gives the held-out prompts theirs
  # (tools.carry unpack-ship), and without it a one-image stand-in for images.npy gives
  # the prompts alone (cache/dataset is only read, left for later runs)
  T0=$(date +%s)
  name=$(basename "${CAND:?CAND=the model file to test}" .safetensors)
  rm -rf runs/ship-data "runs/paired-$name" "runs/dir7-$name.safetensors"; mkdir -p runs/ship-data
  python3 -c "import sys; from tools.carry import gunzip; gunzip(*sys.argv[1:])" \
    ../.carry/meta.json.gz runs/ship-data/meta.json || exit 1
  ship_data=runs/ship-data
  if [ -e cache/dataset/images.npy ] && cmp -s cache/dataset/meta.json runs/ship-data/meta.json; then
    ship_data=cache/dataset
  elif [ -e ../.carry/evalset.npz ]; then
    python3 -m tools.carry unpack-ship --dest runs/ship-data || exit 1
  else
    python3 -c "import numpy as np; np.save('runs/ship-data/images.npy', np.zeros((1, 64, 64, 4), np.uint8))"
  fi
  echo "shiptest: prompts and images from $ship_data"
  cp "$CAND" "runs/dir7-$name.safetensors" || exit 1
  PAIRED_ARGS="--data $ship_data ${PAIRED_ARGS:-}" paired_run "$name"
  (cd runs && tar cf "$OUT/paired.tar" "paired-$name")
  # ONEDRAW=0: the paired test alone (a short call whose budget has no room for the
  # one-draw evaluation, or a second shiptest on the same machine)
  [ -e ../.carry/evalset.npz ] && [ "${ONEDRAW:-1}" != 0 ] && onedraw_run "runs/dir7-$name.safetensors"
  echo "shiptest done at $(( $(date +%s) - T0 )) s"
  ;;
onedraw)
  # shiptest's one-draw part without its paired test (stop 60 ran it as a shiptest with a
  # 4-prompt paired test, whose figures meant nothing)
  T0=$(date +%s)
  [ -e ../.carry/evalset.npz ] || { echo "onedraw: no ../.carry/evalset.npz (tools.carry evalset)" >&2; exit 1; }
  name=$(basename "${CAND:?CAND=the model file to draw beside the tree file}" .safetensors)
  mkdir -p runs && cp "$CAND" "runs/dir7-$name.safetensors" || exit 1
  onedraw_run "runs/dir7-$name.safetensors" || exit 1
  echo "onedraw done at $(( $(date +%s) - T0 )) s"
  ;;
bg)
  INIT=${INIT:-../data/models/dir7-default.safetensors}
  T0=$(date +%s)
  rm -rf runs/b runs/b.* runs/s runs/s.* runs/paired-*
  unpack_or_stop
  echo "setup done at $(( $(date +%s) - T0 )) s; init $INIT"
  setsid nohup nvidia-smi --query-gpu=timestamp,utilization.gpu,memory.used --format=csv -l 20 \
    > runs/gpu-util.txt 2>&1 < /dev/null &
  echo "${B_NAME:-state}" > runs/b.name
  bg_run b ${B_ARGS:-}
  if [ -n "${SIDE_ARGS:-}" ]; then   # an ablation: an equal run beside it, with SIDE_ARGS added
    mkdir -p runs/s; cp runs/b/clip.pt runs/s/
    echo "${SIDE_NAME:-side}" > runs/s.name
    bg_run s $SIDE_ARGS
  fi
  rm -rf runs/eval-clip runs/j runs/j.* runs/eval-clip.done
  if [ -n "${EVAL_CLIP_MIN:-}" ]; then   # a separate, longer-trained CLIP that only measures
    mkdir -p runs/eval-clip
    setsid nohup bash -c "python3 train.py clip --run runs/eval-clip --minutes $EVAL_CLIP_MIN --batch 256 \
      > runs/eval-clip.log 2>&1; half_clip runs/eval-clip/clip.pt runs/eval-clip/clip-weights.pt; \
      touch runs/eval-clip.done" > /dev/null 2>&1 < /dev/null &
  fi
  if [ -n "${JUDGE_MIN:-}" ]; then   # an image tower for the shipped text encoder (runs/b's judge)
    mkdir -p runs/j
    setsid nohup bash -c "python3 train.py clip --run runs/j --minutes $JUDGE_MIN --batch 256 --anneal \
      --freeze-text --init-clip runs/b/clip.pt > runs/j.log 2>&1 && \
      python3 -m tools.with_text_encoder --clip runs/j/clip.pt --image-tower runs/j/clip-image.pt && \
      cp runs/j/clip.pt runs/b/clip.pt.tmp && \
      mv runs/b/clip.pt.tmp runs/b/clip.pt; touch runs/j.done" > /dev/null 2>&1 < /dev/null &
  fi
  [ -n "${BASELINE:-}" ] && touch runs/baseline
  SNAP_T0=$T0 bash "$0" snap "${2:-540}"
  ;;
clip|judge)
  # one call: a CLIP continued for CLIP_MIN minutes (continue_clip), nothing else; it
  # carries only the data set (.carry), and its weights come back as clip-weights.pt.
  #   clip:  the tree's CLIP (its text encoder with the first judge's image tower); here,
  #          tools/with_text_encoder.py puts its text tower into a model file for a chunk
  #          call to go on from (the denoiser must learn the new features)
  #   judge: the measuring judge (judges/measuring-clip.pt, a whole CLIP trained apart
  #          from every text encoder a model ships): more power for the ship test
  INIT=../data/models/dir7-default.safetensors
  from=runs/b/clip.pt; [ "$1" = judge ] && from=judges/measuring-clip.pt
  T0=$(date +%s)
  rm -rf runs/b runs/b.* runs/t runs/judge
  unpack_or_stop
  echo "setup done at $(( $(date +%s) - T0 )) s; $from continued $CLIP_MIN min"
  continue_clip "$from" || exit 1
  ls -l "$OUT"
  echo "$1 done at $(( $(date +%s) - T0 )) s"
  ;;
textenc)
  # a stronger text encoder: the CLIP continued from the shipped model's for CLIP_MIN
  # minutes (cosine lr decay), its retrieval against the old one's, then as bg: the
  # denoiser from $INIT reads the new encoder's features (export ships that encoder)
  INIT=${INIT:-../data/models/dir7-default.safetensors}
  T0=$(date +%s)
  rm -rf runs/b runs/b.* runs/s runs/s.* runs/t runs/judge
  unpack_or_stop
  continue_clip
  cp runs/t/clip.pt runs/b/clip.pt
  echo "text encoder done at $(( $(date +%s) - T0 )) s"
  setsid nohup nvidia-smi --query-gpu=timestamp,utilization.gpu,memory.used --format=csv -l 20 \
    > runs/gpu-util.txt 2>&1 < /dev/null &
  echo "${B_NAME:-state}" > runs/b.name
  bg_run b ${B_ARGS:-}
  SNAP_T0=$T0 bash "$0" snap "${2:-540}"
  ;;
snap)
  T0=${SNAP_T0:-$(date +%s)}
  if [ ! -e runs/b.name ]; then   # a fresh machine: the lent one was taken back, and its run with it
    echo "snap: no run on this machine (runs/b.name missing): it was replaced; start again with bg" >&2
    exit 2
  fi
  runs=b; [ -e runs/s.log ] && runs="b s"
  waits=$runs; [ -e runs/eval-clip ] && waits="$waits eval-clip"; [ -e runs/j ] && waits="$waits j"
  done_all() { local w; for w in $waits; do [ -e runs/$w.done ] || return 1; done; }
  while ! done_all && [ $(( $(date +%s) - T0 )) -lt "${2:-540}" ]; do sleep 5; done
  tail -n 2 runs/b.log runs/s.log runs/eval-clip.log runs/j.log 2>/dev/null
  cp runs/eval-clip/clip-weights.pt "$OUT/measuring-clip.pt" 2>/dev/null
  cp runs/j/clip-image.pt "$OUT/" 2>/dev/null
  # one log file: $OUT returns 8 files at most (two runs: 3 model parts, 2 metrics, the grids' tar,
  # this, metrics-measuring.txt)
  { for r in $runs eval-clip j; do [ -e runs/$r.log ] && grep -E "steps|initialised|first step|compile cache|step [0-9]*00 " runs/$r.log \
      | sed "s|^|runs/$r: |"; done
    cat runs/gpu-util.txt; } > "$OUT/train-log.txt"
  rm -f runs/samples-*.png
  send_compile_cache
  # decided once: a run that ends during the exports below was exported from an
  # earlier checkpoint, and must not be evaluated as if final (the next snap does it)
  finished=0; done_all && finished=1
  for r in $runs; do
    name=$(cat runs/$r.name 2>/dev/null || echo state)
    export_run $r $name || exit 1
    [ $finished = 1 ] && { evaluate_run $r $name; paired_run $name; }
    # a run on the probe set alone (--probe N in its arguments): how closely it and its
    # init draw their N images, as the probe phase measures
    n=$(grep -o -- '--probe [0-9]*' runs/$r.args 2>/dev/null | cut -d' ' -f2)
    [ $finished = 1 ] && [ -n "$n" ] && fit_probe $name $n
  done
  if [ $finished = 1 ] && [ -e runs/baseline ]; then   # the shipped model, by the same judges
    evaluate_run base shipped ../data/models/dir7-default.safetensors
  fi
  (cd runs && ls samples-*.png > /dev/null 2>&1 && tar cf "$OUT/samples.tar" samples-*.png per-prompt-*.jsonl \
    $(ls -d paired-*/ 2>/dev/null))
  echo "snap done at $(( $(date +%s) - T0 )) s"
  ;;
probe)
  # can the architecture and its prompt path learn their images when compute is no
  # limit? From $INIT, one run per N in PROBES (side by side on the GPU) trains on only
  # the N emoji of train.py --probe N for DENOISE_MIN minutes (batch PROBE_BATCH, default
  # min(N, 256); a batch larger than N shows each image several times a step), B_ARGS
  # added, e.g. "--prediction v --min-snr 5"); then tools/probe_fit.py scores each run's
  # model and $INIT on that run's N images
  INIT=${INIT:-../data/models/dir7-default.safetensors}
  data=cache/dataset
  if [ -e ../.carry/probe.npz ] && [ ! -e ../.carry/images.npy.xz ]; then
    # the light probe call: tools.carry evalset's 128 probe emoji and meta.json.gz alone
    # (under 3 MB; the judges stay in the tree), so PROBES may only be evalset's count
    # (128, or its --probe-images)
    data=runs/probe-data
    unpack_or_stop --no-data
    python3 -m tools.carry unpack-probe --dest $data || stop_setup
  else
    unpack_or_stop
  fi
  # runs/$1 on the $2 probe images from model file $3, the rest of the arguments added to B_ARGS
  probe_run() {
    local r=$1 n=$2 init=$3; shift 3
    rm -rf runs/$r; mkdir -p runs/$r; cp runs/b/clip.pt runs/$r/
    python3 train.py denoiser --run runs/$r --data $data --cross-mode state --minutes "$DENOISE_MIN" --lr 1e-4 \
      --batch ${PROBE_BATCH:-$(( n < 256 ? n : 256 ))} ${ANNEAL:+--anneal} --probe $n --init-model "$init" \
      ${B_ARGS:-} "$@" > runs/$r.log 2>&1 &
  }
  runs=""
  for n in ${PROBES:-64}; do
    probe_run p$n $n runs/init.safetensors; runs="$runs p$n:$n:probe-$n:"
    # PROBE_SIDE_ARGS: beside it, the same run with these arguments added (a grown network:
    # "--res-blocks 3"; dir7/grow.py starts it computing what $INIT computes); --max-steps
    # in B_ARGS gives both the same steps and a step-based cosine (train.py anneal_fraction);
    # PROBE_SIDE_INIT: the side run's model file instead of $INIT (going on from both
    # runs of an earlier call: the side's export carried, the other's as the tree's model)
    [ -n "${PROBE_SIDE_ARGS:-}" ] && probe_run p$n-side $n "${PROBE_SIDE_INIT:-runs/init.safetensors}" $PROBE_SIDE_ARGS &&
      runs="$runs p$n-side:$n:probe-$n-side:noinit"
  done
  wait
  for spec in $runs; do
    IFS=: read -r r n name noinit <<< "$spec"
    grep -E "steps|images|step [0-9]*00 " runs/$r.log | tee "$OUT/train-log-$name.txt"
    export_run $r $name || { tail -n 20 runs/$r.log; exit 1; }
    fit_probe $name $n $data $noinit
    # PROBE_RAW=1: the optimiser's own weights scored too (not brought back), to measure
    # what the EMA's lag in a short call hides (training log, phase 36)
    if [ -n "${PROBE_RAW:-}" ]; then
      python3 train.py export --run runs/$r --cross-mode state --weights raw --out runs/dir7-$name-raw.safetensors &&
        fit_probe $name-raw $n $data noinit
    fi
  done
  (cd runs && tar cf "$OUT/probe-grids.tar" fit-*.png fit-*.json)
  ;;
finish)
  while [ ! -e runs/done ]; do sleep 5; done
  tail -n 3 runs/*.log
  for m in state paper; do
    python3 train.py export --run runs/a --cross-mode $m --out runs/dir7-$m.safetensors
    python3 evaluate.py --model runs/dir7-$m.safetensors --clip runs/a/clip.pt --data cache/dataset \
      --out runs/eval-$m > runs/eval-$m.log 2>&1 || tail -n 20 runs/eval-$m.log
  done
  half_clip runs/a/clip.pt "$OUT/clip-weights.pt"
  cp runs/dir7-state.safetensors runs/dir7-paper.safetensors "$OUT"/
  for m in state paper; do
    cp runs/eval-$m/metrics.json "$OUT/metrics-$m.json"
    cp runs/eval-$m/samples.png "$OUT/samples-$m.png"
  done
  cat runs/clip.log runs/state.log runs/paper.log | grep -E "steps|step [0-9]*000 " > "$OUT/train-log.txt"
  cat "$OUT"/metrics-*.json
  ;;
esac
