"""Test data: persons, photos with random descriptors, JPEG-looking bytes."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

import numpy as np
from sqlalchemy.orm import Session

from izde.store.files import Stage
from izde.store.persons import NewPhoto
from izde.watchlist.types import Category, PersonSpec, Provenance

MODEL = "dlib_resnet_v1"
_counter = itertools.count()


def now() -> datetime:
    return datetime.now(UTC)


def future(days: int = 30) -> date:
    return datetime.now(UTC).date() + timedelta(days=days)


def spec(name: str = "Jane Doe", *, days: int = 30) -> PersonSpec:
    return PersonSpec(
        display_name=name,
        category=Category.MISSING,
        legal_basis="Case 2024/117, order of the district court",
        issuing_authority="District Police",
        expires_on=future(days),
    )


def descriptor(seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=128).astype(np.float32)
    return v / np.linalg.norm(v)


def photo(*, models: tuple[str, ...] = (MODEL,), ext: str = "jpg", data: bytes | None = None) -> NewPhoto:
    n = next(_counter)
    return NewPhoto(
        data=data if data is not None else b"\xff\xd8\xff\xe0photo-%d" % n,
        ext=ext,
        provenance=Provenance.OFFICIAL_RECORD,
        box=(10, 20, 110, 140),
        quality=0.8,
        descriptors={m: descriptor(n * 10 + i) for i, m in enumerate(models)},
        capture_date=date(2023, 5, 1),
    )


def jpeg(tag: str = "x") -> bytes:
    return b"\xff\xd8\xff\xe0evidence-" + tag.encode()


def stored_alert(
    session: Session,
    stage: Stage,
    person_id: str,
    evidence_jpeg: bytes,
    *,
    threshold: float = 0.5,
    authorisation_id: str | None = None,
) -> tuple[str, str]:
    """A run on camera "stage" with one alert for ``person_id``, written straight through the store (no video):
    for tests about who may reach an alert, not how it was raised. Returns (run id, alert id)."""
    from izde.store import alerts as alert_store
    from izde.store import runs as run_store

    run = run_store.start_run(
        session,
        camera="stage",
        source="test",
        source_kind="file",
        threshold=threshold,
        watchlist_hash="x" * 64,
        watchlist_size=1,
    )
    run.authorisation_id = authorisation_id
    alert = alert_store.add_alert(
        session,
        stage,
        run_id=run.id,
        person_id=person_id,
        track_id=1,
        frame_time=datetime.now(UTC),
        position_s=1.0,
        distance=0.4,
        threshold=threshold,
        quality=0.8,
        evidence_jpeg=evidence_jpeg,
    )
    return run.id, alert.id
