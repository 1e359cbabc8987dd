"""Converted models are cached by source digest, atomically, in the directory the environment names."""

from __future__ import annotations

from pathlib import Path

import onnx
import pytest

from izde.vision import model_cache as mc
from tests.vision.faceres_helpers import require_faceres  # first, while IZDE_MODEL_CACHE is the user's


def test_builds_once_then_reuses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(mc.CACHE_ENV, str(tmp_path / "cache"))
    first = mc.ensure_model("mmod")
    assert first.built and first.path.parent == tmp_path / "cache"
    assert first.source_sha256[:16] in first.path.name
    second = mc.ensure_model("mmod")
    assert not second.built and second.path == first.path
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [first.path.name]  # no temp files left
    meta = {p.key: p.value for p in onnx.load(str(first.path)).metadata_props}
    assert meta["izde.source_sha256"] == first.source_sha256


def test_changed_source_gets_a_new_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(mc.CACHE_ENV, str(tmp_path / "cache"))
    copy = tmp_path / "mmod_human_face_detector.dat"
    data = mc.source_path("mmod").read_bytes()
    copy.write_bytes(data)
    a = mc.ensure_model("mmod", copy)
    # Change one byte of the first convolution's weights: same size, still valid, different digest.
    copy.write_bytes(data[:400] + bytes([data[400] ^ 1]) + data[401:])
    b = mc.ensure_model("mmod", copy)
    assert b.built and a.path != b.path


def test_unwritable_cache_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv(mc.CACHE_ENV, str(blocker / "cache"))
    with pytest.raises(mc.ModelCacheError, match="cannot write"):
        mc.ensure_model("mmod")


def test_a_damaged_cached_model_is_converted_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import numpy as np

    from izde.vision.onnx_backend import OnnxMmodDetector

    monkeypatch.setenv(mc.CACHE_ENV, str(tmp_path / "cache"))
    path = mc.ensure_model("mmod").path
    good = path.read_bytes()
    path.write_bytes(good[: len(good) // 3])  # a disk that filled up, or a bad copy
    detector = OnnxMmodDetector()
    assert path.read_bytes() == good and "converting it again" in caplog.text
    assert len(detector.detect(np.zeros((120, 160, 3), np.uint8))) == 0


def test_models_build_force_converts_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from typer.testing import CliRunner

    from izde.cli.models import app

    monkeypatch.setenv(mc.CACHE_ENV, str(tmp_path / "cache"))
    runner = CliRunner()
    first = json.loads(runner.invoke(app, ["build", "--json", "--no-faceres"]).stdout)
    again = json.loads(runner.invoke(app, ["build", "--json", "--no-faceres"]).stdout)
    forced = json.loads(runner.invoke(app, ["build", "--json", "--force", "--no-faceres"]).stdout)
    assert [m["built"] for m in first["models"]] == [True, True]
    assert [m["built"] for m in again["models"]] == [False, False]
    assert [m["built"] for m in forced["models"]] == [True, True]


def test_models_build_converts_faceres_from_the_fetched_tarball_without_npm(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json
    import shutil

    from typer.testing import CliRunner

    from izde.cli.models import app
    from izde.vision import faceres

    tarball = faceres.npm_dir() / faceres.HUMAN.tarball_name
    require_faceres()
    monkeypatch.setenv(mc.CACHE_ENV, str(tmp_path / "cache"))
    (tmp_path / "cache" / "npm").mkdir(parents=True)
    shutil.copyfile(tarball, tmp_path / "cache" / "npm" / tarball.name)
    monkeypatch.setenv("PATH", str(tmp_path))  # no npm: the digest-checked tarball in the cache is enough
    result = CliRunner().invoke(app, ["build", "--json"])
    assert result.exit_code == 0, result.output
    built = {m["kind"]: m for m in json.loads(result.stdout)["models"]}
    assert built["faceres"]["built"] and built["faceres"]["source_sha256"] == faceres.HUMAN.sha256
    # BlazeFace comes from the same tarball, converted in the same step.
    assert built["blazeface"]["built"] and built["blazeface"]["source_sha256"] == faceres.HUMAN.sha256
    again = json.loads(CliRunner().invoke(app, ["build", "--json"]).stdout)
    assert [m["built"] for m in again["models"]] == [False, False, False, False]


def test_dlibs_files_are_found_where_the_package_says_without_importing_it() -> None:
    import subprocess
    import sys

    from izde.vision import dlib_models as dm

    code = (
        "import sys; from izde.vision import dlib_models as dm; "
        "print([str(dm.model_file(n)) for n in (dm.RESNET, dm.MMOD, dm.FIVE_POINT)]); "
        "print('face_recognition_models' in sys.modules, 'pkg_resources' in sys.modules)"
    )
    found, imported = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split("\n")[:2]
    assert imported == "False False"
    import face_recognition_models as frm

    expected = [
        frm.face_recognition_model_location(),
        frm.cnn_face_detector_model_location(),
        frm.pose_predictor_five_point_model_location(),
    ]
    assert found == str([str(Path(p)) for p in expected])
    with pytest.raises(dm.ModelFileMissing, match="re-install"):
        dm.model_file("no_such_model.dat")
