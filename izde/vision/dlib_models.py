"""Where dlib's network files are: the ``models`` folder of the face_recognition_models package.

The package is found, not imported: its ``__init__`` imports the deprecated ``pkg_resources``, which took 0.13 s
of every izde process's start (a quarter of ``izde watch``'s time before the first frame, after imports)."""

from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path

from izde.errors import IzdeError

PACKAGE = "face_recognition_models"
RESNET = "dlib_face_recognition_resnet_model_v1.dat"
MMOD = "mmod_human_face_detector.dat"
FIVE_POINT = "shape_predictor_5_face_landmarks.dat"


class ModelFileMissing(IzdeError):
    """dlib's network files are not installed."""


def model_file(name: str) -> Path:
    """The path of one of the package's model files (``RESNET``, ``MMOD``, ``FIVE_POINT``)."""
    spec = find_spec(PACKAGE)
    folders = list(spec.submodule_search_locations or []) if spec is not None else []
    if not folders:
        raise ModelFileMissing(f"the {PACKAGE} package is not installed", f"pip install {PACKAGE}")
    path = Path(folders[0]) / "models" / name
    if not path.is_file():
        raise ModelFileMissing(f"{path} is missing", f"re-install {PACKAGE}")
    return path
