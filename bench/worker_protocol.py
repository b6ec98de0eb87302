"""The Python peers' side of bench/protocol.ts, written once: after the model is loaded, each
workload once as a warm-up (its text is the one scored), then spec["runs"] timed runs; one JSON
line on stdout with readyAt (cold start is measured by the parent from its spawn), peak RSS and
the results. `transcribe(path) -> (text, audio seconds)`; a workload's files run one after another."""
import json
import resource
import time


def measure(spec, transcribe):
    def run(files):
        parts = [transcribe(f) for f in files]
        return " ".join(t for t, _ in parts), sum(d for _, d in parts)

    ready_at = time.time()
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
