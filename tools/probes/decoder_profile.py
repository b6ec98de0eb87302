"""Where one decoder step's time goes, by operator, on this CPU.

    $CACHE/venv/bin/python tools/probes/decoder_profile.py [tiny.en|base] [int8|float32] [past]

Runs our native decoder (tools/convert_ct2.py's layout) on one row: one new token behind `past`
cached positions (default 100), over a 1500-frame encoder output, 2 intra-op threads without
spinning (as src/model/runtime.ts sets them), with onnxruntime's profiler on. Inputs are random:
the cost of a step does not depend on their values. Prints the milliseconds per step and the share
of each operator type, and the heaviest nodes. The venv's onnxruntime (Python) is not the one
onnxruntime-node bundles, and the profiler adds its own overhead: read the shares, not the total.
Needs the fixture (npm run models:fixture).
"""
from __future__ import annotations

import collections
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

CACHE = Path(os.environ.get("AUDIODECODE_CACHE", Path.home() / ".cache" / "audiodecode"))
FILES = {"int8": "whisper_decoder_quantized.onnx", "float32": "whisper_decoder.onnx"}
STEPS = 50


def main(model: str = "base", compute: str = "int8", past: str = "100") -> None:
    past_length = int(past)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.enable_profiling = True
    options.profile_file_prefix = str(Path(tempfile.mkdtemp()) / "decoder")
    session = ort.InferenceSession(str(CACHE / "models" / model / "onnx" / FILES[compute]), options, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    capacity = past_length + 32  # a KvStore grows 32 positions at a time
    feeds: dict[str, np.ndarray] = {}
    for given in session.get_inputs():
        if given.name == "input_ids":
            feeds[given.name] = np.array([[1000]], dtype=np.int64)
        elif given.name == "past_length":
            feeds[given.name] = np.array(past_length, dtype=np.int64)
        else:  # caches and cross keys/values (int8 files: int8 with float scales), as the file declares them
            dims = {"batch": 1, "audio_batch": 1, "capacity": capacity, "audio_ctx": 1500}
            shape = [dims.get(d, d) for d in given.shape]
            if given.type == "tensor(int8)":
                feeds[given.name] = rng.integers(-63, 64, shape).astype(np.int8)
            elif "_scale_" in given.name:
                feeds[given.name] = np.full(shape, 0.01, dtype=np.float32)
            else:
                feeds[given.name] = (rng.standard_normal(shape) * 0.5).astype(np.float32)
    for _ in range(5):
        session.run(None, feeds)
    started = time.perf_counter()
    for _ in range(STEPS):
        session.run(None, feeds)
    ms_per_step = (time.perf_counter() - started) / STEPS * 1000
    events = json.load(open(session.end_profiling()))
    by_op: collections.Counter[str] = collections.Counter()
    by_node: collections.Counter[str] = collections.Counter()
    for event in events:
        if event.get("cat") == "Node" and event["name"].endswith("_kernel_time"):
            by_op[event["args"]["op_name"]] += event["dur"]
            by_node[event["name"].removesuffix("_kernel_time")] += event["dur"]
    total = sum(by_op.values())
    runs = STEPS + 5
    print(json.dumps({
        "model": model,
        "compute": compute,
        "past": past_length,
        "onnxruntime": ort.__version__,
        "msPerStep": round(ms_per_step, 2),
        "operators": [{"op": op, "msPerStep": round(us / runs / 1000, 3), "share": round(us / total, 3)} for op, us in by_op.most_common(12)],
        "heaviestNodes": [{"node": node, "msPerStep": round(us / runs / 1000, 3)} for node, us in by_node.most_common(8)],
    }, indent=1))


if __name__ == "__main__":
    main(*sys.argv[1:])
