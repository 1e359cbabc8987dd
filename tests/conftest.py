"""Shared fixtures. Real data is read from ../shared/data (or $IZDE_DATA); tests never touch a real home."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

DATA = Path(os.environ.get("IZDE_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data"))
HAMILTON = DATA / "video" / "hamilton"
CROWD = DATA / "video" / "crowd"
LFW = DATA / "lfw-devtrain"
TEST_ALLOWANCES = {
    "IZDE_CAMERAS__REGISTERED_ONLY": "false",
    "IZDE_CAMERAS__ALLOW_PRIVATE_HOSTS": '["127.0.0.1"]',
    "IZDE_WEB__ALLOW_HTTP_WEBHOOK_HOSTS": '["127.0.0.1"]',
}


def provide_faceres(cache: Path) -> None:
    """FaceRes and BlazeFace (converted from one npm package) as the user's 'izde models build' made them."""
    from izde.vision import blazeface, faceres
    from izde.vision.model_cache import cache_dir

    user = cache_dir()
    for onnx_path in (faceres.onnx_path(), blazeface.onnx_path()):
        built = user / onnx_path.relative_to(cache_dir())
        if built.is_file():
            shutil.copyfile(built, cache / built.name)
    tarball = user / "npm" / faceres.HUMAN.tarball_name
    if tarball.is_file():  # the tests of 'izde models build' convert it again
        (cache / "npm").mkdir(exist_ok=True)
        shutil.copyfile(tarball, cache / "npm" / tarball.name)


@pytest.fixture(scope="session", autouse=True)
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Every converted model of the session goes to a temporary directory, never the user's cache. FaceRes,
    which izde matches with by default, comes from the user's cache, where 'izde models build' put it (it
    needs npm, which tests never run): copied in, converted by this izde if only the tarball is there."""
    path = tmp_path_factory.mktemp("model-cache")
    provide_faceres(path)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("IZDE_MODEL_CACHE", str(path))
        yield path


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own data directory and no stray IZDE_* settings from the caller's environment."""
    keep = {"IZDE_DATA", "IZDE_TEST_PG_URL", "IZDE_MODEL_CACHE", "IZDE_EVAL_CACHE"}
    for key in list(os.environ):
        if key.startswith("IZDE_") and key not in keep:
            monkeypatch.delenv(key)
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("IZDE_HOME", str(home))
    monkeypatch.setenv("IZDE_SECURITY__TOKEN_FILE", str(home.parent / f"{home.name}-token"))
    # Most tests watch ad-hoc files under a camera label and stand up receivers and streams on 127.0.0.1; the
    # source and webhook policies themselves are tested in tests/security with these defaults restored.
    for key, value in TEST_ALLOWANCES.items():
        monkeypatch.setenv(key, value)
    return home


@pytest.fixture
def home(_isolated_home: Path) -> Path:
    return _isolated_home


def require_data(path: Path) -> Path:
    if not path.exists():
        pytest.fail(f"test data {path} is missing: set IZDE_DATA to the shared data folder")
    return path


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The shared real data folder (videos, images, LFW)."""
    return require_data(DATA / "video").parent


@pytest.fixture(scope="session")
def _deployment_template(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from tests.cli.helpers import make_deployment

    return make_deployment(tmp_path_factory.mktemp("deployment-template"))


@pytest.fixture
def deployment(home: Path, _deployment_template: Any) -> Any:
    """An initialised data directory with a logged-in user for each role.

    Built once (argon2 hashing is deliberately slow) and copied for each test; the copy's tokens are valid
    because they live in the copied database.
    """
    import shutil
    from dataclasses import replace

    shutil.copytree(_deployment_template.home, home, dirs_exist_ok=True)
    return replace(_deployment_template, home=home, tokens=dict(_deployment_template.tokens))
