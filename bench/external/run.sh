#!/usr/bin/env bash
# Quality on scenes this repository did not make: rooms rendered by Blender's Cycles (blender_room.py), masks made
# inconsistent by corrupt_masks.py, read through the nerfstudio layout (or COLMAP's, LAYOUT=colmap), segmented and
# scored by uniclift.
#
#   bash bench/external/run.sh [ROOT]           (default ROOT: /tmp/uniclift-external)
#
# Environment: SEEDS (1,2), OBJECTS (10), VIEWS (48), WIDTH (200), HEIGHT (150), SAMPLES (24), ITERATIONS (2000),
# LIFT_ITERATIONS (500; 0: no lift), DEVICE (cpu), SET (options for both runs: "Name=Value Name=Value"), DECODE
# (decode options for both runs, the same form, e.g. DECODE="SurfaceBorderShare=0.7" for Segment Anything's masks outdoors),
# UNICLIFT (the command that runs uniclift; default: the Release build, built if missing), LAYOUT (nerfstudio, or
# colmap: each scene is also written as a COLMAP text model by to_colmap.py, under ROOT/scene-S-colmap, and read
# through that layout instead; its runs are ROOT/run-S-colmap), ROOM (orbit; inside, a closed room scanned
# from within; table, small objects crowded on a table, e.g. OBJECTS=30 WIDTH=320 HEIGHT=240; or shelf, small objects
# on open shelves captured forward-facing; or street, outdoors under a sky, walked at eye height, e.g. VIEWS=60 WIDTH=256
# HEIGHT=192 OBJECTS=12: blender_room.py's --layout; use a ROOT of its own per room, scenes are kept
# per seed), IDENTICAL (a kind, e.g. chair or mug: every object that kind, alike in size, shape and material;
# blender_room.py's --identical), MASKS (corrupt, the default: corrupt_masks.py's panoptic-segmenter-like masks; or
# sam, sam-rle, sam-surfaces, sam-nobg: sam_masks.py's Segment-Anything-like masks in amg.py's folder or RLE JSON form,
# the background in pieces cut anyhow, cut along its surfaces, or left uncovered; use a ROOT of its own per kind, masks/
# is kept per scene), IMAGES (as-rendered, the default; or exposure: exposure.py gives each view its own exposure,
# sd 0.5 stops, and white balance, sd 8% a channel, as a hand-held camera on automatic exposure does, in a copy of the
# scene, ROOT/scene-S-exposure, whose runs are ROOT/run-S-exposure; installs python3-pil with apt when missing),
# GEOMETRY (own, the default; or torch: also trains a geometry with torch_gs.py, a small
# PyTorch 3DGS trainer written from graphdeco's paper, on the scene's training views, writes it as graphdeco's output
# folder under ROOT/run-S-torchgs, lifts on it (LIFT_ITERATIONS, default 500) and adds its row's columns: PQ, instances,
# seconds (torch_gs + lift), its test PSNR, its Gaussians; TORCH_ITERATIONS (2000), TORCH_TILE (4); installs
# python3-torch with apt when missing; 2000 iterations took 39-44 min here, two seeds side by side on one thread each).
# Installs blender and python3-numpy with apt when they are missing (Debian). For each seed it renders the scene once
# (kept under ROOT/scene-S), writes its masks, scores the raw masks, trains in train mode, lifts on that geometry
# (lift mode from its model.ply), scores both, and prints one table: PQ^scene and PQ over things on the test views
# (two-class protocol), thing TP/FP/FN, instances, time.
# On this repository's 2-core machine a 48-view 200x150 scene renders in about 1-2 min and trains 2000 iterations in
# about 3-5 min.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
root=${1:-/tmp/uniclift-external}
IFS=, read -r -a seeds <<< "${SEEDS:-1,2}"
objects=${OBJECTS:-10} views=${VIEWS:-48} width=${WIDTH:-200} height=${HEIGHT:-150} samples=${SAMPLES:-24}
iterations=${ITERATIONS:-2000} lift_iterations=${LIFT_ITERATIONS:-500} device=${DEVICE:-cpu}
sets=(); for kv in ${SET:-}; do sets+=(--set "$kv"); done
for kv in ${DECODE:-}; do sets+=(--decode "$kv"); done
mkdir -p "$root"

if ! command -v blender >/dev/null || ! /usr/bin/python3 -c 'import numpy' 2>/dev/null; then
  echo "installing blender and python3-numpy (apt)" >&2
  as_root=(); [ "$(id -u)" -ne 0 ] && as_root=(sudo)
  "${as_root[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq --no-install-recommends blender python3-numpy >/dev/null
fi
if [ "${IMAGES:-as-rendered}" = exposure ] && ! /usr/bin/python3 -c 'import PIL' 2>/dev/null; then
  echo "installing python3-pil (apt)" >&2
  as_root=(); [ "$(id -u)" -ne 0 ] && as_root=(sudo)
  "${as_root[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq --no-install-recommends python3-pil >/dev/null
