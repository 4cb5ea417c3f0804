#!/usr/bin/env bash
# The README's test command (and what .ci/run runs): installs what the tests need when it is missing (redis-server,
# chromium and g++ from apt; g++ builds the CPU kernel emulator's modules), compiles every CUDA kernel with NVRTC when an NVRTC is at hand (no GPU needed; the shared
# NVRTC 13 beside the checkout on the build machines, or NVRTC_LIBRARY), then runs the whole test suite.
# usage: bash build/test.sh [extra dotnet test arguments...]
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v g++ >/dev/null 2>&1 || need+=(g++)
if [ ${#need[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  if [ -n "$sudo" ] && ! command -v sudo >/dev/null 2>&1; then
    echo "missing: ${need[*]}; install them as root: apt-get install -y ${need[*]}" >&2
    exit 1
  fi
  echo "installing ${need[*]} (apt)..."
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi

# CUDA kernels: compile every variant for sm_80 and sm_90 and print registers and spills. Needs NVRTC, not a GPU.
if [ -z "${NVRTC_LIBRARY:-}" ] && [ -f ../shared/cuda/nvrtc.sh ]; then eval "$(bash ../shared/cuda/nvrtc.sh)"; fi
dotnet build src/Client -c Release -v q -nologo >/dev/null
if [ -n "${NVRTC_LIBRARY:-}" ] || ldconfig -p 2>/dev/null | grep -q libnvrtc; then
  dotnet src/Client/bin/Release/net10.0/uniclift.dll check kernels --arch sm_80,sm_90
else
  echo "CUDA kernel compile check not run: no NVRTC here (set NVRTC_LIBRARY, or see ../shared/cuda/nvrtc.sh)"
fi

# Release: the tests train scenes, render and run silos; the JIT's optimiser makes them two to six times faster than
# Debug and leaves the timed parts of the cluster tests (a stop within seconds of SIGTERM, a failover) their margin.
dotnet test UniCLift.sln -c Release "$@"
