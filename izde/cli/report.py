"""``izde report``: the use record of watch sessions, the transparency report and the FRIA data pack."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, date, datetime
from pathlib import Path

import typer
from rich.console import Console

from izde.cli.alerts import parse_time
from izde.cli.common import _default, err_console, open_izde, print_json, user_errors
from izde.errors import InvalidInput
from izde.governance.fria import DEFAULT_COMPLAINTS
from izde.service.reports import UseRecord

app = typer.Typer(help="Reports for oversight: use record, transparency, impact assessment.", no_args_is_help=True)


def _write(path: Path, text: str) -> None:
    if not path.parent.is_dir():
        raise InvalidInput(f"the folder {path.parent} does not exist")
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def _dumps(value: object) -> str:
    return json.dumps(value, default=_default, ensure_ascii=False, indent=2) + "\n"


def _print_use(records: list[UseRecord]) -> None:
    out = Console()
    for r in records:
        end = r.ended_at.isoformat(timespec="seconds") if r.ended_at else "running"
        out.print(f"[bold]session {r.run_id}[/] camera {r.camera} ({r.source_kind}) {r.status}")
        out.print(f"  period {r.started_at.isoformat(timespec='seconds')} .. {end}; started by {r.started_by}")
        out.print(f"  authorisation {r.authorisation_id} ({r.authorisation_reference})")
        out.print(f"  watchlist {r.watchlist_hash[:16]}.. ({r.watchlist_size} persons), threshold {r.threshold}")
        for m in r.matches:
            who = ", ".join(f"{v.user} {v.decision} {v.at.isoformat(timespec='seconds')}" for v in m.reviews)
            out.print(
                f"  match {m.alert_id} at {m.position_s:.1f} s ({m.frame_time.isoformat(timespec='seconds')}), "
                f"distance {m.distance:.3f}, {m.status}; evidence {m.evidence_file or 'none'}; "
                f"verified by: {who or 'nobody yet'}",
                highlight=False,
            )


@app.command("use-log")
def use_log(
    ctx: typer.Context,
    run: str | None = typer.Option(None, "--run", help="One session (run id or unique prefix)."),
    since: str | None = typer.Option(None, "--from", help="Sessions started at or after (ISO 8601 with zone)."),
    until: str | None = typer.Option(None, "--to", help="Sessions started before (ISO 8601 with zone)."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per session on stdout."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Write the record as one JSON file."),
) -> None:
    """The record of each use (auditor): period, watchlist version, threshold, matches and who verified them."""
    with user_errors(), open_izde(ctx) as izde:
        records = izde.use_log(run, parse_time(since, "--from"), parse_time(until, "--to"))
        if out is not None:
            doc = {"generated_at": datetime.now(UTC), "sessions": [asdict(r) for r in records]}
            _write(out, _dumps(doc))
            err_console.print(f"wrote the use record of {len(records)} session(s) to {out}")
            return
    if as_json:
        for r in records:
            print_json(asdict(r))
    elif records:
        _print_use(records)
    else:
        err_console.print("no sessions in that range")


def _date(value: str, name: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"invalid {name} date {value!r}", "use YYYY-MM-DD") from None


@app.command("transparency")
def transparency_report(
    ctx: typer.Context,
    since: str = typer.Option(..., "--from", help="First day (YYYY-MM-DD)."),
    until: str = typer.Option(..., "--to", help="Last day, included (YYYY-MM-DD)."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for transparency.json and transparency.html."),
) -> None:
    """Publishable aggregate figures, with no personal data: JSON and a self-contained HTML page."""
    from izde.governance.report_html import render

    with user_errors():
        first, last = _date(since, "--from"), _date(until, "--to")
        with open_izde(ctx) as izde:
            report = izde.transparency(first, last)
        out.mkdir(parents=True, exist_ok=True)
        _write(out / "transparency.json", _dumps(report.as_dict()))
        _write(out / "transparency.html", render(report))
    err_console.print(f"wrote {out / 'transparency.json'} and {out / 'transparency.html'}")


@app.command("fria")
def fria_pack(
    ctx: typer.Context,
    authorisation: str = typer.Option(..., "--authorisation", "-a", help="Authorisation id or unique prefix."),
    out: Path = typer.Option(..., "--out", "-o", help="Output file; FILE.json and FILE.md are written."),
    complaints: str = typer.Option(DEFAULT_COMPLAINTS, help="How affected people can complain."),
) -> None:
    """The fundamental-rights impact assessment data pack for a deployment (JSON and Markdown)."""
    from izde.governance.fria import markdown

    with user_errors(), open_izde(ctx) as izde:
        pack = izde.fria_pack(authorisation, complaints)
        _write(out.with_suffix(".json"), _dumps(pack))
        _write(out.with_suffix(".md"), markdown(pack))
    err_console.print(f"wrote {out.with_suffix('.json')} and {out.with_suffix('.md')}")


@app.command("search")
def search_report(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help="Search id (or prefix)."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for search.html, search.json and the pictures."),
) -> None:
    """A search's report: timeline of sightings (cameras x time), a map where cameras have coordinates, and the
    use record (case, authorisation, footage searched, who ran it, who confirmed). Evidence crops are included
    for users who may see evidence; each export is audited."""
    from izde.archive.report import map_png, render, timeline_png
    from izde.governance.roles import Action, decision

    with user_errors(), open_izde(ctx) as izde:
        rep = izde.searches.report(ref)
        out.mkdir(parents=True, exist_ok=True)
        evidence: dict[str, str] = {}
        if izde.actor is not None and decision(izde.actor, Action.EVIDENCE_VIEW).allowed:
            (out / "evidence").mkdir(exist_ok=True)
            for s in rep.sightings:
                path = izde.export_evidence(s.best_alert_id, out / "evidence")
                evidence[s.best_alert_id] = f"evidence/{path.name}"
        timeline = timeline_png(rep.sightings, rep.footage)
        (out / "timeline.png").write_bytes(timeline)
        where = map_png(rep.sightings, rep.coordinates)
        if where is not None:
            (out / "map.png").write_bytes(where)
        _write(out / "search.html", render(rep.record, rep.sightings, timeline, where, evidence))
        doc = {"use_record": rep.record.as_json(), "sightings": [s.as_json() for s in rep.sightings]}
        _write(out / "search.json", _dumps(doc))
    err_console.print(f"wrote {out / 'search.html'} ({len(rep.sightings)} sighting(s)) and {out / 'search.json'}")
