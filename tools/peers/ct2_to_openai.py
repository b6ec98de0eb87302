"""Convert a CTranslate2 Whisper directory (faster-whisper's format) to an openai-whisper checkpoint.

    python tools/peers/ct2_to_openai.py CT2_DIR OUT.pt

Writes {"dims": ..., "model_state_dict": ...} with torch.save, which whisper.load_model(OUT.pt)
reads; the weights keep CTranslate2's precision (float16, as OpenAI ships them; openai-whisper
casts them to float32 on the CPU). Runs in the openai-whisper environment (torch), see bench/peers.sh.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from ct2_weights import openai_weights  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("ct2_dir", type=Path)
    parser.add_argument("out", type=Path)
    args = parser.parse_args()
    dims, weights = openai_weights(args.ct2_dir)
    state = {name: torch.from_numpy(np.ascontiguousarray(a)) for name, a in weights.items()}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".tmp")
    torch.save({"dims": dims, "model_state_dict": state}, tmp)
    tmp.replace(args.out)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB, {len(state)} tensors)")


if __name__ == "__main__":
    main()
