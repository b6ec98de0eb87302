"""The faster-whisper peer, measured the same way as bench/worker-audiodecode.ts.
argv[1]: ct2_dir; argv[2]: a WorkerSpec as JSON (bench/protocol.ts). stdout: one JSON line.
Sequential: WhisperModel.transcribe without VAD (its default, vad_filter=False). Batched:
BatchedInferencePipeline with its own VAD defaults and the spec's batch size.
Concurrent workloads run one file after another: one WhisperModel serves one call at a time."""
import json
import sys
import time

from faster_whisper import BatchedInferencePipeline, WhisperModel  # noqa: E402
from worker_protocol import measure  # noqa: E402 (bench/, the script's own directory)

ct2_dir, spec_json = sys.argv[1:3]
spec = json.loads(spec_json)
model = WhisperModel(ct2_dir, device="cpu", compute_type=spec["computeType"], cpu_threads=int(spec["threads"]))
batched = BatchedInferencePipeline(model) if spec.get("batched") else None
TEMPERATURES = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]


def transcribe(path: str):
    common = dict(beam_size=int(spec["beam"]), temperature=TEMPERATURES, language=spec.get("language"))
    if batched:
        segments, info = batched.transcribe(path, batch_size=int(spec.get("batchSize") or 8), **common)
    else:
        segments, info = model.transcribe(path, vad_filter=False, **common)
    return "".join(s.text for s in segments).strip(), info.duration


measure(spec, transcribe)
