"""Reads dlib's ``.dat`` network files into numpy arrays, without importing dlib.

Only what the two pretrained face networks use is supported: the face descriptor ResNet
(``dlib_face_recognition_resnet_model_v1.dat``) and the MMOD CNN face detector
(``mmod_human_face_detector.dat``). dlib stores no topology (tag and skip layers leave no record), so
this module returns the flat list of layer records from the innermost layer outwards; the exporter
knows where the residual connections go.

Layout (see dlib/serialize.h and dlib/dnn/*.h): an integer is one control byte (0x80 = negative, low
nibble = byte count) followed by its little-endian magnitude; a float is a packed int64 mantissa then a
packed int16 exponent; a tensor is version 2, then n, k, nr, nc, then raw little-endian float32 data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from izde.errors import IzdeError
from izde.vision.types import F32


class DlibFormatError(IzdeError):
    """A dlib model file is truncated, corrupt or of a kind izde cannot read."""


@dataclass(frozen=True, slots=True)
class Conv:
    weights: F32  # (out, in, kh, kw); dlib's convolution is a cross-correlation, like ONNX's
    bias: F32  # (out,)
    stride: tuple[int, int]  # (y, x)
    padding: tuple[int, int]  # (y, x)


@dataclass(frozen=True, slots=True)
class Affine:
    """Per-channel y = gamma * x + beta."""

    gamma: F32
    beta: F32


@dataclass(frozen=True, slots=True)
class BatchNorm:
    gamma: F32
    beta: F32
    running_mean: F32
    running_var: F32
    eps: float

    def folded(self) -> Affine:
        """The affine layer dlib itself builds from a batch-norm record at inference time.

        Done in float32 with the running statistics and the stored epsilon, as dlib's
        ``affine_(const bn_&)`` does, so the result matches dlib's own inference bit for bit.
        """
        g = (self.gamma / np.sqrt(self.running_var + np.float32(self.eps))).astype(np.float32)
        b = (self.beta - g * self.running_mean).astype(np.float32)
        return Affine(g, b)


@dataclass(frozen=True, slots=True)
class Relu:
    pass


@dataclass(frozen=True, slots=True)
class Pool:
    kind: str  # "max" or "avg"
    size: tuple[int, int]  # (nr, nc); (0, 0) means the whole image
    stride: tuple[int, int]
    padding: tuple[int, int]


@dataclass(frozen=True, slots=True)
class AddPrev:
    pass


@dataclass(frozen=True, slots=True)
class Fc:
    weights: F32  # (in, out): dlib multiplies x (N, in) by this
    bias: F32 | None


Layer = Conv | Affine | BatchNorm | Relu | Pool | AddPrev | Fc


@dataclass(frozen=True, slots=True)
class InputLayer:
    name: str
    mean: tuple[float, float, float]  # R, G, B
    size: tuple[int, int] | None = None  # (nr, nc) for a fixed-size input
    pyramid_padding: int = 10
    pyramid_outer_padding: int = 11


@dataclass(frozen=True, slots=True)
class Network:
    loss: str
    loss_options: dict[str, float] = field(repr=False)
    input: InputLayer
    layers: tuple[Layer, ...]  # innermost (next to the input) first


class _Reader:
    def __init__(self, data: bytes, source: str) -> None:
        self.data = data
        self.pos = 0
        self.source = source

    def fail(self, what: str) -> DlibFormatError:
        return DlibFormatError(
            f"{self.source} is not a dlib network file izde can read: {what} (at byte {self.pos})",
            "re-install face_recognition_models or point izde at an unmodified copy",
        )

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise self.fail("unexpected end of file")
        b = self.data[self.pos : self.pos + n]
        self.pos += n
        return b

    def read_int(self) -> int:
        ctrl = self.take(1)[0]
        n = ctrl & 0x0F
        if n == 0 or n > 8 or ctrl & 0x70:
            raise self.fail(f"bad integer control byte 0x{ctrl:02x}")
        v = int.from_bytes(self.take(n), "little")
        return -v if ctrl & 0x80 else v

    def count(self, what: str, limit: int = 1 << 31) -> int:
        v = self.read_int()
        if not 0 <= v <= limit:
            raise self.fail(f"implausible {what} {v}")
        return v

    def read_str(self) -> str:
        n = self.count("string length", 1 << 16)
        try:
            return self.take(n).decode("ascii")
        except UnicodeDecodeError:
            raise self.fail("a layer name is not ASCII") from None

    def read_float(self) -> float:
        mantissa, exponent = self.read_int(), self.read_int()
        # dlib's float_details marks non-finite values with reserved exponents.
        special = {32000: math.inf, 32001: -math.inf, 32002: math.nan, 32003: math.nan}
        if exponent in special:
            return special[exponent]
        try:
            return math.ldexp(mantissa, exponent)
        except OverflowError:
            raise self.fail("float out of range") from None

    def read_bool(self) -> bool:
        c = self.take(1)
        if c not in (b"0", b"1"):
            raise self.fail(f"bad boolean {c!r}")
        return c == b"1"

    def tensor(self) -> F32:
        if (v := self.read_int()) != 2:
            raise self.fail(f"tensor version {v}, expected 2")
        shape = tuple(self.count("tensor dimension") for _ in range(4))
        n = math.prod(shape)
        raw = self.take(4 * n)
        return np.frombuffer(raw, dtype="<f4").astype(np.float32).reshape(shape)

    def alias(self) -> tuple[int, int, int, int]:
        if (v := self.read_int()) != 1:
            raise self.fail(f"alias_tensor version {v}, expected 1")
        n, k, nr, nc = (self.count("tensor dimension") for _ in range(4))
        return n, k, nr, nc

    def expect(self, name: str) -> None:
        if (got := self.read_str()) != name:
            raise self.fail(f"expected {name!r}, found {got!r}")


def _slice(params: F32, offset: int, shape: tuple[int, ...], r: _Reader) -> F32:
    flat = params.reshape(-1)
    n = math.prod(shape)
    if offset + n > flat.size:
        raise r.fail("parameter tensor smaller than its parts")
    return flat[offset : offset + n].reshape(shape).copy()


def _conv(r: _Reader) -> Conv:
    params = r.tensor()
    num_filters, nr, nc = r.count("filters"), r.count("rows"), r.count("cols")
    stride = (r.count("stride"), r.count("stride"))
    padding = (r.count("padding"), r.count("padding"))
    fshape = r.alias()
    bshape = r.alias()
    for _ in range(4):  # learning-rate and weight-decay multipliers: training only
        r.read_float()
    if fshape[0] != num_filters or fshape[2:] != (nr, nc) or math.prod(bshape) != num_filters:
        raise r.fail("convolution shapes disagree")
    w = _slice(params, 0, fshape, r)
    b = _slice(params, w.size, (num_filters,), r)
    if w.size + b.size != params.size:
        raise r.fail("convolution parameter count is wrong")
    return Conv(w, b, stride, padding)


def _affine(r: _Reader) -> Affine:
    params = r.tensor()
    g, b = r.alias(), r.alias()
    r.read_int()  # mode: both networks use per-channel (conv) mode; shapes below say the same
    c = math.prod(g)
    if math.prod(b) != c or params.size != 2 * c:
        raise r.fail("affine shapes disagree")
    return Affine(_slice(params, 0, (c,), r), _slice(params, c, (c,), r))


def _bn(r: _Reader) -> BatchNorm:
    params = r.tensor()
    g, b = r.alias(), r.alias()
    r.tensor()  # means of the last training batch: not used at inference
    r.tensor()  # inverse std-devs of the last training batch
    running_mean, running_var = r.tensor().reshape(-1), r.tensor().reshape(-1)
    r.read_int()  # num_updates
    r.read_int()  # running_stats_window_size
    for _ in range(4):
        r.read_float()
    eps = r.read_float()
    c = math.prod(g)
    if math.prod(b) != c or params.size != 2 * c or running_mean.size != c or running_var.size != c:
        raise r.fail("batch-norm shapes disagree")
    return BatchNorm(_slice(params, 0, (c,), r), _slice(params, c, (c,), r), running_mean, running_var, eps)


def _pool(r: _Reader, kind: str) -> Pool:
    size = (r.count("rows"), r.count("cols"))
    stride = (r.count("stride"), r.count("stride"))
    padding = (r.count("padding"), r.count("padding"))
    return Pool(kind, size, stride, padding)


def _fc(r: _Reader) -> Fc:
    num_outputs, num_inputs = r.count("outputs"), r.count("inputs")
    params = r.tensor()
    wshape, bshape = r.alias(), r.alias()
    bias_mode = r.read_int()  # 0: with bias, 1: without
    for _ in range(4):
        r.read_float()
    if math.prod(wshape) != num_inputs * num_outputs:
        raise r.fail("fully connected shapes disagree")
    w = _slice(params, 0, (num_inputs, num_outputs), r)
    bias = _slice(params, w.size, (num_outputs,), r) if bias_mode == 0 and math.prod(bshape) > 0 else None
    return Fc(w, bias)


def _layer(r: _Reader) -> Layer:
    name = r.read_str()
    if name == "con_4":
        return _conv(r)
    if name == "affine_":
        return _affine(r)
    if name == "bn_con2":
        return _bn(r)
    if name == "relu_":
        return Relu()
    if name == "max_pool_2":
        return _pool(r, "max")
    if name == "avg_pool_2":
        return _pool(r, "avg")
    if name == "add_prev_":
        return AddPrev()
    if name == "fc_2":
        return _fc(r)
    raise r.fail(f"unsupported layer record {name!r}")


def _input(r: _Reader) -> InputLayer:
    name = r.read_str()
    mean = (r.read_float(), r.read_float(), r.read_float())
    if name == "input_rgb_image_sized":
        return InputLayer(name, mean, size=(r.count("rows"), r.count("cols")))
    if name == "input_rgb_image_pyramid":
        return InputLayer(name, mean)  # old record: dlib's default paddings 10 and 11
    if name == "input_rgb_image_pyramid2":
        padding, outer = r.count("padding"), r.count("padding")
        return InputLayer(name, mean, pyramid_padding=padding, pyramid_outer_padding=outer)
    raise r.fail(f"unsupported input layer {name!r}")


def _loss(r: _Reader) -> tuple[str, dict[str, float]]:
    name = r.read_str()
    if name == "loss_metric_2":
        return name, {"margin": r.read_float(), "distance_threshold": r.read_float()}
    if name == "loss_mmod_":
        if (v := r.read_int()) != 1:
            raise r.fail(f"mmod options version {v}, expected 1")
        opts = {"window_width": float(r.count("width")), "window_height": float(r.count("height"))}
        for key in (
            "loss_per_false_alarm",
            "loss_per_missed_target",
            "truth_match_iou_threshold",
            "nms_iou_thresh",
            "nms_percent_covered_thresh",
            "ignore_iou_thresh",
            "ignore_percent_covered_thresh",
        ):
            opts[key] = r.read_float()
        return name, opts
    raise r.fail(f"unsupported loss layer {name!r}")


def parse_network(data: bytes, source: str = "<bytes>") -> Network:
    """Parses one serialised dlib network (``net_type`` with a loss layer)."""
    r = _Reader(data, source)
    if (v := r.read_int()) != 1:
        raise r.fail(f"network version {v}, expected 1")
    loss, options = _loss(r)
    # One version number per layer wrapper, outermost first: 2 for a computational layer, 1 for a
    # tag or skip layer (no record later), 3 for the innermost layer that also holds the input layer.
    kinds: list[int] = []
    while True:
        v = r.read_int()
        if v not in (1, 2, 3):
            raise r.fail(f"layer wrapper version {v}")
        kinds.append(v)
        if v == 3:
            break
        if len(kinds) > 10_000:
            raise r.fail("no input layer found")
    inp = _input(r)
    layers: list[Layer] = []
    for v in reversed(kinds):
        if v == 1:
            continue
        layers.append(_layer(r))
        for _ in range(3):
            r.read_bool()
        for _ in range(3):  # gradients and cached outputs: empty in a saved model
            r.tensor()
        if v == 3:
            r.read_int()  # sample expansion factor
    if r.pos != len(data):
        raise r.fail(f"{len(data) - r.pos} unexpected bytes after the last layer")
    return Network(loss, options, inp, tuple(layers))


def load_network(path: Path | str) -> Network:
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as e:
        raise DlibFormatError(f"cannot read dlib model file {p}: {e}") from e
    return parse_network(data, str(p))
