"""Chunks cover every second of every recording once, with stable ids; sightings merge one passage's alerts."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from izde.archive.chunks import plan_chunks
from izde.archive.manifest import Recording
from izde.archive.sightings import Hit, sightings
from izde.errors import InvalidInput

T0 = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)


def _rec(camera: str, name: str, duration: float, start: datetime = T0) -> Recording:
    return Recording(camera, Path("/footage") / camera / name, start, duration, "name")


@pytest.mark.parametrize(
    ("duration", "chunk_s", "n"),
    [(10.0, 120.0, 1), (600.0, 120.0, 5), (650.0, 120.0, 5), (170.0, 120.0, 1), (190.0, 120.0, 2), (0.5, 60, 1)],
)
def test_chunks_tile_each_recording(duration: float, chunk_s: float, n: int) -> None:
    chunks = plan_chunks([_rec("c", "a.mp4", duration)], chunk_s)
    assert len(chunks) == n
    assert chunks[0].start_s == 0 and chunks[-1].end_s == duration
    assert all(a.end_s == b.start_s for a, b in itertools.pairwise(chunks))
    assert all(c.start == T0 + timedelta(seconds=c.start_s) for c in chunks)
    assert len({c.id for c in chunks}) == n


def test_chunk_ids_are_stable_and_name_what_they_cover() -> None:
    recs = [_rec("c1", "a.mp4", 300.0), _rec("c2", "a.mp4", 300.0), _rec("c1", "b.mp4", 300.0, T0 + timedelta(1))]
    first, again = plan_chunks(recs, 100.0), plan_chunks(list(recs), 100.0)
    assert [c.id for c in first] == [c.id for c in again]
    assert len({c.id for c in first}) == 9
    assert {c.id for c in plan_chunks(recs, 150.0)}.isdisjoint({c.id for c in first})


def test_chunk_length_must_be_positive() -> None:
    with pytest.raises(InvalidInput):
        plan_chunks([_rec("c", "a.mp4", 10.0)], 0)


def _hit(alert: str, person: str, camera: str, at_s: float, until_s: float | None = None, d: float = 0.5) -> Hit:
    start = T0 + timedelta(seconds=at_s)
    end = T0 + timedelta(seconds=until_s if until_s is not None else at_s)
    return Hit(alert, f"id-{person}", person, camera, start, end, d, 0.6)


def test_alerts_of_one_passage_are_one_sighting() -> None:
    hits = [
        _hit("a1", "Ann", "gate", 10, 20, 0.50),
        _hit("a2", "Ann", "gate", 70, 75, 0.42),  # 50 s after the last one ended: the same passage
        _hit("a3", "Ann", "gate", 200, None, 0.55),  # 125 s later: a new passage
        _hit("a4", "Ann", "hall", 30, None, 0.48),  # another camera
        _hit("a5", "Bob", "gate", 12, None, 0.51),  # another person
    ]
    got = sightings(hits, gap_s=60)
    assert [(s.person, s.camera, s.alerts, s.best_alert_id) for s in got] == [
        ("Ann", "gate", ("a1", "a2"), "a2"),
        ("Bob", "gate", ("a5",), "a5"),
        ("Ann", "hall", ("a4",), "a4"),
        ("Ann", "gate", ("a3",), "a3"),
    ]
    first = got[0]
    assert (first.start, first.end, first.best_distance) == (
        T0 + timedelta(seconds=10),
        T0 + timedelta(seconds=75),
        0.42,
    )
    assert first.as_json()["alerts"] == 2 and first.as_json()["person"] == "Ann"


def test_no_alerts_no_sightings() -> None:
    assert sightings([]) == []
