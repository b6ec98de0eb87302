"""The faster-whisper peer, measured the same way as bench/worker-audiodecode.ts.
argv[1]: ct2_dir; argv[2]: a WorkerSpec as JSON (bench/protocol.ts). stdout: one JSON line.
Sequential: WhisperModel.transcribe without VAD (its default, vad_filter=False). Batched:
BatchedInferencePipeline with its own VAD defaults and the spec's batch size.
Concurrent workloads run one file after another: one WhisperModel serves one call at a time."""
import json
import resource
import sys
import time

from faster_whisper import BatchedInferencePipeline, WhisperModel  # noqa: E402

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


def run(files):
    parts = [transcribe(f) for f in files]
    return " ".join(t for t, _ in parts), sum(d for _, d in parts)


ready_at = time.time()  # the parent measures cold start from its spawn time
results = []
for workload in spec["workloads"]:
    text, duration = run(workload["files"])
    walls = []
    for _ in range(int(spec["runs"])):
        t = time.perf_counter()
        run(workload["files"])
        walls.append(time.perf_counter() - t)
    results.append({"name": workload["name"], "audioSeconds": duration, "walls": walls, "text": text})
print(json.dumps({"readyAt": ready_at, "peakRssMb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "results": results}))
