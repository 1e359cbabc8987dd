"""The enrolment quality gate: one clear, specific reason for every refused reference photo."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from izde.config import EnrolmentSettings
from izde.errors import EnrolmentRejected
from izde.vision.quality import quality_parts, score
from izde.vision.stack import VisionStack
from izde.vision.types import F32, Faces, Image


@dataclass(frozen=True, slots=True)
class ReferenceFace:
    box: tuple[int, int, int, int]
    quality: float
    descriptor: F32


def describe_faces(faces: Faces) -> str:
    return "; ".join(
        f"face {i + 1}: {r - left} px wide at x={left}..{r}, y={t}..{b}"
        for i, (left, t, r, b) in enumerate(faces.boxes.tolist())
    )


def left_to_right(faces: Faces) -> Faces:
    return faces.select(np.argsort(faces.boxes[:, 0], kind="stable")) if len(faces) else faces


def reference_face(
    image: Image, name: str, stack: VisionStack, rules: EnrolmentSettings, choice: int | None = None
) -> ReferenceFace:
    """The single face of ``image`` to enrol, or :class:`EnrolmentRejected` saying why not.

    Faces are numbered 1.. from left to right so that a curator can pick one with ``choice``.
    """
    faces = left_to_right(stack.detector.detect(image))
    if len(faces) == 0:
        raise EnrolmentRejected(
            f"{name}: no face found", "use a photo where the face is frontal, unobstructed and well lit"
        )
    if choice is None and len(faces) > 1:
        raise EnrolmentRejected(
            f"{name}: {len(faces)} faces found ({describe_faces(faces)})",
            "choose the person's face with --face N",
        )
    if choice is not None and not 1 <= choice <= len(faces):
        raise EnrolmentRejected(
            f"{name}: face {choice} asked for, but {len(faces)} found ({describe_faces(faces)})",
            f"choose --face between 1 and {len(faces)}",
        )
    face = faces.select(0 if choice is None else choice - 1)
    width = int(face.widths()[0])
    if width < rules.min_face_px:
        raise EnrolmentRejected(
            f"{name}: the face is {width} px wide, smaller than the {rules.min_face_px} px needed",
            "use a larger or higher-resolution photo",
        )
    aligned = stack.aligner.align(image, face)
    parts = quality_parts(aligned)
    if float(parts.sharpness[0]) < rules.min_sharpness:
        raise EnrolmentRejected(
            f"{name}: the face is too blurred (sharpness {float(parts.sharpness[0]):.1f}, "
            f"at least {rules.min_sharpness:.1f} needed)",
            "use a sharper photo",
        )
    assert aligned.chips is not None
    descriptor = stack.embedder.embed(aligned.chips)[0]
    left, top, right, bottom = (int(v) for v in face.boxes[0])
    return ReferenceFace((left, top, right, bottom), float(score(parts)[0]), descriptor)
