"""Check a converted peer model against faster-whisper on the same CTranslate2 weights.

    PEER_PYTHON tools/peers/verify.py openai-whisper CACHE/peers/openai/NAME.pt  PARITY_JSON AUDIO_DIR
    PEER_PYTHON tools/peers/verify.py whisper.cpp    CACHE/peers/ggml/NAME-f16.bin PARITY_JSON AUDIO_DIR

PARITY_JSON: $CACHE/reference/NAME/parity.json (tools/verify_conversion.py), whose `transcripts` are
faster-whisper's float32 greedy transcripts (temperature 0, no conditioning, no VAD). The peer decodes
the same clips the same way (CPU, float32 for openai-whisper, greedy, temperature 0 without fallback,
language en) and prints each pair; exit 1 when a transcript differs.
"""
import json
import sys
from pathlib import Path

engine, model_path, parity_json, audio_dir = sys.argv[1:5]
expected = json.loads(Path(parity_json).read_text())["transcripts"]

if engine == "openai-whisper":
    import torch
    import whisper

    torch.set_num_threads(2)
    model = whisper.load_model(model_path, device="cpu")

    def transcribe(path: str) -> str:
        result = model.transcribe(path, language="en", temperature=0.0, beam_size=None, fp16=False, condition_on_previous_text=False)
        return result["text"].strip()
elif engine == "whisper.cpp":
    from pywhispercpp.model import Model

    model = Model(model_path, redirect_whispercpp_logs_to=None, n_threads=2, language="en", print_progress=False, temperature=0.0, temperature_inc=0.0, no_context=True)

    def transcribe(path: str) -> str:
        return "".join(s.text for s in model.transcribe(Model._load_audio(path))).strip()
else:
    raise SystemExit(f"unknown engine {engine}")

failed = 0
for clip, want in expected.items():
    got = transcribe(str(Path(audio_dir) / clip))
    same = got == want
    failed += not same
    print(f"{engine} {Path(model_path).name} {clip}: {'equal' if same else 'DIFFERENT'}\n  peer:           {got}\n  faster-whisper: {want}", flush=True)
sys.exit(1 if failed else 0)
