"""Regions of a frame worth searching for faces, and detection inside them at full resolution.

Pure functions over boxes ``(K, 4)`` left, top, right, bottom (right/bottom exclusive). Regions are merged
where that costs nothing, so a few crops cover the moving areas; the crops keep the frame's resolution, so a
face small enough to need upsampling is still found.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from izde.vision.parallel import DetectPool, Split, split
from izde.vision.protocols import Detector
from izde.vision.types import I32, Faces, Image

GRID = 8


@dataclass(frozen=True, slots=True)
class RegionPlan:
    """Where to detect in one frame. ``full``: the whole frame (``regions`` is then that one box)."""

    regions: I32
    full: bool
    # why: "first", "due", "cut", "area" (too much to crop), "busy" (the same, searched coarsely), "regions",
    # "idle" (nothing to search)
    reason: str
    # Searched by the coarser detector (one upsampling less): around large tracked faces, or a busy whole frame.
    coarse: I32 = field(default_factory=lambda: np.zeros((0, 4), np.int32))

    def pixels(self) -> int:
        """Pixels searched, a coarse region's counted at a quarter (one upsampling less scans a quarter)."""
        return _total_area(self.regions) + _total_area(self.coarse) // 4

    def empty(self) -> bool:
        return not len(self.regions) and not len(self.coarse)


def _total_area(r: np.ndarray) -> int:
    return int(np.sum((r[:, 2] - r[:, 0]) * (r[:, 3] - r[:, 1]))) if len(r) else 0


def whole(shape: tuple[int, ...], reason: str) -> RegionPlan:
    h, w = shape[:2]
    return RegionPlan(np.array([[0, 0, w, h]], np.int32), True, reason)


def pad_boxes(boxes: np.ndarray, pad: np.ndarray | float, shape: tuple[int, ...]) -> I32:
    """Boxes grown by ``pad`` pixels on every side (one value, or one per box), clipped to the frame."""
    h, w = shape[:2]
    p = np.asarray(pad, np.float64).reshape(-1, 1) if np.ndim(pad) else float(pad)
    b = boxes.astype(np.float64) + np.array([-1.0, -1.0, 1.0, 1.0]) * p
    b[:, [0, 2]] = np.clip(b[:, [0, 2]], 0, w)
    b[:, [1, 3]] = np.clip(b[:, [1, 3]], 0, h)
    return np.round(b).astype(np.int32).reshape(-1, 4)


def _area(b: np.ndarray) -> int:
    return int(max(0, b[2] - b[0]) * max(0, b[3] - b[1]))


def merge_boxes(boxes: np.ndarray) -> I32:
    """Boxes joined wherever one box around two costs no more to search than the two apart.

    Joining only then keeps scattered moving areas from snowballing into one box over the whole frame; the
    boxes that stay apart may still overlap a little, and :func:`detect_in_regions` keeps one of a face found
    twice."""
    out = [b for b in boxes.astype(np.int32).reshape(-1, 4) if b[2] > b[0] and b[3] > b[1]]
    merged = True
    while merged and len(out) > 1:
        merged = False
        i = 0
        while i < len(out):
            j = i + 1
            while j < len(out):
                a, b = out[i], out[j]
                union = np.array([min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])], np.int32)
                if _area(union) <= _area(a) + _area(b):
                    out[i] = union
                    del out[j]
                    merged = True
                else:
                    j += 1
            i += 1
    return np.array(out, np.int32).reshape(-1, 4)


def track_regions(predicted: np.ndarray, margin: float, shape: tuple[int, ...]) -> I32:
    """The area around each tracked face's predicted box, ``margin`` face widths on every side."""
    if not len(predicted):
        return np.zeros((0, 4), np.int32)
    widths = np.maximum(predicted[:, 2] - predicted[:, 0], predicted[:, 3] - predicted[:, 1])
    return pad_boxes(predicted, margin * widths, shape)


