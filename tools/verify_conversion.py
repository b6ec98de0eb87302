"""Prove a conversion numerically against CTranslate2 itself, and write reference data.

    python tools/verify_conversion.py CT2_DIR ONNX_DIR OUT_DIR [--audio-dir DIR --mel-filters FILE]

- encoder parity: our ONNX encoder (fp32 and int8) against CTranslate2's own float32
  `encode` on the same log-mel features; fails above tolerance, or where our int8 strays
  from float32 further than CTranslate2's own int8 does.
- transcripts: faster-whisper's greedy transcript of each reference clip on the same
  weights, for the TypeScript tests to compare the engine's output word for word; and its
  long-form segments (seek + condition on previous text) of gettysburg.wav, and its word
  timestamps of jfk.wav.
- features: faster-whisper's (numpy) log-mel features of jfk.wav at 80 and 128 bins,
  and the mel filterbanks from openai/whisper's mel_filters.npz, as raw float32 files,
  the independent reference for the engine's feature extractor.
Writes OUT_DIR/parity.json and the .f32 files beside it.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import ctranslate2
import numpy as np
import onnxruntime as ort
from faster_whisper import WhisperModel, decode_audio
from faster_whisper.feature_extractor import FeatureExtractor

# CTranslate2 and onnxruntime order float sums differently, and each CPU's kernels order them their
# own way: base's largest difference is 1.6e-3 here (AMD EPYC), its mean 3e-6
FP32_TOLERANCE = 5e-3
FP32_MEAN_TOLERANCE = 1e-4
# our int8 encoder may stray from the float32 result at most this much more than CTranslate2's own
# int8 does (mean abs difference). Per-tensor activation scales (onnxruntime's quantize_dynamic)
# strayed 4.6x as far at base; the per-row scheme of whisper_onnx.Graph is within a few percent.
INT8_ERROR_RATIO = 1.25
CLIPS = ("jfk.wav", "jfk.mp3")
LONGFORM_CLIP = "gettysburg.wav"  # 95 s: three windows of seeking, each conditioned on the last


def window_features(extractor: FeatureExtractor, audio: np.ndarray) -> np.ndarray:
    feats = extractor(audio, padding=160 * 3000)  # as faster-whisper's transcribe pads
    return np.ascontiguousarray(feats[:, :3000], dtype=np.float32)


def synthetic_audio(seconds: float = 30.0) -> np.ndarray:
    """Speech-like test signal for machines without ../shared: harmonics of a gliding pitch, in
    bursts, over noise (fixed seed): enough to exercise every encoder layer for the parity check."""
    t = np.arange(int(16000 * seconds)) / 16000
    pitch = 120 + 40 * np.sin(2 * np.pi * 0.3 * t)
    phase = 2 * np.pi * np.cumsum(pitch) / 16000
    voiced = sum(np.sin(k * phase) / k for k in range(1, 12)) * (np.sin(2 * np.pi * 2.5 * t) > 0)
    noise = np.random.default_rng(0).normal(0, 0.02, t.size)
    return (0.1 * voiced + noise).astype(np.float32)


def encoder_parity(ct2_dir: Path, onnx_dir: Path, features: np.ndarray, report: dict) -> None:
    ct2 = ctranslate2.models.Whisper(str(ct2_dir), device="cpu", compute_type="float32")
    expected = np.array(ct2.encode(ctranslate2.StorageView.from_array(features), to_cpu=True))
    ct2_int8 = ctranslate2.models.Whisper(str(ct2_dir), device="cpu", compute_type="int8")
    ct2_int8_error = float(np.abs(np.array(ct2_int8.encode(ctranslate2.StorageView.from_array(features), to_cpu=True)) - expected).mean())
    report["encoder"]["ctranslate2_int8"] = {"meanAbsDiff": ct2_int8_error}
    print(f"ctranslate2 int8: mean |int8 - float32| = {ct2_int8_error:.2e}", flush=True)
    for name, output in (("encoder_model", "last_hidden_state"), ("encoder_model_quantized", "last_hidden_state")):
        path = onnx_dir / "onnx" / f"{name}.onnx"
        if not path.exists():
            continue
        got = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run([output], {"input_features": features})[0]
        diff = float(np.abs(got - expected).max())
        mean = float(np.abs(got - expected).mean())
        report["encoder"][name] = {"maxAbsDiff": diff, "meanAbsDiff": mean}
        print(f"{name}: |onnx - ctranslate2 float32| max {diff:.2e}, mean {mean:.2e}", flush=True)
        if name == "encoder_model" and (diff > FP32_TOLERANCE or mean > FP32_MEAN_TOLERANCE):
            raise SystemExit(f"encoder parity failed: max {diff} (limit {FP32_TOLERANCE}), mean {mean} (limit {FP32_MEAN_TOLERANCE})")
        if name.endswith("_quantized") and mean > INT8_ERROR_RATIO * ct2_int8_error:
            raise SystemExit(f"int8 encoder strays {mean:.3e} from float32, more than {INT8_ERROR_RATIO}x CTranslate2's int8 ({ct2_int8_error:.3e})")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("ct2_dir", type=Path)
    p.add_argument("onnx_dir", type=Path)
    p.add_argument("out_dir", type=Path)
    p.add_argument("--audio-dir", type=Path, help="../shared/audio: reference transcripts and features for the tests; without it, encoder parity on a synthetic signal only")
    p.add_argument("--mel-filters", type=Path)
    args = p.parse_args()
    args.out_dir.mkdir(parents=True, exist_ok=True)
    report: dict = {"encoder": {}, "transcripts": {}, "features": {}}
    if args.audio_dir is None:
        encoder_parity(args.ct2_dir, args.onnx_dir, window_features(FeatureExtractor(feature_size=80), synthetic_audio())[None], report)
        (args.out_dir / "parity.json").write_text(json.dumps(report, indent=2) + "\n")
        return

    audio = decode_audio(str(args.audio_dir / "jfk.wav"), sampling_rate=16000)
    for n_mels in (80, 128):
        feats = window_features(FeatureExtractor(feature_size=n_mels), audio)
        feats.tofile(args.out_dir / f"jfk_mel{n_mels}.f32")
        report["features"][f"jfk_mel{n_mels}"] = list(feats.shape)
    filters = np.load(args.mel_filters)
    for key in ("mel_80", "mel_128"):
        filters[key].astype(np.float32).tofile(args.out_dir / f"{key}.f32")
        report["features"][key] = list(filters[key].shape)

    encoder_parity(args.ct2_dir, args.onnx_dir, np.fromfile(args.out_dir / "jfk_mel80.f32", dtype=np.float32).reshape(1, 80, 3000), report)

    model = WhisperModel(str(args.ct2_dir), device="cpu", compute_type="float32", cpu_threads=2)
    for clip in CLIPS:
        segments, _ = model.transcribe(str(args.audio_dir / clip), beam_size=1, temperature=0.0, condition_on_previous_text=False, vad_filter=False)
        text = "".join(s.text for s in segments).strip()
        report["transcripts"][clip] = text
        print(f"faster-whisper {clip}: {text}", flush=True)
    # word timestamps (CTranslate2's alignment of the same heads) on the first clip
    segments, _ = model.transcribe(str(args.audio_dir / CLIPS[0]), beam_size=1, temperature=0.0, condition_on_previous_text=False, vad_filter=False, word_timestamps=True)
    report["words"] = {"clip": CLIPS[0], "words": [{"word": w.word, "start": w.start, "end": w.end} for s in segments for w in s.words]}
    # long-form: OpenAI's seek with conditioning on previous text (faster-whisper's defaults), greedy
    segments, _ = model.transcribe(str(args.audio_dir / LONGFORM_CLIP), beam_size=1, temperature=0.0, vad_filter=False)
    report["longform"] = {"clip": LONGFORM_CLIP, "segments": [{"start": s.start, "end": s.end, "text": s.text} for s in segments]}
    print(f"faster-whisper {LONGFORM_CLIP}: {len(report['longform']['segments'])} segments", flush=True)
    # beam 5 (CTranslate2's beam search, faster-whisper's defaults otherwise) on the same clip
    segments, _ = model.transcribe(str(args.audio_dir / LONGFORM_CLIP), beam_size=5, language="en", vad_filter=False)
    report["beam"] = {"clip": LONGFORM_CLIP, "beamSize": 5, "text": " ".join(s.text.strip() for s in segments)}
    print(f"faster-whisper {LONGFORM_CLIP}, beam 5: {report['beam']['text'][:80]}...", flush=True)
    (args.out_dir / "parity.json").write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
