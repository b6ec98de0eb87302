"""Build Whisper encoder/decoder ONNX graphs from a dict of weights (CTranslate2 naming).

Two layouts come out of the same builders:
- native (AudioDecode): the encoder also emits every decoder layer's cross-attention
  keys/values, so they are computed once per audio window, inside the batched encoder
  run; the decoder takes them plus a growing self-attention cache and returns only the
  last position's logits (the only ones greedy/beam search read).
- onnx-community (Hugging Face): encoder_model.onnx -> last_hidden_state, and
  decoder_model_merged.onnx whose `use_cache_branch` If-node either computes the cross
  keys/values from encoder_hidden_states (first step) or passes the cached ones through.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 21  # QuantizeLinear's block_size and output_dtype (the int8 graphs' per-row activation scales)
LN_EPS = 1e-5
INT8_MAX = 127
# Cross-attention operands: a u8 x s8 kernel without VNNI (AVX2) adds pairs of products in int16, so each
# product's u8 side times its s8 side must stay within 16383 (2 x 255 x 63 = 32130 fits, 2 x 255 x 127 saturates).
KEY_INT_MAX = 63  # keys: 7 bits, against queries stored as uint8 (0..255 around 128)
VALUE_INT_MAX = 63  # values: 7 bits, so that the attention weights can take all 8 unsigned bits
# attention weights: unsigned 8 bits. They are where the rounding hurt (tools/probes/int8_fidelity.py, 80 clips
# forced along float32's tokens, mean KL from float32: tiny.en 0.00387 nats at 7-bit weights and 8-bit values,
# 0.00306 at 8-bit weights and 7-bit values, 0.00255 with float cross-attention; base 0.00446 / 0.00422 / 0.00419):
# a weight under half a step rounds to 0, and softmax over 1500 frames has a long tail of small weights
PROB_UINT_MAX = 255
PROJECTION = "decoder.projection_t"  # the output projection's [D, V] weight, shared with the tied token embedding
UINT8_ZERO = 128  # activations: symmetric int8 values stored as uint8 + 128


@dataclass(frozen=True)
class Dims:
    n_mels: int
    d_model: int
    n_heads: int
    encoder_layers: int
    decoder_layers: int
    vocab: int
    n_audio_ctx: int
    n_text_ctx: int

    @property
    def head_dim(self) -> int:
        return self.d_model // self.n_heads


def dims_from_weights(w: dict[str, np.ndarray]) -> Dims:
    def count(prefix: str) -> int:
        n = 0
        while f"{prefix}/layer_{n}/ffn/linear_0/weight" in w:
            n += 1
        return n

    d_model = w["encoder/conv1/weight"].shape[0]
    return Dims(
        n_mels=w["encoder/conv1/weight"].shape[1],
        d_model=d_model,
        n_heads=int(w["encoder/num_heads"]),
        encoder_layers=count("encoder"),
        decoder_layers=count("decoder"),
        vocab=w["decoder/embeddings/weight"].shape[0],
        n_audio_ctx=w["encoder/position_encodings/encodings"].shape[0],
        n_text_ctx=w["decoder/position_encodings/encodings"].shape[0],
    )


class Graph:
    """A thin helper that names nodes and holds initializers in one precision.

    int8: every linear layer (and the token embedding) holds int8 weights with one scale per output
    channel, and quantizes its input with one scale per row (per frame, per token), as CTranslate2's
    int8 does. onnxruntime's quantize_dynamic scales activations per tensor: one scale for a whole
    window of 1500 frames, or for a whole batch, so one loud frame or one other request in the batch
    changed every row's rounding (base int8 derailed, and transcripts depended on the batch).
    """

    def __init__(self, dtype: np.dtype, prefix: str = "", int8: bool = False):
        self.prefix = prefix  # keeps names unique across an If-node's subgraphs (ONNX is SSA)
        self.dtype = np.dtype(dtype)
        self.onnx_dtype = helper.np_dtype_to_tensor_dtype(self.dtype)
        self.int8 = int8
        if int8 and self.dtype != np.float32:
            raise ValueError("int8 graphs compute in float32 between their integer matrix products")
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self._names: dict[str, int] = {}
        self._consts: dict[tuple, str] = {}
        self._quantized: dict[str, tuple[str, str]] = {}  # input name -> (int8 rows, row scales), shared by its consumers
        self._zeros: dict[int, str] = {}
        self._weights: dict[str, tuple] = {}

    def fresh(self, base: str) -> str:
        n = self._names.get(base, 0)
        self._names[base] = n + 1
        return self.prefix + (base if n == 0 else f"{base}_{n}")

    def weight(self, name: str, array: np.ndarray, keep_dtype: bool = False) -> str:
        if name in self._weights:  # one initializer shared by its consumers (the tied vocabulary table)
            if self._weights[name] != np.shape(array):
                raise ValueError(f"two different weights named {name}")
            return name
        self._weights[name] = np.shape(array)
        arr = np.asarray(array if keep_dtype else array.astype(self.dtype)).copy(order="C")  # keeps 0-d scalars 0-d
        self.inits.append(numpy_helper.from_array(arr, name))
        return name

    def const(self, values, dtype=np.int64) -> str:
        arr = np.array(values, dtype=dtype)
        key = (arr.dtype.str, arr.shape, arr.tobytes())
        if key not in self._consts:
            self._consts[key] = self.weight(self.fresh("const"), arr, keep_dtype=True)
        return self._consts[key]

    def scalar(self, value: float) -> str:
        return self.const(value, dtype=self.dtype)

    def op(self, op_type: str, inputs: list[str], n_out: int = 1, name: str | None = None, outputs: list[str] | None = None, **attrs):
        base = name or op_type.lower()
        outs = outputs or [self.fresh(base) for _ in range(n_out)]
        self.nodes.append(helper.make_node(op_type, inputs, outs, name=self.fresh(f"n_{base}"), **attrs))
        return outs[0] if n_out == 1 else outs

    # --- layers -------------------------------------------------------------
    def layer_norm(self, x: str, w: dict, prefix: str) -> str:
        return self.op(
            "LayerNormalization",
            [x, self.weight(f"{prefix}.gamma", w[f"{prefix}/gamma"]), self.weight(f"{prefix}.beta", w[f"{prefix}/beta"])],
            axis=-1,
            epsilon=LN_EPS,
        )

    def linear(self, x: str, w: dict, prefix: str, rows: slice | None = None, tag: str = "") -> str:
        weight = w[f"{prefix}/weight"]
        bias = w.get(f"{prefix}/bias")
        if rows is not None:
            weight = weight[rows]
            bias = bias[rows] if bias is not None else None
        # ONNX MatMul wants [in, out]; CTranslate2 stores [out, in]
        y = self.matmul_weight(x, weight.T, f"{prefix}{tag}.weight_t")
        if bias is not None and np.any(bias):
            y = self.op("Add", [y, self.weight(f"{prefix}{tag}.bias", bias)])
        return y

    def matmul_weight(self, x: str, weight_t: np.ndarray, name: str, rank: int = 3) -> str:
        """x [..., K] (of `rank` dims) @ weight_t [K, N]: a float MatMul, or in int8 graphs an integer
        product of per-row quantized x and per-column quantized weights, rescaled to float."""
        if not self.int8:
            return self.op("MatMul", [x, self.weight(name, weight_t)])
        q_weight, col_scale = quantize_columns(weight_t)
        q, row_scale = self.quantize_rows(x, weight_t.shape[0], rank)
        # MLAS applies the per-column scale while it writes the int32 sums out (no extra pass);
        # the per-row scale has no slot in the kernel (its A scale is per tensor), so it is a Mul
        inputs = [q, self.weight(name + "_quantized", q_weight, keep_dtype=True), self.scalar(1.0), self.weight(name + "_scale", col_scale), self.const(UINT8_ZERO, dtype=np.uint8)]
        return self.op("Mul", [self.op("MatMulIntegerToFloat", inputs, domain="com.microsoft"), row_scale])

    def quantize_rows(self, x: str, depth: int, rank: int) -> tuple[str, str]:
        """x [..., depth] -> (uint8 x, float scale [..., 1]): symmetric, one scale per row, so a row's
        rounding depends on that row alone (not on the window's other frames or the batch's other rows).
        Stored as uint8 around a zero point of 128 (values 1..255): MLAS has fast u8 x s8 kernels
        (VNNI, AVX2); its s8 x s8 path on x86 was 12x slower (base encoder window 1.6 s vs 0.13 s)."""
        if x not in self._quantized:
            scale = self.max_scale(x, -1, INT8_MAX)
            q = self.op("QuantizeLinear", [x, scale, self.zero_points(scale, rank)], axis=-1, block_size=depth)
            self._quantized[x] = (q, scale)
        return self._quantized[x]

    def max_scale(self, x: str, axis: int, top: int, nonnegative: bool = False) -> str:
        """max |x| / top along `axis` (kept as a dim of 1): the symmetric scale that maps each slice
        onto [-top, top]; a slice of zeros gets a tiny scale instead of a division by zero."""
        amax = self.op("ReduceMax", [x if nonnegative else self.op("Abs", [x]), self.const([axis])], keepdims=1)
        return self.op("Max", [self.op("Mul", [amax, self.scalar(1 / top)]), self.scalar(1e-12)])

    def quantize_slices(self, x: str, axis: int, depth: int, top: int) -> tuple[str, str]:
        """x -> (int8 x, float scale with x's shape but 1 at `axis`): symmetric, one scale per slice
        of `depth` values along `axis` (a frame's key, a frame's value), values in [-top, top]."""
        scale = self.max_scale(x, axis, top)
        return self.op("QuantizeLinear", [x, scale], axis=axis, block_size=depth, output_dtype=TensorProto.INT8), scale

    def int8_cross_attention(self, q: str, k: str, k_scale: str, v: str, v_scale: str, dims: Dims, probs_name: str | None) -> str:
        """q [A, H, S, Dh] (float) over int8 keys k [A, H, Dh, T] (per-frame scales k_scale [A, H, 1, T])
        and int8 values v [A, H, T, Dh] (per-frame scales v_scale [A, H, 1, T]) -> [A, H, S, Dh].
        Both products are integer ones: the queries quantized per row, the attention weights (times
        each frame's value scale, so that the values need no scale inside the sum) per row as
        unsigned 8 bits (the values in 7, see VALUE_INT_MAX). A step reads a quarter of the float32
        bytes (base: 9 of 37 MB a row), and the scales that vary by row and head are Muls on the small
        [A, H, S, T] and [A, H, S, Dh] results: the kernel's own per-column scales for batched operands
        cost more than the products."""
        qq, q_scale = self.quantize_rows(q, dims.head_dim, 4)
        raw = self.op("MatMulIntegerToFloat", [qq, k, self.scalar(1.0), self.scalar(1.0), self.const(UINT8_ZERO, dtype=np.uint8)], domain="com.microsoft")
        scores = self.op("Mul", [self.op("Mul", [raw, k_scale]), self.op("Mul", [q_scale, self.scalar(1 / np.sqrt(dims.head_dim))])])
        probs = self.op("Softmax", [scores], axis=-1, outputs=[probs_name] if probs_name else None)
        weighted = self.op("Mul", [probs, v_scale])
        w_scale = self.max_scale(weighted, -1, PROB_UINT_MAX, nonnegative=True)
        wq = self.op("QuantizeLinear", [weighted, w_scale], axis=-1, block_size=dims.n_audio_ctx, output_dtype=TensorProto.UINT8)
        out = self.op("MatMulIntegerToFloat", [wq, v, self.scalar(1.0), self.scalar(1.0)], domain="com.microsoft")
        return self.op("Mul", [out, w_scale])

    def zero_points(self, scale: str, rank: int) -> str:
        """The zero-point tensor (128s, shaped like `scale`) that blocked QuantizeLinear needs. Made
        once per rank and shared: within one graph, every linear input of a rank has the same leading
        dims ([B, 1500] in the encoder, [B, S] in the decoder), and two ops a linear cost 0.2 ms a
        decoder step (base, batch 1). A mismatch would fail loudly in QuantizeLinear, not silently."""
        if rank not in self._zeros:
            self._zeros[rank] = self.op("Expand", [self.const(UINT8_ZERO, dtype=np.uint8), self.op("Shape", [scale])])
        return self._zeros[rank]

    def tied_embedding(self, table: np.ndarray, ids: str, name: str) -> str:
        """Rows of `table` for `ids`, read from the columns of the output projection's transposed copy
        (`name`, as matmul_weight stores it): Whisper ties the two, and one copy instead of two takes
        the vocabulary table once out of the decoder file (base int8: 26.6 MB, float32: 106 MB).
        The int8 projection's per-column scales are the table's per-row scales, so the rows are the
        same numbers either way. A Gather of a few columns per step costs nothing beside the MatMul."""
        if not self.int8:
            cols = self.op("Gather", [self.weight(name, table.T), ids], axis=1)  # [D, B, S]
            return self.op("Transpose", [cols], perm=[1, 2, 0])
        q_weight, col_scale = quantize_columns(table.T)
        cols = self.op("Gather", [self.weight(name + "_quantized", q_weight, keep_dtype=True), ids], axis=1)
        rows = self.op("Cast", [self.op("Transpose", [cols], perm=[1, 2, 0])], to=TensorProto.FLOAT)
        scale = self.op("Unsqueeze", [self.op("Gather", [self.weight(name + "_scale", col_scale), ids], axis=0), self.const([-1])])
        return self.op("Mul", [rows, scale])

    def embedding(self, table: np.ndarray, ids: str, name: str) -> str:
        """Rows of `table` for `ids`; in int8 graphs an int8 table with one scale per row (the token
        table is the decoder's largest weight after the projection)."""
        if not self.int8:
            return self.op("Gather", [self.weight(name, table), ids], axis=0)
        scale = np.maximum(np.abs(table).max(axis=1, keepdims=True), 1e-12) / INT8_MAX
        q_table = np.round(table / scale).astype(np.int8)
        rows = self.op("Cast", [self.op("Gather", [self.weight(name + "_quantized", q_table, keep_dtype=True), ids], axis=0)], to=TensorProto.FLOAT)
        return self.op("Mul", [rows, self.op("Gather", [self.weight(name + "_scale", scale.astype(np.float32)), ids], axis=0)])

    def gelu(self, x: str) -> str:
        # exact (erf) GELU, which Whisper uses, as onnxruntime's one-kernel Gelu: written out as
        # Mul/Erf/Add/Mul, onnxruntime did not fuse it, and those four kernels took 13% of the encoder
        return self.op("Gelu", [x], domain="com.microsoft")

    def split_heads(self, x: str, dims: Dims) -> str:
        """[B, T, D] -> [B, H, T, Dh]"""
        r = self.op("Reshape", [x, self.const([0, 0, dims.n_heads, dims.head_dim])])
        return self.op("Transpose", [r], perm=[0, 2, 1, 3])

    def merge_heads(self, x: str, dims: Dims) -> str:
        """[B, H, T, Dh] -> [B, T, D]"""
        t = self.op("Transpose", [x], perm=[0, 2, 1, 3])
        return self.op("Reshape", [t, self.const([0, 0, dims.d_model])])

    def attention(self, q: str, k: str, v: str, dims: Dims, mask: str | None = None, probs_name: str | None = None) -> str:
        """q [B,H,S,Dh], k/v [B,H,T,Dh] -> [B,H,S,Dh]"""
        kt = self.op("Transpose", [k], perm=[0, 1, 3, 2])
        scores = self.op("Mul", [self.op("MatMul", [q, kt]), self.scalar(1 / np.sqrt(dims.head_dim))])
        if mask is not None:
            scores = self.op("Add", [scores, mask])
        probs = self.op("Softmax", [scores], axis=-1, outputs=[probs_name] if probs_name else None)
        return self.op("MatMul", [probs, v])

    def dim(self, x: str, start: int, end: int) -> str:
        """Dimensions start..end-1 of x's shape, as a 1-d int64 tensor."""
        return self.op("Shape", [x], start=start, end=end)

    def group_rows(self, x: str, audio: str) -> str:
        """[B, H, S, X] -> [A, H, G*S, X], where A is `audio`'s batch and G = B / A: the G consecutive
        rows that share one audio row (a window's beam hypotheses) become query positions of it."""
        split = self.op("Reshape", [x, self.op("Concat", [self.dim(audio, 0, 1), self.const([-1]), self.dim(x, 1, 4)], axis=0)])  # [A, G, H, S, X]
        grouped = self.op("Transpose", [split], perm=[0, 2, 1, 3, 4])  # [A, H, G, S, X]
        return self.op("Reshape", [grouped, self.op("Concat", [self.dim(grouped, 0, 2), self.const([-1]), self.dim(grouped, 4, 5)], axis=0)])

    def ungroup_rows(self, x: str, seq: str) -> str:
        """[A, H, G*S, X] -> [A*G, H, S, X], the inverse of group_rows; `seq` is [S] (1-d int64)."""
        split = self.op("Reshape", [x, self.op("Concat", [self.dim(x, 0, 2), self.const([-1]), seq, self.dim(x, 3, 4)], axis=0)])  # [A, H, G, S, X]
        rows = self.op("Transpose", [split], perm=[0, 2, 1, 3, 4])  # [A, G, H, S, X]
        return self.op("Reshape", [rows, self.op("Concat", [self.const([-1]), self.dim(rows, 2, 5)], axis=0)])

    def model(self, inputs, outputs, name: str) -> onnx.ModelProto:
        graph = helper.make_graph(self.nodes, name, inputs, outputs, self.inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET), helper.make_opsetid("com.microsoft", 1)], producer_name="audiodecode")
        model.ir_version = 10  # what opset 21 needs
        return model


def quantize_columns(weight_t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """[K, N] float -> (int8 [K, N], float32 scale [N]): symmetric, one scale per output channel."""
    scale = np.maximum(np.abs(weight_t).max(axis=0), 1e-12) / INT8_MAX
    return np.round(weight_t / scale).astype(np.int8), scale.astype(np.float32)


def _kv_info(name: str, g: Graph, dims: Dims, length: str, batch: str = "batch") -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, g.onnx_dtype, [batch, dims.n_heads, length, dims.head_dim])


def _int8_cross_kv(g: Graph, dims: Dims, i: int, k: str, v: str) -> list[onnx.ValueInfoProto]:
    """Decoder layer i's cross keys/values [B, T, D] as the int8 decoder reads them: cross_k_i
    [B, H, Dh, T] (transposed: the product's right side), cross_v_i [B, H, T, Dh], each with one
    scale per frame and head (cross_k_scale_i / cross_v_scale_i [B, H, 1, T]). Quantized once per
    window here, read every decoder step."""
    k_t = g.op("Transpose", [g.op("Reshape", [k, g.const([0, 0, dims.n_heads, dims.head_dim])])], perm=[0, 2, 3, 1])  # [B, H, Dh, T]
    k_q, k_scale = g.quantize_slices(k_t, 2, dims.head_dim, KEY_INT_MAX)
    g.op("Identity", [k_q], outputs=[f"cross_k_{i}"])
    g.op("Identity", [k_scale], outputs=[f"cross_k_scale_{i}"])
    v_q, v_scale = g.quantize_slices(g.split_heads(v, dims), 3, dims.head_dim, VALUE_INT_MAX)  # [B, H, T, Dh]
    g.op("Identity", [v_q], outputs=[f"cross_v_{i}"])
    g.op("Transpose", [v_scale], perm=[0, 1, 3, 2], outputs=[f"cross_v_scale_{i}"])  # [B, H, 1, T]
    return _int8_cross_info(i, dims, "batch")


def _int8_cross_info(i: int, dims: Dims, batch: str) -> list[onnx.ValueInfoProto]:
    info = helper.make_tensor_value_info
    return [info(f"cross_k_{i}", TensorProto.INT8, [batch, dims.n_heads, dims.head_dim, "audio_ctx"]),
            info(f"cross_k_scale_{i}", TensorProto.FLOAT, [batch, dims.n_heads, 1, "audio_ctx"]),
            info(f"cross_v_{i}", TensorProto.INT8, [batch, dims.n_heads, "audio_ctx", dims.head_dim]),
            info(f"cross_v_scale_{i}", TensorProto.FLOAT, [batch, dims.n_heads, 1, "audio_ctx"])]


def build_encoder(w: dict, dims: Dims, dtype=np.float32, cross_kv: bool = False, int8: bool = False) -> onnx.ModelProto:
    """input_features [B, n_mels, 3000] (float32) -> last_hidden_state [B, 1500, D]
    (+ cross_k_i / cross_v_i [B, H, 1500, Dh] per decoder layer when cross_kv; int8 graphs give
    them in int8 with their scales, see _int8_cross_kv)."""
    g = Graph(dtype, int8=int8)
    x = g.op("Cast", ["input_features"], to=g.onnx_dtype) if g.dtype != np.float32 else "input_features"
    x = g.op("Conv", [x, g.weight("conv1.weight", w["encoder/conv1/weight"]), g.weight("conv1.bias", w["encoder/conv1/bias"])], pads=[1, 1], kernel_shape=[3])
    x = g.gelu(x)
    x = g.op("Conv", [x, g.weight("conv2.weight", w["encoder/conv2/weight"]), g.weight("conv2.bias", w["encoder/conv2/bias"])], pads=[1, 1], kernel_shape=[3], strides=[2])
    x = g.gelu(x)
    x = g.op("Transpose", [x], perm=[0, 2, 1])
    x = g.op("Add", [x, g.weight("encoder.positions", w["encoder/position_encodings/encodings"])])
    for i in range(dims.encoder_layers):
        p = f"encoder/layer_{i}"
        h = g.layer_norm(x, w, f"{p}/self_attention/layer_norm")
        qkv = g.linear(h, w, f"{p}/self_attention/linear_0")
        q, k, v = g.op("Split", [qkv, g.const([dims.d_model] * 3)], n_out=3, axis=-1)
        # onnxruntime's fused kernel (CPU: flash attention in blocks; CUDA: flash/memory-efficient
        # fp16) never holds the [B, H, 1500, 1500] score matrices of the unfused graph: 13% faster
        # and ~50 MB less peak memory per window on CPU (int8, 2 threads), output equal to 1.4e-5
        a = g.op("MultiHeadAttention", [q, k, v], domain="com.microsoft", num_heads=dims.n_heads)
        x = g.op("Add", [x, g.linear(a, w, f"{p}/self_attention/linear_1")])
        h = g.layer_norm(x, w, f"{p}/ffn/layer_norm")
        h = g.linear(g.gelu(g.linear(h, w, f"{p}/ffn/linear_0")), w, f"{p}/ffn/linear_1")
        x = g.op("Add", [x, h])
    out = g.layer_norm(x, w, "encoder/layer_norm")
    outputs = []
    if cross_kv:
        for i in range(dims.decoder_layers):
            kv_w = f"decoder/layer_{i}/attention/linear_1"
            k = g.linear(out, w, kv_w, rows=slice(0, dims.d_model), tag=".k")
            v = g.linear(out, w, kv_w, rows=slice(dims.d_model, 2 * dims.d_model), tag=".v")
            if int8:
                outputs += _int8_cross_kv(g, dims, i, k, v)
                continue
            g.op("Reshape", [k, g.const([0, 0, dims.n_heads, dims.head_dim])], outputs=[f"cross_k_{i}_bthd"])
            g.op("Transpose", [f"cross_k_{i}_bthd"], perm=[0, 2, 1, 3], outputs=[f"cross_k_{i}"])
            g.op("Reshape", [v, g.const([0, 0, dims.n_heads, dims.head_dim])], outputs=[f"cross_v_{i}_bthd"])
            g.op("Transpose", [f"cross_v_{i}_bthd"], perm=[0, 2, 1, 3], outputs=[f"cross_v_{i}"])
            outputs += [_kv_info(f"cross_k_{i}", g, dims, "audio_ctx"), _kv_info(f"cross_v_{i}", g, dims, "audio_ctx")]
    else:
        g.op("Identity", [out], outputs=["last_hidden_state"])
        outputs.append(helper.make_tensor_value_info("last_hidden_state", g.onnx_dtype, ["batch", "audio_ctx", dims.d_model]))
    inputs = [helper.make_tensor_value_info("input_features", TensorProto.FLOAT, ["batch", dims.n_mels, "frames"])]
    return g.model(inputs, outputs, "whisper_encoder")


def _decoder_body(g: Graph, w: dict, dims: Dims, past_name, cross_name, present_name, probs_name=None, shared_audio: bool = False, external_cache: bool = False) -> str:
    """Shared decoder stack. Returns the final hidden states [B, S, D]. shared_audio: the cross
    keys/values hold A rows, each shared by B / A consecutive token rows (probs_name then names
    [A, H, (B/A)*S, T] tensors). external_cache: the self-attention cache is the caller's buffer of some
    capacity (past_k_i [B, H, capacity, Dh], its first `past_length` positions filled), read by
    onnxruntime's GroupQueryAttention, and only the new positions' keys/values are outputs."""
    if external_cache:
        past_len = "past_length"
    else:
        past_len = g.op("Gather", [g.op("Shape", [past_name(0, "key")]), g.const(2)], axis=0)
    seq_len = g.op("Gather", [g.op("Shape", ["input_ids"]), g.const(1)], axis=0)
    total = g.op("Add", [past_len, seq_len])
    positions = g.op("Range", [past_len, total, g.const(1)])
    table = w["decoder/embeddings/weight"]
    tied = np.array_equal(table, w["decoder/projection/weight"])
    x = g.tied_embedding(table, "input_ids", PROJECTION) if tied else g.embedding(table, "input_ids", "decoder.embeddings")
    x = g.op("Add", [x, g.op("Gather", [g.weight("decoder.positions", w["decoder/position_encodings/encodings"]), positions], axis=0)])
    if external_cache:
        # GroupQueryAttention masks causally itself; it takes each row's filled length minus one
        # ([B] int32: every row of a batch has the same) and the total length (int32 scalar)
        rows = g.dim("input_ids", 0, 1)
        seqlens_k = g.op("Expand", [g.op("Cast", [g.op("Sub", [total, g.const([1])])], to=TensorProto.INT32), rows])
        total_i32 = g.op("Cast", [total], to=TensorProto.INT32)
    else:
        # causal mask [S, T]: query i (absolute position past+i) sees keys 0..past+i
        key_pos = g.op("Range", [g.const(0), total, g.const(1)])
        query_pos = g.op("Unsqueeze", [positions, g.const([1])])
        blocked = g.op("Greater", [key_pos, query_pos])
        mask = g.op("Where", [blocked, g.scalar(float(np.finfo(g.dtype).min)), g.scalar(0.0)])
    seq_dim = g.dim("input_ids", 1, 2) if shared_audio else None  # [S], to ungroup the cross-attention
    for i in range(dims.decoder_layers):
        p = f"decoder/layer_{i}"
        h = g.layer_norm(x, w, f"{p}/self_attention/layer_norm")
        qkv = g.linear(h, w, f"{p}/self_attention/linear_0")
        if external_cache:
            # the new positions' keys/values leave the graph alone (the caller appends them to its
            # buffer); the cache itself is only read: onnxruntime-node copies every fetched output
            # into its JS buffer after a run, which for a fetched cache was a copy of all of it per step
            q, k, v = g.op("Split", [qkv, g.const([dims.d_model] * 3)], n_out=3, axis=-1, outputs=[g.fresh("q"), f"new_k_{i}", f"new_v_{i}"])
            merged, _, _ = g.op("GroupQueryAttention", [q, k, v, past_name(i, "key"), past_name(i, "value"), seqlens_k, total_i32], n_out=3,
                                domain="com.microsoft", num_heads=dims.n_heads, kv_num_heads=dims.n_heads, scale=float(1 / np.sqrt(dims.head_dim)))
        else:
            q, k, v = g.op("Split", [qkv, g.const([dims.d_model] * 3)], n_out=3, axis=-1)
            k_all = g.op("Concat", [past_name(i, "key"), g.split_heads(k, dims)], axis=2, outputs=[present_name(i, "key")])
            v_all = g.op("Concat", [past_name(i, "value"), g.split_heads(v, dims)], axis=2, outputs=[present_name(i, "value")])
            merged = g.merge_heads(g.attention(g.split_heads(q, dims), k_all, v_all, dims, mask=mask), dims)
        x = g.op("Add", [x, g.linear(merged, w, f"{p}/self_attention/linear_1")])
        h = g.layer_norm(x, w, f"{p}/attention/layer_norm")
        q = g.split_heads(g.linear(h, w, f"{p}/attention/linear_0"), dims)
        probs = probs_name(i) if probs_name else None
        if shared_audio:
            # beam hypotheses of one window attend to one copy of its cross keys/values, as extra
            # query positions: one [G, T] product per head instead of G reads of 1500 frames
            grouped = g.group_rows(q, cross_name(i, "key"))
            if g.int8:
                attended = g.int8_cross_attention(grouped, cross_name(i, "key"), f"cross_k_scale_{i}", cross_name(i, "value"), f"cross_v_scale_{i}", dims, probs)
            else:
                attended = g.attention(grouped, cross_name(i, "key"), cross_name(i, "value"), dims, probs_name=probs)
            a = g.ungroup_rows(attended, seq_dim)
        else:
            a = g.attention(q, cross_name(i, "key"), cross_name(i, "value"), dims, probs_name=probs)
        x = g.op("Add", [x, g.linear(g.merge_heads(a, dims), w, f"{p}/attention/linear_2")])
        h = g.layer_norm(x, w, f"{p}/ffn/layer_norm")
        h = g.linear(g.gelu(g.linear(h, w, f"{p}/ffn/linear_0")), w, f"{p}/ffn/linear_1")
        x = g.op("Add", [x, h])
    return g.layer_norm(x, w, "decoder/layer_norm")


def _logits(g: Graph, w: dict, hidden: str, last_only: bool) -> str:
    """hidden [B, D] (the last position only) or [B, S, D] -> float32 logits."""
    # a transposed copy of the tied embedding, as a MatMul (int8 graphs quantize it like every linear)
    rank = 2 if last_only else 3
    logits = g.matmul_weight(hidden, w["decoder/projection/weight"].T, PROJECTION, rank)
    return g.op("Cast", [logits], to=TensorProto.FLOAT) if g.dtype != np.float32 else logits


def build_decoder_native(w: dict, dims: Dims, dtype=np.float32, alignment_heads: list[tuple[int, int]] | None = None, int8: bool = False) -> onnx.ModelProto:
    """input_ids [B, S], past_length (int64 scalar P), past_k_i/past_v_i [B, H, capacity, Dh] (the
    first P positions filled; capacity >= P + S), cross_k_i/cross_v_i [A, H, 1500, Dh]
    (A divides B: token rows a*G .. a*G+G-1, G = B / A, read audio row a; "audio_batch" in the
    input shapes tells the runtime it may pass a window's audio once for all its beams; int8
    graphs take them in the encoder's int8 form, with cross_k_scale_i/cross_v_scale_i)
    -> logits [B, V] (last position only), logsumexp [B] (of each logits row), new_k_i/new_v_i [B, S, D]
    (the keys/values of positions P .. P+S-1, for the caller to append to its buffers),
    alignment [B, N, S, 1500] (cross-attention of the N alignment heads, for word timestamps;
    onnxruntime computes it only when the caller fetches it)."""
    g = Graph(dtype, int8=int8)
    hidden = _decoder_body(
        g, w, dims,
        past_name=lambda i, kind: f"past_{kind[0]}_{i}",
        cross_name=lambda i, kind: f"cross_{kind[0]}_{i}",
        present_name=lambda i, kind: f"present_{kind[0]}_{i}",
        probs_name=lambda i: f"cross_probs_{i}",
        shared_audio=True,
        external_cache=True,
    )
    last = g.op("Gather", [hidden, g.const(-1)], axis=1)  # [B, D]
    logits = g.op("Identity", [_logits(g, w, last, last_only=True)], outputs=["logits"])
    # each row's log-sum-exp, computed natively: the decoding loop needs the normaliser of the
    # filtered logits every step, and an exp per vocabulary entry in JS cost more than this graph.
    # As logits[0] - log_softmax(logits)[0]: onnxruntime's LogSoftmax kernel is vectorized and its
    # ReduceLogSumExp is not (51864 logits: 28 vs 248 us a row on 2 cores, and closer to float64).
    head = [g.const([0]), g.const([1]), g.const([-1])]  # starts, ends, axes: column 0
    first_logit = g.op("Slice", [logits, *head])
    first_log_prob = g.op("Slice", [g.op("LogSoftmax", [logits], axis=-1), *head])
    g.op("Squeeze", [g.op("Sub", [first_logit, first_log_prob]), g.const([-1])], outputs=["logsumexp"])
    heads = alignment_heads or []
    if heads:
        picked = [g.op("Gather", [f"cross_probs_{layer}", g.const([head])], axis=1) for layer, head in heads]
        align = g.ungroup_rows(g.op("Concat", picked, axis=1) if len(picked) > 1 else picked[0], g.dim("input_ids", 1, 2))
        g.op("Cast", [align], to=TensorProto.FLOAT, outputs=["alignment"]) if g.dtype != np.float32 else g.op("Identity", [align], outputs=["alignment"])
    inputs = [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"]),
              helper.make_tensor_value_info("past_length", TensorProto.INT64, [])]
    outputs = [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", dims.vocab]),
               helper.make_tensor_value_info("logsumexp", TensorProto.FLOAT, ["batch"])]
    for i in range(dims.decoder_layers):
        inputs += [_kv_info(f"past_k_{i}", g, dims, "capacity"), _kv_info(f"past_v_{i}", g, dims, "capacity")]
    for i in range(dims.decoder_layers):
        if int8:
            inputs += _int8_cross_info(i, dims, "audio_batch")
        else:
            inputs += [_kv_info(f"cross_k_{i}", g, dims, "audio_ctx", batch="audio_batch"), _kv_info(f"cross_v_{i}", g, dims, "audio_ctx", batch="audio_batch")]
    for i in range(dims.decoder_layers):
        outputs += [helper.make_tensor_value_info(f"new_{kind}_{i}", g.onnx_dtype, ["batch", "seq", dims.d_model]) for kind in "kv"]
    if heads:
        outputs.append(helper.make_tensor_value_info("alignment", TensorProto.FLOAT, ["batch", len(heads), "seq", "audio_ctx"]))
    return g.model(inputs, outputs, "whisper_decoder")


def build_decoder_merged(w: dict, dims: Dims, dtype=np.float32, int8: bool = False) -> onnx.ModelProto:
    """The Hugging Face onnx-community `decoder_model_merged` contract."""
    g = Graph(dtype, int8=int8)
    enc = lambda i, kind: f"past_key_values.{i}.encoder.{kind}"
    present_enc = lambda i, kind: f"present.{i}.encoder.{kind}"

    # the two If branches: compute cross keys/values from encoder_hidden_states, or reuse
    def branch(compute: bool) -> onnx.GraphProto:
        b = Graph(dtype, prefix="compute/" if compute else "cached/", int8=int8)
        outs = []
        for i in range(dims.decoder_layers):
            for kind, rows in (("key", slice(0, dims.d_model)), ("value", slice(dims.d_model, 2 * dims.d_model))):
                name = f"{'computed' if compute else 'cached'}.{i}.{kind}"
                if compute:
                    y = b.linear("encoder_hidden_states", w, f"decoder/layer_{i}/attention/linear_1", rows=rows, tag=f".{kind}")
                    r = b.op("Reshape", [y, b.const([0, 0, dims.n_heads, dims.head_dim])])
                    b.op("Transpose", [r], perm=[0, 2, 1, 3], outputs=[name])
                else:
                    b.op("Identity", [enc(i, kind)], outputs=[name])
                outs.append(_kv_info(name, b, dims, "audio_ctx"))
        return helper.make_graph(b.nodes, "cross_kv_compute" if compute else "cross_kv_cached", [], outs, b.inits)

    n_cross = 2 * dims.decoder_layers
    if_outputs = [present_enc(i, kind) for i in range(dims.decoder_layers) for kind in ("key", "value")]
    g.op("If", ["use_cache_branch"], n_out=n_cross, outputs=if_outputs, then_branch=branch(False), else_branch=branch(True))
    hidden = _decoder_body(
        g, w, dims,
        past_name=lambda i, kind: f"past_key_values.{i}.decoder.{kind}",
        cross_name=present_enc,
        present_name=lambda i, kind: f"present.{i}.decoder.{kind}",
    )
    g.op("Identity", [_logits(g, w, hidden, last_only=False)], outputs=["logits"])
    inputs = [
        helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch_size", "decoder_sequence_length"]),
        helper.make_tensor_value_info("encoder_hidden_states", g.onnx_dtype, ["batch_size", "encoder_sequence_length", dims.d_model]),
    ]
    outputs = [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch_size", "decoder_sequence_length", dims.vocab])]
    for i in range(dims.decoder_layers):
        inputs += [_kv_info(f"past_key_values.{i}.decoder.key", g, dims, "past_decoder_sequence_length"),
                   _kv_info(f"past_key_values.{i}.decoder.value", g, dims, "past_decoder_sequence_length"),
                   _kv_info(enc(i, "key"), g, dims, "encoder_sequence_length_out"),
                   _kv_info(enc(i, "value"), g, dims, "encoder_sequence_length_out")]
        outputs += [_kv_info(f"present.{i}.decoder.key", g, dims, "total_sequence_length"),
                    _kv_info(f"present.{i}.decoder.value", g, dims, "total_sequence_length"),
                    _kv_info(present_enc(i, "key"), g, dims, "encoder_sequence_length_out"),
                    _kv_info(present_enc(i, "value"), g, dims, "encoder_sequence_length_out")]
    inputs.append(helper.make_tensor_value_info("use_cache_branch", TensorProto.BOOL, [1]))
    return g.model(inputs, outputs, "whisper_decoder_merged")
