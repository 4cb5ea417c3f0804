#!/bin/sh
# Builds the images the Kubernetes manifests (k8s/) reference. Run from anywhere; builds from the repository root.
set -eu
root="$(cd "$(dirname "$0")/.." && pwd)"
tag="${TAG:-latest}"
docker build -f "$root/docker/Dockerfile.silo" --build-arg TORCH_VARIANT=cpu -t "uniclift/silo:$tag" "$root"
docker build -f "$root/docker/Dockerfile.silo" --build-arg TORCH_VARIANT=cuda -t "uniclift/silo-cuda:$tag" "$root"
docker build -f "$root/docker/Dockerfile.client" -t "uniclift/client:$tag" "$root"
