#!/usr/bin/env bash
# Builds (once) the binaries `npm run test:cluster` runs, into a cache keyed by version:
#   $AUDIODECODE_CACHE/cluster/kubernetes-$KUBE_VERSION/{kube-apiserver,kube-controller-manager,kube-scheduler}
#   $AUDIODECODE_CACHE/cluster/kwok-$KWOK_VERSION/kwok
# Everything comes from the Go module proxy (no release downloads). A cold build (empty module and
# build caches) took 511 s on 2 cores; a warm run only checks that the binaries exist and report their version.
# Prints the two directories, one per line.
set -euo pipefail
KUBE_VERSION=v1.34.4   # must match tools/cluster/kube/go.mod
KWOK_VERSION=v0.7.0
here=$(cd "$(dirname "$0")" && pwd)
cache=${AUDIODECODE_CACHE:-$HOME/.cache/audiodecode}/cluster
kube_dir=$cache/kubernetes-$KUBE_VERSION
kwok_dir=$cache/kwok-$KWOK_VERSION

grep -q "k8s.io/kubernetes $KUBE_VERSION" "$here/kube/go.mod" \
  || { echo "build.sh: KUBE_VERSION $KUBE_VERSION is not the version tools/cluster/kube/go.mod requires" >&2; exit 1; }

kube_ok() {
  local b
  for b in kube-apiserver kube-controller-manager kube-scheduler; do
    [ -x "$kube_dir/$b" ] && "$kube_dir/$b" --version 2>/dev/null | grep -q "$KUBE_VERSION" || return 1
  done
}
if ! kube_ok; then
  echo "cluster: building kube-apiserver, kube-controller-manager, kube-scheduler $KUBE_VERSION (about 9 min cold)" >&2
  minor=${KUBE_VERSION#v*.}; minor=${minor%%.*}
  major=${KUBE_VERSION#v}; major=${major%%.*}
  # Without the version stamp the server reports v0.0.0 and the chart's kubeVersion check refuses it.
  pkg=k8s.io/component-base/version
  ldflags="-s -w -X $pkg.gitVersion=$KUBE_VERSION -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
  tmp=$(mktemp -d "$cache.build.XXXXXX" 2>/dev/null || { mkdir -p "$cache"; mktemp -d "$cache.build.XXXXXX"; })
  (cd "$here/kube" && CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$tmp/" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler) >&2
  mkdir -p "$cache" && rm -rf "$kube_dir" && mv "$tmp" "$kube_dir"
  kube_ok || { echo "build.sh: the built binaries do not report $KUBE_VERSION" >&2; exit 1; }
fi

if [ ! -x "$kwok_dir/kwok" ] || ! "$kwok_dir/kwok" --version 2>/dev/null | grep -q "$KWOK_VERSION"; then
  echo "cluster: building kwok $KWOK_VERSION" >&2
  mkdir -p "$kwok_dir"
  # kwok stamps its version through its own package; `go install` of a tagged module leaves it
  # empty, so set it for the check above.
  CGO_ENABLED=0 GOBIN="$kwok_dir" GOFLAGS=-mod=mod go install -trimpath \
    -ldflags "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=$KWOK_VERSION" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION" >&2
fi
echo "$kube_dir"
echo "$kwok_dir"
