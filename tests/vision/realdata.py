"""Readers for the shared real test data (images and video frames as RGB arrays)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from izde.vision.types import Image


def read_rgb(path: Path) -> Image:
    import cv2

    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise FileNotFoundError(path)
    rgb: Image = np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    return rgb


def video_frames(path: Path, indices: list[int]) -> list[Image]:
    import cv2

    cap = cv2.VideoCapture(str(path))
    frames: list[Image] = []
    try:
        for i in range(max(indices) + 1):
            ok, bgr = cap.read()
            if not ok:
                raise ValueError(f"{path} has fewer than {i + 1} frames")
            if i in indices:
                frames.append(np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)))
    finally:
        cap.release()
    return frames
