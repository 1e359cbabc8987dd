"""Builds ONNX graphs from TF.js graph models (``model.json`` + weight shards), without TensorFlow.

A TF.js graph model is a TensorFlow GraphDef written as JSON, its constants packed in binary shards described
by a weights manifest (here stored as float16 and widened back to float32, exactly as TF.js does on load).
Only the ops the networks izde uses need translating (FaceRes's descriptor, BlazeFace's detector), and only the
part of the graph that computes the requested outputs is exported: heads the package also carries (the age and
gender classifiers next to FaceRes's descriptor) are left out, so izde never computes them.

TensorFlow works in NHWC; the exported graph transposes its input to NCHW once and keeps every 4-D tensor
NCHW, so per-channel constants are reshaped to (C, 1, 1) and filters reordered to ONNX's OIHW.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from izde.errors import IzdeError

OPSET = 17
IR_VERSION = 8
EXPORT_VERSION = "2"  # bump when the graphs change, so cached files are rebuilt

INPUT = "images"  # (N, H, W, 3) uint8 RGB
OUTPUT = "features"  # (N, D) float32, the network's raw output (not normalised)

_F16 = np.dtype("<f2")
_NHWC_TO_NCHW_AXIS = {0: 0, 1: 2, 2: 3, 3: 1, -1: 1, -2: 3, -3: 2}


class TfjsFormatError(IzdeError):
    """A TF.js model file is malformed or uses something this exporter does not translate."""


@dataclass(frozen=True)
class TfjsGraph:
    nodes: dict[str, dict[str, Any]]  # name -> GraphDef node (op, input, attr)
    weights: dict[str, np.ndarray]  # constant name -> value (float16 widened to float32)
    inputs: tuple[str, ...]  # Placeholder names


@dataclass(frozen=True, slots=True)
class InputPrep:
    """What a network expects of its pixels, applied inside the exported graph to uint8 RGB input."""

    size: tuple[int, int] | None  # height, width; None: any (a fully convolutional network)
    bgr: bool  # reverse the channels first (networks trained with OpenCV/Caffe conventions)
    mean: tuple[float, float, float]  # subtracted per channel, in the network's channel order
    scale: float = 1.0  # multiplied after the mean is subtracted


def _decode_weight(spec: dict[str, Any], buf: memoryview, offset: int) -> tuple[np.ndarray, int]:
    shape = [int(s) for s in spec["shape"]]
    count = int(np.prod(shape)) if shape else 1
    quant = spec.get("quantization")
    dtype = spec["dtype"]
    if quant is not None:
        if quant.get("dtype") != "float16" or dtype != "float32":
            raise TfjsFormatError(f"weight {spec['name']}: quantization {quant} is not supported")
        n_bytes = 2 * count
        value = np.frombuffer(buf[offset : offset + n_bytes], _F16).astype(np.float32)
    elif dtype in ("float32", "int32"):
        n_bytes = 4 * count
        value = np.frombuffer(buf[offset : offset + n_bytes], np.dtype("<f4" if dtype == "float32" else "<i4"))
    else:
        raise TfjsFormatError(f"weight {spec['name']}: dtype {dtype} is not supported")
    if value.size != count:
        raise TfjsFormatError(f"the weight shards end inside weight {spec['name']}")
    return value.reshape(shape).copy(), offset + n_bytes


def load_graph(model_json: Path) -> TfjsGraph:
    """The graph and its constants; shards are read from the model file's directory."""
    try:
        doc = json.loads(model_json.read_text())
    except (OSError, ValueError) as e:
        raise TfjsFormatError(f"cannot read TF.js model {model_json}: {e}") from e
    if doc.get("format") != "graph-model":
        raise TfjsFormatError(f"{model_json} is not a TF.js graph model (format {doc.get('format')!r})")
    weights: dict[str, np.ndarray] = {}
    for group in doc["weightsManifest"]:
        try:
            data = b"".join((model_json.parent / p).read_bytes() for p in group["paths"])
        except OSError as e:
            raise TfjsFormatError(f"cannot read a weight shard of {model_json}: {e}") from e
        buf, offset = memoryview(data), 0
        for spec in group["weights"]:
            weights[spec["name"]], offset = _decode_weight(spec, buf, offset)
        if offset != len(data):
            raise TfjsFormatError(f"{len(data) - offset} bytes left over in the weight shards of {model_json}")
    nodes = {n["name"]: n for n in doc["modelTopology"]["node"]}
    inputs = tuple(n for n, v in nodes.items() if v["op"] == "Placeholder")
    return TfjsGraph(nodes, weights, inputs)


