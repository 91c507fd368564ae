#!/usr/bin/env bash
# All GPU benchmarks in one command on the device machine (NVIDIA, PyTorch
# there). Expects .carry-bench/ made by bench/prepare_carry.sh here: the
# built bench-opencl with the libraries it needs, the OpenCL ICD loader, and
# fla's wheels. Writes JSON lines to $OUT.
set -u
cd "$(dirname "$0")/.."
C=.carry-bench
mkdir -p /etc/OpenCL/vendors
echo libnvidia-opencl.so.1 > /etc/OpenCL/vendors/nvidia.icd
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site $C/whl/*.whl && export PYTHONPATH=/tmp/site
export LD_LIBRARY_PATH=$PWD/$C/lib
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee "$OUT/gpu.txt"
$C/bench-opencl devices 2>&1 | head -5
timeout 60 $C/bench-opencl wkv | tee "$OUT/wkv-opencl.jsonl"
# the default model with its prompt cap raised to 1024 bytes (the text encoder
# is recurrent: the cap is only a limit), for the prompt-length scaling
export DIR7_BENCH_MODEL=/tmp/dir7-long-prompt.safetensors
python3 -c "
import sys; sys.path.insert(0, 'training')
from dir7.export import load_model, save_model
m = load_model('data/models/dir7-default.safetensors'); m.cfg.text.max_len = 1024
save_model(m, '$DIR7_BENCH_MODEL')"
timeout 150 $C/bench-opencl generate $DIR7_BENCH_MODEL | tee "$OUT/generate-opencl.jsonl"
# ablation (not in the main tables): 64-tiles everywhere; and where the time goes
DIR7_CL_TILE=64 timeout 40 $C/bench-opencl generate $DIR7_BENCH_MODEL --quick | tee "$OUT/ablation-tile64.txt"
DIR7_CL_PROFILE=1 timeout 40 $C/bench-opencl generate $DIR7_BENCH_MODEL --quick > "$OUT/profile-opencl.jsonl"
timeout 170 python3 bench/bench_gpu.py generate 2>"$OUT/generate-torch.err" | tee "$OUT/generate-torch.jsonl"
# last: Triton compiles (and autotunes) each shape
timeout 150 python3 bench/bench_gpu.py wkv 2>"$OUT/wkv-fla.err" | tee "$OUT/wkv-fla.jsonl"
tail -n 5 "$OUT"/*.err
