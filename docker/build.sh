#!/bin/sh
# Builds the images the Kubernetes manifests (k8s/) reference. Run from anywhere; builds from the repository root.
set -eu
root="$(cd "$(dirname "$0")/.." && pwd)"
# The tag the manifests (k8s/base, the overlays' images:) name; never "latest", so a pod runs the build it was deployed with.
tag="${TAG:-0.1.0}"
docker build -f "$root/docker/Dockerfile.silo" --build-arg TORCH_VARIANT=cpu -t "uniclift/silo:$tag" "$root"
docker build -f "$root/docker/Dockerfile.silo" --build-arg TORCH_VARIANT=cuda -t "uniclift/silo-cuda:$tag" "$root"
docker build -f "$root/docker/Dockerfile.client" -t "uniclift/client:$tag" "$root"
