"""The whisper.cpp peer (through pywhispercpp's bindings), measured as bench/worker_faster_whisper.py
measures faster-whisper. argv[1]: a directory of ggml files converted from the same CTranslate2 weights
(tools/peers/ct2_to_ggml.py: MODEL-f16.bin, MODEL-q8_0.bin); argv[2]: a WorkerSpec as JSON (bench/protocol.ts).
stdout: one JSON line.
computeType float16 loads the f16 file, int8 the q8_0 one. whisper.cpp's default decoding otherwise
(temperature fallback by 0.2 steps, best_of 5 when sampling, its default context params), with the
spec's threads (n_threads), language, and beam search (beam_size) when beam > 1; no_context=False, so it
conditions on the previous text as the other engines do by default (pywhispercpp's default is True)."""
import json
import os
import sys

from pywhispercpp.model import Model
from worker_protocol import measure  # noqa: E402 (bench/, the script's own directory)

ggml_dir, spec_json = sys.argv[1:3]
spec = json.loads(spec_json)
FILES = {"float16": "f16", "int8": "q8_0"}
if spec["computeType"] not in FILES:
    raise SystemExit(f"whisper.cpp worker: computeType {spec['computeType']} is not one of {sorted(FILES)}")
if spec.get("batched"):
    raise SystemExit("whisper.cpp has no batched mode")
BEAM = int(spec["beam"])
model = Model(
    os.path.join(ggml_dir, f"{spec['model']}-{FILES[spec['computeType']]}.bin"),
    params_sampling_strategy=1 if BEAM > 1 else 0,
    redirect_whispercpp_logs_to=None,
    n_threads=int(spec["threads"]),
    language=spec.get("language") or "",
    print_progress=False,
    print_realtime=False,
    no_context=False,
    **({"beam_search": {"beam_size": BEAM, "patience": -1.0}} if BEAM > 1 else {}),
)
SAMPLE_RATE = 16000


def transcribe(path: str):
    audio = Model._load_audio(path)  # ffmpeg (or the wav read directly), as model.transcribe(path) would
    segments = model.transcribe(audio)
    # segments joined by a space: whisper.cpp starts some without one ("you" + "ask" would read "youask")
    return " ".join(s.text.strip() for s in segments).strip(), audio.size / SAMPLE_RATE


measure(spec, transcribe)
