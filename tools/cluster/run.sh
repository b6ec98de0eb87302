#!/usr/bin/env bash
# npm run test:cluster: a real Kubernetes control plane on this machine, inside a network
# namespace of its own, and the cluster tests (test/cluster/) against it.
#   1. the pinned binaries, built once into the cache (tools/cluster/build.sh), helm, dist/;
#   2. `unshare --net`: a fresh network namespace with only `lo`; the API server's and the
#      pods' addresses (10.x, tools/cluster/network.ts) exist only there;
#   3. vitest (vitest.cluster.config.ts) starts etcd, the API server, controller manager,
#      scheduler, kwok and the node agent, runs the tests, and stops them;
#   4. anything still running in that namespace afterwards was started by this run: it is
#      ended by pid.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
export ONNXRUNTIME_NODE_INSTALL=skip
start=$(date +%s)

if [ "${1:-}" != "--in-netns" ]; then
  command -v etcd >/dev/null 2>&1 || { echo "test:cluster: etcd is missing: apt-get install etcd-server" >&2; exit 1; }
  command -v unshare >/dev/null 2>&1 && command -v ip >/dev/null 2>&1 || { echo "test:cluster: needs unshare (util-linux) and ip (iproute2)" >&2; exit 1; }
  bash tools/cluster/build.sh >/dev/null
  bash tools/install-helm.sh >/dev/null
  npm run --silent build            # pods run the built code (dist/), as the images do
  # the model the pods serve (test/cluster/values.yaml); built by `npm run models:fixture`,
  # which CI runs first. Not rebuilt from here: the cache is shared with other checkouts.
  [ -f "${AUDIODECODE_CACHE:-$HOME/.cache/audiodecode}/models/tiny.en/config.json" ] \
    || { echo "test:cluster: the tiny.en model is missing: run npm run models:fixture" >&2; exit 1; }
  status=0
  unshare --net -- bash "$0" --in-netns "$@" || status=$?
  echo "test:cluster: wall time $(( $(date +%s) - start )) s (exit $status)"
  exit $status
fi

shift
ip link set lo up
ip addr add 10.10.0.1/32 dev lo   # API_ADDRESS in tools/cluster/network.ts
export AUDIODECODE_CLUSTER_NETNS=1
own_netns=$(readlink /proc/self/ns/net)
cleanup() {
  # every process left in this namespace is one this run started (the namespace is ours alone)
  for p in /proc/[0-9]*; do
    pid=${p#/proc/}
    [ "$pid" = $$ ] && continue
    [ "$(readlink "$p/ns/net" 2>/dev/null)" = "$own_netns" ] || continue
    echo "test:cluster: ending leftover process $pid ($(tr '\0' ' ' < "$p/cmdline" 2>/dev/null | cut -c1-80))" >&2
    kill -KILL "$pid" 2>/dev/null || true
  done
}
trap cleanup EXIT
npx vitest run --config vitest.cluster.config.ts "$@"
