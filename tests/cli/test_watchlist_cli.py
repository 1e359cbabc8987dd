"""Enrolment through the command line: the quality gate, provenance rules and clean failures."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.cli.helpers import Deployment, json_lines
from tests.conftest import HAMILTON, require_data


def stored_files(home: Path, sub: str) -> list[Path]:
    root = home / sub
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def table_count(home: Path, table: str) -> int:
    if not (home / "izde.db").exists():
        return 0  # refused before the database was ever needed
    with sqlite3.connect(home / "izde.db") as con:
        return int(con.execute(f"select count(*) from {table}").fetchone()[0])


def test_two_people_needs_a_face_choice(deployment: Deployment) -> None:
    photo = require_data(HAMILTON / "two_people.jpg")
    refused = deployment.propose("Somebody", photo)
    assert refused.exit_code == 2
    assert "2 faces found" in refused.stderr and "--face" in refused.stderr
    assert table_count(deployment.home, "persons") == 0 and stored_files(deployment.home, "photos") == []

    accepted = deployment.propose("Somebody", photo, extra=("--face", "2"))
    assert accepted.exit_code == 0, accepted.stderr
    person = json_lines(accepted.stdout)[0]
    assert len(person["photos"]) == 1
    assert person["photos"][0]["face_box"][0] > 500  # face 2 is the right-hand one
    assert len(stored_files(deployment.home, "photos")) == 1


def test_face_choice_out_of_range_is_refused(deployment: Deployment) -> None:
    r = deployment.propose("Somebody", require_data(HAMILTON / "two_people.jpg"), extra=("--face", "3"))
    assert r.exit_code == 2 and "face 3 asked for, but 2 found" in r.stderr


def test_text_file_named_jpg_is_refused_and_nothing_stored(deployment: Deployment, tmp_path: Path) -> None:
    fake = tmp_path / "photo.jpg"
    fake.write_text("this is not an image\n")
    r = deployment.propose("Somebody", fake)
    assert r.exit_code == 2
    assert "not a readable image" in r.stderr
    assert table_count(deployment.home, "persons") == 0 and stored_files(deployment.home, "photos") == []


def test_one_bad_photo_among_good_ones_stores_nothing(deployment: Deployment, tmp_path: Path) -> None:
    fake = tmp_path / "second.png"
    fake.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 100)  # a PNG signature and garbage
    r = deployment.propose("Lin", require_data(HAMILTON / "lin-manuel-miranda.png"), fake)
    assert r.exit_code == 2 and "second.png" in r.stderr
    assert table_count(deployment.home, "persons") == 0 and table_count(deployment.home, "templates") == 0
    assert stored_files(deployment.home, "photos") == []


def test_missing_photo_file(deployment: Deployment, tmp_path: Path) -> None:
    r = deployment.propose("Somebody", tmp_path / "nope.jpg")
    assert r.exit_code == 2 and "does not exist" in r.stderr


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--expires", "2001-01-01", "not in the future"),
        ("--expires", "31/12/2099", "expires_on"),
        ("--provenance", "social_media", "social media may not be used"),
        ("--provenance", "web-scrape", "scraped from the web"),
        ("--provenance", "holiday snaps", "unknown provenance"),
        ("--capture-date", "2999-01-01", "in the future"),
        ("--legal-basis", "  ", "legal_basis"),
    ],
)
def test_malformed_or_unlawful_fields_are_refused(
    deployment: Deployment, option: str, value: str, message: str
) -> None:
    args = {
        "--category": "missing",
        "--legal-basis": "Case 7",
        "--authority": "Police",
        "--expires": "2099-01-01",
        "--provenance": "family_provided",
    }
    args[option] = value
    flat = [x for kv in args.items() for x in kv]
    r = deployment.run(
        "curator", "watchlist", "add", "Some One", *flat, "--photo", require_data(HAMILTON / "obama.jpg")
    )
    assert r.exit_code == 2, r.stdout
    assert message in r.stderr
    assert not (deployment.home / "photos").exists() or stored_files(deployment.home, "photos") == []


def test_add_list_show_add_photo_remove(deployment: Deployment) -> None:
    added = deployment.propose("Barack Obama", require_data(HAMILTON / "obama.jpg"))
    assert added.exit_code == 0, added.stderr
    pid = json_lines(added.stdout)[0]["id"]

    more = deployment.run(
        "curator", "watchlist", "add-photo", pid[:8], "--photo", HAMILTON / "obama2.jpg",
        "--provenance", "identity_document", "--capture-date", "2012-05-01", "--json",
    )  # fmt: skip
    assert more.exit_code == 0, more.stderr
    shown = json_lines(deployment.run("curator", "watchlist", "show", "Barack Obama", "--json").stdout)[0]
    assert [p["provenance"] for p in shown["photos"]] == ["official_record", "identity_document"]
    assert shown["photos"][1]["capture_date"] == "2012-05-01"
    assert "descriptor" not in str(shown) and "template" not in str(shown)
    assert table_count(deployment.home, "templates") == 4  # dlib's and FaceRes's of each of the two photos

    listed = json_lines(deployment.run("curator", "watchlist", "list", "--json").stdout)
    assert [(p["display_name"], p["photo_count"]) for p in listed] == [("Barack Obama", 2)]

    dup = deployment.run(
        "curator", "watchlist", "add-photo", pid, "--photo", HAMILTON / "obama.jpg", "--provenance", "court_order"
    )
    assert dup.exit_code == 2 and "already enrolled" in dup.stderr

    gone = deployment.run("curator", "watchlist", "remove", pid, "--yes", "--json")
    assert gone.exit_code == 0, gone.stderr
    assert json_lines(gone.stdout)[0]["photos"] == 2
    assert table_count(deployment.home, "persons") == 0 and table_count(deployment.home, "templates") == 0
    assert table_count(deployment.home, "reference_photos") == 0
    assert stored_files(deployment.home, "photos") == []

    missing = deployment.run("curator", "watchlist", "show", pid)
    assert missing.exit_code == 4 and "no person" in missing.stderr.lower()


@pytest.mark.parametrize(
    ("transform", "message"),
    [
        (lambda im: cv2.GaussianBlur(im, (0, 0), 8), "too blurred"),
        (lambda im: cv2.resize(im, None, fx=0.2, fy=0.2, interpolation=cv2.INTER_AREA), "smaller than"),
        (lambda im: np.full_like(im, 127), "no face found"),
    ],
    ids=["blurred", "tiny", "blank"],
)
def test_quality_gate_names_the_reason(
    deployment: Deployment, tmp_path: Path, transform: Callable[[np.ndarray], np.ndarray], message: str
) -> None:
    image = cv2.imread(str(require_data(HAMILTON / "obama.jpg")))
    bad = tmp_path / "bad.jpg"
    cv2.imwrite(str(bad), transform(image))
    r = deployment.propose("Somebody", bad)
    assert r.exit_code == 2 and message in r.stderr, r.stderr
    assert table_count(deployment.home, "persons") == 0 and stored_files(deployment.home, "photos") == []
