"""What one decoder step's cross-attention costs in each form onnxruntime's CPU kernels offer, on this CPU.

    $CACHE/venv/bin/python tools/probes/cross_attention.py [tiny.en|base] [rows=1,8]

The cross-attention of every decoder layer reads the window's keys and values over 1500 frames
(base: 37 MB a row per step, in float32), so fewer bytes should mean a cheaper step. Each form
runs all of the model's layers in one graph (so the keys/values do not stay in cache between
layers, as in a real step), one query position per row, 2 intra-op threads without spinning:

- float32: what our decoder runs (MatMul with the keys transposed, Softmax, MatMul);
- float32, keys stored transposed ([H, Dh, T]: a plain MatMul, no transposed operand);
- int8 keys/values: MatMulIntegerToFloat, keys with one scale per frame and values one per channel
  (per row of the batch), queries and probabilities quantized per row, as our int8 linears do;
- float16 keys/values: the contrib MultiHeadAttention kernel (it widens them to float32 per head).

Prints the milliseconds per step (median of 5 x 20 runs) and each form's largest error against
float32, relative to the output's largest value. Inputs are random (the fixture gives the sizes):
their attention is flat, so the weighted sums nearly cancel and the int8 error reads large; judge
int8's accuracy by WER on real audio (tools/probes/model_ab.ts, npm run bench), not by this column.
The venv's onnxruntime (Python) is not the one onnxruntime-node bundles: compare rows of one run.
"""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

CACHE = Path(os.environ.get("AUDIODECODE_CACHE", Path.home() / ".cache" / "audiodecode"))
FRAMES = 1500


class Builder:
    def __init__(self) -> None:
        self.nodes, self.inits, self.inputs, self.outputs, self.n = [], [], [], [], 0

    def op(self, kind: str, inputs: list[str], **attrs) -> str:
        self.n += 1
        out = f"t{self.n}"
        self.nodes.append(helper.make_node(kind, inputs, [out], domain="com.microsoft" if kind in ("MatMulIntegerToFloat", "MultiHeadAttention") else "", **attrs))
        return out

    def const(self, value, dtype=np.float32) -> str:
        self.n += 1
        self.inits.append(numpy_helper.from_array(np.array(value, dtype=dtype), f"c{self.n}"))
        return f"c{self.n}"

    def input(self, name: str, dtype, shape) -> str:
        self.inputs.append(helper.make_tensor_value_info(name, dtype, shape))
        return name

    def quantize_rows(self, x: str, zero: int, top: int, depth: int) -> tuple[str, str]:
        amax = self.op("ReduceMax", [self.op("Abs", [x]), self.const([-1], np.int64)], keepdims=1)
        scale = self.op("Max", [self.op("Mul", [amax, self.const(1 / top)]), self.const(1e-12)])
        zeros = self.op("Expand", [self.const(zero, np.uint8), self.op("Shape", [scale])])
        return self.op("QuantizeLinear", [x, scale, zeros], axis=-1, block_size=depth), scale

    def session(self) -> ort.InferenceSession:
        graph = helper.make_graph(self.nodes, "cross_attention", self.inputs, [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in self.outputs], self.inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21), helper.make_opsetid("com.microsoft", 1)])
        model.ir_version = 10
        options = ort.SessionOptions()
        options.intra_op_num_threads = 2
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        return ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])


