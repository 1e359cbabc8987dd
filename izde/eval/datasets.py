"""Evaluation datasets: LFW's pairs and people files, and any folder-per-identity photo collection.

LFW layout: ``ROOT/NAME/NAME_NNNN.jpg`` with image numbers counted from 1. Other collections only need one
folder per identity holding that identity's photos; file names are free.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path

from izde.errors import InvalidInput


def shared_data_dir(data: Path | None = None) -> Path:
    """The shared test and evaluation data: ``data`` if given, else ``$IZDE_DATA``, else ``../shared/data``."""
    if data is not None:
        return data
    env = os.environ.get("IZDE_DATA")
    return Path(env) if env else Path("../shared/data").resolve()


IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})
DATA_HINT = (
    "give the dataset folder with --data (e.g. ../shared/data/lfw-devtrain), or set IZDE_DATA to the shared data folder"
)


@dataclass(frozen=True, slots=True)
class Pair:
    a: Path
    b: Path
    same: bool


@dataclass(frozen=True, slots=True)
class Identities:
    """A folder-per-identity dataset: identity names (sorted) and each one's photos (sorted)."""

    root: Path
    names: tuple[str, ...]
    photos: tuple[tuple[Path, ...], ...]

    def __len__(self) -> int:
        return len(self.names)

    @property
    def n_images(self) -> int:
        return sum(len(p) for p in self.photos)

    def all_images(self) -> list[Path]:
        return [p for ps in self.photos for p in ps]


def require_dir(path: Path, what: str = "dataset folder") -> Path:
    if not path.is_dir():
        raise InvalidInput(f"{what} {path} does not exist or is not a folder", DATA_HINT)
    return path


def lfw_image(root: Path, name: str, number: int) -> Path:
    return root / name / f"{name}_{number:04d}.jpg"


def _pairs_file(root: Path, pairs: Path | None) -> Path:
    if pairs is not None:
        if not pairs.is_file():
            raise InvalidInput(f"pairs file {pairs} does not exist", "give an LFW-format pairs file with --pairs")
        return pairs
    for name in ("pairsDevTrain.txt", "pairsDevTest.txt", "pairs.txt"):
        if (root / name).is_file():
            return root / name
    raise InvalidInput(f"no pairs file in {root}", "give an LFW-format pairs file with --pairs")


def read_pairs(root: Path, pairs: Path | None = None, limit: int | None = None) -> list[Pair]:
    """Pairs from an LFW pairs file: a header line, then ``name i j`` (same) or ``n1 i n2 j`` (different).

    ``limit`` keeps an equal number of same and different pairs (the first of each), so that a small subset
    stays balanced like the full file.
    """
    require_dir(root)
    path = _pairs_file(root, pairs)
    same: list[Pair] = []
    diff: list[Pair] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    for lineno, line in enumerate(lines[1:], start=2):
        f = line.split()
        if not f:
            continue
        try:
            if len(f) == 3:
                same.append(Pair(lfw_image(root, f[0], int(f[1])), lfw_image(root, f[0], int(f[2])), True))
            elif len(f) == 4:
                diff.append(Pair(lfw_image(root, f[0], int(f[1])), lfw_image(root, f[2], int(f[3])), False))
            else:
                raise ValueError
        except ValueError:
            raise InvalidInput(f"{path}:{lineno}: not an LFW pairs line: {line!r}") from None
    if limit is not None:
        same, diff = same[: limit // 2], diff[: limit - limit // 2]
    out = same + diff
    missing = [p for pair in out for p in (pair.a, pair.b) if not p.is_file()]
    if missing:
        raise InvalidInput(f"{len(missing)} images named by {path} are missing, e.g. {missing[0]}", DATA_HINT)
    return out


def load_identities(root: Path) -> Identities:
    """Every sub-folder of ``root`` with at least one image is an identity."""
    require_dir(root)
    names: list[str] = []
    photos: list[tuple[Path, ...]] = []
    for d in sorted(p for p in root.iterdir() if p.is_dir()):
        imgs = tuple(sorted(p for p in d.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()))
        if imgs:
            names.append(d.name)
            photos.append(imgs)
    if not names:
        raise InvalidInput(f"{root} holds no identity folders with images", "expect ROOT/IDENTITY/PHOTO.jpg")
    return Identities(root, tuple(names), tuple(photos))


def read_group_labels(path: Path) -> dict[str, str]:
    """An optional CSV mapping images (or whole identities) to a group, e.g. a capture year or camera.

    Columns: ``path,group`` where path is an image path relative to the dataset root (``NAME/NAME_0001.jpg``)
    or an identity folder name (``NAME``), which labels all of its images. LFW ships no such labels.
    """
    if not path.is_file():
        raise InvalidInput(f"labels file {path} does not exist", "give a CSV with columns path,group")
    out: dict[str, str] = {}
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames is None or not {"path", "group"} <= set(reader.fieldnames):
            raise InvalidInput(f"{path} must have a header with columns path,group")
        for row in reader:
            out[row["path"].strip()] = row["group"].strip()
    return out


def group_of(image: Path, root: Path, labels: dict[str, str]) -> str | None:
    rel = image.relative_to(root).as_posix()
    return labels.get(rel) or labels.get(rel.split("/", 1)[0])
