"""Face chips of any size and margin from dlib's 5 landmarks, for networks other than dlib's.

The same alignment as dlib's ``get_face_chip_details`` (a least-squares similarity from dlib's fixed 5-point
template to the landmarks), computed here so a second network can take a larger or looser chip than dlib's
150x150 one without finding the landmarks again. Sampling is OpenCV's bilinear warp, which rounds slightly
differently from dlib's; the second network was measured on these chips, so that is what it sees.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from izde.vision.types import F32, Image

# dlib's 5-point template (shape_predictor_5_face_landmarks order: right eye outer/inner, left eye
# outer/inner, nose base), in a unit square before padding.
TEMPLATE = np.array(
    [[0.8595674595992, 0.2134981538014], [0.6460604764104, 0.2289674387677], [0.1205750620789, 0.2137274526848],
     [0.3340850613712, 0.2290642403242], [0.4901123135679, 0.6277975316475]],
    np.float64,
)  # fmt: skip


def similarity(src: npt.ArrayLike, dst: npt.ArrayLike) -> np.ndarray:
    """The 2x3 least-squares similarity (rotation, uniform scale, shift) taking ``src`` points to ``dst``
    (Umeyama's method, as dlib's find_similarity_transform)."""
    a, b = np.asarray(src, np.float64), np.asarray(dst, np.float64)
    ms, md = a.mean(axis=0), b.mean(axis=0)
    s, d = a - ms, b - md
    cov = d.T @ s / len(a)
    u, sv, vt = np.linalg.svd(cov)
    sign = np.eye(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sign[1, 1] = -1
    rot = u @ sign @ vt
    var = (s * s).sum() / len(a)
    scale = float(np.trace(np.diag(sv) @ sign) / var) if var > 0 else 1.0
    m = np.zeros((2, 3))
    m[:, :2] = scale * rot
    m[:, 2] = md - scale * rot @ ms
    return m


def chip_transform(landmarks: npt.ArrayLike, size: int, padding: float) -> np.ndarray:
    """The 2x3 map from image to chip coordinates for one face's (5, 2) landmarks."""
    target = (padding + TEMPLATE) / (2 * padding + 1) * size
    return similarity(landmarks, target)


def chips(image: Image, landmarks: F32, size: int, padding: float) -> Image:
    """(N, size, size, 3) uint8 chips, one per face in ``landmarks`` (N, 5, 2)."""
    out = np.zeros((len(landmarks), size, size, 3), np.uint8)
    for i, lm in enumerate(np.asarray(landmarks, np.float64).reshape(-1, 5, 2)):
        m = chip_transform(lm, size, padding)
        out[i] = cv2.warpAffine(image, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return out