def build(form: str, layers: int, heads: int, head_dim: int, rows: int) -> ort.InferenceSession:
    b = Builder()
    scale = 1 / np.sqrt(head_dim)
    for i in range(layers):
        q = b.input(f"q{i}", TensorProto.FLOAT, [rows, heads, 1, head_dim])
        if form == "float32":
            k, v = b.input(f"k{i}", TensorProto.FLOAT, [rows, heads, FRAMES, head_dim]), b.input(f"v{i}", TensorProto.FLOAT, [rows, heads, FRAMES, head_dim])
            probs = b.op("Softmax", [b.op("Mul", [b.op("MatMul", [q, b.op("Transpose", [k], perm=[0, 1, 3, 2])]), b.const(scale)])], axis=-1)
            b.outputs.append(b.op("MatMul", [probs, v]))
        elif form == "float32, keys transposed":
            k, v = b.input(f"k{i}", TensorProto.FLOAT, [rows, heads, head_dim, FRAMES]), b.input(f"v{i}", TensorProto.FLOAT, [rows, heads, FRAMES, head_dim])
            probs = b.op("Softmax", [b.op("Mul", [b.op("MatMul", [q, k]), b.const(scale)])], axis=-1)
            b.outputs.append(b.op("MatMul", [probs, v]))
        elif form.startswith("int8"):
            k, ks = b.input(f"k{i}", TensorProto.INT8, [rows, heads, head_dim, FRAMES]), b.input(f"ks{i}", TensorProto.FLOAT, [rows, heads, 1, FRAMES])
            v, vs = b.input(f"v{i}", TensorProto.INT8, [rows, heads, FRAMES, head_dim]), b.input(f"vs{i}", TensorProto.FLOAT, [rows, heads, 1, head_dim])
            qq, qs = b.quantize_rows(q, 128, 127, head_dim)
            if form == "int8 keys/values":
                # the kernel's own per-column scales, one set per row and head ([rows, heads, 1, N])
                scores = b.op("MatMulIntegerToFloat", [qq, k, b.const(1.0), ks, b.const(128, np.uint8)])
            else:  # scales applied after an unscaled product: [rows, heads, 1, N] products are small
                scores = b.op("Mul", [b.op("MatMulIntegerToFloat", [qq, k, b.const(1.0), b.const(1.0), b.const(128, np.uint8)]), ks])
            probs = b.op("Softmax", [b.op("Mul", [scores, b.op("Mul", [qs, b.const(scale)])])], axis=-1)
            pq, ps = b.quantize_rows(probs, 0, 255, FRAMES)
            if form == "int8 keys/values":
                out = b.op("MatMulIntegerToFloat", [pq, v, b.const(1.0), vs, b.const(0, np.uint8)])
            else:
                out = b.op("Mul", [b.op("MatMulIntegerToFloat", [pq, v, b.const(1.0), b.const(1.0), b.const(0, np.uint8)]), vs])
            b.outputs.append(b.op("Mul", [out, ps]))
        elif form == "float16 keys/values (MultiHeadAttention)":
            k, v = b.input(f"k{i}", TensorProto.FLOAT16, [rows, heads, FRAMES, head_dim]), b.input(f"v{i}", TensorProto.FLOAT16, [rows, heads, FRAMES, head_dim])
            merged = b.op("Reshape", [b.op("Transpose", [q], perm=[0, 2, 1, 3]), b.const([rows, 1, heads * head_dim], np.int64)])
            out = b.op("MultiHeadAttention", [b.op("Cast", [merged], to=TensorProto.FLOAT16), k, v], num_heads=heads)
            b.outputs.append(b.op("Transpose", [b.op("Reshape", [b.op("Cast", [out], to=TensorProto.FLOAT), b.const([rows, 1, heads, head_dim], np.int64)])], perm=[0, 2, 1, 3]))
    return b.session()


def feeds(form: str, q: list, k: list, v: list) -> dict:
    out = {}
    for i, (qi, ki, vi) in enumerate(zip(q, k, v)):
        out[f"q{i}"] = qi
        if form == "float32":
            out[f"k{i}"], out[f"v{i}"] = ki, vi
        elif form == "float32, keys transposed":
            out[f"k{i}"], out[f"v{i}"] = np.ascontiguousarray(ki.transpose(0, 1, 3, 2)), vi
        elif form.startswith("int8"):
            kt = ki.transpose(0, 1, 3, 2)
            ks = np.maximum(np.abs(kt).max(axis=2, keepdims=True), 1e-12) / 127
            vs = np.maximum(np.abs(vi).max(axis=2, keepdims=True), 1e-12) / 127
            out[f"k{i}"], out[f"ks{i}"] = np.ascontiguousarray(np.round(kt / ks).astype(np.int8)), ks.astype(np.float32)
            out[f"v{i}"], out[f"vs{i}"] = np.round(vi / vs).astype(np.int8), vs.astype(np.float32)
        else:
            out[f"k{i}"], out[f"v{i}"] = ki.astype(np.float16), vi.astype(np.float16)
    return out


def main() -> None:
    model = sys.argv[1] if len(sys.argv) > 1 else "base"
    row_counts = [int(r) for r in (sys.argv[2] if len(sys.argv) > 2 else "1,8").split(",")]
    config = json.loads((CACHE / "models" / model / "config.json").read_text())
    layers, heads, d_model = config["decoder_layers"], config["decoder_attention_heads"], config["d_model"]
    head_dim = d_model // heads
    rng = np.random.default_rng(0)
    results = []
    for rows in row_counts:
        q = [rng.standard_normal((rows, heads, 1, head_dim)).astype(np.float32) * 2 for _ in range(layers)]
        k = [rng.standard_normal((rows, heads, FRAMES, head_dim)).astype(np.float32) for _ in range(layers)]
        v = [rng.standard_normal((rows, heads, FRAMES, head_dim)).astype(np.float32) for _ in range(layers)]
        reference = None
        for form in ("float32", "float32, keys transposed", "int8 keys/values", "int8 keys/values, scales after", "float16 keys/values (MultiHeadAttention)"):
            session, feed = build(form, layers, heads, head_dim, rows), feeds(form, q, k, v)
            for _ in range(5):
                out = session.run(None, feed)
            times = []
            for _ in range(5):
                start = time.perf_counter()
                for _ in range(20):
                    session.run(None, feed)
                times.append((time.perf_counter() - start) / 20 * 1000)
            reference = reference or out
            error = max(float(np.abs(a - r).max() / np.abs(r).max()) for a, r in zip(out, reference))
            results.append({"rows": rows, "form": form, "msPerStep": round(float(np.median(times)), 3), "maxRelativeError": round(error, 4)})
    print(json.dumps({"model": model, "layers": layers, "heads": heads, "frames": FRAMES, "onnxruntime": ort.__version__, "results": results}, indent=1))


if __name__ == "__main__":
    main()
