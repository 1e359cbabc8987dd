"""dlib's MMOD pre- and post-processing in numpy: the tiled image pyramid, upsampling, box decoding, NMS.

Each function mirrors a dlib routine (named in its docstring) closely enough that the ONNX detector
returns the same rectangles as ``dlib.cnn_face_detection_model_v1``. Rectangles here are dlib's:
(left, top, right, bottom) with right and bottom inclusive.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from izde.vision.types import F32, Image

PYRAMID_RATE = 5.0 / 6.0  # pyramid_down<6>
MIN_LEVEL_HEIGHT = 5
NET_STRIDE = 8  # three stride-2 5x5 convolutions without padding: output (c, r) sits at input 8c+14
NET_OFFSET = 14
MIN_TENSOR_SIZE = 29  # smallest input side that leaves one cell after the three unpadded 5x5/2 convs

Rect = tuple[int, int, int, int]  # left, top, right, bottom (inclusive)


@dataclass(frozen=True, slots=True)
class TiledPyramid:
    rects: list[Rect]  # where each level sits in the tiled image; level 0 is the input
    height: int
    width: int


def tile_layout(nr: int, nc: int, padding: int = 10, outer_padding: int = 11) -> TiledPyramid:
    """dlib's impl::compute_tiled_image_pyramid_details for pyramid_down<6>."""
    if nr * nc == 0:
        return TiledPyramid([], 0, 0)
    sizes = [(nr, nc)]
    while True:
        nr, nc = math.floor(PYRAMID_RATE * nr), math.floor(PYRAMID_RATE * nc)
        if nr * nc == 0 or nr < MIN_LEVEL_HEIGHT:
            break
        sizes.append((nr, nc))
    h0, w0 = sizes[0]
    total_height = sum(h + padding for h, _ in sizes) - 2 * padding
    # The first column holds levels until the rest fit beside them, stacked up from the bottom right.
    height, prev_width = 0, 0
    for h, w in sizes:
        if w <= w0 - prev_width - padding and (height - h0) * 2 >= total_height - h0:
            break
        height += h + padding
        prev_width = w
    height -= padding
    rects: list[Rect] = []
    y, i = outer_padding, 0
    while y < height + outer_padding and i < len(sizes):
        h, w = sizes[i]
        rects.append((outer_padding, y, outer_padding + w - 1, y + h - 1))
        y += h + padding
        i += 1
    y -= padding
    first = rects[0]
    while i < len(sizes):
        h, w = sizes[i]
        right, bottom = outer_padding + w0 - 1, y - 1
        rect = (right - (w - 1), bottom - (h - 1), right, bottom)
        if _intersects(first, rect):
            break
        rects.append(rect)
        y -= h + padding
        i += 1
    return TiledPyramid(rects, height + 2 * outer_padding, w0 + 2 * outer_padding)


def _intersects(a: Rect, b: Rect) -> bool:
    return max(a[0], b[0]) <= min(a[2], b[2]) and max(a[1], b[1]) <= min(a[3], b[3])


def _steps(n_out: int, n_in: int) -> np.ndarray:
    # dlib's resize_image (used by pyramid_up) walks the source with a running sum in double; mirror it.
    scale = (n_in - 1) / max(n_out - 1, 1)
    steps = np.full(n_out, scale)
    steps[0] = 0.0
    return np.cumsum(steps)


@functools.lru_cache(maxsize=512)
def _tensor_coordinates(n_out: int, n_in: int) -> tuple[np.ndarray, np.ndarray, F32]:
    """Source indices and weights of dlib's cpu::resize_bilinear along one axis (float32, as dlib).

    Unlike resize_image (used for upsampling), the tensor resize computes each coordinate as r * scale in
    float32; mirroring that, rather than computing in float64, keeps the levels closest to dlib's.
    """
    scale = np.float32(n_in - 1) / np.float32(max(n_out - 1, 1))
    pos = np.arange(n_out, dtype=np.float32) * scale
    low = np.floor(pos).astype(np.intp)
    high = np.minimum(low + 1, n_in - 1)
    frac: F32 = (pos - low.astype(np.float32)).astype(np.float32)
    for a in (low, high, frac):
        a.flags.writeable = False  # shared by every frame of this size
    return low, high, frac


