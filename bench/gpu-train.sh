#!/usr/bin/env bash
# Training on the GPU machine, in one call: (1) quality against the CPU figures: bench segment seed 1 (60 views 320x240,
# train 2000 + lift 500 iterations); (2) where a step's time goes on a paper-scale scene (100 views 640x480, 3000
# iterations, every phase device-synchronised: --profile); (3) that scene with the paper's 30k iterations.
# Here: ../shared/device/pack.sh, then the device tool with carry [".device"] and command: bash bench/gpu-train.sh [ITERS]
# Ran 2026-12-04 (before --profile existed): docs/gpu/train-segment-*.txt.
set -uo pipefail
out=${OUT:-gpu-out}; mkdir -p "$out"
export UNICLIFT_CUDA_CACHE=/tmp/uniclift-cuda-cache
iters=${1:-30000}
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/gpu.txt"
timeout 120 bash .device/run.sh uniclift bench segment --device cuda --seeds 1 --out /tmp/bs-small 2>&1 | tee "$out/segment-small.txt"
echo "exit ${PIPESTATUS[0]}" | tee -a "$out/segment-small.txt"
timeout 120 bash .device/run.sh uniclift bench segment --device cuda --seeds 2 --views 100 --width 640 --height 480 --iterations 3000 --no-lift --profile --out /tmp/bs-profile 2>&1 | tee "$out/segment-profile.txt"
echo "exit ${PIPESTATUS[0]}" | tee -a "$out/segment-profile.txt"
timeout 540 bash .device/run.sh uniclift bench segment --device cuda --seeds 2 --views 100 --width 640 --height 480 --iterations "$iters" --no-lift --out /tmp/bs-paper 2>&1 | tee "$out/segment-paper.txt"
echo "exit ${PIPESTATUS[0]}" | tee -a "$out/segment-paper.txt"
