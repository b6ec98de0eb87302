"""Read a CTranslate2 model.bin (binary format version 6) into numpy arrays.

Written by hand because CTranslate2 exposes no public API to read weights back; the
format is a flat list of named, typed tensors followed by aliases (see CTranslate2's
python/ctranslate2/specs/model_spec.py, `_serialize`).
"""
from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

# dtype ids as written by CTranslate2 (ctranslate2/types.h DataType order)
_DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16}
_BFLOAT16 = 5


def _read_string(f) -> str:
    (n,) = struct.unpack("<H", f.read(2))
    return f.read(n)[:-1].decode("utf-8")


def read_ct2_model(path: str | Path) -> tuple[str, dict[str, np.ndarray]]:
    """Return (spec name, {variable name: array}) with aliases resolved."""
    with open(path, "rb") as f:
        (version,) = struct.unpack("<I", f.read(4))
        if version < 5:
            raise ValueError(f"unsupported CTranslate2 binary version {version} (need >= 5)")
        spec = _read_string(f)
        f.read(4)  # revision
        (count,) = struct.unpack("<I", f.read(4))
        variables: dict[str, np.ndarray] = {}
        for _ in range(count):
            name = _read_string(f)
            (rank,) = struct.unpack("<B", f.read(1))
            shape = struct.unpack(f"<{rank}I", f.read(4 * rank)) if rank else ()
            (dtype_id,) = struct.unpack("<B", f.read(1))
            (nbytes,) = struct.unpack("<I", f.read(4))
            raw = f.read(nbytes)
            if dtype_id == _BFLOAT16:
                bits = np.frombuffer(raw, dtype=np.uint16).astype(np.uint32) << 16
                arr = bits.view(np.float32)
            elif dtype_id in _DTYPES:
                arr = np.frombuffer(raw, dtype=_DTYPES[dtype_id])
            else:
                raise ValueError(f"variable {name}: unknown dtype id {dtype_id}")
            variables[name] = arr.reshape(shape)
        (alias_count,) = struct.unpack("<I", f.read(4))
        for _ in range(alias_count):
            alias = _read_string(f)
            target = _read_string(f)
            variables[alias] = variables[target]
    return spec, variables
