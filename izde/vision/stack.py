"""Builds the vision stages named by the settings. Backends are imported only when chosen."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from izde.config import VisionSettings
from izde.vision.parallel import DetectPool, detect_pool, resolve_threads
from izde.vision.protocols import Aligner, ChipEmbedder, Detector, Embedder
from izde.vision.quality import assess
from izde.vision.regions import RegionPlan, detect_in_regions, whole
from izde.vision.types import F32, Faces, Image


@dataclass(frozen=True)
class VisionStack:
    """Detection, alignment and the descriptor networks. dlib's (``embedder``) takes the aligner's chips; each
    of ``extra`` cuts its own chip from the image, so a probe descriptor is theirs side by side, in order."""

    detector: Detector
    aligner: Aligner
    embedder: Embedder
    extra: tuple[ChipEmbedder, ...] = ()
    # Threads one frame's detection runs on (vision.threads); None: the calling thread alone.
    pool: DetectPool | None = None

    def with_embedder(self, embedder: Embedder) -> VisionStack:
        """The same stack with dlib's descriptor computed by ``embedder`` (a batching or counting wrapper)."""
        return replace(self, embedder=embedder)

    @property
    def networks(self) -> tuple[str, ...]:
        """The ``vision.descriptors`` this stack computes, in the order a probe holds them."""
        return ("dlib", *(e.key for e in self.extra))

    @property
    def template_models(self) -> dict[str, str]:
        """Network -> the model name its templates are stored under."""
        return {"dlib": self.model_name, **{e.key: e.name for e in self.extra}}

    def extra_chips(self, image: Image, landmarks: F32) -> tuple[Image, ...]:
        """Each extra network's chips of the faces at ``landmarks`` (K, 5, 2), cut while the image is at hand."""
        return tuple(e.chips(image, landmarks) for e in self.extra)

    def describe(self, chips: Image, extra: Sequence[Image] = ()) -> F32:
        """(N, sum of dims) probe descriptors: dlib's of the aligned ``chips``, then each extra network's."""
        parts = [self.embedder.embed(chips), self.describe_extra(extra, len(chips))]
        return np.concatenate(parts, axis=1).astype(np.float32, copy=False)

    def describe_extra(self, extra: Sequence[Image], n: int) -> F32:
        """(N, sum of the extra networks' dims): the extra networks' descriptors of ``n`` faces, from each
        network's chips, side by side in order (what follows dlib's in a probe)."""
        if len(extra) != len(self.extra):
            raise ValueError(f"{len(self.extra)} extra networks need their chips, got {len(extra)} sets")
        parts = [np.zeros((n, 0), np.float32), *(e.embed_chips(x) for e, x in zip(self.extra, extra, strict=True))]
        return np.concatenate(parts, axis=1).astype(np.float32, copy=False)

    @property
    def model_name(self) -> str:
        """Templates are only comparable within one way of computing descriptors; both backends run the same
        network, but mirrored averaging changes the descriptors, so it is part of the name."""
        return "dlib_resnet_v1+flip" if self.embedder.name.endswith("+flip") else "dlib_resnet_v1"

    def analyse(
        self, image: Image, min_face_px: int = 0, plan: RegionPlan | None = None, coarse: Detector | None = None
    ) -> tuple[Faces, int]:
        """Detected faces at least ``min_face_px`` wide, aligned and scored; and the count of all faces found.

        With a ``plan``, faces are searched only in its regions (the whole image when it says so), and in its
        coarse regions by the ``coarse`` detector."""
        return self.finish(image, self.find(image, plan, coarse), min_face_px)

    def find(self, image: Image, plan: RegionPlan | None = None, coarse: Detector | None = None) -> Faces:
        """The faces the detector finds where ``plan`` says (everywhere without one): boxes and scores only."""
        if plan is None:
            return detect_in_regions(self.detector, image, whole(image.shape, "first"), pool=self.pool)
        if not plan.empty():
            return detect_in_regions(self.detector, image, plan, coarse, self.pool)
        return Faces.empty()

    def finish(self, image: Image, found: Faces, min_face_px: int = 0) -> tuple[Faces, int]:
        """``found``'s faces at least ``min_face_px`` wide, aligned and scored; and the count of all of them."""
        keep = found.widths() >= min_face_px
        faces = found.select(keep.nonzero()[0]) if not keep.all() else found
        return self.align(image, faces), len(found)

    def align(self, image: Image, faces: Faces) -> Faces:
        """``faces`` (boxes found or carried) with landmarks, chips and quality."""
        return assess(self.aligner.align(image, faces))

    def with_pool(self, pool: DetectPool | None) -> VisionStack:
        """The same networks with detection on ``pool`` (closing the new stack closes that pool)."""
        return replace(self, pool=pool)

    def close(self) -> bool:
        """Stop the detection threads, within a bound (see :meth:`DetectPool.close`). True when none is left.
        The stack still detects afterwards only where it has no pool."""
        return self.pool.close() if self.pool is not None else True


def coarser(detector: Detector) -> Detector | None:
    """The same detector with one upsampling less (a quarter of the pixels to scan, faces from twice the size),
    or None where there is no such step."""
    from izde.vision.dlib_backend import HogDetector

    if isinstance(detector, HogDetector) and detector.upsample > 0:
        return HogDetector(detector.upsample - 1, detector.adjust_threshold)
    return None


def build_detector(v: VisionSettings, upsample: int | None = None) -> Detector:
    up = v.detector_upsample if upsample is None else upsample
    if v.detector == "hog":
        from izde.vision.dlib_backend import HogDetector

        return HogDetector(up)
    if v.detector == "blazeface":
        from izde.vision.blazeface import BlazefaceDetector

        # One network run per frame: its own threads are what spreads a frame over the cores.
        threads = resolve_threads(v.threads)
        return BlazefaceDetector(v.blazeface_scale, v.blazeface_min_score, device=v.onnx_device, threads=threads)
    if v.detector_backend == "onnx":
        from izde.vision.onnx_backend import OnnxMmodDetector  # type: ignore[import-not-found,unused-ignore]

        detector: Detector = OnnxMmodDetector(upsample=up, device=v.onnx_device)
        return detector
    from izde.vision.dlib_backend import DlibMmodDetector

    return DlibMmodDetector(up)


def build_embedder(v: VisionSettings) -> Embedder:
    if v.embedder == "onnx":
        from izde.vision.onnx_backend import OnnxEmbedder  # type: ignore[import-not-found,unused-ignore]

        embedder: Embedder = OnnxEmbedder(device=v.onnx_device, threads=resolve_threads(v.threads))
        return embedder
    from izde.vision.dlib_backend import DlibEmbedder

    return DlibEmbedder()


def build_descriptor(v: VisionSettings) -> Embedder:
    """The embedder the pipeline uses: the chosen backend, mirrored-averaged when the settings say so."""
    from izde.vision.flip import FlipAveraged

    inner = build_embedder(v)
    return FlipAveraged(inner) if v.flip_average else inner


def build_extra(v: VisionSettings) -> tuple[ChipEmbedder, ...]:
    """The networks fused with dlib's; FaceRes must have been built ('izde models build')."""
    if "faceres" not in v.descriptors:
        return ()
    from izde.vision.faceres import FaceresEmbedder

    return (FaceresEmbedder(device=v.onnx_device, threads=resolve_threads(v.threads)),)


def build_stack(v: VisionSettings) -> VisionStack:
    from izde.vision.dlib_backend import DlibAligner

    return VisionStack(build_detector(v), DlibAligner(), build_descriptor(v), build_extra(v), detect_pool(v.threads))
