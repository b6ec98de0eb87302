#!/usr/bin/env bash
# Wall time of one `audiodecode transcribe FILE` (a new process each time: Node start, model load,
# decode, transcription) for this checkout against an earlier commit, runs alternating, same machine.
#
#     bash tools/probes/cli_first_run.sh [git-ref=HEAD~1] [file=../shared/audio/jfk.wav] [runs=7] [cli options...]
#
# The earlier commit is built in a temporary worktree sharing this checkout's node_modules. Prints
# each run's wall seconds and the CLI's own stage timings, then the medians, and whether both
# printed the same transcript. A probe, not a test: its figures depend on the machine.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
ref="${1:-HEAD~1}"
file="${2:-$root/../shared/audio/jfk.wav}"
runs="${3:-7}"
shift $(( $# < 3 ? $# : 3 ))
work="$(mktemp -d)"
trap 'git -C "$root" worktree remove --force "$work/before" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

git -C "$root" worktree add -q --detach "$work/before" "$ref"
ln -s "$root/node_modules" "$work/before/node_modules"
(cd "$work/before" && npx tsc -p tsconfig.build.json)
(cd "$root" && npx tsc -p tsconfig.build.json)

for i in $(seq "$runs"); do
  for side in before after; do
    dir="$root"; [ "$side" = before ] && dir="$work/before"
    start=$(date +%s.%N)
    node "$dir/dist/src/cli/main.js" transcribe "$file" "$@" >"$work/$side.out" 2>"$work/$side.err"
    end=$(date +%s.%N)
    wall=$(echo "$end - $start" | bc)
    echo "$wall" >>"$work/$side.walls"
    printf '%-6s %6.3f s  %s\n' "$side" "$wall" "$(tail -1 "$work/$side.err" | sed 's/^audiodecode: //')"
  done
done
for side in before after; do
  printf '%-6s median %.3f s over %s runs\n' "$side" "$(sort -n "$work/$side.walls" | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}')" "$runs"
done
if cmp -s "$work/before.out" "$work/after.out"; then echo "same transcript"; else echo "transcripts differ"; fi
