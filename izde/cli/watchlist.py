"""``izde watchlist``: enrol, list, show and remove persons."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer
from pydantic import ValidationError
from rich.console import Console

from izde.cli.common import err_console, open_izde, print_json, user_errors
from izde.cli.views import person_dict, persons_table, summary_dict
from izde.errors import InvalidInput
from izde.watchlist.types import Category, PersonSpec, PhotoSpec, Provenance

app = typer.Typer(help="Keep the watchlist: persons, their reference photos and legal basis.", no_args_is_help=True)

PROVENANCES = ", ".join(p.value for p in Provenance)


def _invalid(e: ValidationError) -> InvalidInput:
    parts = [f"{'.'.join(str(x) for x in err['loc']) or 'value'}: {err['msg']}" for err in e.errors()]
    return InvalidInput("; ".join(parts))


def _photos(photos: list[Path], provenance: str, capture_date: str | None, face: int | None) -> list[PhotoSpec]:
    if face is not None and len(photos) != 1:
        raise InvalidInput("--face picks a face in one photo; give exactly one --photo with it")
    try:
        captured = date.fromisoformat(capture_date) if capture_date else None
        return [PhotoSpec(path=p, provenance=provenance, capture_date=captured, face=face) for p in photos]
    except ValueError as e:
        if isinstance(e, ValidationError):
            raise _invalid(e) from None
        raise InvalidInput(f"invalid capture date {capture_date!r}: {e}", "use YYYY-MM-DD") from None


@app.command("add")
def add(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Display name of the person."),
    category: Category = typer.Option(..., help="Why the person is sought."),
    legal_basis: str = typer.Option(..., help="Reference of the legal basis (warrant, case or order number)."),
    authority: str = typer.Option(..., help="Issuing authority."),
    expires: str = typer.Option(..., help="Expiry date YYYY-MM-DD; the entry stops matching on that day."),
    photo: list[Path] = typer.Option(..., "--photo", help="Reference photo (repeat for several)."),
    provenance: str = typer.Option(..., help=f"Where the photos come from: {PROVENANCES}."),
    capture_date: str | None = typer.Option(None, help="When the photos were taken, YYYY-MM-DD."),
    face: int | None = typer.Option(None, min=1, help="Which face to use when a photo shows several (1 = leftmost)."),
    as_json: bool = typer.Option(False, "--json", help="Print the new entry as JSON."),
) -> None:
    """Propose a person with one or more reference photos (curator). Refused photos store nothing.

    The entry matches nobody until a different approver runs 'izde watchlist approve'."""
    with user_errors():
        try:
            spec = PersonSpec(
                display_name=name,
                category=category,
                legal_basis=legal_basis,
                issuing_authority=authority,
                expires_on=expires,
            )
        except ValidationError as e:
            raise _invalid(e) from None
        photos = _photos(photo, provenance, capture_date, face)
        with open_izde(ctx) as izde:
            person = izde.propose(spec, photos)
    if as_json:
        print_json(person_dict(person))
    else:
        err_console.print(
            f"proposed [bold]{person.display_name}[/] as {person.id} with {len(person.photos)} photo(s); "
            "a different approver must approve it before it can match"
        )


@app.command("add-photo")
def add_photo(
    ctx: typer.Context,
    person: str = typer.Argument(..., help="Person id, id prefix or exact name."),
    photo: list[Path] = typer.Option(..., "--photo", help="Reference photo (repeat for several)."),
    provenance: str = typer.Option(..., help=f"Where the photos come from: {PROVENANCES}."),
    capture_date: str | None = typer.Option(None, help="When the photos were taken, YYYY-MM-DD."),
    face: int | None = typer.Option(None, min=1, help="Which face to use when a photo shows several."),
    as_json: bool = typer.Option(False, "--json", help="Print the entry as JSON."),
) -> None:
    """Add reference photos to a person; every photo stays a template (appearance changes over the years)."""
    with user_errors():
        photos = _photos(photo, provenance, capture_date, face)
        with open_izde(ctx) as izde:
            view = izde.add_photos(person, photos)
    if as_json:
        print_json(person_dict(view))
    else:
        err_console.print(
            f"{view.display_name} now has {len(view.photos)} photo(s); the entry awaits a second approval again"
        )


@app.command("approve")
def approve(
    ctx: typer.Context,
    person: str = typer.Argument(..., help="Person id, id prefix or exact name."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Approve a proposed entry (approver; not the person who proposed it). From now on it can match."""
    with user_errors(), open_izde(ctx) as izde:
        view = izde.approve(person)
    if as_json:
        print_json(person_dict(view))
    else:
        err_console.print(f"approved {view.display_name}: the entry is {view.status}")


@app.command("list")
def list_(
    ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="One JSON object per person.")
) -> None:
    """List the persons on the watchlist."""
    with user_errors(), open_izde(ctx) as izde:
        rows = izde.persons()
    if as_json:
        for r in rows:
            print_json(summary_dict(r))
    else:
        Console().print(persons_table(rows))


@app.command("show")
def show(
    ctx: typer.Context,
    person: str = typer.Argument(..., help="Person id, id prefix or exact name."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Show a person's entry and reference photos (never their templates)."""
    with user_errors(), open_izde(ctx) as izde:
        view = izde.person(person)
    if as_json:
        print_json(person_dict(view))
        return
    out = Console()
    out.print(f"[bold]{view.display_name}[/]  ({view.id})")
    out.print(f"category {view.category}; status {view.status}; expires {view.expires_on.isoformat()}")
    out.print(f"legal basis: {view.legal_basis}; issued by {view.issuing_authority}")
    for i, ph in enumerate(view.photos, 1):
        taken = ph.capture_date.isoformat() if ph.capture_date else "date unknown"
        out.print(f"  photo {i}: {ph.provenance}, {taken}, quality {ph.quality:.2f}, {ph.path}")


@app.command("recompute")
def recompute(ctx: typer.Context) -> None:
    """Compute the templates stored reference photos lack for a network of vision.descriptors (after an upgrade
    or a change of networks), from the photos themselves; each one is audited. Needs 'izde models build'."""
    with user_errors(), open_izde(ctx) as izde:
        n = izde.recompute_templates()
    err_console.print(f"computed {n} template(s)" if n else "every reference photo has its templates")


@app.command("remove")
def remove(
    ctx: typer.Context,
    person: str = typer.Argument(..., help="Person id, id prefix or exact name."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Delete a person with their photos, templates, alerts and evidence, from disk and database."""
    with user_errors(), open_izde(ctx) as izde:
        view = izde.person(person)
        if not yes and not typer.confirm(
            f"Delete {view.display_name} ({view.id}) with {len(view.photos)} photo(s) and their alerts?", err=True
        ):
            raise typer.Exit(1)
        removal = izde.remove(view.id)
    if as_json:
        print_json(
            {
                "person_id": removal.person_id,
                "photos": removal.photos,
                "templates": removal.templates,
                "alerts": removal.alerts,
            }
        )
    else:
        err_console.print(
            f"removed {removal.display_name}: {removal.photos} photo(s), {removal.templates} template(s), "
            f"{removal.alerts} alert(s)"
        )
