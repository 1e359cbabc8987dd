"""Evidence images: the matched face with a margin, every other face in it blurred beyond recognition."""

from __future__ import annotations

import cv2
import numpy as np

from izde.vision.types import I32, Image

MARGIN = 0.6  # of the face width on each side: enough context for an operator, little of the crowd


def crop_region(box: np.ndarray, shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    left, top, right, bottom = (int(v) for v in box)
    m = round((right - left) * MARGIN)
    return max(0, left - m), max(0, top - m), min(shape[1], right + m), min(shape[0], bottom + m)


def others_in(region: tuple[int, int, int, int], boxes: np.ndarray, skip: int) -> I32:
    """Boxes (except row ``skip``) that intersect ``region``, in the region's coordinates."""
    x0, y0, x1, y1 = region
    keep = [
        i
        for i, (left, t, r, b) in enumerate(boxes.tolist())
        if i != skip and left < x1 and r > x0 and t < y1 and b > y0
    ]
    out = boxes[keep].astype(np.int32).reshape(-1, 4) - np.array([x0, y0, x0, y0], np.int32)
    return out


def blur_others(crop: Image, others: I32) -> Image:
    """A copy of ``crop`` with each box in ``others`` (grown by 20%) replaced by a heavy blur."""
    out = crop.copy()
    h, w = out.shape[:2]
    for left, top, right, bottom in others.tolist():
        g = int(0.2 * (right - left))
        x0, y0, x1, y1 = max(0, left - g), max(0, top - g), min(w, right + g), min(h, bottom + g)
        if x1 <= x0 or y1 <= y0:
            continue
        patch = out[y0:y1, x0:x1]
        # Pixelate then blur: a blur alone can leave a face recognisable at small kernel sizes.
        small = cv2.resize(patch, (max(1, (x1 - x0) // 12), max(1, (y1 - y0) // 12)), interpolation=cv2.INTER_AREA)
        out[y0:y1, x0:x1] = cv2.GaussianBlur(
            cv2.resize(small, (x1 - x0, y1 - y0), interpolation=cv2.INTER_NEAREST), (0, 0), 3
        )
    return out
