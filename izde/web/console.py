"""The review console: server-rendered pages over the same service. Pages only read; every change is made by
the page's script calling the JSON API (with the CSRF token), so there is one write path to secure and test."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from izde.errors import IzdeError
from izde.governance.login_limit import TooManyFailedLogins
from izde.governance.roles import Action, Actor, Role, decision
from izde.governance.users import AuthenticationFailed
from izde.web import auth
from izde.web.deps import COOKIE, CSRF_FIELD, RequestIzde, Service, State, credentials, web_state
from izde.web.errors import status_of
from izde.web.schemas import AlertOut, PersonOut, SearchOut, SessionOut, SightingOut

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).resolve().parent / "templates"))

public = APIRouter(include_in_schema=False)
router = APIRouter(include_in_schema=False)


def _local(path: str | None) -> str:
    """Only paths on this site: never an open redirect to another one. Without one, the home page sends each
    user to the first page their roles may see (administrators and curators have no alert queue)."""
    return path if path and path.startswith("/") and not path.startswith("//") and "\\" not in path else "/"


def _can(actor: Actor | None) -> Callable[[str], bool]:
    """``can('fria.record')`` in templates: whether to show a control, by the same policy the service enforces
    (the service still makes the check when the control is used)."""
    return lambda action: actor is not None and decision(actor, Action(action)).allowed


def page(request: Request, service: RequestIzde, name: str, code: int = 200, **context: Any) -> HTMLResponse:
    state = web_state(request)
    token, _ = credentials(request)
    actor = service.actor
    roles = {r.value for r in actor.roles} if actor else set()
    return TEMPLATES.TemplateResponse(
        request,
        name,
        {
            "me": actor,
            "roles": roles,
            "can": _can(actor),
            "csrf": state.csrf_token(token) if token else "",
            "csrf_field": CSRF_FIELD,
            "now": datetime.now(UTC),
            **context,
        },
        status_code=code,
        headers={"Cache-Control": "no-store"},
    )


def error_page(request: Request, e: IzdeError) -> Response:
    state = web_state(request)
    service = state.service()
    token, _ = credentials(request)
    if token:
        with contextlib.suppress(AuthenticationFailed):
            service.use_token(token)
    return page(request, service, "error.html", status_of(e), message=e.message, hint=e.hint)


@public.get("/login", response_class=HTMLResponse)
def login_form(request: Request, state: State, next: str | None = None) -> HTMLResponse:
    return page(request, state.service(), "login.html", next=_local(next), error=None)


@public.post("/login", response_class=HTMLResponse)
def login_submit(
    request: Request,
    state: State,
    username: Annotated[str, Form(max_length=100)],
    password: Annotated[str, Form(max_length=1000)],
    next: Annotated[str | None, Form()] = None,
) -> Response:
    try:
        token, _ = auth.login(state, request, username, password)
    except AuthenticationFailed as e:  # a wrong password, or too many of them (TooManyFailedLogins)
        err = e.message + (f" ({e.hint})" if isinstance(e, TooManyFailedLogins) and e.hint else "")
        return page(request, state.service(), "login.html", status_of(e), next=_local(next), error=err)
    response = RedirectResponse(_local(next), status_code=303)
    auth.set_session_cookie(response, state, token)
    return response


@router.post("/logout")
def logout(request: Request, service: Service) -> Response:
    token, _ = credentials(request)
    if token:
        service.logout(token)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


@router.get("/", response_class=HTMLResponse)
def home(service: Service) -> Response:
    assert service.actor is not None
    roles = service.actor.roles
    target = (
        "/alerts"
        if Role.OPERATOR in roles
        else "/watchlist"
        if roles & {Role.CURATOR, Role.APPROVER}
        else "/audit"
        if Role.AUDITOR in roles
        else "/cameras"
    )
    return RedirectResponse(target, status_code=303)


@router.get("/alerts", response_class=HTMLResponse)
def alerts_page(request: Request, service: Service, status: str | None = None, camera: str | None = None) -> Response:
    rows = service.alerts(status=status or None, camera=camera or None, limit=200)
    return page(request, service, "alerts.html", alerts=[AlertOut.of(a) for a in rows], status=status, camera=camera)


@router.get("/alerts/{alert_id}", response_class=HTMLResponse)
def alert_page(request: Request, service: Service, alert_id: str) -> Response:
    assert service.actor is not None
    view = service.alert(alert_id)
    person = None
    if Role.OPERATOR in service.actor.roles:
        person = PersonOut.of(service.person(view.person_id))
    reviews = service.reviews(view.id)
    mine = [d for u, d, _, _ in reviews if u == service.actor.user_id]
    return page(
        request,
        service,
        "alert.html",
        alert=AlertOut.of(view, evidence=Role.OPERATOR in service.actor.roles),
        person=person,
        reviews=reviews,
        reviewed_by_me=bool(mine),
        confirmations=sum(1 for _, d, _, _ in reviews if d == "confirm"),
    )


@router.get("/watchlist", response_class=HTMLResponse)
def watchlist_page(request: Request, service: Service) -> Response:
    return page(request, service, "watchlist.html", persons=service.persons())


@router.get("/watchlist/{person_id}", response_class=HTMLResponse)
def person_page(request: Request, service: Service, person_id: str) -> Response:
    return page(request, service, "person.html", person=PersonOut.of(service.person(person_id)))


@router.get("/authorisations", response_class=HTMLResponse)
def authorisations_page(request: Request, service: Service) -> Response:
    persons = []
    assert service.actor is not None
    if Role.CURATOR in service.actor.roles:
        persons = [p for p in service.persons() if p.status == "active"]
    return page(request, service, "authorisations.html", authorisations=service.authorisations(), persons=persons)


@router.get("/authorisations/{authorisation_id}", response_class=HTMLResponse)
def authorisation_page(request: Request, service: Service, authorisation_id: str) -> Response:
    return page(request, service, "authorisation.html", a=service.authorisation(authorisation_id))


@router.get("/cameras", response_class=HTMLResponse)
def cameras_page(request: Request, service: Service, state: State) -> Response:
    cameras = service.cameras()
    runs = service.runs(limit=30)
    authorisations: list[Any] = []
    assert service.actor is not None
    if Role.OPERATOR in service.actor.roles:
        authorisations = [a for a in service.authorisations() if a.status in ("granted", "requested")]
    sessions = [SessionOut.of(s) for s in state.sessions.all(service.actor.organisation_id)]
    return page(
        request,
        service,
        "cameras.html",
        cameras=cameras,
        runs=runs,
        sessions=sessions,
        fleet=state.settings.broker.url is not None,
        workers=state.sessions.workers(),
        authorisations=authorisations,
    )


@router.get("/searches", response_class=HTMLResponse)
def searches_page(request: Request, service: Service) -> Response:
    searches = [SearchOut.of(v) for v in service.searches.all()]
    assert service.actor is not None
    authorisations: list[Any] = []
    if Role.OPERATOR in service.actor.roles:
        authorisations = [
            a for a in service.authorisations() if a.status in ("granted", "requested") and a.covers_recorded
        ]
    return page(request, service, "searches.html", searches=searches, authorisations=authorisations)


@router.get("/searches/{search_id}", response_class=HTMLResponse)
def search_page(request: Request, service: Service, search_id: str) -> Response:
    view = service.searches.get(search_id)
    sightings = [SightingOut.of(s) for s in service.searches.sightings(view.id)]
    return page(request, service, "search.html", search=SearchOut.of(view), sightings=sightings)


@router.get("/audit", response_class=HTMLResponse)
def audit_page(request: Request, service: Service, before: int | None = None, action: str | None = None) -> Response:
    entries = service.audit_log(before=before, action=action or None, limit=100)
    return page(request, service, "audit.html", entries=entries, action=action)


@router.get("/reports", response_class=HTMLResponse)
def reports_page(request: Request, service: Service) -> Response:
    return page(request, service, "reports.html", summary=service.summary_report())


@router.get("/threshold", response_class=HTMLResponse)
def threshold_page(request: Request, service: Service) -> Response:
    changes = service.threshold_changes()
    return page(request, service, "threshold.html", value=service.threshold(), changes=changes)


@router.get("/users", response_class=HTMLResponse)
def users_page(request: Request, service: Service) -> Response:
    users = service.users()  # the permission check: others get the error page (403)
    organisations = sorted({u.organisation for u in users})
    return page(
        request, service, "users.html", users=users, all_roles=[r.value for r in Role], organisations=organisations
    )
