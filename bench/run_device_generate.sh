#!/usr/bin/env bash
# The generation benchmarks alone (bench/run_device.sh runs everything), with
# a per-kernel device-time profile of ours. Same setup as run_device.sh.
set -u
cd "$(dirname "$0")/.."
C=.carry-bench
mkdir -p /etc/OpenCL/vendors
echo libnvidia-opencl.so.1 > /etc/OpenCL/vendors/nvidia.icd
export LD_LIBRARY_PATH=$PWD/$C/lib
export DIR7_BENCH_MODEL=/tmp/dir7-long-prompt.safetensors
python3 -c "
import sys; sys.path.insert(0, 'training')
from dir7.export import load_model, save_model
m = load_model('data/models/dir7-default.safetensors'); m.cfg.text.max_len = 1024
save_model(m, '$DIR7_BENCH_MODEL')"
timeout 150 $C/bench-opencl generate $DIR7_BENCH_MODEL | tee "$OUT/generate-opencl.jsonl"
DIR7_CL_PROFILE=1 timeout 60 $C/bench-opencl generate $DIR7_BENCH_MODEL --quick | tee "$OUT/profile-opencl.jsonl"
timeout 330 python3 bench/bench_gpu.py generate 2>"$OUT/generate-torch.err" | tee "$OUT/generate-torch.jsonl"
tail -n 5 "$OUT"/*.err
