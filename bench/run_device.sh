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
$C/bench-opencl wkv | tee "$OUT/wkv-opencl.jsonl"
python3 bench/bench_gpu.py wkv 2>"$OUT/wkv-fla.err" | tee "$OUT/wkv-fla.jsonl"
$C/bench-opencl generate data/models/dir7-default.safetensors | tee "$OUT/generate-opencl.jsonl"
timeout 300 python3 bench/bench_gpu.py generate 2>"$OUT/generate-torch.err" | tee "$OUT/generate-torch.jsonl"
tail -n 5 "$OUT"/*.err