def resize_planes(src: np.ndarray, n_out: int, m_out: int) -> F32:
    """dlib's cpu::resize_bilinear on float planes (C, H, W): corners align, edges clamp.

    Same float32 arithmetic as dlib's loop, ``(1-tb)*((1-lr)*tl + lr*tr) + tb*((1-lr)*bl + lr*br)``, done
    separably: each used source row is blended across columns first, then the two rows are blended.
    np.take along one axis gathers whole rows or runs, far faster than per-pixel indexing.
    """
    x = src.astype(np.float32, copy=False)
    left, right, lr = _tensor_coordinates(m_out, x.shape[2])
    top, bottom, tb = _tensor_coordinates(n_out, x.shape[1])
    one = np.float32(1)
    cols = np.take(x, left, axis=2)
    cols *= one - lr
    tmp = np.take(x, right, axis=2)
    tmp *= lr
    cols += tmp
    out: F32 = np.take(cols, top, axis=1)
    out *= (one - tb)[:, None]
    tmp = np.take(cols, bottom, axis=1)
    tmp *= tb[:, None]
    out += tmp
    return out


def pyramid_tensor(image: Image, mean: tuple[float, float, float], layout: TiledPyramid) -> F32:
    """dlib's input_rgb_image_pyramid::to_tensor: (1, 3, H, W), zero between tiles.

    Each level is resized from the previous, already normalised level, as dlib does.
    """
    out = np.zeros((1, 3, layout.height, layout.width), np.float32)
    if not layout.rects:
        return out
    level = image.transpose(2, 0, 1).astype(np.float32)
    level -= np.asarray(mean, np.float32)[:, None, None]
    level /= np.float32(256.0)
    for i, (left, top, right, bottom) in enumerate(layout.rects):
        if i:
            level = resize_planes(level, bottom - top + 1, right - left + 1)
        out[0, :, top : bottom + 1, left : right + 1] = level
    return out


def pyramid_up(image: Image) -> Image:
    """dlib's pyramid_up(img, pyramid_down<2>) for RGB: a (2nr+1) x (2nc+2) bilinear resize.

    dlib resizes uint8 RGB four columns at a time in float32 SIMD code that truncates, then finishes the
    row in double precision; both paths are mirrored so the upsampled pixels match dlib's.
    """
    nr, nc = image.shape[:2]
    n_out, m_out = 2 * nr + 1, 2 * nc + 2
    src = image.astype(np.float32)
    y = _steps(n_out, nr)
    top = np.floor(y).astype(np.intp)
    bottom = np.minimum(top + 1, nr - 1)
    tb = y - top
    x_scale = (nc - 1) / max(m_out - 1, 1)

    # SIMD part: lane j starts at float32(-4s + j*s) and adds float32(4s) once per block of 4 columns.
    n_blocks = (m_out + 3) // 4 + 1
    lanes = np.empty((n_blocks, 4), np.float32)
    for j in range(4):
        seq = np.full(n_blocks + 1, np.float32(4 * x_scale), np.float32)
        seq[0] = np.float32(-4 * x_scale + j * x_scale)
        lanes[:, j] = np.cumsum(seq, dtype=np.float32)[1:]
    lx = lanes.reshape(-1)
    left = lx.astype(np.int32)  # truncation, as _mm_cvttps_epi32
    right = left + 1
    blocks_ok = right.reshape(n_blocks, 4)[:, 3] < nc
    n_simd = 4 * int(np.argmin(blocks_ok)) if not blocks_ok.all() else 4 * n_blocks
    n_simd = min(n_simd, m_out - (m_out % 4) if m_out % 4 else m_out)
    out = np.empty((n_out, m_out, 3), np.uint8)
    if n_simd:
        lf = lx[:n_simd]
        li, ri = left[:n_simd], right[:n_simd]
        lr = (lf - li.astype(np.float32)).astype(np.float32)
        inv_lr = (np.float32(1) - lr).astype(np.float32)
        tb32 = tb.astype(np.float32)[:, None, None]
        inv_tb32 = (1 - tb).astype(np.float32)[:, None, None]
        st, sb = src[top], src[bottom]
        acc = (inv_tb32 * inv_lr[None, :, None]) * st[:, li]
        acc = acc + (inv_tb32 * lr[None, :, None]) * st[:, ri]
        acc = acc + (tb32 * inv_lr[None, :, None]) * sb[:, li]
        acc = acc + (tb32 * lr[None, :, None]) * sb[:, ri]
        out[:, :n_simd] = acc.astype(np.int32).astype(np.uint8)
    if n_simd < m_out:
        steps = np.full(m_out - n_simd + 1, x_scale)
        steps[0] = -x_scale + n_simd * x_scale
        xs = np.cumsum(steps)[1:]  # the same running sum as dlib's scalar loop
        lt = np.floor(xs).astype(np.intp)
        rt = np.minimum(lt + 1, nc - 1)
        f = (xs - lt)[None, :, None]
        s64 = image.astype(np.float64)
        t, b = s64[top], s64[bottom]
        tbf = tb[:, None, None]
        val = (1 - tbf) * ((1 - f) * t[:, lt] + f * t[:, rt]) + tbf * ((1 - f) * b[:, lt] + f * b[:, rt])
        out[:, n_simd:] = val.astype(np.int32).astype(np.uint8)
    return out


