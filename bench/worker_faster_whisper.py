"""The faster-whisper peer, measured the same way as bench/worker-audiodecode.ts.
argv: ct2_dir compute_type threads runs clip...   stdout: one JSON line"""
import json
import resource
import sys
import time

from faster_whisper import WhisperModel  # noqa: E402

ct2_dir, compute_type, threads, runs, *clips = sys.argv[1:]
model = WhisperModel(ct2_dir, device="cpu", compute_type=compute_type, cpu_threads=int(threads))


def transcribe(clip: str):
    segments, info = model.transcribe(clip, beam_size=1, temperature=[0.0, 0.2, 0.4, 0.6, 0.8, 1.0], vad_filter=False)
    return "".join(s.text for s in segments).strip(), info.duration


ready_at = time.time()  # the parent measures cold start from its spawn time
results = []
for clip in clips:
    text, duration = transcribe(clip)
    walls = []
    for _ in range(int(runs)):
        t = time.perf_counter()
        transcribe(clip)
        walls.append(time.perf_counter() - t)
    results.append({"clip": clip, "audioSeconds": duration, "walls": walls, "text": text})
print(json.dumps({"readyAt": ready_at, "peakRssMb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "results": results}))
