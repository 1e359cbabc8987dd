"""Builds ONNX graphs of dlib's face descriptor ResNet and MMOD face detector from parsed weights.

Both graphs compute what dlib computes, layer for layer; the only rewrite is folding each per-channel
affine (and each batch-norm, via its running statistics) into the convolution before it, which changes
results by float32 rounding only (about 1e-6 on a descriptor).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from izde.vision.dlibfile import (
    AddPrev,
    Affine,
    BatchNorm,
    Conv,
    DlibFormatError,
    Fc,
    Layer,
    Network,
    Pool,
    Relu,
)
from izde.vision.types import CHIP_SIZE, DESCRIPTOR_DIM, F32

_T = TypeVar("_T")

OPSET = 17
IR_VERSION = 8  # the lowest IR that carries opset 17: readable by any onnxruntime since 1.10
EXPORT_VERSION = "1"  # bump when the graphs change, so cached files are rebuilt

RESNET_INPUT = "chips"  # (N, 150, 150, 3) uint8 RGB
RESNET_OUTPUT = "descriptors"  # (N, 128) float32
MMOD_INPUT = "image"  # (N, 3, H, W) float32, normalised tiled pyramid
MMOD_OUTPUT = "scores"  # (N, 1, (H-14)/8 roughly, ...) float32


@dataclass
class _Graph:
    nodes: list[onnx.NodeProto] = field(default_factory=list)
    inits: list[onnx.TensorProto] = field(default_factory=list)
    n: int = 0

    def name(self, prefix: str) -> str:
        self.n += 1
        return f"{prefix}_{self.n}"

    def const(self, prefix: str, value: np.ndarray) -> str:
        name = self.name(prefix)
        self.inits.append(numpy_helper.from_array(value, name))
        return name

    def op(self, op_type: str, inputs: list[str], prefix: str | None = None, **attrs: Any) -> str:
        out = self.name(prefix or op_type.lower())
        self.nodes.append(helper.make_node(op_type, inputs, [out], **attrs))
        return out


class _Records:
    """The layer records, consumed in order with a clear error when they are not what the network needs."""

    def __init__(self, layers: tuple[Layer, ...], what: str) -> None:
        self._it: Iterator[Layer] = iter(layers)
        self._next: Layer | None = next(self._it, None)
        self.what = what

    def peek(self) -> Layer | None:
        return self._next

    def take(self, kind: type[_T]) -> _T:
        got = self._next
        if not isinstance(got, kind):
            raise DlibFormatError(
                f"the {self.what} file has an unexpected layer sequence: "
                f"expected {kind.__name__}, found {type(got).__name__ if got is not None else 'the end'}"
            )
        self._next = next(self._it, None)
        return got


def _fold(conv: Conv, affine: Affine | None) -> tuple[F32, F32]:
    if affine is None:
        return conv.weights, conv.bias
    g = affine.gamma.astype(np.float32)
    w = (conv.weights * g[:, None, None, None]).astype(np.float32)
    b = (conv.bias * g + affine.beta).astype(np.float32)
    return w, b


def _conv(g: _Graph, x: str, conv: Conv, affine: Affine | None, relu: bool) -> str:
    w, b = _fold(conv, affine)
    kh, kw = w.shape[2:]
    py, px = conv.padding
    y = g.op(
        "Conv",
        [x, g.const("w", w), g.const("b", b)],
        kernel_shape=[kh, kw],
        strides=list(conv.stride),
        pads=[py, px, py, px],
    )
    return g.op("Relu", [y]) if relu else y


def _out_size(size: int, k: int, s: int, p: int) -> int:
    return (size + 2 * p - k) // s + 1


def _pad_to(g: _Graph, x: str, shape: tuple[int, int, int], target: tuple[int, int, int]) -> str:
    """Zero-pads at the end of channels, rows and columns, as dlib's add_prev does for mismatched sizes."""
    extra = [t - s for s, t in zip(shape, target, strict=True)]
    if not any(extra):
        return x
    pads = np.array([0, 0, 0, 0, 0, *extra], dtype=np.int64)
    return g.op("Pad", [x, g.const("pads", pads)])


