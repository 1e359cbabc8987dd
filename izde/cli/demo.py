"""``izde demo``: the whole lawful workflow on the shared sample data, in a data directory of its own.

It does what a deployment's people do, each step as its own user and through the same checks and audit
as real use: initialise, create one user per role, propose and approve a watchlist entry from a
reference photo, request, assess and grant an authorisation, watch the recording, and list the alert.
"""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import typer
from platformdirs import user_data_path

from izde.api import Izde
from izde.cli.common import err_console, print_json, settings, user_errors
from izde.errors import InvalidInput
from izde.eval.datasets import shared_data_dir
from izde.governance.authorisations import AuthorisationSpec, Objective
from izde.governance.roles import Role
from izde.watchlist.types import Category, PersonSpec, PhotoSpec, Provenance


def demo(
    ctx: typer.Context,
    data: Path | None = typer.Option(None, help="The shared data folder (default: $IZDE_DATA or ../shared/data)."),
    as_json: bool = typer.Option(False, "--json", help="Print the alerts as JSON."),
) -> None:
    """Run the full workflow (enrol, approve, authorise, watch, review queue) on the sample video.

    Uses the data directory given by --home, or a fresh 'demo' directory beside the default one; refuses a
    directory that already has users, so it never mixes with a real deployment.
    """
    root = shared_data_dir(data)
    photo = root / "video/hamilton/lin-manuel-miranda.png"
    video = root / "video/hamilton/short_hamilton_clip.mp4"
    with user_errors():
        if not video.is_file() or not photo.is_file():
            raise InvalidInput(f"sample data not found under {root}", "pass --data or set IZDE_DATA")
        s = settings(ctx)
        if ctx.find_root().params.get("home") is None:
            s = s.model_copy(update={"home": user_data_path("izde", appauthor=False) / "demo"})
        password = secrets.token_urlsafe(18)
        with Izde(s) as izde:
            err_console.print(f"demo data directory: {s.home}")
            izde.initialise("demo-admin", password, "Demo Police", law_enforcement=True)
            izde.login("demo-admin", password)
            for name, role in (
                ("demo-curator", Role.CURATOR),
                ("demo-approver", Role.APPROVER),
                ("demo-operator", Role.OPERATOR),
            ):
                izde.add_user(name, password, frozenset({role}), "Demo Police", None)
            izde.add_camera("stage-1", str(video), "the sample recording")

            izde.login("demo-curator", password)
            person = izde.propose(
                PersonSpec(
                    display_name="Lin-Manuel Miranda",
                    category=Category.WANTED,
                    legal_basis="DEMO warrant 1/2026",
                    issuing_authority="Demo District Court",
                    expires_on=date.today() + timedelta(days=30),
                ),
                [PhotoSpec(path=photo, provenance=Provenance.OFFICIAL_RECORD)],
            )
            err_console.print(f"curator proposed {person.display_name}")
            izde.login("demo-approver", password)
            izde.approve(person.id)
            err_console.print("approver approved the entry")

            recorded_at = datetime.now(UTC) - timedelta(hours=1)
            izde.login("demo-curator", password)
            auth = izde.request_authorisation(
                AuthorisationSpec(
                    objective=Objective.SERIOUS_OFFENCE,
                    offence_code="DEMO-1",
                    issuing_authority="Demo Prosecutor",
                    reference="DEMO-AUTH-1",
                    starts_at=recorded_at - timedelta(hours=1),
                    ends_at=recorded_at + timedelta(hours=2),
                    covers_live=False,
                    covers_recorded=True,
                    persons=(person.id,),
                    cameras=("stage-1",),
                )
            )
            izde.record_fria(auth.id, "Demo impact assessment: sample recording, one watchlisted person.")
            izde.login("demo-approver", password)
            izde.decide_authorisation(auth.id, grant=True, note="demo grant")
            err_console.print("authorisation requested, assessed (FRIA) and granted")

            izde.login("demo-operator", password)
            report = izde.watch(str(video), "stage-1", auth.id, recorded_at=recorded_at)
            err_console.print(
                f"watched {report.frames_read} frames ({report.frames_analysed} analysed): {report.faces_seen} faces "
                f"in {report.tracks_seen} tracks, {len(report.alerts)} alert(s), status {report.status}"
            )
            for a in izde.alerts(status="pending"):
                if as_json:
                    print_json({"alert": a.id, "person": a.person_name, "distance": a.distance})
                else:
                    err_console.print(
                        f"pending alert {a.id[:12]}: {a.person_name} at {a.position_s:.1f} s, distance "
                        f"{a.distance:.3f} <= {a.threshold:.3f}; two operators must confirm it"
                    )
    if not report.finished:
        raise typer.Exit(3)