fi
geometry=${GEOMETRY:-own}
case "$geometry" in own|torch) ;; *) echo "GEOMETRY=$geometry: expected own or torch" >&2; exit 2 ;; esac
if [ "$geometry" = torch ]; then
  [ "$lift_iterations" -gt 0 ] || { echo "GEOMETRY=torch lifts: LIFT_ITERATIONS must be > 0" >&2; exit 2; }
  if ! /usr/bin/python3 -c 'import torch, PIL' 2>/dev/null; then
    echo "installing python3-torch and python3-pil (apt)" >&2
    as_root=(); [ "$(id -u)" -ne 0 ] && as_root=(sudo)
    "${as_root[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq --no-install-recommends python3-torch python3-pil >/dev/null
  fi
fi
if [ -z "${UNICLIFT:-}" ]; then
  dll="$repo/src/Client/bin/Release/net10.0/uniclift.dll"
  [ -f "$dll" ] || dotnet build "$repo/src/Client" -c Release -v quiet -nologo >&2
  UNICLIFT="dotnet $dll"
fi

score() { # SCENE PRED -> "PQ^scene PQ_things TP/FP/FN" on the test views (thing segments, the two-class protocol)
  $UNICLIFT eval --scene "$1" --pred "$2" --json | /usr/bin/python3 -c '
import json, sys
r = json.load(sys.stdin)
t = [c for c in r["classes"] if c["is_thing"]]
counts = "%d/%d/%d" % (sum(c["tp"] for c in t), sum(c["fp"] for c in t), sum(c["fn"] for c in t))
print("%.2f %.2f %s" % (r["pq_scene"], r["pq_things"], counts))'
}
instances() { # RUN -> the instances its metrics.json counts
  /usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["instances"])' "$1/metrics.json"
}

