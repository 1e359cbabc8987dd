"""Faces carried from one analysed frame to the next by sparse optical flow, instead of being detected again.

Between two analysed frames (0.2 s at 5 frames/s) a tracked face moves and grows a little; following a grid of
points on it with pyramidal Lucas-Kanade (OpenCV) costs about a millisecond, where searching for it again with
HOG costs tens (one upsampling, around the face) to hundreds (a full frame). The carried box is the median
flow's: shifted by the points' median displacement and scaled by the median ratio of their pairwise distances
(Kalal et al., "Forward-Backward Error", 2010). Each point is also tracked backwards; points that do not come
back to where they started (occlusion, a face turning away, motion blur) are dropped, and a face with too few
reliable points is not carried: the caller searches for it instead, so a flow failure costs time, not a face.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from izde.vision.types import I32, Image

# Points sampled on the face: a regular grid over its inner part (the box's edges hold background).
GRID = 10
INNER = 0.8
# A point is reliable when tracking it back lands within this many pixels (or this share of the face width,
# whichever is larger) of where it started; MedianFlow's own test.
MAX_FB_PX = 1.0
MAX_FB_FRACTION = 0.03
# Fewer reliable points than this share of the grid: the face is not carried.
MIN_RELIABLE = 0.3
# Search window and pyramid: a 15 px window over 3 halvings follows a face moving up to ~100 px between frames,
# beyond what a walking face does in 0.2 s at 1080p; the crop around the face bounds the cost.
WINDOW = (15, 15)
LEVELS = 3
# Around the face, this many face widths on each side are cut from both frames for the flow.
CROP_MARGIN = 1.0
# A carried face may change size by at most this factor between two analysed frames.
MAX_SCALE_STEP = 1.3


@dataclass(frozen=True, slots=True)
class CarryResult:
    boxes: I32  # (K, 4) carried boxes (the input box where ``ok`` is False)
    ok: np.ndarray  # (K,) bool: carried; False: search for this face instead


def grey(image: Image) -> Image:
    """The single-channel picture the flow runs on (RGB in)."""
    return np.asarray(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), np.uint8)


def _grid(box: np.ndarray) -> np.ndarray:
    x0, y0, x1, y1 = box.astype(np.float32)
    w, h = x1 - x0, y1 - y0
    inset_x, inset_y = w * (1 - INNER) / 2, h * (1 - INNER) / 2
    xs = np.linspace(x0 + inset_x, x1 - inset_x, GRID, dtype=np.float32)
    ys = np.linspace(y0 + inset_y, y1 - inset_y, GRID, dtype=np.float32)
    return np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 1, 2)


def _median_scale(p0: np.ndarray, p1: np.ndarray) -> float:
    i, j = np.triu_indices(len(p0), k=1)
    d0 = np.linalg.norm(p0[i] - p0[j], axis=1)
    d1 = np.linalg.norm(p1[i] - p1[j], axis=1)
    usable = d0 > 1e-3
    return float(np.median(d1[usable] / d0[usable])) if usable.any() else 1.0


def carry_one(prev: Image, cur: Image, box: np.ndarray, guess: np.ndarray | None = None) -> np.ndarray | None:
    """``box`` of ``prev`` moved onto ``cur`` (both grey, same size), or None when the flow is unreliable.

    ``guess``: where the face is expected in ``cur`` (e.g. the constant-velocity prediction), the flow's start."""
    h, w = prev.shape[:2]
    bw, bh = float(box[2] - box[0]), float(box[3] - box[1])
    if bw < 4 or bh < 4:
        return None
    shift = np.zeros(2, np.float32) if guess is None else (guess[:2] + guess[2:] - box[:2] - box[2:]) / 2
    # One crop of both frames holding the face before and after (its guessed position included).
    m = CROP_MARGIN * max(bw, bh)
    cx0 = int(max(0, min(box[0], box[0] + shift[0]) - m))
    cy0 = int(max(0, min(box[1], box[1] + shift[1]) - m))
    cx1 = int(min(w, max(box[2], box[2] + shift[0]) + m))
    cy1 = int(min(h, max(box[3], box[3] + shift[1]) + m))
    if cx1 - cx0 < 8 or cy1 - cy0 < 8:
        return None
    a, b = prev[cy0:cy1, cx0:cx1], cur[cy0:cy1, cx0:cx1]
    origin = np.array([cx0, cy0], np.float32)
    p0 = _grid(box) - origin
    start = (p0 + shift).astype(np.float32)
    p1, st1, _ = cv2.calcOpticalFlowPyrLK(
        a, b, p0, start, winSize=WINDOW, maxLevel=LEVELS, flags=cv2.OPTFLOW_USE_INITIAL_FLOW
    )
    if p1 is None:
        return None
    back, st2, _ = cv2.calcOpticalFlowPyrLK(
        b, a, p1, p0.copy(), winSize=WINDOW, maxLevel=LEVELS, flags=cv2.OPTFLOW_USE_INITIAL_FLOW
    )
    if back is None:
        return None
    fb = np.linalg.norm((back - p0).reshape(-1, 2), axis=1)
    good = (st1.reshape(-1) == 1) & (st2.reshape(-1) == 1) & (fb <= max(MAX_FB_PX, MAX_FB_FRACTION * bw))
    if good.sum() < MIN_RELIABLE * GRID * GRID:
        return None
    # MedianFlow keeps the better half of the reliable points.
    good &= fb <= np.median(fb[good])
    q0, q1 = p0.reshape(-1, 2)[good], p1.reshape(-1, 2)[good]
    if len(q0) < 4:
        return None
    d = np.median(q1 - q0, axis=0)
    scale = _median_scale(q0, q1)
    if not 1 / MAX_SCALE_STEP <= scale <= MAX_SCALE_STEP:
        return None
    centre = (box[:2] + box[2:]) / 2 + d
    half = np.array([bw, bh]) * scale / 2
    out = np.round(np.concatenate([centre - half, centre + half])).astype(np.int32)
    # A face carried out of the picture is gone, not carried.
    if out[0] < 0 or out[1] < 0 or out[2] > w or out[3] > h:
        return None
    return out


def carry(prev: Image, cur: Image, boxes: np.ndarray, guesses: np.ndarray | None = None) -> CarryResult:
    """Each of ``boxes`` (faces in ``prev``) carried onto ``cur``; grey frames from :func:`grey`."""
    out = np.asarray(boxes, np.int32).reshape(-1, 4).copy()
    ok = np.zeros(len(out), bool)
    for i, box in enumerate(out.copy()):
        moved = carry_one(prev, cur, box, None if guesses is None else np.asarray(guesses[i], np.float32))
        if moved is not None:
            out[i], ok[i] = moved, True
    return CarryResult(out, ok)