def _ints(attr: dict[str, Any], key: str) -> list[int]:
    return [int(v) for v in attr.get(key, {}).get("list", {}).get("i", [])]


def _str(attr: dict[str, Any], key: str) -> str:
    s = attr.get(key, {}).get("s")
    return base64.b64decode(s).decode() if s else ""


def _name(ref: str) -> str:
    # GraphDef inputs may be "node:1" (second output) or "^node" (control edge).
    return ref.lstrip("^").split(":")[0]


@dataclass
class _Builder:
    graph: TfjsGraph
    nodes: list[onnx.NodeProto] = field(default_factory=list)
    inits: list[onnx.TensorProto] = field(default_factory=list)
    done: dict[str, str] = field(default_factory=dict)  # TF node -> ONNX value name
    rank: dict[str, int] = field(default_factory=dict)  # ONNX value -> rank (4 means NCHW)
    n: int = 0

    def const(self, prefix: str, value: np.ndarray) -> str:
        self.n += 1
        name = f"{prefix}_{self.n}"
        self.inits.append(numpy_helper.from_array(value, name))
        self.rank[name] = value.ndim
        return name

    def op(self, op_type: str, inputs: list[str], rank: int, **attrs: Any) -> str:
        self.n += 1
        out = f"{op_type.lower()}_{self.n}"
        self.nodes.append(helper.make_node(op_type, inputs, [out], **attrs))
        self.rank[out] = rank
        return out

    def constant(self, tf_name: str) -> np.ndarray:
        node = self.graph.nodes[tf_name]
        if node["op"] != "Const" or tf_name not in self.graph.weights:
            raise TfjsFormatError(f"{tf_name} should be a constant with stored weights, found {node['op']}")
        return self.graph.weights[tf_name]

    def value(self, tf_name: str) -> str:
        """The ONNX value computing a TF node, translating it (and what it needs) first."""
        if tf_name in self.done:
            return self.done[tf_name]
        # Iterative post-order: these graphs are deep chains and recursion would reach Python's limit.
        stack = [tf_name]
        while stack:
            name = stack[-1]
            if name in self.done:
                stack.pop()
                continue
            node = self.graph.nodes.get(name)
            if node is None:
                raise TfjsFormatError(f"the graph refers to a missing node {name}")
            pending = [
                _name(i)
                for i in node.get("input", [])
                if not i.startswith("^") and _name(i) not in self.done and self.graph.nodes[_name(i)]["op"] != "Const"
            ]
            if pending:
                stack.extend(pending)
                continue
            self.done[name] = self._translate(name, node)
            stack.pop()
        return self.done[tf_name]

    def _operand(self, ref: str, other_rank: int) -> str:
        """A binary op's input; a per-channel constant next to a 4-D tensor is reshaped for NCHW."""
        name = _name(ref)
        if self.graph.nodes[name]["op"] != "Const":
            return self.done[name]
        c = self.constant(name)
        if other_rank == 4 and c.ndim == 1 and c.size > 1:
            c = c.reshape(-1, 1, 1)
        elif other_rank == 4 and c.ndim == 4:
            c = c.transpose(0, 3, 1, 2)
        return self.const(name.replace("/", "_"), c)

    def _activation(self, op: str, x: str) -> str:
        if op == "Relu6":
            lo, hi = self.const("zero", np.array(0, np.float32)), self.const("six", np.array(6, np.float32))
            return self.op("Clip", [x, lo, hi], self.rank[x])
        return self.op(op, [x], self.rank[x])

    def _translate(self, name: str, node: dict[str, Any]) -> str:
        op, attr = node["op"], node.get("attr", {})
        ins = [i for i in node.get("input", []) if not i.startswith("^")]
        if op == "Placeholder":
            raise TfjsFormatError(f"input {name} must be bound before the graph is translated")
        if op in ("Conv2D", "DepthwiseConv2dNative"):
            if _str(attr, "data_format") not in ("", "NHWC"):
                raise TfjsFormatError(f"{name}: only NHWC convolutions are supported")
            padding = _str(attr, "padding")
            if padding not in ("SAME", "VALID"):
                raise TfjsFormatError(f"{name}: padding {padding} is not supported")
            x = self.done[_name(ins[0])]
            w = self.constant(_name(ins[1]))  # HWIO (Conv2D) or HWCM (depthwise)
            kh, kw = int(w.shape[0]), int(w.shape[1])
            if op == "Conv2D":
                weight, group = w.transpose(3, 2, 0, 1), 1
            else:
                c, m = int(w.shape[2]), int(w.shape[3])
                weight, group = w.reshape(kh, kw, c * m).transpose(2, 0, 1)[:, None], c
            strides = _ints(attr, "strides")[1:3] or [1, 1]
            dilations = _ints(attr, "dilations")[1:3] or [1, 1]
            # TF's SAME puts the odd padding pixel at the end, which is ONNX's SAME_UPPER.
            pad = {"auto_pad": "SAME_UPPER"} if padding == "SAME" else {"pads": [0, 0, 0, 0]}
            wname = self.const(_name(ins[1]).replace("/", "_"), np.ascontiguousarray(weight, np.float32))
            return self.op(
                "Conv", [x, wname], 4, kernel_shape=[kh, kw], strides=strides, dilations=dilations, group=group, **pad
            )
        if op == "_FusedConv2D":
            # Grappler's fusion of a convolution with its bias (and an activation): translated back apart.
            fused = [base64.b64decode(f).decode() for f in attr.get("fused_ops", {}).get("list", {}).get("s", [])]
            if not fused or fused[0] != "BiasAdd" or any(f not in ("Relu", "Relu6") for f in fused[1:]):
                raise TfjsFormatError(f"{name}: fused ops {fused} are not supported")
            y = self._translate(name, {"op": "Conv2D", "attr": attr, "input": ins[:2]})
            bias = self.constant(_name(ins[2]))
            y = self.op("Add", [y, self.const(_name(ins[2]).replace("/", "_"), bias.reshape(-1, 1, 1))], 4)
            for f in fused[1:]:
                y = self._activation(f, y)
            return y
        if op == "MaxPool":
            if _str(attr, "data_format") not in ("", "NHWC"):
                raise TfjsFormatError(f"{name}: only NHWC pooling is supported")
            pad = {"auto_pad": "SAME_UPPER"} if _str(attr, "padding") == "SAME" else {}
            x = self.done[_name(ins[0])]
            return self.op(
                "MaxPool", [x], 4, kernel_shape=_ints(attr, "ksize")[1:3], strides=_ints(attr, "strides")[1:3], **pad
            )
        if op == "Pad":
            x = self.done[_name(ins[0])]
            nhwc = self.constant(_name(ins[1])).astype(np.int64).reshape(-1, 2)
            if self.rank[x] != 4 or nhwc.shape != (4, 2):
                raise TfjsFormatError(f"{name}: only 4-D padding is supported")
            nchw = nhwc[[0, 3, 1, 2]]
            return self.op("Pad", [x, self.const("pads", np.concatenate([nchw[:, 0], nchw[:, 1]]))], 4)
        if op == "Reshape":
            # The TF shape is of the NHWC tensor: back to NHWC first. The batch size is kept from the input (0
            # copies it), and a detector head's (1, anchors, values) keeps its anchors free (-1), so a fully
            # convolutional detector runs on inputs of any size, its anchors following the picture's.
            x = self.done[_name(ins[0])]
            if self.rank[x] == 4:
                x = self.op("Transpose", [x], 4, perm=[0, 2, 3, 1])
            shape = self.constant(_name(ins[1])).astype(np.int64).reshape(-1).copy()
            shape[0] = 0
            if len(shape) == 3:
                shape[1] = -1
            return self.op("Reshape", [x, self.const("shape", shape)], len(shape))
        if op == "Identity":
            return self.done[_name(ins[0])]
        if op in ("Add", "AddV2", "Mul", "Sub", "Minimum", "Maximum", "BiasAdd"):
            ranks = [self.rank.get(self.done.get(_name(i), ""), 0) for i in ins]
            r = max(ranks)
            onnx_op = {"AddV2": "Add", "BiasAdd": "Add", "Minimum": "Min", "Maximum": "Max"}.get(op, op)
            return self.op(onnx_op, [self._operand(i, r) for i in ins], r)
        if op in ("Relu", "Relu6", "Sigmoid"):
            return self._activation(op, self.done[_name(ins[0])])
        if op == "Mean":
            x = self.done[_name(ins[0])]
            axes = [int(a) for a in np.atleast_1d(self.constant(_name(ins[1])))]
            keep = bool(attr.get("keep_dims", {}).get("b", False))
            if self.rank[x] == 4:
                axes = [_NHWC_TO_NCHW_AXIS[a] for a in axes]
                if keep:
                    raise TfjsFormatError(f"{name}: a kept-dims mean over an NHWC tensor is not supported")
            return self.op("ReduceMean", [x], self.rank[x] - (0 if keep else len(axes)), axes=axes, keepdims=int(keep))
        raise TfjsFormatError(f"{name}: op {op} is not supported by izde's TF.js exporter")


