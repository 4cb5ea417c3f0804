#!/usr/bin/env bash
# Training on the GPU machine, in one call (about 11 minutes; device time is 15 minutes a session, the start included):
#  1. check gpu: the rasteriser against the CPU one, the fused Adam (optim.cu) against the unfused update, steady memory;
#  2. where a step's time goes on a paper-scale scene (100 views 640x480, 3000 iterations, --profile: every phase
#     device-synchronised), with the unfused and the fused Adam (UNICLIFT_FUSED_ADAM=1);
#  3. quality against the CPU figures: bench segment seed 1 (60 views 320x240, train 2000 + lift 500 iterations);
#  4. the paper-scale scene with the paper's 30k iterations (ITERS), fused Adam when step 1 passed.
# Here: ../shared/device/pack.sh, then the device tool with carry [".device"] and command: bash bench/gpu-train.sh [ITERS]
# Ran 2026-12-04 before steps 1-2 and the fused Adam existed: docs/gpu/train-segment-*.txt.
set -uo pipefail
out=${OUT:-gpu-out}; mkdir -p "$out"
export UNICLIFT_CUDA_CACHE=/tmp/uniclift-cuda-cache
iters=${1:-30000}
run() { bash .device/run.sh uniclift "$@"; }
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/gpu.txt"
timeout 90 bash .device/run.sh uniclift check gpu 2>&1 | tee "$out/check-gpu.txt"
checked=${PIPESTATUS[0]}
echo "check gpu exit: $checked" | tee -a "$out/check-gpu.txt"
for fused in 0 1; do
  UNICLIFT_FUSED_ADAM=$fused timeout 75 bash .device/run.sh uniclift bench segment --device cuda --seeds 2 --views 100 --width 640 --height 480 \
    --iterations 3000 --no-lift --profile --out /tmp/bs-profile-$fused 2>&1 | tee "$out/segment-profile-fused$fused.txt"
done
[ "$checked" = 0 ] && export UNICLIFT_FUSED_ADAM=1
timeout 75 bash .device/run.sh uniclift bench segment --device cuda --seeds 1 --out /tmp/bs-small 2>&1 | tee "$out/segment-small.txt"
timeout 330 bash .device/run.sh uniclift bench segment --device cuda --seeds 2 --views 100 --width 640 --height 480 --iterations "$iters" --no-lift --out /tmp/bs-paper 2>&1 | tee "$out/segment-paper.txt"
echo "exit ${PIPESTATUS[0]} (fused Adam: ${UNICLIFT_FUSED_ADAM:-0})" | tee -a "$out/segment-paper.txt"
