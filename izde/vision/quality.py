"""Shot quality: how useful a face image is for recognition, from size, sharpness and pose.

The score ranks the shots of one track so the best few are embedded; it also gates enrolment photos.
The constants are chosen so that a frontal, sharp face 100 px wide scores close to 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from izde.vision.types import F32, Faces, Image

FULL_SIZE_PX = 100.0  # faces at least this wide get the full size score
FULL_SHARPNESS = 150.0  # variance of the Laplacian of a 150x150 chip that counts as fully sharp


@dataclass(frozen=True, slots=True)
class QualityParts:
    size: F32
    sharpness: F32  # raw variance of the Laplacian of the grey chip
    frontal: F32


def sharpness(chips: Image) -> F32:
    """Variance of the Laplacian of each chip's central region (excludes the padding around the face)."""
    out = np.empty(len(chips), np.float32)
    for i, chip in enumerate(chips):
        grey = cv2.cvtColor(chip[30:120, 30:120], cv2.COLOR_RGB2GRAY)
        out[i] = float(cv2.Laplacian(grey, cv2.CV_64F).var())
    return out


def frontality(landmarks: F32) -> F32:
    """1 for a frontal face, falling to 0 as the nose moves sideways from between the eyes (yaw).

    dlib's 5-point model gives two corners per eye (points 0-1 and 2-3) and the base of the nose (4).
    """
    eye_a = landmarks[:, 0:2].mean(axis=1)
    eye_b = landmarks[:, 2:4].mean(axis=1)
    eye_dist = np.linalg.norm(eye_a - eye_b, axis=1) + 1e-6
    mid = (eye_a + eye_b) / 2
    along = np.abs(np.einsum("ij,ij->i", landmarks[:, 4] - mid, (eye_b - eye_a) / eye_dist[:, None]))
    yaw_ratio = along / eye_dist  # 0 when the nose is centred, ~0.5 at a profile view
    return np.asarray(np.clip(1.0 - 2.0 * yaw_ratio, 0.0, 1.0), np.float32)


def quality_parts(faces: Faces) -> QualityParts:
    if faces.chips is None or faces.landmarks is None:
        raise ValueError("quality needs aligned faces (landmarks and chips)")
    size = np.clip(faces.widths() / FULL_SIZE_PX, 0.0, 1.0).astype(np.float32)
    return QualityParts(size, sharpness(faces.chips), frontality(faces.landmarks))


def score(parts: QualityParts) -> F32:
    sharp = np.clip(parts.sharpness / FULL_SHARPNESS, 0.0, 1.0)
    # A geometric-style blend: any one part near zero (tiny, blurred or profile) makes a poor shot.
    q = (parts.size**0.4) * (sharp**0.3) * (parts.frontal**0.3)
    return np.asarray(q, np.float32)


def assess(faces: Faces) -> Faces:
    """The faces with their quality filled in."""
    return faces.with_(quality=score(quality_parts(faces)))
