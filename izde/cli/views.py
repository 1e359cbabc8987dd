"""Plain dictionaries of API views for --json output, and rich tables for people."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from rich.table import Table

from izde.api import AlertView, PersonView
from izde.store.persons import PersonSummary


def person_dict(p: PersonView) -> dict[str, Any]:
    return asdict(p)


def summary_dict(p: PersonSummary) -> dict[str, Any]:
    return asdict(p)


def alert_dict(a: AlertView) -> dict[str, Any]:
    d = asdict(a)
    d["candidate_only"] = True  # a match is a lead for human review, never an identification by itself
    return d


def persons_table(rows: list[PersonSummary]) -> Table:
    t = Table(title=f"Watchlist ({len(rows)} persons)")
    for col in ("id", "name", "category", "status", "expires", "photos"):
        t.add_column(col)
    for p in rows:
        t.add_row(p.id[:12], p.display_name, p.category, p.status, p.expires_on.isoformat(), str(p.photo_count))
    return t


def alerts_table(rows: list[AlertView]) -> Table:
    t = Table(title=f"Alerts ({len(rows)})")
    for col in ("id", "time (UTC)", "camera", "at (s)", "person", "distance", "threshold", "quality", "status"):
        t.add_column(col)
    for a in rows:
        t.add_row(
            a.id[:12],
            a.frame_time.strftime("%Y-%m-%d %H:%M:%S"),
            a.camera,
            f"{a.position_s:.1f}",
            a.person_name,
            f"{a.distance:.3f}",
            f"{a.threshold:.3f}",
            f"{a.quality:.2f}",
            a.status,
        )
    return t
