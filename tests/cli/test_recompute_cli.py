"""Upgrading a watchlist enrolled with dlib's descriptor alone to the fused default: the FaceRes templates are
computed from the stored (encrypted) reference photos, each audited, and the watchlist then matches again."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from izde.config import Settings
from izde.store.db import Database
from izde.store.templates import load_match_set
from izde.vision.images import read_image_file
from izde.vision.stack import build_stack
from izde.watchlist.enrol import reference_face
from tests.cli.helpers import Deployment, json_lines
from tests.conftest import HAMILTON, require_data

pytestmark = pytest.mark.slow

FACERES = "hse_faceres_v1"


def rows(home: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(home / "izde.db") as con:
        return list(con.execute(sql).fetchall())


def test_dlib_only_templates_get_their_faceres_templates_from_the_stored_photos(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    home, photo = deployment.home, require_data(HAMILTON / "lin-manuel-miranda.png")
    clip = require_data(HAMILTON / "short_hamilton_clip.mp4")
    # Enrolled the way izde did before the fused default: dlib's template only.
    monkeypatch.setenv("IZDE_VISION__DESCRIPTORS", '["dlib"]')
    pid = deployment.enrol("lin-manuel-miranda", photo)
    auth = deployment.authorise([pid], ["stage"])
    assert rows(home, "select model from templates") == [("dlib_resnet_v1+flip",)]
    monkeypatch.delenv("IZDE_VISION__DESCRIPTORS")

    # Never matched half-equipped: the watch is refused, saying what to run.
    r = deployment.watch(clip, "stage", auth, "--json")
    assert r.exit_code != 0 and r.stdout.strip() == ""
    assert "1 reference photos on the watchlist have no hse_faceres_v1 template" in r.stderr
    assert "izde watchlist recompute" in r.stderr

    r = deployment.run("curator", "watchlist", "recompute")
    assert r.exit_code == 0, r.stderr
    assert "computed 1 template(s)" in r.stderr
    (entry,) = rows(
        home, "select actor, subject_type, subject_id, details from audit_log where action = 'template.recompute'"
    )
    (photo_id,) = rows(home, "select id from reference_photos")
    assert entry[1:3] == ("photo", photo_id[0])
    assert json.loads(str(entry[3])) == {"person": pid, "model": FACERES}
    assert sorted(rows(home, "select model from templates")) == [("dlib_resnet_v1+flip",), (FACERES,)]
    # The entry stays approved: its photo is the approved one.
    assert rows(home, "select status from persons") == [("active",)]

    # What enrolment computes from the same photo today, cut at the face chosen at enrolment.
    image, _ = read_image_file(photo)
    expected = reference_face(image, photo.name, build_stack(Settings().vision), Settings().enrolment)
    with Database.open(Settings(home=home)) as db, db.session(readonly=True) as session:
        stored = load_match_set(session, FACERES).descriptors
    np.testing.assert_allclose(stored[0], expected.descriptors[FACERES], atol=1e-5)

    again = deployment.run("curator", "watchlist", "recompute")
    assert again.exit_code == 0 and "every reference photo has its templates" in again.stderr

    r = deployment.watch(clip, "stage", auth, "--json")
    assert r.exit_code == 0, r.stderr
    assert [a["person_id"] for a in json_lines(r.stdout)] == [pid]


def test_recomputing_is_the_curators_job(deployment: Deployment) -> None:
    r = deployment.run("op-a", "watchlist", "recompute")
    assert r.exit_code == 5 and "may not watchlist.propose" in r.stderr


def test_without_faceres_izde_says_what_to_run_unless_dlib_alone_is_chosen(
    deployment: Deployment, model_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bare = tmp_path / "models"  # dlib's networks, but FaceRes never built
    bare.mkdir()
    for f in model_cache.glob("*.onnx"):
        if not f.name.startswith("faceres"):
            shutil.copyfile(f, bare / f.name)
    monkeypatch.setenv("IZDE_MODEL_CACHE", str(bare))
    photo = require_data(HAMILTON / "obama.jpg")
    r = deployment.propose("Barack Obama", photo)
    assert r.exit_code != 0 and r.stdout.strip() == ""
    assert "FaceRes network is not built" in r.stderr and "izde models build" in r.stderr
    assert "vision.descriptors set to dlib only" in r.stderr
    monkeypatch.setenv("IZDE_VISION__DESCRIPTORS", '["dlib"]')
    r = deployment.propose("Barack Obama", photo)
    assert r.exit_code == 0, r.stderr
    assert rows(deployment.home, "select model from templates") == [("dlib_resnet_v1+flip",)]
