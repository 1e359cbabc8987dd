"""izde's TF.js graph exporter on small graphs written here, checked against TensorFlow's semantics in numpy.

The real network is checked against TF.js itself in test_faceres.py; these cover what a face crop would not
single out: TF's SAME padding at odd sizes and stride 2, depthwise filters, per-channel constants, float16
weight decoding, pruning of heads that the output does not need, and clear errors for what is not supported.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import pytest

from izde.vision.tfjs_export import INPUT, InputPrep, TfjsFormatError, build_onnx, build_onnx_outputs, load_graph


def _attr_list(values: list[int]) -> dict[str, Any]:
    return {"list": {"i": [str(v) for v in values]}}


def _s(text: str) -> dict[str, str]:
    return {"s": base64.b64encode(text.encode()).decode()}


def _write(tmp: Path, nodes: list[dict[str, Any]], weights: dict[str, np.ndarray]) -> Path:
    specs, blobs = [], []
    for name, w in weights.items():
        if w.dtype == np.int32:
            specs.append({"name": name, "shape": list(w.shape), "dtype": "int32"})
            blobs.append(w.astype("<i4").tobytes())
        else:
            q = {"dtype": "float16", "original_dtype": "float32"}
            specs.append({"name": name, "shape": list(w.shape), "dtype": "float32", "quantization": q})
            blobs.append(w.astype("<f2").tobytes())
    consts = [{"name": n, "op": "Const", "attr": {}} for n in weights]
    doc = {
        "format": "graph-model",
        "modelTopology": {"node": [{"name": "x", "op": "Placeholder", "attr": {}}, *consts, *nodes]},
        "weightsManifest": [{"paths": ["w.bin"], "weights": specs}],
    }
    (tmp / "w.bin").write_bytes(b"".join(blobs))
    (tmp / "model.json").write_text(json.dumps(doc))
    return tmp / "model.json"


def _same_pad(x: np.ndarray, k: int, s: int) -> np.ndarray:
    """TF's SAME padding of an NHWC tensor: the odd pixel goes at the end."""
    pads = []
    for n in x.shape[1:3]:
        total = max((-(-n // s) - 1) * s + k - n, 0)
        pads.append((total // 2, total - total // 2))
    return np.pad(x, [(0, 0), pads[0], pads[1], (0, 0)])


def _conv(x: np.ndarray, w: np.ndarray, s: int, depthwise: bool) -> np.ndarray:
    k = w.shape[0]
    xp = _same_pad(x, k, s)
    oh, ow = -(-x.shape[1] // s), -(-x.shape[2] // s)
    out = np.zeros((x.shape[0], oh, ow, w.shape[2] if depthwise else w.shape[3]), np.float64)
    for i in range(oh):
        for j in range(ow):
            patch = xp[:, i * s : i * s + k, j * s : j * s + k, :]
            if depthwise:
                out[:, i, j, :] = np.einsum("nhwc,hwc->nc", patch, w[:, :, :, 0])
            else:
                out[:, i, j, :] = np.einsum("nhwc,hwco->no", patch, w)
    return out


def test_conv_depthwise_relu6_and_mean_match_tensorflow_semantics(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    # float16-representable weights, so the numpy reference uses exactly what the file holds.
    w1 = rng.normal(0, 0.05, (3, 3, 3, 4)).astype(np.float16).astype(np.float32)
    dw = rng.normal(0, 0.3, (3, 3, 4, 1)).astype(np.float16).astype(np.float32)
    scale = rng.uniform(0.5, 1.5, 4).astype(np.float16).astype(np.float32)
    shift = rng.normal(0, 0.5, 4).astype(np.float16).astype(np.float32)
    six, zero = np.array(6, np.float32), np.array(0, np.float32)
    head = rng.normal(0, 1, (4, 2)).astype(np.float16).astype(np.float32)
    weights = {"w1": w1, "dw": dw, "scale": scale, "shift": shift, "six": six, "zero": zero, "head": head}
    weights["axes"] = np.array([1, 2], np.int32)
    conv = {"strides": _attr_list([1, 2, 2, 1]), "padding": _s("SAME"), "data_format": _s("NHWC")}
    nodes = [
        {"name": "c1", "op": "Conv2D", "input": ["x", "w1"], "attr": conv},
        {"name": "r", "op": "Relu", "input": ["c1"]},
        {"name": "lo", "op": "Minimum", "input": ["r", "six"]},
        {"name": "hi", "op": "Maximum", "input": ["lo", "zero"]},
        {"name": "d", "op": "DepthwiseConv2dNative", "input": ["hi", "dw"], "attr": conv},
        {"name": "m", "op": "Mul", "input": ["d", "scale"]},
        {"name": "a", "op": "Add", "input": ["m", "shift"]},
        {"name": "mean", "op": "Mean", "input": ["a", "axes"], "attr": {"keep_dims": {"b": False}}},
        # A head the output does not need, with an op the exporter does not translate: it must be pruned.
        {"name": "age", "op": "_FusedMatMul", "input": ["mean", "head"]},
    ]
    model = build_onnx(load_graph(_write(tmp_path, nodes, weights)), "mean", InputPrep((7, 9), True, (10, 20, 30)), "t")
    assert all(n.op_type != "MatMul" for n in model.graph.node)
    pixels = rng.integers(0, 256, (2, 7, 9, 3), dtype=np.uint8)
    got = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(
        None, {INPUT: pixels}
    )[0]
    x = pixels[..., ::-1].astype(np.float64) - np.array([10, 20, 30])
    y = np.clip(_conv(x, w1, 2, False), 0, 6)
    y = _conv(y, dw, 2, True) * scale + shift
    want = y.mean(axis=(1, 2))
    assert got.shape == (2, 4)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def test_an_unsupported_op_on_the_output_path_is_named(tmp_path: Path) -> None:
    weights = {"k": np.ones((3, 2), np.float32)}
    nodes = [{"name": "y", "op": "Softmax", "input": ["x"]}]
    graph = load_graph(_write(tmp_path, nodes, weights))
    with pytest.raises(TfjsFormatError, match="y: op Softmax is not supported"):
        build_onnx(graph, "y", InputPrep((2, 2), False, (0, 0, 0)), "t")


def test_truncated_weight_shards_are_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, [], {"k": np.ones((64,), np.float32)})
    (tmp_path / "w.bin").write_bytes((tmp_path / "w.bin").read_bytes()[:-2])
    with pytest.raises(TfjsFormatError, match="end inside weight k"):
        load_graph(path)


def test_a_layers_model_is_not_a_graph_model(tmp_path: Path) -> None:
    (tmp_path / "model.json").write_text(json.dumps({"format": "layers-model"}))
    with pytest.raises(TfjsFormatError, match=r"not a TF\.js graph model"):
        load_graph(tmp_path / "model.json")


def test_fused_conv_pooling_channel_padding_and_a_detector_head_on_any_input_size(tmp_path: Path) -> None:
    # BlazeFace's ops: a convolution fused with its bias and ReLU, 2x2 max pooling, channels padded with zeros
    # (its residual blocks widen that way), a head reshaped to (1, anchors, values), read through Identity.
    rng = np.random.default_rng(2)
    w = rng.normal(0, 0.1, (3, 3, 3, 4)).astype(np.float16).astype(np.float32)
    bias = rng.normal(0, 0.5, 4).astype(np.float16).astype(np.float32)
    weights = {"w": w, "bias": bias, "pads": np.array([[0, 0], [0, 0], [0, 0], [0, 2]], np.int32)}
    weights["shape"] = np.array([1, 8, 3], np.int32)  # the (1, anchors, values) of a 256 px input
    conv = {"strides": _attr_list([1, 1, 1, 1]), "padding": _s("SAME"), "data_format": _s("NHWC")}
    fused = {**conv, "fused_ops": {"list": {"s": [_s("BiasAdd")["s"], _s("Relu")["s"]]}}}
    pool = {"strides": _attr_list([1, 2, 2, 1]), "ksize": _attr_list([1, 2, 2, 1]), "padding": _s("SAME")}
    nodes = [
        {"name": "c", "op": "_FusedConv2D", "input": ["x", "w", "bias"], "attr": fused},
        {"name": "p", "op": "MaxPool", "input": ["c"], "attr": pool},
        {"name": "wide", "op": "Pad", "input": ["p", "pads"]},
        {"name": "head", "op": "Reshape", "input": ["wide", "shape"]},
        {"name": "Identity", "op": "Identity", "input": ["head"]},
    ]
    graph = load_graph(_write(tmp_path, nodes, weights))
    model = build_onnx_outputs(graph, {"out": "Identity"}, InputPrep(None, False, (0, 0, 0)), "t")
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    for h, w_ in ((6, 8), (10, 6)):  # any input size: the anchors follow the picture's
        pixels = rng.integers(0, 256, (2, h, w_, 3), dtype=np.uint8)
        got = session.run(None, {INPUT: pixels})[0]
        y = np.maximum(_conv(pixels.astype(np.float64), w, 1, False) + bias, 0)
        y = y.reshape(2, h // 2, 2, w_ // 2, 2, 4).max(axis=(2, 4))
        y = np.concatenate([y, np.zeros((*y.shape[:3], 2))], axis=3)
        want = y.reshape(2, -1, 3)
        assert got.shape == want.shape == (2, h * w_ // 4 * 6 // 3, 3)
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
