"""Convert a CTranslate2 Whisper directory (faster-whisper's format) to a whisper.cpp ggml file.

    python tools/peers/ct2_to_ggml.py CT2_DIR OUT.bin --mel-filters mel_filters.npz [--type f16|q8_0|f32]

The legacy ggml Whisper layout that whisper.cpp's loader reads (learned from whisper.cpp's
models/convert-pt-to-ggml.py and src/whisper.cpp, written anew here), all little-endian:
  magic 0x67676d6c; 11 int32 hparams (n_vocab, n_audio_ctx, n_audio_state, n_audio_head,
  n_audio_layer, n_text_ctx, n_text_state, n_text_head, n_text_layer, n_mels, ftype);
  mel filters (int32 n_mel, int32 n_fft, float32 [n_mel, n_fft]); the byte-level BPE words
  (int32 count, then per word int32 length + bytes; whisper.cpp adds the special tokens itself);
  then per tensor: int32 n_dims, int32 name length, int32 type (0 f32, 1 f16, 8 q8_0), n_dims
  int32 sizes innermost first, the name, the data (row-major, innermost dimension contiguous).
Which tensor gets which type follows whisper.cpp's own files: matrices in the file's type
(f16, or q8_0 as its `quantize` tool writes them), convolution kernels f16, vectors, convolution
biases ([n, 1]) and positional embeddings f32. q8_0: blocks of 32 along a row, one float16 scale
d = max|x| / 127 and 32 int8 round(x / d) (rounded half away from zero, as ggml's reference).
Only numpy is needed (it runs in the whisper.cpp environment, see bench/peers.sh).
"""
from __future__ import annotations

import argparse
import json
import struct
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from ct2_weights import openai_weights  # noqa: E402

GGML_F32, GGML_F16, GGML_Q8_0 = 0, 1, 8
# the file's ftype (whisper.cpp's ggml_ftype; quantized ones carry GGML_QNT_VERSION 2 * 1000)
FTYPE = {"f32": 0, "f16": 1, "q8_0": 2000 + 7}
KEEP_F32 = {"encoder.conv1.bias", "encoder.conv2.bias", "encoder.positional_embedding", "decoder.positional_embedding"}


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2's byte-level alphabet (every byte as a printable character), as tokenizer.json spells tokens."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


def vocab_words(ct2_dir: Path, multilingual: bool) -> list[bytes]:
    """The BPE words as raw bytes, in id order, up to the first special token (<|endoftext|>)."""
    tokenizer = json.loads((ct2_dir / "tokenizer.json").read_text())
    eot = next(t["id"] for t in tokenizer["added_tokens"] if t["content"] == "<|endoftext|>")
    if eot != (50257 if multilingual else 50256):
        raise SystemExit(f"{ct2_dir}: <|endoftext|> is {eot}, not where whisper.cpp puts it")
    decoder = {c: b for b, c in _bytes_to_unicode().items()}
    by_id = {i: tok for tok, i in tokenizer["model"]["vocab"].items()}
    return [bytes(decoder[c] for c in by_id[i]) for i in range(eot)]


def quantize_q8_0(a: np.ndarray) -> bytes:
    rows = a.astype(np.float32).reshape(-1, 32)
    amax = np.abs(rows).max(axis=1, keepdims=True)
    d = amax / 127.0
    inv = np.divide(1.0, d, out=np.zeros_like(d), where=d != 0)
    x = rows * inv
    q = (np.sign(x) * np.floor(np.abs(x) + 0.5)).astype(np.int8)
    blocks = np.empty(rows.shape[0], dtype=[("d", "<f2"), ("qs", "i1", 32)])
    blocks["d"] = d[:, 0].astype(np.float16)
    blocks["qs"] = q
    return blocks.tobytes()


def tensor_type(name: str, data: np.ndarray, kind: str) -> int:
    if data.ndim < 2 or name in KEEP_F32 or kind == "f32":
        return GGML_F32
    if data.ndim == 3:  # convolution kernels: whisper.cpp holds them in f16 for f16 and quantized files
        return GGML_F16
    return GGML_Q8_0 if kind == "q8_0" else GGML_F16


def convert(ct2_dir: Path, out: Path, mel_filters: Path, kind: str) -> None:
    dims, weights = openai_weights(ct2_dir)
    filters = np.load(mel_filters)[f"mel_{dims['n_mels']}"].astype(np.float32)
    words = vocab_words(ct2_dir, multilingual=dims["n_vocab"] >= 51865)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    with open(tmp, "wb") as f:
        f.write(struct.pack("<I", 0x67676D6C))
        for key in ("n_vocab", "n_audio_ctx", "n_audio_state", "n_audio_head", "n_audio_layer", "n_text_ctx", "n_text_state", "n_text_head", "n_text_layer", "n_mels"):
            f.write(struct.pack("<i", dims[key]))
        f.write(struct.pack("<i", FTYPE[kind]))
        f.write(struct.pack("<ii", *filters.shape))
        f.write(filters.astype("<f4").tobytes())
        f.write(struct.pack("<i", len(words)))
        for word in words:
            f.write(struct.pack("<i", len(word)) + word)
        for name, data in weights.items():
            if name in ("encoder.conv1.bias", "encoder.conv2.bias"):
                data = data.reshape(-1, 1)
            ttype = tensor_type(name, data, kind)
            encoded = name.encode()
            f.write(struct.pack("<iii", data.ndim, len(encoded), ttype))
            f.write(struct.pack(f"<{data.ndim}i", *reversed(data.shape)))
            f.write(encoded)
            if ttype == GGML_Q8_0:
                f.write(quantize_q8_0(data))
            else:
                f.write(np.ascontiguousarray(data, dtype="<f4" if ttype == GGML_F32 else "<f2").tobytes())
    tmp.replace(out)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB, {kind}, {len(weights)} tensors)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("ct2_dir", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--mel-filters", type=Path, required=True, help="openai/whisper's mel_filters.npz (mel_80, mel_128)")
    parser.add_argument("--type", choices=sorted(FTYPE), default="f16")
    args = parser.parse_args()
    convert(args.ct2_dir, args.out, args.mel_filters, args.type)


if __name__ == "__main__":
    main()
