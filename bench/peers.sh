#!/usr/bin/env bash
# bench/peers.sh [MODEL ...]: the benchmark's openai-whisper and whisper.cpp peers, built once into the cache
# (run by bench/run.ts when a job needs them; not by CI or npm test):
#   $CACHE/peers/openai-whisper  venv from tools/peers/openai-whisper.txt (openai-whisper 20250625, torch 2.9.1)
#   $CACHE/peers/whisper.cpp     venv from tools/peers/whisper-cpp.txt (pywhispercpp 1.5.1 = whisper.cpp 1.8.5)
#   $CACHE/peers/openai/NAME.pt  tools/peers/ct2_to_openai.py from $CACHE/ct2/faster-whisper-NAME
#   $CACHE/peers/ggml/NAME-{f16,q8_0}.bin  tools/peers/ct2_to_ggml.py from the same directory
# The same CTranslate2 weights as our ONNX files and faster-whisper (npm run models:fixture builds them).
# Re-running is a no-op while the requirements, converters and this script are unchanged (a stamp per output).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cache=${AUDIODECODE_CACHE:-$HOME/.cache/audiodecode}
peers=$cache/peers
stamp=$(cat "$root"/tools/peers/* "$root"/tools/ct2_reader.py "$0" | sha256sum | cut -c1-16)
mkdir -p "$peers"

ensure_venv() { # NAME REQUIREMENTS
  local venv=$peers/$1
  [ "$(cat "$venv/.stamp" 2>/dev/null)" = "$stamp" ] && return
  echo "peers: $venv from $2" >&2
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$2"
  echo "$stamp" > "$venv/.stamp"
}

built() { [ -f "$1" ] && [ "$(cat "$1.stamp" 2>/dev/null)" = "$stamp" ]; }

ensure_venv openai-whisper "$root/tools/peers/openai-whisper.txt"
ensure_venv whisper.cpp "$root/tools/peers/whisper-cpp.txt"
mel_filters=$(ls "$peers"/openai-whisper/lib/python3*/site-packages/whisper/assets/mel_filters.npz)

models=("$@")
[ ${#models[@]} -gt 0 ] || models=(tiny.en base)
for model in "${models[@]}"; do
  ct2=$cache/ct2/faster-whisper-$model
  [ -f "$ct2/model.bin" ] || { echo "peers: $ct2 is missing: run npm run models:fixture $model" >&2; exit 1; }
  out=$peers/openai/$model.pt
  if ! built "$out"; then
    "$peers/openai-whisper/bin/python" "$root/tools/peers/ct2_to_openai.py" "$ct2" "$out" >&2
    echo "$stamp" > "$out.stamp"
  fi
  for type in f16 q8_0; do
    out=$peers/ggml/$model-$type.bin
    if ! built "$out"; then
      "$peers/whisper.cpp/bin/python" "$root/tools/peers/ct2_to_ggml.py" "$ct2" "$out" --mel-filters "$mel_filters" --type "$type" >&2
      echo "$stamp" > "$out.stamp"
    fi
  done
done
