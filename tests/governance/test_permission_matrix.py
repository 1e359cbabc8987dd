"""Every public operation of :class:`izde.api.Izde` against every role, cell by cell.

The expected table is written out here rather than derived from ``ROLE_ACTIONS``: a change of the policy
must change this file too, on purpose.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from izde.api import Izde
from izde.errors import IzdeError, NotFound
from izde.governance.authorisations import AuthorisationSpec, Objective
from izde.governance.roles import PermissionDenied, Role
from izde.governance.users import AuthenticationFailed
from izde.store import alerts as alert_store
from izde.store import runs as run_store
from izde.watchlist.types import Category, PersonSpec, PhotoSpec
from tests.cli.helpers import Deployment

ALL_ROLES = frozenset({"admin", "curator", "approver", "operator", "auditor"})
NOBODY = "0000000000000000"  # an id that exists nowhere: allowed calls fail after the check, on lookup
ROLES = ("admin", "curator", "approver", "operator", "auditor", None)  # None: not logged in
USER_OF = {"admin": "admin", "curator": "curator", "approver": "approver", "operator": "op-a", "auditor": "auditor"}

Call = Callable[[Izde, Path], Any]


def _person() -> PersonSpec:
    return PersonSpec(
        display_name="Nobody",
        category=Category.WANTED,
        legal_basis="Warrant 1/2026",
        issuing_authority="Court",
        expires_on=date.today() + timedelta(days=30),
    )


def _photo(tmp: Path) -> list[PhotoSpec]:
    return [PhotoSpec(path=tmp / "missing.jpg", provenance="official_record")]


def _auth_spec() -> AuthorisationSpec:
    return AuthorisationSpec(
        objective=Objective.MISSING_PERSON,
        issuing_authority="Court",
        reference="R-1",
        starts_at=datetime(2026, 1, 1, tzinfo=UTC),
        ends_at=datetime(2026, 2, 1, tzinfo=UTC),
        covers_live=False,
        covers_recorded=True,
        persons=(NOBODY,),
        cameras=("c",),
    )


def _folder(tmp: Path) -> str:
    folder = tmp / "frames"
    folder.mkdir(exist_ok=True)
    return str(folder)


# method -> (the roles allowed, how to call it). Roles are those of a law-enforcement organisation.
MATRIX: dict[str, tuple[frozenset[str], Call]] = {
    "propose": (frozenset({"curator"}), lambda s, t: s.propose(_person(), _photo(t))),
    "add_photos": (frozenset({"curator"}), lambda s, t: s.add_photos(NOBODY, _photo(t))),
    "approve": (frozenset({"approver"}), lambda s, t: s.approve(NOBODY)),
    "persons": (frozenset({"curator", "approver", "operator"}), lambda s, t: s.persons()),
    "person": (frozenset({"curator", "approver", "operator"}), lambda s, t: s.person(NOBODY)),
    "remove": (frozenset({"curator", "approver"}), lambda s, t: s.remove(NOBODY)),
    "recompute_templates": (frozenset({"curator"}), lambda s, t: s.recompute_templates()),
    "request_authorisation": (frozenset({"curator"}), lambda s, t: s.request_authorisation(_auth_spec())),
    "decide_authorisation": (frozenset({"approver"}), lambda s, t: s.decide_authorisation(NOBODY, True)),
    "record_fria": (frozenset({"curator", "approver"}), lambda s, t: s.record_fria(NOBODY, "FRIA F-1")),
    "authorisation": (
        frozenset({"curator", "approver", "operator", "auditor"}),
        lambda s, t: s.authorisation(NOBODY),
    ),
    "authorisations": (
        frozenset({"curator", "approver", "operator", "auditor"}),
        lambda s, t: s.authorisations(),
    ),
    "watch": (
        frozenset({"operator"}),
        lambda s, t: s.watch(_folder(t), "c", NOBODY, recorded_at=datetime(2026, 1, 2, tzinfo=UTC)),
    ),
    "watch[live]": (frozenset({"operator"}), lambda s, t: s.watch("rtsp://127.0.0.1:9/x", "c", NOBODY)),
    "gallery": (frozenset({"operator"}), lambda s, t: s.gallery()),
    "alerts": (frozenset({"operator", "auditor"}), lambda s, t: s.alerts()),
    "alert": (frozenset({"operator", "auditor"}), lambda s, t: s.alert(NOBODY)),
    "reviews": (frozenset({"operator", "auditor"}), lambda s, t: s.reviews(NOBODY)),
    "review": (frozenset({"operator"}), lambda s, t: s.review(NOBODY, "confirm")),
    "export_evidence": (frozenset({"operator"}), lambda s, t: s.export_evidence(NOBODY, t)),
    "propose_threshold": (frozenset({"operator"}), lambda s, t: s.propose_threshold(0.5, "calibrated on LFW")),
    "decide_threshold": (frozenset({"approver"}), lambda s, t: s.decide_threshold(NOBODY, True)),
    "threshold_changes": (
        frozenset({"admin", "approver", "operator", "auditor"}),
        lambda s, t: s.threshold_changes(),
    ),
    "purge": (frozenset({"admin"}), lambda s, t: s.purge()),
    "data_key_status": (frozenset({"admin"}), lambda s, t: s.data_key_status()),
    "rotate_keys": (frozenset({"admin"}), lambda s, t: s.rotate_keys()),
    "reject": (frozenset({"approver"}), lambda s, t: s.reject(NOBODY)),
    "photo": (frozenset({"curator", "approver", "operator"}), lambda s, t: s.photo(NOBODY, NOBODY)),
    "evidence": (frozenset({"operator"}), lambda s, t: s.evidence(NOBODY)),
    "alert_feed": (frozenset({"operator", "auditor"}), lambda s, t: s.alert_feed(None)),
    "alert_feed_position": (frozenset({"operator", "auditor"}), lambda s, t: s.alert_feed_position()),
    "cameras": (ALL_ROLES, lambda s, t: s.cameras()),
    "camera": (ALL_ROLES, lambda s, t: s.camera(NOBODY)),
    "runs": (ALL_ROLES, lambda s, t: s.runs()),
    "run": (ALL_ROLES, lambda s, t: s.run(NOBODY)),
    "add_camera": (frozenset({"admin"}), lambda s, t: s.add_camera("", "")),
    "watch_camera": (frozenset({"operator"}), lambda s, t: s.watch_camera(NOBODY, NOBODY)),
    "audit_log": (frozenset({"auditor"}), lambda s, t: s.audit_log()),
    "verify_audit": (frozenset({"auditor"}), lambda s, t: s.verify_audit()),
    "export_audit": (frozenset({"auditor"}), lambda s, t: s.export_audit(t / "missing-dir" / "audit.jsonl")),
    "summary_report": (frozenset({"auditor"}), lambda s, t: s.summary_report()),
    "transparency": (frozenset({"auditor"}), lambda s, t: s.transparency(date(2026, 2, 1), date(2026, 1, 1))),
    "use_log": (frozenset({"auditor"}), lambda s, t: s.use_log(run=NOBODY)),
    "fria_pack": (frozenset({"curator", "approver", "auditor"}), lambda s, t: s.fria_pack(NOBODY)),
    "risk": (frozenset({"curator", "approver", "operator", "auditor"}), lambda s, t: s.risk(NOBODY)),
    "add_user": (
        frozenset({"admin"}),
        lambda s, t: s.add_user("new-user", "short", frozenset({Role.OPERATOR}), "Police", None),
    ),
    "users": (frozenset({"admin"}), lambda s, t: s.users()),
    "disable_user": (frozenset({"admin"}), lambda s, t: s.disable_user(NOBODY)),
    "enable_user": (frozenset({"admin"}), lambda s, t: s.enable_user(NOBODY)),
    "set_roles": (frozenset({"admin"}), lambda s, t: s.set_roles(NOBODY, frozenset({Role.AUDITOR}))),
    "reset_password": (frozenset({"admin"}), lambda s, t: s.reset_password(NOBODY, "a long enough password")),
}

# Public names that are not operations on personal data: logging in and out, first start, plumbing, and the
# threshold in force (a number, no personal data).
NOT_IN_MATRIX = {
    "audit",
    "audit_key",
    "close",
    "db",
    "initialise",
    "login",
    "logout",
    "require",
    # The search service: each of its methods makes the one permission check itself (tests/archive, tests/web).
    "searches",
    "stack",
    # What a killed process left (runs still marked running, staged uploads): system upkeep at every start.
    "sweep_leftovers",
    "threshold",
    "use_token",
    "watchlist_size",
}


def test_the_matrix_covers_every_public_method() -> None:
    public = {
        n for n, v in inspect.getmembers(Izde) if not n.startswith("_") and (callable(v) or isinstance(v, property))
    }
    covered = {m.split("[")[0] for m in MATRIX} | NOT_IN_MATRIX
    assert public - covered == set(), "new public methods need a row in the permission matrix"
    assert covered - public == set(), "the matrix names methods that no longer exist"


def _outcome(service: Izde, call: Call, tmp: Path) -> str:
    try:
        call(service, tmp)
    except AuthenticationFailed:
        return "not logged in"
    except PermissionDenied as e:
        # Four-eyes refusals are PermissionDenied too, but they come after the role check, on a real entry;
        # every call here names nothing that exists, so a PermissionDenied is the role check.
        return f"denied: {e.message}"
    except IzdeError:
        return "allowed"  # the check passed; the call then failed on the missing entry or bad input
    return "allowed"


@pytest.mark.parametrize("method", sorted(MATRIX))
def test_permission_matrix(method: str, deployment: Deployment, tmp_path: Path) -> None:
    allowed, call = MATRIX[method]
    wrong: list[str] = []
    for role in ROLES:
        token = deployment.tokens[USER_OF[role]] if role else None
        with Izde(home=deployment.home, token=token) as service:
            got = _outcome(service, call, tmp_path)
        if role is None:
            if got != "not logged in":
                wrong.append(f"not logged in: {got}")
        elif (role in allowed) != (got == "allowed"):
            wrong.append(f"{role}: expected {'allowed' if role in allowed else 'denied'}, got {got}")
    assert wrong == [], f"{method}: " + "; ".join(wrong)


def test_denied_message_names_the_missing_role(deployment: Deployment) -> None:
    with (
        Izde(home=deployment.home, token=deployment.tokens["auditor"]) as service,
        pytest.raises(PermissionDenied) as e,
    ):
        service.approve(NOBODY)
    assert "watchlist.approve" in e.value.message and "approver" in e.value.message
    assert e.value.exit_code == 5


def test_no_public_method_takes_a_way_around_the_check() -> None:
    """A flag such as ``as_system`` on a public method would let any caller skip the permission check."""
    bypass = {"as_system", "system", "unchecked", "skip_check", "force"}
    offenders = [
        f"{name}({p})"
        for name, fn in inspect.getmembers(Izde, inspect.isfunction)
        if not name.startswith("_")
        for p in inspect.signature(fn).parameters
        if p in bypass
    ]
    assert offenders == []


# -- across organisations ---------------------------------------------------------------------------------------

# Every method, called by a user of another organisation who holds a role that allows it, against the first
# organisation's real records: a record named is "not found"; what is listed or reported names none of them.
# (role, call(service, first organisation's records, tmp)). Deployment-wide operations (the key, the chain's
# verification, retention) are listed: they must not show the other organisation's records either.
Records = dict[str, str]
CrossCall = Callable[[Izde, Records, Path], Any]
_RECORDED = datetime(2026, 11, 20, tzinfo=UTC)

NAMED: dict[str, tuple[str, CrossCall]] = {
    "add_photos": ("curator", lambda s, r, t: s.add_photos(r["person"], _photo(t))),
    "approve": ("approver", lambda s, r, t: s.approve(r["proposed"])),
    "reject": ("approver", lambda s, r, t: s.reject(r["proposed"])),
    "person": ("curator", lambda s, r, t: s.person(r["person"])),
    "photo": ("operator", lambda s, r, t: s.photo(r["person"], r["photo"])),
    "remove": ("curator", lambda s, r, t: s.remove(r["person"])),
    "request_authorisation": (
        "curator",
        lambda s, r, t: s.request_authorisation(_auth_spec().model_copy(update={"persons": (r["person"],)})),
    ),
    "decide_authorisation": ("approver", lambda s, r, t: s.decide_authorisation(r["authorisation"], True)),
    "record_fria": ("curator", lambda s, r, t: s.record_fria(r["authorisation"], "FRIA F-2")),
    "authorisation": ("auditor", lambda s, r, t: s.authorisation(r["authorisation"])),
    "watch": ("operator", lambda s, r, t: s.watch(_folder(t), "stage", r["authorisation"], recorded_at=_RECORDED)),
    "watch[live]": ("operator", lambda s, r, t: s.watch("rtsp://127.0.0.1:9/x", "stage", r["authorisation"])),
    "watch_camera": ("operator", lambda s, r, t: s.watch_camera("stage", r["authorisation"])),
    "alert": ("auditor", lambda s, r, t: s.alert(r["alert"])),
    "reviews": ("operator", lambda s, r, t: s.reviews(r["alert"])),
    "review": ("operator", lambda s, r, t: s.review(r["alert"], "confirm")),
    "evidence": ("operator", lambda s, r, t: s.evidence(r["alert"])),
    "export_evidence": ("operator", lambda s, r, t: s.export_evidence(r["alert"], t)),
    "decide_threshold": ("approver", lambda s, r, t: s.decide_threshold(r["change"], True)),
    "camera": ("operator", lambda s, r, t: s.camera("stage")),
    "run": ("operator", lambda s, r, t: s.run(r["run"])),
    "use_log": ("auditor", lambda s, r, t: s.use_log(run=r["run"])),
    "fria_pack": ("auditor", lambda s, r, t: s.fria_pack(r["authorisation"])),
    "risk": ("curator", lambda s, r, t: s.risk(r["authorisation"])),
    "add_user": ("admin", lambda s, r, t: s.add_user("x-new", "a long enough password", _OP, "Police", None)),
    "disable_user": ("admin", lambda s, r, t: s.disable_user("op-a")),
    "enable_user": ("admin", lambda s, r, t: s.enable_user("op-a")),
    "set_roles": ("admin", lambda s, r, t: s.set_roles("op-a", frozenset({Role.AUDITOR}))),
    "reset_password": ("admin", lambda s, r, t: s.reset_password("op-a", "a long enough password")),
}
_OP = frozenset({Role.OPERATOR})
LISTED: dict[str, tuple[str, CrossCall]] = {
    "propose": ("curator", lambda s, r, t: None),  # creates in the caller's own organisation: nothing to reach
    "propose_threshold": ("operator", lambda s, r, t: s.propose_threshold(0.45, "own calibration")),
    "persons": ("curator", lambda s, r, t: s.persons()),
    # Only the caller's organisation's photos are looked at; it returns a count.
    "recompute_templates": ("curator", lambda s, r, t: s.recompute_templates()),
    "authorisations": ("auditor", lambda s, r, t: s.authorisations()),
    "gallery": ("operator", lambda s, r, t: s.gallery()[0].person_ids),
    "alerts": ("operator", lambda s, r, t: s.alerts()),
    "alert_feed": ("operator", lambda s, r, t: s.alert_feed(None)),
    "alert_feed_position": ("operator", lambda s, r, t: None),  # a position in the chain, no record of anyone's
    "threshold_changes": ("approver", lambda s, r, t: s.threshold_changes()),
    "cameras": ("operator", lambda s, r, t: s.cameras()),
    "runs": ("operator", lambda s, r, t: s.runs()),
    "add_camera": ("admin", lambda s, r, t: s.add_camera("gate", "rtsp://127.0.0.1:9/own")),
    "audit_log": ("auditor", lambda s, r, t: s.audit_log(limit=1000)),
    "verify_audit": ("auditor", lambda s, r, t: s.verify_audit()),
    "export_audit": ("auditor", lambda s, r, t: (s.export_audit(t / "a.jsonl"), (t / "a.jsonl").read_text())),
    "summary_report": ("auditor", lambda s, r, t: s.summary_report()),
    "transparency": ("auditor", lambda s, r, t: s.transparency(date(2026, 1, 1), date(2026, 12, 31))),
    "users": ("admin", lambda s, r, t: s.users()),
    "purge": ("admin", lambda s, r, t: s.purge()),
    "data_key_status": ("admin", lambda s, r, t: s.data_key_status()),
    "rotate_keys": ("admin", lambda s, r, t: s.rotate_keys()),  # re-wraps every organisation's; ids and counts
}


@pytest.fixture(scope="module")
def two_organisations(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Records, dict[str, str]]:
    """City Police ("Police") with a person, a proposal, an authorisation, an alert and a threshold proposal;
    Other Police with one user per role. Returns the home, City's records and the other users' tokens."""
    from tests.cli.helpers import PASSWORD, json_lines, make_deployment
    from tests.conftest import HAMILTON, require_data

    dep = make_deployment(tmp_path_factory.mktemp("two-orgs"))
    pid = dep.enrol("Barack Obama", require_data(HAMILTON / "obama.jpg"))
    proposed = json_lines(dep.propose("Joe Biden", HAMILTON / "biden.jpg").stdout)[0]["id"]
    with Izde(home=dep.home, token=dep.tokens["admin"]) as admin:
        admin.add_camera("stage", str(HAMILTON / "short_hamilton_clip.mp4"))
    auth = dep.authorise([pid], ["stage"], grant=False)
    with Izde(home=dep.home, token=dep.tokens["op-a"]) as op:
        with op.db.transaction() as (session, stage):
            run = run_store.start_run(
                session,
                camera="stage",
                source="test",
                source_kind="file",
                threshold=0.5,
                watchlist_hash="x" * 64,
                watchlist_size=1,
            )
            run.authorisation_id = auth
            alert = alert_store.add_alert(
                session,
                stage,
                run_id=run.id,
                person_id=pid,
                track_id=1,
                frame_time=datetime.now(UTC),
                position_s=0.0,
                distance=0.3,
                threshold=0.5,
                quality=0.9,
                evidence_jpeg=(HAMILTON / "obama.jpg").read_bytes(),
            )
            run_id, alert_id = run.id, alert.id
        change = op.propose_threshold(0.48, "local calibration").id
    with Izde(home=dep.home, token=dep.tokens["curator"]) as curator:
        photo = curator.person(pid).photos[0].id
    with Izde(home=dep.home, token=dep.tokens["admin"]) as admin:
        admin.add_user("x-admin", PASSWORD, frozenset({Role.ADMIN}), "Other Police", True)
    tokens = {}
    with Izde(home=dep.home) as other:
        tokens["admin"] = other.login("x-admin", PASSWORD)
        for role in ("curator", "approver", "operator", "auditor"):
            other.add_user(f"x-{role}", PASSWORD, frozenset({Role(role)}), "Other Police", None)
    for role in ("curator", "approver", "operator", "auditor"):
        with Izde(home=dep.home) as other:
            tokens[role] = other.login(f"x-{role}", PASSWORD)
    records = {
        "person": pid,
        "proposed": proposed,
        "photo": photo,
        "authorisation": auth,
        "alert": alert_id,
        "run": run_id,
        "change": change,
    }
    return dep.home, records, tokens


def test_the_cross_organisation_table_covers_every_method() -> None:
    assert set(NAMED) | set(LISTED) == set(MATRIX)
    assert not set(NAMED) & set(LISTED)
    for method, (role, _) in {**NAMED, **LISTED}.items():
        assert role in MATRIX[method][0], f"{method}: {role} is not a role allowed to call it"


@pytest.mark.parametrize("method", sorted(set(NAMED) | set(LISTED)))
def test_method_across_organisations(
    method: str, two_organisations: tuple[Path, Records, dict[str, str]], tmp_path: Path
) -> None:
    home, records, tokens = two_organisations
    role, call = {**NAMED, **LISTED}[method]
    with Izde(home=home, token=tokens[role]) as other:
        if method in NAMED:
            with pytest.raises(NotFound):
                call(other, records, tmp_path)
            return
        result = call(other, records, tmp_path)
    shown = repr(result)
    leaked = [k for k, v in records.items() if v in shown] + [n for n in ("Barack Obama", "'op-a'") if n in shown]
    assert leaked == [], f"{method} shows another organisation's {leaked}"