def plan_regions(
    shape: tuple[int, ...],
    motion: np.ndarray,
    tracks: np.ndarray,
    motion_pad: float,
    max_area: float,
    min_side: int,
) -> RegionPlan:
    """Regions covering the motion boxes (grown by ``motion_pad`` pixels) and the track regions.

    When they would cover more than ``max_area`` of the frame, the whole frame is searched instead: one
    detector pass over the frame costs less than many overlapping crops, and a change that large is a camera
    cut, a lighting change or a PTZ move, after which every face must be found again."""
    h, w = shape[:2]
    boxes = np.concatenate([pad_boxes(motion.reshape(-1, 4), motion_pad, shape), tracks.reshape(-1, 4)])
    regions = merge_boxes(_at_least(boxes, min_side, shape))
    plan = RegionPlan(regions, False, "regions" if len(regions) else "idle")
    if plan.pixels() > max_area * h * w:
        return whole(shape, "area")
    return plan


def _at_least(boxes: np.ndarray, side: int, shape: tuple[int, ...]) -> I32:
    """Boxes widened about their centre to at least ``side`` pixels, so the detector's window fits in them."""
    h, w = shape[:2]
    b = boxes.astype(np.float64).reshape(-1, 4).copy()
    for lo, hi, limit in ((0, 2, w), (1, 3, h)):
        grow = np.maximum(0.0, side - (b[:, hi] - b[:, lo])) / 2
        b[:, lo] -= grow
        b[:, hi] += grow
        # Shift a box pushed past an edge back inside, keeping its size where the frame allows.
        under = np.minimum(b[:, lo], 0.0)
        b[:, lo] -= under
        b[:, hi] -= under
        over = np.maximum(b[:, hi] - limit, 0.0)
        b[:, lo] = np.maximum(b[:, lo] - over, 0.0)
        b[:, hi] -= over
    return np.round(b).astype(np.int32)


def detect_in_regions(
    detector: Detector,
    image: Image,
    plan: RegionPlan,
    coarse: Detector | None = None,
    pool: DetectPool | None = None,
) -> Faces:
    """The faces in the plan's regions (by ``detector``) and its coarse regions (by ``coarse``), in frame
    coordinates, each face once. With a ``pool`` the searches run side by side, large ones cut into jobs
    that find the same faces (:mod:`izde.vision.parallel`)."""
    parts = pool.threads if pool is not None else 1
    if plan.full:
        return _run([split(detector, image, parts)], pool)[0]
    origins, searches = [], []
    for regions, det in ((plan.regions, detector), (plan.coarse, coarse or detector)):
        for x0, y0, x1, y1 in regions.tolist():
            # dlib's HOG cells are 8 px: a crop starting on the frame's cell grid sees a face as the frame does
            x0, y0 = x0 - x0 % GRID, y0 - y0 % GRID
            origins.append(np.array([x0, y0, x0, y0], np.int32))
            searches.append(split(det, np.ascontiguousarray(image[y0:y1, x0:x1]), parts))
    found = [(f, o) for f, o in zip(_run(searches, pool), origins, strict=True) if len(f)]
    if not found:
        return Faces.empty()
    boxes = np.concatenate([f.boxes + o for f, o in found]).astype(np.int32)
    return dedupe(Faces(boxes, np.concatenate([f.scores for f, _ in found]).astype(np.float32)))


def _run(searches: list[Split], pool: DetectPool | None) -> list[Faces]:
    """Each search's faces: all their jobs in one batch (side by side with a pool), then each joined."""
    jobs = [job for s in searches for job in s.jobs]
    results = pool.run(jobs) if pool is not None else [job() for job in jobs]
    out, at = [], 0
    for s in searches:
        out.append(s.join(results[at : at + len(s.jobs)]))
        at += len(s.jobs)
    return out


def dedupe(faces: Faces, max_iou: float = 0.4) -> Faces:
    """One face per place: where two regions overlap the same face can be found in both."""
    if len(faces) < 2:
        return faces
    from izde.vision.tracking import iou_matrix

    order = np.argsort(-faces.scores, kind="stable")
    iou = iou_matrix(faces.boxes[order], faces.boxes[order])
    keep: list[int] = []
    for k in range(len(order)):
        if all(iou[k, j] <= max_iou for j in keep):
            keep.append(k)
    return faces if len(keep) == len(faces) else faces.select(np.sort(order[keep]))