def decode(
    scores: F32, layout: TiledPyramid, window: tuple[float, float] = (80.0, 80.0), threshold: float = 0.0
) -> tuple[list[Rect], list[float]]:
    """dlib's loss_mmod_::to_label: positive cells to image rectangles, best first, then greedy NMS.

    ``scores`` is the (h, w) output plane. NMS uses the iou threshold stored in the model file.
    """
    rows, cols = np.nonzero(scores > threshold)
    vals = scores[rows, cols].astype(np.float64)
    order = np.argsort(-vals, kind="stable")
    half_w, half_h = (window[0] - 1) / 2, (window[1] - 1) / 2
    rects: list[Rect] = []
    confs: list[float] = []
    for k in order:
        px = NET_STRIDE * int(cols[k]) + NET_OFFSET
        py = NET_STRIDE * int(rows[k]) + NET_OFFSET
        level = _nearest_rect(layout.rects, px, py)
        ox, oy = layout.rects[level][0], layout.rects[level][1]
        corners = [(px - half_w - ox, py - half_h - oy), (px + half_w - ox, py + half_h - oy)]
        mapped = []
        for cx, cy in corners:
            for _ in range(level):  # pyramid_down<6>::point_up
                cx, cy = cx * (6 / 5.0) + 0.3, cy * (6 / 5.0) + 0.3
            mapped.append((cx, cy))
        rects.append((_round(mapped[0][0]), _round(mapped[0][1]), _round(mapped[1][0]), _round(mapped[1][1])))
        confs.append(float(vals[k]))
    return rects, confs


def nms(rects: list[Rect], confs: list[float], iou_thresh: float) -> tuple[list[Rect], list[float]]:
    """Greedy, best first: drop a box that overlaps a kept one too much (dlib's test_box_overlap)."""
    kept: list[Rect] = []
    kept_conf: list[float] = []
    for r, c in zip(rects, confs, strict=True):
        if not any(_overlaps(k, r, iou_thresh) for k in kept):
            kept.append(r)
            kept_conf.append(c)
    return kept, kept_conf


def _area(r: Rect) -> int:
    return max(0, r[2] - r[0] + 1) * max(0, r[3] - r[1] + 1)


def _overlaps(a: Rect, b: Rect, iou_thresh: float) -> bool:
    inner = _area((max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])))
    if inner == 0:
        return False
    # dlib divides by the area of the bounding box of both, not of their union.
    outer = _area((min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])))
    return inner / outer > iou_thresh or inner / _area(a) > 1.0 or inner / _area(b) > 1.0


def _nearest_rect(rects: list[Rect], x: int, y: int) -> int:
    best, best_d = 0, math.inf
    for i, (left, top, right, bottom) in enumerate(rects):
        if left <= x <= right and top <= y <= bottom:
            return i
        dx = x - min(max(x, left), right)
        dy = y - min(max(y, top), bottom)
        d = math.hypot(dx, dy)
        if d < best_d:
            best, best_d = i, d
    return best


def _round(v: float) -> int:
    """std::round: halves away from zero (Python's round() would round them to even)."""
    return math.floor(v + 0.5) if v >= 0 else -math.floor(-v + 0.5)


def rect_down_2(rect: Rect, levels: int) -> Rect:
    """pyramid_down<2>::rect_down, undoing the upsampling steps: p/2 - (1.25, 0.75) per level."""
    left, top, right, bottom = (float(v) for v in rect)
    for _ in range(levels):
        left, right = left / 2.0 - 1.25, right / 2.0 - 1.25
        top, bottom = top / 2.0 - 0.75, bottom / 2.0 - 0.75
    return _round(left), _round(top), _round(right), _round(bottom)
