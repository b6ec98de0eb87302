"""How far a model's int8 files stray from its float32 ones, token by token, on real speech.

    $CACHE/venv/bin/python tools/probes/int8_fidelity.py REFERENCE_DIR CANDIDATE_DIR [CANDIDATE_DIR ...]

REFERENCE_DIR holds float32 native files (onnx/whisper_{encoder,decoder}.onnx); each CANDIDATE_DIR its
int8 ones (onnx/whisper_{encoder,decoder}_quantized.onnx), e.g. the fixture's model and a variant
converted into /tmp by another tools/whisper_onnx.py. Every clip of ../shared/audio/hifitts is
decoded greedily (no timestamps, English) by the float32 files; each candidate is then forced
along that same token sequence and its next-token distribution compared with float32's at every
step: how often its top token differs, and the mean KL divergence (float32 || int8). WER on one
clip moves by whole words when one rounding tips a close call; these two figures move smoothly, so
two int8 schemes can be told apart on 80 clips. Features are faster-whisper's (the fixture's venv),
the same for every file set. 1 intra-op thread.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
from faster_whisper.audio import decode_audio
from faster_whisper.feature_extractor import FeatureExtractor

SHARED = Path(__file__).resolve().parents[3] / "shared" / "audio" / "hifitts"
MAX_TOKENS = 100


class Files:
    def __init__(self, model_dir: Path, suffix: str):
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        self.encoder = ort.InferenceSession(str(model_dir / "onnx" / f"whisper_encoder{suffix}.onnx"), options)
        self.decoder = ort.InferenceSession(str(model_dir / "onnx" / f"whisper_decoder{suffix}.onnx"), options)
        self.cross_names = [i.name for i in self.decoder.get_inputs() if i.name.startswith("cross_")]
        past = next(i for i in self.decoder.get_inputs() if i.name == "past_k_0")
        self.heads, self.head_dim = past.shape[1], past.shape[3]
        self.layers = sum(1 for i in self.decoder.get_inputs() if i.name.startswith("past_k_"))

    def encode(self, features: np.ndarray) -> dict[str, np.ndarray]:
        outputs = self.encoder.run(None, {"input_features": features})
        named = dict(zip([o.name for o in self.encoder.get_outputs()], outputs))
        return {name: named[name] for name in self.cross_names}

    def log_probs_along(self, cross: dict[str, np.ndarray], prompt: list[int], forced: list[int] | None):
        """Greedy from `prompt` (forced None) or along `forced`: (tokens, log-probabilities per step)."""
        capacity = len(prompt) + MAX_TOKENS + 1
        cache = {f"past_{kind}_{i}": np.zeros((1, self.heads, capacity, self.head_dim), np.float32) for i in range(self.layers) for kind in "kv"}
        tokens, steps, feed, length = [], [], list(prompt), 0
        while len(tokens) < (len(forced) if forced is not None else MAX_TOKENS):
            inputs = {"input_ids": np.array([feed], np.int64), "past_length": np.array(length, np.int64), **cache, **cross}
            logits, lse, *new = self.decoder.run(["logits", "logsumexp"] + [f"new_{kind}_{i}" for i in range(self.layers) for kind in "kv"], inputs)
            for j, (i, kind) in enumerate((i, kind) for i in range(self.layers) for kind in "kv"):
                cache[f"past_{kind}_{i}"][0, :, length:length + len(feed)] = new[j][0].reshape(len(feed), self.heads, self.head_dim).transpose(1, 0, 2)
            length += len(feed)
            log_probs = logits[0] - lse[0]
            steps.append(log_probs)
            token = forced[len(tokens)] if forced is not None else int(np.argmax(log_probs))
            tokens.append(token)
            if forced is None and token == EOT:
                break
            feed = [token]
        return tokens, steps


def main() -> None:
    reference_dir, *candidate_dirs = (Path(a) for a in sys.argv[1:])
    global EOT
    generation = json.loads((reference_dir / "generation_config.json").read_text())
    EOT = generation["eos_token_id"]
    prompt = [generation["decoder_start_token_id"]]
    if generation.get("is_multilingual"):  # English, transcribe
        prompt += [generation["lang_to_id"]["<|en|>"], generation["task_to_id"]["transcribe"]]
    prompt.append(generation["no_timestamps_token_id"])
    reference = Files(reference_dir, "")
    candidates = [Files(d, "_quantized") for d in candidate_dirs]
    extractor = FeatureExtractor(feature_size=reference.encoder.get_inputs()[0].shape[1] or 80)
    manifest = json.loads((SHARED / "manifest.json").read_text())
    flips = [0] * len(candidates)
    kl = [0.0] * len(candidates)
    steps = 0
    for entry in manifest:
        audio = decode_audio(str(SHARED / entry["audio"]))
        features = extractor(audio)[:, :3000]
        features = np.pad(features, ((0, 0), (0, 3000 - features.shape[1])))[None].astype(np.float32)
        tokens, ref_steps = reference.log_probs_along(reference.encode(features), prompt, None)
        steps += len(tokens)
        for c, files in enumerate(candidates):
            _, cand_steps = files.log_probs_along(files.encode(features), prompt, tokens)
            for p, q in zip(ref_steps, cand_steps):
                flips[c] += int(np.argmax(p) != np.argmax(q))
                kl[c] += float(np.sum(np.exp(p) * (p - q)))
    print(f"{len(manifest)} clips, {steps} forced steps (float32 greedy, no timestamps) from {reference_dir}")
    for c, d in enumerate(candidate_dirs):
        print(f"{d}: top token differs at {flips[c]} steps ({100 * flips[c] / steps:.2f}%), mean KL {kl[c] / steps:.5f} nats")


if __name__ == "__main__":
    main()
