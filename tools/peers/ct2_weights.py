"""A CTranslate2 Whisper model.bin as OpenAI Whisper's own parameter names (shared by the peer converters).

CTranslate2 fuses attention projections: self_attention/linear_0 is [query; key; value] and
attention/linear_1 (cross attention) is [key; value], each with one bias where OpenAI's key has
none (CTranslate2 stores zeros there). This undoes the fusion and returns float16/float32 numpy
arrays under the names of openai/whisper's model.py, which whisper.cpp's ggml files use too.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent))
from ct2_reader import read_ct2_model  # noqa: E402


def _linear(out: dict, w: dict, src: str, dst: str, bias: bool = True) -> None:
    out[f"{dst}.weight"] = w[f"{src}/weight"]
    if bias:
        out[f"{dst}.bias"] = w[f"{src}/bias"]


def _split(out: dict, w: dict, src: str, dsts: list[str]) -> None:
    weights = np.split(w[f"{src}/weight"], len(dsts), axis=0)
    biases = np.split(w[f"{src}/bias"], len(dsts), axis=0)
    for dst, weight, bias in zip(dsts, weights, biases):
        out[f"{dst}.weight"] = weight
        if not dst.endswith(".key"):
            out[f"{dst}.bias"] = bias
        elif np.any(bias != 0):
            raise ValueError(f"{src}: a non-zero key bias, which OpenAI's Whisper has no place for")


def _norm(out: dict, w: dict, src: str, dst: str) -> None:
    out[f"{dst}.weight"] = w[f"{src}/gamma"]
    out[f"{dst}.bias"] = w[f"{src}/beta"]


def _count(w: dict, prefix: str) -> int:
    n = 0
    while f"{prefix}/layer_{n}/ffn/linear_0/weight" in w:
        n += 1
    return n


def openai_weights(ct2_dir: Path) -> tuple[dict, dict[str, np.ndarray]]:
    """(dims as openai-whisper's ModelDimensions, {openai name: array}) for a CTranslate2 Whisper dir."""
    spec, w = read_ct2_model(ct2_dir / "model.bin")
    if spec != "WhisperSpec":
        raise SystemExit(f"{ct2_dir}: a {spec} model, not Whisper")
    if int(w["decoder/scale_embeddings"]) or not int(w["decoder/pre_norm"]):
        raise SystemExit(f"{ct2_dir}: not the Whisper layout (scaled embeddings or post-norm)")
    enc_layers, dec_layers = _count(w, "encoder"), _count(w, "decoder")
    d_model = w["encoder/conv1/weight"].shape[0]
    dims = {
        "n_mels": int(w["encoder/conv1/weight"].shape[1]),
        "n_audio_ctx": int(w["encoder/position_encodings/encodings"].shape[0]),
        "n_audio_state": int(d_model),
        "n_audio_head": int(w["encoder/num_heads"]),
        "n_audio_layer": enc_layers,
        "n_vocab": int(w["decoder/embeddings/weight"].shape[0]),
        "n_text_ctx": int(w["decoder/position_encodings/encodings"].shape[0]),
        "n_text_state": int(w["decoder/embeddings/weight"].shape[1]),
        "n_text_head": int(w["decoder/num_heads"]),
        "n_text_layer": dec_layers,
    }
    out: dict[str, np.ndarray] = {}
    _linear(out, w, "encoder/conv1", "encoder.conv1")
    _linear(out, w, "encoder/conv2", "encoder.conv2")
    out["encoder.positional_embedding"] = w["encoder/position_encodings/encodings"]
    for i in range(enc_layers):
        p, q = f"encoder/layer_{i}", f"encoder.blocks.{i}"
        _norm(out, w, f"{p}/self_attention/layer_norm", f"{q}.attn_ln")
        _split(out, w, f"{p}/self_attention/linear_0", [f"{q}.attn.query", f"{q}.attn.key", f"{q}.attn.value"])
        _linear(out, w, f"{p}/self_attention/linear_1", f"{q}.attn.out")
        _norm(out, w, f"{p}/ffn/layer_norm", f"{q}.mlp_ln")
        _linear(out, w, f"{p}/ffn/linear_0", f"{q}.mlp.0")
        _linear(out, w, f"{p}/ffn/linear_1", f"{q}.mlp.2")
    _norm(out, w, "encoder/layer_norm", "encoder.ln_post")
    out["decoder.token_embedding.weight"] = w["decoder/embeddings/weight"]
    out["decoder.positional_embedding"] = w["decoder/position_encodings/encodings"]
    for i in range(dec_layers):
        p, q = f"decoder/layer_{i}", f"decoder.blocks.{i}"
        _norm(out, w, f"{p}/self_attention/layer_norm", f"{q}.attn_ln")
        _split(out, w, f"{p}/self_attention/linear_0", [f"{q}.attn.query", f"{q}.attn.key", f"{q}.attn.value"])
        _linear(out, w, f"{p}/self_attention/linear_1", f"{q}.attn.out")
        _norm(out, w, f"{p}/attention/layer_norm", f"{q}.cross_attn_ln")
        _linear(out, w, f"{p}/attention/linear_0", f"{q}.cross_attn.query")
        _split(out, w, f"{p}/attention/linear_1", [f"{q}.cross_attn.key", f"{q}.cross_attn.value"])
        _linear(out, w, f"{p}/attention/linear_2", f"{q}.cross_attn.out")
        _norm(out, w, f"{p}/ffn/layer_norm", f"{q}.mlp_ln")
        _linear(out, w, f"{p}/ffn/linear_0", f"{q}.mlp.0")
        _linear(out, w, f"{p}/ffn/linear_1", f"{q}.mlp.2")
    _norm(out, w, "decoder/layer_norm", "decoder.ln")
    proj = w.get("decoder/projection/weight")
    if proj is not None and not np.array_equal(proj, w["decoder/embeddings/weight"]):
        raise SystemExit(f"{ct2_dir}: output projection is not tied to the token embedding")
    return dims, out
