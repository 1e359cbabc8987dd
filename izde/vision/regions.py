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


def _areas(b: np.ndarray) -> np.ndarray:
    w = np.maximum(0, b[..., 2] - b[..., 0]).astype(np.int64)
    return np.asarray(w * np.maximum(0, b[..., 3] - b[..., 1]), np.int64)


def merge_boxes(boxes: np.ndarray) -> I32:
    """Boxes joined wherever one box around two costs no more to search than the two apart.

    Joining only then keeps scattered moving areas from snowballing into one box over the whole frame; the
    boxes that stay apart may still overlap a little, and :func:`detect_in_regions` keeps one of a face found
    twice. Greedy, in order: box i swallows the first later box it joins with, then goes on from there with
    its grown self; passes repeat until nothing joins. Each step compares box i with all later boxes at once
    (a crowd's motion gives hundreds of boxes, which pairwise Python loops made a tenth of a frame's cost)."""
    b = boxes.astype(np.int32).reshape(-1, 4)
    out = b[(b[:, 2] > b[:, 0]) & (b[:, 3] > b[:, 1])].copy()
    merged = True
    while merged and len(out) > 1:
        merged = False
        i = 0
        while i < len(out):
            j = i + 1
            while j < len(out):
                rest = out[j:]
                union = np.concatenate(
                    [np.minimum(out[i, :2], rest[:, :2]), np.maximum(out[i, 2:], rest[:, 2:])], axis=1
                )
                joins = np.flatnonzero(_areas(union) <= _areas(out[i]) + _areas(rest))
                if not len(joins):
                    break
                j += int(joins[0])
                out[i] = union[joins[0]]
                out = np.delete(out, j, axis=0)
                merged = True
            i += 1
    return out.astype(np.int32).reshape(-1, 4)


def covered(boxes: np.ndarray, shape: tuple[int, ...], cell: int = GRID) -> int:
    """Pixels inside at least one of ``boxes``, counted on a ``cell``-pixel grid and rounded down (only cells
    wholly inside a box count): never more than the true union's area."""
    h, w = shape[:2]
    grid = np.zeros(((h + cell - 1) // cell, (w + cell - 1) // cell), bool)
    b = boxes.reshape(-1, 4).astype(np.int64)
    lo, hi = -(-b[:, :2] // cell), b[:, 2:] // cell  # first cell starting inside, first cell ending outside
    for (x0, y0), (x1, y1) in zip(lo.tolist(), hi.tolist(), strict=True):
        grid[y0:y1, x0:x1] = True
    return int(grid.sum()) * cell * cell


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
    boxes = _at_least(
        np.concatenate([pad_boxes(motion.reshape(-1, 4), motion_pad, shape), tracks.reshape(-1, 4)]), min_side, shape
    )
    # Merged regions cover at least what the boxes cover, so boxes already covering too much decide it
    # without merging (a crowd: every frame, with hundreds of boxes).
    if covered(boxes, shape) > max_area * h * w:
        return whole(shape, "area")
    regions = merge_boxes(boxes)
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