def build_onnx(graph: TfjsGraph, output: str, prep: InputPrep, model_name: str) -> onnx.ModelProto:
    """ONNX for the part of ``graph`` that computes ``output``: uint8 RGB (N, H, W, 3) in, the output out."""
    return build_onnx_outputs(graph, {OUTPUT: output}, prep, model_name)


def build_onnx_outputs(graph: TfjsGraph, outputs: dict[str, str], prep: InputPrep, model_name: str) -> onnx.ModelProto:
    """ONNX for the part of ``graph`` computing ``outputs`` (ONNX output name -> TF node): uint8 RGB
    (N, H, W, 3) in, each output as the graph computes it (the batch size left free)."""
    if len(graph.inputs) != 1:
        raise TfjsFormatError(f"expected one graph input, found {len(graph.inputs)}")
    b = _Builder(graph)
    x = b.op("Cast", [INPUT], 4, to=TensorProto.FLOAT)
    if prep.bgr:
        x = b.op("Gather", [x, b.const("bgr", np.array([2, 1, 0], np.int64))], 4, axis=3)
    x = b.op("Sub", [x, b.const("mean", np.array(prep.mean, np.float32).reshape(1, 1, 1, 3))], 4)
    if prep.scale != 1.0:
        x = b.op("Mul", [x, b.const("scale", np.array(prep.scale, np.float32))], 4)
    b.done[graph.inputs[0]] = b.op("Transpose", [x], 4, perm=[0, 3, 1, 2])
    infos = []
    for onnx_name, tf_name in outputs.items():
        out = b.value(_name(tf_name))
        b.nodes.append(helper.make_node("Identity", [out], [onnx_name]))
        dims = ["N"] + [f"{onnx_name}_{i}" for i in range(1, b.rank[out])]
        infos.append(helper.make_tensor_value_info(onnx_name, TensorProto.FLOAT, dims))
    h, w = prep.size or ("H", "W")
    onnx_graph = helper.make_graph(
        b.nodes,
        model_name,
        [helper.make_tensor_value_info(INPUT, TensorProto.UINT8, ["N", h, w, 3])],
        infos,
        b.inits,
    )
    model = helper.make_model(onnx_graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="izde")
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model)
    return model
