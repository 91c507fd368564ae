#!/usr/bin/env bash
# The GPU benchmarks on the device machine (NVIDIA, PyTorch there), in two
# parts that each fit one 10-minute command; each ratio's two sides are
# measured in the same part, on the same GPU:
#   bash bench/run_device.sh wkv        ours vs fla's Triton kernels
#   bash bench/run_device.sh generate   ours vs the PyTorch reference, scaling, profile
#   bash bench/run_device.sh train      training's denoiser step: batch scaling, fla's WKV
#                                       in place of ours, where a step's time goes
#   bash bench/run_device.sh train-compile   the same step eager and through torch.compile
#   bash bench/run_device.sh train-text-cache   the step with the captions' text features looked
#                                       up (train.py --text-cache-gb) against encoded each step
# Expects .carry-bench/ made by bench/prepare_carry.sh here: the built
# bench-opencl with the libraries it needs, the OpenCL ICD loader, and fla's
# wheels. Writes JSON lines to $OUT.
set -u
cd "$(dirname "$0")/.."
part=${1:?usage: run_device.sh wkv|generate|train|train-compile|train-text-cache}
C=.carry-bench
mkdir -p /etc/OpenCL/vendors
echo libnvidia-opencl.so.1 > /etc/OpenCL/vendors/nvidia.icd
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site $C/whl/*.whl && export PYTHONPATH=/tmp/site
export LD_LIBRARY_PATH=$PWD/$C/lib
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee "$OUT/gpu.txt"
$C/bench-opencl devices 2>&1 | head -5

if [ "$part" = wkv ]; then
  timeout 60 $C/bench-opencl wkv | tee "$OUT/wkv-opencl.jsonl"
  # Triton compiles (and autotunes) each shape on a fresh machine: minutes
  timeout 420 python3 bench/bench_gpu.py wkv 2>"$OUT/wkv-fla.err" | tee "$OUT/wkv-fla.jsonl"
  tail -n 3 "$OUT/wkv-fla.err"
fi

if [ "$part" = generate ]; then
  # the default model with its prompt cap raised to 1024 bytes (the text
  # encoder is recurrent: the cap is only a limit), for the prompt scaling
  export DIR7_BENCH_MODEL=/tmp/dir7-long-prompt.safetensors
  # (stored as F16 like the shipped file, so the weights are the same bits)
  python3 -c "
import sys, torch; sys.path.insert(0, 'training')
from dir7.export import load_model, save_model
m = load_model('data/models/dir7-default.safetensors'); m.cfg.text.max_len = 1024
save_model(m, '$DIR7_BENCH_MODEL', dtype=torch.float16)"
  timeout 120 $C/bench-opencl generate $DIR7_BENCH_MODEL | tee "$OUT/generate-opencl.jsonl"
  # ablations (not in the main tables): 64-tiles everywhere; fp32 weight
  # matrices (the default model stores F16, so fp16 is the default); where the time goes
  DIR7_CL_TILE=64 timeout 40 $C/bench-opencl generate $DIR7_BENCH_MODEL --quick | tee "$OUT/ablation-tile64.txt"
  DIR7_CL_WEIGHTS=fp32 timeout 40 $C/bench-opencl generate $DIR7_BENCH_MODEL --quick | tee "$OUT/ablation-fp32-weights.txt"
  DIR7_CL_PROFILE=1 timeout 40 $C/bench-opencl generate $DIR7_BENCH_MODEL --quick > "$OUT/profile-opencl.jsonl"
  # eager first, then torch.compile (about 90 s to compile)
  timeout 360 python3 bench/bench_gpu.py generate 2>"$OUT/generate-torch.err" | tee "$OUT/generate-torch.jsonl"
  tail -n 3 "$OUT/generate-torch.err"
fi

if [ "$part" = train ]; then
  # PyTorch only (bench-opencl is not needed); fla's Triton kernels compile on first use
  timeout 120 python3 bench/bench_train.py steps 2>"$OUT/train-steps.err" | tee "$OUT/train-steps.jsonl"
  # fla at one batch: in fp32, Triton compiling and autotuning its chunk_rwkv7 forward and
  # backward for four batches ran past 240 s on a fresh H200 (2026-12-01) and left no line
  timeout 330 python3 bench/bench_train.py steps --wkv fla --batches 256 2>>"$OUT/train-steps.err" \
    | tee -a "$OUT/train-steps.jsonl"
  timeout 90 python3 bench/bench_train.py profile 2>>"$OUT/train-steps.err" > "$OUT/train-profile.jsonl"
  head -n 12 "$OUT/train-profile.jsonl"; tail -n 3 "$OUT/train-steps.err"
fi

if [ "$part" = train-compile ]; then
  # torch.compile on the U-Net, against eager in the same command: compiling the step
  # took 9 minutes on this project's 2-core CPU, so one batch size only
  timeout 60 python3 bench/bench_train.py steps --batches 256 2>"$OUT/train-compile.err" | tee "$OUT/train-compile.jsonl"
  timeout 500 python3 bench/bench_train.py steps --compile --batches 256 2>>"$OUT/train-compile.err" \
    | tee -a "$OUT/train-compile.jsonl"
  tail -n 3 "$OUT/train-compile.err"
fi

if [ "$part" = train-text-cache ]; then
  # eager, batch 512 (the training runs' batch), both in the same command; the time a
  # lookup saves is host and text-encoder time, which the compiled loop spends too
  timeout 120 python3 bench/bench_train.py steps --batches 512 2>"$OUT/train-text-cache.err" \
    | tee "$OUT/train-text-cache.jsonl"
  timeout 120 python3 bench/bench_train.py steps --batches 512 --text-cache 2>>"$OUT/train-text-cache.err" \
    | tee -a "$OUT/train-text-cache.jsonl"
  tail -n 3 "$OUT/train-text-cache.err"
fi
