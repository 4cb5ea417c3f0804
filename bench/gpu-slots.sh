#!/usr/bin/env bash
# Batch throughput on one GPU with TrainingSlots 1, 2 and 4 (issue #16's "scenes per GPU-hour"), in one call:
# SCENES generated paper-scale rooms (100 views 640x480, 10-17 objects) go through the embedded silo of `submit --wait`
# on DEVICE, each trained ITERS iterations; the wall time of each batch gives scenes per hour at ITERS iterations, and
# GPU memory is sampled every second by nvidia-smi while it runs (peak per slot count). At 3000 iterations (the
# default) a 30k-iteration figure is about ITERS/30000 of it (density control ends halfway either way).
# GPU machine: ../shared/device/pack.sh, then the device tool with carry [".device"] and command: bash bench/gpu-slots.sh
# (bench/gpu-train.sh second runs it with SCENES=4, the size a session's device time allows). Under $OUT: slots-summary.txt
# and each batch's output, slots-N.txt; the memory samples go to MEMORY_DIR ($OUT by default).
# Here (no GPU), as a dry run of the script itself: DEVICE=cpu SCENES=2 VIEWS=8 W=64 H=48 ITERS=30 RUN="dotnet src/Client/bin/Release/net10.0/uniclift.dll" bash bench/gpu-slots.sh
set -uo pipefail
out=${OUT:-gpu-out}; mkdir -p "$out"
export UNICLIFT_CUDA_CACHE=/tmp/uniclift-cuda-cache
device=${DEVICE:-cuda}; scenes=${SCENES:-8}; views=${VIEWS:-100}; w=${W:-640}; h=${H:-480}; iters=${ITERS:-3000}
run=${RUN:-bash .device/run.sh uniclift}
work=${WORK:-/tmp/uniclift-slots}; rm -rf "$work"; mkdir -p "$work"
dirs=()
for i in $(seq 1 "$scenes"); do
  $run make-scene --out "$work/scene-$i" --seed "$i" --objects $((10 + i % 8)) --views "$views" --width "$w" --height "$h" > /dev/null || exit 1
  dirs+=("$work/scene-$i")
done
for slots in ${SLOTS:-1 2 4}; do
  mem="${MEMORY_DIR:-$out}/slots-$slots-memory.csv"; mkdir -p "$(dirname "$mem")"
  if command -v nvidia-smi > /dev/null; then
    nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -l 1 > "$mem" 2> /dev/null &
    sampler=$!
  else
    sampler=
  fi
  start=$(date +%s.%N)
  UniCLift__TrainingSlots=$slots UniCLift__Device=$device timeout ${LIMIT:-170} $run submit "${dirs[@]}" --out "$work/out-$slots" \
    --iterations "$iters" --wait > "$out/slots-$slots.txt" 2>&1
  code=$?
  end=$(date +%s.%N)
  [ -n "$sampler" ] && kill "$sampler" 2> /dev/null
  peak=$( [ -s "$mem" ] && sort -n "$mem" | tail -1 || echo n/a)
  awk -v s="$start" -v e="$end" -v n="$scenes" -v k="$slots" -v c="$code" -v p="$peak" -v it="$iters" \
    'BEGIN { t = e - s; printf "slots %d: exit %d, %d scenes x %d iterations in %.1f s = %.1f scenes/hour; peak GPU memory %s MiB\n", k, c, n, it, t, n * 3600 / t, p }' \
    | tee -a "$out/slots-summary.txt"
done
