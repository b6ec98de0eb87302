"""Why int8 transcripts differ by CPU, measured on this one.

    $CACHE/venv/bin/python tools/probes/int8_kernels.py [tiny.en|base]

1. Does onnxruntime's u8 x s8 integer kernel (MLAS, the one our int8 graphs run) give exact sums
   here? On x86 CPUs without VNNI (AVX2 only: some AMD EPYC) it adds pairs of u8*s8 products in
   int16 with saturation (vpmaddubsw), so some outputs are off; with VNNI (vpdpbusd) they are exact.
2. How far each engine's int8 encoder strays from float32 on four real 30 s windows, ours beside
   CTranslate2's (faster-whisper) on the same weights and the same CPU: the parity that matters is
   the same error level, since CTranslate2's own int8 kernels are exact or not by CPU as well.
Needs the fixture (npm run models:fixture) and ../shared/audio. Prints one JSON object.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import ctranslate2
import numpy as np
import onnxruntime as ort
from faster_whisper.audio import decode_audio
from faster_whisper.feature_extractor import FeatureExtractor
from onnx import TensorProto, helper, numpy_helper

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
from verify_conversion import window_features  # noqa: E402  (the fixture's own 30 s window features)

CACHE = Path(os.environ.get("AUDIODECODE_CACHE", Path.home() / ".cache" / "audiodecode"))
AUDIO = Path(os.environ.get("AUDIODECODE_SHARED", ROOT.parent / "shared")) / "audio"
WINDOWS = [("jfk.wav", 0), ("gettysburg.wav", 0), ("hifitts/longform.flac", 60), ("hifitts/longform.flac", 150)]


def u8s8_kernel_errors() -> dict:
    """Symmetric per-row activations as stored by our graphs (uint8 around 128) times int8 weights."""
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((64, 512)), rng.standard_normal((512, 512))
    qa = (np.round(x / (np.abs(x).max(1, keepdims=True) / 127)) + 128).astype(np.uint8)
    qb = np.round(w / (np.abs(w).max(0) / 127)).astype(np.int8)
    exact = (qa.astype(np.int64) - 128) @ qb.astype(np.int64)
    info = helper.make_tensor_value_info
    node = helper.make_node("MatMulInteger", ["a", "b", "za"], ["y"])
    graph = helper.make_graph([node], "probe", [info("a", TensorProto.UINT8, [None, None])], [info("y", TensorProto.INT32, None)],
                              [numpy_helper.from_array(qb, "b"), numpy_helper.from_array(np.array(128, np.uint8), "za")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)])
    model.ir_version = 10
    got = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"a": qa})[0]
    return {"outputsWrong": float(np.mean(got != exact)), "maxAbsError": int(np.abs(got - exact).max()), "typicalMagnitude": float(np.abs(exact).mean())}


def encoder_errors(name: str) -> dict:
    ct2_dir = CACHE / "ct2" / f"faster-whisper-{name}"
    onnx_dir = CACHE / "models" / name / "onnx"
    extractor = FeatureExtractor(feature_size=80)
    windows = []
    for clip, offset in WINDOWS:
        audio = decode_audio(str(AUDIO / clip))[offset * 16000:(offset + 30) * 16000]
        windows.append(window_features(extractor, audio))

    def ct2(compute_type: str) -> list[np.ndarray]:
        model = ctranslate2.models.Whisper(str(ct2_dir), device="cpu", compute_type=compute_type, intra_threads=2)
        return [np.array(model.encode(ctranslate2.StorageView.from_array(f[None]), to_cpu=True))[0] for f in windows]

    def ours(file: str) -> list[np.ndarray]:
        session = ort.InferenceSession(str(onnx_dir / file), providers=["CPUExecutionProvider"])
        return [session.run(["last_hidden_state"], {"input_features": f[None]})[0][0] for f in windows]

    reference = ct2("float32")
    relative = lambda got: [round(float(np.linalg.norm(g - r) / np.linalg.norm(r)), 6) for g, r in zip(got, reference)]  # noqa: E731
    return {"windows": [f"{c}@{o}s" for c, o in WINDOWS], "oursFloat32": relative(ours("encoder_model.onnx")),
            "oursInt8": relative(ours("encoder_model_quantized.onnx")), "ctranslate2Int8": relative(ct2("int8"))}


if __name__ == "__main__":
    model = sys.argv[1] if len(sys.argv) > 1 else "base"
    flags = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    vnni = any(f in flags.split() for f in ("avx512_vnni", "avx_vnni"))
    print(json.dumps({"model": model, "cpuHasVnni": vnni, "u8s8Kernel": u8s8_kernel_errors(), "encoderRelativeError": encoder_errors(model)}, indent=1))
