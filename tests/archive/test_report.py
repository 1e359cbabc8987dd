"""The search report: a timeline picture, a map where cameras have coordinates, and the use record."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import numpy as np

from izde.archive.report import UseRecord, map_png, render, timeline_png
from izde.archive.sightings import Sighting

T0 = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)


def _s(person: str, camera: str, start_s: float, end_s: float, alert: str) -> Sighting:
    return Sighting(
        f"id-{person}",
        person,
        camera,
        T0 + timedelta(seconds=start_s),
        T0 + timedelta(seconds=end_s),
        (alert,),
        alert,
        0.41,
        0.6,
    )


SIGHTINGS = [_s("Lin-Manuel Miranda", "stage-1", 60, 90, "a1"), _s("Lin-Manuel Miranda", "foyer", 600, 605, "a2")]
FOOTAGE = [
    ("stage-1", T0, T0 + timedelta(minutes=20)),
    ("stage-1", T0 + timedelta(minutes=30), T0 + timedelta(minutes=50)),
    ("foyer", T0, T0 + timedelta(hours=1)),
    ("street", T0 + timedelta(minutes=5), T0 + timedelta(minutes=15)),
]
RECORD = UseRecord(
    search_id="s1",
    case="CASE-<7>",
    authorisation="auth1",
    authorisation_reference="P-77",
    authority="Prosecutor",
    objective="serious_offence",
    started_by="carol",
    started_at=T0 + timedelta(days=1),
    finished_at=None,
    status="running",
    cameras=("foyer", "stage-1", "street"),
    footage_from=T0,
    footage_to=T0 + timedelta(hours=1),
    footage_hours=2.5,
    recordings=7,
    refused=1,
    persons=("Lin-Manuel Miranda",),
    confirmations={"a1": ["carol", "dave"]},
)


def _decode(png: bytes) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None
    return image


def test_timeline_marks_each_sighting_on_its_camera_row(tmp_path: Path) -> None:
    png = timeline_png(SIGHTINGS, FOOTAGE)
    empty = timeline_png([], FOOTAGE)
    (tmp_path / "timeline.png").write_bytes(png)
    image = _decode(png)
    assert image.shape[0] > 150 and image.shape[1] > 600

    # Coloured marks (not grey, not white) exist only where there are sightings.
    def coloured(img: np.ndarray) -> int:
        spread = img.max(axis=2).astype(int) - img.min(axis=2).astype(int)
        return int((spread > 60).sum())

    assert coloured(image) > 100 > coloured(_decode(empty))


def test_map_only_when_cameras_have_coordinates() -> None:
    assert map_png(SIGHTINGS, {}) is None
    assert map_png(SIGHTINGS, {"street": (51.5, -0.1)}) is None
    png = map_png(SIGHTINGS, {"stage-1": (51.50, -0.12), "foyer": (51.51, -0.11)})
    assert png is not None and _decode(png).size > 0


def test_page_holds_sightings_use_record_and_escapes_text() -> None:
    page = render(RECORD, SIGHTINGS, timeline_png(SIGHTINGS, FOOTAGE), evidence={"a1": "evidence/a1.jpg"})
    assert page.count("data:image/png;base64,") == 1
    assert "CASE-&lt;7&gt;" in page and "CASE-<7>" not in page
    assert "carol, dave" in page and "pending review" in page
    assert 'src="evidence/a1.jpg"' in page
    assert "P-77" in page and "2.50 hours in 7 recording(s); 1 file(s) refused" in page
