#!/usr/bin/env bash
# Installs the pinned k6 from the Go module proxy into the cache (no GitHub release download).
# Prints the binary's path.
set -euo pipefail
K6_VERSION=v1.8.1
bin=${AUDIODECODE_CACHE:-$HOME/.cache/audiodecode}/bin
if [ ! -x "$bin/k6" ] || ! "$bin/k6" version 2>/dev/null | grep -q "${K6_VERSION}"; then
  echo "k6: building ${K6_VERSION} with go install (a few minutes, once)" >&2
  mkdir -p "$bin"
  GOBIN="$bin" GOFLAGS=-mod=mod go install "go.k6.io/k6@${K6_VERSION}" >&2
fi
echo "$bin/k6"
