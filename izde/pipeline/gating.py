"""Per-camera choice of where to detect faces in each analysed frame: moving areas, live tracks, full scans.

Face detection over the whole frame is most of a camera's cost, while in typical CCTV most of the picture is a
still background. The gate searches the whole frame only on the first frame, every ``full_scan_s`` of source
time, and after a change too large to crop (a cut, a lighting change, a PTZ move); in between it searches the
areas that moved and the areas around the faces already tracked, at full resolution.
"""

from __future__ import annotations

import numpy as np

from izde.config import PipelineSettings
from izde.vision.motion import Motion, MotionDetector
from izde.vision.regions import RegionPlan, merge_boxes, plan_regions, track_regions, whole
from izde.vision.types import I32, Image

# Around a tracked face, this many face widths on each side: at 5 analysed frames/s a walking face moves well
# under one width between frames, and the prediction already follows its velocity.
TRACK_MARGIN = 0.75
# Smallest side of a region: dlib's detection windows are 80 px (40 px with one upsampling); a little context
# around them keeps a face near a region's edge findable.
MIN_REGION_PX = 80
# Share of the (downscaled, blurred) picture changing between two analysed frames that marks a camera cut, a
# lighting change or a PTZ move. People walking change less: at most 0.32 on the crowd clip, 0.42 on Hamilton.
CUT_CHANGED = 0.5
# A tracked face at least this wide is searched for with one upsampling less: HOG's window is then 80 px, and a
# quarter of the pixels are scanned. The margin keeps a face that shrinks between two frames findable.
LARGE_FACE_PX = 120


class Gate:
    def __init__(self, cfg: PipelineSettings, motion: MotionDetector, coarse: bool = False) -> None:
        """``coarse``: a coarser detector (one upsampling less) is at hand for large faces and busy frames."""
        self.cfg = cfg
        self.motion = motion
        self.coarse = coarse
        self._last_full_s: float | None = None
        self._interval = cfg.full_scan_s  # until the next due full scan; grows while they find nothing new
        self._pending: list[I32] = []  # moving areas seen since the last search for new faces
        self._since_search = 0
        # The frame observe() took in: its shape, position, moving areas and the reason to search it whole.
        self._frame: tuple[tuple[int, ...], float, I32, str | None] = ((0, 0), 0.0, np.zeros((0, 4), np.int32), None)

    def scanned(self, plan: RegionPlan, new_faces: int) -> None:
        """What a due full scan found: a face the gate had let through (not tracked yet) brings the full scans
        back to every ``full_scan_s``; one that found only tracked faces, or none, doubles the interval up to
        ``full_scan_max_s``. Where the gate misses nothing (a still scene) full scans grow rare; where it
        does, they stay frequent."""
        if plan.reason != "due":
            return
        base = self.cfg.full_scan_s
        self._interval = base if new_faces else min(2 * self._interval, max(base, self.cfg.full_scan_max_s))

    def plan(self, image: Image, position_s: float, tracked: I32) -> RegionPlan:
        """Where to detect in ``image``; ``tracked`` holds the live tracks' predicted boxes."""
        self.observe(image, position_s)
        return self.decide(tracked)

    def observe(self, image: Image, position_s: float) -> str | None:
        """Take in the next analysed frame (its motion); the reason it will be searched whole whatever is tracked
        (first, due, cut, or moving areas alone too large to crop), or None. The watcher skips carrying faces
        by optical flow on such a frame: the detector will find them."""
        moved = self.motion.update(image)
        last = self._last_full_s
        reason = None
        if last is None:
            reason = "first"
        elif not 0.0 <= position_s - last < self._interval:
            reason = "due"  # (also when the position went backwards: a looped or restarted source)
        elif moved.changed > CUT_CHANGED:
            reason = "cut"
        self._frame = (image.shape, position_s, moved.boxes, reason)
        search = self._since_search + 1 >= self.cfg.search_every
        if reason is None and search and self._too_busy(np.concatenate([*self._pending, moved.boxes]), image.shape):
            # Decided here for decide() too: the moving areas alone are too large to crop, whatever is tracked
            # (a crowd's every frame, so the regions are not planned twice).
            reason = "area"
            self._frame = (image.shape, position_s, moved.boxes, reason)
        return reason

    def moves_everywhere(self, moved: Motion, shape: tuple[int, ...]) -> bool:
        """Whether a frame of ``shape`` that ``moved`` since the frame before will be searched whole for it, as
        :meth:`observe` tells it from the same motion: a cut, or moving areas alone too large to crop."""
        return moved.changed > CUT_CHANGED or self._too_busy(moved.boxes, shape)

    def _too_busy(self, moving: np.ndarray, shape: tuple[int, ...]) -> bool:
        """Moving areas too large to crop, so the frame is searched whole (unless busy frames get a coarse pass)."""
        if self.coarse and self.cfg.busy_scan == "coarse":
            return False
        return self._regions(moving, np.zeros((0, 4), np.int32), shape).full

    def _regions(self, motion: np.ndarray, around: np.ndarray, shape: tuple[int, ...] | None = None) -> RegionPlan:
        shape = shape or self._frame[0]
        pad = self.cfg.motion_pad * shape[0]
        return plan_regions(shape, motion, around, pad, self.cfg.motion_max_area, MIN_REGION_PX)

    def decide(self, tracked: I32) -> RegionPlan:
        """The plan for the frame :meth:`observe` took in, given the tracked faces to search around."""
        shape, position_s, moved, reason = self._frame
        if reason is None:
            self._pending.append(moved)
            self._since_search += 1
            search = self._since_search >= self.cfg.search_every
            motion = np.concatenate(self._pending) if search else np.zeros((0, 4), np.int32)
            large = (tracked[:, 2] - tracked[:, 0] >= LARGE_FACE_PX) if self.coarse else np.zeros(len(tracked), bool)
            around = track_regions(tracked[~large], TRACK_MARGIN, shape)
            around_large = merge_boxes(track_regions(tracked[large], TRACK_MARGIN, shape))
            plan = self._regions(motion, around)
            if plan.full and self.coarse and self.cfg.busy_scan == "coarse":
                # Moving areas everywhere (a crowd): the coarse pass finds the larger faces anywhere, the
                # tracked ones are searched at full resolution, and small new faces wait for the next full scan.
                plan = RegionPlan(merge_boxes(around), False, "busy", whole(shape, "busy").regions)
            elif not plan.full:
                reason = "regions" if len(plan.regions) or len(around_large) else "idle"
                plan = RegionPlan(plan.regions, False, reason, around_large)
            if search:
                self._pending.clear()
                self._since_search = 0
        else:
            plan = whole(shape, reason)
        if plan.full:
            self._last_full_s = position_s
            self._pending.clear()
            self._since_search = 0
        return plan
