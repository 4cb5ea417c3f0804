#!/usr/bin/env bash
# The GPU machine's checks and benchmarks of the CUDA rasteriser, in one call (device time is scarce: nothing is built
# there). Here: ../shared/device/pack.sh, then the device tool with carry [".device"] and command
#   bash bench/gpu-check.sh
# Writes check-gpu.txt, bench-raster.txt and bench-raster.jsonl under $OUT (or ./gpu-out).
set -uo pipefail
out=${OUT:-gpu-out}; mkdir -p "$out"
export UNICLIFT_CUDA_CACHE=/tmp/uniclift-cuda-cache
run() { bash .device/run.sh uniclift "$@"; }
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv 2>&1 | tee "$out/gpu.txt"
# Every launch synchronised in the check, so a faulting kernel is named at its launch.
UNICLIFT_CUDA_SYNC_CHECK=1 timeout 240 bash .device/run.sh uniclift check gpu 2>&1 | tee "$out/check-gpu.txt"
echo "check gpu exit: ${PIPESTATUS[0]}" | tee -a "$out/check-gpu.txt"
: > "$out/bench-raster.txt"; : > "$out/bench-raster.jsonl"
for c in "8000 200 150" "50000 320 240" "300000 640 480" "1000000 1280 720"; do
  set -- $c
  timeout 120 bash .device/run.sh uniclift bench raster --device cuda --gaussians "$1" --width "$2" --height "$3" --repeats 30 --warmup 10 2>&1 | tee -a "$out/bench-raster.txt"
  timeout 120 bash .device/run.sh uniclift bench raster --device cuda --gaussians "$1" --width "$2" --height "$3" --repeats 30 --warmup 10 --json 2>&1 | tail -1 >> "$out/bench-raster.jsonl"
done
echo done
