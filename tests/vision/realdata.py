"""Readers for the shared real test data (images and video frames as RGB arrays)."""

from __future__ import annotations

from collections.abc import Iterator
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


def lfw_chips(data_dir: Path, n: int) -> np.ndarray:
    """Aligned chips of ``n`` real LFW faces (one per person), made the way izde's dlib aligner makes them."""
    import dlib
    import face_recognition_models as frm

    hog = dlib.get_frontal_face_detector()
    sp = dlib.shape_predictor(frm.pose_predictor_five_point_model_location())
    chips: list[Image] = []
    for person in sorted((data_dir / "lfw-devtrain").iterdir()):
        for path in sorted(person.glob("*.jpg"))[:1]:
            img = read_rgb(path)
            for rect in hog(img, 0)[:1]:
                chips.append(dlib.get_face_chip(img, sp(img, rect), size=150, padding=0.25))
        if len(chips) >= n:
            break
    return np.stack(chips)


def sampled_frames(path: Path, every: int, size: tuple[int, int] | None = None) -> Iterator[Image]:
    """Every ``every``-th frame of a video (as a 5 fps analysis samples a 25-30 fps clip), resized to ``size``."""
    import cv2

    cap = cv2.VideoCapture(str(path))
    try:
        i = 0
        while True:
            ok, bgr = cap.read()
            if not ok:
                return
            if i % every == 0:
                bgr = cv2.resize(bgr, size, interpolation=cv2.INTER_AREA) if size else bgr
                yield np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
            i += 1
    finally:
        cap.release()
