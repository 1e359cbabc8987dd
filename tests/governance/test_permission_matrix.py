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
from izde.errors import IzdeError
from izde.governance.authorisations import AuthorisationSpec, Objective
from izde.governance.roles import PermissionDenied, Role
from izde.governance.users import AuthenticationFailed
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
    "reject": (frozenset({"approver"}), lambda s, t: s.reject(NOBODY)),
    "photo": (frozenset({"curator", "approver", "operator"}), lambda s, t: s.photo(NOBODY, NOBODY)),
    "evidence": (frozenset({"operator"}), lambda s, t: s.evidence(NOBODY)),
    "alert_feed": (frozenset({"operator", "auditor"}), lambda s, t: s.alert_feed(None)),
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
