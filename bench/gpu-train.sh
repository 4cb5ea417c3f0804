#!/usr/bin/env bash
# Training on the GPU machine, in two device calls (each under the 600 s a call may run; device time is 15 minutes a
# session, the start included):
#   bash bench/gpu-train.sh checks        (about 6-8 min)
#     1. check gpu: the rasteriser against the CPU one, the fused kernels (Adam, SSIM, triplets) against what
#        they replace, checkpoints resumed GPU->GPU, GPU->CPU, CPU->GPU, steady tensors and memory;
#     2. where a paper-scale step's time goes (100 views 640x480, PROFILE_ITERS iterations with the segmentation losses
#        on for the second half, as from 15k of 30k): device-synchronised phases without the fused kernels
#        (UNICLIFT_FUSED=0) and with them (the default), then the host's time to issue each phase (--profile-host),
#        with the tensors created per phase;
#     3. quality against the CPU figures: bench segment seed 1 (60 views 320x240, train 2000 + lift 500 iterations).
#   bash bench/gpu-train.sh paper [ITERS]  (about 5 min)
#     4. the paper-scale scene with the paper's 30k iterations (ITERS), end to end (load, train, decode, outputs).
# Here: ../shared/device/pack.sh src/Client, then the device tool with carry [".device"] and one of the commands above.
# Ran 2026-12-04 before steps 1-2 and the fused kernels existed: docs/gpu/train-segment-*.txt.
set -uo pipefail
out=${OUT:-gpu-out}; mkdir -p "$out"
export UNICLIFT_CUDA_CACHE=/tmp/uniclift-cuda-cache
mode=${1:-checks}
run() { bash .device/run.sh uniclift "$@"; }
paper=(--seeds 2 --views 100 --width 640 --height 480 --no-lift)
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/gpu.txt"
case "$mode" in
  checks)
    timeout 150 bash .device/run.sh uniclift check gpu 2>&1 | tee "$out/check-gpu.txt"
    echo "check gpu exit: ${PIPESTATUS[0]}" | tee -a "$out/check-gpu.txt"
    piters=${PROFILE_ITERS:-1500}
    profile() { # NAME, then bench options
      local name=$1; shift
      timeout 70 bash .device/run.sh uniclift bench segment "${paper[@]}" --device cuda --iterations "$piters" \
        --set SegmentationLossesFromFraction=0.5 --out "/tmp/bs-$name" "$@" 2>&1 | tee "$out/segment-profile-$name.txt"
    }
    UNICLIFT_FUSED=0 profile unfused --profile
    profile fused --profile
    profile host --profile-host
    timeout 75 bash .device/run.sh uniclift bench segment --device cuda --seeds 1 --out /tmp/bs-small 2>&1 | tee "$out/segment-small.txt"
    ;;
  paper)
    iters=${2:-30000}
    timeout 540 bash .device/run.sh uniclift bench segment "${paper[@]}" --device cuda --iterations "$iters" --out /tmp/bs-paper 2>&1 \
      | tee "$out/segment-paper.txt"
    echo "exit ${PIPESTATUS[0]}" | tee -a "$out/segment-paper.txt"
    ;;
  *) echo "usage: bash bench/gpu-train.sh checks | paper [ITERS]" >&2; exit 2 ;;
esac