rows=()
for seed in "${seeds[@]}"; do
  scene="$root/scene-$seed"
  if [ ! -f "$scene/transforms.json" ]; then
    start=$(date +%s)
    blender -b -noaudio --factory-startup --python-exit-code 1 -P "$here/blender_room.py" -- "$scene" --seed "$seed" --objects "$objects" \
      --views "$views" --width "$width" --height "$height" --samples "$samples" --layout "${ROOM:-orbit}" ${IDENTICAL:+--identical "$IDENTICAL"} > "$root/render-$seed.log" 2>&1 \
      || { tail -20 "$root/render-$seed.log" >&2; exit 1; }
    [ -f "$scene/transforms.json" ] || { tail -20 "$root/render-$seed.log" >&2; echo "seed $seed: blender wrote no scene" >&2; exit 1; }
    echo "seed $seed: rendered in $(( $(date +%s) - start )) s" >&2
  fi
  if [ ! -d "$scene/masks" ]; then
    case "${MASKS:-corrupt}" in
      corrupt) /usr/bin/python3 "$here/corrupt_masks.py" "$scene" --seed "$seed" >&2 ;;
      sam) /usr/bin/python3 "$here/sam_masks.py" "$scene" --seed "$seed" >&2 ;;
      sam-rle) /usr/bin/python3 "$here/sam_masks.py" "$scene" --seed "$seed" --format rle >&2 ;;
      sam-surfaces) /usr/bin/python3 "$here/sam_masks.py" "$scene" --seed "$seed" --background surfaces >&2 ;;
      sam-nobg) /usr/bin/python3 "$here/sam_masks.py" "$scene" --seed "$seed" --background none >&2 ;;
      *) echo "MASKS=${MASKS}: expected corrupt, sam, sam-rle, sam-surfaces or sam-nobg" >&2; exit 2 ;;
    esac
  fi
  tag=$seed
  case "${IMAGES:-as-rendered}" in
    as-rendered) ;;
    exposure)
      [ -f "$scene-exposure/exposure.json" ] || /usr/bin/python3 "$here/exposure.py" "$scene" "$scene-exposure" --seed "$seed" >&2
      scene="$scene-exposure" tag="$seed-exposure" ;;
    *) echo "IMAGES=${IMAGES}: expected as-rendered or exposure" >&2; exit 2 ;;
  esac
  if [ "${LAYOUT:-nerfstudio}" = colmap ]; then
    [ -d "$scene-colmap/sparse" ] || /usr/bin/python3 "$here/to_colmap.py" "$scene" "$scene-colmap" >&2
    scene="$scene-colmap" tag="$seed-colmap"
  fi
  raw=$(score "$scene" "$scene/masks")
  run="$root/run-$tag"
  start=$(date +%s)
  $UNICLIFT segment "$scene" --out "$run" --iterations "$iterations" --device "$device" "${sets[@]}" > "$root/segment-$tag.log" 2>&1 \
    || { tail -20 "$root/segment-$tag.log" >&2; exit 1; }
  seconds=$(( $(date +%s) - start ))
  trained=$(score "$scene" "$run/instance")
  trained_instances=$(instances "$run")
  lift="- / -, -" lift_instances="-" lift_seconds="-"
  if [ "$lift_iterations" -gt 0 ]; then
    start=$(date +%s)
    $UNICLIFT segment "$scene" --out "$run-lift" --mode lift --ply "$run/model.ply" --iterations "$lift_iterations" \
      --device "$device" "${sets[@]}" > "$root/lift-$tag.log" 2>&1 || { tail -20 "$root/lift-$tag.log" >&2; exit 1; }
    lift_seconds=$(( $(date +%s) - start ))
    read -r lp lt lc <<< "$(score "$scene" "$run-lift/instance")"
    lift="$lp / $lt, $lc"
    lift_instances=$(instances "$run-lift")
  fi
  torch_cols=""
  if [ "$geometry" = torch ]; then
    gs="$run-torchgs" gs_iterations=${TORCH_ITERATIONS:-2000}
    start=$(date +%s)
    /usr/bin/python3 "$here/torch_gs.py" "$root/scene-$seed" "$gs" --iterations "$gs_iterations" --tile "${TORCH_TILE:-4}" \
      > "$root/torchgs-$tag.log" 2>&1 || { tail -20 "$root/torchgs-$tag.log" >&2; exit 1; }
    $UNICLIFT segment "$gs" --out "$gs-lift" --mode lift --ply "$gs/point_cloud/iteration_$gs_iterations/point_cloud.ply" \
      --iterations "$lift_iterations" --device "$device" "${sets[@]}" > "$root/lift-torchgs-$tag.log" 2>&1 \
      || { tail -20 "$root/lift-torchgs-$tag.log" >&2; exit 1; }
    gs_seconds=$(( $(date +%s) - start ))
    read -r gp gt_ gc <<< "$(score "$scene" "$gs-lift/instance")"
    gs_psnr=$(sed -n 's/.*PSNR test \([0-9.]*\) dB.*/\1/p' "$root/torchgs-$tag.log")
    gs_count=$(sed -n 's/^done: \([0-9]*\) Gaussians.*/\1/p' "$root/torchgs-$tag.log")
    pad=$(( 8 - ${#lift_seconds} )); [ "$pad" -gt 0 ] || pad=0  # the row's last column is unpadded
    torch_cols=$(printf '%*s %-24s %-10s %-8s %-6s %s' "$pad" "" "$gp / $gt_, $gc" "$(instances "$gs-lift")" "$gs_seconds" "$gs_psnr" "$gs_count")
  fi
  gt=$(/usr/bin/python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["objects"]))' "$root/scene-$seed/objects.json")
  read -r rp rt rc <<< "$raw"
  read -r tp tt tc <<< "$trained"
  rows+=("$(printf '%-5s %-8s %-24s %-24s %-10s %-8s %-24s %-10s %s' "$seed" "$gt" "$rp / $rt, $rc" "$tp / $tt, $tc" "$trained_instances" "$seconds" \
    "$lift" "$lift_instances" "$lift_seconds")$torch_cols")
done

echo
echo "external scenes (Blender $(blender --version 2>/dev/null | head -1 | awk '{print $2}'), ${ROOM:-orbit} room${IDENTICAL:+ of identical ${IDENTICAL}s}, ${views} views ${width}x${height}, ${samples} spp, ${IMAGES:-as-rendered} images, ${MASKS:-corrupt} masks, read as ${LAYOUT:-nerfstudio}; train ${iterations} iterations on ${device}${SET:+; $SET}${DECODE:+; decode $DECODE}; $(date -u +%F)"
if [ "$geometry" = torch ]; then
  printf '%-5s %-8s %-24s %-24s %-10s %-8s %-24s %-10s %-8s %-24s %-10s %-8s %-6s %s\n' seed objects "raw masks" "train" instances seconds \
    "lift" instances seconds "lift on torch_gs" instances seconds PSNR Gaussians
else
  printf '%-5s %-8s %-24s %-24s %-10s %-8s %-24s %-10s %s\n' seed objects "raw masks" "train" instances seconds "lift" instances seconds
fi
printf '%s\n' "${rows[@]}"
echo "(PQ^scene / PQ over things, thing TP/FP/FN on the test views; lift: ${lift_iterations} iterations on the train run's geometry)"
if [ "$geometry" = torch ]; then
  echo "(lift on torch_gs: ${lift_iterations} iterations on torch_gs.py's ${TORCH_ITERATIONS:-2000}-iteration geometry, read as graphdeco's output folder; PSNR on the test views by torch_gs's renderer)"
fi
