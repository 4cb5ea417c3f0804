#!/usr/bin/env bash
# Rebuilds the viewer bundle that the uniclift assembly embeds (viewer.bundle.js, committed beside this script) from
# viewer.js and the exact package versions in package-lock.json, and writes THIRD-PARTY.txt: each bundled package's
# version and licence text. Needs node + npm (the registry only here; `uniclift view` and the tests never need npm).
# usage: bash src/Client/Viewer/web/build-viewer.sh
set -euo pipefail
cd "$(dirname "$0")"
npm ci --no-audit --no-fund --ignore-scripts
# esbuild's platform binary comes as an optional dependency (@esbuild/linux-x64); its postinstall only checks it.
npx --no-install esbuild viewer.js --bundle --minify --format=iife --global-name=UniCLiftViewer \
  --target=es2020 --legal-comments=none --outfile=viewer.bundle.js.tmp
mv viewer.bundle.js.tmp viewer.bundle.js
{
  echo "viewer.bundle.js: UniCLift's viewer.js bundled with esbuild $(node -p 'require("./node_modules/esbuild/package.json").version') from:"
  for p in three @mkkellogg/gaussian-splats-3d; do
    echo
    echo "== $p $(node -p "require('./node_modules/$p/package.json').version") ($(node -p "require('./node_modules/$p/package.json').license")) =="
    cat "node_modules/$p/LICENSE"
  done
} > THIRD-PARTY.txt
echo "wrote $(pwd)/viewer.bundle.js ($(wc -c < viewer.bundle.js) bytes) and THIRD-PARTY.txt"
