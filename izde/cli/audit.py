"""``izde audit``: verify the tamper-evident audit chain and export it for an oversight body (auditor)."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import typer

from izde.cli.alerts import parse_time
from izde.cli.common import err_console, open_izde, print_json, user_errors
from izde.errors import InvalidInput
from izde.governance.admins import PRIVILEGED_ALERT
from izde.governance.audit_verify import BROKEN_EXIT, Witness, read_witness
from izde.service.audit import manifest_dict, manifest_path

app = typer.Typer(help="The audit chain: verify it, export it (auditor).", no_args_is_help=True)


@app.command("verify")
def verify(
    ctx: typer.Context,
    head: bool = typer.Option(
        False, "--head", help="Also compare the newest entry with the head anchor (catches deleted newest entries)."
    ),
    witness: list[Path] | None = typer.Option(
        None,
        "--witness",
        help="A manifest written by 'izde audit export' (kept outside the deployment, e.g. by the oversight body): "
        "its last entry must still be in the chain unchanged, which catches a history rewritten with the audit "
        "key. Repeat for several.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the result as one JSON object."),
) -> None:
    """Verify every entry's keyed hash and position. Exits 0 when intact, 6 when broken, saying where."""
    with user_errors():
        witnesses = [_read_witness(p) for p in witness or []]
    with user_errors(), open_izde(ctx) as izde:
        result = izde.verify_audit(head=head, witnesses=witnesses)
    if as_json:
        print_json(asdict(result))
    elif result.ok:
        span = f" (seq {result.first_seq}..{result.last_seq})" if result.count else ""
        checked = (", head anchor matches" if head else "") + (
            f", {len(witnesses)} witness(es) match" if witnesses else ""
        )
        err_console.print(f"audit chain intact: {result.count} entries{span}{checked}")
    else:
        n = len(result.problems)
        err_console.print(f"[bold red]audit chain broken:[/] {n} problem(s) in {result.count} entries")
        for p in result.problems:
            where = f"seq {p.seq}" if p.seq is not None else "chain"
            err_console.print(f"  {where}: {p.kind}: {p.message}", highlight=False)
    if not result.ok:
        raise typer.Exit(BROKEN_EXIT)


@app.command("export")
def export(
    ctx: typer.Context,
    out: Path = typer.Option(..., "--out", "-o", help="JSON Lines file to write; the manifest goes next to it."),
    since: str | None = typer.Option(None, "--from", help="Entries at or after this time (ISO 8601 with zone)."),
    until: str | None = typer.Option(None, "--to", help="Entries before this time (ISO 8601 with zone)."),
    as_json: bool = typer.Option(False, "--json", help="Print the manifest as JSON."),
) -> None:
    """Export audit entries as JSON Lines with a manifest (count, first/last seq and hash, verification)."""
    with user_errors(), open_izde(ctx) as izde:
        m = izde.export_audit(out, parse_time(since, "--from"), parse_time(until, "--to"))
    if as_json:
        print_json(manifest_dict(m))
    else:
        err_console.print(
            f"wrote {m.count} entries to {out} and the manifest to {manifest_path(out)}; "
            f"chain {'intact' if m.chain.ok else 'BROKEN'}"
        )
    if not m.chain.ok:
        raise typer.Exit(BROKEN_EXIT)


@app.command("alerts")
def alerts(
    ctx: typer.Context,
    limit: int = typer.Option(100, min=1, max=1000, help="Newest entries to show."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per entry."),
) -> None:
    """Privileged account changes for the auditors to review: new administrators and passwords of other users
    reset by an administrator (who could then log in as them)."""
    with user_errors(), open_izde(ctx) as izde:
        rows = izde.audit_log(action=PRIVILEGED_ALERT, limit=limit)
    for e in rows:
        if as_json:
            print_json({**asdict(e), "at": e.at.isoformat()})
        else:
            d = e.details
            err_console.print(f"{e.at:%Y-%m-%d %H:%M} {e.actor}: {d.get('reason')} ({d.get('username')}, seq {e.seq})")
    if not rows and not as_json:
        err_console.print("no privileged account changes")


def _read_witness(path: Path) -> Witness:
    try:
        return read_witness(path.read_text(encoding="utf-8"), str(path))
    except OSError as e:
        raise InvalidInput(f"cannot read the witness {path}: {e.strerror or e}") from None
    except ValueError as e:
        raise InvalidInput(str(e), "give the manifest (.manifest.json) that 'izde audit export' wrote") from None
