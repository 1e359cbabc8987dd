"""A search's report: one self-contained HTML page with the timeline of sightings (cameras x time), a map of the
sightings in order where cameras have coordinates, and the use record the AI Act asks for.

The page shows evidence of the searched persons only (their sightings); it names nobody else and holds no face of
anyone else, because nothing about anyone else was kept.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from izde.archive.sightings import Sighting

_STYLE = (
    "body{font-family:sans-serif;max-width:64em;margin:2em auto;color:#222}"
    "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #bbb;padding:.3em .6em;text-align:left}"
    "img{max-width:100%}dt{font-weight:bold}dd{margin:0 0 .5em 1em}"
)


@dataclass(frozen=True, slots=True)
class UseRecord:
    """What Art. 26(10) asks each use to document: the case, the authorisation, the footage, who ran it and who
    confirmed what it found."""

    search_id: str
    case: str
    authorisation: str
    authorisation_reference: str
    authority: str
    objective: str
    started_by: str
    started_at: datetime
    finished_at: datetime | None
    status: str
    cameras: tuple[str, ...]
    footage_from: datetime | None
    footage_to: datetime | None
    footage_hours: float
    recordings: int
    refused: int
    persons: tuple[str, ...]
    confirmations: Mapping[str, Sequence[str]] = field(default_factory=dict)  # alert id -> who confirmed it

    def as_json(self) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        d["confirmations"] = {k: list(v) for k, v in self.confirmations.items()}
        return d


def _figure(width: float, height: float) -> Any:
    # The Agg canvas directly: no display and no global pyplot state, so a server can draw in any thread.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def timeline_png(sightings: Sequence[Sighting], footage: Sequence[tuple[str, datetime, datetime]]) -> bytes:
    """Cameras on the vertical axis, time on the horizontal; each sighting a bar (a dot when short), coloured by
    person; each recording searched is a grey band, so gaps in the archive show as gaps."""
    import matplotlib.dates as mdates

    num: Any = mdates.date2num  # matplotlib's date helpers are untyped
    mdates_formatter: Any = mdates.DateFormatter
    cams = sorted({c for c, _, _ in footage} | {s.camera for s in sightings})
    fig = _figure(9, 1.2 + 0.45 * max(1, len(cams)))
    ax = fig.add_subplot()
    row = {c: i for i, c in enumerate(cams)}
    for n, (camera, start, end) in enumerate(footage):
        left = num(start)
        ax.barh(
            row[camera],
            num(end) - left,
            left=left,
            height=0.6,
            color="#e4e4e4",
            label="footage searched" if n == 0 else None,
        )
    persons = sorted({s.person for s in sightings})
    colours = {p: f"C{i % 10}" for i, p in enumerate(persons)}
    for s in sightings:
        start, end = num(s.start), num(s.end)
        ax.barh(row[s.camera], max(end - start, 0.0), left=start, height=0.5, color=colours[s.person])
        ax.plot([start], [row[s.camera]], "o", color=colours[s.person], markersize=6)
    for p in persons:
        ax.plot([], [], "o", color=colours[p], label=p)
    ax.set_yticks(range(len(cams)), cams)
    ax.invert_yaxis()
    ax.xaxis_date()
    ax.xaxis.set_major_formatter(mdates_formatter("%m-%d %H:%M:%S"))
    for label in ax.get_xticklabels():
        label.set_rotation(20)
        label.set_horizontalalignment("right")
    ax.set_xlabel("time (UTC)")
    ax.set_title("Sightings by camera and time")
    ax.legend(loc="upper right", fontsize="small")
    ax.grid(True, axis="x", alpha=0.3)
    return _png(fig)


def map_png(sightings: Sequence[Sighting], coordinates: Mapping[str, tuple[float, float]]) -> bytes | None:
    """The cameras with coordinates (latitude, longitude) and each person's sightings joined in time order; None
    when no sighted camera has coordinates."""
    placed = [s for s in sightings if s.camera in coordinates]
    if not placed:
        return None
    fig = _figure(6, 5)
    ax = fig.add_subplot()
    for cam, (lat, lon) in sorted(coordinates.items()):
        ax.plot([lon], [lat], "s", color="#999999")
        ax.annotate(cam, (lon, lat), textcoords="offset points", xytext=(4, 4), fontsize="small")
    for i, person in enumerate(sorted({s.person for s in placed})):
        path = sorted((s for s in placed if s.person == person), key=lambda s: s.start)
        lons = [coordinates[s.camera][1] for s in path]
        lats = [coordinates[s.camera][0] for s in path]
        ax.plot(lons, lats, "-o", color=f"C{i % 10}", label=person)
        for n, (x, y) in enumerate(zip(lons, lats, strict=True), start=1):
            ax.annotate(str(n), (x, y), textcoords="offset points", xytext=(-10, -10), fontsize="small")
    ax.set_xlabel("longitude")
    ax.set_ylabel("latitude")
    ax.set_title("Sightings in order")
    ax.legend(fontsize="small")
    ax.grid(True, alpha=0.3)
    return _png(fig)


def _when(t: datetime | None) -> str:
    return "–" if t is None else t.isoformat(timespec="seconds")


def _img(alt: str, png: bytes) -> str:
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'


def render(
    record: UseRecord,
    sightings: Sequence[Sighting],
    timeline: bytes | None,
    map_: bytes | None = None,
    evidence: Mapping[str, str] | None = None,
) -> str:
    """The page. ``evidence`` maps a sighting's best alert id to the file name of its evidence crop (written
    beside the page), so the page itself stays small."""
    e = html.escape
    rows = "".join(
        f"<tr><td>{e(s.person)}</td><td>{e(s.camera)}</td><td>{_when(s.start)}</td><td>{_when(s.end)}</td>"
        f"<td>{len(s.alerts)}</td><td>{s.best_distance:.3f} (threshold {s.threshold:.3f})</td>"
        f"<td>{e(', '.join(record.confirmations.get(s.best_alert_id, ())) or 'pending review')}</td>"
        + (
            f'<td><img alt="evidence" src="{e(evidence[s.best_alert_id])}" height="96"></td>'
            if evidence and s.best_alert_id in evidence
            else "<td></td>"
        )
        + "</tr>"
        for s in sightings
    )
    use = {
        "Search": record.search_id,
        "Case": record.case,
        "Authorisation": f"{record.authorisation} ({record.authorisation_reference}, {record.authority})",
        "Objective": record.objective,
        "Run by": record.started_by,
        "Started": _when(record.started_at),
        "Finished": _when(record.finished_at),
        "Status": record.status,
        "Persons searched for": ", ".join(record.persons),
        "Cameras": ", ".join(record.cameras),
        "Footage": f"{_when(record.footage_from)} .. {_when(record.footage_to)}, {record.footage_hours:.2f} hours in "
        f"{record.recordings} recording(s); {record.refused} file(s) refused",
    }
    dl = "".join(f"<dt>{e(k)}</dt><dd>{e(v)}</dd>" for k, v in use.items())
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>izde search {e(record.case)}</title>'
        f"<style>{_STYLE}</style></head><body><h1>Search of recorded footage: case {e(record.case)}</h1>"
        "<p>Every sighting is a candidate for human review, never an identification by itself: it stands only once "
        "two operators have confirmed its alert. Nothing about anyone who matched nobody was kept.</p>"
        + (_img("timeline of sightings", timeline) if timeline else "")
        + (_img("map of sightings in order", map_) if map_ else "")
        + f"<h2>Sightings ({len(sightings)})</h2><table><tr><th>person</th><th>camera</th><th>from (UTC)</th>"
        "<th>to (UTC)</th><th>alerts</th><th>best distance</th><th>confirmed by</th><th>evidence</th></tr>"
        + rows
        + f"</table><h2>Use record</h2><dl>{dl}</dl></body></html>\n"
    )
