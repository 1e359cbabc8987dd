"""The enrolment quality gate: one clear, specific reason for every refused reference photo."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from izde.config import EnrolmentSettings
from izde.errors import EnrolmentRejected
from izde.vision.quality import quality_parts, score
from izde.vision.stack import VisionStack
from izde.vision.types import DESCRIPTOR_DIM, F32, Faces, Image


@dataclass(frozen=True, slots=True)
class ReferenceFace:
    box: tuple[int, int, int, int]
    quality: float
    descriptors: dict[str, F32]  # template model name -> the descriptor of each network the stack computes


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
    left, top, right, bottom = (int(v) for v in face.boxes[0])
    return ReferenceFace(
        (left, top, right, bottom), float(score(parts)[0]), reference_descriptors(image, aligned, stack)
    )


def reference_descriptors(image: Image, aligned: Faces, stack: VisionStack) -> dict[str, F32]:
    """Each of the stack's networks' descriptor of the one aligned face, by template model name."""
    assert aligned.chips is not None and aligned.landmarks is not None and len(aligned) == 1
    row = stack.describe(aligned.chips, stack.extra_chips(image, aligned.landmarks))[0]
    models = stack.template_models
    out, start = {}, 0
    for network, dim in zip(stack.networks, (DESCRIPTOR_DIM, *(e.dim for e in stack.extra)), strict=True):
        out[models[network]] = np.asarray(row[start : start + dim], np.float32)
        start += dim
    return out
