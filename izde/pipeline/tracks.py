"""Per-track memory: the few best shots of one face, held only while the track lives.

Nothing here is ever written anywhere. When a track closes without a match, its shots are dropped with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from izde.vision.types import F32, I32, Image


@dataclass(slots=True, eq=False)  # a shot is one observation: two are the same only if they are one object
class Shot:
    quality: float
    chip: Image  # aligned 150x150 chip, the descriptor's input
    crop: Image  # the face with a margin, for evidence if the track matches
    others: I32  # (K, 4) boxes of other faces inside ``crop``, blurred before any evidence is stored
    position_s: float
    wall_time: datetime
    extra_chips: tuple[Image, ...] = ()  # each fused network's own chip (VisionStack.extra), if any
    first: F32 | None = None  # dlib's descriptor alone, computed first: it decides whether the others are needed
    descriptor: F32 | None = None  # every network's descriptor side by side (VisionStack.describe)


@dataclass(slots=True)
class TrackState:
    id: int
    first_seen_s: float
    shots: list[Shot] = field(default_factory=list)  # best first
    embeds: int = 0
    alerted: set[str] = field(default_factory=set)

    def offer(self, shot: Shot, keep: int, min_gain: float = 0.02) -> bool:
        """Keep ``shot`` if it is among the ``keep`` best so far (by a margin, to avoid re-embedding noise)."""
        if len(self.shots) >= keep and shot.quality < self.shots[-1].quality + min_gain:
            return False
        self.shots.append(shot)
        self.shots.sort(key=lambda s: -s.quality)
        del self.shots[keep:]
        return shot in self.shots

    def descriptors(self) -> F32:
        return descriptors_of(self.shots)

    def best_embedded(self) -> Shot | None:
        return best_embedded_of(self.shots)


def descriptors_of(shots: Sequence[Shot]) -> F32:
    """Every network's descriptors of the described ``shots`` (the track's probe rows)."""
    ds = [s.descriptor for s in shots if s.descriptor is not None]
    return np.stack(ds) if ds else np.zeros((0, 128), np.float32)


def first_descriptors_of(shots: Sequence[Shot]) -> F32:
    """dlib's descriptors of the ``shots`` described so far (the screening probe's rows)."""
    ds = [s.first for s in shots if s.first is not None]
    return np.stack(ds) if ds else np.zeros((0, 128), np.float32)


def best_embedded_of(shots: Sequence[Shot]) -> Shot | None:
    """The best of the described ``shots`` (they are kept best first)."""
    return next((s for s in shots if s.descriptor is not None), None)
