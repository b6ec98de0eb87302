"""Convert a CTranslate2 Whisper model directory (faster-whisper's format) to ONNX.

    python tools/convert_ct2.py CT2_DIR OUT_DIR [--layouts native,community] [--variants fp32,fp16,int8]

OUT_DIR gets the Hugging Face file set (config.json, generation_config.json,
preprocessor_config.json, tokenizer.json) and onnx/ with:
  native:    whisper_encoder{suffix}.onnx, whisper_decoder{suffix}.onnx
  community: encoder_model{suffix}.onnx, decoder_model_merged{suffix}.onnx
where suffix is "" (float32), "_fp16" (float16) or "_quantized" (int8: weights per output channel,
activations per row at run time, as CTranslate2's int8; see whisper_onnx.Graph).
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import onnx

sys.path.insert(0, str(Path(__file__).parent))
from ct2_reader import read_ct2_model  # noqa: E402
from whisper_onnx import Dims, build_decoder_merged, build_decoder_native, build_encoder, dims_from_weights  # noqa: E402

SUFFIX = {"fp32": "", "fp16": "_fp16", "int8": "_quantized"}
DTYPE = {"fp32": np.float32, "fp16": np.float16, "int8": np.float32}  # int8: integer matrix products, float between them


def hf_configs(dims: Dims, ct2_config: dict, tokenizer: dict) -> tuple[dict, dict, dict]:
    special = {t["content"]: t["id"] for t in tokenizer["added_tokens"]}
    multilingual = dims.vocab >= 51865
    langs = {c: i for c, i in special.items() if i in set(ct2_config.get("lang_ids", [])) and len(c) <= 9}
    config = {
        "model_type": "whisper",
        "architectures": ["WhisperForConditionalGeneration"],
        "d_model": dims.d_model,
        "encoder_layers": dims.encoder_layers,
        "decoder_layers": dims.decoder_layers,
        "encoder_attention_heads": dims.n_heads,
        "decoder_attention_heads": dims.n_heads,
        "num_mel_bins": dims.n_mels,
        "vocab_size": dims.vocab,
        "max_source_positions": dims.n_audio_ctx,
        "max_target_positions": dims.n_text_ctx,
        "eos_token_id": special["<|endoftext|>"],
        "bos_token_id": special["<|endoftext|>"],
        "decoder_start_token_id": special["<|startoftranscript|>"],
        "pad_token_id": special["<|endoftext|>"],
        # what Hugging Face runtimes (transformers.js) read to run the onnx-community layout
        "is_encoder_decoder": True,
        "use_cache": True,
        "num_hidden_layers": dims.encoder_layers,
        "encoder_ffn_dim": 4 * dims.d_model,
        "decoder_ffn_dim": 4 * dims.d_model,
        "activation_function": "gelu",
        "scale_embedding": False,
    }
    generation = {
        "alignment_heads": ct2_config.get("alignment_heads", []),
        "begin_suppress_tokens": ct2_config.get("suppress_ids_begin", [220, special["<|endoftext|>"]]),
        "suppress_tokens": ct2_config.get("suppress_ids", []),
        "decoder_start_token_id": special["<|startoftranscript|>"],
        "eos_token_id": special["<|endoftext|>"],
        "pad_token_id": special["<|endoftext|>"],
        "no_timestamps_token_id": special["<|notimestamps|>"],
        "max_initial_timestamp_index": 50,
        "max_length": dims.n_text_ctx,
        "is_multilingual": multilingual,
        "task_to_id": {"transcribe": special["<|transcribe|>"], "translate": special["<|translate|>"]},
        "lang_to_id": langs if multilingual else {},
    }
    preprocessor = {
        "feature_extractor_type": "WhisperFeatureExtractor",
        "feature_size": dims.n_mels,
        "sampling_rate": 16000,
        "hop_length": 160,
        "n_fft": 400,
        "chunk_length": 30,
        "n_samples": 480000,
        "nb_max_frames": 3000,
        "padding_value": 0.0,
        "return_attention_mask": False,
    }
    return config, generation, preprocessor


TOKENIZER_CONFIG = {
    "tokenizer_class": "WhisperTokenizer",
    "model_max_length": 1024,
    "bos_token": "<|endoftext|>",
    "eos_token": "<|endoftext|>",
    "unk_token": "<|endoftext|>",
    "pad_token": "<|endoftext|>",
    "add_prefix_space": False,
    "errors": "replace",
}


def save(model: onnx.ModelProto, path: Path) -> None:
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def convert(ct2_dir: Path, out_dir: Path, layouts: list[str], variants: list[str]) -> None:
    spec, weights = read_ct2_model(ct2_dir / "model.bin")
    if spec != "WhisperSpec":
        raise SystemExit(f"{ct2_dir}: a {spec} model, not Whisper")
    weights = {k: (v.astype(np.float32) if v.dtype in (np.float16,) else v) for k, v in weights.items()}
    dims = dims_from_weights(weights)
    ct2_config = json.loads((ct2_dir / "config.json").read_text())
    tokenizer = json.loads((ct2_dir / "tokenizer.json").read_text())
    config, generation, preprocessor = hf_configs(dims, ct2_config, tokenizer)
    onnx_dir = out_dir / "onnx"
    onnx_dir.mkdir(parents=True, exist_ok=True)
    for name, data in (("config.json", config), ("generation_config.json", generation), ("preprocessor_config.json", preprocessor), ("tokenizer_config.json", TOKENIZER_CONFIG)):
        (out_dir / name).write_text(json.dumps(data, indent=2) + "\n")
    shutil.copyfile(ct2_dir / "tokenizer.json", out_dir / "tokenizer.json")
    heads = [tuple(h) for h in generation["alignment_heads"]]

    builders = {
        "native": [("whisper_encoder", lambda dt, q: build_encoder(weights, dims, dt, cross_kv=True, int8=q)),
                   ("whisper_decoder", lambda dt, q: build_decoder_native(weights, dims, dt, alignment_heads=heads, int8=q))],
        "community": [("encoder_model", lambda dt, q: build_encoder(weights, dims, dt, cross_kv=False, int8=q)),
                      ("decoder_model_merged", lambda dt, q: build_decoder_merged(weights, dims, dt, int8=q))],
    }
    for layout in layouts:
        for base, build in builders[layout]:
            for variant in variants:
                target = onnx_dir / f"{base}{SUFFIX[variant]}.onnx"
                save(build(DTYPE[variant], variant == "int8"), target)
                print(f"wrote {target} ({target.stat().st_size / 1e6:.1f} MB)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("ct2_dir", type=Path)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--layouts", default="native,community")
    parser.add_argument("--variants", default="fp32,fp16,int8")
    args = parser.parse_args()
    convert(args.ct2_dir, args.out_dir, args.layouts.split(","), args.variants.split(","))


if __name__ == "__main__":
    main()