def build_resnet(net: Network) -> onnx.ModelProto:
    """The 128-d face descriptor network: uint8 RGB chips in, dlib's descriptors out (not L2-normalised)."""
    if net.loss != "loss_metric_2" or net.input.size != (CHIP_SIZE, CHIP_SIZE):
        raise DlibFormatError("this is not dlib's 150x150 face descriptor network")
    g = _Graph()
    rec = _Records(net.layers, "face descriptor")
    # (pixel - mean) / 256 in float32, RGB planes: dlib's input_rgb_image_sized::to_tensor.
    x = g.op("Cast", [RESNET_INPUT], to=TensorProto.FLOAT)
    x = g.op("Sub", [x, g.const("mean", np.array(net.input.mean, np.float32).reshape(1, 1, 1, 3))])
    x = g.op("Mul", [x, g.const("scale", np.array(1 / 256, np.float32))])  # exact: a power of two
    x = g.op("Transpose", [x], perm=[0, 3, 1, 2])
    shape = (3, CHIP_SIZE, CHIP_SIZE)

    def conv_block(x: str, shape: tuple[int, int, int], relu: bool) -> tuple[str, tuple[int, int, int]]:
        c = rec.take(Conv)
        a = rec.take(Affine)
        if relu:
            rec.take(Relu)
        k = c.weights.shape[2]
        h = _out_size(shape[1], k, c.stride[0], c.padding[0])
        w = _out_size(shape[2], c.weights.shape[3], c.stride[1], c.padding[1])
        return _conv(g, x, c, a, relu), (c.weights.shape[0], h, w)

    def pool(x: str, shape: tuple[int, int, int]) -> tuple[str, tuple[int, int, int]]:
        p = rec.take(Pool)
        (kh, kw), (sy, sx), (py, px) = p.size, p.stride, p.padding
        if (kh, kw) == (0, 0):
            return g.op("GlobalAveragePool", [x]), (shape[0], 1, 1)
        if (py, px) != (0, 0):
            raise DlibFormatError("padded pooling is not used by dlib's face networks and is not supported")
        op = "MaxPool" if p.kind == "max" else "AveragePool"
        y = g.op(op, [x], kernel_shape=[kh, kw], strides=[sy, sx])
        return y, (shape[0], _out_size(shape[1], kh, sy, 0), _out_size(shape[2], kw, sx, 0))

    x, shape = conv_block(x, shape, relu=True)
    x, shape = pool(x, shape)
    # Residual units: conv-affine-relu-conv-affine, then (only in a down-sampling unit, whose first conv
    # has stride 2) a 2x2 average pool of the unit's input, then the sum and a relu.
    while isinstance(rec.peek(), Conv):
        x_in, in_shape = x, shape
        y, y_shape = conv_block(x_in, in_shape, relu=True)
        y, y_shape = conv_block(y, y_shape, relu=False)
        if isinstance(rec.peek(), Pool):
            s, s_shape = pool(x_in, in_shape)
        else:
            s, s_shape = x_in, in_shape
        rec.take(AddPrev)
        target = (max(y_shape[0], s_shape[0]), max(y_shape[1], s_shape[1]), max(y_shape[2], s_shape[2]))
        x = g.op("Add", [_pad_to(g, y, y_shape, target), _pad_to(g, s, s_shape, target)])
        x = g.op("Relu", [x])
        rec.take(Relu)
        shape = target
    x, shape = pool(x, shape)
    if shape[1:] != (1, 1):
        raise DlibFormatError("the face descriptor network does not end in a global average pool")
    fc = rec.take(Fc)
    if fc.weights.shape != (shape[0], DESCRIPTOR_DIM):
        raise DlibFormatError(f"unexpected descriptor layer shape {fc.weights.shape}")
    x = g.op("Flatten", [x])
    y = g.op("MatMul", [x, g.const("fc", fc.weights)])
    if fc.bias is not None:
        y = g.op("Add", [y, g.const("fc_bias", fc.bias)])
    if rec.peek() is not None:
        raise DlibFormatError("the face descriptor file has layers after its last one")
    g.nodes.append(helper.make_node("Identity", [y], [RESNET_OUTPUT]))
    graph = helper.make_graph(
        g.nodes,
        "dlib_face_recognition_resnet_model_v1",
        [helper.make_tensor_value_info(RESNET_INPUT, TensorProto.UINT8, ["N", CHIP_SIZE, CHIP_SIZE, 3])],
        [helper.make_tensor_value_info(RESNET_OUTPUT, TensorProto.FLOAT, ["N", DESCRIPTOR_DIM])],
        g.inits,
    )
    return _model(graph)


def build_mmod(net: Network) -> onnx.ModelProto:
    """The MMOD CNN: a normalised tiled pyramid (N, 3, H, W) in, the detection score map out."""
    if net.loss != "loss_mmod_":
        raise DlibFormatError("this is not dlib's MMOD detector network")
    g = _Graph()
    rec = _Records(net.layers, "MMOD detector")
    x = MMOD_INPUT
    while rec.peek() is not None:
        c = rec.take(Conv)
        norm = rec.peek()
        affine: Affine | None = None
        if isinstance(norm, BatchNorm):
            affine = rec.take(BatchNorm).folded()
        elif isinstance(norm, Affine):
            affine = rec.take(Affine)
        relu = isinstance(rec.peek(), Relu)
        if relu:
            rec.take(Relu)
        x = _conv(g, x, c, affine, relu)
    g.nodes.append(helper.make_node("Identity", [x], [MMOD_OUTPUT]))
    graph = helper.make_graph(
        g.nodes,
        "mmod_human_face_detector",
        [helper.make_tensor_value_info(MMOD_INPUT, TensorProto.FLOAT, ["N", 3, "H", "W"])],
        [helper.make_tensor_value_info(MMOD_OUTPUT, TensorProto.FLOAT, ["N", 1, "h", "w"])],
        g.inits,
    )
    return _model(graph)


def _model(graph: onnx.GraphProto) -> onnx.ModelProto:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="izde")
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model)
    return model
