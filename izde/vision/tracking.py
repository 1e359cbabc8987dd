"""Associates faces across analysed frames into tracks, by box overlap and centre distance.

Frames are sampled a few times per second, so a face can move well beyond its own box width between two
analysed frames in a crowd; the centre-distance fallback keeps such tracks together while the greedy
order (best overlap first) keeps neighbours apart.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from izde.vision.types import I32, Faces


@dataclass(slots=True)
class _Live:
    box: np.ndarray
    last_seen_s: float
    velocity: np.ndarray  # (4,) pixels per second of each box edge, from the last two detections
    carried: int = 0  # analysed frames since the face was last found by the detector (carried by flow since)

    def predicted(self, time_s: float, max_gap_s: float) -> np.ndarray:
        """Where the box should be at ``time_s``, moving at constant velocity (for at most ``max_gap_s``)."""
        dt = min(max(0.0, time_s - self.last_seen_s), max_gap_s)
        return np.asarray(np.round(self.box + self.velocity * dt), np.int32)


@dataclass(frozen=True, slots=True)
class LiveTracks:
    """The live tracks at one moment, row by row."""

    ids: I32  # (K,)
    boxes: I32  # (K, 4) where each face was last seen
    predicted: I32  # (K, 4) where it should be now, at constant velocity
    last_seen_s: np.ndarray  # (K,) float
    carried: I32  # (K,) analysed frames since each was last detected

    def __len__(self) -> int:
        return len(self.ids)


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)), np.float32)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=2).astype(np.float64)
    area_a = np.prod(a[:, 2:] - a[:, :2], axis=1).astype(np.float64)
    area_b = np.prod(b[:, 2:] - b[:, :2], axis=1).astype(np.float64)
    return np.asarray(inter / (area_a[:, None] + area_b[None, :] - inter + 1e-9), np.float32)


def _centre_affinity(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """1 at the same centre, 0 at one box width apart (in units of the larger box)."""
    ca = (a[:, None, :2] + a[:, None, 2:]) / 2
    cb = (b[None, :, :2] + b[None, :, 2:]) / 2
    dist = np.linalg.norm(ca - cb, axis=2)
    scale = np.maximum((a[:, None, 2] - a[:, None, 0]), (b[None, :, 2] - b[None, :, 0])).astype(np.float64)
    sizes_a = (a[:, None, 2] - a[:, None, 0]).astype(np.float64)
    sizes_b = (b[None, :, 2] - b[None, :, 0]).astype(np.float64)
    similar_size = np.minimum(sizes_a, sizes_b) / np.maximum(np.maximum(sizes_a, sizes_b), 1.0) > 0.6
    return np.where(similar_size, np.clip(1.0 - dist / np.maximum(scale, 1.0), 0.0, 1.0), 0.0).astype(np.float32)


class Tracker:
    """Greedy overlap tracker. ``update`` assigns track ids; tracks unseen for ``max_gap_s`` are closed."""

    def __init__(self, max_gap_s: float = 1.0, min_iou: float = 0.2, min_centre_affinity: float = 0.5) -> None:
        self.max_gap_s = max_gap_s
        self.min_iou = min_iou
        self.min_centre_affinity = min_centre_affinity
        self._live: dict[int, _Live] = {}
        self._next_id = 1

    @property
    def live_ids(self) -> list[int]:
        return list(self._live)

    def predict(self, time_s: float) -> I32:
        """(K, 4) boxes where the live tracks' faces should be at ``time_s``: the watcher searches around them
        between full scans, so a tracked face is found again without searching the whole frame."""
        boxes = [t.predicted(time_s, self.max_gap_s) for t in self._live.values()]
        return np.array(boxes, np.int32).reshape(-1, 4)

    def live(self, time_s: float) -> LiveTracks:
        tracks = list(self._live.items())
        return LiveTracks(
            ids=np.array([tid for tid, _ in tracks], np.int32),
            boxes=np.array([t.box for _, t in tracks], np.int32).reshape(-1, 4),
            predicted=self.predict(time_s),
            last_seen_s=np.array([t.last_seen_s for _, t in tracks], np.float64),
            carried=np.array([t.carried for _, t in tracks], np.int32),
        )

    def update(self, faces: Faces, time_s: float, carried: I32 | None = None) -> tuple[Faces, list[int]]:
        """Faces with ``track_ids`` set, and the ids of tracks closed at this time.

        ``carried`` (one per face, -1 for a detected face): the track a face was carried along by optical flow;
        it continues that track as it is, only detected faces are associated by overlap."""
        closed = [tid for tid, t in self._live.items() if time_s - t.last_seen_s > self.max_gap_s]
        for tid in closed:
            del self._live[tid]
        known: I32 = np.full(len(faces), -1, np.int32) if carried is None else np.asarray(carried, np.int32)
        if len(known) != len(faces):
            raise ValueError(f"{len(faces)} faces need as many carried track ids, got {len(known)}")
        taken = set(known.tolist())
        ids = [tid for tid in self._live if tid not in taken]
        prev = np.array([self._live[t].box for t in ids], np.int32).reshape(-1, 4)
        affinity = np.maximum(iou_matrix(prev, faces.boxes), 0.0)
        centre = _centre_affinity(prev, faces.boxes) if len(prev) and len(faces) else affinity
        # Overlap counts first; centre proximity only where boxes no longer overlap enough.
        usable = (affinity >= self.min_iou) | (centre >= self.min_centre_affinity)
        combined = np.where(usable, affinity + 0.5 * centre, -1.0)
        assigned: I32 = np.where(np.isin(known, list(self._live)), known, -1).astype(np.int32)
        if combined.size:
            order = np.dstack(np.unravel_index(np.argsort(-combined, axis=None), combined.shape))[0]
            used_prev: set[int] = set()
            for p, f in order:
                if combined[p, f] < 0:
                    break
                if p in used_prev or assigned[f] >= 0 or known[f] >= 0:
                    continue
                used_prev.add(int(p))
                assigned[f] = ids[p]
        for f in range(len(faces)):
            if assigned[f] < 0:
                assigned[f] = self._next_id
                self._next_id += 1
            box = faces.boxes[f].astype(np.float64)
            old = self._live.get(int(assigned[f]))
            velocity = np.zeros(4)
            if old is not None and time_s > old.last_seen_s:
                velocity = (box - old.box) / (time_s - old.last_seen_s)
            steps = old.carried + 1 if old is not None and known[f] >= 0 else 0
            self._live[int(assigned[f])] = _Live(box, time_s, velocity, steps)
        return faces.with_(track_ids=assigned), closed

    def close_all(self) -> list[int]:
        closed = list(self._live)
        self._live.clear()
        return closed
