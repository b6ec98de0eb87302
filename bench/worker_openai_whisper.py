"""The openai-whisper peer (OpenAI's reference implementation on PyTorch), measured as
bench/worker_faster_whisper.py measures faster-whisper. argv[1]: an openai-whisper checkpoint
converted from the same CTranslate2 weights (tools/peers/ct2_to_openai.py); argv[2]: a WorkerSpec as JSON
(bench/protocol.ts). stdout: one JSON line.
CPU, float32 only (openai-whisper decodes in fp16 on CUDA alone), torch.set_num_threads(threads);
model.transcribe with its defaults (temperature fallback 0.0..1.0 by 0.2, conditioning on the previous
text), the spec's language, fp16=False, beam_size = spec beam when > 1 (greedy otherwise)."""
import json
import sys

import torch

ckpt, spec_json = sys.argv[1:3]
spec = json.loads(spec_json)
if spec["computeType"] != "float32":
    raise SystemExit(f"openai-whisper runs float32 on the CPU, not {spec['computeType']}")
if spec.get("batched"):
    raise SystemExit("openai-whisper has no batched mode")
torch.set_num_threads(int(spec["threads"]))
torch.set_num_interop_threads(1)

import whisper  # noqa: E402
from whisper.audio import SAMPLE_RATE  # noqa: E402
from worker_protocol import measure  # noqa: E402 (bench/, the script's own directory)

model = whisper.load_model(ckpt, device="cpu")
BEAM = int(spec["beam"])


def transcribe(path: str):
    audio = whisper.load_audio(path)  # ffmpeg, as model.transcribe(path) would
    options = dict(language=spec.get("language"), fp16=False, verbose=None)
    if BEAM > 1:
        options["beam_size"] = BEAM
    with torch.inference_mode():
        result = model.transcribe(audio, **options)
    return result["text"].strip(), len(audio) / SAMPLE_RATE


measure(spec, transcribe)
